//! `kafka-leader-election.sh`: elect the preferred replica (or, unclean, any live one) as
//! the leader of some partitions. librdkafka's binding has no ElectLeaders, so this goes
//! through rafka's protocol client, to the bootstrap broker (which forwards it to the
//! active controller).
//!
//! Like Kafka's tool, it prints argument errors and failures bare on stderr, and lists
//! partitions in the order Kafka's `HashSet`s iterate them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{ApiKey, ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use rafka_client::WireClient;
use rafka_protocol::ErrorCode;
use rafka_types::TopicPartition;

use crate::common::{
    admin_timeout, bare, broker_timeout_ms, java_collection_string, java_exception_string,
    java_hash_order, java_tp_hash, json_array, json_field, json_int, json_object, json_string,
    parse_tool_args, read_file_as_string, read_properties, runtime, JsonMappingError,
    JAVA_HASH_MAP_DEFAULT_CAPACITY,
};
use crate::ToolError;

/// Kafka's `ELECTION_NOT_NEEDED`: the right leader is already in place.
const ELECTION_NOT_NEEDED: i16 = ErrorCode::ElectionNotNeeded.code();
/// Kafka's `CLUSTER_AUTHORIZATION_FAILED`.
const CLUSTER_AUTHORIZATION_FAILED: i16 = ErrorCode::ClusterAuthorizationFailed.code();

#[derive(Debug, Parser)]
#[command(
    name = "kafka-leader-election.sh",
    about = "This tool attempts to elect a new leader for a set of topic partitions. The type of elections supported are preferred replicas and unclean replicas.",
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// A hostname and port for the broker to connect to, in the form host:port. Multiple
    /// comma separated URLs can be given. REQUIRED.
    #[arg(long = "bootstrap-server", value_name = "host:port")]
    bootstrap_server: Option<String>,
    /// (DEPRECATED) Configuration properties files to pass to the admin client. This
    /// option will be removed in a future version. Use --command-config instead.
    #[arg(long = "admin.config", value_name = "config file")]
    admin_config: Option<PathBuf>,
    /// Config properties file to pass to the admin client.
    #[arg(long = "command-config", value_name = "Config file")]
    command_config: Option<PathBuf>,
    /// The JSON file with the list of partition for which leader elections should be
    /// performed, e.g. {"partitions": [{"topic": "foo", "partition": 1}]}. Not allowed if
    /// --all-topic-partitions or --topic flags are specified.
    #[arg(long = "path-to-json-file", value_name = "Path to JSON file")]
    path_to_json_file: Option<PathBuf>,
    /// Name of topic for which to perform an election. Not allowed if --path-to-json-file
    /// or --all-topic-partitions is specified.
    #[arg(long, value_name = "topic name")]
    topic: Option<String>,
    /// Partition id for which to perform an election. REQUIRED if --topic is specified.
    #[arg(long, value_name = "partition id", allow_hyphen_values = true)]
    partition: Option<String>,
    /// Perform election on all of the eligible topic partitions based on the type of
    /// election (see the --election-type flag). Not allowed if --topic or
    /// --path-to-json-file is specified.
    #[arg(long = "all-topic-partitions")]
    all_topic_partitions: bool,
    /// Type of election to attempt: "preferred" for preferred leader election or
    /// "unclean" for unclean leader election. REQUIRED.
    #[arg(long = "election-type", value_name = "election type")]
    election_type: Option<String>,
}

/// Kafka's `ElectionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElectionType {
    /// Move leadership to the first replica of the assignment, if it is in sync.
    Preferred,
    /// Elect any live replica, in sync or not, where a partition has no leader.
    Unclean,
}

impl ElectionType {
    /// joptsimple's `EnumConverter`: the constant's name, in any case.
    fn parse(raw: &str) -> Result<ElectionType, ToolError> {
        match raw.to_ascii_uppercase().as_str() {
            "PREFERRED" => Ok(ElectionType::Preferred),
            "UNCLEAN" => Ok(ElectionType::Unclean),
            _ => Err(cannot_parse(raw, "election-type")),
        }
    }

    /// The request's `election_type` byte.
    fn wire_code(self) -> i8 {
        match self {
            ElectionType::Preferred => 0,
            ElectionType::Unclean => 1,
        }
    }
}

