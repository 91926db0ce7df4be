//! The TLS side of an SSL or SASL_SSL listener: its rustls configuration, reloaded when
//! the key or trust store files change, the handshake of each new connection, and the
//! principal of an mTLS client (its certificate's subject through
//! `ssl.principal.mapping.rules`; `User:ANONYMOUS` without a certificate).
//!
//! Reloading: Kafka reloads a listener's stores on a dynamic update of its `ssl.*`
//! configs (AlterConfigs). rafka polls instead: before a handshake, at most once a second,
//! it compares the stores' modification times with those it loaded, and loads them anew
//! when one changed. A store that no longer loads (a half-written file) is logged and the
//! previous configuration kept; connections already open keep their session.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use rafka_config::ssl::SslListener;
use rafka_security::principal::SslPrincipalMapper;
use rafka_security::tls::{modification_times, subject_name, TlsSettings};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::session::ANONYMOUS;

/// How long a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the stores' files are looked at for changes.
const RELOAD_CHECK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct ListenerTls {
    listener: String,
    settings: TlsSettings,
    mapper: SslPrincipalMapper,
    loaded: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    config: Arc<tokio_rustls::rustls::ServerConfig>,
    modified: Vec<Option<SystemTime>>,
    checked: Instant,
}

impl ListenerTls {
    /// Loads the listener's stores; a store that does not load fails start-up.
    pub(crate) fn new(listener: &str, ssl: &SslListener) -> Result<ListenerTls, String> {
        let modified = modification_times(&ssl.tls.files());
        let config = ssl
            .tls
            .server_config()
            .map_err(|e| format!("listener {listener}: {e}"))?;
        Ok(ListenerTls {
            listener: listener.to_string(),
            settings: ssl.tls.clone(),
            mapper: ssl.principal_mapper(),
            loaded: Mutex::new(Loaded {
                config,
                modified,
                checked: Instant::now(),
            }),
        })
    }

    /// The current configuration, loaded anew if a store's file changed.
    fn config(&self) -> Arc<tokio_rustls::rustls::ServerConfig> {
        let mut loaded = self.loaded.lock();
        if loaded.checked.elapsed() >= RELOAD_CHECK_INTERVAL {
            loaded.checked = Instant::now();
            let modified = modification_times(&self.settings.files());
            if modified != loaded.modified {
                loaded.modified = modified;
                match self.settings.server_config() {
                    Ok(config) => {
                        tracing::info!(
                            "listener {}: reloaded its key and trust stores",
                            self.listener
                        );
                        loaded.config = config;
                    }
                    Err(e) => tracing::error!(
                        "listener {}: cannot reload its stores, keeping the previous ones: {e}",
                        self.listener
                    ),
                }
            }
        }
        loaded.config.clone()
    }

    /// Runs the server side of the handshake and names the client. A failure is logged
    /// with the peer and the reason (rustls' errors carry no secret) and closes only this
    /// connection.
    pub(crate) async fn accept(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> Option<(Box<TlsStream<TcpStream>>, String)> {
        let acceptor = TlsAcceptor::from(self.config());
        let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::info!(
                    "Failed authentication with /{} (SSL handshake failed on listener {}: {e})",
                    peer.ip(),
                    self.listener
                );
                return None;
            }
            Err(_) => {
                tracing::info!(
                    "Failed authentication with /{} (SSL handshake on listener {} not finished within {} s)",
                    peer.ip(),
                    self.listener,
                    HANDSHAKE_TIMEOUT.as_secs()
                );
                return None;
            }
        };
        let certificate = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref().to_vec());
        let principal = match certificate {
            None => ANONYMOUS.to_string(),
            Some(der) => match self.principal(&der) {
                Ok(principal) => principal,
                Err(e) => {
                    tracing::info!(
                        "Failed authentication with /{} (SSL principal on listener {}: {e})",
                        peer.ip(),
                        self.listener
                    );
                    return None;
                }
            },
        };
        Some((Box::new(stream), principal))
    }

    /// `User:<name>`, the name mapped from the certificate's subject.
    fn principal(&self, certificate_der: &[u8]) -> Result<String, String> {
        let subject = subject_name(certificate_der).map_err(|e| e.to_string())?;
        let name = self.mapper.name(&subject).map_err(|e| e.to_string())?;
        Ok(format!("User:{name}"))
    }
}

/// The controller listener's TLS side is a listener's like any other.
impl rafka_metadata::server::AcceptTls for ListenerTls {
    fn accept(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Option<(Box<TlsStream<TcpStream>>, String)>>
                + Send
                + '_,
        >,
    > {
        Box::pin(ListenerTls::accept(self, stream, peer))
    }
}
