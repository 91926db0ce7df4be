//! Multi-node mode: this node's part in the cluster.
//!
//! - As a controller (`process.roles` has `controller`): a voter of the metadata quorum,
//!   serving the controller listener; while it is the quorum's leader it is the active
//!   controller and makes every metadata decision (`controller::ControllerService`).
//!   A controller-only node (`run_controller`) is nothing else: no client listener, no
//!   partition, no broker registration.
//! - As a broker (`process.roles` has `broker`; a broker-only node is no voter and reaches
//!   the controllers through `controller.quorum.voters`): it registers with the active
//!   controller, heartbeats, follows the committed metadata image (long-polling any
//!   controller for newer images) and applies it to its partitions: leader, follower, or
//!   gone. Followers replicate through `fetcher`; leaders propose ISR changes with
//!   AlterPartition.
//!
//! Every admin change a client asks of any broker (CreateTopics, …) is forwarded to the
//! active controller, and answered once this broker's own image has it.

pub mod controller;
pub mod fetcher;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rafka_metadata::controller::PartitionOutcome;
use rafka_metadata::quorum::Quorum;
use rafka_metadata::rpc::{BrokerRequest, BrokerResponse};
use rafka_metadata::server::{ControllerClient, ControllerRequest, ControllerResponse};
use rafka_metadata::ClusterImage;
use rafka_protocol::ErrorCode;
use tokio::sync::watch;

use crate::broker::{ApiError, Broker};

/// This node's view of the cluster.
#[derive(Debug)]
pub struct Cluster {
    pub node_id: i32,
    /// Every controller's listener address, by node id.
    pub voters: BTreeMap<i32, String>,
    /// This node's quorum voter, if it is a controller.
    pub quorum: Option<Quorum>,
    /// The image this broker has applied.
    image: watch::Sender<Arc<ClusterImage>>,
    /// The active controller as last heard.
    controller: watch::Sender<Option<i32>>,
    /// This broker's epoch from its registration; -1 until registered.
    broker_epoch: AtomicI64,
    pub incarnation_id: uuid::Uuid,
}

/// How long an admin request forwarded to the controller may take, election included.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

impl Cluster {
    pub fn new(node_id: i32, voters: BTreeMap<i32, String>, quorum: Option<Quorum>) -> Cluster {
        Cluster {
            node_id,
            voters,
            quorum,
            image: watch::channel(Arc::new(ClusterImage::default())).0,
            controller: watch::channel(None).0,
            broker_epoch: AtomicI64::new(-1),
            incarnation_id: uuid::Uuid::new_v4(),
        }
    }

    pub fn image(&self) -> Arc<ClusterImage> {
        self.image.borrow().clone()
    }

    pub fn subscribe_image(&self) -> watch::Receiver<Arc<ClusterImage>> {
        self.image.subscribe()
    }

    /// Resolves once this incarnation is registered and unfenced in an image the broker
    /// has applied: only then does it serve clients, as Kafka's BrokerServer enables
    /// request processing after the lifecycle manager's initial catch-up. Before, a
    /// client's first request could meet a broker with no topics and no controller.
    pub async fn wait_until_ready(&self) {
        let mut images = self.image.subscribe();
        let (node, incarnation) = (self.node_id, self.incarnation_id);
        let _ = images
            .wait_for(|image| {
                image
                    .brokers
                    .get(&node)
                    .is_some_and(|b| b.incarnation_id == incarnation && !b.fenced)
            })
            .await;
    }

    pub(crate) fn set_image(&self, image: Arc<ClusterImage>) {
        self.image.send_replace(image);
    }

    pub fn controller_id(&self) -> Option<i32> {
        self.quorum
            .as_ref()
            .and_then(Quorum::leader)
            .or(*self.controller.borrow())
    }

    pub fn broker_epoch(&self) -> i64 {
        self.broker_epoch.load(Ordering::Relaxed)
    }

