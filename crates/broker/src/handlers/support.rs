//! What many handlers share: Kafka's authorized-operations bit fields, error messages,
//! protocol strings, per-partition outcomes grouped by topic.

use rafka_security::acl::ResourceType;
use rafka_types::TopicPartition;

use crate::broker::Broker;
use crate::session::Session;

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
/// for AclOperation code n), or the sentinel when the request did not ask. Kafka's
/// `AuthHelper.authorizedOperations`: of the operations the resource type supports
/// (`AclEntry.supportedOperations`), those the authorizer allows; all of them without
/// an authorizer.
pub(crate) fn authorized_operations(
    broker: &Broker,
    session: &Session,
    resource: Resource,
    name: &str,
    requested: bool,
) -> i32 {
    if !requested {
        return OPERATIONS_OMITTED;
    }
    let resource_type = match resource {
        Resource::Topic => ResourceType::Topic,
        Resource::Group => ResourceType::Group,
        Resource::Cluster => ResourceType::Cluster,
    };
    let operations = rafka_security::acl::supported_operations(resource_type);
    broker.authorized_operations_of(session, resource_type, name, operations)
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

/// The partition a request names, as the partition-by-partition handlers look it up
/// after Kafka's per-topic check: TOPIC_AUTHORIZATION_FAILED when the topic was refused
/// (whether or not it exists), else UNKNOWN_TOPIC_OR_PARTITION when it is not here.
pub(crate) fn authorized_partition(
    broker: &Broker,
    topic: &str,
    index: i32,
    authorized: bool,
) -> Result<std::sync::Arc<crate::partition::Partition>, crate::error::ApiError> {
    use rafka_protocol::ErrorCode;
    if !authorized {
        return Err(crate::error::ApiError::code(
            ErrorCode::TopicAuthorizationFailed,
        ));
    }
    broker
        .partition(topic, index)
        .ok_or_else(|| crate::error::ApiError::code(ErrorCode::UnknownTopicOrPartition))
}
