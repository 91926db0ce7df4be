//! OffsetFetch: a group's committed offsets, for the listed partitions or all of them;
//! one group (v1–7) or several (v8+). A partition with no commit answers offset -1.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};

use super::str_bytes;
use crate::broker::Broker;
use crate::group::CommittedOffset;

type Wanted = Option<Vec<(String, Vec<i32>)>>;
type Found = BTreeMap<String, Vec<(i32, Option<CommittedOffset>)>>;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: OffsetFetchRequest,
    version: i16,
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
                if let Err(e) = broker
                    .groups
                    .check_coordinator(&broker.replicas, g.group_id.as_str())
                {
                    return OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id.clone())
                        .with_error_code(e.code());
                }
                let found = lookup(broker, g.group_id.as_str(), wanted, true);
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
                                                let (offset, epoch, metadata) = fields(o);
                                                OffsetFetchResponsePartitions::default()
                                                    .with_partition_index(index)
                                                    .with_committed_offset(offset)
                                                    .with_committed_leader_epoch(epoch)
                                                    .with_metadata(Some(str_bytes(metadata)))
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
    // Not the coordinator: v2+ says so at the top, v1 on every partition asked for.
    let refused = broker
        .groups
        .check_coordinator(&broker.replicas, request.group_id.as_str())
        .err();
    if let (Some(e), true) = (refused, version >= 2) {
        return OffsetFetchResponse::default().with_error_code(e.code());
    }
    // (v1's refusal lists the partitions asked for, with no offsets from this broker.)
    let found = lookup(broker, request.group_id.as_str(), wanted, refused.is_none());
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
                                let (offset, epoch, metadata) = fields(o);
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(index)
                                    .with_committed_offset(offset)
                                    .with_committed_leader_epoch(epoch)
                                    .with_metadata(Some(str_bytes(metadata)))
                                    .with_error_code(refused.map_or(0, |e| e.code()))
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

fn fields(o: Option<CommittedOffset>) -> (i64, i32, String) {
    match o {
        Some(o) => (o.offset, o.leader_epoch, o.metadata),
        None => (-1, -1, String::new()),
    }
}

/// The committed offsets of `wanted` (all when `None`); with `coordinator` false, none.
fn lookup(broker: &Broker, group_id: &str, wanted: Wanted, coordinator: bool) -> Found {
    let offsets = broker
        .groups
        .group(group_id)
        .filter(|_| coordinator)
        .map(|g| g.lock().offsets.clone())
        .unwrap_or_default();
    let mut found: Found = BTreeMap::new();
    match wanted {
        None => {
            for ((topic, partition), o) in offsets {
                found.entry(topic).or_default().push((partition, Some(o)));
            }
        }
        Some(wanted) => {
            for (topic, partitions) in wanted {
                let entry = found.entry(topic.clone()).or_default();
                for partition in partitions {
                    entry.push((partition, offsets.get(&(topic.clone(), partition)).cloned()));
                }
            }
        }
    }
    found
}
