//! The active controller's decisions, as pure functions of the committed image: where
//! replicas go, who leads, who is fenced, which ISR changes are accepted. Each decision is
//! a list of records to propose; nothing here touches the network or the disk, so the
//! simulation tests drive exactly this code.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rafka_protocol::ErrorCode;

use crate::image::{BrokerInfo, ClusterImage, Endpoint, PartitionState};
use crate::records::MetadataRecord;
use crate::NO_LEADER;

/// Producer ids per AllocateProducerIds block, as Kafka's `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`.
pub const PRODUCER_ID_BLOCK_SIZE: i32 = 1000;

/// A refused request: Kafka's error code and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    /// The wire code of an [`ErrorCode`]: the form it travels in between a broker and
    /// the controller and lands in the client's response.
    pub code: i16,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code: code.code(),
            message: message.into(),
        }
    }
}

/// One partition's part of a request (an election, a reassignment): refused with a
/// reason, or done (`None`).
pub type PartitionOutcome = ((String, i32), Option<Refusal>);

/// One partition of AlterPartitionReassignments: its target replicas, or `None` to
/// cancel its reassignment.
pub type ReassignmentRequest = ((String, i32), Option<Vec<i32>>);

/// ElectLeaders' election types, with Kafka's wire values 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ElectionType {
    Preferred,
    Unclean,
}

/// Settings of the controller's decisions.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// `broker.session.timeout.ms`: a broker silent this long is fenced.
    pub session_timeout_ms: u64,
    /// `unclean.leader.election.enable` (cluster default; a topic override wins).
    pub unclean_leader_election: bool,
}

/// What the active controller keeps in memory only: when each broker last heartbeated
/// and where its registration landed. A newly elected controller starts every live
/// broker's clock afresh, as Kafka does.
#[derive(Debug)]
pub struct Controller {
    pub config: ControllerConfig,
    last_heartbeat_ms: HashMap<i32, u64>,
    registered_at: HashMap<i32, u64>,
    /// The metadata offset each broker last said it had applied.
    metadata_offsets: HashMap<i32, u64>,
}

impl Controller {
    pub fn new(config: ControllerConfig, image: &ClusterImage, now_ms: u64) -> Controller {
        Controller {
            config,
            last_heartbeat_ms: image.brokers.keys().map(|id| (*id, now_ms)).collect(),
            registered_at: HashMap::new(),
            metadata_offsets: HashMap::new(),
        }
    }

    /// A broker (re-)registers: a new epoch, fenced until it catches up. A restarted
    /// broker's old incarnation loses its leaderships and ISR places at once.
    pub fn register(
        &mut self,
        image: &ClusterImage,
        id: i32,
        incarnation_id: uuid::Uuid,
        listeners: Vec<Endpoint>,
        rack: Option<String>,
        now_ms: u64,
    ) -> (i64, Vec<MetadataRecord>) {
        let previous_epoch = image.brokers.values().map(|b| b.epoch).max().unwrap_or(0);
        let epoch = previous_epoch.max(image.offset as i64) + 1;
        let mut records = Vec::new();
        if image.brokers.contains_key(&id) {
            records.extend(self.leave_partitions(image, id));
        }
        records.push(MetadataRecord::RegisterBroker(BrokerInfo {
            id,
            epoch,
            incarnation_id,
            listeners,
            rack,
            fenced: true,
        }));
        self.last_heartbeat_ms.insert(id, now_ms);
        (epoch, records)
    }

    /// Notes where a registration was committed: the broker is caught up once it has
    /// applied the metadata log that far.
    pub fn registered(&mut self, id: i32, offset: u64) {
        self.registered_at.insert(id, offset);
    }

