//! The share-group coordinator over an in-memory `__consumer_offsets`: what its steps
//! write is what a new coordinator (after a restart or a leader change) replays — the
//! group, its epochs, members, assignments and initialized share-partitions.

mod common;

use std::sync::Arc;

use common::MemoryLog;
use rafka_coordinator::group::consumer::TopicInfo;
use rafka_coordinator::group::{self, GroupCoordinator};
use rafka_coordinator::share::{
    ShareConfig, ShareGroupCoordinator, ShareHeartbeat, ShareHeartbeatConfig, ShareHeartbeatResult,
};
use rafka_protocol::ErrorCode;

const CONFIG: ShareHeartbeatConfig = ShareHeartbeatConfig {
    session_timeout_ms: 45_000,
    heartbeat_interval_ms: 5_000,
    max_size: 200,
};

/// A group coordinator handing its share records to a share-group coordinator, as the
/// broker wires them.
fn coordinators() -> (GroupCoordinator, Arc<ShareGroupCoordinator>) {
    let shares = Arc::new(ShareGroupCoordinator::new(ShareConfig::default()));
    let groups = common::group_coordinator().with_other_records(shares.clone());
    (groups, shares)
}

fn topics() -> Vec<TopicInfo> {
    vec![TopicInfo {
        topic_id: uuid::Uuid::from_u128(7),
        name: "orders".into(),
        partitions: 2,
    }]
}

struct Node {
    groups: GroupCoordinator,
    shares: Arc<ShareGroupCoordinator>,
}

impl Node {
    fn new() -> Node {
        let (groups, shares) = coordinators();
        Node { groups, shares }
    }

    /// A new coordinator replaying the log, as after a restart.
    fn restarted(log: &MemoryLog, now_ms: i64) -> Node {
        let node = Node::new();
        node.groups.load(log, now_ms);
        node
    }

    /// One heartbeat as the broker's handler runs it: the step, its records appended,
    /// the write awaited.
    async fn beat(
        &self,
        log: &MemoryLog,
        member: &str,
        epoch: i32,
        now_ms: i64,
    ) -> ShareHeartbeatResult {
        let request = ShareHeartbeat {
            member_id: member.into(),
            member_epoch: epoch,
            subscribed_topic_names: (epoch == 0).then(|| vec!["orders".into()]),
            client_id: format!("client-{member}"),
            client_host: "/127.0.0.1".into(),
            ..Default::default()
        };
        let group = self.shares.group_or_create("g");
        let (result, write) = {
            let mut group = group.lock();
            let result = group.heartbeat(request, &topics(), CONFIG, now_ms);
            let write = self
                .shares
                .persist(&self.groups, log, &mut group, &topics());
            (result, write)
        };
        if result.error.is_some() {
            self.shares.forget_unborn("g");
        }
        group::completed(write).await.expect("written");
        result
    }

    fn epochs(&self) -> (i32, i32) {
        let group = self.shares.group("g").expect("the group");
        let group = group.lock();
        (group.group_epoch, group.assignment_epoch)
    }
}

fn assigned(result: &ShareHeartbeatResult) -> Vec<i32> {
    result
        .assignment
        .as_ref()
        .expect("an assignment")
        .values()
        .flatten()
        .copied()
        .collect()
}

