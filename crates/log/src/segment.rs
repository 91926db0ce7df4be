//! One segment of a partition's log: a `.log` file of batches and its two indexes, with
//! loading, recovery (scan, CRC check, truncate torn tails) and batch-header scans.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rafka_protocol::batch::{Batch, BatchError, BatchHeader, HEADER_SIZE_BYTES, NO_TIMESTAMP};

use crate::config::LogConfig;
use crate::error::LogError;
use crate::index::{OffsetIndex, TimeIndex, OFFSET_ENTRY_BYTES, TIME_ENTRY_BYTES};

pub(crate) const LOG_SUFFIX: &str = "log";
pub(crate) const INDEX_SUFFIX: &str = "index";
pub(crate) const TIME_INDEX_SUFFIX: &str = "timeindex";

/// Bytes read at a time when walking batch headers: several small batches' headers per
/// read, and little waste when batches are large.
const SCAN_WINDOW_BYTES: u64 = 8 * 1024;

/// `<20-digit zero-padded base offset>.<suffix>`, as Kafka names segment files.
pub(crate) fn segment_file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}.{suffix}")
}

/// Parses a segment file name back into (base offset, suffix).
pub(crate) fn parse_segment_file_name(name: &str) -> Option<(i64, &str)> {
    let (stem, suffix) = name.split_once('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, suffix))
}

/// One batch of an append, validated and carrying its final offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AppendedBatch {
    /// Position in the appended buffer.
    pub(crate) start: usize,
    pub(crate) size: usize,
    pub(crate) base_offset: i64,
    pub(crate) last_offset: i64,
    pub(crate) max_timestamp: i64,
}

/// How to treat a segment's files when opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoadMode {
    /// Clean shutdown: trust the `.log`, sanity-check the indexes, scan only the tail
    /// after the last index entry. Falls back to `Recover` when anything is off.
    Trust,
    /// Unclean shutdown: scan every batch (length, magic, CRC-32C, offsets), truncate at
    /// the first bad one, rebuild both indexes.
    Recover,
}

fn offset_index_max_entries(config: &LogConfig) -> usize {
    ((config.segment_index_bytes / OFFSET_ENTRY_BYTES) as usize).max(1)
}

fn time_index_max_entries(config: &LogConfig) -> usize {
    ((config.segment_index_bytes / TIME_ENTRY_BYTES) as usize).max(1)
}

/// A contiguous part of one partition's log, Kafka's `LogSegment`.
///
/// On disk, in the partition directory:
/// - `<base>.log`: complete v2 record batches back to back, exactly as appended (base
///   offsets already assigned); no header, no padding.
/// - `<base>.index`: [`OffsetIndex`], an entry per `index.interval.bytes` of batches.
/// - `<base>.timeindex`: [`TimeIndex`].
///
/// Invariant: bytes `0..size_bytes` of the `.log` are whole batches whose offsets
/// increase, all in `base_offset..=base_offset + i32::MAX`; `next_offset` is the last
/// batch's last offset + 1, or `base_offset` when empty.
/// Invariant: only bytes past `size_bytes` are ever written, except by truncation and
/// recovery; readers holding a [`FileSlice`](crate::FileSlice) rely on that.
#[derive(Debug)]
pub(crate) struct LogSegment {
    base_offset: i64,
    log_path: PathBuf,
    file: Arc<File>,
    size_bytes: u64,
    next_offset: i64,
    offset_index: OffsetIndex,
    time_index: TimeIndex,
    /// Log bytes since the batch the last offset-index entry points at (Kafka's
    /// `bytesSinceLastIndexEntry`).
    bytes_since_last_index_entry: u64,
    /// Largest batch `maxTimestamp` in the segment, `NO_TIMESTAMP` when none.
    max_timestamp: i64,
    /// Last offset of the first batch that carried `max_timestamp`.
    offset_of_max_timestamp: i64,
    /// The first batch's `maxTimestamp`: `segment.ms` counts from it (Kafka's
    /// `rollingBasedTimestamp`), from `created_ms` when it is absent or negative.
    rolling_based_timestamp: Option<i64>,
    created_ms: i64,
    /// Clock time of the last append (file mtime for loaded segments); retention uses it
    /// when no batch carries a timestamp.
    last_modified_ms: i64,
}

impl LogSegment {
    /// Creates an empty segment; fails if its `.log` already exists.
    pub(crate) fn create(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        now_ms: i64,
    ) -> Result<LogSegment, LogError> {
        LogSegment::create_with_suffix(dir, base_offset, config, now_ms, "")
    }

