//! Consumer groups under the new consumer protocol (KIP-848, `ConsumerGroupHeartbeat`):
//! the broker computes the target assignment itself and leads each member to it by
//! heartbeats, revoking before it assigns so that no partition is ever owned twice.
//!
//! Epochs: every change of membership, subscription or subscribed topic metadata bumps
//! the group epoch; the target assignment is recomputed at once (assignment epoch =
//! group epoch). A member reaches the target epoch when it holds no partition outside
//! its target; partitions still owned by another member are withheld ("unreleased")
//! until that member has revoked them. Invariant: the assigned and pending-revocation
//! partitions of all members are pairwise disjoint.
//!
//! Kafka also persists these groups' membership in `__consumer_offsets`; rafka keeps it
//! in memory, so after a broker restart members get UNKNOWN_MEMBER_ID and rejoin (their
//! committed offsets are persisted as for classic groups).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rafka_protocol::ErrorCode;

/// Partitions by topic id.
pub type Partitions = BTreeMap<uuid::Uuid, BTreeSet<i32>>;

/// The epoch a static member sends to leave for a while (KIP-848's static leave).
const LEAVE_STATIC_EPOCH: i32 = -2;

/// A topic as the assignor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub topic_id: uuid::Uuid,
    pub name: String,
    pub partitions: i32,
}

pub use rafka_config::group::ConsumerConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Stable,
    UnrevokedPartitions,
    UnreleasedPartitions,
}

#[derive(Debug, Clone)]
pub struct ConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: MemberState,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    /// What the member may own now.
    pub assigned: Partitions,
    /// What it must give up before it moves on.
    pub pending_revocation: Partitions,
    pub last_heartbeat_ms: i64,
    pub(super) revocation_deadline_ms: Option<i64>,
    /// Set for a member that uses the classic protocol (JoinGroup, SyncGroup, Heartbeat)
    /// in this consumer group: see `migration`.
    pub classic: Option<ClassicProtocol>,
}

/// What a classic-protocol member of a consumer group last joined with.
#[derive(Debug, Clone)]
pub struct ClassicProtocol {
    pub session_timeout_ms: i32,
    /// (protocol name, metadata) in its order of preference; never empty.
    pub protocols: Vec<(String, bytes::Bytes)>,
}

/// One heartbeat, decoded.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    pub owned: Option<Partitions>,
    pub client_id: String,
    pub client_host: String,
    /// v0 lets the broker pick the member id; v1 requires the client's own.
    pub broker_assigns_member_id: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeartbeatResult {
    pub error: Option<(ErrorCode, String)>,
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// Sent when it changed (or on joining); `None` means "unchanged".
    pub assignment: Option<Partitions>,
}

impl HeartbeatResult {
    fn error(code: ErrorCode, message: impl Into<String>, member_id: &str, epoch: i32) -> Self {
        HeartbeatResult {
            error: Some((code, message.into())),
            member_id: member_id.to_string(),
            member_epoch: epoch,
            ..Default::default()
        }
    }
}

pub const ASSIGNORS: &[&str] = &["uniform", "range"];

#[derive(Debug, Default)]
pub struct ConsumerGroupState {
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    pub target: HashMap<String, Partitions>,
    /// The subscribed topics' ids and partition counts at the last assignment.
    subscribed_metadata: Vec<TopicInfo>,
    /// The group's `consumer.session.timeout.ms` as the last heartbeat saw it (a group
    /// config, else the broker's `group.consumer.session.timeout.ms`): the timer expires
    /// consumer-protocol members by it.
    session_timeout_ms: Option<i64>,
}

impl ConsumerMember {
    /// A member that has just joined: epoch 0, nothing assigned or subscribed yet.
    pub fn joining(
        member_id: String,
        instance_id: Option<String>,
        rack_id: Option<String>,
        client_id: String,
        client_host: String,
        rebalance_timeout_ms: i32,
        now_ms: i64,
    ) -> ConsumerMember {
        ConsumerMember {
            member_id,
            instance_id,
            rack_id,
            client_id,
            client_host,
            member_epoch: 0,
            previous_member_epoch: -1,
            state: MemberState::Stable,
            rebalance_timeout_ms,
            subscribed_topic_names: Vec::new(),
            subscribed_topic_regex: None,
            server_assignor: None,
            assigned: Partitions::new(),
            pending_revocation: Partitions::new(),
            last_heartbeat_ms: now_ms,
            revocation_deadline_ms: None,
            classic: None,
        }
    }
}

