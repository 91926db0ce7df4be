//! The transformation chain a connector's config builds (Kafka's
//! `ConnectorConfig.transformationStages`): `transforms=a,b`, `transforms.a.type=<class>`,
//! `transforms.a.<key>`, `transforms.a.predicate=p`, `transforms.a.negate`,
//! `predicates=p`, `predicates.p.type=<class>`, `predicates.p.<key>`; and the registry of
//! built-in transform and predicate classes with their `ConfigDef`s.

use std::collections::HashMap;

use super::api::{Predicate, Side, Transformation};
use super::cast::Cast;
use super::fields::{
    ExtractField, HoistField, InsertField, MaskField, ReplaceField, SetSchemaMetadata, ValueToKey,
};
use super::flatten::Flatten;
use super::headers::{DropHeaders, HeaderFrom, InsertHeader};
use super::predicates::{HasHeaderKey, RecordIsTombstone, TopicNameMatches};
use super::routing::{Filter, RegexRouter};
use super::timestamp::{TimestampConverter, TimestampRouter};
use crate::config::{parse_list, ConfigDef};
use crate::error::{ConfigError, ConnectError, DataError};
use crate::record::ConnectRecord;

const PACKAGE: &str = "org.apache.kafka.connect.transforms.";

/// Every built-in transformation class (full names).
pub const TRANSFORMATION_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.transforms.Cast$Key",
    "org.apache.kafka.connect.transforms.Cast$Value",
    "org.apache.kafka.connect.transforms.DropHeaders",
    "org.apache.kafka.connect.transforms.ExtractField$Key",
    "org.apache.kafka.connect.transforms.ExtractField$Value",
    "org.apache.kafka.connect.transforms.Filter",
    "org.apache.kafka.connect.transforms.Flatten$Key",
    "org.apache.kafka.connect.transforms.Flatten$Value",
    "org.apache.kafka.connect.transforms.HeaderFrom$Key",
    "org.apache.kafka.connect.transforms.HeaderFrom$Value",
    "org.apache.kafka.connect.transforms.HoistField$Key",
    "org.apache.kafka.connect.transforms.HoistField$Value",
    "org.apache.kafka.connect.transforms.InsertField$Key",
    "org.apache.kafka.connect.transforms.InsertField$Value",
    "org.apache.kafka.connect.transforms.InsertHeader",
    "org.apache.kafka.connect.transforms.MaskField$Key",
    "org.apache.kafka.connect.transforms.MaskField$Value",
    "org.apache.kafka.connect.transforms.RegexRouter",
    "org.apache.kafka.connect.transforms.ReplaceField$Key",
    "org.apache.kafka.connect.transforms.ReplaceField$Value",
    "org.apache.kafka.connect.transforms.SetSchemaMetadata$Key",
    "org.apache.kafka.connect.transforms.SetSchemaMetadata$Value",
    "org.apache.kafka.connect.transforms.TimestampConverter$Key",
    "org.apache.kafka.connect.transforms.TimestampConverter$Value",
    "org.apache.kafka.connect.transforms.TimestampRouter",
    "org.apache.kafka.connect.transforms.ValueToKey",
];

/// Every built-in predicate class.
pub const PREDICATE_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
    "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
    "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
];

/// The class's name inside its package (`InsertField$Value`), for full names or the
/// short aliases Connect also accepts.
fn short_name<'a>(class: &'a str, package: &str) -> &'a str {
    class.strip_prefix(package).unwrap_or(class)
}

fn split_side(name: &str) -> (&str, Option<Side>) {
    match name.split_once('$') {
        Some((base, "Key")) => (base, Some(Side::Key)),
        Some((base, "Value")) => (base, Some(Side::Value)),
        _ => (name, None),
    }
}

/// The `ConfigDef` of a built-in transformation class, `None` when unknown.
pub fn transformation_config_def(class: &str) -> Option<ConfigDef> {
    let (base, side) = split_side(short_name(class, PACKAGE));
    Some(match (base, side.is_some()) {
        ("Cast", true) => Cast::config_def(),
        ("DropHeaders", false) => DropHeaders::config_def(),
        ("ExtractField", true) => ExtractField::config_def(),
        ("Filter", false) => Filter::config_def(),
        ("Flatten", true) => Flatten::config_def(),
        ("HeaderFrom", true) => HeaderFrom::config_def(),
        ("HoistField", true) => HoistField::config_def(),
        ("InsertField", true) => InsertField::config_def(),
        ("InsertHeader", false) => InsertHeader::config_def(),
        ("MaskField", true) => MaskField::config_def(),
        ("RegexRouter", false) => RegexRouter::config_def(),
        ("ReplaceField", true) => ReplaceField::config_def(),
        ("SetSchemaMetadata", true) => SetSchemaMetadata::config_def(),
        ("TimestampConverter", true) => TimestampConverter::config_def(),
        ("TimestampRouter", false) => TimestampRouter::config_def(),
        ("ValueToKey", false) => ValueToKey::config_def(),
        _ => return None,
    })
}

