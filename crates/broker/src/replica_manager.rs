//! The replica manager: the topics and partitions this broker hosts, found by name or id,
//! and in a cluster their roles. Applying a metadata image opens the replicas newly
//! assigned here (through the log manager), makes each a leader or a follower, pushes
//! config changes to the logs, and drops the replicas this broker no longer holds. The
//! high watermark itself lives with each partition (`Partition`, `replica::LeaderState`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::RwLock;
use rafka_coordinator::group::consumer::TopicInfo;
use rafka_coordinator::{CoordinatorLog, PendingWrite};
use rafka_log::{Appender, TxnVerification};
use rafka_metadata::image::effective_broker_configs;
use rafka_metadata::ClusterImage;
use rafka_protocol::ErrorCode;
use rafka_types::{LeaderEpoch, NodeId, Offset};

use crate::log_manager::{LogManager, LogToOpen};
use crate::partition::Partition;
use crate::topic::Topic;
use crate::topic_config::{effective_topic_configs, log_config};

#[derive(Debug, Default)]
pub struct Topics {
    by_name: BTreeMap<String, Arc<Topic>>,
    by_id: HashMap<uuid::Uuid, Arc<Topic>>,
}

impl Topics {
    pub fn insert(&mut self, topic: Arc<Topic>) {
        self.by_id.insert(topic.topic_id, topic.clone());
        self.by_name.insert(topic.name.to_string(), topic);
    }
}

/// What applying an image changed that others must act on.
#[derive(Debug, Default)]
pub struct Applied {
    /// Partitions this broker leads now and did not lead before.
    pub new_leaderships: Vec<Arc<Partition>>,
    /// Partitions this broker led before and does not lead now (a follower now, or no
    /// longer a replica): a coordinator unloads what it kept of them.
    pub resignations: Vec<Arc<Partition>>,
}

#[derive(Debug, Default)]
pub struct ReplicaManager {
    topics: RwLock<Topics>,
    /// In a cluster, coordinator writes count once the ISR has them (`acks=all`).
    clustered: bool,
}

impl ReplicaManager {
    pub fn new(clustered: bool) -> ReplicaManager {
        ReplicaManager {
            topics: RwLock::default(),
            clustered,
        }
    }

    /// The user topics as the consumer-protocol assignor sees them.
    pub fn topic_infos(&self) -> Vec<TopicInfo> {
        self.topics()
            .iter()
            .filter(|t| !t.is_internal())
            .map(|t| TopicInfo {
                topic_id: t.topic_id,
                name: t.name.to_string(),
                partitions: t.partitions.len() as i32,
            })
            .collect()
    }

    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().by_name.get(name).cloned()
    }

    pub fn topic_by_id(&self, id: &uuid::Uuid) -> Option<Arc<Topic>> {
        self.topics.read().by_id.get(id).cloned()
    }

    /// Every topic, by name.
    pub fn topics(&self) -> Vec<Arc<Topic>> {
        self.topics.read().by_name.values().cloned().collect()
    }

    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.topic(topic).and_then(|t| t.partition(index).cloned())
    }

    /// Whether this broker hosts the partition (start-up's stray-directory check).
    pub fn hosts(&self, topic: &str, index: i32) -> bool {
        self.topics
            .read()
            .by_name
            .get(topic)
            .is_some_and(|t| t.partition(index).is_some())
    }

    /// Adds a topic, or replaces the one of the same name and id.
    pub fn put(&self, topic: Topic) -> Arc<Topic> {
        let topic = Arc::new(topic);
        self.topics.write().insert(topic.clone());
        topic
    }

    pub fn remove(&self, topic: &Topic) {
        let mut topics = self.topics.write();
        topics.by_name.remove(&*topic.name);
        topics.by_id.remove(&topic.topic_id);
    }

    pub fn replace_all(&self, topics: Topics) {
        *self.topics.write() = topics;
    }

    /// Applies a newer cluster image (`previous` is the one applied before): opens the
    /// partitions newly assigned to `me`, takes up leaderships and followerships, applies
    /// config changes, and deletes the replicas no longer held here.
    pub fn apply_image(
        &self,
        me: i32,
        now_ms: u64,
        static_log_defaults: &BTreeMap<String, String>,
        previous: &ClusterImage,
        image: &ClusterImage,
        logs: &LogManager,
    ) -> Applied {
        let mut applied = Applied::default();
        let mut defaults = static_log_defaults.clone();
        defaults.extend(effective_broker_configs(
            &image.broker_configs,
            &image.node_broker_configs,
            me,
        ));
        // Configs are pushed to the partitions only when they change (or a partition
        // opens), not on every image: at 10k partitions that is 10k log locks an image.
        let broker_configs_changed = previous.broker_configs != image.broker_configs
            || previous.node_broker_configs.get(&me) != image.node_broker_configs.get(&me);
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
                        None => {
                            let log = LogToOpen {
                                topic: t.name.clone(),
                                topic_id: t.topic_id,
                                index,
                                config: config.clone(),
                            };
                            match logs.open_existing(&log) {
                                Ok((log, high_watermark)) => (
                                    Some(Arc::new(Partition::hosted(
                                        t.name.as_str().into(),
                                        index,
                                        NodeId(me),
                                        log,
                                        high_watermark,
                                    ))),
                                    true,
                                ),
                                Err(e) => {
                                    tracing::error!("{e}");
                                    (None, true)
                                }
                            }
                        }
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
                        p.become_leader(state, now_ms);
                        if !was_leader {
                            applied.new_leaderships.push(p.clone());
                        }
                    } else {
                        if p.is_leader() {
                            applied.resignations.push(p.clone());
                        }
                        p.become_follower(NodeId(state.leader), LeaderEpoch(state.leader_epoch));
                    }
                }
                partitions.push(local);
            }
            next.insert(Arc::new(Topic {
                name: t.name.as_str().into(),
                topic_id: t.topic_id,
                replication_factor: t
                    .partitions
                    .first()
                    .map_or(1, |p| p.target_replicas().len() as i16),
                partitions,
                states: t.partitions.clone(),
                configs: t.configs.clone(),
            }));
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
        self.replace_all(next);
        applied
            .resignations
            .extend(gone.iter().filter(|p| p.is_leader()).cloned());
        for partition in gone {
            logs.delete(&partition);
        }
        applied
    }
}