    /// A heartbeat: refreshes the broker's session; unfences it when caught up, fences
    /// it on a controlled shutdown.
    pub fn heartbeat(
        &mut self,
        image: &ClusterImage,
        id: i32,
        epoch: i64,
        metadata_offset: u64,
        shutting_down: bool,
        now_ms: u64,
    ) -> Result<Vec<MetadataRecord>, Refusal> {
        let broker = self.check_broker(image, id, epoch)?;
        self.last_heartbeat_ms.insert(id, now_ms);
        self.metadata_offsets.insert(id, metadata_offset);
        if shutting_down {
            return Ok(if broker.fenced {
                Vec::new()
            } else {
                self.fence(image, id)
            });
        }
        let caught_up = metadata_offset >= self.registered_at.get(&id).copied().unwrap_or(0);
        if broker.fenced && caught_up {
            return Ok(self.unfence(image, id));
        }
        Ok(Vec::new())
    }

    /// Each broker heard from since this controller became active: the metadata offset
    /// it last reported applying and when (DescribeQuorum's observers).
    pub fn broker_progress(&self) -> Vec<(i32, u64, u64)> {
        let mut out: Vec<(i32, u64, u64)> = self
            .metadata_offsets
            .iter()
            .map(|(id, offset)| {
                (
                    *id,
                    *offset,
                    self.last_heartbeat_ms.get(id).copied().unwrap_or(0),
                )
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Fences every unfenced broker whose session expired.
    pub fn tick(&mut self, image: &ClusterImage, now_ms: u64) -> Vec<MetadataRecord> {
        let expired: Vec<i32> = image
            .live_brokers()
            .filter(|b| {
                let last = self.last_heartbeat_ms.entry(b.id).or_insert(now_ms);
                now_ms.saturating_sub(*last) > self.config.session_timeout_ms
            })
            .map(|b| b.id)
            .collect();
        if expired.is_empty() {
            return Vec::new();
        }
        let mut records = Vec::new();
        let mut image = image.clone();
        for id in expired {
            tracing::warn!("fencing broker {id}: no heartbeat within the session timeout");
            let fenced = self.fence(&image, id);
            for r in &fenced {
                image.apply(r);
            }
            records.extend(fenced);
        }
        records
    }

    fn check_broker<'a>(
        &self,
        image: &'a ClusterImage,
        id: i32,
        epoch: i64,
    ) -> Result<&'a BrokerInfo, Refusal> {
        let broker = image.brokers.get(&id).ok_or_else(|| {
            Refusal::new(
                ErrorCode::BrokerIdNotRegistered,
                format!("Broker {id} is not registered."),
            )
        })?;
        if broker.epoch != epoch {
            return Err(Refusal::new(
                ErrorCode::StaleBrokerEpoch,
                format!(
                    "Expected broker epoch {}, but got broker epoch {epoch}",
                    broker.epoch
                ),
            ));
        }
        Ok(broker)
    }

    /// Kafka's `ProducerIdControlManager.generateNextProducerId`: the next block of
    /// [`PRODUCER_ID_BLOCK_SIZE`] producer ids for a registered broker of the current epoch,
    /// as (first id, length) and the record that takes it.
    pub fn allocate_producer_ids(
        &self,
        image: &ClusterImage,
        broker_id: i32,
        broker_epoch: i64,
    ) -> Result<(Vec<MetadataRecord>, (i64, i32)), Refusal> {
        self.check_broker(image, broker_id, broker_epoch)?;
        let first = image.next_producer_id;
        let size = i64::from(PRODUCER_ID_BLOCK_SIZE);
        if first > i64::MAX - size {
            return Err(Refusal::new(
                ErrorCode::UnknownServerError,
                format!("Exhausted all producerIds as the next block's end producerId will have exceeded long type limit (current block start: {first})"),
            ));
        }
        let record = MetadataRecord::ProducerIds {
            broker_id,
            broker_epoch,
            next_producer_id: first + size,
        };
        Ok((vec![record], (first, PRODUCER_ID_BLOCK_SIZE)))
    }

    /// Fences `id`: it leaves every ISR and leadership.
    pub fn fence(&self, image: &ClusterImage, id: i32) -> Vec<MetadataRecord> {
        let Some(broker) = image.brokers.get(&id) else {
            return Vec::new();
        };
        let mut records = vec![MetadataRecord::FenceBroker {
            id,
            epoch: broker.epoch,
        }];
        records.extend(self.leave_partitions(image, id));
        records
    }

    /// Partition changes that take `id` out of every ISR and leadership. The last member
    /// of an ISR stays in it (so it can lead again when it returns, as Kafka does without
    /// ELR), with no leader in the meantime unless unclean election is allowed.
    fn leave_partitions(&self, image: &ClusterImage, id: i32) -> Vec<MetadataRecord> {
        let live: BTreeSet<i32> = image
            .live_brokers()
            .map(|b| b.id)
            .filter(|b| *b != id)
            .collect();
        let mut records = Vec::new();
        for topic in image.topics.values() {
            let unclean = self.unclean_allowed(topic.configs.get("unclean.leader.election.enable"));
            for (index, state) in topic.partitions.iter().enumerate() {
                if state.leader != id && !state.isr.contains(&id) {
                    continue;
                }
                let mut next = state.clone();
                if state.isr.len() > 1 {
                    next.isr.retain(|r| *r != id);
                }
                if state.leader == id || state.leader == NO_LEADER {
                    next.leader = elect(&next, &live, unclean);
                    if unclean && !next.isr.contains(&next.leader) && next.leader != NO_LEADER {
                        next.isr = vec![next.leader];
                    }
                }
                if next != *state {
                    records.push(change(topic.name.clone(), index, state, next));
                }
            }
        }
        records
    }

    /// Unfences `id`: it leads the partitions that had no leader and keep it in the ISR.
    fn unfence(&self, image: &ClusterImage, id: i32) -> Vec<MetadataRecord> {
        let Some(broker) = image.brokers.get(&id) else {
            return Vec::new();
        };
        let mut records = vec![MetadataRecord::UnfenceBroker {
            id,
            epoch: broker.epoch,
        }];
        let mut live: BTreeSet<i32> = image.live_brokers().map(|b| b.id).collect();
        live.insert(id);
        for topic in image.topics.values() {
            let unclean = self.unclean_allowed(topic.configs.get("unclean.leader.election.enable"));
            for (index, state) in topic.partitions.iter().enumerate() {
                if state.leader != NO_LEADER || !state.replicas.contains(&id) {
                    continue;
                }
                let mut next = state.clone();
                next.leader = elect(&next, &live, unclean);
                if next.leader == NO_LEADER {
                    continue;
                }
                if !next.isr.contains(&next.leader) {
                    next.isr = vec![next.leader];
                }
                records.push(change(topic.name.clone(), index, state, next));
            }
        }
        tracing::info!("unfencing broker {id}");
        records
    }

    fn unclean_allowed(&self, topic_override: Option<&String>) -> bool {
        topic_override
            .map(|v| v.eq_ignore_ascii_case("true"))
            .unwrap_or(self.config.unclean_leader_election)
    }

    /// AlterPartition from a partition leader: a new ISR for the current leader epoch
    /// and partition epoch, with only unfenced replicas added.
    #[allow(clippy::too_many_arguments)]
    pub fn alter_partition(
        &self,
        image: &ClusterImage,
        broker_id: i32,
        broker_epoch: i64,
        topic: &str,
        partition: i32,
        leader_epoch: i32,
        partition_epoch: i32,
        new_isr: &[i32],
    ) -> Result<(PartitionState, Vec<MetadataRecord>), Refusal> {
        self.check_broker(image, broker_id, broker_epoch)?;
        let state = image.partition(topic, partition).ok_or_else(|| {
            Refusal::new(
                ErrorCode::UnknownTopicOrPartition,
                format!("{topic}-{partition} does not exist"),
            )
        })?;
        if state.leader != broker_id {
            return Err(Refusal::new(
                ErrorCode::NotLeaderOrFollower,
                format!("Broker {broker_id} is not the leader of {topic}-{partition}"),
            ));
        }
        if leader_epoch != state.leader_epoch {
            return Err(Refusal::new(
                ErrorCode::FencedLeaderEpoch,
                format!(
                    "Leader epoch {leader_epoch} is not the current {}",
                    state.leader_epoch
                ),
            ));
        }
        if partition_epoch != state.partition_epoch {
            return Err(Refusal::new(
                ErrorCode::InvalidUpdateVersion,
                format!(
                    "Partition epoch {partition_epoch} is not the current {}",
                    state.partition_epoch
                ),
            ));
        }
        let mut isr: Vec<i32> = Vec::new();
        for r in new_isr {
            if !state.replicas.contains(r) {
                return Err(Refusal::new(
                    ErrorCode::IneligibleReplica,
                    format!("{r} is not a replica of {topic}-{partition}"),
                ));
            }
            let added = !state.isr.contains(r);
            let fenced = image.brokers.get(r).is_none_or(|b| b.fenced);
            if added && fenced {
                return Err(Refusal::new(
                    ErrorCode::IneligibleReplica,
                    format!("Broker {r} is fenced and cannot join the ISR of {topic}-{partition}"),
                ));
            }
            if !isr.contains(r) {
                isr.push(*r);
            }
        }
        if !isr.contains(&broker_id) {
            return Err(Refusal::new(
                ErrorCode::IneligibleReplica,
                "The leader must stay in the ISR",
            ));
        }
        let mut next = state.clone();
        next.isr = isr;
        let live: BTreeSet<i32> = image.live_brokers().map(|b| b.id).collect();
        maybe_complete_reassignment(&mut next, &live);
        let record = change(topic.to_string(), partition as usize, state, next.clone());
        let MetadataRecord::ChangePartition { state: next, .. } = &record else {
            unreachable!("change() builds a ChangePartition")
        };
        Ok((next.clone(), vec![record]))
    }

    /// CreateTopics: replicas placed across the live brokers (rack-aware), leaders spread.
    pub fn create_topic(
        &self,
        image: &ClusterImage,
        name: &str,
        num_partitions: i32,
        replication_factor: i16,
        assignments: Option<&[Vec<i32>]>,
        configs: BTreeMap<String, String>,
    ) -> Result<Vec<MetadataRecord>, Refusal> {
        check_topic_absent(name, image.topics.keys().map(String::as_str))?;
        let topic_id = uuid::Uuid::new_v4();
        let replicas = match assignments {
            Some(a) => self.check_assignments(image, a)?,
            None => place(image, num_partitions, replication_factor, &topic_id)?,
        };
        Ok(vec![MetadataRecord::CreateTopic {
            name: name.to_string(),
            topic_id,
            configs,
            partitions: replicas.into_iter().map(PartitionState::new).collect(),
        }])
    }

    pub fn create_partitions(
        &self,
        image: &ClusterImage,
        name: &str,
        count: i32,
        assignments: Option<&[Vec<i32>]>,
    ) -> Result<Vec<MetadataRecord>, Refusal> {
        let topic = image.topics.get(name).ok_or_else(|| {
            Refusal::new(
                ErrorCode::UnknownTopicOrPartition,
                format!("The topic '{name}' does not exist."),
            )
        })?;
        let current = topic.partitions.len() as i32;
        check_partition_increase(name, current, count)?;
        let rf = topic.partitions.first().map_or(1, |p| p.replicas.len()) as i16;
        let replicas = match assignments {
            Some(a) => {
                if a.len() as i32 != count - current {
                    return Err(Refusal::new(
                        ErrorCode::InvalidReplicaAssignment,
                        format!(
                            "Increasing the number of partitions by {} but {} assignments provided.",
                            count - current,
                            a.len()
                        ),
                    ));
                }
                self.check_assignments(image, a)?
            }
            None => {
                let all = place(image, count, rf, &topic.topic_id)?;
                all.into_iter().skip(current as usize).collect()
            }
        };
        Ok(vec![MetadataRecord::AddPartitions {
            name: name.to_string(),
            partitions: replicas.into_iter().map(PartitionState::new).collect(),
        }])
    }

    fn check_assignments(
        &self,
        image: &ClusterImage,
        assignments: &[Vec<i32>],
    ) -> Result<Vec<Vec<i32>>, Refusal> {
        for replicas in assignments {
            let unique: BTreeSet<i32> = replicas.iter().copied().collect();
            if unique.len() != replicas.len() || replicas.is_empty() {
                return Err(Refusal::new(
                    ErrorCode::InvalidReplicaAssignment,
                    format!("Duplicate or empty replica assignment {replicas:?}"),
                ));
            }
            let mut sorted = replicas.clone();
            sorted.sort_unstable();
            if let Some(unknown) = sorted.iter().find(|r| !image.brokers.contains_key(r)) {
                return Err(Refusal::new(
                    ErrorCode::InvalidReplicaAssignment,
                    format!("The manual partition assignment includes broker {unknown}, but no such broker is registered."),
                ));
            }
        }
        Ok(assignments.to_vec())
    }

    /// Kafka's ElectLeaders. Preferred: the first replica leads where it is alive, in the
    /// ISR and not leading already. Unclean: a partition without a leader gets any live
    /// replica, in or out of the ISR. `None` means every partition (the automatic
    /// rebalance too); then, as in Kafka, partitions needing no election are left out of
    /// the outcomes.
    pub fn elect_leaders(
        &self,
        image: &ClusterImage,
        election: ElectionType,
        partitions: Option<&[(String, i32)]>,
    ) -> (Vec<MetadataRecord>, Vec<PartitionOutcome>) {
        let wanted: Vec<(String, i32)> = match partitions {
            Some(p) => p.to_vec(),
            None => all_partitions(image),
        };
        let live: BTreeSet<i32> = image.live_brokers().map(|b| b.id).collect();
        let mut records = Vec::new();
        let mut results = Vec::new();
        for (topic, index) in wanted {
            let outcome = match image.partition(&topic, index) {
                None => Err(unknown_partition(&topic, index)),
                Some(state) => elect_one(state, election, &live, &topic, index),
            };
            match outcome {
                Ok(next) => {
                    let state = image.partition(&topic, index).expect("checked above");
                    records.push(change(topic.clone(), index as usize, state, next));
                    results.push(((topic, index), None));
                }
                Err(refusal) => {
                    if partitions.is_some() || refusal.code != ErrorCode::ElectionNotNeeded.code() {
                        results.push(((topic, index), Some(refusal)));
                    }
                }
            }
        }
        (records, results)
    }

    /// Kafka's AlterPartitionReassignments: per partition, a target replica list to move
    /// to, or `None` to cancel the reassignment in progress. The target replicas are
    /// added first; once they are all in the ISR the partition completes the move (drops
    /// the removed replicas, and elects a new leader if the old one was removed).
    pub fn alter_reassignments(
        &self,
        image: &ClusterImage,
        allow_replication_factor_change: bool,
        requests: &[ReassignmentRequest],
    ) -> (Vec<MetadataRecord>, Vec<PartitionOutcome>) {
        let live: BTreeSet<i32> = image.live_brokers().map(|b| b.id).collect();
        let mut records = Vec::new();
        let mut results = Vec::new();
        for ((topic, index), target) in requests {
            let outcome = match image.partition(topic, *index) {
                None => Err(unknown_partition(topic, *index)),
                Some(state) => match target {
                    Some(target) => self
                        .check_assignments(image, std::slice::from_ref(target))
                        .and_then(|_| {
                            let current = state.original_replicas().len();
                            if !allow_replication_factor_change && current != target.len() {
                                return Err(Refusal::new(
                                    ErrorCode::InvalidReplicationFactor,
                                    format!(
                                        "The replication factor is changed from {current} to {}",
                                        target.len()
                                    ),
                                ));
                            }
                            Ok(start_reassignment(state, target, &live))
                        }),
                    None => cancel_reassignment(state, &live, topic, *index),
                },
            };
            match outcome {
                Ok(next) => {
                    let state = image.partition(topic, *index).expect("checked above");
                    if next != *state {
                        records.push(change(topic.clone(), *index as usize, state, next));
                    }
                    results.push(((topic.clone(), *index), None));
                }
                Err(refusal) => results.push(((topic.clone(), *index), Some(refusal))),
            }
        }
        (records, results)
    }
}

/// Every partition of every topic, in order.
fn all_partitions(image: &ClusterImage) -> Vec<(String, i32)> {
    image
        .topics
        .values()
        .flat_map(|t| (0..t.partitions.len() as i32).map(|i| (t.name.clone(), i)))
        .collect()
}

fn unknown_partition(topic: &str, index: i32) -> Refusal {
    Refusal::new(
        ErrorCode::UnknownTopicOrPartition,
        format!("Unable to find partition {topic}-{index}."),
    )
}

/// One partition's election: its next state, or why there is none.
fn elect_one(
    state: &PartitionState,
    election: ElectionType,
    live: &BTreeSet<i32>,
    topic: &str,
    index: i32,
) -> Result<PartitionState, Refusal> {
    let mut next = state.clone();
    match election {
        ElectionType::Preferred => {
            let preferred = state.replicas[0];
            if state.leader == preferred {
                return Err(Refusal::new(
                    ErrorCode::ElectionNotNeeded,
                    "Leader election not needed for topic partition.",
                ));
            }
            if !state.isr.contains(&preferred) || !live.contains(&preferred) {
                return Err(Refusal::new(
                    ErrorCode::PreferredLeaderNotAvailable,
                    format!("Failed to elect leader for partition {topic}-{index} under strategy PreferredReplicaPartitionLeaderElectionStrategy"),
                ));
            }
            next.leader = preferred;
        }
        ElectionType::Unclean => {
            if state.leader != NO_LEADER {
                return Err(Refusal::new(
                    ErrorCode::ElectionNotNeeded,
                    "Leader election not needed for topic partition.",
                ));
            }
            next.leader = elect(state, live, true);
            if next.leader == NO_LEADER {
                return Err(Refusal::new(
                    ErrorCode::EligibleLeadersNotAvailable,
                    format!("Failed to elect leader for partition {topic}-{index} under strategy UncleanLeaderElectionStrategy: no replica is alive"),
                ));
            }
            if !next.isr.contains(&next.leader) {
                next.isr = vec![next.leader];
            }
        }
    }
    Ok(next)
}

/// Starts (or replaces) a reassignment to `target`: the replicas become the target
/// followed by the original replicas being removed, as in Kafka; completes at once if
/// every target replica is already in the ISR.
fn start_reassignment(
    state: &PartitionState,
    target: &[i32],
    live: &BTreeSet<i32>,
) -> PartitionState {
    let original = state.original_replicas();
    let mut next = state.clone();
    next.replicas = target.to_vec();
    next.replicas
        .extend(original.iter().copied().filter(|r| !target.contains(r)));
    next.adding_replicas = target
        .iter()
        .copied()
        .filter(|r| !original.contains(r))
        .collect();
    next.removing_replicas = original
        .iter()
        .copied()
        .filter(|r| !target.contains(r))
        .collect();
    // Replicas of a replaced reassignment that the new target drops leave the ISR.
    next.isr.retain(|r| next.replicas.contains(r));
    maybe_complete_reassignment(&mut next, live);
    next
}

/// Cancels the reassignment in progress: back to the original replicas.
fn cancel_reassignment(
    state: &PartitionState,
    live: &BTreeSet<i32>,
    topic: &str,
    index: i32,
) -> Result<PartitionState, Refusal> {
    if !state.is_reassigning() {
        return Err(Refusal::new(
            ErrorCode::NoReassignmentInProgress,
            format!("No ongoing reassignment for partition {topic}-{index}."),
        ));
    }
    let original = state.original_replicas();
    let mut next = state.clone();
    next.isr.retain(|r| original.contains(r));
    if next.isr.is_empty() {
        return Err(Refusal::new(
            ErrorCode::InvalidReplicaAssignment,
            format!("Cannot cancel the reassignment of {topic}-{index}: no original replica is in the ISR."),
        ));
    }
    next.replicas = original;
    next.adding_replicas.clear();
    next.removing_replicas.clear();
    if !next.replicas.contains(&next.leader) {
        next.leader = elect(&next, live, false);
    }
    Ok(next)
}

/// Completes a reassignment whose target replicas are all in the ISR: the removed
/// replicas leave, and the leader moves if it was one of them. Kafka's rule, including
/// its refusal to complete when no target replica would be left in the ISR.
fn maybe_complete_reassignment(state: &mut PartitionState, live: &BTreeSet<i32>) {
    if !state.is_reassigning() || state.adding_replicas.iter().any(|r| !state.isr.contains(r)) {
        return;
    }
    let isr: Vec<i32> = state
        .isr
        .iter()
        .copied()
        .filter(|r| !state.removing_replicas.contains(r))
        .collect();
    if isr.is_empty() {
        return;
    }
    state.replicas = state.target_replicas();
    state.isr = isr;
    state.adding_replicas.clear();
    state.removing_replicas.clear();
    if !state.isr.contains(&state.leader) {
        state.leader = elect(state, live, false);
    }
}

/// The first replica, in assignment order, that is in the ISR and alive; with unclean
/// election allowed, failing that, any live replica.
pub fn elect(state: &PartitionState, live: &BTreeSet<i32>, unclean: bool) -> i32 {
    let clean = state
        .replicas
        .iter()
        .find(|r| state.isr.contains(r) && live.contains(r));
    match clean {
        Some(r) => *r,
        None if unclean => state
            .replicas
            .iter()
            .find(|r| live.contains(r))
            .copied()
            .unwrap_or(NO_LEADER),
        None => NO_LEADER,
    }
}

/// A ChangePartition record from `before` to `after`, with the epochs bumped: the
/// partition epoch always, the leader epoch when the leader changed.
fn change(
    topic: String,
    index: usize,
    before: &PartitionState,
    mut after: PartitionState,
) -> MetadataRecord {
    after.partition_epoch = before.partition_epoch + 1;
    if after.leader != before.leader {
        after.leader_epoch = before.leader_epoch + 1;
    }
    MetadataRecord::ChangePartition {
        topic,
        partition: index as i32,
        state: after,
    }
}

/// Kafka forbids topics whose names differ only by '.' versus '_' (metric names collide).
pub fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

/// CreateTopics' checks against the existing topics: the name is free and does not
/// collide with another's. Shared by the controller and the single-node broker.
pub fn check_topic_absent<'a>(
    name: &str,
    existing: impl IntoIterator<Item = &'a str>,
) -> Result<(), Refusal> {
    let key = collision_key(name);
    let mut collision = None;
    for other in existing {
        if other == name {
            return Err(Refusal::new(
                ErrorCode::TopicAlreadyExists,
                format!("Topic '{name}' already exists."),
            ));
        }
        if collision.is_none() && collision_key(other) == key {
            collision = Some(other);
        }
    }
    match collision {
        Some(other) => Err(Refusal::new(
            ErrorCode::InvalidTopicException,
            format!("Topic '{name}' collides with existing topic: {other}"),
        )),
        None => Ok(()),
    }
}

