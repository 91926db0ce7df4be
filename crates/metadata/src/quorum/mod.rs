//! The controller quorum: the voters replicate the metadata log with Raft (openraft)
//! and each applies it to its own [`ClusterImage`].
//!
//! The quorum knows nothing of what the records mean or who may propose them: the
//! active controller (the Raft leader) validates and proposes, and every voter applies
//! the committed entries in the same order.
//!
//! Pieces: [`log_store`] (the Raft log and vote on disk), [`state_machine`] (the image
//! and its snapshots), [`network`] (Raft RPCs over the controller listener, see
//! [`crate::server`]). The storage and state machine are generic over the runtime
//! ([`QuorumTypes`]) so that the seeded simulation test runs the very same code with an
//! in-memory network.

mod log_store;
mod network;
mod state_machine;
mod types;

#[cfg(test)]
mod sim;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::errors::{ClientWriteError, ForwardReason, InitializeError, RaftError};
use openraft::network::{NetSnapshot, RaftNetworkFactory};
use openraft::raft::ClientWriteResponse;
use openraft::rt::WatchReceiver;
use openraft::storage::Snapshot;
use openraft::{BasicNode, Config, Raft, SnapshotPolicy};
use tokio::sync::watch;
use tokio::time::Instant;

use self::log_store::{LogStore, LogStoreOptions};
use self::network::TcpNetworkFactory;
use self::state_machine::{ApplyObserver, StateMachine};
pub use self::types::{
    CommittedLeaderId, ImageSnapshot, LeaderId, LogEntry, LogId, Payload, QuorumStatus,
    QuorumTypes, RaftRequest, RaftResponse, RecordBatch, ReplicaStatus, SnapshotMeta,
    StoredMembership, TypeConfig, Vote,
};
use crate::image::ClusterImage;
use crate::records::MetadataRecord;

/// How to run one voter of the quorum.
#[derive(Debug, Clone)]
pub struct QuorumConfig {
    /// This voter's Kafka `node.id`.
    pub node_id: i32,
    /// Every voter's controller listener, `host:port`, by node id
    /// (`controller.quorum.voters`); must include `node_id`.
    pub voters: BTreeMap<i32, String>,
    /// Where the metadata log lives: `<first log dir>/__cluster_metadata-0`.
    pub dir: PathBuf,
    /// A follower that hears no leader for a random time in `[min, max)` starts an
    /// election.
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// How often the leader heartbeats; well under the election timeout.
    pub heartbeat_interval_ms: u64,
    /// Entries applied between snapshots; the log before a snapshot is then purged.
    pub snapshot_interval_entries: u64,
    /// How this voter connects to the others' controller listeners: TLS and SASL as
    /// the controller listener's protocol says (plain TCP by default).
    pub client_security: rafka_client::ClientSecurity,
}

impl QuorumConfig {
    /// A config with Kafka-like timings: 1–2 s elections, 250 ms heartbeats.
    pub fn new(node_id: i32, voters: BTreeMap<i32, String>, dir: PathBuf) -> QuorumConfig {
        QuorumConfig {
            node_id,
            voters,
            dir,
            election_timeout_min_ms: 1000,
            election_timeout_max_ms: 2000,
            heartbeat_interval_ms: 250,
            snapshot_interval_entries: 1000,
            client_security: rafka_client::ClientSecurity::default(),
        }
    }

