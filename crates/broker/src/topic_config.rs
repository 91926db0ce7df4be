//! Topic-level configs: Kafka's keys, types, defaults, validation and the broker keys they
//! inherit from (`retention.ms` ← `log.retention.ms`), and their translation into the
//! log's `LogConfig`.

use std::collections::BTreeMap;

use rafka_log::{LogConfig, TimestampType};

/// What values a config accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConfigType {
    Boolean,
    Int {
        min: i64,
    },
    Long {
        min: i64,
    },
    Double {
        min: f64,
        max: f64,
    },
    /// One of the listed values (case as Kafka spells them).
    Enum(&'static [&'static str]),
    /// A comma-separated list whose items are each one of the listed values.
    List(&'static [&'static str]),
}

impl ConfigType {
    /// Kafka's DescribeConfigs `config_type` code.
    pub fn wire_type(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::Enum(_) => 2,
            ConfigType::Int { .. } => 3,
            ConfigType::Long { .. } => 5,
            ConfigType::Double { .. } => 6,
            ConfigType::List(_) => 7,
        }
    }

    /// Checks `value`, returning Kafka's wording of the problem.
    pub fn validate(self, name: &str, value: &str) -> Result<(), String> {
        let invalid = |why: String| {
            Err(format!(
                "Invalid value {value} for configuration {name}: {why}"
            ))
        };
        match self {
            ConfigType::Boolean => match value.trim().to_ascii_lowercase().as_str() {
                "true" | "false" => Ok(()),
                _ => invalid("Expected value to be either true or false".into()),
            },
            ConfigType::Int { min } => match value.trim().parse::<i32>() {
                Ok(v) if i64::from(v) >= min => Ok(()),
                Ok(_) => invalid(format!("Value must be at least {min}")),
                Err(_) => invalid("Not a number of type INT".into()),
            },
            ConfigType::Long { min } => match value.trim().parse::<i64>() {
                Ok(v) if v >= min => Ok(()),
                Ok(_) => invalid(format!("Value must be at least {min}")),
                Err(_) => invalid("Not a number of type LONG".into()),
            },
            ConfigType::Double { min, max } => match value.trim().parse::<f64>() {
                Ok(v) if v >= min && v <= max => Ok(()),
                Ok(_) => invalid(format!("Value must be in [{min}, {max}]")),
                Err(_) => invalid("Not a number of type DOUBLE".into()),
            },
            ConfigType::Enum(allowed) => {
                if allowed.iter().any(|a| a.eq_ignore_ascii_case(value.trim())) {
                    Ok(())
                } else {
                    invalid(format!("String must be one of: {}", allowed.join(", ")))
                }
            }
            ConfigType::List(allowed) => {
                let items: Vec<&str> = value.split(',').map(str::trim).collect();
                if items.is_empty() || items.iter().any(|i| i.is_empty()) {
                    return invalid("Empty list items are not allowed".into());
                }
                match items
                    .iter()
                    .find(|i| !allowed.iter().any(|a| a.eq_ignore_ascii_case(i)))
                {
                    None => Ok(()),
                    Some(bad) => invalid(format!(
                        "Invalid value {bad}; must be one of [{}]",
                        allowed.join(", ")
                    )),
                }
            }
        }
    }
}

/// One topic-level config.
#[derive(Debug, Clone, Copy)]
pub struct TopicConfigDef {
    pub name: &'static str,
    /// The broker config that supplies the default (Kafka's "synonym").
    pub broker_key: &'static str,
    pub config_type: ConfigType,
    pub default: &'static str,
    pub sensitive: bool,
}

const fn def(
    name: &'static str,
    broker_key: &'static str,
    config_type: ConfigType,
    default: &'static str,
) -> TopicConfigDef {
    TopicConfigDef {
        name,
        broker_key,
        config_type,
        default,
        sensitive: false,
    }
}

const LONG_MAX: &str = "9223372036854775807";

