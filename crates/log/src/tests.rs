//! Tests of [`Log`] through its public API, on real files in temporary directories.
//! Time is a `ManualClock`: nothing here sleeps.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use rafka_protocol::batch::{batches, BatchBuilder, BatchMut, TimestampType};
use rafka_types::{LeaderEpoch, ManualClock, Offset};

use super::*;

const T0: i64 = 1_700_000_000_000;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A producer batch (base offset 0) of `records` records of `value_bytes` bytes, all
/// stamped `timestamp`.
fn batch(records: usize, timestamp: i64, value_bytes: usize) -> Vec<u8> {
    let timestamps = vec![timestamp; records];
    batch_with_timestamps(&timestamps, value_bytes)
}

fn batch_with_timestamps(timestamps: &[i64], value_bytes: usize) -> Vec<u8> {
    let mut builder = BatchBuilder::new(0);
    for (i, timestamp) in timestamps.iter().enumerate() {
        let value = vec![(i % 251) as u8; value_bytes];
        builder.append(*timestamp, Some(b"key"), Some(&value), &[]);
    }
    builder.build().unwrap()
}

/// `bytes` as the log stores it: base offset assigned.
fn at_offset(bytes: &[u8], base_offset: i64) -> Vec<u8> {
    let mut out = bytes.to_vec();
    BatchMut::new(&mut out)
        .unwrap()
        .set_base_offset(base_offset);
    out
}

fn small_config() -> LogConfig {
    LogConfig {
        segment_bytes: 1_000,
        index_interval_bytes: 200,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, config: LogConfig, clock: &Arc<ManualClock>, options: OpenOptions) -> Log {
    let clock: SharedClock = clock.clone();
    Log::open(dir.to_path_buf(), config, clock, options).unwrap()
}

fn read_everything(log: &Log) -> Vec<u8> {
    log.read(log.log_start_offset(), u64::MAX, log.log_end_offset(), true)
        .unwrap()
        .to_bytes()
        .unwrap()
        .to_vec()
}

fn base_offsets(bytes: &[u8]) -> Vec<i64> {
    batches(bytes).map(|b| b.unwrap().base_offset()).collect()
}

fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(suffix))
        .collect();
    names.sort();
    names
}

/// Appends `count` batches of `records` records; returns the bytes as stored.
fn append_batches(log: &mut Log, count: usize, records: usize, timestamp: i64) -> Vec<u8> {
    let mut stored = Vec::new();
    for _ in 0..count {
        let bytes = batch(records, timestamp, 40);
        let info = log.append_as_leader(&bytes).unwrap();
        stored.extend_from_slice(&at_offset(&bytes, info.first_offset.0));
    }
    stored
}

#[test]
fn log_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Log>();
    assert_send_sync::<parking_lot::Mutex<Log>>();
}

#[test]
fn a_log_moved_to_another_dir_keeps_its_data_and_goes_on_there() {
    let root = tempfile::tempdir().unwrap();
    let (from, to) = (root.path().join("a/t-0"), root.path().join("b/t-0"));
    std::fs::create_dir_all(root.path().join("b")).unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let mut log = open(&from, small_config(), &clock, OpenOptions::default());
    let mut stored = append_batches(&mut log, 12, 3, T0);
    log.move_to(to.clone()).unwrap();
    assert_eq!(log.dir(), to.as_path());
    assert!(!from.exists(), "the old directory is gone");
    assert_eq!(read_everything(&log), stored);
    // Appends go on from the same offset, into the new directory.
    stored.extend(append_batches(&mut log, 2, 3, T0));
    assert_eq!(log.log_end_offset(), Offset(42));
    log.close().unwrap();
    let reopened = open(&to, small_config(), &clock, OpenOptions::default());
    assert_eq!(read_everything(&reopened), stored);
    // A move onto an existing directory is refused and leaves the log where it was.
    let mut other = open(&from, small_config(), &clock, OpenOptions::default());
    assert!(other.move_to(to.clone()).is_err());
    assert_eq!(other.dir(), from.as_path());
    assert!(other.append_as_leader(&batch(1, T0, 10)).is_ok());
}

#[test]
fn appends_assign_consecutive_offsets_and_read_back_across_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    assert_eq!(log.log_end_offset(), Offset(0));
    let mut stored = Vec::new();
    for i in 0..30 {
        let bytes = batch(1 + i % 4, T0, 60);
        let info = log.append_as_leader(&bytes).unwrap();
        assert_eq!(
            info.first_offset,
            Offset(base_offsets(&stored).len() as i64).max(info.first_offset)
        );
        assert_eq!(info.record_count, (1 + i % 4) as u64);
        assert_eq!(
            info.last_offset.0 - info.first_offset.0 + 1,
            info.record_count as i64
        );
        assert_eq!(info.log_append_time_ms, -1);
        stored.extend_from_slice(&at_offset(&bytes, info.first_offset.0));
    }
    let expected_end: i64 = (0..30).map(|i| 1 + i % 4).sum();
    assert_eq!(log.log_end_offset(), Offset(expected_end));
    assert!(log.segment_count() > 5, "segments: {}", log.segment_count());
    assert_eq!(log.size_bytes(), stored.len() as u64);
    assert_eq!(read_everything(&log), stored);
    // Every segment respects segment.bytes.
    for name in files_with_suffix(dir.path(), ".log") {
        let len = std::fs::metadata(dir.path().join(&name)).unwrap().len();
        assert!(len <= 1_000, "{name} is {len} bytes");
    }
    assert_eq!(
        files_with_suffix(dir.path(), ".log").len(),
        log.segment_count()
    );
}

#[test]
fn read_from_the_middle_of_a_batch_returns_the_whole_containing_batch() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    let stored = append_batches(&mut log, 10, 5, T0);
    let all: Vec<Vec<u8>> = batches(&stored)
        .map(|b| b.unwrap().as_bytes().to_vec())
        .collect();
    for offset in 0..50 {
        let result = log
            .read(Offset(offset), 1, log.log_end_offset(), true)
            .unwrap();
        let bytes = result.to_bytes().unwrap();
        assert_eq!(&bytes[..], &all[offset as usize / 5][..], "offset {offset}");
        assert_eq!(result.first_offset, Offset(offset / 5 * 5));
        assert_eq!(result.next_offset, Offset(offset / 5 * 5 + 5));
    }
}

