//! The controller listener: one TCP port that carries both the quorum's Raft RPCs and
//! the brokers' requests to the controller.
//!
//! Framing is [`rpc::write_frame`]/[`rpc::read_frame`] (4-byte length, JSON). A
//! connection carries requests one at a time, each answered before the next is read;
//! a peer that wants concurrency opens more connections. A malformed frame closes that
//! connection only.
//!
//! The messages and the client that sends them are in [`rpc`], which the quorum's own
//! Raft client uses too: this module serves the quorum, so the quorum cannot depend on
//! it.
//!
//! Security is the listener's protocol, as [`ListenerSecurity`] gives it: a TLS handshake
//! first (SSL, SASL_SSL; with `ssl.client.auth=required` a peer without a trusted
//! certificate is refused there), then a SASL exchange (SASL_PLAINTEXT, SASL_SSL) driven
//! by the same server-side mechanisms as the broker listeners'. A peer that fails either
//! is logged (its address and the reason, never a credential) and closed before any
//! Raft or broker request is read.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rafka_security::jaas::LoginModule;
use rafka_security::sasl::{SaslMechanism, SaslServer, SaslStep, ScramCredentials};
use rafka_security::scram::{ScramCredential, ScramMechanism};
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;

use crate::image::ClusterImage;
use crate::quorum::Quorum;
use crate::rpc::{self, BrokerRequest, BrokerResponse, SaslToken};
// Where brokers have always found them.
pub use crate::rpc::{ControllerClient, ControllerRequest, ControllerResponse};

/// Answers brokers' requests; implemented by the active controller logic, which this
/// crate's quorum knows nothing of.
pub trait BrokerRpcHandler: Send + Sync + 'static {
    fn handle(
        &self,
        req: BrokerRequest,
    ) -> Pin<Box<dyn Future<Output = BrokerResponse> + Send + '_>>;
}

/// The TLS side of a listener (the broker's, which reloads its stores): the server's
/// handshake on a new connection, and the peer's principal (`User:ANONYMOUS` without a
/// client certificate); `None` when the handshake failed (logged there).
pub trait AcceptTls: Send + Sync + fmt::Debug + 'static {
    fn accept(&self, stream: TcpStream, peer: SocketAddr) -> Accepting<'_>;
}

/// A connection once its TLS handshake is done, with the peer's principal.
pub type Accepted = (Box<TlsStream<TcpStream>>, String);

/// A handshake under way.
pub type Accepting<'a> = Pin<Box<dyn Future<Output = Option<Accepted>> + Send + 'a>>;

/// A SASL listener's server side: its enabled mechanisms, each one's JAAS login module
/// (PLAIN's `user_<name>` options), and where SCRAM's credentials are found.
pub struct SaslAcceptor {
    /// `sasl.enabled.mechanisms` of the listener.
    pub enabled_mechanisms: Vec<String>,
    pub jaas: BTreeMap<String, LoginModule>,
    pub credentials: Arc<dyn ScramCredentials + Send + Sync>,
}

impl fmt::Debug for SaslAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The login modules hold passwords.
        f.debug_struct("SaslAcceptor")
            .field("enabled_mechanisms", &self.enabled_mechanisms)
            .finish_non_exhaustive()
    }
}

/// How the controller listener secures its connections; the default is PLAINTEXT.
#[derive(Debug, Default)]
pub struct ListenerSecurity {
    /// The listener's name, for the log.
    pub listener: String,
    /// SSL, SASL_SSL.
    pub tls: Option<Arc<dyn AcceptTls>>,
    /// SASL_PLAINTEXT, SASL_SSL.
    pub sasl: Option<SaslAcceptor>,
}

/// The SCRAM credentials a controller checks its peers against: those of the committed
/// metadata image once the `kafka-storage.sh format --add-scram` credentials are in it,
/// and until then (the quorum not yet up, nothing committed) the formatted ones, as Kafka
/// reads them from the bootstrap checkpoint.
#[derive(Debug)]
pub struct ControllerScramCredentials {
    image: watch::Receiver<Arc<ClusterImage>>,
    /// By user, then mechanism name.
    bootstrap: BTreeMap<String, BTreeMap<String, ScramCredential>>,
}

impl ControllerScramCredentials {
    /// `bootstrap`: (user, mechanism name, credential) as `storage format` wrote them.
    pub fn new(
        image: watch::Receiver<Arc<ClusterImage>>,
        bootstrap: impl IntoIterator<Item = (String, String, ScramCredential)>,
    ) -> ControllerScramCredentials {
        let mut by_user: BTreeMap<String, BTreeMap<String, ScramCredential>> = BTreeMap::new();
        for (user, mechanism, credential) in bootstrap {
            by_user
                .entry(user)
                .or_default()
                .insert(mechanism, credential);
        }
        ControllerScramCredentials {
            image,
            bootstrap: by_user,
        }
    }
}

