//! The performance tools (`producer-perf-test`, `consumer-perf-test`, `e2e-latency`) run
//! against a real broker. Each test parses what the tool printed by Kafka's formats and
//! checks the effect on the broker: the records stored, the records read back.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{free_port, BrokerProcess};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

fn start_broker() -> BrokerProcess {
    BrokerProcess::start(&[
        ("group.initial.rebalance.delay.ms", "0"),
        ("offsets.topic.num.partitions", "3"),
    ])
}

fn bootstrap(broker: &BrokerProcess) -> String {
    format!("127.0.0.1:{}", broker.port)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `rafka <tool> args`, which must succeed; returns its stdout.
fn tool_ok(tool: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_rafka"))
        .arg(tool)
        .args(args)
        .output()
        .expect("run rafka");
    assert!(
        output.status.success(),
        "{tool} {args:?} exited with {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The number `text` with exactly `places` digits after the point (Java's `%.<places>f`).
fn decimal(text: &str, places: usize) -> f64 {
    let (whole, fraction) = text
        .split_once('.')
        .unwrap_or_else(|| panic!("{text:?} has no decimal point"));
    assert!(
        !whole.is_empty() && whole.chars().all(|c| c.is_ascii_digit()),
        "{text:?}"
    );
    assert_eq!(
        fraction.len(),
        places,
        "{text:?} should have {places} decimals"
    );
    assert!(fraction.chars().all(|c| c.is_ascii_digit()), "{text:?}");
    text.parse().expect("a number")
}

fn integer(text: &str) -> u64 {
    text.parse()
        .unwrap_or_else(|_| panic!("{text:?} is not an integer"))
}

/// `text` with `prefix` and `suffix` cut off, which must be there.
fn between<'a>(text: &'a str, prefix: &str, suffix: &str) -> &'a str {
    text.strip_prefix(prefix)
        .and_then(|t| t.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("{text:?} is not {prefix:?}…{suffix:?}"))
}

/// Kafka's final producer line, `N records sent, X records/sec (Y MB/sec), A ms avg
/// latency, M ms max latency, p50 ms 50th, p95 ms 95th, p99 ms 99th, p999 ms 99.9th.`
#[derive(Debug)]
struct ProducerTotal {
    records: u64,
    records_per_sec: f64,
    mb_per_sec: f64,
    avg_latency_ms: f64,
    max_latency_ms: f64,
    percentiles_ms: [u64; 4],
}

fn parse_producer_total(line: &str) -> ProducerTotal {
    let fields: Vec<&str> = line.split(", ").collect();
    assert_eq!(fields.len(), 8, "{line}");
    let (records_per_sec, mb) = fields[1]
        .split_once(" records/sec (")
        .unwrap_or_else(|| panic!("{line}"));
    let percentile = |field: &str, name: &str| integer(between(field, "", &format!(" ms {name}")));
    ProducerTotal {
        records: integer(between(fields[0], "", " records sent")),
        records_per_sec: decimal(records_per_sec, 6),
        mb_per_sec: decimal(between(mb, "", " MB/sec)"), 2),
        avg_latency_ms: decimal(between(fields[2], "", " ms avg latency"), 2),
        max_latency_ms: decimal(between(fields[3], "", " ms max latency"), 2),
        percentiles_ms: [
            percentile(fields[4], "50th"),
            percentile(fields[5], "95th"),
            percentile(fields[6], "99th"),
            integer(between(fields[7], "", " ms 99.9th.")),
        ],
    }
}

/// Kafka's 5-second window line: `N records sent, X records/sec (Y MB/sec), A ms avg
/// latency, M ms max latency.` Returns the record count and rate.
fn parse_producer_window(line: &str) -> (u64, f64) {
    let fields: Vec<&str> = line.split(", ").collect();
    assert_eq!(fields.len(), 4, "{line}");
    let records = integer(between(fields[0], "", " records sent"));
    let (rate, mb) = fields[1]
        .split_once(" records/sec (")
        .unwrap_or_else(|| panic!("{line}"));
    decimal(between(mb, "", " MB/sec)"), 2);
    decimal(between(fields[2], "", " ms avg latency"), 1);
    decimal(between(fields[3], "", " ms max latency."), 1);
    (records, decimal(rate, 1))
}

/// The sum of the high watermarks of `topic`'s partitions, read with librdkafka.
fn high_watermark(broker: &BrokerProcess, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap(broker))
        .create()
        .expect("consumer");
    let timeout = Duration::from_secs(10);
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .expect("metadata");
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    assert!(!partitions.is_empty(), "topic {topic} has no partitions");
    partitions
        .iter()
        .map(|p| {
            consumer
                .fetch_watermarks(topic, *p, timeout)
                .expect("watermarks")
                .1
        })
        .sum()
}

