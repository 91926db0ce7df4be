//! Classic and consumer protocols in one group: Kafka 4's online migration
//! (`group.consumer.migration.policy`, default BIDIRECTIONAL).
//!
//! A non-empty classic group whose members all speak the embedded `consumer` protocol is
//! converted to a consumer group by the first ConsumerGroupHeartbeat: its members keep
//! their current partitions and become consumer-group members that "use the classic
//! protocol", going on with JoinGroup/SyncGroup/Heartbeat. The coordinator computes their
//! assignment like any other member's; a classic member learns that it changed from a
//! REBALANCE_IN_PROGRESS heartbeat, rejoins (its JoinGroup is answered at once, as a
//! follower's) and picks its partitions up with SyncGroup. When the last member using the
//! consumer protocol leaves, the group goes back to a classic group and rebalances.
//! Kafka's GroupMetadataManager: convertToConsumerGroup, classicGroupJoinToConsumerGroup,
//! classicGroupSyncToConsumerGroup, classicGroupHeartbeatToConsumerGroup,
//! convertToClassicGroup.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
pub use rafka_protocol::consumer_protocol::decode_assignment;
use rafka_protocol::ErrorCode;

use super::consumer::{
    ClassicProtocol, ConsumerGroupState, ConsumerMember, MemberState, Partitions, TopicInfo,
};
use super::messages::{JoinRequest, JoinResponse, SyncResponse};

/// The embedded protocol type classic consumers use.
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// A classic member's subscription (JoinGroup metadata): a 2-byte version, then Kafka's
/// `ConsumerProtocolSubscription`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    pub version: i16,
    pub topics: Vec<String>,
    pub owned: Vec<(String, Vec<i32>)>,
    pub rack_id: Option<String>,
}

pub fn decode_subscription(mut metadata: Bytes) -> Option<Subscription> {
    if metadata.remaining() < 2 {
        return None;
    }
    let version = metadata.get_i16();
    let decoded = ConsumerProtocolSubscription::decode(&mut metadata, version.clamp(0, 3)).ok()?;
    Some(Subscription {
        version,
        topics: decoded.topics.iter().map(|t| t.to_string()).collect(),
        owned: decoded
            .owned_partitions
            .iter()
            .map(|tp| (tp.topic.to_string(), tp.partitions.clone()))
            .collect(),
        rack_id: decoded.rack_id.map(|r| r.to_string()),
    })
}

/// `assigned` in the version of the member's subscription, as Kafka's prepareAssignment.
pub fn encode_assignment(version: i16, assigned: &Partitions, topics: &[TopicInfo]) -> Bytes {
    let version = version.clamp(0, 3);
    let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(
        assigned
            .iter()
            .filter_map(|(id, partitions)| {
                let topic = topics.iter().find(|t| t.topic_id == *id)?;
                Some(
                    TopicPartition::default()
                        .with_topic(TopicName(StrBytes::from_string(topic.name.clone())))
                        .with_partitions(partitions.iter().copied().collect()),
                )
            })
            .collect(),
    );
    let mut out = BytesMut::new();
    out.put_i16(version);
    if let Err(e) = assignment.encode(&mut out, version) {
        // Bounded sizes of our own making: cannot fail.
        unreachable!("encoding a consumer protocol assignment: {e}");
    }
    out.freeze()
}

/// Topic names to ids; names the cluster does not know are dropped.
pub fn by_id(named: &[(String, Vec<i32>)], topics: &[TopicInfo]) -> Partitions {
    let mut out = Partitions::new();
    for (name, partitions) in named {
        if let Some(topic) = topics.iter().find(|t| &t.name == name) {
            out.entry(topic.topic_id)
                .or_default()
                .extend(partitions.iter().copied().filter(|p| *p < topic.partitions));
        }
    }
    out.retain(|_, s| !s.is_empty());
    out
}

