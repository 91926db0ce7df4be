//! The transaction coordinator over an in-memory `__transaction_state` and a recorder of
//! the markers it sends: its state machine, fencing, timeouts and replay, with no broker.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::MemoryLog;
use parking_lot::Mutex;
use rafka_config::transaction::TransactionConfig;
use rafka_coordinator::txn::coordinator::{
    MarkerFuture, TopicPartition, TransactionCoordinator, TxnEnv, TRANSACTION_STATE_TOPIC,
};
use rafka_coordinator::txn::records::TxnState;
use rafka_coordinator::{CoordinatorLog, PendingWrite};
use rafka_protocol::ErrorCode;
use rafka_types::ManualClock;

/// A marker the coordinator asked for: (producer id, epoch, commit, coordinator epoch,
/// partitions).
type Sent = (i64, i16, bool, i32, Vec<TopicPartition>);

/// `__transaction_state` in memory, led here at `epoch`.
struct Env {
    log: MemoryLog,
    leading: Mutex<bool>,
    epoch: Mutex<i32>,
    sent: Mutex<Vec<Sent>>,
    /// What a marker write answers for every partition (None: written).
    marker_error: Mutex<Option<ErrorCode>>,
}

impl Env {
    fn new() -> Arc<Env> {
        Arc::new(Env {
            log: MemoryLog::leading(TRANSACTION_STATE_TOPIC),
            leading: Mutex::new(true),
            epoch: Mutex::new(7),
            sent: Mutex::new(Vec::new()),
            marker_error: Mutex::new(None),
        })
    }
}

impl CoordinatorLog for Env {
    fn is_leader(&self, topic: &str, partition: i32) -> bool {
        *self.leading.lock() && self.log.is_leader(topic, partition)
    }

    fn append(
        &self,
        topic: &str,
        partition: i32,
        batch: &[u8],
        timeout: Duration,
    ) -> Result<PendingWrite, ErrorCode> {
        self.log.append(topic, partition, batch, timeout)
    }

    fn replay_range(&self, topic: &str, partition: i32) -> Option<(i64, i64)> {
        self.log.replay_range(topic, partition)
    }

    fn read(&self, topic: &str, partition: i32, offset: i64, max: usize) -> Result<Bytes, String> {
        self.log.read(topic, partition, offset, max)
    }
}

impl TxnEnv for Env {
    fn leader_epoch(&self, topic: &str, partition: i32) -> Option<i32> {
        self.is_leader(topic, partition).then(|| *self.epoch.lock())
    }

    fn write_markers(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
        partitions: Vec<TopicPartition>,
    ) -> MarkerFuture {
        self.sent.lock().push((
            producer_id,
            producer_epoch,
            commit,
            coordinator_epoch,
            partitions.clone(),
        ));
        let outcome = match *self.marker_error.lock() {
            Some(code) => Err(code),
            None => Ok(()),
        };
        Box::pin(std::future::ready(
            partitions.into_iter().map(|p| (p, outcome)).collect(),
        ))
    }
}

const T0: i64 = 1_700_000_000_000;

fn setup() -> (
    Arc<TransactionCoordinator>,
    Arc<Env>,
    Arc<dyn TxnEnv>,
    Arc<ManualClock>,
) {
    let clock = ManualClock::new(T0);
    let env = Env::new();
    let dyn_env: Arc<dyn TxnEnv> = env.clone();
    (coordinator(&clock), env, dyn_env, clock)
}

/// A coordinator of five `__transaction_state` partitions, with nothing loaded.
fn coordinator(clock: &Arc<ManualClock>) -> Arc<TransactionCoordinator> {
    let config = TransactionConfig {
        partitions: 5,
        ..TransactionConfig::default()
    };
    Arc::new(TransactionCoordinator::new(config, clock.clone()))
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    (topic.to_string(), partition)
}