/// Kafka 4.x's topic configs, in its alphabetical order.
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def(
        "cleanup.policy",
        "log.cleanup.policy",
        ConfigType::List(&["delete", "compact"]),
        "delete",
    ),
    def(
        "compression.type",
        "compression.type",
        ConfigType::Enum(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "producer",
    ),
    def(
        "delete.retention.ms",
        "log.cleaner.delete.retention.ms",
        ConfigType::Long { min: 0 },
        "86400000",
    ),
    def(
        "file.delete.delay.ms",
        "log.segment.delete.delay.ms",
        ConfigType::Long { min: 0 },
        "60000",
    ),
    def(
        "flush.messages",
        "log.flush.interval.messages",
        ConfigType::Long { min: 1 },
        LONG_MAX,
    ),
    def(
        "flush.ms",
        "log.flush.interval.ms",
        ConfigType::Long { min: 0 },
        LONG_MAX,
    ),
    def(
        "index.interval.bytes",
        "log.index.interval.bytes",
        ConfigType::Int { min: 0 },
        "4096",
    ),
    def(
        "max.compaction.lag.ms",
        "log.cleaner.max.compaction.lag.ms",
        ConfigType::Long { min: 1 },
        LONG_MAX,
    ),
    def(
        "max.message.bytes",
        "message.max.bytes",
        ConfigType::Int { min: 0 },
        "1048588",
    ),
    def(
        "message.timestamp.after.max.ms",
        "log.message.timestamp.after.max.ms",
        ConfigType::Long { min: 0 },
        "3600000",
    ),
    def(
        "message.timestamp.before.max.ms",
        "log.message.timestamp.before.max.ms",
        ConfigType::Long { min: 0 },
        LONG_MAX,
    ),
    def(
        "message.timestamp.type",
        "log.message.timestamp.type",
        ConfigType::Enum(&["CreateTime", "LogAppendTime"]),
        "CreateTime",
    ),
    def(
        "min.cleanable.dirty.ratio",
        "log.cleaner.min.cleanable.ratio",
        ConfigType::Double { min: 0.0, max: 1.0 },
        "0.5",
    ),
    def(
        "min.compaction.lag.ms",
        "log.cleaner.min.compaction.lag.ms",
        ConfigType::Long { min: 0 },
        "0",
    ),
    def(
        "min.insync.replicas",
        "min.insync.replicas",
        ConfigType::Int { min: 1 },
        "1",
    ),
    def(
        "preallocate",
        "log.preallocate",
        ConfigType::Boolean,
        "false",
    ),
    def(
        "retention.bytes",
        "log.retention.bytes",
        ConfigType::Long { min: i64::MIN },
        "-1",
    ),
    def(
        "retention.ms",
        "log.retention.ms",
        ConfigType::Long { min: -1 },
        "604800000",
    ),
    // Kafka 4 raised the floor to 1 MiB; rafka keeps 3.x's floor so that tests and small
    // devices can roll segments quickly.
    def(
        "segment.bytes",
        "log.segment.bytes",
        ConfigType::Int { min: 14 },
        "1073741824",
    ),
    def(
        "segment.index.bytes",
        "log.index.size.max.bytes",
        ConfigType::Int { min: 4 },
        "10485760",
    ),
    def(
        "segment.jitter.ms",
        "log.roll.jitter.ms",
        ConfigType::Long { min: 0 },
        "0",
    ),
    def(
        "segment.ms",
        "log.roll.ms",
        ConfigType::Long { min: 1 },
        "604800000",
    ),
    def(
        "unclean.leader.election.enable",
        "unclean.leader.election.enable",
        ConfigType::Boolean,
        "false",
    ),
];

pub fn topic_config_def(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Validates one topic config override; the error text is what the client is shown.
pub fn validate_topic_config(name: &str, value: &str) -> Result<(), String> {
    match topic_config_def(name) {
        Some(def) => def.config_type.validate(name, value),
        None => Err(format!("Unknown topic config name: {name}")),
    }
}

/// The effective value of every topic config: the topic's override, else the broker's
/// value for its synonym, else Kafka's default.
pub fn effective_topic_configs(
    overrides: &BTreeMap<String, String>,
    broker_defaults: &BTreeMap<String, String>,
) -> BTreeMap<&'static str, String> {
    TOPIC_CONFIGS
        .iter()
        .map(|def| {
            let value = overrides
                .get(def.name)
                .or_else(|| broker_defaults.get(def.broker_key))
                .cloned()
                .unwrap_or_else(|| def.default.to_string());
            (def.name, value)
        })
        .collect()
}

