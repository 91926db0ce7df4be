//! Kafka's `JsonConverter` (`org.apache.kafka.connect.json.JsonConverter`): Connect data
//! to JSON, with or without the `{"schema":…,"payload":…}` envelope, byte-exact with
//! Kafka's output, and back, with Kafka's `DataException` messages.

use std::collections::HashMap;
use std::sync::Arc;

use super::api::{converter_config_def, with_type, Converter, ConverterType, HeaderConverter};
use crate::config::{ConfigDef, ConfigType, DefaultValue, Importance, Validator};
use crate::data::{Schema, SchemaAndValue, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{ConfigError, DataError};
use crate::json::{self as jsonnode, JsonNode};
use crate::logical;

pub const SCHEMAS_ENABLE_CONFIG: &str = "schemas.enable";
pub const SCHEMAS_CACHE_SIZE_CONFIG: &str = "schemas.cache.size";
pub const DECIMAL_FORMAT_CONFIG: &str = "decimal.format";
pub const REPLACE_NULL_WITH_DEFAULT_CONFIG: &str = "replace.null.with.default";

/// `decimal.format`: how Decimal values are written (both are read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    /// The unscaled value's two's-complement bytes, base64 (Kafka's default).
    Base64,
    /// A JSON number (Java's `BigDecimal.toString()`).
    Numeric,
}

/// Kafka's `JsonConverterConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonConverterConfig {
    pub converter_type: ConverterType,
    pub schemas_enable: bool,
    /// Accepted and kept; schemas are not cached (caching changes no output).
    pub schemas_cache_size: i32,
    pub decimal_format: DecimalFormat,
    pub replace_null_with_default: bool,
}

impl JsonConverterConfig {
    /// `JsonConverterConfig.configDef()`.
    pub fn config_def() -> ConfigDef {
        converter_config_def()
            .define(
                SCHEMAS_ENABLE_CONFIG,
                ConfigType::Boolean,
                DefaultValue::Text("true".into()),
                None,
                Importance::High,
                "Include schemas within each of the serialized values and keys.",
            )
            .in_group("Schemas", 0, "Enable Schemas")
            .with_width("MEDIUM")
            .define(
                SCHEMAS_CACHE_SIZE_CONFIG,
                ConfigType::Int,
                DefaultValue::Text("1000".into()),
                None,
                Importance::High,
                "The maximum number of schemas that can be cached in this converter instance.",
            )
            .in_group("Schemas", 1, "Schema Cache Size")
            .with_width("MEDIUM")
            .define(
                DECIMAL_FORMAT_CONFIG,
                ConfigType::String,
                DefaultValue::Text("BASE64".into()),
                Some(Validator::CaseInsensitiveValidString(vec![
                    "BASE64".into(),
                    "NUMERIC".into(),
                ])),
                Importance::Low,
                "Controls which format this converter will serialize decimals in. This value is case insensitive and can be either 'BASE64' (default) or 'NUMERIC'",
            )
            .in_group("Serialization", 0, "Decimal Format")
            .with_width("MEDIUM")
            .define(
                REPLACE_NULL_WITH_DEFAULT_CONFIG,
                ConfigType::Boolean,
                DefaultValue::Text("true".into()),
                None,
                Importance::Low,
                "Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.",
            )
            .in_group("Serialization", 1, "Replace null with default")
            .with_width("MEDIUM")
    }

    /// Parses Kafka's keys; `converter_type` overrides any `converter.type` given, as
    /// `configure(configs, isKey)` does.
    pub fn new(
        props: &HashMap<String, String>,
        converter_type: ConverterType,
    ) -> Result<JsonConverterConfig, ConfigError> {
        let parsed = Self::config_def().parse(&with_type(props, converter_type))?;
        let decimal_format = match parsed
            .string(DECIMAL_FORMAT_CONFIG)
            .unwrap_or("BASE64")
            .to_ascii_uppercase()
            .as_str()
        {
            "NUMERIC" => DecimalFormat::Numeric,
            _ => DecimalFormat::Base64,
        };
        Ok(JsonConverterConfig {
            converter_type,
            schemas_enable: parsed.boolean(SCHEMAS_ENABLE_CONFIG),
            schemas_cache_size: parsed.int(SCHEMAS_CACHE_SIZE_CONFIG).unwrap_or(1000),
            decimal_format,
            replace_null_with_default: parsed.boolean(REPLACE_NULL_WITH_DEFAULT_CONFIG),
        })
    }
}

/// Kafka's `JsonConverter`.
#[derive(Debug, Clone)]
pub struct JsonConverter {
    config: JsonConverterConfig,
}

impl JsonConverter {
    pub fn new(
        props: &HashMap<String, String>,
        converter_type: ConverterType,
    ) -> Result<JsonConverter, ConfigError> {
        Ok(JsonConverter {
            config: JsonConverterConfig::new(props, converter_type)?,
        })
    }

    pub fn with_config(config: JsonConverterConfig) -> JsonConverter {
        JsonConverter { config }
    }

    pub fn config(&self) -> &JsonConverterConfig {
        &self.config
    }

