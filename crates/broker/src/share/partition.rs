//! A share-partition (KIP-932): what one share group has done with one topic-partition,
//! kept by the partition's leader. Pure state: the caller reads the log, passes the
//! clock's time in, and sends the bytes.
//!
//! The in-flight window runs from the share-partition start offset (SPSO) to the end
//! offset (SPEO, exclusive here: the next offset never fetched). Offsets below the SPSO
//! are done (acknowledged or archived); offsets at or past the end are available and
//! have never been delivered. Every offset inside the window has a state:
//!
//! - Available: may be acquired (again: a redelivery);
//! - Acquired: by one member, until it acknowledges it or its lock expires (back to
//!   Available, or Archived once `delivery_count` reached the limit);
//! - Acknowledged (accepted) and Archived (rejected, a gap, or out of deliveries): done.
//!
//! Durable state (`__share_group_state`, through the share coordinator): an
//! acknowledgement is first applied as a pending transition (`begin_acknowledge`), the
//! share-partition's state is written, and only then is the transition completed, or
//! rolled back if the write failed (`complete_pending`). A record in a pending
//! transition is neither acquired nor released, and the SPSO does not move past it.
//! Other changes (releases, archiving) mark the share-partition `dirty`, to be written
//! in the background. What is written (`persistent_state`) is every offset of the
//! window: Acquired records as Available with their delivery count, so that after a
//! restart they are delivered again.
//!
//! Invariant: `start <= end`; every offset of `start..end` is in `records`; the record
//! at `start`, if any, is not done (the SPSO advances over the done prefix at once)
//! unless it is in a pending transition.

use std::collections::BTreeMap;
use std::sync::Arc;

use rafka_coordinator::share_state::records::{
    StateBatch, DELIVERY_STATE_ACKNOWLEDGED, DELIVERY_STATE_ARCHIVED, DELIVERY_STATE_AVAILABLE,
};
use rafka_protocol::ErrorCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    Available,
    Acquired,
    Acknowledged,
    Archived,
}

/// One offset of the in-flight window.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    state: RecordState,
    delivery_count: i16,
    /// The member holding it while Acquired (shared by the records of one acquisition:
    /// a fetch acquires hundreds).
    member_id: Option<Arc<str>>,
    /// When the acquisition lock expires (while Acquired).
    lock_deadline_ms: i64,
    /// While an acknowledgement's state is being written: the record before it.
    rollback: Option<Box<InFlight>>,
}

impl InFlight {
    fn is_done(&self) -> bool {
        matches!(
            self.state,
            RecordState::Acknowledged | RecordState::Archived
        )
    }
}

/// KIP-932's acknowledge types as the wire carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcknowledgeType {
    /// An offset with no record (compacted away, a control record).
    Gap,
    Accept,
    Release,
    Reject,
}

impl AcknowledgeType {
    pub fn from_wire(value: i8) -> Option<AcknowledgeType> {
        match value {
            0 => Some(AcknowledgeType::Gap),
            1 => Some(AcknowledgeType::Accept),
            2 => Some(AcknowledgeType::Release),
            3 => Some(AcknowledgeType::Reject),
            _ => None,
        }
    }
}

/// A range of offsets acquired together, with their delivery count (ShareFetch's
/// `AcquiredRecords`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquiredRange {
    pub first_offset: i64,
    pub last_offset: i64,
    pub delivery_count: i16,
}

/// The limits a share-partition applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharePartitionLimits {
    pub record_lock_duration_ms: i64,
    pub delivery_count_limit: i16,
    pub max_in_flight: usize,
}

#[derive(Debug, Clone)]
pub struct SharePartition {
    start: i64,
    end: i64,
    records: BTreeMap<i64, InFlight>,
    /// Kafka's in-flight batches: the ranges new records were acquired in (first offset
    /// → last offset, and whether the batch is tracked per offset since part of it was
    /// acknowledged or acquired on its own). They shape the answers as Kafka's: an
    /// untracked batch is redelivered as one AcquiredRecords, a tracked one offset by
    /// offset. Offsets of no batch (state read back after a restart) merge by delivery
    /// count.
    batches: BTreeMap<i64, (i64, bool)>,
    pub limits: SharePartitionLimits,
    /// Changed since its state was last written (a release, an archive, a moved start).
    pub dirty: bool,
}

