//! The transforms that add, drop, rename, mask, move or wrap fields: Kafka's
//! `InsertField`, `ReplaceField`, `MaskField`, `ValueToKey`, `ExtractField`, `HoistField`.
//! Each works on a Struct with its schema, or on a map when the record is schemaless.

use std::collections::HashMap;

use super::api::{
    field_value, parse, require_map, require_schema, require_struct, Side, Transformation,
};
use super::api::{REPLACE_NULL_WITH_DEFAULT, REPLACE_NULL_WITH_DEFAULT_DOC};
use crate::config::{ConfigDef, ConfigType, DefaultValue, Importance, Validator};
use crate::data::{Schema, SchemaBuilder, SchemaRef, Struct, Type, Value};
use crate::decimal::Decimal;
use crate::error::{ConfigError, DataError};
use crate::logical;
use crate::record::{ConnectRecord, RecordKind};

fn replace_null_key(def: ConfigDef) -> ConfigDef {
    def.define(
        REPLACE_NULL_WITH_DEFAULT,
        ConfigType::Boolean,
        DefaultValue::Text("true".into()),
        None,
        Importance::Medium,
        REPLACE_NULL_WITH_DEFAULT_DOC,
    )
}

// ---------------------------------------------------------------- InsertField

/// A field to insert: its name, and whether its schema is optional (`?`, the default)
/// or required (`!`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct InsertionSpec {
    name: String,
    optional: bool,
}

impl InsertionSpec {
    fn parse(spec: Option<&str>) -> Option<InsertionSpec> {
        let spec = spec?;
        Some(if let Some(name) = spec.strip_suffix('?') {
            InsertionSpec {
                name: name.to_string(),
                optional: true,
            }
        } else if let Some(name) = spec.strip_suffix('!') {
            InsertionSpec {
                name: name.to_string(),
                optional: false,
            }
        } else {
            InsertionSpec {
                name: spec.to_string(),
                optional: true,
            }
        })
    }
}

/// Kafka's `InsertField$Key` / `InsertField$Value`.
#[derive(Debug, Clone)]
pub struct InsertField {
    side: Side,
    topic_field: Option<InsertionSpec>,
    partition_field: Option<InsertionSpec>,
    offset_field: Option<InsertionSpec>,
    timestamp_field: Option<InsertionSpec>,
    static_field: Option<InsertionSpec>,
    static_value: Option<String>,
    replace_null_with_default: bool,
}

const OPTIONALITY_DOC: &str = "Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default).";

impl InsertField {
    pub fn config_def() -> ConfigDef {
        let string = |def: ConfigDef, name: &str, doc: String| {
            def.define(
                name,
                ConfigType::String,
                DefaultValue::Null,
                None,
                Importance::Medium,
                &doc,
            )
        };
        let def = ConfigDef::new();
        let def = string(
            def,
            "topic.field",
            format!("Field name for Kafka topic. {OPTIONALITY_DOC}"),
        );
        let def = string(
            def,
            "partition.field",
            format!("Field name for Kafka partition. {OPTIONALITY_DOC}"),
        );
        let def = string(def, "offset.field", format!("Field name for Kafka offset - only applicable to sink connectors.<br/>{OPTIONALITY_DOC}"));
        let def = string(
            def,
            "timestamp.field",
            format!("Field name for record timestamp. {OPTIONALITY_DOC}"),
        );
        let def = string(
            def,
            "static.field",
            format!("Field name for static data field. {OPTIONALITY_DOC}"),
        );
        let def = string(
            def,
            "static.value",
            "Static field value, if field name configured.".to_string(),
        );
        replace_null_key(def)
    }

