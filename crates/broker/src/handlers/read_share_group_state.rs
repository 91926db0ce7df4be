//! ReadShareGroupState (KIP-932, sent by a share-partition's leader when it loads it): the
//! state epoch, start offset and state batches of each share-partition named. A reader
//! with a newer leader epoch than the last writer's is recorded; an older one is
//! FENCED_LEADER_EPOCH.

use std::sync::Arc;

use kafka_protocol::messages::read_share_group_state_response::{
    PartitionResult, ReadStateResult, StateBatch,
};
use kafka_protocol::messages::{ReadShareGroupStateRequest, ReadShareGroupStateResponse};

use super::share_state_support::{error_fields, grouped, is_empty_request, partitions_of};
use crate::broker::Broker;
use crate::share::persister::StateKey;
use crate::txn_env::BrokerTxnEnv;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: ReadShareGroupStateRequest,
) -> ReadShareGroupStateResponse {
    let partitions = request.topics.iter().map(|t| t.partitions.len());
    if is_empty_request(&request.group_id, partitions) {
        return ReadShareGroupStateResponse::default();
    }
    let env = BrokerTxnEnv::new(broker);
    let mut answers = Vec::new();
    for (topic_id, p) in partitions_of(&request.topics, |t| (t.topic_id, &t.partitions[..])) {
        let key = StateKey::new(&request.group_id, topic_id, p.partition);
        let base = PartitionResult::default().with_partition(p.partition);
        let result = match broker.share_states.read(&env, &key, p.leader_epoch).await {
            Ok(state) => {
                let batches = state.state_batches.iter().map(|b| {
                    StateBatch::default()
                        .with_first_offset(b.first_offset)
                        .with_last_offset(b.last_offset)
                        .with_delivery_state(b.delivery_state)
                        .with_delivery_count(b.delivery_count)
                });
                base.with_state_epoch(state.state_epoch)
                    .with_start_offset(state.start_offset)
                    .with_state_batches(batches.collect())
            }
            // Kafka's error answer: no state, start offset -1.
            Err(e) => {
                let (code, message) = error_fields(Some(e));
                base.with_error_code(code)
                    .with_error_message(message)
                    .with_start_offset(-1)
            }
        };
        answers.push((topic_id, result));
    }
    let results = grouped(answers).into_iter().map(|(topic_id, partitions)| {
        ReadStateResult::default()
            .with_topic_id(topic_id)
            .with_partitions(partitions)
    });
    ReadShareGroupStateResponse::default().with_results(results.collect())
}

super::share_state_support::refuse_without_cluster_action!(
    ReadShareGroupStateRequest,
    ReadShareGroupStateResponse,
    ReadStateResult,
    PartitionResult
);
