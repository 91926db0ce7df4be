//! `WorkerGroupMember` against a real rafka broker: workers with a fixed config (two
//! connectors of three tasks) converge to a balanced assignment that runs every
//! connector and task exactly once, and take over the work of a worker that leaves
//! (after `scheduled.rebalance.max.delay.ms`) or dies without a word (after its session
//! times out, then the delay).
//!
//! The broker is the `rafka` release binary (`RAFKA_BIN`, else
//! `$CARGO_TARGET_DIR/release/rafka`; build it with `cargo build --release -p rafka-cli`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Broker;
use parking_lot::Mutex;
use rafka_connect::distributed::assignor::ConfigSnapshot;
use rafka_connect::distributed::member::{
    BoxFuture, GroupHandler, MemberConfig, MemberEvent, WorkerGroupMember,
};
use rafka_connect::distributed::protocol::ConnectProtocolCompatibility;
use rafka_connect::herder::ConnectorTaskId;
use tokio::sync::oneshot;

/// A broker whose groups start rebalancing at once. `RUST_LOG=rafka_connect=debug` shows
/// the member loops and the leader's rounds.
fn start_broker() -> Broker {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    Broker::start_with("group.initial.rebalance.delay.ms=0\noffsets.topic.replication.factor=1\n")
}

/// A herder stand-in: config at offset 5 with two connectors of three tasks.
struct FixedConfig;

impl GroupHandler for FixedConfig {
    fn config_offset(&self) -> i64 {
        5
    }

    fn config_snapshot(&self) -> BoxFuture<'_, Option<ConfigSnapshot>> {
        Box::pin(async {
            Some(ConfigSnapshot {
                offset: 5,
                connectors: BTreeMap::from([("alpha".to_string(), 3), ("beta".to_string(), 3)]),
            })
        })
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Running {
    connectors: BTreeSet<String>,
    tasks: BTreeSet<ConnectorTaskId>,
    /// The generation of the last assignment, and whether it ended the rebalancing (no
    /// revocations to follow up on, no delay pending).
    generation: i32,
    settled: bool,
    /// This worker led the last generation.
    leader: bool,
}

/// One worker: the member and a loop that acts on its events as Kafka's herder does
/// (stop revoked work, rejoin after revocations and when a delay runs out).
struct Worker {
    running: Arc<Mutex<Running>>,
    stop: Option<oneshot::Sender<bool>>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    fn start(port: u16, name: &str, protocol: ConnectProtocolCompatibility) -> Worker {
        let mut config = MemberConfig::new(
            &format!("127.0.0.1:{port}"),
            "connect-cluster",
            &format!("http://{name}:8083/"),
        );
        let client_id = format!("connect-{name}");
        config.client_id = client_id.clone();
        config.protocol = protocol;
        config.session_timeout_ms = 6_000;
        config.heartbeat_interval_ms = 500;
        config.rebalance_timeout_ms = 10_000;
        config.scheduled_rebalance_max_delay_ms = 1_500;
        let (member, mut events) = WorkerGroupMember::start(config, Arc::new(FixedConfig));
        let running = Arc::new(Mutex::new(Running::default()));
        let (stop, mut stopped) = oneshot::channel::<bool>();
        let state = running.clone();
        let task = tokio::spawn(async move {
            let mut scheduled: Option<tokio::time::Instant> = None;
            loop {
                let wake = scheduled
                    .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
                tokio::select! {
                    leave = &mut stopped => {
                        if leave.unwrap_or(false) {
                            member.leave().await;
                        }
                        // Otherwise the member is dropped: no LeaveGroup, as a crash.
                        return;
                    }
                    _ = tokio::time::sleep_until(wake) => {
                        scheduled = None;
                        member.request_rejoin();
                    }
                    event = events.recv() => match event {
                        None => return,
                        Some(MemberEvent::Revoked { connectors, tasks, done }) => {
                            let mut running = state.lock();
                            for c in &connectors {
                                running.connectors.remove(c);
                            }
                            for t in &tasks {
                                running.tasks.remove(t);
                            }
                            let _ = done.send(());
                        }
                        Some(MemberEvent::Assigned { assignment, generation, member_id, .. }) => {
                            assert!(!assignment.failed(), "{assignment:?}");
                            // The coordinator names members after their client.id.
                            assert!(member_id.starts_with(&format!("{client_id}-")), "{member_id}");
                            let revoked = !assignment.revoked_connectors.is_empty()
                                || !assignment.revoked_tasks.is_empty();
                            *state.lock() = Running {
                                connectors: assignment.connectors.iter().cloned().collect(),
                                tasks: assignment.tasks.iter().cloned().collect(),
                                generation,
                                settled: !revoked && assignment.delay_ms == 0,
                                leader: assignment.leader == member_id,
                            };
                            if revoked {
                                member.request_rejoin();
                            }
                            scheduled = (assignment.delay_ms > 0).then(|| {
                                tokio::time::Instant::now()
                                    + Duration::from_millis(assignment.delay_ms as u64)
                            });
                        }
                    },
                }
            }
        });
        Worker {
            running,
            stop: Some(stop),
            task,
        }
    }

