//! Connect's data model (Kafka's `org.apache.kafka.connect.data`): `Schema`, its builder,
//! `Struct`, `Value` and `SchemaAndValue`, with `ConnectSchema.validateValue`'s rules and
//! messages. Schema, value and struct refer to each other (a schema's default is a value,
//! a struct value carries its schema), so they share this one module.
//!
//! Java's `null` is `Value::Null`; an absent schema (schemaless data) is `None`.

use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::decimal::Decimal;
use crate::error::DataError;

/// The logical types' schema names (`logical` builds the schemas); here because a
/// schema's name decides which Java class its values must have.
pub const DATE_NAME: &str = "org.apache.kafka.connect.data.Date";
pub const TIME_NAME: &str = "org.apache.kafka.connect.data.Time";
pub const TIMESTAMP_NAME: &str = "org.apache.kafka.connect.data.Timestamp";
pub const DECIMAL_NAME: &str = "org.apache.kafka.connect.data.Decimal";

/// Schemas are shared between records, structs and caches: cheap to clone, compared by
/// value (Java's `ConnectSchema.equals`).
pub type SchemaRef = Arc<Schema>;

/// Kafka's `Schema.Type`. `Display` prints the Java enum constant (`INT32`), which is what
/// Kafka's error messages show; `name` is the lowercase name JSON schemas use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl Type {
    pub const ALL: [Type; 12] = [
        Type::Int8,
        Type::Int16,
        Type::Int32,
        Type::Int64,
        Type::Float32,
        Type::Float64,
        Type::Boolean,
        Type::String,
        Type::Bytes,
        Type::Array,
        Type::Map,
        Type::Struct,
    ];

    /// Java's `Schema.Type.getName()`.
    pub fn name(self) -> &'static str {
        match self {
            Type::Int8 => "int8",
            Type::Int16 => "int16",
            Type::Int32 => "int32",
            Type::Int64 => "int64",
            Type::Float32 => "float32",
            Type::Float64 => "float64",
            Type::Boolean => "boolean",
            Type::String => "string",
            Type::Bytes => "bytes",
            Type::Array => "array",
            Type::Map => "map",
            Type::Struct => "struct",
        }
    }

    /// Java's `Schema.Type.isPrimitive()`.
    pub fn is_primitive(self) -> bool {
        !matches!(self, Type::Array | Type::Map | Type::Struct)
    }

    /// Java's `Schema.Type.valueOf(text.toUpperCase(Locale.ROOT))`.
    pub fn from_java_constant(text: &str) -> Option<Type> {
        let upper = text.to_ascii_uppercase();
        Type::ALL.into_iter().find(|t| t.to_string() == upper)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().to_ascii_uppercase())
    }
}

/// One field of a struct schema: its name, position and schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    name: String,
    index: usize,
    schema: SchemaRef,
}

