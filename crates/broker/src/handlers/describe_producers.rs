//! DescribeProducers: each partition's active producers, from the log's producer state.
//!
//! Kafka's checks (KafkaApis.handleDescribeProducersRequest): an invalid topic name gets
//! INVALID_TOPIC_EXCEPTION with `Topic.validate`'s message and a topic the cluster does
//! not know UNKNOWN_TOPIC_OR_PARTITION with the error's default message, for each of
//! its partitions; then each partition is looked up without a message
//! (ReplicaManager.getPartitionOrError): UNKNOWN_TOPIC_OR_PARTITION when the cluster has
//! no such partition, NOT_LEADER_OR_FOLLOWER when another broker hosts it.

use std::sync::Arc;

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::topic::validate_topic_name;

/// Kafka's default message of UNKNOWN_TOPIC_OR_PARTITION.
const UNKNOWN_TOPIC_MESSAGE: &str = "This server does not host this topic-partition.";

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DescribeProducersRequest,
    session: &crate::session::Session,
) -> DescribeProducersResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.name.as_str();
            // Kafka's handleDescribeProducersRequest: READ on the topic.
            let topic_error = match validate_topic_name(name) {
                _ if !broker.authorize_topic(
                    session,
                    name,
                    rafka_security::acl::AclOperation::Read,
                ) =>
                {
                    Some((
                        ErrorCode::TopicAuthorizationFailed,
                        ErrorCode::TopicAuthorizationFailed
                            .description()
                            .to_string(),
                    ))
                }
                Err(message) => Some((ErrorCode::InvalidTopicException, message)),
                Ok(()) if broker.topic(name).is_none() => Some((
                    ErrorCode::UnknownTopicOrPartition,
                    UNKNOWN_TOPIC_MESSAGE.to_string(),
                )),
                Ok(()) => None,
            };
            let partitions = topic
                .partition_indexes
                .iter()
                .map(|&index| {
                    let base = PartitionResponse::default().with_partition_index(index);
                    if let Some((code, message)) = &topic_error {
                        return base
                            .with_error_code(code.code())
                            .with_error_message(Some(message.clone().into()));
                    }
                    let Some(partition) = broker.partition(name, index) else {
                        let exists = broker.topic(name).is_some_and(|t| t.state(index).is_some());
                        let code = if exists {
                            ErrorCode::NotLeaderOrFollower
                        } else {
                            ErrorCode::UnknownTopicOrPartition
                        };
                        return base.with_error_code(code.code());
                    };
                    let producers = partition
                        .with_log(|log| log.producer_entries())
                        .into_iter()
                        .map(|(id, entry)| {
                            ProducerState::default()
                                .with_producer_id(ProducerId(id))
                                .with_producer_epoch(i32::from(entry.producer_epoch))
                                .with_last_sequence(entry.last_seq())
                                .with_last_timestamp(entry.last_timestamp)
                                .with_coordinator_epoch(entry.coordinator_epoch)
                                .with_current_txn_start_offset(
                                    entry.current_txn_first_offset.unwrap_or(-1),
                                )
                        })
                        .collect();
                    base.with_active_producers(producers)
                })
                .collect();
            TopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}
