//! The group coordinator: consumer groups under Kafka's classic protocol, their committed
//! offsets (transactional ones included, see `offsets`), and both kept as records in
//! the compacted internal topic `__consumer_offsets` (group → partition by Kafka's hash),
//! replayed at start-up.
//!
//! Locking: the map of groups is locked only to find or add a group; each group has its
//! own mutex, held for one state-machine step plus the (local, synchronous) append of
//! the records that step produced. The append returns a `GroupWrite`, awaited after the
//! lock is released: a change is acknowledged only once its records count (replicated
//! to the ISR in a cluster), and a failed write answers the client with Kafka's error.

pub mod consumer;
pub mod messages;
pub mod migration;
pub mod offsets;
pub mod records;
pub mod state;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use rafka_protocol::batch::{batches, BatchBuilder, EndTxnMarker, NO_PRODUCER_ID};
use rafka_protocol::ErrorCode;
use rafka_types::SharedClock;

use crate::{CoordinatorLog, PendingWrite};
use records::{OffsetValue, RecordKey};
pub use state::{
    CommittedOffset, Group, GroupConfig, GroupState, JoinRequest, JoinResponse, Reply, SyncResponse,
};

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

pub use rafka_config::group::OffsetsTopicConfig;

#[derive(Debug)]
pub struct GroupCoordinator {
    pub config: GroupConfig,
    pub consumer_config: consumer::ConsumerConfig,
    pub topic_config: OffsetsTopicConfig,
    /// In a cluster this broker coordinates only the groups of the `__consumer_offsets`
    /// partitions it leads (single-node: every group). Whether a write waits for the ISR
    /// is the `CoordinatorLog`'s business.
    clustered: bool,
    clock: SharedClock,
    groups: Mutex<HashMap<String, Arc<Mutex<Group>>>>,
    /// The groups each producer has pending transactional offsets in (Kafka's
    /// `openGroupsForProducer`), so that a marker visits only those. Locked after a
    /// group's mutex, never before.
    /// Invariant: every group with pending offsets of a producer is listed under it
    /// (a listed group may have none left: it is skipped).
    open_transactions: Mutex<HashMap<i64, BTreeSet<String>>>,
    /// The owner of the records of this topic that are not the classic groups' (the
    /// share-group coordinator's): a replay hands them over.
    other_records: Option<Arc<dyn OtherGroupRecords>>,
}

/// Records of `__consumer_offsets` another coordinator owns (share groups' records):
/// the group coordinator's replay hands them over in log order, and the owner appends
/// its own through `append_records`.
pub trait OtherGroupRecords: Send + Sync + std::fmt::Debug {
    /// Whether records whose key starts with this type (int16) are the owner's.
    fn owns(&self, record_type: i16) -> bool;
    /// Applies one of its records read back from the log.
    fn replay(&self, key: Bytes, value: Option<Bytes>, now_ms: i64);
    /// Forgets the groups `in_partition` says are of a partition this broker no longer
    /// leads.
    fn unload(&self, in_partition: &dyn Fn(&str) -> bool);
}

/// A transactional producer as its batches carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

impl GroupCoordinator {
    pub fn new(
        config: GroupConfig,
        consumer_config: consumer::ConsumerConfig,
        topic_config: OffsetsTopicConfig,
        clustered: bool,
        clock: SharedClock,
    ) -> GroupCoordinator {
        GroupCoordinator {
            clustered,
            clock,
            config,
            consumer_config,
            topic_config,
            groups: Mutex::new(HashMap::new()),
            open_transactions: Mutex::new(HashMap::new()),
            other_records: None,
        }
    }

    /// Hands the records of `owner`'s types to it when partitions are replayed.
    pub fn with_other_records(mut self, owner: Arc<dyn OtherGroupRecords>) -> GroupCoordinator {
        self.other_records = Some(owner);
        self
    }