impl std::fmt::Display for ElectionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ElectionType::Preferred => "PREFERRED",
            ElectionType::Unclean => "UNCLEAN",
        })
    }
}

/// Which partitions to elect leaders for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selection {
    /// `--all-topic-partitions`: the request's partitions are null.
    All,
    /// `--topic` and `--partition`.
    One(TopicPartition),
    /// `--path-to-json-file`.
    JsonFile(PathBuf),
}

/// The command line, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Command {
    bootstrap: String,
    election_type: ElectionType,
    selection: Selection,
    config_file: Option<PathBuf>,
    /// `--admin.config` was used (Kafka says it is deprecated).
    deprecated_config_option: bool,
}

/// joptsimple's message for an option value it cannot convert.
fn cannot_parse(value: &str, option: &str) -> ToolError {
    bare(format!(
        "Cannot parse argument '{value}' of option {option}"
    ))
}

/// Kafka's `LeaderElectionCommandOptions.validate()`, then its conversions of the values
/// (joptsimple converts a value when the tool first asks for it, after validating).
fn check_args(args: Args) -> Result<Command, ToolError> {
    let mut missing = Vec::new();
    if args.bootstrap_server.is_none() {
        missing.push("bootstrap-server");
    }
    if args.election_type.is_none() {
        missing.push("election-type");
    }
    let (Some(bootstrap), Some(election_type)) = (args.bootstrap_server, args.election_type) else {
        return Err(bare(format!(
            "Missing required option(s): {}",
            missing.join(", ")
        )));
    };
    if args.admin_config.is_some() && args.command_config.is_some() {
        return Err(bare(
            "Option \"[admin.config]\" can't be used with option \"[command-config]\"",
        ));
    }
    let chosen = [
        args.topic.is_some(),
        args.all_topic_partitions,
        args.path_to_json_file.is_some(),
    ];
    if chosen.iter().filter(|c| **c).count() != 1 {
        return Err(bare(
            "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file",
        ));
    }
    match (&args.topic, &args.partition) {
        (Some(_), None) => return Err(bare("Missing required option(s): partition")),
        (None, Some(_)) => return Err(bare("Option partition is only allowed if topic is used")),
        _ => {}
    }
    let election_type = ElectionType::parse(&election_type)?;
    let selection = match (args.topic, args.partition, args.path_to_json_file) {
        (Some(topic), Some(partition), _) => {
            let partition = partition
                .parse::<i32>()
                .map_err(|_| cannot_parse(&partition, "partition"))?;
            Selection::One(TopicPartition::new(topic, partition))
        }
        (_, _, Some(path)) => Selection::JsonFile(path),
        _ => Selection::All,
    };
    let deprecated_config_option = args.admin_config.is_some();
    Ok(Command {
        bootstrap,
        election_type,
        selection,
        config_file: args.admin_config.or(args.command_config),
        deprecated_config_option,
    })
}