    fn raft_config(&self) -> Result<Config, QuorumError> {
        if self.node_id < 0 {
            return Err(QuorumError::Config(format!(
                "node id {} is negative",
                self.node_id
            )));
        }
        if !self.voters.contains_key(&self.node_id) {
            return Err(QuorumError::Config(format!(
                "node {} is not one of the voters {:?}",
                self.node_id,
                self.voters.keys().collect::<Vec<_>>()
            )));
        }
        if let Some(negative) = self.voters.keys().find(|id| **id < 0) {
            return Err(QuorumError::Config(format!(
                "voter id {negative} is negative"
            )));
        }
        Config {
            cluster_name: "rafka-metadata".to_string(),
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            heartbeat_interval: self.heartbeat_interval_ms,
            // One message carries the whole snapshot; give a large image time to cross.
            install_snapshot_timeout: 10_000,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.snapshot_interval_entries),
            // Keep the entries since the last snapshot so that a follower a little behind
            // catches up from the log rather than needing the whole image.
            max_in_snapshot_log_to_keep: self.snapshot_interval_entries,
            // A voter back from a partition must not depose a healthy leader.
            enable_pre_vote: Some(true),
            // openraft's default lets a restarted leader resume without an election; with
            // a state machine rebuilt from snapshot + log, standard Raft (elect again) is
            // the safer reading of "restart".
            enable_leader_restore: Some(false),
            ..Config::default()
        }
        .validate()
        .map_err(|e| QuorumError::Config(e.to_string()))
    }

    fn members(&self) -> BTreeMap<u64, BasicNode> {
        self.voters
            .iter()
            .map(|(id, addr)| (raft_id(*id), BasicNode::new(addr)))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuorumError {
    #[error("invalid controller quorum config: {0}")]
    Config(String),
    #[error("metadata log in {path}: {source}")]
    Storage { path: PathBuf, source: io::Error },
    #[error("controller quorum: {0}")]
    Raft(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// This voter is not the leader; nothing was written. Propose at `leader`.
    #[error("not the active controller; the leader is {leader:?}")]
    NotLeader { leader: Option<i32> },
    /// The entry was appended, then leadership changed before it committed: it may yet
    /// be committed by the new leader, or be lost. Check the image before retrying.
    #[error("leadership changed before the proposal committed; its fate is unknown (leader now {leader:?})")]
    Indeterminate { leader: Option<i32> },
    #[error("{0}")]
    Other(String),
}

/// A handle to this node's voter of the quorum; clones share it. Stop the voter with
/// [`shutdown`](Quorum::shutdown): dropping the handles is not guaranteed to stop
/// openraft's tasks.
pub struct Quorum<C: QuorumTypes = TypeConfig> {
    inner: Arc<Inner<C>>,
}

struct Inner<C: QuorumTypes> {
    node_id: i32,
    raft: Raft<C, StateMachine<C>>,
    image: watch::Receiver<Arc<ClusterImage>>,
    leader: watch::Receiver<Option<i32>>,
    /// Shared with `leader_task`, so that shutdown can say nobody leads any more.
    leader_tx: Arc<watch::Sender<Option<i32>>>,
    leader_task: tokio::task::JoinHandle<()>,
    /// How long a proposal waits for a leader's lease, and how often it looks (see
    /// `propose`).
    lease_wait: Duration,
    lease_poll: Duration,
}

impl<C: QuorumTypes> Drop for Inner<C> {
    fn drop(&mut self) {
        self.leader_task.abort();
    }
}

impl<C: QuorumTypes> Clone for Quorum<C> {
    fn clone(&self) -> Self {
        Quorum {
            inner: self.inner.clone(),
        }
    }
}

impl<C: QuorumTypes> fmt::Debug for Quorum<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Quorum")
            .field("node_id", &self.inner.node_id)
            .field("leader", &*self.inner.leader.borrow())
            .field("offset", &self.inner.image.borrow().offset)
            .finish()
    }
}

impl Quorum<TypeConfig> {
    /// Opens the metadata log in `config.dir`, starts this voter and, on a pristine log,
    /// forms the quorum from `config.voters`. Every voter does the same with the same
    /// voter set; openraft accepts identical initializations on several nodes.
    pub async fn start(config: QuorumConfig) -> Result<Quorum, QuorumError> {
        let network =
            TcpNetworkFactory::new(raft_id(config.node_id), config.client_security.clone());
        Quorum::start_with(config, network, LogStoreOptions::default(), None).await
    }
}

impl<C: QuorumTypes> Quorum<C> {
    /// [`Quorum::start`] over any network and runtime (the simulation's).
    pub(crate) async fn start_with<N>(
        config: QuorumConfig,
        network: N,
        options: LogStoreOptions,
        observer: Option<ApplyObserver>,
    ) -> Result<Quorum<C>, QuorumError>
    where
        N: RaftNetworkFactory<C>,
        N::Network: NetSnapshot<C, SnapshotData = ClusterImage>,
    {
        let raft_config = Arc::new(config.raft_config()?);
        let storage_error = |source| QuorumError::Storage {
            path: config.dir.clone(),
            source,
        };
        let log_store = LogStore::<C>::open(&config.dir, options).map_err(storage_error)?;
        let (state_machine, image) =
            StateMachine::<C>::open(&config.dir, options.sync_writes, observer)
                .map_err(storage_error)?;
        let raft = Raft::new(
            raft_id(config.node_id),
            raft_config,
            network,
            log_store,
            state_machine,
        )
        .await
        .map_err(|e| QuorumError::Raft(e.to_string()))?;

        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| QuorumError::Raft(e.to_string()))?;
        if !initialized {
            match raft.initialize(config.members()).await {
                Ok(()) | Err(RaftError::APIError(InitializeError::NotAllowed(_))) => {}
                Err(e) => return Err(QuorumError::Raft(e.to_string())),
            }
        }

