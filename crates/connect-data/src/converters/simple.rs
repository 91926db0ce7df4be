//! The converters that hold one primitive: Kafka's `StringConverter`,
//! `ByteArrayConverter` and the number converters (`IntegerConverter`, `LongConverter`,
//! `FloatConverter`, `DoubleConverter`, `ShortConverter`, big-endian as Kafka's
//! serializers write them) and Kafka 4's `BooleanConverter` (one byte).

use std::collections::HashMap;

use super::api::{converter_config_def, with_type, Converter, ConverterType, HeaderConverter};
use crate::config::{ConfigDef, ConfigType, DefaultValue, Importance};
use crate::data::{Schema, SchemaAndValue, SchemaRef, Type, Value};
use crate::error::{ConfigError, DataError};

pub const ENCODING_CONFIG: &str = "converter.encoding";

/// `StringConverterConfig.configDef()`.
pub fn string_converter_config_def() -> ConfigDef {
    converter_config_def()
        .define(
            ENCODING_CONFIG,
            ConfigType::String,
            DefaultValue::Text("UTF-8".into()),
            None,
            Importance::High,
            "The name of the Java character set to use for encoding strings as byte arrays.",
        )
        // Kafka gives it a display name and width but no group.
        .displayed("Encoding", "MEDIUM")
}

/// The character sets supported by `converter.encoding` (Java accepts many more; these
/// are the ones with a byte-for-byte meaning here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Latin1,
    Ascii,
}

impl Encoding {
    fn from_name(name: &str) -> Option<Encoding> {
        match name.to_ascii_uppercase().replace('_', "-").as_str() {
            "UTF8" | "UTF-8" => Some(Encoding::Utf8),
            "ISO-8859-1" | "ISO8859-1" | "LATIN1" => Some(Encoding::Latin1),
            "US-ASCII" | "ASCII" => Some(Encoding::Ascii),
            _ => None,
        }
    }

    fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            // Java writes '?' for a character the charset cannot hold.
            Encoding::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                .collect(),
            Encoding::Ascii => text
                .chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
        }
    }

    fn decode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            Encoding::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
            Encoding::Ascii => bytes
                .iter()
                .map(|&b| {
                    if b.is_ascii() {
                        char::from(b)
                    } else {
                        '\u{FFFD}'
                    }
                })
                .collect(),
        }
    }
}

/// Kafka's `StringConverter`: any value as its `toString()`, bytes back as an optional
/// string.
#[derive(Debug, Clone)]
pub struct StringConverter {
    encoding: Encoding,
}

impl StringConverter {
    pub fn new(
        props: &HashMap<String, String>,
        converter_type: ConverterType,
    ) -> Result<StringConverter, ConfigError> {
        let parsed = string_converter_config_def().parse(&with_type(props, converter_type))?;
        let name = parsed.string(ENCODING_CONFIG).unwrap_or("UTF8");
        let encoding = Encoding::from_name(name)
            .ok_or_else(|| ConfigError::invalid(ENCODING_CONFIG, name, "Unsupported encoding"))?;
        Ok(StringConverter { encoding })
    }
}

impl Converter for StringConverter {
    fn from_connect_data(
        &self,
        _topic: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if value.is_null() {
            return Ok(None);
        }
        Ok(Some(self.encoding.encode(&value.java_to_string())))
    }

    fn to_connect_data(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        let value = match bytes {
            Some(bytes) => Value::String(self.encoding.decode(bytes)),
            None => Value::Null,
        };
        Ok(SchemaAndValue::new(
            Some(Schema::primitive(Type::String, true)),
            value,
        ))
    }
}

/// A converter of one schema type rejects a schema of another.
fn check_schema(
    converter: &str,
    schema: Option<&SchemaRef>,
    expected: Type,
) -> Result<(), DataError> {
    match schema.filter(|s| s.schema_type() != expected) {
        Some(schema) => Err(DataError::new(format!(
            "Invalid schema type for {converter}: {}",
            schema.schema_type()
        ))),
        None => Ok(()),
    }
}

/// Kafka's `ClassCastException` message, as the converter wraps it.
fn not_compatible(converter: &str, value: &Value) -> DataError {
    DataError::new(format!(
        "{converter} is not compatible with objects of type class {}",
        value.java_class()
    ))
}

/// Kafka's `ByteArrayConverter`: BYTES values passed through.
#[derive(Debug, Clone, Copy, Default)]
pub struct ByteArrayConverter;

impl Converter for ByteArrayConverter {
    fn from_connect_data(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        check_schema("ByteArrayConverter", schema, Type::Bytes)?;
        match value {
            Value::Null => Ok(None),
            Value::Bytes(bytes) => Ok(Some(bytes.clone())),
            other => Err(not_compatible("ByteArrayConverter", other)),
        }
    }

    fn to_connect_data(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        let value = bytes
            .map(|b| Value::Bytes(b.to_vec()))
            .unwrap_or(Value::Null);
        Ok(SchemaAndValue::new(
            Some(Schema::primitive(Type::Bytes, true)),
            value,
        ))
    }
}

