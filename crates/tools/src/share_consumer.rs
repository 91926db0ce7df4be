//! A share-group consumer (KIP-932) over rafka's raw-request client, for
//! `kafka-console-share-consumer.sh`: librdkafka as bundled by the `rdkafka` crate has no
//! share consumer yet.
//!
//! It does what Kafka's `KafkaShareConsumer` does in explicit acknowledgement mode, one
//! step per [`ShareConsumer::poll`]: heartbeats to the group coordinator
//! (ShareGroupHeartbeat, the member id made here as Kafka's client makes it), keeps one
//! share session per partition leader, fetches from all leaders at once (ShareFetch) with
//! the acknowledgements of the records delivered since the last fetch piggy-backed, and
//! hands out only the records inside the acquired ranges. Offsets of an acquired range
//! that carry no record (transaction markers, compacted away) are acknowledged as gaps.
//! [`ShareConsumer::close`] releases what was delivered but not acknowledged, closes the
//! sessions (ShareAcknowledge with the final epoch) and leaves the group.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch as AckBatch,
};
use kafka_protocol::messages::share_fetch_request::{
    AcknowledgementBatch, FetchPartition, FetchTopic, ForgottenTopic,
};
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, ShareAcknowledgeRequest,
    ShareAcknowledgeResponse, ShareFetchRequest, ShareFetchResponse, ShareGroupHeartbeatRequest,
    ShareGroupHeartbeatResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{RecordBatchDecoder, TimestampType};
use rafka_client::{connect_within, WireClient};
use rafka_protocol::ErrorCode;

use crate::common::kafka_uuid_string;
use crate::ToolError;

/// A partition as the share APIs name it.
type TopicPartition = (uuid::Uuid, i32);

/// Kafka's `AcknowledgeType`, with the wire codes of ShareFetch/ShareAcknowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcknowledgeType {
    Accept,
    Release,
    Reject,
}

impl AcknowledgeType {
    fn code(self) -> i8 {
        match self {
            AcknowledgeType::Accept => 1,
            AcknowledgeType::Release => 2,
            AcknowledgeType::Reject => 3,
        }
    }
}

/// A gap in an acquired range: an offset with no record to deliver.
const GAP: i8 = 0;

/// The final share session epoch: closes the session.
const FINAL_EPOCH: i32 = -1;

/// One delivered record.
#[derive(Debug, Clone)]
pub struct ShareRecord {
    pub topic: String,
    topic_id: uuid::Uuid,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub delivery_count: i16,
}

/// What the consumer is told at construction.
#[derive(Debug, Clone)]
pub struct ShareConsumerConfig {
    pub bootstrap: String,
    pub group: String,
    pub client_id: String,
    pub topics: Vec<String>,
    /// How long one request may take before the consumer gives up on it.
    pub request_timeout: Duration,
    /// `fetch.max.wait.ms`: how long a leader may hold a fetch with nothing to deliver.
    pub max_wait: Duration,
    /// `max.poll.records`.
    pub max_records: i32,
}

/// The share session with one partition leader.
#[derive(Debug)]
struct Session {
    client: WireClient,
    /// 0 until the leader has opened the session, then the next epoch to send.
    epoch: i32,
    /// The partitions the session holds on the leader.
    partitions: BTreeSet<TopicPartition>,
    /// Acknowledgements to send with the next request, by partition and offset.
    acks: BTreeMap<TopicPartition, BTreeMap<i64, i8>>,
}

#[derive(Debug)]
pub struct ShareConsumer {
    config: ShareConsumerConfig,
    bootstrap: WireClient,
    coordinator: Option<WireClient>,
    member_id: String,
    member_epoch: i32,
    heartbeat_interval: Duration,
    next_heartbeat: Instant,
    assignment: BTreeSet<TopicPartition>,
    names: HashMap<uuid::Uuid, String>,
    leaders: HashMap<TopicPartition, i32>,
    addresses: HashMap<i32, String>,
    sessions: BTreeMap<i32, Session>,
    /// Delivered records not acknowledged yet: released on close.
    unacknowledged: BTreeMap<TopicPartition, BTreeSet<i64>>,
    ready: VecDeque<ShareRecord>,
}

