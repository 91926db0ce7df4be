//! The records of the metadata log, and the broker and partition states they carry.
//! Each committed log entry carries a batch of them, applied atomically (a topic and all
//! its partitions appear together) to the [image](crate::image).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::NO_LEADER;

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
    /// Replaces the dynamic broker configs: the cluster-wide defaults (`node` absent:
    /// Kafka's BROKER resource "") or one broker's own (Kafka's BROKER resource "<id>").
    SetBrokerConfigs {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<i32>,
        configs: BTreeMap<String, String>,
    },
    /// Replaces one group's config overrides (the GROUP config resource, KIP-848).
    SetGroupConfigs {
        group: String,
        configs: BTreeMap<String, String>,
    },
    /// Kafka's `ProducerIdsRecord`: broker `broker_id` took the block of producer ids
    /// below `next_producer_id`; the next block starts there.
    ProducerIds {
        broker_id: i32,
        broker_epoch: i64,
        next_producer_id: i64,
    },
    // ACLs (the authorizer's bindings): one record per binding, named by its id.
    /// Kafka's `AccessControlEntryRecord`: a new ACL binding.
    AccessControlEntry(AccessControlEntryRecord),
    /// Kafka's `RemoveAccessControlEntryRecord`: the binding with this id is deleted.
    RemoveAccessControlEntry {
        id: uuid::Uuid,
    },
    /// Kafka's `UserScramCredentialRecord`: `name`'s credential for `mechanism`
    /// (`SCRAM-SHA-256`/`-512`), replacing any it had.
    UserScramCredential {
        name: String,
        mechanism: String,
        credential: rafka_security::scram::ScramCredential,
    },
    /// Kafka's `RemoveUserScramCredentialRecord`.
    RemoveUserScramCredential {
        name: String,
        mechanism: String,
    },
    /// The `storage format --add-scram` credentials are in the log: they are written
    /// once in the cluster's life, as Kafka's bootstrap records are.
    ScramBootstrapped,
}

/// One ACL binding as Kafka's `AccessControlEntryRecord` stores it: the resource
/// pattern and the entry with Kafka's wire codes (`ResourceType`, `PatternType`,
/// `AclOperation`, `AclPermissionType`), so that the metadata knows nothing of the
/// authorizer that reads them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AccessControlEntryRecord {
    /// Given by the controller when the binding is created; deletions name it.
    pub id: uuid::Uuid,
    pub resource_type: i8,
    pub resource_name: String,
    pub pattern_type: i8,
    /// `Type:name`, e.g. `User:alice`.
    pub principal: String,
    pub host: String,
    pub operation: i8,
    pub permission_type: i8,
}

impl AccessControlEntryRecord {
    /// Whether both name the same binding (whatever their ids).
    pub fn same_binding(&self, other: &AccessControlEntryRecord) -> bool {
        AccessControlEntryRecord {
            id: other.id,
            ..self.clone()
        } == *other
    }
}

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
