//! Header transforms: Kafka's `InsertHeader`, `DropHeaders` and `HeaderFrom$Key`/`$Value`.

use std::collections::HashMap;

use super::api::{field_value, parse, require_map, require_struct, Side, Transformation};
use super::api::{REPLACE_NULL_WITH_DEFAULT, REPLACE_NULL_WITH_DEFAULT_DOC};
use crate::config::{ConfigDef, ConfigType, DefaultValue, Importance, Validator};
use crate::data::{SchemaAndValue, SchemaBuilder, Struct, Value};
use crate::error::{ConfigError, DataError};
use crate::record::ConnectRecord;
use crate::values;

/// `InsertHeader`: adds header `header` with `value.literal` (its type inferred as
/// Kafka's `Values.parseString` does).
#[derive(Debug, Clone)]
pub struct InsertHeader {
    header: String,
    literal: SchemaAndValue,
}

impl InsertHeader {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "header",
                ConfigType::String,
                DefaultValue::Required,
                Some(Validator::NonNull),
                Importance::High,
                "The name of the header.",
            )
            .define(
                "value.literal",
                ConfigType::String,
                DefaultValue::Required,
                Some(Validator::NonNull),
                Importance::High,
                "The literal value that is to be set as the header value on all records.",
            )
    }

    pub fn new(props: &HashMap<String, String>) -> Result<InsertHeader, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        Ok(InsertHeader {
            header: config.string("header").unwrap_or_default().to_string(),
            literal: values::parse_string(config.string("value.literal").unwrap_or_default()),
        })
    }
}

impl Transformation for InsertHeader {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        record.add_header(
            &self.header,
            self.literal.schema.clone(),
            self.literal.value.clone(),
        );
        Ok(Some(record))
    }
}

/// `DropHeaders`: removes every header named in `headers`.
#[derive(Debug, Clone)]
pub struct DropHeaders {
    headers: Vec<String>,
}

impl DropHeaders {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            "headers",
            ConfigType::List,
            DefaultValue::Required,
            Some(Validator::NonEmptyList),
            Importance::High,
            "The name of the headers to be removed.",
        )
    }

    pub fn new(props: &HashMap<String, String>) -> Result<DropHeaders, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        Ok(DropHeaders {
            headers: config.list("headers"),
        })
    }
}

impl Transformation for DropHeaders {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        record.headers.retain(|h| !self.headers.contains(&h.key));
        Ok(Some(record))
    }
}

/// `HeaderFrom$Key` / `HeaderFrom$Value`: copies or moves fields into headers.
#[derive(Debug, Clone)]
pub struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    move_fields: bool,
    replace_null_with_default: bool,
}

impl HeaderFrom {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("fields", ConfigType::List, DefaultValue::Required, Some(Validator::NonEmptyList), Importance::High, "Field names in the record whose values are to be copied or moved to headers.")
            .define("headers", ConfigType::List, DefaultValue::Required, Some(Validator::NonEmptyList), Importance::High, "Header names, in the same order as the field names listed in the fields configuration property.")
            .define(
                "operation",
                ConfigType::String,
                DefaultValue::Required,
                Some(Validator::ValidString(vec!["move".into(), "copy".into()])),
                Importance::High,
                "Either <code>move</code> if the fields are to be moved to the headers (removed from the key/value), or <code>copy</code> if the fields are to be copied to the headers (retained in the key/value).",
            )
            .define(REPLACE_NULL_WITH_DEFAULT, ConfigType::Boolean, DefaultValue::Text("true".into()), None, Importance::Medium, REPLACE_NULL_WITH_DEFAULT_DOC)
    }

    pub fn new(side: Side, props: &HashMap<String, String>) -> Result<HeaderFrom, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        let fields = config.list("fields");
        let headers = config.list("headers");
        if fields.len() != headers.len() {
            return Err(ConfigError::other(
                "'fields' config must have the same number of elements as 'headers' config.",
            ));
        }
        Ok(HeaderFrom {
            side,
            fields,
            headers,
            move_fields: config.string("operation") == Some("move"),
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT),
        })
    }
}

