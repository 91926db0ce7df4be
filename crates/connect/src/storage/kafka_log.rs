//! Kafka's `KafkaBasedLog`: a compacted topic used as a replicated key-value log.
//!
//! `start` creates the topic when it is missing (`cleanup.policy=compact`, the spec's
//! partitions and replication factor) or checks that an existing one is compacted only,
//! then assigns a consumer to every partition from the beginning and reads to the end
//! before returning. From then on a background thread consumes continuously and hands
//! each record to the store's callback, in offset order per partition.
//!
//! Writes go through an idempotent producer (`acks=all`; Kafka's stores disable
//! idempotence only for brokers older than 2.8) with librdkafka's `murmur2_random`
//! partitioner, which is Java's default partitioner (murmur2 of the key), so a key lands
//! on the partition Kafka's own worker would choose.
//!
//! `read_to_end` is Kafka's `readToEnd`: take every partition's end offset now, then
//! resolve once the consumer's position has reached all of them — every record
//! acknowledged before the call has then passed through the callback.
//!
//! Thread-safety: `KafkaBasedLog` is shared (`&self` everywhere). The consumer thread and
//! `read_to_end` callers meet in one mutex (positions and waiters); the callback runs on
//! the consumer thread only, before the position it advances is published.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::oneshot;

use super::TopicSpec;
use crate::error::RuntimeError;

/// How long a metadata or offsets request to the broker may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the consumer thread blocks in one poll (it checks for `stop` in between).
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// One record read back from the topic (`None` key or value: Java's `null`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// Called on the consumer thread for every record, in offset order per partition.
pub type ConsumeCallback = Box<dyn FnMut(ConsumedRecord) + Send>;

/// A `read_to_end` waiting for the consumer: the end offsets it must reach.
struct Waiter {
    end_offsets: HashMap<i32, i64>,
    done: oneshot::Sender<()>,
}

#[derive(Default)]
struct Progress {
    /// Next offset to read per partition (`consumer.position()` in Kafka).
    positions: HashMap<i32, i64>,
    waiters: Vec<Waiter>,
}

impl Progress {
    fn reached(&self, end_offsets: &HashMap<i32, i64>) -> bool {
        end_offsets
            .iter()
            .all(|(p, end)| self.positions.get(p).copied().unwrap_or(0) >= *end)
    }

    fn wake_reached(&mut self) {
        let waiters = std::mem::take(&mut self.waiters);
        for waiter in waiters {
            if self.reached(&waiter.end_offsets) {
                let _ = waiter.done.send(());
            } else {
                self.waiters.push(waiter);
            }
        }
    }
}

/// Kafka's `KafkaBasedLog<byte[], byte[]>` over one internal topic.
pub struct KafkaBasedLog {
    topic: String,
    partitions: Vec<i32>,
    producer: FutureProducer,
    consumer: Arc<BaseConsumer<EofQuiet>>,
    progress: Arc<Mutex<Progress>>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for KafkaBasedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaBasedLog")
            .field("topic", &self.topic)
            .field("partitions", &self.partitions.len())
            .finish()
    }
}

/// The settings every client of the topic shares: the brokers, Kafka's client id and
/// the worker's security settings.
/// … plus `settings`.
fn client_config(spec: &TopicSpec, settings: &[(&str, &str)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &spec.bootstrap_servers)
        .set("client.id", &spec.client_id);
    for (key, value) in &spec.security {
        config.set(key, value);
    }
    for (key, value) in settings {
        config.set(*key, *value);
    }
    config
}

fn internal(context: &str, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Internal(format!("{context}: {e}"))
}

