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

/// The request's partitions in order, each with its topic id.
pub(super) fn partitions_of<'a, T, P: 'a>(
    topics: &'a [T],
    of: impl Fn(&'a T) -> (uuid::Uuid, &'a [P]),
) -> Vec<(uuid::Uuid, &'a P)> {
    topics
        .iter()
        .flat_map(|t| {
            let (topic_id, partitions) = of(t);
            partitions.iter().map(move |p| (topic_id, p))
        })
        .collect()
}

/// Per-partition answers grouped by topic id, in first-seen order.
pub(super) fn grouped<R>(answers: Vec<(uuid::Uuid, R)>) -> Vec<(uuid::Uuid, Vec<R>)> {
    let mut out: Vec<(uuid::Uuid, Vec<R>)> = Vec::new();
    for (topic_id, answer) in answers {
        match out.iter_mut().find(|(t, _)| *t == topic_id) {
            Some((_, list)) => list.push(answer),
            None => out.push((topic_id, vec![answer])),
        }
    }
    out
}

/// `refuse(&request) -> response` for one share-state API: Kafka's
/// `toGlobalErrorResponse`, the answer to a principal without CLUSTER_ACTION on the
/// cluster (checked before anything else) — one result per topic entry of the request,
/// in its order, each partition CLUSTER_AUTHORIZATION_FAILED with the error's default
/// message.
macro_rules! refuse_without_cluster_action {
    ($request:ty, $response:ty, $result:ident, $partition:ident) => {
        pub(super) fn refuse(request: &$request) -> $response {
            let code = rafka_protocol::ErrorCode::ClusterAuthorizationFailed;
            let message = kafka_protocol::protocol::StrBytes::from_static_str(code.description());
            let results = request.topics.iter().map(|topic| {
                let partitions = topic.partitions.iter().map(|p| {
                    $partition::default()
                        .with_partition(p.partition)
                        .with_error_code(code.code())
                        .with_error_message(Some(message.clone()))
                });
                $result::default()
                    .with_topic_id(topic.topic_id)
                    .with_partitions(partitions.collect())
            });
            <$response>::default().with_results(results.collect())
        }
    };
}
pub(super) use refuse_without_cluster_action;
