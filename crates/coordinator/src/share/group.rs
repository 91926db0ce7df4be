//! One share group (KIP-932) and its membership under `ShareGroupHeartbeat`.
//!
//! Epochs: every join, leave, subscription change or change of a subscribed topic's
//! partitions bumps the group epoch and recomputes the target assignment at once
//! (assignment epoch = group epoch). A share group revokes nothing before it assigns (a
//! partition may be read by several members), so a member moves to the target and its
//! epoch on its next heartbeat. Kafka's answers are kept: a heartbeat with an epoch
//! other than the member's is FENCED_MEMBER_EPOCH, an unknown member UNKNOWN_MEMBER_ID.
//!
//! Kafka also persists the membership in `__consumer_offsets`; rafka keeps it in memory,
//! so after a restart members get UNKNOWN_MEMBER_ID and join again.

use std::collections::{BTreeMap, BTreeSet};

use rafka_protocol::ErrorCode;

use crate::group::consumer::{Partitions, TopicInfo};
use crate::share::assignor;

/// The epoch a member sends to leave the group.
pub const LEAVE_GROUP_EPOCH: i32 = -1;

#[derive(Debug, Clone)]
pub struct ShareMember {
    pub member_id: String,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_epoch: i32,
    pub subscribed_topic_names: Vec<String>,
    pub assignment: Partitions,
    pub last_heartbeat_ms: i64,
}

/// One heartbeat, decoded.
#[derive(Debug, Clone, Default)]
pub struct ShareHeartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub rack_id: Option<String>,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub client_id: String,
    pub client_host: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShareHeartbeatResult {
    pub error: Option<(ErrorCode, String)>,
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// Sent when it changed (and on joining); `None` means "unchanged".
    pub assignment: Option<Partitions>,
    /// A member that left with this heartbeat: its acquired records go back.
    pub left: Option<String>,
}

impl ShareHeartbeatResult {
    pub fn error(code: ErrorCode, message: impl Into<String>, member_id: &str, epoch: i32) -> Self {
        ShareHeartbeatResult {
            error: Some((code, message.into())),
            member_id: member_id.to_string(),
            member_epoch: epoch,
            ..Default::default()
        }
    }
}

/// The settings a heartbeat applies: the group's configs over the broker's.
#[derive(Debug, Clone, Copy)]
pub struct ShareHeartbeatConfig {
    pub session_timeout_ms: i64,
    pub heartbeat_interval_ms: i32,
    pub max_size: usize,
}

#[derive(Debug)]
pub struct ShareGroup {
    pub group_id: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ShareMember>,
    target: BTreeMap<String, Partitions>,
    /// The subscribed topics' ids and partition counts at the last assignment.
    subscribed_metadata: Vec<TopicInfo>,
    /// Every topic ever assigned (id → most partitions seen): the share-partitions
    /// that may have state, which DeleteGroups deletes.
    assigned_topics: BTreeMap<uuid::Uuid, i32>,
    /// The share-partitions whose state the group has (Kafka's
    /// ShareGroupStatePartitionMetadata "initialized topics"): every partition of each
    /// topic a member was assigned, and those AlterShareGroupOffsets set; a topic whose
    /// offsets DeleteShareGroupOffsets deleted leaves it until a member is assigned it
    /// again. The "all topics" DescribeShareGroupOffsets describes these.
    initialized: BTreeMap<uuid::Uuid, BTreeSet<i32>>,
    /// The session timeout the last heartbeat applied; the timer expires members by it.
    session_timeout_ms: i64,
}

impl ShareGroup {
    pub fn new(group_id: &str) -> ShareGroup {
        ShareGroup {
            group_id: group_id.to_string(),
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            target: BTreeMap::new(),
            subscribed_metadata: Vec::new(),
            assigned_topics: BTreeMap::new(),
            initialized: BTreeMap::new(),
            session_timeout_ms: 45_000,
        }
    }

