//! IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on single configs, applied to
//! the current overrides and then stored like AlterConfigs.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use rafka_protocol::ErrorCode;

use super::alter_configs::apply;
use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::message;
use crate::broker::{ApiError, Broker};
use crate::topic_config::{ConfigType, TOPIC_CONFIGS};

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let responses = request
        .resources
        .into_iter()
        .map(|resource| {
            let name = resource.resource_name.to_string();
            let result = current(broker, resource.resource_type, &name).and_then(|mut configs| {
                for op in &resource.configs {
                    let key = op.name.to_string();
                    let value = op.value.as_ref().map(|v| v.to_string());
                    edit(
                        &mut configs,
                        resource.resource_type,
                        &key,
                        op.config_operation,
                        value,
                    )?;
                }
                apply(
                    broker,
                    resource.resource_type,
                    &name,
                    configs,
                    request.validate_only,
                )
            });
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
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

fn current(
    broker: &Broker,
    resource_type: i8,
    name: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    match resource_type {
        RESOURCE_TOPIC => broker
            .topic(name)
            .map(|t| t.configs.clone())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::UnknownTopicOrPartition,
                    format!("Topic {name} does not exist."),
                )
            }),
        RESOURCE_BROKER => Ok(broker.dynamic_broker_configs()),
        other => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("Unsupported resource type {other}"),
        )),
    }
}

fn edit(
    configs: &mut BTreeMap<String, String>,
    resource_type: i8,
    key: &str,
    operation: i8,
    value: Option<String>,
) -> Result<(), ApiError> {
    let def = TOPIC_CONFIGS.iter().find(|d| {
        if resource_type == RESOURCE_TOPIC {
            d.name == key
        } else {
            d.broker_key == key
        }
    });
    let is_list = matches!(def.map(|d| d.config_type), Some(ConfigType::List(_)));
    match operation {
        OP_SET => {
            configs.insert(key.to_string(), value.unwrap_or_default());
        }
        OP_DELETE => {
            configs.remove(key);
        }
        OP_APPEND | OP_SUBTRACT => {
            if !is_list {
                return Err(ApiError::new(
                    ErrorCode::InvalidConfig,
                    format!("Config value append is not allowed for config key: {key}"),
                ));
            }
            let base = configs
                .get(key)
                .cloned()
                .or_else(|| def.map(|d| d.default.to_string()))
                .unwrap_or_default();
            let mut items: Vec<String> = base
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            for item in value
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                if operation == OP_APPEND {
                    if !items.iter().any(|i| i == item) {
                        items.push(item.to_string());
                    }
                } else {
                    items.retain(|i| i != item);
                }
            }
            configs.insert(key.to_string(), items.join(","));
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("Unknown config operation {other}"),
            ))
        }
    }
    Ok(())
}
