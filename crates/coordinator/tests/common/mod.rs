//! An in-memory `CoordinatorLog` for the coordinators' tests: each partition of the
//! internal topic a list of batches, each given its base offset as a leader would.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::Mutex;
use rafka_config::group::{ConsumerConfig, GroupConfig, OffsetsTopicConfig};
use rafka_coordinator::group::GroupCoordinator;
use rafka_coordinator::{CoordinatorLog, PendingWrite};
use rafka_protocol::ErrorCode;
use rafka_types::ManualClock;

/// Partitions as lists of batches, each given its base offset as a leader would.
#[derive(Default)]
pub struct MemoryLog {
    pub batches: Mutex<HashMap<i32, Vec<Bytes>>>,
    /// What every append answers with, when set (a lost leadership, a full disk).
    pub append_error: Mutex<Option<ErrorCode>>,
    /// What every pending write resolves to, when set (the ISR never caught up).
    pub replication_error: Mutex<Option<ErrorCode>>,
    /// The internal topic this log leads the partitions of (none: it leads nothing).
    pub leads: Option<&'static str>,
}

impl MemoryLog {
    pub fn leader() -> MemoryLog {
        MemoryLog::leading("__consumer_offsets")
    }

    pub fn leading(topic: &'static str) -> MemoryLog {
        MemoryLog {
            leads: Some(topic),
            ..Default::default()
        }
    }

    pub fn records(&self) -> usize {
        self.batches.lock().values().map(Vec::len).sum()
    }
}

impl CoordinatorLog for MemoryLog {
    fn is_leader(&self, topic: &str, _partition: i32) -> bool {
        self.leads == Some(topic)
    }

    fn append(
        &self,
        _topic: &str,
        partition: i32,
        batch: &[u8],
        _timeout: Duration,
    ) -> Result<PendingWrite, ErrorCode> {
        if let Some(code) = *self.append_error.lock() {
            return Err(code);
        }
        let mut batches = self.batches.lock();
        let log = batches.entry(partition).or_default();
        let base = end_offset(log);
        // Rewrite the base offset (the first 8 bytes), as the log does.
        let mut stamped = BytesMut::with_capacity(batch.len());
        stamped.put_i64(base);
        stamped.extend_from_slice(&batch[8..]);
        log.push(stamped.freeze());
        let outcome = match *self.replication_error.lock() {
            Some(code) => Err(code),
            None => Ok(()),
        };
        Ok(Box::pin(std::future::ready(outcome)))
    }

    fn replay_range(&self, _topic: &str, partition: i32) -> Option<(i64, i64)> {
        let batches = self.batches.lock();
        let end = batches.get(&partition).map_or(0, |log| end_offset(log));
        Some((0, end))
    }

    fn read(
        &self,
        _topic: &str,
        partition: i32,
        offset: i64,
        _max: usize,
    ) -> Result<Bytes, String> {
        let batches = self.batches.lock();
        let mut out = BytesMut::new();
        for batch in batches.get(&partition).into_iter().flatten() {
            let header = rafka_protocol::batch::batches(batch)
                .next()
                .unwrap()
                .unwrap();
            if header.next_offset() > offset {
                out.extend_from_slice(batch);
            }
        }
        Ok(out.freeze())
    }
}

/// The offset after a partition's last batch.
pub fn end_offset(log: &[Bytes]) -> i64 {
    let next = |batch: &Bytes| {
        let header = rafka_protocol::batch::batches(batch).next();
        header.and_then(Result::ok).map_or(0, |h| h.next_offset())
    };
    log.iter().map(next).max().unwrap_or(0)
}

/// A clustered group coordinator over three `__consumer_offsets` partitions, its clock
/// at 1 000 ms.
pub fn group_coordinator() -> GroupCoordinator {
    GroupCoordinator::new(
        GroupConfig::default(),
        ConsumerConfig::default(),
        OffsetsTopicConfig {
            partitions: 3,
            replication_factor: 1,
            segment_bytes: 1 << 20,
        },
        true,
        ManualClock::new(1_000),
    )
}
