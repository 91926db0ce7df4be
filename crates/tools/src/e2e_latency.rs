//! `kafka-e2e-latency.sh broker_list topic num_messages producer_acks message_size_bytes
//! [properties_file]`: Kafka's `EndToEndLatency`. Sends one record at a time, waits for
//! its acknowledgement, polls it back from the end of the topic, and times the round trip.
//! Prints a progress line every 1000 records, then `Avg latency` and the percentiles.
//!
//! Producer and consumer are librdkafka's; the consumer is assigned every partition at
//! its high watermark (resolved before the first send, as Kafka's `position()` call does)
//! and fetches with `fetch.wait.max.ms=0`, as Kafka's does.
//!
//! rafka's addition: `--throughput <records/s> [--warmup-records <n>]` after the
//! positional arguments sends at that fixed rate instead and reports microsecond
//! percentiles of produce-to-consume latency ([`paced`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer, DefaultConsumerContext};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::common::{admin_timeout, client_config, read_properties, runtime};
use crate::wire::ensure_reachable;
use crate::ToolError;

mod paced;

use paced::{DeliveryCount, Pacing};

const USAGE: &str = "USAGE: kafka-e2e-latency.sh broker_list topic num_messages producer_acks message_size_bytes [optional] properties_file";

/// rafka's paced form, printed by `--help` after Kafka's usage line.
const PACED_USAGE: &str = "       rafka e2e-latency broker_list topic num_messages producer_acks message_size_bytes [properties_file] --throughput records/s [--warmup-records n]
       (paced: sends at a fixed rate and reports produce-to-consume latency in microseconds)";

/// How long one record may take to come back, as in Kafka.
const POLL_TIMEOUT_MS: u64 = 60_000;
const DEFAULT_NUM_PARTITIONS: i32 = 1;
const DEFAULT_REPLICATION_FACTOR: i32 = 1;

/// The producer's context: the outcome of the one record in flight, handed from
/// librdkafka's polling thread to the sending thread.
#[derive(Debug, Default)]
struct SyncDelivery {
    outcome: Mutex<Option<Result<(), String>>>,
    delivered: Condvar,
}

impl ClientContext for SyncDelivery {
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, _fac: &str, _message: &str) {}
    fn error(&self, _error: rdkafka::error::KafkaError, _reason: &str) {}
}

impl ProducerContext for SyncDelivery {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Ok(mut outcome) = self.outcome.lock() {
            *outcome = Some(result.as_ref().map(drop).map_err(|(e, _)| e.to_string()));
            self.delivered.notify_all();
        }
    }
}

/// The parsed positional arguments.
#[derive(Debug)]
struct Settings {
    brokers: String,
    topic: String,
    num_messages: usize,
    acks: String,
    message_size_bytes: usize,
    props: BTreeMap<String, String>,
}

/// Java's `Integer.parseInt`, with its message.
fn parse_int(text: &str) -> Result<i32, ToolError> {
    text.parse::<i32>()
        .map_err(|_| ToolError::Reported(format!("For input string: \"{text}\"")))
}