/// One classic member as it is converted: what the classic group knows of it.
#[derive(Debug, Clone)]
pub struct ClassicMemberSnapshot {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocols: Vec<(String, Bytes)>,
    /// Its metadata for the group's selected protocol.
    pub subscription: Bytes,
    pub assignment: Bytes,
    pub last_heartbeat_ms: i64,
}

impl ConsumerGroupState {
    /// Kafka's ConsumerGroup.fromClassicGroup: the members keep their assignment at the
    /// classic generation, which becomes the group and assignment epoch. None if a
    /// member's subscription does not decode (Kafka answers GROUP_ID_NOT_FOUND then).
    pub fn from_classic(
        generation_id: i32,
        members: Vec<ClassicMemberSnapshot>,
        topics: &[TopicInfo],
    ) -> Option<ConsumerGroupState> {
        let mut group = ConsumerGroupState::default();
        group.group_epoch = generation_id;
        group.assignment_epoch = generation_id;
        for m in members {
            let subscription = decode_subscription(m.subscription)?;
            let assigned = by_id(&decode_assignment(m.assignment), topics);
            let mut names = subscription.topics;
            names.sort();
            names.dedup();
            group.target.insert(m.member_id.clone(), assigned.clone());
            group.members.insert(
                m.member_id.clone(),
                ConsumerMember {
                    member_id: m.member_id,
                    instance_id: m.instance_id,
                    rack_id: subscription.rack_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    member_epoch: generation_id,
                    previous_member_epoch: generation_id,
                    state: MemberState::Stable,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    subscribed_topic_names: names,
                    subscribed_topic_regex: None,
                    server_assignor: None,
                    assigned,
                    pending_revocation: Partitions::new(),
                    last_heartbeat_ms: m.last_heartbeat_ms,
                    revocation_deadline_ms: None,
                    classic: Some(ClassicProtocol {
                        session_timeout_ms: m.session_timeout_ms,
                        protocols: m.protocols,
                    }),
                },
            );
        }
        group.remember_subscribed_metadata(topics);
        Some(group)
    }

    /// True when members remain and every one of them uses the classic protocol: the
    /// group goes back to a classic group (Kafka's validateOnlineDowngrade).
    pub fn should_downgrade(&self) -> bool {
        !self.members.is_empty() && self.members.values().all(|m| m.classic.is_some())
    }

