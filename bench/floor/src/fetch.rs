//! ListOffsets and Fetch: offsets from the in-memory batch list, records as whole batches
//! sent from the partition's file with `sendfile`, never read into user space.

use std::fs::File;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{
    FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse, TopicName,
};
use rafka_protocol::fetch_frame::encode_fetch_response;
use rafka_protocol::request::RequestFrame;
use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::produce::PartitionLog;
use crate::{Floor, Reply};

/// Kafka's `ListOffsets` timestamp for the log end.
const LATEST_TIMESTAMP: i64 = -1;

/// OFFSET_OUT_OF_RANGE.
const OFFSET_OUT_OF_RANGE: i16 = 1;
/// UNKNOWN_TOPIC_OR_PARTITION.
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// Bytes `position..position + len` of a partition's file.
#[derive(Debug, Clone)]
pub(crate) struct FileRange {
    file: Arc<File>,
    position: u64,
    len: u64,
}

impl PartitionLog {
    /// The whole batches from the one holding `offset` that fit `max_bytes` (at least
    /// one when `min_one`), or the error code for an offset outside the log.
    fn read(&self, offset: i64, max_bytes: u64, min_one: bool) -> Result<FileRange, i16> {
        if !(0..=self.next_offset).contains(&offset) {
            return Err(OFFSET_OUT_OF_RANGE);
        }
        let empty = |position| FileRange {
            file: Arc::clone(&self.file),
            position,
            len: 0,
        };
        let Some(first) = self
            .batches
            .partition_point(|(base, _)| *base <= offset)
            .checked_sub(1)
            .filter(|_| offset < self.next_offset)
        else {
            return Ok(empty(self.size_bytes));
        };
        let start = self.batches[first].1;
        let limit = start.saturating_add(max_bytes);
        // Batch boundaries after `start`: the next batches' starts, then the file's end.
        let later = &self.batches[first + 1..];
        let end = if self.size_bytes <= limit {
            self.size_bytes
        } else {
            match later.partition_point(|(_, position)| *position <= limit) {
                0 if min_one => later.first().map_or(self.size_bytes, |b| b.1),
                0 => start,
                fitting => later[fitting - 1].1,
            }
        };
        Ok(FileRange {
            len: end - start,
            ..empty(start)
        })
    }
}

pub(crate) fn list_offsets(
    floor: &Floor,
    request: ListOffsetsRequest,
) -> anyhow::Result<ListOffsetsResponse> {
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let mut answers = Vec::with_capacity(topic.partitions.len());
        for wanted in &topic.partitions {
            let offset = match wanted.timestamp {
                LATEST_TIMESTAMP => floor
                    .existing_log(&topic.name, wanted.partition_index)
                    .and_then(|log| log.lock().ok().map(|log| log.next_offset))
                    .unwrap_or(0),
                // EARLIEST_TIMESTAMP, and any timestamp: none are kept, so the start.
                _ => 0,
            };
            answers.push(
                ListOffsetsPartitionResponse::default()
                    .with_partition_index(wanted.partition_index)
                    .with_timestamp(-1)
                    .with_offset(offset)
                    .with_leader_epoch(0),
            );
        }
        topics.push(
            ListOffsetsTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(answers),
        );
    }
    Ok(ListOffsetsResponse::default().with_topics(topics))
}

/// Answers with what the partitions hold; when that is nothing, once more after sleeping
/// out `max_wait_ms` (a floor does not wake waiting fetches on append).
pub(crate) async fn handle(floor: &Floor, request: &RequestFrame) -> anyhow::Result<Reply> {
    let body: FetchRequest = request.decode_body()?;
    let mut read = read_all(floor, &body);
    let wait_ms = u64::try_from(body.max_wait_ms).unwrap_or(0);
    if read.bytes == 0 && wait_ms > 0 {
        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
        read = read_all(floor, &body);
    }
    let lens: Vec<usize> = read
        .records
        .iter()
        .map(|r| r.as_ref().map_or(0, |r| r.len as usize))
        .collect();
    let response = FetchResponse::default()
        .with_session_id(0)
        .with_responses(read.topics);
    let parts = encode_fetch_response(
        request.api_version(),
        request.correlation_id(),
        response,
        &lens,
    )?;
    Ok(Reply::Fetch {
        parts,
        records: read.records,
    })
}

