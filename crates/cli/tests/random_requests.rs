//! Random valid requests, at random advertised versions, against a real broker.
//!
//! `every_version.rs` sends chosen requests; this sends what proptest makes up: topic
//! names that exist, do not exist or are invalid, partitions and offsets out of range,
//! made-up member ids and generations, odd timestamps and limits. Every request is one a
//! client could legally send at its version. Whatever it asks, the broker must answer
//! (a request it cannot answer closes the connection, which is a failure here), with a
//! frame that decodes at that version, carries the request's correlation id and has no
//! bytes left over; and the broker must still be running at the end. On failure
//! proptest prints the shrunk request; `PROPTEST_CASES` runs more cases.

mod common;

use bytes::Bytes;
use common::{create_topic, produce_values, s, BrokerProcess, Client};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const TOPIC: &str = "random-requests";

/// Topic names a client might send: the existing one, an unknown one, invalid ones.
fn topic_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(TOPIC.to_string()),
        1 => Just("no-such-topic".to_string()),
        1 => Just("..".to_string()),
        1 => Just("bad/name".to_string()),
        1 => "[a-z]{1,8}",
    ]
}

fn partition() -> impl Strategy<Value = i32> {
    prop_oneof![4 => 0..3i32, 1 => Just(-1), 1 => Just(1000)]
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![3 => 0..10i64, 1 => Just(-1i64), 1 => Just(i64::MAX), 1 => Just(1_000_000)]
}

fn group_id() -> impl Strategy<Value = String> {
    prop_oneof![Just("random-group".to_string()), "[a-z]{0,6}"]
}

fn member_id() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z0-9-]{1,12}"]
}

/// One request: its API, a version within `versions` of that API, and the encoded body.
#[derive(Debug, Clone)]
struct Generated {
    api: ApiKey,
    version: i16,
    body: Bytes,
}

fn encode<T: Encodable>(api: ApiKey, version: i16, request: &T) -> Generated {
    let mut body = bytes::BytesMut::new();
    request
        .encode(&mut body, version)
        .unwrap_or_else(|e| panic!("generator made an invalid {api:?} v{version}: {e}"));
    Generated {
        api,
        version,
        body: body.freeze(),
    }
}

/// A random request of one of the APIs a client sends most, at a version from `range`.
fn request(ranges: Vec<(ApiKey, i16, i16)>) -> impl Strategy<Value = Generated> {
    let pick = proptest::sample::select(ranges);
    (
        pick,
        any::<u16>(),
        topic_name(),
        partition(),
        offset(),
        group_id(),
        member_id(),
        -2..5i32,
        any::<bool>(),
    )
        .prop_map(
            |((api, min, max), seed, name, partition, offset, group, member, generation, flag)| {
                let span = (max - min + 1) as u16;
                let v = min + (seed % span) as i16;
                build(
                    api, v, &name, partition, offset, &group, &member, generation, flag,
                )
            },
        )
}

