//! Metadata: brokers, the controller, and each topic's partitions with leader, replicas
//! and ISR. Unknown topics are created here when auto-creation is on, as in Kafka.

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use rafka_protocol::ErrorCode;

use super::{authorized_operations, str_bytes, Resource, OPERATIONS_OMITTED};
use crate::broker::Broker;
use crate::session::Session;
use crate::topic::{validate_topic_name, Topic};
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: MetadataRequest,
    version: i16,
    session: &Session,
) -> MetadataResponse {
    let live_brokers = broker.live_brokers_on(&session.listener);
    let controller_id = broker.controller_id_for_clients(&live_brokers);
    // Offline replicas are those not among these: computed once, not per topic.
    let live: Vec<i32> = live_brokers.iter().map(|b| b.id).collect();
    let brokers = live_brokers
        .into_iter()
        .map(|b| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(b.id))
                .with_host(str_bytes(b.host))
                .with_port(i32::from(b.port))
                .with_rack(b.rack.map(str_bytes))
        })
        .collect();
    // Asked for from v8; the cluster's field exists only in v8-v10, and is 0 without
    // DESCRIBE on the cluster (Kafka's handleTopicMetadataRequest).
    let include_topic_operations = request.include_topic_authorized_operations;
    let cluster_operations = if (8..=10).contains(&version)
        && request.include_cluster_authorized_operations
        && !broker.authorize_cluster(session, AclOperation::Describe)
    {
        0
    } else {
        authorized_operations(
            broker,
            session,
            Resource::Cluster,
            crate::acl_store::CLUSTER_NAME,
            (8..=10).contains(&version) && request.include_cluster_authorized_operations,
        )
    };
    let describable = |name: &str| broker.authorize_topic(session, name, AclOperation::Describe);
    // Kafka's answer lists the topics the principal may describe, then those it may not
    // create, then those it may not describe.
    let mut not_creatable: Vec<MetadataResponseTopic> = Vec::new();
    let mut not_describable: Vec<MetadataResponseTopic> = Vec::new();
    // v0: an empty list means all topics; v1+: null means all.
    let requested = match request.topics {
        None => None,
        Some(topics) if topics.is_empty() && version == 0 => None,
        Some(topics) => Some(topics),
    };
    let auto_create = broker.config.auto_create_topics_enable
        && (version < 4 || request.allow_auto_topic_creation);
    let mut topics: Vec<MetadataResponseTopic> = match requested {
        // Listing all topics hides those the principal may not describe.
        None => broker
            .topics()
            .iter()
            .filter(|t| describable(&t.name))
            .map(|t| describe_topic(t, &live))
            .collect(),
        Some(requested) => {
            let mut topics = Vec::with_capacity(requested.len());
            for wanted in requested {
                // A topic asked for by id has the default name "" (the Java consumer
                // resolves its KIP-848 assignment so): Kafka looks up a non-zero id.
                let by_name = wanted
                    .name
                    .filter(|n| !n.is_empty() || wanted.topic_id.is_nil());
                topics.push(if let Some(name) = by_name {
                    if !describable(name.as_str()) {
                        not_describable.push(refused(Some(name), uuid::Uuid::nil()));
                        continue;
                    }
                    // Auto-creation needs CREATE on the cluster or the topic.
                    let may_create = broker.topic(name.as_str()).is_some()
                        || !auto_create
                        || broker.authorize_cluster(session, AclOperation::Create)
                        || broker.authorize_topic(session, name.as_str(), AclOperation::Create);
                    if !may_create {
                        not_creatable.push(refused(Some(name), uuid::Uuid::nil()));
                        continue;
                    }
                    lookup_by_name(broker, name, auto_create, &live).await
                } else {
                    match broker.topic_by_id(&wanted.topic_id) {
                        // Topic ids are not secret: Kafka names the id it refuses.
                        Some(topic) if !describable(&topic.name) => {
                            not_describable.push(refused(None, wanted.topic_id));
                            continue;
                        }
                        Some(topic) => describe_topic(&topic, &live),
                        None => MetadataResponseTopic::default()
                            .with_topic_id(wanted.topic_id)
                            .with_error_code(ErrorCode::UnknownTopicId.code()),
                    }
                });
            }
            topics
        }
    };
    // Every topic of the answer, errors included, as Kafka's KafkaApis.
    for topic in &mut topics {
        let name = topic.name.as_ref().map(|n| n.as_str()).unwrap_or("");
        topic.topic_authorized_operations = authorized_operations(
            broker,
            session,
            Resource::Topic,
            name,
            include_topic_operations,
        );
    }
    topics.extend(not_creatable);
    topics.extend(not_describable);
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(str_bytes(broker.cluster_id.clone())))
        .with_controller_id(BrokerId(controller_id))
        .with_topics(topics)
        .with_cluster_authorized_operations(cluster_operations)
}

/// A topic the principal may not describe or create: TOPIC_AUTHORIZATION_FAILED and
/// nothing else (Kafka's `metadataResponseTopic` with no partitions).
fn refused(name: Option<TopicName>, topic_id: uuid::Uuid) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(name)
        .with_topic_id(topic_id)
        .with_error_code(ErrorCode::TopicAuthorizationFailed.code())
        .with_topic_authorized_operations(OPERATIONS_OMITTED)
}

async fn lookup_by_name(
    broker: &Arc<Broker>,
    name: TopicName,
    auto_create: bool,
    live: &[i32],
) -> MetadataResponseTopic {
    if let Some(topic) = broker.topic(name.as_str()) {
        return describe_topic(&topic, live);
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
    let created = broker
        .create_topic(name.as_str(), -1, -1, Default::default(), false)
        .await;
    match created {
        Ok(topic) => describe_topic(&topic, live),
        // Another request created it first: describe what is there.
        Err(e) if e.code == ErrorCode::TopicAlreadyExists => match broker.topic(name.as_str()) {
            Some(topic) => describe_topic(&topic, live),
            None => error(ErrorCode::LeaderNotAvailable),
        },
        Err(e) => {
            tracing::warn!("auto-creating topic {} failed: {e:?}", name.as_str());
            error(e.code)
        }
    }
}

fn describe_topic(topic: &Topic, live: &[i32]) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(str_bytes(topic.name.to_string()))))
        .with_topic_id(topic.topic_id)
        .with_is_internal(topic.is_internal())
        .with_topic_authorized_operations(OPERATIONS_OMITTED)
        .with_partitions(
            topic
                .states
                .iter()
                .enumerate()
                .map(|(index, state)| {
                    let ids = |v: &[i32]| v.iter().map(|id| BrokerId(*id)).collect();
                    let offline = offline_replicas(&state.replicas, live);
                    let error = if state.leader < 0 {
                        ErrorCode::LeaderNotAvailable.code()
                    } else {
                        0
                    };
                    MetadataResponsePartition::default()
                        .with_partition_index(index as i32)
                        .with_error_code(error)
                        .with_leader_id(BrokerId(state.leader))
                        .with_leader_epoch(state.leader_epoch)
                        .with_replica_nodes(ids(&state.replicas))
                        .with_isr_nodes(ids(&state.isr))
                        .with_offline_replicas(ids(&offline))
                })
                .collect(),
        )
}

/// The replicas not on a live broker, as Metadata and DescribeTopicPartitions list them.
pub(super) fn offline_replicas(replicas: &[i32], live: &[i32]) -> Vec<i32> {
    replicas
        .iter()
        .copied()
        .filter(|r| !live.contains(r))
        .collect()
}
