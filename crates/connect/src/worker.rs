//! The worker: runs connector tasks as tokio tasks (Kafka's `Worker`,
//! `WorkerSourceTask`, `WorkerSinkTask`), each with its own rdkafka client.
//!
//! - A source task polls, applies the connector's transforms, converts key, value and
//!   headers, and produces through an idempotent producer (`acks=all`). A batch's source
//!   offsets become committable only once the producer acknowledged every record of the
//!   batch; they are written to the offset store every `offset.flush.interval.ms` and at
//!   stop (Kafka's `OffsetStorageWriter`).
//! - A sink task consumes in group `connect-<connector>`, converts, transforms, `put`s,
//!   and commits consumer offsets after `pre_commit` (by default `flush`), on the same
//!   interval and at stop.
//! - Errors follow `errors.tolerance` (`none` fails the task with a trace; `all` skips
//!   the record, logs it with `errors.log.enable`, and for sinks sends the original
//!   record to `errors.deadletterqueue.topic.name`, with Kafka's context headers when
//!   `errors.deadletterqueue.context.headers.enable`).
//!
//! The herder steers a task through a `watch` channel of `TargetState`; the task reports
//! its state into a shared `StatusCell`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rafka_connect_data::connector::{
    ConnectorError, ErrantRecordReporter, OffsetStorageReader, Props, RecordMetadata, SinkTask,
    SinkTaskContext, SourceTask, SourceTaskContext, TopicPartition,
};
use rafka_connect_data::converters::{
    converter_for, AnyConverter, Converter, ConverterType, HeaderConverter,
};
use rafka_connect_data::record::TimestampType;
use rafka_connect_data::transforms::TransformationChain;
use rafka_connect_data::{ConnectRecord, RecordKind, Value};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::TopicPartitionList;
use serde::Serialize;
use tokio::sync::watch;

use crate::offset_store::{self, FileOffsetStore, OffsetStore};
use crate::worker_config::{with_prefix, WorkerConfig};

mod exactly_once;
pub use crate::exactly_once::{
    task_transactional_id, ExactlyOnce, TaskCheck, TransactionBoundary, TRANSACTION_BOUNDARY,
    TRANSACTION_BOUNDARY_INTERVAL_MS,
};

/// Kafka's `AbstractStatus.State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Stopped,
    Failed,
    Restarting,
}

impl State {
    const ALL: [State; 6] = [
        State::Unassigned,
        State::Running,
        State::Paused,
        State::Stopped,
        State::Failed,
        State::Restarting,
    ];

    /// Kafka's enum constant name (`RUNNING`, …), as the status topic stores it.
    pub fn name(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Stopped => "STOPPED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
        }
    }

    /// Java's `State.valueOf` (`DESTROYED` is never stored: it is written as a tombstone).
    pub fn from_name(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A connector's or task's state with the trace of its failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: State,
    pub trace: Option<String>,
}

impl Status {
    pub fn new(state: State) -> Status {
        Status { state, trace: None }
    }
    pub fn failed(error: &ConnectorError) -> Status {
        Status {
            state: State::Failed,
            trace: Some(trace_of(error)),
        }
    }
}

/// A Java-like trace for `error` (Kafka prints the exception's stack trace).
pub fn trace_of(error: &ConnectorError) -> String {
    format!("{}: {}\n", error.java_class(), error)
}

pub type StatusCell = Arc<Mutex<Status>>;