    fn running(&self) -> Running {
        self.running.lock().clone()
    }

    async fn leave(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        self.task.await.expect("worker loop");
    }

    /// Stops without LeaveGroup.
    async fn crash(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(false);
        }
        self.task.await.expect("worker loop");
    }
}

/// Every connector and task runs on exactly one worker, the counts per worker differ
/// by one at most, and the group is done rebalancing: every worker has the last
/// generation's assignment, with nothing to follow up on.
fn converged(workers: &[&Worker]) -> Result<Vec<Running>, String> {
    let all: Vec<Running> = workers.iter().map(|w| w.running()).collect();
    let generations: BTreeSet<i32> = all.iter().map(|r| r.generation).collect();
    if generations.len() != 1 || !all.iter().all(|r| r.settled) {
        return Err(format!("still rebalancing: {all:?}"));
    }
    let connectors: Vec<&String> = all.iter().flat_map(|r| &r.connectors).collect();
    let tasks: Vec<&ConnectorTaskId> = all.iter().flat_map(|r| &r.tasks).collect();
    let expected_tasks: Vec<ConnectorTaskId> = ["alpha", "beta"]
        .iter()
        .flat_map(|c| {
            (0..3).map(move |task| ConnectorTaskId {
                connector: c.to_string(),
                task,
            })
        })
        .collect();
    let mut sorted_tasks: Vec<ConnectorTaskId> = tasks.iter().map(|t| (*t).clone()).collect();
    sorted_tasks.sort();
    let mut sorted_connectors: Vec<&String> = connectors.clone();
    sorted_connectors.sort();
    if sorted_connectors != ["alpha", "beta"] || sorted_tasks != expected_tasks {
        return Err(format!("not every item exactly once: {all:?}"));
    }
    for counts in [
        all.iter().map(|r| r.connectors.len()).collect::<Vec<_>>(),
        all.iter().map(|r| r.tasks.len()).collect::<Vec<_>>(),
    ] {
        let (min, max) = (counts.iter().min(), counts.iter().max());
        if max.zip(min).is_none_or(|(max, min)| max - min > 1) {
            return Err(format!("imbalanced: {all:?}"));
        }
    }
    Ok(all)
}

/// Two workers, each with one connector and three tasks.
fn assert_halves(all: &[Running]) {
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .all(|r| r.connectors.len() == 1 && r.tasks.len() == 3),
        "{all:?}"
    );
}