impl Field {
    pub fn new(name: impl Into<String>, index: usize, schema: SchemaRef) -> Field {
        Field {
            name: name.into(),
            index,
            schema,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn index(&self) -> usize {
        self.index
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

/// Kafka's `ConnectSchema`: immutable once built (use `SchemaBuilder`).
/// Invariant: `fields` is empty unless the type is STRUCT; `key_schema` is set only for
/// MAP; `value_schema` only for MAP and ARRAY.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    schema_type: Type,
    optional: bool,
    default_value: Option<Value>,
    name: Option<String>,
    version: Option<i32>,
    doc: Option<String>,
    /// Java keeps `null` apart from an empty map (JSON writes `"parameters":{}` for the
    /// latter), so this is an `Option`. IndexMap: insertion order for output, and an
    /// order-blind equality as Java's maps have.
    parameters: Option<IndexMap<String, String>>,
    fields: Vec<Field>,
    key_schema: Option<SchemaRef>,
    value_schema: Option<SchemaRef>,
}

impl Schema {
    /// A primitive schema with nothing but its type and optionality (Java's
    /// `Schema.INT32_SCHEMA`, `Schema.OPTIONAL_STRING_SCHEMA`, …).
    pub fn primitive(schema_type: Type, optional: bool) -> SchemaRef {
        assert!(schema_type.is_primitive(), "{schema_type} is not primitive");
        let builder = SchemaBuilder::new(schema_type);
        if optional {
            builder.optional().build()
        } else {
            builder.build()
        }
    }

    pub fn schema_type(&self) -> Type {
        self.schema_type
    }

    pub fn is_optional(&self) -> bool {
        self.optional
    }

    pub fn default_value(&self) -> Option<&Value> {
        self.default_value.as_ref()
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn version(&self) -> Option<i32> {
        self.version
    }

    pub fn doc(&self) -> Option<&str> {
        self.doc.as_deref()
    }

    pub fn parameters(&self) -> Option<&IndexMap<String, String>> {
        self.parameters.as_ref()
    }

    /// The fields of a STRUCT schema, in order (empty for the other types).
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The field called `name` (Java's `field(name)`; `None` when it has none).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn key_schema(&self) -> Option<&SchemaRef> {
        self.key_schema.as_ref()
    }

    pub fn value_schema(&self) -> Option<&SchemaRef> {
        self.value_schema.as_ref()
    }

    /// A copy's name and version replaced (SetSchemaMetadata's `new ConnectSchema(...)`).
    pub fn set_metadata(&mut self, name: Option<String>, version: Option<i32>) {
        self.name = name;
        self.version = version;
    }

    /// Java's `ConnectSchema.validateValue(schema, value)`.
    pub fn validate_value(&self, value: &Value) -> Result<(), DataError> {
        validate(self, value, "value")
    }

    /// Java's `ConnectSchema.validateValue(fieldName, schema, value)`.
    pub fn validate_field_value(&self, field: &str, value: &Value) -> Result<(), DataError> {
        validate(self, value, &format!("field: \"{field}\""))
    }
}

impl fmt::Display for Schema {
    /// Java's `ConnectSchema.toString()`: `Schema{name:TYPE}` or `Schema{TYPE}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "Schema{{{name}:{}}}", self.schema_type),
            None => write!(f, "Schema{{{}}}", self.schema_type),
        }
    }
}

/// The Java classes a schema accepts, named as Kafka's messages name them: logical types
/// by their schema name first, then by type.
fn expected_class_matches(schema: &Schema, value: &Value) -> bool {
    match schema.name() {
        Some(DECIMAL_NAME) => return matches!(value, Value::Decimal(_)),
        Some(DATE_NAME) | Some(TIME_NAME) | Some(TIMESTAMP_NAME) => {
            return matches!(value, Value::Date(_))
        }
        _ => {}
    }
    matches!(
        (schema.schema_type, value),
        (Type::Int8, Value::Int8(_))
            | (Type::Int16, Value::Int16(_))
            | (Type::Int32, Value::Int32(_))
            | (Type::Int64, Value::Int64(_))
            | (Type::Float32, Value::Float32(_))
            | (Type::Float64, Value::Float64(_))
            | (Type::Boolean, Value::Boolean(_))
            | (Type::String, Value::String(_))
            | (Type::Bytes, Value::Bytes(_))
            | (Type::Array, Value::Array(_))
            | (Type::Map, Value::Map(_))
            | (Type::Struct, Value::Struct(_))
    )
}

fn validate(schema: &Schema, value: &Value, location: &str) -> Result<(), DataError> {
    if value.is_null() {
        if !schema.optional {
            return Err(DataError::new(format!(
                "Invalid value: null used for required {location}, schema type: {}",
                schema.schema_type
            )));
        }
        return Ok(());
    }
    if !expected_class_matches(schema, value) {
        let name = schema
            .name()
            .map(|n| format!(" \"{n}\""))
            .unwrap_or_default();
        return Err(DataError::new(format!(
            "Invalid Java object for schema{name} with type {}: class {} for {location}",
            schema.schema_type,
            value.java_class()
        )));
    }
    match value {
        Value::Struct(s) => {
            if s.schema.as_ref() != schema {
                return Err(DataError::new("Struct schemas do not match."));
            }
            s.validate()
        }
        Value::Array(items) => {
            let location = format!("element of array {location}");
            let items_schema = schema_not_null(schema.value_schema.as_ref(), &location)?;
            items
                .iter()
                .try_for_each(|item| validate(items_schema, item, &location))
        }
        Value::Map(entries) => {
            let key_location = format!("key of map {location}");
            let value_location = format!("value of map {location}");
            let key_schema = schema_not_null(schema.key_schema.as_ref(), &key_location)?;
            let value_schema = schema_not_null(schema.value_schema.as_ref(), &value_location)?;
            entries.iter().try_for_each(|(k, v)| {
                validate(key_schema, k, &key_location)?;
                validate(value_schema, v, &value_location)
            })
        }
        _ => Ok(()),
    }
}

fn schema_not_null<'a>(
    schema: Option<&'a SchemaRef>,
    location: &str,
) -> Result<&'a SchemaRef, DataError> {
    schema.ok_or_else(|| DataError::new(format!("No schema defined for {location}")))
}

