//! Producer state, Kafka's `ProducerStateManager`: for each idempotent or transactional
//! producer that wrote to this log, its epoch and the sequence numbers and offsets of its
//! last five batches, so the leader can refuse a sequence gap or a fenced epoch and answer
//! a retried batch with the offset it was first written at instead of writing it twice.
//!
//! The state is rebuilt from the log: from the latest snapshot (`<offset>.snapshot` beside
//! the segments, Kafka's file format: the state of every batch below `offset`) by replaying
//! the batch headers from there. Snapshots are taken when a segment is rolled and when the
//! log is closed, so a clean restart replays nothing and an unclean one replays at most the
//! active segment.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rafka_protocol::batch::{EndTxnMarker, NO_PRODUCER_EPOCH, NO_SEQUENCE};
use rafka_types::Durability;

use crate::error::LogError;
use crate::txn_index::AbortedTxn;

/// The snapshot files' suffix; their stem is the 20-digit offset they were taken at.
pub const PRODUCER_SNAPSHOT_SUFFIX: &str = ".snapshot";

/// How many batches per producer are remembered for duplicate detection: the Java
/// producer and librdkafka keep at most five requests in flight per connection.
pub const BATCHES_TO_RETAIN: usize = 5;

/// Kafka's snapshot schema version.
const SNAPSHOT_VERSION: i16 = 1;
/// version (2) + crc (4)
const SNAPSHOT_HEADER_BYTES: usize = 6;
/// producer id (8), epoch (2), last sequence (4), last offset (8), offset delta (4),
/// timestamp (8), coordinator epoch (4), current transaction's first offset (8).
const SNAPSHOT_ENTRY_BYTES: usize = 46;

/// Kafka's `RecordBatch.NO_PARTITION_LEADER_EPOCH` for a coordinator epoch never set.
const NO_COORDINATOR_EPOCH: i32 = -1;

/// `sequence + increment` as Kafka counts sequences: they wrap from `i32::MAX` to 0.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// `sequence - decrement`, wrapping below 0 to `i32::MAX`.
pub fn decrement_sequence(sequence: i32, decrement: i32) -> i32 {
    if sequence < decrement {
        i32::MAX - (decrement - sequence) + 1
    } else {
        sequence - decrement
    }
}

/// `next` directly follows `last` (Kafka's `inSequence`).
fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

/// The producer fields of one batch header, with the offsets the log gives the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProducerBatch {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    pub(crate) first_seq: i32,
    pub(crate) last_seq: i32,
    pub(crate) first_offset: i64,
    pub(crate) last_offset: i64,
    pub(crate) max_timestamp: i64,
    pub(crate) is_transactional: bool,
    pub(crate) is_control: bool,
    /// A control batch's transaction marker, when it is one (set by the caller, which
    /// has the records: [`ProducerBatch::of`] reads the header only).
    pub(crate) marker: Option<EndTxnMarker>,
}

impl ProducerBatch {
    /// Reads a batch header's producer fields (`None` for a batch without a producer),
    /// placing the batch at `first_offset`. A header type with Kafka's accessors.
    pub(crate) fn of<H: HeaderFields>(header: &H, first_offset: i64) -> Option<ProducerBatch> {
        let producer_id = header.producer_id();
        if producer_id < 0 {
            return None;
        }
        let delta = header.last_offset_delta();
        let first_seq = header.base_sequence();
        Some(ProducerBatch {
            producer_id,
            epoch: header.producer_epoch(),
            first_seq,
            last_seq: if first_seq == NO_SEQUENCE {
                NO_SEQUENCE
            } else {
                increment_sequence(first_seq, delta)
            },
            first_offset,
            last_offset: first_offset + i64::from(delta),
            max_timestamp: header.max_timestamp(),
            is_transactional: header.is_transactional(),
            is_control: header.is_control(),
            marker: None,
        })
    }
}

/// The header accessors producer state reads, implemented by both of the protocol
/// crate's header views.
pub(crate) trait HeaderFields {
    fn producer_id(&self) -> i64;
    fn producer_epoch(&self) -> i16;
    fn base_sequence(&self) -> i32;
    fn last_offset_delta(&self) -> i32;
    fn max_timestamp(&self) -> i64;
    fn is_transactional(&self) -> bool;
    fn is_control(&self) -> bool;
}

