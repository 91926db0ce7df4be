//! Raw Kafka requests, for what `rdkafka` lacks: one request/response `exchange` over any
//! async stream (the broker's replica fetcher uses it), and `WireClient`, a connection
//! to one broker for the admin calls the tools make (DescribeLogDirs, DescribeCluster,
//! ApiVersions per broker, …).
//!
//! Every response's announced size is bounded before it is read, as the server bounds a
//! request's: a peer cannot make a client allocate what it announces.
//!
//! It knows nothing of the broker: it is a Kafka client like any other, so the tools built
//! on it also test the broker through an implementation of their own.

pub mod exchange;
pub mod pool;
pub mod security;
pub mod transport;
pub mod wire;

pub use exchange::{exchange, ExchangeError, DEFAULT_MAX_RESPONSE_BYTES};
pub use pool::WirePool;
pub use security::{authenticate, ClientSecurity, SaslSettings};
pub use transport::{ClientStream, ClientTls, MaybeTls};
pub use wire::{connect_within, connect_within_secured, BrokerNode, ClientError, WireClient};

/// The Java client's message for a Kafka error: the broker's own text when it sent one,
/// else the standard description of the code. `None` for code 0.
pub fn kafka_error_message(code: i16, message: Option<&str>) -> Option<String> {
    if code == 0 {
        return None;
    }
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        return Some(m.to_string());
    }
    Some(
        match rafka_protocol::error_code::ErrorCode::try_from_code(code) {
            Some(e) => e.description().to_string(),
            None => format!("Unexpected error code: {code}."),
        },
    )
}
