//! The records of `__share_group_state`, byte-compatible with Kafka 4.1's
//! (`share-coordinator/src/main/resources/common/message/Share{Snapshot,Update}{Key,Value}.json`),
//! so that Kafka's tools read them and a Kafka share coordinator could replay them.
//!
//! A key is a big-endian int16 record type — 0 for ShareSnapshot, 1 for ShareUpdate (the
//! `apiKey` of the JSON; Kafka 4.x writes it where older coordinator keys had a schema
//! version) — then the key fields at version 0, classic encoding: GroupId (int16 length +
//! UTF-8), TopicId (16 bytes: most then least significant half, big-endian), Partition
//! (int32). A value is an int16 schema version (0) and the value fields, flexible
//! encoding (compact arrays, a tagged-field section after each struct):
//!
//! - ShareSnapshotValue: SnapshotEpoch i32, StateEpoch i32, LeaderEpoch i32,
//!   StartOffset i64, CreateTimestamp i64, WriteTimestamp i64, StateBatches;
//! - ShareUpdateValue: SnapshotEpoch i32, LeaderEpoch i32, StartOffset i64 (-1: not
//!   updated), StateBatches;
//! - a StateBatch: FirstOffset i64, LastOffset i64, DeliveryState i8 (0 Available,
//!   2 Acknowledged, 4 Archived), DeliveryCount i16.
//!
//! A ShareSnapshot key with a null value is a tombstone: the share-partition's state
//! was deleted (DeleteShareGroupState).

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::{put_string, put_uvarint, CodecError, Reader};

/// Kafka's record type of a ShareSnapshot key.
pub const SNAPSHOT_RECORD_TYPE: i16 = 0;
/// Kafka's record type of a ShareUpdate key.
pub const UPDATE_RECORD_TYPE: i16 = 1;

/// Kafka's `RecordState` ids as the state topic and the share-group state APIs carry
/// them (Acquired, 1, is never persisted).
pub const DELIVERY_STATE_AVAILABLE: i8 = 0;
pub const DELIVERY_STATE_ACKNOWLEDGED: i8 = 2;
pub const DELIVERY_STATE_ARCHIVED: i8 = 4;

/// A share-partition: (group id, topic id, partition), Kafka's `SharePartitionKey`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateKey {
    pub group_id: String,
    pub topic_id: uuid::Uuid,
    pub partition: i32,
}

impl StateKey {
    pub fn new(group_id: &str, topic_id: uuid::Uuid, partition: i32) -> StateKey {
        StateKey {
            group_id: group_id.to_string(),
            topic_id,
            partition,
        }
    }

    /// Kafka's `SharePartitionKey.asCoordinatorKey`: `groupId:topicId:partition`, the
    /// topic id as Kafka prints a `Uuid` (URL-safe base64 of its 16 bytes, no padding).
    /// FindCoordinator (key type SHARE) names share-partitions this way, and its hash
    /// picks the `__share_group_state` partition.
    pub fn coordinator_key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.group_id,
            kafka_uuid_string(self.topic_id),
            self.partition
        )
    }

    /// Parses a coordinator key (`groupId:topicId:partition`; the group id may itself
    /// contain ':'); `None` when it has not that shape.
    pub fn parse_coordinator_key(key: &str) -> Option<StateKey> {
        let (rest, partition) = key.rsplit_once(':')?;
        let (group_id, topic_id) = rest.rsplit_once(':')?;
        Some(StateKey {
            group_id: group_id.to_string(),
            topic_id: parse_kafka_uuid(topic_id)?,
            partition: partition.parse().ok()?,
        })
    }
}

/// One range of offsets with one delivery state and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateBatch {
    pub first_offset: i64,
    pub last_offset: i64,
    pub delivery_state: i8,
    pub delivery_count: i16,
}

impl StateBatch {
    pub fn new(
        first_offset: i64,
        last_offset: i64,
        delivery_state: i8,
        delivery_count: i16,
    ) -> StateBatch {
        StateBatch {
            first_offset,
            last_offset,
            delivery_state,
            delivery_count,
        }
    }
}

/// ShareSnapshotValue: a share-partition's whole state (also how the coordinator keeps
/// it in memory, Kafka's `ShareGroupOffset`; -1 start offset: initialized without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotValue {
    pub snapshot_epoch: i32,
    pub state_epoch: i32,
    pub leader_epoch: i32,
    pub start_offset: i64,
    pub create_timestamp_ms: i64,
    pub write_timestamp_ms: i64,
    pub state_batches: Vec<StateBatch>,
}

/// ShareUpdateValue: what changed since the last snapshot (the batches given replace
/// the same offsets of the state; -1 start offset or leader epoch: unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateValue {
    pub snapshot_epoch: i32,
    pub leader_epoch: i32,
    pub start_offset: i64,
    pub state_batches: Vec<StateBatch>,
}

