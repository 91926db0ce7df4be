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
    MarkerFuture, ProducerIdFuture, TopicPartition, TransactionCoordinator, TxnEnv,
    TRANSACTION_STATE_TOPIC,
};
use rafka_coordinator::txn::records::{self, TxnLogValue, TxnState};
use rafka_coordinator::txn::version::TransactionVersion;
use rafka_coordinator::{CoordinatorLog, PendingWrite};
use rafka_protocol::batch::BatchBuilder;
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
    /// The markers that were written (answered `Ok`), in order.
    written: Mutex<Vec<Sent>>,
    /// What a marker write answers for every partition (None: written).
    marker_error: Mutex<Option<ErrorCode>>,
    /// The last producer id handed out by `new_producer_id`.
    producer_ids: Mutex<i64>,
}

impl Env {
    fn new() -> Arc<Env> {
        Arc::new(Env {
            log: MemoryLog::leading(TRANSACTION_STATE_TOPIC),
            leading: Mutex::new(true),
            epoch: Mutex::new(7),
            sent: Mutex::new(Vec::new()),
            written: Mutex::new(Vec::new()),
            marker_error: Mutex::new(None),
            producer_ids: Mutex::new(5000),
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
        if outcome.is_ok() {
            self.written.lock().push((
                producer_id,
                producer_epoch,
                commit,
                coordinator_epoch,
                partitions.clone(),
            ));
        }
        Box::pin(std::future::ready(
            partitions.into_iter().map(|p| (p, outcome)).collect(),
        ))
    }

    fn new_producer_id(&self) -> ProducerIdFuture {
        let mut last = self.producer_ids.lock();
        *last += 1;
        Box::pin(std::future::ready(Ok(*last)))
    }
}

/// A client of transactions V1 (EndTxn < v5, AddPartitionsToTxn < v4).
const V1: TransactionVersion = TransactionVersion::TV_0;
/// A client of transactions V2 (EndTxn v5, partitions added by their leaders).
const V2: TransactionVersion = TransactionVersion::TV_2;

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
        txns.end_txn(&env, "t", pid, epoch, true, V1).await,
        Err(ErrorCode::InvalidTxnState)
    );
    let partitions = [tp("out", 0), tp("out", 1), tp("__consumer_offsets", 3)];
    txns.add_partitions(&env, "t", pid, epoch, &partitions[..2], V1)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &partitions[2..], V1)
        .await
        .unwrap();
    let ongoing = txns.describe(&env, "t").unwrap();
    assert_eq!(ongoing.state, TxnState::Ongoing);
    assert_eq!(ongoing.partitions.len(), 3);
    assert_eq!(ongoing.start_ms, T0);
    assert_eq!(
        txns.add_partitions(&env, "t", pid, epoch + 1, &partitions[..1], V1)
            .await,
        Err(ErrorCode::ProducerFenced)
    );
    assert_eq!(
        txns.add_partitions(&env, "t", pid + 1, epoch, &partitions[..1], V1)
            .await,
        Err(ErrorCode::InvalidProducerIdMapping)
    );
    txns.end_txn(&env, "t", pid, epoch, true, V1).await.unwrap();
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
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true, V1).await,
        Ok((pid, epoch))
    );
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, false, V1).await,
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
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)], V1)
        .await
        .unwrap();
    *recorder.marker_error.lock() = Some(ErrorCode::NotLeaderOrFollower);
    txns.end_txn(&env, "t", pid, epoch, false, V1)
        .await
        .unwrap();
    // Still preparing: another EndTxn waits, InitProducerId too.
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, false, V1).await,
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
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)], V1)
        .await
        .unwrap();
    *recorder.marker_error.lock() = Some(ErrorCode::TransactionCoordinatorFenced);
    txns.end_txn(&env, "t", pid, epoch, true, V1).await.unwrap();
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
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)], V1)
        .await
        .unwrap();
    *recorder.marker_error.lock() = Some(ErrorCode::NotLeaderOrFollower);
    txns.end_txn(&env, "t", pid, epoch, false, V1)
        .await
        .unwrap();
    // As Kafka (its completion is pending from PrepareAbort on): not INVALID_TXN_STATE
    // for the opposite outcome, not PRODUCER_FENCED for another producer id.
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true, V1).await,
        Err(ErrorCode::ConcurrentTransactions)
    );
    assert_eq!(
        txns.init_producer_id(&env, "t", 60_000, Some((pid + 1, epoch)), 8)
            .await,
        Err(ErrorCode::ConcurrentTransactions)
    );
    assert_eq!(
        txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 1)], V1)
            .await,
        Err(ErrorCode::ConcurrentTransactions)
    );
    // The producer's own checks still come first.
    assert_eq!(
        txns.end_txn(&env, "t", pid + 1, epoch, true, V1).await,
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
        txns.end_txn(&env, "t", pid, epoch, true, V1).await,
        Err(ErrorCode::InvalidTxnState)
    );
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, false, V1).await,
        Ok((pid, epoch))
    );
}

