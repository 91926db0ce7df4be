//! Kafka's `KafkaConfigBackingStore`: the cluster's connector configs, task configs and
//! target states in `config.storage.topic` (one partition: one order of events).
//!
//! Records (key → JSON value, as Kafka's internal `JsonConverter` writes it):
//!
//! ```text
//! connector-<name>          {"properties":{…}}                 null: connector deleted
//! task-<name>-<i>           {"properties":{…}}                 applied only on the commit
//! commit-<name>             {"tasks":<n>}
//! target-state-<name>       {"state":"PAUSED","state.v2":"STOPPED"}   ("state" never says
//!                                                               STOPPED: older workers)
//! restart-connector-<name>  {"include-tasks":<b>,"only-failed":<b>}
//! session-key               {"key":"<base64>","algorithm":"HmacSHA256","creation-timestamp":<ms>}
//! tasks-fencing-<name>      {"task-count":<n>}                 (exactly-once; kept only)
//! ```
//!
//! Task configs are deferred until their connector's commit record, and the commit is
//! applied only when every task `0..n` has a deferred config; otherwise (compaction
//! removed some) the connector is `inconsistent` until its tasks are written again —
//! Kafka's rule, so a worker never starts half a generation of tasks.
//!
//! `properties` maps are written with their keys sorted (Kafka writes them in its map's
//! iteration order, which no reader depends on).
//!
//! Thread-safety: the consumer thread applies records under the state mutex; `snapshot`
//! copies the state out. Updates are announced on the channel `start` returns, only for
//! records read after the store started (Kafka's `started` flag).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use parking_lot::Mutex;
use rafka_connect_data::connector::Props;
use serde_json::{json, Value as Json};
use tokio::sync::mpsc;

use super::kafka_log::{ConsumedRecord, KafkaBasedLog};
use super::{json_bytes, parse_json, InternalTopic, TopicSpec};
use crate::error::RuntimeError;
use crate::herder::ConnectorTaskId;
use crate::worker::TargetState;
use crate::worker_config::WorkerConfig;

/// Kafka's `READ_WRITE_TOTAL_TIMEOUT_MS`: a write plus reading it back.
const READ_WRITE_TOTAL_TIMEOUT: Duration = Duration::from_secs(30);

pub const CONNECTOR_PREFIX: &str = "connector-";
pub const TASK_PREFIX: &str = "task-";
pub const COMMIT_TASKS_PREFIX: &str = "commit-";
pub const TARGET_STATE_PREFIX: &str = "target-state-";
pub const RESTART_PREFIX: &str = "restart-connector-";
pub const TASK_COUNT_RECORD_PREFIX: &str = "tasks-fencing-";
pub const LOGGER_CLUSTER_PREFIX: &str = "logger-cluster-";
pub const SESSION_KEY_KEY: &str = "session-key";

/// The key inter-worker REST requests are signed with (Kafka's `SessionKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    pub key: Vec<u8>,
    /// The `javax.crypto` algorithm name, e.g. `HmacSHA256`.
    pub algorithm: String,
    pub creation_timestamp_ms: i64,
}

/// What a record read after start changed (Kafka's `ConfigBackingStore.UpdateListener`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigUpdate {
    ConnectorConfigUpdated(String),
    ConnectorConfigRemoved(String),
    /// A commit record applied these tasks' configs (empty when the commit found the
    /// connector inconsistent).
    TaskConfigsCommitted(Vec<ConnectorTaskId>),
    TargetStateChanged(String),
    RestartRequested {
        connector: String,
        include_tasks: bool,
        only_failed: bool,
    },
    SessionKeyUpdated(SessionKey),
    /// `logger-cluster-<namespace>` `{"level":…}` (Kafka's `onLoggingLevelUpdate`).
    LoggingLevelUpdated {
        namespace: String,
        level: String,
    },
}

