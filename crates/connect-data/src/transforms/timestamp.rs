//! Kafka's `TimestampConverter$Key`/`$Value` and `TimestampRouter`, with the subset of
//! Java's `SimpleDateFormat` patterns they need, always in UTC as Kafka sets them.
//!
//! Pattern letters supported: `y` (`yyyy`, `yy`), `M` (`M`, `MM`, `MMM`, `MMMM`), `d`,
//! `D`, `H`, `h`, `m`, `s`, `S` (`SSS`), `a`, `E` (`EEE`, `EEEE`), `z`, `Z`, `X`, quoted
//! text (`'T'`, `''`). Other letters are rejected at configuration, as Java rejects
//! unknown ones.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::api::{field_value, parse, require_map, require_struct, Side, Transformation};
use super::api::{REPLACE_NULL_WITH_DEFAULT, REPLACE_NULL_WITH_DEFAULT_DOC};
use crate::config::{ConfigDef, ConfigType, DefaultValue, Importance, Validator};
use crate::data::{Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::error::{ConfigError, DataError};
use crate::logical::{self, MILLIS_PER_DAY};
use crate::record::ConnectRecord;

/// A `SimpleDateFormat` pattern translated to chrono's strftime syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaDateFormat {
    pattern: String,
    chrono: String,
}

impl JavaDateFormat {
    pub fn new(pattern: &str) -> Result<JavaDateFormat, String> {
        let mut chrono = String::new();
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                // Quoted text; '' is a literal quote.
                if chars.get(i + 1) == Some(&'\'') {
                    chrono.push('\'');
                    i += 2;
                    continue;
                }
                i += 1;
                while i < chars.len() {
                    if chars[i] == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            chrono.push('\'');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    push_literal(&mut chrono, chars[i]);
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(format!("Unterminated quote in pattern {pattern}"));
                }
                i += 1;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                push_literal(&mut chrono, c);
                i += 1;
                continue;
            }
            let mut count = 1;
            while chars.get(i + count) == Some(&c) {
                count += 1;
            }
            i += count;
            let spec = match (c, count) {
                ('y', 2) => "%y",
                ('y', _) => "%Y",
                ('M', 1) => "%-m",
                ('M', 2) => "%m",
                ('M', 3) => "%b",
                ('M', _) => "%B",
                ('d', 1) => "%-d",
                ('d', _) => "%d",
                ('D', _) => "%j",
                ('H', 1) => "%-H",
                ('H', _) => "%H",
                ('h', 1) => "%-I",
                ('h', _) => "%I",
                ('m', 1) => "%-M",
                ('m', _) => "%M",
                ('s', 1) => "%-S",
                ('s', _) => "%S",
                ('S', _) => "%3f",
                ('a', _) => "%p",
                ('E', 1..=3) => "%a",
                ('E', _) => "%A",
                ('z', _) => "UTC",
                ('Z', _) => "%z",
                ('X', _) => "Z",
                (other, _) => return Err(format!("Illegal pattern character '{other}'")),
            };
            chrono.push_str(spec);
        }
        Ok(JavaDateFormat {
            pattern: pattern.to_string(),
            chrono,
        })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Java's `format(new Date(epoch_ms))` in UTC.
    pub fn format(&self, epoch_ms: i64) -> String {
        match DateTime::<Utc>::from_timestamp_millis(epoch_ms) {
            Some(instant) => instant.format(&self.chrono).to_string(),
            None => epoch_ms.to_string(),
        }
    }

    /// Java's `parse(text).getTime()` in UTC: a full date-time, else a date at midnight,
    /// else a time on the epoch's day.
    pub fn parse(&self, text: &str) -> Option<i64> {
        // chrono needs a field for %z when the pattern has a literal UTC zone name.
        if let Ok(t) = NaiveDateTime::parse_from_str(text, &self.chrono) {
            return Some(t.and_utc().timestamp_millis());
        }
        if let Ok(t) = DateTime::parse_from_str(text, &self.chrono) {
            return Some(t.timestamp_millis());
        }
        if let Ok(d) = NaiveDate::parse_from_str(text, &self.chrono) {
            return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis());
        }
        if let Ok(t) = NaiveTime::parse_from_str(text, &self.chrono) {
            return Some(
                NaiveDate::from_ymd_opt(1970, 1, 1)?
                    .and_time(t)
                    .and_utc()
                    .timestamp_millis(),
            );
        }
        None
    }
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// The timestamp representations TimestampConverter converts between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