#[tokio::test]
async fn a_new_incarnation_fences_the_open_transaction_by_aborting_it() {
    let (txns, recorder, env, _) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 7)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 2)], V1)
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
        txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 2)], V1)
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
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)], V1)
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
        txns.end_txn(&env, "t", pid, epoch, true, V1).await,
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
    txns.add_partitions(&env, "done", pid, epoch, &[tp("a", 0)], V1)
        .await
        .unwrap();
    txns.end_txn(&env, "done", pid, epoch, true, V1)
        .await
        .unwrap();
    settle(&txns, &env, "done", TxnState::CompleteCommit).await;
    let (open_pid, open_epoch) = txns
        .init_producer_id(&env, "open", 60_000, None, 8)
        .await
        .unwrap();
    txns.add_partitions(&env, "open", open_pid, open_epoch, &[tp("b", 1)], V1)
        .await
        .unwrap();
    let (p_pid, p_epoch) = txns
        .init_producer_id(&env, "prepared", 60_000, None, 9)
        .await
        .unwrap();
    txns.add_partitions(&env, "prepared", p_pid, p_epoch, &[tp("c", 2)], V1)
        .await
        .unwrap();
    *recorder.marker_error.lock() = Some(ErrorCode::TransactionCoordinatorFenced);
    txns.end_txn(&env, "prepared", p_pid, p_epoch, false, V1)
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
    txns.add_partitions(&env, "open", open_pid, open_epoch, &[tp("out", 0)], V1)
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

/// SplitMix64: a seeded, replayable stream of choices for the simulation.
struct Choices(u64);

impl Choices {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One transaction as its client saw it: which partitions it wrote and how EndTxn
/// answered (`Some(commit)` only when it said Ok).
#[derive(Debug, Default)]
struct ClientTxn {
    ended_ok: Option<bool>,
}

/// One data partition as its leader sees the markers and the transactional data: per
/// producer, the highest epoch seen and the open transaction's client transactions.
#[derive(Debug, Default)]
struct DataPartition {
    epochs: std::collections::HashMap<i64, i16>,
    open: std::collections::HashMap<i64, Vec<usize>>,
}

/// The simulation's view of everything: client transactions and how the partitions
/// resolved them.
#[derive(Debug, Default)]
struct World {
    txns: Vec<ClientTxn>,
    /// Client transaction → committed (true) or aborted (false) in each partition it wrote.
    resolved: Vec<Vec<bool>>,
    partitions: std::collections::HashMap<TopicPartition, DataPartition>,
    markers_applied: usize,
}

impl World {
    /// Applies the markers written since the last call, as each partition's leader would.
    fn apply_markers(&mut self, env: &Env, log: &[String]) {
        let written = env.written.lock();
        for (pid, epoch, commit, _, partitions) in &written[self.markers_applied..] {
            for tp in partitions {
                let partition = self.partitions.entry(tp.clone()).or_default();
                let seen = partition.epochs.entry(*pid).or_insert(*epoch);
                assert!(
                    *epoch >= *seen,
                    "a marker of producer {pid} at epoch {epoch} after epoch {seen} in {tp:?}: the leader refuses it\n{}",
                    log.join("\n")
                );
                *seen = *epoch;
                for txn in partition.open.remove(pid).unwrap_or_default() {
                    self.resolved[txn].push(*commit);
                }
            }
        }
        self.markers_applied = written.len();
    }