/// Kafka's `ClusterConfigState`: a consistent copy of the config topic's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterConfigState {
    /// The config topic offset read up to (the next offset to read; -1 before any).
    pub offset: i64,
    pub session_key: Option<SessionKey>,
    pub task_counts: BTreeMap<String, usize>,
    pub connector_configs: BTreeMap<String, Props>,
    pub target_states: BTreeMap<String, TargetState>,
    pub task_configs: BTreeMap<ConnectorTaskId, Props>,
    /// `tasks-fencing-*` records (exactly-once source support).
    pub task_count_records: BTreeMap<String, i32>,
    /// How many task-config commits were applied per connector since this worker read
    /// the topic, from 0.
    pub task_config_generations: BTreeMap<String, i32>,
    /// Connectors whose last commit found task configs missing.
    pub inconsistent: BTreeSet<String>,
    /// Connectors whose latest task configs came after their latest `tasks-fencing-*`
    /// record: a round of zombie fencing must precede their exactly-once tasks.
    pub pending_fencing: BTreeSet<String>,
}

impl ClusterConfigState {
    pub fn connectors(&self) -> Vec<String> {
        self.connector_configs.keys().cloned().collect()
    }

    pub fn contains(&self, connector: &str) -> bool {
        self.connector_configs.contains_key(connector)
    }

    pub fn connector_config(&self, connector: &str) -> Option<&Props> {
        self.connector_configs.get(connector)
    }

    pub fn target_state(&self, connector: &str) -> Option<TargetState> {
        self.target_states.get(connector).copied()
    }

    pub fn task_config(&self, task: &ConnectorTaskId) -> Option<&Props> {
        self.task_configs.get(task)
    }

    pub fn task_count(&self, connector: &str) -> usize {
        self.task_counts.get(connector).copied().unwrap_or(0)
    }

    /// The committed tasks of a connector; none while it is inconsistent.
    pub fn tasks(&self, connector: &str) -> Vec<ConnectorTaskId> {
        if self.inconsistent.contains(connector) {
            return Vec::new();
        }
        (0..self.task_count(connector))
            .map(|task| ConnectorTaskId {
                connector: connector.to_string(),
                task,
            })
            .collect()
    }
}

/// The store's state: the snapshot plus task configs waiting for their commit.
#[derive(Debug, Default)]
struct ConfigState {
    snapshot: ClusterConfigState,
    deferred: HashMap<String, BTreeMap<usize, Props>>,
}

/// `task-<connector>-<n>` → the id (a connector name may contain dashes).
fn parse_task_key(rest: &str) -> Option<ConnectorTaskId> {
    let (connector, task) = rest.rsplit_once('-')?;
    Some(ConnectorTaskId {
        connector: connector.to_string(),
        task: task.parse().ok()?,
    })
}

fn properties(value: &Json) -> Option<Props> {
    let map = value.get("properties")?.as_object()?;
    Some(
        map.iter()
            .filter_map(|(k, v)| match v {
                Json::String(s) => Some((k.clone(), s.clone())),
                Json::Null => None,
                other => Some((k.clone(), other.to_string())),
            })
            .collect(),
    )
}

impl ConfigState {
    fn remove_connector(&mut self, connector: &str) {
        let s = &mut self.snapshot;
        s.connector_configs.remove(connector);
        s.task_counts.remove(connector);
        s.task_configs.retain(|id, _| id.connector != connector);
        self.deferred.remove(connector);
    }

