//! Metadata: brokers, the controller, and each topic's partitions with leader, replicas
//! and ISR. Unknown topics are created here when auto-creation is on, as in Kafka.

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use rafka_protocol::ErrorCode;

use super::str_bytes;
use crate::broker::Broker;
use crate::topic::{validate_topic_name, Topic};

/// Kafka's "authorized operations were not requested" sentinel.
const OPERATIONS_OMITTED: i32 = i32::MIN;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    let node_id = broker.config.node_id;
    let advertised = broker.config.advertised();
    let brokers = vec![MetadataResponseBroker::default()
        .with_node_id(BrokerId(node_id))
        .with_host(str_bytes(advertised.host.clone()))
        .with_port(i32::from(advertised.port))
        .with_rack(broker.config.broker_rack.clone().map(str_bytes))];
    // v0: an empty list means all topics; v1+: null means all.
    let requested = match request.topics {
        None => None,
        Some(topics) if topics.is_empty() && version == 0 => None,
        Some(topics) => Some(topics),
    };
    let auto_create = broker.config.auto_create_topics_enable
        && (version < 4 || request.allow_auto_topic_creation);
    let topics = match requested {
        None => broker
            .topics()
            .iter()
            .map(|t| describe_topic(broker, t))
            .collect(),
        Some(requested) => requested
            .into_iter()
            .map(|wanted| {
                if let Some(name) = wanted.name {
                    lookup_by_name(broker, name, auto_create)
                } else {
                    match broker.topic_by_id(&wanted.topic_id) {
                        Some(topic) => describe_topic(broker, &topic),
                        None => MetadataResponseTopic::default()
                            .with_topic_id(wanted.topic_id)
                            .with_error_code(ErrorCode::UnknownTopicId.code()),
                    }
                }
            })
            .collect(),
    };
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(str_bytes(broker.cluster_id.clone())))
        .with_controller_id(BrokerId(node_id))
        .with_topics(topics)
        .with_cluster_authorized_operations(OPERATIONS_OMITTED)
}

fn lookup_by_name(
    broker: &Arc<Broker>,
    name: TopicName,
    auto_create: bool,
) -> MetadataResponseTopic {
    if let Some(topic) = broker.topic(name.as_str()) {
        return describe_topic(broker, &topic);
    }
    let error = |code: ErrorCode| {
        MetadataResponseTopic::default()
            .with_name(Some(name.clone()))
            .with_error_code(code.code())
            .with_topic_authorized_operations(OPERATIONS_OMITTED)
    };
    if validate_topic_name(name.as_str()).is_err() {
        return error(ErrorCode::InvalidTopicException);
    }
    if !auto_create {
        return error(ErrorCode::UnknownTopicOrPartition);
    }
    match broker.create_topic(name.as_str(), -1, -1, Default::default(), false) {
        Ok(topic) => describe_topic(broker, &topic),
        // Another request created it first: describe what is there.
        Err(e) if e.code == ErrorCode::TopicAlreadyExists => match broker.topic(name.as_str()) {
            Some(topic) => describe_topic(broker, &topic),
            None => error(ErrorCode::LeaderNotAvailable),
        },
        Err(e) => {
            tracing::warn!("auto-creating topic {} failed: {e:?}", name.as_str());
            error(e.code)
        }
    }
}

fn describe_topic(broker: &Broker, topic: &Topic) -> MetadataResponseTopic {
    let node = BrokerId(broker.config.node_id);
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(str_bytes(topic.name.to_string()))))
        .with_topic_id(topic.topic_id)
        .with_is_internal(topic.is_internal())
        .with_topic_authorized_operations(OPERATIONS_OMITTED)
        .with_partitions(
            topic
                .partitions
                .iter()
                .map(|p| {
                    MetadataResponsePartition::default()
                        .with_partition_index(p.index)
                        .with_leader_id(node)
                        .with_leader_epoch(0)
                        .with_replica_nodes(vec![node])
                        .with_isr_nodes(vec![node])
                })
                .collect(),
        )
}
