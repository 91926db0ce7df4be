//! Confluent's JDBC connectors (`io.confluent.connect.jdbc`) as built-in plugins: thin
//! adapters from the runtime's connector and task traits to the PostgreSQL engines of
//! `rafka-connect-jdbc`.
//!
//! - `JdbcSourceConnector` validates its config, lists the tables to copy (or takes
//!   `query`) when it starts, and spreads them over at most `tasks.max` tasks, each task
//!   config being the connector's plus `tables` (Confluent's `JdbcSourceTaskConfig`).
//! - `JdbcSourceTask` resumes each table from the offsets the worker committed (read from
//!   its context for `JdbcSourceTask::offset_partitions`) and hands out the engine's batches.
//! - `JdbcSinkConnector` gives `tasks.max` identical tasks; `JdbcSinkTask` writes each
//!   batch in one transaction (`JdbcSinkWriter::put`, which retries `max.retries` times).
//!
//! Where the database work runs. The trait methods `Connector::start`/`task_configs` and
//! `SourceTask::start` are synchronous and are called on a worker thread of the herder's
//! multi-threaded tokio runtime:
//! - the connector's table listing in `start` is short and its result decides whether
//!   the connector starts at all, so it runs there and then, inside `block_in_place`
//!   (which hands the thread's other tasks to the remaining workers while it blocks);
//! - the source task's connection and queries run in a tokio task of their own, spawned by
//!   `start` and feeding `poll` through a one-batch channel. The worker drops a pending
//!   `poll` whenever its offset-flush timer or a state change fires; with the reader apart,
//!   a connection attempt or a query is never cut short by that, and `poll` is just a
//!   cancel-safe channel receive.
//!
//! Failures: a statement the database refuses is logged and retried on the next poll
//! (Confluent's `query.retry.attempts` default, -1, retries forever); a connection that is
//! lost is tried again once, by the engine's reconnect (`connection.attempts` times,
//! `connection.backoff.ms` apart), and when that fails too the task fails with the error as
//! its trace. `POST …/restart` starts a new task, which reconnects and resumes from the
//! committed offsets.
//!
//! Tables that appear or disappear while the source runs: as Confluent's
//! `TableMonitorThread`, a tokio task lists them every `table.poll.interval.ms` and asks
//! the herder for new task configs (`ConnectorContext::request_task_reconfiguration`)
//! when the list changed; the herder restarts the tasks when their configs differ.

use std::future::Future;
use std::sync::Arc;

use rafka_connect_data::config::ConfigDef;
use rafka_connect_data::connector::{
    BoxFuture, Connector, ConnectorContext, ConnectorError, Props, SinkConnector, SinkTask,
    SinkTaskContext, SourceConnector, SourceTask, SourceTaskContext,
};
use rafka_connect_data::ConnectRecord;
use rafka_connect_jdbc::config::{sink_config_def, source_config_def};
use rafka_connect_jdbc::dialect::TableId;
use rafka_connect_jdbc::source::discovery::{discover_tables, task_configs, TableMonitor};
use rafka_connect_jdbc::{JdbcError, JdbcSinkConfig, JdbcSinkWriter, JdbcSourceConfig};
use tokio::sync::mpsc;

pub const SOURCE_CLASS: &str = "io.confluent.connect.jdbc.JdbcSourceConnector";
pub const SINK_CLASS: &str = "io.confluent.connect.jdbc.JdbcSinkConnector";
/// The version the JDBC plugins report: rafka's own (its connectors are a rewrite of
/// Confluent's, not Confluent's code, so they do not claim one of Confluent's versions).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-rafka");

/// Kafka's exception kinds for the engine's failures (they become the task's `trace`).
fn connector_error(error: JdbcError) -> ConnectorError {
    match error {
        JdbcError::Config(e) => ConnectorError::Config(e),
        JdbcError::Data(e) => ConnectorError::Data(e),
        other => ConnectorError::fatal(other.to_string()),
    }
}