#[allow(clippy::too_many_arguments)]
fn build(
    api: ApiKey,
    v: i16,
    name: &str,
    partition: i32,
    offset: i64,
    group: &str,
    member: &str,
    generation: i32,
    flag: bool,
) -> Generated {
    let topic = TopicName(s(name));
    match api {
        ApiKey::Metadata => {
            let mut request = MetadataRequest::default().with_topics(if flag && v >= 1 {
                None
            } else {
                Some(vec![
                    metadata_request::MetadataRequestTopic::default().with_name(Some(topic))
                ])
            });
            if v >= 4 {
                request = request.with_allow_auto_topic_creation(false);
            }
            encode(api, v, &request)
        }
        ApiKey::ListOffsets => {
            let mut p = list_offsets_request::ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_timestamp(if flag { -offset.rem_euclid(7) } else { offset });
            if v >= 4 {
                p = p.with_current_leader_epoch(generation);
            }
            let mut request = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                    .with_name(topic)
                    .with_partitions(vec![p])]);
            if v >= 2 {
                request = request.with_isolation_level(i8::from(flag));
            }
            encode(api, v, &request)
        }
        ApiKey::Fetch => {
            let mut p = fetch_request::FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(if flag { 1 } else { 1 << 16 });
            if v >= 9 {
                p = p.with_current_leader_epoch(generation);
            }
            let mut t = fetch_request::FetchTopic::default().with_partitions(vec![p]);
            // From v13 topics go by id; a made-up one is UNKNOWN_TOPIC_ID.
            t = if v >= 13 {
                t.with_topic_id(uuid::Uuid::from_u128(offset as u128))
            } else {
                t.with_topic(topic)
            };
            let mut request = FetchRequest::default()
                .with_max_wait_ms(0)
                .with_min_bytes(0)
                .with_max_bytes(if flag { 1 } else { 1 << 20 })
                .with_topics(vec![t]);
            if v < 15 {
                request = request.with_replica_id(BrokerId(-1));
            }
            if v >= 4 {
                request = request.with_isolation_level(i8::from(flag));
            }
            if v >= 7 {
                request = request.with_session_epoch(-1);
            }
            encode(api, v, &request)
        }
        ApiKey::OffsetForLeaderEpoch => {
            let mut p = offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                .with_partition(partition)
                .with_leader_epoch(generation);
            if v >= 2 {
                p = p.with_current_leader_epoch(-1);
            }
            let mut request = OffsetForLeaderEpochRequest::default().with_topics(vec![
                offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                    .with_topic(topic)
                    .with_partitions(vec![p]),
            ]);
            if v >= 3 {
                request = request.with_replica_id(BrokerId(-1));
            }
            encode(api, v, &request)
        }
        ApiKey::OffsetCommit => {
            let mut p = offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(partition)
                .with_committed_offset(offset)
                .with_committed_metadata(Some(s(member)));
            if v >= 6 {
                p = p.with_committed_leader_epoch(-1);
            }
            let mut request = OffsetCommitRequest::default()
                .with_group_id(GroupId(s(group)))
                .with_generation_id_or_member_epoch(generation)
                .with_member_id(s(member))
                .with_topics(vec![
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(topic)
                        .with_partitions(vec![p]),
                ]);
            if (2..=4).contains(&v) {
                request = request.with_retention_time_ms(-1);
            }
            encode(api, v, &request)
        }
        ApiKey::OffsetFetch => {
            let request = if v >= 8 {
                OffsetFetchRequest::default().with_groups(vec![
                    offset_fetch_request::OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(s(group)))
                        .with_topics((!flag).then(|| {
                            vec![offset_fetch_request::OffsetFetchRequestTopics::default()
                                .with_name(topic)
                                .with_partition_indexes(vec![partition])]
                        })),
                ])
            } else {
                OffsetFetchRequest::default()
                    .with_group_id(GroupId(s(group)))
                    .with_topics((!flag || v < 2).then(|| {
                        vec![offset_fetch_request::OffsetFetchRequestTopic::default()
                            .with_name(topic)
                            .with_partition_indexes(vec![partition])]
                    }))
            };
            encode(api, v, &request)
        }
        ApiKey::Heartbeat => encode(
            api,
            v,
            &HeartbeatRequest::default()
                .with_group_id(GroupId(s(group)))
                .with_generation_id(generation)
                .with_member_id(s(member)),
        ),
        ApiKey::LeaveGroup => {
            let request = if v >= 3 {
                LeaveGroupRequest::default()
                    .with_group_id(GroupId(s(group)))
                    .with_members(vec![
                        leave_group_request::MemberIdentity::default().with_member_id(s(member))
                    ])
            } else {
                LeaveGroupRequest::default()
                    .with_group_id(GroupId(s(group)))
                    .with_member_id(s(member))
            };
            encode(api, v, &request)
        }
        ApiKey::DescribeGroups => encode(
            api,
            v,
            &DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))]),
        ),
        ApiKey::FindCoordinator => {
            let request = if v >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![s(group)])
            } else {
                FindCoordinatorRequest::default().with_key(s(group))
            };
            encode(api, v, &request)
        }
        ApiKey::DeleteRecords => encode(
            api,
            v,
            &DeleteRecordsRequest::default()
                .with_timeout_ms(1000)
                .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
                    .with_name(topic)
                    .with_partitions(vec![
                        delete_records_request::DeleteRecordsPartition::default()
                            .with_partition_index(partition)
                            .with_offset(offset.min(0)),
                    ])]),
        ),
        ApiKey::DescribeConfigs => {
            let mut request = DescribeConfigsRequest::default().with_resources(vec![
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(if flag { 2 } else { 4 })
                    .with_resource_name(s(if flag { name } else { "1" })),
            ]);
            request = request.with_include_synonyms(flag);
            encode(api, v, &request)
        }
        ApiKey::CreatePartitions => encode(
            api,
            v,
            &CreatePartitionsRequest::default()
                .with_timeout_ms(1000)
                .with_validate_only(true)
                .with_topics(vec![
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(topic)
                        .with_count(partition)
                        .with_assignments(None),
                ]),
        ),
        ApiKey::CreateTopics => encode(
            api,
            v,
            &CreateTopicsRequest::default()
                .with_timeout_ms(1000)
                .with_validate_only(true)
                .with_topics(vec![create_topics_request::CreatableTopic::default()
                    .with_name(topic)
                    .with_num_partitions(partition)
                    .with_replication_factor(generation as i16)]),
        ),
        ApiKey::DescribeTopicPartitions => encode(
            api,
            v,
            &DescribeTopicPartitionsRequest::default()
                .with_response_partition_limit(partition)
                .with_topics(vec![
                    describe_topic_partitions_request::TopicRequest::default().with_name(topic),
                ]),
        ),
        ApiKey::ConsumerGroupHeartbeat => encode(
            api,
            v,
            &ConsumerGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s(group)))
                .with_member_id(s(member))
                .with_member_epoch(generation)
                .with_rebalance_timeout_ms(10_000)
                // The regex subscription exists from v1.
                .with_subscribed_topic_names((flag || v == 0).then(|| vec![topic]))
                .with_subscribed_topic_regex((!flag && v >= 1).then(|| s(name)))
                .with_topic_partitions(Some(vec![])),
        ),
        other => unreachable!("no generator for {other:?}"),
    }
}

