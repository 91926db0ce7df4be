//! Transactions V2 (KIP-890) on the wire: a Produce v12 batch adds its partition to the
//! transaction through the partition leader, EndTxn v5 bumps the epoch and hands it back,
//! the next transaction starts at that epoch from sequence 0, TxnOffsetCommit v5 needs no
//! AddOffsetsToTxn, and an older client's transactional batch for a partition outside its
//! transaction is refused (verification, part 1).

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    create_topic, init_producer_id, latest_offset, producer_batch_of, s, BrokerProcess, Client,
};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, ApiVersionsRequest,
    ApiVersionsResponse, DescribeTransactionsRequest, DescribeTransactionsResponse, EndTxnRequest,
    EndTxnResponse, GroupId, OffsetFetchRequest, OffsetFetchResponse, ProduceRequest,
    ProduceResponse, ProducerId, TopicName, TransactionalId, TxnOffsetCommitRequest,
    TxnOffsetCommitResponse,
};

const TOPIC: &str = "tv2";

// Kafka's error codes.
const NONE: i16 = 0;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_TXN_STATE: i16 = 48;
const TRANSACTION_ABORTABLE: i16 = 120;

fn start() -> BrokerProcess {
    BrokerProcess::start(&[
        ("transaction.state.log.num.partitions", "1"),
        ("offsets.topic.num.partitions", "1"),
        ("group.initial.rebalance.delay.ms", "0"),
    ])
}

/// A transactional Produce (acks=all) of one batch to TOPIC's `partition` at `version`.
fn produce(
    client: &mut Client,
    version: i16,
    transactional_id: &str,
    partition: i32,
    records: Bytes,
) -> PartitionProduceResponse {
    let response: ProduceResponse = client.call(
        ApiKey::Produce,
        version,
        &ProduceRequest::default()
            .with_transactional_id(Some(TransactionalId(s(transactional_id))))
            .with_acks(-1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(s(TOPIC)))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(records))])]),
    );
    response.responses[0].partition_responses[0].clone()
}

/// FindCoordinator for the id (which creates `__transaction_state`), then InitProducerId.
fn init_transactional(client: &mut Client, transactional_id: &str) -> (i64, i16) {
    use kafka_protocol::messages::{FindCoordinatorRequest, FindCoordinatorResponse};
    wait_for("a transaction coordinator", || {
        let found: FindCoordinatorResponse = client.call(
            ApiKey::FindCoordinator,
            4,
            &FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![s(transactional_id)]),
        );
        found.coordinators[0].error_code == NONE
    });
    init_producer_id(client, Some(transactional_id))
}

fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// EndTxn at `version`: (error, producer id, epoch) of the answer.
fn end_txn(
    client: &mut Client,
    version: i16,
    transactional_id: &str,
    (producer_id, producer_epoch): (i64, i16),
    commit: bool,
) -> (i16, i64, i16) {
    let response: EndTxnResponse = client.call(
        ApiKey::EndTxn,
        version,
        &EndTxnRequest::default()
            .with_transactional_id(TransactionalId(s(transactional_id)))
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(producer_epoch)
            .with_committed(commit),
    );
    (
        response.error_code,
        response.producer_id.0,
        response.producer_epoch,
    )
}

/// DescribeTransactions: (state, epoch, partitions as "topic-partition").
fn describe(client: &mut Client, transactional_id: &str) -> (String, i16, Vec<String>) {
    let response: DescribeTransactionsResponse = client.call(
        ApiKey::DescribeTransactions,
        0,
        &DescribeTransactionsRequest::default()
            .with_transactional_ids(vec![TransactionalId(s(transactional_id))]),
    );
    let state = &response.transaction_states[0];
    assert_eq!(state.error_code, NONE, "{response:?}");
    let partitions = state
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| format!("{}-{p}", t.topic.as_str()))
        })
        .collect();
    (
        state.transaction_state.to_string(),
        state.producer_epoch,
        partitions,
    )
}

/// Polls until `check` holds, failing after 10 s.
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