/// Runs database work from a synchronous trait method. On a multi-threaded runtime
/// (the herder's) the thread blocks inside `block_in_place`, so the runtime moves its other
/// tasks elsewhere; on a current-thread runtime, where `block_in_place` is not allowed, or
/// outside any runtime, a thread with a runtime of its own runs the future.
fn block_on_database<T: Send>(future: impl Future<Output = T> + Send) -> Result<T, String> {
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            return Ok(tokio::task::block_in_place(|| handle.block_on(future)));
        }
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|runtime| runtime.block_on(future))
                    .map_err(|e| format!("Could not start a runtime for the database: {e}"))
            })
            .join()
            .unwrap_or_else(|_| Err("The database thread panicked".to_string()))
    })
}

/// Confluent's `JdbcSourceConnector`.
#[derive(Default)]
pub struct JdbcSourceConnector {
    props: Props,
    config: Option<JdbcSourceConfig>,
    /// The tables to copy (empty in query mode): found at `start`, kept current by the
    /// table monitor.
    tables: Arc<parking_lot::Mutex<Vec<TableId>>>,
    context: Option<Arc<dyn ConnectorContext>>,
    /// Stops the table monitor (Confluent's `TableMonitorThread`).
    monitor: Option<tokio::sync::watch::Sender<bool>>,
}

impl std::fmt::Debug for JdbcSourceConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JdbcSourceConnector")
            .field("tables", &*self.tables.lock())
            .finish()
    }
}

impl JdbcSourceConnector {
    /// Confluent's `TableMonitorThread`: lists the tables every `table.poll.interval.ms`
    /// and asks the herder for new task configs when the list changed.
    fn start_table_monitor(&mut self, config: JdbcSourceConfig) {
        let (Some(context), Ok(runtime)) =
            (self.context.clone(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let tables = self.tables.clone();
        let interval =
            std::time::Duration::from_millis(config.table_poll_interval_ms.max(1) as u64);
        let mut monitor = TableMonitor::listed(config.clone(), tables.lock().clone());
        runtime.spawn(async move {
            let mut client = None;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopped.changed() => return,
                }
                if client.is_none() {
                    client = config.connect().await.ok();
                }
                let Some(connected) = client.as_ref() else {
                    continue;
                };
                match monitor.update(connected).await {
                    Ok(changed) => {
                        if changed {
                            *tables.lock() = monitor.tables().unwrap_or_default().to_vec();
                            tracing::info!(
                                "The JDBC source's tables changed: reconfiguring its tasks"
                            );
                            context.request_task_reconfiguration();
                        }
                    }
                    Err(e) => {
                        tracing::warn!("Failed to list the JDBC source's tables: {e}");
                        client = None;
                    }
                }
            }
        });
        self.monitor = Some(stop);
    }
}

impl Connector for JdbcSourceConnector {
    fn version(&self) -> String {
        VERSION.into()
    }

    fn initialize(&mut self, context: Arc<dyn ConnectorContext>) {
        self.context = Some(context);
    }