impl KafkaBasedLog {
    /// Creates or checks the topic, starts the consumer and reads to the end, calling
    /// `callback` for every record already in the topic before returning.
    pub async fn start(
        spec: &TopicSpec,
        callback: ConsumeCallback,
    ) -> Result<KafkaBasedLog, RuntimeError> {
        ensure_topic(spec).await?;
        let producer: FutureProducer = client_config(
            spec,
            &[
                ("enable.idempotence", "true"),
                ("acks", "all"),
                ("partitioner", "murmur2_random"),
                ("message.timeout.ms", "300000"),
            ],
        )
        .create()
        .map_err(|e| internal("Failed to create the producer", e))?;
        // Assigned partitions only: the group is never joined and nothing committed.
        let group = format!("{}-unused", spec.client_id);
        let consumer: BaseConsumer<EofQuiet> = client_config(
            spec,
            &[
                ("group.id", &group),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("isolation.level", "read_committed"),
                ("enable.partition.eof", "true"),
            ],
        )
        .create_with_context(EofQuiet)
        .map_err(|e| internal("Failed to create the consumer", e))?;
        let topic = spec.name.clone();
        let consumer = Arc::new(consumer);
        let partitions = {
            let consumer = consumer.clone();
            let topic = topic.clone();
            tokio::task::spawn_blocking(move || partition_ids(&consumer, &topic))
                .await
                .map_err(|e| internal("metadata lookup", e))??
        };
        let mut assignment = TopicPartitionList::new();
        for p in &partitions {
            assignment
                .add_partition_offset(&topic, *p, Offset::Beginning)
                .map_err(|e| internal("assign", e))?;
        }
        consumer
            .assign(&assignment)
            .map_err(|e| internal("Failed to assign the consumer", e))?;
        let progress = Arc::new(Mutex::new(Progress::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let consumer = consumer.clone();
            let progress = progress.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name(format!("KafkaBasedLog Work Thread - {topic}"))
                .spawn(move || consume(&consumer, &progress, &stop, callback))
                .map_err(|e| internal("Failed to start the consumer thread", e))?
        };
        let log = KafkaBasedLog {
            topic,
            partitions,
            producer,
            consumer,
            progress,
            stop,
            thread: Mutex::new(Some(thread)),
        };
        log.read_to_end().await?;
        tracing::info!("Finished reading KafkaBasedLog for topic {}", log.topic);
        Ok(log)
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Kafka's `partitionCount()`: how many partitions the consumer is assigned.
    pub fn partition_count(&self) -> usize {
        self.partitions.len()
    }

    /// Resolves once every record written before the call has been consumed (and passed
    /// to the callback).
    pub async fn read_to_end(&self) -> Result<(), RuntimeError> {
        let end_offsets = {
            let consumer = self.consumer.clone();
            let topic = self.topic.clone();
            let partitions = self.partitions.clone();
            tokio::task::spawn_blocking(move || end_offsets(&consumer, &topic, &partitions))
                .await
                .map_err(|e| internal("end offsets", e))??
        };
        let (done, reached) = oneshot::channel();
        {
            let mut progress = self.progress.lock();
            if progress.reached(&end_offsets) {
                return Ok(());
            }
            progress.waiters.push(Waiter { end_offsets, done });
        }
        reached.await.map_err(|_| {
            RuntimeError::Internal(format!(
                "The consumer of topic {} stopped before reaching the end",
                self.topic
            ))
        })
    }

    /// Enqueues one record and returns its acknowledgement (records enqueued one after
    /// the other keep their order: the producer is idempotent).
    fn enqueue(&self, key: &[u8], value: Option<&[u8]>) -> Result<DeliveryFuture, RuntimeError> {
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(value) = value {
            record = record.payload(value);
        }
        self.producer
            .send_result(record)
            .map_err(|(e, _)| internal(&format!("Failed to write to topic {}", self.topic), e))
    }

    /// Writes one record (`None`: a tombstone) and waits for the broker's
    /// acknowledgement; returns the record's (partition, offset).
    pub async fn send(&self, key: &[u8], value: Option<&[u8]>) -> Result<(i32, i64), RuntimeError> {
        self.send_nowait(key, value)?.await
    }

    /// Enqueues one record now (so writes keep the order of the calls) and returns its
    /// acknowledgement, which may be awaited elsewhere or dropped (the record is still
    /// delivered; only its outcome is not looked at).
    pub fn send_nowait(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<impl Future<Output = Result<(i32, i64), RuntimeError>> + Send + 'static, RuntimeError>
    {
        let delivery = self.enqueue(key, value)?;
        Ok(acknowledged(self.topic.clone(), delivery))
    }

    /// Writes records in this order and waits until all are acknowledged (Kafka's
    /// `sendPrivileged` of several records without a transaction).
    pub async fn send_all(
        &self,
        records: &[(Vec<u8>, Option<Vec<u8>>)],
    ) -> Result<Vec<(i32, i64)>, RuntimeError> {
        let acknowledgements = records
            .iter()
            .map(|(k, v)| self.send_nowait(k, v.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut positions = Vec::with_capacity(acknowledgements.len());
        for acknowledgement in acknowledgements {
            positions.push(acknowledgement.await?);
        }
        Ok(positions)
    }

    /// Kafka's `flush()`: waits until every enqueued record is acknowledged.
    pub async fn flush(&self) -> Result<(), RuntimeError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || {
            rdkafka::producer::Producer::flush(&producer, REQUEST_TIMEOUT)
        })
        .await
        .map_err(|e| internal("flush", e))?
        .map_err(|e| {
            internal(
                &format!("Failed to flush writes to topic {}", self.topic),
                e,
            )
        })
    }

    /// Stops the consumer thread (waiting `read_to_end`s fail).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
    }
}

async fn acknowledged(topic: String, delivery: DeliveryFuture) -> Result<(i32, i64), RuntimeError> {
    let context = format!("Failed to write to topic {topic}");
    match delivery.await {
        Ok(Ok(delivered)) => Ok((delivered.partition, delivered.offset)),
        Ok(Err((e, _))) => Err(internal(&context, e)),
        Err(_) => Err(internal(&context, "the producer was closed")),
    }
}

impl Drop for KafkaBasedLog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// The consumer's context: the end of a partition is how `read_to_end` learns it got
/// there, not an error to log (librdkafka reports it through the error callback too).
struct EofQuiet;

impl ClientContext for EofQuiet {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::Global(RDKafkaErrorCode::PartitionEOF)) {
            tracing::error!("librdkafka: {error}: {reason}");
        }
    }
}

