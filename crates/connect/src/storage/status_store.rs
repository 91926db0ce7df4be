//! Kafka's `KafkaStatusBackingStore`: connector, task and active-topic statuses in
//! `status.storage.topic`.
//!
//! Records (key → JSON value, Kafka's internal `JsonConverter` without schemas):
//!
//! ```text
//! status-connector-<name>               {"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":3,"version":"4.1.1"}
//! status-task-<name>-<i>                same shape
//! status-topic-<topic>:connector-<name> {"topic":{"name":<topic>,"connector":<name>,"task":<i>,"discoverTimestamp":<ms>}}
//! ```
//!
//! `version` (KIP-891, Kafka 4.1) is the connector plugin's version, `null` when unknown;
//! `trace` is `null` unless the state is FAILED. A deleted status is a tombstone.
//!
//! A status is visible only once read back from the topic (a background consumer keeps
//! the cache). `put_safe_*` refuses to overwrite a status another worker wrote at a newer
//! generation (Kafka's `putSafe`); a read UNASSIGNED does not replace a RUNNING of the
//! same or a newer generation (a late write from a worker that lost the task).
//!
//! Thread-safety: one mutex over the cache, taken by the consumer thread and by callers.
//! Writes are enqueued without waiting (Kafka's are asynchronous too); `flush` waits for
//! every one to be acknowledged.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Value as Json};

use super::kafka_log::{ConsumedRecord, KafkaBasedLog};
use super::{json_bytes, parse_json, InternalTopic, TopicSpec};
use crate::error::RuntimeError;
use crate::herder::ConnectorTaskId;
use crate::worker::State;
use crate::worker_config::WorkerConfig;

pub const TASK_STATUS_PREFIX: &str = "status-task-";
pub const CONNECTOR_STATUS_PREFIX: &str = "status-connector-";
pub const TOPIC_STATUS_PREFIX: &str = "status-topic-";
pub const TOPIC_STATUS_SEPARATOR: &str = ":connector-";

/// One connector's or task's status as stored (Kafka's `AbstractStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRecord {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
    pub generation: i32,
    /// The plugin's version (`null` when unknown).
    pub version: Option<String>,
}

pub type ConnectorStatusRecord = StatusRecord;
pub type TaskStatusRecord = StatusRecord;

impl StatusRecord {
    /// A status without a trace or plugin version.
    pub fn new(state: State, worker_id: &str, generation: i32) -> StatusRecord {
        StatusRecord {
            state,
            trace: None,
            worker_id: worker_id.to_string(),
            generation,
            version: None,
        }
    }

    /// The record's value: schema field order, absent optionals as `null`.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        json_bytes(&json!({
            "state": self.state.name(),
            "trace": self.trace,
            "worker_id": self.worker_id,
            "generation": self.generation,
            "version": self.version,
        }))
    }

    fn from_json(value: &Json) -> Option<StatusRecord> {
        Some(StatusRecord {
            state: State::from_name(value.get("state")?.as_str()?)?,
            trace: value.get("trace").and_then(Json::as_str).map(String::from),
            worker_id: value.get("worker_id")?.as_str()?.to_string(),
            generation: value.get("generation")?.as_i64()? as i32,
            version: value
                .get("version")
                .and_then(Json::as_str)
                .map(String::from),
        })
    }
}

/// A topic a connector's tasks used (Kafka's `TopicStatus`, KIP-558).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStatus {
    pub topic: String,
    pub connector: String,
    pub task: i32,
    pub discover_timestamp_ms: i64,
}

impl TopicStatus {
    pub fn to_json_bytes(&self) -> Vec<u8> {
        json_bytes(&json!({"topic": {
            "name": self.topic,
            "connector": self.connector,
            "task": self.task,
            "discoverTimestamp": self.discover_timestamp_ms,
        }}))
    }

    fn from_json(value: &Json) -> Option<TopicStatus> {
        let inner = value.get("topic")?;
        Some(TopicStatus {
            topic: inner.get("name")?.as_str()?.to_string(),
            connector: inner.get("connector")?.as_str()?.to_string(),
            task: inner.get("task")?.as_i64()? as i32,
            discover_timestamp_ms: inner.get("discoverTimestamp")?.as_i64()?,
        })
    }
}

pub fn connector_status_key(connector: &str) -> String {
    format!("{CONNECTOR_STATUS_PREFIX}{connector}")
}

pub fn task_status_key(id: &ConnectorTaskId) -> String {
    format!("{TASK_STATUS_PREFIX}{}-{}", id.connector, id.task)
}

