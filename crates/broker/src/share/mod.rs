//! Share groups on the partition leader (KIP-932): the share-partitions (which records
//! of a partition each share group has delivered, to whom, and how often; see
//! `partition`) and the members' share sessions (`session`). The ShareFetch and
//! ShareAcknowledge handlers work through [`ShareManager`]; the share-group coordinator
//! (membership, assignment) is `rafka_coordinator::share`.
//!
//! State is in memory: after a restart a share-partition starts again from
//! `share.auto.offset.reset` (Kafka keeps it in `__share_group_state`).
//!
//! Locking: the maps are locked only to find or add an entry; each share-partition has
//! its own mutex, held for one step, never while another is held.

pub mod partition;
pub mod session;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use partition::SharePartition;
use session::ShareSessions;

/// A share-partition's key: (group id, topic id, partition).
type Key = (String, uuid::Uuid, i32);

#[derive(Debug, Default)]
pub struct ShareManager {
    partitions: Mutex<HashMap<Key, Arc<Mutex<SharePartition>>>>,
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
    ) -> Option<Arc<Mutex<SharePartition>>> {
        self.partitions
            .lock()
            .get(&(group_id.to_string(), topic_id, partition))
            .cloned()
    }

    /// The share-partition, created by `init` (which gives its start offset) if absent.
    pub fn get_or_init(
        &self,
        group_id: &str,
        topic_id: uuid::Uuid,
        partition: i32,
        init: impl FnOnce() -> SharePartition,
    ) -> Arc<Mutex<SharePartition>> {
        self.partitions
            .lock()
            .entry((group_id.to_string(), topic_id, partition))
            .or_insert_with(|| Arc::new(Mutex::new(init())))
            .clone()
    }

    /// Every share-partition of a group.
    fn of_group(&self, group_id: &str) -> Vec<Arc<Mutex<SharePartition>>> {
        self.partitions
            .lock()
            .iter()
            .filter(|((g, _, _), _)| g == group_id)
            .map(|(_, sp)| sp.clone())
            .collect()
    }

    /// A member left its group (or was expired): its session goes, its records go back.
    pub fn member_left(&self, group_id: &str, member_id: &str) {
        self.sessions.lock().remove(group_id, member_id);
        let released: usize = self
            .of_group(group_id)
            .iter()
            .map(|sp| sp.lock().release_member(member_id))
            .sum();
        if released > 0 {
            self.released.notify_waiters();
        }
    }

    /// A deleted share group's share-partitions go with it.
    pub fn group_deleted(&self, group_id: &str) {
        self.partitions.lock().retain(|(g, _, _), _| g != group_id);
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
    /// Applies `member_id`'s acknowledgements of one partition, all or nothing:
    /// INVALID_REQUEST for an unknown type or a malformed batch, INVALID_RECORD_STATE
    /// for an offset the member does not hold (or a partition the group never fetched).
    pub fn acknowledge(
        &self,
        group_id: &str,
        member_id: &str,
        topic_id: uuid::Uuid,
        partition: i32,
        batches: &[AcknowledgementBatch],
        now_ms: i64,
    ) -> Result<(), rafka_protocol::ErrorCode> {
        use partition::AcknowledgeType;
        use rafka_protocol::ErrorCode;
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
        let Some(sp) = self.get(group_id, topic_id, partition) else {
            return Err(ErrorCode::InvalidRecordState);
        };
        let mut sp = sp.lock();
        let before = sp.clone();
        for (first, last, types) in &parsed {
            if let Err(code) = sp.acknowledge(member_id, *first, *last, types, now_ms) {
                *sp = before;
                return Err(code);
            }
        }
        drop(sp);
        let released = parsed
            .iter()
            .any(|(_, _, types)| types.contains(&AcknowledgeType::Release));
        if released {
            self.released.notify_waiters();
        }
        Ok(())
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
            if let Some(sp) = self.get(group_id, *topic_id, *partition) {
                released += sp.lock().release_member(member_id);
            }
        }
        if released > 0 {
            self.released.notify_waiters();
        }
    }
}
