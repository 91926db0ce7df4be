//! A seeded simulation of the controller quorum (in the spirit of TigerBeetle's VOPR and
//! Kafka's `RaftEventSimulationTest`).
//!
//! Three voters run the production log store, state machine and [`Quorum`] in one
//! current-thread tokio runtime with a paused clock. Only the network differs: a router
//! hands each RPC straight to the target's [`Quorum::handle_raft`] (after a JSON round
//! trip of the request, as the wire would), with seeded random delays, drops, lost
//! answers, partitions and crashes. A crash drops the node's Raft; a restart reopens it
//! from its directory.
//!
//! The schedule and openraft's own randomness (election timeouts) come from the seed;
//! a failing run prints its seed, and `RAFKA_SIM_SEED=<seed>` replays it. (Replays
//! reproduce the schedule exactly; tokio's internal select fairness is not seeded, so
//! an interleaving can occasionally differ.)
//!
//! Checked throughout: at most one leader per term; every node applies the same
//! records and reaches the same image at each log index. Checked at the end, after
//! healing everything: all images converge and every proposal that returned `Ok` is
//! in every image, at the index it returned.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::errors::{NetworkError, RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::rt::deterministic_rng::DeterministicRng;
use openraft::rt::WatchReceiver;
use openraft::{BasicNode, OptionalSend, ServerState};
use openraft_rt_tokio::TokioRuntime;
use tempfile::TempDir;
use tokio::time::Instant;

use super::log_store::LogStoreOptions;
use rafka_types::SplitMix64 as SimRng;

use super::state_machine::Applied;
use super::types::{
    ImageSnapshot, LeaderId, LogEntry, Payload, RaftRequest, RaftResponse, RecordBatch, Vote,
};
use super::{ProposeError, Quorum, QuorumConfig};
use crate::image::{ClusterImage, PartitionState};
use crate::records::MetadataRecord;

openraft::declare_raft_types!(
    /// The quorum's types on tokio with openraft's randomness drawn from the seed.
    SimTypes:
        D = RecordBatch,
        R = u64,
        NodeId = u64,
        Node = BasicNode,
        Term = u64,
        LeaderId = LeaderId,
        Vote = Vote,
        Payload = Payload,
        Entry = LogEntry,
        AsyncRuntime = DeterministicRng<TokioRuntime>,
);

const VOTERS: u64 = 3;
const STEPS: usize = 250;
/// Seeds CI runs; `RAFKA_SIM_SEED` runs one seed instead.
const SEEDS: [u64; 5] = [1, 2, 3, 0x5eed_cafe, 0xdead_beef_0bad_f00d];

/// What the network does to messages.
#[derive(Debug)]
struct RouterState {
    rng: SimRng,
    /// Running voters, by id.
    nodes: BTreeMap<u64, Quorum<SimTypes>>,
    /// Each voter's side of the partition: only voters on the same side talk.
    side: BTreeMap<u64, u8>,
    /// Chance that a request, or its answer, is lost.
    loss_percent: u64,
    delay_max_ms: u64,
}

/// How one RPC will fare, drawn when it is sent.
#[derive(Debug)]
enum Fate {
    Unreachable,
    /// Delivered after `delay`; the answer is lost if `lose_answer`, and a request that
    /// is `lost` never arrives (the sender times out).
    Deliver {
        target: Quorum<SimTypes>,
        delay: Duration,
        lost: bool,
        lose_answer: bool,
    },
}

#[derive(Debug)]
struct Router {
    state: Mutex<RouterState>,
}

