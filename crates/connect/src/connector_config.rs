//! The framework's connector keys (Kafka's `ConnectorConfig`, `SinkConnectorConfig`,
//! `SourceConnectorConfig`) and the validation `config/validate` and `POST /connectors`
//! run (Kafka's `AbstractHerder.validateConnectorConfig`), answering in Kafka's
//! `ConfigInfos` JSON.

use std::collections::HashMap;

use rafka_connect_data::config::{
    parse_list, ConfigDef, ConfigKey, ConfigType, DefaultValue, Importance, Validator,
};
use rafka_connect_data::connector::{validate_with, ConfigValueReport, Props};
use rafka_connect_data::converters::{
    converter_for, AnyConverter, ConverterType, CONVERTER_CLASSES, CONVERTER_TYPE_CONFIG,
    HEADER_CONVERTER_CLASSES,
};
use rafka_connect_data::transforms::chain::{
    predicate_config_def, transformation_config_def, PREDICATE_CLASSES, TRANSFORMATION_CLASSES,
};
use rafka_connect_data::transforms::TransformationChain;
use serde_json::{json, Value as Json};

use crate::error::RuntimeError;
use crate::plugins::{self, PluginType};

pub const NAME: &str = "name";
pub const CONNECTOR_CLASS: &str = "connector.class";
pub const TASKS_MAX: &str = "tasks.max";
/// Kafka's key really has no `.ms` suffix (`ConnectorConfig.ERRORS_RETRY_TIMEOUT_CONFIG`).
pub const ERRORS_RETRY_TIMEOUT: &str = "errors.retry.timeout";
/// `SourceConnectorConfig.EXACTLY_ONCE_SUPPORT_CONFIG`: `requested` or `required`.
pub const EXACTLY_ONCE_SUPPORT: &str = "exactly.once.support";

const COMMON: &str = "Common";
const TRANSFORMS: &str = "Transforms";
const PREDICATES: &str = "Predicates";
const ERROR_HANDLING: &str = "Error Handling";

fn common_def() -> ConfigDef {
    let s = ConfigType::String;
    let class = ConfigType::Class;
    let null = || DefaultValue::Null;
    let text = |t: &str| DefaultValue::Text(t.to_string());
    let converter_doc = |what: &str| {
        format!("Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the {what} in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro.")
    };
    ConfigDef::new()
        .define(NAME, s, DefaultValue::Required, Some(Validator::Described("non-empty string without ISO control characters".into())), Importance::High, "Globally unique name to use for this connector.")
        .in_group(COMMON, 1, "Connector name").with_width("MEDIUM")
        .define(CONNECTOR_CLASS, s, DefaultValue::Required, None, Importance::High, "Name or alias of the class for this connector. Must be a subclass of org.apache.kafka.connect.connector.Connector. If the connector is org.apache.kafka.connect.file.FileStreamSinkConnector, you can either specify this full name,  or use \"FileStreamSink\" or \"FileStreamSinkConnector\" to make the configuration a bit shorter")
        .in_group(COMMON, 2, "Connector class").with_width("LONG")
        .define("connector.plugin.version", s, text(crate::KAFKA_VERSION), None, Importance::Medium, "Version of the connector.")
        .in_group(COMMON, 3, "Connector version").with_width("MEDIUM")
        .define(TASKS_MAX, ConfigType::Int, text("1"), Some(Validator::Described("[1,...]".into())), Importance::High, "Maximum number of tasks to use for this connector.")
        .in_group(COMMON, 4, "Tasks max").with_width("SHORT")
        .define("tasks.max.enforce", ConfigType::Boolean, text("true"), None, Importance::Low, "(Deprecated) Whether to enforce that the tasks.max property is respected by the connector. By default, connectors that generate too many tasks will fail, and existing sets of tasks that exceed the tasks.max property will also be failed. If this property is set to false, then connectors will be allowed to generate more than the maximum number of tasks, and existing sets of tasks that exceed the tasks.max property will be allowed to run. This property is deprecated and will be removed in an upcoming major release.")
        .in_group(COMMON, 5, "Enforce tasks max").with_width("SHORT")
        .define("key.converter", class, null(), None, Importance::Low, &converter_doc("keys"))
        .in_group(COMMON, 6, "Key converter class").with_width("SHORT")
        .define("key.converter.plugin.version", s, null(), None, Importance::Low, "Version of the key converter.")
        .in_group(COMMON, 7, "Key converter version").with_width("SHORT")
        .define("value.converter", class, null(), None, Importance::Low, &converter_doc("values"))
        .in_group(COMMON, 8, "Value converter class").with_width("SHORT")
        .define("value.converter.plugin.version", s, null(), None, Importance::Low, "Version of the value converter.")
        .in_group(COMMON, 9, "Value converter version").with_width("SHORT")
        .define("header.converter", class, null(), None, Importance::Low, "HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the header values in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro. By default, the SimpleHeaderConverter is used to serialize header values to strings and deserialize them by inferring the schemas.")
        .in_group(COMMON, 10, "Header converter class").with_width("SHORT")
        .define("header.converter.plugin.version", s, null(), None, Importance::Low, "Version of the header converter.")
        .in_group(COMMON, 11, "Header converter version").with_width("SHORT")
        .define("transforms", ConfigType::List, text(""), None, Importance::Low, "Aliases for the transformations to be applied to records.")
        .in_group(TRANSFORMS, 12, "Transforms").with_width("LONG")
        .define("predicates", ConfigType::List, text(""), None, Importance::Low, "Aliases for the predicates used by transformations.")
        .in_group(PREDICATES, 13, "Predicates").with_width("LONG")
        .define("config.action.reload", s, text("restart"), Some(Validator::CaseInsensitiveValidString(vec!["none".into(), "restart".into()])), Importance::Low, "The action that Connect should take on the connector when changes in external configuration providers result in a change in the connector's configuration properties. A value of 'none' indicates that Connect will do nothing. A value of 'restart' indicates that Connect should restart/reload the connector with the updated configuration properties.The restart may actually be scheduled in the future if the external configuration provider indicates that a configuration value will expire in the future.")
        .in_group(COMMON, 14, "Reload Action").with_width("MEDIUM")
        .define(ERRORS_RETRY_TIMEOUT, ConfigType::Long, text("0"), None, Importance::Medium, "The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries.")
        .in_group(ERROR_HANDLING, 1, "Retry Timeout for Errors").with_width("MEDIUM")
        .define("errors.retry.delay.max.ms", ConfigType::Long, text("60000"), None, Importance::Medium, "The maximum duration in milliseconds between consecutive retry attempts. Jitter will be added to the delay once this limit is reached to prevent thundering herd issues.")
        .in_group(ERROR_HANDLING, 2, "Maximum Delay Between Retries for Errors").with_width("MEDIUM")
        .define("errors.tolerance", s, text("none"), Some(Validator::ValidString(vec!["none".into(), "all".into()])), Importance::Medium, "Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records.")
        .in_group(ERROR_HANDLING, 3, "Error Tolerance").with_width("SHORT")
        .define("errors.log.enable", ConfigType::Boolean, text("false"), None, Importance::Medium, "If true, write each error and the details of the failed operation and problematic record to the Connect application log. This is 'false' by default, so that only errors that are not tolerated are reported.")
        .in_group(ERROR_HANDLING, 4, "Log Errors").with_width("SHORT")
        .define("errors.log.include.messages", ConfigType::Boolean, text("false"), None, Importance::Medium, "Whether to include in the log the Connect record that resulted in a failure. For sink records, the topic, partition, offset, and timestamp will be logged. For source records, the key and value (and their schemas), all headers, and the timestamp, Kafka topic, Kafka partition, source partition, and source offset will be logged. This is 'false' by default, which will prevent record keys, values, and headers from being written to log files.")
        .in_group(ERROR_HANDLING, 5, "Log Error Details").with_width("SHORT")
}

