//! The worker's sink loop as a sink task sees it, on a real rafka broker: `open`/`close`
//! on rebalances (revoked partitions' offsets committed before `close`), pausing and
//! resuming single partitions through `SinkTaskContext`, and the errant record reporter
//! wired to `errors.tolerance` and the dead letter queue.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rafka_connect::worker::{State, Status, TargetState, TaskSetup, Worker};
use rafka_connect_data::connector::{
    BoxFuture, ConnectorError, Props, SinkTask, SinkTaskContext, TopicPartition,
};
use rafka_connect_data::{ConnectRecord, Value};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::sync::watch;

use common::{props, Broker, TIMEOUT};

/// What a recording task saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Open(BTreeSet<TopicPartition>),
    Put(Vec<(i32, String)>),
    PreCommit(BTreeSet<TopicPartition>),
    Close(BTreeSet<TopicPartition>),
}

#[derive(Default)]
struct Seen {
    events: Vec<Event>,
    context: Option<Arc<dyn SinkTaskContext>>,
}

/// A sink task that records every call, reports records whose value is "bad" to the
/// errant record reporter, and pauses (resumes) partition 0 on "pause-p0" ("resume-p0").
#[derive(Debug)]
struct Recording {
    seen: Arc<Mutex<Seen>>,
}

impl std::fmt::Debug for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.events).finish()
    }
}

fn set(partitions: &[TopicPartition]) -> BTreeSet<TopicPartition> {
    partitions.iter().cloned().collect()
}

impl SinkTask for Recording {
    fn version(&self) -> String {
        "test".into()
    }

    fn start(
        &mut self,
        context: Arc<dyn SinkTaskContext>,
        _props: &Props,
    ) -> Result<(), ConnectorError> {
        self.seen.lock().context = Some(context);
        Ok(())
    }

