//! API v3 (`application/json`): clusters, brokers, topics, partitions and replicas, topic
//! and broker configs, consumer groups with their consumers and lags, and produce, in
//! Confluent's shapes (`resources/v3/*`, `api/v3/openapi.yaml`).

pub mod clusters;
pub mod configs;
pub mod groups;
pub mod records;
pub mod resource;
pub mod topics;

use axum::routing::{get, post};
use axum::Router;

use super::state::SharedProxy;

pub fn router() -> Router<SharedProxy> {
    let cluster = "/v3/clusters/{cluster_id}";
    let topic = format!("{cluster}/topics/{{topic_name}}");
    let partition = format!("{topic}/partitions/{{partition_id}}");
    let broker = format!("{cluster}/brokers/{{broker_id}}");
    let group = format!("{cluster}/consumer-groups/{{consumer_group_id}}");
    let routes = Router::new()
        .route("/v3/clusters", get(clusters::list_clusters))
        .route(cluster, get(clusters::get_cluster))
        .route(&format!("{cluster}/brokers"), get(clusters::list_brokers))
        .route(&broker, get(clusters::get_broker))
        .route(
            &format!("{broker}/partition-replicas"),
            get(clusters::list_broker_replicas),
        )
        .route(
            &format!("{cluster}/topics"),
            get(topics::list_topics).post(topics::create_topic),
        )
        .route(
            &topic,
            get(topics::get_topic)
                .patch(topics::update_topic)
                .delete(topics::delete_topic),
        )
        .route(&format!("{topic}/partitions"), get(topics::list_partitions))
        .route(&partition, get(topics::get_partition))
        .route(&format!("{partition}/replicas"), get(topics::list_replicas))
        .route(
            &format!("{partition}/replicas/{{broker_id}}"),
            get(topics::get_replica),
        )
        .route(&format!("{topic}/records"), post(records::produce_records))
        .route(
            &format!("{topic}/records:batch"),
            post(records::produce_batch),
        )
        .route(
            &format!("{cluster}/consumer-groups"),
            get(groups::list_groups),
        )
        .route(&group, get(groups::get_group))
        .route(&format!("{group}/consumers"), get(groups::list_consumers))
        .route(
            &format!("{group}/consumers/{{consumer_id}}"),
            get(groups::get_consumer),
        )
        .route(
            &format!("{group}/consumers/{{consumer_id}}/assignments"),
            get(groups::list_assignments),
        )
        .route(&format!("{group}/lag-summary"), get(groups::lag_summary))
        .route(&format!("{group}/lags"), get(groups::list_lags))
        .route(
            &format!("{group}/lags/{{topic_name}}/partitions/{{partition_id}}"),
            get(groups::get_lag),
        );
    [
        format!("{broker}/configs"),
        format!("{cluster}/broker-configs"),
        format!("{topic}/configs"),
    ]
    .iter()
    .fold(routes, |routes, base| config_routes(routes, base))
}

/// A config collection at `base`: list, one (get, set, reset), and the batch `:alter`.
fn config_routes(routes: Router<SharedProxy>, base: &str) -> Router<SharedProxy> {
    routes
        .route(base, get(configs::list_configs))
        .route(
            &format!("{base}/{{name}}"),
            get(configs::get_config)
                .put(configs::set_config)
                .delete(configs::reset_config),
        )
        .route(&format!("{base}:alter"), post(configs::alter_configs))
}
