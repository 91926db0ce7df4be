//! Kafka's `Cast$Key` / `Cast$Value`: casts fields (or the whole key or value) between
//! the integer, float, boolean and string types, with Java's narrowing and parsing rules.

use std::collections::HashMap;

use base64::Engine;

use super::api::{field_value, parse, require_map, require_struct, Side, Transformation};
use super::api::{REPLACE_NULL_WITH_DEFAULT, REPLACE_NULL_WITH_DEFAULT_DOC};
use crate::config::{ConfigDef, ConfigType, DefaultValue, Importance, Validator};
use crate::data::{Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{ConfigError, DataError};
use crate::logical;
use crate::record::ConnectRecord;
use crate::values;

const INPUT_TYPES: [Type; 9] = [
    Type::Int8,
    Type::Int16,
    Type::Int32,
    Type::Int64,
    Type::Float32,
    Type::Float64,
    Type::Boolean,
    Type::String,
    Type::Bytes,
];
const OUTPUT_TYPES: [Type; 8] = [
    Type::Int8,
    Type::Int16,
    Type::Int32,
    Type::Int64,
    Type::Float32,
    Type::Float64,
    Type::Boolean,
    Type::String,
];

fn type_list(types: &[Type]) -> String {
    format!(
        "[{}]",
        types
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[derive(Debug, Clone)]
pub struct Cast {
    side: Side,
    /// Field casts; `None` as the field is a cast of the whole value.
    casts: Vec<(Option<String>, Type)>,
    replace_null_with_default: bool,
}

impl Cast {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define(
                "spec",
                ConfigType::List,
                DefaultValue::Required,
                Some(Validator::Described("list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>".into())),
                Importance::High,
                "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string.",
            )
            .define(REPLACE_NULL_WITH_DEFAULT, ConfigType::Boolean, DefaultValue::Text("true".into()), None, Importance::Medium, REPLACE_NULL_WITH_DEFAULT_DOC)
    }

    pub fn new(side: Side, props: &HashMap<String, String>) -> Result<Cast, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        let spec = config.list("spec");
        if spec.is_empty() {
            return Err(ConfigError::other(
                "Must specify at least one field to cast.",
            ));
        }
        let mut casts: Vec<(Option<String>, Type)> = Vec::new();
        let mut whole = false;
        for mapping in &spec {
            let parts: Vec<&str> = mapping.split(':').collect();
            let parts = trim_trailing_empty(parts);
            if parts.len() > 2 {
                return Err(ConfigError::invalid(
                    "renames",
                    format!("[{}]", spec.join(", ")),
                    format!("Invalid rename mapping: {mapping}"),
                ));
            }
            let type_text = parts.last().copied().unwrap_or("").trim();
            let target = Type::from_java_constant(type_text).ok_or_else(|| {
                ConfigError::other(format!("Invalid type found in casting spec: {type_text}"))
            })?;
            if !OUTPUT_TYPES.contains(&target) {
                return Err(ConfigError::other(format!(
                    "Cast transformation does not support casting to {target}; supported types are {}",
                    type_list(&OUTPUT_TYPES)
                )));
            }
            let field = if parts.len() == 1 {
                whole = true;
                None
            } else {
                Some(parts[0].trim().to_string())
            };
            casts.retain(|(f, _)| *f != field);
            casts.push((field, target));
        }
        if whole && spec.len() > 1 {
            return Err(ConfigError::other("Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec"));
        }
        Ok(Cast {
            side,
            casts,
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT),
        })
    }

    fn whole_value_cast(&self) -> Option<Type> {
        self.casts
            .iter()
            .find(|(f, _)| f.is_none())
            .map(|(_, t)| *t)
    }

    fn cast_for(&self, field: &str) -> Option<Type> {
        self.casts
            .iter()
            .find(|(f, _)| f.as_deref() == Some(field))
            .map(|(_, t)| *t)
    }

    fn updated_schema(&self, schema: &Schema) -> Result<SchemaRef, DataError> {
        let mut builder = if let Some(target) = self.whole_value_cast() {
            SchemaBuilder::new(target).with_basics_of(schema)
        } else {
            let mut builder = SchemaBuilder::struct_().with_basics_of(schema);
            for field in schema.fields() {
                let field_schema = match self.cast_for(field.name()) {
                    Some(target) => {
                        let mut field_builder = SchemaBuilder::new(target);
                        if field.schema().is_optional() {
                            field_builder = field_builder.optional();
                        }
                        if let Some(default) = field.schema().default_value() {
                            field_builder = field_builder.default_value(cast_value(
                                Some(field.schema()),
                                default,
                                target,
                            )?)?;
                        }
                        field_builder.build()
                    }
                    None => field.schema().clone(),
                };
                builder = builder.field(field.name(), field_schema)?;
            }
            builder
        };
        if schema.is_optional() {
            builder = builder.optional();
        }
        if let Some(default) = schema.default_value() {
            let target = builder.schema_type();
            builder = builder.default_value(cast_value(Some(schema), default, target)?)?;
        }
        Ok(builder.build())
    }
}

