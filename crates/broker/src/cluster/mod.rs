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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rafka_metadata::controller::PartitionOutcome;
use rafka_metadata::quorum::Quorum;
use rafka_metadata::rpc::{BrokerRequest, BrokerResponse};
use rafka_metadata::server::{
    ControllerClient, ControllerRequest, ControllerResponse, ControllerScramCredentials,
    ListenerSecurity as ServedSecurity, SaslAcceptor,
};
use rafka_metadata::{ClusterImage, MetadataRecord};
use rafka_protocol::ErrorCode;
use tokio::sync::watch;

use crate::error::{api_error, ApiError};

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
    /// How connections to the controller listener are secured.
    controller_security: rafka_client::ClientSecurity,
}

/// How long connecting to a controller may take, TLS handshake and SASL exchange
/// included.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(2000);

/// How long an admin request forwarded to the controller may take, election included.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

impl Cluster {
    pub fn new(
        node_id: i32,
        voters: BTreeMap<i32, String>,
        quorum: Option<Quorum>,
        controller_security: rafka_client::ClientSecurity,
    ) -> Cluster {
        Cluster {
            node_id,
            voters,
            quorum,
            controller_security,
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

    /// The epoch a registration returned; -1 to register again.
    pub(crate) fn set_broker_epoch(&self, epoch: i64) {
        self.broker_epoch.store(epoch, Ordering::Relaxed);
    }

    /// The active controller as a FetchImage answer named it.
    pub(crate) fn set_controller(&self, controller: Option<i32>) {
        self.controller.send_replace(controller);
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
                    ControllerClient::connect(address, CONNECT_TIMEOUT, &self.controller_security)
                        .await?;
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
                Ok(Ok(other)) => {
                    tracing::debug!("controller {target} at {address} answered {other:?}")
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    // A refused authentication is a configuration error: say so loudly.
                    tracing::warn!("controller {target} at {address} refused this node: {e}")
                }
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

    /// `forward_for_outcomes` for requests answered as a whole.
    pub async fn forward(&self, request: BrokerRequest) -> Result<(), ApiError> {
        self.forward_for_outcomes(request).await.map(|_| ())
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
    let controller_security = crate::peer_security::controller_security(config)?;
    if !config.has_role(crate::config::CONTROLLER_ROLE) {
        return Ok(Arc::new(Cluster::new(
            config.node_id,
            voters,
            None,
            controller_security,
        )));
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
    quorum_config.client_security = controller_security.clone();
    let listener_security = listener_security(config, &listener.name)?;
    let bootstrap_scram =
        crate::storage::read_bootstrap_scram(&config.log_dirs[0]).map_err(|e| e.to_string())?;
    check_controller_scram(config, &bootstrap_scram)?;
    let quorum = Quorum::start(quorum_config)
        .await
        .map_err(|e| format!("cannot start the metadata quorum: {e}"))?;
    let listener_security = Arc::new(ServedSecurity {
        listener: listener.name.clone(),
        tls: listener_security.0,
        sasl: listener_security
            .1
            .map(|(enabled_mechanisms, jaas)| SaslAcceptor {
                enabled_mechanisms,
                jaas,
                credentials: Arc::new(ControllerScramCredentials::new(
                    quorum.image(),
                    bootstrap_scram.iter().map(|added| {
                        (
                            added.name.clone(),
                            added.mechanism.clone(),
                            added.credential.clone(),
                        )
                    }),
                )),
            }),
    });
    let service = controller::ControllerService::new(
        quorum.clone(),
        voters.clone(),
        rafka_metadata::controller::ControllerConfig {
            session_timeout_ms: replication.broker_session_timeout_ms,
            unclean_leader_election: replication.unclean_leader_election,
        },
        clock,
        bootstrap_scram
            .into_iter()
            .map(|added| MetadataRecord::UserScramCredential {
                name: added.name,
                mechanism: added.mechanism,
                credential: added.credential,
            })
            .collect(),
    );
    tokio::spawn(rafka_metadata::server::serve(
        socket,
        quorum.clone(),
        service.clone(),
        listener_security,
    ));
    tokio::spawn(service.run(
        replication.auto_leader_rebalance_enable,
        replication.leader_imbalance_check_interval_ms,
    ));
    tracing::info!("controller listening on {listener}, voters {voters:?}");
    Ok(Arc::new(Cluster::new(
        config.node_id,
        voters,
        Some(quorum),
        controller_security,
    )))
}

/// Kafka lets controllers authenticate each other with SCRAM only when the credential was
/// bootstrapped (`kafka-storage.sh format --add-scram`): the quorum that would replicate
/// any other credential is not up until they have. A controller whose own login has no
/// such credential could never join, so it stops at start-up and says how to fix it.
fn check_controller_scram(
    config: &crate::config::BrokerConfig,
    bootstrap: &[rafka_config::storage::BootstrapScram],
) -> Result<(), String> {
    let Some(controller) = &config.security.controller else {
        return Ok(());
    };
    let Some((mechanism, module)) = &controller.sasl else {
        return Ok(());
    };
    if !mechanism.starts_with("SCRAM-") {
        return Ok(());
    }
    let user = module.options.get("username").cloned().unwrap_or_default();
    if bootstrap
        .iter()
        .any(|added| added.name == user && &added.mechanism == mechanism)
    {
        return Ok(());
    }
    Err(format!(
        "controller listener {} authenticates with {mechanism} as user '{user}', who has no bootstrapped {mechanism} credential in {}: format the controllers' storage with --add-scram '{mechanism}=[name={user},password=…]' (controllers can only use SCRAM credentials written at format time)",
        controller.listener,
        config.log_dirs[0].display()
    ))
}

/// What the controller listener serves with: its TLS side (the stores loaded now, so a
/// bad one fails start-up) and its SASL mechanisms with their JAAS entries.
#[allow(clippy::type_complexity)]
fn listener_security(
    config: &crate::config::BrokerConfig,
    listener: &str,
) -> Result<
    (
        Option<Arc<dyn rafka_metadata::server::AcceptTls>>,
        Option<(
            Vec<String>,
            BTreeMap<String, rafka_security::jaas::LoginModule>,
        )>,
    ),
    String,
> {
    let tls = match config.security.ssl(listener) {
        Some(ssl) => Some(
            Arc::new(crate::listener_tls::ListenerTls::new(listener, ssl)?)
                as Arc<dyn rafka_metadata::server::AcceptTls>,
        ),
        None => None,
    };
    let sasl = config
        .security
        .sasl(listener)
        .map(|s| (s.enabled_mechanisms.clone(), s.jaas.clone()));
    Ok((tls, sasl))
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
    let security = crate::peer_security::controller_security(config)?;
    let mut attempts = 0u64;
    loop {
        for address in &bootstrap {
            let answer = async {
                let mut client =
                    ControllerClient::connect(address, Duration::from_secs(2), &security).await?;
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
    let cluster_id = crate::log_manager::ensure_formatted(config).map_err(|e| e.to_string())?;
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
