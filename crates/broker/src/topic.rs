//! Topics as this broker sees them, and Kafka's rules for topic names.

use std::collections::BTreeMap;
use std::sync::Arc;

use rafka_metadata::PartitionState;

use crate::partition::Partition;

/// A snapshot of one topic. Changes (new partitions, new configs, new leaders) replace the
/// whole `Arc<Topic>` in the broker's map; partitions are shared between snapshots.
#[derive(Debug)]
pub struct Topic {
    pub name: Arc<str>,
    pub topic_id: uuid::Uuid,
    pub replication_factor: i16,
    /// Every partition, by index: `Some` where this broker hosts a replica.
    pub partitions: Vec<Option<Arc<Partition>>>,
    /// Every partition's replicas, ISR and leader, as the metadata last said.
    pub states: Vec<PartitionState>,
    /// Topic-level overrides only.
    pub configs: BTreeMap<String, String>,
}

impl Topic {
    /// The partition's replica on this broker, if it hosts one.
    pub fn partition(&self, index: i32) -> Option<&Arc<Partition>> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.partitions.get(i))
            .and_then(Option::as_ref)
    }

    pub fn partition_count(&self) -> i32 {
        self.partitions.len() as i32
    }

    pub fn state(&self, index: i32) -> Option<&PartitionState> {
        usize::try_from(index).ok().and_then(|i| self.states.get(i))
    }

    /// The replicas this broker hosts.
    pub fn local_partitions(&self) -> impl Iterator<Item = &Arc<Partition>> {
        self.partitions.iter().flatten()
    }

    pub fn is_internal(&self) -> bool {
        is_internal_topic(&self.name)
    }
}

pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

pub fn is_internal_topic(name: &str) -> bool {
    name == "__consumer_offsets" || name == "__transaction_state"
}

/// Kafka's `Topic.validate`, with its messages.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > MAX_TOPIC_NAME_LENGTH {
        return Err(format!(
            "Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, topic name: {name}"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
    {
        return Err(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

pub use rafka_metadata::controller::collision_key;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders.v1_eu-west").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name(".").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("has space").is_err());
        assert!(validate_topic_name("slash/").is_err());
        assert!(validate_topic_name(&"a".repeat(249)).is_ok());
        assert!(validate_topic_name(&"a".repeat(250)).is_err());
        assert_eq!(collision_key("a.b"), collision_key("a_b"));
    }
}
