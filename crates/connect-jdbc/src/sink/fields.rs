//! Which columns a sink record becomes (Confluent's `FieldsMetadata` and `RecordValidator`).

use std::collections::BTreeMap;
use std::sync::Arc;

use rafka_connect_data::{ConnectRecord, Schema, SchemaRef, Type, Value};

use crate::config::{JdbcSinkConfig, PkMode, DEFAULT_KAFKA_PK_NAMES};
use crate::error::JdbcError;

/// One destination column (Confluent's `SinkRecordField`).
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecordField {
    pub name: String,
    pub schema: SchemaRef,
    pub is_primary_key: bool,
}

impl SinkRecordField {
    /// `isOptional()`: a primary-key column never is.
    pub fn is_optional(&self) -> bool {
        !self.is_primary_key && self.schema.is_optional()
    }

    /// `SinkRecordField.toString()`, which Confluent's DDL messages print.
    pub fn java_to_string(&self) -> String {
        format!(
            "SinkRecordField{{schema={}, name='{}', isPrimaryKey={}}}",
            self.schema, self.name, self.is_primary_key
        )
    }
}

/// The key and non-key columns for records with one pair of key/value schemas.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldsMetadata {
    pub key_field_names: Vec<String>,
    pub non_key_field_names: Vec<String>,
    /// Every column, in Confluent's order: the Kafka coordinates, then the value's fields,
    /// then key-only fields by name.
    pub all_fields: Vec<SinkRecordField>,
}

fn primitive(schema_type: Type) -> SchemaRef {
    Schema::primitive(schema_type, false)
}

impl FieldsMetadata {
    /// `FieldsMetadata.extract`, with Confluent's messages.
    pub fn extract(
        table_name: &str,
        config: &JdbcSinkConfig,
        key_schema: Option<&SchemaRef>,
        value_schema: Option<&SchemaRef>,
    ) -> Result<FieldsMetadata, JdbcError> {
        if let Some(schema) = value_schema {
            if schema.schema_type() != Type::Struct {
                return Err(JdbcError::connect("Value schema must be of type Struct"));
            }
        }
        let pk_fields = &config.pk_fields;
        let mode = config.pk_mode.java_name();
        let mut keys: Vec<String> = Vec::new();
        let mut all: BTreeMap<String, SinkRecordField> = BTreeMap::new();
        let add = |all: &mut BTreeMap<String, SinkRecordField>,
                   name: &str,
                   schema: SchemaRef,
                   pk: bool| {
            all.insert(
                name.to_string(),
                SinkRecordField {
                    name: name.to_string(),
                    schema,
                    is_primary_key: pk,
                },
            );
        };
        match config.pk_mode {
            PkMode::None => {}
            PkMode::Kafka => {
                let names: Vec<String> = if pk_fields.is_empty() {
                    DEFAULT_KAFKA_PK_NAMES
                        .iter()
                        .map(|s| s.to_string())
                        .collect()
                } else if pk_fields.len() == 3 {
                    pk_fields.clone()
                } else {
                    return Err(JdbcError::connect(format!(
                        "PK mode for table '{table_name}' is {mode} so there should either be no field names defined for defaults [{}] to be applicable, or exactly 3, defined fields are: [{}]",
                        DEFAULT_KAFKA_PK_NAMES.join(", "),
                        pk_fields.join(", ")
                    )));
                };
                add(&mut all, &names[0], primitive(Type::String), true);
                add(&mut all, &names[1], primitive(Type::Int32), true);
                add(&mut all, &names[2], primitive(Type::Int64), true);
                keys = names;
            }
            PkMode::RecordKey => {
                let Some(key_schema) = key_schema else {
                    return Err(JdbcError::connect(format!("PK mode for table '{table_name}' is {mode}, but record key schema is missing")));
                };
                if key_schema.schema_type().is_primitive() {
                    if pk_fields.len() != 1 {
                        return Err(JdbcError::connect(format!(
                            "Need exactly one PK column defined since the key schema for records is a primitive type, defined columns are: [{}]",
                            pk_fields.join(", ")
                        )));
                    }
                    add(&mut all, &pk_fields[0], Arc::clone(key_schema), true);
                    keys = pk_fields.clone();
                } else if key_schema.schema_type() == Type::Struct {
                    if pk_fields.is_empty() {
                        keys = key_schema
                            .fields()
                            .iter()
                            .map(|f| f.name().to_string())
                            .collect();
                    } else {
                        for name in pk_fields {
                            if key_schema.field(name).is_none() {
                                return Err(JdbcError::connect(format!(
                                    "PK mode for table '{table_name}' is {mode} with configured PK fields [{}], but record key schema does not contain field: {name}",
                                    pk_fields.join(", ")
                                )));
                            }
                        }
                        keys = pk_fields.clone();
                    }
                    for name in &keys {
                        let schema =
                            Arc::clone(key_schema.field(name).expect("checked above").schema());
                        add(&mut all, name, schema, true);
                    }
                } else {
                    return Err(JdbcError::connect(format!(
                        "Key schema must be primitive type or Struct, but is of type: {}",
                        key_schema.schema_type()
                    )));
                }
            }
            PkMode::RecordValue => {
                let Some(value_schema) = value_schema else {
                    return Err(JdbcError::connect(format!("PK mode for table '{table_name}' is {mode}, but record value schema is missing")));
                };
                if pk_fields.is_empty() {
                    keys = value_schema
                        .fields()
                        .iter()
                        .map(|f| f.name().to_string())
                        .collect();
                } else {
                    for name in pk_fields {
                        if value_schema.field(name).is_none() {
                            return Err(JdbcError::connect(format!(
                                "PK mode for table '{table_name}' is {mode} with configured PK fields [{}], but record value schema does not contain field: {name}",
                                pk_fields.join(", ")
                            )));
                        }
                    }
                    keys = pk_fields.clone();
                }
                for name in &keys {
                    let schema =
                        Arc::clone(value_schema.field(name).expect("checked above").schema());
                    add(&mut all, name, schema, true);
                }
            }
        }
        let mut non_keys = Vec::new();
        if let Some(value_schema) = value_schema {
            for field in value_schema.fields() {
                let name = field.name();
                if keys.iter().any(|k| k == name) {
                    continue;
                }
                if !config.fields_whitelist.is_empty()
                    && !config.fields_whitelist.iter().any(|w| w == name)
                {
                    continue;
                }
                non_keys.push(name.to_string());
                add(&mut all, name, Arc::clone(field.schema()), false);
            }
        }
        if all.is_empty() {
            return Err(JdbcError::connect(format!(
                "No fields found using key and value schemas for table: {table_name}"
            )));
        }
        let mut ordered = Vec::with_capacity(all.len());
        for name in DEFAULT_KAFKA_PK_NAMES {
            if let Some(field) = all.remove(name) {
                ordered.push(field);
            }
        }
        if let Some(value_schema) = value_schema {
            for field in value_schema.fields() {
                if let Some(f) = all.remove(field.name()) {
                    ordered.push(f);
                }
            }
        }
        ordered.extend(all.into_values());
        Ok(FieldsMetadata {
            key_field_names: keys,
            non_key_field_names: non_keys,
            all_fields: ordered,
        })
    }
}

