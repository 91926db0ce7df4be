//! ApiVersions: the first request of every client. A version we do not serve gets the v0
//! answer with UNSUPPORTED_VERSION and our table, so the client can retry with one we do.

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::{FinalizedFeatureKey, SupportedFeatureKey};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::request::{api_versions_response, encode_response, RequestError, RequestFrame};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;

/// What rafka serves: (API, lowest version, highest version), Kafka 4.x's floors (KIP-896)
/// and the `kafka-protocol` crate's ceilings. ApiVersions advertises exactly this table,
/// except Produce's floor (see `api_versions::advertised`).
pub const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 13),
    (ApiKey::Fetch, 4, 18),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::Metadata, 0, 13),
    (ApiKey::ApiVersions, 0, 4),
    // Kafka advertises the SASL APIs on every listener; a PLAINTEXT one answers them
    // ILLEGAL_SASL_STATE.
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::AlterReplicaLogDirs, 1, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 2),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::AlterPartitionReassignments, 0, 1),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::DescribeQuorum, 0, 2),
    (ApiKey::DescribeTopicPartitions, 0, 0),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DescribeGroups, 0, 6),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
    (ApiKey::ListConfigResources, 0, 1),
    // KIP-932 share groups: v1 is the only version Kafka 4.1 serves (v0 was its early
    // access); the share-group state APIs (the share coordinator's, 83-87) have only
    // v0, as have the share offsets admin APIs (90-92).
    (ApiKey::ShareGroupHeartbeat, 1, 1),
    (ApiKey::ShareGroupDescribe, 1, 1),
    (ApiKey::ShareFetch, 1, 1),
    (ApiKey::ShareAcknowledge, 1, 1),
    (ApiKey::InitializeShareGroupState, 0, 0),
    (ApiKey::ReadShareGroupState, 0, 0),
    (ApiKey::WriteShareGroupState, 0, 0),
    (ApiKey::DeleteShareGroupState, 0, 0),
    (ApiKey::ReadShareGroupStateSummary, 0, 0),
    (ApiKey::DescribeShareGroupOffsets, 0, 0),
    (ApiKey::AlterShareGroupOffsets, 0, 0),
    (ApiKey::DeleteShareGroupOffsets, 0, 0),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::WriteTxnMarkers, 1, 1),
    (ApiKey::AddPartitionsToTxn, 0, 5),
    (ApiKey::AddOffsetsToTxn, 0, 4),
    // v5 is transactions V2: the client learns whether to use it from the finalized
    // `transaction.version`, and Kafka advertises it whatever that level is.
    (ApiKey::EndTxn, 0, 5),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 2),
    (ApiKey::DescribeProducers, 0, 0),
    // v5 is transactions V2: the group coordinator adds the offsets partition itself.
    (ApiKey::TxnOffsetCommit, 0, 5),
    // ACLs (KIP-896 dropped v0).
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
];

pub fn supported_versions(api_key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED_APIS
        .iter()
        .find(|(k, _, _)| *k == api_key)
        .map(|(_, min, max)| (*min, *max))
}

/// Feature levels as a Kafka 4.1 cluster reports them: (name, lowest supported, highest
/// supported, finalized level). `metadata.version` 27 is 4.1-IV1; `group.version` 1 turns
/// on KIP-848's consumer groups; `kraft.version` 1 is a KIP-853 quorum;
/// `transaction.version` is finalized at the cluster's level (see [`features`]).
const FEATURES: &[(&str, i16, i16, i16)] = &[
    ("metadata.version", 7, 27, 27),
    ("group.version", 0, 1, 1),
    ("kraft.version", 0, 1, 1),
    ("transaction.version", 0, 2, 2),
];

