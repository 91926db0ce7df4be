//! `rafka consumer-groups` (kafka-consumer-groups.sh) against a real broker with real
//! group members (librdkafka consumers): what it lists and describes while a member is
//! active and after it leaves, offset resets (every target as a dry run, then executed
//! and seen by a new member), deletion, and one-line errors on bad input.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, BrokerProcess};
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::Message;

const RAFKA: &str = env!("CARGO_BIN_EXE_rafka");
const TOPIC: &str = "orders";
const GROUP: &str = "billing";

fn run(broker: &BrokerProcess, args: &[&str]) -> Output {
    let bootstrap = format!("127.0.0.1:{}", broker.port);
    Command::new(RAFKA)
        .arg("consumer-groups")
        .args(["--bootstrap-server", &bootstrap])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rafka")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

/// Runs the tool, which must succeed; returns stdout.
fn ok(broker: &BrokerProcess, args: &[&str]) -> String {
    let output = run(broker, args);
    assert!(
        output.status.success(),
        "consumer-groups {args:?} failed\nstdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Runs the tool until `done` accepts its stdout, or panics at the deadline.
fn poll_until(broker: &BrokerProcess, args: &[&str], done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let output = run(broker, args);
        let stdout = text(&output.stdout);
        if output.status.success() && done(&stdout) {
            return stdout;
        }
        assert!(
            Instant::now() < deadline,
            "consumer-groups {args:?} never matched; last stdout: {stdout}\nstderr: {}",
            text(&output.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The whitespace-separated cells of the table row for `partition` of `TOPIC`.
fn row(table: &str, partition: i32) -> Vec<String> {
    let partition = partition.to_string();
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .find(|cells| cells.len() >= 3 && cells[1] == TOPIC && cells[2] == partition)
        .unwrap_or_else(|| panic!("no row for {TOPIC}-{partition} in:\n{table}"))
}

fn create_topic(broker: &BrokerProcess, partitions: i32) {
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_num_partitions(partitions)
            .with_replication_factor(1)]);
    let response: CreateTopicsResponse = broker.connect().call(ApiKey::CreateTopics, 5, &request);
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
}

fn produce(broker: &BrokerProcess, partition: i32, count: usize) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{}", broker.port))
        .create()
        .expect("producer");
    for i in 0..count {
        let value = format!("record-{i}");
        producer
            .send(
                BaseRecord::<(), _>::to(TOPIC)
                    .partition(partition)
                    .payload(&value),
            )
            .expect("enqueue");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

fn consumer(broker: &BrokerProcess) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", format!("127.0.0.1:{}", broker.port))
        .set("group.id", GROUP)
        .set("client.id", "billing-app")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    consumer
}

/// Polls until `count` records arrived; returns (partition, offset) of each.
fn consume(consumer: &BaseConsumer, count: usize) -> Vec<(i32, i64)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while seen.len() < count {
        assert!(
            Instant::now() < deadline,
            "only {seen:?} of {count} records"
        );
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.expect("consume");
            seen.push((message.partition(), message.offset()));
        }
    }
    seen
}

#[test]
fn describe_reset_and_delete_a_consumer_group() {
    let broker = BrokerProcess::start(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "3"),
    ]);
    create_topic(&broker, 2);
    produce(&broker, 0, 10);
    produce(&broker, 1, 5);

    // An active member that consumed and committed everything.
    let member = consumer(&broker);
    consume(&member, 15);
    member
        .commit_consumer_state(CommitMode::Sync)
        .expect("commit");
    produce(&broker, 0, 3);

    let listed = poll_until(&broker, &["--list"], |out| out.lines().any(|l| l == GROUP));
    assert_eq!(listed.lines().filter(|l| *l == GROUP).count(), 1);
    let listed = ok(&broker, &["--list", "--state"]);
    let header: Vec<&str> = listed.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["GROUP", "STATE"]);
    assert!(listed
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == [GROUP, "Stable"]));
    let empty_only = ok(&broker, &["--list", "--state", "empty"]);
    assert!(!empty_only.contains(GROUP), "{empty_only}");

    let describe = ["--describe", "--group", GROUP];
    let active = poll_until(&broker, &describe, |out| {
        out.contains(TOPIC) && out.contains("billing-app") && out.contains(" 13 ")
    });
    assert!(active.starts_with("\nGROUP "), "{active:?}");
    let header: Vec<&str> = active.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ]
    );
    let p0 = row(&active, 0);
    assert_eq!(p0[..6], [GROUP, TOPIC, "0", "10", "13", "3"]);
    assert!(p0[6].starts_with("billing-app-"), "consumer id {p0:?}");
    assert_eq!(p0[7..], ["/127.0.0.1", "billing-app"]);
    let p1 = row(&active, 1);
    assert_eq!(p1[..6], [GROUP, TOPIC, "1", "5", "5", "0"]);
    assert_eq!(p1[6], p0[6], "one member owns both partitions");
    let consumer_id = p0[6].clone();

    let members = ok(&broker, &["--describe", "--group", GROUP, "--members"]);
    let cells: Vec<&str> = members.lines().nth(2).unwrap().split_whitespace().collect();
    assert_eq!(
        cells,
        [
            GROUP,
            consumer_id.as_str(),
            "/127.0.0.1",
            "billing-app",
            "2"
        ]
    );
    let verbose = ok(
        &broker,
        &["--describe", "--group", GROUP, "--members", "--verbose"],
    );
    assert!(verbose.contains("CURRENT-ASSIGNMENT"), "{verbose}");
    assert!(verbose.contains(" orders:0,1 "), "{verbose}");
    let state = ok(&broker, &["--describe", "--group", GROUP, "--state"]);
    let lines: Vec<Vec<&str>> = state
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[1],
        [
            "GROUP",
            "COORDINATOR",
            "(ID)",
            "ASSIGNMENT-STRATEGY",
            "STATE",
            "#MEMBERS"
        ]
    );
    assert_eq!(lines[2][0], GROUP);
    assert_eq!(lines[2][2], "(1)");
    assert_eq!(lines[2][4..], ["Stable", "1"]);

    // An active group is neither reset nor deleted.
    let refused = run(
        &broker,
        &[
            "--reset-offsets",
            "--group",
            GROUP,
            "--topic",
            TOPIC,
            "--to-earliest",
            "--execute",
        ],
    );
    // Kafka prints the refusal and exits 0.
    assert_eq!(refused.status.code(), Some(0));
    assert!(text(&refused.stdout).contains(
        "Error: Assignments can only be reset if the group 'billing' is inactive, but the \
         current state is Stable."
    ));
    let refused = run(&broker, &["--delete", "--group", GROUP]);
    assert_eq!(refused.status.code(), Some(0));
    let out = text(&refused.stdout);
    assert!(
        out.contains("Error: Deletion of some consumer groups failed:"),
        "{out}"
    );
    assert!(out.contains(
        "* Group 'billing' could not be deleted due to: \
         org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty."
    ));

    // The member leaves: its partitions show `-` for the member columns.
    drop(member);
    let output = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let output = run(&broker, &describe);
            if text(&output.stderr).contains("has no active members") {
                break output;
            }
            assert!(Instant::now() < deadline, "the member never left");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    assert!(output.status.success());
    assert!(text(&output.stderr).contains("\nConsumer group 'billing' has no active members."));
    let idle = text(&output.stdout);
    assert_eq!(
        row(&idle, 0),
        [GROUP, TOPIC, "0", "10", "13", "3", "-", "-", "-"]
    );
    assert_eq!(
        row(&idle, 1),
        [GROUP, TOPIC, "1", "5", "5", "0", "-", "-", "-"]
    );

    // Every target as a dry run: the plan is printed and nothing changes.
    let plan = |extra: &[&str]| -> Vec<(i32, i64)> {
        let mut args = vec!["--reset-offsets", "--group", GROUP, "--dry-run"];
        args.extend_from_slice(extra);
        let out = ok(&broker, &args);
        let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
        let header: Vec<&str> = lines
            .iter()
            .find(|l| l.starts_with("GROUP"))
            .unwrap_or_else(|| panic!("no plan in {out}"))
            .split_whitespace()
            .collect();
        assert_eq!(header, ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]);
        lines
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|c| c.len() == 4 && c[0] == GROUP)
            .map(|c| (c[2].parse().unwrap(), c[3].parse().unwrap()))
            .collect()
    };
    let all = ["--topic", TOPIC];
    assert_eq!(
        plan(&[&all[..], &["--to-earliest"]].concat()),
        [(0, 0), (1, 0)]
    );
    assert_eq!(
        plan(&[&all[..], &["--to-latest"]].concat()),
        [(0, 13), (1, 5)]
    );
    assert_eq!(plan(&["--all-topics", "--to-current"]), [(0, 10), (1, 5)]);
    assert_eq!(
        plan(&[&all[..], &["--to-offset", "7"]].concat()),
        [(0, 7), (1, 5)]
    );
    assert_eq!(
        plan(&[&all[..], &["--shift-by", "-2"]].concat()),
        [(0, 8), (1, 3)]
    );
    assert_eq!(
        plan(&[&all[..], &["--shift-by", "100"]].concat()),
        [(0, 13), (1, 5)]
    );
    assert_eq!(
        plan(&[&all[..], &["--to-datetime", "2000-01-01T00:00:00.000"]].concat()),
        [(0, 0), (1, 0)]
    );
    assert_eq!(
        plan(
            &[
                &all[..],
                &["--to-datetime", "2999-01-01T00:00:00.000+01:00"]
            ]
            .concat()
        ),
        [(0, 13), (1, 5)]
    );
    assert_eq!(
        plan(&[&all[..], &["--by-duration", "P1D"]].concat()),
        [(0, 0), (1, 0)]
    );
    assert_eq!(plan(&["--topic", "orders:1", "--to-earliest"]), [(1, 0)]);
    let csv = ok(
        &broker,
        &[
            "--reset-offsets",
            "--group",
            GROUP,
            "--topic",
            TOPIC,
            "--to-offset",
            "2",
            "--export",
        ],
    );
    assert_eq!(csv.trim_end(), "orders,0,2\norders,1,2");
    let unchanged = ok(&broker, &describe);
    assert_eq!(row(&unchanged, 0)[3], "10");
    assert_eq!(row(&unchanged, 1)[3], "5");

    // Executed: a new member of the group starts where the reset put it.
    let executed = ok(
        &broker,
        &[
            "--reset-offsets",
            "--group",
            GROUP,
            "--topic",
            "orders:0",
            "--to-offset",
            "4",
            "--execute",
        ],
    );
    assert_eq!(row(&executed, 0)[3], "4");
    assert_eq!(row(&ok(&broker, &describe), 0)[3..6], ["4", "13", "9"]);
    let member = consumer(&broker);
    let first = consume(&member, 1);
    assert_eq!(first, [(0, 4)], "the first record after the reset");
    drop(member);

    // Offsets of one partition, then the whole group.
    let deadline = Instant::now() + Duration::from_secs(30);
    let deleted = loop {
        let output = run(
            &broker,
            &["--delete-offsets", "--group", GROUP, "--topic", "orders:1"],
        );
        if output.status.success() {
            break text(&output.stdout);
        }
        assert!(Instant::now() < deadline, "{}", text(&output.stdout));
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(deleted.starts_with("Request succeeded for deleting offsets from group billing."));
    let cells: Vec<&str> = deleted.lines().last().unwrap().split_whitespace().collect();
    assert_eq!(cells, [TOPIC, "1", "Successful"]);
    let remaining = ok(&broker, &describe);
    assert!(
        !remaining
            .lines()
            .any(|l| l.split_whitespace().nth(2) == Some("1")),
        "{remaining}"
    );

    let out = ok(&broker, &["--delete", "--group", GROUP]);
    assert_eq!(
        out,
        "Deletion of requested consumer groups ('billing') was successful.\n"
    );
    assert!(!ok(&broker, &["--list"]).lines().any(|l| l == GROUP));
    let gone = run(&broker, &describe);
    assert_eq!(gone.status.code(), Some(0));
    assert_eq!(
        text(&gone.stdout),
        "\nError: Executing consumer group command failed due to \
         org.apache.kafka.common.errors.GroupIdNotFoundException: Group billing not found.\n"
    );
}

