//! The Kafka clients the service shares between calls (one producer, one admin client)
//! and the settings each kind of client is made from.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::admin::AdminClient;
use rdkafka::client::{Client, ClientContext, DefaultClientContext};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::metadata::Metadata;
use rdkafka::producer::{FutureProducer, Producer};

use super::error::ServiceError;
use crate::config::ProxyConfig;

/// How long a metadata or admin request may take before the call fails with
/// DEADLINE_EXCEEDED.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Kafka's internal topics, left out of a listing unless asked for.
pub(super) const INTERNAL_TOPICS: &[&str] = &[
    "__consumer_offsets",
    "__transaction_state",
    "__share_group_state",
    "__cluster_metadata",
];

/// How long a topic's partition count is trusted before the cluster is asked again. A
/// partition added meanwhile is refused for that long; librdkafka itself picks it up
/// from its own metadata refresh.
const PARTITION_COUNT_TTL: Duration = Duration::from_secs(10);

/// The clients of one service instance.
pub(super) struct Clients {
    pub(super) config: ProxyConfig,
    pub(super) producer: FutureProducer,
    pub(super) admin: AdminClient<DefaultClientContext>,
    /// Partition counts of topics that exist, so that a unary produce does not cost a
    /// metadata round trip. Unknown topics are not kept: each call asks again.
    partition_counts: Mutex<HashMap<String, (usize, Instant)>>,
    /// Consumers of finished fetches, kept so that a fetch does not pay for a new
    /// client's connections (about 100 ms).
    pub(super) fetch_consumers: Idle<BaseConsumer>,
}

/// At most [`IDLE_MAX`] idle clients of one kind, handed to one call at a time.
pub(super) struct Idle<T> {
    idle: Mutex<Vec<T>>,
}

/// How many fetch consumers stay open between calls (concurrent fetches beyond this
/// create and close their own).
const IDLE_MAX: usize = 4;

impl<T> Default for Idle<T> {
    fn default() -> Self {
        Idle {
            idle: Mutex::new(Vec::new()),
        }
    }
}

impl<T> std::fmt::Debug for Idle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idle")
            .field("idle", &self.lock().len())
            .finish()
    }
}

impl<T> Idle<T> {
    pub(super) fn take(&self) -> Option<T> {
        self.lock().pop()
    }

    /// Keeps `client` for a later call, or drops it when enough are kept.
    pub(super) fn put(&self, client: T) {
        let mut idle = self.lock();
        if idle.len() < IDLE_MAX {
            idle.push(client);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<T>> {
        // A push or a pop cannot leave the list half-updated.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("bootstrap_servers", &self.config.bootstrap_servers)
            .finish_non_exhaustive()
    }
}

impl Clients {
    pub(super) fn new(config: &ProxyConfig) -> Result<Clients, KafkaError> {
        Ok(Clients {
            producer: client_config(config, "producer", &[]).create()?,
            admin: client_config(config, "admin", &[]).create()?,
            config: config.clone(),
            partition_counts: Mutex::new(HashMap::new()),
            fetch_consumers: Idle::default(),
        })
    }

    /// A consumer's settings: the configured `consumer.*` keys over the service's
    /// defaults, then `fixed` (what the call needs, e.g. its group) over everything.
    pub(super) fn consumer_config(&self, fixed: &[(&str, &str)]) -> ClientConfig {
        client_config(&self.config, "consumer", fixed)
    }

    /// The partition count of `topic`; NOT_FOUND when it does not exist.
    /// (Blocking: call from a blocking thread.)
    pub(super) fn partition_count(&self, topic: &str) -> Result<usize, ServiceError> {
        if let Some((count, asked)) = self.counts().get(topic) {
            if asked.elapsed() < PARTITION_COUNT_TTL {
                return Ok(*count);
            }
        }
        let metadata = topic_metadata(self.producer.client(), topic)?;
        let count = metadata.topics()[0].partitions().len();
        self.counts()
            .insert(topic.to_string(), (count, Instant::now()));
        Ok(count)
    }

    /// Drops what is known of a topic (deleted through this service).
    pub(super) fn forget(&self, topic: &str) {
        self.counts().remove(topic);
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<String, (usize, Instant)>> {
        // Every update is one insert: a panic elsewhere leaves the map whole.
        self.partition_counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The settings of one kind of client: the service's defaults, the configured
/// `client.*`/`<kind>.*` keys over them, then `fixed`.
fn client_config(config: &ProxyConfig, kind: &str, fixed: &[(&str, &str)]) -> ClientConfig {
    let mut settings: BTreeMap<String, String> = BTreeMap::new();
    // A metadata request about a topic must not create it (librdkafka's producer and admin
    // client default to allowing it): an unknown topic is NOT_FOUND, not a new topic.
    settings.insert("allow.auto.create.topics".into(), "false".into());
    if kind == "consumer" {
        // The prefetch queue is the one buffer between Kafka and a subscription's bounded
        // channel; librdkafka's default (64 MiB per partition) is more than a slow
        // reader needs.
        settings.insert("queued.max.messages.kbytes".into(), "16384".into());
    }
    settings.extend(config.client_settings(kind));
    for (key, value) in fixed {
        settings.insert((*key).to_string(), (*value).to_string());
    }
    let mut client_config = ClientConfig::new();
    for (key, value) in settings {
        client_config.set(key, value);
    }
    client_config
}

/// The metadata of one topic (blocking: call from a blocking thread).
pub(super) fn topic_metadata<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
) -> Result<Metadata, ServiceError> {
    let metadata = client
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(|err| ServiceError::kafka(format!("metadata of topic {topic}"), err))?;
    let Some(found) = metadata.topics().first() else {
        return Err(ServiceError::UnknownTopic {
            topic: topic.to_string(),
        });
    };
    match found.error().map(RDKafkaErrorCode::from) {
        None => Ok(metadata),
        Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => {
            Err(ServiceError::UnknownTopic {
                topic: topic.to_string(),
            })
        }
        Some(code) => Err(ServiceError::kafka(
            format!("metadata of topic {topic}"),
            KafkaError::MetadataFetch(code),
        )),
    }
}

/// Rejects an empty topic name before Kafka is asked.
pub(super) fn require_topic(topic: &str) -> Result<(), ServiceError> {
    if topic.is_empty() {
        return Err(ServiceError::InvalidArgument(
            "topic must not be empty".to_string(),
        ));
    }
    Ok(())
}

/// Runs blocking librdkafka calls off the async workers.
pub(super) async fn blocking<T, F>(work: F) -> Result<T, ServiceError>
where
    F: FnOnce() -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or(Err(ServiceError::ShuttingDown))
}
