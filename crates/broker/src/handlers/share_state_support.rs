//! What the share-group state APIs (83-87) answer alike.

use kafka_protocol::protocol::StrBytes;
use rafka_coordinator::share_state::coordinator::StateError;

/// Kafka's share coordinator answers an empty response, without error, to a request
/// whose group id is empty or that names no topic, or a topic with no partition.
pub(super) fn is_empty_request(
    group_id: &str,
    mut partitions_per_topic: impl ExactSizeIterator<Item = usize>,
) -> bool {
    group_id.is_empty() || partitions_per_topic.len() == 0 || partitions_per_topic.any(|n| n == 0)
}

/// A partition result's error code and message.
pub(super) fn error_fields(error: Option<StateError>) -> (i16, Option<StrBytes>) {
    match error {
        None => (0, None),
        Some(e) => (e.code.code(), Some(StrBytes::from_string(e.message))),
    }
}
