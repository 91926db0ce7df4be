//! The broker's metrics, named as the Prometheus JMX exporter's Kafka rules
//! (`example_configs/kafka-2_0_0.yml`, `lowercaseOutputName: true`) name Kafka's JMX
//! beans, so dashboards and alerts written for Kafka work unchanged:
//!
//! | Kafka bean | Prometheus series |
//! |---|---|
//! | `kafka.server:type=BrokerTopicMetrics,name=MessagesInPerSec[,topic=T]` | `kafka_server_brokertopicmetrics_messagesin_total[{topic}]` |
//! | `…name=BytesInPerSec`, `…name=BytesOutPerSec` | `…_bytesin_total`, `…_bytesout_total` |
//! | `…name=TotalProduceRequestsPerSec`, `…name=FailedProduceRequestsPerSec` | `…_totalproducerequests_total`, `…_failedproducerequests_total` |
//! | `…name=TotalFetchRequestsPerSec`, `…name=FailedFetchRequestsPerSec` | `…_totalfetchrequests_total`, `…_failedfetchrequests_total` |
//! | `…name=ReplicationBytesInPerSec`, `…name=ReplicationBytesOutPerSec` (all topics) | `…_replicationbytesin_total`, `…_replicationbytesout_total` |
//! | `kafka.network:type=RequestMetrics,name=RequestsPerSec,request=R,version=V` | `kafka_network_requestmetrics_requests_total{request,version}` |
//! | `kafka.network:type=RequestMetrics,name=TotalTimeMs,request=R` (histogram) | `kafka_network_requestmetrics_totaltimems{request,quantile}`, `…_count`, `…_sum` |
//! | `kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions` | `kafka_server_replicamanager_underreplicatedpartitions` |
//! | `…name=IsrShrinksPerSec`, `…name=IsrExpandsPerSec` | `kafka_server_replicamanager_isrshrinks_total`, `…_isrexpands_total` |
//! | `kafka.controller:type=KafkaController,name=ActiveControllerCount` | `kafka_controller_kafkacontroller_activecontrollercount` |
//! | `kafka.log:type=Log,name=Size,topic=T,partition=P` | `kafka_log_log_size{topic,partition}` |
//! | `kafka.server:type=socket-server-metrics,listener=L,networkProcessor=N` `connection-count` | `kafka_server_socket_server_metrics_connection_count{listener,networkProcessor}` |
//!
//! Counters and latencies are recorded as they happen through handles registered once
//! (per topic, per API and version), so a produce or fetch costs a few atomic adds; the
//! gauges are read from the broker's state when `/metrics` is scraped. With no
//! `metrics.listener` every handle is a no-op.
//!
//! Kafka splits Fetch into `FetchConsumer` and `FetchFollower` and also counts it as
//! `Fetch`; so does this module. Bytes out count consumer fetches only, as Kafka's
//! `BytesOutPerSec` does (followers' bytes are replication, not client traffic). Total
//! produce and fetch requests count partitions of requests, and the failed ones only the
//! errors Kafka's `ReplicaManager` does not expect (an unknown partition or a stale
//! leader is an answer, not a failure). Histogram quantiles are labelled as the JMX
//! exporter writes Kafka's `50thPercentile`…`999thPercentile`: `0.50` … `0.999`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use metrics::{Counter, Histogram, Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use metrics_util::MetricKindMask;
use parking_lot::{Mutex, RwLock};

static METADATA: Metadata<'static> = Metadata::new("rafka_broker", Level::INFO, None);

/// Kafka's histogram percentiles, which the JMX exporter turns into `quantile` labels.
const QUANTILES: [f64; 6] = [0.5, 0.75, 0.95, 0.98, 0.99, 0.999];

/// Room for every API key (Kafka's go up to the 90s) and every version of each.
const API_SLOTS: usize = 128;
const VERSION_SLOTS: usize = 32;
/// The two request names Kafka adds for Fetch, after the API keys.
const FETCH_CONSUMER_SLOT: usize = API_SLOTS;
const FETCH_FOLLOWER_SLOT: usize = API_SLOTS + 1;
const REQUEST_NAME_SLOTS: usize = API_SLOTS + 2;