    pub fn new(side: Side, props: &HashMap<String, String>) -> Result<InsertField, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        let spec = |key| InsertionSpec::parse(config.string(key));
        let transform = InsertField {
            side,
            topic_field: spec("topic.field"),
            partition_field: spec("partition.field"),
            offset_field: spec("offset.field"),
            timestamp_field: spec("timestamp.field"),
            static_field: spec("static.field"),
            static_value: config.string("static.value").map(str::to_string),
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT),
        };
        if transform.topic_field.is_none()
            && transform.partition_field.is_none()
            && transform.offset_field.is_none()
            && transform.timestamp_field.is_none()
            && transform.static_field.is_none()
        {
            return Err(ConfigError::other("No field insertion configured"));
        }
        if let (Some(field), None) = (&transform.static_field, &transform.static_value) {
            return Err(ConfigError::invalid(
                "static.value",
                "null",
                // Kafka prints the spec object's identity here; the name says more.
                format!("No value specified for static field: {}", field.name),
            ));
        }
        Ok(transform)
    }

    fn offset(record: &ConnectRecord) -> Result<i64, DataError> {
        match record.kind {
            RecordKind::Sink { kafka_offset, .. } => Ok(kafka_offset),
            RecordKind::Source { .. } => Err(DataError::new(
                "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord",
            )),
        }
    }

    fn updated_schema(&self, schema: &Schema) -> Result<SchemaRef, DataError> {
        let mut builder = SchemaBuilder::struct_().with_basics_of(schema);
        for field in schema.fields() {
            builder = builder.field(field.name(), field.schema().clone())?;
        }
        let add = |builder: SchemaBuilder,
                   spec: &Option<InsertionSpec>,
                   required: SchemaRef,
                   optional: SchemaRef| match spec {
            Some(spec) => builder.field(
                spec.name.clone(),
                if spec.optional { optional } else { required },
            ),
            None => Ok(builder),
        };
        builder = add(
            builder,
            &self.topic_field,
            Schema::primitive(Type::String, false),
            Schema::primitive(Type::String, true),
        )?;
        builder = add(
            builder,
            &self.partition_field,
            Schema::primitive(Type::Int32, false),
            Schema::primitive(Type::Int32, true),
        )?;
        builder = add(
            builder,
            &self.offset_field,
            Schema::primitive(Type::Int64, false),
            Schema::primitive(Type::Int64, true),
        )?;
        builder = add(
            builder,
            &self.timestamp_field,
            logical::timestamp().build(),
            logical::timestamp().optional().build(),
        )?;
        builder = add(
            builder,
            &self.static_field,
            Schema::primitive(Type::String, false),
            Schema::primitive(Type::String, true),
        )?;
        Ok(builder.build())
    }
}

impl Transformation for InsertField {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        let value = self.side.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        const PURPOSE: &str = "field insertion";
        let Some(schema) = self.side.schema(&record) else {
            let mut updated = require_map(value, PURPOSE)?.clone();
            if let Some(field) = &self.topic_field {
                Value::map_put(
                    &mut updated,
                    &field.name,
                    Value::string(record.topic.clone()),
                );
            }
            if let (Some(field), Some(partition)) = (&self.partition_field, record.kafka_partition)
            {
                Value::map_put(&mut updated, &field.name, Value::Int32(partition));
            }
            if let Some(field) = &self.offset_field {
                Value::map_put(
                    &mut updated,
                    &field.name,
                    Value::Int64(Self::offset(&record)?),
                );
            }
            if let (Some(field), Some(timestamp)) = (&self.timestamp_field, record.timestamp) {
                Value::map_put(&mut updated, &field.name, Value::Int64(timestamp));
            }
            if let (Some(field), Some(v)) = (&self.static_field, &self.static_value) {
                Value::map_put(&mut updated, &field.name, Value::string(v.clone()));
            }
            return Ok(Some(self.side.with(record, None, Value::Map(updated))));
        };
        let value = require_struct(value, PURPOSE)?;
        let updated_schema = self.updated_schema(schema)?;
        let mut updated = Struct::new(updated_schema.clone())?;
        for field in value.schema().fields() {
            let v = field_value(value, field.name(), self.replace_null_with_default)?;
            updated.put(field.name(), v.clone())?;
        }
        if let Some(field) = &self.topic_field {
            updated.put(&field.name, Value::string(record.topic.clone()))?;
        }
        if let (Some(field), Some(partition)) = (&self.partition_field, record.kafka_partition) {
            updated.put(&field.name, Value::Int32(partition))?;
        }
        if let Some(field) = &self.offset_field {
            updated.put(&field.name, Value::Int64(Self::offset(&record)?))?;
        }
        if let (Some(field), Some(timestamp)) = (&self.timestamp_field, record.timestamp) {
            updated.put(&field.name, Value::Date(timestamp))?;
        }
        if let (Some(field), Some(v)) = (&self.static_field, &self.static_value) {
            updated.put(&field.name, Value::string(v.clone()))?;
        }
        Ok(Some(self.side.with(
            record,
            Some(updated_schema),
            Value::Struct(updated),
        )))
    }
}

// ---------------------------------------------------------------- ReplaceField

/// Kafka's `ReplaceField$Key` / `ReplaceField$Value` (Kafka 4 keys: `exclude`,
/// `include`, `renames`; the pre-4.0 `blacklist`/`whitelist` were removed from Kafka and
/// are ignored here as Kafka 4 ignores them).
#[derive(Debug, Clone)]
pub struct ReplaceField {
    side: Side,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: Vec<(String, String)>,
    replace_null_with_default: bool,
}

/// Java's `String.split(":")`: trailing empty strings dropped.
fn java_split(text: &str, separator: char) -> Vec<&str> {
    let mut parts: Vec<&str> = text.split(separator).collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts == [""] && !text.is_empty() {
        parts.clear();
    }
    parts
}

fn parse_renames(mappings: &[String]) -> Result<Vec<(String, String)>, ConfigError> {
    let mut renames: Vec<(String, String)> = Vec::new();
    for mapping in mappings {
        let parts = java_split(mapping, ':');
        if parts.len() != 2 {
            return Err(ConfigError::invalid(
                "renames",
                format!("[{}]", mappings.join(", ")),
                format!("Invalid rename mapping: {mapping}"),
            ));
        }
        renames.retain(|(from, _)| from != parts[0]);
        renames.push((parts[0].to_string(), parts[1].to_string()));
    }
    Ok(renames)
}