    fn start(&mut self, props: &Props) -> Result<(), ConnectorError> {
        let config = JdbcSourceConfig::from_props(props)?;
        let tables = if config.query.is_some() {
            Vec::new()
        } else {
            block_on_database(async {
                let client = config.connect().await?;
                discover_tables(&client, &config).await
            })
            .map_err(ConnectorError::fatal)?
            .map_err(connector_error)?
        };
        if tables.is_empty() && config.query.is_none() {
            tracing::warn!(
                "No tables were found so there's no work to be done by the JDBC source connector"
            );
        }
        self.props = props.clone();
        *self.tables.lock() = tables;
        if config.query.is_none() {
            self.start_table_monitor(config.clone());
        }
        self.config = Some(config);
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Vec<Props> {
        match &self.config {
            Some(config) => task_configs(&self.props, config, &self.tables.lock(), max_tasks),
            None => Vec::new(),
        }
    }

    fn stop(&mut self) {
        if let Some(monitor) = self.monitor.take() {
            let _ = monitor.send(true);
        }
        self.config = None;
        self.tables.lock().clear();
    }

    fn config_def(&self) -> ConfigDef {
        source_config_def()
    }
}

impl SourceConnector for JdbcSourceConnector {
    fn create_task(&self) -> Box<dyn SourceTask> {
        Box::<JdbcSourceTask>::default()
    }
}

type Batch = Result<Vec<ConnectRecord>, ConnectorError>;

/// Confluent's `JdbcSourceTask`: the engine runs in a reader task of its own (see the
/// module's doc); `poll` receives its batches.
#[derive(Debug, Default)]
pub struct JdbcSourceTask {
    batches: Option<mpsc::Receiver<Batch>>,
    reader: Option<tokio::task::JoinHandle<()>>,
}

impl JdbcSourceTask {
    fn stop_reader(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
        self.batches = None;
    }
}

impl Drop for JdbcSourceTask {
    fn drop(&mut self) {
        self.stop_reader();
    }
}

/// The reader: starts the engine from the committed offsets, then polls it for as long as
/// `poll` takes its batches. Ends after sending the error that fails the task.
async fn read_batches(
    config: JdbcSourceConfig,
    offsets: Vec<(rafka_connect_data::Value, rafka_connect_data::Value)>,
    batches: mpsc::Sender<Batch>,
) {
    let mut engine = match rafka_connect_jdbc::JdbcSourceTask::start(config, &offsets).await {
        Ok(engine) => engine,
        Err(error) => {
            let _ = batches.send(Err(connector_error(error))).await;
            return;
        }
    };
    let mut connection_lost = false;
    loop {
        match engine.poll().await {
            Ok(records) => {
                connection_lost = false;
                if batches.send(Ok(records)).await.is_err() {
                    return;
                }
            }
            Err(error) if error.is_refused_by_database() => {
                tracing::warn!(%error, "JDBC source query failed; it runs again on the next poll");
            }
            Err(error) if error.is_sql() && !connection_lost => {
                tracing::warn!(%error, "JDBC source lost its connection; reconnecting");
                connection_lost = true;
            }
            Err(error) => {
                let _ = batches.send(Err(connector_error(error))).await;
                return;
            }
        }
    }
}

impl SourceTask for JdbcSourceTask {
    fn version(&self) -> String {
        VERSION.into()
    }

    fn start(
        &mut self,
        context: Arc<dyn SourceTaskContext>,
        props: &Props,
    ) -> Result<(), ConnectorError> {
        let config = JdbcSourceConfig::from_props(props)?;
        let reader = context.offset_storage_reader();
        let offsets = rafka_connect_jdbc::JdbcSourceTask::offset_partitions(&config)
            .into_iter()
            .filter_map(|partition| {
                let offset = reader.offset(&partition)?;
                Some((partition, offset))
            })
            .collect();
        let handle = tokio::runtime::Handle::try_current().map_err(|e| {
            ConnectorError::fatal(format!("JdbcSourceTask needs a tokio runtime: {e}"))
        })?;
        // One batch ahead at most: the reader waits while the worker sends the last one.
        let (sender, receiver) = mpsc::channel(1);
        self.stop_reader();
        self.reader = Some(handle.spawn(read_batches(config, offsets, sender)));
        self.batches = Some(receiver);
        Ok(())
    }

    fn poll(&mut self) -> BoxFuture<'_, Result<Vec<ConnectRecord>, ConnectorError>> {
        Box::pin(async move {
            let Some(batches) = self.batches.as_mut() else {
                return Err(ConnectorError::fatal("JdbcSourceTask was not started"));
            };
            match batches.recv().await {
                Some(batch) => batch,
                None => Err(ConnectorError::fatal("The JDBC source reader stopped")),
            }
        })
    }

    fn stop(&mut self) {
        self.stop_reader();
    }
}

