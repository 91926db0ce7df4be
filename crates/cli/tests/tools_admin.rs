//! The admin tools (`rafka topics`, `configs`, `get-offsets`, `delete-records`,
//! `log-dirs`, `broker-api-versions`, `dump-log`, `storage`) run as processes against a
//! real broker: what they print, what they change, and how they fail on bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{batch, free_port, BrokerProcess, Client};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

const RAFKA: &str = env!("CARGO_BIN_EXE_rafka");

fn rafka(args: &[&str]) -> Output {
    Command::new(RAFKA)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rafka")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

/// Runs a tool that must succeed and returns its stdout.
fn ok(args: &[&str]) -> String {
    let output = rafka(args);
    assert!(
        output.status.success(),
        "rafka {args:?} failed: {}\nstdout: {}",
        stderr(&output),
        stdout(&output)
    );
    stdout(&output)
}

/// Runs a tool that must fail with exit 1 and one line on stderr, without a panic;
/// returns that line.
fn fails(args: &[&str]) -> String {
    let output = rafka(args);
    assert_eq!(
        output.status.code(),
        Some(1),
        "rafka {args:?}: stdout {} stderr {}",
        stdout(&output),
        stderr(&output)
    );
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "rafka {args:?} panicked: {err}");
    assert_eq!(
        err.lines().count(),
        1,
        "rafka {args:?}: not one line: {err:?}"
    );
    err.trim_end().to_string()
}

/// Runs a tool that must fail with exit 1 and one line on stdout, as Kafka's
/// `kafka-topics.sh` prints `Error while executing topic command : …`; returns that line.
fn fails_out(args: &[&str]) -> String {
    let output = rafka(args);
    assert_eq!(
        output.status.code(),
        Some(1),
        "rafka {args:?}: stdout {} stderr {}",
        stdout(&output),
        stderr(&output)
    );
    let out = stdout(&output);
    assert!(
        !stderr(&output).contains("panicked"),
        "rafka {args:?} panicked"
    );
    assert_eq!(
        out.lines().count(),
        1,
        "rafka {args:?}: not one line: {out:?}"
    );
    out.trim_end().to_string()
}