impl ConsumerGroupState {
    /// Kafka's consumer group states.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.assignment_epoch < self.group_epoch {
            "Assigning"
        } else if self
            .members
            .values()
            .any(|m| m.member_epoch != self.assignment_epoch || m.state != MemberState::Stable)
        {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    pub fn assignor_name(&self) -> &'static str {
        match self
            .members
            .values()
            .find_map(|m| m.server_assignor.as_deref())
        {
            Some("range") => "range",
            _ => "uniform",
        }
    }

    pub fn heartbeat(
        &mut self,
        request: Heartbeat,
        topics: &[TopicInfo],
        config: &ConsumerConfig,
        now_ms: i64,
    ) -> HeartbeatResult {
        self.session_timeout_ms = Some(config.session_timeout_ms);
        if let Some(assignor) = &request.server_assignor {
            if !ASSIGNORS.contains(&assignor.as_str()) {
                return HeartbeatResult::error(
                    ErrorCode::UnsupportedAssignor,
                    format!("Assignor {assignor} is not supported. Supported assignors: uniform, range."),
                    &request.member_id,
                    request.member_epoch,
                );
            }
        }
        if let Some(regex) = &request.subscribed_topic_regex {
            if regex::Regex::new(regex).is_err() {
                return HeartbeatResult::error(
                    ErrorCode::InvalidRegularExpression,
                    format!("SubscribedTopicRegex `{regex}` is not a valid regular expression."),
                    &request.member_id,
                    request.member_epoch,
                );
            }
        }
        let member_id = match request.member_epoch {
            0 => match self.join(&request, config, now_ms) {
                Ok(id) => id,
                Err(e) => return e,
            },
            LEAVE_STATIC_EPOCH if request.instance_id.is_some() => {
                // A static member that leaves temporarily keeps its assignment until its
                // session expires, so its return moves nothing (KIP-345 under KIP-848).
                let member = match self.static_member(&request) {
                    Ok(member) => member,
                    Err(e) => return e,
                };
                member.member_epoch = LEAVE_STATIC_EPOCH;
                member.pending_revocation.clear();
                return HeartbeatResult {
                    member_id: request.member_id,
                    member_epoch: LEAVE_STATIC_EPOCH,
                    heartbeat_interval_ms: config.heartbeat_interval_ms,
                    ..Default::default()
                };
            }
            -1 | LEAVE_STATIC_EPOCH => {
                if request.instance_id.is_some() {
                    if let Err(e) = self.static_member(&request) {
                        return e;
                    }
                }
                let removed = self.leave(&request.member_id, request.instance_id.as_deref());
                if removed {
                    self.bump_epoch();
                    self.maybe_assign(topics);
                }
                return HeartbeatResult {
                    member_id: request.member_id,
                    member_epoch: request.member_epoch,
                    heartbeat_interval_ms: config.heartbeat_interval_ms,
                    ..Default::default()
                };
            }
            epoch => {
                if request.instance_id.is_some() {
                    if let Err(e) = self.static_member(&request) {
                        return e;
                    }
                }
                let Some(member) = self.members.get(&request.member_id) else {
                    return HeartbeatResult::error(
                        ErrorCode::UnknownMemberId,
                        format!("Member {} is not a member of the group.", request.member_id),
                        &request.member_id,
                        epoch,
                    );
                };
                let lost_answer = epoch == member.previous_member_epoch
                    && request
                        .owned
                        .as_ref()
                        .is_some_and(|o| is_subset(o, &member.assigned));
                if epoch != member.member_epoch && !lost_answer {
                    return HeartbeatResult::error(
                        ErrorCode::FencedMemberEpoch,
                        format!(
                            "The member epoch {epoch} does not match the expected epoch {}.",
                            member.member_epoch
                        ),
                        &request.member_id,
                        epoch,
                    );
                }
                request.member_id.clone()
            }
        };
        let member = self
            .members
            .get_mut(&member_id)
            .expect("joined or validated");
        member.last_heartbeat_ms = now_ms;
        member.client_id = request.client_id.clone();
        if request.rebalance_timeout_ms > 0 {
            member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        }
        if request.rack_id.is_some() {
            member.rack_id = request.rack_id.clone();
        }
        if request.server_assignor.is_some() {
            member.server_assignor = request.server_assignor.clone();
        }
        let mut subscription_changed = false;
        if let Some(names) = &request.subscribed_topic_names {
            let mut names = names.clone();
            names.sort();
            names.dedup();
            if names != member.subscribed_topic_names {
                member.subscribed_topic_names = names;
                subscription_changed = true;
            }
        }
        if let Some(regex) = &request.subscribed_topic_regex {
            // An empty regex removes the member's regex: the Java client sends "" when
            // its pattern subscription ends (Kafka keeps "", which matches nothing).
            let regex = Some(regex.clone()).filter(|r| !r.is_empty());
            if regex != member.subscribed_topic_regex {
                member.subscribed_topic_regex = regex;
                subscription_changed = true;
            }
        }
        if subscription_changed || self.subscribed_metadata_changed(topics) {
            self.bump_epoch();
        }
        self.maybe_assign(topics);
        let changed = self.reconcile(&member_id, request.owned.as_ref(), now_ms);
        let member = &self.members[&member_id];
        HeartbeatResult {
            error: None,
            member_id: member_id.clone(),
            member_epoch: member.member_epoch,
            heartbeat_interval_ms: config.heartbeat_interval_ms,
            assignment: if changed || request.member_epoch == 0 {
                Some(member.assigned.clone())
            } else {
                None
            },
        }
    }

    fn join(
        &mut self,
        request: &Heartbeat,
        config: &ConsumerConfig,
        now_ms: i64,
    ) -> Result<String, HeartbeatResult> {
        if request.subscribed_topic_names.is_none() && request.subscribed_topic_regex.is_none() {
            return Err(HeartbeatResult::error(
                ErrorCode::InvalidRequest,
                "SubscribedTopicNames or SubscribedTopicRegex must be set in first request.",
                &request.member_id,
                0,
            ));
        }
        let member_id = if request.member_id.is_empty() {
            if !request.broker_assigns_member_id {
                return Err(HeartbeatResult::error(
                    ErrorCode::InvalidRequest,
                    "MemberId can't be empty.",
                    "",
                    0,
                ));
            }
            uuid::Uuid::new_v4().to_string()
        } else {
            request.member_id.clone()
        };
        // A static member coming back replaces its old incarnation, keeping its
        // assignment.
        let mut inherited: Option<ConsumerMember> = None;
        if let Some(instance) = &request.instance_id {
            let old = self
                .members
                .values()
                .find(|m| m.instance_id.as_deref() == Some(instance.as_str()))
                .map(|m| m.member_id.clone());
            if let Some(old) = old.filter(|o| *o != member_id) {
                // Only an instance id its owner released (epoch -2) may be taken over.
                let owner = &self.members[&old];
                if owner.member_epoch != LEAVE_STATIC_EPOCH {
                    return Err(HeartbeatResult::error(
                        ErrorCode::UnreleasedInstanceId,
                        format!(
                            "Static member {member_id} with instance id {instance} cannot join the \
                             group because the instance id is owned by {old} member."
                        ),
                        &member_id,
                        0,
                    ));
                }
                inherited = self.members.remove(&old);
                if let Some(target) = self.target.remove(&old) {
                    self.target.insert(member_id.clone(), target);
                }
            }
        }
        if let Some(existing) = self.members.get_mut(&member_id) {
            // Rejoining with epoch 0: the member lost its state; start it afresh.
            existing.member_epoch = 0;
            existing.previous_member_epoch = -1;
            existing.state = MemberState::Stable;
            existing.assigned.clear();
            existing.pending_revocation.clear();
            return Ok(member_id);
        }
        if inherited.is_none() && self.members.len() >= config.max_size {
            return Err(HeartbeatResult::error(
                ErrorCode::GroupMaxSizeReached,
                "The consumer group has reached its maximum capacity.",
                &member_id,
                0,
            ));
        }
        let member = match inherited {
            Some(mut old) => {
                old.member_id = member_id.clone();
                old.client_host = request.client_host.clone();
                old
            }
            None => {
                self.bump_epoch();
                ConsumerMember::joining(
                    member_id.clone(),
                    request.instance_id.clone(),
                    request.rack_id.clone(),
                    request.client_id.clone(),
                    request.client_host.clone(),
                    request.rebalance_timeout_ms,
                    now_ms,
                )
            }
        };
        self.members.insert(member_id.clone(), member);
        Ok(member_id)
    }

    /// The static member a heartbeat of `request.instance_id` speaks for: Kafka's
    /// throwIfStaticMemberIsUnknown and throwIfInstanceIdIsFenced.
    fn static_member(
        &mut self,
        request: &Heartbeat,
    ) -> Result<&mut ConsumerMember, HeartbeatResult> {
        let instance = request.instance_id.as_deref().unwrap_or_default();
        let Some(member) = self
            .members
            .values_mut()
            .find(|m| m.instance_id.as_deref() == Some(instance))
        else {
            return Err(HeartbeatResult::error(
                ErrorCode::UnknownMemberId,
                format!("Instance id {instance} is unknown."),
                &request.member_id,
                request.member_epoch,
            ));
        };
        if member.member_id != request.member_id {
            return Err(HeartbeatResult::error(
                ErrorCode::FencedInstanceId,
                format!(
                    "Static member {} with instance id {instance} was fenced by member {}.",
                    request.member_id, member.member_id
                ),
                &request.member_id,
                request.member_epoch,
            ));
        }
        Ok(member)
    }

    /// Removes a member; true if it was there.
    pub fn leave(&mut self, member_id: &str, instance_id: Option<&str>) -> bool {
        let id = match instance_id {
            Some(instance) => self
                .members
                .values()
                .find(|m| m.instance_id.as_deref() == Some(instance))
                .map(|m| m.member_id.clone()),
            None => Some(member_id.to_string()),
        };
        let removed = id.and_then(|id| {
            self.target.remove(&id);
            self.members.remove(&id)
        });
        removed.is_some()
    }

    pub(super) fn bump_epoch(&mut self) {
        self.group_epoch += 1;
    }

    fn subscribed_topics(&self, topics: &[TopicInfo]) -> Vec<TopicInfo> {
        let regexes: Vec<regex::Regex> = self
            .members
            .values()
            .filter_map(|m| m.subscribed_topic_regex.as_deref())
            .filter_map(|r| regex::Regex::new(&format!("^(?:{r})$")).ok())
            .collect();
        topics
            .iter()
            .filter(|t| {
                self.members
                    .values()
                    .any(|m| m.subscribed_topic_names.contains(&t.name))
                    || regexes.iter().any(|r| r.is_match(&t.name))
            })
            .cloned()
            .collect()
    }

    pub(super) fn subscribed_metadata_changed(&self, topics: &[TopicInfo]) -> bool {
        self.subscribed_topics(topics) != self.subscribed_metadata
    }

    pub(super) fn remember_subscribed_metadata(&mut self, topics: &[TopicInfo]) {
        self.subscribed_metadata = self.subscribed_topics(topics);
    }

    /// Kafka's waitingOnUnreleasedPartition: some partition of the member's target is
    /// still held by another member.
    pub(super) fn waiting_on_unreleased(&self, member_id: &str) -> bool {
        let (Some(member), Some(target)) =
            (self.members.get(member_id), self.target.get(member_id))
        else {
            return false;
        };
        let wanted = difference(target, &member.assigned);
        !is_empty(&intersect(&wanted, &self.owned_by_others(member_id)))
    }

    pub(super) fn maybe_assign(&mut self, topics: &[TopicInfo]) {
        if self.assignment_epoch >= self.group_epoch {
            return;
        }
        self.subscribed_metadata = self.subscribed_topics(topics);
        let range = self.assignor_name() == "range";
        self.target = assign(
            &self.members,
            &self.subscribed_metadata,
            &self.target,
            range,
        );
        self.assignment_epoch = self.group_epoch;
    }

    /// Kafka's CurrentAssignmentBuilder: moves one member one step towards its target.
    /// Returns whether its assignment changed.
    pub(super) fn reconcile(
        &mut self,
        member_id: &str,
        owned: Option<&Partitions>,
        now_ms: i64,
    ) -> bool {
        let target = self.target.get(member_id).cloned().unwrap_or_default();
        let owned_by_others = self.owned_by_others(member_id);
        let assignment_epoch = self.assignment_epoch;
        let member = self.members.get_mut(member_id).expect("member exists");
        if member.state == MemberState::UnrevokedPartitions {
            let revoked =
                owned.is_some_and(|o| intersect(o, &member.pending_revocation).is_empty());
            if !revoked {
                return false;
            }
            member.pending_revocation.clear();
            member.revocation_deadline_ms = None;
            member.state = MemberState::Stable;
            // Fall through: the member may now move to the target epoch.
        } else if member.member_epoch == assignment_epoch && member.state == MemberState::Stable {
            return false;
        }
        let kept = intersect(&member.assigned, &target);
        let revoke = difference(&member.assigned, &target);
        if !is_empty(&revoke) {
            member.assigned = kept;
            member.pending_revocation = revoke;
            member.state = MemberState::UnrevokedPartitions;
            member.revocation_deadline_ms =
                Some(now_ms + i64::from(member.rebalance_timeout_ms.max(0)));
            return true;
        }
        let wanted = difference(&target, &kept);
        let unreleased = intersect(&wanted, &owned_by_others);
        let assignable = difference(&wanted, &unreleased);
        let before = member.assigned.clone();
        member.assigned = union(&kept, &assignable);
        if member.member_epoch != assignment_epoch {
            member.previous_member_epoch = member.member_epoch;
            member.member_epoch = assignment_epoch;
        }
        member.state = if is_empty(&unreleased) {
            MemberState::Stable
        } else {
            MemberState::UnreleasedPartitions
        };
        before != member.assigned || before.is_empty()
    }

    fn owned_by_others(&self, member_id: &str) -> Partitions {
        let mut out = Partitions::new();
        for m in self.members.values().filter(|m| m.member_id != member_id) {
            out = union(&out, &union(&m.assigned, &m.pending_revocation));
        }
        out
    }

    /// Expires members past the session timeout and members that would not revoke in
    /// their rebalance timeout; returns whether membership changed.
    pub fn tick(&mut self, topics: &[TopicInfo], config: &ConsumerConfig, now_ms: i64) -> bool {
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                let session_timeout_ms = m.classic.as_ref().map_or(
                    self.session_timeout_ms.unwrap_or(config.session_timeout_ms),
                    |c| i64::from(c.session_timeout_ms),
                );
                now_ms - m.last_heartbeat_ms >= session_timeout_ms
                    || m.revocation_deadline_ms.is_some_and(|d| now_ms >= d)
            })
            .map(|m| m.member_id.clone())
            .collect();
        for id in &expired {
            tracing::info!("consumer group member {id} expired");
            self.leave(id, None);
        }
        if !expired.is_empty() {
            self.bump_epoch();
            self.maybe_assign(topics);
        }
        !expired.is_empty()
    }

    /// OffsetCommit under the consumer protocol carries the member epoch.
    pub fn validate_offset_commit(&self, member_id: &str, epoch: i32) -> Result<(), ErrorCode> {
        // Epoch -1 comes from the admin client or a consumer that assigns partitions
        // itself (librdkafka sends the member id it made up): accepted while the group
        // has no members, as Kafka's ConsumerGroup.validateOffsetCommit does.
        if epoch < 0 && self.members.is_empty() {
            return Ok(());
        }
        let member = self
            .members
            .get(member_id)
            .ok_or(ErrorCode::UnknownMemberId)?;
        if epoch > member.member_epoch {
            return Err(ErrorCode::FencedMemberEpoch);
        }
        if epoch < member.member_epoch && epoch != member.previous_member_epoch {
            return Err(ErrorCode::StaleMemberEpoch);
        }
        Ok(())
    }
}

