//! DescribeQuorum: the metadata quorum's leader, epoch, high watermark and each voter's
//! and observer's progress (`kafka-metadata-quorum.sh describe`). Brokers ask the active
//! controller, as Kafka's brokers forward this request.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::describe_quorum_response::{
    Listener, Node, PartitionData, ReplicaState, TopicData,
};
use kafka_protocol::messages::{BrokerId, DescribeQuorumRequest, DescribeQuorumResponse};
use rafka_metadata::quorum::{QuorumStatus, ReplicaStatus};
use rafka_metadata::rpc::{BrokerRequest, BrokerResponse};
use rafka_protocol::ErrorCode;

use super::{message, str_bytes};
use crate::broker::Broker;

const METADATA_TOPIC: &str = "__cluster_metadata";

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: DescribeQuorumRequest,
) -> DescribeQuorumResponse {
    let valid = matches!(request.topics.as_slice(),
        [t] if t.topic_name.as_str() == METADATA_TOPIC
            && t.partitions.len() == 1
            && t.partitions[0].partition_index == 0);
    if !valid {
        return DescribeQuorumResponse::default().with_topics(
            request
                .topics
                .iter()
                .map(|t| {
                    TopicData::default()
                        .with_topic_name(t.topic_name.clone())
                        .with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    PartitionData::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(ErrorCode::UnknownTopicOrPartition.code())
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
    }
    let (status, voters, observers) = match quorum_status(broker).await {
        Ok(answer) => answer,
        Err(e) => {
            return DescribeQuorumResponse::default()
                .with_error_code(e.code.code())
                .with_error_message(message(e.message))
        }
    };
    let replica = |id: i32, s: ReplicaStatus| {
        ReplicaState::default()
            .with_replica_id(BrokerId(id))
            .with_log_end_offset(s.log_end_offset)
            .with_last_fetch_timestamp(s.last_fetch_ms)
            .with_last_caught_up_timestamp(s.last_caught_up_ms)
    };
    let unknown = ReplicaStatus {
        log_end_offset: -1,
        last_fetch_ms: -1,
        last_caught_up_ms: -1,
    };
    let current_voters = voters
        .keys()
        .map(|id| replica(*id, status.voters.get(id).copied().unwrap_or(unknown)))
        .collect();
    let observers = observers
        .into_iter()
        .filter(|(id, _, _)| !voters.contains_key(id))
        .map(|(id, applied, heard_ms)| {
            let log_end = applied as i64 + 1;
            let heard = heard_ms as i64;
            replica(
                id,
                ReplicaStatus {
                    log_end_offset: log_end,
                    last_fetch_ms: heard,
                    last_caught_up_ms: if log_end >= status.high_watermark {
                        heard
                    } else {
                        -1
                    },
                },
            )
        })
        .collect();
    let listener_name = broker
        .config
        .controller_listener_names
        .first()
        .cloned()
        .unwrap_or_else(|| "CONTROLLER".to_string());
    let nodes = voters
        .iter()
        .filter_map(|(id, address)| {
            let (host, port) = address.rsplit_once(':')?;
            Some(Node::default().with_node_id(BrokerId(*id)).with_listeners(
                vec![Listener::default()
                    .with_name(str_bytes(listener_name.clone()))
                    .with_host(str_bytes(host))
                    .with_port(port.parse().ok()?)],
            ))
        })
        .collect();
    let partition = PartitionData::default()
        .with_partition_index(0)
        .with_leader_id(BrokerId(status.leader.unwrap_or(-1)))
        .with_leader_epoch(i32::try_from(status.term).unwrap_or(i32::MAX))
        .with_high_watermark(status.high_watermark)
        .with_current_voters(current_voters)
        .with_observers(observers);
    DescribeQuorumResponse::default()
        .with_topics(vec![TopicData::default()
            .with_topic_name(request.topics[0].topic_name.clone())
            .with_partitions(vec![partition])])
        .with_nodes(nodes)
}

type Answer = (
    QuorumStatus,
    std::collections::BTreeMap<i32, String>,
    Vec<(i32, u64, u64)>,
);

/// The active controller's answer; in single-node mode this broker is the whole quorum,
/// with no metadata log (its metadata is `rafka-metadata.json`), so every offset is 0.
async fn quorum_status(broker: &Broker) -> Result<Answer, crate::error::ApiError> {
    let Some(cluster) = &broker.cluster else {
        let me = broker.config.node_id;
        let now = broker.clock.now_ms();
        let status = QuorumStatus {
            leader: Some(me),
            term: 1,
            high_watermark: 0,
            voters: [(
                me,
                ReplicaStatus {
                    log_end_offset: 0,
                    last_fetch_ms: now,
                    last_caught_up_ms: now,
                },
            )]
            .into(),
        };
        // The node is the one voter even without a CONTROLLER listener (the embedded
        // default): Kafka's tool looks the leader up among the voters. Without such a
        // listener the voter has no endpoint to list among the nodes.
        let address = broker
            .config
            .listeners
            .iter()
            .find(|l| broker.config.controller_listener_names.contains(&l.name))
            .map_or_else(String::new, |l| format!("{}:{}", l.host, l.port));
        let voters = [(me, address)].into();
        return Ok((status, voters, Vec::new()));
    };
    let answer = cluster
        .call_controller(BrokerRequest::QuorumStatus, Duration::from_secs(10))
        .await?;
    match answer {
        BrokerResponse::QuorumStatus {
            status,
            voters,
            observers,
        } => Ok((status, voters, observers)),
        other => Err(crate::error::ApiError::new(
            ErrorCode::UnknownServerError,
            format!("unexpected controller answer {other:?}"),
        )),
    }
}
