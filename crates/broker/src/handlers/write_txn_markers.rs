//! WriteTxnMarkers: the transaction coordinator asks each partition's leader to write the
//! marker that commits or aborts a producer's transaction there (a control batch, origin
//! COORDINATOR), answered per partition once the ISR has it, as Kafka's acks=-1 append.
//! A marker in a `__consumer_offsets` partition then ends the producer's pending offsets
//! in the group coordinator (Kafka's `onTransactionCompleted`, see `txn_env`).

use std::sync::Arc;

use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use rafka_protocol::batch::EndTxnMarker;

use crate::broker::Broker;
use crate::txn_env::write_marker;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: WriteTxnMarkersRequest,
    session: &crate::session::Session,
) -> WriteTxnMarkersResponse {
    // Kafka: the coordinators' markers need CLUSTER_ACTION (brokers are super users, or
    // allowed by an ACL); without it every partition is refused.
    let refused =
        !broker.authorize_cluster(session, rafka_security::acl::AclOperation::ClusterAction);
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
                    let result = if refused {
                        Err(crate::error::ApiError::code(
                            rafka_protocol::ErrorCode::ClusterAuthorizationFailed,
                        ))
                    } else {
                        write_marker(
                            &broker,
                            name.as_str(),
                            index,
                            marker.producer_id.0,
                            marker.producer_epoch,
                            end,
                        )
                        .await
                    };
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
