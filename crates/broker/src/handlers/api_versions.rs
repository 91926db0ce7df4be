//! ApiVersions: the first request of every client. A version we do not serve gets the v0
//! answer with UNSUPPORTED_VERSION and our table, so the client can retry with one we do.

use bytes::Bytes;
use kafka_protocol::messages::ApiVersionsRequest;
use rafka_protocol::request::{api_versions_response, encode_response, RequestError, RequestFrame};
use rafka_protocol::ErrorCode;

use super::SUPPORTED_APIS;

pub(super) fn handle(request: &RequestFrame) -> Result<Bytes, RequestError> {
    let version = request.api_version();
    let (min, max) = super::supported_versions(request.api_key).unwrap_or((0, 0));
    let mut response = api_versions_response(SUPPORTED_APIS);
    if !(min..=max).contains(&version) {
        response.error_code = ErrorCode::UnsupportedVersion.code();
        return encode_response(request.api_key, 0, request.correlation_id(), &response);
    }
    match request.decode_body::<ApiVersionsRequest>() {
        Ok(body) => {
            if version >= 3
                && !(valid_software_field(&body.client_software_name)
                    && valid_software_field(&body.client_software_version))
            {
                response.error_code = ErrorCode::InvalidRequest.code();
            }
        }
        Err(_) => response.error_code = ErrorCode::InvalidRequest.code(),
    }
    encode_response(
        request.api_key,
        version,
        request.correlation_id(),
        &response,
    )
}

/// Kafka's rule for client_software_name/version: `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
fn valid_software_field(value: &str) -> bool {
    let bytes = value.as_bytes();
    let edge = |b: &u8| b.is_ascii_alphanumeric();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            edge(first)
                && edge(last)
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_names_follow_kafka_pattern() {
        assert!(valid_software_field("librdkafka"));
        assert!(valid_software_field("2.12.0"));
        assert!(valid_software_field("apache-kafka-java"));
        assert!(!valid_software_field(""));
        assert!(!valid_software_field("-x"));
        assert!(!valid_software_field("a b"));
    }
}
