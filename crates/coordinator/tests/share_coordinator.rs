//! The share coordinator over an in-memory `__share_group_state`: initialize, read, write
//! and delete share-partition state, fencing by leader and state epoch, snapshots every
//! `share.coordinator.snapshot.update.records.per.snapshot` updates, and a replay that
//! gives back exactly what was written.

mod common;

use common::MemoryLog;
use rafka_config::share_coordinator::ShareCoordinatorConfig;
use rafka_coordinator::share_state::coordinator::{
    ShareCoordinator, ShareStateEnv, StateRead, StateSummary, StateWrite, SHARE_GROUP_STATE_TOPIC,
};
use rafka_coordinator::share_state::records::{
    self, StateBatch, StateKey, StateRecord, DELIVERY_STATE_ACKNOWLEDGED, DELIVERY_STATE_ARCHIVED,
    DELIVERY_STATE_AVAILABLE, SNAPSHOT_RECORD_TYPE, UPDATE_RECORD_TYPE,
};
use rafka_coordinator::CoordinatorLog;
use rafka_protocol::ErrorCode;
use rafka_types::ManualClock;

const TOPIC_ID: uuid::Uuid = uuid::Uuid::from_u128(0xabcd);

/// The state topic's leader epoch here.
const EPOCH: i32 = 3;

/// The in-memory log as the share coordinator's broker: it leads `__share_group_state`
/// (unless made with `MemoryLog::default()`), and the cluster has TOPIC_ID with two
/// partitions.
impl ShareStateEnv for MemoryLog {
    fn leader_epoch(&self, topic: &str, partition: i32) -> Option<i32> {
        self.is_leader(topic, partition).then_some(EPOCH)
    }

    fn has_partition(&self, topic_id: uuid::Uuid, partition: i32) -> bool {
        topic_id == TOPIC_ID && (0..2).contains(&partition)
    }

    fn log_end_offset(&self, _topic: &str, partition: i32) -> Option<i64> {
        Some(common::end_offset(
            self.batches.lock().get(&partition).map_or(&[][..], |b| b),
        ))
    }

    /// Drops the batches wholly below `offset` (the log start stays 0 in `replay_range`,
    /// which is harmless: reads find nothing below).
    fn delete_records_before(
        &self,
        _topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<(), ErrorCode> {
        if let Some(log) = self.batches.lock().get_mut(&partition) {
            log.retain(|batch| common::end_offset(std::slice::from_ref(batch)) > offset);
        }
        Ok(())
    }
}

fn new_env() -> MemoryLog {
    MemoryLog::leading(SHARE_GROUP_STATE_TOPIC)
}

/// Every record appended so far, decoded, in order.
fn records(log: &MemoryLog) -> Vec<StateRecord> {
    let mut out = Vec::new();
    let batches = log.batches.lock();
    let mut partitions: Vec<_> = batches.keys().copied().collect();
    partitions.sort();
    for p in partitions {
        for batch in &batches[&p] {
            for b in rafka_protocol::batch::batches(batch) {
                for r in b.unwrap().decode_records().unwrap() {
                    let key = r.key.unwrap();
                    out.push(records::decode_record(&key, r.value.as_deref()).unwrap());
                }
            }
        }
    }
    out
}

fn coordinator(updates_per_snapshot: i32) -> ShareCoordinator {
    let config = ShareCoordinatorConfig {
        partitions: 3,
        snapshot_update_records_per_snapshot: updates_per_snapshot,
        ..Default::default()
    };
    ShareCoordinator::new(config, ManualClock::new(1_000))
}

fn key(partition: i32) -> StateKey {
    StateKey::new("g", TOPIC_ID, partition)
}

fn b(first: i64, last: i64, state: i8, count: i16) -> StateBatch {
    StateBatch::new(first, last, state, count)
}

fn write(leader_epoch: i32, start_offset: i64, batches: Vec<StateBatch>) -> StateWrite {
    StateWrite {
        state_epoch: 0,
        leader_epoch,
        start_offset,
        state_batches: batches,
    }
}

#[tokio::test]
async fn written_state_reads_back_merged_and_survives_a_replay() {
    let env = new_env();
    let sc = coordinator(500);
    sc.initialize(&env, &key(0), 0, 10).await.unwrap();
    assert_eq!(
        sc.read(&env, &key(0), 1).await.unwrap(),
        StateRead {
            state_epoch: 0,
            start_offset: 10,
            state_batches: vec![]
        }
    );
    // Records 10..=19 delivered once; 10..=14 accepted, 15 rejected: the start moves on.
    sc.write(
        &env,
        &key(0),
        &write(1, 10, vec![b(10, 19, DELIVERY_STATE_AVAILABLE, 1)]),
    )
    .await
    .unwrap();
    sc.write(
        &env,
        &key(0),
        &write(
            1,
            16,
            vec![
                b(10, 14, DELIVERY_STATE_ACKNOWLEDGED, 1),
                b(15, 15, DELIVERY_STATE_ARCHIVED, 1),
            ],
        ),
    )
    .await
    .unwrap();
    let expected = StateRead {
        state_epoch: 0,
        start_offset: 16,
        state_batches: vec![b(16, 19, DELIVERY_STATE_AVAILABLE, 1)],
    };
    assert_eq!(sc.read(&env, &key(0), 1).await.unwrap(), expected);
    assert_eq!(
        sc.read_summary(&env, &key(0)).unwrap(),
        StateSummary {
            state_epoch: 0,
            leader_epoch: 1,
            start_offset: 16
        }
    );
    // The log holds Kafka's records: the initializing snapshot, the leader epoch the
    // first read recorded, then the two updates.
    let kinds: Vec<&str> = records(&env)
        .iter()
        .map(|r| match r {
            StateRecord::Snapshot(..) => "snapshot",
            StateRecord::Update(..) => "update",
        })
        .collect();
    assert_eq!(kinds, ["snapshot", "update", "update", "update"]);
    // A new coordinator (another broker took the partition over) replays the same.
    let other = coordinator(500);
    assert_eq!(other.read(&env, &key(0), 1).await.unwrap(), expected);
    // Another partition of the same group is its own share-partition.
    let err = other.read(&env, &key(1), 1).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidRequest);
    assert_eq!(
        err.message,
        "Read operation on uninitialized share partition not allowed."
    );
}

