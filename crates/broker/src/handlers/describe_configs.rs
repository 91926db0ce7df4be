//! DescribeConfigs for topics and brokers: every config with its effective value, where it
//! came from, and (when asked) its synonyms in Kafka's precedence order.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use rafka_protocol::ErrorCode;

use super::{message, str_bytes};
use crate::broker::{ApiError, Broker};
use crate::topic_config::{ConfigType, TOPIC_CONFIGS};

pub(super) const RESOURCE_TOPIC: i8 = 2;
pub(super) const RESOURCE_BROKER: i8 = 4;
pub(super) const RESOURCE_BROKER_LOGGER: i8 = 8;

/// Kafka's ConfigSource codes.
pub(super) const SOURCE_DYNAMIC_TOPIC: i8 = 1;
pub(super) const SOURCE_DYNAMIC_DEFAULT_BROKER: i8 = 3;
pub(super) const SOURCE_STATIC_BROKER: i8 = 4;
pub(super) const SOURCE_DEFAULT: i8 = 5;

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
}

/// Every topic config of a topic with these overrides.
pub(super) fn topic_entries(
    broker: &Broker,
    overrides: &BTreeMap<String, String>,
) -> Vec<ConfigEntry> {
    let dynamic_broker = broker.dynamic_broker_configs();
    let static_broker = &broker.config.log_defaults;
    TOPIC_CONFIGS
        .iter()
        .map(|def| {
            let mut synonyms = Vec::new();
            if let Some(v) = overrides.get(def.name) {
                synonyms.push((def.name.to_string(), v.clone(), SOURCE_DYNAMIC_TOPIC));
            }
            if let Some(v) = dynamic_broker.get(def.broker_key) {
                synonyms.push((
                    def.broker_key.to_string(),
                    v.clone(),
                    SOURCE_DYNAMIC_DEFAULT_BROKER,
                ));
            }
            if let Some(v) = static_broker.get(def.broker_key) {
                synonyms.push((def.broker_key.to_string(), v.clone(), SOURCE_STATIC_BROKER));
            }
            synonyms.push((
                def.broker_key.to_string(),
                def.default.to_string(),
                SOURCE_DEFAULT,
            ));
            let (_, value, source) = synonyms[0].clone();
            ConfigEntry {
                name: def.name.to_string(),
                value: Some(value),
                source,
                config_type: def.config_type,
                sensitive: def.sensitive,
                read_only: false,
                synonyms,
            }
        })
        .collect()
}

/// The broker's configs: what rafka reads, with their effective values.
pub(super) fn broker_entries(broker: &Broker) -> Vec<ConfigEntry> {
    let config = &broker.config;
    let dynamic = broker.dynamic_broker_configs();
    let fixed = |name: &str, value: String, config_type: ConfigType| {
        let source = if config.explicit.contains_key(name) {
            SOURCE_STATIC_BROKER
        } else {
            SOURCE_DEFAULT
        };
        ConfigEntry {
            name: name.to_string(),
            value: Some(value.clone()),
            source,
            config_type,
            sensitive: false,
            read_only: true,
            synonyms: vec![(name.to_string(), value, source)],
        }
    };
    let list = |items: Vec<String>| items.join(",");
    let long = ConfigType::Long { min: i64::MIN };
    let int = ConfigType::Int { min: i64::MIN };
    let string = ConfigType::List(&[]);
    let mut entries = vec![
        fixed("node.id", config.node_id.to_string(), int),
        fixed("broker.id", config.node_id.to_string(), int),
        fixed("process.roles", list(config.process_roles.clone()), string),
        fixed(
            "listeners",
            list(config.listeners.iter().map(|l| l.to_string()).collect()),
            string,
        ),
        fixed(
            "advertised.listeners",
            list(
                config
                    .advertised_listeners
                    .iter()
                    .map(|l| l.to_string())
                    .collect(),
            ),
            string,
        ),
        fixed(
            "log.dirs",
            list(
                config
                    .log_dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect(),
            ),
            string,
        ),
        fixed("num.partitions", config.num_partitions.to_string(), int),
        fixed(
            "default.replication.factor",
            config.default_replication_factor.to_string(),
            int,
        ),
        fixed(
            "auto.create.topics.enable",
            config.auto_create_topics_enable.to_string(),
            ConfigType::Boolean,
        ),
        fixed(
            "delete.topic.enable",
            config.delete_topic_enable.to_string(),
            ConfigType::Boolean,
        ),
        fixed(
            "log.retention.check.interval.ms",
            config.log_retention_check_interval_ms.to_string(),
            long,
        ),
        fixed(
            "socket.request.max.bytes",
            config.socket_request_max_bytes.to_string(),
            int,
        ),
    ];
    for def in TOPIC_CONFIGS {
        let mut synonyms = Vec::new();
        if let Some(v) = dynamic.get(def.broker_key) {
            synonyms.push((
                def.broker_key.to_string(),
                v.clone(),
                SOURCE_DYNAMIC_DEFAULT_BROKER,
            ));
        }
        if let Some(v) = config.log_defaults.get(def.broker_key) {
            synonyms.push((def.broker_key.to_string(), v.clone(), SOURCE_STATIC_BROKER));
        }
        synonyms.push((
            def.broker_key.to_string(),
            def.default.to_string(),
            SOURCE_DEFAULT,
        ));
        let (_, value, source) = synonyms[0].clone();
        entries.push(ConfigEntry {
            name: def.broker_key.to_string(),
            value: Some(value),
            source,
            config_type: def.config_type,
            sensitive: false,
            read_only: false,
            synonyms,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries.dedup_by(|a, b| a.name == b.name);
    entries
}

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResponse {
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            let name = resource.resource_name.to_string();
            let entries: Result<Vec<ConfigEntry>, ApiError> = match resource.resource_type {
                RESOURCE_TOPIC => match broker.topic(&name) {
                    Some(topic) => Ok(topic_entries(broker, &topic.configs)),
                    None => Err(ApiError::new(
                        ErrorCode::UnknownTopicOrPartition,
                        format!("Topic {name} does not exist."),
                    )),
                },
                RESOURCE_BROKER => {
                    if name.is_empty() || name == broker.config.node_id.to_string() {
                        Ok(broker_entries(broker))
                    } else {
                        Err(ApiError::new(
                            ErrorCode::InvalidRequest,
                            format!("Unexpected broker id, expected {} or empty string, but received {name}", broker.config.node_id),
                        ))
                    }
                }
                RESOURCE_BROKER_LOGGER => Ok(Vec::new()),
                other => Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("Unsupported resource type {other}"),
                )),
            };
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            match entries {
                Ok(entries) => {
                    let keys = resource.configuration_keys.map(|keys| {
                        keys.iter().map(|k| k.to_string()).collect::<Vec<_>>()
                    });
                    result.with_configs(
                        entries
                            .into_iter()
                            .filter(|e| keys.as_ref().is_none_or(|k| k.contains(&e.name)))
                            .map(|e| encode_entry(e, request.include_synonyms, version))
                            .collect(),
                    )
                }
                Err(e) => result
                    .with_error_code(e.code.code())
                    .with_error_message(message(e.message)),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn encode_entry(
    entry: ConfigEntry,
    include_synonyms: bool,
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
}
