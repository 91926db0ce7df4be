//! `rafka connect-distributed worker.properties`: Kafka's `ConnectDistributed`. Starts
//! the REST server on `listeners`, the stores on the three internal topics and the
//! herder in `group.id`, and runs until SIGINT/SIGTERM, when the work on this worker
//! stops (offsets flushed, statuses UNASSIGNED) and it leaves the group.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use crate::distributed::herder::DistributedHerder;
use crate::error::RuntimeError;
use crate::rest::{self, Loggers};
use crate::standalone;
use crate::storage::offset_store::KafkaOffsetStore;
use crate::worker::Worker;
use crate::worker_config::WorkerConfig;

const USAGE: &str = "Usage: ConnectDistributed worker.properties";

/// The subcommand's entry point (`args` after `connect-distributed`).
pub fn main(args: Vec<String>) -> ExitCode {
    let args: Vec<String> = args.into_iter().filter(|a| a != "-daemon").collect();
    if args.len() != 1 || args.iter().any(|a| a == "--help" || a == "-h") {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    }
    let apply = standalone::init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args[0], apply)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("Stopping due to error: {e}");
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Kafka's required keys of `DistributedConfig` that have no default.
const REQUIRED: &[&str] = &[
    "group.id",
    "config.storage.topic",
    "offset.storage.topic",
    "status.storage.topic",
];

async fn run(worker_file: &str, apply: rest::ApplyLevels) -> Result<(), RuntimeError> {
    let config = WorkerConfig::from_file(Path::new(worker_file))?;
    for key in REQUIRED {
        if config.props.get(*key).is_none_or(|v| v.trim().is_empty()) {
            return Err(RuntimeError::Config(format!(
                "Missing required configuration \"{key}\" which has no default value."
            )));
        }
    }
    tracing::info!("Kafka Connect distributed worker initializing ...");
    let cluster_id = standalone::cluster_id(&config).await?;
    tracing::info!("Kafka cluster ID: {cluster_id}");
    let (listener, host, port) = standalone::bind_rest(&config).await?;
    let worker_id = config.worker_id(port);
    let worker_url = format!("http://{worker_id}/");
    let offsets = Arc::new(KafkaOffsetStore::start(&config).await?);
    let worker = Arc::new(Worker::with_offsets(config, offsets));
    let herder =
        DistributedHerder::start(worker, worker_id, worker_url.clone(), Some(cluster_id)).await?;
    let loggers = Arc::new(Loggers::new("INFO", Some(apply)));
    let app = rest::router(herder.clone(), loggers);
    tracing::info!("REST server listening at http://{host}:{port}/, advertising URL {worker_url}");
    let (shutdown_sender, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = shutdown_receiver.await;
            })
            .await
    });
    tracing::info!("Kafka Connect started");
    standalone::wait_for_signal().await;
    tracing::info!("Kafka Connect stopping");
    herder.shutdown().await;
    let _ = shutdown_sender.send(());
    let _ = server.await;
    tracing::info!("Kafka Connect stopped");
    Ok(())
}
