//! The two sparse indexes of a segment: offset → position and timestamp → offset.
//!
//! Both keep every entry in memory and write new entries to their file at roll, flush,
//! close and recovery; neither is needed for correctness (the `.log` is the truth), so a
//! missing or corrupt index file is rebuilt from the `.log` rather than trusted.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::LogError;

/// Bytes per offset-index entry.
pub(crate) const OFFSET_ENTRY_BYTES: u64 = 8;
/// Bytes per time-index entry.
pub(crate) const TIME_ENTRY_BYTES: u64 = 12;

/// An entry of a [`SparseIndex`], fixed-size and big-endian on disk.
pub(crate) trait IndexEntry: Copy + std::fmt::Debug {
    const BYTES: u64;
    fn put(&self, out: &mut Vec<u8>);
}

/// One offset-index entry: the last offset of the batch that starts at `position`
/// (Kafka indexes a batch by its last offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetEntry {
    pub(crate) relative_offset: u32,
    pub(crate) position: u32,
}

impl IndexEntry for OffsetEntry {
    const BYTES: u64 = OFFSET_ENTRY_BYTES;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
        out.extend_from_slice(&self.position.to_be_bytes());
    }
}

/// One time-index entry: the largest timestamp seen so far in the segment and the last
/// offset of the batch that first carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeEntry {
    pub(crate) timestamp: i64,
    pub(crate) relative_offset: u32,
}

impl IndexEntry for TimeEntry {
    const BYTES: u64 = TIME_ENTRY_BYTES;
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.relative_offset.to_be_bytes());
    }
}

/// Sparse map from offset (relative to the segment's base) to byte position in its `.log`,
/// Kafka's `OffsetIndex`.
///
/// On disk (`<base offset>.index`): 8-byte entries, 4-byte relative offset then 4-byte
/// position, big-endian; no header and no preallocation, so the file size is exactly
/// 8 × entries.
///
/// Invariant: relative offsets and positions strictly increase.
/// Invariant: every position is the start of a batch in the `.log` (checked on load
/// against the log size and by the segment against the batch found there).
pub(crate) type OffsetIndex = SparseIndex<OffsetEntry>;

/// Sparse map from timestamp to offset, Kafka's `TimeIndex`.
///
/// On disk (`<base offset>.timeindex`): 12-byte entries, 8-byte timestamp then 4-byte
/// offset relative to the segment's base, big-endian; no header, no preallocation.
/// An entry (t, o) means: no record before the batch holding offset `o` has a timestamp
/// ≥ t, so a search for t may start at `o`'s batch.
///
/// Invariant: timestamps strictly increase; relative offsets never decrease.
pub(crate) type TimeIndex = SparseIndex<TimeEntry>;

/// The entries of one index, all in memory, and the file holding the first `written`.
///
/// The file is known by its path only: opened for each write, fsync and read, and closed
/// again. A partition then holds one file descriptor (its active `.log`), not three, which
/// is what lets a broker host 10k partitions under a 20k open-files limit. Entries pushed
/// in memory reach the file on [`SparseIndex::write_pending`] or [`SparseIndex::flush`],
/// which the segment calls at roll, flush, close and recovery, never per append: the
/// file only has to be complete where a restart trusts it (segments below the recovery
/// point, and all of them after a clean shutdown), as with Kafka's mmapped indexes.
#[derive(Debug)]
pub(crate) struct SparseIndex<E> {
    path: PathBuf,
    base_offset: i64,
    entries: Vec<E>,
    /// Entries already in the file.
    written: usize,
    max_entries: usize,
}

