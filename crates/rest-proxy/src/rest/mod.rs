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
use crate::process;
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
    // Bound with the HTTP listeners, so a taken port fails the start-up as theirs do.
    let grpc_listener = match proxy.config.grpc_listener {
        None => None,
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|source| StartError::Listen { address, source })?;
            tracing::info!(
                "gRPC service listening on {}",
                listener.local_addr().unwrap_or(address)
            );
            Some(listener)
        }
    };
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
        process::termination().await;
        tracing::info!("stopping: finishing requests, closing consumer instances");
        let _ = stop.send(true);
    });
    // `grpc.listener`: the gRPC service in this process too, stopped with it.
    let grpc = grpc_listener.map(|listener| {
        let config = proxy.config.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            };
            crate::grpc::serve_on(&config, listener, stopped).await
        })
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
    if let Some(grpc) = grpc {
        match grpc.await {
            Ok(Err(err)) => return Err(StartError::Grpc(err.to_string())),
            Err(err) => return Err(StartError::Grpc(err.to_string())),
            Ok(Ok(())) => {}
        }
    }
    Ok(())
}

const USAGE: &str = "Usage: rafka rest-proxy config/kafka-rest.properties";

/// `rafka rest-proxy <file>`, as `kafka-rest-start` takes its properties file.
pub fn rest_main(args: Vec<String>) -> ExitCode {
    let started = match process::start(&args, USAGE) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let result = started.runtime.block_on(run(started.config));
    process::exit(&started.path, result)
}
