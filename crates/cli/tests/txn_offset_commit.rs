//! Transactional offset commits on the wire: TxnOffsetCommit writes a group's offsets as
//! pending, OffsetFetch answers UNSTABLE_OFFSET_COMMIT for them under require_stable and
//! the old offset otherwise, and the marker WriteTxnMarkers writes to the group's
//! `__consumer_offsets` partition commits or drops them, the same after a restart.

mod common;

use bytes::Bytes;
use common::{create_topic, init_producer_id, s, write_marker, BrokerProcess, Client};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, GroupId, JoinGroupRequest, JoinGroupResponse, OffsetCommitRequest,
    OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, ProducerId, SyncGroupRequest,
    SyncGroupResponse, TopicName, TransactionalId, TxnOffsetCommitRequest, TxnOffsetCommitResponse,
};
use kafka_protocol::protocol::StrBytes;

const TOPIC: &str = "txn-offsets";
const OFFSETS_TOPIC: &str = "__consumer_offsets";
const OFFSETS_PARTITIONS: i32 = 5;

// Kafka's error codes.
const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const OFFSET_METADATA_TOO_LARGE: i16 = 12;
const ILLEGAL_GENERATION: i16 = 22;
const INVALID_GROUP_ID: i16 = 24;
const UNKNOWN_MEMBER_ID: i16 = 25;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const FENCED_INSTANCE_ID: i16 = 82;
const UNSTABLE_OFFSET_COMMIT: i16 = 88;

/// These tests play the transaction coordinator themselves (producer ids that no
/// coordinator knows, markers by WriteTxnMarkers), so the group coordinator must not ask
/// the real one whether the offsets partition is in the transaction: Kafka's
/// `transaction.partition.verification.enable=false` (transactions_v2.rs covers it on).
fn start() -> BrokerProcess {
    BrokerProcess::start(&[
        ("offsets.topic.num.partitions", "5"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("transaction.partition.verification.enable", "false"),
    ])
}

/// Kafka's group → `__consumer_offsets` partition, written out here so that a broker
/// using another would fail: `Utils.abs` of Java's `String.hashCode` (`i32::MIN` → 0),
/// modulo the count.
fn offsets_partition(group: &str) -> i32 {
    let hash = group.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    });
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % OFFSETS_PARTITIONS
}

/// What a TxnOffsetCommit carries besides its offsets.
#[derive(Clone)]
struct Txn {
    group: String,
    producer_id: i64,
    producer_epoch: i16,
    generation_id: i32,
    member_id: String,
    instance_id: Option<String>,
}

impl Txn {
    fn simple(group: &str, producer_id: i64) -> Txn {
        Txn {
            group: group.to_string(),
            producer_id,
            producer_epoch: 0,
            generation_id: -1,
            member_id: String::new(),
            instance_id: None,
        }
    }
}

/// TxnOffsetCommit at `version` of (topic, partition, offset, metadata): each partition's
/// error code, in request order.
fn txn_commit(
    client: &mut Client,
    version: i16,
    txn: &Txn,
    offsets: &[(&str, i32, i64, &str)],
) -> Vec<i16> {
    let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
    for (topic, partition, offset, metadata) in offsets {
        let mut p = TxnOffsetCommitRequestPartition::default()
            .with_partition_index(*partition)
            .with_committed_offset(*offset)
            .with_committed_metadata(Some(s(metadata)));
        if version >= 2 {
            p = p.with_committed_leader_epoch(7);
        }
        match topics.iter_mut().find(|t| t.name.as_str() == *topic) {
            Some(t) => t.partitions.push(p),
            None => topics.push(
                TxnOffsetCommitRequestTopic::default()
                    .with_name(TopicName(s(topic)))
                    .with_partitions(vec![p]),
            ),
        }
    }
    let mut request = TxnOffsetCommitRequest::default()
        .with_transactional_id(TransactionalId(s("txn-test")))
        .with_group_id(GroupId(s(&txn.group)))
        .with_producer_id(ProducerId(txn.producer_id))
        .with_producer_epoch(txn.producer_epoch)
        .with_topics(topics);
    if version >= 3 {
        request = request
            .with_generation_id(txn.generation_id)
            .with_member_id(s(&txn.member_id))
            .with_group_instance_id(txn.instance_id.as_deref().map(s));
    }
    let response: TxnOffsetCommitResponse = client.call(ApiKey::TxnOffsetCommit, version, &request);
    let mut codes = Vec::new();
    for (topic, partition, _, _) in offsets {
        let t = response
            .topics
            .iter()
            .find(|t| t.name.as_str() == *topic)
            .unwrap_or_else(|| panic!("{topic} answered: {response:?}"));
        let p = t
            .partitions
            .iter()
            .find(|p| p.partition_index == *partition)
            .unwrap_or_else(|| panic!("{topic}-{partition} answered: {response:?}"));
        codes.push(p.error_code);
    }
    codes
}

