//! Group coordinator answers at the edges Kafka clients rely on, over the wire: commits
//! from outside any group management (librdkafka's `assign()` + commit under
//! `group.protocol=consumer` sends epoch -1 with a member id it made up), and static
//! membership under KIP-848 (a live instance id is not taken over; a static leave keeps
//! the assignment for the member's return).

mod common;

use common::{create_topic, s, BrokerProcess, Client};
use kafka_protocol::messages::*;

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const ILLEGAL_GENERATION: i16 = 22;
const UNKNOWN_MEMBER_ID: i16 = 25;
const GROUP_ID_NOT_FOUND: i16 = 69;
const FENCED_INSTANCE_ID: i16 = 82;
const UNRELEASED_INSTANCE_ID: i16 = 111;

fn broker_with_topic(topic: &str, partitions: i32) -> (BrokerProcess, Client) {
    let broker = BrokerProcess::start(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "1"),
    ]);
    let mut client = broker.connect();
    create_topic(&mut client, topic, partitions);
    (broker, client)
}

fn commit(
    client: &mut Client,
    version: i16,
    group: &str,
    member: &str,
    epoch: i32,
    topic: &str,
) -> i16 {
    let response: OffsetCommitResponse = client.call(
        ApiKey::OffsetCommit,
        version,
        &OffsetCommitRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_generation_id_or_member_epoch(epoch)
            .with_member_id(s(member))
            .with_topics(vec![
                offset_commit_request::OffsetCommitRequestTopic::default()
                    .with_name(TopicName(s(topic)))
                    .with_partitions(vec![
                        offset_commit_request::OffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(7)
                            .with_committed_leader_epoch(-1),
                    ]),
            ]),
    );
    response.topics[0].partitions[0].error_code
}

fn committed(client: &mut Client, group: &str, topic: &str) -> i64 {
    let response: OffsetFetchResponse = client.call(
        ApiKey::OffsetFetch,
        8,
        &OffsetFetchRequest::default().with_groups(vec![
            offset_fetch_request::OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(s(group)))
                .with_topics(Some(vec![
                    offset_fetch_request::OffsetFetchRequestTopics::default()
                        .with_name(TopicName(s(topic)))
                        .with_partition_indexes(vec![0]),
                ])),
        ]),
    );
    response.groups[0].topics[0].partitions[0].committed_offset
}

#[test]
fn commits_from_outside_group_management_are_accepted_while_the_group_is_empty() {
    let (_broker, mut client) = broker_with_topic("assigned", 1);
    // Epoch -1 with a member id the client made up: accepted, the group created.
    let made_up = "rdkafka-0b5c1c6e-4f1f-4c55-9d6a-1c1d8b1f3f00";
    assert_eq!(
        commit(&mut client, 9, "manual", made_up, -1, "assigned"),
        NONE
    );
    assert_eq!(committed(&mut client, "manual", "assigned"), 7);
    // Again, now that the (empty) group exists; and from the classic protocol's versions.
    assert_eq!(
        commit(&mut client, 9, "manual", made_up, -1, "assigned"),
        NONE
    );
    assert_eq!(
        commit(&mut client, 8, "manual", "another", -1, "assigned"),
        NONE
    );
    // A topic that does not exist is refused per partition, as Kafka does.
    assert_eq!(
        commit(&mut client, 9, "manual", made_up, -1, "no-such-topic"),
        UNKNOWN_TOPIC_OR_PARTITION
    );
    // A generation for a group that does not exist: GROUP_ID_NOT_FOUND from v9,
    // ILLEGAL_GENERATION before.
    assert_eq!(
        commit(&mut client, 9, "never-formed", "m", 3, "assigned"),
        GROUP_ID_NOT_FOUND
    );
    assert_eq!(
        commit(&mut client, 8, "never-formed", "m", 3, "assigned"),
        ILLEGAL_GENERATION
    );
    // Once a consumer-protocol member is in, a commit from outside is refused.
    let joined = heartbeat(&mut client, "manual", "member-a", 0, None);
    assert_eq!(joined.error_code, NONE, "{joined:?}");
    assert_eq!(
        commit(&mut client, 9, "manual", made_up, -1, "assigned"),
        UNKNOWN_MEMBER_ID
    );
}

