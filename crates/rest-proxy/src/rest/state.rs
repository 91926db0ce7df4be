//! What every route shares: the configuration, the admin client, the producer and the
//! v2 consumer instances.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::HOST;
use axum::http::HeaderMap;

use super::admin::Admin;
use super::consumers::ConsumerManager;
use super::producer::Producer;
use crate::config::ProxyConfig;

/// What every route shares.
#[derive(Debug)]
pub struct Proxy {
    pub config: ProxyConfig,
    pub admin: Admin,
    pub producer: Producer,
    pub consumers: ConsumerManager,
}

pub type SharedProxy = Arc<Proxy>;

/// How long an admin request may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot create the producer: {0}")]
    Producer(rdkafka::error::KafkaError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("the gRPC service (grpc.listener) stopped: {0}")]
    Grpc(String),
}

impl Proxy {
    pub fn new(config: ProxyConfig) -> Result<Proxy, StartError> {
        let producer =
            Producer::new(&config.client_settings("producer")).map_err(StartError::Producer)?;
        Ok(Proxy {
            admin: Admin::new(
                &config.bootstrap_servers,
                ADMIN_TIMEOUT,
                config.admin_security.clone(),
            ),
            consumers: ConsumerManager::new(
                config.client_settings("consumer"),
                &config.id,
                config.consumer_request_timeout_ms,
                Duration::from_millis(config.consumer_instance_timeout_ms),
            ),
            producer,
            config,
        })
    }

    /// `http://<Host>` of the request, for the URLs the answers carry (Confluent builds
    /// them from the request URI); the first listener when the request has no Host.
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        match headers.get(HOST).and_then(|h| h.to_str().ok()) {
            Some(host) if !host.is_empty() => format!("http://{host}"),
            _ => match self.config.listeners.first() {
                Some(address) => format!("http://{address}"),
                None => "http://localhost:8082".to_string(),
            },
        }
    }
}