/// A plain OffsetCommit (v8, no group membership) of `offset` for TOPIC's `partition`.
fn commit(client: &mut Client, group: &str, partition: i32, offset: i64) {
    let response: OffsetCommitResponse = client.call(
        ApiKey::OffsetCommit,
        8,
        &OffsetCommitRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(vec![OffsetCommitRequestTopic::default()
                .with_name(TopicName(s(TOPIC)))
                .with_partitions(vec![OffsetCommitRequestPartition::default()
                    .with_partition_index(partition)
                    .with_committed_offset(offset)])]),
    );
    assert_eq!(
        response.topics[0].partitions[0].error_code, NONE,
        "{response:?}"
    );
}

/// OffsetFetch of TOPIC's partitions 0 and 1: (offset, error code) of each, after
/// checking that the group-level error is NONE (Kafka answers instability per partition).
fn fetch(client: &mut Client, version: i16, group: &str, require_stable: bool) -> Vec<(i64, i16)> {
    if version >= 8 {
        let response: OffsetFetchResponse = client.call(
            ApiKey::OffsetFetch,
            version,
            &OffsetFetchRequest::default()
                .with_require_stable(require_stable)
                .with_groups(vec![OffsetFetchRequestGroup::default()
                    .with_group_id(GroupId(s(group)))
                    .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                        .with_name(TopicName(s(TOPIC)))
                        .with_partition_indexes(vec![0, 1])]))]),
        );
        let g = &response.groups[0];
        assert_eq!(g.error_code, NONE, "v{version}: {response:?}");
        g.topics[0]
            .partitions
            .iter()
            .map(|p| (p.committed_offset, p.error_code))
            .collect()
    } else {
        let mut request = OffsetFetchRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(TopicName(s(TOPIC)))
                .with_partition_indexes(vec![0, 1])]));
        if version >= 7 {
            request = request.with_require_stable(require_stable);
        }
        let response: OffsetFetchResponse = client.call(ApiKey::OffsetFetch, version, &request);
        assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
        response.topics[0]
            .partitions
            .iter()
            .map(|p| (p.committed_offset, p.error_code))
            .collect()
    }
}

/// The marker ending `producer_id`'s transaction in `group`'s offsets partition.
fn end_txn(client: &mut Client, group: &str, producer_id: i64, commit: bool) {
    let partition = offsets_partition(group);
    assert_eq!(
        write_marker(
            client,
            (OFFSETS_TOPIC, partition),
            (producer_id, 0),
            commit,
            0
        ),
        NONE
    );
}

