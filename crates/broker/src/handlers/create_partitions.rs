//! CreatePartitions: raise a topic's partition count (never lower it).

use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use rafka_protocol::ErrorCode;

use super::message;
use crate::broker::{ApiError, Broker};

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let results = request
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.name.to_string();
            let result = (|| {
                let assignments: Option<Vec<Vec<i32>>> = topic.assignments.as_ref().map(|a| {
                    a.iter()
                        .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
                        .collect()
                });
                let registered = broker.registered_broker_ids();
                let unknown = assignments
                    .iter()
                    .flatten()
                    .flatten()
                    .find(|b| !registered.contains(b));
                if let Some(b) = unknown {
                    return Err(ApiError::new(
                        ErrorCode::InvalidReplicaAssignment,
                        format!("Unknown broker {b} in the replica assignment"),
                    ));
                }
                broker.create_partitions(&name, topic.count, assignments, request.validate_only)
            })();
            let response = CreatePartitionsTopicResult::default().with_name(topic.name);
            match result {
                Ok(()) => response,
                Err(e) => response
                    .with_error_code(e.code.code())
                    .with_error_message(message(e.message)),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}