    /// JoinGroup from a classic member (new or known) of this consumer group: answered at
    /// once, the member as a follower whose generation is its member epoch.
    pub fn classic_join(
        &mut self,
        request: &JoinRequest,
        topics: &[TopicInfo],
        max_size: usize,
        now_ms: i64,
    ) -> JoinResponse {
        let error = |code: ErrorCode, member_id: &str| JoinResponse {
            error: Some(code),
            generation_id: -1,
            member_id: member_id.to_string(),
            ..Default::default()
        };
        if request.protocol_type != CONSUMER_PROTOCOL_TYPE || request.protocols.is_empty() {
            return error(ErrorCode::InconsistentGroupProtocol, &request.member_id);
        }
        let Some(subscription) = decode_subscription(request.protocols[0].1.clone()) else {
            return error(ErrorCode::InconsistentGroupProtocol, &request.member_id);
        };
        let unknown = request.member_id.is_empty();
        let mut member_id = if unknown {
            uuid::Uuid::new_v4().to_string()
        } else {
            request.member_id.clone()
        };
        if unknown && request.require_known_member_id && request.group_instance_id.is_none() {
            return error(ErrorCode::MemberIdRequired, &member_id);
        }
        if let Some(instance) = &request.group_instance_id {
            let owner = self
                .members
                .values()
                .find(|m| m.instance_id.as_deref() == Some(instance.as_str()))
                .map(|m| m.member_id.clone());
            match owner {
                Some(owner) if owner != member_id && !unknown => {
                    return error(ErrorCode::FencedInstanceId, &member_id);
                }
                Some(owner) if owner != member_id => {
                    // A static member restarting: the new id takes over the old one's place.
                    let mut old = self.members.remove(&owner).expect("found above");
                    old.member_id = member_id.clone();
                    if let Some(target) = self.target.remove(&owner) {
                        self.target.insert(member_id.clone(), target);
                    }
                    self.members.insert(member_id.clone(), old);
                }
                _ => {}
            }
        } else if !unknown && !self.members.contains_key(&member_id) {
            // Kafka creates a member for any id it has not seen (the id it handed out with
            // MEMBER_ID_REQUIRED is not remembered).
            member_id = request.member_id.clone();
        }
        if !self.members.contains_key(&member_id) {
            if self.members.len() >= max_size {
                return error(ErrorCode::GroupMaxSizeReached, &member_id);
            }
            self.members.insert(
                member_id.clone(),
                ConsumerMember::joining(
                    member_id.clone(),
                    request.group_instance_id.clone(),
                    None,
                    request.client_id.clone(),
                    request.client_host.clone(),
                    request.rebalance_timeout_ms,
                    now_ms,
                ),
            );
            self.bump_epoch();
        }
        let member = self.members.get_mut(&member_id).expect("present");
        member.client_id = request.client_id.clone();
        member.client_host = request.client_host.clone();
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        member.last_heartbeat_ms = now_ms;
        if subscription.rack_id.is_some() {
            member.rack_id = subscription.rack_id.clone();
        }
        member.classic = Some(ClassicProtocol {
            session_timeout_ms: request.session_timeout_ms,
            protocols: request.protocols.clone(),
        });
        let mut names = subscription.topics.clone();
        names.sort();
        names.dedup();
        let changed = names != member.subscribed_topic_names;
        member.subscribed_topic_names = names;
        if changed || self.subscribed_metadata_changed(topics) {
            self.bump_epoch();
        }
        self.maybe_assign(topics);
        let owned = by_id(&subscription.owned, topics);
        self.reconcile(&member_id, Some(&owned), now_ms);
        let member = &self.members[&member_id];
        JoinResponse {
            error: None,
            generation_id: member.member_epoch,
            protocol_type: Some(CONSUMER_PROTOCOL_TYPE.to_string()),
            protocol_name: Some(request.protocols[0].0.clone()),
            leader_id: String::new(),
            member_id,
            members: Vec::new(),
            skip_assignment: false,
        }
    }

