//! The share-group records of `__consumer_offsets`, byte-compatible with Kafka 4.1's
//! (`group-coordinator/src/main/resources/common/message/ShareGroup*{Key,Value}.json`), so
//! that Kafka's tools read them.
//!
//! A key is a big-endian int16 record type (the JSON's `apiKey`), then the key fields at
//! version 0, classic encoding (int16 string lengths). A value is an int16 schema version
//! (0) and the fields, flexible encoding (compact strings and arrays, a tagged-field
//! section after each struct). The types:
//!
//! | type | key                         | value                                                  |
//! |------|-----------------------------|--------------------------------------------------------|
//! | 10   | ShareGroupMemberMetadata    | RackId?, ClientId, ClientHost, SubscribedTopicNames     |
//! | 11   | ShareGroupMetadata          | Epoch, MetadataHash                                    |
//! | 12   | ShareGroupTargetAssignmentMetadata | AssignmentEpoch                                 |
//! | 13   | ShareGroupTargetAssignmentMember   | TopicPartitions [TopicId, Partitions]           |
//! | 14   | ShareGroupCurrentMemberAssignment  | MemberEpoch, PreviousMemberEpoch, State, AssignedPartitions |
//! | 15   | ShareGroupStatePartitionMetadata   | InitializingTopics, InitializedTopics, DeletingTopics |
//!
//! Keys 10, 13 and 14 name a member (GroupId, MemberId), the others only the group. A
//! null value is a tombstone. Type 9 (ShareGroupPartitionMetadata) is Kafka 4.0's, gone
//! in 4.1: a replay skips it, as Kafka's does.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::{
    put_array_len, put_compact_string, put_string, put_uvarint, CodecError, Reader,
};
use crate::group::consumer::Partitions;

pub const MEMBER_METADATA: i16 = 10;
pub const GROUP_METADATA: i16 = 11;
pub const TARGET_ASSIGNMENT_METADATA: i16 = 12;
pub const TARGET_ASSIGNMENT_MEMBER: i16 = 13;
pub const CURRENT_MEMBER_ASSIGNMENT: i16 = 14;
pub const STATE_PARTITION_METADATA: i16 = 15;

/// Kafka's 4.0 ShareGroupPartitionMetadata, no longer written.
const PARTITION_METADATA_4_0: i16 = 9;

/// Whether a `__consumer_offsets` key of this record type is a share group's.
pub fn is_share_record(record_type: i16) -> bool {
    (PARTITION_METADATA_4_0..=STATE_PARTITION_METADATA).contains(&record_type)
}

/// Kafka's `MemberState.STABLE`: a share group member has no other state.
pub const MEMBER_STATE_STABLE: i8 = 0;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShareRecordKey {
    Member { group_id: String, member_id: String },
    Group { group_id: String },
    TargetAssignment { group_id: String },
    TargetMember { group_id: String, member_id: String },
    CurrentAssignment { group_id: String, member_id: String },
    StatePartitions { group_id: String },
}

impl ShareRecordKey {
    pub fn group_id(&self) -> &str {
        match self {
            ShareRecordKey::Member { group_id, .. }
            | ShareRecordKey::Group { group_id }
            | ShareRecordKey::TargetAssignment { group_id }
            | ShareRecordKey::TargetMember { group_id, .. }
            | ShareRecordKey::CurrentAssignment { group_id, .. }
            | ShareRecordKey::StatePartitions { group_id } => group_id,
        }
    }

    fn record_type(&self) -> i16 {
        match self {
            ShareRecordKey::Member { .. } => MEMBER_METADATA,
            ShareRecordKey::Group { .. } => GROUP_METADATA,
            ShareRecordKey::TargetAssignment { .. } => TARGET_ASSIGNMENT_METADATA,
            ShareRecordKey::TargetMember { .. } => TARGET_ASSIGNMENT_MEMBER,
            ShareRecordKey::CurrentAssignment { .. } => CURRENT_MEMBER_ASSIGNMENT,
            ShareRecordKey::StatePartitions { .. } => STATE_PARTITION_METADATA,
        }
    }
}