fn source_def() -> ConfigDef {
    let text = |t: &str| DefaultValue::Text(t.to_string());
    common_def()
        .define("topic.creation.groups", ConfigType::List, text(""), None, Importance::Low, "Groups of configurations for topics created by source connectors")
        .in_group("Topic Creation", 1, "Topic Creation Groups").with_width("LONG")
        .define("exactly.once.support", ConfigType::String, text("requested"), Some(Validator::CaseInsensitiveValidString(vec!["requested".into(), "required".into()])), Importance::Medium, "Permitted values are requested, required. If set to \"required\", forces a preflight check for the connector to ensure that it can provide exactly-once semantics with the given configuration. Some connectors may be capable of providing exactly-once semantics but not signal to Connect that they support this; in that case, documentation for the connector should be consulted carefully before creating it, and the value for this property should be set to \"requested\". Additionally, if the value is set to \"required\" but the worker that performs preflight validation does not have exactly-once support enabled for source connectors, requests to create or validate the connector will fail.")
        .in_group("Exactly Once Support", 2, "Exactly once support").with_width("SHORT")
        .define("transaction.boundary", ConfigType::String, text("poll"), Some(Validator::CaseInsensitiveValidString(vec!["poll".into(), "interval".into(), "connector".into()])), Importance::Medium, "Permitted values are: poll, interval, connector. If set to 'poll', a new producer transaction will be started and committed for every batch of records that each task from this connector provides to Connect. If set to 'connector', relies on connector-defined transaction boundaries; note that not all connectors are capable of defining their own transaction boundaries, and in that case, attempts to instantiate a connector with this value will fail. Finally, if set to 'interval', commits transactions only after a user-defined time interval has passed.")
        .in_group("Exactly Once Support", 3, "Transaction Boundary").with_width("SHORT")
        .define("transaction.boundary.interval.ms", ConfigType::Long, DefaultValue::Null, None, Importance::Low, "If 'transaction.boundary' is set to 'interval', determines the interval for producer transaction commits by connector tasks. If unset, defaults to the value of the worker-level 'offset.flush.interval.ms' property. It has no effect if a different transaction.boundary is specified.")
        .in_group("Exactly Once Support", 4, "Transaction boundary interval").with_width("SHORT")
        .define("offsets.storage.topic", ConfigType::String, DefaultValue::Null, None, Importance::Low, "The name of a separate offsets topic to use for this connector. If empty or not specified, the worker’s global offsets topic name will be used. If specified, the offsets topic will be created if it does not already exist on the Kafka cluster targeted by this connector (which may be different from the one used for the worker's global offsets topic if the bootstrap.servers property of the connector's producer has been overridden from the worker's). Only applicable in distributed mode; in standalone mode, setting this property will have no effect.")
        .in_group("offsets.topic", 1, "Offsets topic").with_width("LONG")
}

