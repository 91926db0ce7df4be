//! DeleteGroups: only groups without members; their offsets go with them.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::group::GroupState;

pub(super) fn handle(broker: &Arc<Broker>, request: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let now_ms = broker.clock.now_ms();
    let results = request
        .groups_names
        .into_iter()
        .map(|group_id| {
            let error = match broker.groups.group(group_id.as_str()) {
                None => Some(ErrorCode::GroupIdNotFound),
                Some(group) => {
                    let mut group = group.lock();
                    match group.state {
                        GroupState::Empty => {
                            broker.groups.delete_group(broker, &mut group, now_ms).err()
                        }
                        GroupState::Dead => Some(ErrorCode::GroupIdNotFound),
                        _ => Some(ErrorCode::NonEmptyGroup),
                    }
                }
            };
            DeletableGroupResult::default()
                .with_group_id(group_id)
                .with_error_code(error.map_or(0, |e| e.code()))
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