/// Kafka's `SchemaBuilder`. Setters that Java lets fail only through programming errors
/// (setting a name twice) simply overwrite; the ones data can make fail (`field` with a
/// duplicate name, `default_value` that does not fit) return `Err` with Kafka's message.
#[derive(Debug, Clone)]
pub struct SchemaBuilder {
    schema: Schema,
}

impl SchemaBuilder {
    pub fn new(schema_type: Type) -> SchemaBuilder {
        SchemaBuilder {
            schema: Schema {
                schema_type,
                optional: false,
                default_value: None,
                name: None,
                version: None,
                doc: None,
                parameters: None,
                fields: Vec::new(),
                key_schema: None,
                value_schema: None,
            },
        }
    }

    pub fn int8() -> SchemaBuilder {
        SchemaBuilder::new(Type::Int8)
    }
    pub fn int16() -> SchemaBuilder {
        SchemaBuilder::new(Type::Int16)
    }
    pub fn int32() -> SchemaBuilder {
        SchemaBuilder::new(Type::Int32)
    }
    pub fn int64() -> SchemaBuilder {
        SchemaBuilder::new(Type::Int64)
    }
    pub fn float32() -> SchemaBuilder {
        SchemaBuilder::new(Type::Float32)
    }
    pub fn float64() -> SchemaBuilder {
        SchemaBuilder::new(Type::Float64)
    }
    pub fn bool() -> SchemaBuilder {
        SchemaBuilder::new(Type::Boolean)
    }
    pub fn string() -> SchemaBuilder {
        SchemaBuilder::new(Type::String)
    }
    pub fn bytes() -> SchemaBuilder {
        SchemaBuilder::new(Type::Bytes)
    }
    pub fn struct_() -> SchemaBuilder {
        SchemaBuilder::new(Type::Struct)
    }

    pub fn array(value_schema: SchemaRef) -> SchemaBuilder {
        let mut builder = SchemaBuilder::new(Type::Array);
        builder.schema.value_schema = Some(value_schema);
        builder
    }

    pub fn map(key_schema: SchemaRef, value_schema: SchemaRef) -> SchemaBuilder {
        let mut builder = SchemaBuilder::new(Type::Map);
        builder.schema.key_schema = Some(key_schema);
        builder.schema.value_schema = Some(value_schema);
        builder
    }

    /// Java's `SchemaUtil.copySchemaBasics(source)`: same type (and items for an array),
    /// name, version, doc and parameters; not optionality, default, fields or map schemas.
    pub fn copy_basics(source: &Schema) -> SchemaBuilder {
        let builder = if source.schema_type == Type::Array {
            let items = source.value_schema.clone().expect("array schema has items");
            SchemaBuilder::array(items)
        } else {
            SchemaBuilder::new(source.schema_type)
        };
        builder.with_basics_of(source)
    }

