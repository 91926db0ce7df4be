//! v2 consumer instances: one librdkafka consumer per `POST /consumers/{group}`, kept
//! until deleted or idle for `consumer.instance.timeout.ms` (Confluent's
//! `KafkaConsumerManager`).
//!
//! Thread-safety: the manager's map is behind a mutex held only to look up, insert or
//! remove; each instance runs one operation at a time (its `busy` lock), on a blocking
//! thread, since librdkafka's consumer calls block.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::errors::RestError;
use super::media::EmbeddedFormat;

/// How long a consumer call to the cluster (commit, committed, seek) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The options of `POST /consumers/{group}`, as Confluent spells them.
#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    pub name: Option<String>,
    pub format: EmbeddedFormat,
    pub auto_offset_reset: Option<String>,
    pub auto_commit_enable: Option<String>,
    pub fetch_min_bytes: Option<String>,
    pub request_timeout_ms: Option<u64>,
}

/// A record as the records route returns it: bytes, rendered by the route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// How the instance chose its partitions: Kafka's consumer forbids mixing the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    None,
    Subscribed,
    Assigned,
}

pub struct Instance {
    pub group: String,
    pub name: String,
    pub format: EmbeddedFormat,
    /// `consumer.request.timeout.ms` for this instance: the longest a records fetch waits.
    pub request_timeout_ms: u64,
    consumer: Arc<BaseConsumer>,
    mode: Mutex<Mode>,
    last_used: Mutex<Instant>,
    busy: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("group", &self.group)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A (topic, partition, offset) triple from a request body.
pub type PartitionOffset = (String, i32, i64);

fn kafka_error(e: &KafkaError) -> RestError {
    RestError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        super::errors::KAFKA_ERROR_ERROR_CODE,
        format!("Kafka error: {e}"),
    )
}

