//! The coordinators: the group coordinator (classic and consumer protocols, committed
//! offsets), the transaction coordinator, the share-group coordinator (membership; in
//! memory) and the share coordinator (share-partitions' delivery state). Each is a
//! state machine whose durable state is records of an internal topic
//! (`__consumer_offsets` for groups, `__transaction_state` for transactional ids,
//! `__share_group_state` for share-partitions), written
//! and replayed through `CoordinatorLog`: the broker implements that
//! trait over its partitions, and tests implement it in memory. Nothing here knows
//! sockets or the broker's types.

pub mod codec;
pub mod group;
pub mod share;
pub mod share_state;
pub mod txn;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use rafka_protocol::ErrorCode;

/// Which partition of a coordinator's topic holds `key` (a group id, a transactional
/// id): Kafka's `Utils.abs(key.hashCode()) % partitions`, the one rule of its group,
/// transaction and share coordinators. Java's `String.hashCode` runs over UTF-16 code
/// units (a character outside the BMP counts as its two surrogates), and `Utils.abs` maps
/// `i32::MIN` to 0.
///
/// Builds of rafka before 2026-12 placed groups with `hash & 0x7fffffff` (different for
/// negative hashes): offsets they committed for such groups sit in another
/// `__consumer_offsets` partition and are not found any more.
pub fn partition_for(key: &str, partitions: i32) -> i32 {
    let hash = java_string_hash(key);
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % partitions.max(1)
}

/// Java's `String.hashCode`: `s[0]*31^(n-1) + … + s[n-1]` over UTF-16 code units, in
/// wrapping int32 arithmetic.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// What a coordinator answers when the append of its record failed with `code`: Kafka's
/// `CoordinatorOperationExceptionHelper` (the transaction coordinator's
/// `appendTransactionToLog` maps the same way).
pub fn append_error(code: ErrorCode) -> ErrorCode {
    match code {
        ErrorCode::UnknownTopicOrPartition
        | ErrorCode::NotEnoughReplicas
        | ErrorCode::NotEnoughReplicasAfterAppend
        | ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotLeaderOrFollower | ErrorCode::KafkaStorageError => ErrorCode::NotCoordinator,
        ErrorCode::MessageTooLarge | ErrorCode::RecordListTooLarge => ErrorCode::UnknownServerError,
        other => other,
    }
}

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

    /// The partition's log start and end offsets: the range a replay reads. To the log
    /// end, not the high watermark, as Kafka's loader reads: a new leader's high
    /// watermark may lag the records its predecessor had acknowledged.
    fn replay_range(&self, topic: &str, partition: i32) -> Option<(i64, i64)>;

    /// Up to `max_bytes` of whole batches from `offset` (at least one batch if there is
    /// one), read up to the log end.
    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Bytes, String>;
}

/// How much of a coordinator's partition one read of a replay takes.
const REPLAY_READ_BYTES: usize = 4 << 20;

/// Replays `topic`'s partition: every record from its log start to its log end,
/// in order, to `each` (control batches skipped, unreadable batches logged and skipped).
pub fn replay_records(
    log: &dyn CoordinatorLog,
    topic: &str,
    partition: i32,
    mut each: impl FnMut(kafka_protocol::records::Record),
) {
    let Some((mut offset, end)) = log.replay_range(topic, partition) else {
        return;
    };
    while offset < end {
        let data = match log.read(topic, partition, offset, REPLAY_READ_BYTES) {
            Ok(d) if !d.is_empty() => d,
            Ok(_) => break,
            Err(e) => {
                tracing::error!("cannot load {topic}-{partition}: {e}");
                break;
            }
        };
        let before = offset;
        for batch in rafka_protocol::batch::batches(&data) {
            let Ok(batch) = batch else { break };
            if batch.base_offset() >= end {
                break;
            }
            offset = offset.max(batch.next_offset());
            if batch.is_control() {
                continue;
            }
            let Ok(decoded) = batch.decode_records() else {
                tracing::warn!("skipping an unreadable batch of {topic}-{partition}");
                continue;
            };
            decoded.into_iter().for_each(&mut each);
        }
        if offset == before {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::partition_for;

    #[test]
    fn partition_is_kafkas_utils_abs_of_the_java_hash() {
        // Java: "my-group".hashCode() == -1906497762: Utils.abs gives 12 of 50 (Kafka's
        // GroupCoordinatorService); & 0x7fffffff would give 36.
        assert_eq!(partition_for("my-group", 50), 12);
        // "my-txn".hashCode() == -1061187895; & 0x7fffffff would give 3.
        assert_eq!(partition_for("my-txn", 50), 45);
        assert_eq!(partition_for("txn-1", 50), 10);
        assert_eq!(partition_for("transactional-id", 50), 31);
        // hashCode == i32::MIN, which Utils.abs maps to 0.
        assert_eq!(partition_for("polygenelubricants", 50), 0);
        // JDK 17: "tx-é中" hashes to 110773837; "txn-🚀" (a surrogate pair) to -858069978.
        assert_eq!(partition_for("tx-\u{e9}\u{4e2d}", 50), 37);
        assert_eq!(partition_for("txn-\u{1f680}", 50), 28);
        assert_eq!(partition_for("", 50), 0);
    }
}
