//! ShareAcknowledge (KIP-932): a share consumer's acknowledgements without a fetch
//! (accept 1, release 2, reject 3; 0 marks a gap), under its share session's epoch.
//! Each partition answers on its own: one member's bad acknowledgement changes nothing
//! of another's, nor of its other partitions. A partition answers once its
//! acknowledgements are written to the share coordinator.

use std::sync::Arc;

use kafka_protocol::messages::share_acknowledge_response::{
    LeaderIdAndEpoch, PartitionData, ShareAcknowledgeTopicResponse,
};
use kafka_protocol::messages::{ShareAcknowledgeRequest, ShareAcknowledgeResponse};
use rafka_protocol::ErrorCode;
use rafka_security::acl::AclOperation;

use super::share_fetch::denied_topics;
use super::str_bytes;
use crate::broker::Broker;
use crate::session::Session;
use crate::share::session::{SessionStep, TopicIdPartition};
use crate::share::AcknowledgementBatch;
use crate::share_persister::BrokerPersister;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: ShareAcknowledgeRequest,
    session: &Session,
) -> ShareAcknowledgeResponse {
    // Kafka's handleShareAcknowledgeRequest: READ on the group before anything else.
    let group = request.group_id.as_ref().map_or("", |g| g.as_str());
    if !broker.authorize_group(session, group, AclOperation::Read) {
        return ShareAcknowledgeResponse::default()
            .with_error_code(ErrorCode::GroupAuthorizationFailed.code());
    }
    let group_id = request
        .group_id
        .as_ref()
        .map(|g| g.to_string())
        .unwrap_or_default();
    let member_id = request
        .member_id
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_default();
    let top_error = |code: ErrorCode, message: &str| {
        ShareAcknowledgeResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(str_bytes(message.to_string())))
    };
    if group_id.is_empty() || member_id.is_empty() {
        return top_error(
            ErrorCode::InvalidRequest,
            "GroupId and MemberId must be set.",
        );
    }
    // A session is opened by ShareFetch only.
    if request.share_session_epoch == 0 {
        return ShareAcknowledgeResponse::default()
            .with_error_code(ErrorCode::InvalidShareSessionEpoch.code());
    }
    let named: Vec<TopicIdPartition> = request
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.topic_id, p.partition_index)))
        .collect();
    let step = broker.shares.sessions.lock().step(
        &group_id,
        &member_id,
        request.share_session_epoch,
        &named,
        &[],
    );
    let step = match step {
        Ok(step) => step,
        // Kafka's session errors carry no message.
        Err(code) => return ShareAcknowledgeResponse::default().with_error_code(code.code()),
    };
    let now_ms = broker.clock.now_ms();
    // The current leader is set only with NOT_LEADER_OR_FOLLOWER, as Kafka's.
    let leader = LeaderIdAndEpoch::default();
    let persister = BrokerPersister::new(broker);
    // READ on each topic: one it may not read is TOPIC_AUTHORIZATION_FAILED.
    let denied = denied_topics(broker, session, request.topics.iter().map(|t| t.topic_id));
    let mut responses = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            if denied.contains(&topic.topic_id) {
                partitions.push(
                    PartitionData::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(ErrorCode::TopicAuthorizationFailed.code()),
                );
                continue;
            }
            let batches: Vec<AcknowledgementBatch> = p
                .acknowledgement_batches
                .iter()
                .map(|b| AcknowledgementBatch {
                    first_offset: b.first_offset,
                    last_offset: b.last_offset,
                    acknowledge_types: b.acknowledge_types.clone(),
                })
                .collect();
            let result = if broker.topic_by_id(&topic.topic_id).is_none() {
                Err(ErrorCode::UnknownTopicId.into())
            } else {
                broker
                    .shares
                    .acknowledge(
                        &persister,
                        &group_id,
                        &member_id,
                        topic.topic_id,
                        p.partition_index,
                        &batches,
                        now_ms,
                    )
                    .await
            };
            partitions.push(
                PartitionData::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(result.as_ref().err().map_or(0, |e| e.code()))
                    .with_error_message(
                        result
                            .err()
                            .and_then(|e| e.message)
                            .map(|m| str_bytes(m.to_string())),
                    )
                    .with_current_leader(leader.clone()),
            );
        }
        responses.push(
            ShareAcknowledgeTopicResponse::default()
                .with_topic_id(topic.topic_id)
                .with_partitions(partitions),
        );
    }
    if let SessionStep::Closed { partitions } = step {
        broker
            .shares
            .session_closed(&group_id, &member_id, &partitions);
    }
    ShareAcknowledgeResponse::default().with_responses(responses)
}