/// A gauge not set for this long is dropped from the output: gauges are set at every
/// scrape, so this drops the partitions and listeners that are gone.
const GAUGE_IDLE: Duration = Duration::from_millis(1);

/// One topic's `BrokerTopicMetrics` counters (or the all-topics ones).
#[derive(Debug)]
pub struct TopicMeters {
    messages_in: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
    total_produce: Counter,
    failed_produce: Counter,
    total_fetch: Counter,
    failed_fetch: Counter,
}

/// Which of Kafka's request names a Fetch is counted under, besides `Fetch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchFrom {
    Consumer,
    Follower,
}

/// A request as it was handled, for the request metrics.
#[derive(Debug, Clone, Copy)]
pub struct RequestDone {
    pub api_key: ApiKey,
    pub version: i16,
    /// Set for Fetch requests.
    pub fetch_from: Option<FetchFrom>,
}

/// The broker's registry and its handles. Thread-safe: handles are shared atomics, the
/// lazily registered ones sit behind `OnceLock`s (per API) or a read-mostly lock (per
/// topic, looked up once per partition: `Partition` caches its topic's handles).
pub struct BrokerMetrics {
    recorder: Option<PrometheusRecorder>,
    all_topics: TopicMeters,
    topics: RwLock<HashMap<Arc<str>, Arc<TopicMeters>>>,
    /// `RequestsPerSec` by request name slot and version.
    requests: Box<[OnceLock<Counter>]>,
    /// `TotalTimeMs` by request name slot.
    total_time: Box<[OnceLock<Histogram>]>,
    isr_shrinks: Counter,
    isr_expands: Counter,
    replication_bytes_in: Counter,
    replication_bytes_out: Counter,
    /// Open connections by listener name.
    connections: Mutex<Vec<(String, Arc<AtomicI64>)>>,
}

impl std::fmt::Debug for BrokerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerMetrics")
            .field("enabled", &self.recorder.is_some())
            .finish_non_exhaustive()
    }
}

impl BrokerMetrics {
    /// A registry that records (`enabled`, with a `metrics.listener`) or only hands out
    /// no-op handles.
    pub fn new(enabled: bool) -> BrokerMetrics {
        let recorder = enabled.then(|| {
            PrometheusBuilder::new()
                .set_quantiles(&QUANTILES)
                .expect("the quantiles are within 0..=1")
                .idle_timeout(MetricKindMask::GAUGE, Some(GAUGE_IDLE))
                .build_recorder()
        });
        let mut metrics = BrokerMetrics {
            recorder,
            all_topics: TopicMeters {
                messages_in: Counter::noop(),
                bytes_in: Counter::noop(),
                bytes_out: Counter::noop(),
                total_produce: Counter::noop(),
                failed_produce: Counter::noop(),
                total_fetch: Counter::noop(),
                failed_fetch: Counter::noop(),
            },
            topics: RwLock::new(HashMap::new()),
            requests: (0..REQUEST_NAME_SLOTS * VERSION_SLOTS)
                .map(|_| OnceLock::new())
                .collect(),
            total_time: (0..REQUEST_NAME_SLOTS).map(|_| OnceLock::new()).collect(),
            isr_shrinks: Counter::noop(),
            isr_expands: Counter::noop(),
            replication_bytes_in: Counter::noop(),
            replication_bytes_out: Counter::noop(),
            connections: Mutex::new(Vec::new()),
        };
        metrics.all_topics = metrics.topic_meters_with(Vec::new());
        metrics.isr_shrinks = metrics.counter("kafka_server_replicamanager_isrshrinks_total", []);
        metrics.isr_expands = metrics.counter("kafka_server_replicamanager_isrexpands_total", []);
        metrics.replication_bytes_in = metrics.counter(
            "kafka_server_brokertopicmetrics_replicationbytesin_total",
            [],
        );
        metrics.replication_bytes_out = metrics.counter(
            "kafka_server_brokertopicmetrics_replicationbytesout_total",
            [],
        );
        metrics
    }

    pub fn enabled(&self) -> bool {
        self.recorder.is_some()
    }

