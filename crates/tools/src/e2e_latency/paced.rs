//! `rafka e2e-latency … --throughput <records/s>`: end-to-end latency at a fixed rate, which
//! Kafka's one-record-at-a-time tool cannot measure.
//!
//! One producer sends record `i` at `start + i / throughput` (each on its own schedule,
//! not in bursts) with its sequence number and the sending time in its value; a consumer
//! in the same process, assigned at the topic's end before the first send, takes each
//! record's latency as its arrival time minus the time in its value. Both times come from
//! one monotonic clock, in nanoseconds; the report is in microseconds. The sending time is
//! taken just before the producer's `send`, so a record the pacing sends late is measured
//! from when it was actually sent (a slow sender shows as a rate below the target, which
//! is reported).
//!
//! The consumer keeps librdkafka's fetch defaults (`fetch.wait.max.ms=500`,
//! `fetch.min.bytes=1`): it long-polls as real consumers do, so the broker must answer a
//! waiting fetch when a record arrives (acks=1) or is committed (acks=all).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::Message;

use crate::ToolError;

/// Bytes at the start of each value: the sequence number and the sending time (ns since
/// the run's start), big-endian.
pub(super) const HEADER_BYTES: usize = 16;

/// How long the consumer waits for the last records after the last send.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The paced run's settings, beyond Kafka's positional ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Pacing {
    /// Records per second.
    pub(super) throughput: f64,
    /// Records at the start left out of the statistics (connections, metadata, the first
    /// fetch sessions).
    pub(super) warmup_records: usize,
}

/// Counts failed deliveries; the paced producer does not wait for each one.
#[derive(Debug, Default)]
pub(super) struct DeliveryCount {
    failed: AtomicU64,
}

impl ClientContext for DeliveryCount {
    fn log(&self, _level: rdkafka::config::RDKafkaLogLevel, _fac: &str, _message: &str) {}
    fn error(&self, _error: KafkaError, _reason: &str) {}
}

impl ProducerContext for DeliveryCount {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What a paced run measured.
#[derive(Debug)]
pub(super) struct PacedResult {
    /// Latency in nanoseconds of each measured record (after the warm-up), by sequence.
    latencies_ns: Vec<u64>,
    /// Measured records per second actually sent (after the warm-up).
    sent_rate: f64,
    pacing: Pacing,
}

pub(super) fn run(
    producer: &ThreadedProducer<DeliveryCount>,
    consumer: BaseConsumer,
    topic: &str,
    num_messages: usize,
    message_size_bytes: usize,
    pacing: Pacing,
) -> Result<PacedResult, ToolError> {
    let origin = Instant::now();
    let receiver = std::thread::spawn(move || receive(&consumer, origin, num_messages));

    let interval_ns = 1e9 / pacing.throughput;
    let mut value = vec![b'x'; message_size_bytes.max(HEADER_BYTES)];
    let mut warm_sent_at = None;
    let start = Instant::now();
    for i in 0..num_messages {
        let due = start + Duration::from_nanos((i as f64 * interval_ns) as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if i == pacing.warmup_records {
            warm_sent_at = Some(Instant::now());
        }
        value[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let sent_ns = origin.elapsed().as_nanos() as u64;
        value[8..16].copy_from_slice(&sent_ns.to_be_bytes());
        send(producer, topic, &value)?;
    }
    let sent_seconds = warm_sent_at.map_or(0.0, |at| at.elapsed().as_secs_f64());
    let received = receiver
        .join()
        .map_err(|_| ToolError::Failed("the consumer thread panicked".into()))??;
    producer
        .flush(DRAIN_TIMEOUT)
        .map_err(|e| ToolError::Failed(format!("cannot flush the producer: {e}")))?;
    let failed = producer.context().failed.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(ToolError::Failed(format!(
            "{failed} record(s) were not acknowledged"
        )));
    }
    let measured = num_messages - pacing.warmup_records.min(num_messages);
    Ok(PacedResult {
        latencies_ns: received[pacing.warmup_records.min(num_messages)..].to_vec(),
        sent_rate: if sent_seconds > 0.0 {
            measured as f64 / sent_seconds
        } else {
            0.0
        },
        pacing,
    })
}

/// Sends one record without waiting for it; a full local queue is waited out.
fn send(
    producer: &ThreadedProducer<DeliveryCount>,
    topic: &str,
    value: &[u8],
) -> Result<(), ToolError> {
    let mut record = BaseRecord::<(), [u8], ()>::to(topic).payload(value);
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((error, _)) => {
                return Err(ToolError::Failed(format!(
                    "cannot send to topic {topic}: {error}"
                )))
            }
        }
    }
}