macro_rules! header_fields {
    ($($ty:ty),*) => {$(
        impl HeaderFields for $ty {
            fn producer_id(&self) -> i64 { <$ty>::producer_id(self) }
            fn producer_epoch(&self) -> i16 { <$ty>::producer_epoch(self) }
            fn base_sequence(&self) -> i32 { <$ty>::base_sequence(self) }
            fn last_offset_delta(&self) -> i32 { <$ty>::last_offset_delta(self) }
            fn max_timestamp(&self) -> i64 { <$ty>::max_timestamp(self) }
            fn is_transactional(&self) -> bool { <$ty>::is_transactional(self) }
            fn is_control(&self) -> bool { <$ty>::is_control(self) }
        }
    )*};
}
header_fields!(
    rafka_protocol::batch::BatchHeader,
    rafka_protocol::batch::Batch<'_>,
    rafka_protocol::batch::BatchMut<'_>
);

/// One remembered batch of a producer (Kafka's `BatchMetadata`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchMetadata {
    pub last_seq: i32,
    pub last_offset: i64,
    pub offset_delta: i32,
    /// The batch's max timestamp (the append time under LogAppendTime).
    pub timestamp: i64,
}

impl BatchMetadata {
    pub fn first_seq(&self) -> i32 {
        if self.last_seq == NO_SEQUENCE {
            NO_SEQUENCE
        } else {
            decrement_sequence(self.last_seq, self.offset_delta)
        }
    }

    pub fn first_offset(&self) -> i64 {
        self.last_offset - i64::from(self.offset_delta)
    }
}

/// One producer's state in one partition (Kafka's `ProducerStateEntry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerEntry {
    pub producer_epoch: i16,
    pub coordinator_epoch: i32,
    /// The max timestamp of its last batch: expiry counts from it.
    pub last_timestamp: i64,
    /// The first offset of its open transaction in this partition.
    pub current_txn_first_offset: Option<i64>,
    /// Oldest first; `len` of them are set.
    batches: [BatchMetadata; BATCHES_TO_RETAIN],
    len: u8,
}

impl ProducerEntry {
    fn empty() -> ProducerEntry {
        ProducerEntry {
            producer_epoch: NO_PRODUCER_EPOCH,
            coordinator_epoch: NO_COORDINATOR_EPOCH,
            last_timestamp: -1,
            current_txn_first_offset: None,
            batches: [BatchMetadata::default(); BATCHES_TO_RETAIN],
            len: 0,
        }
    }

    /// The remembered batches, oldest first.
    pub fn batches(&self) -> &[BatchMetadata] {
        &self.batches[..usize::from(self.len)]
    }

    fn last_batch(&self) -> Option<&BatchMetadata> {
        self.batches().last()
    }

    pub fn last_seq(&self) -> i32 {
        self.last_batch().map_or(NO_SEQUENCE, |b| b.last_seq)
    }

    pub fn last_offset(&self) -> i64 {
        self.last_batch().map_or(-1, |b| b.last_offset)
    }

    /// Kafka's `addBath`: a new epoch forgets the old epoch's batches.
    fn add_batch(&mut self, epoch: i16, batch: BatchMetadata) {
        if epoch != self.producer_epoch {
            self.len = 0;
            self.producer_epoch = epoch;
        }
        if usize::from(self.len) == BATCHES_TO_RETAIN {
            self.batches.copy_within(1.., 0);
            self.len -= 1;
        }
        self.batches[usize::from(self.len)] = batch;
        self.len += 1;
        self.last_timestamp = batch.timestamp;
    }

    /// The remembered batch with exactly this epoch and sequence range.
    fn find_duplicate(&self, batch: &ProducerBatch) -> Option<BatchMetadata> {
        if batch.epoch != self.producer_epoch {
            return None;
        }
        self.batches()
            .iter()
            .find(|b| b.first_seq() == batch.first_seq && b.last_seq == batch.last_seq)
            .copied()
    }
}

/// A transaction a marker ended in this partition (Kafka's `CompletedTxn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompletedTxn {
    pub(crate) producer_id: i64,
    pub(crate) first_offset: i64,
    /// The marker's offset.
    pub(crate) last_offset: i64,
    pub(crate) aborted: bool,
}