    /// The client's data after AddPartitionsToTxn answered Ok, refused by a leader that
    /// has seen a newer epoch of the producer (a fenced zombie).
    fn write_data(&mut self, tp: &TopicPartition, pid: i64, epoch: i16, txn: usize) {
        let partition = self.partitions.entry(tp.clone()).or_default();
        let seen = partition.epochs.entry(pid).or_insert(epoch);
        if epoch < *seen {
            return;
        }
        *seen = epoch;
        let open = partition.open.entry(pid).or_default();
        if !open.contains(&txn) {
            open.push(txn);
        }
    }
}

/// One producer incarnation of a transactional id, as its client knows it.
#[derive(Debug, Clone, Copy)]
struct Incarnation {
    pid: i64,
    epoch: i16,
    /// The protocol its client speaks (librdkafka V1, the Java client V2).
    version: TransactionVersion,
    /// Its open client transaction, if it has begun one.
    txn: Option<usize>,
}

/// Lets spawned marker rounds run, their retry backoffs included (the runtime's clock is
/// paused, so sleeping only moves it).
async fn run_background() {
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn simulate(seed: u64, steps: usize) {
    let (mut txns, recorder, env, clock) = setup();
    let mut choices = Choices(seed);
    let ids = ["a", "b", "c"];
    let topics = [
        tp("t", 0),
        tp("t", 1),
        tp("u", 0),
        tp("__consumer_offsets", 4),
    ];
    let mut world = World::default();
    let mut current: Vec<Option<Incarnation>> = vec![None; ids.len()];
    let mut zombies: Vec<Option<Incarnation>> = vec![None; ids.len()];
    let mut next_pid = 1000;
    let mut log = Vec::new();
    for step in 0..steps {
        let i = choices.below(ids.len() as u64) as usize;
        let id = ids[i];
        // A zombie (the previous incarnation) acts now and then.
        let use_zombie = zombies[i].is_some() && choices.below(5) == 0;
        let who = if use_zombie { zombies[i] } else { current[i] };
        match choices.below(100) {
            0..=14 => {
                next_pid += 1;
                let timeout_ms = [1_000, 60_000][choices.below(2) as usize];
                let answer = txns
                    .init_producer_id(&env, id, timeout_ms, None, next_pid)
                    .await;
                log.push(format!("{step}: init {id} -> {answer:?}"));
                if let Ok((pid, epoch)) = answer {
                    zombies[i] = current[i];
                    current[i] = Some(Incarnation {
                        pid,
                        epoch,
                        version: [V1, V2][choices.below(2) as usize],
                        txn: None,
                    });
                }
            }
            15..=49 => {
                let Some(mut me) = who else { continue };
                let wanted: Vec<TopicPartition> = topics
                    .iter()
                    .filter(|_| choices.below(2) == 0)
                    .cloned()
                    .collect();
                if wanted.is_empty() {
                    continue;
                }
                let answer = txns
                    .add_partitions(&env, id, me.pid, me.epoch, &wanted, me.version)
                    .await;
                log.push(format!(
                    "{step}: add {id} {}/{} {wanted:?} -> {answer:?}",
                    me.pid, me.epoch
                ));
                world.apply_markers(&recorder, &log);
                if answer.is_ok() {
                    let txn = *me.txn.get_or_insert_with(|| {
                        world.txns.push(ClientTxn::default());
                        world.resolved.push(Vec::new());
                        world.txns.len() - 1
                    });
                    for tp in &wanted {
                        world.write_data(tp, me.pid, me.epoch, txn);
                    }
                    if use_zombie {
                        zombies[i] = Some(me);
                    } else {
                        current[i] = Some(me);
                    }
                }
            }
            50..=69 => {
                let Some(mut me) = who else { continue };
                let commit = choices.below(3) != 0;
                let answer = txns
                    .end_txn(&env, id, me.pid, me.epoch, commit, me.version)
                    .await;
                log.push(format!(
                    "{step}: end {id} {}/{} {:?} commit={commit} -> {answer:?}",
                    me.pid, me.epoch, me.version
                ));
                if let Ok((pid, epoch)) = answer {
                    // V2: the client goes on at the epoch (or producer id) it is given.
                    (me.pid, me.epoch) = (pid, epoch);
                    if let Some(txn) = me.txn.take() {
                        world.txns[txn].ended_ok = Some(commit);
                    }
                    if use_zombie {
                        zombies[i] = Some(me);
                    } else {
                        current[i] = Some(me);
                    }
                }
            }
            70..=79 => {
                clock.advance_ms([100, 1_500, 61_000][choices.below(3) as usize]);
                txns.abort_timed_out(&env).await;
                log.push(format!("{step}: time passes, timed-out transactions abort"));
            }
            80..=89 => {
                let failing = choices.below(2) == 0;
                *recorder.marker_error.lock() = failing.then_some(ErrorCode::NotLeaderOrFollower);
                log.push(format!("{step}: markers fail: {failing}"));
            }
            90..=94 => {
                // The partition moves to another broker, which replays the log.
                *recorder.epoch.lock() += 1;
                txns = coordinator(&clock);
                txns.follow_leaderships(&env);
                log.push(format!("{step}: a new coordinator takes over"));
            }
            _ => {
                run_background().await;
                log.push(format!("{step}: markers run"));
            }
        }
        run_background().await;
        world.apply_markers(&recorder, &log);
        for (txn, client) in world.txns.iter().enumerate() {
            if let Some(commit) = client.ended_ok {
                assert!(
                    world.resolved[txn].iter().all(|c| *c == commit),
                    "seed {seed}: client transaction {txn} ended with commit={commit} but a partition resolved it otherwise: {:?}\n{}",
                    world.resolved[txn],
                    log.join("\n")
                );
            }
        }
    }

    // Quiet: markers succeed, every open transaction times out and is aborted.
    *recorder.marker_error.lock() = None;
    for _ in 0..3 {
        clock.advance_ms(61_000);
        txns.abort_timed_out(&env).await;
        run_background().await;
    }
    world.apply_markers(&recorder, &log);
    for (tp, partition) in &world.partitions {
        let hanging: Vec<_> = partition
            .open
            .iter()
            .filter(|(_, t)| !t.is_empty())
            .collect();
        assert!(
            hanging.is_empty(),
            "seed {seed}: {tp:?} still has open transactions {hanging:?}\n{}",
            log.join("\n")
        );
    }
    for (txn, client) in world.txns.iter().enumerate() {
        if let Some(commit) = client.ended_ok {
            assert!(
                world.resolved[txn].iter().all(|c| *c == commit),
                "seed {seed}: transaction {txn}\n{}",
                log.join("\n")
            );
        }
    }
}

/// A seeded simulation of clients, zombies, timeouts, failing marker writes and
/// coordinator failovers: a transaction a client saw committed is committed in every
/// partition it wrote, one it saw aborted is aborted everywhere, markers never go back in
/// epoch, and in the end no partition is left with an open transaction. A failing seed is
/// replayed with `TXN_SIM_SEED=<seed>`.
#[tokio::test(start_paused = true)]
async fn seeded_simulation_keeps_outcomes_and_leaves_nothing_open() {
    let seeds: Vec<u64> = match std::env::var("TXN_SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("TXN_SIM_SEED is a number")],
        Err(_) => (0..40).collect(),
    };
    for seed in seeds {
        simulate(seed, 150).await;
    }
}

/// Writes `id`'s state straight into the coordinator's log (as an earlier coordinator
/// left it) and has `txns` load it.
async fn preload(
    txns: &Arc<TransactionCoordinator>,
    recorder: &Env,
    env: &Arc<dyn TxnEnv>,
    id: &str,
    value: &TxnLogValue,
) {
    let key = records::encode_key(id).unwrap();
    let value = records::encode_value(value, 1);
    let mut builder = BatchBuilder::new(0);
    builder.append(T0, Some(&key), Some(&value), &[]);
    let batch = builder.build().unwrap();
    recorder
        .log
        .append(
            TRANSACTION_STATE_TOPIC,
            txns.partition_for(id),
            &batch,
            Duration::from_secs(1),
        )
        .unwrap()
        .await
        .unwrap();
    txns.load_partition(env, txns.partition_for(id));
}

#[tokio::test]
async fn v2_bumps_the_epoch_at_the_end_of_every_transaction() {
    let (txns, recorder, env, clock) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 100)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)], V2)
        .await
        .unwrap();
    assert_eq!(txns.describe(&env, "t").unwrap().client_version, V2);
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true, V2).await,
        Ok((pid, epoch + 1)),
        "EndTxn v5 answers the bumped epoch"
    );
    settle(&txns, &env, "t", TxnState::CompleteCommit).await;
    assert_eq!(
        recorder.sent.lock().last().cloned().unwrap(),
        (pid, epoch + 1, true, 7, vec![tp("out", 0)]),
        "the markers carry the bumped epoch"
    );
    let done = txns.describe(&env, "t").unwrap();
    assert_eq!(
        (
            done.producer_id,
            done.producer_epoch,
            done.last_producer_epoch
        ),
        (pid, epoch + 1, epoch + 1)
    );

    // The old epoch is fenced; the next transaction runs at the bumped one.
    assert_eq!(
        txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 1)], V2)
            .await,
        Err(ErrorCode::ProducerFenced)
    );
    txns.add_partitions(&env, "t", pid, epoch + 1, &[tp("out", 1)], V2)
        .await
        .unwrap();
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch + 1, false, V2).await,
        Ok((pid, epoch + 2))
    );
    settle(&txns, &env, "t", TxnState::CompleteAbort).await;
    assert_eq!(
        recorder.sent.lock().last().cloned().unwrap(),
        (pid, epoch + 2, false, 7, vec![tp("out", 1)])
    );

    // The client's protocol is in the record: a new coordinator keeps V2's rules.
    *recorder.epoch.lock() = 8;
    let successor = Arc::new(TransactionCoordinator::new(
        TransactionConfig {
            partitions: 5,
            ..TransactionConfig::default()
        },
        clock.clone(),
    ));
    successor.follow_leaderships(&env);
    let loaded = successor.describe(&env, "t").unwrap();
    assert_eq!(
        (
            loaded.client_version,
            loaded.producer_epoch,
            loaded.previous_producer_id
        ),
        (V2, epoch + 2, pid)
    );
    assert_eq!(
        successor
            .end_txn(&env, "t", pid, epoch + 1, false, V2)
            .await,
        Ok((pid, epoch + 2)),
        "a retry across coordinators"
    );
}

