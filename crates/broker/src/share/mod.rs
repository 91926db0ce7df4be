//! Share groups on the partition leader (KIP-932): the share-partitions (which records
//! of a partition each share group has delivered, to whom, and how often; see
//! `partition`) and the members' share sessions (`session`). The ShareFetch and
//! ShareAcknowledge handlers work through [`ShareManager`]; the share-group coordinator
//! (membership, assignment) is `rafka_coordinator::share`.
//!
//! State is durable through the share coordinator (`persister`): a share-partition is
//! read (or initialized, its start offset from `share.auto.offset.reset`) the first time
//! this broker uses it as leader, and reread when it leads at a new leader epoch; every
//! acknowledgement is written before its answer says it succeeded; releases and
//! archiving are written in the background (`flush`). After a restart or a leader change
//! acknowledged records stay done, acquired ones are delivered again.
//!
//! Locking: the maps are locked only to find or add an entry; each share-partition has
//! its own mutex, held for one step, never while another is held, and an async write
//! lock that orders its state writes (held across the write, never under the mutex).

pub mod partition;
pub mod persister;
pub mod session;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rafka_protocol::ErrorCode;
use tokio::sync::Notify;

use partition::{SharePartition, SharePartitionLimits};
use persister::{Persister, StateError, StateKey, StateWrite};
use session::ShareSessions;

/// A share-partition's key: (group id, topic id, partition).
type Key = (String, uuid::Uuid, i32);

/// One share-partition led here.
#[derive(Debug)]
pub struct ShareEntry {
    pub partition: Mutex<SharePartition>,
    /// The leader epoch of the partition when it was loaded: what its writes carry.
    pub leader_epoch: i32,
    /// The state epoch its state was read at.
    state_epoch: i32,
    /// Held from taking a state to write until the write is answered, so that writes
    /// reach the coordinator in the order their states were taken.
    write: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
pub struct ShareManager {
    partitions: Mutex<HashMap<Key, Arc<ShareEntry>>>,
    /// Orders the loads of share-partitions (one read of the coordinator at a time).
    loading: tokio::sync::Mutex<()>,
    pub sessions: Mutex<ShareSessions>,
    /// Signalled when records become available again (released, lock expired, member
    /// gone), so that waiting share fetches look again.
    pub released: Notify,
}

impl ShareManager {
    pub fn get(
        &self,
        group_id: &str,
        topic_id: uuid::Uuid,
        partition: i32,
    ) -> Option<Arc<ShareEntry>> {
        self.partitions
            .lock()
            .get(&(group_id.to_string(), topic_id, partition))
            .cloned()
    }

    /// The share-partition, read from the share coordinator first when this broker has
    /// not loaded it at `leader_epoch` (the partition's current one): its written state,
    /// or, when it has none, a new state starting at `reset_offset()` that is written
    /// (initialized) before it is used. Errors are the coordinator's.
    pub async fn load(
        &self,
        persister: &dyn Persister,
        key: (&str, uuid::Uuid, i32),
        leader_epoch: i32,
        limits: SharePartitionLimits,
        reset_offset: impl FnOnce() -> i64,
    ) -> Result<Arc<ShareEntry>, StateError> {
        let (group_id, topic_id, index) = key;
        let loaded = |this: &Self| {
            this.get(group_id, topic_id, index)
                .filter(|e| e.leader_epoch == leader_epoch)
        };
        if let Some(entry) = loaded(self) {
            return Ok(entry);
        }
        let _loading = self.loading.lock().await;
        if let Some(entry) = loaded(self) {
            return Ok(entry);
        }
        let state_key = StateKey::new(group_id, topic_id, index);
        let (state_epoch, sp) = match persister.read(state_key.clone(), leader_epoch).await {
            Ok(read) if read.start_offset >= 0 => (
                read.state_epoch,
                SharePartition::from_state(read.start_offset, &read.state_batches, limits),
            ),
            Ok(read) => {
                // Initialized without a start offset: this leader picks it, and writes it.
                let start = reset_offset();
                let write = StateWrite {
                    state_epoch: read.state_epoch,
                    leader_epoch,
                    start_offset: start,
                    state_batches: Vec::new(),
                };
                persister.write(state_key, write).await?;
                (read.state_epoch, SharePartition::new(start, limits))
            }
            Err(e) if persister::is_uninitialized(&e) => {
                let start = reset_offset();
                persister.initialize(state_key, 0, start).await?;
                (0, SharePartition::new(start, limits))
            }
            Err(e) => return Err(e),
        };
        tracing::info!(
            "share-partition {group_id}:{topic_id}:{index} loaded at leader epoch {leader_epoch}: start offset {}",
            sp.start_offset()
        );
        let entry = Arc::new(ShareEntry {
            partition: Mutex::new(sp),
            leader_epoch,
            state_epoch,
            write: tokio::sync::Mutex::new(()),
        });
        self.partitions
            .lock()
            .insert((group_id.to_string(), topic_id, index), entry.clone());
        Ok(entry)
    }