fn parse_settings(args: &[String]) -> Result<Settings, ToolError> {
    if args.len() != 5 && args.len() != 6 {
        return Err(ToolError::Reported(USAGE.into()));
    }
    let num_messages = parse_int(&args[2])?;
    let message_size_bytes = parse_int(&args[4])?;
    let acks = args[3].clone();
    if acks != "1" && acks != "all" {
        return Err(ToolError::Reported(
            "Latency testing requires synchronous acknowledgement. Please use 1 or all".into(),
        ));
    }
    if num_messages <= 0 {
        return Err(ToolError::Reported(format!(
            "num_messages must be positive, got {num_messages}"
        )));
    }
    if message_size_bytes < 0 {
        return Err(ToolError::Reported(format!(
            "message_size_bytes must not be negative, got {message_size_bytes}"
        )));
    }
    let props = match args.get(5).filter(|p| !p.trim().is_empty()) {
        Some(path) => read_properties(Path::new(path))?,
        None => BTreeMap::new(),
    };
    Ok(Settings {
        brokers: args[0].clone(),
        topic: args[1].clone(),
        num_messages: num_messages as usize,
        acks,
        message_size_bytes: message_size_bytes as usize,
        props,
    })
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    if matches!(args.first().map(String::as_str), Some("--help" | "-h")) {
        println!("{USAGE}\n{PACED_USAGE}");
        return Ok(());
    }
    let (args, pacing) = split_pacing(args)?;
    let settings = parse_settings(&args)?;
    let timeout = admin_timeout(&settings.props);
    ensure_reachable(&settings.brokers, timeout)?;
    if let Some(pacing) = pacing {
        if pacing.warmup_records >= settings.num_messages {
            return Err(ToolError::Usage(format!(
                "--warmup-records ({}) must be below num_messages ({})",
                pacing.warmup_records, settings.num_messages
            )));
        }
    }

    let mut consumer_config = client_config(&settings.brokers, &settings.props)?;
    consumer_config
        .set("group.id", format!("test-group-{}", unix_millis()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "latest");
    if pacing.is_none() {
        // No temporal batching: every fetch returns at once.
        consumer_config.set("fetch.wait.max.ms", "0");
    }
    let consumer: BaseConsumer<DefaultConsumerContext> = consumer_config
        .create()
        .map_err(|e| ToolError::Failed(format!("cannot create the consumer: {e}")))?;
    let mut producer_config = client_config(&settings.brokers, &settings.props)?;
    producer_config
        // Each send is its own request.
        .set("linger.ms", "0")
        .set("acks", &settings.acks);

    let metadata = consumer
        .fetch_metadata(None, timeout)
        .map_err(|e| ToolError::Unreachable(format!("{}: {e}", settings.brokers)))?;
    if !metadata
        .topics()
        .iter()
        .any(|t| t.name() == settings.topic && t.error().is_none())
    {
        create_topic(&settings, timeout)?;
    }
    setup_consumer(&consumer, &settings.topic, timeout)?;

    if let Some(pacing) = pacing {
        let producer: ThreadedProducer<DeliveryCount> = producer_config
            .create_with_context(DeliveryCount::default())
            .map_err(|e| ToolError::Failed(format!("cannot create the producer: {e}")))?;
        let result = paced::run(
            &producer,
            consumer,
            &settings.topic,
            settings.num_messages,
            settings.message_size_bytes,
            pacing,
        )?;
        for line in result.lines() {
            println!("{line}");
        }
        return Ok(());
    }
    let producer: ThreadedProducer<SyncDelivery> = producer_config
        .create_with_context(SyncDelivery::default())
        .map_err(|e| ToolError::Failed(format!("cannot create the producer: {e}")))?;

    let mut random = JavaRandom::new(0);
    let mut total_time_ns = 0.0_f64;
    let mut latencies_ms: Vec<i64> = Vec::with_capacity(settings.num_messages);
    for i in 0..settings.num_messages {
        // Kafka fills the whole message with one random uppercase letter.
        let letter = (random.next_int(26) + 65) as u8;
        let message = vec![letter; settings.message_size_bytes];
        let begin = Instant::now();
        send_sync(&producer, &settings.topic, &message)?;
        let received = poll_one(&consumer, Duration::from_millis(POLL_TIMEOUT_MS));
        let elapsed_ns = begin.elapsed().as_nanos() as u64;
        validate(&consumer, &message, received)?;

        if i % 1000 == 0 {
            println!("{i}\t{:?}", elapsed_ns as f64 / 1000.0 / 1000.0);
        }
        total_time_ns += elapsed_ns as f64;
        latencies_ms.push((elapsed_ns / 1000 / 1000) as i64);
    }
    for line in results(settings.num_messages, total_time_ns, &mut latencies_ms) {
        println!("{line}");
    }
    Ok(())
}

/// Takes rafka's `--throughput <records/s>` and `--warmup-records <n>` out of `args`,
/// leaving Kafka's positional arguments.
fn split_pacing(args: Vec<String>) -> Result<(Vec<String>, Option<Pacing>), ToolError> {
    let mut positional = Vec::new();
    let mut throughput = None;
    let mut warmup_records = 0;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let flag = arg.as_str();
        if !matches!(flag, "--throughput" | "--warmup-records") {
            positional.push(arg);
            continue;
        }
        let value = args
            .next()
            .ok_or_else(|| ToolError::Usage(format!("{flag} needs a value")))?;
        let invalid = || ToolError::Usage(format!("invalid {flag} value: {value}"));
        if flag == "--throughput" {
            let rate: f64 = value.parse().map_err(|_| invalid())?;
            if !(rate > 0.0 && rate.is_finite()) {
                return Err(invalid());
            }
            throughput = Some(rate);
        } else {
            warmup_records = value.parse().map_err(|_| invalid())?;
        }
    }
    let pacing = match throughput {
        Some(throughput) => Some(Pacing {
            throughput,
            warmup_records,
        }),
        None if warmup_records > 0 => {
            return Err(ToolError::Usage(
                "--warmup-records needs --throughput".into(),
            ))
        }
        None => None,
    };
    Ok((positional, pacing))
}

