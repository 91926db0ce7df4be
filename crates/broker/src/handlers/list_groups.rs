//! ListGroups, filtered by state (v4+) and type (v5+).

use std::sync::Arc;

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};

use super::str_bytes;
use crate::broker::Broker;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: ListGroupsRequest,
    session: &Session,
) -> ListGroupsResponse {
    // Kafka lists every group to a principal with DESCRIBE on the cluster, else the
    // groups it may describe.
    let every_group = broker.authorize_cluster(session, AclOperation::Describe);
    let listed = |group_id: &str| {
        every_group || broker.authorize_group(session, group_id, AclOperation::Describe)
    };
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let types: Vec<String> = request
        .types_filter
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    let groups = broker
        .groups
        .groups()
        .into_iter()
        .filter_map(|g| {
            let g = g.lock();
            if !listed(&g.group_id) {
                return None;
            }
            let state = g.state_name();
            if !states.is_empty() && !states.contains(&state.to_ascii_lowercase()) {
                return None;
            }
            if !types.is_empty() && !types.iter().any(|t| t == g.group_type()) {
                return None;
            }
            Some(
                ListedGroup::default()
                    .with_group_id(GroupId(str_bytes(g.group_id.clone())))
                    .with_protocol_type(str_bytes(g.protocol_type.clone().unwrap_or_default()))
                    .with_group_state(str_bytes(state))
                    .with_group_type(str_bytes(g.group_type())),
            )
        })
        .collect::<Vec<_>>();
    // Share groups (KIP-932): type "share", protocol type "share", states Empty/Stable.
    let mut groups = groups;
    for g in broker.share_groups.groups() {
        let g = g.lock();
        if !listed(&g.group_id) {
            continue;
        }
        let state = g.state_name();
        if !states.is_empty() && !states.contains(&state.to_ascii_lowercase()) {
            continue;
        }
        if !types.is_empty() && !types.iter().any(|t| t == "share") {
            continue;
        }
        groups.push(
            ListedGroup::default()
                .with_group_id(GroupId(str_bytes(g.group_id.clone())))
                .with_protocol_type(str_bytes("share"))
                .with_group_state(str_bytes(state))
                .with_group_type(str_bytes("share")),
        );
    }
    ListGroupsResponse::default().with_groups(groups)
}