impl<E: IndexEntry> SparseIndex<E> {
    /// A new empty index, replacing any file at `path`.
    pub(crate) fn create(
        path: PathBuf,
        base_offset: i64,
        max_entries: usize,
    ) -> Result<SparseIndex<E>, LogError> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| LogError::io(&path, e))?;
        Ok(SparseIndex {
            path,
            base_offset,
            entries: Vec::new(),
            written: 0,
            max_entries,
        })
    }

    /// Loads an index file through `parse`, `Ok(None)` when it is missing or `parse`
    /// rejects it.
    fn load_with(
        path: &Path,
        base_offset: i64,
        max_entries: usize,
        parse: impl FnOnce(&[u8]) -> Result<Vec<E>, String>,
    ) -> Result<Option<SparseIndex<E>>, LogError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LogError::io(path, e)),
        };
        match parse(&bytes) {
            Ok(entries) => Ok(Some(SparseIndex {
                path: path.to_path_buf(),
                base_offset,
                written: entries.len(),
                entries,
                max_entries,
            })),
            Err(reason) => {
                tracing::warn!(path = %path.display(), reason, "corrupt index, rebuilding");
                Ok(None)
            }
        }
    }

    /// Appends the entries pushed since the last call to the file.
    pub(crate) fn write_pending(&mut self) -> Result<(), LogError> {
        self.write(false).map(drop)
    }

    /// Writes the pending entries and fsyncs the file.
    pub(crate) fn flush(&mut self) -> Result<(), LogError> {
        self.write(true).map(drop)
    }

    /// Writes the pending entries and returns a handle to fsync the file without holding
    /// the log.
    pub(crate) fn file_to_sync(&mut self) -> Result<File, LogError> {
        self.write_pending()?;
        File::open(&self.path).map_err(|e| LogError::io(&self.path, e))
    }

    /// Writes the pending entries, then fsyncs when `sync`: one open for both, none when
    /// there is nothing to do.
    fn write(&mut self, sync: bool) -> Result<(), LogError> {
        if self.written == self.entries.len() && !sync {
            return Ok(());
        }
        let io = |e| LogError::io(&self.path, e);
        let file = OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(io)?;
        if self.written < self.entries.len() {
            let pending = &self.entries[self.written..];
            let mut bytes = Vec::with_capacity(pending.len() * E::BYTES as usize);
            for entry in pending {
                entry.put(&mut bytes);
            }
            file.write_all_at(&bytes, self.written as u64 * E::BYTES)
                .map_err(io)?;
            self.written = self.entries.len();
        }
        if sync {
            file.sync_data().map_err(io)?;
        }
        Ok(())
    }

    pub(crate) fn is_full(&self) -> bool {
        self.entries.len() >= self.max_entries
    }

    pub(crate) fn set_max_entries(&mut self, max_entries: usize) {
        self.max_entries = max_entries;
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file.
    pub(crate) fn rename_to(&mut self, path: PathBuf) -> Result<(), LogError> {
        std::fs::rename(&self.path, &path).map_err(|e| LogError::io(&self.path, e))?;
        self.path = path;
        Ok(())
    }

    /// Bytes the entries take on disk.
    pub(crate) fn size_bytes(&self) -> u64 {
        self.entries.len() as u64 * E::BYTES
    }

    /// `offset` relative to the base, checked to fit an entry.
    fn relative(&self, offset: i64) -> u32 {
        let relative = offset - self.base_offset;
        assert!(
            (0..=i64::from(i32::MAX)).contains(&relative),
            "offset {offset} outside segment at {}",
            self.base_offset
        );
        relative as u32
    }
}

impl OffsetIndex {
    /// Loads an index file, `Ok(None)` when it is missing or fails the sanity checks
    /// (size not a multiple of 8, entries not increasing, positions at or past `log_size`).
    pub(crate) fn load(
        path: &Path,
        base_offset: i64,
        max_entries: usize,
        log_size: u64,
    ) -> Result<Option<OffsetIndex>, LogError> {
        SparseIndex::load_with(path, base_offset, max_entries, |bytes| {
            parse_offset_entries(bytes, log_size)
        })
    }

    /// Adds an entry in memory.
    pub(crate) fn push(&mut self, offset: i64, position: u64) {
        assert!(
            position <= u64::from(u32::MAX),
            "position {position} too large"
        );
        let entry = OffsetEntry {
            relative_offset: self.relative(offset),
            position: position as u32,
        };
        if let Some(last) = self.entries.last() {
            assert!(
                entry.relative_offset > last.relative_offset && entry.position > last.position,
                "offset index entries must increase: {last:?} then {entry:?}"
            );
        }
        self.entries.push(entry);
    }

