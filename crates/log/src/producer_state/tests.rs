//! Producer state: the sequence and epoch rules on their own, the snapshot format, and a
//! [`Log`] keeping the state through appends, restarts, truncation and replication.

use std::sync::Arc;

use proptest::prelude::*;
use rafka_protocol::batch::{BatchBuilder, BatchHeader, EndTxnMarker};
use rafka_types::{ManualClock, Offset, SharedClock};

use super::*;
use crate::{AbortedTxn, LeaderEpoch, Log, LogConfig, OpenOptions};

const T0: i64 = 1_700_000_000_000;

/// A batch of `records` records from producer `pid` at `epoch`, sequences from `seq`.
fn producer_batch(pid: i64, epoch: i16, seq: i32, records: usize) -> Vec<u8> {
    let mut builder = BatchBuilder::new(0).producer(pid, epoch, seq);
    for i in 0..records {
        builder.append(T0 + i as i64, Some(b"k"), Some(b"value"), &[]);
    }
    builder.build().unwrap()
}

fn header_batch(bytes: &[u8], first_offset: i64) -> ProducerBatch {
    ProducerBatch::of(&BatchHeader::parse(bytes).unwrap(), first_offset).unwrap()
}

/// Checks and applies one batch at `offset`, as a leader append does.
fn append(
    state: &mut ProducerStateManager,
    pid: i64,
    epoch: i16,
    seq: i32,
    records: usize,
    offset: i64,
) -> Result<Option<BatchMetadata>, LogError> {
    let batch = header_batch(&producer_batch(pid, epoch, seq, records), offset);
    match state.check(&[batch], Appender::Client, TxnVerification::NotRequired)? {
        Checked::Append(plan) => {
            state.apply(plan, batch.last_offset + 1);
            Ok(None)
        }
        Checked::Duplicate(original) => Ok(Some(original)),
    }
}

fn empty_state(dir: &Path) -> ProducerStateManager {
    ProducerStateManager::load(dir, 0, 0).unwrap()
}

#[test]
fn sequences_wrap_from_max_to_zero() {
    assert_eq!(increment_sequence(i32::MAX, 1), 0);
    assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    assert_eq!(increment_sequence(5, 3), 8);
    assert_eq!(decrement_sequence(1, 3), i32::MAX - 1);
    assert_eq!(decrement_sequence(8, 3), 5);
    assert!(in_sequence(i32::MAX, 0));
    assert!(in_sequence(4, 5));
    assert!(!in_sequence(4, 6));
    assert!(!in_sequence(4, 4));
}

#[test]
fn an_unknown_producer_may_start_anywhere_then_must_continue() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = empty_state(dir.path());
    // Kafka 4 accepts any sequence from a producer it has no state for (its state may
    // have expired or been removed with the log's start).
    assert!(matches!(append(&mut state, 7, 0, 40, 3, 0), Ok(None)));
    assert!(matches!(append(&mut state, 7, 0, 43, 2, 3), Ok(None)));
    let gap = append(&mut state, 7, 0, 46, 1, 5).unwrap_err();
    assert!(matches!(gap, LogError::OutOfOrderSequence(_)), "{gap:?}");
    assert!(
        gap.to_string()
            .contains("46 (incoming seq. number), 44 (current end sequence number)"),
        "{gap}"
    );
    let entry = state.producers()[&7];
    assert_eq!(
        (entry.producer_epoch, entry.last_seq(), entry.last_offset()),
        (0, 44, 4)
    );
}

#[test]
fn an_older_epoch_is_fenced_and_a_new_epoch_starts_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = empty_state(dir.path());
    append(&mut state, 1, 3, 0, 2, 0).unwrap();
    let old = append(&mut state, 1, 2, 2, 1, 2).unwrap_err();
    assert!(matches!(old, LogError::InvalidProducerEpoch(_)), "{old:?}");
    let not_zero = append(&mut state, 1, 4, 5, 1, 2).unwrap_err();
    assert!(
        matches!(not_zero, LogError::OutOfOrderSequence(_)),
        "{not_zero:?}"
    );
    assert!(matches!(append(&mut state, 1, 4, 0, 1, 2), Ok(None)));
    let entry = state.producers()[&1];
    assert_eq!(entry.producer_epoch, 4);
    assert_eq!(
        entry.batches().len(),
        1,
        "a new epoch forgets the old epoch's batches"
    );
}

