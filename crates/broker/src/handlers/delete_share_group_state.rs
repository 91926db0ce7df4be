//! DeleteShareGroupState (KIP-932): the state of each share-partition named goes (a
//! tombstone in `__share_group_state`); one without state is no error.

use std::sync::Arc;

use kafka_protocol::messages::delete_share_group_state_response::{
    DeleteStateResult, PartitionResult,
};
use kafka_protocol::messages::{DeleteShareGroupStateRequest, DeleteShareGroupStateResponse};

use super::share_state_support::{error_fields, grouped, is_empty_request, partitions_of};
use crate::broker::Broker;
use crate::share::persister::StateKey;
use crate::txn_env::BrokerTxnEnv;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: DeleteShareGroupStateRequest,
) -> DeleteShareGroupStateResponse {
    let partitions = request.topics.iter().map(|t| t.partitions.len());
    if is_empty_request(&request.group_id, partitions) {
        return DeleteShareGroupStateResponse::default();
    }
    let env = BrokerTxnEnv::new(broker);
    let mut answers = Vec::new();
    for (topic_id, p) in partitions_of(&request.topics, |t| (t.topic_id, &t.partitions[..])) {
        let key = StateKey::new(&request.group_id, topic_id, p.partition);
        let (code, message) = error_fields(broker.share_states.delete(&env, &key).await.err());
        let result = PartitionResult::default()
            .with_partition(p.partition)
            .with_error_code(code)
            .with_error_message(message);
        answers.push((topic_id, result));
    }
    let results = grouped(answers).into_iter().map(|(topic_id, partitions)| {
        DeleteStateResult::default()
            .with_topic_id(topic_id)
            .with_partitions(partitions)
    });
    DeleteShareGroupStateResponse::default().with_results(results.collect())
}

super::share_state_support::refuse_without_cluster_action!(
    DeleteShareGroupStateRequest,
    DeleteShareGroupStateResponse,
    DeleteStateResult,
    PartitionResult
);
