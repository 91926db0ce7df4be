use super::*;

fn config() -> ControllerConfig {
    ControllerConfig {
        session_timeout_ms: 9000,
        unclean_leader_election: false,
    }
}

/// An image of `n` registered, unfenced brokers (ids 1..=n), racks as given.
fn cluster(racks: &[Option<&str>]) -> (Controller, ClusterImage) {
    let mut image = ClusterImage::default();
    let mut controller = Controller::new(config(), &image, 0);
    for (i, rack) in racks.iter().enumerate() {
        join(
            &mut controller,
            &mut image,
            i as i32 + 1,
            rack.map(str::to_string),
            0,
        );
    }
    (controller, image)
}

/// Broker `id` (re-)registers, catches up with the image and is unfenced.
fn join(
    controller: &mut Controller,
    image: &mut ClusterImage,
    id: i32,
    rack: Option<String>,
    now: u64,
) {
    let (epoch, records) = controller.register(image, id, uuid::Uuid::new_v4(), vec![], rack, now);
    apply(image, &records);
    controller.registered(id, image.offset);
    let records = controller
        .heartbeat(image, id, epoch, image.offset, false, now + 1)
        .unwrap();
    apply(image, &records);
}

fn apply(image: &mut ClusterImage, records: &[MetadataRecord]) {
    image.apply_entry(image.offset + 1, records);
}

fn create(controller: &Controller, image: &mut ClusterImage, name: &str, partitions: i32, rf: i16) {
    let records = controller
        .create_topic(image, name, partitions, rf, None, BTreeMap::new())
        .unwrap();
    apply(image, &records);
}

#[test]
fn registration_starts_fenced_and_caught_up_heartbeat_unfences() {
    let mut image = ClusterImage::default();
    let mut controller = Controller::new(config(), &image, 0);
    let (epoch, records) = controller.register(&image, 1, uuid::Uuid::new_v4(), vec![], None, 0);
    apply(&mut image, &records);
    controller.registered(1, image.offset);
    assert!(image.brokers[&1].fenced);
    // Not caught up yet: still fenced.
    let records = controller
        .heartbeat(&image, 1, epoch, 0, false, 10)
        .unwrap();
    assert!(records.is_empty());
    let records = controller
        .heartbeat(&image, 1, epoch, image.offset, false, 20)
        .unwrap();
    apply(&mut image, &records);
    assert!(!image.brokers[&1].fenced);
    // A stale epoch is refused.
    let refused = controller
        .heartbeat(&image, 1, epoch - 1, image.offset, false, 30)
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::StaleBrokerEpoch.code());
}

#[test]
fn placement_spreads_leaders_and_replicas_evenly() {
    let (controller, mut image) = cluster(&[None, None, None]);
    create(&controller, &mut image, "t", 6, 3);
    let topic = &image.topics["t"];
    let mut leaders = BTreeMap::new();
    for p in &topic.partitions {
        let unique: BTreeSet<i32> = p.replicas.iter().copied().collect();
        assert_eq!(unique.len(), 3, "{p:?}");
        assert_eq!(p.isr, p.replicas);
        assert_eq!(p.leader, p.replicas[0]);
        *leaders.entry(p.leader).or_insert(0) += 1;
    }
    assert_eq!(leaders.values().copied().collect::<Vec<_>>(), vec![2, 2, 2]);
}

#[test]
fn replication_factor_above_live_brokers_names_both_numbers() {
    let (controller, image) = cluster(&[None, None]);
    let refused = controller
        .create_topic(&image, "t", 1, 3, None, BTreeMap::new())
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidReplicationFactor.code());
    assert!(
        refused.message.contains("replication factor of 3"),
        "{}",
        refused.message
    );
    assert!(
        refused.message.contains("only 2 broker(s)"),
        "{}",
        refused.message
    );
}

