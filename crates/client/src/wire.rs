//! A minimal Kafka client over rafka's own protocol crate, for the admin calls librdkafka
//! does not expose (DescribeLogDirs, ApiVersions per broker, DescribeCluster, …).

use std::time::Duration;

use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::exchange::{exchange, ExchangeError, DEFAULT_MAX_RESPONSE_BYTES};
use crate::security::{AuthenticationError, ClientSecurity};

/// Why a call failed. The text is what Kafka's tools print for it; `is_unreachable`
/// tells a broker that cannot be reached from one that answered wrongly.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no bootstrap servers given")]
    NoBootstrapServers,
    /// The connection failed, or broke during an exchange.
    #[error("{address}: {source}")]
    Io {
        address: String,
        source: std::io::Error,
    },
    #[error("{address}: connection timed out")]
    ConnectTimedOut { address: String },
    /// Connecting and the ApiVersions exchange together took longer than allowed.
    #[error("{bootstrap}: no answer within {timeout_ms} ms")]
    NoAnswer { bootstrap: String, timeout_ms: u128 },
    #[error("{address}: no response to {api_key:?} within {timeout_ms} ms")]
    NoResponse {
        address: String,
        api_key: ApiKey,
        timeout_ms: u128,
    },
    #[error("The broker at {address} does not support {api_key:?}")]
    Unsupported { address: String, api_key: ApiKey },
    /// The request could not be encoded, or the response was not a valid one.
    #[error("{0}")]
    Exchange(ExchangeError),
    /// The broker answered with an error, in the Java client's words.
    #[error("{message}")]
    Broker { message: String },
    /// SASL authentication failed (Kafka's `SaslAuthenticationException`).
    #[error("{message}")]
    Authentication { message: String },
}

impl ClientError {
    /// Whether no broker could be reached (or none answered in time), as opposed to one
    /// that answered with an error or something that is not a Kafka response.
    pub fn is_unreachable(&self) -> bool {
        match self {
            ClientError::NoBootstrapServers
            | ClientError::Io { .. }
            | ClientError::ConnectTimedOut { .. }
            | ClientError::NoAnswer { .. }
            | ClientError::NoResponse { .. } => true,
            ClientError::Unsupported { .. }
            | ClientError::Exchange(_)
            | ClientError::Broker { .. }
            | ClientError::Authentication { .. } => false,
        }
    }
}

/// The `client_id` of requests unless told otherwise.
const DEFAULT_CLIENT_ID: &str = "rafka-tools";

#[derive(Debug)]
pub struct WireClient {
    stream: crate::transport::ClientStream,
    correlation_id: i32,
    /// The request header's `client_id` (the broker builds group member ids from it).
    client_id: String,
    /// The broker's supported versions, learned at connect.
    pub versions: ApiVersionsResponse,
    pub address: String,
}

impl WireClient {
    /// Metadata for `topics` (all topics when `None`, brokers only when empty), never
    /// auto-creating.
    pub async fn metadata(
        &mut self,
        topics: Option<&[String]>,
        timeout: Duration,
    ) -> Result<kafka_protocol::messages::MetadataResponse, ClientError> {
        use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
        use kafka_protocol::messages::{MetadataRequest, TopicName};
        let version = self.version_for(ApiKey::Metadata, 12)?;
        let request = MetadataRequest::default()
            .with_allow_auto_topic_creation(false)
            .with_topics(topics.map(|names| {
                names
                    .iter()
                    .map(|n| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))
                    })
                    .collect()
            }));
        self.call_within(ApiKey::Metadata, version, &request, timeout)
            .await
    }

    /// Connects to the first reachable `host:port` of a comma-separated bootstrap list.
    pub async fn connect(bootstrap: &str, timeout: Duration) -> Result<WireClient, ClientError> {
        WireClient::connect_secured(bootstrap, timeout, &ClientSecurity::default()).await
    }

    /// `connect`, authenticating each connection as `security` says (SASL after
    /// ApiVersions, as Kafka's clients do).
    pub async fn connect_secured(
        bootstrap: &str,
        timeout: Duration,
        security: &ClientSecurity,
    ) -> Result<WireClient, ClientError> {
        let mut last_error = ClientError::NoBootstrapServers;
        for address in bootstrap
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let connecting =
                crate::transport::ClientStream::connect(address, security.tls.as_ref());
            match tokio::time::timeout(timeout, connecting).await {
                Ok(Ok(stream)) => {
                    let mut client = WireClient {
                        stream,
                        correlation_id: 0,
                        client_id: DEFAULT_CLIENT_ID.to_string(),
                        versions: ApiVersionsResponse::default(),
                        address: address.to_string(),
                    };
                    client.versions = client
                        .call(ApiKey::ApiVersions, 3, &api_versions_request())
                        .await?;
                    if let Some(sasl) = &security.sasl {
                        crate::security::authenticate(
                            &mut client.stream,
                            &client.client_id,
                            &mut client.correlation_id,
                            sasl,
                        )
                        .await
                        .map_err(|e| match e {
                            AuthenticationError::Exchange(ExchangeError::Io(source)) => {
                                ClientError::Io {
                                    address: address.to_string(),
                                    source,
                                }
                            }
                            AuthenticationError::Exchange(other) => ClientError::Exchange(other),
                            AuthenticationError::Failed(message) => {
                                ClientError::Authentication { message }
                            }
                        })?;
                    }
                    return Ok(client);
                }
                Ok(Err(source)) => {
                    last_error = ClientError::Io {
                        address: address.to_string(),
                        source,
                    }
                }
                Err(_) => {
                    last_error = ClientError::ConnectTimedOut {
                        address: address.to_string(),
                    }
                }
            }
        }
        Err(last_error)
    }

    /// Sends `client_id` in the headers of the requests from now on.
    pub fn set_client_id(&mut self, client_id: &str) {
        self.client_id = client_id.to_string();
    }

    /// The highest version both sides speak, capped at `ours`.
    pub fn version_for(&self, api_key: ApiKey, ours: i16) -> Result<i16, ClientError> {
        self.versions
            .api_keys
            .iter()
            .find(|k| k.api_key == api_key as i16)
            .filter(|k| k.min_version <= ours)
            .map(|k| k.max_version.min(ours))
            .ok_or_else(|| ClientError::Unsupported {
                address: self.address.clone(),
                api_key,
            })
    }

    pub async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, ClientError> {
        self.correlation_id += 1;
        exchange(
            &mut self.stream,
            &self.client_id,
            self.correlation_id,
            api_key,
            version,
            request,
            DEFAULT_MAX_RESPONSE_BYTES,
        )
        .await
        .map_err(|e| match e {
            ExchangeError::Io(source) => ClientError::Io {
                address: self.address.clone(),
                source,
            },
            other => ClientError::Exchange(other),
        })
    }
}

