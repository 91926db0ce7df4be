//! `Subscribe` and `Commit`: one librdkafka consumer per subscription, run on its own
//! thread, feeding the gRPC stream through a bounded channel.
//!
//! Flow control: the thread holds at most one batch that the channel has no room for.
//! While it waits for room it does not take records from the consumer; if the wait
//! lasts longer than [`PAUSE_AFTER`] it pauses the assigned partitions (librdkafka then
//! stops fetching and drops its prefetch of them) and keeps polling only to stay in the
//! group, resuming once the client reads again. So a slow client costs at most
//! `max_buffered` stream messages, one batch and the consumer's prefetch queue
//! (`queued.max.messages.kbytes`), never an unbounded buffer.
//!
//! Commits are sent to the subscription's thread, which commits synchronously through
//! its consumer: Kafka accepts a group's commits only from a current member.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tonic::Status;

use super::clients::{blocking, require_topic, topic_metadata, Clients};
use super::error::ServiceError;
use super::pb::{
    CommitRequest, ConsumedRecord, OffsetReset, PartitionOffset, SubscribeRequest,
    SubscribeResponse,
};
use super::records::{consumed, limit, BatchLimit};

/// How long a full channel is waited on before the partitions are paused.
pub(super) const PAUSE_AFTER: Duration = Duration::from_millis(500);
/// How long one poll for the first record of a batch waits.
/// How long one poll for the first record of a batch waits: also how long a commit may
/// wait for a caught-up subscription's thread to look at it.
const POLL_WAIT: Duration = Duration::from_millis(20);
/// How often a thread waiting for room in the channel polls the consumer (to stay in its
/// group) and checks whether to pause.
const FULL_TICK: Duration = Duration::from_millis(100);
const DEFAULT_MAX_BUFFERED: usize = 4;
/// An upper bound on what a client may ask for, so that one call cannot claim unbounded
/// memory.
const MAX_BUFFERED_LIMIT: usize = 1_000;

/// What a subscription's thread is asked to do besides streaming.
#[derive(Debug)]
enum Command {
    Commit {
        offsets: Vec<PartitionOffset>,
        reply: oneshot::Sender<Result<(), ServiceError>>,
    },
}

#[derive(Debug)]
struct Handle {
    group: String,
    commands: mpsc::UnboundedSender<Command>,
    progress: Arc<Progress>,
}

/// What a subscription's thread has done, for logs and tests.
#[derive(Debug, Default)]
pub(super) struct Progress {
    /// Records taken from the consumer.
    pub(super) polled: AtomicU64,
    /// Whether the assigned partitions are paused because the client does not read.
    pub(super) paused: AtomicBool,
}

/// The subscriptions this process serves, by id, and the signal that ends them all.
#[derive(Debug)]
pub(super) struct Subscriptions {
    active: Mutex<HashMap<String, Handle>>,
    /// Signalled whenever a subscription ends.
    ended: Notify,
    shutdown: watch::Sender<bool>,
}

impl Default for Subscriptions {
    fn default() -> Self {
        Subscriptions {
            active: Mutex::new(HashMap::new()),
            ended: Notify::new(),
            shutdown: watch::channel(false).0,
        }
    }
}