#[tokio::test]
async fn a_replay_brings_back_the_group_its_members_and_their_assignments() {
    let log = MemoryLog::leader();
    let node = Node::new();
    node.beat(&log, "a", 0, 0).await;
    let a = node.beat(&log, "a", 1, 1).await;
    assert_eq!((a.member_epoch, assigned(&a)), (2, vec![0, 1]));
    let b = node.beat(&log, "b", 0, 2).await;
    assert_eq!((b.member_epoch, assigned(&b)), (3, vec![0]));
    let a = node.beat(&log, "a", 2, 3).await;
    assert_eq!((a.member_epoch, assigned(&a)), (3, vec![1]));
    let written = log.records();

    let again = Node::restarted(&log, 10_000);
    assert_eq!(again.epochs(), (3, 3));
    {
        let group = again.shares.group("g").expect("replayed");
        let group = group.lock();
        let ids: Vec<&String> = group.members.keys().collect();
        assert_eq!(ids, ["a", "b"]);
        let a = &group.members["a"];
        assert_eq!((a.member_epoch, a.previous_member_epoch), (3, 2));
        assert_eq!(a.client_id, "client-a");
        assert_eq!(a.subscribed_topic_names, ["orders"]);
        assert_eq!(
            a.assignment.values().flatten().copied().collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(a.last_heartbeat_ms, 10_000, "its session restarts at load");
        assert_eq!(
            group.initialized_partitions()[&uuid::Uuid::from_u128(7)],
            [0, 1].into()
        );
        assert_eq!(group.state_name(), "Stable");
    }
    // The members carry on with their epochs: nothing to join again, nothing written.
    let a = again.beat(&log, "a", 3, 10_001).await;
    assert_eq!(
        (a.error.clone(), a.member_epoch, a.assignment),
        (None, 3, None)
    );
    let b = again.beat(&log, "b", 3, 10_002).await;
    assert_eq!((b.error.clone(), b.member_epoch), (None, 3));
    assert_eq!(again.epochs(), (3, 3), "no spurious epoch bump");
    assert_eq!(log.records(), written, "an unchanged group writes nothing");
}

#[tokio::test]
async fn an_idle_group_outlives_a_restart_until_it_is_deleted() {
    let log = MemoryLog::leader();
    let node = Node::new();
    node.beat(&log, "a", 0, 0).await;
    node.beat(&log, "a", 1, 1).await;
    let left = node.beat(&log, "a", -1, 2).await;
    assert_eq!(left.left.as_deref(), Some("a"));

    let again = Node::restarted(&log, 5_000);
    let group = again
        .shares
        .group("g")
        .expect("an empty group is still listed");
    assert_eq!(group.lock().state_name(), "Empty");
    assert_eq!(again.epochs(), (3, 3));
    assert!(group.lock().members.is_empty(), "a left: it is gone");
    // A member that left must join again.
    let stale = again.beat(&log, "a", 2, 5_001).await;
    assert_eq!(stale.error.map(|e| e.0), Some(ErrorCode::UnknownMemberId));

    let deleted = again.shares.delete(&again.groups, &log, "g");
    assert_eq!(group::completed(deleted).await, Ok(()));
    assert!(again.shares.group("g").is_none());
    let after_delete = Node::restarted(&log, 6_000);
    assert!(after_delete.shares.group("g").is_none(), "deleted for good");
    assert_eq!(
        after_delete
            .shares
            .delete(&after_delete.groups, &log, "g")
            .err(),
        Some(ErrorCode::GroupIdNotFound)
    );
}

#[tokio::test]
async fn members_restored_by_a_replay_expire_without_heartbeats() {
    let log = MemoryLog::leader();
    let node = Node::new();
    node.beat(&log, "a", 0, 0).await;
    node.beat(&log, "a", 1, 1).await;

    let again = Node::restarted(&log, 100_000);
    assert_eq!(
        again.shares.delete(&again.groups, &log, "g").err(),
        Some(ErrorCode::NonEmptyGroup)
    );
    let (expired, writes) = again.shares.tick(&again.groups, &log, &topics(), 145_000);
    assert!(expired.is_empty() && writes.is_empty());
    let (expired, writes) = again.shares.tick(&again.groups, &log, &topics(), 145_001);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].member_ids, ["a"]);
    for write in writes {
        write.completed().await.expect("written");
    }
    let third = Node::restarted(&log, 200_000);
    let group = third.shares.group("g").expect("still there, empty");
    assert_eq!(group.lock().state_name(), "Empty");
    assert_eq!(third.epochs(), (3, 3));
}