/// The APIs generated, as (API, lowest, highest) of what the broker advertises.
fn generated_ranges(client: &mut Client) -> Vec<(ApiKey, i16, i16)> {
    const GENERATED: &[ApiKey] = &[
        ApiKey::Metadata,
        ApiKey::ListOffsets,
        ApiKey::Fetch,
        ApiKey::OffsetForLeaderEpoch,
        ApiKey::OffsetCommit,
        ApiKey::OffsetFetch,
        ApiKey::Heartbeat,
        ApiKey::LeaveGroup,
        ApiKey::DescribeGroups,
        ApiKey::FindCoordinator,
        ApiKey::DeleteRecords,
        ApiKey::DescribeConfigs,
        ApiKey::CreatePartitions,
        ApiKey::CreateTopics,
        ApiKey::DescribeTopicPartitions,
        ApiKey::ConsumerGroupHeartbeat,
    ];
    let versions: ApiVersionsResponse = client.call(
        ApiKey::ApiVersions,
        3,
        &ApiVersionsRequest::default()
            .with_client_software_name(s("rafka-test"))
            .with_client_software_version(s("1.0")),
    );
    let ranges: Vec<(ApiKey, i16, i16)> = versions
        .api_keys
        .iter()
        .filter_map(|k| {
            let key = ApiKey::try_from(k.api_key).ok()?;
            GENERATED
                .contains(&key)
                .then_some((key, k.min_version, k.max_version))
        })
        .collect();
    assert_eq!(ranges.len(), GENERATED.len(), "advertised: {versions:?}");
    ranges
}

