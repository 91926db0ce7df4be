//! The group coordinator's settings from `server.properties` (`group.*`,
//! `group.consumer.*`, `offsets.topic.*`), parsed by `BrokerConfig` and applied by the
//! broker's group coordinator.

/// The broker's `group.*` settings.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    pub initial_rebalance_delay_ms: i64,
    pub max_size: usize,
    pub offsets_retention_ms: i64,
    pub offset_metadata_max_bytes: usize,
    /// How long a member that joined during a rebalance may take to complete it.
    pub new_member_join_timeout_ms: i64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            min_session_timeout_ms: 6_000,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay_ms: 3_000,
            max_size: i32::MAX as usize,
            offsets_retention_ms: 7 * 24 * 3_600_000,
            offset_metadata_max_bytes: 4096,
            new_member_join_timeout_ms: 300_000,
        }
    }
}

/// The broker's `group.consumer.*` settings (KIP-848's consumer protocol).
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub session_timeout_ms: i64,
    pub heartbeat_interval_ms: i32,
    pub max_size: usize,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 5_000,
            max_size: i32::MAX as usize,
        }
    }
}

/// The broker's `group.share.*` settings (KIP-932's share groups), Kafka 4.1's defaults.
/// The session timeout, heartbeat interval and record lock duration are also group
/// configs (`share.*`), which override these per group.
#[derive(Debug, Clone)]
pub struct ShareConfig {
    pub session_timeout_ms: i64,
    pub heartbeat_interval_ms: i32,
    pub max_size: usize,
    pub record_lock_duration_ms: i64,
    /// A record delivered this many times is archived instead of made available again.
    pub delivery_count_limit: i16,
    /// How many records a share-partition keeps in flight (Kafka 4.1: 2000; KIP-932
    /// first said 200).
    pub partition_max_record_locks: usize,
}

impl Default for ShareConfig {
    fn default() -> Self {
        ShareConfig {
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 5_000,
            max_size: 200,
            record_lock_duration_ms: 30_000,
            delivery_count_limit: 5,
            partition_max_record_locks: 2000,
        }
    }
}

/// Settings of the offsets topic itself.
#[derive(Debug, Clone)]
pub struct OffsetsTopicConfig {
    pub partitions: i32,
    pub replication_factor: i16,
    pub segment_bytes: i64,
}
