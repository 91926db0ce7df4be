//! `kafka-producer-perf-test.sh`: sends `--num-records` records as fast as `--throughput`
//! allows and prints Kafka's `ProducerPerformance` lines: a window line every 5 s and the
//! total with latency percentiles.
//!
//! Latency is per record, from `send` to its delivery report, in whole milliseconds as
//! Kafka measures it (the difference of two millisecond clock readings). Percentiles come
//! from Kafka's sample: every `num_records / min(num_records, 500000)`-th delivery.
//!
//! The producer is librdkafka's (`BaseProducer`), polled on the sending thread, so the
//! delivery reports and the window lines come from the same thread as the sends.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::Parser;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::util::Timeout;

use crate::common::{admin_timeout, client_config, parse_tool_args, read_properties, runtime};
use crate::wire::ensure_reachable;
use crate::ToolError;

mod random;
mod stats;
mod throttler;

use random::SplittableRandom;
use stats::Stats;

pub(crate) use stats::java_fixed;
use throttler::ThroughputThrottler;

const ABOUT: &str = "This tool is used to verify the producer performance. To enable \
transactions, you can specify a transaction id or set a transaction duration using \
--transaction-duration-ms. There are three ways to specify the transaction id: set \
transaction.id=<id> via --producer-props, set transaction.id=<id> in the config file via \
--producer.config, or use --transaction-id <id>.";

/// Kafka's default transactional id prefix when only a duration is given.
const DEFAULT_TRANSACTION_ID_PREFIX: &str = "performance-producer-";
const DEFAULT_TRANSACTION_DURATION_MS: i64 = 3000;

#[derive(Debug, Parser)]
#[command(
    name = "kafka-producer-perf-test.sh",
    about = ABOUT,
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// produce messages to this topic
    #[arg(long, value_name = "TOPIC")]
    topic: Option<String>,
    /// number of messages to produce
    #[arg(
        long = "num-records",
        value_name = "NUM-RECORDS",
        allow_hyphen_values = true
    )]
    num_records: Option<i64>,
    /// message size in bytes. Note that you must provide exactly one of --record-size or
    /// --payload-file or --payload-monotonic.
    #[arg(
        long = "record-size",
        value_name = "RECORD-SIZE",
        allow_hyphen_values = true
    )]
    record_size: Option<i32>,
    /// file to read the message payloads from. This works only for UTF-8 encoded text
    /// files. Payloads will be read from this file and a payload will be randomly selected
    /// when sending messages.
    #[arg(long = "payload-file", value_name = "PAYLOAD-FILE")]
    payload_file: Option<PathBuf>,
    /// payload is monotonically increasing integer.
    #[arg(long = "payload-monotonic")]
    payload_monotonic: bool,
    /// provides delimiter to be used when --payload-file is provided. Defaults to new
    /// line. Note that this parameter will be ignored if --payload-file is not provided.
    #[arg(
        long = "payload-delimiter",
        value_name = "PAYLOAD-DELIMITER",
        default_value = "\\n"
    )]
    payload_delimiter: String,
    /// throttle maximum message throughput to *approximately* THROUGHPUT messages/sec.
    /// Set this to -1 to disable throttling.
    #[arg(long, value_name = "THROUGHPUT", allow_hyphen_values = true)]
    throughput: Option<f64>,
    /// kafka producer related configuration properties like bootstrap.servers,client.id
    /// etc. These configs take precedence over those passed via --producer.config.
    #[arg(
        long = "producer-props",
        alias = "command-property",
        value_name = "PROP-NAME=PROP-VALUE",
        num_args = 1..
    )]
    producer_props: Vec<String>,
    /// producer config properties file.
    #[arg(
        long = "producer.config",
        alias = "command-config",
        value_name = "CONFIG-FILE"
    )]
    producer_config: Option<PathBuf>,
    /// print out metrics at the end of the test.
    #[arg(long = "print-metrics")]
    print_metrics: bool,
    /// The transactional id to use. This config takes precedence over the transactional.id
    /// specified via --producer.config or --producer-props.
    #[arg(long = "transactional-id", value_name = "TRANSACTIONAL-ID")]
    transactional_id: Option<String>,
    /// The max age of each transaction. The commitTransaction will be called after this
    /// time has elapsed. The value should be greater than 0.
    #[arg(
        long = "transaction-duration-ms",
        value_name = "TRANSACTION-DURATION",
        allow_hyphen_values = true
    )]
    transaction_duration_ms: Option<i64>,
    /// The number of records to treat as warmup; these initial records will not be
    /// included in steady-state statistics.
    #[arg(
        long = "warmup-records",
        value_name = "WARMUP-RECORDS",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    warmup_records: i64,
    /// The server(s) to connect to; takes precedence over bootstrap.servers in
    /// --producer-props and --producer.config.
    #[arg(long = "bootstrap-server", value_name = "BOOTSTRAP-SERVERS")]
    bootstrap_server: Option<String>,
}