    /// Creates an empty segment whose three files carry `file_suffix` after their usual
    /// names (`.cleaned` for a cleaner's output); fails if its `.log` already exists.
    pub(crate) fn create_with_suffix(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        now_ms: i64,
        file_suffix: &str,
    ) -> Result<LogSegment, LogError> {
        let name = |suffix: &str| segment_file_name(base_offset, suffix) + file_suffix;
        let log_path = dir.join(name(LOG_SUFFIX));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&log_path)
            .map_err(|e| LogError::io(&log_path, e))?;
        let offset_index = OffsetIndex::create(
            dir.join(name(INDEX_SUFFIX)),
            base_offset,
            offset_index_max_entries(config),
        )?;
        let time_index = TimeIndex::create(
            dir.join(name(TIME_INDEX_SUFFIX)),
            base_offset,
            time_index_max_entries(config),
        )?;
        Ok(LogSegment {
            base_offset,
            log_path,
            file: Arc::new(file),
            size_bytes: 0,
            next_offset: base_offset,
            offset_index,
            time_index,
            bytes_since_last_index_entry: 0,
            max_timestamp: NO_TIMESTAMP,
            offset_of_max_timestamp: base_offset,
            rolling_based_timestamp: None,
            created_ms: now_ms,
            last_modified_ms: now_ms,
        })
    }

    /// Opens an existing segment. Returns the segment and how many torn or corrupt bytes
    /// recovery cut from the end of its `.log` (0 when none).
    pub(crate) fn open(
        dir: &Path,
        base_offset: i64,
        config: &LogConfig,
        now_ms: i64,
        mode: LoadMode,
    ) -> Result<(LogSegment, u64), LogError> {
        let log_path = dir.join(segment_file_name(base_offset, LOG_SUFFIX));
        let index_path = dir.join(segment_file_name(base_offset, INDEX_SUFFIX));
        let time_index_path = dir.join(segment_file_name(base_offset, TIME_INDEX_SUFFIX));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(|e| LogError::io(&log_path, e))?;
        let metadata = file.metadata().map_err(|e| LogError::io(&log_path, e))?;
        let size_bytes = metadata.len();
        let last_modified_ms = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(now_ms, |d| d.as_millis() as i64);

        let loaded = if mode == LoadMode::Trust {
            let offset_index = OffsetIndex::load(
                &index_path,
                base_offset,
                offset_index_max_entries(config),
                size_bytes,
            )?;
            let time_index = TimeIndex::load(
                &time_index_path,
                base_offset,
                time_index_max_entries(config),
            )?;
            offset_index.zip(time_index)
        } else {
            None
        };
        let (offset_index, time_index, trusted) = match loaded {
            Some((offset_index, time_index)) => (offset_index, time_index, true),
            None => (
                OffsetIndex::create(index_path, base_offset, offset_index_max_entries(config))?,
                TimeIndex::create(time_index_path, base_offset, time_index_max_entries(config))?,
                false,
            ),
        };
        let mut segment = LogSegment {
            base_offset,
            log_path,
            file: Arc::new(file),
            size_bytes,
            next_offset: base_offset,
            offset_index,
            time_index,
            bytes_since_last_index_entry: 0,
            max_timestamp: NO_TIMESTAMP,
            offset_of_max_timestamp: base_offset,
            rolling_based_timestamp: None,
            created_ms: now_ms,
            last_modified_ms,
        };
        if trusted {
            match segment.restore_from_indexes() {
                Ok(()) => return Ok((segment, 0)),
                Err(LogError::CorruptSegment {
                    path,
                    position,
                    source,
                }) => {
                    tracing::warn!(
                        path = %path.display(), position, error = %source,
                        "segment disagrees with its indexes after a clean shutdown; recovering it"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        let truncated = segment.recover(config)?;
        Ok((segment, truncated))
    }

    /// Completes the in-memory state from the (sanity-checked) indexes and the batches
    /// after the last offset-index entry. `CorruptSegment` when the `.log` disagrees.
    fn restore_from_indexes(&mut self) -> Result<(), LogError> {
        let (start, expected_last_offset) = match self.offset_index.last() {
            Some((offset, position)) => (position, Some(offset)),
            None => (0, None),
        };
        let mut max_timestamp = NO_TIMESTAMP;
        let mut offset_of_max_timestamp = self.base_offset;
        if let Some((timestamp, offset)) = self.time_index.last() {
            max_timestamp = timestamp;
            offset_of_max_timestamp = offset;
        }
        let mut next_offset = self.base_offset;
        let mut scanner = self.scanner(start);
        let mut first = true;
        while let Some((position, header)) = scanner.next_header()? {
            let corrupt = |reason: String| LogError::CorruptSegment {
                path: self.log_path.clone(),
                position,
                source: BatchError::InvalidRecords(reason),
            };
            if first {
                if let Some(expected) = expected_last_offset {
                    if header.last_offset() != expected {
                        return Err(corrupt(format!(
                            "offset index says last offset {expected}, batch says {}",
                            header.last_offset()
                        )));
                    }
                }
                first = false;
            } else if header.base_offset() < next_offset {
                return Err(corrupt(format!(
                    "base offset {} below the previous batch's next offset {next_offset}",
                    header.base_offset()
                )));
            }
            check_offsets_fit(self.base_offset, &header).map_err(corrupt)?;
            if header.max_timestamp() > max_timestamp {
                max_timestamp = header.max_timestamp();
                offset_of_max_timestamp = header.last_offset();
            }
            next_offset = header.next_offset();
        }
        if let Some((_, offset)) = self.time_index.last() {
            if offset >= next_offset {
                return Err(LogError::CorruptSegment {
                    path: self.log_path.clone(),
                    position: self.size_bytes,
                    source: BatchError::InvalidRecords(format!(
                        "time index points at offset {offset} past the segment's end {next_offset}"
                    )),
                });
            }
        }
        self.next_offset = next_offset;
        self.max_timestamp = max_timestamp;
        self.offset_of_max_timestamp = offset_of_max_timestamp;
        self.bytes_since_last_index_entry = self.size_bytes - start;
        self.rolling_based_timestamp = self.first_batch_max_timestamp()?;
        Ok(())
    }

    fn first_batch_max_timestamp(&self) -> Result<Option<i64>, LogError> {
        Ok(self
            .scanner(0)
            .next_header()?
            .map(|(_, header)| header.max_timestamp()))
    }

    /// Scans every batch from position 0, checking length, magic, CRC-32C and offsets;
    /// truncates the `.log` at the first batch that fails and rebuilds both indexes.
    /// Returns the number of bytes cut.
    pub(crate) fn recover(&mut self, config: &LogConfig) -> Result<u64, LogError> {
        let dir = self
            .log_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        self.offset_index = OffsetIndex::create(
            dir.join(segment_file_name(self.base_offset, INDEX_SUFFIX)),
            self.base_offset,
            offset_index_max_entries(config),
        )?;
        self.time_index = TimeIndex::create(
            dir.join(segment_file_name(self.base_offset, TIME_INDEX_SUFFIX)),
            self.base_offset,
            time_index_max_entries(config),
        )?;
        let file_size = self
            .file
            .metadata()
            .map_err(|e| LogError::io(&self.log_path, e))?
            .len();
        self.size_bytes = 0;
        self.next_offset = self.base_offset;
        self.max_timestamp = NO_TIMESTAMP;
        self.offset_of_max_timestamp = self.base_offset;
        self.bytes_since_last_index_entry = 0;
        self.rolling_based_timestamp = None;

        let mut position = 0u64;
        let mut batch_bytes = Vec::new();
        let mut failure: Option<String> = None;
        while position < file_size {
            let header_len = (file_size - position).min(HEADER_SIZE_BYTES as u64) as usize;
            let mut header_bytes = [0u8; HEADER_SIZE_BYTES];
            self.file
                .read_exact_at(&mut header_bytes[..header_len], position)
                .map_err(|e| LogError::io(&self.log_path, e))?;
            let header = match BatchHeader::parse(&header_bytes[..header_len]) {
                Ok(header) => header,
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            };
            let size = header.size_bytes() as u64;
            if position + size > file_size {
                failure = Some(
                    BatchError::Incomplete {
                        need: size as usize,
                        have: (file_size - position) as usize,
                    }
                    .to_string(),
                );
                break;
            }
            batch_bytes.resize(size as usize, 0);
            self.file
                .read_exact_at(&mut batch_bytes, position)
                .map_err(|e| LogError::io(&self.log_path, e))?;
            let verified = Batch::new(&batch_bytes)
                .and_then(|batch| batch.verify_crc())
                .map_err(|e| e.to_string())
                .and_then(|()| check_offsets_fit(self.base_offset, &header))
                .and_then(|()| {
                    if header.base_offset() < self.next_offset {
                        Err(format!(
                            "base offset {} below the previous batch's next offset {}",
                            header.base_offset(),
                            self.next_offset
                        ))
                    } else {
                        Ok(())
                    }
                });
            if let Err(reason) = verified {
                failure = Some(reason);
                break;
            }
            if self.rolling_based_timestamp.is_none() {
                self.rolling_based_timestamp = Some(header.max_timestamp());
            }
            self.index_batch(
                position,
                size,
                header.last_offset(),
                header.max_timestamp(),
                config.index_interval_bytes,
            );
            self.next_offset = header.next_offset();
            position += size;
            self.size_bytes = position;
        }
        let truncated = file_size - position;
        if let Some(reason) = failure {
            tracing::warn!(
                path = %self.log_path.display(), position, truncated_bytes = truncated, reason,
                "truncating torn or corrupt batches at the end of the segment"
            );
            self.file
                .set_len(position)
                .map_err(|e| LogError::io(&self.log_path, e))?;
        }
        self.offset_index.write_pending()?;
        self.time_index.write_pending()?;
        Ok(truncated)
    }

    /// Kafka's per-batch index maintenance in `LogSegment.append`: an offset-index entry
    /// (the batch's last offset → its position) once more than `index_interval_bytes`
    /// were appended since the last one, with a time-index entry for the max so far.
    fn index_batch(
        &mut self,
        position: u64,
        size: u64,
        last_offset: i64,
        max_timestamp: i64,
        index_interval_bytes: u64,
    ) {
        if max_timestamp > self.max_timestamp {
            self.max_timestamp = max_timestamp;
            self.offset_of_max_timestamp = last_offset;
        }
        if self.bytes_since_last_index_entry > index_interval_bytes {
            self.offset_index.push(last_offset, position);
            self.time_index
                .maybe_push(self.max_timestamp, self.offset_of_max_timestamp);
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += size;
    }

    /// Appends validated batches (offsets assigned) at the end of the `.log`.
    pub(crate) fn append(
        &mut self,
        records: &[u8],
        batches: &[AppendedBatch],
        index_interval_bytes: u64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        self.append_parts(&[records], batches, index_interval_bytes, now_ms)
    }

    /// Appends the concatenation of `parts` (one gathered write: the leader's patched
    /// batch headers and the client's untouched record bytes, never copied together).
    pub(crate) fn append_parts(
        &mut self,
        parts: &[&[u8]],
        batches: &[AppendedBatch],
        index_interval_bytes: u64,
        now_ms: i64,
    ) -> Result<(), LogError> {
        let (Some(first), Some(last)) = (batches.first(), batches.last()) else {
            return Ok(());
        };
        assert!(
            first.base_offset >= self.next_offset,
            "append at {} below segment end {}",
            first.base_offset,
            self.next_offset
        );
        assert!(last.last_offset - self.base_offset <= i64::from(i32::MAX));
        let position = self.size_bytes;
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if let Err(e) = write_all_vectored_at(&self.file, parts, position) {
            // Best effort: do not leave a partial batch where the next append would land.
            let _ = self.file.set_len(position);
            return Err(LogError::io(&self.log_path, e));
        }
        if self.size_bytes == 0 {
            self.rolling_based_timestamp = Some(first.max_timestamp);
        }
        for batch in batches {
            self.index_batch(
                position + batch.start as u64,
                batch.size as u64,
                batch.last_offset,
                batch.max_timestamp,
                index_interval_bytes,
            );
        }
        self.size_bytes += len as u64;
        self.next_offset = last.last_offset + 1;
        self.last_modified_ms = now_ms;
        // The new index entries stay in memory until the next roll, flush or close: no
        // index I/O on the append path (see `IndexFile`).
        Ok(())
    }

    /// Kafka's `LogSegment.shouldRoll`: roll before this append when it would overflow the
    /// segment, when the segment is older than `segment.ms`, when an index is full, or
    /// when the offsets would not fit the 32-bit relative offsets of the indexes.
    /// `max_timestamp` is the appended batches' largest timestamp.
    pub(crate) fn should_roll(
        &self,
        config: &LogConfig,
        append_size_bytes: u64,
        now_ms: i64,
        max_timestamp: i64,
        last_offset: i64,
    ) -> bool {
        let non_empty = self.size_bytes > 0;
        let too_big = self.size_bytes + append_size_bytes > config.segment_bytes_max();
        let too_old = self.time_waited_for_roll_ms(now_ms, max_timestamp) > config.segment_ms;
        (non_empty && (too_big || too_old))
            || self.offset_index.is_full()
            || self.time_index.is_full()
            || last_offset - self.base_offset > i64::from(i32::MAX)
    }

    /// Kafka's `timeWaitedForRoll` (KIP-33): by record time when the segment's first batch
    /// has a timestamp — `message_timestamp` (the appended batches' largest) minus that
    /// one, so a replay of old records does not roll at every append and a batch stamped
    /// far after the first one does — and by the clock since the segment's creation
    /// otherwise.
    pub(crate) fn time_waited_for_roll_ms(&self, now_ms: i64, message_timestamp: i64) -> i64 {
        match self.rolling_based_timestamp {
            Some(timestamp) if timestamp >= 0 => message_timestamp.saturating_sub(timestamp),
            _ => now_ms.saturating_sub(self.created_ms),
        }
    }

    /// Called when a newer segment becomes active: records the final max timestamp in the
    /// time index (Kafka's `onBecomeInactiveSegment`) and writes both indexes' pending
    /// entries, so that a reload finds them there.
    pub(crate) fn on_become_inactive(&mut self) -> Result<(), LogError> {
        if self.max_timestamp != NO_TIMESTAMP {
            self.time_index
                .maybe_push(self.max_timestamp, self.offset_of_max_timestamp);
        }
        self.offset_index.write_pending()?;
        self.time_index.write_pending()
    }

    /// Drops every batch holding an offset ≥ `offset` (whole batches: a batch containing
    /// `offset` goes too). Returns the bytes removed.
    pub(crate) fn truncate_to(&mut self, offset: i64, config: &LogConfig) -> Result<u64, LogError> {
        let mut cut_at = None;
        let mut scanner = self.scanner_for(offset);
        while let Some((position, header)) = scanner.next_header()? {
            if header.last_offset() >= offset {
                cut_at = Some(position);
                break;
            }
        }
        let Some(position) = cut_at else {
            return Ok(0);
        };
        let removed = self.size_bytes - position;
        self.file
            .set_len(position)
            .map_err(|e| LogError::io(&self.log_path, e))?;
        // Truncation is rare (replication): rebuild the indexes rather than cut them.
        self.recover(config)?;
        Ok(removed)
    }

    /// Walks batch headers from `position` (a batch start) to the end of the segment.
    pub(crate) fn scanner(&self, position: u64) -> HeaderScanner<'_> {
        HeaderScanner {
            file: &self.file,
            path: &self.log_path,
            position,
            end: self.size_bytes,
            window: Vec::new(),
            window_start: 0,
            expected_last_offset: None,
        }
    }

    /// Walks batch headers from the offset-index entry for `offset`, so that the batch
    /// holding `offset` (if in this segment) is among the first few yielded. The entry is
    /// checked against the batch found at its position; a wrong entry (which the load-time
    /// checks cannot all catch) costs a scan from position 0, never a wrong answer.
    pub(crate) fn scanner_for(&self, offset: i64) -> HeaderScanner<'_> {
        let (entry_offset, position) = self.offset_index.lookup(offset);
        let mut scanner = self.scanner(position);
        if position > 0 {
            scanner.expected_last_offset = Some(entry_offset);
        }
        scanner
    }

    /// The first batch whose last offset is ≥ `offset`, as (position, header).
    #[cfg(test)]
    pub(crate) fn find_batch(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>, LogError> {
        let mut scanner = self.scanner_for(offset);
        while let Some((position, header)) = scanner.next_header()? {
            if header.last_offset() >= offset {
                return Ok(Some((position, header)));
            }
        }
        Ok(None)
    }

    /// Reads one whole batch.
    pub(crate) fn read_batch(&self, position: u64, size: usize) -> Result<Vec<u8>, LogError> {
        let mut bytes = vec![0u8; size];
        self.file
            .read_exact_at(&mut bytes, position)
            .map_err(|e| LogError::io(&self.log_path, e))?;
        Ok(bytes)
    }

    fn record_timestamps(
        &self,
        position: u64,
        header: &BatchHeader,
    ) -> Result<Vec<rafka_protocol::batch::RecordTimestamp>, LogError> {
        let bytes = self.read_batch(position, header.size_bytes())?;
        Batch::new(&bytes)
            .and_then(|batch| batch.record_timestamps())
            .map_err(|source| LogError::CorruptSegment {
                path: self.log_path.clone(),
                position,
                source,
            })
    }

    /// Kafka's `LogSegment.findOffsetByTimestamp`: the first record at or after
    /// `starting_offset` whose timestamp is ≥ `timestamp`, as (offset, timestamp).
    pub(crate) fn find_offset_by_timestamp(
        &self,
        timestamp: i64,
        starting_offset: i64,
    ) -> Result<Option<(i64, i64)>, LogError> {
        if self.max_timestamp < timestamp {
            return Ok(None);
        }
        // No record before the indexed offset's batch reaches `timestamp` (see TimeIndex).
        let indexed_offset = self
            .time_index
            .lookup(timestamp)
            .map_or(self.base_offset, |(_, offset)| offset);
        let mut scanner = self.scanner_for(indexed_offset.max(starting_offset));
        while let Some((position, header)) = scanner.next_header()? {
            if header.last_offset() < starting_offset || header.max_timestamp() < timestamp {
                continue;
            }
            for record in self.record_timestamps(position, &header)? {
                if record.timestamp_ms >= timestamp && record.offset >= starting_offset {
                    return Ok(Some((record.offset, record.timestamp_ms)));
                }
            }
        }
        Ok(None)
    }

    /// The first record carrying the segment's largest timestamp, as (offset, timestamp).
    pub(crate) fn find_max_timestamp_record(&self) -> Result<Option<(i64, i64)>, LogError> {
        if self.max_timestamp == NO_TIMESTAMP {
            return Ok(None);
        }
        let mut scanner = self.scanner_for(self.offset_of_max_timestamp);
        while let Some((position, header)) = scanner.next_header()? {
            if header.max_timestamp() != self.max_timestamp {
                continue;
            }
            let found = self
                .record_timestamps(position, &header)?
                .into_iter()
                .find(|r| r.timestamp_ms == self.max_timestamp)
                .map(|r| (r.offset, r.timestamp_ms));
            // A batch whose header claims a max no record has: report the batch.
            return Ok(found.or(Some((header.last_offset(), self.max_timestamp))));
        }
        Ok(None)
    }

    pub(crate) fn set_max_index_entries(&mut self, config: &LogConfig) {
        self.offset_index
            .set_max_entries(offset_index_max_entries(config));
        self.time_index
            .set_max_entries(time_index_max_entries(config));
    }

    /// Handles on the `.log` and both indexes (their pending entries written first), to
    /// fsync them without holding the log.
    pub(crate) fn files_to_sync(&mut self) -> Result<Vec<std::fs::File>, LogError> {
        Ok(vec![
            self.file
                .try_clone()
                .map_err(|e| LogError::io(&self.log_path, e))?,
            self.offset_index.file_to_sync()?,
            self.time_index.file_to_sync()?,
        ])
    }

    /// fsyncs the `.log` and both indexes (writing their pending entries first).
    pub(crate) fn flush(&mut self) -> Result<(), LogError> {
        self.file
            .sync_data()
            .map_err(|e| LogError::io(&self.log_path, e))?;
        self.offset_index.flush()?;
        self.time_index.flush()
    }

    /// Renames the segment's files from `<name><from>` to `<name><to>` (suffixes such as
    /// `.cleaned`, `.swap` or `""`): both indexes first, the `.log` last, so that a
    /// crash in between leaves the `.log` with the old suffix, which is what recovery
    /// keys on. Open handles, and [`FileSlice`](crate::FileSlice)s, keep working.
    pub(crate) fn change_file_suffix(&mut self, from: &str, to: &str) -> Result<(), LogError> {
        let dir = self
            .log_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let name = |suffix: &str, file_suffix: &str| {
            dir.join(segment_file_name(self.base_offset, suffix) + file_suffix)
        };
        assert_eq!(self.offset_index.path(), name(INDEX_SUFFIX, from));
        assert_eq!(self.log_path, name(LOG_SUFFIX, from));
        self.offset_index.rename_to(name(INDEX_SUFFIX, to))?;
        self.time_index.rename_to(name(TIME_INDEX_SUFFIX, to))?;
        let log_path = name(LOG_SUFFIX, to);
        std::fs::rename(&self.log_path, &log_path).map_err(|e| LogError::io(&self.log_path, e))?;
        self.log_path = log_path;
        Ok(())
    }

    /// Removes the segment's files. Open [`FileSlice`](crate::FileSlice)s stay readable.
    pub(crate) fn delete(self) -> Result<(), LogError> {
        self.delete_files()
    }

    /// Removes the segment's files but keeps the value (its open file stays readable).
    pub(crate) fn delete_files(&self) -> Result<(), LogError> {
        for path in [
            self.log_path.as_path(),
            self.offset_index.path(),
            self.time_index.path(),
        ] {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(path, e)),
            }
        }
        Ok(())
    }

    pub(crate) fn base_offset(&self) -> i64 {
        self.base_offset
    }

    pub(crate) fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset
    }

    pub(crate) fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// The timestamp retention compares with `retention.ms` (Kafka's `largestTimestamp`).
    pub(crate) fn largest_timestamp(&self) -> i64 {
        if self.max_timestamp >= 0 {
            self.max_timestamp
        } else {
            self.last_modified_ms
        }
    }

    /// The first batch's `maxTimestamp` when non-negative (Kafka's
    /// `getFirstBatchTimestamp`); `max.compaction.lag.ms` counts from it.
    pub(crate) fn first_batch_timestamp(&self) -> Option<i64> {
        self.rolling_based_timestamp.filter(|t| *t >= 0)
    }

    pub(crate) fn last_modified_ms(&self) -> i64 {
        self.last_modified_ms
    }

    /// Kafka gives a cleaned segment the last-modified time of the newest segment it
    /// replaces, so that time-based decisions do not restart with every clean. Setting
    /// the file's mtime (which a reload reads) is best effort.
    pub(crate) fn set_last_modified_ms(&mut self, last_modified_ms: i64) {
        self.last_modified_ms = last_modified_ms;
        if let Ok(ms) = u64::try_from(last_modified_ms) {
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
            if let Err(e) = self.file.set_modified(time) {
                tracing::debug!(path = %self.log_path.display(), error = %e, "could not set mtime");
            }
        }
    }

    /// Bytes of both indexes' entries, for grouping segments under `segment.index.bytes`.
    pub(crate) fn offset_index_size_bytes(&self) -> u64 {
        self.offset_index.size_bytes()
    }

    pub(crate) fn time_index_size_bytes(&self) -> u64 {
        self.time_index.size_bytes()
    }

    pub(crate) fn file(&self) -> &Arc<File> {
        &self.file
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    #[cfg(test)]
    pub(crate) fn offset_index(&self) -> &OffsetIndex {
        &self.offset_index
    }
}

/// The offset after the last whole batch of the segment file at `path` (`base_offset`
/// when it has none), reading batch headers up to the first incomplete or invalid one.
/// Recovery uses it to learn which offsets a `.swap` file covers.
pub(crate) fn scan_next_offset(path: &Path, base_offset: i64) -> Result<i64, LogError> {
    let file = File::open(path).map_err(|e| LogError::io(path, e))?;
    let end = file.metadata().map_err(|e| LogError::io(path, e))?.len();
    let mut scanner = HeaderScanner {
        file: &file,
        path,
        position: 0,
        end,
        window: Vec::new(),
        window_start: 0,
        expected_last_offset: None,
    };
    let mut next_offset = base_offset;
    loop {
        match scanner.next_header() {
            Ok(Some((_, header))) => next_offset = next_offset.max(header.next_offset()),
            Ok(None) | Err(LogError::CorruptSegment { .. }) => return Ok(next_offset),
            Err(e) => return Err(e),
        }
    }
}

/// Offsets of a batch must fit the segment's 32-bit relative offsets.
fn check_offsets_fit(segment_base_offset: i64, header: &BatchHeader) -> Result<(), String> {
    if header.base_offset() < segment_base_offset
        || header.last_offset_delta() < 0
        || header.last_offset() - segment_base_offset > i64::from(i32::MAX)
    {
        return Err(format!(
            "batch offsets {}..={} do not fit the segment at {segment_base_offset}",
            header.base_offset(),
            header.last_offset()
        ));
    }
    Ok(())
}

/// Walks the batch headers of a segment file in `position..end`, reading a window of
/// [`SCAN_WINDOW_BYTES`] at a time instead of one read per header.
#[derive(Debug)]
pub(crate) struct HeaderScanner<'s> {
    file: &'s File,
    path: &'s Path,
    position: u64,
    end: u64,
    window: Vec<u8>,
    window_start: u64,
    /// The last offset the first batch must have (it came from an index entry).
    expected_last_offset: Option<i64>,
}

