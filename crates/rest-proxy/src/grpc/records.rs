//! Records as the proto carries them, and how many go into one message.

use rdkafka::message::{Headers, Message};

use super::pb::{ConsumedRecord, Header};

const DEFAULT_MAX_RECORDS: usize = 500;
/// Upper bound on records per message, so that one call cannot claim unbounded memory.
const MAX_RECORDS_LIMIT: usize = 10_000;
/// A message's default byte budget: well below gRPC clients' default 4 MiB receive limit.
const DEFAULT_MAX_BYTES: usize = 1 << 20;
/// The most a client may ask for (the service's own encoding limit is higher).
const MAX_BYTES_LIMIT: usize = 32 << 20;

/// `requested`, or `default` for 0, capped at `max`.
pub(super) fn limit(requested: u32, default: usize, max: usize) -> usize {
    match requested {
        0 => default,
        n => (n as usize).min(max),
    }
}

/// When a batch of records for one message is full: at `records` records, or once the
/// keys, values and headers reach `bytes` (a larger record still travels, alone).
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchLimit {
    records: usize,
    bytes: usize,
}

impl BatchLimit {
    /// From a request's `max_records` and `max_bytes` (0 = the default).
    pub(super) fn new(max_records: u32, max_bytes: u32) -> BatchLimit {
        BatchLimit {
            records: limit(max_records, DEFAULT_MAX_RECORDS, MAX_RECORDS_LIMIT),
            bytes: limit(max_bytes, DEFAULT_MAX_BYTES, MAX_BYTES_LIMIT),
        }
    }

    pub(super) fn reached(&self, records: usize, bytes: usize) -> bool {
        records >= self.records || bytes >= self.bytes
    }

    /// What a record counts against the byte budget.
    pub(super) fn size(record: &ConsumedRecord) -> usize {
        record.key.as_ref().map_or(0, Vec::len)
            + record.value.as_ref().map_or(0, Vec::len)
            + record
                .headers
                .iter()
                .map(|h| h.key.len() + h.value.len())
                .sum::<usize>()
    }
}

/// A consumed record as the proto carries it.
pub(super) fn consumed<M: Message>(message: &M) -> ConsumedRecord {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|header| Header {
                    key: header.key.to_string(),
                    value: header.value.map(<[u8]>::to_vec).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    ConsumedRecord {
        topic: message.topic().to_string(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
        headers,
        timestamp_ms: message.timestamp().to_millis().unwrap_or(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_zero_and_cap_the_rest() {
        assert_eq!(limit(0, 500, 10_000), 500);
        assert_eq!(limit(7, 500, 10_000), 7);
        assert_eq!(limit(u32::MAX, 500, 10_000), 10_000);
    }

    #[test]
    fn a_batch_is_full_at_its_record_count_or_its_bytes() {
        let batch = BatchLimit::new(3, 100);
        assert!(!batch.reached(2, 99));
        assert!(batch.reached(3, 0));
        assert!(batch.reached(1, 100));
        let record = ConsumedRecord {
            key: Some(vec![0; 3]),
            value: Some(vec![0; 10]),
            headers: vec![Header {
                key: "h".into(),
                value: vec![0; 2],
            }],
            ..Default::default()
        };
        assert_eq!(BatchLimit::size(&record), 16);
        let defaults = BatchLimit::new(0, 0);
        assert!(!defaults.reached(499, (1 << 20) - 1));
        assert!(defaults.reached(500, 0));
    }
}
