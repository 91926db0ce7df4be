//! One share group (KIP-932) and its membership under `ShareGroupHeartbeat`.
//!
//! Epochs: every join, leave, subscription change or change of a subscribed topic's
//! partitions bumps the group epoch and recomputes the target assignment at once
//! (assignment epoch = group epoch). A share group revokes nothing before it assigns (a
//! partition may be read by several members), so a member moves to the target and its
//! epoch on its next heartbeat. Kafka's answers are kept: a heartbeat with an epoch
//! other than the member's is FENCED_MEMBER_EPOCH, an unknown member UNKNOWN_MEMBER_ID.
//!
//! Durable as Kafka's: the group's state is the records of `records` in
//! `__consumer_offsets` (group epoch, members, target and current assignments, the
//! initialized share-partitions). After each step the coordinator appends what changed
//! since the records last written (`changes`, then `mark_persisted`); a replay rebuilds
//! the group from them (`replay`), its members' sessions restarting at load time, so an
//! idle group outlives a restart and a member carries on with its id and epoch.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use rafka_protocol::ErrorCode;

use crate::group::consumer::{Partitions, TopicInfo};
use crate::share::assignor;
use crate::share::records::{
    self, CurrentAssignmentValue, MemberValue, ShareRecordKey, ShareRecordValue,
    StatePartitionsValue, StateTopic, MEMBER_STATE_STABLE,
};

/// The epoch a member sends to leave the group.
pub const LEAVE_GROUP_EPOCH: i32 = -1;

#[derive(Debug, Clone)]
pub struct ShareMember {
    pub member_id: String,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_epoch: i32,
    /// The epoch before the last change (Kafka's `previousMemberEpoch`, persisted).
    pub previous_member_epoch: i32,
    pub subscribed_topic_names: Vec<String>,
    pub assignment: Partitions,
    pub last_heartbeat_ms: i64,
}

impl ShareMember {
    fn new(member_id: &str, now_ms: i64) -> ShareMember {
        ShareMember {
            member_id: member_id.to_string(),
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            member_epoch: 0,
            previous_member_epoch: 0,
            subscribed_topic_names: Vec::new(),
            assignment: Partitions::new(),
            last_heartbeat_ms: now_ms,
        }
    }
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

impl ShareHeartbeat {
    /// Kafka's `throwIfShareGroupHeartbeatRequestIsInvalid` (the group id is the
    /// broker's to check): INVALID_REQUEST and its message. Kafka checks before it looks
    /// at the group, so a bad first heartbeat creates none.
    pub fn validate(&self) -> Result<(), (ErrorCode, &'static str)> {
        if self.member_id.is_empty() {
            return Err((ErrorCode::InvalidRequest, "MemberId can't be empty."));
        }
        if self.member_epoch < LEAVE_GROUP_EPOCH {
            return Err((ErrorCode::InvalidRequest, "MemberEpoch is invalid."));
        }
        if self.member_epoch == 0
            && self
                .subscribed_topic_names
                .as_ref()
                .is_none_or(|n| n.is_empty())
        {
            return Err((
                ErrorCode::InvalidRequest,
                "SubscribedTopicNames must be set in first request.",
            ));
        }
        Ok(())
    }
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
    /// A hash of the subscribed topics (names, ids, partition counts) at the last
    /// assignment (Kafka's `MetadataHash`; 0 for none): a change bumps the epoch.
    metadata_hash: i64,
    /// Every topic ever assigned (id → most partitions seen): the share-partitions
    /// that may have state, which DeleteGroups deletes.
    assigned_topics: BTreeMap<uuid::Uuid, i32>,
    /// The share-partitions whose state the group has (Kafka's
    /// ShareGroupStatePartitionMetadata "initialized topics"): every partition of each
    /// topic a member was assigned, and those AlterShareGroupOffsets set; a topic whose
    /// offsets DeleteShareGroupOffsets deleted leaves it until a member is assigned it
    /// again. The "all topics" DescribeShareGroupOffsets describes these.
    initialized: BTreeMap<uuid::Uuid, BTreeSet<i32>>,
    /// The names of the topics above, for the records (a deleted topic keeps its name).
    topic_names: BTreeMap<uuid::Uuid, String>,
    /// The session timeout the last heartbeat applied; the timer expires members by it.
    session_timeout_ms: i64,
    /// The group's records as `__consumer_offsets` holds them (key → value bytes).
    persisted: BTreeMap<Bytes, Bytes>,
}

/// What a step changed in the group's records: the records to append (a `None` value is
/// a tombstone), and the records the log holds once they are appended.
#[derive(Debug, Default)]
pub struct RecordChanges {
    pub records: Vec<(Bytes, Option<Bytes>)>,
    snapshot: BTreeMap<Bytes, Bytes>,
}

impl ShareGroup {
    pub fn new(group_id: &str) -> ShareGroup {
        ShareGroup {
            group_id: group_id.to_string(),
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            target: BTreeMap::new(),
            metadata_hash: 0,
            assigned_topics: BTreeMap::new(),
            initialized: BTreeMap::new(),
            topic_names: BTreeMap::new(),
            session_timeout_ms: 45_000,
            persisted: BTreeMap::new(),
        }
    }