impl SharePartition {
    /// A share-partition starting at `start_offset` (from `share.auto.offset.reset`).
    pub fn new(start_offset: i64, limits: SharePartitionLimits) -> SharePartition {
        SharePartition {
            start: start_offset,
            end: start_offset,
            records: BTreeMap::new(),
            batches: BTreeMap::new(),
            limits,
            dirty: false,
        }
    }

    /// The in-flight batch holding `offset`: (first, last, tracked per offset).
    fn batch_of(&self, offset: i64) -> Option<(i64, i64, bool)> {
        self.batches
            .range(..=offset)
            .next_back()
            .filter(|(_, (last, _))| offset <= *last)
            .map(|(first, (last, tracked))| (*first, *last, *tracked))
    }

    /// Tracks per offset every in-flight batch `first..=last` covers only in part.
    fn track_partial(&mut self, first: i64, last: i64) {
        let keys: Vec<i64> = self
            .batches
            .range(..=last)
            .filter(|(b_first, (b_last, _))| {
                *b_last >= first && (**b_first < first || *b_last > last)
            })
            .map(|(b_first, _)| *b_first)
            .collect();
        for key in keys {
            if let Some(batch) = self.batches.get_mut(&key) {
                batch.1 = true;
            }
        }
    }

    /// A share-partition as its written state gives it: offsets Acknowledged or Archived
    /// are done, Available ones keep their delivery count, offsets of the window no
    /// batch covers are Available, never delivered.
    pub fn from_state(
        start_offset: i64,
        batches: &[StateBatch],
        limits: SharePartitionLimits,
    ) -> SharePartition {
        let mut sp = SharePartition::new(start_offset, limits);
        let end = batches
            .iter()
            .map(|b| b.last_offset + 1)
            .max()
            .unwrap_or(start_offset)
            .max(start_offset);
        for offset in start_offset..end {
            sp.records.insert(offset, available(0));
        }
        for batch in batches {
            for offset in batch.first_offset.max(start_offset)..=batch.last_offset {
                let record = match batch.delivery_state {
                    DELIVERY_STATE_ACKNOWLEDGED => done(RecordState::Acknowledged),
                    DELIVERY_STATE_ARCHIVED => done(RecordState::Archived),
                    _ => available(batch.delivery_count),
                };
                sp.records.insert(offset, record);
            }
        }
        sp.end = end;
        sp.advance_start();
        sp
    }

    /// What to write of this share-partition: the start offset it will have once the
    /// pending transitions complete, and the state of every offset from there to the
    /// end of the window (Acquired written as Available, Kafka persisting no
    /// acquisitions).
    pub fn persistent_state(&self) -> (i64, Vec<StateBatch>) {
        let start = self
            .records
            .iter()
            .find(|(_, r)| !r.is_done())
            .map_or(self.end, |(offset, _)| *offset);
        let mut batches: Vec<StateBatch> = Vec::new();
        for (&offset, record) in self.records.range(start..) {
            let state = match record.state {
                RecordState::Available | RecordState::Acquired => DELIVERY_STATE_AVAILABLE,
                RecordState::Acknowledged => DELIVERY_STATE_ACKNOWLEDGED,
                RecordState::Archived => DELIVERY_STATE_ARCHIVED,
            };
            match batches.last_mut() {
                Some(b)
                    if b.last_offset + 1 == offset
                        && b.delivery_state == state
                        && b.delivery_count == record.delivery_count =>
                {
                    b.last_offset = offset;
                }
                _ => batches.push(StateBatch::new(
                    offset,
                    offset,
                    state,
                    record.delivery_count,
                )),
            }
        }
        (start, batches)
    }

    /// The share-partition start offset (SPSO).
    pub fn start_offset(&self) -> i64 {
        self.start
    }

    /// The offset after the window: the next never-delivered offset.
    pub fn end_offset(&self) -> i64 {
        self.end
    }

    /// Where the next fetch reads from: the lowest offset that may be acquired (None
    /// when the window is full of locks and nothing in it is Available).
    pub fn next_fetch_offset(&mut self, now_ms: i64) -> Option<i64> {
        self.expire_locks(now_ms);
        if let Some((&offset, _)) = self
            .records
            .iter()
            .find(|(_, r)| r.state == RecordState::Available && r.rollback.is_none())
        {
            return Some(offset);
        }
        (self.records.len() < self.limits.max_in_flight).then_some(self.end)
    }

