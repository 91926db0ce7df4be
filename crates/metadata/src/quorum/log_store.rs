//! The quorum's Raft log and vote, persisted in the metadata log directory.
//!
//! On disk, in `dir` (`<first log dir>/__cluster_metadata-0`, as Kafka names it):
//!
//! - `log`: append-only records, each `[u32 BE body length][u32 BE CRC-32C of body][body]`
//!   where the body is the JSON of a [`LogRecord`]. The file starts with a `Purged`
//!   record once a prefix has been purged. Appends are fsynced before openraft is told
//!   they are flushed, so a torn or corrupt tail (kill -9 or power loss mid-append) was
//!   never acknowledged to anyone and is cut off when the log is opened.
//! - `vote.json`: the last vote, replaced atomically (write tmp, fsync, rename, fsync dir)
//!   before `save_vote` returns: a vote forgotten after a crash could elect two leaders.
//! - `committed.json`: the last committed log id, replaced atomically but not fsynced. It
//!   only tells a restarting node how far it may replay its own log into the state
//!   machine before hearing from the leader; losing an update replays less, never more
//!   than was committed.
//!
//! Entries are also kept in memory (the metadata log is small and is compacted by
//! snapshots), so reads never touch the disk.
//!
//! Thread-safety: [`LogStore`] is a cheap clone over one mutex; openraft's core appends
//! while replication tasks read. File I/O runs on the calling task, under the mutex:
//! metadata writes are few and small, and keeping I/O off the blocking pool keeps the
//! simulation test deterministic.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::marker::PhantomData;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::OptionalSend;
use rafka_types::{write_atomically_with, Durability};
use serde::{Deserialize, Serialize};

use super::types::{LogEntry, LogId, QuorumTypes, Vote};

const LOG_FILE: &str = "log";
const VOTE_FILE: &str = "vote.json";
const COMMITTED_FILE: &str = "committed.json";
/// Length and CRC.
const RECORD_HEADER_BYTES: usize = 8;

/// One record of the `log` file.
#[derive(Serialize, Deserialize)]
enum LogRecord {
    /// Entries up to and including this log id were purged (they are in a snapshot).
    Purged(LogId),
    Entry(LogEntry),
}

/// How the log store writes; production always syncs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogStoreOptions {
    /// fsync appends, truncations, purges and votes. The simulation turns it off: its
    /// crashes drop a node's memory, not the page cache, and fsync would cost seconds.
    pub(crate) sync_writes: bool,
}

impl Default for LogStoreOptions {
    fn default() -> Self {
        LogStoreOptions { sync_writes: true }
    }
}

/// The persistent Raft log store; see the module docs for the format.
pub(crate) struct LogStore<C> {
    inner: Arc<Mutex<LogInner>>,
    _types: PhantomData<fn() -> C>,
}

impl<C> Clone for LogStore<C> {
    fn clone(&self) -> Self {
        LogStore {
            inner: self.inner.clone(),
            _types: PhantomData,
        }
    }
}

impl<C> fmt::Debug for LogStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("LogStore")
            .field("dir", &inner.dir)
            .field("entries", &inner.entries.len())
            .field("last_purged", &inner.last_purged)
            .finish()
    }
}

/// Invariant: `entries` holds consecutive indexes, all greater than `last_purged`'s, and
/// each entry's position is where its record starts in `file`, which is `file_len` long.
struct LogInner {
    dir: PathBuf,
    options: LogStoreOptions,
    /// Opened for appending; truncation moves its end back.
    file: File,
    file_len: u64,
    /// Index → (entry, position of its record in `file`).
    entries: BTreeMap<u64, (LogEntry, u64)>,
    last_purged: Option<LogId>,
    vote: Option<Vote>,
    committed: Option<LogId>,
}

impl<C> LogStore<C> {
    /// Opens (creating if needed) the log in `dir`, cutting off a torn tail.
    pub(crate) fn open(dir: &Path, options: LogStoreOptions) -> io::Result<LogStore<C>> {
        let inner = LogInner::open(dir, options)?;
        Ok(LogStore {
            inner: Arc::new(Mutex::new(inner)),
            _types: PhantomData,
        })
    }