    /// `asJsonSchema`: the JSON form of a Connect schema.
    pub fn as_json_schema(&self, schema: &Schema) -> Result<JsonNode, DataError> {
        let mut node = vec![(
            "type".to_string(),
            JsonNode::Text(json_type_name(schema.schema_type()).to_string()),
        )];
        match schema.schema_type() {
            Type::Array => {
                let items = match schema.value_schema() {
                    Some(items) => self.as_json_schema(items)?,
                    None => JsonNode::Null,
                };
                node.push(("items".into(), items));
            }
            Type::Map => {
                let keys = match schema.key_schema() {
                    Some(s) => self.as_json_schema(s)?,
                    None => JsonNode::Null,
                };
                let values = match schema.value_schema() {
                    Some(s) => self.as_json_schema(s)?,
                    None => JsonNode::Null,
                };
                node.push(("keys".into(), keys));
                node.push(("values".into(), values));
            }
            Type::Struct => {
                let mut fields = Vec::with_capacity(schema.fields().len());
                for field in schema.fields() {
                    let JsonNode::Object(mut field_node) = self.as_json_schema(field.schema())?
                    else {
                        unreachable!("a schema's JSON form is an object")
                    };
                    JsonNode::set(
                        &mut field_node,
                        "field",
                        JsonNode::Text(field.name().to_string()),
                    );
                    fields.push(JsonNode::Object(field_node));
                }
                node.push(("fields".into(), JsonNode::Array(fields)));
            }
            _ => {}
        }
        node.push(("optional".into(), JsonNode::Bool(schema.is_optional())));
        if let Some(name) = schema.name() {
            node.push(("name".into(), JsonNode::Text(name.to_string())));
        }
        if let Some(version) = schema.version() {
            node.push(("version".into(), JsonNode::Int(version)));
        }
        if let Some(doc) = schema.doc() {
            node.push(("doc".into(), JsonNode::Text(doc.to_string())));
        }
        if let Some(parameters) = schema.parameters() {
            let parameters = parameters
                .iter()
                .map(|(k, v)| (k.clone(), JsonNode::Text(v.clone())))
                .collect();
            node.push(("parameters".into(), JsonNode::Object(parameters)));
        }
        if let Some(default) = schema.default_value() {
            node.push((
                "default".into(),
                self.convert_to_json(Some(schema), default)?,
            ));
        }
        Ok(JsonNode::Object(node))
    }

    /// `asConnectSchema`: a Connect schema from its JSON form (`None` for JSON null).
    pub fn as_connect_schema(&self, node: &JsonNode) -> Result<Option<SchemaRef>, DataError> {
        if matches!(node, JsonNode::Null) {
            return Ok(None);
        }
        let type_name = node
            .get("type")
            .and_then(JsonNode::text_value)
            .ok_or_else(|| DataError::new("Schema must contain 'type' field"))?;
        let mut builder = match type_name {
            "boolean" => SchemaBuilder::bool(),
            "int8" => SchemaBuilder::int8(),
            "int16" => SchemaBuilder::int16(),
            "int32" => SchemaBuilder::int32(),
            "int64" => SchemaBuilder::int64(),
            "float" => SchemaBuilder::float32(),
            "double" => SchemaBuilder::float64(),
            "bytes" => SchemaBuilder::bytes(),
            "string" => SchemaBuilder::string(),
            "array" => {
                let items = node
                    .get("items")
                    .filter(|n| !matches!(n, JsonNode::Null))
                    .ok_or_else(|| {
                        DataError::new("Array schema did not specify the element type")
                    })?;
                SchemaBuilder::array(self.required_schema(items)?)
            }
            "map" => {
                let keys = node
                    .get("keys")
                    .ok_or_else(|| DataError::new("Map schema did not specify the key type"))?;
                let values = node
                    .get("values")
                    .ok_or_else(|| DataError::new("Map schema did not specify the value type"))?;
                SchemaBuilder::map(self.required_schema(keys)?, self.required_schema(values)?)
            }
            "struct" => {
                let mut builder = SchemaBuilder::struct_();
                let Some(JsonNode::Array(fields)) = node.get("fields") else {
                    return Err(DataError::new(
                        "Struct schema's \"fields\" argument is not an array.",
                    ));
                };
                for field in fields {
                    let name = field
                        .get("field")
                        .and_then(JsonNode::text_value)
                        .ok_or_else(|| {
                            DataError::new("Struct schema's field name not specified properly")
                        })?;
                    builder = builder.field(name, self.required_schema(field)?)?;
                }
                builder
            }
            other => return Err(DataError::new(format!("Unknown schema type: {other}"))),
        };
        builder = builder.set_optional(matches!(node.get("optional"), Some(JsonNode::Bool(true))));
        if let Some(name) = node.get("name").and_then(JsonNode::text_value) {
            builder = builder.name(name);
        }
        if let Some(version) = node.get("version").filter(|v| v.is_integral()) {
            builder = builder.version(version.int_value());
        }
        if let Some(doc) = node.get("doc").and_then(JsonNode::text_value) {
            builder = builder.doc(doc);
        }
        if let Some(JsonNode::Object(parameters)) = node.get("parameters") {
            for (key, value) in parameters {
                let value = value
                    .text_value()
                    .ok_or_else(|| DataError::new("Schema parameters must have string values."))?;
                builder = builder.parameter(key.clone(), value);
            }
        }
        if let Some(default) = node.get("default") {
            let so_far = Arc::new(builder.peek().clone());
            let value = self.convert_to_connect(Some(&so_far), default)?;
            builder = builder.default_value(value)?;
        }
        Ok(Some(builder.build()))
    }

