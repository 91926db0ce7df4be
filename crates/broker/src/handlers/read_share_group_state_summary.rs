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

use super::share_state_support::{error_fields, grouped, is_empty_request, partitions_of};
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
    let answers = partitions_of(&request.topics, |t| (t.topic_id, &t.partitions[..]))
        .into_iter()
        .map(|(topic_id, p)| {
            let key = StateKey::new(&request.group_id, topic_id, p.partition);
            let base = PartitionResult::default().with_partition(p.partition);
            let result = match broker.share_states.read_summary(&env, &key) {
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
            };
            (topic_id, result)
        })
        .collect();
    let results = grouped(answers).into_iter().map(|(topic_id, partitions)| {
        ReadStateSummaryResult::default()
            .with_topic_id(topic_id)
            .with_partitions(partitions)
    });
    ReadShareGroupStateSummaryResponse::default().with_results(results.collect())
}

super::share_state_support::refuse_without_cluster_action!(
    ReadShareGroupStateSummaryRequest,
    ReadShareGroupStateSummaryResponse,
    ReadStateSummaryResult,
    PartitionResult
);