    /// Applies one record; returns what to announce once the store has started.
    fn apply(&mut self, key: &str, value: Option<Json>) -> Option<ConfigUpdate> {
        if let Some(connector) = key.strip_prefix(TARGET_STATE_PREFIX) {
            self.apply_target_state(connector, value)
        } else if let Some(connector) = key.strip_prefix(CONNECTOR_PREFIX) {
            self.apply_connector_config(connector, value)
        } else if let Some(rest) = key.strip_prefix(TASK_PREFIX) {
            let Some(id) = parse_task_key(rest) else {
                tracing::error!("Ignoring task configuration because {key} couldn't be parsed as a task config key");
                return None;
            };
            let Some(config) = value.as_ref().and_then(properties) else {
                tracing::error!("Ignoring task configuration for task {id:?} because it is null or in the wrong format");
                return None;
            };
            self.deferred
                .entry(id.connector)
                .or_default()
                .insert(id.task, config);
            None
        } else if let Some(connector) = key.strip_prefix(COMMIT_TASKS_PREFIX) {
            self.apply_commit(connector, value)
        } else if let Some(connector) = key.strip_prefix(RESTART_PREFIX) {
            let value = value?;
            let flag = |name: &str| value.get(name).and_then(Json::as_bool).unwrap_or(false);
            Some(ConfigUpdate::RestartRequested {
                connector: connector.to_string(),
                include_tasks: flag("include-tasks"),
                only_failed: flag("only-failed"),
            })
        } else if let Some(connector) = key.strip_prefix(TASK_COUNT_RECORD_PREFIX) {
            let count = value?.get("task-count")?.as_i64()?;
            self.snapshot
                .task_count_records
                .insert(connector.to_string(), count as i32);
            self.snapshot.pending_fencing.remove(connector);
            None
        } else if key == SESSION_KEY_KEY {
            let value = value?;
            let key = base64::engine::general_purpose::STANDARD
                .decode(value.get("key")?.as_str()?)
                .ok()?;
            let session_key = SessionKey {
                key,
                algorithm: value.get("algorithm")?.as_str()?.to_string(),
                creation_timestamp_ms: value.get("creation-timestamp")?.as_i64()?,
            };
            self.snapshot.session_key = Some(session_key.clone());
            Some(ConfigUpdate::SessionKeyUpdated(session_key))
        } else if let Some(namespace) = key.strip_prefix(LOGGER_CLUSTER_PREFIX) {
            let level = value?.get("level")?.as_str()?.to_string();
            Some(ConfigUpdate::LoggingLevelUpdated {
                namespace: namespace.to_string(),
                level,
            })
        } else {
            tracing::error!("Discarding config update record with invalid key: {key}");
            None
        }
    }

    fn apply_target_state(&mut self, connector: &str, value: Option<Json>) -> Option<ConfigUpdate> {
        let s = &mut self.snapshot;
        let Some(value) = value else {
            // Written with the connector's tombstone; a connector still configured keeps
            // a valid state.
            s.target_states.remove(connector);
            if s.connector_configs.contains_key(connector) {
                s.target_states
                    .insert(connector.to_string(), TargetState::Started);
            }
            return None;
        };
        // `state.v2` (which can say STOPPED) when present, else the older `state`.
        let name = value
            .get("state.v2")
            .and_then(Json::as_str)
            .or_else(|| value.get("state").and_then(Json::as_str));
        let Some(state) = name.and_then(TargetState::from_name) else {
            tracing::error!("Invalid target state for connector '{connector}': {value}");
            return None;
        };
        let previous = s.target_states.insert(connector.to_string(), state);
        (previous != Some(state) && s.connector_configs.contains_key(connector))
            .then(|| ConfigUpdate::TargetStateChanged(connector.to_string()))
    }

    fn apply_connector_config(
        &mut self,
        connector: &str,
        value: Option<Json>,
    ) -> Option<ConfigUpdate> {
        let Some(value) = value else {
            self.remove_connector(connector);
            tracing::info!("Successfully processed removal of connector '{connector}'");
            return Some(ConfigUpdate::ConnectorConfigRemoved(connector.to_string()));
        };
        let Some(config) = properties(&value) else {
            tracing::error!("Ignoring configuration for connector '{connector}' because it is in the wrong format");
            return None;
        };
        let s = &mut self.snapshot;
        s.connector_configs.insert(connector.to_string(), config);
        s.target_states
            .entry(connector.to_string())
            .or_insert(TargetState::Started);
        Some(ConfigUpdate::ConnectorConfigUpdated(connector.to_string()))
    }

