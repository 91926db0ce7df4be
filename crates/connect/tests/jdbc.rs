//! Confluent's JDBC connectors in a standalone herder, end to end: a rafka broker (the
//! release `rafka` binary on a free loopback port), a throwaway PostgreSQL 15 (the harness
//! of rafka-connect-jdbc's tests), the worker's JsonConverter with schemas.
//!
//! The broker is `tests/common`'s (`$RAFKA_BIN`, which scripts/test.sh exports, else
//! `$CARGO_TARGET_DIR/release/rafka`).

mod common;
#[path = "../../connect-jdbc/tests/common/mod.rs"]
mod pg;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{free_port, props, Broker};
use rafka_connect::herder::{ConnectorStateInfo, Herder, StandaloneHerder};
use rafka_connect::worker::{State, Worker};
use rafka_connect::worker_config::WorkerConfig;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

const DEADLINE: Duration = Duration::from_secs(60);

/// A standalone herder with JsonConverter (schemas on) and offsets in `offsets`.
fn herder(broker: &Broker, offsets: &Path) -> Arc<StandaloneHerder> {
    let config = WorkerConfig::from_props(props(&[
        ("bootstrap.servers", &broker.bootstrap()),
        (
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter",
        ),
        (
            "offset.storage.file.filename",
            &offsets.display().to_string(),
        ),
        ("offset.flush.interval.ms", "200"),
    ]))
    .unwrap();
    StandaloneHerder::new(
        Arc::new(Worker::new(config).unwrap()),
        "127.0.0.1:8083".into(),
        None,
    )
}

async fn wait_status(
    herder: &StandaloneHerder,
    name: &str,
    mut done: impl FnMut(&ConnectorStateInfo) -> bool,
) -> ConnectorStateInfo {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let status = herder.connector_status(name).await.unwrap();
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "status never matched: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn task_states(status: &ConnectorStateInfo) -> Vec<State> {
    status.tasks.iter().map(|t| t.state).collect()
}

