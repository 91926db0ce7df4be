//! The share-group coordinator (KIP-932, "Kafka as a queue"): share groups' membership
//! and server-side assignment under `ShareGroupHeartbeat` (see `group`, `assignor`).
//! Which records each member gets is not decided here but by the share-partitions on
//! each partition's leader (the broker's `share` module).
//!
//! Share groups live beside the group coordinator's groups and share their id space: the
//! broker checks one map against the other. Their state is records of
//! `__consumer_offsets` (`records`), as Kafka's: appended through the group coordinator
//! after each step that changed something (`persist`), and handed back by its replay
//! (`OtherGroupRecords`) at start-up or when this broker becomes a partition's leader.
//!
//! Locking: the map is locked only to find, add or remove a group; each group has its
//! own mutex, held for one step.

pub mod assignor;
pub mod group;
pub mod records;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use rafka_protocol::ErrorCode;

pub use group::{ShareGroup, ShareHeartbeat, ShareHeartbeatConfig, ShareHeartbeatResult};
pub use rafka_config::group::ShareConfig;

use crate::group::consumer::TopicInfo;
use crate::group::{GroupCoordinator, GroupWrite, OtherGroupRecords};
use crate::CoordinatorLog;

#[derive(Debug)]
pub struct ShareGroupCoordinator {
    pub config: ShareConfig,
    groups: Mutex<HashMap<String, Arc<Mutex<ShareGroup>>>>,
}

/// What the session timer did to one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredMembers {
    pub group_id: String,
    pub member_ids: Vec<String>,
}

impl ShareGroupCoordinator {
    pub fn new(config: ShareConfig) -> ShareGroupCoordinator {
        ShareGroupCoordinator {
            config,
            groups: Mutex::new(HashMap::new()),
        }
    }

    pub fn group(&self, group_id: &str) -> Option<Arc<Mutex<ShareGroup>>> {
        self.groups.lock().get(group_id).cloned()
    }

    pub fn group_or_create(&self, group_id: &str) -> Arc<Mutex<ShareGroup>> {
        self.groups
            .lock()
            .entry(group_id.to_string())
            .or_insert_with(|| {
                let mut group = ShareGroup::new(group_id);
                group.set_session_timeout_ms(self.config.session_timeout_ms);
                Arc::new(Mutex::new(group))
            })
            .clone()
    }

    /// Drops the group if no member ever joined it and nothing was initialized for it
    /// (the step that created it was refused): Kafka creates a group only with its first
    /// member. Not while another request holds it besides the caller (it may be about to
    /// join): the map's reference, the caller's, and no third.
    pub fn forget_unborn(&self, group_id: &str) {
        let mut groups = self.groups.lock();
        let unborn = groups
            .get(group_id)
            .is_some_and(|g| Arc::strong_count(g) <= 2 && g.lock().is_unborn());
        if unborn {
            groups.remove(group_id);
        }
    }

    /// Appends what a step changed in `group`'s records (nothing when nothing did);
    /// called with the group locked, so appends keep the steps' order. The caller
    /// awaits the write before it answers.
    pub fn persist(
        &self,
        groups: &GroupCoordinator,
        log: &dyn CoordinatorLog,
        group: &mut ShareGroup,
        topics: &[TopicInfo],
    ) -> Result<GroupWrite, ErrorCode> {
        let changes = group.changes(topics).map_err(|e| {
            tracing::error!("cannot store share group {}: {e}", group.group_id);
            ErrorCode::UnknownServerError
        })?;
        if changes.records.is_empty() {
            return Ok(GroupWrite::default());
        }
        let write = groups.append_records(log, &group.group_id, changes.records.clone())?;
        group.mark_persisted(changes);
        Ok(write)
    }

    /// Every share group, by id.
    pub fn groups(&self) -> Vec<Arc<Mutex<ShareGroup>>> {
        let mut groups: Vec<(String, Arc<Mutex<ShareGroup>>)> = self
            .groups
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        groups.into_iter().map(|(_, g)| g).collect()
    }

    /// Deletes an empty share group (DeleteGroups): tombstones for its records, then
    /// it is gone. GROUP_ID_NOT_FOUND when there is none, NON_EMPTY_GROUP while it has
    /// members. The caller awaits the write.
    pub fn delete(
        &self,
        groups: &GroupCoordinator,
        log: &dyn CoordinatorLog,
        group_id: &str,
    ) -> Result<GroupWrite, ErrorCode> {
        let mut map = self.groups.lock();
        let Some(group) = map.get(group_id).cloned() else {
            return Err(ErrorCode::GroupIdNotFound);
        };
        let group = group.lock();
        if !group.members.is_empty() {
            return Err(ErrorCode::NonEmptyGroup);
        }
        let write = groups.append_records(log, group_id, group.deletion().records)?;
        map.remove(group_id);
        Ok(write)
    }

    /// Session timeouts (and subscribed topics that changed under an idle group); called
    /// every ~100 ms. Returns the members removed, whose records go back, and the writes
    /// of the groups that changed (no client waits on them).
    pub fn tick(
        &self,
        groups: &GroupCoordinator,
        log: &dyn CoordinatorLog,
        topics: &[TopicInfo],
        now_ms: i64,
    ) -> (Vec<ExpiredMembers>, Vec<GroupWrite>) {
        let mut expired = Vec::new();
        let mut writes = Vec::new();
        for group in self.groups() {
            let mut group = group.lock();
            let epoch = group.group_epoch;
            let member_ids = group.expire_members(topics, now_ms);
            if group.group_epoch != epoch {
                match self.persist(groups, log, &mut group, topics) {
                    Ok(write) => writes.push(write),
                    Err(e) => tracing::warn!(
                        "cannot store share group {} after expiries: {e:?}",
                        group.group_id
                    ),
                }
            }
            if !member_ids.is_empty() {
                expired.push(ExpiredMembers {
                    group_id: group.group_id.clone(),
                    member_ids,
                });
            }
        }
        (expired, writes)
    }
}

/// The share groups' records of `__consumer_offsets`, handed over by the group
/// coordinator's replay.
impl OtherGroupRecords for ShareGroupCoordinator {
    fn owns(&self, record_type: i16) -> bool {
        records::is_share_record(record_type)
    }

    fn replay(&self, key: Bytes, value: Option<Bytes>, now_ms: i64) {
        let decoded = match records::decode_key(&key) {
            Ok(k) => k,
            Err(records::RecordError::Obsolete) => return,
            Err(e) => {
                tracing::warn!("skipping a share group record: {e}");
                return;
            }
        };
        let group_id = decoded.group_id();
        let parsed = match &value {
            None => None,
            Some(bytes) => match records::decode_value(&decoded, bytes) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!("skipping a record of share group {group_id}: {e}");
                    return;
                }
            },
        };
        let group = match (&decoded, &parsed) {
            // The group's metadata tombstone: the group was deleted.
            (records::ShareRecordKey::Group { .. }, None) => {
                self.groups.lock().remove(group_id);
                return;
            }
            // A record creates its group, a tombstone only changes one.
            (_, Some(_)) => self.group_or_create(group_id),
            (_, None) => match self.group(group_id) {
                Some(group) => group,
                None => return,
            },
        };
        group.lock().replay(&decoded, (key, value), parsed, now_ms);
    }

    fn unload(&self, in_partition: &dyn Fn(&str) -> bool) {
        self.groups
            .lock()
            .retain(|group_id, _| !in_partition(group_id));
    }
}
