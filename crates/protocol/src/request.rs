//! Request headers in, responses out. Bodies are decoded by the broker with the
//! `kafka-protocol` message types, once it knows the API and version are ones it serves.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("request of {size} bytes is too short for a request header")]
    Truncated { size: usize },
    #[error("unknown API key {api_key} (correlation id {correlation_id})")]
    UnknownApiKey { api_key: i16, correlation_id: i32 },
    #[error("malformed {api_key:?} v{api_version} request header: {reason}")]
    InvalidHeader {
        api_key: ApiKey,
        api_version: i16,
        reason: String,
    },
    #[error("malformed {api_key:?} v{api_version} request: {reason}")]
    InvalidBody {
        api_key: ApiKey,
        api_version: i16,
        reason: String,
    },
    #[error("cannot encode {api_key:?} v{api_version} response: {reason}")]
    Encode {
        api_key: ApiKey,
        api_version: i16,
        reason: String,
    },
}

/// A parsed request header and the still-encoded body that follows it.
#[derive(Debug, Clone)]
pub struct RequestFrame {
    pub api_key: ApiKey,
    pub header: RequestHeader,
    pub body: Bytes,
}

impl RequestFrame {
    pub fn api_version(&self) -> i16 {
        self.header.request_api_version
    }

    pub fn correlation_id(&self) -> i32 {
        self.header.correlation_id
    }

    pub fn client_id(&self) -> &str {
        self.header.client_id.as_deref().unwrap_or("")
    }

    /// Decodes the body as `T` at the request's version. Bytes left after the schema's
    /// fields are ignored, as Kafka's own request parser ignores them (librdkafka 2.16
    /// sends three such bytes on some Metadata v13 requests).
    pub fn decode_body<T: Decodable>(&self) -> Result<T, RequestError> {
        let mut body = self.body.clone();
        let value =
            T::decode(&mut body, self.api_version()).map_err(|e| RequestError::InvalidBody {
                api_key: self.api_key,
                api_version: self.api_version(),
                reason: e.to_string(),
            })?;
        if !body.is_empty() {
            let start: Vec<String> = self
                .body
                .iter()
                .take(64)
                .map(|b| format!("{b:02x}"))
                .collect();
            tracing::debug!(
                "{:?} v{} request from {} has {} bytes after its fields (body {})",
                self.api_key,
                self.api_version(),
                self.client_id(),
                body.len(),
                start.join("")
            );
        }
        Ok(value)
    }
}