    fn open(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectorError> {
        self.seen.lock().events.push(Event::Open(set(partitions)));
        Ok(())
    }

    fn put(&mut self, records: Vec<ConnectRecord>) -> BoxFuture<'_, Result<(), ConnectorError>> {
        let mut seen = self.seen.lock();
        let context = seen.context.clone().expect("started");
        for record in &records {
            let partition0 = [tp(&record.topic, 0)];
            if record.value == Value::string("bad") {
                let reporter = context.errant_record_reporter().expect("a reporter");
                reporter.report(record, &ConnectorError::fatal("cannot write bad"));
            } else if record.value == Value::string("pause-p0") {
                context.pause(&partition0);
            } else if record.value == Value::string("resume-p0") {
                context.resume(&partition0);
            }
        }
        let put = records
            .iter()
            .map(|r| {
                let text = match &r.value {
                    Value::String(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                (r.kafka_partition.unwrap_or(-1), text)
            })
            .collect();
        seen.events.push(Event::Put(put));
        Box::pin(async { Ok(()) })
    }

    fn pre_commit(
        &mut self,
        offsets: &HashMap<TopicPartition, i64>,
    ) -> Result<HashMap<TopicPartition, i64>, ConnectorError> {
        let partitions = offsets.keys().cloned().collect();
        self.seen.lock().events.push(Event::PreCommit(partitions));
        Ok(offsets.clone())
    }

    fn close(&mut self, partitions: &[TopicPartition]) -> Result<(), ConnectorError> {
        self.seen.lock().events.push(Event::Close(set(partitions)));
        Ok(())
    }

    fn stop(&mut self) {}
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition {
        topic: topic.into(),
        partition,
    }
}

async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let results = admin
        .create_topics(
            [&NewTopic::new(
                topic,
                partitions,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
}

async fn produce(bootstrap: &str, topic: &str, records: &[(i32, &str)]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for (partition, value) in records {
        producer
            .send(
                FutureRecord::<(), str>::to(topic)
                    .partition(*partition)
                    .payload(value),
                TIMEOUT,
            )
            .await
            .unwrap();
    }
}

struct RunningSink {
    seen: Arc<Mutex<Seen>>,
    setup: TaskSetup,
    control: watch::Sender<TargetState>,
    join: tokio::task::JoinHandle<()>,
}

fn start_sink(
    worker: &Arc<Worker>,
    connector: &str,
    task: usize,
    extra: &[(&str, &str)],
) -> RunningSink {
    let mut pairs = vec![
        ("connector.class", "FileStreamSink"),
        (
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter",
        ),
    ];
    pairs.extend_from_slice(extra);
    let config = props(&pairs);
    let setup = TaskSetup {
        connector: connector.into(),
        task,
        connector_config: config.clone(),
        task_config: config,
        status: Arc::new(Mutex::new(Status::new(State::Unassigned))),
        topics: Arc::default(),
        exactly_once: None,
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (control, receiver) = watch::channel(TargetState::Started);
    let join = tokio::spawn(worker.clone().run_sink_task(
        setup.clone(),
        Box::new(Recording { seen: seen.clone() }),
        receiver,
    ));
    RunningSink {
        seen,
        setup,
        control,
        join,
    }
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn put_values(seen: &Seen) -> Vec<(i32, String)> {
    seen.events
        .iter()
        .filter_map(|e| match e {
            Event::Put(records) => Some(records.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn committed(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut list = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition(topic, p);
    }
    consumer
        .committed_offsets(list, TIMEOUT)
        .unwrap()
        .elements()
        .iter()
        .map(|e| e.offset().to_raw().unwrap_or(-1))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebalance_commits_then_closes_revoked_partitions_and_opens_assigned_ones() {
    let broker = Broker::start();
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "in", 2).await;
    produce(&bootstrap, "in", &[(0, "a"), (1, "b"), (0, "c")]).await;
    let worker = Arc::new(Worker::new(common::worker_config(&broker, &[])).unwrap());
    let first = start_sink(&worker, "rebalanced", 0, &[("topics", "in")]);
    wait_for("the first task to put all three records", || {
        put_values(&first.seen.lock()).len() == 3
    })
    .await;
    let both = set(&[tp("in", 0), tp("in", 1)]);
    assert_eq!(first.seen.lock().events[0], Event::Open(both.clone()));

    // A second task joins the group: the first gives both partitions up (eager
    // rebalance), committing their offsets before closing them, and opens its share.
    let second = start_sink(&worker, "rebalanced", 1, &[("topics", "in")]);
    wait_for("the second task to open a partition", || {
        second
            .seen
            .lock()
            .events
            .iter()
            .any(|e| matches!(e, Event::Open(p) if p.len() == 1))
    })
    .await;
    {
        let events = &first.seen.lock().events;
        let close = events
            .iter()
            .position(|e| *e == Event::Close(both.clone()))
            .unwrap_or_else(|| panic!("no close of both partitions in {events:?}"));
        assert_eq!(
            events[close - 1],
            Event::PreCommit(both.clone()),
            "{events:?}"
        );
        assert!(
            matches!(&events[close + 1], Event::Open(p) if p.len() == 1),
            "{events:?}"
        );
    }
    // The revoked partitions' offsets were committed before they moved.
    assert_eq!(committed(&bootstrap, "connect-rebalanced", "in", 2), [2, 1]);

    // Stopping closes what is left after the final commit.
    for sink in [&first, &second] {
        sink.control.send(TargetState::Stopped).unwrap();
    }
    let (first_join, second_join) = (first.join, second.join);
    first_join.await.unwrap();
    second_join.await.unwrap();
    let events = &first.seen.lock().events;
    assert!(
        matches!(events.last(), Some(Event::Close(p)) if p.len() == 1),
        "{events:?}"
    );
    assert_eq!(first.setup.status.lock().state, State::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_pauses_and_resumes_single_partitions() {
    let broker = Broker::start();
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "paused", 2).await;
    produce(&bootstrap, "paused", &[(0, "pause-p0"), (1, "p1-first")]).await;
    let worker = Arc::new(Worker::new(common::worker_config(&broker, &[])).unwrap());
    let sink = start_sink(&worker, "pausing", 0, &[("topics", "paused")]);
    wait_for("both first records", || {
        put_values(&sink.seen.lock()).len() == 2
    })
    .await;
    // Partition 0's record goes first, so only the task's pause keeps it from the task.
    produce(&bootstrap, "paused", &[(0, "p0-held"), (1, "p1-second")]).await;
    wait_for("partition 1's second record", || {
        put_values(&sink.seen.lock()).contains(&(1, "p1-second".into()))
    })
    .await;
    assert!(!put_values(&sink.seen.lock()).contains(&(0, "p0-held".into())));
    produce(&bootstrap, "paused", &[(1, "resume-p0")]).await;
    wait_for("partition 0's held record after the resume", || {
        put_values(&sink.seen.lock()).contains(&(0, "p0-held".into()))
    })
    .await;
    // The connector's pause and resume leave no partition paused behind.
    sink.control.send(TargetState::Paused).unwrap();
    wait_for("the task to pause", || {
        sink.setup.status.lock().state == State::Paused
    })
    .await;
    sink.control.send(TargetState::Started).unwrap();
    produce(&bootstrap, "paused", &[(0, "p0-after"), (1, "p1-after")]).await;
    wait_for("both partitions after the connector resumed", || {
        let put = put_values(&sink.seen.lock());
        put.contains(&(0, "p0-after".into())) && put.contains(&(1, "p1-after".into()))
    })
    .await;
    sink.control.send(TargetState::Stopped).unwrap();
    sink.join.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_records_go_to_the_dead_letter_queue_or_fail_the_task() {
    let broker = Broker::start();
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "errant", 1).await;
    produce(
        &bootstrap,
        "errant",
        &[(0, "good"), (0, "bad"), (0, "after")],
    )
    .await;
    let worker = Arc::new(Worker::new(common::worker_config(&broker, &[])).unwrap());
    let tolerant = start_sink(
        &worker,
        "tolerant",
        0,
        &[
            ("topics", "errant"),
            ("errors.tolerance", "all"),
            ("errors.deadletterqueue.topic.name", "dlq"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ],
    );
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "dlq-reader")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&["dlq"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let dead = loop {
        assert!(
            Instant::now() < deadline,
            "nothing reached the dead letter queue"
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => break m.detach(),
            _ => continue,
        }
    };
    assert_eq!(dead.payload(), Some(&b"bad"[..]));
    let headers = dead.headers().unwrap();
    let header = |key: &str| {
        headers
            .iter()
            .find(|h| h.key == key)
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(
        header("__connect.errors.stage").as_deref(),
        Some("TASK_PUT")
    );
    assert_eq!(header("__connect.errors.offset").as_deref(), Some("1"));
    assert_eq!(
        header("__connect.errors.exception.message").as_deref(),
        Some("cannot write bad")
    );
    assert_eq!(tolerant.setup.status.lock().state, State::Running);
    tolerant.control.send(TargetState::Stopped).unwrap();
    tolerant.join.await.unwrap();

    // Without tolerance, the report fails the task.
    let strict = start_sink(&worker, "strict", 0, &[("topics", "errant")]);
    let status = strict.setup.status.clone();
    wait_for("the strict task to fail", || {
        status.lock().state == State::Failed
    })
    .await;
    let trace = status.lock().trace.clone().unwrap_or_default();
    assert!(
        trace.contains("Tolerance exceeded in error handler"),
        "{trace}"
    );
    strict.join.await.unwrap();
    assert!(put_values(&strict.seen.lock()).contains(&(0, "bad".into())));
}