    /// Java's `SchemaUtil.copySchemaBasics(source, builder)`.
    pub fn with_basics_of(mut self, source: &Schema) -> SchemaBuilder {
        self.schema.name = source.name.clone();
        self.schema.version = source.version;
        self.schema.doc = source.doc.clone();
        if let Some(parameters) = &source.parameters {
            self.schema
                .parameters
                .get_or_insert_with(IndexMap::new)
                .extend(parameters.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        self
    }

    pub fn schema_type(&self) -> Type {
        self.schema.schema_type
    }

    pub fn optional(mut self) -> SchemaBuilder {
        self.schema.optional = true;
        self
    }

    pub fn required(mut self) -> SchemaBuilder {
        self.schema.optional = false;
        self
    }

    pub fn set_optional(mut self, optional: bool) -> SchemaBuilder {
        self.schema.optional = optional;
        self
    }

    pub fn name(mut self, name: impl Into<String>) -> SchemaBuilder {
        self.schema.name = Some(name.into());
        self
    }

    pub fn set_name(mut self, name: Option<String>) -> SchemaBuilder {
        self.schema.name = name;
        self
    }

    pub fn version(mut self, version: i32) -> SchemaBuilder {
        self.schema.version = Some(version);
        self
    }

    pub fn set_version(mut self, version: Option<i32>) -> SchemaBuilder {
        self.schema.version = version;
        self
    }

    pub fn doc(mut self, doc: impl Into<String>) -> SchemaBuilder {
        self.schema.doc = Some(doc.into());
        self
    }

    pub fn parameter(mut self, key: impl Into<String>, value: impl Into<String>) -> SchemaBuilder {
        self.schema
            .parameters
            .get_or_insert_with(IndexMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Java's `defaultValue(value)`: the value must fit the schema built so far.
    pub fn default_value(mut self, value: Value) -> Result<SchemaBuilder, DataError> {
        if let Err(cause) = validate(&self.schema, &value, "value") {
            return Err(DataError::new(format!(
                "Invalid default value: {}",
                cause.message
            )));
        }
        self.schema.default_value = Some(value);
        Ok(self)
    }

    /// Java's `field(name, schema)`.
    pub fn field(
        mut self,
        name: impl Into<String>,
        schema: SchemaRef,
    ) -> Result<SchemaBuilder, DataError> {
        let name = name.into();
        if self.schema.schema_type != Type::Struct {
            return Err(DataError::new(format!(
                "Cannot create fields on type {}",
                self.schema.schema_type
            )));
        }
        if name.is_empty() {
            return Err(DataError::new("fieldName cannot be null."));
        }
        if self.schema.field(&name).is_some() {
            return Err(DataError::new(format!(
                "Cannot create field because of field name duplication {name}"
            )));
        }
        let index = self.schema.fields.len();
        self.schema.fields.push(Field::new(name, index, schema));
        Ok(self)
    }

    /// The schema as built so far, without consuming the builder (Java's `schema()` on a
    /// builder, which Struct values of a schema under construction use).
    pub fn peek(&self) -> &Schema {
        &self.schema
    }

    pub fn build(self) -> SchemaRef {
        Arc::new(self.schema)
    }
}

/// A Connect value: what Java holds as an `Object` of one of Connect's classes.
/// `Date` is Java's `java.util.Date` (milliseconds since the epoch, UTC): the value of the
/// Date, Time and Timestamp logical types alike, as in Kafka.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Boolean(bool),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    /// Entries in insertion order; equality ignores order, as Java's maps do.
    Map(Vec<(Value, Value)>),
    Struct(Struct),
    Decimal(Decimal),
    Date(i64),
}

impl PartialEq for Value {
    /// Java's `equals`: floats compare by bits (NaN equals NaN), maps ignore order.
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Int8(a), Value::Int8(b)) => a == b,
            (Value::Int16(a), Value::Int16(b)) => a == b,
            (Value::Int32(a), Value::Int32(b)) => a == b,
            (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::Float32(a), Value::Float32(b)) => a.to_bits() == b.to_bits(),
            (Value::Float64(a), Value::Float64(b)) => a.to_bits() == b.to_bits(),
            (Value::Boolean(a), Value::Boolean(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter().all(|(k, v)| {
                        b.iter()
                            .find(|(other_key, _)| other_key == k)
                            .is_some_and(|(_, other_value)| other_value == v)
                    })
            }
            (Value::Struct(a), Value::Struct(b)) => a == b,
            (Value::Decimal(a), Value::Decimal(b)) => a == b,
            (Value::Date(a), Value::Date(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn string(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// A map with string keys, the shape of schemaless records.
    pub fn string_map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::String(k.into()), v))
                .collect(),
        )
    }

    /// The value under string key `key` of a map (Java's `map.get(key)`; `Null` if absent).
    pub fn map_get(&self, key: &str) -> &Value {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::String(s) if s == key))
                .map(|(_, v)| v)
                .unwrap_or(&Value::Null),
            _ => &Value::Null,
        }
    }

    /// Java's `map.put(key, value)` on a map value: replaces in place or appends.
    pub fn map_put(entries: &mut Vec<(Value, Value)>, key: &str, value: Value) {
        match entries
            .iter_mut()
            .find(|(k, _)| matches!(k, Value::String(s) if s == key))
        {
            Some(entry) => entry.1 = value,
            None => entries.push((Value::String(key.to_string()), value)),
        }
    }

    /// The Java class of the value, as `getClass().getName()` prints it.
    pub fn java_class(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int8(_) => "java.lang.Byte",
            Value::Int16(_) => "java.lang.Short",
            Value::Int32(_) => "java.lang.Integer",
            Value::Int64(_) => "java.lang.Long",
            Value::Float32(_) => "java.lang.Float",
            Value::Float64(_) => "java.lang.Double",
            Value::Boolean(_) => "java.lang.Boolean",
            Value::String(_) => "java.lang.String",
            Value::Bytes(_) => "[B",
            Value::Array(_) => "java.util.ArrayList",
            Value::Map(_) => "java.util.HashMap",
            Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
            Value::Decimal(_) => "java.math.BigDecimal",
            Value::Date(_) => "java.util.Date",
        }
    }

    /// Java's `ConnectSchema.schemaType(value.getClass())`: the type a schemaless value
    /// has; `None` for the logical types' classes (BigDecimal, java.util.Date) and null.
    pub fn schema_type(&self) -> Option<Type> {
        Some(match self {
            Value::Int8(_) => Type::Int8,
            Value::Int16(_) => Type::Int16,
            Value::Int32(_) => Type::Int32,
            Value::Int64(_) => Type::Int64,
            Value::Float32(_) => Type::Float32,
            Value::Float64(_) => Type::Float64,
            Value::Boolean(_) => Type::Boolean,
            Value::String(_) => Type::String,
            Value::Bytes(_) => Type::Bytes,
            Value::Array(_) => Type::Array,
            Value::Map(_) => Type::Map,
            Value::Struct(_) => Type::Struct,
            Value::Null | Value::Decimal(_) | Value::Date(_) => return None,
        })
    }

    /// Java's `toString()` of the value (what Kafka's messages and `Cast` to string show).
    /// `java.util.Date` prints in UTC, as on a JVM whose default zone is UTC.
    pub fn java_to_string(&self) -> String {
        match self {
            Value::Null => "null".to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Int16(v) => v.to_string(),
            Value::Int32(v) => v.to_string(),
            Value::Int64(v) => v.to_string(),
            Value::Float32(v) => crate::javafmt::java_float_to_string(*v),
            Value::Float64(v) => crate::javafmt::java_double_to_string(*v),
            Value::Boolean(v) => v.to_string(),
            Value::String(v) => v.clone(),
            Value::Bytes(_) => "[B".to_string(),
            Value::Array(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Value::java_to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Map(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.java_to_string(), v.java_to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Struct(s) => s.to_string(),
            Value::Decimal(d) => d.to_string(),
            Value::Date(ms) => chrono::DateTime::from_timestamp_millis(*ms)
                .map(|t| t.format("%a %b %d %H:%M:%S UTC %Y").to_string())
                .unwrap_or_else(|| ms.to_string()),
        }
    }
}

/// Kafka's `Struct`: a value for every field of a STRUCT schema, checked on `put`.
/// Invariant: `values.len() == schema.fields().len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    schema: SchemaRef,
    values: Vec<Value>,
}