fn sink_def() -> ConfigDef {
    let text = |t: &str| DefaultValue::Text(t.to_string());
    common_def()
        .define("topics", ConfigType::List, text(""), None, Importance::High, "List of topics to consume, separated by commas")
        .in_group(COMMON, 4, "Topics").with_width("LONG")
        .define("topics.regex", ConfigType::String, text(""), Some(Validator::Regex), Importance::High, "Regular expression giving topics to consume. Under the hood, the regex is compiled to a <code>java.util.regex.Pattern</code>. Only one of topics or topics.regex should be specified.")
        .in_group(COMMON, 4, "Topics regex").with_width("LONG")
        .define("errors.deadletterqueue.topic.name", ConfigType::String, text(""), None, Importance::Medium, "The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this sink connector, or its transformations or converters. The topic name is blank by default, which means that no messages are to be recorded in the DLQ.")
        .in_group(ERROR_HANDLING, 6, "Dead Letter Queue Topic Name").with_width("MEDIUM")
        .define("errors.deadletterqueue.topic.replication.factor", ConfigType::Short, text("3"), None, Importance::Medium, "Replication factor used to create the dead letter queue topic when it doesn't already exist.")
        .in_group(ERROR_HANDLING, 7, "Dead Letter Queue Topic Replication Factor").with_width("MEDIUM")
        .define("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean, text("false"), None, Importance::Medium, "If true, add headers containing error context to the messages written to the dead letter queue. To avoid clashing with headers from the original record, all error context header keys, all error context header keys will start with <code>__connect.errors.</code>")
        .in_group(ERROR_HANDLING, 8, "Enable Error Context Headers").with_width("MEDIUM")
}

/// The `ConfigDef` of any plugin by name (`GET /connector-plugins/{p}/config`).
pub fn plugin_config_def(name: &str) -> Option<ConfigDef> {
    if let Some(connector) = plugins::new_connector(name) {
        // Kafka lists the connector's keys, then the framework's.
        let framework = framework_def(connector.plugin_type());
        return Some(connector.as_connector().config_def().extend(&framework));
    }
    AnyConverter::config_def_of(name)
        .or_else(|| transformation_config_def(name))
        .or_else(|| predicate_config_def(name))
}

/// The framework's keys for a connector of `kind`.
pub fn framework_def(kind: PluginType) -> ConfigDef {
    match kind {
        PluginType::Sink => sink_def(),
        PluginType::Source => source_def(),
        _ => common_def(),
    }
}

fn key_json(key: &ConfigKey) -> Json {
    let default_value = match &key.default_value {
        DefaultValue::Text(t) => Json::String(t.clone()),
        DefaultValue::Null | DefaultValue::Required => Json::Null,
    };
    json!({
        "name": key.name,
        "type": key.config_type.to_string(),
        "required": key.default_value == DefaultValue::Required,
        "default_value": default_value,
        "importance": key.importance.to_string(),
        "documentation": key.documentation,
        "group": key.group,
        "width": key.width,
        "display_name": key.display_name,
        "dependents": [],
        "order": key.order_in_group,
    })
}

/// `GET /connector-plugins/{p}/config`: Kafka's `ConfigKeyInfo` list.
pub fn config_def_json(def: &ConfigDef) -> Json {
    Json::Array(def.keys().iter().map(key_json).collect())
}

/// The worker's converter classes: `config/validate` reports them as the defaults of a
/// connector's `key.converter`, `value.converter` and `header.converter`, as Kafka's
/// `ConnectorConfig.enrich` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConverterDefaults {
    pub key: String,
    pub value: String,
    pub header: String,
}

impl Default for ConverterDefaults {
    /// Kafka 4.1's `WorkerConfig` defaults.
    fn default() -> ConverterDefaults {
        ConverterDefaults {
            key: "org.apache.kafka.connect.json.JsonConverter".into(),
            value: "org.apache.kafka.connect.json.JsonConverter".into(),
            header: "org.apache.kafka.connect.storage.SimpleHeaderConverter".into(),
        }
    }
}

impl ConverterDefaults {
    /// The worker's classes, by full name (a worker config may give an alias; Kafka
    /// prints the loaded class's name).
    pub fn of(worker: &crate::worker_config::WorkerConfig) -> ConverterDefaults {
        ConverterDefaults {
            key: full_converter_name(&worker.key_converter, ConverterType::Key),
            value: full_converter_name(&worker.value_converter, ConverterType::Value),
            header: full_converter_name(&worker.header_converter, ConverterType::Header),
        }
    }

    fn of_key(&self, key: &str) -> &str {
        match key {
            KEY_CONVERTER => &self.key,
            VALUE_CONVERTER => &self.value,
            _ => &self.header,
        }
    }
}

const KEY_CONVERTER: &str = "key.converter";
const VALUE_CONVERTER: &str = "value.converter";
const HEADER_CONVERTER: &str = "header.converter";
const PLUGIN_VERSION_SUFFIX: &str = ".plugin.version";

/// The converter classes a converter key accepts, sorted as Kafka's plugin scan lists
/// them (the recommended values of `config/validate`).
fn converter_classes(usage: ConverterType) -> Vec<&'static str> {
    let mut classes = CONVERTER_CLASSES.to_vec();
    if usage == ConverterType::Header {
        classes.extend(HEADER_CONVERTER_CLASSES);
    }
    classes.sort_unstable();
    classes
}

fn resolve_converter(class: &str, usage: ConverterType) -> Option<&'static str> {
    converter_classes(usage)
        .into_iter()
        .find(|c| *c == class || c.rsplit('.').next() == Some(class))
}

