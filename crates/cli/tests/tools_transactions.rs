//! `rafka transactions` (`kafka-transactions.sh`) against a real broker: the transactions
//! it lists and describes, the producers it shows, the hanging transactions it finds and
//! aborts, and how it refuses bad command lines. The situations are made with raw
//! requests (FindCoordinator, InitProducerId, AddPartitionsToTxn, Produce of transactional
//! batches), and every expected text is Kafka 4.1.1's `TransactionsCommand` output for
//! the same situation (tab-terminated, space-padded columns).

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    batch, create_topic, encode_batch, init_producer_id, latest_offset, now_ms, produce_records, s,
    BrokerProcess, Client,
};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, FindCoordinatorRequest,
    FindCoordinatorResponse, ProducerId, TopicName, TransactionalId,
};
use kafka_protocol::records::{Record, TimestampType};

const RAFKA: &str = env!("CARGO_BIN_EXE_rafka");
const READ_UNCOMMITTED: i8 = 0;
const READ_COMMITTED: i8 = 1;
/// Two hours: older than find-hanging's default limit of 15 minutes.
const TWO_HOURS_MS: i64 = 2 * 60 * 60 * 1000;

/// Runs `rafka transactions <args>`. `COLUMNS` fixes argparse4j's text width at Kafka's
/// default (80 - 5) whatever terminal runs the test.
fn transactions(args: &[&str]) -> Output {
    Command::new(RAFKA)
        .arg("transactions")
        .args(args)
        .env("COLUMNS", "80")
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

/// A run that must succeed with nothing on stderr; its stdout.
fn ok(args: &[&str]) -> String {
    let output = transactions(args);
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "transactions {args:?}: {}\nstdout: {}",
        stderr(&output),
        stdout(&output)
    );
    stdout(&output)
}

/// A run that must fail with exit status 1 and nothing on stdout; its stderr.
fn fails(args: &[&str]) -> String {
    let output = transactions(args);
    assert_eq!(
        output.status.code(),
        Some(1),
        "transactions {args:?}: stdout {} stderr {}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        output.stdout.is_empty(),
        "transactions {args:?}: {}",
        stdout(&output)
    );
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "transactions {args:?}: {err}");
    err
}

fn bootstrap(broker: &BrokerProcess) -> String {
    format!("127.0.0.1:{}", broker.port)
}

/// A `--command-config` file that makes every call give up after two seconds.
fn short_timeout_config(broker: &BrokerProcess) -> String {
    let path = broker.dir.path().join("admin.properties");
    std::fs::write(
        &path,
        "default.api.timeout.ms=2000\nrequest.timeout.ms=2000\n",
    )
    .unwrap();
    path.display().to_string()
}

/// The coordinator of `transactional_id`, once the broker has one (the transaction state
/// topic is made on first use).
fn find_coordinator(client: &mut Client, transactional_id: &str) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found: FindCoordinatorResponse = client.call(
            ApiKey::FindCoordinator,
            4,
            &FindCoordinatorRequest::default()
                .with_key_type(1)
                .with_coordinator_keys(vec![s(transactional_id)]),
        );
        let coordinator = &found.coordinators[0];
        if coordinator.error_code == 0 {
            return coordinator.node_id.0;
        }
        assert!(Instant::now() < deadline, "no coordinator: {found:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// AddPartitionsToTxn v3 of one partition.
fn add_partition(
    client: &mut Client,
    transactional_id: &str,
    (pid, epoch): (i64, i16),
    topic: &str,
    partition: i32,
) {
    let added: AddPartitionsToTxnResponse = client.call(
        ApiKey::AddPartitionsToTxn,
        3,
        &AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(TransactionalId(s(transactional_id)))
            .with_v3_and_below_producer_id(ProducerId(pid))
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                .with_name(TopicName(s(topic)))
                .with_partitions(vec![partition])]),
    );
    let code = added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code;
    assert_eq!(code, 0, "{added:?}");
}

