//! A Fetch response framed around record data the caller sends itself (from the page cache
//! with `sendfile`, never copied through user space). Everything but the record bytes is
//! encoded by the `kafka-protocol` crate; this module only cuts its output where each
//! partition's `records` goes and writes that field's length prefix.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, FetchResponse, ResponseHeader};
use kafka_protocol::protocol::Encodable;

use crate::request::RequestError;

/// One piece of a response frame, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Bytes(Bytes),
    /// The records of the `n`-th partition of the response (in topic, then partition
    /// order), of the length given to `encode_fetch_response`.
    Records(usize),
}

/// Encodes `response` (whose `records` fields are ignored) as a size-prefixed frame in
/// which the records of partition `n` are `Part::Records(n)`, `records_lens[n]` bytes long.
/// Takes the response apart as it goes: nothing of it is copied.
pub fn encode_fetch_response(
    version: i16,
    correlation_id: i32,
    mut response: FetchResponse,
    records_lens: &[usize],
) -> Result<Vec<Part>, RequestError> {
    let flexible = version >= 12;
    let fail = |e: anyhow::Error| RequestError::Encode {
        api_key: ApiKey::Fetch,
        api_version: version,
        reason: e.to_string(),
    };
    let encode = |buf: &mut BytesMut,
                  value: &dyn Fn(&mut BytesMut) -> anyhow::Result<()>|
     -> Result<(), RequestError> {
        buf.clear();
        value(buf).map_err(fail)
    };
    // The length of an empty array and of null records, and of an empty tag section.
    let empty_array_len = if flexible { 1 } else { 4 };
    let tags_len = usize::from(flexible);

    let mut out = BytesMut::new();
    let mut parts = Vec::new();
    let mut total = 0usize;
    let emit_bytes = |out: &mut BytesMut, parts: &mut Vec<Part>| {
        if !out.is_empty() {
            parts.push(Part::Bytes(out.split().freeze()));
        }
    };

    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = ApiKey::Fetch.response_header_version(version);
    // One buffer for each nesting level's shell, since the outer ones are finished only
    // after the inner ones.
    let (mut shell, mut topic_shell, mut partition_shell) =
        (BytesMut::new(), BytesMut::new(), BytesMut::new());
    encode(&mut shell, &|b| header.encode(b, header_version))?;
    out.extend_from_slice(&shell);

    let topics = std::mem::take(&mut response.responses);
    encode(&mut shell, &|b| response.encode(b, version))?;
    // Fields before `responses`: throttle (v1+), error code and session id (v7+).
    let responses_at = 4 + if version >= 7 { 6 } else { 0 };
    out.extend_from_slice(&shell[..responses_at]);
    put_array_len(&mut out, topics.len(), flexible);

    let mut index = 0usize;
    for mut topic in topics {
        let partitions = std::mem::take(&mut topic.partitions);
        encode(&mut topic_shell, &|b| topic.encode(b, version))?;
        let partitions_at = topic_shell.len() - empty_array_len - tags_len;
        out.extend_from_slice(&topic_shell[..partitions_at]);
        put_array_len(&mut out, partitions.len(), flexible);
        for mut partition in partitions {
            partition.records = None;
            encode(&mut partition_shell, &|b| partition.encode(b, version))?;
            let shell = &partition_shell;
            let records_at = shell.len() - empty_array_len - tags_len;
            let len = *records_lens
                .get(index)
                .ok_or_else(|| RequestError::Encode {
                    api_key: ApiKey::Fetch,
                    api_version: version,
                    reason: "fewer record lengths than partitions".into(),
                })?;
            out.extend_from_slice(&shell[..records_at]);
            if flexible {
                put_uvarint(&mut out, len as u64 + 1);
            } else {
                out.put_i32(len as i32);
            }
            if len > 0 {
                total += out.len();
                emit_bytes(&mut out, &mut parts);
                parts.push(Part::Records(index));
                total += len;
            }
            out.extend_from_slice(&shell[records_at + empty_array_len..]);
            index += 1;
        }
        out.extend_from_slice(&topic_shell[partitions_at + empty_array_len..]);
    }
    out.extend_from_slice(&shell[responses_at + empty_array_len..]);
    total += out.len();
    emit_bytes(&mut out, &mut parts);

    // The size prefix covers everything after itself.
    let mut frame = Vec::with_capacity(parts.len() + 1);
    frame.push(Part::Bytes(Bytes::copy_from_slice(
        &(total as i32).to_be_bytes(),
    )));
    frame.extend(parts);
    Ok(frame)
}

fn put_array_len(out: &mut BytesMut, len: usize, flexible: bool) {
    if flexible {
        put_uvarint(out, len as u64 + 1);
    } else {
        out.put_i32(len as i32);
    }
}

fn put_uvarint(out: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::encode_response;
    use kafka_protocol::messages::fetch_response::{
        AbortedTransaction, FetchableTopicResponse, PartitionData,
    };
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::StrBytes;

    fn response(records: &[Vec<u8>], version: i16) -> FetchResponse {
        let mut n = 0;
        let topics = ["alpha", "b"]
            .iter()
            .enumerate()
            .map(|(t, name)| {
                let partitions = (0..2)
                    .map(|p| {
                        let data = records[n].clone();
                        n += 1;
                        PartitionData::default()
                            .with_partition_index(p)
                            .with_error_code(if p == 1 { 1 } else { 0 })
                            .with_high_watermark(100 + p as i64)
                            .with_last_stable_offset(90)
                            .with_log_start_offset(if version >= 5 { 7 } else { -1 })
                            .with_aborted_transactions(if t == 0 {
                                None
                            } else {
                                Some(vec![AbortedTransaction::default()
                                    .with_producer_id(5.into())
                                    .with_first_offset(6)])
                            })
                            .with_records(Some(Bytes::from(data)))
                    })
                    .collect();
                FetchableTopicResponse::default()
                    .with_topic(if version < 13 {
                        TopicName(StrBytes::from_string(name.to_string()))
                    } else {
                        TopicName::default()
                    })
                    .with_topic_id(if version >= 13 {
                        uuid::Uuid::from_u128(t as u128 + 1)
                    } else {
                        uuid::Uuid::nil()
                    })
                    .with_partitions(partitions)
            })
            .collect();
        FetchResponse::default()
            .with_throttle_time_ms(3)
            .with_error_code(0)
            .with_session_id(if version >= 7 { 9 } else { 0 })
            .with_responses(topics)
    }

    #[test]
    fn spliced_frame_equals_the_codecs_encoding_at_every_version() {
        let records = vec![b"first".to_vec(), Vec::new(), vec![7u8; 300], b"z".to_vec()];
        for version in 4..=18 {
            let full = response(&records, version);
            let expected = encode_response(ApiKey::Fetch, version, 42, &full).unwrap();
            let lens: Vec<usize> = records.iter().map(Vec::len).collect();
            let parts = encode_fetch_response(version, 42, full.clone(), &lens).unwrap();
            let mut spliced = Vec::new();
            for part in parts {
                match part {
                    Part::Bytes(b) => spliced.extend_from_slice(&b),
                    Part::Records(n) => spliced.extend_from_slice(&records[n]),
                }
            }
            assert_eq!(spliced, expected.to_vec(), "version {version}");
        }
    }
}
