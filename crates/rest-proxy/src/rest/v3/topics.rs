//! `/v3/clusters/{cluster_id}/topics`: list, create, describe, add partitions, delete;
//! and their partitions and replicas.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::resource::{self, Ctx};
use crate::rest::admin::{PartitionInfo, TopicInfo};
use crate::rest::errors::RestError;

type Result<T> = std::result::Result<T, RestError>;

/// Kafka's answer for a topic that does not exist (`UnknownTopicOrPartitionException`),
/// as rest-utils maps it.
pub fn unknown_topic() -> RestError {
    RestError::kafka(3, "This server does not host this topic-partition.")
}

/// The topic the path names.
pub fn topic(ctx: &Ctx) -> Result<&TopicInfo> {
    ctx.cluster
        .topic(ctx.param("topic_name"))
        .ok_or_else(unknown_topic)
}

fn topic_fields(
    ctx: &Ctx,
    name: &str,
    is_internal: bool,
    replication_factor: i64,
    partitions_count: i64,
) -> Value {
    let path = format!("/topics/{name}");
    ctx.resource(
        "KafkaTopic",
        &path,
        &format!("/topic={name}"),
        json!({
            "cluster_id": ctx.cluster_id(),
            "topic_name": name,
            "is_internal": is_internal,
            "replication_factor": replication_factor,
            "partitions_count": partitions_count,
            "partitions": ctx.related(&format!("{path}/partitions")),
            "configs": ctx.related(&format!("{path}/configs")),
            "partition_reassignments": ctx.related(&format!("{path}/partitions/-/reassignment")),
            "authorized_operations": [],
        }),
    )
}

fn topic_json(ctx: &Ctx, topic: &TopicInfo) -> Value {
    topic_fields(
        ctx,
        &topic.name,
        topic.is_internal,
        topic.replication_factor() as i64,
        topic.partitions.len() as i64,
    )
}

pub async fn list_topics(ctx: Ctx) -> Json<Value> {
    let data = ctx
        .cluster
        .topics
        .iter()
        .map(|t| topic_json(&ctx, t))
        .collect();
    Json(ctx.list("KafkaTopicList", "/topics", data))
}

pub async fn get_topic(ctx: Ctx) -> Result<Json<Value>> {
    Ok(Json(topic_json(&ctx, topic(&ctx)?)))
}

#[derive(Debug, Deserialize)]
struct ConfigValue {
    name: String,
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CreateTopicRequest {
    topic_name: String,
    partitions_count: Option<i32>,
    replication_factor: Option<i16>,
    #[serde(default)]
    configs: Vec<ConfigValue>,
    #[serde(default)]
    validate_only: bool,
}

/// `POST …/topics`: 201 with the topic, or 200 when only validated.
pub async fn create_topic(
    ctx: Ctx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let request: CreateTopicRequest = resource::body(&headers, &body)?;
    if request.topic_name.is_empty() {
        return Err(RestError::bad_request("topic_name must not be empty"));
    }
    let configs: Vec<(String, Option<String>)> = request
        .configs
        .into_iter()
        .map(|c| (c.name, c.value))
        .collect();
    let (partitions, replication_factor) = ctx
        .proxy
        .admin
        .create_topic(
            &request.topic_name,
            request.partitions_count.unwrap_or(-1),
            request.replication_factor.unwrap_or(-1),
            &configs,
            request.validate_only,
        )
        .await?;
    let status = if request.validate_only {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(topic_fields(
            &ctx,
            &request.topic_name,
            false,
            i64::from(
                request
                    .replication_factor
                    .filter(|r| *r > 0)
                    .unwrap_or(replication_factor),
            ),
            i64::from(
                request
                    .partitions_count
                    .filter(|p| *p > 0)
                    .unwrap_or(partitions),
            ),
        )),
    ))
}

#[derive(Debug, Deserialize)]
struct UpdateTopicRequest {
    partitions_count: i32,
}

