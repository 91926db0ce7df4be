//! The converter interfaces (Kafka's `Converter`, `HeaderConverter`, `ConverterType`)
//! and the `converter.type` key every converter has.

use std::collections::HashMap;
use std::fmt;

use crate::config::{ConfigDef, ConfigType, DefaultValue, Importance, Validator};
use crate::data::{SchemaAndValue, SchemaRef, Value};
use crate::error::DataError;

/// Kafka's `ConverterType`: what the converter is used for (`converter.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConverterType {
    Key,
    Value,
    Header,
}

impl ConverterType {
    pub fn name(self) -> &'static str {
        match self {
            ConverterType::Key => "key",
            ConverterType::Value => "value",
            ConverterType::Header => "header",
        }
    }
}

impl fmt::Display for ConverterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub const CONVERTER_TYPE_CONFIG: &str = "converter.type";

/// `ConverterConfig.newConfigDef()`: the `converter.type` key every converter has.
pub fn converter_config_def() -> ConfigDef {
    ConfigDef::new().define(
        CONVERTER_TYPE_CONFIG,
        ConfigType::String,
        DefaultValue::Required,
        Some(Validator::ValidString(vec![
            "key".into(),
            "value".into(),
            "header".into(),
        ])),
        Importance::Low,
        "How this converter will be used.",
    )
}

/// The properties with `converter.type` set, as Java's `configure(configs, isKey)` does.
pub(crate) fn with_type(
    props: &HashMap<String, String>,
    converter_type: ConverterType,
) -> HashMap<String, String> {
    let mut props = props.clone();
    props.insert(
        CONVERTER_TYPE_CONFIG.to_string(),
        converter_type.name().to_string(),
    );
    props
}

/// Kafka's `Converter`. `None` bytes are a Kafka null (a tombstone as a value).
pub trait Converter: fmt::Debug + Send + Sync {
    // Kafka's method names, kept so the runtime reads like Kafka's.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError>;

    fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError>;
}

/// Kafka's `HeaderConverter`.
pub trait HeaderConverter: fmt::Debug + Send + Sync {
    #[allow(clippy::wrong_self_convention)]
    fn from_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError>;

    fn to_connect_header(
        &self,
        topic: &str,
        header_key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError>;
}
