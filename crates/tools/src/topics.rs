//! `kafka-topics.sh`: create, list, describe, alter (add partitions) and delete topics.
//!
//! Listing, describing, creating and adding partitions go through rafka's protocol
//! client: Kafka's tool prints the broker's own error message (`Topic 't' already
//! exists.`) and topic ids, and librdkafka's Rust binding drops both. Deleting goes through
//! librdkafka's admin client, which has the call.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
    CreateTopicsResponse, DescribeConfigsRequest, DescribeConfigsResponse, MetadataResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rafka_client::WireClient;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;

use crate::common::{
    admin_timeout, client_config, is_internal_topic, kafka_error_message, kafka_uuid_string,
    missing_argument, parse_tool_args, read_properties, runtime, TopicFilter,
};
use crate::java_order::{self, Capacity};
use crate::ToolError;

/// Kafka's ConfigSource code for a config at its default (`ConfigEntry.isDefault()`).
const SOURCE_DEFAULT_CONFIG: i8 = 5;
/// DescribeConfigs resource type of a topic.
const RESOURCE_TOPIC: i8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "kafka-topics.sh",
    about = "This tool helps to create, delete, describe, or change a topic.",
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// REQUIRED: The Kafka server to connect to.
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    bootstrap_server: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long = "command-config", value_name = "command config property file")]
    command_config: Option<PathBuf>,
    /// List all available topics.
    #[arg(long)]
    list: bool,
    /// Create a new topic.
    #[arg(long)]
    create: bool,
    /// Delete a topic.
    #[arg(long)]
    delete: bool,
    /// Alter the number of partitions and replica assignment.
    #[arg(long)]
    alter: bool,
    /// List details for the given topics.
    #[arg(long)]
    describe: bool,
    /// The topic to create, alter, describe or delete. It also accepts a regular
    /// expression, except for --create option.
    #[arg(long)]
    topic: Option<String>,
    /// The topic-id to describe.
    #[arg(long = "topic-id")]
    topic_id: Option<String>,
    /// A topic configuration override for the topic being created (name=value).
    #[arg(long, value_name = "name=value")]
    config: Vec<String>,
    /// This option is no longer supported and has been deprecated since 4.0.
    #[arg(long = "delete-config", value_name = "name")]
    delete_config: Vec<String>,
    /// The number of partitions for the topic being created or altered.
    #[arg(long, value_name = "# of partitions", allow_hyphen_values = true)]
    partitions: Option<i32>,
    /// The replication factor for each partition in the topic being created.
    #[arg(
        long = "replication-factor",
        value_name = "replication factor",
        allow_hyphen_values = true
    )]
    replication_factor: Option<i32>,
    /// A list of manual partition-to-broker assignments for the topic being created or
    /// altered (broker_id_for_part1_replica1:broker_id_for_part1_replica2,...).
    #[arg(long = "replica-assignment")]
    replica_assignment: Option<String>,
    /// If set when describing topics, only show under-replicated partitions.
    #[arg(long = "under-replicated-partitions")]
    under_replicated_partitions: bool,
    /// If set when describing topics, only show partitions whose leader is not available.
    #[arg(long = "unavailable-partitions")]
    unavailable_partitions: bool,
    /// If set when describing topics, only show partitions whose isr count is less than
    /// the configured minimum.
    #[arg(long = "under-min-isr-partitions")]
    under_min_isr_partitions: bool,
    /// If set when describing topics, only show partitions whose isr count is equal to
    /// the configured minimum.
    #[arg(long = "at-min-isr-partitions")]
    at_min_isr_partitions: bool,
    /// If set when describing topics, only show topics that have overridden configs.
    #[arg(long = "topics-with-overrides")]
    topics_with_overrides: bool,
    /// If set when altering or deleting or describing topics, the action will only
    /// execute if the topic exists.
    #[arg(long = "if-exists")]
    if_exists: bool,
    /// If set when creating topics, the create request will not fail if the topic
    /// already exists.
    #[arg(long = "if-not-exists")]
    if_not_exists: bool,
    /// Exclude internal topics when listing or describing topics.
    #[arg(long = "exclude-internal")]
    exclude_internal: bool,
    /// The maximum partition size to be included in one DescribeTopicPartitions response.
    #[arg(long = "partition-size-limit-per-response")]
    partition_size_limit_per_response: Option<i32>,
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    if args.is_empty() {
        return Err(ToolError::Usage(
            "Create, delete, describe, or change a topic.".into(),
        ));
    }
    let Some(args) = parse_tool_args::<Args>("kafka-topics.sh", args)? else {
        return Ok(());
    };
    // Kafka prints its argument errors bare (`System.err.println(e.getMessage())`).
    check_args(&args).map_err(bare)?;
    let bootstrap = args.bootstrap_server.clone().unwrap_or_default();
    let props = match &args.command_config {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    crate::common::use_command_config(&props)?;
    let timeout = admin_timeout(&props);
    let result = if args.delete {
        delete_topics(&args, &bootstrap, &props, timeout)
    } else {
        runtime()?.block_on(async {
            let mut client = crate::common::connect(&bootstrap, timeout).await?;
            let mut service = TopicService {
                client: &mut client,
                timeout,
            };
            if args.create {
                service.create(&args).await
            } else if args.alter {
                service.alter(&args).await
            } else if args.list {
                service.list(&args).await
            } else {
                service.describe(&args).await
            }
        })
    };
    result.map_err(|e| match e {
        // Kafka prints failures of the operation itself this way; argument problems and
        // a missing topic are printed bare.
        // On standard output, as Kafka's `System.out.println` (its stack trace goes to the
        // log, on standard error).
        ToolError::Failed(message) => {
            println!("Error while executing topic command : {message}");
            ToolError::Reported(String::new())
        }
        other => other,
    })
}

