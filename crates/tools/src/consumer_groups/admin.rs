//! The admin calls `kafka-consumer-groups.sh` needs, over rafka's protocol client: group
//! calls go to the group's coordinator (FindCoordinator), ListOffsets to each partition's
//! leader (Metadata), as the Java admin client routes them. librdkafka's admin API has
//! none of ListGroups/DescribeGroups/OffsetFetch/OffsetCommit/OffsetDelete.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest,
    DescribeGroupsResponse, FindCoordinatorRequest, FindCoordinatorResponse, GroupId,
    ListGroupsRequest, ListGroupsResponse, ListOffsetsRequest, ListOffsetsResponse,
    MetadataResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetDeleteRequest,
    OffsetDeleteResponse, OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use rafka_client::WireClient;
use rafka_protocol::consumer_protocol::assigned_partitions;
use rafka_protocol::ErrorCode;

use crate::ToolError;

/// A topic partition, ordered as Kafka's tool sorts them: by topic, then partition.
pub(crate) type Partition = (String, i32);

/// ListOffsets' special timestamps.
pub(crate) const LATEST_TIMESTAMP: i64 = -1;
pub(crate) const EARLIEST_TIMESTAMP: i64 = -2;

/// A broker as the cluster advertises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// One group as listed by ListGroups.
#[derive(Debug, Clone)]
pub(crate) struct GroupListing {
    pub group_id: String,
    pub state: String,
    pub group_type: String,
}

/// One member as DescribeGroups reports it, its assignment decoded.
#[derive(Debug, Clone)]
pub(crate) struct MemberDescription {
    pub consumer_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<Partition>,
}

/// One group as DescribeGroups reports it. `state` is Kafka's name (`Stable`, `Empty`, …);
/// a group the coordinator does not know is `Dead`.
#[derive(Debug, Clone)]
pub(crate) struct GroupDescription {
    pub group_id: String,
    pub state: String,
    pub assignment_strategy: String,
    pub members: Vec<MemberDescription>,
    pub coordinator: Node,
    /// The message of the coordinator's `GROUP_ID_NOT_FOUND` (DescribeGroups v6+).
    pub not_found: Option<String>,
}

impl GroupDescription {
    pub(crate) fn exists(&self) -> bool {
        self.state != "Dead"
    }
}

/// One partition of a topic in the metadata.
#[derive(Debug, Clone)]
pub(crate) struct PartitionInfo {
    pub leader: Option<i32>,
}

/// A Kafka error returned by a call: its code and the text the Java client would show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KafkaError {
    pub code: i16,
    pub message: String,
}

impl KafkaError {
    /// The broker's message when it sent one, else Kafka's description of the code.
    pub(crate) fn from_code(code: i16, message: Option<&str>) -> Option<KafkaError> {
        let error = ErrorCode::try_from_code(code)?;
        let message = match message.filter(|m| !m.is_empty()) {
            Some(m) => m.to_string(),
            None => description(error),
        };
        Some(KafkaError { code, message })
    }

    /// The Java exception's `toString()`: `org.apache.kafka.common.errors.XException: text`.
    pub(crate) fn java_string(&self) -> String {
        let class = match ErrorCode::try_from_code(self.code) {
            Some(ErrorCode::NonEmptyGroup) => "GroupNotEmptyException".to_string(),
            Some(ErrorCode::UnknownServerError) => "UnknownServerException".to_string(),
            Some(e) => format!("{e:?}Exception"),
            None => "UnknownServerException".to_string(),
        };
        format!("org.apache.kafka.common.errors.{class}: {}", self.message)
    }
}

/// Kafka's `Errors` text for a code.
fn description(error: ErrorCode) -> String {
    error.description().to_string()
}

/// Connections to the cluster: the bootstrap broker and, opened on demand, the others.
#[derive(Debug)]
pub(crate) struct Admin {
    bootstrap: WireClient,
    nodes: HashMap<i32, WireClient>,
    brokers: BTreeMap<i32, Node>,
    coordinators: HashMap<String, Node>,
    pub timeout: Duration,
    /// The command its failures name, as Kafka's tools print them ("Executing consumer
    /// group command failed due to …"): `consumer group` unless told otherwise.
    command: &'static str,
}

