//! What Confluent's `PostgreSqlDatabaseDialect` and `ExpressionBuilder` decide outside of
//! type mapping: table identifiers (`TableId`), identifier quoting (`quote.sql.identifiers`),
//! and opening a connection from `connection.url`.

use std::fmt;

use tokio_postgres::{Client, NoTls};

use crate::error::JdbcError;
use crate::url::PostgresUrl;

/// Confluent's `QuoteMethod`: `always` quotes every identifier, `never` writes them bare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteMethod {
    Always,
    Never,
}

impl QuoteMethod {
    pub fn parse(text: &str) -> QuoteMethod {
        if text.eq_ignore_ascii_case("never") {
            QuoteMethod::Never
        } else {
            QuoteMethod::Always
        }
    }
}

/// An identifier as `ExpressionBuilder.appendIdentifier` writes it. Confluent does not
/// escape an embedded `"`; we double it, so that no name can break out of its quotes.
pub fn quote_identifier(name: &str, quote: QuoteMethod) -> String {
    match quote {
        QuoteMethod::Always => format!("\"{}\"", name.replace('"', "\"\"")),
        QuoteMethod::Never => name.to_string(),
    }
}

/// Confluent's `TableId`: catalog (for PostgreSQL the database), schema and table name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableId {
    pub catalog: Option<String>,
    pub schema: Option<String>,
    pub table: String,
}

impl TableId {
    pub fn new(catalog: Option<&str>, schema: Option<&str>, table: &str) -> TableId {
        TableId {
            catalog: catalog.map(str::to_string),
            schema: schema.map(str::to_string),
            table: table.to_string(),
        }
    }

    /// The name as `ExpressionBuilder.append(tableId, quote)` writes it: the present parts,
    /// dot-separated.
    pub fn to_sql(&self, quote: QuoteMethod) -> String {
        [&self.catalog, &self.schema]
            .into_iter()
            .flatten()
            .map(|part| quote_identifier(part, quote))
            .chain(std::iter::once(quote_identifier(&self.table, quote)))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// `TableId.toUnquotedString()`: `db.schema.table`, what the include/exclude regexes and
    /// the v1 offset partition use.
    pub fn unquoted(&self) -> String {
        self.to_sql(QuoteMethod::Never)
    }

    /// `dialect.parseTableIdentifier`: one to three dot-separated parts, each optionally in
    /// double quotes (a quoted part may contain dots and doubled quotes). One part is a table,
    /// two are schema and table, three are catalog, schema and table.
    pub fn parse(text: &str) -> TableId {
        let mut parts = Vec::new();
        let mut current = String::new();
        let mut chars = text.trim().chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    chars.next();
                    current.push('"');
                }
                '"' => quoted = !quoted,
                '.' if !quoted => parts.push(std::mem::take(&mut current)),
                _ => current.push(c),
            }
        }
        parts.push(current);
        let table = parts.pop().unwrap_or_default();
        let schema = parts.pop();
        let catalog = parts.pop();
        TableId {
            catalog,
            schema,
            table,
        }
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sql(QuoteMethod::Always))
    }
}

/// Opens a connection for `connection.url`/`.user`/`.password`; the connection's I/O runs
/// on a spawned tokio task that ends when the returned `Client` is dropped.
pub async fn connect(
    url: &str,
    user: Option<&str>,
    password: Option<&str>,
) -> Result<Client, JdbcError> {
    let config = PostgresUrl::parse(url)?.to_config(user, password);
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(JdbcError::sql(format!("Could not connect to {url}")))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "PostgreSQL connection closed with an error");
        }
    });
    Ok(client)
}

/// `CachedConnectionProvider`'s loop: up to `attempts` tries (`connection.attempts`),
/// `backoff_ms` apart (`connection.backoff.ms`), for failures to reach the database.
pub async fn connect_with_retries(
    url: &str,
    user: Option<&str>,
    password: Option<&str>,
    attempts: u32,
    backoff_ms: u64,
) -> Result<Client, JdbcError> {
    let mut attempt = 1;
    loop {
        match connect(url, user, password).await {
            Err(error) if error.is_sql() && attempt < attempts => {
                tracing::info!(%error, attempt, attempts, "Unable to connect to database; retrying");
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(backoff_ms)).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_ids_round_trip_through_their_quoted_form() {
        let id = TableId::new(Some("db"), Some("public"), "my.\"odd\"");
        assert_eq!(
            id.to_sql(QuoteMethod::Always),
            r#""db"."public"."my.""odd""""#
        );
        assert_eq!(TableId::parse(&id.to_sql(QuoteMethod::Always)), id);
        assert_eq!(id.unquoted(), "db.public.my.\"odd\"");
        assert_eq!(TableId::parse("users"), TableId::new(None, None, "users"));
        assert_eq!(
            TableId::parse("public.users"),
            TableId::new(None, Some("public"), "users")
        );
    }
}
