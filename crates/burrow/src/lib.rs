//! rafka's consumer-lag monitor, compatible with LinkedIn's Burrow: its TOML
//! configuration, its in-memory storage of commit windows, its evaluation rules, its v3
//! HTTP API, its HTTP notifier, and lag as Prometheus metrics in burrow-exporter's names.
//!
//! A Kafka client of the clusters it watches (rdkafka): it reads `__consumer_offsets` and
//! polls log-end offsets, and knows nothing of the broker's internals.

pub mod config;
pub mod evaluator;
pub mod http;
pub mod kafka;
pub mod logging;
pub mod monitor;
pub mod notifier;
pub mod offsets_topic;
pub mod status;
pub mod storage;
pub mod template;

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use config::BurrowConfig;
use monitor::Monitor;

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Template(#[from] notifier::TemplateError),
    #[error("cannot start the thread of {name}: {source}")]
    Thread {
        name: String,
        source: std::io::Error,
    },
    #[error("[httpserver.{name}] cannot listen on {address}: {source}")]
    Listen {
        name: String,
        address: String,
        source: std::io::Error,
    },
}

/// Go's listen address (`:8000` = every interface) as a socket address string.
fn listen_address(address: &str) -> String {
    match address.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => address.to_owned(),
    }
}

/// Starts every module of `config` and serves until the process ends.
pub async fn run(config: BurrowConfig) -> Result<(), StartError> {
    let notifiers = config
        .notifiers
        .iter()
        .cloned()
        .map(notifier::HttpNotifier::new)
        .collect::<Result<Vec<_>, _>>()?;
    let monitor = Arc::new(Monitor::new(config));
    let stop = Arc::new(AtomicBool::new(false));
    let mut listeners = Vec::new();
    for server in &monitor.config.http_servers {
        let address = listen_address(&server.address);
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .map_err(|source| StartError::Listen {
                name: server.name.clone(),
                address: server.address.clone(),
                source,
            })?;
        tracing::info!(httpserver = %server.name, "listening on {}", listener.local_addr().map_or(address, |a| a.to_string()));
        listeners.push(listener);
    }
    for cluster in monitor.config.clusters.clone() {
        let thread_name = format!("burrow-cluster-{}", cluster.name);
        let (storage, stop) = (monitor.storage.clone(), stop.clone());
        std::thread::Builder::new()
            .name(thread_name.clone())
            .spawn(move || kafka::run_cluster(cluster, storage, stop))
            .map_err(|source| StartError::Thread {
                name: thread_name.clone(),
                source,
            })?;
    }
    for consumer in monitor.config.consumers.clone() {
        let thread_name = format!("burrow-consumer-{}", consumer.name);
        let (storage, stop) = (monitor.storage.clone(), stop.clone());
        std::thread::Builder::new()
            .name(thread_name.clone())
            .spawn(move || kafka::run_consumer(consumer, storage, stop))
            .map_err(|source| StartError::Thread {
                name: thread_name.clone(),
                source,
            })?;
    }
    for notifier in notifiers {
        tokio::spawn(notifier.run(monitor.clone()));
    }
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let app = http::router(monitor.clone());
        servers.spawn(async move { axum::serve(listener, app).await });
    }
    while let Some(result) = servers.join_next().await {
        if let Ok(Err(err)) = result {
            tracing::error!("HTTP server stopped: {err}");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// `rafka burrow --config burrow.toml`.
pub fn main(args: Vec<String>) -> ExitCode {
    let mut path = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-config" => path = args.next(),
            other if other.starts_with("--config=") => {
                path = Some(other["--config=".len()..].to_owned())
            }
            "--help" | "-h" => {
                println!("Usage: rafka burrow --config burrow.toml");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other}\nUsage: rafka burrow --config burrow.toml");
                return ExitCode::from(2);
            }
        }
    }
    let Some(path) = path else {
        eprintln!("Usage: rafka burrow --config burrow.toml");
        return ExitCode::from(2);
    };
    let config = match BurrowConfig::load(std::path::Path::new(&path)) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{path}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let log_file = config.logging.filename.as_deref();
    if let Err(err) = logging::init(&config.logging.level, log_file) {
        let file = log_file.unwrap_or_default();
        eprintln!("{path}: [logging] cannot open {file}: {err}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{path}: {err}");
            ExitCode::FAILURE
        }
    }
}