/// Lets the spawned marker task run until `id` reaches `state` (no sleeping: the task
/// only needs turns of the runtime).
async fn settle(
    coordinator: &Arc<TransactionCoordinator>,
    env: &Arc<dyn TxnEnv>,
    id: &str,
    state: TxnState,
) {
    for _ in 0..10_000 {
        if coordinator.describe(env, id).map(|t| t.state) == Ok(state) {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!(
        "{id} never reached {state:?}: {:?}",
        coordinator.describe(env, id)
    );
}

#[tokio::test]
async fn init_bumps_the_epoch_and_refuses_stale_producers() {
    let (txns, _, env, _) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 100)
        .await
        .unwrap();
    assert_eq!((pid, epoch), (100, 0));
    // KIP-360: a producer naming its current id and epoch gets the next epoch.
    assert_eq!(
        txns.init_producer_id(&env, "t", 60_000, Some((100, 0)), 101)
            .await,
        Ok((100, 1))
    );
    // The same request retried (its answer was lost): the same answer, no second bump.
    assert_eq!(
        txns.init_producer_id(&env, "t", 60_000, Some((100, 0)), 102)
            .await,
        Ok((100, 1))
    );
    assert_eq!(
        txns.init_producer_id(&env, "t", 60_000, Some((999, 1)), 103)
            .await,
        Err(ErrorCode::ProducerFenced)
    );
    assert_eq!(
        txns.init_producer_id(&env, "t", 0, None, 104).await,
        Err(ErrorCode::InvalidTransactionTimeout)
    );
    assert_eq!(
        txns.init_producer_id(&env, "t", 900_001, None, 104).await,
        Err(ErrorCode::InvalidTransactionTimeout)
    );
}

#[tokio::test]
async fn a_commit_sends_markers_to_every_partition_then_completes() {
    let (txns, recorder, env, _) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 7)
        .await
        .unwrap();
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true).await,
        Err(ErrorCode::InvalidTxnState)
    );
    let partitions = [tp("out", 0), tp("out", 1), tp("__consumer_offsets", 3)];
    txns.add_partitions(&env, "t", pid, epoch, &partitions[..2])
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &partitions[2..])
        .await
        .unwrap();
    let ongoing = txns.describe(&env, "t").unwrap();
    assert_eq!(ongoing.state, TxnState::Ongoing);
    assert_eq!(ongoing.partitions.len(), 3);
    assert_eq!(ongoing.start_ms, T0);
    assert_eq!(
        txns.add_partitions(&env, "t", pid, epoch + 1, &partitions[..1])
            .await,
        Err(ErrorCode::ProducerFenced)
    );
    assert_eq!(
        txns.add_partitions(&env, "t", pid + 1, epoch, &partitions[..1])
            .await,
        Err(ErrorCode::InvalidProducerIdMapping)
    );
    txns.end_txn(&env, "t", pid, epoch, true).await.unwrap();
    settle(&txns, &env, "t", TxnState::CompleteCommit).await;
    let sent = recorder.sent.lock().clone();
    assert_eq!(sent.len(), 1);
    let (spid, sepoch, commit, coordinator_epoch, mut to) = sent[0].clone();
    to.sort();
    assert_eq!(
        (spid, sepoch, commit, coordinator_epoch),
        (pid, epoch, true, 7)
    );
    let mut want = partitions.to_vec();
    want.sort();
    assert_eq!(to, want);
    // A retried EndTxn is answered again; the opposite outcome is refused.
    assert_eq!(txns.end_txn(&env, "t", pid, epoch, true).await, Ok(()));
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, false).await,
        Err(ErrorCode::InvalidTxnState)
    );
    assert!(txns.describe(&env, "t").unwrap().partitions.is_empty());
}

#[tokio::test]
async fn markers_are_retried_until_written_and_zombie_answers_stop_them() {
    let (txns, recorder, env, _) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 7)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)])
        .await
        .unwrap();
    *recorder.marker_error.lock() = Some(ErrorCode::NotLeaderOrFollower);
    txns.end_txn(&env, "t", pid, epoch, false).await.unwrap();
    // Still preparing: another EndTxn waits, InitProducerId too.
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, false).await,
        Err(ErrorCode::ConcurrentTransactions)
    );
    assert_eq!(
        txns.init_producer_id(&env, "t", 60_000, None, 8).await,
        Err(ErrorCode::ConcurrentTransactions)
    );
    for _ in 0..10_000 {
        if !recorder.sent.lock().is_empty() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(recorder.sent.lock().len(), 1, "a first round, refused");
    *recorder.marker_error.lock() = None;
    // Retried after a backoff: let the runtime's clock run.
    tokio::time::pause();
    for _ in 0..100 {
        if txns.describe(&env, "t").unwrap().state == TxnState::CompleteAbort {
            break;
        }
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    assert_eq!(
        txns.describe(&env, "t").unwrap().state,
        TxnState::CompleteAbort
    );
    assert!(
        recorder.sent.lock().len() >= 2,
        "the first round failed and was retried"
    );

    // A newer coordinator or producer answers: the markers stop, nothing completes.
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)])
        .await
        .unwrap();
    *recorder.marker_error.lock() = Some(ErrorCode::TransactionCoordinatorFenced);
    txns.end_txn(&env, "t", pid, epoch, true).await.unwrap();
    for _ in 0..1000 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        txns.describe(&env, "t").unwrap().state,
        TxnState::PrepareCommit
    );
}