impl HeaderScanner<'_> {
    /// The next batch as (position, header); `CorruptSegment` when the bytes there are not
    /// a whole batch within `end`.
    pub(crate) fn next_header(&mut self) -> Result<Option<(u64, BatchHeader)>, LogError> {
        let Some(expected) = self.expected_last_offset.take() else {
            return self.read_header();
        };
        let start = self.position;
        match self.read_header() {
            Ok(Some((position, header))) if header.last_offset() == expected => {
                Ok(Some((position, header)))
            }
            Err(e @ LogError::Io { .. }) => Err(e),
            found => {
                tracing::warn!(
                    path = %self.path.display(), position = start, expected_last_offset = expected,
                    found = ?found.map(|f| f.map(|(_, h)| h.last_offset())),
                    "offset index entry does not match the log; scanning from the segment start"
                );
                self.position = 0;
                self.read_header()
            }
        }
    }

    fn read_header(&mut self) -> Result<Option<(u64, BatchHeader)>, LogError> {
        if self.position >= self.end {
            return Ok(None);
        }
        let window_end = self.window_start + self.window.len() as u64;
        let in_window = self.position >= self.window_start
            && (self.position + HEADER_SIZE_BYTES as u64 <= window_end || window_end == self.end);
        if !in_window {
            let want = (self.end - self.position).min(SCAN_WINDOW_BYTES);
            self.window.resize(want as usize, 0);
            self.file
                .read_exact_at(&mut self.window, self.position)
                .map_err(|e| LogError::io(self.path, e))?;
            self.window_start = self.position;
        }
        let position = self.position;
        let corrupt = |source| LogError::CorruptSegment {
            path: self.path.to_path_buf(),
            position,
            source,
        };
        let from = (position - self.window_start) as usize;
        let header = BatchHeader::parse(&self.window[from..]).map_err(corrupt)?;
        let size = header.size_bytes() as u64;
        if position + size > self.end {
            return Err(corrupt(BatchError::Incomplete {
                need: size as usize,
                have: (self.end - position) as usize,
            }));
        }
        self.position += size;
        Ok(Some((position, header)))
    }
}

