//! DeleteGroups: only groups without members; their offsets go with them.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::group::{self, GroupState};
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: DeleteGroupsRequest,
    session: &Session,
) -> DeleteGroupsResponse {
    let now_ms = broker.clock.now_ms();
    let mut results = Vec::with_capacity(request.groups_names.len());
    // Kafka answers the groups without DELETE after the others.
    let (authorized, unauthorized): (Vec<_>, Vec<_>) = request
        .groups_names
        .into_iter()
        .partition(|g| broker.authorize_group(session, g.as_str(), AclOperation::Delete));
    for group_id in authorized {
        let deleted = match broker.groups.group(group_id.as_str()) {
            // A share group: only an empty one, and its share-partitions go with it.
            None if broker.share_groups.group(group_id.as_str()).is_some() => {
                let deleted = broker.share_groups.delete(group_id.as_str());
                if deleted.is_ok() {
                    broker.shares.group_deleted(group_id.as_str());
                }
                deleted.map(|()| group::GroupWrite::default())
            }
            None => Err(ErrorCode::GroupIdNotFound),
            Some(group) => {
                let mut group = group.lock();
                match group.state {
                    GroupState::Empty => {
                        broker
                            .groups
                            .delete_group(&broker.replicas, &mut group, now_ms)
                    }
                    GroupState::Dead => Err(ErrorCode::GroupIdNotFound),
                    _ => Err(ErrorCode::NonEmptyGroup),
                }
            }
        };
        let error = group::completed(deleted).await.err();
        results.push(
            DeletableGroupResult::default()
                .with_group_id(group_id)
                .with_error_code(error.map_or(0, |e| e.code())),
        );
    }
    for group_id in unauthorized {
        results.push(
            DeletableGroupResult::default()
                .with_group_id(group_id)
                .with_error_code(ErrorCode::GroupAuthorizationFailed.code()),
        );
    }
    DeleteGroupsResponse::default().with_results(results)
}