    /// A nested schema, which Java reads the same way; JSON null there leaves Java with a
    /// null schema that fails later, so it fails here with the type error Java gives.
    fn required_schema(&self, node: &JsonNode) -> Result<SchemaRef, DataError> {
        self.as_connect_schema(node)?
            .ok_or_else(|| DataError::new("Schema must contain 'type' field"))
    }

    /// `convertToJson`.
    fn convert_to_json(
        &self,
        schema: Option<&Schema>,
        value: &Value,
    ) -> Result<JsonNode, DataError> {
        if value.is_null() {
            let Some(schema) = schema else {
                return Ok(JsonNode::Null);
            };
            if let (Some(default), true) = (
                schema.default_value(),
                self.config.replace_null_with_default,
            ) {
                return self.convert_to_json(Some(schema), default);
            }
            if schema.is_optional() {
                return Ok(JsonNode::Null);
            }
            return Err(DataError::new(
                "Conversion error: null value for field that is required and has no default value",
            ));
        }
        if let Some(schema) = schema {
            if let Some(node) = self.logical_to_json(schema, value)? {
                return Ok(node);
            }
        }
        let schema_type = match schema {
            Some(schema) => schema.schema_type(),
            None => value.schema_type().ok_or_else(|| {
                DataError::new(format!(
                    "Java class class {} does not have corresponding schema type.",
                    value.java_class()
                ))
            })?,
        };
        let mismatch = || {
            let type_name = schema
                .map(|s| s.schema_type().to_string())
                .unwrap_or_else(|| "unknown schema".to_string());
            DataError::new(format!(
                "Invalid type for {type_name}: class {}",
                value.java_class()
            ))
        };
        Ok(match (schema_type, value) {
            (Type::Int8, Value::Int8(v)) => JsonNode::Int(i32::from(*v)),
            (Type::Int16, Value::Int16(v)) => JsonNode::Int(i32::from(*v)),
            (Type::Int32, Value::Int32(v)) => JsonNode::Int(*v),
            (Type::Int64, Value::Int64(v)) => JsonNode::Long(*v),
            (Type::Float32, Value::Float32(v)) => JsonNode::Float(*v),
            (Type::Float64, Value::Float64(v)) => JsonNode::Double(*v),
            (Type::Boolean, Value::Boolean(v)) => JsonNode::Bool(*v),
            (Type::String, Value::String(v)) => JsonNode::Text(v.clone()),
            (Type::Bytes, Value::Bytes(v)) => JsonNode::Binary(v.clone()),
            (Type::Bytes, other) => {
                return Err(DataError::new(format!(
                    "Invalid type for bytes type: class {}",
                    other.java_class()
                )))
            }
            (Type::Array, Value::Array(items)) => {
                let items_schema = schema.and_then(|s| s.value_schema()).map(|s| s.as_ref());
                JsonNode::Array(
                    items
                        .iter()
                        .map(|item| self.convert_to_json(items_schema, item))
                        .collect::<Result<_, _>>()?,
                )
            }
            (Type::Map, Value::Map(entries)) => {
                let key_schema = schema.and_then(|s| s.key_schema()).map(|s| s.as_ref());
                let value_schema = schema.and_then(|s| s.value_schema()).map(|s| s.as_ref());
                let object_mode = match key_schema {
                    Some(key_schema) => key_schema.schema_type() == Type::String,
                    None if schema.is_some() => false,
                    None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
                };
                let mut object = Vec::new();
                let mut pairs = Vec::new();
                for (k, v) in entries {
                    let key = self.convert_to_json(key_schema, k)?;
                    let value = self.convert_to_json(value_schema, v)?;
                    if object_mode {
                        JsonNode::set(&mut object, &key.as_text(), value);
                    } else {
                        pairs.push(JsonNode::Array(vec![key, value]));
                    }
                }
                if object_mode {
                    JsonNode::Object(object)
                } else {
                    JsonNode::Array(pairs)
                }
            }
            (Type::Struct, Value::Struct(s)) => {
                let Some(schema) = schema.filter(|schema| s.schema().as_ref() == *schema) else {
                    return Err(DataError::new("Mismatching schema."));
                };
                let mut object = Vec::with_capacity(schema.fields().len());
                for field in schema.fields() {
                    let node =
                        self.convert_to_json(Some(field.schema()), s.value_at(field.index()))?;
                    object.push((field.name().to_string(), node));
                }
                JsonNode::Object(object)
            }
            _ => return Err(mismatch()),
        })
    }

    fn logical_to_json(
        &self,
        schema: &Schema,
        value: &Value,
    ) -> Result<Option<JsonNode>, DataError> {
        let expected_date = |what: &str| {
            DataError::new(format!(
                "Invalid type for {what}, expected Date but was class {}",
                value.java_class()
            ))
        };
        Ok(Some(match schema.name() {
            Some(logical::DECIMAL_NAME) => {
                let Value::Decimal(decimal) = value else {
                    return Err(DataError::new(format!(
                        "Invalid type for Decimal, expected BigDecimal but was class {}",
                        value.java_class()
                    )));
                };
                match self.config.decimal_format {
                    DecimalFormat::Numeric => JsonNode::Decimal(decimal.clone()),
                    DecimalFormat::Base64 => {
                        JsonNode::Binary(logical::decimal_from_logical(schema, decimal)?)
                    }
                }
            }
            Some(logical::DATE_NAME) => {
                let Value::Date(ms) = value else {
                    return Err(expected_date("Date"));
                };
                JsonNode::Int(logical::date_from_logical(schema, *ms)?)
            }
            Some(logical::TIME_NAME) => {
                let Value::Date(ms) = value else {
                    return Err(expected_date("Time"));
                };
                JsonNode::Int(logical::time_from_logical(schema, *ms)?)
            }
            Some(logical::TIMESTAMP_NAME) => {
                let Value::Date(ms) = value else {
                    return Err(expected_date("Timestamp"));
                };
                JsonNode::Long(logical::timestamp_from_logical(schema, *ms)?)
            }
            _ => return Ok(None),
        }))
    }

