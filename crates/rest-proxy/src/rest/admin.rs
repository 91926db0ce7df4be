//! The admin half of the proxy: Kafka requests over rafka-client's wire client, each sent
//! where Kafka's `Admin` sends it (metadata to any broker, topic changes to the
//! controller, group requests to the group's coordinator, ListOffsets to the leader).

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::messages::{
    ApiKey, BrokerId, GroupId, MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use rafka_client::{ClientError, WirePool};
use rafka_protocol::consumer_protocol::assigned_partitions;

use super::errors::RestError;

/// How long a connection may take; the request's own timeout is the proxy's.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Kafka's `ConfigResource.Type` codes.
pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

/// `IncrementalAlterConfigs` operations.
pub const CONFIG_SET: i8 = 0;
pub const CONFIG_DELETE: i8 = 1;

#[derive(Debug)]
pub struct Admin {
    bootstrap: Vec<String>,
    pool: WirePool,
    timeout: Duration,
}

/// A broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

/// A partition as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub partition: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub is_internal: bool,
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    pub fn replication_factor(&self) -> usize {
        self.partitions.first().map_or(0, |p| p.replicas.len())
    }
}

/// The cluster as one Metadata answer shows it.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub cluster_id: String,
    pub controller_id: i32,
    pub brokers: Vec<Broker>,
    /// Sorted by name; only topics that exist.
    pub topics: Vec<TopicInfo>,
}

impl Cluster {
    pub fn topic(&self, name: &str) -> Option<&TopicInfo> {
        self.topics.iter().find(|t| t.name == name)
    }

    fn address_of(&self, id: i32) -> Option<String> {
        self.brokers
            .iter()
            .find(|b| b.id == id)
            .map(|b| format!("{}:{}", b.host, b.port))
    }
}

/// One config entry from DescribeConfigs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub is_read_only: bool,
    pub is_sensitive: bool,
    pub source: i8,
    pub synonyms: Vec<(String, Option<String>, i8)>,
}

impl ConfigEntry {
    pub fn is_default(&self) -> bool {
        self.source == 5
    }
}

/// Kafka's `ConfigEntry.ConfigSource` names, as Confluent prints them.
pub fn config_source_name(source: i8) -> &'static str {
    match source {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        _ => "UNKNOWN",
    }
}

/// A group as ListGroups and DescribeGroups show it.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    pub protocol: String,
    pub coordinator: i32,
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone)]
pub struct GroupMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// (topic, partition) pairs from the member's consumer-protocol assignment.
    pub assignment: Vec<(String, i32)>,
}

/// The error of a Kafka answer, or `Ok`.
fn check(code: i16, message: Option<&StrBytes>) -> Result<(), RestError> {
    match rafka_client::kafka_error_message(code, message.map(|m| m.as_str())) {
        None => Ok(()),
        Some(text) => Err(RestError::kafka(code, &text)),
    }
}

