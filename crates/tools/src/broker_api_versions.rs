//! `kafka-broker-api-versions.sh`: the API versions every broker of the cluster
//! supports, in Kafka's `NodeApiVersions` format. Per-broker ApiVersions is not in
//! librdkafka's Rust binding, so this goes through rafka's protocol client.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::ApiKey;
use rafka_client::{BrokerNode, WireClient};

use crate::common::{admin_timeout, missing_argument, parse_tool_args, read_properties, runtime};
use crate::ToolError;

/// The APIs of Kafka 4.1's broker listener (`ApiKeys.brokerApis()`), by id, with the
/// names Kafka prints. Those a broker does not advertise print as `UNSUPPORTED`.
const BROKER_APIS: &[(i16, &str)] = &[
    (0, "Produce"),
    (1, "Fetch"),
    (2, "ListOffsets"),
    (3, "Metadata"),
    (8, "OffsetCommit"),
    (9, "OffsetFetch"),
    (10, "FindCoordinator"),
    (11, "JoinGroup"),
    (12, "Heartbeat"),
    (13, "LeaveGroup"),
    (14, "SyncGroup"),
    (15, "DescribeGroups"),
    (16, "ListGroups"),
    (17, "SaslHandshake"),
    (18, "ApiVersions"),
    (19, "CreateTopics"),
    (20, "DeleteTopics"),
    (21, "DeleteRecords"),
    (22, "InitProducerId"),
    (23, "OffsetForLeaderEpoch"),
    (24, "AddPartitionsToTxn"),
    (25, "AddOffsetsToTxn"),
    (26, "EndTxn"),
    (27, "WriteTxnMarkers"),
    (28, "TxnOffsetCommit"),
    (29, "DescribeAcls"),
    (30, "CreateAcls"),
    (31, "DeleteAcls"),
    (32, "DescribeConfigs"),
    (33, "AlterConfigs"),
    (34, "AlterReplicaLogDirs"),
    (35, "DescribeLogDirs"),
    (36, "SaslAuthenticate"),
    (37, "CreatePartitions"),
    (38, "CreateDelegationToken"),
    (39, "RenewDelegationToken"),
    (40, "ExpireDelegationToken"),
    (41, "DescribeDelegationToken"),
    (42, "DeleteGroups"),
    (43, "ElectLeaders"),
    (44, "IncrementalAlterConfigs"),
    (45, "AlterPartitionReassignments"),
    (46, "ListPartitionReassignments"),
    (47, "OffsetDelete"),
    (48, "DescribeClientQuotas"),
    (49, "AlterClientQuotas"),
    (50, "DescribeUserScramCredentials"),
    (51, "AlterUserScramCredentials"),
    (55, "DescribeQuorum"),
    (57, "UpdateFeatures"),
    (60, "DescribeCluster"),
    (61, "DescribeProducers"),
    (64, "UnregisterBroker"),
    (65, "DescribeTransactions"),
    (66, "ListTransactions"),
    (68, "ConsumerGroupHeartbeat"),
    (69, "ConsumerGroupDescribe"),
    (71, "GetTelemetrySubscriptions"),
    (72, "PushTelemetry"),
    (74, "ListConfigResources"),
    (75, "DescribeTopicPartitions"),
    (76, "ShareGroupHeartbeat"),
    (77, "ShareGroupDescribe"),
    (78, "ShareFetch"),
    (79, "ShareAcknowledge"),
    (80, "AddRaftVoter"),
    (81, "RemoveRaftVoter"),
    (83, "InitializeShareGroupState"),
    (84, "ReadShareGroupState"),
    (85, "WriteShareGroupState"),
    (86, "DeleteShareGroupState"),
    (87, "ReadShareGroupStateSummary"),
    (88, "StreamsGroupHeartbeat"),
    (89, "StreamsGroupDescribe"),
    (90, "DescribeShareGroupOffsets"),
    (91, "AlterShareGroupOffsets"),
    (92, "DeleteShareGroupOffsets"),
];

/// Kafka's name of any API key this client knows.
fn api_name(id: i16) -> Option<String> {
    BROKER_APIS
        .iter()
        .find(|(k, _)| *k == id)
        .map(|(_, n)| n.to_string())
        .or_else(|| ApiKey::try_from(id).ok().map(|k| format!("{k:?}")))
}