#[test]
fn read_stops_before_the_upper_bound_and_max_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    let stored = append_batches(&mut log, 10, 2, T0);
    let batch_bytes = (stored.len() / 10) as u64;

    // Upper bound 7 is inside batch 6..=7: batches with base < 7 are returned.
    let result = log.read(Offset(0), u64::MAX, Offset(7), false).unwrap();
    assert_eq!(base_offsets(&result.to_bytes().unwrap()), vec![0, 2, 4, 6]);
    let result = log.read(Offset(0), u64::MAX, Offset(6), false).unwrap();
    assert_eq!(base_offsets(&result.to_bytes().unwrap()), vec![0, 2, 4]);
    assert_eq!(result.next_offset, Offset(6));
    // At or beyond the upper bound: nothing.
    assert!(log
        .read(Offset(6), u64::MAX, Offset(6), true)
        .unwrap()
        .is_empty());

    // max_bytes: whole batches only, never more than asked.
    let result = log
        .read(
            Offset(2),
            batch_bytes * 3 + batch_bytes / 2,
            Offset(20),
            false,
        )
        .unwrap();
    assert_eq!(base_offsets(&result.to_bytes().unwrap()), vec![2, 4, 6]);
    assert_eq!(result.size_bytes, batch_bytes * 3);
    // Exactly fitting.
    let result = log
        .read(Offset(2), batch_bytes * 2, Offset(20), false)
        .unwrap();
    assert_eq!(base_offsets(&result.to_bytes().unwrap()), vec![2, 4]);
}

#[test]
fn min_one_batch_returns_a_first_batch_larger_than_max_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(
        dir.path(),
        LogConfig::default(),
        &clock,
        OpenOptions::default(),
    );
    let big = batch(3, T0, 500);
    log.append_as_leader(&big).unwrap();
    log.append_as_leader(&batch(1, T0, 10)).unwrap();

    let without = log.read(Offset(0), 100, Offset(100), false).unwrap();
    assert!(without.is_empty());
    assert_eq!(without.next_offset, Offset(0));
    let with = log.read(Offset(1), 100, Offset(100), true).unwrap();
    assert_eq!(with.to_bytes().unwrap().to_vec(), at_offset(&big, 0));
    assert_eq!(with.next_offset, Offset(3));
}

#[test]
fn reads_outside_the_log_are_out_of_range_and_the_end_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    append_batches(&mut log, 4, 2, T0);
    log.delete_records_before(Offset(2)).unwrap();

    let end = log.log_end_offset();
    assert!(log.read(end, 1_000, end, true).unwrap().is_empty());
    match log.read(Offset(9), 1_000, Offset(100), true) {
        Err(LogError::OffsetOutOfRange {
            requested,
            log_start,
            log_end,
        }) => {
            assert_eq!(
                (requested, log_start, log_end),
                (Offset(9), Offset(2), Offset(8))
            );
        }
        other => panic!("expected OffsetOutOfRange, got {other:?}"),
    }
    assert!(matches!(
        log.read(Offset(1), 1_000, Offset(100), true),
        Err(LogError::OffsetOutOfRange {
            requested: Offset(1),
            ..
        })
    ));
    assert!(!log
        .read(Offset(2), 1_000, Offset(100), true)
        .unwrap()
        .is_empty());
}

#[test]
fn a_batch_with_a_bad_crc_fails_the_whole_append_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    let stored = append_batches(&mut log, 2, 2, T0);
    let mut records = batch(2, T0, 40);
    let mut corrupt = batch(2, T0, 40);
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x01;
    records.extend_from_slice(&corrupt);
    assert!(matches!(
        log.append_as_leader(&records),
        Err(LogError::CorruptRecord(_))
    ));
    // A torn batch (length says more than there is) is corrupt too.
    let whole = batch(2, T0, 40);
    assert!(matches!(
        log.append_as_leader(&whole[..whole.len() - 3]),
        Err(LogError::CorruptRecord(_))
    ));
    assert!(matches!(
        log.append_as_leader(&[]),
        Err(LogError::InvalidRecord(_))
    ));
    assert_eq!(log.log_end_offset(), Offset(4));
    assert_eq!(read_everything(&log), stored);
    assert_eq!(log.size_bytes(), stored.len() as u64);
}

#[test]
fn batches_over_max_message_bytes_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        max_message_bytes: 300,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    let big = batch(1, T0, 400);
    match log.append_as_leader(&big) {
        Err(LogError::RecordTooLarge { size, max }) => {
            assert_eq!(size, big.len());
            assert_eq!(max, 300);
        }
        other => panic!("expected RecordTooLarge, got {other:?}"),
    }
    assert_eq!(log.log_end_offset(), Offset(0));
    log.append_as_leader(&batch(1, T0, 100)).unwrap();
}

#[test]
fn log_append_time_overwrites_the_batch_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        message_timestamp_type: TimestampType::LogAppendTime,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    clock.set_ms(T0 + 5_000);
    let info = log.append_as_leader(&batch(3, 42, 10)).unwrap();
    assert_eq!(info.log_append_time_ms, T0 + 5_000);
    let bytes = read_everything(&log);
    let stored = Batch::new(&bytes).unwrap();
    assert_eq!(stored.timestamp_type(), TimestampType::LogAppendTime);
    assert_eq!(stored.max_timestamp(), T0 + 5_000);
    assert_eq!(stored.verify_crc(), Ok(()));
    assert_eq!(
        log.offset_for_timestamp(T0).unwrap(),
        Some((Offset(0), T0 + 5_000))
    );
}

#[test]
fn leader_epoch_is_stamped_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(
        dir.path(),
        LogConfig::default(),
        &clock,
        OpenOptions::default(),
    );
    log.append_as_leader_with_epoch(&batch(1, T0, 10), LeaderEpoch(7))
        .unwrap();
    let bytes = read_everything(&log);
    let stored = Batch::new(&bytes).unwrap();
    assert_eq!(stored.partition_leader_epoch(), 7);
    assert_eq!(stored.verify_crc(), Ok(()));
}

#[test]
fn the_active_segment_rolls_once_older_than_segment_ms() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        segment_ms: 60_000,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    log.append_as_leader(&batch(1, T0, 10)).unwrap();
    clock.advance_ms(60_000);
    log.append_as_leader(&batch(1, T0 + 60_000, 10)).unwrap();
    assert_eq!(
        log.segment_count(),
        1,
        "exactly segment.ms old does not roll"
    );
    clock.advance_ms(1);
    log.append_as_leader(&batch(1, T0 + 60_001, 10)).unwrap();
    assert_eq!(log.segment_base_offsets(), vec![Offset(0), Offset(2)]);

    // Without appends, maybe_roll_by_time does it.
    assert!(!log.maybe_roll_by_time().unwrap());
    clock.advance_ms(60_000);
    assert!(!log.maybe_roll_by_time().unwrap());
    clock.advance_ms(1);
    assert!(log.maybe_roll_by_time().unwrap());
    assert_eq!(
        log.segment_base_offsets(),
        vec![Offset(0), Offset(2), Offset(3)]
    );
    assert!(
        !log.maybe_roll_by_time().unwrap(),
        "an empty segment does not roll"
    );
    assert_eq!(log.log_end_offset(), Offset(3));
}

