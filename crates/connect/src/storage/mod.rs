//! Distributed mode's storage: Kafka Connect's three internal topics, in Kafka's own
//! record formats, so a restarted cluster resumes where it was and Kafka's workers and
//! tools can read what rafka's wrote (and the other way round).
//!
//! - `kafka_log`: Kafka's `KafkaBasedLog` — a compacted topic created when missing, read
//!   from the beginning by a background consumer, written by an acknowledged producer;
//! - `config_store`: `config.storage.topic` (connector and task configs, target states,
//!   restart requests, the session key) — Kafka's `KafkaConfigBackingStore`;
//! - `status_store`: `status.storage.topic` (connector, task and active-topic statuses)
//!   — Kafka's `KafkaStatusBackingStore`;
//! - `offset_store`: `offset.storage.topic` (source offsets) — Kafka's
//!   `KafkaOffsetBackingStore`, behind the worker's `OffsetStore` trait.
//!
//! Every value is JSON as Kafka's internal `JsonConverter` (`schemas.enable=false`) writes
//! it: compact, struct fields in schema order, optional fields present as `null`.

pub mod config_store;
pub mod kafka_log;
pub mod offset_store;
pub mod status_store;

use crate::error::RuntimeError;
use crate::worker_config::{with_prefix, WorkerConfig};

/// Which internal topic: its `<prefix>.topic` key, partition count rule and purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalTopic {
    Config,
    Offset,
    Status,
}

impl InternalTopic {
    /// The worker keys' prefix (Kafka's `CONFIG_STORAGE_PREFIX` and siblings).
    pub fn prefix(self) -> &'static str {
        match self {
            InternalTopic::Config => "config.storage.",
            InternalTopic::Offset => "offset.storage.",
            InternalTopic::Status => "status.storage.",
        }
    }

    /// The key naming the topic (`config.storage.topic`, …).
    pub fn topic_key(self) -> String {
        format!("{}topic", self.prefix())
    }

    /// What the topic holds, as Kafka's messages name it (`getTopicPurpose`).
    pub fn purpose(self) -> &'static str {
        match self {
            InternalTopic::Config => "connector configurations",
            InternalTopic::Offset => "source connector offsets",
            InternalTopic::Status => "connector and task statuses",
        }
    }

    /// The suffix Kafka appends to the worker's client id base (`…configs`).
    fn client_id_suffix(self) -> &'static str {
        match self {
            InternalTopic::Config => "configs",
            InternalTopic::Offset => "offsets",
            InternalTopic::Status => "statuses",
        }
    }
}

/// How to create (or check) one internal topic, from the worker's keys (Kafka's
/// `DistributedConfig` + `TopicAdmin.defineTopic(...).compacted()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub which: InternalTopic,
    pub name: String,
    /// `-1`: the broker's default (`num.partitions`).
    pub partitions: i32,
    /// `-1`: the broker's default (`default.replication.factor`).
    pub replication_factor: i16,
    /// Topic configs from `<prefix>.*` keys, `cleanup.policy=compact` last (it always
    /// wins, as Kafka's `compacted()` overrides a user's policy).
    pub configs: Vec<(String, String)>,
    pub bootstrap_servers: String,
    pub client_id: String,
    /// The worker's security settings, as librdkafka's.
    pub security: Vec<(String, String)>,
}

fn parse_number<T: std::str::FromStr>(
    config: &WorkerConfig,
    key: &str,
    default: T,
    kind: &str,
) -> Result<T, RuntimeError> {
    match config.props.get(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            RuntimeError::Config(format!(
                "Invalid value {v} for configuration {key}: Not a number of type {kind}"
            ))
        }),
    }
}