impl Subscriptions {
    /// Ends every subscription (their members leave their groups) and waits up to
    /// `timeout` for their consumers to close.
    pub(super) async fn shut_down(&self, timeout: Duration) {
        self.shutdown.send_replace(true);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let ended = self.ended.notified();
            if self.lock().is_empty() {
                return;
            }
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                for (id, handle) in self.lock().iter() {
                    tracing::warn!(
                        subscription = %id,
                        group = %handle.group,
                        "still closing at shutdown after streaming {} records",
                        handle.progress.polled.load(Ordering::Relaxed)
                    );
                }
                return;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Handle>> {
        // A panic while the map is held leaves it whole (every update is one insert or
        // remove), so a poisoned lock is still usable.
        self.active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The progress of an active subscription.
    #[cfg(test)]
    pub(super) fn progress(&self, id: &str) -> Option<Arc<Progress>> {
        self.lock().get(id).map(|handle| handle.progress.clone())
    }

    fn remove(&self, id: &str) {
        self.lock().remove(id);
        self.ended.notify_waiters();
    }
}

/// The stream a subscription answers with.
pub(super) type SubscribeStream =
    tokio_stream::wrappers::ReceiverStream<Result<SubscribeResponse, Status>>;

/// Starts a subscription: validates the request, joins the group on a new thread and
/// returns the stream its records arrive on.
pub(super) async fn subscribe(
    clients: Arc<Clients>,
    subscriptions: Arc<Subscriptions>,
    request: SubscribeRequest,
) -> Result<SubscribeStream, ServiceError> {
    if request.group.is_empty() {
        return Err(ServiceError::InvalidArgument(
            "group must not be empty".to_string(),
        ));
    }
    if request.topics.is_empty() {
        return Err(ServiceError::InvalidArgument(
            "topics must name at least one topic".to_string(),
        ));
    }
    for topic in &request.topics {
        require_topic(topic)?;
    }
    if *subscriptions.shutdown.borrow() {
        return Err(ServiceError::ShuttingDown);
    }
    let batch_limit = BatchLimit::new(request.max_records, request.max_bytes);
    let max_buffered = limit(
        request.max_buffered,
        DEFAULT_MAX_BUFFERED,
        MAX_BUFFERED_LIMIT,
    );
    let offset_reset = match OffsetReset::try_from(request.offset_reset) {
        Ok(OffsetReset::Earliest) => Some("earliest"),
        Ok(OffsetReset::Latest) => Some("latest"),
        Ok(OffsetReset::Unspecified) => None,
        Err(_) => {
            return Err(ServiceError::InvalidArgument(format!(
                "offset_reset {} is not an OffsetReset",
                request.offset_reset
            )))
        }
    };
    let group = request.group.clone();
    let topics = request.topics.clone();
    let setup_clients = clients.clone();
    let consumer = blocking(move || {
        for topic in &topics {
            topic_metadata(setup_clients.producer.client(), topic)?;
        }
        let mut fixed = vec![
            ("group.id", group.as_str()),
            ("enable.auto.commit", "false"),
        ];
        if let Some(reset) = offset_reset {
            fixed.push(("auto.offset.reset", reset));
        }
        let consumer: BaseConsumer = setup_clients
            .consumer_config(&fixed)
            .create()
            .map_err(|err| ServiceError::kafka(format!("consumer of group {group}"), err))?;
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&names)
            .map_err(|err| ServiceError::kafka(format!("subscribe group {group}"), err))?;
        Ok(consumer)
    })
    .await?;

    let id = uuid::Uuid::new_v4().to_string();
    let (records, stream) = mpsc::channel(max_buffered);
    let (commands, command_receiver) = mpsc::unbounded_channel();
    // The first message names the subscription, so that the client can commit.
    records
        .try_send(Ok(SubscribeResponse {
            subscription_id: id.clone(),
            records: Vec::new(),
        }))
        .map_err(|_| ServiceError::ShuttingDown)?;
    let progress = Arc::new(Progress::default());
    subscriptions.lock().insert(
        id.clone(),
        Handle {
            group: request.group.clone(),
            commands,
            progress: progress.clone(),
        },
    );
    let runner = Runner {
        id: id.clone(),
        group: request.group,
        consumer,
        records,
        commands: command_receiver,
        shutdown: subscriptions.shutdown.subscribe(),
        runtime: tokio::runtime::Handle::current(),
        batch_limit,
        progress,
    };
    let thread_subscriptions = subscriptions.clone();
    let thread_id = id.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("grpc-subscription-{id}"))
        .spawn(move || {
            runner.run();
            thread_subscriptions.remove(&id);
        });
    if let Err(err) = spawned {
        subscriptions.remove(&thread_id);
        return Err(ServiceError::Thread(err));
    }
    Ok(tokio_stream::wrappers::ReceiverStream::new(stream))
}