#[test]
fn each_of_the_last_five_batches_is_a_duplicate_and_the_sixth_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = empty_state(dir.path());
    for i in 0..6 {
        append(&mut state, 9, 0, i * 2, 2, i64::from(i) * 2).unwrap();
    }
    for i in 1..6 {
        match append(&mut state, 9, 0, i * 2, 2, 100).unwrap() {
            Some(original) => {
                assert_eq!(original.first_offset(), i64::from(i) * 2);
                assert_eq!(original.last_offset, i64::from(i) * 2 + 1);
            }
            other => panic!("batch {i} should be a duplicate: {other:?}"),
        }
    }
    // The first batch fell out of the window: it is out of sequence now, as in Kafka.
    let gone = append(&mut state, 9, 0, 0, 2, 100).unwrap_err();
    assert!(matches!(gone, LogError::OutOfOrderSequence(_)));
    // The same range under another epoch is no duplicate.
    let other_epoch = append(&mut state, 9, 1, 10, 2, 12).unwrap_err();
    assert!(matches!(other_epoch, LogError::OutOfOrderSequence(_)));
}

#[test]
fn batches_of_one_append_are_checked_against_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = empty_state(dir.path());
    append(&mut state, 2, 0, 0, 1, 0).unwrap();
    let first = header_batch(&producer_batch(2, 0, 1, 2), 1);
    let gap = header_batch(&producer_batch(2, 0, 5, 1), 3);
    assert!(matches!(
        state.check(
            &[first, gap],
            Appender::Client,
            TxnVerification::NotRequired
        ),
        Err(LogError::OutOfOrderSequence(_))
    ));
    let next = header_batch(&producer_batch(2, 0, 3, 1), 3);
    let Checked::Append(plan) = state
        .check(
            &[first, next],
            Appender::Client,
            TxnVerification::NotRequired,
        )
        .unwrap()
    else {
        panic!("in sequence")
    };
    assert_eq!(plan.updates.len(), 1, "one entry per producer");
    assert_eq!(plan.updates[0].1.last_seq(), 3);
    assert_eq!(
        state.producers()[&2].last_seq(),
        0,
        "nothing applied before the write"
    );
}

#[test]
fn the_snapshot_has_kafkas_layout_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = empty_state(dir.path());
    append(&mut state, 5, 2, 10, 3, 100).unwrap();
    let bytes = encode_snapshot(state.producers());
    assert_eq!(bytes.len(), 6 + 4 + 46);
    assert_eq!(&bytes[0..2], &[0, 1], "version 1");
    assert_eq!(
        u32::from_be_bytes(bytes[2..6].try_into().unwrap()),
        crc32c::crc32c(&bytes[6..]),
        "CRC-32C of everything after it"
    );
    assert_eq!(&bytes[6..10], &1i32.to_be_bytes(), "one entry");
    let entry = &bytes[10..];
    assert_eq!(&entry[0..8], &5i64.to_be_bytes(), "producer id");
    assert_eq!(&entry[8..10], &2i16.to_be_bytes(), "epoch");
    assert_eq!(&entry[10..14], &12i32.to_be_bytes(), "last sequence");
    assert_eq!(&entry[14..22], &102i64.to_be_bytes(), "last offset");
    assert_eq!(&entry[22..26], &2i32.to_be_bytes(), "offset delta");
    assert_eq!(&entry[26..34], &(T0 + 2).to_be_bytes(), "timestamp");
    assert_eq!(&entry[34..38], &(-1i32).to_be_bytes(), "coordinator epoch");
    assert_eq!(
        &entry[38..46],
        &(-1i64).to_be_bytes(),
        "no open transaction"
    );
    let decoded = decode_snapshot(&bytes).unwrap();
    assert_eq!(decoded[&5].last_seq(), 12);
    assert_eq!(decoded[&5].batches()[0].first_seq(), 10);
    let mut corrupt = bytes.clone();
    corrupt[20] ^= 1;
    assert!(decode_snapshot(&corrupt).unwrap_err().contains("CRC"));
    assert!(decode_snapshot(&bytes[..8]).is_err());
}

