//! One broker: a thin holder of its parts, each with one job — the log manager (log dirs,
//! recovery, retention, cleaning, flushes, checkpoints), the replica manager (the hosted
//! topics and partitions and their roles), the group coordinator, and in a cluster this
//! node's `Cluster` link. Admin changes (`admin.rs`) and the cluster node loops
//! (`node/`) work on the broker from above; handlers reach everything through it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use rafka_metadata::{ClusterImage, PartitionState};
use rafka_types::SharedClock;

use crate::cluster::Cluster;
use crate::config::BrokerConfig;
use crate::error::StartupError;
use crate::group::{GroupCoordinator, OFFSETS_TOPIC};
use crate::log_manager::{self, LogManager, LogToOpen};
use crate::partition::Partition;
use crate::producer_ids::ProducerIds;
use crate::replica_manager::{ReplicaManager, Topics};
use crate::storage::{MetadataImage, TopicRecord};
use crate::topic::Topic;
use crate::topic_config::{effective_topic_configs, log_config};
use rafka_coordinator::share_state::coordinator::ShareCoordinator;
use rafka_coordinator::txn::coordinator::{TransactionCoordinator, TRANSACTION_STATE_TOPIC};
use rafka_coordinator::CoordinatorLog;

#[derive(Debug)]
pub struct Broker {
    pub config: BrokerConfig,
    pub cluster_id: String,
    pub clock: SharedClock,
    pub logs: LogManager,
    pub replicas: ReplicaManager,
    /// Single-node mode: the metadata this broker saves as its own controller (locking it
    /// serialises metadata changes). Unused in a cluster, whose image is the quorum's.
    pub(crate) image: Mutex<MetadataImage>,
    pub groups: GroupCoordinator,
    /// Share groups' membership and assignment (KIP-932).
    /// Also the group coordinator's: it replays the share groups' records to it.
    pub share_groups: Arc<rafka_coordinator::share::ShareGroupCoordinator>,
    /// The share-partitions of the partitions led here, and the members' share sessions.
    pub shares: crate::share::ShareManager,
    /// Producer ids for InitProducerId, a block at a time.
    pub producer_ids: ProducerIds,
    /// The transaction coordinator of the `__transaction_state` partitions led here.
    pub txns: Arc<TransactionCoordinator>,
    /// The share coordinator of the `__share_group_state` partitions led here.
    pub share_states: ShareCoordinator,
    /// Multi-node mode: the quorum, the applied cluster image, the controller link.
    pub cluster: Option<Arc<Cluster>>,
    /// Connections to the other brokers for the requests this one sends them
    /// (WriteTxnMarkers, AddPartitionsToTxn from a partition leader).
    pub peers: rafka_client::WirePool,
    /// What `/metrics` serves; no-op handles without `metrics.listener`.
    pub metrics: crate::metrics::BrokerMetrics,
    /// The authorizer and its ACLs; `None` without `authorizer.class.name`.
    pub acls: Option<crate::acl_store::Acls>,
}

