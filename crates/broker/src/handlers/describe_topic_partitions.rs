//! DescribeTopicPartitions (KIP-966): Metadata's topic descriptions, paged by a cursor so
//! topics with many partitions fit in bounded answers. Kafka 4's admin client describes
//! topics with it when the broker serves it.
//!
//! As Kafka's DescribeTopicPartitionsRequestHandler: topics are answered in name order
//! from the cursor on; at most `min(response_partition_limit, 2000)` partitions are
//! described, and `next_cursor` names where the next request starts. An empty topic list
//! means every topic (unknown names are then not reported).

use std::sync::Arc;

use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::ErrorCode;

use super::{authorized_operations, Resource};
use crate::broker::Broker;
use crate::session::Session;
use crate::topic::{is_internal_topic, validate_topic_name, Topic};
use rafka_security::acl::AclOperation;

/// Kafka's `max.request.partition.size.limit` default.
const MAX_REQUEST_PARTITION_SIZE_LIMIT: i32 = 2000;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DescribeTopicPartitionsRequest,
    session: &Session,
) -> DescribeTopicPartitionsResponse {
    let all_topics = request.topics.is_empty();
    let (cursor_topic, cursor_partition) = match &request.cursor {
        Some(c) => (c.topic_name.to_string(), c.partition_index),
        None => (String::new(), 0),
    };
    let mut names: Vec<String> = if all_topics {
        broker.topics().iter().map(|t| t.name.to_string()).collect()
    } else {
        request.topics.iter().map(|t| t.name.to_string()).collect()
    };
    names.retain(|name| *name >= cursor_topic);
    // Kafka's DescribeTopicPartitions: a topic the principal may not describe is left
    // out when listing all, else answered TOPIC_AUTHORIZATION_FAILED.
    let describable = |name: &str| broker.authorize_topic(session, name, AclOperation::Describe);
    if all_topics {
        names.retain(|name| describable(name));
    }
    names.sort();
    names.dedup();
    let invalid = if !all_topics && request.cursor.is_some() && !names.contains(&cursor_topic) {
        Some(format!(
            "DescribeTopicPartitionsRequest topic list should contain the cursor topic: {cursor_topic}"
        ))
    } else if request.cursor.is_some() && cursor_partition < 0 {
        Some(format!(
            "DescribeTopicPartitionsRequest cursor partition must be valid: {cursor_topic}-{cursor_partition}"
        ))
    } else {
        None
    };
    if let Some(reason) = invalid {
        // Kafka's getErrorResponse: every requested topic with the error, nothing else.
        tracing::debug!("DescribeTopicPartitions refused: {reason}");
        let topics = request
            .topics
            .into_iter()
            .map(|t| {
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(t.name))
                    .with_error_code(ErrorCode::InvalidRequest.code())
            })
            .collect();
        return DescribeTopicPartitionsResponse::default().with_topics(topics);
    }
    let live: Vec<i32> = broker.live_brokers().iter().map(|b| b.id).collect();
    let mut remaining = request
        .response_partition_limit
        .clamp(1, MAX_REQUEST_PARTITION_SIZE_LIMIT);
    let mut topics = Vec::new();
    let mut next_cursor = None;
    for name in names {
        if remaining == 0 {
            // The next page starts at this topic's first partition.
            next_cursor = Some(cursor(&name, 0));
            break;
        }
        let start = if name == cursor_topic {
            cursor_partition
        } else {
            0
        };
        let operations = authorized_operations(broker, session, Resource::Topic, &name, true);
        match broker.topic(&name) {
            _ if !describable(&name) => {
                topics.push(
                    DescribeTopicPartitionsResponseTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
                        .with_error_code(ErrorCode::TopicAuthorizationFailed.code()),
                );
            }
            Some(topic) => {
                let (described, next) = describe(&topic, &live, start, remaining);
                remaining -= described.partitions.len() as i32;
                topics.push(described.with_topic_authorized_operations(operations));
                if let Some(next) = next {
                    next_cursor = Some(cursor(&name, next));
                    break;
                }
            }
            None if all_topics => {}
            None => {
                let error = match validate_topic_name(&name) {
                    Ok(()) => ErrorCode::UnknownTopicOrPartition,
                    Err(_) => ErrorCode::InvalidTopicException,
                };
                topics.push(
                    DescribeTopicPartitionsResponseTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
                        .with_is_internal(is_internal_topic(&name))
                        .with_error_code(error.code())
                        .with_topic_authorized_operations(operations),
                );
            }
        }
    }
    DescribeTopicPartitionsResponse::default()
        .with_topics(topics)
        .with_next_cursor(next_cursor)
}

fn cursor(topic: &str, partition: i32) -> Cursor {
    Cursor::default()
        .with_topic_name(TopicName(StrBytes::from_string(topic.to_string())))
        .with_partition_index(partition)
}

/// Partitions `start..` of `topic`, at most `max`; and the first one left out, if any.
fn describe(
    topic: &Topic,
    live: &[i32],
    start: i32,
    max: i32,
) -> (DescribeTopicPartitionsResponseTopic, Option<i32>) {
    let count = topic.states.len() as i32;
    let end = count.min(start.saturating_add(max));
    let ids = |v: &[i32]| v.iter().map(|id| BrokerId(*id)).collect::<Vec<_>>();
    let partitions = (start.max(0)..end)
        .filter_map(|index| topic.state(index).map(|state| (index, state)))
        .map(|(index, state)| {
            let offline = super::metadata::offline_replicas(&state.replicas, live);
            let leader = if live.contains(&state.leader) {
                state.leader
            } else {
                -1
            };
            DescribeTopicPartitionsResponsePartition::default()
                .with_partition_index(index)
                .with_leader_id(BrokerId(leader))
                .with_leader_epoch(state.leader_epoch)
                .with_replica_nodes(ids(&state.replicas))
                .with_isr_nodes(ids(&state.isr))
                // No eligible leader replicas (KIP-966's ELR is off, as by default).
                .with_eligible_leader_replicas(Some(Vec::new()))
                .with_last_known_elr(Some(Vec::new()))
                .with_offline_replicas(ids(&offline))
        })
        .collect();
    let described = DescribeTopicPartitionsResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(
            topic.name.to_string(),
        ))))
        .with_topic_id(topic.topic_id)
        .with_is_internal(topic.is_internal())
        .with_partitions(partitions);
    (described, (end < count).then_some(end))
}
