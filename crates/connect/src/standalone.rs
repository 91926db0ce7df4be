//! `rafka connect-standalone worker.properties [connector.properties|connector.json …]`:
//! Kafka's `ConnectStandalone`. Starts the REST server on `listeners`, then creates each
//! connector given on the command line (Java properties, or JSON as Kafka 3.5+ accepts:
//! `{"name","config"}` or a flat map), and runs until SIGINT/SIGTERM, when every task is
//! stopped and its offsets flushed.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::error::RuntimeError;
use crate::herder::{Herder, StandaloneHerder};
use crate::rest::{self, Loggers};
use crate::worker::{TargetState, Worker};
use crate::worker_config::WorkerConfig;

const USAGE: &str =
    "Usage: ConnectStandalone worker.properties [connector1.properties connector2.json ...]";

/// The subcommand's entry point (`args` after `connect-standalone`).
pub fn main(args: Vec<String>) -> ExitCode {
    let args: Vec<String> = args.into_iter().filter(|a| a != "-daemon").collect();
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    }
    let apply = init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args[0], &args[1..], apply)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("Stopping after connector error: {e}");
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr as `RAFKA_LOG` (default info) says; the returned function changes the
/// filter at run time (`PUT /admin/loggers/…`).
pub(crate) fn init_logging() -> Box<dyn Fn(&str) + Send + Sync> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAFKA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false),
        )
        .try_init();
    Box::new(move |directive: &str| {
        if let Ok(filter) = tracing_subscriber::EnvFilter::try_new(directive) {
            let _ = handle.reload(filter);
        }
    })
}

/// A connector given on the command line: name, config, initial state.
pub type ConnectorFile = (String, HashMap<String, String>, Option<TargetState>);

/// Reads a connector file: `.json` (`{"name","config"}` or a flat map) or properties.
pub fn read_connector_file(path: &Path) -> Result<ConnectorFile, RuntimeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| RuntimeError::Config(format!("cannot read {}: {e}", path.display())))?;
    let trimmed = text.trim_start();
    let (config, initial_state) = if trimmed.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|e| RuntimeError::Config(format!("cannot parse {}: {e}", path.display())))?;
        let (config_json, name, state) = match json.get("config") {
            Some(config) if config.is_object() => (
                config.clone(),
                json.get("name").cloned(),
                json.get("initial_state").cloned(),
            ),
            _ => (json.clone(), None, None),
        };
        let mut config: HashMap<String, String> = config_json
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => return None,
                    other => other.to_string(),
                };
                Some((k.clone(), v))
            })
            .collect();
        if let Some(serde_json::Value::String(name)) = name {
            config.entry("name".into()).or_insert(name);
        }
        let state = match state.as_ref().and_then(|s| s.as_str()) {
            Some("PAUSED") => Some(TargetState::Paused),
            Some("STOPPED") => Some(TargetState::Stopped),
            _ => None,
        };
        (config, state)
    } else {
        let config = java_properties::read(text.as_bytes())
            .map_err(|e| RuntimeError::Config(format!("cannot parse {}: {e}", path.display())))?;
        (config, None)
    };
    let name = config
        .get("name")
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            RuntimeError::Config(format!(
                "Connector config in {} has no name",
                path.display()
            ))
        })?;
    Ok((name, config, initial_state))
}

pub(crate) async fn cluster_id(config: &WorkerConfig) -> Result<String, RuntimeError> {
    let mut client = rdkafka::config::ClientConfig::new();
    client.set("bootstrap.servers", &config.bootstrap_servers);
    let settings = config
        .client_settings("admin.", &HashMap::new())
        .map_err(RuntimeError::Config)?;
    for (k, v) in settings {
        client.set(k, v);
    }
    let context = LastError::default();
    let consumer: BaseConsumer<LastError> = client
        .create_with_context(context.clone())
        .map_err(|e| RuntimeError::Config(format!("Failed to create admin client: {e}")))?;
    let id = tokio::task::spawn_blocking(move || {
        let id = consumer.client().fetch_cluster_id(Duration::from_secs(30));
        if id.is_none() {
            // librdkafka's log and error events wait in the consumer's queue: serve them
            // so that the context sees why.
            while consumer.poll(Duration::ZERO).is_some() {}
        }
        id
    })
    .await
    .ok()
    .flatten();
    id.ok_or_else(|| {
        // Kafka prints the cause under its message ("Caused by: …SaslAuthenticationException:
        // Authentication failed…"); librdkafka's last error is that cause.
        let cause = context
            .0
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .map(|reason| format!("\nCaused by: {reason}"))
            .unwrap_or_default();
        RuntimeError::Config(format!("Failed to connect to and describe Kafka cluster. Check worker's broker connection and security properties.{cause}"))
    })
}

/// A client context keeping librdkafka's last error (an authentication failure, an
/// untrusted certificate), to say why the cluster could not be described. librdkafka's
/// reasons name the broker and the failure, never a password.
#[derive(Debug, Clone, Default)]
struct LastError(Arc<std::sync::Mutex<Option<String>>>);

