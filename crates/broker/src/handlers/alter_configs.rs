//! AlterConfigs (the legacy, whole-set form): a topic's overrides, or the dynamic
//! cluster-wide broker defaults, are replaced by exactly the configs given.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use rafka_protocol::ErrorCode;

use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::message;
use crate::broker::{ApiError, Broker};
use crate::topic_config::{validate_topic_config, TOPIC_CONFIGS};

pub(super) fn handle(broker: &Arc<Broker>, request: AlterConfigsRequest) -> AlterConfigsResponse {
    let responses = request
        .resources
        .into_iter()
        .map(|resource| {
            let configs: BTreeMap<String, String> = resource
                .configs
                .iter()
                .filter_map(|c| {
                    c.value
                        .as_ref()
                        .map(|v| (c.name.to_string(), v.to_string()))
                })
                .collect();
            let result = apply(
                broker,
                resource.resource_type,
                resource.resource_name.as_str(),
                configs,
                request.validate_only,
            );
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name);
            match result {
                Ok(()) => response,
                Err(e) => response
                    .with_error_code(e.code.code())
                    .with_error_message(message(e.message)),
            }
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

/// Validates and (unless `validate_only`) stores the complete new set of configs of one
/// resource. Shared with IncrementalAlterConfigs, which computes the set first.
pub(super) fn apply(
    broker: &Broker,
    resource_type: i8,
    resource_name: &str,
    configs: BTreeMap<String, String>,
    validate_only: bool,
) -> Result<(), ApiError> {
    match resource_type {
        RESOURCE_TOPIC => {
            if broker.topic(resource_name).is_none() {
                return Err(ApiError::new(
                    ErrorCode::UnknownTopicOrPartition,
                    format!("Topic {resource_name} does not exist."),
                ));
            }
            for (k, v) in &configs {
                validate_topic_config(k, v)
                    .map_err(|m| ApiError::new(ErrorCode::InvalidConfig, m))?;
            }
            if validate_only {
                return Ok(());
            }
            broker.set_topic_configs(resource_name, configs)
        }
        RESOURCE_BROKER => {
            if !resource_name.is_empty() && resource_name != broker.config.node_id.to_string() {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("Unexpected broker id, expected {} or empty string, but received {resource_name}", broker.config.node_id),
                ));
            }
            for (k, v) in &configs {
                let Some(def) = TOPIC_CONFIGS.iter().find(|d| d.broker_key == k) else {
                    return Err(ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!("Cannot update these configs dynamically: Set({k})"),
                    ));
                };
                def.config_type
                    .validate(k, v)
                    .map_err(|m| ApiError::new(ErrorCode::InvalidConfig, m))?;
            }
            if validate_only {
                return Ok(());
            }
            broker.set_broker_configs(configs)
        }
        other => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("Unsupported resource type {other}"),
        )),
    }
}
