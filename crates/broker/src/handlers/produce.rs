//! Produce: append each partition's batches to its log as received (offsets rewritten,
//! nothing re-encoded) and answer with the base offset. acks=0 gets no answer at all.
//! A transactional batch of a producer with no transaction open in its partition first
//! goes by the transaction coordinator (`txn_verification`, KIP-890).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, LeaderIdAndEpoch, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use rafka_coordinator::txn::coordinator::TopicPartition;
use rafka_log::{Appender, TxnVerification, VerificationGuard};
use rafka_protocol::batch::BatchHeader;
use rafka_protocol::ErrorCode;
use rafka_types::{LeaderEpoch, Offset};

use crate::acls::TopicRef;
use crate::broker::Broker;
use crate::error::ApiError;
use crate::metrics::unexpected_produce_error;
use crate::partition::Partition;
use crate::session::Session;
use crate::topic::Topic;
use crate::txn_verification::{self, TxnOperation, TxnProducer};
use rafka_security::acl::AclOperation;

type Wait = (usize, usize, Arc<Partition>, Offset, LeaderEpoch);

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: ProduceRequest,
    version: i16,
    session: &Session,
) -> Option<ProduceResponse> {
    let acks = request.acks;
    // Kafka's handleProduceRequest: transactional batches need WRITE on the
    // transactional id, or the whole request is refused; then each topic needs WRITE.
    if broker.authorizer_enabled() && has_transactional_records(&request) {
        let authorized = request
            .transactional_id
            .as_ref()
            .is_some_and(|id| broker.authorize_transactional_id(session, id, AclOperation::Write));
        if !authorized {
            return (acks != 0)
                .then(|| refuse_all(&request, ErrorCode::TransactionalIdAuthorizationFailed));
        }
    }
    let authorized = broker.authorize_topics(
        session,
        request.topic_data.iter().map(|t| {
            if version >= 13 {
                TopicRef::Id(&t.topic_id)
            } else {
                TopicRef::Name(t.name.as_str())
            }
        }),
        AclOperation::Write,
    );
    let acks_error = if matches!(acks, -1..=1) {
        None
    } else {
        Some(ApiError::new(
            ErrorCode::InvalidRequiredAcks,
            format!("Invalid required acks {acks}: must be -1, 0 or 1"),
        ))
    };
    let verified = if acks_error.is_none() {
        verify_transactional(broker, &request, version, &authorized).await
    } else {
        Verified::default()
    };
    let mut responses = Vec::with_capacity(request.topic_data.len());
    // acks=all: (topic slot, partition slot, partition, last offset, leader epoch) of
    // each append, answered once the ISR has it.
    let mut waits = Vec::new();
    for (topic_data, authorized) in request.topic_data.into_iter().zip(authorized) {
        let topic: Option<Arc<Topic>> = if version >= 13 {
            broker.topic_by_id(&topic_data.topic_id)
        } else {
            broker.topic(topic_data.name.as_str())
        };
        let unknown = if version >= 13 {
            ErrorCode::UnknownTopicId
        } else {
            ErrorCode::UnknownTopicOrPartition
        };
        let mut partition_responses = Vec::with_capacity(topic_data.partition_data.len());
        for partition_data in topic_data.partition_data {
            let index = partition_data.index;
            let refused = topic
                .as_ref()
                .and_then(|t| verified.refused.get(&(t.name.to_string(), index)))
                .cloned();
            // An error, and the log start offset answered with it.
            let result = (|| -> Result<_, (ApiError, i64)> {
                if let Some(e) = acks_error.clone() {
                    return Err((e, -1));
                }
                if !authorized {
                    return Err((ApiError::code(ErrorCode::TopicAuthorizationFailed), -1));
                }
                if let Some(e) = refused.clone() {
                    // Verification failed before the log: Kafka's unknown append info.
                    return Err((e, -1));
                }
                let topic = topic.as_ref().ok_or((ApiError::code(unknown), -1))?;
                let partition = topic
                    .partition(index)
                    .ok_or((ApiError::code(ErrorCode::UnknownTopicOrPartition), -1))?;
                let records = partition_data.records.as_deref().unwrap_or(&[]);
                let verification = if verified.required {
                    TxnVerification::Guard(
                        verified
                            .guards
                            .get(&(topic.name.to_string(), index))
                            .copied(),
                    )
                } else {
                    TxnVerification::NotRequired
                };
                let appended =
                    partition.append_verified(records, acks, Appender::Client, verification);
                let failed = appended
                    .as_ref()
                    .is_err_and(|e| unexpected_produce_error(e.code.code()));
                let meters = partition.topic_meters(&broker.metrics);
                broker.metrics.record_produce_request(meters, failed);
                let (info, epoch) = appended.map_err(|e| {
                    let log_start_offset = if refused_by_log(&e) {
                        partition.log_start_offset().0
                    } else {
                        -1
                    };
                    (e, log_start_offset)
                })?;
                let appended = u64::try_from(info.last_offset.0 - info.first_offset.0 + 1);
                broker
                    .metrics
                    .record_produced(meters, appended.unwrap_or(0), records.len() as u64);
                if acks == -1 {
                    waits.push((
                        responses.len(),
                        partition_responses.len(),
                        partition.clone(),
                        info.last_offset,
                        epoch,
                    ));
                }
                Ok(info)
            })();
            let response = match result {
                Ok(info) => PartitionProduceResponse::default()
                    .with_index(index)
                    .with_base_offset(info.first_offset.0)
                    .with_log_append_time_ms(info.log_append_time_ms)
                    .with_log_start_offset(info.log_start_offset.0),
                Err((e, log_start_offset)) => {
                    tracing::debug!(
                        "produce to {}-{index} failed: {e:?}",
                        topic_data.name.as_str()
                    );
                    PartitionProduceResponse::default()
                        .with_index(index)
                        .with_error_code(e.code.code())
                        .with_base_offset(-1)
                        .with_log_append_time_ms(-1)
                        .with_log_start_offset(log_start_offset)
                        .with_record_errors(record_errors(&e, version))
                        .with_error_message(if refused.is_some() {
                            super::message(e.message)
                        } else {
                            custom_message(e)
                        })
                }
            };
            partition_responses.push(
                response.with_current_leader(
                    LeaderIdAndEpoch::default()
                        .with_leader_id((-1).into())
                        .with_leader_epoch(-1),
                ),
            );
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic_data.name)
                .with_topic_id(topic_data.topic_id)
                .with_partition_responses(partition_responses),
        );
    }
    if acks == 0 {
        return None;
    }
    let timeout = Duration::from_millis(u64::try_from(request.timeout_ms).unwrap_or(0));
    let outcomes = futures_util::future::join_all(waits.iter().map(
        |(_, _, partition, last_offset, epoch): &Wait| {
            partition.wait_for_replication(*last_offset, *epoch, timeout)
        },
    ))
    .await;
    for ((t, p, _, _, _), outcome) in waits.iter().zip(outcomes) {
        if let Err(e) = outcome {
            let slot: &mut TopicProduceResponse = &mut responses[*t];
            let response = &mut slot.partition_responses[*p];
            response.error_code = e.code.code();
            response.base_offset = -1;
            response.log_append_time_ms = -1;
            response.log_start_offset = -1;
        }
    }
    Some(ProduceResponse::default().with_responses(responses))
}

