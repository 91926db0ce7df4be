//! The share-group coordinator (KIP-932, "Kafka as a queue"): share groups' membership
//! and server-side assignment under `ShareGroupHeartbeat` (see `group`, `assignor`).
//! Which records each member gets is not decided here but by the share-partitions on
//! each partition's leader (the broker's `share` module).
//!
//! Share groups live beside the group coordinator's groups and share their id space: the
//! broker checks one map against the other. State is in memory only (Kafka keeps it in
//! `__consumer_offsets` and `__share_group_state`): after a restart members join again.
//!
//! Locking: the map is locked only to find, add or remove a group; each group has its
//! own mutex, held for one step.

pub mod assignor;
pub mod group;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

pub use group::{ShareGroup, ShareHeartbeat, ShareHeartbeatConfig, ShareHeartbeatResult};
pub use rafka_config::group::ShareConfig;

use crate::group::consumer::TopicInfo;

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
            .or_insert_with(|| Arc::new(Mutex::new(ShareGroup::new(group_id))))
            .clone()
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

    /// Deletes an empty share group (DeleteGroups): GROUP_ID_NOT_FOUND when there is
    /// none, NON_EMPTY_GROUP while it has members.
    pub fn delete(&self, group_id: &str) -> Result<(), rafka_protocol::ErrorCode> {
        let mut groups = self.groups.lock();
        let Some(group) = groups.get(group_id) else {
            return Err(rafka_protocol::ErrorCode::GroupIdNotFound);
        };
        if !group.lock().members.is_empty() {
            return Err(rafka_protocol::ErrorCode::NonEmptyGroup);
        }
        groups.remove(group_id);
        Ok(())
    }

    /// Session timeouts (and subscribed topics that changed under an idle group); called
    /// every ~100 ms. Returns the members removed, whose records go back.
    pub fn tick(&self, topics: &[TopicInfo], now_ms: i64) -> Vec<ExpiredMembers> {
        self.groups()
            .into_iter()
            .filter_map(|group| {
                let mut group = group.lock();
                let member_ids = group.expire_members(topics, now_ms);
                (!member_ids.is_empty()).then(|| ExpiredMembers {
                    group_id: group.group_id.clone(),
                    member_ids,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafka_protocol::ErrorCode;

    #[test]
    fn only_empty_share_groups_are_deleted() {
        let coordinator = ShareGroupCoordinator::new(ShareConfig::default());
        assert_eq!(coordinator.delete("g"), Err(ErrorCode::GroupIdNotFound));
        let group = coordinator.group_or_create("g");
        let config = ShareHeartbeatConfig {
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 5_000,
            max_size: 200,
        };
        let joined = group.lock().heartbeat(
            ShareHeartbeat {
                member_id: "m".into(),
                member_epoch: 0,
                subscribed_topic_names: Some(vec!["t".into()]),
                ..Default::default()
            },
            &[],
            config,
            0,
        );
        assert!(joined.error.is_none());
        assert_eq!(coordinator.delete("g"), Err(ErrorCode::NonEmptyGroup));
        let expired = coordinator.tick(&[], 45_001);
        assert_eq!(
            expired,
            vec![ExpiredMembers {
                group_id: "g".into(),
                member_ids: vec!["m".into()]
            }]
        );
        assert_eq!(coordinator.delete("g"), Ok(()));
        assert!(coordinator.group("g").is_none());
    }
}