impl rdkafka::ClientContext for LastError {
    // librdkafka logs each connection failure (`FAIL`) with its cause; the error event
    // that follows says only "transport failure" or "all brokers down".
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        tracing::debug!("librdkafka {level:?} {fac}: {log_message}");
        if fac == "FAIL" && (level as i32) <= (rdkafka::config::RDKafkaLogLevel::Error as i32) {
            if let Ok(mut last) = self.0.lock() {
                *last = Some(log_message.to_string());
            }
        }
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::debug!("librdkafka: {error}: {reason}");
        if let Ok(mut last) = self.0.lock() {
            // "All brokers down" follows the failure that matters.
            if error.rdkafka_error_code() != Some(rdkafka::types::RDKafkaErrorCode::AllBrokersDown)
                || last.is_none()
            {
                *last = Some(reason.to_string());
            }
        }
    }
}

impl rdkafka::consumer::ConsumerContext for LastError {}

/// Binds the REST listener (`listeners`): the listener, the host shown, the port bound.
pub(crate) async fn bind_rest(
    config: &WorkerConfig,
) -> Result<(tokio::net::TcpListener, String, u16), RuntimeError> {
    let host = if config.listener_host.is_empty() {
        "0.0.0.0".to_string()
    } else {
        config.listener_host.clone()
    };
    let listener = tokio::net::TcpListener::bind((host.as_str(), config.listener_port))
        .await
        .map_err(|e| {
            RuntimeError::Config(format!(
                "Unable to initialize REST server on {host}:{}: {e}",
                config.listener_port
            ))
        })?;
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or(config.listener_port);
    Ok((listener, host, port))
}

async fn run(
    worker_file: &str,
    connector_files: &[String],
    apply: Box<dyn Fn(&str) + Send + Sync>,
) -> Result<(), RuntimeError> {
    let config = WorkerConfig::from_file(Path::new(worker_file))?;
    let connectors: Vec<_> = connector_files
        .iter()
        .map(|f| read_connector_file(Path::new(f)))
        .collect::<Result<_, _>>()?;
    tracing::info!("Kafka Connect standalone worker initializing ...");
    let cluster_id = cluster_id(&config).await?;
    tracing::info!("Kafka cluster ID: {cluster_id}");
    let (listener, host, port) = bind_rest(&config).await?;
    let worker_id = config.worker_id(port);
    let worker = Arc::new(Worker::new(config)?);
    let herder = StandaloneHerder::new(worker, worker_id.clone(), Some(cluster_id));
    let loggers = Arc::new(Loggers::new("INFO", Some(apply)));
    let app = rest::router(herder.clone(), loggers);
    tracing::info!(
        "REST server listening at http://{host}:{port}/, advertising URL http://{worker_id}/"
    );
    let (shutdown_sender, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = shutdown_receiver.await;
            })
            .await
    });
    let mut failure = None;
    for (name, config, state) in connectors {
        match herder
            .put_connector_config(&name, config, false, state)
            .await
        {
            Ok((_, info)) => tracing::info!("Created connector {}", info.name),
            Err(e) => {
                failure = Some(RuntimeError::Config(format!(
                    "Failed to create connector {name}: {e}"
                )));
                break;
            }
        }
    }
    if failure.is_none() {
        tracing::info!("Kafka Connect started");
        wait_for_signal().await;
    }
    tracing::info!("Kafka Connect stopping");
    herder.shutdown().await;
    let _ = shutdown_sender.send(());
    let _ = server.await;
    tracing::info!("Kafka Connect stopped");
    failure.map_or(Ok(()), Err)
}

pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_properties_and_both_json_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.properties");
        std::fs::write(
            &p,
            "name=local-file-source\nconnector.class=FileStreamSource\ntasks.max=1\n",
        )
        .unwrap();
        let (name, config, _) = read_connector_file(&p).unwrap();
        assert_eq!(
            (name.as_str(), config["tasks.max"].as_str()),
            ("local-file-source", "1")
        );
        let j = dir.path().join("b.json");
        std::fs::write(&j, r#"{"name":"b","config":{"connector.class":"FileStreamSink","tasks.max":1},"initial_state":"PAUSED"}"#).unwrap();
        let (name, config, state) = read_connector_file(&j).unwrap();
        assert_eq!(
            (name.as_str(), config["tasks.max"].as_str(), state),
            ("b", "1", Some(TargetState::Paused))
        );
        let flat = dir.path().join("c.json");
        std::fs::write(&flat, r#"{"name":"c","connector.class":"FileStreamSink"}"#).unwrap();
        assert_eq!(read_connector_file(&flat).unwrap().0, "c");
        std::fs::write(&flat, r#"{"connector.class":"FileStreamSink"}"#).unwrap();
        assert!(read_connector_file(&flat).is_err());
    }
}
