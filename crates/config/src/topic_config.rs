//! Topic-level configs: Kafka's keys, types, defaults, validation and the broker keys they
//! inherit from (`retention.ms` ← `log.retention.ms`), and their translation into the
//! log's `LogConfig`.

use std::collections::BTreeMap;

use rafka_log::{LogConfig, TimestampType};

/// What values a config accepts, with the validator Kafka's `ConfigDef` gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConfigType {
    Boolean,
    /// `atLeast(min)`.
    Int {
        min: i64,
    },
    /// `between(min, max)`.
    IntRange {
        min: i64,
        max: i64,
    },
    Long {
        min: i64,
    },
    Double {
        min: f64,
        max: f64,
    },
    /// Any string.
    String,
    /// One of the listed values, case-sensitive (Kafka's `ValidString.in`).
    Enum(&'static [&'static str]),
    /// A comma-separated list, possibly empty, whose items are each one of the listed
    /// values (Kafka's `ValidList.in`); an empty slice accepts any item.
    List(&'static [&'static str]),
    /// `compression.gzip.level`: 1 to 9, or -1 (zlib's default).
    GzipLevel,
    /// `*.replication.throttled.replicas`: `*` or `partition:broker` pairs.
    ThrottledReplicas,
}

impl ConfigType {
    /// Kafka's DescribeConfigs `config_type` code.
    pub fn wire_type(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::String | ConfigType::Enum(_) => 2,
            ConfigType::Int { .. } | ConfigType::IntRange { .. } | ConfigType::GzipLevel => 3,
            ConfigType::Long { .. } => 5,
            ConfigType::Double { .. } => 6,
            ConfigType::List(_) | ConfigType::ThrottledReplicas => 7,
        }
    }

    /// Whether IncrementalAlterConfigs may APPEND to or SUBTRACT from it.
    pub fn is_list(self) -> bool {
        matches!(self, ConfigType::List(_) | ConfigType::ThrottledReplicas)
    }

    /// Checks `value`, returning Kafka's wording of the problem: `ConfigDef.parseType`'s
    /// for a value of the wrong type (quoting the value as given), the validator's for
    /// one out of range (quoting the parsed value).
    pub fn validate(self, name: &str, value: &str) -> Result<(), String> {
        let invalid = |shown: &dyn std::fmt::Display, why: &str| {
            Err(format!(
                "Invalid value {shown} for configuration {name}: {why}"
            ))
        };
        let trimmed = value.trim();
        let range = |v: i64, min: i64, max: i64| {
            if v < min {
                invalid(&v, &format!("Value must be at least {min}"))
            } else if v > max {
                invalid(&v, &format!("Value must be no more than {max}"))
            } else {
                Ok(())
            }
        };
        match self {
            ConfigType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                "true" | "false" => Ok(()),
                _ => invalid(&value, "Expected value to be either true or false"),
            },
            ConfigType::Int { min } => match trimmed.parse::<i32>() {
                Ok(v) => range(i64::from(v), min, i64::MAX),
                Err(_) => invalid(&value, "Not a number of type INT"),
            },
            ConfigType::IntRange { min, max } => match trimmed.parse::<i32>() {
                Ok(v) => range(i64::from(v), min, max),
                Err(_) => invalid(&value, "Not a number of type INT"),
            },
            ConfigType::GzipLevel => match trimmed.parse::<i32>() {
                Ok(v) if v > 9 || (v < 1 && v != -1) => {
                    invalid(&v, "Value must be between 1 and 9 or equal to -1")
                }
                Ok(_) => Ok(()),
                Err(_) => invalid(&value, "Not a number of type INT"),
            },
            ConfigType::Long { min } => match trimmed.parse::<i64>() {
                Ok(v) => range(v, min, i64::MAX),
                Err(_) => invalid(&value, "Not a number of type LONG"),
            },
            ConfigType::Double { min, max } => match trimmed.parse::<f64>() {
                Ok(v) if v < min => invalid(
                    &java_double(v),
                    &format!("Value must be at least {}", java_number(min)),
                ),
                Ok(v) if v > max => invalid(
                    &java_double(v),
                    &format!("Value must be no more than {}", java_number(max)),
                ),
                Ok(_) => Ok(()),
                Err(_) => invalid(&value, "Not a number of type DOUBLE"),
            },
            ConfigType::String => Ok(()),
            ConfigType::Enum(allowed) => {
                if allowed.contains(&trimmed) {
                    Ok(())
                } else {
                    invalid(
                        &trimmed,
                        &format!("String must be one of: {}", allowed.join(", ")),
                    )
                }
            }
            ConfigType::List(allowed) => {
                if allowed.is_empty() {
                    return Ok(());
                }
                match list_items(value).into_iter().find(|i| !allowed.contains(i)) {
                    None => Ok(()),
                    Some(bad) => invalid(
                        &bad,
                        &format!("String must be one of: {}", allowed.join(", ")),
                    ),
                }
            }
            ConfigType::ThrottledReplicas => {
                let items = list_items(value);
                let pair = |s: &str| {
                    s.is_empty()
                        || s.split_once(':').is_some_and(|(p, b)| {
                            !p.is_empty()
                                && !b.is_empty()
                                && p.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
                        })
                };
                if items.iter().all(|i| pair(i)) || items.concat() == "*" {
                    Ok(())
                } else {
                    invalid(
                        &format!("[{}]", items.join(", ")),
                        &format!("{name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."),
                    )
                }
            }
        }
    }
}

