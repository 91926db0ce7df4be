//! The share coordinator's settings (Kafka's `ShareCoordinatorConfig`), with Kafka's
//! defaults: the `__share_group_state` topic and how often a share-partition's state is
//! written whole.

/// `share.coordinator.*` broker keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareCoordinatorConfig {
    /// `share.coordinator.state.topic.num.partitions`
    pub partitions: i32,
    /// `share.coordinator.state.topic.replication.factor`
    pub replication_factor: i16,
    /// `share.coordinator.state.topic.min.isr`
    pub min_isr: i32,
    /// `share.coordinator.state.topic.segment.bytes`
    pub segment_bytes: i64,
    /// `share.coordinator.snapshot.update.records.per.snapshot`: after this many
    /// ShareUpdate records of a share-partition the next write is a whole ShareSnapshot.
    pub snapshot_update_records_per_snapshot: i32,
    /// `share.coordinator.write.timeout.ms`: how long a write waits for the ISR.
    pub write_timeout_ms: i64,
    /// `share.coordinator.state.topic.prune.interval.ms`: how often records that a later
    /// snapshot made redundant are deleted from the topic.
    pub prune_interval_ms: i64,
}

impl Default for ShareCoordinatorConfig {
    fn default() -> Self {
        ShareCoordinatorConfig {
            partitions: 50,
            replication_factor: 3,
            min_isr: 2,
            segment_bytes: 104_857_600,
            snapshot_update_records_per_snapshot: 500,
            write_timeout_ms: 5_000,
            prune_interval_ms: 300_000,
        }
    }
}

/// The keys [`ShareCoordinatorConfig`] reads.
pub const SHARE_COORDINATOR_KEYS: &[&str] = &[
    "share.coordinator.state.topic.num.partitions",
    "share.coordinator.state.topic.replication.factor",
    "share.coordinator.state.topic.min.isr",
    "share.coordinator.state.topic.segment.bytes",
    "share.coordinator.snapshot.update.records.per.snapshot",
    "share.coordinator.write.timeout.ms",
    "share.coordinator.state.topic.prune.interval.ms",
];