/// Commits through the subscription's member, or without a subscription for a group
/// that has no active member.
pub(super) async fn commit(
    clients: Arc<Clients>,
    subscriptions: Arc<Subscriptions>,
    request: CommitRequest,
) -> Result<(), ServiceError> {
    if request.offsets.is_empty() {
        return Err(ServiceError::InvalidArgument(
            "offsets must name at least one partition".to_string(),
        ));
    }
    for offset in &request.offsets {
        require_topic(&offset.topic)?;
        if offset.partition < 0 || offset.offset < 0 {
            return Err(ServiceError::InvalidArgument(format!(
                "{}-{}: offset {} and partition must not be negative",
                offset.topic, offset.partition, offset.offset
            )));
        }
    }
    if request.subscription_id.is_empty() {
        if request.group.is_empty() {
            return Err(ServiceError::InvalidArgument(
                "a commit names its subscription_id, or a group".to_string(),
            ));
        }
        return blocking(move || {
            let consumer: BaseConsumer = clients
                .consumer_config(&[
                    ("group.id", request.group.as_str()),
                    ("enable.auto.commit", "false"),
                ])
                .create()
                .map_err(|err| ServiceError::kafka("commit consumer", err))?;
            commit_offsets(&consumer, &request.group, &request.offsets)
        })
        .await;
    }
    let (reply, answer) = oneshot::channel();
    {
        let active = subscriptions.lock();
        let handle = active
            .get(&request.subscription_id)
            .ok_or_else(|| ServiceError::UnknownSubscription(request.subscription_id.clone()))?;
        if !request.group.is_empty() && request.group != handle.group {
            return Err(ServiceError::GroupMismatch {
                subscription_id: request.subscription_id.clone(),
                group: handle.group.clone(),
                requested: request.group,
            });
        }
        handle
            .commands
            .send(Command::Commit {
                offsets: request.offsets,
                reply,
            })
            .map_err(|_| ServiceError::UnknownSubscription(request.subscription_id.clone()))?;
    }
    answer
        .await
        .map_err(|_| ServiceError::UnknownSubscription(request.subscription_id))?
}

fn commit_offsets(
    consumer: &BaseConsumer,
    group: &str,
    offsets: &[PartitionOffset],
) -> Result<(), ServiceError> {
    let mut list = TopicPartitionList::new();
    for offset in offsets {
        list.add_partition_offset(
            &offset.topic,
            offset.partition,
            Offset::Offset(offset.offset),
        )
        .map_err(|err| ServiceError::kafka(format!("commit for group {group}"), err))?;
    }
    consumer
        .commit(&list, CommitMode::Sync)
        .map_err(|err| ServiceError::kafka(format!("commit for group {group}"), err))
}

/// What ended a wait for room in the channel.
enum Wake<'a> {
    Room(mpsc::Permit<'a, Result<SubscribeResponse, Status>>),
    Command(Command),
    /// The client went away, or the service is shutting down.
    Stop,
    StillFull,
}

/// One subscription's thread.
struct Runner {
    id: String,
    group: String,
    consumer: BaseConsumer,
    records: mpsc::Sender<Result<SubscribeResponse, Status>>,
    commands: mpsc::UnboundedReceiver<Command>,
    shutdown: watch::Receiver<bool>,
    runtime: tokio::runtime::Handle,
    batch_limit: BatchLimit,
    progress: Arc<Progress>,
}

impl Runner {
    fn run(mut self) {
        tracing::info!(subscription = %self.id, group = %self.group, "subscription started");
        let mut batch: Option<Vec<ConsumedRecord>> = None;
        let mut paused = false;
        let mut full_since: Option<Instant> = None;
        loop {
            while let Ok(command) = self.commands.try_recv() {
                self.serve(command);
            }
            if *self.shutdown.borrow() || self.records.is_closed() {
                break;
            }
            match batch.take() {
                None => {
                    if paused {
                        if let Err(err) = self.set_paused(false) {
                            tracing::warn!(subscription = %self.id, "cannot resume: {err}");
                        }
                        paused = false;
                    }
                    match self.poll_batch(Vec::new(), POLL_WAIT) {
                        Ok(records) if records.is_empty() => {}
                        Ok(records) => batch = Some(records),
                        Err(status) => {
                            let _ = self.records.blocking_send(Err(status));
                            break;
                        }
                    }
                }
                Some(records) => match wait_for_room(
                    &self.runtime,
                    &self.records,
                    &mut self.commands,
                    &mut self.shutdown,
                ) {
                    Wake::Room(permit) => {
                        permit.send(Ok(SubscribeResponse {
                            subscription_id: self.id.clone(),
                            records,
                        }));
                        full_since = None;
                    }
                    Wake::Command(command) => {
                        self.serve(command);
                        batch = Some(records);
                    }
                    Wake::Stop => break,
                    Wake::StillFull => {
                        let since = *full_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= PAUSE_AFTER {
                            // Re-paused on every wake: a rebalance may have assigned
                            // partitions since the last time.
                            if let Err(err) = self.set_paused(true) {
                                tracing::warn!(subscription = %self.id, "cannot pause: {err}");
                            }
                            paused = true;
                        }
                        // Polling keeps the member in its group (max.poll.interval.ms);
                        // records fetched before the pause join the held batch.
                        match self.poll_batch(records, Duration::ZERO) {
                            Ok(records) => batch = Some(records),
                            Err(status) => {
                                let _ = self.records.blocking_send(Err(status));
                                break;
                            }
                        }
                    }
                },
            }
        }
        if *self.shutdown.borrow() {
            // Tells the client why its stream ends (when the channel has room for it).
            let _ = self
                .records
                .try_send(Err(Status::from(ServiceError::ShuttingDown)));
        }
        tracing::info!(subscription = %self.id, group = %self.group, "subscription ended");
        // Leaving the group now, rather than when the session times out, lets the group's
        // next subscription start at once.
        self.consumer.unsubscribe();
    }