#[tokio::test]
async fn an_older_leader_is_fenced_and_a_newer_one_is_recorded_by_its_read() {
    let env = new_env();
    let sc = coordinator(500);
    sc.initialize(&env, &key(0), 0, 0).await.unwrap();
    sc.write(
        &env,
        &key(0),
        &write(5, 0, vec![b(0, 3, DELIVERY_STATE_AVAILABLE, 1)]),
    )
    .await
    .unwrap();
    let stale = sc
        .write(
            &env,
            &key(0),
            &write(4, 4, vec![b(0, 3, DELIVERY_STATE_ACKNOWLEDGED, 1)]),
        )
        .await
        .unwrap_err();
    assert_eq!(stale.code, ErrorCode::FencedLeaderEpoch);
    assert_eq!(
        stale.message,
        "The leader epoch in the request is older than the epoch on the broker."
    );
    assert_eq!(
        sc.read(&env, &key(0), 4).await.unwrap_err().code,
        ErrorCode::FencedLeaderEpoch
    );
    // Nothing the stale writer sent was kept.
    assert_eq!(sc.read_summary(&env, &key(0)).unwrap().start_offset, 0);
    // A new leader reads at epoch 6: from then on epoch 5 is stale too.
    let before = records(&env).len();
    sc.read(&env, &key(0), 6).await.unwrap();
    assert_eq!(records(&env).len(), before + 1, "the read wrote epoch 6");
    assert_eq!(
        sc.write(&env, &key(0), &write(5, 4, vec![]))
            .await
            .unwrap_err()
            .code,
        ErrorCode::FencedLeaderEpoch
    );
    // And so after a replay.
    let other = coordinator(500);
    assert_eq!(
        other
            .write(&env, &key(0), &write(5, 4, vec![]))
            .await
            .unwrap_err()
            .code,
        ErrorCode::FencedLeaderEpoch
    );
    other
        .write(&env, &key(0), &write(6, 4, vec![]))
        .await
        .unwrap();
}

#[tokio::test]
async fn state_epochs_fence_writes_and_initializations() {
    let env = new_env();
    let sc = coordinator(500);
    sc.initialize(&env, &key(0), 2, 0).await.unwrap();
    let mut old = write(1, 5, vec![]);
    old.state_epoch = 1;
    let err = sc.write(&env, &key(0), &old).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::FencedStateEpoch);
    assert_eq!(
        sc.initialize(&env, &key(0), 1, 0).await.unwrap_err().code,
        ErrorCode::FencedStateEpoch
    );
    // A newer state epoch starts over (what an offsets reset does).
    sc.initialize(&env, &key(0), 3, 42).await.unwrap();
    assert_eq!(
        sc.read(&env, &key(0), 0).await.unwrap(),
        StateRead {
            state_epoch: 3,
            start_offset: 42,
            state_batches: vec![]
        }
    );
}

