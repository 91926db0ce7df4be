//! v3 produce: `POST …/topics/{topic_name}/records`, a stream of JSON records
//! (concatenated objects) answered with one JSON result per record, and
//! `…/records:batch`, `{"entries":[{"id",…}]}` answered with its successes and failures.
//!
//! Keys and values are `{"type":"BINARY"|"JSON"|"STRING","data":…}`; the schema types
//! need a schema registry, which the proxy does not have.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use futures_util::StreamExt;
use rdkafka::producer::DeliveryFuture;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::resource::{self, Ctx};
use super::topics::topic;
use crate::rest::errors::RestError;
use crate::rest::media;
use crate::rest::producer::{Delivered, OutgoingRecord, ProduceError};

type Result<T> = std::result::Result<T, RestError>;

#[derive(Debug, Deserialize)]
struct Data {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    data: Value,
}

#[derive(Debug, Deserialize)]
struct Header {
    name: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ProduceRecord {
    #[serde(default)]
    partition_id: Option<i32>,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    key: Option<Data>,
    #[serde(default)]
    value: Option<Data>,
    #[serde(default)]
    timestamp: Option<Value>,
}

/// A key or value as produced, with the type and size the answer reports.
struct Encoded {
    bytes: Option<Vec<u8>>,
    kind: String,
}

fn bad(message: String) -> RestError {
    RestError::bad_request(message)
}

fn encode(data: Option<Data>, what: &str) -> Result<Option<Encoded>> {
    let Some(data) = data else {
        return Ok(None);
    };
    let kind = data.kind.as_deref().unwrap_or("JSON").to_ascii_uppercase();
    let bytes = match (kind.as_str(), data.data) {
        (_, Value::Null) => None,
        ("BINARY", Value::String(text)) => Some(
            BASE64
                .decode(text.as_bytes())
                .map_err(|e| bad(format!("Bad Request: {what}.data is not valid base64: {e}")))?,
        ),
        ("BINARY", _) => {
            return Err(bad(format!(
                "Bad Request: {what}.data of type BINARY must be a base64 string"
            )))
        }
        ("STRING", Value::String(text)) => Some(text.into_bytes()),
        ("STRING", _) => {
            return Err(bad(format!(
                "Bad Request: {what}.data of type STRING must be a string"
            )))
        }
        ("JSON", value) => Some(value.to_string().into_bytes()),
        ("AVRO" | "PROTOBUF" | "JSONSCHEMA", _) => {
            return Err(bad(format!(
                "Bad Request: {what} type {kind} needs a schema registry, which this proxy does not have"
            )))
        }
        (other, _) => {
            return Err(bad(format!(
                "Bad Request: {what}.type {other} is not BINARY, JSON or STRING"
            )))
        }
    };
    Ok(Some(Encoded { bytes, kind }))
}

/// An ISO-8601 instant or epoch milliseconds.
fn timestamp_ms(value: Option<Value>) -> Result<Option<i64>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
            bad(format!(
                "Bad Request: timestamp {n} is not epoch milliseconds"
            ))
        }),
        Some(Value::String(text)) => chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| Some(t.timestamp_millis()))
            .map_err(|e| {
                bad(format!(
                    "Bad Request: timestamp {text} is not ISO-8601: {e}"
                ))
            }),
        Some(other) => Err(bad(format!(
            "Bad Request: timestamp {other} is not ISO-8601"
        ))),
    }
}

/// A record ready to produce, and what its answer reports of its key and value.
struct Prepared {
    record: OutgoingRecord,
    key: Option<Encoded>,
    value: Option<Encoded>,
}

