//! WriteShareGroupState (KIP-932, sent by a share-partition's leader on every change it
//! must not lose): the start offset and state batches of each share-partition named,
//! fenced by leader epoch and state epoch.

use std::sync::Arc;

use kafka_protocol::messages::write_share_group_state_response::{
    PartitionResult, WriteStateResult,
};
use kafka_protocol::messages::{WriteShareGroupStateRequest, WriteShareGroupStateResponse};
use rafka_coordinator::share_state::records::StateBatch;

use super::share_state_support::{error_fields, is_empty_request};
use crate::broker::Broker;
use crate::share::persister::{StateKey, StateWrite};
use crate::txn_env::BrokerTxnEnv;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: WriteShareGroupStateRequest,
) -> WriteShareGroupStateResponse {
    let partitions = request.topics.iter().map(|t| t.partitions.len());
    if is_empty_request(&request.group_id, partitions) {
        return WriteShareGroupStateResponse::default();
    }
    let env = BrokerTxnEnv::new(broker);
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let key = StateKey::new(&request.group_id, topic.topic_id, p.partition);
            let write = StateWrite {
                state_epoch: p.state_epoch,
                leader_epoch: p.leader_epoch,
                start_offset: p.start_offset,
                state_batches: p
                    .state_batches
                    .iter()
                    .map(|b| {
                        StateBatch::new(
                            b.first_offset,
                            b.last_offset,
                            b.delivery_state,
                            b.delivery_count,
                        )
                    })
                    .collect(),
            };
            let outcome = broker.share_states.write(&env, &key, &write).await;
            let (code, message) = error_fields(outcome.err());
            partitions.push(
                PartitionResult::default()
                    .with_partition(p.partition)
                    .with_error_code(code)
                    .with_error_message(message),
            );
        }
        results.push(
            WriteStateResult::default()
                .with_topic_id(topic.topic_id)
                .with_partitions(partitions),
        );
    }
    WriteShareGroupStateResponse::default().with_results(results)
}