impl ReplaceField {
    pub fn config_def() -> ConfigDef {
        let def = ConfigDef::new()
            .define(
                "exclude",
                ConfigType::List,
                DefaultValue::Text(String::new()),
                None,
                Importance::Medium,
                "Fields to exclude. This takes precedence over the fields to include.",
            )
            .define(
                "include",
                ConfigType::List,
                DefaultValue::Text(String::new()),
                None,
                Importance::Medium,
                "Fields to include. If specified, only these fields will be used.",
            )
            .define(
                "renames",
                ConfigType::List,
                DefaultValue::Text(String::new()),
                Some(Validator::Described(
                    "list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>".into(),
                )),
                Importance::Medium,
                "Field rename mappings.",
            );
        replace_null_key(def)
    }

    pub fn new(side: Side, props: &HashMap<String, String>) -> Result<ReplaceField, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        Ok(ReplaceField {
            side,
            exclude: config.list("exclude"),
            include: config.list("include"),
            renames: parse_renames(&config.list("renames"))?,
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT),
        })
    }

    fn keeps(&self, name: &str) -> bool {
        !self.exclude.iter().any(|f| f == name)
            && (self.include.is_empty() || self.include.iter().any(|f| f == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames
            .iter()
            .find(|(from, _)| from == name)
            .map(|(_, to)| to.as_str())
            .unwrap_or(name)
    }

    fn reverse_renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames
            .iter()
            .rev()
            .find(|(_, to)| to == name)
            .map(|(from, _)| from.as_str())
            .unwrap_or(name)
    }
}

impl Transformation for ReplaceField {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        let value = self.side.value(&record);
        if value.is_null() {
            return Ok(Some(record));
        }
        const PURPOSE: &str = "field replacement";
        let Some(schema) = self.side.schema(&record) else {
            let mut updated = Vec::new();
            for (key, v) in require_map(value, PURPOSE)? {
                let name = match key {
                    Value::String(name) => name.as_str(),
                    _ => continue,
                };
                if self.keeps(name) {
                    Value::map_put(&mut updated, self.renamed(name), v.clone());
                }
            }
            return Ok(Some(self.side.with(record, None, Value::Map(updated))));
        };
        let value = require_struct(value, PURPOSE)?;
        let mut builder = SchemaBuilder::struct_().with_basics_of(schema);
        for field in schema.fields() {
            if self.keeps(field.name()) {
                builder = builder.field(self.renamed(field.name()), field.schema().clone())?;
            }
        }
        let updated_schema = builder.build();
        let mut updated = Struct::new(updated_schema.clone())?;
        for field in updated_schema.fields() {
            let v = field_value(
                value,
                self.reverse_renamed(field.name()),
                self.replace_null_with_default,
            )?;
            updated.put(field.name(), v.clone())?;
        }
        Ok(Some(self.side.with(
            record,
            Some(updated_schema),
            Value::Struct(updated),
        )))
    }
}

// ---------------------------------------------------------------- MaskField

/// Kafka's `MaskField$Key` / `MaskField$Value`.
#[derive(Debug, Clone)]
pub struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null_with_default: bool,
}

impl MaskField {
    pub fn config_def() -> ConfigDef {
        let def = ConfigDef::new()
            .define("fields", ConfigType::List, DefaultValue::Required, Some(Validator::NonEmptyList), Importance::High, "Names of fields to mask.")
            .define("replacement", ConfigType::String, DefaultValue::Null, Some(Validator::NonEmptyString), Importance::Low, "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only).");
        replace_null_key(def)
    }

    pub fn new(side: Side, props: &HashMap<String, String>) -> Result<MaskField, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        Ok(MaskField {
            side,
            fields: config.list("fields"),
            replacement: config.string("replacement").map(str::to_string),
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT),
        })
    }

    fn masked(&self, value: &Value) -> Result<Value, DataError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        match &self.replacement {
            None => mask_with_null_value(value),
            Some(replacement) => mask_with_replacement(value, replacement),
        }
    }
}

fn mask_with_null_value(value: &Value) -> Result<Value, DataError> {
    Ok(match value {
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::Decimal(_) => Value::Decimal(Decimal::from_i64(0)),
        Value::Date(_) => Value::Date(0),
        Value::String(_) => Value::string(""),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => {
            return Err(DataError::new(format!(
                "Cannot mask value of type: class {}",
                other.java_class()
            )))
        }
    })
}