/// `PATCH …/topics/{topic_name}`: grows the topic to `partitions_count` partitions.
pub async fn update_topic(ctx: Ctx, headers: HeaderMap, body: Bytes) -> Result<Json<Value>> {
    let topic = topic(&ctx)?.clone();
    let request: UpdateTopicRequest = resource::body(&headers, &body)?;
    ctx.proxy
        .admin
        .create_partitions(&topic.name, request.partitions_count)
        .await?;
    Ok(Json(topic_fields(
        &ctx,
        &topic.name,
        topic.is_internal,
        topic.replication_factor() as i64,
        i64::from(request.partitions_count),
    )))
}

pub async fn delete_topic(ctx: Ctx) -> Result<StatusCode> {
    let name = topic(&ctx)?.name.clone();
    ctx.proxy.admin.delete_topic(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn partition_json(ctx: &Ctx, topic: &str, p: &PartitionInfo) -> Value {
    let path = format!("/topics/{topic}/partitions/{}", p.partition);
    ctx.resource(
        "KafkaPartition",
        &path,
        &format!("/topic={topic}/partition={}", p.partition),
        json!({
            "cluster_id": ctx.cluster_id(),
            "topic_name": topic,
            "partition_id": p.partition,
            "leader": ctx.related(&format!("{path}/replicas/{}", p.leader)),
            "replicas": ctx.related(&format!("{path}/replicas")),
            "reassignment": ctx.related(&format!("{path}/reassignment")),
        }),
    )
}

pub async fn list_partitions(ctx: Ctx) -> Result<Json<Value>> {
    let topic = topic(&ctx)?;
    let data = topic
        .partitions
        .iter()
        .map(|p| partition_json(&ctx, &topic.name, p))
        .collect();
    Ok(Json(ctx.list(
        "KafkaPartitionList",
        &format!("/topics/{}/partitions", topic.name),
        data,
    )))
}

/// The partition the path names (404 with Confluent's 40402 when there is none).
pub fn partition(ctx: &Ctx) -> Result<(&TopicInfo, &PartitionInfo)> {
    let topic = topic(ctx)?;
    let id = ctx
        .number("partition_id")
        .map_err(|_| RestError::partition_not_found())?;
    let partition = topic
        .partitions
        .iter()
        .find(|p| p.partition == id)
        .ok_or_else(RestError::partition_not_found)?;
    Ok((topic, partition))
}

pub async fn get_partition(ctx: Ctx) -> Result<Json<Value>> {
    let (topic, partition) = partition(&ctx)?;
    Ok(Json(partition_json(&ctx, &topic.name, partition)))
}

pub fn replica_json(ctx: &Ctx, topic: &str, p: &PartitionInfo, broker: i32) -> Value {
    ctx.resource(
        "KafkaReplica",
        &format!(
            "/topics/{topic}/partitions/{}/replicas/{broker}",
            p.partition
        ),
        &format!("/topic={topic}/partition={}/replica={broker}", p.partition),
        json!({
            "cluster_id": ctx.cluster_id(),
            "topic_name": topic,
            "partition_id": p.partition,
            "broker_id": broker,
            "is_leader": p.leader == broker,
            "is_in_sync": p.isr.contains(&broker),
            "broker": ctx.related(&format!("/brokers/{broker}")),
        }),
    )
}

pub async fn list_replicas(ctx: Ctx) -> Result<Json<Value>> {
    let (topic, p) = partition(&ctx)?;
    let data = p
        .replicas
        .iter()
        .map(|b| replica_json(&ctx, &topic.name, p, *b))
        .collect();
    Ok(Json(ctx.list(
        "KafkaReplicaList",
        &format!("/topics/{}/partitions/{}/replicas", topic.name, p.partition),
        data,
    )))
}

pub async fn get_replica(ctx: Ctx) -> Result<Json<Value>> {
    let (topic, p) = partition(&ctx)?;
    let broker = ctx.number("broker_id")?;
    if !p.replicas.contains(&broker) {
        return Err(RestError::http(
            StatusCode::NOT_FOUND,
            format!(
                "Replica {broker} of partition {}-{} cannot be found.",
                topic.name, p.partition
            ),
        ));
    }
    Ok(Json(replica_json(&ctx, &topic.name, p, broker)))
}
