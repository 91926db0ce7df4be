//! `kafka-console-share-consumer.sh`: reads a topic as a member of a share group (KIP-932)
//! and prints each record with Kafka's `DefaultMessageFormatter` (`print.delivery` shows
//! the delivery count), then acknowledges it: accept by default, `--release` or
//! `--reject` as Kafka's `ConsoleShareConsumer` does. The group defaults to
//! `console-share-consumer`.
//!
//! Kafka 4.2's flags, with 4.1's spellings still accepted as deprecated
//! (`--consumer-property`, `--consumer-config`, `--property`). On exit (`--max-messages`
//! reached, `--timeout-ms` without a record, Ctrl-C or SIGTERM) it prints `Processed a
//! total of N messages` to stderr; records delivered and not printed are released.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::records::TimestampType;
use rdkafka::Timestamp;

use crate::common::{parse_key_value, read_properties, runtime};
use crate::console_consumer::formatter::{Formatter, Record};
use crate::console_consumer::single_group_id;
use crate::console_producer::options::{self, flag, value, Spec};
use crate::console_producer::support::{log_line, watch_shutdown_signals};
use crate::share_consumer::{AcknowledgeType, ShareConsumer, ShareConsumerConfig, ShareRecord};
use crate::ToolError;

const SPECS: &[Spec] = &[
    value("topic", "The topic to consume from."),
    value("command-property", "Consumer config properties in the form key=value."),
    value("consumer-property", "(DEPRECATED) Consumer config properties in the form key=value. This option will be removed in a future version. Use --command-property instead."),
    value("command-config", "Consumer config properties file. Note that --command-property takes precedence over this config."),
    value("consumer-config", "(DEPRECATED) Consumer config properties file. Note that --command-property takes precedence over this config. This option will be removed in a future version. Use --command-config instead."),
    value("formatter", "The name of a class to use for formatting Kafka messages for display. (default: org.apache.kafka.tools.consumer.DefaultMessageFormatter)"),
    value("formatter-property", "The properties to initialize the message formatter: print.timestamp, print.key, print.offset, print.delivery, print.partition, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal."),
    value("property", "(DEPRECATED) The properties to initialize the message formatter. This option will be removed in a future version. Use --formatter-property instead."),
    value("formatter-config", "Config properties file to initialize the message formatter. Note that --formatter-property takes precedence over this config."),
    value("max-messages", "The maximum number of messages to consume before exiting. If not set, consumption is continual."),
    value("timeout-ms", "If specified, exit if no message is available for consumption for the specified interval."),
    flag("reject", "If specified, messages are rejected as they are consumed."),
    flag("release", "If specified, messages are released as they are consumed."),
    flag("reject-message-on-error", "If there is an error when processing a message, reject it instead of halting."),
    value("bootstrap-server", "REQUIRED: The server(s) to connect to."),
    value("key-deserializer", "The name of the class to use for deserializing keys."),
    value("value-deserializer", "The name of the class to use for deserializing values."),
    value("group", "The share group id of the consumer."),
    flag("enable-systest-events", "Log lifecycle events of the share consumer in addition to logging consumed messages. (This is specific for system tests.)"),
];

const PURPOSE: &str = "This tool helps to read data from Kafka topics using share groups and \
                       outputs it to standard output.";

