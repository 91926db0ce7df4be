//! AlterConfigs (the legacy, whole-set form): a topic's or a group's overrides, or the
//! dynamic cluster-wide broker defaults, are replaced by exactly the configs given.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use rafka_protocol::ErrorCode;

use super::describe_configs::{
    broker_config_def, RESOURCE_BROKER, RESOURCE_GROUP, RESOURCE_TOPIC, THREAD_POOL_CONFIGS,
};
use super::message;
use crate::broker::Broker;
use crate::error::ApiError;
use crate::group_config::validate_group_configs;
use crate::topic::validate_topic_name;
use crate::topic_config::{topic_config_of_broker_key, validate_topic_configs};

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: AlterConfigsRequest,
    session: &crate::session::Session,
) -> AlterConfigsResponse {
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
                check_keys(
                    resource
                        .configs
                        .iter()
                        .map(|c| (c.name.as_str(), c.value.is_none())),
                )?;
                let configs: BTreeMap<String, String> = resource
                    .configs
                    .iter()
                    .filter_map(|c| {
                        c.value
                            .as_ref()
                            .map(|v| (c.name.to_string(), v.to_string()))
                    })
                    .collect();
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
    AlterConfigsResponse::default().with_responses(responses)
}

/// Applies one resource's configs if its checks passed (else answers their error).
pub(super) async fn apply_checked(
    broker: &Broker,
    resource_type: i8,
    resource_name: &str,
    configs: Result<BTreeMap<String, String>, ApiError>,
    validate_only: bool,
) -> Result<(), ApiError> {
    apply(
        broker,
        resource_type,
        resource_name,
        configs?,
        validate_only,
    )
    .await
}

/// The resources named more than once in one request; Kafka refuses each of them.
pub(super) fn repeated_resources(
    resources: impl Iterator<Item = (i8, String)>,
) -> BTreeSet<(i8, String)> {
    let mut seen = BTreeSet::new();
    let mut repeated = BTreeSet::new();
    for resource in resources {
        if !seen.insert(resource.clone()) {
            repeated.insert(resource);
        }
    }
    repeated
}

pub(super) fn each_resource_once() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidRequest,
        "Each resource must appear at most once.",
    )
}

/// The broker's first checks of one resource's configs (Kafka's ConfigAdminManager
/// `preprocess`): no key twice, no null value where one is needed. Each item is a key and
/// whether its value is a null that is not allowed.
pub(super) fn check_keys<'a>(
    keys: impl Iterator<Item = (&'a str, bool)> + Clone,
) -> Result<(), ApiError> {
    let mut seen = BTreeSet::new();
    if keys.clone().any(|(k, _)| !seen.insert(k)) {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "Error due to duplicate config keys",
        ));
    }
    let nulls: Vec<&str> = keys.filter(|(_, null)| *null).map(|(k, _)| k).collect();
    if !nulls.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("Null value not supported for : {}", nulls.join(", ")),
        ));
    }
    Ok(())
}

/// Validates and (unless `validate_only`) stores the complete new set of configs of one
/// resource. Shared with IncrementalAlterConfigs, which computes the set first. As in
/// Kafka's controller, the configs are validated before the topic's existence is checked.
pub(super) async fn apply(
    broker: &Broker,
    resource_type: i8,
    resource_name: &str,
    configs: BTreeMap<String, String>,
    validate_only: bool,
) -> Result<(), ApiError> {
    match resource_type {
        RESOURCE_TOPIC => {
            if resource_name.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "Default topic resources are not allowed.",
                ));
            }
            validate_topic_name(resource_name)
                .map_err(|m| ApiError::new(ErrorCode::InvalidTopicException, m))?;
            validate_topic_configs(&configs, &broker.broker_log_defaults())
                .map_err(|m| ApiError::new(ErrorCode::InvalidConfig, m))?;
            if broker.topic(resource_name).is_none() {
                return Err(ApiError::new(
                    ErrorCode::UnknownTopicOrPartition,
                    format!("The topic '{resource_name}' does not exist."),
                ));
            }
            if validate_only {
                return Ok(());
            }
            broker.set_topic_configs(resource_name, configs).await
        }
        RESOURCE_BROKER => {
            let per_broker = check_broker_name(broker, resource_name)?;
            validate_broker_configs(broker, &configs)?;
            if validate_only {
                return Ok(());
            }
            broker.set_broker_configs(per_broker, configs).await
        }
        // Kafka's ControllerConfigurationValidator: any group id but the empty one, whether
        // or not the group exists.
        RESOURCE_GROUP => {
            if resource_name.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    "Default group resources are not allowed.",
                ));
            }
            validate_group_configs(&configs, &broker.config)
                .map_err(|m| ApiError::new(ErrorCode::InvalidConfig, m))?;
            if validate_only {
                return Ok(());
            }
            broker.set_group_configs(resource_name, configs).await
        }
        other => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("Unknown resource type {other}"),
        )),
    }
}

