//! CreatePartitions: raise a topic's partition count (never lower it).

use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use rafka_protocol::ErrorCode;

use super::create_topics::validate_manual_assignment;
use super::message;
use crate::broker::Broker;
use crate::error::ApiError;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: CreatePartitionsRequest,
    session: &Session,
) -> CreatePartitionsResponse {
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        {
            let name = topic.name.to_string();
            let assignments: Option<Vec<Vec<i32>>> = topic.assignments.as_ref().map(|a| {
                a.iter()
                    .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            });
            // Kafka's ControllerApis.createPartitions: ALTER on the topic (not the
            // cluster's ALTER, unlike CreateTopics and DeleteTopics: the oracle refuses).
            let result = if !broker.authorize_topic(session, &name, AclOperation::Alter) {
                Err(ApiError::code(ErrorCode::TopicAuthorizationFailed))
            } else {
                check(broker, &name, topic.count, assignments.as_deref())
            };
            let result = match result {
                Ok(()) => {
                    broker
                        .create_partitions(&name, topic.count, assignments, request.validate_only)
                        .await
                }
                Err(e) => Err(e),
            };
            let response = CreatePartitionsTopicResult::default()
                .with_name(topic.name)
                .with_error_message(None);
            results.push(match result {
                Ok(()) => response,
                Err(e) => response
                    .with_error_code(e.code.code())
                    .with_error_message(message(e.message)),
            });
        }
    }
    CreatePartitionsResponse::default().with_results(results)
}

/// Kafka's checks, in its order: the topic exists, the count grows, one assignment per
/// new partition, each a valid manual assignment of the topic's replication factor.
fn check(
    broker: &Broker,
    name: &str,
    count: i32,
    assignments: Option<&[Vec<i32>]>,
) -> Result<(), ApiError> {
    let Some(topic) = broker.topic(name) else {
        // Kafka's UnknownTopicOrPartitionException without a message.
        return Err(ApiError::code(ErrorCode::UnknownTopicOrPartition));
    };
    let current = topic.partitions.len() as i32;
    rafka_metadata::controller::check_partition_increase(name, current, count)?;
    if let Some(assignments) = assignments {
        let additional = count - current;
        if assignments.len() as i32 != additional {
            return Err(ApiError::new(
                ErrorCode::InvalidReplicaAssignment,
                format!(
                    "Attempted to add {additional} additional partition(s), but only {} assignment(s) were specified.",
                    assignments.len()
                ),
            ));
        }
        let registered = broker.registered_broker_ids();
        for replicas in assignments {
            validate_manual_assignment(
                replicas,
                Some(topic.replication_factor as usize),
                &registered,
            )?;
        }
    }
    Ok(())
}
