//! `kafka-console-consumer.sh`: prints records to standard output with Kafka's
//! `DefaultMessageFormatter` (`print.timestamp`, `print.partition`, `print.offset`,
//! `print.headers`, `print.key`, `print.value`, separators, `null.literal`).
//!
//! With `--group` (or a `group.id` property) the consumer subscribes and commits on exit,
//! as Kafka's does. Without one, Kafka subscribes under a throw-away group; this tool
//! instead assigns every partition of the topic(s) itself and never commits, which prints
//! the same records without needing the broker's group coordinator.
//!
//! On exit (`--max-messages` reached, `--timeout-ms` without a record, Ctrl-C or SIGTERM)
//! it prints `Processed a total of N messages` to stderr and exits 0, as Kafka does.

use std::collections::BTreeMap;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, TopicPartitionList};

use crate::common::{parse_key_value, read_properties};
use crate::console_producer::options::{self, flag, value, Spec};
use crate::console_producer::support::{self, log_line, QuietContext};
use crate::ToolError;

pub(crate) mod formatter;
mod topic_pattern;

use formatter::{Formatter, Record};

use topic_pattern::TopicPattern;

const SPECS: &[Spec] = &[
    value("topic", "The topic to consume on."),
    value("include", "Regular expression specifying list of topics to include for consumption."),
    value("partition", "The partition to consume from. Consumption starts from the end of the partition unless '--offset' is specified."),
    value("offset", "The offset to consume from (a non-negative number), or 'earliest' which means from beginning, or 'latest' which means from end (default: latest)"),
    value("consumer-property", "A mechanism to pass user-defined properties in the form key=value to the consumer."),
    value("consumer.config", "Consumer config properties file. Note that --consumer-property takes precedence over this config."),
    value("formatter", "The name of a class to use for formatting kafka messages for display. (default: org.apache.kafka.tools.consumer.DefaultMessageFormatter)"),
    value("property", "The properties to initialize the message formatter: print.timestamp, print.key, print.offset, print.partition, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal."),
    value("formatter-config", "Config properties file to initialize the message formatter. Note that --property takes precedence over this config."),
    flag("from-beginning", "If the consumer does not already have an established offset to consume from, start with the earliest message present in the log rather than the latest message."),
    value("max-messages", "The maximum number of messages to consume before exiting. If not set, consumption is continual."),
    value("timeout-ms", "If specified, exit if no message is available for consumption for the specified interval."),
    flag("skip-message-on-error", "If there is an error when processing a message, skip it instead of halt."),
    value("bootstrap-server", "REQUIRED: The server(s) to connect to."),
    value("key-deserializer", "Deserializer for keys (only byte and string deserializers: records are printed as bytes)."),
    value("value-deserializer", "Deserializer for values (only byte and string deserializers: records are printed as bytes)."),
    flag("enable-systest-events", "Log lifecycle events of the consumer in addition to logging consumed messages."),
    value("isolation-level", "Set to read_committed in order to filter out transactional messages which are not committed. Set to read_uncommitted to read all messages. (default: read_uncommitted)"),
    value("group", "The consumer group id of the consumer."),
];

const PURPOSE: &str =
    "This tool helps to read data from Kafka topics and outputs it to standard output.";

/// How long to wait for a first answer from the cluster (Java's `default.api.timeout.ms`).
const CLUSTER_WAIT: Duration = Duration::from_secs(60);
/// How long one `poll` may block, which bounds how late a stop request is noticed.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Where consumption starts in a partition that is assigned rather than subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    Earliest,
    Latest,
    At(i64),
}

impl Start {
    fn offset(self) -> Offset {
        match self {
            Start::Earliest => Offset::Beginning,
            Start::Latest => Offset::End,
            Start::At(n) => Offset::Offset(n),
        }
    }
}

