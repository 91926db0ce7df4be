//! `kafka-consumer-perf-test.sh`: consumes `--messages` records in a consumer group and
//! prints Kafka's `ConsumerPerformance` line (or, with `--show-detailed-stats`, a line
//! per `--reporting-interval`).
//!
//! The consumer is librdkafka's `BaseConsumer`, subscribed under `--group` (Kafka's
//! default `perf-consumer-<random>`). The time from the start to the first assignment,
//! and from each revocation of everything to the next assignment, is `rebalance.time.ms`;
//! the rest is `fetch.time.ms`. It stops at exactly `--messages` records, or after
//! `--timeout` ms without one.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Local;
use clap::Parser;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};

use crate::common::{
    admin_timeout, client_config, missing_argument, parse_tool_args, read_properties,
};
use crate::producer_perf_test::java_fixed;
use crate::wire::ensure_reachable;
use crate::ToolError;

mod date_format;

use date_format::JavaDateFormat;

const ABOUT: &str = "This tool is used to verify the consumer performance.";

const DEFAULT_TIMEOUT_MS: &str = "10000";

#[derive(Debug, Parser)]
#[command(
    name = "kafka-consumer-perf-test.sh",
    about = ABOUT,
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    bootstrap_server: Option<String>,
    /// DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is
    /// specified.
    #[arg(long = "broker-list", value_name = "broker-list")]
    broker_list: Option<String>,
    /// The topic to consume from.
    #[arg(long, value_name = "topic")]
    topic: Option<String>,
    /// Regular expression specifying list of topics to include for consumption.
    #[arg(long, value_name = "Java regex (String)")]
    include: Option<String>,
    /// The group id to consume on. (default: perf-consumer-<random>)
    #[arg(long, value_name = "gid")]
    group: Option<String>,
    /// The amount of data to fetch in a single request.
    #[arg(long = "fetch-size", value_name = "size", default_value_t = 1024 * 1024)]
    fetch_size: i32,
    /// If the consumer does not already have an established offset to consume from, start
    /// with the latest message present in the log rather than the earliest message.
    #[arg(long = "from-latest")]
    from_latest: bool,
    /// The size of the tcp RECV size.
    #[arg(long = "socket-buffer-size", value_name = "size", default_value_t = 2 * 1024 * 1024)]
    socket_buffer_size: i32,
    /// DEPRECATED AND IGNORED: Number of processing threads.
    #[arg(long, value_name = "count")]
    threads: Option<i32>,
    /// DEPRECATED AND IGNORED: Number of fetcher threads.
    #[arg(long = "num-fetch-threads", value_name = "count")]
    num_fetch_threads: Option<i32>,
    /// Consumer config properties file.
    #[arg(long = "consumer.config", value_name = "config file")]
    consumer_config: Option<PathBuf>,
    /// Print out the metrics.
    #[arg(long = "print-metrics")]
    print_metrics: bool,
    /// If set, stats are reported for each reporting interval as configured by
    /// reporting-interval
    #[arg(long = "show-detailed-stats")]
    show_detailed_stats: bool,
    /// The maximum allowed time in milliseconds between returned records.
    #[arg(
        long,
        value_name = "milliseconds",
        num_args = 0..=1,
        default_value = DEFAULT_TIMEOUT_MS,
        default_missing_value = DEFAULT_TIMEOUT_MS,
        allow_hyphen_values = true
    )]
    timeout: i64,
    /// REQUIRED: The number of messages to consume.
    #[arg(long, value_name = "count", allow_hyphen_values = true)]
    messages: Option<i64>,
    /// Interval in milliseconds at which to print progress info.
    #[arg(
        long = "reporting-interval",
        value_name = "interval_ms",
        default_value = "5000"
    )]
    reporting_interval: String,
    /// The date format to use for formatting the time field. See
    /// java.text.SimpleDateFormat for options.
    #[arg(
        long = "date-format",
        value_name = "date format",
        default_value = "yyyy-MM-dd HH:mm:ss:SSS"
    )]
    date_format: String,
    /// If set, skips printing the header for the stats
    #[arg(long = "hide-header")]
    hide_header: bool,
}

/// What the rebalance callback measures, read by the poll loop (same thread: librdkafka
/// runs the callback inside `poll`).
#[derive(Debug)]
struct JoinTimes {
    join_start: Instant,
    assigned: HashSet<(String, i32)>,
    /// All rebalances so far.
    total_ms: u64,
    /// Since the last detailed report.
    round_ms: u64,
}

#[derive(Debug)]
struct PerfConsumerContext {
    join: Mutex<JoinTimes>,
}

impl ClientContext for PerfConsumerContext {
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, _fac: &str, _message: &str) {}
    fn error(&self, _error: rdkafka::error::KafkaError, _reason: &str) {}
}

