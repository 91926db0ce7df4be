//! CreateTopics, with validate_only and per-topic configs; v5+ answers with the created
//! topic's id, counts and configs.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use rafka_protocol::ErrorCode;

use super::describe_configs::topic_entries;
use super::{message, str_bytes};
use crate::broker::{ApiError, Broker};

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: CreateTopicsRequest,
    version: i16,
) -> CreateTopicsResponse {
    let mut seen = BTreeMap::new();
    for topic in &request.topics {
        *seen.entry(topic.name.to_string()).or_insert(0) += 1;
    }
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let name = topic.name.to_string();
            let result = (|| {
                if seen[&name] > 1 {
                    return Err(ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!("Duplicate topic name {name} in the request."),
                    ));
                }
                let (partitions, replication, assignments) = if topic.assignments.is_empty() {
                    (topic.num_partitions, topic.replication_factor, None)
                } else {
                    let assignments = manual_assignment(broker, &topic)?;
                    let replication = assignments[0].len() as i16;
                    (assignments.len() as i32, replication, Some(assignments))
                };
                let mut configs = BTreeMap::new();
                for config in &topic.configs {
                    let Some(value) = &config.value else {
                        return Err(ApiError::new(
                            ErrorCode::InvalidConfig,
                            format!(
                                "Null value not supported for topic configs: {}",
                                config.name.as_str()
                            ),
                        ));
                    };
                    configs.insert(config.name.to_string(), value.to_string());
                }
                broker.create_topic_with(
                    &name,
                    partitions,
                    replication,
                    assignments,
                    configs,
                    request.validate_only,
                )
            })();
            let base = CreatableTopicResult::default().with_name(topic.name.clone());
            match result {
                Ok(created) => {
                    let base = base
                        .with_topic_id(created.topic_id)
                        .with_num_partitions(if request.validate_only {
                            effective_partitions(broker, topic.num_partitions)
                        } else {
                            created.partitions.len() as i32
                        })
                        .with_replication_factor(created.replication_factor);
                    if version >= 5 {
                        base.with_configs(Some(
                            topic_entries(broker, &created.configs)
                                .into_iter()
                                .map(|e| {
                                    CreatableTopicConfigs::default()
                                        .with_name(str_bytes(e.name))
                                        .with_value(if e.sensitive {
                                            None
                                        } else {
                                            e.value.map(str_bytes)
                                        })
                                        .with_read_only(e.read_only)
                                        .with_config_source(e.source)
                                        .with_is_sensitive(e.sensitive)
                                })
                                .collect(),
                        ))
                    } else {
                        base
                    }
                }
                Err(e) => base
                    .with_error_code(e.code.code())
                    .with_error_message(message(e.message))
                    .with_num_partitions(-1)
                    .with_replication_factor(-1)
                    .with_configs(None),
            }
        })
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}

fn effective_partitions(broker: &Broker, requested: i32) -> i32 {
    if requested == -1 {
        broker.config.num_partitions
    } else {
        requested
    }
}

/// Checks a manual replica assignment and returns it, one broker list per partition in
/// partition order.
fn manual_assignment(
    broker: &Broker,
    topic: &kafka_protocol::messages::create_topics_request::CreatableTopic,
) -> Result<Vec<Vec<i32>>, ApiError> {
    if topic.num_partitions != -1 || topic.replication_factor != -1 {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.",
        ));
    }
    let mut indexes: Vec<i32> = topic
        .assignments
        .iter()
        .map(|a| a.partition_index)
        .collect();
    indexes.sort_unstable();
    if indexes.iter().enumerate().any(|(i, p)| *p != i as i32) {
        return Err(ApiError::new(
            ErrorCode::InvalidReplicaAssignment,
            "Partitions should be a consecutive 0-based integer sequence",
        ));
    }
    let replication = topic.assignments[0].broker_ids.len();
    let registered = broker.registered_broker_ids();
    for assignment in &topic.assignments {
        if assignment.broker_ids.len() != replication || replication == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidReplicaAssignment,
                "All partitions should have the same number of replicas",
            ));
        }
        if let Some(unknown) = assignment
            .broker_ids
            .iter()
            .find(|b| !registered.contains(&b.0))
        {
            return Err(ApiError::new(
                ErrorCode::InvalidReplicaAssignment,
                format!("Unknown broker {} in the replica assignment", unknown.0),
            ));
        }
    }
    let mut ordered: Vec<_> = topic.assignments.iter().collect();
    ordered.sort_by_key(|a| a.partition_index);
    Ok(ordered
        .into_iter()
        .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
        .collect())
}
