//! The share coordinator, Kafka's `ShareCoordinatorShard`s: the durable delivery state of
//! share-partitions (KIP-932), kept as records of `__share_group_state`. A
//! share-partition's key (`groupId:topicId:partition`) hashes to one partition of that
//! topic; the partition's leader coordinates it and replays the partition when it comes
//! to lead it.
//!
//! Each share-partition's state is its state epoch, the leader epoch of its last writer,
//! its start offset and the state batches of its in-flight offsets. A write is a
//! ShareUpdate record (only what the writer sent) or, every
//! `share.coordinator.snapshot.update.records.per.snapshot` updates and whenever the state
//! epoch moves, a ShareSnapshot (the whole state), as Kafka writes them.
//!
//! A record is applied to memory when it is appended, so that the next write builds on
//! it; the request is answered once the ISR has it. Should the append fail to count, the
//! partition is forgotten and replayed from the log (up to its log end) at the
//! next request: memory never holds what the log does not.
//!
//! Locking: the map of loaded partitions is locked to find or load one; each partition's
//! state has its own mutex, held for one step (never across an await).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rafka_config::share_coordinator::ShareCoordinatorConfig;
use rafka_protocol::batch::BatchBuilder;
use rafka_protocol::ErrorCode;
use rafka_types::SharedClock;

use super::combiner::combine;
use super::records::{
    self, SnapshotValue, StateBatch, StateKey, StateRecord, UpdateValue, SNAPSHOT_RECORD_TYPE,
    UPDATE_RECORD_TYPE,
};
use crate::{append_error, CoordinatorLog};

pub const SHARE_GROUP_STATE_TOPIC: &str = "__share_group_state";

/// What the share coordinator needs of the broker besides its topic's partitions.
pub trait ShareStateEnv: CoordinatorLog {
    /// The leader epoch of a partition this broker leads.
    fn leader_epoch(&self, topic: &str, partition: i32) -> Option<i32>;

    /// Whether the cluster has the topic `topic_id` with a partition `partition` (Kafka
    /// checks its metadata image before serving a share-partition).
    fn has_partition(&self, topic_id: uuid::Uuid, partition: i32) -> bool;

    /// The offset the next append to a partition this broker leads gets.
    fn log_end_offset(&self, topic: &str, partition: i32) -> Option<i64>;

    /// Deletes the records of a partition this broker leads below `offset` (at most its
    /// high watermark), as DeleteRecords does.
    fn delete_records_before(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<(), ErrorCode>;
}

/// A share-partition's state (Kafka's `ShareGroupOffset`): the fields of its snapshot.
pub type ShareGroupOffset = SnapshotValue;

/// One share-partition as the coordinator holds it.
#[derive(Debug, Clone)]
struct KeyState {
    offset: ShareGroupOffset,
    /// The highest leader epoch a record carried (Kafka's `leaderEpochMap`).
    leader_epoch: i32,
    /// The highest state epoch a snapshot carried (`stateEpochMap`).
    state_epoch: Option<i32>,
    /// ShareUpdate records since the snapshot count was last reset
    /// (`snapshotUpdateCount`).
    updates: Option<i32>,
}

/// The share-partitions of one `__share_group_state` partition.
#[derive(Debug, Default)]
struct PartitionState {
    keys: HashMap<StateKey, KeyState>,
    /// Where each share-partition's latest snapshot is in the log (Kafka's
    /// `ShareCoordinatorOffsetsManager`): the records below the lowest of these are
    /// redundant.
    snapshots: HashMap<StateKey, i64>,
}

impl PartitionState {
    /// Kafka's `replay`: one record of the topic, at `offset`, applied.
    fn apply(&mut self, record: StateRecord, offset: i64, updates_per_snapshot: i32) {
        match &record {
            StateRecord::Snapshot(key, None) => {
                self.snapshots.remove(key);
            }
            StateRecord::Snapshot(key, Some(_)) => {
                self.snapshots.insert(key.clone(), offset);
            }
            StateRecord::Update(..) => {}
        }
        match record {
            StateRecord::Snapshot(key, None) => {
                self.keys.remove(&key);
            }
            StateRecord::Snapshot(key, Some(value)) => {
                let offset = value;
                match self.keys.get_mut(&key) {
                    Some(state) => {
                        state.leader_epoch = state.leader_epoch.max(offset.leader_epoch);
                        state.state_epoch = Some(
                            state
                                .state_epoch
                                .map_or(offset.state_epoch, |e| e.max(offset.state_epoch)),
                        );
                        if state.updates.is_some_and(|n| n >= updates_per_snapshot) {
                            state.updates = Some(0);
                        }
                        state.offset = offset;
                    }
                    None => {
                        self.keys.insert(
                            key,
                            KeyState {
                                leader_epoch: offset.leader_epoch,
                                state_epoch: Some(offset.state_epoch),
                                updates: None,
                                offset,
                            },
                        );
                    }
                }
            }
            StateRecord::Update(key, value) => match self.keys.get_mut(&key) {
                Some(state) => {
                    state.leader_epoch = state.leader_epoch.max(value.leader_epoch);
                    state.offset = merged(&state.offset, &value);
                    state.updates = Some(state.updates.map_or(0, |n| n + 1));
                }
                None => {
                    // An update with no snapshot before it (Kafka takes it as the state).
                    let offset = ShareGroupOffset {
                        snapshot_epoch: value.snapshot_epoch,
                        state_epoch: 0,
                        leader_epoch: value.leader_epoch,
                        start_offset: value.start_offset,
                        create_timestamp_ms: -1,
                        write_timestamp_ms: -1,
                        state_batches: value.state_batches,
                    };
                    self.keys.insert(
                        key,
                        KeyState {
                            leader_epoch: offset.leader_epoch,
                            state_epoch: None,
                            updates: Some(0),
                            offset,
                        },
                    );
                }
            },
        }
    }
}

/// A share-group state API's failure: Kafka's code and message for the partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    pub code: ErrorCode,
    pub message: String,
}