fn trim_trailing_empty(mut parts: Vec<&str>) -> Vec<&str> {
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// Java's `castValueToType`.
fn cast_value(schema: Option<&Schema>, value: &Value, target: Type) -> Result<Value, DataError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let inferred = match schema {
        Some(schema) => schema.schema_type(),
        None => value.schema_type().ok_or_else(|| {
            DataError::new(format!(
                "Cast transformation was passed a value of type class {} which is not supported by Connect's data API",
                value.java_class()
            ))
        })?,
    };
    if !INPUT_TYPES.contains(&inferred) {
        return Err(DataError::new(format!(
            "Cast transformation does not support casting from {inferred}; supported types are {}",
            type_list(&INPUT_TYPES)
        )));
    }
    let mut value = value.clone();
    if let (Some(schema), true) = (schema, target != Type::String) {
        if let Value::Date(ms) = value {
            value = match schema.name() {
                Some(logical::DATE_NAME) => Value::Int32(logical::date_from_logical(schema, ms)?),
                Some(logical::TIME_NAME) => Value::Int32(logical::time_from_logical(schema, ms)?),
                Some(logical::TIMESTAMP_NAME) => {
                    Value::Int64(logical::timestamp_from_logical(schema, ms)?)
                }
                _ => value,
            };
        }
    }
    let out_of_range = || {
        DataError::new(format!(
            "Value ({}) was out of range for requested data type",
            value.java_to_string()
        ))
    };
    let unexpected = || {
        DataError::new(format!(
            "Unexpected type in Cast transformation: class {}",
            value.java_class()
        ))
    };
    // Java's Number.longValue()/doubleValue() of the numeric classes.
    let as_long = |v: &Value| -> Option<i64> {
        Some(match v {
            Value::Int8(x) => i64::from(*x),
            Value::Int16(x) => i64::from(*x),
            Value::Int32(x) => i64::from(*x),
            Value::Int64(x) => *x,
            Value::Float32(x) => *x as i64,
            Value::Float64(x) => *x as i64,
            Value::Decimal(d) => d.to_i64_wrapping(),
            _ => return None,
        })
    };
    let as_int = |v: &Value| -> Option<i32> {
        match v {
            Value::Float32(x) => Some(*x as i32),
            Value::Float64(x) => Some(*x as i32),
            other => as_long(other).map(|l| l as i32),
        }
    };
    let as_double = |v: &Value| -> Option<f64> {
        Some(match v {
            Value::Float32(x) => f64::from(*x),
            Value::Float64(x) => *x,
            Value::Decimal(d) => d.to_f64(),
            other => as_long(other)? as f64,
        })
    };
    let as_float = |v: &Value| -> Option<f32> {
        Some(match v {
            Value::Float32(x) => *x,
            Value::Float64(x) => *x as f32,
            Value::Decimal(d) => d.to_f32(),
            other => as_long(other)? as f32,
        })
    };
    let boolean = |v: &Value| matches!(v, Value::Boolean(true));
    Ok(match target {
        Type::Int8 | Type::Int16 | Type::Int32 | Type::Int64 => {
            let n: i64 = match &value {
                Value::Boolean(_) => i64::from(boolean(&value)),
                Value::String(s) => {
                    let parsed: i64 = java_parse_integer(s).ok_or_else(out_of_range)?;
                    let (min, max) = match target {
                        Type::Int8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
                        Type::Int16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
                        Type::Int32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
                        _ => (i64::MIN, i64::MAX),
                    };
                    if parsed < min || parsed > max {
                        return Err(out_of_range());
                    }
                    parsed
                }
                other if target == Type::Int64 => as_long(other).ok_or_else(unexpected)?,
                other => i64::from(as_int(other).ok_or_else(unexpected)?),
            };
            match target {
                Type::Int8 => Value::Int8(n as i8),
                Type::Int16 => Value::Int16(n as i16),
                Type::Int32 => Value::Int32(n as i32),
                _ => Value::Int64(n),
            }
        }
        Type::Float32 => Value::Float32(match &value {
            Value::Boolean(b) => f32::from(u8::from(*b)),
            Value::String(s) => s.trim().parse().map_err(|_| out_of_range())?,
            other => as_float(other).ok_or_else(unexpected)?,
        }),
        Type::Float64 => Value::Float64(match &value {
            Value::Boolean(b) => f64::from(u8::from(*b)),
            Value::String(s) => s.trim().parse().map_err(|_| out_of_range())?,
            other => as_double(other).ok_or_else(unexpected)?,
        }),
        Type::Boolean => Value::Boolean(match &value {
            Value::Boolean(b) => *b,
            Value::String(s) => s.eq_ignore_ascii_case("true"),
            other => as_long(other).ok_or_else(unexpected)? != 0,
        }),
        Type::String => Value::String(match &value {
            Value::Date(ms) => values::format_date(*ms),
            Value::Bytes(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
            other => other.java_to_string(),
        }),
        other => {
            return Err(DataError::new(format!(
                "{other} is not supported in the Cast transformation."
            )))
        }
    })
}

/// Java's `Long.parseLong`: optional sign, decimal digits, nothing else.
fn java_parse_integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl Transformation for Cast {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        let value = self.side.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        const PURPOSE: &str = "cast types";
        let Some(schema) = self.side.schema(&record).cloned() else {
            if let Some(target) = self.whole_value_cast() {
                let cast = cast_value(None, value, target)?;
                return Ok(Some(self.side.with(record, None, cast)));
            }
            let mut updated = require_map(value, PURPOSE)?.clone();
            for (field, target) in &self.casts {
                let field = field.as_deref().unwrap_or_default();
                let cast = cast_value(None, value.map_get(field), *target)?;
                Value::map_put(&mut updated, field, cast);
            }
            return Ok(Some(self.side.with(record, None, Value::Map(updated))));
        };
        let updated_schema = self.updated_schema(&schema)?;
        if let Some(target) = self.whole_value_cast() {
            let cast = cast_value(Some(schema.as_ref()), value, target)?;
            return Ok(Some(self.side.with(record, Some(updated_schema), cast)));
        }
        let value = require_struct(value, PURPOSE)?;
        let mut updated = Struct::new(updated_schema.clone())?;
        for field in value.schema().fields() {
            let original = field_value(value, field.name(), self.replace_null_with_default)?;
            let new_value = match self.cast_for(field.name()) {
                Some(target) => cast_value(Some(field.schema().as_ref()), original, target)?,
                None => original.clone(),
            };
            updated.put(field.name(), new_value)?;
        }
        Ok(Some(self.side.with(
            record,
            Some(updated_schema),
            Value::Struct(updated),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::test_support::{props, sink_value};

    fn cast(spec: &str) -> Cast {
        Cast::new(Side::Value, &props(&[("spec", spec)])).unwrap()
    }

    // CastTest
    #[test]
    fn rejects_bad_specs_with_kafkas_messages() {
        let err = |spec: &str| {
            Cast::new(Side::Value, &props(&[("spec", spec)]))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(err(""), "Must specify at least one field to cast.");
        assert_eq!(
            err("foo:faketype"),
            "Invalid type found in casting spec: faketype"
        );
        assert_eq!(err("a:int8:extra"), "Invalid value [a:int8:extra] for configuration renames: Invalid rename mapping: a:int8:extra");
        assert_eq!(err("int8,int32"), "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec");
        assert_eq!(err("foo:array"), "Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]");
    }

    #[test]
    fn casts_whole_values_with_java_rules() {
        let run = |spec: &str, schema: Option<SchemaRef>, value: Value| {
            cast(spec)
                .apply(sink_value(schema, value))
                .unwrap()
                .unwrap()
        };
        assert_eq!(
            run(
                "int8",
                Some(Schema::primitive(Type::Int32, false)),
                Value::Int32(42)
            )
            .value,
            Value::Int8(42)
        );
        assert_eq!(run("int8", None, Value::Int32(300)).value, Value::Int8(44));
        assert_eq!(
            run("int32", None, Value::Float64(42.9)).value,
            Value::Int32(42)
        );
        assert_eq!(
            run("boolean", None, Value::Int32(2)).value,
            Value::Boolean(true)
        );
        assert_eq!(
            run("boolean", None, Value::string("TRUE")).value,
            Value::Boolean(true)
        );
        assert_eq!(
            run("float64", None, Value::string("1.5")).value,
            Value::Float64(1.5)
        );
        assert_eq!(
            run("string", None, Value::Float32(1.5)).value,
            Value::string("1.5")
        );
        assert_eq!(
            run(
                "string",
                Some(Schema::primitive(Type::Bytes, false)),
                Value::Bytes(vec![1, 2, 3])
            )
            .value,
            Value::string("AQID")
        );
        let ts = run("int64", Some(logical::timestamp().build()), Value::Date(42));
        assert_eq!(ts.value, Value::Int64(42));
        assert_eq!(
            ts.value_schema.unwrap().name(),
            Some(logical::TIMESTAMP_NAME)
        );
        let err = cast("int8")
            .apply(sink_value(None, Value::string("300")))
            .unwrap_err();
        assert_eq!(
            err.message,
            "Value (300) was out of range for requested data type"
        );
        let err = cast("int8")
            .apply(sink_value(None, Value::Array(vec![])))
            .unwrap_err();
        assert_eq!(err.message, "Cast transformation does not support casting from ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]");
    }

    #[test]
    fn casts_struct_fields_and_keeps_the_rest() {
        let schema = SchemaBuilder::struct_()
            .field("a", Schema::primitive(Type::Int32, true))
            .unwrap()
            .field("b", Schema::primitive(Type::String, false))
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("a", Value::Int32(7))
            .unwrap()
            .with("b", Value::string("8"))
            .unwrap();
        let out = cast("a:string,b:int64")
            .apply(sink_value(Some(schema), Value::Struct(value)))
            .unwrap()
            .unwrap();
        let out_schema = out.value_schema.unwrap();
        assert_eq!(
            out_schema.field("a").unwrap().schema(),
            &Schema::primitive(Type::String, true)
        );
        let Value::Struct(s) = out.value else {
            panic!()
        };
        assert_eq!(s.get("a").unwrap(), &Value::string("7"));
        assert_eq!(s.get("b").unwrap(), &Value::Int64(8));
        let out = cast("a:int16")
            .apply(sink_value(
                None,
                Value::string_map([("a", Value::Int64(5)), ("c", Value::Null)]),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(
            out.value,
            Value::string_map([("a", Value::Int16(5)), ("c", Value::Null)])
        );
    }
}