impl Transformation for HeaderFrom {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        let purpose = if self.move_fields {
            "header move"
        } else {
            "header copy"
        };
        let value = self.side.value(&record);
        let Some(schema) = self.side.schema(&record).cloned() else {
            let original = require_map(value, purpose)?;
            let mut updated = original.clone();
            let mut added = Vec::new();
            for (field, header) in self.fields.iter().zip(&self.headers) {
                added.push((header.clone(), value.map_get(field).clone()));
                if self.move_fields {
                    updated.retain(|(k, _)| !matches!(k, Value::String(s) if s == field));
                }
            }
            let mut record = self.side.with(record, None, Value::Map(updated));
            for (header, v) in added {
                record.add_header(&header, None, v);
            }
            return Ok(Some(record));
        };
        let original = require_struct(value, purpose)?.clone();
        let mut added = Vec::new();
        for (field, header) in self.fields.iter().zip(&self.headers) {
            let field_schema = schema
                .field(field)
                .ok_or_else(|| DataError::new(format!("{field} is not a valid field name")))?
                .schema()
                .clone();
            let v = field_value(&original, field, self.replace_null_with_default)?.clone();
            added.push((header.clone(), field_schema, v));
        }
        let (updated_schema, updated_value) = if self.move_fields {
            let mut builder = SchemaBuilder::struct_().with_basics_of(&schema);
            for field in schema.fields() {
                if !self.fields.iter().any(|f| f == field.name()) {
                    builder = builder.field(field.name(), field.schema().clone())?;
                }
            }
            let moved = builder.build();
            let mut updated = Struct::new(moved.clone())?;
            for field in moved.fields() {
                updated.put(
                    field.name(),
                    field_value(&original, field.name(), self.replace_null_with_default)?.clone(),
                )?;
            }
            (moved, updated)
        } else {
            (schema, original)
        };
        let mut record = self
            .side
            .with(record, Some(updated_schema), Value::Struct(updated_value));
        for (header, field_schema, v) in added {
            record.add_header(&header, Some(field_schema), v);
        }
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Schema, Type};
    use crate::transforms::test_support::{props, sink_value};

    #[test]
    fn insert_and_drop_headers() {
        let insert =
            InsertHeader::new(&props(&[("header", "h"), ("value.literal", "42")])).unwrap();
        let record = insert
            .apply(sink_value(None, Value::Null))
            .unwrap()
            .unwrap();
        assert_eq!(record.headers[0].value, Value::Int8(42));
        assert_eq!(
            record.headers[0].schema.as_ref().unwrap().schema_type(),
            Type::Int8
        );
        let drop = DropHeaders::new(&props(&[("headers", "h")])).unwrap();
        assert!(drop.apply(record).unwrap().unwrap().headers.is_empty());
    }

    #[test]
    fn header_from_moves_struct_fields() {
        let xform = HeaderFrom::new(
            Side::Value,
            &props(&[("fields", "a"), ("headers", "ha"), ("operation", "move")]),
        )
        .unwrap();
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::primitive(Type::String, false))
            .unwrap()
            .field("b", Schema::primitive(Type::Int32, false))
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("a", Value::string("x"))
            .unwrap()
            .with("b", Value::Int32(1))
            .unwrap();
        let out = xform
            .apply(sink_value(Some(schema), Value::Struct(value)))
            .unwrap()
            .unwrap();
        assert_eq!(out.value_schema.unwrap().fields().len(), 1);
        assert_eq!(out.headers[0].key, "ha");
        assert_eq!(out.headers[0].value, Value::string("x"));
        assert_eq!(
            HeaderFrom::new(
                Side::Value,
                &props(&[("fields", "a,b"), ("headers", "h"), ("operation", "copy")])
            )
            .unwrap_err()
            .to_string(),
            "'fields' config must have the same number of elements as 'headers' config."
        );
    }
}
