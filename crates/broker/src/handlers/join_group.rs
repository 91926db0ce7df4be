//! JoinGroup: enter a group (or rejoin it), waiting until the rebalance completes.

use crate::session::Session;
use std::sync::Arc;

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;
use crate::group::{self, JoinRequest, JoinResponse, Reply};
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: JoinGroupRequest,
    version: i16,
    client_id: String,
    session: &Session,
) -> JoinGroupResponse {
    if !broker.authorize_group(session, request.group_id.as_str(), AclOperation::Read) {
        return encode(
            version,
            JoinResponse {
                error: Some(ErrorCode::GroupAuthorizationFailed),
                generation_id: -1,
                ..Default::default()
            },
        );
    }
    let member_id = request.member_id.to_string();
    if request.group_id.is_empty() {
        return encode(
            version,
            JoinResponse {
                error: Some(ErrorCode::InvalidGroupId),
                generation_id: -1,
                member_id,
                ..Default::default()
            },
        );
    }
    if broker.ensure_offsets_topic().await.is_err() {
        return encode(
            version,
            JoinResponse {
                error: Some(ErrorCode::CoordinatorNotAvailable),
                generation_id: -1,
                member_id,
                ..Default::default()
            },
        );
    }
    if let Err(e) = broker
        .groups
        .check_coordinator(&broker.replicas, request.group_id.as_str())
    {
        return encode(
            version,
            JoinResponse {
                error: Some(e),
                generation_id: -1,
                member_id,
                ..Default::default()
            },
        );
    }
    // A share group's id is not a classic group's (Kafka's getOrMaybeCreateClassicGroup:
    // "Group … is not a classic group.", GROUP_ID_NOT_FOUND; JoinGroup has no message).
    if broker
        .share_groups
        .group(request.group_id.as_str())
        .is_some()
    {
        return encode(
            version,
            JoinResponse {
                error: Some(ErrorCode::GroupIdNotFound),
                generation_id: -1,
                member_id,
                ..Default::default()
            },
        );
    }
    let join = JoinRequest {
        member_id,
        group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
        client_id,
        client_host: session.client_host(),
        session_timeout_ms: request.session_timeout_ms,
        // v0 has no rebalance timeout: it is the session timeout.
        rebalance_timeout_ms: if version >= 1 {
            request.rebalance_timeout_ms
        } else {
            request.session_timeout_ms
        },
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
        require_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
    };
    let join_member_id = join.member_id.clone();
    let now_ms = broker.clock.now_ms();
    let group = broker
        .groups
        .group_or_create(request.group_id.as_str(), now_ms);
    let reply = {
        let mut group = group.lock();
        group.drop_empty_consumer_group();
        let config = &broker.groups.config;
        let reply = match group.consumer.as_mut() {
            // A classic member of a consumer group (online migration): answered at once.
            Some(consumer) => Reply::Now(
                if join.session_timeout_ms < config.min_session_timeout_ms
                    || join.session_timeout_ms > config.max_session_timeout_ms
                {
                    JoinResponse {
                        error: Some(ErrorCode::InvalidSessionTimeout),
                        generation_id: -1,
                        member_id: join.member_id.clone(),
                        ..Default::default()
                    }
                } else {
                    consumer.classic_join(
                        &join,
                        &broker.replicas.topic_infos(),
                        broker.groups.consumer_config.max_size,
                        now_ms,
                    )
                },
            ),
            None => group.join(join, config, now_ms),
        };
        (
            reply,
            broker.groups.persist_if_dirty(&broker.replicas, &mut group),
        )
    };
    let (reply, write) = reply;
    if let Err(code) = group::completed(write).await {
        return encode(
            version,
            JoinResponse {
                error: Some(code),
                generation_id: -1,
                member_id: join_member_id,
                ..Default::default()
            },
        );
    }
    let response = match reply {
        Reply::Now(r) => r,
        Reply::Later(rx) => rx.await.unwrap_or_else(|_| JoinResponse {
            error: Some(ErrorCode::UnknownServerError),
            generation_id: -1,
            ..Default::default()
        }),
    };
    encode(version, response)
}

fn encode(version: i16, response: JoinResponse) -> JoinGroupResponse {
    // No protocol chosen (an error, or a group without one): null from v7, where the
    // field becomes nullable, "" before, as Kafka's JoinGroupResponse.
    let protocol_name = match response.protocol_name {
        None if version >= 7 => None,
        name => Some(str_bytes(name.unwrap_or_default())),
    };
    JoinGroupResponse::default()
        .with_error_code(response.error.map_or(0, |e| e.code()))
        .with_generation_id(response.generation_id)
        .with_protocol_type(response.protocol_type.map(str_bytes))
        .with_protocol_name(protocol_name)
        .with_leader(str_bytes(response.leader_id))
        .with_member_id(str_bytes(response.member_id))
        .with_skip_assignment(response.skip_assignment)
        .with_members(
            response
                .members
                .into_iter()
                .map(|(member_id, instance_id, metadata)| {
                    JoinGroupResponseMember::default()
                        .with_member_id(str_bytes(member_id))
                        .with_group_instance_id(instance_id.map(str_bytes))
                        .with_metadata(metadata)
                })
                .collect(),
        )
}
