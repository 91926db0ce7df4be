//! The transaction and share coordinators' view of this broker: their topics'
//! partitions through the replica manager; for the share coordinator the cluster's
//! topics; for the transaction coordinator markers written to each partition's leader — here
//! through the log, elsewhere by a WriteTxnMarkers request to the leading broker, as
//! Kafka's `TransactionMarkerChannelManager` sends them. A marker in a `__consumer_offsets`
//! partition also ends the producer's pending offsets in the group coordinator.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{
    ApiKey, ProducerId, TopicName, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};
use kafka_protocol::protocol::StrBytes;
use rafka_coordinator::share_state::coordinator::ShareStateEnv;
use rafka_coordinator::txn::coordinator::{
    MarkerFuture, MarkerResults, ProducerIdFuture, TopicPartition, TxnEnv,
};
use rafka_coordinator::{CoordinatorLog, PendingWrite};
use rafka_protocol::batch::EndTxnMarker;
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::error::ApiError;
use crate::group::OFFSETS_TOPIC;

/// Kafka waits `request.timeout.ms` (default 30 s) for the ISR to take a marker.
const MARKER_TIMEOUT: Duration = Duration::from_secs(30);

/// The broker as the transaction and share coordinators see it.
#[derive(Debug, Clone)]
pub struct BrokerTxnEnv {
    broker: Arc<Broker>,
}

impl BrokerTxnEnv {
    pub fn new(broker: &Arc<Broker>) -> BrokerTxnEnv {
        BrokerTxnEnv {
            broker: broker.clone(),
        }
    }

    pub fn shared(broker: &Arc<Broker>) -> Arc<dyn TxnEnv> {
        Arc::new(BrokerTxnEnv {
            broker: broker.clone(),
        })
    }
}

impl CoordinatorLog for BrokerTxnEnv {
    fn is_leader(&self, topic: &str, partition: i32) -> bool {
        self.broker.replicas.is_leader(topic, partition)
    }

    fn append(
        &self,
        topic: &str,
        partition: i32,
        batch: &[u8],
        timeout: Duration,
    ) -> Result<PendingWrite, ErrorCode> {
        self.broker
            .replicas
            .append(topic, partition, batch, timeout)
    }

    fn replay_range(&self, topic: &str, partition: i32) -> Option<(i64, i64)> {
        self.broker.replicas.replay_range(topic, partition)
    }

    fn read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
    ) -> Result<Bytes, String> {
        self.broker
            .replicas
            .read(topic, partition, offset, max_bytes)
    }
}

impl ShareStateEnv for BrokerTxnEnv {
    fn leader_epoch(&self, topic: &str, partition: i32) -> Option<i32> {
        self.broker
            .partition(topic, partition)
            .filter(|p| p.is_leader())
            .map(|p| p.leader_epoch().0)
    }

    fn has_partition(&self, topic_id: uuid::Uuid, partition: i32) -> bool {
        self.broker
            .topic_by_id(&topic_id)
            .is_some_and(|t| (0..t.partition_count()).contains(&partition))
    }

    fn log_end_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.broker
            .partition(topic, partition)
            .map(|p| p.log_end_offset().0)
    }

    fn delete_records_before(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<(), ErrorCode> {
        let partition = self
            .broker
            .partition(topic, partition)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        let target = rafka_types::Offset(offset).min(partition.high_watermark());
        partition
            .with_log(|log| log.delete_records_before(target))
            .map(|_| ())
            .map_err(|e| crate::error::ApiError::from(e).code)
    }
}

impl TxnEnv for BrokerTxnEnv {
    fn leader_epoch(&self, topic: &str, partition: i32) -> Option<i32> {
        ShareStateEnv::leader_epoch(self, topic, partition)
    }

    fn write_markers(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
        partitions: Vec<TopicPartition>,
    ) -> MarkerFuture {
        let broker = self.broker.clone();
        let marker = EndTxnMarker {
            commit,
            coordinator_epoch,
        };
        Box::pin(async move {
            write_markers(&broker, producer_id, producer_epoch, marker, partitions).await
        })
    }

    fn new_producer_id(&self) -> ProducerIdFuture {
        let broker = self.broker.clone();
        Box::pin(async move { broker.next_producer_id().await.map_err(|e| e.code) })
    }
}

