//! Kafka Connect's REST API (Kafka 4.x: `RootResource`, `ConnectorsResource`,
//! `ConnectorPluginsResource`, `LoggingResource`) over any `Herder`, with Kafka's routes,
//! JSON shapes, status codes and `{"error_code","message"}` errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use parking_lot::Mutex;
use rafka_connect_data::connector::Props;
use serde_json::{json, Map, Value as Json_};

use crate::connector_config::{self, CONNECTOR_CLASS};
use crate::error::RuntimeError;
use crate::forward::{self, ForwardTarget};
use crate::herder::{ConnectorOffset, Herder};
use crate::plugins;
use crate::worker::TargetState;

impl IntoResponse for RuntimeError {
    fn into_response(self) -> Response {
        let code = self.status_code();
        let mut response = error_response(code, &self.to_string());
        if let RuntimeError::Forward { url, .. } = self {
            // The `forwarding` middleware sends the request on.
            response.extensions_mut().insert(ForwardTarget(url));
        }
        response
    }
}

fn error_response(code: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({"error_code": code, "message": message})),
    )
        .into_response()
}

type Result<T> = std::result::Result<T, RuntimeError>;

/// Kafka's logger levels (`/admin/loggers`). `apply` receives a `tracing` filter
/// directive string built from the levels whenever one changes.
pub struct Loggers {
    levels: Mutex<BTreeMap<String, (String, Option<i64>)>>,
    apply: Option<ApplyLevels>,
}

impl std::fmt::Debug for Loggers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loggers")
            .field("levels", &self.levels)
            .finish()
    }
}

/// Applies a `tracing` filter directive (the logging setup's reload handle).
pub type ApplyLevels = Box<dyn Fn(&str) + Send + Sync>;

const LEVELS: &[&str] = &[
    "OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL",
];

impl Loggers {
    pub fn new(root_level: &str, apply: Option<ApplyLevels>) -> Loggers {
        Loggers {
            levels: Mutex::new(BTreeMap::from([(
                "root".to_string(),
                (root_level.to_uppercase(), None),
            )])),
            apply,
        }
    }

    fn directive(levels: &BTreeMap<String, (String, Option<i64>)>) -> String {
        let rust_level = |level: &str| match level {
            "OFF" => "off",
            "FATAL" | "ERROR" => "error",
            "WARN" => "warn",
            "INFO" => "info",
            "DEBUG" => "debug",
            _ => "trace",
        };
        let mut parts = Vec::new();
        for (name, (level, _)) in levels {
            if name == "root" {
                parts.insert(0, rust_level(level).to_string());
            } else {
                parts.push(format!("{name}={}", rust_level(level)));
            }
        }
        parts.join(",")
    }

    /// Sets `namespace` and every known logger below it; the names it changed.
    fn set(&self, namespace: &str, level: &str) -> Vec<String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let mut levels = self.levels.lock();
        let mut changed: Vec<String> = levels
            .keys()
            .filter(|name| {
                namespace == "root"
                    || name.as_str() == namespace
                    || name.starts_with(&format!("{namespace}."))
            })
            .cloned()
            .collect();
        if !changed.iter().any(|n| n == namespace) {
            changed.push(namespace.to_string());
        }
        changed.sort();
        for name in &changed {
            levels.insert(name.clone(), (level.to_string(), Some(now)));
        }
        if let Some(apply) = &self.apply {
            apply(&Self::directive(&levels));
        }
        changed
    }
}

struct AppState<H> {
    herder: Arc<H>,
    loggers: Arc<Loggers>,
}