impl Representation {
    fn from_config(text: &str) -> Option<Representation> {
        Some(match text {
            "string" => Representation::String,
            "unix" => Representation::Unix,
            "Date" => Representation::Date,
            "Time" => Representation::Time,
            "Timestamp" => Representation::Timestamp,
            _ => return None,
        })
    }

    fn schema(self, optional: bool) -> SchemaRef {
        let builder = match self {
            Representation::String => SchemaBuilder::string(),
            Representation::Unix => SchemaBuilder::int64(),
            Representation::Date => logical::date(),
            Representation::Time => logical::time(),
            Representation::Timestamp => logical::timestamp(),
        };
        builder.set_optional(optional).build()
    }
}

/// `TimestampConverter$Key` / `TimestampConverter$Value`.
#[derive(Debug, Clone)]
pub struct TimestampConverter {
    side: Side,
    field: String,
    target: Representation,
    format: Option<JavaDateFormat>,
    unix_precision: String,
    replace_null_with_default: bool,
}

impl TimestampConverter {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("field", ConfigType::String, DefaultValue::Text(String::new()), None, Importance::High, "The field containing the timestamp, or empty if the entire value is a timestamp")
            .define(
                "target.type",
                ConfigType::String,
                DefaultValue::Required,
                Some(Validator::ValidString(["string", "unix", "Date", "Time", "Timestamp"].map(String::from).to_vec())),
                Importance::High,
                "The desired timestamp representation: string, unix, Date, Time, or Timestamp",
            )
            .define("format", ConfigType::String, DefaultValue::Text(String::new()), None, Importance::Medium, "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string.")
            .define(
                "unix.precision",
                ConfigType::String,
                DefaultValue::Text("milliseconds".into()),
                Some(Validator::ValidString(["nanoseconds", "microseconds", "milliseconds", "seconds"].map(String::from).to_vec())),
                Importance::Low,
                "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input is a Long.Note: This SMT will cause precision loss during conversions from, and to, values with sub-millisecond components.",
            )
            .define(REPLACE_NULL_WITH_DEFAULT, ConfigType::Boolean, DefaultValue::Text("true".into()), None, Importance::Medium, REPLACE_NULL_WITH_DEFAULT_DOC)
    }

    pub fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<TimestampConverter, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        let target = Representation::from_config(config.string("target.type").unwrap_or_default())
            .expect("validated");
        let pattern = config.string("format").unwrap_or_default();
        if target == Representation::String && pattern.trim().is_empty() {
            return Err(ConfigError::other("TimestampConverter requires format option to be specified when using string timestamps"));
        }
        let format = if pattern.trim().is_empty() {
            None
        } else {
            Some(JavaDateFormat::new(pattern).map_err(|_| {
                ConfigError::other(format!("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {pattern}"))
            })?)
        };
        Ok(TimestampConverter {
            side,
            field: config.string("field").unwrap_or_default().to_string(),
            target,
            format,
            unix_precision: config
                .string("unix.precision")
                .unwrap_or("milliseconds")
                .to_string(),
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT),
        })
    }

    /// The instant (epoch ms) a value in representation `from` holds.
    fn to_raw(&self, value: &Value, from: Representation) -> Result<i64, DataError> {
        match from {
            Representation::String => {
                let Value::String(text) = value else {
                    return Err(DataError::new(format!(
                        "Expected string timestamp to be a String, but found class {}",
                        value.java_class()
                    )));
                };
                let format = self.format.as_ref().expect("string input needs a format");
                format.parse(text).ok_or_else(|| {
                    DataError::new(format!(
                        "Could not parse timestamp: value ({text}) does not match pattern ({})",
                        format.pattern()
                    ))
                })
            }
            Representation::Unix => {
                let Value::Int64(unix) = value else {
                    return Err(DataError::new(format!(
                        "Expected Unix timestamp to be a Long, but found class {}",
                        value.java_class()
                    )));
                };
                Ok(match self.unix_precision.as_str() {
                    "seconds" => unix.saturating_mul(1000),
                    "microseconds" => unix / 1000,
                    "nanoseconds" => unix / 1_000_000,
                    _ => *unix,
                })
            }
            Representation::Date | Representation::Time | Representation::Timestamp => {
                let Value::Date(ms) = value else {
                    let what = match from {
                        Representation::Date => "Date",
                        Representation::Time => "Time",
                        _ => "Timestamp",
                    };
                    return Err(DataError::new(format!(
                        "Expected {what} to be a java.util.Date, but found class {}",
                        value.java_class()
                    )));
                };
                Ok(*ms)
            }
        }
    }

    fn to_type(&self, ms: i64) -> Value {
        match self.target {
            Representation::String => Value::String(
                self.format
                    .as_ref()
                    .expect("checked at configure")
                    .format(ms),
            ),
            Representation::Unix => Value::Int64(match self.unix_precision.as_str() {
                "seconds" => ms.div_euclid(1000),
                "microseconds" => ms.saturating_mul(1000),
                "nanoseconds" => ms.saturating_mul(1_000_000),
                _ => ms,
            }),
            Representation::Date => Value::Date(ms - ms.rem_euclid(MILLIS_PER_DAY)),
            Representation::Time => Value::Date(ms.rem_euclid(MILLIS_PER_DAY)),
            Representation::Timestamp => Value::Date(ms),
        }
    }

    fn convert(&self, value: &Value, from: Option<Representation>) -> Result<Value, DataError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let from = match from {
            Some(from) => from,
            None => match value {
                Value::Date(_) => Representation::Timestamp,
                Value::Int64(_) => Representation::Unix,
                Value::String(_) => Representation::String,
                other => {
                    return Err(DataError::new(format!(
                        "TimestampConverter does not support class {} objects as timestamps",
                        other.java_class()
                    )))
                }
            },
        };
        Ok(self.to_type(self.to_raw(value, from)?))
    }

    fn representation_of(schema: &Schema) -> Result<Representation, DataError> {
        Ok(match (schema.name(), schema.schema_type()) {
            (Some(logical::TIMESTAMP_NAME), _) => Representation::Timestamp,
            (Some(logical::DATE_NAME), _) => Representation::Date,
            (Some(logical::TIME_NAME), _) => Representation::Time,
            (_, Type::String) => Representation::String,
            (_, Type::Int64) => Representation::Unix,
            _ => {
                return Err(DataError::new(format!(
                    "Schema {schema} does not correspond to a known timestamp type format"
                )))
            }
        })
    }
}

