//! Decoding the records of `__consumer_offsets` (Kafka's `OffsetCommitKey`/`Value` and
//! `GroupMetadataKey`/`Value` schemas), as Burrow's kafka consumer module reads them.
//!
//! Keys: a big-endian `i16` version, then v0/v1 `group, topic, partition` (an offset
//! commit) or v2 `group` (group metadata). Later key versions (the new consumer
//! protocol's records) carry no offsets and are skipped. Values: offset commit v0–v4
//! (v4 flexible), group metadata v0–v4 (v4 flexible). A key with no value is a
//! tombstone: the partition's offset, or the whole group, is gone.

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetsRecord {
    Commit {
        group: String,
        topic: String,
        partition: i32,
        offset: i64,
        timestamp_ms: i64,
    },
    OffsetTombstone {
        group: String,
        topic: String,
        partition: i32,
    },
    GroupMetadata {
        group: String,
        protocol_type: String,
        members: Vec<Member>,
    },
    GroupTombstone {
        group: String,
    },
    /// A key version that carries nothing Burrow reads.
    Other {
        key_version: i16,
    },
}

/// A group member and the partitions assigned to it (consumer protocol only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub client_id: String,
    pub client_host: String,
    pub assignment: Vec<(String, Vec<i32>)>,
}

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record has no key")]
    NoKey,
    #[error("{what}: need {need} bytes, have {have}")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("{what}: invalid {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error("unknown {what} version {version}")]
    UnknownVersion { what: &'static str, version: i16 },
}

/// Decodes one record of the offsets topic.
pub fn decode(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<OffsetsRecord, DecodeError> {
    let mut key = Reader::new(key.ok_or(DecodeError::NoKey)?, false);
    let key_version = key.i16("key version")?;
    match key_version {
        0 | 1 => {
            let group = key.string("group")?;
            let topic = key.string("topic")?;
            let partition = key.i32("partition")?;
            match value {
                None => Ok(OffsetsRecord::OffsetTombstone {
                    group,
                    topic,
                    partition,
                }),
                Some(value) => {
                    let (offset, timestamp_ms) = decode_offset_value(value)?;
                    Ok(OffsetsRecord::Commit {
                        group,
                        topic,
                        partition,
                        offset,
                        timestamp_ms,
                    })
                }
            }
        }
        2 => {
            let group = key.string("group")?;
            match value {
                None => Ok(OffsetsRecord::GroupTombstone { group }),
                Some(value) => {
                    let (protocol_type, members) = decode_group_value(value)?;
                    Ok(OffsetsRecord::GroupMetadata {
                        group,
                        protocol_type,
                        members,
                    })
                }
            }
        }
        version if version > 2 => Ok(OffsetsRecord::Other {
            key_version: version,
        }),
        version => Err(DecodeError::UnknownVersion {
            what: "key",
            version,
        }),
    }
}

/// `(offset, commit timestamp)` of an `OffsetCommitValue`.
fn decode_offset_value(value: &[u8]) -> Result<(i64, i64), DecodeError> {
    let version = Reader::new(value, false).i16("offset value version")?;
    if !(0..=4).contains(&version) {
        return Err(DecodeError::UnknownVersion {
            what: "offset value",
            version,
        });
    }
    let mut r = Reader::new(&value[2..], version >= 4);
    let offset = r.i64("offset")?;
    if version >= 3 {
        r.i32("leader epoch")?;
    }
    r.string("metadata")?;
    let timestamp_ms = r.i64("commit timestamp")?;
    Ok((offset, timestamp_ms))
}

/// `(protocol type, members)` of a `GroupMetadataValue`.
fn decode_group_value(value: &[u8]) -> Result<(String, Vec<Member>), DecodeError> {
    let version = Reader::new(value, false).i16("group value version")?;
    if !(0..=4).contains(&version) {
        return Err(DecodeError::UnknownVersion {
            what: "group value",
            version,
        });
    }
    let mut r = Reader::new(&value[2..], version >= 4);
    let protocol_type = r.string("protocol type")?;
    r.i32("generation")?;
    let protocol = r.nullable_string("protocol")?;
    r.nullable_string("leader")?;
    if version >= 2 {
        r.i64("current state timestamp")?;
    }
    let count = r.array_len("members")?;
    let mut members = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        r.string("member id")?;
        if version >= 3 {
            r.nullable_string("group instance id")?;
        }
        let client_id = r.string("client id")?;
        let client_host = r.string("client host")?;
        if version >= 1 {
            r.i32("rebalance timeout")?;
        }
        r.i32("session timeout")?;
        r.bytes("subscription")?;
        let assignment = r.bytes("assignment")?;
        r.skip_tags()?;
        let assignment =
            if protocol_type == "consumer" && protocol.is_some() && !assignment.is_empty() {
                decode_assignment(assignment)?
            } else {
                Vec::new()
            };
        members.push(Member {
            client_id,
            client_host,
            assignment,
        });
    }
    Ok((protocol_type, members))
}

