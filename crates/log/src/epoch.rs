//! The leader epoch cache of one partition, Kafka's `LeaderEpochFileCache`, and its
//! `leader-epoch-checkpoint` file (Kafka's `LeaderEpochCheckpointFile`).
//!
//! [`LeaderEpochCache`] is the pure part: an ordered list of (epoch, start offset) with
//! Kafka's rules for adding, truncating and answering OffsetForLeaderEpoch. It does no
//! I/O, so a simulation can drive it directly. [`Log`](crate::Log) owns one, persists it
//! through [`read_checkpoint`] / [`write_checkpoint`] whenever it changes, and keeps it
//! in step with appends, truncation and the log start offset.

use std::path::Path;

use crate::error::LogError;

/// The checkpoint of a partition's leader epoch cache, in the partition directory (the
/// name Kafka uses).
///
/// Format (text, Kafka's `LeaderEpochCheckpointFile`): a version line `0`, a line with
/// the number of entries, then one `<epoch> <start offset>` line per entry, oldest first.
/// Written by [`rafka_types::write_atomically`] (through `<name>.tmp`), so a crash leaves
/// the old or the new checkpoint, never a torn one.
pub const LEADER_EPOCH_CHECKPOINT_FILE: &str = "leader-epoch-checkpoint";
const CHECKPOINT_VERSION: &str = "0";