fn mask_with_replacement(value: &Value, replacement: &str) -> Result<Value, DataError> {
    let not_a_number = || {
        DataError::new(format!(
            "Unable to convert {replacement} (class java.lang.String) to number"
        ))
    };
    let number = || -> Result<Decimal, DataError> {
        replacement
            .trim()
            .parse::<Decimal>()
            .map_err(|_| not_a_number())
    };
    let integral = |min: i64, max: i64| -> Result<i64, DataError> {
        let n = number()?;
        let v = n.to_i64_wrapping();
        if n.to_big_integer() != num_bigint::BigInt::from(v) || v < min || v > max {
            return Err(not_a_number());
        }
        Ok(v)
    };
    Ok(match value {
        Value::Int8(_) => Value::Int8(integral(i64::from(i8::MIN), i64::from(i8::MAX))? as i8),
        Value::Int16(_) => Value::Int16(integral(i64::from(i16::MIN), i64::from(i16::MAX))? as i16),
        Value::Int32(_) => Value::Int32(integral(i64::from(i32::MIN), i64::from(i32::MAX))? as i32),
        Value::Int64(_) => Value::Int64(integral(i64::MIN, i64::MAX)?),
        Value::Float32(_) => Value::Float32(number()?.to_f32()),
        Value::Float64(_) => Value::Float64(number()?.to_f64()),
        Value::String(_) => Value::string(replacement),
        Value::Decimal(_) => Value::Decimal(replacement.parse().map_err(|_| not_a_number())?),
        other => {
            return Err(DataError::new(format!(
                "Cannot mask value of type class {} with custom replacement.",
                other.java_class()
            )))
        }
    })
}

impl Transformation for MaskField {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        const PURPOSE: &str = "mask fields";
        let value = self.side.value(&record);
        let Some(schema) = self.side.schema(&record) else {
            let original = require_map(value, PURPOSE)?;
            let mut updated = original.clone();
            for field in &self.fields {
                let masked = self.masked(value.map_get(field))?;
                Value::map_put(&mut updated, field, masked);
            }
            return Ok(Some(self.side.with(record, None, Value::Map(updated))));
        };
        let value = require_struct(value, PURPOSE)?;
        let mut updated = Struct::new(value.schema().clone())?;
        for field in value.schema().fields() {
            let original = field_value(value, field.name(), self.replace_null_with_default)?;
            let v = if self.fields.iter().any(|f| f == field.name()) {
                self.masked(original)?
            } else {
                original.clone()
            };
            updated.put(field.name(), v)?;
        }
        let schema = schema.clone();
        Ok(Some(self.side.with(
            record,
            Some(schema),
            Value::Struct(updated),
        )))
    }
}

// ---------------------------------------------------------------- ValueToKey

/// Kafka's `ValueToKey`: a new key from fields of the value.
#[derive(Debug, Clone)]
pub struct ValueToKey {
    fields: Vec<String>,
    replace_null_with_default: bool,
}

impl ValueToKey {
    pub fn config_def() -> ConfigDef {
        let def = ConfigDef::new().define(
            "fields",
            ConfigType::List,
            DefaultValue::Required,
            Some(Validator::NonEmptyList),
            Importance::High,
            "Field names on the record value to extract as the record key.",
        );
        replace_null_key(def)
    }

    pub fn new(props: &HashMap<String, String>) -> Result<ValueToKey, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        Ok(ValueToKey {
            fields: config.list("fields"),
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT),
        })
    }
}

impl Transformation for ValueToKey {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        const PURPOSE: &str = "copying fields from value to key";
        let Some(value_schema) = record.value_schema.clone() else {
            require_map(&record.value, PURPOSE)?;
            let key = Value::string_map(
                self.fields
                    .iter()
                    .map(|f| (f.clone(), record.value.map_get(f).clone())),
            );
            record.key_schema = None;
            record.key = key;
            return Ok(Some(record));
        };
        let value = require_struct(&record.value, PURPOSE)?;
        let mut builder = SchemaBuilder::struct_();
        for name in &self.fields {
            let field = value_schema
                .field(name)
                .ok_or_else(|| DataError::new(format!("Field does not exist: {name}")))?;
            builder = builder.field(name.clone(), field.schema().clone())?;
        }
        let key_schema = builder.build();
        let mut key = Struct::new(key_schema.clone())?;
        for name in &self.fields {
            key.put(
                name,
                field_value(value, name, self.replace_null_with_default)?.clone(),
            )?;
        }
        record.key_schema = Some(key_schema);
        record.key = Value::Struct(key);
        Ok(Some(record))
    }
}

// ---------------------------------------------------------------- ExtractField

/// Kafka's `ExtractField$Key` / `ExtractField$Value`. `field.syntax.version=V2` reads the
/// field as a dotted path into nested structs or maps (without V2's backtick quoting).
#[derive(Debug, Clone)]
pub struct ExtractField {
    side: Side,
    original_path: String,
    path: Vec<String>,
    replace_null_with_default: bool,
}