/// ShareGroupMemberMetadataValue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberValue {
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
}

/// ShareGroupCurrentMemberAssignmentValue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentAssignmentValue {
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: i8,
    pub assigned: Partitions,
}

/// A topic of ShareGroupStatePartitionMetadataValue (`TopicPartitionsInfo`; the
/// deleting topics carry no partitions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateTopic {
    pub topic_id: uuid::Uuid,
    pub topic_name: String,
    pub partitions: Vec<i32>,
}

/// ShareGroupStatePartitionMetadataValue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatePartitionsValue {
    pub initializing: Vec<StateTopic>,
    pub initialized: Vec<StateTopic>,
    pub deleting: Vec<StateTopic>,
}

/// A value, by its key's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareRecordValue {
    Member(MemberValue),
    Group { epoch: i32, metadata_hash: i64 },
    TargetAssignment { assignment_epoch: i32 },
    TargetMember(Partitions),
    CurrentAssignment(CurrentAssignmentValue),
    StatePartitions(StatePartitionsValue),
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("not a share group record type: {record_type}")]
    NotShareRecord { record_type: i16 },
    /// Kafka 4.0's ShareGroupPartitionMetadata: skipped, as Kafka 4.1 does.
    #[error("Kafka 4.0's ShareGroupPartitionMetadata record (skipped)")]
    Obsolete,
    #[error("unknown value version {version}")]
    UnknownValueVersion { version: i16 },
    #[error("a {what} of {len} bytes, more than an int16 length can say")]
    TooLong { what: &'static str, len: usize },
}

/// A key's bytes; ids longer than an int16 length can say are an error, not a panic
/// (group and member ids are the client's).
pub fn encode_key(key: &ShareRecordKey) -> Result<Bytes, RecordError> {
    let mut out = BytesMut::with_capacity(64);
    out.put_i16(key.record_type());
    let mut id = |what: &'static str, s: &str| {
        if i16::try_from(s.len()).is_err() {
            return Err(RecordError::TooLong { what, len: s.len() });
        }
        put_string(&mut out, s);
        Ok(())
    };
    id("group id", key.group_id())?;
    if let ShareRecordKey::Member { member_id, .. }
    | ShareRecordKey::TargetMember { member_id, .. }
    | ShareRecordKey::CurrentAssignment { member_id, .. } = key
    {
        id("member id", member_id)?;
    }
    Ok(out.freeze())
}

pub fn decode_key(bytes: &[u8]) -> Result<ShareRecordKey, RecordError> {
    let mut r = Reader::new(bytes);
    let record_type = r.i16()?;
    if record_type == PARTITION_METADATA_4_0 {
        return Err(RecordError::Obsolete);
    }
    if !is_share_record(record_type) {
        return Err(RecordError::NotShareRecord { record_type });
    }
    let group_id = r.string(false, "group id")?;
    let mut member = || r.string(false, "member id");
    Ok(match record_type {
        MEMBER_METADATA => ShareRecordKey::Member {
            group_id,
            member_id: member()?,
        },
        GROUP_METADATA => ShareRecordKey::Group { group_id },
        TARGET_ASSIGNMENT_METADATA => ShareRecordKey::TargetAssignment { group_id },
        TARGET_ASSIGNMENT_MEMBER => ShareRecordKey::TargetMember {
            group_id,
            member_id: member()?,
        },
        CURRENT_MEMBER_ASSIGNMENT => ShareRecordKey::CurrentAssignment {
            group_id,
            member_id: member()?,
        },
        _ => ShareRecordKey::StatePartitions { group_id },
    })
}

