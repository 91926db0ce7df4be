//! What the transforms share: Kafka's `Transformation` and `Predicate` interfaces, the
//! `$Key`/`$Value` side, and Kafka's `Requirements` checks.

use std::collections::HashMap;
use std::fmt;

use crate::config::{ConfigDef, ParsedConfig};
use crate::data::{SchemaRef, Struct, Value};
use crate::error::{ConfigError, DataError};
use crate::record::ConnectRecord;

/// Kafka's `Transformation`: a record in, a record out, or `None` to drop it.
pub trait Transformation: fmt::Debug + Send + Sync {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError>;
}

/// Kafka's `Predicate`.
pub trait Predicate: fmt::Debug + Send + Sync {
    fn test(&self, record: &ConnectRecord) -> bool;
}

/// Which part of the record a `$Key`/`$Value` transform works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    pub(crate) fn schema(self, record: &ConnectRecord) -> Option<&SchemaRef> {
        match self {
            Side::Key => record.key_schema.as_ref(),
            Side::Value => record.value_schema.as_ref(),
        }
    }

    pub(crate) fn value(self, record: &ConnectRecord) -> &Value {
        match self {
            Side::Key => &record.key,
            Side::Value => &record.value,
        }
    }

    /// Java's `newRecord(record, updatedSchema, updatedValue)` for this side.
    pub(crate) fn with(
        self,
        mut record: ConnectRecord,
        schema: Option<SchemaRef>,
        value: Value,
    ) -> ConnectRecord {
        match self {
            Side::Key => {
                record.key_schema = schema;
                record.key = value;
            }
            Side::Value => {
                record.value_schema = schema;
                record.value = value;
            }
        }
        record
    }
}

/// Parses a transform's properties against its `ConfigDef` (Java's `SimpleConfig`).
pub(crate) fn parse(
    def: &ConfigDef,
    props: &HashMap<String, String>,
) -> Result<ParsedConfig, ConfigError> {
    def.parse(props)
}

/// Java's `Requirements.requireMap`: the entries of a map value.
pub(crate) fn require_map<'a>(
    value: &'a Value,
    purpose: &str,
) -> Result<&'a Vec<(Value, Value)>, DataError> {
    match value {
        Value::Map(entries) => Ok(entries),
        other => Err(DataError::new(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            other.java_class()
        ))),
    }
}

/// Java's `Requirements.requireStruct`.
pub(crate) fn require_struct<'a>(value: &'a Value, purpose: &str) -> Result<&'a Struct, DataError> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(DataError::new(format!(
            "Only Struct objects supported for [{purpose}], found: {}",
            other.java_class()
        ))),
    }
}

/// Java's `Requirements.requireSchema`.
pub(crate) fn require_schema<'a>(
    schema: Option<&'a SchemaRef>,
    purpose: &str,
) -> Result<&'a SchemaRef, DataError> {
    schema.ok_or_else(|| DataError::new(format!("Schema required for [{purpose}]")))
}

/// A struct field's value with or without its default (`replace.null.with.default`).
pub(crate) fn field_value<'a>(
    value: &'a Struct,
    name: &str,
    replace_null_with_default: bool,
) -> Result<&'a Value, DataError> {
    if replace_null_with_default {
        value.get(name)
    } else {
        value.get_without_default(name)
    }
}

pub(crate) const REPLACE_NULL_WITH_DEFAULT: &str = "replace.null.with.default";
pub(crate) const REPLACE_NULL_WITH_DEFAULT_DOC: &str = "Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.";

/// Converts a Java `Matcher.replaceFirst` replacement (`$1`, `${name}`, `\$`) into the
/// `regex` crate's syntax, where `$1a` would name a group `1a`.
pub(crate) fn java_replacement(replacement: &str) -> String {
    let mut out = String::new();
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    if next == '$' {
                        out.push_str("$$");
                    } else {
                        out.push(next);
                    }
                }
            }
            '$' => {
                if chars.peek() == Some(&'{') {
                    out.push('$');
                } else {
                    let mut digits = String::new();
                    while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        digits.push(*d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A Java regex that must match the whole input (`Matcher.matches()`).
pub(crate) fn whole_match_regex(name: &str, pattern: &str) -> Result<regex::Regex, ConfigError> {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| ConfigError::invalid(name, pattern, format!("Invalid regex: {e}")))
}
