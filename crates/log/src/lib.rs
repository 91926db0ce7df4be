//! The durable, append-only log of one partition, modelled on Kafka's `UnifiedLog`,
//! `LogSegment`, `OffsetIndex` and `TimeIndex`.
//!
//! A [`Log`] owns one directory: segment files named by their 20-digit base offset
//! (`00000000000000000000.log`, `.index`, `.timeindex`), the active segment last. It
//! validates producer batches (magic 2, lengths, CRC-32C, sizes), assigns offsets by
//! rewriting base offsets in place, and writes the client's bytes as they came: it never
//! decodes or re-encodes records on the produce or fetch path. It serves reads as byte
//! ranges of whole batches ([`FileSlice`]) that a broker can `sendfile()`; recovers from
//! torn writes by truncating; rolls segments by size, age and index fullness; enforces
//! time and size retention; compacts `cleanup.policy=compact` logs ([`Log::clean`], see
//! `cleaner.rs`); answers ListOffsets by timestamp; keeps the leader epoch cache (the
//! first offset of each leader epoch, Kafka's `leader-epoch-checkpoint`, see `epoch.rs`)
//! in step with its batches for OffsetForLeaderEpoch; and keeps each idempotent
//! producer's state (Kafka's `ProducerStateManager`, see `producer_state.rs`), refusing
//! sequence gaps and fenced epochs and answering retried batches without writing them.
//!
//! It knows nothing of networking, requests, replication or the cluster: high
//! watermarks, ISR and which epoch is current are the broker's; the
//! broker tells the log what it needs (an upper bound for reads, a recovery point at
//! open, the leader epoch to stamp).

mod cleaner;
mod config;
mod epoch;
mod error;
mod index;
mod producer_state;
mod segment;
mod txn_index;
mod validate;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use rafka_protocol::batch::{
    partition_leader_epoch_of, stamp_base_offset, stamp_partition_leader_epoch, Batch, BatchMut,
    EndTxnMarker, HEADER_SIZE_BYTES, NO_TIMESTAMP,
};
use rafka_types::{Durability, LeaderEpoch, Offset, SharedClock};

pub use cleaner::{CleanResult, CleanSkip, CLEANER_CHECKPOINT_FILE};
pub use config::{LogConfig, TimestampType};
pub use epoch::{
    EpochEntry, LeaderEpochCache, LEADER_EPOCH_CHECKPOINT_FILE, UNDEFINED_EPOCH,
    UNDEFINED_EPOCH_OFFSET,
};
pub use error::LogError;
pub use producer_state::{
    decrement_sequence, increment_sequence, Appender, BatchMetadata, ProducerEntry,
    TxnVerification, VerificationGuard, BATCHES_TO_RETAIN, PRODUCER_SNAPSHOT_SUFFIX,
};
pub use txn_index::{AbortedTxn, TXN_INDEX_SUFFIX};

use epoch::CheckpointRead;
use producer_state::{Checked, ProducerBatch, ProducerStateManager};
use segment::{
    parse_segment_file_name, segment_file_name, AppendedBatch, LoadMode, LogSegment, INDEX_SUFFIX,
    LOG_SUFFIX, TIME_INDEX_SUFFIX,
};
use txn_index::TxnIndexes;
use validate::{validate_records, Origin, Rules};

/// What the caller knows about the previous run, read from its checkpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// The checkpointed log start offset (after DeleteRecords or retention); the log
    /// start offset is at least the first segment's base offset.
    pub log_start_offset: Option<Offset>,
    /// `None`: the previous shutdown was clean, trust the files (indexes are still
    /// sanity-checked and rebuilt when missing or corrupt). `Some(p)`: unclean; every
    /// segment holding offsets ≥ `p` is scanned batch by batch and cut at the first torn
    /// or corrupt batch.
    pub recovery_point: Option<Offset>,
}

/// The outcome of an append, for the Produce response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub first_offset: Offset,
    pub last_offset: Offset,
    /// The time written into the batches under LogAppendTime; -1 under CreateTime.
    pub log_append_time_ms: i64,
    pub log_start_offset: Offset,
    pub record_count: u64,
    /// The append was a producer's retry of a batch already in the log: nothing was
    /// written, and the offsets are the original batch's.
    pub duplicate: bool,
}

/// A byte range of a segment file, to be sent as is (by `sendfile()` or a `pread`).
/// Stays readable after the segment is deleted: the open file keeps the data.
#[derive(Debug, Clone)]
pub struct FileSlice {
    pub file: Arc<File>,
    /// The segment file, for error messages.
    pub path: PathBuf,
    pub position: u64,
    pub len: u64,
}

impl FileSlice {
    /// Reads the whole range into `buf`, which must be `len` bytes.
    pub fn read_into(&self, buf: &mut [u8]) -> Result<(), LogError> {
        assert_eq!(buf.len() as u64, self.len, "buffer must match the slice");
        self.file
            .read_exact_at(buf, self.position)
            .map_err(|e| LogError::io(&self.path, e))
    }
}

/// Whole batches read from the log, as file ranges in log order.
#[derive(Debug, Clone, Default)]
pub struct ReadResult {
    pub slices: Vec<FileSlice>,
    /// Sum of the slices' lengths.
    pub size_bytes: u64,
    /// Base offset of the first batch returned: at most the requested offset, since the
    /// batch containing it is returned whole. The requested offset when empty.
    pub first_offset: Offset,
    /// The offset after the last batch returned; the requested offset when empty.
    pub next_offset: Offset,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
}

impl ReadResult {
    pub fn is_empty(&self) -> bool {
        self.slices.is_empty()
    }

    /// Reads every slice into one buffer (the copying alternative to `sendfile()`).
    pub fn to_bytes(&self) -> Result<Bytes, LogError> {
        let mut out = vec![0u8; self.size_bytes as usize];
        let mut at = 0usize;
        for slice in &self.slices {
            let len = slice.len as usize;
            slice.read_into(&mut out[at..at + len])?;
            at += len;
        }
        Ok(Bytes::from(out))
    }
}

/// What one retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionResult {
    pub deleted_segments: usize,
    pub deleted_bytes: u64,
    pub log_start_offset: Offset,
}

/// One partition's log in one directory.
///
/// Thread-safety: `Log` is `Send + Sync` but does no locking of its own; mutations take
/// `&mut self`. The broker keeps each log behind a `parking_lot::Mutex` and releases it
/// before sending the [`FileSlice`]s of a read: segment files only grow past the ranges
/// already handed out, and deleted segments stay readable through their open files, so
/// those ranges stay valid while later appends, rolls, retention and cleaning
/// (which swaps in new files and unlinks the old) run. Only
/// [`Log::truncate_to`] (replication) rewrites bytes already handed out, as in Kafka.
///
/// Invariant: `segments` is non-empty and sorted by base offset; the last is active.
/// Invariant: `log_start_offset` ≥ the first segment's base and ≤ the log end offset.
/// Invariant: after an I/O failure while writing (`offline`), every mutation and read
/// returns [`LogError::Offline`]; the broker must reopen the log.
/// Invariant: every entry of `leader_epoch_cache` starts at or after `log_start_offset`,
/// and its checkpoint file holds at least every entry whose batches are on disk.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    config: LogConfig,
    clock: SharedClock,
    segments: Vec<LogSegment>,
    log_start_offset: i64,
    /// Everything below is fsynced.
    recovery_point: i64,
    last_flush_ms: i64,
    /// Segment files were created or deleted since the directory was last fsynced.
    dir_needs_flush: bool,
    offline: bool,
    /// The cleaner's first dirty offset, as in [`CLEANER_CHECKPOINT_FILE`].
    cleaner_checkpoint: Option<i64>,
    /// Mirrored in [`LEADER_EPOCH_CHECKPOINT_FILE`], rewritten on every change (changes
    /// come with new epochs, truncation and log start moves, not with every append).
    leader_epoch_cache: LeaderEpochCache,
    /// Each producer's epoch and last batches, covering every batch of the log.
    producers: ProducerStateManager,
    /// Each segment's aborted transactions (`.txnindex`).
    txn_indexes: TxnIndexes,
}

