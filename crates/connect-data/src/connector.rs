//! Kafka Connect's plugin interfaces (`org.apache.kafka.connect.connector`, `.source`,
//! `.sink`) as Rust traits: what a connector implements and what the worker gives it.
//!
//! - `SourceConnector` / `SinkConnector` (both `Connector`): configured once, they split
//!   the work into task configs (`task_configs(max_tasks)`);
//! - `SourceTask`: `poll()` returns records (async), with an `OffsetStorageReader` in its
//!   context to resume from the offsets the worker committed for its source partitions;
//! - `SinkTask`: `put(records)` (async), `flush`/`pre_commit` before the worker commits the
//!   consumer offsets, `open`/`close` as partitions are assigned and revoked.
//!
//! Object-safe: the worker holds `Box<dyn SourceTask>`; the async methods return
//! `BoxFuture`s so no async-trait macro or runtime is needed here. Futures returned by
//! `poll` and `put` must be cancel-safe at their await points: the worker drops a pending
//! `poll` when the task is stopped (Kafka calls `stop()` from another thread while `poll`
//! blocks; in Rust the worker cancels the poll, then calls `stop`).
//!
//! Offsets and partitions are `Value::Map`s with string keys, as Kafka's
//! `Map<String, ?>`; they are stored as JSON by the worker.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::config::ConfigDef;
use crate::data::Value;
use crate::error::{ConfigError, DataError};
use crate::record::ConnectRecord;

/// A boxed, sendable future: what the async methods of the task traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A connector's or task's string properties (Java's `Map<String, String>`).
pub type Props = HashMap<String, String>;

/// Kafka's `ConnectException` and its kinds, as a task or connector reports failure.
/// `Retriable` is Kafka's `RetriableException`: the worker retries the operation
/// (within `errors.retry.timeout.ms` where that applies) instead of failing the task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{0}")]
    Retriable(String),
    #[error("{0}")]
    Fatal(String),
}

impl ConnectorError {
    pub fn fatal(message: impl Into<String>) -> ConnectorError {
        ConnectorError::Fatal(message.into())
    }

    pub fn is_retriable(&self) -> bool {
        matches!(self, ConnectorError::Retriable(_))
    }

    /// The Java exception class name that Kafka would print in a task's `trace`.
    pub fn java_class(&self) -> &'static str {
        match self {
            ConnectorError::Config(_) => "org.apache.kafka.common.config.ConfigException",
            ConnectorError::Data(_) => "org.apache.kafka.connect.errors.DataException",
            ConnectorError::Retriable(_) => "org.apache.kafka.connect.errors.RetriableException",
            ConnectorError::Fatal(_) => "org.apache.kafka.connect.errors.ConnectException",
        }
    }
}

impl From<crate::error::ConnectError> for ConnectorError {
    fn from(e: crate::error::ConnectError) -> ConnectorError {
        match e {
            crate::error::ConnectError::Data(d) => ConnectorError::Data(d),
            crate::error::ConnectError::Config(c) => ConnectorError::Config(c),
        }
    }
}

/// One key's result of `Connector::validate` (Kafka's `ConfigValue`): what the REST
/// API's `config/validate` prints under `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValueReport {
    pub name: String,
    pub value: Option<String>,
    pub recommended_values: Vec<String>,
    pub errors: Vec<String>,
    pub visible: bool,
}

/// Kafka's `ConfigDef.validate(props)`: every key of `def`, each with all its errors
/// (a missing required key, a value that does not parse or fails its validator).
pub fn validate_with(def: &ConfigDef, props: &Props) -> Vec<ConfigValueReport> {
    def.keys()
        .iter()
        .map(|key| {
            let given = props.get(&key.name);
            let mut errors = Vec::new();
            let value = match (given, &key.default_value) {
                (Some(text), _) => Some(text.clone()),
                (None, crate::config::DefaultValue::Text(text)) => Some(text.clone()),
                (None, crate::config::DefaultValue::Null) => None,
                (None, crate::config::DefaultValue::Required) => {
                    errors.push(
                        ConfigError::Missing {
                            name: key.name.clone(),
                        }
                        .to_string(),
                    );
                    None
                }
            };
            let mut reported = value.clone();
            if let Some(text) = &value {
                let parses = crate::config::parse_type(&key.name, text, key.config_type);
                let single = ConfigDef::new().define(
                    &key.name,
                    key.config_type,
                    crate::config::DefaultValue::Null,
                    key.validator.clone(),
                    key.importance,
                    "",
                );
                let props = HashMap::from([(key.name.clone(), text.clone())]);
                if let Err(e) = single.parse(&props) {
                    errors.push(e.to_string());
                }
                if parses.is_err() {
                    // Kafka reports the value as null, and a range validator then
                    // rejects the null as well.
                    reported = None;
                    if let Some(crate::config::Validator::Described(range)) = &key.validator {
                        if range.starts_with('[') {
                            errors.push(format!(
                                "Invalid value null for configuration {}: Value must be non-null",
                                key.name
                            ));
                        }
                    }
                }
            }
            ConfigValueReport {
                name: key.name.clone(),
                value: reported,
                recommended_values: Vec::new(),
                errors,
                visible: true,
            }
        })
        .collect()
}

