//! `kafka-log-dirs.sh --describe`: each broker's log directories and the size of every
//! partition in them, as Kafka's one-line JSON. DescribeLogDirs is not in librdkafka's
//! Rust binding, so this goes through rafka's protocol client.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_protocol::messages::{ApiKey, DescribeLogDirsRequest, DescribeLogDirsResponse};
use rafka_client::WireClient;

use crate::common::{
    admin_timeout, java_exception_class, json_quote, kafka_error_message, missing_argument,
    parse_tool_args, read_properties, runtime,
};
use crate::java_order::{self, Capacity};
use crate::ToolError;

#[derive(Debug, Parser)]
#[command(
    name = "kafka-log-dirs.sh",
    about = "This tool helps to query log directory usage on the specified brokers.",
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// REQUIRED: the server(s) to use for bootstrapping.
    #[arg(
        long = "bootstrap-server",
        value_name = "The server(s) to use for bootstrapping"
    )]
    bootstrap_server: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long = "command-config", value_name = "Admin client property file")]
    command_config: Option<PathBuf>,
    /// Describe the specified log directories on the specified brokers.
    #[arg(long)]
    describe: bool,
    /// The list of topics to be queried in the form "topic1,topic2,topic3". All topics
    /// will be queried if no topic list is specified.
    #[arg(long = "topic-list", value_name = "Topic list", default_value = "")]
    topic_list: String,
    /// The list of brokers to be queried in the form "0,1,2". All brokers in the cluster
    /// will be queried if no broker list is specified.
    #[arg(long = "broker-list", value_name = "Broker list", default_value = "")]
    broker_list: String,
}

/// One partition replica in a log dir.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Replica {
    topic: String,
    partition: i32,
    size: i64,
    offset_lag: i64,
    is_future: bool,
}

#[derive(Debug, Clone)]
struct LogDir {
    path: String,
    error: Option<String>,
    replicas: Vec<Replica>,
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(args) = parse_tool_args::<Args>("kafka-log-dirs.sh", args)? else {
        return Ok(());
    };
    let Some(bootstrap) = args.bootstrap_server.clone() else {
        return Err(missing_argument("bootstrap-server"));
    };
    if !args.describe {
        return Err(missing_argument("describe"));
    }
    let topics: BTreeSet<String> = args
        .topic_list
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let requested: BTreeSet<i32> = args
        .broker_list
        .split(',')
        .filter(|b| !b.is_empty())
        .map(|b| {
            b.trim()
                .parse::<i32>()
                .map_err(|_| ToolError::Usage(format!("For input string: \"{b}\"")))
        })
        .collect::<Result<_, _>>()?;
    let props = match &args.command_config {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    crate::common::use_command_config(&props)?;
    let timeout = admin_timeout(&props);
    runtime()?.block_on(async {
        let mut client = crate::common::connect(&bootstrap, timeout).await?;
        let cluster = client.brokers(timeout).await?;
        let cluster_ids: BTreeSet<i32> = cluster.iter().map(|b| b.id).collect();
        let missing: Vec<String> = requested
            .difference(&cluster_ids)
            .map(i32::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(ToolError::Reported(format!(
                "ERROR: The given brokers do not exist from --broker-list: {}. Current existent brokers: {}",
                missing.join(","),
                join_ids(&cluster_ids)
            )));
        }
        let queried: BTreeSet<i32> = if requested.is_empty() {
            cluster_ids
        } else {
            requested
        };
        println!("Querying brokers for log directories information");
        let mut by_broker: Vec<(i32, Vec<LogDir>)> = Vec::new();
        for broker in cluster.iter().filter(|b| queried.contains(&b.id)) {
            let mut broker_client;
            let target: &mut WireClient = if broker.address() == client.address {
                &mut client
            } else {
                broker_client = crate::common::connect(&broker.address(), timeout).await?;
                &mut broker_client
            };
            by_broker.push((broker.id, describe_log_dirs(target, timeout).await?));
        }
        println!(
            "Received log directory information from brokers {}",
            join_ids(&queried)
        );
        println!("{}", format_json(&by_broker, &topics));
        Ok(())
    })
}

fn join_ids(ids: &BTreeSet<i32>) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

async fn describe_log_dirs(
    client: &mut WireClient,
    timeout: Duration,
) -> Result<Vec<LogDir>, ToolError> {
    let version = client.version_for(ApiKey::DescribeLogDirs, 4)?;
    let response: DescribeLogDirsResponse = client
        .call_within(
            ApiKey::DescribeLogDirs,
            version,
            &DescribeLogDirsRequest::default().with_topics(None),
            timeout,
        )
        .await?;
    if let Some(message) = kafka_error_message(response.error_code, None) {
        return Err(ToolError::Failed(message));
    }
    // Kafka's admin client keeps the dirs in a `new HashMap<>(n)` by path and each dir's
    // replicas in a `new HashMap<>()` by `TopicPartition`, filled in the broker's order;
    // the tool prints them in those maps' order.
    let dirs = response
        .results
        .iter()
        .map(|dir| {
            let replicas: Vec<Replica> = dir
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(move |p| Replica {
                        topic: t.name.0.to_string(),
                        partition: p.partition_index,
                        size: p.partition_size,
                        offset_lag: p.offset_lag,
                        is_future: p.is_future_key,
                    })
                })
                .collect();
            let replicas = java_order::topic_partition_order(replicas, Capacity::Default, |r| {
                (r.topic.as_str(), r.partition)
            });
            LogDir {
                path: dir.log_dir.to_string(),
                // Kafka prints a failed log dir's error as the exception's class name.
                error: (dir.error_code != 0).then(|| java_exception_class(dir.error_code)),
                replicas,
            }
        })
        .collect::<Vec<_>>();
    let n = dirs.len();
    Ok(java_order::hash_map_order(
        dirs,
        Capacity::Initial(n),
        |d: &LogDir| java_order::string_hash(&d.path),
    ))
}