    fn apply_commit(&mut self, connector: &str, value: Option<Json>) -> Option<ConfigUpdate> {
        if !self.snapshot.connector_configs.contains_key(connector) {
            // Deleted before these task configs, and compaction removed both the config
            // and its tombstone: nothing to apply.
            self.remove_connector(connector);
            return None;
        }
        let Some(count) = value
            .as_ref()
            .and_then(|v| v.get("tasks"))
            .and_then(Json::as_u64)
        else {
            tracing::error!("Ignoring connector tasks configuration commit for connector '{connector}' because it is in the wrong format");
            return None;
        };
        let count = count as usize;
        let deferred = self.deferred.remove(connector).unwrap_or_default();
        let complete = (0..count).all(|i| deferred.contains_key(&i));
        let s = &mut self.snapshot;
        let mut updated = Vec::new();
        if complete {
            if !deferred.is_empty() {
                for (task, config) in deferred {
                    let id = ConnectorTaskId {
                        connector: connector.to_string(),
                        task,
                    };
                    updated.push(id.clone());
                    s.task_configs.insert(id, config);
                }
                *s.task_config_generations
                    .entry(connector.to_string())
                    .or_insert(-1) += 1;
            }
            s.inconsistent.remove(connector);
        } else {
            tracing::debug!("We have an incomplete set of task configs for connector '{connector}' probably due to compaction");
            s.inconsistent.insert(connector.to_string());
        }
        s.task_counts.insert(connector.to_string(), count);
        s.pending_fencing.insert(connector.to_string());
        Some(ConfigUpdate::TaskConfigsCommitted(updated))
    }
}

fn properties_value(config: &Props) -> Vec<u8> {
    let sorted: BTreeMap<&String, &String> = config.iter().collect();
    json_bytes(&json!({ "properties": sorted }))
}

/// `{"state":…,"state.v2":…}`: `state` falls back to PAUSED for STOPPED, which older
/// workers do not know.
pub fn target_state_value(state: TargetState) -> Vec<u8> {
    let v1 = if state == TargetState::Stopped {
        TargetState::Paused
    } else {
        state
    };
    json_bytes(&json!({"state": v1.name(), "state.v2": state.name()}))
}

pub fn session_key_value(session_key: &SessionKey) -> Vec<u8> {
    json_bytes(&json!({
        "key": base64::engine::general_purpose::STANDARD.encode(&session_key.key),
        "algorithm": session_key.algorithm,
        "creation-timestamp": session_key.creation_timestamp_ms,
    }))
}

/// Kafka's `KafkaConfigBackingStore` over `config.storage.topic`.
#[derive(Debug)]
pub struct KafkaConfigStore {
    log: KafkaBasedLog,
    state: Arc<Mutex<ConfigState>>,
}

type Record = (Vec<u8>, Option<Vec<u8>>);

fn record(key: String, value: Option<Vec<u8>>) -> Record {
    (key.into_bytes(), value)
}

async fn within<T>(
    what: &str,
    future: impl std::future::Future<Output = Result<T, RuntimeError>>,
) -> Result<T, RuntimeError> {
    tokio::time::timeout(READ_WRITE_TOTAL_TIMEOUT, future)
        .await
        .map_err(|_| RuntimeError::Internal(format!("Error {what}: timed out")))?
}

