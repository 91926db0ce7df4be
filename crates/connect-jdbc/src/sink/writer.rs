//! The sink engine (Confluent's `JdbcSinkTask` + `JdbcDbWriter` + `BufferedRecords` +
//! `DbStructure`): records are grouped per destination table in order, each group's table
//! created or amended as its schemas require, and written with prepared statements whose
//! parameters are bound typed values; one `put` is one transaction, retried whole.

use std::collections::HashMap;
use std::time::Duration;

use rafka_connect_data::{ConnectRecord, SchemaRef, Value};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use crate::config::{InsertMode, JdbcSinkConfig, PkMode};
use crate::dialect::{connect_with_retries, quote_identifier, TableId};
use crate::error::JdbcError;
use crate::sink::fields::{validate_record, FieldsMetadata, SinkRecordField};
use crate::types::{sql_type, SqlParam};

/// A destination table as the database describes it (Confluent's `TableDefinition`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// Column names in table order.
    pub columns: Vec<String>,
    /// PostgreSQL's `relkind`: `r`/`p` tables, `v` views.
    pub is_view: bool,
}

/// The statements and columns for one run of records sharing key and value schemas.
#[derive(Debug)]
struct Buffer {
    table: TableId,
    key_schema: Option<SchemaRef>,
    value_schema: Option<SchemaRef>,
    fields: FieldsMetadata,
    upsert: Statement,
    delete: Option<Statement>,
    /// Indexes into the `put`'s records, in order.
    records: Vec<usize>,
}

/// A sink writer: one connection, a cache of the destination tables. Not thread-safe.
pub struct JdbcSinkWriter {
    config: JdbcSinkConfig,
    client: Option<Client>,
    tables: HashMap<String, TableDefinition>,
}

impl std::fmt::Debug for JdbcSinkWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JdbcSinkWriter")
            .field("tables", &self.tables)
            .finish_non_exhaustive()
    }
}

impl JdbcSinkWriter {
    /// A writer for `config`; it connects on the first `put`.
    pub fn new(config: JdbcSinkConfig) -> JdbcSinkWriter {
        JdbcSinkWriter {
            config,
            client: None,
            tables: HashMap::new(),
        }
    }

    pub fn config(&self) -> &JdbcSinkConfig {
        &self.config
    }

