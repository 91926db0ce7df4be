//! One partition this broker hosts: its log, its replication role, and the signals that
//! long polls wait on.
//!
//! The leader appends client batches stamped with its leader epoch, tracks its followers
//! through `replica::LeaderState` and publishes the high watermark; consumers read up to
//! it, followers up to the log end. A follower appends what it fetched and takes the
//! leader's high watermark. In single-node mode the broker leads every partition with an
//! ISR of itself, so the high watermark is the log end after every append.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use rafka_log::{
    AbortedTxn, AppendInfo, Appender, Log, LogConfig, LogError, ReadResult, TxnVerification,
};
use rafka_metadata::PartitionState;
use rafka_protocol::batch::EndTxnMarker;
use rafka_protocol::ErrorCode;
use rafka_types::{LeaderEpoch, NodeId, Offset};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::metrics::{BrokerMetrics, TopicMeters};
use crate::replica::{check_leader_epoch, EpochMismatch, LeaderState};

/// What this broker is for the partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Leader(LeaderState),
    Follower {
        leader: NodeId,
        leader_epoch: LeaderEpoch,
    },
    /// Hosted, but no leader is known (or this replica is being removed).
    Offline {
        leader_epoch: LeaderEpoch,
    },
}

/// Thread-safety: the log and the role are behind separate mutexes, each held only for
/// one short step and never one inside the other.
#[derive(Debug)]
pub struct Partition {
    pub topic: Arc<str>,
    pub index: i32,
    broker_id: NodeId,
    log: Mutex<Log>,
    role: Mutex<Role>,
    /// `min.insync.replicas` of the topic.
    min_insync_replicas: AtomicUsize,
    /// The high watermark, published whenever it moves so consumer long polls wake up.
    high_watermark: watch::Sender<Offset>,
    /// The log end offset, published after every append so follower long polls wake up.
    log_end: watch::Sender<Offset>,
    /// The topic's `BrokerTopicMetrics` handles, looked up on the first produce or fetch.
    topic_meters: OnceLock<Arc<TopicMeters>>,
}

/// What a consumer's fetch got.
#[derive(Debug)]
pub struct ConsumerRead {
    pub records: ReadResult,
    pub high_watermark: Offset,
    pub last_stable_offset: Offset,
    /// `read_committed` only: the aborted transactions the records overlap.
    pub aborted: Option<Vec<AbortedTxn>>,
}

/// What a follower's fetch got: records, and the leader's offsets.
#[derive(Debug)]
pub struct FollowerRead {
    pub records: ReadResult,
    pub high_watermark: Offset,
    /// Kafka answers followers the LSO too, though they read past it.
    pub last_stable_offset: Offset,
    pub log_start_offset: Offset,
}

impl Partition {
    /// A partition this broker alone replicates and leads (single-node mode): the high
    /// watermark is the log end.
    pub fn new(topic: Arc<str>, index: i32, log: Log) -> Partition {
        let end = log.log_end_offset();
        let partition = Partition::hosted(topic, index, NodeId(0), log, end);
        *partition.role.lock() = Role::Leader(LeaderState::new(
            0,
            LeaderEpoch(0),
            0,
            &[0],
            &[0],
            end,
            end,
            0,
        ));
        partition
    }

    /// A partition hosted by broker `broker_id` with no role yet; `high_watermark` is the
    /// last checkpointed one.
    pub fn hosted(
        topic: Arc<str>,
        index: i32,
        broker_id: NodeId,
        log: Log,
        high_watermark: Offset,
    ) -> Partition {
        let end = log.log_end_offset();
        let (high_watermark, _) = watch::channel(high_watermark.min(end));
        let (log_end, _) = watch::channel(end);
        Partition {
            topic,
            index,
            broker_id,
            log: Mutex::new(log),
            role: Mutex::new(Role::Offline {
                leader_epoch: LeaderEpoch::UNKNOWN,
            }),
            min_insync_replicas: AtomicUsize::new(1),
            high_watermark,
            log_end,
            topic_meters: OnceLock::new(),
        }
    }

    /// The topic's metric handles, registered in `metrics` on first use.
    pub fn topic_meters(&self, metrics: &BrokerMetrics) -> &TopicMeters {
        self.topic_meters.get_or_init(|| metrics.topic(&self.topic))
    }

    pub fn set_min_insync_replicas(&self, n: usize) {
        self.min_insync_replicas.store(n.max(1), Ordering::Relaxed);
    }

