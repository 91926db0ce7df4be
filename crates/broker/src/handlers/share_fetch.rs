//! ShareFetch (KIP-932): a share consumer's fetch. Checks the member's share session
//! epoch, applies the acknowledgements it carries, then acquires records for the member
//! from each of its session's partitions and answers them as whole batches with the
//! acquired offset ranges (the client drops what it did not acquire). When nothing can
//! be acquired it waits (long poll) until an append, a release, or `max_wait_ms`.
//!
//! Records are read up to the high watermark (`share.isolation.level=read_uncommitted`)
//! or the last stable offset (`read_committed`, aborted transactions archived).
//!
//! When it answers, as Kafka's `DelayedShareFetch`: with `min_bytes` <= 1 as soon as
//! anything was acquired (or acknowledgements came with the request). With a larger
//! `min_bytes` nothing is acquired while it waits: each wake-up estimates the bytes the
//! member could get — from each share-partition it could acquire from, the log bytes
//! from the batch holding its next fetch offset up to the high watermark (last stable
//! offset), capped at the partition's share of `max_bytes` — and the request completes
//! (acquiring then) once they reach `min_bytes`, at once when a fetch offset lies in an
//! older segment than the high watermark, and with whatever can be acquired when
//! `max_wait_ms` runs out (at once for 0). Acknowledgements it carries are applied
//! before the wait; their results come with the answer.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::share_fetch_response::{
    AcquiredRecords, LeaderIdAndEpoch, PartitionData, ShareFetchableTopicResponse,
};
use kafka_protocol::messages::{ShareFetchRequest, ShareFetchResponse};
use rafka_log::Log;
use rafka_protocol::batch::batches;
use rafka_protocol::ErrorCode;
use rafka_security::acl::AclOperation;
use rafka_types::Offset;
use tokio::sync::watch;

use super::str_bytes;
use crate::broker::Broker;
use crate::partition::Partition;
use crate::session::Session;
use crate::share::partition::SharePartitionLimits;
use crate::share::persister;
use crate::share::session::{SessionStep, TopicIdPartition};
use crate::share::AcknowledgementBatch;
use crate::share_persister::BrokerPersister;