    fn counter<const N: usize>(&self, name: &'static str, labels: [Label; N]) -> Counter {
        match &self.recorder {
            Some(recorder) => {
                recorder.register_counter(&Key::from_parts(name, labels.to_vec()), &METADATA)
            }
            None => Counter::noop(),
        }
    }

    fn topic_meters_with(&self, labels: Vec<Label>) -> TopicMeters {
        let counter = |name: &'static str| match &self.recorder {
            Some(recorder) => {
                recorder.register_counter(&Key::from_parts(name, labels.clone()), &METADATA)
            }
            None => Counter::noop(),
        };
        TopicMeters {
            messages_in: counter("kafka_server_brokertopicmetrics_messagesin_total"),
            bytes_in: counter("kafka_server_brokertopicmetrics_bytesin_total"),
            bytes_out: counter("kafka_server_brokertopicmetrics_bytesout_total"),
            total_produce: counter("kafka_server_brokertopicmetrics_totalproducerequests_total"),
            failed_produce: counter("kafka_server_brokertopicmetrics_failedproducerequests_total"),
            total_fetch: counter("kafka_server_brokertopicmetrics_totalfetchrequests_total"),
            failed_fetch: counter("kafka_server_brokertopicmetrics_failedfetchrequests_total"),
        }
    }

    /// `topic`'s counters, registered on first use.
    pub fn topic(&self, topic: &Arc<str>) -> Arc<TopicMeters> {
        if let Some(meters) = self.topics.read().get(topic) {
            return meters.clone();
        }
        self.topics
            .write()
            .entry(topic.clone())
            .or_insert_with(|| {
                Arc::new(self.topic_meters_with(vec![Label::new("topic", topic.to_string())]))
            })
            .clone()
    }

    /// Records appended for a client (Kafka's `MessagesInPerSec`, `BytesInPerSec`).
    pub fn record_produced(&self, topic: &TopicMeters, records: u64, bytes: u64) {
        topic.messages_in.increment(records);
        topic.bytes_in.increment(bytes);
        self.all_topics.messages_in.increment(records);
        self.all_topics.bytes_in.increment(bytes);
    }

    /// A partition of a produce request reached the log (Kafka's
    /// `TotalProduceRequestsPerSec`), and whether it failed unexpectedly
    /// (`FailedProduceRequestsPerSec`).
    pub fn record_produce_request(&self, topic: &TopicMeters, failed: bool) {
        topic.total_produce.increment(1);
        self.all_topics.total_produce.increment(1);
        if failed {
            topic.failed_produce.increment(1);
            self.all_topics.failed_produce.increment(1);
        }
    }

    /// A partition of a fetch was read: its record bytes count as bytes out for a
    /// consumer and replication bytes out for a follower.
    pub fn record_fetched(&self, topic: &TopicMeters, fetched: Fetched) {
        topic.total_fetch.increment(1);
        self.all_topics.total_fetch.increment(1);
        if fetched.failed {
            topic.failed_fetch.increment(1);
            self.all_topics.failed_fetch.increment(1);
        }
        if fetched.follower {
            self.replication_bytes_out.increment(fetched.bytes);
        } else {
            topic.bytes_out.increment(fetched.bytes);
            self.all_topics.bytes_out.increment(fetched.bytes);
        }
    }

    /// Bytes a follower appended from its leader (Kafka's `ReplicationBytesInPerSec`).
    pub fn record_replicated(&self, bytes: u64) {
        self.replication_bytes_in.increment(bytes);
    }

    /// An ISR change this broker's leadership got committed.
    pub fn record_isr_change(&self, old_size: usize, new_size: usize) {
        if new_size < old_size {
            self.isr_shrinks.increment(1);
        } else if new_size > old_size {
            self.isr_expands.increment(1);
        }
    }

    /// One request answered after `elapsed`, under each of Kafka's names for it.
    pub fn record_request(&self, done: RequestDone, elapsed: Duration) {
        if self.recorder.is_none() {
            return;
        }
        let api_slot = done.api_key as i16 as usize;
        self.record_request_name(api_slot, done.version, elapsed);
        match done.fetch_from {
            Some(FetchFrom::Consumer) => {
                self.record_request_name(FETCH_CONSUMER_SLOT, done.version, elapsed)
            }
            Some(FetchFrom::Follower) => {
                self.record_request_name(FETCH_FOLLOWER_SLOT, done.version, elapsed)
            }
            None => {}
        }
    }

    fn record_request_name(&self, slot: usize, version: i16, elapsed: Duration) {
        let Ok(version_slot) = usize::try_from(version) else {
            return;
        };
        if slot >= REQUEST_NAME_SLOTS || version_slot >= VERSION_SLOTS {
            return;
        }
        let name = || request_name(slot);
        self.requests[slot * VERSION_SLOTS + version_slot]
            .get_or_init(|| {
                self.counter(
                    "kafka_network_requestmetrics_requests_total",
                    [
                        Label::new("request", name()),
                        Label::new("version", version.to_string()),
                    ],
                )
            })
            .increment(1);
        self.total_time[slot]
            .get_or_init(|| match &self.recorder {
                Some(recorder) => recorder.register_histogram(
                    &Key::from_parts(
                        "kafka_network_requestmetrics_totaltimems",
                        vec![Label::new("request", name())],
                    ),
                    &METADATA,
                ),
                None => Histogram::noop(),
            })
            .record(elapsed.as_secs_f64() * 1000.0);
    }

    /// The open-connection count of listener `name`, which its accept loop keeps.
    pub fn listener_connections(&self, name: &str) -> Arc<AtomicI64> {
        let mut connections = self.connections.lock();
        if let Some((_, count)) = connections.iter().find(|(n, _)| n == name) {
            return count.clone();
        }
        let count = Arc::new(AtomicI64::new(0));
        connections.push((name.to_string(), count.clone()));
        count
    }

    fn set_gauge(&self, name: &'static str, labels: Vec<Label>, value: f64) {
        if let Some(recorder) = &self.recorder {
            recorder
                .register_gauge(&Key::from_parts(name, labels), &METADATA)
                .set(value);
        }
    }

    /// The Prometheus text of every metric, with the gauges of `gauges` (read from the
    /// broker at scrape time by `metrics_http`).
    pub fn render(&self, gauges: &Gauges) -> String {
        let Some(recorder) = &self.recorder else {
            return String::new();
        };
        for (topic, partition, size) in &gauges.log_sizes {
            self.set_gauge(
                "kafka_log_log_size",
                vec![
                    Label::new("topic", topic.to_string()),
                    Label::new("partition", partition.to_string()),
                ],
                *size as f64,
            );
        }
        self.set_gauge(
            "kafka_server_replicamanager_underreplicatedpartitions",
            Vec::new(),
            f64::from(gauges.under_replicated),
        );
        self.set_gauge(
            "kafka_controller_kafkacontroller_activecontrollercount",
            Vec::new(),
            f64::from(u8::from(gauges.active_controller)),
        );
        for (listener, count) in self.connections.lock().iter() {
            self.set_gauge(
                "kafka_server_socket_server_metrics_connection_count",
                vec![
                    Label::new("listener", listener.clone()),
                    Label::new("networkProcessor", "0"),
                ],
                count.load(Ordering::Relaxed) as f64,
            );
        }
        jmx_quantile_labels(recorder.handle().render())
    }
}

