//! The built-in plugins (Kafka's `Plugins` over a classpath scan): connector classes
//! with their aliases, and the converters, transforms and predicates of
//! `rafka-connect-data`, as `GET /connector-plugins` lists them. `plugin.path` is
//! accepted and ignored: every plugin is compiled in.
//!
//! Versions: Kafka's own plugins (FileStream, converters, transforms) report the Kafka
//! version whose API the runtime implements, as Kafka's do; Confluent's JDBC connectors
//! report rafka's version (`jdbc::VERSION`), since they are rafka's rewrite.

use rafka_connect_data::connector::{Connector, SinkConnector, SourceConnector};
use rafka_connect_data::converters::{CONVERTER_CLASSES, HEADER_CONVERTER_CLASSES};
use rafka_connect_data::transforms::chain::{PREDICATE_CLASSES, TRANSFORMATION_CLASSES};
use serde::Serialize;

use crate::{file, jdbc};

/// Kafka's `PluginType` (lower-case names as the REST API prints them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginType {
    Source,
    Sink,
    Converter,
    HeaderConverter,
    Transformation,
    Predicate,
}

/// One plugin as `GET /connector-plugins` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    #[serde(rename = "class")]
    pub class_name: String,
    #[serde(rename = "type")]
    pub plugin_type: PluginType,
    pub version: String,
}

/// A connector instance of either kind.
#[derive(Debug)]
pub enum AnyConnector {
    Source(Box<dyn SourceConnector>),
    Sink(Box<dyn SinkConnector>),
}

impl AnyConnector {
    pub fn as_connector(&self) -> &dyn Connector {
        match self {
            AnyConnector::Source(c) => c.as_ref(),
            AnyConnector::Sink(c) => c.as_ref(),
        }
    }
    pub fn as_connector_mut(&mut self) -> &mut dyn Connector {
        match self {
            AnyConnector::Source(c) => c.as_mut(),
            AnyConnector::Sink(c) => c.as_mut(),
        }
    }
    pub fn plugin_type(&self) -> PluginType {
        match self {
            AnyConnector::Source(_) => PluginType::Source,
            AnyConnector::Sink(_) => PluginType::Sink,
        }
    }
}

/// The built-in connector classes (full names), sorted as Kafka sorts plugins.
pub const CONNECTOR_CLASSES: &[(&str, PluginType)] = &[
    (jdbc::SINK_CLASS, PluginType::Sink),
    (jdbc::SOURCE_CLASS, PluginType::Source),
    (file::SINK_CLASS, PluginType::Sink),
    (file::SOURCE_CLASS, PluginType::Source),
];

/// The version a built-in connector class reports (its `version()`).
pub fn connector_version(class: &str) -> &'static str {
    match class {
        jdbc::SOURCE_CLASS | jdbc::SINK_CLASS => jdbc::VERSION,
        _ => crate::KAFKA_VERSION,
    }
}

/// Kafka's `PluginUtils`: a class is found by its full name, its simple name, or its
/// simple name without the `Connector` suffix (`FileStreamSource`).
pub fn resolve_connector_class(name: &str) -> Option<(&'static str, PluginType)> {
    CONNECTOR_CLASSES.iter().copied().find(|(class, _)| {
        let simple = class.rsplit('.').next().unwrap_or(class);
        *class == name || simple == name || simple.strip_suffix("Connector") == Some(name)
    })
}

/// A new instance of the connector `name` (any alias), `None` when unknown.
pub fn new_connector(name: &str) -> Option<AnyConnector> {
    let (class, _) = resolve_connector_class(name)?;
    Some(match class {
        file::SOURCE_CLASS => {
            AnyConnector::Source(Box::<file::FileStreamSourceConnector>::default())
        }
        file::SINK_CLASS => AnyConnector::Sink(Box::<file::FileStreamSinkConnector>::default()),
        jdbc::SOURCE_CLASS => AnyConnector::Source(Box::<jdbc::JdbcSourceConnector>::default()),
        jdbc::SINK_CLASS => AnyConnector::Sink(Box::<jdbc::JdbcSinkConnector>::default()),
        _ => return None,
    })
}