impl Log {
    /// Opens (creating if absent) the log in `dir`, recovering it per `options`.
    pub fn open(
        dir: PathBuf,
        config: LogConfig,
        clock: SharedClock,
        options: OpenOptions,
    ) -> Result<Log, LogError> {
        std::fs::create_dir_all(&dir).map_err(|e| LogError::io(&dir, e))?;
        let swapped = cleaner::complete_or_roll_back_swaps(&dir)?;
        let cleaner_checkpoint = cleaner::read_checkpoint(&dir)?;
        let now_ms = clock.now_ms();
        let mut bases = Vec::new();
        let mut index_files = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| LogError::io(&dir, e))? {
            let entry = entry.map_err(|e| LogError::io(&dir, e))?;
            let name = entry.file_name();
            let Some((base_offset, suffix)) = name.to_str().and_then(parse_segment_file_name)
            else {
                continue;
            };
            match suffix {
                LOG_SUFFIX => bases.push(base_offset),
                INDEX_SUFFIX | TIME_INDEX_SUFFIX => index_files.push((base_offset, entry.path())),
                _ => {}
            }
        }
        bases.sort_unstable();
        for (base_offset, path) in index_files {
            if bases.binary_search(&base_offset).is_err() {
                tracing::warn!(path = %path.display(), "deleting an index without its .log");
                std::fs::remove_file(&path).map_err(|e| LogError::io(&path, e))?;
            }
        }

