//! ElectLeaders: preferred or unclean leader elections, decided by the active controller
//! (`kafka-leader-election.sh`).

use std::sync::Arc;

use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use rafka_metadata::controller::ElectionType;
use rafka_protocol::ErrorCode;
use rafka_types::TopicPartition;

use super::{by_topic, message, outcome_error, str_bytes};
use crate::broker::Broker;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: ElectLeadersRequest,
) -> ElectLeadersResponse {
    let election = match request.election_type {
        0 => ElectionType::Preferred,
        1 => ElectionType::Unclean,
        other => {
            return ElectLeadersResponse::default()
                .with_error_code(ErrorCode::InvalidRequest.code())
                .with_replica_election_results(failed_all(
                    &request,
                    ErrorCode::InvalidRequest.code(),
                    format!("Unknown election type {other}"),
                ));
        }
    };
    let partitions: Option<Vec<TopicPartition>> = request.topic_partitions.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| TopicPartition::new(t.topic.as_str(), *p))
            })
            .collect()
    });
    match broker.elect_leaders(election, partitions).await {
        Ok(outcomes) => {
            let results = by_topic(outcomes)
                .into_iter()
                .map(|(topic, partitions)| {
                    ReplicaElectionResult::default()
                        .with_topic(TopicName(str_bytes(topic)))
                        .with_partition_result(
                            partitions
                                .into_iter()
                                .map(|(index, refusal)| {
                                    let (code, text) = outcome_error(refusal);
                                    PartitionResult::default()
                                        .with_partition_id(index)
                                        .with_error_code(code)
                                        .with_error_message(text)
                                })
                                .collect(),
                        )
                })
                .collect();
            ElectLeadersResponse::default().with_replica_election_results(results)
        }
        Err(e) => ElectLeadersResponse::default()
            .with_error_code(e.code.code())
            .with_replica_election_results(failed_all(
                &request,
                e.code.code(),
                e.message.unwrap_or_default(),
            )),
    }
}

/// Every requested partition failed with the same error (v0 has no top-level code).
/// Every partition refused with `code` (Kafka's `ElectLeadersRequest.getErrorResponse`
/// for an authorization failure).
pub(super) fn refuse_all(
    request: &ElectLeadersRequest,
    code: ErrorCode,
    session: &crate::session::Session,
) -> ElectLeadersResponse {
    ElectLeadersResponse::default()
        .with_error_code(code.code())
        .with_replica_election_results(failed_all(
            request,
            code.code(),
            crate::acl_store::not_authorized_message(
                session,
                rafka_security::acl::AclOperation::Alter,
            ),
        ))
}

fn failed_all(
    request: &ElectLeadersRequest,
    code: i16,
    text: String,
) -> Vec<ReplicaElectionResult> {
    let Some(topics) = &request.topic_partitions else {
        return Vec::new();
    };
    topics
        .iter()
        .map(|t| {
            ReplicaElectionResult::default()
                .with_topic(t.topic.clone())
                .with_partition_result(
                    t.partitions
                        .iter()
                        .map(|p| {
                            PartitionResult::default()
                                .with_partition_id(*p)
                                .with_error_code(code)
                                .with_error_message(message(Some(text.clone())))
                        })
                        .collect(),
                )
        })
        .collect()
}