fn tpl_of(partitions: &[(String, i32)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (topic, partition) in partitions {
        tpl.add_partition(topic, *partition);
    }
    tpl
}

fn pairs_of(tpl: &TopicPartitionList) -> Vec<(String, i32)> {
    tpl.elements()
        .iter()
        .map(|e| (e.topic().to_string(), e.partition()))
        .collect()
}

impl Instance {
    /// Runs `op` on a blocking thread, alone among this instance's operations.
    async fn run<T: Send + 'static>(
        &self,
        op: impl FnOnce(&BaseConsumer) -> Result<T, RestError> + Send + 'static,
    ) -> Result<T, RestError> {
        let _busy = self.busy.lock().await;
        let consumer = self.consumer.clone();
        let result = tokio::task::spawn_blocking(move || op(&consumer))
            .await
            .unwrap_or_else(|e| Err(RestError::illegal_state(&e.to_string())));
        *self.last_used.lock() = Instant::now();
        result
    }

    fn enter(&self, mode: Mode) -> Result<(), RestError> {
        let mut current = self.mode.lock();
        if *current != Mode::None && *current != mode {
            return Err(RestError::illegal_state(
                "Subscription to topics, partitions and pattern are mutually exclusive",
            ));
        }
        *current = mode;
        Ok(())
    }

    /// Subscribes to `topics`, or to the topics matching `pattern` (a Java regex, which
    /// librdkafka takes with a leading `^`).
    pub async fn subscribe(
        &self,
        topics: Vec<String>,
        pattern: Option<String>,
    ) -> Result<(), RestError> {
        self.enter(Mode::Subscribed)?;
        let targets: Vec<String> = match pattern {
            Some(p) if p.starts_with('^') => vec![p],
            Some(p) => vec![format!("^{p}")],
            None => topics,
        };
        self.run(move |c| {
            let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
            c.subscribe(&refs).map_err(|e| kafka_error(&e))
        })
        .await
    }

    /// The subscribed topics. For a pattern, the topics it matched that the group gave
    /// this member, as Kafka's `subscription()` lists the matched topics, not the pattern.
    pub async fn subscription(&self) -> Result<Vec<String>, RestError> {
        self.run(|c| {
            let tpl = c.subscription().map_err(|e| kafka_error(&e))?;
            let mut topics: Vec<String> = pairs_of(&tpl).into_iter().map(|(t, _)| t).collect();
            if topics.iter().any(|t| t.starts_with('^')) {
                let assigned = c.assignment().map_err(|e| kafka_error(&e))?;
                topics = pairs_of(&assigned).into_iter().map(|(t, _)| t).collect();
                topics.sort();
                topics.dedup();
            }
            Ok(topics)
        })
        .await
    }

    pub async fn unsubscribe(&self) -> Result<(), RestError> {
        *self.mode.lock() = Mode::None;
        self.run(|c| {
            c.unsubscribe();
            Ok(())
        })
        .await
    }

    pub async fn assign(&self, partitions: Vec<(String, i32)>) -> Result<(), RestError> {
        self.enter(Mode::Assigned)?;
        self.run(move |c| c.assign(&tpl_of(&partitions)).map_err(|e| kafka_error(&e)))
            .await
    }

    pub async fn assignment(&self) -> Result<Vec<(String, i32)>, RestError> {
        self.run(|c| Ok(pairs_of(&c.assignment().map_err(|e| kafka_error(&e))?)))
            .await
    }

    /// Seeks each partition to its offset, or to `to` for all of `partitions`.
    pub async fn seek(&self, targets: Vec<(String, i32, Offset)>) -> Result<(), RestError> {
        self.run(move |c| {
            let mut tpl = TopicPartitionList::new();
            for (topic, partition, offset) in &targets {
                tpl.add_partition_offset(topic, *partition, *offset)
                    .map_err(|e| kafka_error(&e))?;
            }
            let answer = c
                .seek_partitions(tpl, CALL_TIMEOUT)
                .map_err(|e| RestError::illegal_state(&e.to_string()))?;
            for element in answer.elements() {
                if let Err(e) = element.error() {
                    return Err(RestError::illegal_state(&format!(
                        "No current assignment for partition {}-{} ({e})",
                        element.topic(),
                        element.partition()
                    )));
                }
            }
            Ok(())
        })
        .await
    }

    /// Polls for `timeout`, as Confluent's `KafkaConsumerReadTask` reads: until the time
    /// is up or the next record would bring the keys' and values' bytes to `max_bytes`
    /// (that record stays for the next fetch: the consumer seeks back to it).
    pub async fn records(
        &self,
        timeout: Duration,
        max_bytes: u64,
    ) -> Result<Vec<ConsumedRecord>, RestError> {
        self.run(move |c| {
            let deadline = Instant::now() + timeout;
            let mut records: Vec<ConsumedRecord> = Vec::new();
            let mut bytes = 0u64;
            loop {
                let wait = deadline.saturating_duration_since(Instant::now());
                if wait.is_zero() {
                    break;
                }
                let message = match c.poll(wait) {
                    None => break,
                    Some(Err(e)) if records.is_empty() => return Err(kafka_error(&e)),
                    Some(Err(_)) => break,
                    Some(Ok(message)) => message,
                };
                let size = (message.key_len() + message.payload_len()) as u64;
                if bytes + size >= max_bytes {
                    c.seek(
                        message.topic(),
                        message.partition(),
                        Offset::Offset(message.offset()),
                        CALL_TIMEOUT,
                    )
                    .map_err(|e| kafka_error(&e))?;
                    break;
                }
                c.store_offset_from_message(&message)
                    .map_err(|e| kafka_error(&e))?;
                bytes += size;
                records.push(ConsumedRecord {
                    topic: message.topic().to_string(),
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec),
                });
            }
            Ok(records)
        })
        .await
    }

    /// Commits `offsets` (each the last consumed: Kafka gets offset + 1), or everything
    /// consumed so far when `None`.
    pub async fn commit(&self, offsets: Option<Vec<PartitionOffset>>) -> Result<(), RestError> {
        self.run(move |c| {
            let result = match offsets {
                None => c.commit_consumer_state(CommitMode::Sync),
                Some(offsets) => {
                    let mut tpl = TopicPartitionList::new();
                    for (topic, partition, offset) in &offsets {
                        tpl.add_partition_offset(topic, *partition, Offset::Offset(offset + 1))
                            .map_err(|e| kafka_error(&e))?;
                    }
                    c.commit(&tpl, CommitMode::Sync)
                }
            };
            match result {
                // Nothing consumed yet: nothing to commit, as Kafka's commitSync().
                Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
                other => other.map_err(|e| kafka_error(&e)),
            }
        })
        .await
    }

    /// The group's committed offsets of `partitions`; partitions without one are left out.
    pub async fn committed(
        &self,
        partitions: Vec<(String, i32)>,
    ) -> Result<Vec<PartitionOffset>, RestError> {
        self.run(move |c| {
            let tpl = c
                .committed_offsets(tpl_of(&partitions), CALL_TIMEOUT)
                .map_err(|e| kafka_error(&e))?;
            Ok(tpl
                .elements()
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(o) => Some((e.topic().to_string(), e.partition(), o)),
                    _ => None,
                })
                .collect())
        })
        .await
    }
}

/// Every live instance, by (group, name).
#[derive(Debug)]
pub struct ConsumerManager {
    instances: Mutex<HashMap<(String, String), Arc<Instance>>>,
    settings: BTreeMap<String, String>,
    /// The proxy's `id`, in the names it gives unnamed instances.
    proxy_id: String,
    request_timeout_ms: u64,
    instance_timeout: Duration,
}