/// Invariant: the value's type is its key's (the caller pairs them).
pub fn encode_value(value: &ShareRecordValue) -> Bytes {
    let mut out = BytesMut::with_capacity(64);
    out.put_i16(0);
    match value {
        ShareRecordValue::Member(m) => {
            match &m.rack_id {
                Some(rack) => put_compact_string(&mut out, rack),
                None => put_uvarint(&mut out, 0),
            }
            put_compact_string(&mut out, &m.client_id);
            put_compact_string(&mut out, &m.client_host);
            put_array_len(&mut out, Some(m.subscribed_topic_names.len()), true);
            for name in &m.subscribed_topic_names {
                put_compact_string(&mut out, name);
            }
        }
        ShareRecordValue::Group {
            epoch,
            metadata_hash,
        } => {
            out.put_i32(*epoch);
            out.put_i64(*metadata_hash);
        }
        ShareRecordValue::TargetAssignment { assignment_epoch } => out.put_i32(*assignment_epoch),
        ShareRecordValue::TargetMember(partitions) => put_partitions(&mut out, partitions),
        ShareRecordValue::CurrentAssignment(c) => {
            out.put_i32(c.member_epoch);
            out.put_i32(c.previous_member_epoch);
            out.put_i8(c.state);
            put_partitions(&mut out, &c.assigned);
        }
        ShareRecordValue::StatePartitions(s) => {
            put_state_topics(&mut out, &s.initializing, true);
            put_state_topics(&mut out, &s.initialized, true);
            put_state_topics(&mut out, &s.deleting, false);
        }
    }
    put_uvarint(&mut out, 0);
    out.freeze()
}

/// The value under a key of `key`'s type; tagged fields a later Kafka adds are skipped.
pub fn decode_value(key: &ShareRecordKey, bytes: &[u8]) -> Result<ShareRecordValue, RecordError> {
    let mut r = Reader::new(bytes);
    match r.i16()? {
        0 => {}
        version => return Err(RecordError::UnknownValueVersion { version }),
    }
    let value = match key {
        ShareRecordKey::Member { .. } => {
            let rack_id = match r.compact_len()? {
                None => None,
                Some(len) => Some(utf8(r.take(len)?, "rack id")?),
            };
            let client_id = r.string(true, "client id")?;
            let client_host = r.string(true, "client host")?;
            let count = r.array_len(true)?.ok_or(CodecError::Null {
                field: "subscribed topic names",
            })?;
            let mut subscribed_topic_names = Vec::with_capacity(count.min(r.remaining()));
            for _ in 0..count {
                subscribed_topic_names.push(r.string(true, "topic name")?);
            }
            ShareRecordValue::Member(MemberValue {
                rack_id,
                client_id,
                client_host,
                subscribed_topic_names,
            })
        }
        ShareRecordKey::Group { .. } => ShareRecordValue::Group {
            epoch: r.i32()?,
            metadata_hash: r.i64()?,
        },
        ShareRecordKey::TargetAssignment { .. } => ShareRecordValue::TargetAssignment {
            assignment_epoch: r.i32()?,
        },
        ShareRecordKey::TargetMember { .. } => {
            ShareRecordValue::TargetMember(read_partitions(&mut r)?)
        }
        ShareRecordKey::CurrentAssignment { .. } => {
            ShareRecordValue::CurrentAssignment(CurrentAssignmentValue {
                member_epoch: r.i32()?,
                previous_member_epoch: r.i32()?,
                state: r.i8()?,
                assigned: read_partitions(&mut r)?,
            })
        }
        ShareRecordKey::StatePartitions { .. } => {
            ShareRecordValue::StatePartitions(StatePartitionsValue {
                initializing: read_state_topics(&mut r, true)?,
                initialized: read_state_topics(&mut r, true)?,
                deleting: read_state_topics(&mut r, false)?,
            })
        }
    };
    r.skip_tagged_fields()?;
    Ok(value)
}

fn utf8(bytes: &[u8], field: &'static str) -> Result<String, CodecError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| CodecError::NotUtf8 { field })
}

