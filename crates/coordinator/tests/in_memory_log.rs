//! The group coordinator over an in-memory `CoordinatorLog`: no sockets, no broker. Its
//! writes are what a replay reads back, and a write that fails or is not replicated
//! answers the group API's error instead of acknowledging the change.

mod common;

use std::time::Duration;

use common::MemoryLog;
use rafka_coordinator::group::{
    self, CommittedOffset, GroupCoordinator, TxnProducer, OFFSETS_TOPIC,
};
use rafka_coordinator::CoordinatorLog;
use rafka_protocol::batch::{batches, EndTxnMarker};
use rafka_protocol::ErrorCode;

fn coordinator() -> GroupCoordinator {
    common::group_coordinator()
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

fn txn_commit(
    coordinator: &GroupCoordinator,
    log: &MemoryLog,
    group_id: &str,
    producer_id: i64,
    offsets: Vec<((String, i32), CommittedOffset)>,
) -> Result<group::GroupWrite, ErrorCode> {
    let group = coordinator.group_or_create(group_id, 1_000);
    let mut group = group.lock();
    let producer = TxnProducer {
        producer_id,
        producer_epoch: 3,
    };
    coordinator.txn_commit_offsets(log, &mut group, producer, offsets)
}

/// Writes the marker ending `producer_id`'s transaction to `group_id`'s partition, then
/// tells the coordinator, as WriteTxnMarkers does once the marker is replicated.
fn end_transaction(
    coordinator: &GroupCoordinator,
    log: &MemoryLog,
    group_id: &str,
    producer_id: i64,
    commit: bool,
) -> usize {
    let partition = coordinator.partition_for(group_id);
    let marker = EndTxnMarker {
        commit,
        coordinator_epoch: 0,
    }
    .batch(producer_id, 3, 1_000);
    drop(
        log.append(OFFSETS_TOPIC, partition, &marker, Duration::from_secs(1))
            .expect("marker appended"),
    );
    coordinator.complete_transaction(partition, producer_id, commit)
}

fn committed(
    coordinator: &GroupCoordinator,
    group_id: &str,
    topic: &str,
    partition: i32,
) -> Option<i64> {
    let group = coordinator.group(group_id)?;
    let group = group.lock();
    group
        .offsets
        .get(&(topic.to_string(), partition))
        .map(|o| o.offset)
}

fn pending(coordinator: &GroupCoordinator, group_id: &str, topic: &str, partition: i32) -> bool {
    coordinator.group(group_id).is_some_and(|g| {
        g.lock()
            .pending_offsets
            .contains(&(topic.to_string(), partition))
    })
}

#[tokio::test]
async fn a_transactional_commit_is_one_transactional_batch_of_the_producer() {
    let log = MemoryLog::leader();
    let coordinator = coordinator();
    let write = txn_commit(
        &coordinator,
        &log,
        "g",
        77,
        vec![(("t".into(), 0), offset(5)), (("t".into(), 1), offset(6))],
    );
    assert_eq!(group::completed(write).await, Ok(()));
    let partition = coordinator.partition_for("g");
    let data = log.read(OFFSETS_TOPIC, partition, 0, usize::MAX).unwrap();
    let written: Vec<_> = batches(&data).map(Result::unwrap).collect();
    assert_eq!(written.len(), 1, "both offsets in one batch");
    let batch = &written[0];
    assert!(batch.is_transactional() && !batch.is_control());
    assert_eq!((batch.producer_id(), batch.producer_epoch()), (77, 3));
    assert_eq!(batch.base_sequence(), 0, "as Kafka's coordinator writes it");
    assert_eq!(batch.records_count(), 2);
}

#[tokio::test]
async fn pending_offsets_count_only_once_their_transaction_commits() {
    let log = MemoryLog::leader();
    let coordinator = coordinator();
    let write = commit(&coordinator, &log, "g", vec![(("t".into(), 0), offset(1))]);
    assert_eq!(group::completed(write).await, Ok(()));
    let write = txn_commit(
        &coordinator,
        &log,
        "g",
        77,
        vec![(("t".into(), 0), offset(5))],
    );
    assert_eq!(group::completed(write).await, Ok(()));
    assert_eq!(
        committed(&coordinator, "g", "t", 0),
        Some(1),
        "pending, not committed"
    );
    assert!(pending(&coordinator, "g", "t", 0));

    // A marker for another producer, or this producer's marker in another partition,
    // commits nothing here.
    assert_eq!(end_transaction(&coordinator, &log, "g", 78, true), 0);
    let other_partition = (coordinator.partition_for("g") + 1) % 3;
    assert_eq!(
        coordinator.complete_transaction(other_partition, 77, true),
        0
    );
    assert!(pending(&coordinator, "g", "t", 0));

    assert_eq!(end_transaction(&coordinator, &log, "g", 77, true), 1);
    assert_eq!(committed(&coordinator, "g", "t", 0), Some(5));
    assert!(!pending(&coordinator, "g", "t", 0));
}

#[tokio::test]
async fn an_aborted_transaction_leaves_the_committed_offset() {
    let log = MemoryLog::leader();
    let coordinator = coordinator();
    let write = commit(&coordinator, &log, "g", vec![(("t".into(), 0), offset(1))]);
    assert_eq!(group::completed(write).await, Ok(()));
    let write = txn_commit(
        &coordinator,
        &log,
        "g",
        77,
        vec![(("t".into(), 0), offset(5))],
    );
    assert_eq!(group::completed(write).await, Ok(()));
    assert_eq!(end_transaction(&coordinator, &log, "g", 77, false), 0);
    assert_eq!(committed(&coordinator, "g", "t", 0), Some(1));
    assert!(!pending(&coordinator, "g", "t", 0));
}

#[tokio::test]
async fn a_replay_ends_transactions_at_their_markers() {
    let log = MemoryLog::leader();
    let first = coordinator();
    // "g": committed 1, then a committed transaction (5), then an aborted one (9).
    let write = commit(&first, &log, "g", vec![(("t".into(), 0), offset(1))]);
    assert_eq!(group::completed(write).await, Ok(()));
    let write = txn_commit(&first, &log, "g", 77, vec![(("t".into(), 0), offset(5))]);
    assert_eq!(group::completed(write).await, Ok(()));
    end_transaction(&first, &log, "g", 77, true);
    let write = txn_commit(&first, &log, "g", 77, vec![(("t".into(), 0), offset(9))]);
    assert_eq!(group::completed(write).await, Ok(()));
    end_transaction(&first, &log, "g", 77, false);
    // "h": a transaction still open, and a plain commit written after a transactional
    // one that commits later (the plain one stays: it is later in the log).
    let write = txn_commit(&first, &log, "h", 88, vec![(("t".into(), 0), offset(30))]);
    assert_eq!(group::completed(write).await, Ok(()));
    let write = txn_commit(&first, &log, "h", 99, vec![(("t".into(), 1), offset(40))]);
    assert_eq!(group::completed(write).await, Ok(()));
    let write = commit(&first, &log, "h", vec![(("t".into(), 1), offset(41))]);
    assert_eq!(group::completed(write).await, Ok(()));
    end_transaction(&first, &log, "h", 99, true);
    assert_eq!(committed(&first, "h", "t", 1), Some(41));

    let second = coordinator();
    second.load(&log, 2_000);
    assert_eq!(committed(&second, "g", "t", 0), Some(5));
    assert!(!pending(&second, "g", "t", 0));
    assert_eq!(committed(&second, "h", "t", 0), None);
    assert!(pending(&second, "h", "t", 0), "producer 88 has not ended");
    assert_eq!(committed(&second, "h", "t", 1), Some(41));
    assert!(!pending(&second, "h", "t", 1));
    // The open transaction ends after the replay as it would have before.
    assert_eq!(end_transaction(&second, &log, "h", 88, true), 1);
    assert_eq!(committed(&second, "h", "t", 0), Some(30));
}

#[tokio::test]
async fn deleting_a_group_writes_tombstones_for_its_pending_offsets_too() {
    let log = MemoryLog::leader();
    let first = coordinator();
    let write = txn_commit(&first, &log, "g", 77, vec![(("t".into(), 0), offset(5))]);
    assert_eq!(group::completed(write).await, Ok(()));
    let write = {
        let group = first.group("g").unwrap();
        let mut group = group.lock();
        first.delete_group(&log, &mut group, 1_500)
    };
    assert_eq!(group::completed(write).await, Ok(()));
    assert!(first.group("g").is_none());
    // The transaction commits after the deletion: the offset does not come back, not
    // here and not in a replay.
    assert_eq!(end_transaction(&first, &log, "g", 77, true), 0);
    assert!(first.group("g").is_none());
    let second = coordinator();
    second.load(&log, 2_000);
    assert_eq!(committed(&second, "g", "t", 0), None);
    assert!(!pending(&second, "g", "t", 0));
}