#[test]
fn a_corrupt_latest_snapshot_is_deleted_and_the_one_before_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = empty_state(dir.path());
    append(&mut state, 5, 0, 0, 3, 0).unwrap();
    state.take_snapshot(Durability::Synced).unwrap();
    append(&mut state, 5, 0, 3, 3, 3).unwrap();
    state.take_snapshot(Durability::Synced).unwrap();
    std::fs::write(dir.path().join(snapshot_file_name(6)), b"torn").unwrap();
    let loaded = ProducerStateManager::load(dir.path(), 0, 6).unwrap();
    assert_eq!(loaded.map_end_offset(), 3);
    assert_eq!(loaded.producers()[&5].last_seq(), 2);
    assert!(!dir.path().join(snapshot_file_name(6)).exists());
}

// ---- The log keeping producer state ----

fn clock() -> Arc<ManualClock> {
    ManualClock::new(T0)
}

fn open_log(dir: &Path, clock: &Arc<ManualClock>, config: LogConfig, unclean: bool) -> Log {
    let shared: SharedClock = clock.clone();
    let options = OpenOptions {
        log_start_offset: None,
        recovery_point: unclean.then_some(Offset(0)),
    };
    Log::open(dir.to_path_buf(), config, shared, options).unwrap()
}

fn small_segments() -> LogConfig {
    LogConfig {
        segment_bytes: 400,
        ..LogConfig::default()
    }
}

#[test]
fn a_retried_batch_answers_the_original_offsets_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut log = open_log(dir.path(), &clock, LogConfig::default(), false);
    log.append_as_leader(&producer_batch(1, 0, 0, 3)).unwrap();
    let second = producer_batch(1, 0, 3, 2);
    let first_try = log.append_as_leader(&second).unwrap();
    assert_eq!(
        (first_try.first_offset, first_try.last_offset),
        (Offset(3), Offset(4))
    );
    assert!(!first_try.duplicate);
    let retry = log.append_as_leader(&second).unwrap();
    assert!(retry.duplicate);
    assert_eq!(
        (retry.first_offset, retry.last_offset),
        (Offset(3), Offset(4))
    );
    assert_eq!(
        retry.log_append_time_ms,
        T0 + 1,
        "Kafka answers the batch's timestamp"
    );
    assert_eq!(log.log_end_offset(), Offset(5), "nothing was appended");
    let gap = log
        .append_as_leader(&producer_batch(1, 0, 9, 1))
        .unwrap_err();
    assert!(matches!(gap, LogError::OutOfOrderSequence(_)));
    assert_eq!(log.log_end_offset(), Offset(5));
}

#[test]
fn producer_state_survives_clean_and_unclean_restarts() {
    for unclean in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let clock = clock();
        let mut log = open_log(dir.path(), &clock, small_segments(), false);
        let mut seq = 0;
        let mut last = Vec::new();
        for _ in 0..20 {
            last = producer_batch(4, 1, seq, 3);
            log.append_as_leader(&last).unwrap();
            seq += 3;
        }
        assert!(log.segment_count() > 3, "the test needs rolls");
        assert!(
            log.producer_snapshot_offsets().len() >= 3,
            "a snapshot per roll: {:?}",
            log.producer_snapshot_offsets()
        );
        if unclean {
            drop(log); // no close: no snapshot at the log end
        } else {
            log.close().unwrap();
            assert!(dir.path().join(snapshot_file_name(60)).exists());
        }
        let mut log = open_log(dir.path(), &clock, small_segments(), unclean);
        assert_eq!(log.producer_entries()[0].1.last_seq(), 59);
        let retry = log.append_as_leader(&last).unwrap();
        assert!(
            retry.duplicate,
            "the last batch is still known (unclean: {unclean})"
        );
        assert_eq!(retry.first_offset, Offset(57));
        log.append_as_leader(&producer_batch(4, 1, 60, 1)).unwrap();
        let gap = log
            .append_as_leader(&producer_batch(4, 1, 70, 1))
            .unwrap_err();
        assert!(matches!(gap, LogError::OutOfOrderSequence(_)));
    }
}

