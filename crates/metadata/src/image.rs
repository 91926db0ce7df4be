//! The cluster metadata image: what every node knows after applying the metadata log up
//! to `offset`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::records::MetadataRecord;
use crate::NO_LEADER;

/// One listener a broker registered (`advertised.listeners`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub name: String,
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrokerInfo {
    pub id: i32,
    /// Kafka's broker epoch: grows with every registration, so requests from an older
    /// incarnation of the broker can be told apart and refused.
    pub epoch: i64,
    /// Random per process start; a re-registration with the same id but another
    /// incarnation is a restarted broker.
    pub incarnation_id: uuid::Uuid,
    pub listeners: Vec<Endpoint>,
    pub rack: Option<String>,
    pub fenced: bool,
}

/// The replication state of one partition, as the controller last committed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// The assigned replicas; the first is the preferred leader.
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// `NO_LEADER` when no replica in the ISR is alive.
    pub leader: i32,
    /// Grows with every leader change; followers use it to find where their log diverged.
    pub leader_epoch: i32,
    /// Grows with every change of this state (Kafka's partition epoch): AlterPartition
    /// requests made against an older state are refused.
    pub partition_epoch: i32,
    /// During a reassignment: the target replicas not yet in the original assignment.
    /// `replicas` holds the target first, then the replicas being removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adding_replicas: Vec<i32>,
    /// During a reassignment: the original replicas not in the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removing_replicas: Vec<i32>,
}

impl PartitionState {
    /// A new partition on `replicas`, led by the first.
    pub fn new(replicas: Vec<i32>) -> PartitionState {
        PartitionState {
            leader: replicas.first().copied().unwrap_or(NO_LEADER),
            isr: replicas.clone(),
            replicas,
            leader_epoch: 0,
            partition_epoch: 0,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        }
    }

    /// Whether a reassignment is in progress.
    pub fn is_reassigning(&self) -> bool {
        !self.adding_replicas.is_empty() || !self.removing_replicas.is_empty()
    }

    /// The replicas before the reassignment in progress (all of them if none is).
    pub fn original_replicas(&self) -> Vec<i32> {
        self.replicas
            .iter()
            .copied()
            .filter(|r| !self.adding_replicas.contains(r))
            .collect()
    }

    /// The replicas the reassignment in progress moves to (all of them if none is).
    pub fn target_replicas(&self) -> Vec<i32> {
        self.replicas
            .iter()
            .copied()
            .filter(|r| !self.removing_replicas.contains(r))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicImage {
    pub name: String,
    pub topic_id: uuid::Uuid,
    pub configs: BTreeMap<String, String>,
    pub partitions: Vec<PartitionState>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterImage {
    /// The metadata log index of the last record applied (0: nothing yet).
    pub offset: u64,
    pub brokers: BTreeMap<i32, BrokerInfo>,
    pub topics: BTreeMap<String, TopicImage>,
    pub broker_configs: BTreeMap<String, String>,
    /// Group config overrides by group id. A group whose overrides were all deleted keeps
    /// its (empty) entry: Kafka's brokers list such a group in ListConfigResources.
    #[serde(default)]
    pub group_configs: BTreeMap<String, BTreeMap<String, String>>,
}

/// Replaces one group's config overrides. An empty set for a group that never had any
/// leaves no entry (Kafka writes no record for such a change).
pub fn set_group_configs(
    groups: &mut BTreeMap<String, BTreeMap<String, String>>,
    group: &str,
    configs: BTreeMap<String, String>,
) {
    if configs.is_empty() && !groups.contains_key(group) {
        return;
    }
    groups.insert(group.to_string(), configs);
}

impl ClusterImage {
    /// Applies one committed record. Records are validated by the controller before it
    /// proposes them, so a record that no longer fits (a partition of a deleted topic)
    /// is skipped rather than failing the replica that applies it.
    pub fn apply(&mut self, record: &MetadataRecord) {
        match record {
            MetadataRecord::RegisterBroker(info) => {
                self.brokers.insert(info.id, info.clone());
            }
            MetadataRecord::FenceBroker { id, epoch } => {
                if let Some(b) = self.brokers.get_mut(id).filter(|b| b.epoch == *epoch) {
                    b.fenced = true;
                }
            }
            MetadataRecord::UnfenceBroker { id, epoch } => {
                if let Some(b) = self.brokers.get_mut(id).filter(|b| b.epoch == *epoch) {
                    b.fenced = false;
                }
            }
            MetadataRecord::CreateTopic {
                name,
                topic_id,
                configs,
                partitions,
            } => {
                self.topics.insert(
                    name.clone(),
                    TopicImage {
                        name: name.clone(),
                        topic_id: *topic_id,
                        configs: configs.clone(),
                        partitions: partitions.clone(),
                    },
                );
            }
            MetadataRecord::DeleteTopic { name } => {
                self.topics.remove(name);
            }
            MetadataRecord::AddPartitions { name, partitions } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.partitions.extend(partitions.iter().cloned());
                }
            }
            MetadataRecord::ChangePartition {
                topic,
                partition,
                state,
            } => {
                let slot = self
                    .topics
                    .get_mut(topic)
                    .and_then(|t| t.partitions.get_mut(usize::try_from(*partition).ok()?));
                if let Some(slot) = slot {
                    *slot = state.clone();
                }
            }
            MetadataRecord::SetTopicConfigs { name, configs } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.configs = configs.clone();
                }
            }
            MetadataRecord::SetBrokerConfigs { configs } => {
                self.broker_configs = configs.clone();
            }
            MetadataRecord::SetGroupConfigs { group, configs } => {
                set_group_configs(&mut self.group_configs, group, configs.clone());
            }
        }
    }

    /// Applies a committed log entry: all its records, then the entry's index.
    pub fn apply_entry(&mut self, index: u64, records: &[MetadataRecord]) {
        for record in records {
            self.apply(record);
        }
        self.offset = index;
    }

    /// Brokers registered and not fenced.
    pub fn live_brokers(&self) -> impl Iterator<Item = &BrokerInfo> {
        self.brokers.values().filter(|b| !b.fenced)
    }

    pub fn partition(&self, topic: &str, index: i32) -> Option<&PartitionState> {
        self.topics
            .get(topic)?
            .partitions
            .get(usize::try_from(index).ok()?)
    }
}
