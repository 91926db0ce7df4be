//! Burrow's v3 HTTP API (`core/internal/httpserver`) and `/metrics` in burrow-exporter's
//! names. Every JSON body carries `error`, `message` and `request {url, host}`, errors
//! included, as Burrow's do.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};

use crate::evaluator::Status;
use crate::kafka::now_ms;
use crate::monitor::Monitor;

type Shared = Arc<Monitor>;

/// The router of one `[httpserver.NAME]`.
pub fn router(monitor: Shared) -> Router {
    Router::new()
        .route("/burrow/admin", get(admin))
        .route("/burrow/admin/ready", get(ready))
        .route("/v3/admin/loglevel", get(get_log_level).post(set_log_level))
        .route("/metrics", get(metrics))
        .route("/v3/kafka", get(cluster_list))
        .route("/v3/kafka/{cluster}", get(cluster_detail))
        .route("/v3/kafka/{cluster}/topic", get(topic_list))
        .route("/v3/kafka/{cluster}/topic/{topic}", get(topic_detail))
        .route(
            "/v3/kafka/{cluster}/topic/{topic}/consumers",
            get(topic_consumers),
        )
        .route("/v3/kafka/{cluster}/consumer", get(consumer_list))
        .route(
            "/v3/kafka/{cluster}/consumer/{group}",
            get(consumer_detail).delete(consumer_delete),
        )
        .route(
            "/v3/kafka/{cluster}/consumer/{group}/status",
            get(consumer_status),
        )
        .route(
            "/v3/kafka/{cluster}/consumer/{group}/lag",
            get(consumer_lag),
        )
        .route("/v3/config", get(config_main))
        .route("/v3/config/{kind}", get(config_modules))
        .route("/v3/config/{kind}/{name}", get(config_module))
        .fallback(not_found)
        .with_state(monitor)
}

/// A response body: Burrow's common fields, then `fields`.
fn reply(
    status: StatusCode,
    uri: &Uri,
    headers: &HeaderMap,
    error: bool,
    message: &str,
    fields: Value,
) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut body = Map::new();
    body.insert("error".into(), json!(error));
    body.insert("message".into(), json!(message));
    if let Value::Object(fields) = fields {
        body.extend(fields);
    }
    body.insert("request".into(), json!({"url": uri.path(), "host": host}));
    (status, axum::Json(Value::Object(body))).into_response()
}

fn ok(uri: &Uri, headers: &HeaderMap, message: &str, fields: Value) -> Response {
    reply(StatusCode::OK, uri, headers, false, message, fields)
}

fn not_found_with(uri: &Uri, headers: &HeaderMap, message: &str) -> Response {
    reply(
        StatusCode::NOT_FOUND,
        uri,
        headers,
        true,
        message,
        json!({}),
    )
}

/// Burrow's catch-all for unknown URLs: a fixed body, sent as Go's `http.Error` sends it.
async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        "{\"error\":true,\"message\":\"invalid request type\",\"result\":{}}\n",
    )
        .into_response()
}

/// Ready once the modules are started, which they are before the HTTP servers listen.
async fn ready() -> &'static str {
    "READY"
}

async fn get_log_level(uri: Uri, headers: HeaderMap) -> Response {
    ok(
        &uri,
        &headers,
        "log level returned",
        json!({"level": crate::logging::level()}),
    )
}

/// `{"level": "debug"}`: debug/trace, info, warn/warning, error, fatal.
async fn set_log_level(uri: Uri, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let level = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("level").and_then(Value::as_str).map(str::to_owned));
    let Some(level) = level else {
        let message = "could not decode message body";
        return reply(
            StatusCode::BAD_REQUEST,
            &uri,
            &headers,
            true,
            message,
            json!({}),
        );
    };
    if !crate::logging::set_level(&level) {
        return not_found_with(&uri, &headers, "unknown log level");
    }
    ok(&uri, &headers, "set log level", json!({}))
}

async fn admin() -> &'static str {
    "GOOD"
}

async fn cluster_list(State(m): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    ok(
        &uri,
        &headers,
        "cluster list returned",
        json!({"clusters": m.storage.clusters()}),
    )
}