/// One partition of a fetch, for `record_fetched`.
#[derive(Debug, Clone, Copy)]
pub struct Fetched {
    pub bytes: u64,
    pub follower: bool,
    /// Failed with an error Kafka does not expect (see `unexpected_fetch_error`).
    pub failed: bool,
}

/// Errors Kafka's `ReplicaManager.readFromLog` answers without counting a failed fetch.
pub fn unexpected_fetch_error(code: i16) -> bool {
    use rafka_protocol::ErrorCode::*;
    unexpected(
        code,
        &[
            UnknownTopicOrPartition,
            NotLeaderOrFollower,
            UnknownLeaderEpoch,
            FencedLeaderEpoch,
            ReplicaNotAvailable,
            KafkaStorageError,
            OffsetOutOfRange,
            InconsistentTopicId,
            UnknownTopicId,
        ],
    )
}

/// Errors Kafka's `ReplicaManager.appendToLocalLog` answers without counting a failed
/// produce (a record that fails validation does count).
pub fn unexpected_produce_error(code: i16) -> bool {
    use rafka_protocol::ErrorCode::*;
    unexpected(
        code,
        &[
            UnknownTopicOrPartition,
            NotLeaderOrFollower,
            MessageTooLarge,
            RecordListTooLarge,
            CorruptMessage,
            KafkaStorageError,
        ],
    )
}