/// What an append changes once written: each producer's new entry, the transactions its
/// batches start (first offset, producer) and those its markers end.
#[derive(Debug, Default)]
pub(crate) struct AppendPlan {
    updates: Vec<(i64, ProducerEntry)>,
    started: Vec<(i64, i64)>,
    completed: Vec<CompletedTxn>,
    /// Producers with a transactional batch or marker here: their verification ends.
    transactional: Vec<i64>,
}

/// One KIP-890 verification of a producer's transaction in this partition (Kafka's
/// `VerificationGuard`): unique per verification started, so that an answer from the
/// coordinator cannot let a batch in after a marker ended the transaction it verified
/// (the ABA case: verified, aborted, a new transaction the coordinator does not know here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationGuard(u64);

/// What a leader append asks of a transactional batch that would start a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnVerification {
    /// Nothing: verification is off (`transaction.partition.verification.enable=false`)
    /// or the appender is not verified.
    NotRequired,
    /// The guard of the verification the request went through; `None` when it went
    /// through none because the producer's transaction was open here then.
    Guard(Option<VerificationGuard>),
}

/// Who appends, as Kafka's `AppendOrigin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appender {
    /// A producer: duplicates are detected and sequences checked.
    Client,
    /// A coordinator: the transaction coordinator's markers, the group coordinator's
    /// records. Epochs are checked, sequences are not.
    Coordinator,
}

/// The outcome of checking an append's batches.
#[derive(Debug)]
pub(crate) enum Checked {
    /// Append them, then apply the plan.
    Append(AppendPlan),
    /// A retry of a batch already in the log: append nothing, answer with it.
    Duplicate(BatchMetadata),
}

/// Every producer's state in one log, and its snapshot files.
///
/// Invariant: `producers` reflects exactly the batches below `map_end_offset` (once the
/// log has replayed to its end, the log end offset).
/// Invariant: `snapshots` lists the snapshot files in `dir`.
#[derive(Debug)]
pub(crate) struct ProducerStateManager {
    dir: PathBuf,
    producers: HashMap<i64, ProducerEntry>,
    map_end_offset: i64,
    snapshots: BTreeSet<i64>,
    /// Open transactions: first offset → producer (Kafka's `ongoingTxns`).
    ongoing: BTreeMap<i64, i64>,
    /// Ended transactions whose marker may not be replicated yet: first offset →
    /// (producer, marker offset) (Kafka's `unreplicatedTxns`). Read-committed readers
    /// stop at the first of them until the high watermark passes the marker.
    unreplicated: BTreeMap<i64, (i64, i64)>,
    /// Verifications under way: producer → (guard, when it started). Kept in memory only,
    /// as Kafka's; ended by the producer's next transactional batch or marker, or expiry.
    verifications: HashMap<i64, (VerificationGuard, i64)>,
    next_guard: u64,
}

impl ProducerStateManager {
    /// Reads the snapshot files in `dir`, deletes those above `log_end_offset` (their
    /// batches are gone) and loads the latest readable one. The caller replays the log
    /// from [`ProducerStateManager::map_end_offset`].
    pub(crate) fn load(
        dir: &Path,
        log_start_offset: i64,
        log_end_offset: i64,
    ) -> Result<ProducerStateManager, LogError> {
        let mut manager = ProducerStateManager {
            dir: dir.to_path_buf(),
            producers: HashMap::new(),
            map_end_offset: log_start_offset,
            snapshots: list_snapshots(dir)?,
            ongoing: BTreeMap::new(),
            unreplicated: BTreeMap::new(),
            verifications: HashMap::new(),
            next_guard: 0,
        };
        manager.reload(log_start_offset, log_end_offset)?;
        Ok(manager)
    }

    /// Forgets the in-memory state, deletes the snapshots outside `log_start_offset..=upper`
    /// (their batches are gone: a snapshot below the log start would miss the producers of
    /// deleted batches), and loads the latest readable one left (a corrupt one is deleted
    /// and the one before tried); without one the state starts empty at the log start.
    fn reload(&mut self, log_start_offset: i64, upper: i64) -> Result<(), LogError> {
        let outside: Vec<i64> = self
            .snapshots
            .iter()
            .copied()
            .filter(|o| *o < log_start_offset || *o > upper)
            .collect();
        for offset in outside {
            self.delete_snapshot(offset)?;
        }
        self.producers.clear();
        self.ongoing.clear();
        self.unreplicated.clear();
        self.map_end_offset = log_start_offset;
        while let Some(&offset) = self.snapshots.last() {
            let path = self.snapshot_path(offset);
            match read_snapshot(&path) {
                Ok(producers) => {
                    self.ongoing = producers
                        .iter()
                        .filter_map(|(id, e)| e.current_txn_first_offset.map(|first| (first, *id)))
                        .collect();
                    self.producers = producers;
                    self.map_end_offset = offset;
                    return Ok(());
                }
                Err(SnapshotError::Io(e)) => return Err(LogError::io(&path, e)),
                Err(SnapshotError::Corrupt(why)) => {
                    tracing::warn!(path = %path.display(), why, "deleting a corrupt producer snapshot");
                    self.delete_snapshot(offset)?;
                }
            }
        }
        Ok(())
    }

