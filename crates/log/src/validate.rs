//! Validation of the record batches of one append, before anything is written.

use rafka_protocol::batch::{batches, BatchError};

use crate::error::LogError;

/// Who is appending: the rules differ as in Kafka's `AppendOrigin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A producer's batches: offsets are assigned by the log, sizes and counts enforced.
    Leader,
    /// A leader's batches copied by a follower: offsets are kept. Size and count rules
    /// were enforced by the leader, and compaction legitimately leaves empty batches.
    Follower,
}

/// One checked batch of the append buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValidatedBatch {
    pub(crate) start: usize,
    pub(crate) size: usize,
    pub(crate) records_count: i32,
}

/// What a producer's batches must respect besides their own consistency.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) max_message_bytes: u32,
    /// `cleanup.policy` includes `compact`: every record needs a key. Named in the error
    /// as Kafka names the partition (`topic-index`).
    pub(crate) compacted: Option<&'a str>,
    /// The transaction coordinator's markers may be control batches; a client's may not.
    pub(crate) allow_control: bool,
}

/// Checks every batch of `records` (all-or-nothing): magic 2, complete and
/// length-consistent, CRC-32C, a known codec, and for producers `max.message.bytes`,
/// Kafka's record-count rule (`lastOffsetDelta == recordsCount - 1`, count ≥ 1) and a key
/// on every record of a compacted topic.
pub(crate) fn validate_records(
    records: &[u8],
    origin: Origin,
    rules: Rules<'_>,
) -> Result<Vec<ValidatedBatch>, LogError> {
    let max_message_bytes = rules.max_message_bytes;
    if records.is_empty() {
        return Err(LogError::InvalidRecord(
            "the append holds no record batch".to_string(),
        ));
    }
    let mut validated = Vec::new();
    let mut iter = batches(records);
    while let Some(item) = iter.next() {
        let start = iter.position();
        let batch = match item {
            Ok(batch) => batch,
            Err(BatchError::InvalidMagic(magic)) => {
                return Err(LogError::InvalidRecord(format!(
                    "record batch at byte {start} has magic {magic}; only magic 2 is supported"
                )))
            }
            Err(e) => {
                return Err(LogError::CorruptRecord(format!(
                    "record batch at byte {start}: {e}"
                )))
            }
        };
        let start = start - batch.size_bytes();
        let size = batch.size_bytes();
        if origin == Origin::Leader && size > max_message_bytes as usize {
            return Err(LogError::RecordTooLarge {
                size,
                max: max_message_bytes,
            });
        }
        batch
            .verify_crc()
            .map_err(|e| LogError::CorruptRecord(format!("record batch at byte {start}: {e}")))?;
        batch
            .compression()
            .map_err(|e| LogError::InvalidRecord(format!("record batch at byte {start}: {e}")))?;
        if origin == Origin::Leader && batch.is_control() && !rules.allow_control {
            return Err(LogError::InvalidRecord(
                "Clients are not allowed to write control records".to_string(),
            ));
        }
        if origin == Origin::Leader {
            batch.check_compression_frame().map_err(|e| {
                LogError::UndecodableRecords(format!("record batch at byte {start}: {e}"))
            })?;
        }
        let count = batch.records_count();
        let delta = batch.last_offset_delta();
        match origin {
            Origin::Leader => {
                if count <= 0 {
                    return Err(LogError::InvalidRecord(format!(
                        "invalid reported count for record batch: {count}"
                    )));
                }
                if i64::from(delta) + 1 != i64::from(count) {
                    return Err(LogError::InvalidRecord(format!(
                        "inconsistent batch offset range [0, {delta}] and record count {count}"
                    )));
                }
            }
            Origin::Follower => {
                if delta < 0 {
                    return Err(LogError::CorruptRecord(format!(
                        "record batch at byte {start} has last offset delta {delta}"
                    )));
                }
            }
        }
        if let (Origin::Leader, Some(partition)) = (origin, rules.compacted) {
            check_keys(&batch, partition)?;
        }
        validated.push(ValidatedBatch {
            start,
            size,
            records_count: count,
        });
    }
    Ok(validated)
}

