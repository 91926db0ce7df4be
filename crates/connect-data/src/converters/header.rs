//! Kafka's `SimpleHeaderConverter`, Connect's default header converter: header values as
//! text (`Values.convertToString`), read back with the schema `Values.parseString` infers.

use std::collections::HashMap;

use super::api::{Converter, HeaderConverter};
use crate::data::{SchemaAndValue, SchemaRef, Value};
use crate::error::{ConfigError, DataError};
use crate::values;

#[derive(Debug, Clone, Copy, Default)]
pub struct SimpleHeaderConverter;

impl SimpleHeaderConverter {
    /// Takes no keys of its own; `converter.encoding` is accepted (UTF-8 is used).
    pub fn new(_props: &HashMap<String, String>) -> Result<SimpleHeaderConverter, ConfigError> {
        Ok(SimpleHeaderConverter)
    }
}

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if value.is_null() {
            return Ok(None);
        }
        Ok(Some(
            values::convert_to_string(schema.map(|s| s.as_ref()), value).into_bytes(),
        ))
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _header_key: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::NULL);
        };
        if bytes.is_empty() {
            return Ok(SchemaAndValue::new(
                Some(crate::data::Schema::primitive(
                    crate::data::Type::String,
                    false,
                )),
                Value::string(""),
            ));
        }
        let text = String::from_utf8_lossy(bytes);
        Ok(values::parse_string(&text))
    }
}

/// As a plain converter it behaves the same (Kafka's class implements only the header
/// interface; the worker never uses it for keys or values).
impl Converter for SimpleHeaderConverter {
    fn from_connect_data(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        self.from_connect_header(topic, "", schema, value)
    }

    fn to_connect_data(
        &self,
        topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        self.to_connect_header(topic, "", bytes)
    }
}