    /// The classic member a SyncGroup or Heartbeat speaks for (Kafka's
    /// validateConsumerGroupMember and throwIfMemberDoesNotUseClassicProtocol).
    fn classic_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> Result<&ConsumerMember, ErrorCode> {
        let member = match instance_id {
            Some(instance) => {
                let m = self
                    .members
                    .values()
                    .find(|m| m.instance_id.as_deref() == Some(instance))
                    .ok_or(ErrorCode::UnknownMemberId)?;
                if m.member_id != member_id {
                    return Err(ErrorCode::FencedInstanceId);
                }
                m
            }
            None => self
                .members
                .get(member_id)
                .ok_or(ErrorCode::UnknownMemberId)?,
        };
        if member.classic.is_none() {
            return Err(ErrorCode::UnknownMemberId);
        }
        if member.member_epoch != generation_id {
            return Err(ErrorCode::IllegalGeneration);
        }
        Ok(member)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn classic_sync(
        &mut self,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        topics: &[TopicInfo],
        now_ms: i64,
    ) -> SyncResponse {
        let error = |code| SyncResponse {
            error: Some(code),
            ..Default::default()
        };
        let member = match self.classic_member(member_id, instance_id, generation_id) {
            Ok(m) => m,
            Err(e) => return error(e),
        };
        let classic = member.classic.as_ref().expect("a classic member");
        let (name, metadata) = &classic.protocols[0];
        if protocol_type.is_some_and(|t| t != CONSUMER_PROTOCOL_TYPE)
            || protocol_name.is_some_and(|n| n != name)
        {
            return error(ErrorCode::InconsistentGroupProtocol);
        }
        if self.group_epoch > member.member_epoch
            && member.state != MemberState::UnrevokedPartitions
        {
            return error(ErrorCode::RebalanceInProgress);
        }
        let version = decode_subscription(metadata.clone()).map_or(0, |s| s.version);
        let response = SyncResponse {
            error: None,
            protocol_type: Some(CONSUMER_PROTOCOL_TYPE.to_string()),
            protocol_name: Some(name.clone()),
            assignment: encode_assignment(version, &member.assigned, topics),
        };
        let id = member.member_id.clone();
        if let Some(m) = self.members.get_mut(&id) {
            m.last_heartbeat_ms = now_ms;
        }
        response
    }

    /// REBALANCE_IN_PROGRESS tells a classic member to rejoin: its epoch is behind the
    /// group's, it has partitions to revoke, or partitions it waits for became free.
    pub fn classic_heartbeat(
        &mut self,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
        now_ms: i64,
    ) -> Option<ErrorCode> {
        let member = match self.classic_member(member_id, instance_id, generation_id) {
            Ok(m) => m,
            Err(e) => return Some(e),
        };
        let id = member.member_id.clone();
        let rejoin = member.member_epoch < self.group_epoch
            || member.state == MemberState::UnrevokedPartitions
            || (member.state == MemberState::UnreleasedPartitions
                && !self.waiting_on_unreleased(&id));
        if let Some(m) = self.members.get_mut(&id) {
            m.last_heartbeat_ms = now_ms;
        }
        rejoin.then_some(ErrorCode::RebalanceInProgress)
    }

    /// LeaveGroup of any member by id or static instance.
    pub fn classic_leave(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        topics: &[TopicInfo],
    ) -> Option<ErrorCode> {
        if let Some(instance) = instance_id {
            match self
                .members
                .values()
                .find(|m| m.instance_id.as_deref() == Some(instance))
            {
                None => return Some(ErrorCode::UnknownMemberId),
                Some(m) if !member_id.is_empty() && m.member_id != member_id => {
                    return Some(ErrorCode::FencedInstanceId)
                }
                Some(_) => {}
            }
        } else if !self.members.contains_key(member_id) {
            return Some(ErrorCode::UnknownMemberId);
        }
        if self.leave(member_id, instance_id) {
            self.bump_epoch();
            self.maybe_assign(topics);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as Owned;

    fn topic(name: &str, partitions: i32) -> TopicInfo {
        TopicInfo {
            topic_id: uuid::Uuid::from_u128(name.len() as u128 + 1),
            name: name.into(),
            partitions,
        }
    }

    fn subscription(topics: &[&str], owned: &[(&str, Vec<i32>)]) -> Bytes {
        let s = ConsumerProtocolSubscription::default()
            .with_topics(
                topics
                    .iter()
                    .map(|t| StrBytes::from_string(t.to_string()))
                    .collect(),
            )
            .with_owned_partitions(
                owned
                    .iter()
                    .map(|(t, p)| {
                        Owned::default()
                            .with_topic(TopicName(StrBytes::from_string(t.to_string())))
                            .with_partitions(p.clone())
                    })
                    .collect(),
            );
        let mut out = BytesMut::new();
        out.put_i16(1);
        s.encode(&mut out, 1).unwrap();
        out.freeze()
    }

    fn join(member_id: &str, owned: &[(&str, Vec<i32>)]) -> JoinRequest {
        JoinRequest {
            member_id: member_id.into(),
            group_instance_id: None,
            client_id: "classic".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), subscription(&["t"], owned))],
            require_known_member_id: true,
            supports_skip_assignment: true,
        }
    }

    fn count(p: &Partitions) -> usize {
        p.values().map(|s| s.len()).sum()
    }