/// Kafka's `OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH`: no epoch is known.
pub const UNDEFINED_EPOCH: i32 = -1;
/// Kafka's `OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH_OFFSET`: no end offset is known.
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// The first offset written under a leader epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// Kafka's `LeaderEpochFileCache` without the file: for each leader epoch that has
/// written to the log, the offset of its first record. Followers use it to find where
/// their log diverges from the leader's (OffsetForLeaderEpoch), consumers to validate a
/// committed position after a leader change.
///
/// Not synchronised: the owner ([`Log`](crate::Log)) serialises access.
///
/// Invariant: entries strictly increase in both `epoch` and `start_offset`, and every
/// `epoch` and `start_offset` is ≥ 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    pub fn new() -> LeaderEpochCache {
        LeaderEpochCache::default()
    }

    /// A cache built by assigning `entries` in order, as Kafka builds one from its
    /// checkpoint file: entries that break the ordering are resolved as [`Self::assign`]
    /// resolves them, never kept.
    pub fn from_entries(entries: impl IntoIterator<Item = EpochEntry>) -> LeaderEpochCache {
        let mut cache = LeaderEpochCache::new();
        for entry in entries {
            cache.assign(entry.epoch, entry.start_offset);
        }
        cache
    }

    /// Kafka's `assign`: records that `epoch` starts at `start_offset`. Returns whether
    /// the cache changed.
    ///
    /// Nothing changes when `epoch` is the latest epoch and `start_offset` is at or after
    /// its start (the common case: every later batch of the current leader). Otherwise
    /// the entry is added after removing, from the newest backwards, every entry whose
    /// epoch is ≥ `epoch` or whose start offset is ≥ `start_offset` (Kafka's
    /// `maybeTruncateNonMonotonicEntries`). So, as in Kafka, an epoch lower than the
    /// latest is *not* ignored: it replaces the newer entries, and the same epoch at an
    /// earlier offset moves that epoch's start back.
    ///
    /// Panics (Kafka throws `IllegalArgumentException`) when `epoch` or `start_offset`
    /// is negative: callers filter out batches without an epoch (-1).
    pub fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        assert!(
            epoch >= 0 && start_offset >= 0,
            "invalid leader epoch entry: epoch {epoch}, start offset {start_offset}"
        );
        if !self.is_update_needed(epoch, start_offset) {
            return false;
        }
        let keep = self
            .entries
            .iter()
            .rposition(|e| e.epoch < epoch && e.start_offset < start_offset)
            .map_or(0, |i| i + 1);
        let removed = &self.entries[keep..];
        // As Kafka: replacing one entry at the same offset is expected (nothing was
        // written under it); anything more is history being rewritten.
        if removed.len() > 1
            || removed
                .first()
                .is_some_and(|r| r.start_offset != start_offset)
        {
            tracing::warn!(
                epoch, start_offset, removed = ?removed,
                "new leader epoch entry truncated conflicting entries"
            );
        }
        self.entries.truncate(keep);
        self.entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        self.check_invariant();
        true
    }

    /// Whether [`Self::assign`] with these arguments would change the cache (Kafka's
    /// `isUpdateNeeded`).
    pub fn is_update_needed(&self, epoch: i32, start_offset: i64) -> bool {
        self.entries
            .last()
            .is_none_or(|last| epoch != last.epoch || start_offset < last.start_offset)
    }

    /// The newest epoch with an entry: the epoch of the log's last records (or of a
    /// leader that has not written yet, when assigned at the log end offset).
    pub fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    pub fn latest_entry(&self) -> Option<EpochEntry> {
        self.entries.last().copied()
    }

    pub fn earliest_entry(&self) -> Option<EpochEntry> {
        self.entries.first().copied()
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> &[EpochEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The start offset of `epoch`, when it has an entry (Kafka's `epochEntry`).
    pub fn start_offset_of(&self, epoch: i32) -> Option<i64> {
        self.entries
            .binary_search_by_key(&epoch, |e| e.epoch)
            .ok()
            .map(|i| self.entries[i].start_offset)
    }

    /// The epoch of the record at `offset`: the entry with the largest start offset
    /// ≤ `offset`; `None` before the first entry (Kafka's `epochForOffset`).
    pub fn epoch_for_offset(&self, offset: i64) -> Option<i32> {
        let after = self.entries.partition_point(|e| e.start_offset <= offset);
        after.checked_sub(1).map(|i| self.entries[i].epoch)
    }

    /// Kafka's `endOffsetFor` (OffsetForLeaderEpoch): the largest epoch ≤
    /// `requested_epoch` and the end offset of `requested_epoch`, as (epoch, end offset):
    ///
    /// - `requested_epoch` is [`UNDEFINED_EPOCH`] → ([`UNDEFINED_EPOCH`],
    ///   [`UNDEFINED_EPOCH_OFFSET`]).
    /// - `requested_epoch` is the latest epoch → (it, `log_end_offset`): the current
    ///   leader's epoch is still being written to.
    /// - No epoch is larger than `requested_epoch` (including an empty cache) →
    ///   ([`UNDEFINED_EPOCH`], [`UNDEFINED_EPOCH_OFFSET`]).
    /// - `requested_epoch` is below every epoch → (`requested_epoch`, the first entry's
    ///   start offset). Kafka ≥ 2.0 (KIP-279) answers so, as the data before it is gone
    ///   and the follower must truncate to the leader's start; Kafka 1.x answered
    ///   `UNDEFINED_EPOCH_OFFSET` here.
    /// - Otherwise → (the largest epoch ≤ `requested_epoch`, the start offset of the
    ///   first epoch > `requested_epoch`).
    pub fn end_offset_for(&self, requested_epoch: i32, log_end_offset: i64) -> (i32, i64) {
        if requested_epoch == UNDEFINED_EPOCH {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        if self.latest_epoch() == Some(requested_epoch) {
            return (requested_epoch, log_end_offset);
        }
        let higher = self.entries.partition_point(|e| e.epoch <= requested_epoch);
        let Some(higher_entry) = self.entries.get(higher) else {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        };
        match higher.checked_sub(1) {
            Some(floor) => (self.entries[floor].epoch, higher_entry.start_offset),
            None => (requested_epoch, higher_entry.start_offset),
        }
    }

    /// Kafka's `truncateFromEnd`, after the log was truncated to `end_offset`: removes
    /// every entry starting at or after it. Negative offsets change nothing. Returns
    /// whether the cache changed.
    pub fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        if end_offset < 0 {
            return false;
        }
        let keep = self
            .entries
            .partition_point(|e| e.start_offset < end_offset);
        if keep == self.entries.len() {
            return false;
        }
        self.entries.truncate(keep);
        true
    }

    /// Kafka's `truncateFromStart`, after the log start offset moved to `start_offset`:
    /// the entries starting at or before it collapse into one, the newest of them, which
    /// now starts at `start_offset` (its epoch still covers the records there). Entries
    /// after it are kept; so is an entry at exactly `start_offset`. Returns whether the
    /// cache changed.
    pub fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let at_or_before = self
            .entries
            .partition_point(|e| e.start_offset <= start_offset);
        let Some(newest) = at_or_before.checked_sub(1) else {
            return false;
        };
        if newest == 0 && self.entries[0].start_offset == start_offset {
            return false;
        }
        self.entries.drain(..newest);
        self.entries[0].start_offset = start_offset;
        self.check_invariant();
        true
    }

    /// Removes every entry. Returns whether there were any.
    pub fn clear(&mut self) -> bool {
        let had_entries = !self.entries.is_empty();
        self.entries.clear();
        had_entries
    }

    fn check_invariant(&self) {
        for pair in self.entries.windows(2) {
            assert!(
                pair[0].epoch < pair[1].epoch && pair[0].start_offset < pair[1].start_offset,
                "leader epoch entries out of order: {:?}",
                self.entries
            );
        }
    }
}

/// What was found at [`LEADER_EPOCH_CHECKPOINT_FILE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckpointRead {
    Missing,
    /// Unparseable; already logged.
    Corrupt,
    Entries(Vec<EpochEntry>),
}