/// Runs producer-perf-test; returns its output lines.
fn produce(broker: &BrokerProcess, topic: &str, records: &str, throughput: &str) -> Vec<String> {
    let servers = format!("bootstrap.servers={}", bootstrap(broker));
    let stdout = tool_ok(
        "producer-perf-test",
        &[
            "--topic",
            topic,
            "--num-records",
            records,
            "--record-size",
            "100",
            "--throughput",
            throughput,
            "--producer-props",
            &servers,
            "acks=1",
            "linger.ms=5",
        ],
    );
    stdout.lines().map(str::to_string).collect()
}

#[test]
fn producer_perf_test_stores_every_record_and_prints_kafkas_final_line() {
    let broker = start_broker();
    let lines = produce(&broker, "perf-unlimited", "20000", "-1");
    let total = parse_producer_total(lines.last().expect("a final line"));
    assert_eq!(total.records, 20_000, "{lines:?}");
    assert!(total.records_per_sec > 0.0, "{lines:?}");
    assert!(total.mb_per_sec > 0.0, "{lines:?}");
    assert!(total.avg_latency_ms <= total.max_latency_ms, "{lines:?}");
    let [p50, p95, p99, p999] = total.percentiles_ms;
    assert!(p50 <= p95 && p95 <= p99 && p99 <= p999, "{lines:?}");
    assert!(p999 as f64 <= total.max_latency_ms, "{lines:?}");
    assert_eq!(high_watermark(&broker, "perf-unlimited"), 20_000);
}

#[test]
fn producer_perf_test_throttles_and_prints_a_window_line_every_five_seconds() {
    let broker = start_broker();
    // 12000 records at 2000 records/s: about six seconds, so one window line.
    let lines = produce(&broker, "perf-throttled", "12000", "2000");
    let (last, windows) = lines.split_last().expect("output");
    assert!(!windows.is_empty(), "no window line in {lines:?}");
    let mut windowed = 0;
    for line in windows {
        let (records, rate) = parse_producer_window(line);
        assert!(rate > 0.0 && rate < 2000.0 * 1.2, "{line}");
        windowed += records;
    }
    let total = parse_producer_total(last);
    assert_eq!(total.records, 12_000, "{lines:?}");
    assert!(windowed < total.records, "{lines:?}");
    assert!(
        total.records_per_sec > 0.0 && total.records_per_sec < 2000.0 * 1.2,
        "throttled to 2000/s but sent {} records/s",
        total.records_per_sec
    );
    assert_eq!(high_watermark(&broker, "perf-throttled"), 12_000);
}

const CONSUMER_HEADER: &str = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";

/// Checks Kafka's `yyyy-MM-dd HH:mm:ss:SSS`.
fn assert_kafka_date(text: &str) {
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), 23, "{text:?}");
    for (i, b) in bytes.iter().enumerate() {
        match i {
            4 | 7 => assert_eq!(*b, b'-', "{text:?}"),
            10 => assert_eq!(*b, b' ', "{text:?}"),
            13 | 16 | 19 => assert_eq!(*b, b':', "{text:?}"),
            _ => assert!(b.is_ascii_digit(), "{text:?}"),
        }
    }
}

