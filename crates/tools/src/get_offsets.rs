//! `kafka-get-offsets.sh`: the offset of every matching partition at a point in time
//! (latest, earliest, max-timestamp, or the first offset at or after a timestamp).
//!
//! Topics come from librdkafka's metadata and offsets from its watermarks and
//! offsets-for-times; the special specs librdkafka cannot ask for (max-timestamp,
//! earliest-local, …) go through rafka's protocol client as ListOffsets.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, ListOffsetsRequest, ListOffsetsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::common::{
    admin_timeout, client_config, is_internal_topic, kafka_error_message, missing_argument,
    parse_tool_args, read_properties, runtime, TopicFilter,
};
use crate::wire::ensure_reachable;
use crate::ToolError;

const USAGE_TEXT: &str = "An interactive shell for getting topic-partition offsets.";

#[derive(Debug, Parser)]
#[command(
    name = "kafka-get-offsets.sh",
    about = USAGE_TEXT,
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// REQUIRED. The server(s) to connect to in the form HOST1:PORT1,HOST2:PORT2.
    #[arg(long = "bootstrap-server", value_name = "HOST1:PORT1,...,HOST3:PORT3")]
    bootstrap_server: Option<String>,
    /// Comma separated list of topic-partition patterns to get the offsets for, e.g.
    /// topic1:1,topic2:0-3,topic3,topic4:5-,topic5:-3.
    #[arg(long = "topic-partitions")]
    topic_partitions: Option<String>,
    /// The topic to get the offsets for. It also accepts a regular expression.
    #[arg(long)]
    topic: Option<String>,
    /// Comma separated list of partition ids to get the offsets for.
    #[arg(long, value_name = "partition ids")]
    partitions: Option<String>,
    /// timestamp of the offsets before that: <timestamp> / -1 or latest / -2 or earliest
    /// / -3 or max-timestamp / -4 or earliest-local / -5 or latest-tiered / -6 or
    /// earliest-pending-upload.
    #[arg(long, default_value = "latest", allow_hyphen_values = true)]
    time: String,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long = "command-config", value_name = "config file")]
    command_config: Option<PathBuf>,
    /// By default, internal topics are included. If specified, internal topics are excluded.
    #[arg(long = "exclude-internal-topics")]
    exclude_internal_topics: bool,
}

/// What `--time` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OffsetSpec {
    Latest,
    Earliest,
    /// A ListOffsets special timestamp librdkafka cannot send (-3 … -6).
    Special(i64),
    Timestamp(i64),
}

fn parse_offset_spec(text: &str) -> Result<OffsetSpec, ToolError> {
    let spec = match text {
        "latest" => -1,
        "earliest" => -2,
        "max-timestamp" => -3,
        "earliest-local" => -4,
        "latest-tiered" => -5,
        "earliest-pending-upload" => -6,
        other => other.parse::<i64>().map_err(|_| {
            ToolError::Reported(format!("Error occurred: Malformed time argument {other}. Please use -1 or latest / -2 or earliest / -3 or max-timestamp / -4 or earliest-local / -5 or latest-tiered / -6 or earliest-pending-upload, or a specified long format timestamp"))
        })?,
    };
    Ok(match spec {
        -1 => OffsetSpec::Latest,
        -2 => OffsetSpec::Earliest,
        -6..=-3 => OffsetSpec::Special(spec),
        ts => OffsetSpec::Timestamp(ts),
    })
}

/// Which partitions of a topic a rule accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PartitionFilter {
    Any,
    Set(Vec<i32>),
    /// Lower inclusive, upper exclusive.
    Range(i32, i32),
}

impl PartitionFilter {
    fn accepts(&self, partition: i32) -> bool {
        match self {
            PartitionFilter::Any => true,
            PartitionFilter::Set(set) => set.is_empty() || set.contains(&partition),
            PartitionFilter::Range(low, high) => *low <= partition && partition < *high,
        }
    }
}

#[derive(Debug, Clone)]
struct Rule {
    topics: TopicFilter,
    partitions: PartitionFilter,
}