#[tokio::test]
async fn v2_retries_of_end_txn_answer_the_bumped_epoch() {
    let (txns, _recorder, env, _clock) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 100)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)], V2)
        .await
        .unwrap();
    txns.end_txn(&env, "t", pid, epoch, true, V2).await.unwrap();
    // The markers have not run yet: the retry must wait.
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true, V2).await,
        Err(ErrorCode::ConcurrentTransactions)
    );
    settle(&txns, &env, "t", TxnState::CompleteCommit).await;
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true, V2).await,
        Ok((pid, epoch + 1))
    );
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, false, V2).await,
        Err(ErrorCode::InvalidTxnState),
        "a retry must ask for the same outcome"
    );
    // At the bumped epoch an EndTxn is the next transaction's, which never started; an
    // older epoch than the retry's is a zombie.
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch + 1, true, V2).await,
        Err(ErrorCode::ProducerFenced)
    );
    txns.add_partitions(&env, "t", pid, epoch + 1, &[tp("out", 0)], V2)
        .await
        .unwrap();
    txns.end_txn(&env, "t", pid, epoch + 1, true, V2)
        .await
        .unwrap();
    settle(&txns, &env, "t", TxnState::CompleteCommit).await;
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true, V2).await,
        Err(ErrorCode::ProducerFenced)
    );
}