impl Transformation for TimestampConverter {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        const PURPOSE: &str = "converting timestamp formats";
        let value = self.side.value(&record);
        let Some(schema) = self.side.schema(&record).cloned() else {
            if value.is_null() || self.field.is_empty() {
                let converted = self.convert(value, None)?;
                return Ok(Some(self.side.with(record, None, converted)));
            }
            let mut updated = require_map(value, PURPOSE)?.clone();
            let converted = self.convert(value.map_get(&self.field), None)?;
            Value::map_put(&mut updated, &self.field, converted);
            return Ok(Some(self.side.with(record, None, Value::Map(updated))));
        };
        if self.field.is_empty() {
            let converted = self.convert(value, Some(Self::representation_of(&schema)?))?;
            let updated_schema = self.target.schema(schema.is_optional());
            return Ok(Some(self.side.with(
                record,
                Some(updated_schema),
                converted,
            )));
        }
        if !value.is_null() {
            require_struct(value, PURPOSE)?;
        }
        let mut builder = SchemaBuilder::struct_().with_basics_of(&schema);
        for field in schema.fields() {
            let field_schema = if field.name() == self.field {
                self.target.schema(field.schema().is_optional())
            } else {
                field.schema().clone()
            };
            builder = builder.field(field.name(), field_schema)?;
        }
        if schema.is_optional() {
            builder = builder.optional();
        }
        let updated_schema = builder.build();
        let converted = match value {
            Value::Struct(original) => {
                let mut updated = Struct::new(updated_schema.clone())?;
                for field in original.schema().fields() {
                    let v = field_value(original, field.name(), self.replace_null_with_default)?;
                    let v = if field.name() == self.field {
                        self.convert(v, Some(Self::representation_of(field.schema())?))?
                    } else {
                        v.clone()
                    };
                    updated.put(field.name(), v)?;
                }
                Value::Struct(updated)
            }
            _ => Value::Null,
        };
        Ok(Some(self.side.with(
            record,
            Some(updated_schema),
            converted,
        )))
    }
}