fn unexpected(code: i16, expected: &[rafka_protocol::ErrorCode]) -> bool {
    code != 0 && !expected.iter().any(|e| e.code() == code)
}

/// The JMX exporter's quantile labels: Kafka's `50thPercentile` is `0.50`, not `0.5`.
fn jmx_quantile_labels(text: String) -> String {
    text.replace("quantile=\"0.5\"", "quantile=\"0.50\"")
}

/// What a scrape reads from the broker's state (not counted as it happens).
#[derive(Debug, Default)]
pub struct Gauges {
    /// (topic, partition, bytes) of every local partition.
    pub log_sizes: Vec<(Arc<str>, i32, u64)>,
    /// Partitions this broker leads whose ISR is short of their replicas.
    pub under_replicated: u32,
    pub active_controller: bool,
}

/// Kafka's name of the request in `slot` (`ApiKeys.name`, or its Fetch split).
fn request_name(slot: usize) -> String {
    match slot {
        FETCH_CONSUMER_SLOT => "FetchConsumer".to_string(),
        FETCH_FOLLOWER_SLOT => "FetchFollower".to_string(),
        _ => i16::try_from(slot)
            .ok()
            .and_then(|key| ApiKey::try_from(key).ok())
            .map_or_else(|| format!("ApiKey{slot}"), |key| format!("{key:?}")),
    }
}

/// Counts one open connection of a listener while it lives.
#[derive(Debug)]
pub struct ConnectionGuard(Arc<AtomicI64>);