    /// The log moved its start past the window (retention, DeleteRecords): what is gone
    /// cannot be delivered.
    pub fn advance_to_log_start(&mut self, log_start_offset: i64) {
        if log_start_offset <= self.start {
            return;
        }
        self.records = self.records.split_off(&log_start_offset);
        self.start = log_start_offset;
        self.end = self.end.max(log_start_offset);
        self.dirty = true;
    }

    /// Acquires for `member_id` up to `max_records` offsets of `first..=last` (a batch the
    /// log returned) that may be: Available ones inside the window, and new ones past its
    /// end while the window has room. Returns the ranges acquired, split where the
    /// delivery count changes.
    pub fn acquire(
        &mut self,
        member_id: &str,
        first: i64,
        last: i64,
        max_records: usize,
        now_ms: i64,
    ) -> Vec<AcquiredRange> {
        self.expire_locks(now_ms);
        let owner: Arc<str> = Arc::from(member_id);
        let mut acquired: Vec<AcquiredRange> = Vec::new();
        let mut count = 0usize;
        let deadline = now_ms + self.limits.record_lock_duration_ms;
        let mut offset = first.max(self.start);
        // Redelivery inside a batch the request does not cover whole: per offset.
        if offset < self.end {
            self.track_partial(offset, last.min(self.end - 1));
        }
        let new_from = self.end.max(offset);
        let mut previous_batch: Option<(i64, bool)> = None;
        while offset <= last {
            // max_records is a soft limit, as Kafka's: an untracked in-flight batch
            // being redelivered is acquired whole.
            if count >= max_records {
                let same_batch = offset < self.end
                    && previous_batch.is_some_and(|(_, tracked)| !tracked)
                    && self.batch_of(offset).map(|(b, _, tracked)| (b, tracked)) == previous_batch;
                if !same_batch {
                    break;
                }
            }
            let delivery_count = if offset >= self.end {
                if self.records.len() >= self.limits.max_in_flight {
                    break;
                }
                // A gap in the log before this offset (compaction) stays out of the
                // window: nothing can be delivered there.
                for missing in self.end..offset {
                    self.records.insert(missing, done(RecordState::Archived));
                }
                self.records
                    .insert(offset, acquired_by(&owner, 1, deadline));
                self.end = offset + 1;
                1
            } else {
                let record = self.records.get_mut(&offset).expect("window is dense");
                if record.state != RecordState::Available || record.rollback.is_some() {
                    offset += 1;
                    continue;
                }
                record.state = RecordState::Acquired;
                record.delivery_count += 1;
                record.member_id = Some(owner.clone());
                record.lock_deadline_ms = deadline;
                record.delivery_count
            };
            // Ranges merge inside one untracked in-flight batch (or, new, in this
            // request's new batch), never across batches nor in a tracked one.
            let batch = if offset >= new_from {
                Some((new_from, false))
            } else {
                self.batch_of(offset).map(|(b, _, tracked)| (b, tracked))
            };
            let mergeable = batch.is_none_or(|(_, tracked)| !tracked) && batch == previous_batch;
            previous_batch = batch;
            match acquired.last_mut() {
                Some(r)
                    if mergeable
                        && r.last_offset + 1 == offset
                        && r.delivery_count == delivery_count =>
                {
                    r.last_offset = offset;
                }
                _ => acquired.push(AcquiredRange {
                    first_offset: offset,
                    last_offset: offset,
                    delivery_count,
                }),
            }
            count += 1;
            offset += 1;
        }
        if self.end > new_from {
            self.batches.insert(new_from, (self.end - 1, false));
        }
        self.advance_start();
        acquired
    }

    /// Archives `first..=last` without delivering it (a batch of an aborted transaction
    /// under `share.isolation.level=read_committed`, as Kafka's share-partition filters
    /// them): Available offsets of the window and offsets past its end alike.
    pub fn archive(&mut self, first: i64, last: i64) {
        self.dirty = true;
        let mut offset = first.max(self.start);
        while offset <= last {
            if offset >= self.end {
                for missing in self.end..=offset {
                    self.records.insert(missing, done(RecordState::Archived));
                }
                self.end = offset + 1;
            } else if let Some(record) = self.records.get_mut(&offset) {
                if record.state == RecordState::Available && record.rollback.is_none() {
                    record.state = RecordState::Archived;
                }
            }
            offset += 1;
        }
        self.advance_start();
    }

