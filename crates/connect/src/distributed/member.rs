//! `WorkerGroupMember`: a worker's membership in the Connect group, as a background task
//! over raw group requests (Kafka's `WorkerGroupMember` + `WorkerCoordinator` +
//! `AbstractCoordinator`).
//!
//! The loop finds the group coordinator (FindCoordinator, key type group), joins with
//! protocol type `connect` and the protocols of `connect.protocol` (each with this
//! worker's URL, config offset and current allocation), runs the assignor when it is
//! elected leader, syncs, then heartbeats every `heartbeat.interval.ms` until a rebalance
//! starts, the herder asks to rejoin, or the membership is lost.
//!
//! The herder hears of it through `MemberEvent`s:
//! - `Revoked` before the worker must give up work outside an assignment: before an
//!   eager rebalance (everything), or when the membership is lost (generation or member
//!   id no longer valid, coordinator unreachable for `heartbeat.interval.ms`); the loop
//!   waits for `done` so that nothing runs twice;
//! - `Assigned` after each SyncGroup.
//!
//! Under the cooperative protocols an assignment's revocations come inside `Assigned`
//! (not as a `Revoked` event): the herder stops them and calls `request_rejoin`, and
//! calls it again `delay_ms` after an assignment that carries a delay, as Kafka's
//! `DistributedHerder` does. After a `CONFIG_MISMATCH` assignment the member waits,
//! heartbeating, for the herder's `request_rejoin` (once it has read the config topic to
//! the end) instead of rejoining at once.
//!
//! Unlike Kafka's `WorkerCoordinator`, which keeps running its work when the coordinator
//! says its generation or member id is gone, this member revokes everything first (the
//! consumer's "partitions lost"): a worker the group has dropped may see its work handed
//! to another.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, HeartbeatRequest,
    HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse,
    SyncGroupRequest, SyncGroupResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use parking_lot::Mutex;
use rafka_client::{connect_within_secured, ClientError, WireClient};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

use super::assignor::{
    eager_assignment, ConfigSnapshot, Generations, IncrementalCooperativeAssignor,
};
use super::protocol::{
    decode_assignment, decode_metadata, encode_assignment, ConnectProtocolCompatibility,
    ExtendedAssignment, ExtendedWorkerState, PROTOCOL_TYPE,
};
use crate::herder::ConnectorTaskId;

/// The group settings of a distributed worker (Kafka's `DistributedConfig` keys).
#[derive(Debug, Clone)]
pub struct MemberConfig {
    pub bootstrap_servers: String,
    /// How its connections authenticate (the worker's `security.protocol`, `sasl.*`).
    pub security: rafka_client::ClientSecurity,
    /// `group.id`.
    pub group_id: String,
    /// `client.id`; empty: `connect-N`, N counting the members of this process from 1,
    /// as Kafka's `WorkerGroupMember` names them. Member ids start with it.
    pub client_id: String,
    /// `session.timeout.ms`, default 10000.
    pub session_timeout_ms: i32,
    /// `heartbeat.interval.ms`, default 3000.
    pub heartbeat_interval_ms: i32,
    /// `rebalance.timeout.ms`, default 60000.
    pub rebalance_timeout_ms: i32,
    /// `connect.protocol`, default sessioned.
    pub protocol: ConnectProtocolCompatibility,
    /// `scheduled.rebalance.max.delay.ms`, default 300000.
    pub scheduled_rebalance_max_delay_ms: i32,
    /// The worker's advertised REST URL, sent to the group.
    pub worker_url: String,
    /// `request.timeout.ms`, default 40000: how long a request other than JoinGroup
    /// and SyncGroup may go unanswered.
    pub request_timeout_ms: i32,
    /// `retry.backoff.ms`, default 100.
    pub retry_backoff_ms: i32,
}