impl ExtractField {
    pub fn config_def() -> ConfigDef {
        let def = ConfigDef::new().define(
            "field",
            ConfigType::String,
            DefaultValue::Required,
            None,
            Importance::Medium,
            "Field name to extract.",
        );
        replace_null_key(def).define(
            "field.syntax.version",
            ConfigType::String,
            DefaultValue::Text("V1".into()),
            Some(Validator::CaseInsensitiveValidString(vec!["V1".into(), "V2".into()])),
            Importance::High,
            "Defines the version of the syntax to access fields. If set to `V1`, then the field paths are limited to access the elements at the root level of the struct or map. If set to `V2`, the syntax will support accessing nested elements. To access nested elements, dotted notation is used. If dots are already included in the field name, then backtick pairs can be used to wrap field names containing dots. E.g. to access the subfield `baz` from a field named \"foo.bar\" in a struct/map the following format can be used to access its elements: \"`foo.bar`.baz\".",
        )
    }

    pub fn new(side: Side, props: &HashMap<String, String>) -> Result<ExtractField, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        let original_path = config.string("field").unwrap_or_default().to_string();
        let v2 = config
            .string("field.syntax.version")
            .is_some_and(|v| v.eq_ignore_ascii_case("V2"));
        let path = if v2 {
            original_path.split('.').map(str::to_string).collect()
        } else {
            vec![original_path.clone()]
        };
        Ok(ExtractField {
            side,
            original_path,
            path,
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT),
        })
    }
}

impl Transformation for ExtractField {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        const PURPOSE: &str = "field extraction";
        let value = self.side.value(&record);
        let Some(schema) = self.side.schema(&record) else {
            if value.is_null() {
                return Ok(Some(self.side.with(record, None, Value::Null)));
            }
            let mut current = value;
            for step in &self.path {
                require_map(current, PURPOSE)?;
                current = current.map_get(step);
            }
            let extracted = current.clone();
            return Ok(Some(self.side.with(record, None, extracted)));
        };
        if !value.is_null() {
            require_struct(value, PURPOSE)?;
        }
        let mut field_schema: &SchemaRef = schema;
        let mut current = value;
        for step in &self.path {
            let field = (field_schema.schema_type() == Type::Struct)
                .then(|| field_schema.field(step))
                .flatten()
                .ok_or_else(|| DataError::new(format!("Unknown field: {}", self.original_path)))?;
            field_schema = field.schema();
            current = match current {
                Value::Struct(s) => field_value(s, step, self.replace_null_with_default)?,
                _ => &Value::Null,
            };
        }
        let (schema, extracted) = (field_schema.clone(), current.clone());
        Ok(Some(self.side.with(record, Some(schema), extracted)))
    }
}

// ---------------------------------------------------------------- HoistField

/// Kafka's `HoistField$Key` / `HoistField$Value`: wraps the key or value in a one-field
/// struct (or map).
#[derive(Debug, Clone)]
pub struct HoistField {
    side: Side,
    field: String,
}

impl HoistField {
    pub fn config_def() -> ConfigDef {
        ConfigDef::new().define(
            "field",
            ConfigType::String,
            DefaultValue::Required,
            None,
            Importance::Medium,
            "Field name for the single field that will be created in the resulting Struct or Map.",
        )
    }

    pub fn new(side: Side, props: &HashMap<String, String>) -> Result<HoistField, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        Ok(HoistField {
            side,
            field: config.string("field").unwrap_or_default().to_string(),
        })
    }
}

impl Transformation for HoistField {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        let value = self.side.value(&record).clone();
        let Some(schema) = self.side.schema(&record).cloned() else {
            let wrapped = Value::string_map([(self.field.clone(), value)]);
            return Ok(Some(self.side.with(record, None, wrapped)));
        };
        let updated_schema = SchemaBuilder::struct_()
            .field(self.field.clone(), schema)?
            .build();
        let wrapped = Struct::new(updated_schema.clone())?.with(&self.field, value)?;
        Ok(Some(self.side.with(
            record,
            Some(updated_schema),
            Value::Struct(wrapped),
        )))
    }
}

// ---------------------------------------------------------------- SetSchemaMetadata

/// Kafka's `SetSchemaMetadata$Key` / `$Value`: sets the schema's name and/or version.
#[derive(Debug, Clone)]
pub struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null_with_default: bool,
}

impl SetSchemaMetadata {
    pub fn config_def() -> ConfigDef {
        let def = ConfigDef::new()
            .define(
                "schema.name",
                ConfigType::String,
                DefaultValue::Null,
                None,
                Importance::High,
                "Schema name to set.",
            )
            .define(
                "schema.version",
                ConfigType::Int,
                DefaultValue::Null,
                None,
                Importance::High,
                "Schema version to set.",
            );
        replace_null_key(def)
    }

    pub fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<SetSchemaMetadata, ConfigError> {
        let config = parse(&Self::config_def(), props)?;
        let name = config.string("schema.name").map(str::to_string);
        let version = config.int("schema.version");
        if name.is_none() && version.is_none() {
            return Err(ConfigError::other(
                "Neither schema name nor version configured",
            ));
        }
        Ok(SetSchemaMetadata {
            side,
            name,
            version,
            replace_null_with_default: config.boolean(REPLACE_NULL_WITH_DEFAULT),
        })
    }
}