#[test]
fn rack_aware_placement_puts_replicas_in_different_racks() {
    let (controller, mut image) = cluster(&[
        Some("a"),
        Some("a"),
        Some("b"),
        Some("b"),
        Some("c"),
        Some("c"),
    ]);
    create(&controller, &mut image, "t", 12, 3);
    for p in &image.topics["t"].partitions {
        let racks: BTreeSet<_> = p
            .replicas
            .iter()
            .map(|r| image.brokers[r].rack.clone())
            .collect();
        assert_eq!(racks.len(), 3, "replicas {:?} share a rack", p.replicas);
    }
}

#[test]
fn fencing_the_leader_elects_from_the_isr_and_bumps_the_epochs() {
    let (mut controller, mut image) = cluster(&[None, None, None]);
    create(&controller, &mut image, "t", 1, 3);
    let before = image.partition("t", 0).unwrap().clone();
    // Every broker but the leader heartbeats; the leader's session expires.
    for id in 1..=3 {
        if id != before.leader {
            let epoch = image.brokers[&id].epoch;
            let r = controller
                .heartbeat(&image, id, epoch, image.offset, false, 9500)
                .unwrap();
            assert!(r.is_empty());
        }
    }
    let records = controller.tick(&image, 9500);
    apply(&mut image, &records);
    let after = image.partition("t", 0).unwrap();
    assert!(image.brokers[&before.leader].fenced);
    assert_ne!(after.leader, before.leader);
    assert!(before.isr.contains(&after.leader));
    assert!(!after.isr.contains(&before.leader));
    assert_eq!(after.leader_epoch, before.leader_epoch + 1);
    assert_eq!(after.partition_epoch, before.partition_epoch + 1);
}

#[test]
fn the_last_isr_member_keeps_its_place_and_leads_again_when_it_returns() {
    let (mut controller, mut image) = cluster(&[None, None]);
    create(&controller, &mut image, "t", 1, 2);
    let state = image.partition("t", 0).unwrap().clone();
    let leader = state.leader;
    // The follower fell out of the ISR.
    let (_, records) = controller
        .alter_partition(
            &image,
            leader,
            image.brokers[&leader].epoch,
            "t",
            0,
            state.leader_epoch,
            state.partition_epoch,
            &[leader],
        )
        .unwrap();
    apply(&mut image, &records);
    // Then the leader dies: no clean leader is left.
    let records = controller.fence(&image, leader);
    apply(&mut image, &records);
    let state = image.partition("t", 0).unwrap().clone();
    assert_eq!(state.leader, NO_LEADER);
    assert_eq!(state.isr, vec![leader]);
    // It comes back: re-registers, catches up, is unfenced and leads again.
    join(&mut controller, &mut image, leader, None, 1);
    let state = image.partition("t", 0).unwrap();
    assert_eq!(state.leader, leader);
    assert_eq!(state.isr, vec![leader]);
}

#[test]
fn unclean_election_picks_a_live_out_of_sync_replica_when_allowed() {
    let (mut controller, mut image) = cluster(&[None, None]);
    controller.config.unclean_leader_election = true;
    create(&controller, &mut image, "t", 1, 2);
    let state = image.partition("t", 0).unwrap().clone();
    let (leader, follower) = (state.leader, state.replicas[1]);
    let (_, records) = controller
        .alter_partition(
            &image,
            leader,
            image.brokers[&leader].epoch,
            "t",
            0,
            0,
            0,
            &[leader],
        )
        .unwrap();
    apply(&mut image, &records);
    let records = controller.fence(&image, leader);
    apply(&mut image, &records);
    let state = image.partition("t", 0).unwrap();
    assert_eq!(state.leader, follower);
    assert_eq!(state.isr, vec![follower]);
}