    /// Every share-partition of a group.
    fn of_group(&self, group_id: &str) -> Vec<Arc<ShareEntry>> {
        self.partitions
            .lock()
            .iter()
            .filter(|((g, _, _), _)| g == group_id)
            .map(|(_, entry)| entry.clone())
            .collect()
    }

    /// A member left its group (or was expired): its session goes, its records go back
    /// (written by the next `flush`).
    pub fn member_left(&self, group_id: &str, member_id: &str) {
        self.sessions.lock().remove(group_id, member_id);
        let released: usize = self
            .of_group(group_id)
            .iter()
            .map(|entry| entry.partition.lock().release_member(member_id))
            .sum();
        if released > 0 {
            self.released.notify_waiters();
        }
        self.drop_group_if_empty(group_id);
    }

    /// Kafka's SharePartitionManager `onGroupEmpty`: once no member of the group has a
    /// share session on this broker, its share-partitions here are dropped (not
    /// written) and read again from the share coordinator before their next use. So
    /// offsets altered or deleted while the group is empty (which only an empty group
    /// allows) are what the next consumer gets, on every broker leading a partition.
    fn drop_group_if_empty(&self, group_id: &str) {
        if self.sessions.lock().has_group(group_id) {
            return;
        }
        let dropped = self.group_deleted(group_id);
        if !dropped.is_empty() {
            tracing::debug!(
                "share group {group_id} has no share session here: dropped {} share-partitions",
                dropped.len()
            );
        }
    }

    /// A deleted share group's share-partitions go with it (its state is deleted through
    /// the share coordinator by the caller). Returns the partitions it had here.
    pub fn group_deleted(&self, group_id: &str) -> Vec<(uuid::Uuid, i32)> {
        let mut gone = Vec::new();
        self.partitions.lock().retain(|(g, topic_id, index), _| {
            if g == group_id {
                gone.push((*topic_id, *index));
            }
            g != group_id
        });
        gone
    }

    /// The share group's offsets of this partition were altered or deleted (the group
    /// is empty): the share-partition is read again before its next use. A leader on
    /// another broker learns it from its next write, fenced by the new state epoch.
    pub fn forget(&self, group_id: &str, topic_id: uuid::Uuid, partition: i32) {
        self.partitions
            .lock()
            .remove(&(group_id.to_string(), topic_id, partition));
    }

    /// Writes the state of every share-partition changed since its last write (releases,
    /// expired locks, archived records); called on the broker's tick. A share-partition
    /// whose write is under way is left for the next call.
    pub async fn flush(&self, persister: &dyn Persister) {
        let dirty: Vec<(Key, Arc<ShareEntry>)> = self
            .partitions
            .lock()
            .iter()
            .filter(|(_, entry)| entry.partition.lock().dirty)
            .map(|(key, entry)| (key.clone(), entry.clone()))
            .collect();
        for (key, entry) in dirty {
            let Ok(_writing) = entry.write.try_lock() else {
                continue;
            };
            if let Err(e) = self.write_state(persister, &key, &entry).await {
                tracing::warn!(
                    "cannot write the state of share-partition {}:{}:{}: {e:?}",
                    key.0,
                    key.1,
                    key.2
                );
            }
        }
    }

