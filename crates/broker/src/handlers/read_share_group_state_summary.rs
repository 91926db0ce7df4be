//! ReadShareGroupStateSummary (KIP-932): the state epoch, leader epoch and start offset of
//! each share-partition named, what DescribeShareGroupOffsets shows; a share-partition
//! without state answers start offset -1.

use std::sync::Arc;

use kafka_protocol::messages::read_share_group_state_summary_response::{
    PartitionResult, ReadStateSummaryResult,
};
use kafka_protocol::messages::{
    ReadShareGroupStateSummaryRequest, ReadShareGroupStateSummaryResponse,
};

use super::share_state_support::{error_fields, is_empty_request};
use crate::broker::Broker;
use crate::share::persister::StateKey;
use crate::txn_env::BrokerTxnEnv;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: ReadShareGroupStateSummaryRequest,
) -> ReadShareGroupStateSummaryResponse {
    let partitions = request.topics.iter().map(|t| t.partitions.len());
    if is_empty_request(&request.group_id, partitions) {
        return ReadShareGroupStateSummaryResponse::default();
    }
    let env = BrokerTxnEnv::new(broker);
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let key = StateKey::new(&request.group_id, topic.topic_id, p.partition);
            let base = PartitionResult::default().with_partition(p.partition);
            partitions.push(match broker.share_states.read_summary(&env, &key) {
                Ok(summary) => base
                    .with_state_epoch(summary.state_epoch)
                    .with_leader_epoch(summary.leader_epoch)
                    .with_start_offset(summary.start_offset),
                Err(e) => {
                    let (code, message) = error_fields(Some(e));
                    base.with_error_code(code)
                        .with_error_message(message)
                        .with_start_offset(-1)
                }
            });
        }
        results.push(
            ReadStateSummaryResult::default()
                .with_topic_id(topic.topic_id)
                .with_partitions(partitions),
        );
    }
    ReadShareGroupStateSummaryResponse::default().with_results(results)
}
