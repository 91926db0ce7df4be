//! The herder: what the REST API asks of a Connect worker (Kafka's `Herder` interface),
//! and the standalone herder that keeps connector configs in memory and runs every
//! connector on this worker (Kafka's `StandaloneHerder`).
//!
//! Distributed mode plugs in as a second implementation of `Herder` (configs, statuses
//! and offsets in the three internal topics, work spread by group rebalance); the REST
//! layer (`rest::router`) is generic over the trait and does not change.
//!
//! Lifecycle of a connector (Kafka's, KIP-875 included):
//! ```text
//! create ──► RUNNING ◄─resume── PAUSED      (tasks run / idle, consumer paused)
//!              │  └──pause──────►  │
//!              └──stop──► STOPPED ◄┘        (connector and tasks shut down, no tasks;
//!                          └─resume─► RUNNING  offsets may be altered or reset)
//! a task that fails is FAILED with its trace until restarted; a connector whose start
//! fails is FAILED with no tasks.
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;
use rafka_connect_data::connector::{ConnectorContext, ConnectorError, Props};
use tokio::sync::watch;

use crate::connector_config::{self, CONNECTOR_CLASS, NAME};
use crate::error::RuntimeError;
use crate::plugins::{self, AnyConnector, PluginType};
use crate::runner::{self, RunningTask};
use crate::worker::{State, Status, TargetState, TaskSetup, Worker};

pub use crate::entities::{
    ConnectorInfo, ConnectorOffset, ConnectorStateInfo, ConnectorTaskId, Health, RequestSignature,
    StateInfo, TaskInfo,
};

