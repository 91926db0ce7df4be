//! Log compaction for `cleanup.policy=compact`, modelled on Kafka's `LogCleanerManager`
//! (what to clean and when), `Cleaner` (how) and `LocalLog.replaceSegments` /
//! `LogLoader` (swapping cleaned segments in, crash-safely).
//!
//! One pass ([`Log::clean`]):
//! 1. The dirty section runs from the *first dirty offset* (the checkpoint in
//!    [`CLEANER_CHECKPOINT_FILE`]) to the *first uncleanable offset*: the base of the
//!    segment holding the smallest of the upper bound (the LSO), the active segment's base,
//!    and the base of the first dirty segment with a record newer than
//!    `min.compaction.lag.ms`. The pass runs only when dirty bytes / all cleanable bytes
//!    exceed `min.cleanable.dirty.ratio`, or when a dirty segment's first batch is older
//!    than `max.compaction.lag.ms`.
//! 2. An offset map, key → the offset of its latest record, is built over the dirty
//!    section.
//! 3. Every segment from the log's first to the first uncleanable one is rewritten, in
//!    groups that fit one segment (Kafka's `groupSegmentsBySize`), keeping a record only
//!    when it is the latest for its key. Offsets never change: kept records keep their
//!    offset deltas and batches keep their base offset and `lastOffsetDelta`.
//! 4. The checkpoint moves to the first uncleanable offset.
//!
//! Tombstones (a key with a null value) follow Kafka 3's delete horizon (KIP-534): the
//! first pass that keeps a tombstone stamps its batch with `now + delete.retention.ms`
//! (attributes bit 6, `baseTimestamp` = horizon); a later pass at or after the horizon
//! drops it. Like Kafka, a later pass needs dirty data (or `max.compaction.lag.ms`) to
//! run at all.
//!
//! A batch that loses every record disappears, except the batch holding each active
//! producer's last entry in the whole log (Kafka keeps it for the producer's sequence and
//! epoch) and the batch that ends the cleaned range (so its last offset stays known);
//! those stay as empty batches, as in Kafka. A producer counts until
//! `producer.id.expiration.ms` expires it from the producer state, as in Kafka.
//!
//! Transactions follow Kafka's cleaner (see [`txn`]): records of committed transactions
//! are compacted like any others, aborted ones go, markers go once their transaction has
//! no data left and their delete horizon has passed, and the transaction index keeps only
//! the aborts whose data is still there. The broker cleans only below the LSO.
//!
//! Deliberate differences from Kafka, each erring towards keeping data:
//! - Records with a null key are kept (Kafka's cleaner drops them; Kafka also rejects
//!   them at produce time on compacted topics).
//! - Kafka hashes keys (MD5) into a fixed buffer; the map here holds whole keys, up to
//!   [`OFFSET_MAP_MAX_BYTES`] of them, so it has no collisions.

mod files;
mod txn;

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use rafka_protocol::batch::{empty_batch, raw_records, rewrite_batch, Batch, BatchError};
use rafka_types::Offset;

use crate::error::LogError;
use crate::segment::{
    segment_file_name, AppendedBatch, LogSegment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX,
};
use crate::Log;
pub use files::CLEANER_CHECKPOINT_FILE;
pub(crate) use files::{complete_or_roll_back_swaps, read_checkpoint};
use files::{remove_if_exists, sync_dir, write_checkpoint, CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX};
use txn::{TxnDecisions, TxnScan};

/// Most key bytes the offset map may hold in one pass (Kafka's
/// `log.cleaner.dedupe.buffer.size` default). When the dirty section has more, the pass
/// cleans up to the end of the last segment that fit and the next pass continues.
pub(crate) const OFFSET_MAP_MAX_BYTES: usize = 128 * 1024 * 1024;
/// Per-entry overhead counted against [`OFFSET_MAP_MAX_BYTES`] besides the key bytes.
const OFFSET_MAP_ENTRY_OVERHEAD_BYTES: usize = 48;
/// Cleaned batches are written to the new segment in chunks of about this size.
const WRITE_CHUNK_BYTES: usize = 1024 * 1024;