/// The REST API's routes over `herder`.
pub fn router<H: Herder>(herder: Arc<H>, loggers: Arc<Loggers>) -> Router {
    let state = Arc::new(AppState { herder, loggers });
    Router::new()
        .route("/", get(root::<H>))
        .route(
            "/connectors",
            get(list_connectors::<H>).post(create_connector::<H>),
        )
        .route(
            "/connectors/{name}",
            get(get_connector::<H>).delete(delete_connector::<H>),
        )
        .route(
            "/connectors/{name}/config",
            get(get_config::<H>)
                .put(put_config::<H>)
                .patch(patch_config::<H>),
        )
        .route("/connectors/{name}/status", get(connector_status::<H>))
        .route(
            "/connectors/{name}/tasks",
            get(task_configs::<H>).post(put_task_configs::<H>),
        )
        .route(
            "/connectors/{name}/tasks/{task}/status",
            get(task_status::<H>),
        )
        .route(
            "/connectors/{name}/tasks/{task}/restart",
            post(restart_task::<H>),
        )
        .route("/connectors/{name}/pause", put(pause::<H>))
        .route("/connectors/{name}/resume", put(resume::<H>))
        .route("/connectors/{name}/stop", put(stop::<H>))
        .route("/connectors/{name}/restart", post(restart::<H>))
        .route(
            "/connectors/{name}/offsets",
            get(get_offsets::<H>)
                .patch(patch_offsets::<H>)
                .delete(delete_offsets::<H>),
        )
        .route("/connectors/{name}/topics", get(topics::<H>))
        .route("/connectors/{name}/topics/reset", put(reset_topics::<H>))
        .route("/connector-plugins", get(list_plugins))
        .route("/connector-plugins/{plugin}/config", get(plugin_config))
        .route(
            "/connector-plugins/{plugin}/config/validate",
            put(validate::<H>),
        )
        .route("/admin/loggers", get(list_loggers::<H>))
        .route(
            "/admin/loggers/{logger}",
            get(get_logger::<H>).put(set_logger::<H>),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(forward::forwarding))
        .with_state(state)
}

async fn not_found(_method: Method, _uri: Uri) -> Response {
    error_response(404, "HTTP 404 Not Found")
}

async fn method_not_allowed() -> Response {
    error_response(405, "HTTP 405 Method Not Allowed")
}

type St<H> = State<Arc<AppState<H>>>;

/// Query parameters, repeated keys kept (`expand=status&expand=info`).
fn query_pairs(query: &Option<String>) -> Vec<(String, String)> {
    query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn query_bool(query: &Option<String>, key: &str) -> bool {
    query_pairs(query)
        .iter()
        .any(|(k, v)| k == key && v.eq_ignore_ascii_case("true"))
}

fn parse_body(body: &Bytes) -> Result<Json_> {
    serde_json::from_slice(body)
        .map_err(|e| RuntimeError::BadRequest(format!("Invalid JSON in request body: {e}")))
}

/// A JSON object of strings (Jackson coerces scalars to strings as Kafka's
/// `Map<String, String>` does); `null`s are kept as `None` for PATCH.
fn string_map(value: &Json_) -> Result<Vec<(String, Option<String>)>> {
    let object = value.as_object().ok_or_else(|| {
        RuntimeError::BadRequest("Expected a JSON object of connector configs".into())
    })?;
    object
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Json_::Null => None,
                Json_::String(s) => Some(s.clone()),
                Json_::Bool(_) | Json_::Number(_) => Some(v.to_string()),
                _ => {
                    return Err(RuntimeError::BadRequest(format!(
                        "Cannot deserialize value of config '{k}': expected a string"
                    )))
                }
            };
            Ok((k.clone(), text))
        })
        .collect()
}

fn props(pairs: Vec<(String, Option<String>)>) -> Props {
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
}

fn check_name(name: &str, config: &mut Props) -> Result<()> {
    match config.get("name") {
        Some(given) if given != name => Err(RuntimeError::BadRequest(format!(
            "Connector name configuration ({given}) doesn't match connector name in the URL ({name})"
        ))),
        _ => {
            config.insert("name".into(), name.to_string());
            Ok(())
        }
    }
}

async fn root<H: Herder>(State(state): St<H>) -> Response {
    Json(json!({
        "version": crate::KAFKA_VERSION,
        "commit": crate::COMMIT,
        "kafka_cluster_id": state.herder.kafka_cluster_id(),
    }))
    .into_response()
}