fn put_partitions(out: &mut BytesMut, partitions: &Partitions) {
    put_array_len(out, Some(partitions.len()), true);
    for (topic_id, ps) in partitions {
        out.put_slice(topic_id.as_bytes());
        put_array_len(out, Some(ps.len()), true);
        for p in ps {
            out.put_i32(*p);
        }
        put_uvarint(out, 0);
    }
}

fn read_partitions(r: &mut Reader<'_>) -> Result<Partitions, RecordError> {
    let count = r
        .array_len(true)?
        .ok_or(CodecError::Null { field: "topics" })?;
    let mut partitions = Partitions::new();
    for _ in 0..count {
        let topic_id = uuid::Uuid::from_slice(r.take(16)?).map_err(|_| CodecError::Truncated)?;
        let n = r.array_len(true)?.ok_or(CodecError::Null {
            field: "partitions",
        })?;
        let set = partitions.entry(topic_id).or_default();
        for _ in 0..n {
            set.insert(r.i32()?);
        }
        r.skip_tagged_fields()?;
    }
    Ok(partitions)
}

fn put_state_topics(out: &mut BytesMut, topics: &[StateTopic], with_partitions: bool) {
    put_array_len(out, Some(topics.len()), true);
    for t in topics {
        out.put_slice(t.topic_id.as_bytes());
        put_compact_string(out, &t.topic_name);
        if with_partitions {
            put_array_len(out, Some(t.partitions.len()), true);
            for p in &t.partitions {
                out.put_i32(*p);
            }
        }
        put_uvarint(out, 0);
    }
}