    /// Writes the share-partition's state as it is now (the caller holds its write
    /// lock). A fenced writer (a newer leader or state epoch took over) drops the
    /// share-partition: it is read again before its next use.
    async fn write_state(
        &self,
        persister: &dyn Persister,
        key: &Key,
        entry: &Arc<ShareEntry>,
    ) -> Result<(), StateError> {
        let (start_offset, state_batches) = {
            let mut sp = entry.partition.lock();
            sp.dirty = false;
            sp.persistent_state()
        };
        let write = StateWrite {
            state_epoch: entry.state_epoch,
            leader_epoch: entry.leader_epoch,
            start_offset,
            state_batches,
        };
        let written = persister
            .write(StateKey::new(&key.0, key.1, key.2), write)
            .await;
        if let Err(e) = &written {
            entry.partition.lock().dirty = true;
            if matches!(
                e.code,
                ErrorCode::FencedLeaderEpoch | ErrorCode::FencedStateEpoch
            ) {
                let mut partitions = self.partitions.lock();
                if partitions
                    .get(key)
                    .is_some_and(|current| Arc::ptr_eq(current, entry))
                {
                    partitions.remove(key);
                }
            }
        }
        written
    }
}

/// Why acknowledgements were refused: Kafka's error code, and its message where it
/// sets one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckError {
    pub code: ErrorCode,
    pub message: Option<&'static str>,
}

impl AckError {
    pub fn code(&self) -> i16 {
        self.code.code()
    }
}

impl From<ErrorCode> for AckError {
    fn from(code: ErrorCode) -> AckError {
        AckError {
            code,
            message: None,
        }
    }
}

/// One acknowledgement batch as the wire carries it.
#[derive(Debug, Clone)]
pub struct AcknowledgementBatch {
    pub first_offset: i64,
    pub last_offset: i64,
    pub acknowledge_types: Vec<i8>,
}

impl ShareManager {
    /// Applies `member_id`'s acknowledgements of one partition, all or nothing, and
    /// answers once their state is written: INVALID_REQUEST for an unknown type or a
    /// malformed batch, INVALID_RECORD_STATE for an offset the member does not hold (or
    /// a partition not loaded here); when the state cannot be written the records stay
    /// acquired and the answer is Kafka's for the write's error
    /// (`persister::client_error`).
    #[allow(clippy::too_many_arguments)]
    pub async fn acknowledge(
        &self,
        persister: &dyn Persister,
        group_id: &str,
        member_id: &str,
        topic_id: uuid::Uuid,
        partition: i32,
        batches: &[AcknowledgementBatch],
        now_ms: i64,
    ) -> Result<(), AckError> {
        use partition::AcknowledgeType;
        let mut parsed = Vec::with_capacity(batches.len());
        for b in batches {
            let types: Option<Vec<AcknowledgeType>> = b
                .acknowledge_types
                .iter()
                .map(|t| AcknowledgeType::from_wire(*t))
                .collect();
            let types = types.ok_or(ErrorCode::InvalidRequest)?;
            parsed.push((b.first_offset, b.last_offset, types));
        }
        let Some(entry) = self.get(group_id, topic_id, partition) else {
            return Err(ErrorCode::InvalidRecordState.into());
        };
        let _writing = entry.write.lock().await;
        {
            let mut sp = entry.partition.lock();
            let before = sp.clone();
            for (first, last, types) in &parsed {
                if let Err(code) = sp.begin_acknowledge(member_id, *first, *last, types, now_ms) {
                    let message = before.ack_failure_message(member_id, *first, *last);
                    *sp = before;
                    return Err(AckError { code, message });
                }
            }
        }
        let key = (group_id.to_string(), topic_id, partition);
        let written = self.write_state(persister, &key, &entry).await;
        entry.partition.lock().complete_pending(written.is_ok());
        if let Err(e) = written {
            tracing::warn!(
                "acknowledgements of {member_id} for {group_id}:{topic_id}:{partition} not written: {e:?}"
            );
            return Err(persister::client_error(&e).into());
        }
        let released = parsed
            .iter()
            .any(|(_, _, types)| types.contains(&AcknowledgeType::Release));
        if released {
            self.released.notify_waiters();
        }
        Ok(())
    }

    /// A client connection closed: the share sessions it opened end as if their members
    /// had closed them (Kafka's ShareSessionCache on a disconnect), so a consumer killed
    /// with records acquired gives them back now, and its group, once no session is
    /// left here, is dropped (`drop_group_if_empty`).
    pub fn connection_closed(&self, connection: u64) {
        let ended = self.sessions.lock().connection_closed(connection);
        for (group_id, member_id, partitions) in ended {
            tracing::debug!(
                "share session of member {member_id} of group {group_id} ended with its connection"
            );
            self.session_closed(&group_id, &member_id, &partitions);
        }
    }