/// The `ConfigDef` of a built-in predicate class, `None` when unknown.
pub fn predicate_config_def(class: &str) -> Option<ConfigDef> {
    Some(
        match short_name(class, "org.apache.kafka.connect.transforms.predicates.") {
            "HasHeaderKey" => HasHeaderKey::config_def(),
            "RecordIsTombstone" => RecordIsTombstone::config_def(),
            "TopicNameMatches" => TopicNameMatches::config_def(),
            _ => return None,
        },
    )
}

fn class_not_found(key: &str, class: &str) -> ConfigError {
    ConfigError::invalid(key, class, format!("Class {class} could not be found."))
}

/// Builds the built-in transformation `class` configured with `props`; `key` names the
/// config key that gave the class (for the unknown-class error).
pub fn transformation_for(
    key: &str,
    class: &str,
    props: &HashMap<String, String>,
) -> Result<Box<dyn Transformation>, ConfigError> {
    let (base, side) = split_side(short_name(class, PACKAGE));
    let sided = |side: Option<Side>| side.ok_or_else(|| class_not_found(key, class));
    Ok(match base {
        "Cast" => Box::new(Cast::new(sided(side)?, props)?),
        "ExtractField" => Box::new(ExtractField::new(sided(side)?, props)?),
        "Flatten" => Box::new(Flatten::new(sided(side)?, props)?),
        "HeaderFrom" => Box::new(HeaderFrom::new(sided(side)?, props)?),
        "HoistField" => Box::new(HoistField::new(sided(side)?, props)?),
        "InsertField" => Box::new(InsertField::new(sided(side)?, props)?),
        "MaskField" => Box::new(MaskField::new(sided(side)?, props)?),
        "ReplaceField" => Box::new(ReplaceField::new(sided(side)?, props)?),
        "SetSchemaMetadata" => Box::new(SetSchemaMetadata::new(sided(side)?, props)?),
        "TimestampConverter" => Box::new(TimestampConverter::new(sided(side)?, props)?),
        _ if side.is_some() => return Err(class_not_found(key, class)),
        "DropHeaders" => Box::new(DropHeaders::new(props)?),
        "Filter" => Box::new(Filter),
        "InsertHeader" => Box::new(InsertHeader::new(props)?),
        "RegexRouter" => Box::new(RegexRouter::new(props)?),
        "TimestampRouter" => Box::new(TimestampRouter::new(props)?),
        "ValueToKey" => Box::new(ValueToKey::new(props)?),
        _ => return Err(class_not_found(key, class)),
    })
}

/// Builds the built-in predicate `class` configured with `props`.
pub fn predicate_for(
    key: &str,
    class: &str,
    props: &HashMap<String, String>,
) -> Result<Box<dyn Predicate>, ConfigError> {
    Ok(
        match short_name(class, "org.apache.kafka.connect.transforms.predicates.") {
            "HasHeaderKey" => Box::new(HasHeaderKey::new(props)?),
            "RecordIsTombstone" => Box::new(RecordIsTombstone),
            "TopicNameMatches" => Box::new(TopicNameMatches::new(props)?),
            _ => return Err(class_not_found(key, class)),
        },
    )
}

/// One transform, applied only when its predicate (if any) holds, inverted by `negate`
/// (Kafka's `TransformationStage`).
#[derive(Debug)]
pub struct TransformationStage {
    pub alias: String,
    pub predicate: Option<Box<dyn Predicate>>,
    pub negate: bool,
    pub transformation: Box<dyn Transformation>,
}

impl TransformationStage {
    pub fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        if let Some(predicate) = &self.predicate {
            if predicate.test(&record) == self.negate {
                return Ok(Some(record));
            }
        }
        self.transformation.apply(record)
    }
}

/// A connector's transforms, in order (Kafka's `TransformationChain`).
#[derive(Debug, Default)]
pub struct TransformationChain {
    pub stages: Vec<TransformationStage>,
}

/// The keys under `prefix`, with the prefix taken off (Java's `originalsWithPrefix`).
fn with_prefix(config: &HashMap<String, String>, prefix: &str) -> HashMap<String, String> {
    config
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(prefix)
                .map(|rest| (rest.to_string(), v.clone()))
        })
        .collect()
}

fn aliases(config: &HashMap<String, String>, key: &str) -> Result<Vec<String>, ConfigError> {
    let aliases = config.get(key).map(|v| parse_list(v)).unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    if !aliases.iter().all(|a| seen.insert(a)) {
        return Err(ConfigError::invalid(
            key,
            format!("[{}]", aliases.join(", ")),
            "Duplicate alias provided.",
        ));
    }
    Ok(aliases)
}