fn full_converter_name(class: &str, usage: ConverterType) -> String {
    resolve_converter(class.trim(), usage)
        .map(str::to_string)
        .unwrap_or_else(|| class.trim().to_string())
}

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The iteration order of a `java.util.HashMap` filled with `names` in this order:
/// Kafka's `ConfigDef.validate` returns its values from one, and `config/validate` lists
/// a converter's keys in that order. Buckets by the spread hash; a bucket keeps
/// insertion order; the table doubles past 3/4 full.
fn java_hash_map_order(names: &[String]) -> Vec<usize> {
    let mut capacity = 16usize;
    while names.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |name: &str| {
        let h = java_string_hash(name) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut order: Vec<usize> = (0..names.len()).collect();
    // A stable sort keeps insertion order within a bucket.
    order.sort_by_key(|&i| bucket(&names[i]));
    order
}

/// One alias of `transforms` or `predicates`: its group's keys (Kafka's
/// `ConnectorConfig.enrich` / `EnrichablePlugin`), validated against `props`.
fn alias_group(
    props: &Props,
    prefix: &str,
    alias: &str,
    transformation: bool,
) -> (Vec<ConfigKey>, Vec<ConfigValueReport>) {
    let (group, what, title, classes) = if transformation {
        (
            format!("{TRANSFORMS}: {alias}"),
            "transformation",
            "Transformation",
            TRANSFORMATION_CLASSES,
        )
    } else {
        (
            format!("{PREDICATES}: {alias}"),
            "predicate",
            "Predicate",
            PREDICATE_CLASSES,
        )
    };
    let key_prefix = format!("{prefix}.{alias}.");
    let type_key = format!("{key_prefix}type");
    let version_key = format!("{key_prefix}plugin.version");
    let class = props.get(&type_key).map(|c| c.trim().to_string());
    let own_def = class.as_deref().and_then(|class| {
        if transformation {
            transformation_config_def(class)
        } else {
            predicate_config_def(class)
        }
    });
    let resolved = own_def.is_some();
    let version_default = match &own_def {
        Some(_) => DefaultValue::Text(crate::KAFKA_VERSION.to_string()),
        None => DefaultValue::Null,
    };
    let mut def = ConfigDef::new()
        .define(
            &type_key,
            ConfigType::Class,
            DefaultValue::Required,
            None,
            Importance::High,
            &format!("Class for the '{alias}' {what}."),
        )
        .in_group(&group, 0, &format!("{title} type for {alias}"))
        .with_width("LONG")
        .define(
            &version_key,
            ConfigType::String,
            version_default,
            None,
            Importance::High,
            &format!("Version of the '{alias}' {what}."),
        )
        .in_group(&group, 1, &format!("{title} version for {alias}"))
        .with_width("LONG");
    if let Some(own) = own_def {
        let mut own = own;
        if transformation {
            own = own
                .define("negate", ConfigType::Boolean, DefaultValue::Text("false".into()), None, Importance::Medium, "Whether the configured predicate should be negated.")
                .define("predicate", ConfigType::String, DefaultValue::Null, None, Importance::Medium, "The alias of a predicate used to determine whether to apply this transformation.");
        }
        // The alias's own keys follow `type` and `plugin.version` in its group.
        for (order, key) in (2..).zip(own.keys()) {
            def = def.define_key(ConfigKey {
                name: format!("{key_prefix}{}", key.name),
                group: Some(group.clone()),
                order_in_group: order,
                ..key.clone()
            });
        }
    }
    let mut values = validate_with(&def, props);
    let type_value = &mut values[0];
    type_value.recommended_values = classes.iter().map(|c| c.to_string()).collect();
    // A CLASS value is reported as the loaded class's name, aliases resolved.
    if let Some(full) = class.as_deref().and_then(|class| {
        classes
            .iter()
            .find(|c| **c == class || c.rsplit('.').next() == Some(class))
    }) {
        type_value.value = Some(full.to_string());
    }
    if let (Some(class), false) = (&class, resolved) {
        type_value.value = None;
        type_value.errors.push(format!(
            "Invalid value {class} for configuration {type_key}: Class {class} could not be found."
        ));
    }
    if let Some(version) = values[1].value.clone() {
        values[1].recommended_values = vec![version];
    }
    (def.keys().to_vec(), values)
}

/// A converter's own keys under its prefix (`value.converter.schemas.enable`…), as
/// Kafka's `AbstractHerder.validateConverterConfig` reports them: only for a converter
/// the connector config names and that loaded, in `HashMap` order.
fn converter_group(
    props: &Props,
    key: &str,
    usage: ConverterType,
) -> Option<(Vec<ConfigKey>, Vec<ConfigValueReport>)> {
    let class = props.get(key)?.trim();
    let own = AnyConverter::config_def_of(resolve_converter(class, usage)?)?;
    let prefix = format!("{key}.");
    let mut converter_props = crate::worker_config::with_prefix(props, &prefix);
    converter_props
        .entry(CONVERTER_TYPE_CONFIG.to_string())
        .or_insert_with(|| usage.name().to_string());
    let values = validate_with(&own, &converter_props);
    let names: Vec<String> = own.keys().iter().map(|k| k.name.clone()).collect();
    let mut keys = Vec::new();
    let mut reports = Vec::new();
    for index in java_hash_map_order(&names) {
        let key = &own.keys()[index];
        keys.push(ConfigKey {
            name: format!("{prefix}{}", key.name),
            ..key.clone()
        });
        reports.push(ConfigValueReport {
            name: format!("{prefix}{}", values[index].name),
            ..values[index].clone()
        });
    }
    Some((keys, reports))
}

/// The result of validating a connector config.
#[derive(Debug, Clone)]
pub struct Validation {
    /// The connector class as the config gives it (full name or alias).
    pub class_name: String,
    pub kind: PluginType,
    pub keys: Vec<ConfigKey>,
    pub values: Vec<ConfigValueReport>,
    /// Where the converters' own keys start in `keys`: Kafka counts one error per such
    /// key however many messages it has (`prefixedConfigInfos`), but every message of
    /// the others.
    pub converter_keys_from: usize,
}

impl Validation {
    pub fn error_count(&self) -> usize {
        let (connector, converters) = self.values.split_at(self.converter_keys_from);
        connector.iter().map(|v| v.errors.len()).sum::<usize>()
            + converters.iter().filter(|v| !v.errors.is_empty()).count()
    }

    /// Kafka's `ConfigInfos`.
    pub fn to_json(&self) -> Json {
        let mut groups: Vec<String> = Vec::new();
        for key in &self.keys {
            if let Some(group) = &key.group {
                if !groups.contains(group) {
                    groups.push(group.clone());
                }
            }
        }
        let configs: Vec<Json> = self
            .keys
            .iter()
            .zip(&self.values)
            .map(|(key, value)| {
                json!({
                    "definition": key_json(key),
                    "value": {
                        "name": value.name,
                        "value": value.value,
                        "recommended_values": value.recommended_values,
                        "errors": value.errors,
                        "visible": value.visible,
                    }
                })
            })
            .collect();
        json!({
            "name": self.class_name,
            "error_count": self.error_count(),
            "groups": groups,
            "configs": configs,
        })
    }

    /// Kafka's message when `POST /connectors` gets an invalid config.
    pub fn error_message(&self) -> String {
        let mut message = format!(
            "Connector configuration is invalid and contains the following {} error(s):\n",
            self.error_count()
        );
        for value in &self.values {
            for error in &value.errors {
                message.push_str(error);
                message.push('\n');
            }
        }
        message.push_str("You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
        message
    }
}

fn add_error(values: &mut [ConfigValueReport], name: &str, error: String) {
    if let Some(v) = values.iter_mut().find(|v| v.name == name) {
        v.errors.push(error);
    }
}

/// Validates a connector config as Kafka's herder does, on a worker with Kafka's default
/// converters. Fails (400) without a `connector.class` or with an unknown one.
pub fn validate(props: &Props) -> Result<Validation, RuntimeError> {
    validate_on_worker(props, &ConverterDefaults::default())
}

/// The framework's keys for a connector of `kind` as Kafka's `ConnectorConfig.enrich`
/// gives them: the converter keys default to the worker's converters, and each
/// converter's `plugin.version` to Kafka's version when the class loads.
fn enriched_framework_def(
    kind: PluginType,
    props: &Props,
    worker: &ConverterDefaults,
) -> ConfigDef {
    let mut def = ConfigDef::new();
    for key in framework_def(kind).keys() {
        let mut key = key.clone();
        for (converter, usage) in [
            (KEY_CONVERTER, ConverterType::Key),
            (VALUE_CONVERTER, ConverterType::Value),
            (HEADER_CONVERTER, ConverterType::Header),
        ] {
            let class = props
                .get(converter)
                .map(|c| c.trim())
                .unwrap_or(worker.of_key(converter));
            if key.name == converter {
                key.default_value = DefaultValue::Text(worker.of_key(converter).to_string());
            } else if key.name == format!("{converter}{PLUGIN_VERSION_SUFFIX}") {
                key.default_value = match resolve_converter(class, usage) {
                    Some(_) => DefaultValue::Text(crate::KAFKA_VERSION.to_string()),
                    None => DefaultValue::Null,
                };
            }
        }
        def = def.define_key(key);
    }
    def
}

/// Validates a connector config as Kafka's herder does on a worker whose converters are
/// `worker`: the framework's keys (enriched with a group per transform and predicate
/// alias), the connector's, then the named converters' own keys.
pub fn validate_on_worker(
    props: &Props,
    worker: &ConverterDefaults,
) -> Result<Validation, RuntimeError> {
    let class = props
        .get(CONNECTOR_CLASS)
        .map(|c| c.trim())
        .ok_or_else(|| {
            RuntimeError::BadRequest(format!(
                "Connector config {} contains no connector type",
                java_map(props)
            ))
        })?;
    let (class_name, kind) = plugins::resolve_connector_class(class)
        .ok_or_else(|| RuntimeError::BadRequest(plugins::unknown_connector_message(class)))?;
    let connector = plugins::new_connector(class_name)
        .ok_or_else(|| RuntimeError::BadRequest(plugins::unknown_connector_message(class)))?;
    let framework = enriched_framework_def(kind, props, worker);
    let mut values = validate_with(&framework, props);
    if props.get(NAME).is_some_and(|n| n.trim().is_empty()) {
        add_error(
            &mut values,
            NAME,
            format!(
                "Invalid value {} for configuration name: String may not be empty",
                props[NAME]
            ),
        );
    }
    if let Some(Ok(tasks)) = props.get(TASKS_MAX).map(|t| t.trim().parse::<i64>()) {
        if tasks < 1 {
            add_error(
                &mut values,
                TASKS_MAX,
                format!(
                    "Invalid value {tasks} for configuration tasks.max: Value must be at least 1"
                ),
            );
        }
    }
    for (key, usage) in [
        ("key.converter", ConverterType::Key),
        ("value.converter", ConverterType::Value),
        ("header.converter", ConverterType::Header),
    ] {
        let recommended: Vec<String> = converter_classes(usage)
            .into_iter()
            .map(str::to_string)
            .collect();
        let version_key = format!("{key}{PLUGIN_VERSION_SUFFIX}");
        let class_loads = match props.get(key).filter(|c| !c.trim().is_empty()) {
            Some(class) => {
                let converter_props = crate::worker_config::with_prefix(props, &format!("{key}."));
                match converter_for(key, class.trim(), &converter_props, usage) {
                    // A converter that loads but rejects its own keys is reported on
                    // those keys (below), as Kafka's converter validation does.
                    Ok(_) => true,
                    Err(_) if resolve_converter(class.trim(), usage).is_some() => true,
                    Err(e) => {
                        add_error(&mut values, key, e.to_string());
                        false
                    }
                }
            }
            None => true,
        };
        for value in values.iter_mut() {
            if value.name == key {
                value.recommended_values = recommended.clone();
                // A CLASS value is reported as the loaded class's name, aliases resolved.
                value.value = match (&value.value, class_loads) {
                    (Some(class), true) => Some(full_converter_name(class, usage)),
                    _ => None,
                };
            } else if value.name == version_key {
                match (&value.value, class_loads) {
                    (Some(version), true) => value.recommended_values = vec![version.clone()],
                    _ => value.visible = false,
                }
            }
        }
    }
    if let Some(version) = values
        .iter_mut()
        .find(|v| v.name == "connector.plugin.version")
    {
        version.recommended_values = version.value.iter().cloned().collect();
    }
    let mut keys: Vec<ConfigKey> = framework.keys().to_vec();
    let mut alias_errors = 0;
    for (prefix, transformation) in [("transforms", true), ("predicates", false)] {
        let mut aliases: Vec<String> = Vec::new();
        for alias in parse_list(props.get(prefix).map(String::as_str).unwrap_or("")) {
            if !aliases.contains(&alias) {
                aliases.push(alias);
            }
        }
        for alias in aliases {
            let (alias_keys, alias_values) = alias_group(props, prefix, &alias, transformation);
            alias_errors += alias_values.iter().map(|v| v.errors.len()).sum::<usize>();
            keys.extend(alias_keys);
            values.extend(alias_values);
        }
    }
    // What the alias groups cannot say (a transform naming a predicate alias that is
    // not defined…) surfaces when the chain is built.
    let chain = TransformationChain::from_connector_config(props);
    if let (Err(e), 0) = (chain, alias_errors) {
        let text = e.to_string();
        let key = if text.contains("predicate") {
            "predicates"
        } else {
            "transforms"
        };
        add_error(&mut values, key, text);
    }
    if kind == PluginType::Sink {
        let topics = props
            .get("topics")
            .map(|t| t.trim())
            .filter(|t| !t.is_empty());
        let regex = props
            .get("topics.regex")
            .map(|t| t.trim())
            .filter(|t| !t.is_empty());
        match (topics, regex) {
            (Some(_), Some(_)) => {
                let message =
                    "topics and topics.regex are mutually exclusive options, but both are set."
                        .to_string();
                add_error(&mut values, "topics", message.clone());
                add_error(&mut values, "topics.regex", message);
            }
            (None, None) => {
                let message = "Must configure one of topics or topics.regex".to_string();
                add_error(&mut values, "topics", message.clone());
                add_error(&mut values, "topics.regex", message);
            }
            (Some(topics), None) => {
                let dlq = props
                    .get("errors.deadletterqueue.topic.name")
                    .map(|t| t.trim())
                    .unwrap_or("");
                if !dlq.is_empty() && topics.split(',').any(|t| t.trim() == dlq) {
                    add_error(&mut values, "errors.deadletterqueue.topic.name", format!("The DLQ topic '{dlq}' may not be included in the list of topics ('topics'='{topics}') consumed by the connector"));
                }
            }
            (None, Some(_)) => {}
        }
    }
    let own = connector.as_connector().config_def();
    let own_values = connector.as_connector().validate(props);
    for (key, value) in own.keys().iter().zip(own_values) {
        if let Some(index) = keys.iter().position(|k| k.name == key.name) {
            values[index].errors.extend(value.errors);
        } else {
            keys.push(key.clone());
            values.push(value);
        }
    }
    let converter_keys_from = keys.len();
    for (key, usage) in [
        (HEADER_CONVERTER, ConverterType::Header),
        (KEY_CONVERTER, ConverterType::Key),
        (VALUE_CONVERTER, ConverterType::Value),
    ] {
        if let Some((converter_keys, converter_values)) = converter_group(props, key, usage) {
            keys.extend(converter_keys);
            values.extend(converter_values);
        }
    }
    Ok(Validation {
        // Kafka names the result after the class as the config gives it.
        class_name: class.to_string(),
        kind,
        keys,
        values,
        converter_keys_from,
    })
}

/// The exactly-once checks a distributed worker adds to `validate` for source
/// connectors (Kafka's `DistributedHerder.validateSourceConnectorConfig`; a standalone
/// worker only checks the keys' values): `exactly.once.support=required` needs the
/// worker's support enabled and the connector's word that it supports it;
/// `transaction.boundary=connector` needs a connector that can define boundaries.
/// Kafka's `validateSinkConnectorGroupId` on a distributed worker: a sink connector's
/// consumer group (`connect-<name>` unless overridden) may not be the workers' own group.
pub fn validate_sink_group(validation: &mut Validation, props: &Props, worker_group: &str) {
    if validation.kind != PluginType::Sink || props.contains_key("consumer.override.group.id") {
        return;
    }
    let Some(name) = props.get(NAME) else {
        return;
    };
    if format!("connect-{name}") == worker_group {
        add_error(
            &mut validation.values,
            NAME,
            format!(
                "Consumer group for sink connector named {name} conflicts with Connect worker group {worker_group}"
            ),
        );
    }
}

pub fn validate_exactly_once(validation: &mut Validation, props: &Props, worker_enabled: bool) {
    use rafka_connect_data::connector::{ConnectorTransactionBoundaries, ExactlyOnceSupport};
    if validation.kind != PluginType::Source {
        return;
    }
    let Some(plugins::AnyConnector::Source(connector)) = props
        .get(CONNECTOR_CLASS)
        .and_then(|c| plugins::new_connector(c.trim()))
    else {
        return;
    };
    let clean = |values: &[ConfigValueReport], name: &str| {
        values
            .iter()
            .find(|v| v.name == name)
            .is_some_and(|v| v.errors.is_empty())
    };
    let value = |name: &str| props.get(name).map(|v| v.trim().to_ascii_lowercase());
    if clean(&validation.values, EXACTLY_ONCE_SUPPORT)
        && value(EXACTLY_ONCE_SUPPORT).as_deref() == Some("required")
    {
        if !worker_enabled {
            add_error(
                &mut validation.values,
                EXACTLY_ONCE_SUPPORT,
                "This worker does not have exactly-once source support enabled.".into(),
            );
        }
        let message = match connector.exactly_once_support(props) {
            Some(ExactlyOnceSupport::Supported) => None,
            Some(ExactlyOnceSupport::Unsupported) => Some("The connector does not support exactly-once semantics with the provided configuration.".to_string()),
            None => Some("The connector does not implement the API required for preflight validation of exactly-once source support. Please consult the documentation for the connector to determine whether it supports exactly-once semantics, and then consider reconfiguring the connector to use the value \"requested\" for this property (which will disable this preflight check and allow the connector to be created).".to_string()),
        };
        if let Some(message) = message {
            add_error(&mut validation.values, EXACTLY_ONCE_SUPPORT, message);
        }
    }
    if clean(
        &validation.values,
        crate::exactly_once::TRANSACTION_BOUNDARY,
    ) && value(crate::exactly_once::TRANSACTION_BOUNDARY).as_deref() == Some("connector")
        && connector.can_define_transaction_boundaries(props)
            != ConnectorTransactionBoundaries::Supported
    {
        add_error(
            &mut validation.values,
            crate::exactly_once::TRANSACTION_BOUNDARY,
            "The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition.".into(),
        );
    }
}

/// Java's `Map.toString()` of a config, for messages.
pub fn java_map(props: &HashMap<String, String>) -> String {
    let mut entries: Vec<_> = props.iter().collect();
    entries.sort();
    format!(
        "{{{}}}",
        entries
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn missing_required_key_is_reported_under_its_name() {
        let validation = validate(&props(&[
            ("name", "s"),
            ("connector.class", "FileStreamSource"),
        ]))
        .unwrap();
        assert_eq!(validation.error_count(), 1);
        let body = validation.to_json();
        // As the config names the class, as Kafka's response does.
        assert_eq!(body["name"], "FileStreamSource");
        let topic = body["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["definition"]["name"] == "topic")
            .unwrap();
        assert_eq!(
            topic["value"]["errors"],
            json!(["Missing required configuration \"topic\" which has no default value."])
        );
        assert_eq!(topic["definition"]["required"], true);
        assert_eq!(body["groups"][0], "Common");
        assert_eq!(
            validation.error_message(),
            "Connector configuration is invalid and contains the following 1 error(s):\nMissing required configuration \"topic\" which has no default value.\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
        );
    }

    #[test]
    fn a_sink_whose_group_is_the_worker_group_is_refused_under_its_name() {
        let sink = |extra: &[(&str, &str)]| {
            let mut config = props(&[
                ("name", "cluster"),
                ("connector.class", "FileStreamSink"),
                ("topics", "t"),
            ]);
            config.extend(props(extra));
            let mut validation = validate(&config).unwrap();
            validate_sink_group(&mut validation, &config, "connect-cluster");
            validation
        };
        let refused = sink(&[]);
        assert_eq!(refused.error_count(), 1);
        assert!(refused.error_message().contains(
            "Consumer group for sink connector named cluster conflicts with Connect worker group connect-cluster"
        ));
        assert_eq!(
            sink(&[("consumer.override.group.id", "other")]).error_count(),
            0
        );
    }

    #[test]
    fn plugin_config_lists_connector_keys_then_the_frameworks() {
        let def = plugin_config_def("FileStreamSource").unwrap();
        let names: Vec<&str> = def.keys().iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names[..4], ["file", "topic", "batch.size", "name"]);
        assert!(names.contains(&"exactly.once.support"));
        assert!(plugin_config_def("org.apache.kafka.connect.transforms.Filter").is_some());
        assert!(plugin_config_def("Nope").is_none());
    }

    #[test]
    fn sink_needs_exactly_one_of_topics_and_regex() {
        let base = [("name", "k"), ("connector.class", "FileStreamSink")];
        assert_eq!(validate(&props(&base)).unwrap().error_count(), 2);
        let mut both = base.to_vec();
        both.extend([("topics", "a"), ("topics.regex", "a.*")]);
        assert_eq!(validate(&props(&both)).unwrap().error_count(), 2);
        let mut good = base.to_vec();
        good.push(("topics", "a"));
        assert_eq!(validate(&props(&good)).unwrap().error_count(), 0);
    }

    #[test]
    fn exactly_once_checks_are_kafkas_distributed_ones() {
        let config = props(&[
            ("name", "s"),
            ("connector.class", "FileStreamSource"),
            ("topic", "t"),
            ("file", "/tmp/in.txt"),
            ("exactly.once.support", "REQUIRED"),
            ("transaction.boundary", "connector"),
        ]);
        let errors = |enabled: bool, config: &Props| {
            let mut validation = validate(config).unwrap();
            validate_exactly_once(&mut validation, config, enabled);
            validation
                .values
                .into_iter()
                .filter(|v| !v.errors.is_empty())
                .map(|v| (v.name, v.errors))
                .collect::<Vec<_>>()
        };
        let boundary = "The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition.";
        assert_eq!(
            errors(false, &config),
            vec![
                (
                    "exactly.once.support".to_string(),
                    vec![
                        "This worker does not have exactly-once source support enabled."
                            .to_string()
                    ]
                ),
                (
                    "transaction.boundary".to_string(),
                    vec![boundary.to_string()]
                ),
            ]
        );
        let mut file_from_stdin = config.clone();
        file_from_stdin.insert("file".into(), String::new());
        file_from_stdin.insert("transaction.boundary".into(), "poll".into());
        assert_eq!(
            errors(true, &file_from_stdin),
            vec![(
                "exactly.once.support".to_string(),
                vec!["The connector does not support exactly-once semantics with the provided configuration.".to_string()]
            )]
        );
        // A standalone worker checks only the values.
        assert_eq!(validate(&config).unwrap().error_count(), 0);
    }

    #[test]
    fn unknown_class_and_bad_converter() {
        let err = validate(&props(&[("connector.class", "Nope")])).unwrap_err();
        assert_eq!(err.status_code(), 400);
        let v = validate(&props(&[
            ("name", "s"),
            ("connector.class", "FileStreamSource"),
            ("topic", "t"),
            ("value.converter", "x.Y"),
            ("tasks.max", "0"),
        ]))
        .unwrap();
        assert_eq!(v.error_count(), 2, "{:?}", v.values);
    }

    fn entry<'a>(body: &'a Json, name: &str) -> &'a Json {
        body["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["definition"]["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {body}"))
    }

    fn names(body: &Json) -> Vec<String> {
        body["configs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["definition"]["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// As Kafka 4.1.1's worker answers (tests/compat/test_oracle_connect.py compares the
    /// whole answer).
    #[test]
    fn validation_adds_a_group_per_transform_and_predicate_alias() {
        let v = validate(&props(&[
            ("connector.class", "FileStreamSink"),
            ("name", "k"),
            ("topics", "a"),
            ("transforms", "f,r"),
            (
                "transforms.f.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.f.predicate", "p"),
            (
                "transforms.r.type",
                "org.apache.kafka.connect.transforms.RegexRouter",
            ),
            ("transforms.r.regex", "x"),
            ("predicates", "p"),
            (
                "predicates.p.type",
                "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            ),
            ("predicates.p.pattern", "a.*"),
        ]))
        .unwrap();
        let body = v.to_json();
        assert_eq!(
            body["groups"],
            json!([
                "Common",
                "Transforms",
                "Predicates",
                "Error Handling",
                "Transforms: f",
                "Transforms: r",
                "Predicates: p"
            ])
        );
        let all = names(&body);
        let from = all.iter().position(|n| n == "transforms.f.type").unwrap();
        assert_eq!(
            all[from..],
            [
                "transforms.f.type",
                "transforms.f.plugin.version",
                "transforms.f.negate",
                "transforms.f.predicate",
                "transforms.r.type",
                "transforms.r.plugin.version",
                "transforms.r.regex",
                "transforms.r.replacement",
                "transforms.r.negate",
                "transforms.r.predicate",
                "predicates.p.type",
                "predicates.p.plugin.version",
                "predicates.p.pattern",
                "file"
            ]
        );
        // Only the missing replacement is an error.
        assert_eq!(body["error_count"], 1);
        assert_eq!(
            entry(&body, "transforms.r.replacement")["value"]["errors"],
            json!(["Missing required configuration \"transforms.r.replacement\" which has no default value."])
        );
        let f_type = entry(&body, "transforms.f.type");
        assert_eq!(f_type["definition"]["group"], "Transforms: f");
        assert_eq!(
            f_type["definition"]["display_name"],
            "Transformation type for f"
        );
        assert_eq!(
            f_type["definition"]["documentation"],
            "Class for the 'f' transformation."
        );
        assert_eq!(f_type["definition"]["required"], true);
        assert_eq!(
            f_type["value"]["recommended_values"]
                .as_array()
                .unwrap()
                .len(),
            26
        );
        let version = entry(&body, "predicates.p.plugin.version");
        assert_eq!(version["definition"]["default_value"], "4.1.1");
        assert_eq!(version["value"]["recommended_values"], json!(["4.1.1"]));
        let negate = entry(&body, "transforms.r.negate");
        assert_eq!(negate["definition"]["order"], 4);
        assert_eq!(negate["value"]["value"], "false");
    }

    #[test]
    fn unknown_or_missing_alias_types_are_errors_on_the_type_key() {
        let body = validate(&props(&[
            ("connector.class", "FileStreamSink"),
            ("name", "k"),
            ("topics", "a"),
            ("transforms", "f"),
            ("transforms.f.type", "Nope"),
            ("predicates", "p"),
        ]))
        .unwrap()
        .to_json();
        assert_eq!(body["error_count"], 2);
        assert_eq!(
            entry(&body, "transforms.f.type")["value"]["errors"],
            json!(["Invalid value Nope for configuration transforms.f.type: Class Nope could not be found."])
        );
        assert_eq!(
            entry(&body, "transforms.f.type")["value"]["value"],
            Json::Null
        );
        let version = entry(&body, "predicates.p.plugin.version");
        assert_eq!(version["definition"]["default_value"], Json::Null);
        assert_eq!(version["value"]["visible"], true);
        assert_eq!(entry(&body, "transforms")["value"]["errors"], json!([]));
    }

    #[test]
    fn converter_keys_carry_the_workers_defaults_and_the_plugin_lists() {
        let worker = ConverterDefaults {
            key: "org.apache.kafka.connect.storage.StringConverter".into(),
            ..ConverterDefaults::default()
        };
        let body = validate_on_worker(
            &props(&[
                ("connector.class", "FileStreamSink"),
                ("name", "k"),
                ("topics", "a"),
            ]),
            &worker,
        )
        .unwrap()
        .to_json();
        let key = entry(&body, "key.converter");
        assert_eq!(
            key["definition"]["default_value"],
            "org.apache.kafka.connect.storage.StringConverter"
        );
        assert_eq!(
            key["value"]["value"],
            "org.apache.kafka.connect.storage.StringConverter"
        );
        assert_eq!(
            key["value"]["recommended_values"][0],
            "org.apache.kafka.connect.converters.BooleanConverter"
        );
        assert_eq!(
            key["value"]["recommended_values"].as_array().unwrap().len(),
            9
        );
        let header = entry(&body, "header.converter");
        assert_eq!(
            header["value"]["value"],
            "org.apache.kafka.connect.storage.SimpleHeaderConverter"
        );
        assert_eq!(
            header["value"]["recommended_values"]
                .as_array()
                .unwrap()
                .len(),
            10
        );
        let version = entry(&body, "value.converter.plugin.version");
        assert_eq!(version["value"]["value"], "4.1.1");
        assert_eq!(version["value"]["recommended_values"], json!(["4.1.1"]));
    }

    #[test]
    fn named_converters_add_their_own_keys_in_kafkas_order() {
        let v = validate(&props(&[
            ("connector.class", "FileStreamSource"),
            ("name", "s"),
            ("topic", "a"),
            ("file", "/tmp/x"),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.schemas.enable", "nope"),
            (
                "header.converter",
                "org.apache.kafka.connect.converters.BooleanConverter",
            ),
        ]))
        .unwrap();
        let body = v.to_json();
        let all = names(&body);
        let from = all.iter().position(|n| n == "batch.size").unwrap() + 1;
        assert_eq!(
            all[from..],
            [
                "header.converter.converter.type",
                "key.converter.converter.type",
                "key.converter.converter.encoding",
                "value.converter.decimal.format",
                "value.converter.converter.type",
                "value.converter.schemas.cache.size",
                "value.converter.replace.null.with.default",
                "value.converter.schemas.enable"
            ]
        );
        assert_eq!(body["error_count"], 1);
        assert_eq!(
            body["groups"],
            json!([
                "Common",
                "Transforms",
                "Predicates",
                "Error Handling",
                "Topic Creation",
                "Exactly Once Support",
                "offsets.topic",
                "Serialization",
                "Schemas"
            ])
        );
        assert_eq!(
            entry(&body, "key.converter.converter.type")["value"]["value"],
            "key"
        );
        let encoding = entry(&body, "key.converter.converter.encoding");
        assert_eq!(encoding["definition"]["default_value"], "UTF-8");
        assert_eq!(encoding["definition"]["group"], Json::Null);
        let bad = validate(&props(&[
            ("connector.class", "FileStreamSource"),
            ("name", "s"),
            ("topic", "a"),
            ("file", "/tmp/x"),
            ("key.converter", "x.Y"),
        ]))
        .unwrap()
        .to_json();
        assert_eq!(bad["error_count"], 1);
        assert_eq!(entry(&bad, "key.converter")["value"]["value"], Json::Null);
        let version = entry(&bad, "key.converter.plugin.version");
        assert_eq!(version["definition"]["default_value"], Json::Null);
        assert_eq!(version["value"]["visible"], false);
    }
}