/// Kafka's consumer line; returns (MB consumed, messages consumed, nMsg.sec).
fn parse_consumer_line(line: &str) -> (f64, u64, f64) {
    let fields: Vec<&str> = line.split(", ").collect();
    assert_eq!(fields.len(), 10, "{line}");
    assert_kafka_date(fields[0]);
    assert_kafka_date(fields[1]);
    let mb = decimal(fields[2], 4);
    decimal(fields[3], 4);
    let messages = integer(fields[4]);
    let rate = decimal(fields[5], 4);
    integer(fields[6]);
    integer(fields[7]);
    decimal(fields[8], 4);
    decimal(fields[9], 4);
    (mb, messages, rate)
}

#[test]
fn consumer_perf_test_reads_exactly_the_requested_messages_in_a_group() {
    let broker = start_broker();
    let lines = produce(&broker, "perf-consume", "20000", "-1");
    assert_eq!(
        parse_producer_total(lines.last().expect("line")).records,
        20_000
    );
    let server = bootstrap(&broker);

    for (group, messages) in [("perf-part", "15000"), ("perf-all", "20000")] {
        let stdout = tool_ok(
            "consumer-perf-test",
            &[
                "--bootstrap-server",
                &server,
                "--topic",
                "perf-consume",
                "--messages",
                messages,
                "--group",
                group,
                "--timeout",
                "30000",
            ],
        );
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{stdout}");
        assert_eq!(lines[0], CONSUMER_HEADER);
        let (mb, consumed, rate) = parse_consumer_line(lines[1]);
        assert_eq!(consumed, integer(messages), "{stdout}");
        // 100-byte values, no keys.
        let expected_mb = consumed as f64 * 100.0 / (1024.0 * 1024.0);
        assert!((mb - expected_mb).abs() < 0.0001, "{stdout}");
        assert!(rate > 0.0, "{stdout}");
    }

    // The group subscribed and committed: the broker knows it and its offsets.
    let groups = tool_ok(
        "consumer-groups",
        &["--bootstrap-server", &server, "--list"],
    );
    assert!(groups.lines().any(|g| g.trim() == "perf-all"), "{groups}");

    // With the header hidden, only the data line is printed.
    let stdout = tool_ok(
        "consumer-perf-test",
        &[
            "--bootstrap-server",
            &server,
            "--topic",
            "perf-consume",
            "--messages",
            "10",
            "--hide-header",
        ],
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(parse_consumer_line(lines[0]).1, 10);
}

#[test]
fn e2e_latency_round_trips_each_record_and_prints_percentiles() {
    let broker = start_broker();
    let stdout = tool_ok(
        "e2e-latency",
        &[&bootstrap(&broker), "perf-e2e", "2000", "1", "100"],
    );
    let lines: Vec<&str> = stdout.lines().collect();
    // It creates the topic it was given, as Kafka's does.
    assert_eq!(
        lines[0],
        "Topic \"perf-e2e\" does not exist. Will create topic with 1 partition(s) and replication factor = 1"
    );
    // A progress line for records 0 and 1000: index, tab, milliseconds.
    let progress: Vec<&str> = lines.iter().filter(|l| l.contains('\t')).copied().collect();
    assert_eq!(progress.len(), 2, "{stdout}");
    for (line, index) in progress.iter().zip(["0", "1000"]) {
        let (i, ms) = line.split_once('\t').expect("tab");
        assert_eq!(i, index);
        assert!(ms.parse::<f64>().expect("milliseconds") > 0.0, "{line}");
    }
    let avg = lines
        .iter()
        .find_map(|l| l.strip_prefix("Avg latency: "))
        .unwrap_or_else(|| panic!("no average in {stdout}"));
    assert!(decimal(between(avg, "", " ms"), 4) > 0.0, "{stdout}");
    let percentiles = lines.last().expect("a last line");
    let rest = between(percentiles, "Percentiles: 50th = ", "");
    let (p50, rest) = rest.split_once(", 99th = ").expect("99th");
    let (p99, p999) = rest.split_once(", 99.9th = ").expect("99.9th");
    assert!(integer(p50) <= integer(p99) && integer(p99) <= integer(p999));
    // Every round trip left its record on the broker.
    assert_eq!(high_watermark(&broker, "perf-e2e"), 2000);
}

#[test]
fn paced_e2e_latency_consumes_every_record_and_prints_microsecond_percentiles() {
    let broker = start_broker();
    let stdout = tool_ok(
        "e2e-latency",
        &[
            &bootstrap(&broker),
            "perf-paced",
            "600",
            "1",
            "100",
            "--throughput",
            "2000",
            "--warmup-records",
            "100",
        ],
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let rate: f64 = between(
        lines[lines.len() - 2],
        "Paced at 2000 records/s: 500 records measured after 100 warm-up records, sent at ",
        " records/s",
    )
    .parse()
    .unwrap_or_else(|_| panic!("a rate in {stdout}"));
    // 500 records at 2000/s take 0.25 s: the pacing holds the rate, give or take.
    assert!((1000.0..=4000.0).contains(&rate), "{stdout}");
    let figures: Vec<f64> = between(lines[lines.len() - 1], "End-to-end latency (us): ", "")
        .split(", ")
        .map(|field| {
            field
                .split_once(" = ")
                .and_then(|(_, value)| value.parse().ok())
                .unwrap_or_else(|| panic!("{field:?} in {stdout}"))
        })
        .collect();
    let [avg, p50, p99, p999, max] = figures[..] else {
        panic!("five figures in {stdout}");
    };
    assert!(
        0.0 < p50 && p50 <= p99 && p99 <= p999 && p999 <= max,
        "{stdout}"
    );
    assert!(avg > 0.0 && avg <= max, "{stdout}");
    assert_eq!(high_watermark(&broker, "perf-paced"), 600);
}

fn bin_dir() -> PathBuf {
    common::repo_path("bin")
}

/// Runs `bin/<script> args` on the binary under test; it must fail with status 1 and one
/// line on stderr, which is returned.
fn fails_in_one_line(script: &str, args: &[&str]) -> String {
    let started = Instant::now();
    let output: Output = Command::new(bin_dir().join(script))
        .env("RAFKA_BIN", env!("CARGO_BIN_EXE_rafka"))
        .args(args)
        .output()
        .expect("run script");
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{script} {args:?}\nstdout: {}\nstderr: {stderr}",
        text(&output.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "{script} {args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{script} took {:?} to fail",
        started.elapsed()
    );
    stderr
}

#[test]
fn bad_input_and_unreachable_brokers_fail_in_one_line_with_status_1() {
    let nobody = format!("127.0.0.1:{}", free_port());
    let servers = format!("bootstrap.servers={nobody}");

    let producer = |topic: &[&str]| {
        let mut args = topic.to_vec();
        args.extend_from_slice(&[
            "--num-records",
            "10",
            "--record-size",
            "10",
            "--throughput",
            "-1",
            "--producer-props",
            &servers,
        ]);
        fails_in_one_line("kafka-producer-perf-test.sh", &args)
    };
    assert_eq!(producer(&[]), "Error: argument --topic is required\n");
    assert!(
        producer(&["--topic", "t"]).contains("could not connect to the broker"),
        "unreachable broker"
    );

    let consumer = |topic: &[&str]| {
        let mut args = topic.to_vec();
        args.extend_from_slice(&["--messages", "10", "--bootstrap-server", &nobody]);
        fails_in_one_line("kafka-consumer-perf-test.sh", &args)
    };
    assert_eq!(
        consumer(&[]),
        "Error: Exactly one of the following arguments is required: [topic], [include]\n"
    );
    assert!(consumer(&["--topic", "t"]).contains("could not connect to the broker"));

    let usage = fails_in_one_line("kafka-e2e-latency.sh", &[&nobody, "10", "1", "100"]);
    assert!(usage.starts_with("USAGE: "), "{usage}");
    let unreachable = fails_in_one_line("kafka-e2e-latency.sh", &[&nobody, "t", "10", "1", "100"]);
    assert!(
        unreachable.contains("could not connect to the broker"),
        "{unreachable}"
    );
    let acks = fails_in_one_line("kafka-e2e-latency.sh", &[&nobody, "t", "10", "0", "100"]);
    assert_eq!(
        acks,
        "Latency testing requires synchronous acknowledgement. Please use 1 or all\n"
    );
}
