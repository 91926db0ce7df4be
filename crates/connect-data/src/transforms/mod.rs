//! Kafka's single message transforms (`org.apache.kafka.connect.transforms`) and
//! predicates, configured by Kafka's keys with Kafka's messages, and the chain a
//! connector's `transforms=`/`predicates=` config builds (`chain`).
//!
//! Kafka caches the schemas a transform derives; a derived schema here is rebuilt per
//! record instead, which gives equal schemas and so the same output.

pub mod api;
pub mod cast;
pub mod chain;
pub mod fields;
pub mod flatten;
pub mod headers;
pub mod predicates;
pub mod routing;
pub mod timestamp;

pub use api::{Predicate, Side, Transformation};
pub use chain::{TransformationChain, TransformationStage};

#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::HashMap;

    use crate::data::{SchemaAndValue, SchemaRef, Value};
    use crate::record::ConnectRecord;

    pub(crate) fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub(crate) fn sink_value(schema: Option<SchemaRef>, value: Value) -> ConnectRecord {
        let mut record = ConnectRecord::sink(
            "test",
            0,
            42,
            SchemaAndValue::NULL,
            SchemaAndValue::new(schema, value),
        );
        record.timestamp = Some(1_483_425_001_864);
        record
    }

    pub(crate) fn sink_key(schema: Option<SchemaRef>, value: Value) -> ConnectRecord {
        let mut record = ConnectRecord::sink(
            "test",
            0,
            42,
            SchemaAndValue::new(schema, value),
            SchemaAndValue::NULL,
        );
        record.timestamp = Some(1_483_425_001_864);
        record
    }
}