async fn cluster_detail(
    State(m): State<Shared>,
    Path(cluster): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match m.config.clusters.iter().find(|c| c.name == cluster) {
        None => not_found_with(&uri, &headers, "cluster module not found"),
        Some(c) => ok(
            &uri,
            &headers,
            "cluster module detail returned",
            json!({"module": {
                "class-name": "kafka",
                "servers": c.servers,
                "client-profile": {"name": "default", "client-id": "burrow-lagchecker", "kafka-version": "0.8"},
                "topic-refresh": c.topic_refresh_seconds,
                "offset-refresh": c.offset_refresh_seconds,
            }}),
        ),
    }
}

async fn topic_list(
    State(m): State<Shared>,
    Path(cluster): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match m.storage.topics(&cluster) {
        None => not_found_with(&uri, &headers, "cluster not found"),
        Some(topics) => ok(
            &uri,
            &headers,
            "topic list returned",
            json!({"topics": topics}),
        ),
    }
}

async fn topic_detail(
    State(m): State<Shared>,
    Path((cluster, topic)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match m.storage.topic_offsets(&cluster, &topic) {
        None => not_found_with(&uri, &headers, "cluster or topic not found"),
        Some(offsets) => ok(
            &uri,
            &headers,
            "topic offsets returned",
            json!({"offsets": offsets}),
        ),
    }
}

async fn topic_consumers(
    State(m): State<Shared>,
    Path((cluster, topic)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match m.storage.consumers_of_topic(&cluster, &topic) {
        None => not_found_with(&uri, &headers, "cluster or topic not found"),
        Some(consumers) => ok(
            &uri,
            &headers,
            "consumers of topic returned",
            json!({"consumers": consumers}),
        ),
    }
}

async fn consumer_list(
    State(m): State<Shared>,
    Path(cluster): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match m.storage.consumers(&cluster) {
        None => not_found_with(&uri, &headers, "cluster not found"),
        Some(consumers) => ok(
            &uri,
            &headers,
            "consumer list returned",
            json!({"consumers": consumers}),
        ),
    }
}

async fn consumer_detail(
    State(m): State<Shared>,
    Path((cluster, group)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(topics) = m.storage.consumer(&cluster, &group, now_ms()) else {
        return not_found_with(&uri, &headers, "cluster or consumer not found");
    };
    let topics: Map<String, Value> = topics
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions: Vec<Value> = partitions
                .into_iter()
                .map(|p| {
                    json!({
                        "offsets": p.offsets,
                        "owner": p.owner,
                        "client_id": p.client_id,
                        "current-lag": p.current_lag,
                    })
                })
                .collect();
            (topic, Value::Array(partitions))
        })
        .collect();
    ok(
        &uri,
        &headers,
        "consumer detail returned",
        json!({"topics": topics}),
    )
}

/// Always 200, known group or not, as Burrow answers.
async fn consumer_delete(
    State(m): State<Shared>,
    Path((cluster, group)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    m.delete_group(&cluster, &group);
    ok(&uri, &headers, "consumer group removed", json!({}))
}

async fn consumer_status(
    state: State<Shared>,
    path: Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    status_reply(state, path, uri, headers, false)
}

async fn consumer_lag(
    state: State<Shared>,
    path: Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    status_reply(state, path, uri, headers, true)
}

/// `/status` lists only the partitions worse than OK; `/lag` lists them all. An unknown
/// cluster or group is a NOTFOUND status with 404 (and `error` false, as in Burrow).
fn status_reply(
    State(m): State<Shared>,
    Path((cluster, group)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    all_partitions: bool,
) -> Response {
    let message = "consumer status returned";
    match m.group_status(&cluster, &group) {
        None => reply(
            StatusCode::NOT_FOUND,
            &uri,
            &headers,
            false,
            message,
            json!({"status": {
                "cluster": cluster, "group": group, "status": Status::NotFound,
                "complete": 1.0, "partitions": [], "partition_count": 0, "maxlag": null, "totallag": 0,
            }}),
        ),
        Some(mut status) => {
            if !all_partitions {
                status.partitions.retain(|p| p.status != Status::Ok);
            }
            ok(&uri, &headers, message, json!({"status": status}))
        }
    }
}

fn module_value(m: &Monitor, kind: &str, name: &str) -> Option<Value> {
    let table = m.config.raw.get(kind)?.as_table()?.get(name)?;
    serde_json::to_value(table).ok()
}

async fn config_main(State(m): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let section = |name: &str| {
        m.config
            .raw
            .get(name)
            .and_then(|v| serde_json::to_value(v).ok())
            .unwrap_or_else(|| json!({}))
    };
    ok(
        &uri,
        &headers,
        "main config returned",
        json!({"general": section("general"), "logging": section("logging"), "zookeeper": section("zookeeper"), "httpserver": section("httpserver")}),
    )
}

const MODULE_KINDS: [&str; 6] = [
    "cluster",
    "consumer",
    "storage",
    "evaluator",
    "notifier",
    "httpserver",
];

async fn config_modules(
    State(m): State<Shared>,
    Path(kind): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if !MODULE_KINDS.contains(&kind.as_str()) {
        return not_found_with(&uri, &headers, "invalid request type");
    }
    let names: Vec<String> = m
        .config
        .raw
        .get(&kind)
        .and_then(|v| v.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    ok(
        &uri,
        &headers,
        "module list returned",
        json!({"coordinator": kind, "modules": names}),
    )
}

async fn config_module(
    State(m): State<Shared>,
    Path((kind, name)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match module_value(&m, &kind, &name) {
        None => not_found_with(&uri, &headers, "module not found"),
        Some(module) => ok(
            &uri,
            &headers,
            "module detail returned",
            json!({"module": module}),
        ),
    }
}

/// Lag in Prometheus' text format, with burrow-exporter's metric names and labels.
async fn metrics(State(m): State<Shared>) -> Response {
    let mut out = String::new();
    let mut partition_lag = String::new();
    let mut partition_offset = String::new();
    let mut partition_status = String::new();
    let mut group_status = String::new();
    let mut total_lag = String::new();
    let mut topic_offset = String::new();
    for cluster in m.storage.clusters() {
        for group in m.storage.consumers(&cluster).unwrap_or_default() {
            let Some(status) = m.group_status(&cluster, &group) else {
                continue;
            };
            let g = format!(
                "cluster=\"{}\",group=\"{}\"",
                escape(&cluster),
                escape(&group)
            );
            let _ = writeln!(
                group_status,
                "burrow_kafka_consumer_status{{{g}}} {}",
                status.status as i32
            );
            let _ = writeln!(
                total_lag,
                "burrow_kafka_consumer_total_lag{{{g}}} {}",
                status.totallag
            );
            for p in &status.partitions {
                let labels = format!(
                    "{g},topic=\"{}\",partition=\"{}\"",
                    escape(&p.topic),
                    p.partition
                );
                let _ = writeln!(
                    partition_lag,
                    "burrow_kafka_consumer_partition_lag{{{labels}}} {}",
                    p.current_lag
                );
                let _ = writeln!(
                    partition_status,
                    "burrow_kafka_consumer_partition_status{{{labels}}} {}",
                    p.status as i32
                );
                if let Some(end) = &p.end {
                    let _ = writeln!(
                        partition_offset,
                        "burrow_kafka_consumer_partition_current_offset{{{labels}}} {}",
                        end.offset
                    );
                }
            }
        }
        for topic in m.storage.topics(&cluster).unwrap_or_default() {
            for (partition, offset) in m
                .storage
                .topic_offsets(&cluster, &topic)
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                let _ = writeln!(
                    topic_offset,
                    "burrow_kafka_topic_partition_offset{{cluster=\"{}\",topic=\"{}\",partition=\"{partition}\"}} {offset}",
                    escape(&cluster),
                    escape(&topic)
                );
            }
        }
    }
    for (name, help, body) in [
        (
            "burrow_kafka_consumer_partition_lag",
            "Lag of a group on a partition, from its last commit",
            &partition_lag,
        ),
        (
            "burrow_kafka_consumer_partition_current_offset",
            "Last offset a group committed on a partition",
            &partition_offset,
        ),
        (
            "burrow_kafka_consumer_partition_status",
            "Partition status (1 OK, 2 WARN, 3 ERR, 4 STOP, 5 STALL, 6 REWIND)",
            &partition_status,
        ),
        (
            "burrow_kafka_consumer_status",
            "Group status (1 OK, 2 WARN, 3 ERR)",
            &group_status,
        ),
        (
            "burrow_kafka_consumer_total_lag",
            "Sum of a group's partition lags",
            &total_lag,
        ),
        (
            "burrow_kafka_topic_partition_offset",
            "Log-end offset of a partition",
            &topic_offset,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        out.push_str(body);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BurrowConfig;
    use crate::storage::ConsumerOffset;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    fn monitor() -> Shared {
        let config = BurrowConfig::parse(
            "[cluster.local]\nservers = [\"localhost:9092\"]\n[storage.default]\nintervals = 3\nmin-distance = 0\n",
        )
        .unwrap();
        let monitor = Monitor::new(config);
        monitor
            .storage
            .set_broker_offset("local", "orders", 0, 1, 100);
        for (i, offset) in [40, 60, 90].into_iter().enumerate() {
            let commit = ConsumerOffset {
                offset,
                timestamp: now_ms() - 3000 + 1000 * i as i64,
                observed_at: 0,
                lag: 0,
            };
            monitor
                .storage
                .add_consumer_offset("local", "app", "orders", 0, commit);
        }
        Arc::new(monitor)
    }

    async fn call(monitor: &Shared, method: &str, path: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", "burrow:8000")
            .body(Body::empty())
            .unwrap();
        let response = router(monitor.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn lag_lists_every_partition_with_burrow_fields() {
        let monitor = monitor();
        let (status, body) = call(&monitor, "GET", "/v3/kafka/local/consumer/app/lag").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["error"], json!(false));
        assert_eq!(body["message"], json!("consumer status returned"));
        assert_eq!(
            body["request"],
            json!({"url": "/v3/kafka/local/consumer/app/lag", "host": "burrow:8000"})
        );
        let s = &body["status"];
        assert_eq!(
            (s["cluster"].as_str(), s["group"].as_str()),
            (Some("local"), Some("app"))
        );
        assert_eq!(s["status"], json!("OK"));
        assert_eq!(s["totallag"], json!(10));
        assert_eq!(s["partition_count"], json!(1));
        let p = &s["partitions"][0];
        assert_eq!(p["topic"], json!("orders"));
        assert_eq!(p["current_lag"], json!(10));
        assert_eq!(p["start"]["offset"], json!(40));
        assert_eq!(p["end"]["offset"], json!(90));
        assert_eq!(s["maxlag"]["partition"], json!(0));
    }

    #[tokio::test]
    async fn lists_detail_delete_and_not_found() {
        let monitor = monitor();
        let (_, body) = call(&monitor, "GET", "/v3/kafka").await;
        assert_eq!(body["clusters"], json!(["local"]));
        let (_, body) = call(&monitor, "GET", "/v3/kafka/local/topic/orders").await;
        assert_eq!(body["offsets"], json!([100]));
        let (_, body) = call(&monitor, "GET", "/v3/kafka/local/topic/orders/consumers").await;
        assert_eq!(body["consumers"], json!(["app"]));
        let (_, body) = call(&monitor, "GET", "/v3/kafka/local/consumer/app").await;
        assert_eq!(body["topics"]["orders"][0]["current-lag"], json!(10));
        assert_eq!(
            body["topics"]["orders"][0]["offsets"][2]["offset"],
            json!(90)
        );
        let (status, body) = call(&monitor, "GET", "/v3/kafka/local/consumer/nobody/status").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            (body["error"].clone(), body["status"]["status"].clone()),
            (json!(false), json!("NOTFOUND"))
        );
        let (status, body) = call(&monitor, "GET", "/v3/nothing").await;
        assert_eq!(
            (status, body["message"].clone()),
            (StatusCode::NOT_FOUND, json!("invalid request type"))
        );
        let (status, _) = call(&monitor, "DELETE", "/v3/kafka/local/consumer/app").await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = call(&monitor, "GET", "/v3/kafka/local/consumer/app").await;
        assert_eq!(
            (status, body["message"].clone()),
            (
                StatusCode::NOT_FOUND,
                json!("cluster or consumer not found")
            )
        );
        let (_, body) = call(&monitor, "GET", "/v3/config/cluster").await;
        assert_eq!(body["modules"], json!(["local"]));
    }

    #[tokio::test]
    async fn metrics_carry_burrow_exporter_names() {
        let monitor = monitor();
        let request = Request::builder()
            .uri("/metrics")
            .body(Body::empty())
            .unwrap();
        let response = router(monitor).oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.contains("burrow_kafka_consumer_partition_lag{cluster=\"local\",group=\"app\",topic=\"orders\",partition=\"0\"} 10\n"), "{text}");
        assert!(
            text.contains("burrow_kafka_consumer_total_lag{cluster=\"local\",group=\"app\"} 10\n")
        );
        assert!(text.contains("burrow_kafka_consumer_status{cluster=\"local\",group=\"app\"} 1\n"));
        assert!(text.contains("burrow_kafka_topic_partition_offset{cluster=\"local\",topic=\"orders\",partition=\"0\"} 100\n"));
    }
}