/// One transactional batch of `values` from `pid`/`epoch`, sequences from `sequence`,
/// every record stamped `timestamp` (so the producer's last timestamp is known).
fn transactional_batch(
    (pid, epoch): (i64, i16),
    sequence: i32,
    values: &[&str],
    timestamp: i64,
) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, value)| Record {
            transactional: true,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: sequence + i as i32,
            timestamp,
            key: None,
            value: Some(Bytes::from(value.to_string())),
            headers: Default::default(),
        })
        .collect();
    encode_batch(&records)
}

/// Produces `records` to `topic`-`partition`; the offset of its first record.
fn produce(client: &mut Client, topic: &str, partition: i32, records: Bytes) -> i64 {
    let response = produce_records(client, topic, partition, records);
    assert_eq!(response.error_code, 0, "{response:?}");
    response.base_offset
}

/// The cells of a table row, without their padding.
fn cells(line: &str) -> Vec<&str> {
    let line = line.strip_suffix('\t').expect("every cell ends with a tab");
    line.split('\t').map(str::trim_end).collect()
}

const LIST_HEADER: &str = "TransactionalId\tCoordinator\tProducerId\tTransactionState\t\n";
const PRODUCERS_HEADER: &str = "ProducerId\tProducerEpoch\tLatestCoordinatorEpoch\tLastSequence\tLastTimestamp\tCurrentTransactionStartOffset\t\n";
const HANGING_HEADER: &str = "Topic\tPartition\tProducerId\tProducerEpoch\tCoordinatorEpoch\tStartOffset\tLastTimestamp\tDuration(min)\t\n";

