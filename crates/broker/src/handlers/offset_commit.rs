//! OffsetCommit: store a group's consumed positions in `__consumer_offsets`.

use std::sync::Arc;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::group::{self, CommittedOffset};
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: OffsetCommitRequest,
    version: i16,
    session: &Session,
) -> OffsetCommitResponse {
    // Kafka's handleOffsetCommitRequest: READ on the group, else every partition is
    // refused; then READ on each topic, whose partitions never reach the coordinator.
    if !broker.authorize_group(session, request.group_id.as_str(), AclOperation::Read) {
        let errors = request
            .topics
            .iter()
            .map(|t| vec![Some(ErrorCode::GroupAuthorizationFailed); t.partitions.len()])
            .collect();
        return answer(request, errors);
    }
    let topic_authorized: Vec<bool> = request
        .topics
        .iter()
        .map(|t| broker.authorize_topic(session, t.name.as_str(), AclOperation::Read))
        .collect();
    let now_ms = broker.clock.now_ms();
    let generation = request.generation_id_or_member_epoch;
    let member_id = request.member_id.to_string();
    let instance_id = request.group_instance_id.as_ref().map(|s| s.to_string());
    // An empty group id is a group like any other here: Kafka's coordinator refuses
    // only a null one, which the protocol cannot carry.
    let group_error = if broker.ensure_offsets_topic().await.is_err() {
        Some(ErrorCode::CoordinatorNotAvailable)
    } else {
        broker
            .groups
            .check_coordinator(&broker.replicas, request.group_id.as_str())
            .err()
    };
    let group = match (group_error, broker.groups.group(request.group_id.as_str())) {
        (Some(_), _) => None,
        (None, Some(g)) => Some(g),
        // A commit from outside any group management (generation -1, whatever member id
        // the client made up) creates a simple group, as Kafka's OffsetMetadataManager.
        (None, None) if generation < 0 => Some(
            broker
                .groups
                .group_or_create(request.group_id.as_str(), now_ms),
        ),
        (None, None) => None,
    };
    let group_error = group_error.or(match group {
        None if version >= 9 => Some(ErrorCode::GroupIdNotFound),
        // Older versions keep ILLEGAL_GENERATION for an unknown group, as Kafka does.
        None => Some(ErrorCode::IllegalGeneration),
        Some(_) => None,
    });
    let mut errors: Vec<Vec<Option<ErrorCode>>> = request
        .topics
        .iter()
        .map(|t| vec![group_error; t.partitions.len()])
        .collect();
    if let Some(group) = group {
        let (write, stored_slots) = {
            let mut group = group.lock();
            let validation =
                group.validate_offset_commit(generation, &member_id, instance_id.as_deref());
            let mut to_store = Vec::new();
            let mut stored_slots = Vec::new();
            for (ti, topic) in request.topics.iter().enumerate() {
                for (pi, partition) in topic.partitions.iter().enumerate() {
                    let metadata = partition
                        .committed_metadata
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_default();
                    errors[ti][pi] = if !topic_authorized[ti] {
                        Some(ErrorCode::TopicAuthorizationFailed)
                    } else if let Err(e) = validation {
                        Some(e)
                    } else if broker
                        .topic(topic.name.as_str())
                        .and_then(|t| t.state(partition.partition_index).cloned())
                        .is_none()
                    {
                        // Kafka checks the metadata: no such topic or partition, no commit.
                        Some(ErrorCode::UnknownTopicOrPartition)
                    } else if metadata.len() > broker.groups.config.offset_metadata_max_bytes {
                        Some(ErrorCode::OffsetMetadataTooLarge)
                    } else {
                        to_store.push((
                            (topic.name.to_string(), partition.partition_index),
                            CommittedOffset {
                                offset: partition.committed_offset,
                                leader_epoch: partition.committed_leader_epoch,
                                metadata,
                                commit_timestamp_ms: now_ms,
                            },
                        ));
                        stored_slots.push((ti, pi));
                        None
                    };
                }
            }
            (
                broker
                    .groups
                    .commit_offsets(&broker.replicas, &mut group, to_store),
                stored_slots,
            )
        };
        // Acknowledged once the offsets' records count (the ISR has them in a cluster).
        if let Err(e) = group::completed(write).await {
            for (ti, pi) in stored_slots {
                errors[ti][pi] = Some(e);
            }
        }
    }
    for (errors, authorized) in errors.iter_mut().zip(&topic_authorized) {
        if !authorized {
            errors.fill(Some(ErrorCode::TopicAuthorizationFailed));
        }
    }
    answer(request, errors)
}

/// The answer: each partition with its error, in request order.
fn answer(
    request: OffsetCommitRequest,
    errors: Vec<Vec<Option<ErrorCode>>>,
) -> OffsetCommitResponse {
    OffsetCommitResponse::default().with_topics(
        request
            .topics
            .into_iter()
            .zip(errors)
            .map(|(topic, errors)| {
                OffsetCommitResponseTopic::default()
                    .with_name(topic.name)
                    .with_partitions(
                        topic
                            .partitions
                            .iter()
                            .zip(errors)
                            .map(|(p, e)| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(e.map_or(0, |e| e.code()))
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