#[test]
fn truncation_rebuilds_the_state_of_the_kept_batches() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut log = open_log(dir.path(), &clock, small_segments(), false);
    let batches: Vec<Vec<u8>> = (0..12).map(|i| producer_batch(3, 0, i * 2, 2)).collect();
    for b in &batches {
        log.append_as_leader(b).unwrap();
    }
    log.truncate_to(Offset(10)).unwrap();
    assert_eq!(log.producer_entries()[0].1.last_seq(), 9);
    assert!(log.producer_snapshot_offsets().iter().all(|o| o.0 <= 10));
    // The truncated batch is new again, not a duplicate.
    let again = log.append_as_leader(&batches[5]).unwrap();
    assert!(!again.duplicate);
    assert_eq!(again.first_offset, Offset(10));
    log.truncate_fully_and_start_at(Offset(100)).unwrap();
    assert!(log.producer_entries().is_empty());
    assert!(log.producer_snapshot_offsets().is_empty());
    // Unknown again: any sequence goes.
    log.append_as_leader(&producer_batch(3, 0, 50, 1)).unwrap();
}

#[test]
fn a_follower_learns_the_state_from_replicated_batches() {
    let root = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut leader = open_log(&root.path().join("leader"), &clock, small_segments(), false);
    let mut follower = open_log(
        &root.path().join("follower"),
        &clock,
        small_segments(),
        false,
    );
    let last = producer_batch(8, 2, 30, 4);
    leader
        .append_as_leader(&producer_batch(8, 2, 26, 4))
        .unwrap();
    leader.append_as_leader(&last).unwrap();
    let everything = leader
        .read(Offset(0), u64::MAX, leader.log_end_offset(), true)
        .unwrap()
        .to_bytes()
        .unwrap();
    follower.append_as_follower(&everything).unwrap();
    assert_eq!(follower.producer_entries(), leader.producer_entries());
    // Promoted, the follower knows the retry.
    let retry = follower.append_as_leader(&last).unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.first_offset, Offset(4));
}

#[test]
fn idle_producers_expire_but_not_before_their_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut log = open_log(dir.path(), &clock, LogConfig::default(), false);
    log.append_as_leader(&producer_batch(1, 0, 0, 1)).unwrap();
    clock.advance_ms(1_000);
    assert_eq!(log.remove_expired_producers(2_000), 0);
    clock.advance_ms(1_000);
    assert_eq!(log.remove_expired_producers(2_000), 1);
    assert!(log.producer_entries().is_empty());
}

// A seeded simulation: producers send, retry and sometimes skip; the log restarts (clean
// or not) and truncates at random points. A model says what each append must answer.

