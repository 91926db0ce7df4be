//! KIP-890 on the partition leader (Kafka's `AddPartitionsToTxnManager` and the
//! verification half of `ReplicaManager`): before a transactional batch of a producer
//! with no transaction open in its partition is appended, the transaction coordinator is
//! asked whether the partition is in the producer's transaction (part 1, `verify_only`,
//! for clients that add partitions themselves) or to add it (part 2, for transactions-V2
//! clients, which never send AddPartitionsToTxn). Without this, a late batch of an
//! aborted transaction would open a transaction that no marker ever ends.
//!
//! The coordinator is this broker's own when it leads the transactional id's
//! `__transaction_state` partition; otherwise it gets an AddPartitionsToTxn v5 request,
//! the inter-broker form.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, ProducerId, TopicName,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use rafka_coordinator::txn::coordinator::{TopicPartition, TRANSACTION_STATE_TOPIC};
use rafka_coordinator::txn::version::TransactionVersion;
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::txn_env::BrokerTxnEnv;

/// Kafka's `request.timeout.ms` default, for the coordinator's answer.
const COORDINATOR_TIMEOUT: Duration = Duration::from_secs(30);

/// What the client of a transactional write understands (Kafka's
/// `TransactionSupportedOperation`, from the request's version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnOperation {
    /// Verify only; TRANSACTION_ABORTABLE is unknown to the client (INVALID_TXN_STATE).
    DefaultError,
    /// Verify only; the client knows TRANSACTION_ABORTABLE (Produce v11, TxnOffsetCommit v4).
    GenericError,
    /// Transactions V2: add the partition (Produce v12+, TxnOffsetCommit v5+).
    AddPartition,
}

impl TxnOperation {
    pub fn of_produce(version: i16) -> TxnOperation {
        match version {
            12.. => TxnOperation::AddPartition,
            11 => TxnOperation::GenericError,
            _ => TxnOperation::DefaultError,
        }
    }

    pub fn of_txn_offset_commit(version: i16) -> TxnOperation {
        match version {
            5.. => TxnOperation::AddPartition,
            4 => TxnOperation::GenericError,
            _ => TxnOperation::DefaultError,
        }
    }

    /// Whether the leader asks at all: always to add, to verify only when
    /// `transaction.partition.verification.enable` is on.
    pub fn applies(self, broker: &Broker) -> bool {
        self == TxnOperation::AddPartition || broker.txns.config.partition_verification_enable
    }
}

/// The producer of a transactional write.
#[derive(Debug, Clone, Copy)]
pub struct TxnProducer<'a> {
    pub transactional_id: &'a str,
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// Asks the producer's transaction coordinator to verify or add `partitions`; the
/// partitions that may not be written, each with Kafka's error for the writer
/// (AddPartitionsToTxnManager's mapping: PRODUCER_FENCED is INVALID_PRODUCER_EPOCH, and
/// TRANSACTION_ABORTABLE is INVALID_TXN_STATE for clients that predate it).
pub async fn add_or_verify(
    broker: &Arc<Broker>,
    producer: TxnProducer<'_>,
    partitions: Vec<TopicPartition>,
    operation: TxnOperation,
) -> HashMap<TopicPartition, ErrorCode> {
    if partitions.is_empty() {
        return HashMap::new();
    }
    let coordinator_partition = broker.txns.partition_for(producer.transactional_id);
    let local = broker.cluster.is_none()
        || broker
            .partition(TRANSACTION_STATE_TOPIC, coordinator_partition)
            .is_some_and(|p| p.is_leader());
    let answers = if local {
        ask_local(broker, producer, partitions, operation).await
    } else {
        ask_remote(
            broker,
            producer,
            partitions,
            operation,
            coordinator_partition,
        )
        .await
    };
    answers
        .into_iter()
        .filter_map(|(tp, result)| {
            let error = match result {
                Ok(()) => return None,
                Err(ErrorCode::ProducerFenced) => ErrorCode::InvalidProducerEpoch,
                Err(ErrorCode::TransactionAbortable) if operation == TxnOperation::DefaultError => {
                    ErrorCode::InvalidTxnState
                }
                Err(e) => e,
            };
            Some((tp, error))
        })
        .collect()
}

type Answers = Vec<(TopicPartition, Result<(), ErrorCode>)>;