/// Why a [`Log::clean`] pass did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanSkip {
    /// `cleanup.policy` does not include `compact`.
    NotCompacted,
    /// No dirty bytes below the first uncleanable offset (all dirty data is in the
    /// active segment, beyond the upper bound, or within `min.compaction.lag.ms`).
    NothingCleanable,
    /// The dirty ratio does not exceed `min.cleanable.dirty.ratio` and no dirty segment
    /// is older than `max.compaction.lag.ms`.
    BelowMinCleanableDirtyRatio,
}

/// What one [`Log::clean`] pass found and did.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanResult {
    /// `Some` when the pass did nothing; the offsets and ratio are still reported.
    pub skipped: Option<CleanSkip>,
    /// Where the dirty section started (the checkpoint, or the log start).
    pub first_dirty_offset: Offset,
    /// Where the cleanable section ends: a segment base offset.
    pub first_uncleanable_offset: Offset,
    /// Dirty bytes / (clean + dirty bytes) below the first uncleanable offset.
    pub dirty_ratio: f64,
    /// The checkpoint after the pass: the next pass's first dirty offset.
    pub cleaned_up_to: Offset,
    /// Segments rewritten, and the segments they became.
    pub segments_read: usize,
    pub segments_written: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_retained: u64,
    /// Keys in the offset map.
    pub keys: usize,
}

impl CleanResult {
    fn skipped(plan: &CleanPlan, skip: CleanSkip, checkpoint: i64) -> CleanResult {
        CleanResult {
            skipped: Some(skip),
            first_dirty_offset: Offset(plan.first_dirty_offset),
            first_uncleanable_offset: Offset(plan.first_uncleanable_offset),
            dirty_ratio: plan.dirty_ratio(),
            cleaned_up_to: Offset(checkpoint),
            segments_read: 0,
            segments_written: 0,
            bytes_read: 0,
            bytes_written: 0,
            records_read: 0,
            records_retained: 0,
            keys: 0,
        }
    }
}

/// Kafka's `LogToClean`: the offsets and sizes one pass works from.
#[derive(Debug, Clone, Copy)]
struct CleanPlan {
    first_dirty_offset: i64,
    /// Base offset of the first segment that must not be cleaned.
    first_uncleanable_offset: i64,
    /// Index of that segment.
    first_uncleanable_index: usize,
    clean_bytes: u64,
    cleanable_bytes: u64,
    /// A dirty segment's first batch is older than `max.compaction.lag.ms`.
    need_compaction_now: bool,
}

impl CleanPlan {
    fn dirty_ratio(&self) -> f64 {
        let total = self.clean_bytes + self.cleanable_bytes;
        if total == 0 {
            0.0
        } else {
            self.cleanable_bytes as f64 / total as f64
        }
    }
}

/// Key → offset of its latest record in the dirty section (Kafka's `OffsetMap`).
#[derive(Debug, Default)]
struct OffsetMap {
    latest: HashMap<Vec<u8>, i64>,
    size_bytes: usize,
}

impl OffsetMap {
    fn put(&mut self, key: &[u8], offset: i64) {
        match self.latest.get_mut(key) {
            Some(latest) => *latest = offset,
            None => {
                self.size_bytes += key.len() + OFFSET_MAP_ENTRY_OVERHEAD_BYTES;
                self.latest.insert(key.to_vec(), offset);
            }
        }
    }
}

/// Everything the per-batch decision needs (Kafka's cleaner `RecordFilter`).
#[derive(Debug)]
struct RecordFilter<'a> {
    map: &'a OffsetMap,
    now_ms: i64,
    delete_retention_ms: i64,
    /// The first uncleanable offset: the batch ending there is kept even when empty.
    round_end_offset: i64,
    /// What may happen to transactional batches and markers, and which batches keep
    /// their producers' state.
    txn: &'a TxnDecisions,
}

#[derive(Debug, Default, Clone, Copy)]
struct FilterStats {
    records_read: u64,
    records_retained: u64,
}