impl TopicSpec {
    /// Reads `<prefix>.topic` (required in distributed mode, no default, as in Kafka),
    /// `<prefix>.partitions` (offsets 25, statuses 5; the config topic always has 1)
    /// and `<prefix>.replication.factor` (3; -1 for the broker's default).
    pub fn from_worker_config(
        config: &WorkerConfig,
        which: InternalTopic,
    ) -> Result<TopicSpec, RuntimeError> {
        let topic_key = which.topic_key();
        let name = config
            .props
            .get(&topic_key)
            .map(|t| t.trim().to_string())
            .ok_or_else(|| {
                RuntimeError::Config(format!(
                    "Missing required configuration \"{topic_key}\" which has no default value."
                ))
            })?;
        if name.is_empty() {
            return Err(RuntimeError::Config(format!(
                "Must specify topic for {}.",
                match which {
                    InternalTopic::Config => "connector configuration",
                    InternalTopic::Offset => "source connector offsets",
                    InternalTopic::Status => "connector status",
                }
            )));
        }
        let partitions_key = format!("{}partitions", which.prefix());
        let partitions = match which {
            InternalTopic::Config => 1,
            InternalTopic::Offset => parse_number(config, &partitions_key, 25, "INT")?,
            InternalTopic::Status => parse_number(config, &partitions_key, 5, "INT")?,
        };
        if partitions != -1 && partitions < 1 {
            return Err(RuntimeError::Config(format!(
                "Invalid value {partitions} for configuration {partitions_key}: Number of partitions must be positive, or -1 to use the broker's default"
            )));
        }
        let replication_key = format!("{}replication.factor", which.prefix());
        let replication_factor: i16 = parse_number(config, &replication_key, 3, "SHORT")?;
        if replication_factor != -1 && replication_factor < 1 {
            return Err(RuntimeError::Config(format!(
                "Invalid value {replication_factor} for configuration {replication_key}: Replication factor must be positive and not larger than the number of brokers in the Kafka cluster, or -1 to use the broker's default"
            )));
        }
        // Kafka's `topicSettings(prefix)`: every other `<prefix>.*` key is a topic config.
        let mut configs: Vec<(String, String)> = with_prefix(&config.props, which.prefix())
            .into_iter()
            .filter(|(k, _)| {
                !["topic", "partitions", "replication.factor", "cleanup.policy"]
                    .contains(&k.as_str())
                    // the standalone file key shares the prefix
                    && k != "file.filename"
            })
            .collect();
        configs.sort();
        configs.push(("cleanup.policy".into(), "compact".into()));
        let group = config
            .props
            .get("group.id")
            .map(|g| g.trim().to_string())
            .unwrap_or_else(|| "connect".into());
        Ok(TopicSpec {
            which,
            name,
            partitions,
            replication_factor,
            configs,
            bootstrap_servers: config.bootstrap_servers.clone(),
            client_id: format!("connect-{group}-{}", which.client_id_suffix()),
            security: config
                .client_settings("", &Default::default())
                .map_err(RuntimeError::Config)?,
        })
    }
}

/// Compact JSON bytes, as Kafka's `JsonConverter` (Jackson) writes them.
pub(crate) fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Parses a record value; `None` for a tombstone, `Err` for bytes that are not JSON.
pub(crate) fn parse_json(value: Option<&[u8]>) -> Result<Option<serde_json::Value>, String> {
    match value {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(bytes).map(Some).map_err(|e| {
            format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error: {e}"
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> WorkerConfig {
        let props: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        WorkerConfig::from_props(props).unwrap()
    }

    #[test]
    fn topic_specs_take_kafkas_defaults_and_keys() {
        let c = config(&[
            ("config.storage.topic", "cfg"),
            ("config.storage.partitions", "7"),
            ("offset.storage.topic", "off"),
            ("offset.storage.replication.factor", "-1"),
            ("offset.storage.segment.bytes", "1000"),
            ("offset.storage.cleanup.policy", "delete"),
            ("status.storage.topic", "st"),
            ("group.id", "g"),
        ]);
        let cfg = TopicSpec::from_worker_config(&c, InternalTopic::Config).unwrap();
        assert_eq!(
            (cfg.name.as_str(), cfg.partitions, cfg.replication_factor),
            ("cfg", 1, 3)
        );
        assert_eq!(
            cfg.configs,
            vec![("cleanup.policy".into(), "compact".into())]
        );
        assert_eq!(cfg.client_id, "connect-g-configs");
        let off = TopicSpec::from_worker_config(&c, InternalTopic::Offset).unwrap();
        assert_eq!((off.partitions, off.replication_factor), (25, -1));
        assert_eq!(
            off.configs,
            vec![
                ("segment.bytes".into(), "1000".into()),
                ("cleanup.policy".into(), "compact".into())
            ]
        );
        let st = TopicSpec::from_worker_config(&c, InternalTopic::Status).unwrap();
        assert_eq!(st.partitions, 5);
    }

    #[test]
    fn topic_specs_reject_what_kafka_rejects() {
        let missing = config(&[]);
        assert_eq!(
            TopicSpec::from_worker_config(&missing, InternalTopic::Status)
                .unwrap_err()
                .to_string(),
            "Missing required configuration \"status.storage.topic\" which has no default value."
        );
        let zero = config(&[
            ("offset.storage.topic", "o"),
            ("offset.storage.partitions", "0"),
        ]);
        assert_eq!(
            TopicSpec::from_worker_config(&zero, InternalTopic::Offset)
                .unwrap_err()
                .to_string(),
            "Invalid value 0 for configuration offset.storage.partitions: Number of partitions must be positive, or -1 to use the broker's default"
        );
        let rf = config(&[
            ("status.storage.topic", "s"),
            ("status.storage.replication.factor", "0"),
        ]);
        assert!(TopicSpec::from_worker_config(&rf, InternalTopic::Status).is_err());
    }
}