impl ConsumerContext for PerfConsumerContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let (Rebalance::Revoke(list), Ok(mut join)) = (rebalance, self.join.lock()) {
            for element in list.elements() {
                join.assigned
                    .remove(&(element.topic().to_string(), element.partition()));
            }
            if join.assigned.is_empty() {
                join.join_start = Instant::now();
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let (Rebalance::Assign(list), Ok(mut join)) = (rebalance, self.join.lock()) {
            if join.assigned.is_empty() {
                let elapsed = join.join_start.elapsed().as_millis() as u64;
                join.total_ms += elapsed;
                join.round_ms += elapsed;
            }
            for element in list.elements() {
                join.assigned
                    .insert((element.topic().to_string(), element.partition()));
            }
        }
    }
}

/// Running counts of the consume loop.
#[derive(Debug, Default, Clone, Copy)]
struct Progress {
    messages: i64,
    bytes: i64,
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    if args.is_empty() {
        return Err(ToolError::Usage(ABOUT.into()));
    }
    let Some(args) = parse_tool_args::<Args>("kafka-consumer-perf-test.sh", args)? else {
        return Ok(());
    };
    let Some(num_messages) = args.messages else {
        return Err(missing_argument("messages"));
    };
    let subscription = match (&args.topic, &args.include) {
        (Some(topic), None) => topic.clone(),
        // librdkafka subscribes by regular expression to names starting with `^`.
        (None, Some(regex)) => format!("^{}", regex.trim_start_matches('^')),
        _ => {
            return Err(ToolError::Usage(
                "Exactly one of the following arguments is required: [topic], [include]".into(),
            ))
        }
    };
    let Some(bootstrap) = args.bootstrap_server.clone().or(args.broker_list.clone()) else {
        return Err(missing_argument("bootstrap-server"));
    };
    let reporting_interval_ms: u64 = match args.reporting_interval.parse::<u64>() {
        Ok(ms) if args.reporting_interval.chars().all(|c| c.is_ascii_digit()) => ms,
        _ => {
            return Err(ToolError::Usage(format!(
                "Cannot parse argument '{}' of option reporting-interval",
                args.reporting_interval
            )))
        }
    };
    if reporting_interval_ms == 0 {
        return Err(ToolError::Usage(
            "Reporting interval must be greater than 0.".into(),
        ));
    }
    let date_format = JavaDateFormat::new(&args.date_format)?;
    let file_props = match &args.consumer_config {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    ensure_reachable(&bootstrap, admin_timeout(&file_props))?;

    let group = args
        .group
        .clone()
        .unwrap_or_else(|| format!("perf-consumer-{}", random_below(100_000)));
    let mut config = client_config(&bootstrap, &file_props)?;
    config
        .set("group.id", &group)
        .set(
            "socket.receive.buffer.bytes",
            args.socket_buffer_size.to_string(),
        )
        .set("max.partition.fetch.bytes", args.fetch_size.to_string())
        .set(
            "auto.offset.reset",
            if args.from_latest {
                "latest"
            } else {
                "earliest"
            },
        )
        .set("check.crcs", "false");
    if !file_props.contains_key("client.id") {
        config.set("client.id", "perf-consumer-client");
    }

    if !args.hide_header {
        print_header(args.show_detailed_stats);
    }
    let start = Instant::now();
    let start_time = Local::now();
    let context = PerfConsumerContext {
        join: Mutex::new(JoinTimes {
            join_start: start,
            assigned: HashSet::new(),
            total_ms: 0,
            round_ms: 0,
        }),
    };
    let consumer: BaseConsumer<PerfConsumerContext> = config
        .create_with_context(context)
        .map_err(|e| ToolError::Failed(format!("cannot create the consumer: {e}")))?;
    consumer
        .subscribe(&[subscription.as_str()])
        .map_err(|e| ToolError::Failed(format!("cannot subscribe to {subscription}: {e}")))?;

    let record_fetch_timeout = Duration::from_millis(args.timeout.max(0) as u64);
    let reporting_interval = Duration::from_millis(reporting_interval_ms);
    let mut progress = Progress::default();
    let mut last_report = progress;
    let mut now = Instant::now();
    let mut last_report_time = now;
    let mut last_consumed_time = now;
    while progress.messages < num_messages
        && now.duration_since(last_consumed_time) <= record_fetch_timeout
    {
        let polled = consumer.poll(Duration::from_millis(100));
        now = Instant::now();
        let Some(Ok(message)) = polled else {
            // Errors (an unknown topic, a broker going away) are retried by librdkafka;
            // `--timeout` ends a run that gets no records, as in Kafka.
            continue;
        };
        last_consumed_time = now;
        progress.messages += 1;
        progress.bytes += (message.key_len() + message.payload_len()) as i64;
        if now.duration_since(last_report_time) >= reporting_interval {
            if args.show_detailed_stats {
                let round_ms = consumer
                    .context()
                    .join
                    .lock()
                    .map(|mut join| std::mem::take(&mut join.round_ms))
                    .unwrap_or(0);
                println!(
                    "{}",
                    progress_line(
                        &date_format.format(&Local::now()),
                        progress,
                        last_report,
                        now.duration_since(last_report_time).as_millis() as i64,
                        round_ms as i64,
                    )
                );
            }
            last_report_time = now;
            last_report = progress;
        }
    }
    if progress.messages < num_messages {
        println!(
            "WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) exceeded. You can use the --timeout option to increase the timeout.",
            args.timeout
        );
    }
    let elapsed_ms = start.elapsed().as_millis() as i64;
    let end_time = Local::now();
    let join_ms = consumer
        .context()
        .join
        .lock()
        .map(|join| join.total_ms as i64)
        .unwrap_or(0);
    drop(consumer);

    if !args.show_detailed_stats {
        println!(
            "{}",
            summary_line(
                &date_format.format(&start_time),
                &date_format.format(&end_time),
                progress,
                elapsed_ms,
                join_ms,
            )
        );
    }
    if args.print_metrics {
        println!();
        println!(
            "Note: --print-metrics has no librdkafka equivalent of the Java consumer's metrics."
        );
    }
    Ok(())
}

fn print_header(show_detailed_stats: bool) {
    let new_fields = ", rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec";
    if show_detailed_stats {
        println!("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec{new_fields}");
    } else {
        println!("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec{new_fields}");
    }
}

const MB: f64 = 1024.0 * 1024.0;

/// Kafka's final line: `%s, %s, %.4f, %.4f, %d, %.4f, %d, %d, %.4f, %.4f`.
fn summary_line(start: &str, end: &str, total: Progress, elapsed_ms: i64, join_ms: i64) -> String {
    let elapsed_sec = elapsed_ms as f64 / 1000.0;
    let fetch_ms = elapsed_ms - join_ms;
    let total_mb = total.bytes as f64 / MB;
    format!(
        "{start}, {end}, {}, {}, {}, {}, {join_ms}, {fetch_ms}, {}, {}",
        java_fixed(total_mb, 4),
        java_fixed(total_mb / elapsed_sec, 4),
        total.messages,
        java_fixed(total.messages as f64 / elapsed_sec, 4),
        java_fixed(total_mb / (fetch_ms as f64 / 1000.0), 4),
        java_fixed(total.messages as f64 / (fetch_ms as f64 / 1000.0), 4),
    )
}

/// Kafka's `--show-detailed-stats` line for one interval (thread id 0).
fn progress_line(
    time: &str,
    now: Progress,
    last: Progress,
    elapsed_ms: i64,
    join_ms: i64,
) -> String {
    let elapsed = elapsed_ms as f64;
    let total_mb = now.bytes as f64 / MB;
    let interval_mb = (now.bytes - last.bytes) as f64 / MB;
    let interval_messages = now.messages - last.messages;
    let fetch_ms = elapsed_ms - join_ms;
    let (fetch_mb_per_sec, fetch_messages_per_sec) = if fetch_ms <= 0 {
        (0.0, 0.0)
    } else {
        (
            1000.0 * interval_mb / fetch_ms as f64,
            1000.0 * interval_messages as f64 / fetch_ms as f64,
        )
    };
    format!(
        "{time}, 0, {}, {}, {}, {}, {join_ms}, {fetch_ms}, {}, {}",
        java_fixed(total_mb, 4),
        java_fixed(1000.0 * interval_mb / elapsed, 4),
        now.messages,
        java_fixed(interval_messages as f64 / elapsed * 1000.0, 4),
        java_fixed(fetch_mb_per_sec, 4),
        java_fixed(fetch_messages_per_sec, 4),
    )
}

/// A number in `0..bound` that differs between runs, for the default group name.
fn random_below(bound: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    hasher.finish() % bound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_uses_kafkas_decimal_formats() {
        let line = summary_line(
            "2024-01-01 00:00:00:000",
            "2024-01-01 00:00:02:000",
            Progress {
                messages: 1000,
                bytes: 1024 * 1024,
            },
            2000,
            1000,
        );
        assert_eq!(
            line,
            "2024-01-01 00:00:00:000, 2024-01-01 00:00:02:000, 1.0000, 0.5000, 1000, 500.0000, 1000, 1000, 1.0000, 1000.0000"
        );
    }

    #[test]
    fn progress_line_reports_the_interval() {
        let line = progress_line(
            "t",
            Progress {
                messages: 300,
                bytes: 3 * 1024 * 1024,
            },
            Progress {
                messages: 100,
                bytes: 1024 * 1024,
            },
            1000,
            0,
        );
        assert_eq!(
            line,
            "t, 0, 3.0000, 2.0000, 300, 200.0000, 0, 1000, 2.0000, 200.0000"
        );
    }
}