#[tokio::test]
async fn every_nth_update_is_a_snapshot_of_the_whole_state() {
    let env = new_env();
    let sc = coordinator(2);
    sc.initialize(&env, &key(0), 0, 0).await.unwrap();
    for i in 0..6 {
        sc.write(
            &env,
            &key(0),
            &write(
                1,
                i,
                vec![
                    b(i, i, DELIVERY_STATE_ACKNOWLEDGED, 1),
                    b(i + 1, i + 1, DELIVERY_STATE_AVAILABLE, 1),
                ],
            ),
        )
        .await
        .unwrap();
    }
    let types: Vec<i16> = records(&env)
        .iter()
        .map(|r| match r {
            StateRecord::Snapshot(..) => SNAPSHOT_RECORD_TYPE,
            StateRecord::Update(..) => UPDATE_RECORD_TYPE,
        })
        .collect();
    // Kafka's count: the first update counts 0, a snapshot follows the third.
    assert_eq!(types, [0, 1, 1, 1, 0, 1, 1]);
    let Some(StateRecord::Snapshot(_, Some(snapshot))) = records(&env).get(4).cloned() else {
        panic!("a snapshot");
    };
    assert_eq!(snapshot.snapshot_epoch, 1);
    assert_eq!(snapshot.start_offset, 3);
    assert_eq!(
        snapshot.state_batches,
        vec![
            b(3, 3, DELIVERY_STATE_ACKNOWLEDGED, 1),
            b(4, 4, DELIVERY_STATE_AVAILABLE, 1)
        ]
    );
    let expected = sc.read(&env, &key(0), 1).await.unwrap();
    assert_eq!(expected.start_offset, 5);
    assert_eq!(
        coordinator(2).read(&env, &key(0), 1).await.unwrap(),
        expected
    );
}

#[tokio::test]
async fn delete_writes_a_tombstone_and_the_state_is_gone_after_a_replay() {
    let env = new_env();
    let sc = coordinator(500);
    // Deleting what has no state is fine, and writes nothing.
    sc.delete(&env, &key(0)).await.unwrap();
    assert!(records(&env).is_empty());
    sc.initialize(&env, &key(0), 0, 7).await.unwrap();
    sc.delete(&env, &key(0)).await.unwrap();
    assert_eq!(
        records(&env).last(),
        Some(&StateRecord::Snapshot(key(0), None))
    );
    for sc in [sc, coordinator(500)] {
        assert_eq!(
            sc.read_summary(&env, &key(0)).unwrap(),
            StateSummary {
                state_epoch: 0,
                leader_epoch: 0,
                start_offset: -1
            }
        );
        assert_eq!(
            sc.write(&env, &key(0), &write(1, 8, vec![]))
                .await
                .unwrap_err()
                .message,
            "Write operation on uninitialized share partition not allowed."
        );
    }
}

#[tokio::test]
async fn bad_requests_and_lost_leadership_get_kafkas_errors() {
    let env = new_env();
    let sc = coordinator(500);
    let unknown_topic = StateKey::new("g", uuid::Uuid::from_u128(9), 0);
    assert_eq!(
        sc.initialize(&env, &unknown_topic, 0, 0)
            .await
            .unwrap_err()
            .code,
        ErrorCode::UnknownTopicOrPartition
    );
    let negative = sc.initialize(&env, &key(-1), 0, 0).await.unwrap_err();
    assert_eq!(
        (negative.code, negative.message.as_str()),
        (
            ErrorCode::InvalidRequest,
            "The partition id cannot be a negative number."
        )
    );
    // The ISR does not take the record: COORDINATOR_NOT_AVAILABLE, and memory forgets it.
    *env.replication_error.lock() = Some(ErrorCode::NotEnoughReplicas);
    let err = sc.initialize(&env, &key(0), 0, 0).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::CoordinatorNotAvailable);
    assert!(
        err.message
            .starts_with("Unable to initialize share group state: "),
        "{err:?}"
    );
    let elsewhere = MemoryLog::default();
    let err = sc.read(&elsewhere, &key(0), 0).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotCoordinator);
    assert_eq!(
        err.message,
        "Unable to read share group state: This is not the correct coordinator."
    );
}

#[tokio::test]
async fn pruning_deletes_what_later_snapshots_made_redundant_and_keeps_the_state() {
    let env = new_env();
    let sc = coordinator(1);
    // One update per snapshot: the log fills with records later snapshots supersede.
    sc.initialize(&env, &key(0), 0, 0).await.unwrap();
    for i in 0..10 {
        sc.write(
            &env,
            &key(0),
            &write(1, i, vec![b(i, i + 2, DELIVERY_STATE_AVAILABLE, 1)]),
        )
        .await
        .unwrap();
    }
    let expected = sc.read(&env, &key(0), 1).await.unwrap();
    let before = records(&env).len();
    sc.prune(&env).await;
    let after = records(&env);
    assert!(
        after.len() < before,
        "{} records, {before} before",
        after.len()
    );
    // What is left starts with the latest snapshot: a replay gives the same state.
    assert!(
        matches!(after[0], StateRecord::Snapshot(_, Some(_))),
        "{:?}",
        after[0]
    );
    assert_eq!(
        coordinator(1).read(&env, &key(0), 1).await.unwrap(),
        expected
    );
}
