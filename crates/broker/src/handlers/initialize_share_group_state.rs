//! InitializeShareGroupState (KIP-932, sent by share-partition leaders): a new state for
//! each share-partition named, at the given state epoch and start offset, in
//! `__share_group_state` through the share coordinator.

use std::sync::Arc;

use kafka_protocol::messages::initialize_share_group_state_response::{
    InitializeStateResult, PartitionResult,
};
use kafka_protocol::messages::{
    InitializeShareGroupStateRequest, InitializeShareGroupStateResponse,
};

use super::share_state_support::{error_fields, grouped, is_empty_request, partitions_of};
use crate::broker::Broker;
use crate::share::persister::StateKey;
use crate::txn_env::BrokerTxnEnv;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: InitializeShareGroupStateRequest,
) -> InitializeShareGroupStateResponse {
    let partitions = request.topics.iter().map(|t| t.partitions.len());
    if is_empty_request(&request.group_id, partitions) {
        return InitializeShareGroupStateResponse::default();
    }
    let env = BrokerTxnEnv::new(broker);
    let mut answers = Vec::new();
    for (topic_id, p) in partitions_of(&request.topics, |t| (t.topic_id, &t.partitions[..])) {
        let key = StateKey::new(&request.group_id, topic_id, p.partition);
        let outcome = broker
            .share_states
            .initialize(&env, &key, p.state_epoch, p.start_offset)
            .await;
        let (code, message) = error_fields(outcome.err());
        let result = PartitionResult::default()
            .with_partition(p.partition)
            .with_error_code(code)
            .with_error_message(message);
        answers.push((topic_id, result));
    }
    let results = grouped(answers).into_iter().map(|(topic_id, partitions)| {
        InitializeStateResult::default()
            .with_topic_id(topic_id)
            .with_partitions(partitions)
    });
    InitializeShareGroupStateResponse::default().with_results(results.collect())
}

super::share_state_support::refuse_without_cluster_action!(
    InitializeShareGroupStateRequest,
    InitializeShareGroupStateResponse,
    InitializeStateResult,
    PartitionResult
);