/// The target assignment: every partition of the subscribed topics goes to one member
/// subscribed to its topic. `uniform` balances counts and keeps previous owners where it
/// can (sticky); `range` gives each member a contiguous range per topic.
pub fn assign(
    members: &BTreeMap<String, ConsumerMember>,
    topics: &[TopicInfo],
    previous: &HashMap<String, Partitions>,
    range: bool,
) -> HashMap<String, Partitions> {
    let mut out: HashMap<String, Partitions> = members
        .keys()
        .map(|m| (m.clone(), Partitions::new()))
        .collect();
    if members.is_empty() {
        return out;
    }
    let subscribed = |m: &ConsumerMember, t: &TopicInfo| {
        m.subscribed_topic_names.contains(&t.name)
            || m.subscribed_topic_regex
                .as_deref()
                .and_then(|r| regex::Regex::new(&format!("^(?:{r})$")).ok())
                .is_some_and(|r| r.is_match(&t.name))
    };
    if range {
        for topic in topics {
            let eligible: Vec<&String> = members
                .values()
                .filter(|m| subscribed(m, topic))
                .map(|m| &m.member_id)
                .collect();
            if eligible.is_empty() {
                continue;
            }
            let n = eligible.len() as i32;
            let (per, extra) = (topic.partitions / n, topic.partitions % n);
            let mut next = 0;
            for (i, member) in eligible.iter().enumerate() {
                let count = per + i32::from((i as i32) < extra);
                let set = out
                    .get_mut(*member)
                    .expect("member")
                    .entry(topic.topic_id)
                    .or_default();
                set.extend(next..next + count);
                next += count;
            }
        }
        return out;
    }
    let mut all: Vec<(uuid::Uuid, i32, Vec<String>)> = Vec::new();
    for topic in topics {
        let eligible: Vec<String> = members
            .values()
            .filter(|m| subscribed(m, topic))
            .map(|m| m.member_id.clone())
            .collect();
        if eligible.is_empty() {
            continue;
        }
        for p in 0..topic.partitions {
            all.push((topic.topic_id, p, eligible.clone()));
        }
    }
    let total = all.len();
    let quota = total.div_ceil(members.len().max(1));
    let mut counts: HashMap<String, usize> = members.keys().map(|m| (m.clone(), 0)).collect();
    // (topic, partition, eligible members, owner)
    let mut placed: Vec<(uuid::Uuid, i32, Vec<String>, String)> = Vec::with_capacity(total);
    let mut rest = Vec::new();
    for (topic_id, p, eligible) in all {
        let owner = previous
            .iter()
            .find(|(_, parts)| parts.get(&topic_id).is_some_and(|s| s.contains(&p)))
            .map(|(m, _)| m.clone())
            .filter(|m| eligible.contains(m) && counts[m] < quota);
        match owner {
            Some(m) => {
                *counts.get_mut(&m).expect("member") += 1;
                placed.push((topic_id, p, eligible, m));
            }
            None => rest.push((topic_id, p, eligible)),
        }
    }
    for (topic_id, p, eligible) in rest {
        let m = eligible
            .iter()
            .min_by_key(|m| (counts[*m], (*m).clone()))
            .expect("eligible is not empty")
            .clone();
        *counts.get_mut(&m).expect("member") += 1;
        placed.push((topic_id, p, eligible, m));
    }
    // Stickiness may leave a newcomer short: move partitions from the fullest member to
    // an eligible emptier one until no move narrows the spread.
    loop {
        let mut moved = false;
        for slot in placed.iter_mut() {
            let (_, _, eligible, owner) = &*slot;
            let Some(target) = eligible
                .iter()
                .filter(|m| counts[*m] + 1 < counts[owner])
                .min_by_key(|m| (counts[*m], (*m).clone()))
                .cloned()
            else {
                continue;
            };
            let owner = owner.clone();
            *counts.get_mut(&owner).expect("member") -= 1;
            *counts.get_mut(&target).expect("member") += 1;
            slot.3 = target;
            moved = true;
        }
        if !moved {
            break;
        }
    }
    for (topic_id, p, _, owner) in placed {
        out.get_mut(&owner)
            .expect("member")
            .entry(topic_id)
            .or_default()
            .insert(p);
    }
    out
}