impl MemberConfig {
    /// Kafka's defaults for everything but the three things a worker must be told.
    pub fn new(bootstrap_servers: &str, group_id: &str, worker_url: &str) -> MemberConfig {
        MemberConfig {
            bootstrap_servers: bootstrap_servers.to_string(),
            security: rafka_client::ClientSecurity::default(),
            group_id: group_id.to_string(),
            client_id: String::new(),
            session_timeout_ms: 10_000,
            heartbeat_interval_ms: 3_000,
            rebalance_timeout_ms: 60_000,
            protocol: ConnectProtocolCompatibility::Sessioned,
            scheduled_rebalance_max_delay_ms: 300_000,
            worker_url: worker_url.to_string(),
            request_timeout_ms: 40_000,
            retry_backoff_ms: 100,
        }
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the member asks of the herder.
pub trait GroupHandler: Send + Sync + 'static {
    /// The config topic offset this worker has read up to, for JoinGroup's metadata.
    fn config_offset(&self) -> i64;
    /// The leader's view of the config topic, read to the end first; `None` when it
    /// could not be read (the round then answers `CONFIG_MISMATCH`).
    fn config_snapshot(&self) -> BoxFuture<'_, Option<ConfigSnapshot>>;
}

#[derive(Debug)]
pub enum MemberEvent {
    /// The worker must stop this work now; the member waits for `done` (or its drop).
    Revoked {
        connectors: Vec<String>,
        tasks: Vec<ConnectorTaskId>,
        done: oneshot::Sender<()>,
    },
    /// A SyncGroup's assignment. `connectors`/`tasks` are everything this worker should
    /// run now (under the cooperative protocols: the new work plus what it ran before,
    /// less `revoked_*`, as Kafka's `WorkerCoordinator` hands it to its listener).
    /// The worker leads the group when `assignment.leader == member_id`.
    Assigned {
        assignment: ExtendedAssignment,
        generation: i32,
        member_id: String,
        protocol: ConnectProtocolCompatibility,
    },
}

/// What the loop and the handle share.
#[derive(Debug, Default)]
struct Shared {
    generation: Mutex<Option<(i32, String)>>,
    rejoin_requested: AtomicBool,
    rejoin: Notify,
}

/// A worker's group membership; the loop runs until `leave` (or the handle's drop,
/// which stops it without LeaveGroup, as a crashed worker would).
#[derive(Debug)]
pub struct WorkerGroupMember {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl WorkerGroupMember {
    /// Starts the member loop on the current tokio runtime.
    pub fn start(
        config: MemberConfig,
        handler: Arc<dyn GroupHandler>,
    ) -> (WorkerGroupMember, mpsc::UnboundedReceiver<MemberEvent>) {
        let mut config = config;
        if config.client_id.is_empty() {
            static SEQUENCE: AtomicUsize = AtomicUsize::new(1);
            config.client_id = format!("connect-{}", SEQUENCE.fetch_add(1, Ordering::SeqCst));
        }
        let (events, receiver) = mpsc::unbounded_channel();
        let (stop, stop_receiver) = watch::channel(false);
        let shared = Arc::new(Shared::default());
        let member_loop = MemberLoop {
            protocol: config.protocol,
            assignor: IncrementalCooperativeAssignor::new(config.scheduled_rebalance_max_delay_ms),
            config,
            handler,
            events,
            shared: shared.clone(),
            stop: stop_receiver,
            coordinator: None,
            member_id: String::new(),
            generation_id: NO_GENERATION,
            assignment: None,
            last_completed_generation: NO_GENERATION,
            rejoin_needed: true,
            join_prepared: false,
            membership_lost: false,
            coordinator_lost_since: None,
        };
        let task = tokio::spawn(member_loop.run());
        let member = WorkerGroupMember {
            shared,
            stop,
            task: Some(task),
        };
        (member, receiver)
    }

    /// Asks for a rebalance: after revocations were carried out, the config changed
    /// (connectors or task counts), a scheduled delay expired, or a failed assignment
    /// was caught up on.
    pub fn request_rejoin(&self) {
        self.shared.rejoin_requested.store(true, Ordering::SeqCst);
        self.shared.rejoin.notify_one();
    }

    /// The generation and member id of the last completed join, while still a member.
    pub fn generation(&self) -> Option<(i32, String)> {
        self.shared.generation.lock().clone()
    }