impl Router {
    fn lock(&self) -> std::sync::MutexGuard<'_, RouterState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fate(&self, from: u64, to: u64) -> Fate {
        let mut state = self.lock();
        let connected =
            state.nodes.contains_key(&from) && state.side.get(&from) == state.side.get(&to);
        let Some(target) = state.nodes.get(&to).cloned().filter(|_| connected) else {
            return Fate::Unreachable;
        };
        let delay_max_ms = state.delay_max_ms;
        let delay = Duration::from_millis(state.rng.below(delay_max_ms + 1));
        let loss = state.loss_percent;
        Fate::Deliver {
            target,
            delay,
            lost: state.rng.percent(loss),
            lose_answer: state.rng.percent(loss),
        }
    }

    /// Sends `request` from `from` to `to` as the simulated network would.
    async fn send(
        &self,
        from: u64,
        to: u64,
        request: RaftRequest<SimTypes>,
        ttl: Duration,
    ) -> Result<RaftResponse<SimTypes>, RPCError<SimTypes>> {
        let Fate::Deliver {
            target,
            delay,
            lost,
            lose_answer,
        } = self.fate(from, to)
        else {
            // A refused connection is quick, but not instant.
            tokio::time::sleep(Duration::from_millis(1)).await;
            return Err(RPCError::Unreachable(Unreachable::from_string(format!(
                "{from} cannot reach {to}"
            ))));
        };
        // What crosses the wire is JSON: make sure every request survives it.
        let json = serde_json::to_vec(&request).expect("raft requests serialize");
        let request: RaftRequest<SimTypes> =
            serde_json::from_slice(&json).expect("raft requests deserialize");
        let exchange = async {
            tokio::time::sleep(delay).await;
            if lost {
                std::future::pending::<()>().await;
            }
            let response = target.handle_raft(request).await;
            tokio::time::sleep(delay).await;
            response
        };
        match tokio::time::timeout(ttl, exchange).await {
            Err(_) => Err(RPCError::Network(NetworkError::from_string("timed out"))),
            Ok(_) if lose_answer => {
                Err(RPCError::Network(NetworkError::from_string("answer lost")))
            }
            Ok(RaftResponse::Unavailable(reason)) => {
                Err(RPCError::Unreachable(Unreachable::from_string(reason)))
            }
            Ok(response) => Ok(response),
        }
    }
}

#[derive(Debug)]
struct SimNetworkFactory {
    from: u64,
    router: Arc<Router>,
}

impl RaftNetworkFactory<SimTypes> for SimNetworkFactory {
    type Network = SimNetwork;

    async fn new_client(&mut self, target: u64, _node: &BasicNode) -> SimNetwork {
        SimNetwork {
            from: self.from,
            to: target,
            router: self.router.clone(),
        }
    }
}

#[derive(Debug)]
struct SimNetwork {
    from: u64,
    to: u64,
    router: Arc<Router>,
}

fn wrong_kind(response: RaftResponse<SimTypes>) -> RPCError<SimTypes> {
    RPCError::Network(NetworkError::from_string(format!(
        "wrong kind of response: {response:?}"
    )))
}

