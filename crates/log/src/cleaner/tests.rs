//! Compaction through [`Log`]'s public API on real files. Time is a `ManualClock`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use rafka_protocol::batch::{batches, Batch, BatchBuilder, Compression, EndTxnMarker};
use rafka_types::{ManualClock, Offset, SharedClock};

use crate::{CleanSkip, Log, LogConfig, OpenOptions, CLEANER_CHECKPOINT_FILE};

const T0: i64 = 1_700_000_000_000;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const SEGMENT_MS: i64 = 60_000;

/// One record as read back: its offset, key and value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rec {
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

fn compact_config(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        segment_ms: SEGMENT_MS,
        index_interval_bytes: 256,
        cleanup_policy_compact: true,
        cleanup_policy_delete: false,
        ..LogConfig::default()
    }
}

fn open(dir: &Path, config: LogConfig, clock: &Arc<ManualClock>, options: OpenOptions) -> Log {
    let clock: SharedClock = clock.clone();
    Log::open(dir.to_path_buf(), config, clock, options).unwrap()
}

type KeyValue<'a> = (Option<&'a str>, Option<&'a str>);

/// Appends one batch of `records` stamped with the clock's time; returns them with
/// their offsets.
fn append(
    log: &mut Log,
    clock: &ManualClock,
    records: &[KeyValue<'_>],
    compression: Compression,
) -> Vec<Rec> {
    use rafka_types::Clock as _;
    // A leader refuses keyless records on a compacted topic, as Kafka's does; such
    // records still reach the cleaner from data written before the topic was compacted,
    // so they are appended the way a follower copies them (offsets given).
    let keyless = records.iter().any(|(key, _)| key.is_none());
    let base_offset = if keyless { log.log_end_offset().0 } else { 0 };
    let mut builder = BatchBuilder::new(base_offset).compression(compression);
    for (key, value) in records {
        builder.append(
            clock.now_ms(),
            key.map(str::as_bytes),
            value.map(str::as_bytes),
            &[],
        );
    }
    let batch = builder.build().unwrap();
    let info = if keyless {
        log.append_as_follower(&batch).unwrap()
    } else {
        log.append_as_leader(&batch).unwrap()
    };
    records
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Rec {
            offset: info.first_offset.0 + i as i64,
            key: key.map(|k| k.as_bytes().to_vec()),
            value: value.map(|v| v.as_bytes().to_vec()),
        })
        .collect()
}

/// Makes the active segment old enough to roll and rolls it.
fn roll(log: &mut Log, clock: &ManualClock) {
    clock.advance_ms(SEGMENT_MS + 1);
    assert!(log.maybe_roll_by_time().unwrap(), "nothing to roll");
}

fn read_bytes(log: &Log, from: Offset) -> Vec<u8> {
    log.read(from, u64::MAX, log.log_end_offset(), true)
        .unwrap()
        .to_bytes()
        .unwrap()
        .to_vec()
}

/// Decodes every record of `bytes` (through `kafka_protocol`'s decoder), asserting that
/// CRCs are valid and that batch and record offsets strictly increase.
fn decode(bytes: &[u8]) -> Vec<Rec> {
    let mut out: Vec<Rec> = Vec::new();
    let mut last_batch_end = -1;
    for batch in batches(bytes) {
        let batch = batch.unwrap();
        batch.verify_crc().unwrap();
        assert!(batch.base_offset() > last_batch_end, "batches out of order");
        last_batch_end = batch.last_offset();
        for record in batch.decode_records().unwrap() {
            assert!(record.offset >= batch.base_offset() && record.offset <= batch.last_offset());
            if let Some(previous) = out.last() {
                assert!(
                    record.offset > previous.offset,
                    "record offsets must increase"
                );
            }
            out.push(Rec {
                offset: record.offset,
                key: record.key.map(|k| k.to_vec()),
                value: record.value.map(|v| v.to_vec()),
            });
        }
    }
    out
}

fn read_all(log: &Log) -> Vec<Rec> {
    decode(&read_bytes(log, log.log_start_offset()))
}

fn active_base(log: &Log) -> Offset {
    *log.segment_base_offsets().last().unwrap()
}

/// What compaction must leave: the latest record per key below `clean_end`
/// (tombstones only when `keep_tombstones`), every null-key record, and everything from
/// `clean_end` on.
fn model(appended: &[Rec], clean_end: i64, keep_tombstones: bool) -> Vec<Rec> {
    let mut latest: BTreeMap<Vec<u8>, i64> = BTreeMap::new();
    for rec in appended.iter().filter(|r| r.offset < clean_end) {
        if let Some(key) = &rec.key {
            latest.insert(key.clone(), rec.offset);
        }
    }
    appended
        .iter()
        .filter(|r| {
            r.offset >= clean_end
                || match &r.key {
                    None => true,
                    Some(key) => latest[key] == r.offset && (r.value.is_some() || keep_tombstones),
                }
        })
        .cloned()
        .collect()
}