    /// Appends another coordinator's records for `group_id` to the group's partition
    /// (see `OtherGroupRecords`), in the order of the calls; the caller awaits the write.
    pub fn append_records(
        &self,
        log: &dyn CoordinatorLog,
        group_id: &str,
        records: Vec<(Bytes, Option<Bytes>)>,
    ) -> Result<GroupWrite, ErrorCode> {
        if records.is_empty() {
            return Ok(GroupWrite::default());
        }
        self.append(log, group_id, records, None)
    }

    pub fn partition_for(&self, group_id: &str) -> i32 {
        crate::partition_for(group_id, self.topic_config.partitions)
    }

    /// NOT_COORDINATOR unless this broker coordinates `group_id`: in a cluster, the
    /// leader of the group's `__consumer_offsets` partition does (a client still talking
    /// to a former coordinator looks the coordinator up again, as with Kafka).
    pub fn check_coordinator(
        &self,
        log: &dyn CoordinatorLog,
        group_id: &str,
    ) -> Result<(), ErrorCode> {
        if !self.clustered {
            return Ok(());
        }
        // Without the partition here (or before this broker has heard of the topic,
        // which the group requests that create groups make sure of first), another
        // broker is the coordinator.
        let coordinates = log.is_leader(OFFSETS_TOPIC, self.partition_for(group_id));
        if coordinates {
            Ok(())
        } else {
            Err(ErrorCode::NotCoordinator)
        }
    }

    /// The group, if it exists (Dead groups are gone).
    pub fn group(&self, group_id: &str) -> Option<Arc<Mutex<Group>>> {
        self.groups.lock().get(group_id).cloned()
    }

    /// The group, created Empty if absent.
    pub fn group_or_create(&self, group_id: &str, now_ms: i64) -> Arc<Mutex<Group>> {
        self.groups
            .lock()
            .entry(group_id.to_string())
            .or_insert_with(|| Arc::new(Mutex::new(Group::new(group_id, now_ms))))
            .clone()
    }

    pub fn groups(&self) -> Vec<Arc<Mutex<Group>>> {
        let mut groups: Vec<(String, Arc<Mutex<Group>>)> = self
            .groups
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        groups.into_iter().map(|(_, g)| g).collect()
    }

    fn forget(&self, group_id: &str) {
        self.groups.lock().remove(group_id);
    }

    /// Appends the group's record if a step marked it dirty. Called with the group
    /// locked; the caller awaits the write (outside the lock) before it answers.
    pub fn persist_if_dirty(
        &self,
        log: &dyn CoordinatorLog,
        group: &mut Group,
    ) -> Result<GroupWrite, ErrorCode> {
        if !group.dirty {
            return Ok(GroupWrite::default());
        }
        group.dirty = false;
        let key = records::encode_key(&RecordKey::Group {
            group: group.group_id.clone(),
        });
        let value = records::encode_group_value(&group.to_record());
        self.append(log, &group.group_id, vec![(key, Some(value))], None)
            .inspect_err(|e| tracing::error!("cannot store group {}: {e:?}", group.group_id))
    }

    /// Appends committed offsets; once appended the group's cache holds them too (the
    /// cache is what the log holds, as a reload would find it). The caller awaits the
    /// write before it answers.
    pub fn commit_offsets(
        &self,
        log: &dyn CoordinatorLog,
        group: &mut Group,
        offsets: Vec<((String, i32), CommittedOffset)>,
    ) -> Result<GroupWrite, ErrorCode> {
        if offsets.is_empty() {
            return Ok(GroupWrite::default());
        }
        let records = offset_records(&group.group_id, &offsets);
        let write = self.append(log, &group.group_id, records, None)?;
        for (key, offset) in offsets {
            group.put_committed_offset(key, offset);
        }
        Ok(write)
    }

    /// Appends offsets committed inside `producer`'s transaction (TxnOffsetCommit) as one
    /// transactional batch of the producer, as Kafka's coordinator writes them; once
    /// appended they are pending in the group's cache, and count as committed only when
    /// the transaction's marker commits them (`complete_transaction`). The caller awaits
    /// the write before it answers.
    pub fn txn_commit_offsets(
        &self,
        log: &dyn CoordinatorLog,
        group: &mut Group,
        producer: TxnProducer,
        offsets: Vec<((String, i32), CommittedOffset)>,
    ) -> Result<GroupWrite, ErrorCode> {
        if offsets.is_empty() {
            return Ok(GroupWrite::default());
        }
        let records = offset_records(&group.group_id, &offsets);
        let write = self.append(log, &group.group_id, records, Some(producer))?;
        for (key, offset) in offsets {
            group.pending_offsets.add(producer.producer_id, key, offset);
        }
        self.open_transactions
            .lock()
            .entry(producer.producer_id)
            .or_default()
            .insert(group.group_id.clone());
        Ok(write)
    }