    /// Leaves the group (LeaveGroup, so that the others rebalance at once) and stops.
    pub async fn leave(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for WorkerGroupMember {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

const NO_GENERATION: i32 = -1;

/// What to do after a step of the protocol.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    /// Carry on (joined, or heartbeating ended for a rejoin).
    Continue,
    /// Join again at once (a new member id, a rebalance under way).
    Rejoin,
    /// The coordinator moved or went away: find it again.
    Rediscover,
    /// Wait `retry.backoff.ms`, then carry on.
    Backoff,
}

struct MemberLoop {
    config: MemberConfig,
    handler: Arc<dyn GroupHandler>,
    events: mpsc::UnboundedSender<MemberEvent>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
    coordinator: Option<WireClient>,
    member_id: String,
    generation_id: i32,
    /// The protocol the group runs (the coordinator's choice at the last join).
    protocol: ConnectProtocolCompatibility,
    /// What this worker runs, as the group knows it (Kafka's `assignmentSnapshot`).
    assignment: Option<ExtendedAssignment>,
    last_completed_generation: i32,
    assignor: IncrementalCooperativeAssignor,
    rejoin_needed: bool,
    /// The eager revocation was done for the rebalance under way.
    join_prepared: bool,
    /// JoinGroup or SyncGroup said this member's id or generation is gone: what it runs
    /// is revoked before it joins again.
    membership_lost: bool,
    coordinator_lost_since: Option<Instant>,
}

impl MemberLoop {
    async fn run(mut self) {
        while !*self.stop.borrow() {
            if self.coordinator.is_none() && !self.discover_coordinator().await {
                self.backoff().await;
                continue;
            }
            let must_join = self.rejoin_needed
                || self.assignment.is_none()
                || self.shared.rejoin_requested.load(Ordering::SeqCst);
            let next = if must_join {
                self.join().await
            } else {
                self.heartbeat_until_rejoin().await
            };
            match next {
                Next::Continue | Next::Rejoin => {}
                Next::Rediscover => self.coordinator = None,
                Next::Backoff => self.backoff().await,
            }
        }
        self.leave_group().await;
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.config.request_timeout_ms.max(1) as u64)
    }

    /// JoinGroup and SyncGroup may wait for the whole group to (re)join.
    fn rebalance_call_timeout(&self) -> Duration {
        let rebalance = Duration::from_millis(self.config.rebalance_timeout_ms.max(0) as u64);
        self.timeout().max(rebalance + Duration::from_secs(5))
    }

    async fn backoff(&mut self) {
        let wait = Duration::from_millis(self.config.retry_backoff_ms.max(1) as u64);
        let _ = tokio::time::timeout(wait, self.stop.changed()).await;
    }

    /// FindCoordinator through the bootstrap servers, then a connection to it. A
    /// coordinator unreachable for `heartbeat.interval.ms` costs the worker its work
    /// (Kafka's `WorkerCoordinator.poll`).
    async fn discover_coordinator(&mut self) -> bool {
        match self.find_coordinator().await {
            Ok(client) => {
                self.coordinator = Some(client);
                self.coordinator_lost_since = None;
                true
            }
            Err(error) => {
                tracing::debug!(group = %self.config.group_id, %error, "group coordinator not found");
                let since = *self.coordinator_lost_since.get_or_insert_with(Instant::now);
                let patience = Duration::from_millis(self.config.heartbeat_interval_ms as u64);
                if since.elapsed() >= patience && self.assignment.is_some() {
                    tracing::info!(
                        "group coordinator unreachable for {} ms: revoking the assignment so as not to run work outside the group",
                        patience.as_millis()
                    );
                    self.revoke_all().await;
                }
                false
            }
        }
    }

    async fn find_coordinator(&self) -> Result<WireClient, String> {
        let patience = Duration::from_millis(self.config.heartbeat_interval_ms.max(1000) as u64);
        let address = coordinator_address(
            &self.config.bootstrap_servers,
            &self.config.security,
            &self.config.group_id,
            0,
            patience,
            self.timeout(),
        )
        .await?;
        let mut coordinator = connect_within_secured(&address, patience, &self.config.security)
            .await
            .map_err(|e| e.to_string())?;
        coordinator.set_client_id(&self.config.client_id);
        Ok(coordinator)
    }

    /// One request to the coordinator; a broken connection or a silence means finding
    /// it again. `leave()` cuts a call short (a JoinGroup may wait for the whole group):
    /// the connection, left mid-exchange, is dropped, and the LeaveGroup goes over a new one.
    async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        ours: i16,
        request: impl FnOnce(i16) -> Req,
        timeout: Duration,
    ) -> Result<Resp, Next> {
        let Some(client) = self.coordinator.as_mut() else {
            return Err(Next::Rediscover);
        };
        let version = client.version_for(api_key, ours).map_err(|e| {
            tracing::error!(error = %e, "the group coordinator lacks a group API");
            Next::Backoff
        })?;
        let request = request(version);
        let stop = &mut self.stop;
        let watch_stop = !*stop.borrow();
        let result = tokio::select! {
            result = client.call_within(api_key, version, &request, timeout) => result,
            _ = stop.wait_for(|stopped| *stopped), if watch_stop => {
                self.coordinator = None;
                return Err(Next::Continue);
            }
        };
        result.map_err(|e: ClientError| {
            tracing::debug!(error = %e, ?api_key, "group coordinator request failed");
            Next::Rediscover
        })
    }