/// Whether a BROKER resource names this broker (its own configs) rather than the cluster
/// (""): Kafka's `ConfigAdminManager.validateResourceNameIsCurrentNodeId`.
fn check_broker_name(broker: &Broker, name: &str) -> Result<bool, ApiError> {
    if name.is_empty() {
        return Ok(false);
    }
    let invalid = |m: String| ApiError::new(ErrorCode::InvalidRequest, m);
    let id: i32 = name
        .parse()
        .map_err(|_| invalid(format!("Node id must be an integer, but it is: {name}")))?;
    if id != broker.config.node_id {
        return Err(invalid(format!(
            "Unexpected broker id, expected {}, but received {name}",
            broker.config.node_id
        )));
    }
    Ok(true)
}

/// Kafka's `DynamicBrokerConfig.validate`: only dynamic keys, each value of its type, and
/// thread pools changed by at most a factor of two. Kafka answers INVALID_REQUEST for all
/// of these (KAFKA-13609), not INVALID_CONFIG.
fn validate_broker_configs(
    broker: &Broker,
    configs: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let invalid = |m: String| ApiError::new(ErrorCode::InvalidRequest, m);
    let fixed: Vec<&str> = configs
        .keys()
        .map(String::as_str)
        .filter(|k| {
            topic_config_of_broker_key(k).is_none()
                && !broker_config_def(k).is_some_and(|d| d.dynamic)
        })
        .collect();
    if !fixed.is_empty() {
        return Err(invalid(format!(
            "Cannot update these configs dynamically: Set({})",
            fixed.join(", ")
        )));
    }
    let current = broker.dynamic_broker_configs().effective();
    for (key, value) in configs {
        let (config_type, default) = match topic_config_of_broker_key(key) {
            Some(def) => (def.config_type, def.broker_default),
            None => match broker_config_def(key) {
                Some(def) => (def.config_type, def.default),
                None => continue,
            },
        };
        config_type.validate(key, value).map_err(invalid)?;
        if THREAD_POOL_CONFIGS.contains(&key.as_str()) {
            let old: i64 = current
                .get(key)
                .or_else(|| broker.config.explicit.get(key))
                .map(String::as_str)
                .or(default)
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(1);
            let new: i64 = value.trim().parse().unwrap_or(0);
            // Kafka wraps the reconfiguration's ConfigException in another one, and the
            // client sees both texts.
            let failed = |why: String| {
                invalid(format!(
                    "Invalid value org.apache.kafka.common.config.ConfigException: Dynamic thread count update validation failed for {key}={value}, {why} for configuration Invalid dynamic configuration"
                ))
            };
            if new != old {
                if new <= 0 {
                    return Err(failed("value should be at least 1".into()));
                }
                if new < old / 2 {
                    return Err(failed(format!(
                        "value should be at least half the current value {old}"
                    )));
                }
                if new > old * 2 {
                    return Err(failed(format!(
                        "value should not be greater than double the current value {old}"
                    )));
                }
            }
        }
    }
    Ok(())
}