/// Where each record's payload comes from.
#[derive(Debug)]
enum Payload {
    /// `--record-size`: random uppercase letters, redrawn for every record.
    Random(Vec<u8>),
    /// `--payload-file`: one of these, picked at random for every record.
    File(Vec<Vec<u8>>),
    /// `--payload-monotonic`: the record's index as decimal text.
    Monotonic,
}

impl Payload {
    /// The next record's payload, drawn as Kafka's `generateRandomPayload` draws it, from
    /// the same seeded generator, so the bytes sent are Kafka's bytes.
    fn next<'a>(
        &'a mut self,
        random: &mut SplittableRandom,
        index: i64,
        scratch: &'a mut Vec<u8>,
    ) -> &'a [u8] {
        match self {
            Payload::Random(buffer) => {
                for byte in buffer.iter_mut() {
                    *byte = (random.next_int(26) + 65) as u8;
                }
                buffer
            }
            Payload::File(list) => {
                let pick = random.next_int(list.len().min(i32::MAX as usize) as i32);
                &list[pick as usize]
            }
            Payload::Monotonic => {
                scratch.clear();
                scratch.extend_from_slice(index.to_string().as_bytes());
                scratch
            }
        }
    }
}

/// The settings after Kafka's `ConfigPostProcessor` checks.
#[derive(Debug)]
struct Config {
    topic: String,
    num_records: i64,
    warmup_records: i64,
    throughput: f64,
    props: BTreeMap<String, String>,
    bootstrap: String,
    print_metrics: bool,
    /// `Some` when transactions are on: the commit interval.
    transaction_duration: Option<Duration>,
    payload: Payload,
}

fn required(name: &str) -> ToolError {
    ToolError::Usage(format!("argument --{name} is required"))
}

