//! The Kafka side: per `[cluster.NAME]` a thread that lists topics every `topic-refresh`
//! and polls log-end offsets every `offset-refresh`; per `[consumer.NAME]` a thread that
//! reads the offsets topic from its start (or its end with `start-latest`) into storage.
//!
//! Each runs on its own OS thread with librdkafka's blocking calls: a cluster that
//! cannot be reached only delays its own thread, which logs it and retries, and the
//! other clusters keep working.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::{ClientProfile, ClusterConfig, ConsumerConfig};
use crate::offsets_topic::{self, OffsetsRecord};
use crate::storage::{ConsumerOffset, Storage};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A client of `servers` with the module's client profile (its client id over
/// `default_id`, its SASL settings).
/// A module's client: a consumer whose context keeps librdkafka's last connection
/// failure.
type Client = BaseConsumer<FailureLog>;

/// Keeps librdkafka's last logged connection failure (`FAIL`: an untrusted certificate,
/// a refused password), which the metadata call's error ("transport failure") lacks.
/// librdkafka's reasons never carry a password.
#[derive(Debug, Clone, Default)]
struct FailureLog(Arc<std::sync::Mutex<Option<String>>>);

impl FailureLog {
    /// `: <reason>` for the last failure since the last call, or nothing.
    fn take(&self) -> String {
        self.0
            .lock()
            .ok()
            .and_then(|mut last| last.take())
            .map(|reason| format!(" ({reason})"))
            .unwrap_or_default()
    }
}

impl rdkafka::ClientContext for FailureLog {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        if fac == "FAIL" && (level as i32) <= (rdkafka::config::RDKafkaLogLevel::Error as i32) {
            if let Ok(mut last) = self.0.lock() {
                *last = Some(log_message.to_string());
            }
        }
    }
}

impl rdkafka::consumer::ConsumerContext for FailureLog {}

fn client(
    servers: &[String],
    profile: &ClientProfile,
    default_id: &str,
) -> Result<Client, rdkafka::error::KafkaError> {
    let mut config = ClientConfig::new();
    for (key, value) in &profile.security {
        config.set(*key, value);
    }
    let client_id = profile.client_id.as_deref().unwrap_or(default_id);
    config
        .set("bootstrap.servers", servers.join(","))
        .set("client.id", client_id)
        // Needed by librdkafka for a consumer; the monitor never joins or commits.
        .set("group.id", format!("{client_id}-unused"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("log_level", "3")
        .create_with_context(FailureLog::default())
}

/// Sleeps in short steps until `deadline`, returning false when asked to stop.
fn wait_until(deadline: Instant, stop: &AtomicBool) -> bool {
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep((deadline - Instant::now()).min(Duration::from_millis(100)));
    }
    !stop.load(Ordering::Relaxed)
}

/// Runs one cluster module until `stop`.
pub fn run_cluster(config: ClusterConfig, storage: Arc<Storage>, stop: Arc<AtomicBool>) {
    let consumer = match client(
        &config.servers,
        &config.client,
        &format!("burrow-{}", config.name),
    ) {
        Ok(consumer) => consumer,
        Err(err) => {
            tracing::error!(cluster = %config.name, "cannot create the cluster's client: {err}");
            return;
        }
    };
    let topic_refresh = Duration::from_secs(config.topic_refresh_seconds.max(1));
    let offset_refresh = Duration::from_secs(config.offset_refresh_seconds.max(1));
    let mut topics: BTreeMap<String, i32> = BTreeMap::new();
    let mut next_topic_refresh = Instant::now();
    let mut next_offset_refresh = Instant::now();
    loop {
        if Instant::now() >= next_topic_refresh {
            match consumer.fetch_metadata(None, REQUEST_TIMEOUT) {
                Ok(metadata) => {
                    let fresh: BTreeMap<String, i32> = metadata
                        .topics()
                        .iter()
                        .filter(|t| t.error().is_none())
                        .map(|t| (t.name().to_owned(), t.partitions().len() as i32))
                        .collect();
                    for gone in topics.keys().filter(|t| !fresh.contains_key(*t)) {
                        storage.delete_topic(&config.name, gone);
                    }
                    topics = fresh;
                    next_topic_refresh = Instant::now() + topic_refresh;
                }
                Err(err) => {
                    // librdkafka's log events wait in the client's queue.
                    while consumer.poll(Duration::ZERO).is_some() {}
                    let cause = consumer.context().take();
                    tracing::warn!(cluster = %config.name, servers = %config.servers.join(","), "cannot list the cluster's topics: {err}{cause}");
                    next_topic_refresh = Instant::now() + offset_refresh.min(topic_refresh);
                }
            }
        }
        if Instant::now() >= next_offset_refresh {
            refresh_offsets(&config.name, &consumer, &topics, &storage);
            next_offset_refresh = Instant::now() + offset_refresh;
        }
        if !wait_until(next_topic_refresh.min(next_offset_refresh), &stop) {
            return;
        }
    }
}

fn refresh_offsets(
    cluster: &str,
    consumer: &Client,
    topics: &BTreeMap<String, i32>,
    storage: &Storage,
) {
    for (topic, &partitions) in topics {
        for partition in 0..partitions {
            match consumer.fetch_watermarks(topic, partition, REQUEST_TIMEOUT) {
                Ok((_, high)) => {
                    storage.set_broker_offset(cluster, topic, partition, partitions, high)
                }
                Err(err) => {
                    tracing::warn!(
                        cluster,
                        topic,
                        partition,
                        "cannot read the log-end offset: {err}"
                    );
                    if matches!(err, rdkafka::error::KafkaError::MetadataFetch(_)) {
                        return;
                    }
                }
            }
        }
    }
}

/// Runs one consumer module (the reader of a cluster's offsets topic) until `stop`.
pub fn run_consumer(config: ConsumerConfig, storage: Arc<Storage>, stop: Arc<AtomicBool>) {
    let consumer = match client(
        &config.servers,
        &config.client,
        &format!("burrow-{}", config.name),
    ) {
        Ok(consumer) => consumer,
        Err(err) => {
            tracing::error!(consumer = %config.name, "cannot create the consumer's client: {err}");
            return;
        }
    };
    let mut assigned: HashSet<i32> = HashSet::new();
    let mut next_metadata = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() >= next_metadata {
            next_metadata = Instant::now() + Duration::from_secs(5);
            if let Err(err) = assign_new_partitions(&config, &consumer, &mut assigned) {
                tracing::warn!(consumer = %config.name, cluster = %config.cluster, topic = %config.offsets_topic, "cannot read the offsets topic's partitions: {err}");
            }
        }
        if assigned.is_empty() {
            if !wait_until(next_metadata, &stop) {
                return;
            }
            continue;
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Err(err)) => {
                tracing::warn!(consumer = %config.name, cluster = %config.cluster, "reading {}: {err}", config.offsets_topic)
            }
            Some(Ok(message)) => match offsets_topic::decode(message.key(), message.payload()) {
                Ok(record) => apply(&config, &storage, record),
                Err(err) => tracing::warn!(
                    consumer = %config.name,
                    cluster = %config.cluster,
                    partition = message.partition(),
                    offset = message.offset(),
                    "skipping a malformed {} record: {err}",
                    config.offsets_topic
                ),
            },
        }
    }
}