#[test]
fn the_feature_is_finalized_at_2() {
    let broker = start();
    let mut client = broker.connect();
    let versions: ApiVersionsResponse = client.call(
        ApiKey::ApiVersions,
        4,
        &ApiVersionsRequest::default()
            .with_client_software_name(s("rafka-test"))
            .with_client_software_version(s("1.0")),
    );
    let supported = versions
        .supported_features
        .iter()
        .find(|f| f.name.as_str() == "transaction.version")
        .expect("transaction.version supported");
    assert_eq!((supported.min_version, supported.max_version), (0, 2));
    let finalized = versions
        .finalized_features
        .iter()
        .find(|f| f.name.as_str() == "transaction.version")
        .expect("transaction.version finalized");
    assert_eq!(
        (finalized.min_version_level, finalized.max_version_level),
        (2, 2)
    );
    let max = |key: ApiKey| {
        versions
            .api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .map(|k| k.max_version)
    };
    assert_eq!(max(ApiKey::EndTxn), Some(5));
    assert_eq!(max(ApiKey::TxnOffsetCommit), Some(5));
}

#[test]
fn produce_v12_adds_the_partition_and_end_txn_v5_bumps_the_epoch() {
    let broker = start();
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 2);
    let (pid, epoch) = init_transactional(&mut client, "v2-producer");

    // No AddPartitionsToTxn: the leader adds the partition.
    let first = producer_batch_of(pid, epoch, 0, &values("a", 2), true);
    let answer = produce(&mut client, 12, "v2-producer", 0, first);
    assert_eq!(answer.error_code, NONE, "{answer:?}");
    let (state, _, partitions) = describe(&mut client, "v2-producer");
    assert_eq!(
        (state.as_str(), partitions),
        ("Ongoing", vec![format!("{TOPIC}-0")])
    );

    assert_eq!(
        end_txn(&mut client, 5, "v2-producer", (pid, epoch), true),
        (NONE, pid, epoch + 1),
        "EndTxn v5 answers the bumped epoch"
    );
    wait_for("the commit to complete", || {
        describe(&mut client, "v2-producer").0 == "CompleteCommit"
    });
    // The commit marker (at the bumped epoch) came after the two records.
    assert_eq!(latest_offset(&mut client, TOPIC, 0, 1), 3);
    assert_eq!(
        end_txn(&mut client, 5, "v2-producer", (pid, epoch), true),
        (NONE, pid, epoch + 1),
        "a retry of the commit"
    );

    // The next transaction: the bumped epoch, sequence 0 again.
    let second = producer_batch_of(pid, epoch + 1, 0, &values("b", 1), true);
    let answer = produce(&mut client, 12, "v2-producer", 0, second);
    assert_eq!(answer.error_code, NONE, "{answer:?}");
    assert_eq!(answer.base_offset, 3);
    // The old epoch is fenced at the leader.
    let stale = producer_batch_of(pid, epoch, 2, &values("z", 1), true);
    let answer = produce(&mut client, 12, "v2-producer", 1, stale);
    assert_eq!(answer.error_code, INVALID_PRODUCER_EPOCH, "{answer:?}");

    assert_eq!(
        end_txn(&mut client, 5, "v2-producer", (pid, epoch + 1), false),
        (NONE, pid, epoch + 2)
    );
    wait_for("the abort marker", || {
        let (state, _, _) = describe(&mut client, "v2-producer");
        state == "CompleteAbort"
    });
    assert_eq!(describe(&mut client, "v2-producer").1, epoch + 2);
    // The aborted record stays below the last stable offset: marker at 4, LSO 5.
    assert_eq!(latest_offset(&mut client, TOPIC, 0, 1), 5);
}

#[test]
fn a_v1_producer_keeps_its_epoch() {
    let broker = start();
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 1);
    let (pid, epoch) = init_transactional(&mut client, "v1-producer");
    for (round, seq) in [(0, 0), (1, 1)] {
        add_partition(&mut client, "v1-producer", (pid, epoch));
        let records = producer_batch_of(pid, epoch, seq, &values("v1", 1), true);
        let answer = produce(&mut client, 9, "v1-producer", 0, records);
        assert_eq!(answer.error_code, NONE, "round {round}: {answer:?}");
        assert_eq!(
            end_txn(&mut client, 4, "v1-producer", (pid, epoch), true).0,
            NONE
        );
        wait_for("the commit", || {
            describe(&mut client, "v1-producer").0 == "CompleteCommit"
        });
        assert_eq!(describe(&mut client, "v1-producer").1, epoch);
    }
}