/// What the REST layer asks of a worker (Kafka's `Herder`). Every method is async so a
/// distributed herder can forward to the leader or wait for the config topic.
pub trait Herder: Send + Sync + 'static {
    fn worker_id(&self) -> String;
    /// The worker's converters, which `config/validate` reports as the defaults of a
    /// connector's converter keys (Kafka's defaults unless a herder knows its worker's).
    fn converter_defaults(&self) -> connector_config::ConverterDefaults {
        connector_config::ConverterDefaults::default()
    }
    fn kafka_cluster_id(&self) -> Option<String>;
    fn connectors(&self) -> impl Future<Output = Vec<String>> + Send;
    fn connector_info(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<ConnectorInfo, RuntimeError>> + Send;
    fn connector_config(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Props, RuntimeError>> + Send;
    /// Creates (`allow_replace` false: 409 when it exists) or replaces a connector;
    /// `Ok((created, info))`.
    fn put_connector_config(
        &self,
        name: &str,
        config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> impl Future<Output = Result<(bool, ConnectorInfo), RuntimeError>> + Send;
    fn delete_connector(&self, name: &str)
        -> impl Future<Output = Result<(), RuntimeError>> + Send;
    fn connector_status(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<ConnectorStateInfo, RuntimeError>> + Send;
    fn task_configs(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<TaskInfo>, RuntimeError>> + Send;
    fn set_target_state(
        &self,
        name: &str,
        target: TargetState,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// Restarts as Kafka's `restartConnectorAndTasks`; returns the status with the
    /// restarted parts marked RESTARTING.
    fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> impl Future<Output = Result<ConnectorStateInfo, RuntimeError>> + Send;
    fn restart_task(
        &self,
        name: &str,
        task: usize,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    fn connector_offsets(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<ConnectorOffset>, RuntimeError>> + Send;
    /// PATCH (`Some`) or DELETE (`None`) of a STOPPED connector's offsets; the message.
    fn modify_offsets(
        &self,
        name: &str,
        offsets: Option<Vec<ConnectorOffset>>,
    ) -> impl Future<Output = Result<String, RuntimeError>> + Send;
    fn active_topics(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<String>, RuntimeError>> + Send;
    fn reset_active_topics(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// Kafka's `healthCheck` (`GET /health`): whether the worker has started and its
    /// herder answers within `timeout`.
    fn health(&self, _timeout: std::time::Duration) -> impl Future<Output = Health> + Send {
        async { Health::Healthy }
    }
    /// The check before a config is written: `name` filled in, then every error of
    /// `validate_connector_config` answered as Kafka's 400.
    fn checked_config(
        &self,
        name: &str,
        config: &mut Props,
    ) -> Result<crate::connector_config::Validation, RuntimeError> {
        config
            .entry(NAME.to_string())
            .or_insert_with(|| name.to_string());
        let validation = self.validate_connector_config(config)?;
        if validation.error_count() > 0 {
            return Err(RuntimeError::BadRequest(validation.error_message()));
        }
        Ok(validation)
    }
    /// `config/validate` and the check before a config is written: a distributed worker
    /// adds the exactly-once checks of source connectors.
    fn validate_connector_config(
        &self,
        props: &Props,
    ) -> Result<crate::connector_config::Validation, RuntimeError> {
        crate::connector_config::validate_on_worker(props, &self.converter_defaults())
    }
    /// The internal `PUT /connectors/{name}/fence` of distributed mode: a round of zombie
    /// fencing for an exactly-once source connector, on the leader.
    fn fence_zombies(
        &self,
        _name: &str,
        _signature: Option<RequestSignature>,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send {
        async {
            Err(RuntimeError::Internal(
                "Kafka Connect in standalone mode does not support exactly-once source connectors."
                    .into(),
            ))
        }
    }
    /// The internal task-config write of distributed mode (a worker running a connector
    /// hands its task configs to the leader).
    fn put_task_configs(
        &self,
        _name: &str,
        _configs: Vec<Props>,
        _signature: Option<RequestSignature>,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send {
        async {
            Err(RuntimeError::Internal(
                "Kafka Connect in standalone mode does not support externally setting task configurations."
                    .into(),
            ))
        }
    }
}

struct Entry {
    config: Props,
    class: &'static str,
    kind: PluginType,
    target: TargetState,
    connector: Option<AnyConnector>,
    connector_status: Status,
    task_configs: Vec<Props>,
    tasks: Vec<RunningTask>,
    topics: Arc<Mutex<BTreeSet<String>>>,
}

/// Kafka's `StandaloneHerder`.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    worker_id: String,
    cluster_id: Option<String>,
    connectors: tokio::sync::Mutex<BTreeMap<String, Entry>>,
    /// Itself, for the contexts its connectors call back through.
    me: std::sync::Weak<StandaloneHerder>,
}

/// A connector's `ConnectorContext` on the standalone herder.
struct StandaloneContext {
    herder: std::sync::Weak<StandaloneHerder>,
    connector: String,
}

impl StandaloneContext {
    /// Runs `action` on the herder in a task of its own (the connector may call from
    /// inside the herder, which holds its lock).
    fn on_herder<F, Fut>(&self, action: F)
    where
        F: FnOnce(Arc<StandaloneHerder>, String) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (Some(herder), Ok(runtime)) =
            (self.herder.upgrade(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        runtime.spawn(action(herder, self.connector.clone()));
    }
}

impl ConnectorContext for StandaloneContext {
    fn request_task_reconfiguration(&self) {
        self.on_herder(|herder, name| async move { herder.reconfigure(&name).await });
    }

    fn raise_error(&self, error: ConnectorError) {
        self.on_herder(|herder, name| async move {
            if let Some(entry) = herder.connectors.lock().await.get_mut(&name) {
                tracing::error!("Connector {name} raised an error: {error}");
                entry.connector_status = Status::failed(&error);
            }
        });
    }
}

impl std::fmt::Debug for StandaloneHerder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandaloneHerder")
            .field("worker_id", &self.worker_id)
            .finish()
    }
}

fn not_found(name: &str) -> RuntimeError {
    RuntimeError::NotFound(format!("Connector {name} not found"))
}

fn type_name(kind: PluginType) -> String {
    match kind {
        PluginType::Source => "source".into(),
        PluginType::Sink => "sink".into(),
        _ => "unknown".into(),
    }
}

impl StandaloneHerder {
    pub fn new(
        worker: Arc<Worker>,
        worker_id: String,
        cluster_id: Option<String>,
    ) -> Arc<StandaloneHerder> {
        Arc::new_cyclic(|me| StandaloneHerder {
            worker,
            worker_id,
            cluster_id,
            connectors: tokio::sync::Mutex::new(BTreeMap::new()),
            me: me.clone(),
        })
    }

    fn context(&self, name: &str) -> Arc<dyn ConnectorContext> {
        Arc::new(StandaloneContext {
            herder: self.me.clone(),
            connector: name.to_string(),
        })
    }

    /// Kafka's `requestTaskReconfiguration`: new task configs from the running
    /// connector; when they differ, the tasks restart with them.
    async fn reconfigure(&self, name: &str) {
        let mut connectors = self.connectors.lock().await;
        let Some(entry) = connectors.get_mut(name) else {
            return;
        };
        if entry.target != TargetState::Started {
            return;
        }
        let Some(connector) = entry.connector.as_ref() else {
            return;
        };
        let configs = runner::task_configs(connector, entry.class, &entry.config);
        if configs == entry.task_configs {
            return;
        }
        tracing::info!("Reconfiguring the tasks of connector {name}");
        for task in std::mem::take(&mut entry.tasks) {
            self.stop_task(task).await;
        }
        entry.task_configs = configs;
        for task in 0..entry.task_configs.len() {
            let running = self.start_task(name, entry, task);
            entry.tasks.push(running);
        }
    }

    fn info(name: &str, entry: &Entry) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_string(),
            config: entry.config.clone().into_iter().collect(),
            tasks: (0..entry.task_configs.len())
                .map(|task| ConnectorTaskId {
                    connector: name.to_string(),
                    task,
                })
                .collect(),
            connector_type: type_name(entry.kind),
        }
    }

    fn status(&self, name: &str, entry: &Entry) -> ConnectorStateInfo {
        ConnectorStateInfo {
            name: name.to_string(),
            connector: StateInfo {
                id: None,
                state: entry.connector_status.state,
                worker_id: self.worker_id.clone(),
                version: Some(plugins::connector_version(entry.class).to_string()),
                trace: entry.connector_status.trace.clone(),
            },
            tasks: entry
                .tasks
                .iter()
                .enumerate()
                .map(|(id, task)| {
                    let status = task.status.lock().clone();
                    StateInfo {
                        id: Some(id),
                        state: status.state,
                        worker_id: self.worker_id.clone(),
                        version: Some(plugins::connector_version(entry.class).to_string()),
                        trace: status.trace,
                    }
                })
                .collect(),
            connector_type: type_name(entry.kind),
        }
    }

    /// Starts the connector (and its tasks) as its target state says.
    fn start_connector(&self, name: &str, entry: &mut Entry) {
        entry.tasks.clear();
        entry.task_configs.clear();
        if entry.target == TargetState::Stopped {
            entry.connector_status = Status::new(State::Stopped);
            return;
        }
        let context = self.context(name);
        let connector = match runner::start_connector(entry.class, &entry.config, context) {
            Ok(connector) => connector,
            Err(e) => {
                tracing::error!("Failed to start connector {name}: {e}");
                entry.connector_status = Status::failed(&e);
                return;
            }
        };
        entry.task_configs = runner::task_configs(&connector, entry.class, &entry.config);
        entry.connector = Some(connector);
        entry.connector_status = Status::new(match entry.target {
            TargetState::Paused => State::Paused,
            _ => State::Running,
        });
        for task in 0..entry.task_configs.len() {
            let running = self.start_task(name, entry, task);
            entry.tasks.push(running);
        }
        tracing::info!(
            "Started connector {name} with {} task(s)",
            entry.tasks.len()
        );
    }

    fn start_task(&self, name: &str, entry: &Entry, task: usize) -> RunningTask {
        let setup = TaskSetup {
            connector: name.to_string(),
            task,
            connector_config: entry.config.clone(),
            task_config: entry.task_configs[task].clone(),
            status: Arc::new(Mutex::new(Status::new(State::Unassigned))),
            topics: entry.topics.clone(),
            // Kafka's standalone worker never runs source tasks in transactions.
            exactly_once: None,
        };
        match entry.connector.as_ref() {
            Some(connector) => runner::start_task(&self.worker, connector, setup, entry.target),
            None => RunningTask {
                status: setup.status,
                control: watch::channel(TargetState::Stopped).0,
                join: tokio::spawn(async {}),
            },
        }
    }

    async fn stop_task(&self, task: RunningTask) {
        runner::stop_task(&self.worker, task).await;
    }

    /// Restarts one task: the old one stops (flushing its offsets) before the new one
    /// starts, so the new one resumes from every offset the old one committed.
    async fn replace_task(&self, name: &str, entry: &mut Entry, task: usize) {
        let placeholder = RunningTask {
            status: entry.tasks[task].status.clone(),
            control: watch::channel(TargetState::Stopped).0,
            join: tokio::spawn(async {}),
        };
        let old = std::mem::replace(&mut entry.tasks[task], placeholder);
        self.stop_task(old).await;
        let running = self.start_task(name, entry, task);
        entry.tasks[task] = running;
    }

    async fn stop_connector(&self, entry: &mut Entry) {
        for task in std::mem::take(&mut entry.tasks) {
            self.stop_task(task).await;
        }
        if let Some(mut connector) = entry.connector.take() {
            connector.as_connector_mut().stop();
        }
    }

    /// Stops every connector (worker shutdown), flushing offsets.
    pub async fn shutdown(&self) {
        let mut connectors = self.connectors.lock().await;
        for entry in connectors.values_mut() {
            self.stop_connector(entry).await;
        }
    }
}

impl Herder for StandaloneHerder {
    fn worker_id(&self) -> String {
        self.worker_id.clone()
    }

    fn converter_defaults(&self) -> connector_config::ConverterDefaults {
        connector_config::ConverterDefaults::of(&self.worker.config)
    }

    fn kafka_cluster_id(&self) -> Option<String> {
        self.cluster_id.clone()
    }

    async fn connectors(&self) -> Vec<String> {
        self.connectors.lock().await.keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, RuntimeError> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
        Ok(Self::info(name, entry))
    }

    async fn connector_config(&self, name: &str) -> Result<Props, RuntimeError> {
        let connectors = self.connectors.lock().await;
        Ok(connectors
            .get(name)
            .ok_or_else(|| not_found(name))?
            .config
            .clone())
    }

    async fn put_connector_config(
        &self,
        name: &str,
        mut config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<(bool, ConnectorInfo), RuntimeError> {
        let validation = self.checked_config(name, &mut config)?;
        let class = plugins::resolve_connector_class(
            config
                .get(CONNECTOR_CLASS)
                .map(|c| c.trim())
                .unwrap_or_default(),
        )
        .map(|(class, _)| class)
        .ok_or_else(|| RuntimeError::BadRequest("unknown connector class".into()))?;
        let mut connectors = self.connectors.lock().await;
        let created = match connectors.get_mut(name) {
            Some(_) if !allow_replace => {
                return Err(RuntimeError::AlreadyExists(format!(
                    "Connector {name} already exists"
                )))
            }
            Some(entry) => {
                self.stop_connector(entry).await;
                entry.config = config;
                entry.class = class;
                entry.kind = validation.kind;
                false
            }
            None => {
                connectors.insert(
                    name.to_string(),
                    Entry {
                        config,
                        class,
                        kind: validation.kind,
                        target: initial_state.unwrap_or(TargetState::Started),
                        connector: None,
                        connector_status: Status::new(State::Unassigned),
                        task_configs: Vec::new(),
                        tasks: Vec::new(),
                        topics: Arc::default(),
                    },
                );
                true
            }
        };
        let entry = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
        self.start_connector(name, entry);
        Ok((created, Self::info(name, entry)))
    }

    async fn delete_connector(&self, name: &str) -> Result<(), RuntimeError> {
        let mut connectors = self.connectors.lock().await;
        let mut entry = connectors.remove(name).ok_or_else(|| not_found(name))?;
        self.stop_connector(&mut entry).await;
        Ok(())
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, RuntimeError> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| {
            RuntimeError::NotFound(format!("No status found for connector {name}"))
        })?;
        Ok(self.status(name, entry))
    }

    async fn task_configs(&self, name: &str) -> Result<Vec<TaskInfo>, RuntimeError> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
        Ok(entry
            .task_configs
            .iter()
            .enumerate()
            .map(|(task, config)| TaskInfo {
                id: ConnectorTaskId {
                    connector: name.to_string(),
                    task,
                },
                config: config.clone().into_iter().collect(),
            })
            .collect())
    }

    async fn set_target_state(&self, name: &str, target: TargetState) -> Result<(), RuntimeError> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
        let previous = entry.target;
        entry.target = target;
        match (previous, target) {
            (_, TargetState::Stopped) => {
                self.stop_connector(entry).await;
                entry.task_configs.clear();
                entry.connector_status = Status::new(State::Stopped);
            }
            (TargetState::Stopped, _) => self.start_connector(name, entry),
            _ if entry.connector_status.state == State::Failed => {}
            _ => {
                for task in &entry.tasks {
                    let _ = task.control.send(target);
                }
                entry.connector_status = Status::new(match target {
                    TargetState::Paused => State::Paused,
                    _ => State::Running,
                });
            }
        }
        Ok(())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<ConnectorStateInfo, RuntimeError> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
        let mut plan = self.status(name, entry);
        let restart_connector = !only_failed || entry.connector_status.state == State::Failed;
        if restart_connector {
            plan.connector.state = State::Restarting;
            plan.connector.trace = None;
        }
        let mut restart_tasks = Vec::new();
        if include_tasks {
            for task in &mut plan.tasks {
                if !only_failed || task.state == State::Failed {
                    task.state = State::Restarting;
                    task.trace = None;
                    restart_tasks.push(task.id.unwrap_or(0));
                }
            }
        }
        if entry.target == TargetState::Stopped {
            return Ok(plan);
        }
        let connector_failed = entry.connector_status.state == State::Failed;
        if restart_connector && (connector_failed || entry.connector.is_none()) {
            // A connector that never started gets its tasks from the restart.
            self.stop_connector(entry).await;
            self.start_connector(name, entry);
        } else {
            if restart_connector {
                if let Some(connector) = entry.connector.as_mut() {
                    connector.as_connector_mut().stop();
                    connector.as_connector_mut().initialize(self.context(name));
                    if let Err(e) = connector.as_connector_mut().start(&entry.config) {
                        entry.connector_status = Status::failed(&e);
                    }
                }
            }
            for task in restart_tasks {
                if task < entry.tasks.len() {
                    self.replace_task(name, entry, task).await;
                }
            }
        }
        Ok(plan)
    }

    async fn restart_task(&self, name: &str, task: usize) -> Result<(), RuntimeError> {
        let mut connectors = self.connectors.lock().await;
        let entry = connectors.get_mut(name).ok_or_else(|| not_found(name))?;
        if task >= entry.tasks.len() {
            return Err(RuntimeError::NotFound(format!(
                "Task {name}-{task} not found"
            )));
        }
        self.replace_task(name, entry, task).await;
        Ok(())
    }

    async fn connector_offsets(&self, name: &str) -> Result<Vec<ConnectorOffset>, RuntimeError> {
        let (kind, config) = {
            let connectors = self.connectors.lock().await;
            let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
            (entry.kind, entry.config.clone())
        };
        if kind == PluginType::Sink {
            return runner::sink_offsets(&self.worker, name, &config).await;
        }
        runner::source_offsets(&self.worker, name).await
    }

    async fn modify_offsets(
        &self,
        name: &str,
        offsets: Option<Vec<ConnectorOffset>>,
    ) -> Result<String, RuntimeError> {
        let kind = {
            let connectors = self.connectors.lock().await;
            let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
            if entry.connector_status.state != State::Stopped || !entry.tasks.is_empty() {
                return Err(RuntimeError::BadRequest(runner::not_stopped_message(name)));
            }
            entry.kind
        };
        let altered = offsets.is_some();
        if kind == PluginType::Sink {
            runner::modify_sink_offsets(&self.worker, name, offsets).await?;
        } else {
            runner::modify_source_offsets(&self.worker, name, offsets).await?;
        }
        Ok(runner::offsets_modified_message(altered))
    }

    async fn active_topics(&self, name: &str) -> Result<Vec<String>, RuntimeError> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
        let topics = entry.topics.lock().iter().cloned().collect();
        Ok(topics)
    }

    async fn reset_active_topics(&self, name: &str) -> Result<(), RuntimeError> {
        let connectors = self.connectors.lock().await;
        let entry = connectors.get(name).ok_or_else(|| not_found(name))?;
        entry.topics.lock().clear();
        Ok(())
    }
}

/// Kafka's `task.class` for the FileStream connectors, for tests.
pub fn task_class_of(connector_class: &str) -> String {
    runner::task_class(connector_class)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker_config::WorkerConfig;
    use std::collections::HashMap;
    use std::time::Duration;

    fn herder(dir: &std::path::Path) -> Arc<StandaloneHerder> {
        let config = WorkerConfig::from_props(HashMap::from([
            // No broker: rdkafka clients connect lazily and these tests produce nothing.
            ("bootstrap.servers".to_string(), "127.0.0.1:1".to_string()),
            (
                "task.shutdown.graceful.timeout.ms".to_string(),
                "2000".to_string(),
            ),
            (
                "offset.storage.file.filename".to_string(),
                dir.join("offsets").display().to_string(),
            ),
        ]))
        .unwrap();
        StandaloneHerder::new(Arc::new(Worker::new(config).unwrap()), "w:1".into(), None)
    }

    fn source_config(dir: &std::path::Path) -> Props {
        Props::from([
            (
                "connector.class".to_string(),
                "FileStreamSource".to_string(),
            ),
            // Never created: the task polls and finds nothing to send.
            (
                "file".to_string(),
                dir.join("absent.txt").display().to_string(),
            ),
            ("topic".to_string(), "t".to_string()),
        ])
    }

    async fn wait_for(herder: &StandaloneHerder, connector: State, tasks: &[State]) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let status = herder.connector_status("c").await.unwrap();
            let task_states: Vec<State> = status.tasks.iter().map(|t| t.state).collect();
            if status.connector.state == connector && task_states == tasks {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "wanted {connector:?} {tasks:?}, have {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn lifecycle_follows_kafkas_target_states() {
        let dir = tempfile::tempdir().unwrap();
        let herder = herder(dir.path());
        let (created, info) = herder
            .put_connector_config(
                "c",
                source_config(dir.path()),
                false,
                Some(TargetState::Stopped),
            )
            .await
            .unwrap();
        assert!(created);
        assert!(info.tasks.is_empty());
        wait_for(&herder, State::Stopped, &[]).await;

        herder
            .set_target_state("c", TargetState::Paused)
            .await
            .unwrap();
        wait_for(&herder, State::Paused, &[State::Paused]).await;
        herder
            .set_target_state("c", TargetState::Started)
            .await
            .unwrap();
        wait_for(&herder, State::Running, &[State::Running]).await;
        assert_eq!(herder.task_configs("c").await.unwrap().len(), 1);

        let plan = herder.restart_connector("c", true, true).await.unwrap();
        assert_eq!(
            plan.connector.state,
            State::Running,
            "only failed parts restart"
        );
        assert_eq!(plan.tasks[0].state, State::Running);
        let plan = herder.restart_connector("c", true, false).await.unwrap();
        assert_eq!(plan.connector.state, State::Restarting);
        assert_eq!(plan.tasks[0].state, State::Restarting);
        wait_for(&herder, State::Running, &[State::Running]).await;

        herder
            .set_target_state("c", TargetState::Stopped)
            .await
            .unwrap();
        wait_for(&herder, State::Stopped, &[]).await;
        assert!(herder.task_configs("c").await.unwrap().is_empty());
        assert!(matches!(
            herder.restart_task("c", 0).await,
            Err(RuntimeError::NotFound(_))
        ));

        let (created, _) = herder
            .put_connector_config("c", source_config(dir.path()), true, None)
            .await
            .unwrap();
        assert!(!created, "replacing keeps the connector");
        assert!(matches!(
            herder
                .put_connector_config("c", source_config(dir.path()), false, None)
                .await,
            Err(RuntimeError::AlreadyExists(_))
        ));
        herder.delete_connector("c").await.unwrap();
        assert!(matches!(
            herder.connector_status("c").await,
            Err(RuntimeError::NotFound(_))
        ));
    }
}