    /// `convertToConnect`.
    fn convert_to_connect(
        &self,
        schema: Option<&SchemaRef>,
        node: &JsonNode,
    ) -> Result<Value, DataError> {
        let schema_type = match schema {
            Some(schema) => {
                if node.is_null_or_missing() {
                    if let (Some(default), true) = (
                        schema.default_value(),
                        self.config.replace_null_with_default,
                    ) {
                        return Ok(default.clone());
                    }
                    if schema.is_optional() {
                        return Ok(Value::Null);
                    }
                    return Err(DataError::new(format!(
                        "Invalid null value for required {} field",
                        schema.schema_type()
                    )));
                }
                schema.schema_type()
            }
            None => match node {
                JsonNode::Null | JsonNode::Missing => return Ok(Value::Null),
                JsonNode::Bool(_) => Type::Boolean,
                n if n.is_integral() => Type::Int64,
                n if n.is_number() => Type::Float64,
                JsonNode::Array(_) => Type::Array,
                JsonNode::Object(_) => Type::Map,
                JsonNode::Text(_) => Type::String,
                _ => return Err(DataError::new("Unknown schema type: null")),
            },
        };
        if let Some(schema) = schema {
            if let Some(value) = logical_to_connect(schema, node)? {
                return Ok(value);
            }
        }
        Ok(match schema_type {
            Type::Boolean => Value::Boolean(node.boolean_value()),
            Type::Int8 => Value::Int8(node.int_value() as i8),
            Type::Int16 => Value::Int16(node.int_value() as i16),
            Type::Int32 => Value::Int32(node.int_value()),
            Type::Int64 => Value::Int64(node.long_value()),
            Type::Float32 => Value::Float32(node.float_value()),
            Type::Float64 => Value::Float64(node.double_value()),
            Type::Bytes => match node.binary_value() {
                Ok(Some(bytes)) => Value::Bytes(bytes),
                Ok(None) => Value::Null,
                Err(_) => return Err(DataError::new("Invalid bytes field")),
            },
            Type::String => node.text_value().map(Value::string).unwrap_or(Value::Null),
            Type::Array => {
                let items_schema = schema.and_then(|s| s.value_schema());
                let items: &[JsonNode] = match node {
                    JsonNode::Array(items) => items,
                    _ => &[],
                };
                let mut values = items
                    .iter()
                    .map(|item| self.convert_to_connect(items_schema, item))
                    .collect::<Result<Vec<_>, _>>()?;
                // Jackson iterates an object's values as its elements.
                if let JsonNode::Object(fields) = node {
                    for (_, item) in fields {
                        values.push(self.convert_to_connect(items_schema, item)?);
                    }
                }
                Value::Array(values)
            }
            Type::Map => {
                let key_schema = schema.and_then(|s| s.key_schema());
                let value_schema = schema.and_then(|s| s.value_schema());
                let mut entries: Vec<(Value, Value)> = Vec::new();
                if schema.is_none() || key_schema.map(|k| k.schema_type()) == Some(Type::String) {
                    let JsonNode::Object(fields) = node else {
                        return Err(DataError::new(format!(
                            "Maps with string fields should be encoded as JSON objects, but found {}",
                            node.node_type()
                        )));
                    };
                    for (key, item) in fields {
                        let value = self.convert_to_connect(value_schema, item)?;
                        Value::map_put(&mut entries, key, value);
                    }
                } else {
                    let JsonNode::Array(pairs) = node else {
                        return Err(DataError::new(format!(
                            "Maps with non-string fields should be encoded as JSON array of tuples, but found {}",
                            node.node_type()
                        )));
                    };
                    for pair in pairs {
                        let JsonNode::Array(tuple) = pair else {
                            return Err(DataError::new(format!(
                                "Found invalid map entry instead of array tuple: {}",
                                pair.node_type()
                            )));
                        };
                        if tuple.len() != 2 {
                            return Err(DataError::new(format!(
                                "Found invalid map entry, expected length 2 but found :{}",
                                tuple.len()
                            )));
                        }
                        let key = self.convert_to_connect(key_schema, &tuple[0])?;
                        let value = self.convert_to_connect(value_schema, &tuple[1])?;
                        match entries.iter_mut().find(|(k, _)| *k == key) {
                            Some(entry) => entry.1 = value,
                            None => entries.push((key, value)),
                        }
                    }
                }
                Value::Map(entries)
            }
            Type::Struct => {
                if !matches!(node, JsonNode::Object(_)) {
                    return Err(DataError::new(format!(
                        "Structs should be encoded as JSON objects, but found {}",
                        node.node_type()
                    )));
                }
                let schema = schema.expect("a struct type comes from a schema");
                let mut result = Struct::new(schema.clone())?;
                for field in schema.fields() {
                    let item = node.get(field.name()).unwrap_or(&JsonNode::Missing);
                    let value = self.convert_to_connect(Some(field.schema()), item)?;
                    result.put(field.name(), value)?;
                }
                Value::Struct(result)
            }
        })
    }
}