/// Polls until every one of `num_messages` records came back; returns each one's latency
/// in nanoseconds, by sequence number.
fn receive(
    consumer: &BaseConsumer,
    origin: Instant,
    num_messages: usize,
) -> Result<Vec<u64>, ToolError> {
    const MISSING: u64 = u64::MAX;
    let mut latencies_ns = vec![MISSING; num_messages];
    let mut received = 0;
    let mut last_progress = Instant::now();
    while received < num_messages {
        if last_progress.elapsed() > DRAIN_TIMEOUT {
            return Err(ToolError::Failed(format!(
                "received {received} of {num_messages} records; none for {} s",
                DRAIN_TIMEOUT.as_secs()
            )));
        }
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let arrived_ns = origin.elapsed().as_nanos() as u64;
        let payload = message.payload().unwrap_or_default();
        let (Some(sequence), Some(sent_ns)) = (be_u64(payload, 0), be_u64(payload, 8)) else {
            return Err(ToolError::Failed(format!(
                "a record of {} bytes at offset {} was not sent by this run",
                payload.len(),
                message.offset()
            )));
        };
        let Some(slot) = latencies_ns.get_mut(sequence as usize) else {
            return Err(ToolError::Failed(format!(
                "record sequence {sequence} is past the {num_messages} sent"
            )));
        };
        if *slot != MISSING {
            return Err(ToolError::Failed(format!(
                "record {sequence} arrived twice"
            )));
        }
        *slot = arrived_ns.saturating_sub(sent_ns);
        received += 1;
        last_progress = Instant::now();
    }
    Ok(latencies_ns)
}

fn be_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let raw: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(raw))
}

impl PacedResult {
    /// The report: what was run, then the latency distribution in microseconds, with
    /// percentiles taken as Kafka's tool takes them (`sorted[(int) (n * p)]`).
    pub(super) fn lines(&self) -> [String; 2] {
        let mut sorted = self.latencies_ns.clone();
        sorted.sort_unstable();
        let us = |ns: u64| ns as f64 / 1000.0;
        let at = |p: f64| {
            let index = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
            sorted.get(index).copied().map_or(0.0, us)
        };
        let avg = if sorted.is_empty() {
            0.0
        } else {
            us(sorted.iter().sum::<u64>()) / sorted.len() as f64
        };
        [
            format!(
                "Paced at {} records/s: {} records measured after {} warm-up records, sent at {:.1} records/s",
                self.pacing.throughput,
                sorted.len(),
                self.pacing.warmup_records,
                self.sent_rate
            ),
            format!(
                "End-to-end latency (us): avg = {avg:.1}, 50th = {:.1}, 99th = {:.1}, 99.9th = {:.1}, max = {:.1}",
                at(0.5),
                at(0.99),
                at(0.999),
                sorted.last().copied().map_or(0.0, us)
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_gives_microsecond_percentiles_of_the_measured_records() {
        let result = PacedResult {
            // 1..=1000 µs, shuffled by reversal.
            latencies_ns: (1..=1000u64).rev().map(|us| us * 1000).collect(),
            sent_rate: 9_999.5,
            pacing: Pacing {
                throughput: 10_000.0,
                warmup_records: 100,
            },
        };
        assert_eq!(
            result.lines(),
            [
                "Paced at 10000 records/s: 1000 records measured after 100 warm-up records, sent at 9999.5 records/s".to_string(),
                "End-to-end latency (us): avg = 500.5, 50th = 501.0, 99th = 991.0, 99.9th = 1000.0, max = 1000.0".to_string(),
            ]
        );
    }

    #[test]
    fn values_carry_sequence_and_time_big_endian() {
        let mut value = vec![0u8; HEADER_BYTES + 4];
        value[..8].copy_from_slice(&7u64.to_be_bytes());
        value[8..16].copy_from_slice(&123_456u64.to_be_bytes());
        assert_eq!(be_u64(&value, 0), Some(7));
        assert_eq!(be_u64(&value, 8), Some(123_456));
        assert_eq!(be_u64(&value[..12], 8), None);
    }
}