fn assign_new_partitions(
    config: &ConsumerConfig,
    consumer: &Client,
    assigned: &mut HashSet<i32>,
) -> Result<(), String> {
    let metadata = consumer
        .fetch_metadata(Some(&config.offsets_topic), REQUEST_TIMEOUT)
        .map_err(|e| e.to_string())?;
    let topic = metadata
        .topics()
        .first()
        .ok_or_else(|| "no such topic".to_owned())?;
    if let Some(err) = topic.error() {
        return Err(format!("{err:?}"));
    }
    let fresh: Vec<i32> = topic
        .partitions()
        .iter()
        .map(|p| p.id())
        .filter(|p| !assigned.contains(p))
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    assigned.extend(fresh);
    let start = if config.start_latest {
        Offset::End
    } else {
        Offset::Beginning
    };
    let mut list = TopicPartitionList::new();
    for partition in assigned.iter() {
        list.add_partition_offset(&config.offsets_topic, *partition, start)
            .map_err(|e| e.to_string())?;
    }
    consumer.assign(&list).map_err(|e| e.to_string())
}

fn accepts(config: &ConsumerConfig, group: &str) -> bool {
    config
        .group_allowlist
        .as_ref()
        .is_none_or(|a| a.is_match(group))
        && !config
            .group_denylist
            .as_ref()
            .is_some_and(|d| d.is_match(group))
}

/// Applies one decoded record to storage.
pub fn apply(config: &ConsumerConfig, storage: &Storage, record: OffsetsRecord) {
    let cluster = config.cluster.as_str();
    match record {
        OffsetsRecord::Commit {
            group,
            topic,
            partition,
            offset,
            timestamp_ms,
        } if accepts(config, &group) => storage.add_consumer_offset(
            cluster,
            &group,
            &topic,
            partition,
            ConsumerOffset {
                offset,
                timestamp: timestamp_ms,
                observed_at: now_ms(),
                lag: 0,
            },
        ),
        OffsetsRecord::OffsetTombstone {
            group,
            topic,
            partition,
        } => storage.delete_consumer_offset(cluster, &group, &topic, partition),
        OffsetsRecord::GroupMetadata { group, members, .. } if accepts(config, &group) => {
            storage.clear_owners(cluster, &group);
            for member in members {
                for (topic, partitions) in &member.assignment {
                    for partition in partitions {
                        storage.set_owner(
                            cluster,
                            &group,
                            topic,
                            *partition,
                            &member.client_host,
                            &member.client_id,
                        );
                    }
                }
            }
        }
        OffsetsRecord::GroupTombstone { group } => {
            storage.delete_group(cluster, &group);
        }
        _ => {}
    }
}
