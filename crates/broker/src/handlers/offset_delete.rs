//! OffsetDelete: drop a group's committed offsets for partitions it does not consume.

use std::sync::Arc;

use bytes::Buf;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{
    ConsumerProtocolSubscription, OffsetDeleteRequest, OffsetDeleteResponse,
};
use kafka_protocol::protocol::Decodable;
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::group::{self, Group};
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: OffsetDeleteRequest,
    session: &Session,
) -> OffsetDeleteResponse {
    // Kafka's handleOffsetDeleteRequest: DELETE on the group, READ on each topic.
    if !broker.authorize_group(session, request.group_id.as_str(), AclOperation::Delete) {
        return OffsetDeleteResponse::default()
            .with_error_code(ErrorCode::GroupAuthorizationFailed.code());
    }
    let Some(group) = broker.groups.group(request.group_id.as_str()) else {
        return OffsetDeleteResponse::default().with_error_code(ErrorCode::GroupIdNotFound.code());
    };
    let (topics, write) = {
        let mut group = group.lock();
        let active = !group.is_empty();
        if active && group.protocol_type.as_deref() != Some("consumer") {
            return OffsetDeleteResponse::default()
                .with_error_code(ErrorCode::NonEmptyGroup.code());
        }
        let subscribed = if active {
            subscribed_topics(&group)
        } else {
            Vec::new()
        };
        let mut to_delete = Vec::new();
        let topics: Vec<(OffsetDeleteResponseTopic, Vec<usize>)> = request
            .topics
            .iter()
            .map(|topic| {
                let busy = subscribed.iter().any(|t| t == topic.name.as_str());
                let authorized =
                    broker.authorize_topic(session, topic.name.as_str(), AclOperation::Read);
                let mut slots = Vec::new();
                let partitions = topic
                    .partitions
                    .iter()
                    .map(|p| {
                        let response = OffsetDeleteResponsePartition::default()
                            .with_partition_index(p.partition_index);
                        if !authorized {
                            response.with_error_code(ErrorCode::TopicAuthorizationFailed.code())
                        } else if busy {
                            response.with_error_code(ErrorCode::GroupSubscribedToTopic.code())
                        } else {
                            slots.push(to_delete.len());
                            to_delete.push((topic.name.to_string(), p.partition_index));
                            response
                        }
                    })
                    .collect();
                (
                    OffsetDeleteResponseTopic::default()
                        .with_name(topic.name.clone())
                        .with_partitions(partitions),
                    slots,
                )
            })
            .collect();
        // A pending transactional offset gets a tombstone too, as in Kafka's deleteOffsets.
        let present: Vec<(String, i32)> = to_delete
            .iter()
            .filter(|k| group.offsets.contains_key(*k) || group.pending_offsets.contains(k))
            .cloned()
            .collect();
        (
            topics,
            broker
                .groups
                .delete_offsets(&broker.replicas, &mut group, &present),
        )
    };
    if let Err(e) = group::completed(write).await {
        return OffsetDeleteResponse::default().with_error_code(e.code());
    }
    OffsetDeleteResponse::default().with_topics(topics.into_iter().map(|(t, _)| t).collect())
}

/// Topics the members' consumer-protocol subscriptions name.
fn subscribed_topics(group: &Group) -> Vec<String> {
    let protocol = group.protocol_name.as_deref();
    let mut topics: Vec<String> = group
        .consumer
        .iter()
        .flat_map(|c| c.members.values())
        .flat_map(|m| m.subscribed_topic_names.iter().cloned())
        .collect();
    for member in &group.members {
        let mut metadata = member.subscription(protocol);
        if metadata.remaining() < 2 {
            continue;
        }
        let version = metadata.get_i16();
        if let Ok(subscription) =
            ConsumerProtocolSubscription::decode(&mut metadata, version.clamp(0, 3))
        {
            topics.extend(subscription.topics.iter().map(|t| t.to_string()));
        }
    }
    topics
}