async fn list_connectors<H: Herder>(
    State(state): St<H>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let names = state.herder.connectors().await;
    let expand: Vec<String> = query_pairs(&query)
        .into_iter()
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v)
        .collect();
    if expand.is_empty() {
        return Ok(Json(names).into_response());
    }
    let mut out = Map::new();
    for name in names {
        let mut entry = Map::new();
        for what in &expand {
            // A connector deleted meanwhile is left out, as Kafka does.
            let value = match what.as_str() {
                "status" => state
                    .herder
                    .connector_status(&name)
                    .await
                    .ok()
                    .map(|s| json!(s)),
                "info" => state
                    .herder
                    .connector_info(&name)
                    .await
                    .ok()
                    .map(|i| json!(i)),
                _ => continue,
            };
            if let Some(value) = value {
                entry.insert(what.clone(), value);
            }
        }
        out.insert(name, Json_::Object(entry));
    }
    Ok(Json(out).into_response())
}

async fn create_connector<H: Herder>(State(state): St<H>, body: Bytes) -> Result<Response> {
    let body = parse_body(&body)?;
    let config_json = body.get("config").cloned().unwrap_or(Json_::Null);
    if config_json.is_null() {
        return Err(RuntimeError::BadRequest(
            "Connector configuration must be specified".into(),
        ));
    }
    let mut config = props(string_map(&config_json)?);
    let name = match body.get("name").and_then(Json_::as_str) {
        Some(name) => name.trim().to_string(),
        None => config.get("name").cloned().unwrap_or_default(),
    };
    if name.contains('/') {
        return Err(RuntimeError::BadRequest(
            "connector name should not contain '/'".into(),
        ));
    }
    check_name(&name, &mut config)?;
    let initial_state = match body.get("initial_state").and_then(Json_::as_str) {
        None => None,
        Some(s) => Some(match s.to_uppercase().as_str() {
            "RUNNING" => TargetState::Started,
            "PAUSED" => TargetState::Paused,
            "STOPPED" => TargetState::Stopped,
            _ => {
                return Err(RuntimeError::BadRequest(format!(
                    "Invalid initial state {s}; must be one of RUNNING, PAUSED, STOPPED"
                )))
            }
        }),
    };
    let (_, info) = state
        .herder
        .put_connector_config(&name, config, false, initial_state)
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/connectors/{name}"))],
        Json(info),
    )
        .into_response())
}

async fn get_connector<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
) -> Result<Response> {
    Ok(Json(state.herder.connector_info(&name).await?).into_response())
}

async fn delete_connector<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
) -> Result<Response> {
    state.herder.delete_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_config<H: Herder>(State(state): St<H>, Path(name): Path<String>) -> Result<Response> {
    let config: BTreeMap<_, _> = state
        .herder
        .connector_config(&name)
        .await?
        .into_iter()
        .collect();
    Ok(Json(config).into_response())
}

async fn put_config<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let mut config = props(string_map(&parse_body(&body)?)?);
    check_name(&name, &mut config)?;
    let (created, info) = state
        .herder
        .put_connector_config(&name, config, true, None)
        .await?;
    Ok(if created {
        (
            StatusCode::CREATED,
            [(header::LOCATION, format!("/connectors/{name}"))],
            Json(info),
        )
            .into_response()
    } else {
        Json(info).into_response()
    })
}

async fn patch_config<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let patch = string_map(&parse_body(&body)?)?;
    let mut config = state.herder.connector_config(&name).await?;
    for (k, v) in patch {
        match v {
            Some(v) => config.insert(k, v),
            None => config.remove(&k),
        };
    }
    check_name(&name, &mut config)?;
    let (_, info) = state
        .herder
        .put_connector_config(&name, config, true, None)
        .await?;
    Ok(Json(info).into_response())
}