impl ShareConsumer {
    pub async fn connect(config: ShareConsumerConfig) -> Result<ShareConsumer, ToolError> {
        let mut bootstrap = connect_within(&config.bootstrap, config.request_timeout).await?;
        bootstrap.set_client_id(&config.client_id);
        Ok(ShareConsumer {
            member_id: kafka_uuid_string(&uuid::Uuid::new_v4()),
            bootstrap,
            coordinator: None,
            member_epoch: 0,
            heartbeat_interval: Duration::from_secs(5),
            next_heartbeat: Instant::now(),
            assignment: BTreeSet::new(),
            names: HashMap::new(),
            leaders: HashMap::new(),
            addresses: HashMap::new(),
            sessions: BTreeMap::new(),
            unacknowledged: BTreeMap::new(),
            ready: VecDeque::new(),
            config,
        })
    }

    /// The next records delivered to this member, waiting up to `timeout` for some.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ShareRecord>, ToolError> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.ready.is_empty() {
                return Ok(self.ready.drain(..).collect());
            }
            if Instant::now() >= self.next_heartbeat {
                self.heartbeat().await?;
            }
            let wait = self
                .config
                .max_wait
                .min(deadline.saturating_duration_since(Instant::now()))
                .min(
                    self.next_heartbeat
                        .saturating_duration_since(Instant::now()),
                );
            if self.assignment.is_empty() {
                // Nothing to fetch from until the coordinator assigns partitions.
                tokio::time::sleep(wait.max(Duration::from_millis(10))).await;
            } else {
                self.fetch(wait).await?;
            }
            if self.ready.is_empty() && Instant::now() >= deadline {
                return Ok(Vec::new());
            }
        }
    }

    /// Records the acknowledgement of a delivered record; it goes with the next request
    /// to the record's leader.
    pub fn acknowledge(&mut self, record: &ShareRecord, kind: AcknowledgeType) {
        let tp = (record.topic_id, record.partition);
        if let Some(offsets) = self.unacknowledged.get_mut(&tp) {
            offsets.remove(&record.offset);
        }
        self.queue_ack(tp, record.offset, kind.code());
    }

    fn queue_ack(&mut self, tp: TopicPartition, offset: i64, code: i8) {
        let Some(leader) = self.leaders.get(&tp) else {
            return;
        };
        if let Some(session) = self.sessions.get_mut(leader) {
            session.acks.entry(tp).or_default().insert(offset, code);
        }
    }

    /// Releases what was delivered and not acknowledged, sends the last
    /// acknowledgements, closes the share sessions and leaves the group.
    pub async fn close(mut self) -> Result<(), ToolError> {
        let pending: Vec<(TopicPartition, i64)> = std::mem::take(&mut self.unacknowledged)
            .into_iter()
            .flat_map(|(tp, offsets)| offsets.into_iter().map(move |o| (tp, o)))
            .collect();
        for (tp, offset) in pending {
            self.queue_ack(tp, offset, AcknowledgeType::Release.code());
        }
        let timeout = self.config.request_timeout;
        let group = self.config.group.clone();
        let member = self.member_id.clone();
        for session in self.sessions.values_mut() {
            if session.epoch == 0 {
                continue;
            }
            let topics = ack_topics(std::mem::take(&mut session.acks), |tp, batches| {
                (
                    tp,
                    batches
                        .into_iter()
                        .map(|(first, last, types)| {
                            AckBatch::default()
                                .with_first_offset(first)
                                .with_last_offset(last)
                                .with_acknowledge_types(types)
                        })
                        .collect::<Vec<_>>(),
                )
            });
            let request = ShareAcknowledgeRequest::default()
                .with_group_id(Some(GroupId(StrBytes::from_string(group.clone()))))
                .with_member_id(Some(StrBytes::from_string(member.clone())))
                .with_share_session_epoch(FINAL_EPOCH)
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(topic_id, partitions)| {
                            AcknowledgeTopic::default()
                                .with_topic_id(topic_id)
                                .with_partitions(
                                    partitions
                                        .into_iter()
                                        .map(|(p, batches)| {
                                            AcknowledgePartition::default()
                                                .with_partition_index(p)
                                                .with_acknowledgement_batches(batches)
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            let version = session.client.version_for(ApiKey::ShareAcknowledge, 1)?;
            // A leader gone away keeps its locks until they run out: nothing to do here.
            let _: Result<ShareAcknowledgeResponse, _> = session
                .client
                .call_within(ApiKey::ShareAcknowledge, version, &request, timeout)
                .await;
        }
        if self.member_epoch > 0 {
            self.member_epoch = -1;
            let _ = self.heartbeat().await;
        }
        Ok(())
    }

    async fn coordinator(&mut self) -> Result<&mut WireClient, ToolError> {
        if self.coordinator.is_none() {
            let timeout = self.config.request_timeout;
            let version = self.bootstrap.version_for(ApiKey::FindCoordinator, 6)?;
            let request = FindCoordinatorRequest::default().with_key_type(0);
            let request = if version >= 4 {
                request
                    .with_coordinator_keys(vec![StrBytes::from_string(self.config.group.clone())])
            } else {
                request.with_key(StrBytes::from_string(self.config.group.clone()))
            };
            let response: FindCoordinatorResponse = self
                .bootstrap
                .call_within(ApiKey::FindCoordinator, version, &request, timeout)
                .await?;
            let (code, message, host, port) = match response.coordinators.first() {
                Some(c) if version >= 4 => (
                    c.error_code,
                    c.error_message.as_ref().map(ToString::to_string),
                    c.host.to_string(),
                    c.port,
                ),
                _ => (
                    response.error_code,
                    response.error_message.as_ref().map(ToString::to_string),
                    response.host.to_string(),
                    response.port,
                ),
            };
            if code != 0 {
                return Err(kafka_error(code, message.as_deref()));
            }
            let mut client = connect_within(&format!("{host}:{port}"), timeout).await?;
            client.set_client_id(&self.config.client_id);
            self.coordinator = Some(client);
        }
        Ok(self.coordinator.as_mut().expect("set above"))
    }

    /// One ShareGroupHeartbeat: joins (epoch 0), keeps the membership, takes the
    /// assignment, or leaves (epoch -1).
    async fn heartbeat(&mut self) -> Result<(), ToolError> {
        let timeout = self.config.request_timeout;
        let joining = self.member_epoch == 0;
        let request = ShareGroupHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.config.group.clone())))
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_member_epoch(self.member_epoch)
            .with_subscribed_topic_names(joining.then(|| {
                self.config
                    .topics
                    .iter()
                    .map(|t| TopicName(StrBytes::from_string(t.clone())))
                    .collect()
            }));
        let leaving = self.member_epoch < 0;
        let client = self.coordinator().await?;
        let version = client.version_for(ApiKey::ShareGroupHeartbeat, 1)?;
        let response: ShareGroupHeartbeatResponse = match client
            .call_within(ApiKey::ShareGroupHeartbeat, version, &request, timeout)
            .await
        {
            Ok(response) => response,
            Err(e) => {
                // The coordinator may have moved: find it again next time.
                self.coordinator = None;
                return Err(e.into());
            }
        };
        if leaving {
            return Ok(());
        }
        match ErrorCode::try_from_code(response.error_code) {
            None => {}
            Some(ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable) => {
                self.coordinator = None;
                self.next_heartbeat = Instant::now();
                return Ok(());
            }
            Some(ErrorCode::CoordinatorLoadInProgress) => {
                self.next_heartbeat = Instant::now() + Duration::from_millis(100);
                return Ok(());
            }
            Some(ErrorCode::FencedMemberEpoch | ErrorCode::UnknownMemberId) => {
                // Rejoin with the same member id, as Kafka's client does.
                self.member_epoch = 0;
                self.next_heartbeat = Instant::now();
                return Ok(());
            }
            Some(_) => {
                return Err(kafka_error(
                    response.error_code,
                    response.error_message.as_deref(),
                ))
            }
        }
        self.member_epoch = response.member_epoch;
        if response.heartbeat_interval_ms > 0 {
            self.heartbeat_interval =
                Duration::from_millis(u64::try_from(response.heartbeat_interval_ms).unwrap_or(0));
        }
        self.next_heartbeat = Instant::now() + self.heartbeat_interval;
        if let Some(assignment) = response.assignment {
            let assigned: BTreeSet<TopicPartition> = assignment
                .topic_partitions
                .iter()
                .flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p)))
                .collect();
            if assigned != self.assignment {
                self.assignment = assigned;
                self.refresh_leaders().await?;
            }
        }
        Ok(())
    }

    /// The leaders of the assigned partitions and the topics' names, from Metadata.
    async fn refresh_leaders(&mut self) -> Result<(), ToolError> {
        let timeout = self.config.request_timeout;
        let response = self
            .bootstrap
            .metadata(Some(&self.config.topics), timeout)
            .await?;
        for broker in &response.brokers {
            self.addresses
                .insert(broker.node_id.0, format!("{}:{}", broker.host, broker.port));
        }
        for topic in &response.topics {
            let Some(name) = &topic.name else { continue };
            self.names.insert(topic.topic_id, name.to_string());
            for p in &topic.partitions {
                if p.leader_id.0 >= 0 {
                    self.leaders
                        .insert((topic.topic_id, p.partition_index), p.leader_id.0);
                }
            }
        }
        Ok(())
    }

    async fn session(&mut self, leader: i32) -> Result<&mut Session, ToolError> {
        if !self.sessions.contains_key(&leader) {
            let Some(address) = self.addresses.get(&leader) else {
                return Err(ToolError::Failed(format!("no address for broker {leader}")));
            };
            let mut client = connect_within(address, self.config.request_timeout).await?;
            client.set_client_id(&self.config.client_id);
            self.sessions.insert(
                leader,
                Session {
                    client,
                    epoch: 0,
                    partitions: BTreeSet::new(),
                    acks: BTreeMap::new(),
                },
            );
        }
        Ok(self.sessions.get_mut(&leader).expect("inserted above"))
    }

    /// One ShareFetch to every leader of an assigned partition, at once.
    async fn fetch(&mut self, wait: Duration) -> Result<(), ToolError> {
        if self
            .assignment
            .iter()
            .any(|tp| !self.leaders.contains_key(tp))
        {
            self.refresh_leaders().await?;
        }
        let mut wanted: BTreeMap<i32, BTreeSet<TopicPartition>> = BTreeMap::new();
        for tp in &self.assignment {
            if let Some(leader) = self.leaders.get(tp) {
                wanted.entry(*leader).or_default().insert(*tp);
            }
        }
        for leader in wanted.keys() {
            self.session(*leader).await?;
        }
        let group = self.config.group.clone();
        let member = self.member_id.clone();
        let max_records = self.config.max_records;
        let timeout = self.config.request_timeout + wait;
        let mut calls = Vec::new();
        for (leader, session) in self.sessions.iter_mut() {
            let partitions = wanted.remove(leader).unwrap_or_default();
            if partitions.is_empty() && session.partitions.is_empty() && session.acks.is_empty() {
                continue;
            }
            let request = fetch_request(session, &partitions, &group, &member, wait, max_records);
            session.partitions = partitions;
            let leader = *leader;
            calls.push(async move {
                let version = session.client.version_for(ApiKey::ShareFetch, 1)?;
                let response: ShareFetchResponse = session
                    .client
                    .call_within(ApiKey::ShareFetch, version, &request, timeout)
                    .await?;
                Ok::<_, ToolError>((leader, response))
            });
        }
        let results = futures_util::future::join_all(calls).await;
        for result in results {
            let (leader, response) = result?;
            self.take_response(leader, response);
        }
        Ok(())
    }

    fn take_response(&mut self, leader: i32, response: ShareFetchResponse) {
        match ErrorCode::try_from_code(response.error_code) {
            None => {
                if let Some(session) = self.sessions.get_mut(&leader) {
                    session.epoch = next_epoch(session.epoch);
                }
            }
            Some(
                ErrorCode::ShareSessionNotFound
                | ErrorCode::InvalidShareSessionEpoch
                | ErrorCode::ShareSessionLimitReached,
            ) => {
                // Start a new session; acknowledgements sent with the failed request are
                // lost, and their records come back when their locks run out.
                self.sessions.remove(&leader);
                return;
            }
            Some(_) => {
                self.sessions.remove(&leader);
                self.leaders.clear();
                return;
            }
        }
        let mut stale_leaders = false;
        for topic in response.responses {
            let name = self.names.get(&topic.topic_id).cloned().unwrap_or_default();
            for partition in topic.partitions {
                let tp = (topic.topic_id, partition.partition_index);
                match ErrorCode::try_from_code(partition.error_code) {
                    None => {}
                    Some(ErrorCode::NotLeaderOrFollower | ErrorCode::UnknownTopicOrPartition) => {
                        stale_leaders = true;
                        continue;
                    }
                    Some(_) => continue,
                }
                let records = partition.records.unwrap_or_default();
                self.deliver(tp, &name, records, &partition.acquired_records);
            }
        }
        if stale_leaders {
            self.leaders.clear();
        }
    }

    /// Queues the records of the acquired ranges, and acknowledges as gaps the acquired
    /// offsets that hold no record.
    fn deliver(
        &mut self,
        tp: TopicPartition,
        topic: &str,
        mut records: Bytes,
        acquired: &[kafka_protocol::messages::share_fetch_response::AcquiredRecords],
    ) {
        let mut by_offset = BTreeMap::new();
        while !records.is_empty() {
            // A truncated last batch ends what can be read.
            let Ok(set) = RecordBatchDecoder::decode(&mut records) else {
                break;
            };
            for record in set.records {
                if !record.control {
                    by_offset.insert(record.offset, record);
                }
            }
        }
        for range in acquired {
            for offset in range.first_offset..=range.last_offset {
                match by_offset.remove(&offset) {
                    Some(record) => {
                        self.unacknowledged.entry(tp).or_default().insert(offset);
                        self.ready.push_back(ShareRecord {
                            topic: topic.to_string(),
                            topic_id: tp.0,
                            partition: tp.1,
                            offset,
                            timestamp: record.timestamp,
                            timestamp_type: record.timestamp_type,
                            key: record.key,
                            value: record.value,
                            headers: record
                                .headers
                                .into_iter()
                                .map(|(k, v)| (k.to_string(), v))
                                .collect(),
                            delivery_count: range.delivery_count,
                        });
                    }
                    None => self.queue_ack(tp, offset, GAP),
                }
            }
        }
    }
}

