//! The parts of Kafka's `Values` utility that header handling needs: a value's text form
//! (`convertToString`) and the schema and value inferred from text (`parseString`).
//!
//! `parse_string` infers booleans, null, integers (the narrowest of INT8…INT64), floats
//! (FLOAT32 when finite, else FLOAT64, else Decimal) and the ISO-8601 date, time and
//! timestamp forms Kafka writes; anything else, including Kafka's `[…]`/`{…}` array and
//! map syntax, reads as a STRING (Kafka parses those into arrays and maps: not yet here).
//! Dates are formatted and parsed in UTC, as on a JVM whose default zone is UTC.

use base64::Engine;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use num_bigint::BigInt;
use num_traits::ToPrimitive;

use crate::data::{Schema, SchemaAndValue, Type, Value};
use crate::decimal::Decimal;
use crate::logical::{self, MILLIS_PER_DAY};

const ISO_DATE: &str = "%Y-%m-%d";
const ISO_TIME: &str = "%H:%M:%S%.3fZ";
const ISO_TIMESTAMP: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// Java's `Values.dateFormatFor(date).format(date)`: a time of day when the instant lies
/// within the epoch's first day, a date at midnight, else a timestamp.
pub fn format_date(epoch_ms: i64) -> String {
    let Some(instant) = chrono::DateTime::from_timestamp_millis(epoch_ms) else {
        return epoch_ms.to_string();
    };
    let pattern = if epoch_ms < MILLIS_PER_DAY {
        ISO_TIME
    } else if epoch_ms % MILLIS_PER_DAY == 0 {
        ISO_DATE
    } else {
        ISO_TIMESTAMP
    };
    instant.format(pattern).to_string()
}

/// Java's `Values.convertToString(schema, value)` for a non-null value.
pub fn convert_to_string(_schema: Option<&Schema>, value: &Value) -> String {
    let mut out = String::new();
    append(&mut out, value, false);
    out
}

fn append(out: &mut String, value: &Value, embedded: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::String(s) if embedded => {
            out.push('"');
            out.push_str(&s.replace('\\', "\\\\").replace('"', "\\\""));
            out.push('"');
        }
        Value::Bytes(bytes) => {
            let text = base64::engine::general_purpose::STANDARD.encode(bytes);
            if embedded {
                out.push('"');
                out.push_str(&text);
                out.push('"');
            } else {
                out.push_str(&text);
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, item, true);
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, k, true);
                out.push(':');
                append(out, v, true);
            }
            out.push('}');
        }
        Value::Struct(s) => {
            out.push('{');
            for (i, field) in s.schema().fields().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                append(out, &Value::string(field.name()), true);
                out.push(':');
                append(out, s.get_field(field), true);
            }
            out.push('}');
        }
        Value::Date(ms) => out.push_str(&format_date(*ms)),
        other => out.push_str(&other.java_to_string()),
    }
}

/// Java's `Values.parseString(text)` (the subset described in the module's overview).
pub fn parse_string(text: &str) -> SchemaAndValue {
    let string = || {
        SchemaAndValue::new(
            Some(Schema::primitive(Type::String, false)),
            Value::string(text),
        )
    };
    if text.is_empty() {
        return string();
    }
    match text {
        "null" => return SchemaAndValue::NULL,
        "true" => {
            return SchemaAndValue::new(
                Some(Schema::primitive(Type::Boolean, false)),
                Value::Boolean(true),
            )
        }
        "false" => {
            return SchemaAndValue::new(
                Some(Schema::primitive(Type::Boolean, false)),
                Value::Boolean(false),
            )
        }
        _ => {}
    }
    let token = text.trim();
    let Some(first) = token.chars().next() else {
        return string();
    };
    if first.is_ascii_digit() {
        if let Some(temporal) = parse_temporal(token) {
            return temporal;
        }
    }
    if first.is_ascii_digit() || first == '+' || first == '-' {
        if let Some(number) = parse_number(token) {
            return number;
        }
    }
    string()
}

fn parse_temporal(token: &str) -> Option<SchemaAndValue> {
    if let Ok(t) = NaiveDateTime::parse_from_str(token, ISO_TIMESTAMP) {
        let ms = t.and_utc().timestamp_millis();
        return Some(SchemaAndValue::new(
            Some(logical::timestamp().build()),
            Value::Date(ms),
        ));
    }
    if let Ok(d) = NaiveDate::parse_from_str(token, ISO_DATE) {
        let ms = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        return Some(SchemaAndValue::new(
            Some(logical::date().build()),
            Value::Date(ms),
        ));
    }
    if let Ok(t) = NaiveTime::parse_from_str(token, ISO_TIME) {
        let ms = NaiveDate::from_ymd_opt(1970, 1, 1)?
            .and_time(t)
            .and_utc()
            .timestamp_millis();
        return Some(SchemaAndValue::new(
            Some(logical::time().build()),
            Value::Date(ms),
        ));
    }
    None
}