#[test]
fn segment_ms_counts_from_the_first_batch_timestamp_to_the_appended_one() {
    // Kafka's KIP-33 roll: record time, not the clock, once the segment has a timestamp.
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        segment_ms: 60_000,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    let old = T0 - 365 * 24 * 60 * 60 * 1000;
    log.append_as_leader(&batch(1, old, 10)).unwrap();
    log.append_as_leader(&batch(1, old + 60_000, 10)).unwrap();
    assert_eq!(
        log.segment_count(),
        1,
        "old records replayed now do not roll at every append"
    );
    log.append_as_leader(&batch(1, old + 60_001, 10)).unwrap();
    assert_eq!(
        log.segment_base_offsets(),
        vec![Offset(0), Offset(2)],
        "a batch stamped segment.ms after the first one rolls"
    );
    log.append_as_leader(&batch(1, T0, 10)).unwrap();
    log.append_as_leader(&batch(1, old, 10)).unwrap();
    assert_eq!(
        log.segment_base_offsets(),
        vec![Offset(0), Offset(2), Offset(3)],
        "an older batch after a newer first one does not roll"
    );
}

#[test]
fn a_full_offset_index_rolls_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        segment_index_bytes: 24, // three offset-index entries, two time-index entries
        index_interval_bytes: 1,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    let stored = append_batches(&mut log, 12, 1, T0);
    assert!(
        log.segment_count() >= 3,
        "segments: {}",
        log.segment_count()
    );
    assert_eq!(read_everything(&log), stored);
}

#[test]
fn time_retention_deletes_expired_segments_and_keeps_the_log_end() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        retention_ms: DAY_MS,
        ..small_config()
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    append_batches(&mut log, 24, 2, T0);
    let old_segments = log.segment_count();
    assert!(old_segments > 2);
    clock.advance_ms(DAY_MS / 2);
    let recent = append_batches(&mut log, 24, 2, T0 + DAY_MS / 2);
    let before = files_with_suffix(dir.path(), ".log");

    clock.advance_ms(DAY_MS / 2 + 1);
    let result = log.enforce_retention().unwrap();
    // Segments holding only T0 data are gone; the one mixing T0 and later data stays.
    assert!(result.deleted_segments >= old_segments - 1, "{result:?}");
    assert!(result.deleted_segments < before.len());
    assert_eq!(result.log_start_offset, log.log_start_offset());
    assert!(log.log_start_offset() > Offset(0));
    assert!(log.log_start_offset() <= Offset(48));
    let after = files_with_suffix(dir.path(), ".log");
    assert_eq!(after.len(), before.len() - result.deleted_segments);
    assert!(!after.contains(&"00000000000000000000.log".to_string()));
    assert!(files_with_suffix(dir.path(), ".index").len() == after.len());
    // The recent data is all still readable.
    let tail = log
        .read(Offset(48), u64::MAX, log.log_end_offset(), true)
        .unwrap();
    assert_eq!(tail.to_bytes().unwrap().to_vec(), recent);

    // Everything expired: a new empty segment keeps the log end offset.
    clock.advance_ms(DAY_MS);
    let result = log.enforce_retention().unwrap();
    assert!(result.deleted_segments > 0);
    assert_eq!(log.log_end_offset(), Offset(96));
    assert_eq!(log.log_start_offset(), Offset(96));
    assert_eq!(log.segment_base_offsets(), vec![Offset(96)]);
    assert_eq!(log.size_bytes(), 0);
    assert_eq!(
        files_with_suffix(dir.path(), ".log"),
        vec!["00000000000000000096.log"]
    );
    let info = log
        .append_as_leader(&batch(1, T0 + 3 * DAY_MS, 10))
        .unwrap();
    assert_eq!(info.first_offset, Offset(96));
}

#[test]
fn size_retention_deletes_oldest_segments_down_to_retention_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        retention_bytes: 2_500,
        retention_ms: -1,
        ..small_config()
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    append_batches(&mut log, 40, 2, T0);
    let size_before = log.size_bytes();
    assert!(size_before > 5_000);
    let result = log.enforce_retention().unwrap();
    assert!(result.deleted_segments > 0);
    assert_eq!(log.size_bytes(), size_before - result.deleted_bytes);
    assert!(
        log.size_bytes() >= 2_500 - 1_000,
        "size {}",
        log.size_bytes()
    );
    assert!(
        log.size_bytes() < 2_500 + 1_000,
        "size {}",
        log.size_bytes()
    );
    assert_eq!(log.log_start_offset(), log.segment_base_offsets()[0]);
    assert_eq!(
        files_with_suffix(dir.path(), ".log").len(),
        log.segment_count()
    );
    // Idempotent once under the limit.
    assert_eq!(log.enforce_retention().unwrap().deleted_segments, 0);
}

#[test]
fn retention_never_deletes_at_or_above_the_high_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        retention_bytes: 0,
        ..small_config()
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    append_batches(&mut log, 20, 2, T0);
    let bases = log.segment_base_offsets();
    let result = log.enforce_retention_up_to(bases[2]).unwrap();
    assert_eq!(result.deleted_segments, 2);
    assert_eq!(log.log_start_offset(), bases[2]);
}

#[test]
fn delete_records_moves_the_log_start_and_drops_whole_segments_below_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    append_batches(&mut log, 20, 2, T0);
    let bases = log.segment_base_offsets();
    let target = Offset(bases[2].0 + 1);
    assert_eq!(log.delete_records_before(target).unwrap(), target);
    assert_eq!(log.log_start_offset(), target);
    assert_eq!(log.segment_base_offsets()[0], bases[2]);
    assert!(!dir
        .path()
        .join(segment_file_name(bases[0].0, LOG_SUFFIX))
        .exists());
    // Reading at the new start returns its containing batch; below it is out of range.
    let result = log.read(target, u64::MAX, Offset(100), true).unwrap();
    assert!(result.first_offset <= target);
    assert!(log
        .read(Offset(target.0 - 1), 10, Offset(100), true)
        .is_err());
    // Never backwards; beyond the end is out of range.
    assert_eq!(log.delete_records_before(Offset(1)).unwrap(), target);
    assert!(matches!(
        log.delete_records_before(Offset(41)),
        Err(LogError::OffsetOutOfRange { .. })
    ));
    // Up to the end: the log is empty but keeps its end offset.
    assert_eq!(log.delete_records_before(Offset(40)).unwrap(), Offset(40));
    assert_eq!(log.log_end_offset(), Offset(40));
    assert!(log
        .read(Offset(40), 100, Offset(40), true)
        .unwrap()
        .is_empty());
}

