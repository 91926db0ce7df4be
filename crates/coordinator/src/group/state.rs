//! One consumer group under Kafka's classic rebalance protocol: the state machine of
//! Kafka's `ClassicGroup` (Empty → PreparingRebalance → CompletingRebalance → Stable, and
//! Dead), its members, and its committed offsets.
//!
//! Pure logic: time comes in as `now_ms`, persistence goes out through `dirty` (the
//! coordinator writes the group's record when it is set), and deferred JoinGroup and
//! SyncGroup answers go out through oneshot channels. Invariant: every member with a
//! waiting join or sync is answered exactly once, whatever happens to the group.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use rafka_protocol::ErrorCode;
use tokio::sync::oneshot;

pub use super::messages::{JoinRequest, JoinResponse, Reply, SyncResponse};
use super::offsets::PendingOffsets;
pub use super::offsets::{CommittedOffset, OffsetKey};
use super::records::{GroupValue, MemberValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// As Kafka prints it (DescribeGroups, ListGroups, kafka-consumer-groups.sh).
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

pub use rafka_config::group::GroupConfig;

/// SyncGroup answers held until the group's record is written. Dropping them unreleased
/// answers each waiting member with an error (its channel closes).
#[derive(Debug, Default)]
#[must_use = "every held answer must be released"]
pub struct HeldSyncAnswers(Vec<(oneshot::Sender<SyncResponse>, SyncResponse)>);

impl HeldSyncAnswers {
    /// Sends the answers once the write counts, or the write's error to every member
    /// (which then rejoins, as with Kafka's failed group store).
    pub fn release(self, written: Result<(), ErrorCode>) {
        for (waiter, answer) in self.0 {
            let _ = waiter.send(match written {
                Ok(()) => answer,
                Err(code) => SyncResponse::error(code),
            });
        }
    }
}

#[derive(Debug)]
pub struct Member {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    pub last_heartbeat_ms: i64,
    /// Joined during the current rebalance (expires on `new_member_join_timeout_ms`).
    pub is_new: bool,
    join_waiter: Option<oneshot::Sender<JoinResponse>>,
    sync_waiter: Option<oneshot::Sender<SyncResponse>>,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    pub fn subscription(&self, protocol: Option<&str>) -> Bytes {
        protocol.map(|p| self.metadata_for(p)).unwrap_or_default()
    }

    fn same_protocols(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }
}

#[derive(Debug)]
pub struct Group {
    pub group_id: String,
    pub state: GroupState,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader_id: Option<String>,
    /// In join order (the first member of a fresh group becomes its leader).
    pub members: Vec<Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet rejoined, by when they
    /// expire.
    pending_members: HashMap<String, i64>,
    pub offsets: BTreeMap<(String, i32), CommittedOffset>,
    /// Offsets committed inside transactions that have not ended yet (see `offsets`).
    pub pending_offsets: PendingOffsets,
    /// When the group entered its current state.
    pub state_timestamp_ms: i64,
    /// PreparingRebalance: when the join phase ends regardless of who has rejoined.
    join_deadline_ms: Option<i64>,
    /// PreparingRebalance from Empty: the initial delay may extend up to here.
    initial_delay_cap_ms: Option<i64>,
    /// CompletingRebalance: when members that have not synced are dropped.
    sync_deadline_ms: Option<i64>,
    /// The group's record must be (re)written to `__consumer_offsets`.
    pub dirty: bool,
    /// The SyncGroup answers of a completed rebalance, held until the group's record is
    /// written (`take_held_sync_answers`): Kafka answers no member before the store.
    held_sync_answers: Vec<(oneshot::Sender<SyncResponse>, SyncResponse)>,
    /// Set when the group runs the new consumer protocol (KIP-848) instead of the
    /// classic one.
    pub consumer: Option<super::consumer::ConsumerGroupState>,
}

impl Group {
    pub fn new(group_id: &str, now_ms: i64) -> Group {
        Group {
            group_id: group_id.to_string(),
            state: GroupState::Empty,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: Vec::new(),
            pending_members: HashMap::new(),
            offsets: BTreeMap::new(),
            pending_offsets: Default::default(),
            state_timestamp_ms: now_ms,
            join_deadline_ms: None,
            initial_delay_cap_ms: None,
            sync_deadline_ms: None,
            dirty: false,
            held_sync_answers: Vec::new(),
            consumer: None,
        }
    }

    /// The state as Kafka names it, for either protocol.
    pub fn state_name(&self) -> &'static str {
        match &self.consumer {
            Some(consumer) => consumer.state_name(),
            None => self.state.name(),
        }
    }

    /// "classic" or "consumer", as ListGroups reports the group type.
    pub fn group_type(&self) -> &'static str {
        if self.consumer.is_some() {
            "consumer"
        } else {
            "classic"
        }
    }

    /// True if the group has no live members under either protocol.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.consumer.as_ref().is_none_or(|c| c.members.is_empty())
    }

    pub fn member(&self, member_id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.member_id == member_id)
    }

    fn member_mut(&mut self, member_id: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.member_id == member_id)
    }

    fn member_by_instance(&self, instance_id: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.group_instance_id.as_deref() == Some(instance_id))
    }

    fn transition(&mut self, state: GroupState, now_ms: i64) {
        self.state = state;
        self.state_timestamp_ms = now_ms;
    }

    /// Checks a request's member against the group: unknown ids and fenced static
    /// instances get Kafka's errors.
    fn validate_member(&self, member_id: &str, instance_id: Option<&str>) -> Result<(), ErrorCode> {
        if let Some(instance) = instance_id {
            if let Some(owner) = self.member_by_instance(instance) {
                if owner.member_id != member_id {
                    return Err(ErrorCode::FencedInstanceId);
                }
                return Ok(());
            }
        }
        if self.member(member_id).is_none() {
            return Err(ErrorCode::UnknownMemberId);
        }
        Ok(())
    }

    fn max_rebalance_timeout_ms(&self) -> i64 {
        self.members
            .iter()
            .map(|m| i64::from(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
    }

    /// The protocols every member supports.
    fn candidate_protocols(&self) -> Vec<String> {
        let Some(first) = self.members.first() else {
            return Vec::new();
        };
        first
            .protocols
            .iter()
            .map(|(name, _)| name.clone())
            .filter(|name| {
                self.members
                    .iter()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == name))
            })
            .collect()
    }

    /// Each member votes for its most preferred candidate; most votes wins, ties going
    /// to the first member's preference.
    fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols();
        let mut votes: Vec<(String, usize)> = candidates.iter().map(|c| (c.clone(), 0)).collect();
        for member in &self.members {
            if let Some((name, _)) = member
                .protocols
                .iter()
                .find(|(n, _)| candidates.contains(n))
            {
                if let Some(v) = votes.iter_mut().find(|(c, _)| c == name) {
                    v.1 += 1;
                }
            }
        }
        let best = votes.iter().map(|(_, n)| *n).max()?;
        votes.into_iter().find(|(_, n)| *n == best).map(|(c, _)| c)
    }

    fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        let candidates = self.candidate_protocols();
        protocols.iter().any(|(name, _)| candidates.contains(name))
    }

    // ---- JoinGroup ----------------------------------------------------------------

    pub fn join(
        &mut self,
        request: JoinRequest,
        config: &GroupConfig,
        now_ms: i64,
    ) -> Reply<JoinResponse> {
        let member_id = request.member_id.clone();
        if self.state == GroupState::Dead {
            return Reply::Now(JoinResponse::error(
                ErrorCode::CoordinatorNotAvailable,
                &member_id,
            ));
        }
        if request.session_timeout_ms < config.min_session_timeout_ms
            || request.session_timeout_ms > config.max_session_timeout_ms
        {
            return Reply::Now(JoinResponse::error(
                ErrorCode::InvalidSessionTimeout,
                &member_id,
            ));
        }
        if !self.supports_protocols(&request.protocol_type, &request.protocols) {
            return Reply::Now(JoinResponse::error(
                ErrorCode::InconsistentGroupProtocol,
                &member_id,
            ));
        }
        if member_id.is_empty() {
            self.join_new_member(request, config, now_ms)
        } else {
            self.join_known_member(request, config, now_ms)
        }
    }

    fn join_new_member(
        &mut self,
        request: JoinRequest,
        config: &GroupConfig,
        now_ms: i64,
    ) -> Reply<JoinResponse> {
        if let Some(instance) = request.group_instance_id.clone() {
            if let Some(old_id) = self
                .member_by_instance(&instance)
                .map(|m| m.member_id.clone())
            {
                return self.replace_static_member(&old_id, request, config, now_ms);
            }
        }
        if self.members.len() + self.pending_members.len() >= config.max_size {
            return Reply::Now(JoinResponse::error(ErrorCode::GroupMaxSizeReached, ""));
        }
        let prefix = request
            .group_instance_id
            .clone()
            .unwrap_or_else(|| request.client_id.clone());
        let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        if request.require_known_member_id && request.group_instance_id.is_none() {
            self.pending_members.insert(
                new_id.clone(),
                now_ms + i64::from(request.session_timeout_ms),
            );
            return Reply::Now(JoinResponse::error(ErrorCode::MemberIdRequired, &new_id));
        }
        self.add_member_and_rebalance(new_id, request, config, now_ms)
    }

    fn join_known_member(
        &mut self,
        request: JoinRequest,
        config: &GroupConfig,
        now_ms: i64,
    ) -> Reply<JoinResponse> {
        let member_id = request.member_id.clone();
        if self.pending_members.remove(&member_id).is_some() {
            return self.add_member_and_rebalance(member_id, request, config, now_ms);
        }
        if let Err(e) = self.validate_member(&member_id, request.group_instance_id.as_deref()) {
            return Reply::Now(JoinResponse::error(e, &member_id));
        }
        let state = self.state;
        let is_leader = self.leader_id.as_deref() == Some(member_id.as_str());
        let member = self.member_mut(&member_id).expect("validated above");
        let same = member.same_protocols(&request.protocols);
        member.last_heartbeat_ms = now_ms;
        member.session_timeout_ms = request.session_timeout_ms;
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        member.client_id = request.client_id.clone();
        match state {
            GroupState::PreparingRebalance => {
                member.protocols = request.protocols;
                let (tx, rx) = oneshot::channel();
                if let Some(old) = member.join_waiter.replace(tx) {
                    let _ = old.send(JoinResponse::error(
                        ErrorCode::RebalanceInProgress,
                        &member_id,
                    ));
                }
                self.maybe_complete_join(now_ms);
                Reply::Later(rx)
            }
            GroupState::CompletingRebalance if same => {
                // The member lost our JoinGroup answer: send it again.
                Reply::Now(self.join_response_for(&member_id))
            }
            GroupState::Stable if same && !is_leader => {
                Reply::Now(self.join_response_for(&member_id))
            }
            _ => {
                member.protocols = request.protocols;
                let (tx, rx) = oneshot::channel();
                member.join_waiter = Some(tx);
                self.prepare_rebalance(config, now_ms);
                Reply::Later(rx)
            }
        }
    }

    fn replace_static_member(
        &mut self,
        old_id: &str,
        request: JoinRequest,
        config: &GroupConfig,
        now_ms: i64,
    ) -> Reply<JoinResponse> {
        let prefix = request.group_instance_id.clone().unwrap_or_default();
        let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        let state = self.state;
        let was_leader = self.leader_id.as_deref() == Some(old_id);
        let member = self.member_mut(old_id).expect("found by instance");
        // The old incarnation is fenced: its waiting calls learn so now.
        if let Some(w) = member.join_waiter.take() {
            let _ = w.send(JoinResponse::error(ErrorCode::FencedInstanceId, old_id));
        }
        if let Some(w) = member.sync_waiter.take() {
            let _ = w.send(SyncResponse::error(ErrorCode::FencedInstanceId));
        }
        member.member_id = new_id.clone();
        member.client_id = request.client_id.clone();
        member.client_host = request.client_host.clone();
        member.session_timeout_ms = request.session_timeout_ms;
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        member.last_heartbeat_ms = now_ms;
        // Its metadata (owned partitions, generation) may differ after a restart; only a
        // change of the group's selected protocol forces a rebalance, as in Kafka.
        member.protocols = request.protocols;
        if was_leader {
            self.leader_id = Some(new_id.clone());
        }
        let unchanged = self.select_protocol() == self.protocol_name;
        if state == GroupState::Stable && unchanged {
            // KIP-345: a static member coming back keeps its assignment without a
            // rebalance. A returning leader must not assign again: v9+ says so with
            // skip_assignment; older clients are shown the old leader id and so act as
            // followers.
            self.dirty = true;
            let mut response = self.join_response_for(&new_id);
            if was_leader && request.supports_skip_assignment {
                response.skip_assignment = true;
            } else {
                response.members.clear();
                if was_leader {
                    response.leader_id = old_id.to_string();
                }
            }
            return Reply::Now(response);
        }
        let member = self.member_mut(&new_id).expect("just renamed");
        let (tx, rx) = oneshot::channel();
        member.join_waiter = Some(tx);
        if state == GroupState::PreparingRebalance {
            self.maybe_complete_join(now_ms);
        } else {
            self.prepare_rebalance(config, now_ms);
        }
        Reply::Later(rx)
    }

    fn add_member_and_rebalance(
        &mut self,
        member_id: String,
        request: JoinRequest,
        config: &GroupConfig,
        now_ms: i64,
    ) -> Reply<JoinResponse> {
        if self.members.is_empty() {
            self.protocol_type = Some(request.protocol_type.clone());
        }
        let (tx, rx) = oneshot::channel();
        self.members.push(Member {
            member_id,
            group_instance_id: request.group_instance_id,
            client_id: request.client_id,
            client_host: request.client_host,
            session_timeout_ms: request.session_timeout_ms,
            rebalance_timeout_ms: request.rebalance_timeout_ms,
            protocol_type: request.protocol_type,
            protocols: request.protocols,
            assignment: Bytes::new(),
            last_heartbeat_ms: now_ms,
            is_new: true,
            join_waiter: Some(tx),
            sync_waiter: None,
        });
        if self.state == GroupState::PreparingRebalance {
            // A new member during the initial delay pushes the delay out (Kafka's
            // InitialDelayedJoin), never beyond the rebalance timeout.
            if let (Some(deadline), Some(cap)) = (self.join_deadline_ms, self.initial_delay_cap_ms)
            {
                self.join_deadline_ms =
                    Some((deadline.max(now_ms) + config.initial_rebalance_delay_ms).min(cap));
            }
            self.maybe_complete_join(now_ms);
        } else {
            self.prepare_rebalance(config, now_ms);
        }
        Reply::Later(rx)
    }

    fn prepare_rebalance(&mut self, config: &GroupConfig, now_ms: i64) {
        if self.state == GroupState::CompletingRebalance {
            // Members waiting for their assignment must rejoin.
            for member in &mut self.members {
                if let Some(w) = member.sync_waiter.take() {
                    let _ = w.send(SyncResponse::error(ErrorCode::RebalanceInProgress));
                }
            }
        }
        let from_empty = self.state == GroupState::Empty;
        self.transition(GroupState::PreparingRebalance, now_ms);
        self.sync_deadline_ms = None;
        let rebalance_timeout = self.max_rebalance_timeout_ms();
        if from_empty && config.initial_rebalance_delay_ms > 0 {
            self.join_deadline_ms = Some(
                now_ms
                    + config
                        .initial_rebalance_delay_ms
                        .min(rebalance_timeout.max(1)),
            );
            self.initial_delay_cap_ms =
                Some(now_ms + rebalance_timeout.max(config.initial_rebalance_delay_ms));
        } else {
            self.join_deadline_ms = Some(now_ms + rebalance_timeout);
            self.initial_delay_cap_ms = None;
            self.maybe_complete_join(now_ms);
        }
    }

    /// Ends the join phase when every member has rejoined (outside the initial delay) or
    /// the deadline has passed; members that did not rejoin are removed.
    fn maybe_complete_join(&mut self, now_ms: i64) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let deadline_passed = self.join_deadline_ms.is_some_and(|d| now_ms >= d);
        let in_initial_delay = self.initial_delay_cap_ms.is_some() && !deadline_passed;
        let all_joined = self.members.iter().all(|m| m.join_waiter.is_some());
        if in_initial_delay || !(all_joined || deadline_passed) {
            return;
        }
        // Drop those that did not rejoin in time.
        let (kept, gone): (Vec<Member>, Vec<Member>) = std::mem::take(&mut self.members)
            .into_iter()
            .partition(|m| m.join_waiter.is_some());
        self.members = kept;
        drop(gone);
        self.join_deadline_ms = None;
        self.initial_delay_cap_ms = None;
        self.generation_id += 1;
        if self.members.is_empty() {
            self.protocol_name = None;
            self.leader_id = None;
            self.transition(GroupState::Empty, now_ms);
            self.dirty = true;
            return;
        }
        self.protocol_name = self.select_protocol();
        if !self
            .leader_id
            .as_ref()
            .is_some_and(|l| self.members.iter().any(|m| &m.member_id == l))
        {
            self.leader_id = Some(self.members[0].member_id.clone());
        }
        self.transition(GroupState::CompletingRebalance, now_ms);
        self.sync_deadline_ms = Some(now_ms + self.max_rebalance_timeout_ms());
        let responses: Vec<(usize, JoinResponse)> = (0..self.members.len())
            .map(|i| (i, self.join_response_for(&self.members[i].member_id)))
            .collect();
        for (i, response) in responses {
            let member = &mut self.members[i];
            member.is_new = false;
            member.last_heartbeat_ms = now_ms;
            if let Some(w) = member.join_waiter.take() {
                let _ = w.send(response);
            }
        }
    }

    fn join_response_for(&self, member_id: &str) -> JoinResponse {
        let leader = self.leader_id.clone().unwrap_or_default();
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let members = if leader == member_id {
            self.members
                .iter()
                .map(|m| {
                    (
                        m.member_id.clone(),
                        m.group_instance_id.clone(),
                        m.metadata_for(&protocol),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResponse {
            error: None,
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader_id: leader,
            member_id: member_id.to_string(),
            members,
            skip_assignment: false,
        }
    }

    // ---- SyncGroup ----------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
        now_ms: i64,
    ) -> Reply<SyncResponse> {
        if self.state == GroupState::Dead {
            return Reply::Now(SyncResponse::error(ErrorCode::CoordinatorNotAvailable));
        }
        if let Err(e) = self.validate_member(member_id, instance_id) {
            return Reply::Now(SyncResponse::error(e));
        }
        if generation_id != self.generation_id {
            return Reply::Now(SyncResponse::error(ErrorCode::IllegalGeneration));
        }
        if protocol_type.is_some_and(|t| Some(t) != self.protocol_type.as_deref())
            || protocol_name.is_some_and(|n| Some(n) != self.protocol_name.as_deref())
        {
            return Reply::Now(SyncResponse::error(ErrorCode::InconsistentGroupProtocol));
        }
        match self.state {
            GroupState::Empty => Reply::Now(SyncResponse::error(ErrorCode::UnknownMemberId)),
            GroupState::PreparingRebalance => {
                Reply::Now(SyncResponse::error(ErrorCode::RebalanceInProgress))
            }
            GroupState::Stable => {
                let member = self.member(member_id).expect("validated");
                Reply::Now(self.sync_response(member.assignment.clone()))
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                let member = self.member_mut(member_id).expect("validated");
                member.last_heartbeat_ms = now_ms;
                member.sync_waiter = Some(tx);
                if self.leader_id.as_deref() == Some(member_id) {
                    let mut assignments: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for member in &mut self.members {
                        member.assignment =
                            assignments.remove(&member.member_id).unwrap_or_default();
                    }
                    self.transition(GroupState::Stable, now_ms);
                    self.sync_deadline_ms = None;
                    self.dirty = true;
                    let template = self.sync_response(Bytes::new());
                    for member in &mut self.members {
                        if let Some(w) = member.sync_waiter.take() {
                            let answer = SyncResponse {
                                assignment: member.assignment.clone(),
                                ..template.clone()
                            };
                            self.held_sync_answers.push((w, answer));
                        }
                    }
                }
                Reply::Later(rx)
            }
            GroupState::Dead => unreachable!("checked above"),
        }
    }

    /// The SyncGroup answers a step completed, to release once the group's record is
    /// written (the caller takes them under the group lock, awaits the write after it).
    pub fn take_held_sync_answers(&mut self) -> HeldSyncAnswers {
        HeldSyncAnswers(std::mem::take(&mut self.held_sync_answers))
    }

    fn sync_response(&self, assignment: Bytes) -> SyncResponse {
        SyncResponse {
            error: None,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            assignment,
        }
    }

    // ---- Heartbeat, LeaveGroup, OffsetCommit checks -----------------------------------

    pub fn heartbeat(
        &mut self,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
        now_ms: i64,
    ) -> Option<ErrorCode> {
        if self.state == GroupState::Dead {
            return Some(ErrorCode::CoordinatorNotAvailable);
        }
        if let Err(e) = self.validate_member(member_id, instance_id) {
            return Some(e);
        }
        if generation_id != self.generation_id {
            return Some(ErrorCode::IllegalGeneration);
        }
        let state = self.state;
        if let Some(member) = self.member_mut(member_id) {
            member.last_heartbeat_ms = now_ms;
        }
        match state {
            GroupState::Empty => Some(ErrorCode::UnknownMemberId),
            GroupState::PreparingRebalance => Some(ErrorCode::RebalanceInProgress),
            _ => None,
        }
    }

    /// Removes a member (LeaveGroup). An unknown static instance or member id is an error.
    pub fn leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        config: &GroupConfig,
        now_ms: i64,
    ) -> Option<ErrorCode> {
        if self.state == GroupState::Dead {
            return Some(ErrorCode::CoordinatorNotAvailable);
        }
        let target = match instance_id {
            Some(instance) => match self.member_by_instance(instance) {
                Some(m) if member_id.is_empty() || m.member_id == member_id => m.member_id.clone(),
                Some(_) => return Some(ErrorCode::FencedInstanceId),
                None => return Some(ErrorCode::UnknownMemberId),
            },
            None => {
                if self.pending_members.remove(member_id).is_some() {
                    return None;
                }
                if self.member(member_id).is_none() {
                    return Some(ErrorCode::UnknownMemberId);
                }
                member_id.to_string()
            }
        };
        self.remove_member(&target, config, now_ms);
        None
    }

    fn remove_member(&mut self, member_id: &str, config: &GroupConfig, now_ms: i64) {
        let Some(index) = self.members.iter().position(|m| m.member_id == member_id) else {
            return;
        };
        let mut member = self.members.remove(index);
        if let Some(w) = member.join_waiter.take() {
            let _ = w.send(JoinResponse::error(ErrorCode::UnknownMemberId, member_id));
        }
        if let Some(w) = member.sync_waiter.take() {
            let _ = w.send(SyncResponse::error(ErrorCode::UnknownMemberId));
        }
        if self.leader_id.as_deref() == Some(member_id) {
            self.leader_id = self.members.first().map(|m| m.member_id.clone());
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(config, now_ms)
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(now_ms),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// May this member commit offsets for this generation? `generation_id < 0` with no
    /// member id is a commit from outside any group (a "simple" consumer or a tool),
    /// allowed only while the group has no members.
    pub fn validate_offset_commit(
        &self,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), ErrorCode> {
        self.validate_commit(generation_id, member_id, instance_id, false)
    }

    // ---- Transactional offsets (see `offsets`) ----------------------------------------

    /// May a transactional producer commit offsets for this member and generation
    /// (TxnOffsetCommit)? As for OffsetCommit, except that a request without any member
    /// information (TxnOffsetCommit before v3 carries none) is accepted whatever the
    /// group's state, a rebalance in progress refuses nothing, and a consumer group's
    /// stale member epoch is ILLEGAL_GENERATION, which transactional producers know
    /// (Kafka's OffsetMetadataManager.validateTransactionalOffsetCommit).
    pub fn validate_txn_offset_commit(
        &self,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), ErrorCode> {
        self.validate_commit(generation_id, member_id, instance_id, true)
    }

    /// Kafka's `ClassicGroup.validateOffsetCommit(isTransactional)`, and the consumer
    /// group's member checks.
    fn validate_commit(
        &self,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
        transactional: bool,
    ) -> Result<(), ErrorCode> {
        if self.state == GroupState::Dead {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        if let Some(consumer) = &self.consumer {
            return consumer
                .validate_offset_commit(member_id, generation_id)
                .map_err(|e| match e {
                    ErrorCode::StaleMemberEpoch if transactional => ErrorCode::IllegalGeneration,
                    other => other,
                });
        }
        // Generation -1 comes from the admin client or a consumer that assigns partitions
        // itself (whatever member id it made up): accepted while the group is empty.
        if generation_id < 0 && self.state == GroupState::Empty {
            return Ok(());
        }
        if generation_id >= 0 || !member_id.is_empty() || instance_id.is_some() {
            self.validate_member(member_id, instance_id)?;
            if generation_id != self.generation_id {
                return Err(ErrorCode::IllegalGeneration);
            }
        } else if !transactional && self.state != GroupState::Empty {
            return Err(ErrorCode::UnknownMemberId);
        }
        if !transactional && self.state == GroupState::CompletingRebalance {
            return Err(ErrorCode::RebalanceInProgress);
        }
        Ok(())
    }

    /// Makes `offset` the committed offset of `key` (a plain OffsetCommit, or its record
    /// replayed): it outranks the pending transactional offsets written before it.
    pub fn put_committed_offset(&mut self, key: OffsetKey, offset: CommittedOffset) {
        self.pending_offsets.outrank(&key);
        self.offsets.insert(key, offset);
    }

    /// Deletes `key`'s committed offset and its pending transactional ones (a tombstone).
    pub fn remove_offset(&mut self, key: &OffsetKey) {
        self.offsets.remove(key);
        self.pending_offsets.remove(key);
    }

    /// The committed offset of `key` as OffsetFetch answers it. With `require_stable`
    /// (OffsetFetch v7+, sent by read_committed consumers), UNSTABLE_OFFSET_COMMIT while an
    /// open transaction holds an offset of `key`: the committed one may be about to
    /// change (Kafka's `OffsetMetadataManager.fetchOffsets`).
    pub fn fetch_offset(
        &self,
        key: &OffsetKey,
        require_stable: bool,
    ) -> Result<Option<&CommittedOffset>, ErrorCode> {
        if require_stable && self.pending_offsets.contains(key) {
            return Err(ErrorCode::UnstableOffsetCommit);
        }
        Ok(self.offsets.get(key))
    }

    /// Ends `producer_id`'s transaction in this group (its marker is in the group's
    /// partition): on commit its pending offsets become the committed ones, unless a
    /// later write outranks them; on abort they are dropped. Returns how many offsets
    /// were committed.
    pub fn complete_transaction(&mut self, producer_id: i64, commit: bool) -> usize {
        let committed = self.pending_offsets.complete(producer_id, commit);
        let count = committed.len();
        self.offsets.extend(committed);
        count
    }

    // ---- Time -------------------------------------------------------------------------

    /// Expires members, pending ids, and join/sync phases that ran out of time.
    pub fn tick(&mut self, config: &GroupConfig, now_ms: i64) {
        self.pending_members.retain(|_, expires| *expires > now_ms);
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|m| {
                let awaiting = m.join_waiter.is_some() || m.sync_waiter.is_some();
                if m.is_new {
                    now_ms - m.last_heartbeat_ms >= config.new_member_join_timeout_ms
                } else {
                    !awaiting && now_ms - m.last_heartbeat_ms >= i64::from(m.session_timeout_ms)
                }
            })
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in expired {
            tracing::info!("group {}: member {member_id} expired", self.group_id);
            self.remove_member(&member_id, config, now_ms);
        }
        if self.state == GroupState::PreparingRebalance {
            self.maybe_complete_join(now_ms);
        }
        if self.state == GroupState::CompletingRebalance
            && self.sync_deadline_ms.is_some_and(|d| now_ms >= d)
        {
            let lagging: Vec<String> = self
                .members
                .iter()
                .filter(|m| m.sync_waiter.is_none())
                .map(|m| m.member_id.clone())
                .collect();
            self.sync_deadline_ms = None;
            for member_id in lagging {
                self.remove_member(&member_id, config, now_ms);
            }
        }
    }

    /// Offsets past `offsets.retention.minutes`: for a group that used the group protocol,
    /// all of them once it has been empty that long (KIP-211); for a group that only ever
    /// committed (no protocol), each one that long after its commit. Returns the removed
    /// keys, for tombstones. An offset with a pending transactional one waits for its
    /// transaction to end, as in Kafka's `cleanupExpiredOffsets`.
    pub fn expire_offsets(&mut self, config: &GroupConfig, now_ms: i64) -> Vec<(String, i32)> {
        if self.state != GroupState::Empty || !self.is_empty() {
            return Vec::new();
        }
        let retention = config.offsets_retention_ms;
        let expired: Vec<(String, i32)> = if self.protocol_type.is_some() {
            if now_ms - self.state_timestamp_ms >= retention {
                self.offsets.keys().cloned().collect()
            } else {
                Vec::new()
            }
        } else {
            self.offsets
                .iter()
                .filter(|(_, o)| now_ms - o.commit_timestamp_ms >= retention)
                .map(|(k, _)| k.clone())
                .collect()
        };
        let expired: Vec<(String, i32)> = expired
            .into_iter()
            .filter(|k| !self.pending_offsets.contains(k))
            .collect();
        for key in &expired {
            self.offsets.remove(key);
        }
        expired
    }

    /// Marks the group deleted; every waiting member is told to find the coordinator.
    pub fn mark_dead(&mut self, now_ms: i64) {
        for member in &mut self.members {
            if let Some(w) = member.join_waiter.take() {
                let _ = w.send(JoinResponse::error(
                    ErrorCode::CoordinatorNotAvailable,
                    &member.member_id,
                ));
            }
            if let Some(w) = member.sync_waiter.take() {
                let _ = w.send(SyncResponse::error(ErrorCode::CoordinatorNotAvailable));
            }
        }
        self.members.clear();
        self.offsets.clear();
        self.pending_offsets.clear();
        self.transition(GroupState::Dead, now_ms);
    }

    // ---- Online migration between the protocols (see `migration`) ----------------------

    /// The first ConsumerGroupHeartbeat to a non-empty classic group converts it, if every
    /// member speaks the embedded consumer protocol and the group fits the consumer
    /// group's maximum size (Kafka's validateOnlineUpgrade); false leaves it as it was.
    /// Members waiting in a rebalance are told REBALANCE_IN_PROGRESS and rejoin.
    pub fn upgrade_to_consumer(
        &mut self,
        topics: &[super::consumer::TopicInfo],
        max_size: usize,
        now_ms: i64,
    ) -> bool {
        use super::migration::{ClassicMemberSnapshot, CONSUMER_PROTOCOL_TYPE};
        if self.consumer.is_some()
            || self.state == GroupState::Dead
            || self.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE)
            || self.members.len() > max_size
        {
            return false;
        }
        let protocol = self.protocol_name.clone();
        let snapshots: Vec<ClassicMemberSnapshot> = self
            .members
            .iter()
            .map(|m| ClassicMemberSnapshot {
                member_id: m.member_id.clone(),
                instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                session_timeout_ms: m.session_timeout_ms,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                protocols: m.protocols.clone(),
                subscription: match &protocol {
                    Some(p) => m.metadata_for(p),
                    None => m
                        .protocols
                        .first()
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default(),
                },
                assignment: m.assignment.clone(),
                last_heartbeat_ms: m.last_heartbeat_ms,
            })
            .collect();
        let Some(consumer) = super::consumer::ConsumerGroupState::from_classic(
            self.generation_id,
            snapshots,
            topics,
        ) else {
            return false;
        };
        tracing::info!("group {}: upgraded from classic to consumer", self.group_id);
        for member in &mut self.members {
            if let Some(w) = member.join_waiter.take() {
                let _ = w.send(JoinResponse::error(
                    ErrorCode::RebalanceInProgress,
                    &member.member_id,
                ));
            }
            if let Some(w) = member.sync_waiter.take() {
                let _ = w.send(SyncResponse::error(ErrorCode::RebalanceInProgress));
            }
        }
        self.members.clear();
        self.pending_members.clear();
        self.leader_id = None;
        self.protocol_name = None;
        self.join_deadline_ms = None;
        self.initial_delay_cap_ms = None;
        self.sync_deadline_ms = None;
        self.transition(GroupState::Empty, now_ms);
        self.consumer = Some(consumer);
        self.dirty = true;
        true
    }

    /// A classic JoinGroup to a consumer group without members: the group becomes a
    /// classic group again (Kafka deletes the empty consumer group first).
    pub fn drop_empty_consumer_group(&mut self) {
        if self.consumer.as_ref().is_some_and(|c| c.members.is_empty()) {
            self.consumer = None;
            self.protocol_type = None;
        }
    }

    /// When only classic-protocol members remain in a consumer group, it becomes a
    /// classic group at the group epoch, keeping their assignments, and rebalances
    /// (Kafka's convertToClassicGroup after a member left).
    pub fn maybe_downgrade_to_classic(
        &mut self,
        topics: &[super::consumer::TopicInfo],
        config: &GroupConfig,
        now_ms: i64,
    ) {
        use super::migration::{decode_subscription, encode_assignment};
        let Some(consumer) = self.consumer.as_ref().filter(|c| c.should_downgrade()) else {
            return;
        };
        let Some(consumer) = (consumer.members.len() <= config.max_size)
            .then(|| self.consumer.take())
            .flatten()
        else {
            return;
        };
        tracing::info!(
            "group {}: downgraded from consumer to classic",
            self.group_id
        );
        self.members = consumer
            .members
            .into_values()
            .map(|m| {
                let classic = m.classic.expect("should_downgrade: all classic");
                let version = classic
                    .protocols
                    .first()
                    .and_then(|(_, metadata)| decode_subscription(metadata.clone()))
                    .map_or(0, |s| s.version);
                Member {
                    assignment: encode_assignment(version, &m.assigned, topics),
                    member_id: m.member_id,
                    group_instance_id: m.instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    session_timeout_ms: classic.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    protocol_type: super::migration::CONSUMER_PROTOCOL_TYPE.to_string(),
                    protocols: classic.protocols,
                    last_heartbeat_ms: now_ms,
                    is_new: false,
                    join_waiter: None,
                    sync_waiter: None,
                }
            })
            .collect();
        self.protocol_type = Some(super::migration::CONSUMER_PROTOCOL_TYPE.to_string());
        self.generation_id = consumer.group_epoch;
        self.protocol_name = self.select_protocol();
        self.leader_id = self.members.first().map(|m| m.member_id.clone());
        self.transition(GroupState::Stable, now_ms);
        self.dirty = true;
        self.prepare_rebalance(config, now_ms);
    }

    // ---- Persistence ------------------------------------------------------------------

    pub fn to_record(&self) -> GroupValue {
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation_id: self.generation_id,
            protocol_name: self.protocol_name.clone(),
            leader_id: self.leader_id.clone(),
            current_state_timestamp_ms: self.state_timestamp_ms,
            members: self
                .members
                .iter()
                .map(|m| MemberValue {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: m.subscription(self.protocol_name.as_deref()),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Restores a group from its record at load time: Stable with its members (they
    /// keep their session by heartbeating) or Empty.
    pub fn restore(&mut self, value: GroupValue, now_ms: i64) {
        self.protocol_type = Some(value.protocol_type).filter(|t| !t.is_empty());
        self.generation_id = value.generation_id;
        self.protocol_name = value.protocol_name.clone();
        self.leader_id = value.leader_id;
        let protocol = value.protocol_name.unwrap_or_default();
        self.members = value
            .members
            .into_iter()
            .map(|m| Member {
                member_id: m.member_id,
                group_instance_id: m.group_instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                session_timeout_ms: m.session_timeout_ms,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                protocol_type: self.protocol_type.clone().unwrap_or_default(),
                protocols: vec![(protocol.clone(), m.subscription)],
                assignment: m.assignment,
                last_heartbeat_ms: now_ms,
                is_new: false,
                join_waiter: None,
                sync_waiter: None,
            })
            .collect();
        let state = if self.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
        self.state = state;
        self.state_timestamp_ms = if value.current_state_timestamp_ms > 0 {
            value.current_state_timestamp_ms
        } else {
            now_ms
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> GroupConfig {
        GroupConfig {
            initial_rebalance_delay_ms: 0,
            ..GroupConfig::default()
        }
    }

    fn request(member_id: &str, instance: Option<&str>) -> JoinRequest {
        JoinRequest {
            member_id: member_id.to_string(),
            group_instance_id: instance.map(str::to_string),
            client_id: "client".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(b"sub"))],
            require_known_member_id: true,
            supports_skip_assignment: false,
        }
    }

    fn now<T: std::fmt::Debug>(reply: Reply<T>) -> T {
        match reply {
            Reply::Now(r) => r,
            Reply::Later(_) => panic!("expected an immediate answer"),
        }
    }

    fn later<T>(reply: Reply<T>) -> oneshot::Receiver<T> {
        match reply {
            Reply::Later(rx) => rx,
            Reply::Now(_) => panic!("expected a deferred answer"),
        }
    }

    /// Joins a dynamic member through the MEMBER_ID_REQUIRED handshake; returns its id
    /// and the pending join.
    fn join_new(group: &mut Group, t: i64) -> (String, oneshot::Receiver<JoinResponse>) {
        let first = now(group.join(request("", None), &config(), t));
        assert_eq!(first.error, Some(ErrorCode::MemberIdRequired));
        let id = first.member_id;
        let rx = later(group.join(request(&id, None), &config(), t));
        (id, rx)
    }

    fn stable_group_of_two() -> (Group, String, String) {
        let mut group = Group::new("g", 0);
        let (a, mut rx_a) = join_new(&mut group, 0);
        // A alone completes the first join at once; B's arrival needs a second round.
        let ja = rx_a.try_recv().unwrap();
        assert_eq!(ja.generation_id, 1);
        let (b, mut rx_b) = join_new(&mut group, 1);
        assert_eq!(group.state, GroupState::PreparingRebalance);
        assert!(rx_b.try_recv().is_err(), "B waits for A to rejoin");
        let mut rx_a = later(group.join(request(&a, None), &config(), 2));
        let ja = rx_a.try_recv().unwrap();
        let jb = rx_b.try_recv().unwrap();
        assert_eq!((ja.generation_id, jb.generation_id), (2, 2));
        assert_eq!(ja.leader_id, a);
        assert_eq!(ja.members.len(), 2, "the leader sees every member");
        assert!(jb.members.is_empty());
        assert_eq!(group.state, GroupState::CompletingRebalance);
        let mut sync_b = later(group.sync(2, &b, None, None, None, vec![], 3));
        let mut sync_a = later(group.sync(
            2,
            &a,
            None,
            Some("consumer"),
            Some("range"),
            vec![
                (a.clone(), Bytes::from_static(b"A")),
                (b.clone(), Bytes::from_static(b"B")),
            ],
            3,
        ));
        group.take_held_sync_answers().release(Ok(()));
        assert_eq!(
            sync_a.try_recv().unwrap().assignment,
            Bytes::from_static(b"A")
        );
        assert_eq!(
            sync_b.try_recv().unwrap().assignment,
            Bytes::from_static(b"B")
        );
        assert_eq!(group.state, GroupState::Stable);
        assert!(group.dirty);
        (group, a, b)
    }

    #[test]
    fn two_members_rebalance_to_stable_with_leader_assignments() {
        let (group, a, _) = stable_group_of_two();
        assert_eq!(group.protocol_name.as_deref(), Some("range"));
        assert_eq!(group.leader_id.as_deref(), Some(a.as_str()));
    }

    #[test]
    fn heartbeats_fence_wrong_generation_and_unknown_members() {
        let (mut group, a, _) = stable_group_of_two();
        assert_eq!(group.heartbeat(2, &a, None, 10), None);
        assert_eq!(
            group.heartbeat(1, &a, None, 10),
            Some(ErrorCode::IllegalGeneration)
        );
        assert_eq!(
            group.heartbeat(2, "stranger", None, 10),
            Some(ErrorCode::UnknownMemberId)
        );
        assert_eq!(
            group.validate_offset_commit(1, &a, None),
            Err(ErrorCode::IllegalGeneration)
        );
        assert_eq!(
            group.validate_offset_commit(-1, "", None),
            Err(ErrorCode::UnknownMemberId)
        );
        assert_eq!(group.validate_offset_commit(2, &a, None), Ok(()));
    }

    #[test]
    fn expired_session_triggers_rebalance_and_rejoiners_continue() {
        let (mut group, a, b) = stable_group_of_two();
        // A keeps heartbeating, B goes silent.
        assert_eq!(group.heartbeat(2, &a, None, 9_000), None);
        group.tick(&config(), 10_003);
        assert!(group.member(&b).is_none(), "B expired");
        assert_eq!(group.state, GroupState::PreparingRebalance);
        assert_eq!(
            group.heartbeat(2, &a, None, 10_004),
            Some(ErrorCode::RebalanceInProgress)
        );
        let mut rx = later(group.join(request(&a, None), &config(), 10_005));
        let joined = rx.try_recv().unwrap();
        assert_eq!(joined.generation_id, 3);
        assert_eq!(joined.members.len(), 1);
    }

    #[test]
    fn leave_group_rebalances_the_rest() {
        let (mut group, a, b) = stable_group_of_two();
        assert_eq!(group.leave(&b, None, &config(), 20), None);
        assert_eq!(group.state, GroupState::PreparingRebalance);
        assert_eq!(
            group.leave(&b, None, &config(), 21),
            Some(ErrorCode::UnknownMemberId)
        );
        let mut rx = later(group.join(request(&a, None), &config(), 22));
        assert_eq!(rx.try_recv().unwrap().generation_id, 3);
        assert_eq!(group.leave(&a, None, &config(), 23), None);
        assert_eq!(group.state, GroupState::Empty);
        assert_eq!(group.validate_offset_commit(-1, "", None), Ok(()));
    }

    #[test]
    fn members_that_do_not_rejoin_are_dropped_at_the_rebalance_deadline() {
        let (mut group, a, b) = stable_group_of_two();
        // A rejoins with new metadata: a rebalance B never answers.
        let mut changed = request(&a, None);
        changed.protocols = vec![("range".into(), Bytes::from_static(b"sub2"))];
        let mut rx = later(group.join(changed, &config(), 100));
        // B stays alive (heartbeats are answered REBALANCE_IN_PROGRESS) but never rejoins.
        for t in [9_000, 18_000, 27_000] {
            assert_eq!(
                group.heartbeat(2, &b, None, t),
                Some(ErrorCode::RebalanceInProgress)
            );
            group.tick(&config(), t);
            assert!(rx.try_recv().is_err(), "still waiting for B at {t}");
        }
        group.tick(&config(), 30_100);
        let joined = rx.try_recv().unwrap();
        assert_eq!(joined.generation_id, 3);
        assert!(group.member(&b).is_none());
    }

    #[test]
    fn sync_answers_wait_for_the_group_record() {
        let mut group = Group::new("g", 0);
        let a = now(group.join(request("", None), &config(), 0)).member_id;
        let mut rx_a = later(group.join(request(&a, None), &config(), 0));
        let joined = rx_a.try_recv().unwrap();
        assert_eq!(joined.leader_id, a);
        let mut sync = later(group.sync(
            joined.generation_id,
            &a,
            None,
            None,
            None,
            vec![(a.clone(), Bytes::from_static(b"P0"))],
            1,
        ));
        assert!(group.dirty, "the completed rebalance is to be stored");
        assert!(
            sync.try_recv().is_err(),
            "no answer before the record is written"
        );
        group
            .take_held_sync_answers()
            .release(Err(ErrorCode::NotCoordinator));
        assert_eq!(
            sync.try_recv().unwrap().error,
            Some(ErrorCode::NotCoordinator),
            "a failed store answers with its error"
        );
        assert!(group.take_held_sync_answers().0.is_empty(), "answered once");
    }

    #[test]
    fn static_member_rejoining_unchanged_keeps_assignment_and_fences_old_id() {
        let mut group = Group::new("g", 0);
        let mut rx = later(group.join(request("", Some("instance-1")), &config(), 0));
        let joined = rx.try_recv().unwrap();
        let old_id = joined.member_id.clone();
        let mut sync = later(group.sync(
            1,
            &old_id,
            Some("instance-1"),
            None,
            None,
            vec![(old_id.clone(), Bytes::from_static(b"P0"))],
            1,
        ));
        group.take_held_sync_answers().release(Ok(()));
        assert_eq!(
            sync.try_recv().unwrap().assignment,
            Bytes::from_static(b"P0")
        );
        // The process restarts: same instance id, no member id, and (as a cooperative
        // client would) different metadata.
        let mut restarted = request("", Some("instance-1"));
        restarted.protocols = vec![("range".into(), Bytes::from_static(b"no-owned-partitions"))];
        let rejoined = now(group.join(restarted, &config(), 5));
        assert_eq!(rejoined.generation_id, 1, "no rebalance");
        assert_ne!(rejoined.member_id, old_id);
        assert_eq!(
            rejoined.leader_id, old_id,
            "a pre-v9 leader is shown the old id: it acts as a follower"
        );
        assert!(rejoined.members.is_empty());
        assert_eq!(group.state, GroupState::Stable);
        let assignment = now(group.sync(
            1,
            &rejoined.member_id,
            Some("instance-1"),
            None,
            None,
            vec![],
            6,
        ));
        assert_eq!(assignment.assignment, Bytes::from_static(b"P0"));
        assert_eq!(
            group.heartbeat(1, &old_id, Some("instance-1"), 7),
            Some(ErrorCode::FencedInstanceId)
        );
    }

    #[test]
    fn initial_delay_holds_the_first_rebalance_and_grows_with_joiners() {
        let config = GroupConfig {
            initial_rebalance_delay_ms: 3_000,
            ..GroupConfig::default()
        };
        let mut group = Group::new("g", 0);
        let first = now(group.join(request("", None), &config, 0));
        let mut rx_a = later(group.join(request(&first.member_id, None), &config, 0));
        group.tick(&config, 2_000);
        let second = now(group.join(request("", None), &config, 2_000));
        let mut rx_b = later(group.join(request(&second.member_id, None), &config, 2_000));
        group.tick(&config, 4_000);
        assert!(
            rx_a.try_recv().is_err(),
            "the delay was extended by the second joiner"
        );
        group.tick(&config, 6_001);
        let (ja, jb) = (rx_a.try_recv().unwrap(), rx_b.try_recv().unwrap());
        assert_eq!((ja.generation_id, jb.generation_id), (1, 1));
        assert_eq!(ja.members.len() + jb.members.len(), 2);
    }

    #[test]
    fn invalid_join_requests_get_kafkas_errors() {
        let mut group = Group::new("g", 0);
        let mut bad = request("", None);
        bad.session_timeout_ms = 1;
        assert_eq!(
            now(group.join(bad, &config(), 0)).error,
            Some(ErrorCode::InvalidSessionTimeout)
        );
        let (_, _rx) = join_new(&mut group, 0);
        let mut other = request("", None);
        other.protocols = vec![("roundrobin".into(), Bytes::new())];
        assert_eq!(
            now(group.join(other, &config(), 1)).error,
            Some(ErrorCode::InconsistentGroupProtocol)
        );
        assert_eq!(
            now(group.join(request("ghost", None), &config(), 1)).error,
            Some(ErrorCode::UnknownMemberId)
        );
    }

    #[test]
    fn offsets_of_an_empty_consumer_group_expire_together_after_retention() {
        let config = GroupConfig {
            offsets_retention_ms: 1_000,
            ..config()
        };
        let mut group = Group::new("g", 0);
        let (a, _rx) = join_new(&mut group, 0);
        group.offsets.insert(
            ("t".into(), 0),
            CommittedOffset {
                offset: 5,
                leader_epoch: 0,
                metadata: String::new(),
                commit_timestamp_ms: 0,
            },
        );
        assert!(
            group.expire_offsets(&config, 10_000).is_empty(),
            "not while members are active"
        );
        group.leave(&a, None, &config, 10_000);
        assert_eq!(group.state, GroupState::Empty);
        assert!(group.expire_offsets(&config, 10_500).is_empty());
        assert_eq!(
            group.expire_offsets(&config, 11_000),
            vec![("t".to_string(), 0)]
        );
    }

    #[test]
    fn record_round_trip_restores_a_stable_group() {
        let (group, a, b) = stable_group_of_two();
        let mut restored = Group::new("g", 0);
        restored.restore(group.to_record(), 50);
        assert_eq!(restored.state, GroupState::Stable);
        assert_eq!(restored.generation_id, 2);
        assert_eq!(
            restored.member(&b).unwrap().assignment,
            Bytes::from_static(b"B")
        );
        assert_eq!(restored.heartbeat(2, &a, None, 60), None);
    }

    fn committed(offset: i64) -> CommittedOffset {
        CommittedOffset {
            offset,
            leader_epoch: 0,
            metadata: String::new(),
            commit_timestamp_ms: 0,
        }
    }

    #[test]
    fn a_transactions_offsets_count_once_it_commits_and_never_if_it_aborts() {
        let mut group = Group::new("g", 0);
        let key = ("t".to_string(), 0);
        group.put_committed_offset(key.clone(), committed(1));
        group.pending_offsets.add(7, key.clone(), committed(5));
        assert_eq!(group.offsets[&key], committed(1), "not before the marker");
        assert_eq!(group.complete_transaction(7, false), 0);
        assert_eq!(group.offsets[&key], committed(1));
        group.pending_offsets.add(7, key.clone(), committed(6));
        assert_eq!(group.complete_transaction(7, true), 1);
        assert_eq!(group.offsets[&key], committed(6));
        assert!(group.pending_offsets.is_empty());
        // A plain commit written after a pending offset keeps its place.
        group.pending_offsets.add(8, key.clone(), committed(7));
        group.put_committed_offset(key.clone(), committed(9));
        assert_eq!(group.complete_transaction(8, true), 0);
        assert_eq!(group.offsets[&key], committed(9));
    }

    #[test]
    fn a_stable_fetch_is_refused_while_a_transaction_holds_the_partition() {
        let mut group = Group::new("g", 0);
        let held = ("t".to_string(), 0);
        let free = ("t".to_string(), 1);
        group.put_committed_offset(held.clone(), committed(1));
        group.put_committed_offset(free.clone(), committed(2));
        group.pending_offsets.add(7, held.clone(), committed(5));
        assert_eq!(
            group.fetch_offset(&held, true),
            Err(ErrorCode::UnstableOffsetCommit)
        );
        assert_eq!(group.fetch_offset(&held, false), Ok(Some(&committed(1))));
        assert_eq!(group.fetch_offset(&free, true), Ok(Some(&committed(2))));
        group.complete_transaction(7, false);
        assert_eq!(group.fetch_offset(&held, true), Ok(Some(&committed(1))));
    }

    #[test]
    fn an_offset_a_transaction_holds_neither_expires_nor_survives_its_tombstone() {
        let config = GroupConfig {
            offsets_retention_ms: 1_000,
            ..config()
        };
        let mut group = Group::new("g", 0);
        let held = ("t".to_string(), 0);
        let free = ("t".to_string(), 1);
        group.put_committed_offset(held.clone(), committed(1));
        group.put_committed_offset(free.clone(), committed(2));
        group.pending_offsets.add(7, held.clone(), committed(5));
        assert_eq!(group.expire_offsets(&config, 10_000), vec![free]);
        group.remove_offset(&held);
        assert!(group.offsets.is_empty());
        assert!(group.pending_offsets.is_empty(), "the tombstone took both");
        assert_eq!(group.complete_transaction(7, true), 0);
        assert!(group.offsets.is_empty());
    }
}
