//! What travels over the controller listener: what brokers ask of the controller
//! quorum, the quorum's own Raft RPCs, their framing, and [`ControllerClient`], which
//! sends them (the listener that answers is [`server`](crate::server)).
//!
//! The controller listener speaks rafka's own framing, not Kafka's: a 4-byte big-endian
//! length, then one JSON document. Only rafka nodes connect to it (Kafka clients talk to
//! the broker listeners), and JSON keeps these few, small, rare messages readable in a
//! packet capture.
//!
//! Security follows the listener's protocol (`listener.security.protocol.map`): on SSL
//! and SASL_SSL the frames travel inside TLS; on SASL_PLAINTEXT and SASL_SSL a connection
//! first authenticates in this framing, as Kafka's SaslHandshake/SaslAuthenticate do:
//! [`ControllerRequest::SaslHandshake`] names the mechanism
//! (`sasl.mechanism.controller.protocol`), then [`ControllerRequest::SaslAuthenticate`]
//! carries the mechanism's tokens until the server completes or refuses the exchange.
//! Nothing else is answered before that.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::time::Duration;

use rafka_client::{ClientSecurity, ClientStream, SaslSettings};
use rafka_security::sasl_client::SaslClient;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};

use crate::controller::{ElectionType, PartitionOutcome, ReassignmentRequest};
use crate::image::{AccessControlEntryRecord, ClusterImage, Endpoint, PartitionState};
use crate::quorum::{QuorumStatus, RaftRequest, RaftResponse};

/// The largest controller frame accepted: a full image of a large cluster fits.
pub const MAX_FRAME_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BrokerRequest {
    Register {
        id: i32,
        incarnation_id: uuid::Uuid,
        listeners: Vec<Endpoint>,
        rack: Option<String>,
    },
    Heartbeat {
        id: i32,
        epoch: i64,
        /// The metadata offset the broker has applied: it is unfenced once caught up.
        metadata_offset: u64,
        /// A controlled shutdown: move leaderships away and fence now.
        shutting_down: bool,
    },
    /// Long poll for an image newer than `after_offset`; answered at once if there is
    /// one, else after `wait_ms` with `image: None`.
    FetchImage {
        after_offset: u64,
        wait_ms: u64,
    },
    /// A partition leader asks to change the ISR (Kafka's AlterPartition).
    AlterPartition {
        broker_id: i32,
        broker_epoch: i64,
        topic: String,
        partition: i32,
        leader_epoch: i32,
        partition_epoch: i32,
        new_isr: Vec<i32>,
    },
    /// Kafka's AllocateProducerIds: a block of producer ids for this broker.
    AllocateProducerIds {
        broker_id: i32,
        broker_epoch: i64,
    },
    CreateTopic {
        name: String,
        num_partitions: i32,
        replication_factor: i16,
        /// Explicit replica assignments, one list per partition (CreateTopics' assignments).
        assignments: Option<Vec<Vec<i32>>>,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    },
    DeleteTopic {
        name: String,
    },
    CreatePartitions {
        name: String,
        count: i32,
        assignments: Option<Vec<Vec<i32>>>,
        validate_only: bool,
    },
    SetTopicConfigs {
        name: String,
        configs: BTreeMap<String, String>,
    },
    /// `node` absent: the cluster-wide defaults; else that broker's own configs.
    SetBrokerConfigs {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<i32>,
        configs: BTreeMap<String, String>,
    },
    SetGroupConfigs {
        group: String,
        configs: BTreeMap<String, String>,
    },
    /// AlterUserScramCredentials: `UserScramCredential` / `RemoveUserScramCredential`
    /// records to commit together (any other record is refused).
    AlterScramCredentials {
        records: Vec<crate::records::MetadataRecord>,
    },
    /// Kafka's ElectLeaders; `None` means every partition.
    ElectLeaders {
        election: ElectionType,
        partitions: Option<Vec<(String, i32)>>,
    },
    /// The quorum's voters: how a broker given only
    /// `controller.quorum.bootstrap.servers` finds every controller. Any voter answers.
    DescribeVoters,
    /// DescribeQuorum's details, from the active controller only.
    QuorumStatus,
    /// Kafka's AlterPartitionReassignments: a target replica list per partition, or
    /// `None` to cancel that partition's reassignment.
    AlterReassignments {
        /// KIP-860: when false, a target of another length than the current replicas
        /// is refused.
        allow_replication_factor_change: bool,
        partitions: Vec<ReassignmentRequest>,
    },
    // ACLs: the bindings a broker validated, and the ids its filters matched.
    /// CreateAcls: the bindings to add (ids are given by the controller).
    CreateAcls {
        acls: Vec<AccessControlEntryRecord>,
    },
    /// DeleteAcls: the bindings to remove, by id.
    DeleteAcls {
        ids: Vec<uuid::Uuid>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BrokerResponse {
    Registered {
        epoch: i64,
    },
    Heartbeat,
    Image {
        image: Option<Box<ClusterImage>>,
        /// The active controller as this controller knows it.
        controller: Option<i32>,
    },
    Partition(PartitionState),
    /// The request's records were committed at this metadata offset.
    Done {
        offset: u64,
    },
    /// The answer to `AllocateProducerIds`: ids `first..first + len` are the broker's.
    ProducerIds {
        first: i64,
        len: i32,
    },
    /// The answer to `DescribeVoters`.
    Voters {
        voters: BTreeMap<i32, String>,
    },
    /// The active controller's [`QuorumStatus`], with the brokers' progress as
    /// observers: (id, metadata offset applied, last heard from, epoch ms).
    QuorumStatus {
        status: QuorumStatus,
        voters: BTreeMap<i32, String>,
        observers: Vec<(i32, u64, u64)>,
    },
    /// Like `Done`, with each partition's outcome.
    Outcomes {
        offset: u64,
        outcomes: Vec<PartitionOutcome>,
    },
    /// Kafka's error code and message.
    Error {
        code: i16,
        message: String,
    },
    /// This controller is not the active one; ask `leader`.
    NotController {
        leader: Option<i32>,
    },
}

/// Everything sent to the controller listener.
#[derive(Debug, Serialize, Deserialize)]
pub enum ControllerRequest {
    /// From another controller of the quorum.
    Raft(Box<RaftRequest>),
    /// From a broker.
    Broker(BrokerRequest),
    /// The first frame on a SASL listener: the mechanism the peer authenticates with.
    SaslHandshake { mechanism: String },
    /// The peer's next token of the exchange.
    SaslAuthenticate { token: SaslToken },
}

/// The answer to a [`ControllerRequest`], of the same kind.
#[derive(Debug, Serialize, Deserialize)]
pub enum ControllerResponse {
    Raft(RaftResponse),
    Broker(BrokerResponse),
    /// The mechanism is enabled (`error: None`), or not: then the listener's enabled
    /// mechanisms, and the connection closes.
    SaslHandshake {
        error: Option<String>,
        enabled_mechanisms: Vec<String>,
    },
    /// The server's next token; `complete` once the peer is authenticated.
    SaslAuthenticate {
        token: SaslToken,
        complete: bool,
    },
    /// The exchange failed (or a request came before it completed), with Kafka's
    /// message; the connection closes.
    AuthenticationFailed {
        message: String,
    },
}

/// A SASL token: a PLAIN token holds the password, so its bytes are never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaslToken(pub Vec<u8>);

impl fmt::Debug for SaslToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SaslToken({} bytes)", self.0.len())
    }
}

