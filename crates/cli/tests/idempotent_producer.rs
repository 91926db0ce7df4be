//! Idempotent producers on the wire: InitProducerId in every advertised version, and
//! Produce refusing sequence gaps and fenced epochs while answering retries with the
//! original offsets, across clean restarts and `kill -9`.

mod common;

use bytes::Bytes;
use common::{create_topic, produce_records, producer_batch_of, s, BrokerProcess, Client};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId, TransactionalId,
};

const TOPIC: &str = "idem";

/// One batch of `count` records from producer `pid` at `epoch`, sequences from `seq`.
fn producer_batch(pid: i64, epoch: i16, seq: i32, count: usize) -> Bytes {
    let values: Vec<String> = (0..count).map(|i| format!("v{}", seq + i as i32)).collect();
    producer_batch_of(pid, epoch, seq, &values, false)
}

fn init(
    client: &mut Client,
    version: i16,
    transactional_id: Option<&str>,
    producer: (i64, i16),
) -> InitProducerIdResponse {
    client.call(
        ApiKey::InitProducerId,
        version,
        &InitProducerIdRequest::default()
            .with_transactional_id(transactional_id.map(|t| TransactionalId(s(t))))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(producer.0))
            .with_producer_epoch(producer.1),
    )
}

fn produce(client: &mut Client, records: Bytes) -> PartitionProduceResponse {
    produce_records(client, TOPIC, 0, records)
}

/// Produces and asserts success at `base_offset`.
fn produce_at(client: &mut Client, records: Bytes, base_offset: i64) {
    let response = produce(client, records);
    assert_eq!(
        (response.error_code, response.base_offset),
        (0, base_offset),
        "{response:?}"
    );
}

fn produce_error(client: &mut Client, records: Bytes) -> i16 {
    let response = produce(client, records);
    assert_eq!(response.base_offset, -1, "{response:?}");
    response.error_code
}

#[test]
fn every_init_producer_id_version_hands_out_a_new_id_at_epoch_zero() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    let mut ids = Vec::new();
    for version in 0..=5 {
        let response = init(&mut client, version, None, (-1, -1));
        assert_eq!(response.error_code, 0, "v{version}: {response:?}");
        assert_eq!(response.producer_epoch, 0);
        ids.push(response.producer_id.0);
    }
    // An idempotent producer naming its old id and epoch (KIP-360) still gets a new id.
    let again = init(&mut client, 3, None, (ids[0], 0));
    assert_eq!((again.error_code, again.producer_epoch), (0, 0));
    ids.push(again.producer_id.0);
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "ids are never handed out twice: {ids:?}"
    );
    assert!(ids.iter().all(|id| *id >= 0));

    // Kafka's INVALID_REQUEST: an id without an epoch, and an empty transactional id.
    let half = init(&mut client, 3, None, (ids[0], -1));
    assert_eq!(
        (half.error_code, half.producer_id.0, half.producer_epoch),
        (42, -1, -1)
    );
    let empty = init(&mut client, 4, Some(""), (-1, -1));
    assert_eq!(empty.error_code, 42);
}

#[test]
fn retries_answer_the_original_offset_and_gaps_and_old_epochs_are_refused() {
    let broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 1);
    let pid = init(&mut client, 4, None, (-1, -1)).producer_id.0;

    produce_at(&mut client, producer_batch(pid, 0, 0, 3), 0);
    let second = producer_batch(pid, 0, 3, 2);
    produce_at(&mut client, second.clone(), 3);
    // A retry (the answer was lost) writes nothing and answers where the batch went.
    let retry = produce(&mut client, second);
    assert_eq!((retry.error_code, retry.base_offset), (0, 3), "{retry:?}");
    produce_at(&mut client, producer_batch(pid, 0, 5, 1), 5);

    // OUT_OF_ORDER_SEQUENCE_NUMBER: a gap, and a new epoch not starting at 0.
    assert_eq!(produce_error(&mut client, producer_batch(pid, 0, 9, 1)), 45);
    assert_eq!(produce_error(&mut client, producer_batch(pid, 2, 4, 1)), 45);
    // A bumped epoch starts over at 0; the old epoch is then fenced (INVALID_PRODUCER_EPOCH).
    produce_at(&mut client, producer_batch(pid, 1, 0, 1), 6);
    assert_eq!(produce_error(&mut client, producer_batch(pid, 0, 6, 1)), 47);
    // Another producer is untouched by all of it, and nothing refused was written.
    let other = init(&mut client, 4, None, (-1, -1)).producer_id.0;
    produce_at(&mut client, producer_batch(other, 0, 0, 1), 7);
    // The control: the same retry from a producer without an id is written twice.
    let plain = common::batch(&["again"], common::now_ms());
    produce_at(&mut client, plain.clone(), 8);
    produce_at(&mut client, plain, 9);
}

#[test]
fn producer_state_and_ids_survive_clean_restarts_and_kill_9() {
    let mut broker = BrokerProcess::start(&[]);
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 1);
    let pid = init(&mut client, 4, None, (-1, -1)).producer_id.0;
    produce_at(&mut client, producer_batch(pid, 0, 0, 3), 0);
    let last = producer_batch(pid, 0, 3, 2);
    produce_at(&mut client, last.clone(), 3);

    broker.restart();
    let snapshot = broker
        .data_dir()
        .join(format!("{TOPIC}-0"))
        .join("00000000000000000005.snapshot");
    assert!(
        snapshot.exists(),
        "a clean shutdown leaves a snapshot at the log end"
    );
    let mut client = broker.connect();
    let retry = produce(&mut client, last.clone());
    assert_eq!((retry.error_code, retry.base_offset), (0, 3), "{retry:?}");
    assert_eq!(produce_error(&mut client, producer_batch(pid, 0, 9, 1)), 45);
    // The rest of the restarted broker's block was given up: ids never repeat.
    let next = init(&mut client, 4, None, (-1, -1)).producer_id.0;
    assert!(next > pid, "{next} after {pid}");
    assert!(next >= 1000, "a new block after a restart: {next}");

    let newest = producer_batch(pid, 0, 5, 1);
    produce_at(&mut client, newest.clone(), 5);
    broker.kill9();
    broker.restart();
    let mut client = broker.connect();
    let retry = produce(&mut client, newest);
    assert_eq!((retry.error_code, retry.base_offset), (0, 5), "{retry:?}");
    produce_at(&mut client, producer_batch(pid, 0, 6, 1), 6);
}
