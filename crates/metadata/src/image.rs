//! The cluster metadata image: what every node knows after applying the metadata log up
//! to `offset`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

// The states records carry are defined with the records (records know nothing of the
// image); the image is built of them, under these paths too.
use crate::records::MetadataRecord;
pub use crate::records::{AccessControlEntryRecord, BrokerInfo, Endpoint, PartitionState};

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
    /// The first producer id of the next block the controller hands out (Kafka's
    /// `ProducerIdControlManager`): every id below it belongs to some broker's block.
    #[serde(default)]
    pub next_producer_id: i64,
    /// The ACL bindings by id (the authorizer's, applied by every broker).
    #[serde(default)]
    pub acls: BTreeMap<uuid::Uuid, AccessControlEntryRecord>,
    /// SCRAM credentials by user, then by mechanism name.
    #[serde(default)]
    pub scram_credentials:
        BTreeMap<String, BTreeMap<String, rafka_security::scram::ScramCredential>>,
    /// Whether the `--add-scram` credentials were written (`ScramBootstrapped`).
    #[serde(default)]
    pub scram_bootstrapped: bool,
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

/// Applies a SCRAM credential record to credentials kept by user, then mechanism (the
/// single-node metadata file keeps them the same way). A user left with no credential
/// has no entry. Other records are ignored.
pub fn apply_scram(
    credentials: &mut BTreeMap<String, BTreeMap<String, rafka_security::scram::ScramCredential>>,
    record: &MetadataRecord,
) {
    match record {
        MetadataRecord::UserScramCredential {
            name,
            mechanism,
            credential,
        } => {
            credentials
                .entry(name.clone())
                .or_default()
                .insert(mechanism.clone(), credential.clone());
        }
        MetadataRecord::RemoveUserScramCredential { name, mechanism } => {
            if let Some(user) = credentials.get_mut(name) {
                user.remove(mechanism);
                if user.is_empty() {
                    credentials.remove(name);
                }
            }
        }
        _ => {}
    }
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
            MetadataRecord::ProducerIds {
                next_producer_id, ..
            } => {
                self.next_producer_id = self.next_producer_id.max(*next_producer_id);
            }
            MetadataRecord::AccessControlEntry(acl) => {
                self.acls.insert(acl.id, acl.clone());
            }
            MetadataRecord::RemoveAccessControlEntry { id } => {
                self.acls.remove(id);
            }
            MetadataRecord::UserScramCredential { .. }
            | MetadataRecord::RemoveUserScramCredential { .. } => {
                apply_scram(&mut self.scram_credentials, record);
            }
            MetadataRecord::ScramBootstrapped => self.scram_bootstrapped = true,
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