/// Kafka's `TopicCommandOptions.checkArgs`.
fn check_args(args: &Args) -> Result<(), ToolError> {
    let actions = [
        args.create,
        args.list,
        args.alter,
        args.describe,
        args.delete,
    ]
    .iter()
    .filter(|a| **a)
    .count();
    if actions != 1 {
        return Err(ToolError::Usage(
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete".into(),
        ));
    }
    if !args.delete_config.is_empty() {
        eprintln!("delete-config option is no longer supported and deprecated since version 4.0. The config will be fully removed in future releases.");
    }
    if args.bootstrap_server.is_none() {
        return Err(ToolError::Usage(
            "--bootstrap-server must be specified".into(),
        ));
    }
    if args.describe && args.if_exists && args.topic.is_none() && args.topic_id.is_none() {
        return Err(ToolError::Usage(
            "--topic or --topic-id is required to describe a topic".into(),
        ));
    }
    if !args.list && !args.describe && args.topic.is_none() {
        return Err(missing_argument("topic"));
    }
    if args.alter {
        if !args.config.is_empty() {
            return Err(ToolError::Usage(
                "Option \"[config]\" can't be used with option \"[alter]\" (To alter topic configurations, the kafka-configs tool can be used.)".into(),
            ));
        }
        if args.partitions.is_none() {
            return Err(missing_argument("partitions"));
        }
    }
    let invalid = |option: &str, with: &str| {
        Err(ToolError::Usage(format!(
            "Option \"[{option}]\" can't be used with option \"[{with}]\""
        )))
    };
    let action = if args.list {
        "list"
    } else if args.describe {
        "describe"
    } else if args.delete {
        "delete"
    } else if args.alter {
        "alter"
    } else {
        "create"
    };
    if !args.config.is_empty() && !args.create {
        return invalid("config", action);
    }
    if args.partitions.is_some() && !(args.create || args.alter) {
        return invalid("partitions", action);
    }
    if args.replication_factor.is_some() && !args.create {
        return invalid("replication-factor", action);
    }
    if args.replica_assignment.is_some() && !(args.create || args.alter) {
        return invalid("replica-assignment", action);
    }
    if args.create && args.replica_assignment.is_some() {
        if args.partitions.is_some() {
            return invalid("replica-assignment", "partitions");
        }
        if args.replication_factor.is_some() {
            return invalid("replica-assignment", "replication-factor");
        }
    }
    let reports = [
        (
            args.under_replicated_partitions,
            "under-replicated-partitions",
        ),
        (args.unavailable_partitions, "unavailable-partitions"),
        (args.under_min_isr_partitions, "under-min-isr-partitions"),
        (args.at_min_isr_partitions, "at-min-isr-partitions"),
        (args.topics_with_overrides, "topics-with-overrides"),
    ];
    for (given, name) in reports {
        if given && !args.describe {
            return invalid(name, action);
        }
    }
    if args.topics_with_overrides && reports[..4].iter().any(|(given, _)| *given) {
        return invalid("topics-with-overrides", "under-replicated-partitions");
    }
    if args.if_exists && !(args.alter || args.delete || args.describe) {
        return invalid("if-exists", action);
    }
    if args.if_not_exists && !args.create {
        return invalid("if-not-exists", action);
    }
    if args.exclude_internal && !(args.list || args.describe) {
        return invalid("exclude-internal", action);
    }
    Ok(())
}

