//! `…/consumer-groups`: groups, their consumers and assignments, and their lags (the
//! committed offset against the log-end offset, as `kafka-consumer-groups --describe`).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::resource::Ctx;
use crate::rest::admin::{GroupDescription, GroupMember};
use crate::rest::errors::RestError;

type Result<T> = std::result::Result<T, RestError>;

/// Kafka's `ConsumerGroupState` names for the broker's state strings.
fn state_name(state: &str) -> &'static str {
    match state {
        "Stable" => "STABLE",
        "Empty" => "EMPTY",
        "PreparingRebalance" => "PREPARING_REBALANCE",
        "CompletingRebalance" => "COMPLETING_REBALANCE",
        "Dead" => "DEAD",
        _ => "UNKNOWN",
    }
}

/// The group the path names; 404 for one the coordinator does not know (`Dead`).
async fn group(ctx: &Ctx) -> Result<GroupDescription> {
    let id = ctx.param("consumer_group_id");
    let group = ctx.proxy.admin.describe_group(id).await?;
    if group.state == "Dead" {
        return Err(RestError::http(
            StatusCode::NOT_FOUND,
            format!("Consumer group {id} cannot be found."),
        ));
    }
    Ok(group)
}

fn group_json(ctx: &Ctx, group: &GroupDescription) -> Value {
    let path = format!("/consumer-groups/{}", group.group_id);
    ctx.resource(
        "KafkaConsumerGroup",
        &path,
        &format!("/consumer-group={}", group.group_id),
        json!({
            "cluster_id": ctx.cluster_id(),
            "consumer_group_id": group.group_id,
            "is_simple": group.protocol_type.is_empty(),
            "partition_assignor": group.protocol,
            "state": state_name(&group.state),
            "type": "CLASSIC",
            "coordinator": ctx.related(&format!("/brokers/{}", group.coordinator)),
            "consumers": ctx.related(&format!("{path}/consumers")),
            "lag_summary": ctx.related(&format!("{path}/lag-summary")),
        }),
    )
}

pub async fn list_groups(ctx: Ctx) -> Result<Json<Value>> {
    let mut data = Vec::new();
    for id in ctx.proxy.admin.list_groups().await? {
        let group = ctx.proxy.admin.describe_group(&id).await?;
        data.push(group_json(&ctx, &group));
    }
    Ok(Json(ctx.list(
        "KafkaConsumerGroupList",
        "/consumer-groups",
        data,
    )))
}

pub async fn get_group(ctx: Ctx) -> Result<Json<Value>> {
    let group = group(&ctx).await?;
    Ok(Json(group_json(&ctx, &group)))
}

fn consumer_json(ctx: &Ctx, group: &str, member: &GroupMember) -> Value {
    let path = format!("/consumer-groups/{group}/consumers/{}", member.member_id);
    ctx.resource(
        "KafkaConsumer",
        &path,
        &format!("/consumer-group={group}/consumer={}", member.member_id),
        json!({
            "cluster_id": ctx.cluster_id(),
            "consumer_group_id": group,
            "consumer_id": member.member_id,
            "instance_id": member.instance_id,
            "client_id": member.client_id,
            "assignments": ctx.related(&format!("{path}/assignments")),
        }),
    )
}

pub async fn list_consumers(ctx: Ctx) -> Result<Json<Value>> {
    let group = group(&ctx).await?;
    let data = group
        .members
        .iter()
        .map(|m| consumer_json(&ctx, &group.group_id, m))
        .collect();
    Ok(Json(ctx.list(
        "KafkaConsumerList",
        &format!("/consumer-groups/{}/consumers", group.group_id),
        data,
    )))
}

fn member<'a>(ctx: &Ctx, group: &'a GroupDescription) -> Result<&'a GroupMember> {
    let id = ctx.param("consumer_id");
    group
        .members
        .iter()
        .find(|m| m.member_id == id)
        .ok_or_else(|| {
            RestError::http(
                StatusCode::NOT_FOUND,
                format!("Consumer {id} cannot be found in group {}.", group.group_id),
            )
        })
}

pub async fn get_consumer(ctx: Ctx) -> Result<Json<Value>> {
    let group = group(&ctx).await?;
    Ok(Json(consumer_json(
        &ctx,
        &group.group_id,
        member(&ctx, &group)?,
    )))
}

pub async fn list_assignments(ctx: Ctx) -> Result<Json<Value>> {
    let group = group(&ctx).await?;
    let member = member(&ctx, &group)?;
    let base = format!(
        "/consumer-groups/{}/consumers/{}/assignments",
        group.group_id, member.member_id
    );
    let data = member
        .assignment
        .iter()
        .map(|(topic, partition)| {
            ctx.resource(
                "KafkaConsumerAssignment",
                &format!("{base}/{topic}/partitions/{partition}"),
                &format!(
                    "/consumer-group={}/consumer={}/assignment={topic}/partition={partition}",
                    group.group_id, member.member_id
                ),
                json!({
                    "cluster_id": ctx.cluster_id(),
                    "consumer_group_id": group.group_id,
                    "consumer_id": member.member_id,
                    "topic_name": topic,
                    "partition_id": partition,
                    "partition": ctx.related(&format!("/topics/{topic}/partitions/{partition}")),
                    "lag": ctx.related(&format!("/consumer-groups/{}/lags/{topic}/partitions/{partition}", group.group_id)),
                }),
            )
        })
        .collect();
    Ok(Json(ctx.list("KafkaConsumerAssignmentList", &base, data)))
}