    /// The marker ending `producer_id`'s transaction is in `partition` of
    /// `__consumer_offsets` (written through WriteTxnMarkers, or met in a replay): the
    /// producer's pending offsets in that partition's groups are committed or dropped
    /// (Kafka's `handleTxnCompletion` / `replayEndTransactionMarker`). Returns how many
    /// offsets were committed.
    pub fn complete_transaction(&self, partition: i32, producer_id: i64, commit: bool) -> usize {
        // The producer's groups of this partition: its other partitions' groups wait for
        // their own marker.
        let group_ids: Vec<String> = {
            let mut open = self.open_transactions.lock();
            let Some(groups) = open.get_mut(&producer_id) else {
                return 0;
            };
            let here: Vec<String> = groups
                .iter()
                .filter(|g| self.partition_for(g) == partition)
                .cloned()
                .collect();
            for group_id in &here {
                groups.remove(group_id);
            }
            if groups.is_empty() {
                open.remove(&producer_id);
            }
            here
        };
        let mut committed = 0;
        for group_id in group_ids {
            // A group deleted since has nothing left to complete.
            if let Some(group) = self.group(&group_id) {
                committed += group.lock().complete_transaction(producer_id, commit);
            }
        }
        committed
    }

    /// Appends tombstones for offsets and drops them from the cache.
    pub fn delete_offsets(
        &self,
        log: &dyn CoordinatorLog,
        group: &mut Group,
        keys: &[(String, i32)],
    ) -> Result<GroupWrite, ErrorCode> {
        if keys.is_empty() {
            return Ok(GroupWrite::default());
        }
        let records = keys
            .iter()
            .map(|(topic, partition)| {
                let key = records::encode_key(&RecordKey::Offset {
                    group: group.group_id.clone(),
                    topic: topic.clone(),
                    partition: *partition,
                });
                (key, None)
            })
            .collect();
        let write = self.append(log, &group.group_id, records, None)?;
        for key in keys {
            group.remove_offset(key);
        }
        Ok(write)
    }

    /// Deletes a whole group: tombstones for its offsets (pending transactional ones
    /// included, as Kafka's `deleteAllOffsets`) and its metadata.
    pub fn delete_group(
        &self,
        log: &dyn CoordinatorLog,
        group: &mut Group,
        now_ms: i64,
    ) -> Result<GroupWrite, ErrorCode> {
        let mut keys: BTreeSet<(String, i32)> = group.offsets.keys().cloned().collect();
        keys.extend(group.pending_offsets.keys());
        let keys: Vec<(String, i32)> = keys.into_iter().collect();
        // Appended before the group's tombstone, to the same partition: the tombstone's
        // write covers them.
        let _covered = self.delete_offsets(log, group, &keys)?;
        let key = records::encode_key(&RecordKey::Group {
            group: group.group_id.clone(),
        });
        // The group's records go to one partition in order: the last append's write
        // covers the offsets' tombstones too.
        let write = self.append(log, &group.group_id, vec![(key, None)], None)?;
        group.mark_dead(now_ms);
        self.forget(&group.group_id);
        Ok(write)
    }