    /// [`ProducerStateManager::reload`] for a log truncated to `offset`.
    pub(crate) fn truncate_and_reload(
        &mut self,
        log_start_offset: i64,
        offset: i64,
    ) -> Result<(), LogError> {
        self.reload(log_start_offset, offset)
    }

    /// Forgets everything, every snapshot included: the log restarts empty at `offset`.
    pub(crate) fn truncate_fully(&mut self, offset: i64) -> Result<(), LogError> {
        let all: Vec<i64> = self.snapshots.iter().copied().collect();
        for snapshot in all {
            self.delete_snapshot(snapshot)?;
        }
        self.producers.clear();
        self.ongoing.clear();
        self.unreplicated.clear();
        self.map_end_offset = offset;
        Ok(())
    }

    pub(crate) fn map_end_offset(&self) -> i64 {
        self.map_end_offset
    }

    /// Every producer's entry, by producer id.
    pub(crate) fn producers(&self) -> &HashMap<i64, ProducerEntry> {
        &self.producers
    }

    /// Kafka's `analyzeAndValidateProducerState` for a leader's append: for a client, a
    /// retry of one of a producer's last five batches is a duplicate, and otherwise every
    /// batch must carry the producer's current (or a newer) epoch and continue its
    /// sequence; a non-transactional batch may not interrupt an open transaction; a
    /// marker needs the producer's epoch and the coordinator's.
    /// Starts (or joins) a verification of `producer_id`'s transaction here (Kafka's
    /// `maybeCreateVerificationStateEntry`): the guard its batches must bring.
    pub(crate) fn start_verification(
        &mut self,
        producer_id: i64,
        now_ms: i64,
    ) -> VerificationGuard {
        let next = &mut self.next_guard;
        self.verifications
            .entry(producer_id)
            .or_insert_with(|| {
                *next += 1;
                (VerificationGuard(*next), now_ms)
            })
            .0
    }

    pub(crate) fn check(
        &self,
        batches: &[ProducerBatch],
        appender: Appender,
        verification: TxnVerification,
    ) -> Result<Checked, LogError> {
        let mut plan = AppendPlan::default();
        for batch in batches {
            let current = self.producers.get(&batch.producer_id);
            if appender == Appender::Client {
                if let Some(duplicate) = current.and_then(|entry| entry.find_duplicate(batch)) {
                    return Ok(Checked::Duplicate(duplicate));
                }
            }
            let slot = match plan
                .updates
                .iter()
                .position(|(id, _)| *id == batch.producer_id)
            {
                Some(slot) => slot,
                None => {
                    plan.updates.push((
                        batch.producer_id,
                        current.copied().unwrap_or_else(ProducerEntry::empty),
                    ));
                    plan.updates.len() - 1
                }
            };
            let entry = &mut plan.updates[slot].1;
            let current_epoch = current.map_or(NO_PRODUCER_EPOCH, |c| c.producer_epoch);
            check_epoch(entry, batch)?;
            if let Some(marker) = batch.marker {
                check_coordinator_epoch(entry, batch, marker)?;
            } else if !batch.is_control {
                if appender == Appender::Client {
                    check_sequence(entry, current_epoch, batch)?;
                }
                if entry.current_txn_first_offset.is_some() && !batch.is_transactional {
                    return Err(LogError::InvalidTxnState(format!(
                        "Expected transactional write from producer {} at offset {} in partition {}",
                        batch.producer_id,
                        batch.first_offset,
                        self.partition_name()
                    )));
                }
                if batch.is_transactional
                    && entry.current_txn_first_offset.is_none()
                    && !self.verified(batch.producer_id, verification)
                {
                    return Err(LogError::InvalidTxnState(
                        "Record was not part of an ongoing transaction".into(),
                    ));
                }
            }
            if batch.is_transactional && !plan.transactional.contains(&batch.producer_id) {
                plan.transactional.push(batch.producer_id);
            }
            let change = apply_batch(entry, batch);
            plan.record(batch.producer_id, change);
        }
        Ok(Checked::Append(plan))
    }

