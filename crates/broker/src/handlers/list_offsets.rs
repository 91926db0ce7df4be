//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3), earliest local (-4) and
//! latest tiered (-5) specs, or the first offset whose timestamp is at or after a time.

use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use rafka_protocol::ErrorCode;
use rafka_types::{LeaderEpoch, Offset};

use crate::broker::Broker;
use crate::error::ApiError;
use crate::partition::Partition;
use crate::session::Session;
use rafka_security::acl::AclOperation;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const LATEST_TIERED: i64 = -5;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: ListOffsetsRequest,
    version: i16,
    session: &Session,
) -> ListOffsetsResponse {
    // Kafka's isolation: a consumer (replica id -1) sees up to the last stable offset
    // (read_committed, v2+) or the high watermark; a follower or debug tool the log end.
    let isolation = match request.replica_id.0 {
        -1 if version >= 2 && request.isolation_level == READ_COMMITTED => Isolation::Committed,
        -1 => Isolation::HighWatermark,
        _ => Isolation::LogEnd,
    };
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            // Kafka's handleListOffsetRequest: DESCRIBE on each topic.
            let authorized =
                broker.authorize_topic(session, topic.name.as_str(), AclOperation::Describe);
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
                    .and_then(|p| {
                        if timestamp_unsupported(wanted.timestamp, version) {
                            return Err(ApiError::code(ErrorCode::UnsupportedVersion));
                        }
                        // Only the leader answers, at the epoch the client knows.
                        p.check_leader_epoch(LeaderEpoch(wanted.current_leader_epoch))?;
                        let (timestamp, offset) = lookup(&p, wanted.timestamp, isolation)?;
                        Ok((timestamp, offset, p.leader_epoch()))
                    });
                    let response = ListOffsetsPartitionResponse::default()
                        .with_partition_index(wanted.partition_index);
                    match result {
                        Ok((timestamp, offset, epoch)) => response
                            .with_timestamp(timestamp)
                            .with_offset(offset)
                            // The field exists from v4 and is not ignorable: an older
                            // answer that set it could not be encoded (Kafka's rule too).
                            .with_leader_epoch(if offset >= 0 && version >= 4 {
                                epoch.0
                            } else {
                                -1
                            }),
                        Err(e) => response
                            .with_error_code(e.code.code())
                            .with_timestamp(-1)
                            .with_offset(-1)
                            .with_leader_epoch(-1),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// Kafka's ReplicaManager.isListOffsetsTimestampUnsupported: a negative timestamp must
/// be a known spec, sent at a version that has it.
fn timestamp_unsupported(timestamp: i64, version: i16) -> bool {
    let min_version = match timestamp {
        t if t >= 0 => return false,
        LATEST | EARLIEST => 0,
        MAX_TIMESTAMP => 7,
        EARLIEST_LOCAL => 8,
        LATEST_TIERED => 9,
        _ => return true,
    };
    version < min_version
}

const READ_COMMITTED: i8 = 1;

/// How far a ListOffsets caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    Committed,
    HighWatermark,
    LogEnd,
}

/// (timestamp, offset) for one spec; (-1, -1) when no record matches, or when the one
/// found is at or past the last offset the caller may fetch (Kafka hides it).
fn lookup(partition: &Partition, spec: i64, isolation: Isolation) -> Result<(i64, i64), ApiError> {
    let last_fetchable = match isolation {
        Isolation::Committed => partition.last_stable_offset(),
        Isolation::HighWatermark => partition.high_watermark(),
        Isolation::LogEnd => partition.log_end_offset(),
    };
    let visible = |found: Option<(Offset, i64)>| match found {
        Some((offset, ts)) if offset < last_fetchable => (ts, offset.0),
        _ => (-1, -1),
    };
    match spec {
        LATEST => Ok((-1, last_fetchable.0)),
        EARLIEST | EARLIEST_LOCAL => Ok((-1, partition.log_start_offset().0)),
        LATEST_TIERED => Ok((-1, -1)),
        MAX_TIMESTAMP => partition
            .with_log(|log| log.max_timestamp_offset())
            .map(visible)
            .map_err(ApiError::from),
        ts if ts >= 0 => partition
            .with_log(|log| log.offset_for_timestamp(ts))
            .map(visible)
            .map_err(ApiError::from),
        other => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            format!("Invalid timestamp {other}"),
        )),
    }
}
