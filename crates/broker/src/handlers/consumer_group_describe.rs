//! ConsumerGroupDescribe (KIP-848): members with their current and target assignments.

use std::sync::Arc;

use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName,
};
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;
use crate::group::consumer::Partitions;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: ConsumerGroupDescribeRequest,
    session: &Session,
) -> ConsumerGroupDescribeResponse {
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
            let Some(group) = broker.groups.group(group_id.as_str()) else {
                return base
                    .with_error_code(ErrorCode::GroupIdNotFound.code())
                    .with_error_message(Some(str_bytes(format!(
                        "Group {} not found.",
                        group_id.as_str()
                    ))));
            };
            let g = group.lock();
            let Some(consumer) = &g.consumer else {
                return base
                    .with_error_code(ErrorCode::GroupIdNotFound.code())
                    .with_error_message(Some(str_bytes(format!(
                        "Group {} is not a consumer group.",
                        group_id.as_str()
                    ))));
            };
            let assignment = |p: &Partitions| {
                Assignment::default().with_topic_partitions(
                    p.iter()
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
                )
            };
            base.with_group_state(str_bytes(consumer.state_name()))
                .with_group_epoch(consumer.group_epoch)
                .with_assignment_epoch(consumer.assignment_epoch)
                .with_assignor_name(str_bytes(consumer.assignor_name()))
                .with_members(
                    consumer
                        .members
                        .values()
                        .map(|m| {
                            Member::default()
                                .with_member_id(str_bytes(m.member_id.clone()))
                                .with_instance_id(m.instance_id.clone().map(str_bytes))
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
                                .with_subscribed_topic_regex(
                                    m.subscribed_topic_regex.clone().map(str_bytes),
                                )
                                .with_assignment(assignment(&m.assigned))
                                // v1: 0 for a member using the classic protocol, 1 for
                                // the consumer protocol (-1 is "unknown").
                                .with_member_type(if m.classic.is_some() { 0 } else { 1 })
                                .with_target_assignment(assignment(
                                    &consumer
                                        .target
                                        .get(&m.member_id)
                                        .cloned()
                                        .unwrap_or_default(),
                                ))
                        })
                        .collect(),
                )
        })
        .collect();
    groups.extend(described);
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}