#[derive(Debug, Parser)]
#[command(
    name = "kafka-broker-api-versions.sh",
    about = "This tool helps to retrieve broker version information.",
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// REQUIRED: The server to connect to.
    #[arg(
        long = "bootstrap-server",
        value_name = "server(s) to use for bootstrapping"
    )]
    bootstrap_server: Option<String>,
    /// A property file containing configs to be passed to Admin Client.
    #[arg(long = "command-config", value_name = "command config property file")]
    command_config: Option<PathBuf>,
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(args) = parse_tool_args::<Args>("kafka-broker-api-versions.sh", args)? else {
        return Ok(());
    };
    let Some(bootstrap) = args.bootstrap_server.clone() else {
        return Err(missing_argument("bootstrap-server"));
    };
    let props = match &args.command_config {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    crate::common::use_command_config(&props)?;
    let timeout = admin_timeout(&props);
    runtime()?.block_on(async {
        let mut client = crate::common::connect(&bootstrap, timeout).await?;
        for node in nodes(&mut client, timeout).await? {
            let address = node.address();
            let versions = if address == client.address {
                Ok(client.versions.api_keys.clone())
            } else {
                crate::common::connect(&address, timeout)
                    .await
                    .map(|c| c.versions.api_keys.clone())
                    .map_err(ToolError::from)
            };
            match versions {
                Ok(keys) => println!("{node} -> {}", node_api_versions(&keys)),
                Err(e) => println!("{node} -> ERROR: {e}"),
            }
        }
        Ok(())
    })
}

/// The cluster's brokers, by id.
async fn nodes(client: &mut WireClient, timeout: Duration) -> Result<Vec<BrokerNode>, ToolError> {
    let mut nodes = client.brokers(timeout).await?;
    nodes.sort_by_key(|n| n.id);
    Ok(nodes)
}

/// Kafka's `NodeApiVersions.toString(true)`: every API the broker advertises, plus the
/// broker APIs it does not as `UNSUPPORTED`, by id; each with the highest version this
/// client and the broker share.
fn node_api_versions(keys: &[ApiVersion]) -> String {
    let mut lines: BTreeMap<i16, String> = BTreeMap::new();
    for key in keys {
        let versions = if key.min_version == key.max_version {
            key.min_version.to_string()
        } else {
            format!("{} to {}", key.min_version, key.max_version)
        };
        let line = match ApiKey::try_from(key.api_key) {
            Ok(api) => {
                let ours = api.valid_versions();
                let usable = if ours.max < key.min_version {
                    " [unusable: node too new]".to_string()
                } else if key.max_version < ours.min {
                    " [unusable: node too old]".to_string()
                } else {
                    format!(" [usable: {}]", ours.max.min(key.max_version))
                };
                format!(
                    "{}({}): {versions}{usable}",
                    api_name(key.api_key).unwrap_or_else(|| format!("{api:?}")),
                    key.api_key
                )
            }
            Err(_) => format!("UNKNOWN({}): {versions}", key.api_key),
        };
        lines.insert(key.api_key, line);
    }
    for (id, name) in BROKER_APIS {
        lines
            .entry(*id)
            .or_insert_with(|| format!("{name}({id}): UNSUPPORTED"));
    }
    let body: Vec<String> = lines.into_values().collect();
    format!("(\n\t{}\n)", body.join(",\n\t"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_print_like_kafkas_node_api_versions() {
        let keys = vec![
            ApiVersion::default()
                .with_api_key(0)
                .with_min_version(3)
                .with_max_version(13),
            ApiVersion::default()
                .with_api_key(18)
                .with_min_version(0)
                .with_max_version(4),
            ApiVersion::default()
                .with_api_key(21)
                .with_min_version(2)
                .with_max_version(2),
        ];
        let text = node_api_versions(&keys);
        assert!(
            text.starts_with("(\n\tProduce(0): 3 to 13 [usable: 13],\n\tFetch(1): UNSUPPORTED,")
        );
        assert!(text.contains("\n\tApiVersions(18): 0 to 4 [usable: 4],"));
        assert!(text.contains("\n\tDeleteRecords(21): 2 [usable: 2],"));
        assert!(text.ends_with("\n\tDeleteShareGroupOffsets(92): UNSUPPORTED\n)"));
        assert!(!text.contains("Vote(52)"));
    }
}
