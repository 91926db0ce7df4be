//! `ConnectRecord` (Kafka's `ConnectRecord`, `SourceRecord`, `SinkRecord`) and its headers
//! (`ConnectHeaders`): what transforms and converters work on. The source- or sink-only
//! parts ride along in `RecordKind`, untouched by transforms, as Java's `newRecord` keeps
//! them.

use crate::data::{SchemaAndValue, SchemaRef, Value};

/// One header: a key (repeatable), and a value with an optional schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub key: String,
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

/// Kafka's `TimestampType` of a consumed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    NoTimestampType,
    CreateTime,
    LogAppendTime,
}

/// What only a source record or only a sink record has.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordKind {
    /// A `SourceRecord`: where in the source system the record came from. Both are maps
    /// with string keys (`Value::Map`), or `Null`.
    Source {
        source_partition: Value,
        source_offset: Value,
    },
    /// A `SinkRecord`: where in Kafka it was consumed from. The `original_*` fields keep
    /// the values before any transform changed topic or partition (KIP-793).
    Sink {
        kafka_offset: i64,
        timestamp_type: TimestampType,
        original_topic: String,
        original_kafka_partition: Option<i32>,
        original_kafka_offset: i64,
    },
}

/// Kafka's `ConnectRecord`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRecord {
    pub topic: String,
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    pub timestamp: Option<i64>,
    pub headers: Vec<Header>,
    pub kind: RecordKind,
}

impl ConnectRecord {
    /// A source record with no headers, as a source task builds it.
    pub fn source(topic: &str, value: SchemaAndValue) -> ConnectRecord {
        ConnectRecord {
            topic: topic.to_string(),
            kafka_partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema: value.schema,
            value: value.value,
            timestamp: None,
            headers: Vec::new(),
            kind: RecordKind::Source {
                source_partition: Value::Null,
                source_offset: Value::Null,
            },
        }
    }

    /// A sink record consumed at `partition`/`offset`, original fields set from them.
    pub fn sink(
        topic: &str,
        partition: i32,
        offset: i64,
        key: SchemaAndValue,
        value: SchemaAndValue,
    ) -> ConnectRecord {
        ConnectRecord {
            topic: topic.to_string(),
            kafka_partition: Some(partition),
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp: None,
            headers: Vec::new(),
            kind: RecordKind::Sink {
                kafka_offset: offset,
                timestamp_type: TimestampType::NoTimestampType,
                original_topic: topic.to_string(),
                original_kafka_partition: Some(partition),
                original_kafka_offset: offset,
            },
        }
    }

    /// The sink record's Kafka offset, if it is one.
    pub fn kafka_offset(&self) -> Option<i64> {
        match self.kind {
            RecordKind::Sink { kafka_offset, .. } => Some(kafka_offset),
            RecordKind::Source { .. } => None,
        }
    }

    /// Java's `ConnectHeaders.add(key, value, schema)`.
    pub fn add_header(&mut self, key: &str, schema: Option<SchemaRef>, value: Value) {
        self.headers.push(Header {
            key: key.to_string(),
            schema,
            value,
        });
    }

    /// Java's `headers().allWithName(key)`.
    pub fn headers_named<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        self.headers.iter().filter(move |h| h.key == key)
    }

    /// Java's `ConnectRecord.toString()` (which TimestampRouter's message prints).
    pub fn java_to_string(&self) -> String {
        let class = match self.kind {
            RecordKind::Source { .. } => "SourceRecord",
            RecordKind::Sink { .. } => "SinkRecord",
        };
        let schema = |s: &Option<SchemaRef>| {
            s.as_ref()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "null".to_string())
        };
        let partition = self
            .kafka_partition
            .map(|p| p.to_string())
            .unwrap_or_else(|| "null".into());
        let timestamp = self
            .timestamp
            .map(|t| t.to_string())
            .unwrap_or_else(|| "null".into());
        format!(
            "{class}{{topic='{}', kafkaPartition={partition}, key={}, keySchema={}, value={}, valueSchema={}, timestamp={timestamp}, headers=ConnectHeaders(headers=)}}",
            self.topic,
            self.key.java_to_string(),
            schema(&self.key_schema),
            self.value.java_to_string(),
            schema(&self.value_schema),
        )
    }
}