/// What to read: a group subscription or partitions assigned by the tool.
#[derive(Debug)]
enum Source {
    Subscribe(String),
    OnePartition {
        topic: String,
        partition: i32,
        start: Start,
    },
    AllPartitions {
        topics: TopicFilter,
        start: Start,
    },
}

#[derive(Debug)]
enum TopicFilter {
    Name(String),
    Pattern(TopicPattern),
}

impl TopicFilter {
    fn matches(&self, topic: &str) -> bool {
        match self {
            TopicFilter::Name(name) => name == topic,
            // Kafka's consumer leaves internal topics out of pattern subscriptions.
            TopicFilter::Pattern(p) => !topic.starts_with("__") && p.matches(topic),
        }
    }
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(opts) = options::parse_command(PURPOSE, SPECS, &args)? else {
        return Ok(());
    };

    // Kafka's ConsoleConsumerOptions.checkRequiredArgs, in its order.
    let topic = opts.value("topic").map(str::to_string);
    let include = opts.value("include").map(str::to_string);
    if topic.is_some() == include.is_some() {
        return Err(ToolError::Usage(
            "Exactly one of --include/--topic is required. ".into(),
        ));
    }
    let partition = opts.number::<i32>("partition")?;
    if partition.is_some() {
        if topic.is_none() {
            return Err(ToolError::Usage(
                "The topic is required when partition is specified.".into(),
            ));
        }
        if opts.has("from-beginning") && opts.has("offset") {
            return Err(ToolError::Usage(
                "Options from-beginning and offset cannot be specified together.".into(),
            ));
        }
    } else if opts.has("offset") {
        return Err(ToolError::Usage(
            "The partition is required when offset is specified.".into(),
        ));
    }
    let bootstrap = opts.require("bootstrap-server")?.to_string();

    let mut file_props = BTreeMap::new();
    if let Some(file) = opts.value("consumer.config") {
        file_props = read_properties(Path::new(file))?;
    }
    let mut extra_props = BTreeMap::new();
    for item in opts.values("consumer-property") {
        let (k, v) = parse_key_value(item)?;
        extra_props.insert(k, v);
    }
    let group = single_group_id(
        opts.value("group"),
        &file_props,
        &extra_props,
        "'--consumer-property', or via '--consumer.config'",
    )?;
    if group.is_some() && partition.is_some() {
        return Err(ToolError::Usage(
            "Options group and partition cannot be specified together.".into(),
        ));
    }

    let mut props = file_props;
    props.extend(extra_props);
    match props.get("auto.offset.reset") {
        Some(reset) if opts.has("from-beginning") && reset != "earliest" => {
            return Err(ToolError::Usage(format!(
                "Can't simultaneously specify --from-beginning and 'auto.offset.reset={reset}', \
                 please remove one option"
            )));
        }
        Some(_) => {}
        None => {
            let reset = if opts.has("from-beginning") {
                "earliest"
            } else {
                "latest"
            };
            props.insert("auto.offset.reset".into(), reset.into());
        }
    }
    props.insert("bootstrap.servers".into(), bootstrap.clone());
    props
        .entry("client.id".into())
        .or_insert_with(|| "console-consumer".into());
    if let Some(level) = opts.value("isolation-level") {
        props.insert("isolation.level".into(), level.to_string());
    }
    // librdkafka defaults to read_committed; Kafka's consumer to read_uncommitted.
    let level = props
        .entry("isolation.level".into())
        .or_insert_with(|| "read_uncommitted".into());
    if level != "read_committed" && level != "read_uncommitted" {
        return Err(ToolError::Usage(format!(
            "Invalid value {level} for configuration isolation.level: String must be one of: \
             read_committed, read_uncommitted"
        )));
    }
    // Kafka's consumer lets a metadata request create a missing topic; librdkafka's not.
    props
        .entry("allow.auto.create.topics".into())
        .or_insert_with(|| "true".into());
    let committing = match &group {
        Some(g) => {
            props.insert("group.id".into(), g.clone());
            // Only what was printed may be committed. librdkafka would store the offset
            // of every message handed out, including those it drains (and this tool
            // drops) while closing; Kafka's tool seeks back over unprinted ones instead.
            props.insert("enable.auto.offset.store".into(), "false".into());
            props
                .get("enable.auto.commit")
                .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
        }
        None => {
            // librdkafka needs a group id even to assign partitions; like Kafka's tool, a
            // throw-away one that never commits.
            let suffix = uuid::Uuid::new_v4().as_u128() % 100_000;
            props.insert("group.id".into(), format!("console-consumer-{suffix}"));
            props.insert("enable.auto.commit".into(), "false".into());
            props.insert("enable.auto.offset.store".into(), "false".into());
            false
        }
    };

