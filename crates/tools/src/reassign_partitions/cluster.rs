//! The cluster as the tool sees it, over rafka's protocol client: Metadata for current
//! assignments, DescribeCluster for brokers, and the two reassignment APIs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, BrokerId,
    ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use rafka_client::{BrokerNode, WireClient};
use rafka_protocol::ErrorCode;
use rafka_types::TopicPartition;

use super::failure::Failure;
use super::formats::{join, OngoingReassignment};
use crate::common::java_tp_hash;
use crate::common::{
    broker_timeout_ms, java_exception_string, java_hash_order, java_string_hash,
    JAVA_HASH_MAP_DEFAULT_CAPACITY,
};
use crate::ToolError;

/// The error code of a topic that does not exist, as `TopicReplicas` carries it.
pub(super) const UNKNOWN_TOPIC_OR_PARTITION: i16 = ErrorCode::UnknownTopicOrPartition.code();

/// A topic's partitions and their replicas, or its error code.
type TopicReplicas = Result<BTreeMap<i32, Vec<i32>>, i16>;

#[derive(Debug)]
pub(super) struct Cluster {
    pub(super) client: WireClient,
    /// How long each call may take.
    pub(super) timeout: Duration,
}

impl Cluster {
    pub(super) async fn brokers(&mut self) -> Result<Vec<BrokerNode>, ToolError> {
        Ok(self.client.brokers(self.timeout).await?)
    }

    /// Metadata for `topics`, by name.
    pub(super) async fn describe_topics(
        &mut self,
        topics: &[String],
    ) -> Result<BTreeMap<String, TopicReplicas>, ToolError> {
        if topics.is_empty() {
            return Ok(BTreeMap::new());
        }
        let response = self.client.metadata(Some(topics), self.timeout).await?;
        let mut described = BTreeMap::new();
        for topic in &response.topics {
            let Some(name) = &topic.name else { continue };
            let replicas = if topic.error_code != 0 {
                Err(topic.error_code)
            } else {
                Ok(topic
                    .partitions
                    .iter()
                    .map(|p| {
                        (
                            p.partition_index,
                            p.replica_nodes.iter().map(|r| r.0).collect(),
                        )
                    })
                    .collect())
            };
            described.insert(name.0.to_string(), replicas);
        }
        Ok(described)
    }

    /// Kafka's `getReplicaAssignmentForTopics`: every partition of `topics`, which must
    /// all exist.
    pub(super) async fn replica_assignment_for_topics(
        &mut self,
        topics: &[String],
    ) -> Result<BTreeMap<TopicPartition, Vec<i32>>, Failure> {
        let described = self.describe_topics(topics).await?;
        let mut assignment = BTreeMap::new();
        for topic in java_hash_order(topics.to_vec(), JAVA_HASH_MAP_DEFAULT_CAPACITY, |t| {
            java_string_hash(t)
        }) {
            let partitions = match described.get(&topic) {
                Some(Ok(partitions)) => partitions,
                Some(Err(UNKNOWN_TOPIC_OR_PARTITION)) | None => {
                    return Err(Failure::Error(format!(
                        "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Topic {topic} not found."
                    )))
                }
                Some(Err(code)) => return Err(Failure::Error(java_exception_string(*code, None))),
            };
            for (partition, replicas) in partitions {
                assignment.insert(
                    TopicPartition::new(topic.clone(), *partition),
                    replicas.clone(),
                );
            }
        }
        Ok(assignment)
    }

