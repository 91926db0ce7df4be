//! OffsetFetch: a group's committed offsets, for the listed partitions or all of them;
//! one group (v1–7) or several (v8+). A partition with no commit answers offset -1. With
//! `require_stable` (v7+), a partition an open transaction holds an offset of answers
//! UNSTABLE_OFFSET_COMMIT in its own error code, in every version, as Kafka's
//! `OffsetMetadataManager.fetchOffsets`: the group's error stays NONE.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use rafka_protocol::error_code::code_of;
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;
use crate::group::CommittedOffset;
use crate::session::Session;
use rafka_security::acl::AclOperation;

type Wanted = Option<Vec<(String, Vec<i32>)>>;
/// Per topic, each partition's committed offset, or its error.
type Found = BTreeMap<String, Vec<(i32, Result<Option<CommittedOffset>, ErrorCode>)>>;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: OffsetFetchRequest,
    version: i16,
    session: &Session,
) -> OffsetFetchResponse {
    if version >= 8 {
        let groups = request
            .groups
            .iter()
            .map(|g| {
                let wanted: Wanted = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                        .collect()
                });
                if !broker.authorize_group(session, g.group_id.as_str(), AclOperation::Describe) {
                    return OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id.clone())
                        .with_error_code(ErrorCode::GroupAuthorizationFailed.code());
                }
                if let Err(e) = broker
                    .groups
                    .check_coordinator(&broker.replicas, g.group_id.as_str())
                {
                    return OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id.clone())
                        .with_error_code(e.code());
                }
                let all_topics = wanted.is_none();
                let mut found = lookup(
                    broker,
                    g.group_id.as_str(),
                    wanted,
                    true,
                    request.require_stable,
                );
                authorize_topics(broker, session, &mut found, all_topics);
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_topics(
                        found
                            .into_iter()
                            .map(|(topic, partitions)| {
                                OffsetFetchResponseTopics::default()
                                    .with_name(TopicName(str_bytes(topic)))
                                    .with_partitions(
                                        partitions
                                            .into_iter()
                                            .map(|(index, o)| {
                                                let (offset, epoch, metadata, error) = fields(o);
                                                OffsetFetchResponsePartitions::default()
                                                    .with_partition_index(index)
                                                    .with_committed_offset(offset)
                                                    .with_committed_leader_epoch(epoch)
                                                    .with_metadata(Some(str_bytes(metadata)))
                                                    .with_error_code(code_of(error))
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    )
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let wanted: Wanted = request.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    // Not the coordinator (or no DESCRIBE on the group): v2+ says so at the top, v1 on
    // every partition asked for.
    let refused =
        if broker.authorize_group(session, request.group_id.as_str(), AclOperation::Describe) {
            broker
                .groups
                .check_coordinator(&broker.replicas, request.group_id.as_str())
                .err()
        } else {
            Some(ErrorCode::GroupAuthorizationFailed)
        };
    let all_topics = wanted.is_none();
    if let (Some(e), true) = (refused, version >= 2) {
        return OffsetFetchResponse::default().with_error_code(e.code());
    }
    // (v1's refusal lists the partitions asked for, with no offsets from this broker.)
    let mut found = lookup(
        broker,
        request.group_id.as_str(),
        wanted,
        refused.is_none(),
        request.require_stable,
    );
    authorize_topics(broker, session, &mut found, all_topics);
    OffsetFetchResponse::default().with_topics(
        found
            .into_iter()
            .map(|(topic, partitions)| {
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(str_bytes(topic)))
                    .with_partitions(
                        partitions
                            .into_iter()
                            .map(|(index, o)| {
                                let (offset, epoch, metadata, error) = fields(o);
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(index)
                                    .with_committed_offset(offset)
                                    .with_committed_leader_epoch(epoch)
                                    .with_metadata(Some(str_bytes(metadata)))
                                    .with_error_code(code_of(refused.or(error)))
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// Kafka's DESCRIBE check of the topics: asked for all, the group's offsets of topics
/// the principal may not describe are left out; asked for by name, they are answered
/// TOPIC_AUTHORIZATION_FAILED.
fn authorize_topics(broker: &Broker, session: &Session, found: &mut Found, all_topics: bool) {
    if !broker.authorizer_enabled() {
        return;
    }
    found.retain(|topic, partitions| {
        if broker.authorize_topic(session, topic, AclOperation::Describe) {
            return true;
        }
        for (_, answer) in partitions.iter_mut() {
            *answer = Err(ErrorCode::TopicAuthorizationFailed);
        }
        !all_topics
    });
}

/// (offset, leader epoch, metadata, error) of one partition's answer: an error answers
/// no offset.
fn fields(o: Result<Option<CommittedOffset>, ErrorCode>) -> (i64, i32, String, Option<ErrorCode>) {
    match o {
        Ok(Some(o)) => (o.offset, o.leader_epoch, o.metadata, None),
        Ok(None) => (-1, -1, String::new(), None),
        Err(e) => (-1, -1, String::new(), Some(e)),
    }
}

/// The committed offsets of `wanted` (all the committed ones when `None`); with
/// `coordinator` false, none.
fn lookup(
    broker: &Broker,
    group_id: &str,
    wanted: Wanted,
    coordinator: bool,
    require_stable: bool,
) -> Found {
    let mut found: Found = BTreeMap::new();
    let group = broker.groups.group(group_id).filter(|_| coordinator);
    let group = group.as_ref().map(|g| g.lock());
    let fetch = |key: &(String, i32)| match &group {
        Some(g) => g.fetch_offset(key, require_stable).map(|o| o.cloned()),
        None => Ok(None),
    };
    match wanted {
        None => {
            let keys: Vec<(String, i32)> = group
                .as_ref()
                .map(|g| g.offsets.keys().cloned().collect())
                .unwrap_or_default();
            for key in keys {
                let o = fetch(&key);
                found.entry(key.0).or_default().push((key.1, o));
            }
        }
        Some(wanted) => {
            for (topic, partitions) in wanted {
                let mut answers = Vec::with_capacity(partitions.len());
                for partition in partitions {
                    answers.push((partition, fetch(&(topic.clone(), partition))));
                }
                found.entry(topic).or_default().extend(answers);
            }
        }
    }
    found
}