impl Admin {
    pub(crate) async fn connect(bootstrap: &str, timeout: Duration) -> Result<Admin, ToolError> {
        let client = crate::common::connect(bootstrap, timeout).await?;
        let mut admin = Admin {
            bootstrap: client,
            nodes: HashMap::new(),
            brokers: BTreeMap::new(),
            coordinators: HashMap::new(),
            timeout,
            command: "consumer group",
        };
        admin.metadata(Some(&[])).await?;
        Ok(admin)
    }

    /// Names the command in the failures this admin reports (`share group`, …).
    pub(crate) fn for_command(mut self, command: &'static str) -> Admin {
        self.command = command;
        self
    }

    /// A failure as the command's `run` reports it: "Executing <command> command failed
    /// due to <cause>".
    pub(crate) fn failure(&self, cause: impl std::fmt::Display) -> ToolError {
        ToolError::Failed(format!(
            "Executing {} command failed due to {cause}",
            self.command
        ))
    }

    /// The connection to broker `id`, opened on first use; the bootstrap connection when
    /// the broker is unknown (a single-node cluster advertises itself under another name).
    async fn node(&mut self, id: i32) -> Result<&mut WireClient, ToolError> {
        if !self.nodes.contains_key(&id) {
            let Some(node) = self.brokers.get(&id).cloned() else {
                return Ok(&mut self.bootstrap);
            };
            let address = format!("{}:{}", node.host, node.port);
            if self.brokers.len() == 1 || address == self.bootstrap.address {
                return Ok(&mut self.bootstrap);
            }
            let client = crate::common::connect(&address, self.timeout).await?;
            self.nodes.insert(id, client);
        }
        Ok(self.nodes.get_mut(&id).unwrap_or(&mut self.bootstrap))
    }

    /// Metadata for `topics` (all topics when `None`); remembers the brokers.
    pub(crate) async fn metadata(
        &mut self,
        topics: Option<&[String]>,
    ) -> Result<MetadataResponse, ToolError> {
        let timeout = self.timeout;
        let response = self.bootstrap.metadata(topics, timeout).await?;
        for broker in &response.brokers {
            self.brokers.insert(
                broker.node_id.0,
                Node {
                    id: broker.node_id.0,
                    host: broker.host.to_string(),
                    port: broker.port,
                },
            );
        }
        Ok(response)
    }