async fn connector_status<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
) -> Result<Response> {
    Ok(Json(state.herder.connector_status(&name).await?).into_response())
}

async fn task_configs<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
) -> Result<Response> {
    Ok(Json(state.herder.task_configs(&name).await?).into_response())
}

/// The internal `POST /connectors/{name}/tasks` (Kafka's `InternalClusterResource`): a
/// worker running a connector hands its task configs to the leader, signed with the
/// session key under the `sessioned` protocol.
async fn put_task_configs<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let configs: Vec<BTreeMap<String, String>> = serde_json::from_slice(&body)
        .map_err(|e| RuntimeError::BadRequest(format!("Invalid JSON in request body: {e}")))?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let signature = match (
        header(forward::SIGNATURE_HEADER),
        header(forward::SIGNATURE_ALGORITHM_HEADER),
    ) {
        (Some(signature), Some(algorithm)) => Some(crate::herder::RequestSignature {
            algorithm,
            signature,
            body: body.to_vec(),
        }),
        _ => None,
    };
    let configs = configs
        .into_iter()
        .map(|c| c.into_iter().collect())
        .collect();
    state
        .herder
        .put_task_configs(&name, configs, signature)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn task_status<H: Herder>(
    State(state): St<H>,
    Path((name, task)): Path<(String, String)>,
) -> Result<Response> {
    let no_status = || RuntimeError::NotFound(format!("No status found for task {name}-{task}"));
    let status = state
        .herder
        .connector_status(&name)
        .await
        .map_err(|_| no_status())?;
    let task_id: Option<usize> = task.parse().ok();
    let found = status
        .tasks
        .into_iter()
        .find(|t| t.id.is_some() && t.id == task_id)
        .ok_or_else(no_status)?;
    Ok(Json(found).into_response())
}

async fn restart_task<H: Herder>(
    State(state): St<H>,
    Path((name, task)): Path<(String, String)>,
) -> Result<Response> {
    let task_id: usize = task
        .parse()
        .map_err(|_| RuntimeError::NotFound(format!("Task {name}-{task} not found")))?;
    state.herder.restart_task(&name, task_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn pause<H: Herder>(State(state): St<H>, Path(name): Path<String>) -> Result<Response> {
    state
        .herder
        .set_target_state(&name, TargetState::Paused)
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn resume<H: Herder>(State(state): St<H>, Path(name): Path<String>) -> Result<Response> {
    state
        .herder
        .set_target_state(&name, TargetState::Started)
        .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn stop<H: Herder>(State(state): St<H>, Path(name): Path<String>) -> Result<Response> {
    state
        .herder
        .set_target_state(&name, TargetState::Stopped)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn restart<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let include_tasks = query_bool(&query, "includeTasks");
    let only_failed = query_bool(&query, "onlyFailed");
    let plan = state
        .herder
        .restart_connector(&name, include_tasks, only_failed)
        .await?;
    Ok(if !include_tasks && !only_failed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::ACCEPTED, Json(plan)).into_response()
    })
}

async fn get_offsets<H: Herder>(State(state): St<H>, Path(name): Path<String>) -> Result<Response> {
    let offsets = state.herder.connector_offsets(&name).await?;
    Ok(Json(json!({ "offsets": offsets })).into_response())
}

async fn patch_offsets<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let body = parse_body(&body)?;
    let offsets: Vec<ConnectorOffset> = body
        .get("offsets")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| RuntimeError::BadRequest(format!("Invalid offsets: {e}")))?
        .unwrap_or_default();
    if offsets.is_empty() {
        return Err(RuntimeError::BadRequest(
            "Partitions / offsets need to be provided for an alter offsets request".into(),
        ));
    }
    let message = state.herder.modify_offsets(&name, Some(offsets)).await?;
    Ok(Json(json!({ "message": message })).into_response())
}

async fn delete_offsets<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
) -> Result<Response> {
    let message = state.herder.modify_offsets(&name, None).await?;
    Ok(Json(json!({ "message": message })).into_response())
}

