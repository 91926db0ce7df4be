//! The broker's own configuration, read from a `server.properties` file with Kafka's keys.
//!
//! Keys rafka acts on are parsed and validated here; an invalid value stops start-up with
//! a message that names the key and the file. Keys it does not act on are logged as
//! ignored. Broker keys that are topic defaults (`log.retention.ms`, `log.segment.bytes`,
//! …) are kept as strings in `log_defaults` and resolved per topic in `topic_config`.

use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use crate::topic_config::{ConfigType, TOPIC_CONFIGS};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse {path}: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("{reason} (in {source_name})")]
    Invalid { reason: String, source_name: String },
}

/// One `NAME://host:port` entry of `listeners` or `advertised.listeners`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub name: String,
    pub host: String,
    pub port: u16,
}

impl Listener {
    /// The address to bind: an empty host means every interface, as in Kafka.
    pub fn bind_address(&self) -> Result<SocketAddr, String> {
        let host = if self.host.is_empty() {
            "0.0.0.0"
        } else {
            &self.host
        };
        (host, self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve listener host {host}: {e}"))?
            .next()
            .ok_or_else(|| format!("listener host {host} resolves to no address"))
    }
}

impl std::fmt::Display for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.name, self.host, self.port)
    }
}

#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub node_id: i32,
    pub process_roles: Vec<String>,
    pub listeners: Vec<Listener>,
    pub advertised_listeners: Vec<Listener>,
    pub controller_listener_names: Vec<String>,
    pub log_dirs: Vec<PathBuf>,
    pub num_partitions: i32,
    pub default_replication_factor: i16,
    pub auto_create_topics_enable: bool,
    pub delete_topic_enable: bool,
    pub log_retention_check_interval_ms: u64,
    pub log_flush_offset_checkpoint_interval_ms: u64,
    pub group: crate::group::GroupConfig,
    pub consumer_group: crate::group::ConsumerConfig,
    pub share_group: crate::group::ShareConfig,
    pub offsets_topic: crate::group::OffsetsTopicConfig,
    pub transaction: crate::transaction::TransactionConfig,
    pub share_coordinator: crate::share_coordinator::ShareCoordinatorConfig,
    pub offsets_retention_check_interval_ms: u64,
    pub log_cleaner_enable: bool,
    pub num_recovery_threads_per_data_dir: usize,
    pub log_cleaner_backoff_ms: u64,
    /// `producer.id.expiration.ms`: a producer idle this long (no open transaction) is
    /// forgotten by each partition, checked every `producer.id.expiration.check.interval.ms`.
    pub producer_id_expiration_ms: i64,
    pub producer_id_expiration_check_interval_ms: u64,
    pub socket_request_max_bytes: usize,
    /// `metrics.listener` (`http://host:port`): where `/metrics` is served in the
    /// Prometheus text format; `None` (the default) serves no metrics.
    pub metrics_listener: Option<Listener>,
    pub broker_rack: Option<String>,
    pub replication: ReplicationConfig,
    /// `authorizer.class.name`, `super.users`, `allow.everyone.if.no.acl.found`.
    pub authorizer: crate::authorizer::AuthorizerConfig,
    /// The listeners' security protocols, SASL settings and the inter-broker listener.
    pub security: crate::security::SecurityConfig,
    /// Broker keys that are defaults for topic configs, by broker key (`log.retention.ms`),
    /// with time units already folded into the `.ms` key.
    pub log_defaults: BTreeMap<String, String>,
    /// Every key as written in the file, for DescribeConfigs.
    pub explicit: BTreeMap<String, String>,
    /// Where the config came from, for messages.
    pub source_name: String,
}

/// Keys this module reads itself (besides the topic-default synonyms).
const BROKER_KEYS: &[&str] = &[
    "node.id",
    "broker.id",
    "process.roles",
    "listeners",
    "advertised.listeners",
    "controller.listener.names",
    "controller.quorum.voters",
    "controller.quorum.bootstrap.servers",
    "log.dirs",
    "log.dir",
    "num.partitions",
    "default.replication.factor",
    "auto.create.topics.enable",
    "delete.topic.enable",
    "log.retention.check.interval.ms",
    "producer.id.expiration.ms",
    "producer.id.expiration.check.interval.ms",
    "log.flush.offset.checkpoint.interval.ms",
    "socket.request.max.bytes",
    "metrics.listener",
    "broker.rack",
    "log.retention.minutes",
    "log.retention.hours",
    "log.roll.hours",
    "log.roll.jitter.hours",
    "log.flush.scheduler.interval.ms",
    "offsets.topic.num.partitions",
    "offsets.topic.replication.factor",
    "offsets.topic.segment.bytes",
    "offsets.retention.minutes",
    "offsets.retention.check.interval.ms",
    "offset.metadata.max.bytes",
    "group.initial.rebalance.delay.ms",
    "group.min.session.timeout.ms",
    "group.max.session.timeout.ms",
    "group.max.size",
    "group.consumer.session.timeout.ms",
    "group.consumer.heartbeat.interval.ms",
    "group.consumer.max.size",
    "group.share.session.timeout.ms",
    "group.share.heartbeat.interval.ms",
    "group.share.max.size",
    "group.share.record.lock.duration.ms",
    "group.share.delivery.count.limit",
    "group.share.partition.max.record.locks",
    "group.coordinator.rebalance.protocols",
    "log.cleaner.enable",
    "num.recovery.threads.per.data.dir",
    "log.cleaner.backoff.ms",
    "broker.heartbeat.interval.ms",
    "broker.session.timeout.ms",
    "replica.lag.time.max.ms",
    "replica.fetch.wait.max.ms",
    "replica.fetch.max.bytes",
    "replica.socket.timeout.ms",
    "auto.leader.rebalance.enable",
    "leader.imbalance.check.interval.seconds",
    "controller.quorum.election.timeout.ms",
    "controller.quorum.fetch.timeout.ms",
];