    /// Applies what [`ProducerStateManager::check`] planned, once the batches are written
    /// below `end_offset`. Returns the transactions aborted, for the transaction index.
    /// Whether a transactional batch of `producer_id` starting a transaction here brings
    /// the guard of the producer's verification under way (Kafka's
    /// `batchMissingRequiredVerification`, negated).
    fn verified(&self, producer_id: i64, verification: TxnVerification) -> bool {
        match verification {
            TxnVerification::NotRequired => true,
            TxnVerification::Guard(guard) => {
                guard.is_some() && self.verifications.get(&producer_id).map(|v| v.0) == guard
            }
        }
    }

    pub(crate) fn apply(&mut self, plan: AppendPlan, end_offset: i64) -> Vec<AbortedTxn> {
        // Data written to the transaction, or a marker ending it: either way the
        // verification is over (Kafka's `updateProducers`).
        for producer_id in &plan.transactional {
            self.verifications.remove(producer_id);
        }
        for (producer_id, entry) in plan.updates {
            self.producers.insert(producer_id, entry);
        }
        for (first_offset, producer_id) in plan.started {
            self.ongoing.insert(first_offset, producer_id);
        }
        let aborted = plan
            .completed
            .into_iter()
            .filter_map(|txn| self.complete(txn))
            .collect();
        self.map_end_offset = end_offset;
        aborted
    }

    /// Records a batch already in the log (a follower's append, or recovery): no checks,
    /// except that an older epoch than the producer's is logged, as Kafka does. Returns
    /// the transaction it aborted, for the transaction index.
    pub(crate) fn replay(&mut self, batch: &ProducerBatch) -> Option<AbortedTxn> {
        let entry = self
            .producers
            .entry(batch.producer_id)
            .or_insert_with(ProducerEntry::empty);
        if batch.epoch < entry.producer_epoch {
            tracing::warn!(
                dir = %self.dir.display(), producer_id = batch.producer_id,
                epoch = batch.epoch, current_epoch = entry.producer_epoch,
                offset = batch.first_offset,
                "replicated batch has an older producer epoch than the producer's"
            );
        }
        let change = apply_batch(entry, batch);
        self.map_end_offset = self.map_end_offset.max(batch.last_offset + 1);
        match change {
            TxnChange::None => None,
            TxnChange::Started(first) => {
                self.ongoing.insert(first, batch.producer_id);
                None
            }
            TxnChange::Completed(txn) => self.complete(txn),
        }
    }

    /// Kafka's `completeTxn`, with the abort's index entry (its last stable offset taken
    /// before the transaction leaves the open ones).
    fn complete(&mut self, txn: CompletedTxn) -> Option<AbortedTxn> {
        let last_stable_offset = self
            .ongoing
            .iter()
            .find(|(_, producer)| **producer != txn.producer_id)
            .map_or(txn.last_offset + 1, |(first, _)| *first);
        self.ongoing.remove(&txn.first_offset);
        self.unreplicated
            .insert(txn.first_offset, (txn.producer_id, txn.last_offset));
        txn.aborted.then_some(AbortedTxn {
            producer_id: txn.producer_id,
            first_offset: txn.first_offset,
            last_offset: txn.last_offset,
            last_stable_offset,
        })
    }