/// A connection to a controller listener, for brokers and for the quorum's own Raft
/// RPCs.
///
/// A call that fails or times out leaves the connection's framing unknown (the answer
/// may still arrive), so the client refuses further calls: drop it and connect again.
pub struct ControllerClient {
    addr: String,
    reader: BufReader<ReadHalf<ClientStream>>,
    writer: WriteHalf<ClientStream>,
    request_timeout: Duration,
    broken: bool,
}

impl fmt::Debug for ControllerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ControllerClient")
            .field("addr", &self.addr)
            .field("broken", &self.broken)
            .finish()
    }
}

impl ControllerClient {
    /// The default bound on one call, answer included.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

    /// Connects to `addr` (`host:port`) within `connect_timeout`, with TLS and SASL as
    /// `security` says (the controller listener's protocol): the TLS handshake and the
    /// SASL exchange are part of connecting, and a refusal is
    /// `ErrorKind::PermissionDenied` with the server's message.
    pub async fn connect(
        addr: &str,
        connect_timeout: Duration,
        security: &ClientSecurity,
    ) -> io::Result<ControllerClient> {
        let connecting = async {
            let stream = ClientStream::connect(addr, security.tls.as_ref()).await?;
            let (reader, writer) = tokio::io::split(stream);
            let mut client = ControllerClient {
                addr: addr.to_string(),
                reader: BufReader::new(reader),
                writer,
                request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
                broken: false,
            };
            if let Some(sasl) = &security.sasl {
                client.authenticate(sasl).await?;
            }
            Ok(client)
        };
        tokio::time::timeout(connect_timeout, connecting)
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connecting to controller {addr} timed out after {connect_timeout:?}"),
                )
            })?
    }

    /// The client's side of the SASL exchange (Kafka's `SaslClientAuthenticator`, in this
    /// framing).
    async fn authenticate(&mut self, sasl: &SaslSettings) -> io::Result<()> {
        let refused = |message: String| io::Error::new(io::ErrorKind::PermissionDenied, message);
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut client =
            SaslClient::new(&sasl.mechanism, &sasl.options, now_ms).map_err(refused)?;
        let handshake = ControllerRequest::SaslHandshake {
            mechanism: sasl.mechanism.clone(),
        };
        match self.exchange(&handshake).await? {
            ControllerResponse::SaslHandshake { error: None, .. } => {}
            ControllerResponse::SaslHandshake {
                error: Some(_),
                enabled_mechanisms,
            } => {
                return Err(refused(format!(
                "Client SASL mechanism '{}' not enabled in the server, enabled mechanisms are [{}]",
                sasl.mechanism,
                enabled_mechanisms.join(", ")
            )))
            }
            other => return Err(self.unexpected(other)),
        }
        let mut challenge = Vec::new();
        let mut complete = false;
        // The client may have a last word to check (SCRAM's server signature) after the
        // server completes; it then has nothing more to send.
        while let Some(token) = client.respond(&challenge).map_err(refused)? {
            if complete {
                return Err(refused(format!(
                    "controller {} completed the SASL exchange before the client did",
                    self.addr
                )));
            }
            let request = ControllerRequest::SaslAuthenticate {
                token: SaslToken(token),
            };
            match self.exchange(&request).await? {
                ControllerResponse::SaslAuthenticate {
                    token,
                    complete: done,
                } => {
                    challenge = token.0;
                    complete = done;
                }
                other => return Err(self.unexpected(other)),
            }
        }
        if !complete {
            return Err(refused(format!(
                "controller {} did not complete the SASL exchange",
                self.addr
            )));
        }
        Ok(())
    }

    /// One frame out, one back, during connect (bounded by the connect timeout).
    async fn exchange(&mut self, request: &ControllerRequest) -> io::Result<ControllerResponse> {
        write_frame(&mut self.writer, request).await?;
        read_frame::<_, ControllerResponse>(&mut self.reader)
            .await?
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "controller {} closed the connection during authentication",
                        self.addr
                    ),
                )
            })
    }

    fn unexpected(&self, response: ControllerResponse) -> io::Error {
        match response {
            ControllerResponse::AuthenticationFailed { message } => {
                io::Error::new(io::ErrorKind::PermissionDenied, message)
            }
            other => io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "controller {} answered the SASL exchange with {other:?}",
                    self.addr
                ),
            ),
        }
    }

    /// Sets the bound [`call`](Self::call) puts on each call.
    pub fn set_request_timeout(&mut self, timeout: Duration) {
        self.request_timeout = timeout;
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether an earlier call failed, leaving this connection unusable.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Sends `req` and waits for its answer, within the request timeout.
    pub async fn call(&mut self, req: ControllerRequest) -> io::Result<ControllerResponse> {
        self.call_within(req, self.request_timeout).await
    }

    /// Sends `req` and waits for its answer, within `timeout`. A timeout is
    /// `ErrorKind::TimedOut`.
    pub async fn call_within(
        &mut self,
        req: ControllerRequest,
        timeout: Duration,
    ) -> io::Result<ControllerResponse> {
        if self.broken {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!("connection to controller {} failed earlier", self.addr),
            ));
        }
        // Broken until proven otherwise: a cancelled call leaves it marked.
        self.broken = true;
        let exchange = async {
            write_frame(&mut self.writer, &req).await?;
            read_frame::<_, ControllerResponse>(&mut self.reader)
                .await?
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "controller closed the connection before answering",
                    )
                })
        };
        let response = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("controller {} did not answer within {timeout:?}", self.addr),
                )
            })??;
        self.broken = false;
        Ok(response)
    }
}

/// Writes one frame.
pub async fn write_frame<W, T>(writer: &mut W, message: &T) -> std::io::Result<()>
where
    W: tokio::io::AsyncWrite + Unpin,
    T: Serialize,
{
    let body = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(std::io::Error::other)?;
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(&body);
    writer.write_all(&buf).await?;
    writer.flush().await
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub async fn read_frame<R, T>(reader: &mut R) -> std::io::Result<Option<T>>
where
    R: tokio::io::AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("controller frame of {len} bytes exceeds {MAX_FRAME_BYTES}"),
        ));
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}
