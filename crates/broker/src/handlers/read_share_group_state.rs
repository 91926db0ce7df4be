//! ReadShareGroupState (KIP-932, sent by a share-partition's leader when it loads it): the
//! state epoch, start offset and state batches of each share-partition named. A reader
//! with a newer leader epoch than the last writer's is recorded; an older one is
//! FENCED_LEADER_EPOCH.

use std::sync::Arc;

use kafka_protocol::messages::read_share_group_state_response::{
    PartitionResult, ReadStateResult, StateBatch,
};
use kafka_protocol::messages::{ReadShareGroupStateRequest, ReadShareGroupStateResponse};

use super::share_state_support::{error_fields, is_empty_request};
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
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let key = StateKey::new(&request.group_id, topic.topic_id, p.partition);
            let base = PartitionResult::default().with_partition(p.partition);
            partitions.push(
                match broker.share_states.read(&env, &key, p.leader_epoch).await {
                    Ok(state) => base
                        .with_state_epoch(state.state_epoch)
                        .with_start_offset(state.start_offset)
                        .with_state_batches(
                            state
                                .state_batches
                                .iter()
                                .map(|b| {
                                    StateBatch::default()
                                        .with_first_offset(b.first_offset)
                                        .with_last_offset(b.last_offset)
                                        .with_delivery_state(b.delivery_state)
                                        .with_delivery_count(b.delivery_count)
                                })
                                .collect(),
                        ),
                    // Kafka's error answer: no state, start offset -1.
                    Err(e) => {
                        let (code, message) = error_fields(Some(e));
                        base.with_error_code(code)
                            .with_error_message(message)
                            .with_state_epoch(0)
                            .with_start_offset(-1)
                    }
                },
            );
        }
        results.push(
            ReadStateResult::default()
                .with_topic_id(topic.topic_id)
                .with_partitions(partitions),
        );
    }
    ReadShareGroupStateResponse::default().with_results(results)
}