    /// The first offset a read-committed reader may not pass (Kafka's
    /// `firstUnstableOffset`): the first open transaction's, or that of the first ended one
    /// whose marker is not below `high_watermark` yet. `None` when nothing is unstable.
    pub(crate) fn first_unstable_offset(&mut self, high_watermark: i64) -> Option<i64> {
        self.unreplicated
            .retain(|_, (_, marker_offset)| *marker_offset >= high_watermark);
        let ongoing = self.ongoing.keys().next().copied();
        let unreplicated = self.unreplicated.keys().next().copied();
        match (ongoing, unreplicated) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The open transactions, first offset → producer.
    pub(crate) fn ongoing(&self) -> &BTreeMap<i64, i64> {
        &self.ongoing
    }

    fn partition_name(&self) -> String {
        self.dir
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    }

    /// Moves the map end offset over batches without producer state (or a gap).
    pub(crate) fn advance_to(&mut self, end_offset: i64) {
        self.map_end_offset = self.map_end_offset.max(end_offset);
    }

    /// Removes producers with no open transaction whose last batch is older than
    /// `expiration_ms` (Kafka's `removeExpiredProducers`). Returns how many went.
    pub(crate) fn remove_expired(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        // Verifications never followed by a batch go with them (Kafka's lingering entries).
        self.verifications
            .retain(|_, (_, started_ms)| now_ms.saturating_sub(*started_ms) < expiration_ms);
        let before = self.producers.len();
        self.producers.retain(|_, entry| {
            entry.current_txn_first_offset.is_some()
                || now_ms.saturating_sub(entry.last_timestamp) < expiration_ms
        });
        before - self.producers.len()
    }

    /// Writes the state as `<map end offset>.snapshot` (replacing one of that name).
    /// Kafka does not fsync the snapshot of a roll under the log's lock; a snapshot a
    /// machine crash tore fails its CRC at the next load and the one before is used.
    pub(crate) fn take_snapshot(&mut self, durability: Durability) -> Result<(), LogError> {
        let offset = self.map_end_offset;
        let path = self.snapshot_path(offset);
        let bytes = encode_snapshot(&self.producers);
        rafka_types::write_atomically_with(&path, &bytes, durability)
            .map_err(|e| LogError::io(&path, e))?;
        self.snapshots.insert(offset);
        Ok(())
    }

    /// Deletes the snapshots below `offset` (the first segment's base once segments were
    /// deleted: Kafka deletes each segment's snapshot with it).
    pub(crate) fn delete_snapshots_below(&mut self, offset: i64) -> Result<(), LogError> {
        let below: Vec<i64> = self.snapshots.range(..offset).copied().collect();
        for snapshot in below {
            self.delete_snapshot(snapshot)?;
        }
        Ok(())
    }

    /// The offsets of the snapshot files on disk.
    pub(crate) fn snapshot_offsets(&self) -> impl Iterator<Item = i64> + '_ {
        self.snapshots.iter().copied()
    }

    fn snapshot_path(&self, offset: i64) -> PathBuf {
        self.dir.join(snapshot_file_name(offset))
    }

    fn delete_snapshot(&mut self, offset: i64) -> Result<(), LogError> {
        let path = self.snapshot_path(offset);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(LogError::io(&path, e)),
        }
        self.snapshots.remove(&offset);
        Ok(())
    }
}

/// Kafka's `checkProducerEpoch`: a batch of an older epoch than the producer's is fenced.
/// Since Kafka 2.7 the produce answer is INVALID_PRODUCER_EPOCH (abortable), not
/// PRODUCER_FENCED.
fn check_epoch(entry: &ProducerEntry, batch: &ProducerBatch) -> Result<(), LogError> {
    if batch.epoch < entry.producer_epoch {
        return Err(LogError::InvalidProducerEpoch(format!(
            "Epoch of producer {} at offset {} is {}, which is smaller than the last seen epoch {}",
            batch.producer_id, batch.first_offset, batch.epoch, entry.producer_epoch
        )));
    }
    Ok(())
}

/// Kafka's `checkSequence`: a new epoch starts at sequence 0 (unless the producer's
/// state is gone, as after retention, when any sequence is taken); within an epoch each
/// batch continues the last.
fn check_sequence(
    entry: &ProducerEntry,
    current_epoch: i16,
    batch: &ProducerBatch,
) -> Result<(), LogError> {
    if batch.epoch != entry.producer_epoch {
        if batch.first_seq != 0 && entry.producer_epoch != NO_PRODUCER_EPOCH {
            return Err(LogError::OutOfOrderSequence(format!(
                "Invalid sequence number for new epoch of producer {} at offset {}: {} (request epoch), {} (seq. number), {} (current producer epoch)",
                batch.producer_id, batch.first_offset, batch.epoch, batch.first_seq, entry.producer_epoch
            )));
        }
        return Ok(());
    }
    let last_seq = entry.last_seq();
    if current_epoch == NO_PRODUCER_EPOCH || in_sequence(last_seq, batch.first_seq) {
        return Ok(());
    }
    Err(LogError::OutOfOrderSequence(format!(
        "Out of order sequence number for producer {} at offset {}: {} (incoming seq. number), {} (current end sequence number)",
        batch.producer_id, batch.first_offset, batch.first_seq, last_seq
    )))
}