#[tokio::test]
async fn a_refused_first_heartbeat_leaves_no_group_behind() {
    let log = MemoryLog::leader();
    let node = Node::new();
    let refused = node.beat(&log, "", 0, 0).await;
    assert_eq!(refused.error.map(|e| e.0), Some(ErrorCode::InvalidRequest));
    assert!(node.shares.group("g").is_none(), "Kafka creates no group");
    assert_eq!(log.records(), 0);
    assert!(Node::restarted(&log, 1).shares.group("g").is_none());
}

#[tokio::test]
async fn a_failed_append_is_written_again_by_the_next_step() {
    let log = MemoryLog::leader();
    let node = Node::new();
    node.beat(&log, "a", 0, 0).await;
    *log.append_error.lock() = Some(ErrorCode::NotLeaderOrFollower);
    let group = node.shares.group("g").unwrap();
    let failed = {
        let mut group = group.lock();
        let result = group.heartbeat(
            ShareHeartbeat {
                member_id: "a".into(),
                member_epoch: 1,
                ..Default::default()
            },
            &topics(),
            CONFIG,
            1,
        );
        assert_eq!(result.member_epoch, 2);
        node.shares
            .persist(&node.groups, &log, &mut group, &topics())
    };
    assert_eq!(
        group::completed(failed).await,
        Err(ErrorCode::NotCoordinator)
    );
    *log.append_error.lock() = None;
    // The next step's write carries what the failed one did not.
    node.beat(&log, "a", 2, 2).await;
    let again = Node::restarted(&log, 10);
    assert_eq!(again.epochs(), (2, 2));
    assert_eq!(
        again.shares.group("g").unwrap().lock().members["a"].member_epoch,
        2
    );
}

#[tokio::test]
async fn share_records_do_not_disturb_the_classic_groups_of_the_partition() {
    let log = MemoryLog::leader();
    let node = Node::new();
    node.beat(&log, "a", 0, 0).await;
    let classic = node.groups.group_or_create("classic", 0);
    let write = {
        let mut classic = classic.lock();
        node.groups.commit_offsets(
            &log,
            &mut classic,
            vec![(
                ("orders".into(), 0),
                group::CommittedOffset {
                    offset: 5,
                    leader_epoch: 0,
                    metadata: String::new(),
                    commit_timestamp_ms: 0,
                },
            )],
        )
    };
    group::completed(write).await.unwrap();
    let again = Node::restarted(&log, 1);
    assert!(again.groups.group("g").is_none(), "not a classic group");
    assert!(again.shares.group("g").is_some());
    assert_eq!(
        again.groups.group("classic").unwrap().lock().offsets[&("orders".to_string(), 0)].offset,
        5
    );
}

#[tokio::test]
async fn a_resigned_partition_takes_its_groups_along_and_a_new_leadership_brings_them_back() {
    let log = MemoryLog::leader();
    let node = Node::new();
    node.beat(&log, "a", 0, 0).await;
    // A classic group in the share group's partition, and one in another partition.
    let partition = node.groups.partition_for("g");
    let same = (0..)
        .map(|i| format!("classic-{i}"))
        .find(|id| node.groups.partition_for(id) == partition)
        .unwrap();
    let other = (0..)
        .map(|i| format!("classic-{i}"))
        .find(|id| node.groups.partition_for(id) != partition)
        .unwrap();
    for id in [&same, &other] {
        node.groups.group_or_create(id, 0);
    }

    assert_eq!(node.groups.unload_partition(partition), 1);
    assert!(node.shares.group("g").is_none(), "the share group went too");
    assert!(node.groups.group(&same).is_none());
    assert!(
        node.groups.group(&other).is_some(),
        "another partition's group stays"
    );

    // Leading the partition again replays it from the log.
    node.groups.load_partition(&log, partition, 5);
    let group = node.shares.group("g").expect("replayed");
    assert_eq!(group.lock().members["a"].member_epoch, 1);
}