    pub fn min_insync_replicas(&self) -> usize {
        self.min_insync_replicas.load(Ordering::Relaxed)
    }

    /// The leader this replica follows, if it is a follower.
    pub fn followed_leader(&self) -> Option<NodeId> {
        match &*self.role.lock() {
            Role::Follower { leader, .. } => Some(*leader),
            _ => None,
        }
    }

    /// The leader epoch this replica knows, or -1.
    pub fn leader_epoch(&self) -> LeaderEpoch {
        match &*self.role.lock() {
            Role::Leader(s) => s.leader_epoch,
            Role::Follower { leader_epoch, .. } | Role::Offline { leader_epoch } => *leader_epoch,
        }
    }

    pub fn is_leader(&self) -> bool {
        matches!(&*self.role.lock(), Role::Leader(_))
    }

    fn not_leader(&self) -> ApiError {
        ApiError::new(
            ErrorCode::NotLeaderOrFollower,
            format!(
                "Broker {} is not the leader of {}-{}",
                self.broker_id, self.topic, self.index
            ),
        )
    }

    /// Checks a client's `current_leader_epoch` (-1: not given) against this leader's.
    pub fn check_leader_epoch(&self, requested: LeaderEpoch) -> Result<(), ApiError> {
        let role = self.role.lock();
        let Role::Leader(state) = &*role else {
            return Err(self.not_leader());
        };
        epoch_matches(requested, state.leader_epoch)
    }

    /// Becomes (or stays) leader with the controller's state of the partition.
    pub fn become_leader(&self, state: &PartitionState, now_ms: u64) {
        let leader_epoch = LeaderEpoch(state.leader_epoch);
        let mut role = self.role.lock();
        if let Role::Leader(current) = &mut *role {
            if current.leader_epoch == leader_epoch {
                // The same state again (an image changed something else): nothing to
                // take, and an ISR proposal in flight must stay pending.
                if current.partition_epoch == state.partition_epoch {
                    return;
                }
                let end = self.log_end_offset();
                if let Some(hw) = current.on_committed(
                    state.partition_epoch,
                    &state.replicas,
                    &state.isr,
                    end,
                    now_ms,
                ) {
                    self.high_watermark.send_replace(hw);
                }
                return;
            }
        }
        let (end, hw) = {
            let mut log = self.log.lock();
            if let Err(e) = log.assign_epoch_start_offset(leader_epoch) {
                tracing::error!(
                    "{}-{}: cannot record epoch start: {e}",
                    self.topic,
                    self.index
                );
            }
            (log.log_end_offset(), *self.high_watermark.borrow())
        };
        let leader = LeaderState::new(
            self.broker_id.0,
            leader_epoch,
            state.partition_epoch,
            &state.replicas,
            &state.isr,
            end,
            hw,
            now_ms,
        );
        let hw = leader.high_watermark;
        *role = Role::Leader(leader);
        drop(role);
        self.publish_high_watermark(hw);
        tracing::info!(
            "{}-{}: leader at epoch {} (ISR {:?}, log end {end}, high watermark {hw})",
            self.topic,
            self.index,
            state.leader_epoch,
            state.isr
        );
    }

    /// Becomes a follower of `leader`; returns true if this is a change the replica
    /// fetcher must act on (a new leader or epoch: truncate, then fetch).
    pub fn become_follower(&self, leader: NodeId, leader_epoch: LeaderEpoch) -> bool {
        let mut role = self.role.lock();
        let next = if leader.0 < 0 {
            Role::Offline { leader_epoch }
        } else {
            Role::Follower {
                leader,
                leader_epoch,
            }
        };
        if *role == next {
            return false;
        }
        *role = next;
        tracing::info!(
            "{}-{}: following {leader} at epoch {leader_epoch}",
            self.topic,
            self.index
        );
        true
    }

    /// Appends client batches as leader, returning where they went and the leader epoch
    /// they were stamped with (what `wait_for_replication` checks). For `acks=all`, the
    /// ISR must hold at least `min.insync.replicas` replicas first.
    pub fn append(
        &self,
        records: &[u8],
        required_acks: i16,
    ) -> Result<(AppendInfo, LeaderEpoch), ApiError> {
        self.append_with(required_acks, |log, epoch| {
            log.append_as_leader_with_epoch(records, epoch)
        })
    }