impl StateError {
    /// A refusal of the shard itself, with Kafka's default text when it has no other.
    fn new(code: ErrorCode, message: Option<&str>) -> StateError {
        StateError {
            code,
            message: message.unwrap_or(code.description()).to_string(),
        }
    }
}

/// What one API does, for the message of a failure outside the shard (Kafka's
/// "Unable to write share group state: …").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateOp {
    Initialize,
    Read,
    Write,
    Delete,
    ReadSummary,
}

impl StateOp {
    fn failure(self, code: ErrorCode, cause: ErrorCode) -> StateError {
        let what = match self {
            StateOp::Initialize => "initialize share group state",
            StateOp::Read => "read share group state",
            StateOp::Write => "write share group state",
            StateOp::Delete => "delete share group state",
            StateOp::ReadSummary => "read share group state summary",
        };
        StateError {
            code,
            message: format!("Unable to {what}: {}", cause.description()),
        }
    }
}

/// A WriteShareGroupState partition (-1 leader epoch, state epoch or start offset:
/// unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateWrite {
    pub state_epoch: i32,
    pub leader_epoch: i32,
    pub start_offset: i64,
    pub state_batches: Vec<StateBatch>,
}

/// A ReadShareGroupState answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRead {
    pub state_epoch: i32,
    pub start_offset: i64,
    pub state_batches: Vec<StateBatch>,
}

/// A ReadShareGroupStateSummary answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSummary {
    pub state_epoch: i32,
    pub leader_epoch: i32,
    pub start_offset: i64,
}

/// A record to append, and what it does to memory.
struct Pending {
    key: bytes::Bytes,
    value: Option<bytes::Bytes>,
    record: StateRecord,
}

type Loaded = (i32, Arc<Mutex<PartitionState>>);

/// The share coordinator of the `__share_group_state` partitions this broker leads.
#[derive(Debug)]
pub struct ShareCoordinator {
    pub config: ShareCoordinatorConfig,
    clock: SharedClock,
    /// Loaded partitions: partition → (the leader epoch it was loaded at, its state).
    loaded: Mutex<HashMap<i32, Loaded>>,
}

impl ShareCoordinator {
    pub fn new(config: ShareCoordinatorConfig, clock: SharedClock) -> ShareCoordinator {
        ShareCoordinator {
            config,
            clock,
            loaded: Mutex::new(HashMap::new()),
        }
    }

    /// Kafka's `ShareCoordinatorService.partitionFor`: the hash of the coordinator key.
    pub fn partition_for(&self, key: &StateKey) -> i32 {
        crate::partition_for(&key.coordinator_key(), self.config.partitions)
    }

