//! Raft RPCs between controllers over their controller listeners.
//!
//! openraft asks for a network client per replication stream, per heartbeat worker and
//! per election round. They all draw connections from one pool per node, so that a
//! peer is not reconnected for every vote, and a connection is only ever used by one
//! RPC at a time (the listener answers a connection's requests in order).
//!
//! Failures map onto openraft's errors so that it backs off correctly: a peer that
//! cannot be connected to is `Unreachable` (openraft waits before retrying it), a
//! connection that fails mid-call is a `Network` error, and a call that outlives its
//! deadline is a `Timeout`. Connect and call share the RPC's deadline, so a dead peer
//! never stalls an election past its timeout.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::errors::{
    NetworkError, RPCError, ReplicationClosed, StreamingError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::{BasicNode, OptionalSend, RPCTypes};
use rafka_client::ClientSecurity;
use tokio::time::Instant;

use super::types::{ImageSnapshot, RaftRequest, RaftResponse, TypeConfig, Vote};
use crate::image::ClusterImage;
use crate::rpc::{ControllerClient, ControllerRequest, ControllerResponse};

/// Idle connections by peer address.
#[derive(Debug, Default)]
struct ConnectionPool {
    idle: Mutex<HashMap<String, Vec<ControllerClient>>>,
}

impl ConnectionPool {
    fn take(&self, addr: &str) -> Option<ControllerClient> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.get_mut(addr)?.pop()
    }

    fn put(&self, client: ControllerClient) {
        if client.is_broken() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.entry(client.addr().to_string())
            .or_default()
            .push(client);
    }
}

/// Makes network clients for one controller's Raft.
#[derive(Debug)]
pub(crate) struct TcpNetworkFactory {
    node_id: u64,
    pool: Arc<ConnectionPool>,
    security: Arc<ClientSecurity>,
}

impl TcpNetworkFactory {
    pub(crate) fn new(node_id: u64, security: ClientSecurity) -> TcpNetworkFactory {
        TcpNetworkFactory {
            node_id,
            pool: Arc::default(),
            security: Arc::new(security),
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for TcpNetworkFactory {
    type Network = TcpNetwork;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> TcpNetwork {
        TcpNetwork {
            node_id: self.node_id,
            target,
            addr: node.addr.clone(),
            pool: self.pool.clone(),
            security: self.security.clone(),
        }
    }
}

/// RPCs to one peer.
pub(crate) struct TcpNetwork {
    node_id: u64,
    target: u64,
    addr: String,
    pool: Arc<ConnectionPool>,
    security: Arc<ClientSecurity>,
}

impl fmt::Debug for TcpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpNetwork")
            .field("target", &self.target)
            .field("addr", &self.addr)
            .finish()
    }
}

type RpcResult<T> = Result<T, RPCError<TypeConfig>>;

impl TcpNetwork {
    /// One request and its answer within `ttl`, connect included.
    async fn call(
        &self,
        request: RaftRequest,
        action: RPCTypes,
        ttl: Duration,
    ) -> RpcResult<RaftResponse> {
        let deadline = Instant::now() + ttl;
        let timeout = || {
            RPCError::Timeout(Timeout {
                action,
                id: self.node_id,
                target: self.target,
                timeout: ttl,
            })
        };
        // A pooled connection may have been closed by a peer that restarted since; the
        // call then fails as a network error and openraft's retry gets a fresh one.
        let mut client = match self.pool.take(&self.addr) {
            Some(client) => client,
            None => self.connect(deadline).await?,
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let answer = client
            .call_within(ControllerRequest::Raft(Box::new(request)), remaining)
            .await;
        match answer {
            Ok(ControllerResponse::Raft(RaftResponse::Unavailable(reason))) => {
                self.pool.put(client);
                Err(RPCError::Unreachable(Unreachable::from_string(format!(
                    "controller {} at {}: {reason}",
                    self.target, self.addr
                ))))
            }
            Ok(ControllerResponse::Raft(response)) => {
                self.pool.put(client);
                Ok(response)
            }
            Ok(other) => Err(RPCError::Network(NetworkError::from_string(format!(
                "controller {} at {} answered a Raft request with {other:?}",
                self.target, self.addr
            )))),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(timeout()),
            Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }

    async fn connect(&self, deadline: Instant) -> RpcResult<ControllerClient> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        ControllerClient::connect(&self.addr, remaining, &self.security)
            .await
            .map_err(|e| {
                RPCError::Unreachable(Unreachable::from_string(format!(
                    "controller {} at {}: {e}",
                    self.target, self.addr
                )))
            })
    }
}

fn unexpected(target: u64, response: RaftResponse) -> RPCError<TypeConfig> {
    RPCError::Network(NetworkError::from_string(format!(
        "controller {target} answered with the wrong kind of response: {response:?}"
    )))
}

impl RaftNetworkV2<TypeConfig> for TcpNetwork {
    type SnapshotData = ClusterImage;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<TypeConfig>> {
        let response = self
            .call(
                RaftRequest::AppendEntries(rpc),
                RPCTypes::AppendEntries,
                option.soft_ttl(),
            )
            .await?;
        match response {
            RaftResponse::AppendEntries(response) => Ok(response),
            other => Err(unexpected(self.target, other)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<TypeConfig>> {
        match self
            .call(RaftRequest::Vote(rpc), RPCTypes::Vote, option.soft_ttl())
            .await?
        {
            RaftResponse::Vote(response) => Ok(response),
            other => Err(unexpected(self.target, other)),
        }
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<TypeConfig>> {
        match self
            .call(RaftRequest::PreVote(rpc), RPCTypes::Vote, option.soft_ttl())
            .await?
        {
            RaftResponse::Vote(response) => Ok(response),
            other => Err(unexpected(self.target, other)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: ImageSnapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let request = RaftRequest::InstallSnapshot {
            vote,
            meta: snapshot.meta,
            image: Box::new(snapshot.snapshot),
        };
        let call = self.call(request, RPCTypes::InstallSnapshot, option.hard_ttl());
        let response = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            response = call => response,
        };
        match response {
            Ok(RaftResponse::InstallSnapshot(response)) => Ok(response),
            Ok(other) => Err(network_to_streaming(unexpected(self.target, other))),
            Err(e) => Err(network_to_streaming(e)),
        }
    }
}

fn network_to_streaming(e: RPCError<TypeConfig>) -> StreamingError<TypeConfig> {
    match e {
        RPCError::Timeout(e) => StreamingError::Timeout(e),
        RPCError::Unreachable(e) => StreamingError::Unreachable(e),
        RPCError::Network(e) => StreamingError::Network(e),
        other => StreamingError::Network(NetworkError::new(&other)),
    }
}