    /// Sends `request` to the active controller: the one last heard of first, then every
    /// voter, following NotController hints, until `timeout`.
    pub async fn call_controller(
        &self,
        request: BrokerRequest,
        timeout: Duration,
    ) -> Result<BrokerResponse, ApiError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut candidate = self.controller_id();
        let mut round = 0usize;
        loop {
            let ids: Vec<i32> = self.voters.keys().copied().collect();
            let target = candidate.unwrap_or(ids[round % ids.len()]);
            round += 1;
            candidate = None;
            let address = &self.voters[&target];
            let outcome = async {
                let mut client =
                    ControllerClient::connect(address, Duration::from_millis(500)).await?;
                client.set_request_timeout(timeout);
                client
                    .call(ControllerRequest::Broker(request.clone()))
                    .await
            };
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(remaining, outcome).await {
                Ok(Ok(ControllerResponse::Broker(BrokerResponse::NotController { leader }))) => {
                    if let Some(leader) = leader.filter(|l| self.voters.contains_key(l)) {
                        self.controller.send_replace(Some(leader));
                        candidate = Some(leader);
                    }
                }
                Ok(Ok(ControllerResponse::Broker(response))) => {
                    self.controller.send_replace(Some(target));
                    return Ok(response);
                }
                Ok(Ok(ControllerResponse::Raft(_))) => {}
                Ok(Err(e)) => tracing::debug!("controller {target} at {address}: {e}"),
                Err(_) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::new(
                    ErrorCode::RequestTimedOut,
                    "No active controller answered in time",
                ));
            }
            if candidate.is_none() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Forwards an admin change to the active controller and waits until this broker has
    /// applied it; the per-partition outcomes of those answered partition by partition
    /// (ElectLeaders, AlterPartitionReassignments), else none.
    pub async fn forward_for_outcomes(
        &self,
        request: BrokerRequest,
    ) -> Result<Vec<PartitionOutcome>, ApiError> {
        let (offset, outcomes) = match self.call_controller(request, FORWARD_TIMEOUT).await? {
            BrokerResponse::Done { offset } => (offset, Vec::new()),
            BrokerResponse::Outcomes { offset, outcomes } => (offset, outcomes),
            BrokerResponse::Error { code, message } => return Err(api_error(code, message)),
            other => {
                return Err(ApiError::new(
                    ErrorCode::UnknownServerError,
                    format!("unexpected controller answer {other:?}"),
                ))
            }
        };
        let mut image = self.subscribe_image();
        let reached = image.wait_for(|i| i.offset >= offset);
        let _ = tokio::time::timeout(Duration::from_secs(10), reached).await;
        Ok(outcomes)
    }

    /// `forward_for_outcomes` from synchronous handler code (the server runs a
    /// multi-thread runtime), for requests answered as a whole.
    pub fn forward_blocking(&self, request: BrokerRequest) -> Result<(), ApiError> {
        self.forward_for_outcomes_blocking(request).map(|_| ())
    }

    /// `forward_for_outcomes` from synchronous handler code.
    pub fn forward_for_outcomes_blocking(
        &self,
        request: BrokerRequest,
    ) -> Result<Vec<PartitionOutcome>, ApiError> {
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(self.forward_for_outcomes(request))
        })
    }
}

pub fn api_error(code: i16, message: String) -> ApiError {
    let code = kafka_protocol::error::ResponseError::try_from_code(code)
        .unwrap_or(ErrorCode::UnknownServerError);
    ApiError::new(code, message)
}

/// Starts this node's cluster tasks: registration, heartbeats, image following,
/// ISR checks; returns when `stop` fires.
pub async fn run_broker(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let Some(cluster) = broker.cluster.clone() else {
        return;
    };
    let config = broker.config.replication.clone();
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(follow_image(broker.clone()));
    tasks.spawn(heartbeats(broker.clone(), stop.clone()));
    tasks.spawn(fetcher::run(broker.clone()));
    let isr_broker = broker.clone();
    tasks.spawn(async move {
        let period = Duration::from_millis((config.replica_lag_time_max_ms / 2).clamp(50, 1000));
        let mut interval = tokio::time::interval(period);
        loop {
            interval.tick().await;
            check_isr(&isr_broker).await;
        }
    });
    let _ = stop.wait_for(|s| *s).await;
    // Controlled shutdown: give up leaderships before going.
    let epoch = cluster.broker_epoch();
    if epoch >= 0 {
        let request = BrokerRequest::Heartbeat {
            id: cluster.node_id,
            epoch,
            metadata_offset: cluster.image().offset,
            shutting_down: true,
        };
        let _ = cluster
            .call_controller(request, Duration::from_secs(3))
            .await;
    }
    tasks.abort_all();
}

