//! CreateTopics, with validate_only and per-topic configs; v5+ answers with the created
//! topic's id, counts and configs.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse, TopicName};
use rafka_protocol::ErrorCode;

use super::describe_configs::topic_entries;
use super::{message, str_bytes};
use crate::broker::Broker;
use crate::error::ApiError;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: CreateTopicsRequest,
    version: i16,
    session: &Session,
) -> CreateTopicsResponse {
    // Kafka's ControllerApis.createTopics: CREATE on the cluster, or on each topic; the
    // refused ones are answered after the rest.
    let on_cluster = broker.authorize_cluster(session, AclOperation::Create);
    let mut unauthorized = Vec::new();
    // As Kafka's ControllerApis: a name given twice gets one answer, after the others.
    let mut seen = BTreeMap::new();
    for topic in &request.topics {
        *seen.entry(topic.name.to_string()).or_insert(0) += 1;
    }
    let duplicates: Vec<_> = seen
        .iter()
        .filter(|(_, count)| **count > 1)
        .map(|(name, _)| name.clone())
        .collect();
    let mut topics: Vec<CreatableTopicResult> = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        if seen[topic.name.as_str()] != 1 {
            continue;
        }
        if !on_cluster
            && !broker.authorize_topic(session, topic.name.as_str(), AclOperation::Create)
        {
            unauthorized.push(topic.name);
            continue;
        }
        {
            let name = topic.name.to_string();
            let result = (|| {
                if name == CLUSTER_METADATA_TOPIC {
                    return Err(ApiError::new(
                        ErrorCode::InvalidRequest,
                        format!(
                            "Creation of internal topic {CLUSTER_METADATA_TOPIC} is prohibited."
                        ),
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
                Ok((partitions, replication, assignments, configs))
            })();
            let result = match result {
                Ok((partitions, replication, assignments, configs)) => {
                    broker
                        .create_topic_with(
                            &name,
                            partitions,
                            replication,
                            assignments,
                            configs,
                            request.validate_only,
                        )
                        .await
                }
                Err(e) => Err(e),
            };
            let base = CreatableTopicResult::default().with_name(topic.name.clone());
            topics.push(match result {
                Ok(created) => {
                    let base = base
                        .with_error_message(None)
                        .with_topic_id(created.topic_id)
                        .with_num_partitions(if request.validate_only {
                            effective_partitions(broker, topic.num_partitions)
                        } else {
                            created.partitions.len() as i32
                        })
                        .with_replication_factor(created.replication_factor);
                    // Kafka shows the created topic's configs, partitions and replication
                    // factor only to a principal with DESCRIBE_CONFIGS on it.
                    let describable = broker.authorize_topic(
                        session,
                        topic.name.as_str(),
                        AclOperation::DescribeConfigs,
                    );
                    if version >= 5 && !describable {
                        base.with_topic_config_error_code(
                            ErrorCode::TopicAuthorizationFailed.code(),
                        )
                        .with_num_partitions(-1)
                        .with_replication_factor(-1)
                        .with_configs(Some(Vec::new()))
                    } else if version >= 5 {
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
                Err(e) => failed(topic.name.clone(), e),
            });
        }
    }
    topics.extend(duplicates.into_iter().map(|name| {
        failed(
            TopicName(str_bytes(name)),
            ApiError::new(ErrorCode::InvalidRequest, "Duplicate topic name."),
        )
    }));
    topics.extend(unauthorized.into_iter().map(|name| {
        failed(
            name,
            ApiError::new(ErrorCode::TopicAuthorizationFailed, "Authorization failed."),
        )
    }));
    CreateTopicsResponse::default().with_topics(topics)
}

const CLUSTER_METADATA_TOPIC: &str = "__cluster_metadata";

/// A topic's failure: Kafka's -1 counts and an empty (not null) config list.
fn failed(name: TopicName, e: ApiError) -> CreatableTopicResult {
    CreatableTopicResult::default()
        .with_name(name)
        .with_error_code(e.code.code())
        .with_error_message(message(e.message))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
        .with_configs(Some(Vec::new()))
}

fn effective_partitions(broker: &Broker, requested: i32) -> i32 {
    if requested == -1 {
        broker.config.num_partitions
    } else {
        requested
    }
}

/// Checks a manual replica assignment as Kafka's ReplicationControlManager does and
/// returns it, one broker list per partition in partition order.
fn manual_assignment(
    broker: &Broker,
    topic: &kafka_protocol::messages::create_topics_request::CreatableTopic,
) -> Result<Vec<Vec<i32>>, ApiError> {
    if topic.replication_factor != -1 {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "A manual partition assignment was specified, but replication factor was not set to -1.",
        ));
    }
    if topic.num_partitions != -1 {
        return Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "A manual partition assignment was specified, but numPartitions was not set to -1.",
        ));
    }
    let registered = broker.registered_broker_ids();
    let mut by_partition: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    let mut replication = None;
    for assignment in &topic.assignments {
        if by_partition.contains_key(&assignment.partition_index) {
            return Err(ApiError::new(
                ErrorCode::InvalidReplicaAssignment,
                format!(
                    "Found multiple manual partition assignments for partition {}",
                    assignment.partition_index
                ),
            ));
        }
        let replicas: Vec<i32> = assignment.broker_ids.iter().map(|b| b.0).collect();
        validate_manual_assignment(&replicas, replication, &registered)?;
        replication = Some(replicas.len());
        by_partition.insert(assignment.partition_index, replicas);
    }
    if by_partition.keys().enumerate().any(|(i, p)| *p != i as i32) {
        return Err(ApiError::new(
            ErrorCode::InvalidReplicaAssignment,
            "partitions should be a consecutive 0-based integer sequence",
        ));
    }
    Ok(by_partition.into_values().collect())
}