/// The checkpoint's text for `entries`.
pub(crate) fn encode_checkpoint(entries: &[EpochEntry]) -> String {
    let mut text = format!("{CHECKPOINT_VERSION}\n{}\n", entries.len());
    for entry in entries {
        text.push_str(&format!("{} {}\n", entry.epoch, entry.start_offset));
    }
    text
}

/// Parses a checkpoint's text, as strictly as Kafka's `CheckpointFile` reader: the
/// version must be 0, the count must match the entry lines, each line must be two
/// whitespace-separated numbers (both ≥ 0 here, as Kafka's `assign` requires).
pub(crate) fn parse_checkpoint(text: &str) -> Option<Vec<EpochEntry>> {
    let mut lines = text.lines();
    if lines.next()?.trim() != CHECKPOINT_VERSION {
        return None;
    }
    let count: usize = lines.next()?.trim().parse().ok()?;
    let mut entries = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let mut fields = lines.next()?.split_whitespace();
        let epoch: i32 = fields.next()?.parse().ok()?;
        let start_offset: i64 = fields.next()?.parse().ok()?;
        if fields.next().is_some() || epoch < 0 || start_offset < 0 {
            return None;
        }
        entries.push(EpochEntry {
            epoch,
            start_offset,
        });
    }
    if lines.any(|line| !line.trim().is_empty()) {
        return None;
    }
    Some(entries)
}

/// Reads the checkpoint in `dir`. An unparseable file is logged and reported as
/// [`CheckpointRead::Corrupt`] (the log then rebuilds the cache from its batches); only
/// I/O errors other than absence are errors.
pub(crate) fn read_checkpoint(dir: &Path) -> Result<CheckpointRead, LogError> {
    let path = dir.join(LEADER_EPOCH_CHECKPOINT_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CheckpointRead::Missing),
        Err(e) => return Err(LogError::io(&path, e)),
    };
    match std::str::from_utf8(&bytes).ok().and_then(parse_checkpoint) {
        Some(entries) => Ok(CheckpointRead::Entries(entries)),
        None => {
            tracing::warn!(
                path = %path.display(),
                "ignoring a malformed leader epoch checkpoint; rebuilding it from the log"
            );
            Ok(CheckpointRead::Corrupt)
        }
    }
}

