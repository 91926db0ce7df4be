//! DescribeConfigs for topics, brokers and groups: every config with its effective value,
//! where it came from, and (when asked) its synonyms in Kafka's precedence order.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use rafka_protocol::ErrorCode;

use super::{message, str_bytes};
use crate::broker::{Broker, DynamicBrokerConfigs};
use crate::config::BrokerConfig;
use crate::error::ApiError;
use crate::group_config::{canonical_value, group_config_default, GROUP_CONFIGS};
use crate::topic::validate_topic_name;
use crate::topic_config::{
    effective_topic_configs, topic_config_of_broker_key, ConfigType, INTERNAL_SEGMENT_BYTES,
    TOPIC_CONFIGS,
};

pub(super) const RESOURCE_TOPIC: i8 = 2;
pub(super) const RESOURCE_BROKER: i8 = 4;
pub(super) const RESOURCE_BROKER_LOGGER: i8 = 8;
pub(super) const RESOURCE_CLIENT_METRICS: i8 = 16;
pub(super) const RESOURCE_GROUP: i8 = 32;

/// Kafka's ConfigSource codes.
pub(super) const SOURCE_DYNAMIC_TOPIC: i8 = 1;
pub(super) const SOURCE_DYNAMIC_BROKER: i8 = 2;
pub(super) const SOURCE_DYNAMIC_DEFAULT_BROKER: i8 = 3;
pub(super) const SOURCE_STATIC_BROKER: i8 = 4;
pub(super) const SOURCE_DEFAULT: i8 = 5;
pub(super) const SOURCE_GROUP: i8 = 8;

/// One described config.
#[derive(Debug, Clone)]
pub(super) struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub source: i8,
    pub config_type: ConfigType,
    pub sensitive: bool,
    pub read_only: bool,
    /// (name, value, source), most specific first, the entry's own source included.
    pub synonyms: Vec<(String, String, i8)>,
    /// Kafka's documentation text, where rafka carries it.
    pub documentation: Option<&'static str>,
}

/// Every topic config of a topic with these overrides. Synonyms are listed as Kafka
/// lists them: the override, then the broker key's dynamic, static and default values,
/// each only where it is set (Kafka defines some broker keys, e.g. `log.retention.ms`,
/// with no default, and some topic configs have no broker key at all).
pub(super) fn topic_entries(
    broker: &Broker,
    overrides: &BTreeMap<String, String>,
) -> Vec<ConfigEntry> {
    let dynamic_broker = broker.dynamic_broker_configs();
    let static_broker = |name: &str| static_broker_value(&broker.config, name);
    // The value is the topic's effective one (Kafka's LogConfig), whichever synonym gave it.
    let effective = effective_topic_configs(overrides, &broker.broker_log_defaults());
    // Kafka lists its internal segment size only where a topic sets it.
    let internal = overrides
        .contains_key(INTERNAL_SEGMENT_BYTES.name)
        .then_some(&INTERNAL_SEGMENT_BYTES);
    TOPIC_CONFIGS
        .iter()
        .chain(internal)
        .map(|def| {
            let mut synonyms = Vec::new();
            if let Some(v) = overrides.get(def.name) {
                synonyms.push((def.name.to_string(), v.clone(), SOURCE_DYNAMIC_TOPIC));
            }
            if let Some(key) = def.broker_key {
                synonyms.extend(broker_key_synonyms(key, &dynamic_broker, &static_broker));
            }
            let source = synonyms.first().map_or(SOURCE_DEFAULT, |(_, _, s)| *s);
            let value = effective
                .get(def.name)
                .cloned()
                .unwrap_or_else(|| def.default.to_string());
            ConfigEntry {
                name: def.name.to_string(),
                value: Some(value),
                source,
                config_type: def.config_type,
                sensitive: def.sensitive,
                read_only: false,
                synonyms,
                documentation: None,
            }
        })
        .collect()
}