fn parse_config(args: Args) -> Result<Config, ToolError> {
    let topic = args.topic.ok_or_else(|| required("topic"))?;
    let num_records = args.num_records.ok_or_else(|| required("num-records"))?;
    let payload_choices = [
        args.record_size.map(|_| "--record-size"),
        args.payload_file.as_ref().map(|_| "--payload-file"),
        args.payload_monotonic.then_some("--payload-monotonic"),
    ];
    let given: Vec<&str> = payload_choices.into_iter().flatten().collect();
    match given.as_slice() {
        [] => {
            return Err(ToolError::Usage(
                "one of the arguments --record-size --payload-file --payload-monotonic is required"
                    .into(),
            ))
        }
        [_] => {}
        [first, second, ..] => {
            return Err(ToolError::Usage(format!(
                "argument {second}: not allowed with argument {first}"
            )))
        }
    }
    let throughput = args.throughput.ok_or_else(|| required("throughput"))?;
    if num_records <= 0 {
        return Err(ToolError::Usage(
            "--num-records should be greater than zero".into(),
        ));
    }
    let warmup_records = args.warmup_records.max(0);
    if warmup_records >= num_records {
        return Err(ToolError::Usage("The value for --warmup-records must be strictly fewer than the number of records in the test, --num-records.".into()));
    }
    if matches!(args.record_size, Some(size) if size <= 0) {
        return Err(ToolError::Usage(
            "--record-size should be greater than zero".into(),
        ));
    }
    if args.producer_props.is_empty()
        && args.producer_config.is_none()
        && args.bootstrap_server.is_none()
    {
        return Err(ToolError::Usage(
            "Either --producer-props or --producer.config must be specified.".into(),
        ));
    }
    if matches!(args.transaction_duration_ms, Some(ms) if ms <= 0) {
        return Err(ToolError::Usage(
            "--transaction-duration-ms should be greater than zero".into(),
        ));
    }

    let payload = if let Some(size) = args.record_size {
        Payload::Random(vec![0; size as usize])
    } else if let Some(path) = &args.payload_file {
        // Kafka's default is the two characters `\n`, shown as such in the help.
        let delimiter = if args.payload_delimiter == "\\n" {
            "\n"
        } else {
            args.payload_delimiter.as_str()
        };
        Payload::File(read_payload_file(path, delimiter)?)
    } else {
        Payload::Monotonic
    };

    let mut props = match &args.producer_config {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    for item in &args.producer_props {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.contains('=') => (k, v),
            _ => return Err(ToolError::Usage(format!("Invalid property: {item}"))),
        };
        props.insert(key.to_string(), value.to_string());
    }
    if let Some(bootstrap) = &args.bootstrap_server {
        props.insert("bootstrap.servers".into(), bootstrap.clone());
    }
    props
        .entry("client.id".into())
        .or_insert_with(|| "perf-producer-client".into());
    let Some(bootstrap) = props.remove("bootstrap.servers") else {
        return Err(ToolError::Failed(
            "Missing required configuration \"bootstrap.servers\" which has no default value."
                .into(),
        ));
    };

    let transactions = args.transaction_duration_ms.is_some()
        || args.transactional_id.is_some()
        || props.contains_key("transactional.id");
    let transaction_duration = if transactions {
        let id = args
            .transactional_id
            .or_else(|| props.get("transactional.id").cloned())
            .unwrap_or_else(|| format!("{DEFAULT_TRANSACTION_ID_PREFIX}{}", uuid::Uuid::new_v4()));
        props.insert("transactional.id".into(), id);
        let ms = args
            .transaction_duration_ms
            .unwrap_or(DEFAULT_TRANSACTION_DURATION_MS);
        Some(Duration::from_millis(ms as u64))
    } else {
        None
    };

    Ok(Config {
        topic,
        num_records,
        warmup_records,
        throughput,
        props,
        bootstrap,
        print_metrics: args.print_metrics,
        transaction_duration,
        payload,
    })
}

/// Kafka's `readPayloadFile`: the file split on the delimiter (a regular expression, as
/// `Scanner.useDelimiter` takes it), empty pieces dropped.
fn read_payload_file(path: &std::path::Path, delimiter: &str) -> Result<Vec<Vec<u8>>, ToolError> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    println!("Reading payloads from: {}", absolute.display());
    let text = match std::fs::read(path) {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).into_owned(),
        _ => {
            return Err(ToolError::Failed(
                "File does not exist or empty file provided.".into(),
            ))
        }
    };
    let splitter = regex::Regex::new(delimiter)
        .map_err(|e| ToolError::Usage(format!("Invalid --payload-delimiter {delimiter}: {e}")))?;
    let payloads: Vec<Vec<u8>> = splitter
        .split(&text)
        .filter(|piece| !piece.is_empty())
        .map(|piece| piece.as_bytes().to_vec())
        .collect();
    println!("Number of messages read: {}", payloads.len());
    if payloads.is_empty() {
        return Err(ToolError::Failed(
            "File does not exist or empty file provided.".into(),
        ));
    }
    Ok(payloads)
}

/// A record's delivery opaque: when it was sent, in microseconds since the test began,
/// with the top bit set when the record also counts toward the steady-state stats.
const STEADY_STATE_BIT: usize = 1 << (usize::BITS - 1);