/// The coordinators' internal topics are partitions like any other: appended as the
/// leader with Kafka's origin COORDINATOR, with `acks=all` in a cluster (so a coordinator
/// failover loses nothing it acknowledged), read back for replay.
impl ReplicaManager {
    /// A coordinator's batch appended as leader (acks=all in a cluster), resolving once it
    /// counts; `verification` guards transactional offsets (KIP-890).
    pub fn append_coordinator_batch(
        &self,
        topic: &str,
        partition: i32,
        batch: &[u8],
        timeout: Duration,
        verification: TxnVerification,
    ) -> Result<PendingWrite, ErrorCode> {
        let partition = self
            .partition(topic, partition)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        let acks = if self.clustered { -1 } else { 1 };
        let (info, epoch) = partition
            .append_verified(batch, acks, Appender::Coordinator, verification)
            .map_err(|e| e.code)?;
        if acks == 1 {
            return Ok(Box::pin(std::future::ready(Ok(()))));
        }
        Ok(Box::pin(async move {
            partition
                .wait_for_replication(info.last_offset, epoch, timeout)
                .await
                .map_err(|e| e.code)
        }))
    }
}

impl CoordinatorLog for ReplicaManager {
    fn is_leader(&self, topic: &str, partition: i32) -> bool {
        self.partition(topic, partition)
            .is_some_and(|p| p.is_leader())
    }

    fn append(
        &self,
        topic: &str,
        partition: i32,
        batch: &[u8],
        timeout: Duration,
    ) -> Result<PendingWrite, ErrorCode> {
        self.append_coordinator_batch(
            topic,
            partition,
            batch,
            timeout,
            TxnVerification::NotRequired,
        )
    }

    fn replay_range(&self, topic: &str, partition: i32) -> Option<(i64, i64)> {
        self.partition(topic, partition)
            .map(|p| (p.log_start_offset().0, p.log_end_offset().0))
    }

    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Bytes, String> {
        let partition = self
            .partition(topic, partition)
            .ok_or_else(|| format!("{topic}-{partition} is not hosted here"))?;
        partition
            .read_to_log_end(Offset(offset), max_bytes as u64)
            .and_then(|r| r.to_bytes())
            .map_err(|e| e.to_string())
    }
}