fn unix_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// `Avg latency: %.4f ms` and `Percentiles: 50th = %d, 99th = %d, 99.9th = %d`, the
/// percentiles taken as Kafka takes them: `sorted[(int) (n * p)]`.
fn results(num_messages: usize, total_time_ns: f64, latencies_ms: &mut [i64]) -> [String; 2] {
    latencies_ms.sort_unstable();
    let at = |p: f64| {
        let index = ((latencies_ms.len() as f64 * p) as usize).min(latencies_ms.len() - 1);
        latencies_ms[index]
    };
    [
        format!(
            "Avg latency: {:.4} ms",
            total_time_ns / num_messages as f64 / 1000.0 / 1000.0
        ),
        format!(
            "Percentiles: 50th = {}, 99th = {}, 99.9th = {}",
            at(0.5),
            at(0.99),
            at(0.999)
        ),
    ]
}

/// Sends one record and waits for its acknowledgement, as Kafka's `send(..).get()`.
/// The producer's own thread serves the delivery report the moment it arrives.
fn send_sync(
    producer: &ThreadedProducer<SyncDelivery>,
    topic: &str,
    message: &[u8],
) -> Result<(), ToolError> {
    let context = producer.context();
    let poisoned = || ToolError::Failed("the delivery report was lost".into());
    *context.outcome.lock().map_err(|_| poisoned())? = None;
    producer
        .send(BaseRecord::<(), [u8], ()>::to(topic).payload(message))
        .map_err(|(e, _)| ToolError::Failed(format!("cannot send to topic {topic}: {e}")))?;
    let mut outcome = context.outcome.lock().map_err(|_| poisoned())?;
    loop {
        match outcome.take() {
            Some(Ok(())) => return Ok(()),
            Some(Err(e)) => {
                return Err(ToolError::Failed(format!(
                    "the record was not acknowledged: {e}"
                )))
            }
            None => outcome = context.delivered.wait(outcome).map_err(|_| poisoned())?,
        }
    }
}

/// The next record, polling until `within` is over. Error events (librdkafka reports and
/// retries them) do not end the wait.
fn poll_one(consumer: &BaseConsumer, within: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match consumer.poll(left) {
            Some(Ok(message)) => return Some(message.payload().unwrap_or_default().to_vec()),
            Some(Err(_)) => continue,
            None => return None,
        }
    }
}

fn validate(
    consumer: &BaseConsumer,
    sent: &[u8],
    received: Option<Vec<u8>>,
) -> Result<(), ToolError> {
    let Some(read) = received else {
        return Err(ToolError::Reported(format!(
            "poll() timed out before finding a result (timeout:[{POLL_TIMEOUT_MS}])"
        )));
    };
    if read != sent {
        return Err(ToolError::Reported(format!(
            "The message read [{}] did not match the message sent [{}]",
            String::from_utf8_lossy(&read),
            String::from_utf8_lossy(sent)
        )));
    }
    // Kafka checks that the poll returned just the one record: anything else already
    // waiting is a record this test did not send.
    if let Some(Ok(_)) = consumer.poll(Duration::ZERO) {
        return Err(ToolError::Reported(
            "Only one result was expected during this test. We found [2]".into(),
        ));
    }
    Ok(())
}

fn create_topic(settings: &Settings, timeout: Duration) -> Result<(), ToolError> {
    println!(
        "Topic \"{}\" does not exist. Will create topic with {DEFAULT_NUM_PARTITIONS} partition(s) and replication factor = {DEFAULT_REPLICATION_FACTOR}",
        settings.topic
    );
    let failed = |e: String| {
        println!("Creation of topic {} failed", settings.topic);
        ToolError::Failed(e)
    };
    let admin: AdminClient<DefaultClientContext> =
        client_config(&settings.brokers, &settings.props)?
            .create()
            .map_err(|e| failed(e.to_string()))?;
    let topic = NewTopic::new(
        &settings.topic,
        DEFAULT_NUM_PARTITIONS,
        TopicReplication::Fixed(DEFAULT_REPLICATION_FACTOR),
    );
    let options = AdminOptions::new().operation_timeout(Some(timeout));
    let results = runtime()?
        .block_on(admin.create_topics([&topic], &options))
        .map_err(|e| failed(e.to_string()))?;
    for result in results {
        if let Err((name, code)) = result {
            return Err(failed(format!("cannot create topic {name}: {code}")));
        }
    }
    Ok(())
}