#[tokio::test]
async fn every_request_waits_while_the_markers_of_a_prepared_transaction_are_written() {
    let (txns, recorder, env, _) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 7)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)])
        .await
        .unwrap();
    *recorder.marker_error.lock() = Some(ErrorCode::NotLeaderOrFollower);
    txns.end_txn(&env, "t", pid, epoch, false).await.unwrap();
    // As Kafka (its completion is pending from PrepareAbort on): not INVALID_TXN_STATE
    // for the opposite outcome, not PRODUCER_FENCED for another producer id.
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true).await,
        Err(ErrorCode::ConcurrentTransactions)
    );
    assert_eq!(
        txns.init_producer_id(&env, "t", 60_000, Some((pid + 1, epoch)), 8)
            .await,
        Err(ErrorCode::ConcurrentTransactions)
    );
    assert_eq!(
        txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 1)])
            .await,
        Err(ErrorCode::ConcurrentTransactions)
    );
    // The producer's own checks still come first.
    assert_eq!(
        txns.end_txn(&env, "t", pid + 1, epoch, true).await,
        Err(ErrorCode::InvalidProducerIdMapping)
    );
    *recorder.marker_error.lock() = None;
    tokio::time::pause();
    for _ in 0..100 {
        if txns.describe(&env, "t").unwrap().state == TxnState::CompleteAbort {
            break;
        }
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    assert_eq!(
        txns.describe(&env, "t").unwrap().state,
        TxnState::CompleteAbort
    );
    // Complete: the opposite outcome is now an invalid transition.
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true).await,
        Err(ErrorCode::InvalidTxnState)
    );
    assert_eq!(txns.end_txn(&env, "t", pid, epoch, false).await, Ok(()));
}

#[tokio::test]
async fn a_new_incarnation_fences_the_open_transaction_by_aborting_it() {
    let (txns, recorder, env, _) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 7)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 2)])
        .await
        .unwrap();
    assert_eq!(
        txns.init_producer_id(&env, "t", 60_000, None, 8).await,
        Err(ErrorCode::ConcurrentTransactions),
        "the new producer retries while the zombie's transaction aborts"
    );
    settle(&txns, &env, "t", TxnState::CompleteAbort).await;
    let (_, fenced_epoch, commit, _, _) = recorder.sent.lock()[0].clone();
    assert_eq!(
        (fenced_epoch, commit),
        (epoch + 1, false),
        "aborted at the next epoch"
    );
    assert_eq!(
        txns.init_producer_id(&env, "t", 60_000, None, 8).await,
        Ok((pid, epoch + 2))
    );
    // The zombie can do nothing more.
    assert_eq!(
        txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 2)])
            .await,
        Err(ErrorCode::ProducerFenced)
    );
}

#[tokio::test]
async fn transactions_older_than_their_timeout_are_aborted() {
    let (txns, recorder, env, clock) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 1_000, None, 7)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)])
        .await
        .unwrap();
    clock.advance_ms(1_000);
    txns.abort_timed_out(&env).await;
    assert_eq!(
        txns.describe(&env, "t").unwrap().state,
        TxnState::Ongoing,
        "not yet"
    );
    clock.advance_ms(1);
    txns.abort_timed_out(&env).await;
    settle(&txns, &env, "t", TxnState::CompleteAbort).await;
    assert_eq!(recorder.sent.lock()[0].1, epoch + 1);
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true).await,
        Err(ErrorCode::ProducerFenced)
    );
}

