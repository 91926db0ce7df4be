//! LeaveGroup: one member (v0–2) or a batch of members by id or static instance (v3+).

use std::sync::Arc;

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::group;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: LeaveGroupRequest,
    version: i16,
    session: &Session,
) -> LeaveGroupResponse {
    if !broker.authorize_group(session, request.group_id.as_str(), AclOperation::Read) {
        return LeaveGroupResponse::default()
            .with_error_code(ErrorCode::GroupAuthorizationFailed.code());
    }
    let leaving: Vec<(String, Option<String>)> = if version >= 3 {
        request
            .members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|s| s.to_string()),
                )
            })
            .collect()
    } else {
        vec![(request.member_id.to_string(), None)]
    };
    if let Err(e) = broker
        .groups
        .check_coordinator(&broker.replicas, request.group_id.as_str())
    {
        return LeaveGroupResponse::default().with_error_code(e.code());
    }
    let Some(group) = broker.groups.group(request.group_id.as_str()) else {
        return LeaveGroupResponse::default().with_error_code(ErrorCode::UnknownMemberId.code());
    };
    let now_ms = broker.clock.now_ms();
    let (results, write) = {
        let mut group = group.lock();
        let topics = group
            .consumer
            .is_some()
            .then(|| broker.replicas.topic_infos());
        let results: Vec<(String, Option<String>, Option<ErrorCode>)> = leaving
            .into_iter()
            .map(|(member_id, instance_id)| {
                let error = match (group.consumer.as_mut(), &topics) {
                    (Some(consumer), Some(topics)) => {
                        consumer.classic_leave(&member_id, instance_id.as_deref(), topics)
                    }
                    _ => group.leave(
                        &member_id,
                        instance_id.as_deref(),
                        &broker.groups.config,
                        now_ms,
                    ),
                };
                (member_id, instance_id, error)
            })
            .collect();
        if let Some(topics) = &topics {
            group.maybe_downgrade_to_classic(topics, &broker.groups.config, now_ms);
        }
        (
            results,
            broker.groups.persist_if_dirty(&broker.replicas, &mut group),
        )
    };
    // The members are gone once the group's record counts.
    if let Err(e) = group::completed(write).await {
        return LeaveGroupResponse::default().with_error_code(e.code());
    }
    if version < 3 {
        let error = results.first().and_then(|r| r.2);
        return LeaveGroupResponse::default().with_error_code(error.map_or(0, |e| e.code()));
    }
    LeaveGroupResponse::default().with_members(
        results
            .into_iter()
            .map(|(member_id, instance_id, error)| {
                MemberResponse::default()
                    .with_member_id(super::str_bytes(member_id))
                    .with_group_instance_id(instance_id.map(super::str_bytes))
                    .with_error_code(error.map_or(0, |e| e.code()))
            })
            .collect(),
    )
}
