//! ListPartitionReassignments: the moves in progress, from this broker's metadata
//! (`kafka-reassign-partitions.sh --verify / --list`).

use std::sync::Arc;

use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};

use crate::broker::Broker;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let ids = |v: &[i32]| v.iter().copied().map(BrokerId).collect::<Vec<_>>();
    let mut topics = Vec::new();
    for topic in broker.topics() {
        let wanted: Option<&Vec<i32>> = match &request.topics {
            None => None,
            Some(list) => match list.iter().find(|t| *t.name == *topic.name) {
                Some(t) => Some(&t.partition_indexes),
                None => continue,
            },
        };
        let partitions: Vec<OngoingPartitionReassignment> = topic
            .states
            .iter()
            .enumerate()
            .filter(|(i, s)| s.is_reassigning() && wanted.is_none_or(|w| w.contains(&(*i as i32))))
            .map(|(i, s)| {
                OngoingPartitionReassignment::default()
                    .with_partition_index(i as i32)
                    .with_replicas(ids(&s.replicas))
                    .with_adding_replicas(ids(&s.adding_replicas))
                    .with_removing_replicas(ids(&s.removing_replicas))
            })
            .collect();
        if !partitions.is_empty() {
            topics.push(
                OngoingTopicReassignment::default()
                    .with_name(kafka_protocol::messages::TopicName(
                        topic.name.to_string().into(),
                    ))
                    .with_partitions(partitions),
            );
        }
    }
    ListPartitionReassignmentsResponse::default().with_topics(topics)
}