impl TransformationChain {
    /// Builds the chain from a connector's whole config.
    pub fn from_connector_config(
        config: &HashMap<String, String>,
    ) -> Result<TransformationChain, ConnectError> {
        aliases(config, "predicates")?;
        let mut stages = Vec::new();
        for alias in aliases(config, "transforms")? {
            let prefix = format!("transforms.{alias}.");
            let type_key = format!("{prefix}type");
            let class = config.get(&type_key).ok_or(ConfigError::Missing {
                name: type_key.clone(),
            })?;
            let mut props = with_prefix(config, &prefix);
            props.remove("type");
            let predicate_alias = props.remove("predicate");
            let negate = props.remove("negate");
            if negate.is_some() && predicate_alias.is_none() {
                return Err(ConfigError::other(format!(
                    "Config '{prefix}negate' was provided but there is no config '{prefix}predicate' defining a predicate to be negated."
                ))
                .into());
            }
            let transformation = transformation_for(&type_key, class.trim(), &props)?;
            let predicate = match &predicate_alias {
                Some(predicate_alias) => {
                    let predicate_prefix = format!("predicates.{}.", predicate_alias.trim());
                    let predicate_key = format!("{predicate_prefix}type");
                    let predicate_class =
                        config.get(&predicate_key).ok_or(ConfigError::Missing {
                            name: predicate_key.clone(),
                        })?;
                    let mut predicate_props = with_prefix(config, &predicate_prefix);
                    predicate_props.remove("type");
                    Some(predicate_for(
                        &predicate_key,
                        predicate_class.trim(),
                        &predicate_props,
                    )?)
                }
                None => None,
            };
            let negate = negate.is_some_and(|n| n.trim().eq_ignore_ascii_case("true"));
            stages.push(TransformationStage {
                alias,
                predicate,
                negate,
                transformation,
            });
        }
        Ok(TransformationChain { stages })
    }

    /// Runs the record through every stage; `None` once a stage drops it.
    pub fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        let mut current = record;
        for stage in &self.stages {
            match stage.apply(current)? {
                Some(next) => current = next,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;
    use crate::transforms::test_support::{props, sink_value};

    #[test]
    fn builds_and_runs_a_chain_with_predicates() {
        let config = props(&[
            ("transforms", "insert, drop"),
            (
                "transforms.insert.type",
                "org.apache.kafka.connect.transforms.InsertField$Value",
            ),
            ("transforms.insert.static.field", "instance"),
            ("transforms.insert.static.value", "one"),
            (
                "transforms.drop.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.drop.predicate", "isBar"),
            ("transforms.drop.negate", "true"),
            ("predicates", "isBar"),
            (
                "predicates.isBar.type",
                "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            ),
            ("predicates.isBar.pattern", "bar"),
        ]);
        let chain = TransformationChain::from_connector_config(&config).unwrap();
        assert_eq!(chain.stages.len(), 2);
        // Topic "test" is not "bar": negated predicate holds, so Filter drops it.
        assert_eq!(
            chain.apply(sink_value(None, Value::Map(vec![]))).unwrap(),
            None
        );
        let mut record = sink_value(None, Value::Map(vec![]));
        record.topic = "bar".into();
        let out = chain.apply(record).unwrap().unwrap();
        assert_eq!(out.value.map_get("instance"), &Value::string("one"));
    }

    #[test]
    fn reports_unknown_classes_and_bad_aliases_as_kafka() {
        let err = |pairs: &[(&str, &str)]| {
            TransformationChain::from_connector_config(&props(pairs))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&[("transforms", "a"), ("transforms.a.type", "com.example.Nope")]),
            "Invalid value com.example.Nope for configuration transforms.a.type: Class com.example.Nope could not be found."
        );
        assert_eq!(
            err(&[("transforms", "a")]),
            "Missing required configuration \"transforms.a.type\" which has no default value."
        );
        assert_eq!(
            err(&[("transforms", "a,a")]),
            "Invalid value [a, a] for configuration transforms: Duplicate alias provided."
        );
        assert_eq!(
            err(&[("transforms", "a"), ("transforms.a.type", "org.apache.kafka.connect.transforms.Filter"), ("transforms.a.negate", "true")]),
            "Config 'transforms.a.negate' was provided but there is no config 'transforms.a.predicate' defining a predicate to be negated."
        );
        assert_eq!(
            err(&[("transforms", "a"), ("transforms.a.type", "org.apache.kafka.connect.transforms.InsertField")]),
            "Invalid value org.apache.kafka.connect.transforms.InsertField for configuration transforms.a.type: Class org.apache.kafka.connect.transforms.InsertField could not be found."
        );
        assert_eq!(
            err(&[
                ("transforms", "a"),
                (
                    "transforms.a.type",
                    "org.apache.kafka.connect.transforms.ValueToKey"
                )
            ]),
            "Missing required configuration \"fields\" which has no default value."
        );
    }

    #[test]
    fn every_listed_class_has_a_config_def() {
        for class in TRANSFORMATION_CLASSES {
            assert!(transformation_config_def(class).is_some(), "{class}");
        }
        for class in PREDICATE_CLASSES {
            assert!(predicate_config_def(class).is_some(), "{class}");
        }
    }
}
