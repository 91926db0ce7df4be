//! Confluent's `TableQuerier` family: one per table (or the `query`), each running its
//! mode's SQL and turning result rows into source records.
//!
//! SQL shapes (`TimestampIncrementingCriteria`), `$n` being PostgreSQL's `?`:
//! - bulk: `SELECT * FROM t`
//! - incrementing: `… WHERE inc > $1 ORDER BY inc ASC`, starting from -1
//! - timestamp: `… WHERE ts > $1 AND ts < $2 ORDER BY ts ASC`
//! - timestamp+incrementing: `… WHERE ts < $1 AND ((ts = $2 AND inc > $3) OR ts > $4)
//!   ORDER BY ts,inc ASC`
//!
//! where `ts` is `COALESCE(c1,c2,…)` for several timestamp columns and the upper bound is
//! the database's `CURRENT_TIMESTAMP` minus `timestamp.delay.interval.ms`. A query that is
//! not exhausted within one poll's `batch.max.rows` stays open and continues on the next
//! poll, as Confluent keeps its `ResultSet`.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use rafka_connect_data::{
    ConnectRecord, RecordKind, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Value,
};
use tokio::time::Instant;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, RowStream, Statement};

use crate::config::{JdbcSourceConfig, SourceMode};
use crate::dialect::{quote_identifier, QuoteMethod, TableId};
use crate::error::JdbcError;
use crate::source::offset::{
    partition_v0, partition_v1, query_partition, TimestampIncrementingOffset,
};
use crate::types::{timestamp_micros, ColumnKind, Raw, SqlParam, TimestampParam};

/// What a querier reads: a table, or the configured query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuerySource {
    Table(TableId),
    Query(String),
}

/// How one result column becomes one struct field.
#[derive(Debug, Clone)]
struct FieldSetter {
    index: usize,
    name: String,
    kind: ColumnKind,
}

/// The schema of the open query's rows, and where its offset columns are.
#[derive(Debug, Clone)]
struct SchemaMapping {
    schema: SchemaRef,
    setters: Vec<FieldSetter>,
    incrementing: Option<(usize, ColumnKind)>,
    timestamps: Vec<(usize, ColumnKind)>,
}

/// One table's (or the query's) reader. Not thread-safe; a task owns its queriers.
pub struct TableQuerier {
    source: QuerySource,
    mode: SourceMode,
    topic: String,
    partition: Value,
    /// The incrementing column once resolved ("" asks for auto-detection).
    incrementing_column: String,
    timestamp_columns: Vec<String>,
    timestamp_delay_ms: i64,
    suffix: String,
    quote: QuoteMethod,
    zone_offset_seconds: i32,
    numeric_mapping: crate::config::NumericMapping,
    /// The offset of the last record handed out.
    offset: TimestampIncrementingOffset,
    /// The offset when the open query started: where a failed query resumes.
    committed_offset: TimestampIncrementingOffset,
    statement: Option<Statement>,
    mapping: Option<SchemaMapping>,
    rows: Option<Pin<Box<RowStream>>>,
    /// Timestamp mode reads one row ahead (Confluent's `TimestampTableQuerier`): the row
    /// read but not yet handed out, with its timestamp, and whether the rows are all read.
    pending: Option<(ConnectRecord, Option<i64>)>,
    exhausted: bool,
    /// When the last query finished (`None`: never, so due at once).
    pub(crate) last_update: Option<Instant>,
}

