//! Group-level configs (KIP-848, KIP-932, KIP-1071): the `GROUP` config resource (type 32)
//! that DescribeConfigs, AlterConfigs and IncrementalAlterConfigs address by group id.
//! Kafka 4.1's keys, types, defaults (taken from the broker's `group.*` configs, as Kafka's
//! `GroupCoordinatorConfig.extractGroupConfigMap` takes them) and validation
//! (`GroupConfig.validate`), and the effective values the group coordinator applies.
//!
//! It knows nothing of how overrides are stored: `Broker::group_configs` hands them in.

use std::collections::BTreeMap;

use crate::broker::Broker;
use crate::config::BrokerConfig;
use crate::topic_config::ConfigType;

/// One group config: Kafka's key and type, the broker config that supplies its default
/// (if any) and Kafka's own default, which `GroupConfig.validate` falls back to for a key
/// the group does not set.
#[derive(Debug, Clone, Copy)]
pub struct GroupConfigDef {
    pub name: &'static str,
    pub config_type: ConfigType,
    pub broker_key: Option<&'static str>,
    pub default: &'static str,
    pub documentation: &'static str,
}

/// What share.auto.offset.reset accepts (`ShareGroupAutoOffsetResetStrategy.Validator`).
const AUTO_OFFSET_RESET: ConfigType = ConfigType::String;

/// Kafka 4.1.1's group configs, in Kafka's definition order (which is the order Kafka
/// parses, and so reports, invalid values in).
pub const GROUP_CONFIGS: &[GroupConfigDef] = &[
    GroupConfigDef {
        name: "consumer.session.timeout.ms",
        config_type: ConfigType::Int { min: 1 },
        broker_key: Some("group.consumer.session.timeout.ms"),
        default: "45000",
        documentation: "The timeout to detect client failures when using the consumer group protocol.",
    },
    GroupConfigDef {
        name: "consumer.heartbeat.interval.ms",
        config_type: ConfigType::Int { min: 1 },
        broker_key: Some("group.consumer.heartbeat.interval.ms"),
        default: "5000",
        documentation: "The heartbeat interval given to the members of a consumer group.",
    },
    GroupConfigDef {
        name: "share.session.timeout.ms",
        config_type: ConfigType::Int { min: 1 },
        broker_key: Some("group.share.session.timeout.ms"),
        default: "45000",
        documentation: "The timeout to detect client failures when using the share group protocol.",
    },
    GroupConfigDef {
        name: "share.heartbeat.interval.ms",
        config_type: ConfigType::Int { min: 1 },
        broker_key: Some("group.share.heartbeat.interval.ms"),
        default: "5000",
        documentation: "The heartbeat interval given to the members of a share group.",
    },
    GroupConfigDef {
        name: "share.record.lock.duration.ms",
        config_type: ConfigType::Int { min: 1000 },
        broker_key: Some("group.share.record.lock.duration.ms"),
        default: "30000",
        documentation: "The record acquisition lock duration in milliseconds for share groups.",
    },
    GroupConfigDef {
        name: "share.auto.offset.reset",
        config_type: AUTO_OFFSET_RESET,
        broker_key: None,
        default: "latest",
        documentation: "The strategy to initialize the share-partition start offset. <ul><li>earliest: automatically reset the offset to the earliest offset</li><li>latest: automatically reset the offset to the latest offset</li><li>by_duration:&lt;duration&gt;: automatically reset the offset to a configured duration from the current timestamp. &lt;duration&gt; must be specified in ISO8601 format (PnDTnHnMn.nS). Negative duration is not allowed.</li><li>anything else: throw exception to the share consumer.</li></ul>",
    },
    GroupConfigDef {
        name: "share.isolation.level",
        config_type: ConfigType::Enum(&["read_committed", "read_uncommitted"]),
        broker_key: None,
        default: "read_uncommitted",
        documentation: "Controls how to read records written transactionally. If set to \"read_committed\", the share group will only deliver transactional records which have been committed. If set to \"read_uncommitted\", the share group will return all messages, even transactional messages which have been aborted. Non-transactional records will be returned unconditionally in either mode.",
    },
    // Kafka 4.1 gives the streams keys its ConfigDef defaults, not the broker's
    // group.streams.* values.
    GroupConfigDef {
        name: "streams.session.timeout.ms",
        config_type: ConfigType::Int { min: 1 },
        broker_key: None,
        default: "45000",
        documentation: "The timeout to detect client failures when using the streams group protocol.",
    },
    GroupConfigDef {
        name: "streams.heartbeat.interval.ms",
        config_type: ConfigType::Int { min: 1 },
        broker_key: None,
        default: "5000",
        documentation: "The heartbeat interval given to the members.",
    },
    GroupConfigDef {
        name: "streams.num.standby.replicas",
        config_type: ConfigType::Int { min: 0 },
        broker_key: None,
        default: "0",
        documentation: "The number of standby replicas for each task.",
    },
];