impl Struct {
    /// Java's `new Struct(schema)`: every field null.
    pub fn new(schema: SchemaRef) -> Result<Struct, DataError> {
        if schema.schema_type != Type::Struct {
            return Err(DataError::new(format!("Not a struct schema: {schema}")));
        }
        let values = vec![Value::Null; schema.fields.len()];
        Ok(Struct { schema, values })
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn lookup(&self, name: &str) -> Result<&Field, DataError> {
        self.schema
            .field(name)
            .ok_or_else(|| DataError::new(format!("{name} is not a valid field name")))
    }

    /// Java's `get(name)`: the value, or the field's default when the value is null.
    pub fn get(&self, name: &str) -> Result<&Value, DataError> {
        let field = self.lookup(name)?;
        Ok(self.get_field(field))
    }

    /// Java's `get(Field)`.
    pub fn get_field<'a>(&'a self, field: &'a Field) -> &'a Value {
        let value = &self.values[field.index];
        match (value, field.schema.default_value()) {
            (Value::Null, Some(default)) => default,
            _ => value,
        }
    }

    /// Java's `getWithoutDefault(name)`.
    pub fn get_without_default(&self, name: &str) -> Result<&Value, DataError> {
        let field = self.lookup(name)?;
        Ok(&self.values[field.index])
    }

    /// The value at field position `index`, without defaults.
    pub fn value_at(&self, index: usize) -> &Value {
        &self.values[index]
    }

    /// Java's `put(name, value)`: validated against the field's schema.
    pub fn put(&mut self, name: &str, value: Value) -> Result<&mut Struct, DataError> {
        let field = self.lookup(name)?;
        field.schema.validate_field_value(&field.name, &value)?;
        let index = field.index;
        self.values[index] = value;
        Ok(self)
    }

    /// Builder-style `put`, for constructing structs in one expression.
    pub fn with(mut self, name: &str, value: Value) -> Result<Struct, DataError> {
        self.put(name, value)?;
        Ok(self)
    }

    /// Java's `validate()`: every required field without a default has a value.
    pub fn validate(&self) -> Result<(), DataError> {
        for field in &self.schema.fields {
            let value = &self.values[field.index];
            if value.is_null()
                && (field.schema.is_optional() || field.schema.default_value().is_some())
            {
                continue;
            }
            field.schema.validate_field_value(&field.name, value)?;
        }
        Ok(())
    }
}

impl fmt::Display for Struct {
    /// Java's `Struct.toString()`: `Struct{a=1,b=x}`, null fields left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Struct{")?;
        let mut first = true;
        for field in &self.schema.fields {
            let value = &self.values[field.index];
            if value.is_null() {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{}={}", field.name, value.java_to_string())?;
        }
        f.write_str("}")
    }
}

/// Kafka's `SchemaAndValue`: what a converter reads from bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaAndValue {
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

impl SchemaAndValue {
    /// Java's `SchemaAndValue.NULL`.
    pub const NULL: SchemaAndValue = SchemaAndValue {
        schema: None,
        value: Value::Null,
    };

