//! The source task engine (Confluent's `JdbcSourceTask`): its queriers in a queue ordered
//! by when each last finished, and `poll`, which waits until the head querier is due
//! (`poll.interval.ms` after its last query), then reads up to `batch.max.rows` records.

use std::collections::VecDeque;
use std::time::Duration;

use rafka_connect_data::{ConnectRecord, Value};
use tokio::time::Instant;
use tokio_postgres::Client;

use crate::config::{JdbcSourceConfig, SourceMode};
use crate::dialect::TableId;
use crate::error::JdbcError;
use crate::source::offset::{partition_v0, partition_v1, query_partition, TIMESTAMP_FIELD};
use crate::source::querier::{relation_name, QuerySource, TableQuerier};

/// A running source task: one connection, one querier per assigned table (or the query).
/// Not thread-safe: one caller polls it.
pub struct JdbcSourceTask {
    config: JdbcSourceConfig,
    client: Client,
    queriers: VecDeque<TableQuerier>,
}

impl std::fmt::Debug for JdbcSourceTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JdbcSourceTask")
            .field("queriers", &self.queriers)
            .finish_non_exhaustive()
    }
}

/// What a task reads, from its config: the query, or the tables of `tables`.
fn sources(config: &JdbcSourceConfig) -> Vec<QuerySource> {
    match &config.query {
        Some(query) => vec![QuerySource::Query(query.clone())],
        None => config
            .tables
            .iter()
            .map(|t| QuerySource::Table(TableId::parse(t)))
            .collect(),
    }
}

impl JdbcSourceTask {
    /// The source partitions whose stored offsets `start` needs, for each table the
    /// protocol-1 partition first and then the legacy one (Confluent's
    /// `possibleTablePartitions`). Empty in bulk mode, which keeps no offsets.
    pub fn offset_partitions(config: &JdbcSourceConfig) -> Vec<Value> {
        if config.mode == SourceMode::Bulk {
            return Vec::new();
        }
        sources(config)
            .iter()
            .flat_map(|s| match s {
                QuerySource::Table(t) => vec![partition_v1(t), partition_v0(t)],
                QuerySource::Query(_) => vec![query_partition()],
            })
            .collect()
    }

    /// Starts a task (Confluent's `JdbcSourceTask.start`): connects, validates the offset
    /// columns are NOT NULL (`validate.non.null`), and resumes each querier from its stored
    /// offset in `offsets` (pairs of partition and offset, as the offset storage returned
    /// them for `offset_partitions`), or from `timestamp.initial`.
    pub async fn start(
        config: JdbcSourceConfig,
        offsets: &[(Value, Value)],
    ) -> Result<JdbcSourceTask, JdbcError> {
        let sources = sources(&config);
        if sources.is_empty() {
            return Err(JdbcError::Config(rafka_connect_data::ConfigError::other(
                "Task is being killed because it was not assigned a table nor a query to execute. If run in table mode please make sure that the tables exist on the database. If the table does exist on the database, we recommend using the fully qualified table name.",
            )));
        }
        let client = config.connect().await?;
        let mut queriers = VecDeque::new();
        for source in sources {
            if let (QuerySource::Table(table), true, false) = (
                &source,
                config.validate_non_null,
                config.mode == SourceMode::Bulk,
            ) {
                validate_non_nullable(&client, &config, table).await?;
            }
            let candidates = match &source {
                QuerySource::Table(t) => vec![partition_v1(t), partition_v0(t)],
                QuerySource::Query(_) => vec![query_partition()],
            };
            let stored = candidates
                .iter()
                .find_map(|p| {
                    offsets
                        .iter()
                        .find(|(partition, offset)| partition == p && !offset.is_null())
                })
                .map(|(_, offset)| offset.clone());
            let offset = match stored {
                Some(offset) if config.mode != SourceMode::Bulk => offset,
                _ => initial_offset(&client, &config).await?,
            };
            queriers.push_back(TableQuerier::new(&config, source, &offset));
        }
        Ok(JdbcSourceTask {
            config,
            client,
            queriers,
        })
    }

    /// The task's queriers (for tests and the adapter's status).
    pub fn queriers(&self) -> impl Iterator<Item = &TableQuerier> {
        self.queriers.iter()
    }