fn parse_number(token: &str) -> Option<SchemaAndValue> {
    let decimal: Decimal = token.parse().ok()?;
    let primitive = |t| Some(Schema::primitive(t, false));
    // An exact integer: the narrowest integer type that holds it.
    let integral = decimal.to_big_integer();
    if Decimal::new(integral.clone(), 0).to_string() == decimal_without_trailing_zeros(&decimal) {
        if let Some(v) = integral.to_i64() {
            return Some(if let Ok(v) = i8::try_from(v) {
                SchemaAndValue::new(primitive(Type::Int8), Value::Int8(v))
            } else if let Ok(v) = i16::try_from(v) {
                SchemaAndValue::new(primitive(Type::Int16), Value::Int16(v))
            } else if let Ok(v) = i32::try_from(v) {
                SchemaAndValue::new(primitive(Type::Int32), Value::Int32(v))
            } else {
                SchemaAndValue::new(primitive(Type::Int64), Value::Int64(v))
            });
        }
    }
    if decimal.scale() != 0 {
        let f = decimal.to_f32();
        if f.is_finite() {
            return Some(SchemaAndValue::new(
                primitive(Type::Float32),
                Value::Float32(f),
            ));
        }
        let d = decimal.to_f64();
        if d.is_finite() {
            return Some(SchemaAndValue::new(
                primitive(Type::Float64),
                Value::Float64(d),
            ));
        }
    }
    let schema = logical::decimal(decimal.scale()).build();
    Some(SchemaAndValue::new(Some(schema), Value::Decimal(decimal)))
}

/// The value's plain integer text when it has no fractional part (`1.00` → `1`).
fn decimal_without_trailing_zeros(decimal: &Decimal) -> String {
    let mut unscaled = decimal.unscaled().clone();
    let mut scale = decimal.scale();
    let ten = BigInt::from(10);
    while scale > 0 && (&unscaled % &ten) == BigInt::from(0) {
        unscaled /= &ten;
        scale -= 1;
    }
    if scale > 0 {
        return Decimal::new(unscaled, scale).to_string();
    }
    Decimal::new(unscaled, scale).to_big_integer().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> (Option<Type>, Value) {
        let sv = parse_string(text);
        (sv.schema.map(|s| s.schema_type()), sv.value)
    }

    #[test]
    fn parse_string_infers_kafkas_types() {
        assert_eq!(parsed("true"), (Some(Type::Boolean), Value::Boolean(true)));
        assert_eq!(parsed("12"), (Some(Type::Int8), Value::Int8(12)));
        assert_eq!(parsed("-300"), (Some(Type::Int16), Value::Int16(-300)));
        assert_eq!(parsed("70000"), (Some(Type::Int32), Value::Int32(70000)));
        assert_eq!(
            parsed("5000000000"),
            (Some(Type::Int64), Value::Int64(5_000_000_000))
        );
        assert_eq!(parsed("1.5"), (Some(Type::Float32), Value::Float32(1.5)));
        assert_eq!(
            parsed("hello world"),
            (Some(Type::String), Value::string("hello world"))
        );
        assert_eq!(parsed("null"), (None, Value::Null));
        let sv = parse_string("2024-05-01");
        assert_eq!(sv.schema.unwrap().name(), Some(logical::DATE_NAME));
        assert_eq!(sv.value, Value::Date(19844 * MILLIS_PER_DAY));
    }

    #[test]
    fn convert_to_string_formats_as_kafka() {
        assert_eq!(convert_to_string(None, &Value::Int32(5)), "5");
        assert_eq!(convert_to_string(None, &Value::string("a\"b")), "a\"b");
        assert_eq!(
            convert_to_string(
                None,
                &Value::Array(vec![Value::string("a"), Value::Int32(1)])
            ),
            "[\"a\",1]"
        );
        assert_eq!(
            convert_to_string(None, &Value::Date(19844 * MILLIS_PER_DAY)),
            "2024-05-01"
        );
        assert_eq!(convert_to_string(None, &Value::Date(1000)), "00:00:01.000Z");
        assert_eq!(
            convert_to_string(None, &Value::Date(19844 * MILLIS_PER_DAY + 1)),
            "2024-05-01T00:00:00.001Z"
        );
    }
}