/// A LIST config's items as Kafka's `ConfigDef` parses them: the trimmed value split at
/// commas and the whitespace around them; empty items are kept, an empty value is no item.
pub fn list_items(value: &str) -> Vec<&str> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split(',').map(str::trim).collect()
}

/// How Java prints a `double` (`0.5`, `2.0`, `1.0E-4`), for messages quoting one.
fn java_double(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e7 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

/// How Java prints a bound given as an integer literal (`between(0, 1)`).
fn java_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

/// One topic-level config.
#[derive(Debug, Clone, Copy)]
pub struct TopicConfigDef {
    pub name: &'static str,
    /// The broker config that supplies the default (Kafka's "synonym"), if there is one.
    pub broker_key: Option<&'static str>,
    /// The broker config's own default: `None` where Kafka defines it as null (for
    /// `log.retention.ms`, which falls back to `log.retention.hours`), so that
    /// DescribeConfigs lists no DEFAULT synonym for it, as Kafka does.
    pub broker_default: Option<&'static str>,
    pub config_type: ConfigType,
    pub default: &'static str,
    pub sensitive: bool,
}

impl TopicConfigDef {
    /// The validator of the broker key in server.properties. Kafka 4 refuses
    /// log.segment.bytes below 1 MiB; rafka keeps 3.x's floor for its static config so
    /// that tests and small devices can roll segments quickly. Topic configs and dynamic
    /// broker configs get Kafka's floor.
    pub fn static_broker_type(&self) -> ConfigType {
        if self.name == "segment.bytes" {
            ConfigType::Int { min: 14 }
        } else {
            self.config_type
        }
    }
}

/// A config whose broker synonym has the same default as the topic config.
const fn def(
    name: &'static str,
    broker_key: &'static str,
    config_type: ConfigType,
    default: &'static str,
) -> TopicConfigDef {
    TopicConfigDef {
        name,
        broker_key: Some(broker_key),
        broker_default: Some(default),
        config_type,
        default,
        sensitive: false,
    }
}

/// A config whose broker synonym Kafka defines without a default.
const fn def_null_broker_default(
    name: &'static str,
    broker_key: &'static str,
    config_type: ConfigType,
    default: &'static str,
) -> TopicConfigDef {
    TopicConfigDef {
        broker_default: None,
        ..def(name, broker_key, config_type, default)
    }
}

/// A config with no broker synonym.
const fn def_topic_only(
    name: &'static str,
    config_type: ConfigType,
    default: &'static str,
) -> TopicConfigDef {
    TopicConfigDef {
        name,
        broker_key: None,
        broker_default: None,
        config_type,
        default,
        sensitive: false,
    }
}

const LONG_MAX: &str = "9223372036854775807";

/// Kafka 4.1's topic configs, in alphabetical order. rafka accepts, validates, stores and
/// describes the tiered-storage ones (`remote.*`, `local.retention.*`) and the replication
/// throttles like Kafka, but does not act on them: it has no remote storage, and a
/// single-node log has no replication traffic to throttle. Nor does it apply the
/// compression levels, since it stores batches as producers compressed them.
pub const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    def(
        "cleanup.policy",
        "log.cleanup.policy",
        ConfigType::List(&["compact", "delete"]),
        "delete",
    ),
    def(
        "compression.gzip.level",
        "compression.gzip.level",
        ConfigType::GzipLevel,
        "-1",
    ),
    def(
        "compression.lz4.level",
        "compression.lz4.level",
        ConfigType::IntRange { min: 1, max: 17 },
        "9",
    ),
    def(
        "compression.type",
        "compression.type",
        ConfigType::Enum(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "producer",
    ),
    def(
        "compression.zstd.level",
        "compression.zstd.level",
        ConfigType::IntRange {
            min: -131072,
            max: 22,
        },
        "3",
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
    def_null_broker_default(
        "flush.ms",
        "log.flush.interval.ms",
        ConfigType::Long { min: 0 },
        LONG_MAX,
    ),
    def_topic_only(
        "follower.replication.throttled.replicas",
        ConfigType::ThrottledReplicas,
        "",
    ),
    def(
        "index.interval.bytes",
        "log.index.interval.bytes",
        ConfigType::Int { min: 0 },
        "4096",
    ),
    def_topic_only(
        "leader.replication.throttled.replicas",
        ConfigType::ThrottledReplicas,
        "",
    ),
    def(
        "local.retention.bytes",
        "log.local.retention.bytes",
        ConfigType::Long { min: -2 },
        "-2",
    ),
    def(
        "local.retention.ms",
        "log.local.retention.ms",
        ConfigType::Long { min: -2 },
        "-2",
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
    def_topic_only("remote.log.copy.disable", ConfigType::Boolean, "false"),
    def_topic_only("remote.log.delete.on.disable", ConfigType::Boolean, "false"),
    def_topic_only("remote.storage.enable", ConfigType::Boolean, "false"),
    def(
        "retention.bytes",
        "log.retention.bytes",
        ConfigType::Long { min: i64::MIN },
        "-1",
    ),
    def_null_broker_default(
        "retention.ms",
        "log.retention.ms",
        ConfigType::Long { min: -1 },
        "604800000",
    ),
    def(
        "segment.bytes",
        "log.segment.bytes",
        ConfigType::Int { min: 1048576 },
        "1073741824",
    ),
    def(
        "segment.index.bytes",
        "log.index.size.max.bytes",
        ConfigType::Int { min: 4 },
        "10485760",
    ),
    def_null_broker_default(
        "segment.jitter.ms",
        "log.roll.jitter.ms",
        ConfigType::Long { min: 0 },
        "0",
    ),
    def_null_broker_default(
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
    TOPIC_CONFIGS
        .iter()
        .chain(std::iter::once(&INTERNAL_SEGMENT_BYTES))
        .find(|d| d.name == name)
}

/// Kafka 4's internal topic config for segments below `segment.bytes`' 1 MiB floor (its
/// own tests use it): accepted and applied, never described. Kafka takes any INT; rafka
/// keeps a floor of 14 bytes, the smallest segment that holds a record.
pub const INTERNAL_SEGMENT_BYTES: TopicConfigDef =
    def_topic_only("internal.segment.bytes", ConfigType::Int { min: 14 }, "");

/// The topic config a broker key is the synonym of.
pub fn topic_config_of_broker_key(key: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.broker_key == Some(key))
}

/// Validates one topic config override; the error text is what the client is shown.
pub fn validate_topic_config(name: &str, value: &str) -> Result<(), String> {
    match topic_config_def(name) {
        Some(def) => def.config_type.validate(name, value),
        None => Err(format!("Unknown topic config name: {name}")),
    }
}

/// Validates a topic's complete set of overrides as Kafka's `LogConfig.validate` does:
/// names, then each value, then the checks that span configs, on the effective values
/// (overrides over the broker's defaults).
pub fn validate_topic_configs(
    overrides: &BTreeMap<String, String>,
    broker_defaults: &BTreeMap<String, String>,
) -> Result<(), String> {
    if let Some(unknown) = overrides.keys().find(|k| topic_config_def(k).is_none()) {
        return Err(format!("Unknown topic config name: {unknown}"));
    }
    for (name, value) in overrides {
        validate_topic_config(name, value)?;
    }
    let effective = effective_topic_configs(overrides, broker_defaults);
    let long = |k: &str| effective[k].trim().parse::<i64>().unwrap_or(0);
    let (min_lag, max_lag) = (long("min.compaction.lag.ms"), long("max.compaction.lag.ms"));
    if min_lag > max_lag {
        return Err(format!(
            "conflict topic config setting min.compaction.lag.ms ({min_lag}) > max.compaction.lag.ms ({max_lag})"
        ));
    }
    if effective["remote.storage.enable"]
        .trim()
        .eq_ignore_ascii_case("true")
    {
        // Kafka's answer on a cluster without remote.log.storage.system.enable, which is
        // what rafka is.
        return Err("Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.".into());
    }
    Ok(())
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
                .or_else(|| def.broker_key.and_then(|k| broker_defaults.get(k)))
                .cloned()
                .unwrap_or_else(|| def.default.to_string());
            (def.name, value)
        })
        .chain(
            overrides
                .get(INTERNAL_SEGMENT_BYTES.name)
                .map(|v| (INTERNAL_SEGMENT_BYTES.name, v.clone())),
        )
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
        segment_bytes: long(INTERNAL_SEGMENT_BYTES.name)
            .or_else(|| long("segment.bytes"))
            .map_or(defaults.segment_bytes, |v| v as u64),
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
    fn validation_texts_are_kafkas_exactly() {
        let check = |name: &str, value: &str, expected: &str| {
            assert_eq!(
                validate_topic_config(name, value),
                Err(expected.to_string()),
                "{name}={value}"
            );
        };
        check(
            "segment.bytes",
            "10",
            "Invalid value 10 for configuration segment.bytes: Value must be at least 1048576",
        );
        check(
            "cleanup.policy",
            "bogus",
            "Invalid value bogus for configuration cleanup.policy: String must be one of: compact, delete",
        );
        check(
            "cleanup.policy",
            "compact,shred",
            "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete",
        );
        check(
            "min.cleanable.dirty.ratio",
            "2",
            "Invalid value 2.0 for configuration min.cleanable.dirty.ratio: Value must be no more than 1",
        );
        check(
            "compression.lz4.level",
            "18",
            "Invalid value 18 for configuration compression.lz4.level: Value must be no more than 17",
        );
        check(
            "compression.gzip.level",
            "0",
            "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9 or equal to -1",
        );
        check(
            "leader.replication.throttled.replicas",
            "0:1,x",
            "Invalid value [0:1, x] for configuration leader.replication.throttled.replicas: leader.replication.throttled.replicas must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...",
        );
        // Kafka 4 accepts an empty cleanup policy (neither deletes nor compacts).
        assert!(validate_topic_config("cleanup.policy", "").is_ok());
        assert!(validate_topic_config("follower.replication.throttled.replicas", "*").is_ok());
        assert!(validate_topic_config("remote.storage.enable", "false").is_ok());
        assert!(validate_topic_config("local.retention.ms", "-2").is_ok());
    }

    #[test]
    fn internal_segment_bytes_sets_small_segments_without_being_listed() {
        let overrides =
            BTreeMap::from([("internal.segment.bytes".to_string(), "16384".to_string())]);
        assert!(validate_topic_configs(&overrides, &BTreeMap::new()).is_ok());
        let effective = effective_topic_configs(&overrides, &BTreeMap::new());
        assert_eq!(log_config(&effective).segment_bytes, 16384);
        assert!(TOPIC_CONFIGS
            .iter()
            .all(|d| d.name != "internal.segment.bytes"));
    }

    #[test]
    fn whole_set_checks_span_configs() {
        let none = BTreeMap::new();
        let configs = BTreeMap::from([
            ("min.compaction.lag.ms".to_string(), "10".to_string()),
            ("max.compaction.lag.ms".to_string(), "5".to_string()),
        ]);
        assert_eq!(
            validate_topic_configs(&configs, &none),
            Err("conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)".into())
        );
        let remote = BTreeMap::from([("remote.storage.enable".to_string(), "true".to_string())]);
        assert!(validate_topic_configs(&remote, &none)
            .unwrap_err()
            .starts_with("Tiered Storage functionality is disabled in the broker."));
        let unknown = BTreeMap::from([("no.such".to_string(), "1".to_string())]);
        assert_eq!(
            validate_topic_configs(&unknown, &none),
            Err("Unknown topic config name: no.such".into())
        );
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