#[test]
fn offset_for_timestamp_finds_the_exact_first_record_at_or_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    // Ten batches of five records, record i stamped T0 + 10 * i.
    for b in 0..10i64 {
        let timestamps: Vec<i64> = (0..5).map(|r| T0 + 10 * (b * 5 + r)).collect();
        log.append_as_leader(&batch_with_timestamps(&timestamps, 30))
            .unwrap();
    }
    assert!(log.segment_count() > 2);
    for i in 0..50i64 {
        assert_eq!(
            log.offset_for_timestamp(T0 + 10 * i).unwrap(),
            Some((Offset(i), T0 + 10 * i)),
            "exact timestamp of record {i}"
        );
        assert_eq!(
            log.offset_for_timestamp(T0 + 10 * i - 3).unwrap(),
            Some((Offset(i), T0 + 10 * i)),
            "just before record {i}"
        );
    }
    assert_eq!(
        log.offset_for_timestamp(T0 - 1_000).unwrap(),
        Some((Offset(0), T0))
    );
    assert_eq!(log.offset_for_timestamp(T0 + 10 * 50).unwrap(), None);
    assert_eq!(
        log.max_timestamp_offset().unwrap(),
        Some((Offset(49), T0 + 490))
    );

    // Out-of-order timestamps inside a batch: the earliest offset with ts ≥ target wins.
    log.append_as_leader(&batch_with_timestamps(&[T0 + 900, T0 + 700, T0 + 800], 10))
        .unwrap();
    assert_eq!(
        log.offset_for_timestamp(T0 + 650).unwrap(),
        Some((Offset(50), T0 + 900))
    );
    assert_eq!(log.offset_for_timestamp(T0 + 901).unwrap(), None);
    assert_eq!(
        log.max_timestamp_offset().unwrap(),
        Some((Offset(50), T0 + 900))
    );

    // Records below the log start offset are not answers.
    log.delete_records_before(Offset(7)).unwrap();
    assert_eq!(
        log.offset_for_timestamp(T0).unwrap(),
        Some((Offset(7), T0 + 70))
    );

    // The same answers after a clean reopen (indexes from disk).
    drop(log);
    let log = open(
        dir.path(),
        small_config(),
        &clock,
        OpenOptions {
            log_start_offset: Some(Offset(7)),
            recovery_point: None,
        },
    );
    assert_eq!(
        log.offset_for_timestamp(T0 + 333).unwrap(),
        Some((Offset(34), T0 + 340))
    );
    assert_eq!(
        log.max_timestamp_offset().unwrap(),
        Some((Offset(50), T0 + 900))
    );
}

#[test]
fn empty_log_has_no_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let log = open(
        dir.path(),
        LogConfig::default(),
        &clock,
        OpenOptions::default(),
    );
    assert_eq!(log.offset_for_timestamp(0).unwrap(), None);
    assert_eq!(log.max_timestamp_offset().unwrap(), None);
}

#[test]
fn unclean_recovery_truncates_a_torn_tail_and_appends_continue_there() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    let stored = append_batches(&mut log, 12, 3, T0);
    let end = log.log_end_offset();
    let active = dir.path().join(segment_file_name(
        log.segment_base_offsets().last().unwrap().0,
        LOG_SUFFIX,
    ));
    drop(log);

    // Half a batch, as a crash mid-write leaves it.
    let half = at_offset(&batch(3, T0, 40), end.0);
    let mut bytes = std::fs::read(&active).unwrap();
    bytes.extend_from_slice(&half[..half.len() / 2]);
    std::fs::write(&active, &bytes).unwrap();

    let mut log = open(
        dir.path(),
        small_config(),
        &clock,
        OpenOptions {
            log_start_offset: None,
            recovery_point: Some(Offset(0)),
        },
    );
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(log.recovery_point(), end);
    assert_eq!(read_everything(&log), stored);
    let info = log.append_as_leader(&batch(1, T0, 10)).unwrap();
    assert_eq!(info.first_offset, end);
    assert_eq!(base_offsets(&read_everything(&log)).last(), Some(&end.0));
}

#[test]
fn unclean_recovery_cuts_garbage_in_a_middle_segment_and_drops_later_segments() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    append_batches(&mut log, 20, 2, T0);
    let bases = log.segment_base_offsets();
    assert!(bases.len() >= 4);
    drop(log);
    // Corrupt the last batch of the second segment (flip a byte inside its records).
    let second = dir.path().join(segment_file_name(bases[1].0, LOG_SUFFIX));
    let mut bytes = std::fs::read(&second).unwrap();
    let last = bytes.len() - 5;
    bytes[last] ^= 0xff;
    std::fs::write(&second, &bytes).unwrap();

    let log = open(
        dir.path(),
        small_config(),
        &clock,
        OpenOptions {
            log_start_offset: None,
            recovery_point: Some(bases[1]),
        },
    );
    assert_eq!(log.segment_base_offsets(), bases[..2].to_vec());
    let all = read_everything(&log);
    let offsets = base_offsets(&all);
    assert_eq!(offsets.first(), Some(&0));
    // The corrupt batch (last of segment 2) and everything after it are gone.
    assert_eq!(log.log_end_offset(), Offset(bases[2].0 - 2));
    assert_eq!(*offsets.last().unwrap() + 2, log.log_end_offset().0);
    assert_eq!(files_with_suffix(dir.path(), ".log").len(), 2);
    assert_eq!(files_with_suffix(dir.path(), ".timeindex").len(), 2);
}

#[test]
fn garbage_after_the_last_batch_is_cut_on_unclean_open() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(
        dir.path(),
        LogConfig::default(),
        &clock,
        OpenOptions::default(),
    );
    let stored = append_batches(&mut log, 5, 2, T0);
    drop(log);
    let path = dir.path().join(segment_file_name(0, LOG_SUFFIX));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0xab; 100]);
    std::fs::write(&path, &bytes).unwrap();
    let log = open(
        dir.path(),
        LogConfig::default(),
        &clock,
        OpenOptions {
            log_start_offset: None,
            recovery_point: Some(Offset(10)),
        },
    );
    assert_eq!(log.log_end_offset(), Offset(10));
    assert_eq!(read_everything(&log), stored);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), stored.len() as u64);
}