/// What a member gets per fetch when the request does not say (v1 always does).
const DEFAULT_MAX_RECORDS: usize = 500;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: ShareFetchRequest,
    session: &Session,
) -> ShareFetchResponse {
    // Kafka's handleShareFetchRequest: READ on the group before anything else, an answer
    // with only the error code.
    let group = request.group_id.as_ref().map_or("", |g| g.as_str());
    if !broker.authorize_group(session, group, AclOperation::Read) {
        return ShareFetchResponse::default()
            .with_error_code(ErrorCode::GroupAuthorizationFailed.code());
    }
    let group_id = request
        .group_id
        .as_ref()
        .map(|g| g.to_string())
        .unwrap_or_default();
    let member_id = request
        .member_id
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_default();
    // Kafka's session errors carry no message.
    let top_error = |code: ErrorCode| ShareFetchResponse::default().with_error_code(code.code());
    if group_id.is_empty() {
        // Kafka 4.1.1 answers each requested partition UNKNOWN_SERVER_ERROR (its share
        // fetch fails on the empty group id) and keeps no session.
        let answers = request
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| {
                    (
                        t.topic_id,
                        PartitionData::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(ErrorCode::UnknownServerError.code()),
                    )
                })
            })
            .collect();
        let lock_timeout_ms = broker.group_config(&group_id).share_record_lock_duration_ms;
        return response(answers, lock_timeout_ms);
    }
    let epoch = request.share_session_epoch;
    let has_acks = request.topics.iter().any(|t| {
        t.partitions
            .iter()
            .any(|p| !p.acknowledgement_batches.is_empty())
    });
    if epoch == 0 && has_acks {
        return top_error(ErrorCode::InvalidRequest);
    }
    let wanted: Vec<TopicIdPartition> = request
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.topic_id, p.partition_index)))
        .collect();
    let forgotten: Vec<TopicIdPartition> = request
        .forgotten_topics_data
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (t.topic_id, *p)))
        .collect();
    // Partitions the session did not have: a subsequent request's answer lists them
    // once even with nothing to give (Kafka's CachedSharePartition.requiresUpdateInResponse).
    let before: BTreeSet<TopicIdPartition> = broker
        .shares
        .sessions
        .lock()
        .partitions(&group_id, &member_id)
        .into_iter()
        .collect();
    let step = broker
        .shares
        .sessions
        .lock()
        .step(&group_id, &member_id, epoch, &wanted, &forgotten);
    let step = match step {
        Ok(step) => step,
        Err(code) => return top_error(code),
    };
    if step == SessionStep::Opened {
        broker
            .shares
            .sessions
            .lock()
            .opened_on(&group_id, &member_id, session.connection);
    }
    // READ on each topic the request or the session names: a topic it may not read is
    // TOPIC_AUTHORIZATION_FAILED, for its fetch and its acknowledgements alike.
    let session_partitions = broker
        .shares
        .sessions
        .lock()
        .partitions(&group_id, &member_id);
    let named_topics = request.topics.iter().map(|t| t.topic_id);
    let denied = denied_topics(
        broker,
        session,
        named_topics.chain(session_partitions.iter().map(|(t, _)| *t)),
    );
    // Acknowledgements first: what they release may be fetched at once.
    let persister = BrokerPersister::new(broker);
    let now_ms = broker.clock.now_ms();
    let mut acknowledged: BTreeMap<TopicIdPartition, i16> = BTreeMap::new();
    // Kafka's message of a refused acknowledgement, where it sets one.
    let mut ack_messages: BTreeMap<TopicIdPartition, &'static str> = BTreeMap::new();
    for topic in &request.topics {
        for p in &topic.partitions {
            if p.acknowledgement_batches.is_empty() {
                continue;
            }
            if denied.contains(&topic.topic_id) {
                acknowledged.insert(
                    (topic.topic_id, p.partition_index),
                    ErrorCode::TopicAuthorizationFailed.code(),
                );
                continue;
            }
            let batches: Vec<AcknowledgementBatch> = p
                .acknowledgement_batches
                .iter()
                .map(|b| AcknowledgementBatch {
                    first_offset: b.first_offset,
                    last_offset: b.last_offset,
                    acknowledge_types: b.acknowledge_types.clone(),
                })
                .collect();
            let result = broker
                .shares
                .acknowledge(
                    &persister,
                    &group_id,
                    &member_id,
                    topic.topic_id,
                    p.partition_index,
                    &batches,
                    now_ms,
                )
                .await;
            if let Some(message) = result.as_ref().err().and_then(|e| e.message) {
                ack_messages.insert((topic.topic_id, p.partition_index), message);
            }
            acknowledged.insert(
                (topic.topic_id, p.partition_index),
                result.err().map_or(0, |e| e.code()),
            );
        }
    }
    let lock_timeout_ms = broker.group_config(&group_id).share_record_lock_duration_ms;
    if let SessionStep::Closed { partitions } = &step {
        // The final request of a session only acknowledges; the rest goes back.
        broker
            .shares
            .session_closed(&group_id, &member_id, partitions);
        let mut answers = Vec::new();
        for ((topic_id, partition), code) in &acknowledged {
            let message = ack_messages.get(&(*topic_id, *partition));
            answers.push((
                *topic_id,
                PartitionData::default()
                    .with_partition_index(*partition)
                    .with_acknowledge_error_code(*code)
                    .with_acknowledge_error_message(message.map(|m| str_bytes(m.to_string()))),
            ));
        }
        return response(answers, lock_timeout_ms);
    }
    let partitions = broker
        .shares
        .sessions
        .lock()
        .partitions(&group_id, &member_id);
    let readable: Vec<TopicIdPartition> = partitions
        .iter()
        .filter(|(topic_id, _)| !denied.contains(topic_id))
        .copied()
        .collect();
    let load_errors = load_all(broker, &persister, &group_id, &readable).await;
    let max_records = usize::try_from(request.max_records)
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_MAX_RECORDS);
    let deadline = tokio::time::Instant::now()
        + Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0));
    let min_bytes = u64::try_from(request.min_bytes).unwrap_or(0);
    loop {
        // Subscribe before acquiring, so an append or release in between is not missed.
        let released = broker.shares.released.notified();
        let mut receivers = Vec::new();
        if min_bytes > 1 && tokio::time::Instant::now() < deadline {
            let estimate = estimate_all(broker, &group_id, &partitions, &denied, &request);
            if !estimate.has_error && !min_bytes_satisfied(&estimate.fetchable, min_bytes) {
                receivers = estimate.receivers;
                wait_for_change(
                    broker,
                    &mut receivers,
                    released,
                    estimate.next_lock_deadline_ms,
                    deadline,
                )
                .await;
                continue;
            }
        }
        let pass = acquire_all(
            broker,
            &group_id,
            &member_id,
            &partitions,
            &denied,
            &load_errors,
            &request,
            max_records,
            &mut receivers,
        );
        let now = tokio::time::Instant::now();
        // Past the min_bytes check (or its deadline) Kafka completes with what it acquires.
        let complete = if min_bytes > 1 {
            true
        } else {
            pass.acquired || pass.has_error || now >= deadline || !acknowledged.is_empty()
        };
        if complete {
            let subsequent = step == SessionStep::Continued;
            let answers = pass
                .partitions
                .into_iter()
                .filter_map(|(topic_id, data)| {
                    let key = (topic_id, data.partition_index);
                    let code = acknowledged.get(&key).copied();
                    // A subsequent request's answer leaves out the session's partitions
                    // with nothing new (Kafka's incremental share session), unless they
                    // carry an acknowledgement's result or were just added.
                    let idle = data.error_code == 0
                        && data.acquired_records.is_empty()
                        && data.records.as_ref().is_none_or(|r| r.is_empty());
                    if subsequent && idle && code.is_none() && before.contains(&key) {
                        return None;
                    }
                    let message = ack_messages.get(&key).map(|m| str_bytes(m.to_string()));
                    Some((
                        topic_id,
                        data.with_acknowledge_error_code(code.unwrap_or(0))
                            .with_acknowledge_error_message(message),
                    ))
                })
                .collect();
            return response(answers, lock_timeout_ms);
        }
        wait_for_change(
            broker,
            &mut receivers,
            released,
            pass.next_lock_deadline_ms,
            deadline,
        )
        .await;
    }
}