/// [`FEATURES`] with `transaction.version` at the level the cluster finalized (2 unless
/// it was formatted lower). Kafka leaves a feature at level 0 out of FinalizedFeatures.
fn features(transaction_version: i16) -> Vec<(&'static str, i16, i16, Option<i16>)> {
    FEATURES
        .iter()
        .map(|&(name, min, max, level)| {
            let level = if name == "transaction.version" {
                transaction_version
            } else {
                level
            };
            (name, min, max, (level > 0).then_some(level))
        })
        .collect()
}

/// The finalized features' epoch. Kafka reports the metadata offset that finalized them;
/// rafka's levels are fixed from the start, so the first offset.
const FINALIZED_FEATURES_EPOCH: i64 = 0;

/// The table ApiVersions advertises: what rafka serves, except that Produce starts at 0.
/// Kafka 4 does the same (KAFKA-18659): librdkafka before 2.10 would not send compressed
/// batches to a broker that does not list Produce v0, while any request below v3 is
/// refused like any other unsupported version.
fn advertised() -> Vec<(ApiKey, i16, i16)> {
    SUPPORTED_APIS
        .iter()
        .map(|&(key, min, max)| {
            let min = if key == ApiKey::Produce { 0 } else { min };
            (key, min, max)
        })
        .collect()
}

pub(super) fn handle(broker: &Broker, request: &RequestFrame) -> Result<Bytes, RequestError> {
    let version = request.api_version();
    let (min, max) = supported_versions(request.api_key).unwrap_or((0, 0));
    if !(min..=max).contains(&version) {
        // KIP-511: a v0 answer that lists only ApiVersions' own range, the one the client
        // needs to retry with (Kafka's ApiVersionsRequest.getErrorResponse).
        let mut response = api_versions_response(&[(ApiKey::ApiVersions, min, max)]);
        response.error_code = ErrorCode::UnsupportedVersion.code();
        return encode_response(request.api_key, 0, request.correlation_id(), &response);
    }
    let mut response = api_versions_response(&advertised());
    if version >= 3 {
        // Before v4 Kafka leaves out features whose lowest level is 0: older clients
        // could not parse a range starting at 0 (KAFKA-17011).
        let features = features(broker.txns.finalized_version().0);
        response.supported_features = features
            .iter()
            .filter(|(_, min, _, _)| version >= 4 || *min > 0)
            .map(|(name, min, max, _)| {
                SupportedFeatureKey::default()
                    .with_name(StrBytes::from_static_str(name))
                    .with_min_version(*min)
                    .with_max_version(*max)
            })
            .collect();
        response.finalized_features = features
            .iter()
            .filter_map(|(name, _, _, level)| {
                level.map(|level| {
                    FinalizedFeatureKey::default()
                        .with_name(StrBytes::from_static_str(name))
                        .with_min_version_level(level)
                        .with_max_version_level(level)
                })
            })
            .collect();
        response.finalized_features_epoch = FINALIZED_FEATURES_EPOCH;
    }
    match request.decode_body::<ApiVersionsRequest>() {
        Ok(body) => {
            if version >= 3
                && !(valid_software_field(&body.client_software_name)
                    && valid_software_field(&body.client_software_version))
            {
                response.error_code = ErrorCode::InvalidRequest.code();
            }
        }
        Err(_) => response.error_code = ErrorCode::InvalidRequest.code(),
    }
    encode_response(
        request.api_key,
        version,
        request.correlation_id(),
        &response,
    )
}

/// Kafka's rule for client_software_name/version: `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
fn valid_software_field(value: &str) -> bool {
    let bytes = value.as_bytes();
    let edge = |b: &u8| b.is_ascii_alphanumeric();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            edge(first)
                && edge(last)
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_names_follow_kafka_pattern() {
        assert!(valid_software_field("librdkafka"));
        assert!(valid_software_field("2.12.0"));
        assert!(valid_software_field("apache-kafka-java"));
        assert!(!valid_software_field(""));
        assert!(!valid_software_field("-x"));
        assert!(!valid_software_field("a b"));
    }
}