#[test]
fn missing_and_corrupt_indexes_are_rebuilt_on_a_clean_open() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    let stored = append_batches(&mut log, 30, 2, T0);
    let bases = log.segment_base_offsets();
    let end = log.log_end_offset();
    log.close().unwrap();

    let index = |base: Offset, suffix: &str| dir.path().join(segment_file_name(base.0, suffix));
    let original_index = std::fs::read(index(bases[0], INDEX_SUFFIX)).unwrap();
    assert!(!original_index.is_empty(), "the test needs index entries");
    std::fs::remove_file(index(bases[0], INDEX_SUFFIX)).unwrap();
    std::fs::write(index(bases[1], INDEX_SUFFIX), [1, 2, 3]).unwrap();
    std::fs::write(index(bases[2], TIME_INDEX_SUFFIX), [0; 7]).unwrap();
    // An index pointing at a position that is not a batch start.
    let mut shifted = std::fs::read(index(bases[3], INDEX_SUFFIX)).unwrap();
    assert!(shifted.len() >= 8);
    shifted[7] = shifted[7].wrapping_add(1);
    std::fs::write(index(bases[3], INDEX_SUFFIX), &shifted).unwrap();

    let log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    assert_eq!(log.log_end_offset(), end);
    assert_eq!(read_everything(&log), stored);
    assert_eq!(
        std::fs::read(index(bases[0], INDEX_SUFFIX)).unwrap(),
        original_index
    );
    for offset in 0..end.0 {
        let result = log.read(Offset(offset), 1, end, true).unwrap();
        let first = base_offsets(&result.to_bytes().unwrap())[0];
        assert_eq!(first, offset / 2 * 2);
    }
}

#[test]
fn a_clean_reopen_keeps_offsets_log_start_and_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    let stored = append_batches(&mut log, 15, 2, T0);
    log.delete_records_before(Offset(5)).unwrap();
    let start = log.log_start_offset();
    log.close().unwrap();
    let mut log = open(
        dir.path(),
        small_config(),
        &clock,
        OpenOptions {
            log_start_offset: Some(start),
            recovery_point: None,
        },
    );
    assert_eq!(log.log_start_offset(), Offset(5));
    assert_eq!(log.log_end_offset(), Offset(30));
    let tail = log.read(Offset(5), u64::MAX, Offset(30), true).unwrap();
    let skip = stored.len() - tail.size_bytes as usize;
    assert_eq!(tail.to_bytes().unwrap().to_vec(), stored[skip..].to_vec());
    assert_eq!(
        log.append_as_leader(&batch(1, T0, 5)).unwrap().first_offset,
        Offset(30)
    );
}

#[test]
fn a_log_start_checkpoint_beyond_the_data_restarts_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    append_batches(&mut log, 3, 2, T0);
    drop(log);
    let log = open(
        dir.path(),
        small_config(),
        &clock,
        OpenOptions {
            log_start_offset: Some(Offset(100)),
            recovery_point: None,
        },
    );
    assert_eq!(log.log_start_offset(), Offset(100));
    assert_eq!(log.log_end_offset(), Offset(100));
    assert_eq!(
        files_with_suffix(dir.path(), ".log"),
        vec!["00000000000000000100.log"]
    );
}

#[test]
fn flush_messages_moves_the_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        flush_interval_messages: 5,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    log.append_as_leader(&batch(3, T0, 5)).unwrap();
    assert_eq!(log.recovery_point(), Offset(0));
    log.append_as_leader(&batch(3, T0, 5)).unwrap();
    assert_eq!(log.recovery_point(), Offset(6));
    log.append_as_leader(&batch(1, T0, 5)).unwrap();
    assert_eq!(log.recovery_point(), Offset(6));
    log.flush().unwrap();
    assert_eq!(log.recovery_point(), Offset(7));
}

#[test]
fn truncate_to_drops_batches_at_and_above_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    let stored = append_batches(&mut log, 20, 2, T0);
    let segments_before = log.segment_count();
    log.truncate_to(Offset(14)).unwrap();
    assert_eq!(log.log_end_offset(), Offset(14));
    assert!(log.segment_count() < segments_before);
    let kept = read_everything(&log);
    assert_eq!(kept, stored[..kept.len()].to_vec());
    assert_eq!(base_offsets(&kept).last(), Some(&12));
    let info = log.append_as_leader(&batch(2, T0, 40)).unwrap();
    assert_eq!(info.first_offset, Offset(14));
    for offset in 0..16 {
        let first = base_offsets(
            &log.read(Offset(offset), 1, Offset(16), true)
                .unwrap()
                .to_bytes()
                .unwrap(),
        )[0];
        assert_eq!(first, offset / 2 * 2);
    }
    // Below the log start: restart empty there.
    log.truncate_to(Offset(0)).unwrap();
    assert_eq!(log.log_end_offset(), Offset(0));
    assert_eq!(log.size_bytes(), 0);
    assert_eq!(log.segment_count(), 1);
}

#[test]
fn follower_appends_keep_offsets_and_reject_going_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    let first = at_offset(&batch(3, T0, 10), 0);
    let second = at_offset(&batch(2, T0, 10), 3);
    let mut records = first.clone();
    records.extend_from_slice(&second);
    let info = log.append_as_follower(&records).unwrap();
    assert_eq!(
        (info.first_offset, info.last_offset),
        (Offset(0), Offset(4))
    );
    assert_eq!(read_everything(&log), records);
    assert!(matches!(
        log.append_as_follower(&at_offset(&batch(1, T0, 10), 4)),
        Err(LogError::UnexpectedAppendOffset {
            first_offset: Offset(4),
            log_end: Offset(5)
        })
    ));
    // A gap (as after compaction on the leader) is accepted.
    let info = log
        .append_as_follower(&at_offset(&batch(1, T0, 10), 9))
        .unwrap();
    assert_eq!(info.first_offset, Offset(9));
    assert_eq!(log.log_end_offset(), Offset(10));
    let result = log.read(Offset(5), u64::MAX, Offset(10), true).unwrap();
    assert_eq!(base_offsets(&result.to_bytes().unwrap()), vec![9]);
    // A gap too wide for one segment's 32-bit relative offsets in a single append.
    let mut wide = at_offset(&batch(1, T0, 10), 10);
    wide.extend_from_slice(&at_offset(&batch(1, T0, 10), 10 + (1 << 31)));
    assert!(matches!(
        log.append_as_follower(&wide),
        Err(LogError::InvalidRecord(_))
    ));
    // A far jump across appends rolls a new segment at the new offset.
    let far = 10 + (1 << 32);
    log.append_as_follower(&at_offset(&batch(1, T0, 10), far))
        .unwrap();
    assert_eq!(log.segment_base_offsets().last(), Some(&Offset(far)));
    assert_eq!(log.log_end_offset(), Offset(far + 1));
}