/// Which number a `NumberConverter` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Short,
    Integer,
    Long,
    Float,
    Double,
}

impl NumberKind {
    /// The name Kafka's messages use (`typeName`).
    fn type_name(self) -> &'static str {
        match self {
            NumberKind::Short => "short",
            NumberKind::Integer => "integer",
            NumberKind::Long => "long",
            NumberKind::Float => "float",
            NumberKind::Double => "double",
        }
    }

    fn schema_type(self) -> Type {
        match self {
            NumberKind::Short => Type::Int16,
            NumberKind::Integer => Type::Int32,
            NumberKind::Long => Type::Int64,
            NumberKind::Float => Type::Float32,
            NumberKind::Double => Type::Float64,
        }
    }

    fn size(self) -> usize {
        match self {
            NumberKind::Short => 2,
            NumberKind::Integer | NumberKind::Float => 4,
            NumberKind::Long | NumberKind::Double => 8,
        }
    }

    /// The deserializer's class name, which its size error names.
    fn deserializer(self) -> &'static str {
        match self {
            NumberKind::Short => "ShortDeserializer",
            NumberKind::Integer => "IntegerDeserializer",
            NumberKind::Long => "LongDeserializer",
            NumberKind::Float => "FloatDeserializer",
            NumberKind::Double => "DoubleDeserializer",
        }
    }
}

/// Kafka's `NumberConverter` subclasses.
#[derive(Debug, Clone, Copy)]
pub struct NumberConverter {
    kind: NumberKind,
}

impl NumberConverter {
    pub fn new(kind: NumberKind) -> NumberConverter {
        NumberConverter { kind }
    }
}