#[test]
fn an_open_transaction_is_listed_described_and_its_producer_shown() {
    let broker = BrokerProcess::start(&[]);
    let bs = bootstrap(&broker);
    let mut client = broker.connect();
    create_topic(&mut client, "orders", 2);
    // Three plain records first, so that the transaction starts at offset 3.
    produce(
        &mut client,
        "orders",
        0,
        batch(&["p0", "p1", "p2"], now_ms()),
    );
    let coordinator = find_coordinator(&mut client, "txn-a");
    assert_eq!(coordinator, 1);
    let before_ms = now_ms();
    let producer = init_producer_id(&mut client, Some("txn-a"));
    let (pid, epoch) = producer;
    add_partition(&mut client, "txn-a", producer, "orders", 0);
    let after_ms = now_ms();
    let stamp = now_ms() - 5_000;
    let offset = produce(
        &mut client,
        "orders",
        0,
        transactional_batch(producer, 0, &["a0", "a1"], stamp),
    );
    assert_eq!(offset, 3);
    assert_eq!(latest_offset(&mut client, "orders", 0, READ_COMMITTED), 3);

    // list: the coordinator's one transaction.
    let row = format!(
        "{:<15}\t{:<11}\t{pid:<10}\t{:<16}\t\n",
        "txn-a", 1, "Ongoing"
    );
    assert_eq!(
        ok(&["--bootstrap-server", &bs, "list"]),
        format!("{LIST_HEADER}{row}")
    );
    let filtered = |extra: &[&str]| {
        let mut args = vec!["--bootstrap-server", bs.as_str(), "list"];
        args.extend_from_slice(extra);
        ok(&args)
    };
    assert_eq!(
        filtered(&["--transactional-id-pattern", "txn-.*"]),
        format!("{LIST_HEADER}{row}")
    );
    assert_eq!(
        filtered(&["--transactional-id-pattern", "zzz.*"]),
        LIST_HEADER
    );
    assert_eq!(filtered(&["--duration-filter", "3600000"]), LIST_HEADER);
    assert_eq!(
        filtered(&["--duration-filter", "-1"]),
        format!("{LIST_HEADER}{row}")
    );

    // describe: state Ongoing with the partition; the start time is the coordinator's,
    // the duration the tool's clock minus it.
    let described = ok(&[
        "--bootstrap-server",
        &bs,
        "describe",
        "--transactional-id",
        "txn-a",
    ]);
    let lines: Vec<&str> = described.lines().collect();
    assert_eq!(lines.len(), 2, "{described}");
    assert_eq!(
        lines[0],
        "CoordinatorId\tTransactionalId\tProducerId\tProducerEpoch\tTransactionState\tTransactionTimeoutMs\tCurrentTransactionStartTimeMs\tTransactionDurationMs\tTopicPartitions\t"
    );
    let row = cells(lines[1]);
    let start_ms: i64 = row[6].parse().expect("a start time");
    let duration_ms: i64 = row[7].parse().expect("a duration");
    assert!(
        (before_ms..=after_ms).contains(&start_ms),
        "{before_ms} <= {start_ms} <= {after_ms}"
    );
    assert!(
        (0..=now_ms() - start_ms).contains(&duration_ms),
        "{duration_ms}"
    );
    assert_eq!(
        described,
        format!(
            "{}\n{:<13}\t{:<15}\t{pid:<10}\t{epoch:<13}\t{:<16}\t{:<20}\t{start_ms:<29}\t{duration_ms:<21}\t{:<15}\t\n",
            lines[0], 1, "txn-a", "Ongoing", 60000, "orders-0"
        )
    );

    // describe-producers: the transactional producer, its transaction open at 3.
    let producers = format!(
        "{PRODUCERS_HEADER}{pid:<10}\t{epoch:<13}\t{:<22}\t{:<12}\t{stamp:<13}\t{:<29}\t\n",
        -1, 1, 3
    );
    let describe_producers = |extra: &[&str]| {
        let mut args = vec![
            "--bootstrap-server",
            bs.as_str(),
            "describe-producers",
            "--topic",
            "orders",
            "--partition",
            "0",
        ];
        args.extend_from_slice(extra);
        ok(&args)
    };
    assert_eq!(describe_producers(&[]), producers);
    assert_eq!(describe_producers(&["--broker-id", "1"]), producers);
    // A partition nobody wrote to has no producers.
    assert_eq!(
        ok(&[
            "--bootstrap-server",
            &bs,
            "describe-producers",
            "--topic",
            "orders",
            "--partition",
            "1"
        ]),
        PRODUCERS_HEADER
    );

    // An id the coordinator never saw.
    assert_eq!(
        fails(&["--bootstrap-server", &bs, "describe", "--transactional-id", "nope"]),
        "Failed to describe transaction state of transactional-id `nope`: DescribeTransactions request for transactionalId `nope` failed because the ID could not be found. Enable debug logging for additional detail.\n"
    );
    // A broker that is not in the cluster: Kafka waits for it until the timeout.
    let config = short_timeout_config(&broker);
    assert_eq!(
        fails(&["--bootstrap-server", &bs, "--command-config", &config, "describe-producers", "--topic", "orders", "--partition", "0", "--broker-id", "7"]),
        "Failed to describe producers for partition orders-0 on broker 7: Timed out waiting for a node assignment. Call: describeProducers(api=DESCRIBE_PRODUCERS). Enable debug logging for additional detail.\n"
    );

    // forceTerminateTransaction fences the producer: the coordinator aborts the
    // transaction (its markers make the partition stable to its end) and bumps the epoch.
    assert_eq!(
        ok(&[
            "--bootstrap-server",
            &bs,
            "forceTerminateTransaction",
            "--transactionalId",
            "txn-a"
        ]),
        ""
    );
    let end = latest_offset(&mut client, "orders", 0, READ_UNCOMMITTED);
    let deadline = Instant::now() + Duration::from_secs(30);
    while latest_offset(&mut client, "orders", 0, READ_COMMITTED) != end {
        assert!(
            Instant::now() < deadline,
            "the fenced transaction stays open"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        end, 6,
        "two records and the abort marker after the plain ones"
    );
    let described = ok(&[
        "--bootstrap-server",
        &bs,
        "describe",
        "--transactional-id",
        "txn-a",
    ]);
    let row = cells(described.lines().nth(1).expect("a row"));
    assert_eq!(row[4], "Empty", "{described}");
    assert!(row[3].parse::<i16>().unwrap() > epoch, "{described}");
    assert_eq!(
        (row[6], row[7], row[8]),
        ("None", "None", ""),
        "{described}"
    );
    assert_eq!(
        ok(&["--bootstrap-server", &bs, "list"])
            .lines()
            .nth(1)
            .map(cells)
            .map(|c| c[3].to_string()),
        Some("Empty".to_string())
    );
    // An epoch older than the one the fencing markers carry is refused by the leader.
    let (pid_arg, stale) = (pid.to_string(), epoch.to_string());
    assert_eq!(
        fails(&["--bootstrap-server", &bs, "abort", "--topic", "orders", "--partition", "0", "--producer-id", &pid_arg, "--producer-epoch", &stale, "--coordinator-epoch", "0"]),
        format!(
            "Failed to abort transaction AbortTransactionSpec(topicPartition=orders-0, producerId={pid}, producerEpoch={stale}, coordinatorEpoch=0): WriteTxnMarkers request with AbortTransactionSpec(topicPartition=orders-0, producerId={pid}, producerEpoch={stale}, coordinatorEpoch=0) failed due an invalid producer epoch. Enable debug logging for additional detail.\n"
        )
    );
}

#[test]
fn find_hanging_finds_what_no_coordinator_will_finish_and_abort_ends_it() {
    let broker = BrokerProcess::start(&[]);
    let bs = bootstrap(&broker);
    let mut client = broker.connect();
    create_topic(&mut client, "events", 1);
    produce(&mut client, "events", 0, batch(&["p0", "p1"], now_ms()));
    let old = now_ms() - TWO_HOURS_MS;

    // Hanging: a transactional batch from a producer id no coordinator knows (as left by
    // a coordinator that lost its state), two hours old, at offset 2.
    let stray = init_producer_id(&mut client, None);
    assert_eq!(
        produce(
            &mut client,
            "events",
            0,
            transactional_batch(stray, 0, &["h0"], old)
        ),
        2
    );
    // Not hanging: a transaction its coordinator has this partition in, just as old by
    // its records' time, at offset 3.
    find_coordinator(&mut client, "txn-live");
    let live = init_producer_id(&mut client, Some("txn-live"));
    add_partition(&mut client, "txn-live", live, "events", 0);
    assert_eq!(
        produce(
            &mut client,
            "events",
            0,
            transactional_batch(live, 0, &["l0"], old)
        ),
        3
    );
    assert_eq!(latest_offset(&mut client, "events", 0, READ_COMMITTED), 2);

    // find-hanging, by broker, by topic and by partition: the stray one only. Its age in
    // minutes is the tool's clock's, taken while it ran.
    let hanging_table = |out: &str, minutes: std::ops::RangeInclusive<i64>| {
        minutes
            .map(|m| {
                format!(
                    "{:<6}\t{}{:<6}\t{:<9}\t{:<10}\t{:<13}\t{:<16}\t{:<11}\t{old:<13}\t{m:<13}\t\n",
                    "Topic",
                    HANGING_HEADER.strip_prefix("Topic\t").unwrap_or_default(),
                    "events",
                    0,
                    stray.0,
                    0,
                    -1,
                    2
                )
            })
            .any(|expected| expected == out)
    };
    for scope in [
        vec!["--broker-id", "1"],
        vec!["--topic", "events"],
        vec!["--topic", "events", "--partition", "0"],
    ] {
        let mut args = vec!["--bootstrap-server", bs.as_str(), "find-hanging"];
        args.extend_from_slice(&scope);
        let minutes_before = (now_ms() - old) / 60_000;
        let out = ok(&args);
        let minutes_after = (now_ms() - old) / 60_000;
        assert!(
            hanging_table(&out, minutes_before..=minutes_after),
            "{scope:?}: {out}"
        );
    }
    // Within a three-hour limit nothing is old enough to be a candidate.
    assert_eq!(
        ok(&[
            "--bootstrap-server",
            &bs,
            "find-hanging",
            "--topic",
            "events",
            "--max-transaction-timeout",
            "180"
        ]),
        HANGING_HEADER
    );

    // No open transaction starts at 99; the stray one starts at 2: aborting it moves the
    // last stable offset to the live transaction's start.
    assert_eq!(
        fails(&[
            "--bootstrap-server",
            &bs,
            "abort",
            "--topic",
            "events",
            "--partition",
            "0",
            "--start-offset",
            "99"
        ]),
        "Could not find any open transactions starting at offset 99 on partition events-0\n"
    );
    assert_eq!(
        ok(&[
            "--bootstrap-server",
            &bs,
            "abort",
            "--topic",
            "events",
            "--partition",
            "0",
            "--start-offset",
            "2"
        ]),
        ""
    );
    assert_eq!(latest_offset(&mut client, "events", 0, READ_COMMITTED), 3);
    assert_eq!(
        ok(&[
            "--bootstrap-server",
            &bs,
            "find-hanging",
            "--broker-id",
            "1"
        ]),
        HANGING_HEADER
    );
    let producers = ok(&[
        "--bootstrap-server",
        &bs,
        "describe-producers",
        "--topic",
        "events",
        "--partition",
        "0",
    ]);
    let rows: Vec<Vec<&str>> = producers.lines().skip(1).map(cells).collect();
    let stray_row = rows
        .iter()
        .find(|r| r[0] == stray.0.to_string())
        .expect("the stray producer");
    assert_eq!(
        stray_row[2..],
        ["0", "0", stray_row[4], "None"],
        "{producers}"
    );
    let live_row = rows
        .iter()
        .find(|r| r[0] == live.0.to_string())
        .expect("the live producer");
    assert_eq!(live_row[5], "3", "{producers}");

    // The form for brokers before 3.0: producer id, epoch and coordinator epoch given
    // (-1, as DescribeProducers shows a producer that never had a marker, counts as 0).
    let (live_pid, live_epoch) = (live.0.to_string(), live.1.to_string());
    assert_eq!(
        ok(&[
            "--bootstrap-server",
            &bs,
            "abort",
            "--topic",
            "events",
            "--partition",
            "0",
            "--producer-id",
            &live_pid,
            "--producer-epoch",
            &live_epoch,
            "--coordinator-epoch",
            "-1"
        ]),
        ""
    );
    let end = latest_offset(&mut client, "events", 0, READ_UNCOMMITTED);
    assert_eq!(end, 6, "two markers after the four records");
    assert_eq!(latest_offset(&mut client, "events", 0, READ_COMMITTED), end);
    // An unknown topic fails find-hanging at once, as Kafka's describeTopics does.
    assert_eq!(
        fails(&["--bootstrap-server", &bs, "find-hanging", "--topic", "nope"]),
        "Failed to describe 1 topics: This server does not host this topic-partition.. Enable debug logging for additional detail.\n"
    );
}

/// argparse4j's usage of the top parser, as Kafka prints it before an error.
const USAGE: &str = "usage: kafka-transactions.sh [-h] [-v] [--command-config FILE]
                             --bootstrap-server host:port COMMAND ...
";

#[test]
fn bad_command_lines_fail_with_kafkas_argparse_messages() {
    let bs = "127.0.0.1:1";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec![], format!("{USAGE}kafka-transactions.sh: error: too few arguments\n")),
        (
            vec!["list"],
            format!("{USAGE}kafka-transactions.sh: error: argument --bootstrap-server is required\n"),
        ),
        (
            vec!["--bootstrap-server", bs, "frob"],
            format!(
                "{USAGE}kafka-transactions.sh: error: invalid choice:  'frob'  (choose from 'list',
'describe',      'describe-producers',       'abort',       'find-hanging',
'forceTerminateTransaction')

Did you mean:
\tabort
"
            ),
        ),
        (
            vec!["--bootstrap-server", bs, "desc"],
            format!(
                "{USAGE}kafka-transactions.sh:  error:   ambiguous   command:   desc   could  match
describe, describe-producers
"
            ),
        ),
        (
            vec!["--bootstrap-server", bs, "describe"],
            "usage: kafka-transactions.sh --bootstrap-server host:port describe [-h]
                             --transactional-id TRANSACTIONAL_ID
kafka-transactions.sh: error: argument --transactional-id is required
"
            .to_string(),
        ),
        (
            vec!["--bootstrap-server", bs, "describe-producers", "--topic", "t", "--partition", "x"],
            "usage: kafka-transactions.sh --bootstrap-server host:port
                             describe-producers [-h]
                             [--broker-id BROKER_ID] --topic TOPIC
                             --partition PARTITION
kafka-transactions.sh: error: argument --partition:  could  not convert 'x'
to Integer (For input string: \"x\")
"
            .to_string(),
        ),
        (
            vec!["--bootstrap-server", bs, "list", "--bogus"],
            "usage: kafka-transactions.sh --bootstrap-server host:port list [-h]
                             [--duration-filter DURATION_FILTER]
                             [--transactional-id-pattern TRANSACTIONAL_ID_PATTERN]
kafka-transactions.sh: error: unrecognized arguments: '--bogus'
"
            .to_string(),
        ),
        // The tool's own checks, after parsing: one bare line.
        (
            vec!["--bootstrap-server", bs, "abort", "--topic", "t", "--partition", "0"],
            "The transaction to abort must be identified either with --start-offset (for brokers on 3.0 or above) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)\n".to_string(),
        ),
        (
            vec!["--bootstrap-server", bs, "abort", "--topic", "t", "--partition", "0", "--producer-id", "5"],
            "Missing required argument --producer-epoch\n".to_string(),
        ),
        (
            vec!["--bootstrap-server", bs, "find-hanging", "--partition", "0"],
            "The `find-hanging` command requires either --topic or --broker-id to limit the scope of the search\n".to_string(),
        ),
        (
            vec!["--bootstrap-server", bs, "find-hanging", "--broker-id", "1", "--partition", "0"],
            "The --partition argument requires --topic to be provided\n".to_string(),
        ),
        (
            vec!["--bootstrap-server", bs, "--command-config", "/nonexistent/admin.properties", "list"],
            "Failed to load admin client properties: /nonexistent/admin.properties. Enable debug logging for additional detail.\n".to_string(),
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(fails(&args), expected, "{args:?}");
    }
}