#[tokio::test]
async fn v2_hands_out_a_new_producer_id_when_the_epochs_run_out() {
    let (txns, recorder, env, _clock) = setup();
    preload(
        &txns,
        &recorder,
        &env,
        "t",
        &TxnLogValue {
            producer_id: 42,
            producer_epoch: i16::MAX - 2,
            timeout_ms: 60_000,
            state: TxnState::CompleteCommit,
            partitions: vec![],
            last_update_ms: T0,
            start_ms: T0,
            previous_producer_id: 42,
            next_producer_id: -1,
            client_transaction_version: 2,
        },
    )
    .await;
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 100)
        .await
        .unwrap();
    assert_eq!(
        (pid, epoch),
        (42, i16::MAX - 1),
        "the last epoch a client gets"
    );
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)], V2)
        .await
        .unwrap();
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true, V2).await,
        Ok((5001, 0)),
        "a new producer id at epoch 0"
    );
    settle(&txns, &env, "t", TxnState::CompleteCommit).await;
    assert_eq!(
        recorder.sent.lock().last().cloned().unwrap(),
        (42, i16::MAX, true, 7, vec![tp("out", 0)]),
        "the markers carry the old producer id at the last epoch"
    );
    let rotated = txns.describe(&env, "t").unwrap();
    assert_eq!(
        (
            rotated.producer_id,
            rotated.producer_epoch,
            rotated.previous_producer_id,
            rotated.next_producer_id
        ),
        (5001, 0, 42, -1)
    );
    // The retry names the old producer id and its last epoch.
    assert_eq!(
        txns.end_txn(&env, "t", 42, i16::MAX - 1, true, V2).await,
        Ok((5001, 0))
    );
    txns.add_partitions(&env, "t", 5001, 0, &[tp("out", 0)], V2)
        .await
        .unwrap();
    assert_eq!(
        txns.end_txn(&env, "t", 5001, 0, false, V2).await,
        Ok((5001, 1))
    );
}