    /// Before a join: under eager, everything stops first (Kafka's `onJoinPrepare`).
    async fn prepare_join(&mut self) {
        if self.join_prepared {
            return;
        }
        self.join_prepared = true;
        if self.protocol == ConnectProtocolCompatibility::Eager {
            if let Some(assignment) = self.assignment.as_ref().filter(|a| !a.failed()) {
                let (connectors, tasks) = (assignment.connectors.clone(), assignment.tasks.clone());
                self.revoke(connectors, tasks).await;
            }
        }
    }

    async fn join(&mut self) -> Next {
        if self.membership_lost {
            self.membership_lost = false;
            self.revoke_all().await;
        }
        self.prepare_join().await;
        // A request that comes in from here on asks for one more round.
        self.shared.rejoin_requested.store(false, Ordering::SeqCst);
        let state = ExtendedWorkerState {
            url: self.config.worker_url.clone(),
            config_offset: self.handler.config_offset(),
            allocation: self.assignment.clone(),
        };
        let protocols: Vec<JoinGroupRequestProtocol> = self
            .config
            .protocol
            .join_protocols(&state)
            .into_iter()
            .map(|(name, metadata)| {
                JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str(name))
                    .with_metadata(Bytes::from(metadata))
            })
            .collect();
        let request = JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.config.group_id.clone())))
            .with_session_timeout_ms(self.config.session_timeout_ms)
            .with_rebalance_timeout_ms(self.config.rebalance_timeout_ms)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
            .with_protocols(protocols);
        let timeout = self.rebalance_call_timeout();
        let response: JoinGroupResponse =
            match self.call(ApiKey::JoinGroup, 9, |_| request, timeout).await {
                Ok(response) => response,
                Err(next) => {
                    self.rejoin_needed = true;
                    return next;
                }
            };
        self.rejoin_needed = true;
        match ResponseError::try_from_code(response.error_code) {
            None => {}
            Some(ResponseError::MemberIdRequired) => {
                // JoinGroup v4+: the coordinator hands out the id to join with.
                self.member_id = response.member_id.to_string();
                return Next::Rejoin;
            }
            Some(error) => return self.rebalance_failed("JoinGroup", error),
        }
        self.member_id = response.member_id.to_string();
        self.generation_id = response.generation_id;
        let chosen = response
            .protocol_name
            .as_ref()
            .and_then(|name| ConnectProtocolCompatibility::from_protocol(name));
        let Some(protocol) = chosen else {
            tracing::error!(protocol = ?response.protocol_name, "the coordinator chose a protocol this worker did not offer");
            return Next::Backoff;
        };
        let assignments = if response.leader == response.member_id {
            match self.lead(&response, protocol).await {
                Some(assignments) => assignments,
                None => return Next::Backoff,
            }
        } else {
            Vec::new()
        };
        self.sync(protocol, assignments).await
    }

    /// The leader's part: every member's assignment, encoded.
    async fn lead(
        &mut self,
        response: &JoinGroupResponse,
        protocol: ConnectProtocolCompatibility,
    ) -> Option<Vec<SyncGroupRequestAssignment>> {
        let mut members = std::collections::BTreeMap::new();
        for member in &response.members {
            match decode_metadata(&member.metadata) {
                Ok(state) => {
                    members.insert(member.member_id.to_string(), state);
                }
                Err(error) => {
                    tracing::error!(member = %member.member_id, %error, "unreadable member metadata");
                    return None;
                }
            }
        }
        let snapshot = self.handler.config_snapshot().await;
        let leader = response.leader.to_string();
        let assignments = if protocol == ConnectProtocolCompatibility::Eager {
            eager_assignment(&leader, &members, snapshot.as_ref())
        } else {
            let generations = Generations {
                last_completed: self.last_completed_generation,
                current: response.generation_id,
            };
            self.assignor.perform_assignment(
                &leader,
                protocol,
                &members,
                snapshot.as_ref(),
                generations,
                now_ms(),
            )
        };
        tracing::debug!(?assignments, "leader's assignments");
        Some(
            assignments
                .into_iter()
                .map(|(member, assignment)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(StrBytes::from_string(member))
                        .with_assignment(Bytes::from(encode_assignment(&assignment, protocol)))
                })
                .collect(),
        )
    }

    async fn sync(
        &mut self,
        protocol: ConnectProtocolCompatibility,
        assignments: Vec<SyncGroupRequestAssignment>,
    ) -> Next {
        let request = SyncGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.config.group_id.clone())))
            .with_generation_id(self.generation_id)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_assignments(assignments);
        let timeout = self.rebalance_call_timeout();
        let response: SyncGroupResponse = match self
            .call(
                ApiKey::SyncGroup,
                5,
                |version| {
                    if version >= 5 {
                        request
                            .with_protocol_type(Some(StrBytes::from_static_str(PROTOCOL_TYPE)))
                            .with_protocol_name(Some(StrBytes::from_static_str(
                                protocol.protocol(),
                            )))
                    } else {
                        request
                    }
                },
                timeout,
            )
            .await
        {
            Ok(response) => response,
            Err(next) => return next,
        };
        if let Some(error) = ResponseError::try_from_code(response.error_code) {
            return self.rebalance_failed("SyncGroup", error);
        }
        match decode_assignment(&response.assignment) {
            Ok(assignment) => {
                self.complete_join(protocol, assignment);
                Next::Continue
            }
            Err(error) => {
                tracing::error!(%error, "unreadable assignment from the leader");
                Next::Backoff
            }
        }
    }

    /// What a JoinGroup, SyncGroup or Heartbeat error means for the next step.
    fn rebalance_failed(&mut self, api: &str, error: ResponseError) -> Next {
        match error {
            ResponseError::RebalanceInProgress => Next::Rejoin,
            ResponseError::UnknownMemberId => {
                self.member_id.clear();
                self.generation_id = NO_GENERATION;
                self.membership_lost = true;
                Next::Rejoin
            }
            ResponseError::IllegalGeneration => {
                self.generation_id = NO_GENERATION;
                self.membership_lost = true;
                Next::Rejoin
            }
            ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable => {
                Next::Rediscover
            }
            error => {
                tracing::warn!(group = %self.config.group_id, ?error, "{api} failed");
                Next::Backoff
            }
        }
    }

    /// Kafka's `onJoinComplete`: under the cooperative protocols the new assignment is
    /// what to add; what ran before stays unless revoked.
    fn complete_join(
        &mut self,
        protocol: ConnectProtocolCompatibility,
        mut assignment: ExtendedAssignment,
    ) {
        self.protocol = protocol;
        if protocol != ConnectProtocolCompatibility::Eager {
            if let Some(previous) = self.assignment.take() {
                for connector in previous.connectors {
                    if !assignment.revoked_connectors.contains(&connector)
                        && !assignment.connectors.contains(&connector)
                    {
                        assignment.connectors.push(connector);
                    }
                }
                for task in previous.tasks {
                    if !assignment.revoked_tasks.contains(&task)
                        && !assignment.tasks.contains(&task)
                    {
                        assignment.tasks.push(task);
                    }
                }
            }
        }
        tracing::info!(
            group = %self.config.group_id,
            generation = self.generation_id,
            member = %self.member_id,
            %protocol,
            ?assignment,
            "joined group"
        );
        self.assignment = Some(assignment.clone());
        self.last_completed_generation = self.generation_id;
        self.rejoin_needed = false;
        self.join_prepared = false;
        *self.shared.generation.lock() = Some((self.generation_id, self.member_id.clone()));
        let _ = self.events.send(MemberEvent::Assigned {
            assignment,
            generation: self.generation_id,
            member_id: self.member_id.clone(),
            protocol,
        });
    }

    /// Heartbeats until a rebalance is needed, the herder asks for one, or the
    /// coordinator must be found again.
    async fn heartbeat_until_rejoin(&mut self) -> Next {
        let interval = Duration::from_millis(self.config.heartbeat_interval_ms.max(1) as u64);
        loop {
            if self.shared.rejoin_requested.load(Ordering::SeqCst) {
                return Next::Continue;
            }
            let shared = self.shared.clone();
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shared.rejoin.notified() => continue,
                _ = self.stop.changed() => return Next::Continue,
            }
            let request = HeartbeatRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(self.config.group_id.clone())))
                .with_generation_id(self.generation_id)
                .with_member_id(StrBytes::from_string(self.member_id.clone()));
            let timeout = self.timeout().min(interval.max(Duration::from_secs(1)) * 3);
            let response: HeartbeatResponse =
                match self.call(ApiKey::Heartbeat, 4, |_| request, timeout).await {
                    Ok(response) => response,
                    Err(next) => return next,
                };
            if let Some(error) = ResponseError::try_from_code(response.error_code) {
                // A rebalance under way, or (member id or generation gone) membership lost.
                let next = self.rebalance_failed("Heartbeat", error);
                if next == Next::Rejoin {
                    self.rejoin_needed = true;
                }
                return next;
            }
        }
    }

    /// Membership lost: everything this worker runs stops before it joins again.
    async fn revoke_all(&mut self) {
        *self.shared.generation.lock() = None;
        if let Some(assignment) = self.assignment.take() {
            if !assignment.failed() {
                self.revoke(assignment.connectors, assignment.tasks).await;
            }
        }
    }

    async fn revoke(&mut self, connectors: Vec<String>, tasks: Vec<ConnectorTaskId>) {
        if connectors.is_empty() && tasks.is_empty() {
            return;
        }
        let (done, finished) = oneshot::channel();
        let event = MemberEvent::Revoked {
            connectors,
            tasks,
            done,
        };
        if self.events.send(event).is_ok() {
            // An error means the herder dropped `done`: nothing left to wait for.
            let _ = finished.await;
        }
    }

    /// LeaveGroup, when a member of a known coordinator (Kafka's `maybeLeaveGroup`).
    async fn leave_group(&mut self) {
        *self.shared.generation.lock() = None;
        if self.member_id.is_empty() {
            return;
        }
        if self.coordinator.is_none() {
            match self.find_coordinator().await {
                Ok(client) => self.coordinator = Some(client),
                Err(error) => {
                    tracing::info!(%error, "no coordinator to leave the group with");
                    return;
                }
            }
        }
        let member_id = StrBytes::from_string(self.member_id.clone());
        let group_id = GroupId(StrBytes::from_string(self.config.group_id.clone()));
        let timeout = self.timeout();
        let result: Result<LeaveGroupResponse, Next> = self
            .call(
                ApiKey::LeaveGroup,
                5,
                |version| {
                    let request = LeaveGroupRequest::default().with_group_id(group_id);
                    if version >= 3 {
                        let mut identity = MemberIdentity::default().with_member_id(member_id);
                        if version >= 5 {
                            identity = identity.with_reason(Some(StrBytes::from_static_str(
                                "the consumer is being closed",
                            )));
                        }
                        request.with_members(vec![identity])
                    } else {
                        request.with_member_id(member_id)
                    }
                },
                timeout,
            )
            .await;
        match result {
            Ok(response) if response.error_code == 0 => {
                tracing::info!(member = %self.member_id, "left the group");
            }
            Ok(response) => {
                tracing::info!(error = %error_name(response.error_code), "LeaveGroup failed");
            }
            Err(_) => tracing::info!("LeaveGroup not answered"),
        }
        self.member_id.clear();
        self.generation_id = NO_GENERATION;
    }
}