impl ScramCredentials for ControllerScramCredentials {
    fn scram_credential(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        let image = self.image.borrow();
        let all = if image.scram_bootstrapped || self.bootstrap.is_empty() {
            &image.scram_credentials
        } else {
            &self.bootstrap
        };
        all.get(user)?.get(mechanism.name()).cloned()
    }
}

/// Serves the controller listener until the returned future is dropped (abort its
/// task to stop it, and with it every connection it serves).
pub async fn serve(
    listener: TcpListener,
    quorum: Quorum,
    brokers: Arc<dyn BrokerRpcHandler>,
    security: Arc<ListenerSecurity>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let quorum = quorum.clone();
                    let brokers = brokers.clone();
                    let security = security.clone();
                    connections.spawn(async move {
                        if let Err(e) = secure_and_serve(stream, peer, &security, &quorum, &*brokers).await {
                            tracing::debug!(%peer, error = %e, "controller connection closed");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "controller listener accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

/// TLS, then SASL, then the connection's requests.
async fn secure_and_serve(
    stream: TcpStream,
    peer: SocketAddr,
    security: &ListenerSecurity,
    quorum: &Quorum,
    brokers: &dyn BrokerRpcHandler,
) -> io::Result<()> {
    stream.set_nodelay(true)?;
    match &security.tls {
        None => serve_connection(stream, peer, security, quorum, brokers).await,
        Some(tls) => match tls.accept(stream, peer).await {
            Some((stream, _principal)) => {
                serve_connection(stream, peer, security, quorum, brokers).await
            }
            None => Ok(()),
        },
    }
}

async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    security: &ListenerSecurity,
    quorum: &Quorum,
    brokers: &dyn BrokerRpcHandler,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = BufReader::new(reader);
    if let Some(sasl) = &security.sasl {
        if !authenticate(&mut reader, &mut writer, peer, &security.listener, sasl).await? {
            return Ok(());
        }
    }
    while let Some(request) = rpc::read_frame::<_, ControllerRequest>(&mut reader).await? {
        let response = match request {
            ControllerRequest::Raft(req) => {
                ControllerResponse::Raft(quorum.handle_raft(*req).await)
            }
            ControllerRequest::Broker(req) => ControllerResponse::Broker(brokers.handle(req).await),
            // Kafka answers a second handshake with ILLEGAL_SASL_STATE and closes.
            ControllerRequest::SaslHandshake { .. }
            | ControllerRequest::SaslAuthenticate { .. } => {
                let message = format!(
                    "Unexpected SASL request on controller listener {}: the connection is {}",
                    security.listener,
                    if security.sasl.is_some() {
                        "authenticated already"
                    } else {
                        "not a SASL one"
                    }
                );
                rpc::write_frame(
                    &mut writer,
                    &ControllerResponse::AuthenticationFailed { message },
                )
                .await?;
                return Ok(());
            }
        };
        rpc::write_frame(&mut writer, &response).await?;
    }
    Ok(())
}

/// The server's side of a SASL exchange in the controller framing (Kafka's
/// `SaslServerAuthenticator`); true once the peer is authenticated. A failure is logged
/// as Kafka logs it, answered with Kafka's message and the connection closed.
async fn authenticate<R, W>(
    reader: &mut R,
    writer: &mut W,
    peer: SocketAddr,
    listener: &str,
    sasl: &SaslAcceptor,
) -> io::Result<bool>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let fail = |message: String| ControllerResponse::AuthenticationFailed { message };
    let Some(request) = rpc::read_frame::<_, ControllerRequest>(reader).await? else {
        return Ok(false);
    };
    let mechanism = match request {
        ControllerRequest::SaslHandshake { mechanism } => mechanism,
        other => {
            let kind = match other {
                ControllerRequest::Raft(_) => "a Raft request",
                ControllerRequest::Broker(_) => "a broker request",
                _ => "a SASL token",
            };
            tracing::info!(
                "Failed authentication with /{} (Unexpected request on SASL controller listener {listener}: {kind} before the SASL handshake)",
                peer.ip()
            );
            let message = format!(
                "Unexpected request during SASL handshake on controller listener {listener}: authenticate first"
            );
            rpc::write_frame(writer, &fail(message)).await?;
            return Ok(false);
        }
    };
    let server = sasl
        .enabled_mechanisms
        .contains(&mechanism)
        .then(|| SaslMechanism::from_name(&mechanism))
        .flatten()
        .zip(sasl.jaas.get(&mechanism))
        .map(|(m, module)| SaslServer::new(m, module));
    let mut server = match server {
        Some(Ok(server)) => server,
        Some(Err(e)) => {
            tracing::warn!("controller listener {listener}: cannot serve {mechanism}: {e}");
            rpc::write_frame(
                writer,
                &fail(format!("Unsupported SASL mechanism {mechanism}")),
            )
            .await?;
            return Ok(false);
        }
        None => {
            tracing::info!(
                "Failed authentication with /{} (Unsupported SASL mechanism {mechanism} on controller listener {listener})",
                peer.ip()
            );
            let answer = ControllerResponse::SaslHandshake {
                error: Some(format!("Unsupported SASL mechanism {mechanism}")),
                enabled_mechanisms: sasl.enabled_mechanisms.clone(),
            };
            rpc::write_frame(writer, &answer).await?;
            return Ok(false);
        }
    };
    let answer = ControllerResponse::SaslHandshake {
        error: None,
        enabled_mechanisms: sasl.enabled_mechanisms.clone(),
    };
    rpc::write_frame(writer, &answer).await?;
    loop {
        let Some(request) = rpc::read_frame::<_, ControllerRequest>(reader).await? else {
            return Ok(false);
        };
        let ControllerRequest::SaslAuthenticate { token } = request else {
            tracing::info!(
                "Failed authentication with /{} (Unexpected request on controller listener {listener} before the SASL exchange completed)",
                peer.ip()
            );
            let message = format!(
                "Unexpected request during SASL authentication on controller listener {listener}"
            );
            rpc::write_frame(writer, &fail(message)).await?;
            return Ok(false);
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        match server.evaluate(&token.0, &*sasl.credentials, now_ms) {
            Ok(SaslStep::Continue(response)) => {
                let answer = ControllerResponse::SaslAuthenticate {
                    token: SaslToken(response),
                    complete: false,
                };
                rpc::write_frame(writer, &answer).await?;
            }
            Ok(SaslStep::Complete {
                response,
                authenticated,
            }) => {
                tracing::debug!(
                    "controller listener {listener}: /{} authenticated as User:{} with {mechanism}",
                    peer.ip(),
                    authenticated.user
                );
                let answer = ControllerResponse::SaslAuthenticate {
                    token: SaslToken(response),
                    complete: true,
                };
                rpc::write_frame(writer, &answer).await?;
                return Ok(true);
            }
            Err(failure) => {
                let message = failure.client_message(server.mechanism(), false);
                tracing::info!(
                    "Failed authentication with /{} ({message}) on controller listener {listener}",
                    peer.ip()
                );
                rpc::write_frame(writer, &fail(message)).await?;
                return Ok(false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rafka_security::scram::ScramMechanism;
    use tokio::io::AsyncWriteExt;

    use super::*;

    /// Answers every broker request with an error naming the request kind.
    #[derive(Debug)]
    struct EchoKind;

    impl BrokerRpcHandler for EchoKind {
        fn handle(
            &self,
            req: BrokerRequest,
        ) -> Pin<Box<dyn Future<Output = BrokerResponse> + Send + '_>> {
            Box::pin(async move {
                let kind = format!("{req:?}");
                BrokerResponse::Error {
                    code: 0,
                    message: kind.split_whitespace().next().unwrap_or("").to_string(),
                }
            })
        }
    }

    /// A one-voter quorum whose controller listener is bound, not served yet: its data
    /// dir (kept alive by the caller), the listener, its address, the quorum.
    async fn single_voter() -> (tempfile::TempDir, TcpListener, String, Quorum) {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let quorum = Quorum::start(crate::quorum::QuorumConfig::new(
            0,
            [(0, addr.clone())].into(),
            dir.path().to_path_buf(),
        ))
        .await
        .unwrap();
        (dir, listener, addr, quorum)
    }

    #[tokio::test]
    async fn broker_requests_are_answered_in_order_and_bad_frames_close_only_their_connection() {
        let (_dir, listener, addr, quorum) = single_voter().await;
        let server = tokio::spawn(serve(
            listener,
            quorum.clone(),
            Arc::new(EchoKind),
            Arc::default(),
        ));

        let mut client =
            ControllerClient::connect(&addr, Duration::from_secs(5), &Default::default())
                .await
                .unwrap();
        let mut bad = TcpStream::connect(&addr).await.unwrap();
        bad.write_all(&[0, 0, 0, 3, b'{', b'x', b'}'])
            .await
            .unwrap();
        let mut rest = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut bad, &mut rest)
            .await
            .unwrap();
        assert!(
            rest.is_empty(),
            "a malformed frame gets no answer, just a close"
        );

        for (req, kind) in [
            (
                BrokerRequest::DeleteTopic { name: "a".into() },
                "DeleteTopic",
            ),
            (
                BrokerRequest::SetBrokerConfigs {
                    node: None,
                    configs: Default::default(),
                },
                "SetBrokerConfigs",
            ),
        ] {
            let response = client.call(ControllerRequest::Broker(req)).await.unwrap();
            let ControllerResponse::Broker(BrokerResponse::Error { message, .. }) = response else {
                panic!("unexpected {response:?}");
            };
            assert_eq!(message, kind);
        }
        server.abort();
        quorum.shutdown().await;
    }

    fn sasl_client(mechanism: &str, user: &str, password: &str) -> rafka_client::ClientSecurity {
        rafka_client::ClientSecurity {
            tls: None,
            sasl: Some(rafka_client::SaslSettings {
                mechanism: mechanism.to_string(),
                options: [
                    ("username".to_string(), user.to_string()),
                    ("password".to_string(), password.to_string()),
                ]
                .into(),
            }),
        }
    }

    #[tokio::test]
    async fn a_sasl_controller_listener_serves_only_authenticated_peers() {
        let (_dir, listener, addr, quorum) = single_voter().await;
        let plain = rafka_security::jaas::parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required user_c="c-secret";"#,
        )
        .unwrap()
        .remove(0);
        let scram = rafka_security::jaas::parse(
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        )
        .unwrap()
        .remove(0);
        // The SCRAM user exists only in the bootstrap credentials (nothing committed).
        let bootstrap = (
            "s".to_string(),
            "SCRAM-SHA-256".to_string(),
            ScramCredential::generate(ScramMechanism::Sha256, b"s-secret", b"salt", 4096),
        );
        let security = ListenerSecurity {
            listener: "CONTROLLER".into(),
            tls: None,
            sasl: Some(SaslAcceptor {
                enabled_mechanisms: vec!["PLAIN".into(), "SCRAM-SHA-256".into()],
                jaas: [
                    ("PLAIN".to_string(), plain),
                    ("SCRAM-SHA-256".to_string(), scram),
                ]
                .into(),
                credentials: Arc::new(ControllerScramCredentials::new(quorum.image(), [bootstrap])),
            }),
        };
        let server = tokio::spawn(serve(
            listener,
            quorum.clone(),
            Arc::new(EchoKind),
            Arc::new(security),
        ));
        let timeout = Duration::from_secs(5);
        let delete = || ControllerRequest::Broker(BrokerRequest::DeleteTopic { name: "a".into() });

        for (mechanism, user, password) in [
            ("PLAIN", "c", "c-secret"),
            ("SCRAM-SHA-256", "s", "s-secret"),
        ] {
            let security = sasl_client(mechanism, user, password);
            let mut client = ControllerClient::connect(&addr, timeout, &security)
                .await
                .unwrap();
            let response = client.call(delete()).await.unwrap();
            let ControllerResponse::Broker(BrokerResponse::Error { message, .. }) = response else {
                panic!("{mechanism}: unexpected {response:?}");
            };
            assert_eq!(message, "DeleteTopic");
        }

        let refused = |security: rafka_client::ClientSecurity| {
            let addr = addr.clone();
            async move {
                ControllerClient::connect(&addr, timeout, &security)
                    .await
                    .unwrap_err()
            }
        };
        let wrong = refused(sasl_client("PLAIN", "c", "wrong")).await;
        assert_eq!(wrong.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(
            wrong.to_string(),
            "Authentication failed: Invalid username or password"
        );
        let wrong = refused(sasl_client("SCRAM-SHA-256", "s", "wrong")).await;
        assert_eq!(
            wrong.to_string(),
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
        );
        let unknown = refused(sasl_client("SCRAM-SHA-512", "s", "s-secret")).await;
        assert_eq!(
            unknown.to_string(),
            "Client SASL mechanism 'SCRAM-SHA-512' not enabled in the server, enabled mechanisms are [PLAIN, SCRAM-SHA-256]"
        );

        // No authentication at all: the request is refused, and the connection closed.
        let mut anonymous = ControllerClient::connect(&addr, timeout, &Default::default())
            .await
            .unwrap();
        let response = anonymous.call(delete()).await.unwrap();
        let ControllerResponse::AuthenticationFailed { message } = response else {
            panic!("unexpected {response:?}");
        };
        assert!(message.contains("authenticate first"), "{message}");
        assert!(anonymous.call(delete()).await.is_err());
        server.abort();
        quorum.shutdown().await;
    }
}
