//! TxnOffsetCommit: a transactional producer commits a consumer group's offsets inside its
//! transaction (`sendOffsetsToTransaction`). They are written to the group's
//! `__consumer_offsets` partition as one transactional batch of the producer and stay
//! pending until the transaction's marker there (WriteTxnMarkers) commits or aborts them.
//!
//! Checks in Kafka's order: the topics (KafkaApis.handleTxnOffsetCommitRequest), the
//! coordinator and the group id (GroupCoordinatorService.commitTransactionalOffsets), the
//! group's `__consumer_offsets` partition in the producer's transaction (KIP-890: verified
//! before v5, added by the coordinator itself from v5, when transactions-V2 clients stop
//! sending AddOffsetsToTxn), the group and its member
//! (OffsetMetadataManager.validateTransactionalOffsetCommit), then each partition's
//! metadata size.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use rafka_coordinator::{CoordinatorLog, PendingWrite};
use rafka_log::TxnVerification;
use rafka_protocol::error_code::code_of;
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::group::{self, CommittedOffset, TxnProducer, OFFSETS_TOPIC};
use crate::replica_manager::ReplicaManager;
use crate::session::Session;
use crate::txn_verification::{self, TxnOperation};
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: TxnOffsetCommitRequest,
    version: i16,
    session: &Session,
) -> TxnOffsetCommitResponse {
    let now_ms = broker.clock.now_ms();
    let group_id = request.group_id.as_str();
    // Kafka's handleTxnOffsetCommitRequest: WRITE on the transactional id and READ on
    // the group (else every partition is refused), then READ on each topic.
    let refused_all = if !broker.authorize_transactional_id(
        session,
        request.transactional_id.as_str(),
        AclOperation::Write,
    ) {
        Some(ErrorCode::TransactionalIdAuthorizationFailed)
    } else if !broker.authorize_group(session, group_id, AclOperation::Read) {
        Some(ErrorCode::GroupAuthorizationFailed)
    } else {
        None
    };
    // An unknown topic or partition is answered at once and never reaches the group.
    let mut errors: Vec<Vec<Option<ErrorCode>>> = request
        .topics
        .iter()
        .map(|topic| {
            let known = broker.topic(topic.name.as_str());
            let authorized =
                broker.authorize_topic(session, topic.name.as_str(), AclOperation::Read);
            topic
                .partitions
                .iter()
                .map(|p| {
                    if let Some(code) = refused_all {
                        return Some(code);
                    }
                    if !authorized {
                        return Some(ErrorCode::TopicAuthorizationFailed);
                    }
                    let exists = known
                        .as_ref()
                        .is_some_and(|t| t.state(p.partition_index).is_some());
                    (!exists).then_some(ErrorCode::UnknownTopicOrPartition)
                })
                .collect()
        })
        .collect();
    let any_known = errors.iter().flatten().any(Option::is_none);
    if any_known {
        commit(broker, &request, version, &mut errors, now_ms, group_id).await;
    }
    TxnOffsetCommitResponse::default().with_topics(
        request
            .topics
            .iter()
            .zip(errors)
            .map(|(topic, errors)| {
                TxnOffsetCommitResponseTopic::default()
                    .with_name(topic.name.clone())
                    .with_partitions(
                        topic
                            .partitions
                            .iter()
                            .zip(errors)
                            .map(|(p, e)| {
                                TxnOffsetCommitResponsePartition::default()
                                    .with_partition_index(p.partition_index)
                                    .with_error_code(code_of(e))
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

/// Commits the partitions of known topics (those without an error yet), setting each
/// one's error.
async fn commit(
    broker: &Arc<Broker>,
    request: &TxnOffsetCommitRequest,
    version: i16,
    errors: &mut [Vec<Option<ErrorCode>>],
    now_ms: i64,
    group_id: &str,
) {
    let generation = request.generation_id;
    let member_id = request.member_id.as_str();
    let instance_id = request.group_instance_id.as_ref().map(|s| s.as_str());
    let group_error = if broker.ensure_offsets_topic().await.is_err() {
        Some(ErrorCode::CoordinatorNotAvailable)
    } else if group_id.is_empty() {
        // Unlike OffsetCommit, TxnOffsetCommit refuses the empty group id.
        Some(ErrorCode::InvalidGroupId)
    } else {
        broker
            .groups
            .check_coordinator(&broker.replicas, group_id)
            .err()
    };
    let (group_error, verification) = match group_error {
        None => match in_transaction(broker, request, version).await {
            Ok(verification) => (None, verification),
            Err(e) => (Some(e), TxnVerification::NotRequired),
        },
        error => (error, TxnVerification::NotRequired),
    };
    let group = match (group_error, broker.groups.group(group_id)) {
        (Some(e), _) => Err(e),
        (None, Some(g)) => Ok(g),
        // A producer committing for a consumer outside group management (generation -1)
        // creates a simple group, as for OffsetCommit.
        (None, None) if generation < 0 => Ok(broker.groups.group_or_create(group_id, now_ms)),
        (None, None) => Err(ErrorCode::IllegalGeneration),
    };
    let group = match group {
        Ok(g) => g,
        Err(e) => {
            set_unset(errors, e);
            return;
        }
    };
    let (write, stored) = {
        let mut group = group.lock();
        if let Err(e) = group.validate_txn_offset_commit(generation, member_id, instance_id) {
            drop(group);
            set_unset(errors, e);
            return;
        }
        let mut to_store = Vec::new();
        let mut stored = Vec::new();
        for (ti, topic) in request.topics.iter().enumerate() {
            for (pi, partition) in topic.partitions.iter().enumerate() {
                if errors[ti][pi].is_some() {
                    continue;
                }
                let metadata = partition
                    .committed_metadata
                    .as_ref()
                    .map(|m| m.to_string())
                    .unwrap_or_default();
                if metadata.len() > broker.groups.config.offset_metadata_max_bytes {
                    errors[ti][pi] = Some(ErrorCode::OffsetMetadataTooLarge);
                    continue;
                }
                to_store.push((
                    (topic.name.to_string(), partition.partition_index),
                    CommittedOffset {
                        offset: partition.committed_offset,
                        // -1 before v2, which has no leader epoch.
                        leader_epoch: partition.committed_leader_epoch,
                        metadata,
                        commit_timestamp_ms: now_ms,
                    },
                ));
                stored.push((ti, pi));
            }
        }
        let producer = TxnProducer {
            producer_id: request.producer_id.0,
            producer_epoch: request.producer_epoch,
        };
        (
            broker.groups.txn_commit_offsets(
                &GuardedLog {
                    replicas: &broker.replicas,
                    verification,
                },
                &mut group,
                producer,
                to_store,
            ),
            stored,
        )
    };
    // Answered once the offsets' batch counts (the ISR has it in a cluster).
    if let Err(e) = group::completed(write).await {
        for (ti, pi) in stored {
            errors[ti][pi] = Some(e);
        }
    }
}

/// The group's `__consumer_offsets` partition must be in the producer's transaction
/// before its offsets are staged: asked of the transaction coordinator unless the
/// producer already has a transaction open there at this epoch. Answers what the offsets'
/// append must bring (KIP-890's guard, taken before the coordinator is asked).
async fn in_transaction(
    broker: &Arc<Broker>,
    request: &TxnOffsetCommitRequest,
    version: i16,
) -> Result<TxnVerification, ErrorCode> {
    let operation = TxnOperation::of_txn_offset_commit(version);
    let required = if broker.txns.config.partition_verification_enable {
        TxnVerification::Guard(None)
    } else {
        TxnVerification::NotRequired
    };
    if !operation.applies(broker) {
        return Ok(required);
    }
    let index = broker.groups.partition_for(request.group_id.as_str());
    let (producer_id, producer_epoch) = (request.producer_id.0, request.producer_epoch);
    let guard = broker.partition(OFFSETS_TOPIC, index).and_then(|p| {
        p.with_log(|log| log.start_transaction_verification(producer_id, producer_epoch))
    });
    let Some(guard) = guard else {
        // Open already (or not hosted here: the append then fails on its own).
        return Ok(required);
    };
    let required = match required {
        TxnVerification::Guard(_) => TxnVerification::Guard(Some(guard)),
        TxnVerification::NotRequired => TxnVerification::NotRequired,
    };
    let producer = txn_verification::TxnProducer {
        transactional_id: request.transactional_id.as_str(),
        producer_id,
        producer_epoch,
    };
    let partition = (OFFSETS_TOPIC.to_string(), index);
    let refused =
        txn_verification::add_or_verify(broker, producer, vec![partition], operation).await;
    match refused.into_values().next() {
        Some(e) => Err(e),
        None => Ok(required),
    }
}

/// The replica manager as the group coordinator's log for one TxnOffsetCommit: its
/// transactional offsets bring the request's verification guard.
struct GuardedLog<'a> {
    replicas: &'a ReplicaManager,
    verification: TxnVerification,
}

impl CoordinatorLog for GuardedLog<'_> {
    fn is_leader(&self, topic: &str, partition: i32) -> bool {
        self.replicas.is_leader(topic, partition)
    }

    fn append(
        &self,
        topic: &str,
        partition: i32,
        batch: &[u8],
        timeout: Duration,
    ) -> Result<PendingWrite, ErrorCode> {
        self.replicas
            .append_coordinator_batch(topic, partition, batch, timeout, self.verification)
    }

    fn replay_range(&self, topic: &str, partition: i32) -> Option<(i64, i64)> {
        self.replicas.replay_range(topic, partition)
    }

    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Bytes, String> {
        self.replicas.read(topic, partition, offset, max_bytes)
    }
}

/// Gives `error` to every partition that has none yet.
fn set_unset(errors: &mut [Vec<Option<ErrorCode>>], error: ErrorCode) {
    for slot in errors.iter_mut().flatten() {
        slot.get_or_insert(error);
    }
}
