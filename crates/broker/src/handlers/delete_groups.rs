//! DeleteGroups: only groups without members; their offsets go with them, and a share
//! group's share-partition state (DeleteShareGroupState) with it.

use std::sync::Arc;

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::group::{self, GroupState};
use crate::session::Session;
use crate::share::persister::{Persister, StateKey};
use crate::share_persister::BrokerPersister;
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
            // A share group: only an empty one; its state goes first, then the group.
            None if broker.share_groups.group(group_id.as_str()).is_some() => {
                delete_share_group(broker, group_id.as_str()).await
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

/// Deletes an empty share group: the state of every share-partition it may have (the
/// partitions of the topics it was ever assigned, and those loaded here) through the
/// share coordinator (DeleteShareGroupState), then the group. A state that cannot be
/// deleted fails the deletion with the coordinator's error, the group kept.
async fn delete_share_group(
    broker: &Arc<Broker>,
    group_id: &str,
) -> Result<group::GroupWrite, ErrorCode> {
    let Some(group) = broker.share_groups.group(group_id) else {
        return Err(ErrorCode::GroupIdNotFound);
    };
    let mut partitions: std::collections::BTreeSet<(uuid::Uuid, i32)> = {
        let group = group.lock();
        if !group.members.is_empty() {
            return Err(ErrorCode::NonEmptyGroup);
        }
        group
            .assigned_topics()
            .iter()
            .flat_map(|(topic_id, count)| (0..*count).map(move |p| (*topic_id, p)))
            .collect()
    };
    partitions.extend(broker.shares.group_deleted(group_id));
    let persister = BrokerPersister::new(broker);
    for (topic_id, partition) in partitions {
        if broker.topic_by_id(&topic_id).is_none() {
            continue;
        }
        let key = StateKey::new(group_id, topic_id, partition);
        if let Err(e) = persister.delete(key).await {
            tracing::warn!("cannot delete the state of {group_id}:{topic_id}:{partition}: {e:?}");
            return Err(e.code);
        }
    }
    broker
        .share_groups
        .delete(&broker.groups, &broker.replicas, group_id)
}
