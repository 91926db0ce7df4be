//! The state of one broker: its configuration, the topics and partitions it hosts, and the
//! cluster metadata it persists. Handlers reach everything through `Broker`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rafka_log::{Log, LogError, OpenOptions};
use rafka_protocol::ErrorCode;
use rafka_types::{Offset, SharedClock};

use rafka_metadata::controller::{self, Refusal};
use rafka_metadata::image::TopicImage;
use rafka_metadata::rpc::BrokerRequest;
use rafka_metadata::{ClusterImage, PartitionState};

use crate::cluster::Cluster;
use crate::config::BrokerConfig;
use crate::group::GroupCoordinator;
use crate::partition::Partition;
use crate::storage::{self, MetaProperties, MetadataImage, StorageError, TopicRecord};
use crate::topic::{validate_topic_name, Topic};
use crate::topic_config::{effective_topic_configs, log_config, validate_topic_configs};

/// A client-visible failure: Kafka's error code and, where the API carries one, a message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Option<String>,
    /// Produce's per-record errors (KIP-467): (index of the record in its batch, why).
    pub record_errors: Vec<(i32, String)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: Some(message.into()),
            record_errors: Vec::new(),
        }
    }

    pub fn code(code: ErrorCode) -> ApiError {
        ApiError {
            code,
            message: None,
            record_errors: Vec::new(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{:?}: {m}", self.code),
            None => write!(f, "{:?}", self.code),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        crate::cluster::api_error(r.code, r.message)
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> ApiError {
        if let LogError::RecordErrors {
            message,
            record_errors,
        } = e
        {
            return ApiError {
                code: ErrorCode::InvalidRecord,
                message: Some(message),
                record_errors,
            };
        }
        let code = match &e {
            LogError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
            LogError::CorruptRecord(_) => ErrorCode::CorruptMessage,
            LogError::RecordTooLarge { .. } => ErrorCode::MessageTooLarge,
            LogError::InvalidRecord(_) => ErrorCode::InvalidRecord,
            LogError::UndecodableRecords(_) => ErrorCode::UnknownServerError,
            _ => ErrorCode::KafkaStorageError,
        };
        ApiError::new(code, e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot open the log of {partition} in {path}: {source}")]
    Log {
        partition: String,
        path: PathBuf,
        source: LogError,
    },
    #[error("{0}")]
    Config(String),
}

/// One partition's log as start-up opened it.
type Opened = Result<Arc<Partition>, StartupError>;

/// Offsets by (topic, partition), as a checkpoint file holds them.
type Checkpoint = BTreeMap<(String, i32), i64>;

#[derive(Debug, Default)]
struct Topics {
    by_name: BTreeMap<String, Arc<Topic>>,
    by_id: HashMap<uuid::Uuid, Arc<Topic>>,
}

#[derive(Debug)]
pub struct Broker {
    pub config: BrokerConfig,
    pub cluster_id: String,
    pub clock: SharedClock,
    topics: RwLock<Topics>,
    /// Serialises metadata changes and owns the persisted image.
    image: Mutex<MetadataImage>,
    pub groups: GroupCoordinator,
    /// Multi-node mode: the quorum, the applied cluster image, the controller link.
    pub cluster: Option<Arc<Cluster>>,
    /// What start-up read for opening partitions later (cluster mode opens a partition
    /// when the metadata first assigns it here).
    startup: Mutex<StartupOffsets>,
}

/// A broker as Metadata and DescribeCluster list it.
#[derive(Debug, Clone)]
pub struct BrokerEndpoint {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

#[derive(Debug, Default)]
struct StartupOffsets {
    clean: bool,
    recovery: Checkpoint,
    log_starts: Checkpoint,
    high_watermarks: Checkpoint,
}

impl Broker {
    /// Opens (or, with no `process.roles`, formats) the log directories, loads the
    /// metadata and opens every partition's log, recovering those not shut down cleanly.
    pub fn open(config: BrokerConfig, clock: SharedClock) -> Result<Broker, StartupError> {
        Broker::open_with(config, clock, None)
    }

    /// Opens a broker of a cluster: partitions come from the cluster image as it arrives
    /// (`apply_image`), not from `rafka-metadata.json`.
    pub fn open_with(
        config: BrokerConfig,
        clock: SharedClock,
        cluster: Option<Arc<Cluster>>,
    ) -> Result<Broker, StartupError> {
        let cluster_id = ensure_formatted(&config)?;
        let image = if cluster.is_some() {
            MetadataImage::default()
        } else {
            MetadataImage::load(config_metadata_dir(&config))?
        };
        let broker = Broker {
            config: config.clone(),
            cluster_id,
            clock,
            topics: RwLock::new(Topics::default()),
            image: Mutex::new(image.clone()),
            groups: GroupCoordinator::new(
                config.group.clone(),
                config.consumer_group.clone(),
                config.offsets_topic.clone(),
            ),
            cluster,
            startup: Mutex::new(StartupOffsets::default()),
        };
        let mut recovery = BTreeMap::new();
        let mut log_starts = BTreeMap::new();
        let mut clean = true;
        for dir in &broker.config.log_dirs {
            let marker = dir.join(storage::CLEAN_SHUTDOWN_FILE);
            if marker.exists() {
                let _ = std::fs::remove_file(&marker);
            } else if dir.join(storage::METADATA_FILE).exists() || holds_partitions(dir) {
                // A dir that has never held a topic (a fresh one) has nothing to recover.
                clean = false;
            }
            recovery.extend(storage::read_offset_checkpoint(
                &dir.join(storage::RECOVERY_POINT_CHECKPOINT),
            )?);
            log_starts.extend(storage::read_offset_checkpoint(
                &dir.join(storage::LOG_START_OFFSET_CHECKPOINT),
            )?);
        }
        if !clean {
            tracing::warn!("the previous shutdown was not clean: recovering logs");
        }
        if broker.cluster.is_some() {
            let mut high_watermarks = Checkpoint::new();
            for dir in &broker.config.log_dirs {
                high_watermarks.extend(storage::read_offset_checkpoint(
                    &dir.join(storage::REPLICATION_OFFSET_CHECKPOINT),
                )?);
            }
            *broker.startup.lock() = StartupOffsets {
                clean,
                recovery,
                log_starts,
                high_watermarks,
            };
            return Ok(broker);
        }
        // Every partition's log, opened (and recovered) by `num.recovery.threads.per.data.dir`
        // threads per log dir, as Kafka does: recovery after a crash is CRC-bound.
        let jobs: Vec<(&TopicRecord, i32, OpenOptions)> = image
            .topics
            .values()
            .flat_map(|record| (0..record.partitions).map(move |index| (record, index)))
            .map(|(record, index)| {
                let key = (record.name.clone(), index);
                let options = OpenOptions {
                    log_start_offset: log_starts.get(&key).map(|o| Offset(*o)),
                    recovery_point: if clean {
                        None
                    } else {
                        Some(Offset(recovery.get(&key).copied().unwrap_or(0)))
                    },
                };
                (record, index, options)
            })
            .collect();
        let threads = (broker.config.num_recovery_threads_per_data_dir
            * broker.config.log_dirs.len())
        .clamp(1, jobs.len().max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let opened: Mutex<Vec<Option<Opened>>> =
            Mutex::new((0..jobs.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((record, index, options)) = jobs.get(i) else {
                        break;
                    };
                    let result = broker.open_partition(&image, record, *index, *options);
                    opened.lock()[i] = Some(result);
                });
            }
        });
        let mut opened = opened.into_inner().into_iter();
        let mut topics = Topics::default();
        for record in image.topics.values() {
            let mut partitions = Vec::with_capacity(record.partitions as usize);
            for _ in 0..record.partitions {
                let result = opened.next().flatten().expect("every job ran");
                partitions.push(Some(result?));
            }
            let topic = Arc::new(Topic {
                name: record.name.as_str().into(),
                topic_id: record.topic_id,
                replication_factor: record.replication_factor,
                states: broker.local_states(record.partitions),
                partitions,
                configs: record.configs.clone(),
            });
            topics.by_id.insert(topic.topic_id, topic.clone());
            topics.by_name.insert(record.name.clone(), topic);
        }
        broker.remove_stray_partition_dirs(&topics);
        *broker.topics.write() = topics;
        broker.groups.load(&broker);
        Ok(broker)
    }

    /// Opens one partition's log. `image` is the metadata as the caller holds it (the
    /// image lock is not re-entrant).
    fn open_partition(
        &self,
        image: &MetadataImage,
        record: &TopicRecord,
        index: i32,
        options: OpenOptions,
    ) -> Result<Arc<Partition>, StartupError> {
        let dir = self.partition_dir(&record.name, index);
        let effective = effective_topic_configs(&record.configs, &self.log_defaults_of(image));
        let log = Log::open(
            dir.clone(),
            log_config(&effective),
            self.clock.clone(),
            options,
        )
        .map_err(|source| StartupError::Log {
            partition: format!("{}-{}", record.name, index),
            path: dir.clone(),
            source,
        })?;
        write_partition_metadata(&dir, &record.topic_id);
        Ok(Arc::new(Partition::new(
            record.name.as_str().into(),
            index,
            log,
        )))
    }

    /// Where a partition lives: its existing directory in any log dir, else the log dir
    /// holding the fewest partitions.
    fn partition_dir(&self, topic: &str, index: i32) -> PathBuf {
        let name = format!("{topic}-{index}");
        let dirs = &self.config.log_dirs;
        if let [only] = dirs.as_slice() {
            // Nothing to choose, so nothing to count: counting lists every partition
            // directory, which made creating n partitions cost O(n²) stat calls (the
            // sixth 1000 of 6000 partitions took 5x as long as the first).
            return only.join(name);
        }
        if let Some(existing) = dirs.iter().map(|d| d.join(&name)).find(|p| p.is_dir()) {
            return existing;
        }
        let count = |d: &PathBuf| {
            std::fs::read_dir(d)
                .map(|it| {
                    it.filter_map(Result::ok)
                        .filter(|e| e.path().is_dir())
                        .count()
                })
                .unwrap_or(0)
        };
        let best = dirs.iter().min_by_key(|d| count(d)).unwrap_or(&dirs[0]);
        best.join(name)
    }

    fn remove_stray_partition_dirs(&self, topics: &Topics) {
        for dir in &self.config.log_dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                if !path.is_dir() {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().to_string();
                let Some((topic, index)) = name.rsplit_once('-') else {
                    continue;
                };
                let Ok(index) = index.parse::<i32>() else {
                    continue;
                };
                let known = topics
                    .by_name
                    .get(topic)
                    .is_some_and(|t| t.partition(index).is_some());
                if !known {
                    tracing::warn!(
                        "deleting {}: no such partition in the metadata",
                        path.display()
                    );
                    if let Err(e) = std::fs::remove_dir_all(&path) {
                        tracing::error!("cannot delete {}: {e}", path.display());
                    }
                }
            }
        }
    }

    /// Broker-level defaults of topic configs: static (server.properties) overridden by
    /// dynamic (AlterConfigs).
    pub fn broker_log_defaults(&self) -> BTreeMap<String, String> {
        self.log_defaults_of(&self.image.lock())
    }

    fn log_defaults_of(&self, image: &MetadataImage) -> BTreeMap<String, String> {
        let mut defaults = self.config.log_defaults.clone();
        defaults.extend(image.broker_configs.clone());
        defaults
    }

    pub fn dynamic_broker_configs(&self) -> BTreeMap<String, String> {
        match &self.cluster {
            Some(cluster) => cluster.image().broker_configs.clone(),
            None => self.image.lock().broker_configs.clone(),
        }
    }

    /// One group's config overrides (the GROUP config resource), empty when it has none.
    pub fn group_configs(&self, group: &str) -> BTreeMap<String, String> {
        let lookup = |groups: &BTreeMap<String, BTreeMap<String, String>>| {
            groups.get(group).cloned().unwrap_or_default()
        };
        match &self.cluster {
            Some(cluster) => lookup(&cluster.image().group_configs),
            None => lookup(&self.image.lock().group_configs),
        }
    }

    /// The groups that have a config entry, as ListConfigResources lists them.
    pub fn groups_with_configs(&self) -> Vec<String> {
        match &self.cluster {
            Some(cluster) => cluster.image().group_configs.keys().cloned().collect(),
            None => self.image.lock().group_configs.keys().cloned().collect(),
        }
    }

    /// Replaces one group's config overrides (already validated).
    pub fn set_group_configs(
        &self,
        group: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        if let Some(cluster) = &self.cluster {
            return cluster.forward_blocking(BrokerRequest::SetGroupConfigs {
                group: group.to_string(),
                configs,
            });
        }
        let mut image = self.image.lock();
        let mut next = image.clone();
        rafka_metadata::image::set_group_configs(&mut next.group_configs, group, configs);
        next.save(config_metadata_dir(&self.config))
            .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
        *image = next;
        Ok(())
    }

    /// The brokers clients may use: this one alone, or the cluster's unfenced brokers.
    pub fn live_brokers(&self) -> Vec<BrokerEndpoint> {
        match &self.cluster {
            None => {
                let advertised = self.config.advertised();
                vec![BrokerEndpoint {
                    id: self.config.node_id,
                    host: advertised.host,
                    port: advertised.port,
                    rack: self.config.broker_rack.clone(),
                }]
            }
            Some(cluster) => cluster
                .image()
                .live_brokers()
                .filter_map(|b| {
                    let endpoint = b.listeners.first()?;
                    Some(BrokerEndpoint {
                        id: b.id,
                        host: endpoint.host.clone(),
                        port: endpoint.port,
                        rack: b.rack.clone(),
                    })
                })
                .collect(),
        }
    }

    /// The `controller_id` of Metadata and DescribeCluster answers, given the brokers the
    /// answer lists. Single-node mode: this node. Cluster mode: what a KRaft broker answers
    /// (`getRandomAliveBrokerId`), a broker of `live` picked at random for each answer, -1
    /// when there is none; never the quorum leader, whom clients cannot reach (KIP-590),
    /// and who may be a controller-only node. Clients send their controller-bound admin
    /// requests to that broker, which forwards them to the active controller; a random
    /// pick spreads them, and a dead controller cannot stick in a client's cache.
    pub fn controller_id_for_clients(&self, live: &[BrokerEndpoint]) -> i32 {
        if self.cluster.is_none() {
            return self.config.node_id;
        }
        random_broker_id(live, uuid::Uuid::new_v4().as_u128())
    }

    /// Applies a newer cluster image: opens the partitions newly assigned here, takes up
    /// leaderships and followerships, applies config changes, drops deleted topics.
    pub fn apply_image(&self, image: Arc<ClusterImage>) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let me = self.config.node_id;
        let now = self.clock.now_ms() as u64;
        let mut defaults = self.config.log_defaults.clone();
        defaults.extend(image.broker_configs.clone());
        // Configs are pushed to the partitions only when they change (or a partition
        // opens), not on every image: at 10k partitions that is 10k log locks an image.
        let broker_configs_changed = cluster.image().broker_configs != image.broker_configs;
        let mut next = Topics::default();
        for t in image.topics.values() {
            let existing = self.topic(&t.name).filter(|e| e.topic_id == t.topic_id);
            let configs_changed =
                broker_configs_changed || existing.as_ref().is_none_or(|e| e.configs != t.configs);
            let effective = effective_topic_configs(&t.configs, &defaults);
            let min_isr = effective
                .get("min.insync.replicas")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(1);
            let config = log_config(&effective);
            let mut partitions = Vec::with_capacity(t.partitions.len());
            for (index, state) in t.partitions.iter().enumerate() {
                let index = index as i32;
                if !state.replicas.contains(&me) {
                    partitions.push(None);
                    continue;
                }
                let (local, opened) =
                    match existing.as_ref().and_then(|e| e.partition(index).cloned()) {
                        Some(p) => (Some(p), false),
                        None => (self.open_cluster_partition(t, index, config.clone()), true),
                    };
                if let Some(p) = &local {
                    if configs_changed {
                        p.update_config(config.clone());
                    }
                    if configs_changed || opened {
                        p.set_min_insync_replicas(min_isr);
                    }
                    if state.leader == me {
                        let was_leader = p.is_leader();
                        p.become_leader(state, now);
                        if !was_leader && t.name == crate::group::OFFSETS_TOPIC {
                            // This broker now coordinates the partition's groups.
                            self.groups.load_partition(p, now as i64);
                        }
                    } else {
                        p.become_follower(state.leader, state.leader_epoch);
                    }
                }
                partitions.push(local);
            }
            let topic = Arc::new(Topic {
                name: t.name.as_str().into(),
                topic_id: t.topic_id,
                replication_factor: t
                    .partitions
                    .first()
                    .map_or(1, |p| p.target_replicas().len() as i16),
                partitions,
                states: t.partitions.clone(),
                configs: t.configs.clone(),
            });
            next.by_id.insert(topic.topic_id, topic.clone());
            next.by_name.insert(t.name.clone(), topic);
        }
        // Replicas this broker no longer holds: their topic was deleted, or a
        // reassignment moved them away (Kafka's StopReplica with deletion).
        let mut gone = Vec::new();
        for topic in self.topics.read().by_name.values() {
            let kept = next.by_id.get(&topic.topic_id);
            gone.extend(
                topic
                    .local_partitions()
                    .filter(|p| kept.is_none_or(|t| t.partition(p.index).is_none()))
                    .cloned(),
            );
            if kept.is_none() {
                tracing::info!("deleted topic {}", topic.name);
            }
        }
        *self.topics.write() = next;
        for partition in gone {
            let dir = partition.dir();
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {
                    tracing::info!("{}-{}: replica deleted", partition.topic, partition.index)
                }
                Err(e) => tracing::error!("cannot delete {}: {e}", dir.display()),
            }
        }
        cluster.set_image(image);
    }

    /// Opens (creating or recovering) this broker's replica of a partition the image
    /// assigns here.
    fn open_cluster_partition(
        &self,
        topic: &TopicImage,
        index: i32,
        config: rafka_log::LogConfig,
    ) -> Option<Arc<Partition>> {
        let key = (topic.name.clone(), index);
        let (options, high_watermark) = {
            let startup = self.startup.lock();
            let options = OpenOptions {
                log_start_offset: startup.log_starts.get(&key).map(|o| Offset(*o)),
                recovery_point: if startup.clean {
                    None
                } else {
                    Some(Offset(startup.recovery.get(&key).copied().unwrap_or(0)))
                },
            };
            (
                options,
                startup.high_watermarks.get(&key).copied().unwrap_or(0),
            )
        };
        let dir = self.partition_dir(&topic.name, index);
        match Log::open(dir.clone(), config, self.clock.clone(), options) {
            Ok(log) => {
                write_partition_metadata(&dir, &topic.topic_id);
                Some(Arc::new(Partition::hosted(
                    topic.name.as_str().into(),
                    index,
                    self.config.node_id,
                    log,
                    high_watermark,
                )))
            }
            Err(e) => {
                tracing::error!(
                    "cannot open {}-{index} in {}: {e}",
                    topic.name,
                    dir.display()
                );
                None
            }
        }
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().by_name.get(name).cloned()
    }

    pub fn topic_by_id(&self, id: &uuid::Uuid) -> Option<Arc<Topic>> {
        self.topics.read().by_id.get(id).cloned()
    }

    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.topics.read().by_name.values().cloned().collect()
    }

    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.topic(topic).and_then(|t| t.partition(index).cloned())
    }

    /// Live brokers that can host replicas.
    /// The broker ids a manual replica assignment may name: the registered brokers
    /// (just this one in single-node mode).
    pub fn registered_broker_ids(&self) -> Vec<i32> {
        match &self.cluster {
            Some(cluster) => cluster.image().brokers.keys().copied().collect(),
            None => vec![self.config.node_id],
        }
    }

    pub fn live_broker_count(&self) -> usize {
        match &self.cluster {
            Some(cluster) => cluster.image().live_brokers().count(),
            None => 1,
        }
    }

    /// ElectLeaders: the active controller's outcome per partition (`None`: every
    /// partition needing an election).
    pub fn elect_leaders(
        &self,
        election: controller::ElectionType,
        partitions: Option<Vec<(String, i32)>>,
    ) -> Result<Vec<controller::PartitionOutcome>, ApiError> {
        if let Some(cluster) = &self.cluster {
            return cluster.forward_for_outcomes_blocking(BrokerRequest::ElectLeaders {
                election,
                partitions,
            });
        }
        let image = self.single_node_image();
        let decider = self.single_node_controller(&image);
        Ok(decider
            .elect_leaders(&image, election, partitions.as_deref())
            .1)
    }

    /// AlterPartitionReassignments: a target replica list per partition, or `None` to
    /// cancel; the active controller's outcome per partition.
    pub fn alter_reassignments(
        &self,
        allow_replication_factor_change: bool,
        partitions: Vec<rafka_metadata::controller::ReassignmentRequest>,
    ) -> Result<Vec<controller::PartitionOutcome>, ApiError> {
        if let Some(cluster) = &self.cluster {
            return cluster.forward_for_outcomes_blocking(BrokerRequest::AlterReassignments {
                allow_replication_factor_change,
                partitions,
            });
        }
        let image = self.single_node_image();
        let decider = self.single_node_controller(&image);
        Ok(decider
            .alter_reassignments(&image, allow_replication_factor_change, &partitions)
            .1)
    }

    /// Single-node mode seen as a cluster of this one broker, so that the controller's
    /// own rules answer ElectLeaders and reassignments (with nothing to change: every
    /// partition has its only replica here, leading).
    fn single_node_image(&self) -> ClusterImage {
        let me = self.config.node_id;
        let mut image = ClusterImage::default();
        image.brokers.insert(
            me,
            rafka_metadata::image::BrokerInfo {
                id: me,
                epoch: 0,
                incarnation_id: uuid::Uuid::nil(),
                listeners: Vec::new(),
                rack: self.config.broker_rack.clone(),
                fenced: false,
            },
        );
        for topic in self.topics() {
            image.topics.insert(
                topic.name.to_string(),
                TopicImage {
                    name: topic.name.to_string(),
                    topic_id: topic.topic_id,
                    configs: topic.configs.clone(),
                    partitions: topic.states.clone(),
                },
            );
        }
        image
    }

    fn single_node_controller(&self, image: &ClusterImage) -> controller::Controller {
        let config = controller::ControllerConfig {
            session_timeout_ms: self.config.replication.broker_session_timeout_ms,
            unclean_leader_election: self.config.replication.unclean_leader_election,
        };
        controller::Controller::new(config, image, self.clock.now_ms() as u64)
    }

    /// Partition states in single-node mode: this broker is every partition's only
    /// replica and leader.
    fn local_states(&self, count: i32) -> Vec<PartitionState> {
        (0..count)
            .map(|_| PartitionState::new(vec![self.config.node_id]))
            .collect()
    }

    /// CreateTopics' checks and, unless `validate_only`, the creation itself.
    pub fn create_topic(
        &self,
        name: &str,
        num_partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<Arc<Topic>, ApiError> {
        self.create_topic_with(
            name,
            num_partitions,
            replication_factor,
            None,
            configs,
            validate_only,
        )
    }

    /// `create_topic`, with CreateTopics' manual replica assignment (one broker list per
    /// partition, already checked for shape) if the client gave one.
    pub fn create_topic_with(
        &self,
        name: &str,
        num_partitions: i32,
        replication_factor: i16,
        assignments: Option<Vec<Vec<i32>>>,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<Arc<Topic>, ApiError> {
        validate_topic_name(name)
            .map_err(|m| ApiError::new(ErrorCode::InvalidTopicException, m))?;
        let num_partitions = if num_partitions == -1 {
            self.config.num_partitions
        } else {
            num_partitions
        };
        if num_partitions <= 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidPartitions,
                "Number of partitions was set to an invalid non-positive value.",
            ));
        }
        let replication_factor = if replication_factor == -1 {
            self.config.default_replication_factor
        } else {
            replication_factor
        };
        if replication_factor <= 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidReplicationFactor,
                "Replication factor must be larger than 0, or -1 to use the default value.",
            ));
        }
        controller::check_replication_factor(
            replication_factor as usize,
            self.live_broker_count(),
        )?;
        validate_topic_configs(&configs, &self.broker_log_defaults())
            .map_err(|m| ApiError::new(ErrorCode::InvalidConfig, m))?;
        if let Some(cluster) = &self.cluster {
            cluster.forward_blocking(BrokerRequest::CreateTopic {
                name: name.to_string(),
                num_partitions,
                replication_factor,
                assignments,
                configs: configs.clone(),
                validate_only,
            })?;
            return match self.topic(name) {
                Some(topic) if !validate_only => Ok(topic),
                _ => Ok(Arc::new(Topic {
                    name: name.into(),
                    topic_id: uuid::Uuid::nil(),
                    replication_factor,
                    partitions: (0..num_partitions).map(|_| None).collect(),
                    states: Vec::new(),
                    configs,
                })),
            };
        }

        let mut image = self.image.lock();
        controller::check_topic_absent(name, image.topics.keys().map(String::as_str))?;
        let record = TopicRecord {
            name: name.to_string(),
            topic_id: uuid::Uuid::new_v4(),
            partitions: num_partitions,
            replication_factor,
            configs,
        };
        if validate_only {
            return Ok(Arc::new(Topic {
                name: name.into(),
                topic_id: record.topic_id,
                replication_factor,
                partitions: Vec::new(),
                states: Vec::new(),
                configs: record.configs,
            }));
        }
        let mut next = image.clone();
        next.topics.insert(name.to_string(), record.clone());
        next.save(config_metadata_dir(&self.config))
            .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
        *image = next;
        let mut partitions = Vec::new();
        for index in 0..num_partitions {
            let options = OpenOptions {
                log_start_offset: None,
                recovery_point: None,
            };
            let partition = self
                .open_partition(&image, &record, index, options)
                .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
            partitions.push(Some(partition));
        }
        let topic = Arc::new(Topic {
            name: name.into(),
            topic_id: record.topic_id,
            replication_factor,
            partitions,
            states: self.local_states(num_partitions),
            configs: record.configs,
        });
        let mut topics = self.topics.write();
        topics.by_id.insert(topic.topic_id, topic.clone());
        topics.by_name.insert(name.to_string(), topic.clone());
        tracing::info!(
            "created topic {name} with {num_partitions} partition(s), id {}",
            storage::base64_url(topic.topic_id.as_bytes())
        );
        Ok(topic)
    }

    /// Removes a topic and, before returning, its partition directories.
    pub fn delete_topic(&self, topic: &Arc<Topic>) -> Result<(), ApiError> {
        if !self.config.delete_topic_enable {
            return Err(ApiError::new(
                ErrorCode::TopicDeletionDisabled,
                "Topic deletion is disabled.",
            ));
        }
        if let Some(cluster) = &self.cluster {
            return cluster.forward_blocking(BrokerRequest::DeleteTopic {
                name: topic.name.to_string(),
            });
        }
        let mut image = self.image.lock();
        let mut next = image.clone();
        if next.topics.remove(&*topic.name).is_none() {
            return Err(ApiError::code(ErrorCode::UnknownTopicOrPartition));
        }
        next.save(config_metadata_dir(&self.config))
            .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
        *image = next;
        {
            let mut topics = self.topics.write();
            topics.by_name.remove(&*topic.name);
            topics.by_id.remove(&topic.topic_id);
        }
        for partition in topic.local_partitions() {
            let dir = partition.dir();
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                tracing::error!("cannot delete {}: {e}", dir.display());
            }
        }
        tracing::info!("deleted topic {}", topic.name);
        Ok(())
    }

    pub fn create_partitions(
        &self,
        name: &str,
        count: i32,
        assignments: Option<Vec<Vec<i32>>>,
        validate_only: bool,
    ) -> Result<(), ApiError> {
        if let Some(cluster) = &self.cluster {
            return cluster.forward_blocking(BrokerRequest::CreatePartitions {
                name: name.to_string(),
                count,
                assignments,
                validate_only,
            });
        }
        let mut image = self.image.lock();
        let Some(topic) = self.topic(name) else {
            return Err(ApiError::code(ErrorCode::UnknownTopicOrPartition));
        };
        let current = topic.partitions.len() as i32;
        controller::check_partition_increase(name, current, count)?;
        if validate_only {
            return Ok(());
        }
        let mut next = image.clone();
        let Some(record) = next.topics.get_mut(name) else {
            return Err(ApiError::code(ErrorCode::UnknownTopicOrPartition));
        };
        record.partitions = count;
        let record = record.clone();
        next.save(config_metadata_dir(&self.config))
            .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
        *image = next;
        let mut partitions = topic.partitions.clone();
        for index in current..count {
            let options = OpenOptions {
                log_start_offset: None,
                recovery_point: None,
            };
            partitions.push(Some(
                self.open_partition(&image, &record, index, options)
                    .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?,
            ));
        }
        self.replace_topic(Topic {
            name: topic.name.clone(),
            topic_id: topic.topic_id,
            replication_factor: topic.replication_factor,
            partitions,
            states: self.local_states(count),
            configs: topic.configs.clone(),
        });
        Ok(())
    }

    fn replace_topic(&self, topic: Topic) {
        let topic = Arc::new(topic);
        let mut topics = self.topics.write();
        topics.by_id.insert(topic.topic_id, topic.clone());
        topics.by_name.insert(topic.name.to_string(), topic);
    }

    /// Replaces a topic's overrides (already validated) and applies them to its logs.
    pub fn set_topic_configs(
        &self,
        name: &str,
        configs: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        if let Some(cluster) = &self.cluster {
            return cluster.forward_blocking(BrokerRequest::SetTopicConfigs {
                name: name.to_string(),
                configs,
            });
        }
        let mut image = self.image.lock();
        let Some(topic) = self.topic(name) else {
            return Err(ApiError::code(ErrorCode::UnknownTopicOrPartition));
        };
        let mut next = image.clone();
        if let Some(record) = next.topics.get_mut(name) {
            record.configs = configs.clone();
        }
        next.save(config_metadata_dir(&self.config))
            .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
        *image = next;
        drop(image);
        let log = log_config(&effective_topic_configs(
            &configs,
            &self.broker_log_defaults(),
        ));
        for partition in topic.local_partitions() {
            partition.update_config(log.clone());
        }
        self.replace_topic(Topic {
            name: topic.name.clone(),
            topic_id: topic.topic_id,
            replication_factor: topic.replication_factor,
            partitions: topic.partitions.clone(),
            states: topic.states.clone(),
            configs,
        });
        Ok(())
    }

    /// Replaces the dynamic cluster-wide broker configs and re-applies every topic's
    /// effective config.
    pub fn set_broker_configs(&self, configs: BTreeMap<String, String>) -> Result<(), ApiError> {
        if let Some(cluster) = &self.cluster {
            return cluster.forward_blocking(BrokerRequest::SetBrokerConfigs { configs });
        }
        let mut image = self.image.lock();
        let mut next = image.clone();
        next.broker_configs = configs;
        next.save(config_metadata_dir(&self.config))
            .map_err(|e| ApiError::new(ErrorCode::KafkaStorageError, e.to_string()))?;
        *image = next;
        drop(image);
        let defaults = self.broker_log_defaults();
        for topic in self.topics() {
            let log = log_config(&effective_topic_configs(&topic.configs, &defaults));
            for partition in topic.local_partitions() {
                partition.update_config(log.clone());
            }
        }
        Ok(())
    }

    /// Applies retention to every partition; called on `log.retention.check.interval.ms`.
    pub fn enforce_retention(&self) {
        for topic in self.topics() {
            for partition in topic.local_partitions() {
                if let Err(e) = partition.with_log(|log| log.enforce_retention()) {
                    tracing::error!(
                        "retention of {}-{} failed: {e}",
                        topic.name,
                        partition.index
                    );
                }
            }
        }
        if let Err(e) = self.write_checkpoints() {
            tracing::error!("cannot write offset checkpoints: {e}");
        }
    }

    /// Compacts every partition whose topic has `cleanup.policy=compact` (the log
    /// decides whether enough is dirty); called every `log.cleaner.backoff.ms`.
    pub fn clean_logs(&self) {
        for topic in self.topics() {
            for partition in topic.local_partitions() {
                let result = partition.with_log(|log| {
                    if log.config().cleanup_policy_compact {
                        log.clean().map(Some)
                    } else {
                        Ok(None)
                    }
                });
                match result {
                    Ok(Some(r)) if r.skipped.is_none() => tracing::info!(
                        "cleaned {}-{}: {} of {} record(s) kept, {} -> {} bytes",
                        topic.name,
                        partition.index,
                        r.records_retained,
                        r.records_read,
                        r.bytes_read,
                        r.bytes_written
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!("cleaning {}-{} failed: {e}", topic.name, partition.index)
                    }
                }
            }
        }
    }

    /// fsyncs the segments rolled since the last pass, without holding any partition's
    /// lock during the fsync, and moves each recovery point past them (Kafka flushes a
    /// segment when it rolls). Recovery after a crash then scans only the newer data.
    pub fn flush_rolled_segments(&self) {
        for topic in self.topics() {
            for partition in topic.local_partitions() {
                let work = partition.with_log(|log| log.rolled_segments_to_flush());
                let (files, up_to) = match work {
                    Ok(Some(work)) => work,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::error!("cannot flush {}-{}: {e}", topic.name, partition.index);
                        continue;
                    }
                };
                if let Err(e) = files.iter().try_for_each(|f| f.sync_data()) {
                    tracing::error!("cannot flush {}-{}: {e}", topic.name, partition.index);
                    continue;
                }
                partition.with_log(|log| log.advance_recovery_point(up_to));
            }
        }
    }

    /// Writes each log dir's recovery-point and log-start-offset checkpoints.
    pub fn write_checkpoints(&self) -> Result<(), StorageError> {
        let mut per_dir: BTreeMap<PathBuf, (Checkpoint, Checkpoint, Checkpoint)> = self
            .config
            .log_dirs
            .iter()
            .map(|d| (d.clone(), Default::default()))
            .collect();
        for topic in self.topics() {
            for partition in topic.local_partitions() {
                let dir = partition.dir();
                let Some(parent) = dir.parent() else { continue };
                if let Some((recovery, starts, hws)) = per_dir.get_mut(parent) {
                    let key = (topic.name.to_string(), partition.index);
                    recovery.insert(key.clone(), partition.recovery_point());
                    starts.insert(key.clone(), partition.log_start_offset());
                    hws.insert(key, partition.high_watermark());
                }
            }
        }
        for (dir, (recovery, starts, hws)) in per_dir {
            if self.cluster.is_some() {
                storage::write_offset_checkpoint(
                    &dir.join(storage::REPLICATION_OFFSET_CHECKPOINT),
                    &hws,
                )?;
            }
            storage::write_offset_checkpoint(
                &dir.join(storage::RECOVERY_POINT_CHECKPOINT),
                &recovery,
            )?;
            storage::write_offset_checkpoint(
                &dir.join(storage::LOG_START_OFFSET_CHECKPOINT),
                &starts,
            )?;
        }
        Ok(())
    }

    /// Flushes every log, writes checkpoints and marks each log dir cleanly shut down.
    pub fn shutdown(&self) {
        for topic in self.topics() {
            for partition in topic.local_partitions() {
                if let Err(e) = partition.with_log(|log| log.flush()) {
                    tracing::error!("cannot flush {}-{}: {e}", topic.name, partition.index);
                }
            }
        }
        if let Err(e) = self.write_checkpoints() {
            tracing::error!("cannot write offset checkpoints: {e}");
            return;
        }
        for dir in &self.config.log_dirs {
            if let Err(e) = storage::write_atomically(&dir.join(storage::CLEAN_SHUTDOWN_FILE), b"")
            {
                tracing::error!("cannot mark {} cleanly shut down: {e}", dir.display());
            }
        }
    }
}

