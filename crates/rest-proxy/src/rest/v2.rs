//! API v2: produce to a topic or partition in the binary and JSON embedded formats, topic,
//! partition and broker metadata, and consumer instances (Confluent's
//! `resources/v2/*`), with the v2 media types negotiated from `Accept`.

use std::time::Duration;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;
use rdkafka::Offset;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin::{PartitionInfo, TopicInfo, RESOURCE_TOPIC};
use super::consumers::{ConsumedRecord, CreateOptions, Instance, PartitionOffset};
use super::errors::{RestError, KAFKA_ERROR_ERROR_CODE};
use super::media::{
    self, EmbeddedFormat, JSON, KAFKA_JSON, KAFKA_V2_JSON, KAFKA_V2_JSON_BINARY,
    KAFKA_V2_JSON_JSON, V2_BODY_TYPES,
};
use super::producer::OutgoingRecord;
use super::state::SharedProxy;

type Result<T> = std::result::Result<T, RestError>;

pub fn router() -> Router<SharedProxy> {
    let consumer = "/consumers/{group}/instances/{instance}";
    Router::new()
        .route("/topics", get(list_topics))
        .route("/topics/{topic}", get(get_topic).post(produce_to_topic))
        .route("/topics/{topic}/partitions", get(list_partitions))
        .route(
            "/topics/{topic}/partitions/{partition}",
            get(get_partition).post(produce_to_partition),
        )
        .route(
            "/topics/{topic}/partitions/{partition}/offsets",
            get(partition_offsets),
        )
        .route("/brokers", get(list_brokers))
        .route("/consumers/{group}", post(create_instance))
        .route(consumer, axum::routing::delete(delete_instance))
        .route(
            &format!("{consumer}/subscription"),
            post(subscribe).get(subscription).delete(unsubscribe),
        )
        .route(
            &format!("{consumer}/assignments"),
            post(assign).get(assignments),
        )
        .route(&format!("{consumer}/positions"), post(seek))
        .route(
            &format!("{consumer}/positions/beginning"),
            post(seek_to_beginning),
        )
        .route(&format!("{consumer}/positions/end"), post(seek_to_end))
        .route(&format!("{consumer}/records"), get(records))
        .route(
            &format!("{consumer}/offsets"),
            post(commit_offsets).get(committed_offsets),
        )
        .layer(axum::middleware::from_fn(negotiate))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT_BYTES))
}

/// The largest request body read: a produce request of many large records fits.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024 * 1024;

/// What v2 routes answer in, preferred first; the embedded types are for `records`.
const V2_ANSWER_TYPES: &[&str] = &[
    KAFKA_V2_JSON,
    KAFKA_JSON,
    JSON,
    KAFKA_V2_JSON_BINARY,
    KAFKA_V2_JSON_JSON,
];

/// 406 for an `Accept` no v2 type satisfies; answers (errors too) in the negotiated
/// type, except the records route's, which names its embedded format itself.
async fn negotiate(request: Request, next: Next) -> Response {
    let Some(chosen) = media::negotiate(request.headers(), V2_ANSWER_TYPES) else {
        return with_type(RestError::not_acceptable().into_response(), KAFKA_V2_JSON);
    };
    let chosen = match chosen {
        KAFKA_V2_JSON_BINARY | KAFKA_V2_JSON_JSON => KAFKA_V2_JSON,
        other => other,
    };
    let response = next.run(request).await;
    let is_plain_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == JSON.as_bytes());
    if is_plain_json {
        with_type(response, chosen)
    } else {
        response
    }
}

fn with_type(mut response: Response, media_type: &'static str) -> Response {
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(media_type));
    response
}

// ---- metadata ----

async fn list_topics(State(proxy): State<SharedProxy>) -> Result<Json<Vec<String>>> {
    let cluster = proxy.admin.cluster(None).await?;
    Ok(Json(
        cluster
            .topics
            .into_iter()
            .filter(|t| !t.is_internal)
            .map(|t| t.name)
            .collect(),
    ))
}