#[test]
fn alter_partition_refuses_stale_epochs_and_fenced_additions() {
    let (controller, mut image) = cluster(&[None, None, None]);
    create(&controller, &mut image, "t", 1, 3);
    let state = image.partition("t", 0).unwrap().clone();
    let leader = state.leader;
    let epoch = image.brokers[&leader].epoch;
    let others: Vec<i32> = state
        .replicas
        .iter()
        .copied()
        .filter(|r| *r != leader)
        .collect();
    let stale = controller
        .alter_partition(
            &image,
            leader,
            epoch,
            "t",
            0,
            state.leader_epoch + 1,
            state.partition_epoch,
            &[leader],
        )
        .unwrap_err();
    assert_eq!(stale.code, ErrorCode::FencedLeaderEpoch.code());
    let stale = controller
        .alter_partition(
            &image,
            leader,
            epoch,
            "t",
            0,
            state.leader_epoch,
            state.partition_epoch + 1,
            &[leader],
        )
        .unwrap_err();
    assert_eq!(stale.code, ErrorCode::InvalidUpdateVersion.code());
    let not_leader = controller
        .alter_partition(
            &image,
            others[0],
            image.brokers[&others[0]].epoch,
            "t",
            0,
            0,
            0,
            &[others[0]],
        )
        .unwrap_err();
    assert_eq!(not_leader.code, ErrorCode::NotLeaderOrFollower.code());
    // Shrink to the leader, fence a follower, and try to add it back.
    let (shrunk, records) = controller
        .alter_partition(&image, leader, epoch, "t", 0, 0, 0, &[leader])
        .unwrap();
    apply(&mut image, &records);
    assert_eq!(shrunk.isr, vec![leader]);
    assert_eq!(shrunk.partition_epoch, 1);
    let records = controller.fence(&image, others[0]);
    apply(&mut image, &records);
    let refused = controller
        .alter_partition(&image, leader, epoch, "t", 0, 0, 1, &[leader, others[0]])
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::IneligibleReplica.code());
    let (expanded, _) = controller
        .alter_partition(&image, leader, epoch, "t", 0, 0, 1, &[leader, others[1]])
        .unwrap();
    assert_eq!(expanded.isr, vec![leader, others[1]]);
}

#[test]
fn preferred_election_moves_leadership_back_to_the_first_replica() {
    let (mut controller, mut image) = cluster(&[None, None, None]);
    create(&controller, &mut image, "t", 1, 3);
    let preferred = image.partition("t", 0).unwrap().replicas[0];
    let records = controller.fence(&image, preferred);
    apply(&mut image, &records);
    assert_ne!(image.partition("t", 0).unwrap().leader, preferred);
    join(&mut controller, &mut image, preferred, None, 1);
    // Not in the ISR yet: the election is refused.
    let (records, results) =
        controller.elect_leaders(&image, ElectionType::Preferred, Some(&[("t".into(), 0)]));
    assert!(records.is_empty());
    assert_eq!(
        results[0].1.as_ref().unwrap().code,
        ErrorCode::PreferredLeaderNotAvailable.code()
    );
    // The leader adds it back; now the election succeeds.
    let state = image.partition("t", 0).unwrap().clone();
    let mut isr = state.isr.clone();
    isr.push(preferred);
    let (_, records) = controller
        .alter_partition(
            &image,
            state.leader,
            image.brokers[&state.leader].epoch,
            "t",
            0,
            state.leader_epoch,
            state.partition_epoch,
            &isr,
        )
        .unwrap();
    apply(&mut image, &records);
    let (records, results) =
        controller.elect_leaders(&image, ElectionType::Preferred, Some(&[("t".into(), 0)]));
    assert!(results[0].1.is_none());
    apply(&mut image, &records);
    assert_eq!(image.partition("t", 0).unwrap().leader, preferred);
    let (_, results) =
        controller.elect_leaders(&image, ElectionType::Preferred, Some(&[("t".into(), 0)]));
    assert_eq!(
        results[0].1.as_ref().unwrap().code,
        ErrorCode::ElectionNotNeeded.code()
    );
}