    #[test]
    fn an_upgraded_classic_member_gives_up_half_to_a_consumer_member_by_rejoining() {
        let topics = vec![topic("t", 4)];
        let all = Partitions::from([(topics[0].topic_id, (0..4).collect())]);
        let snapshot = ClassicMemberSnapshot {
            member_id: "old".into(),
            instance_id: None,
            client_id: "classic".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocols: vec![("range".into(), subscription(&["t"], &[]))],
            subscription: subscription(&["t"], &[]),
            assignment: encode_assignment(1, &all, &topics),
            last_heartbeat_ms: 0,
        };
        let mut group = ConsumerGroupState::from_classic(3, vec![snapshot], &topics).unwrap();
        assert_eq!(group.members["old"].assigned, all);
        assert_eq!(group.classic_heartbeat(3, "old", None, 1), None);

        // A consumer-protocol member joins: it waits for partitions the classic one holds.
        let new = super::super::consumer::Heartbeat {
            member_id: "new".into(),
            member_epoch: 0,
            rebalance_timeout_ms: 30_000,
            subscribed_topic_names: Some(vec!["t".into()]),
            owned: Some(Partitions::new()),
            ..Default::default()
        };
        let config = super::super::consumer::ConsumerConfig::default();
        let r = group.heartbeat(new, &topics, &config, 2);
        assert_eq!(r.error, None);
        assert_eq!(
            count(&r.assignment.unwrap()),
            0,
            "all still owned by the classic member"
        );

        // The classic member is told to rejoin; it rejoins (eager: owning nothing), syncs,
        // is told again (it must confirm the revocation), rejoins and keeps two.
        assert_eq!(
            group.classic_heartbeat(3, "old", None, 3),
            Some(ErrorCode::RebalanceInProgress)
        );
        let j = group.classic_join(&join("old", &[]), &topics, usize::MAX, 4);
        assert_eq!(j.error, None);
        let s = group.classic_sync(j.generation_id, "old", None, None, None, &topics, 5);
        assert_eq!(decode_assignment(s.assignment.clone()).len(), 1);
        let j = group.classic_join(&join("old", &[]), &topics, usize::MAX, 6);
        let s = group.classic_sync(j.generation_id, "old", None, None, None, &topics, 7);
        let kept = by_id(&decode_assignment(s.assignment), &topics);
        assert_eq!(count(&kept), 2);
        assert_eq!(
            group.classic_heartbeat(j.generation_id, "old", None, 8),
            None
        );

        // The consumer member now gets the other two: disjoint, covering.
        let beat = super::super::consumer::Heartbeat {
            member_id: "new".into(),
            member_epoch: group.members["new"].member_epoch,
            owned: Some(Partitions::new()),
            ..Default::default()
        };
        let r = group.heartbeat(beat, &topics, &config, 9);
        let theirs = r.assignment.unwrap();
        assert_eq!(count(&theirs), 2);
        assert!(super::super::consumer::is_disjoint(&kept, &theirs));

        // The consumer member leaves: only classic members remain.
        assert!(!group.should_downgrade());
        group.classic_leave("new", None, &topics);
        assert!(group.should_downgrade());
    }

    #[test]
    fn a_new_classic_member_without_an_id_is_given_one() {
        let topics = vec![topic("t", 2)];
        let mut group = ConsumerGroupState::default();
        let r = group.classic_join(&join("", &[]), &topics, usize::MAX, 0);
        assert_eq!(r.error, Some(ErrorCode::MemberIdRequired));
        let r = group.classic_join(&join(&r.member_id, &[]), &topics, usize::MAX, 0);
        assert_eq!(r.error, None);
        assert_eq!(r.generation_id, group.group_epoch);
        let s = group.classic_sync(r.generation_id, &r.member_id, None, None, None, &topics, 1);
        assert_eq!(
            decode_assignment(s.assignment),
            vec![("t".into(), vec![0, 1])]
        );
    }
}