/// Kafka's LogValidator.validateKey and processRecordErrors: a compacted topic refuses a
/// batch holding a record without a key, naming each such record.
fn check_keys(batch: &rafka_protocol::batch::Batch<'_>, partition: &str) -> Result<(), LogError> {
    let missing = batch
        .records_without_key()
        .map_err(|e| LogError::CorruptRecord(e.to_string()))?;
    if missing.is_empty() {
        return Ok(());
    }
    let record_errors: Vec<(i32, String)> = missing
        .into_iter()
        .map(|index| {
            (
                index,
                format!(
                    "Compacted topic cannot accept message without key in topic partition \
                     {partition}"
                ),
            )
        })
        .collect();
    let shown: Vec<String> = record_errors
        .iter()
        .take(3)
        .map(|(index, message)| format!("RecordError(batchIndex={index}, message='{message}')"))
        .collect();
    Err(LogError::RecordErrors {
        message: format!(
            "One or more records have been rejected due to {} record errors in total, and only \
             showing the first three errors at most: [{}]",
            record_errors.len(),
            shown.join(", ")
        ),
        record_errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafka_protocol::batch::{BatchBuilder, BatchMut};

    const RULES: Rules<'static> = Rules {
        max_message_bytes: 1 << 20,
        compacted: None,
        allow_control: false,
    };

    #[test]
    fn compacted_topics_refuse_records_without_key_naming_each() {
        let mut builder = BatchBuilder::new(0);
        builder.append(1, Some(b"k"), Some(b"v"), &[]);
        builder.append(1, None, Some(b"v"), &[]);
        builder.append(1, None, None, &[]);
        let buf = builder.build().unwrap();
        let compacted = Rules {
            compacted: Some("t-0"),
            ..RULES
        };
        match validate_records(&buf, Origin::Leader, compacted) {
            Err(LogError::RecordErrors {
                message,
                record_errors,
            }) => {
                let why =
                    "Compacted topic cannot accept message without key in topic partition t-0";
                assert_eq!(
                    record_errors,
                    vec![(1, why.to_string()), (2, why.to_string())]
                );
                assert_eq!(
                    message,
                    format!(
                        "One or more records have been rejected due to 2 record errors in total, \
                         and only showing the first three errors at most: \
                         [RecordError(batchIndex=1, message='{why}'), \
                         RecordError(batchIndex=2, message='{why}')]"
                    )
                );
            }
            other => panic!("want record errors, got {other:?}"),
        }
        // Keys everywhere, or a topic that is not compacted: accepted.
        assert!(validate_records(&buf, Origin::Leader, RULES).is_ok());
        assert!(validate_records(&buf, Origin::Follower, compacted).is_ok());
    }

    fn batch(records: usize) -> Vec<u8> {
        let mut builder = BatchBuilder::new(0);
        for _ in 0..records {
            builder.append(1, None, Some(b"v"), &[]);
        }
        builder.build().unwrap()
    }

    #[test]
    fn concatenated_batches_are_all_checked() {
        let mut buf = batch(2);
        let first_len = buf.len();
        buf.extend_from_slice(&batch(3));
        let validated = validate_records(&buf, Origin::Leader, RULES).unwrap();
        assert_eq!(validated.len(), 2);
        assert_eq!(validated[0].start, 0);
        assert_eq!(validated[1].start, first_len);
        assert_eq!(validated[1].records_count, 3);

        buf.extend_from_slice(&[0; 10]);
        assert!(matches!(
            validate_records(&buf, Origin::Leader, RULES),
            Err(LogError::CorruptRecord(_))
        ));
    }

    #[test]
    fn count_must_match_the_offset_delta_for_producers_only() {
        let mut buf = batch(3);
        buf[57..61].copy_from_slice(&5i32.to_be_bytes());
        BatchMut::new(&mut buf).unwrap().write_crc();
        assert!(matches!(
            validate_records(&buf, Origin::Leader, RULES),
            Err(LogError::InvalidRecord(_))
        ));
        assert!(validate_records(&buf, Origin::Follower, RULES).is_ok());
    }

    #[test]
    fn old_magic_is_invalid_and_empty_input_is_invalid() {
        let mut buf = batch(1);
        buf[16] = 1;
        assert!(matches!(
            validate_records(&buf, Origin::Leader, RULES),
            Err(LogError::InvalidRecord(_))
        ));
        assert!(matches!(
            validate_records(&[], Origin::Leader, RULES),
            Err(LogError::InvalidRecord(_))
        ));
    }
}