/// The producer's context: the stats that delivery reports feed, and the failures.
#[derive(Debug)]
struct PerfContext {
    origin: Instant,
    stats: Mutex<StatsPair>,
    failures: Mutex<Failures>,
}

#[derive(Debug)]
struct StatsPair {
    all: Stats,
    steady_state: Option<Stats>,
}

#[derive(Debug, Default)]
struct Failures {
    count: u64,
    first: Option<String>,
    /// librdkafka's last client-level error, to explain a run that delivered nothing.
    last_client_error: Option<String>,
}

impl PerfContext {
    fn now_us(&self) -> u64 {
        self.origin.elapsed().as_micros() as u64
    }
}

impl ClientContext for PerfContext {
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, _fac: &str, _message: &str) {}

    fn error(&self, error: KafkaError, reason: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.last_client_error = Some(if reason.is_empty() {
                error.to_string()
            } else {
                reason.to_string()
            });
        }
    }
}

impl ProducerContext for PerfContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        let now_us = self.now_us();
        match result {
            Ok(message) => {
                let sent_us = (opaque & !STEADY_STATE_BIT) as u64;
                // Kafka's latency: the difference of two millisecond clock readings.
                let latency_ms = (now_us / 1000).saturating_sub(sent_us / 1000);
                let latency_ms = latency_ms.min(i32::MAX as u64) as i64;
                let bytes = message.payload_len() as i64;
                let now_ms = now_us / 1000;
                if let Ok(mut stats) = self.stats.lock() {
                    stats.all.record(latency_ms, bytes, now_ms);
                    if opaque & STEADY_STATE_BIT != 0 {
                        if let Some(steady) = stats.steady_state.as_mut() {
                            steady.record(latency_ms, bytes, now_ms);
                        }
                    }
                }
            }
            Err((error, _)) => {
                if let Ok(mut failures) = self.failures.lock() {
                    failures.count += 1;
                    if failures.first.is_none() {
                        eprintln!("Error sending a record: {error}");
                        failures.first = Some(error.to_string());
                    }
                }
            }
        }
    }
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    if args.is_empty() {
        // Kafka prints the help and exits 0 when run without arguments.
        return parse_tool_args::<Args>("kafka-producer-perf-test.sh", vec!["--help".into()])
            .map(drop);
    }
    let Some(args) = parse_tool_args::<Args>("kafka-producer-perf-test.sh", args)? else {
        return Ok(());
    };
    let mut config = parse_config(args)?;
    let timeout = admin_timeout(&config.props);
    if config.transaction_duration.is_some() {
        ensure_transactions_supported(&config.bootstrap, timeout)?;
    } else {
        ensure_reachable(&config.bootstrap, timeout)?;
    }

    let context = PerfContext {
        origin: Instant::now(),
        stats: Mutex::new(StatsPair {
            all: Stats::new(config.num_records, false, 0),
            steady_state: None,
        }),
        failures: Mutex::new(Failures::default()),
    };
    let producer: BaseProducer<PerfContext> = client_config(&config.bootstrap, &config.props)?
        .create_with_context(context)
        .map_err(|e| ToolError::Failed(format!("cannot create the producer: {e}")))?;
    if config.transaction_duration.is_some() {
        producer
            .init_transactions(timeout)
            .map_err(|e| ToolError::Failed(format!("cannot initialize transactions: {e}")))?;
    }

    let mut random = SplittableRandom::new(0);
    let mut scratch = Vec::new();
    if config.warmup_records > 0 {
        println!(
            "Warmup first {} records. Steady state results will print after the complete test summary.",
            config.warmup_records
        );
    }
    let start_ms = producer.context().now_us() / 1000;
    // Stats start with the run, as Kafka creates them just before the first send.
    if let Ok(mut stats) = producer.context().stats.lock() {
        stats.all = Stats::new(config.num_records, false, start_ms);
    }
    let mut throttler = ThroughputThrottler::new(config.throughput, start_ms);
    let mut transaction_started_ms: Option<u64> = None;
    let mut steady = false;

    for index in 0..config.num_records {
        let payload = config.payload.next(&mut random, index, &mut scratch);
        if config.transaction_duration.is_some() && transaction_started_ms.is_none() {
            producer
                .begin_transaction()
                .map_err(|e| ToolError::Failed(format!("cannot begin a transaction: {e}")))?;
            transaction_started_ms = Some(producer.context().now_us() / 1000);
        }
        let send_us = producer.context().now_us();
        if config.warmup_records > 0 && index == config.warmup_records {
            steady = true;
            let now_ms = send_us / 1000;
            if let Ok(mut stats) = producer.context().stats.lock() {
                stats.steady_state = Some(Stats::new(
                    config.num_records - config.warmup_records,
                    true,
                    now_ms,
                ));
                stats.all.suppress_printing();
            }
        }
        let opaque =
            (send_us as usize & !STEADY_STATE_BIT) | if steady { STEADY_STATE_BIT } else { 0 };
        send(&producer, &config.topic, payload, opaque)?;

        let send_ms = send_us / 1000;
        if let (Some(duration), Some(started)) =
            (config.transaction_duration, transaction_started_ms)
        {
            if duration.as_millis() as u64 <= send_ms.saturating_sub(started) {
                producer
                    .commit_transaction(Timeout::Never)
                    .map_err(|e| ToolError::Failed(format!("cannot commit a transaction: {e}")))?;
                transaction_started_ms = None;
            }
        }
        if throttler.should_throttle(index, send_ms) {
            throttler.throttle(|wait| producer.poll(wait));
        }
    }
    if config.transaction_duration.is_some() && transaction_started_ms.is_some() {
        producer
            .commit_transaction(Timeout::Never)
            .map_err(|e| ToolError::Failed(format!("cannot commit a transaction: {e}")))?;
    }
    // Kafka's `close()` (or `flush()` with --print-metrics) waits for every delivery.
    producer
        .flush(Timeout::Never)
        .map_err(|e| ToolError::Failed(format!("cannot flush the producer: {e}")))?;

    let end_ms = producer.context().now_us() / 1000;
    if let Ok(stats) = producer.context().stats.lock() {
        println!("{}", stats.all.total_line(end_ms));
        if let Some(steady) = &stats.steady_state {
            println!("{}", steady.total_line(end_ms));
        }
    }
    if config.print_metrics {
        print_metrics();
    }
    let failures = producer
        .context()
        .failures
        .lock()
        .map(|f| (f.count, f.first.clone(), f.last_client_error.clone()))
        .unwrap_or_default();
    match failures {
        (0, _, _) => Ok(()),
        (count, first, last) => Err(ToolError::Failed(format!(
            "{count} of {} records were not delivered: {}",
            config.num_records,
            first.or(last).unwrap_or_default()
        ))),
    }
}