impl std::fmt::Debug for TableQuerier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableQuerier")
            .field("source", &self.source)
            .field("mode", &self.mode)
            .field("topic", &self.topic)
            .field("incrementing_column", &self.incrementing_column)
            .field("timestamp_columns", &self.timestamp_columns)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl TableQuerier {
    /// A querier starting from `offset` (a stored offset map, or `Null`).
    pub fn new(config: &JdbcSourceConfig, source: QuerySource, offset: &Value) -> TableQuerier {
        let (topic, partition) = match (&source, config.mode) {
            (QuerySource::Table(t), SourceMode::Bulk) => (
                format!("{}{}", config.topic_prefix, t.table),
                partition_v0(t),
            ),
            (QuerySource::Table(t), _) => (
                format!("{}{}", config.topic_prefix, t.table),
                partition_v1(t),
            ),
            (QuerySource::Query(_), _) => (config.topic_prefix.clone(), query_partition()),
        };
        let offset = TimestampIncrementingOffset::from_map(offset);
        let uses_incrementing = matches!(
            config.mode,
            SourceMode::Incrementing | SourceMode::TimestampIncrementing
        );
        let uses_timestamp = matches!(
            config.mode,
            SourceMode::Timestamp | SourceMode::TimestampIncrementing
        );
        TableQuerier {
            source,
            mode: config.mode,
            topic,
            partition,
            incrementing_column: if uses_incrementing {
                config.incrementing_column_name.clone()
            } else {
                String::new()
            },
            timestamp_columns: if uses_timestamp {
                config.timestamp_column_names.clone()
            } else {
                Vec::new()
            },
            timestamp_delay_ms: config.timestamp_delay_interval_ms,
            suffix: config.query_suffix.clone(),
            quote: config.quote,
            zone_offset_seconds: config.db_timezone_offset_seconds,
            numeric_mapping: config.numeric_mapping,
            offset,
            committed_offset: offset,
            statement: None,
            mapping: None,
            rows: None,
            pending: None,
            exhausted: false,
            last_update: None,
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn source_partition(&self) -> &Value {
        &self.partition
    }

    /// The offset of the last record this querier produced.
    pub fn offset(&self) -> TimestampIncrementingOffset {
        self.offset
    }

    /// Whether a query is open (its rows not all read).
    pub fn querying(&self) -> bool {
        self.rows.is_some()
    }

    fn uses_incrementing(&self) -> bool {
        matches!(
            self.mode,
            SourceMode::Incrementing | SourceMode::TimestampIncrementing
        )
    }

    fn uses_timestamp(&self) -> bool {
        matches!(
            self.mode,
            SourceMode::Timestamp | SourceMode::TimestampIncrementing
        )
    }

    fn column(&self, name: &str) -> String {
        quote_identifier(name, self.quote)
    }

    fn timestamp_expression(&self) -> String {
        let columns: Vec<String> = self
            .timestamp_columns
            .iter()
            .map(|c| self.column(c))
            .collect();
        if columns.len() == 1 {
            columns[0].clone()
        } else {
            format!("COALESCE({})", columns.join(","))
        }
    }

    /// The SQL this querier runs (Confluent's `createPreparedStatement`).
    pub fn sql(&self) -> String {
        let mut sql = match &self.source {
            QuerySource::Table(t) => format!("SELECT * FROM {}", t.to_sql(self.quote)),
            QuerySource::Query(q) => q.clone(),
        };
        let inc = self.column(&self.incrementing_column);
        match (self.uses_timestamp(), self.uses_incrementing()) {
            (true, true) => {
                let ts = self.timestamp_expression();
                sql.push_str(&format!(" WHERE {ts} < $1 AND (({ts} = $2 AND {inc} > $3) OR {ts} > $4) ORDER BY {ts},{inc} ASC"));
            }
            (true, false) => {
                let ts = self.timestamp_expression();
                sql.push_str(&format!(" WHERE {ts} > $1 AND {ts} < $2 ORDER BY {ts} ASC"));
            }
            (false, true) => sql.push_str(&format!(" WHERE {inc} > $1 ORDER BY {inc} ASC")),
            (false, false) => {}
        }
        if !self.suffix.is_empty() {
            sql.push(' ');
            sql.push_str(&self.suffix);
        }
        sql
    }

    /// `findDefaultAutoIncrementingColumn`: the first serial or identity column of the table.
    async fn detect_incrementing_column(&mut self, client: &Client) -> Result<(), JdbcError> {
        if !self.uses_incrementing() || !self.incrementing_column.is_empty() {
            return Ok(());
        }
        let QuerySource::Table(table) = &self.source else {
            return Err(JdbcError::connect("The incrementing column cannot be auto-discovered in query mode; set incrementing.column.name"));
        };
        let row = client
            .query_opt(
                "SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                 LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                 WHERE a.attrelid = to_regclass($1)::oid AND a.attnum > 0 AND NOT a.attisdropped \
                 AND (a.attidentity <> '' OR pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%') \
                 ORDER BY a.attnum LIMIT 1",
                &[&relation_name(table)],
            )
            .await
            .map_err(JdbcError::sql(format!("Could not describe the columns of {table}")))?;
        match row {
            Some(row) => {
                self.incrementing_column = row.get(0);
                Ok(())
            }
            None => Err(JdbcError::connect(format!(
                "Cannot find an auto-incrementing column in {table} for incrementing mode; set incrementing.column.name"
            ))),
        }
    }

    /// Opens the query unless one is open (Confluent's `maybeStartQuery`).
    pub async fn maybe_start_query(&mut self, client: &Client) -> Result<(), JdbcError> {
        if self.rows.is_some() {
            return Ok(());
        }
        self.detect_incrementing_column(client).await?;
        if self.statement.is_none() {
            let sql = self.sql();
            let statement = client.prepare(&sql).await.map_err(JdbcError::sql(format!(
                "Failed to prepare statement: {sql}"
            )))?;
            self.mapping = Some(self.schema_mapping(client, &statement).await?);
            self.statement = Some(statement);
        }
        self.committed_offset = self.offset;
        let end = if self.uses_timestamp() {
            let now: i64 = client
                .query_one(
                    "SELECT (EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000000)::int8",
                    &[],
                )
                .await
                .map_err(JdbcError::sql("Could not read the database's current time"))?
                .get(0);
            now - self.timestamp_delay_ms * 1000
        } else {
            0
        };
        let ts = |micros| TimestampParam {
            micros,
            zone_offset_seconds: self.zone_offset_seconds,
        };
        let begin = ts(self.offset.timestamp_or_epoch());
        let end = ts(end);
        let inc = SqlParam {
            value: Value::Int64(self.offset.incrementing_or_start()),
            logical: None,
            zone_offset_seconds: self.zone_offset_seconds,
        };
        let params: Vec<&(dyn ToSql + Sync)> =
            match (self.uses_timestamp(), self.uses_incrementing()) {
                (true, true) => vec![&end, &begin, &inc, &begin],
                (true, false) => vec![&begin, &end],
                (false, true) => vec![&inc],
                (false, false) => vec![],
            };
        let statement = self.statement.as_ref().expect("prepared above");
        let rows = client
            .query_raw(statement, params)
            .await
            .map_err(JdbcError::sql(format!(
                "Failed to run query: {}",
                self.sql()
            )))?;
        self.rows = Some(Box::pin(rows));
        self.pending = None;
        self.exhausted = false;
        Ok(())
    }

    /// `SchemaMapping.create`: a struct named after the table (no name for a query), one
    /// field per column of a supported type, optional unless the column is NOT NULL.
    async fn schema_mapping(
        &self,
        client: &Client,
        statement: &Statement,
    ) -> Result<SchemaMapping, JdbcError> {
        let not_null = not_null_columns(client, statement).await?;
        let mut builder = SchemaBuilder::struct_();
        if let QuerySource::Table(t) = &self.source {
            builder = builder.name(t.table.clone());
        }
        let mut setters = Vec::new();
        for (index, column) in statement.columns().iter().enumerate() {
            let Some(kind) =
                ColumnKind::of(column.type_(), column.type_modifier(), self.numeric_mapping)
            else {
                tracing::warn!(column = column.name(), r#type = %column.type_(), "JDBC type not currently supported; the column is left out");
                continue;
            };
            let optional = !match (column.table_oid(), column.column_id()) {
                (Some(oid), Some(id)) => not_null.contains(&(oid, id)),
                _ => false,
            };
            builder = builder.field(column.name(), kind.schema(optional))?;
            setters.push(FieldSetter {
                index,
                name: column.name().to_string(),
                kind,
            });
        }
        let find = |name: &str| -> Option<&FieldSetter> {
            setters.iter().find(|s| s.name == name).or_else(|| {
                let matching: Vec<&FieldSetter> = setters
                    .iter()
                    .filter(|s| s.name.eq_ignore_ascii_case(name))
                    .collect();
                (matching.len() == 1).then(|| matching[0])
            })
        };
        let all_names = || {
            setters
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let incrementing = if self.uses_incrementing() {
            let setter = find(&self.incrementing_column).ok_or_else(|| {
                JdbcError::Data(rafka_connect_data::DataError::new(format!(
                    "Incrementing column {} not found in {}",
                    self.incrementing_column,
                    all_names()
                )))
            })?;
            Some((setter.index, setter.kind.clone()))
        } else {
            None
        };
        let mut timestamps = Vec::new();
        for name in &self.timestamp_columns {
            let setter = find(name).ok_or_else(|| {
                JdbcError::Data(rafka_connect_data::DataError::new(format!(
                    "Timestamp column {name} not found in {}",
                    all_names()
                )))
            })?;
            timestamps.push((setter.index, setter.kind.clone()));
        }
        Ok(SchemaMapping {
            schema: builder.build(),
            setters,
            incrementing,
            timestamps,
        })
    }

    /// The next record of the open query, or `None` when it is exhausted.
    pub async fn next(&mut self) -> Result<Option<ConnectRecord>, JdbcError> {
        if self.mode == SourceMode::Timestamp {
            return self.next_timestamp_mode().await;
        }
        let Some((record, offset)) = self.next_row().await? else {
            return Ok(None);
        };
        self.offset = offset;
        Ok(Some(record))
    }

    async fn next_row(
        &mut self,
    ) -> Result<Option<(ConnectRecord, TimestampIncrementingOffset)>, JdbcError> {
        let Some(rows) = self.rows.as_mut() else {
            return Ok(None);
        };
        let row = match rows.next().await {
            None => return Ok(None),
            Some(row) => row.map_err(JdbcError::sql("Failed to read a result row"))?,
        };
        let mapping = self.mapping.as_ref().expect("a query is open");
        self.extract_record(mapping, &row).map(Some)
    }

    /// `TimestampTableQuerier`: a record's offset moves to its timestamp only when the next
    /// row's timestamp is later (or there is no next row), so that a restart never skips the
    /// rest of a group of rows sharing one timestamp.
    async fn next_timestamp_mode(&mut self) -> Result<Option<ConnectRecord>, JdbcError> {
        if self.pending.is_none() {
            if self.exhausted {
                return Ok(None);
            }
            match self.next_row().await? {
                None => {
                    self.exhausted = true;
                    return Ok(None);
                }
                Some((record, offset)) => self.pending = Some((record, offset.timestamp_micros)),
            }
        }
        let next = if self.exhausted {
            None
        } else {
            match self.next_row().await? {
                None => {
                    self.exhausted = true;
                    None
                }
                Some((record, offset)) => Some((record, offset.timestamp_micros)),
            }
        };
        let (mut current, current_timestamp) = self.pending.take().expect("read above");
        let committable = match &next {
            None => true,
            Some((_, next_timestamp)) => match (current_timestamp, next_timestamp) {
                (Some(current), Some(next)) => current < *next,
                _ => true,
            },
        };
        if committable {
            self.offset = TimestampIncrementingOffset {
                incrementing: None,
                timestamp_micros: current_timestamp,
            };
        }
        self.pending = next;
        if let RecordKind::Source { source_offset, .. } = &mut current.kind {
            *source_offset = self.offset.to_map();
        }
        Ok(Some(current))
    }

    fn extract_record(
        &self,
        mapping: &SchemaMapping,
        row: &Row,
    ) -> Result<(ConnectRecord, TimestampIncrementingOffset), JdbcError> {
        let mut value = Struct::new(Arc::clone(&mapping.schema))?;
        for setter in &mapping.setters {
            let raw: Option<Raw> = row
                .try_get(setter.index)
                .map_err(JdbcError::sql("Failed to read a column"))?;
            let field_value = setter
                .kind
                .decode(raw.map(|r| r.0), self.zone_offset_seconds)?;
            value.put(&setter.name, field_value)?;
        }
        let offset = self.extract_offset(mapping, row)?;
        let mut record = ConnectRecord::source(
            &self.topic,
            SchemaAndValue::new(Some(Arc::clone(&mapping.schema)), Value::Struct(value)),
        );
        let source_offset = match self.mode {
            SourceMode::Bulk => Value::Null,
            _ => offset.to_map(),
        };
        record.kind = RecordKind::Source {
            source_partition: self.partition.clone(),
            source_offset,
        };
        Ok((record, offset))
    }

    /// `TimestampIncrementingCriteria.extractValues`, from the row's raw columns so that the
    /// timestamp keeps its microseconds.
    fn extract_offset(
        &self,
        mapping: &SchemaMapping,
        row: &Row,
    ) -> Result<TimestampIncrementingOffset, JdbcError> {
        let raw = |index: usize| -> Result<Option<&[u8]>, JdbcError> {
            let raw: Option<Raw> = row
                .try_get(index)
                .map_err(JdbcError::sql("Failed to read a column"))?;
            Ok(raw.map(|r| r.0))
        };
        let mut offset = TimestampIncrementingOffset::default();
        for (index, kind) in &mapping.timestamps {
            if let Some(bytes) = raw(*index)? {
                offset.timestamp_micros = Some(match kind {
                    ColumnKind::Timestamp | ColumnKind::TimestampTz => {
                        timestamp_micros(kind, bytes, self.zone_offset_seconds)?
                    }
                    other => match other.decode(Some(bytes), self.zone_offset_seconds)? {
                        Value::Date(ms) => ms * 1000,
                        _ => {
                            return Err(JdbcError::connect(format!(
                                "Invalid type for timestamp column: {other:?}"
                            )))
                        }
                    },
                });
                break;
            }
        }
        if let Some((index, kind)) = &mapping.incrementing {
            let value = kind.decode(raw(*index)?, self.zone_offset_seconds)?;
            let schema_type = kind.schema(false).schema_type();
            offset.incrementing = Some(match value {
                Value::Null => {
                    return Err(JdbcError::connect(format!(
                        "Null value for incrementing column of type: {schema_type}"
                    )))
                }
                Value::Int8(v) => i64::from(v),
                Value::Int16(v) => i64::from(v),
                Value::Int32(v) => i64::from(v),
                Value::Int64(v) => v,
                Value::Decimal(d) => {
                    if d.scale() != 0 {
                        return Err(JdbcError::connect(
                            "Scale of Decimal value for incrementing column must be 0",
                        ));
                    }
                    if d.unscaled() > &num_bigint::BigInt::from(i64::MAX) {
                        return Err(JdbcError::connect(
                            "Decimal value for incrementing column exceeded Long.MAX_VALUE",
                        ));
                    }
                    d.to_i64_wrapping()
                }
                _ => {
                    return Err(JdbcError::connect(format!(
                        "Invalid type for incrementing column: {schema_type}"
                    )))
                }
            });
        }
        Ok(offset)
    }

    /// Forgets the prepared statement, which belonged to a connection that is gone.
    pub(crate) fn reset_statement(&mut self) {
        self.statement = None;
        self.mapping = None;
        self.rows = None;
        self.pending = None;
        self.exhausted = false;
    }

    /// Closes the query (Confluent's `reset`): after it was exhausted, or after a failure,
    /// in which case the offset goes back to where the query started.
    pub(crate) fn reset(&mut self, now: Instant, reset_offset: bool) {
        if reset_offset {
            self.offset = self.committed_offset;
            self.statement = None;
            self.mapping = None;
        }
        self.rows = None;
        self.pending = None;
        self.exhausted = false;
        self.last_update = Some(now);
    }
}

/// `"schema"."table"` for `to_regclass` (the catalog part is the current database).
pub(crate) fn relation_name(table: &TableId) -> String {
    TableId {
        catalog: None,
        ..table.clone()
    }
    .to_sql(QuoteMethod::Always)
}

/// The (table OID, column number) pairs of the result's columns declared NOT NULL, as the
/// JDBC driver's `ResultSetMetaData.isNullable` looks them up.
async fn not_null_columns(
    client: &Client,
    statement: &Statement,
) -> Result<Vec<(u32, i16)>, JdbcError> {
    let mut oids: Vec<u32> = statement
        .columns()
        .iter()
        .filter_map(|c| c.table_oid())
        .filter(|o| *o != 0)
        .collect();
    oids.sort_unstable();
    oids.dedup();
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT attrelid, attnum FROM pg_catalog.pg_attribute WHERE attrelid = ANY($1) AND attnum > 0 AND attnotnull",
            &[&oids],
        )
        .await
        .map_err(JdbcError::sql("Could not read column nullability"))?;
    Ok(rows
        .iter()
        .map(|r| (r.get::<_, u32>(0), r.get::<_, i16>(1)))
        .collect())
}