/// Kafka's `ConnectorContext`: how a running connector reaches its herder.
pub trait ConnectorContext: Send + Sync {
    /// The connector's task configs changed (e.g. its source found new tables): the
    /// herder asks `task_configs` again and, when they differ, restarts the tasks.
    fn request_task_reconfiguration(&self);
    /// The connector failed on its own (outside `start`): it shows FAILED with `error`.
    fn raise_error(&self, error: ConnectorError);
}

/// What sources and sinks share (Kafka's `Connector`).
pub trait Connector: fmt::Debug + Send {
    /// The plugin's version (`connector-plugins` lists it).
    fn version(&self) -> String;
    /// Called once before `start` with the context the connector keeps (Kafka's
    /// `initialize`); connectors that never reconfigure themselves ignore it.
    fn initialize(&mut self, _context: std::sync::Arc<dyn ConnectorContext>) {}
    /// Starts the connector with its whole config; fails on a bad config.
    fn start(&mut self, props: &Props) -> Result<(), ConnectorError>;
    /// The configs of at most `max_tasks` tasks.
    fn task_configs(&self, max_tasks: usize) -> Vec<Props>;
    fn stop(&mut self);
    /// The connector's own keys (beyond the framework's `name`, `connector.class`…).
    fn config_def(&self) -> ConfigDef;
    /// Kafka's `Connector.validate`: by default each key of `config_def` checked.
    fn validate(&self, props: &Props) -> Vec<ConfigValueReport> {
        validate_with(&self.config_def(), props)
    }
}

/// Kafka's `ExactlyOnceSupport`: whether a source connector can give exactly-once
/// semantics with a config (KIP-618's preflight check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactlyOnceSupport {
    Supported,
    Unsupported,
}

/// Kafka's `ConnectorTransactionBoundaries`: whether a source connector can define its
/// own transaction boundaries (`transaction.boundary=connector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorTransactionBoundaries {
    Supported,
    Unsupported,
}

/// Kafka's `SourceConnector`.
pub trait SourceConnector: Connector {
    /// A new task of this connector's task class (Kafka's `taskClass()` instantiated).
    fn create_task(&self) -> Box<dyn SourceTask>;

    /// Kafka's `exactlyOnceSupport`: `None` (Kafka's default `null`) when the connector
    /// does not say.
    fn exactly_once_support(&self, _config: &Props) -> Option<ExactlyOnceSupport> {
        None
    }

    /// Kafka's `canDefineTransactionBoundaries`; no connector here can (the task
    /// context offers no `TransactionContext`).
    fn can_define_transaction_boundaries(&self, _config: &Props) -> ConnectorTransactionBoundaries {
        ConnectorTransactionBoundaries::Unsupported
    }
}

/// Kafka's `SinkConnector`.
pub trait SinkConnector: Connector {
    fn create_task(&self) -> Box<dyn SinkTask>;
}

/// Kafka's `OffsetStorageReader`: the last committed offset of a source partition.
pub trait OffsetStorageReader: Send + Sync {
    /// The offset map last committed for `partition`, `None` when none was.
    fn offset(&self, partition: &Value) -> Option<Value>;
}

/// Kafka's `SourceTaskContext`.
pub trait SourceTaskContext: Send + Sync {
    /// The task's config.
    fn configs(&self) -> Props;
    fn offset_storage_reader(&self) -> &dyn OffsetStorageReader;
}

/// Where a record a source task produced landed (Kafka's `RecordMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Kafka's `SourceTask`.
pub trait SourceTask: fmt::Debug + Send {
    fn version(&self) -> String;
    /// Starts the task: the context stays valid for the task's life.
    fn start(
        &mut self,
        context: std::sync::Arc<dyn SourceTaskContext>,
        props: &Props,
    ) -> Result<(), ConnectorError>;
    /// The next records; an empty batch when there are none for now (the task may wait a
    /// little before returning it, as Kafka's tasks do). Must be cancel-safe.
    fn poll(&mut self) -> BoxFuture<'_, Result<Vec<ConnectRecord>, ConnectorError>>;
    /// Called after the worker committed the offsets of acknowledged records.
    fn commit(&mut self) -> Result<(), ConnectorError> {
        Ok(())
    }
    /// Called once per record the producer acknowledged (`None`: a transform dropped it).
    fn commit_record(
        &mut self,
        _record: &ConnectRecord,
        _metadata: Option<&RecordMetadata>,
    ) -> Result<(), ConnectorError> {
        Ok(())
    }
    fn stop(&mut self);
}

