//! What the console producer and consumer share beyond option parsing: Kafka-style log
//! lines on stderr, Java client properties carried over to librdkafka, a context that
//! notices when no broker can be reached, and the Ctrl-C / SIGTERM watcher.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::{FromClientConfigAndContext, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::types::RDKafkaConfRes;
use rdkafka::ClientContext;

use crate::ToolError;

/// Prints one log line the way Kafka's tools do (`[2024-05-01 12:00:00,123] WARN …`).
pub(crate) fn log_line(level: &str, message: &str) {
    let now = chrono::Local::now().format("%Y-%m-%d %H:%M:%S,%3f");
    eprintln!("[{now}] {level} {message}");
}

/// Java client properties that librdkafka spells differently, or knows under no name.
/// Values that are Java class names are translated where librdkafka has the same thing.
pub(crate) fn translate_java_properties(
    props: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in props {
        match key.as_str() {
            "send.buffer.bytes" => {
                out.insert("socket.send.buffer.bytes".to_string(), value.clone());
            }
            "receive.buffer.bytes" => {
                out.insert("socket.receive.buffer.bytes".to_string(), value.clone());
            }
            "buffer.memory" => {
                // librdkafka bounds its queue in kilobytes.
                if let Ok(bytes) = value.trim().parse::<u64>() {
                    let kbytes = (bytes / 1024).clamp(1, 2_147_483_647);
                    out.insert("queue.buffering.max.kbytes".to_string(), kbytes.to_string());
                }
            }
            "partition.assignment.strategy" => {
                let strategies: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| match s.rsplit('.').next().unwrap_or(s) {
                        "RangeAssignor" => "range",
                        "RoundRobinAssignor" => "roundrobin",
                        "StickyAssignor" | "CooperativeStickyAssignor" => "cooperative-sticky",
                        other => other,
                    })
                    .collect();
                out.insert(key.clone(), strategies.join(","));
            }
            // Java-only: serializers (the console tools deal in bytes), poll batching and
            // blocking bounds the tools enforce themselves.
            "key.serializer"
            | "value.serializer"
            | "key.deserializer"
            | "value.deserializer"
            | "max.block.ms"
            | "max.poll.records"
            | "default.api.timeout.ms"
            | "exclude.internal.topics"
            | "partitioner.class"
            | "interceptor.classes"
            | "metric.reporters"
            | "metrics.num.samples"
            | "metrics.sample.window.ms"
            | "metrics.recording.level"
            | "auto.include.jmx.reporter"
            | "enable.metrics.push"
            | "group.protocol"
            | "internal.leave.group.on.close" => {}
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

/// Creates a librdkafka client from `props`, its security keys as librdkafka's. A property librdkafka does not know is left
/// out with Kafka's warning for an unknown config rather than refused, so that
/// `--producer.config` / `--consumer.config` files written for Kafka's tools keep working.
pub(crate) fn create_client<T, C>(
    props: BTreeMap<String, String>,
    context: C,
) -> Result<T, ToolError>
where
    T: FromClientConfigAndContext<C>,
    C: ClientContext + Clone,
{
    let mut props = crate::common::librdkafka_properties(&props)?;
    loop {
        let mut config = rdkafka::ClientConfig::new();
        for (k, v) in &props {
            config.set(k, v);
        }
        if !props.contains_key("debug") {
            // Errors reach the context (which prints them only with `debug`): librdkafka
            // says why a connection failed (an untrusted certificate, a refused password)
            // only in its log.
            config.set_log_level(RDKafkaLogLevel::Error);
        }
        match T::from_config_and_context(&config, context.clone()) {
            Ok(client) => return Ok(client),
            Err(KafkaError::ClientConfig(RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN, _, key, _))
                if props.contains_key(&key) =>
            {
                log_line(
                    "WARN",
                    &format!("The configuration '{key}' was supplied but isn't a known config."),
                );
                props.remove(&key);
            }
            Err(KafkaError::ClientConfig(_, description, key, value)) => {
                return Err(ToolError::Usage(format!(
                    "Invalid value {value} for configuration {key}: {description}"
                )));
            }
            Err(e) => return Err(ToolError::Failed(e.to_string())),
        }
    }
}

/// How many times librdkafka must report every broker down before a tool gives up. Once
/// is not enough: a name with several addresses (`localhost` as `::1` and `127.0.0.1`)
/// reports it after the first address fails, before trying the next.
const BROKERS_DOWN_REPORTS: u32 = 3;

/// A client context that stays quiet (the tools print their own errors) and remembers
/// when librdkafka has found every bootstrap broker unreachable.
#[derive(Debug, Clone, Default)]
pub(crate) struct QuietContext {
    /// Print librdkafka's own log lines: set when the user asks for them with `debug`.
    verbose: bool,
    all_brokers_down: Arc<AtomicU32>,
    last_error: Arc<std::sync::Mutex<Option<String>>>,
    /// librdkafka's last connection failure as it logs it (`FAIL`): the cause, where
    /// the error event says only "SSL error" or "Authentication failure".
    last_failure: Arc<std::sync::Mutex<Option<String>>>,
}

impl QuietContext {
    /// A context for a client created from `props`.
    pub(crate) fn for_props(props: &BTreeMap<String, String>) -> QuietContext {
        QuietContext {
            verbose: props.contains_key("debug"),
            ..QuietContext::default()
        }
    }

    fn take_down(&self) -> Option<String> {
        if self.all_brokers_down.load(Ordering::SeqCst) >= BROKERS_DOWN_REPORTS {
            let last = |slot: &std::sync::Mutex<Option<String>>| {
                slot.lock()
                    .ok()
                    .and_then(|e| e.clone())
                    .filter(|r| !r.is_empty())
            };
            let reason = last(&self.last_failure).or_else(|| last(&self.last_error));
            Some(reason.unwrap_or_else(|| "all brokers are down".to_string()))
        } else {
            None
        }
    }
}

impl ClientContext for QuietContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if fac == "FAIL" && (level as i32) <= (RDKafkaLogLevel::Error as i32) {
            if let Ok(mut last) = self.last_failure.lock() {
                *last = Some(log_message.to_string());
            }
        }
        if self.verbose {
            log_line(
                &format!("{level:?}").to_uppercase(),
                &format!("{fac}: {log_message}"),
            );
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        if let Ok(mut last) = self.last_error.lock() {
            if error.rdkafka_error_code() != Some(RDKafkaErrorCode::AllBrokersDown) {
                *last = Some(reason.to_string());
            }
        }
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.all_brokers_down.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Waits until a broker answers a metadata request (`fetch`), up to `within`. Fails at
/// once when `brokers_down` reports every bootstrap broker unreachable: a console tool
/// pointed at the wrong address should say so in a line, not hang for a minute.
pub(crate) fn await_cluster(
    bootstrap: &str,
    within: Duration,
    mut fetch: impl FnMut(Duration) -> Result<(), KafkaError>,
    mut brokers_down: impl FnMut() -> Option<String>,
    last_failure: impl Fn() -> Option<String>,
) -> Result<(), ToolError> {
    let deadline = Instant::now() + within;
    loop {
        match fetch(Duration::from_millis(250)) {
            Ok(()) => return Ok(()),
            Err(e) => {
                if let Some(reason) = brokers_down() {
                    return Err(ToolError::Unreachable(format!("{bootstrap} ({reason})")));
                }
                if Instant::now() >= deadline {
                    // librdkafka's own account (an untrusted certificate, a refused
                    // password) says more than the fetch's "transport failure".
                    let reason = last_failure().unwrap_or_else(|| e.to_string());
                    return Err(ToolError::Unreachable(format!("{bootstrap} ({reason})")));
                }
            }
        }
    }
}

impl QuietContext {
    /// Whether librdkafka has reported every broker down since the last call, and why.
    /// librdkafka's last logged connection failure, if any.
    pub(crate) fn last_failure(&self) -> Option<String> {
        self.last_failure.lock().ok().and_then(|e| e.clone())
    }

    pub(crate) fn brokers_down(&self) -> Option<String> {
        self.take_down()
    }

    /// Records an error event the way the error callback does; for consumers, whose
    /// error events arrive through `poll` rather than the callback.
    pub(crate) fn note_error(&self, error: KafkaError, reason: &str) {
        self.error(error, reason);
    }
}

impl rdkafka::consumer::ConsumerContext for QuietContext {}

/// Runs `on_signal` (on its own thread) at the first SIGINT or SIGTERM; a second one exits
/// at once with the shell's status for SIGINT, for when a clean stop hangs.
pub(crate) fn watch_shutdown_signals(
    on_signal: impl FnOnce() + Send + 'static,
) -> Result<(), ToolError> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = crate::common::runtime()?;
    let (mut interrupt, mut terminate) = runtime
        .block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        })
        .map_err(|e| ToolError::Failed(format!("cannot handle signals: {e}")))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                let _ = std::thread::Builder::new()
                    .name("shutdown".into())
                    .spawn(on_signal);
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                std::process::exit(130);
            });
        })
        .map_err(|e| ToolError::Failed(format!("cannot handle signals: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_names_become_librdkafka_names() {
        let props: BTreeMap<String, String> = [
            ("send.buffer.bytes", "102400"),
            ("buffer.memory", "33554432"),
            ("key.serializer", "x"),
            (
                "partition.assignment.strategy",
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
            ),
            ("acks", "all"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let out = translate_java_properties(&props);
        assert_eq!(out["socket.send.buffer.bytes"], "102400");
        assert_eq!(out["queue.buffering.max.kbytes"], "32768");
        assert_eq!(out["partition.assignment.strategy"], "cooperative-sticky");
        assert_eq!(out["acks"], "all");
        assert!(!out.contains_key("key.serializer"));
    }
}