/// What a batch did to its producer's transaction in this partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnChange {
    None,
    /// A transactional batch opened one at this offset.
    Started(i64),
    Completed(CompletedTxn),
}

impl AppendPlan {
    fn record(&mut self, producer_id: i64, change: TxnChange) {
        match change {
            TxnChange::None => {}
            TxnChange::Started(first) => self.started.push((first, producer_id)),
            TxnChange::Completed(txn) => {
                // A transaction both started and ended within this append never was open.
                if let Some(i) = self
                    .started
                    .iter()
                    .position(|(f, _)| *f == txn.first_offset)
                {
                    self.started.remove(i);
                }
                self.completed.push(txn);
            }
        }
    }
}

/// Kafka's `appendDataBatch` / `appendEndTxnMarker` on an entry.
fn apply_batch(entry: &mut ProducerEntry, batch: &ProducerBatch) -> TxnChange {
    if batch.is_control {
        let Some(marker) = batch.marker else {
            // An empty control batch (compaction emptied it), or not a marker.
            return TxnChange::None;
        };
        let completed = entry.current_txn_first_offset.map(|first| CompletedTxn {
            producer_id: 0,
            first_offset: first,
            last_offset: batch.first_offset,
            aborted: !marker.commit,
        });
        if batch.epoch != entry.producer_epoch {
            entry.len = 0;
            entry.producer_epoch = batch.epoch;
        }
        entry.coordinator_epoch = marker.coordinator_epoch;
        entry.current_txn_first_offset = None;
        entry.last_timestamp = batch.max_timestamp;
        return match completed {
            Some(txn) => TxnChange::Completed(CompletedTxn {
                producer_id: batch.producer_id,
                ..txn
            }),
            None => TxnChange::None,
        };
    }
    entry.add_batch(
        batch.epoch,
        BatchMetadata {
            last_seq: batch.last_seq,
            last_offset: batch.last_offset,
            offset_delta: (batch.last_offset - batch.first_offset) as i32,
            timestamp: batch.max_timestamp,
        },
    );
    if batch.is_transactional && entry.current_txn_first_offset.is_none() {
        entry.current_txn_first_offset = Some(batch.first_offset);
        return TxnChange::Started(batch.first_offset);
    }
    TxnChange::None
}

/// Kafka's marker check: a coordinator older than the one that last wrote to the producer
/// is fenced (TRANSACTION_COORDINATOR_FENCED).
fn check_coordinator_epoch(
    entry: &ProducerEntry,
    batch: &ProducerBatch,
    marker: EndTxnMarker,
) -> Result<(), LogError> {
    if entry.coordinator_epoch > marker.coordinator_epoch {
        return Err(LogError::CoordinatorFenced(format!(
            "Invalid coordinator epoch for producer {} at offset {}: {} (zombie), {} (current)",
            batch.producer_id,
            batch.first_offset,
            marker.coordinator_epoch,
            entry.coordinator_epoch
        )));
    }
    Ok(())
}

pub(crate) fn snapshot_file_name(offset: i64) -> String {
    format!("{offset:020}{PRODUCER_SNAPSHOT_SUFFIX}")
}

fn list_snapshots(dir: &Path) -> Result<BTreeSet<i64>, LogError> {
    let mut offsets = BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(|e| LogError::io(dir, e))? {
        let entry = entry.map_err(|e| LogError::io(dir, e))?;
        let name = entry.file_name();
        let offset = name
            .to_str()
            .and_then(|n| n.strip_suffix(PRODUCER_SNAPSHOT_SUFFIX))
            .filter(|stem| !stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|stem| stem.parse::<i64>().ok());
        if let Some(offset) = offset {
            offsets.insert(offset);
        }
    }
    Ok(offsets)
}

