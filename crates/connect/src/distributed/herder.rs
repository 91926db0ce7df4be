//! Kafka's `DistributedHerder`: connectors, their task configs and target states live in
//! the config topic, statuses in the status topic, source offsets in the offset topic;
//! the workers of `group.id` share the work through the `connect` group protocol.
//!
//! One loop per worker (Kafka's tick thread) reacts to the group (`MemberEvent`s: what
//! this worker must stop and what it must run), to the config topic (a connector added,
//! removed, reconfigured, paused; task configs committed; restart requests), to the
//! scheduled rebalance of a lost worker's work, and publishes the statuses of what runs
//! here. REST requests read the local snapshot; writes happen on the leader (a follower
//! answers `RuntimeError::Forward` and the REST layer forwards the request).
//!
//! ```text
//!  REST ──write──► leader ──► config topic ──► every worker's loop
//!                                                ├─ connector set / task configs changed → rejoin
//!  group: JoinGroup/SyncGroup ──► Assigned ──────┤  (the leader's assignor spreads the work)
//!                                                └─ stop revoked, start assigned, publish statuses
//! ```
//!
//! The worker that runs a connector computes its task configs and, when they changed,
//! writes them (leader) or posts them to the leader's internal
//! `POST /connectors/{n}/tasks`, signed with the session key under `sessioned`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use parking_lot::Mutex;
use rafka_connect_data::connector::{ConnectorContext, ConnectorError, Props};
use sha2::Sha256;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::connector_config::{self, CONNECTOR_CLASS};
use crate::distributed::assignor::ConfigSnapshot;
use crate::distributed::member::{
    BoxFuture, GroupHandler, MemberConfig, MemberEvent, WorkerGroupMember,
};
use crate::distributed::protocol::ExtendedAssignment;
use crate::error::RuntimeError;
use crate::forward;
use crate::herder::{
    ConnectorInfo, ConnectorOffset, ConnectorStateInfo, ConnectorTaskId, Health, Herder,
    RequestSignature, StateInfo, TaskInfo,
};
use crate::plugins::{self, AnyConnector, PluginType};
use crate::runner::{self, RunningTask};
use crate::storage::config_store::SessionKey;
use crate::storage::config_store::{ClusterConfigState, ConfigUpdate, KafkaConfigStore};
use crate::storage::status_store::{ConnectorStatusRecord, KafkaStatusStore, TopicStatus};
use crate::worker::{State, Status, TargetState, TaskSetup, Worker};

mod exactly_once;

/// How long a leader waits to read the config topic to its end (`worker.sync.timeout.ms`).
const SYNC_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the statuses of what runs here are compared with what was published.
const STATUS_INTERVAL: Duration = Duration::from_millis(200);
/// Kafka's `RestServer.DEFAULT_REST_REQUEST_TIMEOUT_MS`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
/// The HMAC Kafka signs internal requests with by default.
const SIGNATURE_ALGORITHM: &str = "HmacSHA256";

type Topics = Arc<Mutex<BTreeSet<String>>>;

/// A connector that runs on this worker.
struct LocalConnector {
    /// `None` while STOPPED or after its start failed. (In a mutex only to be `Sync`:
    /// the herder's futures hold `&Inner` across awaits.)
    instance: Option<Mutex<AnyConnector>>,
    status: Status,
    topics: Topics,
}

/// What the loop and the REST requests share (Kafka's herder fields, guarded by the
/// tick thread there, by one async mutex here).
struct Inner {
    snapshot: ClusterConfigState,
    assignment: Option<ExtendedAssignment>,
    generation: i32,
    /// The last assignment's error or offset mismatch is not resolved yet.
    rebalance_resolved: bool,
    scheduled_rebalance: Option<Instant>,
    connectors: BTreeMap<String, LocalConnector>,
    tasks: BTreeMap<ConnectorTaskId, RunningTask>,
    /// Tasks stopped for new task configs, started again after the rebalance.
    tasks_to_restart: BTreeSet<ConnectorTaskId>,
    /// What was last written to the status topic for each connector / task of ours.
    published: HashMap<String, (State, Option<String>)>,
    published_topics: BTreeSet<(String, String)>,
}

impl Inner {
    fn is_leader(&self, member_id: &str) -> bool {
        self.assignment
            .as_ref()
            .is_some_and(|a| a.error == 0 && a.leader == member_id)
    }

    fn leader_url(&self) -> Option<String> {
        self.assignment
            .as_ref()
            .map(|a| a.leader_url.clone())
            .filter(|u| !u.is_empty())
    }