fn logical_to_connect(schema: &Schema, node: &JsonNode) -> Result<Option<Value>, DataError> {
    Ok(Some(match schema.name() {
        Some(logical::DECIMAL_NAME) => {
            if node.is_number() {
                Value::Decimal(node.decimal_value())
            } else if matches!(node, JsonNode::Binary(_) | JsonNode::Text(_)) {
                let bytes = node
                    .binary_value()
                    .ok()
                    .flatten()
                    .ok_or_else(|| DataError::new("Invalid bytes for Decimal field"))?;
                let decimal = logical::decimal_to_logical(schema, &bytes)
                    .map_err(|_| DataError::new("Invalid bytes for Decimal field"))?;
                Value::Decimal(decimal)
            } else {
                return Err(DataError::new(format!(
                    "Invalid type for Decimal, underlying representation should be numeric or bytes but was {}",
                    node.node_type()
                )));
            }
        }
        Some(logical::DATE_NAME) => {
            if !node.is_int() {
                return Err(DataError::new(format!(
                    "Invalid type for Date, underlying representation should be integer but was {}",
                    node.node_type()
                )));
            }
            Value::Date(logical::date_to_logical(schema, node.int_value())?)
        }
        Some(logical::TIME_NAME) => {
            if !node.is_int() {
                return Err(DataError::new(format!(
                    "Invalid type for Time, underlying representation should be integer but was {}",
                    node.node_type()
                )));
            }
            Value::Date(logical::time_to_logical(schema, node.int_value())?)
        }
        Some(logical::TIMESTAMP_NAME) => {
            if !node.is_integral() {
                return Err(DataError::new(format!(
                    "Invalid type for Timestamp, underlying representation should be integral but was {}",
                    node.node_type()
                )));
            }
            Value::Date(logical::timestamp_to_logical(schema, node.long_value())?)
        }
        _ => return Ok(None),
    }))
}

/// The `type` JsonConverter writes for a schema type (`float`/`double`, not Connect's
/// `float32`/`float64`).
fn json_type_name(schema_type: Type) -> &'static str {
    match schema_type {
        Type::Float32 => "float",
        Type::Float64 => "double",
        other => other.name(),
    }
}

impl Converter for JsonConverter {
    fn from_connect_data(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        let payload = self.convert_to_json(schema.map(|s| s.as_ref()), value)?;
        let node = if self.config.schemas_enable {
            let schema_node = match schema {
                Some(schema) => self.as_json_schema(schema)?,
                None => JsonNode::Null,
            };
            JsonNode::Object(vec![
                ("schema".to_string(), schema_node),
                ("payload".to_string(), payload),
            ])
        } else {
            payload
        };
        Ok(Some(node.to_json().into_bytes()))
    }

    fn to_connect_data(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::NULL);
        };
        let node = jsonnode::parse(bytes).map_err(|_| {
            DataError::new(
                "Converting byte[] to Kafka Connect data failed due to serialization error: ",
            )
        })?;
        if !self.config.schemas_enable {
            return Ok(SchemaAndValue::new(
                None,
                self.convert_to_connect(None, &node)?,
            ));
        }
        let envelope = match &node {
            JsonNode::Object(fields)
                if fields.len() == 2 && node.get("schema").is_some() && node.get("payload").is_some() =>
            {
                (node.get("schema").expect("checked"), node.get("payload").expect("checked"))
            }
            _ => {
                return Err(DataError::new(
                    "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.",
                ))
            }
        };
        let schema = self.as_connect_schema(envelope.0)?;
        let value = self.convert_to_connect(schema.as_ref(), envelope.1)?;
        Ok(SchemaAndValue::new(schema, value))
    }
}

impl HeaderConverter for JsonConverter {
    fn from_connect_header(
        &self,
        topic: &str,
        _header_key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        self.from_connect_data(topic, schema, value)
    }

    fn to_connect_header(
        &self,
        topic: &str,
        _header_key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        self.to_connect_data(topic, bytes)
    }
}

#[cfg(test)]
mod tests {
    //! Cases from Kafka's JsonConverterTest, plus the seed's exact line.
    use super::*;
    use crate::data::Struct;
    use crate::decimal::Decimal;
    use crate::logical::MILLIS_PER_DAY;

    fn converter(pairs: &[(&str, &str)]) -> JsonConverter {
        let props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        JsonConverter::new(&props, ConverterType::Value).unwrap()
    }

    fn write(c: &JsonConverter, schema: Option<&SchemaRef>, value: &Value) -> String {
        String::from_utf8(c.from_connect_data("t", schema, value).unwrap().unwrap()).unwrap()
    }

    fn read(c: &JsonConverter, text: &str) -> SchemaAndValue {
        c.to_connect_data("t", Some(text.as_bytes())).unwrap()
    }

    fn read_err(c: &JsonConverter, text: &str) -> String {
        c.to_connect_data("t", Some(text.as_bytes()))
            .unwrap_err()
            .message
    }