impl ConsumerManager {
    /// `settings` are the `consumer.*`/`client.*` pass-through settings.
    pub fn new(
        settings: BTreeMap<String, String>,
        proxy_id: &str,
        request_timeout_ms: u64,
        instance_timeout: Duration,
    ) -> ConsumerManager {
        ConsumerManager {
            instances: Mutex::new(HashMap::new()),
            settings,
            proxy_id: proxy_id.to_string(),
            request_timeout_ms,
            instance_timeout,
        }
    }

    pub async fn create(
        &self,
        group: &str,
        options: CreateOptions,
    ) -> Result<Arc<Instance>, RestError> {
        let name = options
            .name
            .clone()
            .unwrap_or_else(|| self.generated_name());
        let key = (group.to_string(), name.clone());
        if self.instances.lock().contains_key(&key) {
            return Err(RestError::consumer_already_exists());
        }
        let mut config = ClientConfig::new();
        for (k, v) in &self.settings {
            config.set(k, v);
        }
        config
            .set("group.id", group)
            .set("client.id", &name)
            // Offsets are stored for the records a fetch returns, not all it polled.
            .set("enable.auto.offset.store", "false");
        if let Some(reset) = &options.auto_offset_reset {
            config.set("auto.offset.reset", reset);
        }
        if let Some(enable) = &options.auto_commit_enable {
            config.set("enable.auto.commit", enable);
        }
        if let Some(min_bytes) = &options.fetch_min_bytes {
            config.set("fetch.min.bytes", min_bytes);
        }
        let consumer: BaseConsumer = tokio::task::spawn_blocking(move || config.create())
            .await
            .map_err(|e| RestError::illegal_state(&e.to_string()))?
            .map_err(|e| RestError::invalid_consumer_config(&e.to_string()))?;
        let instance = Arc::new(Instance {
            group: group.to_string(),
            name: name.clone(),
            format: options.format,
            request_timeout_ms: options
                .request_timeout_ms
                .unwrap_or(self.request_timeout_ms),
            consumer: Arc::new(consumer),
            mode: Mutex::new(Mode::None),
            last_used: Mutex::new(Instant::now()),
            busy: tokio::sync::Mutex::new(()),
        });
        let mut instances = self.instances.lock();
        if instances.contains_key(&key) {
            return Err(RestError::consumer_already_exists());
        }
        instances.insert(key, instance.clone());
        Ok(instance)
    }

    /// Confluent's name for an instance created without one: `rest-consumer-`, the
    /// proxy's `id` when it has one, and a random UUID.
    fn generated_name(&self) -> String {
        let id = uuid::Uuid::new_v4();
        match self.proxy_id.as_str() {
            "" => format!("rest-consumer-{id}"),
            proxy => format!("rest-consumer-{proxy}-{id}"),
        }
    }

    pub fn get(&self, group: &str, name: &str) -> Result<Arc<Instance>, RestError> {
        let instance = self
            .instances
            .lock()
            .get(&(group.to_string(), name.to_string()))
            .cloned()
            .ok_or_else(RestError::consumer_instance_not_found)?;
        *instance.last_used.lock() = Instant::now();
        Ok(instance)
    }

    /// Removes the instance and closes its consumer (it leaves the group).
    pub async fn delete(&self, group: &str, name: &str) -> Result<(), RestError> {
        let instance = self
            .instances
            .lock()
            .remove(&(group.to_string(), name.to_string()))
            .ok_or_else(RestError::consumer_instance_not_found)?;
        close(instance).await;
        Ok(())
    }

    /// Closes the instances idle for longer than `consumer.instance.timeout.ms`.
    pub async fn expire_idle(&self) {
        let now = Instant::now();
        let expired = self.remove_where(|i| {
            now.saturating_duration_since(*i.last_used.lock()) >= self.instance_timeout
        });
        for instance in expired {
            tracing::info!(
                group = %instance.group,
                instance = %instance.name,
                "consumer instance expired"
            );
            close(instance).await;
        }
    }

    /// Closes every instance (at shutdown: their members leave their groups at once
    /// rather than after their session timeouts).
    pub async fn close_all(&self) {
        for instance in self.remove_where(|_| true) {
            close(instance).await;
        }
    }

    fn remove_where(&self, pick: impl Fn(&Instance) -> bool) -> Vec<Arc<Instance>> {
        let mut instances = self.instances.lock();
        let keys: Vec<(String, String)> = instances
            .iter()
            .filter(|(_, i)| pick(i))
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter().filter_map(|k| instances.remove(k)).collect()
    }

    /// How often `expire_idle` should run.
    pub fn expiry_interval(&self) -> Duration {
        (self.instance_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5))
    }
}

/// Waits for the instance's running operation, then closes its consumer on a blocking
/// thread (closing leaves the group, which blocks).
async fn close(instance: Arc<Instance>) {
    let consumer = instance.consumer.clone();
    drop(instance.busy.lock().await);
    drop(instance);
    let _ = tokio::task::spawn_blocking(move || {
        consumer.unsubscribe();
        drop(consumer);
    })
    .await;
}