    let source = match (&group, partition) {
        (Some(_), _) => Source::Subscribe(match (&topic, &include) {
            (Some(t), _) => t.clone(),
            (None, Some(p)) => {
                TopicPattern::new(p)?;
                format!("^({p})$")
            }
            (None, None) => unreachable!("checked above"),
        }),
        (None, Some(partition)) => Source::OnePartition {
            topic: topic.clone().unwrap_or_default(),
            partition,
            start: parse_offset(opts.value("offset"), opts.has("from-beginning"))?,
        },
        (None, None) => Source::AllPartitions {
            topics: match (&topic, &include) {
                (Some(t), _) => TopicFilter::Name(t.clone()),
                (None, Some(p)) => TopicFilter::Pattern(TopicPattern::new(p)?),
                (None, None) => unreachable!("checked above"),
            },
            start: match props.get("auto.offset.reset").map(|s| s.trim()) {
                Some("earliest") | Some("smallest") | Some("beginning") => Start::Earliest,
                Some("latest") | Some("largest") | Some("end") => Start::Latest,
                Some(other) => {
                    return Err(ToolError::Usage(format!(
                        "Invalid value {other} for configuration auto.offset.reset: \
                         Invalid value `{other}` for configuration auto.offset.reset. \
                         The value must be either 'earliest', 'latest' or 'none'."
                    )))
                }
                None => Start::Latest,
            },
        },
    };

    let mut formatter_props = BTreeMap::new();
    if let Some(file) = opts.value("formatter-config") {
        formatter_props = read_properties(Path::new(file))?;
    }
    for item in opts.values("property") {
        let (k, v) = parse_key_value(item)?;
        formatter_props.insert(k, v);
    }
    let formatter = Formatter::named(opts.value("formatter"), &formatter_props)?;
    let max_messages = opts.number::<i64>("max-messages")?.filter(|n| *n >= 0);
    let timeout = opts
        .number::<i64>("timeout-ms")?
        .filter(|t| *t >= 0)
        .map(|t| Duration::from_millis(t as u64));

    let context = QuietContext::for_props(&props);
    let consumer: BaseConsumer<QuietContext> =
        support::create_client(support::translate_java_properties(&props), context.clone())?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        support::watch_shutdown_signals(move || stop.store(true, Ordering::SeqCst))?;
    }
    support::await_cluster(
        &bootstrap,
        CLUSTER_WAIT,
        |t| consumer.fetch_metadata(None, t).map(|_| ()),
        || {
            // A consumer's error events arrive through poll, not the error callback.
            while let Some(event) = consumer.poll(Duration::ZERO) {
                if let Err(e) = event {
                    let reason = e.to_string();
                    context.note_error(e, &reason);
                }
            }
            context.brokers_down()
        },
        || context.last_failure(),
    )?;

    let mut run = Run {
        consumer: &consumer,
        formatter: &formatter,
        stop: &stop,
        count: 0,
        max_messages,
        timeout,
        skip_on_error: opts.has("skip-message-on-error"),
        store_offsets: group.is_some(),
    };
    let result = run.start(&source).and_then(|()| run.consume());
    if committing && run.count > 0 {
        // What was printed is what was consumed: commit it before leaving the group.
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => log_line("WARN", &format!("Offset commit failed on close: {e}")),
        }
    }
    let count = run.count;
    drop(consumer);
    eprintln!("Processed a total of {count} messages");
    result
}