/// One topic as Metadata reports it.
#[derive(Debug, Clone)]
struct TopicInfo {
    name: String,
    topic_id: uuid::Uuid,
    internal: bool,
    partitions: Vec<PartitionInfo>,
}

#[derive(Debug, Clone)]
struct PartitionInfo {
    partition: i32,
    leader: i32,
    replicas: Vec<i32>,
    isr: Vec<i32>,
}

/// A described topic config: name, value, and whether it is at its default.
#[derive(Debug, Clone)]
struct ConfigEntry {
    name: String,
    value: Option<String>,
    is_default: bool,
}

struct TopicService<'c> {
    client: &'c mut WireClient,
    timeout: Duration,
}

impl TopicService<'_> {
    async fn metadata(&mut self) -> Result<MetadataResponse, ToolError> {
        Ok(self.client.metadata(None, self.timeout).await?)
    }

    /// Every topic, sorted by name.
    async fn all_topics(&mut self) -> Result<Vec<TopicInfo>, ToolError> {
        let response = self.metadata().await?;
        let mut topics: Vec<TopicInfo> = response.topics.iter().filter_map(topic_info).collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// Kafka's `getTopics`: the sorted names matching `--topic` (a regex), internal
    /// topics dropped under `--exclude-internal`.
    async fn matching_topics(&mut self, args: &Args) -> Result<Vec<TopicInfo>, ToolError> {
        let filter = args.topic.as_deref().map(TopicFilter::new).transpose()?;
        Ok(self
            .all_topics()
            .await?
            .into_iter()
            .filter(|t| !(args.exclude_internal && t.internal))
            .filter(|t| filter.as_ref().is_none_or(|f| f.matches(&t.name)))
            .collect())
    }

    async fn list(&mut self, args: &Args) -> Result<(), ToolError> {
        let names: Vec<String> = self
            .matching_topics(args)
            .await?
            .into_iter()
            .map(|t| t.name)
            .collect();
        println!("{}", names.join("\n"));
        Ok(())
    }

    async fn create(&mut self, args: &Args) -> Result<(), ToolError> {
        let name = args.topic.clone().unwrap_or_default();
        let configs = parse_topic_configs(&args.config)?;
        let assignment = args
            .replica_assignment
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(parse_replica_assignment)
            .transpose()?;
        if name.contains('.') || name.contains('_') {
            println!("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.");
        }
        if let Some(rf) = args.replication_factor {
            if !(1..=i32::from(i16::MAX)).contains(&rf) {
                return Err(ToolError::Failed(
                    "The replication factor must be between 1 and 32767 inclusive".into(),
                ));
            }
        }
        if args.partitions.is_some_and(|p| p < 1) {
            return Err(ToolError::Failed(
                "The partitions must be greater than 0".into(),
            ));
        }
        let mut topic = CreatableTopic::default()
            .with_name(TopicName(StrBytes::from_string(name.clone())))
            .with_num_partitions(args.partitions.unwrap_or(-1))
            .with_replication_factor(args.replication_factor.map_or(-1, |rf| rf as i16))
            .with_configs(
                configs
                    .iter()
                    .map(|(k, v)| {
                        CreatableTopicConfig::default()
                            .with_name(StrBytes::from_string(k.clone()))
                            .with_value(Some(StrBytes::from_string(v.clone())))
                    })
                    .collect(),
            );
        if let Some(assignment) = assignment {
            topic = topic
                .with_num_partitions(-1)
                .with_replication_factor(-1)
                .with_assignments(
                    assignment
                        .into_iter()
                        .enumerate()
                        .map(|(index, brokers)| {
                            CreatableReplicaAssignment::default()
                                .with_partition_index(index as i32)
                                .with_broker_ids(brokers.into_iter().map(BrokerId).collect())
                        })
                        .collect(),
                );
        }
        let request = CreateTopicsRequest::default()
            .with_topics(vec![topic])
            .with_timeout_ms(self.timeout.as_millis().min(i32::MAX as u128) as i32);
        let version = self.client.version_for(ApiKey::CreateTopics, 7)?;
        let response: CreateTopicsResponse = self
            .client
            .call_within(ApiKey::CreateTopics, version, &request, self.timeout)
            .await?;
        for result in &response.topics {
            let message = kafka_error_message(
                result.error_code,
                result.error_message.as_ref().map(|m| m.as_str()),
            );
            if let Some(message) = message {
                let exists = result.error_code
                    == rafka_protocol::error_code::ErrorCode::TopicAlreadyExists.code();
                if exists && args.if_not_exists {
                    return Ok(());
                }
                return Err(ToolError::Failed(message));
            }
        }
        println!("Created topic {name}.");
        Ok(())
    }

    async fn alter(&mut self, args: &Args) -> Result<(), ToolError> {
        let topics = self.matching_topics(args).await?;
        ensure_topic_exists(&topics, args.topic.as_deref(), !args.if_exists)?;
        if topics.is_empty() {
            return Ok(());
        }
        let count = args.partitions.unwrap_or_default();
        let assignment = args
            .replica_assignment
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(parse_replica_assignment)
            .transpose()?;
        let request = CreatePartitionsRequest::default()
            .with_topics(
                topics
                    .iter()
                    .map(|t| {
                        let new_assignments = assignment.as_ref().map(|a| {
                            a.iter()
                                .skip(t.partitions.len())
                                .map(|brokers| {
                                    kafka_protocol::messages::create_partitions_request::CreatePartitionsAssignment::default()
                                        .with_broker_ids(brokers.iter().copied().map(BrokerId).collect())
                                })
                                .collect()
                        });
                        CreatePartitionsTopic::default()
                            .with_name(TopicName(StrBytes::from_string(t.name.clone())))
                            .with_count(count)
                            .with_assignments(new_assignments)
                    })
                    .collect(),
            )
            .with_timeout_ms(self.timeout.as_millis().min(i32::MAX as u128) as i32);
        let version = self.client.version_for(ApiKey::CreatePartitions, 3)?;
        let response: CreatePartitionsResponse = self
            .client
            .call_within(ApiKey::CreatePartitions, version, &request, self.timeout)
            .await?;
        for result in &response.results {
            if let Some(message) = kafka_error_message(
                result.error_code,
                result.error_message.as_ref().map(|m| m.as_str()),
            ) {
                return Err(ToolError::Failed(message));
            }
        }
        Ok(())
    }

    async fn describe(&mut self, args: &Args) -> Result<(), ToolError> {
        let metadata = self.metadata().await?;
        let live_brokers: Vec<i32> = metadata.brokers.iter().map(|b| b.node_id.0).collect();
        let mut all: Vec<TopicInfo> = metadata.topics.iter().filter_map(topic_info).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        let topic_id = args
            .topic_id
            .as_deref()
            .filter(|id| *id != "AAAAAAAAAAAAAAAAAAAAAA");
        let topics: Vec<TopicInfo> = if let Some(id) = topic_id {
            let found: Vec<TopicInfo> = all
                .into_iter()
                .filter(|t| !(args.exclude_internal && t.internal))
                .filter(|t| kafka_uuid_string(&t.topic_id) == id)
                .collect();
            if found.is_empty() && !args.if_exists {
                return Err(ToolError::Failed(format!(
                    "TopicId '{id}' does not exist as expected"
                )));
            }
            found
        } else {
            let filter = args.topic.as_deref().map(TopicFilter::new).transpose()?;
            let found: Vec<TopicInfo> = all
                .into_iter()
                .filter(|t| !(args.exclude_internal && t.internal))
                .filter(|t| filter.as_ref().is_none_or(|f| f.matches(&t.name)))
                .collect();
            ensure_topic_exists(&found, args.topic.as_deref(), !args.if_exists)?;
            found
        };
        if topics.is_empty() {
            return Ok(());
        }
        // Kafka describes the sorted names through the admin client's maps and prints the
        // descriptions in the order of the last one: `new HashMap<>(n)` of the futures,
        // copied by `DescribeTopicsResult`, then `allTopicNames()`'s `new HashMap<>(n)`.
        let n = topics.len();
        let name_hash = |t: &TopicInfo| java_order::string_hash(&t.name);
        let topics = java_order::hash_map_order(topics, Capacity::Initial(n), name_hash);
        let topics = java_order::hash_map_order(topics, Capacity::CopyOf(n), name_hash);
        let topics = java_order::hash_map_order(topics, Capacity::Initial(n), name_hash);
        let configs = self.describe_configs(&topics).await?;
        let describe_configs = !(args.unavailable_partitions
            || args.under_replicated_partitions
            || args.under_min_isr_partitions
            || args.at_min_isr_partitions);
        let describe_partitions = !args.topics_with_overrides;
        for topic in &topics {
            let entries = configs.get(&topic.name).cloned().unwrap_or_default();
            let mut partitions = topic.partitions.clone();
            partitions.sort_by_key(|p| p.partition);
            if describe_configs {
                let has_non_default = entries.iter().any(|e| !e.is_default);
                if (!args.topics_with_overrides || has_non_default) && !partitions.is_empty() {
                    print_topic_line(topic, &partitions[0], &entries);
                }
            }
            if !describe_partitions {
                continue;
            }
            let min_isr = entries
                .iter()
                .find(|e| e.name == "min.insync.replicas")
                .and_then(|e| e.value.as_deref())
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(1);
            for partition in &partitions {
                let has_leader = partition.leader >= 0;
                let print = describe_configs
                    || (args.under_replicated_partitions
                        && partition.replicas.len() > partition.isr.len())
                    || (args.unavailable_partitions
                        && (!has_leader || !live_brokers.contains(&partition.leader)))
                    || (args.under_min_isr_partitions
                        && (!has_leader || partition.isr.len() < min_isr))
                    || (args.at_min_isr_partitions && partition.isr.len() == min_isr);
                if print {
                    print_partition_line(&topic.name, partition);
                }
            }
        }
        Ok(())
    }

    /// Every topic's configs, by topic name, in the order the broker lists them.
    async fn describe_configs(
        &mut self,
        topics: &[TopicInfo],
    ) -> Result<BTreeMap<String, Vec<ConfigEntry>>, ToolError> {
        let request = DescribeConfigsRequest::default().with_resources(
            topics
                .iter()
                .map(|t| {
                    DescribeConfigsResource::default()
                        .with_resource_type(RESOURCE_TOPIC)
                        .with_resource_name(StrBytes::from_string(t.name.clone()))
                        .with_configuration_keys(None)
                })
                .collect(),
        );
        let version = self.client.version_for(ApiKey::DescribeConfigs, 4)?;
        let response: DescribeConfigsResponse = self
            .client
            .call_within(ApiKey::DescribeConfigs, version, &request, self.timeout)
            .await?;
        let mut out = BTreeMap::new();
        for result in response.results {
            if let Some(message) = kafka_error_message(
                result.error_code,
                result.error_message.as_ref().map(|m| m.as_str()),
            ) {
                return Err(ToolError::Failed(message));
            }
            out.insert(result.resource_name.to_string(), config_entries(&result));
        }
        Ok(out)
    }
}