fn heartbeat(
    client: &mut Client,
    group: &str,
    member: &str,
    epoch: i32,
    instance: Option<&str>,
) -> ConsumerGroupHeartbeatResponse {
    let mut request = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member))
        .with_member_epoch(epoch)
        .with_instance_id(instance.map(s));
    if epoch == 0 {
        request = request
            .with_rebalance_timeout_ms(30_000)
            .with_subscribed_topic_names(Some(vec![TopicName(s("assigned"))]))
            .with_topic_partitions(Some(vec![]));
    }
    client.call(ApiKey::ConsumerGroupHeartbeat, 1, &request)
}

#[test]
fn a_live_static_member_keeps_its_instance_id_and_a_static_leave_hands_it_over() {
    let (_broker, mut client) = broker_with_topic("assigned", 2);
    let a = heartbeat(&mut client, "static", "member-a", 0, Some("instance-1"));
    assert_eq!(a.error_code, NONE, "{a:?}");
    let a_epoch = a.member_epoch;
    let a_assigned: usize = a.assignment.as_ref().map_or(0, |x| {
        x.topic_partitions.iter().map(|t| t.partitions.len()).sum()
    });
    assert_eq!(a_assigned, 2, "{a:?}");

    // A newcomer with the same instance id while member-a is alive: refused.
    let b = heartbeat(&mut client, "static", "member-b", 0, Some("instance-1"));
    assert_eq!(b.error_code, UNRELEASED_INSTANCE_ID, "{b:?}");
    let message = b.error_message.as_deref().unwrap_or_default();
    assert!(
        message.contains("instance-1") && message.contains("member-a"),
        "{message}"
    );
    // member-a is untouched.
    let still = heartbeat(
        &mut client,
        "static",
        "member-a",
        a_epoch,
        Some("instance-1"),
    );
    assert_eq!(still.error_code, NONE, "{still:?}");

    // member-a leaves for a while (epoch -2); member-b takes the instance id over and
    // gets member-a's partitions without a new assignment being computed.
    let left = heartbeat(&mut client, "static", "member-a", -2, Some("instance-1"));
    assert_eq!((left.error_code, left.member_epoch), (NONE, -2), "{left:?}");
    let b = heartbeat(&mut client, "static", "member-b", 0, Some("instance-1"));
    assert_eq!(b.error_code, NONE, "{b:?}");
    let b_assigned: usize = b.assignment.as_ref().map_or(0, |x| {
        x.topic_partitions.iter().map(|t| t.partitions.len()).sum()
    });
    assert_eq!(b_assigned, 2, "{b:?}");

    // The old incarnation is fenced now.
    let old = heartbeat(
        &mut client,
        "static",
        "member-a",
        a_epoch,
        Some("instance-1"),
    );
    assert_eq!(old.error_code, FENCED_INSTANCE_ID, "{old:?}");
    // An instance id nobody holds is unknown.
    let unknown = heartbeat(&mut client, "static", "member-c", 1, Some("instance-9"));
    assert_eq!(unknown.error_code, UNKNOWN_MEMBER_ID, "{unknown:?}");
}

/// KIP-848 group configs reach the coordinator: after IncrementalAlterConfigs sets
/// `consumer.heartbeat.interval.ms` on a group, its members are told that interval.
#[test]
fn a_group_config_sets_the_heartbeat_interval_members_are_given() {
    let (_broker, mut client) = broker_with_topic("assigned", 1);
    let before = heartbeat(&mut client, "configured", "member-a", 0, None);
    assert_eq!(
        (before.error_code, before.heartbeat_interval_ms),
        (NONE, 5_000)
    );
    let altered: IncrementalAlterConfigsResponse = client.call(
        ApiKey::IncrementalAlterConfigs,
        1,
        &IncrementalAlterConfigsRequest::default().with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(32) // GROUP
                .with_resource_name(s("configured"))
                .with_configs(vec![
                    incremental_alter_configs_request::AlterableConfig::default()
                        .with_name(s("consumer.heartbeat.interval.ms"))
                        .with_config_operation(0) // SET
                        .with_value(Some(s("7000"))),
                ]),
        ]),
    );
    assert_eq!(altered.responses[0].error_code, NONE, "{altered:?}");
    let after = heartbeat(
        &mut client,
        "configured",
        "member-a",
        before.member_epoch,
        None,
    );
    assert_eq!(
        (after.error_code, after.heartbeat_interval_ms),
        (NONE, 7_000)
    );
}