#[test]
fn slices_stay_readable_after_later_appends_and_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    let stored = append_batches(&mut log, 5, 2, T0);
    let result = log
        .read(Offset(0), u64::MAX, log.log_end_offset(), true)
        .unwrap();
    append_batches(&mut log, 20, 2, T0);
    log.delete_records_before(Offset(40)).unwrap();
    assert!(!dir.path().join(segment_file_name(0, LOG_SUFFIX)).exists());
    assert_eq!(result.to_bytes().unwrap().to_vec(), stored);
}

#[test]
fn delete_removes_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let log_dir = dir.path().join("orders-0");
    let mut log = open(
        &log_dir,
        LogConfig::default(),
        &clock,
        OpenOptions::default(),
    );
    append_batches(&mut log, 2, 1, T0);
    assert!(log_dir.join("00000000000000000000.log").exists());
    log.delete().unwrap();
    assert!(!log_dir.exists());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn appended_batches_read_back_byte_identical_after_reopen(
        appends in prop::collection::vec(
            prop::collection::vec((1usize..6, 0usize..300), 1..4),
            1..25,
        ),
        unclean in any::<bool>(),
        segment_bytes in 400u64..3_000,
        index_interval_bytes in 1u64..600,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let config = LogConfig { segment_bytes, index_interval_bytes, ..LogConfig::default() };
        let mut log = open(dir.path(), config.clone(), &clock, OpenOptions::default());
        let mut expected = Vec::new();
        let mut next_offset = 0i64;
        for append in &appends {
            let mut records = Vec::new();
            for (count, value_bytes) in append {
                records.extend_from_slice(&batch(*count, T0 + next_offset, *value_bytes));
            }
            let info = log.append_as_leader(&records).unwrap();
            prop_assert_eq!(info.first_offset, Offset(next_offset));
            for stored in batches(&records) {
                let stored = stored.unwrap();
                expected.extend_from_slice(&at_offset(stored.as_bytes(), next_offset));
                next_offset += i64::from(stored.records_count());
            }
            clock.advance_ms(1);
        }
        prop_assert_eq!(read_everything(&log), expected.clone());
        if unclean {
            drop(log);
        } else {
            log.close().unwrap();
        }
        let options = OpenOptions {
            log_start_offset: None,
            recovery_point: if unclean { Some(Offset(0)) } else { None },
        };
        let mut log = open(dir.path(), config, &clock, options);
        prop_assert_eq!(log.log_end_offset(), Offset(next_offset));
        prop_assert_eq!(read_everything(&log), expected.clone());
        // Every offset still finds its containing batch.
        for offset in (0..next_offset).step_by(3) {
            let result = log.read(Offset(offset), 1, Offset(next_offset), true).unwrap();
            let bytes = result.to_bytes().unwrap();
            let found = Batch::new(&bytes).unwrap();
            prop_assert!(found.base_offset() <= offset && offset <= found.last_offset());
        }
        let info = log.append_as_leader(&batch(1, T0, 1)).unwrap();
        prop_assert_eq!(info.first_offset, Offset(next_offset));
    }
}

#[test]
fn rolled_segments_are_flushed_outside_the_lock_and_move_the_recovery_point() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    assert!(
        log.rolled_segments_to_flush().unwrap().is_none(),
        "nothing rolled yet"
    );
    let stored = append_batches(&mut log, 12, 3, T0);
    assert!(log.segment_count() > 2);
    let (files, up_to) = log.rolled_segments_to_flush().unwrap().unwrap();
    let active_base = *log.segment_base_offsets().last().unwrap();
    assert_eq!(up_to, active_base);
    assert_eq!(
        files.len(),
        3 * (log.segment_count() - 1),
        "log + two indexes each"
    );
    for file in &files {
        file.sync_data().unwrap();
    }
    log.advance_recovery_point(up_to);
    assert_eq!(log.recovery_point(), active_base);
    assert!(log.rolled_segments_to_flush().unwrap().is_none());
    // A crash now recovers from the recovery point and keeps everything.
    drop(log);
    let log = open(
        dir.path(),
        small_config(),
        &clock,
        OpenOptions {
            log_start_offset: None,
            recovery_point: Some(active_base),
        },
    );
    assert_eq!(read_everything(&log), stored);
}

#[test]
fn one_append_of_many_batches_is_written_gathered_and_reads_back_exactly() {
    // 700 batches make 1400 header/record slices: more than one pwritev (IOV_MAX 1024).
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(
        dir.path(),
        LogConfig::default(),
        &clock,
        OpenOptions::default(),
    );
    log.append_as_leader(&batch(2, T0, 10)).unwrap();
    let mut request = Vec::new();
    let mut expected = at_offset(&batch(2, T0, 10), 0);
    let mut offset = 2;
    for i in 0..700 {
        let one = batch(1 + i % 3, T0 + i as i64, 5 + i % 7);
        expected.extend_from_slice(&at_offset(&one, offset));
        offset += (1 + i % 3) as i64;
        request.extend_from_slice(&one);
    }
    let info = log.append_as_leader(&request).unwrap();
    assert_eq!(info.first_offset, Offset(2));
    assert_eq!(info.last_offset, Offset(offset - 1));
    assert_eq!(log.log_end_offset(), Offset(offset));
    assert_eq!(read_everything(&log), expected);
    for b in batches(&read_everything(&log)) {
        b.unwrap().verify_crc().unwrap();
    }
}

// The leader epoch cache (`epoch.rs`) as the log keeps it.

/// A batch of `records` records at `base_offset`, stamped with `epoch` (-1: none).
fn batch_with_epoch(records: usize, base_offset: i64, epoch: i32) -> Vec<u8> {
    let mut builder = BatchBuilder::new(base_offset).partition_leader_epoch(epoch);
    for i in 0..records {
        builder.append(T0, Some(b"key"), Some(&[i as u8; 20]), &[]);
    }
    builder.build().unwrap()
}