    /// The member closed its share session: what it still holds of `partitions` goes back.
    pub fn session_closed(
        &self,
        group_id: &str,
        member_id: &str,
        partitions: &[session::TopicIdPartition],
    ) {
        let mut released = 0;
        for (topic_id, partition) in partitions {
            if let Some(entry) = self.get(group_id, *topic_id, *partition) {
                released += entry.partition.lock().release_member(member_id);
            }
        }
        if released > 0 {
            self.released.notify_waiters();
        }
        self.drop_group_if_empty(group_id);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::persister::{PersistFuture, StateRead};
    use super::*;

    /// A share coordinator in memory: state epoch and start offset per key, writes
    /// fenced by the state epoch as the real one fences them.
    #[derive(Default)]
    struct MemoryPersister {
        states: Mutex<HashMap<StateKey, (i32, i64)>>,
    }

    fn error(code: ErrorCode) -> StateError {
        StateError {
            code,
            message: code.description().to_string(),
        }
    }

    impl Persister for MemoryPersister {
        fn initialize(
            &self,
            key: StateKey,
            state_epoch: i32,
            start_offset: i64,
        ) -> PersistFuture<()> {
            self.states.lock().insert(key, (state_epoch, start_offset));
            Box::pin(async { Ok(()) })
        }

        fn read(&self, key: StateKey, _leader_epoch: i32) -> PersistFuture<StateRead> {
            let state = self.states.lock().get(&key).copied();
            Box::pin(async move {
                let (state_epoch, start_offset) = state.ok_or_else(|| StateError {
                    code: ErrorCode::InvalidRequest,
                    message: "Read on uninitialized share partition not allowed.".into(),
                })?;
                Ok(StateRead {
                    state_epoch,
                    start_offset,
                    state_batches: Vec::new(),
                })
            })
        }

        fn write(&self, key: StateKey, write: StateWrite) -> PersistFuture<()> {
            let mut states = self.states.lock();
            let result = match states.get_mut(&key) {
                Some((epoch, _)) if *epoch > write.state_epoch => {
                    Err(error(ErrorCode::FencedStateEpoch))
                }
                Some((_, start)) => {
                    *start = write.start_offset;
                    Ok(())
                }
                None => Err(error(ErrorCode::InvalidRequest)),
            };
            Box::pin(async move { result })
        }

        fn delete(&self, key: StateKey) -> PersistFuture<()> {
            self.states.lock().remove(&key);
            Box::pin(async { Ok(()) })
        }
    }

    const LIMITS: SharePartitionLimits = SharePartitionLimits {
        record_lock_duration_ms: 30_000,
        delivery_count_limit: 5,
        max_in_flight: 200,
    };

    #[tokio::test]
    async fn a_leader_fenced_by_altered_offsets_reads_the_new_start_offset() {
        let persister = MemoryPersister::default();
        let topic_id = uuid::Uuid::from_u128(1);
        let key = StateKey::new("g", topic_id, 0);
        persister.initialize(key.clone(), 0, 10).await.unwrap();
        let manager = ShareManager::default();
        let key3 = ("g", topic_id, 0);
        let entry = manager
            .load(&persister, key3, 0, LIMITS, || 0)
            .await
            .unwrap();
        assert_eq!(entry.partition.lock().start_offset(), 10);
        // AlterShareGroupOffsets on another broker: a new state at a higher state epoch.
        persister.initialize(key.clone(), 1, 3).await.unwrap();
        // The leader's next write is fenced, and the leader forgets what it held...
        entry.partition.lock().dirty = true;
        manager.flush(&persister).await;
        assert!(manager.get("g", topic_id, 0).is_none());
        assert_eq!(
            persister.states.lock()[&key],
            (1, 3),
            "the stale write was refused"
        );
        // ...and reads the altered start offset on its next use.
        let reloaded = manager
            .load(&persister, key3, 0, LIMITS, || 0)
            .await
            .unwrap();
        assert_eq!(reloaded.partition.lock().start_offset(), 3);
        // forget (the coordinator on this broker) drops it at once.
        manager.forget("g", topic_id, 0);
        assert!(manager.get("g", topic_id, 0).is_none());
    }
}