/// FindCoordinator for `key` of `key_type` (0: a group, 1: a transactional id) through
/// the bootstrap servers: the coordinator's `host:port`, or why not (the error's name).
pub(crate) async fn coordinator_address(
    bootstrap_servers: &str,
    security: &rafka_client::ClientSecurity,
    key: &str,
    key_type: i8,
    connect_timeout: Duration,
    call_timeout: Duration,
) -> Result<String, String> {
    let mut bootstrap = connect_within_secured(bootstrap_servers, connect_timeout, security)
        .await
        .map_err(|e| e.to_string())?;
    let version = bootstrap
        .version_for(ApiKey::FindCoordinator, 4)
        .map_err(|e| e.to_string())?;
    let key = StrBytes::from_string(key.to_string());
    let mut request = FindCoordinatorRequest::default().with_key_type(key_type);
    if version >= 4 {
        request = request.with_coordinator_keys(vec![key]);
    } else {
        request = request.with_key(key);
    }
    let response: FindCoordinatorResponse = bootstrap
        .call_within(ApiKey::FindCoordinator, version, &request, call_timeout)
        .await
        .map_err(|e| e.to_string())?;
    let (error, host, port) = match response.coordinators.first() {
        Some(c) if version >= 4 => (c.error_code, c.host.to_string(), c.port),
        _ => (
            response.error_code,
            response.host.to_string(),
            response.port,
        ),
    };
    if error != 0 {
        return Err(error_name(error));
    }
    Ok(format!("{host}:{port}"))
}

fn error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        Some(error) => format!("{error:?} ({code})"),
        None => "NONE".to_string(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
