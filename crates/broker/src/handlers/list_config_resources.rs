//! ListConfigResources (KIP-1142; v0 was ListClientMetricsResources): the config resources
//! of the asked types, as Kafka 4.1's `KafkaApis.handleListConfigResources` lists them.

use std::sync::Arc;

use kafka_protocol::messages::list_config_resources_response::ConfigResource;
use kafka_protocol::messages::{ListConfigResourcesRequest, ListConfigResourcesResponse};
use rafka_protocol::ErrorCode;

use super::describe_configs::{
    RESOURCE_BROKER, RESOURCE_BROKER_LOGGER, RESOURCE_CLIENT_METRICS, RESOURCE_GROUP,
    RESOURCE_TOPIC,
};
use super::str_bytes;
use crate::broker::Broker;

/// The types a version may ask for; an empty request asks for all of them.
fn supported_types(version: i16) -> &'static [i8] {
    if version == 0 {
        &[RESOURCE_CLIENT_METRICS]
    } else {
        &[
            RESOURCE_TOPIC,
            RESOURCE_BROKER,
            RESOURCE_BROKER_LOGGER,
            RESOURCE_CLIENT_METRICS,
            RESOURCE_GROUP,
        ]
    }
}

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: ListConfigResourcesRequest,
    version: i16,
) -> ListConfigResourcesResponse {
    let supported = supported_types(version);
    let asked: Vec<i8> = if request.resource_types.is_empty() {
        supported.to_vec()
    } else {
        request.resource_types
    };
    // One type this version does not list refuses the whole request, with no message
    // (the response has no field for one).
    if asked.iter().any(|t| !supported.contains(t)) {
        return ListConfigResourcesResponse::default()
            .with_error_code(ErrorCode::UnsupportedVersion.code());
    }
    let mut resources: Vec<(String, i8)> = Vec::new();
    // Kafka's order: groups, client metrics, broker loggers, brokers, topics.
    if asked.contains(&RESOURCE_GROUP) {
        // Every group that has (or had, since start-up) a config entry, whether or not it
        // exists as a group.
        resources.extend(
            broker
                .groups_with_configs()
                .into_iter()
                .map(|g| (g, RESOURCE_GROUP)),
        );
    }
    // rafka has no client-metrics subscriptions, so RESOURCE_CLIENT_METRICS lists nothing.
    for kind in [RESOURCE_BROKER_LOGGER, RESOURCE_BROKER] {
        if asked.contains(&kind) {
            resources.extend(
                broker
                    .live_brokers()
                    .into_iter()
                    .map(|b| (b.id.to_string(), kind)),
            );
        }
    }
    if asked.contains(&RESOURCE_TOPIC) {
        resources.extend(
            broker
                .topics()
                .into_iter()
                .map(|t| (t.name.to_string(), RESOURCE_TOPIC)),
        );
    }
    ListConfigResourcesResponse::default().with_config_resources(
        resources
            .into_iter()
            .map(|(name, kind)| {
                ConfigResource::default()
                    .with_resource_name(str_bytes(name))
                    .with_resource_type(kind)
            })
            .collect(),
    )
}