/// Sends one record; while librdkafka's queue is full, serves delivery reports (which
/// frees it), as Kafka's `send` blocks on a full `buffer.memory`.
fn send(
    producer: &BaseProducer<PerfContext>,
    topic: &str,
    payload: &[u8],
    opaque: usize,
) -> Result<(), ToolError> {
    let mut record = BaseRecord::<(), [u8], usize>::with_opaque_to(topic, opaque).payload(payload);
    loop {
        match producer.send(record) {
            Ok(()) => {
                producer.poll(Duration::ZERO);
                return Ok(());
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                producer.poll(Duration::from_millis(1));
            }
            Err((error, _)) => {
                return Err(ToolError::Failed(format!(
                    "cannot send to topic {topic}: {error}"
                )))
            }
        }
    }
}

/// Refuses transactions, in one line, when the broker does not advertise the APIs they
/// need; librdkafka would otherwise retry `init_transactions` until its timeout.
fn ensure_transactions_supported(bootstrap: &str, timeout: Duration) -> Result<(), ToolError> {
    use kafka_protocol::messages::ApiKey;
    let client = runtime()?.block_on(crate::common::connect(bootstrap, timeout))?;
    for api in [
        ApiKey::InitProducerId,
        ApiKey::AddPartitionsToTxn,
        ApiKey::EndTxn,
    ] {
        if client.version_for(api, i16::MAX).is_err() {
            return Err(ToolError::Failed(format!(
                "Transactions are not supported by the broker at {} (it does not advertise {api:?}); run without --transactional-id, --transaction-duration-ms and transactional.id",
                client.address
            )));
        }
    }
    Ok(())
}

