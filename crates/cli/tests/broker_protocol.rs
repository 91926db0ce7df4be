//! The broker over its wire protocol, from a raw socket: version negotiation, bad input,
//! topic administration, produce and fetch, long polls, persistence across restarts.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{batch, dir_names, BrokerProcess, Client};
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::RecordBatchDecoder;

/// Record timestamps must be recent, or retention (7 days by default) deletes them.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn create_topic(
    client: &mut Client,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> CreateTopicsResponse {
    let request = CreateTopicsRequest::default()
        .with_topics(vec![CreatableTopic::default()
            .with_name(name(topic))
            .with_num_partitions(partitions)
            .with_replication_factor(1)
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k.to_string()))
                            .with_value(Some(StrBytes::from_string(v.to_string())))
                    })
                    .collect(),
            )])
        .with_timeout_ms(5000);
    client.call(ApiKey::CreateTopics, 7, &request)
}

fn produce(
    client: &mut Client,
    topic: &str,
    partition: i32,
    records: Bytes,
    acks: i16,
) -> ProduceResponse {
    let request = ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    client.call(ApiKey::Produce, 9, &request)
}

fn fetch_request(
    topic: &str,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
    min_bytes: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(50 * 1024 * 1024)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1024 * 1024)])])
}

fn fetch(
    client: &mut Client,
    topic: &str,
    partition: i32,
    offset: i64,
) -> fetch_response::PartitionData {
    let response: FetchResponse = client.call(
        ApiKey::Fetch,
        12,
        &fetch_request(topic, partition, offset, 0, 0),
    );
    response.responses[0].partitions[0].clone()
}

fn values(records: &Bytes) -> Vec<(i64, String)> {
    let mut buf = records.clone();
    let mut out = Vec::new();
    for set in RecordBatchDecoder::decode_all(&mut buf).unwrap() {
        for r in set.records {
            out.push((
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            ));
        }
    }
    out
}

#[test]
fn api_versions_advertises_table_and_answers_unknown_version_with_v0() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    let response: ApiVersionsResponse = client.call(
        ApiKey::ApiVersions,
        3,
        &ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("rafka-test"))
            .with_client_software_version(StrBytes::from_static_str("1.0")),
    );
    assert_eq!(response.error_code, 0);
    let produce = response
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::Produce as i16)
        .unwrap();
    // Advertised from v0 as Kafka 4 does (KAFKA-18659), served from v3.
    assert_eq!((produce.min_version, produce.max_version), (0, 13));
    assert!(
        response
            .api_keys
            .iter()
            .all(|k| k.api_key != ApiKey::CreateDelegationToken as i16),
        "nothing unimplemented is advertised"
    );

    // A version from the future: the v0 answer with UNSUPPORTED_VERSION and, as Kafka's
    // ApiVersionsRequest.getErrorResponse, only ApiVersions' own range.
    // (The codec cannot encode v99, so the frame is written by hand: header v2, empty body.)
    let mut raw = vec![0, 18, 0, 99, 0, 0, 0, 77, 0, 1, b'x', 0];
    raw.extend_from_slice(&[1, 1, 0]);
    client.send_raw(&raw);
    let mut frame = client.read_frame().unwrap();
    let _header = ResponseHeader::decode(&mut frame, 0).unwrap();
    let response = ApiVersionsResponse::decode(&mut frame, 0).unwrap();
    assert_eq!(response.error_code, 35);
    let listed: Vec<(i16, i16, i16)> = response
        .api_keys
        .iter()
        .map(|k| (k.api_key, k.min_version, k.max_version))
        .collect();
    assert_eq!(listed, [(ApiKey::ApiVersions as i16, 0, 4)]);
}

use kafka_protocol::protocol::Decodable;