pub fn topic_status_key(connector: &str, topic: &str) -> String {
    format!("{TOPIC_STATUS_PREFIX}{topic}{TOPIC_STATUS_SEPARATOR}{connector}")
}

/// Kafka's `putSafe` rule: overwriting is (probably) safe when nothing is stored, the
/// stored status is this worker's, or it is from this generation or an older one.
fn can_write_safely(stored: Option<&StatusRecord>, status: &StatusRecord) -> bool {
    stored.is_none_or(|stored| {
        stored.worker_id == status.worker_id || stored.generation <= status.generation
    })
}

#[derive(Debug, Default)]
struct StatusCache {
    connectors: HashMap<String, StatusRecord>,
    tasks: HashMap<String, BTreeMap<usize, StatusRecord>>,
    topics: HashMap<String, BTreeMap<String, TopicStatus>>,
}

impl StatusCache {
    fn apply(&mut self, key: &str, value: Option<&[u8]>) {
        let parsed = match parse_json(value) {
            Ok(parsed) => parsed,
            Err(e) => {
                tracing::error!("Failed to deserialize status {key}: {e}");
                return;
            }
        };
        if let Some(connector) = key.strip_prefix(CONNECTOR_STATUS_PREFIX) {
            if connector.is_empty() {
                tracing::warn!("Discarding record with invalid connector status key {key}");
                return;
            }
            match parsed {
                // A connector's tombstone removes its tasks' statuses too (Kafka's
                // `remove(connector)`).
                None => {
                    self.connectors.remove(connector);
                    self.tasks.remove(connector);
                }
                Some(json) => match StatusRecord::from_json(&json) {
                    Some(status) => {
                        self.connectors.insert(connector.to_string(), status);
                    }
                    None => tracing::error!("Failed to deserialize connector status {json}"),
                },
            }
        } else if let Some(rest) = key.strip_prefix(TASK_STATUS_PREFIX) {
            let Some((connector, task)) = rest
                .rsplit_once('-')
                .and_then(|(c, t)| Some((c, t.parse::<usize>().ok()?)))
                .filter(|(c, _)| !c.is_empty())
            else {
                tracing::warn!("Discarding record with invalid task status key {key}");
                return;
            };
            let Some(json) = parsed else {
                if let Some(tasks) = self.tasks.get_mut(connector) {
                    tasks.remove(&task);
                }
                return;
            };
            let Some(status) = StatusRecord::from_json(&json) else {
                tracing::warn!("Failed to parse task status with key {key}");
                return;
            };
            let tasks = self.tasks.entry(connector.to_string()).or_default();
            if let Some(current) = tasks.get(&task) {
                if status.state == State::Unassigned
                    && current.state == State::Running
                    && current.generation >= status.generation
                {
                    tracing::trace!("Ignoring stale status {status:?} in favour of {current:?}");
                    return;
                }
            }
            tasks.insert(task, status);
        } else if let Some(rest) = key.strip_prefix(TOPIC_STATUS_PREFIX) {
            let Some((topic, connector)) = rest
                .split_once(':')
                .and_then(|(t, c)| Some((t, c.get(TOPIC_STATUS_SEPARATOR.len() - 1..)?)))
                .filter(|(t, c)| !t.is_empty() && !c.is_empty())
            else {
                tracing::warn!("Discarding record with invalid topic status key {key}");
                return;
            };
            match parsed {
                None => {
                    if let Some(topics) = self.topics.get_mut(connector) {
                        topics.remove(topic);
                    }
                }
                Some(json) => match TopicStatus::from_json(&json) {
                    Some(status) => {
                        self.topics
                            .entry(connector.to_string())
                            .or_default()
                            .insert(topic.to_string(), status);
                    }
                    None => tracing::warn!("Failed to parse topic status with key {key}"),
                },
            }
        } else {
            tracing::warn!("Discarding record with invalid key {key}");
        }
    }
}

/// Kafka's `KafkaStatusBackingStore` over `status.storage.topic`.
#[derive(Debug)]
pub struct KafkaStatusStore {
    log: KafkaBasedLog,
    cache: Arc<Mutex<StatusCache>>,
}