/// The group of a console share consumer given none, as in Kafka.
const DEFAULT_GROUP: &str = "console-share-consumer";
/// How long one poll may block, which bounds how late a stop request is noticed.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(opts) = options::parse_command(PURPOSE, SPECS, &args)? else {
        return Ok(());
    };
    let Some(topic) = opts.value("topic").map(str::to_string) else {
        return Err(ToolError::Usage("--topic is a required argument".into()));
    };
    let bootstrap = opts.require("bootstrap-server")?.to_string();
    if opts.has("reject") && opts.has("release") {
        return Err(ToolError::Usage(
            "At most one of --reject and --release may be specified.".into(),
        ));
    }
    let command_property = deprecated_pair(&opts, "consumer-property", "command-property")?;
    let command_config = deprecated_pair(&opts, "consumer-config", "command-config")?;
    let mut file_props = BTreeMap::new();
    if let Some(file) = command_config.and_then(|o| opts.value(o)) {
        file_props = read_properties(Path::new(file))?;
    }
    let mut extra_props = BTreeMap::new();
    for item in command_property.map(|o| opts.values(o)).unwrap_or_default() {
        let (k, v) = parse_key_value(item)?;
        extra_props.insert(k, v);
    }
    let group = single_group_id(
        opts.value("group"),
        &file_props,
        &extra_props,
        "'--consumer-property', or via '--consumer-config'",
    )?
    .unwrap_or_else(|| DEFAULT_GROUP.to_string());
    let mut props = file_props;
    props.extend(extra_props);
    if let Some(protocol) = props.get("security.protocol") {
        if !protocol.eq_ignore_ascii_case("PLAINTEXT") {
            return Err(ToolError::Usage(format!(
                "security.protocol={protocol} is not supported by \
                 kafka-console-share-consumer.sh yet"
            )));
        }
    }

    if opts.has("property") && opts.has("formatter-property") {
        return Err(ToolError::Usage(
            "Options --property and --formatter-property cannot be specified together.".into(),
        ));
    }
    if opts.has("property") {
        println!(
            "Option --property is deprecated and will be removed in a future version. Use \
             --formatter-property instead."
        );
    }
    let mut formatter_props = BTreeMap::new();
    if let Some(file) = opts.value("formatter-config") {
        formatter_props = read_properties(Path::new(file))?;
    }
    for item in opts
        .values("formatter-property")
        .into_iter()
        .chain(opts.values("property"))
    {
        let (k, v) = parse_key_value(item)?;
        formatter_props.insert(k, v);
    }
    let formatter = Formatter::named(opts.value("formatter"), &formatter_props)?;
    let acknowledge = if opts.has("reject") {
        AcknowledgeType::Reject
    } else if opts.has("release") {
        AcknowledgeType::Release
    } else {
        AcknowledgeType::Accept
    };
    let max_messages = opts.number::<i64>("max-messages")?.filter(|n| *n >= 0);
    let timeout = opts
        .number::<i64>("timeout-ms")?
        .filter(|t| *t >= 0)
        .map(|t| Duration::from_millis(t as u64));
    let millis = |key: &str, default: u64| -> Result<Duration, ToolError> {
        match props.get(key) {
            None => Ok(Duration::from_millis(default)),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| {
                    ToolError::Usage(format!("Invalid value {v} for configuration {key}"))
                }),
        }
    };
    let config = ShareConsumerConfig {
        bootstrap,
        group,
        client_id: props
            .get("client.id")
            .cloned()
            .unwrap_or_else(|| DEFAULT_GROUP.to_string()),
        topics: vec![topic],
        request_timeout: millis("request.timeout.ms", 30_000)?,
        max_wait: millis("fetch.max.wait.ms", 500)?,
        max_records: props
            .get("max.poll.records")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(500),
    };
    let systest = opts.has("enable-systest-events");

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        watch_shutdown_signals(move || stop.store(true, Ordering::SeqCst))?;
    }
    let mut count: i64 = 0;
    let result = runtime()?.block_on(async {
        let mut consumer = ShareConsumer::connect(config).await?;
        let result = consume(
            &mut consumer,
            &formatter,
            &stop,
            &mut count,
            Limits {
                max_messages,
                timeout,
                acknowledge,
                reject_on_error: opts.has("reject-message-on-error"),
            },
        )
        .await;
        consumer.close().await?;
        result
    });
    eprintln!("Processed a total of {count} messages");
    if systest {
        println!("shutdown_complete");
    }
    result
}

/// With both the deprecated spelling and the new one given, Kafka's usage error; with the
/// deprecated one, its notice. The option to read, if any.
fn deprecated_pair(
    opts: &options::Parsed,
    old: &'static str,
    new: &'static str,
) -> Result<Option<&'static str>, ToolError> {
    match (opts.has(old), opts.has(new)) {
        (true, true) => Err(ToolError::Usage(format!(
            "Options --{old} and --{new} cannot be specified together."
        ))),
        (true, false) => {
            println!(
                "Option --{old} is deprecated and will be removed in a future version. Use \
                 --{new} instead."
            );
            Ok(Some(old))
        }
        (false, true) => Ok(Some(new)),
        (false, false) => Ok(None),
    }
}

struct Limits {
    max_messages: Option<i64>,
    timeout: Option<Duration>,
    acknowledge: AcknowledgeType,
    reject_on_error: bool,
}

async fn consume(
    consumer: &mut ShareConsumer,
    formatter: &Formatter,
    stop: &AtomicBool,
    count: &mut i64,
    limits: Limits,
) -> Result<(), ToolError> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut last_record = Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) || limits.max_messages.is_some_and(|m| *count >= m) {
            return Ok(());
        }
        let records = consumer.poll(POLL_INTERVAL).await?;
        if records.is_empty() {
            if limits.timeout.is_some_and(|t| last_record.elapsed() >= t) {
                log_line(
                    "ERROR",
                    "Error processing message, terminating consumer process: \
                     org.apache.kafka.common.errors.TimeoutException",
                );
                return Ok(());
            }
            continue;
        }
        last_record = Instant::now();
        for record in records {
            // Records past --max-messages are not printed: close releases them.
            if limits.max_messages.is_some_and(|m| *count >= m) || stop.load(Ordering::SeqCst) {
                break;
            }
            *count += 1;
            let written = write_record(formatter, &record, &mut out).and_then(|()| out.flush());
            match written {
                Ok(()) => consumer.acknowledge(&record, limits.acknowledge),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    eprintln!("Unable to write to standard out, closing consumer.");
                    return Ok(());
                }
                Err(e) if limits.reject_on_error => {
                    log_line(
                        "ERROR",
                        &format!("Error processing message, rejecting this message: {e}"),
                    );
                    consumer.acknowledge(&record, AcknowledgeType::Reject);
                }
                Err(e) => return Err(ToolError::Failed(e.to_string())),
            }
        }
    }
}

fn write_record(
    formatter: &Formatter,
    record: &ShareRecord,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let headers = record
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_ref().map(|v| v.to_vec())))
        .collect();
    let timestamp = match record.timestamp_type {
        TimestampType::Creation => Timestamp::CreateTime(record.timestamp),
        TimestampType::LogAppend => Timestamp::LogAppendTime(record.timestamp),
    };
    formatter.write_record(
        &Record {
            timestamp,
            partition: record.partition,
            offset: record.offset,
            headers,
            key: record.key.as_deref(),
            value: record.value.as_deref(),
            delivery_count: Some(record.delivery_count),
        },
        out,
    )
}