async fn topics<H: Herder>(State(state): St<H>, Path(name): Path<String>) -> Result<Response> {
    let topics = state.herder.active_topics(&name).await?;
    Ok(Json(json!({ name: { "topics": topics } })).into_response())
}

async fn reset_topics<H: Herder>(
    State(state): St<H>,
    Path(name): Path<String>,
) -> Result<Response> {
    state.herder.reset_active_topics(&name).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn list_plugins(RawQuery(query): RawQuery) -> Response {
    let connectors_only = query_pairs(&query)
        .iter()
        .find(|(k, _)| k == "connectorsOnly")
        .map(|(_, v)| !v.eq_ignore_ascii_case("false"))
        .unwrap_or(true);
    Json(plugins::list_plugins(connectors_only)).into_response()
}

async fn plugin_config(Path(plugin): Path<String>) -> Result<Response> {
    let def = connector_config::plugin_config_def(&plugin)
        .ok_or_else(|| RuntimeError::NotFound(format!("Unknown plugin {plugin}.")))?;
    Ok(Json(connector_config::config_def_json(&def)).into_response())
}

async fn validate<H: Herder>(
    State(state): St<H>,
    Path(plugin): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let mut config: Props = props(string_map(&parse_body(&body)?)?);
    match config.get(CONNECTOR_CLASS) {
        Some(class) if !class.ends_with(plugin.as_str()) => {
            return Err(RuntimeError::BadRequest(format!(
                "Included connector type {class} does not match request type {plugin}"
            )))
        }
        Some(_) => {}
        None => {
            config.insert(CONNECTOR_CLASS.into(), plugin.clone());
        }
    }
    let worker = state.herder.converter_defaults();
    Ok(Json(connector_config::validate_on_worker(&config, &worker)?.to_json()).into_response())
}

async fn list_loggers<H: Herder>(State(state): St<H>) -> Response {
    let levels = state.loggers.levels.lock().clone();
    let out: Map<String, Json_> = levels
        .into_iter()
        .map(|(name, (level, modified))| (name, json!({"level": level, "last_modified": modified})))
        .collect();
    Json(out).into_response()
}

async fn get_logger<H: Herder>(
    State(state): St<H>,
    Path(logger): Path<String>,
) -> Result<Response> {
    let levels = state.loggers.levels.lock().clone();
    let (level, modified) = levels
        .get(&logger)
        .cloned()
        .ok_or_else(|| RuntimeError::NotFound(format!("Logger {logger} not found.")))?;
    Ok(Json(json!({"level": level, "last_modified": modified})).into_response())
}

async fn set_logger<H: Herder>(
    State(state): St<H>,
    Path(logger): Path<String>,
    body: Bytes,
) -> Result<Response> {
    let body: HashMap<String, Json_> = serde_json::from_slice(&body).unwrap_or_default();
    let level = body.get("level").and_then(Json_::as_str).ok_or_else(|| {
        RuntimeError::BadRequest("Desired 'level' parameter was not specified in request.".into())
    })?;
    let upper = level.to_uppercase();
    if !LEVELS.contains(&upper.as_str()) {
        return Err(RuntimeError::NotFound(format!(
            "invalid log level '{level}'."
        )));
    }
    Ok(Json(state.loggers.set(&logger, &upper)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::herder::StandaloneHerder;
    use crate::worker::Worker;
    use crate::worker_config::WorkerConfig;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn app(dir: &std::path::Path) -> Router {
        let config = WorkerConfig::from_props(HashMap::from([
            // Nothing listens here: these tests never reach Kafka.
            ("bootstrap.servers".to_string(), "127.0.0.1:1".to_string()),
            (
                "offset.storage.file.filename".to_string(),
                dir.join("offsets").display().to_string(),
            ),
        ]))
        .unwrap();
        let worker = Arc::new(Worker::new(config).unwrap());
        let herder = Arc::new(StandaloneHerder::new(worker, "w:8083".into(), None));
        router(herder, Arc::new(Loggers::new("INFO", None)))
    }

    async fn call(app: &Router, method: &str, uri: &str, body: Option<Json_>) -> (u16, Json_) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(match body {
                Some(b) => Body::from(b.to_string()),
                None => Body::empty(),
            })
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = if bytes.is_empty() {
            Json_::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, json)
    }

    fn source(name: &str, dir: &std::path::Path) -> Json_ {
        json!({"name": name, "config": {
            "connector.class": "FileStreamSource",
            "file": dir.join("in.txt").display().to_string(),
            "topic": "t",
        }, "initial_state": "STOPPED"})
    }

    #[tokio::test]
    async fn connectors_crud_with_kafkas_codes() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        assert_eq!(
            call(&app, "GET", "/connectors", None).await,
            (200, json!([]))
        );
        let (code, body) = call(&app, "POST", "/connectors", Some(source("s", dir.path()))).await;
        assert_eq!(code, 201, "{body}");
        assert_eq!(body["name"], "s");
        assert_eq!(body["type"], "source");
        assert_eq!(body["tasks"], json!([]));
        let (code, body) = call(&app, "POST", "/connectors", Some(source("s", dir.path()))).await;
        assert_eq!(
            (code, body),
            (
                409,
                json!({"error_code": 409, "message": "Connector s already exists"})
            )
        );
        assert_eq!(
            call(&app, "GET", "/connectors/nope", None).await,
            (
                404,
                json!({"error_code": 404, "message": "Connector nope not found"})
            )
        );
        let (code, status) = call(&app, "GET", "/connectors/s/status", None).await;
        assert_eq!(code, 200);
        assert_eq!(
            status["connector"],
            json!({"state": "STOPPED", "worker_id": "w:8083", "version": "4.1.1"})
        );
        let (code, expanded) =
            call(&app, "GET", "/connectors?expand=status&expand=info", None).await;
        assert_eq!(code, 200);
        assert_eq!(expanded["s"]["info"]["config"]["topic"], "t");
        assert_eq!(expanded["s"]["status"]["connector"]["state"], "STOPPED");
        let (code, config) = call(
            &app,
            "PATCH",
            "/connectors/s/config",
            Some(json!({"topic": "u", "batch.size": null})),
        )
        .await;
        assert_eq!((code, &config["config"]["topic"]), (200, &json!("u")));
        assert_eq!(call(&app, "DELETE", "/connectors/s", None).await.0, 204);
        assert_eq!(call(&app, "DELETE", "/connectors/s", None).await.0, 404);
    }

    #[tokio::test]
    async fn bad_configs_are_400s() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let (code, body) = call(
            &app,
            "POST",
            "/connectors",
            Some(json!({"name": "x", "config": {"connector.class": "Nope"}})),
        )
        .await;
        assert_eq!(code, 400);
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("FileStreamSourceConnector"));
        let (code, body) = call(
            &app,
            "POST",
            "/connectors",
            Some(json!({"name": "x", "config": {"connector.class": "FileStreamSource"}})),
        )
        .await;
        assert_eq!(code, 400);
        assert_eq!(body["message"], "Connector configuration is invalid and contains the following 1 error(s):\nMissing required configuration \"topic\" which has no default value.\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
        let (code, body) = call(
            &app,
            "PUT",
            "/connector-plugins/FileStreamSink/config/validate",
            Some(json!({"connector.class": "FileStreamSource"})),
        )
        .await;
        assert_eq!(code, 400, "{body}");
        let (code, body) = call(
            &app,
            "PUT",
            "/connector-plugins/FileStreamSink/config/validate",
            Some(json!({"name": "k", "topics": "a"})),
        )
        .await;
        assert_eq!((code, &body["error_count"]), (200, &json!(0)), "{body}");
    }

    #[tokio::test]
    async fn offsets_need_a_stopped_connector_and_survive_in_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        call(&app, "POST", "/connectors", Some(source("s", dir.path()))).await;
        let partition = json!({"filename": dir.path().join("in.txt").display().to_string()});
        let patch = json!({"offsets": [{"partition": partition, "offset": {"position": 7}}]});
        let (code, body) = call(&app, "PATCH", "/connectors/s/offsets", Some(patch)).await;
        assert_eq!(
            (code, body),
            (
                200,
                json!({"message": "The offsets for this connector have been altered successfully"})
            )
        );
        assert_eq!(
            call(&app, "GET", "/connectors/s/offsets", None).await,
            (
                200,
                json!({"offsets": [{"partition": partition, "offset": {"position": 7}}]})
            )
        );
        assert_eq!(
            call(&app, "DELETE", "/connectors/s/offsets", None).await.0,
            200
        );
        assert_eq!(
            call(&app, "GET", "/connectors/s/offsets", None).await,
            (200, json!({"offsets": []}))
        );
        assert_eq!(call(&app, "PUT", "/connectors/s/pause", None).await.0, 202);
        let (code, body) = call(&app, "DELETE", "/connectors/s/offsets", None).await;
        assert_eq!(code, 400);
        assert!(body["message"]
            .as_str()
            .unwrap()
            .starts_with("Connectors must be in the STOPPED state"));
    }

    #[tokio::test]
    async fn plugins_and_loggers() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let (code, plugins) = call(&app, "GET", "/connector-plugins", None).await;
        assert_eq!((code, plugins.as_array().unwrap().len()), (200, 4));
        assert_eq!(
            plugins[1],
            json!({"class": "io.confluent.connect.jdbc.JdbcSourceConnector", "type": "source", "version": crate::jdbc::VERSION})
        );
        let (code, jdbc) = call(&app, "GET", "/connector-plugins/JdbcSource/config", None).await;
        assert_eq!((code, &jdbc[0]["name"]), (200, &json!("connection.url")));
        let (code, validation) = call(
            &app,
            "PUT",
            "/connector-plugins/JdbcSinkConnector/config/validate",
            Some(json!({"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "name": "s", "topics": "t"})),
        )
        .await;
        assert_eq!(code, 200);
        let url = validation["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["definition"]["name"] == "connection.url")
            .unwrap();
        assert_eq!(
            url["value"]["errors"],
            json!([
                "Missing required configuration \"connection.url\" which has no default value."
            ])
        );
        let (_, all) = call(&app, "GET", "/connector-plugins?connectorsOnly=false", None).await;
        assert!(all.as_array().unwrap().len() > 30);
        let (code, config) = call(
            &app,
            "GET",
            "/connector-plugins/FileStreamSource/config",
            None,
        )
        .await;
        assert_eq!(code, 200);
        assert_eq!(config[1]["name"], "topic");
        assert_eq!(
            call(&app, "GET", "/connector-plugins/Nope/config", None)
                .await
                .0,
            404
        );
        let (_, loggers) = call(&app, "GET", "/admin/loggers", None).await;
        assert_eq!(loggers["root"]["level"], "INFO");
        let (code, changed) = call(
            &app,
            "PUT",
            "/admin/loggers/org.apache.kafka.connect",
            Some(json!({"level": "DEBUG"})),
        )
        .await;
        assert_eq!((code, changed), (200, json!(["org.apache.kafka.connect"])));
        let (_, one) = call(&app, "GET", "/admin/loggers/org.apache.kafka.connect", None).await;
        assert_eq!(one["level"], "DEBUG");
        assert_eq!(
            call(&app, "GET", "/admin/loggers/none.such", None).await.0,
            404
        );
        assert_eq!(
            call(&app, "PUT", "/admin/loggers/x", Some(json!({})))
                .await
                .0,
            400
        );
        assert_eq!(
            call(&app, "GET", "/nothing", None).await,
            (
                404,
                json!({"error_code": 404, "message": "HTTP 404 Not Found"})
            )
        );
    }
}