/// Kafka's output: `{"brokers":[{"broker":1,"logDirs":[{"partitions":[{"partition":"t-0",
/// "size":0,"offsetLag":0,"isFuture":false}],"error":null,"logDir":"/path"}]}],"version":1}`
/// with its keys in the order Kafka's Jackson writes them.
fn format_json(by_broker: &[(i32, Vec<LogDir>)], topics: &BTreeSet<String>) -> String {
    let brokers: Vec<String> = by_broker
        .iter()
        .map(|(id, dirs)| {
            let dirs: Vec<String> = dirs
                .iter()
                .map(|dir| {
                    // The tool collects the replicas of the listed topics into a map of
                    // its own, printed in that map's order.
                    let listed: Vec<&Replica> = dir
                        .replicas
                        .iter()
                        .filter(|r| topics.is_empty() || topics.contains(&r.topic))
                        .collect();
                    let listed =
                        java_order::topic_partition_order(listed, Capacity::Default, |r| {
                            (r.topic.as_str(), r.partition)
                        });
                    let partitions: Vec<String> = listed
                        .iter()
                        .map(|r| {
                            format!(
                                "{{\"partition\":{},\"size\":{},\"offsetLag\":{},\"isFuture\":{}}}",
                                json_quote(&format!("{}-{}", r.topic, r.partition)),
                                r.size,
                                r.offset_lag,
                                r.is_future
                            )
                        })
                        .collect();
                    format!(
                        "{{\"partitions\":[{}],\"error\":{},\"logDir\":{}}}",
                        partitions.join(","),
                        dir.error.as_deref().map_or("null".to_string(), json_quote),
                        json_quote(&dir.path)
                    )
                })
                .collect();
            format!("{{\"broker\":{id},\"logDirs\":[{}]}}", dirs.join(","))
        })
        .collect();
    format!("{{\"brokers\":[{}],\"version\":1}}", brokers.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_matches_kafkas_shape_and_filters_topics() {
        let dirs = vec![LogDir {
            path: "/tmp/a \"b\"".into(),
            error: None,
            replicas: vec![
                Replica {
                    topic: "t".into(),
                    partition: 0,
                    size: 123,
                    offset_lag: 0,
                    is_future: false,
                },
                Replica {
                    topic: "u".into(),
                    partition: 1,
                    size: 7,
                    offset_lag: 0,
                    is_future: false,
                },
            ],
        }];
        let topics = BTreeSet::from(["t".to_string()]);
        assert_eq!(
            format_json(&[(1, dirs)], &topics),
            r#"{"brokers":[{"broker":1,"logDirs":[{"partitions":[{"partition":"t-0","size":123,"offsetLag":0,"isFuture":false}],"error":null,"logDir":"/tmp/a \"b\""}]}],"version":1}"#
        );
        let parsed: serde_json::Value =
            serde_json::from_str(&format_json(&[], &BTreeSet::new())).unwrap();
        assert_eq!(parsed["version"], 1);
    }
}