/// Waits until one of the partitions' high watermarks moves, records are released, the
/// first lock of theirs runs out (`next_lock_deadline_ms`, the broker clock's time) or
/// `deadline`, whichever comes first.
async fn wait_for_change(
    broker: &Broker,
    receivers: &mut [watch::Receiver<Offset>],
    released: tokio::sync::futures::Notified<'_>,
    next_lock_deadline_ms: Option<i64>,
    deadline: tokio::time::Instant,
) {
    let now = tokio::time::Instant::now();
    let any_append = async {
        if receivers.is_empty() {
            std::future::pending::<()>().await;
        }
        let changes = receivers.iter_mut().map(|r| Box::pin(r.changed()));
        let _ = futures_util::future::select_all(changes).await;
    };
    // A lock that runs out makes its record acquirable again: wake up for the first.
    let recheck = next_lock_deadline_ms.map_or(deadline, |at_ms| {
        let wait_ms = u64::try_from(at_ms - broker.clock.now_ms()).unwrap_or(0);
        (now + Duration::from_millis(wait_ms)).min(deadline)
    });
    tokio::select! {
        _ = any_append => {}
        _ = released => {}
        _ = tokio::time::sleep_until(recheck) => {}
    }
}

/// The topics of `topic_ids` the session may not READ (none without an authorizer); an
/// id this broker does not know is not among them (it answers UNKNOWN_TOPIC_ID).
pub(super) fn denied_topics(
    broker: &Broker,
    session: &Session,
    topic_ids: impl Iterator<Item = uuid::Uuid>,
) -> BTreeSet<uuid::Uuid> {
    if !broker.authorizer_enabled() {
        return BTreeSet::new();
    }
    let mut denied = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for topic_id in topic_ids {
        if !seen.insert(topic_id) {
            continue;
        }
        if let Some(topic) = broker.topic_by_id(&topic_id) {
            if !broker.authorize_topic(session, &topic.name, AclOperation::Read) {
                denied.insert(topic_id);
            }
        }
    }
    denied
}

/// The answer, partitions grouped by topic in the order they come.
fn response(answers: Vec<(uuid::Uuid, PartitionData)>, lock_timeout_ms: i32) -> ShareFetchResponse {
    let mut topics: Vec<ShareFetchableTopicResponse> = Vec::new();
    for (topic_id, data) in answers {
        match topics.iter_mut().find(|t| t.topic_id == topic_id) {
            Some(t) => t.partitions.push(data),
            None => topics.push(
                ShareFetchableTopicResponse::default()
                    .with_topic_id(topic_id)
                    .with_partitions(vec![data]),
            ),
        }
    }
    ShareFetchResponse::default()
        .with_acquisition_lock_timeout_ms(lock_timeout_ms)
        .with_responses(topics)
}

fn leader(broker: &Broker) -> LeaderIdAndEpoch {
    LeaderIdAndEpoch::default()
        .with_leader_id(broker.config.node_id)
        .with_leader_epoch(0)
}

/// `share.auto.offset.reset`: where a group that never read a partition starts —
/// `earliest` (the log start), `latest` (the high watermark), or `by_duration:<ISO-8601>`
/// (the first record at or after now minus the duration, the high watermark when there
/// is none), as Kafka's share-partition initialises its start offset.
fn reset_offset(partition: &Partition, reset: &str, now_ms: i64) -> i64 {
    let latest = partition.high_watermark().0;
    if reset == "earliest" {
        return partition.log_start_offset().0;
    }
    let Some(nanos) = reset
        .strip_prefix("by_duration:")
        .and_then(crate::group_config::java_duration_nanos)
    else {
        return latest;
    };
    let since_ms = now_ms.saturating_sub(i64::try_from(nanos / 1_000_000).unwrap_or(i64::MAX));
    match partition.with_log(|log| log.offset_for_timestamp(since_ms)) {
        Ok(Some((offset, _))) => offset.0.min(latest),
        _ => latest,
    }
}

/// The limits a share-partition of `group_id` applies: the group's lock duration over
/// the broker's, and the broker's delivery count limit and in-flight records.
fn share_limits(broker: &Broker, group_id: &str) -> SharePartitionLimits {
    SharePartitionLimits {
        record_lock_duration_ms: i64::from(
            broker.group_config(group_id).share_record_lock_duration_ms,
        ),
        delivery_count_limit: broker.share_groups.config.delivery_count_limit,
        max_in_flight: broker.share_groups.config.partition_max_record_locks,
    }
}

/// Loads the share-partitions of the member's session that this broker leads and has not
/// loaded at their partition's leader epoch (reading their state from the share
/// coordinator); returns what failed, with the error the client gets.
async fn load_all(
    broker: &Arc<Broker>,
    persister: &BrokerPersister,
    group_id: &str,
    partitions: &[TopicIdPartition],
) -> BTreeMap<TopicIdPartition, ErrorCode> {
    let mut failed = BTreeMap::new();
    let limits = share_limits(broker, group_id);
    let reset = broker
        .group_config(group_id)
        .share_auto_offset_reset
        .trim()
        .to_string();
    for &(topic_id, index) in partitions {
        let Some(partition) = broker
            .topic_by_id(&topic_id)
            .and_then(|t| t.partition(index).cloned())
            .filter(|p| p.is_leader())
        else {
            continue;
        };
        let loaded = broker
            .shares
            .load(
                persister,
                (group_id, topic_id, index),
                partition.leader_epoch().0,
                limits,
                || reset_offset(&partition, &reset, broker.clock.now_ms()),
            )
            .await;
        if let Err(e) = loaded {
            tracing::warn!("share-partition {group_id}:{topic_id}:{index} not loaded: {e:?}");
            failed.insert((topic_id, index), persister::client_error(&e));
        }
    }
    failed
}