#[derive(Debug, Clone)]
enum Step {
    /// Producer `p` sends its next batch of `n` records.
    Send {
        p: usize,
        n: usize,
    },
    /// Producer `p` resends one of its last `back` batches.
    Retry {
        p: usize,
        back: usize,
    },
    /// Producer `p` skips `gap` sequence numbers (a lost batch).
    Skip {
        p: usize,
        gap: i32,
    },
    Restart {
        clean: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..3usize, 1..4usize).prop_map(|(p, n)| Step::Send { p, n }),
        3 => (0..3usize, 0..7usize).prop_map(|(p, back)| Step::Retry { p, back }),
        1 => (0..3usize, 1..5i32).prop_map(|(p, gap)| Step::Skip { p, gap }),
        1 => any::<bool>().prop_map(|clean| Step::Restart { clean }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn appends_match_the_model_through_restarts(steps in proptest::collection::vec(step(), 1..60)) {
        let dir = tempfile::tempdir().unwrap();
        let clock = clock();
        let mut log = Some(open_log(dir.path(), &clock, small_segments(), false));
        // Per producer: next sequence, and every batch sent (first seq, records, offset).
        let mut next_seq = [0i32; 3];
        let mut sent: Vec<Vec<(i32, usize, i64)>> = vec![Vec::new(); 3];
        let mut known_since_restart = [0usize; 3];
        for step in steps {
            let current = log.as_mut().unwrap();
            match step {
                Step::Send { p, n } => {
                    let bytes = producer_batch(p as i64 + 100, 0, next_seq[p], n);
                    match current.append_as_leader(&bytes) {
                        Ok(info) => {
                            prop_assert!(!info.duplicate);
                            sent[p].push((next_seq[p], n, info.first_offset.0));
                            next_seq[p] = increment_sequence(next_seq[p], n as i32);
                            known_since_restart[p] += 1;
                        }
                        Err(LogError::OutOfOrderSequence(_)) => {
                            // Only after a skip: the producer re-syncs as the Java client
                            // would after a reset (new epoch would be needed; here we just
                            // resume at the log's next sequence).
                            let last = sent[p].last().map(|(s, n, _)| increment_sequence(*s, *n as i32 - 1));
                            prop_assert!(last.is_some_and(|l| !in_sequence(l, next_seq[p])));
                            next_seq[p] = increment_sequence(last.unwrap(), 1);
                        }
                        Err(e) => prop_assert!(false, "unexpected {e:?}"),
                    }
                }
                Step::Retry { p, back } => {
                    let Some(&(seq, n, offset)) = sent[p].iter().rev().nth(back) else { continue };
                    let bytes = producer_batch(p as i64 + 100, 0, seq, n);
                    let result = current.append_as_leader(&bytes);
                    // Within the window it is a duplicate answered with the original
                    // offset: at least the last batch after a restart (a snapshot keeps
                    // one per producer), plus those sent since, up to five.
                    let window = (known_since_restart[p] + 1).min(BATCHES_TO_RETAIN);
                    if back < window {
                        let info = result.unwrap();
                        prop_assert!(info.duplicate);
                        prop_assert_eq!(info.first_offset.0, offset);
                    } else {
                        prop_assert!(!matches!(result, Ok(ref info) if !info.duplicate),
                            "an old batch is never written twice: {:?}", result);
                    }
                }
                Step::Skip { p, gap } => next_seq[p] = increment_sequence(next_seq[p], gap),
                Step::Restart { clean } => {
                    let old = log.take().unwrap();
                    if clean { old.close().unwrap() } else { drop(old) }
                    log = Some(open_log(dir.path(), &clock, small_segments(), !clean));
                    known_since_restart = [0; 3];
                }
            }
        }
        // Whatever happened, the log holds each producer's batches once, in sequence.
        let log = log.unwrap();
        let bytes = log.read(Offset(0), u64::MAX, log.log_end_offset(), true).unwrap().to_bytes().unwrap();
        let mut seen: Vec<Vec<i32>> = vec![Vec::new(); 3];
        for batch in rafka_protocol::batch::batches(&bytes) {
            let batch = batch.unwrap();
            seen[(batch.producer_id() - 100) as usize].push(batch.base_sequence());
        }
        for p in 0..3 {
            let expected: Vec<i32> = sent[p].iter().map(|(s, _, _)| *s).collect();
            prop_assert_eq!(&seen[p], &expected);
        }
    }
}

// ---- Transactions: markers, the last stable offset, the transaction index ----

fn txn_batch(pid: i64, epoch: i16, seq: i32, records: usize) -> Vec<u8> {
    let mut builder = BatchBuilder::new(0)
        .producer(pid, epoch, seq)
        .transactional(true);
    for i in 0..records {
        builder.append(T0 + i as i64, Some(b"k"), Some(b"txn"), &[]);
    }
    builder.build().unwrap()
}

fn marker(log: &mut Log, pid: i64, epoch: i16, commit: bool) -> Result<Offset, LogError> {
    let marker = EndTxnMarker {
        commit,
        coordinator_epoch: 0,
    };
    log.append_end_txn_marker(pid, epoch, marker, None)
        .map(|info| info.first_offset)
}

#[test]
fn the_last_stable_offset_waits_for_open_transactions_and_replicated_markers() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut log = open_log(dir.path(), &clock, LogConfig::default(), false);
    log.append_as_leader(&producer_batch(1, 0, 0, 2)).unwrap(); // 0..=1, no txn
    log.append_as_leader(&txn_batch(2, 0, 0, 3)).unwrap(); // 2..=4, open
    log.append_as_leader(&txn_batch(3, 0, 0, 1)).unwrap(); // 5, open
    assert_eq!(log.last_stable_offset(Offset(6)), Offset(2));
    assert_eq!(
        log.ongoing_transactions(),
        vec![(Offset(2), 2), (Offset(5), 3)]
    );
    // Committed, but the marker (offset 6) is not below the high watermark yet.
    assert_eq!(marker(&mut log, 2, 0, true).unwrap(), Offset(6));
    assert_eq!(log.last_stable_offset(Offset(6)), Offset(2));
    assert_eq!(
        log.last_stable_offset(Offset(7)),
        Offset(5),
        "then producer 3's"
    );
    assert_eq!(marker(&mut log, 3, 0, false).unwrap(), Offset(7));
    assert_eq!(log.last_stable_offset(Offset(8)), Offset(8));
    assert!(log.ongoing_transactions().is_empty());
    // Only the abort is indexed; its last stable offset was the log end (none open).
    let aborted = log.aborted_transaction_index();
    assert_eq!(
        aborted,
        vec![AbortedTxn {
            producer_id: 3,
            first_offset: 5,
            last_offset: 7,
            last_stable_offset: 8
        }]
    );
    assert_eq!(log.aborted_transactions(Offset(0), Offset(8)), aborted);
    assert!(log.aborted_transactions(Offset(8), Offset(9)).is_empty());
    assert!(log.aborted_transactions(Offset(0), Offset(5)).is_empty());
    let index = dir.path().join("00000000000000000000.txnindex");
    assert_eq!(std::fs::read(index).unwrap().len(), 34);
}