    fn p(t: Type, optional: bool) -> SchemaRef {
        Schema::primitive(t, optional)
    }

    #[test]
    fn writes_the_seeds_users_record_byte_for_byte() {
        let schema = SchemaBuilder::struct_()
            .name("users")
            .field("id", p(Type::Int64, false))
            .unwrap()
            .field("user_id", p(Type::String, true))
            .unwrap()
            .field("created_at", crate::logical::date().optional().build())
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("id", Value::Int64(5))
            .unwrap()
            .with("user_id", Value::string("user5"))
            .unwrap()
            .with("created_at", Value::Date(19847 * MILLIS_PER_DAY))
            .unwrap();
        assert_eq!(
            write(
                &converter(&[]),
                Some(&schema),
                &Value::Struct(value.clone())
            ),
            r#"{"schema":{"type":"struct","fields":[{"type":"int64","optional":false,"field":"id"},{"type":"string","optional":true,"field":"user_id"},{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"created_at"}],"optional":false,"name":"users"},"payload":{"id":5,"user_id":"user5","created_at":19847}}"#
        );
        // And back: the same schema and struct.
        let bytes = write(
            &converter(&[]),
            Some(&schema),
            &Value::Struct(value.clone()),
        );
        let back = read(&converter(&[]), &bytes);
        assert_eq!(back.schema.as_ref(), Some(&schema));
        assert_eq!(back.value, Value::Struct(value));
    }

    #[test]
    fn reads_primitives_with_schemas() {
        let c = converter(&[]);
        for (text, t, value) in [
            (
                r#"{ "schema": { "type": "boolean" }, "payload": true }"#,
                Type::Boolean,
                Value::Boolean(true),
            ),
            (
                r#"{ "schema": { "type": "int8" }, "payload": 12 }"#,
                Type::Int8,
                Value::Int8(12),
            ),
            (
                r#"{ "schema": { "type": "int16" }, "payload": 12 }"#,
                Type::Int16,
                Value::Int16(12),
            ),
            (
                r#"{ "schema": { "type": "int32" }, "payload": 12 }"#,
                Type::Int32,
                Value::Int32(12),
            ),
            (
                r#"{ "schema": { "type": "int64" }, "payload": 4398046511104 }"#,
                Type::Int64,
                Value::Int64(4398046511104),
            ),
            (
                r#"{ "schema": { "type": "int8" }, "payload": 0012 }"#,
                Type::Int8,
                Value::Int8(12),
            ),
            (
                r#"{ "schema": { "type": "int64" }, "payload": 00000123456789 }"#,
                Type::Int64,
                Value::Int64(123456789),
            ),
            (
                r#"{ "schema": { "type": "float" }, "payload": 12.34 }"#,
                Type::Float32,
                Value::Float32(12.34),
            ),
            (
                r#"{ "schema": { "type": "double" }, "payload": 12.34 }"#,
                Type::Float64,
                Value::Float64(12.34),
            ),
            (
                r#"{ "schema": { "type": "bytes" }, "payload": "dGVzdC1zdHJpbmc=" }"#,
                Type::Bytes,
                Value::Bytes(b"test-string".to_vec()),
            ),
            (
                r#"{ "schema": { "type": "string" }, "payload": "foo-bar-baz" }"#,
                Type::String,
                Value::string("foo-bar-baz"),
            ),
        ] {
            assert_eq!(
                read(&c, text),
                SchemaAndValue::new(Some(p(t, false)), value),
                "{text}"
            );
        }
        assert_eq!(
            read(
                &c,
                r#"{ "schema": { "type": "boolean", "optional": true }, "payload": null }"#
            ),
            SchemaAndValue::new(Some(p(Type::Boolean, true)), Value::Null)
        );
        let with_default = read(
            &c,
            r#"{ "schema": { "type": "boolean", "default": true }, "payload": null }"#,
        );
        assert_eq!(with_default.value, Value::Boolean(true));
        let metadata = read(
            &c,
            r#"{ "schema": { "type": "boolean", "optional": false, "name": "bool", "version": 2, "doc": "the documentation", "parameters": { "foo": "bar" }}, "payload": true }"#,
        );
        let expected = SchemaBuilder::bool()
            .name("bool")
            .version(2)
            .doc("the documentation")
            .parameter("foo", "bar")
            .build();
        assert_eq!(metadata.schema, Some(expected));
    }

    #[test]
    fn reads_arrays_maps_and_structs() {
        let c = converter(&[]);
        let array = read(
            &c,
            r#"{ "schema": { "type": "array", "items": { "type" : "int32" } }, "payload": [1, 2, 3] }"#,
        );
        assert_eq!(
            array.schema,
            Some(SchemaBuilder::array(p(Type::Int32, false)).build())
        );
        assert_eq!(
            array.value,
            Value::Array(vec![Value::Int32(1), Value::Int32(2), Value::Int32(3)])
        );
        let map = read(
            &c,
            r#"{ "schema": { "type": "map", "keys": { "type" : "int32" }, "values": { "type" : "int32" } }, "payload": [ [1, 12], [2, 15] ] }"#,
        );
        assert_eq!(
            map.value,
            Value::Map(vec![
                (Value::Int32(1), Value::Int32(12)),
                (Value::Int32(2), Value::Int32(15))
            ])
        );
        let structure = read(
            &c,
            r#"{ "schema": { "type": "struct", "fields": [{ "field":"optional", "type": "string", "optional": true }, {  "field": "required", "type": "string" }] }, "payload": { "required": "required" } }"#,
        );
        let Value::Struct(s) = structure.value else {
            panic!("a struct")
        };
        assert_eq!(s.get("optional").unwrap(), &Value::Null);
        assert_eq!(s.get("required").unwrap(), &Value::string("required"));
    }