/// One record of the topic, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateRecord {
    /// `None`: a tombstone.
    Snapshot(StateKey, Option<SnapshotValue>),
    Update(StateKey, UpdateValue),
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// Not corruption: another coordinator's record type. Kafka skips such records.
    #[error("unknown record type {record_type}")]
    UnknownRecordType { record_type: i16 },
    #[error("unknown value version {version}")]
    UnknownValueVersion { version: i16 },
    #[error("group id of {len} bytes, more than an int16 length can say")]
    GroupIdTooLong { len: usize },
    #[error("a ShareUpdate record without a value")]
    UpdateWithoutValue,
}

/// The key of `record_type` (snapshot or update) for `key`.
pub fn encode_key(record_type: i16, key: &StateKey) -> Result<Bytes, RecordError> {
    assert!(
        matches!(record_type, SNAPSHOT_RECORD_TYPE | UPDATE_RECORD_TYPE),
        "no share record type {record_type}"
    );
    if i16::try_from(key.group_id.len()).is_err() {
        return Err(RecordError::GroupIdTooLong {
            len: key.group_id.len(),
        });
    }
    let mut out = BytesMut::with_capacity(2 + 2 + key.group_id.len() + 16 + 4);
    out.put_i16(record_type);
    put_string(&mut out, &key.group_id);
    out.put_slice(key.topic_id.as_bytes());
    out.put_i32(key.partition);
    Ok(out.freeze())
}

/// A record's key: its type and share-partition.
pub fn decode_key(bytes: &[u8]) -> Result<(i16, StateKey), RecordError> {
    let mut r = Reader::new(bytes);
    let record_type = r.i16()?;
    if !matches!(record_type, SNAPSHOT_RECORD_TYPE | UPDATE_RECORD_TYPE) {
        return Err(RecordError::UnknownRecordType { record_type });
    }
    let group_id = r.string(false, "group id")?;
    let topic_id = uuid::Uuid::from_slice(r.take(16)?).map_err(|_| CodecError::Truncated)?;
    let partition = r.i32()?;
    Ok((
        record_type,
        StateKey {
            group_id,
            topic_id,
            partition,
        },
    ))
}

/// A whole record: key and value (`None` for a null value).
pub fn decode_record(key: &[u8], value: Option<&[u8]>) -> Result<StateRecord, RecordError> {
    let (record_type, key) = decode_key(key)?;
    match (record_type, value) {
        (SNAPSHOT_RECORD_TYPE, None) => Ok(StateRecord::Snapshot(key, None)),
        (SNAPSHOT_RECORD_TYPE, Some(v)) => {
            Ok(StateRecord::Snapshot(key, Some(decode_snapshot_value(v)?)))
        }
        (_, Some(v)) => Ok(StateRecord::Update(key, decode_update_value(v)?)),
        (_, None) => Err(RecordError::UpdateWithoutValue),
    }
}

pub fn encode_snapshot_value(value: &SnapshotValue) -> Bytes {
    let mut out = BytesMut::with_capacity(48 + 24 * value.state_batches.len());
    out.put_i16(0);
    out.put_i32(value.snapshot_epoch);
    out.put_i32(value.state_epoch);
    out.put_i32(value.leader_epoch);
    out.put_i64(value.start_offset);
    out.put_i64(value.create_timestamp_ms);
    out.put_i64(value.write_timestamp_ms);
    put_batches(&mut out, &value.state_batches);
    put_uvarint(&mut out, 0);
    out.freeze()
}

pub fn encode_update_value(value: &UpdateValue) -> Bytes {
    let mut out = BytesMut::with_capacity(24 + 24 * value.state_batches.len());
    out.put_i16(0);
    out.put_i32(value.snapshot_epoch);
    out.put_i32(value.leader_epoch);
    out.put_i64(value.start_offset);
    put_batches(&mut out, &value.state_batches);
    put_uvarint(&mut out, 0);
    out.freeze()
}

pub fn decode_snapshot_value(bytes: &[u8]) -> Result<SnapshotValue, RecordError> {
    let mut r = Reader::new(bytes);
    value_version(&mut r)?;
    let value = SnapshotValue {
        snapshot_epoch: r.i32()?,
        state_epoch: r.i32()?,
        leader_epoch: r.i32()?,
        start_offset: r.i64()?,
        create_timestamp_ms: r.i64()?,
        write_timestamp_ms: r.i64()?,
        state_batches: read_batches(&mut r)?,
    };
    r.skip_tagged_fields()?;
    Ok(value)
}