/// Kafka's `validateManualPartitionAssignment`: one partition's replicas are a non-empty
/// set of registered brokers, as many as the other partitions have.
pub(super) fn validate_manual_assignment(
    replicas: &[i32],
    replication: Option<usize>,
    registered: &[i32],
) -> Result<(), ApiError> {
    let invalid = |m: String| Err(ApiError::new(ErrorCode::InvalidReplicaAssignment, m));
    if replicas.is_empty() {
        return invalid("The manual partition assignment includes an empty replica list.".into());
    }
    let mut sorted = replicas.to_vec();
    sorted.sort_unstable();
    let mut previous = None;
    for id in sorted {
        if !registered.contains(&id) {
            return invalid(format!(
                "The manual partition assignment includes broker {id}, but no such broker is registered."
            ));
        }
        if previous == Some(id) {
            return invalid(format!(
                "The manual partition assignment includes the broker {id} more than once."
            ));
        }
        previous = Some(id);
    }
    match replication {
        Some(expected) if expected != replicas.len() => invalid(format!(
            "The manual partition assignment includes a partition with {} replica(s), but this is not consistent with previous partitions, which have {expected} replica(s).",
            replicas.len()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_assignment_errors_use_kafka_wording() {
        let err = validate_manual_assignment(&[1, 7], None, &[1]).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidReplicaAssignment);
        assert_eq!(
            err.message.as_deref(),
            Some("The manual partition assignment includes broker 7, but no such broker is registered.")
        );
        let err = validate_manual_assignment(&[1, 1], None, &[1]).unwrap_err();
        assert_eq!(
            err.message.as_deref(),
            Some("The manual partition assignment includes the broker 1 more than once.")
        );
        let err = validate_manual_assignment(&[1], Some(2), &[1]).unwrap_err();
        assert!(err.message.unwrap().contains("which have 2 replica(s)"));
        assert!(validate_manual_assignment(&[1], Some(1), &[1]).is_ok());
    }
}
