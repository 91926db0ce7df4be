//! What the cleaner may do with transactional data and markers (Kafka's
//! `CleanedTransactionMetadata` and `lastRecordsOfActiveProducers`), decided by one
//! forward pass over the log below the first uncleanable offset, before the offset map is
//! built and the segments are rewritten (which the cleaner does last group first):
//!
//! - A batch of an aborted transaction (its producer has an aborted transaction whose
//!   first offset it has passed and whose ABORT marker it has not reached) may go: it
//!   never enters the offset map and loses its records.
//! - A COMMIT marker may go once no batch of its transaction is left; an ABORT marker too,
//!   and while batches of its transaction are left, its transaction-index entry stays.
//!   A marker that may go is first stamped with a delete horizon
//!   (`now + delete.retention.ms`), and goes in a pass at or after it, so that a consumer
//!   part-way through the log still sees it.
//! - Each active producer's last entry keeps its batch, emptied at most, for its
//!   sequence and epoch: its last data batch, or the marker after it when the marker carries a newer
//!   epoch (transactions V2 bump the epoch at each marker; Kafka clears the producer's
//!   batch metadata then).

use std::collections::{HashMap, HashSet, VecDeque};

use rafka_protocol::batch::{Batch, BatchError, BatchHeader, EndTxnMarker};

use crate::txn_index::AbortedTxn;

/// A transaction-index entry's identity: (producer id, ABORT marker offset).
pub(super) type AbortKey = (i64, i64);

/// The decisions of one pass, read while filtering.
#[derive(Debug, Default)]
pub(super) struct TxnDecisions {
    /// Base offset of each transactional data batch or control batch the cleaner may
    /// discard (aborted data; a marker whose transaction has no batch left).
    discardable: HashSet<i64>,
    /// The aborted transactions some batch of which is still in the log: their ABORT
    /// markers and index entries stay.
    retained_aborts: HashSet<AbortKey>,
    /// Producer id → the last offset of the batch that keeps its state.
    last_entry_of_producer: HashMap<i64, i64>,
}

impl TxnDecisions {
    /// Whether a transactional or control batch may lose its records.
    pub(super) fn discardable(&self, batch: &Batch<'_>) -> bool {
        (batch.is_transactional() || batch.is_control())
            && self.discardable.contains(&batch.base_offset())
    }

    /// Whether `batch` holds its producer's last entry and so stays, if only empty.
    pub(super) fn is_last_of_producer(&self, batch: &Batch<'_>) -> bool {
        batch.producer_id() >= 0
            && self.last_entry_of_producer.get(&batch.producer_id()) == Some(&batch.last_offset())
    }

    /// Whether a transaction-index entry stays.
    pub(super) fn keeps_abort(&self, txn: &AbortedTxn) -> bool {
        self.retained_aborts
            .contains(&(txn.producer_id, txn.last_offset))
    }
}

/// The newest data batch and marker seen of one producer.
#[derive(Debug, Default, Clone, Copy)]
struct ProducerLast {
    /// (last offset, epoch) of its last data batch.
    data: Option<(i64, i16)>,
    /// (offset, epoch) of its last marker.
    marker: Option<(i64, i16)>,
}

/// Kafka's `CleanedTransactionMetadata`: the aborted transactions in offset order, and
/// the transactions the pass is inside of.
#[derive(Debug)]
pub(super) struct TxnScan {
    /// Aborted transactions not reached yet, by first offset.
    aborted: VecDeque<AbortedTxn>,
    /// Producer id → its aborted transaction being passed through, and whether any batch
    /// of it was seen.
    ongoing_aborted: HashMap<i64, (AbortedTxn, bool)>,
    /// Producers inside a transaction that is not aborted, with a batch seen.
    ongoing_committed: HashSet<i64>,
    producers: HashMap<i64, ProducerLast>,
    /// Decisions are taken below this offset; beyond it only producers' last entries.
    decide_below: i64,
    decisions: TxnDecisions,
}