    /// [`Partition::append`] (or [`Partition::append_as_coordinator`], by `appender`) of
    /// a write that went through KIP-890's verification: a transactional batch starting a
    /// transaction must bring its verification's guard.
    pub fn append_verified(
        &self,
        records: &[u8],
        required_acks: i16,
        appender: Appender,
        verification: TxnVerification,
    ) -> Result<(AppendInfo, LeaderEpoch), ApiError> {
        self.append_with(required_acks, |log, epoch| {
            log.append_verified(records, epoch, appender, verification)
        })
    }

    /// Appends a coordinator's batches as leader (origin COORDINATOR: producer epochs are
    /// checked, sequences are not), as [`Partition::append`] otherwise.
    pub fn append_as_coordinator(
        &self,
        records: &[u8],
        required_acks: i16,
    ) -> Result<(AppendInfo, LeaderEpoch), ApiError> {
        self.append_with(required_acks, |log, epoch| {
            log.append_as_coordinator(records, Some(epoch))
        })
    }

    /// WriteTxnMarkers: the transaction coordinator's marker ending `producer_id`'s
    /// transaction here, appended as the leader with acks=all's ISR check.
    pub fn append_end_txn_marker(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        marker: EndTxnMarker,
    ) -> Result<(AppendInfo, LeaderEpoch), ApiError> {
        self.append_with(-1, |log, epoch| {
            log.append_end_txn_marker(producer_id, producer_epoch, marker, Some(epoch))
        })
    }

    /// Appends through `write` as the leader (at its epoch), after the ISR check of
    /// `required_acks`, then publishes the log end and any high watermark it moved.
    fn append_with(
        &self,
        required_acks: i16,
        write: impl FnOnce(&mut Log, LeaderEpoch) -> Result<AppendInfo, LogError>,
    ) -> Result<(AppendInfo, LeaderEpoch), ApiError> {
        let epoch = {
            let role = self.role.lock();
            let Role::Leader(state) = &*role else {
                return Err(self.not_leader());
            };
            let min_isr = self.min_insync_replicas();
            if required_acks == -1 && state.isr.len() < min_isr {
                return Err(ApiError::new(
                    ErrorCode::NotEnoughReplicas,
                    format!(
                        "The size of the current ISR {:?} is insufficient to satisfy the min.isr requirement of {min_isr} for partition {}-{}",
                        state.isr, self.topic, self.index
                    ),
                ));
            }
            state.leader_epoch
        };
        let (info, end) = {
            let mut log = self.log.lock();
            let info = write(&mut log, epoch)?;
            (info, log.log_end_offset())
        };
        self.log_end.send_replace(end);
        let hw = match &mut *self.role.lock() {
            Role::Leader(state) => state.maybe_advance_high_watermark(end),
            _ => None,
        };
        if let Some(hw) = hw {
            self.publish_high_watermark(hw);
        }
        Ok((info, epoch))
    }

    /// Waits until the high watermark passes `last_offset` (acks=all), then checks the ISR
    /// still meets `min.insync.replicas` as Kafka does.
    pub async fn wait_for_replication(
        &self,
        last_offset: Offset,
        leader_epoch: LeaderEpoch,
        timeout: std::time::Duration,
    ) -> Result<(), ApiError> {
        let mut hw = self.high_watermark.subscribe();
        let wait = hw.wait_for(|hw| *hw > last_offset);
        match tokio::time::timeout(timeout, wait).await {
            Err(_) => {
                return Err(ApiError::new(
                    ErrorCode::RequestTimedOut,
                    format!(
                        "{}-{}: not replicated to the ISR within the request timeout",
                        self.topic, self.index
                    ),
                ))
            }
            Ok(Err(_)) => return Err(self.not_leader()),
            Ok(Ok(_)) => {}
        }
        let role = self.role.lock();
        let Role::Leader(state) = &*role else {
            return Err(self.not_leader());
        };
        if state.leader_epoch != leader_epoch {
            return Err(self.not_leader());
        }
        let min_isr = self.min_insync_replicas();
        if state.isr.len() < min_isr {
            return Err(ApiError::new(
                ErrorCode::NotEnoughReplicasAfterAppend,
                format!(
                    "The size of the current ISR {:?} is insufficient to satisfy the min.isr requirement of {min_isr} for partition {}-{}",
                    state.isr, self.topic, self.index
                ),
            ));
        }
        Ok(())
    }

    /// Reads whole batches from `offset` up to the high watermark, for a consumer.
    pub fn read(
        &self,
        offset: Offset,
        max_bytes: u64,
        min_one_batch: bool,
    ) -> Result<ReadResult, LogError> {
        let upper = self.high_watermark();
        let log = self.log.lock();
        log.read(offset, max_bytes, upper, min_one_batch)
    }