impl Transformation for SetSchemaMetadata {
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, DataError> {
        let value = self.side.value(&record);
        let schema = self.side.schema(&record);
        if value.is_null() && schema.is_none() {
            return Ok(Some(record));
        }
        let schema = require_schema(schema, "updating schema metadata")?;
        let mut updated = (**schema).clone();
        updated.set_metadata(
            self.name
                .clone()
                .or_else(|| schema.name().map(str::to_string)),
            self.version.or(schema.version()),
        );
        let updated = std::sync::Arc::new(updated);
        let new_value = match value {
            Value::Struct(original) => {
                let mut s = Struct::new(updated.clone())?;
                for field in updated.fields() {
                    s.put(
                        field.name(),
                        field_value(original, field.name(), self.replace_null_with_default)?
                            .clone(),
                    )?;
                }
                Value::Struct(s)
            }
            other => other.clone(),
        };
        Ok(Some(self.side.with(record, Some(updated), new_value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::test_support::{props, sink_key, sink_value};

    fn p(t: Type, optional: bool) -> SchemaRef {
        Schema::primitive(t, optional)
    }

    // InsertFieldTest
    #[test]
    fn insert_field_adds_record_metadata_to_structs_and_maps() {
        let xform = InsertField::new(
            Side::Value,
            &props(&[
                ("topic.field", "topic_field!"),
                ("partition.field", "partition_field"),
                ("timestamp.field", "timestamp_field?"),
                ("static.field", "instance_id"),
                ("static.value", "my-instance-id"),
            ]),
        )
        .unwrap();
        let schema = SchemaBuilder::struct_()
            .name("name")
            .version(1)
            .doc("doc")
            .field("magic", p(Type::Int64, true))
            .unwrap()
            .build();
        let value = Struct::new(schema)
            .unwrap()
            .with("magic", Value::Int64(42))
            .unwrap();
        let out = xform
            .apply(sink_value(
                Some(value.schema().clone()),
                Value::Struct(value),
            ))
            .unwrap()
            .unwrap();
        let schema = out.value_schema.clone().unwrap();
        assert_eq!(schema.name(), Some("name"));
        assert_eq!(schema.version(), Some(1));
        assert_eq!(schema.doc(), Some("doc"));
        assert_eq!(
            schema.field("topic_field").unwrap().schema(),
            &p(Type::String, false)
        );
        assert_eq!(
            schema.field("partition_field").unwrap().schema(),
            &p(Type::Int32, true)
        );
        assert_eq!(
            schema.field("timestamp_field").unwrap().schema(),
            &logical::timestamp().optional().build()
        );
        let Value::Struct(s) = &out.value else {
            panic!()
        };
        assert_eq!(s.get("magic").unwrap(), &Value::Int64(42));
        assert_eq!(s.get("topic_field").unwrap(), &Value::string("test"));
        assert_eq!(s.get("partition_field").unwrap(), &Value::Int32(0));
        assert_eq!(
            s.get("timestamp_field").unwrap(),
            &Value::Date(1_483_425_001_864)
        );
        assert_eq!(
            s.get("instance_id").unwrap(),
            &Value::string("my-instance-id")
        );

        let out = xform
            .apply(sink_value(
                None,
                Value::string_map([("magic", Value::Int64(42))]),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(out.value.map_get("topic_field"), &Value::string("test"));
        assert_eq!(
            out.value.map_get("timestamp_field"),
            &Value::Int64(1_483_425_001_864)
        );
        assert_eq!(
            xform.apply(sink_value(None, Value::Int32(1))).unwrap_err().message,
            "Only Map objects supported in absence of schema for [field insertion], found: java.lang.Integer"
        );
        assert_eq!(
            InsertField::new(Side::Value, &props(&[]))
                .unwrap_err()
                .to_string(),
            "No field insertion configured"
        );
        let tombstone = sink_value(None, Value::Null);
        assert_eq!(xform.apply(tombstone.clone()).unwrap(), Some(tombstone));
    }

    #[test]
    fn insert_field_offset_needs_a_sink_record() {
        let xform = InsertField::new(Side::Value, &props(&[("offset.field", "off")])).unwrap();
        let out = xform
            .apply(sink_value(None, Value::Map(vec![])))
            .unwrap()
            .unwrap();
        assert_eq!(out.value.map_get("off"), &Value::Int64(42));
        let source = ConnectRecord::source(
            "t",
            crate::data::SchemaAndValue::new(None, Value::Map(vec![])),
        );
        assert_eq!(
            xform.apply(source).unwrap_err().message,
            "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord"
        );
    }

    // ReplaceFieldTest
    #[test]
    fn replace_field_filters_and_renames() {
        let xform = ReplaceField::new(
            Side::Value,
            &props(&[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")]),
        )
        .unwrap();
        let value = Value::string_map([
            ("dont", Value::string("whatever")),
            ("abc", Value::Int32(42)),
            ("foo", Value::Boolean(true)),
            ("etc", Value::string("etc")),
        ]);
        let out = xform.apply(sink_value(None, value)).unwrap().unwrap();
        assert_eq!(
            out.value,
            Value::string_map([
                ("xyz", Value::Int32(42)),
                ("bar", Value::Boolean(true)),
                ("etc", Value::string("etc"))
            ])
        );

        let xform = ReplaceField::new(
            Side::Value,
            &props(&[("include", "abc,foo"), ("renames", "abc:xyz,foo:bar")]),
        )
        .unwrap();
        let schema = SchemaBuilder::struct_()
            .field("dont", p(Type::String, false))
            .unwrap()
            .field("abc", p(Type::Int32, false))
            .unwrap()
            .field("foo", p(Type::Boolean, false))
            .unwrap()
            .field("etc", p(Type::String, false))
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("dont", Value::string("whatever"))
            .unwrap()
            .with("abc", Value::Int32(42))
            .unwrap()
            .with("foo", Value::Boolean(true))
            .unwrap()
            .with("etc", Value::string("etc"))
            .unwrap();
        let out = xform
            .apply(sink_value(Some(schema), Value::Struct(value)))
            .unwrap()
            .unwrap();
        let out_schema = out.value_schema.unwrap();
        assert_eq!(
            out_schema
                .fields()
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>(),
            vec!["xyz", "bar"]
        );
        let Value::Struct(s) = out.value else {
            panic!()
        };
        assert_eq!(s.get("xyz").unwrap(), &Value::Int32(42));
        assert_eq!(s.get("bar").unwrap(), &Value::Boolean(true));
        assert_eq!(
            ReplaceField::new(Side::Value, &props(&[("renames", "a:b,c")]))
                .unwrap_err()
                .to_string(),
            "Invalid value [a:b, c] for configuration renames: Invalid rename mapping: c"
        );
    }

    // MaskFieldTest
    #[test]
    fn mask_field_uses_empty_values_or_the_replacement() {
        let xform =
            MaskField::new(Side::Value, &props(&[("fields", "int,str,list,missing")])).unwrap();
        let value = Value::string_map([
            ("int", Value::Int32(42)),
            ("str", Value::string("s")),
            ("list", Value::Array(vec![Value::Int32(1)])),
            ("keep", Value::Boolean(true)),
        ]);
        let out = xform.apply(sink_value(None, value)).unwrap().unwrap();
        assert_eq!(out.value.map_get("int"), &Value::Int32(0));
        assert_eq!(out.value.map_get("str"), &Value::string(""));
        assert_eq!(out.value.map_get("list"), &Value::Array(vec![]));
        assert_eq!(out.value.map_get("keep"), &Value::Boolean(true));
        let xform = MaskField::new(
            Side::Value,
            &props(&[("fields", "int,str"), ("replacement", "123")]),
        )
        .unwrap();
        let out = xform
            .apply(sink_value(
                None,
                Value::string_map([("int", Value::Int32(42)), ("str", Value::string("s"))]),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(out.value.map_get("int"), &Value::Int32(123));
        assert_eq!(out.value.map_get("str"), &Value::string("123"));
        let xform = MaskField::new(
            Side::Value,
            &props(&[("fields", "b"), ("replacement", "x")]),
        )
        .unwrap();
        assert_eq!(
            xform
                .apply(sink_value(
                    None,
                    Value::string_map([("b", Value::Boolean(true))])
                ))
                .unwrap_err()
                .message,
            "Cannot mask value of type class java.lang.Boolean with custom replacement."
        );
        let xform = MaskField::new(
            Side::Value,
            &props(&[("fields", "i"), ("replacement", "abc")]),
        )
        .unwrap();
        assert_eq!(
            xform
                .apply(sink_value(
                    None,
                    Value::string_map([("i", Value::Int32(1))])
                ))
                .unwrap_err()
                .message,
            "Unable to convert abc (class java.lang.String) to number"
        );
        assert_eq!(
            MaskField::new(Side::Value, &props(&[("fields", "")]))
                .unwrap_err()
                .to_string(),
            "Invalid value [] for configuration fields: Empty list"
        );
        assert_eq!(
            MaskField::new(Side::Value, &props(&[("fields", "a"), ("replacement", "")]))
                .unwrap_err()
                .to_string(),
            "Invalid value  for configuration replacement: String must be non-empty"
        );
    }

    // ValueToKeyTest
    #[test]
    fn value_to_key_builds_a_key_from_value_fields() {
        let xform = ValueToKey::new(&props(&[("fields", "a,b")])).unwrap();
        let value = Value::string_map([
            ("a", Value::Int32(1)),
            ("b", Value::Int32(2)),
            ("c", Value::Int32(3)),
        ]);
        let out = xform.apply(sink_value(None, value)).unwrap().unwrap();
        assert_eq!(
            out.key,
            Value::string_map([("a", Value::Int32(1)), ("b", Value::Int32(2))])
        );
        let schema = SchemaBuilder::struct_()
            .field("a", p(Type::Int32, false))
            .unwrap()
            .field("b", p(Type::Int32, false))
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("a", Value::Int32(1))
            .unwrap()
            .with("b", Value::Int32(2))
            .unwrap();
        let out = xform
            .apply(sink_value(
                Some(schema.clone()),
                Value::Struct(value.clone()),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(out.key_schema.as_ref().unwrap().fields().len(), 2);
        let xform = ValueToKey::new(&props(&[("fields", "not_exist")])).unwrap();
        assert_eq!(
            xform
                .apply(sink_value(Some(schema), Value::Struct(value)))
                .unwrap_err()
                .message,
            "Field does not exist: not_exist"
        );
    }

    // ExtractFieldTest
    #[test]
    fn extract_field_takes_one_field_out() {
        let xform = ExtractField::new(Side::Key, &props(&[("field", "magic")])).unwrap();
        let out = xform
            .apply(sink_key(
                None,
                Value::string_map([("magic", Value::Int32(42))]),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(out.key, Value::Int32(42));
        let out = xform.apply(sink_key(None, Value::Null)).unwrap().unwrap();
        assert_eq!(out.key, Value::Null);
        let schema = SchemaBuilder::struct_()
            .field("magic", p(Type::Int32, false))
            .unwrap()
            .build();
        let key = Struct::new(schema.clone())
            .unwrap()
            .with("magic", Value::Int32(42))
            .unwrap();
        let out = xform
            .apply(sink_key(Some(schema.clone()), Value::Struct(key.clone())))
            .unwrap()
            .unwrap();
        assert_eq!(out.key_schema, Some(p(Type::Int32, false)));
        assert_eq!(out.key, Value::Int32(42));
        let xform = ExtractField::new(Side::Key, &props(&[("field", "nonexistent")])).unwrap();
        assert_eq!(
            xform
                .apply(sink_key(Some(schema), Value::Struct(key)))
                .unwrap_err()
                .message,
            "Unknown field: nonexistent"
        );
        let nested = ExtractField::new(
            Side::Key,
            &props(&[("field", "a.b"), ("field.syntax.version", "V2")]),
        )
        .unwrap();
        let out = nested
            .apply(sink_key(
                None,
                Value::string_map([("a", Value::string_map([("b", Value::Int32(7))]))]),
            ))
            .unwrap()
            .unwrap();
        assert_eq!(out.key, Value::Int32(7));
    }

    // SetSchemaMetadataTest
    #[test]
    fn set_schema_metadata_renames_and_versions() {
        let xform = SetSchemaMetadata::new(
            Side::Value,
            &props(&[("schema.name", "foo"), ("schema.version", "42")]),
        )
        .unwrap();
        let schema = SchemaBuilder::struct_()
            .field("a", p(Type::Int32, false))
            .unwrap()
            .build();
        let value = Struct::new(schema.clone())
            .unwrap()
            .with("a", Value::Int32(1))
            .unwrap();
        let out = xform
            .apply(sink_value(Some(schema), Value::Struct(value)))
            .unwrap()
            .unwrap();
        let out_schema = out.value_schema.clone().unwrap();
        assert_eq!(
            (out_schema.name(), out_schema.version()),
            (Some("foo"), Some(42))
        );
        let Value::Struct(s) = out.value else {
            panic!()
        };
        assert_eq!(s.schema(), &out_schema);
        assert_eq!(
            SetSchemaMetadata::new(Side::Value, &props(&[]))
                .unwrap_err()
                .to_string(),
            "Neither schema name nor version configured"
        );
        assert_eq!(
            xform
                .apply(sink_value(None, Value::Int32(1)))
                .unwrap_err()
                .message,
            "Schema required for [updating schema metadata]"
        );
    }

    // HoistFieldTest
    #[test]
    fn hoist_field_wraps_the_value() {
        let xform = HoistField::new(Side::Key, &props(&[("field", "magic")])).unwrap();
        let out = xform
            .apply(sink_key(None, Value::Int32(42)))
            .unwrap()
            .unwrap();
        assert_eq!(out.key, Value::string_map([("magic", Value::Int32(42))]));
        let out = xform
            .apply(sink_key(Some(p(Type::Int32, false)), Value::Int32(42)))
            .unwrap()
            .unwrap();
        let schema = out.key_schema.unwrap();
        assert_eq!(
            schema.field("magic").unwrap().schema(),
            &p(Type::Int32, false)
        );
        let Value::Struct(s) = out.key else { panic!() };
        assert_eq!(s.get("magic").unwrap(), &Value::Int32(42));
    }
}