pub fn group_config_def(name: &str) -> Option<&'static GroupConfigDef> {
    GROUP_CONFIGS.iter().find(|d| d.name == name)
}

/// A broker `group.*` config as an int: the parsed value rafka's config module keeps where
/// it reads the key, else the server.properties value, else Kafka's default.
fn broker_int(config: &BrokerConfig, key: &str, default: i32) -> i32 {
    match key {
        "group.consumer.session.timeout.ms" => {
            return i32::try_from(config.consumer_group.session_timeout_ms).unwrap_or(default)
        }
        "group.consumer.heartbeat.interval.ms" => {
            return config.consumer_group.heartbeat_interval_ms
        }
        _ => {}
    }
    config
        .explicit
        .get(key)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// The value a group gets for a config it does not set: the broker's `group.*` value, or
/// Kafka's fixed default for the keys that have no broker synonym.
pub fn group_config_default(config: &BrokerConfig, def: &GroupConfigDef) -> String {
    match def.broker_key {
        Some(key) => {
            let fallback = def.default.parse().unwrap_or(0);
            broker_int(config, key, fallback).to_string()
        }
        None => def.default.to_string(),
    }
}

/// A value as Kafka shows it after parsing it with its type: ints without padding or
/// leading zeros, strings trimmed.
pub fn canonical_value(def: &GroupConfigDef, value: &str) -> String {
    let trimmed = value.trim();
    match def.config_type {
        ConfigType::Int { .. } => trimmed
            .parse::<i32>()
            .map_or_else(|_| trimmed.to_string(), |v| v.to_string()),
        _ => trimmed.to_string(),
    }
}

/// Kafka's `GroupConfig.validate` of a group's complete new set of overrides: known names,
/// each value of its type and range (in Kafka's definition order), then the bounds the
/// broker's `group.*.min/max.*` configs set, then session timeouts above heartbeat
/// intervals. Keys the group does not set count at Kafka's fixed defaults, as in Kafka.
/// The error is Kafka's INVALID_CONFIG text.
pub fn validate_group_configs(
    configs: &BTreeMap<String, String>,
    broker: &BrokerConfig,
) -> Result<(), String> {
    if let Some(unknown) = configs.keys().find(|k| group_config_def(k).is_none()) {
        return Err(format!("Unknown group config name: {unknown}"));
    }
    let mut values: BTreeMap<&str, i64> = BTreeMap::new();
    for def in GROUP_CONFIGS {
        let value = configs.get(def.name).map_or(def.default, String::as_str);
        if def.name == "share.auto.offset.reset" {
            validate_auto_offset_reset(def.name, value)?;
            continue;
        }
        def.config_type.validate(def.name, value)?;
        if let Ok(v) = value.trim().parse::<i64>() {
            values.insert(def.name, v);
        }
    }
    let get = |name: &str| values.get(name).copied().unwrap_or(0);
    let bound = |key: &str, default: i32| i64::from(broker_int(broker, key, default));
    // (group config, broker bound, Kafka's default of the bound, whether it is a maximum)
    let bounds: &[(&str, &str, i32, bool)] = &[
        (
            "consumer.heartbeat.interval.ms",
            "group.consumer.min.heartbeat.interval.ms",
            5000,
            false,
        ),
        (
            "consumer.heartbeat.interval.ms",
            "group.consumer.max.heartbeat.interval.ms",
            15000,
            true,
        ),
        (
            "consumer.session.timeout.ms",
            "group.consumer.min.session.timeout.ms",
            45000,
            false,
        ),
        (
            "consumer.session.timeout.ms",
            "group.consumer.max.session.timeout.ms",
            60000,
            true,
        ),
        (
            "share.heartbeat.interval.ms",
            "group.share.min.heartbeat.interval.ms",
            5000,
            false,
        ),
        (
            "share.heartbeat.interval.ms",
            "group.share.max.heartbeat.interval.ms",
            15000,
            true,
        ),
        (
            "share.session.timeout.ms",
            "group.share.min.session.timeout.ms",
            45000,
            false,
        ),
        (
            "share.session.timeout.ms",
            "group.share.max.session.timeout.ms",
            60000,
            true,
        ),
        (
            "share.record.lock.duration.ms",
            "group.share.min.record.lock.duration.ms",
            15000,
            false,
        ),
        (
            "share.record.lock.duration.ms",
            "group.share.max.record.lock.duration.ms",
            60000,
            true,
        ),
        (
            "streams.heartbeat.interval.ms",
            "group.streams.min.heartbeat.interval.ms",
            5000,
            false,
        ),
        (
            "streams.heartbeat.interval.ms",
            "group.streams.max.heartbeat.interval.ms",
            15000,
            true,
        ),
        (
            "streams.session.timeout.ms",
            "group.streams.min.session.timeout.ms",
            45000,
            false,
        ),
        (
            "streams.session.timeout.ms",
            "group.streams.max.session.timeout.ms",
            60000,
            true,
        ),
        (
            "streams.num.standby.replicas",
            "group.streams.max.standby.replicas",
            2,
            true,
        ),
    ];
    for &(name, key, default, is_max) in bounds {
        let (value, limit) = (get(name), bound(key, default));
        if is_max && value > limit {
            return Err(format!("{name} must be less than or equal to {key}"));
        }
        if !is_max && value < limit {
            return Err(format!("{name} must be greater than or equal to {key}"));
        }
    }
    for kind in ["consumer", "share", "streams"] {
        let session = format!("{kind}.session.timeout.ms");
        let heartbeat = format!("{kind}.heartbeat.interval.ms");
        if get(&session) <= get(&heartbeat) {
            return Err(format!("{session} must be greater than {heartbeat}"));
        }
    }
    Ok(())
}

/// `ShareGroupAutoOffsetResetStrategy.Validator`: `earliest`, `latest` or
/// `by_duration:<ISO-8601 duration>` that is not negative, case-sensitive.
fn validate_auto_offset_reset(name: &str, value: &str) -> Result<(), String> {
    let value = value.trim();
    let valid = match value {
        "earliest" | "latest" => true,
        _ => value
            .strip_prefix("by_duration:")
            .and_then(java_duration_nanos)
            .is_some_and(|nanos| nanos >= 0),
    };
    if valid {
        return Ok(());
    }
    Err(format!(
        "Invalid value {value} for configuration {name}: Invalid value `{value}` for configuration {name}. The value must be either 'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS>'."
    ))
}

/// Java's `Duration.parse` (`[-+]PnDTnHnMn.nS`, case-insensitive, each number signed), as
/// nanoseconds; `None` where Java throws.
pub(crate) fn java_duration_nanos(text: &str) -> Option<i128> {
    let upper = text.to_ascii_uppercase();
    let (negate, rest) = match upper.as_bytes().first()? {
        b'-' => (true, &upper[1..]),
        b'+' => (false, &upper[1..]),
        _ => (false, upper.as_str()),
    };
    let rest = rest.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    // A signed number followed by its unit letter, each section at most once, in order.
    fn sections<'a>(mut text: &'a str, units: &[char]) -> Option<Vec<(char, &'a str)>> {
        let mut out = Vec::new();
        let mut next_unit = 0;
        while !text.is_empty() {
            let end = text.find(|c: char| c.is_ascii_alphabetic())?;
            let unit = text[end..].chars().next()?;
            let at = units[next_unit..].iter().position(|u| *u == unit)?;
            next_unit += at + 1;
            out.push((unit, &text[..end]));
            text = &text[end + 1..];
        }
        Some(out)
    }
    let number = |s: &str| -> Option<i128> {
        let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: i64 = s.parse().ok()?;
        Some(i128::from(v))
    };
    let mut seconds: i128 = 0;
    let mut nanos: i128 = 0;
    let mut any = false;
    for (_, n) in sections(date, &['D'])? {
        seconds += number(n)?.checked_mul(86_400)?;
        any = true;
    }
    if let Some(time) = time {
        let parts = sections(time, &['H', 'M', 'S'])?;
        if parts.is_empty() {
            return None;
        }
        for (unit, n) in parts {
            any = true;
            match unit {
                'H' => seconds += number(n)?.checked_mul(3_600)?,
                'M' => seconds += number(n)?.checked_mul(60)?,
                _ => {
                    let (whole, fraction) = match n.split_once(['.', ',']) {
                        Some((w, f)) => (w, f),
                        None => (n, ""),
                    };
                    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    let secs = number(whole)?;
                    let frac: i128 = format!("{fraction:0<9}").parse().ok()?;
                    seconds += secs;
                    nanos += if whole.starts_with('-') { -frac } else { frac };
                }
            }
        }
    }
    if !any || seconds.abs() > i128::from(i64::MAX) {
        return None;
    }
    let total = seconds * 1_000_000_000 + nanos;
    Some(if negate { -total } else { total })
}

