//! The crate's failures. Their texts are Confluent's where Confluent raises them, since they
//! surface in a task's `trace` and in REST replies.

use rafka_connect_data::{ConfigError, DataError};

#[derive(Debug, thiserror::Error)]
pub enum JdbcError {
    /// Confluent's `ConfigException`.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Kafka's `DataException`: a value or schema that cannot be mapped.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Kafka's `ConnectException` with the message Confluent's connector raises.
    #[error("{message}")]
    Connect { message: String },
    /// A failure talking to PostgreSQL (Java's `SQLException`), with what was being done.
    #[error("{context}: {source}")]
    Sql {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },
}

impl JdbcError {
    pub fn connect(message: impl Into<String>) -> JdbcError {
        JdbcError::Connect {
            message: message.into(),
        }
    }

    pub(crate) fn sql(
        context: impl Into<String>,
    ) -> impl FnOnce(tokio_postgres::Error) -> JdbcError {
        let context = context.into();
        move |source| JdbcError::Sql { context, source }
    }

    /// Whether the sink's retry loop should try again (Confluent retries `SQLException`s).
    pub fn is_sql(&self) -> bool {
        matches!(self, JdbcError::Sql { .. })
    }

    /// Whether the database answered and refused a statement (an error response with a
    /// SQLSTATE), as opposed to a connection that could not be made or was lost. A source
    /// task retries the first kind on its next poll, as Confluent's `query.retry.attempts`
    /// default (-1) does; the second kind means the database is away.
    pub fn is_refused_by_database(&self) -> bool {
        matches!(self, JdbcError::Sql { source, .. } if source.as_db_error().is_some() && !source.is_closed())
    }
}