/// `TimestampRouter`: topic from `topic.format` with `${topic}` and `${timestamp}`.
#[derive(Debug, Clone)]
pub struct TimestampRouter {
    topic_format: String,
    timestamp_format: JavaDateFormat,
}

impl TimestampRouter {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new()
            .define("topic.format", ConfigType::String, DefaultValue::Text("${topic}-${timestamp}".into()), None, Importance::High, "Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders for the topic and timestamp, respectively.")
            .define("timestamp.format", ConfigType::String, DefaultValue::Text("yyyyMMdd".into()), None, Importance::High, "Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>.")
    }

    pub fn new(props: &HashMap<String, String>) -> Result<TimestampRouter, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        let pattern = config.string("timestamp.format").unwrap_or("yyyyMMdd");
        Ok(TimestampRouter {
            topic_format: config
                .string("topic.format")
                .unwrap_or_default()
                .to_string(),
            timestamp_format: JavaDateFormat::new(pattern)
                .map_err(|e| ConfigError::invalid("timestamp.format", pattern, e))?,
        })
    }
}

impl Transformation for TimestampRouter {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        let Some(timestamp) = record.timestamp else {
            return Err(DataError::new(format!(
                "Timestamp missing on record: {}",
                record.java_to_string()
            )));
        };
        let formatted = self.timestamp_format.format(timestamp);
        record.topic = self
            .topic_format
            .replace("${topic}", &record.topic)
            .replace("${timestamp}", &formatted);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::test_support::{props, sink_value};

    // TimestampConverterTest: 2017-01-02 (17168 days) plus 1 hour, 2 minutes, 3 seconds, 4 ms.
    const DATE_PLUS_TIME: i64 = 17168 * MILLIS_PER_DAY + 3_723_004;
    const STRING_DATE_FMT: &str = "yyyy MM dd HH mm ss SSS z";
    const DATE_PLUS_TIME_STRING: &str = "2017 01 02 01 02 03 004 UTC";

    fn converter(pairs: &[(&str, &str)]) -> TimestampConverter {
        TimestampConverter::new(Side::Value, &props(pairs)).unwrap()
    }

    #[test]
    fn formats_and_parses_simple_date_format_patterns() {
        let format = JavaDateFormat::new(STRING_DATE_FMT).unwrap();
        assert_eq!(format.format(DATE_PLUS_TIME), DATE_PLUS_TIME_STRING);
        assert_eq!(format.parse(DATE_PLUS_TIME_STRING), Some(DATE_PLUS_TIME));
        let iso = JavaDateFormat::new("yyyy-MM-dd'T'HH:mm:ss.SSSX").unwrap();
        assert_eq!(iso.format(DATE_PLUS_TIME), "2017-01-02T01:02:03.004Z");
        assert_eq!(
            JavaDateFormat::new("yyyyMMdd")
                .unwrap()
                .format(DATE_PLUS_TIME),
            "20170102"
        );
        assert!(JavaDateFormat::new("bad pattern q").is_err());
    }