/// What one share-partition could give a ShareFetch that waits for `min_bytes`, as
/// Kafka's `DelayedShareFetch.isMinBytesSatisfied` estimates it before acquiring: it
/// assumes everything from the fetch offset on can be acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetchable {
    /// The log bytes from the batch holding the fetch offset up to the high watermark
    /// (last stable offset), capped at the partition's max bytes.
    Bytes(u64),
    /// Kafka completes at once: the fetch offset lies in an older segment than the high
    /// watermark (a lagging member, or a segment just rolled), or past it, or the log
    /// could not be read there (the answer then carries the error).
    Now,
}

/// Whether the estimates reach `min_bytes` (any partition that completes at once does).
fn min_bytes_satisfied(fetchable: &[Fetchable], min_bytes: u64) -> bool {
    let mut bytes = 0u64;
    for f in fetchable {
        match f {
            Fetchable::Now => return true,
            Fetchable::Bytes(n) => bytes = bytes.saturating_add(*n),
        }
    }
    bytes >= min_bytes
}

/// What `log` could give from `fetch_offset` up to `bound` (the high watermark or the
/// last stable offset) within `max_bytes`, as Kafka compares the fetch offset's metadata
/// with the bound's: on the same segment the byte distance between them, capped.
fn fetchable(log: &Log, fetch_offset: i64, bound: i64, max_bytes: u64) -> Fetchable {
    if fetch_offset > bound {
        return Fetchable::Now;
    }
    if fetch_offset == bound {
        return Fetchable::Bytes(0);
    }
    let bases = log.segment_base_offsets();
    let segment_of = |offset: i64| bases.partition_point(|b| b.0 <= offset);
    if segment_of(fetch_offset) < segment_of(bound) {
        return Fetchable::Now;
    }
    // Whole batches up to max_bytes: one more below the bound that did not fit means the
    // distance exceeds max_bytes, so the capped distance is max_bytes.
    match log.read(Offset(fetch_offset), max_bytes, Offset(bound), true) {
        Ok(read) if read.next_offset.0 < bound => Fetchable::Bytes(max_bytes),
        Ok(read) => Fetchable::Bytes(read.size_bytes.min(max_bytes)),
        Err(_) => Fetchable::Now,
    }
}

/// The partition's own max bytes the request names (ShareFetch v0 had one; 0 or absent:
/// none).
fn partition_max_bytes(
    request: &ShareFetchRequest,
    topic_id: uuid::Uuid,
    index: i32,
) -> Option<u64> {
    request
        .topics
        .iter()
        .find(|t| t.topic_id == topic_id)
        .and_then(|t| t.partitions.iter().find(|p| p.partition_index == index))
        .and_then(|p| u64::try_from(p.partition_max_bytes).ok())
        .filter(|b| *b > 0)
}

/// Where `share.isolation.level` lets a share fetch read to: the high watermark, or the
/// last stable offset for read_committed.
fn read_bound(partition: &crate::partition::Partition, read_committed: bool) -> Offset {
    if read_committed {
        partition.last_stable_offset()
    } else {
        partition.high_watermark()
    }
}

/// The earlier of two optional lock deadlines.
fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One min_bytes check over the member's session partitions.
struct Estimate {
    /// One per share-partition that could acquire now (its next fetch offset exists).
    fetchable: Vec<Fetchable>,
    /// A partition the answer gives an error (unknown, not authorized, not led here, not
    /// loaded): the request completes at once, as without min_bytes.
    has_error: bool,
    receivers: Vec<watch::Receiver<Offset>>,
    /// The first time a lock of these partitions runs out.
    next_lock_deadline_ms: Option<i64>,
}

/// Kafka's `DelayedShareFetch.tryComplete` before it acquires: the share-partitions that
/// could acquire records (`canAcquireRecords`), each given the request's `max_bytes`
/// split evenly among them (its `PartitionMaxBytesStrategy` UNIFORM) unless the request
/// names a partition max, and what each could give from its next fetch offset.
fn estimate_all(
    broker: &Broker,
    group_id: &str,
    partitions: &[TopicIdPartition],
    denied: &BTreeSet<uuid::Uuid>,
    request: &ShareFetchRequest,
) -> Estimate {
    let mut estimate = Estimate {
        fetchable: Vec::new(),
        has_error: false,
        receivers: Vec::new(),
        next_lock_deadline_ms: None,
    };
    let read_committed = broker.group_config(group_id).share_isolation_level == "read_committed";
    let limits = share_limits(broker, group_id);
    let now_ms = broker.clock.now_ms();
    let mut acquirable = Vec::new();
    for &(topic_id, index) in partitions {
        let partition = broker
            .topic_by_id(&topic_id)
            .filter(|_| !denied.contains(&topic_id))
            .and_then(|t| t.partition(index).cloned())
            .filter(|p| p.is_leader());
        let Some(partition) = partition else {
            estimate.has_error = true;
            continue;
        };
        let leader_epoch = partition.leader_epoch().0;
        let Some(entry) = broker
            .shares
            .get(group_id, topic_id, index)
            .filter(|e| e.leader_epoch == leader_epoch)
        else {
            estimate.has_error = true;
            continue;
        };
        estimate.receivers.push(partition.subscribe());
        let fetch_offset = {
            let mut sp = entry.partition.lock();
            sp.limits = limits;
            sp.advance_to_log_start(partition.log_start_offset().0);
            let fetch_offset = sp.next_fetch_offset(now_ms);
            estimate.next_lock_deadline_ms =
                earliest(estimate.next_lock_deadline_ms, sp.next_lock_deadline_ms());
            fetch_offset
        };
        let Some(fetch_offset) = fetch_offset else {
            continue;
        };
        let partition_max_bytes = partition_max_bytes(request, topic_id, index);
        acquirable.push((partition, fetch_offset, partition_max_bytes));
    }
    let count = u64::try_from(acquirable.len()).unwrap_or(u64::MAX).max(1);
    let even_share = u64::try_from(request.max_bytes).unwrap_or(0) / count;
    for (partition, fetch_offset, partition_max_bytes) in acquirable {
        let bound = read_bound(&partition, read_committed);
        let max_bytes = partition_max_bytes.unwrap_or(even_share);
        estimate
            .fetchable
            .push(partition.with_log(|log| fetchable(log, fetch_offset, bound.0, max_bytes)));
    }
    estimate
}

