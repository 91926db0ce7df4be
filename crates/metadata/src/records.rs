//! The records of the metadata log. Each committed log entry carries a batch of them,
//! applied atomically (a topic and all its partitions appear together).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::image::{BrokerInfo, PartitionState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MetadataRecord {
    /// A broker (re-)registered. It starts fenced: it hosts no leaderships until the
    /// controller unfences it, once it has caught up with the metadata log.
    RegisterBroker(BrokerInfo),
    /// The broker missed its heartbeats (or shut down): no leaderships, out of every ISR.
    FenceBroker {
        id: i32,
        epoch: i64,
    },
    UnfenceBroker {
        id: i32,
        epoch: i64,
    },
    CreateTopic {
        name: String,
        topic_id: uuid::Uuid,
        configs: BTreeMap<String, String>,
        partitions: Vec<PartitionState>,
    },
    DeleteTopic {
        name: String,
    },
    /// CreatePartitions: new partitions appended after the existing ones.
    AddPartitions {
        name: String,
        partitions: Vec<PartitionState>,
    },
    /// A new leader, ISR or replica set for one partition.
    ChangePartition {
        topic: String,
        partition: i32,
        state: PartitionState,
    },
    /// Replaces a topic's config overrides.
    SetTopicConfigs {
        name: String,
        configs: BTreeMap<String, String>,
    },
    /// Replaces the dynamic cluster-wide broker configs.
    SetBrokerConfigs {
        configs: BTreeMap<String, String>,
    },
    /// Replaces one group's config overrides (the GROUP config resource, KIP-848).
    SetGroupConfigs {
        group: String,
        configs: BTreeMap<String, String>,
    },
}
