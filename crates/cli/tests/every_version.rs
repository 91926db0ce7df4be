//! Every (API, version) pair the broker advertises, exercised on a real broker.
//!
//! The advertised table comes from the broker itself (ApiVersions), so a newly advertised
//! API or version is tested the moment it is served: `requests_for` panics on an API it
//! has no builder for. For each version the test sends an ordinary request and one that
//! must fail, decodes the answer at that version and checks its data. A response the
//! broker cannot encode at a version (a field set that the version does not carry) closes
//! the connection, and shows up here as a failure naming the API and version.
//!
//! This is the class of bug where one client's ListOffsets v1-v3 could not consume:
//! the leader epoch, which exists only from v4, was set in every answer.

mod common;

use std::fmt::Debug;

use bytes::Bytes;
use common::{batch, create_topic, now_ms, s, BrokerProcess, Client};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use uuid::Uuid;

const TOPIC: &str = "every-version";
const UNKNOWN_TOPIC: &str = "no-such-topic";

// Kafka's error codes the checks expect.
const NONE: i16 = 0;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const GROUP_ID_NOT_FOUND: i16 = 69;
const UNKNOWN_MEMBER_ID: i16 = 25;
const ILLEGAL_GENERATION: i16 = 22;
const MEMBER_ID_REQUIRED: i16 = 79;
const INVALID_REPLICATION_FACTOR: i16 = 38;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const INVALID_PARTITIONS: i16 = 37;
const INVALID_CONFIG: i16 = 40;
const NON_EMPTY_GROUP: i16 = 68;
const ELECTION_NOT_NEEDED: i16 = 84;
const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;
const INVALID_REQUEST: i16 = 42;
const FENCED_LEADER_EPOCH: i16 = 74;
const FENCED_STATE_EPOCH: i16 = 124;

fn topic(name: &str) -> TopicName {
    TopicName(s(name))
}

fn group(name: &str) -> GroupId {
    GroupId(s(name))
}

/// What one exchange gave: the decoded response, or why there was none.
type Outcome<T> = Result<T, String>;

/// The broker under test and a connection that is reopened after the broker closes it.
struct Cx {
    broker: BrokerProcess,
    client: Client,
    topic_id: Uuid,
    failures: Vec<String>,
    cases: usize,
}

impl Cx {
    fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &Req,
    ) -> Outcome<Resp> {
        let mut encoded = bytes::BytesMut::new();
        if let Err(e) = request.encode(&mut encoded, version) {
            // A bug in this test's builder, not in the broker: fail loudly.
            panic!("test builder for {api:?} v{version} cannot encode: {e}");
        }
        let correlation_id = self.client.send(api, version, request);
        let Some(mut frame) = self.client.read_frame() else {
            self.client = self.broker.connect();
            return Err("the broker closed the connection instead of answering".into());
        };
        let header = ResponseHeader::decode(&mut frame, api.response_header_version(version))
            .map_err(|e| format!("response header: {e}"))?;
        if header.correlation_id != correlation_id {
            return Err(format!(
                "correlation id {} for request {correlation_id}",
                header.correlation_id
            ));
        }
        let response =
            Resp::decode(&mut frame, version).map_err(|e| format!("response body: {e}"))?;
        if !frame.is_empty() {
            return Err(format!(
                "{} bytes left after the response body",
                frame.len()
            ));
        }
        Ok(response)
    }

    /// Sends one request and runs `check` on the answer, recording any failure.
    fn case<Req: Encodable, Resp: Decodable + Debug>(
        &mut self,
        api: ApiKey,
        version: i16,
        label: &str,
        request: Req,
        check: impl FnOnce(&Resp) -> Result<(), String>,
    ) {
        self.cases += 1;
        let outcome = self
            .call::<Req, Resp>(api, version, &request)
            .and_then(|r| check(&r).map_err(|e| format!("{e}\n    in {r:?}")));
        if let Err(e) = outcome {
            self.failures
                .push(format!("{api:?} v{version} ({label}): {e}"));
        }
    }
}

fn expect<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

#[test]
fn every_advertised_version_answers_ordinary_and_error_requests() {
    let broker = BrokerProcess::start(&[
        ("num.partitions", "1"),
        ("auto.create.topics.enable", "false"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "1"),
        ("transaction.state.log.num.partitions", "1"),
        ("share.coordinator.state.topic.num.partitions", "1"),
    ]);
    let mut client = broker.connect();

    let topic_id = create_topic(&mut client, TOPIC, 2);
    let produced: ProduceResponse = client.call(
        ApiKey::Produce,
        9,
        &produce_request(TOPIC, Uuid::nil(), 0, batch(&["a", "b", "c"], now_ms())),
    );
    assert_eq!(
        produced.responses[0].partition_responses[0].error_code,
        NONE
    );

    let versions: ApiVersionsResponse = client.call(
        ApiKey::ApiVersions,
        3,
        &ApiVersionsRequest::default()
            .with_client_software_name(s("rafka-test"))
            .with_client_software_version(s("1.0")),
    );
    assert_eq!(versions.error_code, NONE);
    assert!(versions.api_keys.len() >= 30, "{versions:?}");

    let mut cx = Cx {
        broker,
        client,
        topic_id,
        failures: Vec::new(),
        cases: 0,
    };
    for api in &versions.api_keys {
        let key = ApiKey::try_from(api.api_key).expect("a known API key");
        for version in api.min_version..=api.max_version {
            requests_for(&mut cx, key, version);
        }
    }
    let checked = cx.cases;
    assert!(
        cx.failures.is_empty(),
        "{} of {checked} cases failed:\n{}\n---- broker log ----\n{}",
        cx.failures.len(),
        cx.failures.join("\n"),
        cx.broker.log()
    );
    // Two cases or more for each advertised version.
    let advertised: usize = versions
        .api_keys
        .iter()
        .map(|a| (a.max_version - a.min_version + 1) as usize)
        .sum();
    assert!(
        checked >= 2 * advertised,
        "{checked} cases for {advertised} versions"
    );
}

/// Kafka's `Uuid.toString()`: URL-safe base64 of the 128 bits, without padding (22
/// characters, the last one's two low bits zero).
fn kafka_uuid(id: Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bits = id.as_u128();
    (1..=22)
        .map(|i: i32| {
            let shift = 128 - 6 * i;
            let sextet = if shift >= 0 {
                bits >> shift
            } else {
                bits << -shift
            } & 0x3f;
            char::from(ALPHABET[sextet as usize])
        })
        .collect()
}

/// Gives `group_id`'s share-partition 0 of the test topic a state (start offset 5),
/// read once at leader epoch 3. The share coordinator's topic is created by the
/// FindCoordinator that comes first, as a share-partition leader finds its coordinator.
fn initialize_share_state(cx: &mut Cx, group_id: &str) {
    let key = format!("{group_id}:{}:0", kafka_uuid(cx.topic_id));
    let found: FindCoordinatorResponse = cx
        .call(
            ApiKey::FindCoordinator,
            6,
            &FindCoordinatorRequest::default()
                .with_key_type(2)
                .with_coordinator_keys(vec![s(&key)]),
        )
        .expect("find the share coordinator");
    assert_eq!(found.coordinators[0].error_code, NONE, "{found:?}");
    let request = InitializeShareGroupStateRequest::default()
        .with_group_id(s(group_id))
        .with_topics(vec![
            initialize_share_group_state_request::InitializeStateData::default()
                .with_topic_id(cx.topic_id)
                .with_partitions(vec![
                    initialize_share_group_state_request::PartitionData::default()
                        .with_partition(0)
                        .with_state_epoch(0)
                        .with_start_offset(5),
                ]),
        ]);
    let initialized: InitializeShareGroupStateResponse = cx
        .call(ApiKey::InitializeShareGroupState, 0, &request)
        .expect("initialize share-group state");
    assert_eq!(
        initialized.results[0].partitions[0].error_code, NONE,
        "{initialized:?}"
    );
    let read = ReadShareGroupStateRequest::default()
        .with_group_id(s(group_id))
        .with_topics(vec![
            read_share_group_state_request::ReadStateData::default()
                .with_topic_id(cx.topic_id)
                .with_partitions(vec![
                    read_share_group_state_request::PartitionData::default()
                        .with_partition(0)
                        .with_leader_epoch(3),
                ]),
        ]);
    let read: ReadShareGroupStateResponse = cx
        .call(ApiKey::ReadShareGroupState, 0, &read)
        .expect("read share-group state");
    assert_eq!(read.results[0].partitions[0].error_code, NONE, "{read:?}");
}

/// Sets `group_id`'s start offset of the test topic's `partition` through
/// AlterShareGroupOffsets (the group is created empty when it does not exist).
fn alter_share_offsets(cx: &mut Cx, group_id: &str, partition: i32, start_offset: i64) {
    let request = AlterShareGroupOffsetsRequest::default()
        .with_group_id(group(group_id))
        .with_topics(vec![
            alter_share_group_offsets_request::AlterShareGroupOffsetsRequestTopic::default()
                .with_topic_name(topic(TOPIC))
                .with_partitions(vec![
                    alter_share_group_offsets_request::AlterShareGroupOffsetsRequestPartition::default()
                        .with_partition_index(partition)
                        .with_start_offset(start_offset),
                ]),
        ]);
    let altered: AlterShareGroupOffsetsResponse = cx
        .call(ApiKey::AlterShareGroupOffsets, 0, &request)
        .expect("alter share-group offsets");
    assert_eq!(altered.error_code, NONE, "{altered:?}");
    assert_eq!(
        altered.responses[0].partitions[0].error_code, NONE,
        "{altered:?}"
    );
}

fn produce_request(name: &str, topic_id: Uuid, partition: i32, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(topic(name))
            .with_topic_id(topic_id)
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(records)),
            ])])
}

/// Joins `group_id` as its only member with the classic protocol and syncs: (member id,
/// generation).
fn form_group(cx: &mut Cx, group_id: &str) -> (StrBytes, i32) {
    let (member_id, generation) = join_group(cx, group_id);
    let synced: SyncGroupResponse = cx
        .call(
            ApiKey::SyncGroup,
            3,
            &SyncGroupRequest::default()
                .with_group_id(group(group_id))
                .with_generation_id(generation)
                .with_member_id(member_id.clone())
                .with_assignments(vec![
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(member_id.clone())
                        .with_assignment(Bytes::new()),
                ]),
        )
        .expect("sync");
    assert_eq!(synced.error_code, NONE, "{synced:?}");
    (member_id, generation)
}