    /// Applies one acknowledgement batch of `member_id` at once (no state to write).
    pub fn acknowledge(
        &mut self,
        member_id: &str,
        first: i64,
        last: i64,
        types: &[AcknowledgeType],
        now_ms: i64,
    ) -> Result<(), ErrorCode> {
        self.begin_acknowledge(member_id, first, last, types, now_ms)?;
        self.complete_pending(true);
        Ok(())
    }

    /// Starts one acknowledgement batch of `member_id`: `types` has one entry per
    /// offset of `first..=last`, or a single entry for them all. Every offset must be
    /// Acquired by this member (a gap may also be an offset the window already archived);
    /// otherwise nothing changes and the answer is INVALID_RECORD_STATE, as Kafka's.
    /// The records take their new states as pending transitions until
    /// `complete_pending`.
    pub fn begin_acknowledge(
        &mut self,
        member_id: &str,
        first: i64,
        last: i64,
        types: &[AcknowledgeType],
        now_ms: i64,
    ) -> Result<(), ErrorCode> {
        if last < first || types.is_empty() {
            return Err(ErrorCode::InvalidRequest);
        }
        let span = usize::try_from(last - first + 1).map_err(|_| ErrorCode::InvalidRequest)?;
        if types.len() != 1 && types.len() != span {
            return Err(ErrorCode::InvalidRequest);
        }
        // Kafka: "Batch record not found. The first offset in request is past acquired
        // records." — an INVALID_REQUEST.
        if !self.records.is_empty() && first >= self.end {
            return Err(ErrorCode::InvalidRequest);
        }
        self.expire_locks(now_ms);
        if types.len() > 1 {
            // Per-offset acknowledge types: Kafka tracks the batches per offset.
            let keys: Vec<i64> = self
                .batches
                .range(..=last)
                .filter(|(_, (b_last, _))| *b_last >= first)
                .map(|(b_first, _)| *b_first)
                .collect();
            for key in keys {
                if let Some(batch) = self.batches.get_mut(&key) {
                    batch.1 = true;
                }
            }
        } else {
            self.track_partial(first, last);
        }
        let type_of = |offset: i64| {
            types[if types.len() == 1 {
                0
            } else {
                (offset - first) as usize
            }]
        };
        // Check all before changing any: a failed acknowledgement leaves state as it was.
        for offset in first..=last {
            let ok = match self.records.get(&offset) {
                Some(r) if r.state == RecordState::Acquired => {
                    r.member_id.as_deref() == Some(member_id)
                }
                Some(r) => {
                    type_of(offset) == AcknowledgeType::Gap && r.state == RecordState::Archived
                }
                // Below the SPSO it is done already; past the end never delivered.
                None => false,
            };
            if !ok {
                return Err(ErrorCode::InvalidRecordState);
            }
        }
        for offset in first..=last {
            let limit = self.limits.delivery_count_limit;
            let record = self.records.get_mut(&offset).expect("checked above");
            if record.state != RecordState::Acquired {
                continue;
            }
            let before = record.clone();
            match type_of(offset) {
                AcknowledgeType::Accept => *record = done(RecordState::Acknowledged),
                AcknowledgeType::Gap | AcknowledgeType::Reject => {
                    *record = done(RecordState::Archived)
                }
                AcknowledgeType::Release => release(record, limit),
            }
            record.rollback = Some(Box::new(before));
        }
        Ok(())
    }

