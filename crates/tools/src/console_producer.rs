//! `kafka-console-producer.sh`: one record per line of standard input.
//!
//! Kafka's flags and defaults (`acks=-1`, `linger.ms=1000` from `--timeout`,
//! `request.timeout.ms=1500`, `retries=3`, `client.id=console-producer`, …) and its
//! `LineMessageReader` properties (`parse.key`, `key.separator`, `parse.headers`,
//! `headers.delimiter`, `headers.separator`, `headers.key.separator`, `ignore.error`,
//! `null.marker`). A failed delivery is logged as Kafka's `ErrorLoggingCallback` logs it;
//! unlike Kafka, which exits 0 regardless, the exit status is then 1, so scripts notice.
//!
//! Differences from Kafka, on purpose: `compression.type` from `--producer.config` /
//! `--producer-property` is kept when `--compression-codec` is absent (Kafka silently
//! overwrites it with `none`); `headers.separator` is a literal string, not a Java regex.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::util::Timeout;
use rdkafka::{ClientContext, Message};

use crate::common::{parse_key_value, read_properties};
use crate::ToolError;

pub(crate) mod options;
pub(crate) mod support;

use options::{flag, optional_value, value, Spec};
use support::{log_line, QuietContext};

const SPECS: &[Spec] = &[
    value("topic", "REQUIRED: The topic id to produce messages to."),
    value("bootstrap-server", "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to."),
    value("broker-list", "DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is specified."),
    flag("sync", "If set message send requests to the brokers are synchronously, one at a time as they arrive."),
    optional_value("compression-codec", "The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If specified without value, then it defaults to 'gzip'"),
    value("batch-size", "Number of messages to send in a single batch if they are not being sent synchronously. (default: 16384)"),
    value("message-send-max-retries", "The number of retries before the producer gives up and drops a message (`retries`). (default: 3)"),
    value("retry-backoff-ms", "The time to wait before refreshing metadata and retrying (`retry.backoff.ms`). (default: 100)"),
    value("timeout", "The maximum time a message will queue awaiting sufficient batch size, in ms (`linger.ms`). (default: 1000)"),
    value("request-required-acks", "The required `acks` of the producer requests (default: -1)"),
    value("request-timeout-ms", "The ack timeout of the producer requests. Value must be non-negative and non-zero. (default: 1500)"),
    value("metadata-expiry-ms", "The period after which metadata is refreshed (`metadata.max.age.ms`). (default: 300000)"),
    value("max-block-ms", "The max time that the producer will block for during a send request. (default: 60000)"),
    value("max-memory-bytes", "The total memory used to buffer records waiting to be sent (`buffer.memory`). (default: 33554432)"),
    value("max-partition-memory-bytes", "The buffer size allocated for a partition (`batch.size`). (default: 16384)"),
    value("line-reader", "The class name of the class to use for reading lines from standard in. Only the default LineMessageReader is supported."),
    value("socket-buffer-size", "The size of the tcp RECV size (`send.buffer.bytes`). (default: 102400)"),
    value("property", "A mechanism to pass properties in the form key=value to the message reader: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, ignore.error, null.marker."),
    value("reader-config", "Config properties file for the message reader. Note that --property takes precedence over this config."),
    value("producer-property", "A mechanism to pass user-defined properties in the form key=value to the producer."),
    value("producer.config", "Producer config properties file. Note that --producer-property takes precedence over this config."),
];

const PURPOSE: &str = "This tool helps to read data from standard input and publish it to Kafka.";