/// Splits a frame into header and body. The first eight bytes (api key, version,
/// correlation id) are read by hand so that an unknown key or a truncated frame is an error
/// rather than a panic, and so that a version we do not serve can still be answered.
pub fn parse_request(frame: Bytes) -> Result<RequestFrame, RequestError> {
    if frame.len() < 8 {
        return Err(RequestError::Truncated { size: frame.len() });
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let api_version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let api_key = ApiKey::try_from(raw_key).map_err(|_| RequestError::UnknownApiKey {
        api_key: raw_key,
        correlation_id,
    })?;
    // A version newer than the crate knows still has the newest header shape.
    let known = api_key.valid_versions();
    let header_version = api_key.request_header_version(api_version.clamp(known.min, known.max));
    let mut body = frame;
    let header = RequestHeader::decode(&mut body, header_version).map_err(|e| {
        RequestError::InvalidHeader {
            api_key,
            api_version,
            reason: e.to_string(),
        }
    })?;
    Ok(RequestFrame {
        api_key,
        header,
        body,
    })
}

/// An ApiVersions answer listing `supported` as (API key, min version, max version).
pub fn api_versions_response(supported: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(
        supported
            .iter()
            .map(|(key, min, max)| {
                ApiVersion::default()
                    .with_api_key(*key as i16)
                    .with_min_version(*min)
                    .with_max_version(*max)
            })
            .collect(),
    )
}

/// Encodes a whole response frame: size prefix, response header, body.
pub fn encode_response<R: Encodable>(
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    body: &R,
) -> Result<Bytes, RequestError> {
    let encode_error = |e: anyhow::Error| RequestError::Encode {
        api_key,
        api_version,
        reason: e.to_string(),
    };
    // ApiVersions answers always use header v0, so that a client that sent a version we do
    // not know can still read the error and the versions we do.
    let header_version = api_key.response_header_version(api_version);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_size = header.compute_size(header_version).map_err(encode_error)?;
    let body_size = body.compute_size(api_version).map_err(encode_error)?;
    let mut out = BytesMut::with_capacity(4 + header_size + body_size);
    out.put_i32((header_size + body_size) as i32);
    header
        .encode(&mut out, header_version)
        .map_err(encode_error)?;
    body.encode(&mut out, api_version).map_err(encode_error)?;
    debug_assert_eq!(out.len(), 4 + header_size + body_size);
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, MetadataRequest};
    use kafka_protocol::protocol::StrBytes;

    fn request_bytes<T: Encodable>(api_key: ApiKey, version: i16, body: &T) -> Bytes {
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(42)
            .with_client_id(Some(StrBytes::from_static_str("test")));
        let mut out = BytesMut::new();
        header
            .encode(&mut out, api_key.request_header_version(version))
            .unwrap();
        body.encode(&mut out, version).unwrap();
        out.freeze()
    }

    #[test]
    fn parses_flexible_header_and_body() {
        let frame = request_bytes(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
        let request = parse_request(frame).unwrap();
        assert_eq!(request.api_key, ApiKey::ApiVersions);
        assert_eq!(request.correlation_id(), 42);
        assert_eq!(request.client_id(), "test");
        let body: ApiVersionsRequest = request.decode_body().unwrap();
        assert_eq!(body, ApiVersionsRequest::default());
    }

    #[test]
    fn truncated_and_unknown_requests_are_errors_not_panics() {
        assert!(matches!(
            parse_request(Bytes::from_static(&[0, 18, 0])),
            Err(RequestError::Truncated { size: 3 })
        ));
        assert!(matches!(
            parse_request(Bytes::from_static(&[0x7f, 0, 0, 0, 0, 0, 0, 9])),
            Err(RequestError::UnknownApiKey {
                api_key: 0x7f00,
                correlation_id: 9
            })
        ));
        let mut frame = request_bytes(ApiKey::Metadata, 12, &MetadataRequest::default()).to_vec();
        frame.truncate(frame.len() - 1);
        let request = parse_request(Bytes::from(frame)).unwrap();
        assert!(request.decode_body::<MetadataRequest>().is_err());
    }

    #[test]
    fn strings_longer_than_an_int16_length_are_refused_as_kafka_refuses_them() {
        use kafka_protocol::messages::{InitProducerIdRequest, TransactionalId};
        let request_with = |length: usize| {
            let body = InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(StrBytes::from_string(
                    "t".repeat(length),
                ))))
                .with_transaction_timeout_ms(60_000);
            // v4 is flexible: a compact string could say any length.
            parse_request(request_bytes(ApiKey::InitProducerId, 4, &body)).unwrap()
        };
        let longest: InitProducerIdRequest = request_with(32_767).decode_body().unwrap();
        assert_eq!(
            longest.transactional_id.map(|id| id.len()),
            Some(32_767),
            "the longest string Kafka reads"
        );
        assert!(matches!(
            request_with(32_768).decode_body::<InitProducerIdRequest>(),
            Err(RequestError::InvalidBody { .. })
        ));
    }

    #[test]
    fn huge_array_count_does_not_reserve_memory() {
        // Metadata v4: topics array with a claimed 2^31-1 entries and nothing after it.
        let mut frame = request_bytes(ApiKey::Metadata, 4, &MetadataRequest::default()).to_vec();
        let len = frame.len();
        frame.truncate(len - 5);
        frame.extend_from_slice(&i32::MAX.to_be_bytes());
        let request = parse_request(Bytes::from(frame)).unwrap();
        assert!(request.decode_body::<MetadataRequest>().is_err());
    }

    /// Kafka 4.4's decoder limits: an array may claim at most 1,000,000 elements and a
    /// structure carry at most 10,000 tagged fields, whatever bytes follow.
    #[test]
    fn arrays_and_tagged_fields_beyond_kafkas_limits_are_refused() {
        let metadata_v4 = |count: i32, elements: usize| {
            let mut frame =
                request_bytes(ApiKey::Metadata, 4, &MetadataRequest::default()).to_vec();
            let len = frame.len();
            frame.truncate(len - 5);
            frame.extend_from_slice(&count.to_be_bytes());
            // Each topic: a name of length 0.
            frame.extend(std::iter::repeat_n([0u8, 0], elements).flatten());
            frame.push(0); // allow_auto_topic_creation
            parse_request(Bytes::from(frame)).unwrap()
        };
        let decoded = metadata_v4(1000, 1000)
            .decode_body::<MetadataRequest>()
            .unwrap();
        assert_eq!(decoded.topics.map(|t| t.len()), Some(1000));
        let limit = 1_000_000;
        let over = metadata_v4(limit + 1, limit as usize + 1);
        let error = over.decode_body::<MetadataRequest>().unwrap_err();
        assert!(error.to_string().contains("exceeds the limit"), "{error}");

        // ApiVersions v3 body: two empty compact strings, then the tagged field count.
        let tagged = |count: u32| {
            let mut frame =
                request_bytes(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).to_vec();
            frame.pop(); // the body's empty tagged fields
            let mut varint = count;
            while varint >= 0x80 {
                frame.push((varint as u8 & 0x7f) | 0x80);
                varint >>= 7;
            }
            frame.push(varint as u8);
            for tag in 0..count {
                frame.push(tag as u8 & 0x7f);
                frame.push(0); // empty value
            }
            parse_request(Bytes::from(frame)).unwrap()
        };
        assert!(tagged(3).decode_body::<ApiVersionsRequest>().is_ok());
        let error = tagged(10_001)
            .decode_body::<ApiVersionsRequest>()
            .unwrap_err();
        assert!(
            error.to_string().contains("tagged fields exceed"),
            "{error}"
        );
    }

    #[test]
    fn response_frame_is_size_prefixed() {
        let frame =
            encode_response(ApiKey::ApiVersions, 3, 7, &ApiVersionsResponse::default()).unwrap();
        let size = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(size, frame.len() - 4);
        assert_eq!(&frame[4..8], &7i32.to_be_bytes());
    }
}