    /// A coordinator's load: up to the log end, past the high watermark (Kafka's
    /// `FetchIsolation.LOG_END` in `CoordinatorLoaderImpl`). A new leader's high
    /// watermark may not have caught up yet with records the former leader had
    /// acknowledged; they are in this log, and this log is the partition's now.
    pub fn read_to_log_end(&self, offset: Offset, max_bytes: u64) -> Result<ReadResult, LogError> {
        let log = self.log.lock();
        let end = log.log_end_offset();
        log.read(offset, max_bytes, end, true)
    }

    /// A consumer's read with its isolation: up to the high watermark, or for
    /// `read_committed` up to the last stable offset with the aborted transactions the
    /// records overlap. Reports the last stable offset either way (one lock of the log).
    pub fn read_for_consumer(
        &self,
        offset: Offset,
        max_bytes: u64,
        min_one_batch: bool,
        read_committed: bool,
    ) -> Result<ConsumerRead, LogError> {
        let high_watermark = self.high_watermark();
        let mut log = self.log.lock();
        let last_stable_offset = log.last_stable_offset(high_watermark);
        if !read_committed {
            let records = log.read(offset, max_bytes, high_watermark, min_one_batch)?;
            return Ok(ConsumerRead {
                records,
                high_watermark,
                last_stable_offset,
                aborted: None,
            });
        }
        let records = log.read(offset, max_bytes, last_stable_offset, min_one_batch)?;
        let aborted = if records.is_empty() {
            Vec::new()
        } else {
            log.aborted_transactions(offset, records.next_offset)
        };
        Ok(ConsumerRead {
            records,
            high_watermark,
            last_stable_offset,
            aborted: Some(aborted),
        })
    }

    /// The last stable offset: where read_committed consumers stop.
    pub fn last_stable_offset(&self) -> Offset {
        let high_watermark = self.high_watermark();
        self.log.lock().last_stable_offset(high_watermark)
    }

    /// A follower's fetch: records its log end, may advance the high watermark, and reads
    /// up to the log end.
    pub fn read_for_follower(
        &self,
        replica: NodeId,
        fetch_offset: Offset,
        current_leader_epoch: LeaderEpoch,
        max_bytes: u64,
        now_ms: u64,
    ) -> Result<FollowerRead, ApiError> {
        let end = self.log_end_offset();
        let hw = {
            let mut role = self.role.lock();
            let Role::Leader(state) = &mut *role else {
                return Err(self.not_leader());
            };
            epoch_matches(current_leader_epoch, state.leader_epoch)?;
            if !state.replicas.contains(&replica.0) {
                return Err(ApiError::new(
                    ErrorCode::NotLeaderOrFollower,
                    format!(
                        "Broker {replica} is not a replica of {}-{}",
                        self.topic, self.index
                    ),
                ));
            }
            state.on_follower_fetch(replica.0, fetch_offset, end, now_ms)
        };
        if let Some(hw) = hw {
            self.publish_high_watermark(hw);
        }
        let high_watermark = self.high_watermark();
        let mut log = self.log.lock();
        let records = log.read(fetch_offset, max_bytes, log.log_end_offset(), true)?;
        Ok(FollowerRead {
            log_start_offset: records.log_start_offset,
            records,
            high_watermark,
            last_stable_offset: log.last_stable_offset(high_watermark),
        })
    }

    /// The ISR change the leader should propose now, with the epochs to propose it at.
    pub fn isr_change(&self, now_ms: u64, lag_max_ms: u64) -> Option<(Vec<i32>, LeaderEpoch, i32)> {
        let mut role = self.role.lock();
        let Role::Leader(state) = &mut *role else {
            return None;
        };
        let isr = state.isr_change(now_ms, lag_max_ms)?;
        state.propose_isr(isr.clone());
        Some((isr, state.leader_epoch, state.partition_epoch))
    }

    /// The controller refused or never answered an ISR proposal.
    pub fn clear_pending_isr(&self) {
        if let Role::Leader(state) = &mut *self.role.lock() {
            state.clear_pending();
        }
    }

    /// Appends batches fetched from the leader and takes its high watermark.
    pub fn append_as_follower(
        &self,
        records: &[u8],
        leader_high_watermark: Offset,
    ) -> Result<(), ApiError> {
        let end = {
            let mut log = self.log.lock();
            if !records.is_empty() {
                log.append_as_follower(records)?;
            }
            log.log_end_offset()
        };
        self.log_end.send_replace(end);
        self.publish_high_watermark(leader_high_watermark.min(end));
        Ok(())
    }