/// Reads ShareUpdateValue v0; tagged fields a later Kafka adds (4.2's
/// DeliveryCompleteCount, tag 0) are skipped.
pub fn decode_update_value(bytes: &[u8]) -> Result<UpdateValue, RecordError> {
    let mut r = Reader::new(bytes);
    value_version(&mut r)?;
    let value = UpdateValue {
        snapshot_epoch: r.i32()?,
        leader_epoch: r.i32()?,
        start_offset: r.i64()?,
        state_batches: read_batches(&mut r)?,
    };
    r.skip_tagged_fields()?;
    Ok(value)
}

fn value_version(r: &mut Reader<'_>) -> Result<(), RecordError> {
    match r.i16()? {
        0 => Ok(()),
        version => Err(RecordError::UnknownValueVersion { version }),
    }
}

/// Invariant: fewer than `u32::MAX` batches (a share-partition has at most
/// `group.share.partition.max.record.locks` offsets in flight).
fn put_batches(out: &mut BytesMut, batches: &[StateBatch]) {
    let len = u32::try_from(batches.len() + 1).expect("state batches fit a compact array");
    put_uvarint(out, len);
    for b in batches {
        out.put_i64(b.first_offset);
        out.put_i64(b.last_offset);
        out.put_i8(b.delivery_state);
        out.put_i16(b.delivery_count);
        put_uvarint(out, 0);
    }
}

fn read_batches(r: &mut Reader<'_>) -> Result<Vec<StateBatch>, RecordError> {
    let count = r.array_len(true)?.ok_or(CodecError::Null {
        field: "state batches",
    })?;
    // A batch takes 20 bytes: never reserve more than the record holds.
    let mut batches = Vec::with_capacity(count.min(r.remaining() / 20));
    for _ in 0..count {
        batches.push(StateBatch::new(r.i64()?, r.i64()?, r.i8()?, r.i16()?));
        r.skip_tagged_fields()?;
    }
    Ok(batches)
}

/// Kafka's `Uuid.toString()`: URL-safe base64 of the 16 bytes, without padding.
pub fn kafka_uuid_string(id: uuid::Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        let sextets = chunk.len() + 1;
        for i in 0..sextets {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize]));
        }
    }
    out
}

