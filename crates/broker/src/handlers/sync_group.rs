//! SyncGroup: the leader hands out assignments; every member waits for its own.

use std::sync::Arc;

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;
use crate::group::{self, Reply, SyncResponse};
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: SyncGroupRequest,
    session: &Session,
) -> SyncGroupResponse {
    if !broker.authorize_group(session, request.group_id.as_str(), AclOperation::Read) {
        return encode(SyncResponse {
            error: Some(ErrorCode::GroupAuthorizationFailed),
            ..Default::default()
        });
    }
    if let Err(e) = broker
        .groups
        .check_coordinator(&broker.replicas, request.group_id.as_str())
    {
        return encode(SyncResponse {
            error: Some(e),
            ..Default::default()
        });
    }
    let Some(group) = broker.groups.group(request.group_id.as_str()) else {
        return encode(SyncResponse {
            error: Some(ErrorCode::UnknownMemberId),
            ..Default::default()
        });
    };
    let now_ms = broker.clock.now_ms();
    let reply = {
        let mut group = group.lock();
        if let Some(consumer) = group.consumer.as_mut() {
            // A classic member of a consumer group: its assignment is the coordinator's.
            return encode(consumer.classic_sync(
                request.generation_id,
                request.member_id.as_str(),
                request.group_instance_id.as_deref(),
                request.protocol_type.as_deref(),
                request.protocol_name.as_deref(),
                &broker.replicas.topic_infos(),
                now_ms,
            ));
        }
        let reply = group.sync(
            request.generation_id,
            request.member_id.as_str(),
            request.group_instance_id.as_deref(),
            request.protocol_type.as_deref(),
            request.protocol_name.as_deref(),
            request
                .assignments
                .iter()
                .map(|a| (a.member_id.to_string(), a.assignment.clone()))
                .collect(),
            now_ms,
        );
        let write = broker.groups.persist_if_dirty(&broker.replicas, &mut group);
        (reply, write, group.take_held_sync_answers())
    };
    let (reply, write, held) = reply;
    // Every member's assignment (this request's too) is answered once the group's
    // record counts; a failed store answers them all with its error, as Kafka's
    // coordinator does, and they rejoin.
    let written = group::completed(write).await;
    held.release(written);
    if let Err(code) = written {
        return encode(SyncResponse {
            error: Some(code),
            ..Default::default()
        });
    }
    let response = match reply {
        Reply::Now(r) => r,
        Reply::Later(rx) => rx.await.unwrap_or(SyncResponse {
            error: Some(ErrorCode::UnknownServerError),
            ..Default::default()
        }),
    };
    encode(response)
}

fn encode(response: SyncResponse) -> SyncGroupResponse {
    SyncGroupResponse::default()
        .with_error_code(response.error.map_or(0, |e| e.code()))
        .with_protocol_type(response.protocol_type.map(str_bytes))
        .with_protocol_name(response.protocol_name.map(str_bytes))
        .with_assignment(response.assignment)
}