    fn lock(&self) -> MutexGuard<'_, LogInner> {
        // A panic while holding the lock leaves memory and file in step or is a bug that
        // already failed the node; keep serving reads rather than cascading the panic.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl LogInner {
    fn open(dir: &Path, options: LogStoreOptions) -> io::Result<LogInner> {
        fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        let data = match fs::read(&path) {
            Ok(data) => data,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let (records, valid_len) = decode_records(&data);
        let mut entries = BTreeMap::new();
        let mut last_purged = None;
        for (position, record) in records {
            match record {
                LogRecord::Purged(log_id) => {
                    entries.clear();
                    last_purged = Some(log_id);
                }
                LogRecord::Entry(entry) => {
                    let index = entry.index();
                    let expected = entries
                        .keys()
                        .next_back()
                        .map(|last| last + 1)
                        .or(last_purged.as_ref().map(|p: &LogId| p.index + 1));
                    if expected.is_some_and(|expected| expected != index) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "{}: entry {index} at byte {position} does not follow {expected:?}",
                                path.display()
                            ),
                        ));
                    }
                    entries.insert(index, (entry, position));
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)?;
        if (valid_len as usize) < data.len() {
            tracing::warn!(
                path = %path.display(),
                valid_bytes = valid_len,
                dropped_bytes = data.len() as u64 - valid_len,
                "cutting off the metadata log's torn or corrupt tail"
            );
            file.set_len(valid_len)?;
            file.sync_all()?;
        }
        if options.sync_writes {
            // The file may have just been created: make its directory entry durable.
            sync_dir(dir)?;
        }
        Ok(LogInner {
            dir: dir.to_path_buf(),
            options,
            file,
            file_len: valid_len,
            entries,
            last_purged,
            vote: read_json(&dir.join(VOTE_FILE))?,
            committed: read_json(&dir.join(COMMITTED_FILE))?,
        })
    }

    fn last_log_id(&self) -> Option<LogId> {
        match self.entries.values().next_back() {
            Some((entry, _)) => Some(entry.log_id()),
            None => self.last_purged,
        }
    }

    fn next_index(&self) -> Option<u64> {
        self.last_log_id().map(|id| id.index + 1)
    }

    /// Appends and (if configured) fsyncs; on error the file is cut back to where it
    /// was, so memory and file still agree.
    fn append(&mut self, new_entries: Vec<LogEntry>) -> io::Result<()> {
        let mut buf = Vec::new();
        let mut positions = Vec::with_capacity(new_entries.len());
        let mut expected = self.next_index();
        for entry in &new_entries {
            // openraft never leaves a hole: it truncates before appending a conflicting suffix.
            assert!(
                expected.is_none_or(|expected| expected == entry.index()),
                "append of entry {} to a log ending before {expected:?}",
                entry.index()
            );
            expected = Some(entry.index() + 1);
            positions.push(self.file_len + buf.len() as u64);
            encode_record(&LogRecordRef::Entry(entry), &mut buf)?;
        }
        let written = self.file.write_all(&buf).and_then(|()| {
            if self.options.sync_writes {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            tracing::error!(dir = %self.dir.display(), error = %e, "metadata log append failed");
            // Best effort: a later open cuts off whatever is left past the last good record.
            let _ = self.file.set_len(self.file_len);
            return Err(e);
        }
        self.file_len += buf.len() as u64;
        for (entry, position) in new_entries.into_iter().zip(positions) {
            self.entries.insert(entry.index(), (entry, position));
        }
        Ok(())
    }

    /// Removes the entries after `last` (all entries if `None`).
    fn truncate_after(&mut self, last: Option<LogId>) -> io::Result<()> {
        let first_removed = last.map_or(0, |id| id.index + 1);
        let Some((_, (_, position))) = self.entries.range(first_removed..).next() else {
            return Ok(());
        };
        let position = *position;
        self.file.set_len(position)?;
        if self.options.sync_writes {
            self.file.sync_data()?;
        }
        self.file_len = position;
        self.entries.split_off(&first_removed);
        Ok(())
    }

    /// Removes the entries up to and including `upto`, rewriting the file as a `Purged`
    /// record and the entries kept (tmp, fsync, rename): purges follow snapshots, which
    /// are rare, and a rewrite keeps the file a plain sequence with no holes.
    fn purge(&mut self, upto: LogId) -> io::Result<()> {
        if self
            .last_purged
            .as_ref()
            .is_some_and(|p| p.index >= upto.index)
        {
            return Ok(());
        }
        let kept: Vec<&LogEntry> = self
            .entries
            .range(upto.index + 1..)
            .map(|(_, (entry, _))| entry)
            .collect();
        let mut buf = Vec::new();
        encode_record(&LogRecordRef::Purged(&upto), &mut buf)?;
        let mut positions = Vec::with_capacity(kept.len());
        for entry in &kept {
            positions.push(buf.len() as u64);
            encode_record(&LogRecordRef::Entry(entry), &mut buf)?;
        }
        let path = self.dir.join(LOG_FILE);
        write_atomically_with(&path, &buf, durability(self.options.sync_writes))?;
        let file = OpenOptions::new().read(true).append(true).open(&path)?;

        self.file = file;
        self.file_len = buf.len() as u64;
        let mut kept_entries = self.entries.split_off(&(upto.index + 1));
        for ((_, (_, position)), new_position) in kept_entries.iter_mut().zip(positions) {
            *position = new_position;
        }
        self.entries = kept_entries;
        self.last_purged = Some(upto);
        Ok(())
    }

    fn save_vote(&mut self, vote: &Vote) -> io::Result<()> {
        let body = serde_json::to_vec(vote).map_err(io::Error::other)?;
        write_atomically_with(
            &self.dir.join(VOTE_FILE),
            &body,
            durability(self.options.sync_writes),
        )?;
        self.vote = Some(*vote);
        Ok(())
    }

    fn save_committed(&mut self, committed: Option<LogId>) -> io::Result<()> {
        if self.committed == committed {
            return Ok(());
        }
        let body = serde_json::to_vec(&committed).map_err(io::Error::other)?;
        write_atomically_with(&self.dir.join(COMMITTED_FILE), &body, Durability::Unsynced)?;
        self.committed = committed;
        Ok(())
    }

    fn entries_in(&self, range: impl RangeBounds<u64>) -> Vec<LogEntry> {
        self.entries
            .range(range)
            .map(|(_, (entry, _))| entry.clone())
            .collect()
    }
}

/// [`LogRecord`] by reference, for writing without cloning entries; the same JSON.
#[derive(Serialize)]
enum LogRecordRef<'a> {
    Purged(&'a LogId),
    Entry(&'a LogEntry),
}

fn encode_record(record: &LogRecordRef<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    let body = serde_json::to_vec(record).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(io::Error::other)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(())
}

/// Decodes records up to the first incomplete or corrupt one. Returns each record with
/// its position, and the length of the valid prefix.
fn decode_records(data: &[u8]) -> (Vec<(u64, LogRecord)>, u64) {
    let mut records = Vec::new();
    let mut position = 0usize;
    while let Some(header) = data.get(position..position + RECORD_HEADER_BYTES) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        let start = position + RECORD_HEADER_BYTES;
        let Some(body) = data.get(start..start + len) else {
            break;
        };
        if crc32c::crc32c(body) != crc {
            break;
        }
        let Ok(record) = serde_json::from_slice::<LogRecord>(body) else {
            break;
        };
        records.push((position as u64, record));
        position = start + len;
    }
    (records, position as u64)
}

/// How a file is replaced when the store `sync_writes`, or does not.
pub(crate) fn durability(sync_writes: bool) -> Durability {
    if sync_writes {
        Durability::Synced
    } else {
        Durability::Unsynced
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads a JSON file written by [`write_atomically_with`]; `None` if it does not exist.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(body) => serde_json::from_slice(&body).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl<C: QuorumTypes> RaftLogReader<C> for LogStore<C> {
    async fn try_get_log_entries<RB>(&mut self, range: RB) -> io::Result<Vec<LogEntry>>
    where
        RB: RangeBounds<u64> + Clone + fmt::Debug + OptionalSend,
    {
        Ok(self.lock().entries_in(range))
    }

    async fn read_vote(&mut self) -> io::Result<Option<Vote>> {
        Ok(self.lock().vote)
    }
}

impl<C: QuorumTypes> RaftLogStorage<C> for LogStore<C> {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> io::Result<LogState<C>> {
        let inner = self.lock();
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: inner.last_log_id(),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> io::Result<()> {
        self.lock().save_vote(vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> io::Result<()> {
        self.lock().save_committed(committed)
    }

    async fn read_committed(&mut self) -> io::Result<Option<LogId>> {
        Ok(self.lock().committed)
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<C>) -> io::Result<()>
    where
        I: IntoIterator<Item = LogEntry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        // Synced before returning, so the entries are flushed when openraft hears so.
        self.lock().append(entries.into_iter().collect())?;
        callback.io_completed(Ok(()));
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> io::Result<()> {
        self.lock().truncate_after(last_log_id)
    }

    async fn purge(&mut self, log_id: LogId) -> io::Result<()> {
        self.lock().purge(log_id)
    }
}

#[cfg(test)]
mod tests {
    use openraft::storage::RaftLogStorageExt;
    use openraft::EntryPayload;

    use super::*;
    use crate::quorum::types::{CommittedLeaderId, RecordBatch, TypeConfig};
    use crate::records::MetadataRecord;

    type Store = LogStore<TypeConfig>;

    fn log_id(term: u64, index: u64) -> LogId {
        LogId::new(CommittedLeaderId::new(term), index)
    }

    fn entry(term: u64, index: u64) -> LogEntry {
        LogEntry {
            log_id: log_id(term, index),
            payload: EntryPayload::Normal(RecordBatch(vec![MetadataRecord::DeleteTopic {
                name: format!("topic-{index}"),
            }])),
        }
    }

    fn open(dir: &Path) -> Store {
        LogStore::open(dir, LogStoreOptions::default()).unwrap()
    }

    async fn append(store: &mut Store, terms_and_indexes: &[(u64, u64)]) {
        let entries: Vec<_> = terms_and_indexes
            .iter()
            .map(|&(t, i)| entry(t, i))
            .collect();
        store.blocking_append(entries).await.unwrap();
    }

    async fn indexes(store: &mut Store) -> Vec<(u64, u64)> {
        store
            .try_get_log_entries(..)
            .await
            .unwrap()
            .iter()
            .map(|e| (e.log_id.leader_id.term, e.index()))
            .collect()
    }

    #[tokio::test]
    async fn appended_entries_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        append(&mut store, &[(1, 0), (1, 1), (1, 2)]).await;
        assert_eq!(
            store.try_get_log_entries(1..2).await.unwrap(),
            vec![entry(1, 1)]
        );
        drop(store);

        let mut store = open(dir.path());
        assert_eq!(indexes(&mut store).await, vec![(1, 0), (1, 1), (1, 2)]);
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id, Some(log_id(1, 2)));
        assert_eq!(state.last_purged_log_id, None);
    }

    #[tokio::test]
    async fn torn_tail_is_cut_off_on_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        append(&mut store, &[(1, 0), (1, 1)]).await;
        let good_len = fs::metadata(dir.path().join(LOG_FILE)).unwrap().len();
        append(&mut store, &[(1, 2)]).await;
        drop(store);

        // A kill -9 in the middle of writing entry 2: half its record made it.
        let full = fs::read(dir.path().join(LOG_FILE)).unwrap();
        let torn_len = good_len + (full.len() as u64 - good_len) / 2;
        fs::write(dir.path().join(LOG_FILE), &full[..torn_len as usize]).unwrap();

        let mut store = open(dir.path());
        assert_eq!(indexes(&mut store).await, vec![(1, 0), (1, 1)]);
        assert_eq!(
            fs::metadata(dir.path().join(LOG_FILE)).unwrap().len(),
            good_len,
            "the torn bytes are gone, so the next append starts on a record boundary"
        );
        append(&mut store, &[(2, 2)]).await;
        drop(store);
        let mut store = open(dir.path());
        assert_eq!(indexes(&mut store).await, vec![(1, 0), (1, 1), (2, 2)]);
    }

    #[tokio::test]
    async fn corrupt_record_and_everything_after_it_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        append(&mut store, &[(1, 0), (1, 1), (1, 2)]).await;
        let second = store.lock().entries[&1].1 as usize;
        drop(store);

        let mut data = fs::read(dir.path().join(LOG_FILE)).unwrap();
        data[second + RECORD_HEADER_BYTES + 3] ^= 0x20;
        fs::write(dir.path().join(LOG_FILE), &data).unwrap();

        let mut store = open(dir.path());
        assert_eq!(indexes(&mut store).await, vec![(1, 0)]);
    }

    #[tokio::test]
    async fn truncate_removes_the_conflicting_suffix_durably() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        append(&mut store, &[(1, 0), (1, 1), (1, 2), (1, 3)]).await;
        store.truncate_after(Some(log_id(1, 1))).await.unwrap();
        assert_eq!(indexes(&mut store).await, vec![(1, 0), (1, 1)]);
        // The new leader's entries replace the removed ones.
        append(&mut store, &[(2, 2)]).await;
        drop(store);

        let mut store = open(dir.path());
        assert_eq!(indexes(&mut store).await, vec![(1, 0), (1, 1), (2, 2)]);
        store.truncate_after(None).await.unwrap();
        assert_eq!(indexes(&mut store).await, vec![]);
        assert_eq!(store.get_log_state().await.unwrap().last_log_id, None);
    }

    #[tokio::test]
    async fn purge_drops_the_prefix_and_remembers_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        append(&mut store, &[(1, 0), (1, 1), (1, 2), (1, 3)]).await;
        store.purge(log_id(1, 1)).await.unwrap();
        assert_eq!(indexes(&mut store).await, vec![(1, 2), (1, 3)]);
        // Appends and truncations still work on the rewritten file.
        append(&mut store, &[(1, 4)]).await;
        store.truncate_after(Some(log_id(1, 3))).await.unwrap();
        drop(store);

        let mut store = open(dir.path());
        assert_eq!(indexes(&mut store).await, vec![(1, 2), (1, 3)]);
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 1)));
        assert_eq!(state.last_log_id, Some(log_id(1, 3)));

        // Purging past the end (after installing a snapshot) empties the log.
        store.purge(log_id(3, 9)).await.unwrap();
        drop(store);
        let mut store = open(dir.path());
        assert_eq!(indexes(&mut store).await, vec![]);
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(3, 9)));
        assert_eq!(state.last_log_id, Some(log_id(3, 9)));
        append(&mut store, &[(3, 10)]).await;
        drop(store);
        let mut store = open(dir.path());
        assert_eq!(indexes(&mut store).await, vec![(3, 10)]);
    }

    #[tokio::test]
    async fn vote_and_committed_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        assert_eq!(store.read_vote().await.unwrap(), None);
        let vote = Vote::new(7, 2);
        store.save_vote(&vote).await.unwrap();
        store.save_committed(Some(log_id(7, 5))).await.unwrap();
        drop(store);

        let mut store = open(dir.path());
        assert_eq!(store.read_vote().await.unwrap(), Some(vote));
        assert_eq!(store.read_committed().await.unwrap(), Some(log_id(7, 5)));
        let committed_vote = Vote::new_committed(8, 3);
        store.save_vote(&committed_vote).await.unwrap();
        drop(store);
        let mut store = open(dir.path());
        assert_eq!(store.read_vote().await.unwrap(), Some(committed_vote));
    }
}