    /// Appends records to the group's `__consumer_offsets` partition (the local,
    /// synchronous part, so group steps keep their order) and returns the write to await.
    /// With a producer, the batch is that producer's, transactional: Kafka's coordinator
    /// gives it base sequence 0, which the log does not check for a coordinator's write.
    fn append(
        &self,
        log: &dyn CoordinatorLog,
        group_id: &str,
        records: Vec<(Bytes, Option<Bytes>)>,
        producer: Option<TxnProducer>,
    ) -> Result<GroupWrite, ErrorCode> {
        let now_ms = self.clock.now_ms();
        let mut builder = BatchBuilder::new(0);
        if let Some(p) = producer {
            builder = builder
                .producer(p.producer_id, p.producer_epoch, 0)
                .transactional(true);
        }
        for (key, value) in &records {
            builder.append(now_ms, Some(key), value.as_deref(), &[]);
        }
        let batch = builder.build().map_err(|e| {
            tracing::error!("cannot build a {OFFSETS_TOPIC} batch: {e}");
            ErrorCode::UnknownServerError
        })?;
        // As Kafka: in a cluster, group records count once the whole ISR has them
        // (`acks=all`), so a coordinator failover loses no acknowledged commit.
        let pending = log
            .append(
                OFFSETS_TOPIC,
                self.partition_for(group_id),
                &batch,
                OFFSETS_COMMIT_TIMEOUT,
            )
            .map_err(|code| {
                tracing::warn!("cannot append to {OFFSETS_TOPIC}: {code:?}");
                coordinator_error(code)
            })?;
        Ok(GroupWrite {
            pending: Some(pending),
        })
    }

    /// This broker no longer leads `partition` of `__consumer_offsets` (Kafka's
    /// `onResignation`): its groups, and the other coordinator's, are forgotten (a
    /// later leadership replays them from the log). Returns how many classic groups went.
    pub fn unload_partition(&self, partition: i32) -> usize {
        let in_partition = |group_id: &str| self.partition_for(group_id) == partition;
        let unloaded = {
            let mut groups = self.groups.lock();
            let before = groups.len();
            groups.retain(|group_id, _| !in_partition(group_id));
            before - groups.len()
        };
        // A pending transactional offset of an unloaded group comes back with the replay.
        self.open_transactions.lock().retain(|_, groups| {
            groups.retain(|group_id| !in_partition(group_id));
            !groups.is_empty()
        });
        if let Some(owner) = &self.other_records {
            owner.unload(&in_partition);
        }
        tracing::info!(
            "{OFFSETS_TOPIC}-{partition}: no longer its leader, {unloaded} group(s) unloaded"
        );
        unloaded
    }

    /// Replays the `__consumer_offsets` partitions hosted here into the cache
    /// (single-node start-up).
    pub fn load(&self, log: &dyn CoordinatorLog, now_ms: i64) {
        let loaded: usize = (0..self.topic_config.partitions)
            .map(|p| self.load_partition(log, p, now_ms))
            .sum();
        let groups = self.groups.lock().len();
        tracing::info!("loaded {groups} group(s) from {loaded} record(s) of {OFFSETS_TOPIC}");
    }