/// AddPartitionsToTxn v3 of TOPIC's partition 0.
fn add_partition(client: &mut Client, transactional_id: &str, (pid, epoch): (i64, i16)) {
    let added: AddPartitionsToTxnResponse = client.call(
        ApiKey::AddPartitionsToTxn,
        3,
        &AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(TransactionalId(s(transactional_id)))
            .with_v3_and_below_producer_id(ProducerId(pid))
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(TopicName(s(TOPIC)))
                .with_partitions(vec![0])]),
    );
    let code = added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code;
    assert_eq!(code, NONE, "{added:?}");
}

#[test]
fn verification_refuses_a_partition_outside_the_transaction() {
    let broker = start();
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 1);
    let (pid, epoch) = init_transactional(&mut client, "v1-late");
    let records = producer_batch_of(pid, epoch, 0, &values("late", 1), true);

    // Before v11 the client knows no TRANSACTION_ABORTABLE: INVALID_TXN_STATE.
    let answer = produce(&mut client, 9, "v1-late", 0, records.clone());
    assert_eq!(answer.error_code, INVALID_TXN_STATE, "{answer:?}");
    assert_eq!(
        answer.error_message.as_deref().map(|m| m.to_string()),
        Some("Partition was not added to the transaction".to_string())
    );
    let answer = produce(&mut client, 11, "v1-late", 0, records.clone());
    assert_eq!(answer.error_code, TRANSACTION_ABORTABLE, "{answer:?}");
    assert_eq!(
        latest_offset(&mut client, TOPIC, 0, 0),
        0,
        "nothing written"
    );

    add_partition(&mut client, "v1-late", (pid, epoch));
    let answer = produce(&mut client, 9, "v1-late", 0, records);
    assert_eq!(answer.error_code, NONE, "{answer:?}");
    assert_eq!(latest_offset(&mut client, TOPIC, 0, 0), 1);
}

#[test]
fn txn_offset_commit_v5_adds_the_offsets_partition_itself() {
    let broker = start();
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 1);
    let (pid, epoch) = init_transactional(&mut client, "v2-offsets");
    let commit = || {
        TxnOffsetCommitRequest::default()
            .with_transactional_id(TransactionalId(s("v2-offsets")))
            .with_group_id(GroupId(s("v2-group")))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_generation_id(-1)
            .with_topics(vec![TxnOffsetCommitRequestTopic::default()
                .with_name(TopicName(s(TOPIC)))
                .with_partitions(vec![TxnOffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(42)
                    .with_committed_leader_epoch(-1)])])
    };
    // v4 verifies: the offsets partition is not in the transaction.
    let refused: TxnOffsetCommitResponse = client.call(ApiKey::TxnOffsetCommit, 4, &commit());
    assert_eq!(
        refused.topics[0].partitions[0].error_code, TRANSACTION_ABORTABLE,
        "{refused:?}"
    );
    let added: TxnOffsetCommitResponse = client.call(ApiKey::TxnOffsetCommit, 5, &commit());
    assert_eq!(added.topics[0].partitions[0].error_code, NONE, "{added:?}");
    let (state, _, partitions) = describe(&mut client, "v2-offsets");
    assert_eq!(
        (state.as_str(), partitions),
        ("Ongoing", vec!["__consumer_offsets-0".to_string()])
    );

    assert_eq!(
        end_txn(&mut client, 5, "v2-offsets", (pid, epoch), true),
        (NONE, pid, epoch + 1)
    );
    wait_for("the committed offset", || {
        committed_offset(&mut client, "v2-group") == 42
    });
}

/// The group's committed offset of TOPIC-0 as a read_committed consumer asks for it
/// (OffsetFetch v7, require_stable): -1 while a transaction holds it.
fn committed_offset(client: &mut Client, group: &str) -> i64 {
    use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
    let response: OffsetFetchResponse = client.call(
        ApiKey::OffsetFetch,
        7,
        &OffsetFetchRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_require_stable(true)
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(TopicName(s(TOPIC)))
                .with_partition_indexes(vec![0])])),
    );
    let partition = &response.topics[0].partitions[0];
    if partition.error_code != NONE {
        return -1;
    }
    partition.committed_offset
}