#[test]
fn compaction_keeps_the_latest_value_per_key_at_its_original_offset() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(
        dir.path(),
        compact_config(32 * 1024),
        &clock,
        OpenOptions::default(),
    );
    let mut appended = Vec::new();
    for batch in 0..10_000 {
        let owned: Vec<(String, String)> = (0..10)
            .map(|i| {
                let n = batch * 10 + i;
                (
                    format!("key-{:04}", (n * 7919) % 1000),
                    format!("value-{n}"),
                )
            })
            .collect();
        let records: Vec<KeyValue<'_>> = owned
            .iter()
            .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())))
            .collect();
        appended.extend(append(&mut log, &clock, &records, Compression::None));
    }
    assert_eq!(appended.len(), 100_000);
    let segments_before = log.segment_count();
    assert!(segments_before > 50, "segments: {segments_before}");
    let active = active_base(&log);
    let active_bytes = read_bytes(&log, active);
    let size_before = log.size_bytes();

    let result = log.clean().unwrap();
    assert_eq!(result.skipped, None);
    assert_eq!(result.first_dirty_offset, Offset(0));
    assert_eq!(result.cleaned_up_to, active);
    assert_eq!(result.records_read as i64, active.0);
    assert_eq!(result.keys, 1000);

    let after = read_all(&log);
    assert_eq!(after, model(&appended, active.0, true));
    // Every key's latest value is there, at the offset it was written at.
    let mut latest: BTreeMap<Vec<u8>, &Rec> = BTreeMap::new();
    for rec in &appended {
        latest.insert(rec.key.clone().unwrap(), rec);
    }
    assert_eq!(latest.len(), 1000);
    for rec in latest.values() {
        assert!(after.contains(rec), "missing {rec:?}");
    }
    assert!(log.size_bytes() < size_before / 10);
    assert_eq!(active_base(&log), active);
    assert_eq!(read_bytes(&log, active), active_bytes);
    assert_eq!(log.log_end_offset(), Offset(100_000));
    assert_eq!(log.log_start_offset(), Offset(0));
    assert_eq!(log.first_dirty_offset(), active);
}

#[test]
fn small_cleaned_segments_are_grouped_and_reads_by_offset_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        min_cleanable_dirty_ratio: 0.0,
        ..compact_config(4 * 1024)
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    let mut appended = Vec::new();
    for n in 0..3_000 {
        let key = format!("k{}", n % 20);
        let value = format!("v{n}");
        appended.extend(append(
            &mut log,
            &clock,
            &[(Some(&key), Some(&value))],
            Compression::None,
        ));
    }
    let segments_before = log.segment_count();
    // Groups are sized by the segments' sizes before cleaning (as in Kafka): the first
    // pass writes one small segment per full one, the next pass merges those.
    log.clean().unwrap();
    assert_eq!(log.segment_count(), segments_before);
    let value = "again".to_string();
    for n in 0..20 {
        let key = format!("k{}", n % 20);
        appended.extend(append(
            &mut log,
            &clock,
            &[(Some(&key), Some(&value))],
            Compression::None,
        ));
    }
    roll(&mut log, &clock);
    let active = active_base(&log);
    let result = log.clean().unwrap();
    assert_eq!(result.skipped, None);
    assert!(
        log.segment_count() < 4,
        "segments before {segments_before}, after {}",
        log.segment_count()
    );
    let after = read_all(&log);
    assert_eq!(after, model(&appended, active.0, true));
    // A read from any kept offset starts at the batch holding it.
    for rec in &after {
        let read = log
            .read(Offset(rec.offset), 1, log.log_end_offset(), true)
            .unwrap();
        let first = decode(&read.to_bytes().unwrap());
        assert!(first.contains(rec), "read from {} missed it", rec.offset);
    }
    // Reads from offsets that were removed land on the next kept record.
    let read = log.read(Offset(1), 1, log.log_end_offset(), true).unwrap();
    assert!(decode(&read.to_bytes().unwrap())
        .iter()
        .all(|r| r.offset >= 1));
}

