//! The quorum's state machine: the [`ClusterImage`] built by applying committed entries.
//!
//! The image lives in memory; what survives a restart is the last snapshot, in
//! `dir/snapshot.json` (the image, the last applied log id and membership, written
//! atomically), plus the log. On restart openraft installs that snapshot and replays the
//! committed entries after it, as for any transient state machine.
//!
//! Every applied image is published on a watch channel before the proposer of its
//! entry is answered, so a successful `propose` is already visible in `image()`.

use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};
use rafka_types::write_atomically_with;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::log_store::{durability, read_json};
use super::types::{ImageSnapshot, LogId, QuorumTypes, SnapshotMeta, StoredMembership};
use crate::image::ClusterImage;
use crate::records::MetadataRecord;

const SNAPSHOT_FILE: &str = "snapshot.json";

/// `dir/snapshot.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    image: ClusterImage,
}

/// What the state machine did, for the simulation's cross-node checks.
// Only tests observe; production passes no observer.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone)]
pub(crate) enum Applied {
    /// An entry at this log index (records empty for blank and membership entries) and
    /// the image right after it.
    Entry {
        index: u64,
        records: Vec<MetadataRecord>,
        image: ClusterImage,
    },
    /// A snapshot replaced the image, whole.
    Snapshot { image: ClusterImage },
}

/// Called for every applied entry and installed snapshot (tests only).
pub(crate) type ApplyObserver = Arc<dyn Fn(&Applied) + Send + Sync>;

/// The state machine handle openraft drives; clones share one state.
pub(crate) struct StateMachine<C> {
    shared: Arc<Shared>,
    _types: PhantomData<fn() -> C>,
}

struct Shared {
    dir: PathBuf,
    /// fsync snapshots (off only in the simulation; see `LogStoreOptions`).
    sync_writes: bool,
    state: Mutex<State>,
    image_tx: watch::Sender<Arc<ClusterImage>>,
    observer: Option<ApplyObserver>,
}

struct State {
    image: ClusterImage,
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    /// The last snapshot built or installed; the same as `snapshot.json`.
    snapshot: Option<StoredSnapshot>,
}

impl<C> Clone for StateMachine<C> {
    fn clone(&self) -> Self {
        StateMachine {
            shared: self.shared.clone(),
            _types: PhantomData,
        }
    }
}

impl<C> fmt::Debug for StateMachine<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("StateMachine")
            .field("dir", &self.shared.dir)
            .field("last_applied", &state.last_applied)
            .finish()
    }
}

impl<C> StateMachine<C> {
    /// An empty state machine that knows the snapshot in `dir`, for openraft to install
    /// at startup. Returns the receiver of every image it applies.
    pub(crate) fn open(
        dir: &Path,
        sync_writes: bool,
        observer: Option<ApplyObserver>,
    ) -> io::Result<(StateMachine<C>, watch::Receiver<Arc<ClusterImage>>)> {
        std::fs::create_dir_all(dir)?;
        let snapshot: Option<StoredSnapshot> = read_json(&dir.join(SNAPSHOT_FILE))?;
        let (image_tx, image_rx) = watch::channel(Arc::new(ClusterImage::default()));
        let state = State {
            image: ClusterImage::default(),
            last_applied: None,
            last_membership: StoredMembership::default(),
            snapshot,
        };
        let machine = StateMachine {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                sync_writes,
                state: Mutex::new(state),
                image_tx,
                observer,
            }),
            _types: PhantomData,
        };
        Ok((machine, image_rx))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, image: ClusterImage) {
        self.shared.image_tx.send_replace(Arc::new(image));
    }

    fn observe(&self, applied: impl FnOnce() -> Applied) {
        if let Some(observer) = &self.shared.observer {
            observer(&applied());
        }
    }

    fn snapshot_path(&self) -> PathBuf {
        self.shared.dir.join(SNAPSHOT_FILE)
    }
}

impl<C: QuorumTypes> RaftSnapshotBuilder<C> for StateMachine<C> {
    type SnapshotData = ClusterImage;

    async fn build_snapshot(&mut self) -> io::Result<ImageSnapshot> {
        let snapshot = {
            let state = self.lock();
            StoredSnapshot {
                meta: SnapshotMeta {
                    last_log_id: state.last_applied,
                    last_membership: state.last_membership.clone(),
                },
                image: state.image.clone(),
            }
        };
        // Written outside the lock: applying goes on meanwhile.
        let body = serde_json::to_vec(&snapshot).map_err(io::Error::other)?;
        write_atomically_with(
            &self.snapshot_path(),
            &body,
            durability(self.shared.sync_writes),
        )?;
        let mut state = self.lock();
        let newer = state
            .snapshot
            .as_ref()
            .is_none_or(|current| current.meta.last_log_id <= snapshot.meta.last_log_id);
        if newer {
            state.snapshot = Some(snapshot.clone());
        }
        Ok(Snapshot {
            meta: snapshot.meta,
            snapshot: snapshot.image,
        })
    }
}