/// A replication factor needs that many live brokers.
pub fn check_replication_factor(rf: usize, live: usize) -> Result<(), Refusal> {
    if rf > live {
        return Err(Refusal::new(
            ErrorCode::InvalidReplicationFactor,
            format!(
                "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {live} broker(s) are registered."
            ),
        ));
    }
    Ok(())
}

/// CreatePartitions only grows a topic (Kafka's texts).
pub fn check_partition_increase(name: &str, current: i32, count: i32) -> Result<(), Refusal> {
    if count == current {
        return Err(Refusal::new(
            ErrorCode::InvalidPartitions,
            format!("Topic already has {current} partition(s)."),
        ));
    }
    if count < current {
        return Err(Refusal::new(
            ErrorCode::InvalidPartitions,
            format!("The topic {name} currently has {current} partition(s); {count} would not be an increase."),
        ));
    }
    Ok(())
}

/// Kafka's replica placement: brokers in a rack-alternating order, partition `p` led
/// by broker `(start + p) % n`, its followers shifted so that leaders and followers
/// spread evenly. `start` derives from the topic id, so it is random per topic but the
/// same on every controller replaying the decision.
fn place(
    image: &ClusterImage,
    num_partitions: i32,
    replication_factor: i16,
    topic_id: &uuid::Uuid,
) -> Result<Vec<Vec<i32>>, Refusal> {
    let live: Vec<&BrokerInfo> = image.live_brokers().collect();
    let rf = replication_factor as usize;
    check_replication_factor(rf, live.len())?;
    let brokers = rack_alternated(&live);
    let rack_of: HashMap<i32, Option<&str>> =
        live.iter().map(|b| (b.id, b.rack.as_deref())).collect();
    let rack_count = rack_of.values().collect::<BTreeSet<_>>().len();
    let n = brokers.len();
    let seed = u64::from_le_bytes(topic_id.as_bytes()[..8].try_into().expect("8 bytes"));
    let start = (seed % n as u64) as usize;
    let mut shift = ((seed >> 32) % n as u64) as usize;
    let mut out = Vec::new();
    for p in 0..num_partitions {
        let p = p as usize;
        if p > 0 && p.is_multiple_of(n) {
            shift += 1;
        }
        let first = (p + start) % n;
        let mut replicas = vec![brokers[first]];
        let mut racks_used: BTreeSet<Option<&str>> = BTreeSet::from([rack_of[&brokers[first]]]);
        let mut k = 0;
        while replicas.len() < rf {
            let index = (first + 1 + (shift + k) % (n - 1).max(1)) % n;
            k += 1;
            let candidate = brokers[index];
            let rack = rack_of[&candidate];
            // As Kafka's rack-aware assignment: skip a broker whose rack already holds a
            // replica until every rack does, and any broker already chosen.
            let every_rack_used = racks_used.len() == rack_count;
            if replicas.contains(&candidate) || (!every_rack_used && racks_used.contains(&rack)) {
                // Terminates: one lap over the other brokers meets every rack.
                continue;
            }
            if every_rack_used {
                racks_used.clear();
            }
            racks_used.insert(rack);
            replicas.push(candidate);
        }
        out.push(replicas);
    }
    Ok(out)
}

/// Kafka's rack-alternated broker list: one broker of each rack in turn, so consecutive
/// brokers (a partition's replicas) sit in different racks where possible.
fn rack_alternated(brokers: &[&BrokerInfo]) -> Vec<i32> {
    let mut by_rack: BTreeMap<Option<&str>, Vec<i32>> = BTreeMap::new();
    for b in brokers {
        by_rack.entry(b.rack.as_deref()).or_default().push(b.id);
    }
    if by_rack.len() <= 1 {
        let mut ids: Vec<i32> = brokers.iter().map(|b| b.id).collect();
        ids.sort_unstable();
        return ids;
    }
    let mut out = Vec::with_capacity(brokers.len());
    let mut round = 0;
    while out.len() < brokers.len() {
        for ids in by_rack.values() {
            if let Some(id) = ids.get(round) {
                out.push(*id);
            }
        }
        round += 1;
    }
    out
}

#[cfg(test)]
mod tests;