/// Kafka's message for an unknown connector class (`Plugins.connectorClass`), as a fresh
/// Kafka worker gives it (later requests for the same class get it wrapped once more in
/// `org.apache.kafka.connect.errors.ConnectException: `).
pub fn unknown_connector_message(name: &str) -> String {
    let descs: Vec<String> = CONNECTOR_CLASSES
        .iter()
        .map(|(class, kind)| {
            let kind = if *kind == PluginType::Source { "source" } else { "sink" };
            format!(
                "PluginDesc{{klass=class {class}, name='{class}', version='{v}', encodedVersion={v}, type={kind}, typeName='{kind}', location='classpath'}}",
                v = connector_version(class)
            )
        })
        .collect();
    format!(
        "Failed to find any class that implements Connector and which name matches {name}, available connectors are: {}",
        descs.join(", ")
    )
}

/// Every plugin; with `connectors_only`, the connectors alone (the REST default).
pub fn list_plugins(connectors_only: bool) -> Vec<PluginInfo> {
    let info = |class: &str, plugin_type| PluginInfo {
        class_name: class.to_string(),
        plugin_type,
        version: crate::KAFKA_VERSION.to_string(),
    };
    let mut plugins: Vec<PluginInfo> = CONNECTOR_CLASSES
        .iter()
        .map(|(class, kind)| PluginInfo {
            version: connector_version(class).to_string(),
            ..info(class, *kind)
        })
        .collect();
    if !connectors_only {
        // Kafka's order: by type (connectors, transformations, predicates, converters,
        // header converters), then by class name.
        let mut sorted = |classes: &[&str], plugin_type| {
            let mut classes = classes.to_vec();
            classes.sort_unstable();
            plugins.extend(classes.iter().map(|c| info(c, plugin_type)));
        };
        sorted(TRANSFORMATION_CLASSES, PluginType::Transformation);
        sorted(PREDICATE_CLASSES, PluginType::Predicate);
        sorted(CONVERTER_CLASSES, PluginType::Converter);
        sorted(
            &[CONVERTER_CLASSES, HEADER_CONVERTER_CLASSES].concat(),
            PluginType::HeaderConverter,
        );
    }
    plugins
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connectors_resolve_by_kafkas_aliases() {
        for alias in [
            "org.apache.kafka.connect.file.FileStreamSourceConnector",
            "FileStreamSourceConnector",
            "FileStreamSource",
        ] {
            assert_eq!(
                resolve_connector_class(alias),
                Some((file::SOURCE_CLASS, PluginType::Source)),
                "{alias}"
            );
        }
        assert!(resolve_connector_class("FileStream").is_none());
        for (alias, class, kind) in [
            (
                "JdbcSourceConnector",
                jdbc::SOURCE_CLASS,
                PluginType::Source,
            ),
            ("JdbcSource", jdbc::SOURCE_CLASS, PluginType::Source),
            (jdbc::SINK_CLASS, jdbc::SINK_CLASS, PluginType::Sink),
            ("JdbcSink", jdbc::SINK_CLASS, PluginType::Sink),
        ] {
            assert_eq!(
                resolve_connector_class(alias),
                Some((class, kind)),
                "{alias}"
            );
        }
        assert!(matches!(
            new_connector("JdbcSource"),
            Some(AnyConnector::Source(_))
        ));
        assert!(matches!(
            new_connector("FileStreamSink"),
            Some(AnyConnector::Sink(_))
        ));
        assert!(unknown_connector_message("Nope").starts_with(
            "Failed to find any class that implements Connector and which name matches Nope, available connectors are: PluginDesc{klass=class io.confluent.connect.jdbc.JdbcSinkConnector"
        ));
    }

    #[test]
    fn lists_connectors_only_by_default() {
        assert_eq!(list_plugins(true).len(), 4);
        let all = list_plugins(false);
        assert!(all.iter().any(|p| p.plugin_type == PluginType::Predicate));
        assert_eq!(
            serde_json::to_value(&all[3]).unwrap(),
            serde_json::json!({"class": file::SOURCE_CLASS, "type": "source", "version": crate::KAFKA_VERSION})
        );
        assert_eq!(
            serde_json::to_value(&all[1]).unwrap(),
            serde_json::json!({"class": jdbc::SOURCE_CLASS, "type": "source", "version": jdbc::VERSION})
        );
    }
}