/// The partitions of a transactional produce whose batches may not be appended: the
/// transaction coordinator neither has them in the producer's transaction (verification,
/// before Produce v12) nor could add them (transactions V2, v12+). Asked only for a
/// producer with no transaction open in the partition at the batch's epoch. Errors are
/// ReplicaManager's: a coordinator that could not answer yet is NOT_ENOUGH_REPLICAS, which
/// every client retries without refreshing its metadata.
async fn verify_transactional(
    broker: &Arc<Broker>,
    request: &ProduceRequest,
    version: i16,
    authorized: &[bool],
) -> Verified {
    let operation = TxnOperation::of_produce(version);
    let Some(transactional_id) = request.transactional_id.as_ref() else {
        return Verified::default();
    };
    let mut verified = Verified {
        // Kafka's `batchMissingRequiredVerification` asks for the guard only with
        // verification on, whatever the produce version.
        required: broker.txns.config.partition_verification_enable,
        ..Verified::default()
    };
    if !operation.applies(broker) {
        return verified;
    }
    let mut producer = None;
    let mut partitions = Vec::new();
    for (topic_data, _) in request
        .topic_data
        .iter()
        .zip(authorized)
        .filter(|(_, authorized)| **authorized)
    {
        let topic = if version >= 13 {
            broker.topic_by_id(&topic_data.topic_id)
        } else {
            broker.topic(topic_data.name.as_str())
        };
        let Some(topic) = topic else { continue };
        for partition_data in &topic_data.partition_data {
            let Some(partition) = topic.partition(partition_data.index) else {
                continue;
            };
            let records = partition_data.records.as_deref().unwrap_or(&[]);
            let Ok(header) = BatchHeader::parse(records) else {
                continue;
            };
            if !header.is_transactional() {
                continue;
            }
            // The guard is taken before the coordinator is asked: a marker written after
            // its answer voids it.
            let Some(guard) = partition.with_log(|log| {
                log.start_transaction_verification(header.producer_id(), header.producer_epoch())
            }) else {
                continue;
            };
            producer.get_or_insert((header.producer_id(), header.producer_epoch()));
            let tp = (topic.name.to_string(), partition_data.index);
            verified.guards.insert(tp.clone(), guard);
            partitions.push(tp);
        }
    }
    let Some((producer_id, producer_epoch)) = producer else {
        return verified;
    };
    let producer = TxnProducer {
        transactional_id: transactional_id.as_str(),
        producer_id,
        producer_epoch,
    };
    verified.refused = txn_verification::add_or_verify(broker, producer, partitions, operation)
        .await
        .into_iter()
        .map(|(tp, code)| {
            let error = match code {
                ErrorCode::InvalidTxnState => ApiError::new(
                    code,
                    "Partition was not added to the transaction",
                ),
                ErrorCode::ConcurrentTransactions
                | ErrorCode::NetworkException
                | ErrorCode::CoordinatorLoadInProgress
                | ErrorCode::CoordinatorNotAvailable
                | ErrorCode::NotCoordinator => ApiError::new(
                    ErrorCode::NotEnoughReplicas,
                    format!(
                        "Unable to verify the partition has been added to the transaction. Underlying error: {}",
                        kafka_error_name(code)
                    ),
                ),
                other => ApiError::code(other),
            };
            (tp, error)
        })
        .collect();
    verified
}

