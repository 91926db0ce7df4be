//! ShareGroupHeartbeat (KIP-932): share consumers join, stay and leave their share
//! group; the coordinator assigns partitions itself (`rafka_coordinator::share`).

use crate::session::Session;
use std::sync::Arc;

use kafka_protocol::messages::share_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse};
use rafka_coordinator::share::{ShareHeartbeat, ShareHeartbeatConfig, ShareHeartbeatResult};
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: ShareGroupHeartbeatRequest,
    client_id: String,
    session: &Session,
) -> ShareGroupHeartbeatResponse {
    let group_id = request.group_id.to_string();
    let fail = |code: ErrorCode, message: String| {
        encode(ShareHeartbeatResult::error(
            code,
            message,
            request.member_id.as_str(),
            request.member_epoch,
        ))
    };
    // Kafka's handleShareGroupHeartbeat: READ on the group, DESCRIBE on each
    // subscribed topic; a refusal is the error code alone (no message, no member id).
    use rafka_security::acl::AclOperation;
    let refused =
        |code: ErrorCode| ShareGroupHeartbeatResponse::default().with_error_code(code.code());
    if !broker.authorize_group(session, &group_id, AclOperation::Read) {
        return refused(ErrorCode::GroupAuthorizationFailed);
    }
    if request
        .subscribed_topic_names
        .iter()
        .flatten()
        .any(|t| !broker.authorize_topic(session, t.as_str(), AclOperation::Describe))
    {
        return refused(ErrorCode::TopicAuthorizationFailed);
    }
    if group_id.is_empty() {
        return fail(ErrorCode::InvalidRequest, "GroupId can't be empty.".into());
    }
    let heartbeat = ShareHeartbeat {
        member_id: request.member_id.to_string(),
        member_epoch: request.member_epoch,
        rack_id: request.rack_id.as_ref().map(|s| s.to_string()),
        subscribed_topic_names: request
            .subscribed_topic_names
            .as_ref()
            .map(|names| names.iter().map(|n| n.to_string()).collect()),
        client_id,
        client_host: session.client_host(),
    };
    // As Kafka's: the request is checked before the coordinator and the group are.
    if let Err((code, message)) = heartbeat.validate() {
        return fail(code, message.into());
    }
    if broker.ensure_offsets_topic().await.is_err() {
        return fail(
            ErrorCode::CoordinatorNotAvailable,
            "The coordinator is not available.".into(),
        );
    }
    if let Err(e) = broker.groups.check_coordinator(&broker.replicas, &group_id) {
        return fail(e, "This is not the correct coordinator.".into());
    }
    // One id space for all group types: a classic or consumer group keeps its id.
    if broker.groups.group(&group_id).is_some() {
        return fail(
            ErrorCode::GroupIdNotFound,
            format!("Group {group_id} is not a share group."),
        );
    }
    // Only a joining member creates the group (Kafka's getOrMaybeCreateShareGroup).
    if request.member_epoch != 0 && broker.share_groups.group(&group_id).is_none() {
        return fail(
            ErrorCode::GroupIdNotFound,
            format!("Group {group_id} not found."),
        );
    }
    let group_config = broker.group_config(&group_id);
    let config = ShareHeartbeatConfig {
        session_timeout_ms: i64::from(group_config.share_session_timeout_ms),
        heartbeat_interval_ms: group_config.share_heartbeat_interval_ms,
        max_size: broker.share_groups.config.max_size,
    };
    let topics = broker.replicas.topic_infos();
    let now_ms = broker.clock.now_ms();
    let group = broker.share_groups.group_or_create(&group_id);
    let (result, write) = {
        let mut group = group.lock();
        let result = group.heartbeat(heartbeat, &topics, config, now_ms);
        // Appended under the group's lock, so the steps' records keep their order.
        let write =
            broker
                .share_groups
                .persist(&broker.groups, &broker.replicas, &mut group, &topics);
        (result, write)
    };
    if result.error.is_some() {
        broker.share_groups.forget_unborn(&group_id);
    }
    if let Some(member_id) = &result.left {
        broker.shares.member_left(&group_id, member_id);
    }
    // As Kafka's: the answer waits for the step's records to count.
    if let Err(code) = crate::group::completed(write).await {
        return fail(code, crate::group::write_error_message(code).into());
    }
    encode(result)
}

fn encode(result: ShareHeartbeatResult) -> ShareGroupHeartbeatResponse {
    // Kafka's error answer carries the code and message only: no member id, epoch 0.
    if let Some((code, message)) = result.error {
        return ShareGroupHeartbeatResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(str_bytes(message)));
    }
    let (error_code, error_message) = (0, None);
    ShareGroupHeartbeatResponse::default()
        .with_error_code(error_code)
        .with_error_message(error_message)
        .with_member_id(Some(str_bytes(result.member_id)))
        .with_member_epoch(result.member_epoch)
        .with_heartbeat_interval_ms(result.heartbeat_interval_ms)
        .with_assignment(result.assignment.map(|a| {
            Assignment::default().with_topic_partitions(
                a.into_iter()
                    .map(|(topic_id, partitions)| {
                        TopicPartitions::default()
                            .with_topic_id(topic_id)
                            .with_partitions(partitions.into_iter().collect())
                    })
                    .collect(),
            )
        }))
}
