//! Kafka's wire protocol for rafka: length-prefixed framing, request decoding and response
//! encoding over the `kafka-protocol` crate, a zero-copy view of v2 record-batch headers,
//! and Kafka's error codes. Owns bytes only: it knows nothing of sockets or disks.

pub mod batch;
pub mod consumer_protocol;
pub mod error_code;
pub mod fetch_frame;
pub mod frame;
pub mod request;

pub use error_code::ErrorCode;