impl RaftNetworkV2<SimTypes> for SimNetwork {
    type SnapshotData = ClusterImage;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<SimTypes>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<SimTypes>, RPCError<SimTypes>> {
        let request = RaftRequest::AppendEntries(rpc);
        match self
            .router
            .send(self.from, self.to, request, option.soft_ttl())
            .await?
        {
            RaftResponse::AppendEntries(response) => Ok(response),
            other => Err(wrong_kind(other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<SimTypes>,
        option: RPCOption,
    ) -> Result<VoteResponse<SimTypes>, RPCError<SimTypes>> {
        let request = RaftRequest::Vote(rpc);
        match self
            .router
            .send(self.from, self.to, request, option.soft_ttl())
            .await?
        {
            RaftResponse::Vote(response) => Ok(response),
            other => Err(wrong_kind(other)),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<SimTypes>,
        option: RPCOption,
    ) -> Result<VoteResponse<SimTypes>, RPCError<SimTypes>> {
        let request = RaftRequest::PreVote(rpc);
        match self
            .router
            .send(self.from, self.to, request, option.soft_ttl())
            .await?
        {
            RaftResponse::Vote(response) => Ok(response),
            other => Err(wrong_kind(other)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: ImageSnapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<SimTypes>, StreamingError<SimTypes>> {
        let request = RaftRequest::InstallSnapshot {
            vote,
            meta: snapshot.meta,
            image: Box::new(snapshot.snapshot),
        };
        let send = self
            .router
            .send(self.from, self.to, request, option.hard_ttl());
        let response = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            response = send => response,
        };
        match response {
            Ok(RaftResponse::InstallSnapshot(response)) => Ok(response),
            Ok(other) => Err(StreamingError::Network(NetworkError::from_string(format!(
                "wrong kind of response: {other:?}"
            )))),
            Err(RPCError::Unreachable(e)) => Err(StreamingError::Unreachable(e)),
            Err(e) => Err(StreamingError::Network(NetworkError::new(&e))),
        }
    }
}

/// What every node did, checked as it happens.
#[derive(Debug, Default)]
struct History {
    /// Log index → the records applied there and the image right after, as the first
    /// node to apply it saw them.
    applied: BTreeMap<u64, (Vec<MetadataRecord>, ClusterImage)>,
    /// Term → the node that led it.
    leaders: BTreeMap<u64, u64>,
    /// Snapshots installed (received from a leader, or restored at restart).
    snapshots_installed: usize,
    violations: Vec<String>,
}

impl History {
    fn record_applied(&mut self, node: u64, applied: &Applied) {
        match applied {
            Applied::Entry {
                index,
                records,
                image,
            } => match self.applied.get(index) {
                None => {
                    self.applied
                        .insert(*index, (records.clone(), image.clone()));
                }
                Some((known_records, known_image)) => {
                    if known_records != records || known_image != image {
                        self.violations.push(format!(
                            "node {node} applied {records:?} at index {index}, \
                             another node applied {known_records:?}"
                        ));
                    }
                }
            },
            Applied::Snapshot { image } => match self.applied.get(&image.offset).inspect(|_| {
                self.snapshots_installed += 1;
            }) {
                Some((_, known)) if known == image => {}
                known => self.violations.push(format!(
                    "node {node} installed a snapshot at offset {} that differs from the \
                     applied image there ({})",
                    image.offset,
                    if known.is_some() {
                        "different"
                    } else {
                        "never applied"
                    }
                )),
            },
        }
    }

    fn record_leader(&mut self, term: u64, node: u64, source: &str) {
        match self.leaders.get(&term) {
            None => {
                self.leaders.insert(term, node);
            }
            Some(known) if *known == node => {}
            Some(known) => self.violations.push(format!(
                "term {term} has two leaders: {known} and {node} (seen by {source})"
            )),
        }
    }
}

struct Sim {
    seed: u64,
    rng: SimRng,
    router: Arc<Router>,
    history: Arc<Mutex<History>>,
    dirs: Vec<TempDir>,
    voters: BTreeMap<i32, String>,
    /// Proposal tasks: topic name and outcome.
    proposals: Vec<tokio::task::JoinHandle<(String, Result<u64, ProposeError>)>>,
    next_topic: u64,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let mut rng = SimRng(seed);
        let router = Arc::new(Router {
            state: Mutex::new(RouterState {
                rng: SimRng(rng.next_u64()),
                nodes: BTreeMap::new(),
                side: (0..VOTERS).map(|id| (id, 0)).collect(),
                loss_percent: 5,
                delay_max_ms: 20,
            }),
        });
        Sim {
            seed,
            rng,
            router,
            history: Arc::default(),
            dirs: (0..VOTERS).map(|_| tempfile::tempdir().unwrap()).collect(),
            voters: (0..VOTERS as i32)
                .map(|id| (id, format!("sim-node-{id}:9093")))
                .collect(),
            proposals: Vec::new(),
            next_topic: 0,
        }
    }

    fn history(&self) -> std::sync::MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn live(&self) -> Vec<u64> {
        self.router.lock().nodes.keys().copied().collect()
    }

    fn down(&self) -> Vec<u64> {
        let live = self.live();
        (0..VOTERS).filter(|id| !live.contains(id)).collect()
    }

    fn node(&self, id: u64) -> Option<Quorum<SimTypes>> {
        self.router.lock().nodes.get(&id).cloned()
    }

    async fn start(&mut self, id: u64) {
        let mut config = QuorumConfig::new(
            id as i32,
            self.voters.clone(),
            self.dirs[id as usize].path().join("__cluster_metadata-0"),
        );
        config.election_timeout_min_ms = 300;
        config.election_timeout_max_ms = 600;
        config.heartbeat_interval_ms = 60;
        // Small, so that snapshots, purges and snapshot installs happen in every run.
        config.snapshot_interval_entries = 8;
        let history = self.history.clone();
        let observer = Arc::new(move |applied: &Applied| {
            history
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .record_applied(id, applied);
        });
        let network = SimNetworkFactory {
            from: id,
            router: self.router.clone(),
        };
        let options = LogStoreOptions { sync_writes: false };
        let quorum = Quorum::<SimTypes>::start_with(config, network, options, Some(observer))
            .await
            .unwrap_or_else(|e| panic!("seed {}: node {id} failed to start: {e}", self.seed));
        tokio::spawn(watch_leaders(id, quorum.clone(), self.history.clone()));
        self.router.lock().nodes.insert(id, quorum);
    }

    async fn crash(&mut self, id: u64) {
        let quorum = self.router.lock().nodes.remove(&id);
        if let Some(quorum) = quorum {
            quorum.shutdown().await;
        }
    }

    /// Proposes a new topic at `node` (or at a leader, if `node` is `None`) in a task
    /// of its own: a proposal at a cut-off leader waits until that leader steps down.
    fn propose(&mut self, node: Option<u64>) {
        let target = match node {
            Some(id) => self.node(id),
            None => self
                .live()
                .into_iter()
                .filter_map(|id| self.node(id))
                .find(|q| q.is_leader()),
        };
        let name = format!("topic-{}", self.next_topic);
        self.next_topic += 1;
        let Some(quorum) = target else {
            return;
        };
        let records = vec![MetadataRecord::CreateTopic {
            name: name.clone(),
            topic_id: uuid::Uuid::from_u64_pair(self.seed, self.next_topic),
            configs: BTreeMap::new(),
            partitions: vec![PartitionState::new(vec![0, 1, 2])],
        }];
        let task_seed = self.seed ^ self.next_topic;
        self.proposals
            .push(tokio::spawn(DeterministicRng::<TokioRuntime>::scope(
                task_seed,
                async move { (name, quorum.propose(records).await) },
            )));
    }

    /// Each voter goes to the side of the partition given by one bit of `sides`.
    fn partition(&mut self, sides: u64) {
        self.router.lock().side = (0..VOTERS)
            .map(|id| (id, (sides >> id & 1) as u8))
            .collect();
    }

    fn heal(&mut self) {
        self.router.lock().side = (0..VOTERS).map(|id| (id, 0)).collect();
    }

    fn check(&self, step: &str) {
        let history = self.history();
        assert!(
            history.violations.is_empty(),
            "quorum sim seed {} (replay with RAFKA_SIM_SEED={}): after {step}: {:#?}",
            self.seed,
            self.seed,
            history.violations
        );
    }

    async fn run(mut self) -> Progress {
        for id in 0..VOTERS {
            self.start(id).await;
        }
        for step in 0..STEPS {
            // Every step draws the same numbers whatever state the cluster is in, so the
            // schedule a seed produces does not depend on how earlier steps played out.
            let roll = self.rng.below(100);
            let node = self.rng.below(VOTERS);
            let at_leader = self.rng.percent(80);
            let sides = self.rng.below(1 << VOTERS);
            let advance_ms = self.rng.below(3000);
            let gap_ms = self.rng.below(200);
            let live = self.live().contains(&node);
            let description = match roll {
                0..=34 => {
                    self.propose((!at_leader).then_some(node));
                    format!(
                        "propose at {}",
                        if at_leader {
                            "the leader".to_string()
                        } else {
                            node.to_string()
                        }
                    )
                }
                35..=44 if live && self.live().len() > 1 => {
                    self.crash(node).await;
                    format!("crash {node}")
                }
                45..=59 if !live => {
                    self.start(node).await;
                    format!("restart {node}")
                }
                60..=69 => {
                    self.partition(sides);
                    format!("partition {:?}", self.router.lock().side)
                }
                70..=79 => {
                    self.heal();
                    "heal".to_string()
                }
                80.. => {
                    tokio::time::sleep(Duration::from_millis(advance_ms)).await;
                    format!("advance {advance_ms} ms")
                }
                _ => "nothing".to_string(),
            };
            tokio::time::sleep(Duration::from_millis(gap_ms)).await;
            if std::env::var_os("RAFKA_SIM_VERBOSE").is_some() {
                let leaders: Vec<_> = self
                    .live()
                    .into_iter()
                    .filter_map(|id| self.node(id))
                    .map(|q| (q.node_id(), q.leader(), q.image().borrow().offset))
                    .collect();
                eprintln!("step {step}: {description}; (node, leader, offset): {leaders:?}");
            }
            self.check(&format!("step {step}: {description}"));
        }
        self.settle().await
    }

    /// Heals everything, then waits for convergence and checks the proposals.
    async fn settle(&mut self) -> Progress {
        self.heal();
        self.router.lock().loss_percent = 0;
        for id in self.down() {
            self.start(id).await;
        }
        // Virtual time: the clock is paused and jumps whenever every task waits.
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut outcomes = Vec::new();
        for proposal in std::mem::take(&mut self.proposals) {
            let outcome = tokio::time::timeout_at(deadline, proposal)
                .await
                .unwrap_or_else(|_| {
                    panic!("quorum sim seed {}: a proposal never finished", self.seed)
                })
                .expect("proposal task panicked");
            outcomes.push(outcome);
        }
        // A last proposal at the leader commits everything before it.
        loop {
            assert!(
                Instant::now() < deadline,
                "quorum sim seed {}: no leader accepted the final proposal",
                self.seed
            );
            let leader = self
                .live()
                .into_iter()
                .find(|id| self.node(*id).is_some_and(|q| q.is_leader()));
            if let Some(quorum) = leader.and_then(|id| self.node(id)) {
                if let Ok(Ok(_)) =
                    tokio::time::timeout(Duration::from_secs(5), quorum.propose(vec![])).await
                {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let images = loop {
            let images: Vec<_> = self
                .live()
                .into_iter()
                .filter_map(|id| self.node(id))
                .map(|q| q.image().borrow().clone())
                .collect();
            if images.iter().all(|image| **image == *images[0]) {
                break images;
            }
            assert!(
                Instant::now() < deadline,
                "quorum sim seed {}: images never converged: offsets {:?}",
                self.seed,
                images.iter().map(|i| i.offset).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        self.check("settling");

        let progress = self.check_proposals(&outcomes, &images);
        for id in self.live() {
            self.crash(id).await;
        }
        progress
    }

    /// Every proposal that returned `Ok(index)` is in every image, and is what was
    /// applied at `index`.
    fn check_proposals(
        &self,
        outcomes: &[(String, Result<u64, ProposeError>)],
        images: &[Arc<ClusterImage>],
    ) -> Progress {
        let history = self.history();
        for (name, outcome) in outcomes {
            let Ok(index) = outcome else { continue };
            for image in images {
                assert!(
                    image.topics.contains_key(name),
                    "quorum sim seed {}: {name}, committed at {index}, is missing from an image",
                    self.seed
                );
            }
            let at_index = history.applied.get(index).map(|(records, _)| records);
            let holds_it = at_index.is_some_and(|records| {
                records
                    .iter()
                    .any(|r| matches!(r, MetadataRecord::CreateTopic { name: n, .. } if n == name))
            });
            assert!(
                holds_it,
                "quorum sim seed {}: {name} returned index {index}, which holds {at_index:?}",
                self.seed
            );
        }
        let committed = outcomes
            .iter()
            .filter(|(_, outcome)| outcome.is_ok())
            .count();
        eprintln!(
            "quorum sim seed {}: {} proposals, {committed} committed, {} terms, {} snapshots \
             installed, final offset {}",
            self.seed,
            outcomes.len(),
            history.leaders.len(),
            history.snapshots_installed,
            images[0].offset
        );
        Progress {
            committed,
            terms: history.leaders.len(),
            snapshots_installed: history.snapshots_installed,
        }
    }
}

/// What one run got done, so that a run that did nothing cannot pass.
#[derive(Debug, Default)]
struct Progress {
    committed: usize,
    terms: usize,
    snapshots_installed: usize,
}

/// Records every leader a node reports (its own leadership and the committed votes
/// it holds) for the one-leader-per-term check.
async fn watch_leaders(id: u64, quorum: Quorum<SimTypes>, history: Arc<Mutex<History>>) {
    let mut metrics = quorum.raft().metrics();
    drop(quorum);
    loop {
        {
            let m = metrics.borrow_watched();
            let mut history = history.lock().unwrap_or_else(|e| e.into_inner());
            if m.state == ServerState::Leader {
                history.record_leader(m.current_term, id, &format!("node {id} leading"));
            }
            if m.vote.is_committed() {
                let leader = m.vote.leader_id();
                history.record_leader(leader.term, leader.voted_for, &format!("node {id}'s vote"));
            }
        }
        if metrics.changed().await.is_err() {
            return;
        }
    }
}

fn seeds() -> Vec<u64> {
    match std::env::var("RAFKA_SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("RAFKA_SIM_SEED is a u64")],
        Err(_) => SEEDS.to_vec(),
    }
}

#[tokio::test(start_paused = true)]
async fn quorum_stays_consistent_under_crashes_partitions_and_loss() {
    let mut total = Progress::default();
    for seed in seeds() {
        eprintln!("quorum sim seed {seed}");
        let started = std::time::Instant::now();
        let done = Arc::new(AtomicBool::new(false));
        watchdog(seed, done.clone());
        let progress = DeterministicRng::<TokioRuntime>::scope(seed, Sim::new(seed).run()).await;
        done.store(true, Ordering::Relaxed);
        eprintln!("quorum sim seed {seed}: {:?} real time", started.elapsed());
        assert!(
            progress.committed > 0,
            "quorum sim seed {seed} committed nothing"
        );
        total.terms += progress.terms;
        total.snapshots_installed += progress.snapshots_installed;
    }
    // Over the seeds, the faults forced new elections and snapshot installs: the checks
    // above ran against more than one quiet leader.
    assert!(
        total.terms > seeds().len(),
        "no run saw a second term: {total:?}"
    );
    assert!(
        total.snapshots_installed > 0,
        "no run installed a snapshot: {total:?}"
    );
}

/// A livelock freezes the paused clock, so no simulated deadline can end it: abort the
/// test after a minute of real time, naming the seed.
fn watchdog(seed: u64, done: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if done.load(Ordering::Relaxed) {
                return;
            }
            std::thread::park_timeout(Duration::from_millis(100));
        }
        eprintln!("quorum sim seed {seed} made no progress in 60 s of real time: livelock");
        std::process::abort();
    });
}