impl RecordFilter<'_> {
    /// Kafka's `MemoryRecords.filterTo` for one batch: the bytes to keep (the original
    /// when nothing changes), or `None` to drop the batch.
    fn filter<'b>(
        &self,
        batch: &Batch<'b>,
        stats: &mut FilterStats,
    ) -> Result<Option<Cow<'b, [u8]>>, BatchError> {
        let count = u64::try_from(batch.records_count()).unwrap_or(0);
        stats.records_read += count;
        let horizon = batch.has_delete_horizon().then(|| batch.base_timestamp());
        let discardable = self.txn.discardable(batch);
        if batch.is_control() {
            // A marker goes only once its transaction has no batch left and its delete
            // horizon has passed; the first pass that finds it may go stamps the horizon.
            let gone = discardable
                && (batch.records_count() == 0 || horizon.is_some_and(|h| h <= self.now_ms));
            if gone {
                return Ok(self.emptied(batch));
            }
            stats.records_retained += count;
            if discardable && horizon.is_none() {
                let section = batch.decompressed_records()?;
                let records = raw_records(&section, batch.records_count())?;
                let horizon = self.now_ms.saturating_add(self.delete_retention_ms);
                return Ok(Some(Cow::Owned(rewrite_batch(
                    batch,
                    &records,
                    Some(horizon),
                )?)));
            }
            return Ok(Some(Cow::Borrowed(batch.as_bytes())));
        }
        if discardable {
            // Aborted data.
            return Ok(self.emptied(batch));
        }
        let section = batch.decompressed_records()?;
        let records = raw_records(&section, batch.records_count())?;
        let mut kept = Vec::with_capacity(records.len());
        let mut keeps_tombstone = false;
        for record in &records {
            let offset = batch.base_offset() + i64::from(record.offset_delta);
            let retain = match record.key {
                None => true,
                Some(key) => {
                    let latest = self.map.latest.get(key).is_none_or(|o| offset >= *o);
                    let keep_value =
                        record.value.is_some() || horizon.is_none_or(|h| self.now_ms < h);
                    latest && keep_value
                }
            };
            if retain {
                keeps_tombstone |= record.key.is_some() && record.value.is_none();
                kept.push(*record);
            }
        }
        stats.records_retained += kept.len() as u64;
        if kept.is_empty() {
            return Ok(self.emptied(batch));
        }
        let set_horizon = keeps_tombstone && horizon.is_none();
        if kept.len() == records.len() && !set_horizon {
            return Ok(Some(Cow::Borrowed(batch.as_bytes())));
        }
        let new_horizon = set_horizon.then(|| self.now_ms.saturating_add(self.delete_retention_ms));
        Ok(Some(Cow::Owned(rewrite_batch(batch, &kept, new_horizon)?)))
    }

    /// A batch that keeps none of its records: gone, or kept empty when it holds its
    /// producer's last entry or ends the cleaned range (so its last offset stays known),
    /// as Kafka's `RETAIN_EMPTY`. Also drops a batch an earlier pass left empty once it no
    /// longer needs to be.
    fn emptied<'b>(&self, batch: &Batch<'b>) -> Option<Cow<'b, [u8]>> {
        if !self.txn.is_last_of_producer(batch) && batch.next_offset() != self.round_end_offset {
            return None;
        }
        Some(if batch.records_count() == 0 {
            Cow::Borrowed(batch.as_bytes())
        } else {
            Cow::Owned(empty_batch(batch))
        })
    }
}

fn corrupt(segment: &LogSegment, position: u64, source: BatchError) -> LogError {
    LogError::CorruptSegment {
        path: segment.log_path().to_path_buf(),
        position,
        source,
    }
}

