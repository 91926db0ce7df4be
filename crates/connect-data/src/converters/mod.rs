//! Converters: between Connect data (`SchemaAndValue`) and the bytes of a Kafka record's
//! key, value or header (Kafka's `Converter` and `HeaderConverter`), and the factory that
//! builds one from the class name a worker or connector config gives.

use std::collections::HashMap;

use crate::config::ConfigDef;
use crate::data::{SchemaAndValue, SchemaRef, Value};
use crate::error::{ConfigError, DataError};

pub mod api;
pub mod header;
pub mod json;
pub mod simple;

pub use api::{
    converter_config_def, Converter, ConverterType, HeaderConverter, CONVERTER_TYPE_CONFIG,
};

pub use header::SimpleHeaderConverter;
pub use json::{DecimalFormat, JsonConverter, JsonConverterConfig};
pub use simple::{
    BooleanConverter, ByteArrayConverter, NumberConverter, NumberKind, StringConverter,
};

/// Every built-in converter class, with the short alias Connect's plugin list also
/// accepts (the class's simple name).
pub const CONVERTER_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.json.JsonConverter",
    "org.apache.kafka.connect.storage.StringConverter",
    "org.apache.kafka.connect.converters.BooleanConverter",
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "org.apache.kafka.connect.converters.IntegerConverter",
    "org.apache.kafka.connect.converters.LongConverter",
    "org.apache.kafka.connect.converters.FloatConverter",
    "org.apache.kafka.connect.converters.DoubleConverter",
    "org.apache.kafka.connect.converters.ShortConverter",
];

/// Header converter classes (the converters above implement `HeaderConverter` too).
pub const HEADER_CONVERTER_CLASSES: &[&str] =
    &["org.apache.kafka.connect.storage.SimpleHeaderConverter"];

fn resolve(class: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .copied()
        .find(|c| *c == class || c.rsplit('.').next() == Some(class))
}

fn class_not_found(key: &str, class: &str) -> ConfigError {
    ConfigError::invalid(key, class, format!("Class {class} could not be found."))
}

/// A converter built from its class name: a boxed `Converter` usable as a header
/// converter as well (all of Kafka's built-in converters are both).
#[derive(Debug)]
pub enum AnyConverter {
    Json(JsonConverter),
    String(StringConverter),
    ByteArray(ByteArrayConverter),
    Boolean(BooleanConverter),
    Number(NumberConverter),
    SimpleHeader(SimpleHeaderConverter),
}

impl AnyConverter {
    fn inner(&self) -> (&dyn Converter, &dyn HeaderConverter) {
        match self {
            AnyConverter::Json(c) => (c, c),
            AnyConverter::String(c) => (c, c),
            AnyConverter::ByteArray(c) => (c, c),
            AnyConverter::Boolean(c) => (c, c),
            AnyConverter::Number(c) => (c, c),
            AnyConverter::SimpleHeader(c) => (c, c),
        }
    }

    /// The keys this converter class takes (its `config()`).
    pub fn config_def_of(class: &str) -> Option<ConfigDef> {
        let class = resolve(class, CONVERTER_CLASSES)
            .or_else(|| resolve(class, HEADER_CONVERTER_CLASSES))?;
        Some(match class.rsplit('.').next() {
            Some("JsonConverter") => JsonConverterConfig::config_def(),
            Some("StringConverter") | Some("SimpleHeaderConverter") => {
                simple::string_converter_config_def()
            }
            _ => converter_config_def(),
        })
    }
}

impl Converter for AnyConverter {
    fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        self.inner().0.from_connect_data(topic, schema, value)
    }

    fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        self.inner().0.to_connect_data(topic, bytes)
    }
}

impl HeaderConverter for AnyConverter {
    fn from_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        self.inner()
            .1
            .from_connect_header(topic, header_key, schema, value)
    }

    fn to_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        self.inner().1.to_connect_header(topic, header_key, bytes)
    }
}

/// Builds the converter `class` names (full or simple class name), configured with
/// `props` (the worker's or connector's `key.converter.*`-stripped keys) for `usage`.
/// `config_key` names the key that gave the class, for the error when it is unknown
/// (`key.converter`, `value.converter`, `header.converter`).
pub fn converter_for(
    config_key: &str,
    class: &str,
    props: &HashMap<String, String>,
    usage: ConverterType,
) -> Result<AnyConverter, ConfigError> {
    let known: &[&str] = if usage == ConverterType::Header {
        &[CONVERTER_CLASSES, HEADER_CONVERTER_CLASSES].concat()
    } else {
        CONVERTER_CLASSES
    };
    let resolved = resolve(class, known).ok_or_else(|| class_not_found(config_key, class))?;
    let simple_name = resolved.rsplit('.').next().unwrap_or(resolved);
    Ok(match simple_name {
        "JsonConverter" => AnyConverter::Json(JsonConverter::new(props, usage)?),
        "StringConverter" => AnyConverter::String(StringConverter::new(props, usage)?),
        "ByteArrayConverter" => AnyConverter::ByteArray(ByteArrayConverter),
        "BooleanConverter" => AnyConverter::Boolean(BooleanConverter),
        "IntegerConverter" => AnyConverter::Number(NumberConverter::new(NumberKind::Integer)),
        "LongConverter" => AnyConverter::Number(NumberConverter::new(NumberKind::Long)),
        "FloatConverter" => AnyConverter::Number(NumberConverter::new(NumberKind::Float)),
        "DoubleConverter" => AnyConverter::Number(NumberConverter::new(NumberKind::Double)),
        "ShortConverter" => AnyConverter::Number(NumberConverter::new(NumberKind::Short)),
        "SimpleHeaderConverter" => AnyConverter::SimpleHeader(SimpleHeaderConverter::new(props)?),
        other => unreachable!("resolved converter {other} has no constructor"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_converters_by_full_or_simple_class_name() {
        let props = HashMap::from([("schemas.enable".to_string(), "false".to_string())]);
        let json = converter_for(
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
            &props,
            ConverterType::Value,
        )
        .unwrap();
        assert!(matches!(json, AnyConverter::Json(_)));
        let bytes = json
            .from_connect_data("t", None, &Value::string_map([("a", Value::Int64(1))]))
            .unwrap();
        assert_eq!(bytes.as_deref(), Some(&b"{\"a\":1}"[..]));
        assert!(matches!(
            converter_for(
                "key.converter",
                "StringConverter",
                &props,
                ConverterType::Key
            ),
            Ok(AnyConverter::String(_))
        ));
        assert_eq!(
            converter_for("key.converter", "com.example.Nope", &props, ConverterType::Key)
                .unwrap_err()
                .to_string(),
            "Invalid value com.example.Nope for configuration key.converter: Class com.example.Nope could not be found."
        );
        assert!(converter_for(
            "value.converter",
            "SimpleHeaderConverter",
            &props,
            ConverterType::Value
        )
        .is_err());
    }
}
