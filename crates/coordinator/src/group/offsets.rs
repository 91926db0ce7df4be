//! A group's offsets: what one commit holds, and the offsets committed inside
//! transactions not yet ended (TxnOffsetCommit, what a transactional producer's
//! `sendOffsetsToTransaction` sends). Those are written to the group's
//! `__consumer_offsets` partition in one transactional batch of the producer and stay
//! pending, invisible to OffsetFetch, until the transaction's marker in that partition
//! commits them (they become the group's committed offsets) or aborts them (they are
//! dropped). Kafka's `OffsetMetadataManager` keeps them the same way
//! (`pendingTransactionalOffsets`, `openTransactionsByGroup`); rafka keeps each group's
//! with the group (`Group::pending_offsets`).

use std::collections::{BTreeMap, BTreeSet};

/// One partition's committed offset, as OffsetCommit and OffsetFetch carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
}

/// A partition a group commits offsets for: (topic, partition index).
pub type OffsetKey = (String, i32);

/// One group's pending transactional offsets, by producer id.
///
/// Kafka materializes a committed transaction's offset only if its record comes later in
/// the log than the record of the offset committed at that point (a plain commit written
/// after the transactional one wins, and so does another transaction's offset written
/// later and committed first). rafka's coordinator does not learn the offsets of its
/// records, so it keeps the same order another way: each pending offset is numbered in
/// write order, and is marked `outranked` once a later write of the partition's offset
/// becomes the committed one.
///
/// Invariant: no producer has an empty map of offsets.
#[derive(Debug, Default)]
pub struct PendingOffsets {
    by_producer: BTreeMap<i64, BTreeMap<OffsetKey, Pending>>,
    /// The number of the next pending write, in the order of the log.
    next_write: u64,
}

#[derive(Debug, Clone)]
struct Pending {
    offset: CommittedOffset,
    write: u64,
    outranked: bool,
}

impl PendingOffsets {
    /// Records `producer_id`'s transactional commit of `key` (replacing one it made earlier
    /// in the same transaction, as a later record does in Kafka).
    pub fn add(&mut self, producer_id: i64, key: OffsetKey, offset: CommittedOffset) {
        let write = self.next_write;
        self.next_write += 1;
        self.by_producer.entry(producer_id).or_default().insert(
            key,
            Pending {
                offset,
                write,
                outranked: false,
            },
        );
    }

    /// Whether any open transaction has an offset for `key` (Kafka's
    /// `hasPendingTransactionalOffsets`).
    pub fn contains(&self, key: &OffsetKey) -> bool {
        self.by_producer.values().any(|o| o.contains_key(key))
    }

    pub fn is_empty(&self) -> bool {
        self.by_producer.is_empty()
    }

