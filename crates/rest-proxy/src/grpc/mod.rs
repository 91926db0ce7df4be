//! The gRPC service `rafka.v1` (`proto/rafka/v1/rafka.proto`): Kafka for publishers and
//! consumers that speak gRPC rather than Kafka's protocol.
//!
//! `Rafka` produces (unary and client-streaming, one ack per record), subscribes a
//! consumer group (a server stream with explicit `Commit`) and fetches from a partition
//! and offset; `Admin` creates, deletes, lists and describes topics. Server reflection
//! lists both. Served by `rafka grpc <config.properties>`, or beside the REST proxy when
//! its configuration sets `grpc.listener` (through [`serve`]).
//!
//! Like the REST proxy it is a Kafka client of the cluster (librdkafka through rdkafka)
//! and knows nothing of the broker's internals.

mod admin;
mod clients;
mod error;
mod fetch;
pub mod pb;
mod produce;
mod records;
mod service;
mod subscribe;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic_health::ServingStatus;

use crate::config::{ConfigError, ProxyConfig, DEFAULT_GRPC_LISTENER};
use crate::process;
pub use error::{code_of, ServiceError};

/// HTTP/2 flow-control windows: what one stream, and one connection, may send unread.
const STREAM_WINDOW_BYTES: u32 = 1 << 20;
const CONNECTION_WINDOW_BYTES: u32 = 4 << 20;
/// The largest request message (a ProduceRequest's records) the service accepts; tonic's
/// default, 4 MiB, would refuse a few large records that Kafka takes.
const MAX_REQUEST_BYTES: usize = 64 << 20;
/// What grpc.health.v1 reports on: the server as a whole ("") and each service.
const HEALTH_NAMES: [&str; 3] = ["", "rafka.v1.Rafka", "rafka.v1.Admin"];
/// How long subscriptions get at shutdown to leave their groups.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create the Kafka clients: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `rafka.v1` on `address` until `shutdown` completes, then ends every
/// subscription (their members leave their groups) and returns.
pub async fn serve(
    config: &ProxyConfig,
    address: SocketAddr,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), GrpcError> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|source| GrpcError::Listen { address, source })?;
    serve_on(config, listener, shutdown).await
}

/// [`serve`] on a listener already bound (a test's port 0).
pub async fn serve_on(
    config: &ProxyConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), GrpcError> {
    let service = service::Service {
        clients: Arc::new(clients::Clients::new(config)?),
        subscriptions: Arc::new(subscribe::Subscriptions::default()),
    };
    run(service, listener, shutdown).await
}

async fn run(
    service: service::Service,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), GrpcError> {
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let (health, health_service) = tonic_health::server::health_reporter();
    for name in HEALTH_NAMES {
        health
            .set_service_status(name, ServingStatus::Serving)
            .await;
    }
    if let Ok(address) = listener.local_addr() {
        tracing::info!("gRPC service rafka.v1 listening on {address}");
    }
    let subscriptions = service.subscriptions.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: ending subscriptions");
        for name in HEALTH_NAMES {
            health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        subscriptions.shut_down(SHUTDOWN_TIMEOUT).await;
    };
    // Without TCP_NODELAY a stream's small messages wait for Nagle's delayed ACK; HTTP/2's
    // default 64 KiB windows make a streaming producer stop for a window update every
    // 64 KiB. 1 MiB a stream (4 MiB a connection) is what a stream may have in flight.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .initial_stream_window_size(STREAM_WINDOW_BYTES)
        .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
        .add_service(
            pb::rafka_server::RafkaServer::new(service.clone())
                .max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(pb::admin_server::AdminServer::new(service))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming, signal)
        .await?;
    Ok(())
}

/// `rafka grpc <config.properties>`: serves on `grpc.listener` (default
/// [`DEFAULT_GRPC_LISTENER`]) until SIGINT or SIGTERM.
pub fn main(args: Vec<String>) -> ExitCode {
    const USAGE: &str = "Usage: rafka grpc <config.properties>";
    let started = match process::start(&args, USAGE) {
        Ok(started) => started,
        Err(code) => return code,
    };
    let address = match started.config.grpc_listener {
        Some(address) => address,
        None => match DEFAULT_GRPC_LISTENER.parse() {
            Ok(address) => address,
            Err(err) => {
                eprintln!("bad default listener {DEFAULT_GRPC_LISTENER}: {err}");
                return ExitCode::FAILURE;
            }
        },
    };
    let result = started
        .runtime
        .block_on(serve(&started.config, address, process::termination()));
    process::exit(&started.path, result)
}