    /// The entry with the largest offset ≤ `target`, as (offset, position); (base, 0) when
    /// there is none.
    pub(crate) fn lookup(&self, target: i64) -> (i64, u64) {
        let index = self
            .entries
            .partition_point(|e| self.base_offset + i64::from(e.relative_offset) <= target);
        match index.checked_sub(1).map(|i| self.entries[i]) {
            Some(entry) => (
                self.base_offset + i64::from(entry.relative_offset),
                u64::from(entry.position),
            ),
            None => (self.base_offset, 0),
        }
    }

    /// The last entry, as (offset, position).
    pub(crate) fn last(&self) -> Option<(i64, u64)> {
        self.entries.last().map(|e| {
            (
                self.base_offset + i64::from(e.relative_offset),
                u64::from(e.position),
            )
        })
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[OffsetEntry] {
        &self.entries
    }
}

fn parse_offset_entries(bytes: &[u8], log_size: u64) -> Result<Vec<OffsetEntry>, String> {
    if !bytes
        .chunks_exact(OFFSET_ENTRY_BYTES as usize)
        .remainder()
        .is_empty()
    {
        return Err(format!(
            "size {} is not a multiple of {OFFSET_ENTRY_BYTES}",
            bytes.len()
        ));
    }
    let mut entries: Vec<OffsetEntry> = Vec::with_capacity(bytes.len() / 8);
    for chunk in bytes.chunks_exact(OFFSET_ENTRY_BYTES as usize) {
        let entry = OffsetEntry {
            relative_offset: be_u32(&chunk[0..4]),
            position: be_u32(&chunk[4..8]),
        };
        if entry.relative_offset > i32::MAX as u32 {
            return Err(format!(
                "relative offset {} too large",
                entry.relative_offset
            ));
        }
        if u64::from(entry.position) >= log_size {
            return Err(format!(
                "position {} at or past the log end {log_size}",
                entry.position
            ));
        }
        if let Some(last) = entries.last() {
            if entry.relative_offset <= last.relative_offset || entry.position <= last.position {
                return Err(format!("entries do not increase: {last:?} then {entry:?}"));
            }
        }
        entries.push(entry);
    }
    Ok(entries)
}

impl TimeIndex {
    /// Loads an index file, `Ok(None)` when it is missing or fails the sanity checks (size
    /// not a multiple of 12, timestamps not increasing, offsets decreasing).
    pub(crate) fn load(
        path: &Path,
        base_offset: i64,
        max_entries: usize,
    ) -> Result<Option<TimeIndex>, LogError> {
        SparseIndex::load_with(path, base_offset, max_entries, parse_time_entries)
    }

    /// Adds an entry in memory when `timestamp` is larger than the last one's.
    pub(crate) fn maybe_push(&mut self, timestamp: i64, offset: i64) {
        let relative = self.relative(offset);
        if let Some(last) = self.entries.last() {
            if timestamp <= last.timestamp {
                return;
            }
            assert!(
                relative >= last.relative_offset,
                "time index offsets must not decrease: {last:?} then {relative}"
            );
        }
        self.entries.push(TimeEntry {
            timestamp,
            relative_offset: relative,
        });
    }

    /// The entry with the largest timestamp ≤ `timestamp`, as (timestamp, offset).
    pub(crate) fn lookup(&self, timestamp: i64) -> Option<(i64, i64)> {
        let index = self.entries.partition_point(|e| e.timestamp <= timestamp);
        index.checked_sub(1).map(|i| self.entry_at(i))
    }

    fn entry_at(&self, i: usize) -> (i64, i64) {
        let entry = self.entries[i];
        (
            entry.timestamp,
            self.base_offset + i64::from(entry.relative_offset),
        )
    }