#[test]
fn tombstones_survive_until_delete_retention_after_their_first_clean() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        min_cleanable_dirty_ratio: 0.0,
        ..compact_config(1024 * 1024)
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    append(
        &mut log,
        &clock,
        &[(Some("a"), Some("1")), (Some("b"), Some("2"))],
        Compression::None,
    );
    let tombstone = append(&mut log, &clock, &[(Some("a"), None)], Compression::None);
    roll(&mut log, &clock);

    // First pass: the old value of `a` goes, its tombstone stays with a horizon.
    assert_eq!(log.clean().unwrap().skipped, None);
    let records = read_all(&log);
    assert!(records.contains(&tombstone[0]), "{records:?}");
    assert!(!records.iter().any(|r| r.value.as_deref() == Some(b"1")));
    let bytes = read_bytes(&log, log.log_start_offset());
    let stamped: Vec<_> = batches(&bytes)
        .map(|b| b.unwrap())
        .filter(|b| b.has_delete_horizon())
        .map(|b| b.base_timestamp())
        .collect();
    assert_eq!(stamped, vec![clock_now(&clock) + DAY_MS]);

    // Before the horizon: still there after another pass.
    clock.advance_ms(DAY_MS / 2);
    append(
        &mut log,
        &clock,
        &[(Some("c"), Some("3"))],
        Compression::None,
    );
    roll(&mut log, &clock);
    assert_eq!(log.clean().unwrap().skipped, None);
    assert!(read_all(&log).contains(&tombstone[0]));

    // After it: gone, and the other keys stay.
    clock.advance_ms(DAY_MS);
    append(
        &mut log,
        &clock,
        &[(Some("d"), Some("4"))],
        Compression::None,
    );
    roll(&mut log, &clock);
    assert_eq!(log.clean().unwrap().skipped, None);
    let keys: Vec<Option<Vec<u8>>> = read_all(&log).into_iter().map(|r| r.key).collect();
    assert_eq!(
        keys,
        vec![
            Some(b"b".to_vec()),
            Some(b"c".to_vec()),
            Some(b"d".to_vec())
        ]
    );
}

fn clock_now(clock: &ManualClock) -> i64 {
    use rafka_types::Clock as _;
    clock.now_ms()
}

#[test]
fn the_active_segment_is_never_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(
        dir.path(),
        compact_config(1024 * 1024),
        &clock,
        OpenOptions::default(),
    );
    for n in 0..50 {
        let value = format!("{n}");
        append(
            &mut log,
            &clock,
            &[(Some("same"), Some(&value))],
            Compression::None,
        );
    }
    // Only an active segment: nothing is cleanable.
    let result = log.clean().unwrap();
    assert_eq!(result.skipped, Some(CleanSkip::NothingCleanable));
    assert_eq!(read_all(&log).len(), 50);

    roll(&mut log, &clock);
    let mut active_records = Vec::new();
    for n in 0..30 {
        let value = format!("new-{n}");
        active_records.extend(append(
            &mut log,
            &clock,
            &[(Some("same"), Some(&value))],
            Compression::None,
        ));
    }
    let active = active_base(&log);
    let active_bytes = read_bytes(&log, active);
    assert_eq!(log.clean().unwrap().skipped, None);
    // The active segment's records neither change nor shadow older ones (Kafka maps
    // only the dirty section below it): the old segment keeps its own latest record.
    let mut expected = vec![Rec {
        offset: 49,
        key: Some(b"same".to_vec()),
        value: Some(b"49".to_vec()),
    }];
    expected.extend(active_records);
    assert_eq!(read_all(&log), expected);
    assert_eq!(read_bytes(&log, active), active_bytes);
    assert_eq!(active_base(&log), active);
}

#[test]
fn the_dirty_ratio_threshold_and_max_compaction_lag_decide_when_to_clean() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        max_compaction_lag_ms: 10 * SEGMENT_MS,
        ..compact_config(1024 * 1024)
    };
    let mut log = open(dir.path(), config.clone(), &clock, OpenOptions::default());
    let distinct: Vec<String> = (0..100).map(|n| format!("key-{n}")).collect();
    let records: Vec<KeyValue<'_>> = distinct
        .iter()
        .map(|k| (Some(k.as_str()), Some("value")))
        .collect();
    append(&mut log, &clock, &records, Compression::None);
    roll(&mut log, &clock);
    let first = log.clean().unwrap();
    assert_eq!(first.skipped, None);
    assert_eq!(first.dirty_ratio, 1.0);

    // A little dirty data: below 0.5, nothing happens.
    append(&mut log, &clock, &records[..10], Compression::None);
    roll(&mut log, &clock);
    let size = log.size_bytes();
    let below = log.clean().unwrap();
    assert_eq!(below.skipped, Some(CleanSkip::BelowMinCleanableDirtyRatio));
    assert!(
        below.dirty_ratio > 0.0 && below.dirty_ratio < 0.5,
        "{}",
        below.dirty_ratio
    );
    assert_eq!(log.size_bytes(), size);
    assert_eq!(read_all(&log).len(), 110);

    // Past max.compaction.lag.ms the dirty segment is cleaned regardless.
    clock.advance_ms(10 * SEGMENT_MS);
    let overdue = log.clean().unwrap();
    assert_eq!(overdue.skipped, None);
    assert_eq!(read_all(&log).len(), 100);

    // Above the ratio it cleans without the lag.
    log.update_config(LogConfig {
        max_compaction_lag_ms: i64::MAX,
        ..config
    });
    append(&mut log, &clock, &records[..10], Compression::None);
    roll(&mut log, &clock);
    assert_eq!(
        log.clean().unwrap().skipped,
        Some(CleanSkip::BelowMinCleanableDirtyRatio)
    );
    for _ in 0..10 {
        append(&mut log, &clock, &records, Compression::None);
    }
    roll(&mut log, &clock);
    let above = log.clean().unwrap();
    assert!(above.dirty_ratio > 0.5, "{}", above.dirty_ratio);
    assert_eq!(above.skipped, None);
    assert_eq!(read_all(&log).len(), 100);
}