/// Confluent's `JdbcSinkConnector`.
#[derive(Debug, Default)]
pub struct JdbcSinkConnector {
    props: Props,
}

impl Connector for JdbcSinkConnector {
    fn version(&self) -> String {
        VERSION.into()
    }

    /// Checks the config only: the tasks connect on their first batch, as Confluent's do.
    fn start(&mut self, props: &Props) -> Result<(), ConnectorError> {
        JdbcSinkConfig::from_props(props)?;
        self.props = props.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> Vec<Props> {
        vec![self.props.clone(); max_tasks.max(1)]
    }

    fn stop(&mut self) {}

    fn config_def(&self) -> ConfigDef {
        sink_config_def()
    }
}

impl SinkConnector for JdbcSinkConnector {
    fn create_task(&self) -> Box<dyn SinkTask> {
        Box::<JdbcSinkTask>::default()
    }
}

/// Confluent's `JdbcSinkTask`.
#[derive(Debug, Default)]
pub struct JdbcSinkTask {
    writer: Option<JdbcSinkWriter>,
}

impl SinkTask for JdbcSinkTask {
    fn version(&self) -> String {
        VERSION.into()
    }

    fn start(
        &mut self,
        _context: Arc<dyn SinkTaskContext>,
        props: &Props,
    ) -> Result<(), ConnectorError> {
        self.writer = Some(JdbcSinkWriter::new(JdbcSinkConfig::from_props(props)?));
        Ok(())
    }

    fn put(&mut self, records: Vec<ConnectRecord>) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async move {
            let Some(writer) = self.writer.as_mut() else {
                return Err(ConnectorError::fatal("JdbcSinkTask was not started"));
            };
            writer.put(&records).await.map_err(connector_error)
        })
    }

    fn stop(&mut self) {
        self.writer = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props<const N: usize>(pairs: [(&str, &str); N]) -> Props {
        Props::from(pairs.map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn source_start_rejects_a_bad_config_before_connecting() {
        let mut connector = JdbcSourceConnector::default();
        let err = connector
            .start(&props([
                ("connection.url", "jdbc:postgresql://127.0.0.1:1/db"),
                ("mode", "incrementing"),
                ("table.whitelist", "a"),
                ("table.blacklist", "b"),
            ]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "table.whitelist and table.blacklist are exclusive."
        );
        assert!(connector.task_configs(3).is_empty());
    }

    #[test]
    fn query_mode_gives_one_task_without_listing_tables() {
        let mut connector = JdbcSourceConnector::default();
        connector
            .start(&props([
                ("connection.url", "jdbc:postgresql://127.0.0.1:1/db"),
                ("mode", "bulk"),
                ("query", "select 1"),
                ("topic.prefix", "q"),
            ]))
            .unwrap();
        let configs = connector.task_configs(4);
        assert_eq!(configs.len(), 1);
        assert_eq!(configs[0]["tables"], "");
        assert_eq!(configs[0]["query"], "select 1");
    }

    #[test]
    fn an_unreachable_database_fails_the_source_connector_with_the_cause() {
        let mut connector = JdbcSourceConnector::default();
        let err = connector
            .start(&props([
                ("connection.url", "jdbc:postgresql://127.0.0.1:1/db"),
                ("connection.attempts", "1"),
                ("mode", "bulk"),
            ]))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Could not connect to jdbc:postgresql://127.0.0.1:1/db"),
            "{err}"
        );
    }

    #[test]
    fn sink_gives_max_tasks_identical_tasks() {
        let mut connector = JdbcSinkConnector::default();
        let config = props([
            ("connection.url", "jdbc:postgresql://127.0.0.1:1/db"),
            ("topics", "t"),
        ]);
        connector.start(&config).unwrap();
        assert_eq!(connector.task_configs(3), vec![config; 3]);
        let err = connector
            .start(&props([("topics", "t")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("connection.url"), "{err}");
    }
}