/// The entries in the order Kafka prints them: its `Config` keeps them in a `HashMap` by
/// name (filled in the broker's order).
fn config_entries(result: &DescribeConfigsResult) -> Vec<ConfigEntry> {
    let entries = result
        .configs
        .iter()
        .map(|c| ConfigEntry {
            name: c.name.to_string(),
            value: c.value.as_ref().map(|v| v.to_string()),
            is_default: c.config_source == SOURCE_DEFAULT_CONFIG,
        })
        .collect();
    java_order::hash_map_order(entries, Capacity::Default, |e: &ConfigEntry| {
        java_order::string_hash(&e.name)
    })
}

fn topic_info(topic: &MetadataResponseTopic) -> Option<TopicInfo> {
    if topic.error_code != 0 {
        return None;
    }
    let name = topic.name.as_ref()?.0.to_string();
    Some(TopicInfo {
        internal: topic.is_internal || is_internal_topic(&name),
        name,
        topic_id: topic.topic_id,
        partitions: topic
            .partitions
            .iter()
            .map(|p| PartitionInfo {
                partition: p.partition_index,
                leader: p.leader_id.0,
                replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                isr: p.isr_nodes.iter().map(|b| b.0).collect(),
            })
            .collect(),
    })
}

/// `Topic: t\tTopicId: …\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: k=v,…`, the
/// configs being those not at their default, as Kafka's `TopicDescription` prints them.
fn print_topic_line(topic: &TopicInfo, first: &PartitionInfo, entries: &[ConfigEntry]) {
    let configs: Vec<String> = entries
        .iter()
        .filter(|e| !e.is_default)
        .map(|e| format!("{}={}", e.name, e.value.as_deref().unwrap_or("null")))
        .collect();
    let mut line = format!("Topic: {}", topic.name);
    if !topic.topic_id.is_nil() {
        line.push_str(&format!(
            "\tTopicId: {}",
            kafka_uuid_string(&topic.topic_id)
        ));
    }
    line.push_str(&format!(
        "\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
        topic.partitions.len(),
        first.replicas.len(),
        configs.join(",")
    ));
    println!("{line}");
}