/// Calls `f` with every batch of `segment` whose last offset is ≥ `from_offset`, CRC
/// checked: the cleaner must never give damaged bytes a fresh, valid CRC.
fn for_each_batch(
    segment: &LogSegment,
    from_offset: i64,
    mut f: impl FnMut(u64, &Batch<'_>) -> Result<(), LogError>,
) -> Result<(), LogError> {
    let mut scanner = segment.scanner_for(from_offset);
    while let Some((position, header)) = scanner.next_header()? {
        if header.last_offset() < from_offset {
            continue;
        }
        let bytes = segment.read_batch(position, header.size_bytes())?;
        let batch = Batch::new(&bytes).map_err(|e| corrupt(segment, position, e))?;
        batch
            .verify_crc()
            .map_err(|e| corrupt(segment, position, e))?;
        f(position, &batch)?;
    }
    Ok(())
}

/// Kafka's `groupSegmentsBySize`: consecutive segments whose `.log` bytes fit
/// `segment.bytes` and whose indexes fit `segment.index.bytes` together, and whose
/// offsets fit one segment's 32-bit relative offsets. `end_offset` bounds the last one.
fn group_segments_by_size(
    segments: &[LogSegment],
    max_size_bytes: u64,
    max_index_size_bytes: u64,
    end_offset: i64,
) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < segments.len() {
        let first = &segments[start];
        let mut log_size = first.size_bytes();
        let mut index_size = first.offset_index_size_bytes();
        let mut time_index_size = first.time_index_size_bytes();
        let mut end = start + 1;
        while let Some(next) = segments.get(end) {
            // The worst-case last offset of `next`: the following base, or the end.
            let last_offset = segments
                .get(end + 1)
                .map_or(end_offset, LogSegment::base_offset)
                - 1;
            let fits = log_size + next.size_bytes() <= max_size_bytes
                && index_size + next.offset_index_size_bytes() <= max_index_size_bytes
                && time_index_size + next.time_index_size_bytes() <= max_index_size_bytes
                && (next.size_bytes() == 0
                    || last_offset - first.base_offset() <= i64::from(i32::MAX));
            if !fits {
                break;
            }
            log_size += next.size_bytes();
            index_size += next.offset_index_size_bytes();
            time_index_size += next.time_index_size_bytes();
            end += 1;
        }
        groups.push(start..end);
        start = end;
    }
    groups
}

impl Log {
    /// [`Log::clean_up_to`] with the log end offset as the upper bound: right for a log
    /// without followers or transactions.
    pub fn clean(&mut self) -> Result<CleanResult, LogError> {
        let log_end_offset = self.log_end_offset_raw();
        self.clean_up_to(Offset(log_end_offset))
    }

    /// One compaction pass (see the module docs), Kafka's `LogCleaner` doing one log.
    /// Never cleans the active segment nor any segment holding offsets at or above
    /// `last_stable_offset` (the broker passes its LSO, which is at most the high
    /// watermark). Uses the log's clock for `min/max.compaction.lag.ms` and tombstone
    /// horizons.
    ///
    /// The pass holds `&mut self` for its whole duration. Readers' [`FileSlice`]s of
    /// replaced segments stay readable (their files are only unlinked). An error before
    /// the swap leaves the log as it was; an I/O error during the swap takes the log
    /// offline, and reopening it completes or rolls back the swap.
    ///
    /// [`FileSlice`]: crate::FileSlice
    pub fn clean_up_to(&mut self, last_stable_offset: Offset) -> Result<CleanResult, LogError> {
        self.clean_with_map_limit(last_stable_offset, OFFSET_MAP_MAX_BYTES)
    }

    /// The first dirty offset the next pass would start from (the checkpoint, reset to
    /// the log start offset when it is outside the log, as Kafka does).
    pub fn first_dirty_offset(&self) -> Offset {
        Offset(self.first_dirty_offset_raw())
    }

    fn first_dirty_offset_raw(&self) -> i64 {
        match self.cleaner_checkpoint {
            Some(checkpoint)
                if checkpoint >= self.log_start_offset
                    && checkpoint <= self.log_end_offset_raw() =>
            {
                checkpoint
            }
            _ => self.log_start_offset,
        }
    }

    /// Kafka's `maybeTruncateCheckpoint`: after truncation the checkpoint must not
    /// point past the log end.
    pub(crate) fn truncate_cleaner_checkpoint(&mut self, offset: i64) -> Result<(), LogError> {
        if self.cleaner_checkpoint.is_some_and(|c| c > offset) {
            let written = write_checkpoint(&self.dir, offset);
            self.offline_on_error(written)?;
            self.cleaner_checkpoint = Some(offset);
        }
        Ok(())
    }