    /// InitializeShareGroupState: a new snapshot with `state_epoch` and `start_offset`
    /// and no batches (what a share-partition that never delivered anything has).
    pub async fn initialize(
        &self,
        env: &dyn ShareStateEnv,
        key: &StateKey,
        state_epoch: i32,
        start_offset: i64,
    ) -> Result<(), StateError> {
        let op = StateOp::Initialize;
        let now_ms = self.clock.now_ms();
        let written = self.step(env, key, op, |state| {
            check_partition(key)?;
            let current = state.keys.get(key);
            if let Some(recorded) = current.and_then(|s| s.state_epoch) {
                if state_epoch != -1 && recorded > state_epoch {
                    return Err(StateError::new(ErrorCode::FencedStateEpoch, None));
                }
            }
            check_metadata(env, key)?;
            let snapshot_epoch = current.map_or(0, |s| s.offset.snapshot_epoch + 1);
            let value = SnapshotValue {
                snapshot_epoch,
                state_epoch,
                leader_epoch: 0,
                start_offset,
                create_timestamp_ms: now_ms,
                write_timestamp_ms: now_ms,
                state_batches: Vec::new(),
            };
            Ok(((), Some(snapshot(key, value)?)))
        })?;
        written.finish(self, env, op).await
    }

    /// ReadShareGroupState: the share-partition's state; a reader with a newer leader
    /// epoch is recorded (a record carrying it is written first), an older one is
    /// FENCED_LEADER_EPOCH.
    pub async fn read(
        &self,
        env: &dyn ShareStateEnv,
        key: &StateKey,
        leader_epoch: i32,
    ) -> Result<StateRead, StateError> {
        let op = StateOp::Read;
        let now_ms = self.clock.now_ms();
        let limit = self.config.snapshot_update_records_per_snapshot;
        let written = self.step(env, key, op, |state| {
            check_partition(key)?;
            let current = initialized(state, key, "Read")?;
            if current.leader_epoch > leader_epoch {
                return Err(StateError::new(ErrorCode::FencedLeaderEpoch, None));
            }
            check_metadata(env, key)?;
            let answer = StateRead {
                state_epoch: current.offset.state_epoch,
                start_offset: current.offset.start_offset,
                state_batches: current.offset.state_batches.clone(),
            };
            if leader_epoch == -1 || current.leader_epoch == leader_epoch {
                return Ok((answer, None));
            }
            let write = StateWrite {
                state_epoch: answer.state_epoch,
                leader_epoch,
                start_offset: answer.start_offset,
                state_batches: Vec::new(),
            };
            let record = state_record(key, current, &write, now_ms, limit)?;
            Ok((answer, Some(record)))
        })?;
        written.finish(self, env, op).await
    }

    /// WriteShareGroupState: the writer's batches and start offset, fenced by leader
    /// epoch and state epoch.
    pub async fn write(
        &self,
        env: &dyn ShareStateEnv,
        key: &StateKey,
        write: &StateWrite,
    ) -> Result<(), StateError> {
        let op = StateOp::Write;
        let now_ms = self.clock.now_ms();
        let limit = self.config.snapshot_update_records_per_snapshot;
        let written = self.step(env, key, op, |state| {
            check_partition(key)?;
            let current = initialized(state, key, "Write")?;
            if write.leader_epoch != -1 && current.leader_epoch > write.leader_epoch {
                return Err(StateError::new(ErrorCode::FencedLeaderEpoch, None));
            }
            if write.state_epoch != -1 && current.state_epoch.is_some_and(|e| e > write.state_epoch)
            {
                return Err(StateError::new(ErrorCode::FencedStateEpoch, None));
            }
            check_metadata(env, key)?;
            let record = state_record(key, current, write, now_ms, limit)?;
            Ok(((), Some(record)))
        })?;
        written.finish(self, env, op).await
    }

    /// DeleteShareGroupState: a tombstone for the share-partition (nothing to do when it
    /// has no state).
    pub async fn delete(&self, env: &dyn ShareStateEnv, key: &StateKey) -> Result<(), StateError> {
        let op = StateOp::Delete;
        let written = self.step(env, key, op, |state| {
            check_partition(key)?;
            check_metadata(env, key)?;
            if !state.keys.contains_key(key) {
                tracing::warn!("Attempted to delete non-existent share partition {key:?}.");
                return Ok(((), None));
            }
            let record = Pending {
                key: records::encode_key(SNAPSHOT_RECORD_TYPE, key).map_err(too_long)?,
                value: None,
                record: StateRecord::Snapshot(key.clone(), None),
            };
            Ok(((), Some(record)))
        })?;
        written.finish(self, env, op).await
    }