/// The consumer protocol's `ConsumerProtocolAssignment` (v0–v3, never flexible).
fn decode_assignment(bytes: &[u8]) -> Result<Vec<(String, Vec<i32>)>, DecodeError> {
    let mut r = Reader::new(bytes, false);
    r.i16("assignment version")?;
    let topics = r.array_len("assigned topics")?;
    let mut assignment = Vec::with_capacity(topics.min(1024));
    for _ in 0..topics {
        let topic = r.string("assigned topic")?;
        let count = r.array_len("assigned partitions")?;
        let mut partitions = Vec::with_capacity(count.min(4096));
        for _ in 0..count {
            partitions.push(r.i32("assigned partition")?);
        }
        assignment.push((topic, partitions));
    }
    Ok(assignment)
}

/// A cursor over big-endian Kafka primitives; `flexible` switches strings, arrays and
/// bytes to their compact (unsigned varint length + 1) forms.
struct Reader<'a> {
    buf: &'a [u8],
    flexible: bool,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], flexible: bool) -> Self {
        Self { buf, flexible }
    }

    fn take(&mut self, what: &'static str, need: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < need {
            return Err(DecodeError::Truncated {
                what,
                need,
                have: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(need);
        self.buf = tail;
        Ok(head)
    }

    fn fixed<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(what, N)?);
        Ok(out)
    }

    fn i16(&mut self, what: &'static str) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.fixed(what)?))
    }

    fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.fixed(what)?))
    }

    fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.fixed(what)?))
    }

    fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..35).step_by(7) {
            let [byte] = self.fixed::<1>(what)?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Invalid {
            what,
            detail: "varint longer than 5 bytes".into(),
        })
    }

    /// A length, or `None` for null (-1, or 0 in compact form).
    fn length(&mut self, what: &'static str, wide: bool) -> Result<Option<usize>, DecodeError> {
        let length = if self.flexible {
            self.varint(what)? as i64 - 1
        } else if wide {
            i64::from(self.i32(what)?)
        } else {
            i64::from(self.i16(what)?)
        };
        match length {
            -1 => Ok(None),
            n if n < 0 => Err(DecodeError::Invalid {
                what,
                detail: format!("length {n}"),
            }),
            n => Ok(Some(n as usize)),
        }
    }

    fn nullable_string(&mut self, what: &'static str) -> Result<Option<String>, DecodeError> {
        let Some(length) = self.length(what, false)? else {
            return Ok(None);
        };
        let bytes = self.take(what, length)?;
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| DecodeError::Invalid {
                what,
                detail: "UTF-8".into(),
            })
    }

    fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        self.nullable_string(what)?.ok_or(DecodeError::Invalid {
            what,
            detail: "null string".into(),
        })
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        match self.length(what, true)? {
            None => Ok(&[]),
            Some(length) => self.take(what, length),
        }
    }

    fn array_len(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        Ok(self.length(what, true)?.unwrap_or(0))
    }

    /// Skips a flexible structure's tagged fields (nothing in the rigid versions).
    fn skip_tags(&mut self) -> Result<(), DecodeError> {
        if !self.flexible {
            return Ok(());
        }
        let count = self.varint("tagged fields")?;
        for _ in 0..count {
            self.varint("tag")?;
            let size = self.varint("tag size")? as usize;
            self.take("tag value", size)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as i16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    fn compact_string(out: &mut Vec<u8>, s: &str) {
        out.push(s.len() as u8 + 1);
        out.extend_from_slice(s.as_bytes());
    }

    fn offset_key(version: i16) -> Vec<u8> {
        let mut key = version.to_be_bytes().to_vec();
        string(&mut key, "g");
        string(&mut key, "t");
        key.extend_from_slice(&3i32.to_be_bytes());
        key
    }

    fn offset_value(version: i16) -> Vec<u8> {
        let mut v = version.to_be_bytes().to_vec();
        v.extend_from_slice(&42i64.to_be_bytes());
        if version >= 3 {
            v.extend_from_slice(&7i32.to_be_bytes());
        }
        if version >= 4 {
            compact_string(&mut v, "meta");
        } else {
            string(&mut v, "meta");
        }
        v.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
        if version == 1 {
            v.extend_from_slice(&(-1i64).to_be_bytes());
        }
        if version >= 4 {
            v.push(0);
        }
        v
    }

    #[test]
    fn offset_commit_values_v0_to_v4_decode() {
        for key_version in [0, 1] {
            for value_version in 0..=4 {
                let record = decode(
                    Some(&offset_key(key_version)),
                    Some(&offset_value(value_version)),
                );
                assert_eq!(
                    record,
                    Ok(OffsetsRecord::Commit {
                        group: "g".into(),
                        topic: "t".into(),
                        partition: 3,
                        offset: 42,
                        timestamp_ms: 1_700_000_000_000,
                    }),
                    "key v{key_version} value v{value_version}"
                );
            }
        }
    }

    #[test]
    fn tombstones_decode() {
        assert_eq!(
            decode(Some(&offset_key(1)), None),
            Ok(OffsetsRecord::OffsetTombstone {
                group: "g".into(),
                topic: "t".into(),
                partition: 3
            })
        );
        let mut key = 2i16.to_be_bytes().to_vec();
        string(&mut key, "g");
        assert_eq!(
            decode(Some(&key), None),
            Ok(OffsetsRecord::GroupTombstone { group: "g".into() })
        );
    }

    #[test]
    fn group_metadata_v3_with_a_consumer_assignment_decodes() {
        let mut assignment = 0i16.to_be_bytes().to_vec();
        assignment.extend_from_slice(&1i32.to_be_bytes());
        string(&mut assignment, "t");
        assignment.extend_from_slice(&2i32.to_be_bytes());
        assignment.extend_from_slice(&0i32.to_be_bytes());
        assignment.extend_from_slice(&2i32.to_be_bytes());
        assignment.extend_from_slice(&(-1i32).to_be_bytes());

        let mut v = 3i16.to_be_bytes().to_vec();
        string(&mut v, "consumer");
        v.extend_from_slice(&5i32.to_be_bytes());
        string(&mut v, "range");
        string(&mut v, "m1");
        v.extend_from_slice(&0i64.to_be_bytes());
        v.extend_from_slice(&1i32.to_be_bytes());
        string(&mut v, "m1");
        v.extend_from_slice(&(-1i16).to_be_bytes());
        string(&mut v, "client-1");
        string(&mut v, "/10.0.0.1");
        v.extend_from_slice(&30_000i32.to_be_bytes());
        v.extend_from_slice(&10_000i32.to_be_bytes());
        v.extend_from_slice(&0i32.to_be_bytes());
        v.extend_from_slice(&(assignment.len() as i32).to_be_bytes());
        v.extend_from_slice(&assignment);

        let mut key = 2i16.to_be_bytes().to_vec();
        string(&mut key, "g");
        assert_eq!(
            decode(Some(&key), Some(&v)),
            Ok(OffsetsRecord::GroupMetadata {
                group: "g".into(),
                protocol_type: "consumer".into(),
                members: vec![Member {
                    client_id: "client-1".into(),
                    client_host: "/10.0.0.1".into(),
                    assignment: vec![("t".into(), vec![0, 2])],
                }],
            })
        );
    }

    #[test]
    fn malformed_records_are_errors_not_panics() {
        assert_eq!(decode(None, None), Err(DecodeError::NoKey));
        let key = offset_key(1);
        assert!(matches!(
            decode(Some(&key[..5]), None),
            Err(DecodeError::Truncated { what: "topic", .. })
        ));
        let value = offset_value(2);
        assert!(decode(Some(&key), Some(&value[..9])).is_err());
        assert_eq!(
            decode(Some(&key), Some(&9i16.to_be_bytes())),
            Err(DecodeError::UnknownVersion {
                what: "offset value",
                version: 9
            })
        );
        assert_eq!(
            decode(Some(&5i16.to_be_bytes()), None),
            Ok(OffsetsRecord::Other { key_version: 5 })
        );
    }
}