#[test]
fn min_compaction_lag_protects_recent_segments() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let lag_ms = 60 * 60 * 1000;
    let config = LogConfig {
        min_compaction_lag_ms: lag_ms,
        min_cleanable_dirty_ratio: 0.0,
        ..compact_config(1024 * 1024)
    };
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    let old = append(
        &mut log,
        &clock,
        &[
            (Some("a"), Some("old")),
            (Some("a"), Some("older-dup")),
            (Some("b"), Some("old")),
        ],
        Compression::None,
    );
    roll(&mut log, &clock);
    clock.advance_ms(2 * lag_ms);
    let recent = append(
        &mut log,
        &clock,
        &[(Some("a"), Some("new")), (Some("a"), Some("newer"))],
        Compression::None,
    );
    roll(&mut log, &clock);
    let recent_base = log.segment_base_offsets()[1];

    // The recent segment is not cleaned and does not shadow older records yet.
    let result = log.clean().unwrap();
    assert_eq!(result.skipped, None);
    assert_eq!(result.first_uncleanable_offset, recent_base);
    let mut expected = vec![old[1].clone(), old[2].clone()];
    expected.extend(recent.iter().cloned());
    assert_eq!(read_all(&log), expected);

    // Once the lag has passed, it is.
    clock.advance_ms(lag_ms);
    let result = log.clean().unwrap();
    assert_eq!(result.skipped, None);
    assert_eq!(read_all(&log), vec![old[2].clone(), recent[1].clone()]);
}

#[test]
fn compressed_batches_are_filtered_and_recompressed_with_their_codec() {
    for compression in [Compression::Gzip, Compression::Zstd] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let mut log = open(
            dir.path(),
            compact_config(1024 * 1024),
            &clock,
            OpenOptions::default(),
        );
        let mut appended = Vec::new();
        for round in 0..20 {
            let owned: Vec<(String, String)> = (0..25)
                .map(|i| {
                    (
                        format!("key-{}", (round * 25 + i) % 40),
                        format!("value-{round}-{i}"),
                    )
                })
                .collect();
            let records: Vec<KeyValue<'_>> = owned
                .iter()
                .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())))
                .collect();
            appended.extend(append(&mut log, &clock, &records, compression));
        }
        roll(&mut log, &clock);
        let result = log.clean().unwrap();
        assert_eq!(result.skipped, None);
        let after = read_all(&log);
        assert_eq!(after, model(&appended, log.log_end_offset().0, true));
        assert_eq!(after.len(), 40);
        let bytes = read_bytes(&log, log.log_start_offset());
        for batch in batches(&bytes) {
            let batch = batch.unwrap();
            if batch.records_count() > 0 {
                assert_eq!(batch.compression(), Ok(compression));
            }
        }
    }
}

#[test]
fn null_keys_are_kept_and_producer_last_batches_stay_as_empty_batches() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut log = open(
        dir.path(),
        compact_config(1024 * 1024),
        &clock,
        OpenOptions::default(),
    );
    let unkeyed = append(
        &mut log,
        &clock,
        &[(None, Some("no key"))],
        Compression::None,
    );
    let mut builder = BatchBuilder::new(0).producer(7, 0, 0);
    builder.append(clock_now(&clock), Some(b"k"), Some(b"from producer"), &[]);
    let produced = log.append_as_leader(&builder.build().unwrap()).unwrap();
    let later = append(
        &mut log,
        &clock,
        &[(Some("k"), Some("later"))],
        Compression::None,
    );
    append(
        &mut log,
        &clock,
        &[(Some("x"), Some("1"))],
        Compression::None,
    );
    let last = append(
        &mut log,
        &clock,
        &[(Some("x"), Some("2"))],
        Compression::None,
    );
    roll(&mut log, &clock);
    log.clean().unwrap();
    assert_eq!(
        read_all(&log),
        vec![unkeyed[0].clone(), later[0].clone(), last[0].clone()]
    );
    let bytes = read_bytes(&log, log.log_start_offset());
    let empty: Vec<(i64, i64)> = batches(&bytes)
        .map(|b| b.unwrap())
        .filter(|b| b.records_count() == 0)
        .map(|b| (b.base_offset(), b.producer_id()))
        .collect();
    assert_eq!(empty, vec![(produced.first_offset.0, 7)]);

    // Once the producer writes again, its old empty batch is no longer needed.
    let mut builder = BatchBuilder::new(0).producer(7, 0, 1);
    builder.append(clock_now(&clock), Some(b"p"), Some(b"again"), &[]);
    let produced_again = log.append_as_leader(&builder.build().unwrap()).unwrap();
    let x3 = append(
        &mut log,
        &clock,
        &[(Some("x"), Some("3"))],
        Compression::None,
    );
    roll(&mut log, &clock);
    log.update_config(LogConfig {
        min_cleanable_dirty_ratio: 0.0,
        ..log.config().clone()
    });
    assert_eq!(log.clean().unwrap().skipped, None);
    let bytes = read_bytes(&log, log.log_start_offset());
    let empty: Vec<i64> = batches(&bytes)
        .map(|b| b.unwrap())
        .filter(|b| b.records_count() == 0)
        .map(|b| b.base_offset())
        .collect();
    assert_eq!(empty, Vec::<i64>::new());
    let records = read_all(&log);
    assert_eq!(records.len(), 4);
    assert_eq!(records[2].offset, produced_again.first_offset.0);
    assert_eq!(records[3], x3[0]);
}