/// Kafka's election JSON, `{"partitions": [{"topic": "foo", "partition": 1}]}`, in file
/// order; a partition listed twice is refused, as Kafka does.
fn parse_election_json(text: &str) -> Result<Vec<TopicPartition>, ToolError> {
    // Kafka wraps Jackson's mapping errors in a RuntimeException, whose message is the
    // wrapped exception's `toString`.
    let mapping = |e: JsonMappingError| bare(e.java_string());
    let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
        return Err(bare("Replica election data is empty"));
    };
    let Some(list) = json_object(&json).map_err(mapping)?.get("partitions") else {
        return Err(bare(
            "Replica election data is missing \"partitions\" field",
        ));
    };
    let mut partitions = Vec::new();
    for entry in json_array(list).map_err(mapping)? {
        let entry = json_object(entry).map_err(mapping)?;
        let topic = json_string(json_field(entry, "topic").map_err(mapping)?).map_err(mapping)?;
        let partition =
            json_int(json_field(entry, "partition").map_err(mapping)?).map_err(mapping)?;
        partitions.push(TopicPartition::new(topic, partition));
    }
    let mut duplicates: Vec<TopicPartition> = Vec::new();
    for (i, tp) in partitions.iter().enumerate() {
        if partitions[i + 1..].contains(tp) && !duplicates.contains(tp) {
            duplicates.push(tp.clone());
        }
    }
    if !duplicates.is_empty() {
        let duplicates = java_hash_order(duplicates, JAVA_HASH_MAP_DEFAULT_CAPACITY, java_tp_hash);
        return Err(bare(format!(
            "Replica election data contains duplicate partitions: {}",
            java_collection_string(&duplicates)
        )));
    }
    Ok(partitions)
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(args) = parse_tool_args::<Args>("kafka-leader-election.sh", args)? else {
        return Ok(());
    };
    let command = check_args(args)?;
    let partitions = match &command.selection {
        Selection::All => None,
        Selection::One(tp) => Some(vec![tp.clone()]),
        Selection::JsonFile(path) => {
            let text = read_file_as_string(path).map_err(|e| bare(e.java_string()))?;
            Some(parse_election_json(&text)?)
        }
    };
    if command.deprecated_config_option {
        println!("Option --admin.config has been deprecated and will be removed in a future version. Use --command-config instead.");
    }
    let props = match &command.config_file {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    crate::common::use_command_config(&props)?;
    let timeout = admin_timeout(&props);
    let results = runtime()?.block_on(async {
        let mut client = crate::common::connect(&command.bootstrap, timeout).await?;
        elect_leaders(
            &mut client,
            command.election_type,
            partitions.as_deref(),
            timeout,
        )
        .await
    });
    let results = results.map_err(|e| match e {
        ToolError::Failed(message) => bare(message),
        other => other,
    })?;
    let report = Report::new(results);
    for line in report.lines(command.election_type) {
        println!("{line}");
    }
    match report.failed.len() {
        0 => Ok(()),
        n => Err(bare(format!("{n} replica(s) could not be elected"))),
    }
}

/// One partition's outcome: `None` when elected, else the error code and message.
type ElectionResult = (TopicPartition, Option<(i16, Option<String>)>);

/// Sends ElectLeaders (null partitions: all of them) and returns each partition's
/// outcome in the order of the response.
async fn elect_leaders(
    client: &mut WireClient,
    election_type: ElectionType,
    partitions: Option<&[TopicPartition]>,
    timeout: Duration,
) -> Result<Vec<ElectionResult>, ToolError> {
    let version = client.version_for(ApiKey::ElectLeaders, 2)?;
    if version == 0 && election_type != ElectionType::Preferred {
        return Err(ToolError::Failed(format!(
            "java.util.concurrent.ExecutionException: {}",
            "org.apache.kafka.common.errors.UnsupportedVersionException: API Version 0 only supports PREFERRED election type"
        )));
    }
    let request = election_request(election_type, partitions, broker_timeout_ms(timeout));
    let response: ElectLeadersResponse = client
        .call_within(ApiKey::ElectLeaders, version, &request, timeout)
        .await?;
    match response.error_code {
        0 => {}
        CLUSTER_AUTHORIZATION_FAILED => {
            println!("Not authorized to perform leader election");
            return Err(ToolError::Failed(
                "Not authorized to perform leader election".into(),
            ));
        }
        code => {
            return Err(ToolError::Failed(format!(
                "java.util.concurrent.ExecutionException: {}",
                java_exception_string(code, None)
            )))
        }
    }
    Ok(response
        .replica_election_results
        .iter()
        .flat_map(|topic| {
            topic.partition_result.iter().map(|p| {
                let error = (p.error_code != 0).then(|| {
                    (
                        p.error_code,
                        p.error_message.as_ref().map(|m| m.to_string()),
                    )
                });
                (
                    TopicPartition::new(topic.topic.0.to_string(), p.partition_id),
                    error,
                )
            })
        })
        .collect())
}

/// The request, with the partitions grouped by topic in the order given.
fn election_request(
    election_type: ElectionType,
    partitions: Option<&[TopicPartition]>,
    timeout_ms: i32,
) -> ElectLeadersRequest {
    let topic_partitions = partitions.map(|partitions| {
        let mut topics: Vec<TopicPartitions> = Vec::new();
        for tp in partitions {
            let name = TopicName(StrBytes::from_string(tp.topic.clone()));
            match topics.iter_mut().find(|t| t.topic == name) {
                Some(topic) => topic.partitions.push(tp.partition),
                None => topics.push(
                    TopicPartitions::default()
                        .with_topic(name)
                        .with_partitions(vec![tp.partition]),
                ),
            }
        }
        topics
    });
    ElectLeadersRequest::default()
        .with_election_type(election_type.wire_code())
        .with_topic_partitions(topic_partitions)
        .with_timeout_ms(timeout_ms)
}