struct Pass {
    partitions: Vec<(uuid::Uuid, PartitionData)>,
    acquired: bool,
    has_error: bool,
    /// The first time a lock of these partitions runs out.
    next_lock_deadline_ms: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
fn acquire_all(
    broker: &Broker,
    group_id: &str,
    member_id: &str,
    partitions: &[TopicIdPartition],
    denied: &BTreeSet<uuid::Uuid>,
    load_errors: &BTreeMap<TopicIdPartition, ErrorCode>,
    request: &ShareFetchRequest,
    max_records: usize,
    receivers: &mut Vec<watch::Receiver<Offset>>,
) -> Pass {
    let mut pass = Pass {
        partitions: Vec::with_capacity(partitions.len()),
        acquired: false,
        has_error: false,
        next_lock_deadline_ms: None,
    };
    let mut remaining_bytes = u64::try_from(request.max_bytes).unwrap_or(0);
    let mut remaining_records = max_records;
    let config = broker.group_config(group_id);
    let limits = share_limits(broker, group_id);
    // share.isolation.level: read_committed stops at the last stable offset and archives
    // the records of aborted transactions instead of delivering them.
    let read_committed = config.share_isolation_level == "read_committed";
    let now_ms = broker.clock.now_ms();
    for &(topic_id, index) in partitions {
        // The current leader is set only with NOT_LEADER_OR_FOLLOWER, as Kafka's.
        let base = PartitionData::default().with_partition_index(index);
        // As Kafka: an unknown id first, then authorization, then the partition.
        let partition = match broker.topic_by_id(&topic_id) {
            None => Err(ErrorCode::UnknownTopicId),
            Some(_) if denied.contains(&topic_id) => {
                pass.has_error = true;
                let code = ErrorCode::TopicAuthorizationFailed.code();
                pass.partitions.push((
                    topic_id,
                    PartitionData::default()
                        .with_partition_index(index)
                        .with_error_code(code),
                ));
                continue;
            }
            Some(t) => t
                .partition(index)
                .cloned()
                .ok_or(ErrorCode::UnknownTopicOrPartition),
        };
        let partition = match partition {
            Ok(p) if p.is_leader() => p,
            other => {
                let code = other.err().unwrap_or(ErrorCode::NotLeaderOrFollower);
                pass.has_error = true;
                let base = if code == ErrorCode::NotLeaderOrFollower {
                    base.with_current_leader(leader(broker))
                } else {
                    base
                };
                pass.partitions
                    .push((topic_id, base.with_error_code(code.code())));
                continue;
            }
        };
        let leader_epoch = partition.leader_epoch().0;
        let loaded = broker
            .shares
            .get(group_id, topic_id, index)
            .filter(|e| e.leader_epoch == leader_epoch);
        let Some(entry) = loaded else {
            // Its state could not be read (or it moved here since): the client retries.
            let code = load_errors
                .get(&(topic_id, index))
                .copied()
                .unwrap_or(ErrorCode::CoordinatorNotAvailable);
            pass.has_error = true;
            pass.partitions
                .push((topic_id, base.with_error_code(code.code())));
            continue;
        };
        receivers.push(partition.subscribe());
        let mut sp = entry.partition.lock();
        sp.limits = limits;
        sp.advance_to_log_start(partition.log_start_offset().0);
        let max_bytes = partition_max_bytes(request, topic_id, index)
            .unwrap_or(remaining_bytes)
            .min(remaining_bytes);
        let fetch_offset = sp.next_fetch_offset(now_ms);
        pass.next_lock_deadline_ms =
            earliest(pass.next_lock_deadline_ms, sp.next_lock_deadline_ms());
        let bound = read_bound(&partition, read_committed);
        let readable = fetch_offset.filter(|o| *o < bound.0);
        let (Some(offset), true) = (readable, remaining_records > 0 && max_bytes > 0) else {
            pass.partitions.push((topic_id, base));
            continue;
        };
        // Read only as far as this fetch can acquire: the in-flight window (what may be
        // redelivered) and `remaining_records` past its end (the batch holding the last
        // one comes whole). Reading all `max_bytes` (50 MiB from a Java consumer) to
        // acquire 500 records copied the log many times over.
        let end = sp.end_offset();
        let wanted_last = end
            .max(offset)
            .saturating_sub(1)
            .saturating_add(i64::try_from(remaining_records).unwrap_or(i64::MAX));
        let read = read_until(
            &partition,
            offset,
            wanted_last,
            max_bytes,
            pass.partitions.is_empty() || !pass.acquired,
            read_committed,
        );
        let (chunks, aborted) = match read {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!("share fetch of {topic_id}-{index} for {group_id}: {e}");
                pass.has_error = true;
                pass.partitions.push((
                    topic_id,
                    base.with_error_code(ErrorCode::KafkaStorageError.code()),
                ));
                continue;
            }
        };
        // The fetched batches as Kafka's share-partition takes them: records of aborted
        // transactions archived; the rest acquired as one request — first what is inside
        // the in-flight window (redeliveries), then what lies past its end (new
        // records, shaped by `max_records` and `batch_size`).
        let mut fetched: Vec<(i64, i64, &[u8])> = Vec::new();
        for batch in chunks.iter().flat_map(|data| batches(data)) {
            let Ok(batch) = batch else { break };
            if batch.is_control() || batch.last_offset() < offset {
                continue;
            }
            let in_aborted = batch.is_transactional()
                && aborted.iter().any(|a| {
                    a.producer_id == batch.producer_id()
                        && a.first_offset <= batch.base_offset()
                        && batch.base_offset() <= a.last_offset
                });
            if in_aborted {
                sp.archive(batch.base_offset().max(offset), batch.last_offset());
                continue;
            }
            fetched.push((batch.base_offset(), batch.last_offset(), batch.as_bytes()));
        }
        let batch_size = usize::try_from(request.batch_size)
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(usize::MAX);
        let mut ranges = Vec::new();
        if let (Some(first), Some(last)) = (
            fetched.first().map(|b| b.0.max(offset)),
            fetched.last().map(|b| b.1),
        ) {
            let window_last = last.min(end - 1);
            if first <= window_last {
                ranges.extend(sp.acquire(member_id, first, window_last, remaining_records, now_ms));
            }
        }
        let window_count: usize = ranges
            .iter()
            .map(|r| usize::try_from(r.last_offset - r.first_offset + 1).unwrap_or(0))
            .sum();
        remaining_records = remaining_records.saturating_sub(window_count);
        let fresh: Vec<(i64, i64, &[u8])> =
            fetched.iter().filter(|b| b.1 >= end).copied().collect();
        if remaining_records > 0 {
            let shaped = shape_new_records(&fresh, end, remaining_records, batch_size);
            for (first, last) in shaped.ranges {
                let new = sp.acquire(member_id, first, last, usize::MAX, now_ms);
                for r in &new {
                    let count = usize::try_from(r.last_offset - r.first_offset + 1).unwrap_or(0);
                    remaining_records = remaining_records.saturating_sub(count);
                }
                ranges.extend(new);
            }
        }
        let sent: Vec<&[u8]> = fetched
            .iter()
            .filter(|(base, last, _)| {
                ranges
                    .iter()
                    .any(|r| r.first_offset <= *last && *base <= r.last_offset)
            })
            .map(|(_, _, bytes)| *bytes)
            .collect();
        let records = records_of(&chunks, &sent);
        let acquired: Vec<AcquiredRecords> = ranges
            .iter()
            .map(|r| {
                AcquiredRecords::default()
                    .with_first_offset(r.first_offset)
                    .with_last_offset(r.last_offset)
                    .with_delivery_count(r.delivery_count)
            })
            .collect();
        remaining_bytes = remaining_bytes.saturating_sub(records.len() as u64);
        pass.acquired |= !acquired.is_empty();
        let records: Option<Bytes> = (!records.is_empty()).then_some(records);
        pass.partitions.push((
            topic_id,
            base.with_records(records).with_acquired_records(acquired),
        ));
    }
    pass
}