/// A group's effective group configs: its overrides, else the broker's defaults. What the
/// group coordinator applies to the group's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveGroupConfig {
    pub consumer_session_timeout_ms: i32,
    pub consumer_heartbeat_interval_ms: i32,
    pub share_session_timeout_ms: i32,
    pub share_heartbeat_interval_ms: i32,
    pub share_record_lock_duration_ms: i32,
    pub share_auto_offset_reset: String,
    pub share_isolation_level: String,
    pub streams_session_timeout_ms: i32,
    pub streams_heartbeat_interval_ms: i32,
    pub streams_num_standby_replicas: i32,
}

impl EffectiveGroupConfig {
    pub fn resolve(config: &BrokerConfig, overrides: &BTreeMap<String, String>) -> Self {
        let value = |name: &str| -> String {
            let def = group_config_def(name).expect("a group config rafka defines");
            overrides.get(name).map_or_else(
                || group_config_default(config, def),
                |v| canonical_value(def, v),
            )
        };
        let int = |name: &str| -> i32 {
            let def = group_config_def(name).expect("a group config rafka defines");
            value(name)
                .parse()
                .unwrap_or_else(|_| def.default.parse().unwrap_or(0))
        };
        EffectiveGroupConfig {
            consumer_session_timeout_ms: int("consumer.session.timeout.ms"),
            consumer_heartbeat_interval_ms: int("consumer.heartbeat.interval.ms"),
            share_session_timeout_ms: int("share.session.timeout.ms"),
            share_heartbeat_interval_ms: int("share.heartbeat.interval.ms"),
            share_record_lock_duration_ms: int("share.record.lock.duration.ms"),
            share_auto_offset_reset: value("share.auto.offset.reset"),
            share_isolation_level: value("share.isolation.level"),
            streams_session_timeout_ms: int("streams.session.timeout.ms"),
            streams_heartbeat_interval_ms: int("streams.heartbeat.interval.ms"),
            streams_num_standby_replicas: int("streams.num.standby.replicas"),
        }
    }
}

