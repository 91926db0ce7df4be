//! DeleteShareGroupOffsets (KIP-932): an empty share group forgets where it is in some
//! topics; their share-partitions' state is deleted through the share coordinator
//! (DeleteShareGroupState), as Kafka's `GroupCoordinatorService.deleteShareGroupOffsets`
//! and `KafkaApis.handleDeleteShareGroupOffsetsRequest` do:
//! - group DELETE, else a top-level GROUP_AUTHORIZATION_FAILED;
//! - a topic without READ: TOPIC_AUTHORIZATION_FAILED (first in the answer);
//! - an empty group id: INVALID_GROUP_ID; not the group's coordinator: NOT_COORDINATOR;
//!   no share group of that id: GROUP_ID_NOT_FOUND ("Group g not found." / "Group g is
//!   not a share group."); a group with members: NON_EMPTY_GROUP;
//! - an unknown topic: UNKNOWN_TOPIC_OR_PARTITION; a topic the group has no state for:
//!   UNKNOWN_TOPIC_OR_PARTITION "There is no offset information to delete."; a state the
//!   share coordinator cannot delete: its error for the topic, which keeps its state
//!   (a retry deletes it).
//!
//! The next member assigned the topic starts it again from `share.auto.offset.reset`.

use std::sync::Arc;

use kafka_protocol::messages::delete_share_group_offsets_response::DeleteShareGroupOffsetsResponseTopic as ResponseTopic;
use kafka_protocol::messages::{DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse};
use rafka_protocol::ErrorCode;
use rafka_security::acl::AclOperation;

use super::str_bytes;
use crate::broker::Broker;
use crate::session::Session;
use crate::share::persister::{Persister, StateKey};
use crate::share_persister::BrokerPersister;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: DeleteShareGroupOffsetsRequest,
    session: &Session,
) -> DeleteShareGroupOffsetsResponse {
    let group_id = request.group_id.to_string();
    if !broker.authorize_group(session, &group_id, AclOperation::Delete) {
        return refused(
            ErrorCode::GroupAuthorizationFailed,
            ErrorCode::GroupAuthorizationFailed.description().into(),
        );
    }
    let topic_error = |name, code: ErrorCode, message: &str| {
        ResponseTopic::default()
            .with_topic_name(name)
            .with_error_code(code.code())
            .with_error_message(Some(str_bytes(message)))
    };
    let (authorized, unauthorized): (Vec<_>, Vec<_>) = request
        .topics
        .into_iter()
        .map(|t| t.topic_name)
        .partition(|name| broker.authorize_topic(session, name.as_str(), AclOperation::Read));
    let mut responses: Vec<ResponseTopic> = unauthorized
        .into_iter()
        .map(|name| {
            let code = ErrorCode::TopicAuthorizationFailed;
            topic_error(name, code, code.description())
        })
        .collect();
    if authorized.is_empty() {
        return DeleteShareGroupOffsetsResponse::default().with_responses(responses);
    }
    if group_id.is_empty() {
        let code = ErrorCode::InvalidGroupId;
        return refused(code, code.description().into());
    }
    if let Err(code) = broker.groups.check_coordinator(&broker.replicas, &group_id) {
        return refused(code, code.description().into());
    }
    let Some(group) = broker.share_groups.group(&group_id) else {
        let message = if broker.groups.group(&group_id).is_some() {
            format!("Group {group_id} is not a share group.")
        } else {
            format!("Group {group_id} not found.")
        };
        return refused(ErrorCode::GroupIdNotFound, message);
    };
    // (name, topic id, partitions with state)
    let mut eligible = Vec::new();
    let mut errors = Vec::new();
    {
        let group = group.lock();
        if let Err(code) = group.validate_empty() {
            return refused(code, code.description().into());
        }
        for name in authorized {
            let Some(topic) = broker.topic(name.as_str()) else {
                let code = ErrorCode::UnknownTopicOrPartition;
                errors.push(topic_error(name, code, code.description()));
                continue;
            };
            match group.initialized_partitions().get(&topic.topic_id) {
                Some(partitions) => {
                    eligible.push((name, topic.topic_id, partitions.clone()));
                }
                None => errors.push(topic_error(
                    name,
                    ErrorCode::UnknownTopicOrPartition,
                    "There is no offset information to delete.",
                )),
            }
        }
    }
    let persister = BrokerPersister::new(broker);
    let mut deleted = Vec::new();
    for (name, topic_id, partitions) in eligible {
        let mut failure = None;
        for partition in partitions {
            broker.shares.forget(&group_id, topic_id, partition);
            let key = StateKey::new(&group_id, topic_id, partition);
            if let Err(e) = persister.delete(key).await {
                tracing::warn!("cannot delete the state of {group_id}:{name:?}:{partition}: {e:?}");
                failure = Some(e.code);
                break;
            }
        }
        match failure {
            None => {
                let write = {
                    let mut group = group.lock();
                    group.forget_initialized(&topic_id);
                    let topics = broker.replicas.topic_infos();
                    broker.share_groups.persist(
                        &broker.groups,
                        &broker.replicas,
                        &mut group,
                        &topics,
                    )
                };
                if let Err(code) = crate::group::completed(write).await {
                    tracing::warn!(
                        "cannot store share group {group_id}'s deleted offsets: {code:?}"
                    );
                }
                deleted.push(
                    ResponseTopic::default()
                        .with_topic_name(name)
                        .with_topic_id(topic_id),
                );
            }
            Some(code) => {
                errors.push(topic_error(name, code, code.description()).with_topic_id(topic_id))
            }
        }
    }
    responses.extend(deleted);
    responses.extend(errors);
    DeleteShareGroupOffsetsResponse::default().with_responses(responses)
}

/// A refused request: the top-level error, no topics.
fn refused(code: ErrorCode, message: String) -> DeleteShareGroupOffsetsResponse {
    DeleteShareGroupOffsetsResponse::default()
        .with_error_code(code.code())
        .with_error_message(Some(str_bytes(message)))
}
