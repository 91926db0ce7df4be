//! Pipelined connections: a client may send requests without waiting for the answers
//! (librdkafka and the Java producer do). The broker handles them concurrently, so one
//! request's wait (a long poll, the ISR) holds back no other's handling, yet it answers
//! strictly in request order and appends a connection's batches in request order.

mod common;

use bytes::{Buf, Bytes};
use common::{batch, create_topic, now_ms, s, BrokerProcess, Client};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;
use kafka_protocol::records::RecordBatchDecoder;

fn produce_request(topic: &str, values: &[&str]) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(s(topic)))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch(values, now_ms())))])])
}

fn fetch_request(topic: &str, offset: i64, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1024 * 1024)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(s(topic)))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1024 * 1024)])])
}

/// ApiVersions v3 names its client (Kafka refuses an empty name).
fn api_versions() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
        .with_client_software_name(s("rafka-test"))
        .with_client_software_version(s("1.0"))
}

/// The next response frame's correlation id and body, decoded as `Resp`.
fn read<Resp: Decodable>(client: &mut Client, api_key: ApiKey, version: i16) -> (i32, Resp) {
    let mut frame = client.read_frame().expect("a response frame");
    let header =
        ResponseHeader::decode(&mut frame, api_key.response_header_version(version)).unwrap();
    let body = Resp::decode(&mut frame, version).expect("decodable response");
    (header.correlation_id, body)
}

fn values_of(records: &Bytes) -> Vec<String> {
    let mut bytes = records.clone();
    let mut values = Vec::new();
    while bytes.has_remaining() {
        let set = RecordBatchDecoder::decode(&mut bytes).expect("record batches");
        values.extend(
            set.records.into_iter().map(|r| {
                String::from_utf8(r.value.expect("a value").to_vec()).expect("UTF-8 value")
            }),
        );
    }
    values
}

#[test]
fn a_long_poll_does_not_hold_back_the_next_request_of_its_connection() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    create_topic(&mut client, "pipe", 1);
    // A fetch that waits up to a minute for data, then, on the same connection without
    // waiting for its answer, the produce that brings the data. Served one after the
    // other, the fetch would answer empty after a minute (and the test time out first).
    let fetch_id = client.send(ApiKey::Fetch, 12, &fetch_request("pipe", 0, 60_000));
    let produce_id = client.send(ApiKey::Produce, 9, &produce_request("pipe", &["a", "b"]));

    let (id, fetched): (i32, FetchResponse) = read(&mut client, ApiKey::Fetch, 12);
    assert_eq!(
        id, fetch_id,
        "the fetch is answered first: it was asked first"
    );
    let partition = &fetched.responses[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    assert_eq!(partition.high_watermark, 2);
    let records = partition.records.clone().expect("records");
    assert_eq!(values_of(&records), ["a", "b"]);

    let (id, produced): (i32, ProduceResponse) = read(&mut client, ApiKey::Produce, 9);
    assert_eq!(id, produce_id);
    let answer = &produced.responses[0].partition_responses[0];
    assert_eq!((answer.error_code, answer.base_offset), (0, 0));
}

#[test]
fn pipelined_requests_are_answered_and_appended_in_request_order() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    create_topic(&mut client, "order", 1);
    // 40 requests of three APIs, none waiting for an answer; the produces each append
    // one value.
    let mut sent = Vec::new();
    for i in 0..40 {
        let id = match i % 3 {
            0 => client.send(
                ApiKey::Produce,
                9,
                &produce_request("order", &[&format!("v{i}")]),
            ),
            1 => client.send(
                ApiKey::Metadata,
                12,
                &MetadataRequest::default().with_topics(None),
            ),
            _ => client.send(ApiKey::ApiVersions, 3, &api_versions()),
        };
        sent.push((i, id));
    }
    let mut produced_offsets = Vec::new();
    for (i, id) in sent {
        let answered = match i % 3 {
            0 => {
                let (answered, response): (i32, ProduceResponse) =
                    read(&mut client, ApiKey::Produce, 9);
                let partition = &response.responses[0].partition_responses[0];
                assert_eq!(partition.error_code, 0);
                produced_offsets.push(partition.base_offset);
                answered
            }
            1 => read::<MetadataResponse>(&mut client, ApiKey::Metadata, 12).0,
            _ => read::<ApiVersionsResponse>(&mut client, ApiKey::ApiVersions, 3).0,
        };
        assert_eq!(answered, id, "request {i} answered out of order");
    }
    assert_eq!(produced_offsets, (0..14).collect::<Vec<i64>>());
    // The log holds the values in the order they were sent.
    let fetched: FetchResponse = client.call(ApiKey::Fetch, 12, &fetch_request("order", 0, 0));
    let records = fetched.responses[0].partitions[0].records.clone().unwrap();
    let expected: Vec<String> = (0..40).step_by(3).map(|i| format!("v{i}")).collect();
    assert_eq!(values_of(&records), expected);
}

#[test]
fn a_malformed_request_behind_pipelined_ones_closes_the_connection_after_their_answers() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    let ids: Vec<i32> = (0..3)
        .map(|_| client.send(ApiKey::ApiVersions, 3, &api_versions()))
        .collect();
    // A frame too short to hold a request header.
    client.send_raw(&[0, 18]);
    for id in ids {
        let (answered, response): (i32, ApiVersionsResponse) =
            read(&mut client, ApiKey::ApiVersions, 3);
        assert_eq!((answered, response.error_code), (id, 0));
    }
    assert!(
        client.is_closed(),
        "the malformed request closes its connection"
    );
    // Other connections are served as before.
    let mut other = broker.connect();
    let answer: ApiVersionsResponse = other.call(ApiKey::ApiVersions, 3, &api_versions());
    assert_eq!(answer.error_code, 0);
}
