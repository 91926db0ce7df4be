//! Heartbeat: keeps a member's session alive and tells it when to rejoin.

use std::sync::Arc;

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: HeartbeatRequest,
    session: &Session,
) -> HeartbeatResponse {
    if !broker.authorize_group(session, request.group_id.as_str(), AclOperation::Read) {
        return HeartbeatResponse::default()
            .with_error_code(ErrorCode::GroupAuthorizationFailed.code());
    }
    let coordinator = broker
        .groups
        .check_coordinator(&broker.replicas, request.group_id.as_str());
    let error = match broker.groups.group(request.group_id.as_str()) {
        _ if coordinator.is_err() => coordinator.err(),
        None => Some(ErrorCode::UnknownMemberId),
        Some(group) => {
            let mut group = group.lock();
            let now_ms = broker.clock.now_ms();
            match group.consumer.as_mut() {
                Some(consumer) => consumer.classic_heartbeat(
                    request.generation_id,
                    request.member_id.as_str(),
                    request.group_instance_id.as_deref(),
                    now_ms,
                ),
                None => group.heartbeat(
                    request.generation_id,
                    request.member_id.as_str(),
                    request.group_instance_id.as_deref(),
                    now_ms,
                ),
            }
        }
    };
    HeartbeatResponse::default().with_error_code(error.map_or(0, |e| e.code()))
}