/// Every value of `topic` from its start: waits for `expected`, then reads on for
/// `settle` to catch an extra (duplicate) record — a bounded wait for an absence.
async fn consume(bootstrap: &str, topic: &str, expected: usize, settle: Duration) -> Vec<String> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("check-{topic}-{}", free_port()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + DEADLINE;
    let mut settle_until = None;
    let mut values = Vec::new();
    loop {
        if values.len() >= expected {
            let until = *settle_until.get_or_insert_with(|| Instant::now() + settle);
            if Instant::now() >= until {
                return values;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{topic}: only {values:?} before the deadline"
        );
        if let Ok(Ok(message)) =
            tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await
        {
            values.push(String::from_utf8_lossy(message.payload().unwrap_or_default()).into());
        }
    }
}

fn user_line(id: i64, user_id: &str) -> String {
    format!(
        concat!(
            r#"{{"schema":{{"type":"struct","fields":["#,
            r#"{{"type":"int64","optional":false,"field":"id"}},"#,
            r#"{{"type":"string","optional":true,"field":"user_id"}},"#,
            r#"{{"type":"string","optional":true,"field":"pwd"}},"#,
            r#"{{"type":"string","optional":true,"field":"name"}},"#,
            r#"{{"type":"int32","optional":true,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"created_at"}}"#,
            r#"],"optional":false,"name":"users"}},"#,
            r#""payload":{{"id":{id},"user_id":"{user_id}","pwd":"secret","name":"Name {user_id}","created_at":19849}}}}"#
        ),
        id = id,
        user_id = user_id
    )
}

async fn insert_user(db: &tokio_postgres::Client, user_id: &str) {
    db.execute(
        "INSERT INTO users(user_id, pwd, name) VALUES ($1, 'secret', $2)",
        &[&user_id, &format!("Name {user_id}")],
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incrementing_source_copies_rows_once_across_a_worker_restart() {
    let broker = Broker::start();
    let postgres = pg::Postgres::start().await;
    let db = postgres.client().await;
    db.batch_execute(
        "CREATE TABLE users(id bigserial PRIMARY KEY, user_id varchar, pwd varchar, \
         name varchar, created_at date DEFAULT '2024-05-06')",
    )
    .await
    .unwrap();
    insert_user(&db, "user1").await;
    insert_user(&db, "user2").await;
    let dir = tempfile::tempdir().unwrap();
    let offsets = dir.path().join("connect.offsets");
    let url = postgres.url();
    let config = props(&[
        (
            "connector.class",
            "io.confluent.connect.jdbc.JdbcSourceConnector",
        ),
        ("connection.url", &url),
        ("mode", "incrementing"),
        ("incrementing.column.name", "id"),
        ("topic.prefix", "my_topic_"),
        ("table.whitelist", "users"),
        ("poll.interval.ms", "100"),
    ]);

    let first = herder(&broker, &offsets);
    first
        .put_connector_config("jdbc-source", config.clone(), false, None)
        .await
        .unwrap();
    let values = consume(&broker.bootstrap(), "my_topic_users", 2, Duration::ZERO).await;
    assert_eq!(values, vec![user_line(1, "user1"), user_line(2, "user2")]);
    let tasks = first.task_configs("jdbc-source").await.unwrap();
    assert_eq!(
        tasks[0].config.get("tables").map(String::as_str),
        Some(r#""rafka"."public"."users""#)
    );
    // The source offset reaches the offsets file before the worker goes down.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let stored = first.connector_offsets("jdbc-source").await.unwrap();
        let text = serde_json::to_string(&stored).unwrap();
        if text.contains(r#""incrementing":2"#) {
            break;
        }
        assert!(Instant::now() < deadline, "no offset 2 in {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.shutdown().await;
    drop(first);

    insert_user(&db, "user3").await;
    let second = herder(&broker, &offsets);
    second
        .put_connector_config("jdbc-source", config, false, None)
        .await
        .unwrap();
    let values = consume(
        &broker.bootstrap(),
        "my_topic_users",
        3,
        Duration::from_secs(1),
    )
    .await;
    assert_eq!(
        values,
        vec![
            user_line(1, "user1"),
            user_line(2, "user2"),
            user_line(3, "user3")
        ],
        "each row once, none lost"
    );
    second.shutdown().await;
}

fn order(id: i64, name: &str, email: Option<&str>) -> String {
    let mut fields = vec![
        r#"{"type":"int64","optional":false,"field":"id"}"#.to_string(),
        r#"{"type":"string","optional":false,"field":"name"}"#.to_string(),
    ];
    let mut payload = format!(r#""id":{id},"name":"{name}""#);
    if let Some(email) = email {
        fields.push(r#"{"type":"string","optional":true,"field":"email"}"#.to_string());
        payload.push_str(&format!(r#","email":"{email}""#));
    }
    format!(
        r#"{{"schema":{{"type":"struct","fields":[{}],"optional":false,"name":"order"}},"payload":{{{payload}}}}}"#,
        fields.join(",")
    )
}

async fn produce(bootstrap: &str, topic: &str, values: &[String]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for value in values {
        producer
            .send(
                FutureRecord::<[u8], _>::to(topic).payload(value.as_str()),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
}

async fn wait_rows(db: &tokio_postgres::Client, sql: &str, expected: &[Vec<Option<String>>]) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let rows: Vec<Vec<Option<String>>> = match db.query(sql, &[]).await {
            Ok(rows) => rows
                .iter()
                .map(|r| (0..r.len()).map(|i| r.get(i)).collect())
                .collect(),
            Err(_) => Vec::new(), // the table is not created yet
        };
        if rows == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{sql}: {rows:?} != {expected:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn row(values: &[Option<&str>]) -> Vec<Option<String>> {
    values.iter().map(|v| v.map(str::to_string)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_upserts_evolves_and_sends_what_it_cannot_convert_to_the_dead_letter_queue() {
    let broker = Broker::start();
    let postgres = pg::Postgres::start().await;
    let db = postgres.client().await;
    let dir = tempfile::tempdir().unwrap();
    let herder = herder(&broker, &dir.path().join("connect.offsets"));
    let bootstrap = broker.bootstrap();
    produce(
        &bootstrap,
        "orders",
        &[
            order(1, "first", None),
            "not json at all".to_string(),
            order(2, "second", None),
            order(1, "first again", None),
        ],
    )
    .await;
    let url = postgres.url();
    herder
        .put_connector_config(
            "jdbc-sink",
            props(&[
                ("connector.class", "JdbcSink"),
                ("connection.url", &url),
                ("topics", "orders"),
                ("auto.create", "true"),
                ("auto.evolve", "true"),
                ("insert.mode", "upsert"),
                ("pk.mode", "record_value"),
                ("pk.fields", "id"),
                ("errors.tolerance", "all"),
                ("errors.deadletterqueue.topic.name", "orders-dlq"),
                ("errors.deadletterqueue.topic.replication.factor", "1"),
            ]),
            false,
            None,
        )
        .await
        .unwrap();
    let sql = "SELECT id::text, name FROM orders ORDER BY id";
    wait_rows(
        &db,
        sql,
        &[
            row(&[Some("1"), Some("first again")]),
            row(&[Some("2"), Some("second")]),
        ],
    )
    .await;
    let dead = consume(&bootstrap, "orders-dlq", 1, Duration::from_millis(500)).await;
    assert_eq!(dead, vec!["not json at all".to_string()]);

    // A new optional field: auto.evolve adds the column, the upsert fills it.
    produce(
        &bootstrap,
        "orders",
        &[order(2, "second", Some("two@example.com"))],
    )
    .await;
    wait_rows(
        &db,
        "SELECT id::text, name, email FROM orders ORDER BY id",
        &[
            row(&[Some("1"), Some("first again"), None]),
            row(&[Some("2"), Some("second"), Some("two@example.com")]),
        ],
    )
    .await;
    let status = herder.connector_status("jdbc-sink").await.unwrap();
    assert_eq!(task_states(&status), vec![State::Running]);
    herder.shutdown().await;
}

fn manual_event(id: i32, what: &str) -> String {
    format!(
        concat!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int32","optional":false,"field":"id"}},"#,
            r#"{{"type":"string","optional":false,"field":"what"}}],"optional":false}},"#,
            r#""payload":{{"id":{},"what":"{}"}}}}"#
        ),
        id, what
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_database_fails_the_task_and_restart_recovers_it() {
    let broker = Broker::start();
    let postgres = pg::Postgres::start().await;
    let db = postgres.client().await;
    db.batch_execute(
        "CREATE TABLE events(id serial PRIMARY KEY, what text NOT NULL); \
         INSERT INTO events(what) VALUES ('before')",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let herder = herder(&broker, &dir.path().join("connect.offsets"));
    let url = postgres.url();
    let source = |name: &str, extra: &[(&str, &str)]| {
        let mut config = props(&[
            ("connector.class", "JdbcSourceConnector"),
            ("connection.url", &url),
            ("connection.attempts", "1"),
            ("mode", "incrementing"),
            ("incrementing.column.name", "id"),
            ("topic.prefix", name),
            ("table.whitelist", "events"),
            ("poll.interval.ms", "100"),
        ]);
        config.extend(props(extra));
        config
    };
    herder
        .put_connector_config("events", source("ev-", &[]), false, None)
        .await
        .unwrap();
    // The sink's consumer sees only topics that exist when it subscribes.
    let bootstrap = broker.bootstrap();
    produce(&bootstrap, "manual", &[manual_event(6, "early")]).await;
    herder
        .put_connector_config(
            "events-sink",
            props(&[
                (
                    "connector.class",
                    "io.confluent.connect.jdbc.JdbcSinkConnector",
                ),
                ("connection.url", &url),
                ("topics", "ev-events,manual"),
                ("table.name.format", "copy_${topic}"),
                ("auto.create", "true"),
                ("connection.attempts", "1"),
                ("max.retries", "0"),
            ]),
            false,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        consume(&bootstrap, "ev-events", 1, Duration::ZERO)
            .await
            .len(),
        1
    );
    let copied = r#"SELECT id::text, what FROM "copy_ev-events" ORDER BY id"#;
    wait_rows(&db, copied, &[row(&[Some("1"), Some("before")])]).await;
    drop(db);

    postgres.stop();
    // A record for the sink while the database is away: its put fails the sink task.
    produce(&bootstrap, "manual", &[manual_event(7, "while down")]).await;
    let expected_trace =
        format!("org.apache.kafka.connect.errors.ConnectException: Could not connect to {url}");
    for name in ["events", "events-sink"] {
        let failed = wait_status(&herder, name, |s| task_states(s) == vec![State::Failed]).await;
        let trace = failed.tasks[0].trace.clone().unwrap_or_default();
        assert!(trace.starts_with(&expected_trace), "{name}: {trace}");
        assert_eq!(
            failed.connector.state,
            State::Running,
            "the connector stays up"
        );
    }

    postgres.start_again();
    let db = postgres.client().await;
    db.batch_execute("INSERT INTO events(what) VALUES ('after')")
        .await
        .unwrap();
    for name in ["events", "events-sink"] {
        herder.restart_task(name, 0).await.unwrap();
        wait_status(&herder, name, |s| task_states(s) == vec![State::Running]).await;
    }
    let values = consume(&bootstrap, "ev-events", 2, Duration::from_secs(1)).await;
    assert_eq!(values.len(), 2, "{values:?}");
    assert!(
        values[1].contains(r#""payload":{"id":2,"what":"after"}"#),
        "{values:?}"
    );
    wait_rows(
        &db,
        copied,
        &[
            row(&[Some("1"), Some("before")]),
            row(&[Some("2"), Some("after")]),
        ],
    )
    .await;
    wait_rows(
        &db,
        "SELECT id::text, what FROM copy_manual ORDER BY id",
        &[
            row(&[Some("6"), Some("early")]),
            row(&[Some("7"), Some("while down")]),
        ],
    )
    .await;
    herder.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_created_later_gets_a_task_through_the_table_monitor() {
    let broker = Broker::start();
    let postgres = pg::Postgres::start().await;
    let db = postgres.client().await;
    db.batch_execute("CREATE TABLE first(id bigserial PRIMARY KEY, v varchar)")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let herder = herder(&broker, &dir.path().join("connect.offsets"));
    let url = postgres.url();
    herder
        .put_connector_config(
            "tables",
            props(&[
                ("connector.class", "JdbcSource"),
                ("connection.url", &url),
                ("mode", "incrementing"),
                ("incrementing.column.name", "id"),
                ("topic.prefix", "mon_"),
                ("table.whitelist", "first,second"),
                ("table.poll.interval.ms", "200"),
                ("poll.interval.ms", "100"),
                ("tasks.max", "2"),
            ]),
            false,
            None,
        )
        .await
        .unwrap();
    wait_status(&herder, "tables", |s| task_states(s) == [State::Running]).await;

    // Confluent's TableMonitorThread notices the new table and the herder gives it a task.
    db.batch_execute(
        "CREATE TABLE second(id bigserial PRIMARY KEY, v varchar); \
         INSERT INTO second(v) VALUES ('late')",
    )
    .await
    .unwrap();
    wait_status(&herder, "tables", |s| {
        task_states(s) == [State::Running, State::Running]
    })
    .await;
    let tasks = herder.task_configs("tables").await.unwrap();
    let tables: Vec<&str> = tasks
        .iter()
        .map(|t| t.config.get("tables").map(String::as_str).unwrap_or(""))
        .collect();
    assert_eq!(
        tables,
        [
            r#""rafka"."public"."first""#,
            r#""rafka"."public"."second""#
        ]
    );
    let values = consume(&broker.bootstrap(), "mon_second", 1, Duration::ZERO).await;
    assert!(
        values[0].contains(r#""payload":{"id":1,"v":"late"}"#),
        "{values:?}"
    );
}