    /// Kafka's message for an acknowledgement of `first..=last` by `member_id` that
    /// `begin_acknowledge` refused (its SharePartition's InvalidRecordStateException /
    /// InvalidRequestException texts), judged on the state before it.
    pub fn ack_failure_message(
        &self,
        member_id: &str,
        first: i64,
        last: i64,
    ) -> Option<&'static str> {
        if !self.records.is_empty() && first >= self.end {
            return Some(
                "Batch record not found. The first offset in request is past acquired records.",
            );
        }
        for offset in first..=last {
            let record = self.records.get(&offset)?;
            let batch = self.batch_of(offset);
            let whole =
                batch.is_some_and(|(b_first, b_last, _)| first <= b_first && b_last <= last);
            let tracked = batch.is_none_or(|(_, _, tracked)| tracked);
            match record.state {
                RecordState::Acquired if record.member_id.as_deref() == Some(member_id) => continue,
                RecordState::Acquired if tracked || !whole => {
                    return Some("Member is not the owner of offset")
                }
                RecordState::Acquired => return Some("Member is not the owner of batch record"),
                _ if tracked => {
                    return Some("The batch cannot be acknowledged. The offset is not acquired.")
                }
                _ if !whole => {
                    return Some(
                        "The batch cannot be acknowledged. The subset batch is not in the acquired state.",
                    )
                }
                _ => {
                    return Some(
                        "The batch cannot be acknowledged. The batch is not in the acquired state.",
                    )
                }
            }
        }
        None
    }

    /// Completes the pending transitions once their state is written, or puts the
    /// records back as they were (still Acquired by their member) when it could not be.
    pub fn complete_pending(&mut self, written: bool) {
        for record in self.records.values_mut() {
            if let Some(before) = record.rollback.take() {
                if !written {
                    *record = *before;
                }
            }
        }
        self.advance_start();
    }

    /// Releases every record `member_id` holds (it left the group, or closed its share
    /// session): they may be delivered again, or are archived once out of deliveries.
    /// Returns how many.
    pub fn release_member(&mut self, member_id: &str) -> usize {
        let limit = self.limits.delivery_count_limit;
        let mut released = 0;
        for record in self.records.values_mut() {
            if record.state == RecordState::Acquired
                && record.member_id.as_deref() == Some(member_id)
            {
                release(record, limit);
                released += 1;
            }
        }
        if released > 0 {
            self.dirty = true;
        }
        self.advance_start();
        released
    }

    /// Acquisition locks that expired by `now_ms` go back (Available, or Archived once
    /// out of deliveries).
    pub fn expire_locks(&mut self, now_ms: i64) {
        let limit = self.limits.delivery_count_limit;
        let mut any = false;
        for record in self.records.values_mut() {
            if record.state == RecordState::Acquired && record.lock_deadline_ms <= now_ms {
                release(record, limit);
                any = true;
            }
        }
        if any {
            self.dirty = true;
            self.advance_start();
        }
    }

    /// The state and delivery count of `offset` (None outside the window).
    pub fn record(&self, offset: i64) -> Option<(RecordState, i16)> {
        self.records
            .get(&offset)
            .map(|r| (r.state, r.delivery_count))
    }

    /// When the first lock of the window runs out (None while nothing is Acquired): a
    /// waiting fetch has something to acquire again at that time.
    pub fn next_lock_deadline_ms(&self) -> Option<i64> {
        self.records
            .values()
            .filter(|r| r.state == RecordState::Acquired)
            .map(|r| r.lock_deadline_ms)
            .min()
    }

    /// Whether something may be acquired now without reading past the window's end.
    pub fn has_available(&self) -> bool {
        self.records
            .values()
            .any(|r| r.state == RecordState::Available && r.rollback.is_none())
    }

    /// The SPSO moves over the done prefix of the window.
    fn advance_start(&mut self) {
        self.batches.retain(|_, (last, _)| *last >= self.start);
        while let Some(entry) = self.records.first_entry() {
            if !entry.get().is_done() || entry.get().rollback.is_some() {
                break;
            }
            let offset = *entry.key();
            entry.remove();
            self.start = offset + 1;
        }
        if self.records.is_empty() {
            self.start = self.end.max(self.start);
            self.end = self.start;
        }
        debug_assert!(self.start <= self.end, "SPSO past SPEO");
    }
}

fn done(state: RecordState) -> InFlight {
    InFlight {
        state,
        delivery_count: 0,
        member_id: None,
        lock_deadline_ms: 0,
        rollback: None,
    }
}

fn available(delivery_count: i16) -> InFlight {
    InFlight {
        delivery_count,
        ..done(RecordState::Available)
    }
}

fn acquired_by(member_id: &Arc<str>, delivery_count: i16, deadline_ms: i64) -> InFlight {
    InFlight {
        state: RecordState::Acquired,
        delivery_count,
        member_id: Some(member_id.clone()),
        lock_deadline_ms: deadline_ms,
        rollback: None,
    }
}