    /// The partitions of each named topic that exists, with their leaders.
    pub(crate) async fn topic_partitions(
        &mut self,
        topics: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<i32, PartitionInfo>>, ToolError> {
        let mut found = BTreeMap::new();
        if topics.is_empty() {
            return Ok(found);
        }
        let response = self.metadata(Some(topics)).await?;
        for topic in response.topics {
            if topic.error_code != 0 {
                continue;
            }
            let Some(name) = topic.name else { continue };
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let leader = (p.leader_id.0 >= 0).then_some(p.leader_id.0);
                    (p.partition_index, PartitionInfo { leader })
                })
                .collect();
            found.insert(name.to_string(), partitions);
        }
        Ok(found)
    }

    /// The group's coordinator, remembered per group.
    pub(crate) async fn coordinator(&mut self, group: &str) -> Result<Node, ToolError> {
        if let Some(node) = self.coordinators.get(group) {
            return Ok(node.clone());
        }
        let version = self.bootstrap.version_for(ApiKey::FindCoordinator, 3)?;
        let request = FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(group.to_string()))
            .with_key_type(0);
        let timeout = self.timeout;
        let response: FindCoordinatorResponse = self
            .bootstrap
            .call_within(ApiKey::FindCoordinator, version, &request, timeout)
            .await?;
        if let Some(e) =
            KafkaError::from_code(response.error_code, response.error_message.as_deref())
        {
            return Err(ToolError::Failed(format!(
                "Executing {} command failed due to {}",
                self.command, e.message
            )));
        }
        let node = Node {
            id: response.node_id.0,
            host: response.host.to_string(),
            port: response.port,
        };
        self.brokers.entry(node.id).or_insert_with(|| node.clone());
        self.coordinators.insert(group.to_string(), node.clone());
        Ok(node)
    }

    async fn coordinator_client(&mut self, group: &str) -> Result<&mut WireClient, ToolError> {
        let node = self.coordinator(group).await?;
        self.node(node.id).await
    }

    /// The known brokers' ids (the bootstrap broker alone, `-1`, before any Metadata).
    pub(crate) fn broker_ids(&self) -> Vec<i32> {
        let ids: Vec<i32> = self.brokers.keys().copied().collect();
        if ids.is_empty() {
            vec![-1]
        } else {
            ids
        }
    }

    /// One request to broker `id`, at the highest version both speak up to `ours`.
    pub(crate) async fn call_node<Req: Encodable, Resp: Decodable>(
        &mut self,
        id: i32,
        api_key: ApiKey,
        ours: i16,
        request: impl FnOnce(i16) -> Req,
    ) -> Result<Resp, ToolError> {
        let timeout = self.timeout;
        let client = self.node(id).await?;
        let version = client.version_for(api_key, ours)?;
        Ok(client
            .call_within(api_key, version, &request(version), timeout)
            .await?)
    }

    /// One request to `group`'s coordinator, at the highest version both speak up to
    /// `ours`.
    pub(crate) async fn call_coordinator<Req: Encodable, Resp: Decodable>(
        &mut self,
        group: &str,
        api_key: ApiKey,
        ours: i16,
        request: impl FnOnce(i16) -> Req,
    ) -> Result<Resp, ToolError> {
        let node = self.coordinator(group).await?;
        self.call_node(node.id, api_key, ours, request).await
    }

    /// Every group of every broker (ListGroups goes to all of them, as in Kafka).
    pub(crate) async fn list_groups(
        &mut self,
        states: &[String],
    ) -> Result<Vec<GroupListing>, ToolError> {
        let timeout = self.timeout;
        let mut groups: BTreeMap<String, GroupListing> = BTreeMap::new();
        for id in self.broker_ids() {
            let client = self.node(id).await?;
            let version = client.version_for(ApiKey::ListGroups, 5)?;
            let request = ListGroupsRequest::default()
                .with_states_filter(if version >= 4 {
                    states
                        .iter()
                        .map(|s| StrBytes::from_string(s.clone()))
                        .collect()
                } else {
                    Vec::new()
                })
                .with_types_filter(if version >= 5 {
                    vec![
                        StrBytes::from_static_str("classic"),
                        StrBytes::from_static_str("consumer"),
                    ]
                } else {
                    Vec::new()
                });
            let response: ListGroupsResponse = client
                .call_within(ApiKey::ListGroups, version, &request, timeout)
                .await?;
            if let Some(e) = KafkaError::from_code(response.error_code, None) {
                return Err(failed(&e));
            }
            for group in response.groups {
                // Kafka's consumer-group listing: classic groups of the consumer protocol
                // (or none yet) and groups of the new consumer protocol.
                let protocol_type = group.protocol_type.to_string();
                if !protocol_type.is_empty() && protocol_type != "consumer" {
                    continue;
                }
                let state = group.group_state.to_string();
                if !states.is_empty() && !states.iter().any(|s| s.eq_ignore_ascii_case(&state)) {
                    continue;
                }
                let group_type = match group.group_type.to_ascii_lowercase().as_str() {
                    "consumer" => "Consumer",
                    "classic" | "" => "Classic",
                    _ => "Unknown",
                };
                groups.insert(
                    group.group_id.to_string(),
                    GroupListing {
                        group_id: group.group_id.to_string(),
                        state,
                        group_type: group_type.to_string(),
                    },
                );
            }
        }
        Ok(groups.into_values().collect())
    }

    pub(crate) async fn describe_group(
        &mut self,
        group: &str,
    ) -> Result<GroupDescription, ToolError> {
        let coordinator = self.coordinator(group).await?;
        let timeout = self.timeout;
        let client = self.coordinator_client(group).await?;
        let version = client.version_for(ApiKey::DescribeGroups, 6)?;
        let request = DescribeGroupsRequest::default()
            .with_groups(vec![GroupId(StrBytes::from_string(group.to_string()))]);
        let response: DescribeGroupsResponse = client
            .call_within(ApiKey::DescribeGroups, version, &request, timeout)
            .await?;
        let Some(described) = response.groups.into_iter().next() else {
            return Err(ToolError::Failed(
                "Executing consumer group command failed due to an empty DescribeGroups response"
                    .into(),
            ));
        };
        let mut state = described.group_state.to_string();
        let mut not_found = None;
        if described.error_code == ErrorCode::GroupIdNotFound.code() {
            state = "Dead".into();
            not_found =
                KafkaError::from_code(described.error_code, described.error_message.as_deref())
                    .map(|e| e.java_string());
        } else if let Some(e) =
            KafkaError::from_code(described.error_code, described.error_message.as_deref())
        {
            return Err(failed(&e));
        }
        let consumer_protocol =
            described.protocol_type.is_empty() || described.protocol_type.as_str() == "consumer";
        let members = described
            .members
            .iter()
            .map(|m| MemberDescription {
                consumer_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|s| s.to_string()),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assignment: if consumer_protocol {
                    assigned_partitions(m.member_assignment.clone())
                } else {
                    Vec::new()
                },
            })
            .collect();
        Ok(GroupDescription {
            group_id: group.to_string(),
            state,
            assignment_strategy: described.protocol_data.to_string(),
            members,
            coordinator,
            not_found,
        })
    }

    /// The group's committed offsets (offset and leader epoch), partitions without a
    /// commit left out, as the Java admin client's `listConsumerGroupOffsets` does.
    pub(crate) async fn committed_offsets(
        &mut self,
        group: &str,
    ) -> Result<BTreeMap<Partition, (i64, Option<i32>)>, ToolError> {
        let timeout = self.timeout;
        let client = self.coordinator_client(group).await?;
        let version = client.version_for(ApiKey::OffsetFetch, 7)?;
        let request = OffsetFetchRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_topics(None);
        let response: OffsetFetchResponse = client
            .call_within(ApiKey::OffsetFetch, version, &request, timeout)
            .await?;
        if let Some(e) = KafkaError::from_code(response.error_code, None) {
            return Err(failed(&e));
        }
        let mut offsets = BTreeMap::new();
        for topic in response.topics {
            for p in topic.partitions {
                if p.error_code != 0 || p.committed_offset < 0 {
                    continue;
                }
                let epoch = (p.committed_leader_epoch >= 0).then_some(p.committed_leader_epoch);
                offsets.insert(
                    (topic.name.to_string(), p.partition_index),
                    (p.committed_offset, epoch),
                );
            }
        }
        Ok(offsets)
    }

    /// ListOffsets for `partitions` at `timestamp` (or a special one), each asked of its
    /// leader. A partition without a leader or with an error is absent from the answer;
    /// an offset of -1 (no record at or after a timestamp) is kept.
    pub(crate) async fn list_offsets(
        &mut self,
        partitions: &BTreeSet<Partition>,
        timestamp: i64,
    ) -> Result<BTreeMap<Partition, i64>, ToolError> {
        let mut found = BTreeMap::new();
        if partitions.is_empty() {
            return Ok(found);
        }
        let topics: Vec<String> = partitions
            .iter()
            .map(|(t, _)| t.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let metadata = self.topic_partitions(&topics).await?;
        let mut by_leader: BTreeMap<i32, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
        for (topic, partition) in partitions {
            let leader = metadata
                .get(topic)
                .and_then(|ps| ps.get(partition))
                .and_then(|p| p.leader);
            if let Some(leader) = leader {
                by_leader
                    .entry(leader)
                    .or_default()
                    .entry(topic.clone())
                    .or_default()
                    .push(*partition);
            }
        }
        let timeout = self.timeout;
        for (leader, topics) in by_leader {
            let client = self.node(leader).await?;
            let version = client.version_for(ApiKey::ListOffsets, 7)?;
            let request = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_isolation_level(0)
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(topic, partitions)| {
                            ListOffsetsTopic::default()
                                .with_name(TopicName(StrBytes::from_string(topic)))
                                .with_partitions(
                                    partitions
                                        .into_iter()
                                        .map(|p| {
                                            ListOffsetsPartition::default()
                                                .with_partition_index(p)
                                                .with_current_leader_epoch(-1)
                                                .with_timestamp(timestamp)
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            let response: ListOffsetsResponse = client
                .call_within(ApiKey::ListOffsets, version, &request, timeout)
                .await?;
            for topic in response.topics {
                for p in topic.partitions {
                    if p.error_code == 0 {
                        found.insert((topic.name.to_string(), p.partition_index), p.offset);
                    }
                }
            }
        }
        Ok(found)
    }

    /// Commits offsets from outside the group (generation -1, no member id), as the admin
    /// client's `alterConsumerGroupOffsets` does. The first partition error fails it.
    pub(crate) async fn commit_offsets(
        &mut self,
        group: &str,
        offsets: &BTreeMap<Partition, i64>,
    ) -> Result<(), ToolError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let mut topics: BTreeMap<&str, Vec<(i32, i64)>> = BTreeMap::new();
        for ((topic, partition), offset) in offsets {
            topics.entry(topic).or_default().push((*partition, *offset));
        }
        let timeout = self.timeout;
        let client = self.coordinator_client(group).await?;
        let version = client.version_for(ApiKey::OffsetCommit, 8)?;
        let request = OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_generation_id_or_member_epoch(-1)
            .with_member_id(StrBytes::from_static_str(""))
            .with_retention_time_ms(-1)
            .with_topics(
                topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        OffsetCommitRequestTopic::default()
                            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                            .with_partitions(
                                partitions
                                    .into_iter()
                                    .map(|(p, offset)| {
                                        OffsetCommitRequestPartition::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(offset)
                                            .with_committed_leader_epoch(-1)
                                            .with_committed_metadata(Some(
                                                StrBytes::from_static_str(""),
                                            ))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let response: OffsetCommitResponse = client
            .call_within(ApiKey::OffsetCommit, version, &request, timeout)
            .await?;
        for topic in response.topics {
            for p in topic.partitions {
                if let Some(e) = KafkaError::from_code(p.error_code, None) {
                    return Err(failed(&e));
                }
            }
        }
        Ok(())
    }

    /// DeleteGroups for one group: `None` on success.
    pub(crate) async fn delete_group(
        &mut self,
        group: &str,
    ) -> Result<Option<KafkaError>, ToolError> {
        let timeout = self.timeout;
        let client = self.coordinator_client(group).await?;
        let version = client.version_for(ApiKey::DeleteGroups, 2)?;
        let request = DeleteGroupsRequest::default()
            .with_groups_names(vec![GroupId(StrBytes::from_string(group.to_string()))]);
        let response: DeleteGroupsResponse = client
            .call_within(ApiKey::DeleteGroups, version, &request, timeout)
            .await?;
        Ok(response
            .results
            .into_iter()
            .find(|r| r.group_id.as_str() == group)
            .and_then(|r| KafkaError::from_code(r.error_code, None)))
    }

    /// OffsetDelete: the group-level error and each partition's error.
    pub(crate) async fn delete_offsets(
        &mut self,
        group: &str,
        partitions: &BTreeSet<Partition>,
    ) -> Result<(Option<KafkaError>, BTreeMap<Partition, Option<KafkaError>>), ToolError> {
        let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for (topic, partition) in partitions {
            topics.entry(topic).or_default().push(*partition);
        }
        let timeout = self.timeout;
        let client = self.coordinator_client(group).await?;
        let version = client.version_for(ApiKey::OffsetDelete, 0)?;
        let request = OffsetDeleteRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
            .with_topics(
                topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        OffsetDeleteRequestTopic::default()
                            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                            .with_partitions(
                                partitions
                                    .into_iter()
                                    .map(|p| {
                                        OffsetDeleteRequestPartition::default()
                                            .with_partition_index(p)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let response: OffsetDeleteResponse = client
            .call_within(ApiKey::OffsetDelete, version, &request, timeout)
            .await?;
        let group_error = KafkaError::from_code(response.error_code, None);
        let mut results = BTreeMap::new();
        for topic in response.topics {
            for p in topic.partitions {
                results.insert(
                    (topic.name.to_string(), p.partition_index),
                    KafkaError::from_code(p.error_code, None),
                );
            }
        }
        Ok((group_error, results))
    }
}

/// A Kafka error from a call, as Kafka's tool reports an unexpected one.
pub(crate) fn failed(e: &KafkaError) -> ToolError {
    ToolError::Failed(format!(
        "Executing consumer group command failed due to {}",
        e.message
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_exception_names_follow_kafka() {
        let e = KafkaError::from_code(ErrorCode::NonEmptyGroup.code(), None).unwrap();
        assert_eq!(
            e.java_string(),
            "org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty."
        );
        let e = KafkaError::from_code(ErrorCode::GroupIdNotFound.code(), None).unwrap();
        assert_eq!(
            e.java_string(),
            "org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist."
        );
    }
}