fn epoch_checkpoint_text(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(LEADER_EPOCH_CHECKPOINT_FILE)).ok()
}

/// Leader appends of 3, 3, 2, 4 records under epochs 0, 0, 1, 3.
fn log_with_epochs_0_0_1_3(dir: &Path, clock: &Arc<ManualClock>) -> Log {
    let mut log = open(dir, small_config(), clock, OpenOptions::default());
    for (records, epoch) in [(3, 0), (3, 0), (2, 1), (4, 3)] {
        // Values large enough that these four batches span segments.
        log.append_as_leader_with_epoch(&batch(records, T0, 100), LeaderEpoch(epoch))
            .unwrap();
    }
    log
}

#[test]
fn leader_appends_record_where_each_epoch_starts_and_answer_end_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let log = log_with_epochs_0_0_1_3(dir.path(), &clock);
    assert_eq!(log.log_end_offset(), Offset(12));
    assert_eq!(log.epoch_entries(), vec![(0, 0), (1, 6), (3, 8)]);
    assert_eq!(log.latest_epoch(), Some(3));
    assert_eq!(log.epoch_start_offset(1), Some(6));
    assert_eq!(log.epoch_start_offset(2), None);
    assert_eq!(log.end_offset_for_epoch(0), (0, 6));
    assert_eq!(log.end_offset_for_epoch(1), (1, 8));
    // Epoch 2 never wrote: its end is where epoch 3 began, answered with epoch 1.
    assert_eq!(log.end_offset_for_epoch(2), (1, 8));
    // The current epoch ends at the log end offset.
    assert_eq!(log.end_offset_for_epoch(3), (3, 12));
    assert_eq!(log.end_offset_for_epoch(4), (-1, -1));
    assert_eq!(log.end_offset_for_epoch(-1), (-1, -1));
    assert_eq!(
        epoch_checkpoint_text(dir.path()).as_deref(),
        Some("0\n3\n0 0\n1 6\n3 8\n")
    );
}

#[test]
fn leader_appends_without_an_epoch_assign_only_epochs_the_batches_carry() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    append_batches(&mut log, 3, 2, T0);
    assert_eq!(log.latest_epoch(), None);
    assert_eq!(
        epoch_checkpoint_text(dir.path()).as_deref(),
        Some("0\n0\n"),
        "created empty with the log"
    );
    // A batch that carries an epoch (its base offset is the client's, not the log's).
    let mut records = batch_with_epoch(2, 0, 4);
    records.extend_from_slice(&batch_with_epoch(1, 0, 4));
    records.extend_from_slice(&batch_with_epoch(1, 0, 5));
    log.append_as_leader(&records).unwrap();
    assert_eq!(log.epoch_entries(), vec![(4, 6), (5, 9)]);
    assert_eq!(log.end_offset_for_epoch(4), (4, 9));
}

#[test]
fn follower_appends_assign_each_batch_epoch_at_its_base_offset() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    let mut records = Vec::new();
    for (records_count, base_offset, epoch) in [(2, 0, -1), (2, 2, 1), (3, 4, 1), (1, 7, 2)] {
        records.extend_from_slice(&batch_with_epoch(records_count, base_offset, epoch));
    }
    log.append_as_follower(&records).unwrap();
    assert_eq!(log.epoch_entries(), vec![(1, 2), (2, 7)]);
    // A rejected append changes nothing.
    let backwards = batch_with_epoch(1, 3, 9);
    assert!(log.append_as_follower(&backwards).is_err());
    assert_eq!(log.epoch_entries(), vec![(1, 2), (2, 7)]);
    // A gap, as after compaction on the leader.
    log.append_as_follower(&batch_with_epoch(1, 20, 5)).unwrap();
    assert_eq!(log.epoch_entries(), vec![(1, 2), (2, 7), (5, 20)]);
    assert_eq!(log.end_offset_for_epoch(2), (2, 20));
    assert_eq!(
        epoch_checkpoint_text(dir.path()).as_deref(),
        Some("0\n3\n1 2\n2 7\n5 20\n")
    );
}

#[test]
fn truncation_removes_epochs_starting_at_or_after_the_new_end() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = log_with_epochs_0_0_1_3(dir.path(), &clock);
    log.truncate_to(Offset(8)).unwrap();
    assert_eq!(log.epoch_entries(), vec![(0, 0), (1, 6)]);
    assert_eq!(log.end_offset_for_epoch(1), (1, 8));
    assert_eq!(
        epoch_checkpoint_text(dir.path()).as_deref(),
        Some("0\n2\n0 0\n1 6\n")
    );
    // Truncating at or past the end changes nothing.
    log.truncate_to(Offset(50)).unwrap();
    assert_eq!(log.epoch_entries(), vec![(0, 0), (1, 6)]);
    // A new leader's epoch continues from the truncation point.
    log.append_as_leader_with_epoch(&batch(1, T0, 20), LeaderEpoch(4))
        .unwrap();
    assert_eq!(log.epoch_entries(), vec![(0, 0), (1, 6), (4, 8)]);
    // Starting over clears the cache; appends bring epochs back.
    log.truncate_fully_and_start_at(Offset(100)).unwrap();
    assert_eq!(log.epoch_entries(), vec![]);
    assert_eq!(epoch_checkpoint_text(dir.path()).as_deref(), Some("0\n0\n"));
    log.append_as_follower(&batch_with_epoch(1, 100, 6))
        .unwrap();
    assert_eq!(log.epoch_entries(), vec![(6, 100)]);
}

#[test]
fn the_epoch_cache_survives_a_clean_reopen_and_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let log = log_with_epochs_0_0_1_3(dir.path(), &clock);
    log.close().unwrap();
    let log = open(dir.path(), small_config(), &clock, OpenOptions::default());
    assert_eq!(log.epoch_entries(), vec![(0, 0), (1, 6), (3, 8)]);
    assert_eq!(log.end_offset_for_epoch(3), (3, 12));
    // Dropped without close, as a crash leaves it: recovery scans from offset 0.
    drop(log);
    let mut log = open(
        dir.path(),
        small_config(),
        &clock,
        OpenOptions {
            log_start_offset: None,
            recovery_point: Some(Offset(0)),
        },
    );
    assert_eq!(log.epoch_entries(), vec![(0, 0), (1, 6), (3, 8)]);
    log.append_as_leader_with_epoch(&batch(1, T0, 20), LeaderEpoch(3))
        .unwrap();
    assert_eq!(log.end_offset_for_epoch(3), (3, 13));
}

