//! Request forwarding between workers (Kafka's `HerderRequestHandler`): a request that
//! this worker cannot serve — a config write on a worker that is not the leader, a
//! restart of a task that runs elsewhere — is sent on to the worker that can, and its
//! answer returned as it came.
//!
//! The `forward` query parameter bounds the hops as Kafka does: a user's request (no
//! parameter) may be forwarded with `forward=true`, which may be forwarded once more
//! with `forward=false`, which may not be forwarded at all (409: the target moved, most
//! likely in a rebalance).
//!
//! The herder says "not here" by returning `RuntimeError::Forward`; its response carries
//! a `ForwardTarget` extension that the `forwarding` middleware acts on, so every route
//! gets forwarding without knowing of it.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Where a request must go instead (`None`: no leader is known right now).
#[derive(Debug, Clone)]
pub struct ForwardTarget(pub Option<String>);

/// Kafka's limit on a forwarded request (`RestServer.DEFAULT_REST_REQUEST_TIMEOUT_MS`).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(90);
/// Bodies of Connect requests are connector configs: small.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The query's `forward` flag: `None` when absent (a user's request).
fn forward_flag(query: Option<&str>) -> Option<bool> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == "forward")
        .map(|(_, v)| v.eq_ignore_ascii_case("true"))
}

/// The query without its `forward` pair, then `forward=<next>`.
fn forwarded_query(query: Option<&str>, next: bool) -> String {
    let mut pairs: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("forward="))
        .collect();
    let flag = format!("forward={next}");
    pairs.insert(0, &flag);
    pairs.join("&")
}

fn conflict(message: &str) -> Response {
    (
        StatusCode::CONFLICT,
        axum::Json(serde_json::json!({"error_code": 409, "message": message})),
    )
        .into_response()
}

/// The middleware: runs the route, and forwards the request when the route asked.
pub async fn forwarding(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(
                    serde_json::json!({"error_code": 400, "message": format!("Cannot read the request body: {e}")}),
                ),
            )
                .into_response()
        }
    };
    let response = next
        .run(Request::from_parts(parts.clone(), Body::from(body.clone())))
        .await;
    let Some(ForwardTarget(target)) = response.extensions().get::<ForwardTarget>().cloned() else {
        return response;
    };
    let query = parts.uri.query();
    let flag = forward_flag(query);
    if flag == Some(false) {
        tracing::error!(
            "Request '{} {}' failed because it couldn't find the target Connect worker within two hops (between workers).",
            parts.method,
            parts.uri.path()
        );
        return conflict(
            "Cannot complete request because of a conflicting operation (e.g. worker rebalance)",
        );
    }
    let Some(target) = target else {
        return conflict(
            "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.",
        );
    };
    let url = format!(
        "{}{}?{}",
        target.trim_end_matches('/'),
        parts.uri.path(),
        forwarded_query(query, flag.is_none())
    );
    tracing::debug!("Forwarding request {} {url}", parts.method);
    match send(parts.method, &url, &parts.headers, body).await {
        Ok(response) => response,
        Err(message) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({"error_code": 500, "message": message})),
        )
            .into_response(),
    }
}

/// Sends one request to another worker and returns its answer (status, content type,
/// location and body).
pub async fn send(
    method: axum::http::Method,
    url: &str,
    headers: &axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
    let mut request = axum::http::Request::builder().method(method).uri(url);
    let passed = [
        header::CONTENT_TYPE.as_str(),
        header::ACCEPT.as_str(),
        header::AUTHORIZATION.as_str(),
        SIGNATURE_HEADER,
        SIGNATURE_ALGORITHM_HEADER,
    ];
    for name in passed {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    let request = request
        .body(Body::from(body))
        .map_err(|e| format!("IO Error trying to forward REST request: {e}"))?;
    let answer = tokio::time::timeout(FORWARD_TIMEOUT, client.request(request))
        .await
        .map_err(|_| "Request timed out".to_string())?
        .map_err(|e| format!("IO Error trying to forward REST request: {e}"))?;
    let (parts, body) = answer.into_parts();
    let bytes = body
        .collect()
        .await
        .map_err(|e| format!("IO Error trying to forward REST request: {e}"))?
        .to_bytes();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = parts.status;
    for name in [header::CONTENT_TYPE, header::LOCATION] {
        if let Some(value) = parts.headers.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    Ok(response)
}

/// The headers of Kafka's signed internal requests (`InternalRequestSignature`).
pub const SIGNATURE_HEADER: &str = "X-Connect-Authorization";
pub const SIGNATURE_ALGORITHM_HEADER: &str = "X-Connect-Request-Signature-Algorithm";

/// A JSON content type for requests this worker makes itself.
pub fn json_headers() -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::RawQuery;
    use axum::routing::put;
    use axum::Router;

    /// A worker whose `/x` either forwards to `next` or answers with what it got.
    async fn worker(next: Option<Option<String>>) -> String {
        let app = Router::new()
            .route(
                "/x",
                put(move |RawQuery(query): RawQuery, body: Bytes| {
                    let next = next.clone();
                    async move {
                        match next {
                            Some(url) => crate::error::RuntimeError::Forward {
                                message: "Only the leader can do that.".into(),
                                url,
                            }
                            .into_response(),
                            None => (
                                StatusCode::CREATED,
                                [(header::LOCATION, "/x/1")],
                                axum::Json(serde_json::json!({
                                    "query": query,
                                    "body": String::from_utf8_lossy(&body),
                                })),
                            )
                                .into_response(),
                        }
                    }
                }),
            )
            .layer(axum::middleware::from_fn(forwarding));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    async fn call(url: &str, query: &str) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = send(
            axum::http::Method::PUT,
            &format!("{url}/x{query}"),
            &json_headers(),
            Bytes::from_static(b"{\"a\":1}"),
        )
        .await
        .unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|l| l.to_str().unwrap().to_string());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, location, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn forwards_at_most_two_hops_and_returns_the_answer_as_it_came() {
        let leader = worker(None).await;
        let follower = worker(Some(Some(leader.clone()))).await;
        let (status, location, body) = call(&follower, "?expand=info").await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(location.as_deref(), Some("/x/1"));
        assert_eq!(
            body,
            serde_json::json!({"query": "forward=true&expand=info", "body": "{\"a\":1}"})
        );

        // follower → middle (may forward once more) → leader.
        let middle = worker(Some(Some(leader))).await;
        let first = worker(Some(Some(middle.clone()))).await;
        let (status, _, body) = call(&first, "").await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(body["query"], "forward=false");

        // A third hop is refused, and so is a worker that knows no leader.
        let (status, _, body) = call(&middle, "?forward=false").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            body,
            serde_json::json!({"error_code": 409, "message": "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"})
        );
        let lost = worker(Some(None)).await;
        let (status, _, body) = call(&lost, "").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            body["message"],
            "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."
        );
    }

    #[test]
    fn hops_are_bounded_as_kafkas() {
        assert_eq!(forward_flag(None), None);
        assert_eq!(forward_flag(Some("expand=info")), None);
        assert_eq!(forward_flag(Some("forward=true")), Some(true));
        assert_eq!(forward_flag(Some("a=b&forward=false")), Some(false));
        assert_eq!(
            forwarded_query(Some("includeTasks=true&onlyFailed=false"), true),
            "forward=true&includeTasks=true&onlyFailed=false"
        );
        assert_eq!(
            forwarded_query(Some("forward=true&x=1"), false),
            "forward=false&x=1"
        );
        assert_eq!(forwarded_query(None, true), "forward=true");
    }
}