/// The bytes of the batches `sent` (slices of `chunks`, in log order): a slice of the
/// chunk, not a copy, when they lie back to back in one (the usual case: the batches of
/// one acquisition follow each other in the log).
fn records_of(chunks: &[Bytes], sent: &[&[u8]]) -> Bytes {
    let (Some(first), Some(last)) = (sent.first(), sent.last()) else {
        return Bytes::new();
    };
    let start = first.as_ptr() as usize;
    let end = last.as_ptr() as usize + last.len();
    let contiguous = sent
        .windows(2)
        .all(|w| w[0].as_ptr() as usize + w[0].len() == w[1].as_ptr() as usize);
    let chunk = chunks.iter().find(|c| {
        let at = c.as_ptr() as usize;
        at <= start && end <= at + c.len()
    });
    match chunk {
        Some(chunk) if contiguous => {
            let from = start - chunk.as_ptr() as usize;
            chunk.slice(from..from + (end - start))
        }
        _ => {
            let mut out = BytesMut::with_capacity(sent.iter().map(|b| b.len()).sum());
            for bytes in sent {
                out.extend_from_slice(bytes);
            }
            out.freeze()
        }
    }
}

/// How much of the log one read of a share fetch takes: reads go on in chunks of this
/// size until they reach the last offset the fetch could acquire.
const SHARE_READ_CHUNK: u64 = 1 << 20;