    pub fn new(schema: Option<SchemaRef>, value: Value) -> SchemaAndValue {
        SchemaAndValue { schema, value }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logical;

    fn int32() -> SchemaRef {
        Schema::primitive(Type::Int32, false)
    }

    fn point() -> SchemaRef {
        SchemaBuilder::struct_()
            .field("x", int32())
            .unwrap()
            .field("y", Schema::primitive(Type::String, true))
            .unwrap()
            .build()
    }

    // ConnectSchemaTest / StructTest cases.
    #[test]
    fn validate_value_accepts_matching_values_and_names_the_mismatch() {
        assert!(int32().validate_value(&Value::Int32(1)).is_ok());
        assert_eq!(
            int32()
                .validate_value(&Value::Int64(1))
                .unwrap_err()
                .message,
            "Invalid Java object for schema with type INT32: class java.lang.Long for value"
        );
        assert_eq!(
            int32().validate_value(&Value::Null).unwrap_err().message,
            "Invalid value: null used for required value, schema type: INT32"
        );
        let date = logical::date().build();
        assert_eq!(
            date.validate_field_value("d", &Value::Int32(1))
                .unwrap_err()
                .message,
            "Invalid Java object for schema \"org.apache.kafka.connect.data.Date\" with type INT32: class java.lang.Integer for field: \"d\""
        );
        assert!(date.validate_value(&Value::Date(0)).is_ok());
        let array = SchemaBuilder::array(int32()).build();
        assert_eq!(
            array
                .validate_value(&Value::Array(vec![Value::Int32(1), Value::Null]))
                .unwrap_err()
                .message,
            "Invalid value: null used for required element of array value, schema type: INT32"
        );
        let map = SchemaBuilder::map(Schema::primitive(Type::String, false), int32()).build();
        assert_eq!(
            map.validate_value(&Value::Map(vec![(Value::Int32(1), Value::Int32(2))]))
                .unwrap_err()
                .message,
            "Invalid Java object for schema with type STRING: class java.lang.Integer for key of map value"
        );
    }

    #[test]
    fn struct_put_validates_and_get_falls_back_to_defaults() {
        let schema = SchemaBuilder::struct_()
            .field("a", int32())
            .unwrap()
            .field(
                "b",
                SchemaBuilder::int32()
                    .default_value(Value::Int32(7))
                    .unwrap()
                    .build(),
            )
            .unwrap()
            .build();
        let mut s = Struct::new(schema).unwrap();
        assert_eq!(
            s.put("a", Value::string("x")).unwrap_err().message,
            "Invalid Java object for schema with type INT32: class java.lang.String for field: \"a\""
        );
        assert_eq!(
            s.put("c", Value::Int32(1)).unwrap_err().message,
            "c is not a valid field name"
        );
        assert_eq!(
            s.validate().unwrap_err().message,
            "Invalid value: null used for required field: \"a\", schema type: INT32"
        );
        s.put("a", Value::Int32(1)).unwrap();
        s.validate().unwrap();
        assert_eq!(s.get("b").unwrap(), &Value::Int32(7));
        assert_eq!(s.get_without_default("b").unwrap(), &Value::Null);
        assert_eq!(s.to_string(), "Struct{a=1}");
    }

    #[test]
    fn struct_values_must_carry_an_equal_schema() {
        let other = SchemaBuilder::struct_()
            .field("x", int32())
            .unwrap()
            .build();
        let value = Value::Struct(Struct::new(other).unwrap());
        assert_eq!(
            point().validate_value(&value).unwrap_err().message,
            "Struct schemas do not match."
        );
    }

    #[test]
    fn builder_rejects_duplicate_fields_and_bad_defaults() {
        let err = SchemaBuilder::struct_()
            .field("x", int32())
            .unwrap()
            .field("x", int32())
            .unwrap_err();
        assert_eq!(
            err.message,
            "Cannot create field because of field name duplication x"
        );
        assert_eq!(
            SchemaBuilder::int32()
                .field("x", int32())
                .unwrap_err()
                .message,
            "Cannot create fields on type INT32"
        );
        assert!(SchemaBuilder::int32()
            .default_value(Value::string("x"))
            .unwrap_err()
            .message
            .starts_with("Invalid default value"));
    }

    #[test]
    fn maps_compare_without_order_and_floats_by_bits() {
        let a = Value::string_map([("a", Value::Int32(1)), ("b", Value::Int32(2))]);
        let b = Value::string_map([("b", Value::Int32(2)), ("a", Value::Int32(1))]);
        assert_eq!(a, b);
        assert_eq!(Value::Float64(f64::NAN), Value::Float64(f64::NAN));
        assert_ne!(Value::Float64(0.0), Value::Float64(-0.0));
    }
}