        let (leader_tx, leader) = watch::channel(None);
        let leader_tx = Arc::new(leader_tx);
        let leader_task = tokio::spawn(watch_leader::<C>(raft.metrics(), leader_tx.clone()));
        Ok(Quorum {
            inner: Arc::new(Inner {
                node_id: config.node_id,
                raft,
                image,
                leader,
                leader_tx,
                leader_task,
                lease_wait: Duration::from_millis(config.election_timeout_max_ms),
                lease_poll: Duration::from_millis((config.heartbeat_interval_ms / 2).max(1)),
            }),
        })
    }

    pub fn node_id(&self) -> i32 {
        self.inner.node_id
    }

    /// Appends `records` as one entry and waits until it is committed and applied to
    /// this node's image; returns its log index, the image offset that includes it.
    ///
    /// A leader accepts writes only while a quorum has acknowledged it within the last
    /// election timeout (its lease): a new leader gets there within a heartbeat, so a
    /// proposal at a leader without a lease waits up to an election timeout for one
    /// before giving up with `NotLeader { leader: None }`, rather than bouncing the first
    /// proposals of every term.
    pub async fn propose(&self, records: Vec<MetadataRecord>) -> Result<u64, ProposeError> {
        let batch = RecordBatch(records);
        let deadline = Instant::now() + self.inner.lease_wait;
        loop {
            match self.inner.raft.client_write(batch.clone()).await {
                Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward)))
                    if forward.reason == ForwardReason::LeaseExpired
                        && Instant::now() < deadline =>
                {
                    // Polled, not awaited on metrics: openraft updates its metrics for
                    // the refused write itself, so waiting for "a change" would spin
                    // without letting time pass.
                    tokio::time::sleep(self.inner.lease_poll).await;
                }
                result => return Self::propose_result(result),
            }
        }
    }

    fn propose_result(
        result: Result<ClientWriteResponse<C>, RaftError<C, ClientWriteError<C>>>,
    ) -> Result<u64, ProposeError> {
        match result {
            Ok(response) => Ok(response.data),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
                Err(ProposeError::NotLeader {
                    leader: forward.leader_id.and_then(kafka_id),
                })
            }
            Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(forward))) => {
                Err(ProposeError::Indeterminate {
                    leader: forward.leader_id.and_then(kafka_id),
                })
            }
            Err(e) => Err(ProposeError::Other(e.to_string())),
        }
    }

    /// What DescribeQuorum reports, as this node sees it: its leader and term, the
    /// committed end of the log, and (on the leader) how far each voter has replicated
    /// and when it last answered. Offsets are Kafka-style ends: the next index.
    pub fn status(&self, now_wall_ms: i64) -> QuorumStatus {
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        let ms_ago = |elapsed: Duration| {
            now_wall_ms - i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        };
        let end = |index: Option<u64>| index.map_or(0, |i| i as i64 + 1);
        let leader_end = end(metrics.last_log_index);
        let mut voters = BTreeMap::new();
        if let Some(replication) = &metrics.replication {
            let heartbeats = metrics.heartbeat.clone().unwrap_or_default();
            for (id, matched) in replication {
                let Some(id) = kafka_id(*id) else { continue };
                let log_end = end(matched.as_ref().map(|l| l.index));
                let last_fetch = if id == self.inner.node_id {
                    now_wall_ms
                } else {
                    heartbeats
                        .get(&raft_id(id))
                        .and_then(|h| h.as_ref())
                        .map_or(-1, |at| ms_ago(openraft::rt::Instant::elapsed(&**at)))
                };
                let caught_up = if log_end >= leader_end {
                    last_fetch
                } else {
                    -1
                };
                voters.insert(
                    id,
                    ReplicaStatus {
                        log_end_offset: log_end,
                        last_fetch_ms: last_fetch,
                        last_caught_up_ms: caught_up,
                    },
                );
            }
        }
        QuorumStatus {
            leader: metrics.current_leader.and_then(kafka_id),
            term: metrics.current_term,
            high_watermark: end(metrics.cluster_committed.as_ref().map(|l| l.index)),
            voters,
        }
    }

    /// The leader as this node last heard, if any.
    pub fn leader(&self) -> Option<i32> {
        *self.inner.leader.borrow()
    }

    pub fn is_leader(&self) -> bool {
        self.inner.raft.is_leader()
    }

    /// Waits until this leader has applied every entry committed before now (openraft's
    /// ReadIndex read): a new leader's image may lag its log, and a decision made on a
    /// stale image could repeat one already committed (a producer id block handed out
    /// twice).
    pub async fn ensure_applied(&self) -> Result<(), ProposeError> {
        match self
            .inner
            .raft
            .ensure_linearizable(openraft::ReadPolicy::ReadIndex)
            .await
        {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(openraft::error::LinearizableReadError::ForwardToLeader(
                forward,
            ))) => Err(ProposeError::NotLeader {
                leader: forward.leader_id.and_then(kafka_id),
            }),
            Err(e) => Err(ProposeError::Other(e.to_string())),
        }
    }

    /// The image as of the last applied entry; changes with every applied batch.
    pub fn image(&self) -> watch::Receiver<Arc<ClusterImage>> {
        self.inner.image.clone()
    }

    /// The leader as this node knows it; changes when leadership does.
    pub fn leader_watch(&self) -> watch::Receiver<Option<i32>> {
        self.inner.leader.clone()
    }

    /// Answers a Raft RPC from another voter.
    pub async fn handle_raft(&self, request: RaftRequest<C>) -> RaftResponse<C> {
        let raft = &self.inner.raft;
        let unavailable = |e: &dyn fmt::Display| RaftResponse::Unavailable(e.to_string());
        match request {
            RaftRequest::AppendEntries(req) => match raft.append_entries(req).await {
                Ok(response) => RaftResponse::AppendEntries(response),
                Err(e) => unavailable(&e),
            },
            RaftRequest::Vote(req) => match raft.vote(req).await {
                Ok(response) => RaftResponse::Vote(response),
                Err(e) => unavailable(&e),
            },
            RaftRequest::PreVote(req) => match raft.pre_vote(req).await {
                Ok(response) => RaftResponse::Vote(response),
                Err(e) => unavailable(&e),
            },
            RaftRequest::InstallSnapshot { vote, meta, image } => {
                let snapshot = Snapshot {
                    meta,
                    snapshot: *image,
                };
                match raft.install_full_snapshot(vote, snapshot).await {
                    Ok(response) => RaftResponse::InstallSnapshot(response),
                    Err(e) => unavailable(&e),
                }
            }
        }
    }

    /// Stops this voter; its handles then answer every call with an error, and its
    /// leader watch says `None`.
    pub async fn shutdown(&self) {
        if let Err(e) = self.inner.raft.shutdown().await {
            tracing::warn!(node_id = self.inner.node_id, error = %e, "controller quorum shutdown");
        }
        self.inner.leader_task.abort();
        self.inner.leader_tx.send_replace(None);
    }

    /// The underlying Raft, for tests that inspect its metrics.
    #[cfg(test)]
    pub(crate) fn raft(&self) -> &Raft<C, StateMachine<C>> {
        &self.inner.raft
    }
}

/// Mirrors openraft's current leader into a tokio watch, publishing changes only.
async fn watch_leader<C: QuorumTypes>(
    mut metrics: openraft::type_config::alias::WatchReceiverOf<C, openraft::RaftMetrics<C>>,
    leader_tx: Arc<watch::Sender<Option<i32>>>,
) {
    loop {
        let leader = metrics.borrow_watched().current_leader.and_then(kafka_id);
        leader_tx.send_if_modified(|current| {
            let changed = *current != leader;
            *current = leader;
            changed
        });
        if metrics.changed().await.is_err() {
            // The Raft has stopped: nobody leads as far as this node knows.
            leader_tx.send_replace(None);
            return;
        }
    }
}

/// Kafka node ids are `i32 >= 0` (checked by [`QuorumConfig`]); Raft's are `u64`.
fn raft_id(node_id: i32) -> u64 {
    u64::try_from(node_id).unwrap_or(u64::MAX)
}

fn kafka_id(raft_id: u64) -> Option<i32> {
    i32::try_from(raft_id).ok()
}