/// Sends one generated request; the answer must be a whole, decodable response.
fn exchange(client: &mut Client, request: &Generated) -> Result<(), String> {
    let correlation_id = 77;
    let header = RequestHeader::default()
        .with_request_api_key(request.api as i16)
        .with_request_api_version(request.version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(s("rafka-random")));
    let mut frame = bytes::BytesMut::new();
    header
        .encode(
            &mut frame,
            request.api.request_header_version(request.version),
        )
        .map_err(|e| e.to_string())?;
    frame.extend_from_slice(&request.body);
    client.send_raw(&frame);
    let mut answer = client
        .read_frame()
        .ok_or("the broker closed the connection instead of answering")?;
    let header_version = request.api.response_header_version(request.version);
    let header = ResponseHeader::decode(&mut answer, header_version).map_err(|e| e.to_string())?;
    if header.correlation_id != correlation_id {
        return Err(format!("correlation id {}", header.correlation_id));
    }
    let decoded = match request.api {
        ApiKey::Metadata => decode::<MetadataResponse>(&mut answer, request.version),
        ApiKey::ListOffsets => decode::<ListOffsetsResponse>(&mut answer, request.version),
        ApiKey::Fetch => decode::<FetchResponse>(&mut answer, request.version),
        ApiKey::OffsetForLeaderEpoch => {
            decode::<OffsetForLeaderEpochResponse>(&mut answer, request.version)
        }
        ApiKey::OffsetCommit => decode::<OffsetCommitResponse>(&mut answer, request.version),
        ApiKey::OffsetFetch => decode::<OffsetFetchResponse>(&mut answer, request.version),
        ApiKey::Heartbeat => decode::<HeartbeatResponse>(&mut answer, request.version),
        ApiKey::LeaveGroup => decode::<LeaveGroupResponse>(&mut answer, request.version),
        ApiKey::DescribeGroups => decode::<DescribeGroupsResponse>(&mut answer, request.version),
        ApiKey::FindCoordinator => decode::<FindCoordinatorResponse>(&mut answer, request.version),
        ApiKey::DeleteRecords => decode::<DeleteRecordsResponse>(&mut answer, request.version),
        ApiKey::DescribeConfigs => decode::<DescribeConfigsResponse>(&mut answer, request.version),
        ApiKey::CreatePartitions => {
            decode::<CreatePartitionsResponse>(&mut answer, request.version)
        }
        ApiKey::CreateTopics => decode::<CreateTopicsResponse>(&mut answer, request.version),
        ApiKey::DescribeTopicPartitions => {
            decode::<DescribeTopicPartitionsResponse>(&mut answer, request.version)
        }
        ApiKey::ConsumerGroupHeartbeat => {
            decode::<ConsumerGroupHeartbeatResponse>(&mut answer, request.version)
        }
        other => unreachable!("{other:?}"),
    };
    decoded?;
    if !answer.is_empty() {
        return Err(format!("{} bytes after the response body", answer.len()));
    }
    Ok(())
}

fn decode<T: Decodable>(answer: &mut Bytes, version: i16) -> Result<(), String> {
    T::decode(answer, version)
        .map(|_| ())
        .map_err(|e| format!("response body: {e}"))
}

#[test]
fn random_valid_requests_are_all_answered() {
    let mut broker = BrokerProcess::start(&[
        ("num.partitions", "3"),
        ("auto.create.topics.enable", "false"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "1"),
    ]);
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 3);
    produce_values(&mut client, TOPIC, 0, &["a", "b"]);
    let ranges = generated_ranges(&mut client);

    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(400);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let port = broker.port;
    let result = runner.run(&request(ranges), |generated| {
        // A fresh connection per case: a failure must not leave the next one reading a
        // stale answer.
        let mut client = Client::connect(port);
        exchange(&mut client, &generated).map_err(|e| {
            TestCaseError::fail(format!("{:?} v{}: {e}", generated.api, generated.version))
        })
    });
    if let Err(e) = result {
        panic!("{e}\n---- broker log ----\n{}", broker.log());
    }
    // Nothing it was sent took the broker down.
    assert_eq!(broker.stop(), Some(0), "{}", broker.log());
}