/// Fails with exit status 1 and exactly one line on stderr, with no panic.
fn one_line_error(output: Output) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr.trim_end().to_string()
}

fn bare(args: &[&str]) -> Output {
    Command::new(RAFKA)
        .arg("consumer-groups")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rafka")
}

#[test]
fn bad_input_gives_one_line_errors() {
    assert_eq!(
        one_line_error(bare(&["--list"])),
        "Error: Missing required argument \"[bootstrap-server]\""
    );
    assert_eq!(
        one_line_error(bare(&["--bootstrap-server", "127.0.0.1:1", "--lists"])),
        "Error: lists is not a recognized option"
    );
    assert_eq!(
        one_line_error(bare(&["--bootstrap-server", "127.0.0.1:1", "--describe"])),
        "Error: Option [describe] takes one of these options: [group], [all-groups]"
    );
    assert!(one_line_error(bare(&["--bootstrap-server", "127.0.0.1:1"]))
        .starts_with("Error: Command must include exactly one action: --list, --describe"));
    assert_eq!(
        one_line_error(bare(&[
            "--bootstrap-server",
            "127.0.0.1:1",
            "--reset-offsets",
            "--group",
            "g",
            "--to-latest",
            "--dry-run"
        ])),
        "Error: One of the reset scopes should be defined: --all-topics, --topic."
    );
    let nobody = format!("127.0.0.1:{}", free_port());
    let unreachable = one_line_error(bare(&[
        "--bootstrap-server",
        &nobody,
        "--list",
        "--timeout",
        "2000",
    ]));
    assert!(
        unreachable.starts_with("Error: could not connect to the broker"),
        "{unreachable}"
    );
}