/// The outcomes sorted as Kafka's tool sorts them, each list in the order its Java
/// `HashSet`/`HashMap` iterates (the admin client's result map first, then the tool's).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Report {
    succeeded: Vec<TopicPartition>,
    /// ELECTION_NOT_NEEDED: a valid leader is already in place.
    noop: Vec<TopicPartition>,
    failed: Vec<(TopicPartition, i16, Option<String>)>,
}

impl Report {
    fn new(results: Vec<ElectionResult>) -> Report {
        let by_tp = |r: &ElectionResult| java_tp_hash(&r.0);
        let mut report = Report {
            succeeded: Vec::new(),
            noop: Vec::new(),
            failed: Vec::new(),
        };
        for (tp, error) in java_hash_order(results, JAVA_HASH_MAP_DEFAULT_CAPACITY, by_tp) {
            match error {
                None => report.succeeded.push(tp),
                Some((ELECTION_NOT_NEEDED, _)) => report.noop.push(tp),
                Some((code, message)) => report.failed.push((tp, code, message)),
            }
        }
        report.succeeded = java_hash_order(
            report.succeeded,
            JAVA_HASH_MAP_DEFAULT_CAPACITY,
            java_tp_hash,
        );
        report.noop = java_hash_order(report.noop, JAVA_HASH_MAP_DEFAULT_CAPACITY, java_tp_hash);
        report.failed = java_hash_order(report.failed, JAVA_HASH_MAP_DEFAULT_CAPACITY, |f| {
            java_tp_hash(&f.0)
        });
        report
    }

