//! The quorum's openraft type configuration, the Raft messages peers exchange, and the
//! quorum's status as DescribeQuorum reports it.
//!
//! Every type but the async runtime is concrete: production runs on tokio
//! ([`TypeConfig`]), the simulation test on tokio with openraft's seeded RNG, and the
//! storage, state machine and [`Quorum`](super::Quorum) are the same code for both,
//! generic over [`QuorumTypes`].

use std::collections::BTreeMap;
use std::fmt;

use openraft::impls::BasicNode;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::vote::RaftLeaderId;
use openraft::{EntryPayload, RaftTypeConfig};
use serde::{Deserialize, Serialize};

use crate::image::ClusterImage;
use crate::records::MetadataRecord;

/// One metadata log entry's records, applied atomically: a topic and all its
/// partitions appear in the image together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordBatch(pub Vec<MetadataRecord>);

/// openraft logs entries with `Display`; the records themselves are too long for that.
impl fmt::Display for RecordBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} metadata records", self.0.len())
    }
}

/// Standard Raft leader ids: at most one leader per term. openraft's default
/// ("advanced") ids allow several leaders in one term, which the simulation's
/// one-leader-per-term check, and most readers of Raft, would not expect.
pub type LeaderId = openraft::vote::leader_id_std::LeaderId<u64, u64>;
pub type CommittedLeaderId = <LeaderId as RaftLeaderId>::Committed;
pub type Vote = openraft::impls::Vote<LeaderId>;
pub type Payload = EntryPayload<RecordBatch, u64, BasicNode>;
pub type LogEntry = openraft::Entry<CommittedLeaderId, Payload>;
pub type LogId = openraft::LogId<CommittedLeaderId>;
pub type SnapshotMeta = openraft::SnapshotMeta<CommittedLeaderId, u64, BasicNode>;
pub type StoredMembership = openraft::StoredMembership<CommittedLeaderId, u64, BasicNode>;
/// A snapshot of the state machine: the image as of `meta.last_log_id`.
pub type ImageSnapshot = openraft::Snapshot<CommittedLeaderId, u64, BasicNode, ClusterImage>;

openraft::declare_raft_types!(
    /// The controller quorum's openraft types on the tokio runtime.
    ///
    /// Node ids are Kafka node ids (`node.id`, never negative) widened to `u64`; a node's
    /// `BasicNode::addr` is its controller listener's `host:port`. A log entry's
    /// response is the log index it was applied at, which is the image's new offset.
    pub TypeConfig:
        D = RecordBatch,
        R = u64,
        NodeId = u64,
        Node = BasicNode,
        Term = u64,
        LeaderId = LeaderId,
        Vote = Vote,
        Payload = Payload,
        Entry = LogEntry,
        AsyncRuntime = openraft_rt_tokio::TokioRuntime,
);

/// A Raft type configuration the quorum runs on: [`TypeConfig`], or the same types
/// over another async runtime (the simulation's seeded one).
pub trait QuorumTypes:
    RaftTypeConfig<
    D = RecordBatch,
    R = u64,
    NodeId = u64,
    Node = BasicNode,
    Term = u64,
    LeaderId = LeaderId,
    Vote = Vote,
    Payload = Payload,
    Entry = LogEntry,
>
{
}

impl<T> QuorumTypes for T where
    T: RaftTypeConfig<
        D = RecordBatch,
        R = u64,
        NodeId = u64,
        Node = BasicNode,
        Term = u64,
        LeaderId = LeaderId,
        Vote = Vote,
        Payload = Payload,
        Entry = LogEntry,
    >
{
}

/// A Raft RPC from one controller to another.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum RaftRequest<C: QuorumTypes = TypeConfig> {
    AppendEntries(AppendEntriesRequest<C>),
    Vote(VoteRequest<C>),
    /// Would you vote for me? Asked before a real election so that a node that cannot
    /// win (partitioned, stale log) does not bump everyone's term.
    PreVote(VoteRequest<C>),
    /// A whole snapshot in one message: the image is small next to the frame limit.
    InstallSnapshot {
        vote: Vote,
        meta: SnapshotMeta,
        image: Box<ClusterImage>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum RaftResponse<C: QuorumTypes = TypeConfig> {
    AppendEntries(AppendEntriesResponse<C>),
    /// The answer to `Vote` and to `PreVote`.
    Vote(VoteResponse<C>),
    InstallSnapshot(SnapshotResponse<C>),
    /// The receiver's Raft is stopped or failed; the sender treats the peer as
    /// unreachable.
    Unavailable(String),
}

/// DescribeQuorum's view of the quorum (see [`Quorum::status`](super::Quorum::status)).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QuorumStatus {
    pub leader: Option<i32>,
    pub term: u64,
    pub high_watermark: i64,
    /// Per voter, known on the leader only (empty elsewhere).
    pub voters: BTreeMap<i32, ReplicaStatus>,
}

/// One replica's progress, as DescribeQuorum's ReplicaState carries it: -1 for unknown
/// times (epoch milliseconds otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplicaStatus {
    pub log_end_offset: i64,
    pub last_fetch_ms: i64,
    pub last_caught_up_ms: i64,
}
