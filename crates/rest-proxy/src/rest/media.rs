//! Media types (Confluent's `Versions.java`) and request bodies: which `Content-Type` a
//! request may carry, which `Accept` it can be answered in, and JSON bodies parsed with
//! the errors rest-utils gives (400 for JSON that does not parse, 422 for JSON of the
//! wrong shape).

use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;

use super::errors::RestError;

pub const KAFKA_V2_JSON: &str = "application/vnd.kafka.v2+json";
pub const KAFKA_V2_JSON_BINARY: &str = "application/vnd.kafka.binary.v2+json";
pub const KAFKA_V2_JSON_JSON: &str = "application/vnd.kafka.json.v2+json";
pub const KAFKA_JSON: &str = "application/vnd.kafka+json";
pub const JSON: &str = "application/json";

/// The embedded format of v2 keys and values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EmbeddedFormat {
    /// base64 strings, the bytes as they are in Kafka (Confluent's default).
    #[default]
    Binary,
    /// Any JSON value, stored as its JSON text.
    Json,
}

impl EmbeddedFormat {
    pub fn name(self) -> &'static str {
        match self {
            EmbeddedFormat::Binary => "binary",
            EmbeddedFormat::Json => "json",
        }
    }

    /// The v2 media type whose records are in this format.
    pub fn media_type(self) -> &'static str {
        match self {
            EmbeddedFormat::Binary => KAFKA_V2_JSON_BINARY,
            EmbeddedFormat::Json => KAFKA_V2_JSON_JSON,
        }
    }
}

/// The bare media type of a header value: parameters dropped, lower case.
fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The request's `Content-Type`, bare; `None` when absent.
pub fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(essence)
}

/// The embedded format a v2 produce request's `Content-Type` names; 415 for the schema
/// formats (no schema registry here) and anything that is not Kafka's JSON.
pub fn produce_format(headers: &HeaderMap) -> Result<EmbeddedFormat, RestError> {
    match content_type(headers).as_deref() {
        Some(KAFKA_V2_JSON_BINARY | KAFKA_V2_JSON | KAFKA_JSON | JSON) => {
            Ok(EmbeddedFormat::Binary)
        }
        Some(KAFKA_V2_JSON_JSON) => Ok(EmbeddedFormat::Json),
        _ => Err(RestError::unsupported_media_type()),
    }
}

/// The first of `offered` (in our order of preference) that the request's `Accept`
/// allows; `None` when it allows none of them. No `Accept` allows anything.
pub fn negotiate(headers: &HeaderMap, offered: &[&'static str]) -> Option<&'static str> {
    let accepted: Vec<(String, f32)> = headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|range| {
            let quality = range
                .split(';')
                .skip(1)
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse().ok())
                .unwrap_or(1.0);
            (essence(range), quality)
        })
        .filter(|(range, _)| !range.is_empty())
        .collect();
    if accepted.is_empty() {
        return offered.first().copied();
    }
    // A range with q=0 names what is not acceptable: it allows nothing.
    let allows = |offer: &str, range: &str| {
        range == "*/*"
            || range == offer
            || range
                .strip_suffix("/*")
                .is_some_and(|kind| offer.split('/').next() == Some(kind))
    };
    offered.iter().copied().find(|offer| {
        accepted
            .iter()
            .any(|(range, quality)| *quality > 0.0 && allows(offer, range))
    })
}

/// Parses a JSON request body. `content_types` are the media types the route consumes;
/// a body in any other is 415.
pub fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    content_types: &[&str],
) -> Result<T, RestError> {
    match content_type(headers) {
        Some(ct) if content_types.contains(&ct.as_str()) => {}
        _ => return Err(RestError::unsupported_media_type()),
    }
    parse_json(body)
}

/// A JSON value from bytes, with rest-utils' answers for bad JSON.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, RestError> {
    serde_json::from_slice(body).map_err(|e| json_error(&e))
}

/// 400 for text that is not JSON (Jackson's `JsonParseException`), 422 for JSON that does
/// not fit (`JsonMappingException`).
pub fn json_error(e: &serde_json::Error) -> RestError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            RestError::bad_request(format!("Unexpected JSON input: {e}"))
        }
        Category::Data => RestError::unprocessable(format!("Unrecognized request entity: {e}")),
    }
}

/// The media types every v2 route consumes for its JSON bodies.
pub const V2_BODY_TYPES: &[&str] = &[
    KAFKA_V2_JSON,
    KAFKA_JSON,
    JSON,
    KAFKA_V2_JSON_BINARY,
    KAFKA_V2_JSON_JSON,
];

/// What v3 routes consume.
pub const V3_BODY_TYPES: &[&str] = &[JSON];

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, value.parse().unwrap());
        headers
    }

    #[test]
    fn accept_picks_our_preferred_type_it_allows() {
        let offered = [KAFKA_V2_JSON, KAFKA_JSON, JSON];
        assert_eq!(negotiate(&HeaderMap::new(), &offered), Some(KAFKA_V2_JSON));
        assert_eq!(negotiate(&accept("*/*"), &offered), Some(KAFKA_V2_JSON));
        assert_eq!(
            negotiate(&accept("application/json; charset=utf-8"), &offered),
            Some(JSON)
        );
        assert_eq!(
            negotiate(&accept("text/html, application/*;q=0.5"), &offered),
            Some(KAFKA_V2_JSON)
        );
        assert_eq!(negotiate(&accept("text/html"), &offered), None);
        assert_eq!(negotiate(&accept("application/json;q=0"), &offered), None);
    }

    #[test]
    fn bad_json_is_400_and_json_of_the_wrong_shape_422() {
        let syntax = parse_json::<serde_json::Value>(b"{\"records\":").unwrap_err();
        assert_eq!(syntax.error_code, 400);
        #[derive(Debug, serde::Deserialize)]
        struct Shape {
            #[allow(dead_code)]
            records: Vec<u8>,
        }
        let shape = parse_json::<Shape>(b"{\"records\":\"x\"}").unwrap_err();
        assert_eq!(shape.error_code, 422);
    }
}