/// Kafka's `DynamicBrokerConfig.brokerConfigSynonyms`: the broker keys that set one value
/// (a time in ms, minutes or hours).
fn broker_config_synonyms(key: &str) -> Vec<&str> {
    match key {
        "log.roll.ms" | "log.roll.hours" => vec!["log.roll.ms", "log.roll.hours"],
        "log.roll.jitter.ms" | "log.roll.jitter.hours" => {
            vec!["log.roll.jitter.ms", "log.roll.jitter.hours"]
        }
        "log.flush.interval.ms" => vec!["log.flush.interval.ms", "log.flush.scheduler.interval.ms"],
        "log.retention.ms" | "log.retention.minutes" | "log.retention.hours" => vec![
            "log.retention.ms",
            "log.retention.minutes",
            "log.retention.hours",
        ],
        _ => vec![key],
    }
}

/// A broker key as server.properties sets it (an empty value is not set).
fn static_broker_value(config: &BrokerConfig, name: &str) -> Option<String> {
    config.explicit.get(name).filter(|v| !v.is_empty()).cloned()
}

/// Kafka's default of a broker key, where it has one.
fn broker_key_default(key: &str) -> Option<&'static str> {
    match broker_config_def(key) {
        Some(def) => def.default,
        None => topic_config_of_broker_key(key).and_then(|def| def.broker_default),
    }
}

/// One level's value of a broker key.
type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Kafka's `ConfigHelper.configSynonyms`: the values of a broker key's synonyms, level by
/// level (this broker's dynamic configs, the cluster-wide ones, server.properties, the
/// defaults), from the first that is the key itself on. So `log.retention.ms` set nowhere
/// has no synonym even though `log.retention.hours` has a default, and once it is set the
/// hours' default follows it.
fn broker_key_synonyms(
    key: &str,
    dynamic: &DynamicBrokerConfigs,
    static_value: Lookup,
) -> Vec<(String, String, i8)> {
    let family = broker_config_synonyms(key);
    let levels: [(Lookup, i8); 4] = [
        (&|n| dynamic.node.get(n).cloned(), SOURCE_DYNAMIC_BROKER),
        (
            &|n| dynamic.defaults.get(n).cloned(),
            SOURCE_DYNAMIC_DEFAULT_BROKER,
        ),
        (static_value, SOURCE_STATIC_BROKER),
        (
            &|n| broker_key_default(n).map(str::to_string),
            SOURCE_DEFAULT,
        ),
    ];
    let mut synonyms: Vec<(String, String, i8)> = levels
        .iter()
        .flat_map(|(lookup, source)| {
            family
                .iter()
                .filter_map(move |name| Some((name.to_string(), lookup(name)?, *source)))
        })
        .collect();
    let own = synonyms
        .iter()
        .position(|(name, _, _)| name == key)
        .unwrap_or(synonyms.len());
    synonyms.split_off(own)
}

/// A broker config rafka knows besides the topic configs' synonyms: Kafka's type and
/// default, and whether Kafka lets AlterConfigs change it at the cluster level.
#[derive(Debug, Clone, Copy)]
pub(super) struct BrokerConfigDef {
    pub name: &'static str,
    pub config_type: ConfigType,
    pub default: Option<&'static str>,
    pub dynamic: bool,
}

const fn broker_def(
    name: &'static str,
    config_type: ConfigType,
    default: Option<&'static str>,
    dynamic: bool,
) -> BrokerConfigDef {
    BrokerConfigDef {
        name,
        config_type,
        default,
        dynamic,
    }
}

/// Kafka's dynamic thread pools: a change may at most double or halve the count.
pub(super) const THREAD_POOL_CONFIGS: &[&str] = &[
    "num.io.threads",
    "num.replica.fetchers",
    "num.recovery.threads.per.data.dir",
    "background.threads",
];

