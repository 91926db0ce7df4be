//! DescribeProducers: each partition's active producers, from the log's producer state.

use std::sync::Arc;

use kafka_protocol::messages::describe_producers_response::{
    PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DescribeProducersRequest,
) -> DescribeProducersResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let partitions = topic
                .partition_indexes
                .iter()
                .map(|&index| {
                    let base = PartitionResponse::default().with_partition_index(index);
                    let Some(partition) = broker.partition(topic.name.as_str(), index) else {
                        let code = if broker.topic(topic.name.as_str()).is_some() {
                            ErrorCode::NotLeaderOrFollower
                        } else {
                            ErrorCode::UnknownTopicOrPartition
                        };
                        return base.with_error_code(code.code());
                    };
                    let producers = partition
                        .with_log(|log| log.producer_entries())
                        .into_iter()
                        .map(|(id, entry)| {
                            ProducerState::default()
                                .with_producer_id(ProducerId(id))
                                .with_producer_epoch(i32::from(entry.producer_epoch))
                                .with_last_sequence(entry.last_seq())
                                .with_last_timestamp(entry.last_timestamp)
                                .with_coordinator_epoch(entry.coordinator_epoch)
                                .with_current_txn_start_offset(
                                    entry.current_txn_first_offset.unwrap_or(-1),
                                )
                        })
                        .collect();
                    base.with_active_producers(producers)
                })
                .collect();
            TopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}
