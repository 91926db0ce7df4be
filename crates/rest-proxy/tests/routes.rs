//! The REST proxy's answers that need no cluster: routing (404, 405), media types (415,
//! 406), bad bodies (400, 422), consumer-instance bookkeeping (40403, 40902, 42204) and
//! URLs built from `Host`. The proxy points at a port nothing listens on, so any answer
//! that reached Kafka would be a 500.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use rafka_rest_proxy::config::ProxyConfig;
use rafka_rest_proxy::rest::{router, state::Proxy};
use serde_json::{json, Value};
use tower::ServiceExt;

fn app() -> axum::Router {
    let props: BTreeMap<String, String> = [
        ("bootstrap.servers", "127.0.0.1:1"),
        ("listeners", "http://127.0.0.1:0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = ProxyConfig::from_props(props).unwrap();
    router(Arc::new(Proxy::new(config).unwrap()))
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, String, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, content_type, body)
}

/// The status and Confluent `error_code` of an error answer.
async fn error(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, i64) {
    let (status, _, body) = send(app, method, uri, headers, body).await;
    (status, body["error_code"].as_i64().unwrap_or_default())
}

const BINARY: &str = "application/vnd.kafka.binary.v2+json";
const V2: &str = "application/vnd.kafka.v2+json";

#[tokio::test]
async fn unknown_routes_and_methods_answer_jerseys_errors() {
    let app = app();
    let (status, _, body) = send(&app, "GET", "/nowhere", &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error_code": 404, "message": "HTTP 404 Not Found"})
    );
    let answer = error(&app, "PUT", "/topics", &[], "").await;
    assert_eq!(answer, (StatusCode::METHOD_NOT_ALLOWED, 405));
}

#[tokio::test]
async fn v2_produce_checks_media_type_and_json_before_asking_kafka() {
    let app = app();
    let text = [("content-type", "text/plain")];
    let answer = error(&app, "POST", "/topics/t", &text, "{}").await;
    assert_eq!(answer, (StatusCode::UNSUPPORTED_MEDIA_TYPE, 415));
    let binary = [("content-type", BINARY)];
    let (status, content_type, body) =
        send(&app, "POST", "/topics/t", &binary, "{\"records\":[").await;
    assert_eq!(
        (status, body["error_code"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(400))
    );
    assert_eq!(content_type, V2, "v2 errors come in the v2 media type");
    let answer = error(&app, "POST", "/topics/t", &binary, "{\"records\":\"none\"}").await;
    assert_eq!(answer, (StatusCode::UNPROCESSABLE_ENTITY, 422));
    let html = [("content-type", BINARY), ("accept", "text/html")];
    let answer = error(&app, "POST", "/topics/t", &html, "{\"records\":[]}").await;
    assert_eq!(answer, (StatusCode::NOT_ACCEPTABLE, 406));
}

#[tokio::test]
async fn v2_consumer_instances_are_created_once_and_found_by_name() {
    let app = app();
    let headers = [("content-type", V2), ("host", "proxy.example:8082")];
    let create = "{\"name\":\"c\",\"format\":\"json\"}";
    let (status, content_type, body) = send(&app, "POST", "/consumers/g", &headers, create).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(content_type, V2);
    assert_eq!(
        body,
        json!({"instance_id": "c", "base_uri": "http://proxy.example:8082/consumers/g/instances/c"})
    );
    let again = error(&app, "POST", "/consumers/g", &headers, create).await;
    assert_eq!(again, (StatusCode::CONFLICT, 40902));
    let avro = error(
        &app,
        "POST",
        "/consumers/g",
        &headers,
        "{\"format\":\"avro\"}",
    )
    .await;
    assert_eq!(avro, (StatusCode::UNPROCESSABLE_ENTITY, 42204));
    let records = "/consumers/g/instances/c/records";
    let mismatch = error(&app, "GET", records, &[("accept", BINARY)], "").await;
    assert_eq!(mismatch, (StatusCode::NOT_ACCEPTABLE, 40601));
    let both = "{\"topics\":[\"a\"],\"topic_pattern\":\"b.*\"}";
    let subscription = "/consumers/g/instances/c/subscription";
    let answer = error(&app, "POST", subscription, &headers, both).await;
    assert_eq!(answer, (StatusCode::UNPROCESSABLE_ENTITY, 422));
    let (status, _, _) = send(&app, "DELETE", "/consumers/g/instances/c", &[], "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = send(&app, "DELETE", "/consumers/g/instances/c", &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error_code": 40403, "message": "Consumer instance not found."})
    );
}

#[tokio::test]
async fn v3_refuses_unacceptable_accept_before_asking_kafka() {
    let app = app();
    let html = error(&app, "GET", "/v3/clusters", &[("accept", "text/html")], "").await;
    assert_eq!(html, (StatusCode::NOT_ACCEPTABLE, 406));
    // With nobody listening, Kafka's errors are 500s with the retriable code.
    let down = error(&app, "GET", "/v3/clusters", &[], "").await;
    assert_eq!(down, (StatusCode::INTERNAL_SERVER_ERROR, 50003));
}