    /// Adds to `records` what the consumer has: waits up to `wait` for the first record,
    /// then takes only what is already fetched, up to the batch limit (or one poll past
    /// it, when `records` is full already). A transient error (a broker down, a
    /// rebalance) is logged and polling goes on; one that ends the subscription (the
    /// topic deleted, authorization) becomes the stream's status.
    fn poll_batch(
        &self,
        mut records: Vec<ConsumedRecord>,
        wait: Duration,
    ) -> Result<Vec<ConsumedRecord>, Status> {
        let mut timeout = wait;
        let mut bytes: usize = records.iter().map(BatchLimit::size).sum();
        // Polls at least once even when `records` is already full: a thread holding a full
        // batch polls only to stay in its group (the partitions are paused by then).
        loop {
            match self.consumer.poll(timeout) {
                None => break,
                Some(Ok(message)) => {
                    let record = consumed(&message);
                    bytes += BatchLimit::size(&record);
                    records.push(record);
                    self.progress.polled.fetch_add(1, Ordering::Relaxed);
                }
                Some(Err(err)) => {
                    let status = Status::from(ServiceError::kafka(
                        format!("subscription of group {}", self.group),
                        err.clone(),
                    ));
                    if is_fatal(&err) {
                        return Err(status);
                    }
                    tracing::warn!(subscription = %self.id, "{}", status.message());
                    break;
                }
            }
            timeout = Duration::ZERO;
            if self.batch_limit.reached(records.len(), bytes) {
                break;
            }
        }
        Ok(records)
    }

    fn set_paused(&self, paused: bool) -> KafkaResult<()> {
        let assignment = self.consumer.assignment()?;
        if assignment.count() == 0 {
            return Ok(());
        }
        if paused {
            self.consumer.pause(&assignment)?;
        } else {
            self.consumer.resume(&assignment)?;
        }
        self.progress.paused.store(paused, Ordering::Relaxed);
        Ok(())
    }

    fn serve(&self, command: Command) {
        match command {
            Command::Commit { offsets, reply } => {
                let _ = reply.send(commit_offsets(&self.consumer, &self.group, &offsets));
            }
        }
    }
}

/// Waits for room in the channel, a command or the end, at most [`FULL_TICK`].
fn wait_for_room<'a>(
    runtime: &tokio::runtime::Handle,
    records: &'a mpsc::Sender<Result<SubscribeResponse, Status>>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    shutdown: &mut watch::Receiver<bool>,
) -> Wake<'a> {
    runtime.block_on(async {
        tokio::select! {
            permit = records.reserve() => match permit {
                Ok(permit) => Wake::Room(permit),
                Err(_) => Wake::Stop,
            },
            Some(command) = commands.recv() => Wake::Command(command),
            _ = shutdown.changed() => Wake::Stop,
            _ = tokio::time::sleep(FULL_TICK) => Wake::StillFull,
        }
    })
}

/// Errors after which the subscription cannot go on.
fn is_fatal(err: &KafkaError) -> bool {
    use rdkafka::error::RDKafkaErrorCode as K;
    matches!(err, KafkaError::MessageConsumptionFatal(_))
        || matches!(
            err.rdkafka_error_code(),
            Some(
                K::UnknownTopicOrPartition
                    | K::TopicAuthorizationFailed
                    | K::GroupAuthorizationFailed
                    | K::Fatal
                    | K::InvalidGroupId
                    | K::InvalidSessionTimeout
            )
        )
}
