//! Fetch: whole batches from each partition's log, up to the high watermark, within the
//! request's byte limits. When less than `min_bytes` is ready the request waits (long
//! poll) until an append to one of its partitions or `max_wait_ms`.
//!
//! Fetch sessions (KIP-227): rafka declines to create sessions (it answers session id 0,
//! as Kafka does when its session cache is full), so clients send full fetches.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId, TopicName};
use rafka_log::ReadResult;
use rafka_protocol::ErrorCode;
use rafka_types::{LeaderEpoch, NodeId, Offset};
use tokio::sync::watch;

use super::str_bytes;
use crate::acls::TopicRef;
use crate::broker::Broker;
use crate::error::ApiError;
use crate::metrics::{unexpected_fetch_error, Fetched};
use crate::partition::Partition;
use crate::session::Session;
use rafka_security::acl::AclOperation;

const READ_COMMITTED: i8 = 1;

/// The response (every partition's `records` left empty) and, in partition order, the
/// log ranges that go where those records belong; the server sends them with `sendfile`.
pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: FetchRequest,
    version: i16,
    session: &Session,
) -> (FetchResponse, Vec<ReadResult>) {
    if request.session_id != 0 && request.session_epoch != -1 {
        let response = FetchResponse::default()
            .with_error_code(ErrorCode::FetchSessionIdNotFound.code())
            .with_session_id(0);
        return (response, Vec::new());
    }
    if request.session_id == 0 && request.session_epoch > 0 {
        let response = FetchResponse::default()
            .with_error_code(ErrorCode::InvalidFetchSessionEpoch.code())
            .with_session_id(0);
        return (response, Vec::new());
    }
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0));
    let min_bytes = u64::try_from(request.min_bytes).unwrap_or(0);
    let authorized = authorized_topics(broker, &request, version, session);
    loop {
        // Subscribe before reading so an append between the read and the wait is seen.
        let mut receivers = Vec::new();
        let pass = read_all(broker, &request, version, &authorized, &mut receivers);
        let now = tokio::time::Instant::now();
        if pass.bytes >= min_bytes || pass.has_error || now >= deadline || receivers.is_empty() {
            let response = FetchResponse::default()
                .with_session_id(0)
                .with_responses(pass.topics);
            for (partition, fetched) in pass.metered {
                let meters = partition.topic_meters(&broker.metrics);
                broker.metrics.record_fetched(meters, fetched);
            }
            return (response, pass.records);
        }
        let any_change =
            futures_util::future::select_all(receivers.iter_mut().map(|r| Box::pin(r.changed())));
        let _ = tokio::time::timeout_at(deadline, any_change).await;
    }
}

/// A follower's fetch carries its broker id (Kafka's replica id; v15+ in ReplicaState);
/// a consumer's is negative.
pub(super) fn replica_id(request: &FetchRequest, version: i16) -> i32 {
    if version >= 15 {
        request.replica_state.replica_id.0
    } else {
        request.replica_id.0
    }
}

/// Kafka's handleFetchRequest: a follower needs CLUSTER_ACTION on the cluster (else
/// every partition is TOPIC_AUTHORIZATION_FAILED), a consumer READ on each topic. One
/// flag per requested topic, decided once for the whole long poll.
fn authorized_topics(
    broker: &Broker,
    request: &FetchRequest,
    version: i16,
    session: &Session,
) -> Vec<bool> {
    if broker.authorizer_enabled() && replica_id(request, version) >= 0 {
        let allowed = broker.authorize_cluster(session, AclOperation::ClusterAction);
        return vec![allowed; request.topics.len()];
    }
    broker.authorize_topics(
        session,
        request.topics.iter().map(|t| {
            if version >= 13 {
                TopicRef::Id(&t.topic_id)
            } else {
                TopicRef::Name(t.topic.as_str())
            }
        }),
        AclOperation::Read,
    )
}

struct Pass {
    topics: Vec<FetchableTopicResponse>,
    /// One per partition, in response order (empty for partitions with no data).
    records: Vec<ReadResult>,
    bytes: u64,
    has_error: bool,
    /// What each partition read, for the metrics (kept only when they are on).
    metered: Vec<(Arc<Partition>, Fetched)>,
}