    /// The last entry, as (timestamp, offset).
    pub(crate) fn last(&self) -> Option<(i64, i64)> {
        self.entries.len().checked_sub(1).map(|i| self.entry_at(i))
    }
}

fn parse_time_entries(bytes: &[u8]) -> Result<Vec<TimeEntry>, String> {
    if !bytes
        .chunks_exact(TIME_ENTRY_BYTES as usize)
        .remainder()
        .is_empty()
    {
        return Err(format!(
            "size {} is not a multiple of {TIME_ENTRY_BYTES}",
            bytes.len()
        ));
    }
    let mut entries: Vec<TimeEntry> = Vec::with_capacity(bytes.len() / 12);
    for chunk in bytes.chunks_exact(TIME_ENTRY_BYTES as usize) {
        let entry = TimeEntry {
            timestamp: be_i64(&chunk[0..8]),
            relative_offset: be_u32(&chunk[8..12]),
        };
        if entry.relative_offset > i32::MAX as u32 {
            return Err(format!(
                "relative offset {} too large",
                entry.relative_offset
            ));
        }
        if let Some(last) = entries.last() {
            if entry.timestamp <= last.timestamp || entry.relative_offset < last.relative_offset {
                return Err(format!("entries do not increase: {last:?} then {entry:?}"));
            }
        }
        entries.push(entry);
    }
    Ok(entries)
}

fn be_u32(bytes: &[u8]) -> u32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[..4]);
    u32::from_be_bytes(raw)
}

fn be_i64(bytes: &[u8]) -> i64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[..8]);
    i64::from_be_bytes(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_index_looks_up_the_floor_entry_and_survives_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000100.index");
        let mut index = OffsetIndex::create(path.clone(), 100, 10).unwrap();
        index.push(105, 4_000);
        index.push(120, 9_000);
        index.write_pending().unwrap();
        assert_eq!(index.lookup(99), (100, 0));
        assert_eq!(index.lookup(104), (100, 0));
        assert_eq!(index.lookup(105), (105, 4_000));
        assert_eq!(index.lookup(119), (105, 4_000));
        assert_eq!(index.lookup(500), (120, 9_000));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16);

        let reloaded = OffsetIndex::load(&path, 100, 10, 10_000).unwrap().unwrap();
        assert_eq!(reloaded.entries(), index.entries());
        // A log shorter than an indexed position means the index is stale.
        assert!(OffsetIndex::load(&path, 100, 10, 9_000).unwrap().is_none());
    }

    #[test]
    fn offset_index_with_torn_or_unordered_entries_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        std::fs::write(&path, [0u8; 12]).unwrap();
        assert!(OffsetIndex::load(&path, 0, 10, 1_000).unwrap().is_none());
        let mut unordered = Vec::new();
        for (offset, position) in [(5u32, 100u32), (3, 200)] {
            unordered.extend_from_slice(&offset.to_be_bytes());
            unordered.extend_from_slice(&position.to_be_bytes());
        }
        std::fs::write(&path, &unordered).unwrap();
        assert!(OffsetIndex::load(&path, 0, 10, 1_000).unwrap().is_none());
        assert!(
            OffsetIndex::load(&dir.path().join("missing.index"), 0, 10, 1_000)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn time_index_keeps_only_increasing_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        let mut index = TimeIndex::create(path.clone(), 0, 2).unwrap();
        index.maybe_push(1_000, 4);
        index.maybe_push(1_000, 6);
        index.maybe_push(900, 7);
        index.maybe_push(2_000, 9);
        index.write_pending().unwrap();
        assert!(index.is_full());
        assert_eq!(index.lookup(999), None);
        assert_eq!(index.lookup(1_500), Some((1_000, 4)));
        assert_eq!(index.lookup(2_000), Some((2_000, 9)));
        assert_eq!(index.last(), Some((2_000, 9)));
        let reloaded = TimeIndex::load(&path, 0, 2).unwrap().unwrap();
        assert_eq!(reloaded.last(), Some((2_000, 9)));
        std::fs::write(&path, [1u8; 13]).unwrap();
        assert!(TimeIndex::load(&path, 0, 2).unwrap().is_none());
    }
}
