//! A replica moved between two log dirs with AlterReplicaLogDirs keeps its records,
//! takes new ones in its new dir, is reported there by DescribeLogDirs, and is found
//! there after a restart.

mod common;

use common::{create_topic, produce_values, s, BrokerProcess, Client};
use kafka_protocol::messages::*;
use kafka_protocol::records::RecordBatchDecoder;

const TOPIC: &str = "moving";

fn values(client: &mut Client) -> Vec<String> {
    let response: FetchResponse = client.call(
        ApiKey::Fetch,
        12,
        &FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![fetch_request::FetchTopic::default()
                .with_topic(TopicName(s(TOPIC)))
                .with_partitions(vec![fetch_request::FetchPartition::default()
                    .with_partition(0)
                    .with_fetch_offset(0)
                    .with_partition_max_bytes(1 << 20)])]),
    );
    let partition = &response.responses[0].partitions[0];
    assert_eq!(partition.error_code, 0, "{response:?}");
    let mut records = partition.records.clone().unwrap_or_default();
    RecordBatchDecoder::decode_all(&mut records)
        .expect("batches")
        .into_iter()
        .flat_map(|set| set.records)
        .map(|r| String::from_utf8(r.value.expect("value").to_vec()).expect("utf-8"))
        .collect()
}

/// The log dir DescribeLogDirs reports the partition in.
fn dir_of_partition(client: &mut Client) -> String {
    let response: DescribeLogDirsResponse = client.call(
        ApiKey::DescribeLogDirs,
        4,
        &DescribeLogDirsRequest::default().with_topics(None),
    );
    let holding: Vec<String> = response
        .results
        .iter()
        .filter(|d| {
            d.topics
                .iter()
                .any(|t| t.name.as_str() == TOPIC && !t.partitions.is_empty())
        })
        .map(|d| d.log_dir.to_string())
        .collect();
    assert_eq!(holding.len(), 1, "{response:?}");
    holding[0].clone()
}

fn move_to(client: &mut Client, dir: &str) -> i16 {
    let response: AlterReplicaLogDirsResponse = client.call(
        ApiKey::AlterReplicaLogDirs,
        2,
        &AlterReplicaLogDirsRequest::default().with_dirs(vec![
            alter_replica_log_dirs_request::AlterReplicaLogDir::default()
                .with_path(s(dir))
                .with_topics(vec![
                    alter_replica_log_dirs_request::AlterReplicaLogDirTopic::default()
                        .with_name(TopicName(s(TOPIC)))
                        .with_partitions(vec![0]),
                ]),
        ]),
    );
    response.results[0].partitions[0].error_code
}

#[test]
fn a_replica_moves_between_log_dirs_and_stays_moved() {
    let root = tempfile::tempdir().expect("tempdir");
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    let dirs = format!("{},{}", a.display(), b.display());
    let mut broker = BrokerProcess::start(&[("log.dirs", &dirs), ("num.partitions", "1")]);
    let mut client = broker.connect();
    create_topic(&mut client, TOPIC, 1);
    produce_values(&mut client, TOPIC, 0, &["one", "two"]);

    let from = dir_of_partition(&mut client);
    let to = if from == a.display().to_string() {
        &b
    } else {
        &a
    };
    let to = to.display().to_string();
    assert_eq!(move_to(&mut client, &to), 0);
    assert_eq!(dir_of_partition(&mut client), to);
    assert!(std::path::Path::new(&to)
        .join(format!("{TOPIC}-0"))
        .is_dir());
    assert!(!std::path::Path::new(&from)
        .join(format!("{TOPIC}-0"))
        .exists());
    assert_eq!(values(&mut client), ["one", "two"]);
    produce_values(&mut client, TOPIC, 0, &["three"]);
    assert_eq!(values(&mut client), ["one", "two", "three"]);
    // Moving it where it is changes nothing.
    assert_eq!(move_to(&mut client, &to), 0);

    broker.restart();
    let mut client = broker.connect();
    assert_eq!(dir_of_partition(&mut client), to);
    assert_eq!(values(&mut client), ["one", "two", "three"]);
}