async fn ask_local(
    broker: &Arc<Broker>,
    producer: TxnProducer<'_>,
    partitions: Vec<TopicPartition>,
    operation: TxnOperation,
) -> Answers {
    let env = BrokerTxnEnv::shared(broker);
    if operation == TxnOperation::AddPartition {
        let added = broker
            .txns
            .add_partitions(
                &env,
                producer.transactional_id,
                producer.producer_id,
                producer.producer_epoch,
                &partitions,
                TransactionVersion::TV_2,
            )
            .await;
        return partitions.into_iter().map(|tp| (tp, added)).collect();
    }
    match broker.txns.verify_partitions(
        &env,
        producer.transactional_id,
        producer.producer_id,
        producer.producer_epoch,
        &partitions,
    ) {
        Ok(each) => each
            .into_iter()
            .map(|(tp, e)| (tp, e.map_or(Ok(()), Err)))
            .collect(),
        Err(e) => partitions.into_iter().map(|tp| (tp, Err(e))).collect(),
    }
}

async fn ask_remote(
    broker: &Arc<Broker>,
    producer: TxnProducer<'_>,
    partitions: Vec<TopicPartition>,
    operation: TxnOperation,
    coordinator_partition: i32,
) -> Answers {
    let all = |partitions: Vec<TopicPartition>, e: ErrorCode| -> Answers {
        partitions.into_iter().map(|tp| (tp, Err(e))).collect()
    };
    let leader = broker
        .topic(TRANSACTION_STATE_TOPIC)
        .and_then(|t| t.state(coordinator_partition).map(|s| s.leader));
    let endpoint = leader.and_then(|id| broker.live_brokers().into_iter().find(|b| b.id == id));
    let Some(endpoint) = endpoint else {
        return all(partitions, ErrorCode::CoordinatorNotAvailable);
    };
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, index) in &partitions {
        by_topic.entry(topic.as_str()).or_default().push(*index);
    }
    let transaction = AddPartitionsToTxnTransaction::default()
        .with_transactional_id(TransactionalId(StrBytes::from_string(
            producer.transactional_id.to_string(),
        )))
        .with_producer_id(ProducerId(producer.producer_id))
        .with_producer_epoch(producer.producer_epoch)
        .with_verify_only(operation != TxnOperation::AddPartition)
        .with_topics(
            by_topic
                .into_iter()
                .map(|(topic, indexes)| {
                    AddPartitionsToTxnTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                        .with_partitions(indexes)
                })
                .collect(),
        );
    let request = AddPartitionsToTxnRequest::default().with_transactions(vec![transaction]);
    let address = format!("{}:{}", endpoint.host, endpoint.port);
    // Over the broker's pooled connections: a produce batch must not pay a connection and
    // an ApiVersions round trip. Adding a partition twice is harmless, so the pool's one
    // retry on a connection the peer closed is too.
    let response: Result<AddPartitionsToTxnResponse, String> = broker
        .peers
        .call(
            &address,
            ApiKey::AddPartitionsToTxn,
            5,
            &request,
            Duration::from_secs(5),
            COORDINATOR_TIMEOUT,
        )
        .await
        .map_err(|e| e.to_string());
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(
                "AddPartitionsToTxn to broker {} at {address}: {e}",
                endpoint.id
            );
            return all(partitions, ErrorCode::NetworkException);
        }
    };
    if response.error_code != 0 {
        // The writer must not see CLUSTER_AUTHORIZATION_FAILED: verification did not
        // complete (Kafka's INVALID_TXN_STATE).
        let code = match ErrorCode::try_from_code(response.error_code) {
            Some(ErrorCode::ClusterAuthorizationFailed) | None => ErrorCode::InvalidTxnState,
            Some(code) => code,
        };
        return all(partitions, code);
    }
    let mut answers = Vec::with_capacity(partitions.len());
    for result in response.results_by_transaction {
        for topic in result.topic_results {
            for partition in topic.results_by_partition {
                let outcome = match partition.partition_error_code {
                    0 => Ok(()),
                    code => {
                        Err(ErrorCode::try_from_code(code).unwrap_or(ErrorCode::UnknownServerError))
                    }
                };
                answers.push((
                    (topic.name.as_str().to_string(), partition.partition_index),
                    outcome,
                ));
            }
        }
    }
    answers
}