/// An acquired record goes back: Available for another delivery, or Archived when it
/// has been delivered `limit` times (Kafka's poison-record rule).
fn release(record: &mut InFlight, limit: i16) {
    record.member_id = None;
    record.lock_deadline_ms = 0;
    record.state = if record.delivery_count >= limit {
        RecordState::Archived
    } else {
        RecordState::Available
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use AcknowledgeType::*;

    const LIMITS: SharePartitionLimits = SharePartitionLimits {
        record_lock_duration_ms: 30_000,
        delivery_count_limit: 3,
        max_in_flight: 10,
    };

    fn range(first: i64, last: i64, delivery_count: i16) -> AcquiredRange {
        AcquiredRange {
            first_offset: first,
            last_offset: last,
            delivery_count,
        }
    }

    #[test]
    fn the_first_lock_to_run_out_is_known() {
        let mut sp = SharePartition::new(0, LIMITS);
        assert_eq!(sp.next_lock_deadline_ms(), None);
        sp.acquire("a", 0, 1, 10, 1_000);
        sp.acquire("b", 2, 2, 10, 2_000);
        let lock = LIMITS.record_lock_duration_ms;
        assert_eq!(sp.next_lock_deadline_ms(), Some(1_000 + lock));
    }

    #[test]
    fn archived_aborted_records_are_never_delivered() {
        let mut sp = SharePartition::new(0, LIMITS);
        sp.archive(0, 4);
        assert_eq!(
            sp.next_fetch_offset(0),
            Some(5),
            "the archived prefix is behind the start"
        );
        let got = sp.acquire("m", 5, 6, 10, 0);
        assert_eq!((got[0].first_offset, got[0].last_offset), (5, 6));
    }

    #[test]
    fn acquire_hands_each_offset_to_one_member_and_accept_advances_the_start() {
        let mut sp = SharePartition::new(100, LIMITS);
        assert_eq!(sp.acquire("a", 100, 104, 3, 0), vec![range(100, 102, 1)]);
        assert_eq!(sp.acquire("b", 100, 104, 10, 0), vec![range(103, 104, 1)]);
        // Nothing left for a third member.
        assert_eq!(sp.acquire("c", 100, 104, 10, 0), vec![]);
        assert_eq!((sp.start_offset(), sp.end_offset()), (100, 105));
        // b acknowledges first: the start waits for a's records.
        sp.acknowledge("b", 103, 104, &[Accept], 1).unwrap();
        assert_eq!(sp.start_offset(), 100);
        sp.acknowledge("a", 100, 102, &[Accept, Accept, Accept], 1)
            .unwrap();
        assert_eq!((sp.start_offset(), sp.end_offset()), (105, 105));
        assert_eq!(sp.next_fetch_offset(2), Some(105));
    }

    #[test]
    fn release_makes_records_available_again_with_a_higher_delivery_count() {
        let mut sp = SharePartition::new(0, LIMITS);
        sp.acquire("a", 0, 1, 10, 0);
        sp.acknowledge("a", 0, 1, &[Release, Accept], 1).unwrap();
        assert_eq!(sp.record(0), Some((RecordState::Available, 1)));
        assert_eq!(sp.next_fetch_offset(1), Some(0));
        assert_eq!(sp.acquire("b", 0, 1, 10, 2), vec![range(0, 0, 2)]);
        assert_eq!(sp.start_offset(), 0);
        sp.acknowledge("b", 0, 0, &[Accept], 3).unwrap();
        assert_eq!(sp.start_offset(), 2);
    }

    #[test]
    fn reject_archives_and_is_never_redelivered() {
        let mut sp = SharePartition::new(0, LIMITS);
        sp.acquire("a", 0, 2, 10, 0);
        sp.acknowledge("a", 1, 1, &[Reject], 1).unwrap();
        assert_eq!(sp.record(1), Some((RecordState::Archived, 0)));
        sp.acknowledge("a", 0, 0, &[Release], 1).unwrap();
        // Only offset 0 comes back.
        assert_eq!(sp.acquire("b", 0, 2, 10, 2), vec![range(0, 0, 2)]);
        sp.acknowledge("b", 0, 0, &[Accept], 3).unwrap();
        sp.acknowledge("a", 2, 2, &[Accept], 3).unwrap();
        assert_eq!(sp.start_offset(), 3);
    }

    #[test]
    fn expired_locks_return_records_and_the_delivery_limit_archives_a_poison_record() {
        let mut sp = SharePartition::new(0, LIMITS);
        assert_eq!(sp.acquire("a", 0, 0, 10, 0), vec![range(0, 0, 1)]);
        // Still locked just before the deadline.
        assert_eq!(sp.acquire("b", 0, 0, 10, 29_999), vec![]);
        assert_eq!(sp.acquire("b", 0, 0, 10, 30_000), vec![range(0, 0, 2)]);
        // a's lock is gone: its late acknowledgement is refused, state unchanged.
        assert_eq!(
            sp.acknowledge("a", 0, 0, &[Accept], 30_001),
            Err(ErrorCode::InvalidRecordState)
        );
        assert_eq!(sp.record(0), Some((RecordState::Acquired, 2)));
        sp.acknowledge("b", 0, 0, &[Release], 30_002).unwrap();
        assert_eq!(sp.acquire("c", 0, 0, 10, 30_003), vec![range(0, 0, 3)]);
        // The third delivery's lock expires: out of deliveries, archived; SPSO moves on.
        sp.expire_locks(60_003);
        assert_eq!(sp.record(0), None);
        assert_eq!(sp.start_offset(), 1);
        assert_eq!(sp.acquire("d", 0, 0, 10, 60_004), vec![]);
    }

    #[test]
    fn acknowledging_what_the_member_does_not_hold_changes_nothing() {
        let mut sp = SharePartition::new(0, LIMITS);
        sp.acquire("a", 0, 3, 2, 0);
        sp.acquire("b", 0, 3, 2, 0);
        // b does not hold 1; 5 was never delivered (past the acquired records: Kafka's
        // INVALID_REQUEST); a mixed batch fails whole.
        assert_eq!(
            sp.acknowledge("b", 1, 2, &[Accept], 1),
            Err(ErrorCode::InvalidRecordState)
        );
        assert_eq!(
            sp.acknowledge("a", 5, 5, &[Accept], 1),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(sp.record(2), Some((RecordState::Acquired, 1)));
        assert_eq!(sp.record(1), Some((RecordState::Acquired, 1)));
        // Malformed: types do not cover the batch.
        assert_eq!(
            sp.acknowledge("a", 0, 1, &[Accept, Accept, Accept], 1),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(sp.acknowledge("a", 0, 1, &[Accept], 1), Ok(()));
        assert_eq!(sp.start_offset(), 2);
    }

    #[test]
    fn the_window_holds_at_most_max_in_flight_records() {
        let mut sp = SharePartition::new(0, LIMITS);
        assert_eq!(sp.acquire("a", 0, 99, 100, 0), vec![range(0, 9, 1)]);
        assert_eq!(sp.next_fetch_offset(1), None);
        sp.acknowledge("a", 0, 4, &[Accept], 1).unwrap();
        assert_eq!(sp.next_fetch_offset(1), Some(10));
        assert_eq!(sp.acquire("a", 10, 99, 100, 1), vec![range(10, 14, 1)]);
    }

    #[test]
    fn member_leaving_releases_its_records_and_log_truncation_moves_the_start() {
        let mut sp = SharePartition::new(0, LIMITS);
        sp.acquire("a", 0, 1, 10, 0);
        sp.acquire("b", 2, 2, 10, 0);
        assert_eq!(sp.release_member("a"), 2);
        assert_eq!(sp.record(0), Some((RecordState::Available, 1)));
        assert_eq!(sp.record(2), Some((RecordState::Acquired, 1)));
        sp.advance_to_log_start(2);
        assert_eq!((sp.start_offset(), sp.record(0)), (2, None));
        // A gap inside a batch (compaction) is archived, never delivered.
        assert_eq!(sp.acquire("a", 5, 5, 10, 1), vec![range(5, 5, 1)]);
        assert_eq!(sp.record(4), Some((RecordState::Archived, 0)));
        assert_eq!(sp.acknowledge("b", 2, 2, &[Accept], 2), Ok(()));
        assert_eq!(sp.start_offset(), 5);
    }

    #[test]
    fn written_state_gives_back_the_window_with_acquired_records_available_again() {
        let mut sp = SharePartition::new(10, LIMITS);
        sp.acquire("a", 10, 15, 10, 0);
        sp.acknowledge("a", 10, 11, &[Accept], 1).unwrap();
        sp.acknowledge("a", 13, 13, &[Reject], 1).unwrap();
        sp.acknowledge("a", 14, 14, &[Release], 1).unwrap();
        // 12 and 15 are still Acquired by a.
        let (start, batches) = sp.persistent_state();
        assert_eq!(start, 12);
        assert_eq!(
            batches,
            vec![
                StateBatch::new(12, 12, DELIVERY_STATE_AVAILABLE, 1),
                StateBatch::new(13, 13, DELIVERY_STATE_ARCHIVED, 0),
                StateBatch::new(14, 15, DELIVERY_STATE_AVAILABLE, 1),
            ]
        );
        // After a restart: nothing done comes back, the rest is Available.
        let mut loaded = SharePartition::from_state(start, &batches, LIMITS);
        assert_eq!((loaded.start_offset(), loaded.end_offset()), (12, 16));
        assert_eq!(loaded.record(13), Some((RecordState::Archived, 0)));
        assert_eq!(
            loaded.acquire("b", 10, 20, 10, 2),
            vec![range(12, 12, 2), range(14, 15, 2), range(16, 20, 1)]
        );
    }

    #[test]
    fn a_pending_acknowledgement_holds_its_records_until_written_or_rolled_back() {
        let mut sp = SharePartition::new(0, LIMITS);
        sp.acquire("a", 0, 2, 10, 0);
        sp.begin_acknowledge("a", 0, 1, &[Accept, Release], 1)
            .unwrap();
        // What would be written already shows the new states...
        assert_eq!(sp.persistent_state().0, 1);
        // ...but the released record cannot be taken and the start stays.
        assert_eq!(sp.acquire("b", 0, 2, 10, 2), vec![]);
        assert_eq!(sp.start_offset(), 0);
        assert_eq!(
            sp.acknowledge("a", 0, 0, &[Accept], 2),
            Err(ErrorCode::InvalidRecordState)
        );
        // The write failed: a holds both again, as before.
        sp.complete_pending(false);
        assert_eq!(sp.record(0), Some((RecordState::Acquired, 1)));
        assert_eq!(sp.record(1), Some((RecordState::Acquired, 1)));
        sp.begin_acknowledge("a", 0, 1, &[Accept, Release], 3)
            .unwrap();
        sp.complete_pending(true);
        assert_eq!(sp.start_offset(), 1);
        assert_eq!(sp.acquire("b", 0, 2, 10, 4), vec![range(1, 1, 2)]);
    }

    #[test]
    fn batches_acknowledged_in_parts_are_redelivered_offset_by_offset() {
        let mut sp = SharePartition::new(0, LIMITS);
        // Two in-flight batches, as two new acquisitions.
        assert_eq!(sp.acquire("a", 0, 3, usize::MAX, 0), vec![range(0, 3, 1)]);
        assert_eq!(sp.acquire("a", 4, 5, usize::MAX, 0), vec![range(4, 5, 1)]);
        // The first released whole, the second in part.
        sp.acknowledge("a", 0, 3, &[Release], 1).unwrap();
        sp.acknowledge("a", 4, 4, &[Release], 1).unwrap();
        // Whole batch: one range; tracked batch: one range per offset; never merged
        // across batches.
        assert_eq!(
            sp.acquire("b", 0, 5, usize::MAX, 2),
            vec![range(0, 3, 2), range(4, 4, 2)]
        );
        // max_records is soft inside an untracked batch.
        sp.acknowledge("b", 0, 3, &[Release], 3).unwrap();
        assert_eq!(sp.acquire("c", 0, 3, 1, 4), vec![range(0, 3, 3)]);
    }

    #[test]
    fn refused_acknowledgements_get_kafkas_messages() {
        let mut sp = SharePartition::new(0, LIMITS);
        sp.acquire("a", 0, 3, usize::MAX, 0);
        assert_eq!(
            sp.ack_failure_message("b", 0, 3),
            Some("Member is not the owner of batch record")
        );
        assert_eq!(
            sp.ack_failure_message("b", 1, 2),
            Some("Member is not the owner of offset")
        );
        assert_eq!(
            sp.acknowledge("a", 9, 9, &[Accept], 1),
            Err(ErrorCode::InvalidRequest)
        );
        assert_eq!(
            sp.ack_failure_message("a", 9, 9),
            Some("Batch record not found. The first offset in request is past acquired records.")
        );
        sp.acknowledge("a", 0, 3, &[Release], 1).unwrap();
        assert_eq!(
            sp.ack_failure_message("a", 0, 3),
            Some("The batch cannot be acknowledged. The batch is not in the acquired state.")
        );
        assert_eq!(
            sp.ack_failure_message("a", 1, 1),
            Some(
                "The batch cannot be acknowledged. The subset batch is not in the acquired state."
            )
        );
    }
}
