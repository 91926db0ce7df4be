//! AlterPartitionReassignments: move partitions to new replica sets, or cancel a move
//! (`kafka-reassign-partitions.sh --execute / --cancel`). The active controller decides;
//! the moves complete in the background as the new replicas catch up.

use std::sync::Arc;

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, TopicName,
};
use rafka_types::TopicPartition;

use super::{by_topic, message, outcome_error, str_bytes};
use crate::admin::ReassignmentRequest;
use crate::broker::Broker;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: AlterPartitionReassignmentsRequest,
    version: i16,
) -> AlterPartitionReassignmentsResponse {
    // v0 has no such field: the replication factor may change, as before KIP-860.
    let allow_rf_change = version == 0 || request.allow_replication_factor_change;
    let partitions: Vec<ReassignmentRequest> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    TopicPartition::new(t.name.as_str(), p.partition_index),
                    p.replicas.as_ref().map(|r| r.iter().map(|b| b.0).collect()),
                )
            })
        })
        .collect();
    let response = AlterPartitionReassignmentsResponse::default()
        .with_allow_replication_factor_change(allow_rf_change);
    match broker
        .alter_reassignments(allow_rf_change, partitions)
        .await
    {
        Ok(outcomes) => response.with_responses(
            by_topic(outcomes)
                .into_iter()
                .map(|(topic, partitions)| {
                    ReassignableTopicResponse::default()
                        .with_name(TopicName(str_bytes(topic)))
                        .with_partitions(
                            partitions
                                .into_iter()
                                .map(|(index, refusal)| {
                                    let (code, text) = outcome_error(refusal);
                                    ReassignablePartitionResponse::default()
                                        .with_partition_index(index)
                                        .with_error_code(code)
                                        .with_error_message(text)
                                })
                                .collect(),
                        )
                })
                .collect(),
        ),
        Err(e) => response
            .with_error_code(e.code.code())
            .with_error_message(message(e.message)),
    }
}