/// The cluster's keys: the quorum, broker liveness and follower replication.
#[derive(Debug, Clone)]
pub struct ReplicationConfig {
    /// `controller.quorum.voters`: `id@host:port` of every controller, by id. Without it,
    /// filled at start-up from the voters `storage format --initial-controllers` (or
    /// `--standalone`) recorded, or asked of `controller.quorum.bootstrap.servers`.
    pub quorum_voters: BTreeMap<i32, String>,
    /// `controller.quorum.bootstrap.servers`: `host:port` of some controllers.
    pub quorum_bootstrap_servers: Vec<String>,
    pub broker_heartbeat_interval_ms: u64,
    pub broker_session_timeout_ms: u64,
    pub replica_lag_time_max_ms: u64,
    pub replica_fetch_wait_max_ms: u64,
    pub replica_fetch_max_bytes: i32,
    /// The cluster-wide default of `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
    pub auto_leader_rebalance_enable: bool,
    pub leader_imbalance_check_interval_ms: u64,
    /// `controller.quorum.election.timeout.ms`: elections start after a random wait
    /// between this and twice this.
    pub election_timeout_ms: u64,
}

/// `1@host:9093,2@host:9093`
fn parse_voters(value: &str) -> Result<BTreeMap<i32, String>, String> {
    let mut voters = BTreeMap::new();
    for item in rafka_security::tls::list_setting(value) {
        let bad = || {
            format!(
                "Invalid value {value} for configuration controller.quorum.voters: {item} is not id@host:port"
            )
        };
        let (id, address) = item.split_once('@').ok_or_else(bad)?;
        let id: i32 = id.trim().parse().map_err(|_| bad())?;
        let (_, port) = address.rsplit_once(':').ok_or_else(bad)?;
        port.parse::<u16>().map_err(|_| bad())?;
        voters.insert(id, address.trim().to_string());
    }
    Ok(voters)
}

impl BrokerConfig {
    /// The embedded default: one node, data under `./data`, `PLAINTEXT://localhost:9092`.
    pub fn embedded() -> BrokerConfig {
        let props = BTreeMap::from([
            ("node.id".to_string(), "1".to_string()),
            (
                "listeners".to_string(),
                "PLAINTEXT://localhost:9092".to_string(),
            ),
            ("log.dirs".to_string(), "./data".to_string()),
        ]);
        BrokerConfig::from_properties(props, "the embedded defaults")
            .expect("the embedded defaults are valid")
    }