/// Reads whole batches from `offset` until one ends past `wanted_last`, the log (up to
/// the high watermark, or the last stable offset) ends, or `max_bytes` is used up; the
/// chunks read and, for `read_committed`, the aborted transactions they overlap. The
/// first read may return one batch larger than `max_bytes` when `min_one_batch` (as
/// Kafka's first partition of a fetch); later ones stop before a batch that does not fit.
fn read_until(
    partition: &crate::partition::Partition,
    offset: i64,
    wanted_last: i64,
    max_bytes: u64,
    min_one_batch: bool,
    read_committed: bool,
) -> Result<(Vec<Bytes>, Vec<rafka_log::AbortedTxn>), String> {
    let mut chunks = Vec::new();
    let mut aborted = Vec::new();
    let mut cursor = offset;
    let mut left = max_bytes;
    while left > 0 {
        let first = chunks.is_empty();
        let read = partition
            .read_for_consumer(
                Offset(cursor),
                left.min(SHARE_READ_CHUNK),
                // Past the first chunk: at least one batch, dropped below when it
                // overruns what is left.
                !first || min_one_batch,
                read_committed,
            )
            .map_err(|e| e.to_string())?;
        if read.records.is_empty() {
            break;
        }
        let data = read.records.to_bytes().map_err(|e| e.to_string())?;
        let size = data.len() as u64;
        if !first && size > left {
            break;
        }
        left = left.saturating_sub(size);
        cursor = read.records.next_offset.0;
        aborted.extend(read.aborted.unwrap_or_default());
        chunks.push(data);
        if cursor > wanted_last {
            break;
        }
    }
    Ok((chunks, aborted))
}

/// New records' acquisition, shaped as Kafka's share-partition acquires them.
struct NewRecords {
    /// The offset ranges to acquire, each one AcquiredRecords and one in-flight batch.
    ranges: Vec<(i64, i64)>,
}

