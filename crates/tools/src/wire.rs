//! The raw-request client (`rafka-client`) as the tools use it: its errors as the tools
//! print them, a reachability check, and a codec check for the tools' tests.

use std::time::Duration;

use rafka_client::ClientError;

use crate::ToolError;

/// A broker that cannot be reached says so (`could not connect to the broker: …`); any
/// other failure is printed as it is.
impl From<ClientError> for ToolError {
    fn from(error: ClientError) -> ToolError {
        if error.is_unreachable() {
            ToolError::Unreachable(error.to_string())
        } else {
            ToolError::Failed(error.to_string())
        }
    }
}

/// Checks that a broker of `bootstrap` accepts a connection and answers ApiVersions, so
/// the tools built on librdkafka (which retries silently until its own timeout) fail fast
/// and in one line when nothing listens there.
pub fn ensure_reachable(bootstrap: &str, timeout: Duration) -> Result<(), ToolError> {
    crate::common::runtime()?
        .block_on(crate::common::connect(bootstrap, timeout))
        .map(drop)
        .map_err(ToolError::from)
}

/// Encodes `message` at `version` and decodes it back, checking that the size the codec
/// predicts is the size it writes: for the tools' tests of the requests they build.
#[cfg(test)]
pub(crate) fn round_trip<M>(message: &M, version: i16) -> M
where
    M: kafka_protocol::protocol::Encodable + kafka_protocol::protocol::Decodable,
{
    let mut buf = bytes::BytesMut::new();
    message.encode(&mut buf, version).expect("encodes");
    assert_eq!(message.compute_size(version).expect("sizes"), buf.len());
    M::decode(&mut buf.freeze(), version).expect("decodes")
}