        let mut segments: Vec<LogSegment> = Vec::with_capacity(bases.len().max(1));
        let mut dir_needs_flush = false;
        for (i, &base_offset) in bases.iter().enumerate() {
            // A segment holds offsets ≥ p unless the next segment starts at or below p.
            // A segment completed from a `.swap` file gets fresh indexes.
            let mode = match options.recovery_point {
                _ if swapped.contains(&base_offset) => LoadMode::Recover,
                Some(p) if bases.get(i + 1).is_none_or(|next| *next > p.0) => LoadMode::Recover,
                _ => LoadMode::Trust,
            };
            let (segment, truncated_bytes) =
                LogSegment::open(&dir, base_offset, &config, now_ms, mode)?;
            segments.push(segment);
            if truncated_bytes > 0 {
                for later in &bases[i + 1..] {
                    tracing::warn!(
                        dir = %dir.display(), base_offset = later,
                        "deleting a segment after a torn or corrupt batch"
                    );
                    for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
                        let path = dir.join(segment_file_name(*later, suffix));
                        match std::fs::remove_file(&path) {
                            Ok(()) => {}
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                            Err(e) => return Err(LogError::io(&path, e)),
                        }
                    }
                }
                dir_needs_flush = true;
                break;
            }
        }

        let requested_start = options.log_start_offset.map(|o| o.0);
        let log_end_offset = segments.last().map(LogSegment::next_offset);
        match (log_end_offset, requested_start) {
            (None, start) => {
                segments.push(LogSegment::create(
                    &dir,
                    start.unwrap_or(0),
                    &config,
                    now_ms,
                )?);
                dir_needs_flush = true;
            }
            (Some(end), Some(start)) if start > end => {
                // Kafka's rule: a checkpointed log start beyond the data means the data is
                // stale (e.g. lost in an unclean shutdown); start over at the log start.
                tracing::warn!(
                    dir = %dir.display(), log_start_offset = start, log_end_offset = end,
                    "log start offset is beyond the log end; deleting all segments"
                );
                for segment in segments.drain(..) {
                    segment.delete()?;
                }
                segments.push(LogSegment::create(&dir, start, &config, now_ms)?);
                dir_needs_flush = true;
            }
            _ => {}
        }
        let first_base = segments[0].base_offset();
        let log_start_offset = requested_start.map_or(first_base, |start| start.max(first_base));
        let log_end_offset = segments[segments.len() - 1].next_offset();
        let producers = ProducerStateManager::load(&dir, log_start_offset, log_end_offset)?;
        let bases: Vec<i64> = segments.iter().map(LogSegment::base_offset).collect();
        let txn_indexes = TxnIndexes::load(&dir, &bases, log_end_offset)?;
        let mut log = Log {
            dir,
            config,
            clock,
            segments,
            log_start_offset,
            recovery_point: log_end_offset,
            last_flush_ms: now_ms,
            dir_needs_flush,
            offline: false,
            cleaner_checkpoint,
            leader_epoch_cache: LeaderEpochCache::new(),
            producers,
            txn_indexes,
        };
        log.load_leader_epoch_cache(options.recovery_point.map(|p| p.0))?;
        log.replay_producer_state()?;
        if let Some(p) = options.recovery_point {
            // Make what recovery kept durable, so the next unclean start scans from here.
            log.recovery_point = p.0.clamp(log.log_start_offset, log_end_offset);
            log.flush()?;
        }
        Ok(log)
    }

    /// Appends a producer's batches (the `records` of one Produce partition): validates
    /// all of them first (on `Err` the log is unchanged), assigns offsets from the log end
    /// offset, applies LogAppendTime, rolls if needed and writes. The batches' partition
    /// leader epoch is left as the client sent it.
    pub fn append_as_leader(&mut self, records: &[u8]) -> Result<AppendInfo, LogError> {
        self.append_leader(
            records,
            None,
            Appender::Client,
            TxnVerification::NotRequired,
        )
    }

    /// [`Log::append_as_leader`], stamping each batch with the leader's epoch as Kafka's
    /// leader does (followers and OffsetForLeaderEpoch rely on it).
    pub fn append_as_leader_with_epoch(
        &mut self,
        records: &[u8],
        leader_epoch: LeaderEpoch,
    ) -> Result<AppendInfo, LogError> {
        self.append_leader(
            records,
            Some(leader_epoch.0),
            Appender::Client,
            TxnVerification::NotRequired,
        )
    }

    /// Writes the transaction coordinator's marker ending `producer_id`'s transaction
    /// (WriteTxnMarkers), as Kafka's leader does with origin COORDINATOR: the producer's
    /// epoch and the coordinator's epoch are checked, and an abort enters the
    /// transaction index.
    pub fn append_end_txn_marker(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        marker: EndTxnMarker,
        leader_epoch: Option<LeaderEpoch>,
    ) -> Result<AppendInfo, LogError> {
        let batch = marker.batch(producer_id, producer_epoch, self.clock.now_ms());
        self.append_leader(
            &batch,
            leader_epoch.map(|e| e.0),
            Appender::Coordinator,
            TxnVerification::NotRequired,
        )
    }

    /// Appends a coordinator's own batches (the group coordinator's `__consumer_offsets`
    /// records, transactional offset commits included) as Kafka's leader does with origin
    /// COORDINATOR: producer epochs are checked, sequences are not, and no batch is taken
    /// for a retry. Kafka's coordinators give every transactional batch base sequence 0,
    /// which a client's checks would answer as a duplicate from the second transaction on.
    pub fn append_as_coordinator(
        &mut self,
        records: &[u8],
        leader_epoch: Option<LeaderEpoch>,
    ) -> Result<AppendInfo, LogError> {
        self.append_leader(
            records,
            leader_epoch.map(|e| e.0),
            Appender::Coordinator,
            TxnVerification::NotRequired,
        )
    }

    fn append_leader(
        &mut self,
        records: &[u8],
        leader_epoch: Option<i32>,
        appender: Appender,
        verification: TxnVerification,
    ) -> Result<AppendInfo, LogError> {
        self.ensure_online()?;
        // Kafka names a partition `topic-index`, which is also its directory's name.
        let partition_name = self.dir.file_name().map(|n| n.to_string_lossy());
        let rules = Rules {
            max_message_bytes: self.config.max_message_bytes,
            compacted: match (&partition_name, self.config.cleanup_policy_compact) {
                (Some(name), true) => Some(name),
                _ => None,
            },
            allow_control: appender == Appender::Coordinator,
        };
        let validated = validate_records(records, Origin::Leader, rules)?;
        let now_ms = self.clock.now_ms();
        let log_append_time = self.config.message_timestamp_type == TimestampType::LogAppendTime;
        let first_offset = self.log_end_offset_raw();
        let mut next_offset = first_offset;
        let mut appended = Vec::with_capacity(validated.len());
        let mut producer_batches = Vec::new();
        let mut record_count = 0u64;
        if log_append_time {
            // The timestamp is under the CRC: rewrite whole batches (the rarer mode).
            let mut buf = records.to_vec();
            for batch in &validated {
                let mut view = BatchMut::new(&mut buf[batch.start..batch.start + batch.size])
                    .map_err(|e| LogError::CorruptRecord(e.to_string()))?;
                view.set_base_offset(next_offset);
                if let Some(epoch) = leader_epoch {
                    view.set_partition_leader_epoch(epoch);
                }
                view.set_log_append_time(now_ms);
                let original = Batch::new(&records[batch.start..batch.start + batch.size])
                    .map_err(|e| LogError::CorruptRecord(e.to_string()))?;
                producer_batches.extend(producer_batch(&original, next_offset)?);
                appended.push(AppendedBatch {
                    start: batch.start,
                    size: batch.size,
                    base_offset: next_offset,
                    last_offset: view.last_offset(),
                    max_timestamp: view.max_timestamp(),
                });
                next_offset = view.next_offset();
                record_count += batch.records_count as u64;
            }
            let plan = match self
                .producers
                .check(&producer_batches, appender, verification)?
            {
                Checked::Append(plan) => plan,
                Checked::Duplicate(original) => return Ok(self.duplicate_append(original)),
            };
            let previous_epochs = self.assign_epochs(leader_epoch, &buf, &appended);
            self.write_parts_and_epochs(&[&buf], &appended, now_ms, previous_epochs)?;
            self.apply_producer_plan(plan, next_offset)?;
        } else {
            // Base offset and leader epoch are outside the CRC: patch copies of the batch
            // headers only and write them gathered with the client's record bytes.
            let mut headers = vec![0u8; validated.len() * HEADER_SIZE_BYTES];
            for (i, batch) in validated.iter().enumerate() {
                let header = &mut headers[i * HEADER_SIZE_BYTES..(i + 1) * HEADER_SIZE_BYTES];
                header.copy_from_slice(&records[batch.start..batch.start + HEADER_SIZE_BYTES]);
                stamp_base_offset(header, next_offset);
                if let Some(epoch) = leader_epoch {
                    stamp_partition_leader_epoch(header, epoch);
                }
                let view = Batch::new(&records[batch.start..batch.start + batch.size])
                    .map_err(|e| LogError::CorruptRecord(e.to_string()))?;
                producer_batches.extend(producer_batch(&view, next_offset)?);
                appended.push(AppendedBatch {
                    start: batch.start,
                    size: batch.size,
                    base_offset: next_offset,
                    last_offset: next_offset + i64::from(view.last_offset_delta()),
                    max_timestamp: view.max_timestamp(),
                });
                next_offset += i64::from(view.last_offset_delta()) + 1;
                record_count += batch.records_count as u64;
            }
            debug_assert_eq!(
                validated.iter().map(|b| b.size).sum::<usize>(),
                records.len(),
                "validated batches cover the whole input"
            );
            let mut parts: Vec<&[u8]> = Vec::with_capacity(validated.len() * 2);
            for (i, batch) in validated.iter().enumerate() {
                parts.push(&headers[i * HEADER_SIZE_BYTES..(i + 1) * HEADER_SIZE_BYTES]);
                parts.push(&records[batch.start + HEADER_SIZE_BYTES..batch.start + batch.size]);
            }
            let plan = match self
                .producers
                .check(&producer_batches, appender, verification)?
            {
                Checked::Append(plan) => plan,
                Checked::Duplicate(original) => return Ok(self.duplicate_append(original)),
            };
            let previous_epochs = self.assign_epochs(leader_epoch, records, &appended);
            self.write_parts_and_epochs(&parts, &appended, now_ms, previous_epochs)?;
            self.apply_producer_plan(plan, next_offset)?;
        }
        Ok(AppendInfo {
            first_offset: Offset(first_offset),
            last_offset: Offset(next_offset - 1),
            log_append_time_ms: if log_append_time {
                now_ms
            } else {
                NO_TIMESTAMP
            },
            log_start_offset: Offset(self.log_start_offset),
            record_count,
            duplicate: false,
        })
    }

    /// Applies an append's producer-state plan once its batches are written below
    /// `end_offset`; its aborts enter the active segment's transaction index (the one
    /// holding their markers).
    fn apply_producer_plan(
        &mut self,
        plan: producer_state::AppendPlan,
        end_offset: i64,
    ) -> Result<(), LogError> {
        let aborted = self.producers.apply(plan, end_offset);
        let active_base = self.active().base_offset();
        for txn in aborted {
            let indexed = self.txn_indexes.append(active_base, txn);
            self.offline_on_error(indexed)?;
        }
        Ok(())
    }

    /// The last stable offset given the partition's `high_watermark` (Kafka's
    /// `lastStableOffset`): read-committed readers stop at the first offset of a
    /// transaction still open, or ended by a marker not yet below the high watermark.
    pub fn last_stable_offset(&mut self, high_watermark: Offset) -> Offset {
        match self.producers.first_unstable_offset(high_watermark.0) {
            Some(first) => Offset(first.max(self.log_start_offset).min(high_watermark.0)),
            None => high_watermark,
        }
    }

    /// The aborted transactions a read-committed fetch of `start..upper` overlaps, for its
    /// `aborted_transactions` (Kafka's `collectAbortedTransactions`).
    pub fn aborted_transactions(&self, start: Offset, upper: Offset) -> Vec<AbortedTxn> {
        let index = self
            .segments
            .partition_point(|s| s.base_offset() <= start.0)
            .saturating_sub(1);
        let segment_base = self.segments[index].base_offset();
        self.txn_indexes.collect(segment_base, start.0, upper.0)
    }

    /// Every aborted transaction the transaction indexes hold, oldest first.
    pub fn aborted_transaction_index(&self) -> Vec<AbortedTxn> {
        self.txn_indexes.all()
    }

    /// A batch as leader, from a producer (`Appender::Client`) or the group coordinator's
    /// transactional offsets (`Appender::Coordinator`), after KIP-890's verification with
    /// the transaction coordinator: a transactional batch that would start a transaction
    /// here is refused (INVALID_TXN_STATE) unless it brings the guard of the producer's
    /// verification still under way, i.e. no marker ended the transaction since it was
    /// verified.
    pub fn append_verified(
        &mut self,
        records: &[u8],
        leader_epoch: LeaderEpoch,
        appender: Appender,
        verification: TxnVerification,
    ) -> Result<AppendInfo, LogError> {
        self.append_leader(records, Some(leader_epoch.0), appender, verification)
    }

    /// Starts verifying `producer_id`'s transaction at `producer_epoch` here (Kafka's
    /// `maybeStartTransactionVerification`): `None` when the transaction is open already
    /// (its batches need no verification), else the guard they must bring.
    pub fn start_transaction_verification(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Option<VerificationGuard> {
        if self.has_ongoing_transaction(producer_id, producer_epoch) {
            return None;
        }
        let now_ms = self.clock.now_ms();
        Some(self.producers.start_verification(producer_id, now_ms))
    }

    /// Whether the producer has a transaction open here at this epoch (Kafka's
    /// `hasOngoingTransaction`): its next batches need no word from the coordinator.
    pub fn has_ongoing_transaction(&self, producer_id: i64, producer_epoch: i16) -> bool {
        self.producers
            .producers()
            .get(&producer_id)
            .is_some_and(|entry| {
                entry.current_txn_first_offset.is_some() && entry.producer_epoch == producer_epoch
            })
    }

    /// The open transactions: (first offset, producer id), oldest first.
    pub fn ongoing_transactions(&self) -> Vec<(Offset, i64)> {
        self.producers
            .ongoing()
            .iter()
            .map(|(first, producer)| (Offset(*first), *producer))
            .collect()
    }

    /// The answer to a retried batch: the original's offsets, as Kafka's
    /// `analyzeAndValidateProducerState` gives them, nothing written.
    fn duplicate_append(&self, original: BatchMetadata) -> AppendInfo {
        AppendInfo {
            first_offset: Offset(original.first_offset()),
            last_offset: Offset(original.last_offset),
            // Kafka answers the original batch's timestamp here, even under CreateTime.
            log_append_time_ms: original.timestamp,
            log_start_offset: Offset(self.log_start_offset),
            record_count: 0,
            duplicate: true,
        }
    }

    /// Appends a leader's batches as a follower: same structural and CRC checks, offsets
    /// kept. The first batch must start at or after the log end offset (a gap is allowed,
    /// as after compaction) and offsets must increase.
    pub fn append_as_follower(&mut self, records: &[u8]) -> Result<AppendInfo, LogError> {
        self.ensure_online()?;
        let rules = Rules {
            max_message_bytes: self.config.max_message_bytes,
            compacted: None,
            allow_control: true,
        };
        let validated = validate_records(records, Origin::Follower, rules)?;
        let log_end_offset = self.log_end_offset_raw();
        let mut expected_offset = log_end_offset;
        let mut appended = Vec::with_capacity(validated.len());
        let mut producer_batches = Vec::new();
        let mut record_count = 0u64;
        for batch in &validated {
            let view = Batch::new(&records[batch.start..batch.start + batch.size])
                .map_err(|e| LogError::CorruptRecord(e.to_string()))?;
            if view.base_offset() < expected_offset {
                return Err(LogError::UnexpectedAppendOffset {
                    first_offset: Offset(view.base_offset()),
                    log_end: Offset(log_end_offset),
                });
            }
            appended.push(AppendedBatch {
                start: batch.start,
                size: batch.size,
                base_offset: view.base_offset(),
                last_offset: view.last_offset(),
                max_timestamp: view.max_timestamp(),
            });
            producer_batches.extend(producer_batch(&view, view.base_offset())?);
            expected_offset = view.next_offset();
            record_count += batch.records_count.max(0) as u64;
        }
        let first_offset = appended[0].base_offset;
        if expected_offset - 1 - first_offset > i64::from(i32::MAX) {
            // One segment holds 2^31 offsets (32-bit relative offsets in its indexes).
            return Err(LogError::InvalidRecord(format!(
                "one append spans offsets {first_offset}..{expected_offset}, more than a segment can index"
            )));
        }
        let now_ms = self.clock.now_ms();
        let previous_epochs = self.assign_epochs(None, records, &appended);
        self.write_parts_and_epochs(&[records], &appended, now_ms, previous_epochs)?;
        let active_base = self.active().base_offset();
        for batch in &producer_batches {
            if let Some(aborted) = self.producers.replay(batch) {
                let indexed = self.txn_indexes.append(active_base, aborted);
                self.offline_on_error(indexed)?;
            }
        }
        self.producers.advance_to(expected_offset);
        Ok(AppendInfo {
            first_offset: Offset(first_offset),
            last_offset: Offset(expected_offset - 1),
            log_append_time_ms: NO_TIMESTAMP,
            log_start_offset: Offset(self.log_start_offset),
            record_count,
            duplicate: false,
        })
    }

    /// Kafka's `maybeAssignEpochStartOffset` for an append about to be written: with a
    /// leader epoch, that epoch starts at the first offset (every batch carries it);
    /// otherwise each batch whose header carries an epoch (`partitionLeaderEpoch` ≥ 0,
    /// read from `buf`, where `batches` start) starts it at its base offset. Only batch
    /// headers are read. Returns the cache as it was when it changed, for
    /// [`Log::write_parts_and_epochs`].
    fn assign_epochs(
        &mut self,
        leader_epoch: Option<i32>,
        buf: &[u8],
        batches: &[AppendedBatch],
    ) -> Option<LeaderEpochCache> {
        let mut previous = None;
        let mut assign = |cache: &mut LeaderEpochCache, epoch: i32, start_offset: i64| {
            if epoch >= 0 && cache.is_update_needed(epoch, start_offset) {
                previous.get_or_insert_with(|| cache.clone());
                cache.assign(epoch, start_offset);
            }
        };
        match (leader_epoch, batches.first()) {
            (Some(epoch), Some(first)) => {
                assign(&mut self.leader_epoch_cache, epoch, first.base_offset);
            }
            (Some(_), None) => {}
            (None, _) => {
                for batch in batches {
                    let epoch = partition_leader_epoch_of(&buf[batch.start..]);
                    assign(&mut self.leader_epoch_cache, epoch, batch.base_offset);
                }
            }
        }
        previous
    }

    /// [`Log::write_parts`], first checkpointing the leader epoch cache when
    /// [`Log::assign_epochs`] changed it (`previous_epochs`). The checkpoint goes first,
    /// as in Kafka: it may then name an epoch whose batches never made it to disk (open
    /// trims entries past the log end), but never misses one whose batches did. On
    /// failure the cache is restored.
    fn write_parts_and_epochs(
        &mut self,
        parts: &[&[u8]],
        batches: &[AppendedBatch],
        now_ms: i64,
        previous_epochs: Option<LeaderEpochCache>,
    ) -> Result<(), LogError> {
        let mut written = Ok(());
        if previous_epochs.is_some() {
            written = self.write_leader_epoch_checkpoint();
        }
        if written.is_ok() {
            written = self.write_parts(parts, batches, now_ms);
        }
        if written.is_err() {
            if let Some(previous) = previous_epochs {
                self.leader_epoch_cache = previous;
            }
        }
        written
    }

    /// Writes the concatenation of `parts`, whose batches `batches` describes (their
    /// `start` is a position in that concatenation).
    fn write_parts(
        &mut self,
        parts: &[&[u8]],
        batches: &[AppendedBatch],
        now_ms: i64,
    ) -> Result<(), LogError> {
        let (Some(first), Some(last)) = (batches.first(), batches.last()) else {
            return Ok(());
        };
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let max_timestamp = batches
            .iter()
            .map(|b| b.max_timestamp)
            .max()
            .unwrap_or(now_ms);
        if self.active().should_roll(
            &self.config,
            len as u64,
            now_ms,
            max_timestamp,
            last.last_offset,
        ) {
            self.roll_at(first.base_offset, now_ms)?;
        }
        let index_interval_bytes = self.config.index_interval_bytes;
        let result = self
            .active_mut()
            .append_parts(parts, batches, index_interval_bytes, now_ms);
        self.offline_on_error(result)?;
        let unflushed_messages = self.log_end_offset_raw() - self.recovery_point;
        if unflushed_messages >= self.config.flush_interval_messages
            || now_ms.saturating_sub(self.last_flush_ms) >= self.config.flush_interval_ms
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Makes a new active segment starting at `base_offset` (≥ the log end offset).
    fn roll_at(&mut self, base_offset: i64, now_ms: i64) -> Result<(), LogError> {
        let active = self.active();
        assert!(base_offset >= active.next_offset());
        if active.size_bytes() == 0 && active.base_offset() == base_offset {
            return Ok(());
        }
        let replace_empty = active.size_bytes() == 0;
        if !replace_empty {
            let result = self.active_mut().on_become_inactive();
            self.offline_on_error(result)?;
        }
        let created = LogSegment::create(&self.dir, base_offset, &self.config, now_ms);
        let segment = self.offline_on_error(created)?;
        tracing::debug!(dir = %self.dir.display(), base_offset, "rolled a new segment");
        self.dir_needs_flush = true;
        if replace_empty {
            // An empty active segment at a lower base (a follower's gap) is replaced.
            let index = self.segments.len() - 1;
            let old = std::mem::replace(&mut self.segments[index], segment);
            self.log_start_offset = self.log_start_offset.max(self.segments[0].base_offset());
            let removed = self.txn_indexes.remove_segments(&[old.base_offset()]);
            self.offline_on_error(removed)?;
            self.offline_on_error(old.delete())?;
            self.truncate_epochs_from_log_start()
        } else {
            self.segments.push(segment);
            // Kafka snapshots producer state at every roll: recovery replays from here.
            self.producers.advance_to(base_offset);
            let snapshot = self.producers.take_snapshot(Durability::Unsynced);
            self.offline_on_error(snapshot)
        }
    }

    /// Rolls the active segment when it is non-empty and older than `segment.ms`. Kafka
    /// only checks this on append; call it periodically so an idle partition's active
    /// segment becomes eligible for retention and compaction too. With no batch to
    /// compare, the clock stands for the next batch's timestamp.
    pub fn maybe_roll_by_time(&mut self) -> Result<bool, LogError> {
        self.ensure_online()?;
        let now_ms = self.clock.now_ms();
        let active = self.active();
        if active.size_bytes() > 0
            && active.time_waited_for_roll_ms(now_ms, now_ms) > self.config.segment_ms
        {
            self.roll_at(self.log_end_offset_raw(), now_ms)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Reads whole batches from `start`: beginning with the batch that contains `start`,
    /// stopping before any batch whose base offset is ≥ `upper_bound` (the high watermark
    /// or LSO) and before `max_bytes` would be exceeded, except that with `min_one_batch`
    /// the first batch is returned even when larger (KIP-74). May span segments.
    /// `OffsetOutOfRange` unless log start ≤ `start` ≤ log end; `start` = log end → empty.
    pub fn read(
        &self,
        start: Offset,
        max_bytes: u64,
        upper_bound: Offset,
        min_one_batch: bool,
    ) -> Result<ReadResult, LogError> {
        self.ensure_online()?;
        let log_end_offset = self.log_end_offset_raw();
        if start.0 < self.log_start_offset || start.0 > log_end_offset {
            return Err(self.out_of_range(start));
        }
        let mut result = ReadResult {
            slices: Vec::new(),
            size_bytes: 0,
            first_offset: start,
            next_offset: start,
            log_start_offset: Offset(self.log_start_offset),
            log_end_offset: Offset(log_end_offset),
        };
        if start.0 == log_end_offset || start >= upper_bound {
            return Ok(result);
        }
        let first_segment = self
            .segments
            .partition_point(|s| s.base_offset() <= start.0)
            .saturating_sub(1);
        let mut done = false;
        for segment in &self.segments[first_segment..] {
            let mut range: Option<(u64, u64)> = None;
            let mut scanner = segment.scanner_for(start.0);
            while let Some((position, header)) = scanner.next_header()? {
                if header.last_offset() < start.0 {
                    continue;
                }
                let size = header.size_bytes() as u64;
                let fits = result.size_bytes + size <= max_bytes
                    || (result.size_bytes == 0 && min_one_batch);
                if header.base_offset() >= upper_bound.0 || !fits {
                    done = true;
                    break;
                }
                if result.size_bytes == 0 {
                    result.first_offset = Offset(header.base_offset());
                }
                range = Some(match range {
                    Some((from, len)) => (from, len + size),
                    None => (position, size),
                });
                result.size_bytes += size;
                result.next_offset = Offset(header.next_offset());
            }
            if let Some((position, len)) = range {
                result.slices.push(FileSlice {
                    file: Arc::clone(segment.file()),
                    path: segment.log_path().to_path_buf(),
                    position,
                    len,
                });
            }
            if done {
                break;
            }
        }
        Ok(result)
    }

    /// Kafka's ListOffsets by timestamp: the earliest record at or after the log start
    /// offset whose timestamp is ≥ `timestamp_ms`, with that record's timestamp.
    pub fn offset_for_timestamp(
        &self,
        timestamp_ms: i64,
    ) -> Result<Option<(Offset, i64)>, LogError> {
        self.ensure_online()?;
        for segment in &self.segments {
            if segment.next_offset() <= self.log_start_offset {
                continue;
            }
            if let Some((offset, timestamp)) =
                segment.find_offset_by_timestamp(timestamp_ms, self.log_start_offset)?
            {
                return Ok(Some((Offset(offset), timestamp)));
            }
        }
        Ok(None)
    }

    /// ListOffsets `MAX_TIMESTAMP` (-3): the first record carrying the largest timestamp
    /// in the log, with that timestamp; `None` when no batch has a timestamp.
    pub fn max_timestamp_offset(&self) -> Result<Option<(Offset, i64)>, LogError> {
        self.ensure_online()?;
        let mut best: Option<&LogSegment> = None;
        for segment in &self.segments {
            if segment.max_timestamp() == NO_TIMESTAMP {
                continue;
            }
            if best.is_none_or(|b| segment.max_timestamp() > b.max_timestamp()) {
                best = Some(segment);
            }
        }
        match best {
            Some(segment) => Ok(segment
                .find_max_timestamp_record()?
                .map(|(offset, timestamp)| (Offset(offset), timestamp))),
            None => Ok(None),
        }
    }

    /// DeleteRecords: moves the log start offset up to `offset` (the caller checks it is
    /// ≤ the high watermark) and deletes the segments entirely below it. Returns the new
    /// log start offset; `OffsetOutOfRange` when `offset` > log end.
    pub fn delete_records_before(&mut self, offset: Offset) -> Result<Offset, LogError> {
        self.ensure_online()?;
        if offset.0 > self.log_end_offset_raw() {
            return Err(self.out_of_range(offset));
        }
        if offset.0 > self.log_start_offset {
            self.log_start_offset = offset.0;
            let log_start_offset = self.log_start_offset;
            let mut ignored = RetentionResult::default();
            self.delete_segments_where(self.log_end_offset_raw(), &mut ignored, |_, next| {
                next.is_some_and(|n| n.base_offset() <= log_start_offset)
            })?;
            self.truncate_epochs_from_log_start()?;
        }
        Ok(Offset(self.log_start_offset))
    }

    /// [`Log::enforce_retention_up_to`] with the log end offset as the high watermark:
    /// right for a log without followers.
    pub fn enforce_retention(&mut self) -> Result<RetentionResult, LogError> {
        let log_end_offset = self.log_end_offset_raw();
        self.enforce_retention_up_to(Offset(log_end_offset))
    }

    /// Kafka's retention pass, deleting whole segments from the oldest, never one holding
    /// offsets at or above `high_watermark`: segments below the log start offset; then,
    /// only when `cleanup.policy` includes `delete`, segments whose largest timestamp is
    /// older than `retention.ms`, then oldest segments while the log stays at or above
    /// `retention.bytes` without them. When
    /// every segment goes, a new empty active segment is rolled first so the log end
    /// offset is kept. The log start offset only moves forward.
    pub fn enforce_retention_up_to(
        &mut self,
        high_watermark: Offset,
    ) -> Result<RetentionResult, LogError> {
        self.ensure_online()?;
        let mut result = RetentionResult::default();
        let log_start_offset = self.log_start_offset;
        self.delete_segments_where(high_watermark.0, &mut result, |_, next| {
            next.is_some_and(|n| n.base_offset() <= log_start_offset)
        })?;
        if !self.config.cleanup_policy_delete {
            result.log_start_offset = Offset(self.log_start_offset);
            return Ok(result);
        }
        if self.config.retention_ms >= 0 {
            let now_ms = self.clock.now_ms();
            let retention_ms = self.config.retention_ms;
            self.delete_segments_where(high_watermark.0, &mut result, |segment, _| {
                now_ms.saturating_sub(segment.largest_timestamp()) > retention_ms
            })?;
        }
        let retention_bytes = self.config.retention_bytes;
        let size_bytes = self.size_bytes() as i64;
        if retention_bytes >= 0 && size_bytes >= retention_bytes {
            let mut excess_bytes = size_bytes - retention_bytes;
            self.delete_segments_where(high_watermark.0, &mut result, |segment, _| {
                let segment_bytes = segment.size_bytes() as i64;
                if excess_bytes - segment_bytes >= 0 {
                    excess_bytes -= segment_bytes;
                    true
                } else {
                    false
                }
            })?;
        }
        result.log_start_offset = Offset(self.log_start_offset);
        Ok(result)
    }

    /// Kafka's `deletableSegments` + `deleteSegments`: deletes the longest prefix of
    /// segments matching `predicate` (given the segment and the next one), never a
    /// segment reaching `high_watermark` and never the empty active segment.
    fn delete_segments_where(
        &mut self,
        high_watermark: i64,
        result: &mut RetentionResult,
        mut predicate: impl FnMut(&LogSegment, Option<&LogSegment>) -> bool,
    ) -> Result<(), LogError> {
        let log_end_offset = self.log_end_offset_raw();
        let mut count = 0;
        for (i, segment) in self.segments.iter().enumerate() {
            let next = self.segments.get(i + 1);
            let is_last_and_empty = next.is_none() && segment.size_bytes() == 0;
            let upper_bound_offset = next.map_or(log_end_offset, LogSegment::base_offset);
            if high_watermark >= upper_bound_offset
                && predicate(segment, next)
                && !is_last_and_empty
            {
                count += 1;
            } else {
                break;
            }
        }
        if count == 0 {
            return Ok(());
        }
        if count == self.segments.len() {
            let now_ms = self.clock.now_ms();
            self.roll_at(log_end_offset, now_ms)?;
        }
        let removed: Vec<LogSegment> = self.segments.drain(..count).collect();
        self.log_start_offset = self.log_start_offset.max(self.segments[0].base_offset());
        self.dir_needs_flush = true;
        let bases: Vec<i64> = removed.iter().map(LogSegment::base_offset).collect();
        let indexes_removed = self.txn_indexes.remove_segments(&bases);
        self.offline_on_error(indexes_removed)?;
        for segment in removed {
            tracing::info!(
                path = %segment.log_path().display(), size_bytes = segment.size_bytes(),
                "deleting segment"
            );
            result.deleted_segments += 1;
            result.deleted_bytes += segment.size_bytes();
            let deleted = segment.delete();
            self.offline_on_error(deleted)?;
        }
        let first_base = self.segments[0].base_offset();
        let deleted = self.producers.delete_snapshots_below(first_base);
        self.offline_on_error(deleted)?;
        self.truncate_epochs_from_log_start()
    }

    /// Drops every record at or above `offset` (whole batches; replication truncates at
    /// batch boundaries). Below the log start offset the log restarts empty at `offset`.
    pub fn truncate_to(&mut self, offset: Offset) -> Result<(), LogError> {
        self.ensure_online()?;
        if offset.0 >= self.log_end_offset_raw() {
            return Ok(());
        }
        if offset.0 < self.log_start_offset || offset.0 <= self.segments[0].base_offset() {
            return self.truncate_fully_and_start_at(offset);
        }
        while self.segments.len() > 1 && self.active().base_offset() >= offset.0 {
            if let Some(segment) = self.segments.pop() {
                self.dir_needs_flush = true;
                let removed = self.txn_indexes.remove_segments(&[segment.base_offset()]);
                self.offline_on_error(removed)?;
                let deleted = segment.delete();
                self.offline_on_error(deleted)?;
            }
        }
        let truncated = self.txn_indexes.truncate_to(offset.0);
        self.offline_on_error(truncated)?;
        let config = self.config.clone();
        let truncated = self.active_mut().truncate_to(offset.0, &config);
        self.offline_on_error(truncated)?;
        self.recovery_point = self.recovery_point.min(self.log_end_offset_raw());
        let reloaded = self
            .producers
            .truncate_and_reload(self.log_start_offset, self.log_end_offset_raw());
        self.offline_on_error(reloaded)?;
        self.replay_producer_state()?;
        if self.leader_epoch_cache.truncate_from_end(offset.0) {
            self.write_leader_epoch_checkpoint()?;
        }
        self.truncate_cleaner_checkpoint(self.log_end_offset_raw())
    }

    /// Deletes every segment and restarts the log empty at `offset`, which becomes both
    /// the log start and log end offset (a follower far behind a leader's log start).
    pub fn truncate_fully_and_start_at(&mut self, offset: Offset) -> Result<(), LogError> {
        self.ensure_online()?;
        let now_ms = self.clock.now_ms();
        let (mut reuse, others): (Vec<LogSegment>, Vec<LogSegment>) =
            std::mem::take(&mut self.segments)
                .into_iter()
                .partition(|s| s.base_offset() == offset.0);
        let fresh = match reuse.pop() {
            Some(mut segment) => segment.truncate_to(offset.0, &self.config).map(|_| segment),
            None => LogSegment::create(&self.dir, offset.0, &self.config, now_ms),
        };
        let fresh = match fresh {
            Ok(segment) => segment,
            Err(e) => {
                // Keep the invariant (segments non-empty) for the accessors; offline now.
                let mut rest = others;
                rest.sort_by_key(LogSegment::base_offset);
                self.segments = rest;
                if self.segments.is_empty() {
                    self.offline = true;
                    tracing::error!(dir = %self.dir.display(), error = %e, "log lost all segments");
                    return Err(e);
                }
                return self.offline_on_error(Err(e));
            }
        };
        self.segments = vec![fresh];
        self.log_start_offset = offset.0;
        self.recovery_point = offset.0;
        self.dir_needs_flush = true;
        for segment in others {
            let deleted = segment.delete();
            self.offline_on_error(deleted)?;
        }
        let cleared = self.producers.truncate_fully(offset.0);
        self.offline_on_error(cleared)?;
        let indexes_cleared = self.txn_indexes.truncate_to(i64::MIN);
        self.offline_on_error(indexes_cleared)?;
        // Kafka's `clearAndFlush`: epochs come back with the next appends.
        if self.leader_epoch_cache.clear() {
            self.write_leader_epoch_checkpoint()?;
        }
        self.truncate_cleaner_checkpoint(offset.0)
    }

    /// fsyncs every segment that may hold unflushed data (and the directory when segment
    /// files came or went), then moves the recovery point to the log end offset.
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.ensure_online()?;
        let log_end_offset = self.log_end_offset_raw();
        let last = self.segments.len() - 1;
        let recovery_point = self.recovery_point;
        for (i, segment) in self.segments.iter_mut().enumerate() {
            if i == last || segment.next_offset() > recovery_point {
                let flushed = segment.flush();
                if let Err(e) = flushed {
                    return self.offline_on_error(Err(e));
                }
            }
        }
        let indexes = self.txn_indexes.take_unsynced();
        for file in self.offline_on_error(indexes)? {
            if let Err(e) = file.sync_all() {
                return self.offline_on_error(Err(LogError::io(&self.dir, e)));
            }
        }
        if self.dir_needs_flush {
            let synced = File::open(&self.dir).and_then(|dir| dir.sync_all());
            if let Err(e) = synced {
                return self.offline_on_error(Err(LogError::io(&self.dir, e)));
            }
            self.dir_needs_flush = false;
        }
        self.recovery_point = log_end_offset;
        self.last_flush_ms = self.clock.now_ms();
        Ok(())
    }

    /// The files of rolled (no longer active) segments not yet fsynced, and the offset the
    /// recovery point may take once they are: Kafka flushes a segment when it is rolled,
    /// so that recovery after a crash scans only what came after. The caller fsyncs the
    /// handles without holding the log, then calls [`Log::advance_recovery_point`].
    pub fn rolled_segments_to_flush(&mut self) -> Result<Option<(Vec<File>, Offset)>, LogError> {
        self.ensure_online()?;
        let active_base = self.active().base_offset();
        let recovery_point = self.recovery_point;
        if recovery_point >= active_base {
            return Ok(None);
        }
        let mut files = Vec::new();
        let rolled = self.segments.len() - 1;
        for segment in &mut self.segments[..rolled] {
            if segment.next_offset() > recovery_point {
                files.extend(segment.files_to_sync()?);
            }
        }
        files.extend(self.txn_indexes.take_unsynced()?);
        Ok(Some((files, Offset(active_base))))
    }

    /// Moves the recovery point forward to `offset` (never past the log end offset), after
    /// the caller fsynced what lies below it.
    pub fn advance_recovery_point(&mut self, offset: Offset) {
        let target = offset.0.min(self.log_end_offset_raw());
        self.recovery_point = self.recovery_point.max(target);
    }

    /// Flushes everything and closes the log. The caller records the clean shutdown
    /// (and may reopen with `recovery_point: None`) only when this returns `Ok`.
    pub fn close(mut self) -> Result<(), LogError> {
        self.ensure_online()?;
        let finished = self.active_mut().on_become_inactive();
        self.offline_on_error(finished)?;
        self.snapshot_producer_state()?;
        self.flush()
    }

    /// Writes producer state as of the log end offset, so the next open replays nothing
    /// (a broker shutting down without closing its logs calls this before its flush).
    pub fn snapshot_producer_state(&mut self) -> Result<(), LogError> {
        self.ensure_online()?;
        self.producers.advance_to(self.log_end_offset_raw());
        let snapshot = self.producers.take_snapshot(Durability::Synced);
        self.offline_on_error(snapshot)
    }

    /// Replays the batch headers from producer state's map end offset to the log end
    /// (after loading a snapshot, or a truncation).
    fn replay_producer_state(&mut self) -> Result<(), LogError> {
        let from = self.producers.map_end_offset();
        let end = self.log_end_offset_raw();
        if from < end {
            let first = self
                .segments
                .partition_point(|s| s.base_offset() <= from)
                .saturating_sub(1);
            let mut replayed = 0u64;
            for segment in &self.segments[first..] {
                let mut scanner = segment.scanner_for(from);
                while let Some((position, header)) = scanner.next_header()? {
                    if header.last_offset() < from {
                        continue;
                    }
                    let Some(mut batch) = ProducerBatch::of(&header, header.base_offset()) else {
                        continue;
                    };
                    if header.is_control() {
                        let bytes = segment.read_batch(position, header.size_bytes())?;
                        let view = Batch::new(&bytes)
                            .map_err(|e| LogError::CorruptRecord(e.to_string()))?;
                        batch.marker = EndTxnMarker::of(&view)
                            .map_err(|e| LogError::CorruptRecord(e.to_string()))?;
                    }
                    if let Some(aborted) = self.producers.replay(&batch) {
                        self.txn_indexes.append(segment.base_offset(), aborted)?;
                    }
                    replayed += 1;
                }
            }
            tracing::debug!(
                dir = %self.dir.display(), from, end, batches = replayed,
                "rebuilt producer state from the log"
            );
        }
        self.producers.advance_to(end);
        Ok(())
    }

    /// Every producer's state in this partition, by producer id (DescribeProducers).
    pub fn producer_entries(&self) -> Vec<(i64, ProducerEntry)> {
        let mut entries: Vec<(i64, ProducerEntry)> = self
            .producers
            .producers()
            .iter()
            .map(|(id, entry)| (*id, *entry))
            .collect();
        entries.sort_unstable_by_key(|(id, _)| *id);
        entries
    }

    /// Forgets producers idle for `expiration_ms` (`producer.id.expiration.ms`) with no
    /// open transaction. Returns how many were removed.
    pub fn remove_expired_producers(&mut self, expiration_ms: i64) -> usize {
        let now_ms = self.clock.now_ms();
        self.producers.remove_expired(now_ms, expiration_ms)
    }

    /// The offsets of the producer snapshot files, oldest first.
    pub fn producer_snapshot_offsets(&self) -> Vec<Offset> {
        self.producers.snapshot_offsets().map(Offset).collect()
    }

    /// Moves the log's directory to `new_dir` (the same partition in another log dir, as
    /// AlterReplicaLogDirs asks) and reopens it there, flushed first so the reopened log
    /// scans nothing. Where both dirs share a file system this is one rename; otherwise
    /// the files are copied and the old directory removed once the copy is open. On `Err`
    /// the log stays where it was and online.
    ///
    /// Kafka copies a future replica in the background while the current one serves;
    /// here the caller holds the partition's log lock for the move, so appends and
    /// fetches of this partition wait for it.
    pub fn move_to(&mut self, new_dir: PathBuf) -> Result<(), LogError> {
        self.ensure_online()?;
        self.snapshot_producer_state()?;
        self.flush()?;
        if new_dir.exists() {
            return Err(LogError::io(
                &new_dir,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
            ));
        }
        let old_dir = self.dir.clone();
        // EXDEV: the dirs are on different file systems.
        const CROSS_DEVICE: i32 = 18;
        let copied = match std::fs::rename(&old_dir, &new_dir) {
            Ok(()) => false,
            Err(e) if e.raw_os_error() == Some(CROSS_DEVICE) => {
                if let Err(e) = copy_dir(&old_dir, &new_dir) {
                    let _ = std::fs::remove_dir_all(&new_dir);
                    return Err(LogError::io(&new_dir, e));
                }
                true
            }
            Err(e) => return Err(LogError::io(&old_dir, e)),
        };
        let options = OpenOptions {
            log_start_offset: Some(Offset(self.log_start_offset)),
            recovery_point: Some(Offset(self.recovery_point)),
        };
        match Log::open(
            new_dir.clone(),
            self.config.clone(),
            self.clock.clone(),
            options,
        ) {
            Ok(reopened) => {
                *self = reopened;
                if copied {
                    std::fs::remove_dir_all(&old_dir).map_err(|e| LogError::io(&old_dir, e))?;
                }
                for parent in [old_dir.parent(), new_dir.parent()].into_iter().flatten() {
                    if let Ok(dir) = std::fs::File::open(parent) {
                        dir.sync_all().map_err(|e| LogError::io(parent, e))?;
                    }
                }
                Ok(())
            }
            Err(e) => {
                // Put the files back where the open log expects them.
                if copied {
                    let _ = std::fs::remove_dir_all(&new_dir);
                } else {
                    let _ = std::fs::rename(&new_dir, &old_dir);
                }
                Err(e)
            }
        }
    }

    /// Removes the log's directory and everything in it.
    pub fn delete(self) -> Result<(), LogError> {
        std::fs::remove_dir_all(&self.dir).map_err(|e| LogError::io(&self.dir, e))
    }

    /// Applies new settings; they govern the next roll, retention pass and flush check.
    pub fn update_config(&mut self, config: LogConfig) {
        for segment in &mut self.segments {
            segment.set_max_index_entries(&config);
        }
        self.config = config;
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn log_start_offset(&self) -> Offset {
        Offset(self.log_start_offset)
    }

    /// The offset the next appended record will get.
    pub fn log_end_offset(&self) -> Offset {
        Offset(self.log_end_offset_raw())
    }

    /// The offset below which every record is fsynced.
    pub fn recovery_point(&self) -> Offset {
        Offset(self.recovery_point)
    }

    /// Bytes of all segments' `.log` files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(LogSegment::size_bytes).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Base offsets of the segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<Offset> {
        self.segments
            .iter()
            .map(|s| Offset(s.base_offset()))
            .collect()
    }

    /// True after an I/O failure while writing; see [`LogError::Offline`].
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The newest leader epoch with records in the log (or assigned at its end by
    /// [`Log::assign_epoch_start_offset`]); `None` when no batch carried an epoch.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.leader_epoch_cache.latest_epoch()
    }

    /// OffsetForLeaderEpoch: the largest epoch ≤ `epoch` and the end offset of `epoch`,
    /// per [`LeaderEpochCache::end_offset_for`] with this log's end offset.
    pub fn end_offset_for_epoch(&self, epoch: i32) -> (i32, i64) {
        self.leader_epoch_cache
            .end_offset_for(epoch, self.log_end_offset_raw())
    }

    /// The leader epoch cache as (epoch, start offset) pairs, oldest first.
    pub fn epoch_entries(&self) -> Vec<(i32, i64)> {
        self.leader_epoch_cache
            .entries()
            .iter()
            .map(|e| (e.epoch, e.start_offset))
            .collect()
    }

    /// The first offset of `epoch`, when the cache has it.
    pub fn epoch_start_offset(&self, epoch: i32) -> Option<i64> {
        self.leader_epoch_cache.start_offset_of(epoch)
    }

    pub fn leader_epoch_cache(&self) -> &LeaderEpochCache {
        &self.leader_epoch_cache
    }

    /// Kafka's `maybeAssignEpochStartOffset(leaderEpoch, logEndOffset)`, called by a
    /// broker becoming leader: `leader_epoch` starts at the log end offset even before it
    /// writes anything, so OffsetForLeaderEpoch answers for it at once. Negative epochs
    /// are ignored.
    pub fn assign_epoch_start_offset(&mut self, leader_epoch: LeaderEpoch) -> Result<(), LogError> {
        self.ensure_online()?;
        let log_end_offset = self.log_end_offset_raw();
        if leader_epoch.0 >= 0
            && self
                .leader_epoch_cache
                .assign(leader_epoch.0, log_end_offset)
        {
            self.write_leader_epoch_checkpoint()?;
        }
        Ok(())
    }

    /// Loads the leader epoch cache at open, as Kafka's `LogLoader` does, then makes it
    /// agree with the segments and writes it back if that changed it:
    /// - From the checkpoint: entries past the log end offset are dropped (the
    ///   checkpoint is written before the data it describes, so a crash can leave some);
    ///   after an unclean shutdown the batches from `recovery_point` on are scanned and a
    ///   batch with an epoch newer than the latest is assigned (Kafka's
    ///   `LogSegment.recover`).
    /// - Without a usable checkpoint (missing, as from a log written before the cache
    ///   existed, or corrupt), every batch header is scanned and assigned as at append.
    ///
    /// Then the entries are truncated to the log end and the log start offset.
    fn load_leader_epoch_cache(&mut self, recovery_point: Option<i64>) -> Result<(), LogError> {
        let log_end_offset = self.log_end_offset_raw();
        let read = epoch::read_checkpoint(&self.dir)?;
        let mut cache = match &read {
            CheckpointRead::Entries(entries) => {
                let mut cache = LeaderEpochCache::from_entries(entries.iter().copied());
                cache.truncate_from_end(log_end_offset);
                if let Some(recovery_point) = recovery_point {
                    self.for_each_batch_epoch(recovery_point, |epoch, base_offset| {
                        if cache.latest_epoch().is_none_or(|latest| epoch > latest) {
                            cache.assign(epoch, base_offset);
                        }
                    })?;
                }
                cache
            }
            CheckpointRead::Missing | CheckpointRead::Corrupt => {
                let mut cache = LeaderEpochCache::new();
                let first_base = self.segments[0].base_offset();
                self.for_each_batch_epoch(first_base, |epoch, base_offset| {
                    cache.assign(epoch, base_offset);
                })?;
                if !cache.is_empty() {
                    tracing::info!(
                        dir = %self.dir.display(), entries = cache.len(),
                        "rebuilt the leader epoch cache from the log"
                    );
                }
                cache
            }
        };
        cache.truncate_from_end(log_end_offset);
        cache.truncate_from_start(self.log_start_offset);
        // A missing checkpoint is written even when empty, as Kafka creates the file with
        // the log: the whole-log scan then happens once, not at every open.
        let up_to_date = match &read {
            CheckpointRead::Entries(entries) => entries.as_slice() == cache.entries(),
            CheckpointRead::Missing | CheckpointRead::Corrupt => false,
        };
        self.leader_epoch_cache = cache;
        if !up_to_date {
            epoch::write_checkpoint(&self.dir, self.leader_epoch_cache.entries())?;
        }
        Ok(())
    }

    /// Calls `f(epoch, base offset)` for each batch with a last offset ≥ `from_offset`
    /// that carries a leader epoch, reading batch headers only.
    fn for_each_batch_epoch(
        &self,
        from_offset: i64,
        mut f: impl FnMut(i32, i64),
    ) -> Result<(), LogError> {
        for segment in &self.segments {
            if segment.next_offset() <= from_offset {
                continue;
            }
            let mut scanner = segment.scanner_for(from_offset);
            while let Some((_, header)) = scanner.next_header()? {
                if header.last_offset() >= from_offset && header.partition_leader_epoch() >= 0 {
                    f(header.partition_leader_epoch(), header.base_offset());
                }
            }
        }
        Ok(())
    }

    /// Kafka's `truncateFromStart` after the log start offset moved.
    fn truncate_epochs_from_log_start(&mut self) -> Result<(), LogError> {
        if self
            .leader_epoch_cache
            .truncate_from_start(self.log_start_offset)
        {
            self.write_leader_epoch_checkpoint()?;
        }
        Ok(())
    }

    /// Rewrites [`LEADER_EPOCH_CHECKPOINT_FILE`]; failing to is fatal for the log, as any
    /// failed write is.
    fn write_leader_epoch_checkpoint(&mut self) -> Result<(), LogError> {
        let written = epoch::write_checkpoint(&self.dir, self.leader_epoch_cache.entries());
        self.offline_on_error(written)
    }

    fn log_end_offset_raw(&self) -> i64 {
        self.active().next_offset()
    }

    fn active(&self) -> &LogSegment {
        &self.segments[self.segments.len() - 1]
    }

    fn active_mut(&mut self) -> &mut LogSegment {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }

    fn ensure_online(&self) -> Result<(), LogError> {
        if self.offline {
            return Err(LogError::Offline {
                dir: self.dir.clone(),
            });
        }
        Ok(())
    }

    /// An I/O failure while changing the log is fatal for it: logged with its path, and
    /// the log refuses further work until reopened (which recovers it).
    fn offline_on_error<T>(&mut self, result: Result<T, LogError>) -> Result<T, LogError> {
        if let Err(e) = &result {
            if matches!(e, LogError::Io { .. }) {
                tracing::error!(dir = %self.dir.display(), error = %e, "log is offline after an I/O failure");
                self.offline = true;
            }
        }
        result
    }

    fn out_of_range(&self, requested: Offset) -> LogError {
        LogError::OffsetOutOfRange {
            requested,
            log_start: Offset(self.log_start_offset),
            log_end: Offset(self.log_end_offset_raw()),
        }
    }
}

#[cfg(test)]
mod tests;

/// The producer fields of `view`, placed at `first_offset`, with its transaction marker
/// when it is a control batch (the only case that reads records).
fn producer_batch(view: &Batch<'_>, first_offset: i64) -> Result<Option<ProducerBatch>, LogError> {
    let Some(mut batch) = ProducerBatch::of(view, first_offset) else {
        return Ok(None);
    };
    if view.is_control() {
        batch.marker =
            EndTxnMarker::of(view).map_err(|e| LogError::CorruptRecord(e.to_string()))?;
    }
    Ok(Some(batch))
}

/// Copies a partition directory (flat: segment, index and checkpoint files), fsyncing
/// each file and the new directory.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let target = to.join(entry.file_name());
            std::fs::copy(entry.path(), &target)?;
            std::fs::File::open(&target)?.sync_all()?;
        }
    }
    std::fs::File::open(to)?.sync_all()
}