impl Broker {
    /// The group's effective configs (its `GROUP` resource overrides over the broker's
    /// `group.*` defaults), read from the current metadata on every call, so a change
    /// made with IncrementalAlterConfigs applies from the next heartbeat on.
    pub fn group_config(&self, group_id: &str) -> EffectiveGroupConfig {
        EffectiveGroupConfig::resolve(&self.config, &self.group_configs(group_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn bounds_come_from_the_broker_with_kafka_wording() {
        let broker = BrokerConfig::embedded();
        let check = |pairs: &[(&str, &str)]| validate_group_configs(&configs(pairs), &broker);
        assert_eq!(check(&[("consumer.session.timeout.ms", "50000")]), Ok(()));
        assert_eq!(
            check(&[("consumer.session.timeout.ms", "70000")]).unwrap_err(),
            "consumer.session.timeout.ms must be less than or equal to group.consumer.max.session.timeout.ms"
        );
        assert_eq!(
            check(&[("consumer.heartbeat.interval.ms", "4000")]).unwrap_err(),
            "consumer.heartbeat.interval.ms must be greater than or equal to group.consumer.min.heartbeat.interval.ms"
        );
        assert_eq!(
            check(&[("consumer.session.timeout.ms", "abc")]).unwrap_err(),
            "Invalid value abc for configuration consumer.session.timeout.ms: Not a number of type INT"
        );
        assert_eq!(
            check(&[("bogus", "1")]).unwrap_err(),
            "Unknown group config name: bogus"
        );
        assert_eq!(
            check(&[("streams.num.standby.replicas", "3")]).unwrap_err(),
            "streams.num.standby.replicas must be less than or equal to group.streams.max.standby.replicas"
        );
    }

    #[test]
    fn share_auto_offset_reset_takes_earliest_latest_or_a_positive_duration() {
        for ok in [
            "earliest",
            "latest",
            "by_duration:PT1H",
            "by_duration:P1DT2.5S",
            " latest ",
        ] {
            assert_eq!(validate_auto_offset_reset("x", ok), Ok(()), "{ok}");
        }
        for bad in [
            "none",
            "LATEST",
            "by_duration",
            "by_duration:",
            "by_duration:PT",
            "by_duration:P",
            "by_duration:-PT1H",
            "by_duration:PT-1S",
            "by_duration:xx",
        ] {
            assert!(validate_auto_offset_reset("x", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_follow_the_broker_group_configs() {
        let mut props = BTreeMap::from([
            ("node.id".to_string(), "1".to_string()),
            (
                "listeners".to_string(),
                "PLAINTEXT://localhost:9092".to_string(),
            ),
            ("log.dirs".to_string(), "./data".to_string()),
        ]);
        let broker = BrokerConfig::from_properties(props.clone(), "test").unwrap();
        let effective = EffectiveGroupConfig::resolve(&broker, &BTreeMap::new());
        assert_eq!(effective.consumer_session_timeout_ms, 45000);
        assert_eq!(effective.share_record_lock_duration_ms, 30000);
        assert_eq!(effective.share_auto_offset_reset, "latest");
        props.insert("group.consumer.session.timeout.ms".into(), "50000".into());
        props.insert("group.share.record.lock.duration.ms".into(), "20000".into());
        let broker = BrokerConfig::from_properties(props, "test").unwrap();
        let effective = EffectiveGroupConfig::resolve(&broker, &BTreeMap::new());
        assert_eq!(effective.consumer_session_timeout_ms, 50000);
        assert_eq!(effective.share_record_lock_duration_ms, 20000);
        let overridden = EffectiveGroupConfig::resolve(
            &broker,
            &configs(&[("consumer.heartbeat.interval.ms", " 06000")]),
        );
        assert_eq!(overridden.consumer_heartbeat_interval_ms, 6000);
        assert_eq!(overridden.consumer_session_timeout_ms, 50000);
    }
}
