//! The records of `__transaction_state`, byte-compatible with Kafka's so that Kafka's tools
//! can read them. A key is a big-endian int16 schema version (0) and the transactional id;
//! a value is an int16 schema version and the fields of Kafka's `TransactionLogValue`. A
//! null value is a tombstone: the transactional id has expired.
//!
//! Value v0 is classic (int16 string lengths, int32 array lengths, -1 for null); v1 is
//! flexible (uvarint length+1, 0 for null, and a tagged-field section after each struct)
//! and carries transactions V2's tagged fields. Kafka writes v1 once `transaction.version`
//! ≥ 1 is finalized (`TransactionVersion.transactionLogValueVersion`), v0 below; so does
//! rafka, and it reads both.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::{
    put_array_len, put_compact_string, put_string, put_uvarint, CodecError, Reader,
};

/// A transaction's state, with Kafka's ids (written in the log) and names (shown by
/// DescribeTransactions and filtered on by ListTransactions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    Empty = 0,
    Ongoing = 1,
    PrepareCommit = 2,
    PrepareAbort = 3,
    CompleteCommit = 4,
    CompleteAbort = 5,
    /// Never written: an expired id is a tombstone.
    Dead = 6,
    /// Never written: only ever a pending in-memory state.
    PrepareEpochFence = 7,
}

impl TxnState {
    /// Every state, in id order.
    pub const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    pub fn id(self) -> i8 {
        self as i8
    }