    /// Writes `records` (sink records) in one transaction. A failed attempt is rolled back
    /// and retried up to `max.retries` times, `retry.backoff.ms` apart, on a fresh
    /// connection (Confluent's task does so through `RetriableException`); records that
    /// cannot be mapped fail at once. On success every record is in the database.
    pub async fn put(&mut self, records: &[ConnectRecord]) -> Result<(), JdbcError> {
        if records.is_empty() {
            return Ok(());
        }
        for record in records {
            validate_record(&self.config, record)?;
        }
        let mut remaining = self.config.max_retries;
        loop {
            match self.write(records).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    // The transaction is gone; so is what we knew of the tables within it.
                    self.tables.clear();
                    if let Some(client) = &self.client {
                        if client.is_closed() || client.batch_execute("ROLLBACK").await.is_err() {
                            self.client = None;
                        }
                    }
                    if !error.is_sql() || remaining == 0 {
                        return Err(error);
                    }
                    remaining -= 1;
                    tracing::warn!(%error, remaining, "Write of {} records failed; retrying", records.len());
                    tokio::time::sleep(Duration::from_millis(self.config.retry_backoff_ms)).await;
                }
            }
        }
    }

    async fn client(&mut self) -> Result<&Client, JdbcError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            let client = connect_with_retries(
                &self.config.connection_url,
                self.config.connection_user.as_deref(),
                self.config.connection_password.as_deref(),
                self.config.connection_attempts,
                self.config.connection_backoff_ms,
            )
            .await?;
            self.client = Some(client);
        }
        Ok(self.client.as_ref().expect("connected above"))
    }

    async fn write(&mut self, records: &[ConnectRecord]) -> Result<(), JdbcError> {
        self.client()
            .await?
            .batch_execute("BEGIN")
            .await
            .map_err(JdbcError::sql("BEGIN failed"))?;
        let mut buffers: HashMap<String, Buffer> = HashMap::new();
        for (index, record) in records.iter().enumerate() {
            let table_name = self.config.table_name(&record.topic);
            let tombstone = record.value.is_null();
            let same_schemas = buffers.get(&table_name).is_some_and(|b| {
                b.key_schema == record.key_schema
                    && (tombstone || b.value_schema == record.value_schema)
            });
            if !same_schemas {
                if let Some(buffer) = buffers.remove(&table_name) {
                    self.flush(&buffer, records).await?;
                }
                // A tombstone has no value schema: its columns come from the key alone.
                let buffer = self.open_buffer(&table_name, record).await?;
                buffers.insert(table_name.clone(), buffer);
            }
            let buffer = buffers.get_mut(&table_name).expect("opened above");
            buffer.records.push(index);
            if buffer.records.len() >= self.config.batch_size {
                self.flush(buffer, records).await?;
                buffer.records.clear();
            }
        }
        for buffer in buffers.values() {
            self.flush(buffer, records).await?;
        }
        self.client()
            .await?
            .batch_execute("COMMIT")
            .await
            .map_err(JdbcError::sql("COMMIT failed"))?;
        Ok(())
    }

    /// Creates or amends the table for the record's schemas and prepares the statements.
    async fn open_buffer(
        &mut self,
        table_name: &str,
        record: &ConnectRecord,
    ) -> Result<Buffer, JdbcError> {
        let table = TableId::parse(table_name);
        let fields = FieldsMetadata::extract(
            &table.table,
            &self.config,
            record.key_schema.as_ref(),
            record.value_schema.as_ref(),
        )?;
        self.create_or_amend(&table, &fields).await?;
        let quote = self.config.quote;
        let q = |name: &str| quote_identifier(name, quote);
        let table_sql = table.to_sql(quote);
        let keys = &fields.key_field_names;
        let non_keys = &fields.non_key_field_names;
        let columns: Vec<String> = keys.iter().chain(non_keys).map(|c| q(c)).collect();
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let sql = match self.config.insert_mode {
            InsertMode::Insert => format!(
                "INSERT INTO {table_sql} ({}) VALUES ({})",
                columns.join(","),
                placeholders.join(",")
            ),
            InsertMode::Upsert => {
                if keys.is_empty() {
                    return Err(JdbcError::connect(format!(
                        "Write to table '{table}' in UPSERT mode requires key field names to be known, check the primary key configuration"
                    )));
                }
                let conflict = if non_keys.is_empty() {
                    "DO NOTHING".to_string()
                } else {
                    format!(
                        "DO UPDATE SET {}",
                        non_keys
                            .iter()
                            .map(|c| format!("{}=EXCLUDED.{}", q(c), q(c)))
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                };
                format!(
                    "INSERT INTO {table_sql} ({}) VALUES ({}) ON CONFLICT ({}) {conflict}",
                    columns.join(","),
                    placeholders.join(","),
                    keys.iter().map(|c| q(c)).collect::<Vec<_>>().join(",")
                )
            }
            InsertMode::Update => {
                // Parameters: the non-key columns, then the key columns.
                let set: Vec<String> = non_keys
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{} = ${}", q(c), i + 1))
                    .collect();
                let mut sql = format!("UPDATE {table_sql} SET {}", set.join(", "));
                if !keys.is_empty() {
                    let cond: Vec<String> = keys
                        .iter()
                        .enumerate()
                        .map(|(i, c)| format!("{} = ${}", q(c), non_keys.len() + i + 1))
                        .collect();
                    sql.push_str(&format!(" WHERE {}", cond.join(" AND ")));
                }
                sql
            }
        };
        let delete_enabled = self.config.delete_enabled;
        let client = self.client().await?;
        let upsert = client
            .prepare(&sql)
            .await
            .map_err(JdbcError::sql(format!("Failed to prepare: {sql}")))?;
        let delete = if delete_enabled && !keys.is_empty() {
            let cond: Vec<String> = keys
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{} = ${}", q(c), i + 1))
                .collect();
            let sql = format!("DELETE FROM {table_sql} WHERE {}", cond.join(" AND "));
            Some(
                client
                    .prepare(&sql)
                    .await
                    .map_err(JdbcError::sql(format!("Failed to prepare: {sql}")))?,
            )
        } else {
            None
        };
        Ok(Buffer {
            table,
            key_schema: record.key_schema.clone(),
            value_schema: record.value_schema.clone(),
            fields,
            upsert,
            delete,
            records: Vec::new(),
        })
    }

    /// Executes a buffer's statements in record order, pipelined on the connection.
    async fn flush(&mut self, buffer: &Buffer, records: &[ConnectRecord]) -> Result<(), JdbcError> {
        if buffer.records.is_empty() {
            return Ok(());
        }
        let zone = self.config.db_timezone_offset_seconds;
        let mut statements: Vec<(&Statement, Vec<SqlParam>)> =
            Vec::with_capacity(buffer.records.len());
        for &index in &buffer.records {
            let record = &records[index];
            let keys = key_values(&self.config, &buffer.fields, record, zone)?;
            if record.value.is_null() {
                if let Some(delete) = &buffer.delete {
                    statements.push((delete, keys));
                }
                continue;
            }
            let non_keys = non_key_values(&buffer.fields, record, zone)?;
            let params = match self.config.insert_mode {
                InsertMode::Update => non_keys.into_iter().chain(keys).collect(),
                _ => keys.into_iter().chain(non_keys).collect(),
            };
            statements.push((&buffer.upsert, params));
        }
        let client = self.client().await?;
        let table = buffer.table.to_string();
        let futures = statements.iter().map(|(statement, params)| {
            let params: Vec<&(dyn ToSql + Sync)> =
                params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
            let table = table.clone();
            async move {
                client
                    .execute(*statement, &params)
                    .await
                    .map_err(JdbcError::sql(format!("Failed to write to {table}")))
            }
        });
        let counts = futures_util::future::try_join_all(futures).await?;
        if self.config.insert_mode == InsertMode::Update {
            for (count, (statement, _)) in counts.iter().zip(&statements) {
                if *count == 0 && std::ptr::eq(*statement, &buffer.upsert) {
                    tracing::debug!(table, "UPDATE matched no row");
                }
            }
        }
        Ok(())
    }

    /// Confluent's `DbStructure.createOrAmendIfNecessary`.
    async fn create_or_amend(
        &mut self,
        table: &TableId,
        fields: &FieldsMetadata,
    ) -> Result<(), JdbcError> {
        let key = table.to_string();
        let definition = match self.tables.get(&key) {
            Some(d) => Some(d.clone()),
            None => self.describe(table).await?,
        };
        let definition = match definition {
            Some(d) => d,
            None => {
                if !self.config.auto_create {
                    return Err(JdbcError::connect(format!(
                        "Table {table} is missing and auto-creation is disabled"
                    )));
                }
                let sql = create_table_sql(table, &fields.all_fields, self.config.quote)?;
                tracing::info!(%sql, "Creating table");
                self.client()
                    .await?
                    .batch_execute(&sql)
                    .await
                    .map_err(JdbcError::sql(format!("Failed to create table: {sql}")))?;
                self.describe(table).await?.ok_or_else(|| {
                    JdbcError::connect(format!("Table {table} is missing after creation"))
                })?
            }
        };
        let missing: Vec<&SinkRecordField> = fields
            .all_fields
            .iter()
            .filter(|f| {
                !definition.columns.iter().any(|c| c == &f.name)
                    && !definition
                        .columns
                        .iter()
                        .any(|c| c.eq_ignore_ascii_case(&f.name))
            })
            .collect();
        if missing.is_empty() {
            self.tables.insert(key, definition);
            return Ok(());
        }
        let listed = format!(
            "[{}]",
            missing
                .iter()
                .map(|f| f.java_to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if definition.is_view {
            return Err(JdbcError::connect(format!(
                "View {table} is missing fields ({listed}) and ALTER VIEW is unsupported"
            )));
        }
        for field in &missing {
            if !field.is_optional() && field.schema.default_value().is_none() {
                return Err(JdbcError::connect(format!(
                    "Cannot ALTER TABLE {table} to add missing field {}, as the field is not optional and does not have a default value",
                    field.java_to_string()
                )));
            }
        }
        if !self.config.auto_evolve {
            return Err(JdbcError::connect(format!(
                "Table {table} is missing fields ({listed}) and auto-evolution is disabled"
            )));
        }
        let sql = alter_table_sql(table, &missing, self.config.quote)?;
        tracing::info!(%sql, "Amending table to add missing fields");
        self.client()
            .await?
            .batch_execute(&sql)
            .await
            .map_err(JdbcError::sql(format!("Failed to amend table: {sql}")))?;
        let definition = self
            .describe(table)
            .await?
            .ok_or_else(|| JdbcError::connect(format!("Table {table} vanished")))?;
        self.tables.insert(key, definition);
        Ok(())
    }

    /// The table's columns, or `None` when it does not exist. The name is quoted as the
    /// statements quote it (`quote.sql.identifiers`), so that it resolves to the same table,
    /// through the search path when it has no schema.
    async fn describe(&mut self, table: &TableId) -> Result<Option<TableDefinition>, JdbcError> {
        let name = TableId {
            catalog: None,
            ..table.clone()
        }
        .to_sql(self.config.quote);
        let rows = self
            .client()
            .await?
            .query(
                "SELECT a.attname::text, c.relkind FROM pg_catalog.pg_class c \
                 LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                 WHERE c.oid = to_regclass($1) ORDER BY a.attnum",
                &[&name],
            )
            .await
            .map_err(JdbcError::sql(format!("Failed to describe {table}")))?;
        if rows.is_empty() {
            return Ok(None);
        }
        let is_view = rows
            .first()
            .is_some_and(|r| r.get::<_, i8>(1) as u8 == b'v');
        Ok(Some(TableDefinition {
            columns: rows
                .iter()
                .filter_map(|r| r.get::<_, Option<String>>(0))
                .collect(),
            is_view,
        }))
    }
}

fn param(value: &Value, schema: &SchemaRef, zone: i32) -> SqlParam {
    SqlParam {
        value: value.clone(),
        logical: schema.name().map(str::to_string),
        zone_offset_seconds: zone,
    }
}

/// The key columns' values (`PreparedStatementBinder.bindKeyFields`).
fn key_values(
    config: &JdbcSinkConfig,
    fields: &FieldsMetadata,
    record: &ConnectRecord,
    zone: i32,
) -> Result<Vec<SqlParam>, JdbcError> {
    let plain = |value: Value| SqlParam {
        value,
        logical: None,
        zone_offset_seconds: zone,
    };
    Ok(match config.pk_mode {
        PkMode::None => Vec::new(),
        PkMode::Kafka => vec![
            plain(Value::String(record.topic.clone())),
            plain(
                record
                    .kafka_partition
                    .map(Value::Int32)
                    .unwrap_or(Value::Null),
            ),
            plain(
                record
                    .kafka_offset()
                    .map(Value::Int64)
                    .unwrap_or(Value::Null),
            ),
        ],
        PkMode::RecordKey => {
            let schema = record
                .key_schema
                .as_ref()
                .ok_or_else(|| JdbcError::connect("Record key schema is missing"))?;
            if schema.schema_type().is_primitive() {
                vec![param(&record.key, schema, zone)]
            } else {
                let Value::Struct(key) = &record.key else {
                    return Err(JdbcError::connect("Record key is not a Struct"));
                };
                fields
                    .key_field_names
                    .iter()
                    .map(|name| {
                        let field = schema
                            .field(name)
                            .expect("FieldsMetadata checked the key schema");
                        Ok(param(key.get(name)?, field.schema(), zone))
                    })
                    .collect::<Result<_, JdbcError>>()?
            }
        }
        PkMode::RecordValue => {
            let (Some(schema), Value::Struct(value)) = (&record.value_schema, &record.value) else {
                return Err(JdbcError::connect("Record value is not a Struct"));
            };
            fields
                .key_field_names
                .iter()
                .map(|name| {
                    let field = schema
                        .field(name)
                        .expect("FieldsMetadata checked the value schema");
                    Ok(param(value.get(name)?, field.schema(), zone))
                })
                .collect::<Result<_, JdbcError>>()?
        }
    })
}

/// The non-key columns' values (`PreparedStatementBinder.bindNonKeyFields`).
fn non_key_values(
    fields: &FieldsMetadata,
    record: &ConnectRecord,
    zone: i32,
) -> Result<Vec<SqlParam>, JdbcError> {
    let (Some(schema), Value::Struct(value)) = (&record.value_schema, &record.value) else {
        return Err(JdbcError::connect("Record value is not a Struct"));
    };
    fields
        .non_key_field_names
        .iter()
        .map(|name| {
            let field = schema.field(name).ok_or_else(|| {
                JdbcError::connect(format!("Field {name} not in the value schema"))
            })?;
            Ok(param(value.get(name)?, field.schema(), zone))
        })
        .collect()
}

/// A schema default as a SQL literal (`formatColumnValue`), for `DEFAULT` clauses.
fn default_literal(value: &Value) -> Option<String> {
    Some(match value {
        Value::Int8(_)
        | Value::Int16(_)
        | Value::Int32(_)
        | Value::Int64(_)
        | Value::Float32(_)
        | Value::Float64(_) => value.java_to_string(),
        Value::Boolean(b) => {
            if *b {
                "TRUE".into()
            } else {
                "FALSE".into()
            }
        }
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Decimal(d) => d.to_string(),
        _ => return None,
    })
}

/// `writeColumnSpec`: `"name" TYPE` then `DEFAULT x`, `NULL` or `NOT NULL`.
fn column_spec(
    field: &SinkRecordField,
    quote: crate::dialect::QuoteMethod,
) -> Result<String, JdbcError> {
    let mut spec = format!(
        "{} {}",
        quote_identifier(&field.name, quote),
        sql_type(&field.schema)?
    );
    match field.schema.default_value().and_then(default_literal) {
        Some(literal) => spec.push_str(&format!(" DEFAULT {literal}")),
        None if field.is_optional() => spec.push_str(" NULL"),
        None => spec.push_str(" NOT NULL"),
    }
    Ok(spec)
}

/// `buildCreateTableStatement`.
pub fn create_table_sql(
    table: &TableId,
    fields: &[SinkRecordField],
    quote: crate::dialect::QuoteMethod,
) -> Result<String, JdbcError> {
    let columns = fields
        .iter()
        .map(|f| Ok(format!("\n{}", column_spec(f, quote)?)))
        .collect::<Result<Vec<_>, JdbcError>>()?;
    let mut sql = format!(
        "CREATE TABLE {} ({}",
        table.to_sql(quote),
        columns.join(",")
    );
    let pks: Vec<String> = fields
        .iter()
        .filter(|f| f.is_primary_key)
        .map(|f| quote_identifier(&f.name, quote))
        .collect();
    if !pks.is_empty() {
        sql.push_str(&format!(",\nPRIMARY KEY({})", pks.join(",")));
    }
    sql.push(')');
    Ok(sql)
}

/// `buildAlterTable`: one statement adding every missing column.
pub fn alter_table_sql(
    table: &TableId,
    fields: &[&SinkRecordField],
    quote: crate::dialect::QuoteMethod,
) -> Result<String, JdbcError> {
    let newlines = fields.len() > 1;
    let adds = fields
        .iter()
        .map(|f| {
            Ok(format!(
                "{}ADD {}",
                if newlines { "\n" } else { "" },
                column_spec(f, quote)?
            ))
        })
        .collect::<Result<Vec<_>, JdbcError>>()?;
    Ok(format!(
        "ALTER TABLE {} {}",
        table.to_sql(quote),
        adds.join(",")
    ))
}