/// A broker as Metadata and DescribeCluster list it.
#[derive(Debug, Clone)]
pub struct BrokerEndpoint {
    pub id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
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
        let cluster_id = log_manager::ensure_formatted(&config)?;
        let image = if cluster.is_some() {
            MetadataImage::default()
        } else {
            MetadataImage::load(&config.log_dirs[0])?
        };
        let logs = LogManager::open(&config, clock.clone(), cluster.is_some())?;
        let txns = Arc::new(TransactionCoordinator::new(
            config.transaction.clone(),
            clock.clone(),
        ));
        let share_states = ShareCoordinator::new(config.share_coordinator.clone(), clock.clone());
        let metrics = crate::metrics::BrokerMetrics::new(config.metrics_listener.is_some());
        let acls = crate::acl_store::Acls::open(
            &config.authorizer,
            &config.log_dirs[0],
            cluster.is_some(),
        )
        .map_err(StartupError::Config)?;
        let peer_security =
            crate::peer_security::inter_broker_security(&config).map_err(StartupError::Config)?;
        let share_groups = Arc::new(rafka_coordinator::share::ShareGroupCoordinator::new(
            config.share_group.clone(),
        ));
        let broker = Broker {
            acls,
            metrics,
            groups: GroupCoordinator::new(
                config.group.clone(),
                config.consumer_group.clone(),
                config.offsets_topic.clone(),
                cluster.is_some(),
                clock.clone(),
            )
            .with_other_records(share_groups.clone()),
            share_groups,
            shares: crate::share::ShareManager::default(),
            config,
            cluster_id,
            clock,
            logs,
            replicas: ReplicaManager::new(cluster.is_some()),
            image: Mutex::new(image.clone()),
            producer_ids: ProducerIds::default(),
            txns,
            share_states,
            cluster,
            peers: rafka_client::WirePool::with_security(peer_security),
        };
        if broker.cluster.is_some() {
            return Ok(broker);
        }
        let to_open: Vec<LogToOpen> = image
            .topics
            .values()
            .flat_map(|record| (0..record.partitions).map(move |index| (record, index)))
            .map(|(record, index)| broker.log_to_open(&image, record, index))
            .collect();
        let mut opened = broker.logs.open_all(&to_open).into_iter();
        let mut topics = Topics::default();
        for record in image.topics.values() {
            let mut partitions = Vec::with_capacity(record.partitions as usize);
            for index in 0..record.partitions {
                let log = opened.next().expect("a log per partition")?;
                partitions.push(Some(Arc::new(Partition::new(
                    record.name.as_str().into(),
                    index,
                    log,
                ))));
            }
            topics.insert(Arc::new(Topic {
                name: record.name.as_str().into(),
                topic_id: record.topic_id,
                replication_factor: record.replication_factor,
                states: broker.local_states(record.partitions),
                partitions,
                configs: record.configs.clone(),
            }));
        }
        broker.replicas.replace_all(topics);
        broker
            .logs
            .remove_stray_partition_dirs(|topic, index| broker.replicas.hosts(topic, index));
        broker.groups.load(&broker.replicas, broker.clock.now_ms());
        Ok(broker)
    }

    /// A partition of `record` as the log manager opens it, with the config the metadata
    /// `image` (held by the caller: its lock is not re-entrant) gives it.
    pub(crate) fn log_to_open(
        &self,
        image: &MetadataImage,
        record: &TopicRecord,
        index: i32,
    ) -> LogToOpen {
        let effective = effective_topic_configs(&record.configs, &self.log_defaults_of(image));
        LogToOpen {
            topic: record.name.clone(),
            topic_id: record.topic_id,
            index,
            config: log_config(&effective),
        }
    }

    /// Partition states in single-node mode: this broker is every partition's only
    /// replica and leader.
    pub(crate) fn local_states(&self, count: i32) -> Vec<PartitionState> {
        (0..count)
            .map(|_| PartitionState::new(vec![self.config.node_id]))
            .collect()
    }

    /// The directory holding the single-node metadata: the first log dir.
    pub(crate) fn metadata_dir(&self) -> &Path {
        &self.config.log_dirs[0]
    }

    /// Broker-level defaults of topic configs: static (server.properties) overridden by
    /// the dynamic cluster-wide configs, overridden by this broker's own (AlterConfigs).
    pub fn broker_log_defaults(&self) -> BTreeMap<String, String> {
        let mut defaults = self.config.log_defaults.clone();
        defaults.extend(self.dynamic_broker_configs().effective());
        defaults
    }

    pub(crate) fn log_defaults_of(&self, image: &MetadataImage) -> BTreeMap<String, String> {
        let mut defaults = self.config.log_defaults.clone();
        defaults.extend(image.broker_configs.clone());
        defaults.extend(image.node_broker_configs.clone());
        defaults
    }

    /// The dynamic broker configs this broker sees: the cluster-wide ones and its own.
    pub fn dynamic_broker_configs(&self) -> DynamicBrokerConfigs {
        match &self.cluster {
            Some(cluster) => {
                let image = cluster.image();
                DynamicBrokerConfigs {
                    defaults: image.broker_configs.clone(),
                    node: image
                        .node_broker_configs
                        .get(&self.config.node_id)
                        .cloned()
                        .unwrap_or_default(),
                }
            }
            None => {
                let image = self.image.lock();
                DynamicBrokerConfigs {
                    defaults: image.broker_configs.clone(),
                    node: image.node_broker_configs.clone(),
                }
            }
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

    /// The live brokers at their inter-broker listener's address: where this broker's
    /// own requests to the others go.
    pub fn live_brokers(&self) -> Vec<BrokerEndpoint> {
        self.live_brokers_on(&self.config.security.inter_broker_listener)
    }

    /// The brokers clients may use, at the addresses of `listener` (the listener the
    /// client's request came in on, as Kafka answers Metadata per listener name): this
    /// one alone, or the cluster's unfenced brokers. A broker without that listener is
    /// left out, as Kafka leaves it out.
    pub fn live_brokers_on(&self, listener: &str) -> Vec<BrokerEndpoint> {
        match &self.cluster {
            None => {
                let advertised = self.config.advertised_on(listener);
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
                    let endpoint = b.listeners.iter().find(|e| e.name == listener)?;
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

    /// Applies a newer cluster image: the replica manager opens, leads, follows and drops
    /// replicas; the group coordinator loads the groups of the `__consumer_offsets`
    /// partitions this broker now leads.
    ///
    /// Images before the first that holds this process's registration are ignored: after
    /// a restart, the node's own controller answers from its local log before catching
    /// up, and an image from before the crash would make this broker lead (and
    /// coordinate) partitions that have moved on, as Kafka's `MetadataLoader` avoids by
    /// publishing nothing until it has caught up.
    pub fn apply_image(&self, image: Arc<ClusterImage>) {
        let Some(cluster) = &self.cluster else {
            return;
        };
        let registered = image
            .brokers
            .get(&cluster.node_id)
            .is_some_and(|b| b.incarnation_id == cluster.incarnation_id);
        // The ACLs apply whether or not this incarnation is registered yet: they are the
        // cluster's, not this broker's.
        self.apply_acls(&image);
        if !registered {
            tracing::debug!(
                "ignoring metadata image at offset {}: it predates this broker's registration",
                image.offset
            );
            return;
        }
        let now_ms = self.clock.now_ms();
        let applied = self.replicas.apply_image(
            self.config.node_id,
            now_ms as u64,
            &self.config.log_defaults,
            &cluster.image(),
            &image,
            &self.logs,
        );
        for partition in applied.resignations {
            if &*partition.topic == OFFSETS_TOPIC {
                // Another broker coordinates the partition's groups now (Kafka's
                // onResignation): forget them, so that nothing lists them here and a
                // later leadership replays them afresh.
                self.groups.unload_partition(partition.index);
            }
        }
        for partition in applied.new_leaderships {
            if &*partition.topic == OFFSETS_TOPIC {
                // This broker now coordinates the partition's groups.
                self.groups
                    .load_partition(&self.replicas, partition.index, now_ms);
            }
        }
        cluster.set_image(image);
    }

    /// Whether this broker coordinates `transactional_id` (leads its
    /// `__transaction_state` partition).
    pub fn txns_coordinates(&self, transactional_id: &str) -> bool {
        let partition = self.txns.partition_for(transactional_id);
        self.replicas.is_leader(TRANSACTION_STATE_TOPIC, partition)
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.replicas.topic(name)
    }

    pub fn topic_by_id(&self, id: &uuid::Uuid) -> Option<Arc<Topic>> {
        self.replicas.topic_by_id(id)
    }

    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.replicas.topics()
    }

    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.replicas.partition(topic, index)
    }

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

    /// Retention over every hosted log; called on `log.retention.check.interval.ms`.
    pub fn enforce_retention(&self) {
        self.logs.enforce_retention(&self.topics());
    }

    /// Producer expiry over every hosted log; called every
    /// `producer.id.expiration.check.interval.ms`.
    pub fn expire_producers(&self) {
        let expiration_ms = self.config.producer_id_expiration_ms;
        self.logs.expire_producers(&self.topics(), expiration_ms);
    }

    /// Compaction of the compacted topics; called every `log.cleaner.backoff.ms`.
    pub fn clean_logs(&self) {
        self.logs.clean_logs(&self.topics());
    }

    /// fsyncs the segments rolled since the last pass.
    pub fn flush_rolled_segments(&self) {
        self.logs.flush_rolled_segments(&self.topics());
    }

    pub fn write_checkpoints(&self) -> Result<(), crate::storage::StorageError> {
        self.logs.write_checkpoints(&self.topics())
    }

    /// Flushes every log, writes checkpoints and marks each log dir cleanly shut down.
    pub fn shutdown(&self) {
        self.logs.shutdown(&self.topics());
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

/// The two levels of dynamic broker configs (AlterConfigs on a BROKER resource): Kafka's
/// DYNAMIC_DEFAULT_BROKER_CONFIG (resource "") and DYNAMIC_BROKER_CONFIG (resource "<id>").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DynamicBrokerConfigs {
    pub defaults: BTreeMap<String, String>,
    pub node: BTreeMap<String, String>,
}

impl DynamicBrokerConfigs {
    /// The configs in effect: the broker's own over the cluster-wide ones.
    pub fn effective(&self) -> BTreeMap<String, String> {
        let mut configs = self.defaults.clone();
        configs.extend(self.node.iter().map(|(k, v)| (k.clone(), v.clone())));
        configs
    }

    /// The overrides of one level: the broker's own (`per_broker`) or the cluster-wide.
    pub fn level(&self, per_broker: bool) -> &BTreeMap<String, String> {
        if per_broker {
            &self.node
        } else {
            &self.defaults
        }
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
