//! Transactions as readers see them, on the wire: transactional batches, the markers
//! WriteTxnMarkers writes, the last stable offset in Fetch and ListOffsets, and the aborted
//! transactions a read_committed Fetch names, in every Fetch version that has them.

mod common;

use bytes::Bytes;
use common::{
    create_topic, encode_batch, init_producer_id, latest_offset, now_ms, produce_records,
    producer_batch_of, s, write_marker, BrokerProcess, Client,
};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::records::{Record, RecordBatchDecoder, TimestampType};

const TOPIC: &str = "txn-reads";
const READ_UNCOMMITTED: i8 = 0;
const READ_COMMITTED: i8 = 1;

fn batch(pid: i64, epoch: i16, seq: i32, values: &[&str], transactional: bool) -> Bytes {
    let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    producer_batch_of(pid, epoch, seq, &values, transactional)
}

fn fetch(
    client: &mut Client,
    version: i16,
    topic_id: uuid::Uuid,
    offset: i64,
    isolation: i8,
) -> PartitionData {
    let mut topic = FetchTopic::default().with_partitions(vec![FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(offset)
        .with_partition_max_bytes(1024 * 1024)]);
    topic = if version >= 13 {
        topic.with_topic_id(topic_id)
    } else {
        topic.with_topic(TopicName(s(TOPIC)))
    };
    let response: FetchResponse = client.call(
        ApiKey::Fetch,
        version,
        &FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(0)
            .with_max_bytes(50 * 1024 * 1024)
            .with_isolation_level(isolation)
            .with_session_epoch(-1)
            .with_topics(vec![topic]),
    );
    let data = response.responses[0].partitions[0].clone();
    assert_eq!(data.error_code, 0, "v{version}: {data:?}");
    data
}

/// (offset, value) of the data records, and how many control batches came along.
fn read(data: &PartitionData) -> (Vec<(i64, String)>, usize) {
    let mut buf = data.records.clone().unwrap_or_default();
    let mut values = Vec::new();
    let mut controls = 0;
    for set in RecordBatchDecoder::decode_all(&mut buf).unwrap() {
        for r in set.records {
            if r.control {
                controls += 1;
            } else {
                values.push((
                    r.offset,
                    String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
                ));
            }
        }
    }
    (values, controls)
}

fn produce_ok(client: &mut Client, records: Bytes) -> i64 {
    let response = produce_records(client, TOPIC, 0, records);
    assert_eq!(response.error_code, 0, "{response:?}");
    response.base_offset
}

#[test]
fn read_committed_stops_at_open_transactions_and_names_the_aborted_ones() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    let topic_id = create_topic(&mut client, TOPIC, 1);
    let plain = init_producer_id(&mut client, None).0;
    let txn = init_producer_id(&mut client, None).0;

    assert_eq!(
        produce_ok(&mut client, batch(plain, 0, 0, &["p0", "p1"], false)),
        0
    );
    assert_eq!(
        produce_ok(&mut client, batch(txn, 0, 0, &["a0", "a1", "a2"], true)),
        2
    );
    // The transaction is open: read_committed readers stop at its first offset.
    assert_eq!(latest_offset(&mut client, TOPIC, 0, READ_COMMITTED), 2);
    assert_eq!(latest_offset(&mut client, TOPIC, 0, READ_UNCOMMITTED), 5);
    for version in [4, 11, 12, 13, 18] {
        let committed = fetch(&mut client, version, topic_id, 0, READ_COMMITTED);
        assert_eq!(committed.last_stable_offset, 2, "v{version}");
        assert_eq!(committed.high_watermark, 5, "v{version}");
        assert_eq!(
            read(&committed).0.len(),
            2,
            "v{version}: only the plain records"
        );
        assert_eq!(committed.aborted_transactions, Some(vec![]), "v{version}");
        let uncommitted = fetch(&mut client, version, topic_id, 0, READ_UNCOMMITTED);
        assert_eq!(uncommitted.last_stable_offset, 2, "v{version}");
        assert_eq!(read(&uncommitted).0.len(), 5, "v{version}");
        assert_eq!(uncommitted.aborted_transactions, None, "v{version}");
        // Fetching at the last stable offset: nothing, and an empty (not null) list.
        let at_lso = fetch(&mut client, version, topic_id, 2, READ_COMMITTED);
        assert!(read(&at_lso).0.is_empty());
        assert_eq!(at_lso.aborted_transactions, Some(vec![]), "v{version}");
    }

    // Aborted at offset 5; then a second transaction is committed at 7.
    assert_eq!(write_marker(&mut client, (TOPIC, 0), (txn, 0), false, 0), 0);
    assert_eq!(latest_offset(&mut client, TOPIC, 0, READ_COMMITTED), 6);
    assert_eq!(produce_ok(&mut client, batch(txn, 0, 3, &["c0"], true)), 6);
    assert_eq!(write_marker(&mut client, (TOPIC, 0), (txn, 0), true, 0), 0);
    assert_eq!(latest_offset(&mut client, TOPIC, 0, READ_COMMITTED), 8);
    for version in 4..=18 {
        let committed = fetch(&mut client, version, topic_id, 0, READ_COMMITTED);
        assert_eq!(committed.last_stable_offset, 8, "v{version}");
        let aborted = committed.aborted_transactions.clone().expect("a list");
        assert_eq!(aborted.len(), 1, "v{version}: {aborted:?}");
        assert_eq!(
            (aborted[0].producer_id.0, aborted[0].first_offset),
            (txn, 2)
        );
        let (values, controls) = read(&committed);
        assert_eq!(
            values.len(),
            6,
            "v{version}: the client drops the aborted ones"
        );
        assert_eq!(controls, 2, "v{version}: both markers are returned");
        // From the committed transaction on, no abort overlaps.
        let later = fetch(&mut client, version, topic_id, 6, READ_COMMITTED);
        assert_eq!(later.aborted_transactions, Some(vec![]), "v{version}");
        assert_eq!(read(&later).0, vec![(6, "c0".to_string())]);
    }
}

#[test]
fn markers_and_transactional_batches_get_kafkas_errors() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 1);
    let pid = init_producer_id(&mut client, None).0;

    assert_eq!(
        write_marker(&mut client, ("no-such-topic", 0), (pid, 0), true, 0),
        3
    );
    produce_ok(&mut client, batch(pid, 1, 0, &["t"], true));
    // A plain batch inside the open transaction: INVALID_TXN_STATE.
    let plain = produce_records(&mut client, TOPIC, 0, batch(pid, 1, 1, &["p"], false));
    assert_eq!(plain.error_code, 48, "{plain:?}");
    // A marker from an older producer epoch: INVALID_PRODUCER_EPOCH.
    assert_eq!(write_marker(&mut client, (TOPIC, 0), (pid, 0), true, 0), 47);
    assert_eq!(write_marker(&mut client, (TOPIC, 0), (pid, 1), true, 3), 0);
    // A marker from an older coordinator: TRANSACTION_COORDINATOR_FENCED.
    assert_eq!(
        write_marker(&mut client, (TOPIC, 0), (pid, 1), false, 2),
        52
    );
    // A client cannot write a marker through Produce: INVALID_RECORD.
    let control = encode_batch(&[Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: pid,
        producer_epoch: 1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: now_ms(),
        key: Some(Bytes::from_static(&[0, 0, 0, 1])),
        value: Some(Bytes::from_static(&[0, 0, 0, 0, 0, 3])),
        headers: Default::default(),
    }]);
    let forged = produce_records(&mut client, TOPIC, 0, control);
    assert_eq!(forged.error_code, 87, "{forged:?}");
}
