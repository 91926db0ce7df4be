//! Produce: each partition's batches appended to its file with their base offsets
//! assigned, and nothing else.

use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Write};
use std::path::PathBuf;
use std::sync::Arc;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use rafka_protocol::request::{encode_response, RequestFrame};

use crate::{Floor, Reply};

/// One partition's file, where each batch starts in it, and the next offset.
///
/// Invariant: `batches` holds (base offset, position) of every batch in the file, both
/// increasing; the file is `size_bytes` long; `next_offset` is one past the last batch's
/// last offset.
#[derive(Debug)]
pub(crate) struct PartitionLog {
    pub(crate) file: Arc<File>,
    pub(crate) batches: Vec<(i64, u64)>,
    pub(crate) size_bytes: u64,
    pub(crate) next_offset: i64,
}

impl PartitionLog {
    pub(crate) fn create(path: PathBuf) -> anyhow::Result<PartitionLog> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        file.set_len(0)?;
        Ok(PartitionLog {
            file: Arc::new(file),
            batches: Vec::new(),
            size_bytes: 0,
            next_offset: 0,
        })
    }

    /// Appends the whole v2 batches at the start of `records` (a short tail is dropped)
    /// with base offsets from `next_offset`, in one gathered write. Returns the first
    /// batch's base offset.
    fn append(&mut self, records: &[u8]) -> anyhow::Result<i64> {
        let first = self.next_offset;
        let spans = batch_spans(records);
        let base_offsets: Vec<[u8; 8]> = spans
            .iter()
            .scan(self.next_offset, |next, span| {
                let base = *next;
                *next += span.records;
                Some(base.to_be_bytes())
            })
            .collect();
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(2 * spans.len());
        for (span, base) in spans.iter().zip(&base_offsets) {
            slices.push(IoSlice::new(base));
            slices.push(IoSlice::new(&records[span.start + 8..span.end]));
        }
        write_all_vectored(&self.file, &mut slices)?;
        for span in &spans {
            self.batches
                .push((self.next_offset, self.size_bytes + span.start as u64));
            self.next_offset += span.records;
        }
        self.size_bytes += spans.last().map_or(0, |s| s.end) as u64;
        Ok(first)
    }
}

/// `writev` until every slice is written (`Write::write_all_vectored` is unstable).
fn write_all_vectored(mut file: &File, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    while !slices.is_empty() {
        let written = file.write_vectored(slices)?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, written);
    }
    Ok(())
}

pub(crate) fn handle(floor: &Floor, request: &RequestFrame) -> anyhow::Result<Reply> {
    let body: ProduceRequest = request.decode_body()?;
    let acks = body.acks;
    let mut responses = Vec::with_capacity(body.topic_data.len());
    for topic_data in body.topic_data {
        let mut partitions = Vec::with_capacity(topic_data.partition_data.len());
        for partition_data in topic_data.partition_data {
            let records = partition_data.records.as_deref().unwrap_or(&[]);
            let log = floor.partition_log(&topic_data.name, partition_data.index)?;
            let base_offset = log
                .lock()
                .map_err(|_| anyhow::anyhow!("a partition's lock was poisoned"))?
                .append(records)?;
            partitions.push(
                PartitionProduceResponse::default()
                    .with_index(partition_data.index)
                    .with_base_offset(base_offset)
                    .with_log_append_time_ms(-1),
            );
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic_data.name)
                .with_partition_responses(partitions),
        );
    }
    if acks == 0 {
        return Ok(Reply::None);
    }
    let response = ProduceResponse::default().with_responses(responses);
    Ok(Reply::Frame(encode_response(
        request.api_key,
        request.api_version(),
        request.correlation_id(),
        &response,
    )?))
}

/// Where one v2 batch lies in a run of batches, and how many offsets it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchSpan {
    start: usize,
    end: usize,
    records: i64,
}

/// The whole batches of a run of v2 batches, from each header's length and
/// `lastOffsetDelta`. Not a validation: a short tail is simply left out.
fn batch_spans(records: &[u8]) -> Vec<BatchSpan> {
    // baseOffset (8) batchLength (4) partitionLeaderEpoch (4) magic (1) crc (4)
    // attributes (2) lastOffsetDelta (4).
    const LAST_OFFSET_DELTA_AT: usize = 23;
    let be_i32 = |at: usize| {
        i32::from_be_bytes([
            records[at],
            records[at + 1],
            records[at + 2],
            records[at + 3],
        ])
    };
    let mut spans = Vec::new();
    let mut start = 0;
    while records.len() - start >= LAST_OFFSET_DELTA_AT + 4 {
        let end = start + 12 + be_i32(start + 8).max(0) as usize;
        if end > records.len() {
            break;
        }
        let records_in_batch = i64::from(be_i32(start + LAST_OFFSET_DELTA_AT)) + 1;
        spans.push(BatchSpan {
            start,
            end,
            records: records_in_batch,
        });
        start = end;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batches(shapes: &[(i32, usize)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(delta, body) in shapes {
            let length = (49 + body) as i32; // bytes after the length field
            let mut batch = vec![0u8; 12 + length as usize];
            batch[8..12].copy_from_slice(&length.to_be_bytes());
            batch[23..27].copy_from_slice(&delta.to_be_bytes());
            out.extend_from_slice(&batch);
        }
        out
    }

    #[test]
    fn batch_spans_follow_lengths_and_last_offset_deltas() {
        let run = batches(&[(4, 10), (0, 3)]);
        assert_eq!(
            batch_spans(&run),
            vec![
                BatchSpan {
                    start: 0,
                    end: 71,
                    records: 5
                },
                BatchSpan {
                    start: 71,
                    end: 135,
                    records: 1
                },
            ]
        );
        assert_eq!(
            batch_spans(&run[..100]).len(),
            1,
            "a short tail is left out"
        );
        assert!(batch_spans(&[]).is_empty());
    }

    #[test]
    fn appends_assign_base_offsets_and_record_batch_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t-0.log");
        let mut log = PartitionLog::create(path.clone()).unwrap();
        let run = batches(&[(4, 10), (0, 3)]);
        assert_eq!(log.append(&run).unwrap(), 0);
        assert_eq!(log.append(&batches(&[(2, 1)])).unwrap(), 6);
        assert_eq!(log.next_offset, 9);
        assert_eq!(log.batches, vec![(0, 0), (5, 71), (6, 135)]);
        let written = std::fs::read(&path).unwrap();
        assert_eq!(written.len() as u64, log.size_bytes);
        let base_at = |position: usize| {
            i64::from_be_bytes(written[position..position + 8].try_into().unwrap())
        };
        assert_eq!((base_at(0), base_at(71), base_at(135)), (0, 5, 6));
        assert_eq!(
            &written[8..71],
            &run[8..71],
            "the rest is the client's bytes"
        );
    }
}