impl KafkaConfigStore {
    /// Creates or checks the topic, reads it whole, and returns the store with the
    /// channel on which it announces what later records change.
    pub async fn start(
        config: &WorkerConfig,
    ) -> Result<(Arc<KafkaConfigStore>, mpsc::UnboundedReceiver<ConfigUpdate>), RuntimeError> {
        let spec = TopicSpec::from_worker_config(config, InternalTopic::Config)?;
        let state = Arc::new(Mutex::new(ConfigState {
            snapshot: ClusterConfigState {
                offset: -1,
                ..ClusterConfigState::default()
            },
            deferred: HashMap::new(),
        }));
        let started = Arc::new(AtomicBool::new(false));
        let (updates, receiver) = mpsc::unbounded_channel();
        let callback = {
            let state = state.clone();
            let started = started.clone();
            Box::new(move |record: ConsumedRecord| {
                let Some(key) = record.key.as_deref().map(String::from_utf8_lossy) else {
                    tracing::error!("Discarding config update record with a null key");
                    return;
                };
                let value = match parse_json(record.value.as_deref()) {
                    Ok(value) => value,
                    Err(e) => {
                        tracing::error!(
                            "Failed to convert config data to Kafka Connect format: {e}"
                        );
                        return;
                    }
                };
                let update = {
                    let mut state = state.lock();
                    state.snapshot.offset = record.offset + 1;
                    state.apply(&key, value)
                };
                if let (Some(update), true) = (update, started.load(Ordering::Acquire)) {
                    let _ = updates.send(update);
                }
            })
        };
        let log = KafkaBasedLog::start(&spec, callback).await?;
        if log.partition_count() > 1 {
            return Err(RuntimeError::Config(format!(
                "Topic '{}' supplied via the 'config.storage.topic' property is required to have a single partition in order to guarantee consistency of connector configurations, but found {} partitions.",
                spec.name,
                log.partition_count()
            )));
        }
        started.store(true, Ordering::Release);
        Ok((Arc::new(KafkaConfigStore { log, state }), receiver))
    }

    pub fn topic(&self) -> &str {
        self.log.topic()
    }

    pub fn snapshot(&self) -> ClusterConfigState {
        self.state.lock().snapshot.clone()
    }

    pub fn contains(&self, connector: &str) -> bool {
        self.state.lock().snapshot.contains(connector)
    }

    /// Reads to the end of the topic (Kafka's `refresh`).
    pub async fn refresh(&self, timeout: Duration) -> Result<(), RuntimeError> {
        tokio::time::timeout(timeout, self.log.read_to_end())
            .await
            .map_err(|_| {
                RuntimeError::Internal(format!(
                    "Timed out reading to the end of the config topic {}",
                    self.topic()
                ))
            })?
    }

    /// Writes the target state first when given (a new connector then starts in it),
    /// then the config; returns once both are read back.
    pub async fn put_connector_config(
        &self,
        connector: &str,
        config: &Props,
        target_state: Option<TargetState>,
    ) -> Result<(), RuntimeError> {
        let mut records = Vec::new();
        if let Some(state) = target_state {
            records.push(record(
                format!("{TARGET_STATE_PREFIX}{connector}"),
                Some(target_state_value(state)),
            ));
        }
        records.push(record(
            format!("{CONNECTOR_PREFIX}{connector}"),
            Some(properties_value(config)),
        ));
        within("writing connector configuration to Kafka", async {
            self.log.send_all(&records).await?;
            self.log.read_to_end().await
        })
        .await
    }

    /// Tombstones the connector's config and target state.
    pub async fn remove_connector_config(&self, connector: &str) -> Result<(), RuntimeError> {
        let records = [
            record(format!("{CONNECTOR_PREFIX}{connector}"), None),
            record(format!("{TARGET_STATE_PREFIX}{connector}"), None),
        ];
        within("removing connector configuration from Kafka", async {
            self.log.send_all(&records).await?;
            self.log.read_to_end().await
        })
        .await
    }

    /// Writes every task's config, then (once they are read back) the commit record
    /// that makes them visible.
    pub async fn put_task_configs(
        &self,
        connector: &str,
        configs: &[Props],
    ) -> Result<(), RuntimeError> {
        let records: Vec<Record> = configs
            .iter()
            .enumerate()
            .map(|(i, config)| {
                record(
                    format!("{TASK_PREFIX}{connector}-{i}"),
                    Some(properties_value(config)),
                )
            })
            .collect();
        let commit = json_bytes(&json!({ "tasks": configs.len() }));
        within("writing task configurations to Kafka", async {
            self.log.read_to_end().await?;
            self.log.send_all(&records).await?;
            if !records.is_empty() {
                self.log.read_to_end().await?;
            }
            self.log
                .send(
                    format!("{COMMIT_TASKS_PREFIX}{connector}").as_bytes(),
                    Some(&commit),
                )
                .await?;
            self.log.read_to_end().await
        })
        .await
    }