/// Builds the log's config from effective topic configs (validated beforehand).
pub fn log_config(effective: &BTreeMap<&'static str, String>) -> LogConfig {
    let long = |k: &str| effective.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let defaults = LogConfig::default();
    let policy: Vec<String> = effective
        .get("cleanup.policy")
        .map(|v| {
            v.split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_else(|| vec!["delete".to_string()]);
    LogConfig {
        segment_bytes: long("segment.bytes").map_or(defaults.segment_bytes, |v| v as u64),
        segment_ms: long("segment.ms").unwrap_or(defaults.segment_ms),
        segment_index_bytes: long("segment.index.bytes")
            .map_or(defaults.segment_index_bytes, |v| v as u64),
        retention_ms: long("retention.ms").unwrap_or(defaults.retention_ms),
        retention_bytes: long("retention.bytes").unwrap_or(defaults.retention_bytes),
        index_interval_bytes: long("index.interval.bytes")
            .map_or(defaults.index_interval_bytes, |v| v as u64),
        flush_interval_messages: long("flush.messages").unwrap_or(defaults.flush_interval_messages),
        flush_interval_ms: long("flush.ms").unwrap_or(defaults.flush_interval_ms),
        max_message_bytes: long("max.message.bytes")
            .map_or(defaults.max_message_bytes, |v| v as u32),
        message_timestamp_type: match effective.get("message.timestamp.type").map(String::as_str) {
            Some(v) if v.eq_ignore_ascii_case("LogAppendTime") => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        },
        cleanup_policy_compact: policy.iter().any(|p| p == "compact"),
        cleanup_policy_delete: policy.iter().any(|p| p == "delete"),
        delete_retention_ms: long("delete.retention.ms").unwrap_or(defaults.delete_retention_ms),
        min_cleanable_dirty_ratio: effective
            .get("min.cleanable.dirty.ratio")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(defaults.min_cleanable_dirty_ratio),
        min_compaction_lag_ms: long("min.compaction.lag.ms")
            .unwrap_or(defaults.min_compaction_lag_ms),
        max_compaction_lag_ms: long("max.compaction.lag.ms")
            .unwrap_or(defaults.max_compaction_lag_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_uses_kafka_wording() {
        assert!(validate_topic_config("retention.ms", "1000").is_ok());
        assert!(validate_topic_config("retention.ms", "-1").is_ok());
        let err = validate_topic_config("retention.ms", "soon").unwrap_err();
        assert!(
            err.contains("Invalid value soon for configuration retention.ms"),
            "{err}"
        );
        assert!(validate_topic_config("cleanup.policy", "compact,delete").is_ok());
        assert!(validate_topic_config("cleanup.policy", "shred").is_err());
        assert!(validate_topic_config("no.such.config", "1").is_err());
        assert!(validate_topic_config("min.insync.replicas", "0").is_err());
    }

    #[test]
    fn override_beats_broker_default_beats_kafka_default() {
        let overrides = BTreeMap::from([("retention.ms".to_string(), "5".to_string())]);
        let broker = BTreeMap::from([
            ("log.retention.ms".to_string(), "7".to_string()),
            ("log.segment.bytes".to_string(), "2048".to_string()),
        ]);
        let effective = effective_topic_configs(&overrides, &broker);
        assert_eq!(effective["retention.ms"], "5");
        assert_eq!(effective["segment.bytes"], "2048");
        assert_eq!(effective["max.message.bytes"], "1048588");
        let log = log_config(&effective);
        assert_eq!(log.retention_ms, 5);
        assert_eq!(log.segment_bytes, 2048);
    }
}
