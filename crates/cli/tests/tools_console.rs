//! The console producer and consumer, and the `bin/` scripts around them, run as a user
//! runs them: through `bin/kafka-*.sh` against a real broker, with `RAFKA_BIN` pointing
//! at the binary under test. Each test checks what was printed and what was stored.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, BrokerProcess};

fn bin_dir() -> PathBuf {
    common::repo_path("bin")
}

/// A command for `bin/<script>` that runs the binary under test.
fn script(name: &str) -> Command {
    let mut command = Command::new(bin_dir().join(name));
    command.env("RAFKA_BIN", env!("CARGO_BIN_EXE_rafka"));
    command
}

/// Runs `bin/<name> args` with `input` on stdin.
fn run(name: &str, args: &[&str], input: &str) -> Output {
    let mut child = script(name)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn script");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for script")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a script that must succeed; returns its stdout.
fn ok(name: &str, args: &[&str], input: &str) -> Output {
    let output = run(name, args, input);
    assert!(
        output.status.success(),
        "{name} {args:?} exited with {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

/// Runs a script that must fail with status 1 and no panic; returns its stderr.
fn fails(name: &str, args: &[&str], input: &str) -> String {
    let output = run(name, args, input);
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{name} {args:?}\nstdout: {}\nstderr: {stderr}",
        text(&output.stdout)
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
    stderr
}

fn bootstrap(broker: &BrokerProcess) -> String {
    format!("127.0.0.1:{}", broker.port)
}

fn produce(broker: &BrokerProcess, topic: &str, extra: &[&str], input: &str) -> Output {
    let server = bootstrap(broker);
    let mut args = vec!["--bootstrap-server", server.as_str(), "--topic", topic];
    args.extend_from_slice(extra);
    ok("kafka-console-producer.sh", &args, input)
}

fn consume(broker: &BrokerProcess, topic: &str, extra: &[&str]) -> Output {
    let server = bootstrap(broker);
    let mut args = vec!["--bootstrap-server", server.as_str(), "--topic", topic];
    args.extend_from_slice(extra);
    if !extra.contains(&"--timeout-ms") {
        // A consumer that never sees its records ends, and the test fails, not hangs.
        args.extend_from_slice(&["--timeout-ms", "30000"]);
    }
    ok("kafka-console-consumer.sh", &args, "")
}

fn lines(output: &Output) -> Vec<String> {
    text(&output.stdout).lines().map(str::to_string).collect()
}

/// The compression codec (attributes & 7) of every batch in a partition's segments.
fn batch_codecs(partition_dir: &Path) -> Vec<i16> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(partition_dir)
        .expect("partition dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    let mut codecs = Vec::new();
    for log in logs {
        let bytes = std::fs::read(&log).expect("segment");
        let mut at = 0;
        while at + 23 <= bytes.len() {
            let length = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            codecs.push(i16::from_be_bytes(bytes[at + 21..at + 23].try_into().unwrap()) & 7);
            at += 12 + length;
        }
    }
    codecs
}

#[test]
fn keys_and_headers_are_parsed_and_every_field_is_printed_in_kafkas_order() {
    let broker = BrokerProcess::start(&[]);
    produce(
        &broker,
        "fields",
        &[
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
            "--property",
            "parse.headers=true",
        ],
        "h1:v1,h2:v2\tk1:first value\ncolor:red\tk2:second:value\n",
    );
    let output = consume(
        &broker,
        "fields",
        &[
            "--from-beginning",
            "--max-messages",
            "2",
            "--property",
            "print.timestamp=true",
            "--property",
            "print.partition=true",
            "--property",
            "print.offset=true",
            "--property",
            "print.headers=true",
            "--property",
            "print.key=true",
        ],
    );
    let printed = lines(&output);
    assert_eq!(printed.len(), 2, "{printed:?}");
    let expected = [
        "Partition:0\tOffset:0\th1:v1,h2:v2\tk1\tfirst value",
        "Partition:0\tOffset:1\tcolor:red\tk2\tsecond:value",
    ];
    for (line, want) in printed.iter().zip(expected) {
        let (timestamp, rest) = line.split_once('\t').expect("a tab after the timestamp");
        let millis = timestamp
            .strip_prefix("CreateTime:")
            .expect("CreateTime: prefix");
        assert!(millis.parse::<i64>().is_ok_and(|t| t > 0), "{line}");
        assert_eq!(rest, want);
    }
    assert!(
        text(&output.stderr).contains("Processed a total of 2 messages"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn separators_null_literal_and_value_off_shape_the_output() {
    let broker = BrokerProcess::start(&[]);
    produce(
        &broker,
        "shapes",
        &[
            "--property",
            "parse.key=true",
            "--property",
            "null.marker=<null>",
        ],
        "<null>\tv1\nk2\t<null>\n",
    );
    let output = consume(
        &broker,
        "shapes",
        &[
            "--from-beginning",
            "--max-messages",
            "2",
            "--property",
            "print.key=true",
            "--property",
            "key.separator= => ",
            "--property",
            "null.literal=NULL",
            "--property",
            "line.separator=;",
            "--property",
            "print.headers=true",
        ],
    );
    assert_eq!(
        text(&output.stdout),
        "NO_HEADERS => NULL => v1;NO_HEADERS => k2 => NULL;"
    );
    let output = consume(
        &broker,
        "shapes",
        &[
            "--from-beginning",
            "--max-messages",
            "2",
            "--property",
            "print.key=true",
            "--property",
            "print.value=false",
        ],
    );
    assert_eq!(text(&output.stdout), "null\nk2\n");
}

#[test]
fn partition_and_offset_choose_where_reading_starts() {
    let broker = BrokerProcess::start(&[]);
    produce(&broker, "offsets", &[], "zero\none\ntwo\n");
    let from_one = consume(
        &broker,
        "offsets",
        &[
            "--partition",
            "0",
            "--offset",
            "1",
            "--max-messages",
            "2",
            "--property",
            "print.offset=true",
        ],
    );
    assert_eq!(lines(&from_one), ["Offset:1\tone", "Offset:2\ttwo"]);
    let earliest = consume(
        &broker,
        "offsets",
        &[
            "--partition",
            "0",
            "--offset",
            "earliest",
            "--max-messages",
            "1",
        ],
    );
    assert_eq!(lines(&earliest), ["zero"]);
    // latest (the default with --partition): nothing new arrives before the timeout.
    let latest = consume(
        &broker,
        "offsets",
        &["--partition", "0", "--timeout-ms", "500"],
    );
    assert_eq!(lines(&latest), Vec::<String>::new());
    assert!(text(&latest.stderr).contains("Processed a total of 0 messages"));

    let server = bootstrap(&broker);
    let stderr = fails(
        "kafka-console-consumer.sh",
        &[
            "--bootstrap-server",
            &server,
            "--topic",
            "offsets",
            "--offset",
            "1",
        ],
        "",
    );
    assert_eq!(
        stderr.trim(),
        "Error: The partition is required when offset is specified."
    );
    let stderr = fails(
        "kafka-console-consumer.sh",
        &[
            "--bootstrap-server",
            &server,
            "--topic",
            "offsets",
            "--partition",
            "0",
            "--offset",
            "-3",
        ],
        "",
    );
    assert!(
        stderr.contains("The provided offset value '-3' is incorrect"),
        "{stderr}"
    );
}

#[test]
fn timeout_ms_ends_the_consumer_with_status_zero_and_the_count() {
    let broker = BrokerProcess::start(&[]);
    produce(&broker, "quiet", &[], "a\nb\nc\n");
    let started = Instant::now();
    let output = consume(
        &broker,
        "quiet",
        &["--from-beginning", "--timeout-ms", "1000"],
    );
    assert_eq!(lines(&output), ["a", "b", "c"]);
    let stderr = text(&output.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l == "Processed a total of 3 messages"),
        "{stderr}"
    );
    assert!(stderr.contains("TimeoutException"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn every_compression_codec_round_trips_and_is_stored_compressed() {
    let broker = BrokerProcess::start(&[]);
    let codecs = ["gzip", "snappy", "lz4", "zstd"];
    let mut sent = Vec::new();
    for codec in codecs {
        // Compressible and large enough that librdkafka keeps the compressed batch.
        let line = format!("{codec}-{}", "abc".repeat(400));
        produce(
            &broker,
            "codecs",
            &["--compression-codec", codec],
            &format!("{line}\n"),
        );
        sent.push(line);
    }
    // A bare --compression-codec means gzip, as in Kafka.
    let bare = format!("bare-{}", "xyz".repeat(400));
    produce(
        &broker,
        "codecs",
        &["--compression-codec"],
        &format!("{bare}\n"),
    );
    sent.push(bare);
    let output = consume(
        &broker,
        "codecs",
        &["--from-beginning", "--max-messages", "5"],
    );
    assert_eq!(lines(&output), sent);
    assert_eq!(
        batch_codecs(&broker.data_dir().join("codecs-0")),
        [1, 2, 3, 4, 1],
        "gzip=1 snappy=2 lz4=3 zstd=4"
    );
}

#[test]
fn acks_all_sync_and_producer_config_files_deliver() {
    let broker = BrokerProcess::start(&[]);
    let config = broker.dir.path().join("producer.properties");
    std::fs::write(
        &config,
        std::fs::read_to_string(common::repo_path("config/producer.properties"))
            .expect("config/producer.properties")
            .replace("localhost:9092", &bootstrap(&broker)),
    )
    .unwrap();
    produce(
        &broker,
        "acks",
        &[
            "--producer-property",
            "acks=all",
            "--sync",
            "--producer.config",
            config.to_str().unwrap(),
        ],
        "one\ntwo\n",
    );
    produce(
        &broker,
        "acks",
        &["--request-required-acks", "1"],
        "three\n",
    );
    let consumer_config = broker.dir.path().join("consumer.properties");
    // Kafka's consumer.properties names a group; without it the tool assigns partitions.
    std::fs::write(
        &consumer_config,
        std::fs::read_to_string(common::repo_path("config/consumer.properties"))
            .expect("config/consumer.properties")
            .replace("group.id=", "#group.id="),
    )
    .unwrap();
    let output = consume(
        &broker,
        "acks",
        &[
            "--from-beginning",
            "--max-messages",
            "3",
            "--consumer.config",
            consumer_config.to_str().unwrap(),
        ],
    );
    assert_eq!(lines(&output), ["one", "two", "three"]);
}

#[test]
fn a_line_that_does_not_parse_stops_the_producer_after_sending_the_ones_before() {
    let broker = BrokerProcess::start(&[]);
    let server = bootstrap(&broker);
    let stderr = fails(
        "kafka-console-producer.sh",
        &[
            "--bootstrap-server",
            &server,
            "--topic",
            "strict",
            "--property",
            "parse.key=true",
        ],
        "k\tv\nno separator here\nk\tnever\n",
    );
    assert_eq!(
        stderr.trim(),
        "Error: No key separator found on line number 2: 'no separator here'"
    );
    let output = consume(
        &broker,
        "strict",
        &["--from-beginning", "--max-messages", "1"],
    );
    assert_eq!(lines(&output), ["v"]);
}

#[test]
fn unreachable_broker_is_one_line_and_status_one() {
    let port = free_port();
    let server = format!("127.0.0.1:{port}");
    for (tool, input) in [
        ("kafka-console-producer.sh", "x\n"),
        ("kafka-console-consumer.sh", ""),
    ] {
        let started = Instant::now();
        let stderr = fails(
            tool,
            &["--bootstrap-server", &server, "--topic", "t"],
            input,
        );
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Error:")).collect();
        assert_eq!(errors.len(), 1, "{tool}: {stderr}");
        assert!(
            errors[0].starts_with(&format!("Error: could not connect to the broker: {server}")),
            "{tool}: {stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{tool} took too long"
        );
    }
}

#[test]
fn unknown_and_missing_flags_are_usage_errors_without_a_panic() {
    let stderr = fails("kafka-console-producer.sh", &["--bogus"], "");
    assert_eq!(stderr.trim(), "Error: bogus is not a recognized option");
    let stderr = fails("kafka-console-consumer.sh", &["--bogus", "x"], "");
    assert_eq!(stderr.trim(), "Error: bogus is not a recognized option");
    let stderr = fails(
        "kafka-console-producer.sh",
        &["--bootstrap-server", "h:1"],
        "",
    );
    assert_eq!(
        stderr.trim(),
        "Error: Missing required argument \"[topic]\""
    );
    let stderr = fails(
        "kafka-console-consumer.sh",
        &["--bootstrap-server", "h:1"],
        "",
    );
    assert_eq!(
        stderr.trim(),
        "Error: Exactly one of --include/--topic is required."
    );
    let stderr = fails(
        "kafka-console-producer.sh",
        &[
            "--bootstrap-server",
            "h:1",
            "--topic",
            "t",
            "--compression-codec",
            "brotli",
        ],
        "",
    );
    assert_eq!(stderr.trim(), "Error: Unknown compression name: brotli");
}

#[test]
fn include_pattern_reads_every_matching_topic() {
    let broker = BrokerProcess::start(&[]);
    produce(&broker, "logs-a", &[], "from a\n");
    produce(&broker, "logs-b", &[], "from b\n");
    produce(&broker, "other", &[], "not this\n");
    let server = bootstrap(&broker);
    let output = ok(
        "kafka-console-consumer.sh",
        &[
            "--bootstrap-server",
            &server,
            "--include",
            "logs-.*",
            "--from-beginning",
            "--timeout-ms",
            "1000",
        ],
        "",
    );
    let mut printed = lines(&output);
    printed.sort();
    assert_eq!(printed, ["from a", "from b"]);
}

/// Waits until `child` has written something to the file at `path`.
fn await_output(path: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        assert!(Instant::now() < deadline, "no output");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_with_deadline(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn interrupt_stops_the_consumer_cleanly_with_the_count() {
    let broker = BrokerProcess::start(&[]);
    produce(&broker, "endless", &[], "one\ntwo\n");
    for signal in ["-INT", "-TERM"] {
        let out = broker.dir.path().join(format!("out{signal}"));
        let err = broker.dir.path().join(format!("err{signal}"));
        let mut child = script("kafka-console-consumer.sh")
            .args([
                "--bootstrap-server",
                &bootstrap(&broker),
                "--topic",
                "endless",
                "--from-beginning",
            ])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        await_output(&out, &mut child);
        // The script execs the binary, so the child is the consumer itself.
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        let status = wait_with_deadline(&mut child);
        assert_eq!(status.code(), Some(0), "{signal}");
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(&out).unwrap().lines().count() < 2 {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "one\ntwo\n");
        assert_eq!(
            std::fs::read_to_string(&err).unwrap(),
            "Processed a total of 2 messages\n"
        );
    }
}

#[test]
fn scripts_work_through_symlinks_from_any_directory() {
    let broker = BrokerProcess::start(&[]);
    let elsewhere = tempfile::tempdir().unwrap();
    let link = elsewhere.path().join("kafka-console-producer.sh");
    std::os::unix::fs::symlink(bin_dir().join("kafka-console-producer.sh"), &link).unwrap();
    let mut child = Command::new(&link)
        .env("RAFKA_BIN", env!("CARGO_BIN_EXE_rafka"))
        .current_dir(elsewhere.path())
        .args([
            "--bootstrap-server",
            &bootstrap(&broker),
            "--topic",
            "linked",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"via a link\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = consume(
        &broker,
        "linked",
        &["--from-beginning", "--max-messages", "1"],
    );
    assert_eq!(lines(&output), ["via a link"]);

    let output = Command::new(bin_dir().join("kafka-topics.sh"))
        .env("RAFKA_BIN", "/nonexistent/rafka")
        .arg("--list")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stderr).trim(),
        "RAFKA_BIN is set to /nonexistent/rafka, which is not an executable file"
    );
}

#[test]
fn zookeeper_server_start_explains_that_none_is_needed() {
    let stderr = fails(
        "zookeeper-server-start.sh",
        &["config/zookeeper.properties"],
        "",
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("rafka needs no ZooKeeper"), "{stderr}");
    assert!(stderr.contains("kafka-server-start.sh"), "{stderr}");
}

#[test]
fn server_start_daemon_and_server_stop_by_node_id() {
    // A node id no other test uses: kafka-server-stop.sh signals every matching server.
    let node_id = 40_000 + u32::from(free_port()) % 20_000;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("server.properties");
    std::fs::write(
        &config,
        format!(
            "node.id={node_id}\nlisteners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let logs = dir.path().join("logs");
    let output = script("kafka-server-start.sh")
        .env("LOG_DIR", &logs)
        .arg("-daemon")
        .arg(&config)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !common::listening(port) {
        assert!(
            Instant::now() < deadline,
            "daemon did not listen: {}",
            std::fs::read_to_string(logs.join("kafkaServer.out")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let stop = |id: u32| {
        script("kafka-server-stop.sh")
            .arg(format!("--node-id={id}"))
            .output()
            .unwrap()
    };
    let other = stop(node_id + 1);
    assert_eq!(other.status.code(), Some(1));
    assert_eq!(text(&other.stdout).trim(), "No kafka server to stop");
    assert!(common::listening(port));

    let stopped = stop(node_id);
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));
    let out = logs.join("kafkaServer.out");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&out)
        .unwrap_or_default()
        .contains("shut down cleanly")
    {
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while stop(node_id).status.code() != Some(1) {
        assert!(Instant::now() < deadline, "server process still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_group_consumer_commits_what_it_printed_and_the_next_one_resumes_there() {
    let broker = BrokerProcess::start(&[]);
    produce(&broker, "grouped", &[], "a\nb\nc\nd\n");
    let first = consume(
        &broker,
        "grouped",
        &[
            "--group",
            "readers",
            "--from-beginning",
            "--max-messages",
            "2",
        ],
    );
    assert_eq!(lines(&first), ["a", "b"]);
    let second = consume(
        &broker,
        "grouped",
        &["--group", "readers", "--max-messages", "2"],
    );
    assert_eq!(lines(&second), ["c", "d"]);
    assert!(text(&second.stderr).contains("Processed a total of 2 messages"));

    let server = bootstrap(&broker);
    let stderr = fails(
        "kafka-console-consumer.sh",
        &[
            "--bootstrap-server",
            &server,
            "--topic",
            "grouped",
            "--group",
            "readers",
            "--partition",
            "0",
        ],
        "",
    );
    assert_eq!(
        stderr.trim(),
        "Error: Options group and partition cannot be specified together."
    );
}