    /// The next batch of records (Confluent's `poll`): waits until the head querier is due,
    /// reads up to `batch.max.rows` rows; an exhausted querier goes to the back of the
    /// queue. Returns only when it has records (or fails); cancelling it between rows loses
    /// nothing. On a failure the querier's query is closed and its offset goes back to where
    /// that query began, so the next poll reads those rows again.
    pub async fn poll(&mut self) -> Result<Vec<ConnectRecord>, JdbcError> {
        let interval = Duration::from_millis(self.config.poll_interval_ms);
        let batch_max_rows = self.config.batch_max_rows;
        loop {
            if self.client.is_closed() {
                // The database went away: a new connection, on which every querier prepares
                // its statement again (Confluent's `CachedConnectionProvider`).
                self.client = self.config.connect().await?;
                for querier in &mut self.queriers {
                    querier.reset_statement();
                }
            }
            let querier = self
                .queriers
                .front_mut()
                .expect("a task has at least one querier");
            if !querier.querying() {
                if let Some(last) = querier.last_update {
                    tokio::time::sleep_until(last + interval).await;
                }
            }
            if let Err(error) = querier.maybe_start_query(&self.client).await {
                querier.reset(Instant::now(), true);
                self.requeue_head();
                return Err(error);
            }
            let mut records = Vec::new();
            let mut exhausted = false;
            while records.len() < batch_max_rows {
                match querier.next().await {
                    Ok(Some(record)) => records.push(record),
                    Ok(None) => {
                        exhausted = true;
                        break;
                    }
                    Err(error) => {
                        querier.reset(Instant::now(), true);
                        self.requeue_head();
                        return Err(error);
                    }
                }
            }
            if exhausted {
                querier.reset(Instant::now(), false);
                self.requeue_head();
            }
            if !records.is_empty() {
                return Ok(records);
            }
        }
    }

    fn requeue_head(&mut self) {
        if let Some(head) = self.queriers.pop_front() {
            self.queriers.push_back(head);
        }
    }
}

/// `computeInitialOffset` without a stored offset: `timestamp.initial` (-1 meaning the
/// database's current time), else nothing (read from the start).
async fn initial_offset(client: &Client, config: &JdbcSourceConfig) -> Result<Value, JdbcError> {
    let Some(initial) = config.timestamp_initial else {
        return Ok(Value::Null);
    };
    let ms = if initial == -1 {
        client
            .query_one(
                "SELECT (EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) * 1000)::int8",
                &[],
            )
            .await
            .map_err(JdbcError::sql(
                "Error while getting initial timestamp from database",
            ))?
            .get(0)
    } else {
        initial
    };
    Ok(Value::string_map([(TIMESTAMP_FIELD, Value::Int64(ms))]))
}

/// `JdbcSourceTask.validateNonNullable`, with Confluent's messages.
async fn validate_non_nullable(
    client: &Client,
    config: &JdbcSourceConfig,
    table: &TableId,
) -> Result<(), JdbcError> {
    let rows = client
        .query(
            "SELECT attname::text, attnotnull FROM pg_catalog.pg_attribute \
             WHERE attrelid = to_regclass($1)::oid AND attnum > 0 AND NOT attisdropped",
            &[&relation_name(table)],
        )
        .await
        .map_err(JdbcError::sql(
            "Failed trying to validate that columns used for offsets are NOT NULL",
        ))?;
    let incrementing = &config.incrementing_column_name;
    let mut incrementing_optional = false;
    let mut a_timestamp_not_optional = false;
    for row in &rows {
        let name: String = row.get(0);
        let not_null: bool = row.get(1);
        if name.eq_ignore_ascii_case(incrementing) {
            incrementing_optional = !not_null;
        } else if config
            .timestamp_column_names
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&name))
            && not_null
        {
            a_timestamp_not_optional = true;
        }
    }
    let table_text = table.to_string();
    if matches!(
        config.mode,
        SourceMode::Incrementing | SourceMode::TimestampIncrementing
    ) && incrementing_optional
    {
        return Err(JdbcError::connect(format!(
            "Cannot make incremental queries using incrementing column {incrementing} on {table_text} because this column is nullable."
        )));
    }
    if matches!(
        config.mode,
        SourceMode::Timestamp | SourceMode::TimestampIncrementing
    ) && !a_timestamp_not_optional
    {
        return Err(JdbcError::connect(format!(
            "Cannot make incremental queries using timestamp columns {} on {table_text} because all of these columns are nullable.",
            config.timestamp_column_names.join(",")
        )));
    }
    Ok(())
}