#[test]
fn create_partitions_places_only_the_new_ones() {
    let (controller, mut image) = cluster(&[None, None, None]);
    create(&controller, &mut image, "t", 2, 2);
    let before = image.topics["t"].partitions.clone();
    let records = controller.create_partitions(&image, "t", 5, None).unwrap();
    apply(&mut image, &records);
    let after = &image.topics["t"].partitions;
    assert_eq!(after.len(), 5);
    assert_eq!(&after[..2], &before[..]);
    assert!(after.iter().all(|p| p.replicas.len() == 2));
    let refused = controller
        .create_partitions(&image, "t", 5, None)
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidPartitions.code());
}

/// A topic `t` of one partition on the explicit replicas given.
fn create_on(controller: &Controller, image: &mut ClusterImage, replicas: &[i32]) {
    let records = controller
        .create_topic(
            image,
            "t",
            1,
            0,
            Some(&[replicas.to_vec()]),
            BTreeMap::new(),
        )
        .unwrap();
    apply(image, &records);
}

/// The partition's leader asks for `isr` against the current state.
fn leader_sets_isr(
    controller: &Controller,
    image: &mut ClusterImage,
    isr: &[i32],
) -> PartitionState {
    let state = image.partition("t", 0).unwrap().clone();
    let (next, records) = controller
        .alter_partition(
            image,
            state.leader,
            image.brokers[&state.leader].epoch,
            "t",
            0,
            state.leader_epoch,
            state.partition_epoch,
            isr,
        )
        .unwrap();
    apply(image, &records);
    next
}

fn reassign(
    controller: &Controller,
    image: &mut ClusterImage,
    target: Option<Vec<i32>>,
) -> Option<Refusal> {
    let (records, mut outcomes) =
        controller.alter_reassignments(image, true, &[(("t".into(), 0), target)]);
    apply(image, &records);
    outcomes.remove(0).1
}

#[test]
fn reassignment_adds_the_targets_then_completes_once_they_are_in_sync() {
    let (controller, mut image) = cluster(&[None, None, None]);
    create_on(&controller, &mut image, &[1, 2]);
    assert_eq!(reassign(&controller, &mut image, Some(vec![2, 3])), None);
    let moving = image.partition("t", 0).unwrap().clone();
    assert_eq!(moving.replicas, vec![2, 3, 1]);
    assert_eq!(moving.adding_replicas, vec![3]);
    assert_eq!(moving.removing_replicas, vec![1]);
    assert_eq!((moving.leader, moving.isr.clone()), (1, vec![1, 2]));
    assert_eq!(moving.target_replicas(), vec![2, 3]);
    assert_eq!(moving.original_replicas(), vec![2, 1]);

    // Broker 3 caught up: the leader adds it to the ISR, which completes the move. The
    // old leader was removed, so leadership passes to the first target replica in sync.
    let done = leader_sets_isr(&controller, &mut image, &[1, 2, 3]);
    assert_eq!(done.replicas, vec![2, 3]);
    assert_eq!(done.isr, vec![2, 3]);
    assert!(!done.is_reassigning());
    assert_eq!(done.leader, 2);
    assert_eq!(done.leader_epoch, moving.leader_epoch + 1);
    assert_eq!(image.partition("t", 0).unwrap(), &done);
}

#[test]
fn reassignment_within_the_isr_completes_at_once() {
    let (controller, mut image) = cluster(&[None, None, None]);
    create_on(&controller, &mut image, &[1, 2, 3]);
    assert_eq!(reassign(&controller, &mut image, Some(vec![3, 2])), None);
    let state = image.partition("t", 0).unwrap();
    assert_eq!(state.replicas, vec![3, 2]);
    assert_eq!(state.isr, vec![2, 3]);
    assert!(!state.is_reassigning());
    assert_eq!(
        state.leader, 3,
        "the old leader left; the new first replica leads"
    );
}