#[test]
fn an_abort_records_the_first_other_open_transaction_as_its_stable_offset() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut log = open_log(dir.path(), &clock, LogConfig::default(), false);
    log.append_as_leader(&txn_batch(1, 0, 0, 2)).unwrap(); // 0..=1
    log.append_as_leader(&txn_batch(2, 0, 0, 2)).unwrap(); // 2..=3
    marker(&mut log, 2, 0, false).unwrap(); // 4
    assert_eq!(log.aborted_transaction_index()[0].last_stable_offset, 0);
    // A fetch bounded below 4 must still look further: the entry names producer 2.
    assert_eq!(log.aborted_transactions(Offset(0), Offset(3)).len(), 1);
}

#[test]
fn a_coordinator_writes_every_transaction_at_sequence_zero() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut log = open_log(dir.path(), &clock, LogConfig::default(), false);
    // The group coordinator's offsets of two transactions of producer 1, each a batch at
    // base sequence 0 as Kafka's coordinator writes them: both are written.
    let first = log
        .append_as_coordinator(&txn_batch(1, 0, 0, 2), None)
        .unwrap();
    assert_eq!(
        log.ongoing_transactions(),
        vec![(Offset(0), 1)],
        "the offsets' transaction is open"
    );
    marker(&mut log, 1, 0, true).unwrap();
    let second = log
        .append_as_coordinator(&txn_batch(1, 0, 0, 2), None)
        .unwrap();
    assert!(!first.duplicate && !second.duplicate);
    assert_eq!(
        (first.first_offset, second.first_offset),
        (Offset(0), Offset(3))
    );
    assert_eq!(log.log_end_offset(), Offset(5));
    // Epochs are still checked: a fenced producer's offsets are refused.
    marker(&mut log, 1, 1, false).unwrap();
    let fenced = log
        .append_as_coordinator(&txn_batch(1, 0, 0, 1), None)
        .unwrap_err();
    assert!(
        matches!(fenced, LogError::InvalidProducerEpoch(_)),
        "{fenced:?}"
    );
    // The same batch from a client is a retry of the last one: nothing is written.
    let retried = log.append_as_leader(&txn_batch(1, 1, 0, 1)).unwrap();
    let again = log.append_as_leader(&txn_batch(1, 1, 0, 1)).unwrap();
    assert!(!retried.duplicate && again.duplicate);
}

#[test]
fn transactional_rules_name_kafkas_errors() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut log = open_log(dir.path(), &clock, LogConfig::default(), false);
    log.append_as_leader(&txn_batch(1, 2, 0, 1)).unwrap();
    let plain = log
        .append_as_leader(&producer_batch(1, 2, 1, 1))
        .unwrap_err();
    assert!(matches!(plain, LogError::InvalidTxnState(_)), "{plain:?}");
    let stale = marker(&mut log, 1, 1, false).unwrap_err();
    assert!(
        matches!(stale, LogError::InvalidProducerEpoch(_)),
        "{stale:?}"
    );
    let newer = EndTxnMarker {
        commit: true,
        coordinator_epoch: 5,
    };
    log.append_end_txn_marker(1, 2, newer, None).unwrap();
    let zombie = EndTxnMarker {
        commit: false,
        coordinator_epoch: 4,
    };
    let fenced = log.append_end_txn_marker(1, 2, zombie, None).unwrap_err();
    assert!(
        matches!(fenced, LogError::CoordinatorFenced(_)),
        "{fenced:?}"
    );
    // A client may not write a marker itself.
    let forged = newer.batch(1, 2, T0);
    let refused = log.append_as_leader(&forged).unwrap_err();
    assert!(matches!(refused, LogError::InvalidRecord(_)), "{refused:?}");
    // After the commit a plain batch is fine again.
    log.append_as_leader(&producer_batch(1, 2, 1, 1)).unwrap();
}