    /// Kafka's stdout lines.
    fn lines(&self, election_type: ElectionType) -> Vec<String> {
        let join = |tps: &[TopicPartition]| {
            tps.iter()
                .map(TopicPartition::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut lines = Vec::new();
        if !self.succeeded.is_empty() {
            lines.push(format!(
                "Successfully completed leader election ({election_type}) for partitions {}",
                join(&self.succeeded)
            ));
        }
        if !self.noop.is_empty() {
            lines.push(format!(
                "Valid replica already elected for partitions {}",
                join(&self.noop)
            ));
        }
        for (tp, code, message) in &self.failed {
            lines.push(format!(
                "Error completing leader election ({election_type}) for partition: {tp}: {}",
                java_exception_string(*code, message.as_deref())
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::round_trip;

    fn check(args: &[&str]) -> Result<Command, String> {
        let args = Args::try_parse_from(
            std::iter::once("kafka-leader-election.sh").chain(args.iter().copied()),
        )
        .map_err(|e| e.to_string())?;
        check_args(args).map_err(|e| e.to_string())
    }

    #[test]
    fn arguments_are_checked_in_kafkas_order_with_its_messages() {
        let bs = "--bootstrap-server h:9092";
        let cases = [
            (
                "--topic t --partition 0".to_string(),
                "Missing required option(s): bootstrap-server, election-type",
            ),
            (
                format!("{bs} --all-topic-partitions"),
                "Missing required option(s): election-type",
            ),
            (
                format!("{bs} --election-type preferred"),
                "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file",
            ),
            (
                format!("{bs} --election-type preferred --topic t --all-topic-partitions"),
                "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file",
            ),
            (
                format!("{bs} --election-type unclean --topic t"),
                "Missing required option(s): partition",
            ),
            (
                format!("{bs} --election-type unclean --all-topic-partitions --partition 0"),
                "Option partition is only allowed if topic is used",
            ),
            (
                format!("{bs} --election-type unclean --all-topic-partitions --admin.config a --command-config b"),
                "Option \"[admin.config]\" can't be used with option \"[command-config]\"",
            ),
            // Values are converted only after the checks, election type first.
            (
                format!("{bs} --election-type dirty --topic t --partition x"),
                "Cannot parse argument 'dirty' of option election-type",
            ),
            (
                format!("{bs} --election-type preferred --topic t --partition x"),
                "Cannot parse argument 'x' of option partition",
            ),
        ];
        for (args, expected) in cases {
            let args: Vec<&str> = args.split(' ').collect();
            assert_eq!(check(&args).unwrap_err(), expected, "{args:?}");
        }
    }

    #[test]
    fn election_type_is_case_insensitive_and_selection_follows_the_flags() {
        let command = check(&[
            "--bootstrap-server",
            "h:9092",
            "--election-type",
            "Unclean",
            "--topic",
            "t",
            "--partition",
            "3",
            "--admin.config",
            "admin.properties",
        ])
        .unwrap();
        assert_eq!(command.election_type, ElectionType::Unclean);
        assert_eq!(
            command.selection,
            Selection::One(TopicPartition::new("t", 3))
        );
        assert_eq!(command.config_file, Some(PathBuf::from("admin.properties")));
        assert!(command.deprecated_config_option);
        let command = check(&[
            "--bootstrap-server",
            "h:9092",
            "--election-type",
            "PREFERRED",
            "--path-to-json-file",
            "p.json",
        ])
        .unwrap();
        assert_eq!(command.election_type, ElectionType::Preferred);
        assert_eq!(command.selection, Selection::JsonFile("p.json".into()));
        assert!(!command.deprecated_config_option);
    }

    #[test]
    fn election_json_parses_and_refuses_bad_files_with_kafkas_messages() {
        assert_eq!(
            parse_election_json(
                r#"{"partitions":[{"topic":"foo","partition":1},{"topic":"bar","partition":0}]}"#
            )
            .unwrap(),
            vec![TopicPartition::new("foo", 1), TopicPartition::new("bar", 0)]
        );
        let message = |text: &str| parse_election_json(text).unwrap_err().to_string();
        assert_eq!(message("{"), "Replica election data is empty");
        assert_eq!(
            message("{}"),
            "Replica election data is missing \"partitions\" field"
        );
        assert_eq!(
            message(r#"{"partitions":[{"partition":1}]}"#),
            "com.fasterxml.jackson.databind.JsonMappingException: No such field exists: `topic`"
        );
        assert_eq!(
            message(r#"{"partitions":[{"topic":"t","partition":"1"}]}"#),
            "com.fasterxml.jackson.databind.JsonMappingException: Expected `Integer` value, received \"1\""
        );
        assert_eq!(
            message(
                r#"{"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":1},{"topic":"t","partition":0},{"topic":"t","partition":1}]}"#
            ),
            // Java's HashSet iterates t-1 (bucket 4) before t-0 (bucket 5).
            "Replica election data contains duplicate partitions: [t-1, t-0]"
        );
    }

    #[test]
    fn report_sorts_outcomes_like_kafka_and_names_java_exceptions() {
        let tp = |p| TopicPartition::new("t", p);
        let results = vec![
            (tp(0), None),
            (tp(1), None),
            (tp(2), Some((ELECTION_NOT_NEEDED, None))),
            (
                tp(3),
                Some((
                    80,
                    Some("Failed to elect leader for partition t-3".to_string()),
                )),
            ),
            (tp(4), Some((3, None))),
        ];
        let report = Report::new(results);
        assert_eq!(report.failed.len(), 2);
        assert_eq!(
            report.lines(ElectionType::Preferred),
            vec![
                "Successfully completed leader election (PREFERRED) for partitions t-1, t-0",
                "Valid replica already elected for partitions t-2",
                "Error completing leader election (PREFERRED) for partition: t-4: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.",
                "Error completing leader election (PREFERRED) for partition: t-3: org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: Failed to elect leader for partition t-3",
            ]
        );
        let nothing = Report::new(Vec::new());
        assert!(nothing.lines(ElectionType::Unclean).is_empty());
    }

    #[test]
    fn request_groups_partitions_by_topic_and_round_trips() {
        let partitions = [
            TopicPartition::new("a", 0),
            TopicPartition::new("b", 2),
            TopicPartition::new("a", 1),
        ];
        let request = election_request(ElectionType::Unclean, Some(&partitions), 15_000);
        let topics = request.topic_partitions.as_ref().unwrap();
        assert_eq!(topics.len(), 2);
        assert_eq!(topics[0].topic.0.as_str(), "a");
        assert_eq!(topics[0].partitions, vec![0, 1]);
        assert_eq!(topics[1].partitions, vec![2]);
        for version in 1..=2 {
            assert_eq!(round_trip(&request, version), request);
        }
        let all = election_request(ElectionType::Preferred, None, 1);
        let decoded = round_trip(&all, 2);
        assert_eq!(decoded.topic_partitions, None);
        assert_eq!(decoded.election_type, 0);
    }
}
