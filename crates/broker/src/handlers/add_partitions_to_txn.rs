//! AddPartitionsToTxn: partitions join a producer's transaction. v0–3 come from clients
//! (one transaction); v4+ from brokers, batched, with `verify_only` checks (KIP-890's
//! part 1) or, from v5, adds for a transactions-V2 producer whose batch reached a
//! partition leader first (part 2).
//! A partition unknown to the cluster fails the request: it gets
//! UNKNOWN_TOPIC_OR_PARTITION, every other partition OPERATION_NOT_ATTEMPTED.

use std::sync::Arc;

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, TopicName};
use rafka_coordinator::txn::coordinator::TopicPartition;
use rafka_coordinator::txn::version::TransactionVersion;
use rafka_protocol::ErrorCode;

use super::transactions::{coordinator, version_error};
use crate::broker::Broker;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: AddPartitionsToTxnRequest,
    version: i16,
    session: &Session,
) -> AddPartitionsToTxnResponse {
    // v4+ comes from brokers verifying for their producers: CLUSTER_ACTION.
    if version >= 4 && !broker.authorize_cluster(session, AclOperation::ClusterAction) {
        return AddPartitionsToTxnResponse::default()
            .with_error_code(ErrorCode::ClusterAuthorizationFailed.code());
    }
    if version < 4 {
        let results = add(
            broker,
            session,
            request.v3_and_below_transactional_id.as_str(),
            request.v3_and_below_producer_id.0,
            request.v3_and_below_producer_epoch,
            &request.v3_and_below_topics,
            false,
            version,
        )
        .await;
        return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results);
    }
    let mut answers = Vec::with_capacity(request.transactions.len());
    for txn in &request.transactions {
        let results = add(
            broker,
            session,
            txn.transactional_id.as_str(),
            txn.producer_id.0,
            txn.producer_epoch,
            &txn.topics,
            txn.verify_only,
            version,
        )
        .await;
        answers.push(
            AddPartitionsToTxnResult::default()
                .with_transactional_id(txn.transactional_id.clone())
                .with_topic_results(results),
        );
    }
    AddPartitionsToTxnResponse::default().with_results_by_transaction(answers)
}

#[allow(clippy::too_many_arguments)]
async fn add(
    broker: &Arc<Broker>,
    session: &Session,
    transactional_id: &str,
    producer_id: i64,
    producer_epoch: i16,
    topics: &[AddPartitionsToTxnTopic],
    verify_only: bool,
    version: i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let partitions: Vec<TopicPartition> = topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.name.as_str().to_string(), *p))
        })
        .collect();
    // Kafka: WRITE on the transactional id, else every partition is refused; then
    // WRITE on each topic, and a topic that does not exist.
    let txn_authorized =
        broker.authorize_transactional_id(session, transactional_id, AclOperation::Write);
    let refused: Vec<Option<ErrorCode>> = partitions
        .iter()
        .map(|(topic, index)| {
            if !broker.authorize_topic(session, topic, AclOperation::Write) {
                Some(ErrorCode::TopicAuthorizationFailed)
            } else if broker
                .topic(topic)
                .is_none_or(|t| t.state(*index).is_none())
            {
                Some(ErrorCode::UnknownTopicOrPartition)
            } else {
                None
            }
        })
        .collect();
    let codes: Vec<i16> = if !txn_authorized {
        vec![ErrorCode::TransactionalIdAuthorizationFailed.code(); partitions.len()]
    } else if refused.iter().any(Option::is_some) {
        refused
            .iter()
            .map(|r| r.unwrap_or(ErrorCode::OperationNotAttempted).code())
            .collect()
    } else {
        let (env, txns) = coordinator(broker);
        if verify_only {
            match txns.verify_partitions(
                &env,
                transactional_id,
                producer_id,
                producer_epoch,
                &partitions,
            ) {
                Ok(each) => each
                    .into_iter()
                    .map(|(_, e)| e.map_or(0, |e| e.code()))
                    .collect(),
                Err(e) => vec![version_error(e, version, 2).code(); partitions.len()],
            }
        } else {
            // A broker adds only for a V2 producer (Produce v12+, TxnOffsetCommit v5+).
            let client_version = if version >= 5 {
                TransactionVersion::TV_2
            } else {
                TransactionVersion::TV_0
            };
            let result = txns
                .add_partitions(
                    &env,
                    transactional_id,
                    producer_id,
                    producer_epoch,
                    &partitions,
                    client_version,
                )
                .await;
            let code = result.map_or_else(|e| version_error(e, version, 2).code(), |()| 0);
            vec![code; partitions.len()]
        }
    };
    let mut results: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for ((topic, index), code) in partitions.into_iter().zip(codes) {
        let result = AddPartitionsToTxnPartitionResult::default()
            .with_partition_index(index)
            .with_partition_error_code(code);
        match results.iter_mut().find(|r| r.name.as_str() == topic) {
            Some(r) => r.results_by_partition.push(result),
            None => results.push(
                AddPartitionsToTxnTopicResult::default()
                    .with_name(TopicName(topic.into()))
                    .with_results_by_partition(vec![result]),
            ),
        }
    }
    results
}