/// Assigns every partition of `topic` at its current high watermark, waiting (up to
/// `timeout`) for a just-created topic to appear in the metadata.
fn setup_consumer(
    consumer: &BaseConsumer,
    topic: &str,
    timeout: Duration,
) -> Result<(), ToolError> {
    let deadline = Instant::now() + timeout;
    let partitions: Vec<i32> = loop {
        let metadata = consumer
            .fetch_metadata(Some(topic), timeout)
            .map_err(|e| ToolError::Failed(format!("cannot describe topic {topic}: {e}")))?;
        let found: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if !found.is_empty() {
            break found;
        }
        if Instant::now() >= deadline {
            return Err(ToolError::Failed(format!(
                "topic {topic} has no partitions after {} ms",
                timeout.as_millis()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        let (_, high) = consumer
            .fetch_watermarks(topic, partition, timeout)
            .map_err(|e| {
                ToolError::Failed(format!("cannot read the end of {topic}-{partition}: {e}"))
            })?;
        assignment
            .add_partition_offset(topic, partition, Offset::Offset(high))
            .map_err(|e| ToolError::Failed(e.to_string()))?;
    }
    consumer
        .assign(&assignment)
        .map_err(|e| ToolError::Failed(format!("cannot assign {topic}: {e}")))
}

/// Java's `java.util.Random`, which Kafka's tool seeds with 0 to pick each message's
/// letter: the same seed gives the same messages here as in Kafka.
#[derive(Debug)]
struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    fn new(seed: u64) -> JavaRandom {
        JavaRandom {
            seed: (seed ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        (self.seed >> (48 - bits)) as i64 as i32
    }

    /// A value in `0..bound`, by Java's method. `bound` must be positive.
    fn next_int(&mut self, bound: i32) -> i32 {
        assert!(bound > 0, "bound must be positive");
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return ((i64::from(bound) * i64::from(r)) >> 31) as i32;
        }
        let mut u = r;
        loop {
            r = u % bound;
            // Java's `u - r + m < 0`: an int overflow marks a draw from the biased tail.
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return r;
            }
            u = self.next(31);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn java_random_matches_javas_sequence_for_seed_zero() {
        // `new Random(0).nextInt(26)` five times, as the JDK gives them.
        let mut random = JavaRandom::new(0);
        let first: Vec<i32> = (0..5).map(|_| random.next_int(26)).collect();
        assert_eq!(first, [18, 18, 23, 21, 13]);
        // And `nextInt(10)`'s well-known 0, 8, 9, 7, 5.
        let mut random = JavaRandom::new(0);
        let tens: Vec<i32> = (0..5).map(|_| random.next_int(10)).collect();
        assert_eq!(tens, [0, 8, 9, 7, 5]);
        // `new Random(0).nextInt()` is -1155484576 in every JDK.
        let mut random = JavaRandom::new(0);
        assert_eq!(random.next(32), -1_155_484_576);
    }

    #[test]
    fn arguments_are_checked_as_kafka_checks_them() {
        let err = |a: &[&str]| parse_settings(&strings(a)).unwrap_err().to_string();
        assert_eq!(err(&["h:1", "t"]), USAGE);
        assert_eq!(
            err(&["h:1", "t", "10", "0", "100"]),
            "Latency testing requires synchronous acknowledgement. Please use 1 or all"
        );
        assert_eq!(
            err(&["h:1", "t", "ten", "1", "100"]),
            "For input string: \"ten\""
        );
        let ok = parse_settings(&strings(&["h:1", "t", "10", "all", "100", ""])).unwrap();
        assert_eq!(ok.num_messages, 10);
        assert_eq!(ok.acks, "all");
        assert!(ok.props.is_empty());
    }

    #[test]
    fn pacing_flags_are_taken_out_of_the_positional_arguments() {
        let (positional, pacing) = split_pacing(strings(&[
            "h:1",
            "t",
            "--throughput",
            "10000",
            "100",
            "1",
            "--warmup-records",
            "500",
            "100",
        ]))
        .unwrap();
        assert_eq!(positional, strings(&["h:1", "t", "100", "1", "100"]));
        assert_eq!(
            pacing,
            Some(Pacing {
                throughput: 10_000.0,
                warmup_records: 500
            })
        );
        let (positional, pacing) = split_pacing(strings(&["h:1", "t", "1", "1", "1"])).unwrap();
        assert_eq!(positional.len(), 5);
        assert_eq!(pacing, None);
        let err = |a: &[&str]| split_pacing(strings(a)).unwrap_err().to_string();
        assert_eq!(err(&["--throughput"]), "--throughput needs a value");
        assert_eq!(err(&["--throughput", "0"]), "invalid --throughput value: 0");
        assert_eq!(
            err(&["--warmup-records", "5"]),
            "--warmup-records needs --throughput"
        );
    }

    #[test]
    fn results_take_kafkas_percentile_indexes() {
        let mut latencies: Vec<i64> = (0..1000).rev().collect();
        let lines = results(1000, 1000.0 * 2_500_000.0, &mut latencies);
        assert_eq!(lines[0], "Avg latency: 2.5000 ms");
        assert_eq!(
            lines[1],
            "Percentiles: 50th = 500, 99th = 990, 99.9th = 999"
        );
    }
}
