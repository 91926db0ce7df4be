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

/// Kafka's `Topic.INTERNAL_TOPICS`.
pub fn is_internal_topic(name: &str) -> bool {
    matches!(
        name,
        "__consumer_offsets" | "__transaction_state" | "__share_group_state"
    )
}

/// Kafka's `Topic.validate`, with its messages.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    // Kafka's `Topic.validate`; the length is Java's, in UTF-16 code units.
    let reason = if name.is_empty() {
        "the empty string is not allowed".to_string()
    } else if name == "." || name == ".." {
        format!("'{name}' is not allowed")
    } else if name.encode_utf16().count() > MAX_TOPIC_NAME_LENGTH {
        format!(
            "the length of '{name}' is longer than the max allowed length {MAX_TOPIC_NAME_LENGTH}"
        )
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
    {
        format!("'{name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'")
    } else {
        return Ok(());
    };
    Err(format!("Topic name is invalid: {reason}"))
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
        assert_eq!(
            validate_topic_name(""),
            Err("Topic name is invalid: the empty string is not allowed".into())
        );
        assert_eq!(
            validate_topic_name(".."),
            Err("Topic name is invalid: '..' is not allowed".into())
        );
        assert_eq!(
            validate_topic_name("a/b"),
            Err("Topic name is invalid: 'a/b' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'".into())
        );
        assert_eq!(
            validate_topic_name(&"x".repeat(250)),
            Err(format!(
                "Topic name is invalid: the length of '{}' is longer than the max allowed length 249",
                "x".repeat(250)
            ))
        );
        // Java counts UTF-16 units: 200 'ü' are short enough, and invalid for the letter.
        assert!(validate_topic_name(&"ü".repeat(200))
            .unwrap_err()
            .contains("contains one or more characters"));
        assert_eq!(collision_key("a.b"), collision_key("a_b"));
    }
}