fn read_all(
    broker: &Broker,
    request: &FetchRequest,
    version: i16,
    authorized: &[bool],
    receivers: &mut Vec<watch::Receiver<Offset>>,
) -> Pass {
    let mut remaining = if version >= 3 {
        u64::try_from(request.max_bytes).unwrap_or(0)
    } else {
        u64::MAX
    };
    let follower = replica_id(request, version);
    // Nothing is kept for the metrics with them off.
    let metered = broker.metrics.enabled();
    let mut pass = Pass {
        topics: Vec::with_capacity(request.topics.len()),
        records: Vec::new(),
        bytes: 0,
        has_error: false,
        metered: Vec::new(),
    };
    for (fetch_topic, authorized) in request.topics.iter().zip(authorized) {
        let topic = if version >= 13 {
            broker.topic_by_id(&fetch_topic.topic_id)
        } else {
            broker.topic(fetch_topic.topic.as_str())
        };
        let mut partitions = Vec::with_capacity(fetch_topic.partitions.len());
        for wanted in &fetch_topic.partitions {
            let partition = match &topic {
                _ if !authorized => Err(ApiError::code(ErrorCode::TopicAuthorizationFailed)),
                None if version >= 13 => Err(ApiError::code(ErrorCode::UnknownTopicId)),
                None => Err(ApiError::code(ErrorCode::UnknownTopicOrPartition)),
                Some(t) => t
                    .partition(wanted.partition)
                    .cloned()
                    .ok_or_else(|| ApiError::code(ErrorCode::UnknownTopicOrPartition)),
            };
            let data = match partition {
                Ok(partition) if follower >= 0 => {
                    receivers.push(partition.subscribe_log_end());
                    let metered = metered.then(|| partition.clone());
                    let max_bytes = u64::try_from(wanted.partition_max_bytes)
                        .unwrap_or(0)
                        .min(remaining);
                    let now = broker.clock.now_ms() as u64;
                    let read = partition.read_for_follower(
                        NodeId(follower),
                        Offset(wanted.fetch_offset),
                        LeaderEpoch(wanted.current_leader_epoch),
                        max_bytes,
                        now,
                    );
                    if let Some(partition) = metered {
                        let (bytes, code) = match &read {
                            Ok(read) => (read.records.size_bytes, 0),
                            Err(e) => (0, e.code.code()),
                        };
                        pass.metered.push((
                            partition,
                            Fetched {
                                bytes,
                                follower: true,
                                failed: unexpected_fetch_error(code),
                            },
                        ));
                    }
                    match read {
                        Ok(read) => {
                            pass.bytes += read.records.size_bytes;
                            remaining = remaining.saturating_sub(read.records.size_bytes);
                            pass.records.push(read.records);
                            PartitionData::default()
                                .with_partition_index(wanted.partition)
                                .with_high_watermark(read.high_watermark.0)
                                .with_last_stable_offset(read.last_stable_offset.0)
                                .with_log_start_offset(read.log_start_offset.0)
                                .with_records(None)
                        }
                        Err(e) => {
                            pass.records.push(ReadResult::default());
                            failed(wanted.partition, &e)
                                .with_log_start_offset(partition.log_start_offset().0)
                        }
                    }
                }
                Ok(partition) => {
                    receivers.push(partition.subscribe());
                    let max_bytes = u64::try_from(wanted.partition_max_bytes)
                        .unwrap_or(0)
                        .min(remaining);
                    let min_one = pass.bytes == 0;
                    let (data, read) =
                        read_partition(&partition, request, wanted, max_bytes, min_one);
                    pass.bytes += read.size_bytes;
                    remaining = remaining.saturating_sub(read.size_bytes);
                    if metered {
                        let fetched = Fetched {
                            bytes: read.size_bytes,
                            follower: false,
                            failed: unexpected_fetch_error(data.error_code),
                        };
                        pass.metered.push((partition.clone(), fetched));
                    }
                    pass.records.push(read);
                    data
                }
                Err(e) => {
                    pass.records.push(ReadResult::default());
                    // Kafka answers unknown topics and partitions before reading
                    // (FetchResponse.partitionResponse): aborted transactions [], not
                    // the null of a failed read.
                    failed(wanted.partition, &e).with_aborted_transactions(Some(Vec::new()))
                }
            };
            pass.has_error |= data.error_code != 0;
            partitions.push(data);
        }
        pass.topics.push(
            FetchableTopicResponse::default()
                .with_topic(if version >= 13 {
                    TopicName(str_bytes(""))
                } else {
                    fetch_topic.topic.clone()
                })
                .with_topic_id(fetch_topic.topic_id)
                .with_partitions(partitions),
        );
    }
    pass
}

/// A partition's answer when it cannot be read: the error, no offsets, no records.
fn failed(partition: i32, error: &ApiError) -> PartitionData {
    PartitionData::default()
        .with_partition_index(partition)
        .with_error_code(error.code.code())
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_aborted_transactions(None)
        .with_records(None)
}

fn read_partition(
    partition: &Partition,
    request: &FetchRequest,
    wanted: &kafka_protocol::messages::fetch_request::FetchPartition,
    max_bytes: u64,
    min_one: bool,
) -> (PartitionData, ReadResult) {
    // A partition that cannot be read reports no offsets, as Kafka's
    // ReplicaManager.createLogReadResult(e): high watermark, last stable offset and log
    // start offset are all -1 (the fenced epoch and the out-of-range offset alike).
    if let Err(e) = partition.check_leader_epoch(LeaderEpoch(wanted.current_leader_epoch)) {
        return (failed(wanted.partition, &e), ReadResult::default());
    }
    let read_committed = request.isolation_level == READ_COMMITTED;
    match partition.read_for_consumer(
        Offset(wanted.fetch_offset),
        max_bytes,
        min_one,
        read_committed,
    ) {
        Ok(read) => {
            let aborted = read.aborted.map(|txns| {
                txns.iter()
                    .map(|t| {
                        AbortedTransaction::default()
                            .with_producer_id(ProducerId(t.producer_id))
                            .with_first_offset(t.first_offset)
                    })
                    .collect()
            });
            let data = PartitionData::default()
                .with_partition_index(wanted.partition)
                .with_high_watermark(read.high_watermark.0)
                .with_last_stable_offset(read.last_stable_offset.0)
                .with_log_start_offset(read.records.log_start_offset.0)
                .with_aborted_transactions(aborted)
                .with_records(None);
            (data, read.records)
        }
        Err(e) => (
            failed(wanted.partition, &ApiError::from(e)),
            ReadResult::default(),
        ),
    }
}