    /// Kafka's share group states: Empty, Stable (and Dead, once deleted).
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else {
            "Stable"
        }
    }

    /// Every topic the group was ever assigned, with the most partitions it had.
    pub fn assigned_topics(&self) -> &BTreeMap<uuid::Uuid, i32> {
        &self.assigned_topics
    }

    /// The share-partitions with state, by topic id.
    pub fn initialized_partitions(&self) -> &BTreeMap<uuid::Uuid, BTreeSet<i32>> {
        &self.initialized
    }

    /// AlterShareGroupOffsets wrote the state of these partitions.
    pub fn mark_initialized(
        &mut self,
        topic_id: uuid::Uuid,
        partitions: impl IntoIterator<Item = i32>,
    ) {
        let mut partitions = partitions.into_iter().peekable();
        if partitions.peek().is_some() {
            self.initialized
                .entry(topic_id)
                .or_default()
                .extend(partitions);
        }
    }

    /// DeleteShareGroupOffsets deleted the state of the topic's partitions.
    pub fn forget_initialized(&mut self, topic_id: &uuid::Uuid) {
        self.initialized.remove(topic_id);
    }

    /// Kafka's `ShareGroup.validateEmptyGroup`, which altering and deleting offsets
    /// need: NON_EMPTY_GROUP while any member is in the group.
    pub fn validate_empty(&self) -> Result<(), ErrorCode> {
        if self.members.is_empty() {
            Ok(())
        } else {
            Err(ErrorCode::NonEmptyGroup)
        }
    }

    pub fn assignor_name(&self) -> &'static str {
        "simple"
    }

    /// The topics any member subscribes to.
    pub fn subscribed_topics(&self) -> std::collections::BTreeSet<String> {
        self.members
            .values()
            .flat_map(|m| m.subscribed_topic_names.iter().cloned())
            .collect()
    }

    pub fn heartbeat(
        &mut self,
        request: ShareHeartbeat,
        topics: &[TopicInfo],
        config: ShareHeartbeatConfig,
        now_ms: i64,
    ) -> ShareHeartbeatResult {
        self.session_timeout_ms = config.session_timeout_ms;
        let fail = |code, message: String| {
            ShareHeartbeatResult::error(code, message, &request.member_id, request.member_epoch)
        };
        // Kafka's throwIfShareGroupHeartbeatRequestIsInvalid.
        if request.member_id.is_empty() {
            return fail(ErrorCode::InvalidRequest, "MemberId can't be empty.".into());
        }
        if request.member_epoch < LEAVE_GROUP_EPOCH {
            return fail(ErrorCode::InvalidRequest, "MemberEpoch is invalid.".into());
        }
        if request.member_epoch == 0
            && request
                .subscribed_topic_names
                .as_ref()
                .is_none_or(|n| n.is_empty())
        {
            return fail(
                ErrorCode::InvalidRequest,
                "SubscribedTopicNames must be set in first request.".into(),
            );
        }
        if request.member_epoch == LEAVE_GROUP_EPOCH {
            if self.members.remove(&request.member_id).is_none() {
                return fail(
                    ErrorCode::UnknownMemberId,
                    format!(
                        "Member {} is not a member of group {}.",
                        request.member_id, self.group_id
                    ),
                );
            }
            self.bump_epoch(topics);
            return ShareHeartbeatResult {
                member_id: request.member_id.clone(),
                member_epoch: LEAVE_GROUP_EPOCH,
                heartbeat_interval_ms: config.heartbeat_interval_ms,
                left: Some(request.member_id),
                ..Default::default()
            };
        }
        let joining = request.member_epoch == 0;
        match self.members.get(&request.member_id) {
            None if joining => {
                if self.members.len() >= config.max_size {
                    return fail(
                        ErrorCode::GroupMaxSizeReached,
                        format!(
                            "The share group has reached its maximum capacity of {} members.",
                            config.max_size
                        ),
                    );
                }
                self.members.insert(
                    request.member_id.clone(),
                    ShareMember {
                        member_id: request.member_id.clone(),
                        rack_id: None,
                        client_id: String::new(),
                        client_host: String::new(),
                        member_epoch: 0,
                        subscribed_topic_names: Vec::new(),
                        assignment: Partitions::new(),
                        last_heartbeat_ms: now_ms,
                    },
                );
            }
            None => {
                return fail(
                    ErrorCode::UnknownMemberId,
                    format!(
                        "Member {} is not a member of group {}.",
                        request.member_id, self.group_id
                    ),
                );
            }
            // A member that joins again with its id (its answer was lost) starts over
            // from the current target, as Kafka lets it.
            Some(_) if joining => {}
            Some(member) => {
                if request.member_epoch != member.member_epoch {
                    let than = if request.member_epoch > member.member_epoch {
                        "greater"
                    } else {
                        "smaller"
                    };
                    return fail(
                        ErrorCode::FencedMemberEpoch,
                        format!(
                            "The share group member has a {than} member epoch ({}) than the \
                             one known by the group coordinator ({}). The member must abandon \
                             all its partitions and rejoin.",
                            request.member_epoch, member.member_epoch
                        ),
                    );
                }
            }
        }
        let member = self
            .members
            .get_mut(&request.member_id)
            .expect("joined or validated above");
        member.last_heartbeat_ms = now_ms;
        member.client_id = request.client_id.clone();
        member.client_host = request.client_host.clone();
        if request.rack_id.is_some() {
            member.rack_id = request.rack_id.clone();
        }
        let mut changed = joining && member.member_epoch == 0;
        if let Some(names) = &request.subscribed_topic_names {
            let mut names = names.clone();
            names.sort();
            names.dedup();
            if names != member.subscribed_topic_names {
                member.subscribed_topic_names = names;
                changed = true;
            }
        }
        if changed
            || self.subscribed_metadata_changed(topics)
            || self.initialized_assignment_pending(topics)
        {
            self.bump_epoch(topics);
        }
        // No revocation to wait for: the member takes its target at once.
        let target = self
            .target
            .get(&request.member_id)
            .cloned()
            .unwrap_or_default();
        let member = self
            .members
            .get_mut(&request.member_id)
            .expect("joined or validated above");
        let moved = member.member_epoch != self.assignment_epoch || member.assignment != target;
        member.member_epoch = self.assignment_epoch;
        member.assignment = target;
        ShareHeartbeatResult {
            error: None,
            member_id: member.member_id.clone(),
            member_epoch: member.member_epoch,
            heartbeat_interval_ms: config.heartbeat_interval_ms,
            assignment: (moved || joining).then(|| member.assignment.clone()),
            left: None,
        }
    }

    /// Removes members whose session expired; returns their ids (their acquired records
    /// go back to the share-partitions).
    pub fn expire_members(&mut self, topics: &[TopicInfo], now_ms: i64) -> Vec<String> {
        let timeout = self.session_timeout_ms;
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| now_ms - m.last_heartbeat_ms > timeout)
            .map(|m| m.member_id.clone())
            .collect();
        for id in &expired {
            tracing::info!(
                "share group {}: member {id} expired after {timeout} ms without a heartbeat",
                self.group_id
            );
            self.members.remove(id);
        }
        let topics_changed = !self.members.is_empty() && self.subscribed_metadata_changed(topics);
        if !expired.is_empty() || topics_changed {
            self.bump_epoch(topics);
        }
        expired
    }

    fn subscribed_metadata_changed(&self, topics: &[TopicInfo]) -> bool {
        self.subscribed(topics) != self.subscribed_metadata
    }

    fn subscribed(&self, topics: &[TopicInfo]) -> Vec<TopicInfo> {
        let names = self.subscribed_topics();
        let mut subscribed: Vec<TopicInfo> = topics
            .iter()
            .filter(|t| names.contains(&t.name))
            .cloned()
            .collect();
        subscribed.sort_by(|a, b| a.name.cmp(&b.name));
        subscribed
    }

    /// The subscribed topics with only their partitions whose state is initialized:
    /// what Kafka's assignor may assign (a partition of a topic is assigned once the
    /// share coordinator holds its state; partitions are initialized from 0 up, so the
    /// count of the initialized prefix stands for them).
    fn assignable(&self) -> Vec<TopicInfo> {
        self.subscribed_metadata
            .iter()
            .map(|t| {
                let initialized = self.initialized.get(&t.topic_id);
                let ready = (0..t.partitions)
                    .take_while(|p| initialized.is_some_and(|set| set.contains(p)))
                    .count();
                TopicInfo {
                    partitions: i32::try_from(ready).unwrap_or(0),
                    ..t.clone()
                }
            })
            .filter(|t| t.partitions > 0)
            .collect()
    }

    /// Kafka's `initializedAssignmentPending`: partitions were initialized since the
    /// target was computed (the heartbeat after a member subscribed to them), so the
    /// next heartbeat bumps the group epoch and assigns them.
    fn initialized_assignment_pending(&self, topics: &[TopicInfo]) -> bool {
        if self.members.is_empty() || self.subscribed_metadata != self.subscribed(topics) {
            return false;
        }
        let mut assigned: BTreeMap<uuid::Uuid, BTreeSet<i32>> = BTreeMap::new();
        for partitions in self.target.values() {
            for (topic_id, ps) in partitions {
                assigned
                    .entry(*topic_id)
                    .or_default()
                    .extend(ps.iter().copied());
            }
        }
        let assignable: BTreeMap<uuid::Uuid, BTreeSet<i32>> = self
            .assignable()
            .into_iter()
            .map(|t| (t.topic_id, (0..t.partitions).collect()))
            .collect();
        assignable != assigned
    }

    /// A new group epoch and, at once, its target assignment over the initialized
    /// partitions; then, as Kafka's heartbeat asks the share coordinator to, the
    /// subscribed partitions not yet initialized are (rafka's share-partitions start
    /// from `share.auto.offset.reset` when first fetched, so there is nothing to write):
    /// the next heartbeat assigns them under a new epoch, as Kafka's does.
    fn bump_epoch(&mut self, topics: &[TopicInfo]) {
        self.group_epoch += 1;
        self.subscribed_metadata = self.subscribed(topics);
        let subscriptions: BTreeMap<String, Vec<String>> = self
            .members
            .iter()
            .map(|(id, m)| (id.clone(), m.subscribed_topic_names.clone()))
            .collect();
        self.target = assignor::assign(&subscriptions, &self.assignable());
        self.assignment_epoch = self.group_epoch;
        for topic in &self.subscribed_metadata {
            let count = self.assigned_topics.entry(topic.topic_id).or_default();
            *count = (*count).max(topic.partitions);
            self.initialized
                .entry(topic.topic_id)
                .or_default()
                .extend(0..topic.partitions);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: ShareHeartbeatConfig = ShareHeartbeatConfig {
        session_timeout_ms: 45_000,
        heartbeat_interval_ms: 5_000,
        max_size: 3,
    };

    fn topics() -> Vec<TopicInfo> {
        vec![TopicInfo {
            topic_id: uuid::Uuid::from_u128(1),
            name: "orders".into(),
            partitions: 2,
        }]
    }

    fn join(group: &mut ShareGroup, member: &str, now_ms: i64) -> ShareHeartbeatResult {
        group.heartbeat(
            ShareHeartbeat {
                member_id: member.into(),
                member_epoch: 0,
                subscribed_topic_names: Some(vec!["orders".into()]),
                ..Default::default()
            },
            &topics(),
            CONFIG,
            now_ms,
        )
    }

    fn beat(group: &mut ShareGroup, member: &str, epoch: i32, now_ms: i64) -> ShareHeartbeatResult {
        group.heartbeat(
            ShareHeartbeat {
                member_id: member.into(),
                member_epoch: epoch,
                ..Default::default()
            },
            &topics(),
            CONFIG,
            now_ms,
        )
    }

    fn partitions(result: &ShareHeartbeatResult) -> Vec<i32> {
        result
            .assignment
            .as_ref()
            .expect("an assignment")
            .values()
            .flatten()
            .copied()
            .collect()
    }

    #[test]
    fn members_join_with_epochs_and_share_the_partitions() {
        let mut group = ShareGroup::new("g");
        // As Kafka's: the first member of a topic gets nothing until the topic's
        // share-partitions are initialized, then the next heartbeat assigns them under
        // a new epoch.
        let a = join(&mut group, "a", 0);
        assert_eq!((a.error.clone(), a.member_epoch), (None, 1));
        assert_eq!(partitions(&a), Vec::<i32>::new());
        let a = beat(&mut group, "a", 1, 1);
        assert_eq!((a.member_epoch, partitions(&a)), (2, vec![0, 1]));
        let b = join(&mut group, "b", 0);
        assert_eq!(b.member_epoch, 3);
        assert_eq!(partitions(&b), vec![1]);
        // a learns its new assignment and epoch on its next heartbeat.
        let a = beat(&mut group, "a", 2, 10);
        assert_eq!((a.member_epoch, partitions(&a)), (3, vec![0]));
        // A third member shares a partition: nobody idles.
        let c = join(&mut group, "c", 20);
        assert_eq!((c.member_epoch, partitions(&c)), (4, vec![0]));
        // Unchanged assignment: none sent.
        let b = beat(&mut group, "b", 3, 30);
        assert_eq!(
            (b.member_epoch, b.assignment.clone()),
            (4, Some(group.members["b"].assignment.clone()))
        );
        let b = beat(&mut group, "b", 4, 40);
        assert_eq!(b.assignment, None);
        assert_eq!(group.state_name(), "Stable");
    }

    #[test]
    fn stale_or_future_epochs_are_fenced_and_strangers_unknown() {
        let mut group = ShareGroup::new("g");
        join(&mut group, "a", 0);
        join(&mut group, "b", 0);
        beat(&mut group, "a", 1, 1);
        let stale = beat(&mut group, "a", 1, 2);
        assert_eq!(stale.error.unwrap().0, ErrorCode::FencedMemberEpoch);
        let future = beat(&mut group, "a", 9, 2);
        assert_eq!(future.error.unwrap().0, ErrorCode::FencedMemberEpoch);
        let stranger = beat(&mut group, "zz", 1, 2);
        assert_eq!(stranger.error.unwrap().0, ErrorCode::UnknownMemberId);
        let leave_stranger = beat(&mut group, "zz", -1, 2);
        assert_eq!(leave_stranger.error.unwrap().0, ErrorCode::UnknownMemberId);
        // Nothing of the others changed.
        assert_eq!(group.members.len(), 2);
        assert_eq!(group.group_epoch, 2);
    }

    #[test]
    fn first_heartbeat_needs_member_id_and_topics_and_room() {
        let mut group = ShareGroup::new("g");
        let no_id = join(&mut group, "", 0);
        assert_eq!(no_id.error.unwrap().0, ErrorCode::InvalidRequest);
        let no_topics = beat(&mut group, "a", 0, 0);
        assert_eq!(no_topics.error.unwrap().0, ErrorCode::InvalidRequest);
        for m in ["a", "b", "c"] {
            assert!(join(&mut group, m, 0).error.is_none());
        }
        let full = join(&mut group, "d", 0);
        assert_eq!(full.error.unwrap().0, ErrorCode::GroupMaxSizeReached);
    }

    #[test]
    fn leaving_and_expiring_members_reassign_their_partitions() {
        let mut group = ShareGroup::new("g");
        join(&mut group, "a", 0);
        join(&mut group, "b", 0);
        let left = beat(&mut group, "b", -1, 5);
        assert_eq!((left.member_epoch, left.left.as_deref()), (-1, Some("b")));
        let a = beat(&mut group, "a", 1, 6);
        assert_eq!((a.member_epoch, partitions(&a)), (3, vec![0, 1]));
        join(&mut group, "c", 100);
        // a keeps heartbeating; c goes silent past the session timeout.
        beat(&mut group, "a", 3, 40_000);
        assert!(group.expire_members(&topics(), 45_100).is_empty());
        assert_eq!(
            group.expire_members(&topics(), 45_101),
            vec!["c".to_string()]
        );
        let a = beat(&mut group, "a", 4, 45_200);
        assert_eq!((a.member_epoch, partitions(&a)), (5, vec![0, 1]));
        beat(&mut group, "a", -1, 45_300);
        assert_eq!(group.state_name(), "Empty");
    }

    #[test]
    fn assigned_altered_and_deleted_offsets_track_the_initialized_partitions() {
        let mut group = ShareGroup::new("g");
        let orders = uuid::Uuid::from_u128(1);
        let other = uuid::Uuid::from_u128(2);
        assert!(group.initialized_partitions().is_empty());
        join(&mut group, "a", 0);
        assert_eq!(
            group.initialized_partitions()[&orders],
            BTreeSet::from([0, 1])
        );
        assert_eq!(group.validate_empty(), Err(ErrorCode::NonEmptyGroup));
        beat(&mut group, "a", -1, 1);
        assert_eq!(group.validate_empty(), Ok(()));
        group.mark_initialized(other, []);
        assert!(!group.initialized_partitions().contains_key(&other));
        group.mark_initialized(other, [3]);
        group.forget_initialized(&orders);
        assert_eq!(
            group.initialized_partitions().clone(),
            BTreeMap::from([(other, BTreeSet::from([3]))])
        );
        // A member assigned the topic again initializes it again, as Kafka's heartbeat.
        join(&mut group, "b", 2);
        assert_eq!(
            group.initialized_partitions()[&orders],
            BTreeSet::from([0, 1])
        );
    }

    #[test]
    fn new_partitions_of_a_subscribed_topic_bump_the_epoch() {
        let mut group = ShareGroup::new("g");
        join(&mut group, "a", 0);
        beat(&mut group, "a", 1, 1);
        let mut more = topics();
        more[0].partitions = 3;
        let beat_more = |group: &mut ShareGroup, epoch: i32| {
            group.heartbeat(
                ShareHeartbeat {
                    member_id: "a".into(),
                    member_epoch: epoch,
                    ..Default::default()
                },
                &more,
                CONFIG,
                2,
            )
        };
        // The new partition is initialized, then assigned by the next heartbeat.
        let a = beat_more(&mut group, 2);
        assert_eq!((a.member_epoch, partitions(&a)), (3, vec![0, 1]));
        let a = beat_more(&mut group, 3);
        assert_eq!((a.member_epoch, partitions(&a)), (4, vec![0, 1, 2]));
        let a = beat_more(&mut group, 4);
        assert_eq!((a.member_epoch, a.assignment), (4, None));
    }
}