    /// ReadShareGroupStateSummary: state epoch, leader epoch and start offset; a
    /// share-partition without state answers start offset -1 and epochs 0, as Kafka's.
    pub fn read_summary(
        &self,
        env: &dyn ShareStateEnv,
        key: &StateKey,
    ) -> Result<StateSummary, StateError> {
        let op = StateOp::ReadSummary;
        let (_, _, state) = self.owner(env, key).map_err(|e| op.failure(e, e))?;
        check_partition(key)?;
        check_metadata(env, key)?;
        let state = state.lock();
        Ok(match state.keys.get(key) {
            None => StateSummary {
                state_epoch: 0,
                leader_epoch: 0,
                start_offset: -1,
            },
            Some(s) => StateSummary {
                state_epoch: s.offset.state_epoch,
                leader_epoch: s.offset.leader_epoch,
                start_offset: s.offset.start_offset,
            },
        })
    }

    /// Forgets the partitions this broker no longer leads (or leads at another epoch:
    /// they are replayed at their next request); called every second.
    pub fn follow_leaderships(&self, env: &dyn ShareStateEnv) {
        self.loaded.lock().retain(|partition, (epoch, _)| {
            env.leader_epoch(SHARE_GROUP_STATE_TOPIC, *partition) == Some(*epoch)
        });
    }

    /// Deletes from each partition led here the records that later snapshots made
    /// redundant (Kafka's `share.coordinator.state.topic.prune.interval.ms` job): those
    /// below the oldest share-partition's latest snapshot. A share-partition whose latest
    /// snapshot is in the older half of the log first gets a new one (Kafka's cold
    /// snapshots), so that one written long ago does not hold the log back.
    pub async fn prune(&self, env: &dyn ShareStateEnv) {
        let loaded: Vec<(i32, i32, Arc<Mutex<PartitionState>>)> = self
            .loaded
            .lock()
            .iter()
            .map(|(p, (epoch, state))| (*p, *epoch, state.clone()))
            .collect();
        for (partition, epoch, state) in loaded {
            if env.leader_epoch(SHARE_GROUP_STATE_TOPIC, partition) != Some(epoch) {
                continue;
            }
            let Some((log_start, high_watermark)) =
                env.replay_range(SHARE_GROUP_STATE_TOPIC, partition)
            else {
                continue;
            };
            let midpoint = log_start + (high_watermark - log_start) / 2;
            let cold: Vec<StateKey> = state
                .lock()
                .snapshots
                .iter()
                .filter(|(_, offset)| **offset < midpoint)
                .map(|(key, _)| key.clone())
                .collect();
            for key in cold {
                if let Err(e) = self.snapshot_again(env, &key).await {
                    tracing::debug!("no new snapshot of {}: {e:?}", key.coordinator_key());
                    break;
                }
            }
            let Some((log_start, high_watermark)) =
                env.replay_range(SHARE_GROUP_STATE_TOPIC, partition)
            else {
                continue;
            };
            let redundant = state
                .lock()
                .snapshots
                .values()
                .min()
                .copied()
                .unwrap_or(high_watermark)
                .min(high_watermark);
            if redundant > log_start {
                match env.delete_records_before(SHARE_GROUP_STATE_TOPIC, partition, redundant) {
                    Ok(()) => tracing::debug!(
                        "{SHARE_GROUP_STATE_TOPIC}-{partition} pruned below offset {redundant}"
                    ),
                    Err(e) => tracing::warn!(
                        "cannot prune {SHARE_GROUP_STATE_TOPIC}-{partition} below {redundant}: {e:?}"
                    ),
                }
            }
        }
    }

    /// Writes a share-partition's whole state again as a new snapshot.
    async fn snapshot_again(
        &self,
        env: &dyn ShareStateEnv,
        key: &StateKey,
    ) -> Result<(), StateError> {
        let op = StateOp::Write;
        let now_ms = self.clock.now_ms();
        let written = self.step(env, key, op, |state| {
            let Some(current) = state.keys.get(key) else {
                return Ok(((), None));
            };
            let value = SnapshotValue {
                snapshot_epoch: current.offset.snapshot_epoch + 1,
                write_timestamp_ms: now_ms,
                ..current.offset.clone()
            };
            Ok(((), Some(snapshot(key, value)?)))
        })?;
        written.finish(self, env, op).await
    }