#[test]
fn compact_only_logs_skip_time_and_size_retention() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        retention_ms: 1_000,
        retention_bytes: 0,
        ..compact_config(1024 * 1024)
    };
    let mut log = open(dir.path(), config.clone(), &clock, OpenOptions::default());
    append(
        &mut log,
        &clock,
        &[(Some("a"), Some("1"))],
        Compression::None,
    );
    roll(&mut log, &clock);
    clock.advance_ms(DAY_MS);
    assert_eq!(log.enforce_retention().unwrap().deleted_segments, 0);
    log.update_config(LogConfig {
        cleanup_policy_delete: true,
        ..config
    });
    assert_eq!(log.enforce_retention().unwrap().deleted_segments, 1);
    // Not compacted: clean does nothing.
    log.update_config(LogConfig::default());
    assert_eq!(log.clean().unwrap().skipped, Some(CleanSkip::NotCompacted));
}

/// A log of several segments with duplicates, its records, and its active base.
fn dirty_log(dir: &Path, clock: &Arc<ManualClock>) -> (Log, Vec<Rec>) {
    let mut log = open(dir, compact_config(2 * 1024), clock, OpenOptions::default());
    let mut appended = Vec::new();
    for n in 0..400 {
        let key = format!("k{}", n % 15);
        let value = format!("v{n}");
        let tombstone = n % 37 == 0;
        let value = (!tombstone).then_some(value.as_str());
        appended.extend(append(
            &mut log,
            clock,
            &[(Some(&key), value)],
            Compression::None,
        ));
    }
    (log, appended)
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn clean_then_reopen_clean_and_unclean_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let (mut log, appended) = dirty_log(dir.path(), &clock);
    let active = active_base(&log);
    log.clean().unwrap();
    let bytes = read_bytes(&log, Offset(0));
    assert_eq!(decode(&bytes), model(&appended, active.0, true));
    let segments = log.segment_base_offsets();
    assert!(names(dir.path()).contains(&CLEANER_CHECKPOINT_FILE.to_string()));
    log.close().unwrap();

    let log = open(
        dir.path(),
        compact_config(2 * 1024),
        &clock,
        OpenOptions::default(),
    );
    assert_eq!(read_bytes(&log, Offset(0)), bytes);
    assert_eq!(log.segment_base_offsets(), segments);
    assert_eq!(log.first_dirty_offset(), active);
    drop(log); // unclean: no close

    let mut log = open(
        dir.path(),
        compact_config(2 * 1024),
        &clock,
        OpenOptions {
            log_start_offset: None,
            recovery_point: Some(Offset(0)),
        },
    );
    assert_eq!(read_bytes(&log, Offset(0)), bytes);
    assert_eq!(log.first_dirty_offset(), active);
    // Nothing new is dirty: the checkpoint survived.
    assert_eq!(
        log.clean().unwrap().skipped,
        Some(CleanSkip::NothingCleanable)
    );
    // Truncation pulls the checkpoint back with it.
    log.truncate_to(Offset(active.0 - 10)).unwrap();
    assert!(log.first_dirty_offset() <= log.log_end_offset());
}

#[test]
fn readers_keep_their_slices_across_a_clean() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let (mut log, _) = dirty_log(dir.path(), &clock);
    let read = log
        .read(Offset(0), u64::MAX, log.log_end_offset(), true)
        .unwrap();
    let before = read.to_bytes().unwrap();
    log.clean().unwrap();
    assert_eq!(read.to_bytes().unwrap(), before);
    assert!(read_bytes(&log, Offset(0)).len() < before.len());
}