    /// Kafka's `getReplicaAssignmentForPartitions`: the current replicas of
    /// `partitions`, which must all exist.
    pub(super) async fn replica_assignment_for_partitions(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Vec<i32>>, Failure> {
        let mut topics: Vec<String> = Vec::new();
        for tp in partitions {
            if !topics.contains(&tp.topic) {
                topics.push(tp.topic.clone());
            }
        }
        let all = self.replica_assignment_for_topics(&topics).await?;
        let found: BTreeMap<TopicPartition, Vec<i32>> = all
            .into_iter()
            .filter(|(tp, _)| partitions.contains(tp))
            .collect();
        let missing: Vec<TopicPartition> = partitions
            .iter()
            .filter(|tp| !found.contains_key(tp))
            .cloned()
            .collect();
        if !missing.is_empty() {
            let missing = java_hash_order(missing, JAVA_HASH_MAP_DEFAULT_CAPACITY, java_tp_hash);
            return Err(Failure::Error(format!(
                "org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Unable to find partition: {}",
                join(&missing, ", ")
            )));
        }
        Ok(found)
    }

    /// The reassignments in flight: of `partitions`, or all of them.
    pub(super) async fn list_reassignments(
        &mut self,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<BTreeMap<TopicPartition, OngoingReassignment>, Failure> {
        let request = list_request(partitions, broker_timeout_ms(self.timeout));
        let response: ListPartitionReassignmentsResponse = self
            .call(ApiKey::ListPartitionReassignments, &request)
            .await?;
        if response.error_code != 0 {
            return Err(Failure::Error(java_exception_string(
                response.error_code,
                response.error_message.as_ref().map(|m| m.as_str()),
            )));
        }
        let ids = |ids: &[BrokerId]| ids.iter().map(|id| id.0).collect::<Vec<i32>>();
        let mut ongoing = BTreeMap::new();
        for topic in &response.topics {
            for p in &topic.partitions {
                ongoing.insert(
                    TopicPartition::new(topic.name.0.to_string(), p.partition_index),
                    OngoingReassignment {
                        replicas: ids(&p.replicas),
                        adding: ids(&p.adding_replicas),
                        removing: ids(&p.removing_replicas),
                    },
                );
            }
        }
        Ok(ongoing)
    }

    /// Starts (replicas given) or cancels (`None`) reassignments; returns each failed
    /// partition's error message.
    pub(super) async fn alter_reassignments(
        &mut self,
        targets: &[(TopicPartition, Option<Vec<i32>>)],
    ) -> Result<BTreeMap<TopicPartition, String>, Failure> {
        let request = alter_request(targets, broker_timeout_ms(self.timeout));
        let response: AlterPartitionReassignmentsResponse = self
            .call(ApiKey::AlterPartitionReassignments, &request)
            .await?;
        Ok(alter_errors(targets, &response))
    }

    /// One exchange at version 0, the only one of the reassignment APIs this tool needs
    /// (and the only one of ListPartitionReassignments); a broker without the API is a
    /// clear error.
    async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api_key: ApiKey,
        request: &Req,
    ) -> Result<Resp, ToolError> {
        let version = self.client.version_for(api_key, 0)?;
        Ok(self
            .client
            .call_within(api_key, version, request, self.timeout)
            .await?)
    }
}

/// ListPartitionReassignments for `partitions` grouped by topic, or null for all.
fn list_request(
    partitions: Option<&[TopicPartition]>,
    timeout_ms: i32,
) -> ListPartitionReassignmentsRequest {
    let topics = partitions.map(|partitions| {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in partitions {
            by_topic.entry(&tp.topic).or_default().push(tp.partition);
        }
        by_topic
            .into_iter()
            .map(|(topic, partition_indexes)| {
                ListPartitionReassignmentsTopics::default()
                    .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                    .with_partition_indexes(partition_indexes)
            })
            .collect()
    });
    ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(timeout_ms)
        .with_topics(topics)
}

/// AlterPartitionReassignments with topics and partitions sorted, as Kafka's admin
/// client sends them. Partitions Kafka's client refuses to send are left out (see
/// `alter_errors`).
fn alter_request(
    targets: &[(TopicPartition, Option<Vec<i32>>)],
    timeout_ms: i32,
) -> AlterPartitionReassignmentsRequest {
    let mut by_topic: BTreeMap<&str, BTreeMap<i32, Option<Vec<i32>>>> = BTreeMap::new();
    for (tp, replicas) in targets {
        if client_side_error(tp).is_none() {
            by_topic
                .entry(&tp.topic)
                .or_default()
                .insert(tp.partition, replicas.clone());
        }
    }
    let topics = by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            ReassignableTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partitions(
                    partitions
                        .into_iter()
                        .map(|(partition, replicas)| {
                            ReassignablePartition::default()
                                .with_partition_index(partition)
                                .with_replicas(
                                    replicas.map(|r| r.into_iter().map(BrokerId).collect()),
                                )
                        })
                        .collect(),
                )
        })
        .collect();
    AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(timeout_ms)
        .with_topics(topics)
}

/// The error Kafka's admin client gives a partition it will not send.
fn client_side_error(tp: &TopicPartition) -> Option<String> {
    if tp.topic.is_empty() {
        Some(format!(
            "The given topic name '{}' cannot be represented in a request.",
            tp.topic
        ))
    } else if tp.partition < 0 {
        Some(format!(
            "The given partition index {} is not valid.",
            tp.partition
        ))
    } else {
        None
    }
}