#[test]
fn malformed_and_oversized_frames_close_only_their_connection() {
    let broker = BrokerProcess::start(&[("socket.request.max.bytes", "1048576")]);
    let mut healthy = broker.connect();
    let mut truncated = broker.connect();
    truncated.send_raw(&[0, 3, 0]);
    assert!(truncated.is_closed());
    let mut garbage = broker.connect();
    garbage.send_raw(&[0x7f, 0x7f, 0, 1, 0, 0, 0, 1, 0xff, 0xff]);
    assert!(garbage.is_closed());
    let mut huge = broker.connect();
    use std::io::Write;
    huge.stream.write_all(&i32::MAX.to_be_bytes()).unwrap();
    assert!(huge.is_closed());
    // A metadata request claiming 2^31-1 topics in a few bytes.
    let mut liar = broker.connect();
    let mut body = vec![0, 3, 0, 4, 0, 0, 0, 9, 0, 0];
    body.extend_from_slice(&i32::MAX.to_be_bytes());
    liar.send_raw(&body);
    assert!(liar.is_closed());
    let response: MetadataResponse =
        healthy.call(ApiKey::Metadata, 12, &MetadataRequest::default());
    assert_eq!(response.brokers.len(), 1);
    assert_eq!(response.brokers[0].port, i32::from(broker.port));
}

#[test]
fn create_topics_validates_like_kafka() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    let ok = create_topic(&mut client, "orders", 3, &[("retention.ms", "1000")]);
    assert_eq!(
        ok.topics[0].error_code, 0,
        "{:?}",
        ok.topics[0].error_message
    );
    assert_eq!(ok.topics[0].num_partitions, 3);
    let again = create_topic(&mut client, "orders", 3, &[]);
    assert_eq!(again.topics[0].error_code, 36);
    assert_eq!(
        again.topics[0].error_message.as_deref(),
        Some("Topic 'orders' already exists.")
    );
    assert_eq!(
        create_topic(&mut client, "bad name", 1, &[]).topics[0].error_code,
        17
    );
    assert_eq!(
        create_topic(&mut client, &"x".repeat(250), 1, &[]).topics[0].error_code,
        17
    );
    assert_eq!(
        create_topic(&mut client, "zero", 0, &[]).topics[0].error_code,
        37
    );
    let bad_config = create_topic(&mut client, "cfg", 1, &[("retention.ms", "soon")]);
    assert_eq!(bad_config.topics[0].error_code, 40);
    assert!(bad_config.topics[0]
        .error_message
        .as_deref()
        .unwrap()
        .contains("retention.ms"));
    let rf = CreateTopicsRequest::default().with_topics(vec![CreatableTopic::default()
        .with_name(name("rf3"))
        .with_num_partitions(1)
        .with_replication_factor(3)]);
    let rf: CreateTopicsResponse = client.call(ApiKey::CreateTopics, 7, &rf);
    assert_eq!(rf.topics[0].error_code, 38);
    let message = rf.topics[0].error_message.as_deref().unwrap().to_string();
    assert!(
        message.contains('3') && message.contains("only 1 broker"),
        "{message}"
    );
    assert_eq!(
        dir_names(&broker.data_dir())
            .iter()
            .filter(|n| n.starts_with("orders-"))
            .count(),
        3
    );
}

#[test]
fn produce_then_fetch_returns_the_batches_with_offsets_assigned() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    create_topic(&mut client, "t", 1, &[]);
    let first = produce(
        &mut client,
        "t",
        0,
        batch(&["a", "b", "c"], now_ms() + 1_000),
        1,
    );
    let p = &first.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 0));
    let second = produce(
        &mut client,
        "t",
        0,
        batch(&["d", "e"], now_ms() + 2_000),
        -1,
    );
    assert_eq!(second.responses[0].partition_responses[0].base_offset, 3);
    let data = fetch(&mut client, "t", 0, 0);
    assert_eq!(data.error_code, 0);
    assert_eq!(data.high_watermark, 5);
    let got = values(data.records.as_ref().unwrap());
    assert_eq!(
        got,
        vec![
            (0, "a".into()),
            (1, "b".into()),
            (2, "c".into()),
            (3, "d".into()),
            (4, "e".into())
        ]
    );
    // Fetching mid-batch returns the containing batch; the client skips the rest.
    let mid = values(fetch(&mut client, "t", 0, 4).records.as_ref().unwrap());
    assert_eq!(mid, vec![(3, "d".into()), (4, "e".into())]);
    // Past the end: OFFSET_OUT_OF_RANGE.
    assert_eq!(fetch(&mut client, "t", 0, 6).error_code, 1);
    // Unknown topic and partition.
    let unknown = produce(&mut client, "nope", 0, batch(&["x"], 0), 1);
    assert_eq!(unknown.responses[0].partition_responses[0].error_code, 3);
    let unknown = produce(&mut client, "t", 7, batch(&["x"], 0), 1);
    assert_eq!(unknown.responses[0].partition_responses[0].error_code, 3);
    // A corrupted batch is refused with CORRUPT_MESSAGE and changes nothing.
    let mut corrupt = batch(&["z"], 0).to_vec();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let refused = produce(&mut client, "t", 0, Bytes::from(corrupt), 1);
    assert_eq!(refused.responses[0].partition_responses[0].error_code, 2);
    assert_eq!(fetch(&mut client, "t", 0, 0).high_watermark, 5);
}

