//! The group coordinator over an in-memory `CoordinatorLog`: no sockets, no broker. Its
//! writes are what a replay reads back, and a write that fails or is not replicated
//! answers the group API's error instead of acknowledging the change.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::Mutex;
use rafka_config::group::{ConsumerConfig, GroupConfig, OffsetsTopicConfig};
use rafka_coordinator::group::{self, CommittedOffset, GroupCoordinator, OFFSETS_TOPIC};
use rafka_coordinator::{CoordinatorLog, PendingWrite};
use rafka_protocol::ErrorCode;
use rafka_types::ManualClock;

/// Partitions as lists of batches, each given its base offset as a leader would.
#[derive(Default)]
struct MemoryLog {
    batches: Mutex<HashMap<i32, Vec<Bytes>>>,
    /// What every append answers with, when set (a lost leadership, a full disk).
    append_error: Mutex<Option<ErrorCode>>,
    /// What every pending write resolves to, when set (the ISR never caught up).
    replication_error: Mutex<Option<ErrorCode>>,
    leader: bool,
}

impl MemoryLog {
    fn leader() -> MemoryLog {
        MemoryLog {
            leader: true,
            ..Default::default()
        }
    }

    fn records(&self) -> usize {
        self.batches.lock().values().map(Vec::len).sum()
    }
}

impl CoordinatorLog for MemoryLog {
    fn is_leader(&self, topic: &str, _partition: i32) -> bool {
        topic == OFFSETS_TOPIC && self.leader
    }

    fn append(
        &self,
        _topic: &str,
        partition: i32,
        batch: &[u8],
        _timeout: Duration,
    ) -> Result<PendingWrite, ErrorCode> {
        if let Some(code) = *self.append_error.lock() {
            return Err(code);
        }
        let mut batches = self.batches.lock();
        let log = batches.entry(partition).or_default();
        let base = end_offset(log);
        // Rewrite the base offset (the first 8 bytes), as the log does.
        let mut stamped = BytesMut::with_capacity(batch.len());
        stamped.put_i64(base);
        stamped.extend_from_slice(&batch[8..]);
        log.push(stamped.freeze());
        let outcome = match *self.replication_error.lock() {
            Some(code) => Err(code),
            None => Ok(()),
        };
        Ok(Box::pin(std::future::ready(outcome)))
    }

    fn replay_range(&self, _topic: &str, partition: i32) -> Option<(i64, i64)> {
        let batches = self.batches.lock();
        let end = batches.get(&partition).map_or(0, |log| end_offset(log));
        Some((0, end))
    }

    fn read(
        &self,
        _topic: &str,
        partition: i32,
        offset: i64,
        _max: usize,
    ) -> Result<Bytes, String> {
        let batches = self.batches.lock();
        let mut out = BytesMut::new();
        for batch in batches.get(&partition).into_iter().flatten() {
            let header = rafka_protocol::batch::batches(batch)
                .next()
                .unwrap()
                .unwrap();
            if header.next_offset() > offset {
                out.extend_from_slice(batch);
            }
        }
        Ok(out.freeze())
    }
}

/// The offset after a partition's last batch.
fn end_offset(log: &[Bytes]) -> i64 {
    let next = |batch: &Bytes| {
        let header = rafka_protocol::batch::batches(batch).next();
        header.and_then(Result::ok).map_or(0, |h| h.next_offset())
    };
    log.iter().map(next).max().unwrap_or(0)
}

fn coordinator() -> GroupCoordinator {
    GroupCoordinator::new(
        GroupConfig::default(),
        ConsumerConfig::default(),
        OffsetsTopicConfig {
            partitions: 3,
            replication_factor: 1,
            segment_bytes: 1 << 20,
        },
        true,
        ManualClock::new(1_000),
    )
}

fn offset(offset: i64) -> CommittedOffset {
    CommittedOffset {
        offset,
        leader_epoch: 4,
        metadata: "m".into(),
        commit_timestamp_ms: 1_000,
    }
}

fn commit(
    coordinator: &GroupCoordinator,
    log: &MemoryLog,
    group_id: &str,
    offsets: Vec<((String, i32), CommittedOffset)>,
) -> Result<group::GroupWrite, ErrorCode> {
    let group = coordinator.group_or_create(group_id, 1_000);
    let mut group = group.lock();
    coordinator.commit_offsets(log, &mut group, offsets)
}

#[tokio::test]
async fn committed_offsets_come_back_from_a_replay_of_the_log() {
    let log = MemoryLog::leader();
    let first = coordinator();
    let write = commit(&first, &log, "g1", vec![(("t".into(), 0), offset(42))]);
    assert_eq!(group::completed(write).await, Ok(()));
    let write = commit(&first, &log, "g1", vec![(("t".into(), 0), offset(43))]);
    assert_eq!(group::completed(write).await, Ok(()));
    let write = commit(&first, &log, "other", vec![(("u".into(), 2), offset(7))]);
    assert_eq!(group::completed(write).await, Ok(()));
    assert_eq!(log.records(), 3);

    // A new coordinator (after a restart or a leader change) replays the partitions.
    let second = coordinator();
    second.load(&log, 2_000);
    let g1 = second.group("g1").expect("g1 replayed");
    assert_eq!(g1.lock().offsets[&("t".to_string(), 0)], offset(43));
    let other = second.group("other").expect("other replayed");
    assert_eq!(other.lock().offsets[&("u".to_string(), 2)], offset(7));
    assert!(second.group("never").is_none());
}

#[tokio::test]
async fn a_failed_append_answers_the_group_error_and_changes_nothing() {
    let log = MemoryLog::leader();
    let coordinator = coordinator();
    *log.append_error.lock() = Some(ErrorCode::NotLeaderOrFollower);
    let write = commit(&coordinator, &log, "g", vec![(("t".into(), 0), offset(1))]);
    assert_eq!(
        group::completed(write).await,
        Err(ErrorCode::NotCoordinator),
        "a lost leadership sends the client to look for the coordinator again"
    );
    let group = coordinator.group("g").unwrap();
    assert!(
        group.lock().offsets.is_empty(),
        "nothing cached that was not written"
    );
    assert_eq!(log.records(), 0);
}

#[tokio::test]
async fn an_unreplicated_write_is_not_acknowledged() {
    let log = MemoryLog::leader();
    let coordinator = coordinator();
    *log.replication_error.lock() = Some(ErrorCode::RequestTimedOut);
    let write = commit(&coordinator, &log, "g", vec![(("t".into(), 0), offset(1))]);
    assert_eq!(
        group::completed(write).await,
        Err(ErrorCode::CoordinatorNotAvailable)
    );
    *log.replication_error.lock() = Some(ErrorCode::NotLeaderOrFollower);
    let write = commit(&coordinator, &log, "g", vec![(("t".into(), 0), offset(2))]);
    assert_eq!(
        group::completed(write).await,
        Err(ErrorCode::NotCoordinator)
    );
}

#[test]
fn only_the_leader_of_the_groups_partition_coordinates_it() {
    let coordinator = coordinator();
    assert_eq!(
        coordinator.check_coordinator(&MemoryLog::leader(), "g"),
        Ok(())
    );
    assert_eq!(
        coordinator.check_coordinator(&MemoryLog::default(), "g"),
        Err(ErrorCode::NotCoordinator)
    );
}