#[tokio::test]
async fn a_new_coordinator_replays_the_log_and_finishes_prepared_transactions() {
    let (txns, recorder, env, clock) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "done", 60_000, None, 7)
        .await
        .unwrap();
    txns.add_partitions(&env, "done", pid, epoch, &[tp("a", 0)])
        .await
        .unwrap();
    txns.end_txn(&env, "done", pid, epoch, true).await.unwrap();
    settle(&txns, &env, "done", TxnState::CompleteCommit).await;
    let (open_pid, open_epoch) = txns
        .init_producer_id(&env, "open", 60_000, None, 8)
        .await
        .unwrap();
    txns.add_partitions(&env, "open", open_pid, open_epoch, &[tp("b", 1)])
        .await
        .unwrap();
    let (p_pid, p_epoch) = txns
        .init_producer_id(&env, "prepared", 60_000, None, 9)
        .await
        .unwrap();
    txns.add_partitions(&env, "prepared", p_pid, p_epoch, &[tp("c", 2)])
        .await
        .unwrap();
    *recorder.marker_error.lock() = Some(ErrorCode::TransactionCoordinatorFenced);
    txns.end_txn(&env, "prepared", p_pid, p_epoch, false)
        .await
        .unwrap();
    for _ in 0..1000 {
        tokio::task::yield_now().await;
    }

    // Another broker takes over the partitions at a newer leader epoch, from the same log.
    *recorder.marker_error.lock() = None;
    *recorder.epoch.lock() = 8;
    let successor = coordinator(&clock);
    successor.follow_leaderships(&env);
    assert_eq!(
        successor.describe(&env, "done").unwrap().state,
        TxnState::CompleteCommit
    );
    let open = successor.describe(&env, "open").unwrap();
    assert_eq!(
        (open.state, open.producer_id, open.producer_epoch),
        (TxnState::Ongoing, open_pid, open_epoch)
    );
    assert!(open.partitions.contains(&tp("b", 1)));
    settle(&successor, &env, "prepared", TxnState::CompleteAbort).await;
    let last = recorder.sent.lock().last().cloned().unwrap();
    assert_eq!(
        (last.0, last.2, last.3),
        (p_pid, false, 8),
        "sent again at the new coordinator epoch"
    );

    // Leadership lost: the coordinator answers NOT_COORDINATOR.
    *recorder.leading.lock() = false;
    assert_eq!(
        successor.describe(&env, "done").unwrap_err(),
        ErrorCode::NotCoordinator
    );
    assert_eq!(
        successor
            .init_producer_id(&env, "done", 60_000, None, 10)
            .await,
        Err(ErrorCode::NotCoordinator)
    );
}

#[tokio::test]
async fn idle_transactional_ids_expire_with_a_tombstone_and_open_ones_stay() {
    let (txns, recorder, env, clock) = setup();
    let expiration_ms = TransactionConfig::default().id_expiration_ms;
    let (idle_pid, _) = txns
        .init_producer_id(&env, "idle", 60_000, None, 7)
        .await
        .unwrap();
    let (open_pid, open_epoch) = txns
        .init_producer_id(&env, "open", 60_000, None, 8)
        .await
        .unwrap();
    txns.add_partitions(&env, "open", open_pid, open_epoch, &[tp("out", 0)])
        .await
        .unwrap();

    clock.advance_ms(expiration_ms - 1);
    txns.remove_expired(&env).await;
    assert_eq!(
        txns.describe(&env, "idle").unwrap().state,
        TxnState::Empty,
        "not idle long enough yet"
    );

    clock.advance_ms(1);
    txns.remove_expired(&env).await;
    assert_eq!(
        txns.describe(&env, "idle"),
        Err(ErrorCode::TransactionalIdNotFound)
    );
    assert_eq!(
        txns.describe(&env, "open").unwrap().state,
        TxnState::Ongoing,
        "an open transaction never expires (its timeout aborts it instead)"
    );
    let listed: Vec<String> = txns.all().into_iter().map(|t| t.transactional_id).collect();
    assert_eq!(listed, vec!["open".to_string()]);

    // The tombstone is durable: a new coordinator replaying the log does not know the id.
    let successor = coordinator(&clock);
    *recorder.epoch.lock() = 8;
    successor.follow_leaderships(&env);
    assert_eq!(
        successor.describe(&env, "idle"),
        Err(ErrorCode::TransactionalIdNotFound)
    );
    assert_eq!(
        successor.describe(&env, "open").unwrap().state,
        TxnState::Ongoing
    );

    // The expired id starts afresh: a new producer id at epoch 0.
    let (pid, epoch) = successor
        .init_producer_id(&env, "idle", 60_000, None, 9)
        .await
        .unwrap();
    assert_eq!((pid, epoch), (9, 0));
    assert_ne!(pid, idle_pid);
}
