//! `Fetch`: records of one partition from an offset, read by a consumer without a group
//! that lives for the call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::clients::{blocking, require_topic, Clients, REQUEST_TIMEOUT};
use super::error::ServiceError;
use super::pb::{FetchRequest, FetchResponse};
use super::records::{consumed, BatchLimit};

/// The group id of the fetch consumers, which only use it to be allowed `assign`.
const FETCH_GROUP: &str = "rafka-grpc-fetch";
const DEFAULT_MAX_WAIT_MS: u32 = 500;
const MAX_WAIT_MS_LIMIT: u32 = 60_000;

pub(super) async fn fetch(
    clients: Arc<Clients>,
    request: FetchRequest,
) -> Result<FetchResponse, ServiceError> {
    require_topic(&request.topic)?;
    if request.partition < 0 {
        return Err(ServiceError::InvalidArgument(format!(
            "partition {} is negative",
            request.partition
        )));
    }
    if request.offset < 0 {
        return Err(ServiceError::InvalidArgument(format!(
            "offset {} is negative",
            request.offset
        )));
    }
    let batch_limit = BatchLimit::new(request.max_records, request.max_bytes);
    let max_wait = Duration::from_millis(u64::from(match request.max_wait_ms {
        0 => DEFAULT_MAX_WAIT_MS,
        n => n.min(MAX_WAIT_MS_LIMIT),
    }));
    blocking(move || read(&clients, &request, batch_limit, max_wait)).await
}

fn read(
    clients: &Clients,
    request: &FetchRequest,
    batch_limit: BatchLimit,
    max_wait: Duration,
) -> Result<FetchResponse, ServiceError> {
    let (topic, partition) = (&request.topic, request.partition);
    let partitions = clients.partition_count(topic)?;
    if partition as usize >= partitions {
        return Err(ServiceError::UnknownPartition {
            topic: topic.clone(),
            partition,
            partitions,
        });
    }
    let context = || format!("fetch from {topic}-{partition}");
    let consumer = match clients.fetch_consumers.take() {
        Some(consumer) => consumer,
        None => clients
            .consumer_config(&[
                // librdkafka assigns partitions only to a consumer with a group; this one
                // never joins it (no subscribe) nor commits to it.
                ("group.id", FETCH_GROUP),
                ("enable.auto.commit", "false"),
                ("enable.partition.eof", "false"),
                // A kept consumer's next fetch waits for its last one: at the high
                // watermark that long-polls fetch.wait.max.ms (500 ms by default).
                // `max_wait` is waited here instead, in short fetches.
                ("fetch.wait.max.ms", "10"),
            ])
            .create()
            .map_err(|err| ServiceError::kafka(context(), err))?,
    };
    let response = read_with(&consumer, request, batch_limit, max_wait)?;
    // Kept for the next call only when it could be emptied of this one's partition.
    if consumer.unassign().is_ok() {
        clients.fetch_consumers.put(consumer);
    }
    Ok(response)
}

fn read_with(
    consumer: &BaseConsumer,
    request: &FetchRequest,
    batch_limit: BatchLimit,
    max_wait: Duration,
) -> Result<FetchResponse, ServiceError> {
    let (topic, partition, offset) = (&request.topic, request.partition, request.offset);
    let context = || format!("fetch from {topic}-{partition}");
    let (log_start_offset, high_watermark) = consumer
        .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
        .map_err(|err| ServiceError::kafka(context(), err))?;
    if offset < log_start_offset || offset > high_watermark {
        return Err(ServiceError::OffsetOutOfRange {
            topic: topic.clone(),
            partition,
            offset,
            log_start_offset,
            high_watermark,
        });
    }
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, partition, Offset::Offset(offset))
        .map_err(|err| ServiceError::kafka(context(), err))?;
    consumer
        .assign(&assignment)
        .map_err(|err| ServiceError::kafka(context(), err))?;
    // Records below the high watermark are there to read: wait for them as long as a
    // request may take. At the high watermark, wait only `max_wait` for new ones.
    let deadline = Instant::now()
        + if offset < high_watermark {
            REQUEST_TIMEOUT
        } else {
            max_wait
        };
    let mut records = Vec::new();
    let mut next_offset = offset;
    let mut bytes = 0;
    while !batch_limit.reached(records.len(), bytes) {
        // Past the high watermark seen at the start: return what is here rather than wait
        // (transaction markers leave gaps, so offsets are compared, not counted).
        if next_offset >= high_watermark && !records.is_empty() {
            break;
        }
        let Some(remaining) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        match consumer.poll(remaining) {
            None => break,
            Some(Ok(message)) => {
                // A reused consumer drops what it fetched for an earlier call; this guards
                // against a record of it surviving anyway.
                if message.topic() != topic
                    || message.partition() != partition
                    || message.offset() < next_offset
                {
                    continue;
                }
                next_offset = message.offset() + 1;
                let record = consumed(&message);
                bytes += BatchLimit::size(&record);
                records.push(record);
            }
            Some(Err(err)) => {
                let err = ServiceError::kafka(context(), err);
                if records.is_empty() {
                    return Err(err);
                }
                tracing::warn!("{err}");
                break;
            }
        }
    }
    Ok(FetchResponse {
        records,
        high_watermark,
        log_start_offset,
    })
}