    /// Truncates a follower's log (divergent tail after a leader change).
    pub fn truncate_to(&self, offset: Offset) -> Result<(), ApiError> {
        let end = {
            let mut log = self.log.lock();
            if offset < log.log_end_offset() {
                tracing::info!(
                    "{}-{}: truncating from {} to {offset}",
                    self.topic,
                    self.index,
                    log.log_end_offset()
                );
                log.truncate_to(offset)?;
            }
            log.log_end_offset()
        };
        self.log_end.send_replace(end);
        self.high_watermark.send_if_modified(|hw| {
            let changed = *hw > end;
            *hw = (*hw).min(end);
            changed
        });
        Ok(())
    }

    /// The follower is so far behind that the leader no longer has its offset.
    pub fn truncate_fully_and_start_at(&self, offset: Offset) -> Result<(), ApiError> {
        self.log.lock().truncate_fully_and_start_at(offset)?;
        self.log_end.send_replace(offset);
        self.high_watermark.send_replace(offset);
        Ok(())
    }

    /// Kafka's OffsetForLeaderEpoch answer: (largest epoch <= `epoch`, its end offset).
    pub fn end_offset_for_epoch(&self, epoch: LeaderEpoch) -> (LeaderEpoch, Offset) {
        let (epoch, end) = self.log.lock().end_offset_for_epoch(epoch.0);
        (LeaderEpoch(epoch), Offset(end))
    }

    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.log.lock().latest_epoch().map(LeaderEpoch)
    }

    /// Moves the high watermark up (never down).
    fn publish_high_watermark(&self, hw: Offset) {
        self.high_watermark.send_if_modified(|current| {
            let changed = hw > *current;
            if changed {
                *current = hw;
            }
            changed
        });
    }

    pub fn high_watermark(&self) -> Offset {
        *self.high_watermark.borrow()
    }

    pub fn log_end_offset(&self) -> Offset {
        *self.log_end.borrow()
    }

    /// Consumers wait on the high watermark.
    pub fn subscribe(&self) -> watch::Receiver<Offset> {
        self.high_watermark.subscribe()
    }

    /// Followers wait on the log end.
    pub fn subscribe_log_end(&self) -> watch::Receiver<Offset> {
        self.log_end.subscribe()
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log.lock().log_start_offset()
    }

    pub fn size_bytes(&self) -> u64 {
        self.log.lock().size_bytes()
    }

    pub fn recovery_point(&self) -> Offset {
        self.log.lock().recovery_point()
    }

    pub fn dir(&self) -> PathBuf {
        self.log.lock().dir().to_path_buf()
    }

    /// Moves this replica's log into the log dir `log_dir` (AlterReplicaLogDirs); a no-op
    /// when it is there already. Appends and reads of the partition wait for the move.
    pub fn move_to_log_dir(&self, log_dir: &std::path::Path) -> Result<(), LogError> {
        let mut log = self.log.lock();
        let current = log.dir().to_path_buf();
        if current.parent() == Some(log_dir) {
            return Ok(());
        }
        let name = current
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        log.move_to(log_dir.join(name))
    }

    /// Runs `f` with the log locked, for the rarer operations (retention, ListOffsets by
    /// timestamp, DeleteRecords, flushes, compaction). None of them moves the log end
    /// offset: appends and truncations go through the methods above, which publish it.
    pub fn with_log<R>(&self, f: impl FnOnce(&mut Log) -> R) -> R {
        f(&mut self.log.lock())
    }

    pub fn update_config(&self, config: LogConfig) {
        self.log.lock().update_config(config);
    }
}

/// `replica::check_leader_epoch` with Kafka's error codes and a message.
fn epoch_matches(requested: LeaderEpoch, current: LeaderEpoch) -> Result<(), ApiError> {
    check_leader_epoch(requested, current).map_err(|mismatch| match mismatch {
        EpochMismatch::Fenced => ApiError::new(
            ErrorCode::FencedLeaderEpoch,
            format!("The leader epoch {requested} is older than the current {current}"),
        ),
        EpochMismatch::Unknown => ApiError::new(
            ErrorCode::UnknownLeaderEpoch,
            format!("The leader epoch {requested} is newer than the current {current}"),
        ),
    })
}