/// A broker as the cluster describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerNode {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
    /// Known only from DescribeCluster v2; `false` otherwise.
    pub fenced: bool,
}

impl BrokerNode {
    /// `host:port`, to connect to.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Kafka's `Node.toString()`.
impl std::fmt::Display for BrokerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} (id: {} rack: {} isFenced: {})",
            self.host,
            self.port,
            self.id,
            self.rack.as_deref().unwrap_or("null"),
            self.fenced
        )
    }
}

impl WireClient {
    /// The cluster's brokers, in the order the broker lists them: DescribeCluster (which
    /// knows fencing) where the broker has it, as Kafka's `Admin.describeCluster`; else
    /// Metadata.
    pub async fn brokers(&mut self, timeout: Duration) -> Result<Vec<BrokerNode>, ClientError> {
        let node =
            |id: i32, host: &StrBytes, port: i32, rack: &Option<StrBytes>, fenced| BrokerNode {
                id,
                host: host.to_string(),
                port,
                rack: rack.as_ref().map(|r| r.to_string()),
                fenced,
            };
        if let Some(response) = self.describe_cluster(timeout).await? {
            return Ok(response
                .brokers
                .iter()
                .map(|b| node(b.broker_id.0, &b.host, b.port, &b.rack, b.is_fenced))
                .collect());
        }
        let response = self.metadata(Some(&[]), timeout).await?;
        Ok(response
            .brokers
            .iter()
            .map(|b| node(b.node_id.0, &b.host, b.port, &b.rack, false))
            .collect())
    }
}

impl WireClient {
    /// DescribeCluster, as Kafka's `Admin.describeCluster` sends it; `None` where the
    /// broker does not have the API (the caller falls back to Metadata). An error the
    /// broker answers with is `ClientError::Broker`, with the Java client's message.
    pub async fn describe_cluster(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<kafka_protocol::messages::DescribeClusterResponse>, ClientError> {
        use kafka_protocol::messages::{DescribeClusterRequest, DescribeClusterResponse};
        let Ok(version) = self.version_for(ApiKey::DescribeCluster, 2) else {
            return Ok(None);
        };
        let response: DescribeClusterResponse = self
            .call_within(
                ApiKey::DescribeCluster,
                version,
                &DescribeClusterRequest::default(),
                timeout,
            )
            .await?;
        match crate::kafka_error_message(
            response.error_code,
            response.error_message.as_ref().map(|m| m.as_str()),
        ) {
            Some(message) => Err(ClientError::Broker { message }),
            None => Ok(Some(response)),
        }
    }
}

fn api_versions_request() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("rafka-tools"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")))
}

// ---- Used by the admin tools: every call bounded in time. ----

impl WireClient {
    /// `call`, but a broker that accepts the connection and never answers is a
    /// `NoResponse` error after `timeout` instead of a hang.
    pub async fn call_within<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, ClientError> {
        match tokio::time::timeout(timeout, self.call(api_key, version, request)).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::NoResponse {
                address: self.address.clone(),
                api_key,
                timeout_ms: timeout.as_millis(),
            }),
        }
    }
}

/// Connects within `timeout`, the ApiVersions exchange included: a port that accepts
/// and never answers fails like a closed one, in one line.
pub async fn connect_within(bootstrap: &str, timeout: Duration) -> Result<WireClient, ClientError> {
    connect_within_secured(bootstrap, timeout, &ClientSecurity::default()).await
}

/// `connect_within`, authenticating as `security` says.
pub async fn connect_within_secured(
    bootstrap: &str,
    timeout: Duration,
    security: &ClientSecurity,
) -> Result<WireClient, ClientError> {
    let connecting = WireClient::connect_secured(bootstrap, timeout, security);
    match tokio::time::timeout(timeout, connecting).await {
        Ok(result) => result,
        Err(_) => Err(ClientError::NoAnswer {
            bootstrap: bootstrap.to_string(),
            timeout_ms: timeout.as_millis(),
        }),
    }
}
