//! Kafka's `Flatten$Key` / `Flatten$Value`: nested structs (or maps) become top-level
//! fields named by joining the path with `delimiter`.

use std::collections::HashMap;

use super::api::{parse, require_map, require_struct, Side, Transformation};
use crate::config::{ConfigDef, ConfigType, DefaultValue, Importance};
use crate::data::{Schema, SchemaBuilder, Struct, Type, Value};
use crate::error::{ConfigError, DataError};
use crate::record::ConnectRecord;

#[derive(Debug, Clone)]
pub struct Flatten {
    side: Side,
    delimiter: String,
}

impl Flatten {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            "delimiter",
            ConfigType::String,
            DefaultValue::Text(".".into()),
            None,
            Importance::Medium,
            "Delimiter to insert between field names from the input record when generating field names for the output record",
        )
    }

    pub fn new(side: Side, props: &HashMap<String, String>) -> Result<Flatten, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        // Kafka keeps the delimiter untrimmed only when given as-is; ConfigDef trims.
        Ok(Flatten {
            side,
            delimiter: config.string("delimiter").unwrap_or(".").to_string(),
        })
    }

    fn name(&self, prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}{}{field}", self.delimiter)
        }
    }

    fn flatten_map(
        &self,
        entries: &[(Value, Value)],
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<(), DataError> {
        for (key, value) in entries {
            let key_text = key.java_to_string();
            let name = self.name(prefix, &key_text);
            if value.is_null() {
                Value::map_put(out, &name, Value::Null);
                continue;
            }
            match value.schema_type() {
                None => {
                    return Err(DataError::new(format!(
                        "Flatten transformation was passed a value of type class {} which is not supported by Connect's data API",
                        value.java_class()
                    )))
                }
                Some(Type::Map) => {
                    let nested = require_map(value, "flattening")?;
                    self.flatten_map(nested, &name, out)?;
                }
                Some(Type::Struct) => {
                    return Err(DataError::new(format!(
                        "Flatten transformation does not support class {} for record without schemas (for field {name}).",
                        value.java_class()
                    )))
                }
                Some(_) => Value::map_put(out, &name, value.clone()),
            }
        }
        Ok(())
    }

    fn flatten_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        mut builder: SchemaBuilder,
        optional: bool,
        parent_default: Option<&Struct>,
    ) -> Result<SchemaBuilder, DataError> {
        for field in schema.fields() {
            let name = self.name(prefix, field.name());
            let field_optional = optional || field.schema().is_optional();
            let default = match (field.schema().default_value(), parent_default) {
                (Some(default), _) => Some(default.clone()),
                (None, Some(parent)) => {
                    Some(parent.get_field(field).clone()).filter(|v| !v.is_null())
                }
                (None, None) => None,
            };
            match field.schema().schema_type() {
                Type::Map => {
                    return Err(DataError::new(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {name})."
                    )))
                }
                Type::Struct => {
                    let nested_default = match &default {
                        Some(Value::Struct(s)) => Some(s.clone()),
                        _ => None,
                    };
                    builder = self.flatten_schema(field.schema(), &name, builder, field_optional, nested_default.as_ref())?;
                }
                _ => {
                    let mut field_builder = SchemaBuilder::copy_basics(field.schema());
                    if field_optional {
                        field_builder = field_builder.optional();
                    }
                    if let Some(default) = default {
                        field_builder = field_builder.default_value(default)?;
                    }
                    builder = builder.field(name, field_builder.build())?;
                }
            }
        }
        Ok(builder)
    }

    fn flatten_struct(
        &self,
        value: &Struct,
        prefix: &str,
        out: &mut Struct,
    ) -> Result<(), DataError> {
        for field in value.schema().fields() {
            let name = self.name(prefix, field.name());
            match field.schema().schema_type() {
                Type::Struct => {
                    if let Value::Struct(nested) = value.get_field(field) {
                        self.flatten_struct(nested, &name, out)?;
                    }
                }
                Type::Map => {
                    return Err(DataError::new(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {name})."
                    )))
                }
                _ => {
                    out.put(&name, value.get_field(field).clone())?;
                }
            }
        }
        Ok(())
    }
}

impl Transformation for Flatten {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        let value = self.side.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        let Some(schema) = self.side.schema(&record).cloned() else {
            let entries = require_map(value, "flattening")?;
            let mut out = Vec::new();
            self.flatten_map(entries, "", &mut out)?;
            return Ok(Some(self.side.with(record, None, Value::Map(out))));
        };
        let value = require_struct(value, "flattening")?;
        let parent_default = match schema.default_value() {
            Some(Value::Struct(s)) => Some(s.clone()),
            _ => None,
        };
        let builder = SchemaBuilder::struct_().with_basics_of(&schema);
        let updated_schema = self
            .flatten_schema(
                &schema,
                "",
                builder,
                schema.is_optional(),
                parent_default.as_ref(),
            )?
            .build();
        let mut out = Struct::new(updated_schema.clone())?;
        self.flatten_struct(value, "", &mut out)?;
        Ok(Some(self.side.with(
            record,
            Some(updated_schema),
            Value::Struct(out),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::test_support::{props, sink_value};

    // FlattenTest
    #[test]
    fn flattens_nested_maps_and_structs() {
        let xform = Flatten::new(Side::Value, &props(&[("delimiter", "#")])).unwrap();
        let nested = Value::string_map([("int8", Value::Int8(8)), ("string", Value::string("s"))]);
        let value = Value::string_map([
            ("A", Value::string_map([("B", nested)])),
            ("top", Value::Boolean(true)),
        ]);
        let out = xform.apply(sink_value(None, value)).unwrap().unwrap();
        assert_eq!(
            out.value,
            Value::string_map([
                ("A#B#int8", Value::Int8(8)),
                ("A#B#string", Value::string("s")),
                ("top", Value::Boolean(true))
            ])
        );

        let xform = Flatten::new(Side::Value, &props(&[])).unwrap();
        let inner = SchemaBuilder::struct_()
            .field("x", Schema::primitive(Type::Int32, false))
            .unwrap()
            .build();
        let outer = SchemaBuilder::struct_()
            .field("a", inner.clone())
            .unwrap()
            .field("b", Schema::primitive(Type::String, true))
            .unwrap()
            .build();
        let value = Struct::new(outer.clone())
            .unwrap()
            .with(
                "a",
                Value::Struct(
                    Struct::new(inner)
                        .unwrap()
                        .with("x", Value::Int32(3))
                        .unwrap(),
                ),
            )
            .unwrap();
        let out = xform
            .apply(sink_value(Some(outer), Value::Struct(value)))
            .unwrap()
            .unwrap();
        let schema = out.value_schema.unwrap();
        assert_eq!(
            schema.fields().iter().map(|f| f.name()).collect::<Vec<_>>(),
            vec!["a.x", "b"]
        );
        let Value::Struct(s) = out.value else {
            panic!()
        };
        assert_eq!(s.get("a.x").unwrap(), &Value::Int32(3));
    }
}
