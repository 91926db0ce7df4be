//! IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on single configs, applied to
//! the current overrides and then stored like AlterConfigs.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use rafka_protocol::ErrorCode;

use super::alter_configs::{apply_checked, check_keys, each_resource_once, repeated_resources};
use super::describe_configs::{broker_config_def, RESOURCE_BROKER, RESOURCE_GROUP, RESOURCE_TOPIC};
use super::message;
use crate::broker::Broker;
use crate::error::ApiError;
use crate::topic_config::{topic_config_def, topic_config_of_broker_key};

const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: IncrementalAlterConfigsRequest,
    session: &crate::session::Session,
) -> IncrementalAlterConfigsResponse {
    let repeated = repeated_resources(
        request
            .resources
            .iter()
            .map(|r| (r.resource_type, r.resource_name.to_string())),
    );
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        {
            let name = resource.resource_name.to_string();
            let result = (|| {
                if repeated.contains(&(resource.resource_type, name.clone())) {
                    return Err(each_resource_once());
                }
                broker.authorize_config_resource(session, resource.resource_type, &name, false)?;
                check_keys(resource.configs.iter().map(|c| {
                    (
                        c.name.as_str(),
                        c.config_operation != OP_DELETE && c.value.is_none(),
                    )
                }))?;
                let mut configs = current(broker, resource.resource_type, &name)?;
                for op in &resource.configs {
                    let value = op.value.as_ref().map(|v| v.to_string());
                    edit(
                        &mut configs,
                        resource.resource_type,
                        op.name.as_str(),
                        op.config_operation,
                        value.unwrap_or_default(),
                    )?;
                }
                Ok(configs)
            })();
            let result = apply_checked(
                broker,
                resource.resource_type,
                &name,
                result,
                request.validate_only,
            )
            .await;
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name);
            responses.push(match result {
                Ok(()) => response.with_error_message(None),
                Err(e) => response
                    .with_error_code(e.code.code())
                    .with_error_message(message(e.message)),
            });
        }
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// The resource's current overrides; none for a topic that does not exist, whose absence
/// `apply` reports after validating, as Kafka does.
fn current(
    broker: &Broker,
    resource_type: i8,
    name: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    match resource_type {
        RESOURCE_TOPIC => Ok(broker
            .topic(name)
            .map(|t| t.configs.clone())
            .unwrap_or_default()),
        RESOURCE_BROKER => Ok(broker
            .dynamic_broker_configs()
            .level(!name.is_empty())
            .clone()),
        RESOURCE_GROUP => Ok(broker.group_configs(name)),
        other => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("Unknown resource type {other}"),
        )),
    }
}

/// One operation, as Kafka's ConfigurationControlManager applies it.
fn edit(
    configs: &mut BTreeMap<String, String>,
    resource_type: i8,
    key: &str,
    operation: i8,
    value: String,
) -> Result<(), ApiError> {
    // No group config is a list.
    let (is_list, default) = if resource_type == RESOURCE_GROUP {
        (false, None)
    } else if resource_type == RESOURCE_TOPIC {
        topic_config_def(key).map_or((false, None), |d| {
            (d.config_type.is_list(), Some(d.default))
        })
    } else if let Some(d) = topic_config_of_broker_key(key) {
        (d.config_type.is_list(), d.broker_default)
    } else {
        broker_config_def(key).map_or((false, None), |d| (d.config_type.is_list(), d.default))
    };
    match operation {
        OP_SET => {
            configs.insert(key.to_string(), value);
        }
        OP_DELETE => {
            configs.remove(key);
        }
        OP_APPEND | OP_SUBTRACT => {
            let name = if operation == OP_APPEND {
                "APPEND"
            } else {
                "SUBTRACT"
            };
            if !is_list {
                return Err(ApiError::new(
                    ErrorCode::InvalidConfig,
                    format!("Can't {name} to key {key} because its type is not LIST."),
                ));
            }
            let base = configs
                .get(key)
                .map(String::as_str)
                .or(default)
                .unwrap_or_default();
            let mut items: Vec<&str> = base.split(',').filter(|s| !s.is_empty()).collect();
            for item in java_split(&value) {
                if operation == OP_APPEND {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                } else if let Some(at) = items.iter().position(|i| *i == item) {
                    items.remove(at);
                }
            }
            let joined = items.join(",");
            configs.insert(key.to_string(), joined);
        }
        _ if resource_type == RESOURCE_BROKER => {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!("Unknown operations type {operation}"),
            ))
        }
        // Kafka's controller meets a null operation type and fails with an unexpected
        // exception: UNKNOWN_SERVER_ERROR without a message.
        _ => return Err(ApiError::code(ErrorCode::UnknownServerError)),
    }
    Ok(())
}

/// Java's `String.split(",")`: trailing empty items dropped, others kept.
fn java_split(value: &str) -> Vec<&str> {
    let mut items: Vec<&str> = value.split(',').collect();
    while items.last() == Some(&"") {
        items.pop();
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtracting_the_last_policy_leaves_an_empty_list() {
        let mut configs = BTreeMap::new();
        edit(
            &mut configs,
            RESOURCE_TOPIC,
            "cleanup.policy",
            OP_SUBTRACT,
            "delete".into(),
        )
        .unwrap();
        assert_eq!(configs["cleanup.policy"], "");
        edit(
            &mut configs,
            RESOURCE_TOPIC,
            "cleanup.policy",
            OP_APPEND,
            "compact,delete".into(),
        )
        .unwrap();
        assert_eq!(configs["cleanup.policy"], "compact,delete");
    }

    #[test]
    fn list_operations_on_other_types_use_kafka_wording() {
        let mut configs = BTreeMap::new();
        let err = edit(
            &mut configs,
            RESOURCE_TOPIC,
            "retention.ms",
            OP_APPEND,
            "5".into(),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidConfig);
        assert_eq!(
            err.message.as_deref(),
            Some("Can't APPEND to key retention.ms because its type is not LIST.")
        );
        let err = edit(&mut configs, RESOURCE_TOPIC, "retention.ms", 7, "5".into()).unwrap_err();
        assert_eq!(
            (err.code, err.message),
            (ErrorCode::UnknownServerError, None)
        );
    }
}
