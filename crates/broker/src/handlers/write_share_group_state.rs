//! WriteShareGroupState (KIP-932, sent by a share-partition's leader on every change it
//! must not lose): the start offset and state batches of each share-partition named,
//! fenced by leader epoch and state epoch.

use std::sync::Arc;

use kafka_protocol::messages::write_share_group_state_response::{
    PartitionResult, WriteStateResult,
};
use kafka_protocol::messages::{WriteShareGroupStateRequest, WriteShareGroupStateResponse};
use rafka_coordinator::share_state::records::StateBatch;

use super::share_state_support::{error_fields, grouped, is_empty_request, partitions_of};
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
    let mut answers = Vec::new();
    for (topic_id, p) in partitions_of(&request.topics, |t| (t.topic_id, &t.partitions[..])) {
        let key = StateKey::new(&request.group_id, topic_id, p.partition);
        let batches = p.state_batches.iter().map(|b| {
            StateBatch::new(
                b.first_offset,
                b.last_offset,
                b.delivery_state,
                b.delivery_count,
            )
        });
        let write = StateWrite {
            state_epoch: p.state_epoch,
            leader_epoch: p.leader_epoch,
            start_offset: p.start_offset,
            state_batches: batches.collect(),
        };
        let outcome = broker.share_states.write(&env, &key, &write).await;
        let (code, message) = error_fields(outcome.err());
        let result = PartitionResult::default()
            .with_partition(p.partition)
            .with_error_code(code)
            .with_error_message(message);
        answers.push((topic_id, result));
    }
    let results = grouped(answers).into_iter().map(|(topic_id, partitions)| {
        WriteStateResult::default()
            .with_topic_id(topic_id)
            .with_partitions(partitions)
    });
    WriteShareGroupStateResponse::default().with_results(results.collect())
}

super::share_state_support::refuse_without_cluster_action!(
    WriteShareGroupStateRequest,
    WriteShareGroupStateResponse,
    WriteStateResult,
    PartitionResult
);