/// The one group id given by `--group`, the config file and the properties (Kafka's
/// check that all places name the same group); `others` names those places in the error.
pub(crate) fn single_group_id(
    flag: Option<&str>,
    file_props: &BTreeMap<String, String>,
    extra_props: &BTreeMap<String, String>,
    others: &str,
) -> Result<Option<String>, ToolError> {
    let mut groups: Vec<String> = Vec::new();
    for g in [
        flag,
        file_props.get("group.id").map(String::as_str),
        extra_props.get("group.id").map(String::as_str),
    ]
    .into_iter()
    .flatten()
    {
        if !groups.iter().any(|known| known == g) {
            groups.push(g.to_string());
        }
    }
    if groups.len() > 1 {
        return Err(ToolError::Usage(format!(
            "The group ids provided in different places (directly using '--group', via \
             {others}) do not match. Detected group ids: {}",
            groups
                .iter()
                .map(|g| format!("'{g}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(groups.pop())
}

fn parse_offset(text: Option<&str>, from_beginning: bool) -> Result<Start, ToolError> {
    let Some(text) = text else {
        return Ok(if from_beginning {
            Start::Earliest
        } else {
            Start::Latest
        });
    };
    match text.to_ascii_lowercase().as_str() {
        "earliest" => Ok(Start::Earliest),
        "latest" => Ok(Start::Latest),
        other => match other.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Start::At(n)),
            _ => Err(ToolError::Usage(format!(
                "The provided offset value '{text}' is incorrect. Valid values are 'earliest', \
                 'latest', or a non-negative long."
            ))),
        },
    }
}

/// One run of the consumer loop and what it has counted.
struct Run<'a> {
    consumer: &'a BaseConsumer<QuietContext>,
    formatter: &'a Formatter,
    stop: &'a AtomicBool,
    count: u64,
    max_messages: Option<i64>,
    timeout: Option<Duration>,
    skip_on_error: bool,
    /// Whether printed records' offsets are stored for committing (group mode).
    store_offsets: bool,
}

impl Run<'_> {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Subscribes, or assigns the partitions to read once they exist.
    fn start(&mut self, source: &Source) -> Result<(), ToolError> {
        match source {
            Source::Subscribe(topic) => self
                .consumer
                .subscribe(&[topic.as_str()])
                .map_err(|e| ToolError::Failed(e.to_string())),
            Source::OnePartition {
                topic,
                partition,
                start,
            } => {
                let mut list = TopicPartitionList::new();
                list.add_partition_offset(topic, *partition, start.offset())
                    .map_err(|e| ToolError::Failed(e.to_string()))?;
                self.consumer
                    .assign(&list)
                    .map_err(|e| ToolError::Failed(e.to_string()))
            }
            Source::AllPartitions { topics, start } => {
                let began = Instant::now();
                loop {
                    let list = self.partitions(topics, *start)?;
                    if list.count() > 0 {
                        return self
                            .consumer
                            .assign(&list)
                            .map_err(|e| ToolError::Failed(e.to_string()));
                    }
                    // Like Kafka's consumer, wait for the topic to appear (or be created
                    // by this metadata request); --timeout-ms bounds the wait.
                    if self.stopping() || self.timeout.is_some_and(|t| began.elapsed() > t) {
                        return Ok(());
                    }
                    let _ = self.consumer.poll(Duration::from_millis(200));
                }
            }
        }
    }

    fn partitions(
        &self,
        topics: &TopicFilter,
        start: Start,
    ) -> Result<TopicPartitionList, ToolError> {
        let wanted = match topics {
            TopicFilter::Name(name) => Some(name.as_str()),
            TopicFilter::Pattern(_) => None,
        };
        let mut list = TopicPartitionList::new();
        let metadata = match self.consumer.fetch_metadata(wanted, CLUSTER_WAIT) {
            Ok(m) => m,
            Err(e) => return Err(ToolError::Failed(e.to_string())),
        };
        for topic in metadata.topics() {
            if topic.error().is_some() || !topics.matches(topic.name()) {
                continue;
            }
            for partition in topic.partitions() {
                list.add_partition_offset(topic.name(), partition.id(), start.offset())
                    .map_err(|e| ToolError::Failed(e.to_string()))?;
            }
        }
        Ok(list)
    }

    fn consume(&mut self) -> Result<(), ToolError> {
        let stdout = std::io::stdout();
        let interactive = stdout.is_terminal();
        let mut out = BufWriter::new(stdout.lock());
        let mut last_record = Instant::now();
        let mut last_warning = String::new();
        loop {
            if self.stopping() || self.max_messages.is_some_and(|m| self.count as i64 >= m) {
                break;
            }
            match self.consumer.poll(POLL_INTERVAL) {
                None => {
                    if out.flush().is_err() {
                        eprintln!("Unable to write to standard out, closing consumer.");
                        break;
                    }
                    if self.timeout.is_some_and(|t| last_record.elapsed() > t) {
                        // Kafka's consumer ends on a TimeoutException it logs this way.
                        log_line(
                            "ERROR",
                            "Error processing message, terminating consumer process:  \
                             org.apache.kafka.common.errors.TimeoutException",
                        );
                        break;
                    }
                }
                Some(Ok(message)) => {
                    self.count += 1;
                    last_record = Instant::now();
                    if self.store_offsets {
                        let _ = self.consumer.store_offset_from_message(&message);
                    }
                    if let Err(e) = write_message(self.formatter, &message, &mut out) {
                        if e.kind() == std::io::ErrorKind::BrokenPipe || !self.skip_on_error {
                            eprintln!("Unable to write to standard out, closing consumer.");
                            break;
                        }
                        log_line(
                            "ERROR",
                            &format!("Error processing message, skipping this message: {e}"),
                        );
                    }
                    if interactive && out.flush().is_err() {
                        break;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {}
                Some(Err(e @ KafkaError::MessageConsumptionFatal(_))) => {
                    let _ = out.flush();
                    log_line(
                        "ERROR",
                        &format!("Error processing message, terminating consumer process: {e}"),
                    );
                    break;
                }
                Some(Err(e)) => {
                    // Transient (a broker restarting, a topic being created): Kafka's
                    // consumer logs and retries. Say it once, not every poll.
                    let text = match e.rdkafka_error_code() {
                        Some(RDKafkaErrorCode::AllBrokersDown)
                        | Some(RDKafkaErrorCode::BrokerTransportFailure) => {
                            format!("Connection to the broker failed: {e}")
                        }
                        _ => e.to_string(),
                    };
                    if text != last_warning {
                        log_line("WARN", &text);
                        last_warning = text;
                    }
                }
            }
        }
        let _ = out.flush();
        Ok(())
    }
}

/// Prints a record librdkafka delivered.
fn write_message(
    formatter: &Formatter,
    message: &BorrowedMessage<'_>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let headers: Vec<(String, Option<Vec<u8>>)> = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default();
    let record = Record {
        timestamp: message.timestamp(),
        partition: message.partition(),
        offset: message.offset(),
        headers,
        key: message.key(),
        value: message.payload(),
        delivery_count: None,
    };
    formatter.write_record(&record, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_as_kafka_says() {
        assert_eq!(parse_offset(None, true).unwrap(), Start::Earliest);
        assert_eq!(parse_offset(None, false).unwrap(), Start::Latest);
        assert_eq!(
            parse_offset(Some("EARLIEST"), false).unwrap(),
            Start::Earliest
        );
        assert_eq!(parse_offset(Some("7"), false).unwrap(), Start::At(7));
        assert!(parse_offset(Some("-1"), false).is_err());
        assert!(parse_offset(Some("x"), false).is_err());
    }
}