/// One `--topic-partitions` rule: `regex`, `regex:N`, `regex:N-M`, `regex:N-`, `regex:-M`.
fn parse_rule(spec: &str) -> Result<Rule, ToolError> {
    let invalid = || {
        ToolError::Reported(format!(
            "Error occurred: Invalid rule specification: {spec}"
        ))
    };
    let (topic, partitions) = match spec.split_once(':') {
        None => (spec, PartitionFilter::Any),
        Some((topic, part)) => {
            let number = |s: &str| -> Result<Option<i32>, ToolError> {
                if s.is_empty() {
                    Ok(None)
                } else if s.chars().all(|c| c.is_ascii_digit()) {
                    s.parse().map(Some).map_err(|_| invalid())
                } else {
                    Err(invalid())
                }
            };
            let filter = match part.split_once('-') {
                None => match number(part)? {
                    Some(n) => PartitionFilter::Set(vec![n]),
                    None => PartitionFilter::Any,
                },
                Some((low, high)) => PartitionFilter::Range(
                    number(low)?.unwrap_or(0),
                    number(high)?.unwrap_or(i32::MAX),
                ),
            };
            (topic, filter)
        }
    };
    if topic.contains(',') {
        return Err(invalid());
    }
    let topics = TopicFilter::new(if topic.is_empty() { ".*" } else { topic })?;
    Ok(Rule { topics, partitions })
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    if args.is_empty() {
        return Err(ToolError::Usage(USAGE_TEXT.into()));
    }
    let Some(args) = parse_tool_args::<Args>("kafka-get-offsets.sh", args)? else {
        return Ok(());
    };
    let Some(bootstrap) = args.bootstrap_server.clone() else {
        return Err(missing_argument("bootstrap-server"));
    };
    if args.topic_partitions.is_some() && (args.topic.is_some() || args.partitions.is_some()) {
        return Err(ToolError::Reported(
            "Error occurred: --topic-partitions cannot be used with --topic or --partitions".into(),
        ));
    }
    let spec = parse_offset_spec(&args.time)?;
    let rules: Vec<Rule> = match &args.topic_partitions {
        Some(list) => list.split(',').map(parse_rule).collect::<Result<_, _>>()?,
        None => {
            let partitions = match args.partitions.as_deref().filter(|p| !p.is_empty()) {
                None => Vec::new(),
                Some(list) => list
                    .split(',')
                    .map(|p| {
                        p.trim().parse::<i32>().map_err(|_| {
                            ToolError::Reported(format!("Error occurred: --partitions expects a comma separated list of numeric partition ids, but received: {list}"))
                        })
                    })
                    .collect::<Result<_, _>>()?,
            };
            vec![Rule {
                topics: TopicFilter::new(args.topic.as_deref().unwrap_or(".*"))?,
                partitions: PartitionFilter::Set(partitions),
            }]
        }
    };
    let props = match &args.command_config {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    crate::common::use_command_config(&props)?;
    let timeout = admin_timeout(&props);
    ensure_reachable(&bootstrap, timeout)?;

    let mut config = client_config(&bootstrap, &props)?;
    config.set("client.id", "GetOffsetShell");
    let consumer: BaseConsumer = config
        .create()
        .map_err(|e| ToolError::Failed(format!("cannot create the client: {e}")))?;
    let metadata = consumer
        .fetch_metadata(None, timeout)
        .map_err(|e| ToolError::Unreachable(e.to_string()))?;
    let mut partitions: Vec<(String, i32)> = Vec::new();
    for topic in metadata.topics() {
        if topic.error().is_some() {
            continue;
        }
        let name = topic.name();
        if args.exclude_internal_topics && is_internal_topic(name) {
            continue;
        }
        for partition in topic.partitions() {
            let id = partition.id();
            if rules
                .iter()
                .any(|r| r.topics.matches(name) && r.partitions.accepts(id))
            {
                partitions.push((name.to_string(), id));
            }
        }
    }
    if partitions.is_empty() {
        return Err(ToolError::Reported(
            "Error occurred: Could not match any topic-partitions with the specified filters"
                .into(),
        ));
    }

    let offsets = match spec {
        OffsetSpec::Latest | OffsetSpec::Earliest => {
            let mut out = Vec::new();
            for (topic, partition) in &partitions {
                match consumer.fetch_watermarks(topic, *partition, timeout) {
                    Ok((low, high)) => {
                        let offset = if spec == OffsetSpec::Latest {
                            high
                        } else {
                            low
                        };
                        out.push((topic.clone(), *partition, Some(offset)));
                    }
                    Err(e) => skip(topic, *partition, &e.to_string()),
                }
            }
            out
        }
        OffsetSpec::Timestamp(ts) => {
            let mut list = TopicPartitionList::new();
            for (topic, partition) in &partitions {
                list.add_partition_offset(topic, *partition, Offset::Offset(ts))
                    .map_err(|e| ToolError::Failed(e.to_string()))?;
            }
            let found = consumer
                .offsets_for_times(list, timeout)
                .map_err(|e| ToolError::Failed(e.to_string()))?;
            let mut out = Vec::new();
            for elem in found.elements() {
                if let Err(e) = elem.error() {
                    skip(elem.topic(), elem.partition(), &e.to_string());
                    continue;
                }
                let offset = match elem.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                };
                out.push((elem.topic().to_string(), elem.partition(), offset));
            }
            out
        }
        OffsetSpec::Special(ts) => list_offsets(&bootstrap, &partitions, ts, timeout)?,
    };

    // Kafka sorts by `TopicPartition.toString()`, i.e. `topic-partition` as text, and
    // leaves out partitions without an offset for the spec.
    let mut sorted: Vec<(String, String, i32, i64)> = offsets
        .into_iter()
        .filter_map(|(t, p, o)| o.filter(|o| *o >= 0).map(|o| (format!("{t}-{p}"), t, p, o)))
        .collect();
    sorted.sort();
    for (_, topic, partition, offset) in sorted {
        println!("{topic}:{partition}:{offset}");
    }
    Ok(())
}