/// Kafka's `PartitionDescription`; ELR lists are empty on a broker without them, as
/// Kafka's admin client reports them from Metadata.
fn print_partition_line(topic: &str, partition: &PartitionInfo) {
    let join = |ids: &[i32]| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    let leader = if partition.leader >= 0 {
        partition.leader.to_string()
    } else {
        "none".to_string()
    };
    println!(
        "\tTopic: {topic}\tPartition: {}\tLeader: {leader}\tReplicas: {}\tIsr: {}\tElr: \tLastKnownElr: ",
        partition.partition,
        join(&partition.replicas),
        join(&partition.isr)
    );
}

/// Kafka's `ensureTopicExists`: a named `--topic` that matched nothing is an error
/// unless `--if-exists`.
fn ensure_topic_exists(
    found: &[TopicInfo],
    requested: Option<&str>,
    require: bool,
) -> Result<(), ToolError> {
    match requested {
        Some(topic) if !topic.is_empty() && require && found.is_empty() => Err(ToolError::Failed(
            format!("Topic '{topic}' does not exist as expected"),
        )),
        _ => Ok(()),
    }
}

/// `--config k=v`, each split at `=` as Kafka does (`\s*=\s*`, exactly two parts).
fn parse_topic_configs(items: &[String]) -> Result<Vec<(String, String)>, ToolError> {
    let mut out = Vec::new();
    for item in items {
        let parts: Vec<&str> = item.split('=').collect();
        if parts.len() != 2 {
            return Err(ToolError::Usage(
                "requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".".into(),
            ));
        }
        out.push((parts[0].trim().to_string(), parts[1].trim().to_string()));
    }
    Ok(out)
}

