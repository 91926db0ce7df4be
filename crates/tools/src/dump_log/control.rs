//! What `DumpLogSegments` prints after a control record's metadata: the transaction
//! marker of ABORT and COMMIT records, the KRaft records as the JSON of Kafka's generated
//! `*JsonConverter`s, and the type of any other.
//!
//! A control record's key is a version (int16, 0) and a type (int16); its value is the
//! type's message. Kafka decodes the KRaft messages at schema version 0 whatever their
//! own `version` field says, and writes their JSON at that field's version; so does this.
//! Where Kafka's tool dies of an exception on a malformed record (a short key, a negative
//! version, a value too short for its message), this returns the exception's message.

use bytes::Bytes;
use kafka_protocol::messages::{
    LeaderChangeMessage, SnapshotFooterRecord, SnapshotHeaderRecord, VotersRecord,
};
use kafka_protocol::protocol::Decodable;

use crate::common::kafka_uuid_string;

/// The text after a control record's `headerKeys: […]`, with its leading space.
pub(super) fn describe(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<String, String> {
    let type_id = parse_type_id(key)?;
    let value = || {
        value.ok_or_else(|| {
            "Cannot invoke \"java.nio.ByteBuffer.duplicate()\" because \"value\" is null"
                .to_string()
        })
    };
    Ok(match type_id {
        0 | 1 => {
            let marker = if type_id == 0 { "ABORT" } else { "COMMIT" };
            format!(
                " endTxnMarker: {marker} coordinatorEpoch: {}",
                end_txn_coordinator_epoch(value()?)?
            )
        }
        2 => {
            let message: LeaderChangeMessage = decode(value()?)?;
            format!(" LeaderChange: {}", leader_change_json(&message))
        }
        3 => {
            let header: SnapshotHeaderRecord = decode(value()?)?;
            format!(
                " SnapshotHeader {{\"version\":{},\"lastContainedLogTimestamp\":{}}}",
                header.version, header.last_contained_log_timestamp
            )
        }
        4 => {
            let footer: SnapshotFooterRecord = decode(value()?)?;
            format!(" SnapshotFooter {{\"version\":{}}}", footer.version)
        }
        5 => {
            let (version, kraft_version) = kraft_version_record(value()?)?;
            format!(" KRaftVersion {{\"version\":{version},\"kRaftVersion\":{kraft_version}}}")
        }
        6 => {
            let voters: VotersRecord = decode(value()?)?;
            format!(" KRaftVoters {}", voters_json(&voters))
        }
        other => format!(" controlType: UNKNOWN({other})"),
    })
}

/// Kafka's `ControlRecordType.parseTypeId`.
fn parse_type_id(key: Option<&[u8]>) -> Result<i16, String> {
    let key = key.unwrap_or_default();
    if key.len() < 4 {
        return Err(format!(
            "Invalid value size found for end control record key. Must have at least 4 bytes, but found only {}",
            key.len()
        ));
    }
    let version = i16::from_be_bytes([key[0], key[1]]);
    if version < 0 {
        return Err(format!(
            "Invalid version found for control record: {version}. May indicate data corruption"
        ));
    }
    Ok(i16::from_be_bytes([key[2], key[3]]))
}

/// Kafka's `EndTransactionMarker.deserializeValue`: a value of a newer version is read
/// as version 0, whose one field is the coordinator epoch.
fn end_txn_coordinator_epoch(value: &[u8]) -> Result<i32, String> {
    let version = value
        .get(0..2)
        .map(|v| i16::from_be_bytes([v[0], v[1]]))
        .ok_or_else(buffer_underflow)?;
    if version < 0 {
        return Err(format!(
            "Invalid version found for end transaction marker: {version}. May indicate data corruption"
        ));
    }
    value
        .get(2..6)
        .map(|v| i32::from_be_bytes([v[0], v[1], v[2], v[3]]))
        .ok_or_else(buffer_underflow)
}

/// Java's `BufferUnderflowException`, which has no message.
fn buffer_underflow() -> String {
    "java.nio.BufferUnderflowException".into()
}

fn decode<M: Decodable>(value: &[u8]) -> Result<M, String> {
    M::decode(&mut Bytes::copy_from_slice(value), 0).map_err(|e| e.to_string())
}

/// `KRaftVersionRecord` (not in the protocol crate): version and kraft.version (int16
/// each), then tagged fields, which Kafka's JSON leaves out.
fn kraft_version_record(value: &[u8]) -> Result<(i16, i16), String> {
    let field = |at: usize| {
        value
            .get(at..at + 2)
            .map(|v| i16::from_be_bytes([v[0], v[1]]))
            .ok_or_else(buffer_underflow)
    };
    Ok((field(0)?, field(2)?))
}

fn leader_change_json(message: &LeaderChangeMessage) -> String {
    let voters = |voters: &[kafka_protocol::messages::leader_change_message::Voter]| {
        let items: Vec<String> = voters
            .iter()
            .map(|v| {
                if message.version >= 1 {
                    format!(
                        "{{\"voterId\":{},\"voterDirectoryId\":\"{}\"}}",
                        v.voter_id,
                        kafka_uuid_string(&v.voter_directory_id)
                    )
                } else {
                    format!("{{\"voterId\":{}}}", v.voter_id)
                }
            })
            .collect();
        items.join(",")
    };
    format!(
        "{{\"version\":{},\"leaderId\":{},\"voters\":[{}],\"grantingVoters\":[{}]}}",
        message.version,
        message.leader_id.0,
        voters(&message.voters),
        voters(&message.granting_voters)
    )
}

fn voters_json(record: &VotersRecord) -> String {
    let voters: Vec<String> = record
        .voters
        .iter()
        .map(|voter| {
            let endpoints: Vec<String> = voter
                .endpoints
                .iter()
                .map(|e| {
                    format!(
                        "{{\"name\":{},\"host\":{},\"port\":{}}}",
                        json_string(&e.name),
                        json_string(&e.host),
                        e.port
                    )
                })
                .collect();
            format!(
                "{{\"voterId\":{},\"voterDirectoryId\":\"{}\",\"endpoints\":[{}],\"kRaftVersionFeature\":{{\"minSupportedVersion\":{},\"maxSupportedVersion\":{}}}}}",
                voter.voter_id.0,
                kafka_uuid_string(&voter.voter_directory_id),
                endpoints.join(","),
                voter.k_raft_version_feature.min_supported_version,
                voter.k_raft_version_feature.max_supported_version
            )
        })
        .collect();
    format!(
        "{{\"version\":{},\"voters\":[{}]}}",
        record.version,
        voters.join(",")
    )
}

/// A JSON string as Jackson writes one: quotes, backslashes and control characters
/// escaped (`\u00XX` in upper case where there is no short form), the rest as is.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::voters_record::{Endpoint, KRaftVersionFeature, Voter};
    use kafka_protocol::messages::BrokerId;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    fn encode<M: Encodable>(message: &M) -> Vec<u8> {
        let mut out = bytes::BytesMut::new();
        message.encode(&mut out, 0).unwrap();
        out.to_vec()
    }

    fn key(type_id: i16) -> [u8; 4] {
        let t = type_id.to_be_bytes();
        [0, 0, t[0], t[1]]
    }

    #[test]
    fn transaction_markers_are_named() {
        let value = [0u8, 0, 0, 0, 0, 7];
        assert_eq!(
            describe(Some(&key(1)), Some(&value)).unwrap(),
            " endTxnMarker: COMMIT coordinatorEpoch: 7"
        );
        // A newer marker version is read as version 0.
        let value = [0u8, 1, 0, 0, 0, 3, 0];
        assert_eq!(
            describe(Some(&key(0)), Some(&value)).unwrap(),
            " endTxnMarker: ABORT coordinatorEpoch: 3"
        );
    }

    #[test]
    fn kraft_control_records_print_as_kafkas_json() {
        let header = SnapshotHeaderRecord::default().with_last_contained_log_timestamp(1234);
        assert_eq!(
            describe(Some(&key(3)), Some(&encode(&header))).unwrap(),
            " SnapshotHeader {\"version\":0,\"lastContainedLogTimestamp\":1234}"
        );
        assert_eq!(
            describe(
                Some(&key(4)),
                Some(&encode(&SnapshotFooterRecord::default()))
            )
            .unwrap(),
            " SnapshotFooter {\"version\":0}"
        );
        assert_eq!(
            describe(Some(&key(5)), Some(&[0, 0, 0, 1, 0])).unwrap(),
            " KRaftVersion {\"version\":0,\"kRaftVersion\":1}"
        );
        let voter =
            kafka_protocol::messages::leader_change_message::Voter::default().with_voter_id(3);
        let leader_change = LeaderChangeMessage::default()
            .with_leader_id(BrokerId(3))
            .with_voters(vec![voter.clone()])
            .with_granting_voters(vec![voter]);
        assert_eq!(
            describe(Some(&key(2)), Some(&encode(&leader_change))).unwrap(),
            " LeaderChange: {\"version\":0,\"leaderId\":3,\"voters\":[{\"voterId\":3}],\"grantingVoters\":[{\"voterId\":3}]}"
        );
        let voters = VotersRecord::default().with_voters(vec![Voter::default()
            .with_voter_id(BrokerId(1))
            .with_endpoints(vec![Endpoint::default()
                .with_name(StrBytes::from_static_str("CONTROLLER"))
                .with_host(StrBytes::from_static_str("h\"q\u{1}"))
                .with_port(9093)])
            .with_k_raft_version_feature(
                KRaftVersionFeature::default()
                    .with_min_supported_version(0)
                    .with_max_supported_version(1),
            )]);
        assert_eq!(
            describe(Some(&key(6)), Some(&encode(&voters))).unwrap(),
            " KRaftVoters {\"version\":0,\"voters\":[{\"voterId\":1,\"voterDirectoryId\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"endpoints\":[{\"name\":\"CONTROLLER\",\"host\":\"h\\\"q\\u0001\",\"port\":9093}],\"kRaftVersionFeature\":{\"minSupportedVersion\":0,\"maxSupportedVersion\":1}}]}"
        );
    }

    #[test]
    fn other_types_are_unknown_and_malformed_keys_fail_as_in_kafka() {
        assert_eq!(
            describe(Some(&key(9)), None).unwrap(),
            " controlType: UNKNOWN(9)"
        );
        assert_eq!(
            describe(Some(&[0, 0, 1]), None).unwrap_err(),
            "Invalid value size found for end control record key. Must have at least 4 bytes, but found only 3"
        );
        assert_eq!(
            describe(Some(&[0xff, 0xff, 0, 1]), None).unwrap_err(),
            "Invalid version found for control record: -1. May indicate data corruption"
        );
        assert_eq!(
            describe(Some(&key(1)), Some(&[0, 0, 0])).unwrap_err(),
            "java.nio.BufferUnderflowException"
        );
    }
}