impl ConnectionGuard {
    pub fn open(count: &Arc<AtomicI64>) -> ConnectionGuard {
        count.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(count.clone())
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn produced_and_fetched_bytes_count_per_topic_and_for_all_topics() {
        let metrics = BrokerMetrics::new(true);
        let a = metrics.topic(&Arc::from("a"));
        let b = metrics.topic(&Arc::from("b"));
        metrics.record_produced(&a, 3, 300);
        metrics.record_produced(&b, 2, 50);
        let fetched = |bytes, follower, failed| Fetched {
            bytes,
            follower,
            failed,
        };
        metrics.record_fetched(&a, fetched(120, false, false));
        metrics.record_fetched(&a, fetched(500, true, false));
        metrics.record_fetched(&b, fetched(0, false, true));
        metrics.record_produce_request(&a, false);
        metrics.record_produce_request(&b, true);
        metrics.record_replicated(64);
        let text = metrics.render(&Gauges::default());
        let of = |series: &str| value_of(&text, series);
        assert_eq!(
            of(r#"kafka_server_brokertopicmetrics_messagesin_total{topic="a"}"#),
            Some(3.0)
        );
        assert_eq!(
            of("kafka_server_brokertopicmetrics_messagesin_total"),
            Some(5.0)
        );
        assert_eq!(
            of("kafka_server_brokertopicmetrics_bytesin_total"),
            Some(350.0)
        );
        assert_eq!(
            of(r#"kafka_server_brokertopicmetrics_bytesout_total{topic="a"}"#),
            Some(120.0)
        );
        assert_eq!(
            of(r#"kafka_server_brokertopicmetrics_bytesout_total{topic="b"}"#),
            Some(0.0)
        );
        // A follower's bytes are replication, not bytes out.
        assert_eq!(
            of("kafka_server_brokertopicmetrics_bytesout_total"),
            Some(120.0)
        );
        let series = |name: &str| format!("kafka_server_brokertopicmetrics_{name}_total");
        assert_eq!(of(&series("replicationbytesout")), Some(500.0));
        assert_eq!(of(&series("replicationbytesin")), Some(64.0));
        assert_eq!(
            of(&(series("totalfetchrequests") + r#"{topic="a"}"#)),
            Some(2.0)
        );
        assert_eq!(of(&series("totalfetchrequests")), Some(3.0));
        assert_eq!(
            of(&(series("failedfetchrequests") + r#"{topic="b"}"#)),
            Some(1.0)
        );
        assert_eq!(of(&series("totalproducerequests")), Some(2.0));
        assert_eq!(of(&series("failedproducerequests")), Some(1.0));
    }

    #[test]
    fn only_errors_kafka_does_not_expect_count_as_failed() {
        use rafka_protocol::ErrorCode;
        assert!(!unexpected_fetch_error(0));
        assert!(!unexpected_fetch_error(
            ErrorCode::NotLeaderOrFollower.code()
        ));
        assert!(!unexpected_fetch_error(ErrorCode::OffsetOutOfRange.code()));
        assert!(unexpected_fetch_error(ErrorCode::UnknownServerError.code()));
        assert!(!unexpected_produce_error(ErrorCode::MessageTooLarge.code()));
        assert!(unexpected_produce_error(
            ErrorCode::OutOfOrderSequenceNumber.code()
        ));
        assert!(unexpected_produce_error(
            ErrorCode::NotEnoughReplicas.code()
        ));
        assert!(unexpected_produce_error(ErrorCode::InvalidTimestamp.code()));
    }

    #[test]
    fn a_fetch_counts_as_fetch_and_as_kafkas_consumer_or_follower_name() {
        let metrics = BrokerMetrics::new(true);
        let fetch = |from| RequestDone {
            api_key: ApiKey::Fetch,
            version: 12,
            fetch_from: Some(from),
        };
        metrics.record_request(fetch(FetchFrom::Consumer), Duration::from_millis(2));
        metrics.record_request(fetch(FetchFrom::Follower), Duration::from_millis(4));
        metrics.record_request(
            RequestDone {
                api_key: ApiKey::Produce,
                version: 9,
                fetch_from: None,
            },
            Duration::from_millis(1),
        );
        let text = metrics.recorder.as_ref().unwrap().handle().render();
        let of = |series: &str| value_of(&text, series);
        let requests = "kafka_network_requestmetrics_requests_total";
        assert_eq!(
            of(&format!(r#"{requests}{{request="Fetch",version="12"}}"#)),
            Some(2.0)
        );
        assert_eq!(
            of(&format!(
                r#"{requests}{{request="FetchConsumer",version="12"}}"#
            )),
            Some(1.0)
        );
        assert_eq!(
            of(&format!(
                r#"{requests}{{request="FetchFollower",version="12"}}"#
            )),
            Some(1.0)
        );
        assert_eq!(
            of(&format!(r#"{requests}{{request="Produce",version="9"}}"#)),
            Some(1.0)
        );
        assert_eq!(
            of(r#"kafka_network_requestmetrics_totaltimems_count{request="Fetch"}"#),
            Some(2.0)
        );
        assert!(text.contains(
            r#"kafka_network_requestmetrics_totaltimems{request="Produce",quantile="0.99"}"#
        ));
    }

    #[test]
    fn isr_changes_count_as_shrinks_or_expands() {
        let metrics = BrokerMetrics::new(true);
        metrics.record_isr_change(3, 2);
        metrics.record_isr_change(2, 3);
        metrics.record_isr_change(3, 3);
        metrics.record_isr_change(3, 1);
        let text = metrics.recorder.as_ref().unwrap().handle().render();
        assert_eq!(
            value_of(&text, "kafka_server_replicamanager_isrshrinks_total"),
            Some(2.0)
        );
        assert_eq!(
            value_of(&text, "kafka_server_replicamanager_isrexpands_total"),
            Some(1.0)
        );
    }

    #[test]
    fn disabled_metrics_render_nothing_and_record_into_no_ops() {
        let metrics = BrokerMetrics::new(false);
        let a = metrics.topic(&Arc::from("a"));
        metrics.record_produced(&a, 1, 1);
        assert!(!metrics.enabled());
        assert!(metrics.recorder.is_none());
    }
}