#[tokio::test]
async fn a_v1_client_keeps_its_epoch_on_a_v2_cluster() {
    let (txns, recorder, env, _clock) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 100)
        .await
        .unwrap();
    for commit in [true, false, true] {
        txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)], V1)
            .await
            .unwrap();
        assert_eq!(
            txns.end_txn(&env, "t", pid, epoch, commit, V1).await,
            Ok((pid, epoch))
        );
        let done = if commit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        settle(&txns, &env, "t", done).await;
        assert_eq!(
            recorder.sent.lock().last().cloned().unwrap(),
            (pid, epoch, commit, 7, vec![tp("out", 0)])
        );
        assert_eq!(
            txns.end_txn(&env, "t", pid, epoch, commit, V1).await,
            Ok((pid, epoch)),
            "a V1 retry"
        );
    }
    assert_eq!(txns.describe(&env, "t").unwrap().client_version, V1);
}

#[tokio::test]
async fn below_a_finalized_level_2_every_client_is_held_to_v1() {
    let clock = ManualClock::new(T0);
    let txns = Arc::new(TransactionCoordinator::new(
        TransactionConfig {
            partitions: 5,
            finalized_version: 1,
            ..TransactionConfig::default()
        },
        clock,
    ));
    let recorder = Env::new();
    let env: Arc<dyn TxnEnv> = recorder.clone();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 100)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)], V2)
        .await
        .unwrap();
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true, V2).await,
        Ok((pid, epoch))
    );
    settle(&txns, &env, "t", TxnState::CompleteCommit).await;
    assert_eq!(recorder.sent.lock().last().unwrap().1, epoch);
    // Level 1 writes flexible records, without a client version.
    let batches = recorder.log.batches.lock();
    let last = batches[&txns.partition_for("t")].last().unwrap().clone();
    drop(batches);
    let record = rafka_protocol::batch::batches(&last)
        .next()
        .unwrap()
        .unwrap()
        .decode_records()
        .unwrap()
        .remove(0);
    let value = record.value.unwrap();
    assert_eq!(value[..2], [0, 1], "value version 1");
    assert_eq!(
        records::decode_value(&value)
            .unwrap()
            .client_transaction_version,
        0
    );
}

#[tokio::test]
async fn v2_timeouts_and_fencing_abort_at_an_epoch_past_the_fence() {
    let (txns, recorder, env, clock) = setup();
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 1_000, None, 100)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 0)], V2)
        .await
        .unwrap();
    clock.advance_ms(1_001);
    txns.abort_timed_out(&env).await;
    settle(&txns, &env, "t", TxnState::CompleteAbort).await;
    assert_eq!(
        recorder.sent.lock().last().cloned().unwrap(),
        (pid, epoch + 2, false, 7, vec![tp("out", 0)]),
        "fenced (+1), then V2's bump at the end (+1)"
    );
    assert_eq!(
        txns.end_txn(&env, "t", pid, epoch, true, V2).await,
        Err(ErrorCode::ProducerFenced)
    );

    // A new incarnation fences an open V2 transaction the same way.
    let (pid, epoch) = txns
        .init_producer_id(&env, "t", 60_000, None, 100)
        .await
        .unwrap();
    txns.add_partitions(&env, "t", pid, epoch, &[tp("out", 1)], V2)
        .await
        .unwrap();
    assert_eq!(
        txns.init_producer_id(&env, "t", 60_000, None, 100).await,
        Err(ErrorCode::ConcurrentTransactions)
    );
    settle(&txns, &env, "t", TxnState::CompleteAbort).await;
    assert_eq!(
        recorder.sent.lock().last().cloned().unwrap(),
        (pid, epoch + 2, false, 7, vec![tp("out", 1)])
    );
    assert_eq!(
        txns.init_producer_id(&env, "t", 60_000, None, 100).await,
        Ok((pid, epoch + 3))
    );
}