/// One partition's lag, with the member that holds the partition (empty ids when none).
#[derive(Debug, Clone)]
struct Lag {
    topic: String,
    partition: i32,
    current_offset: i64,
    log_end_offset: i64,
    consumer_id: String,
    instance_id: Option<String>,
    client_id: String,
}

impl Lag {
    fn lag(&self) -> i64 {
        (self.log_end_offset - self.current_offset).max(0)
    }
}

/// The lag of every partition the group has committed an offset for.
async fn lags(ctx: &Ctx, group: &GroupDescription) -> Result<Vec<Lag>> {
    let committed = ctx.proxy.admin.committed_offsets(&group.group_id).await?;
    let partitions: Vec<(String, i32)> = committed.keys().cloned().collect();
    let log_end = if partitions.is_empty() {
        BTreeMap::new()
    } else {
        ctx.proxy.admin.log_end_offsets(&partitions).await?
    };
    let holder: BTreeMap<(String, i32), &GroupMember> = group
        .members
        .iter()
        .flat_map(|m| m.assignment.iter().map(move |tp| (tp.clone(), m)))
        .collect();
    Ok(committed
        .iter()
        .map(|(key, offset)| {
            let member = holder.get(key);
            Lag {
                topic: key.0.clone(),
                partition: key.1,
                current_offset: *offset,
                log_end_offset: log_end.get(key).copied().unwrap_or(*offset),
                consumer_id: member.map_or(String::new(), |m| m.member_id.clone()),
                instance_id: member.and_then(|m| m.instance_id.clone()),
                client_id: member.map_or(String::new(), |m| m.client_id.clone()),
            }
        })
        .collect())
}

fn lag_json(ctx: &Ctx, group: &str, lag: &Lag) -> Value {
    ctx.resource(
        "KafkaConsumerLag",
        &format!(
            "/consumer-groups/{group}/lags/{}/partitions/{}",
            lag.topic, lag.partition
        ),
        &format!(
            "/consumer-group={group}/lag={}/partition={}",
            lag.topic, lag.partition
        ),
        json!({
            "cluster_id": ctx.cluster_id(),
            "consumer_group_id": group,
            "topic_name": lag.topic,
            "partition_id": lag.partition,
            "current_offset": lag.current_offset,
            "log_end_offset": lag.log_end_offset,
            "lag": lag.lag(),
            "consumer_id": lag.consumer_id,
            "instance_id": lag.instance_id,
            "client_id": lag.client_id,
        }),
    )
}

pub async fn list_lags(ctx: Ctx) -> Result<Json<Value>> {
    let group = group(&ctx).await?;
    let data = lags(&ctx, &group)
        .await?
        .iter()
        .map(|l| lag_json(&ctx, &group.group_id, l))
        .collect();
    Ok(Json(ctx.list(
        "KafkaConsumerLagList",
        &format!("/consumer-groups/{}/lags", group.group_id),
        data,
    )))
}

pub async fn get_lag(ctx: Ctx) -> Result<Json<Value>> {
    let group = group(&ctx).await?;
    let topic = ctx.param("topic_name");
    let partition = ctx.number("partition_id")?;
    let lags = lags(&ctx, &group).await?;
    let lag = lags
        .iter()
        .find(|l| l.topic == topic && l.partition == partition)
        .ok_or_else(|| {
            RestError::http(
                StatusCode::NOT_FOUND,
                format!(
                    "Consumer lag for partition {topic}-{partition} cannot be found in group {}.",
                    group.group_id
                ),
            )
        })?;
    Ok(Json(lag_json(&ctx, &group.group_id, lag)))
}

pub async fn lag_summary(ctx: Ctx) -> Result<Json<Value>> {
    let group = group(&ctx).await?;
    let lags = lags(&ctx, &group).await?;
    let total: i64 = lags.iter().map(Lag::lag).sum();
    let max = lags.iter().max_by_key(|l| l.lag());
    let path = format!("/consumer-groups/{}", group.group_id);
    Ok(Json(ctx.resource(
        "KafkaConsumerGroupLagSummary",
        &format!("{path}/lag-summary"),
        &format!("/consumer-group={}/lag-summary", group.group_id),
        json!({
            "cluster_id": ctx.cluster_id(),
            "consumer_group_id": group.group_id,
            "max_lag_consumer_id": max.map_or("", |l| l.consumer_id.as_str()),
            "max_lag_instance_id": max.and_then(|l| l.instance_id.clone()),
            "max_lag_client_id": max.map_or("", |l| l.client_id.as_str()),
            "max_lag_topic_name": max.map_or("", |l| l.topic.as_str()),
            "max_lag_partition_id": max.map_or(0, |l| l.partition),
            "max_lag": max.map_or(0, Lag::lag),
            "total_lag": total,
            "max_lag_consumer": max.filter(|l| !l.consumer_id.is_empty())
                .map(|l| ctx.related(&format!("{path}/consumers/{}", l.consumer_id))),
            "max_lag_partition": max
                .map(|l| ctx.related(&format!("/topics/{}/partitions/{}", l.topic, l.partition))),
        }),
    )))
}
