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
    /// Dynamic cluster-wide broker configs (the default BROKER resource).
    pub broker_configs: BTreeMap<String, String>,
    /// Dynamic per-broker configs by node id (the BROKER resource "<id>"); they override
    /// the cluster-wide ones on that broker.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_broker_configs: BTreeMap<i32, BTreeMap<String, String>>,
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

/// Replaces the dynamic broker configs of `node`, or the cluster-wide ones. A broker whose
/// overrides were all deleted keeps no entry.
pub fn set_broker_configs(
    defaults: &mut BTreeMap<String, String>,
    nodes: &mut BTreeMap<i32, BTreeMap<String, String>>,
    node: Option<i32>,
    configs: BTreeMap<String, String>,
) {
    match node {
        None => *defaults = configs,
        Some(id) if configs.is_empty() => {
            nodes.remove(&id);
        }
        Some(id) => {
            nodes.insert(id, configs);
        }
    }
}

/// The dynamic broker configs in effect on `node`: the cluster-wide ones overridden by the
/// broker's own.
pub fn effective_broker_configs(
    defaults: &BTreeMap<String, String>,
    nodes: &BTreeMap<i32, BTreeMap<String, String>>,
    node: i32,
) -> BTreeMap<String, String> {
    let mut configs = defaults.clone();
    if let Some(own) = nodes.get(&node) {
        configs.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    configs
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
            MetadataRecord::SetBrokerConfigs { node, configs } => {
                set_broker_configs(
                    &mut self.broker_configs,
                    &mut self.node_broker_configs,
                    *node,
                    configs.clone(),
                );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn broker_configs_are_kept_per_level() {
        let mut image = ClusterImage::default();
        image.apply(&MetadataRecord::SetBrokerConfigs {
            node: None,
            configs: configs(&[
                ("log.retention.ms", "7200000"),
                ("log.segment.bytes", "2097152"),
            ]),
        });
        image.apply(&MetadataRecord::SetBrokerConfigs {
            node: Some(2),
            configs: configs(&[("log.retention.ms", "5400000")]),
        });
        let on = |image: &ClusterImage, node| {
            effective_broker_configs(&image.broker_configs, &image.node_broker_configs, node)
        };
        assert_eq!(on(&image, 2)["log.retention.ms"], "5400000");
        assert_eq!(on(&image, 2)["log.segment.bytes"], "2097152");
        assert_eq!(on(&image, 1)["log.retention.ms"], "7200000");
        // Deleting a broker's last override leaves no entry behind.
        image.apply(&MetadataRecord::SetBrokerConfigs {
            node: Some(2),
            configs: BTreeMap::new(),
        });
        assert!(image.node_broker_configs.is_empty());
        assert_eq!(on(&image, 2)["log.retention.ms"], "7200000");
    }

    #[test]
    fn a_cluster_wide_record_of_before_per_broker_configs_still_reads() {
        let old = r#"{"SetBrokerConfigs":{"configs":{"log.retention.ms":"1"}}}"#;
        let record: MetadataRecord = serde_json::from_str(old).unwrap();
        assert_eq!(
            record,
            MetadataRecord::SetBrokerConfigs {
                node: None,
                configs: configs(&[("log.retention.ms", "1")]),
            }
        );
        assert_eq!(serde_json::to_string(&record).unwrap(), old);
    }
}
