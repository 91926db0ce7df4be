//! The values a template sees, printed as Go's `fmt` prints them (`%v`) and encoded as
//! Go's `encoding/json` encodes the Go structs they stand for.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::gotime;
use crate::status::Status;

/// A Go value, as far as Burrow's template data has them.
#[derive(Debug, Clone)]
pub enum Value {
    /// A key a map does not have: Go prints `<no value>`.
    Missing,
    /// A nil pointer (`.Result.Maxlag` of a group without partitions): Go prints `<nil>`.
    Nil,
    Bool(bool),
    Int(i64),
    /// Go's `float32` (`Complete`), printed in its own shortest form.
    F32(f32),
    F64(f64),
    Str(String),
    /// `protocol.StatusConstant`: prints its name, compares as its number.
    Status(Status),
    /// `time.Time`.
    Time(DateTime<Utc>),
    List(Vec<Value>),
    /// A map with string keys: ranged over in key order, as Go does.
    Map(BTreeMap<String, Value>),
    Struct(Arc<Struct>),
}

/// A Go struct: its exported fields by Go name, and its JSON encoding (the `json` tags).
#[derive(Debug)]
pub struct Struct {
    pub fields: Vec<(&'static str, Value)>,
    pub json: serde_json::Value,
}

impl Value {
    pub fn structure(fields: Vec<(&'static str, Value)>, json: serde_json::Value) -> Value {
        Value::Struct(Arc::new(Struct { fields, json }))
    }

    /// Go's truth: false, 0, nil and empty values are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::F32(f) => *f != 0.0,
            Value::F64(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Status(s) => *s as i64 != 0,
            Value::Time(_) | Value::Struct(_) => true,
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    /// The Go type's name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::F32(_) => "float32",
            Value::F64(_) => "float64",
            Value::Str(_) => "string",
            Value::Status(_) => "protocol.StatusConstant",
            Value::Time(_) => "time.Time",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Struct(_) => "struct",
        }
    }

    /// The value as an integer, for arithmetic and comparisons (Go's integer kinds).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Status(s) => Some(*s as i64),
            _ => None,
        }
    }

    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::F32(f) => Some(f64::from(*f)),
            Value::F64(f) => Some(*f),
            _ => self.as_int().map(|i| i as f64),
        }
    }

    /// `{{.}}`: Go's `fmt.Print` of the value.
    pub fn print(&self) -> String {
        let mut out = String::new();
        self.print_into(&mut out);
        out
    }

    fn print_into(&self, out: &mut String) {
        match self {
            Value::Missing => out.push_str("<no value>"),
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::F32(f) => out.push_str(&f.to_string()),
            Value::F64(f) => out.push_str(&f.to_string()),
            Value::Str(s) => out.push_str(s),
            Value::Status(s) => out.push_str(s.name()),
            Value::Time(t) => out.push_str(&gotime::default_string(t)),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.print_into(out);
                }
                out.push(']');
            }
            Value::Map(map) => {
                out.push_str("map[");
                for (i, (key, value)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(key);
                    out.push(':');
                    value.print_into(out);
                }
                out.push(']');
            }
            Value::Struct(s) => {
                out.push('{');
                for (i, (_, value)) in s.fields.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    value.print_into(out);
                }
                out.push('}');
            }
        }
    }

    /// Go's `json.Marshal` of the value.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Missing | Value::Nil => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::F32(f) => {
                serde_json::Number::from_f64(f64::from(*f)).map_or(J::Null, |_| json_f32(*f))
            }
            Value::F64(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Status(s) => J::String(s.name().to_owned()),
            Value::Time(t) => J::String(gotime::rfc3339_nano(t)),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(map) => {
                J::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Struct(s) => s.json.clone(),
        }
    }
}

/// A `float32` as Go's JSON writes it: its shortest decimal form.
fn json_f32(f: f32) -> serde_json::Value {
    f.to_string()
        .parse::<serde_json::Number>()
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}