#[test]
fn an_interrupted_swap_rolls_forward_once_every_swap_file_is_complete() {
    let clock = ManualClock::new(T0);
    let original = tempfile::tempdir().unwrap();
    let (mut log, mut appended) = dirty_log(original.path(), &clock);
    // Cleaned once, so that the next pass merges several small segments per group.
    log.clean().unwrap();
    for n in 0..40 {
        let key = format!("k{}", n % 15);
        appended.extend(append(
            &mut log,
            &clock,
            &[(Some(&key), Some("again"))],
            Compression::None,
        ));
    }
    roll(&mut log, &clock);
    let active = active_base(&log);
    let old_bases = log.segment_base_offsets();
    log.close().unwrap();
    // What the clean would produce, computed in a copy.
    let cleaned_dir = tempfile::tempdir().unwrap();
    copy_dir(original.path(), cleaned_dir.path());
    let mut cleaned = open(
        cleaned_dir.path(),
        compact_config(2 * 1024),
        &clock,
        OpenOptions::default(),
    );
    cleaned.clean().unwrap();
    let expected = read_bytes(&cleaned, Offset(0));
    assert_eq!(decode(&expected), model(&appended, active.0, true));
    let new_bases = cleaned.segment_base_offsets();
    assert!(
        new_bases.len() + 3 < old_bases.len(),
        "{new_bases:?} {old_bases:?}"
    );
    cleaned.close().unwrap();

    // The crash: every cleaned segment renamed to `.swap`, some old segments already
    // deleted, an old one half-renamed to `.deleted`.
    let crashed = tempfile::tempdir().unwrap();
    copy_dir(original.path(), crashed.path());
    for base in &new_bases[..new_bases.len() - 1] {
        for suffix in ["log", "index", "timeindex"] {
            let name = format!("{:020}.{suffix}", base.0);
            std::fs::copy(
                cleaned_dir.path().join(&name),
                crashed.path().join(format!("{name}.swap")),
            )
            .unwrap();
        }
    }
    let victim = format!("{:020}.log", old_bases[4].0);
    std::fs::rename(
        crashed.path().join(&victim),
        crashed.path().join(format!("{victim}.deleted")),
    )
    .unwrap();
    std::fs::remove_file(crashed.path().join(format!("{:020}.log", old_bases[5].0))).unwrap();

    let log = open(
        crashed.path(),
        compact_config(2 * 1024),
        &clock,
        OpenOptions::default(),
    );
    assert_eq!(read_bytes(&log, Offset(0)), expected);
    assert_eq!(log.segment_base_offsets(), new_bases);
    assert!(
        names(crashed.path())
            .iter()
            .all(|n| !n.ends_with(".swap") && !n.ends_with(".deleted")),
        "{:?}",
        names(crashed.path())
    );
}

#[test]
fn an_interrupted_clean_before_the_swap_rolls_back() {
    let clock = ManualClock::new(T0);
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = dirty_log(dir.path(), &clock);
    let bytes = read_bytes(&log, Offset(0));
    let bases = log.segment_base_offsets();
    log.close().unwrap();
    let files_before = names(dir.path());

    // The crash: the cleaned segment at the first base was being renamed `.cleaned` →
    // `.swap` (indexes first), and a later group's output was half written.
    let first = format!("{:020}", bases[0].0);
    std::fs::write(dir.path().join(format!("{first}.log.cleaned")), b"partial").unwrap();
    std::fs::write(dir.path().join(format!("{first}.index.swap")), b"").unwrap();
    std::fs::write(dir.path().join(format!("{first}.timeindex.swap")), b"").unwrap();
    let later = format!("{:020}", bases[3].0);
    std::fs::write(dir.path().join(format!("{later}.log.cleaned")), b"junk").unwrap();
    std::fs::write(
        dir.path().join(format!("{CLEANER_CHECKPOINT_FILE}.tmp")),
        b"0\n99",
    )
    .unwrap();

    let log = open(
        dir.path(),
        compact_config(2 * 1024),
        &clock,
        OpenOptions {
            log_start_offset: None,
            recovery_point: Some(Offset(0)),
        },
    );
    assert_eq!(read_bytes(&log, Offset(0)), bytes);
    assert_eq!(log.segment_base_offsets(), bases);
    assert_eq!(names(dir.path()), files_before);
    assert_eq!(log.first_dirty_offset(), Offset(0));
}

#[test]
fn a_full_offset_map_cleans_part_of_the_dirty_section_and_the_next_pass_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let (mut log, appended) = dirty_log(dir.path(), &clock);
    let active = active_base(&log);
    let partial = log.clean_with_map_limit(log.log_end_offset(), 1).unwrap();
    assert_eq!(partial.skipped, None);
    assert!(partial.cleaned_up_to < active, "{partial:?}");
    assert!(partial.cleaned_up_to > Offset(0));
    assert_eq!(log.first_dirty_offset(), partial.cleaned_up_to);
    while log.first_dirty_offset() < active {
        let next = log.clean_with_map_limit(log.log_end_offset(), 1).unwrap();
        if next.skipped.is_some() {
            // Below the ratio: make the rest count.
            log.update_config(LogConfig {
                min_cleanable_dirty_ratio: 0.0,
                ..log.config().clone()
            });
        }
    }
    log.update_config(LogConfig {
        min_cleanable_dirty_ratio: 0.0,
        ..log.config().clone()
    });
    // A final full pass: the map now sees every dirty key at once.
    let appended_more = append(
        &mut log,
        &clock,
        &[(Some("k0"), Some("last"))],
        Compression::None,
    );
    roll(&mut log, &clock);
    log.clean().unwrap();
    let mut all = appended;
    all.extend(appended_more);
    assert_eq!(read_all(&log), model(&all, log.log_end_offset().0, true));
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<(Option<u8>, Option<u8>)>),
    Roll,
}