#[test]
fn acks_zero_gets_no_response_but_is_appended() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    create_topic(&mut client, "quiet", 1, &[]);
    let request = ProduceRequest::default()
        .with_acks(0)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(name("quiet"))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch(&["silent"], now_ms() + 5)))])]);
    client.send(ApiKey::Produce, 9, &request);
    // The next answer on this connection is the fetch's, proving no produce answer came.
    let data = fetch(&mut client, "quiet", 0, 0);
    assert_eq!(
        values(data.records.as_ref().unwrap()),
        vec![(0, "silent".into())]
    );
}

#[test]
fn fetch_long_poll_is_woken_by_an_append() {
    let broker = BrokerProcess::start(&[]);
    let mut setup = broker.connect();
    create_topic(&mut setup, "poll", 1, &[]);
    let mut waiter = broker.connect();
    let started = Instant::now();
    waiter.send(ApiKey::Fetch, 12, &fetch_request("poll", 0, 0, 20_000, 1));
    produce(&mut setup, "poll", 0, batch(&["wake"], now_ms() + 7), 1);
    let mut frame = waiter.read_frame().unwrap();
    let _ = ResponseHeader::decode(&mut frame, ApiKey::Fetch.response_header_version(12)).unwrap();
    let response = FetchResponse::decode(&mut frame, 12).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "woken by the append, not the timeout"
    );
    let data = &response.responses[0].partitions[0];
    assert_eq!(
        values(data.records.as_ref().unwrap()),
        vec![(0, "wake".into())]
    );
}

#[test]
fn list_offsets_and_delete_records_move_the_low_watermark() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    create_topic(&mut client, "lo", 1, &[]);
    let t = now_ms() - 60_000;
    produce(&mut client, "lo", 0, batch(&["a", "b"], t + 1_000), 1);
    produce(&mut client, "lo", 0, batch(&["c", "d"], t + 5_000), 1);
    let list = |client: &mut Client, ts: i64| -> (i64, i64) {
        let request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name("lo"))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(ts)])]);
        let response: ListOffsetsResponse = client.call(ApiKey::ListOffsets, 8, &request);
        let p = &response.topics[0].partitions[0];
        assert_eq!(p.error_code, 0);
        (p.offset, p.timestamp)
    };
    assert_eq!(list(&mut client, -2).0, 0);
    assert_eq!(list(&mut client, -1).0, 4);
    assert_eq!(list(&mut client, t + 1_001), (1, t + 1_001));
    assert_eq!(list(&mut client, t + 4_000), (2, t + 5_000));
    assert_eq!(list(&mut client, t + 9_000), (-1, -1));
    assert_eq!(list(&mut client, -3), (3, t + 5_001));

    let request = DeleteRecordsRequest::default().with_topics(vec![
        delete_records_request::DeleteRecordsTopic::default()
            .with_name(name("lo"))
            .with_partitions(vec![
                delete_records_request::DeleteRecordsPartition::default()
                    .with_partition_index(0)
                    .with_offset(2),
            ]),
    ]);
    let response: DeleteRecordsResponse = client.call(ApiKey::DeleteRecords, 2, &request);
    assert_eq!(response.topics[0].partitions[0].low_watermark, 2);
    assert_eq!(list(&mut client, -2).0, 2);
    assert_eq!(fetch(&mut client, "lo", 0, 0).error_code, 1);
    // It survives a crash.
    let mut broker = broker;
    broker.kill9();
    broker.restart();
    let mut client = broker.connect();
    assert_eq!(list(&mut client, -2).0, 2);
    assert_eq!(list(&mut client, -1).0, 4);
}