/// The next share session epoch after `epoch` (wrapping to 1, as Kafka's).
fn next_epoch(epoch: i32) -> i32 {
    if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// A ShareFetch for a session: on a new session (epoch 0) every partition, else the
/// partitions added since and those with acknowledgements, and the ones to forget.
fn fetch_request(
    session: &mut Session,
    partitions: &BTreeSet<TopicPartition>,
    group: &str,
    member: &str,
    wait: Duration,
    max_records: i32,
) -> ShareFetchRequest {
    let acks = std::mem::take(&mut session.acks);
    let mut listed: BTreeMap<TopicPartition, Vec<AcknowledgementBatch>> = BTreeMap::new();
    for tp in partitions {
        if session.epoch == 0 || !session.partitions.contains(tp) {
            listed.entry(*tp).or_default();
        }
    }
    for (tp, batches) in ack_batches(acks) {
        listed
            .entry(tp)
            .or_default()
            .extend(batches.into_iter().map(|(first, last, types)| {
                AcknowledgementBatch::default()
                    .with_first_offset(first)
                    .with_last_offset(last)
                    .with_acknowledge_types(types)
            }));
    }
    let mut topics: BTreeMap<uuid::Uuid, Vec<FetchPartition>> = BTreeMap::new();
    for ((topic_id, partition), batches) in listed {
        topics.entry(topic_id).or_default().push(
            FetchPartition::default()
                .with_partition_index(partition)
                .with_partition_max_bytes(1024 * 1024)
                .with_acknowledgement_batches(batches),
        );
    }
    let mut forgotten: BTreeMap<uuid::Uuid, Vec<i32>> = BTreeMap::new();
    if session.epoch != 0 {
        for (topic_id, partition) in session.partitions.difference(partitions) {
            forgotten.entry(*topic_id).or_default().push(*partition);
        }
    }
    ShareFetchRequest::default()
        .with_group_id(Some(GroupId(StrBytes::from_string(group.to_string()))))
        .with_member_id(Some(StrBytes::from_string(member.to_string())))
        .with_share_session_epoch(session.epoch)
        .with_max_wait_ms(i32::try_from(wait.as_millis()).unwrap_or(i32::MAX))
        .with_min_bytes(1)
        .with_max_bytes(50 * 1024 * 1024)
        .with_max_records(max_records)
        .with_batch_size(max_records)
        .with_topics(
            topics
                .into_iter()
                .map(|(topic_id, partitions)| {
                    FetchTopic::default()
                        .with_topic_id(topic_id)
                        .with_partitions(partitions)
                })
                .collect(),
        )
        .with_forgotten_topics_data(
            forgotten
                .into_iter()
                .map(|(topic_id, partitions)| {
                    ForgottenTopic::default()
                        .with_topic_id(topic_id)
                        .with_partitions(partitions)
                })
                .collect(),
        )
}

/// Acknowledgement batches: runs of consecutive offsets, one type per offset, or one
/// type for the whole run when all are alike (Kafka's client sends them so).
type Batches = Vec<(i64, i64, Vec<i8>)>;

fn ack_batches(
    acks: BTreeMap<TopicPartition, BTreeMap<i64, i8>>,
) -> Vec<(TopicPartition, Batches)> {
    acks.into_iter()
        .map(|(tp, offsets)| {
            let mut batches: Batches = Vec::new();
            for (offset, code) in offsets {
                match batches.last_mut() {
                    Some((_, last, types)) if *last + 1 == offset => {
                        *last = offset;
                        types.push(code);
                    }
                    _ => batches.push((offset, offset, vec![code])),
                }
            }
            for (_, _, types) in &mut batches {
                if types.iter().all(|t| *t == types[0]) {
                    types.truncate(1);
                }
            }
            (tp, batches)
        })
        .collect()
}

/// The acknowledgements grouped by topic id then partition, each partition's batches
/// built by `make`.
fn ack_topics<T>(
    acks: BTreeMap<TopicPartition, BTreeMap<i64, i8>>,
    make: impl Fn(i32, Batches) -> (i32, Vec<T>),
) -> BTreeMap<uuid::Uuid, Vec<(i32, Vec<T>)>> {
    let mut topics: BTreeMap<uuid::Uuid, Vec<(i32, Vec<T>)>> = BTreeMap::new();
    for ((topic_id, partition), batches) in ack_batches(acks) {
        topics
            .entry(topic_id)
            .or_default()
            .push(make(partition, batches));
    }
    topics
}

fn kafka_error(code: i16, message: Option<&str>) -> ToolError {
    let description = ErrorCode::try_from_code(code).map_or_else(
        || format!("error code {code}"),
        |e| e.description().to_string(),
    );
    ToolError::Failed(
        message
            .filter(|m| !m.is_empty())
            .map_or(description, str::to_string),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgements_go_as_runs_with_one_type_when_alike() {
        let tp = (uuid::Uuid::nil(), 0);
        let mut offsets = BTreeMap::new();
        for o in [3, 4, 5] {
            offsets.insert(o, 1);
        }
        offsets.insert(7, 1);
        offsets.insert(8, 3);
        let batches = ack_batches(BTreeMap::from([(tp, offsets)]));
        assert_eq!(
            batches,
            vec![(tp, vec![(3, 5, vec![1]), (7, 8, vec![1, 3])])]
        );
    }

    #[test]
    fn session_epochs_wrap_to_one() {
        assert_eq!(next_epoch(0), 1);
        assert_eq!(next_epoch(i32::MAX), 1);
    }
}