/// `--print-metrics`: the Java client's metric registry has no librdkafka counterpart.
fn print_metrics() {
    println!();
    println!(
        "Note: --print-metrics has no equivalent here: librdkafka does not keep the Java client's metrics (set statistics.interval.ms for librdkafka's own statistics)."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ToolError> {
        let args = parse_tool_args::<Args>(
            "kafka-producer-perf-test.sh",
            args.iter().map(|s| s.to_string()).collect(),
        )?
        .expect("not --help");
        parse_config(args)
    }

    #[test]
    fn producer_props_take_several_values_after_one_flag() {
        let config = parse(&[
            "--topic",
            "t",
            "--num-records",
            "10",
            "--record-size",
            "100",
            "--throughput",
            "-1",
            "--producer-props",
            "bootstrap.servers=h:1",
            "acks=1",
            "linger.ms=5",
        ])
        .unwrap();
        assert_eq!(config.bootstrap, "h:1");
        assert_eq!(config.props.get("acks").map(String::as_str), Some("1"));
        assert_eq!(config.props.get("linger.ms").map(String::as_str), Some("5"));
        assert_eq!(
            config.props.get("client.id").map(String::as_str),
            Some("perf-producer-client")
        );
        assert_eq!(config.throughput, -1.0);
        assert!(config.transaction_duration.is_none());
    }

    #[test]
    fn kafkas_argument_checks_apply() {
        let base = [
            "--num-records",
            "10",
            "--throughput",
            "-1",
            "--bootstrap-server",
            "h:1",
        ];
        let err = |extra: &[&str]| {
            let mut all: Vec<&str> = base.to_vec();
            all.extend_from_slice(extra);
            parse(&all).unwrap_err().to_string()
        };
        assert_eq!(err(&["--record-size", "1"]), "argument --topic is required");
        assert_eq!(
            err(&["--topic", "t"]),
            "one of the arguments --record-size --payload-file --payload-monotonic is required"
        );
        assert_eq!(
            err(&["--topic", "t", "--record-size", "1", "--payload-monotonic"]),
            "argument --payload-monotonic: not allowed with argument --record-size"
        );
        assert_eq!(
            err(&["--topic", "t", "--record-size", "0"]),
            "--record-size should be greater than zero"
        );
        assert_eq!(
            err(&[
                "--topic",
                "t",
                "--record-size",
                "1",
                "--producer-props",
                "a=b=c"
            ]),
            "Invalid property: a=b=c"
        );
    }

    #[test]
    fn a_transactional_id_turns_transactions_on_with_kafkas_default_duration() {
        let config = parse(&[
            "--topic",
            "t",
            "--num-records",
            "10",
            "--payload-monotonic",
            "--throughput",
            "100",
            "--bootstrap-server",
            "h:1",
            "--transactional-id",
            "tx",
        ])
        .unwrap();
        assert_eq!(
            config.transaction_duration,
            Some(Duration::from_millis(3000))
        );
        assert_eq!(
            config.props.get("transactional.id").map(String::as_str),
            Some("tx")
        );
    }

    #[test]
    fn random_payloads_are_uppercase_letters_of_the_record_size() {
        let mut payload = Payload::Random(vec![0; 100]);
        let mut random = SplittableRandom::new(0);
        let mut scratch = Vec::new();
        let first = payload.next(&mut random, 0, &mut scratch).to_vec();
        assert_eq!(first.len(), 100);
        assert!(first.iter().all(u8::is_ascii_uppercase));
        let second = payload.next(&mut random, 1, &mut scratch).to_vec();
        assert_ne!(first, second);
        let mut monotonic = Payload::Monotonic;
        assert_eq!(monotonic.next(&mut random, 42, &mut scratch), b"42");
    }
}
