//! A client's connection to one broker: plain TCP, or TLS when the security protocol is
//! SSL or SASL_SSL (the server's certificate checked against the trust store, and its
//! name against the address unless `ssl.endpoint.identification.algorithm` is empty).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rafka_security::tls::TlsSettings;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::TlsConnector;

/// A TLS client configuration, built once from its settings (the stores read then).
#[derive(Debug, Clone)]
pub struct ClientTls {
    pub settings: TlsSettings,
    config: Arc<rustls::ClientConfig>,
}

impl PartialEq for ClientTls {
    fn eq(&self, other: &ClientTls) -> bool {
        self.settings == other.settings
    }
}

impl Eq for ClientTls {}

impl ClientTls {
    pub fn new(settings: TlsSettings) -> Result<ClientTls, String> {
        let config = settings.client_config().map_err(|e| e.to_string())?;
        Ok(ClientTls { settings, config })
    }
}

/// A TCP connection, plain or inside TLS (`T`: the client's or the server's side of
/// tokio-rustls). The broker's listeners and rafka's clients both use it.
#[derive(Debug)]
pub enum MaybeTls<T> {
    Plain(TcpStream),
    Tls(Box<T>),
}

/// A connection to a broker.
pub type ClientStream = MaybeTls<TlsStream<TcpStream>>;

/// The host of `host:port` (`[::1]:9092` too), as the certificate must name it.
fn host_of(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

impl ClientStream {
    /// Connects to `address` (`host:port`), with TLS when `tls` is given.
    pub async fn connect(address: &str, tls: Option<&ClientTls>) -> std::io::Result<ClientStream> {
        let stream = TcpStream::connect(address).await?;
        let _ = stream.set_nodelay(true);
        let Some(tls) = tls else {
            return Ok(ClientStream::Plain(stream));
        };
        let name = rustls::pki_types::ServerName::try_from(host_of(address).to_string())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let stream = TlsConnector::from(tls.config.clone())
            .connect(name, stream)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("SSL handshake failed: {e}")))?;
        Ok(ClientStream::Tls(Box::new(stream)))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for MaybeTls<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for MaybeTls<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_of_an_address_is_what_the_certificate_names() {
        assert_eq!(super::host_of("localhost:9093"), "localhost");
        assert_eq!(super::host_of("127.0.0.1:9093"), "127.0.0.1");
        assert_eq!(super::host_of("[::1]:9093"), "::1");
    }
}
