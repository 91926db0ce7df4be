//! DescribeGroups: state, protocol, and each member with its subscription and assignment.

use std::sync::Arc;

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DescribeGroupsRequest,
    version: i16,
    session: &Session,
) -> DescribeGroupsResponse {
    // Kafka answers the groups without DESCRIBE after the others.
    let (authorized, unauthorized): (Vec<_>, Vec<_>) = request
        .groups
        .into_iter()
        .partition(|g| broker.authorize_group(session, g.as_str(), AclOperation::Describe));
    let mut groups: Vec<DescribedGroup> = authorized
        .into_iter()
        .map(|group_id| {
            let operations = super::authorized_operations(
                broker,
                session,
                super::Resource::Group,
                group_id.as_str(),
                request.include_authorized_operations,
            );
            let base = DescribedGroup::default()
                .with_group_id(group_id.clone())
                .with_authorized_operations(operations);
            if let Err(e) = broker
                .groups
                .check_coordinator(&broker.replicas, group_id.as_str())
            {
                return base.with_error_code(e.code());
            }
            // Kafka answers a share group here as a group that is not classic: before v6
            // as a Dead group without an error, as it answers an unknown one.
            if broker.share_groups.group(group_id.as_str()).is_some() {
                let base = base.with_group_state(str_bytes("Dead"));
                return if version >= 6 {
                    base.with_error_code(ErrorCode::GroupIdNotFound.code())
                        .with_error_message(Some(str_bytes(format!(
                            "Group {} is not a classic group.",
                            group_id.as_str()
                        ))))
                } else {
                    base
                };
            }
            let Some(group) = broker.groups.group(group_id.as_str()) else {
                let base = base.with_group_state(str_bytes("Dead"));
                return if version >= 6 {
                    base.with_error_code(ErrorCode::GroupIdNotFound.code())
                        .with_error_message(Some(str_bytes(format!(
                            "Group {} not found.",
                            group_id.as_str()
                        ))))
                } else {
                    base
                };
            };
            let g = group.lock();
            let protocol = g.protocol_name.clone();
            base.with_group_state(str_bytes(g.state_name()))
                .with_protocol_type(str_bytes(g.protocol_type.clone().unwrap_or_default()))
                .with_protocol_data(str_bytes(protocol.clone().unwrap_or_default()))
                .with_members(
                    g.members
                        .iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(str_bytes(m.member_id.clone()))
                                .with_group_instance_id(m.group_instance_id.clone().map(str_bytes))
                                .with_client_id(str_bytes(m.client_id.clone()))
                                .with_client_host(str_bytes(m.client_host.clone()))
                                .with_member_metadata(m.subscription(protocol.as_deref()))
                                .with_member_assignment(m.assignment.clone())
                        })
                        .collect(),
                )
        })
        .collect();
    groups.extend(unauthorized.into_iter().map(|group_id| {
        DescribedGroup::default()
            .with_group_id(group_id)
            .with_error_code(ErrorCode::GroupAuthorizationFailed.code())
            .with_group_state(str_bytes(""))
            .with_protocol_type(str_bytes(""))
            .with_protocol_data(str_bytes(""))
            .with_authorized_operations(super::OPERATIONS_OMITTED)
    }));
    DescribeGroupsResponse::default().with_groups(groups)
}