async fn wait_converged(workers: &[&Worker], what: &str) -> Vec<Running> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match converged(workers) {
            Ok(all) => return all,
            Err(last) => assert!(
                Instant::now() < deadline,
                "{what}: no balanced assignment within 60 s; last: {last}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_share_the_work_and_take_over_from_one_that_leaves() {
    let broker = start_broker();
    let sessioned = ConnectProtocolCompatibility::Sessioned;
    let w1 = Worker::start(broker.port, "w1", sessioned);
    let w2 = Worker::start(broker.port, "w2", sessioned);
    let all = wait_converged(&[&w1, &w2], "two workers").await;
    assert_halves(&all);

    let w3 = Worker::start(broker.port, "w3", sessioned);
    let all = wait_converged(&[&w1, &w2, &w3], "three workers").await;
    assert!(all.iter().all(|r| r.tasks.len() == 2), "{all:?}");

    // A follower leaves with LeaveGroup: the leader holds its work back for the 1500 ms
    // delay (it may come back), then the two others run everything. (A new leader would
    // have no memory of the old assignment and hand the work out at once, as Kafka's.)
    let mut workers = vec![w1, w2, w3];
    let follower = workers
        .iter()
        .position(|w| !w.running().leader)
        .expect("two followers");
    let leaving = workers.remove(follower);
    let left = leaving.running();
    let left_at = Instant::now();
    leaving.leave().await;
    let rest: Vec<&Worker> = workers.iter().collect();
    let all = wait_converged(&rest, "after a follower left").await;
    assert!(
        left_at.elapsed() >= Duration::from_millis(1_000),
        "the follower's work {left:?} moved before the scheduled rebalance delay"
    );
    assert_halves(&all);
    leave_all(workers).await;
}

/// Workers `w1`…`wN` of one group, started together.
fn start_workers(port: u16, count: usize, protocol: ConnectProtocolCompatibility) -> Vec<Worker> {
    (1..=count)
        .map(|i| Worker::start(port, &format!("w{i}"), protocol))
        .collect()
}

async fn leave_all(workers: Vec<Worker>) {
    for worker in workers {
        worker.leave().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_of_a_worker_that_dies_without_leaving_is_taken_over() {
    let broker = start_broker();
    let mut workers = start_workers(broker.port, 3, ConnectProtocolCompatibility::Sessioned);
    wait_converged(&workers.iter().collect::<Vec<_>>(), "three workers").await;

    let crashed_at = Instant::now();
    workers.pop().expect("w3").crash().await;
    let all = wait_converged(&workers.iter().collect::<Vec<_>>(), "after w3 died").await;
    // The session (6 s) had to expire before anyone noticed.
    assert!(crashed_at.elapsed() >= Duration::from_secs(5), "{all:?}");
    assert_halves(&all);
    leave_all(workers).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eager_workers_split_the_work_round_robin() {
    let broker = start_broker();
    let mut workers = start_workers(broker.port, 2, ConnectProtocolCompatibility::Eager);
    let all = wait_converged(&workers.iter().collect::<Vec<_>>(), "two eager workers").await;
    assert_halves(&all);
    workers.pop().expect("w2").leave().await;
    let all = wait_converged(&workers.iter().collect::<Vec<_>>(), "after w2 left").await;
    assert_eq!(all[0].tasks.len(), 6);
    leave_all(workers).await;
}

/// A leader that has not read the config topic as far as a member reported.
struct LaggingConfig {
    snapshots_read: std::sync::atomic::AtomicUsize,
}

impl GroupHandler for LaggingConfig {
    fn config_offset(&self) -> i64 {
        7
    }

    /// Offset 5 the first time (behind the 7 it reported), 7 once "read to the end".
    fn config_snapshot(&self) -> BoxFuture<'_, Option<ConfigSnapshot>> {
        let reads = self
            .snapshots_read
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            Some(ConfigSnapshot {
                offset: if reads == 0 { 5 } else { 7 },
                connectors: BTreeMap::from([("alpha".to_string(), 2)]),
            })
        })
    }
}

async fn next_assignment(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<MemberEvent>,
) -> rafka_connect::distributed::protocol::ExtendedAssignment {
    let deadline = Duration::from_secs(30);
    loop {
        match tokio::time::timeout(deadline, events.recv()).await {
            Ok(Some(MemberEvent::Assigned { assignment, .. })) => return assignment,
            Ok(Some(MemberEvent::Revoked { done, .. })) => {
                let _ = done.send(());
            }
            other => panic!("no assignment within 30 s: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_behind_the_config_hands_out_config_mismatch_until_it_catches_up() {
    let broker = start_broker();
    let mut config = MemberConfig::new(
        &format!("127.0.0.1:{}", broker.port),
        "lagging",
        "http://w1:8083/",
    );
    config.heartbeat_interval_ms = 500;
    config.session_timeout_ms = 6_000;
    let handler = Arc::new(LaggingConfig {
        snapshots_read: Default::default(),
    });
    let (member, mut events) = WorkerGroupMember::start(config, handler);
    let first = next_assignment(&mut events).await;
    assert!(first.failed(), "{first:?}");
    assert_eq!((first.config_offset, first.tasks.len()), (7, 0));
    assert!(member.generation().is_some());
    // The herder reads the config topic to the end, then asks to rejoin.
    member.request_rejoin();
    let second = next_assignment(&mut events).await;
    assert!(!second.failed(), "{second:?}");
    assert_eq!(second.config_offset, 7);
    assert_eq!(second.connectors, ["alpha"]);
    assert_eq!(second.tasks.len(), 2);
    member.leave().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_coordinator_revokes_everything() {
    let mut broker = start_broker();
    let workers = start_workers(broker.port, 1, ConnectProtocolCompatibility::Sessioned);
    let all = wait_converged(&[&workers[0]], "one worker").await;
    assert_eq!((all[0].connectors.len(), all[0].tasks.len()), (2, 6));
    // No coordinator for longer than heartbeat.interval.ms: nothing may run any more.
    broker.kill();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running = workers[0].running();
        if running.connectors.is_empty() && running.tasks.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still running {running:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for worker in workers {
        worker.crash().await;
    }
}