    /// Kafka's `LogCleanerManager.cleanableOffsets` and `LogToClean`.
    fn clean_plan(&self, last_stable_offset: i64, now_ms: i64) -> CleanPlan {
        let first_dirty_offset = self.first_dirty_offset_raw();
        let active_index = self.segments.len() - 1;
        // Index of the segment holding `offset` (the first when below all of them).
        let holding = |offset: i64| {
            self.segments
                .partition_point(|s| s.base_offset() <= offset)
                .saturating_sub(1)
        };
        let dirty_non_active =
            &self.segments[holding(first_dirty_offset).min(active_index)..active_index];
        let mut uncleanable = last_stable_offset.min(self.active().base_offset());
        let min_compaction_lag_ms = self.config.min_compaction_lag_ms.max(0);
        if min_compaction_lag_ms > 0 {
            let newest_cleanable_ms = now_ms.saturating_sub(min_compaction_lag_ms);
            if let Some(segment) = dirty_non_active
                .iter()
                .find(|s| s.largest_timestamp() > newest_cleanable_ms)
            {
                uncleanable = uncleanable.min(segment.base_offset());
            }
        }
        let uncleanable = uncleanable.max(first_dirty_offset);
        let first_uncleanable_index = holding(uncleanable).min(active_index);
        let first_uncleanable_offset = self.segments[first_uncleanable_index].base_offset();
        let clean_bytes = self
            .segments
            .iter()
            .take_while(|s| s.base_offset() < first_dirty_offset)
            .map(LogSegment::size_bytes)
            .sum();
        let from = holding(first_dirty_offset.min(first_uncleanable_offset));
        let cleanable_bytes = self.segments
            [from.min(first_uncleanable_index)..first_uncleanable_index]
            .iter()
            .map(LogSegment::size_bytes)
            .sum();
        let max_compaction_lag_ms = self.config.max_compaction_lag_ms.max(0);
        let clean_until_ms = now_ms.saturating_sub(max_compaction_lag_ms);
        let need_compaction_now = dirty_non_active
            .iter()
            .filter_map(LogSegment::first_batch_timestamp)
            .filter(|t| *t > 0)
            .min()
            .is_some_and(|earliest| earliest < clean_until_ms);
        CleanPlan {
            first_dirty_offset,
            first_uncleanable_offset,
            first_uncleanable_index,
            clean_bytes,
            cleanable_bytes,
            need_compaction_now,
        }
    }

    pub(crate) fn clean_with_map_limit(
        &mut self,
        last_stable_offset: Offset,
        map_max_bytes: usize,
    ) -> Result<CleanResult, LogError> {
        self.ensure_online()?;
        let now_ms = self.clock.now_ms();
        let plan = self.clean_plan(last_stable_offset.0, now_ms);
        let checkpoint = self.first_dirty_offset_raw();
        if !self.config.cleanup_policy_compact {
            return Ok(CleanResult::skipped(
                &plan,
                CleanSkip::NotCompacted,
                checkpoint,
            ));
        }
        if plan.cleanable_bytes == 0 {
            return Ok(CleanResult::skipped(
                &plan,
                CleanSkip::NothingCleanable,
                checkpoint,
            ));
        }
        // Kafka: strictly above the ratio, or overdue by max.compaction.lag.ms.
        if !plan.need_compaction_now && plan.dirty_ratio() <= self.config.min_cleanable_dirty_ratio
        {
            return Ok(CleanResult::skipped(
                &plan,
                CleanSkip::BelowMinCleanableDirtyRatio,
                checkpoint,
            ));
        }

        let txn = self.scan_transactions(plan.first_uncleanable_offset)?;
        let (map, end_index) = self.build_offset_map(&plan, map_max_bytes, &txn)?;
        let end_offset = self.segments[end_index].base_offset();
        let filter = RecordFilter {
            map: &map,
            now_ms,
            delete_retention_ms: self.config.delete_retention_ms,
            round_end_offset: end_offset,
            txn: &txn,
        };
        let groups = group_segments_by_size(
            &self.segments[..end_index],
            self.config.segment_bytes_max(),
            self.config.segment_index_bytes,
            end_offset,
        );
        let mut result = CleanResult {
            skipped: None,
            first_dirty_offset: Offset(plan.first_dirty_offset),
            first_uncleanable_offset: Offset(plan.first_uncleanable_offset),
            dirty_ratio: plan.dirty_ratio(),
            cleaned_up_to: Offset(end_offset),
            segments_read: 0,
            segments_written: 0,
            bytes_read: 0,
            bytes_written: 0,
            records_read: 0,
            records_retained: 0,
            keys: map.latest.len(),
        };
        tracing::info!(
            dir = %self.dir.display(), first_dirty_offset = plan.first_dirty_offset,
            end_offset, groups = groups.len(), keys = map.latest.len(),
            "cleaning log"
        );
        // Last group first, so the earlier groups' indexes stay valid as groups collapse.
        for group in groups.into_iter().rev() {
            let mut stats = FilterStats::default();
            result.segments_read += group.len();
            result.bytes_read += self.segments[group.clone()]
                .iter()
                .map(LogSegment::size_bytes)
                .sum::<u64>();
            let cleaned = self.clean_group(group, &filter, now_ms, &mut stats)?;
            result.segments_written += 1;
            result.bytes_written += cleaned;
            result.records_read += stats.records_read;
            result.records_retained += stats.records_retained;
        }
        let written = write_checkpoint(&self.dir, end_offset);
        self.offline_on_error(written)?;
        self.cleaner_checkpoint = Some(end_offset);
        Ok(result)
    }

