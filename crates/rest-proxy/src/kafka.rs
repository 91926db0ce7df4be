//! What the REST proxy and the gRPC service build alike for librdkafka.

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;

/// One record's parts, borrowed from either API's request.
#[derive(Debug, Clone, Copy)]
pub struct RecordParts<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub partition: Option<i32>,
    pub timestamp_ms: Option<i64>,
}

/// The librdkafka record for `topic`: what is absent stays unset (the partitioner picks
/// the partition, the producer stamps the time), headers only when there are some.
pub fn future_record<'a>(
    topic: &'a str,
    parts: RecordParts<'a>,
    headers: &[(&'a str, Option<&'a [u8]>)],
) -> FutureRecord<'a, [u8], [u8]> {
    let mut record: FutureRecord<'a, [u8], [u8]> = FutureRecord::to(topic);
    if let Some(key) = parts.key {
        record = record.key(key);
    }
    if let Some(value) = parts.value {
        record = record.payload(value);
    }
    if let Some(partition) = parts.partition {
        record = record.partition(partition);
    }
    if let Some(timestamp) = parts.timestamp_ms {
        record = record.timestamp(timestamp);
    }
    if !headers.is_empty() {
        let mut owned = OwnedHeaders::new_with_capacity(headers.len());
        for (key, value) in headers {
            owned = owned.insert(Header { key, value: *value });
        }
        record = record.headers(owned);
    }
    record
}
