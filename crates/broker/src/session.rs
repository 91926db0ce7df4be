//! Who is on the other end of a connection: the authenticated principal (Kafka's
//! `RequestContext.principal`), the client's address and the listener it came in on.
//! The handlers get it with each request; the authorizer decides on its principal and
//! host.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Kafka's principal for a connection no mechanism authenticated (PLAINTEXT, or SSL
/// without a client certificate).
pub const ANONYMOUS: &str = "User:ANONYMOUS";

#[derive(Debug, Clone)]
pub struct Session {
    /// `Type:name`, as Kafka's `KafkaPrincipal.toString()`: `User:alice`.
    pub principal: String,
    pub peer: SocketAddr,
    /// The listener's name (`PLAINTEXT`, `SASL_SSL`, … or a custom one).
    pub listener: String,
    /// This broker's number for the client connection, unique while it runs (what
    /// ends with the connection, such as share sessions, is found by it).
    pub connection: u64,
}

impl Session {
    /// A session nobody has authenticated yet.
    pub fn anonymous(peer: SocketAddr, listener: &str) -> Session {
        static CONNECTIONS: AtomicU64 = AtomicU64::new(1);
        Session {
            principal: ANONYMOUS.to_string(),
            peer,
            listener: listener.to_string(),
            connection: CONNECTIONS.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The client's host as Kafka writes it in group descriptions: `/127.0.0.1`.
    pub fn client_host(&self) -> String {
        format!("/{}", self.peer.ip())
    }

    /// The client's address as ACLs name hosts: `127.0.0.1`.
    pub fn host(&self) -> String {
        self.peer.ip().to_string()
    }
}
