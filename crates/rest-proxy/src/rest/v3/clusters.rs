//! `/v3/clusters` and `/v3/clusters/{cluster_id}/brokers`: the one cluster the proxy
//! talks to (its id is Kafka's cluster id from Metadata) and its brokers.

use axum::Json;
use serde_json::{json, Value};

use super::resource::Ctx;
use super::topics::replica_json;
use crate::rest::admin::Broker;
use crate::rest::errors::RestError;

type Result<T> = std::result::Result<T, RestError>;

fn cluster_json(ctx: &Ctx) -> Value {
    let controller = if ctx.cluster.controller_id >= 0 {
        ctx.related(&format!("/brokers/{}", ctx.cluster.controller_id))
    } else {
        Value::Null
    };
    ctx.resource(
        "KafkaCluster",
        "",
        "",
        json!({
            "cluster_id": ctx.cluster_id(),
            "controller": controller,
            "acls": ctx.related("/acls"),
            "brokers": ctx.related("/brokers"),
            "broker_configs": ctx.related("/broker-configs"),
            "consumer_groups": ctx.related("/consumer-groups"),
            "topics": ctx.related("/topics"),
            "partition_reassignments": ctx.related("/topics/-/partitions/-/reassignment"),
        }),
    )
}

pub async fn list_clusters(ctx: Ctx) -> Json<Value> {
    Json(json!({
        "kind": "KafkaClusterList",
        "metadata": {"self": ctx.clusters_url(), "next": null},
        "data": [cluster_json(&ctx)],
    }))
}

pub async fn get_cluster(ctx: Ctx) -> Json<Value> {
    Json(cluster_json(&ctx))
}

fn broker_json(ctx: &Ctx, broker: &Broker) -> Value {
    let path = format!("/brokers/{}", broker.id);
    ctx.resource(
        "KafkaBroker",
        &path,
        &format!("/broker={}", broker.id),
        json!({
            "cluster_id": ctx.cluster_id(),
            "broker_id": broker.id,
            "host": broker.host,
            "port": broker.port,
            "rack": broker.rack,
            "configs": ctx.related(&format!("{path}/configs")),
            "partition_replicas": ctx.related(&format!("{path}/partition-replicas")),
        }),
    )
}

pub async fn list_brokers(ctx: Ctx) -> Json<Value> {
    let data = ctx
        .cluster
        .brokers
        .iter()
        .map(|b| broker_json(&ctx, b))
        .collect();
    Json(ctx.list("KafkaBrokerList", "/brokers", data))
}

/// The broker the path names; 404 when the cluster has none by that id.
pub fn broker(ctx: &Ctx) -> Result<&Broker> {
    let id = ctx.number("broker_id")?;
    ctx.cluster
        .brokers
        .iter()
        .find(|b| b.id == id)
        .ok_or_else(|| {
            RestError::http(
                axum::http::StatusCode::NOT_FOUND,
                format!("Broker {id} cannot be found."),
            )
        })
}

pub async fn get_broker(ctx: Ctx) -> Result<Json<Value>> {
    Ok(Json(broker_json(&ctx, broker(&ctx)?)))
}

/// `…/brokers/{broker_id}/partition-replicas`: every replica the broker holds.
pub async fn list_broker_replicas(ctx: Ctx) -> Result<Json<Value>> {
    let id = broker(&ctx)?.id;
    let data = ctx
        .cluster
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.replicas.contains(&id))
                .map(|p| replica_json(&ctx, &t.name, p, id))
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(Json(ctx.list(
        "KafkaReplicaList",
        &format!("/brokers/{id}/partition-replicas"),
        data,
    )))
}
