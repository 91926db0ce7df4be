//! DeleteRecords: move a partition's log start offset forward (offset -1 means the high
//! watermark); whole segments below it are deleted.

use std::sync::Arc;

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use rafka_protocol::ErrorCode;
use rafka_types::Offset;

use crate::broker::Broker;
use crate::error::ApiError;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DeleteRecordsRequest,
    session: &Session,
) -> DeleteRecordsResponse {
    let mut changed = false;
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            // Kafka's handleDeleteRecordsRequest: DELETE on each topic.
            let authorized =
                broker.authorize_topic(session, topic.name.as_str(), AclOperation::Delete);
            let partitions = topic
                .partitions
                .iter()
                .map(|wanted| {
                    let result = super::support::authorized_partition(
                        broker,
                        topic.name.as_str(),
                        wanted.partition_index,
                        authorized,
                    )
                    .and_then(|partition| {
                        let high_watermark = partition.high_watermark();
                        let target = if wanted.offset == -1 {
                            high_watermark
                        } else {
                            Offset(wanted.offset)
                        };
                        if target < Offset::ZERO || target > high_watermark {
                            return Err(ApiError::code(ErrorCode::OffsetOutOfRange));
                        }
                        changed = true;
                        partition
                            .with_log(|log| log.delete_records_before(target))
                            .map(|o| o.0)
                            .map_err(ApiError::from)
                    });
                    match result {
                        Ok(low_watermark) => DeleteRecordsPartitionResult::default()
                            .with_partition_index(wanted.partition_index)
                            .with_low_watermark(low_watermark),
                        Err(e) => DeleteRecordsPartitionResult::default()
                            .with_partition_index(wanted.partition_index)
                            .with_low_watermark(-1)
                            .with_error_code(e.code.code()),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    // The new log start offsets must survive a crash: checkpoint them now.
    if changed {
        if let Err(e) = broker.write_checkpoints() {
            tracing::error!("cannot write offset checkpoints: {e}");
        }
    }
    DeleteRecordsResponse::default().with_topics(topics)
}