/// Kafka's name for the default reader, in both packages it has lived in.
const LINE_READERS: &[&str] = &[
    "org.apache.kafka.tools.LineMessageReader",
    "kafka.tools.ConsoleProducer$LineMessageReader",
    "kafka.tools.LineMessageReader",
];

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(opts) = options::parse_command(PURPOSE, SPECS, &args)? else {
        return Ok(());
    };
    let topic = opts.require("topic")?.to_string();
    let bootstrap = opts
        .value("bootstrap-server")
        .or_else(|| opts.value("broker-list"))
        .ok_or_else(|| ToolError::Usage("Missing required argument \"[bootstrap-server]\"".into()))?
        .to_string();
    if bootstrap.trim().is_empty() {
        return Err(ToolError::Usage(
            "The bootstrap server must not be empty".into(),
        ));
    }
    if let Some(reader) = opts.value("line-reader") {
        if !LINE_READERS.contains(&reader) {
            return Err(ToolError::Usage(format!(
                "Line reader {reader} is not supported; only {} is",
                LINE_READERS[0]
            )));
        }
    }

    let mut reader_props = BTreeMap::new();
    if let Some(file) = opts.value("reader-config") {
        reader_props.extend(read_properties(Path::new(file))?);
    }
    for item in opts.values("property") {
        let (k, v) = parse_key_value(item)?;
        reader_props.insert(k, v);
    }
    let reader = LineReader::configure(&reader_props)?;

    let props = producer_props(&opts, &bootstrap)?;
    let max_block = Duration::from_millis(
        props
            .get("max.block.ms")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(60_000),
    );
    let context = ProducerState {
        quiet: QuietContext::for_props(&props),
        failed: Arc::new(AtomicU64::new(0)),
    };
    let producer: Arc<ThreadedProducer<ProducerState>> = Arc::new(support::create_client(
        support::translate_java_properties(&props),
        context.clone(),
    )?);
    support::await_cluster(
        &bootstrap,
        max_block,
        |t| producer.client().fetch_metadata(None, t).map(|_| ()),
        || context.quiet.brokers_down(),
        || context.quiet.last_failure(),
    )?;

    {
        let producer = producer.clone();
        let failed = context.failed.clone();
        support::watch_shutdown_signals(move || {
            // Kafka's shutdown hook closes the producer, which sends what is queued.
            let _ = producer.flush(Duration::from_secs(30));
            std::process::exit(if failed.load(Ordering::SeqCst) > 0 {
                1
            } else {
                0
            });
        })?;
    }

    let result = produce_lines(&producer, &topic, &reader, opts.has("sync"), max_block);
    // At end of input (or a line that does not parse) everything already read is sent.
    let _ = producer.flush(Timeout::Never);
    result?;
    let failed = context.failed.load(Ordering::SeqCst);
    if failed > 0 {
        return Err(ToolError::Failed(format!(
            "{failed} message(s) could not be sent to topic {topic}"
        )));
    }
    Ok(())
}

/// The producer's properties, merged as Kafka's `ConsoleProducerConfig.producerProps`
/// does: the config file, then `--producer-property`, then each dedicated flag, which
/// wins when given and otherwise only fills in its default.
fn producer_props(
    opts: &options::Parsed,
    bootstrap: &str,
) -> Result<BTreeMap<String, String>, ToolError> {
    let mut props = BTreeMap::new();
    if let Some(file) = opts.value("producer.config") {
        props.extend(read_properties(Path::new(file))?);
    }
    for item in opts.values("producer-property") {
        let (k, v) = parse_key_value(item)?;
        props.insert(k, v);
    }
    props.insert("bootstrap.servers".into(), bootstrap.to_string());
    if opts.has("compression-codec") {
        let codec = match opts.value("compression-codec") {
            None | Some("") => "gzip".to_string(),
            Some(c) => c.trim().to_ascii_lowercase(),
        };
        if !["none", "gzip", "snappy", "lz4", "zstd"].contains(&codec.as_str()) {
            return Err(ToolError::Usage(format!(
                "Unknown compression name: {codec}"
            )));
        }
        props.insert("compression.type".into(), codec);
    } else {
        props
            .entry("compression.type".into())
            .or_insert_with(|| "none".into());
    }
    props
        .entry("client.id".into())
        .or_insert_with(|| "console-producer".into());

    let merges: &[(&str, &str, &str)] = &[
        ("linger.ms", "timeout", "1000"),
        ("acks", "request-required-acks", "-1"),
        ("request.timeout.ms", "request-timeout-ms", "1500"),
        ("retries", "message-send-max-retries", "3"),
        ("retry.backoff.ms", "retry-backoff-ms", "100"),
        ("send.buffer.bytes", "socket-buffer-size", "102400"),
        ("buffer.memory", "max-memory-bytes", "33554432"),
        ("batch.size", "batch-size", "16384"),
        ("batch.size", "max-partition-memory-bytes", "16384"),
        ("metadata.max.age.ms", "metadata-expiry-ms", "300000"),
        ("max.block.ms", "max-block-ms", "60000"),
    ];
    for (key, option, default) in merges {
        if *option != "request-required-acks" {
            opts.number::<i64>(option)?;
        }
        if let Some(v) = opts.value(option) {
            props.insert(key.to_string(), v.trim().to_string());
        } else if !props.contains_key(*key) {
            props.insert(key.to_string(), default.to_string());
        }
    }
    // Java's producer gives up on a record after delivery.timeout.ms (2 minutes);
    // librdkafka's own default is 5.
    if !props.contains_key("delivery.timeout.ms") && !props.contains_key("message.timeout.ms") {
        props.insert("delivery.timeout.ms".into(), "120000".into());
    }
    // The same key lands on the same partition as with Kafka's own producer (murmur2).
    props
        .entry("partitioner".into())
        .or_insert_with(|| "murmur2_random".into());
    Ok(props)
}