/// Broker configs with Kafka 4.1's types and defaults. The dynamic ones are accepted,
/// stored and described like Kafka's; rafka's runtime sizes its own thread pools, so the
/// thread counts and `max.connections` are kept for clients and tools, not applied.
pub(super) const BROKER_CONFIGS: &[BrokerConfigDef] = &[
    broker_def("advertised.listeners", ConfigType::String, None, false),
    broker_def(
        "auto.create.topics.enable",
        ConfigType::Boolean,
        Some("true"),
        false,
    ),
    broker_def(
        "background.threads",
        ConfigType::Int { min: 1 },
        Some("10"),
        true,
    ),
    broker_def(
        "broker.id",
        ConfigType::Int { min: i64::MIN },
        Some("-1"),
        false,
    ),
    broker_def("broker.rack", ConfigType::String, None, false),
    broker_def(
        "default.replication.factor",
        ConfigType::Int { min: i64::MIN },
        Some("1"),
        false,
    ),
    broker_def(
        "delete.topic.enable",
        ConfigType::Boolean,
        Some("true"),
        false,
    ),
    broker_def(
        "listeners",
        ConfigType::String,
        Some("PLAINTEXT://:9092"),
        false,
    ),
    broker_def(
        "log.cleaner.backoff.ms",
        ConfigType::Long { min: 0 },
        Some("15000"),
        true,
    ),
    broker_def(
        "log.cleaner.enable",
        ConfigType::Boolean,
        Some("true"),
        false,
    ),
    broker_def(
        "log.cleaner.threads",
        ConfigType::Int { min: 0 },
        Some("1"),
        true,
    ),
    broker_def("log.dirs", ConfigType::String, None, false),
    broker_def(
        "log.retention.check.interval.ms",
        ConfigType::Long { min: 1 },
        Some("300000"),
        false,
    ),
    broker_def(
        "log.retention.hours",
        ConfigType::Int { min: i64::MIN },
        Some("168"),
        false,
    ),
    broker_def(
        "log.retention.minutes",
        ConfigType::Int { min: i64::MIN },
        None,
        false,
    ),
    broker_def(
        "log.roll.hours",
        ConfigType::Int { min: 1 },
        Some("168"),
        false,
    ),
    broker_def(
        "log.roll.jitter.hours",
        ConfigType::Int { min: 0 },
        Some("0"),
        false,
    ),
    broker_def(
        "max.connections",
        ConfigType::Int { min: 0 },
        Some("2147483647"),
        true,
    ),
    broker_def("node.id", ConfigType::Int { min: i64::MIN }, None, false),
    broker_def(
        "num.io.threads",
        ConfigType::Int { min: 1 },
        Some("8"),
        true,
    ),
    broker_def(
        "num.network.threads",
        ConfigType::Int { min: 1 },
        Some("3"),
        true,
    ),
    broker_def(
        "num.partitions",
        ConfigType::Int { min: 1 },
        Some("1"),
        false,
    ),
    broker_def(
        "num.recovery.threads.per.data.dir",
        ConfigType::Int { min: 1 },
        Some("2"),
        true,
    ),
    broker_def(
        "num.replica.fetchers",
        ConfigType::Int { min: 1 },
        Some("1"),
        true,
    ),
    broker_def("process.roles", ConfigType::List(&[]), None, false),
    broker_def(
        "socket.request.max.bytes",
        ConfigType::Int { min: 1 },
        Some("104857600"),
        false,
    ),
];

pub(super) fn broker_config_def(name: &str) -> Option<&'static BrokerConfigDef> {
    BROKER_CONFIGS.iter().find(|d| d.name == name)
}

