//! WriteTxnMarkers: the transaction coordinator asks each partition's leader to write the
//! marker that commits or aborts a producer's transaction there (a control batch, origin
//! COORDINATOR), answered per partition once the ISR has it, as Kafka's acks=-1 append.
//! A marker in a `__consumer_offsets` partition then ends the producer's pending offsets
//! in the group coordinator (Kafka's `onTransactionCompleted`).

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use rafka_protocol::batch::EndTxnMarker;
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::error::ApiError;
use crate::group::OFFSETS_TOPIC;

/// Kafka waits `request.timeout.ms` (default 30 s) for the ISR to take a marker.
const REPLICATION_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    let mut markers = Vec::with_capacity(request.markers.len());
    for marker in request.markers {
        let end = EndTxnMarker {
            commit: marker.transaction_result,
            coordinator_epoch: marker.coordinator_epoch,
        };
        let mut topics = Vec::with_capacity(marker.topics.len());
        for topic in marker.topics {
            let writes = topic.partition_indexes.iter().map(|&index| {
                let broker = broker.clone();
                let name = topic.name.clone();
                async move {
                    let result = write(
                        &broker,
                        name.as_str(),
                        index,
                        marker.producer_id.0,
                        marker.producer_epoch,
                        end,
                    )
                    .await;
                    let code = match result {
                        Ok(()) => 0,
                        Err(e) => {
                            tracing::debug!("marker for {}-{index}: {e:?}", name.as_str());
                            e.code.code()
                        }
                    };
                    WritableTxnMarkerPartitionResult::default()
                        .with_partition_index(index)
                        .with_error_code(code)
                }
            });
            let partitions = futures_util::future::join_all(writes).await;
            topics.push(
                WritableTxnMarkerTopicResult::default()
                    .with_name(topic.name)
                    .with_partitions(partitions),
            );
        }
        markers.push(
            WritableTxnMarkerResult::default()
                .with_producer_id(marker.producer_id)
                .with_topics(topics),
        );
    }
    WriteTxnMarkersResponse::default().with_markers(markers)
}

async fn write(
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
        .wait_for_replication(info.last_offset, epoch, REPLICATION_TIMEOUT)
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