/// Kafka's snapshot layout: version (int16), CRC-32C (uint32) of everything after it,
/// then an array (int32 count) of entries, each the producer's last batch only.
pub(crate) fn encode_snapshot(producers: &HashMap<i64, ProducerEntry>) -> Vec<u8> {
    let mut ids: Vec<&i64> = producers.keys().collect();
    ids.sort_unstable();
    let mut out = Vec::with_capacity(SNAPSHOT_HEADER_BYTES + 4 + ids.len() * SNAPSHOT_ENTRY_BYTES);
    out.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(ids.len() as i32).to_be_bytes());
    for id in ids {
        let entry = &producers[id];
        let last = entry.last_batch().copied().unwrap_or(BatchMetadata {
            last_seq: NO_SEQUENCE,
            last_offset: -1,
            offset_delta: 0,
            timestamp: entry.last_timestamp,
        });
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&entry.producer_epoch.to_be_bytes());
        out.extend_from_slice(&last.last_seq.to_be_bytes());
        out.extend_from_slice(&last.last_offset.to_be_bytes());
        out.extend_from_slice(&last.offset_delta.to_be_bytes());
        out.extend_from_slice(&entry.last_timestamp.to_be_bytes());
        out.extend_from_slice(&entry.coordinator_epoch.to_be_bytes());
        out.extend_from_slice(&entry.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
    }
    let crc = crc32c::crc32c(&out[SNAPSHOT_HEADER_BYTES..]);
    out[2..6].copy_from_slice(&crc.to_be_bytes());
    out
}

#[derive(Debug)]
pub(crate) enum SnapshotError {
    Io(std::io::Error),
    Corrupt(String),
}

fn read_snapshot(path: &Path) -> Result<HashMap<i64, ProducerEntry>, SnapshotError> {
    let bytes = std::fs::read(path).map_err(SnapshotError::Io)?;
    decode_snapshot(&bytes).map_err(SnapshotError::Corrupt)
}

pub(crate) fn decode_snapshot(bytes: &[u8]) -> Result<HashMap<i64, ProducerEntry>, String> {
    if bytes.len() < SNAPSHOT_HEADER_BYTES + 4 {
        return Err(format!("{} bytes is too short for a snapshot", bytes.len()));
    }
    let version = i16::from_be_bytes([bytes[0], bytes[1]]);
    if version != SNAPSHOT_VERSION {
        return Err(format!(
            "snapshot version {version}, expected {SNAPSHOT_VERSION}"
        ));
    }
    let stored = u32::from_be_bytes([bytes[2], bytes[3], bytes[4], bytes[5]]);
    let computed = crc32c::crc32c(&bytes[SNAPSHOT_HEADER_BYTES..]);
    if stored != computed {
        return Err(format!(
            "CRC {stored:#010x} does not match the contents ({computed:#010x})"
        ));
    }
    let body = &bytes[SNAPSHOT_HEADER_BYTES..];
    let count = i32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    let entries = &body[4..];
    if count < 0 || entries.len() != count as usize * SNAPSHOT_ENTRY_BYTES {
        return Err(format!(
            "{count} entries do not fit {} bytes",
            entries.len()
        ));
    }
    let mut producers = HashMap::with_capacity(count as usize);
    for raw in entries.chunks_exact(SNAPSHOT_ENTRY_BYTES) {
        let mut at = 0;
        let mut take = |n: usize| {
            let field = &raw[at..at + n];
            at += n;
            field
        };
        let producer_id = i64::from_be_bytes(take(8).try_into().expect("8 bytes"));
        let epoch = i16::from_be_bytes(take(2).try_into().expect("2 bytes"));
        let last_seq = i32::from_be_bytes(take(4).try_into().expect("4 bytes"));
        let last_offset = i64::from_be_bytes(take(8).try_into().expect("8 bytes"));
        let offset_delta = i32::from_be_bytes(take(4).try_into().expect("4 bytes"));
        let timestamp = i64::from_be_bytes(take(8).try_into().expect("8 bytes"));
        let coordinator_epoch = i32::from_be_bytes(take(4).try_into().expect("4 bytes"));
        let txn_first_offset = i64::from_be_bytes(take(8).try_into().expect("8 bytes"));
        let mut entry = ProducerEntry::empty();
        entry.producer_epoch = epoch;
        entry.coordinator_epoch = coordinator_epoch;
        entry.current_txn_first_offset = (txn_first_offset >= 0).then_some(txn_first_offset);
        if last_offset >= 0 {
            entry.add_batch(
                epoch,
                BatchMetadata {
                    last_seq,
                    last_offset,
                    offset_delta,
                    timestamp,
                },
            );
        }
        entry.last_timestamp = timestamp;
        producers.insert(producer_id, entry);
    }
    Ok(producers)
}

#[cfg(test)]
mod tests;
