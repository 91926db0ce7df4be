//! Distributed mode's stores against a real rafka broker: what one instance writes a
//! fresh instance reads back (a restarted cluster resumes), the raw records are Kafka's
//! bytes, and the topics are created as Kafka's worker creates them.

mod common;

use std::collections::BTreeMap;

use common::{
    java_murmur2, java_partition, props, raw, read_raw, task, without_partitions, worker_config,
    Broker, TIMEOUT,
};
use rafka_connect::offset_store::{self, OffsetStore};
use rafka_connect::storage::config_store::{ConfigUpdate, KafkaConfigStore, SessionKey};
use rafka_connect::storage::offset_store::KafkaOffsetStore;
use rafka_connect::storage::status_store::{KafkaStatusStore, StatusRecord, TopicStatus};
use rafka_connect::worker::{State, TargetState};
use rafka_connect_data::Value;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::sync::mpsc;

async fn next_update(updates: &mut mpsc::UnboundedReceiver<ConfigUpdate>) -> ConfigUpdate {
    tokio::time::timeout(TIMEOUT, updates.recv())
        .await
        .expect("an update within the deadline")
        .expect("the channel is open")
}

#[test]
fn java_murmur2_matches_kafkas_test_vectors() {
    // From Kafka's UtilsTest.testMurmur2.
    assert_eq!(java_murmur2(b"21"), -973932308);
    assert_eq!(java_murmur2(b"foobar"), -790332482);
    assert_eq!(java_murmur2(b"a-little-bit-long-string"), -985981536);
    assert_eq!(java_murmur2(b"a-little-bit-longer-string"), -1486304829);
    assert_eq!(
        java_murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
        -58897971
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_store_survives_a_restart_in_kafkas_record_formats() {
    let mut broker = Broker::start();
    let config = worker_config(&broker, &[]);
    let (store, mut updates) = KafkaConfigStore::start(&config).await.unwrap();
    assert_eq!(store.snapshot().offset, -1);

    let connector = props(&[("connector.class", "FileStreamSource"), ("tasks.max", "2")]);
    store
        .put_connector_config("my-conn", &connector, Some(TargetState::Stopped))
        .await
        .unwrap();
    // The target state went first: no change announced for a connector not yet there.
    assert_eq!(
        next_update(&mut updates).await,
        ConfigUpdate::ConnectorConfigUpdated("my-conn".into())
    );
    let tasks = [props(&[("file", "a")]), props(&[("file", "b")])];
    store.put_task_configs("my-conn", &tasks).await.unwrap();
    assert_eq!(
        next_update(&mut updates).await,
        ConfigUpdate::TaskConfigsCommitted(vec![task("my-conn", 0), task("my-conn", 1)])
    );
    store
        .put_target_state("my-conn", TargetState::Paused)
        .await
        .unwrap();
    assert_eq!(
        next_update(&mut updates).await,
        ConfigUpdate::TargetStateChanged("my-conn".into())
    );
    store
        .put_restart_request("my-conn", true, false)
        .await
        .unwrap();
    assert_eq!(
        next_update(&mut updates).await,
        ConfigUpdate::RestartRequested {
            connector: "my-conn".into(),
            include_tasks: true,
            only_failed: false
        }
    );
    let session_key = SessionKey {
        key: (0u8..32).collect(),
        algorithm: "HmacSHA256".into(),
        creation_timestamp_ms: 1_733_390_000_123,
    };
    store.put_session_key(&session_key).await.unwrap();
    assert_eq!(
        next_update(&mut updates).await,
        ConfigUpdate::SessionKeyUpdated(session_key.clone())
    );
    store
        .put_connector_config("gone", &props(&[("k", "v")]), None)
        .await
        .unwrap();
    store.remove_connector_config("gone").await.unwrap();
    store.refresh(TIMEOUT).await.unwrap();

    let before = store.snapshot();
    assert_eq!(before.offset, 11);
    assert_eq!(before.connectors(), vec!["my-conn".to_string()]);
    assert_eq!(before.target_state("my-conn"), Some(TargetState::Paused));
    assert_eq!(
        before.tasks("my-conn"),
        vec![task("my-conn", 0), task("my-conn", 1)]
    );
    assert_eq!(before.task_config(&task("my-conn", 1)), Some(&tasks[1]));
    assert_eq!(before.session_key, Some(session_key));
    store.stop();

    assert_eq!(
        without_partitions(read_raw(&broker, "connect-configs")),
        vec![
            raw(
                "target-state-my-conn",
                Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#)
            ),
            raw(
                "connector-my-conn",
                Some(r#"{"properties":{"connector.class":"FileStreamSource","tasks.max":"2"}}"#)
            ),
            raw("task-my-conn-0", Some(r#"{"properties":{"file":"a"}}"#)),
            raw("task-my-conn-1", Some(r#"{"properties":{"file":"b"}}"#)),
            raw("commit-my-conn", Some(r#"{"tasks":2}"#)),
            raw(
                "target-state-my-conn",
                Some(r#"{"state":"PAUSED","state.v2":"PAUSED"}"#)
            ),
            raw(
                "restart-connector-my-conn",
                Some(r#"{"include-tasks":true,"only-failed":false}"#)
            ),
            raw(
                "session-key",
                Some(
                    r#"{"key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","algorithm":"HmacSHA256","creation-timestamp":1733390000123}"#
                )
            ),
            raw("connector-gone", Some(r#"{"properties":{"k":"v"}}"#)),
            raw("connector-gone", None),
            raw("target-state-gone", None),
        ]
    );

    // The whole cluster restarts: the broker, then a fresh store.
    broker.restart();
    let (again, _updates) = KafkaConfigStore::start(&config).await.unwrap();
    assert_eq!(again.snapshot(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_configs_without_their_commit_are_not_visible() {
    let broker = Broker::start();
    let config = worker_config(&broker, &[]);
    let (store, mut updates) = KafkaConfigStore::start(&config).await.unwrap();
    // Another worker (or Kafka's own) writes; a plain producer stands in for it.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    let write = |key: &'static str, value: &'static str| {
        let producer = producer.clone();
        async move {
            producer
                .send(
                    FutureRecord::to("connect-configs").key(key).payload(value),
                    TIMEOUT,
                )
                .await
                .unwrap();
        }
    };
    write("connector-x", r#"{"properties":{"tasks.max":"2"}}"#).await;
    write("task-x-0", r#"{"properties":{"n":"0"}}"#).await;
    write("task-x-1", r#"{"properties":{"n":"1"}}"#).await;
    assert_eq!(
        next_update(&mut updates).await,
        ConfigUpdate::ConnectorConfigUpdated("x".into())
    );
    store.refresh(TIMEOUT).await.unwrap();
    let snapshot = store.snapshot();
    assert!(snapshot.contains("x"));
    assert!(snapshot.tasks("x").is_empty());
    assert!(snapshot.task_configs.is_empty());
    // A fresh store started now sees no tasks either.
    let (fresh, _) = KafkaConfigStore::start(&config).await.unwrap();
    assert!(fresh.snapshot().task_configs.is_empty());

    write("commit-x", r#"{"tasks":2}"#).await;
    assert_eq!(
        next_update(&mut updates).await,
        ConfigUpdate::TaskConfigsCommitted(vec![task("x", 0), task("x", 1)])
    );
    assert_eq!(
        store.snapshot().tasks("x"),
        vec![task("x", 0), task("x", 1)]
    );
    // A commit promising a task whose config never came leaves the connector inconsistent.
    write("task-x-0", r#"{"properties":{"n":"new"}}"#).await;
    write("commit-x", r#"{"tasks":2}"#).await;
    assert_eq!(
        next_update(&mut updates).await,
        ConfigUpdate::TaskConfigsCommitted(vec![])
    );
    let snapshot = store.snapshot();
    assert!(snapshot.inconsistent.contains("x"));
    assert!(snapshot.tasks("x").is_empty());
    assert_eq!(
        snapshot.task_config(&task("x", 0)),
        Some(&props(&[("n", "0")]))
    );
}

fn status(state: State, worker: &str, generation: i32) -> StatusRecord {
    StatusRecord {
        version: Some("4.1.1".into()),
        ..StatusRecord::new(state, worker, generation)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_store_survives_a_restart_and_put_safe_keeps_newer_generations() {
    let broker = Broker::start();
    let config = worker_config(&broker, &[]);
    let store = KafkaStatusStore::start(&config).await.unwrap();
    let running = status(State::Running, "w1:8083", 5);
    store.put_connector("my-conn", &running);
    let mut failed = status(State::Failed, "w1:8083", 5);
    failed.trace = Some("org.apache.kafka.connect.errors.ConnectException: boom\n".into());
    failed.version = None;
    store.put_task(&task("my-conn", 0), &failed);
    store.put_task(&task("my-conn", 1), &running);
    store.put_topic(&TopicStatus {
        topic: "orders".into(),
        connector: "my-conn".into(),
        task: 1,
        discover_timestamp_ms: 1_733_390_000_000,
    });
    store.refresh().await.unwrap();
    assert_eq!(store.connector("my-conn"), Some(running.clone()));
    assert_eq!(store.task(&task("my-conn", 0)), Some(failed.clone()));
    assert_eq!(store.topics("my-conn").len(), 1);

    // Another worker of an older generation may not overwrite; a newer one may.
    let other = KafkaStatusStore::start(&config).await.unwrap();
    assert_eq!(other.connector("my-conn"), Some(running.clone()));
    assert_eq!(other.tasks("my-conn").len(), 2);
    assert_eq!(
        other.topic_status("my-conn", "orders").map(|t| t.task),
        Some(1)
    );
    assert!(!other.put_safe_connector("my-conn", &status(State::Unassigned, "w2:8083", 4)));
    assert!(!other.put_safe_task(&task("my-conn", 1), &status(State::Failed, "w2:8083", 4)));
    other.refresh().await.unwrap();
    assert_eq!(other.connector("my-conn"), Some(running.clone()));
    let newer = status(State::Paused, "w2:8083", 6);
    assert!(other.put_safe_connector("my-conn", &newer));
    // The same worker may always overwrite its own status.
    assert!(other.put_safe_task(&task("my-conn", 0), &status(State::Running, "w1:8083", 1)));
    other.refresh().await.unwrap();
    assert_eq!(other.connector("my-conn"), Some(newer.clone()));
    store.refresh().await.unwrap();
    assert_eq!(store.connector("my-conn"), Some(newer));

    let records = read_raw(&broker, "connect-status");
    for (partition, key, _) in &records {
        assert_eq!(*partition, java_partition(key.as_bytes(), 5), "{key}");
    }
    let by_key: BTreeMap<String, Vec<Option<String>>> =
        records
            .into_iter()
            .fold(BTreeMap::new(), |mut m, (_, k, v)| {
                m.entry(k).or_default().push(v);
                m
            });
    assert_eq!(
        by_key["status-connector-my-conn"][0].as_deref(),
        Some(
            r#"{"state":"RUNNING","trace":null,"worker_id":"w1:8083","generation":5,"version":"4.1.1"}"#
        )
    );
    assert_eq!(
        by_key["status-task-my-conn-0"][0].as_deref(),
        Some(
            r#"{"state":"FAILED","trace":"org.apache.kafka.connect.errors.ConnectException: boom\n","worker_id":"w1:8083","generation":5,"version":null}"#
        )
    );
    assert_eq!(
        by_key["status-topic-orders:connector-my-conn"],
        vec![Some(
            r#"{"topic":{"name":"orders","connector":"my-conn","task":1,"discoverTimestamp":1733390000000}}"#
                .to_string()
        )]
    );

    other.delete_topics("my-conn");
    other.delete_connector("my-conn");
    other.refresh().await.unwrap();
    assert_eq!(other.connector("my-conn"), None);
    assert!(other.tasks("my-conn").is_empty());
    assert!(other.topics("my-conn").is_empty());
    let fresh = KafkaStatusStore::start(&config).await.unwrap();
    assert_eq!(fresh.connector("my-conn"), None);
    assert!(fresh.tasks("my-conn").is_empty());
    assert!(fresh.topics("my-conn").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_store_survives_a_restart_and_gets_see_acknowledged_writes() {
    let broker = Broker::start();
    let config = worker_config(&broker, &[("offset.storage.partitions", "3")]);
    let store = KafkaOffsetStore::start(&config).await.unwrap();
    let partition = Value::string_map([("filename", Value::string("/tmp/in.txt"))]);
    let offset = Value::string_map([("position", Value::Int64(42))]);
    let key = offset_store::offset_key("src", &partition);
    store
        .set(vec![(key.clone(), offset_store::encode_value(&offset))])
        .await
        .unwrap();
    // Visible at once, without reading back.
    assert_eq!(store.offset("src", &partition), Some(offset.clone()));
    let other_partition = Value::string_map([("filename", Value::string("/tmp/b"))]);
    let other_key = offset_store::offset_key("src", &other_partition);
    store
        .set(vec![(
            other_key.clone(),
            offset_store::encode_value(&Value::string_map([("position", Value::Int64(7))])),
        )])
        .await
        .unwrap();
    store.set(vec![(other_key, None)]).await.unwrap();

    let fresh = KafkaOffsetStore::start(&config).await.unwrap();
    assert_eq!(fresh.offset("src", &partition), Some(offset.clone()));
    assert_eq!(fresh.offset("src", &other_partition), None);
    assert_eq!(
        fresh.connector_offsets("src"),
        vec![(partition.clone(), offset)]
    );
    // A write by another worker is seen after a refresh (Kafka reads to the end).
    let moved = Value::string_map([("position", Value::Int64(43))]);
    store
        .set(vec![(key.clone(), offset_store::encode_value(&moved))])
        .await
        .unwrap();
    fresh.refresh().await.unwrap();
    assert_eq!(fresh.offset("src", &partition), Some(moved));

    let records = read_raw(&broker, "connect-offsets");
    for (p, key, _) in &records {
        assert_eq!(*p, java_partition(key.as_bytes(), 3), "{key}");
    }
    // Sorted by key only: one key's records keep their order (one partition).
    let mut records = without_partitions(records);
    records.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        records,
        vec![
            raw(
                r#"["src",{"filename":"/tmp/b"}]"#,
                Some(r#"{"position":7}"#)
            ),
            raw(r#"["src",{"filename":"/tmp/b"}]"#, None),
            raw(
                r#"["src",{"filename":"/tmp/in.txt"}]"#,
                Some(r#"{"position":42}"#)
            ),
            raw(
                r#"["src",{"filename":"/tmp/in.txt"}]"#,
                Some(r#"{"position":43}"#)
            ),
        ]
    );
}

async fn describe(broker: &Broker, topic: &str) -> (usize, Option<String>) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    let configs = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .unwrap();
    let policy = configs[0]
        .as_ref()
        .unwrap()
        .get("cleanup.policy")
        .and_then(|e| e.value.clone());
    let metadata = admin.inner().fetch_metadata(Some(topic), TIMEOUT).unwrap();
    (metadata.topics()[0].partitions().len(), policy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_compacted_with_kafkas_partition_counts() {
    let broker = Broker::start();
    let config = worker_config(&broker, &[("status.storage.segment.bytes", "1048576")]);
    let (_configs, _) = KafkaConfigStore::start(&config).await.unwrap();
    let _offsets = KafkaOffsetStore::start(&config).await.unwrap();
    let _statuses = KafkaStatusStore::start(&config).await.unwrap();
    assert_eq!(
        describe(&broker, "connect-configs").await,
        (1, Some("compact".into()))
    );
    assert_eq!(
        describe(&broker, "connect-offsets").await,
        (25, Some("compact".into()))
    );
    assert_eq!(
        describe(&broker, "connect-status").await,
        (5, Some("compact".into()))
    );

    // An existing topic that is not compacted, or a config topic of two partitions, is
    // refused as Kafka's worker refuses it.
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    let options = AdminOptions::new();
    let deleting =
        NewTopic::new("deleting", 1, TopicReplication::Fixed(1)).set("cleanup.policy", "delete");
    let two = NewTopic::new("two-partitions", 2, TopicReplication::Fixed(1))
        .set("cleanup.policy", "compact");
    for result in admin
        .create_topics([&deleting, &two], &options)
        .await
        .unwrap()
    {
        result.unwrap();
    }
    let error = KafkaStatusStore::start(&worker_config(
        &broker,
        &[("status.storage.topic", "deleting")],
    ))
    .await
    .unwrap_err();
    assert!(
        error.to_string().starts_with(
            "Topic 'deleting' supplied via the 'status.storage.topic' property is required to have 'cleanup.policy=compact'"
        ),
        "{error}"
    );
    let error = KafkaConfigStore::start(&worker_config(
        &broker,
        &[("config.storage.topic", "two-partitions")],
    ))
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Topic 'two-partitions' supplied via the 'config.storage.topic' property is required to have a single partition in order to guarantee consistency of connector configurations, but found 2 partitions."
    );
}