/// Long-polls the controllers for newer images and applies each.
async fn follow_image(broker: Arc<Broker>) {
    let cluster = broker.cluster.clone().expect("cluster mode");
    loop {
        let request = BrokerRequest::FetchImage {
            after_offset: cluster.image().offset,
            wait_ms: 1_000,
        };
        // Any controller may answer: each serves its committed image.
        match cluster
            .call_controller(request, Duration::from_secs(5))
            .await
        {
            Ok(BrokerResponse::Image { image, controller }) => {
                if controller.is_some() {
                    cluster.controller.send_replace(controller);
                }
                if let Some(image) = image {
                    let image = Arc::new(*image);
                    let applied = broker.clone();
                    let result =
                        tokio::task::spawn_blocking(move || applied.apply_image(image)).await;
                    if let Err(e) = result {
                        tracing::error!("applying the metadata image failed: {e}");
                    }
                }
            }
            Ok(other) => {
                tracing::debug!("unexpected FetchImage answer {other:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                tracing::debug!("cannot fetch metadata: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Registers, then heartbeats every `broker.heartbeat.interval.ms`; registers again
/// when the controller no longer knows this incarnation.
async fn heartbeats(broker: Arc<Broker>, stop: watch::Receiver<bool>) {
    let cluster = broker.cluster.clone().expect("cluster mode");
    let interval = Duration::from_millis(broker.config.replication.broker_heartbeat_interval_ms);
    let advertised = broker.config.advertised();
    loop {
        if *stop.borrow() {
            return;
        }
        if cluster.broker_epoch() < 0 {
            let request = BrokerRequest::Register {
                id: cluster.node_id,
                incarnation_id: cluster.incarnation_id,
                listeners: vec![rafka_metadata::image::Endpoint {
                    name: advertised.name.clone(),
                    host: advertised.host.clone(),
                    port: advertised.port,
                }],
                rack: broker.config.broker_rack.clone(),
            };
            match cluster
                .call_controller(request, Duration::from_secs(5))
                .await
            {
                Ok(BrokerResponse::Registered { epoch }) => {
                    tracing::info!("registered with the controller, broker epoch {epoch}");
                    cluster.broker_epoch.store(epoch, Ordering::Relaxed);
                }
                other => {
                    tracing::debug!("registration failed: {other:?}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
        }
        let request = BrokerRequest::Heartbeat {
            id: cluster.node_id,
            epoch: cluster.broker_epoch(),
            metadata_offset: cluster.image().offset,
            shutting_down: false,
        };
        match cluster.call_controller(request, interval * 2).await {
            Ok(BrokerResponse::Heartbeat) => {}
            Ok(BrokerResponse::Error { code, message }) => {
                tracing::warn!("heartbeat refused ({code}): {message}; registering again");
                cluster.broker_epoch.store(-1, Ordering::Relaxed);
                continue;
            }
            other => tracing::debug!("heartbeat failed: {other:?}"),
        }
        tokio::time::sleep(interval).await;
    }
}

/// Proposes the ISR changes this broker's leaderships need (AlterPartition).
async fn check_isr(broker: &Arc<Broker>) {
    let cluster = broker.cluster.clone().expect("cluster mode");
    let now = broker.clock.now_ms() as u64;
    let lag = broker.config.replication.replica_lag_time_max_ms;
    for topic in broker.topics() {
        for partition in topic.local_partitions() {
            let Some((isr, leader_epoch, partition_epoch)) = partition.isr_change(now, lag) else {
                continue;
            };
            tracing::info!(
                "{}-{}: proposing ISR {isr:?} (epoch {leader_epoch})",
                topic.name,
                partition.index
            );
            let request = BrokerRequest::AlterPartition {
                broker_id: cluster.node_id,
                broker_epoch: cluster.broker_epoch(),
                topic: topic.name.to_string(),
                partition: partition.index,
                leader_epoch,
                partition_epoch,
                new_isr: isr,
            };
            match cluster
                .call_controller(request, Duration::from_secs(5))
                .await
            {
                // A completed reassignment may have moved the leadership away: the
                // image brings the new role.
                Ok(BrokerResponse::Partition(state)) if state.leader == cluster.node_id => {
                    partition.become_leader(&state, broker.clock.now_ms() as u64)
                }
                Ok(refused) => {
                    tracing::info!(
                        "{}-{}: ISR change not accepted: {refused:?}",
                        topic.name,
                        partition.index
                    );
                    partition.clear_pending_isr();
                }
                // No answer: the change may have committed; keep it pending until the
                // metadata says (Kafka does not forget an unanswered proposal).
                Err(e) => tracing::info!(
                    "{}-{}: ISR change unanswered: {e}",
                    topic.name,
                    partition.index
                ),
            }
        }
    }
}

/// Builds this node's cluster membership: for a controller, binds the controller
/// listener, starts its quorum voter and the controller service.
pub async fn start(
    config: &crate::config::BrokerConfig,
    clock: rafka_types::SharedClock,
) -> Result<Arc<Cluster>, String> {
    let replication = &config.replication;
    let voters = replication.quorum_voters.clone();
    if !config.has_role(crate::config::CONTROLLER_ROLE) {
        return Ok(Arc::new(Cluster::new(config.node_id, voters, None)));
    }
    // The config's validation made sure there is one.
    let listener = config
        .listeners
        .iter()
        .find(|l| config.controller_listener_names.contains(&l.name))
        .ok_or_else(|| {
            "controller.listener.names must contain at least one value appearing in the 'listeners' configuration when running the KRaft controller role"
                .to_string()
        })?;
    let address = listener.bind_address()?;
    let socket = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {listener} ({address}): {e}"))?;
    let mut quorum_config = rafka_metadata::quorum::QuorumConfig::new(
        config.node_id,
        voters.clone(),
        config.log_dirs[0].join("__cluster_metadata-0"),
    );
    quorum_config.election_timeout_min_ms = replication.election_timeout_ms;
    quorum_config.election_timeout_max_ms = replication.election_timeout_ms * 2;
    quorum_config.heartbeat_interval_ms = (replication.election_timeout_ms / 5).max(10);
    let quorum = Quorum::start(quorum_config)
        .await
        .map_err(|e| format!("cannot start the metadata quorum: {e}"))?;
    let service = controller::ControllerService::new(
        quorum.clone(),
        voters.clone(),
        rafka_metadata::controller::ControllerConfig {
            session_timeout_ms: replication.broker_session_timeout_ms,
            unclean_leader_election: replication.unclean_leader_election,
        },
        clock,
    );
    tokio::spawn(rafka_metadata::server::serve(
        socket,
        quorum.clone(),
        service.clone(),
    ));
    tokio::spawn(service.run(
        replication.auto_leader_rebalance_enable,
        replication.leader_imbalance_check_interval_ms,
    ));
    tracing::info!("controller listening on {listener}, voters {voters:?}");
    Ok(Arc::new(Cluster::new(config.node_id, voters, Some(quorum))))
}

/// Finds the quorum's voters when the config names only
/// `controller.quorum.bootstrap.servers`: those `storage format --initial-controllers` (or
/// `--standalone`) recorded on a controller, else (a broker) the voters a bootstrap
/// controller describes, asked until one answers. A combined node with one bootstrap
/// server and nothing recorded stays the single-node mode.
pub async fn resolve_voters(config: &mut crate::config::BrokerConfig) -> Result<(), String> {
    if !config.needs_voters() {
        return Ok(());
    }
    if let Some(voters) = crate::config::read_bootstrap_voters(&config.log_dirs[0])? {
        tracing::info!("controller quorum voters from storage format: {voters:?}");
        return config.set_voters(voters).map_err(|e| e.to_string());
    }
    let bootstrap = config.replication.quorum_bootstrap_servers.clone();
    let controller = config.has_role(crate::config::CONTROLLER_ROLE);
    let broker = config.has_role(crate::config::BROKER_ROLE);
    if controller {
        if broker && bootstrap.len() == 1 {
            return Ok(());
        }
        return Err(format!(
            "controller.quorum.voters is not set and {} holds no voters: format this controller with --initial-controllers or --standalone (rafka cannot add controllers to a running quorum)",
            config.log_dirs[0].display()
        ));
    }
    let mut attempts = 0u64;
    loop {
        for address in &bootstrap {
            let answer = async {
                let mut client = ControllerClient::connect(address, Duration::from_secs(1)).await?;
                client.set_request_timeout(Duration::from_secs(2));
                client
                    .call(ControllerRequest::Broker(BrokerRequest::DescribeVoters))
                    .await
            };
            if let Ok(ControllerResponse::Broker(BrokerResponse::Voters { voters })) = answer.await
            {
                tracing::info!("controller quorum voters from {address}: {voters:?}");
                return config.set_voters(voters).map_err(|e| e.to_string());
            }
        }
        attempts += 1;
        if attempts % 20 == 1 {
            tracing::warn!("waiting for a controller at {bootstrap:?} to describe the quorum");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs a controller-only node (`process.roles=controller`) until `shutdown` resolves:
/// the quorum voter and the controller service on the controller listener, nothing else.
/// It opens no client listener and no partition log, and never registers as a broker, so
/// no Metadata or DescribeCluster answer lists it, as in Kafka.
pub async fn run_controller(
    config: &crate::config::BrokerConfig,
    clock: rafka_types::SharedClock,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    assert!(config.is_controller_only(), "a controller-only config");
    let cluster_id = crate::broker::ensure_formatted(config).map_err(|e| e.to_string())?;
    let cluster = start(config, clock).await?;
    tracing::info!(
        "rafka controller {} of cluster {cluster_id} started (metadata in {})",
        config.node_id,
        config.log_dirs[0].display()
    );
    shutdown.await;
    tracing::info!("shutting down");
    if let Some(quorum) = &cluster.quorum {
        quorum.shutdown().await;
    }
    tracing::info!("shut down cleanly");
    Ok(())
}