fn is_empty(p: &Partitions) -> bool {
    p.values().all(BTreeSet::is_empty)
}

fn normalize(mut p: Partitions) -> Partitions {
    p.retain(|_, s| !s.is_empty());
    p
}

fn intersect(a: &Partitions, b: &Partitions) -> Partitions {
    normalize(
        a.iter()
            .map(|(t, s)| {
                (
                    *t,
                    b.get(t)
                        .map(|o| s.intersection(o).copied().collect())
                        .unwrap_or_default(),
                )
            })
            .collect(),
    )
}

fn difference(a: &Partitions, b: &Partitions) -> Partitions {
    normalize(
        a.iter()
            .map(|(t, s)| {
                (
                    *t,
                    match b.get(t) {
                        Some(o) => s.difference(o).copied().collect(),
                        None => s.clone(),
                    },
                )
            })
            .collect(),
    )
}

fn union(a: &Partitions, b: &Partitions) -> Partitions {
    let mut out = a.clone();
    for (t, s) in b {
        out.entry(*t).or_default().extend(s.iter().copied());
    }
    normalize(out)
}

fn is_subset(a: &Partitions, b: &Partitions) -> bool {
    is_empty(&difference(a, b))
}

#[cfg(test)]
pub(super) fn is_disjoint(a: &Partitions, b: &Partitions) -> bool {
    is_empty(&intersect(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str, partitions: i32) -> TopicInfo {
        TopicInfo {
            topic_id: uuid::Uuid::from_u128(
                name.bytes().fold(7u128, |h, b| h * 31 + u128::from(b)),
            ),
            name: name.into(),
            partitions,
        }
    }

    fn join(id: &str, topics: &[&str]) -> Heartbeat {
        Heartbeat {
            member_id: id.into(),
            member_epoch: 0,
            rebalance_timeout_ms: 60_000,
            subscribed_topic_names: Some(topics.iter().map(|t| t.to_string()).collect()),
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            ..Default::default()
        }
    }

    fn beat(id: &str, epoch: i32, owned: &Partitions) -> Heartbeat {
        Heartbeat {
            member_id: id.into(),
            member_epoch: epoch,
            owned: Some(owned.clone()),
            ..Default::default()
        }
    }

    fn count(p: &Partitions) -> usize {
        p.values().map(BTreeSet::len).sum()
    }

    /// Drives members like clients do (adopt every assignment, report it back) until
    /// nothing changes; returns each member's final assignment.
    fn settle(
        group: &mut ConsumerGroupState,
        topics: &[TopicInfo],
        owned: &mut BTreeMap<String, (i32, Partitions)>,
    ) {
        let config = ConsumerConfig::default();
        for _ in 0..20 {
            for (id, (epoch, parts)) in owned.iter_mut() {
                let r = group.heartbeat(beat(id, *epoch, parts), topics, &config, 0);
                assert_eq!(r.error, None, "{id}");
                *epoch = r.member_epoch;
                if let Some(a) = r.assignment {
                    *parts = a;
                }
            }
            // Invariant: no partition is owned twice.
            let all: Vec<(uuid::Uuid, i32)> = owned
                .values()
                .flat_map(|(_, p)| p.iter().flat_map(|(t, s)| s.iter().map(move |x| (*t, *x))))
                .collect();
            let unique: BTreeSet<_> = all.iter().collect();
            assert_eq!(
                all.len(),
                unique.len(),
                "a partition is owned twice: {owned:?}"
            );
        }
    }

    /// A group's own consumer.session.timeout.ms (the config its heartbeats carry) is the
    /// one its members expire by, not the broker-wide default the timer is given.
    #[test]
    fn members_expire_by_the_session_timeout_of_their_group() {
        let topics = vec![topic("t", 2)];
        let broker_wide = ConsumerConfig::default();
        let group_config = ConsumerConfig {
            session_timeout_ms: 1_000,
            heartbeat_interval_ms: 300,
            ..ConsumerConfig::default()
        };
        let mut group = ConsumerGroupState::default();
        let r = group.heartbeat(join("a", &["t"]), &topics, &group_config, 0);
        assert_eq!((r.error, r.heartbeat_interval_ms), (None, 300));
        assert!(!group.tick(&topics, &broker_wide, 999));
        assert_eq!(group.members.len(), 1);
        assert!(group.tick(&topics, &broker_wide, 1_000));
        assert!(group.members.is_empty());
    }

    #[test]
    fn members_converge_to_a_disjoint_covering_assignment() {
        let topics = vec![topic("t", 6)];
        let config = ConsumerConfig::default();
        let mut group = ConsumerGroupState::default();
        let mut owned = BTreeMap::new();
        for id in ["a", "b", "c"] {
            let r = group.heartbeat(join(id, &["t"]), &topics, &config, 0);
            assert_eq!(r.error, None);
            owned.insert(
                id.to_string(),
                (r.member_epoch, r.assignment.unwrap_or_default()),
            );
            settle(&mut group, &topics, &mut owned);
        }
        assert_eq!(group.state_name(), "Stable");
        for (id, (epoch, parts)) in &owned {
            assert_eq!(count(parts), 2, "{id}");
            assert_eq!(*epoch, group.group_epoch);
        }
        // A fourth member joins: everyone ends with 1 or 2, all 6 covered.
        let r = group.heartbeat(join("d", &["t"]), &topics, &config, 0);
        owned.insert(
            "d".into(),
            (r.member_epoch, r.assignment.unwrap_or_default()),
        );
        settle(&mut group, &topics, &mut owned);
        let total: usize = owned.values().map(|(_, p)| count(p)).sum();
        assert_eq!(total, 6);
        assert!(owned.values().all(|(_, p)| (1..=2).contains(&count(p))));
    }

    #[test]
    fn leaving_and_expiry_hand_partitions_to_the_rest() {
        let topics = vec![topic("t", 4)];
        let config = ConsumerConfig::default();
        let mut group = ConsumerGroupState::default();
        let mut owned = BTreeMap::new();
        for id in ["a", "b"] {
            let r = group.heartbeat(join(id, &["t"]), &topics, &config, 0);
            owned.insert(
                id.to_string(),
                (r.member_epoch, r.assignment.unwrap_or_default()),
            );
            settle(&mut group, &topics, &mut owned);
        }
        let leave = Heartbeat {
            member_id: "b".into(),
            member_epoch: -1,
            ..Default::default()
        };
        assert_eq!(group.heartbeat(leave, &topics, &config, 0).member_epoch, -1);
        owned.remove("b");
        settle(&mut group, &topics, &mut owned);
        assert_eq!(count(&owned["a"].1), 4);
        // Expiry of a silent member.
        group.heartbeat(join("c", &["t"]), &topics, &config, 0);
        assert!(group.tick(&topics, &config, 50_000));
        assert!(group.members.is_empty());
    }

    #[test]
    fn wrong_epochs_are_fenced_and_unknown_members_rejected() {
        let topics = vec![topic("t", 2)];
        let config = ConsumerConfig::default();
        let mut group = ConsumerGroupState::default();
        let r = group.heartbeat(join("a", &["t"]), &topics, &config, 0);
        let epoch = r.member_epoch;
        let bad = group.heartbeat(
            beat("a", epoch + 5, &Partitions::new()),
            &topics,
            &config,
            0,
        );
        assert_eq!(bad.error.unwrap().0, ErrorCode::FencedMemberEpoch);
        let unknown = group.heartbeat(beat("zz", 3, &Partitions::new()), &topics, &config, 0);
        assert_eq!(unknown.error.unwrap().0, ErrorCode::UnknownMemberId);
        assert_eq!(group.validate_offset_commit("a", epoch), Ok(()));
        assert_eq!(
            group.validate_offset_commit("a", epoch + 1),
            Err(ErrorCode::FencedMemberEpoch)
        );
        assert_eq!(
            group.validate_offset_commit("", -1),
            Err(ErrorCode::UnknownMemberId)
        );
    }

    #[test]
    fn new_partitions_of_a_subscribed_topic_trigger_a_new_assignment() {
        let mut topics = vec![topic("t", 2)];
        let config = ConsumerConfig::default();
        let mut group = ConsumerGroupState::default();
        let r = group.heartbeat(join("a", &["t"]), &topics, &config, 0);
        let mut owned =
            BTreeMap::from([("a".to_string(), (r.member_epoch, r.assignment.unwrap()))]);
        settle(&mut group, &topics, &mut owned);
        assert_eq!(count(&owned["a"].1), 2);
        topics[0].partitions = 5;
        settle(&mut group, &topics, &mut owned);
        assert_eq!(count(&owned["a"].1), 5);
    }

    #[test]
    fn range_assignor_gives_contiguous_ranges() {
        let topics = vec![topic("t", 5)];
        let mut members = BTreeMap::new();
        for id in ["a", "b"] {
            let mut group = ConsumerGroupState::default();
            group.heartbeat(join(id, &["t"]), &topics, &ConsumerConfig::default(), 0);
            members.insert(id.to_string(), group.members.remove(id).unwrap());
        }
        let out = assign(&members, &topics, &HashMap::new(), true);
        let a: Vec<i32> = out["a"].values().flatten().copied().collect();
        let b: Vec<i32> = out["b"].values().flatten().copied().collect();
        assert_eq!((a, b), (vec![0, 1, 2], vec![3, 4]));
    }
}