fn skip(topic: &str, partition: i32, error: &str) {
    eprintln!("Skip getting offsets for topic-partition {topic}-{partition} due to error: {error}");
}

/// ListOffsets with a special timestamp, straight to the (single) bootstrap broker.
fn list_offsets(
    bootstrap: &str,
    partitions: &[(String, i32)],
    timestamp: i64,
    timeout: Duration,
) -> Result<Vec<(String, i32, Option<i64>)>, ToolError> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in partitions {
        by_topic.entry(topic).or_default().push(*partition);
    }
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(0)
        .with_timeout_ms(timeout.as_millis().min(i32::MAX as u128) as i32)
        .with_topics(
            by_topic
                .iter()
                .map(|(topic, ps)| {
                    ListOffsetsTopic::default()
                        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
                        .with_partitions(
                            ps.iter()
                                .map(|p| {
                                    ListOffsetsPartition::default()
                                        .with_partition_index(*p)
                                        .with_current_leader_epoch(-1)
                                        .with_timestamp(timestamp)
                                })
                                .collect(),
                        )
                })
                .collect(),
        );
    let response: ListOffsetsResponse = runtime()?.block_on(async {
        let mut client = crate::common::connect(bootstrap, timeout).await?;
        let needed = match timestamp {
            -3 => 7,
            -4 => 8,
            -5 => 9,
            _ => 10,
        };
        let version = client.version_for(ApiKey::ListOffsets, 10)?;
        if version < needed {
            return Err(ToolError::Failed(format!(
                "The broker does not support ListOffsets with timestamp {timestamp}"
            )));
        }
        Ok(client
            .call_within(ApiKey::ListOffsets, version, &request, timeout)
            .await?)
    })?;
    let mut out = Vec::new();
    for topic in &response.topics {
        for p in &topic.partitions {
            let name = topic.name.0.to_string();
            if let Some(message) = kafka_error_message(p.error_code, None) {
                skip(&name, p.partition_index, &message);
                continue;
            }
            out.push((name, p.partition_index, Some(p.offset)));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_accepts_names_numbers_and_refuses_the_rest() {
        assert_eq!(parse_offset_spec("latest").unwrap(), OffsetSpec::Latest);
        assert_eq!(parse_offset_spec("-2").unwrap(), OffsetSpec::Earliest);
        assert_eq!(parse_offset_spec("-3").unwrap(), OffsetSpec::Special(-3));
        assert_eq!(
            parse_offset_spec("max-timestamp").unwrap(),
            OffsetSpec::Special(-3)
        );
        assert_eq!(
            parse_offset_spec("1700000000000").unwrap(),
            OffsetSpec::Timestamp(1_700_000_000_000)
        );
        assert!(parse_offset_spec("yesterday").is_err());
    }

    #[test]
    fn topic_partition_rules_follow_kafkas_pattern() {
        let rule = parse_rule("t.*:1-3").unwrap();
        assert!(rule.topics.matches("topic"));
        assert!(!rule.topics.matches("other"));
        assert!(rule.partitions.accepts(1) && rule.partitions.accepts(2));
        assert!(!rule.partitions.accepts(3));
        assert_eq!(
            parse_rule(":5").unwrap().partitions,
            PartitionFilter::Set(vec![5])
        );
        assert_eq!(
            parse_rule("t:-3").unwrap().partitions,
            PartitionFilter::Range(0, 3)
        );
        assert_eq!(
            parse_rule("t:4-").unwrap().partitions,
            PartitionFilter::Range(4, i32::MAX)
        );
        assert!(parse_rule("t:x").is_err());
    }
}