#[test]
fn open_transactions_and_aborts_survive_restarts_truncation_and_replication() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("leader");
    let clock = clock();
    let mut log = open_log(&dir, &clock, LogConfig::default(), false);
    log.append_as_leader(&txn_batch(1, 0, 0, 2)).unwrap(); // 0..=1
    marker(&mut log, 1, 0, false).unwrap(); // 2
    log.append_as_leader(&txn_batch(1, 0, 2, 2)).unwrap(); // 3..=4, open
    log.close().unwrap();

    // Clean: the snapshot carries the open transaction.
    let mut log = open_log(&dir, &clock, LogConfig::default(), false);
    assert_eq!(log.last_stable_offset(Offset(5)), Offset(3));
    assert_eq!(log.aborted_transaction_index().len(), 1);
    drop(log);

    // Unclean, with the index and snapshots lost: both rebuilt by the replay.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".txnindex") || name.ends_with(".snapshot") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let mut log = open_log(&dir, &clock, LogConfig::default(), true);
    assert_eq!(log.last_stable_offset(Offset(5)), Offset(3));
    assert_eq!(
        log.aborted_transaction_index(),
        vec![AbortedTxn {
            producer_id: 1,
            first_offset: 0,
            last_offset: 2,
            last_stable_offset: 3
        }]
    );

    // A follower copying the leader learns the same.
    let mut follower = open_log(
        &root.path().join("follower"),
        &clock,
        LogConfig::default(),
        false,
    );
    let everything = log
        .read(Offset(0), u64::MAX, log.log_end_offset(), true)
        .unwrap()
        .to_bytes()
        .unwrap();
    follower.append_as_follower(&everything).unwrap();
    assert_eq!(
        follower.aborted_transaction_index(),
        log.aborted_transaction_index()
    );
    assert_eq!(follower.last_stable_offset(Offset(5)), Offset(3));

    // Truncating below the marker reopens the aborted transaction and drops its entry.
    log.truncate_to(Offset(2)).unwrap();
    assert!(log.aborted_transaction_index().is_empty());
    assert_eq!(log.ongoing_transactions(), vec![(Offset(0), 1)]);
    assert!(!dir.join("00000000000000000000.txnindex").exists());
}

#[test]
fn a_v2_marker_bumps_the_epoch_and_the_next_transaction_starts_at_sequence_zero() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut log = open_log(dir.path(), &clock, LogConfig::default(), false);
    log.append_as_leader(&txn_batch(1, 4, 0, 2)).unwrap(); // 0..=1, epoch 4
    log.append_as_leader(&txn_batch(1, 4, 2, 1)).unwrap(); // 2
    assert!(log.has_ongoing_transaction(1, 4));
    // Transactions V2: the coordinator writes the marker at the bumped epoch.
    assert_eq!(marker(&mut log, 1, 5, true).unwrap(), Offset(3));
    assert!(!log.has_ongoing_transaction(1, 4) && !log.has_ongoing_transaction(1, 5));
    assert!(log.ongoing_transactions().is_empty());
    assert_eq!(log.last_stable_offset(Offset(4)), Offset(4));
    // The next transaction at that epoch starts again at sequence 0 ...
    let next = log.append_as_leader(&txn_batch(1, 5, 0, 2)).unwrap();
    assert_eq!(next.first_offset, Offset(4));
    assert!(log.has_ongoing_transaction(1, 5));
    // ... and continues from there; a gap or the old epoch is refused.
    let gap = log.append_as_leader(&txn_batch(1, 5, 3, 1)).unwrap_err();
    assert!(matches!(gap, LogError::OutOfOrderSequence(_)), "{gap:?}");
    let stale = log.append_as_leader(&txn_batch(1, 4, 3, 1)).unwrap_err();
    assert!(
        matches!(stale, LogError::InvalidProducerEpoch(_)),
        "{stale:?}"
    );
    log.append_as_leader(&txn_batch(1, 5, 2, 1)).unwrap(); // 6
                                                           // An abort at the next bump is indexed from the transaction's first offset.
    assert_eq!(marker(&mut log, 1, 6, false).unwrap(), Offset(7));
    assert_eq!(
        log.aborted_transaction_index(),
        vec![AbortedTxn {
            producer_id: 1,
            first_offset: 4,
            last_offset: 7,
            last_stable_offset: 8
        }]
    );
    // Replayed after a restart, the state is the same: epoch 6, sequence 0 next.
    drop(log);
    let mut log = open_log(dir.path(), &clock, LogConfig::default(), true);
    let again = log.append_as_leader(&txn_batch(1, 6, 0, 1)).unwrap();
    assert_eq!(again.first_offset, Offset(8));
}