impl ConsumerContext for EofQuiet {}

/// The consumer thread: polls until `stop`, passing each record to `callback` and then
/// publishing the advanced position.
fn consume(
    consumer: &BaseConsumer<EofQuiet>,
    progress: &Mutex<Progress>,
    stop: &AtomicBool,
    mut callback: ConsumeCallback,
) {
    while !stop.load(Ordering::Acquire) {
        match consumer.poll(POLL_INTERVAL) {
            None => {}
            Some(Ok(message)) => {
                let record = ConsumedRecord {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    value: message.payload().map(<[u8]>::to_vec),
                };
                let (partition, next) = (record.partition, record.offset + 1);
                callback(record);
                let mut progress = progress.lock();
                progress.positions.insert(partition, next);
                progress.wake_reached();
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                // Past control records (transaction markers) the last record's offset + 1
                // is short of the end; the consumer's own position is not.
                if let Ok(list) = consumer.position() {
                    let mut progress = progress.lock();
                    for element in list.elements() {
                        if let (true, Offset::Offset(next)) =
                            (element.partition() == partition, element.offset())
                        {
                            let position = progress.positions.entry(partition).or_insert(0);
                            *position = (*position).max(next);
                        }
                    }
                    progress.wake_reached();
                }
            }
            Some(Err(e)) => tracing::warn!("Error polling the internal topic: {e}"),
        }
    }
    // Waiters whose end will never be reached see their channel closed.
    progress.lock().waiters.clear();
}

fn partition_ids(consumer: &BaseConsumer<EofQuiet>, topic: &str) -> Result<Vec<i32>, RuntimeError> {
    let metadata = consumer
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(|e| {
            internal(
                &format!("Could not look up partition metadata for topic '{topic}'"),
                e,
            )
        })?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(RuntimeError::Internal(format!(
            "Could not look up partition metadata for topic '{topic}' in the alloted time. Please check the topic's existence."
        )));
    }
    Ok(partitions)
}