fn read_state_topics(
    r: &mut Reader<'_>,
    with_partitions: bool,
) -> Result<Vec<StateTopic>, RecordError> {
    let count = r
        .array_len(true)?
        .ok_or(CodecError::Null { field: "topics" })?;
    let mut topics = Vec::with_capacity(count.min(r.remaining() / 18));
    for _ in 0..count {
        let topic_id = uuid::Uuid::from_slice(r.take(16)?).map_err(|_| CodecError::Truncated)?;
        let topic_name = r.string(true, "topic name")?;
        let mut partitions = Vec::new();
        if with_partitions {
            let n = r.array_len(true)?.ok_or(CodecError::Null {
                field: "partitions",
            })?;
            partitions.reserve(n.min(r.remaining() / 4));
            for _ in 0..n {
                partitions.push(r.i32()?);
            }
        }
        r.skip_tagged_fields()?;
        topics.push(StateTopic {
            topic_id,
            topic_name,
            partitions,
        });
    }
    Ok(topics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn topic() -> uuid::Uuid {
        uuid::Uuid::from_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10)
    }

    #[test]
    fn keys_have_kafkas_layout() {
        let key = ShareRecordKey::CurrentAssignment {
            group_id: "g".into(),
            member_id: "m1".into(),
        };
        let bytes = encode_key(&key).unwrap();
        assert_eq!(&bytes[..], b"\x00\x0e\x00\x01g\x00\x02m1");
        assert_eq!(decode_key(&bytes).unwrap(), key);
        let group = ShareRecordKey::Group {
            group_id: "g".into(),
        };
        assert_eq!(&encode_key(&group).unwrap()[..], b"\x00\x0b\x00\x01g");
        assert_eq!(decode_key(b"\x00\x09\x00\x01g"), Err(RecordError::Obsolete));
        assert_eq!(
            decode_key(b"\x00\x02\x00\x01g"),
            Err(RecordError::NotShareRecord { record_type: 2 })
        );
        let long = ShareRecordKey::Member {
            group_id: "g".into(),
            member_id: "m".repeat(40_000),
        };
        assert!(matches!(
            encode_key(&long),
            Err(RecordError::TooLong {
                what: "member id",
                ..
            })
        ));
    }

    #[test]
    fn values_have_kafkas_layout() {
        let member = ShareRecordValue::Member(MemberValue {
            rack_id: None,
            client_id: "c".into(),
            client_host: "/h".into(),
            subscribed_topic_names: vec!["t".into()],
        });
        // version 0, null rack (0), "c", "/h", [ "t" ], no tags.
        assert_eq!(
            &encode_value(&member)[..],
            b"\x00\x00\x00\x02c\x03/h\x02\x02t\x00"
        );
        let current = ShareRecordValue::CurrentAssignment(CurrentAssignmentValue {
            member_epoch: 3,
            previous_member_epoch: 2,
            state: MEMBER_STATE_STABLE,
            assigned: Partitions::from([(topic(), BTreeSet::from([0, 1]))]),
        });
        let mut want = b"\x00\x00\x00\x00\x00\x03\x00\x00\x00\x02\x00\x02".to_vec();
        want.extend_from_slice(topic().as_bytes());
        want.extend_from_slice(b"\x03\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00");
        assert_eq!(&encode_value(&current)[..], &want[..]);
        let state = ShareRecordValue::StatePartitions(StatePartitionsValue {
            initialized: vec![StateTopic {
                topic_id: topic(),
                topic_name: "t".into(),
                partitions: vec![0],
            }],
            ..Default::default()
        });
        let mut want = b"\x00\x00\x01\x02".to_vec();
        want.extend_from_slice(topic().as_bytes());
        want.extend_from_slice(b"\x02t\x02\x00\x00\x00\x00\x00\x01\x00");
        assert_eq!(&encode_value(&state)[..], &want[..]);
    }

    #[test]
    fn every_value_round_trips_and_later_tags_are_skipped() {
        let cases = [
            (
                ShareRecordKey::Member {
                    group_id: "g".into(),
                    member_id: "m".into(),
                },
                ShareRecordValue::Member(MemberValue {
                    rack_id: Some("r1".into()),
                    client_id: "c".into(),
                    client_host: "/127.0.0.1".into(),
                    subscribed_topic_names: vec!["a".into(), "b".into()],
                }),
            ),
            (
                ShareRecordKey::Group {
                    group_id: "g".into(),
                },
                ShareRecordValue::Group {
                    epoch: 7,
                    metadata_hash: -5,
                },
            ),
            (
                ShareRecordKey::TargetAssignment {
                    group_id: "g".into(),
                },
                ShareRecordValue::TargetAssignment {
                    assignment_epoch: 7,
                },
            ),
            (
                ShareRecordKey::TargetMember {
                    group_id: "g".into(),
                    member_id: "m".into(),
                },
                ShareRecordValue::TargetMember(Partitions::from([(topic(), BTreeSet::from([2]))])),
            ),
            (
                ShareRecordKey::StatePartitions {
                    group_id: "g".into(),
                },
                ShareRecordValue::StatePartitions(StatePartitionsValue {
                    initializing: vec![],
                    initialized: vec![StateTopic {
                        topic_id: topic(),
                        topic_name: "t".into(),
                        partitions: vec![0, 1],
                    }],
                    deleting: vec![StateTopic {
                        topic_id: uuid::Uuid::from_u128(9),
                        topic_name: "gone".into(),
                        partitions: vec![],
                    }],
                }),
            ),
        ];
        for (key, value) in cases {
            let bytes = encode_value(&value);
            assert_eq!(decode_value(&key, &bytes).unwrap(), value);
            // A tagged field of a later version (tag 0, two bytes) is skipped.
            let mut tagged = bytes[..bytes.len() - 1].to_vec();
            tagged.extend_from_slice(b"\x01\x00\x02\xab\xcd");
            assert_eq!(decode_value(&key, &tagged).unwrap(), value);
            assert!(decode_value(&key, &bytes[..bytes.len() - 1]).is_err());
        }
        let group = ShareRecordKey::Group {
            group_id: "g".into(),
        };
        assert_eq!(
            decode_value(&group, b"\x00\x01"),
            Err(RecordError::UnknownValueVersion { version: 1 })
        );
    }
}