/// The inverse of [`kafka_uuid_string`]; `None` for anything else.
pub fn parse_kafka_uuid(text: &str) -> Option<uuid::Uuid> {
    if text.len() != 22 {
        return None;
    }
    let sextet = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    };
    let mut bytes = Vec::with_capacity(16);
    for chunk in text.as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= sextet(*c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            bytes.push((n >> (16 - 8 * i)) as u8);
        }
    }
    let id = uuid::Uuid::from_slice(&bytes).ok()?;
    // Two spare bits in the last character: only one spelling is Kafka's.
    (kafka_uuid_string(id) == text).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StateKey {
        StateKey::new(
            "g",
            uuid::Uuid::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10),
            3,
        )
    }

    fn batch(first: i64, last: i64, state: i8, count: i16) -> StateBatch {
        StateBatch::new(first, last, state, count)
    }

    // The literal bytes follow Kafka's JSON schemas by hand (field order, classic key,
    // flexible value): what Kafka 4.1's generated ShareSnapshotKey/Value write.
    #[test]
    fn snapshot_key_and_value_have_kafkas_layout() {
        #[rustfmt::skip]
        let key_bytes: &[u8] = &[
            0, 0,                                           // record type 0: ShareSnapshot
            0, 1, b'g',                                     // group id "g"
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, // topic id
            0, 0, 0, 3,                                     // partition 3
        ];
        assert_eq!(
            &encode_key(SNAPSHOT_RECORD_TYPE, &key()).unwrap()[..],
            key_bytes
        );
        assert_eq!(decode_key(key_bytes), Ok((SNAPSHOT_RECORD_TYPE, key())));
        let value = SnapshotValue {
            snapshot_epoch: 1,
            state_epoch: 2,
            leader_epoch: 5,
            start_offset: 100,
            create_timestamp_ms: 7,
            write_timestamp_ms: 8,
            state_batches: vec![batch(100, 104, DELIVERY_STATE_ACKNOWLEDGED, 1)],
        };
        #[rustfmt::skip]
        let value_bytes: &[u8] = &[
            0, 0,                                   // version 0
            0, 0, 0, 1,                             // snapshot epoch
            0, 0, 0, 2,                             // state epoch
            0, 0, 0, 5,                             // leader epoch
            0, 0, 0, 0, 0, 0, 0, 100,               // start offset
            0, 0, 0, 0, 0, 0, 0, 7,                 // create timestamp
            0, 0, 0, 0, 0, 0, 0, 8,                 // write timestamp
            2,                                      // one batch (uvarint 1+1)
            0, 0, 0, 0, 0, 0, 0, 100,               //   first offset
            0, 0, 0, 0, 0, 0, 0, 104,               //   last offset
            2,                                      //   Acknowledged
            0, 1,                                   //   delivery count
            0,                                      //   no tagged fields
            0,                                      // no tagged fields
        ];
        assert_eq!(&encode_snapshot_value(&value)[..], value_bytes);
        assert_eq!(decode_snapshot_value(value_bytes), Ok(value.clone()));
        assert_eq!(
            decode_record(key_bytes, Some(value_bytes)),
            Ok(StateRecord::Snapshot(key(), Some(value)))
        );
        assert_eq!(
            decode_record(key_bytes, None),
            Ok(StateRecord::Snapshot(key(), None))
        );
    }

    #[test]
    fn update_value_has_kafkas_layout_and_later_tags_are_skipped() {
        let mut key_bytes = encode_key(UPDATE_RECORD_TYPE, &key()).unwrap().to_vec();
        assert_eq!(key_bytes[..2], [0, 1]);
        let value = UpdateValue {
            snapshot_epoch: 1,
            leader_epoch: -1,
            start_offset: -1,
            state_batches: vec![batch(7, 7, DELIVERY_STATE_ARCHIVED, 5)],
        };
        #[rustfmt::skip]
        let value_bytes: &[u8] = &[
            0, 0,                                           // version 0
            0, 0, 0, 1,                                     // snapshot epoch
            0xff, 0xff, 0xff, 0xff,                         // leader epoch -1
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // start offset -1
            2,                                              // one batch
            0, 0, 0, 0, 0, 0, 0, 7,
            0, 0, 0, 0, 0, 0, 0, 7,
            4,                                              //   Archived
            0, 5,
            0,
            0,                                              // no tagged fields
        ];
        assert_eq!(&encode_update_value(&value)[..], value_bytes);
        // Kafka 4.2 adds DeliveryCompleteCount as tag 0.
        let mut with_tag = value_bytes[..value_bytes.len() - 1].to_vec();
        with_tag.extend_from_slice(&[1, 0, 4, 0, 0, 0, 9]);
        assert_eq!(decode_update_value(&with_tag), Ok(value.clone()));
        assert_eq!(
            decode_record(&key_bytes, Some(value_bytes)),
            Ok(StateRecord::Update(key(), value))
        );
        assert_eq!(
            decode_record(&key_bytes, None),
            Err(RecordError::UpdateWithoutValue)
        );
        key_bytes[1] = 2;
        assert_eq!(
            decode_key(&key_bytes),
            Err(RecordError::UnknownRecordType { record_type: 2 })
        );
    }

    #[test]
    fn bad_values_are_errors() {
        let bytes = encode_update_value(&UpdateValue {
            snapshot_epoch: 0,
            leader_epoch: 0,
            start_offset: 0,
            state_batches: vec![batch(0, 1, 0, 1)],
        });
        for len in 0..bytes.len() {
            assert!(decode_update_value(&bytes[..len]).is_err(), "{len} bytes");
        }
        let mut v1 = bytes.to_vec();
        v1[1] = 1;
        assert_eq!(
            decode_update_value(&v1),
            Err(RecordError::UnknownValueVersion { version: 1 })
        );
        assert!(matches!(
            encode_key(
                UPDATE_RECORD_TYPE,
                &StateKey::new(&"x".repeat(40_000), uuid::Uuid::nil(), 0)
            ),
            Err(RecordError::GroupIdTooLong { len: 40_000 })
        ));
    }

    #[test]
    fn coordinator_keys_print_topic_ids_as_kafka_does() {
        // Kafka: new Uuid(0x0102030405060708L, 0x090a0b0c0d0e0f10L).toString().
        assert_eq!(kafka_uuid_string(key().topic_id), "AQIDBAUGBwgJCgsMDQ4PEA");
        assert_eq!(
            kafka_uuid_string(uuid::Uuid::nil()),
            "AAAAAAAAAAAAAAAAAAAAAA"
        );
        assert_eq!(key().coordinator_key(), "g:AQIDBAUGBwgJCgsMDQ4PEA:3");
        assert_eq!(
            StateKey::parse_coordinator_key("a:b:AQIDBAUGBwgJCgsMDQ4PEA:3"),
            Some(StateKey::new("a:b", key().topic_id, 3))
        );
        for bad in [
            "g:AQIDBAUGBwgJCgsMDQ4PEA",
            "g:nope:1",
            "g:AQIDBAUGBwgJCgsMDQ4PEB:1",
        ] {
            assert_eq!(StateKey::parse_coordinator_key(bad), None, "{bad}");
        }
        for n in [0u128, 1, u128::MAX, 0xdead_beef << 64] {
            let id = uuid::Uuid::from_u128(n);
            assert_eq!(parse_kafka_uuid(&kafka_uuid_string(id)), Some(id));
        }
    }
}