#[test]
fn transactional_offsets_wait_for_their_marker_and_survive_a_restart() {
    let mut broker = start();
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 2);
    // A negative Java hash ("my-group".hashCode() == -1906497762), where Utils.abs (2 of
    // 5) and `& 0x7fffffff` (1 of 5) disagree, and not the first partition: a wrong
    // mapping shows.
    let group = "my-group";
    assert_eq!(offsets_partition(group), 2);
    let pid = init_producer_id(&mut client, None).0;
    let txn = Txn::simple(group, pid);

    commit(&mut client, group, 0, 10);
    assert_eq!(
        txn_commit(
            &mut client,
            3,
            &txn,
            &[(TOPIC, 0, 20, "a"), (TOPIC, 1, 21, "b")]
        ),
        vec![NONE, NONE]
    );
    for version in [7, 8, 9] {
        assert_eq!(
            fetch(&mut client, version, group, true),
            vec![(-1, UNSTABLE_OFFSET_COMMIT), (-1, UNSTABLE_OFFSET_COMMIT)],
            "v{version}"
        );
        assert_eq!(
            fetch(&mut client, version, group, false),
            vec![(10, NONE), (-1, NONE)],
            "v{version}: the committed offsets are the old ones"
        );
    }
    assert_eq!(
        fetch(&mut client, 6, group, false),
        vec![(10, NONE), (-1, NONE)]
    );

    // The producer's marker in another `__consumer_offsets` partition is not this
    // group's: nothing changes.
    let elsewhere = (offsets_partition(group) + 1) % OFFSETS_PARTITIONS;
    assert_eq!(
        write_marker(&mut client, (OFFSETS_TOPIC, elsewhere), (pid, 0), true, 0),
        NONE
    );
    assert_eq!(
        fetch(&mut client, 8, group, true),
        vec![(-1, UNSTABLE_OFFSET_COMMIT), (-1, UNSTABLE_OFFSET_COMMIT)]
    );

    end_txn(&mut client, group, pid, true);
    assert_eq!(
        fetch(&mut client, 8, group, true),
        vec![(20, NONE), (21, NONE)]
    );

    // A second transaction, aborted: the committed offsets stay.
    assert_eq!(
        txn_commit(&mut client, 4, &txn, &[(TOPIC, 0, 30, "c")]),
        vec![NONE]
    );
    assert_eq!(
        fetch(&mut client, 8, group, true),
        vec![(-1, UNSTABLE_OFFSET_COMMIT), (21, NONE)]
    );
    end_txn(&mut client, group, pid, false);
    assert_eq!(
        fetch(&mut client, 8, group, true),
        vec![(20, NONE), (21, NONE)]
    );

    // A third, left open across a restart.
    assert_eq!(
        txn_commit(&mut client, 2, &txn, &[(TOPIC, 1, 40, "d")]),
        vec![NONE]
    );
    drop(client);
    broker.restart();
    let mut client = broker.connect();
    assert_eq!(
        fetch(&mut client, 8, group, true),
        vec![(20, NONE), (-1, UNSTABLE_OFFSET_COMMIT)],
        "the replay kept the open transaction's offset pending"
    );
    assert_eq!(
        fetch(&mut client, 8, group, false),
        vec![(20, NONE), (21, NONE)]
    );
    end_txn(&mut client, group, pid, true);
    assert_eq!(
        fetch(&mut client, 8, group, true),
        vec![(20, NONE), (40, NONE)]
    );

    // And once more from the log alone: every marker replays to the same offsets.
    drop(client);
    broker.restart();
    let mut client = broker.connect();
    assert_eq!(
        fetch(&mut client, 8, group, true),
        vec![(20, NONE), (40, NONE)]
    );
}

#[test]
fn a_plain_commit_after_a_transactional_one_is_kept_when_the_transaction_commits() {
    let mut broker = start();
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 2);
    let group = "txn-restart";
    let pid = init_producer_id(&mut client, None).0;
    let txn = Txn::simple(group, pid);
    assert_eq!(
        txn_commit(
            &mut client,
            3,
            &txn,
            &[(TOPIC, 0, 5, ""), (TOPIC, 1, 6, "")]
        ),
        vec![NONE, NONE]
    );
    // Written later in the log than the transaction's offset, so it wins, as in Kafka.
    commit(&mut client, group, 0, 9);
    end_txn(&mut client, group, pid, true);
    assert_eq!(
        fetch(&mut client, 8, group, true),
        vec![(9, NONE), (6, NONE)]
    );
    drop(client);
    broker.restart();
    let mut client = broker.connect();
    assert_eq!(
        fetch(&mut client, 8, group, true),
        vec![(9, NONE), (6, NONE)]
    );
}

/// Joins `group` as its only (static, when `instance` is set) member and syncs: (member
/// id, generation).
fn form_group(client: &mut Client, group: &str, instance: Option<&str>) -> (String, i32) {
    let join = |member_id: StrBytes| {
        JoinGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_session_timeout_ms(30_000)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(member_id)
            .with_group_instance_id(instance.map(s))
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(Bytes::from_static(b"\0\0\0\0\0\0\0\0"))])
    };
    let mut joined: JoinGroupResponse = client.call(ApiKey::JoinGroup, 5, &join(s("")));
    if joined.error_code == 79 {
        // MEMBER_ID_REQUIRED: a dynamic member joins again with the id it was given.
        joined = client.call(ApiKey::JoinGroup, 5, &join(joined.member_id.clone()));
    }
    assert_eq!(joined.error_code, NONE, "{joined:?}");
    let synced: SyncGroupResponse = client.call(
        ApiKey::SyncGroup,
        3,
        &SyncGroupRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_generation_id(joined.generation_id)
            .with_member_id(joined.member_id.clone())
            .with_group_instance_id(instance.map(s))
            .with_assignments(vec![SyncGroupRequestAssignment::default()
                .with_member_id(joined.member_id.clone())
                .with_assignment(Bytes::new())]),
    );
    assert_eq!(synced.error_code, NONE, "{synced:?}");
    (joined.member_id.to_string(), joined.generation_id)
}