    /// One step on a share-partition under its partition's lock: `decide` answers and
    /// may give a record, which is appended (and applied) before the lock goes.
    fn step<T>(
        &self,
        env: &dyn ShareStateEnv,
        key: &StateKey,
        op: StateOp,
        decide: impl FnOnce(&PartitionState) -> Result<(T, Option<Pending>), StateError>,
    ) -> Result<Written<T>, StateError> {
        let (partition, epoch, state) = self.owner(env, key).map_err(|e| op.failure(e, e))?;
        let mut state = state.lock();
        let (answer, pending) = decide(&state)?;
        let Some(pending) = pending else {
            return Ok(Written {
                answer,
                write: None,
                partition,
                epoch,
            });
        };
        let mut builder = BatchBuilder::new(0);
        builder.append(
            self.clock.now_ms(),
            Some(&pending.key),
            pending.value.as_deref(),
            &[],
        );
        let batch = builder.build().map_err(|_| {
            op.failure(ErrorCode::UnknownServerError, ErrorCode::UnknownServerError)
        })?;
        let timeout =
            Duration::from_millis(u64::try_from(self.config.write_timeout_ms).unwrap_or(5_000));
        // The record's offset (appends to this topic happen under this lock); unknown,
        // 0 keeps every record from pruning.
        let offset = env
            .log_end_offset(SHARE_GROUP_STATE_TOPIC, partition)
            .unwrap_or(0);
        let write = env
            .append(SHARE_GROUP_STATE_TOPIC, partition, &batch, timeout)
            .map_err(|e| op.failure(append_error(e), e))?;
        state.apply(
            pending.record,
            offset,
            self.config.snapshot_update_records_per_snapshot,
        );
        Ok(Written {
            answer,
            write: Some(write),
            partition,
            epoch,
        })
    }

    /// The partition, leader epoch and state of `key`'s coordinator partition, replayed
    /// first when this broker has just come to lead it: NOT_COORDINATOR elsewhere.
    fn owner(
        &self,
        env: &dyn ShareStateEnv,
        key: &StateKey,
    ) -> Result<(i32, i32, Arc<Mutex<PartitionState>>), ErrorCode> {
        let partition = self.partition_for(key);
        if !env.is_leader(SHARE_GROUP_STATE_TOPIC, partition) {
            return Err(ErrorCode::NotCoordinator);
        }
        let epoch = env
            .leader_epoch(SHARE_GROUP_STATE_TOPIC, partition)
            .ok_or(ErrorCode::NotCoordinator)?;
        let mut loaded = self.loaded.lock();
        if let Some((at, state)) = loaded.get(&partition) {
            if *at == epoch {
                return Ok((partition, epoch, state.clone()));
            }
        }
        let state = Arc::new(Mutex::new(self.replay(env, partition)));
        loaded.insert(partition, (epoch, state.clone()));
        Ok((partition, epoch, state))
    }

    /// Reads one partition of the topic from its log start to its log end.
    fn replay(&self, env: &dyn ShareStateEnv, partition: i32) -> PartitionState {
        let mut state = PartitionState::default();
        let limit = self.config.snapshot_update_records_per_snapshot;
        let mut applied = 0usize;
        crate::replay_records(env, SHARE_GROUP_STATE_TOPIC, partition, |record| {
            let Some(key) = record.key else { return };
            match records::decode_record(&key, record.value.as_deref()) {
                Ok(decoded) => {
                    state.apply(decoded, record.offset, limit);
                    applied += 1;
                }
                Err(records::RecordError::UnknownRecordType { .. }) => {}
                Err(e) => {
                    tracing::warn!("skipping a {SHARE_GROUP_STATE_TOPIC}-{partition} record: {e}")
                }
            }
        });
        tracing::info!(
            "loaded {SHARE_GROUP_STATE_TOPIC}-{partition}: {applied} record(s), {} share-partition(s)",
            state.keys.len()
        );
        state
    }

    fn forget(&self, partition: i32, epoch: i32) {
        let mut loaded = self.loaded.lock();
        if loaded.get(&partition).is_some_and(|(at, _)| *at == epoch) {
            loaded.remove(&partition);
        }
    }
}

/// A step's answer and the append it made, if any.
struct Written<T> {
    answer: T,
    write: Option<crate::PendingWrite>,
    partition: i32,
    epoch: i32,
}