    #[test]
    fn reads_schemaless_envelopes_and_plain_json() {
        let c = converter(&[]);
        assert_eq!(
            read(&c, r#"{ "schema": null, "payload": null }"#),
            SchemaAndValue::NULL
        );
        assert_eq!(
            read(&c, r#"{ "schema": null, "payload": 12 }"#).value,
            Value::Int64(12)
        );
        assert_eq!(
            read(&c, r#"{ "schema": null, "payload": 12.24 }"#).value,
            Value::Float64(12.24)
        );
        assert_eq!(
            read(&c, r#"{ "schema": null, "payload": [1, "2", 3] }"#).value,
            Value::Array(vec![Value::Int64(1), Value::string("2"), Value::Int64(3)])
        );
        assert_eq!(
            read(
                &c,
                r#"{ "schema": null, "payload": { "field1": 1, "field2": 2} }"#
            )
            .value,
            Value::string_map([("field1", Value::Int64(1)), ("field2", Value::Int64(2))])
        );
        let plain = converter(&[("schemas.enable", "false")]);
        assert_eq!(read(&plain, "").value, Value::Null);
        assert_eq!(
            read(&plain, r#"{ "a": "", "b": null}"#).value,
            Value::string_map([("a", Value::string("")), ("b", Value::Null)])
        );
        assert_eq!(
            plain.to_connect_data("t", None).unwrap(),
            SchemaAndValue::NULL
        );
    }

    #[test]
    fn reads_logical_types() {
        let c = converter(&[]);
        let decimal = |scale: &str, payload: &str| {
            read(
                &c,
                &format!(
                    r#"{{ "schema": {{ "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "version": 1, "parameters": {{ "scale": "{scale}" }} }}, "payload": {payload} }}"#
                ),
            )
        };
        let d156: Decimal = "1.56".parse().unwrap();
        let from_base64 = decimal("2", "\"AJw=\"");
        assert_eq!(from_base64.schema, Some(crate::logical::decimal(2).build()));
        assert_eq!(from_base64.value, Value::Decimal(d156.clone()));
        assert_eq!(decimal("2", "1.56").value, Value::Decimal(d156));
        assert_eq!(
            decimal("4", "1.5600").value,
            Value::Decimal("1.5600".parse().unwrap())
        );
        assert_eq!(
            decimal("17", "1.23456789123456789").value,
            Value::Decimal("1.23456789123456789".parse().unwrap())
        );
        let date = read(
            &c,
            r#"{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1 }, "payload": 10000 }"#,
        );
        assert_eq!(date.value, Value::Date(10000 * MILLIS_PER_DAY));
        let date_default = read(
            &c,
            r#"{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date", "version": 1, "default": 0 }, "payload": null }"#,
        );
        assert_eq!(date_default.value, Value::Date(0));
        let time = read(
            &c,
            r#"{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Time", "version": 1 }, "payload": 14400000 }"#,
        );
        assert_eq!(time.value, Value::Date(14_400_000));
        let timestamp = read(
            &c,
            r#"{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1 }, "payload": 4000000000 }"#,
        );
        assert_eq!(timestamp.value, Value::Date(4_000_000_000));
        let timestamp_default = read(
            &c,
            r#"{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,  "optional": true, "default": 42 }, "payload": null }"#,
        );
        assert_eq!(timestamp_default.value, Value::Date(42));
        let no_replace = converter(&[("replace.null.with.default", "false")]);
        let kept_null = read(
            &no_replace,
            r#"{ "schema": { "type": "int64", "name": "org.apache.kafka.connect.data.Timestamp", "version": 1,  "optional": true, "default": 42 }, "payload": null }"#,
        );
        assert_eq!(kept_null.value, Value::Null);
    }

    #[test]
    fn rejects_bad_input_with_kafkas_messages() {
        let c = converter(&[]);
        let envelope = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";
        assert_eq!(read_err(&c, r#"{"a":1}"#), envelope);
        assert_eq!(
            read_err(&c, r#"{"schema":null,"payload":1,"x":2}"#),
            envelope
        );
        assert_eq!(read_err(&c, "[1]"), envelope);
        assert_eq!(
            read_err(&c, "{\"schema\":"),
            "Converting byte[] to Kafka Connect data failed due to serialization error: "
        );
        assert_eq!(
            read_err(&c, r#"{ "schema": { "type": "int32" }, "payload": null }"#),
            "Invalid null value for required INT32 field"
        );
        assert_eq!(
            read_err(&c, r#"{ "schema": { "type": "nope" }, "payload": 1 }"#),
            "Unknown schema type: nope"
        );
        assert_eq!(
            read_err(&c, r#"{ "schema": { "optional": true }, "payload": 1 }"#),
            "Schema must contain 'type' field"
        );
        assert_eq!(
            read_err(
                &c,
                r#"{ "schema": { "type": "struct", "fields": [{"type":"int32"}] }, "payload": {} }"#
            ),
            "Struct schema's field name not specified properly"
        );
        assert_eq!(
            read_err(
                &c,
                r#"{ "schema": { "type": "struct", "fields": [] }, "payload": 1 }"#
            ),
            "Structs should be encoded as JSON objects, but found NUMBER"
        );
        assert_eq!(
            read_err(
                &c,
                r#"{ "schema": { "type": "int32", "name": "org.apache.kafka.connect.data.Date" }, "payload": "x" }"#
            ),
            "Invalid type for Date, underlying representation should be integer but was STRING"
        );
        assert_eq!(
            read_err(
                &c,
                r#"{ "schema": { "type": "map", "keys": { "type" : "string" }, "values": { "type" : "int32" } }, "payload": [] }"#
            ),
            "Maps with string fields should be encoded as JSON objects, but found ARRAY"
        );
    }

    #[test]
    fn writes_schemas_in_kafkas_field_order() {
        let c = converter(&[]);
        assert_eq!(
            write(&c, Some(&p(Type::Boolean, false)), &Value::Boolean(true)),
            r#"{"schema":{"type":"boolean","optional":false},"payload":true}"#
        );
        assert_eq!(
            write(&c, Some(&p(Type::Boolean, true)), &Value::Null),
            r#"{"schema":{"type":"boolean","optional":true},"payload":null}"#
        );
        let with_everything = SchemaBuilder::bool()
            .name("bool")
            .version(3)
            .doc("the documentation")
            .parameter("foo", "bar")
            .default_value(Value::Boolean(true))
            .unwrap()
            .build();
        assert_eq!(
            write(&c, Some(&with_everything), &Value::Boolean(true)),
            r#"{"schema":{"type":"boolean","optional":false,"name":"bool","version":3,"doc":"the documentation","parameters":{"foo":"bar"},"default":true},"payload":true}"#
        );
        let map = SchemaBuilder::map(p(Type::Int32, false), p(Type::Float32, true)).build();
        assert_eq!(
            write(
                &c,
                Some(&map),
                &Value::Map(vec![
                    (Value::Int32(1), Value::Float32(1.5)),
                    (Value::Int32(2), Value::Null)
                ])
            ),
            r#"{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"float","optional":true},"optional":false},"payload":[[1,1.5],[2,null]]}"#
        );
        assert_eq!(
            write(&c, Some(&p(Type::String, false)), &Value::string("foo")),
            r#"{"schema":{"type":"string","optional":false},"payload":"foo"}"#
        );
        assert_eq!(
            write(&c, Some(&p(Type::Float64, false)), &Value::Float64(1e10)),
            r#"{"schema":{"type":"double","optional":false},"payload":1.0E10}"#
        );
    }

    #[test]
    fn writes_decimals_as_base64_or_numbers() {
        let schema = crate::logical::decimal(2).build();
        let value = Value::Decimal("1.56".parse().unwrap());
        assert_eq!(
            write(&converter(&[]), Some(&schema), &value),
            r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"AJw="}"#
        );
        assert_eq!(
            write(
                &converter(&[("decimal.format", "numeric")]),
                Some(&schema),
                &value
            ),
            r#"{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":1.56}"#
        );
        assert_eq!(
            converter(&[])
                .from_connect_data("t", None, &value)
                .unwrap_err()
                .message,
            "Java class class java.math.BigDecimal does not have corresponding schema type."
        );
        assert_eq!(
            JsonConverter::new(
                &HashMap::from([("decimal.format".to_string(), "HEX".to_string())]),
                ConverterType::Value
            )
            .unwrap_err()
            .to_string(),
            "Invalid value HEX for configuration decimal.format: String must be one of (case insensitive): BASE64, NUMERIC"
        );
    }

    #[test]
    fn writes_schemaless_values() {
        let c = converter(&[]);
        assert_eq!(c.from_connect_data("t", None, &Value::Null).unwrap(), None);
        assert_eq!(
            write(
                &c,
                None,
                &Value::Map(vec![
                    (Value::string("string"), Value::Int32(12)),
                    (Value::Int32(52), Value::string("string"))
                ])
            ),
            r#"{"schema":null,"payload":[["string",12],[52,"string"]]}"#
        );
        let plain = converter(&[("schemas.enable", "false")]);
        assert_eq!(
            write(
                &plain,
                None,
                &Value::string_map([("a", Value::Array(vec![Value::Boolean(true)]))])
            ),
            r#"{"a":[true]}"#
        );
        assert_eq!(
            write(&plain, Some(&p(Type::Int32, true)), &Value::Null),
            "null"
        );
    }

    #[test]
    fn writes_nulls_and_defaults_as_kafka() {
        let schema = SchemaBuilder::int32()
            .default_value(Value::Int32(7))
            .unwrap()
            .build();
        assert_eq!(
            write(
                &converter(&[("schemas.enable", "false")]),
                Some(&schema),
                &Value::Null
            ),
            "7"
        );
        assert_eq!(
            converter(&[])
                .from_connect_data("t", Some(&p(Type::Int32, false)), &Value::Null)
                .unwrap_err()
                .message,
            "Conversion error: null value for field that is required and has no default value"
        );
        assert_eq!(
            converter(&[])
                .from_connect_data("t", Some(&p(Type::Int32, false)), &Value::string("x"))
                .unwrap_err()
                .message,
            "Invalid type for INT32: class java.lang.String"
        );
    }
}