/// Kafka's `RequestUtils.hasTransactionalRecords`: a batch of the request is
/// transactional.
fn has_transactional_records(request: &ProduceRequest) -> bool {
    request.topic_data.iter().any(|t| {
        t.partition_data.iter().any(|p| {
            BatchHeader::parse(p.records.as_deref().unwrap_or(&[]))
                .is_ok_and(|header| header.is_transactional())
        })
    })
}

/// The answer refusing every partition with `code` (Kafka's
/// `ProduceRequest.getErrorResponse`).
fn refuse_all(request: &ProduceRequest, code: ErrorCode) -> ProduceResponse {
    let responses = request
        .topic_data
        .iter()
        .map(|t| {
            TopicProduceResponse::default()
                .with_name(t.name.clone())
                .with_topic_id(t.topic_id)
                .with_partition_responses(
                    t.partition_data
                        .iter()
                        .map(|p| {
                            PartitionProduceResponse::default()
                                .with_index(p.index)
                                .with_error_code(code.code())
                                .with_base_offset(-1)
                                .with_log_append_time_ms(-1)
                                .with_log_start_offset(-1)
                        })
                        .collect(),
                )
        })
        .collect();
    ProduceResponse::default().with_responses(responses)
}

/// What KIP-890's verification decided for a produce.
#[derive(Debug, Default)]
struct Verified {
    /// Partitions the coordinator refused, with the error each answers.
    refused: HashMap<TopicPartition, ApiError>,
    /// The guard of each partition's verification under way.
    guards: HashMap<TopicPartition, VerificationGuard>,
    /// Whether transactional batches starting a transaction need a guard at all.
    required: bool,
}

/// Kafka's `Errors` name of a code, as its messages print it.
fn kafka_error_name(code: ErrorCode) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// Whether Kafka answers an append's error with the partition's log start offset: it does
/// for what the log refuses once the batch reached it (ReplicaManager.appendToLocalLog's
/// `processFailedRecord`: producer state, the ISR check, record-by-record validation), and
/// answers -1 for what is refused before (unknown partition, not leader, sizes, CRC).
fn refused_by_log(e: &ApiError) -> bool {
    !e.record_errors.is_empty()
        || matches!(
            e.code,
            ErrorCode::OutOfOrderSequenceNumber
                | ErrorCode::InvalidProducerEpoch
                | ErrorCode::InvalidTxnState
                | ErrorCode::TransactionCoordinatorFenced
                | ErrorCode::NotEnoughReplicas
        )
}

/// Kafka sends a message only with the record errors of a batch it refused record by
/// record (ReplicaManager's `hasCustomErrorMessage`, set for RecordValidationException);
/// every other produce error carries null.
fn custom_message(e: ApiError) -> Option<kafka_protocol::protocol::StrBytes> {
    if e.record_errors.is_empty() {
        None
    } else {
        super::message(e.message)
    }
}

/// KIP-467's per-record errors, from v8.
fn record_errors(e: &ApiError, version: i16) -> Vec<BatchIndexAndErrorMessage> {
    if version < 8 {
        return Vec::new();
    }
    e.record_errors
        .iter()
        .map(|(index, message)| {
            BatchIndexAndErrorMessage::default()
                .with_batch_index(*index)
                .with_batch_index_error_message(super::message(Some(message.clone())))
        })
        .collect()
}