impl TxnScan {
    pub(super) fn new(mut aborted: Vec<AbortedTxn>, decide_below: i64) -> TxnScan {
        aborted.sort_by_key(|t| (t.first_offset, t.last_offset));
        aborted.dedup();
        TxnScan {
            aborted: aborted.into(),
            ongoing_aborted: HashMap::new(),
            ongoing_committed: HashSet::new(),
            producers: HashMap::new(),
            decide_below,
            decisions: TxnDecisions::default(),
        }
    }

    /// Whether `on_batch` needs the batch's records (a control batch being decided);
    /// otherwise its header is enough.
    pub(super) fn needs_records(&self, is_control: bool, base_offset: i64) -> bool {
        is_control && base_offset < self.decide_below
    }

    /// Takes one batch, in log order. `batch` carries the records of a control batch that
    /// [`TxnScan::needs_records`] asked for; for others the header fields are enough.
    pub(super) fn on_batch(
        &mut self,
        header: &BatchHeader,
        batch: Option<&Batch<'_>>,
    ) -> Result<(), BatchError> {
        if header.producer_id() >= 0 {
            let last = self.producers.entry(header.producer_id()).or_default();
            if header.is_control() {
                last.marker = Some((header.last_offset(), header.producer_epoch()));
            } else {
                last.data = Some((header.last_offset(), header.producer_epoch()));
            }
        }
        if header.base_offset() >= self.decide_below {
            return Ok(());
        }
        self.start_aborted_up_to(header.last_offset());
        let discardable = if header.is_control() {
            let marker = match batch.map(EndTxnMarker::of) {
                Some(Ok(marker)) => marker,
                Some(Err(e)) => return Err(e),
                None => None,
            };
            match (batch.map(Batch::records_count), marker) {
                // Emptied by an earlier pass: nothing to keep.
                (Some(0), _) => true,
                (_, Some(EndTxnMarker { commit: false, .. })) => {
                    match self.ongoing_aborted.remove(&header.producer_id()) {
                        Some((txn, true)) => {
                            self.decisions
                                .retained_aborts
                                .insert((txn.producer_id, txn.last_offset));
                            false
                        }
                        _ => true,
                    }
                }
                (_, Some(EndTxnMarker { commit: true, .. })) => {
                    !self.ongoing_committed.remove(&header.producer_id())
                }
                // Another control type: kept, as Kafka does.
                (_, None) => false,
            }
        } else if header.is_transactional() {
            match self.ongoing_aborted.get_mut(&header.producer_id()) {
                Some((_, seen)) => {
                    *seen = true;
                    true
                }
                None => {
                    self.ongoing_committed.insert(header.producer_id());
                    false
                }
            }
        } else {
            false
        };
        if discardable {
            self.decisions.discardable.insert(header.base_offset());
        }
        Ok(())
    }

    /// Kafka's `consumeAbortedTxnsUpTo`: the aborted transactions that have begun by
    /// `offset` become ongoing for their producers.
    fn start_aborted_up_to(&mut self, offset: i64) {
        while self
            .aborted
            .front()
            .is_some_and(|t| t.first_offset <= offset)
        {
            if let Some(txn) = self.aborted.pop_front() {
                self.ongoing_aborted
                    .entry(txn.producer_id)
                    .or_insert((txn, false));
            }
        }
    }

    /// The decisions; only producers for which `active` holds keep their last entry
    /// (Kafka: those its producer state still has, not yet expired).
    pub(super) fn finish(mut self, active: impl Fn(i64) -> bool) -> TxnDecisions {
        for (producer_id, last) in &self.producers {
            if !active(*producer_id) {
                continue;
            }
            let keep = match (last.data, last.marker) {
                (Some((_, data_epoch)), Some((offset, marker_epoch)))
                    if marker_epoch > data_epoch =>
                {
                    offset
                }
                (Some((offset, _)), _) => offset,
                (None, Some((offset, _))) => offset,
                (None, None) => continue,
            };
            self.decisions
                .last_entry_of_producer
                .insert(*producer_id, keep);
        }
        self.decisions
    }
}