    /// Replays one partition of `__consumer_offsets` up to its log end: at
    /// start-up, and in a cluster when this broker becomes the partition's leader (and
    /// so the coordinator of its groups). Returns the records replayed.
    pub fn load_partition(&self, log: &dyn CoordinatorLog, partition: i32, now_ms: i64) -> usize {
        let Some((mut offset, end)) = log.replay_range(OFFSETS_TOPIC, partition) else {
            return 0;
        };
        let mut loaded = 0usize;
        while offset < end {
            let data = match log.read(OFFSETS_TOPIC, partition, offset, 4 * 1024 * 1024) {
                Ok(d) if !d.is_empty() => d,
                Ok(_) => break,
                Err(e) => {
                    tracing::error!("cannot load {OFFSETS_TOPIC}-{partition}: {e}");
                    break;
                }
            };
            for batch in batches(&data) {
                let Ok(batch) = batch else { break };
                offset = offset.max(batch.next_offset());
                if batch.is_control() {
                    // A transaction's marker ends its pending offsets here, as Kafka's
                    // replay does.
                    match EndTxnMarker::of(&batch) {
                        Ok(Some(marker)) => {
                            self.complete_transaction(
                                partition,
                                batch.producer_id(),
                                marker.commit,
                            );
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!(
                            "skipping an unreadable marker of {OFFSETS_TOPIC}-{partition}: {e}"
                        ),
                    }
                    continue;
                }
                let Ok(records) = batch.decode_records() else {
                    tracing::warn!("skipping an unreadable batch of {OFFSETS_TOPIC}-{partition}");
                    continue;
                };
                for record in records {
                    if let Some(key) = record.key {
                        self.replay(key, record.value, batch.producer_id(), now_ms);
                        loaded += 1;
                    }
                }
            }
        }
        loaded
    }

    /// Applies one record; `producer_id` is its batch's: a producer's offsets are pending
    /// in its transaction until the marker (Kafka's `OffsetMetadataManager.replay`).
    fn replay(&self, key: Bytes, value: Option<Bytes>, producer_id: i64, now_ms: i64) {
        if let (Some(owner), Some(record_type)) = (&self.other_records, key.get(..2)) {
            if owner.owns(i16::from_be_bytes([record_type[0], record_type[1]])) {
                owner.replay(key, value, now_ms);
                return;
            }
        }
        let key = match records::decode_key(key) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!("skipping a {OFFSETS_TOPIC} record: {e}");
                return;
            }
        };
        match (key, value) {
            (
                RecordKey::Offset {
                    group,
                    topic,
                    partition,
                },
                Some(value),
            ) => match records::decode_offset_value(value) {
                Ok(v) => {
                    let g = self.group_or_create(&group, now_ms);
                    let offset = CommittedOffset {
                        offset: v.offset,
                        leader_epoch: v.leader_epoch,
                        metadata: v.metadata,
                        commit_timestamp_ms: v.commit_timestamp_ms,
                    };
                    let mut g = g.lock();
                    if producer_id == NO_PRODUCER_ID {
                        g.put_committed_offset((topic, partition), offset);
                    } else {
                        g.pending_offsets
                            .add(producer_id, (topic, partition), offset);
                        self.open_transactions
                            .lock()
                            .entry(producer_id)
                            .or_default()
                            .insert(group);
                    }
                }
                Err(e) => tracing::warn!("skipping an offset of group {group}: {e}"),
            },
            (
                RecordKey::Offset {
                    group,
                    topic,
                    partition,
                },
                None,
            ) => {
                if let Some(g) = self.group(&group) {
                    g.lock().remove_offset(&(topic, partition));
                }
            }
            (RecordKey::Group { group }, Some(value)) => match records::decode_group_value(value) {
                Ok(v) => {
                    let g = self.group_or_create(&group, now_ms);
                    g.lock().restore(v, now_ms);
                }
                Err(e) => tracing::warn!("skipping the metadata of group {group}: {e}"),
            },
            (RecordKey::Group { group }, None) => self.forget(&group),
        }
    }

    /// Session timeouts, join/sync deadlines and offset expiry; called every ~100 ms.
    /// Returns the writes the steps made, for the caller to await (no client waits on
    /// them; a failed one is logged).
    pub fn tick(
        &self,
        log: &dyn CoordinatorLog,
        topic_infos: &dyn Fn() -> Vec<consumer::TopicInfo>,
        now_ms: i64,
        expire_offsets: bool,
    ) -> Vec<GroupWrite> {
        let mut writes = Vec::new();
        // Built once per tick, and only when a consumer-protocol group needs it.
        let mut topics = None;
        for group in self.groups() {
            let mut group = group.lock();
            group.tick(&self.config, now_ms);
            if let Some(consumer) = group.consumer.as_mut() {
                let topics = topics.get_or_insert_with(topic_infos);
                if consumer.tick(topics, &self.consumer_config, now_ms) {
                    group.maybe_downgrade_to_classic(topics, &self.config, now_ms);
                }
            }
            if expire_offsets {
                let expired = group.expire_offsets(&self.config, now_ms);
                if !expired.is_empty() {
                    tracing::info!(
                        "group {}: {} offset(s) expired",
                        group.group_id,
                        expired.len()
                    );
                    match self.delete_offsets(log, &mut group, &expired) {
                        Ok(write) => writes.push(write),
                        Err(e) => tracing::error!(
                            "cannot expire offsets of group {}: {e:?}",
                            group.group_id
                        ),
                    }
                }
                // Not while a transaction holds offsets of the group (Kafka's
                // cleanupGroupMetadata).
                if group.state == GroupState::Empty
                    && group.offsets.is_empty()
                    && group.pending_offsets.is_empty()
                    && group.generation_id > 0
                {
                    match self.delete_group(log, &mut group, now_ms) {
                        Ok(write) => writes.push(write),
                        Err(e) => {
                            tracing::error!("cannot delete expired group {}: {e:?}", group.group_id)
                        }
                    }
                    continue;
                }
            }
            if let Ok(write) = self.persist_if_dirty(log, &mut group) {
                writes.push(write);
            }
        }
        writes
    }
}