/// The broker's configs: what rafka reads, with their effective values.
pub(super) fn broker_entries(broker: &Broker) -> Vec<ConfigEntry> {
    let config = &broker.config;
    let dynamic = broker.dynamic_broker_configs();
    let list = |items: Vec<String>| items.join(",");
    // Values rafka derives rather than reads verbatim (node.id from broker.id, a listener
    // list normalised, the embedded defaults).
    let derived = |name: &str| -> Option<String> {
        Some(match name {
            "node.id" | "broker.id" => config.node_id.to_string(),
            "process.roles" => list(config.process_roles.clone()),
            "listeners" => list(config.listeners.iter().map(|l| l.to_string()).collect()),
            "advertised.listeners" => list(
                config
                    .advertised_listeners
                    .iter()
                    .map(|l| l.to_string())
                    .collect(),
            ),
            "log.dirs" => list(
                config
                    .log_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect(),
            ),
            _ => return None,
        })
    };
    let explicit = |name: &str| -> Option<String> {
        let set = match name {
            "node.id" | "broker.id" => {
                config.explicit.contains_key("node.id") || config.explicit.contains_key("broker.id")
            }
            "log.dirs" => {
                config.explicit.contains_key("log.dirs") || config.explicit.contains_key("log.dir")
            }
            _ => static_broker_value(config, name).is_some(),
        };
        if !set {
            return None;
        }
        derived(name).or_else(|| config.explicit.get(name).cloned())
    };
    let fixed = DynamicBrokerConfigs::default();
    let mut entries: Vec<ConfigEntry> = BROKER_CONFIGS
        .iter()
        .map(|def| {
            let levels = if def.dynamic { &dynamic } else { &fixed };
            let synonyms = broker_key_synonyms(def.name, levels, &explicit);
            let (value, source) = match synonyms.first() {
                Some((_, v, s)) if *s != SOURCE_DEFAULT => (Some(v.clone()), *s),
                _ => (
                    derived(def.name).or_else(|| def.default.map(str::to_string)),
                    SOURCE_DEFAULT,
                ),
            };
            ConfigEntry {
                name: def.name.to_string(),
                value,
                source,
                config_type: def.config_type,
                sensitive: false,
                read_only: !def.dynamic,
                synonyms,
                documentation: None,
            }
        })
        .collect();
    for def in TOPIC_CONFIGS {
        let Some(key) = def.broker_key else { continue };
        let synonyms = broker_key_synonyms(key, &dynamic, &explicit);
        let (value, source) = synonyms
            .first()
            .map_or((None, SOURCE_DEFAULT), |(_, v, s)| (Some(v.clone()), *s));
        entries.push(ConfigEntry {
            name: key.to_string(),
            value,
            source,
            config_type: def.config_type,
            sensitive: false,
            read_only: false,
            synonyms,
            documentation: None,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries.dedup_by(|a, b| a.name == b.name);
    entries
}

/// The cluster-wide dynamic broker configs (the BROKER resource ""), as Kafka describes
/// them: only the configs set at that level, each with that level's value and synonym.
pub(super) fn default_broker_entries(broker: &Broker) -> Vec<ConfigEntry> {
    let defaults = broker.dynamic_broker_configs().defaults;
    broker_entries(broker)
        .into_iter()
        .filter_map(|mut entry| {
            let value = defaults.get(&entry.name)?;
            entry.value = Some(value.clone());
            entry.source = SOURCE_DYNAMIC_DEFAULT_BROKER;
            entry
                .synonyms
                .retain(|(_, _, source)| *source == SOURCE_DYNAMIC_DEFAULT_BROKER);
            Some(entry)
        })
        .collect()
}

/// Every group config of a group with these overrides. Kafka lists one synonym, the
/// entry itself: GROUP_CONFIG for an override, else DEFAULT_CONFIG with the value the
/// broker's `group.*` config gives (the broker key is not named).
pub(super) fn group_entries(
    broker: &Broker,
    overrides: &BTreeMap<String, String>,
) -> Vec<ConfigEntry> {
    GROUP_CONFIGS
        .iter()
        .map(|def| {
            let (value, source) = match overrides.get(def.name) {
                Some(v) => (canonical_value(def, v), SOURCE_GROUP),
                None => (group_config_default(&broker.config, def), SOURCE_DEFAULT),
            };
            ConfigEntry {
                name: def.name.to_string(),
                value: Some(value.clone()),
                source,
                config_type: def.config_type,
                sensitive: false,
                read_only: false,
                synonyms: vec![(def.name.to_string(), value, source)],
                documentation: Some(def.documentation),
            }
        })
        .collect()
}

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DescribeConfigsRequest,
    version: i16,
    session: &crate::session::Session,
) -> DescribeConfigsResponse {
    let mut results: Vec<(bool, DescribeConfigsResult)> = request
        .resources
        .into_iter()
        .map(|resource| {
            let name = resource.resource_name.to_string();
            let authorized =
                broker.authorize_config_resource(session, resource.resource_type, &name, true);
            let unauthorized = authorized.is_err();
            let entries: Result<Vec<ConfigEntry>, ApiError> = match resource.resource_type {
                _ if unauthorized => Err(authorized.unwrap_err()),
                RESOURCE_TOPIC => match broker.topic(&name) {
                    Some(topic) => Ok(topic_entries(broker, &topic.configs)),
                    None => match validate_topic_name(&name) {
                        Err(m) => Err(ApiError::new(ErrorCode::InvalidTopicException, m)),
                        // Kafka's answer for an unknown topic carries an empty message.
                        Ok(()) => Err(ApiError::new(ErrorCode::UnknownTopicOrPartition, "")),
                    },
                },
                RESOURCE_BROKER if name.is_empty() => Ok(default_broker_entries(broker)),
                RESOURCE_BROKER => match name.parse::<i32>() {
                    Ok(id) if id == broker.config.node_id => Ok(broker_entries(broker)),
                    Ok(_) => Err(ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!("Unexpected broker id, expected {} or empty string, but received {name}", broker.config.node_id),
                    )),
                    Err(_) => Err(ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!("Broker id must be an integer, but it is: {name}"),
                    )),
                },
                RESOURCE_BROKER_LOGGER => Ok(Vec::new()),
                // Whether or not the group exists, as in Kafka.
                RESOURCE_GROUP if name.is_empty() => Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "Group name must not be empty",
                )),
                RESOURCE_GROUP => Ok(group_entries(broker, &broker.group_configs(&name))),
                other => Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("Unsupported resource type {other}"),
                )),
            };
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            let result = match entries {
                Ok(entries) => {
                    // Null or empty: every config (Kafka's ConfigHelper).
                    let keys = resource
                        .configuration_keys
                        .filter(|keys| !keys.is_empty())
                        .map(|keys| keys.iter().map(|k| k.to_string()).collect::<Vec<_>>());
                    result.with_configs(
                        entries
                            .into_iter()
                            .filter(|e| keys.as_ref().is_none_or(|k| k.contains(&e.name)))
                            .map(|e| {
                                encode_entry(
                                    e,
                                    request.include_synonyms,
                                    request.include_documentation,
                                    version,
                                )
                            })
                            .collect(),
                    )
                }
                Err(e) => result
                    .with_error_code(e.code.code())
                    .with_error_message(message(e.message)),
            };
            (unauthorized, result)
        })
        .collect();
    // Kafka answers the resources the principal may not describe after the others.
    results.sort_by_key(|(unauthorized, _)| *unauthorized);
    DescribeConfigsResponse::default().with_results(results.into_iter().map(|(_, r)| r).collect())
}

fn encode_entry(
    entry: ConfigEntry,
    include_synonyms: bool,
    include_documentation: bool,
    version: i16,
) -> DescribeConfigsResourceResult {
    let synonyms = if include_synonyms {
        entry
            .synonyms
            .iter()
            .map(|(name, value, source)| {
                DescribeConfigsSynonym::default()
                    .with_name(str_bytes(name.clone()))
                    .with_value(Some(str_bytes(value.clone())))
                    .with_source(*source)
            })
            .collect()
    } else {
        Vec::new()
    };
    let value = if entry.sensitive { None } else { entry.value };
    DescribeConfigsResourceResult::default()
        .with_name(str_bytes(entry.name))
        .with_value(value.map(str_bytes))
        .with_read_only(entry.read_only)
        .with_config_source(entry.source)
        .with_is_sensitive(entry.sensitive)
        .with_synonyms(synonyms)
        .with_config_type(if version >= 3 {
            entry.config_type.wire_type()
        } else {
            0
        })
        // rafka carries the documentation of group configs only; Kafka's null when none
        // was asked for.
        .with_documentation(
            entry
                .documentation
                .filter(|_| include_documentation && version >= 3)
                .map(str_bytes),
        )
}
