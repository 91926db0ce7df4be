//! Differential check against Kafka's own stores: `tests/java/KafkaStoresWriter.java`
//! writes the three internal topics through connect-runtime 4.1.1's
//! `KafkaConfigBackingStore`, `KafkaStatusBackingStore` and `KafkaOffsetBackingStore`
//! on a rafka broker; rafka's stores must read that state back, and writing the same
//! things themselves must give the same records, byte for byte, in the same partitions.
//!
//! Needs a JDK (the `java` source launcher) and Kafka 4.1.1's jars in `~/.m2` (fetched by
//! `scripts/setup-java.sh`), hence ignored by default:
//! `cargo test -p rafka-connect --test kafka_oracle_storage -- --ignored`.

mod common;
#[path = "../../cli/tests/support/paths.rs"]
mod paths;

use std::path::PathBuf;
use std::process::Command;

use common::{props, raw, read_raw, task, without_partitions, worker_config, Broker};
use rafka_connect::offset_store::{self, OffsetStore};
use rafka_connect::storage::config_store::{KafkaConfigStore, SessionKey};
use rafka_connect::storage::offset_store::KafkaOffsetStore;
use rafka_connect::storage::status_store::{KafkaStatusStore, StatusRecord, TopicStatus};
use rafka_connect::worker::{State, TargetState};
use rafka_connect::worker_config::WorkerConfig;
use rafka_connect_data::Value;

/// The jars Kafka's stores need, from the local Maven repository.
fn kafka_classpath() -> String {
    let m2 = PathBuf::from(std::env::var("HOME").unwrap()).join(".m2/repository");
    let jar = |group: &str, artifact: &str, version: &str| {
        let path = m2
            .join(group.replace('.', "/"))
            .join(artifact)
            .join(version)
            .join(format!("{artifact}-{version}.jar"));
        assert!(
            path.exists(),
            "{} is missing: run scripts/setup-java.sh",
            path.display()
        );
        path.display().to_string()
    };
    let mut jars = Vec::new();
    for artifact in [
        "kafka-clients",
        "connect-api",
        "connect-json",
        "connect-runtime",
        "kafka-server-common",
    ] {
        jars.push(jar("org.apache.kafka", artifact, "4.1.1"));
    }
    for artifact in ["jackson-core", "jackson-databind", "jackson-annotations"] {
        jars.push(jar("com.fasterxml.jackson.core", artifact, "2.19.0"));
    }
    jars.push(jar(
        "com.fasterxml.jackson.datatype",
        "jackson-datatype-jdk8",
        "2.19.0",
    ));
    jars.push(jar(
        "com.fasterxml.jackson.module",
        "jackson-module-blackbird",
        "2.19.0",
    ));
    jars.push(jar("org.slf4j", "slf4j-api", "1.7.36"));
    jars.join(":")
}