/// A group change appended to `__consumer_offsets`, to await before the change is
/// acknowledged: in a cluster until the ISR has it (Kafka's `offsets.commit.timeout.ms`),
/// at once in single-node mode or when nothing was written.
#[derive(Default)]
#[must_use = "a group change is acknowledged only once its write completes"]
pub struct GroupWrite {
    /// The append's pending write; none when nothing was written.
    pending: Option<PendingWrite>,
}

impl std::fmt::Debug for GroupWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupWrite")
            .field("pending", &self.pending.is_some())
            .finish()
    }
}

impl GroupWrite {
    /// Resolves once the write counts, or with the group API's error for a write that
    /// did not (the client retries, or looks for the coordinator again).
    pub async fn completed(self) -> Result<(), ErrorCode> {
        let Some(pending) = self.pending else {
            return Ok(());
        };
        pending.await.map_err(|code| {
            tracing::warn!("{OFFSETS_TOPIC} append not replicated: {code:?}");
            coordinator_error(code)
        })
    }
}

/// Awaits a group change's write: the error of its append, or of its replication.
pub async fn completed(write: Result<GroupWrite, ErrorCode>) -> Result<(), ErrorCode> {
    write?.completed().await
}

/// Kafka's default message of an error a failed group write answers with.
pub fn write_error_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotCoordinator => "This is not the correct coordinator.",
        ErrorCode::InvalidCommitOffsetSize => "The committing offset data size is not valid.",
        ErrorCode::UnknownServerError => {
            "The server experienced an unexpected error when processing the request."
        }
        _ => "The coordinator is not available.",
    }
}

/// Kafka's `offsets.commit.timeout.ms` default: how long a group write waits for the ISR.
const OFFSETS_COMMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Kafka's mapping of a failed `__consumer_offsets` append to the group API's error: the
/// client looks for the coordinator again (NOT_COORDINATOR) or retries it. A producer's
/// own error from a transactional commit (its epoch is fenced, its transaction is not
/// open) reaches the producer unchanged, as Kafka passes it through.
fn coordinator_error(code: ErrorCode) -> ErrorCode {
    match code {
        ErrorCode::NotLeaderOrFollower | ErrorCode::KafkaStorageError => ErrorCode::NotCoordinator,
        ErrorCode::MessageTooLarge
        | ErrorCode::RecordListTooLarge
        | ErrorCode::InvalidFetchSize => ErrorCode::InvalidCommitOffsetSize,
        ErrorCode::InvalidProducerEpoch
        | ErrorCode::ProducerFenced
        | ErrorCode::InvalidTxnState => code,
        _ => ErrorCode::CoordinatorNotAvailable,
    }
}

/// The records of `offsets` committed for `group_id`.
fn offset_records(
    group_id: &str,
    offsets: &[((String, i32), CommittedOffset)],
) -> Vec<(Bytes, Option<Bytes>)> {
    offsets
        .iter()
        .map(|((topic, partition), o)| {
            let key = records::encode_key(&RecordKey::Offset {
                group: group_id.to_string(),
                topic: topic.clone(),
                partition: *partition,
            });
            let value = records::encode_offset_value(&OffsetValue {
                offset: o.offset,
                leader_epoch: o.leader_epoch,
                metadata: o.metadata.clone(),
                commit_timestamp_ms: o.commit_timestamp_ms,
            });
            (key, Some(value))
        })
        .collect()
}