/// A Kafka topic partition, as sink tasks see them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

/// Kafka's `ErrantRecordReporter`: a sink task hands a record it cannot process to the
/// worker's error handling (`errors.tolerance`, the dead letter queue).
pub trait ErrantRecordReporter: Send + Sync {
    fn report(&self, record: &ConnectRecord, error: &ConnectorError);
}

/// Kafka's `SinkTaskContext`.
pub trait SinkTaskContext: Send + Sync {
    fn configs(&self) -> Props;
    /// Asks the worker to commit offsets soon (Kafka's `requestCommit()`).
    fn request_commit(&self);
    /// Stops consuming `partitions` until `resume` (Kafka's `pause`).
    fn pause(&self, partitions: &[TopicPartition]);
    fn resume(&self, partitions: &[TopicPartition]);
    /// The worker's reporter, `None` when the worker has none (Kafka returns null).
    fn errant_record_reporter(&self) -> Option<&dyn ErrantRecordReporter> {
        None
    }
}

/// Kafka's `SinkTask`. Offsets passed to `flush`/`pre_commit` are the next offsets to
/// consume (last put + 1), per partition.
pub trait SinkTask: fmt::Debug + Send {
    fn version(&self) -> String;
    fn start(
        &mut self,
        context: std::sync::Arc<dyn SinkTaskContext>,
        props: &Props,
    ) -> Result<(), ConnectorError>;
    /// Partitions newly assigned to the task.
    fn open(&mut self, _partitions: &[TopicPartition]) -> Result<(), ConnectorError> {
        Ok(())
    }
    /// Writes (or buffers) records. Must be cancel-safe only at its start.
    fn put(&mut self, records: Vec<ConnectRecord>) -> BoxFuture<'_, Result<(), ConnectorError>>;
    /// Makes everything `put` so far durable.
    fn flush(&mut self, _offsets: &HashMap<TopicPartition, i64>) -> Result<(), ConnectorError> {
        Ok(())
    }
    /// The offsets the worker may commit; by default `flush`es and commits them all.
    fn pre_commit(
        &mut self,
        offsets: &HashMap<TopicPartition, i64>,
    ) -> Result<HashMap<TopicPartition, i64>, ConnectorError> {
        self.flush(offsets)?;
        Ok(offsets.clone())
    }
    /// Partitions revoked from the task.
    fn close(&mut self, _partitions: &[TopicPartition]) -> Result<(), ConnectorError> {
        Ok(())
    }
    fn stop(&mut self);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigType, DefaultValue, Importance};

    #[test]
    fn validate_reports_every_error_per_key() {
        let def = ConfigDef::new()
            .define(
                "topic",
                ConfigType::String,
                DefaultValue::Required,
                None,
                Importance::High,
                "",
            )
            .define(
                "batch.size",
                ConfigType::Int,
                DefaultValue::Text("2000".into()),
                None,
                Importance::Low,
                "",
            );
        let props = HashMap::from([("batch.size".to_string(), "x".to_string())]);
        let report = validate_with(&def, &props);
        assert_eq!(
            report[0].errors,
            vec!["Missing required configuration \"topic\" which has no default value."]
        );
        assert_eq!(report[0].value, None);
        assert_eq!(
            report[1].errors,
            vec!["Invalid value x for configuration batch.size: Not a number of type INT"]
        );
        assert_eq!(
            report[1].value, None,
            "Kafka reports an unparsable value as null"
        );
    }

    #[derive(Debug)]
    struct Nothing;
    impl SourceTask for Nothing {
        fn version(&self) -> String {
            "1".into()
        }
        fn start(
            &mut self,
            _context: std::sync::Arc<dyn SourceTaskContext>,
            _props: &Props,
        ) -> Result<(), ConnectorError> {
            Ok(())
        }
        fn poll(&mut self) -> BoxFuture<'_, Result<Vec<ConnectRecord>, ConnectorError>> {
            Box::pin(async { Ok(Vec::new()) })
        }
        fn stop(&mut self) {}
    }

    #[test]
    fn tasks_are_object_safe() {
        let task: Box<dyn SourceTask> = Box::new(Nothing);
        assert_eq!(task.version(), "1");
    }
}
