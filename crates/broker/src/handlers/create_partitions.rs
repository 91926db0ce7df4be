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
                if let Some(assignments) = &topic.assignments {
                    let bad = assignments
                        .iter()
                        .flat_map(|a| a.broker_ids.iter())
                        .find(|b| b.0 != broker.config.node_id);
                    if let Some(b) = bad {
                        return Err(ApiError::new(
                            ErrorCode::InvalidReplicaAssignment,
                            format!("Unknown broker {} in the replica assignment", b.0),
                        ));
                    }
                }
                broker.create_partitions(&name, topic.count, request.validate_only)
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