impl Converter for NumberConverter {
    fn from_connect_data(
        &self,
        _topic: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        let bytes = match (self.kind, value) {
            (_, Value::Null) => return Ok(None),
            (NumberKind::Short, Value::Int16(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Integer, Value::Int32(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Long, Value::Int64(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Float, Value::Float32(v)) => v.to_bits().to_be_bytes().to_vec(),
            (NumberKind::Double, Value::Float64(v)) => v.to_bits().to_be_bytes().to_vec(),
            (kind, other) => {
                return Err(DataError::new(format!(
                    "Failed to serialize to {} (was class {}): ",
                    kind.type_name(),
                    other.java_class()
                )))
            }
        };
        Ok(Some(bytes))
    }

    fn to_connect_data(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        let schema = Some(Schema::primitive(self.kind.schema_type(), true));
        let Some(bytes) = bytes else {
            return Ok(SchemaAndValue::new(schema, Value::Null));
        };
        if bytes.len() != self.kind.size() {
            // Kafka wraps the deserializer's "Size of data received by
            // IntegerDeserializer is not 4" in this message.
            let _ = self.kind.deserializer();
            return Err(DataError::new(format!(
                "Failed to deserialize {}: ",
                self.kind.type_name()
            )));
        }
        let value = match self.kind {
            NumberKind::Short => Value::Int16(i16::from_be_bytes([bytes[0], bytes[1]])),
            NumberKind::Integer => {
                Value::Int32(i32::from_be_bytes(bytes.try_into().expect("4 bytes")))
            }
            NumberKind::Long => {
                Value::Int64(i64::from_be_bytes(bytes.try_into().expect("8 bytes")))
            }
            NumberKind::Float => Value::Float32(f32::from_bits(u32::from_be_bytes(
                bytes.try_into().expect("4 bytes"),
            ))),
            NumberKind::Double => Value::Float64(f64::from_bits(u64::from_be_bytes(
                bytes.try_into().expect("8 bytes"),
            ))),
        };
        Ok(SchemaAndValue::new(schema, value))
    }
}

/// Kafka's `BooleanConverter` (Kafka 4.0+): one byte, 1 for true and 0 for false, as
/// Kafka's `BooleanSerializer` writes it; bytes back as an optional BOOLEAN.
#[derive(Debug, Clone, Copy, Default)]
pub struct BooleanConverter;

impl Converter for BooleanConverter {
    fn from_connect_data(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        check_schema("BooleanConverter", schema, Type::Boolean)?;
        match value {
            Value::Null => Ok(None),
            Value::Boolean(b) => Ok(Some(vec![u8::from(*b)])),
            other => Err(not_compatible("BooleanConverter", other)),
        }
    }

    fn to_connect_data(
        &self,
        _topic: &str,
        bytes: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        let value = match bytes {
            None => Value::Null,
            Some([0]) => Value::Boolean(false),
            Some([1]) => Value::Boolean(true),
            // Kafka wraps the deserializer's "Size of data received by
            // BooleanDeserializer is not 1" / "Unexpected byte received" in this message.
            Some(_) => return Err(DataError::new("Failed to deserialize boolean: ")),
        };
        Ok(SchemaAndValue::new(
            Some(Schema::primitive(Type::Boolean, true)),
            value,
        ))
    }
}

macro_rules! header_via_data {
    ($converter:ty) => {
        impl HeaderConverter for $converter {
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
    };
}

header_via_data!(StringConverter);
header_via_data!(ByteArrayConverter);
header_via_data!(NumberConverter);
header_via_data!(BooleanConverter);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_converter_writes_to_string_and_reads_optional_strings() {
        let c = StringConverter::new(&HashMap::new(), ConverterType::Value).unwrap();
        assert_eq!(
            c.from_connect_data("t", None, &Value::string("héllo"))
                .unwrap(),
            Some("héllo".as_bytes().to_vec())
        );
        assert_eq!(
            c.from_connect_data("t", None, &Value::Int32(12)).unwrap(),
            Some(b"12".to_vec())
        );
        assert_eq!(c.from_connect_data("t", None, &Value::Null).unwrap(), None);
        let read = c.to_connect_data("t", Some(b"abc")).unwrap();
        assert_eq!(read.value, Value::string("abc"));
        assert!(read.schema.unwrap().is_optional());
        assert_eq!(c.to_connect_data("t", None).unwrap().value, Value::Null);
        let latin1 = HashMap::from([(ENCODING_CONFIG.to_string(), "ISO-8859-1".to_string())]);
        let c = StringConverter::new(&latin1, ConverterType::Key).unwrap();
        assert_eq!(
            c.from_connect_data("t", None, &Value::string("é")).unwrap(),
            Some(vec![0xE9])
        );
    }

    #[test]
    fn byte_array_converter_rejects_other_schemas_and_values() {
        let c = ByteArrayConverter;
        assert_eq!(
            c.from_connect_data(
                "t",
                Some(&Schema::primitive(Type::Int32, false)),
                &Value::Int32(1)
            )
            .unwrap_err()
            .message,
            "Invalid schema type for ByteArrayConverter: INT32"
        );
        assert_eq!(
            c.from_connect_data("t", None, &Value::string("x"))
                .unwrap_err()
                .message,
            "ByteArrayConverter is not compatible with objects of type class java.lang.String"
        );
        assert_eq!(
            c.from_connect_data("t", None, &Value::Bytes(vec![1, 2]))
                .unwrap(),
            Some(vec![1, 2])
        );
    }

    #[test]
    fn boolean_converter_writes_one_byte_and_rejects_other_sizes() {
        let c = BooleanConverter;
        assert_eq!(
            c.from_connect_data("t", None, &Value::Boolean(true))
                .unwrap(),
            Some(vec![1])
        );
        assert_eq!(
            c.from_connect_data("t", None, &Value::Boolean(false))
                .unwrap(),
            Some(vec![0])
        );
        assert_eq!(c.from_connect_data("t", None, &Value::Null).unwrap(), None);
        assert_eq!(
            c.from_connect_data(
                "t",
                Some(&Schema::primitive(Type::Int8, false)),
                &Value::Int8(1)
            )
            .unwrap_err()
            .message,
            "Invalid schema type for BooleanConverter: INT8"
        );
        assert_eq!(
            c.from_connect_data("t", None, &Value::string("true"))
                .unwrap_err()
                .message,
            "BooleanConverter is not compatible with objects of type class java.lang.String"
        );
        let read = c.to_connect_data("t", Some(&[1])).unwrap();
        assert_eq!(read.value, Value::Boolean(true));
        assert_eq!(read.schema.unwrap().schema_type(), Type::Boolean);
        assert_eq!(
            c.to_connect_data("t", Some(&[0])).unwrap().value,
            Value::Boolean(false)
        );
        assert_eq!(c.to_connect_data("t", None).unwrap().value, Value::Null);
        for bad in [&[2u8][..], &[0, 1][..], &[][..]] {
            assert_eq!(
                c.to_connect_data("t", Some(bad)).unwrap_err().message,
                "Failed to deserialize boolean: "
            );
        }
    }

    #[test]
    fn number_converters_are_big_endian_and_check_sizes() {
        let c = NumberConverter::new(NumberKind::Integer);
        assert_eq!(
            c.from_connect_data("t", None, &Value::Int32(-2)).unwrap(),
            Some(vec![0xFF, 0xFF, 0xFF, 0xFE])
        );
        assert_eq!(
            c.to_connect_data("t", Some(&[0, 0, 1, 0])).unwrap().value,
            Value::Int32(256)
        );
        assert_eq!(
            c.to_connect_data("t", Some(&[0, 1])).unwrap_err().message,
            "Failed to deserialize integer: "
        );
        assert_eq!(
            c.from_connect_data("t", None, &Value::Int64(1))
                .unwrap_err()
                .message,
            "Failed to serialize to integer (was class java.lang.Long): "
        );
        let d = NumberConverter::new(NumberKind::Double);
        let bytes = d
            .from_connect_data("t", None, &Value::Float64(1.5))
            .unwrap();
        assert_eq!(
            d.to_connect_data("t", bytes.as_deref()).unwrap().value,
            Value::Float64(1.5)
        );
        let s = NumberConverter::new(NumberKind::Short);
        assert_eq!(
            s.to_connect_data("t", Some(&[1, 2])).unwrap().value,
            Value::Int16(258)
        );
    }
}
