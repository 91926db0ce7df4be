//! The `Admin` service's calls: topics created and deleted through librdkafka's admin
//! client, listed and described from cluster metadata.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::KafkaError;
use rdkafka::metadata::{Metadata, MetadataTopic};

use super::clients::{
    blocking, require_topic, topic_metadata, Clients, INTERNAL_TOPICS, REQUEST_TIMEOUT,
};
use super::error::ServiceError;
use super::pb::{
    CreateTopicRequest, ListTopicsRequest, ListTopicsResponse, PartitionDescription,
    TopicDescription,
};

/// How often a new topic's metadata is asked for until every partition has a leader.
const LEADER_POLL_INTERVAL: Duration = Duration::from_millis(50);

fn options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT))
}

/// Creates a topic and answers with its description once every partition has a leader
/// (or the request timeout passes, then as it is).
pub(super) async fn create_topic(
    clients: Arc<Clients>,
    request: CreateTopicRequest,
) -> Result<TopicDescription, ServiceError> {
    require_topic(&request.name)?;
    for (name, value) in [
        ("partitions", request.partitions),
        ("replication_factor", request.replication_factor),
    ] {
        if let Some(value) = value.filter(|v| *v < 1) {
            return Err(ServiceError::InvalidArgument(format!(
                "{name} {value} must be at least 1 (leave it out for the broker's default)"
            )));
        }
    }
    let context = || format!("create topic {}", request.name);
    let replication = TopicReplication::Fixed(request.replication_factor.unwrap_or(-1));
    let mut topic = NewTopic::new(&request.name, request.partitions.unwrap_or(-1), replication);
    for (key, value) in &request.configs {
        topic = topic.set(key, value);
    }
    let results = clients
        .admin
        .create_topics([&topic], &options())
        .await
        .map_err(|err| ServiceError::kafka(context(), err))?;
    for result in results {
        if let Err((_, code)) = result {
            return Err(ServiceError::kafka(context(), KafkaError::AdminOp(code)));
        }
    }
    let name = request.name.clone();
    blocking(move || {
        let deadline = Instant::now() + REQUEST_TIMEOUT;
        loop {
            match topic_metadata(clients.admin.inner(), &name) {
                Ok(metadata) => {
                    let description = describe(&metadata.topics()[0]);
                    let led = !description.partitions.is_empty()
                        && description.partitions.iter().all(|p| p.leader >= 0);
                    if led || Instant::now() >= deadline {
                        return Ok(description);
                    }
                }
                // The metadata may lag the creation by a moment.
                Err(ServiceError::UnknownTopic { .. }) if Instant::now() < deadline => {}
                Err(err) => return Err(err),
            }
            std::thread::sleep(LEADER_POLL_INTERVAL);
        }
    })
    .await
}

pub(super) async fn delete_topic(clients: Arc<Clients>, name: String) -> Result<(), ServiceError> {
    require_topic(&name)?;
    clients.forget(&name);
    let context = || format!("delete topic {name}");
    let results = clients
        .admin
        .delete_topics(&[name.as_str()], &options())
        .await
        .map_err(|err| ServiceError::kafka(context(), err))?;
    for result in results {
        if let Err((_, code)) = result {
            if matches!(
                code,
                rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition
            ) {
                return Err(ServiceError::UnknownTopic { topic: name });
            }
            return Err(ServiceError::kafka(context(), KafkaError::AdminOp(code)));
        }
    }
    Ok(())
}

pub(super) async fn list_topics(
    clients: Arc<Clients>,
    request: ListTopicsRequest,
) -> Result<ListTopicsResponse, ServiceError> {
    blocking(move || {
        let metadata: Metadata = clients
            .admin
            .inner()
            .fetch_metadata(None, REQUEST_TIMEOUT)
            .map_err(|err| ServiceError::kafka("list topics", err))?;
        let mut topics: Vec<TopicDescription> = metadata
            .topics()
            .iter()
            .map(describe)
            .filter(|topic| request.include_internal || !topic.internal)
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(ListTopicsResponse { topics })
    })
    .await
}

pub(super) async fn describe_topic(
    clients: Arc<Clients>,
    name: String,
) -> Result<TopicDescription, ServiceError> {
    require_topic(&name)?;
    blocking(move || {
        let metadata = topic_metadata(clients.admin.inner(), &name)?;
        Ok(describe(&metadata.topics()[0]))
    })
    .await
}

fn describe(topic: &MetadataTopic) -> TopicDescription {
    let mut partitions: Vec<PartitionDescription> = topic
        .partitions()
        .iter()
        .map(|partition| PartitionDescription {
            partition: partition.id(),
            leader: partition.leader(),
            replicas: partition.replicas().to_vec(),
            isr: partition.isr().to_vec(),
        })
        .collect();
    partitions.sort_by_key(|p| p.partition);
    TopicDescription {
        name: topic.name().to_string(),
        internal: INTERNAL_TOPICS.contains(&topic.name()),
        partitions,
    }
}