    pub fn from_id(id: i8) -> Option<TxnState> {
        usize::try_from(id)
            .ok()
            .and_then(|i| Self::ALL.get(i))
            .copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    pub fn from_name(name: &str) -> Option<TxnState> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A transactional id's state as the log holds it.
/// Invariant: `partitions` is empty when `state` is Empty (written as a null array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnLogValue {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// Topic → partition ids, grouped by topic (Kafka gives the groups no order).
    pub partitions: Vec<(String, Vec<i32>)>,
    pub last_update_ms: i64,
    /// -1 until the first partition is added.
    pub start_ms: i64,
    /// Tag 0 of v1: the producer id before this record's (-1: none).
    pub previous_producer_id: i64,
    /// Tag 1 of v1: the producer id a transactions-V2 commit or abort that ran out of
    /// epochs hands the client once its markers are written (-1: none).
    pub next_producer_id: i64,
    /// Tag 2 of v1: the `transaction.version` the client of this transaction speaks.
    pub client_transaction_version: i16,
}

/// Kafka's `RecordBatch.NO_PRODUCER_ID`, the default of the producer-id tagged fields.
const NO_PRODUCER_ID: i64 = -1;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The bytes end early or are not what the schema says.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// Not corruption: a newer Kafka's key. Kafka skips such records with a warning.
    #[error("unknown key schema version {version}")]
    UnknownKeyVersion { version: i16 },
    /// Kafka fails the partition's load on these.
    #[error("unknown value schema version {version}")]
    UnknownValueVersion { version: i16 },
    #[error("unknown transaction state id {id}")]
    UnknownState { id: i8 },
    #[error("{field} is {len} bytes, more than an int16 length can say")]
    TooLong { field: &'static str, len: usize },
}

/// Kafka's `TransactionLogKey` v0. `Err(TooLong)` for an id past 32767 bytes, which
/// Kafka also cannot write (InitProducerId itself has no length check).
pub fn encode_key(transactional_id: &str) -> Result<Bytes, RecordError> {
    if i16::try_from(transactional_id.len()).is_err() {
        return Err(RecordError::TooLong {
            field: "transactional id",
            len: transactional_id.len(),
        });
    }
    let mut out = BytesMut::new();
    out.put_i16(0);
    put_string(&mut out, transactional_id);
    Ok(out.freeze())
}

/// The transactional id of a key; `Err(UnknownKeyVersion)` for a key to skip.
pub fn decode_key(bytes: &[u8]) -> Result<String, RecordError> {
    let mut r = Reader::new(bytes);
    match r.i16()? {
        0 => Ok(r.string(false, "transactional id")?),
        version => Err(RecordError::UnknownKeyVersion { version }),
    }
}

/// Value `version` 0 or 1 (Kafka's `transactionLogValueVersion` of the finalized
/// `transaction.version`). v0 has no place for the tagged fields: they are dropped, as
/// Kafka drops them.
pub fn encode_value(value: &TxnLogValue, version: i16) -> Bytes {
    assert!(
        value.state != TxnState::Empty || value.partitions.is_empty(),
        "an Empty transaction has no partitions: {value:?}"
    );
    assert!(matches!(version, 0 | 1), "no value version {version}");
    let flexible = version == 1;
    let mut out = BytesMut::new();
    out.put_i16(version);
    out.put_i64(value.producer_id);
    out.put_i16(value.producer_epoch);
    out.put_i32(value.timeout_ms);
    out.put_i8(value.state.id());
    if value.state == TxnState::Empty {
        put_array_len(&mut out, None, flexible);
    } else {
        put_array_len(&mut out, Some(value.partitions.len()), flexible);
        for (topic, ids) in &value.partitions {
            if flexible {
                put_compact_string(&mut out, topic);
            } else {
                put_string(&mut out, topic);
            }
            put_array_len(&mut out, Some(ids.len()), flexible);
            for id in ids {
                out.put_i32(*id);
            }
            if flexible {
                put_uvarint(&mut out, 0);
            }
        }
    }
    out.put_i64(value.last_update_ms);
    out.put_i64(value.start_ms);
    if flexible {
        // Kafka writes a tagged field only when it differs from its default, in tag order.
        let mut tagged: Vec<(u32, Vec<u8>)> = Vec::new();
        if value.previous_producer_id != NO_PRODUCER_ID {
            tagged.push((0, value.previous_producer_id.to_be_bytes().to_vec()));
        }
        if value.next_producer_id != NO_PRODUCER_ID {
            tagged.push((1, value.next_producer_id.to_be_bytes().to_vec()));
        }
        if value.client_transaction_version != 0 {
            tagged.push((2, value.client_transaction_version.to_be_bytes().to_vec()));
        }
        put_uvarint(&mut out, tagged.len() as u32);
        for (tag, bytes) in tagged {
            put_uvarint(&mut out, tag);
            put_uvarint(&mut out, bytes.len() as u32);
            out.put_slice(&bytes);
        }
    }
    out.freeze()
}

/// Reads value v0 or v1, with v1's tagged fields PreviousProducerId, NextProducerId and
/// ClientTransactionVersion (tags 0–2; unknown tags are skipped). An Empty transaction's
/// partitions are dropped, as Kafka's loader drops them.
pub fn decode_value(bytes: &[u8]) -> Result<TxnLogValue, RecordError> {
    let mut r = Reader::new(bytes);
    let flexible = match r.i16()? {
        0 => false,
        1 => true,
        version => return Err(RecordError::UnknownValueVersion { version }),
    };
    let producer_id = r.i64()?;
    let producer_epoch = r.i16()?;
    let timeout_ms = r.i32()?;
    let id = r.i8()?;
    let state = TxnState::from_id(id).ok_or(RecordError::UnknownState { id })?;
    let mut partitions = Vec::new();
    if let Some(count) = r.array_len(flexible)? {
        // An element takes at least 3 bytes: never reserve more than the record holds.
        partitions.reserve(count.min(r.remaining() / 3));
        for _ in 0..count {
            let topic = r.string(flexible, "topic")?;
            let n = r.array_len(flexible)?.ok_or(CodecError::Null {
                field: "partition ids",
            })?;
            let mut ids = Vec::with_capacity(n.min(r.remaining() / 4));
            for _ in 0..n {
                ids.push(r.i32()?);
            }
            if flexible {
                r.skip_tagged_fields()?;
            }
            partitions.push((topic, ids));
        }
    }
    let last_update_ms = r.i64()?;
    let start_ms = r.i64()?;
    let mut value = TxnLogValue {
        producer_id,
        producer_epoch,
        timeout_ms,
        state,
        partitions,
        last_update_ms,
        start_ms,
        previous_producer_id: NO_PRODUCER_ID,
        next_producer_id: NO_PRODUCER_ID,
        client_transaction_version: 0,
    };
    if flexible {
        for _ in 0..r.uvarint()? {
            let tag = r.uvarint()?;
            let size = r.uvarint()? as usize;
            let mut field = Reader::new(r.take(size)?);
            match tag {
                0 => value.previous_producer_id = field.i64()?,
                1 => value.next_producer_id = field.i64()?,
                2 => value.client_transaction_version = field.i16()?,
                _ => {}
            }
        }
    }
    if value.state == TxnState::Empty {
        value.partitions.clear();
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ongoing() -> TxnLogValue {
        TxnLogValue {
            producer_id: 1000,
            producer_epoch: 5,
            timeout_ms: 60_000,
            state: TxnState::Ongoing,
            partitions: vec![("t".into(), vec![0, 2])],
            last_update_ms: 2000,
            start_ms: 1500,
            previous_producer_id: -1,
            next_producer_id: -1,
            client_transaction_version: 0,
        }
    }

    #[test]
    fn states_map_to_kafkas_ids_and_names() {
        for (i, state) in TxnState::ALL.into_iter().enumerate() {
            assert_eq!(state.id(), i as i8);
            assert_eq!(TxnState::from_id(i as i8), Some(state));
            assert_eq!(TxnState::from_name(state.name()), Some(state));
        }
        assert_eq!(TxnState::PrepareEpochFence.name(), "PrepareEpochFence");
        assert_eq!(TxnState::from_id(8), None);
        assert_eq!(TxnState::from_id(-1), None);
        assert_eq!(TxnState::from_name("ongoing"), None);
    }

    #[test]
    fn key_is_version_0_and_the_id() {
        let key = encode_key("t1").unwrap();
        assert_eq!(&key[..], [0, 0, 0, 2, b't', b'1']);
        assert_eq!(decode_key(&key), Ok("t1".to_string()));
        assert_eq!(
            decode_key(&[0, 1, 0, 0]),
            Err(RecordError::UnknownKeyVersion { version: 1 })
        );
        assert_eq!(
            decode_key(&[0, 0, 0, 5, b'a']),
            Err(RecordError::Codec(CodecError::Truncated))
        );
        assert!(matches!(
            encode_key(&"x".repeat(32_768)),
            Err(RecordError::TooLong { len: 32_768, .. })
        ));
    }

    // The literal bytes below follow Kafka's JSON schemas by hand; they are also what
    // Kafka 4.1.1's generated TransactionLogKey/Value write for the same fields.
    #[test]
    fn value_v0_bytes_match_kafkas_layout() {
        #[rustfmt::skip]
        let expected: &[u8] = &[
            0, 0,                               // version 0
            0, 0, 0, 0, 0, 0, 0x03, 0xe8,       // producer id 1000
            0, 5,                               // producer epoch
            0, 0, 0xea, 0x60,                   // timeout 60000
            1,                                  // Ongoing
            0, 0, 0, 1,                         // one topic
            0, 1, b't',                         //   "t"
            0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, //   partitions [0, 2]
            0, 0, 0, 0, 0, 0, 0x07, 0xd0,       // last update 2000
            0, 0, 0, 0, 0, 0, 0x05, 0xdc,       // start 1500
        ];
        assert_eq!(&encode_value(&ongoing(), 0)[..], expected);
        assert_eq!(decode_value(expected), Ok(ongoing()));
    }

    #[test]
    fn empty_writes_null_partitions_and_ignores_them_on_read() {
        let empty = TxnLogValue {
            state: TxnState::Empty,
            partitions: vec![],
            start_ms: -1,
            ..ongoing()
        };
        let bytes = encode_value(&empty, 0);
        assert_eq!(bytes[17..21], [0xff; 4]);
        assert_eq!(decode_value(&bytes), Ok(empty.clone()));
        // Kafka's loader drops an Empty record's partitions; so does this one.
        let mut with_partitions = encode_value(&ongoing(), 0).to_vec();
        with_partitions[16] = 0;
        assert_eq!(
            decode_value(&with_partitions),
            Ok(TxnLogValue {
                start_ms: 1500,
                ..empty
            })
        );
    }

    #[test]
    fn values_round_trip() {
        for state in [TxnState::PrepareCommit, TxnState::CompleteAbort] {
            let value = TxnLogValue {
                state,
                partitions: vec![("a".into(), vec![3]), ("bb".into(), vec![])],
                ..ongoing()
            };
            assert_eq!(decode_value(&encode_value(&value, 0)), Ok(value.clone()));
            assert_eq!(decode_value(&encode_value(&value, 1)), Ok(value));
        }
    }

    #[test]
    fn value_v1_is_compact_with_tagged_fields() {
        #[rustfmt::skip]
        let v1: &[u8] = &[
            0, 1,                               // version 1
            0, 0, 0, 0, 0, 0, 0x03, 0xe8,       // producer id 1000
            0, 5,                               // producer epoch
            0, 0, 0xea, 0x60,                   // timeout 60000
            1,                                  // Ongoing
            2,                                  // one topic (uvarint 1+1)
            2, b't',                            //   "t" (uvarint 1+1)
            3, 0, 0, 0, 0, 0, 0, 0, 2,          //   partitions [0, 2] (uvarint 2+1)
            1, 7, 2, 0xab, 0xcd,                //   one tagged field: unknown tag 7, 2 bytes
            0, 0, 0, 0, 0, 0, 0x07, 0xd0,       // last update 2000
            0, 0, 0, 0, 0, 0, 0x05, 0xdc,       // start 1500
            2,                                  // two tagged fields:
            1, 8, 0, 0, 0, 0, 0, 0, 0x03, 0xe9, //   NextProducerId 1001
            2, 2, 0, 2,                         //   ClientTransactionVersion 2
        ];
        let v2_client = TxnLogValue {
            next_producer_id: 1001,
            client_transaction_version: 2,
            ..ongoing()
        };
        assert_eq!(decode_value(v1), Ok(v2_client.clone()));
        // What rafka writes: the same, without the unknown tag.
        let mut written = v1[..29].to_vec();
        written.push(0);
        written.extend_from_slice(&v1[34..]);
        assert_eq!(&encode_value(&v2_client, 1)[..], &written[..]);

        #[rustfmt::skip]
        let empty_v1: &[u8] = &[
            0, 1,                               // version 1
            0, 0, 0, 0, 0, 0, 0x03, 0xe8,       // producer id 1000
            0, 5,                               // producer epoch
            0, 0, 0xea, 0x60,                   // timeout 60000
            0,                                  // Empty
            0,                                  // null partitions
            0, 0, 0, 0, 0, 0, 0x07, 0xd0,       // last update 2000
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // start -1
            0,                                  // no tagged fields
        ];
        let empty = TxnLogValue {
            state: TxnState::Empty,
            partitions: vec![],
            start_ms: -1,
            ..ongoing()
        };
        assert_eq!(decode_value(empty_v1), Ok(empty.clone()));
        assert_eq!(&encode_value(&empty, 1)[..], empty_v1);
    }

    #[test]
    fn v0_drops_the_transactions_v2_fields_and_v1_keeps_them() {
        let rotated = TxnLogValue {
            state: TxnState::CompleteCommit,
            partitions: vec![],
            producer_id: 2000,
            producer_epoch: 0,
            previous_producer_id: 1000,
            client_transaction_version: 2,
            ..ongoing()
        };
        assert_eq!(
            decode_value(&encode_value(&rotated, 1)),
            Ok(rotated.clone())
        );
        assert_eq!(
            decode_value(&encode_value(&rotated, 0)),
            Ok(TxnLogValue {
                previous_producer_id: -1,
                client_transaction_version: 0,
                ..rotated
            })
        );
    }

    #[test]
    fn bad_values_are_errors() {
        let bytes = encode_value(&ongoing(), 0);
        for len in 0..bytes.len() {
            assert_eq!(
                decode_value(&bytes[..len]),
                Err(RecordError::Codec(CodecError::Truncated))
            );
        }
        let mut unknown_version = bytes.to_vec();
        unknown_version[1] = 2;
        assert_eq!(
            decode_value(&unknown_version),
            Err(RecordError::UnknownValueVersion { version: 2 })
        );
        let mut unknown_state = bytes.to_vec();
        unknown_state[16] = 9;
        assert_eq!(
            decode_value(&unknown_state),
            Err(RecordError::UnknownState { id: 9 })
        );
        let mut long_varint = bytes[..17].to_vec();
        long_varint[1] = 1;
        long_varint.extend_from_slice(&[0x80; 6]);
        assert_eq!(
            decode_value(&long_varint),
            Err(RecordError::Codec(CodecError::VarintTooLong))
        );
    }
}