fn op() -> impl Strategy<Value = Op> {
    let record = (
        proptest::option::weighted(0.95, 0u8..12),
        proptest::option::weighted(0.85, any::<u8>()),
    );
    prop_oneof![
        8 => proptest::collection::vec(record, 1..6).prop_map(Op::Append),
        1 => Just(Op::Roll),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn cleaning_equals_keeping_the_last_value_per_key(
        ops in proptest::collection::vec(op(), 1..60),
        segment_bytes in 300u64..3_000,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(T0);
        let config = LogConfig {
            min_cleanable_dirty_ratio: 0.0,
            ..compact_config(segment_bytes)
        };
        let mut log = open(dir.path(), config.clone(), &clock, OpenOptions::default());
        let mut appended = Vec::new();
        for op in &ops {
            match op {
                Op::Append(records) => {
                    let owned: Vec<(Option<String>, Option<String>)> = records
                        .iter()
                        .map(|(k, v)| (k.map(|k| format!("key{k}")), v.map(|v| format!("value{v}"))))
                        .collect();
                    let borrowed: Vec<KeyValue<'_>> = owned
                        .iter()
                        .map(|(k, v)| (k.as_deref(), v.as_deref()))
                        .collect();
                    appended.extend(append(&mut log, &clock, &borrowed, Compression::None));
                }
                Op::Roll => {
                    clock.advance_ms(SEGMENT_MS + 1);
                    log.maybe_roll_by_time().unwrap();
                }
            }
        }
        clock.advance_ms(SEGMENT_MS + 1);
        log.maybe_roll_by_time().unwrap();
        let end = log.log_end_offset().0;

        // Within delete.retention.ms the latest tombstones stay.
        log.clean().unwrap();
        prop_assert_eq!(read_all(&log), model(&appended, end, true));

        // Past it, a pass with new dirty data drops them.
        clock.advance_ms(DAY_MS + 1);
        appended.extend(append(&mut log, &clock, &[(Some("fresh"), Some("x"))], Compression::None));
        clock.advance_ms(SEGMENT_MS + 1);
        log.maybe_roll_by_time().unwrap();
        let end = log.log_end_offset().0;
        log.clean().unwrap();
        let expected = model(&appended, end, false);
        prop_assert_eq!(read_all(&log), expected.clone());

        // And a reopen reads the same.
        drop(log);
        let log = open(
            dir.path(),
            config,
            &clock,
            OpenOptions { log_start_offset: None, recovery_point: Some(Offset(0)) },
        );
        prop_assert_eq!(read_all(&log), expected);
    }
}

/// Appends one transactional batch of `producer_id` (epoch 0) with keyed records.
fn append_txn(
    log: &mut Log,
    clock: &ManualClock,
    producer_id: i64,
    sequence: i32,
    records: &[(&str, &str)],
) -> i64 {
    let mut builder = BatchBuilder::new(0)
        .producer(producer_id, 0, sequence)
        .transactional(true);
    for (key, value) in records {
        builder.append(
            clock_now(clock),
            Some(key.as_bytes()),
            Some(value.as_bytes()),
            &[],
        );
    }
    log.append_as_leader(&builder.build().unwrap())
        .unwrap()
        .first_offset
        .0
}

fn end_txn(log: &mut Log, producer_id: i64, commit: bool) -> i64 {
    let marker = EndTxnMarker {
        commit,
        coordinator_epoch: 0,
    };
    log.append_end_txn_marker(producer_id, 0, marker, None)
        .unwrap()
        .first_offset
        .0
}

/// Appends a plain record, rolls, and cleans up to the LSO: one pass with dirty data.
fn dirty_pass(log: &mut Log, clock: &ManualClock, key: &str) {
    append(log, clock, &[(Some(key), Some("v"))], Compression::None);
    roll(log, clock);
    let last_stable_offset = log.last_stable_offset(log.log_end_offset());
    assert_eq!(
        last_stable_offset,
        log.log_end_offset(),
        "no open transaction"
    );
    assert_eq!(log.clean_up_to(last_stable_offset).unwrap().skipped, None);
}

/// (offset, key, value) of every data record, markers left out.
fn data_records(log: &Log) -> Vec<(i64, String, String)> {
    let bytes = read_bytes(log, log.log_start_offset());
    let mut out = Vec::new();
    for batch in batches(&bytes) {
        let batch = batch.unwrap();
        if batch.is_control() {
            continue;
        }
        for record in batch.decode_records().unwrap() {
            let text = |b: Option<bytes::Bytes>| String::from_utf8(b.unwrap().to_vec()).unwrap();
            out.push((record.offset, text(record.key), text(record.value)));
        }
    }
    out
}

/// (base offset, producer id, record count, delete horizon) of the batches matching `which`.
fn batch_facts(log: &Log, which: impl Fn(&Batch<'_>) -> bool) -> Vec<(i64, i64, i32, Option<i64>)> {
    let bytes = read_bytes(log, log.log_start_offset());
    batches(&bytes)
        .map(|b| b.unwrap())
        .filter(|b| which(b))
        .map(|b| {
            let horizon = b.has_delete_horizon().then(|| b.base_timestamp());
            (b.base_offset(), b.producer_id(), b.records_count(), horizon)
        })
        .collect()
}

#[test]
fn transactions_are_compacted_as_kafkas_cleaner_does() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let config = LogConfig {
        min_cleanable_dirty_ratio: 0.0,
        ..compact_config(1024 * 1024)
    };
    let delete_retention_ms = config.delete_retention_ms;
    let mut log = open(dir.path(), config, &clock, OpenOptions::default());
    append(
        &mut log,
        &clock,
        &[(Some("k"), Some("a"))],
        Compression::None,
    );
    assert_eq!(
        append_txn(&mut log, &clock, 1, 0, &[("k", "b"), ("j", "1")]),
        1
    );
    assert_eq!(
        append_txn(&mut log, &clock, 2, 0, &[("k", "c"), ("m", "x")]),
        3
    );
    assert_eq!(end_txn(&mut log, 1, true), 5);
    assert_eq!(end_txn(&mut log, 2, false), 6);
    roll(&mut log, &clock);
    // An open transaction: the LSO stops at its first offset, so nothing of it is cleaned
    // and it shadows nothing.
    assert_eq!(append_txn(&mut log, &clock, 3, 0, &[("k", "open")]), 7);
    let last_stable_offset = log.last_stable_offset(log.log_end_offset());
    assert_eq!(last_stable_offset, Offset(7));
    assert_eq!(log.clean_up_to(last_stable_offset).unwrap().skipped, None);

    // The committed "k" shadows the plain one; the aborted records are gone, their batch
    // kept empty as producer 2's last; both markers stay, and so does the abort's entry.
    assert_eq!(
        data_records(&log),
        vec![
            (1, "k".into(), "b".into()),
            (2, "j".into(), "1".into()),
            (7, "k".into(), "open".into())
        ]
    );
    assert_eq!(
        batch_facts(&log, |b| b.records_count() == 0),
        vec![(3, 2, 0, None)]
    );
    assert_eq!(
        batch_facts(&log, |b| b.is_control()),
        vec![(5, 1, 1, None), (6, 2, 1, None)]
    );
    let aborted: Vec<(i64, i64, i64)> = log
        .aborted_transaction_index()
        .iter()
        .map(|t| (t.producer_id, t.first_offset, t.last_offset))
        .collect();
    assert_eq!(aborted, vec![(2, 3, 6)]);

    // Producer 3 commits; every producer then expires, so no batch is kept for one.
    assert_eq!(end_txn(&mut log, 3, true), 8);
    clock.advance_ms(DAY_MS);
    assert_eq!(log.remove_expired_producers(DAY_MS / 2), 3);
    dirty_pass(&mut log, &clock, "q");
    // The committed "k" at 7 shadows the one at 1; producer 2's empty batch goes, but
    // its marker saw it in this pass, so the marker and the entry stay one pass more.
    assert_eq!(
        data_records(&log),
        vec![
            (2, "j".into(), "1".into()),
            (7, "k".into(), "open".into()),
            (9, "q".into(), "v".into())
        ]
    );
    assert_eq!(batch_facts(&log, |b| b.records_count() == 0), vec![]);
    assert_eq!(log.aborted_transaction_index().len(), 1);

    // No batch of the aborted transaction is left: its entry goes and its marker is
    // stamped with a delete horizon; the commit markers have data behind them and stay.
    dirty_pass(&mut log, &clock, "r");
    assert_eq!(log.aborted_transaction_index(), vec![]);
    let horizon = clock_now(&clock) + delete_retention_ms;
    assert_eq!(
        batch_facts(&log, |b| b.is_control()),
        vec![(5, 1, 1, None), (6, 2, 1, Some(horizon)), (8, 3, 1, None)]
    );

    // At the horizon the abort marker goes.
    clock.advance_ms(delete_retention_ms);
    dirty_pass(&mut log, &clock, "s");
    assert_eq!(
        batch_facts(&log, |b| b.is_control()),
        vec![(5, 1, 1, None), (8, 3, 1, None)]
    );
    assert_eq!(
        data_records(&log).iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![2, 7, 9, 10, 11]
    );
}
