//! The transaction index, Kafka's `TransactionIndex`: per segment, a `<base>.txnindex` of
//! the transactions aborted by a marker in that segment, so a `read_committed` fetch can
//! name the aborted transactions its records overlap without reading the log.
//!
//! Each entry is 34 bytes, big-endian: version (int16, 0), producer id (int64), first
//! offset (int64), last offset (the ABORT marker's, int64), and the last stable offset when
//! it was aborted (int64). Only aborts are indexed. Entries are few, so each segment's are
//! also kept in memory.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::LogError;

pub const TXN_INDEX_SUFFIX: &str = ".txnindex";
const ENTRY_BYTES: usize = 34;
const ENTRY_VERSION: i16 = 0;

/// One aborted transaction of a partition (Kafka's `AbortedTxn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    /// The offset of the transaction's first batch in this partition.
    pub first_offset: i64,
    /// The offset of its ABORT marker.
    pub last_offset: i64,
    /// The partition's last stable offset when it was aborted: no transaction still open
    /// then started below it, so a fetch bounded by it needs no later entry.
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    fn encode(&self) -> [u8; ENTRY_BYTES] {
        let mut out = [0u8; ENTRY_BYTES];
        out[0..2].copy_from_slice(&ENTRY_VERSION.to_be_bytes());
        out[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        out[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        out[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        out[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        out
    }

    fn decode(raw: &[u8]) -> Result<AbortedTxn, String> {
        let i64_at = |at: usize| i64::from_be_bytes(raw[at..at + 8].try_into().expect("8 bytes"));
        let version = i16::from_be_bytes([raw[0], raw[1]]);
        if version != ENTRY_VERSION {
            return Err(format!("entry version {version}, expected {ENTRY_VERSION}"));
        }
        Ok(AbortedTxn {
            producer_id: i64_at(2),
            first_offset: i64_at(10),
            last_offset: i64_at(18),
            last_stable_offset: i64_at(26),
        })
    }
}

/// Every segment's transaction index, by segment base offset. A segment without aborts
/// has no file.
#[derive(Debug, Default)]
pub(crate) struct TxnIndexes {
    dir: PathBuf,
    by_segment: BTreeMap<i64, Vec<AbortedTxn>>,
    /// Files appended to since the last [`TxnIndexes::sync`].
    unsynced: Vec<i64>,
}

pub(crate) fn txn_index_path(dir: &Path, base_offset: i64) -> PathBuf {
    dir.join(format!("{base_offset:020}{TXN_INDEX_SUFFIX}"))
}

impl TxnIndexes {
    /// Loads the indexes of the segments `bases` (sorted); deletes index files of other
    /// segments and entries at or past `log_end_offset` (recovery cut them off).
    pub(crate) fn load(
        dir: &Path,
        bases: &[i64],
        log_end_offset: i64,
    ) -> Result<TxnIndexes, LogError> {
        let mut indexes = TxnIndexes {
            dir: dir.to_path_buf(),
            ..TxnIndexes::default()
        };
        for entry in std::fs::read_dir(dir).map_err(|e| LogError::io(dir, e))? {
            let entry = entry.map_err(|e| LogError::io(dir, e))?;
            let name = entry.file_name();
            let Some(base) = name
                .to_str()
                .and_then(|n| n.strip_suffix(TXN_INDEX_SUFFIX))
                .and_then(|stem| stem.parse::<i64>().ok())
            else {
                continue;
            };
            let path = entry.path();
            if bases.binary_search(&base).is_err() {
                tracing::warn!(path = %path.display(), "deleting a transaction index without its segment");
                remove_if_exists(&path)?;
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| LogError::io(&path, e))?;
            let mut entries = Vec::with_capacity(bytes.len() / ENTRY_BYTES);
            for raw in bytes.chunks_exact(ENTRY_BYTES) {
                match AbortedTxn::decode(raw) {
                    Ok(txn) if txn.last_offset < log_end_offset && txn.last_offset >= base => {
                        entries.push(txn)
                    }
                    Ok(_) => break,
                    Err(why) => {
                        tracing::warn!(path = %path.display(), why, "cutting a transaction index at a bad entry");
                        break;
                    }
                }
            }
            if entries.len() * ENTRY_BYTES != bytes.len() {
                indexes.rewrite(base, &entries)?;
            }
            if !entries.is_empty() {
                indexes.by_segment.insert(base, entries);
            }
        }
        Ok(indexes)
    }

    /// Appends `txn` to the index of segment `base`, unless the index already holds it
    /// or a later abort (a replay after recovery finds entries already written).
    pub(crate) fn append(&mut self, base: i64, txn: AbortedTxn) -> Result<(), LogError> {
        let entries = self.by_segment.entry(base).or_default();
        if entries
            .last()
            .is_some_and(|last| last.last_offset >= txn.last_offset)
        {
            return Ok(());
        }
        let path = txn_index_path(&self.dir, base);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| LogError::io(&path, e))?;
        file.write_all(&txn.encode())
            .map_err(|e| LogError::io(&path, e))?;
        entries.push(txn);
        if !self.unsynced.contains(&base) {
            self.unsynced.push(base);
        }
        Ok(())
    }

    /// The aborted transactions a fetch of `start..upper` overlaps (last offset ≥ `start`,
    /// first offset < `upper`), from the segment holding `start` on, stopping after the
    /// first entry whose last stable offset reaches `upper` (Kafka's
    /// `collectAbortedTransactions`).
    pub(crate) fn collect(&self, segment_base: i64, start: i64, upper: i64) -> Vec<AbortedTxn> {
        let mut found = Vec::new();
        for entries in self.by_segment.range(segment_base..).map(|(_, e)| e) {
            for txn in entries {
                if txn.last_offset >= start && txn.first_offset < upper {
                    found.push(*txn);
                }
                if txn.last_stable_offset >= upper {
                    return found;
                }
            }
        }
        found
    }

    /// Forgets the indexes of removed segments and deletes their files.
    pub(crate) fn remove_segments(&mut self, bases: &[i64]) -> Result<(), LogError> {
        for base in bases {
            self.by_segment.remove(base);
            self.unsynced.retain(|b| b != base);
            remove_if_exists(&txn_index_path(&self.dir, *base))?;
        }
        Ok(())
    }

    /// Drops every entry whose marker is at or past `offset` (Kafka's `truncateTo`).
    pub(crate) fn truncate_to(&mut self, offset: i64) -> Result<(), LogError> {
        let affected: Vec<i64> = self
            .by_segment
            .iter()
            .filter(|(_, entries)| entries.iter().any(|t| t.last_offset >= offset))
            .map(|(base, _)| *base)
            .collect();
        for base in affected {
            let kept: Vec<AbortedTxn> = self.by_segment[&base]
                .iter()
                .copied()
                .filter(|t| t.last_offset < offset)
                .collect();
            self.rewrite(base, &kept)?;
            if kept.is_empty() {
                self.by_segment.remove(&base);
            } else {
                self.by_segment.insert(base, kept);
            }
        }
        Ok(())
    }

    /// The cleaner replaced segments `bases` by one starting at `bases[0]`: their entries
    /// that `keep` (the aborts whose markers still have data behind them) move into its
    /// index; the others go, as their aborted data has.
    pub(crate) fn merge(
        &mut self,
        bases: &[i64],
        keep: impl Fn(&AbortedTxn) -> bool,
    ) -> Result<(), LogError> {
        let Some((&first, rest)) = bases.split_first() else {
            return Ok(());
        };
        let all_kept = bases
            .iter()
            .filter_map(|b| self.by_segment.get(b))
            .flatten()
            .all(&keep);
        if all_kept && rest.iter().all(|b| !self.by_segment.contains_key(b)) {
            return Ok(());
        }
        let mut merged: Vec<AbortedTxn> = bases
            .iter()
            .filter_map(|b| self.by_segment.get(b))
            .flatten()
            .copied()
            .filter(|t| keep(t))
            .collect();
        merged.sort_by_key(|t| t.last_offset);
        self.rewrite(first, &merged)?;
        if merged.is_empty() {
            self.by_segment.remove(&first);
        } else {
            self.by_segment.insert(first, merged);
        }
        self.remove_segments(rest)
    }

    /// Every entry, oldest first (for tests and tools).
    pub(crate) fn all(&self) -> Vec<AbortedTxn> {
        self.by_segment.values().flatten().copied().collect()
    }

    /// The files appended to since the last call, to fsync with the segments.
    pub(crate) fn take_unsynced(&mut self) -> Result<Vec<File>, LogError> {
        let mut files = Vec::new();
        for base in std::mem::take(&mut self.unsynced) {
            let path = txn_index_path(&self.dir, base);
            match File::open(&path) {
                Ok(file) => files.push(file),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(LogError::io(&path, e)),
            }
        }
        Ok(files)
    }

    /// Replaces segment `base`'s index file with `entries` (none: no file).
    fn rewrite(&mut self, base: i64, entries: &[AbortedTxn]) -> Result<(), LogError> {
        let path = txn_index_path(&self.dir, base);
        if entries.is_empty() {
            return remove_if_exists(&path);
        }
        let bytes: Vec<u8> = entries.iter().flat_map(|t| t.encode()).collect();
        rafka_types::write_atomically(&path, &bytes).map_err(|e| LogError::io(&path, e))
    }
}

fn remove_if_exists(path: &Path) -> Result<(), LogError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(LogError::io(path, e)),
    }
}