/// Joins `group_id` as its only member (the leader), leaving the group awaiting the
/// leader's SyncGroup: (member id, generation).
fn join_group(cx: &mut Cx, group_id: &str) -> (StrBytes, i32) {
    let join = |member_id: StrBytes| {
        JoinGroupRequest::default()
            .with_group_id(group(group_id))
            .with_session_timeout_ms(30_000)
            .with_rebalance_timeout_ms(30_000)
            .with_member_id(member_id)
            .with_protocol_type(s("consumer"))
            .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
            )
            .with_name(s("range"))
            .with_metadata(Bytes::from_static(b"\0\0\0\0\0\0\0\0"))])
    };
    let first: JoinGroupResponse = cx
        .call(ApiKey::JoinGroup, 5, &join(StrBytes::default()))
        .expect("join");
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED, "{first:?}");
    let joined: JoinGroupResponse = cx
        .call(ApiKey::JoinGroup, 5, &join(first.member_id.clone()))
        .expect("rejoin");
    assert_eq!(joined.error_code, NONE, "{joined:?}");
    (joined.member_id, joined.generation_id)
}

/// Commits offset 1 of partition 0 of TOPIC for `group_id` (an empty group: generation -1).
fn commit_simple(cx: &mut Cx, group_id: &str) {
    let response: OffsetCommitResponse = cx
        .call(
            ApiKey::OffsetCommit,
            8,
            &OffsetCommitRequest::default()
                .with_group_id(group(group_id))
                .with_generation_id_or_member_epoch(-1)
                .with_topics(vec![
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(topic(TOPIC))
                        .with_partitions(vec![
                            offset_commit_request::OffsetCommitRequestPartition::default()
                                .with_partition_index(0)
                                .with_committed_offset(1),
                        ]),
                ]),
        )
        .expect("commit");
    assert_eq!(
        response.topics[0].partitions[0].error_code, NONE,
        "{response:?}"
    );
}

/// A transactional producer: FindCoordinator for the id (which creates
/// `__transaction_state`), then InitProducerId. Its (producer id, epoch).
fn txn_producer(cx: &mut Cx, transactional_id: &str) -> (i64, i16) {
    let found: FindCoordinatorResponse = cx
        .call(
            ApiKey::FindCoordinator,
            4,
            &FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![s(transactional_id)]),
        )
        .expect("find coordinator");
    assert_eq!(found.coordinators[0].error_code, NONE, "{found:?}");
    let init: InitProducerIdResponse = cx
        .call(
            ApiKey::InitProducerId,
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(s(transactional_id))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .expect("init producer id");
    assert_eq!(init.error_code, NONE, "{init:?}");
    (init.producer_id.0, init.producer_epoch)
}

/// AddPartitionsToTxn v3 of TOPIC's partition 0, asserting it went through.
fn add_partition(cx: &mut Cx, transactional_id: &str, (pid, epoch): (i64, i16)) {
    let added: AddPartitionsToTxnResponse = cx
        .call(
            ApiKey::AddPartitionsToTxn,
            3,
            &AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(TransactionalId(s(transactional_id)))
                .with_v3_and_below_producer_id(ProducerId(pid))
                .with_v3_and_below_producer_epoch(epoch)
                .with_v3_and_below_topics(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(topic(TOPIC))
                        .with_partitions(vec![0]),
                ]),
        )
        .expect("add partitions");
    let code = added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code;
    assert_eq!(code, NONE, "{added:?}");
}