    /// Kafka's `buildOffsetMap`: every keyed record of the dirty section but those of
    /// aborted transactions and markers, whole segments at a time until the map is full.
    /// Returns the map and the index of the first segment not mapped (where this pass
    /// ends).
    fn build_offset_map(
        &self,
        plan: &CleanPlan,
        map_max_bytes: usize,
        txn: &TxnDecisions,
    ) -> Result<(OffsetMap, usize), LogError> {
        let mut map = OffsetMap::default();
        let start = plan.first_dirty_offset;
        let first = self
            .segments
            .partition_point(|s| s.base_offset() <= start)
            .saturating_sub(1);
        for index in first..plan.first_uncleanable_index {
            if index > first && map.size_bytes >= map_max_bytes {
                tracing::info!(
                    dir = %self.dir.display(), keys = map.latest.len(),
                    "offset map full; cleaning part of the dirty section"
                );
                return Ok((map, index));
            }
            let segment = &self.segments[index];
            for_each_batch(segment, start, |position, batch| {
                if batch.is_control() || txn.discardable(batch) {
                    return Ok(());
                }
                let section = batch
                    .decompressed_records()
                    .map_err(|e| corrupt(segment, position, e))?;
                let records = raw_records(&section, batch.records_count())
                    .map_err(|e| corrupt(segment, position, e))?;
                for record in records {
                    let offset = batch.base_offset() + i64::from(record.offset_delta);
                    if let (Some(key), true) = (record.key, offset >= start) {
                        map.put(key, offset);
                    }
                }
                Ok(())
            })?;
        }
        Ok((map, plan.first_uncleanable_index))
    }

    /// One forward pass over the whole log deciding what may happen to transactional
    /// batches and markers below `decide_below` (the first uncleanable offset, at most the
    /// LSO: every transaction there has ended) and which batch keeps each producer's
    /// state (see [`txn`]). Reads headers, and the records of markers only.
    fn scan_transactions(&self, decide_below: i64) -> Result<TxnDecisions, LogError> {
        let aborted = self
            .txn_indexes
            .all()
            .into_iter()
            .filter(|t| t.first_offset < decide_below)
            .collect();
        let mut scan = TxnScan::new(aborted, decide_below);
        for segment in &self.segments {
            let mut scanner = segment.scanner(0);
            while let Some((position, header)) = scanner.next_header()? {
                if !scan.needs_records(header.is_control(), header.base_offset()) {
                    scan.on_batch(&header, None)
                        .map_err(|e| corrupt(segment, position, e))?;
                    continue;
                }
                let bytes = segment.read_batch(position, header.size_bytes())?;
                let batch = Batch::new(&bytes).map_err(|e| corrupt(segment, position, e))?;
                scan.on_batch(&header, Some(&batch))
                    .map_err(|e| corrupt(segment, position, e))?;
            }
        }
        let active = self.producers.producers();
        Ok(scan.finish(|producer_id| active.contains_key(&producer_id)))
    }