    #[test]
    fn converts_between_representations() {
        let schemaless = |target: &str, value: Value| {
            converter(&[("target.type", target), ("format", STRING_DATE_FMT)])
                .apply(sink_value(None, value))
                .unwrap()
                .unwrap()
                .value
        };
        assert_eq!(
            schemaless("Timestamp", Value::string(DATE_PLUS_TIME_STRING)),
            Value::Date(DATE_PLUS_TIME)
        );
        assert_eq!(
            schemaless("string", Value::Date(DATE_PLUS_TIME)),
            Value::string(DATE_PLUS_TIME_STRING)
        );
        assert_eq!(
            schemaless("unix", Value::Date(DATE_PLUS_TIME)),
            Value::Int64(DATE_PLUS_TIME)
        );
        assert_eq!(
            schemaless("Date", Value::Int64(DATE_PLUS_TIME)),
            Value::Date(17168 * MILLIS_PER_DAY)
        );
        assert_eq!(
            schemaless("Time", Value::Date(DATE_PLUS_TIME)),
            Value::Date(3_723_004)
        );
        let seconds = converter(&[("target.type", "unix"), ("unix.precision", "seconds")]);
        assert_eq!(
            seconds
                .apply(sink_value(None, Value::Date(DATE_PLUS_TIME)))
                .unwrap()
                .unwrap()
                .value,
            Value::Int64(DATE_PLUS_TIME / 1000)
        );

        let with_schema = converter(&[("target.type", "Date")])
            .apply(sink_value(
                Some(logical::timestamp().build()),
                Value::Date(DATE_PLUS_TIME),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(with_schema.value_schema, Some(logical::date().build()));
        assert_eq!(with_schema.value, Value::Date(17168 * MILLIS_PER_DAY));

        let field = converter(&[("target.type", "unix"), ("field", "ts")]);
        let schema = SchemaBuilder::struct_()
            .field("ts", logical::timestamp().build())
            .unwrap()
            .field("other", Schema::primitive(Type::String, false))
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("ts", Value::Date(DATE_PLUS_TIME))
            .unwrap()
            .with("other", Value::string("x"))
            .unwrap();
        let out = field
            .apply(sink_value(Some(schema), Value::Struct(value)))
            .unwrap()
            .unwrap();
        let Value::Struct(s) = out.value else {
            panic!()
        };
        assert_eq!(s.get("ts").unwrap(), &Value::Int64(DATE_PLUS_TIME));
        assert_eq!(s.get("other").unwrap(), &Value::string("x"));
    }

    #[test]
    fn reports_kafkas_errors() {
        assert_eq!(
            TimestampConverter::new(Side::Value, &props(&[("target.type", "string")])).unwrap_err().to_string(),
            "TimestampConverter requires format option to be specified when using string timestamps"
        );
        assert_eq!(
            TimestampConverter::new(Side::Value, &props(&[("target.type", "invalid")])).unwrap_err().to_string(),
            "Invalid value invalid for configuration target.type: String must be one of: string, unix, Date, Time, Timestamp"
        );
        let c = converter(&[("target.type", "Timestamp"), ("format", STRING_DATE_FMT)]);
        assert_eq!(
            c.apply(sink_value(None, Value::string("nope"))).unwrap_err().message,
            "Could not parse timestamp: value (nope) does not match pattern (yyyy MM dd HH mm ss SSS z)"
        );
    }

    // TimestampRouterTest
    #[test]
    fn timestamp_router_formats_the_topic() {
        let router = TimestampRouter::new(&props(&[])).unwrap();
        let mut record = sink_value(None, Value::Null);
        record.topic = "test".into();
        assert_eq!(
            router.apply(record.clone()).unwrap().unwrap().topic,
            "test-20170103"
        );
        record.timestamp = None;
        assert!(router
            .apply(record)
            .unwrap_err()
            .message
            .starts_with("Timestamp missing on record: SinkRecord{topic='test'"));
    }
}