fn simple_class(value: &Value) -> String {
    match value {
        Value::Bytes(_) => "byte[]".to_string(),
        other => other
            .java_class()
            .rsplit('.')
            .next()
            .unwrap_or("null")
            .to_string(),
    }
}

fn schema_type_or_null(schema: Option<&SchemaRef>) -> String {
    match schema {
        None => "null".to_string(),
        Some(s) if s.schema_type() == Type::Struct => "Struct".to_string(),
        Some(s) => s.schema_type().name().to_string(),
    }
}

fn coordinates(record: &ConnectRecord) -> String {
    format!(
        "(topic='{}',partition={},offset={},timestamp={})",
        record.topic,
        record
            .kafka_partition
            .map(|p| p.to_string())
            .unwrap_or_else(|| "null".into()),
        record
            .kafka_offset()
            .map(|o| o.to_string())
            .unwrap_or_else(|| "null".into()),
        record
            .timestamp
            .map(|t| t.to_string())
            .unwrap_or_else(|| "null".into()),
    )
}

/// Confluent's `RecordValidator.create(config)`: the key a `record_key` table or a delete
/// needs, the Struct value everything else needs.
pub fn validate_record(config: &JdbcSinkConfig, record: &ConnectRecord) -> Result<(), JdbcError> {
    let mode = format!("pk.mode={}", config.pk_mode.java_name().to_lowercase());
    let delete = format!("delete.enabled={}", config.delete_enabled);
    let needs_key = config.pk_mode == PkMode::RecordKey || config.delete_enabled;
    let needs_value =
        matches!(config.pk_mode, PkMode::RecordValue | PkMode::None) || !config.delete_enabled;
    if needs_key {
        let ok = !record.key.is_null()
            && record
                .key_schema
                .as_ref()
                .is_some_and(|s| s.schema_type() == Type::Struct || s.schema_type().is_primitive());
        if !ok {
            return Err(JdbcError::connect(format!(
                "Sink connector '{}' is configured with '{delete}' and '{mode}' and therefore requires records with a non-null key and non-null Struct or primitive key schema, but found record at {} with a {} key and {} key schema.",
                config.connector_name,
                coordinates(record),
                simple_class(&record.key),
                schema_type_or_null(record.key_schema.as_ref()),
            )));
        }
    }
    // A tombstone is a delete when deletes are enabled, whatever pk.mode requires.
    let tombstone_delete = config.delete_enabled && record.value.is_null();
    if needs_value && !tombstone_delete {
        let ok = !record.value.is_null()
            && record
                .value_schema
                .as_ref()
                .is_some_and(|s| s.schema_type() == Type::Struct);
        if !ok {
            return Err(JdbcError::connect(format!(
                "Sink connector '{}' is configured with '{delete}' and '{mode}' and therefore requires records with a non-null Struct value and non-null Struct schema, but found record at {} with a {} value and {} value schema.",
                config.connector_name,
                coordinates(record),
                simple_class(&record.value),
                schema_type_or_null(record.value_schema.as_ref()),
            )));
        }
    }
    Ok(())
}