impl<C: QuorumTypes> RaftStateMachine<C> for StateMachine<C> {
    type SnapshotData = ClusterImage;
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> io::Result<(Option<LogId>, StoredMembership)> {
        let state = self.lock();
        Ok((state.last_applied, state.last_membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> io::Result<()>
    where
        Strm: Stream<Item = io::Result<EntryResponder<C>>> + Unpin + OptionalSend,
    {
        // Proposers are answered only once the image that holds their entry is
        // published, so that `propose` returning means `image()` shows it.
        let mut responders = Vec::new();
        let mut applied_any = false;
        while let Some((entry, responder)) = entries.try_next().await? {
            let index = entry.log_id.index;
            let mut state = self.lock();
            let records: &[MetadataRecord] = match &entry.payload {
                EntryPayload::Normal(batch) => &batch.0,
                EntryPayload::Blank => &[],
                EntryPayload::Membership(membership) => {
                    state.last_membership =
                        StoredMembership::new(Some(entry.log_id), membership.clone());
                    &[]
                }
            };
            state.image.apply_entry(index, records);
            state.last_applied = Some(entry.log_id);
            self.observe(|| Applied::Entry {
                index,
                records: records.to_vec(),
                image: state.image.clone(),
            });
            applied_any = true;
            if let Some(responder) = responder {
                responders.push((responder, index));
            }
        }
        if applied_any {
            let image = self.lock().image.clone();
            self.publish(image);
        }
        for (responder, index) in responders {
            responder.send(index);
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        image: ClusterImage,
    ) -> io::Result<()> {
        let snapshot = StoredSnapshot {
            meta: meta.clone(),
            image,
        };
        // At startup openraft installs the snapshot it just read from us: no need to
        // write the same file again.
        let already_stored = self
            .lock()
            .snapshot
            .as_ref()
            .is_some_and(|current| current.meta == snapshot.meta);
        if !already_stored {
            // Durable before the image changes: once openraft hears the snapshot is
            // installed it may purge the log entries it covers.
            let body = serde_json::to_vec(&snapshot).map_err(io::Error::other)?;
            write_atomically_with(
                &self.snapshot_path(),
                &body,
                durability(self.shared.sync_writes),
            )?;
        }
        let image = snapshot.image.clone();
        {
            let mut state = self.lock();
            state.image = snapshot.image.clone();
            state.last_applied = meta.last_log_id;
            state.last_membership = meta.last_membership.clone();
            state.snapshot = Some(snapshot);
        }
        self.observe(|| Applied::Snapshot {
            image: image.clone(),
        });
        self.publish(image);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<ImageSnapshot>> {
        Ok(self.lock().snapshot.clone().map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: stored.image,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use futures_util::stream;
    use openraft::{LogId, Membership, RaftSnapshotBuilder};

    use super::*;
    use crate::image::PartitionState;
    use crate::quorum::types::{CommittedLeaderId, LogEntry, RecordBatch, TypeConfig};

    type Machine = StateMachine<TypeConfig>;

    fn create_topic(name: &str) -> MetadataRecord {
        MetadataRecord::CreateTopic {
            name: name.to_string(),
            topic_id: uuid::Uuid::nil(),
            configs: BTreeMap::new(),
            partitions: vec![PartitionState::new(vec![1])],
        }
    }

    fn log_id(index: u64) -> super::LogId {
        LogId::new(CommittedLeaderId::new(1), index)
    }

    async fn apply(machine: &mut Machine, entries: Vec<LogEntry>) {
        let entries = entries.into_iter().map(|entry| Ok((entry, None)));
        machine.apply(stream::iter(entries)).await.unwrap();
    }

    fn membership_entry(index: u64) -> LogEntry {
        let nodes = BTreeMap::from([(1, openraft::BasicNode::new("a:1"))]);
        let membership = Membership::new(vec![[1].into()], nodes).unwrap();
        LogEntry {
            log_id: log_id(index),
            payload: EntryPayload::Membership(membership),
        }
    }

    fn normal_entry(index: u64, records: Vec<MetadataRecord>) -> LogEntry {
        LogEntry {
            log_id: log_id(index),
            payload: EntryPayload::Normal(RecordBatch(records)),
        }
    }

    #[tokio::test]
    async fn applied_entries_are_published_and_snapshots_restore_them() {
        let dir = tempfile::tempdir().unwrap();
        let (mut machine, image) = Machine::open(dir.path(), true, None).unwrap();
        apply(
            &mut machine,
            vec![
                membership_entry(0),
                normal_entry(1, vec![create_topic("a"), create_topic("b")]),
                LogEntry {
                    log_id: log_id(2),
                    payload: EntryPayload::Blank,
                },
            ],
        )
        .await;
        let published = image.borrow().clone();
        assert_eq!(
            published.offset, 2,
            "a blank entry still advances the offset"
        );
        assert_eq!(published.topics.keys().collect::<Vec<_>>(), ["a", "b"]);
        let (applied, membership) = machine.applied_state().await.unwrap();
        assert_eq!(applied, Some(log_id(2)));
        assert_eq!(*membership.log_id(), Some(log_id(0)));

        let snapshot = machine.build_snapshot().await.unwrap();
        assert_eq!(snapshot.meta.last_log_id, Some(log_id(2)));
        assert_eq!(snapshot.snapshot, *published);
        apply(&mut machine, vec![normal_entry(3, vec![create_topic("c")])]).await;
        drop(machine);

        // Reopened, it starts empty but offers the snapshot; installing it (as openraft
        // does at startup) restores the image as of the snapshot, not later.
        let (mut machine, image) = Machine::open(dir.path(), true, None).unwrap();
        assert_eq!(machine.applied_state().await.unwrap().0, None);
        let stored = machine.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(stored.meta, snapshot.meta);
        machine
            .install_snapshot(&stored.meta, stored.snapshot)
            .await
            .unwrap();
        assert_eq!(**image.borrow(), *published);
        assert_eq!(machine.applied_state().await.unwrap().0, Some(log_id(2)));
    }
}
