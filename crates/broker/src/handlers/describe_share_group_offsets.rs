//! DescribeShareGroupOffsets (KIP-932): each share-partition's start offset and leader
//! epoch, read from the share coordinator (ReadShareGroupStateSummary), as Kafka's
//! `GroupCoordinatorService.describeShareGroupOffsets` / `describeShareGroupAllOffsets`
//! and `KafkaApis.handleDescribeShareGroupOffsetsRequest` answer:
//! - group DESCRIBE, else GROUP_AUTHORIZATION_FAILED for that group;
//! - named topics: a topic without DESCRIBE answers its partitions
//!   TOPIC_AUTHORIZATION_FAILED (after the others); an unknown topic answers start
//!   offset -1, no error, as OffsetFetch does;
//! - no topics named (null): the share-partitions the group has state for, without the
//!   topics the principal may not describe; this form asks the group's coordinator
//!   (NOT_COORDINATOR elsewhere);
//! - a share-partition the share coordinator cannot answer for shows start offset -1
//!   and leader epoch 0, without error: "absence of data, rather than an error".

use std::sync::Arc;

use kafka_protocol::messages::describe_share_group_offsets_request::{
    DescribeShareGroupOffsetsRequestGroup, DescribeShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::describe_share_group_offsets_response::{
    DescribeShareGroupOffsetsResponseGroup as ResponseGroup,
    DescribeShareGroupOffsetsResponsePartition as ResponsePartition,
    DescribeShareGroupOffsetsResponseTopic as ResponseTopic,
};
use kafka_protocol::messages::{
    DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse, TopicName,
};
use rafka_protocol::ErrorCode;
use rafka_security::acl::AclOperation;

use super::str_bytes;
use crate::broker::Broker;
use crate::session::Session;
use crate::share::persister::StateKey;
use crate::share_persister::BrokerPersister;

/// Kafka's `PartitionFactory.UNINITIALIZED_START_OFFSET` and `DEFAULT_LEADER_EPOCH`.
const UNINITIALIZED_START_OFFSET: i64 = -1;
const DEFAULT_LEADER_EPOCH: i32 = 0;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: DescribeShareGroupOffsetsRequest,
    session: &Session,
) -> DescribeShareGroupOffsetsResponse {
    let mut groups = Vec::with_capacity(request.groups.len());
    for group in request.groups {
        groups.push(describe_group(broker, group, session).await);
    }
    DescribeShareGroupOffsetsResponse::default().with_groups(groups)
}

async fn describe_group(
    broker: &Arc<Broker>,
    group: DescribeShareGroupOffsetsRequestGroup,
    session: &Session,
) -> ResponseGroup {
    let group_id = group.group_id.to_string();
    let base = ResponseGroup::default().with_group_id(group.group_id.clone());
    if !broker.authorize_group(session, &group_id, AclOperation::Describe) {
        return base.with_error_code(ErrorCode::GroupAuthorizationFailed.code());
    }
    match group.topics {
        None => match describe_all(broker, &group_id, session).await {
            Ok(topics) => base.with_topics(topics),
            Err(code) => base
                .with_error_code(code.code())
                .with_error_message(Some(str_bytes(code.description()))),
        },
        Some(topics) if topics.is_empty() => base,
        Some(topics) => base.with_topics(describe_named(broker, &group_id, topics, session).await),
    }
}

/// The named topics' partitions: unknown topics first, then the known ones, then those
/// the principal may not describe (Kafka's order).
async fn describe_named(
    broker: &Arc<Broker>,
    group_id: &str,
    topics: Vec<DescribeShareGroupOffsetsRequestTopic>,
    session: &Session,
) -> Vec<ResponseTopic> {
    let (authorized, unauthorized): (Vec<_>, Vec<_>) = topics.into_iter().partition(|t| {
        broker.authorize_topic(session, t.topic_name.as_str(), AclOperation::Describe)
    });
    let mut unknown = Vec::new();
    let mut known = Vec::new();
    for topic in authorized {
        match broker.topic(topic.topic_name.as_str()) {
            None => unknown.push(without_offsets(topic, None)),
            Some(t) => {
                known.push(
                    summaries(
                        broker,
                        group_id,
                        t.topic_id,
                        topic.topic_name.clone(),
                        &topic.partitions,
                    )
                    .await,
                );
            }
        }
    }
    let denied = unauthorized
        .into_iter()
        .map(|topic| without_offsets(topic, Some(ErrorCode::TopicAuthorizationFailed)));
    unknown.into_iter().chain(known).chain(denied).collect()
}

/// A named topic's partitions without start offsets (-1), with `error` if any.
fn without_offsets(
    topic: DescribeShareGroupOffsetsRequestTopic,
    error: Option<ErrorCode>,
) -> ResponseTopic {
    let partitions = topic.partitions.iter().map(|p| {
        let partition = ResponsePartition::default()
            .with_partition_index(*p)
            .with_start_offset(UNINITIALIZED_START_OFFSET);
        match error {
            None => partition,
            Some(code) => partition
                .with_error_code(code.code())
                .with_error_message(Some(str_bytes(code.description()))),
        }
    });
    ResponseTopic::default()
        .with_topic_name(topic.topic_name)
        .with_partitions(partitions.collect())
}

/// Every share-partition the group has state for, of the topics that still exist and
/// the principal may describe; none for a group that is not a share group.
async fn describe_all(
    broker: &Arc<Broker>,
    group_id: &str,
    session: &Session,
) -> Result<Vec<ResponseTopic>, ErrorCode> {
    broker
        .groups
        .check_coordinator(&broker.replicas, group_id)?;
    let initialized: Vec<(uuid::Uuid, Vec<i32>)> = match broker.share_groups.group(group_id) {
        None => Vec::new(),
        Some(group) => group
            .lock()
            .initialized_partitions()
            .iter()
            .map(|(topic_id, partitions)| (*topic_id, partitions.iter().copied().collect()))
            .collect(),
    };
    let mut topics = Vec::with_capacity(initialized.len());
    for (topic_id, partitions) in initialized {
        let Some(topic) = broker.topic_by_id(&topic_id) else {
            continue;
        };
        if !broker.authorize_topic(session, &topic.name, AclOperation::Describe) {
            continue;
        }
        let name = TopicName(str_bytes(topic.name.to_string()));
        topics.push(summaries(broker, group_id, topic_id, name, &partitions).await);
    }
    Ok(topics)
}

/// One topic's partitions as the share coordinator summarizes them.
async fn summaries(
    broker: &Arc<Broker>,
    group_id: &str,
    topic_id: uuid::Uuid,
    name: TopicName,
    partitions: &[i32],
) -> ResponseTopic {
    let persister = BrokerPersister::new(broker);
    let mut answers = Vec::with_capacity(partitions.len());
    for &partition in partitions {
        let key = StateKey::new(group_id, topic_id, partition);
        let base = ResponsePartition::default().with_partition_index(partition);
        answers.push(match persister.read_summary(key).await {
            Ok(summary) => base
                .with_start_offset(summary.start_offset)
                .with_leader_epoch(summary.leader_epoch),
            Err(e) => {
                tracing::debug!(
                    "no share state summary of {group_id}:{topic_id}:{partition}: {e:?}"
                );
                base.with_start_offset(UNINITIALIZED_START_OFFSET)
                    .with_leader_epoch(DEFAULT_LEADER_EPOCH)
            }
        });
    }
    ResponseTopic::default()
        .with_topic_name(name)
        .with_topic_id(topic_id)
        .with_partitions(answers)
}
