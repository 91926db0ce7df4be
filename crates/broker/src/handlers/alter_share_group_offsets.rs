//! AlterShareGroupOffsets (KIP-932): new start offsets for an empty share group's
//! share-partitions, written through the share coordinator (InitializeShareGroupState),
//! as Kafka 4.2's `GroupCoordinatorService.alterShareGroupOffsets` and
//! `KafkaApis.handleAlterShareGroupOffsetsRequest` do (4.1 dropped the top-level error
//! of a refused request; 4.2 answers it, which `kafka-share-groups.sh --reset-offsets`
//! reports):
//! - group READ, else a top-level GROUP_AUTHORIZATION_FAILED;
//! - a topic without READ: its partitions TOPIC_AUTHORIZATION_FAILED; an unknown topic or
//!   partition: UNKNOWN_TOPIC_OR_PARTITION;
//! - an empty group id: INVALID_GROUP_ID; not the group's coordinator: NOT_COORDINATOR;
//!   a classic or consumer group of that id: GROUP_ID_NOT_FOUND; a group with members:
//!   NON_EMPTY_GROUP ("The group is not empty."); a share group that does not exist yet
//!   is created (empty), as Kafka 4.2 does.
//!
//! Each share-partition's state is initialized anew at a state epoch above the one it
//! had (Kafka writes the group epoch; rafka takes the larger of the two, so that two
//! alterations in a row still fence the share-partition's leader): a leader that still
//! holds the old state is fenced on its next write (FENCED_STATE_EPOCH) and reads the
//! new start offset; one on this broker forgets it at once.

use std::sync::Arc;

use kafka_protocol::messages::alter_share_group_offsets_response::{
    AlterShareGroupOffsetsResponsePartition as ResponsePartition,
    AlterShareGroupOffsetsResponseTopic as ResponseTopic,
};
use kafka_protocol::messages::{AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse};
use rafka_protocol::ErrorCode;
use rafka_security::acl::AclOperation;

use super::str_bytes;
use crate::broker::Broker;
use crate::session::Session;
use crate::share::persister::{Persister, StateKey};
use crate::share_persister::BrokerPersister;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: AlterShareGroupOffsetsRequest,
    session: &Session,
) -> AlterShareGroupOffsetsResponse {
    let group_id = request.group_id.to_string();
    if !broker.authorize_group(session, &group_id, AclOperation::Read) {
        return refused(ErrorCode::GroupAuthorizationFailed);
    }
    let mut responses: Vec<ResponseTopic> = Vec::new();
    let partition_error = |index: i32, code: ErrorCode| {
        ResponsePartition::default()
            .with_partition_index(index)
            .with_error_code(code.code())
            .with_error_message(Some(str_bytes(code.description())))
    };
    // (topic name, topic id, [(partition, start offset)]) that pass the topic checks.
    let mut wanted = Vec::new();
    for topic in request.topics {
        let known = broker.topic(topic.topic_name.as_str());
        let refusal =
            if !broker.authorize_topic(session, topic.topic_name.as_str(), AclOperation::Read) {
                Some(ErrorCode::TopicAuthorizationFailed)
            } else if known.is_none() {
                Some(ErrorCode::UnknownTopicOrPartition)
            } else {
                None
            };
        match (refusal, known) {
            (None, Some(t)) => wanted.push((topic, t)),
            (refusal, known) => {
                let code = refusal.unwrap_or(ErrorCode::UnknownTopicOrPartition);
                let partitions = topic
                    .partitions
                    .iter()
                    .map(|p| partition_error(p.partition_index, code));
                topic_entry(
                    &mut responses,
                    &topic.topic_name,
                    known.map(|t| t.topic_id).unwrap_or_default(),
                )
                .partitions
                .extend(partitions);
            }
        }
    }
    if group_id.is_empty() {
        return refused(ErrorCode::InvalidGroupId);
    }
    if let Err(code) = broker.groups.check_coordinator(&broker.replicas, &group_id) {
        return refused(code);
    }
    if broker.groups.group(&group_id).is_some() {
        return refused_with(
            ErrorCode::GroupIdNotFound,
            format!("Group {group_id} is not a share group."),
        );
    }
    let group = broker.share_groups.group_or_create(&group_id);
    let group_epoch = {
        let group = group.lock();
        if let Err(code) = group.validate_empty() {
            return refused(code);
        }
        group.group_epoch
    };
    let persister = BrokerPersister::new(broker);
    for (topic, known) in wanted {
        let mut answers = Vec::with_capacity(topic.partitions.len());
        let mut initialized = Vec::new();
        for p in &topic.partitions {
            let index = p.partition_index;
            if index < 0 || index >= known.partition_count() {
                answers.push(partition_error(index, ErrorCode::UnknownTopicOrPartition));
                continue;
            }
            let key = StateKey::new(&group_id, known.topic_id, index);
            match initialize(&persister, key, group_epoch, p.start_offset).await {
                Ok(()) => {
                    broker.shares.forget(&group_id, known.topic_id, index);
                    initialized.push(index);
                    answers.push(ResponsePartition::default().with_partition_index(index));
                }
                Err(e) => {
                    tracing::warn!(
                        "cannot alter the start offset of {group_id}:{}:{index}: {e:?}",
                        known.name
                    );
                    answers.push(partition_error(index, e.code));
                }
            }
        }
        let write = {
            let mut group = group.lock();
            group.mark_initialized(known.topic_id, initialized.iter().copied());
            let topics = broker.replicas.topic_infos();
            broker
                .share_groups
                .persist(&broker.groups, &broker.replicas, &mut group, &topics)
        };
        if let Err(code) = crate::group::completed(write).await {
            tracing::warn!("cannot store share group {group_id}'s altered partitions: {code:?}");
        }
        topic_entry(&mut responses, &topic.topic_name, known.topic_id)
            .partitions
            .extend(answers);
    }
    // A group created here that nothing was initialized for is none.
    broker.share_groups.forget_unborn(&group_id);
    AlterShareGroupOffsetsResponse::default().with_responses(responses)
}

/// Writes the share-partition's new start offset at a state epoch above its current one.
async fn initialize(
    persister: &BrokerPersister,
    key: StateKey,
    group_epoch: i32,
    start_offset: i64,
) -> Result<(), crate::share::persister::StateError> {
    let current = persister.read_summary(key.clone()).await?;
    let state_epoch = group_epoch.max(current.state_epoch.saturating_add(1));
    persister.initialize(key, state_epoch, start_offset).await
}

/// The response's entry of a topic (Kafka's builder keeps one per name).
fn topic_entry<'a>(
    responses: &'a mut Vec<ResponseTopic>,
    name: &kafka_protocol::messages::TopicName,
    topic_id: uuid::Uuid,
) -> &'a mut ResponseTopic {
    let at = match responses.iter().position(|t| &t.topic_name == name) {
        Some(at) => at,
        None => {
            responses.push(
                ResponseTopic::default()
                    .with_topic_name(name.clone())
                    .with_topic_id(topic_id),
            );
            responses.len() - 1
        }
    };
    &mut responses[at]
}

/// A refused request: the top-level error with Kafka's default message, no topics.
fn refused(code: ErrorCode) -> AlterShareGroupOffsetsResponse {
    refused_with(code, code.description().to_string())
}

fn refused_with(code: ErrorCode, message: String) -> AlterShareGroupOffsetsResponse {
    AlterShareGroupOffsetsResponse::default()
        .with_error_code(code.code())
        .with_error_message(Some(str_bytes(message)))
}