    /// Writes a target state; acknowledged, not read back (as Kafka).
    pub async fn put_target_state(
        &self,
        connector: &str,
        state: TargetState,
    ) -> Result<(), RuntimeError> {
        let key = format!("{TARGET_STATE_PREFIX}{connector}");
        within(
            "writing target state to Kafka",
            self.log
                .send(key.as_bytes(), Some(&target_state_value(state))),
        )
        .await
        .map(drop)
    }

    pub async fn put_restart_request(
        &self,
        connector: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<(), RuntimeError> {
        let value =
            json_bytes(&json!({"include-tasks": include_tasks, "only-failed": only_failed}));
        self.write_and_read_back(format!("{RESTART_PREFIX}{connector}"), value)
            .await
    }

    pub async fn put_session_key(&self, session_key: &SessionKey) -> Result<(), RuntimeError> {
        self.write_and_read_back(SESSION_KEY_KEY.to_string(), session_key_value(session_key))
            .await
    }

    /// `tasks-fencing-<connector>` `{"task-count":n}` (exactly-once source support).
    pub async fn put_task_count_record(
        &self,
        connector: &str,
        task_count: i32,
    ) -> Result<(), RuntimeError> {
        let value = json_bytes(&json!({ "task-count": task_count }));
        self.write_and_read_back(format!("{TASK_COUNT_RECORD_PREFIX}{connector}"), value)
            .await
    }

    async fn write_and_read_back(&self, key: String, value: Vec<u8>) -> Result<(), RuntimeError> {
        within(&format!("writing {key} to Kafka"), async {
            self.log.send(key.as_bytes(), Some(&value)).await?;
            self.log.read_to_end().await
        })
        .await
    }

    pub fn stop(&self) {
        self.log.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector_config::tests::props;

    fn apply(state: &mut ConfigState, key: &str, value: &[u8]) -> Option<ConfigUpdate> {
        state.apply(key, parse_json(Some(value)).unwrap())
    }

    fn id(connector: &str, task: usize) -> ConnectorTaskId {
        ConnectorTaskId {
            connector: connector.into(),
            task,
        }
    }

    #[test]
    fn values_are_kafkas_json() {
        assert_eq!(
            properties_value(&props(&[("b", "2"), ("a", "1")])),
            br#"{"properties":{"a":"1","b":"2"}}"#
        );
        assert_eq!(
            target_state_value(TargetState::Stopped),
            br#"{"state":"PAUSED","state.v2":"STOPPED"}"#
        );
        assert_eq!(
            target_state_value(TargetState::Started),
            br#"{"state":"STARTED","state.v2":"STARTED"}"#
        );
        let key = SessionKey {
            key: vec![1, 2, 3, 250],
            algorithm: "HmacSHA256".into(),
            creation_timestamp_ms: 1_700_000_000_000,
        };
        assert_eq!(
            session_key_value(&key),
            br#"{"key":"AQID+g==","algorithm":"HmacSHA256","creation-timestamp":1700000000000}"#
        );
        let mut state = ConfigState::default();
        assert_eq!(
            apply(&mut state, SESSION_KEY_KEY, &session_key_value(&key)),
            Some(ConfigUpdate::SessionKeyUpdated(key))
        );
    }

    #[test]
    fn task_configs_apply_only_on_a_complete_commit() {
        let mut state = ConfigState::default();
        apply(
            &mut state,
            "connector-my-conn",
            br#"{"properties":{"k":"v"}}"#,
        );
        assert_eq!(
            state.snapshot.target_state("my-conn"),
            Some(TargetState::Started)
        );
        apply(&mut state, "task-my-conn-0", br#"{"properties":{"t":"0"}}"#);
        apply(&mut state, "task-my-conn-1", br#"{"properties":{"t":"1"}}"#);
        assert!(state.snapshot.tasks("my-conn").is_empty());
        assert!(state.snapshot.task_configs.is_empty());
        assert_eq!(
            apply(&mut state, "commit-my-conn", br#"{"tasks":2}"#),
            Some(ConfigUpdate::TaskConfigsCommitted(vec![
                id("my-conn", 0),
                id("my-conn", 1)
            ]))
        );
        assert_eq!(
            state.snapshot.tasks("my-conn"),
            vec![id("my-conn", 0), id("my-conn", 1)]
        );
        assert_eq!(
            state.snapshot.task_config(&id("my-conn", 1)),
            Some(&props(&[("t", "1")]))
        );
        // A commit for 3 tasks with task 2 compacted away: inconsistent, nothing applied.
        apply(
            &mut state,
            "task-my-conn-0",
            br#"{"properties":{"t":"new"}}"#,
        );
        apply(&mut state, "commit-my-conn", br#"{"tasks":3}"#);
        assert!(state.snapshot.inconsistent.contains("my-conn"));
        assert!(state.snapshot.tasks("my-conn").is_empty());
        assert_eq!(
            state.snapshot.task_config(&id("my-conn", 0)),
            Some(&props(&[("t", "0")]))
        );
        // The deferred configs were dropped: a fresh complete set is needed.
        apply(&mut state, "task-my-conn-0", br#"{"properties":{"t":"a"}}"#);
        apply(&mut state, "commit-my-conn", br#"{"tasks":1}"#);
        assert!(state.snapshot.inconsistent.is_empty());
        assert_eq!(state.snapshot.tasks("my-conn"), vec![id("my-conn", 0)]);
        assert_eq!(state.snapshot.task_config_generations["my-conn"], 1);
    }

    #[test]
    fn target_states_and_removal_follow_kafka() {
        let mut state = ConfigState::default();
        // A target state before the connector exists (created STOPPED): no update.
        assert_eq!(
            apply(
                &mut state,
                "target-state-c",
                &target_state_value(TargetState::Stopped)
            ),
            None
        );
        apply(&mut state, "connector-c", br#"{"properties":{}}"#);
        assert_eq!(state.snapshot.target_state("c"), Some(TargetState::Stopped));
        // An older worker's record has only `state`.
        assert_eq!(
            apply(&mut state, "target-state-c", br#"{"state":"PAUSED"}"#),
            Some(ConfigUpdate::TargetStateChanged("c".into()))
        );
        assert_eq!(state.snapshot.target_state("c"), Some(TargetState::Paused));
        apply(&mut state, "task-c-0", br#"{"properties":{}}"#);
        apply(&mut state, "commit-c", br#"{"tasks":1}"#);
        assert_eq!(
            state.apply("connector-c", None),
            Some(ConfigUpdate::ConnectorConfigRemoved("c".into()))
        );
        state.apply("target-state-c", None);
        assert!(!state.snapshot.contains("c"));
        assert!(state.snapshot.target_states.is_empty());
        assert!(state.snapshot.task_configs.is_empty());
        // A commit for a connector whose config is gone is ignored.
        apply(&mut state, "task-c-0", br#"{"properties":{}}"#);
        assert_eq!(apply(&mut state, "commit-c", br#"{"tasks":1}"#), None);
        assert!(state.snapshot.task_counts.is_empty());
    }

    #[test]
    fn restart_requests_default_missing_flags_to_false() {
        let mut state = ConfigState::default();
        assert_eq!(
            apply(
                &mut state,
                "restart-connector-a-b",
                br#"{"include-tasks":true}"#
            ),
            Some(ConfigUpdate::RestartRequested {
                connector: "a-b".into(),
                include_tasks: true,
                only_failed: false
            })
        );
        assert_eq!(parse_task_key("a-b-12"), Some(id("a-b", 12)));
        assert_eq!(parse_task_key("ab"), None);
        assert_eq!(parse_task_key("a-x"), None);
    }
}
