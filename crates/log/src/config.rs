//! Per-partition log settings, Kafka's topic-level configs.

pub use rafka_protocol::batch::TimestampType;

/// The topic-level settings one partition's log obeys. Field names are Kafka's keys with
/// dots as underscores (`segment.bytes` → `segment_bytes`); [`Default`] is Kafka's default.
/// Not `Eq`: `min_cleanable_dirty_ratio` is a float.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`: roll the active segment before it would grow past this. Capped at
    /// `i32::MAX` as in Kafka, since index positions are 32-bit.
    pub segment_bytes: u64,
    /// `segment.ms`: roll a non-empty active segment once its first batch is this old.
    pub segment_ms: i64,
    /// `segment.index.bytes`: roll before the offset index (8-byte entries) or the time
    /// index (12-byte entries) would exceed this.
    pub segment_index_bytes: u64,
    /// `retention.ms`: delete segments whose newest timestamp is older; -1 keeps forever.
    pub retention_ms: i64,
    /// `retention.bytes`: delete oldest segments while the log exceeds this; -1 = no limit.
    pub retention_bytes: i64,
    /// `index.interval.bytes`: log bytes between offset-index entries.
    pub index_interval_bytes: u64,
    /// `flush.messages`: fsync once this many records are unflushed.
    pub flush_interval_messages: i64,
    /// `flush.ms`: fsync once the last flush is this old (checked on append).
    pub flush_interval_ms: i64,
    /// `max.message.bytes`: the largest record batch accepted from a producer.
    pub max_message_bytes: u32,
    /// `message.timestamp.type`.
    pub message_timestamp_type: TimestampType,
    /// `cleanup.policy` contains `compact`: [`Log::clean`](crate::Log::clean) keeps the
    /// latest record per key.
    pub cleanup_policy_compact: bool,
    /// `cleanup.policy` contains `delete`: retention deletes segments by time and size.
    /// Segments below the log start offset go under every policy.
    pub cleanup_policy_delete: bool,
    /// `delete.retention.ms`: how long a tombstone stays after the cleaner first passed
    /// over it (its batch's delete horizon).
    pub delete_retention_ms: i64,
    /// `min.cleanable.dirty.ratio`: clean only when dirty bytes / (clean + dirty bytes)
    /// exceed this.
    pub min_cleanable_dirty_ratio: f64,
    /// `min.compaction.lag.ms`: segments with a record newer than this are not cleaned.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms`: clean regardless of the dirty ratio once a dirty
    /// segment's first batch is older than this.
    pub max_compaction_lag_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            segment_index_bytes: 10 * 1024 * 1024,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            flush_interval_messages: i64::MAX,
            flush_interval_ms: i64::MAX,
            max_message_bytes: 1024 * 1024 + 12,
            message_timestamp_type: TimestampType::CreateTime,
            cleanup_policy_compact: false,
            cleanup_policy_delete: true,
            delete_retention_ms: 24 * 60 * 60 * 1000,
            min_cleanable_dirty_ratio: 0.5,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
        }
    }
}

impl LogConfig {
    /// `segment_bytes` as the log applies it.
    pub(crate) fn segment_bytes_max(&self) -> u64 {
        self.segment_bytes.min(i32::MAX as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kafkas() {
        let config = LogConfig::default();
        assert_eq!(config.segment_bytes, 1_073_741_824);
        assert_eq!(config.segment_ms, 604_800_000);
        assert_eq!(config.segment_index_bytes, 10_485_760);
        assert_eq!(config.retention_ms, 604_800_000);
        assert_eq!(config.retention_bytes, -1);
        assert_eq!(config.index_interval_bytes, 4096);
        assert_eq!(config.max_message_bytes, 1_048_588);
        assert_eq!(config.message_timestamp_type, TimestampType::CreateTime);
        assert!(!config.cleanup_policy_compact);
        assert!(config.cleanup_policy_delete);
        assert_eq!(config.delete_retention_ms, 86_400_000);
        assert_eq!(config.min_cleanable_dirty_ratio, 0.5);
        assert_eq!(config.min_compaction_lag_ms, 0);
        assert_eq!(config.max_compaction_lag_ms, i64::MAX);
    }
}