fn name(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl Admin {
    pub fn new(
        bootstrap: &str,
        timeout: Duration,
        security: rafka_client::ClientSecurity,
    ) -> Admin {
        Admin {
            bootstrap: bootstrap
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            pool: WirePool::with_security(security),
            timeout,
        }
    }

    async fn call_at<Req: Encodable, Resp: Decodable>(
        &self,
        address: &str,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, RestError> {
        self.pool
            .call(
                address,
                api_key,
                version,
                request,
                CONNECT_TIMEOUT,
                self.timeout,
            )
            .await
            .map_err(|e| RestError::client(&e))
    }

    /// To the first bootstrap server that answers.
    async fn call_any<Req: Encodable, Resp: Decodable>(
        &self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, RestError> {
        let mut last = ClientError::NoBootstrapServers;
        for address in &self.bootstrap {
            match self
                .pool
                .call(
                    address,
                    api_key,
                    version,
                    request,
                    CONNECT_TIMEOUT,
                    self.timeout,
                )
                .await
            {
                Ok(answer) => return Ok(answer),
                Err(e) if e.is_unreachable() => last = e,
                Err(e) => return Err(RestError::client(&e)),
            }
        }
        Err(RestError::client(&last))
    }

    /// To broker `id` of `cluster`.
    async fn call_node<Req: Encodable, Resp: Decodable>(
        &self,
        cluster: &Cluster,
        id: i32,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, RestError> {
        match cluster.address_of(id) {
            Some(address) => self.call_at(&address, api_key, version, request).await,
            None => self.call_any(api_key, version, request).await,
        }
    }

    /// To the active controller, where Kafka's `Admin` sends topic changes.
    async fn call_controller<Req: Encodable, Resp: Decodable>(
        &self,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, RestError> {
        let cluster = self.cluster(Some(&[])).await?;
        self.call_node(&cluster, cluster.controller_id, api_key, version, request)
            .await
    }

    /// Metadata for all topics (`None`) or the named ones, never creating any.
    pub async fn cluster(&self, topics: Option<&[String]>) -> Result<Cluster, RestError> {
        use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
        let request = MetadataRequest::default()
            .with_allow_auto_topic_creation(false)
            .with_topics(topics.map(|names| {
                names
                    .iter()
                    .map(|n| MetadataRequestTopic::default().with_name(Some(TopicName(name(n)))))
                    .collect()
            }));
        let response: MetadataResponse = self.call_any(ApiKey::Metadata, 12, &request).await?;
        let mut topics: Vec<TopicInfo> = response
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .filter_map(|t| {
                let mut partitions: Vec<PartitionInfo> = t
                    .partitions
                    .iter()
                    .map(|p| PartitionInfo {
                        partition: p.partition_index,
                        leader: p.leader_id.0,
                        replicas: p.replica_nodes.iter().map(|r| r.0).collect(),
                        isr: p.isr_nodes.iter().map(|r| r.0).collect(),
                    })
                    .collect();
                partitions.sort_by_key(|p| p.partition);
                Some(TopicInfo {
                    name: t.name.as_ref()?.to_string(),
                    is_internal: t.is_internal,
                    partitions,
                })
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        let mut brokers: Vec<Broker> = response
            .brokers
            .iter()
            .map(|b| Broker {
                id: b.node_id.0,
                host: b.host.to_string(),
                port: b.port,
                rack: b.rack.as_ref().map(|r| r.to_string()),
            })
            .collect();
        brokers.sort_by_key(|b| b.id);
        Ok(Cluster {
            cluster_id: response
                .cluster_id
                .map(|c| c.to_string())
                .unwrap_or_default(),
            controller_id: response.controller_id.0,
            brokers,
            topics,
        })
    }

    /// CreateTopics for one topic; -1 counts take the broker's defaults. Answers the
    /// partition count and replication factor the topic got.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
        configs: &[(String, Option<String>)],
        validate_only: bool,
    ) -> Result<(i32, i16), RestError> {
        use kafka_protocol::messages::create_topics_request::{
            CreatableTopic, CreatableTopicConfig,
        };
        use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
        let request = CreateTopicsRequest::default()
            .with_timeout_ms(self.timeout_ms())
            .with_validate_only(validate_only)
            .with_topics(vec![CreatableTopic::default()
                .with_name(TopicName(name(topic)))
                .with_num_partitions(partitions)
                .with_replication_factor(replication_factor)
                .with_configs(
                    configs
                        .iter()
                        .map(|(k, v)| {
                            CreatableTopicConfig::default()
                                .with_name(name(k))
                                .with_value(v.as_deref().map(name))
                        })
                        .collect(),
                )]);
        let response: CreateTopicsResponse = self
            .call_controller(ApiKey::CreateTopics, 7, &request)
            .await?;
        let created = response
            .topics
            .first()
            .ok_or_else(|| RestError::kafka(-1, "CreateTopics answered no topic"))?;
        check(created.error_code, created.error_message.as_ref())?;
        Ok((created.num_partitions, created.replication_factor))
    }

    pub async fn delete_topic(&self, topic: &str) -> Result<(), RestError> {
        use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};
        let request = DeleteTopicsRequest::default()
            .with_timeout_ms(self.timeout_ms())
            .with_topic_names(vec![TopicName(name(topic))]);
        let response: DeleteTopicsResponse = self
            .call_controller(ApiKey::DeleteTopics, 5, &request)
            .await?;
        for t in &response.responses {
            check(t.error_code, t.error_message.as_ref())?;
        }
        Ok(())
    }

    /// CreatePartitions: grows `topic` to `count` partitions.
    pub async fn create_partitions(&self, topic: &str, count: i32) -> Result<(), RestError> {
        use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
        use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
        let request = CreatePartitionsRequest::default()
            .with_timeout_ms(self.timeout_ms())
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(TopicName(name(topic)))
                .with_count(count)
                // Absent, not empty: the controller places the new partitions.
                .with_assignments(None)]);
        let response: CreatePartitionsResponse = self
            .call_controller(ApiKey::CreatePartitions, 3, &request)
            .await?;
        for t in &response.results {
            check(t.error_code, t.error_message.as_ref())?;
        }
        Ok(())
    }

    /// DescribeConfigs of one resource, with synonyms; broker resources go to that broker.
    pub async fn describe_configs(
        &self,
        resource_type: i8,
        resource_name: &str,
    ) -> Result<Vec<ConfigEntry>, RestError> {
        use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
        use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
        let request = DescribeConfigsRequest::default()
            .with_include_synonyms(true)
            .with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(name(resource_name))
                .with_configuration_keys(None)]);
        let response: DescribeConfigsResponse = self
            .call_for_resource(
                resource_type,
                resource_name,
                ApiKey::DescribeConfigs,
                4,
                &request,
            )
            .await?;
        let mut entries = Vec::new();
        for result in &response.results {
            check(result.error_code, result.error_message.as_ref())?;
            entries.extend(result.configs.iter().map(|c| {
                ConfigEntry {
                    name: c.name.to_string(),
                    value: c.value.as_ref().map(|v| v.to_string()),
                    is_read_only: c.read_only,
                    is_sensitive: c.is_sensitive,
                    source: c.config_source,
                    synonyms: c
                        .synonyms
                        .iter()
                        .map(|s| {
                            (
                                s.name.to_string(),
                                s.value.as_ref().map(|v| v.to_string()),
                                s.source,
                            )
                        })
                        .collect(),
                }
            }));
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// IncrementalAlterConfigs of one resource: `(name, operation, value)` triples.
    pub async fn alter_configs(
        &self,
        resource_type: i8,
        resource_name: &str,
        changes: &[(String, i8, Option<String>)],
        validate_only: bool,
    ) -> Result<(), RestError> {
        use kafka_protocol::messages::incremental_alter_configs_request::{
            AlterConfigsResource, AlterableConfig,
        };
        use kafka_protocol::messages::{
            IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
        };
        let request = IncrementalAlterConfigsRequest::default()
            .with_validate_only(validate_only)
            .with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(name(resource_name))
                .with_configs(
                    changes
                        .iter()
                        .map(|(k, op, v)| {
                            AlterableConfig::default()
                                .with_name(name(k))
                                .with_config_operation(*op)
                                .with_value(v.as_deref().map(name))
                        })
                        .collect(),
                )]);
        let response: IncrementalAlterConfigsResponse = self
            .call_for_resource(
                resource_type,
                resource_name,
                ApiKey::IncrementalAlterConfigs,
                1,
                &request,
            )
            .await?;
        for r in &response.responses {
            check(r.error_code, r.error_message.as_ref())?;
        }
        Ok(())
    }

    /// A config request for a broker goes to that broker, any other to any broker.
    async fn call_for_resource<Req: Encodable, Resp: Decodable>(
        &self,
        resource_type: i8,
        resource_name: &str,
        api_key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, RestError> {
        match resource_name.parse::<i32>() {
            Ok(id) if resource_type == RESOURCE_BROKER => {
                let cluster = self.cluster(Some(&[])).await?;
                if cluster.address_of(id).is_none() {
                    return Err(RestError::http(
                        axum::http::StatusCode::NOT_FOUND,
                        format!("Broker {id} cannot be found."),
                    ));
                }
                self.call_node(&cluster, id, api_key, version, request)
                    .await
            }
            _ => self.call_any(api_key, version, request).await,
        }
    }

    /// Every group of every broker (ListGroups to each).
    pub async fn list_groups(&self) -> Result<Vec<String>, RestError> {
        use kafka_protocol::messages::{ListGroupsRequest, ListGroupsResponse};
        let cluster = self.cluster(Some(&[])).await?;
        let mut groups = Vec::new();
        for broker in &cluster.brokers {
            let response: ListGroupsResponse = self
                .call_node(
                    &cluster,
                    broker.id,
                    ApiKey::ListGroups,
                    4,
                    &ListGroupsRequest::default(),
                )
                .await?;
            check(response.error_code, None)?;
            groups.extend(
                response
                    .groups
                    .iter()
                    .filter(|g| {
                        g.protocol_type.is_empty() || g.protocol_type.as_str() == "consumer"
                    })
                    .map(|g| g.group_id.to_string()),
            );
        }
        groups.sort();
        groups.dedup();
        Ok(groups)
    }

    /// The coordinator of `group`.
    async fn coordinator(&self, group: &str) -> Result<(i32, String), RestError> {
        use kafka_protocol::messages::{FindCoordinatorRequest, FindCoordinatorResponse};
        let request = FindCoordinatorRequest::default()
            .with_key(name(group))
            .with_key_type(0);
        let response: FindCoordinatorResponse =
            self.call_any(ApiKey::FindCoordinator, 3, &request).await?;
        check(response.error_code, response.error_message.as_ref())?;
        Ok((
            response.node_id.0,
            format!("{}:{}", response.host, response.port),
        ))
    }

    /// DescribeGroups at the group's coordinator; a group that does not exist is in state
    /// `Dead`, as Kafka answers.
    pub async fn describe_group(&self, group: &str) -> Result<GroupDescription, RestError> {
        use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};
        let (coordinator, address) = self.coordinator(group).await?;
        let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(name(group))]);
        let response: DescribeGroupsResponse = self
            .call_at(&address, ApiKey::DescribeGroups, 5, &request)
            .await?;
        let described = response
            .groups
            .into_iter()
            .next()
            .ok_or_else(|| RestError::kafka(-1, "DescribeGroups answered no group"))?;
        check(described.error_code, described.error_message.as_ref())?;
        Ok(GroupDescription {
            group_id: described.group_id.to_string(),
            state: described.group_state.to_string(),
            protocol_type: described.protocol_type.to_string(),
            protocol: described.protocol_data.to_string(),
            coordinator,
            members: described
                .members
                .iter()
                .map(|m| GroupMember {
                    member_id: m.member_id.to_string(),
                    instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
                    client_id: m.client_id.to_string(),
                    client_host: m.client_host.to_string(),
                    assignment: assigned_partitions(m.member_assignment.clone()),
                })
                .collect(),
        })
    }

    /// The group's committed offsets: (topic, partition) → offset.
    pub async fn committed_offsets(
        &self,
        group: &str,
    ) -> Result<BTreeMap<(String, i32), i64>, RestError> {
        use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse};
        let (_, address) = self.coordinator(group).await?;
        let request = OffsetFetchRequest::default()
            .with_group_id(GroupId(name(group)))
            .with_topics(None);
        let response: OffsetFetchResponse = self
            .call_at(&address, ApiKey::OffsetFetch, 7, &request)
            .await?;
        check(response.error_code, None)?;
        let mut offsets = BTreeMap::new();
        for topic in &response.topics {
            for p in &topic.partitions {
                if p.error_code == 0 && p.committed_offset >= 0 {
                    offsets.insert(
                        (topic.name.to_string(), p.partition_index),
                        p.committed_offset,
                    );
                }
            }
        }
        Ok(offsets)
    }

    /// The log-end offsets (ListOffsets `LATEST`) of `partitions`, asked of each leader.
    pub async fn log_end_offsets(
        &self,
        partitions: &[(String, i32)],
    ) -> Result<BTreeMap<(String, i32), i64>, RestError> {
        self.list_offsets(partitions, -1).await
    }

    /// ListOffsets at `timestamp` (-1 latest, -2 earliest) for `partitions`.
    pub async fn list_offsets(
        &self,
        partitions: &[(String, i32)],
        timestamp: i64,
    ) -> Result<BTreeMap<(String, i32), i64>, RestError> {
        use kafka_protocol::messages::list_offsets_request::{
            ListOffsetsPartition, ListOffsetsTopic,
        };
        use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
        let topics: Vec<String> = {
            let mut t: Vec<String> = partitions.iter().map(|(t, _)| t.clone()).collect();
            t.sort();
            t.dedup();
            t
        };
        let cluster = self.cluster(Some(&topics)).await?;
        let mut by_leader: BTreeMap<i32, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
        for (topic, partition) in partitions {
            let leader = cluster
                .topic(topic)
                .and_then(|t| t.partitions.iter().find(|p| p.partition == *partition))
                .map_or(-1, |p| p.leader);
            by_leader
                .entry(leader)
                .or_default()
                .entry(topic.clone())
                .or_default()
                .push(*partition);
        }
        let mut offsets = BTreeMap::new();
        for (leader, topics) in by_leader {
            let request = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(
                    topics
                        .iter()
                        .map(|(topic, partitions)| {
                            ListOffsetsTopic::default()
                                .with_name(TopicName(name(topic)))
                                .with_partitions(
                                    partitions
                                        .iter()
                                        .map(|p| {
                                            ListOffsetsPartition::default()
                                                .with_partition_index(*p)
                                                .with_current_leader_epoch(-1)
                                                .with_timestamp(timestamp)
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            let response: ListOffsetsResponse = self
                .call_node(&cluster, leader, ApiKey::ListOffsets, 7, &request)
                .await?;
            for topic in &response.topics {
                for p in &topic.partitions {
                    check(p.error_code, None)?;
                    offsets.insert((topic.name.to_string(), p.partition_index), p.offset);
                }
            }
        }
        Ok(offsets)
    }

    fn timeout_ms(&self) -> i32 {
        i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX)
    }
}