/// The ordinary and the failing request of one (API, version).
fn requests_for(cx: &mut Cx, api: ApiKey, v: i16) {
    let topic_id = cx.topic_id;
    // Requests from v13 of Produce, Fetch and v10 of OffsetCommit name topics by id.
    match api {
        ApiKey::Produce if v < 3 => {
            // Advertised from v0 as Kafka 4 does for librdkafka's sake, served from v3:
            // an older request closes the connection, as Kafka's does.
            // The codec cannot write these versions: a v3 body under a v{0,1,2} header.
            cx.cases += 1;
            let request = produce_request(TOPIC, Uuid::nil(), 0, batch(&["x"], now_ms()));
            let mut frame = bytes::BytesMut::new();
            RequestHeader::default()
                .with_request_api_key(ApiKey::Produce as i16)
                .with_request_api_version(v)
                .with_correlation_id(1000 + i32::from(v))
                .with_client_id(Some(s("rafka-test")))
                .encode(&mut frame, 1)
                .expect("header");
            request.encode(&mut frame, 3).expect("body");
            cx.client.send_raw(&frame);
            if let Some(answer) = cx.client.read_frame() {
                cx.failures.push(format!(
                    "Produce v{v}: want the connection closed, got a {}-byte answer",
                    answer.len()
                ));
            }
            cx.client = cx.broker.connect();
        }
        ApiKey::Produce => {
            let id = if v >= 13 { topic_id } else { Uuid::nil() };
            let name = if v >= 13 { "" } else { TOPIC };
            let request = produce_request(name, id, 1, batch(&["x"], now_ms()));
            cx.case(api, v, "ordinary", request, |r: &ProduceResponse| {
                let p = &r.responses[0].partition_responses[0];
                expect("error", p.error_code, NONE)?;
                expect("index", p.index, 1)?;
                expect("base offset >= 0", p.base_offset >= 0, true)
            });
            let (name, id) = if v >= 13 {
                ("", Uuid::from_u128(7))
            } else {
                (UNKNOWN_TOPIC, Uuid::nil())
            };
            let request = produce_request(name, id, 0, batch(&["x"], now_ms()));
            cx.case(api, v, "unknown topic", request, |r: &ProduceResponse| {
                let want = if v >= 13 {
                    100
                } else {
                    UNKNOWN_TOPIC_OR_PARTITION
                };
                expect(
                    "error",
                    r.responses[0].partition_responses[0].error_code,
                    want,
                )
            });
        }
        ApiKey::Fetch => {
            for (label, offset, want) in [
                ("ordinary", 0, NONE),
                ("out of range", 1_000_000, OFFSET_OUT_OF_RANGE),
            ] {
                let mut partition = fetch_request::FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20);
                if v >= 5 {
                    partition = partition.with_log_start_offset(-1);
                }
                if v >= 9 {
                    partition = partition.with_current_leader_epoch(-1);
                }
                let mut fetch_topic =
                    fetch_request::FetchTopic::default().with_partitions(vec![partition]);
                fetch_topic = if v >= 13 {
                    fetch_topic.with_topic_id(topic_id)
                } else {
                    fetch_topic.with_topic(topic(TOPIC))
                };
                let mut request = FetchRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_max_wait_ms(0)
                    .with_min_bytes(0)
                    .with_max_bytes(1 << 20)
                    .with_topics(vec![fetch_topic]);
                if v >= 7 {
                    request = request.with_session_epoch(-1);
                }
                if v >= 15 {
                    // A consumer: replica id -1, now inside ReplicaState (KIP-903).
                    request = request.with_replica_state(
                        fetch_request::ReplicaState::default()
                            .with_replica_id(BrokerId(-1))
                            .with_replica_epoch(-1),
                    );
                }
                cx.case(api, v, label, request, |r: &FetchResponse| {
                    let p = &r.responses[0].partitions[0];
                    expect("error", p.error_code, want)?;
                    if want == NONE {
                        expect("high watermark", p.high_watermark, 3)?;
                        expect(
                            "records",
                            p.records.as_ref().map_or(0, |b| b.len()) > 0,
                            true,
                        )?;
                    }
                    Ok(())
                });
            }
        }
        ApiKey::ListOffsets => {
            for (label, name, timestamp, want_error, want_offset) in [
                ("latest", TOPIC, -1, NONE, 3),
                ("earliest", TOPIC, -2, NONE, 0),
                ("by time", TOPIC, 0, NONE, 0),
                (
                    "unknown topic",
                    UNKNOWN_TOPIC,
                    -1,
                    UNKNOWN_TOPIC_OR_PARTITION,
                    -1,
                ),
            ] {
                let mut partition = list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(timestamp);
                if v >= 4 {
                    partition = partition.with_current_leader_epoch(-1);
                }
                let request = ListOffsetsRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                        .with_name(topic(name))
                        .with_partitions(vec![partition])]);
                cx.case(api, v, label, request, |r: &ListOffsetsResponse| {
                    let p = &r.topics[0].partitions[0];
                    expect("error", p.error_code, want_error)?;
                    expect("offset", p.offset, want_offset)?;
                    if v < 4 {
                        expect("leader epoch (absent before v4)", p.leader_epoch, -1)?;
                    } else if want_error == NONE {
                        expect("leader epoch", p.leader_epoch >= 0, true)?;
                    }
                    Ok(())
                });
            }
        }
        ApiKey::OffsetForLeaderEpoch => {
            for (label, name, want) in [
                ("ordinary", TOPIC, NONE),
                ("unknown topic", UNKNOWN_TOPIC, UNKNOWN_TOPIC_OR_PARTITION),
            ] {
                let mut partition =
                    offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                        .with_partition(0)
                        .with_leader_epoch(0);
                if v >= 2 {
                    partition = partition.with_current_leader_epoch(-1);
                }
                let mut request = OffsetForLeaderEpochRequest::default().with_topics(vec![
                    offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                        .with_topic(topic(name))
                        .with_partitions(vec![partition]),
                ]);
                if v >= 3 {
                    request = request.with_replica_id(BrokerId(-1));
                }
                cx.case(
                    api,
                    v,
                    label,
                    request,
                    |r: &OffsetForLeaderEpochResponse| {
                        let p = &r.topics[0].partitions[0];
                        expect("error", p.error_code, want)?;
                        if want == NONE {
                            expect("end offset", p.end_offset >= 3, true)?;
                        }
                        Ok(())
                    },
                );
            }
        }
        ApiKey::Metadata => {
            for (label, name, want) in [
                ("ordinary", TOPIC, NONE),
                ("unknown topic", UNKNOWN_TOPIC, UNKNOWN_TOPIC_OR_PARTITION),
            ] {
                let mut request =
                    MetadataRequest::default()
                        .with_topics(Some(vec![metadata_request::MetadataRequestTopic::default(
                        )
                        .with_name(Some(topic(name)))]));
                if (8..=10).contains(&v) {
                    request = request.with_include_cluster_authorized_operations(true);
                }
                if v >= 8 {
                    request = request.with_include_topic_authorized_operations(true);
                }
                cx.case(api, v, label, request, |r: &MetadataResponse| {
                    expect("brokers", r.brokers.len(), 1)?;
                    let t = &r.topics[0];
                    expect("error", t.error_code, want)?;
                    if want == NONE {
                        expect("partitions", t.partitions.len(), 2)?;
                        if v >= 10 {
                            expect("topic id", t.topic_id, topic_id)?;
                        }
                    }
                    Ok(())
                });
            }
        }
        ApiKey::ApiVersions => {
            let mut request = ApiVersionsRequest::default();
            if v >= 3 {
                request = request
                    .with_client_software_name(s("rafka-test"))
                    .with_client_software_version(s("1.0"));
            }
            cx.case(api, v, "ordinary", request, |r: &ApiVersionsResponse| {
                expect("error", r.error_code, NONE)?;
                expect("has Fetch", r.api_keys.iter().any(|k| k.api_key == 1), true)
            });
            if v >= 3 {
                let request = ApiVersionsRequest::default()
                    .with_client_software_name(s("bad name!"))
                    .with_client_software_version(s("1.0"));
                cx.case(
                    api,
                    v,
                    "invalid software name",
                    request,
                    |r: &ApiVersionsResponse| expect("error", r.error_code, INVALID_REQUEST),
                );
            }
        }
        ApiKey::CreateTopics => {
            let create = |name: &str, partitions: i32, replication: i16| {
                CreateTopicsRequest::default()
                    .with_topics(vec![create_topics_request::CreatableTopic::default()
                        .with_name(topic(name))
                        .with_num_partitions(partitions)
                        .with_replication_factor(replication)])
                    .with_timeout_ms(5000)
            };
            let fresh = format!("created-v{v}");
            cx.case(
                api,
                v,
                "ordinary",
                create(&fresh, 1, 1),
                |r: &CreateTopicsResponse| {
                    expect("error", r.topics[0].error_code, NONE)?;
                    if v >= 5 {
                        expect("partitions", r.topics[0].num_partitions, 1)?;
                    }
                    Ok(())
                },
            );
            for (label, name, partitions, replication, want) in [
                ("exists", TOPIC, 1, 1, TOPIC_ALREADY_EXISTS),
                (
                    "replication",
                    "rf-too-big",
                    1,
                    3,
                    INVALID_REPLICATION_FACTOR,
                ),
                ("partitions", "no-partitions", 0, 1, INVALID_PARTITIONS),
            ] {
                let request = create(name, partitions, replication);
                cx.case(api, v, label, request, |r: &CreateTopicsResponse| {
                    expect("error", r.topics[0].error_code, want)?;
                    if v >= 1 {
                        expect("message", r.topics[0].error_message.is_some(), true)?;
                    }
                    Ok(())
                });
            }
        }
        ApiKey::DeleteTopics => {
            let fresh = format!("deleted-v{v}");
            create_topic(&mut cx.client, &fresh, 1);
            let delete = |name: &str| {
                let request = DeleteTopicsRequest::default().with_timeout_ms(5000);
                if v >= 6 {
                    request.with_topics(vec![delete_topics_request::DeleteTopicState::default()
                        .with_name(Some(topic(name)))])
                } else {
                    request.with_topic_names(vec![topic(name)])
                }
            };
            for (label, name, want) in [
                ("ordinary", fresh.as_str(), NONE),
                ("unknown topic", UNKNOWN_TOPIC, UNKNOWN_TOPIC_OR_PARTITION),
            ] {
                cx.case(api, v, label, delete(name), |r: &DeleteTopicsResponse| {
                    expect("error", r.responses[0].error_code, want)
                });
            }
        }
        ApiKey::DeleteRecords => {
            for (label, name, offset, want) in [
                ("ordinary", TOPIC, 0, NONE),
                ("beyond the end", TOPIC, 1_000_000, OFFSET_OUT_OF_RANGE),
                (
                    "unknown topic",
                    UNKNOWN_TOPIC,
                    0,
                    UNKNOWN_TOPIC_OR_PARTITION,
                ),
            ] {
                let request = DeleteRecordsRequest::default()
                    .with_timeout_ms(5000)
                    .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
                        .with_name(topic(name))
                        .with_partitions(vec![
                            delete_records_request::DeleteRecordsPartition::default()
                                .with_partition_index(0)
                                .with_offset(offset),
                        ])]);
                cx.case(api, v, label, request, |r: &DeleteRecordsResponse| {
                    expect("error", r.topics[0].partitions[0].error_code, want)
                });
            }
        }
        ApiKey::DescribeConfigs => {
            for (label, name, want) in [
                ("ordinary", TOPIC, NONE),
                ("unknown topic", UNKNOWN_TOPIC, UNKNOWN_TOPIC_OR_PARTITION),
            ] {
                let mut request = DescribeConfigsRequest::default().with_resources(vec![
                    describe_configs_request::DescribeConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s(name)),
                ]);
                request = request.with_include_synonyms(true);
                if v >= 3 {
                    request = request.with_include_documentation(true);
                }
                cx.case(api, v, label, request, |r: &DescribeConfigsResponse| {
                    let res = &r.results[0];
                    expect("error", res.error_code, want)?;
                    if want == NONE {
                        expect(
                            "has cleanup.policy",
                            res.configs
                                .iter()
                                .any(|c| c.name.as_str() == "cleanup.policy"),
                            true,
                        )?;
                    }
                    Ok(())
                });
            }
            let request = DescribeConfigsRequest::default()
                .with_include_synonyms(true)
                .with_resources(vec![
                    describe_configs_request::DescribeConfigsResource::default()
                        .with_resource_type(32)
                        .with_resource_name(s("every-version-group")),
                ]);
            cx.case(api, v, "group", request, |r: &DescribeConfigsResponse| {
                let res = &r.results[0];
                expect("error", res.error_code, NONE)?;
                let session = res
                    .configs
                    .iter()
                    .find(|c| c.name.as_str() == "consumer.session.timeout.ms");
                expect(
                    "consumer.session.timeout.ms",
                    session.and_then(|c| c.value.as_ref().map(|v| v.to_string())),
                    Some("45000".to_string()),
                )
            });
        }
        ApiKey::AlterConfigs => {
            for (label, name, key, want) in [
                ("ordinary", TOPIC, "retention.ms", NONE),
                ("unknown key", TOPIC, "no.such.config", INVALID_CONFIG),
                (
                    "unknown topic",
                    UNKNOWN_TOPIC,
                    "retention.ms",
                    UNKNOWN_TOPIC_OR_PARTITION,
                ),
            ] {
                let request = AlterConfigsRequest::default()
                    .with_validate_only(true)
                    .with_resources(vec![alter_configs_request::AlterConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s(name))
                        .with_configs(vec![alter_configs_request::AlterableConfig::default()
                            .with_name(s(key))
                            .with_value(Some(s("100000")))])]);
                cx.case(api, v, label, request, |r: &AlterConfigsResponse| {
                    expect("error", r.responses[0].error_code, want)
                });
            }
        }
        ApiKey::IncrementalAlterConfigs => {
            for (label, name, key, want) in [
                ("ordinary", TOPIC, "retention.ms", NONE),
                ("unknown key", TOPIC, "no.such.config", INVALID_CONFIG),
                (
                    "unknown topic",
                    UNKNOWN_TOPIC,
                    "retention.ms",
                    UNKNOWN_TOPIC_OR_PARTITION,
                ),
            ] {
                let request = IncrementalAlterConfigsRequest::default()
                    .with_validate_only(true)
                    .with_resources(vec![
                        incremental_alter_configs_request::AlterConfigsResource::default()
                            .with_resource_type(2)
                            .with_resource_name(s(name))
                            .with_configs(vec![
                                incremental_alter_configs_request::AlterableConfig::default()
                                    .with_name(s(key))
                                    .with_config_operation(0)
                                    .with_value(Some(s("100000"))),
                            ]),
                    ]);
                cx.case(
                    api,
                    v,
                    label,
                    request,
                    |r: &IncrementalAlterConfigsResponse| {
                        expect("error", r.responses[0].error_code, want)
                    },
                );
            }
        }
        ApiKey::DescribeLogDirs => {
            let request = DescribeLogDirsRequest::default().with_topics(None);
            cx.case(api, v, "all", request, |r: &DescribeLogDirsResponse| {
                expect("dirs", r.results.len(), 1)?;
                let partitions: usize = r.results[0]
                    .topics
                    .iter()
                    .filter(|t| t.name.as_str() == TOPIC)
                    .map(|t| t.partitions.len())
                    .sum();
                expect("partitions of the topic", partitions, 2)
            });
            let request = DescribeLogDirsRequest::default().with_topics(Some(vec![
                describe_log_dirs_request::DescribableLogDirTopic::default()
                    .with_topic(topic(UNKNOWN_TOPIC))
                    .with_partitions(vec![0]),
            ]));
            cx.case(
                api,
                v,
                "unknown topic",
                request,
                |r: &DescribeLogDirsResponse| {
                    let listed = r.results.iter().flat_map(|d| &d.topics).count();
                    expect("topics listed", listed, 0)
                },
            );
        }
        ApiKey::AlterReplicaLogDirs => {
            let log_dir = cx.broker.data_dir().display().to_string();
            for (label, dir, name, want) in [
                ("already there", log_dir.as_str(), TOPIC, NONE),
                ("unknown dir", "/no/such/dir", TOPIC, 57), // LOG_DIR_NOT_FOUND
                ("no replica", log_dir.as_str(), UNKNOWN_TOPIC, 9), // REPLICA_NOT_AVAILABLE
            ] {
                let request = AlterReplicaLogDirsRequest::default().with_dirs(vec![
                    alter_replica_log_dirs_request::AlterReplicaLogDir::default()
                        .with_path(s(dir))
                        .with_topics(vec![
                            alter_replica_log_dirs_request::AlterReplicaLogDirTopic::default()
                                .with_name(topic(name))
                                .with_partitions(vec![0]),
                        ]),
                ]);
                cx.case(api, v, label, request, |r: &AlterReplicaLogDirsResponse| {
                    expect("error", r.results[0].partitions[0].error_code, want)
                });
            }
        }
        ApiKey::CreatePartitions => {
            for (label, name, count, want) in [
                ("ordinary", TOPIC, 2, INVALID_PARTITIONS), // already 2: not an increase
                (
                    "unknown topic",
                    UNKNOWN_TOPIC,
                    3,
                    UNKNOWN_TOPIC_OR_PARTITION,
                ),
            ] {
                let request = CreatePartitionsRequest::default()
                    .with_timeout_ms(5000)
                    .with_validate_only(true)
                    .with_topics(vec![
                        create_partitions_request::CreatePartitionsTopic::default()
                            .with_name(topic(name))
                            .with_count(count)
                            .with_assignments(None),
                    ]);
                cx.case(api, v, label, request, |r: &CreatePartitionsResponse| {
                    expect("error", r.results[0].error_code, want)
                });
            }
            let request = CreatePartitionsRequest::default()
                .with_timeout_ms(5000)
                .with_validate_only(true)
                .with_topics(vec![
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(topic(TOPIC))
                        .with_count(4)
                        .with_assignments(None),
                ]);
            cx.case(
                api,
                v,
                "validate an increase",
                request,
                |r: &CreatePartitionsResponse| expect("error", r.results[0].error_code, NONE),
            );
        }
        ApiKey::DescribeCluster => {
            let mut request = DescribeClusterRequest::default();
            if v >= 1 {
                request = request.with_endpoint_type(1);
            }
            cx.case(api, v, "brokers", request, |r: &DescribeClusterResponse| {
                expect("error", r.error_code, NONE)?;
                expect("brokers", r.brokers.len(), 1)
            });
            if v >= 1 {
                let request = DescribeClusterRequest::default().with_endpoint_type(9);
                cx.case(
                    api,
                    v,
                    "bad endpoint type",
                    request,
                    |r: &DescribeClusterResponse| expect("error", r.error_code != NONE, true),
                );
            }
        }
        ApiKey::ElectLeaders => {
            for (label, name, want) in [
                ("preferred already", TOPIC, ELECTION_NOT_NEEDED),
                ("unknown topic", UNKNOWN_TOPIC, UNKNOWN_TOPIC_OR_PARTITION),
            ] {
                let request = ElectLeadersRequest::default()
                    .with_timeout_ms(5000)
                    .with_topic_partitions(Some(vec![
                        elect_leaders_request::TopicPartitions::default()
                            .with_topic(topic(name))
                            .with_partitions(vec![0]),
                    ]));
                cx.case(api, v, label, request, |r: &ElectLeadersResponse| {
                    expect(
                        "error",
                        r.replica_election_results[0].partition_result[0].error_code,
                        want,
                    )
                });
            }
        }
        ApiKey::AlterPartitionReassignments => {
            for (label, name, want) in [
                ("cancel none", TOPIC, NO_REASSIGNMENT_IN_PROGRESS),
                ("unknown topic", UNKNOWN_TOPIC, UNKNOWN_TOPIC_OR_PARTITION),
            ] {
                let request = AlterPartitionReassignmentsRequest::default()
                    .with_timeout_ms(5000)
                    .with_topics(vec![
                        alter_partition_reassignments_request::ReassignableTopic::default()
                            .with_name(topic(name))
                            .with_partitions(vec![
                                alter_partition_reassignments_request::ReassignablePartition::default()
                                    .with_partition_index(0)
                                    .with_replicas(None),
                            ]),
                    ]);
                cx.case(
                    api,
                    v,
                    label,
                    request,
                    |r: &AlterPartitionReassignmentsResponse| {
                        expect("error", r.responses[0].partitions[0].error_code, want)
                    },
                );
            }
        }
        ApiKey::ListPartitionReassignments => {
            let request = ListPartitionReassignmentsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(None);
            cx.case(
                api,
                v,
                "all",
                request,
                |r: &ListPartitionReassignmentsResponse| {
                    expect("error", r.error_code, NONE)?;
                    expect("reassignments", r.topics.len(), 0)
                },
            );
            let request = ListPartitionReassignmentsRequest::default()
                .with_timeout_ms(5000)
                .with_topics(Some(vec![
                    list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                        .with_name(topic(UNKNOWN_TOPIC))
                        .with_partition_indexes(vec![0]),
                ]));
            cx.case(
                api,
                v,
                "unknown topic",
                request,
                |r: &ListPartitionReassignmentsResponse| {
                    expect("error", r.error_code, NONE)?;
                    expect("reassignments", r.topics.len(), 0)
                },
            );
        }
        ApiKey::DescribeQuorum => {
            let quorum = |name: &str| {
                DescribeQuorumRequest::default().with_topics(vec![
                    describe_quorum_request::TopicData::default()
                        .with_topic_name(topic(name))
                        .with_partitions(vec![describe_quorum_request::PartitionData::default()
                            .with_partition_index(0)]),
                ])
            };
            cx.case(
                api,
                v,
                "metadata quorum",
                quorum("__cluster_metadata"),
                |r: &DescribeQuorumResponse| {
                    expect("error", r.error_code, NONE)?;
                    let p = &r.topics[0].partitions[0];
                    expect("partition error", p.error_code, NONE)?;
                    expect("leader", p.leader_id, BrokerId(1))
                },
            );
            cx.case(
                api,
                v,
                "another topic",
                quorum(TOPIC),
                |r: &DescribeQuorumResponse| {
                    let top = r.error_code;
                    let part = r
                        .topics
                        .first()
                        .and_then(|t| t.partitions.first())
                        .map(|p| p.error_code);
                    expect(
                        "an error",
                        top != NONE || part.is_some_and(|c| c != NONE),
                        true,
                    )
                },
            );
        }
        ApiKey::DescribeTopicPartitions => {
            let request = DescribeTopicPartitionsRequest::default()
                .with_response_partition_limit(1)
                .with_topics(vec![
                    describe_topic_partitions_request::TopicRequest::default()
                        .with_name(topic(TOPIC)),
                    describe_topic_partitions_request::TopicRequest::default()
                        .with_name(topic(UNKNOWN_TOPIC)),
                ]);
            cx.case(
                api,
                v,
                "one partition a page",
                request,
                |r: &DescribeTopicPartitionsResponse| {
                    expect("topics", r.topics.len(), 1)?;
                    let t = &r.topics[0];
                    expect("error", t.error_code, NONE)?;
                    expect("topic id", t.topic_id, topic_id)?;
                    expect("partitions", t.partitions.len(), 1)?;
                    let next = r
                        .next_cursor
                        .as_ref()
                        .map(|c| (c.topic_name.to_string(), c.partition_index));
                    expect("cursor", next, Some((TOPIC.to_string(), 1)))
                },
            );
            let request = DescribeTopicPartitionsRequest::default()
                .with_response_partition_limit(100)
                .with_topics(vec![
                    describe_topic_partitions_request::TopicRequest::default()
                        .with_name(topic(UNKNOWN_TOPIC)),
                ]);
            cx.case(
                api,
                v,
                "unknown topic",
                request,
                |r: &DescribeTopicPartitionsResponse| {
                    expect("error", r.topics[0].error_code, UNKNOWN_TOPIC_OR_PARTITION)?;
                    expect("cursor", r.next_cursor.is_none(), true)
                },
            );
        }
        ApiKey::FindCoordinator => {
            let share_key = format!("fc-share:{}:0", kafka_uuid(cx.topic_id));
            for (label, key, key_type, want) in [
                ("group", "fc-group", 0i8, NONE),
                ("bad key type", "fc-group", 7i8, INVALID_REQUEST),
                // Share-partition keys (groupId:topicId:partition) came with v6.
                (
                    "share-partition",
                    share_key.as_str(),
                    2i8,
                    if v >= 6 { NONE } else { INVALID_REQUEST },
                ),
                ("malformed share key", "fc-share", 2i8, INVALID_REQUEST),
            ] {
                if v == 0 && key_type != 0 {
                    continue;
                }
                let mut request = FindCoordinatorRequest::default();
                if v >= 1 {
                    request = request.with_key_type(key_type);
                }
                request = if v >= 4 {
                    request.with_coordinator_keys(vec![s(key)])
                } else {
                    request.with_key(s(key))
                };
                cx.case(api, v, label, request, |r: &FindCoordinatorResponse| {
                    if v >= 4 {
                        expect("error", r.coordinators[0].error_code, want)?;
                        if want == NONE {
                            expect("node", r.coordinators[0].node_id, BrokerId(1))?;
                        }
                    } else {
                        expect("error", r.error_code, want)?;
                        if want == NONE {
                            expect("node", r.node_id, BrokerId(1))?;
                        }
                    }
                    Ok(())
                });
            }
            if v < 4 {
                // Kafka has no rule against an empty group id here: it is hashed like any.
                let request = FindCoordinatorRequest::default().with_key(s(""));
                cx.case(
                    api,
                    v,
                    "empty group id",
                    request,
                    |r: &FindCoordinatorResponse| {
                        expect("error", r.error_code, NONE)?;
                        if v >= 1 {
                            expect("message", r.error_message.as_deref(), Some("NONE"))?;
                        }
                        Ok(())
                    },
                );
            }
        }
        ApiKey::JoinGroup => {
            let group_id = format!("join-v{v}");
            let mut request = JoinGroupRequest::default()
                .with_group_id(group(&group_id))
                .with_session_timeout_ms(30_000)
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
                )
                .with_name(s("range"))
                .with_metadata(Bytes::from_static(b"\0\0\0\0\0\0\0\0"))]);
            if v >= 1 {
                request = request.with_rebalance_timeout_ms(30_000);
            }
            let want = if v >= 4 { MEMBER_ID_REQUIRED } else { NONE };
            cx.case(
                api,
                v,
                "new member",
                request.clone(),
                |r: &JoinGroupResponse| {
                    expect("error", r.error_code, want)?;
                    expect("member id given", !r.member_id.is_empty(), true)
                },
            );
            let stranger = request.with_member_id(s("stranger"));
            cx.case(
                api,
                v,
                "unknown member",
                stranger,
                |r: &JoinGroupResponse| expect("error", r.error_code, UNKNOWN_MEMBER_ID),
            );
            let bad_timeout = JoinGroupRequest::default()
                .with_group_id(group(&group_id))
                .with_session_timeout_ms(1)
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
                )
                .with_name(s("range"))
                .with_metadata(Bytes::new())]);
            cx.case(
                api,
                v,
                "session timeout too small",
                bad_timeout,
                |r: &JoinGroupResponse| {
                    expect("error", r.error_code, 26) // INVALID_SESSION_TIMEOUT
                },
            );
        }
        ApiKey::SyncGroup => {
            let group_id = format!("sync-v{v}");
            let (member, generation) = join_group(cx, &group_id);
            let mut request = SyncGroupRequest::default()
                .with_group_id(group(&group_id))
                .with_generation_id(generation)
                .with_member_id(member.clone())
                .with_assignments(vec![
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(member.clone())
                        .with_assignment(Bytes::from_static(b"assignment")),
                ]);
            if v >= 5 {
                request = request
                    .with_protocol_type(Some(s("consumer")))
                    .with_protocol_name(Some(s("range")));
            }
            cx.case(
                api,
                v,
                "member",
                request.clone(),
                |r: &SyncGroupResponse| {
                    expect("error", r.error_code, NONE)?;
                    expect(
                        "assignment",
                        r.assignment.as_ref(),
                        b"assignment".as_slice(),
                    )
                },
            );
            let stale = request.with_generation_id(generation + 5);
            cx.case(
                api,
                v,
                "stale generation",
                stale,
                |r: &SyncGroupResponse| expect("error", r.error_code, ILLEGAL_GENERATION),
            );
        }
        ApiKey::Heartbeat => {
            let group_id = format!("heartbeat-v{v}");
            let (member, generation) = form_group(cx, &group_id);
            let request = HeartbeatRequest::default()
                .with_group_id(group(&group_id))
                .with_generation_id(generation)
                .with_member_id(member);
            cx.case(
                api,
                v,
                "member",
                request.clone(),
                |r: &HeartbeatResponse| expect("error", r.error_code, NONE),
            );
            let stranger = request.with_member_id(s("stranger"));
            cx.case(api, v, "stranger", stranger, |r: &HeartbeatResponse| {
                expect("error", r.error_code, UNKNOWN_MEMBER_ID)
            });
        }
        ApiKey::LeaveGroup => {
            let group_id = format!("leave-v{v}");
            let (member, _) = form_group(cx, &group_id);
            let leave = |member: StrBytes| {
                if v >= 3 {
                    LeaveGroupRequest::default()
                        .with_group_id(group(&group_id))
                        .with_members(vec![
                            leave_group_request::MemberIdentity::default().with_member_id(member)
                        ])
                } else {
                    LeaveGroupRequest::default()
                        .with_group_id(group(&group_id))
                        .with_member_id(member)
                }
            };
            cx.case(api, v, "member", leave(member), |r: &LeaveGroupResponse| {
                expect("error", r.error_code, NONE)?;
                if v >= 3 {
                    expect("member error", r.members[0].error_code, NONE)?;
                }
                Ok(())
            });
            cx.case(
                api,
                v,
                "stranger",
                leave(s("stranger")),
                |r: &LeaveGroupResponse| {
                    if v >= 3 {
                        expect("member error", r.members[0].error_code, UNKNOWN_MEMBER_ID)
                    } else {
                        expect("error", r.error_code, UNKNOWN_MEMBER_ID)
                    }
                },
            );
        }
        ApiKey::OffsetCommit => {
            let group_id = format!("commit-v{v}");
            let (member, generation) = form_group(cx, &group_id);
            let commit = |name: &str, member: StrBytes, generation: i32| {
                let mut partition = offset_commit_request::OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(2)
                    .with_committed_metadata(Some(s("meta")));
                if v >= 6 {
                    partition = partition.with_committed_leader_epoch(0);
                }
                let mut request = OffsetCommitRequest::default()
                    .with_group_id(group(&group_id))
                    .with_generation_id_or_member_epoch(generation)
                    .with_member_id(member)
                    .with_topics(vec![
                        offset_commit_request::OffsetCommitRequestTopic::default()
                            .with_name(topic(name))
                            .with_partitions(vec![partition]),
                    ]);
                if (2..=4).contains(&v) {
                    request = request.with_retention_time_ms(-1);
                }
                request
            };
            let ordinary = commit(TOPIC, member.clone(), generation);
            cx.case(api, v, "member", ordinary, |r: &OffsetCommitResponse| {
                expect("error", r.topics[0].partitions[0].error_code, NONE)
            });
            let stranger = commit(TOPIC, s("stranger"), generation);
            cx.case(api, v, "stranger", stranger, |r: &OffsetCommitResponse| {
                expect(
                    "error",
                    r.topics[0].partitions[0].error_code,
                    UNKNOWN_MEMBER_ID,
                )
            });
            let stale = commit(TOPIC, member, generation + 3);
            cx.case(
                api,
                v,
                "stale generation",
                stale,
                |r: &OffsetCommitResponse| {
                    expect(
                        "error",
                        r.topics[0].partitions[0].error_code,
                        ILLEGAL_GENERATION,
                    )
                },
            );
        }
        ApiKey::OffsetFetch => {
            let group_id = format!("fetch-offsets-v{v}");
            commit_simple(cx, &group_id);
            for (label, name, want_offset) in [
                ("committed", TOPIC, 1),
                ("unknown topic", UNKNOWN_TOPIC, -1),
            ] {
                let request = if v >= 8 {
                    OffsetFetchRequest::default().with_groups(vec![
                        offset_fetch_request::OffsetFetchRequestGroup::default()
                            .with_group_id(group(&group_id))
                            .with_topics(Some(vec![
                                offset_fetch_request::OffsetFetchRequestTopics::default()
                                    .with_name(topic(name))
                                    .with_partition_indexes(vec![0]),
                            ])),
                    ])
                } else {
                    OffsetFetchRequest::default()
                        .with_group_id(group(&group_id))
                        .with_topics(Some(vec![
                            offset_fetch_request::OffsetFetchRequestTopic::default()
                                .with_name(topic(name))
                                .with_partition_indexes(vec![0]),
                        ]))
                };
                cx.case(api, v, label, request, |r: &OffsetFetchResponse| {
                    let (offset, error) = if v >= 8 {
                        let p = &r.groups[0].topics[0].partitions[0];
                        (p.committed_offset, p.error_code)
                    } else {
                        let p = &r.topics[0].partitions[0];
                        (p.committed_offset, p.error_code)
                    };
                    expect("error", error, NONE)?;
                    expect("offset", offset, want_offset)
                });
            }
        }
        ApiKey::ListGroups => {
            commit_simple(cx, "listed-group");
            cx.case(
                api,
                v,
                "all",
                ListGroupsRequest::default(),
                |r: &ListGroupsResponse| {
                    expect("error", r.error_code, NONE)?;
                    expect(
                        "listed",
                        r.groups
                            .iter()
                            .any(|g| g.group_id.as_str() == "listed-group"),
                        true,
                    )
                },
            );
            if v >= 4 {
                let request = ListGroupsRequest::default().with_states_filter(vec![s("Dead")]);
                cx.case(
                    api,
                    v,
                    "no dead groups",
                    request,
                    |r: &ListGroupsResponse| {
                        expect("error", r.error_code, NONE)?;
                        expect("groups", r.groups.len(), 0)
                    },
                );
            }
        }
        ApiKey::DescribeGroups => {
            let group_id = format!("describe-v{v}");
            let (member, _) = form_group(cx, &group_id);
            let mut request = DescribeGroupsRequest::default()
                .with_groups(vec![group(&group_id), group("never-formed")]);
            if v >= 3 {
                request = request.with_include_authorized_operations(true);
            }
            cx.case(
                api,
                v,
                "stable and unknown",
                request,
                |r: &DescribeGroupsResponse| {
                    let g = &r.groups[0];
                    expect("error", g.error_code, NONE)?;
                    expect("state", g.group_state.as_str(), "Stable")?;
                    expect(
                        "member",
                        g.members.first().map(|m| m.member_id.clone()),
                        Some(member.clone()),
                    )?;
                    let unknown = &r.groups[1];
                    if v >= 6 {
                        expect("unknown group", unknown.error_code, GROUP_ID_NOT_FOUND)
                    } else {
                        expect("unknown group state", unknown.group_state.as_str(), "Dead")
                    }
                },
            );
        }
        ApiKey::DeleteGroups => {
            let empty = format!("delete-empty-v{v}");
            commit_simple(cx, &empty);
            let active = format!("delete-active-v{v}");
            form_group(cx, &active);
            let request = DeleteGroupsRequest::default().with_groups_names(vec![
                group(&empty),
                group(&active),
                group("never-formed"),
            ]);
            cx.case(
                api,
                v,
                "empty, active, unknown",
                request,
                |r: &DeleteGroupsResponse| {
                    expect("empty group", r.results[0].error_code, NONE)?;
                    expect("active group", r.results[1].error_code, NON_EMPTY_GROUP)?;
                    expect("unknown group", r.results[2].error_code, GROUP_ID_NOT_FOUND)
                },
            );
        }
        ApiKey::OffsetDelete => {
            let group_id = format!("offset-delete-v{v}");
            commit_simple(cx, &group_id);
            for (label, group_name, want_top) in [
                ("committed", group_id.as_str(), NONE),
                ("unknown group", "never-formed", GROUP_ID_NOT_FOUND),
            ] {
                let request = OffsetDeleteRequest::default()
                    .with_group_id(group(group_name))
                    .with_topics(vec![
                        offset_delete_request::OffsetDeleteRequestTopic::default()
                            .with_name(topic(TOPIC))
                            .with_partitions(vec![
                                offset_delete_request::OffsetDeleteRequestPartition::default()
                                    .with_partition_index(0),
                            ]),
                    ]);
                cx.case(api, v, label, request, |r: &OffsetDeleteResponse| {
                    expect("error", r.error_code, want_top)?;
                    if want_top == NONE {
                        expect(
                            "partition error",
                            r.topics[0].partitions[0].error_code,
                            NONE,
                        )?;
                    }
                    Ok(())
                });
            }
        }
        ApiKey::ConsumerGroupHeartbeat => {
            let group_id = format!("cgh-v{v}");
            let request = ConsumerGroupHeartbeatRequest::default()
                .with_group_id(group(&group_id))
                .with_member_id(s(&Uuid::from_u128(0x1234_5678 + v as u128).to_string()))
                .with_member_epoch(0)
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![topic(TOPIC)]))
                .with_topic_partitions(Some(vec![]));
            cx.case(
                api,
                v,
                "join",
                request.clone(),
                |r: &ConsumerGroupHeartbeatResponse| {
                    expect("error", r.error_code, NONE)?;
                    expect("epoch", r.member_epoch >= 1, true)
                },
            );
            let fenced = request.with_member_epoch(99);
            cx.case(
                api,
                v,
                "unknown epoch",
                fenced,
                |r: &ConsumerGroupHeartbeatResponse| {
                    expect("error", r.error_code, 110) // FENCED_MEMBER_EPOCH
                },
            );
        }
        ApiKey::ConsumerGroupDescribe => {
            let request = ConsumerGroupDescribeRequest::default()
                .with_group_ids(vec![group("cgh-v0"), group("never-formed")])
                .with_include_authorized_operations(true);
            cx.case(
                api,
                v,
                "consumer and unknown",
                request,
                |r: &ConsumerGroupDescribeResponse| {
                    expect("known", r.groups[0].error_code, NONE)?;
                    expect("members", r.groups[0].members.len(), 1)?;
                    expect("unknown", r.groups[1].error_code, GROUP_ID_NOT_FOUND)
                },
            );
        }
        ApiKey::ListConfigResources => {
            // v0 (ListClientMetricsResources) lists client-metrics subscriptions only.
            let types: Vec<i8> = if v >= 1 { vec![2] } else { vec![] };
            let request = ListConfigResourcesRequest::default().with_resource_types(types);
            cx.case(
                api,
                v,
                "ordinary",
                request,
                |r: &ListConfigResourcesResponse| {
                    expect("error", r.error_code, NONE)?;
                    let topic_listed = r
                        .config_resources
                        .iter()
                        .any(|c| c.resource_name.as_str() == TOPIC && c.resource_type == 2);
                    expect("topic listed", topic_listed, v >= 1)
                },
            );
            if v >= 1 {
                let request =
                    ListConfigResourcesRequest::default().with_resource_types(vec![2, 99]);
                cx.case(
                    api,
                    v,
                    "unsupported type",
                    request,
                    |r: &ListConfigResourcesResponse| {
                        expect("error", r.error_code, 35)?; // UNSUPPORTED_VERSION
                        expect("listed", r.config_resources.len(), 0)
                    },
                );
            }
        }
        ApiKey::InitProducerId => {
            let idempotent = InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
            cx.case(
                api,
                v,
                "idempotent",
                idempotent,
                |r: &InitProducerIdResponse| {
                    expect("error", r.error_code, NONE)?;
                    expect("epoch", r.producer_epoch, 0)?;
                    expect("id assigned", r.producer_id.0 >= 0, true)
                },
            );
            let empty_id = InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(s(""))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
            cx.case(
                api,
                v,
                "empty transactional id",
                empty_id,
                |r: &InitProducerIdResponse| {
                    expect("error", r.error_code, 42)?; // INVALID_REQUEST
                    expect("id", r.producer_id.0, -1)
                },
            );
        }
        ApiKey::WriteTxnMarkers => {
            let marker = |name: &str| {
                WriteTxnMarkersRequest::default().with_markers(vec![
                    write_txn_markers_request::WritableTxnMarker::default()
                        .with_producer_id(ProducerId(900_000 + i64::from(v)))
                        .with_producer_epoch(0)
                        .with_transaction_result(false)
                        .with_coordinator_epoch(0)
                        .with_topics(vec![
                            write_txn_markers_request::WritableTxnMarkerTopic::default()
                                .with_name(topic(name))
                                .with_partition_indexes(vec![0]),
                        ]),
                ])
            };
            cx.case(
                api,
                v,
                "abort",
                marker(TOPIC),
                |r: &WriteTxnMarkersResponse| {
                    expect(
                        "error",
                        r.markers[0].topics[0].partitions[0].error_code,
                        NONE,
                    )
                },
            );
            cx.case(
                api,
                v,
                "unknown topic",
                marker(UNKNOWN_TOPIC),
                |r: &WriteTxnMarkersResponse| {
                    expect(
                        "error",
                        r.markers[0].topics[0].partitions[0].error_code,
                        UNKNOWN_TOPIC_OR_PARTITION,
                    )
                },
            );
        }
        ApiKey::AddPartitionsToTxn => {
            let id = format!("apt-v{v}");
            let (pid, epoch) = txn_producer(cx, &id);
            let topics = |name: &str| {
                vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(topic(name))
                        .with_partitions(vec![0]),
                ]
            };
            let request = |name: &str, verify_only: bool| {
                if v < 4 {
                    AddPartitionsToTxnRequest::default()
                        .with_v3_and_below_transactional_id(TransactionalId(s(&id)))
                        .with_v3_and_below_producer_id(ProducerId(pid))
                        .with_v3_and_below_producer_epoch(epoch)
                        .with_v3_and_below_topics(topics(name))
                } else {
                    AddPartitionsToTxnRequest::default().with_transactions(vec![
                        add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default()
                            .with_transactional_id(TransactionalId(s(&id)))
                            .with_producer_id(ProducerId(pid))
                            .with_producer_epoch(epoch)
                            .with_verify_only(verify_only)
                            .with_topics(topics(name)),
                    ])
                }
            };
            let code = |r: &AddPartitionsToTxnResponse| {
                let by_topic = if v < 4 {
                    &r.results_by_topic_v3_and_below
                } else {
                    &r.results_by_transaction[0].topic_results
                };
                by_topic[0].results_by_partition[0].partition_error_code
            };
            if v >= 4 {
                // A partition leader's check: not in the transaction yet.
                cx.case(
                    api,
                    v,
                    "verify",
                    request(TOPIC, true),
                    |r: &AddPartitionsToTxnResponse| {
                        expect("error", code(r), 120) // TRANSACTION_ABORTABLE
                    },
                );
            }
            cx.case(
                api,
                v,
                "add",
                request(TOPIC, false),
                |r: &AddPartitionsToTxnResponse| expect("error", code(r), NONE),
            );
            cx.case(
                api,
                v,
                "unknown topic",
                request(UNKNOWN_TOPIC, false),
                |r: &AddPartitionsToTxnResponse| {
                    expect("error", code(r), UNKNOWN_TOPIC_OR_PARTITION)
                },
            );
        }
        ApiKey::AddOffsetsToTxn => {
            let id = format!("aot-v{v}");
            let (pid, epoch) = txn_producer(cx, &id);
            let request = |producer: i64| {
                AddOffsetsToTxnRequest::default()
                    .with_transactional_id(TransactionalId(s(&id)))
                    .with_producer_id(ProducerId(producer))
                    .with_producer_epoch(epoch)
                    .with_group_id(group("txn-group"))
            };
            cx.case(
                api,
                v,
                "add",
                request(pid),
                |r: &AddOffsetsToTxnResponse| expect("error", r.error_code, NONE),
            );
            cx.case(
                api,
                v,
                "another producer",
                request(pid + 1),
                |r: &AddOffsetsToTxnResponse| {
                    expect("error", r.error_code, 49) // INVALID_PRODUCER_ID_MAPPING
                },
            );
        }
        ApiKey::EndTxn => {
            let id = format!("end-v{v}");
            let producer = txn_producer(cx, &id);
            let request = EndTxnRequest::default()
                .with_transactional_id(TransactionalId(s(&id)))
                .with_producer_id(ProducerId(producer.0))
                .with_producer_epoch(producer.1)
                .with_committed(true);
            cx.case(
                api,
                v,
                "nothing to end",
                request.clone(),
                |r: &EndTxnResponse| {
                    expect("error", r.error_code, 48) // INVALID_TXN_STATE
                },
            );
            add_partition(cx, &id, producer);
            cx.case(api, v, "commit", request, |r: &EndTxnResponse| {
                expect("error", r.error_code, NONE)?;
                // v5 is transactions V2: the epoch is bumped and handed back.
                let (want_id, want_epoch) = if v >= 5 {
                    (producer.0, producer.1 + 1)
                } else {
                    (-1, -1)
                };
                expect("producer id", r.producer_id.0, want_id)?;
                expect("producer epoch", r.producer_epoch, want_epoch)
            });
        }
        ApiKey::DescribeTransactions => {
            let id = format!("describe-v{v}");
            let producer = txn_producer(cx, &id);
            add_partition(cx, &id, producer);
            let request = DescribeTransactionsRequest::default().with_transactional_ids(vec![
                TransactionalId(s(&id)),
                TransactionalId(s("never-initialized")),
            ]);
            cx.case(
                api,
                v,
                "ongoing and unknown",
                request,
                |r: &DescribeTransactionsResponse| {
                    let known = &r.transaction_states[0];
                    expect("error", known.error_code, NONE)?;
                    expect("state", known.transaction_state.as_str(), "Ongoing")?;
                    expect("producer", known.producer_id.0, producer.0)?;
                    expect("partitions", known.topics[0].partitions.clone(), vec![0])?;
                    expect("unknown", r.transaction_states[1].error_code, 105) // TRANSACTIONAL_ID_NOT_FOUND
                },
            );
        }
        ApiKey::ListTransactions => {
            let id = format!("list-v{v}");
            let producer = txn_producer(cx, &id);
            add_partition(cx, &id, producer);
            let request = ListTransactionsRequest::default()
                .with_state_filters(vec![s("Ongoing")])
                .with_producer_id_filters(vec![ProducerId(producer.0)]);
            cx.case(
                api,
                v,
                "ongoing",
                request,
                |r: &ListTransactionsResponse| {
                    expect("error", r.error_code, NONE)?;
                    let ids: Vec<&str> = r
                        .transaction_states
                        .iter()
                        .map(|t| t.transactional_id.as_str())
                        .collect();
                    expect("listed", ids, vec![id.as_str()])
                },
            );
            let bogus = ListTransactionsRequest::default().with_state_filters(vec![s("Bogus")]);
            cx.case(
                api,
                v,
                "unknown state",
                bogus,
                |r: &ListTransactionsResponse| {
                    expect(
                        "unknown filters",
                        r.unknown_state_filters.clone(),
                        vec![s("Bogus")],
                    )?;
                    expect("listed", r.transaction_states.len(), 0)
                },
            );
        }
        ApiKey::DescribeProducers => {
            let request = |name: &str| {
                DescribeProducersRequest::default().with_topics(vec![
                    describe_producers_request::TopicRequest::default()
                        .with_name(topic(name))
                        .with_partition_indexes(vec![0]),
                ])
            };
            cx.case(
                api,
                v,
                "topic",
                request(TOPIC),
                |r: &DescribeProducersResponse| {
                    expect("error", r.topics[0].partitions[0].error_code, NONE)
                },
            );
            cx.case(
                api,
                v,
                "unknown topic",
                request(UNKNOWN_TOPIC),
                |r: &DescribeProducersResponse| {
                    expect(
                        "error",
                        r.topics[0].partitions[0].error_code,
                        UNKNOWN_TOPIC_OR_PARTITION,
                    )
                },
            );
        }
        ApiKey::TxnOffsetCommit => {
            // From v3 the commit names the member of a formed group; before, it carries no
            // member information and goes to a simple group.
            let group_id = format!("txn-commit-v{v}");
            let (member, generation) = if v >= 3 {
                form_group(cx, &group_id)
            } else {
                (StrBytes::default(), -1)
            };
            // The offsets partition must be in the transaction: before v5 the producer adds
            // it (AddOffsetsToTxn), from v5 the group coordinator does (KIP-890).
            let id = format!("txn-commit-v{v}");
            let (pid, epoch) = txn_producer(cx, &id);
            if v < 5 {
                let added: AddOffsetsToTxnResponse = cx
                    .call(
                        ApiKey::AddOffsetsToTxn,
                        3,
                        &AddOffsetsToTxnRequest::default()
                            .with_transactional_id(TransactionalId(s(&id)))
                            .with_producer_id(ProducerId(pid))
                            .with_producer_epoch(epoch)
                            .with_group_id(group(&group_id)),
                    )
                    .expect("add offsets");
                assert_eq!(added.error_code, NONE, "{added:?}");
            }
            let commit = |name: &str, member: StrBytes| {
                let mut partition =
                    txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(2)
                        .with_committed_metadata(Some(s("meta")));
                if v >= 2 {
                    partition = partition.with_committed_leader_epoch(0);
                }
                let mut request = TxnOffsetCommitRequest::default()
                    .with_transactional_id(TransactionalId(s(&id)))
                    .with_group_id(group(&group_id))
                    .with_producer_id(ProducerId(pid))
                    .with_producer_epoch(epoch)
                    .with_topics(vec![
                        txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                            .with_name(topic(name))
                            .with_partitions(vec![partition]),
                    ]);
                if v >= 3 {
                    request = request
                        .with_generation_id(generation)
                        .with_member_id(member);
                }
                request
            };
            let error_of = |r: &TxnOffsetCommitResponse| {
                let t = r.topics.first().ok_or("no topic answered")?;
                let p = t.partitions.first().ok_or("no partition answered")?;
                expect("partition", p.partition_index, 0)?;
                Ok::<i16, String>(p.error_code)
            };
            let ordinary = commit(TOPIC, member.clone());
            cx.case(api, v, "commit", ordinary, |r: &TxnOffsetCommitResponse| {
                expect("error", error_of(r)?, NONE)
            });
            let unknown = commit(UNKNOWN_TOPIC, member.clone());
            cx.case(
                api,
                v,
                "unknown topic",
                unknown,
                |r: &TxnOffsetCommitResponse| {
                    expect("error", error_of(r)?, UNKNOWN_TOPIC_OR_PARTITION)
                },
            );
            if v >= 3 {
                let stranger = commit(TOPIC, s("stranger"));
                cx.case(
                    api,
                    v,
                    "stranger",
                    stranger,
                    |r: &TxnOffsetCommitResponse| expect("error", error_of(r)?, UNKNOWN_MEMBER_ID),
                );
            }
        }
        ApiKey::ShareGroupHeartbeat => {
            let request = ShareGroupHeartbeatRequest::default()
                .with_group_id(group("share-v1"))
                .with_member_id(s(&Uuid::from_u128(0x5eed).to_string()))
                .with_member_epoch(0)
                .with_subscribed_topic_names(Some(vec![topic(TOPIC)]));
            cx.case(
                api,
                v,
                "join",
                request.clone(),
                |r: &ShareGroupHeartbeatResponse| {
                    expect("error", r.error_code, NONE)?;
                    expect("epoch", r.member_epoch >= 1, true)
                },
            );
            cx.case(
                api,
                v,
                "unknown epoch",
                request.with_member_epoch(99),
                |r: &ShareGroupHeartbeatResponse| {
                    expect("error", r.error_code, 110) // FENCED_MEMBER_EPOCH
                },
            );
        }
        ApiKey::ShareGroupDescribe => {
            let request = ShareGroupDescribeRequest::default()
                .with_group_ids(vec![group("share-v1"), group("never-formed")]);
            cx.case(
                api,
                v,
                "share and unknown",
                request,
                |r: &ShareGroupDescribeResponse| {
                    expect("known", r.groups[0].error_code, NONE)?;
                    expect("members", r.groups[0].members.len(), 1)?;
                    expect("unknown", r.groups[1].error_code, GROUP_ID_NOT_FOUND)
                },
            );
        }
        ApiKey::ShareFetch => {
            let opening = ShareFetchRequest::default()
                .with_group_id(Some(group("share-fetch-v1")))
                .with_member_id(Some(s("member-1")))
                .with_share_session_epoch(0)
                .with_max_wait_ms(0)
                .with_max_records(10);
            cx.case(
                api,
                v,
                "open a session",
                opening.clone(),
                |r: &ShareFetchResponse| expect("error", r.error_code, NONE),
            );
            cx.case(
                api,
                v,
                "unknown session",
                opening
                    .with_member_id(Some(s("member-2")))
                    .with_share_session_epoch(5),
                |r: &ShareFetchResponse| expect("error", r.error_code, 122), // SHARE_SESSION_NOT_FOUND
            );
        }
        ApiKey::ShareAcknowledge => {
            let request = ShareAcknowledgeRequest::default()
                .with_group_id(Some(group("share-ack-v1")))
                .with_member_id(Some(s("member-1")))
                .with_share_session_epoch(3);
            cx.case(
                api,
                v,
                "unknown session",
                request.clone(),
                |r: &ShareAcknowledgeResponse| {
                    expect("error", r.error_code, 122) // SHARE_SESSION_NOT_FOUND
                },
            );
            cx.case(
                api,
                v,
                "epoch 0",
                request.with_share_session_epoch(0),
                |r: &ShareAcknowledgeResponse| expect("error", r.error_code, 123), // INVALID_SHARE_SESSION_EPOCH
            );
        }
        ApiKey::InitializeShareGroupState => {
            initialize_share_state(cx, "state-init-first");
            let init = |group_id: &str, topic_id: Uuid, state_epoch: i32| {
                InitializeShareGroupStateRequest::default()
                    .with_group_id(s(group_id))
                    .with_topics(vec![
                        initialize_share_group_state_request::InitializeStateData::default()
                            .with_topic_id(topic_id)
                            .with_partitions(vec![
                                initialize_share_group_state_request::PartitionData::default()
                                    .with_partition(0)
                                    .with_state_epoch(state_epoch)
                                    .with_start_offset(5),
                            ]),
                    ])
            };
            let topic_id = cx.topic_id;
            let error =
                |r: &InitializeShareGroupStateResponse| r.results[0].partitions[0].error_code;
            cx.case(api, v, "initialize", init("state-init", topic_id, 1), |r| {
                expect("error", error(r), NONE)
            });
            cx.case(
                api,
                v,
                "older state epoch",
                init("state-init", topic_id, 0),
                |r| expect("error", error(r), FENCED_STATE_EPOCH),
            );
            cx.case(
                api,
                v,
                "unknown topic",
                init("state-init", Uuid::from_u128(7), 0),
                |r| expect("error", error(r), UNKNOWN_TOPIC_OR_PARTITION),
            );
        }
        ApiKey::ReadShareGroupState => {
            initialize_share_state(cx, "state-read");
            let topic_id = cx.topic_id;
            let read = move |partition: i32, leader_epoch: i32| {
                ReadShareGroupStateRequest::default()
                    .with_group_id(s("state-read"))
                    .with_topics(vec![
                        read_share_group_state_request::ReadStateData::default()
                            .with_topic_id(topic_id)
                            .with_partitions(vec![
                                read_share_group_state_request::PartitionData::default()
                                    .with_partition(partition)
                                    .with_leader_epoch(leader_epoch),
                            ]),
                    ])
            };
            let (fresh, stale, uninitialized) = (read(0, 3), read(0, 2), read(1, 3));
            cx.case(api, v, "read", fresh, |r: &ReadShareGroupStateResponse| {
                let p = &r.results[0].partitions[0];
                expect("error", p.error_code, NONE)?;
                expect("start offset", p.start_offset, 5)?;
                expect("batches", p.state_batches.len(), 0)
            });
            cx.case(
                api,
                v,
                "older leader",
                stale,
                |r: &ReadShareGroupStateResponse| {
                    expect(
                        "error",
                        r.results[0].partitions[0].error_code,
                        FENCED_LEADER_EPOCH,
                    )
                },
            );
            cx.case(
                api,
                v,
                "uninitialized",
                uninitialized,
                |r: &ReadShareGroupStateResponse| {
                    expect(
                        "error",
                        r.results[0].partitions[0].error_code,
                        INVALID_REQUEST,
                    )
                },
            );
        }
        ApiKey::WriteShareGroupState => {
            initialize_share_state(cx, "state-write");
            let topic_id = cx.topic_id;
            let write = move |leader_epoch: i32| {
                WriteShareGroupStateRequest::default()
                    .with_group_id(s("state-write"))
                    .with_topics(vec![
                        write_share_group_state_request::WriteStateData::default()
                            .with_topic_id(topic_id)
                            .with_partitions(vec![
                                write_share_group_state_request::PartitionData::default()
                                    .with_partition(0)
                                    .with_state_epoch(0)
                                    .with_leader_epoch(leader_epoch)
                                    .with_start_offset(7)
                                    .with_state_batches(vec![
                                        write_share_group_state_request::StateBatch::default()
                                            .with_first_offset(7)
                                            .with_last_offset(9)
                                            .with_delivery_state(0)
                                            .with_delivery_count(1),
                                    ]),
                            ]),
                    ])
            };
            let error = |r: &WriteShareGroupStateResponse| r.results[0].partitions[0].error_code;
            cx.case(api, v, "write", write(4), |r| {
                expect("error", error(r), NONE)
            });
            cx.case(api, v, "older leader", write(3), |r| {
                expect("error", error(r), FENCED_LEADER_EPOCH)
            });
        }
        ApiKey::DeleteShareGroupState => {
            initialize_share_state(cx, "state-delete");
            let delete = |topic_id: Uuid| {
                DeleteShareGroupStateRequest::default()
                    .with_group_id(s("state-delete"))
                    .with_topics(vec![
                        delete_share_group_state_request::DeleteStateData::default()
                            .with_topic_id(topic_id)
                            .with_partitions(vec![
                                delete_share_group_state_request::PartitionData::default()
                                    .with_partition(0),
                            ]),
                    ])
            };
            let error = |r: &DeleteShareGroupStateResponse| r.results[0].partitions[0].error_code;
            let topic_id = cx.topic_id;
            cx.case(api, v, "delete", delete(topic_id), |r| {
                expect("error", error(r), NONE)
            });
            cx.case(api, v, "unknown topic", delete(Uuid::from_u128(7)), |r| {
                expect("error", error(r), UNKNOWN_TOPIC_OR_PARTITION)
            });
        }
        ApiKey::ReadShareGroupStateSummary => {
            initialize_share_state(cx, "state-summary");
            let topic_id = cx.topic_id;
            let summary = move |group_id: &str, partition: i32| {
                ReadShareGroupStateSummaryRequest::default()
                    .with_group_id(s(group_id))
                    .with_topics(vec![
                        read_share_group_state_summary_request::ReadStateSummaryData::default()
                            .with_topic_id(topic_id)
                            .with_partitions(vec![
                                read_share_group_state_summary_request::PartitionData::default()
                                    .with_partition(partition)
                                    .with_leader_epoch(0),
                            ]),
                    ])
            };
            let (known, unknown, negative) = (
                summary("state-summary", 0),
                summary("never-initialized", 0),
                summary("state-summary", -1),
            );
            cx.case(
                api,
                v,
                "summary",
                known,
                |r: &ReadShareGroupStateSummaryResponse| {
                    let p = &r.results[0].partitions[0];
                    expect("error", p.error_code, NONE)?;
                    expect("start offset", p.start_offset, 5)?;
                    expect("state epoch", p.state_epoch, 0)
                },
            );
            cx.case(
                api,
                v,
                "no state",
                unknown,
                |r: &ReadShareGroupStateSummaryResponse| {
                    let p = &r.results[0].partitions[0];
                    expect("error", p.error_code, NONE)?;
                    expect("start offset", p.start_offset, -1)
                },
            );
            cx.case(
                api,
                v,
                "negative partition",
                negative,
                |r: &ReadShareGroupStateSummaryResponse| {
                    expect(
                        "error",
                        r.results[0].partitions[0].error_code,
                        INVALID_REQUEST,
                    )
                },
            );
        }
        ApiKey::DescribeShareGroupOffsets => {
            alter_share_offsets(cx, "offsets-describe", 0, 1);
            let describe = |group_id: &str, topics: Option<Vec<(&str, Vec<i32>)>>| {
                DescribeShareGroupOffsetsRequest::default().with_groups(vec![
                    describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup::default()
                        .with_group_id(group(group_id))
                        .with_topics(topics.map(|topics| {
                            topics
                                .into_iter()
                                .map(|(name, partitions)| {
                                    describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestTopic::default()
                                        .with_topic_name(topic(name))
                                        .with_partitions(partitions)
                                })
                                .collect()
                        })),
                ])
            };
            // (topic, partition, start offset) of the one group answered.
            let offsets =
                |r: &DescribeShareGroupOffsetsResponse| -> Result<Vec<(String, i32, i64)>, String> {
                    let g = &r.groups[0];
                    expect("group error", g.error_code, NONE)?;
                    Ok(g.topics
                        .iter()
                        .flat_map(|t| {
                            t.partitions.iter().map(|p| {
                                (t.topic_name.to_string(), p.partition_index, p.start_offset)
                            })
                        })
                        .collect())
                };
            let named = describe(
                "offsets-describe",
                Some(vec![(TOPIC, vec![0, 1]), (UNKNOWN_TOPIC, vec![0])]),
            );
            cx.case(api, v, "named topics", named, |r| {
                expect(
                    "offsets",
                    offsets(r)?,
                    vec![
                        (UNKNOWN_TOPIC.to_string(), 0, -1),
                        (TOPIC.to_string(), 0, 1),
                        (TOPIC.to_string(), 1, -1),
                    ],
                )
            });
            cx.case(
                api,
                v,
                "all topics",
                describe("offsets-describe", None),
                |r| expect("offsets", offsets(r)?, vec![(TOPIC.to_string(), 0, 1)]),
            );
            cx.case(
                api,
                v,
                "unknown group",
                describe("never-formed", None),
                |r| expect("offsets", offsets(r)?, vec![]),
            );
        }
        ApiKey::AlterShareGroupOffsets => {
            let alter = |group_id: &str, topics: Vec<(&str, Vec<(i32, i64)>)>| {
                AlterShareGroupOffsetsRequest::default()
                    .with_group_id(group(group_id))
                    .with_topics(
                        topics
                            .into_iter()
                            .map(|(name, partitions)| {
                                alter_share_group_offsets_request::AlterShareGroupOffsetsRequestTopic::default()
                                    .with_topic_name(topic(name))
                                    .with_partitions(
                                        partitions
                                            .into_iter()
                                            .map(|(index, offset)| {
                                                alter_share_group_offsets_request::AlterShareGroupOffsetsRequestPartition::default()
                                                    .with_partition_index(index)
                                                    .with_start_offset(offset)
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    )
            };
            let request = alter(
                "offsets-alter",
                vec![(TOPIC, vec![(0, 2), (5, 0)]), (UNKNOWN_TOPIC, vec![(0, 0)])],
            );
            cx.case(
                api,
                v,
                "alter",
                request,
                |r: &AlterShareGroupOffsetsResponse| {
                    expect("error", r.error_code, NONE)?;
                    let errors: Vec<(String, i32, i16)> = r
                        .responses
                        .iter()
                        .flat_map(|t| {
                            t.partitions.iter().map(|p| {
                                (t.topic_name.to_string(), p.partition_index, p.error_code)
                            })
                        })
                        .collect();
                    expect(
                        "partitions",
                        errors,
                        vec![
                            (UNKNOWN_TOPIC.to_string(), 0, UNKNOWN_TOPIC_OR_PARTITION),
                            (TOPIC.to_string(), 0, NONE),
                            (TOPIC.to_string(), 5, UNKNOWN_TOPIC_OR_PARTITION),
                        ],
                    )
                },
            );
            // A member in the group: its offsets stay as they are.
            let joined: ShareGroupHeartbeatResponse = cx
                .call(
                    ApiKey::ShareGroupHeartbeat,
                    1,
                    &ShareGroupHeartbeatRequest::default()
                        .with_group_id(group("offsets-busy"))
                        .with_member_id(s(&Uuid::from_u128(0xb05e).to_string()))
                        .with_member_epoch(0)
                        .with_subscribed_topic_names(Some(vec![topic(TOPIC)])),
                )
                .expect("join a share group");
            assert_eq!(joined.error_code, NONE, "{joined:?}");
            let busy = alter("offsets-busy", vec![(TOPIC, vec![(0, 0)])]);
            cx.case(
                api,
                v,
                "non-empty group",
                busy,
                |r: &AlterShareGroupOffsetsResponse| {
                    expect("error", r.error_code, NON_EMPTY_GROUP)?;
                    expect(
                        "message",
                        r.error_message.as_deref(),
                        Some("The group is not empty."),
                    )?;
                    expect("topics", r.responses.len(), 0)
                },
            );
        }
        ApiKey::DeleteShareGroupOffsets => {
            alter_share_offsets(cx, "offsets-delete", 0, 1);
            let delete = |group_id: &str, topics: &[&str]| {
                DeleteShareGroupOffsetsRequest::default()
                    .with_group_id(group(group_id))
                    .with_topics(
                        topics
                            .iter()
                            .map(|name| {
                                delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic::default()
                                    .with_topic_name(topic(name))
                            })
                            .collect(),
                    )
            };
            let errors = |r: &DeleteShareGroupOffsetsResponse| -> Vec<(String, i16)> {
                r.responses
                    .iter()
                    .map(|t| (t.topic_name.to_string(), t.error_code))
                    .collect()
            };
            cx.case(
                api,
                v,
                "delete",
                delete("offsets-delete", &[TOPIC, UNKNOWN_TOPIC]),
                |r: &DeleteShareGroupOffsetsResponse| {
                    expect("error", r.error_code, NONE)?;
                    expect(
                        "topics",
                        errors(r),
                        vec![
                            (TOPIC.to_string(), NONE),
                            (UNKNOWN_TOPIC.to_string(), UNKNOWN_TOPIC_OR_PARTITION),
                        ],
                    )
                },
            );
            cx.case(
                api,
                v,
                "nothing left to delete",
                delete("offsets-delete", &[TOPIC]),
                |r: &DeleteShareGroupOffsetsResponse| {
                    expect(
                        "topics",
                        errors(r),
                        vec![(TOPIC.to_string(), UNKNOWN_TOPIC_OR_PARTITION)],
                    )?;
                    expect(
                        "message",
                        r.responses[0].error_message.as_deref(),
                        Some("There is no offset information to delete."),
                    )
                },
            );
            cx.case(
                api,
                v,
                "unknown group",
                delete("never-formed", &[TOPIC]),
                |r: &DeleteShareGroupOffsetsResponse| {
                    expect("error", r.error_code, GROUP_ID_NOT_FOUND)?;
                    expect(
                        "message",
                        r.error_message.as_deref(),
                        Some("Group never-formed not found."),
                    )
                },
            );
        }
        // A PLAINTEXT listener: the SASL APIs reach the handlers, which answer
        // ILLEGAL_SASL_STATE as Kafka's KafkaApis does.
        ApiKey::SaslHandshake => {
            for mechanism in ["PLAIN", "GSSAPI"] {
                cx.case(
                    api,
                    v,
                    mechanism,
                    SaslHandshakeRequest::default().with_mechanism(s(mechanism)),
                    |r: &SaslHandshakeResponse| expect("error", r.error_code, 34),
                );
            }
        }
        ApiKey::SaslAuthenticate => {
            for token in [&b"\0alice\0secret"[..], b""] {
                cx.case(
                    api,
                    v,
                    "a token",
                    SaslAuthenticateRequest::default()
                        .with_auth_bytes(Bytes::copy_from_slice(token)),
                    |r: &SaslAuthenticateResponse| expect("error", r.error_code, 34),
                );
            }
        }
        ApiKey::DescribeUserScramCredentials => {
            cx.case(
                api,
                v,
                "every user (none)",
                DescribeUserScramCredentialsRequest::default().with_users(None),
                |r: &DescribeUserScramCredentialsResponse| expect("results", r.results.len(), 0),
            );
            cx.case(
                api,
                v,
                "an unknown user",
                DescribeUserScramCredentialsRequest::default().with_users(Some(vec![
                    describe_user_scram_credentials_request::UserName::default()
                        .with_name(s("nobody")),
                ])),
                |r: &DescribeUserScramCredentialsResponse| {
                    expect("error", r.results[0].error_code, 91) // RESOURCE_NOT_FOUND
                },
            );
        }
        ApiKey::AlterUserScramCredentials => {
            use alter_user_scram_credentials_request::{
                ScramCredentialDeletion, ScramCredentialUpsertion,
            };
            cx.case(
                api,
                v,
                "too few iterations",
                AlterUserScramCredentialsRequest::default().with_upsertions(vec![
                    ScramCredentialUpsertion::default()
                        .with_name(s("alice"))
                        .with_mechanism(1)
                        .with_iterations(10),
                ]),
                |r: &AlterUserScramCredentialsResponse| {
                    expect("error", r.results[0].error_code, 93) // UNACCEPTABLE_CREDENTIAL
                },
            );
            cx.case(
                api,
                v,
                "delete an unknown credential",
                AlterUserScramCredentialsRequest::default().with_deletions(vec![
                    ScramCredentialDeletion::default()
                        .with_name(s("nobody"))
                        .with_mechanism(2),
                ]),
                |r: &AlterUserScramCredentialsResponse| {
                    expect("error", r.results[0].error_code, 91) // RESOURCE_NOT_FOUND
                },
            );
        }
        // This broker runs without an authorizer: Kafka's SECURITY_DISABLED (54) for every
        // binding and filter, nothing for an empty request.
        ApiKey::DescribeAcls => {
            for (label, resource_type) in [("any", 1), ("topics", 2)] {
                let request = DescribeAclsRequest::default()
                    .with_resource_type_filter(resource_type)
                    .with_pattern_type_filter(1)
                    .with_operation(1)
                    .with_permission_type(1);
                cx.case(api, v, label, request, |r: &DescribeAclsResponse| {
                    expect("error", r.error_code, 54)
                });
            }
        }
        ApiKey::CreateAcls => {
            let creation = create_acls_request::AclCreation::default()
                .with_resource_type(2)
                .with_resource_name(s(TOPIC))
                .with_resource_pattern_type(3)
                .with_principal(s("User:alice"))
                .with_host(s("*"))
                .with_operation(3)
                .with_permission_type(3);
            let request = CreateAclsRequest::default().with_creations(vec![creation]);
            cx.case(
                api,
                v,
                "no authorizer",
                request,
                |r: &CreateAclsResponse| expect("error", r.results[0].error_code, 54),
            );
            cx.case(
                api,
                v,
                "no creations",
                CreateAclsRequest::default(),
                |r: &CreateAclsResponse| expect("results", r.results.len(), 0),
            );
        }
        ApiKey::DeleteAcls => {
            let filter = delete_acls_request::DeleteAclsFilter::default()
                .with_resource_type_filter(1)
                .with_pattern_type_filter(1)
                .with_operation(1)
                .with_permission_type(1);
            let request = DeleteAclsRequest::default().with_filters(vec![filter]);
            cx.case(
                api,
                v,
                "no authorizer",
                request,
                |r: &DeleteAclsResponse| expect("error", r.filter_results[0].error_code, 54),
            );
            cx.case(
                api,
                v,
                "no filters",
                DeleteAclsRequest::default(),
                |r: &DeleteAclsResponse| expect("results", r.filter_results.len(), 0),
            );
        }
        other => panic!(
            "{other:?} is advertised but this test has no requests for it: add them to requests_for"
        ),
    }
}