#[test]
fn cancelling_a_reassignment_restores_the_original_replicas() {
    let (controller, mut image) = cluster(&[None, None, None]);
    create_on(&controller, &mut image, &[1, 2]);
    let refused = reassign(&controller, &mut image, None).unwrap();
    assert_eq!(refused.code, ErrorCode::NoReassignmentInProgress.code());
    let before = image.partition("t", 0).unwrap().clone();
    assert_eq!(reassign(&controller, &mut image, Some(vec![2, 3])), None);
    assert_eq!(reassign(&controller, &mut image, None), None);
    let after = image.partition("t", 0).unwrap();
    // As in Kafka, the revert keeps the reassignment's order: target first.
    assert_eq!(after.replicas, vec![2, 1]);
    assert_eq!(after.isr, before.isr);
    assert_eq!(after.leader, before.leader);
    assert!(!after.is_reassigning());
}

#[test]
fn reassignment_refuses_unknown_brokers_partitions_and_replication_factor_changes() {
    let (controller, mut image) = cluster(&[None, None, None]);
    create_on(&controller, &mut image, &[1, 2]);
    let refused = reassign(&controller, &mut image, Some(vec![1, 9])).unwrap();
    assert_eq!(refused.code, ErrorCode::InvalidReplicaAssignment.code());
    let refused = reassign(&controller, &mut image, Some(vec![1, 1])).unwrap();
    assert_eq!(refused.code, ErrorCode::InvalidReplicaAssignment.code());
    let (records, outcomes) =
        controller.alter_reassignments(&image, false, &[(("t".into(), 0), Some(vec![1, 2, 3]))]);
    assert!(records.is_empty());
    let refused = outcomes[0].1.as_ref().unwrap();
    assert_eq!(refused.code, ErrorCode::InvalidReplicationFactor.code());
    assert_eq!(
        refused.message,
        "The replication factor is changed from 2 to 3"
    );
    let (_, outcomes) =
        controller.alter_reassignments(&image, true, &[(("nope".into(), 0), Some(vec![1]))]);
    assert_eq!(
        outcomes[0].1.as_ref().unwrap().code,
        ErrorCode::UnknownTopicOrPartition.code()
    );
    assert!(!image.partition("t", 0).unwrap().is_reassigning());
}

#[test]
fn unclean_election_on_request_and_all_partitions_omits_those_not_needing_one() {
    let (controller, mut image) = cluster(&[None, None]);
    create_on(&controller, &mut image, &[1, 2]);
    leader_sets_isr(&controller, &mut image, &[1]);
    let fenced = controller.fence(&image, 1);
    apply(&mut image, &fenced);
    assert_eq!(image.partition("t", 0).unwrap().leader, NO_LEADER);
    // Preferred election over everything: the preferred replica is down, so it is
    // reported; a clean election is impossible.
    let (records, outcomes) = controller.elect_leaders(&image, ElectionType::Preferred, None);
    assert!(records.is_empty());
    assert_eq!(
        outcomes[0].1.as_ref().unwrap().code,
        ErrorCode::PreferredLeaderNotAvailable.code()
    );
    let (records, outcomes) = controller.elect_leaders(&image, ElectionType::Unclean, None);
    assert_eq!(outcomes, vec![(("t".into(), 0), None)]);
    apply(&mut image, &records);
    let state = image.partition("t", 0).unwrap();
    assert_eq!((state.leader, state.isr.clone()), (2, vec![2]));
    // Nothing is left to elect: all-partition requests list nothing, named ones say so.
    let (_, outcomes) = controller.elect_leaders(&image, ElectionType::Unclean, None);
    assert!(outcomes.is_empty());
    let (_, outcomes) =
        controller.elect_leaders(&image, ElectionType::Unclean, Some(&[("t".into(), 0)]));
    assert_eq!(
        outcomes[0].1.as_ref().unwrap().code,
        ErrorCode::ElectionNotNeeded.code()
    );
}