fn produce_lines(
    producer: &ThreadedProducer<ProducerState>,
    topic: &str,
    reader: &LineReader,
    sync: bool,
    max_block: Duration,
) -> Result<(), ToolError> {
    let stdin = std::io::stdin();
    let prompt = stdin.is_terminal();
    let mut input = stdin.lock();
    let mut buf = Vec::new();
    let mut line_number = 0u64;
    loop {
        line_number += 1;
        if prompt {
            let mut out = std::io::stdout();
            let _ = out.write_all(b">");
            let _ = out.flush();
        }
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| ToolError::Failed(format!("cannot read standard input: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        let line = String::from_utf8_lossy(&buf);
        let record = reader.parse(&line, line_number)?;
        send(producer, topic, &record, max_block);
        if sync {
            let _ = producer.flush(Timeout::Never);
        }
    }
}

/// Queues one record, waiting while librdkafka's queue is full, for up to `max_block`
/// (Java's `max.block.ms`). A record that cannot be queued is reported like a failed
/// delivery, as Kafka's producer hands such errors to the callback.
fn send(
    producer: &ThreadedProducer<ProducerState>,
    topic: &str,
    record: &LineRecord,
    max_block: Duration,
) {
    let started = Instant::now();
    loop {
        let mut base: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        if let Some(key) = &record.key {
            base = base.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            base = base.payload(value.as_slice());
        }
        if !record.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
            for (key, value) in &record.headers {
                headers = headers.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
            base = base.headers(headers);
        }
        match producer.send(base) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                if started.elapsed() < max_block =>
            {
                // Backpressure: let queued batches drain before trying again.
                let _ = producer.flush(Duration::from_millis(100));
            }
            Err((error, _)) => {
                let error = match error {
                    KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => format!(
                        "Failed to allocate memory within the configured max blocking time {} ms.",
                        max_block.as_millis()
                    ),
                    other => other.to_string(),
                };
                report_failure(
                    topic,
                    record.key.as_deref(),
                    record.value.as_deref(),
                    &error,
                );
                producer.context().failed.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
    }
}

/// Kafka's `ErrorLoggingCallback` line (keys and values as sizes, never contents).
fn report_failure(topic: &str, key: Option<&[u8]>, value: Option<&[u8]>, error: &str) {
    let describe = |bytes: Option<&[u8]>| match bytes {
        None => "null".to_string(),
        Some(b) => format!("{} bytes", b.len()),
    };
    log_line(
        "ERROR",
        &format!(
            "Error when sending message to topic {topic} with key: {}, value: {} with error: {error}",
            describe(key),
            describe(value)
        ),
    );
}

/// Counts failed deliveries and prints each as Kafka does.
#[derive(Debug, Clone)]
struct ProducerState {
    quiet: QuietContext,
    failed: Arc<AtomicU64>,
}

impl ClientContext for ProducerState {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.quiet.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.quiet.error(error, reason);
    }
}

impl ProducerContext for ProducerState {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, message)) = result {
            report_failure(
                message.topic(),
                message.key(),
                message.payload(),
                &error.to_string(),
            );
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A record header: a key and a value that may be null.
type RecordHeader = (String, Option<Vec<u8>>);

/// One parsed input line.
#[derive(Debug, PartialEq, Eq)]
struct LineRecord {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<RecordHeader>,
}

/// Kafka's `LineMessageReader`: `[headers<delimiter>][key<separator>]value` per line.
#[derive(Debug)]
struct LineReader {
    parse_key: bool,
    key_separator: String,
    parse_headers: bool,
    headers_delimiter: String,
    headers_separator: String,
    headers_key_separator: String,
    ignore_error: bool,
    null_marker: Option<String>,
}

impl LineReader {
    fn configure(props: &BTreeMap<String, String>) -> Result<LineReader, ToolError> {
        let flag = |k: &str| {
            props
                .get(k)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        let text = |k: &str, default: &str| props.get(k).cloned().unwrap_or(default.into());
        let reader = LineReader {
            parse_key: flag("parse.key"),
            key_separator: text("key.separator", "\t"),
            parse_headers: flag("parse.headers"),
            headers_delimiter: text("headers.delimiter", "\t"),
            headers_separator: text("headers.separator", ","),
            headers_key_separator: text("headers.key.separator", ":"),
            ignore_error: flag("ignore.error"),
            null_marker: props.get("null.marker").cloned(),
        };
        let differ = |a: &str, an: &str, b: &str, bn: &str| {
            if a == b {
                Err(ToolError::Usage(format!("{an} and {bn} may not be equal")))
            } else {
                Ok(())
            }
        };
        differ(
            &reader.headers_delimiter,
            "headers.delimiter",
            &reader.headers_separator,
            "headers.separator",
        )?;
        differ(
            &reader.headers_delimiter,
            "headers.delimiter",
            &reader.headers_key_separator,
            "headers.key.separator",
        )?;
        differ(
            &reader.headers_separator,
            "headers.separator",
            &reader.headers_key_separator,
            "headers.key.separator",
        )?;
        if let Some(marker) = &reader.null_marker {
            differ(
                marker,
                "null.marker",
                &reader.key_separator,
                "key.separator",
            )?;
            differ(
                marker,
                "null.marker",
                &reader.headers_separator,
                "headers.separator",
            )?;
            differ(
                marker,
                "null.marker",
                &reader.headers_delimiter,
                "headers.delimiter",
            )?;
            differ(
                marker,
                "null.marker",
                &reader.headers_key_separator,
                "headers.key.separator",
            )?;
        }
        Ok(reader)
    }

    fn is_null(&self, field: &str) -> bool {
        self.null_marker.as_deref() == Some(field)
    }

    fn parse(&self, line: &str, line_number: u64) -> Result<LineRecord, ToolError> {
        let headers = self.field(
            self.parse_headers,
            line,
            0,
            &self.headers_delimiter,
            "headers delimiter",
            line_number,
        )?;
        let header_offset = headers.map_or(0, |h| h.len() + self.headers_delimiter.len());
        let key = self.field(
            self.parse_key,
            line,
            header_offset,
            &self.key_separator,
            "key separator",
            line_number,
        )?;
        let key_offset = key.map_or(0, |k| k.len() + self.key_separator.len());
        let value = &line[header_offset + key_offset..];
        let headers = match headers {
            Some(h) if !self.is_null(h) => self.split_headers(h, line_number)?,
            _ => Vec::new(),
        };
        Ok(LineRecord {
            key: key
                .filter(|k| !self.is_null(k))
                .map(|k| k.as_bytes().to_vec()),
            value: (!self.is_null(value)).then(|| value.as_bytes().to_vec()),
            headers,
        })
    }

    /// The text from `start` up to `separator`, when this field is parsed at all.
    fn field<'a>(
        &self,
        enabled: bool,
        line: &'a str,
        start: usize,
        separator: &str,
        name: &str,
        line_number: u64,
    ) -> Result<Option<&'a str>, ToolError> {
        if !enabled {
            return Ok(None);
        }
        match line[start..].find(separator) {
            Some(i) => Ok(Some(&line[start..start + i])),
            None if self.ignore_error => Ok(None),
            None => Err(ToolError::Failed(format!(
                "No {name} found on line number {line_number}: '{line}'"
            ))),
        }
    }

    fn split_headers(
        &self,
        headers: &str,
        line_number: u64,
    ) -> Result<Vec<RecordHeader>, ToolError> {
        // As Java's String.split: trailing empty pairs are dropped, "" is one empty pair.
        let mut pairs: Vec<&str> = headers.split(self.headers_separator.as_str()).collect();
        if !headers.is_empty() {
            while pairs.last() == Some(&"") {
                pairs.pop();
            }
        }
        let mut out = Vec::with_capacity(pairs.len());
        for pair in pairs {
            let Some(i) = pair.find(self.headers_key_separator.as_str()) else {
                if self.ignore_error {
                    out.push((pair.to_string(), None));
                    continue;
                }
                return Err(ToolError::Failed(format!(
                    "No header key separator found in pair '{pair}' on line number {line_number}"
                )));
            };
            let key = &pair[..i];
            if self.is_null(key) {
                return Err(ToolError::Failed(format!(
                    "Header keys should not be equal to the null marker '{key}' as they can't be null"
                )));
            }
            let value = &pair[i + self.headers_key_separator.len()..];
            out.push((
                key.to_string(),
                (!self.is_null(value)).then(|| value.as_bytes().to_vec()),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(props: &[(&str, &str)]) -> LineReader {
        let map = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LineReader::configure(&map).unwrap()
    }

    fn bytes(s: &str) -> Option<Vec<u8>> {
        Some(s.as_bytes().to_vec())
    }

    #[test]
    fn plain_lines_are_values_without_keys() {
        let r = reader(&[]).parse("hello\tworld", 1).unwrap();
        assert_eq!(r.key, None);
        assert_eq!(r.value, bytes("hello\tworld"));
        assert!(r.headers.is_empty());
    }

    #[test]
    fn headers_then_key_then_value() {
        let r = reader(&[
            ("parse.key", "true"),
            ("key.separator", ":"),
            ("parse.headers", "true"),
            ("headers.key.separator", "="),
        ])
        .parse("h1=v1,h2=v2\tk:v:w", 1)
        .unwrap();
        assert_eq!(r.key, bytes("k"));
        assert_eq!(r.value, bytes("v:w"));
        assert_eq!(
            r.headers,
            vec![("h1".into(), bytes("v1")), ("h2".into(), bytes("v2"))]
        );
    }

    #[test]
    fn null_marker_makes_fields_null() {
        let r = reader(&[
            ("parse.key", "true"),
            ("parse.headers", "true"),
            ("null.marker", "<null>"),
        ])
        .parse("h:<null>\t<null>\t<null>", 1)
        .unwrap();
        assert_eq!(r.key, None);
        assert_eq!(r.value, None);
        assert_eq!(r.headers, vec![("h".into(), None)]);
    }

    #[test]
    fn missing_separator_is_an_error_unless_ignored() {
        let err = reader(&[("parse.key", "true")])
            .parse("novalue", 7)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "No key separator found on line number 7: 'novalue'"
        );
        let r = reader(&[("parse.key", "true"), ("ignore.error", "true")])
            .parse("novalue", 7)
            .unwrap();
        assert_eq!((r.key, r.value), (None, bytes("novalue")));
    }

    #[test]
    fn equal_separators_are_refused() {
        let map = [("headers.separator", ":")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let err = LineReader::configure(&map).unwrap_err();
        assert_eq!(
            err.to_string(),
            "headers.separator and headers.key.separator may not be equal"
        );
    }
}