#[test]
fn a_checkpoint_ahead_of_the_data_is_trimmed_and_a_recovered_tail_fills_it_in() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let log = log_with_epochs_0_0_1_3(dir.path(), &clock);
    drop(log);
    // The checkpoint names an epoch whose batches never reached the disk (a crash
    // between checkpoint and data) and misses epoch 3, whose batch did.
    std::fs::write(
        dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE),
        "0\n3\n0 0\n1 6\n7 12\n",
    )
    .unwrap();
    let log = open(
        dir.path(),
        small_config(),
        &clock,
        OpenOptions {
            log_start_offset: None,
            recovery_point: Some(Offset(8)),
        },
    );
    assert_eq!(log.epoch_entries(), vec![(0, 0), (1, 6), (3, 8)]);
    assert_eq!(
        epoch_checkpoint_text(dir.path()).as_deref(),
        Some("0\n3\n0 0\n1 6\n3 8\n")
    );
}

#[test]
fn a_missing_or_corrupt_checkpoint_is_rebuilt_from_batch_headers() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let log = log_with_epochs_0_0_1_3(dir.path(), &clock);
    assert!(log.segment_count() > 1, "the rebuild must cross segments");
    log.close().unwrap();
    let checkpoint = dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE);
    for damage in [None, Some("0\n5\n0 0\n"), Some("garbage")] {
        match damage {
            None => std::fs::remove_file(&checkpoint).unwrap(),
            Some(text) => std::fs::write(&checkpoint, text).unwrap(),
        }
        let log = open(dir.path(), small_config(), &clock, OpenOptions::default());
        assert_eq!(
            log.epoch_entries(),
            vec![(0, 0), (1, 6), (3, 8)],
            "{damage:?}"
        );
        assert_eq!(
            epoch_checkpoint_text(dir.path()).as_deref(),
            Some("0\n3\n0 0\n1 6\n3 8\n")
        );
        log.close().unwrap();
    }
}

#[test]
fn moving_the_log_start_truncates_epochs_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        retention_bytes: 0,
        ..small_config()
    };
    let mut log = open(dir.path(), config.clone(), &clock, OpenOptions::default());
    for epoch in 0..6 {
        for _ in 0..4 {
            log.append_as_leader_with_epoch(&batch(2, T0, 20), LeaderEpoch(epoch))
                .unwrap();
        }
    }
    let starts: Vec<(i32, i64)> = (0..6).map(|e| (e, i64::from(e) * 8)).collect();
    assert_eq!(log.epoch_entries(), starts);
    // DeleteRecords inside epoch 1: epoch 0 goes, epoch 1 now starts at the log start.
    log.delete_records_before(Offset(11)).unwrap();
    assert_eq!(log.epoch_entries()[..2], [(1, 11), (2, 16)]);
    assert_eq!(log.end_offset_for_epoch(0), (0, 11));
    // Retention up to a segment base inside a later epoch.
    let bases = log.segment_base_offsets();
    let high_watermark = bases[bases.len() - 2];
    log.enforce_retention_up_to(high_watermark).unwrap();
    let log_start_offset = log.log_start_offset().0;
    assert_eq!(log_start_offset, high_watermark.0);
    let first = log.epoch_entries()[0];
    assert_eq!(first, ((log_start_offset / 8) as i32, log_start_offset));
    assert!(epoch_checkpoint_text(dir.path())
        .unwrap()
        .contains(&format!("\n{} {}\n", first.0, first.1)));
    // A checkpointed log start given at open truncates a stale cache the same way.
    let entries = log.epoch_entries();
    drop(log);
    std::fs::write(
        dir.path().join(LEADER_EPOCH_CHECKPOINT_FILE),
        epoch::encode_checkpoint(
            &starts
                .iter()
                .map(|&(epoch, start_offset)| EpochEntry {
                    epoch,
                    start_offset,
                })
                .collect::<Vec<_>>(),
        ),
    )
    .unwrap();
    let log = open(
        dir.path(),
        config,
        &clock,
        OpenOptions {
            log_start_offset: Some(Offset(log_start_offset)),
            recovery_point: None,
        },
    );
    assert_eq!(log.epoch_entries(), entries);
}

#[test]
fn a_new_leader_assigns_its_epoch_at_the_log_end_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = log_with_epochs_0_0_1_3(dir.path(), &clock);
    log.assign_epoch_start_offset(LeaderEpoch(5)).unwrap();
    assert_eq!(log.latest_epoch(), Some(5));
    assert_eq!(log.end_offset_for_epoch(3), (3, 12));
    assert_eq!(log.end_offset_for_epoch(5), (5, 12));
    log.append_as_leader_with_epoch(&batch(2, T0, 20), LeaderEpoch(5))
        .unwrap();
    assert_eq!(log.epoch_entries(), vec![(0, 0), (1, 6), (3, 8), (5, 12)]);
    assert_eq!(log.end_offset_for_epoch(5), (5, 14));
}

/// The files under `dir` this process holds open, from `/proc/self/fd`.
fn open_files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let dir = dir.canonicalize().unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| target.starts_with(&dir))
        .collect()
}

#[test]
fn a_segment_holds_one_file_descriptor_and_writes_its_indexes_at_flush() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        index_interval_bytes: 100,
        ..LogConfig::default()
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    append_batches(&mut log, 20, 2, T0);
    let index = dir.path().join(segment_file_name(0, INDEX_SUFFIX));
    let time_index = dir.path().join(segment_file_name(0, TIME_INDEX_SUFFIX));
    assert_eq!(
        open_files_under(dir.path()),
        vec![dir
            .path()
            .canonicalize()
            .unwrap()
            .join(segment_file_name(0, LOG_SUFFIX))],
        "only the .log stays open; the indexes are opened when written"
    );
    assert_eq!(
        std::fs::metadata(&index).unwrap().len(),
        0,
        "no index I/O per append"
    );

    log.flush().unwrap();
    assert!(std::fs::metadata(&index).unwrap().len() >= 8 * 10);
    assert!(std::fs::metadata(&time_index).unwrap().len() >= 12);
    assert_eq!(open_files_under(dir.path()).len(), 1);

    // Rolled segments keep their `.log` open (fetches read it) and nothing else.
    let rolled_dir = tempfile::tempdir().unwrap();
    let mut log = open(
        rolled_dir.path(),
        small_config(),
        &clock,
        OpenOptions::default(),
    );
    append_batches(&mut log, 12, 3, T0);
    assert!(log.segment_count() > 2);
    assert_eq!(open_files_under(log.dir()).len(), log.segment_count());
}