#[test]
fn delete_topic_removes_its_directories_and_the_name_is_reusable() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    create_topic(&mut client, "gone", 2, &[]);
    produce(&mut client, "gone", 0, batch(&["old"], now_ms() + 1), 1);
    let request = DeleteTopicsRequest::default()
        .with_topic_names(vec![name("gone")])
        .with_timeout_ms(5000);
    let response: DeleteTopicsResponse = client.call(ApiKey::DeleteTopics, 5, &request);
    assert_eq!(response.responses[0].error_code, 0);
    assert!(dir_names(&broker.data_dir())
        .iter()
        .all(|n| !n.starts_with("gone-")));
    assert_eq!(
        create_topic(&mut client, "gone", 1, &[]).topics[0].error_code,
        0
    );
    assert_eq!(fetch(&mut client, "gone", 0, 0).high_watermark, 0);
}

#[test]
fn topics_and_records_survive_clean_restart_and_kill9() {
    let mut broker = BrokerProcess::start(&[
        ("log.segment.bytes", "1024"),
        ("log.flush.offset.checkpoint.interval.ms", "1000"),
    ]);
    let mut client = broker.connect();
    create_topic(&mut client, "durable", 1, &[]);
    let mut expected = Vec::new();
    for i in 0..40 {
        let value = format!("value-{i:03}-{}", "x".repeat(40));
        produce(&mut client, "durable", 0, batch(&[&value], now_ms()), 1);
        expected.push((i, value));
    }
    assert!(
        dir_names(&broker.data_dir().join("durable-0"))
            .iter()
            .filter(|n| n.ends_with(".log"))
            .count()
            > 1,
        "small segments rolled"
    );
    // Rolled segments are flushed and the recovery point checkpointed past them, so a
    // crash recovers only the newest segment.
    let checkpoint = broker.data_dir().join("recovery-point-offset-checkpoint");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&checkpoint).unwrap_or_default();
        let point = text
            .lines()
            .find_map(|l| l.strip_prefix("durable 0 "))
            .and_then(|o| o.trim().parse::<i64>().ok())
            .unwrap_or(0);
        if point > 0 {
            assert!(point <= 40, "recovery point {point} beyond the log end");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "recovery point never checkpointed: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(broker.stop(), Some(0), "clean exit on SIGTERM");
    broker.restart();
    let read_all = |broker: &BrokerProcess| {
        let mut client = broker.connect();
        let mut got = Vec::new();
        let mut offset = 0;
        while offset < 40 {
            let data = fetch(&mut client, "durable", 0, offset);
            let batch = values(data.records.as_ref().unwrap());
            offset = batch.last().unwrap().0 + 1;
            got.extend(batch);
        }
        got
    };
    assert_eq!(read_all(&broker), expected);
    broker.kill9();
    broker.restart();
    assert_eq!(read_all(&broker), expected);
}

#[test]
fn retention_deletes_old_segments_and_advances_the_log_start_offset() {
    let broker = BrokerProcess::start(&[
        ("log.retention.check.interval.ms", "100"),
        ("log.segment.bytes", "200"),
    ]);
    let mut client = broker.connect();
    create_topic(&mut client, "old", 1, &[("retention.ms", "3600000")]);
    let two_hours_ago = now_ms() - 2 * 3_600_000;
    for _ in 0..5 {
        produce(
            &mut client,
            "old",
            0,
            batch(&[&"x".repeat(150)], two_hours_ago),
            1,
        );
    }
    produce(&mut client, "old", 0, batch(&["fresh"], now_ms()), 1);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let data = fetch(&mut client, "old", 0, 5);
        if data.log_start_offset == 5 {
            assert_eq!(
                values(data.records.as_ref().unwrap()),
                vec![(5, "fresh".into())]
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "retention never ran: {}",
            data.log_start_offset
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let segments = dir_names(&broker.data_dir().join("old-0"));
    assert!(
        segments
            .iter()
            .all(|n| !n.starts_with("00000000000000000000")),
        "{segments:?}"
    );
}
