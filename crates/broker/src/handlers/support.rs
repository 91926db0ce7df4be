//! What many handlers share: Kafka's authorized-operations bit fields, error messages,
//! protocol strings, per-partition outcomes grouped by topic.

use rafka_types::TopicPartition;

/// A kind of resource whose authorized operations a response reports.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Resource {
    Topic,
    Group,
    Cluster,
}

/// Kafka's "authorized operations were not requested" sentinel.
pub(crate) const OPERATIONS_OMITTED: i32 = i32::MIN;

/// The operations the client may perform on a resource, as Kafka's bit field (bit n set
/// for AclOperation code n), or the sentinel when the request did not ask. With no
/// authorizer Kafka grants every operation the resource type supports
/// (AclEntry.supportedOperations); rafka has no ACLs yet, so that is the answer.
pub(crate) fn authorized_operations(resource: Resource, requested: bool) -> i32 {
    // AclOperation codes.
    const READ: u8 = 3;
    const WRITE: u8 = 4;
    const CREATE: u8 = 5;
    const DELETE: u8 = 6;
    const ALTER: u8 = 7;
    const DESCRIBE: u8 = 8;
    const CLUSTER_ACTION: u8 = 9;
    const DESCRIBE_CONFIGS: u8 = 10;
    const ALTER_CONFIGS: u8 = 11;
    const IDEMPOTENT_WRITE: u8 = 12;
    if !requested {
        return OPERATIONS_OMITTED;
    }
    let operations: &[u8] = match resource {
        Resource::Topic => &[
            READ,
            WRITE,
            CREATE,
            DESCRIBE,
            DELETE,
            ALTER,
            DESCRIBE_CONFIGS,
            ALTER_CONFIGS,
        ],
        Resource::Group => &[READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS, ALTER_CONFIGS],
        Resource::Cluster => &[
            CREATE,
            CLUSTER_ACTION,
            DESCRIBE_CONFIGS,
            ALTER_CONFIGS,
            IDEMPOTENT_WRITE,
            ALTER,
            DESCRIBE,
        ],
    };
    operations.iter().fold(0, |bits, op| bits | 1 << op)
}

/// Turns a message into the `Option<StrBytes>` the protocol's error_message fields take.
pub(crate) fn message(text: Option<String>) -> Option<kafka_protocol::protocol::StrBytes> {
    text.map(kafka_protocol::protocol::StrBytes::from_string)
}

/// Per-partition outcomes grouped by topic, in first-seen order.
pub(crate) fn by_topic<T>(outcomes: Vec<(TopicPartition, T)>) -> Vec<(String, Vec<(i32, T)>)> {
    let mut out: Vec<(String, Vec<(i32, T)>)> = Vec::new();
    for (TopicPartition { topic, partition }, value) in outcomes {
        match out.iter_mut().find(|(t, _)| *t == topic) {
            Some((_, list)) => list.push((partition, value)),
            None => out.push((topic, vec![(partition, value)])),
        }
    }
    out
}

/// A partition outcome's error code and message (0 and none when it succeeded).
pub(crate) fn outcome_error(
    refusal: Option<rafka_metadata::controller::Refusal>,
) -> (i16, Option<kafka_protocol::protocol::StrBytes>) {
    match refusal {
        None => (0, None),
        Some(r) => (r.code, Some(str_bytes(r.message))),
    }
}

pub(crate) fn str_bytes(text: impl Into<String>) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(text.into())
}