/// The id of `brokers[random % len]`, -1 for no broker.
fn random_broker_id(brokers: &[BrokerEndpoint], random: u128) -> i32 {
    if brokers.is_empty() {
        return -1;
    }
    let index = random % brokers.len() as u128;
    brokers[index as usize].id
}

/// Whether a log dir holds any partition directory (the metadata quorum's own log,
/// `__cluster_metadata-0`, recovers itself).
fn holds_partitions(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .any(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != "__cluster_metadata-0")
}

/// The directory holding the cluster metadata: the first log dir.
fn config_metadata_dir(config: &BrokerConfig) -> &Path {
    &config.log_dirs[0]
}

/// Every log dir must carry a `meta.properties` of this node and one cluster. Without
/// `process.roles` (the embedded default and Kafka-2-style configs) rafka formats
/// unformatted dirs itself; in KRaft mode it refuses, like Kafka.
pub(crate) fn ensure_formatted(config: &BrokerConfig) -> Result<String, StartupError> {
    let mut cluster_id: Option<String> = None;
    let mut unformatted = Vec::new();
    for dir in &config.log_dirs {
        match MetaProperties::read(dir)? {
            Some(meta) => {
                if meta.node_id != config.node_id {
                    return Err(StartupError::Config(format!(
                        "Stored node id {} doesn't match previous node id {} in {}. If you moved your data, make sure your configured node id matches. If you intend to create a new node, you should remove all data in your data directories.",
                        meta.node_id,
                        config.node_id,
                        dir.display()
                    )));
                }
                if let Some(existing) = &cluster_id {
                    if *existing != meta.cluster_id {
                        return Err(StartupError::Config(format!(
                            "Invalid cluster.id in: {}. Expected {existing}, but read {}",
                            dir.join(storage::META_PROPERTIES).display(),
                            meta.cluster_id
                        )));
                    }
                }
                cluster_id = Some(meta.cluster_id);
            }
            None => unformatted.push(dir.clone()),
        }
    }
    if !unformatted.is_empty() && !config.process_roles.is_empty() {
        return Err(StartupError::Config(format!(
            "No `meta.properties` found in {} (have you run `kafka-storage.sh` to format the directory?)",
            unformatted[0].display()
        )));
    }
    let cluster_id = cluster_id.unwrap_or_else(storage::random_kafka_uuid);
    for dir in unformatted {
        MetaProperties {
            cluster_id: cluster_id.clone(),
            node_id: config.node_id,
            directory_id: storage::random_kafka_uuid(),
        }
        .write(&dir)?;
        tracing::info!("formatted {} for cluster {cluster_id}", dir.display());
    }
    Ok(cluster_id)
}

/// Kafka's `partition.metadata`: the topic id of the partition's directory.
fn write_partition_metadata(dir: &Path, topic_id: &uuid::Uuid) {
    let path = dir.join("partition.metadata");
    if path.exists() {
        return;
    }
    let text = format!(
        "version: 0\ntopic_id: {}\n",
        storage::base64_url(topic_id.as_bytes())
    );
    if let Err(e) = storage::write_atomically(&path, text.as_bytes()) {
        tracing::warn!("cannot write {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn endpoint(id: i32) -> BrokerEndpoint {
        BrokerEndpoint {
            id,
            host: "127.0.0.1".into(),
            port: 9092,
            rack: None,
        }
    }

    #[test]
    fn controller_id_for_clients_is_one_of_the_live_brokers() {
        let live = [endpoint(2), endpoint(3), endpoint(4)];
        let picked: BTreeSet<i32> = (0..6u128).map(|r| random_broker_id(&live, r)).collect();
        assert_eq!(picked, BTreeSet::from([2, 3, 4]));
        assert_eq!(random_broker_id(&live, u128::MAX), 2);
        assert_eq!(random_broker_id(&[], 7), -1);
    }
}