fn run_kafka_writer(broker: &Broker) {
    let source = paths::manifest_dir().join("tests/java/KafkaStoresWriter.java");
    let out = Command::new("java")
        .arg("-cp")
        .arg(kafka_classpath())
        .arg(source)
        .arg(broker.bootstrap())
        .output()
        .expect("run java");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("written"),
        "Kafka's stores failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The worker keys `KafkaStoresWriter` uses, with `prefix` for the topic names.
fn config_for(broker: &Broker, prefix: &str) -> WorkerConfig {
    let configs = format!("{prefix}-configs");
    let offsets = format!("{prefix}-offsets");
    let status = format!("{prefix}-status");
    worker_config(
        broker,
        &[
            ("group.id", "java-cluster"),
            ("config.storage.topic", &configs),
            ("offset.storage.topic", &offsets),
            ("status.storage.topic", &status),
            ("offset.storage.partitions", "3"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a JDK and Kafka 4.1.1's jars in ~/.m2 (scripts/setup-java.sh)"]
async fn rafkas_stores_read_and_write_what_kafkas_stores_do() {
    let broker = Broker::start();
    run_kafka_writer(&broker);
    let java = config_for(&broker, "java");

    // rafka reads the state Kafka's stores wrote.
    let (configs, _) = KafkaConfigStore::start(&java).await.unwrap();
    let snapshot = configs.snapshot();
    assert_eq!(snapshot.connectors(), vec!["java-conn".to_string()]);
    assert_eq!(
        snapshot.target_state("java-conn"),
        Some(TargetState::Paused)
    );
    assert_eq!(
        snapshot.tasks("java-conn"),
        vec![task("java-conn", 0), task("java-conn", 1)]
    );
    assert_eq!(
        snapshot.task_config(&task("java-conn", 1)),
        Some(&props(&[("file", "b")]))
    );
    let session_key = SessionKey {
        key: (0u8..32).collect(),
        algorithm: "HmacSHA256".into(),
        creation_timestamp_ms: 1_733_390_000_123,
    };
    assert_eq!(snapshot.session_key, Some(session_key.clone()));
    assert_eq!(snapshot.offset, 11);

    let statuses = KafkaStatusStore::start(&java).await.unwrap();
    let running = StatusRecord {
        version: Some("4.1.1".into()),
        ..StatusRecord::new(State::Running, "w1:8083", 5)
    };
    let failed = StatusRecord {
        trace: Some("boom\n".into()),
        ..StatusRecord::new(State::Failed, "w1:8083", 5)
    };
    let orders = TopicStatus {
        topic: "orders".into(),
        connector: "java-conn".into(),
        task: 1,
        discover_timestamp_ms: 1_733_390_000_000,
    };
    assert_eq!(statuses.connector("java-conn"), Some(running.clone()));
    assert_eq!(statuses.task(&task("java-conn", 0)), Some(failed.clone()));
    assert_eq!(statuses.topics("java-conn"), vec![orders.clone()]);

    let offsets = KafkaOffsetStore::start(&java).await.unwrap();
    let partition = Value::string_map([("filename", Value::string("/tmp/in.txt"))]);
    assert_eq!(
        offsets.offset("java-src", &partition),
        Some(Value::string_map([("position", Value::Int64(42))]))
    );

    // rafka writes the same things: the same records, in the same partitions.
    let rafka = config_for(&broker, "rafka");
    let (configs, _) = KafkaConfigStore::start(&rafka).await.unwrap();
    configs
        .put_connector_config(
            "java-conn",
            &props(&[("connector.class", "FileStreamSource")]),
            Some(TargetState::Stopped),
        )
        .await
        .unwrap();
    configs
        .put_task_configs(
            "java-conn",
            &[props(&[("file", "a")]), props(&[("file", "b")])],
        )
        .await
        .unwrap();
    configs
        .put_target_state("java-conn", TargetState::Paused)
        .await
        .unwrap();
    configs
        .put_restart_request("java-conn", true, false)
        .await
        .unwrap();
    configs.put_session_key(&session_key).await.unwrap();
    configs
        .put_connector_config("gone", &props(&[("k", "v")]), None)
        .await
        .unwrap();
    configs.remove_connector_config("gone").await.unwrap();
    assert_eq!(
        read_raw(&broker, "rafka-configs"),
        read_raw(&broker, "java-configs")
    );

    let statuses = KafkaStatusStore::start(&rafka).await.unwrap();
    statuses.put_connector("java-conn", &running);
    statuses.put_task(&task("java-conn", 0), &failed);
    statuses.put_topic(&orders);
    statuses.flush().await.unwrap();
    let mut java_status = read_raw(&broker, "java-status");
    let mut rafka_status = read_raw(&broker, "rafka-status");
    java_status.sort();
    rafka_status.sort();
    assert_eq!(rafka_status, java_status);
    assert_eq!(java_status.len(), 3);

    let offsets = KafkaOffsetStore::start(&rafka).await.unwrap();
    offsets
        .set(vec![(
            offset_store::offset_key("java-src", &partition),
            offset_store::encode_value(&Value::string_map([("position", Value::Int64(42))])),
        )])
        .await
        .unwrap();
    let java_offsets = read_raw(&broker, "java-offsets");
    assert_eq!(read_raw(&broker, "rafka-offsets"), java_offsets);
    assert_eq!(
        without_partitions(java_offsets),
        vec![raw(
            r#"["java-src",{"filename":"/tmp/in.txt"}]"#,
            Some(r#"{"position":42}"#)
        )]
    );
}