/// Replaces the checkpoint in `dir` with `entries`, crash-safely (see
/// [`LEADER_EPOCH_CHECKPOINT_FILE`]).
pub(crate) fn write_checkpoint(dir: &Path, entries: &[EpochEntry]) -> Result<(), LogError> {
    let path = dir.join(LEADER_EPOCH_CHECKPOINT_FILE);
    rafka_types::write_atomically(&path, encode_checkpoint(entries).as_bytes())
        .map_err(|e| LogError::io(&path, e))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entry(epoch: i32, start_offset: i64) -> EpochEntry {
        EpochEntry {
            epoch,
            start_offset,
        }
    }

    fn cache_of(assigns: &[(i32, i64)]) -> LeaderEpochCache {
        let mut cache = LeaderEpochCache::new();
        for &(epoch, start_offset) in assigns {
            cache.assign(epoch, start_offset);
        }
        cache
    }

    const UNDEFINED: (i32, i64) = (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);

    #[test]
    fn assign_adds_a_new_epoch_and_the_latest_epoch_ends_at_the_log_end() {
        let mut cache = LeaderEpochCache::new();
        assert!(cache.assign(2, 10));
        assert_eq!(cache.latest_epoch(), Some(2));
        assert_eq!(cache.entries(), &[entry(2, 10)]);
        assert_eq!(cache.end_offset_for(2, 11), (2, 11));
    }

    #[test]
    fn assign_keeps_the_first_start_offset_of_an_epoch() {
        let mut cache = cache_of(&[(2, 6)]);
        assert!(!cache.assign(2, 10));
        assert!(!cache.assign(2, 6));
        assert_eq!(cache.entries(), &[entry(2, 6)]);
    }

    #[test]
    fn assign_of_a_newer_epoch_at_the_same_offset_replaces_the_older() {
        // Kafka's shouldEnforceMonotonicallyIncreasingStartOffsets.
        let cache = cache_of(&[(2, 9), (3, 9)]);
        assert_eq!(cache.entries(), &[entry(3, 9)]);
    }

    #[test]
    fn assign_of_a_lower_epoch_truncates_the_newer_entries_as_kafka_does() {
        // Kafka's shouldEnforceMonotonicallyIncreasingEpochs.
        let cache = cache_of(&[(1, 5), (2, 6), (1, 7)]);
        assert_eq!(cache.latest_epoch(), Some(1));
        assert_eq!(cache.entries(), &[entry(1, 7)]);
        assert_eq!(cache.end_offset_for(1, 8), (1, 8));
        assert_eq!(cache.end_offset_for(2, 8), UNDEFINED);
        // Kafka's shouldEnforceOffsetsIncreaseMonotonically.
        let cache = cache_of(&[(2, 6), (3, 5)]);
        assert_eq!(cache.entries(), &[entry(3, 5)]);
        // Only the conflicting suffix goes.
        let cache = cache_of(&[(0, 0), (2, 10), (4, 20), (3, 25)]);
        assert_eq!(cache.entries(), &[entry(0, 0), entry(2, 10), entry(3, 25)]);
    }

    #[test]
    fn assign_of_the_latest_epoch_at_an_earlier_offset_moves_its_start_back() {
        // Kafka's shouldTruncateIfMatchingEpochButEarlierStartingOffset.
        let mut cache = cache_of(&[(5, 11), (6, 12), (7, 13)]);
        assert!(cache.assign(7, 12));
        assert_eq!(cache.entries(), &[entry(5, 11), entry(7, 12)]);
        assert_eq!(cache.end_offset_for(5, 0), (5, 12));
        assert_eq!(cache.end_offset_for(6, 0), (5, 12));
    }

    #[test]
    #[should_panic(expected = "invalid leader epoch entry")]
    fn assign_of_a_negative_epoch_is_a_bug() {
        LeaderEpochCache::new().assign(-1, 0);
    }

    #[test]
    fn end_offset_for_undefined_or_unknown_epochs_is_undefined() {
        let empty = LeaderEpochCache::new();
        assert_eq!(empty.end_offset_for(0, 0), UNDEFINED);
        assert_eq!(empty.end_offset_for(7, 0), UNDEFINED);
        assert_eq!(empty.end_offset_for(UNDEFINED_EPOCH, 73), UNDEFINED);
        let cache = cache_of(&[(2, 11), (3, 12)]);
        assert_eq!(cache.end_offset_for(UNDEFINED_EPOCH, 0), UNDEFINED);
        // Kafka's shouldReturnInvalidOffsetIfEpochIsRequestedWhichIsNotCurrentlyTracked.
        let cache = cache_of(&[(2, 100)]);
        assert_eq!(cache.end_offset_for(3, 100), UNDEFINED);
    }

    #[test]
    fn end_offset_for_an_epoch_below_the_first_is_the_first_start_offset() {
        // Kafka's shouldReturnFirstEpochIfRequestedEpochLessThanFirstEpoch.
        let cache = cache_of(&[(5, 11), (6, 12), (7, 13)]);
        assert_eq!(cache.end_offset_for(4, 0), (4, 11));
    }

    #[test]
    fn end_offset_for_a_missing_epoch_is_the_previous_epoch_and_the_next_start() {
        // Kafka's shouldReturnNextAvailableEpochIfThereIsNoExactEpochForTheOneRequested.
        let cache = cache_of(&[(0, 10), (2, 13), (4, 17)]);
        assert_eq!(cache.end_offset_for(1, 0), (0, 13));
        assert_eq!(cache.end_offset_for(2, 0), (2, 17));
        assert_eq!(cache.end_offset_for(3, 0), (2, 17));
        // Kafka's shouldGetFirstOffsetOfSubsequentEpochWhenOffsetRequestedForPreviousEpoch.
        let cache = cache_of(&[(1, 11), (1, 12), (2, 13), (2, 14), (3, 15), (3, 16)]);
        assert_eq!(cache.end_offset_for(2, 17), (2, 15));
    }

    #[test]
    fn end_offsets_track_epochs_as_leaders_change() {
        // Kafka's shouldIncreaseAndTrackEpochsAsLeadersChangeManyTimes.
        let mut cache = cache_of(&[(0, 0), (1, 0)]);
        assert_eq!(cache.latest_epoch(), Some(1));
        assert_eq!(cache.end_offset_for(1, 0), (1, 0));
        assert_eq!(cache.end_offset_for(0, 0), (0, 0));
        assert_eq!(cache.end_offset_for(1, 5), (1, 5));
        assert_eq!(cache.end_offset_for(0, 5), (0, 0));
        cache.assign(2, 5);
        assert_eq!(cache.end_offset_for(2, 10), (2, 10));
        assert_eq!(cache.end_offset_for(1, 10), (1, 5));
        assert_eq!(cache.end_offset_for(0, 10), (0, 0));
        // Kafka's shouldIncreaseAndTrackEpochsAsFollowerReceivesManyMessages.
        let cache = cache_of(&[(0, 0), (0, 1), (0, 2), (1, 3), (1, 4), (2, 6), (2, 8)]);
        assert_eq!(cache.end_offset_for(2, 9), (2, 9));
        assert_eq!(cache.end_offset_for(0, 9), (0, 3));
        assert_eq!(cache.end_offset_for(1, 9), (1, 6));
    }

    #[test]
    fn truncate_from_end_drops_entries_at_and_after_the_offset() {
        let mut cache = cache_of(&[(2, 6), (3, 8), (4, 11)]);
        assert!(cache.truncate_from_end(9));
        assert_eq!(cache.entries(), &[entry(2, 6), entry(3, 8)]);
        assert!(cache.truncate_from_end(8));
        assert_eq!(cache.entries(), &[entry(2, 6)]);
        assert!(!cache.truncate_from_end(7));
        assert!(!cache.truncate_from_end(UNDEFINED_EPOCH_OFFSET));
        assert_eq!(cache.entries(), &[entry(2, 6)]);
        assert!(!LeaderEpochCache::new().truncate_from_end(7));
    }

    #[test]
    fn truncate_from_start_moves_the_epoch_holding_the_new_start_up_to_it() {
        let assigns = [(2, 6), (3, 8), (4, 11)];
        let cases: [(i64, &[EpochEntry]); 6] = [
            (1, &[entry(2, 6), entry(3, 8), entry(4, 11)]),
            (6, &[entry(2, 6), entry(3, 8), entry(4, 11)]),
            (8, &[entry(3, 8), entry(4, 11)]),
            (9, &[entry(3, 9), entry(4, 11)]),
            (11, &[entry(4, 11)]),
            (15, &[entry(4, 15)]),
        ];
        for (start_offset, expected) in cases {
            let mut cache = cache_of(&assigns);
            let changed = cache.truncate_from_start(start_offset);
            assert_eq!(
                cache.entries(),
                expected,
                "truncate_from_start({start_offset})"
            );
            assert_eq!(
                changed,
                start_offset > 6,
                "truncate_from_start({start_offset})"
            );
        }
        let mut cache = cache_of(&[(0, 0), (1, 7), (2, 10)]);
        assert!(cache.truncate_from_start(5));
        assert_eq!(cache.entries(), &[entry(0, 5), entry(1, 7), entry(2, 10)]);
        assert!(!cache.truncate_from_start(UNDEFINED_EPOCH_OFFSET));
        assert!(!LeaderEpochCache::new().truncate_from_start(7));
    }

    #[test]
    fn clear_removes_everything() {
        let mut cache = cache_of(&[(2, 6), (3, 8)]);
        assert!(cache.clear());
        assert!(cache.is_empty());
        assert!(!cache.clear());
        assert_eq!(cache.end_offset_for(3, 10), UNDEFINED);
    }

    #[test]
    fn lookups_by_epoch_and_by_offset() {
        let cache = cache_of(&[(0, 10), (1, 20), (5, 30)]);
        assert_eq!(cache.start_offset_of(1), Some(20));
        assert_eq!(cache.start_offset_of(2), None);
        assert_eq!(cache.epoch_for_offset(25), Some(1));
        assert_eq!(cache.epoch_for_offset(20), Some(1));
        assert_eq!(cache.epoch_for_offset(30), Some(5));
        assert_eq!(cache.epoch_for_offset(50), Some(5));
        assert_eq!(cache.epoch_for_offset(5), None);
        assert_eq!(cache.earliest_entry(), Some(entry(0, 10)));
        assert_eq!(cache.latest_entry(), Some(entry(5, 30)));
    }

    #[test]
    fn from_entries_resolves_out_of_order_entries_like_assign() {
        let cache = LeaderEpochCache::from_entries([entry(1, 0), entry(3, 10), entry(2, 20)]);
        assert_eq!(cache.entries(), &[entry(1, 0), entry(2, 20)]);
    }

    #[test]
    fn checkpoint_text_is_kafkas_format() {
        let text = encode_checkpoint(&[entry(0, 1), entry(1, 2)]);
        assert_eq!(text, "0\n2\n0 1\n1 2\n");
        // Kafka splits on any whitespace.
        assert_eq!(
            parse_checkpoint("0\n2\n0  1\n1\t2\n"),
            Some(vec![entry(0, 1), entry(1, 2)])
        );
        assert_eq!(parse_checkpoint("0\n0\n"), Some(vec![]));
    }

    #[test]
    fn malformed_checkpoints_are_rejected() {
        for text in [
            "",
            "1\n0\n",
            "0\n",
            "0\n2\n0 1\n",
            "0\n1\n0 1\n1 2\n",
            "0\n1\n0\n",
            "0\n1\n0 1 2\n",
            "0\n1\n-1 5\n",
            "0\n1\nx 5\n",
            "0\nmany\n",
        ] {
            assert_eq!(parse_checkpoint(text), None, "{text:?}");
        }
    }

    #[test]
    fn checkpoint_files_round_trip_and_replace_atomically() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_checkpoint(dir.path()).unwrap(),
            CheckpointRead::Missing
        );
        write_checkpoint(dir.path(), &[entry(0, 0), entry(4, 100)]).unwrap();
        write_checkpoint(dir.path(), &[entry(0, 0), entry(5, 200)]).unwrap();
        assert_eq!(
            read_checkpoint(dir.path()).unwrap(),
            CheckpointRead::Entries(vec![entry(0, 0), entry(5, 200)])
        );
        assert!(!dir
            .path()
            .join(format!("{LEADER_EPOCH_CHECKPOINT_FILE}.tmp"))
            .exists());
        std::fs::write(
            dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE),
            b"0\n3\n1 1\n",
        )
        .unwrap();
        assert_eq!(
            read_checkpoint(dir.path()).unwrap(),
            CheckpointRead::Corrupt
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Assign(i32, i64),
        TruncateFromEnd(i64),
        TruncateFromStart(i64),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..20i32, 0..200i64).prop_map(|(e, o)| Op::Assign(e, o)),
            1 => (-1..200i64).prop_map(Op::TruncateFromEnd),
            1 => (-1..200i64).prop_map(Op::TruncateFromStart),
            1 => Just(Op::Clear),
        ]
    }

    fn strictly_increasing(entries: &[EpochEntry]) -> bool {
        entries
            .windows(2)
            .all(|p| p[0].epoch < p[1].epoch && p[0].start_offset < p[1].start_offset)
    }

    proptest! {
        #[test]
        fn entries_stay_strictly_increasing_in_epoch_and_start_offset(
            ops in prop::collection::vec(op(), 0..60)
        ) {
            let mut cache = LeaderEpochCache::new();
            for op in ops {
                let before = cache.entries().to_vec();
                let changed = match op {
                    Op::Assign(epoch, start_offset) => {
                        let changed = cache.assign(epoch, start_offset);
                        if changed {
                            // What stays is the prefix older in both epoch and offset.
                            let mut expected: Vec<EpochEntry> = before
                                .iter()
                                .copied()
                                .take_while(|e| e.epoch < epoch && e.start_offset < start_offset)
                                .collect();
                            expected.push(entry(epoch, start_offset));
                            prop_assert_eq!(cache.entries(), &expected[..]);
                        }
                        changed
                    }
                    Op::TruncateFromEnd(offset) => {
                        let changed = cache.truncate_from_end(offset);
                        prop_assert!(cache.entries().iter().all(|e| offset < 0 || e.start_offset < offset));
                        changed
                    }
                    Op::TruncateFromStart(offset) => {
                        let changed = cache.truncate_from_start(offset);
                        prop_assert!(cache.entries().iter().all(|e| e.start_offset >= offset));
                        changed
                    }
                    Op::Clear => cache.clear(),
                };
                prop_assert_eq!(changed, before != cache.entries());
                prop_assert!(strictly_increasing(cache.entries()), "{:?}", cache.entries());
                prop_assert!(cache.entries().iter().all(|e| e.epoch >= 0 && e.start_offset >= 0));
            }
        }

        #[test]
        fn end_offset_for_is_the_floor_epoch_and_the_next_start(
            assigns in prop::collection::vec((0..20i32, 0..200i64), 0..30),
            requested in -1..25i32,
        ) {
            let cache = LeaderEpochCache::from_entries(
                assigns.iter().map(|&(epoch, start_offset)| entry(epoch, start_offset)),
            );
            let log_end_offset = 1_000;
            let answer = cache.end_offset_for(requested, log_end_offset);
            let floor = cache.entries().iter().rev().find(|e| e.epoch <= requested);
            let next = cache.entries().iter().find(|e| e.epoch > requested);
            let expected = if requested == UNDEFINED_EPOCH {
                UNDEFINED
            } else if cache.latest_epoch() == Some(requested) {
                (requested, log_end_offset)
            } else {
                match (floor, next) {
                    (_, None) => UNDEFINED,
                    (None, Some(next)) => (requested, next.start_offset),
                    (Some(floor), Some(next)) => (floor.epoch, next.start_offset),
                }
            };
            prop_assert_eq!(answer, expected);
        }

        #[test]
        fn checkpoint_text_round_trips(
            assigns in prop::collection::vec((0..i32::MAX, 0..i64::MAX), 0..20)
        ) {
            let cache = LeaderEpochCache::from_entries(
                assigns.iter().map(|&(epoch, start_offset)| entry(epoch, start_offset)),
            );
            let text = encode_checkpoint(cache.entries());
            prop_assert_eq!(parse_checkpoint(&text), Some(cache.entries().to_vec()));
        }
    }
}