/// What the herder wants a connector's tasks to do (Kafka's `TargetState`; `Stopped`
/// also means "shut down" to a running task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    /// Kafka's enum constant name (`STARTED`, `PAUSED`, `STOPPED`).
    pub fn name(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    /// Java's `TargetState.valueOf`.
    pub fn from_name(name: &str) -> Option<TargetState> {
        [
            TargetState::Started,
            TargetState::Paused,
            TargetState::Stopped,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

/// Everything a task runner needs besides its plugin.
#[derive(Debug, Clone)]
pub struct TaskSetup {
    pub connector: String,
    pub task: usize,
    /// The connector's whole config (converters, transforms, error handling).
    pub connector_config: Props,
    pub task_config: Props,
    pub status: StatusCell,
    /// Topics the connector used (`GET /connectors/{n}/topics`).
    pub topics: Arc<Mutex<BTreeSet<String>>>,
    /// Set when the task runs with exactly-once support (a distributed worker with
    /// `exactly.once.source.support=enabled`, source tasks only).
    pub exactly_once: Option<ExactlyOnce>,
}

/// The worker: its config and the stores the tasks share.
#[derive(Debug)]
pub struct Worker {
    pub config: WorkerConfig,
    pub offsets: Arc<dyn OffsetStore>,
}

/// Key, value and header converters of one connector (its overrides, else the worker's).
#[derive(Debug)]
struct Converters {
    key: AnyConverter,
    key_class: String,
    value: AnyConverter,
    value_class: String,
    header: AnyConverter,
}

/// `errors.*` of a connector.
#[derive(Debug, Clone)]
struct ErrorPolicy {
    tolerate_all: bool,
    log_enable: bool,
    retry_timeout_ms: i64,
    dead_letter_queue_topic: Option<String>,
    context_headers: bool,
}

impl ErrorPolicy {
    fn from(config: &Props) -> ErrorPolicy {
        let get = |k: &str| config.get(k).map(|v| v.trim().to_string());
        ErrorPolicy {
            tolerate_all: get("errors.tolerance").is_some_and(|v| v.eq_ignore_ascii_case("all")),
            log_enable: get("errors.log.enable").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            retry_timeout_ms: get(crate::connector_config::ERRORS_RETRY_TIMEOUT)
                .or_else(|| get("errors.retry.timeout.ms"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            dead_letter_queue_topic: get("errors.deadletterqueue.topic.name")
                .filter(|t| !t.is_empty()),
            context_headers: get("errors.deadletterqueue.context.headers.enable")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }
    }
}

/// Kafka's error-handling stages, as the DLQ's context headers name them.
#[derive(Debug, Clone, Copy)]
enum Stage {
    KeyConverter,
    ValueConverter,
    HeaderConverter,
    Transformation,
    TaskPut,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
        }
    }
}

struct StageError {
    stage: Stage,
    class: String,
    error: ConnectorError,
}

/// The failure once `errors.tolerance=none` meets an error (Kafka's wrapping).
fn tolerance_exceeded(error: &ConnectorError) -> ConnectorError {
    ConnectorError::Fatal(format!(
        "Tolerance exceeded in error handler\nCaused by: {}: {}",
        error.java_class(),
        error
    ))
}

impl Worker {
    pub fn new(config: WorkerConfig) -> Result<Worker, crate::error::RuntimeError> {
        let offsets = Arc::new(FileOffsetStore::open(
            config.offset_storage_file.as_deref(),
        )?);
        Ok(Worker::with_offsets(config, offsets))
    }

    /// A worker over another offset store (distributed mode's `KafkaOffsetStore`).
    pub fn with_offsets(config: WorkerConfig, offsets: Arc<dyn OffsetStore>) -> Worker {
        Worker { config, offsets }
    }

    fn converters(&self, connector_config: &Props) -> Result<Converters, ConnectorError> {
        let build =
            |key: &str, default: &str, usage| -> Result<(AnyConverter, String), ConnectorError> {
                let (class, props) =
                    match connector_config.get(key).filter(|c| !c.trim().is_empty()) {
                        Some(class) => (
                            class.trim().to_string(),
                            with_prefix(connector_config, &format!("{key}.")),
                        ),
                        None => (
                            default.to_string(),
                            self.config.with_prefix(&format!("{key}.")),
                        ),
                    };
                Ok((converter_for(key, &class, &props, usage)?, class))
            };
        let (key, key_class) = build(
            "key.converter",
            &self.config.key_converter,
            ConverterType::Key,
        )?;
        let (value, value_class) = build(
            "value.converter",
            &self.config.value_converter,
            ConverterType::Value,
        )?;
        let (header, _) = build(
            "header.converter",
            &self.config.header_converter,
            ConverterType::Header,
        )?;
        Ok(Converters {
            key,
            key_class,
            value,
            value_class,
            header,
        })
    }

    /// A client's settings: `bootstrap.servers`, the worker's `<prefix>` keys, then the
    /// connector's `<prefix>override.` keys when the override policy allows them.
    /// Their security keys become librdkafka's; a connector's override it cannot use
    /// (SCRAM, TLS) fails the task with the reason. (Settings, not a `ClientConfig` to
    /// copy from: rdkafka's `config_map()` hands `sasl.password` back sanitized, so a copy
    /// through it authenticated with the placeholder.)
    fn client_settings(
        &self,
        prefix: &str,
        connector_config: &Props,
    ) -> Result<Vec<(String, String)>, ConnectorError> {
        let overrides = if self.config.client_config_override_policy != "None" {
            with_prefix(connector_config, &format!("{prefix}.override."))
        } else {
            Default::default()
        };
        let mut settings = vec![(
            "bootstrap.servers".to_string(),
            self.config.bootstrap_servers.clone(),
        )];
        settings.extend(
            self.config
                .client_settings(&format!("{prefix}."), &overrides)
                .map_err(ConnectorError::fatal)?,
        );
        Ok(settings)
    }

    fn producer(
        &self,
        client_id: &str,
        connector_config: &Props,
    ) -> Result<FutureProducer, ConnectorError> {
        self.producer_with(client_id, connector_config, &[], &[])
    }

    /// A producer with Kafka's source producer defaults (nothing lost, nothing
    /// reordered) and `defaults`, then the worker's and connector's keys, then `forced`.
    fn producer_with(
        &self,
        client_id: &str,
        connector_config: &Props,
        defaults: &[(&str, &str)],
        forced: &[(&str, &str)],
    ) -> Result<FutureProducer, ConnectorError> {
        let mut config = ClientConfig::new();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("client.id", client_id);
        for (k, v) in defaults {
            config.set(*k, *v);
        }
        for (k, v) in self.client_settings("producer", connector_config)? {
            config.set(k, v);
        }
        for (k, v) in forced {
            config.set(*k, *v);
        }
        config
            .create()
            .map_err(|e| ConnectorError::fatal(format!("Failed to create producer: {e}")))
    }

    /// Runs a source task until its target becomes `Stopped`.
    pub async fn run_source_task(
        self: Arc<Self>,
        setup: TaskSetup,
        mut task: Box<dyn SourceTask>,
        mut control: watch::Receiver<TargetState>,
    ) {
        let result = match &setup.exactly_once {
            Some(exactly_once) => {
                self.exactly_once_loop(&setup, exactly_once, task.as_mut(), &mut control)
                    .await
            }
            None => self.source_loop(&setup, task.as_mut(), &mut control).await,
        };
        task.stop();
        match result {
            Ok(()) => {}
            Err(e) => {
                tracing::error!(
                    "{}-{} Task threw an uncaught and unrecoverable exception: {e}",
                    setup.connector,
                    setup.task
                );
                *setup.status.lock() = Status::failed(&e);
            }
        }
    }

    async fn source_loop(
        &self,
        setup: &TaskSetup,
        task: &mut dyn SourceTask,
        control: &mut watch::Receiver<TargetState>,
    ) -> Result<(), ConnectorError> {
        let producer = self.producer(
            &format!("connector-producer-{}-{}", setup.connector, setup.task),
            &setup.connector_config,
        )?;
        self.start_source_task(setup, task)?;
        let flush_interval = Duration::from_millis(self.config.offset_flush_interval_ms.max(1));
        let mut commits = SourceCommits::new(Some(flush_interval), None);
        self.poll_source(setup, task, control, &producer, &mut commits)
            .await
    }

    /// The poll loop of every source task: poll, convert, send, and commit offsets as
    /// `commits` says, until the target is `Stopped` (then a last commit).
    async fn poll_source(
        &self,
        setup: &TaskSetup,
        task: &mut dyn SourceTask,
        control: &mut watch::Receiver<TargetState>,
        producer: &FutureProducer,
        commits: &mut SourceCommits,
    ) -> Result<(), ConnectorError> {
        let converters = self.converters(&setup.connector_config)?;
        let chain = TransformationChain::from_connector_config(&setup.connector_config)?;
        let policy = ErrorPolicy::from(&setup.connector_config);
        loop {
            let target = *control.borrow_and_update();
            match target {
                TargetState::Stopped => break,
                TargetState::Paused => {
                    *setup.status.lock() = Status::new(State::Paused);
                    self.commit_source(task, producer, commits).await?;
                    if control.changed().await.is_err() {
                        break;
                    }
                    continue;
                }
                TargetState::Started => {
                    let mut status = setup.status.lock();
                    if status.state != State::Running {
                        *status = Status::new(State::Running);
                    }
                }
            }
            if let Some(interval) = commits.interval {
                if Instant::now() >= commits.next_commit {
                    self.commit_source(task, producer, commits).await?;
                    commits.next_commit = Instant::now() + interval;
                }
            }
            let due = commits.interval.map(|_| commits.next_commit);
            let polled = tokio::select! {
                changed = control.changed() => {
                    if changed.is_err() { break; }
                    continue;
                }
                _ = async {
                    match due {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                } => continue,
                polled = task.poll() => polled,
            };
            let records = match polled {
                Ok(records) => records,
                Err(e) if e.is_retriable() => continue,
                Err(e) => return Err(e),
            };
            if records.is_empty() {
                continue;
            }
            self.begin_source_commit(producer, commits)?;
            self.send_batch(
                setup,
                task,
                &converters,
                &chain,
                &policy,
                producer,
                records,
                &mut commits.pending,
            )
            .await?;
            if commits.interval.is_none() {
                self.commit_source(task, producer, commits).await?;
            }
        }
        self.commit_source(task, producer, commits).await
    }

    /// Commits the offsets of what was sent: to the offset store, or with the open
    /// transaction.
    async fn commit_source(
        &self,
        task: &mut dyn SourceTask,
        producer: &FutureProducer,
        commits: &mut SourceCommits,
    ) -> Result<(), ConnectorError> {
        match &mut commits.transaction {
            None => self.flush_source_offsets(task, &mut commits.pending).await,
            Some(transaction) => {
                self.commit_transaction(producer, transaction, &mut commits.pending, task)
                    .await
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_batch(
        &self,
        setup: &TaskSetup,
        task: &mut dyn SourceTask,
        converters: &Converters,
        chain: &TransformationChain,
        policy: &ErrorPolicy,
        producer: &FutureProducer,
        records: Vec<ConnectRecord>,
        pending: &mut Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), ConnectorError> {
        let mut in_flight: Vec<(ConnectRecord, Option<DeliveryFuture>)> = Vec::new();
        for original in records {
            let converted = convert_source(converters, chain, &original);
            let (record, key, value, headers) = match converted {
                Ok(Some(parts)) => parts,
                Ok(None) => {
                    in_flight.push((original, None));
                    continue;
                }
                Err(failure) => {
                    handle_error(setup, policy, &failure)?;
                    in_flight.push((original, None));
                    continue;
                }
            };
            let mut future_record: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&record.topic).headers(headers);
            if let Some(key) = &key {
                future_record = future_record.key(key.as_slice());
            }
            if let Some(value) = &value {
                future_record = future_record.payload(value.as_slice());
            }
            if let Some(partition) = record.kafka_partition {
                future_record = future_record.partition(partition);
            }
            if let Some(timestamp) = record.timestamp {
                future_record = future_record.timestamp(timestamp);
            }
            let delivery = loop {
                match producer.send_result(future_record) {
                    Ok(delivery) => break delivery,
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull,
                        ),
                        back,
                    )) => {
                        future_record = back;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err((e, _)) => {
                        return Err(ConnectorError::fatal(format!(
                            "Unrecoverable exception from producer send callback: {e}"
                        )))
                    }
                }
            };
            setup.topics.lock().insert(record.topic.clone());
            in_flight.push((original, Some(delivery)));
        }
        for (original, delivery) in in_flight {
            let metadata = match delivery {
                None => None,
                Some(delivery) => match delivery.await {
                    Ok(Ok(delivered)) => Some(RecordMetadata {
                        topic: String::new(),
                        partition: delivered.partition,
                        offset: delivered.offset,
                    }),
                    Ok(Err((e, _))) => {
                        return Err(ConnectorError::fatal(format!(
                            "Unrecoverable exception from producer send callback: {e}"
                        )))
                    }
                    Err(_) => return Err(ConnectorError::fatal("producer closed")),
                },
            };
            if let RecordKind::Source {
                source_partition,
                source_offset,
            } = &original.kind
            {
                if !source_partition.is_null() {
                    let key = offset_store::offset_key(&setup.connector, source_partition);
                    let value = offset_store::encode_value(source_offset);
                    pending.retain(|(k, _)| *k != key);
                    pending.push((key, value));
                }
            }
            let metadata = metadata.map(|mut m| {
                m.topic = original.topic.clone();
                m
            });
            task.commit_record(&original, metadata.as_ref())?;
        }
        Ok(())
    }

    /// Starts a source task with its context over the worker's offsets.
    fn start_source_task(
        &self,
        setup: &TaskSetup,
        task: &mut dyn SourceTask,
    ) -> Result<(), ConnectorError> {
        let context = Arc::new(OffsetContext {
            connector: setup.connector.clone(),
            config: setup.task_config.clone(),
            store: self.offsets.clone(),
        });
        task.start(context, &setup.task_config)
    }

    async fn flush_source_offsets(
        &self,
        task: &mut dyn SourceTask,
        pending: &mut Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), ConnectorError> {
        if pending.is_empty() {
            return Ok(());
        }
        self.offsets
            .set(std::mem::take(pending))
            .await
            .map_err(|e| ConnectorError::fatal(e.to_string()))?;
        task.commit()
    }

    /// Runs a sink task until its target becomes `Stopped`.
    pub async fn run_sink_task(
        self: Arc<Self>,
        setup: TaskSetup,
        task: Box<dyn SinkTask>,
        mut control: watch::Receiver<TargetState>,
    ) {
        let shared = Arc::new(tokio::sync::Mutex::new(SinkShared::new(task)));
        let result = self.sink_loop(&setup, &shared, &mut control).await;
        // The consumer is gone: no callback holds the task any more.
        shared.lock().await.task.stop();
        if let Err(e) = result {
            tracing::error!(
                "{}-{} Task threw an uncaught and unrecoverable exception: {e}",
                setup.connector,
                setup.task
            );
            *setup.status.lock() = Status::failed(&e);
        }
    }

    async fn sink_loop(
        &self,
        setup: &TaskSetup,
        shared: &Arc<tokio::sync::Mutex<SinkShared>>,
        control: &mut watch::Receiver<TargetState>,
    ) -> Result<(), ConnectorError> {
        let mut config = ClientConfig::new();
        config
            .set("group.id", format!("connect-{}", setup.connector))
            .set(
                "client.id",
                format!("connector-consumer-{}-{}", setup.connector, setup.task),
            )
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest");
        for (k, v) in self.client_settings("consumer", &setup.connector_config)? {
            config.set(k, v);
        }
        let partitions = Arc::new(PartitionControl::default());
        let rebalance = SinkRebalance {
            shared: shared.clone(),
            partitions: partitions.clone(),
        };
        let consumer: StreamConsumer<SinkRebalance> = config
            .create_with_context(rebalance)
            .map_err(|e| ConnectorError::fatal(format!("Failed to create consumer: {e}")))?;
        let result = self
            .consume(setup, shared, &consumer, &partitions, control)
            .await;
        // Kafka closes every partition after the final commit (or the failure), before
        // the consumer leaves the group: the revocation its close causes then finds
        // nothing left to close.
        let closing = {
            let mut state = shared.lock().await;
            let assigned: Vec<TopicPartition> = state.assigned.iter().cloned().collect();
            state.closed = true;
            state.task.close(&assigned)
        };
        drop(consumer);
        result.and(closing)
    }

    async fn consume(
        &self,
        setup: &TaskSetup,
        shared: &Arc<tokio::sync::Mutex<SinkShared>>,
        consumer: &StreamConsumer<SinkRebalance>,
        partitions: &Arc<PartitionControl>,
        control: &mut watch::Receiver<TargetState>,
    ) -> Result<(), ConnectorError> {
        let converters = self.converters(&setup.connector_config)?;
        let chain = TransformationChain::from_connector_config(&setup.connector_config)?;
        let policy = ErrorPolicy::from(&setup.connector_config);
        let topics = setup
            .connector_config
            .get("topics")
            .map(|t| rafka_connect_data::config::parse_list(t))
            .unwrap_or_default();
        let regex = setup
            .connector_config
            .get("topics.regex")
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        let subscription: Vec<String> = match regex {
            Some(regex) => vec![format!("^{}", regex.trim_start_matches('^'))],
            None => topics.into_iter().filter(|t| !t.is_empty()).collect(),
        };
        let subscription: Vec<&str> = subscription.iter().map(String::as_str).collect();
        consumer
            .subscribe(&subscription)
            .map_err(|e| ConnectorError::fatal(format!("Failed to subscribe: {e}")))?;
        let dead_letter_producer = match &policy.dead_letter_queue_topic {
            Some(_) => Some(self.producer(
                &format!("connector-dlq-producer-{}-{}", setup.connector, setup.task),
                &setup.connector_config,
            )?),
            None => None,
        };
        let context = Arc::new(SinkContext {
            config: setup.task_config.clone(),
            commit_requested: std::sync::atomic::AtomicBool::new(false),
            partitions: partitions.clone(),
            reporter: ErrantReports::default(),
        });
        shared
            .lock()
            .await
            .task
            .start(context.clone(), &setup.task_config)?;
        let flush_interval = Duration::from_millis(self.config.offset_flush_interval_ms.max(1));
        let mut next_commit = Instant::now() + flush_interval;
        let mut paused = false;
        loop {
            let target = *control.borrow_and_update();
            match target {
                TargetState::Stopped => break,
                TargetState::Paused if !paused => {
                    partitions.set_connector_paused(consumer, true);
                    paused = true;
                    *setup.status.lock() = Status::new(State::Paused);
                }
                TargetState::Started if paused => {
                    partitions.set_connector_paused(consumer, false);
                    paused = false;
                }
                _ => {}
            }
            if !paused {
                let mut status = setup.status.lock();
                if status.state != State::Running {
                    *status = Status::new(State::Running);
                }
            }
            partitions.apply_requests(consumer);
            if Instant::now() >= next_commit
                || context
                    .commit_requested
                    .swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                let mut state = shared.lock().await;
                state.take_failure()?;
                state.commit(consumer, None, CommitMode::Async)?;
                next_commit = Instant::now() + flush_interval;
            }
            if paused {
                // Not polling while paused: a partition assigned after the pause is paused
                // here too. (Paused longer than max.poll.interval.ms, the consumer leaves
                // the group and rejoins on resume.)
                tokio::select! {
                    changed = control.changed() => {
                        if changed.is_err() { break; }
                    }
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {
                        partitions.set_connector_paused(consumer, true);
                    }
                }
                continue;
            }
            let first = tokio::select! {
                changed = control.changed() => {
                    if changed.is_err() { break; }
                    continue;
                }
                _ = tokio::time::sleep_until(next_commit.into()) => continue,
                message = consumer.recv() => message,
            };
            let mut messages = Vec::new();
            match first {
                Ok(m) => messages.push(m.detach()),
                Err(e) => {
                    tracing::warn!("{}-{} consumer error: {e}", setup.connector, setup.task);
                    continue;
                }
            }
            while messages.len() < 500 {
                match tokio::time::timeout(Duration::ZERO, consumer.recv()).await {
                    Ok(Ok(m)) => messages.push(m.detach()),
                    _ => break,
                }
            }
            let mut records = Vec::new();
            let mut state = shared.lock().await;
            state.take_failure()?;
            for message in &messages {
                setup.topics.lock().insert(message.topic().to_string());
                let partition = TopicPartition {
                    topic: message.topic().to_string(),
                    partition: message.partition(),
                };
                // A message fetched before its partition was revoked is not this task's.
                if !state.assigned.contains(&partition) {
                    continue;
                }
                state.offsets.insert(partition, message.offset() + 1);
                match convert_sink(&converters, &chain, message) {
                    Ok(Some(record)) => records.push(record),
                    Ok(None) => {}
                    Err(failure) => {
                        handle_error(setup, &policy, &failure)?;
                        if let (Some(producer), Some(topic)) =
                            (&dead_letter_producer, &policy.dead_letter_queue_topic)
                        {
                            send_to_dead_letter_queue(
                                setup, &policy, producer, topic, message, &failure,
                            )
                            .await?;
                        }
                    }
                }
            }
            if records.is_empty() {
                continue;
            }
            let deadline = (policy.retry_timeout_ms != 0).then(|| {
                (policy.retry_timeout_ms > 0)
                    .then(|| Instant::now() + Duration::from_millis(policy.retry_timeout_ms as u64))
            });
            loop {
                match state.task.put(records.clone()).await {
                    Ok(()) => break,
                    Err(e) if e.is_retriable() => {
                        // Kafka redelivers the batch after a RetriableException.
                        if let Some(Some(deadline)) = deadline {
                            if Instant::now() >= deadline {
                                return Err(e);
                            }
                        }
                        if *control.borrow() == TargetState::Stopped {
                            return Ok(());
                        }
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
            // What the task reported goes through the error handling before any commit
            // covers it (Kafka waits for the reporter's futures in preCommit).
            for (partition, offset, error) in context.reporter.take() {
                let failure = StageError {
                    stage: Stage::TaskPut,
                    class: "org.apache.kafka.connect.sink.SinkTask".into(),
                    error,
                };
                handle_error(setup, &policy, &failure)?;
                let original = messages.iter().find(|m| {
                    m.topic() == partition.topic
                        && m.partition() == partition.partition
                        && m.offset() == offset
                });
                if let (Some(producer), Some(topic), Some(message)) = (
                    &dead_letter_producer,
                    &policy.dead_letter_queue_topic,
                    original,
                ) {
                    send_to_dead_letter_queue(setup, &policy, producer, topic, message, &failure)
                        .await?;
                }
            }
        }
        let mut state = shared.lock().await;
        state.take_failure()?;
        state.commit(consumer, None, CommitMode::Sync)
    }
}

/// What the sink loop and its consumer's rebalance callbacks share. The callbacks run
/// inside the consumer's `recv()`, when the loop holds no lock, so they always get it.
struct SinkShared {
    task: Box<dyn SinkTask>,
    /// The next offset to consume per partition, of records handed to the task.
    offsets: HashMap<TopicPartition, i64>,
    committed: HashMap<TopicPartition, i64>,
    /// The partitions opened on the task and not closed since.
    assigned: BTreeSet<TopicPartition>,
    /// A failure in a callback (`open`, `close`, `pre_commit`), failing the task at the
    /// loop's next step: a callback cannot return it.
    failure: Option<ConnectorError>,
    /// Set once the loop closed every partition: the consumer's last revocation while
    /// it shuts down has nothing left to close.
    closed: bool,
}

impl SinkShared {
    fn new(task: Box<dyn SinkTask>) -> SinkShared {
        SinkShared {
            task,
            offsets: HashMap::new(),
            committed: HashMap::new(),
            assigned: BTreeSet::new(),
            failure: None,
            closed: false,
        }
    }

    fn take_failure(&mut self) -> Result<(), ConnectorError> {
        self.failure.take().map_or(Ok(()), Err)
    }

    /// `pre_commit` of the offsets (of `only` these partitions, if given), then their
    /// commit. A failed commit is logged and retried at the next interval, as Kafka does.
    fn commit<C: ConsumerContext>(
        &mut self,
        consumer: &impl Consumer<C>,
        only: Option<&BTreeSet<TopicPartition>>,
        mode: CommitMode,
    ) -> Result<(), ConnectorError> {
        let offsets: HashMap<TopicPartition, i64> = self
            .offsets
            .iter()
            .filter(|(tp, _)| only.is_none_or(|only| only.contains(*tp)))
            .map(|(tp, offset)| (tp.clone(), *offset))
            .collect();
        let pending = offsets
            .iter()
            .any(|(tp, offset)| self.committed.get(tp) != Some(offset));
        if !pending {
            return Ok(());
        }
        let to_commit = self.task.pre_commit(&offsets)?;
        if to_commit.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for (tp, offset) in &to_commit {
            let _ = list.add_partition_offset(
                &tp.topic,
                tp.partition,
                rdkafka::Offset::Offset(*offset),
            );
        }
        match consumer.commit(&list, mode) {
            Ok(()) => self.committed.extend(to_commit),
            Err(e) => tracing::warn!("Commit of offsets failed: {e}"),
        }
        Ok(())
    }
}

fn partitions_of(list: &TopicPartitionList) -> BTreeSet<TopicPartition> {
    list.elements()
        .iter()
        .map(|e| TopicPartition {
            topic: e.topic().to_string(),
            partition: e.partition(),
        })
        .collect()
}

fn partition_list<'a>(
    partitions: impl IntoIterator<Item = &'a TopicPartition>,
) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for tp in partitions {
        list.add_partition(&tp.topic, tp.partition);
    }
    list
}

/// The sink consumer's rebalance listener (Kafka's `WorkerSinkTask.HandleRebalance`):
/// revoked partitions get their offsets committed, then `close`; assigned ones `open`,
/// and stay paused if the task or the connector paused them.
struct SinkRebalance {
    shared: Arc<tokio::sync::Mutex<SinkShared>>,
    partitions: Arc<PartitionControl>,
}

impl rdkafka::client::ClientContext for SinkRebalance {}

impl ConsumerContext for SinkRebalance {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let revoked = match rebalance {
            Rebalance::Revoke(list) => partitions_of(list),
            _ => return,
        };
        let Ok(mut state) = self.shared.try_lock() else {
            tracing::error!("sink task state busy during a rebalance; partitions not closed");
            return;
        };
        if state.closed || state.failure.is_some() {
            return;
        }
        let revoked: BTreeSet<TopicPartition> =
            revoked.intersection(&state.assigned).cloned().collect();
        let result = state
            .commit(consumer, Some(&revoked), CommitMode::Sync)
            .and_then(|()| {
                state
                    .task
                    .close(&revoked.iter().cloned().collect::<Vec<_>>())
            });
        state.offsets.retain(|tp, _| !revoked.contains(tp));
        state.committed.retain(|tp, _| !revoked.contains(tp));
        state.assigned.retain(|tp| !revoked.contains(tp));
        if let Err(e) = result {
            state.failure = Some(e);
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let assigned = match rebalance {
            Rebalance::Assign(list) => partitions_of(list),
            _ => return,
        };
        let Ok(mut state) = self.shared.try_lock() else {
            tracing::error!("sink task state busy during a rebalance; partitions not opened");
            return;
        };
        if state.closed || state.failure.is_some() {
            return;
        }
        state.assigned.extend(assigned.iter().cloned());
        if let Err(e) = state
            .task
            .open(&assigned.iter().cloned().collect::<Vec<_>>())
        {
            state.failure = Some(e);
        }
        drop(state);
        self.partitions.repause(consumer, &assigned);
    }
}

/// Which partitions are paused and why: by the task (`SinkTaskContext::pause`, until it
/// resumes them) or all of them by the connector's PAUSED state. The task's requests
/// queue here and the loop applies them, as Kafka's consumer applies them on its thread.
#[derive(Default)]
struct PartitionControl {
    requests: Mutex<Vec<(bool, Vec<TopicPartition>)>>,
    by_task: Mutex<BTreeSet<TopicPartition>>,
    connector_paused: std::sync::atomic::AtomicBool,
}

impl PartitionControl {
    fn request(&self, pause: bool, partitions: &[TopicPartition]) {
        self.requests.lock().push((pause, partitions.to_vec()));
    }

    fn apply_requests<C: ConsumerContext>(&self, consumer: &impl Consumer<C>) {
        let requests = std::mem::take(&mut *self.requests.lock());
        let connector_paused = self
            .connector_paused
            .load(std::sync::atomic::Ordering::SeqCst);
        for (pause, partitions) in requests {
            let list = partition_list(&partitions);
            let mut by_task = self.by_task.lock();
            if pause {
                by_task.extend(partitions.iter().cloned());
                if let Err(e) = consumer.pause(&list) {
                    tracing::warn!("pausing {partitions:?} failed: {e}");
                }
            } else {
                for tp in &partitions {
                    by_task.remove(tp);
                }
                if !connector_paused {
                    if let Err(e) = consumer.resume(&list) {
                        tracing::warn!("resuming {partitions:?} failed: {e}");
                    }
                }
            }
        }
    }

    /// The connector's pause covers every assigned partition; its resume leaves the
    /// task's own pauses in place.
    fn set_connector_paused<C: ConsumerContext>(&self, consumer: &impl Consumer<C>, paused: bool) {
        self.connector_paused
            .store(paused, std::sync::atomic::Ordering::SeqCst);
        let Ok(assignment) = consumer.assignment() else {
            return;
        };
        if paused {
            let _ = consumer.pause(&assignment);
            return;
        }
        let by_task = self.by_task.lock();
        let resumable: Vec<TopicPartition> = partitions_of(&assignment)
            .into_iter()
            .filter(|tp| !by_task.contains(tp))
            .collect();
        let _ = consumer.resume(&partition_list(&resumable));
    }

    /// A new assignment starts unpaused; Kafka pauses again what was paused.
    fn repause<C: ConsumerContext>(
        &self,
        consumer: &impl Consumer<C>,
        assigned: &BTreeSet<TopicPartition>,
    ) {
        let paused: Vec<TopicPartition> = if self
            .connector_paused
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            assigned.iter().cloned().collect()
        } else {
            let by_task = self.by_task.lock();
            assigned.intersection(&by_task).cloned().collect()
        };
        if !paused.is_empty() {
            let _ = consumer.pause(&partition_list(&paused));
        }
    }
}

/// Records a sink task reported as failed (Kafka's `WorkerErrantRecordReporter`): the
/// loop takes them after each `put` and runs them through `errors.tolerance` and the
/// dead letter queue, with the original consumed record.
#[derive(Default)]
struct ErrantReports {
    reported: Mutex<Vec<(TopicPartition, i64, ConnectorError)>>,
}

impl ErrantReports {
    fn take(&self) -> Vec<(TopicPartition, i64, ConnectorError)> {
        std::mem::take(&mut *self.reported.lock())
    }
}

impl ErrantRecordReporter for ErrantReports {
    fn report(&self, record: &ConnectRecord, error: &ConnectorError) {
        let RecordKind::Sink {
            original_topic,
            original_kafka_partition,
            original_kafka_offset,
            ..
        } = &record.kind
        else {
            tracing::warn!("a sink task reported a record that is not a sink record");
            return;
        };
        let partition = TopicPartition {
            topic: original_topic.clone(),
            partition: original_kafka_partition.unwrap_or(-1),
        };
        self.reported
            .lock()
            .push((partition, *original_kafka_offset, error.clone()));
    }
}

fn handle_error(
    setup: &TaskSetup,
    policy: &ErrorPolicy,
    failure: &StageError,
) -> Result<(), ConnectorError> {
    if policy.log_enable || !policy.tolerate_all {
        tracing::error!(
            "Error encountered in task {}-{}. Executing stage '{}' with class '{}'. {}",
            setup.connector,
            setup.task,
            failure.stage.name(),
            failure.class,
            failure.error
        );
    }
    if policy.tolerate_all {
        Ok(())
    } else {
        Err(tolerance_exceeded(&failure.error))
    }
}

async fn send_to_dead_letter_queue(
    setup: &TaskSetup,
    policy: &ErrorPolicy,
    producer: &FutureProducer,
    topic: &str,
    message: &rdkafka::message::OwnedMessage,
    failure: &StageError,
) -> Result<(), ConnectorError> {
    let mut headers = OwnedHeaders::new();
    if let Some(original) = message.headers() {
        for header in original.iter() {
            headers = headers.insert(Header {
                key: header.key,
                value: header.value,
            });
        }
    }
    if policy.context_headers {
        let context = [
            ("__connect.errors.topic", message.topic().to_string()),
            (
                "__connect.errors.partition",
                message.partition().to_string(),
            ),
            ("__connect.errors.offset", message.offset().to_string()),
            ("__connect.errors.connector.name", setup.connector.clone()),
            ("__connect.errors.task.id", setup.task.to_string()),
            ("__connect.errors.stage", failure.stage.name().to_string()),
            ("__connect.errors.class.name", failure.class.clone()),
            (
                "__connect.errors.exception.class.name",
                failure.error.java_class().to_string(),
            ),
            (
                "__connect.errors.exception.message",
                failure.error.to_string(),
            ),
            (
                "__connect.errors.exception.stacktrace",
                trace_of(&failure.error),
            ),
        ];
        for (key, value) in &context {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            });
        }
    }
    let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    if let Some(payload) = message.payload() {
        record = record.payload(payload);
    }
    producer
        .send(record, Duration::from_secs(30))
        .await
        .map_err(|(e, _)| {
            ConnectorError::fatal(format!(
                "Could not produce message to dead letter queue. topic={topic}: {e}"
            ))
        })?;
    Ok(())
}

type Converted = (
    ConnectRecord,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    OwnedHeaders,
);

fn convert_source(
    converters: &Converters,
    chain: &TransformationChain,
    original: &ConnectRecord,
) -> Result<Option<Converted>, StageError> {
    let transformation_class = || {
        chain
            .stages
            .first()
            .map(|s| format!("{:?}", s.transformation))
            .unwrap_or_default()
    };
    let record = match chain.apply(original.clone()) {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(None),
        Err(e) => {
            return Err(StageError {
                stage: Stage::Transformation,
                class: transformation_class(),
                error: e.into(),
            })
        }
    };
    let mut headers = OwnedHeaders::new();
    for header in &record.headers {
        let bytes = converters
            .header
            .from_connect_header(
                &record.topic,
                &header.key,
                header.schema.as_ref(),
                &header.value,
            )
            .map_err(|e| StageError {
                stage: Stage::HeaderConverter,
                class: "header.converter".into(),
                error: e.into(),
            })?;
        headers = headers.insert(Header {
            key: &header.key,
            value: bytes.as_deref(),
        });
    }
    let key = converters
        .key
        .from_connect_data(&record.topic, record.key_schema.as_ref(), &record.key)
        .map_err(|e| StageError {
            stage: Stage::KeyConverter,
            class: converters.key_class.clone(),
            error: e.into(),
        })?;
    let value = converters
        .value
        .from_connect_data(&record.topic, record.value_schema.as_ref(), &record.value)
        .map_err(|e| StageError {
            stage: Stage::ValueConverter,
            class: converters.value_class.clone(),
            error: e.into(),
        })?;
    Ok(Some((record, key, value, headers)))
}

fn convert_sink(
    converters: &Converters,
    chain: &TransformationChain,
    message: &rdkafka::message::OwnedMessage,
) -> Result<Option<ConnectRecord>, StageError> {
    let topic = message.topic();
    let key = converters
        .key
        .to_connect_data(topic, message.key())
        .map_err(|e| StageError {
            stage: Stage::KeyConverter,
            class: converters.key_class.clone(),
            error: e.into(),
        })?;
    let value = converters
        .value
        .to_connect_data(topic, message.payload())
        .map_err(|e| StageError {
            stage: Stage::ValueConverter,
            class: converters.value_class.clone(),
            error: e.into(),
        })?;
    let mut record = ConnectRecord::sink(topic, message.partition(), message.offset(), key, value);
    let (timestamp_type, timestamp) = match message.timestamp() {
        rdkafka::Timestamp::NotAvailable => (TimestampType::NoTimestampType, None),
        rdkafka::Timestamp::CreateTime(t) => (TimestampType::CreateTime, Some(t)),
        rdkafka::Timestamp::LogAppendTime(t) => (TimestampType::LogAppendTime, Some(t)),
    };
    record.timestamp = timestamp;
    if let RecordKind::Sink {
        timestamp_type: kind,
        ..
    } = &mut record.kind
    {
        *kind = timestamp_type;
    }
    if let Some(headers) = message.headers() {
        for header in headers.iter() {
            let converted = converters
                .header
                .to_connect_header(topic, header.key, header.value)
                .map_err(|e| StageError {
                    stage: Stage::HeaderConverter,
                    class: "header.converter".into(),
                    error: e.into(),
                })?;
            record.add_header(header.key, converted.schema, converted.value);
        }
    }
    chain.apply(record).map_err(|e| StageError {
        stage: Stage::Transformation,
        class: chain
            .stages
            .first()
            .map(|s| s.alias.clone())
            .unwrap_or_default(),
        error: e.into(),
    })
}

/// When a source task's offsets are committed, and what is waiting for it.
struct SourceCommits {
    /// Source offsets of records sent (and acknowledged) since the last commit.
    pending: offset_store::RawEntries,
    /// Commit on this interval; `None`: after every non-empty batch.
    interval: Option<Duration>,
    next_commit: Instant,
    /// Exactly-once tasks commit in their producer's transactions.
    transaction: Option<crate::exactly_once::Transaction>,
}

impl SourceCommits {
    fn new(
        interval: Option<Duration>,
        transaction: Option<crate::exactly_once::Transaction>,
    ) -> SourceCommits {
        SourceCommits {
            pending: Vec::new(),
            interval,
            next_commit: Instant::now() + interval.unwrap_or_default(),
            transaction,
        }
    }
}

/// A source task's context: its config and the offsets committed for its connector.
struct OffsetContext {
    connector: String,
    config: Props,
    store: Arc<dyn OffsetStore>,
}

impl OffsetStorageReader for OffsetContext {
    fn offset(&self, partition: &Value) -> Option<Value> {
        self.store.offset(&self.connector, partition)
    }
}

impl SourceTaskContext for OffsetContext {
    fn configs(&self) -> Props {
        self.config.clone()
    }
    fn offset_storage_reader(&self) -> &dyn OffsetStorageReader {
        self
    }
}

struct SinkContext {
    config: Props,
    commit_requested: std::sync::atomic::AtomicBool,
    partitions: Arc<PartitionControl>,
    reporter: ErrantReports,
}

impl SinkTaskContext for SinkContext {
    fn configs(&self) -> Props {
        self.config.clone()
    }
    fn request_commit(&self) {
        self.commit_requested
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
    fn pause(&self, partitions: &[TopicPartition]) {
        self.partitions.request(true, partitions);
    }
    fn resume(&self, partitions: &[TopicPartition]) {
        self.partitions.request(false, partitions);
    }
    fn errant_record_reporter(&self) -> Option<&dyn ErrantRecordReporter> {
        Some(&self.reporter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_policy_reads_kafkas_keys() {
        let config: Props = [
            ("errors.tolerance", "ALL"),
            ("errors.log.enable", "true"),
            ("errors.deadletterqueue.topic.name", "dlq"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
            ("errors.retry.timeout", "-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let policy = ErrorPolicy::from(&config);
        assert!(policy.tolerate_all && policy.log_enable && policy.context_headers);
        assert_eq!(policy.dead_letter_queue_topic.as_deref(), Some("dlq"));
        assert_eq!(policy.retry_timeout_ms, -1);
        assert!(!ErrorPolicy::from(&Props::new()).tolerate_all);
    }

    #[test]
    fn tolerance_exceeded_keeps_the_cause_in_the_trace() {
        let cause = ConnectorError::Data(rafka_connect_data::DataError::new("bad json"));
        assert_eq!(
            trace_of(&tolerance_exceeded(&cause)),
            "org.apache.kafka.connect.errors.ConnectException: Tolerance exceeded in error handler\nCaused by: org.apache.kafka.connect.errors.DataException: bad json\n"
        );
    }
}