async fn topic_info(proxy: &SharedProxy, topic: &str) -> Result<TopicInfo> {
    let cluster = proxy.admin.cluster(Some(&[topic.to_string()])).await?;
    cluster
        .topic(topic)
        .cloned()
        .ok_or_else(RestError::topic_not_found)
}

fn partition_json(p: &PartitionInfo) -> Value {
    json!({
        "partition": p.partition,
        "leader": p.leader,
        "replicas": p.replicas.iter().map(|r| json!({
            "broker": r,
            "leader": *r == p.leader,
            "in_sync": p.isr.contains(r),
        })).collect::<Vec<_>>(),
    })
}

async fn get_topic(
    State(proxy): State<SharedProxy>,
    Path(topic): Path<String>,
) -> Result<Json<Value>> {
    let info = topic_info(&proxy, &topic).await?;
    let configs = proxy.admin.describe_configs(RESOURCE_TOPIC, &topic).await?;
    let configs: serde_json::Map<String, Value> = configs
        .into_iter()
        .map(|c| (c.name, c.value.map_or(Value::Null, Value::String)))
        .collect();
    Ok(Json(json!({
        "name": info.name,
        "configs": configs,
        "partitions": info.partitions.iter().map(partition_json).collect::<Vec<_>>(),
    })))
}

async fn list_partitions(
    State(proxy): State<SharedProxy>,
    Path(topic): Path<String>,
) -> Result<Json<Vec<Value>>> {
    let info = topic_info(&proxy, &topic).await?;
    Ok(Json(info.partitions.iter().map(partition_json).collect()))
}

async fn partition_info(
    proxy: &SharedProxy,
    topic: &str,
    partition: &str,
) -> Result<PartitionInfo> {
    let info = topic_info(proxy, topic).await?;
    let partition: i32 = partition
        .parse()
        .map_err(|_| RestError::partition_not_found())?;
    info.partitions
        .into_iter()
        .find(|p| p.partition == partition)
        .ok_or_else(RestError::partition_not_found)
}

async fn get_partition(
    State(proxy): State<SharedProxy>,
    Path((topic, partition)): Path<(String, String)>,
) -> Result<Json<Value>> {
    Ok(Json(partition_json(
        &partition_info(&proxy, &topic, &partition).await?,
    )))
}