#[test]
fn a_verified_transaction_starts_only_with_its_guard_and_a_marker_voids_it() {
    use crate::{TxnVerification, VerificationGuard};
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut log = open_log(dir.path(), &clock, LogConfig::default(), false);
    let epoch = LeaderEpoch(0);
    let refused = |e: LogError| matches!(e, LogError::InvalidTxnState(m) if m == "Record was not part of an ongoing transaction");

    // Without a verification a transaction cannot start.
    let unverified = client_append(
        &mut log,
        &txn_batch(7, 0, 0, 1),
        epoch,
        TxnVerification::Guard(None),
    );
    assert!(refused(unverified.unwrap_err()));

    // Verified: the guard lets the first batch in; the open transaction needs none after.
    let guard = log
        .start_transaction_verification(7, 0)
        .expect("no transaction open");
    assert_eq!(
        log.start_transaction_verification(7, 0),
        Some(guard),
        "one verification at a time"
    );
    client_append(
        &mut log,
        &txn_batch(7, 0, 0, 1),
        epoch,
        TxnVerification::Guard(Some(guard)),
    )
    .unwrap();
    assert_eq!(
        log.start_transaction_verification(7, 0),
        None,
        "open: nothing to verify"
    );
    client_append(
        &mut log,
        &txn_batch(7, 0, 1, 1),
        epoch,
        TxnVerification::Guard(None),
    )
    .unwrap();
    marker(&mut log, 7, 0, true).unwrap();

    // The ABA case: verified, then a marker ends the transaction before the batch lands.
    let stale = log.start_transaction_verification(7, 0).unwrap();
    assert_ne!(stale, guard);
    marker(&mut log, 7, 0, false).unwrap();
    let late = client_append(
        &mut log,
        &txn_batch(7, 0, 2, 1),
        epoch,
        TxnVerification::Guard(Some(stale)),
    );
    assert!(refused(late.unwrap_err()));
    // A fresh verification's guard works; a guard from another verification does not.
    let fresh = log.start_transaction_verification(7, 0).unwrap();
    assert_ne!(fresh, stale);
    let other: Option<VerificationGuard> = Some(stale);
    assert!(refused(
        client_append(
            &mut log,
            &txn_batch(7, 0, 2, 1),
            epoch,
            TxnVerification::Guard(other)
        )
        .unwrap_err()
    ));
    client_append(
        &mut log,
        &txn_batch(7, 0, 2, 1),
        epoch,
        TxnVerification::Guard(Some(fresh)),
    )
    .unwrap();

    // With verification off nothing is asked.
    client_append(
        &mut log,
        &txn_batch(8, 0, 0, 1),
        epoch,
        TxnVerification::NotRequired,
    )
    .unwrap();
}

#[test]
fn a_verification_never_followed_by_a_batch_expires_with_the_idle_producers() {
    use crate::TxnVerification;
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut log = open_log(dir.path(), &clock, LogConfig::default(), false);
    let guard = log.start_transaction_verification(9, 0).unwrap();
    clock.advance_ms(1_000);
    log.remove_expired_producers(1_000);
    let late = client_append(
        &mut log,
        &txn_batch(9, 0, 0, 1),
        LeaderEpoch(0),
        TxnVerification::Guard(Some(guard)),
    );
    assert!(matches!(late, Err(LogError::InvalidTxnState(_))));
}

/// A producer's batch through the leader's verified append.
fn client_append(
    log: &mut Log,
    records: &[u8],
    epoch: LeaderEpoch,
    verification: crate::TxnVerification,
) -> Result<crate::AppendInfo, LogError> {
    log.append_verified(records, epoch, Appender::Client, verification)
}
