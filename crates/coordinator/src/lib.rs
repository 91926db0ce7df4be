//! The coordinators: the group coordinator (classic and consumer protocols, committed
//! offsets) and the transaction coordinator; the share-group coordinator next. Each is a
//! state machine whose durable state is records of an internal compacted topic
//! (`__consumer_offsets` for groups, `__transaction_state` for transactional ids), written
//! and replayed through `CoordinatorLog`: the broker implements that
//! trait over its partitions, and tests implement it in memory. Nothing here knows
//! sockets or the broker's types.

pub mod group;
pub mod txn;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use rafka_protocol::ErrorCode;

/// A write a coordinator appended, resolving once it counts (the partition's ISR has it,
/// where the topic's settings say so) or with the partition's error.
pub type PendingWrite = Pin<Box<dyn Future<Output = Result<(), ErrorCode>> + Send>>;

/// What a coordinator needs of the partitions of its internal topic.
pub trait CoordinatorLog: Send + Sync {
    /// Whether this broker leads `topic`'s partition `partition` (and so coordinates the
    /// keys that hash to it). False when it does not host the partition.
    fn is_leader(&self, topic: &str, partition: i32) -> bool;

    /// Appends a record batch (v2, built by the coordinator) to the partition, locally
    /// and synchronously, so that appends keep the order of the steps that made them;
    /// the returned write resolves once the batch counts, or fails after `timeout`. `Err` is the partition's error
    /// (NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR, …; UNKNOWN_TOPIC_OR_PARTITION when
    /// it is not hosted here).
    fn append(
        &self,
        topic: &str,
        partition: i32,
        batch: &[u8],
        timeout: Duration,
    ) -> Result<PendingWrite, ErrorCode>;

    /// The partition's log start offset and high watermark: the range a replay reads.
    fn replay_range(&self, topic: &str, partition: i32) -> Option<(i64, i64)>;

    /// Up to `max_bytes` of whole batches from `offset` (at least one batch if there is
    /// one), read up to the high watermark.
    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Bytes, String>;
}