/// Each failed partition's message, as Kafka's admin client settles its futures: a
/// top-level error fails every partition; a response that leaves a partition out fails
/// all of them, with Kafka's message.
fn alter_errors(
    targets: &[(TopicPartition, Option<Vec<i32>>)],
    response: &AlterPartitionReassignmentsResponse,
) -> BTreeMap<TopicPartition, String> {
    let mut errors = BTreeMap::new();
    let mut sent: BTreeSet<&TopicPartition> = BTreeSet::new();
    for (tp, _) in targets {
        match client_side_error(tp) {
            Some(message) => {
                errors.insert(tp.clone(), message);
            }
            None => {
                sent.insert(tp);
            }
        }
    }
    let mut answered = 0;
    for topic in &response.responses {
        for p in &topic.partitions {
            answered += 1;
            let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
            let (code, message) = if response.error_code != 0 {
                (response.error_code, &response.error_message)
            } else {
                (p.error_code, &p.error_message)
            };
            if code != 0 {
                let message =
                    crate::common::kafka_error_message(code, message.as_ref().map(|m| m.as_str()))
                        .unwrap_or_default();
                errors.insert(tp, message);
            }
        }
    }
    if errors.is_empty() && answered != sent.len() {
        let quantifier = if answered > sent.len() {
            "many"
        } else {
            "less"
        };
        let message = format!(
            "The server returned too {quantifier} results.Expected {} but received {answered}",
            sent.len()
        );
        for tp in sent {
            errors.insert(tp.clone(), message.clone());
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::round_trip;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    #[test]
    fn alter_errors_follow_kafkas_admin_client() {
        use kafka_protocol::messages::alter_partition_reassignments_response::{
            ReassignablePartitionResponse, ReassignableTopicResponse,
        };
        let targets = vec![
            (tp("t", 0), Some(vec![1])),
            (tp("t", 1), Some(vec![2])),
            (tp("t", -1), None),
        ];
        let answer = |codes: &[(i32, i16)]| {
            AlterPartitionReassignmentsResponse::default().with_responses(vec![
                ReassignableTopicResponse::default()
                    .with_name(TopicName(StrBytes::from_static_str("t")))
                    .with_partitions(
                        codes
                            .iter()
                            .map(|(p, code)| {
                                ReassignablePartitionResponse::default()
                                    .with_partition_index(*p)
                                    .with_error_code(*code)
                            })
                            .collect(),
                    ),
            ])
        };
        assert_eq!(
            alter_errors(&targets, &answer(&[(0, 0), (1, 39)])),
            BTreeMap::from([
                (
                    tp("t", -1),
                    "The given partition index -1 is not valid.".to_string()
                ),
                (tp("t", 1), "Replica assignment is invalid.".to_string()),
            ])
        );
        let ok = vec![(tp("t", 0), None), (tp("t", 1), None)];
        assert_eq!(
            alter_errors(&ok, &answer(&[(0, 0)])),
            BTreeMap::from([
                (
                    tp("t", 0),
                    "The server returned too less results.Expected 2 but received 1".to_string()
                ),
                (
                    tp("t", 1),
                    "The server returned too less results.Expected 2 but received 1".to_string()
                ),
            ])
        );
        let top_level = answer(&[(0, 0), (1, 0)]).with_error_code(ErrorCode::NotController.code());
        assert_eq!(alter_errors(&ok, &top_level).len(), 2);
    }

    #[test]
    fn requests_group_partitions_by_topic_and_round_trip() {
        let targets = vec![
            (tp("b", 1), Some(vec![3, 1])),
            (tp("a", 0), None),
            (tp("b", 0), Some(vec![2])),
        ];
        let alter = alter_request(&targets, 5_000);
        assert_eq!(alter.topics.len(), 2);
        assert_eq!(alter.topics[0].name.0.as_str(), "a");
        assert_eq!(alter.topics[0].partitions[0].replicas, None);
        let b: Vec<i32> = alter.topics[1]
            .partitions
            .iter()
            .map(|p| p.partition_index)
            .collect();
        assert_eq!(b, vec![0, 1]);
        assert_eq!(
            alter.topics[1].partitions[1].replicas,
            Some(vec![BrokerId(3), BrokerId(1)])
        );
        assert_eq!(round_trip(&alter, 0), alter);

        let partitions = [tp("b", 1), tp("a", 0), tp("b", 0)];
        let list = list_request(Some(&partitions), 5_000);
        let topics = list.topics.as_ref().unwrap();
        assert_eq!(topics[1].partition_indexes, vec![1, 0]);
        assert_eq!(round_trip(&list, 0), list);
        assert_eq!(list_request(None, 1).topics, None);
    }
}