/// The high watermark of every partition, and 0 for partitions whose log is empty (so a
/// truncated log start does not hold a reader back). Two batched ListOffsets requests
/// (earliest and latest of every partition) as Kafka's `endOffsets`, not one request
/// per partition.
fn end_offsets(
    consumer: &BaseConsumer<EofQuiet>,
    topic: &str,
    partitions: &[i32],
) -> Result<HashMap<i32, i64>, RuntimeError> {
    let query = |at: Offset| -> Result<HashMap<i32, i64>, RuntimeError> {
        let mut list = TopicPartitionList::new();
        for p in partitions {
            list.add_partition_offset(topic, *p, at)
                .map_err(|e| internal("end offsets", e))?;
        }
        let answer = consumer
            .offsets_for_times(list, REQUEST_TIMEOUT)
            .map_err(|e| internal(&format!("Failed to read end offsets of topic {topic}"), e))?;
        answer
            .elements()
            .iter()
            .map(|e| match (e.error(), e.offset()) {
                (Ok(()), Offset::Offset(o)) => Ok((e.partition(), o)),
                (Ok(()), _) => Ok((e.partition(), 0)),
                (Err(err), _) => Err(internal(
                    &format!("Failed to read end offsets of topic {topic}"),
                    err,
                )),
            })
            .collect()
    };
    // `offsets_for_times` takes a timestamp: -1 is the latest offset, -2 the earliest.
    let latest = query(Offset::End)?;
    let earliest = query(Offset::Beginning)?;
    Ok(latest
        .into_iter()
        .map(|(p, high)| {
            let low = earliest.get(&p).copied().unwrap_or(0);
            (p, if low >= high { 0 } else { high })
        })
        .collect())
}

/// Kafka's `topicInitializer`: create the topic when missing; otherwise require
/// `cleanup.policy=compact` (only) on it.
async fn ensure_topic(spec: &TopicSpec) -> Result<(), RuntimeError> {
    let admin: AdminClient<DefaultClientContext> = client_config(spec, &[])
        .create()
        .map_err(|e| internal("Failed to create the admin client", e))?;
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
    let mut topic = NewTopic::new(
        &spec.name,
        spec.partitions,
        TopicReplication::Fixed(i32::from(spec.replication_factor)),
    );
    for (k, v) in &spec.configs {
        topic = topic.set(k, v);
    }
    let results = admin.create_topics([&topic], &options).await.map_err(|e| {
        internal(
            &format!(
                "Error while attempting to create/find topic '{}'",
                spec.name
            ),
            e,
        )
    })?;
    for result in results {
        match result {
            Ok(name) => {
                tracing::info!("Created topic '{name}' for {}", spec.which.purpose());
                return Ok(());
            }
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(RuntimeError::Internal(format!(
                    "Error while attempting to create/find topic '{name}': {code}"
                )))
            }
        }
    }
    let described = admin
        .describe_configs([&ResourceSpecifier::Topic(&spec.name)], &options)
        .await
        .map_err(|e| internal("describe configs", e))?;
    let policy = described
        .into_iter()
        .filter_map(Result::ok)
        .find_map(|resource| resource.get("cleanup.policy").and_then(|e| e.value.clone()));
    let Some(policy) = policy else {
        tracing::info!(
            "Unable to use admin client to verify the cleanup policy of '{}' topic is 'compact'",
            spec.name
        );
        return Ok(());
    };
    let policies: Vec<&str> = policy.split(',').map(str::trim).collect();
    if policies != ["compact"] {
        let key = spec.which.topic_key();
        let purpose = spec.which.purpose();
        return Err(RuntimeError::Config(format!(
            "Topic '{}' supplied via the '{key}' property is required to have 'cleanup.policy=compact' to guarantee consistency and durability of {purpose}, but found the topic currently has 'cleanup.policy={}'. Continuing would likely result in eventually losing {purpose} and problems restarting this Connect cluster in the future. Change the '{key}' property in the Connect worker configurations to use a topic with 'cleanup.policy=compact'.",
            spec.name,
            policies.join(",")
        )));
    }
    Ok(())
}