    /// The producers with an open transaction holding offsets of this group.
    pub fn producers(&self) -> impl Iterator<Item = i64> + '_ {
        self.by_producer.keys().copied()
    }

    /// Every partition some open transaction has an offset for.
    pub fn keys(&self) -> BTreeSet<OffsetKey> {
        self.by_producer
            .values()
            .flat_map(|o| o.keys().cloned())
            .collect()
    }

    /// `producer_id`'s pending offset for `key`.
    pub fn get(&self, producer_id: i64, key: &OffsetKey) -> Option<&CommittedOffset> {
        self.by_producer
            .get(&producer_id)
            .and_then(|o| o.get(key))
            .map(|p| &p.offset)
    }

    /// A plain commit of `key` was written after every pending offset of it: none of them
    /// may replace it when its transaction commits.
    pub(super) fn outrank(&mut self, key: &OffsetKey) {
        for offsets in self.by_producer.values_mut() {
            if let Some(pending) = offsets.get_mut(key) {
                pending.outranked = true;
            }
        }
    }

    /// A tombstone of `key`: its pending offsets go with it, as in Kafka's replay.
    pub(super) fn remove(&mut self, key: &OffsetKey) {
        for offsets in self.by_producer.values_mut() {
            offsets.remove(key);
        }
        self.by_producer.retain(|_, o| !o.is_empty());
    }

    pub(super) fn clear(&mut self) {
        self.by_producer.clear();
    }

    /// Ends `producer_id`'s transaction. On commit, returns the offsets that become the
    /// committed ones, each of which outranks the other transactions' pending offsets of
    /// its partition written before it; on abort, none.
    pub(super) fn complete(
        &mut self,
        producer_id: i64,
        commit: bool,
    ) -> Vec<(OffsetKey, CommittedOffset)> {
        let Some(offsets) = self.by_producer.remove(&producer_id) else {
            return Vec::new();
        };
        if !commit {
            return Vec::new();
        }
        let mut committed = Vec::with_capacity(offsets.len());
        for (key, pending) in offsets {
            if pending.outranked {
                continue;
            }
            for others in self.by_producer.values_mut() {
                if let Some(other) = others.get_mut(&key) {
                    if other.write < pending.write {
                        other.outranked = true;
                    }
                }
            }
            committed.push((key, pending.offset));
        }
        committed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(offset: i64) -> CommittedOffset {
        CommittedOffset {
            offset,
            leader_epoch: 0,
            metadata: String::new(),
            commit_timestamp_ms: 0,
        }
    }

    fn key() -> OffsetKey {
        ("t".to_string(), 0)
    }

    #[test]
    fn a_commit_returns_the_producers_offsets_and_an_abort_none() {
        let mut pending = PendingOffsets::default();
        let other = ("t".to_string(), 1);
        pending.add(7, key(), offset(4));
        pending.add(7, key(), offset(5));
        pending.add(7, other.clone(), offset(6));
        pending.add(8, key(), offset(9));
        assert!(pending.contains(&key()));
        assert_eq!(pending.get(7, &key()), Some(&offset(5)), "the later write");
        assert_eq!(pending.producers().collect::<Vec<_>>(), vec![7, 8]);
        assert_eq!(
            pending.complete(7, true),
            vec![(key(), offset(5)), (other.clone(), offset(6))]
        );
        assert!(!pending.contains(&other));
        assert!(pending.contains(&key()), "producer 8's is still pending");
        assert_eq!(pending.complete(8, false), vec![]);
        assert!(pending.is_empty());
        assert_eq!(
            pending.complete(8, true),
            vec![],
            "a second marker finds nothing"
        );
    }

    #[test]
    fn a_plain_commit_written_later_outranks_a_pending_offset() {
        let mut pending = PendingOffsets::default();
        pending.add(7, key(), offset(5));
        pending.outrank(&key());
        assert!(pending.contains(&key()), "still pending until the marker");
        assert_eq!(pending.complete(7, true), vec![]);
        // Written again after the plain commit, in a new transaction: it wins.
        pending.add(7, key(), offset(11));
        assert_eq!(pending.complete(7, true), vec![(key(), offset(11))]);
    }

    #[test]
    fn a_transaction_committed_first_outranks_only_the_earlier_pending_offsets() {
        let mut pending = PendingOffsets::default();
        pending.add(1, key(), offset(10));
        pending.add(2, key(), offset(20));
        pending.add(3, key(), offset(5));
        // Producer 2's transaction commits first: 1 wrote before it, 3 after.
        assert_eq!(pending.complete(2, true), vec![(key(), offset(20))]);
        assert_eq!(pending.complete(1, true), vec![]);
        assert_eq!(pending.complete(3, true), vec![(key(), offset(5))]);
    }

    #[test]
    fn a_tombstone_removes_the_pending_offsets_of_its_partition() {
        let mut pending = PendingOffsets::default();
        let other = ("t".to_string(), 1);
        pending.add(7, key(), offset(5));
        pending.add(7, other.clone(), offset(6));
        pending.add(8, key(), offset(7));
        pending.remove(&key());
        assert_eq!(pending.keys(), BTreeSet::from([other.clone()]));
        assert_eq!(
            pending.producers().collect::<Vec<_>>(),
            vec![7],
            "8 had nothing else"
        );
        assert_eq!(pending.complete(7, true), vec![(other, offset(6))]);
    }
}
