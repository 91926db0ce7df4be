//! Confluent's REST Proxy: API v2 (`v2`: produce, metadata, consumer instances) and API v3
//! (`v3`: clusters, brokers, topics, configs, partitions, consumer groups and lags,
//! produce), answered with Confluent's JSON shapes, media types and error codes.
//!
//! Producing goes through one shared librdkafka producer (`producer`), v2 consumers are
//! librdkafka consumers (`consumers`), and admin requests are raw Kafka requests
//! (`admin`). The proxy knows nothing of the broker beyond the Kafka protocol.

pub mod admin;
pub mod consumers;
pub mod errors;
pub mod media;
pub mod producer;
pub mod state;
pub mod v2;
pub mod v3;

use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;

use crate::config::ProxyConfig;
use errors::RestError;
use state::{Proxy, SharedProxy, StartError};

/// Every route of API v2 and v3, with Confluent's 404 and 405 answers.
pub fn router(proxy: SharedProxy) -> Router {
    Router::new()
        .merge(v2::router())
        .merge(v3::router())
        .fallback(|| async { RestError::not_found() })
        .method_not_allowed_fallback(|| async { RestError::method_not_allowed() })
        .with_state(proxy)
}

/// Serves every listener until the process ends, expiring idle consumer instances.
pub async fn run(config: ProxyConfig) -> Result<(), StartError> {
    let proxy = Arc::new(Proxy::new(config)?);
    let mut listeners = Vec::new();
    for address in &proxy.config.listeners {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|source| StartError::Listen {
                address: *address,
                source,
            })?;
        tracing::info!(
            "REST proxy listening on http://{}",
            listener.local_addr().unwrap_or(*address)
        );
        listeners.push(listener);
    }
    let expiring = proxy.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(expiring.consumers.expiry_interval());
        loop {
            tick.tick().await;
            expiring.consumers.expire_idle().await;
        }
    });
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        termination().await;
        tracing::info!("stopping: finishing requests, closing consumer instances");
        let _ = stop.send(true);
    });
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let app = router(proxy.clone());
        let mut stopping = stopping.clone();
        servers.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopping.wait_for(|stop| *stop).await;
                })
                .await
        });
    }
    while let Some(result) = servers.join_next().await {
        if let Ok(Err(err)) = result {
            tracing::error!("HTTP server stopped: {err}");
        }
    }
    proxy.consumers.close_all().await;
    Ok(())
}

/// SIGTERM (`kafka-rest-stop.sh`) or Ctrl-C.
async fn termination() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut sigterm) => {
            tokio::select! {
                _ = sigterm.recv() => {}
                _ = ctrl_c => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}

const USAGE: &str = "Usage: rafka rest-proxy config/kafka-rest.properties";

/// `rafka rest-proxy <file>`, as `kafka-rest-start` takes its properties file.
pub fn rest_main(args: Vec<String>) -> ExitCode {
    let path = match args.as_slice() {
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [path] => path.clone(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAFKA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    let config = match ProxyConfig::load(std::path::Path::new(&path)) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{path}: {err}");
            return ExitCode::FAILURE;
        }
    };
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