/// `pwritev` until every byte of `parts` is at `position` onwards.
fn write_all_vectored_at(file: &File, parts: &[&[u8]], mut position: u64) -> std::io::Result<()> {
    // Linux takes at most IOV_MAX (1024) slices per call.
    const IOV_MAX: usize = 1024;
    let mut slices: Vec<std::io::IoSlice<'_>> =
        parts.iter().map(|p| std::io::IoSlice::new(p)).collect();
    let mut bufs = &mut slices[..];
    // Drops leading empty slices, so that an empty write ends the loop at once.
    std::io::IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        let batch = &bufs[..bufs.len().min(IOV_MAX)];
        let written =
            nix::sys::uio::pwritev(file, batch, position as i64).map_err(std::io::Error::from)?;
        if written == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                "pwritev wrote nothing",
            ));
        }
        position += written as u64;
        std::io::IoSlice::advance_slices(&mut bufs, written);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafka_protocol::batch::BatchBuilder;

    fn batch(base_offset: i64, records: usize, timestamp: i64) -> Vec<u8> {
        let mut builder = BatchBuilder::new(base_offset);
        for i in 0..records {
            builder.append(timestamp, None, Some(&[i as u8; 50]), &[]);
        }
        builder.build().unwrap()
    }

    fn append(segment: &mut LogSegment, bytes: &[u8], interval: u64) {
        let header = BatchHeader::parse(bytes).unwrap();
        segment
            .append(
                bytes,
                &[AppendedBatch {
                    start: 0,
                    size: bytes.len(),
                    base_offset: header.base_offset(),
                    last_offset: header.last_offset(),
                    max_timestamp: header.max_timestamp(),
                }],
                interval,
                0,
            )
            .unwrap();
    }

    #[test]
    fn file_names_are_twenty_digit_base_offsets() {
        assert_eq!(
            segment_file_name(42, LOG_SUFFIX),
            "00000000000000000042.log"
        );
        assert_eq!(
            parse_segment_file_name("00000000000000000042.timeindex"),
            Some((42, "timeindex"))
        );
        assert_eq!(parse_segment_file_name("42.log"), None);
        assert_eq!(parse_segment_file_name("leader-epoch-checkpoint"), None);
    }

    #[test]
    fn index_gets_an_entry_per_interval_and_scans_find_every_batch() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig::default();
        let mut segment = LogSegment::create(dir.path(), 0, &config, 0).unwrap();
        let mut offset = 0;
        for _ in 0..20 {
            let bytes = batch(offset, 3, 1_000 + offset);
            append(&mut segment, &bytes, 300);
            offset += 3;
        }
        assert_eq!(segment.next_offset(), 60);
        let entries = segment.offset_index().entries().to_vec();
        assert!(entries.len() >= 5, "{entries:?}");
        for offset in 0..60 {
            let (position, header) = segment.find_batch(offset).unwrap().unwrap();
            assert_eq!(header.base_offset(), offset / 3 * 3);
            assert!(position < segment.size_bytes());
        }
        assert!(segment.find_batch(60).unwrap().is_none());

        // A clean reopen (after `Log::close`, which ends the active segment as a roll
        // would) trusts the indexes and finds the same state.
        let size = segment.size_bytes();
        segment.on_become_inactive().unwrap();
        drop(segment);
        let (reopened, truncated) =
            LogSegment::open(dir.path(), 0, &config, 0, LoadMode::Trust).unwrap();
        assert_eq!(truncated, 0);
        assert_eq!(reopened.size_bytes(), size);
        assert_eq!(reopened.next_offset(), 60);
        assert_eq!(reopened.max_timestamp(), 1_057);
        assert_eq!(reopened.offset_index().entries(), &entries[..]);
    }

    #[test]
    fn recovery_cuts_a_batch_with_a_bad_crc_and_everything_after() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig::default();
        let mut segment = LogSegment::create(dir.path(), 0, &config, 0).unwrap();
        let first = batch(0, 2, 10);
        let mut second = batch(2, 2, 20);
        let third = batch(4, 2, 30);
        append(&mut segment, &first, 4096);
        let last_byte = second.len() - 1;
        second[last_byte] ^= 0xff;
        append(&mut segment, &second, 4096);
        append(&mut segment, &third, 4096);
        drop(segment);
        let (recovered, truncated) =
            LogSegment::open(dir.path(), 0, &config, 0, LoadMode::Recover).unwrap();
        assert_eq!(truncated as usize, second.len() + third.len());
        assert_eq!(recovered.size_bytes() as usize, first.len());
        assert_eq!(recovered.next_offset(), 2);
        assert_eq!(
            std::fs::metadata(dir.path().join("00000000000000000000.log"))
                .unwrap()
                .len() as usize,
            first.len()
        );
    }
}