    /// A group no member ever joined and nothing initialized (a first heartbeat was
    /// refused): it exists for nobody, as Kafka creates a group only with its first
    /// member.
    pub fn is_unborn(&self) -> bool {
        self.group_epoch == 0
            && self.members.is_empty()
            && self.initialized.is_empty()
            && self.persisted.is_empty()
    }

    /// The session timeout that expires members until a heartbeat applies the group's
    /// own (members restored by a replay have sent none yet).
    pub fn set_session_timeout_ms(&mut self, timeout_ms: i64) {
        self.session_timeout_ms = timeout_ms;
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
        if let Err((code, message)) = request.validate() {
            return fail(code, message.into());
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
                    ShareMember::new(&request.member_id, now_ms),
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
        if member.member_epoch != self.assignment_epoch {
            member.previous_member_epoch = member.member_epoch;
        }
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
        metadata_hash(&self.subscribed(topics)) != self.metadata_hash
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
    fn assignable(&self, subscribed: &[TopicInfo]) -> Vec<TopicInfo> {
        subscribed
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
        let subscribed = self.subscribed(topics);
        if self.members.is_empty() || metadata_hash(&subscribed) != self.metadata_hash {
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
            .assignable(&subscribed)
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
        let subscribed = self.subscribed(topics);
        self.metadata_hash = metadata_hash(&subscribed);
        let subscriptions: BTreeMap<String, Vec<String>> = self
            .members
            .iter()
            .map(|(id, m)| (id.clone(), m.subscribed_topic_names.clone()))
            .collect();
        self.target = assignor::assign(&subscriptions, &self.assignable(&subscribed), &self.target);
        self.assignment_epoch = self.group_epoch;
        for topic in &subscribed {
            self.topic_names.insert(topic.topic_id, topic.name.clone());
            let count = self.assigned_topics.entry(topic.topic_id).or_default();
            *count = (*count).max(topic.partitions);
            self.initialized
                .entry(topic.topic_id)
                .or_default()
                .extend(0..topic.partitions);
        }
    }
}

/// The group's records: what it writes, and how a replay rebuilds it.
impl ShareGroup {
    /// Every record of the group's current state, by key.
    fn records(&self, topics: &[TopicInfo]) -> Vec<(ShareRecordKey, ShareRecordValue)> {
        let group_id = || self.group_id.clone();
        let mut out = vec![
            (
                ShareRecordKey::Group {
                    group_id: group_id(),
                },
                ShareRecordValue::Group {
                    epoch: self.group_epoch,
                    metadata_hash: self.metadata_hash,
                },
            ),
            (
                ShareRecordKey::TargetAssignment {
                    group_id: group_id(),
                },
                ShareRecordValue::TargetAssignment {
                    assignment_epoch: self.assignment_epoch,
                },
            ),
        ];
        let name_of = |topic_id: &uuid::Uuid| {
            topics
                .iter()
                .find(|t| t.topic_id == *topic_id)
                .map(|t| t.name.clone())
                .or_else(|| self.topic_names.get(topic_id).cloned())
                .unwrap_or_default()
        };
        out.push((
            ShareRecordKey::StatePartitions {
                group_id: group_id(),
            },
            ShareRecordValue::StatePartitions(StatePartitionsValue {
                initialized: self
                    .initialized
                    .iter()
                    .map(|(topic_id, partitions)| StateTopic {
                        topic_id: *topic_id,
                        topic_name: name_of(topic_id),
                        partitions: partitions.iter().copied().collect(),
                    })
                    .collect(),
                ..Default::default()
            }),
        ));
        for member in self.members.values() {
            let member_id = || member.member_id.clone();
            out.push((
                ShareRecordKey::Member {
                    group_id: group_id(),
                    member_id: member_id(),
                },
                ShareRecordValue::Member(MemberValue {
                    rack_id: member.rack_id.clone(),
                    client_id: member.client_id.clone(),
                    client_host: member.client_host.clone(),
                    subscribed_topic_names: member.subscribed_topic_names.clone(),
                }),
            ));
            out.push((
                ShareRecordKey::TargetMember {
                    group_id: group_id(),
                    member_id: member_id(),
                },
                ShareRecordValue::TargetMember(
                    self.target
                        .get(&member.member_id)
                        .cloned()
                        .unwrap_or_default(),
                ),
            ));
            out.push((
                ShareRecordKey::CurrentAssignment {
                    group_id: group_id(),
                    member_id: member_id(),
                },
                ShareRecordValue::CurrentAssignment(CurrentAssignmentValue {
                    member_epoch: member.member_epoch,
                    previous_member_epoch: member.previous_member_epoch,
                    state: MEMBER_STATE_STABLE,
                    assigned: member.assignment.clone(),
                }),
            ));
        }
        out
    }

    /// What changed since the records last written: new and changed records, then
    /// tombstones for the records of members gone. Nothing for a group no member ever
    /// joined.
    pub fn changes(&self, topics: &[TopicInfo]) -> Result<RecordChanges, records::RecordError> {
        if self.is_unborn() {
            return Ok(RecordChanges::default());
        }
        let mut snapshot = BTreeMap::new();
        for (key, value) in self.records(topics) {
            snapshot.insert(records::encode_key(&key)?, records::encode_value(&value));
        }
        let mut changed: Vec<(Bytes, Option<Bytes>)> = snapshot
            .iter()
            .filter(|(k, v)| self.persisted.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), Some(v.clone())))
            .collect();
        changed.extend(
            self.persisted
                .keys()
                .filter(|k| !snapshot.contains_key(*k))
                .map(|k| (k.clone(), None)),
        );
        Ok(RecordChanges {
            records: changed,
            snapshot,
        })
    }

    /// The log holds `changes` now.
    pub fn mark_persisted(&mut self, changes: RecordChanges) {
        self.persisted = changes.snapshot;
    }

    /// Tombstones for every record of the group, its metadata's last (DeleteGroups).
    pub fn deletion(&self) -> RecordChanges {
        let (group, mut rest): (Vec<Bytes>, Vec<Bytes>) =
            self.persisted.keys().cloned().partition(|k| {
                records::decode_key(k).is_ok_and(|k| matches!(k, ShareRecordKey::Group { .. }))
            });
        rest.extend(group);
        RecordChanges {
            records: rest.into_iter().map(|k| (k, None)).collect(),
            snapshot: BTreeMap::new(),
        }
    }

    /// Applies one record of the group read back from the log (the group's metadata
    /// tombstone, which ends the group, is the coordinator's). A member's session starts
    /// at `now_ms`: it expires unless the member heartbeats again.
    pub fn replay(
        &mut self,
        key: &ShareRecordKey,
        raw: (Bytes, Option<Bytes>),
        value: Option<ShareRecordValue>,
        now_ms: i64,
    ) {
        match raw {
            (k, Some(v)) => self.persisted.insert(k, v),
            (k, None) => self.persisted.remove(&k),
        };
        match (key, value) {
            (ShareRecordKey::Member { member_id, .. }, Some(ShareRecordValue::Member(v))) => {
                let m = self.restored_member(member_id, now_ms);
                m.rack_id = v.rack_id;
                m.client_id = v.client_id;
                m.client_host = v.client_host;
                m.subscribed_topic_names = v.subscribed_topic_names;
            }
            (ShareRecordKey::Member { member_id, .. }, None) => {
                self.members.remove(member_id);
            }
            (
                ShareRecordKey::Group { .. },
                Some(ShareRecordValue::Group {
                    epoch,
                    metadata_hash,
                }),
            ) => {
                self.group_epoch = epoch;
                self.metadata_hash = metadata_hash;
            }
            (
                ShareRecordKey::TargetAssignment { .. },
                Some(ShareRecordValue::TargetAssignment { assignment_epoch }),
            ) => self.assignment_epoch = assignment_epoch,
            (ShareRecordKey::TargetMember { member_id, .. }, v) => match v {
                Some(ShareRecordValue::TargetMember(partitions)) => {
                    self.target.insert(member_id.clone(), partitions);
                }
                _ => {
                    self.target.remove(member_id);
                }
            },
            (
                ShareRecordKey::CurrentAssignment { member_id, .. },
                Some(ShareRecordValue::CurrentAssignment(v)),
            ) => {
                let m = self.restored_member(member_id, now_ms);
                m.member_epoch = v.member_epoch;
                m.previous_member_epoch = v.previous_member_epoch;
                m.assignment = v.assigned;
            }
            (ShareRecordKey::StatePartitions { .. }, v) => {
                self.initialized.clear();
                if let Some(ShareRecordValue::StatePartitions(v)) = v {
                    for topic in v.initializing.into_iter().chain(v.initialized) {
                        let count = topic.partitions.iter().max().map_or(0, |p| p + 1);
                        let assigned = self.assigned_topics.entry(topic.topic_id).or_default();
                        *assigned = (*assigned).max(count);
                        self.topic_names.insert(topic.topic_id, topic.topic_name);
                        self.initialized
                            .entry(topic.topic_id)
                            .or_default()
                            .extend(topic.partitions);
                    }
                }
            }
            // The other tombstones (a member's current assignment goes with the
            // member; the target metadata with the group) and mismatched values.
            _ => {}
        }
    }

    /// The member a replayed record is of, added if it is the first of its records.
    fn restored_member(&mut self, member_id: &str, now_ms: i64) -> &mut ShareMember {
        self.members
            .entry(member_id.to_string())
            .or_insert_with(|| ShareMember::new(member_id, now_ms))
    }
}

/// Kafka's `MetadataHash` of the subscribed topics, rafka's way (FNV-1a over each topic's
/// name, id and partition count; only rafka reads it back): 0 for none.
fn metadata_hash(subscribed: &[TopicInfo]) -> i64 {
    if subscribed.is_empty() {
        return 0;
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            hash ^= u64::from(*b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for topic in subscribed {
        feed(topic.name.as_bytes());
        feed(&[0]);
        feed(topic.topic_id.as_bytes());
        feed(&topic.partitions.to_be_bytes());
    }
    hash as i64
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
        // Kafka's simple assignor: "b" hashes to partition 0 (98 % 2), "a" to 1.
        assert_eq!(partitions(&b), vec![0]);
        // a learns its new assignment and epoch on its next heartbeat.
        let a = beat(&mut group, "a", 2, 10);
        assert_eq!((a.member_epoch, partitions(&a)), (3, vec![1]));
        // A third member shares a partition: nobody idles.
        let c = join(&mut group, "c", 20);
        assert_eq!((c.member_epoch, partitions(&c)), (4, vec![1]));
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