/// `--replica-assignment 1:2,3:4`: partition i's replicas are the i-th comma item.
fn parse_replica_assignment(text: &str) -> Result<Vec<Vec<i32>>, ToolError> {
    let mut out: Vec<Vec<i32>> = Vec::new();
    for (index, item) in text.split(',').enumerate() {
        let mut brokers = Vec::new();
        for id in item.split(':') {
            let id = id.trim();
            brokers.push(
                id.parse::<i32>()
                    .map_err(|_| ToolError::Usage(format!("For input string: \"{id}\"")))?,
            );
        }
        let mut seen = brokers.clone();
        seen.sort_unstable();
        let duplicates: Vec<String> = seen
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0].to_string())
            .collect();
        if !duplicates.is_empty() {
            return Err(ToolError::Failed(format!(
                "Partition replica lists may not contain duplicate entries: {}",
                duplicates.join(",")
            )));
        }
        if let Some(first) = out.first() {
            if first.len() != brokers.len() {
                let list = brokers
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ToolError::Failed(format!(
                    "Partition {index} has different replication factor: [{list}]"
                )));
            }
        }
        out.push(brokers);
    }
    Ok(out)
}

/// `--delete`: Kafka lists the matching topics first, so a missing topic is reported
/// as such rather than as a broker error; then librdkafka's DeleteTopics.
fn delete_topics(
    args: &Args,
    bootstrap: &str,
    props: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<(), ToolError> {
    let topics: Vec<String> = runtime()?.block_on(async {
        let mut client = crate::common::connect(bootstrap, timeout).await?;
        let mut service = TopicService {
            client: &mut client,
            timeout,
        };
        let topics = service.matching_topics(args).await?;
        ensure_topic_exists(&topics, args.topic.as_deref(), !args.if_exists)?;
        Ok::<_, ToolError>(topics.into_iter().map(|t| t.name).collect())
    })?;
    if topics.is_empty() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = client_config(bootstrap, props)?
        .create()
        .map_err(|e| ToolError::Failed(format!("cannot create the admin client: {e}")))?;
    let options = AdminOptions::new()
        .request_timeout(Some(timeout))
        .operation_timeout(Some(timeout));
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let results = runtime()?
        .block_on(async {
            tokio::time::timeout(timeout, admin.delete_topics(&names, &options)).await
        })
        .map_err(|_| ToolError::Failed("Timed out waiting for a node assignment.".into()))?
        .map_err(|e| ToolError::Failed(e.to_string()))?;
    for result in results {
        if let Err((_, code)) = result {
            let message =
                kafka_error_message(code as i16, None).unwrap_or_else(|| format!("{code:?}"));
            return Err(ToolError::Failed(message));
        }
    }
    Ok(())
}

/// An argument error as Kafka prints it: the message alone.
fn bare(error: ToolError) -> ToolError {
    match error {
        ToolError::Usage(message) => ToolError::Reported(message),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_assignment_parses_and_rejects_duplicates_and_uneven_lists() {
        assert_eq!(
            parse_replica_assignment("1:2, 3:4").unwrap(),
            vec![vec![1, 2], vec![3, 4]]
        );
        assert!(parse_replica_assignment("1:1").is_err());
        assert!(parse_replica_assignment("1:2,3").is_err());
    }

    #[test]
    fn topic_configs_need_exactly_one_equals_sign() {
        assert_eq!(
            parse_topic_configs(&["retention.ms = 5".into()]).unwrap(),
            vec![("retention.ms".into(), "5".into())]
        );
        assert!(parse_topic_configs(&["a".into()]).is_err());
        assert!(parse_topic_configs(&["a=b=c".into()]).is_err());
    }
}