#[test]
fn txn_offset_commit_answers_kafkas_errors() {
    let broker = start();
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 2);
    let pid = init_producer_id(&mut client, None).0;

    // Topics first: an unknown one, or a partition past the topic's, never reaches the
    // group; the known partition beside them is committed.
    let group = "txn-errors";
    let txn = Txn::simple(group, pid);
    assert_eq!(
        txn_commit(
            &mut client,
            3,
            &txn,
            &[
                ("no-such-topic", 0, 1, ""),
                (TOPIC, 5, 1, ""),
                (TOPIC, 0, 1, "")
            ]
        ),
        vec![UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_OR_PARTITION, NONE]
    );
    // Metadata past offset.metadata.max.bytes (4096): that partition only.
    let long = "m".repeat(4097);
    assert_eq!(
        txn_commit(
            &mut client,
            3,
            &txn,
            &[(TOPIC, 0, 2, &long), (TOPIC, 1, 2, "")]
        ),
        vec![OFFSET_METADATA_TOO_LARGE, NONE]
    );
    // The empty group id is refused, unlike OffsetCommit's.
    let nameless = Txn::simple("", pid);
    assert_eq!(
        txn_commit(&mut client, 3, &nameless, &[(TOPIC, 0, 1, "")]),
        vec![INVALID_GROUP_ID]
    );
    // An unknown group with a generation: ILLEGAL_GENERATION (no group is made).
    let ghost = Txn {
        generation_id: 1,
        member_id: "m".into(),
        ..Txn::simple("txn-ghost", pid)
    };
    assert_eq!(
        txn_commit(&mut client, 3, &ghost, &[(TOPIC, 0, 1, "")]),
        vec![ILLEGAL_GENERATION]
    );

    // A formed group checks the member (v3+), but takes a v0 commit without one.
    let formed = "txn-formed";
    let (member, generation) = form_group(&mut client, formed, None);
    let as_member = Txn {
        generation_id: generation,
        member_id: member.clone(),
        ..Txn::simple(formed, pid)
    };
    assert_eq!(
        txn_commit(&mut client, 3, &as_member, &[(TOPIC, 0, 3, "")]),
        vec![NONE]
    );
    let stranger = Txn {
        member_id: "stranger".into(),
        ..as_member.clone()
    };
    assert_eq!(
        txn_commit(&mut client, 3, &stranger, &[(TOPIC, 0, 3, "")]),
        vec![UNKNOWN_MEMBER_ID]
    );
    let stale = Txn {
        generation_id: generation + 1,
        ..as_member.clone()
    };
    assert_eq!(
        txn_commit(&mut client, 3, &stale, &[(TOPIC, 0, 3, "")]),
        vec![ILLEGAL_GENERATION]
    );
    assert_eq!(
        txn_commit(
            &mut client,
            0,
            &Txn::simple(formed, pid),
            &[(TOPIC, 1, 4, "")]
        ),
        vec![NONE],
        "no member information before v3: accepted"
    );
    end_txn(&mut client, formed, pid, true);
    assert_eq!(
        fetch(&mut client, 8, formed, true),
        vec![(3, NONE), (4, NONE)]
    );

    // A static member's instance id under another member id is fenced.
    let static_group = "txn-static";
    let (_, generation) = form_group(&mut client, static_group, Some("instance-1"));
    let impostor = Txn {
        generation_id: generation,
        member_id: "impostor".into(),
        instance_id: Some("instance-1".into()),
        ..Txn::simple(static_group, pid)
    };
    assert_eq!(
        txn_commit(&mut client, 3, &impostor, &[(TOPIC, 0, 1, "")]),
        vec![FENCED_INSTANCE_ID]
    );

    // Once a marker of a newer producer epoch is in the group's partition, the old
    // epoch's offsets are refused by the log.
    let fenced_group = "txn-fenced";
    let fenced = Txn::simple(fenced_group, pid);
    assert_eq!(
        txn_commit(&mut client, 3, &fenced, &[(TOPIC, 0, 1, "")]),
        vec![NONE]
    );
    let partition = offsets_partition(fenced_group);
    assert_eq!(
        write_marker(&mut client, (OFFSETS_TOPIC, partition), (pid, 1), false, 0),
        NONE
    );
    assert_eq!(
        txn_commit(&mut client, 3, &fenced, &[(TOPIC, 0, 2, "")]),
        vec![INVALID_PRODUCER_EPOCH]
    );
    assert_eq!(
        fetch(&mut client, 8, fenced_group, true),
        vec![(-1, NONE), (-1, NONE)]
    );
}