fn bootstrap(broker: &BrokerProcess) -> String {
    format!("127.0.0.1:{}", broker.port)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Produces one batch with acks=1 and returns the partition's error code.
fn produce(broker: &BrokerProcess, topic: &str, partition: i32, records: Bytes) -> i16 {
    let request = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    let response: ProduceResponse = Client::connect(broker.port).call(ApiKey::Produce, 9, &request);
    response.responses[0].partition_responses[0].error_code
}

fn create_topic(broker: &BrokerProcess, topic: &str, partitions: &str) {
    let out = ok(&[
        "topics",
        "--bootstrap-server",
        &bootstrap(broker),
        "--create",
        "--topic",
        topic,
        "--partitions",
        partitions,
    ]);
    assert_eq!(out, format!("Created topic {topic}.\n"));
}

#[test]
fn topics_create_describe_alter_and_delete_like_kafka() {
    let broker = BrokerProcess::start(&[]);
    let bs = bootstrap(&broker);
    let out = ok(&[
        "topics",
        "--create",
        "--topic",
        "orders",
        "--partitions",
        "3",
        "--replication-factor",
        "1",
        "--config",
        "retention.ms=1000",
        "--bootstrap-server",
        &bs,
    ]);
    assert_eq!(out, "Created topic orders.\n");

    let again = fails_out(&[
        "topics",
        "--create",
        "--topic",
        "orders",
        "--bootstrap-server",
        &bs,
    ]);
    assert_eq!(
        again,
        "Error while executing topic command : Topic 'orders' already exists."
    );
    assert_eq!(
        ok(&[
            "topics",
            "--create",
            "--if-not-exists",
            "--topic",
            "orders",
            "--bootstrap-server",
            &bs
        ]),
        ""
    );
    create_topic(&broker, "audit", "1");
    assert_eq!(
        ok(&["topics", "--list", "--bootstrap-server", &bs]),
        "audit\norders\n"
    );
    assert_eq!(
        ok(&[
            "topics",
            "--list",
            "--topic",
            "ord.*",
            "--bootstrap-server",
            &bs
        ]),
        "orders\n"
    );

    let describe = ok(&[
        "topics",
        "--describe",
        "--topic",
        "orders",
        "--bootstrap-server",
        &bs,
    ]);
    let lines: Vec<&str> = describe.lines().collect();
    assert_eq!(lines.len(), 4, "{describe}");
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(fields[0], "Topic: orders");
    let topic_id = fields[1].strip_prefix("TopicId: ").expect("a topic id");
    assert_eq!(topic_id.len(), 22);
    assert_eq!(fields[2], "PartitionCount: 3");
    assert_eq!(fields[3], "ReplicationFactor: 1");
    let configs = fields[4].strip_prefix("Configs: ").unwrap();
    assert!(
        configs.split(',').any(|c| c == "retention.ms=1000"),
        "{configs}"
    );
    for (partition, line) in lines[1..].iter().enumerate() {
        assert_eq!(
            *line,
            format!("\tTopic: orders\tPartition: {partition}\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr: ")
        );
    }
    // Nothing is under-replicated on one node: only the filter's (empty) answer prints.
    assert_eq!(
        ok(&[
            "topics",
            "--describe",
            "--under-replicated-partitions",
            "--bootstrap-server",
            &bs
        ]),
        ""
    );

    assert_eq!(
        ok(&[
            "topics",
            "--alter",
            "--topic",
            "orders",
            "--partitions",
            "5",
            "--bootstrap-server",
            &bs
        ]),
        ""
    );
    let describe = ok(&[
        "topics",
        "--describe",
        "--topic",
        "orders",
        "--bootstrap-server",
        &bs,
    ]);
    assert!(describe
        .lines()
        .next()
        .unwrap()
        .contains("\tPartitionCount: 5\t"));
    assert_eq!(describe.lines().count(), 6);
    assert!(broker.data_dir().join("orders-4").is_dir());

    let decrease = fails_out(&[
        "topics",
        "--alter",
        "--topic",
        "orders",
        "--partitions",
        "2",
        "--bootstrap-server",
        &bs,
    ]);
    assert_eq!(
        decrease,
        "Error while executing topic command : The topic orders currently has 5 partition(s); 2 would not be an increase."
    );

    assert_eq!(
        ok(&[
            "topics",
            "--delete",
            "--topic",
            "orders",
            "--bootstrap-server",
            &bs
        ]),
        ""
    );
    assert_eq!(
        ok(&["topics", "--list", "--bootstrap-server", &bs]),
        "audit\n"
    );
    assert!(!broker.data_dir().join("orders-0").exists());
    assert_eq!(
        fails_out(&[
            "topics",
            "--describe",
            "--topic",
            "orders",
            "--bootstrap-server",
            &bs
        ]),
        "Error while executing topic command : Topic 'orders' does not exist as expected"
    );
    assert_eq!(
        ok(&[
            "topics",
            "--delete",
            "--if-exists",
            "--topic",
            "orders",
            "--bootstrap-server",
            &bs
        ]),
        ""
    );
}

#[test]
fn configs_alter_describe_and_the_broker_applies_them() {
    let broker = BrokerProcess::start(&[]);
    let bs = bootstrap(&broker);
    create_topic(&broker, "cfg", "1");
    let big = "x".repeat(500);
    assert_eq!(produce(&broker, "cfg", 0, batch(&[&big], now_ms())), 0);

    let out = ok(&[
        "configs",
        "--bootstrap-server",
        &bs,
        "--entity-type",
        "topics",
        "--entity-name",
        "cfg",
        "--alter",
        "--add-config",
        "max.message.bytes=200,cleanup.policy=[compact,delete],retention.ms=1000",
    ]);
    assert_eq!(out, "Completed updating config for topic cfg.\n");
    // The broker enforces it: the same record is now too large.
    assert_ne!(produce(&broker, "cfg", 0, batch(&[&big], now_ms())), 0);

    let describe = ok(&[
        "configs",
        "--bootstrap-server",
        &bs,
        "--describe",
        "--topic",
        "cfg",
    ]);
    let lines: Vec<&str> = describe.lines().collect();
    assert_eq!(lines[0], "Dynamic configs for topic cfg are:");
    assert_eq!(lines.len(), 4, "{describe}");
    assert!(lines[1].starts_with(
        "  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete"
    ));
    assert!(lines[2].starts_with(
        "  max.message.bytes=200 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:max.message.bytes=200"
    ));
    // Kafka 4.1 defines log.retention.ms with no default and lists no DEFAULT synonym
    // for retention.ms (tests/compat/test_oracle_topics.py compares this with Kafka).
    assert_eq!(
        lines[3],
        "  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}"
    );

    let all = ok(&[
        "configs",
        "--bootstrap-server",
        &bs,
        "--describe",
        "--all",
        "--topic",
        "cfg",
    ]);
    assert!(all.starts_with("All configs for topic cfg are:\n"));
    assert!(all.lines().any(|l| l.starts_with("  segment.bytes=")));

    assert_eq!(
        ok(&[
            "configs",
            "--bootstrap-server",
            &bs,
            "--alter",
            "--topic",
            "cfg",
            "--delete-config",
            "max.message.bytes,retention.ms"
        ]),
        "Completed updating config for topic cfg.\n"
    );
    let describe = ok(&[
        "configs",
        "--bootstrap-server",
        &bs,
        "--describe",
        "--topic",
        "cfg",
    ]);
    assert_eq!(describe.lines().count(), 2, "{describe}");
    assert_eq!(produce(&broker, "cfg", 0, batch(&[&big], now_ms())), 0);
    assert_eq!(
        fails(&[
            "configs",
            "--bootstrap-server",
            &bs,
            "--alter",
            "--topic",
            "cfg",
            "--delete-config",
            "nope"
        ]),
        "Invalid config(s): nope"
    );

    assert_eq!(
        ok(&[
            "configs",
            "--bootstrap-server",
            &bs,
            "--alter",
            "--entity-type",
            "brokers",
            "--entity-default",
            "--add-config",
            "log.retention.ms=604800001"
        ]),
        "Completed updating default config for brokers in the cluster.\n"
    );
    let describe = ok(&[
        "configs",
        "--bootstrap-server",
        &bs,
        "--describe",
        "--entity-type",
        "brokers",
        "--entity-default",
    ]);
    assert!(
        describe.starts_with(
            "Default configs for brokers in the cluster are:\n  log.retention.ms=604800001 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=604800001"
        ),
        "{describe}"
    );
    assert_eq!(describe.lines().count(), 2, "{describe}");
    // The topic without an override now inherits it.
    let all = ok(&[
        "configs",
        "--bootstrap-server",
        &bs,
        "--describe",
        "--all",
        "--topic",
        "cfg",
    ]);
    assert!(
        all.lines()
            .any(|l| l.starts_with("  retention.ms=604800001 ")),
        "{all}"
    );
    assert_eq!(
        fails(&["configs", "--describe", "--topic", "cfg"]),
        "Either --bootstrap-server or --bootstrap-controller must be specified."
    );
    assert_eq!(
        fails(&["configs", "--bootstrap-server", &bs, "--topic", "cfg"]),
        "Command must include exactly one action: --describe, --alter"
    );
}

#[test]
fn get_offsets_and_delete_records_move_the_log_start() {
    let broker = BrokerProcess::start(&[]);
    let bs = bootstrap(&broker);
    create_topic(&broker, "offs", "2");
    let t0 = now_ms() - 10_000;
    assert_eq!(produce(&broker, "offs", 0, batch(&["a", "b", "c"], t0)), 0);
    assert_eq!(
        produce(&broker, "offs", 1, batch(&["a", "b", "c", "d", "e"], t0)),
        0
    );

    assert_eq!(
        ok(&["get-offsets", "--bootstrap-server", &bs, "--topic", "offs"]),
        "offs:0:3\noffs:1:5\n"
    );
    assert_eq!(
        ok(&[
            "get-offsets",
            "--bootstrap-server",
            &bs,
            "--topic",
            "of.*",
            "--time",
            "-2"
        ]),
        "offs:0:0\noffs:1:0\n"
    );
    assert_eq!(
        ok(&[
            "get-offsets",
            "--bootstrap-server",
            &bs,
            "--topic",
            "offs",
            "--partitions",
            "1",
            "--time",
            "earliest"
        ]),
        "offs:1:0\n"
    );
    assert_eq!(
        ok(&[
            "get-offsets",
            "--bootstrap-server",
            &bs,
            "--topic-partitions",
            "offs:0"
        ]),
        "offs:0:3\n"
    );
    // The first offset whose timestamp is at or after t0+2.
    assert_eq!(
        ok(&[
            "get-offsets",
            "--bootstrap-server",
            &bs,
            "--topic",
            "offs",
            "--partitions",
            "0",
            "--time",
            &(t0 + 2).to_string()
        ]),
        "offs:0:2\n"
    );
    assert_eq!(
        ok(&[
            "get-offsets",
            "--bootstrap-server",
            &bs,
            "--topic",
            "offs",
            "--time",
            "max-timestamp"
        ]),
        "offs:0:2\noffs:1:4\n"
    );
    assert_eq!(
        fails(&[
            "get-offsets",
            "--bootstrap-server",
            &bs,
            "--topic",
            "nothing-here"
        ]),
        "Error occurred: Could not match any topic-partitions with the specified filters"
    );

    let json = broker.dir.path().join("delete.json");
    std::fs::write(
        &json,
        r#"{"partitions":[{"topic":"offs","partition":0,"offset":2}],"version":1}"#,
    )
    .unwrap();
    let out = ok(&[
        "delete-records",
        "--bootstrap-server",
        &bs,
        "--offset-json-file",
        json.to_str().unwrap(),
    ]);
    assert_eq!(
        out,
        "Executing records delete operation\nRecords delete operation completed:\npartition: offs-0\tlow_watermark: 2\n"
    );
    assert_eq!(
        ok(&[
            "get-offsets",
            "--bootstrap-server",
            &bs,
            "--topic",
            "offs",
            "--time",
            "-2"
        ]),
        "offs:0:2\noffs:1:0\n"
    );
    // -1 deletes up to the high watermark.
    std::fs::write(
        &json,
        r#"{"partitions":[{"topic":"offs","partition":1,"offset":-1}]}"#,
    )
    .unwrap();
    let out = ok(&[
        "delete-records",
        "--bootstrap-server",
        &bs,
        "--offset-json-file",
        json.to_str().unwrap(),
    ]);
    assert!(
        out.ends_with("partition: offs-1\tlow_watermark: 5\n"),
        "{out}"
    );
    std::fs::write(&json, "not json").unwrap();
    assert_eq!(
        fails(&[
            "delete-records",
            "--bootstrap-server",
            &bs,
            "--offset-json-file",
            json.to_str().unwrap()
        ]),
        "Error: The input string is not a valid JSON"
    );
}

#[test]
fn log_dirs_and_api_versions_describe_the_broker() {
    let broker = BrokerProcess::start(&[]);
    let bs = bootstrap(&broker);
    create_topic(&broker, "sized", "1");
    create_topic(&broker, "other", "1");
    assert_eq!(
        produce(&broker, "sized", 0, batch(&["hello", "world"], now_ms())),
        0
    );

    let out = ok(&[
        "log-dirs",
        "--bootstrap-server",
        &bs,
        "--describe",
        "--topic-list",
        "sized",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], "Querying brokers for log directories information");
    assert_eq!(
        lines[1],
        "Received log directory information from brokers 1"
    );
    let json = lines[2];
    assert!(
        json.starts_with(
            r#"{"brokers":[{"broker":1,"logDirs":[{"partitions":[{"partition":"sized-0","size":"#
        ),
        "{json}"
    );
    assert!(json.ends_with(r#"}],"version":1}"#), "{json}");
    assert!(
        json.contains(&format!(
            r#""error":null,"logDir":"{}"}}"#,
            broker.data_dir().display()
        )),
        "{json}"
    );
    assert!(!json.contains("other-0"));
    let size: u64 = json
        .split(r#""partition":"sized-0","size":"#)
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .expect("a size");
    assert!(size > 61, "{json}");
    assert!(ok(&["log-dirs", "--bootstrap-server", &bs, "--describe"])
        .contains(r#""partition":"other-0""#));
    assert_eq!(
        fails(&[
            "log-dirs",
            "--bootstrap-server",
            &bs,
            "--describe",
            "--broker-list",
            "7"
        ]),
        "ERROR: The given brokers do not exist from --broker-list: 7. Current existent brokers: 1"
    );
    assert_eq!(
        fails(&["log-dirs", "--bootstrap-server", &bs]),
        r#"Error: Missing required argument "[describe]""#
    );

    let out = ok(&["broker-api-versions", "--bootstrap-server", &bs]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "127.0.0.1:{} (id: 1 rack: null isFenced: false) -> (",
            broker.port
        )
    );
    let produce_line = lines
        .iter()
        .find(|l| l.starts_with("\tProduce(0): "))
        .expect("Produce listed");
    assert!(
        produce_line.ends_with(" to 13 [usable: 13],"),
        "{produce_line}"
    );
    assert!(
        lines.contains(&"\tApiVersions(18): 0 to 4 [usable: 4],"),
        "{out}"
    );
    // Share groups serve ShareFetch v1 and the offsets APIs' v0; client quotas are not
    // served yet.
    assert!(lines.contains(&"\tShareFetch(78): 1 [usable: 1],"), "{out}");
    assert!(
        lines.contains(&"\tDescribeShareGroupOffsets(90): 0 [usable: 0],"),
        "{out}"
    );
    assert!(
        lines.contains(&"\tDescribeClientQuotas(48): UNSUPPORTED,"),
        "{out}"
    );
    assert_eq!(*lines.last().unwrap(), ")");
}

#[test]
fn dump_log_prints_segments_and_indexes() {
    let mut broker = BrokerProcess::start(&[("log.index.interval.bytes", "1")]);
    let bs = bootstrap(&broker);
    create_topic(&broker, "dump", "1");
    let t0 = now_ms();
    assert_eq!(
        produce(&broker, "dump", 0, batch(&["hello", "world", "again"], t0)),
        0
    );
    assert_eq!(produce(&broker, "dump", 0, batch(&["more"], t0 + 10)), 0);
    let dir = broker.data_dir().join("dump-0");
    let log = dir.join("00000000000000000000.log");
    let log_path = log.to_str().unwrap();

    let shallow = ok(&["dump-log", "--files", log_path]);
    let lines: Vec<&str> = shallow.lines().collect();
    assert_eq!(lines[0], format!("Dumping {log_path}"));
    assert_eq!(lines[1], "Log starting offset: 0");
    assert!(lines[2].starts_with("baseOffset: 0 lastOffset: 2 count: 3 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: "), "{}", lines[2]);
    assert!(lines[2].contains(" isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 "), "{}", lines[2]);
    assert!(
        lines[2].contains(&format!(" CreateTime: {} size: ", t0 + 2)),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with(" isvalid: true"), "{}", lines[2]);
    assert!(lines[2].contains(" magic: 2 compresscodec: none crc: "));
    assert!(
        lines[3].starts_with("baseOffset: 3 lastOffset: 3 count: 1 "),
        "{shallow}"
    );
    assert_eq!(lines.len(), 4, "{shallow}");

    let deep = ok(&["dump-log", "--files", log_path, "--print-data-log"]);
    assert!(deep.contains(&format!(
        "\n| offset: 0 CreateTime: {t0} keySize: 5 valueSize: 5 sequence: -1 headerKeys: [] key: key-0 payload: hello\n"
    )), "{deep}");
    assert!(deep.contains("| offset: 2 CreateTime: "));
    assert!(deep.contains("key: key-0 payload: more\n"));

    // The active segment's index entries reach its files at roll, flush or a clean
    // shutdown (no index I/O per append), so the indexes are dumped after a clean stop.
    assert_eq!(broker.stop(), Some(0));
    let index = dir.join("00000000000000000000.index");
    let out = ok(&["dump-log", "--files", index.to_str().unwrap()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("Dumping {}", index.display()));
    // Kafka indexes a batch once more than index.interval.bytes were written since the
    // last entry: the second batch, at the first one's end.
    let second_position = shallow
        .lines()
        .nth(3)
        .and_then(|l| l.split(" position: ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_string();
    assert!(
        lines.contains(&format!("offset: 3 position: {second_position}").as_str()),
        "{out}"
    );
    assert!(
        lines[1..].iter().all(|l| l.starts_with("offset: ")),
        "{out}"
    );

    let time_index = dir.join("00000000000000000000.timeindex");
    let out = ok(&["dump-log", "--files", time_index.to_str().unwrap()]);
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("timestamp: ") && l.contains(" offset: ")),
        "{out}"
    );

    let missing = fails(&[
        "dump-log",
        "--files",
        "/nonexistent/00000000000000000000.log",
    ]);
    assert!(
        missing.contains("/nonexistent/00000000000000000000.log"),
        "{missing}"
    );
    assert_eq!(
        fails(&["dump-log"]),
        r#"Error: Missing required argument "[files]""#
    );
    let _ = bs;
}

/// A KRaft-mode config (combined broker and controller) for `storage format`.
fn kraft_config(dir: &Path, port: u16) -> PathBuf {
    let controller_port = free_port();
    let path = dir.join("kraft.properties");
    std::fs::write(
        &path,
        format!(
            "process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@127.0.0.1:{controller_port}\nlisteners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\ncontroller.listener.names=CONTROLLER\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\nlog.dirs={}\n",
            dir.join("kraft-logs").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn storage_formats_once_and_the_server_starts_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let cluster_id = ok(&["storage", "random-uuid"]);
    let cluster_id = cluster_id.trim();
    assert_eq!(cluster_id.len(), 22);
    assert!(cluster_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));

    let port = free_port();
    let config = kraft_config(dir.path(), port);
    let config = config.to_str().unwrap();
    let logs = dir.path().join("kraft-logs");
    let out = ok(&["storage", "format", "-t", cluster_id, "-c", config]);
    assert_eq!(
        out,
        format!(
            "Formatting metadata directory {} with metadata.version 4.1-IV1.\n",
            logs.display()
        )
    );
    let meta = std::fs::read_to_string(logs.join("meta.properties")).unwrap();
    assert!(
        meta.contains(&format!("cluster.id={cluster_id}\n")),
        "{meta}"
    );
    assert!(meta.contains("node.id=1\n"));

    assert_eq!(
        fails(&["storage", "format", "--cluster-id", cluster_id, "--config", config]),
        format!(
            "Error: Log directory {} is already formatted. Use --ignore-formatted to ignore this directory and format the others.",
            logs.display()
        )
    );
    assert_eq!(
        ok(&[
            "storage",
            "format",
            "-t",
            cluster_id,
            "-c",
            config,
            "--ignore-formatted"
        ]),
        "All of the log directories are already formatted.\n"
    );
    let info = ok(&["storage", "info", "-c", config]);
    assert!(info.starts_with(&format!(
        "Found log directory:\n  {}\n\nFound metadata: MetaProperties(version=1, clusterId={cluster_id}, nodeId=1, directoryId=",
        logs.display()
    )), "{info}");
    assert_eq!(
        fails(&["storage", "format", "-c", config]),
        "Error: argument --cluster-id/-t is required"
    );

    // The server starts on the formatted directory and serves.
    let mut server = Command::new(RAFKA)
        .args(["server", "start", config])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let listed = loop {
        if let Ok(Some(status)) = server.try_wait() {
            panic!("the server exited with {status}");
        }
        if common::listening(port) {
            break ok(&[
                "topics",
                "--list",
                "--bootstrap-server",
                &format!("127.0.0.1:{port}"),
            ]);
        }
        assert!(Instant::now() < deadline, "the server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(listed, "\n");
}

#[test]
fn bad_input_gives_one_line_and_exit_1() {
    let closed = format!("127.0.0.1:{}", free_port());
    for tool in [
        "topics",
        "configs",
        "get-offsets",
        "delete-records",
        "log-dirs",
        "broker-api-versions",
        "dump-log",
        "storage",
    ] {
        let line = fails(&[tool, "--bogus"]);
        assert!(line.contains("bogus"), "{tool}: {line}");
        let help = rafka(&[tool, "--help"]);
        assert!(help.status.success(), "{tool} --help");
        assert!(stdout(&help).contains("Usage:"), "{tool} --help");
    }
    let missing_bootstrap: [&[&str]; 4] = [
        &["get-offsets", "--topic", "t"],
        &["delete-records", "--offset-json-file", "f.json"],
        &["log-dirs", "--describe"],
        &["broker-api-versions"],
    ];
    for args in missing_bootstrap {
        assert_eq!(
            fails(args),
            r#"Error: Missing required argument "[bootstrap-server]""#,
            "{args:?}"
        );
    }
    assert_eq!(
        fails(&["topics", "--list"]),
        "--bootstrap-server must be specified"
    );
    assert_eq!(
        fails(&["topics", "--bootstrap-server", &closed, "--list", "--create"]),
        "Command must include exactly one action: --list, --describe, --create, --alter or --delete"
    );
    assert_eq!(
        fails(&["topics", "--bootstrap-server", &closed, "--create"]),
        r#"Missing required argument "[topic]""#
    );

    let json = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        json.path(),
        r#"{"partitions":[{"topic":"t","partition":0,"offset":1}]}"#,
    )
    .unwrap();
    let json = json.path().to_str().unwrap().to_string();
    let unreachable: Vec<Vec<&str>> = vec![
        vec!["topics", "--bootstrap-server", &closed, "--list"],
        vec![
            "topics",
            "--bootstrap-server",
            &closed,
            "--delete",
            "--topic",
            "t",
        ],
        vec![
            "configs",
            "--bootstrap-server",
            &closed,
            "--describe",
            "--topic",
            "t",
        ],
        vec!["get-offsets", "--bootstrap-server", &closed, "--topic", "t"],
        vec![
            "delete-records",
            "--bootstrap-server",
            &closed,
            "--offset-json-file",
            &json,
        ],
        vec!["log-dirs", "--bootstrap-server", &closed, "--describe"],
        vec!["broker-api-versions", "--bootstrap-server", &closed],
    ];
    for args in unreachable {
        let started = Instant::now();
        let line = fails(&args);
        assert!(line.contains(&closed), "{args:?}: {line}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{args:?} took {:?}",
            started.elapsed()
        );
    }
}

/// `bin/kafka-*.sh` exec the binary named by `$RAFKA_BIN`: a tutorial's command line
/// works through every admin tool's wrapper.
#[test]
fn wrapper_scripts_run_the_admin_tools() {
    let bin = common::repo_path("bin");
    let broker = BrokerProcess::start(&[]);
    let bs = bootstrap(&broker);
    let run = |script: &str, args: &[&str]| {
        Command::new(bin.join(script))
            .args(args)
            .env("RAFKA_BIN", RAFKA)
            .output()
            .expect("run the wrapper")
    };
    let created = run(
        "kafka-topics.sh",
        &["--create", "--topic", "wrapped", "--bootstrap-server", &bs],
    );
    assert!(created.status.success(), "{}", stderr(&created));
    assert_eq!(stdout(&created), "Created topic wrapped.\n");
    let listed = run("kafka-topics.sh", &["--list", "--bootstrap-server", &bs]);
    assert_eq!(stdout(&listed), "wrapped\n");
    let segment = broker
        .data_dir()
        .join("wrapped-0/00000000000000000000.log")
        .display()
        .to_string();
    let offsets_json = broker.dir.path().join("offsets.json").display().to_string();
    std::fs::write(
        &offsets_json,
        r#"{"partitions":[{"topic":"wrapped","partition":0,"offset":0}],"version":1}"#,
    )
    .unwrap();
    let checks: [(&str, Vec<&str>, &str); 6] = [
        (
            "kafka-get-offsets.sh",
            vec!["--bootstrap-server", &bs, "--topic", "wrapped"],
            "wrapped:0:0\n",
        ),
        (
            "kafka-configs.sh",
            vec![
                "--bootstrap-server",
                &bs,
                "--describe",
                "--topic",
                "wrapped",
            ],
            "Dynamic configs for topic wrapped are:\n",
        ),
        (
            "kafka-log-dirs.sh",
            vec!["--bootstrap-server", &bs, "--describe"],
            "Querying brokers for log directories information\n",
        ),
        (
            "kafka-broker-api-versions.sh",
            vec!["--bootstrap-server", &bs],
            "127.0.0.1:",
        ),
        ("kafka-dump-log.sh", vec!["--files", &segment], "Dumping "),
        (
            "kafka-delete-records.sh",
            vec![
                "--bootstrap-server",
                &bs,
                "--offset-json-file",
                &offsets_json,
            ],
            "Executing records delete operation\n",
        ),
    ];
    for (script, args, prefix) in checks {
        let output = run(script, &args);
        assert!(output.status.success(), "{script}: {}", stderr(&output));
        assert!(
            stdout(&output).starts_with(prefix),
            "{script}: {}",
            stdout(&output)
        );
    }
    // Tools whose whole output is known rather than its start.
    let uuid = run("kafka-storage.sh", &["random-uuid"]);
    assert!(uuid.status.success(), "{}", stderr(&uuid));
    let id = stdout(&uuid);
    assert!(
        id.len() == 23 && id.ends_with('\n'),
        "not a cluster id: {id:?}"
    );
    let groups = run(
        "kafka-consumer-groups.sh",
        &["--bootstrap-server", &bs, "--list"],
    );
    assert!(groups.status.success(), "{}", stderr(&groups));
    assert_eq!(stdout(&groups), "", "this broker has no group");
}
