//! ConsumerGroupHeartbeat (KIP-848): join, stay, reconcile and leave under the new
//! consumer protocol, with the assignment computed here.

use crate::session::Session;
use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;
use crate::group;
use crate::group::consumer::{ConsumerConfig, Heartbeat, HeartbeatResult, Partitions};

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: ConsumerGroupHeartbeatRequest,
    version: i16,
    client_id: String,
    session: &Session,
) -> ConsumerGroupHeartbeatResponse {
    tracing::debug!(
        "ConsumerGroupHeartbeat v{version} from {}: {request:?}",
        session.peer
    );
    let member_id = request.member_id.to_string();
    let fail = |code: ErrorCode, message: &str| {
        encode(HeartbeatResult {
            error: Some((code, message.to_string())),
            member_id: member_id.clone(),
            member_epoch: request.member_epoch,
            ..Default::default()
        })
    };
    // Kafka's handleConsumerGroupHeartbeat: READ on the group, DESCRIBE on each
    // subscribed topic.
    use rafka_security::acl::AclOperation;
    if !broker.authorize_group(session, request.group_id.as_str(), AclOperation::Read) {
        let code = ErrorCode::GroupAuthorizationFailed;
        return fail(code, code.description());
    }
    let subscribed = request.subscribed_topic_names.iter().flatten();
    if subscribed
        .clone()
        .any(|t| !broker.authorize_topic(session, t.as_str(), AclOperation::Describe))
    {
        let code = ErrorCode::TopicAuthorizationFailed;
        return fail(code, code.description());
    }
    if request.group_id.is_empty() {
        return fail(ErrorCode::InvalidRequest, "GroupId can't be empty.");
    }
    if broker.ensure_offsets_topic().await.is_err() {
        return fail(
            ErrorCode::CoordinatorNotAvailable,
            "The coordinator is not available.",
        );
    }
    if let Err(e) = broker
        .groups
        .check_coordinator(&broker.replicas, request.group_id.as_str())
    {
        return fail(e, "This is not the correct coordinator.");
    }
    // One id space for all group types: a share group keeps its id.
    if broker
        .share_groups
        .group(request.group_id.as_str())
        .is_some()
    {
        return fail(
            ErrorCode::GroupIdNotFound,
            &format!(
                "Group {} is not a consumer group.",
                request.group_id.as_str()
            ),
        );
    }
    let heartbeat = Heartbeat {
        member_id: member_id.clone(),
        member_epoch: request.member_epoch,
        instance_id: request.instance_id.as_ref().map(|s| s.to_string()),
        rack_id: request.rack_id.as_ref().map(|s| s.to_string()),
        rebalance_timeout_ms: request.rebalance_timeout_ms,
        subscribed_topic_names: request
            .subscribed_topic_names
            .as_ref()
            .map(|names| names.iter().map(|n| n.to_string()).collect()),
        subscribed_topic_regex: request
            .subscribed_topic_regex
            .as_ref()
            .map(|s| s.to_string()),
        server_assignor: request.server_assignor.as_ref().map(|s| s.to_string()),
        owned: request.topic_partitions.as_ref().map(|tps| {
            let mut owned = Partitions::new();
            for tp in tps {
                owned
                    .entry(tp.topic_id)
                    .or_default()
                    .extend(tp.partitions.iter().copied());
            }
            owned
        }),
        client_id,
        client_host: session.client_host(),
        broker_assigns_member_id: version == 0,
    };
    let now_ms = broker.clock.now_ms();
    let topics = broker.replicas.topic_infos();
    // The group's own consumer.session.timeout.ms and consumer.heartbeat.interval.ms
    // (KIP-848 group configs), read on every heartbeat so a change applies at once.
    let group_config = broker.group_config(request.group_id.as_str());
    let config = ConsumerConfig {
        session_timeout_ms: i64::from(group_config.consumer_session_timeout_ms),
        heartbeat_interval_ms: group_config.consumer_heartbeat_interval_ms,
        ..broker.groups.consumer_config.clone()
    };
    let group = broker
        .groups
        .group_or_create(request.group_id.as_str(), now_ms);
    let (result, write) = {
        let mut group = group.lock();
        if group.consumer.is_none() {
            if group.members.is_empty() {
                group.consumer = Some(Default::default());
                group.protocol_type = Some("consumer".to_string());
            } else if !group.upgrade_to_consumer(
                &topics,
                broker.groups.consumer_config.max_size,
                now_ms,
            ) {
                // Kafka's validateOnlineUpgrade failed: members of another protocol type, or
                // more members than a consumer group may have.
                return fail(
                    ErrorCode::GroupIdNotFound,
                    &format!("Group {} is not a consumer group.", group.group_id),
                );
            }
        }
        let leaving = request.member_epoch == -1;
        let consumer = group.consumer.as_mut().expect("set above");
        let result = consumer.heartbeat(heartbeat, &topics, &config, now_ms);
        if leaving {
            group.maybe_downgrade_to_classic(&topics, &broker.groups.config, now_ms);
        }
        (
            result,
            broker.groups.persist_if_dirty(&broker.replicas, &mut group),
        )
    };
    // The member's new state is answered once the group's record counts.
    if let Err(code) = group::completed(write).await {
        return fail(code, group::write_error_message(code));
    }
    encode(result)
}

fn encode(result: HeartbeatResult) -> ConsumerGroupHeartbeatResponse {
    let (error_code, error_message) = match result.error {
        Some((code, message)) => (code.code(), Some(str_bytes(message))),
        None => (0, None),
    };
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(error_code)
        .with_error_message(error_message)
        .with_member_id(Some(str_bytes(result.member_id)))
        .with_member_epoch(result.member_epoch)
        .with_heartbeat_interval_ms(result.heartbeat_interval_ms)
        .with_assignment(result.assignment.map(|a| {
            Assignment::default().with_topic_partitions(
                a.into_iter()
                    .map(|(topic_id, partitions): (uuid::Uuid, BTreeSet<i32>)| {
                        TopicPartitions::default()
                            .with_topic_id(topic_id)
                            .with_partitions(partitions.into_iter().collect())
                    })
                    .collect(),
            )
        }))
}
