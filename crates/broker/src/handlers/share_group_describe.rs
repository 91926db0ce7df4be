//! ShareGroupDescribe (KIP-932): a share group's state, epochs and members with their
//! assignments.

use std::sync::Arc;

use kafka_protocol::messages::share_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{ShareGroupDescribeRequest, ShareGroupDescribeResponse, TopicName};
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: ShareGroupDescribeRequest,
    session: &Session,
) -> ShareGroupDescribeResponse {
    // Kafka answers the groups without DESCRIBE first.
    let (authorized, unauthorized): (Vec<_>, Vec<_>) = request
        .group_ids
        .into_iter()
        .partition(|g| broker.authorize_group(session, g.as_str(), AclOperation::Describe));
    let mut groups: Vec<DescribedGroup> = unauthorized
        .into_iter()
        .map(|group_id| {
            DescribedGroup::default()
                .with_group_id(group_id)
                .with_error_code(ErrorCode::GroupAuthorizationFailed.code())
        })
        .collect();
    let described: Vec<DescribedGroup> = authorized
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
            // Kafka's GroupCoordinatorService: an empty id is INVALID_GROUP_ID, no message.
            if group_id.is_empty() {
                return base.with_error_code(ErrorCode::InvalidGroupId.code());
            }
            if let Err(e) = broker
                .groups
                .check_coordinator(&broker.replicas, group_id.as_str())
            {
                return base.with_error_code(e.code());
            }
            let Some(group) = broker.share_groups.group(group_id.as_str()) else {
                let message = if broker.groups.group(group_id.as_str()).is_some() {
                    format!("Group {} is not a share group.", group_id.as_str())
                } else {
                    format!("Group {} not found.", group_id.as_str())
                };
                // Kafka's error answer: no group state.
                return base
                    .with_error_code(ErrorCode::GroupIdNotFound.code())
                    .with_error_message(Some(str_bytes(message)));
            };
            let g = group.lock();
            base.with_group_state(str_bytes(g.state_name()))
                .with_group_epoch(g.group_epoch)
                .with_assignment_epoch(g.assignment_epoch)
                .with_assignor_name(str_bytes(g.assignor_name()))
                .with_members(
                    g.members
                        .values()
                        .map(|m| {
                            let assignment = Assignment::default().with_topic_partitions(
                                m.assignment
                                    .iter()
                                    .map(|(topic_id, partitions)| {
                                        let name = broker
                                            .topic_by_id(topic_id)
                                            .map(|t| t.name.to_string())
                                            .unwrap_or_default();
                                        TopicPartitions::default()
                                            .with_topic_id(*topic_id)
                                            .with_topic_name(TopicName(str_bytes(name)))
                                            .with_partitions(partitions.iter().copied().collect())
                                    })
                                    .collect(),
                            );
                            Member::default()
                                .with_member_id(str_bytes(m.member_id.clone()))
                                .with_rack_id(m.rack_id.clone().map(str_bytes))
                                .with_member_epoch(m.member_epoch)
                                .with_client_id(str_bytes(m.client_id.clone()))
                                .with_client_host(str_bytes(m.client_host.clone()))
                                .with_subscribed_topic_names(
                                    m.subscribed_topic_names
                                        .iter()
                                        .map(|n| TopicName(str_bytes(n.clone())))
                                        .collect(),
                                )
                                .with_assignment(assignment)
                        })
                        .collect(),
                )
        })
        .collect();
    groups.extend(described);
    ShareGroupDescribeResponse::default().with_groups(groups)
}