impl KafkaStatusStore {
    /// Creates or checks the topic and reads every status in it.
    pub async fn start(config: &WorkerConfig) -> Result<KafkaStatusStore, RuntimeError> {
        let spec = TopicSpec::from_worker_config(config, InternalTopic::Status)?;
        let cache = Arc::new(Mutex::new(StatusCache::default()));
        let callback = {
            let cache = cache.clone();
            Box::new(move |record: ConsumedRecord| {
                let Some(key) = record.key.as_deref().map(String::from_utf8_lossy) else {
                    return;
                };
                cache.lock().apply(&key, record.value.as_deref());
            })
        };
        let log = KafkaBasedLog::start(&spec, callback).await?;
        Ok(KafkaStatusStore { log, cache })
    }

    pub fn topic(&self) -> &str {
        self.log.topic()
    }

    /// Enqueues a write in call order; a failure is logged when it is reported
    /// (librdkafka retries retriable ones itself).
    fn send(&self, key: String, value: Option<Vec<u8>>) {
        let acknowledgement = match self.log.send_nowait(key.as_bytes(), value.as_deref()) {
            Ok(acknowledgement) => acknowledgement,
            Err(e) => return tracing::error!("Failed to write status update: {e}"),
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = acknowledgement.await {
                    tracing::error!("Failed to write status update {key}: {e}");
                }
            });
        }
    }

    pub fn put_connector(&self, connector: &str, status: &ConnectorStatusRecord) {
        self.send(
            connector_status_key(connector),
            Some(status.to_json_bytes()),
        );
    }

    /// Writes unless another worker stored a status at a newer generation; returns
    /// whether it wrote.
    pub fn put_safe_connector(&self, connector: &str, status: &ConnectorStatusRecord) -> bool {
        if !can_write_safely(self.cache.lock().connectors.get(connector), status) {
            return false;
        }
        self.put_connector(connector, status);
        true
    }

    pub fn put_task(&self, id: &ConnectorTaskId, status: &TaskStatusRecord) {
        self.send(task_status_key(id), Some(status.to_json_bytes()));
    }

    /// `put_safe_connector`'s rule for a task.
    pub fn put_safe_task(&self, id: &ConnectorTaskId, status: &TaskStatusRecord) -> bool {
        let safe = {
            let cache = self.cache.lock();
            let stored = cache
                .tasks
                .get(&id.connector)
                .and_then(|tasks| tasks.get(&id.task));
            can_write_safely(stored, status)
        };
        if safe {
            self.put_task(id, status);
        }
        safe
    }

    pub fn connector(&self, connector: &str) -> Option<ConnectorStatusRecord> {
        self.cache.lock().connectors.get(connector).cloned()
    }

    pub fn task(&self, id: &ConnectorTaskId) -> Option<TaskStatusRecord> {
        self.cache
            .lock()
            .tasks
            .get(&id.connector)
            .and_then(|tasks| tasks.get(&id.task))
            .cloned()
    }

    /// Every task status of a connector, by task number.
    pub fn tasks(&self, connector: &str) -> Vec<(ConnectorTaskId, TaskStatusRecord)> {
        self.cache
            .lock()
            .tasks
            .get(connector)
            .map(|tasks| {
                tasks
                    .iter()
                    .map(|(task, status)| {
                        let id = ConnectorTaskId {
                            connector: connector.to_string(),
                            task: *task,
                        };
                        (id, status.clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Connectors with a stored status.
    pub fn connectors(&self) -> Vec<String> {
        let mut names: Vec<String> = self.cache.lock().connectors.keys().cloned().collect();
        names.sort();
        names
    }

    /// Tombstones the connector's status and every task status read for it (Kafka
    /// writes a DESTROYED status as a tombstone).
    pub fn delete_connector(&self, connector: &str) {
        let tasks: Vec<usize> = self
            .cache
            .lock()
            .tasks
            .get(connector)
            .map(|tasks| tasks.keys().copied().collect())
            .unwrap_or_default();
        for task in tasks {
            let id = ConnectorTaskId {
                connector: connector.to_string(),
                task,
            };
            self.send(task_status_key(&id), None);
        }
        self.send(connector_status_key(connector), None);
    }

    /// Tombstones one task's status.
    pub fn delete_task(&self, id: &ConnectorTaskId) {
        self.send(task_status_key(id), None);
    }

    pub fn put_topic(&self, status: &TopicStatus) {
        self.send(
            topic_status_key(&status.connector, &status.topic),
            Some(status.to_json_bytes()),
        );
    }

    pub fn topic_status(&self, connector: &str, topic: &str) -> Option<TopicStatus> {
        self.cache
            .lock()
            .topics
            .get(connector)
            .and_then(|topics| topics.get(topic))
            .cloned()
    }

    /// The topics a connector used, by name.
    pub fn topics(&self, connector: &str) -> Vec<TopicStatus> {
        self.cache
            .lock()
            .topics
            .get(connector)
            .map(|topics| topics.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn delete_topic(&self, connector: &str, topic: &str) {
        self.send(topic_status_key(connector, topic), None);
    }

    /// Tombstones every topic recorded for the connector (`PUT …/topics/reset`).
    pub fn delete_topics(&self, connector: &str) {
        for status in self.topics(connector) {
            self.delete_topic(connector, &status.topic);
        }
    }

    /// Waits until every enqueued write is acknowledged.
    pub async fn flush(&self) -> Result<(), RuntimeError> {
        self.log.flush().await
    }

    /// Flushes, then reads to the end: afterwards the cache holds every write made
    /// before the call (this worker's and others').
    pub async fn refresh(&self) -> Result<(), RuntimeError> {
        self.flush().await?;
        self.log.read_to_end().await
    }

    pub fn stop(&self) {
        self.log.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: State, worker: &str, generation: i32) -> StatusRecord {
        StatusRecord::new(state, worker, generation)
    }

    #[test]
    fn values_are_kafkas_json() {
        let mut failed = status(State::Failed, "w1:8083", 7);
        failed.trace = Some("java.lang.Exception: x\n".into());
        failed.version = Some("4.1.1".into());
        assert_eq!(
            failed.to_json_bytes(),
            br#"{"state":"FAILED","trace":"java.lang.Exception: x\n","worker_id":"w1:8083","generation":7,"version":"4.1.1"}"#
        );
        assert_eq!(
            status(State::Running, "w", 0).to_json_bytes(),
            br#"{"state":"RUNNING","trace":null,"worker_id":"w","generation":0,"version":null}"#
        );
        let topic = TopicStatus {
            topic: "t".into(),
            connector: "c".into(),
            task: 2,
            discover_timestamp_ms: 99,
        };
        assert_eq!(
            topic.to_json_bytes(),
            br#"{"topic":{"name":"t","connector":"c","task":2,"discoverTimestamp":99}}"#
        );
        assert_eq!(topic_status_key("c", "t"), "status-topic-t:connector-c");
    }

    #[test]
    fn put_safe_refuses_newer_generations_of_other_workers() {
        let stored = status(State::Running, "w1", 5);
        assert!(can_write_safely(None, &status(State::Failed, "w2", 1)));
        assert!(can_write_safely(
            Some(&stored),
            &status(State::Failed, "w1", 1)
        ));
        assert!(can_write_safely(
            Some(&stored),
            &status(State::Failed, "w2", 5)
        ));
        assert!(!can_write_safely(
            Some(&stored),
            &status(State::Failed, "w2", 4)
        ));
    }

    #[test]
    fn cache_applies_kafkas_read_rules() {
        let mut cache = StatusCache::default();
        let running = status(State::Running, "w1", 3);
        cache.apply("status-task-my-conn-1", Some(&running.to_json_bytes()));
        // A late UNASSIGNED of an older generation does not hide the RUNNING task.
        cache.apply(
            "status-task-my-conn-1",
            Some(&status(State::Unassigned, "w2", 2).to_json_bytes()),
        );
        assert_eq!(cache.tasks["my-conn"][&1], running);
        cache.apply(
            "status-task-my-conn-1",
            Some(&status(State::Unassigned, "w2", 4).to_json_bytes()),
        );
        assert_eq!(cache.tasks["my-conn"][&1].state, State::Unassigned);
        cache.apply("status-connector-my-conn", Some(&running.to_json_bytes()));
        cache.apply(
            "status-topic-a:b:connector-my-conn",
            Some(
                br#"{"topic":{"name":"a:b","connector":"my-conn","task":0,"discoverTimestamp":1}}"#,
            ),
        );
        // Kafka splits the key at the first ':' — a topic name cannot contain one.
        assert!(!cache.topics.contains_key("my-conn"));
        cache.apply(
            "status-topic-t1:connector-my-conn",
            Some(
                br#"{"topic":{"name":"t1","connector":"my-conn","task":0,"discoverTimestamp":1}}"#,
            ),
        );
        assert_eq!(cache.topics["my-conn"]["t1"].discover_timestamp_ms, 1);
        cache.apply("status-connector-my-conn", None);
        assert!(cache.connectors.is_empty());
        assert!(cache.tasks.is_empty());
    }
}