fn prepare(ctx: &Ctx, value: Value) -> Result<Prepared> {
    let record: ProduceRecord = serde_json::from_value(value).map_err(|e| media::json_error(&e))?;
    if let Some(p) = record.partition_id {
        let exists = topic(ctx)?.partitions.iter().any(|i| i.partition == p);
        if !exists {
            return Err(RestError::partition_not_found());
        }
    }
    let key = encode(record.key, "key")?;
    let value = encode(record.value, "value")?;
    let headers = record
        .headers
        .into_iter()
        .map(|h| {
            let value = match h.value {
                None => None,
                Some(text) => Some(BASE64.decode(text.as_bytes()).map_err(|e| {
                    bad(format!(
                        "Bad Request: header {} is not valid base64: {e}",
                        h.name
                    ))
                })?),
            };
            Ok((h.name, value))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Prepared {
        record: OutgoingRecord {
            key: key.as_ref().and_then(|k| k.bytes.clone()),
            value: value.as_ref().and_then(|v| v.bytes.clone()),
            partition: record.partition_id,
            timestamp_ms: timestamp_ms(record.timestamp)?,
            headers,
        },
        key,
        value,
    })
}

fn data_json(data: &Option<Encoded>) -> Value {
    match data {
        None => Value::Null,
        Some(d) => json!({
            "type": d.kind,
            "size": d.bytes.as_ref().map_or(0, Vec::len),
        }),
    }
}

fn instant(ms: Option<i64>) -> Value {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map_or(Value::Null, |t| {
            json!(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        })
}

/// One record's answer: its place in Kafka, or its error.
fn result_json(
    ctx: &Ctx,
    prepared: &Prepared,
    delivered: &std::result::Result<Delivered, ProduceError>,
) -> Map<String, Value> {
    let value = match delivered {
        Ok(d) => json!({
            "error_code": 200,
            "cluster_id": ctx.cluster_id(),
            "topic_name": ctx.param("topic_name"),
            "partition_id": d.partition,
            "offset": d.offset,
            "timestamp": instant(d.timestamp_ms.or(prepared.record.timestamp_ms)),
            "key": data_json(&prepared.key),
            "value": data_json(&prepared.value),
        }),
        Err(e) => json!({"error_code": e.v3_error_code(), "message": e.message}),
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn error_json(error: &RestError) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("error_code".into(), json!(error.error_code));
    map.insert("message".into(), json!(error.message));
    map
}

/// Produces the records that were prepared; answers every entry in order.
async fn produce(ctx: &Ctx, entries: Vec<Result<Prepared>>) -> Vec<Map<String, Value>> {
    let ready: Vec<&Prepared> = entries.iter().filter_map(|e| e.as_ref().ok()).collect();
    let records: Vec<OutgoingRecord> = ready.iter().map(|p| p.record.clone()).collect();
    let mut delivered = ctx
        .proxy
        .producer
        .send_all(ctx.param("topic_name"), &records)
        .await
        .into_iter();
    entries
        .iter()
        .map(|entry| match entry {
            Ok(prepared) => match delivered.next() {
                Some(result) => result_json(ctx, prepared, &result),
                None => error_json(&RestError::kafka(-1, "the record was not produced")),
            },
            Err(error) => error_json(error),
        })
        .collect()
}

/// How many records of a stream may wait for their answer before the proxy stops reading
/// the request (back-pressure on the client).
const PENDING_RECORDS: usize = 1024;

/// A record of a stream on its way to the answer, in the stream's order.
enum Pending {
    Queued {
        prepared: Prepared,
        queued: std::result::Result<DeliveryFuture, ProduceError>,
    },
    Refused(RestError),
}

/// `POST …/records`: a stream of JSON records answered as it is read, one result per
/// record in order (the answer starts before the request has ended, so a long-lived
/// request streams both ways, as Confluent's does). A stream that stops parsing is
/// answered up to there, then with the parse error.
pub async fn produce_records(ctx: Ctx, headers: HeaderMap, body: Body) -> Result<Response> {
    topic(&ctx)?;
    match media::content_type(&headers).as_deref() {
        Some(media::JSON) => {}
        _ => return Err(RestError::unsupported_media_type()),
    }
    if headers
        .get(CONTENT_LENGTH)
        .is_some_and(|length| length.as_bytes() == b"0")
    {
        return Err(bad("Bad Request: the request has no records".to_string()));
    }
    let ctx = Arc::new(ctx);
    let (pending, pending_rx) = mpsc::channel(PENDING_RECORDS);
    let (answers, answers_rx) = mpsc::channel(PENDING_RECORDS);
    tokio::spawn(read_records(ctx.clone(), body, pending));
    tokio::spawn(write_answers(ctx, pending_rx, answers));
    let stream = futures_util::stream::unfold(answers_rx, |mut answers_rx| async move {
        let answer: Bytes = answers_rx.recv().await?;
        Some((Ok::<Bytes, Infallible>(answer), answers_rx))
    });
    Ok((
        StatusCode::OK,
        [(CONTENT_TYPE, media::JSON)],
        Body::from_stream(stream),
    )
        .into_response())
}

/// What the front of the buffer holds.
enum Next {
    Record(Value, usize),
    NeedMore,
    Whitespace,
    Bad(serde_json::Error),
}

fn next_value(buffer: &[u8]) -> Next {
    let mut values = serde_json::Deserializer::from_slice(buffer).into_iter::<Value>();
    match values.next() {
        Some(Ok(value)) => Next::Record(value, values.byte_offset()),
        Some(Err(e)) if e.is_eof() => Next::NeedMore,
        Some(Err(e)) => Next::Bad(e),
        None => Next::Whitespace,
    }
}

/// Reads the request's records as their bytes arrive and queues each to the producer.
async fn read_records(ctx: Arc<Ctx>, body: Body, pending: mpsc::Sender<Pending>) {
    let topic = ctx.param("topic_name").to_string();
    let mut frames = body.into_data_stream();
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        loop {
            let next = match next_value(&buffer) {
                Next::Record(value, used) => {
                    buffer.drain(..used);
                    match prepare(&ctx, value) {
                        Ok(prepared) => {
                            let queued = ctx.proxy.producer.enqueue(&topic, &prepared.record).await;
                            Pending::Queued { prepared, queued }
                        }
                        Err(e) => Pending::Refused(e),
                    }
                }
                Next::NeedMore => break,
                Next::Whitespace => {
                    buffer.clear();
                    break;
                }
                Next::Bad(e) => {
                    let _ = pending.send(Pending::Refused(media::json_error(&e))).await;
                    return;
                }
            };
            if pending.send(next).await.is_err() {
                return; // the client has gone
            }
        }
        match frames.next().await {
            Some(Ok(chunk)) => buffer.extend_from_slice(&chunk),
            Some(Err(e)) => {
                let broken = bad(format!("Bad Request: the request body broke off: {e}"));
                let _ = pending.send(Pending::Refused(broken)).await;
                return;
            }
            None => {
                if let Err(e) = serde_json::from_slice::<Value>(&buffer) {
                    if !buffer.iter().all(u8::is_ascii_whitespace) {
                        let _ = pending.send(Pending::Refused(media::json_error(&e))).await;
                    }
                }
                return;
            }
        }
    }
}

/// Answers the queued records in order, each when Kafka has it.
async fn write_answers(
    ctx: Arc<Ctx>,
    mut pending: mpsc::Receiver<Pending>,
    answers: mpsc::Sender<Bytes>,
) {
    let topic = ctx.param("topic_name").to_string();
    while let Some(next) = pending.recv().await {
        let answer = match next {
            Pending::Queued { prepared, queued } => {
                let delivered = ctx
                    .proxy
                    .producer
                    .deliver(&topic, &prepared.record, queued)
                    .await;
                result_json(&ctx, &prepared, &delivered)
            }
            Pending::Refused(error) => error_json(&error),
        };
        let mut line = Value::Object(answer).to_string();
        line.push('\n');
        if answers.send(Bytes::from(line)).await.is_err() {
            return;
        }
    }
}

#[derive(Debug, Deserialize)]
struct BatchRequest {
    entries: Vec<Value>,
}

/// `POST …/records:batch`: 207 with `successes` and `failures`, each naming its entry's
/// `id`.
pub async fn produce_batch(
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    topic(&ctx)?;
    let request: BatchRequest = resource::body(&headers, &body)?;
    let mut ids = Vec::with_capacity(request.entries.len());
    let mut entries = Vec::with_capacity(request.entries.len());
    for mut entry in request.entries {
        let id = match entry.as_object_mut().and_then(|o| o.shift_remove("id")) {
            Some(Value::String(id)) if !id.is_empty() => id,
            _ => {
                return Err(bad(
                    "Bad Request: every entry needs a non-empty string id".to_string()
                ))
            }
        };
        if ids.contains(&id) {
            return Err(bad(format!("Bad Request: the entry id {id} is not unique")));
        }
        ids.push(id);
        entries.push(prepare(&ctx, entry));
    }
    let answers = produce(&ctx, entries).await;
    let (mut successes, mut failures) = (Vec::new(), Vec::new());
    for (id, answer) in ids.into_iter().zip(answers) {
        let mut object = Map::new();
        object.insert("id".into(), json!(id));
        let ok = answer.get("error_code") == Some(&json!(200));
        object.extend(answer);
        if ok {
            object.shift_remove("error_code");
            successes.push(Value::Object(object));
        } else {
            failures.push(Value::Object(object));
        }
    }
    Ok((
        StatusCode::MULTI_STATUS,
        Json(json!({"successes": successes, "failures": failures})),
    ))
}