#[test]
fn help_is_kafkas_and_exits_1() {
    let output = transactions(&["--bootstrap-server", "x:1", "abort", "-h"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "");
    assert_eq!(
        stdout(&output),
        "usage: kafka-transactions.sh --bootstrap-server host:port abort [-h]
                             --topic TOPIC --partition PARTITION
                             [--start-offset START_OFFSET]
                             [--producer-id PRODUCER_ID]
                             [--producer-epoch PRODUCER_EPOCH]
                             [--coordinator-epoch COORDINATOR_EPOCH]

optional arguments:
  -h, --help             show this help message and exit
  --topic TOPIC          topic name
  --partition PARTITION  partition number

Brokers on versions 3.0 and above:
  For newer brokers,  only  the  start  offset  of  the  transaction  to be
  aborted is required

  --start-offset START_OFFSET
                         start offset of the transaction to abort

Brokers on versions older than 3.0:
  For older brokers, you must provide all of these arguments

  --producer-id PRODUCER_ID
                         producer id
  --producer-epoch PRODUCER_EPOCH
                         producer epoch
  --coordinator-epoch COORDINATOR_EPOCH
                         coordinator epoch
"
    );
    let output = transactions(&["-h"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).ends_with(
            "commands:
  COMMAND
    list                 list transactions
    describe             describe the state of an active transactional-id
    describe-producers   describe the  states  of  active  producers  for a
                         topic partition
    abort                abort    a    hanging     transaction    (requires
                         administrative privileges)
    find-hanging         find hanging transactions
    forceTerminateTransaction
                         Force   abort    an    ongoing    transaction   on
                         transactionalId      (requires      administrative
                         privileges)
"
        ),
        "{}",
        stdout(&output)
    );
}

#[test]
fn the_wrapper_script_runs_the_tool() {
    let broker = BrokerProcess::start(&[]);
    let script = common::repo_path("bin/kafka-transactions.sh");
    let output = Command::new(script)
        .args(["--bootstrap-server", &bootstrap(&broker), "list"])
        .env("RAFKA_BIN", RAFKA)
        .output()
        .expect("run the wrapper");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), LIST_HEADER);
}