    /// Reads a properties file, then applies `overrides` (`--override key=value`).
    pub fn load(path: &Path, overrides: &[(String, String)]) -> Result<BrokerConfig, ConfigError> {
        let file = std::fs::File::open(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let props = java_properties::read(std::io::BufReader::new(file)).map_err(|e| {
            ConfigError::Parse {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
        let mut props: BTreeMap<String, String> = props
            .into_iter()
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        for (k, v) in overrides {
            props.insert(k.clone(), v.clone());
        }
        BrokerConfig::from_properties(props, &path.display().to_string())
    }

    pub fn from_properties(
        props: BTreeMap<String, String>,
        source_name: &str,
    ) -> Result<BrokerConfig, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            reason,
            source_name: source_name.to_string(),
        };
        let get = |k: &str| props.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let parse_i64 = |k: &str, default: i64, min: i64| -> Result<i64, ConfigError> {
            match get(k) {
                None => Ok(default),
                Some(v) => {
                    ConfigType::Long { min }.validate(k, v).map_err(invalid)?;
                    Ok(v.parse().unwrap_or(default))
                }
            }
        };
        let parse_bool = |k: &str, default: bool| -> Result<bool, ConfigError> {
            match get(k) {
                None => Ok(default),
                Some(v) => {
                    ConfigType::Boolean.validate(k, v).map_err(invalid)?;
                    Ok(v.eq_ignore_ascii_case("true"))
                }
            }
        };

        let node_id = match (get("node.id"), get("broker.id")) {
            (Some(_), _) => parse_i64("node.id", -1, 0)?,
            (None, Some(_)) => parse_i64("broker.id", -1, 0)?,
            (None, None) => 1,
        };
        let node_id = i32::try_from(node_id)
            .map_err(|_| invalid(format!("Invalid value {node_id} for configuration node.id")))?;
        let process_roles = rafka_security::tls::list_setting(get("process.roles").unwrap_or(""));
        for role in &process_roles {
            if role != "broker" && role != "controller" {
                return Err(invalid(format!(
                    "Invalid value {role} for configuration process.roles: unknown process role"
                )));
            }
        }
        let controller_listener_names =
            rafka_security::tls::list_setting(get("controller.listener.names").unwrap_or(""));
        let listeners =
            parse_listeners("listeners", get("listeners").unwrap_or("PLAINTEXT://:9092"))
                .map_err(invalid)?;
        let data_listeners: Vec<Listener> = listeners
            .iter()
            .filter(|l| !controller_listener_names.contains(&l.name))
            .cloned()
            .collect();
        let advertised_listeners = match get("advertised.listeners") {
            Some(v) => parse_listeners("advertised.listeners", v).map_err(invalid)?,
            None => data_listeners
                .iter()
                .map(|l| Listener {
                    host: if l.host.is_empty() {
                        "localhost".to_string()
                    } else {
                        l.host.clone()
                    },
                    ..l.clone()
                })
                .collect(),
        };
        let is_broker = process_roles.is_empty() || process_roles.iter().any(|r| r == BROKER_ROLE);
        let security = crate::security::SecurityConfig::parse(
            &|k| get(k).map(str::to_string),
            &crate::security::Listeners {
                listeners: &names(&listeners),
                advertised: &names(&advertised_listeners),
                controller_listener_names: &controller_listener_names,
                is_broker,
            },
        )
        .map_err(invalid)?;
        let metrics_listener = get("metrics.listener")
            .map(parse_metrics_listener)
            .transpose()
            .map_err(invalid)?;
        let log_dirs: Vec<PathBuf> = rafka_security::tls::list_setting(
            get("log.dirs")
                .or_else(|| get("log.dir"))
                .unwrap_or("/tmp/kafka-logs"),
        )
        .into_iter()
        .map(PathBuf::from)
        .collect();

        let num_partitions = parse_i64("num.partitions", 1, 1)? as i32;
        let default_replication_factor = parse_i64("default.replication.factor", 1, 1)? as i16;
        let auto_create_topics_enable = parse_bool("auto.create.topics.enable", true)?;
        let delete_topic_enable = parse_bool("delete.topic.enable", true)?;
        let log_retention_check_interval_ms =
            parse_i64("log.retention.check.interval.ms", 300_000, 1)? as u64;
        let log_flush_offset_checkpoint_interval_ms =
            parse_i64("log.flush.offset.checkpoint.interval.ms", 60_000, 0)? as u64;
        let group = crate::group::GroupConfig {
            min_session_timeout_ms: parse_i64("group.min.session.timeout.ms", 6_000, 0)? as i32,
            max_session_timeout_ms: parse_i64("group.max.session.timeout.ms", 1_800_000, 0)? as i32,
            initial_rebalance_delay_ms: parse_i64("group.initial.rebalance.delay.ms", 3_000, 0)?,
            max_size: parse_i64("group.max.size", i32::MAX as i64, 1)? as usize,
            offsets_retention_ms: parse_i64("offsets.retention.minutes", 10_080, 1)?
                .saturating_mul(60_000),
            offset_metadata_max_bytes: parse_i64("offset.metadata.max.bytes", 4096, 0)? as usize,
            new_member_join_timeout_ms: 300_000,
        };
        let consumer_group = crate::group::ConsumerConfig {
            session_timeout_ms: parse_i64("group.consumer.session.timeout.ms", 45_000, 1)?,
            heartbeat_interval_ms: parse_i64("group.consumer.heartbeat.interval.ms", 5_000, 1)?
                as i32,
            max_size: parse_i64("group.consumer.max.size", i32::MAX as i64, 1)? as usize,
        };
        // Kafka's ranges: delivery count 2..=10, record locks 100..=10000.
        let share_group = crate::group::ShareConfig {
            session_timeout_ms: parse_i64("group.share.session.timeout.ms", 45_000, 1)?,
            heartbeat_interval_ms: parse_i64("group.share.heartbeat.interval.ms", 5_000, 1)? as i32,
            max_size: parse_i64("group.share.max.size", 200, 1)? as usize,
            record_lock_duration_ms: parse_i64("group.share.record.lock.duration.ms", 30_000, 1)?,
            delivery_count_limit: parse_i64("group.share.delivery.count.limit", 5, 2)?.min(10)
                as i16,
            partition_max_record_locks: parse_i64(
                "group.share.partition.max.record.locks",
                2000,
                100,
            )? as usize,
        };
        let offsets_topic = crate::group::OffsetsTopicConfig {
            partitions: parse_i64("offsets.topic.num.partitions", 50, 1)? as i32,
            replication_factor: parse_i64("offsets.topic.replication.factor", 3, 1)? as i16,
            segment_bytes: parse_i64("offsets.topic.segment.bytes", 104_857_600, 1)?,
        };
        let defaults = crate::transaction::TransactionConfig::default();
        let transaction = crate::transaction::TransactionConfig {
            partitions: parse_i64(
                "transaction.state.log.num.partitions",
                defaults.partitions.into(),
                1,
            )? as i32,
            replication_factor: parse_i64(
                "transaction.state.log.replication.factor",
                defaults.replication_factor.into(),
                1,
            )? as i16,
            min_isr: parse_i64("transaction.state.log.min.isr", defaults.min_isr.into(), 1)? as i32,
            segment_bytes: parse_i64(
                "transaction.state.log.segment.bytes",
                defaults.segment_bytes,
                1,
            )?,
            max_timeout_ms: parse_i64(
                "transaction.max.timeout.ms",
                defaults.max_timeout_ms.into(),
                1,
            )? as i32,
            abort_timed_out_interval_ms: parse_i64(
                "transaction.abort.timed.out.transaction.cleanup.interval.ms",
                defaults.abort_timed_out_interval_ms,
                1,
            )?,
            id_expiration_ms: parse_i64(
                "transactional.id.expiration.ms",
                defaults.id_expiration_ms,
                1,
            )?,
            remove_expired_interval_ms: parse_i64(
                "transaction.remove.expired.transaction.cleanup.interval.ms",
                defaults.remove_expired_interval_ms,
                1,
            )?,
            partition_verification_enable: parse_bool(
                "transaction.partition.verification.enable",
                defaults.partition_verification_enable,
            )?,
            ..defaults
        };
        let share_defaults = crate::share_coordinator::ShareCoordinatorConfig::default();
        // Kafka's lower bounds: 1 partition, replica and ISR; 1 MiB segments; 0 updates.
        let share_coordinator = crate::share_coordinator::ShareCoordinatorConfig {
            partitions: parse_i64(
                "share.coordinator.state.topic.num.partitions",
                share_defaults.partitions.into(),
                1,
            )? as i32,
            replication_factor: parse_i64(
                "share.coordinator.state.topic.replication.factor",
                share_defaults.replication_factor.into(),
                1,
            )? as i16,
            min_isr: parse_i64(
                "share.coordinator.state.topic.min.isr",
                share_defaults.min_isr.into(),
                1,
            )? as i32,
            segment_bytes: parse_i64(
                "share.coordinator.state.topic.segment.bytes",
                share_defaults.segment_bytes,
                1_048_576,
            )?,
            snapshot_update_records_per_snapshot: parse_i64(
                "share.coordinator.snapshot.update.records.per.snapshot",
                share_defaults.snapshot_update_records_per_snapshot.into(),
                0,
            )? as i32,
            write_timeout_ms: parse_i64(
                "share.coordinator.write.timeout.ms",
                share_defaults.write_timeout_ms,
                1,
            )?,
            prune_interval_ms: parse_i64(
                "share.coordinator.state.topic.prune.interval.ms",
                share_defaults.prune_interval_ms,
                1,
            )?,
        };
        let log_cleaner_enable = parse_bool("log.cleaner.enable", true)?;
        // Kafka 4 raised the default from 1 to 2.
        let num_recovery_threads_per_data_dir =
            parse_i64("num.recovery.threads.per.data.dir", 2, 1)? as usize;
        let log_cleaner_backoff_ms = parse_i64("log.cleaner.backoff.ms", 15_000, 0)? as u64;
        let offsets_retention_check_interval_ms =
            parse_i64("offsets.retention.check.interval.ms", 600_000, 1)? as u64;
        let socket_request_max_bytes =
            parse_i64("socket.request.max.bytes", 104_857_600, 1)? as usize;
        let producer_id_expiration_ms = parse_i64("producer.id.expiration.ms", 86_400_000, 1)?;
        let producer_id_expiration_check_interval_ms =
            parse_i64("producer.id.expiration.check.interval.ms", 600_000, 1)? as u64;

        let bootstrap_servers = rafka_security::tls::list_setting(
            get("controller.quorum.bootstrap.servers").unwrap_or(""),
        );
        let replication = ReplicationConfig {
            quorum_voters: parse_voters(get("controller.quorum.voters").unwrap_or(""))
                .map_err(invalid)?,
            quorum_bootstrap_servers: bootstrap_servers.clone(),
            broker_heartbeat_interval_ms: parse_i64("broker.heartbeat.interval.ms", 2_000, 1)?
                as u64,
            broker_session_timeout_ms: parse_i64("broker.session.timeout.ms", 9_000, 1)? as u64,
            replica_lag_time_max_ms: parse_i64("replica.lag.time.max.ms", 30_000, 1)? as u64,
            replica_fetch_wait_max_ms: parse_i64("replica.fetch.wait.max.ms", 500, 0)? as u64,
            replica_fetch_max_bytes: parse_i64("replica.fetch.max.bytes", 1_048_576, 0)? as i32,
            unclean_leader_election: parse_bool("unclean.leader.election.enable", false)?,
            auto_leader_rebalance_enable: parse_bool("auto.leader.rebalance.enable", true)?,
            leader_imbalance_check_interval_ms: parse_i64(
                "leader.imbalance.check.interval.seconds",
                300,
                1,
            )? as u64
                * 1000,
            election_timeout_ms: parse_i64("controller.quorum.election.timeout.ms", 1_000, 1)?
                as u64,
        };
        validate_roles(&Roles {
            node_id,
            process_roles: &process_roles,
            voters: &replication.quorum_voters,
            bootstrap_servers: &bootstrap_servers,
            listeners: &listeners,
            controller_listener_names: &controller_listener_names,
        })
        .map_err(invalid)?;

        // Time-unit variants fold into the `.ms` key, the finest unit winning as in Kafka.
        let mut log_defaults = BTreeMap::new();
        for def in TOPIC_CONFIGS {
            let Some(key) = def.broker_key else { continue };
            if let Some(v) = get(key) {
                def.static_broker_type().validate(key, v).map_err(invalid)?;
                log_defaults.insert(key.to_string(), v.to_string());
            }
        }
        if !log_defaults.contains_key("log.retention.ms") {
            let minutes = parse_i64("log.retention.minutes", -2, i64::MIN)?;
            let hours = parse_i64("log.retention.hours", -2, i64::MIN)?;
            let ms = if minutes != -2 {
                Some(minutes.saturating_mul(60_000))
            } else if hours != -2 {
                Some(hours.saturating_mul(3_600_000))
            } else {
                None
            };
            if let Some(ms) = ms {
                log_defaults.insert("log.retention.ms".into(), ms.max(-1).to_string());
            }
        }
        if !log_defaults.contains_key("log.roll.ms") && get("log.roll.hours").is_some() {
            let hours = parse_i64("log.roll.hours", 168, 1)?;
            log_defaults.insert("log.roll.ms".into(), (hours * 3_600_000).to_string());
        }
        if !log_defaults.contains_key("log.flush.interval.ms")
            && get("log.flush.scheduler.interval.ms").is_some()
        {
            let ms = parse_i64("log.flush.scheduler.interval.ms", i64::MAX, 0)?;
            log_defaults.insert("log.flush.interval.ms".into(), ms.to_string());
        }

        let authorizer =
            crate::authorizer::AuthorizerConfig::from_properties(&props).map_err(invalid)?;
        for key in props.keys() {
            let known = BROKER_KEYS.contains(&key.as_str())
                || crate::transaction::TRANSACTION_KEYS.contains(&key.as_str())
                || crate::share_coordinator::SHARE_COORDINATOR_KEYS.contains(&key.as_str())
                || crate::authorizer::AUTHORIZER_KEYS.contains(&key.as_str())
                || crate::security::is_security_key(key)
                || TOPIC_CONFIGS
                    .iter()
                    .any(|d| d.broker_key == Some(key.as_str()));
            if !known {
                tracing::info!("ignoring config {key}: rafka does not use it");
            }
        }

        Ok(BrokerConfig {
            node_id,
            process_roles,
            listeners,
            advertised_listeners,
            controller_listener_names,
            log_dirs,
            num_partitions,
            default_replication_factor,
            auto_create_topics_enable,
            delete_topic_enable,
            log_retention_check_interval_ms,
            log_flush_offset_checkpoint_interval_ms,
            group,
            consumer_group,
            share_group,
            offsets_topic,
            transaction,
            share_coordinator,
            offsets_retention_check_interval_ms,
            log_cleaner_enable,
            num_recovery_threads_per_data_dir,
            log_cleaner_backoff_ms,
            producer_id_expiration_ms,
            producer_id_expiration_check_interval_ms,
            socket_request_max_bytes,
            metrics_listener,
            broker_rack: get("broker.rack").map(str::to_string),
            replication,
            authorizer,
            security,
            log_defaults,
            explicit: props.clone(),
            source_name: source_name.to_string(),
        })
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.process_roles.iter().any(|r| r == role)
    }

    /// `process.roles=controller`: a quorum voter and controller only, no broker.
    pub fn is_controller_only(&self) -> bool {
        self.has_role(CONTROLLER_ROLE) && !self.has_role(BROKER_ROLE)
    }

    /// Whether this node is one of a multi-node cluster, whose metadata lives in the
    /// controller quorum. Otherwise it is the single-node mode (no voters, or this node
    /// as the only voter and also the broker), which keeps its metadata in
    /// `rafka-metadata.json`.
    pub fn is_cluster(&self) -> bool {
        let voters = &self.replication.quorum_voters;
        match voters.len() {
            0 => false,
            1 if voters.contains_key(&self.node_id) => self.is_controller_only(),
            _ => true,
        }
    }

    /// The listeners clients connect to (not the controller's).
    pub fn data_listeners(&self) -> impl Iterator<Item = &Listener> {
        self.listeners
            .iter()
            .filter(|l| !self.controller_listener_names.contains(&l.name))
    }

    /// The advertised address of `listener`, or `advertised()` when it has none.
    pub fn advertised_on(&self, listener: &str) -> Listener {
        self.advertised_listeners
            .iter()
            .find(|a| a.name == listener)
            .cloned()
            .unwrap_or_else(|| self.advertised())
    }

    /// The advertised listeners a broker registers (all but the controller's).
    pub fn registered_listeners(&self) -> Vec<Listener> {
        let listeners: Vec<Listener> = self
            .advertised_listeners
            .iter()
            .filter(|a| !self.controller_listener_names.contains(&a.name))
            .cloned()
            .collect();
        if listeners.is_empty() {
            vec![self.advertised()]
        } else {
            listeners
        }
    }

    /// The address this broker gives clients in Metadata: the advertised listener with the
    /// same name as the first data listener.
    pub fn advertised(&self) -> Listener {
        let first = self.data_listeners().next().cloned();
        first
            .as_ref()
            .and_then(|f| self.advertised_listeners.iter().find(|a| a.name == f.name))
            .or(self.advertised_listeners.first())
            .cloned()
            .or(first)
            .unwrap_or(Listener {
                name: "PLAINTEXT".into(),
                host: "localhost".into(),
                port: 9092,
            })
    }
}

pub const BROKER_ROLE: &str = "broker";
pub const CONTROLLER_ROLE: &str = "controller";

/// What `validate_roles` checks against each other.
#[derive(Debug)]
struct Roles<'a> {
    node_id: i32,
    process_roles: &'a [String],
    voters: &'a BTreeMap<i32, String>,
    bootstrap_servers: &'a [String],
    listeners: &'a [Listener],
    controller_listener_names: &'a [String],
}

/// Kafka's checks of `process.roles` against the quorum and the listeners (KafkaConfig's
/// `validateValues`), with Kafka's messages; plus what rafka cannot do yet.
fn validate_roles(r: &Roles<'_>) -> Result<(), String> {
    let broker = r.process_roles.iter().any(|x| x == BROKER_ROLE);
    let controller = r.process_roles.iter().any(|x| x == CONTROLLER_ROLE);
    let node_id = r.node_id;
    let voter_ids = || {
        let ids: Vec<String> = r.voters.keys().map(i32::to_string).collect();
        format!("[{}]", ids.join(", "))
    };
    let is_controller_listener = |l: &Listener| r.controller_listener_names.contains(&l.name);
    let has_broker_listener = r.listeners.iter().any(|l| !is_controller_listener(l));
    if r.process_roles.is_empty() {
        if r.voters.keys().any(|id| *id != node_id) {
            return Err(
                "controller.quorum.voters needs process.roles (broker, controller or both)".into(),
            );
        }
        if !has_broker_listener {
            return Err("There must be at least one broker advertised listener.".into());
        }
        return Ok(());
    }
    if r.voters.is_empty() && r.bootstrap_servers.is_empty() {
        return Err("If using process.roles, either controller.quorum.bootstrap.servers must contain the set of bootstrap controllers or controller.quorum.voters must contain a parseable set of controllers.".into());
    }
    if controller {
        if !r.voters.is_empty() && !r.voters.contains_key(&node_id) {
            return Err(format!(
                "If process.roles contains the 'controller' role, the node id {node_id} must be included in the set of voters controller.quorum.voters={}",
                voter_ids()
            ));
        }
        if !r.listeners.iter().any(is_controller_listener) {
            return Err("controller.listener.names must contain at least one value appearing in the 'listeners' configuration when running the KRaft controller role".into());
        }
    }
    if broker && !controller {
        if r.voters.contains_key(&node_id) {
            return Err(format!(
                "If process.roles contains just the 'broker' role, the node id {node_id} must not be included in the set of voters controller.quorum.voters={}",
                voter_ids()
            ));
        }
        if r.controller_listener_names.is_empty() {
            return Err("controller.listener.names must contain at least one value when running KRaft with just the broker role".into());
        }
        if r.listeners.iter().any(is_controller_listener) {
            return Err("controller.listener.names must not contain a value appearing in the 'listeners' configuration when running KRaft with just the broker role".into());
        }
    }
    if controller && !broker && has_broker_listener {
        return Err("The listeners config must only contain KRaft controller listeners from controller.listener.names when process.roles=controller".into());
    }
    if broker && !has_broker_listener {
        return Err("There must be at least one broker advertised listener. Perhaps all listeners appear in controller.listener.names?".into());
    }
    Ok(())
}

/// The file in the first log dir where `storage format --initial-controllers` (or
/// `--standalone`) records the quorum's voters, in `controller.quorum.voters` form (Kafka
/// keeps them in its bootstrap checkpoint).
pub const BOOTSTRAP_VOTERS_FILE: &str = "bootstrap-voters";

/// Reads the voters `storage format` recorded in `dir`; `Ok(None)` when there are none.
pub fn read_bootstrap_voters(dir: &Path) -> Result<Option<BTreeMap<i32, String>>, String> {
    let path = dir.join(BOOTSTRAP_VOTERS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_voters(text.trim()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Node id -> `host:port` (voters), or node id -> directory id.
pub type ById = BTreeMap<i32, String>;

/// Parses `--initial-controllers`' `id@host:port:directory-id,...` (the directory id is
/// optional here) into voters and the directory ids given.
pub fn parse_initial_controllers(value: &str) -> Result<(ById, ById), String> {
    let mut voters = BTreeMap::new();
    let mut directories = BTreeMap::new();
    for item in rafka_security::tls::list_setting(value) {
        let bad = || format!("Unable to parse {item}: expected id@host:port:directory-id");
        let (id, rest) = item.split_once('@').ok_or_else(bad)?;
        let id: i32 = id.trim().parse().map_err(|_| bad())?;
        let parts: Vec<&str> = rest.rsplitn(3, ':').collect();
        let (address, directory) = match parts.as_slice() {
            [port, host] => (format!("{host}:{port}"), None),
            [directory, port, host] => (format!("{host}:{port}"), Some(directory.to_string())),
            _ => return Err(bad()),
        };
        let (_, port) = address.rsplit_once(':').ok_or_else(bad)?;
        port.parse::<u16>().map_err(|_| bad())?;
        if voters.insert(id, address).is_some() {
            return Err(format!("Duplicate node id {id} in --initial-controllers"));
        }
        if let Some(d) = directory {
            directories.insert(id, d);
        }
    }
    if voters.is_empty() {
        return Err("--initial-controllers lists no controller".into());
    }
    Ok((voters, directories))
}

impl BrokerConfig {
    /// Whether the voters still have to be found at start-up (only
    /// `controller.quorum.bootstrap.servers` was given).
    pub fn needs_voters(&self) -> bool {
        self.replication.quorum_voters.is_empty()
            && !self.replication.quorum_bootstrap_servers.is_empty()
            && !self.process_roles.is_empty()
    }

    /// Takes the voters found at start-up and checks them against this node's roles, as
    /// a `controller.quorum.voters` in the file would have been.
    pub fn set_voters(&mut self, voters: BTreeMap<i32, String>) -> Result<(), ConfigError> {
        self.replication.quorum_voters = voters;
        validate_roles(&Roles {
            node_id: self.node_id,
            process_roles: &self.process_roles,
            voters: &self.replication.quorum_voters,
            bootstrap_servers: &self.replication.quorum_bootstrap_servers,
            listeners: &self.listeners,
            controller_listener_names: &self.controller_listener_names,
        })
        .map_err(|reason| ConfigError::Invalid {
            source_name: "the controller quorum".into(),
            reason,
        })
    }
}

fn names(listeners: &[Listener]) -> Vec<String> {
    listeners.iter().map(|l| l.name.clone()).collect()
}

fn parse_listeners(key: &str, value: &str) -> Result<Vec<Listener>, String> {
    rafka_security::tls::list_setting(value)
        .into_iter()
        .map(|item| {
            let bad = || {
                format!(
                    "Invalid value {value} for configuration {key}: {item} is not NAME://host:port"
                )
            };
            let (name, rest) = item.split_once("://").ok_or_else(bad)?;
            let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let port: u16 = port.parse().map_err(|_| bad())?;
            if name.is_empty() {
                return Err(bad());
            }
            Ok(Listener {
                name: name.to_ascii_uppercase(),
                host: host.to_string(),
                port,
            })
        })
        .collect()
}

/// `metrics.listener`: one `http://host:port` (an empty host is every interface).
fn parse_metrics_listener(value: &str) -> Result<Listener, String> {
    match parse_listeners("metrics.listener", value)?.as_slice() {
        [listener] if listener.name == "HTTP" => Ok(listener.clone()),
        _ => Err(format!(
            "Invalid value {value} for configuration metrics.listener: expected one http://host:port"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn embedded_default_listens_on_localhost_9092_with_data_in_dot_data() {
        let config = BrokerConfig::embedded();
        assert_eq!(config.node_id, 1);
        assert_eq!(
            config.advertised().to_string(),
            "PLAINTEXT://localhost:9092"
        );
        assert_eq!(config.log_dirs, vec![PathBuf::from("./data")]);
    }

    #[test]
    fn metrics_listener_is_off_by_default_and_takes_one_http_address() {
        let base = [("log.dirs", "/a")];
        let config = BrokerConfig::from_properties(props(&base), "t").unwrap();
        assert_eq!(config.metrics_listener, None);
        let with = |value: &str| {
            let mut pairs = props(&base);
            pairs.insert("metrics.listener".into(), value.into());
            BrokerConfig::from_properties(pairs, "t")
        };
        let listener = with("http://:9404").unwrap().metrics_listener.unwrap();
        assert_eq!((listener.host.as_str(), listener.port), ("", 9404));
        assert!(with("PLAINTEXT://:9404").is_err());
        assert!(with("http://:1,http://:2").is_err());
        assert!(with("http://:notaport").is_err());
    }

    #[test]
    fn reads_kafka_keys_and_folds_time_units() {
        let config = BrokerConfig::from_properties(
            props(&[
                ("broker.id", "7"),
                (
                    "listeners",
                    "PLAINTEXT://127.0.0.1:19092,CONTROLLER://:19093",
                ),
                ("controller.listener.names", "CONTROLLER"),
                ("log.dirs", "/a,/b"),
                ("num.partitions", "3"),
                ("log.retention.hours", "2"),
                ("log.segment.bytes", "1024"),
                ("log.message.timestamp.type", "LogAppendTime"),
            ]),
            "test.properties",
        )
        .unwrap();
        assert_eq!(config.node_id, 7);
        assert_eq!(config.data_listeners().count(), 1);
        assert_eq!(config.advertised().port, 19092);
        assert_eq!(config.log_dirs.len(), 2);
        assert_eq!(config.num_partitions, 3);
        assert_eq!(config.log_defaults["log.retention.ms"], "7200000");
        assert_eq!(config.log_defaults["log.segment.bytes"], "1024");
    }

    #[test]
    fn initial_controllers_parse_with_and_without_directory_ids() {
        let (voters, dirs) =
            parse_initial_controllers("1@a:9093:Mj7YYm3bR3O9ZQmDdVq2Sg, 2@b:9095").unwrap();
        assert_eq!(
            voters,
            BTreeMap::from([(1, "a:9093".to_string()), (2, "b:9095".to_string())])
        );
        assert_eq!(
            dirs,
            BTreeMap::from([(1, "Mj7YYm3bR3O9ZQmDdVq2Sg".to_string())])
        );
        for bad in ["1@a", "x@a:1", "1@a:port:dir", "1@a:1,1@b:2", ""] {
            assert!(parse_initial_controllers(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn invalid_value_names_key_and_file() {
        let err =
            BrokerConfig::from_properties(props(&[("num.partitions", "many")]), "x.properties")
                .unwrap_err()
                .to_string();
        assert!(err.contains("num.partitions"), "{err}");
        assert!(err.contains("x.properties"), "{err}");
        let err =
            BrokerConfig::from_properties(props(&[("log.segment.bytes", "-5")]), "y.properties")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("log.segment.bytes") && err.contains("y.properties"),
            "{err}"
        );
    }

    /// A KRaft config of `roles` for node `node_id` in a quorum of `voters`, with
    /// `listeners`, plus `extra`.
    fn kraft(
        roles: &str,
        node_id: &str,
        voters: &str,
        listeners: &str,
        extra: &[(&str, &str)],
    ) -> Result<BrokerConfig, String> {
        let mut pairs = vec![
            ("process.roles", roles),
            ("node.id", node_id),
            ("controller.quorum.voters", voters),
            ("listeners", listeners),
            ("controller.listener.names", "CONTROLLER"),
        ];
        pairs.extend_from_slice(extra);
        BrokerConfig::from_properties(props(&pairs), "kraft.properties").map_err(|e| e.to_string())
    }

    const ONE_VOTER: &str = "1@127.0.0.1:9093";
    const THREE_VOTERS: &str = "1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097";

    #[test]
    fn controller_only_and_broker_only_nodes_form_a_cluster() {
        let controller = kraft("controller", "1", ONE_VOTER, "CONTROLLER://:9093", &[]).unwrap();
        assert!(controller.is_controller_only());
        assert!(controller.is_cluster(), "one voter, but no broker on it");
        assert_eq!(controller.data_listeners().count(), 0);
        let broker = kraft("broker", "2", ONE_VOTER, "PLAINTEXT://:9092", &[]).unwrap();
        assert!(!broker.is_controller_only());
        assert!(broker.is_cluster());
        assert_eq!(
            broker.advertised().to_string(),
            "PLAINTEXT://localhost:9092"
        );
        let combined = kraft(
            "broker,controller",
            "1",
            ONE_VOTER,
            "PLAINTEXT://:9092,CONTROLLER://:9093",
            &[],
        )
        .unwrap();
        assert!(
            !combined.is_cluster(),
            "the only voter and the broker: single-node"
        );
        let combined = kraft(
            "broker,controller",
            "2",
            THREE_VOTERS,
            "PLAINTEXT://:9092,CONTROLLER://:9095",
            &[],
        )
        .unwrap();
        assert!(combined.is_cluster());
    }

    #[test]
    fn kraft_role_mix_ups_are_refused_with_kafkas_messages() {
        let ids_1_to_3 = "controller.quorum.voters=[1, 2, 3] (in kraft.properties)";
        // process.roles, node.id, voters, listeners, other keys, the message's start.
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a str,
            &'a str,
            &'a [(&'a str, &'a str)],
            String,
        );
        let cases: &[Case<'_>] = &[
            (
                "controller",
                "1",
                ONE_VOTER,
                "PLAINTEXT://:9092,CONTROLLER://:9093",
                &[],
                "The listeners config must only contain KRaft controller listeners from controller.listener.names when process.roles=controller".into(),
            ),
            (
                "controller",
                "1",
                ONE_VOTER,
                "PLAINTEXT://:9093",
                &[],
                "controller.listener.names must contain at least one value appearing in the 'listeners' configuration when running the KRaft controller role".into(),
            ),
            (
                "controller",
                "4",
                THREE_VOTERS,
                "CONTROLLER://:9093",
                &[],
                format!("If process.roles contains the 'controller' role, the node id 4 must be included in the set of voters {ids_1_to_3}"),
            ),
            (
                "broker,controller",
                "4",
                THREE_VOTERS,
                "PLAINTEXT://:9092,CONTROLLER://:9093",
                &[],
                format!("If process.roles contains the 'controller' role, the node id 4 must be included in the set of voters {ids_1_to_3}"),
            ),
            (
                "broker",
                "2",
                THREE_VOTERS,
                "PLAINTEXT://:9092",
                &[],
                format!("If process.roles contains just the 'broker' role, the node id 2 must not be included in the set of voters {ids_1_to_3}"),
            ),
            (
                "broker",
                "4",
                THREE_VOTERS,
                "PLAINTEXT://:9092,CONTROLLER://:9093",
                &[],
                "controller.listener.names must not contain a value appearing in the 'listeners' configuration when running KRaft with just the broker role".into(),
            ),
            (
                "broker",
                "4",
                THREE_VOTERS,
                "PLAINTEXT://:9092",
                &[("controller.listener.names", "")],
                "controller.listener.names must contain at least one value when running KRaft with just the broker role".into(),
            ),
            (
                "broker,controller",
                "1",
                "",
                "PLAINTEXT://:9092,CONTROLLER://:9093",
                &[],
                "If using process.roles, either controller.quorum.bootstrap.servers must contain the set of bootstrap controllers or controller.quorum.voters must contain a parseable set of controllers.".into(),
            ),
        ];
        for (roles, node_id, voters, listeners, extra, message) in cases {
            let err = kraft(roles, node_id, voters, listeners, extra).unwrap_err();
            assert!(
                err.starts_with(message.as_str()),
                "{roles} / node {node_id} / voters {voters} / {listeners}: {err}"
            );
        }
        // Bootstrap servers alone: the voters are found at start-up, then checked.
        let mut broker = kraft(
            "broker",
            "2",
            "",
            "PLAINTEXT://:9092",
            &[("controller.quorum.bootstrap.servers", "localhost:9093")],
        )
        .unwrap();
        assert!(broker.needs_voters());
        let voters = parse_voters(THREE_VOTERS).unwrap();
        let refused = broker.set_voters(voters.clone()).unwrap_err().to_string();
        assert!(
            refused.contains("must not be included in the set of voters"),
            "{refused}"
        );
        broker.node_id = 4;
        broker.set_voters(voters).unwrap();
        assert!(broker.is_cluster() && !broker.needs_voters());
        // The single-node quickstart: a combined node and its own controller address.
        let single = kraft(
            "broker,controller",
            "1",
            "",
            "PLAINTEXT://:9092,CONTROLLER://:9093",
            &[("controller.quorum.bootstrap.servers", "localhost:9093")],
        )
        .unwrap();
        assert!(!single.is_cluster());
    }
}