async fn partition_offsets(
    State(proxy): State<SharedProxy>,
    Path((topic, partition)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let info = partition_info(&proxy, &topic, &partition).await?;
    let key = [(topic.clone(), info.partition)];
    let beginning = proxy.admin.list_offsets(&key, -2).await?;
    let end = proxy.admin.list_offsets(&key, -1).await?;
    Ok(Json(json!({
        "beginning_offset": beginning.get(&key[0]).copied().unwrap_or(0),
        "end_offset": end.get(&key[0]).copied().unwrap_or(0),
    })))
}

async fn list_brokers(State(proxy): State<SharedProxy>) -> Result<Json<Value>> {
    let cluster = proxy.admin.cluster(Some(&[])).await?;
    Ok(Json(
        json!({"brokers": cluster.brokers.iter().map(|b| b.id).collect::<Vec<_>>()}),
    ))
}

// ---- produce ----

#[derive(Debug, Deserialize)]
struct ProduceRequest {
    records: Vec<ProduceRecord>,
}

#[derive(Debug, Deserialize)]
struct ProduceRecord {
    #[serde(default)]
    key: Option<Value>,
    #[serde(default)]
    value: Option<Value>,
    #[serde(default)]
    partition: Option<i32>,
}

/// A key or value of the request in the embedded format, as the bytes to produce.
fn embedded_bytes(
    format: EmbeddedFormat,
    data: Option<Value>,
    what: &str,
    index: usize,
) -> Result<Option<Vec<u8>>> {
    match (format, data) {
        (_, None | Some(Value::Null)) => Ok(None),
        (EmbeddedFormat::Json, Some(value)) => Ok(Some(value.to_string().into_bytes())),
        (EmbeddedFormat::Binary, Some(Value::String(text))) => {
            BASE64.decode(text.as_bytes()).map(Some).map_err(|e| {
                RestError::unprocessable(format!(
                    "records[{index}].{what}: invalid base64 data: {e}"
                ))
            })
        }
        (EmbeddedFormat::Binary, Some(_)) => Err(RestError::unprocessable(format!(
            "records[{index}].{what}: binary data must be a base64 string"
        ))),
    }
}

async fn produce_to_topic(
    State(proxy): State<SharedProxy>,
    Path(topic): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    produce(&proxy, &topic, None, &headers, &body).await
}

async fn produce_to_partition(
    State(proxy): State<SharedProxy>,
    Path((topic, partition)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    produce(&proxy, &topic, Some(&partition), &headers, &body).await
}

/// Produces the request's records; each gets its offset or its error, and a record that
/// fails does not fail the others.
async fn produce(
    proxy: &SharedProxy,
    topic: &str,
    partition: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Json<Value>> {
    let format = media::produce_format(headers)?;
    let request: ProduceRequest = media::parse_json(body)?;
    let info = topic_info(proxy, topic).await?;
    let partition = match partition {
        Some(p) => Some(
            p.parse::<i32>()
                .ok()
                .filter(|p| info.partitions.iter().any(|i| i.partition == *p))
                .ok_or_else(RestError::partition_not_found)?,
        ),
        None => None,
    };
    let mut records = Vec::with_capacity(request.records.len());
    for (index, record) in request.records.into_iter().enumerate() {
        let partition = partition.or(record.partition);
        if let Some(p) = partition {
            if !info.partitions.iter().any(|i| i.partition == p) {
                return Err(RestError::partition_not_found());
            }
        }
        records.push(OutgoingRecord {
            key: embedded_bytes(format, record.key, "key", index)?,
            value: embedded_bytes(format, record.value, "value", index)?,
            partition,
            ..OutgoingRecord::default()
        });
    }
    let results = proxy.producer.send_all(topic, &records).await;
    let offsets: Vec<Value> = results
        .iter()
        .map(|result| match result {
            Ok(delivered) => json!({
                "partition": delivered.partition,
                "offset": delivered.offset,
                "error_code": null,
                "error": null,
            }),
            Err(e) => json!({
                "partition": null,
                "offset": null,
                "error_code": e.error_code(),
                "error": e.message,
            }),
        })
        .collect();
    Ok(Json(json!({
        "key_schema_id": null,
        "value_schema_id": null,
        "offsets": offsets,
    })))
}

// ---- consumer instances ----

/// A number or a string, as Confluent's consumer configs accept either.
fn setting(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

async fn create_instance(
    State(proxy): State<SharedProxy>,
    Path(group): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>> {
    let request: serde_json::Map<String, Value> = if body.is_empty() {
        serde_json::Map::new()
    } else {
        media::json_body(&headers, &body, V2_BODY_TYPES)?
    };
    let format = match setting(request.get("format")).as_deref() {
        None | Some("binary") => EmbeddedFormat::Binary,
        Some("json") => EmbeddedFormat::Json,
        Some(other) => {
            return Err(RestError::invalid_consumer_config(&format!(
                "format {other} is not supported (binary and json are; avro, jsonschema and protobuf need a schema registry)"
            )))
        }
    };
    let request_timeout_ms = match setting(request.get("consumer.request.timeout.ms")) {
        None => None,
        Some(v) => Some(v.parse().map_err(|_| {
            RestError::invalid_consumer_config(&format!(
                "consumer.request.timeout.ms {v} is not a number"
            ))
        })?),
    };
    let options = CreateOptions {
        name: setting(request.get("name")).or_else(|| setting(request.get("id"))),
        format,
        auto_offset_reset: setting(request.get("auto.offset.reset")),
        auto_commit_enable: setting(request.get("auto.commit.enable")),
        fetch_min_bytes: setting(request.get("fetch.min.bytes")),
        request_timeout_ms,
    };
    let instance = proxy.consumers.create(&group, options).await?;
    Ok(Json(json!({
        "instance_id": instance.name,
        "base_uri": format!(
            "{}/consumers/{}/instances/{}",
            proxy.base_url(&headers),
            instance.group,
            instance.name
        ),
    })))
}

/// The consumer instance the path names (40403 when there is none).
struct OnInstance(Arc<Instance>);

impl FromRequestParts<SharedProxy> for OnInstance {
    type Rejection = RestError;

    async fn from_request_parts(parts: &mut Parts, proxy: &SharedProxy) -> Result<OnInstance> {
        let Path((group, name)) = Path::<(String, String)>::from_request_parts(parts, proxy)
            .await
            .map_err(|_| RestError::not_found())?;
        Ok(OnInstance(proxy.consumers.get(&group, &name)?))
    }
}

/// The instance the path names and the request's JSON body, read in that order (an
/// unknown instance is 40403 whatever the body).
struct WithBody<T>(Arc<Instance>, T);

impl<T: DeserializeOwned> FromRequest<SharedProxy> for WithBody<T> {
    type Rejection = RestError;

    async fn from_request(request: Request, proxy: &SharedProxy) -> Result<WithBody<T>> {
        let (mut parts, body) = request.into_parts();
        let OnInstance(instance) = OnInstance::from_request_parts(&mut parts, proxy).await?;
        let bytes = axum::body::to_bytes(body, BODY_LIMIT_BYTES)
            .await
            .map_err(|e| RestError::bad_request(e.to_string()))?;
        let body = media::json_body(&parts.headers, &bytes, V2_BODY_TYPES)?;
        Ok(WithBody(instance, body))
    }
}

async fn delete_instance(
    State(proxy): State<SharedProxy>,
    Path((group, name)): Path<(String, String)>,
) -> Result<StatusCode> {
    proxy.consumers.delete(&group, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct SubscribeRequest {
    #[serde(default)]
    topics: Option<Vec<String>>,
    #[serde(default)]
    topic_pattern: Option<String>,
}

async fn subscribe(WithBody(instance, request): WithBody<SubscribeRequest>) -> Result<StatusCode> {
    match (request.topics, request.topic_pattern) {
        (Some(topics), None) if !topics.is_empty() => instance.subscribe(topics, None).await?,
        (None, Some(pattern)) if !pattern.is_empty() => {
            regex::Regex::new(&pattern).map_err(|e| {
                RestError::unprocessable(format!("topic_pattern is not a valid pattern: {e}"))
            })?;
            instance.subscribe(Vec::new(), Some(pattern)).await?
        }
        _ => {
            return Err(RestError::unprocessable(
                "A subscription must have either topics or a topic_pattern, and not both",
            ))
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn subscription(OnInstance(instance): OnInstance) -> Result<Json<Value>> {
    let topics = instance.subscription().await?;
    Ok(Json(json!({"topics": topics})))
}

async fn unsubscribe(OnInstance(instance): OnInstance) -> Result<StatusCode> {
    instance.unsubscribe().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct TopicPartition {
    topic: String,
    partition: i32,
}

#[derive(Debug, Deserialize)]
struct PartitionsRequest {
    partitions: Vec<TopicPartition>,
}

#[derive(Debug, Deserialize)]
struct TopicPartitionOffset {
    topic: String,
    partition: i32,
    offset: i64,
}

#[derive(Debug, Deserialize)]
struct OffsetsRequest {
    offsets: Vec<TopicPartitionOffset>,
}

fn pairs(request: PartitionsRequest) -> Vec<(String, i32)> {
    request
        .partitions
        .into_iter()
        .map(|p| (p.topic, p.partition))
        .collect()
}

fn partitions_json(partitions: &[(String, i32)]) -> Vec<Value> {
    partitions
        .iter()
        .map(|(t, p)| json!({"topic": t, "partition": p}))
        .collect()
}

async fn assign(WithBody(instance, request): WithBody<PartitionsRequest>) -> Result<StatusCode> {
    instance.assign(pairs(request)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn assignments(OnInstance(instance): OnInstance) -> Result<Json<Value>> {
    let assigned = instance.assignment().await?;
    Ok(Json(json!({"partitions": partitions_json(&assigned)})))
}

async fn seek(WithBody(instance, request): WithBody<OffsetsRequest>) -> Result<StatusCode> {
    let targets = request
        .offsets
        .into_iter()
        .map(|o| (o.topic, o.partition, Offset::Offset(o.offset)))
        .collect();
    instance.seek(targets).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn seek_to(
    instance: &Instance,
    request: PartitionsRequest,
    to: Offset,
) -> Result<StatusCode> {
    let targets = pairs(request)
        .into_iter()
        .map(|(t, p)| (t, p, to))
        .collect();
    instance.seek(targets).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn seek_to_beginning(
    WithBody(instance, request): WithBody<PartitionsRequest>,
) -> Result<StatusCode> {
    seek_to(&instance, request, Offset::Beginning).await
}

async fn seek_to_end(
    WithBody(instance, request): WithBody<PartitionsRequest>,
) -> Result<StatusCode> {
    seek_to(&instance, request, Offset::End).await
}

/// A numeric query parameter; Confluent's default for both is -1 (use the config).
fn query_number(query: &HashMap<String, String>, name: &str) -> Result<i64> {
    match query.get(name) {
        None => Ok(-1),
        Some(text) => text.trim().parse().map_err(|_| {
            RestError::bad_request(format!("query parameter {name}={text} is not a number"))
        }),
    }
}

/// A consumed key or value in the instance's embedded format.
fn render(format: EmbeddedFormat, data: &Option<Vec<u8>>) -> Result<Value> {
    match (format, data) {
        (_, None) => Ok(Value::Null),
        (EmbeddedFormat::Binary, Some(bytes)) => Ok(Value::String(BASE64.encode(bytes))),
        (EmbeddedFormat::Json, Some(bytes)) => serde_json::from_slice(bytes).map_err(|e| {
            RestError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                KAFKA_ERROR_ERROR_CODE,
                format!("Kafka error: the record is not JSON: {e}"),
            )
        }),
    }
}

fn record_json(format: EmbeddedFormat, record: &ConsumedRecord) -> Result<Value> {
    Ok(json!({
        "topic": record.topic,
        "key": render(format, &record.key)?,
        "value": render(format, &record.value)?,
        "partition": record.partition,
        "offset": record.offset,
    }))
}

async fn records(
    State(proxy): State<SharedProxy>,
    OnInstance(instance): OnInstance,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response> {
    let wanted = media::negotiate(
        &headers,
        &[instance.format.media_type(), KAFKA_V2_JSON, JSON],
    );
    let Some(media_type) = wanted else {
        return Err(RestError::consumer_format_mismatch());
    };
    // Confluent's: the instance's timeout unless a shorter one is asked for; the
    // proxy's byte cap unless a smaller one is.
    let timeout_ms = match u64::try_from(query_number(&query, "timeout")?) {
        Ok(t) if t > 0 => t.min(instance.request_timeout_ms),
        _ => instance.request_timeout_ms,
    };
    let cap = proxy.config.consumer_request_max_bytes;
    let max_bytes = match u64::try_from(query_number(&query, "max_bytes")?) {
        Ok(m) if m > 0 => m.min(cap),
        _ => cap,
    };
    let records = instance
        .records(Duration::from_millis(timeout_ms), max_bytes)
        .await?;
    let body = records
        .iter()
        .map(|r| record_json(instance.format, r))
        .collect::<Result<Vec<_>>>()?;
    let media_type = if media_type == instance.format.media_type() {
        media_type
    } else {
        instance.format.media_type()
    };
    Ok(with_type(Json(body).into_response(), media_type))
}

async fn commit_offsets(
    OnInstance(instance): OnInstance,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode> {
    let offsets: Option<Vec<PartitionOffset>> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let request: OffsetsRequest = media::json_body(&headers, &body, V2_BODY_TYPES)?;
        Some(
            request
                .offsets
                .into_iter()
                .map(|o| (o.topic, o.partition, o.offset))
                .collect(),
        )
    };
    instance.commit(offsets).await?;
    Ok(StatusCode::OK)
}

async fn committed_offsets(
    WithBody(instance, request): WithBody<PartitionsRequest>,
) -> Result<Json<Value>> {
    let committed = instance.committed(pairs(request)).await?;
    Ok(Json(json!({
        "offsets": committed.iter().map(|(t, p, o)| json!({
            "topic": t, "partition": p, "offset": o, "metadata": "",
        })).collect::<Vec<_>>(),
    })))
}