    /// Kafka's `cleanSegments` + `replaceSegments` for one group: writes the kept batches
    /// to `<base>.*.cleaned`, renames them to `.swap`, removes the old segments, drops
    /// the `.swap` suffix. Returns the new segment's size.
    fn clean_group(
        &mut self,
        group: Range<usize>,
        filter: &RecordFilter<'_>,
        now_ms: i64,
        stats: &mut FilterStats,
    ) -> Result<u64, LogError> {
        let base_offset = self.segments[group.start].base_offset();
        let cleaned = self.write_cleaned_segment(group.clone(), filter, now_ms, stats);
        let mut cleaned = match cleaned {
            Ok(cleaned) => cleaned,
            Err(e) => {
                // Nothing was swapped: the log is as it was. Best effort tidy-up; a
                // leftover is removed on the next open anyway.
                for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
                    let path = self
                        .dir
                        .join(segment_file_name(base_offset, suffix) + CLEANED_FILE_SUFFIX);
                    let _ = remove_if_exists(&path);
                }
                return Err(e);
            }
        };
        let size_bytes = cleaned.size_bytes();
        let swapped = self.swap_in(&mut cleaned, group.clone());
        self.offline_on_error(swapped)?;
        let old: Vec<LogSegment> = self
            .segments
            .splice(group, std::iter::once(cleaned))
            .collect();
        let bases: Vec<i64> = old.iter().map(LogSegment::base_offset).collect();
        drop(old);
        // The new segment indexes the aborts whose markers it keeps with data left.
        let merged = self
            .txn_indexes
            .merge(&bases, |txn| filter.txn.keeps_abort(txn));
        self.offline_on_error(merged)?;
        Ok(size_bytes)
    }

    fn write_cleaned_segment(
        &self,
        group: Range<usize>,
        filter: &RecordFilter<'_>,
        now_ms: i64,
        stats: &mut FilterStats,
    ) -> Result<LogSegment, LogError> {
        let base_offset = self.segments[group.start].base_offset();
        for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
            remove_if_exists(
                &self
                    .dir
                    .join(segment_file_name(base_offset, suffix) + CLEANED_FILE_SUFFIX),
            )?;
        }
        let mut cleaned = LogSegment::create_with_suffix(
            &self.dir,
            base_offset,
            &self.config,
            now_ms,
            CLEANED_FILE_SUFFIX,
        )?;
        let index_interval_bytes = self.config.index_interval_bytes;
        let mut buf: Vec<u8> = Vec::new();
        let mut batches: Vec<AppendedBatch> = Vec::new();
        for segment in &self.segments[group.clone()] {
            for_each_batch(segment, segment.base_offset(), |position, batch| {
                let Some(kept) = filter
                    .filter(batch, stats)
                    .map_err(|e| corrupt(segment, position, e))?
                else {
                    return Ok(());
                };
                let view = Batch::new(&kept).map_err(|e| corrupt(segment, position, e))?;
                batches.push(AppendedBatch {
                    start: buf.len(),
                    size: kept.len(),
                    base_offset: view.base_offset(),
                    last_offset: view.last_offset(),
                    max_timestamp: view.max_timestamp(),
                });
                buf.extend_from_slice(&kept);
                if buf.len() >= WRITE_CHUNK_BYTES {
                    cleaned.append(&buf, &batches, index_interval_bytes, now_ms)?;
                    buf.clear();
                    batches.clear();
                }
                Ok(())
            })?;
        }
        cleaned.append(&buf, &batches, index_interval_bytes, now_ms)?;
        cleaned.on_become_inactive()?;
        if let Some(newest) = self.segments[group].last() {
            cleaned.set_last_modified_ms(newest.last_modified_ms());
        }
        cleaned.flush()?;
        Ok(cleaned)
    }

    /// The crash-safe part of `replaceSegments`; see [`complete_or_roll_back_swaps`] for
    /// how recovery finishes or undoes each step.
    fn swap_in(&self, cleaned: &mut LogSegment, group: Range<usize>) -> Result<(), LogError> {
        cleaned.change_file_suffix(CLEANED_FILE_SUFFIX, SWAP_FILE_SUFFIX)?;
        sync_dir(&self.dir)?;
        for old in &self.segments[group] {
            // The old segment at the same base is replaced by the renames below.
            if old.base_offset() != cleaned.base_offset() {
                old.delete_files()?;
            }
        }
        cleaned.change_file_suffix(SWAP_FILE_SUFFIX, "")?;
        sync_dir(&self.dir)
    }
}

#[cfg(test)]
mod tests;