struct Read {
    topics: Vec<FetchableTopicResponse>,
    /// One per partition, in response order (`None` for one in error).
    records: Vec<Option<FileRange>>,
    bytes: u64,
}

fn read_all(floor: &Floor, request: &FetchRequest) -> Read {
    let mut remaining = u64::try_from(request.max_bytes).unwrap_or(0);
    let mut read = Read {
        topics: Vec::with_capacity(request.topics.len()),
        records: Vec::new(),
        bytes: 0,
    };
    for topic in &request.topics {
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for wanted in &topic.partitions {
            let max_bytes = u64::try_from(wanted.partition_max_bytes)
                .unwrap_or(0)
                .min(remaining);
            let (result, high_watermark) = read_partition(
                floor,
                &topic.topic,
                wanted.partition,
                wanted.fetch_offset,
                max_bytes,
                read.bytes == 0,
            );
            let data = PartitionData::default()
                .with_partition_index(wanted.partition)
                .with_high_watermark(high_watermark)
                .with_last_stable_offset(high_watermark)
                .with_log_start_offset(0);
            match result {
                Ok(range) => {
                    remaining = remaining.saturating_sub(range.len);
                    read.bytes += range.len;
                    read.records.push(Some(range));
                    partitions.push(data);
                }
                Err(code) => {
                    read.records.push(None);
                    partitions.push(data.with_error_code(code));
                }
            }
        }
        read.topics.push(
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions),
        );
    }
    read
}

fn read_partition(
    floor: &Floor,
    topic: &TopicName,
    partition: i32,
    offset: i64,
    max_bytes: u64,
    min_one: bool,
) -> (Result<FileRange, i16>, i64) {
    let Some(log) = floor.existing_log(topic, partition) else {
        return (Err(UNKNOWN_TOPIC_OR_PARTITION), -1);
    };
    let Ok(log) = log.lock() else {
        return (Err(UNKNOWN_TOPIC_OR_PARTITION), -1);
    };
    (log.read(offset, max_bytes, min_one), log.next_offset)
}

/// Sends `range` from its file to the socket in the kernel (`sendfile`), waiting for the
/// socket to drain whenever it is full.
pub(crate) async fn send_file(stream: &TcpStream, range: &FileRange) -> std::io::Result<()> {
    let mut offset = range.position as i64;
    let end = offset + range.len as i64;
    while offset < end {
        let sent = stream
            .async_io(Interest::WRITABLE, || {
                let count = (end - offset) as usize;
                nix::sys::sendfile::sendfile(
                    stream.as_fd(),
                    range.file.as_fd(),
                    Some(&mut offset),
                    count,
                )
                .map_err(std::io::Error::from)
            })
            .await?;
        if sent == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log of `batches` batches of `size` bytes and `records` records each (the file
    /// itself is not needed to plan a read).
    fn log(batches: usize, size: u64, records: i64) -> PartitionLog {
        let dir = tempfile::tempdir().unwrap();
        let mut log = PartitionLog::create(dir.path().join("t-0.log")).unwrap();
        log.batches = (0..batches)
            .map(|i| (i as i64 * records, i as u64 * size))
            .collect();
        log.size_bytes = batches as u64 * size;
        log.next_offset = batches as i64 * records;
        log
    }

    fn span(read: Result<FileRange, i16>) -> (u64, u64) {
        let range = read.unwrap();
        (range.position, range.len)
    }

    #[test]
    fn reads_whole_batches_from_the_one_holding_the_offset() {
        let log = log(4, 100, 10);
        assert_eq!(span(log.read(0, 1_000, true)), (0, 400));
        assert_eq!(span(log.read(15, 1_000, true)), (100, 300));
        assert_eq!(
            span(log.read(15, 250, true)),
            (100, 200),
            "whole batches only"
        );
        assert_eq!(span(log.read(15, 50, true)), (100, 100), "at least one");
        assert_eq!(span(log.read(15, 50, false)), (100, 0));
        assert_eq!(span(log.read(39, 50, true)), (300, 100), "the last batch");
        assert_eq!(span(log.read(40, 1_000, true)), (400, 0), "at the end");
        assert_eq!(log.read(41, 1_000, true).unwrap_err(), OFFSET_OUT_OF_RANGE);
        assert_eq!(log.read(-1, 1_000, true).unwrap_err(), OFFSET_OUT_OF_RANGE);
    }
}