/// Writes one marker through this broker's log, as the partition's leader, and waits for
/// the ISR (WriteTxnMarkers' acks=-1).
pub async fn write_marker(
    broker: &Arc<Broker>,
    topic: &str,
    index: i32,
    producer_id: i64,
    producer_epoch: i16,
    marker: EndTxnMarker,
) -> Result<(), ApiError> {
    let partition = broker
        .partition(topic, index)
        .ok_or_else(|| ApiError::code(ErrorCode::UnknownTopicOrPartition))?;
    let (info, epoch) = partition.append_end_txn_marker(producer_id, producer_epoch, marker)?;
    partition
        .wait_for_replication(info.last_offset, epoch, MARKER_TIMEOUT)
        .await?;
    if topic == OFFSETS_TOPIC {
        // Only once the marker counts, as Kafka: until then a read_committed consumer
        // fetching with require_stable is told the offsets are unstable. Should this
        // broker lose the partition first, its next leader replays the marker.
        let committed = broker
            .groups
            .complete_transaction(index, producer_id, marker.commit);
        tracing::debug!(
            "{OFFSETS_TOPIC}-{index}: producer {producer_id}'s transaction ended, {committed} offset(s) committed"
        );
    }
    Ok(())
}

/// One round of markers: partitions led here are written directly, the others are sent
/// to their leaders in one WriteTxnMarkers request per broker.
async fn write_markers(
    broker: &Arc<Broker>,
    producer_id: i64,
    producer_epoch: i16,
    marker: EndTxnMarker,
    partitions: Vec<TopicPartition>,
) -> MarkerResults {
    let mut results = Vec::with_capacity(partitions.len());
    let mut remote: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
    let mut local = Vec::new();
    for tp in partitions {
        let Some(topic) = broker.topic(&tp.0) else {
            // Deleted: the marker is not needed (Kafka drops such partitions).
            results.push((tp, Err(ErrorCode::UnknownTopicOrPartition)));
            continue;
        };
        let Some(state) = topic.state(tp.1) else {
            results.push((tp, Err(ErrorCode::UnknownTopicOrPartition)));
            continue;
        };
        if broker.cluster.is_none() || state.leader == broker.config.node_id {
            local.push(tp);
        } else {
            remote.entry(state.leader).or_default().push(tp);
        }
    }
    let writes = local.into_iter().map(|tp| async move {
        let written = write_marker(broker, &tp.0, tp.1, producer_id, producer_epoch, marker).await;
        (tp, written.map_err(|e| e.code))
    });
    results.extend(futures_util::future::join_all(writes).await);
    let live = broker.live_brokers();
    for (leader, tps) in remote {
        let Some(endpoint) = live.iter().find(|b| b.id == leader) else {
            results.extend(
                tps.into_iter()
                    .map(|tp| (tp, Err(ErrorCode::NotLeaderOrFollower))),
            );
            continue;
        };
        let address = format!("{}:{}", endpoint.host, endpoint.port);
        match send_markers(broker, &address, producer_id, producer_epoch, marker, &tps).await {
            Ok(answers) => results.extend(answers),
            Err(e) => {
                tracing::debug!("WriteTxnMarkers to broker {leader} at {address}: {e}");
                results.extend(
                    tps.into_iter()
                        .map(|tp| (tp, Err(ErrorCode::NetworkException))),
                );
            }
        }
    }
    results
}

async fn send_markers(
    broker: &Broker,
    address: &str,
    producer_id: i64,
    producer_epoch: i16,
    marker: EndTxnMarker,
    partitions: &[TopicPartition],
) -> Result<MarkerResults, String> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, index) in partitions {
        by_topic.entry(topic.as_str()).or_default().push(*index);
    }
    let request =
        WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(producer_epoch)
            .with_transaction_result(marker.commit)
            .with_coordinator_epoch(marker.coordinator_epoch)
            .with_topics(
                by_topic
                    .into_iter()
                    .map(|(topic, indexes)| {
                        WritableTxnMarkerTopic::default()
                            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                            .with_partition_indexes(indexes)
                    })
                    .collect(),
            )]);
    let response: WriteTxnMarkersResponse = broker
        .peers
        .call(
            address,
            ApiKey::WriteTxnMarkers,
            1,
            &request,
            Duration::from_secs(5),
            MARKER_TIMEOUT + Duration::from_secs(5),
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut answers = Vec::with_capacity(partitions.len());
    for result in response.markers {
        for topic in result.topics {
            for partition in topic.partitions {
                let code = ErrorCode::try_from_code(partition.error_code);
                let outcome = match (partition.error_code, code) {
                    (0, _) => Ok(()),
                    (_, Some(code)) => Err(code),
                    (_, None) => Err(ErrorCode::UnknownServerError),
                };
                answers.push((
                    (topic.name.as_str().to_string(), partition.partition_index),
                    outcome,
                ));
            }
        }
    }
    Ok(answers)
}