impl<T> Written<T> {
    /// Waits for the append to count: the answer, or the error Kafka gives for the failed
    /// write (the partition is then replayed before its next request).
    async fn finish(
        self,
        coordinator: &ShareCoordinator,
        env: &dyn ShareStateEnv,
        op: StateOp,
    ) -> Result<T, StateError> {
        let Some(write) = self.write else {
            return Ok(self.answer);
        };
        let written = write.await;
        let still_owner =
            env.leader_epoch(SHARE_GROUP_STATE_TOPIC, self.partition) == Some(self.epoch);
        match written {
            Ok(()) if still_owner => Ok(self.answer),
            Ok(()) => Err(op.failure(ErrorCode::NotCoordinator, ErrorCode::NotCoordinator)),
            Err(e) => {
                coordinator.forget(self.partition, self.epoch);
                Err(op.failure(append_error(e), e))
            }
        }
    }
}

/// An update applied (Kafka's `ShareCoordinatorShard.merge`): -1 keeps the start offset
/// or leader epoch, the batches overlay the current ones.
fn merged(offset: &ShareGroupOffset, update: &UpdateValue) -> ShareGroupOffset {
    let start_offset = if update.start_offset == -1 {
        offset.start_offset
    } else {
        update.start_offset
    };
    let leader_epoch = if update.leader_epoch == -1 {
        offset.leader_epoch
    } else {
        update.leader_epoch
    };
    ShareGroupOffset {
        start_offset,
        leader_epoch,
        state_batches: combine(&offset.state_batches, &update.state_batches, start_offset),
        ..offset.clone()
    }
}

/// Kafka's `generateShareStateRecord`: a snapshot when enough updates piled up or the
/// state epoch moves, an update otherwise.
fn state_record(
    key: &StateKey,
    current: &KeyState,
    write: &StateWrite,
    now_ms: i64,
    updates_per_snapshot: i32,
) -> Result<Pending, StateError> {
    let offset = &current.offset;
    if current.updates.unwrap_or(0) >= updates_per_snapshot
        || write.state_epoch > offset.state_epoch
    {
        let start_offset = if write.start_offset == -1 {
            offset.start_offset
        } else {
            write.start_offset
        };
        let pick = |new: i32, old: i32| if new == -1 { old } else { new };
        let value = SnapshotValue {
            snapshot_epoch: offset.snapshot_epoch + 1,
            state_epoch: pick(write.state_epoch, offset.state_epoch),
            leader_epoch: pick(write.leader_epoch, offset.leader_epoch),
            start_offset,
            create_timestamp_ms: now_ms,
            write_timestamp_ms: now_ms,
            state_batches: combine(&offset.state_batches, &write.state_batches, start_offset),
        };
        return snapshot(key, value);
    }
    let value = UpdateValue {
        snapshot_epoch: offset.snapshot_epoch,
        leader_epoch: write.leader_epoch,
        start_offset: write.start_offset,
        state_batches: combine(&[], &write.state_batches, write.start_offset),
    };
    Ok(Pending {
        key: records::encode_key(UPDATE_RECORD_TYPE, key).map_err(too_long)?,
        value: Some(records::encode_update_value(&value)),
        record: StateRecord::Update(key.clone(), value),
    })
}

fn snapshot(key: &StateKey, value: SnapshotValue) -> Result<Pending, StateError> {
    Ok(Pending {
        key: records::encode_key(SNAPSHOT_RECORD_TYPE, key).map_err(too_long)?,
        value: Some(records::encode_snapshot_value(&value)),
        record: StateRecord::Snapshot(key.clone(), Some(value)),
    })
}

/// A group id Kafka cannot write either (longer than an int16 length).
fn too_long(e: records::RecordError) -> StateError {
    StateError::new(ErrorCode::InvalidRequest, Some(&e.to_string()))
}

/// The state of `key`; INVALID_REQUEST when it was never initialized (Kafka's
/// "Read operation on uninitialized share partition not allowed.").
fn initialized<'a>(
    state: &'a PartitionState,
    key: &StateKey,
    operation: &str,
) -> Result<&'a KeyState, StateError> {
    state.keys.get(key).ok_or_else(|| StateError {
        code: ErrorCode::InvalidRequest,
        message: format!("{operation} operation on uninitialized share partition not allowed."),
    })
}

fn check_partition(key: &StateKey) -> Result<(), StateError> {
    if key.partition < 0 {
        return Err(StateError::new(
            ErrorCode::InvalidRequest,
            Some("The partition id cannot be a negative number."),
        ));
    }
    Ok(())
}

fn check_metadata(env: &dyn ShareStateEnv, key: &StateKey) -> Result<(), StateError> {
    if !env.has_partition(key.topic_id, key.partition) {
        return Err(StateError::new(ErrorCode::UnknownTopicOrPartition, None));
    }
    Ok(())
}
