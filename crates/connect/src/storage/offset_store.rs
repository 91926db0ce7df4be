//! Kafka's `KafkaOffsetBackingStore`: source offsets in `offset.storage.topic`.
//!
//! Records: key `["<connector>",{partition}]`, value `{offset}` — the same JSON bytes the
//! standalone file holds (`offset_store::offset_key` / `encode_value`); a `null` value
//! removes the partition's offset. Keys are partitioned by murmur2 as Java's producer
//! does, so a key's records stay in one partition, in order.
//!
//! The map is fed by the background consumer and, on acknowledgement, by this worker's
//! own writes, so a `get` sees every write acknowledged before it without reading back.
//! Each entry keeps the (partition, offset) it came from: a record older than what the
//! map holds for its key (read back after a newer acknowledged write) does not win.
//!
//! Thread-safety: one mutex over the map, shared by the consumer thread and tasks.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rafka_connect_data::connector::BoxFuture;

use super::kafka_log::{ConsumedRecord, KafkaBasedLog};
use super::{InternalTopic, TopicSpec};
use crate::error::RuntimeError;
use crate::offset_store::{OffsetStore, RawEntries};
use crate::worker_config::WorkerConfig;

/// A stored value and the topic offset of the record that set it (`None` value: a
/// tombstone kept only to order later records).
#[derive(Debug, Clone)]
struct Entry {
    value: Option<Vec<u8>>,
    offset: i64,
}

#[derive(Debug, Default)]
struct OffsetMap {
    entries: HashMap<Vec<u8>, Entry>,
}

impl OffsetMap {
    fn apply(&mut self, key: Vec<u8>, value: Option<Vec<u8>>, offset: i64) {
        match self.entries.get(&key) {
            Some(existing) if existing.offset > offset => {}
            _ => {
                self.entries.insert(key, Entry { value, offset });
            }
        }
    }
}

/// Kafka's `KafkaOffsetBackingStore` over `offset.storage.topic`.
#[derive(Debug)]
pub struct KafkaOffsetStore {
    log: KafkaBasedLog,
    map: Arc<Mutex<OffsetMap>>,
}

impl KafkaOffsetStore {
    /// Creates or checks the topic and reads every offset in it.
    pub async fn start(config: &WorkerConfig) -> Result<KafkaOffsetStore, RuntimeError> {
        let spec = TopicSpec::from_worker_config(config, InternalTopic::Offset)?;
        let map = Arc::new(Mutex::new(OffsetMap::default()));
        let callback = {
            let map = map.clone();
            Box::new(move |record: ConsumedRecord| {
                let Some(key) = record.key else {
                    tracing::error!("Ignoring an offset record with a null key");
                    return;
                };
                map.lock().apply(key, record.value, record.offset);
            })
        };
        let log = KafkaBasedLog::start(&spec, callback).await?;
        Ok(KafkaOffsetStore { log, map })
    }

    pub fn topic(&self) -> &str {
        self.log.topic()
    }

    pub fn stop(&self) {
        self.log.stop();
    }
}

impl OffsetStore for KafkaOffsetStore {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.map.lock().entries.get(key)?.value.clone()
    }

    fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.map
            .lock()
            .entries
            .iter()
            .filter_map(|(k, e)| Some((k.clone(), e.value.clone()?)))
            .collect()
    }

    /// Writes every entry and resolves once all are acknowledged (then visible to `get`).
    fn set(&self, entries: RawEntries) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            let written = self.log.send_all(&entries).await?;
            let mut map = self.map.lock();
            for ((key, value), (_, offset)) in entries.into_iter().zip(written) {
                map.apply(key, value, offset);
            }
            Ok(())
        })
    }

    fn refresh(&self) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(self.log.read_to_end())
    }

    fn topic(&self) -> Option<String> {
        Some(self.log.topic().to_string())
    }

    fn committed_elsewhere(&self, written: Vec<(Vec<u8>, Option<Vec<u8>>, i64)>) {
        let mut map = self.map.lock();
        for (key, value, offset) in written {
            map.apply(key, value, offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_record_read_back_does_not_undo_a_newer_write() {
        let mut map = OffsetMap::default();
        map.apply(b"k".to_vec(), Some(b"new".to_vec()), 10);
        map.apply(b"k".to_vec(), Some(b"old".to_vec()), 4);
        assert_eq!(
            map.entries[&b"k".to_vec()].value.as_deref(),
            Some(&b"new"[..])
        );
        map.apply(b"k".to_vec(), None, 11);
        assert_eq!(map.entries[&b"k".to_vec()].value, None);
    }
}