/// Kafka's `acquireNewBatchRecords`/`createBatches` over `fresh` (the fetched batches
/// from the share-partition's end on, as (base offset, last offset, bytes); the first
/// may start before `end`): `max_records` is a soft limit — the batch holding the last
/// wanted offset is acquired to its end — and what is acquired is split at batch
/// boundaries into ranges of at least `batch_size` records each once it exceeds it.
fn shape_new_records(
    fresh: &[(i64, i64, &[u8])],
    end: i64,
    max_records: usize,
    batch_size: usize,
) -> NewRecords {
    let (Some(first_batch), Some(last_batch)) = (fresh.first(), fresh.last()) else {
        return NewRecords { ranges: Vec::new() };
    };
    if max_records == 0 {
        return NewRecords { ranges: Vec::new() };
    }
    let first = first_batch.0.max(end);
    let mut last = last_batch.1;
    let wanted = i64::try_from(max_records).unwrap_or(i64::MAX);
    if wanted < last - first + 1 {
        // lastOffsetFromBatchWithRequestOffset: the end of the batch holding the offset.
        let target = first + wanted - 1;
        last = fresh
            .iter()
            .take_while(|(base, _, _)| target >= *base)
            .last()
            .filter(|(_, batch_last, _)| target <= *batch_last)
            .map_or(target, |(_, batch_last, _)| *batch_last);
    }
    let size = i64::try_from(batch_size).unwrap_or(i64::MAX);
    let mut ranges = Vec::new();
    let mut current = first;
    if last - first + 1 > size {
        for (base, _, _) in fresh {
            if *base > last {
                break;
            }
            if *base - current >= size {
                ranges.push((current, base - 1));
                current = *base;
            }
        }
    }
    ranges.push((current, last));
    NewRecords { ranges }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_to_back_batches_are_sent_as_a_slice_of_the_read_others_copied() {
        let chunks = [
            Bytes::from_static(b"aaaabbbbcccc"),
            Bytes::from_static(b"dddd"),
        ];
        let (a, b, c, d) = (
            &chunks[0][0..4],
            &chunks[0][4..8],
            &chunks[0][8..12],
            &chunks[1][..],
        );
        let together = records_of(&chunks, &[a, b]);
        assert_eq!(&together[..], b"aaaabbbb");
        assert_eq!(together.as_ptr(), chunks[0].as_ptr(), "no copy");
        let apart = records_of(&chunks, &[a, c]);
        assert_eq!(&apart[..], b"aaaacccc");
        let across = records_of(&chunks, &[c, d]);
        assert_eq!(&across[..], b"ccccdddd");
        assert!(records_of(&chunks, &[]).is_empty());
        assert_eq!(&records_of(&chunks, &[b])[..], b"bbbb");
    }

    fn shape(batches: &[(i64, i64)], end: i64, max: usize, size: usize) -> Vec<(i64, i64)> {
        let fresh: Vec<(i64, i64, &[u8])> =
            batches.iter().map(|(b, l)| (*b, *l, &[][..])).collect();
        shape_new_records(&fresh, end, max, size).ranges
    }

    /// A log in `dir` rolling a segment before it passes `segment_bytes`.
    fn open_log(dir: &std::path::Path, segment_bytes: u64) -> Log {
        let config = rafka_log::LogConfig {
            segment_bytes,
            ..rafka_log::LogConfig::default()
        };
        let clock: rafka_types::SharedClock = rafka_types::ManualClock::new(1_700_000_000_000);
        Log::open(
            dir.to_path_buf(),
            config,
            clock,
            rafka_log::OpenOptions::default(),
        )
        .unwrap()
    }

    /// Appends a batch of `records` records of 100-byte values; returns its size.
    fn append(log: &mut Log, records: usize) -> u64 {
        let mut builder = rafka_protocol::batch::BatchBuilder::new(0);
        for _ in 0..records {
            builder.append(1_700_000_000_000, None, Some(&[7u8; 100]), &[]);
        }
        let bytes = builder.build().unwrap();
        log.append_as_leader(&bytes).unwrap();
        bytes.len() as u64
    }

    #[test]
    fn fetchable_counts_the_bytes_from_the_fetch_offsets_batch_to_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open_log(dir.path(), 1 << 20);
        let first = append(&mut log, 3); // offsets 0-2
        let second = append(&mut log, 2); // offsets 3-4
        let end = log.log_end_offset().0;
        assert_eq!(end, 5);
        // From the start: both batches.
        assert_eq!(
            fetchable(&log, 0, end, 1 << 20),
            Fetchable::Bytes(first + second)
        );
        // An offset inside a batch counts that batch whole, as Kafka's fetch offset
        // metadata points at the batch's position.
        assert_eq!(
            fetchable(&log, 1, end, 1 << 20),
            Fetchable::Bytes(first + second)
        );
        assert_eq!(fetchable(&log, 3, end, 1 << 20), Fetchable::Bytes(second));
        // Only up to the bound (the high watermark, or the last stable offset).
        assert_eq!(fetchable(&log, 0, 3, 1 << 20), Fetchable::Bytes(first));
        // Nothing past the bound; a fetch offset past it completes at once.
        assert_eq!(fetchable(&log, end, end, 1 << 20), Fetchable::Bytes(0));
        assert_eq!(fetchable(&log, 4, 3, 1 << 20), Fetchable::Now);
        // Capped at the partition's max bytes, also when the first batch alone is larger.
        assert_eq!(
            fetchable(&log, 0, end, first + 1),
            Fetchable::Bytes(first + 1)
        );
        assert_eq!(fetchable(&log, 0, end, 10), Fetchable::Bytes(10));
        assert_eq!(
            fetchable(&log, 0, end, first + second),
            Fetchable::Bytes(first + second)
        );
    }

    #[test]
    fn fetchable_completes_at_once_from_an_older_segment() {
        let dir = tempfile::tempdir().unwrap();
        // Each batch of 5 records (~600 bytes) fills a segment: the next one rolls.
        let mut log = open_log(dir.path(), 700);
        let size = append(&mut log, 5);
        assert!(size > 350 && size <= 700, "{size}");
        append(&mut log, 5);
        append(&mut log, 5);
        assert_eq!(log.segment_base_offsets().len(), 3);
        let end = log.log_end_offset().0;
        // The fetch offset's segment is older than the bound's: Kafka does not count.
        assert_eq!(fetchable(&log, 2, end, 1 << 20), Fetchable::Now);
        assert_eq!(fetchable(&log, 7, end, 1 << 20), Fetchable::Now);
        // On the bound's segment the bytes count.
        assert_eq!(fetchable(&log, 10, end, 1 << 20), Fetchable::Bytes(size));
        // A bound at the start of the last segment is in it: the fetch offset is older.
        assert_eq!(fetchable(&log, 5, 10, 1 << 20), Fetchable::Now);
        assert_eq!(fetchable(&log, 5, 9, 1 << 20), Fetchable::Bytes(size));
    }

    #[test]
    fn min_bytes_is_satisfied_by_the_sum_or_a_partition_that_completes_at_once() {
        use Fetchable::{Bytes, Now};
        assert!(min_bytes_satisfied(&[Bytes(600), Bytes(400)], 1000));
        assert!(!min_bytes_satisfied(&[Bytes(600), Bytes(399)], 1000));
        assert!(!min_bytes_satisfied(&[], 2));
        assert!(min_bytes_satisfied(&[Bytes(0), Now], 1 << 30));
        assert!(min_bytes_satisfied(&[Bytes(u64::MAX), Bytes(1)], u64::MAX));
    }

    #[test]
    fn new_records_are_acquired_as_kafka_shapes_them() {
        // Within batch_size: one range over all the batches.
        assert_eq!(shape(&[(0, 4), (5, 7), (8, 9)], 0, 100, 100), vec![(0, 9)]);
        // Past batch_size: split where a batch starts at least batch_size after the range.
        assert_eq!(
            shape(&[(0, 3), (4, 7), (8, 11)], 0, 100, 5),
            vec![(0, 7), (8, 11)]
        );
        // max_records is soft: the batch holding the last wanted offset comes whole.
        assert_eq!(shape(&[(0, 3), (4, 7), (8, 11)], 0, 6, 100), vec![(0, 7)]);
        assert_eq!(
            shape(&[(0, 2), (3, 5), (6, 8), (9, 11)], 0, 7, 2),
            vec![(0, 2), (3, 5), (6, 8)]
        );
        // One batch larger than batch_size is never split.
        assert_eq!(shape(&[(0, 9)], 0, 100, 3), vec![(0, 9)]);
        // The first batch may start before the share-partition's end.
        assert_eq!(shape(&[(0, 9)], 4, 3, 100), vec![(4, 9)]);
        assert!(shape(&[(0, 9)], 0, 0, 100).is_empty());
    }
}