    fn assigned_connectors(&self) -> BTreeSet<String> {
        self.assignment
            .as_ref()
            .map(|a| a.connectors.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn assigned_tasks(&self) -> BTreeSet<ConnectorTaskId> {
        self.assignment
            .as_ref()
            .map(|a| a.tasks.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// What a running connector asks of the herder through its context.
enum ConnectorRequest {
    Reconfigure(String),
    Failed(String, ConnectorError),
}

/// A connector's `ConnectorContext` on a distributed worker: requests go to the loop.
struct DistributedContext {
    connector: String,
    requests: mpsc::UnboundedSender<ConnectorRequest>,
}

impl ConnectorContext for DistributedContext {
    fn request_task_reconfiguration(&self) {
        let _ = self
            .requests
            .send(ConnectorRequest::Reconfigure(self.connector.clone()));
    }

    fn raise_error(&self, error: ConnectorError) {
        let _ = self
            .requests
            .send(ConnectorRequest::Failed(self.connector.clone(), error));
    }
}

/// The group handler: the leader's assignor reads the config topic through it.
struct Configs(Arc<KafkaConfigStore>);

impl GroupHandler for Configs {
    fn config_offset(&self) -> i64 {
        self.0.snapshot().offset
    }

    fn config_snapshot(&self) -> BoxFuture<'_, Option<ConfigSnapshot>> {
        Box::pin(async move {
            self.0.refresh(SYNC_TIMEOUT).await.ok()?;
            let snapshot = self.0.snapshot();
            Some(ConfigSnapshot {
                offset: snapshot.offset,
                connectors: snapshot
                    .connectors()
                    .into_iter()
                    .map(|c| {
                        let tasks = snapshot.tasks(&c).len();
                        (c, tasks)
                    })
                    .collect(),
            })
        })
    }
}

/// Kafka's `DistributedHerder`.
pub struct DistributedHerder {
    worker: Arc<Worker>,
    worker_id: String,
    cluster_id: Option<String>,
    group_id: String,
    configs: Arc<KafkaConfigStore>,
    statuses: Arc<KafkaStatusStore>,
    /// `None` once the worker left the group.
    member: Mutex<Option<WorkerGroupMember>>,
    inner: tokio::sync::Mutex<Inner>,
    shutdown: watch::Sender<bool>,
    /// Whether this worker has joined the group once (requests wait for it, as they
    /// queue behind Kafka's first tick).
    joined: watch::Sender<bool>,
    /// Where the connectors' contexts send their requests (the loop receives them).
    connector_requests: mpsc::UnboundedSender<ConnectorRequest>,
    /// This herder, for the checks exactly-once source tasks run on their own.
    me: std::sync::Weak<DistributedHerder>,
    /// One round of zombie fencing at a time (Kafka's `activeZombieFencings`): a request
    /// that waited finds the round done and the connector no longer pending.
    fencing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for DistributedHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistributedHerder")
            .field("worker_id", &self.worker_id)
            .field("group_id", &self.group_id)
            .finish()
    }
}

fn not_found(name: &str) -> RuntimeError {
    RuntimeError::NotFound(format!("Connector {name} not found"))
}

fn status_key_connector(name: &str) -> String {
    format!("connector-{name}")
}

fn status_key_task(id: &ConnectorTaskId) -> String {
    format!("task-{}-{}", id.connector, id.task)
}

fn kind_of(config: &Props) -> PluginType {
    config
        .get(CONNECTOR_CLASS)
        .and_then(|c| plugins::resolve_connector_class(c.trim()))
        .map(|(_, kind)| kind)
        .unwrap_or(PluginType::Source)
}

fn type_name(config: Option<&Props>) -> String {
    match config
        .and_then(|c| c.get(CONNECTOR_CLASS))
        .and_then(|c| plugins::resolve_connector_class(c.trim()))
    {
        Some((_, PluginType::Source)) => "source".into(),
        Some((_, PluginType::Sink)) => "sink".into(),
        _ => "unknown".into(),
    }
}

/// Base64 of HMAC-SHA256 of `body` under `key` (Kafka's `InternalRequestSignature`).
fn sign(key: &[u8], body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(body);
    Some(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

impl DistributedHerder {
    /// Starts the stores (reading the three topics to their ends), joins the group and
    /// runs the herder's loop until `shutdown`.
    pub async fn start(
        worker: Arc<Worker>,
        worker_id: String,
        worker_url: String,
        cluster_id: Option<String>,
    ) -> Result<Arc<DistributedHerder>, RuntimeError> {
        let config = &worker.config;
        let group_id = config
            .props
            .get("group.id")
            .map(|g| g.trim().to_string())
            .ok_or_else(|| {
                RuntimeError::Config(
                    "Missing required configuration \"group.id\" which has no default value."
                        .into(),
                )
            })?;
        config.exactly_once_source_support()?;
        let (configs, updates) = KafkaConfigStore::start(config).await?;
        let statuses = Arc::new(KafkaStatusStore::start(config).await?);
        let member_config = member_config(config, &group_id, &worker_url)?;
        let (member, events) =
            WorkerGroupMember::start(member_config, Arc::new(Configs(configs.clone())));
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let (connector_requests, requests) = mpsc::unbounded_channel();
        let herder = Arc::new_cyclic(|me| DistributedHerder {
            me: me.clone(),
            fencing: tokio::sync::Mutex::new(()),
            inner: tokio::sync::Mutex::new(Inner {
                snapshot: configs.snapshot(),
                assignment: None,
                generation: -1,
                rebalance_resolved: true,
                scheduled_rebalance: None,
                connectors: BTreeMap::new(),
                tasks: BTreeMap::new(),
                tasks_to_restart: BTreeSet::new(),
                published: HashMap::new(),
                published_topics: BTreeSet::new(),
            }),
            worker,
            worker_id,
            cluster_id,
            group_id,
            configs,
            statuses,
            member: Mutex::new(Some(member)),
            shutdown,
            joined: watch::channel(false).0,
            connector_requests,
        });
        tokio::spawn(
            herder
                .clone()
                .run(events, updates, requests, shutdown_receiver),
        );
        Ok(herder)
    }

    fn member_id(&self) -> String {
        self.member
            .lock()
            .as_ref()
            .and_then(|m| m.generation())
            .map(|(_, id)| id)
            .unwrap_or_default()
    }

    fn request_rejoin(&self) {
        if let Some(member) = self.member.lock().as_ref() {
            member.request_rejoin();
        }
    }

    /// The loop (Kafka's `tick`), until `shutdown`.
    async fn run(
        self: Arc<Self>,
        mut events: mpsc::UnboundedReceiver<MemberEvent>,
        mut updates: mpsc::UnboundedReceiver<ConfigUpdate>,
        mut requests: mpsc::UnboundedReceiver<ConnectorRequest>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut status_tick = tokio::time::interval(STATUS_INTERVAL);
        loop {
            let scheduled = self.inner.lock().await.scheduled_rebalance;
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => self.on_member_event(event).await,
                    None => break,
                },
                update = updates.recv() => match update {
                    Some(update) => {
                        let mut batch = vec![update];
                        while let Ok(more) = updates.try_recv() {
                            batch.push(more);
                        }
                        self.on_config_updates(batch).await;
                    }
                    None => break,
                },
                _ = async {
                    match scheduled {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {
                    tracing::debug!("Requesting rebalance because scheduled rebalance timeout has been reached");
                    self.inner.lock().await.scheduled_rebalance = None;
                    self.request_rejoin();
                }
                Some(request) = requests.recv() => self.on_connector_request(request).await,
                _ = status_tick.tick() => self.publish_statuses().await,
                _ = shutdown.changed() => break,
            }
        }
    }

    /// Stops everything that runs here (statuses UNASSIGNED, offsets flushed) and leaves
    /// the group.
    pub async fn shutdown(&self) {
        let _ = self.shutdown.send(true);
        let mut inner = self.inner.lock().await;
        let connectors: Vec<String> = inner.connectors.keys().cloned().collect();
        let tasks: Vec<ConnectorTaskId> = inner.tasks.keys().cloned().collect();
        self.stop_work(&mut inner, &connectors, &tasks).await;
        drop(inner);
        let member = self.member.lock().take();
        if let Some(member) = member {
            member.leave().await;
        }
    }

    // ---- the group ----

    async fn on_member_event(&self, event: MemberEvent) {
        match event {
            MemberEvent::Revoked {
                connectors,
                tasks,
                done,
            } => {
                let mut inner = self.inner.lock().await;
                self.stop_work(&mut inner, &connectors, &tasks).await;
                let _ = done.send(());
            }
            MemberEvent::Assigned {
                assignment,
                generation,
                member_id,
                ..
            } => {
                tracing::info!(
                    "Joined group at generation {generation} and got assignment: {assignment:?} with rebalance delay: {}",
                    assignment.delay_ms
                );
                let mut inner = self.inner.lock().await;
                // Cooperative protocols revoke with the assignment (Kafka's onRevoked
                // from onJoinComplete).
                let revoked_connectors = assignment.revoked_connectors.clone();
                let revoked_tasks = assignment.revoked_tasks.clone();
                self.stop_work(&mut inner, &revoked_connectors, &revoked_tasks)
                    .await;
                inner.scheduled_rebalance = (assignment.delay_ms > 0)
                    .then(|| Instant::now() + Duration::from_millis(assignment.delay_ms as u64));
                let leader = assignment.error == 0 && assignment.leader == member_id;
                inner.assignment = Some(assignment);
                inner.generation = generation;
                inner.rebalance_resolved = false;
                if leader {
                    self.leader_duties(&mut inner).await;
                }
                self.handle_rebalance_completed(&mut inner).await;
            }
        }
    }

    /// Kafka's `handleRebalanceCompleted`: catch up with the config topic to the
    /// assignment's offset, then start the assigned work; rejoin when the assignment
    /// failed, the configs moved past it, or something was revoked.
    async fn handle_rebalance_completed(&self, inner: &mut Inner) {
        let Some(assignment) = inner.assignment.clone() else {
            return;
        };
        if inner.rebalance_resolved {
            return;
        }
        if assignment.error != 0 || inner.snapshot.offset < assignment.config_offset {
            if let Err(e) = self.configs.refresh(SYNC_TIMEOUT).await {
                tracing::warn!("Didn't reach end of config log quickly enough: {e}");
            }
            inner.snapshot = self.configs.snapshot();
        }
        if assignment.error != 0 {
            tracing::warn!("Join group completed, but assignment failed. Reading to end of config and retrying.");
            self.request_rejoin();
            return;
        }
        if inner.snapshot.offset != assignment.config_offset {
            tracing::info!(
                "Current config state offset {} does not match group assignment {}. Forcing rebalance.",
                inner.snapshot.offset,
                assignment.config_offset
            );
            self.request_rejoin();
            return;
        }
        self.start_work(inner).await;
        inner.rebalance_resolved = true;
        self.joined.send_replace(true);
        if !assignment.revoked_connectors.is_empty() || !assignment.revoked_tasks.is_empty() {
            if let Some(a) = inner.assignment.as_mut() {
                a.revoked_connectors.clear();
                a.revoked_tasks.clear();
            }
            self.request_rejoin();
        }
    }

    /// The leader's chores after a rebalance: statuses of deleted connectors and tasks
    /// removed, a session key distributed under `sessioned`.
    async fn leader_duties(&self, inner: &mut Inner) {
        let _ = self.configs.refresh(SYNC_TIMEOUT).await;
        inner.snapshot = self.configs.snapshot();
        let snapshot = &inner.snapshot;
        for connector in self.statuses.connectors() {
            if !snapshot.contains(&connector) {
                tracing::debug!("Cleaning status information for connector {connector}");
                self.statuses.delete_connector(&connector);
                continue;
            }
            let remaining: BTreeSet<ConnectorTaskId> =
                snapshot.tasks(&connector).into_iter().collect();
            for (id, _) in self.statuses.tasks(&connector) {
                if !remaining.contains(&id) {
                    self.statuses.delete_task(&id);
                }
            }
        }
        if self.sessioned(inner) && self.session_key_expired(snapshot) {
            tracing::debug!("Distributing new session key");
            let mut key = [0u8; 32];
            if getrandom::fill(&mut key).is_ok() {
                let key = SessionKey {
                    key: key.to_vec(),
                    algorithm: SIGNATURE_ALGORITHM.to_string(),
                    creation_timestamp_ms: now_ms(),
                };
                if let Err(e) = self.configs.put_session_key(&key).await {
                    tracing::info!("Failed to write new session key to config topic: {e}");
                }
            }
        }
    }

    fn sessioned(&self, inner: &Inner) -> bool {
        inner.assignment.as_ref().is_some_and(|a| a.version >= 2)
    }

    fn session_key_expired(&self, snapshot: &ClusterConfigState) -> bool {
        let ttl = self
            .worker
            .config
            .props
            .get("inter.worker.key.ttl.ms")
            .and_then(|t| t.trim().parse::<i64>().ok())
            .unwrap_or(3_600_000);
        match &snapshot.session_key {
            None => true,
            Some(key) => key.creation_timestamp_ms + ttl <= now_ms(),
        }
    }

    /// Starts what the assignment gives this worker and it does not run yet.
    async fn start_work(&self, inner: &mut Inner) {
        // Whatever runs here without being assigned any more stops first (the member
        // revokes before it assigns, so this is only a safety net).
        let (connectors, tasks) = (inner.assigned_connectors(), inner.assigned_tasks());
        let stray_connectors: Vec<String> = inner
            .connectors
            .keys()
            .filter(|c| !connectors.contains(*c))
            .cloned()
            .collect();
        let stray_tasks: Vec<ConnectorTaskId> = inner
            .tasks
            .keys()
            .filter(|t| !tasks.contains(*t))
            .cloned()
            .collect();
        if !stray_connectors.is_empty() || !stray_tasks.is_empty() {
            self.stop_work(inner, &stray_connectors, &stray_tasks).await;
        }
        let restart: Vec<ConnectorTaskId> = std::mem::take(&mut inner.tasks_to_restart)
            .into_iter()
            .collect();
        for id in restart {
            if let Some(task) = inner.tasks.remove(&id) {
                runner::stop_task(&self.worker, task).await;
            }
        }
        for name in inner.assigned_connectors() {
            if !inner.connectors.contains_key(&name) {
                self.start_connector(inner, &name).await;
            }
        }
        for id in inner.assigned_tasks() {
            if !inner.tasks.contains_key(&id) {
                self.start_task(inner, &id);
            }
        }
        tracing::info!("Finished starting connectors and tasks");
    }

    /// Stops connectors and tasks (revoked, reconfigured or at shutdown), publishing
    /// UNASSIGNED for each as Kafka's status listener does on shutdown.
    async fn stop_work(&self, inner: &mut Inner, connectors: &[String], tasks: &[ConnectorTaskId]) {
        for id in tasks {
            if let Some(task) = inner.tasks.remove(id) {
                runner::stop_task(&self.worker, task).await;
                self.put_task_status(inner, id, Status::new(State::Unassigned));
            }
        }
        for name in connectors {
            if self.stop_connector_only(inner, name) && inner.snapshot.contains(name) {
                self.put_connector_status(inner, name, Status::new(State::Unassigned));
            }
        }
        if let Err(e) = self.statuses.flush().await {
            tracing::warn!("Failed to flush the status topic: {e}");
        }
    }

    // ---- connectors and tasks on this worker ----

    /// Starts a connector as its target state says, and publishes its task configs when
    /// they changed (Kafka's `startConnector` + `reconfigureConnector`).
    async fn start_connector(&self, inner: &mut Inner, name: &str) {
        let Some(config) = inner.snapshot.connector_configs.get(name).cloned() else {
            return;
        };
        let target = inner
            .snapshot
            .target_states
            .get(name)
            .copied()
            .unwrap_or(TargetState::Started);
        tracing::info!("Starting connector {name}");
        let class = config
            .get(CONNECTOR_CLASS)
            .map(|c| c.trim().to_string())
            .unwrap_or_default();
        let mut local = LocalConnector {
            instance: None,
            status: Status::new(State::Stopped),
            topics: Arc::default(),
        };
        if target != TargetState::Stopped {
            let context = Arc::new(DistributedContext {
                connector: name.to_string(),
                requests: self.connector_requests.clone(),
            });
            match runner::start_connector(&class, &config, context) {
                Ok(instance) => {
                    local.status = Status::new(if target == TargetState::Paused {
                        State::Paused
                    } else {
                        State::Running
                    });
                    local.instance = Some(Mutex::new(instance));
                }
                Err(e) => {
                    tracing::error!("Failed to start connector {name}: {e}");
                    local.status = Status::failed(&e);
                }
            }
        }
        let task_configs = match (&local.instance, target) {
            (Some(instance), TargetState::Started) => {
                let resolved = plugins::resolve_connector_class(&class)
                    .map(|(c, _)| c)
                    .unwrap_or_default();
                Some(runner::task_configs(&instance.lock(), resolved, &config))
            }
            _ => None,
        };
        inner.connectors.insert(name.to_string(), local);
        if let Some(task_configs) = task_configs {
            self.publish_task_configs(inner, name, task_configs).await;
        }
    }

    /// Writes (leader) or hands to the leader a connector's task configs, when they
    /// differ from the committed ones.
    async fn publish_task_configs(&self, inner: &mut Inner, name: &str, configs: Vec<Props>) {
        let current: Vec<Props> = inner
            .snapshot
            .tasks(name)
            .iter()
            .filter_map(|id| inner.snapshot.task_configs.get(id).cloned())
            .collect();
        if current == configs {
            return;
        }
        if inner.is_leader(&self.member_id()) {
            if let Err(e) = self.configs.put_task_configs(name, &configs).await {
                tracing::error!("Failed to write task configs of connector {name}: {e}");
            }
            return;
        }
        let Some(leader) = inner.leader_url() else {
            tracing::error!("Request to leader to reconfigure connector tasks failed because the URL of the leader's REST interface is empty!");
            return;
        };
        let session_key = inner
            .snapshot
            .session_key
            .as_ref()
            .filter(|_| self.sessioned(inner))
            .map(|k| k.key.clone());
        let name = name.to_string();
        // Not on the loop: the leader may be in a rebalance that waits for this worker.
        tokio::spawn(async move {
            let body: Vec<BTreeMap<String, String>> = configs
                .into_iter()
                .map(|c| c.into_iter().collect())
                .collect();
            let body = serde_json::to_vec(&body).unwrap_or_default();
            let mut headers = forward::json_headers();
            if let Some(signature) = session_key.as_deref().and_then(|k| sign(k, &body)) {
                if let (Ok(sig), Ok(alg)) = (signature.parse(), SIGNATURE_ALGORITHM.parse()) {
                    headers.insert(forward::SIGNATURE_HEADER, sig);
                    headers.insert(forward::SIGNATURE_ALGORITHM_HEADER, alg);
                }
            }
            let url = format!("{}/connectors/{name}/tasks", leader.trim_end_matches('/'));
            match forward::send(axum::http::Method::POST, &url, &headers, body.into()).await {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => tracing::error!(
                    "Request to leader to reconfigure connector tasks failed: HTTP {}",
                    response.status()
                ),
                Err(e) => {
                    tracing::error!("Request to leader to reconfigure connector tasks failed: {e}")
                }
            }
        });
    }

    fn start_task(&self, inner: &mut Inner, id: &ConnectorTaskId) {
        let (Some(connector_config), Some(task_config)) = (
            inner.snapshot.connector_configs.get(&id.connector).cloned(),
            inner.snapshot.task_configs.get(id).cloned(),
        ) else {
            return;
        };
        let target = inner
            .snapshot
            .target_states
            .get(&id.connector)
            .copied()
            .unwrap_or(TargetState::Started);
        tracing::info!("Starting task {}-{}", id.connector, id.task);
        let class = connector_config
            .get(CONNECTOR_CLASS)
            .map(|c| c.trim().to_string())
            .unwrap_or_default();
        let topics = inner
            .connectors
            .get(&id.connector)
            .map(|c| c.topics.clone())
            .unwrap_or_default();
        let exactly_once = self.exactly_once_checks(inner, id, &connector_config);
        let setup = TaskSetup {
            connector: id.connector.clone(),
            task: id.task,
            connector_config,
            task_config,
            status: Arc::new(Mutex::new(Status::new(State::Unassigned))),
            topics,
            exactly_once,
        };
        let running = match plugins::new_connector(&class) {
            Some(connector) => runner::start_task(&self.worker, &connector, setup, target),
            None => {
                let error = rafka_connect_data::connector::ConnectorError::fatal(
                    plugins::unknown_connector_message(&class),
                );
                *setup.status.lock() = Status::failed(&error);
                RunningTask {
                    status: setup.status,
                    control: watch::channel(TargetState::Stopped).0,
                    join: tokio::spawn(async {}),
                }
            }
        };
        inner.tasks.insert(id.clone(), running);
    }

    /// Kafka's `requestTaskReconfiguration` and `onFailure` from a connector's context.
    async fn on_connector_request(&self, request: ConnectorRequest) {
        let mut inner = self.inner.lock().await;
        match request {
            ConnectorRequest::Failed(name, error) => {
                if let Some(local) = inner.connectors.get_mut(&name) {
                    tracing::error!("Connector {name} raised an error: {error}");
                    local.status = Status::failed(&error);
                }
            }
            ConnectorRequest::Reconfigure(name) => {
                let started = inner.snapshot.target_states.get(&name).copied()
                    != Some(TargetState::Paused)
                    && inner.snapshot.target_states.get(&name).copied()
                        != Some(TargetState::Stopped);
                let (Some(local), Some(config)) = (
                    inner.connectors.get(&name),
                    inner.snapshot.connector_configs.get(&name),
                ) else {
                    return;
                };
                let Some(instance) = local.instance.as_ref().filter(|_| started) else {
                    tracing::info!(
                        "Skipping reconfiguration of connector {name} since it is not running"
                    );
                    return;
                };
                let class = config
                    .get(CONNECTOR_CLASS)
                    .and_then(|c| plugins::resolve_connector_class(c.trim()))
                    .map(|(c, _)| c)
                    .unwrap_or_default();
                let configs = runner::task_configs(&instance.lock(), class, config);
                self.publish_task_configs(&mut inner, &name, configs).await;
            }
        }
    }

    // ---- the config topic ----

    async fn on_config_updates(&self, updates: Vec<ConfigUpdate>) {
        let mut inner = self.inner.lock().await;
        let previous = std::mem::replace(&mut inner.snapshot, self.configs.snapshot());
        let mut rebalance = false;
        let mut reconfigured = BTreeSet::new();
        let mut target_changed = BTreeSet::new();
        let mut tasks_changed = BTreeSet::new();
        let mut restarts = Vec::new();
        for update in updates {
            match update {
                ConfigUpdate::ConnectorConfigUpdated(name) => {
                    if previous.contains(&name) != inner.snapshot.contains(&name) {
                        tracing::info!("Connector {name} config added or removed");
                        rebalance = true;
                    }
                    reconfigured.insert(name);
                }
                ConfigUpdate::ConnectorConfigRemoved(name) => {
                    rebalance = true;
                    reconfigured.insert(name);
                }
                ConfigUpdate::TaskConfigsCommitted(tasks) => {
                    rebalance = true;
                    tasks_changed.extend(tasks.into_iter().map(|t| t.connector));
                }
                ConfigUpdate::TargetStateChanged(name) => {
                    target_changed.insert(name);
                }
                ConfigUpdate::RestartRequested {
                    connector,
                    include_tasks,
                    only_failed,
                } => restarts.push((connector, include_tasks, only_failed)),
                _ => {}
            }
        }
        // Connector config changes bounce the connector where it runs.
        let local = inner.assigned_connectors();
        for name in reconfigured {
            if !local.contains(&name) || !inner.connectors.contains_key(&name) {
                continue;
            }
            if previous.connector_configs.get(&name) == inner.snapshot.connector_configs.get(&name)
                && inner.snapshot.contains(&name)
            {
                continue;
            }
            self.stop_connector_only(&mut inner, &name);
            if inner.snapshot.contains(&name) {
                self.start_connector(&mut inner, &name).await;
            }
        }
        for name in target_changed {
            self.apply_target_state(&mut inner, &name).await;
        }
        // New task configs: our tasks of those connectors stop now and start again after
        // the rebalance, if they are still ours.
        let stop: Vec<ConnectorTaskId> = inner
            .tasks
            .keys()
            .filter(|id| tasks_changed.contains(&id.connector))
            .cloned()
            .collect();
        if !stop.is_empty() {
            tracing::info!("Handling task config update by stopping tasks {stop:?}, which will be restarted after rebalance if still assigned to this worker");
            for id in &stop {
                if let Some(task) = inner.tasks.remove(id) {
                    runner::stop_task(&self.worker, task).await;
                }
            }
            inner.tasks_to_restart.extend(stop);
        }
        for (connector, include_tasks, only_failed) in restarts {
            self.do_restart(&mut inner, &connector, include_tasks, only_failed)
                .await;
        }
        if rebalance {
            tracing::debug!("Requesting rebalance due to reconfiguration of connectors or tasks");
            self.request_rejoin();
        }
    }

    /// Stops the connector instance running here (its tasks keep running); whether one
    /// was here.
    fn stop_connector_only(&self, inner: &mut Inner, name: &str) -> bool {
        let Some(local) = inner.connectors.remove(name) else {
            return false;
        };
        if let Some(instance) = local.instance {
            instance.into_inner().as_connector_mut().stop();
        }
        true
    }

    /// Moves the connector and its tasks on this worker to the new target state.
    async fn apply_target_state(&self, inner: &mut Inner, name: &str) {
        let target = inner
            .snapshot
            .target_states
            .get(name)
            .copied()
            .unwrap_or(TargetState::Started);
        for (id, task) in &inner.tasks {
            if id.connector == name {
                let _ = task.control.send(target);
            }
        }
        if !inner.connectors.contains_key(name) {
            return;
        }
        match target {
            TargetState::Stopped => {
                self.stop_connector_only(inner, name);
                inner.connectors.insert(
                    name.to_string(),
                    LocalConnector {
                        instance: None,
                        status: Status::new(State::Stopped),
                        topics: Arc::default(),
                    },
                );
            }
            TargetState::Paused => {
                if let Some(local) = inner.connectors.get_mut(name) {
                    if local.instance.is_some() {
                        local.status = Status::new(State::Paused);
                    }
                }
            }
            TargetState::Started => {
                // A connector resumed (or started from STOPPED) recomputes its task
                // configs, so config changes made while paused take effect.
                self.stop_connector_only(inner, name);
                self.start_connector(inner, name).await;
            }
        }
    }

    /// Kafka's `doRestartConnectorAndTasks`: what of the plan runs here restarts.
    async fn do_restart(
        &self,
        inner: &mut Inner,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) {
        let Ok(plan) = self.status_of(inner, name) else {
            return;
        };
        let restart_connector = (!only_failed || plan.connector.state == State::Failed)
            && inner.assigned_connectors().contains(name);
        let tasks: Vec<ConnectorTaskId> = if include_tasks {
            plan.tasks
                .iter()
                .filter(|t| !only_failed || t.state == State::Failed)
                .filter_map(|t| {
                    Some(ConnectorTaskId {
                        connector: name.to_string(),
                        task: t.id?,
                    })
                })
                .filter(|id| inner.tasks.contains_key(id))
                .collect()
        } else {
            Vec::new()
        };
        if restart_connector {
            self.restart_local_connector(inner, name).await;
        }
        for id in tasks {
            self.restart_local_task(inner, &id).await;
        }
    }

    /// Restarts a connector that runs here, RESTARTING in between.
    async fn restart_local_connector(&self, inner: &mut Inner, name: &str) {
        self.put_connector_status(inner, name, Status::new(State::Restarting));
        self.stop_connector_only(inner, name);
        self.start_connector(inner, name).await;
    }

    /// Restarts a task assigned here: the old one stops (flushing its offsets) first.
    async fn restart_local_task(&self, inner: &mut Inner, id: &ConnectorTaskId) {
        if let Some(task) = inner.tasks.remove(id) {
            runner::stop_task(&self.worker, task).await;
        }
        self.put_task_status(inner, id, Status::new(State::Restarting));
        self.start_task(inner, id);
    }

    // ---- statuses ----

    /// The status topic's record of `status` of connector `name` (or one of its tasks),
    /// written by this worker at its generation with the plugin's version (KIP-891).
    fn status_record(&self, inner: &Inner, name: &str, status: &Status) -> ConnectorStatusRecord {
        let version = inner
            .snapshot
            .connector_configs
            .get(name)
            .and_then(|c| c.get(CONNECTOR_CLASS))
            .and_then(|c| plugins::resolve_connector_class(c.trim()))
            .map_or(crate::KAFKA_VERSION, |(class, _)| {
                plugins::connector_version(class)
            });
        ConnectorStatusRecord {
            state: status.state,
            trace: status.trace.clone(),
            worker_id: self.worker_id.clone(),
            generation: inner.generation,
            version: Some(version.to_string()),
        }
    }

    fn put_connector_status(&self, inner: &mut Inner, name: &str, status: Status) {
        self.statuses
            .put_connector(name, &self.status_record(inner, name, &status));
        inner
            .published
            .insert(status_key_connector(name), (status.state, status.trace));
    }

    fn put_task_status(&self, inner: &mut Inner, id: &ConnectorTaskId, status: Status) {
        self.statuses
            .put_task(id, &self.status_record(inner, &id.connector, &status));
        inner
            .published
            .insert(status_key_task(id), (status.state, status.trace));
    }

    /// Writes the statuses of our connectors and tasks that changed since last time,
    /// and the topics they started using.
    async fn publish_statuses(&self) {
        let mut inner = self.inner.lock().await;
        let connectors: Vec<(String, Status)> = inner
            .connectors
            .iter()
            .map(|(name, local)| (name.clone(), local.status.clone()))
            .collect();
        for (name, status) in connectors {
            let published = inner.published.get(&status_key_connector(&name));
            if published != Some(&(status.state, status.trace.clone())) {
                self.put_connector_status(&mut inner, &name, status);
            }
        }
        let tasks: Vec<(ConnectorTaskId, Status)> = inner
            .tasks
            .iter()
            .map(|(id, task)| (id.clone(), task.status.lock().clone()))
            .collect();
        for (id, status) in tasks {
            if status.state == State::Unassigned {
                continue;
            }
            let published = inner.published.get(&status_key_task(&id));
            if published != Some(&(status.state, status.trace.clone())) {
                self.put_task_status(&mut inner, &id, status);
            }
        }
        let used: Vec<(String, String)> = inner
            .connectors
            .iter()
            .flat_map(|(name, local)| {
                local
                    .topics
                    .lock()
                    .iter()
                    .map(|t| (name.clone(), t.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (connector, topic) in used {
            if inner
                .published_topics
                .insert((connector.clone(), topic.clone()))
            {
                self.statuses.put_topic(&TopicStatus {
                    topic,
                    connector,
                    task: 0,
                    discover_timestamp_ms: now_ms(),
                });
            }
        }
    }

    /// A connector's status from the status topic (Kafka's `connectorStatus`).
    fn status_of(&self, inner: &Inner, name: &str) -> Result<ConnectorStateInfo, RuntimeError> {
        let record = self.statuses.connector(name).ok_or_else(|| {
            RuntimeError::NotFound(format!("No status found for connector {name}"))
        })?;
        let info = |id: Option<usize>, r: ConnectorStatusRecord| StateInfo {
            id,
            state: r.state,
            worker_id: r.worker_id,
            version: r.version.or_else(|| Some(crate::KAFKA_VERSION.to_string())),
            trace: r.trace,
        };
        let mut tasks: Vec<StateInfo> = self
            .statuses
            .tasks(name)
            .into_iter()
            .map(|(id, r)| info(Some(id.task), r))
            .collect();
        tasks.sort_by_key(|t| t.id);
        Ok(ConnectorStateInfo {
            name: name.to_string(),
            connector: info(None, record),
            tasks,
            connector_type: type_name(inner.snapshot.connector_configs.get(name)),
        })
    }

    // ---- leadership ----

    /// Waits for the first completed rebalance (Kafka's REST requests queue behind the
    /// herder's first tick), within Kafka's REST request timeout.
    async fn await_joined(&self) -> Result<(), RuntimeError> {
        let mut joined = self.joined.subscribe();
        let waited = tokio::time::timeout(REQUEST_TIMEOUT, joined.wait_for(|j| *j))
            .await
            .map(|r| r.is_ok());
        match waited {
            Ok(true) => Ok(()),
            _ => Err(RuntimeError::Internal("Request timed out".into())),
        }
    }

    /// `Ok` on the leader; the forward to the leader otherwise (Kafka's
    /// `NotLeaderException`).
    fn require_leader(&self, inner: &Inner, message: &str) -> Result<(), RuntimeError> {
        if inner.is_leader(&self.member_id()) {
            Ok(())
        } else {
            Err(RuntimeError::Forward {
                message: message.to_string(),
                url: inner.leader_url(),
            })
        }
    }

    /// A fresh snapshot, read to the end of the config topic (the leader's writes are
    /// then visible to what follows).
    async fn refresh(&self, inner: &mut Inner) -> Result<(), RuntimeError> {
        self.configs.refresh(SYNC_TIMEOUT).await?;
        inner.snapshot = self.configs.snapshot();
        Ok(())
    }

    fn verify_signature(
        &self,
        inner: &Inner,
        signature: Option<&RequestSignature>,
    ) -> Result<(), RuntimeError> {
        if !self.sessioned(inner) {
            return Ok(());
        }
        let Some(signature) = signature else {
            return Err(RuntimeError::BadRequest(
                "Internal request missing required signature".into(),
            ));
        };
        if signature.algorithm != SIGNATURE_ALGORITHM {
            return Err(RuntimeError::BadRequest(format!(
                "This worker does not support the '{}' key signing algorithm used by other workers. This worker is currently configured to use: [{SIGNATURE_ALGORITHM}]. Check that all workers' configuration files permit the same set of signature algorithms, and correct any misconfigured worker and restart it.",
                signature.algorithm
            )));
        }
        let valid = inner
            .snapshot
            .session_key
            .as_ref()
            .and_then(|k| sign(&k.key, &signature.body))
            .is_some_and(|expected| expected == signature.signature);
        if valid {
            Ok(())
        } else {
            Err(RuntimeError::Forbidden(
                "Internal request contained invalid signature.".into(),
            ))
        }
    }
}

/// The group keys of `DistributedConfig`, Kafka's defaults where absent.
fn member_config(
    config: &crate::worker_config::WorkerConfig,
    group_id: &str,
    worker_url: &str,
) -> Result<MemberConfig, RuntimeError> {
    let mut member = MemberConfig::new(&config.bootstrap_servers, group_id, worker_url);
    member.security = config.security.clone();
    let int = |key: &str, default: i32| -> Result<i32, RuntimeError> {
        match config.props.get(key) {
            None => Ok(default),
            Some(v) => v.trim().parse().map_err(|_| {
                RuntimeError::Config(format!(
                    "Invalid value {v} for configuration {key}: Not a number of type INT"
                ))
            }),
        }
    };
    member.session_timeout_ms = int("session.timeout.ms", member.session_timeout_ms)?;
    member.heartbeat_interval_ms = int("heartbeat.interval.ms", member.heartbeat_interval_ms)?;
    member.rebalance_timeout_ms = int("rebalance.timeout.ms", member.rebalance_timeout_ms)?;
    member.scheduled_rebalance_max_delay_ms = int(
        "scheduled.rebalance.max.delay.ms",
        member.scheduled_rebalance_max_delay_ms,
    )?;
    member.request_timeout_ms = int("request.timeout.ms", member.request_timeout_ms)?;
    member.retry_backoff_ms = int("retry.backoff.ms", member.retry_backoff_ms)?;
    if let Some(id) = config.props.get("client.id") {
        member.client_id = id.trim().to_string();
    }
    if let Some(protocol) = config.props.get("connect.protocol") {
        member.protocol = protocol.trim().parse().map_err(|_| {
            RuntimeError::Config(format!(
                "Invalid value {protocol} for configuration connect.protocol: String must be one of (case insensitive): EAGER, COMPATIBLE, SESSIONED"
            ))
        })?;
    }
    Ok(member)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Herder for DistributedHerder {
    fn worker_id(&self) -> String {
        self.worker_id.clone()
    }

    fn validate_connector_config(
        &self,
        props: &Props,
    ) -> Result<connector_config::Validation, RuntimeError> {
        let mut validation =
            connector_config::validate_on_worker(props, &self.converter_defaults())?;
        connector_config::validate_exactly_once(
            &mut validation,
            props,
            self.worker.config.exactly_once_source_enabled(),
        );
        connector_config::validate_sink_group(&mut validation, props, &self.group_id);
        Ok(validation)
    }

    async fn fence_zombies(
        &self,
        name: &str,
        signature: Option<RequestSignature>,
    ) -> Result<(), RuntimeError> {
        self.await_joined().await?;
        self.verify_signature(&*self.inner.lock().await, signature.as_ref())?;
        self.fence_zombie_source_tasks(name).await
    }

    fn converter_defaults(&self) -> connector_config::ConverterDefaults {
        connector_config::ConverterDefaults::of(&self.worker.config)
    }

    fn kafka_cluster_id(&self) -> Option<String> {
        self.cluster_id.clone()
    }

    async fn connectors(&self) -> Vec<String> {
        self.inner.lock().await.snapshot.connectors()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, RuntimeError> {
        let inner = self.inner.lock().await;
        let config = inner
            .snapshot
            .connector_configs
            .get(name)
            .ok_or_else(|| not_found(name))?;
        Ok(ConnectorInfo {
            name: name.to_string(),
            config: config.clone().into_iter().collect(),
            tasks: inner.snapshot.tasks(name),
            connector_type: type_name(Some(config)),
        })
    }

    async fn connector_config(&self, name: &str) -> Result<Props, RuntimeError> {
        let inner = self.inner.lock().await;
        inner
            .snapshot
            .connector_configs
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))
    }

    async fn put_connector_config(
        &self,
        name: &str,
        mut config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<(bool, ConnectorInfo), RuntimeError> {
        self.checked_config(name, &mut config)?;
        self.await_joined().await?;
        let mut inner = self.inner.lock().await;
        self.require_leader(&inner, "Only the leader can set connector configs.")?;
        self.refresh(&mut inner).await?;
        let exists = inner.snapshot.contains(name);
        if exists && !allow_replace {
            return Err(RuntimeError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        self.configs
            .put_connector_config(name, &config, initial_state)
            .await?;
        let tasks = inner.snapshot.tasks(name);
        let connector_type = type_name(Some(&config));
        Ok((
            !exists,
            ConnectorInfo {
                name: name.to_string(),
                config: config.into_iter().collect(),
                tasks,
                connector_type,
            },
        ))
    }

    async fn delete_connector(&self, name: &str) -> Result<(), RuntimeError> {
        self.await_joined().await?;
        let mut inner = self.inner.lock().await;
        self.require_leader(&inner, "Only the leader can delete connector configs.")?;
        self.refresh(&mut inner).await?;
        if !inner.snapshot.contains(name) {
            return Err(not_found(name));
        }
        self.configs.remove_connector_config(name).await
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, RuntimeError> {
        let inner = self.inner.lock().await;
        self.status_of(&inner, name)
    }

    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, RuntimeError> {
        let inner = self.inner.lock().await;
        if !inner.snapshot.contains(name) {
            return Err(not_found(name));
        }
        Ok(inner
            .snapshot
            .tasks(name)
            .into_iter()
            .map(|id| TaskInfo {
                config: inner
                    .snapshot
                    .task_configs
                    .get(&id)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
                id,
            })
            .collect())
    }

    async fn set_target_state(&self, name: &str, target: TargetState) -> Result<(), RuntimeError> {
        self.await_joined().await?;
        let mut inner = self.inner.lock().await;
        if !inner.snapshot.contains(name) {
            return Err(not_found(name));
        }
        if target == TargetState::Stopped {
            // The leader writes empty task configs first: a RUNNING connector without
            // tasks is healthier than a STOPPED one with tasks.
            self.require_leader(
                &inner,
                "Only the leader can transition connectors to the STOPPED state.",
            )?;
            self.configs.put_task_configs(name, &[]).await?;
        }
        self.configs.put_target_state(name, target).await?;
        if target == TargetState::Stopped {
            self.refresh(&mut inner).await?;
        }
        Ok(())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStateInfo, RuntimeError> {
        self.await_joined().await?;
        let mut inner = self.inner.lock().await;
        if !inner.snapshot.contains(name) {
            return Err(RuntimeError::NotFound(format!("Unknown connector: {name}")));
        }
        let mut plan = self.status_of(&inner, name).map_err(|_| {
            RuntimeError::NotFound(format!("Status for connector {name} not found"))
        })?;
        if !include_tasks && !only_failed {
            // Kafka's older `restartConnector`: where the connector runs.
            if inner.assigned_connectors().contains(name) {
                self.restart_local_connector(&mut inner, name).await;
                return Ok(plan);
            }
            let owner = self.statuses.connector(name).map(|s| s.worker_id);
            return Err(RuntimeError::Forward {
                message: "Cannot restart connector since it is not assigned to this member".into(),
                url: owner.map(|w| format!("http://{w}")),
            });
        }
        self.require_leader(&inner, "Only the leader can process restart requests.")?;
        self.configs
            .put_restart_request(name, include_tasks, only_failed)
            .await?;
        if !only_failed || plan.connector.state == State::Failed {
            plan.connector.state = State::Restarting;
            plan.connector.trace = None;
        }
        if include_tasks {
            for task in &mut plan.tasks {
                if !only_failed || task.state == State::Failed {
                    task.state = State::Restarting;
                    task.trace = None;
                }
            }
        }
        Ok(plan)
    }

    async fn restart_task(&self, name: &str, task: usize) -> Result<(), RuntimeError> {
        self.await_joined().await?;
        let mut inner = self.inner.lock().await;
        if !inner.snapshot.contains(name) {
            return Err(not_found(name));
        }
        let id = ConnectorTaskId {
            connector: name.to_string(),
            task,
        };
        if !inner.snapshot.task_configs.contains_key(&id) {
            return Err(RuntimeError::NotFound(format!(
                "Task {name}-{task} not found"
            )));
        }
        if inner.assigned_tasks().contains(&id) {
            self.restart_local_task(&mut inner, &id).await;
            return Ok(());
        }
        let owner = self
            .statuses
            .tasks(name)
            .into_iter()
            .find(|(t, _)| *t == id)
            .map(|(_, s)| format!("http://{}", s.worker_id));
        Err(RuntimeError::Forward {
            message: "Cannot restart task since it is not assigned to this member".into(),
            url: owner.or_else(|| inner.leader_url()),
        })
    }

    async fn connector_offsets(&self, name: &str) -> Result<Vec<ConnectorOffset>, RuntimeError> {
        let config = {
            let mut inner = self.inner.lock().await;
            self.refresh(&mut inner).await?;
            inner
                .snapshot
                .connector_configs
                .get(name)
                .cloned()
                .ok_or_else(|| not_found(name))?
        };
        if kind_of(&config) == PluginType::Sink {
            return runner::sink_offsets(&self.worker, name, &config).await;
        }
        runner::source_offsets(&self.worker, name).await
    }

    async fn modify_offsets(
        &self,
        name: &str,
        offsets: Option<Vec<ConnectorOffset>>,
    ) -> Result<String, RuntimeError> {
        self.await_joined().await?;
        let mut inner = self.inner.lock().await;
        self.refresh(&mut inner).await?;
        let config = inner
            .snapshot
            .connector_configs
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        let stopped = inner.snapshot.target_states.get(name) == Some(&TargetState::Stopped);
        if !stopped || !inner.snapshot.tasks(name).is_empty() {
            return Err(RuntimeError::BadRequest(runner::not_stopped_message(name)));
        }
        self.require_leader(&inner, "Only the leader can modify connector offsets.")?;
        drop(inner);
        if kind_of(&config) == PluginType::Source
            && self.worker.config.exactly_once_source_enabled()
        {
            // Kafka's: no zombie of the connector may commit offsets over the new ones.
            self.fence_zombie_source_tasks(name).await.map_err(|e| {
                RuntimeError::Internal(format!(
                    "Failed to perform zombie fencing for source connector prior to modifying offsets: {e}"
                ))
            })?;
        }
        let altered = offsets.is_some();
        if kind_of(&config) == PluginType::Sink {
            runner::modify_sink_offsets(&self.worker, name, offsets).await?;
        } else {
            runner::modify_source_offsets(&self.worker, name, offsets).await?;
        }
        Ok(runner::offsets_modified_message(altered))
    }

    async fn active_topics(&self, name: &str) -> Result<Vec<String>, RuntimeError> {
        let inner = self.inner.lock().await;
        if !inner.snapshot.contains(name) {
            return Err(not_found(name));
        }
        Ok(self
            .statuses
            .topics(name)
            .into_iter()
            .map(|t| t.topic)
            .collect())
    }

    async fn reset_active_topics(&self, name: &str) -> Result<(), RuntimeError> {
        let mut inner = self.inner.lock().await;
        if !inner.snapshot.contains(name) {
            return Err(not_found(name));
        }
        self.statuses.delete_topics(name);
        inner.published_topics.retain(|(c, _)| c != name);
        if let Some(local) = inner.connectors.get(name) {
            local.topics.lock().clear();
        }
        Ok(())
    }

    async fn health(&self, timeout: Duration) -> Health {
        let mut joined = self.joined.subscribe();
        let started = tokio::time::timeout(timeout, joined.wait_for(|j| *j))
            .await
            .is_ok_and(|r| r.is_ok());
        if !started {
            return Health::Starting;
        }
        // The loop holds the lock while it works: a herder stuck there is unhealthy.
        match tokio::time::timeout(timeout, self.inner.lock()).await {
            Ok(_) => Health::Healthy,
            Err(_) => Health::Unhealthy,
        }
    }

    async fn put_task_configs(
        &self,
        name: &str,
        configs: Vec<Props>,
        signature: Option<RequestSignature>,
    ) -> Result<(), RuntimeError> {
        self.await_joined().await?;
        let mut inner = self.inner.lock().await;
        self.verify_signature(&inner, signature.as_ref())?;
        self.require_leader(&inner, "Only the leader may write task configurations.")?;
        self.refresh(&mut inner).await?;
        if !inner.snapshot.contains(name) {
            return Err(not_found(name));
        }
        if !configs.is_empty()
            && inner.snapshot.target_states.get(name) == Some(&TargetState::Stopped)
        {
            return Err(RuntimeError::BadRequest(format!(
                "Cannot submit non-empty set of task configs for stopped connector {name}"
            )));
        }
        self.configs.put_task_configs(name, &configs).await
    }
}
