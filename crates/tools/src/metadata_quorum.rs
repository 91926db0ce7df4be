//! `kafka-metadata-quorum.sh`: the KRaft metadata quorum as the active controller sees it,
//! through DescribeQuorum (which a broker forwards to the active controller), either as a
//! summary (`describe --status`) or as a table of every replica of `__cluster_metadata`
//! (`describe --replication`).
//!
//! Kafka's tool parses its flags with argparse4j, so its argument errors read
//! `kafka-metadata-quorum: error: …`; its own checks print a bare line. `add-controller`
//! and `remove-controller` (dynamic quorum membership) are refused: rafka has none.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::describe_quorum_response::ReplicaState;
use kafka_protocol::messages::{ApiKey, DescribeQuorumRequest, DescribeQuorumResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use rafka_client::WireClient;
use rafka_protocol::ErrorCode;

use crate::common::{
    admin_timeout, bare, java_exception_string, kafka_uuid_string, read_properties, runtime,
};
use crate::ToolError;

/// The program name argparse4j puts before its error messages.
const PROG: &str = "kafka-metadata-quorum";
/// The metadata log's topic and its one partition, which DescribeQuorum asks about.
const CLUSTER_METADATA_TOPIC: &str = "__cluster_metadata";
const CLUSTER_METADATA_PARTITION: i32 = 0;
/// Kafka's `UNKNOWN_SERVER_ERROR`, the class its admin client gives a malformed answer.
const UNKNOWN_SERVER_ERROR: i16 = ErrorCode::UnknownServerError.code();

#[derive(Debug, Parser)]
#[command(
    name = PROG,
    about = "This tool describes kraft metadata quorum status.",
    infer_long_args = true,
    disable_version_flag = true,
    disable_help_subcommand = true
)]
struct Args {
    /// A comma-separated list of host:port pairs to use for establishing the connection
    /// to the Kafka cluster.
    #[arg(long = "bootstrap-server", value_name = "BOOTSTRAP_SERVER")]
    bootstrap_server: Option<String>,
    /// A comma-separated list of host:port pairs to use for establishing the connection
    /// to the Kafka controllers.
    #[arg(long = "bootstrap-controller", value_name = "BOOTSTRAP_CONTROLLER")]
    bootstrap_controller: Option<String>,
    /// Property file containing configs to be passed to Admin Client. For add-controller,
    /// the file is used to specify the controller properties as well.
    #[arg(long = "command-config", value_name = "COMMAND_CONFIG")]
    command_config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Describe the metadata quorum info
    #[command(infer_long_args = true)]
    Describe {
        /// A short summary of the quorum status and the other provides detailed
        /// information about the status of replication.
        #[arg(long, help_heading = "Status")]
        status: bool,
        /// Detailed information about the status of replication
        #[arg(long, help_heading = "Replication")]
        replication: bool,
        /// Human-readable output
        #[arg(long = "human-readable", help_heading = "Replication")]
        human_readable: bool,
    },
    /// Add a controller to the KRaft controller cluster
    AddController {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
    /// Remove a controller from the KRaft controller cluster
    RemoveController {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        rest: Vec<String>,
    },
}

/// What `describe` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Report {
    Status,
    Replication { human_readable: bool },
}

/// Where the tool connects: Kafka sets `bootstrap.servers` or `bootstrap.controllers`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Bootstrap {
    Server(String),
    Controller(String),
}

/// The command line, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    bootstrap: Bootstrap,
    command_config: Option<PathBuf>,
    report: Report,
}

/// argparse4j's report of a bad command line, from the parser (`prog`) that refused it.
fn argparse_error(prog: &str, message: &str) -> ToolError {
    bare(format!("{prog}: error: {message}"))
}

/// Parses the command line as argparse4j would, with its messages. `None`: help was
/// printed.
fn parse(args: Vec<String>) -> Result<Option<Args>, ToolError> {
    use clap::error::{ContextKind, ErrorKind};
    let matches = Args::command()
        .try_get_matches_from(std::iter::once(PROG.to_string()).chain(args.iter().cloned()));
    let error = match matches.and_then(|m| Args::from_arg_matches(&m)) {
        Ok(parsed) => return Ok(Some(parsed)),
        Err(error) => error,
    };
    // The parser that refused the argument: the subcommand's when it came after one.
    let subcommand = args.iter().find(|a| {
        matches!(
            a.as_str(),
            "describe" | "add-controller" | "remove-controller"
        )
    });
    let context = |kind| error.get(kind).map(|v| v.to_string()).unwrap_or_default();
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            print!("{}", error.render());
            Ok(None)
        }
        ErrorKind::InvalidSubcommand => Err(argparse_error(
            PROG,
            &format!(
                "invalid choice: '{}' (choose from 'describe', 'add-controller', 'remove-controller')",
                context(ContextKind::InvalidSubcommand)
            ),
        )),
        ErrorKind::UnknownArgument => {
            let argument = context(ContextKind::InvalidArg);
            let given_as = |a: &String| {
                a == &argument || a.strip_prefix(argument.as_str()).is_some_and(|v| v.starts_with('='))
            };
            let after_subcommand = subcommand.is_some_and(|sub| {
                args.iter().position(|a| a == sub) < args.iter().position(given_as)
            });
            let prog = match subcommand {
                Some(sub) if after_subcommand => format!("{PROG} {sub}"),
                _ => PROG.to_string(),
            };
            Err(argparse_error(
                &prog,
                &format!("unrecognized arguments: '{argument}'"),
            ))
        }
        ErrorKind::InvalidValue => {
            // clap names the option with its value placeholder: `--x <X>`.
            let argument = context(ContextKind::InvalidArg);
            let option = argument.split_whitespace().next().unwrap_or_default();
            Err(argparse_error(
                PROG,
                &format!("argument {option}: expected one argument"),
            ))
        }
        _ => {
            let rendered = error.render().to_string();
            let line = rendered.lines().next().unwrap_or("invalid arguments");
            Err(argparse_error(PROG, line.trim_start_matches("error: ")))
        }
    }
}

/// Kafka's checks, in its order: argparse4j's (both connection options, the missing
/// subcommand, neither connection option), then the tool's own for `describe`.
fn check(args: Args) -> Result<Invocation, ToolError> {
    let bootstrap = match (args.bootstrap_server, args.bootstrap_controller) {
        (Some(_), Some(_)) => {
            return Err(argparse_error(
                PROG,
                "argument --bootstrap-controller: not allowed with argument --bootstrap-server",
            ))
        }
        (Some(servers), None) => Some(Bootstrap::Server(servers)),
        (None, Some(controllers)) => Some(Bootstrap::Controller(controllers)),
        (None, None) => None,
    };
    let Some(command) = args.command else {
        return Err(argparse_error(PROG, "too few arguments"));
    };
    let Some(bootstrap) = bootstrap else {
        return Err(argparse_error(
            PROG,
            "one of the arguments --bootstrap-server --bootstrap-controller is required",
        ));
    };
    let report = match command {
        Command::Describe {
            status: true,
            replication: true,
            ..
        } => return Err(bare(
            "Only one of --status or --replication should be specified with describe sub-command",
        )),
        Command::Describe {
            replication: true,
            human_readable,
            ..
        } => Report::Replication { human_readable },
        Command::Describe {
            status: true,
            human_readable: true,
            ..
        } => {
            return Err(bare(
                "The option --human-readable is only supported along with --replication",
            ))
        }
        Command::Describe { status: true, .. } => Report::Status,
        Command::Describe { .. } => {
            return Err(bare(
                "One of --status or --replication must be specified with describe sub-command",
            ))
        }
        Command::AddController { .. } => return Err(unsupported("add-controller")),
        Command::RemoveController { .. } => return Err(unsupported("remove-controller")),
    };
    Ok(Invocation {
        bootstrap,
        command_config: args.command_config,
        report,
    })
}

fn unsupported(subcommand: &str) -> ToolError {
    bare(format!(
        "The {subcommand} sub-command is not supported by rafka: its controller quorum is static (controller.quorum.voters), with no dynamic membership to change."
    ))
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(args) = parse(args)? else {
        return Ok(());
    };
    let invocation = check(args)?;
    let props = match &invocation.command_config {
        Some(path) if !path.exists() => {
            return Err(bare(format!(
                "Properties file {} does not exist.",
                path.display()
            )))
        }
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    crate::common::use_command_config(&props)?;
    let timeout = admin_timeout(&props);
    let output = runtime()?.block_on(async {
        let mut client = connect(&invocation.bootstrap, timeout).await?;
        match invocation.report {
            Report::Status => {
                let cluster_id = cluster_id(&mut client, timeout).await?;
                let quorum = describe_quorum(&mut client, timeout).await?;
                status_text(cluster_id.as_deref(), &quorum)
            }
            Report::Replication { human_readable } => {
                let quorum = describe_quorum(&mut client, timeout).await?;
                let clock = human_readable.then(now_ms);
                Ok(replication_table(&quorum, clock)?.join("\n"))
            }
        }
    });
    let output = output.map_err(|e| match e {
        ToolError::Failed(message) => bare(message),
        other => other,
    })?;
    println!("{output}");
    Ok(())
}

/// Connects to the bootstrap list, as Kafka's admin client does for either option.
async fn connect(bootstrap: &Bootstrap, timeout: Duration) -> Result<WireClient, ToolError> {
    match bootstrap {
        Bootstrap::Server(servers) => Ok(crate::common::connect(servers, timeout).await?),
        // Kafka's admin client talks to a controller's listener directly; rafka's
        // controllers serve their own protocol there, so this can only fail.
        Bootstrap::Controller(controllers) => {
            crate::common::connect(controllers, timeout).await.map_err(|e| {
                bare(format!(
                    "Cannot describe the quorum through --bootstrap-controller {controllers}: {e}. rafka's controllers do not speak the Kafka protocol on their listener; use --bootstrap-server with a broker, which forwards DescribeQuorum to the active controller."
                ))
            })
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The cluster id, as `Admin.describeCluster().clusterId()`: DescribeCluster where the
/// broker has it, else Metadata's.
async fn cluster_id(
    client: &mut WireClient,
    timeout: Duration,
) -> Result<Option<String>, ToolError> {
    if let Some(response) = client.describe_cluster(timeout).await? {
        return Ok(Some(response.cluster_id.to_string()));
    }
    let response = client.metadata(Some(&[]), timeout).await?;
    Ok(response.cluster_id.map(|id| id.to_string()))
}

/// The request Kafka's admin client sends: the one partition of `__cluster_metadata`.
fn describe_quorum_request() -> DescribeQuorumRequest {
    DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str(CLUSTER_METADATA_TOPIC)))
        .with_partitions(vec![
            PartitionData::default().with_partition_index(CLUSTER_METADATA_PARTITION)
        ])])
}

async fn describe_quorum(
    client: &mut WireClient,
    timeout: Duration,
) -> Result<QuorumInfo, ToolError> {
    let version = client.version_for(ApiKey::DescribeQuorum, 2)?;
    let response: DescribeQuorumResponse = client
        .call_within(
            ApiKey::DescribeQuorum,
            version,
            &describe_quorum_request(),
            timeout,
        )
        .await?;
    QuorumInfo::from_response(&response)
}

/// One replica of the metadata log, as Kafka's `QuorumInfo.ReplicaState`: a timestamp the
/// leader sent as -1 is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Replica {
    id: i32,
    directory_id: uuid::Uuid,
    log_end_offset: i64,
    last_fetch_timestamp: Option<i64>,
    last_caught_up_timestamp: Option<i64>,
}

impl Replica {
    fn new(state: &ReplicaState) -> Replica {
        let known = |ms: i64| (ms != -1).then_some(ms);
        Replica {
            id: state.replica_id.0,
            directory_id: state.replica_directory_id,
            log_end_offset: state.log_end_offset,
            last_fetch_timestamp: known(state.last_fetch_timestamp),
            last_caught_up_timestamp: known(state.last_caught_up_timestamp),
        }
    }
}

/// A listener of a quorum node; prints as Kafka's `RaftVoterEndpoint`:
/// `NAME://host:port`, an IPv6 host in brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    listener: String,
    host: String,
    port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}://[{}]:{}", self.listener, self.host, self.port)
        } else {
            write!(f, "{}://{}:{}", self.listener, self.host, self.port)
        }
    }
}

/// Kafka's `QuorumInfo`: the answer for `__cluster_metadata`-0, checked as its admin
/// client checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QuorumInfo {
    leader_id: i32,
    leader_epoch: i32,
    high_watermark: i64,
    voters: Vec<Replica>,
    observers: Vec<Replica>,
    /// Each node's listeners (DescribeQuorum v2).
    nodes: BTreeMap<i32, Vec<Endpoint>>,
}

impl QuorumInfo {
    /// Fails as Kafka's admin client does: the error's exception, or an
    /// `UnknownServerException` for an answer about anything but the one partition.
    fn from_response(response: &DescribeQuorumResponse) -> Result<QuorumInfo, ToolError> {
        let failed = |code: i16, message: Option<&str>| {
            Err(ToolError::Failed(java_exception_string(code, message)))
        };
        let malformed = |message: String| failed(UNKNOWN_SERVER_ERROR, Some(&message));
        if response.error_code != 0 {
            return failed(response.error_code, response.error_message.as_deref());
        }
        let [topic] = response.topics.as_slice() else {
            return malformed(format!(
                "DescribeMetadataQuorum received {} topics when 1 was expected",
                response.topics.len()
            ));
        };
        if topic.topic_name.0.as_str() != CLUSTER_METADATA_TOPIC {
            return malformed(format!(
                "DescribeMetadataQuorum received a topic with name {} when {CLUSTER_METADATA_TOPIC} was expected",
                topic.topic_name.0
            ));
        }
        let [partition] = topic.partitions.as_slice() else {
            return malformed(format!(
                "DescribeMetadataQuorum received a topic {} with {} partitions when 1 was expected",
                topic.topic_name.0,
                topic.partitions.len()
            ));
        };
        if partition.partition_index != CLUSTER_METADATA_PARTITION {
            return malformed(format!(
                "DescribeMetadataQuorum received a single partition with index {} when {CLUSTER_METADATA_PARTITION} was expected",
                partition.partition_index
            ));
        }
        if partition.error_code != 0 {
            return failed(partition.error_code, partition.error_message.as_deref());
        }
        let nodes = response
            .nodes
            .iter()
            .map(|node| {
                let endpoints = node
                    .listeners
                    .iter()
                    .map(|l| Endpoint {
                        listener: l.name.to_string(),
                        host: l.host.to_string(),
                        port: l.port,
                    })
                    .collect();
                (node.node_id.0, endpoints)
            })
            .collect();
        Ok(QuorumInfo {
            leader_id: partition.leader_id.0,
            leader_epoch: partition.leader_epoch,
            high_watermark: partition.high_watermark,
            voters: partition.current_voters.iter().map(Replica::new).collect(),
            observers: partition.observers.iter().map(Replica::new).collect(),
            nodes,
        })
    }

    /// The index of the leader among the voters: the first voter with the leader's id.
    /// Kafka's tool fails with `Optional.get()`'s message when there is none.
    fn leader_index(&self) -> Result<usize, ToolError> {
        self.voters
            .iter()
            .position(|v| v.id == self.leader_id)
            .ok_or_else(|| bare("No value present"))
    }

    /// `[{"id": 1, "directoryId": "…", "endpoints": ["CONTROLLER://h:9093"]}, …]`: the
    /// directory id left out when unknown (zero), the endpoints when the node has none.
    fn replicas_string(&self, replicas: &[Replica]) -> String {
        let entries: Vec<String> = replicas
            .iter()
            .map(|replica| {
                let mut entry = format!("{{\"id\": {}", replica.id);
                if !replica.directory_id.is_nil() {
                    entry.push_str(&format!(
                        ", \"directoryId\": \"{}\"",
                        kafka_uuid_string(&replica.directory_id)
                    ));
                }
                match self.nodes.get(&replica.id) {
                    Some(endpoints) if !endpoints.is_empty() => {
                        let quoted: Vec<String> =
                            endpoints.iter().map(|e| format!("\"{e}\"")).collect();
                        entry.push_str(&format!(", \"endpoints\": [{}]", quoted.join(", ")));
                    }
                    _ => {}
                }
                entry.push('}');
                entry
            })
            .collect();
        format!("[{}]", entries.join(", "))
    }
}

/// `describe --status`: the summary, its values aligned in one column.
fn status_text(cluster_id: Option<&str>, quorum: &QuorumInfo) -> Result<String, ToolError> {
    let leader_index = quorum.leader_index()?;
    let leader = &quorum.voters[leader_index];
    // The first voter with the lowest log end offset, as Java's `Stream.min` picks it.
    let (lagging_index, lagging) = quorum
        .voters
        .iter()
        .enumerate()
        .min_by_key(|(_, v)| v.log_end_offset)
        .ok_or_else(|| bare("No value present"))?;
    let max_follower_lag = leader.log_end_offset - lagging.log_end_offset;
    let max_follower_lag_time_ms = if lagging_index == leader_index {
        0
    } else {
        match (
            leader.last_caught_up_timestamp,
            lagging.last_caught_up_timestamp,
        ) {
            (Some(leader_ms), Some(lagging_ms)) => leader_ms - lagging_ms,
            _ => -1,
        }
    };
    let lines = [
        ("ClusterId", cluster_id.unwrap_or("null").to_string()),
        ("LeaderId", quorum.leader_id.to_string()),
        ("LeaderEpoch", quorum.leader_epoch.to_string()),
        ("HighWatermark", quorum.high_watermark.to_string()),
        ("MaxFollowerLag", max_follower_lag.to_string()),
        ("MaxFollowerLagTimeMs", max_follower_lag_time_ms.to_string()),
        ("CurrentVoters", quorum.replicas_string(&quorum.voters)),
        (
            "CurrentObservers",
            quorum.replicas_string(&quorum.observers),
        ),
    ];
    Ok(lines
        .iter()
        .map(|(name, value)| format!("{:<24}{value}", format!("{name}:")))
        .collect::<Vec<_>>()
        .join("\n"))
}

/// `describe --replication`: the leader, the other voters, then the observers, each in
/// the order the leader listed them. `now_ms` is given for `--human-readable`, which
/// prints timestamps as how long ago they were.
fn replication_table(quorum: &QuorumInfo, now_ms: Option<i64>) -> Result<Vec<String>, ToolError> {
    let leader_index = quorum.leader_index()?;
    let leader = &quorum.voters[leader_index];
    let followers = quorum
        .voters
        .iter()
        .filter(|v| v.id != quorum.leader_id)
        .map(|v| (v, "Follower"));
    let observers = quorum.observers.iter().map(|o| (o, "Observer"));
    let mut rows = Vec::new();
    for (replica, status) in std::iter::once((leader, "Leader"))
        .chain(followers)
        .chain(observers)
    {
        let timestamp = |ms: Option<i64>, description: &str| match (ms, now_ms) {
            (None, _) => Ok::<_, ToolError>("-1".to_string()),
            (Some(ms), None) => Ok(ms.to_string()),
            (Some(ms), Some(now)) => Ok(format!(
                "{} ms ago",
                relative_time_ms(ms, now, description)?
            )),
        };
        rows.push(vec![
            replica.id.to_string(),
            kafka_uuid_string(&replica.directory_id),
            replica.log_end_offset.to_string(),
            (leader.log_end_offset - replica.log_end_offset).to_string(),
            timestamp(replica.last_fetch_timestamp, "last fetch")?,
            timestamp(replica.last_caught_up_timestamp, "last caught up")?,
            status.to_string(),
        ]);
    }
    let headers = [
        "NodeId",
        "DirectoryId",
        "LogEndOffset",
        "Lag",
        "LastFetchTimestamp",
        "LastCaughtUpTimestamp",
        "Status",
    ];
    Ok(pretty_table(&headers, &rows))
}

/// How long before `now_ms` a timestamp was; Kafka refuses one not after the epoch or in
/// the future (a clock drifted between the controller and here).
fn relative_time_ms(timestamp_ms: i64, now_ms: i64, description: &str) -> Result<i64, ToolError> {
    if timestamp_ms <= 0 || timestamp_ms > now_ms {
        return Err(bare(format!(
            "Error while computing relative time, possible drift in system clock.\nCurrent timestamp is {now_ms}, {description} timestamp is {timestamp_ms}"
        )));
    }
    Ok(now_ms - timestamp_ms)
}

/// Kafka's `ToolsUtils.prettyPrintTable`: every cell, the last included, padded to its
/// column's widest value and followed by a tab.
fn pretty_table(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}\t"))
            .collect()
    };
    std::iter::once(line(headers.to_vec()))
        .chain(
            rows.iter()
                .map(|row| line(row.iter().map(String::as_str).collect())),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::round_trip;
    use kafka_protocol::messages::describe_quorum_response::{self as response, Listener, Node};
    use kafka_protocol::messages::BrokerId;

    fn check_line(args: &str) -> Result<Invocation, String> {
        let args = args.split_whitespace().map(String::from).collect();
        match parse(args) {
            Ok(Some(args)) => check(args).map_err(|e| e.to_string()),
            Ok(None) => Err("help".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn arguments_are_refused_with_kafkas_messages() {
        let bs = "--bootstrap-server h:9092";
        let cases = [
            (
                "describe --status".to_string(),
                "kafka-metadata-quorum: error: one of the arguments --bootstrap-server --bootstrap-controller is required",
            ),
            (
                format!("{bs} --bootstrap-controller c:9093 describe --status"),
                "kafka-metadata-quorum: error: argument --bootstrap-controller: not allowed with argument --bootstrap-server",
            ),
            (bs.to_string(), "kafka-metadata-quorum: error: too few arguments"),
            (
                format!("{bs} frobnicate"),
                "kafka-metadata-quorum: error: invalid choice: 'frobnicate' (choose from 'describe', 'add-controller', 'remove-controller')",
            ),
            (
                format!("{bs} describe --status --verbose"),
                "kafka-metadata-quorum describe: error: unrecognized arguments: '--verbose'",
            ),
            (
                format!("--verbose {bs} describe --status"),
                "kafka-metadata-quorum: error: unrecognized arguments: '--verbose'",
            ),
            (
                "--bootstrap-server".to_string(),
                "kafka-metadata-quorum: error: argument --bootstrap-server: expected one argument",
            ),
            (
                format!("{bs} describe --status --replication"),
                "Only one of --status or --replication should be specified with describe sub-command",
            ),
            (
                format!("{bs} describe --status --human-readable"),
                "The option --human-readable is only supported along with --replication",
            ),
            (
                format!("{bs} describe --human-readable"),
                "One of --status or --replication must be specified with describe sub-command",
            ),
            (format!("{bs} describe"), "One of --status or --replication must be specified with describe sub-command"),
        ];
        for (args, expected) in cases {
            assert_eq!(check_line(&args), Err(expected.to_string()), "{args}");
        }
    }

    #[test]
    fn describe_options_are_read() {
        assert_eq!(
            check_line("--bootstrap-server h:9092 --command-config c.properties describe --replication --human-readable"),
            Ok(Invocation {
                bootstrap: Bootstrap::Server("h:9092".into()),
                command_config: Some("c.properties".into()),
                report: Report::Replication { human_readable: true },
            })
        );
        assert_eq!(
            check_line("--bootstrap-controller c:9093 describe --stat")
                .map(|i| (i.bootstrap, i.report)),
            Ok((Bootstrap::Controller("c:9093".into()), Report::Status))
        );
    }

    #[test]
    fn controller_membership_changes_are_refused_as_unsupported() {
        for sub in [
            "add-controller --dry-run",
            "remove-controller -i 1 -d AAAAAAAAAAAAAAAAAAAAAA",
        ] {
            let error = check_line(&format!("--bootstrap-server h:9092 {sub}")).unwrap_err();
            assert!(error.contains("not supported by rafka"), "{error}");
        }
    }

    #[test]
    fn request_asks_for_the_metadata_partition_at_every_version() {
        for version in 0..=2 {
            let request = round_trip(&describe_quorum_request(), version);
            assert_eq!(request.topics.len(), 1);
            assert_eq!(
                request.topics[0].topic_name.0.as_str(),
                "__cluster_metadata"
            );
            let partitions: Vec<i32> = request.topics[0]
                .partitions
                .iter()
                .map(|p| p.partition_index)
                .collect();
            assert_eq!(partitions, [0]);
        }
    }

    fn directory(byte: u8) -> uuid::Uuid {
        uuid::Uuid::from_bytes([byte; 16])
    }

    fn replica(id: i32, dir: u8, log_end_offset: i64, fetch: i64, caught_up: i64) -> ReplicaState {
        ReplicaState::default()
            .with_replica_id(BrokerId(id))
            .with_replica_directory_id(if dir == 0 {
                uuid::Uuid::nil()
            } else {
                directory(dir)
            })
            .with_log_end_offset(log_end_offset)
            .with_last_fetch_timestamp(fetch)
            .with_last_caught_up_timestamp(caught_up)
    }

    fn node(id: i32, listeners: &[(&str, &str, u16)]) -> Node {
        Node::default().with_node_id(BrokerId(id)).with_listeners(
            listeners
                .iter()
                .map(|(name, host, port)| {
                    Listener::default()
                        .with_name(StrBytes::from_string(name.to_string()))
                        .with_host(StrBytes::from_string(host.to_string()))
                        .with_port(*port)
                })
                .collect(),
        )
    }

    /// Three voters (the leader, 2, listed second) and two observers; voter 3 lags by 10
    /// offsets and 500 ms; observer 5 has never fetched.
    fn three_voter_response() -> DescribeQuorumResponse {
        let partition = response::PartitionData::default()
            .with_partition_index(0)
            .with_leader_id(BrokerId(2))
            .with_leader_epoch(7)
            .with_high_watermark(120)
            .with_current_voters(vec![
                replica(1, 1, 118, 1_000_900, 1_000_800),
                replica(2, 2, 120, 1_000_950, 1_001_000),
                replica(3, 3, 110, 1_000_700, 1_000_500),
            ])
            .with_observers(vec![
                replica(4, 0, 120, 1_000_990, 1_000_990),
                replica(5, 0, 0, -1, -1),
            ]);
        DescribeQuorumResponse::default()
            .with_topics(vec![response::TopicData::default()
                .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
                .with_partitions(vec![partition])])
            .with_nodes(vec![
                node(1, &[("CONTROLLER", "c1", 9093)]),
                node(2, &[("CONTROLLER", "c2", 9093), ("SSL", "::1", 9094)]),
                node(3, &[("CONTROLLER", "c3", 9093)]),
            ])
    }

    fn quorum() -> QuorumInfo {
        QuorumInfo::from_response(&round_trip(&three_voter_response(), 2)).expect("valid")
    }

    #[test]
    fn status_prints_kafkas_summary_with_voters_and_observers() {
        let dir = |b| kafka_uuid_string(&directory(b));
        let expected = [
            "ClusterId:              MkU3OEVBNTcwNTJENDM2Qk".to_string(),
            "LeaderId:               2".into(),
            "LeaderEpoch:            7".into(),
            "HighWatermark:          120".into(),
            "MaxFollowerLag:         10".into(),
            "MaxFollowerLagTimeMs:   500".into(),
            format!(
                "CurrentVoters:          [{{\"id\": 1, \"directoryId\": \"{}\", \"endpoints\": [\"CONTROLLER://c1:9093\"]}}, {{\"id\": 2, \"directoryId\": \"{}\", \"endpoints\": [\"CONTROLLER://c2:9093\", \"SSL://[::1]:9094\"]}}, {{\"id\": 3, \"directoryId\": \"{}\", \"endpoints\": [\"CONTROLLER://c3:9093\"]}}]",
                dir(1), dir(2), dir(3)
            ),
            "CurrentObservers:       [{\"id\": 4}, {\"id\": 5}]".into(),
        ];
        let text = status_text(Some("MkU3OEVBNTcwNTJENDM2Qk"), &quorum()).expect("leader known");
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn follower_lag_time_is_zero_when_the_leader_is_lowest_and_unknown_without_timestamps() {
        let mut quorum = quorum();
        quorum.voters[2].last_caught_up_timestamp = None;
        let text = status_text(None, &quorum).expect("leader known");
        assert!(text.contains("MaxFollowerLagTimeMs:   -1\n"), "{text}");
        assert!(text.starts_with("ClusterId:              null\n"), "{text}");
        let single = QuorumInfo {
            voters: vec![quorum.voters[1].clone()],
            ..quorum
        };
        let text = status_text(None, &single).expect("leader known");
        assert!(
            text.contains("MaxFollowerLag:         0\nMaxFollowerLagTimeMs:   0\n"),
            "{text}"
        );
    }

    #[test]
    fn a_leader_missing_from_the_voters_fails_as_kafkas_optional_get() {
        let mut quorum = quorum();
        quorum.leader_id = 9;
        assert_eq!(
            status_text(None, &quorum).unwrap_err().to_string(),
            "No value present"
        );
        assert_eq!(
            replication_table(&quorum, None).unwrap_err().to_string(),
            "No value present"
        );
    }

    #[test]
    fn replication_lists_leader_followers_observers_in_tab_separated_padded_columns() {
        let dir = |b| kafka_uuid_string(&directory(b));
        let zero = "AAAAAAAAAAAAAAAAAAAAAA";
        let expected = vec![
            "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t".to_string(),
            format!("2     \t{}\t120         \t0  \t1000950           \t1001000              \tLeader  \t", dir(2)),
            format!("1     \t{}\t118         \t2  \t1000900           \t1000800              \tFollower\t", dir(1)),
            format!("3     \t{}\t110         \t10 \t1000700           \t1000500              \tFollower\t", dir(3)),
            format!("4     \t{zero}\t120         \t0  \t1000990           \t1000990              \tObserver\t"),
            format!("5     \t{zero}\t0           \t120\t-1                \t-1                   \tObserver\t"),
        ];
        assert_eq!(
            replication_table(&quorum(), None).expect("leader known"),
            expected
        );
    }

    #[test]
    fn human_readable_replication_prints_how_long_ago() {
        let table = replication_table(&quorum(), Some(1_001_000)).expect("leader known");
        assert_eq!(
            table[1].split('\t').map(str::trim_end).collect::<Vec<_>>()[4..],
            ["50 ms ago", "0 ms ago", "Leader", ""]
        );
        assert_eq!(
            table[5].split('\t').map(str::trim_end).collect::<Vec<_>>()[4..6],
            ["-1", "-1"]
        );
        assert_eq!(
            replication_table(&quorum(), Some(1_000_000)).unwrap_err().to_string(),
            "Error while computing relative time, possible drift in system clock.\nCurrent timestamp is 1000000, last fetch timestamp is 1000950"
        );
    }

    #[test]
    fn malformed_or_failed_answers_fail_as_kafkas_admin_client() {
        let mut wrong_topic = three_voter_response();
        wrong_topic.topics[0].topic_name = TopicName(StrBytes::from_static_str("t"));
        let mut two_topics = three_voter_response();
        two_topics.topics.push(two_topics.topics[0].clone());
        let mut wrong_partition = three_voter_response();
        wrong_partition.topics[0].partitions[0].partition_index = 1;
        let mut partition_error = three_voter_response();
        partition_error.topics[0].partitions[0].error_code = ErrorCode::NotLeaderOrFollower.code();
        let top_level = DescribeQuorumResponse::default()
            .with_error_code(ErrorCode::NotController.code())
            .with_error_message(Some(StrBytes::from_static_str("not the controller")));
        let cases = [
            (two_topics, "org.apache.kafka.common.errors.UnknownServerException: DescribeMetadataQuorum received 2 topics when 1 was expected"),
            (wrong_topic, "org.apache.kafka.common.errors.UnknownServerException: DescribeMetadataQuorum received a topic with name t when __cluster_metadata was expected"),
            (wrong_partition, "org.apache.kafka.common.errors.UnknownServerException: DescribeMetadataQuorum received a single partition with index 1 when 0 was expected"),
            (partition_error, "org.apache.kafka.common.errors.NotLeaderOrFollowerException: For requests intended only for the leader, this error indicates that the broker is not the current leader. For requests intended for any replica, this error indicates that the broker is not a replica of the topic partition."),
            (top_level, "org.apache.kafka.common.errors.NotControllerException: not the controller"),
        ];
        for (response, expected) in cases {
            assert_eq!(
                QuorumInfo::from_response(&response)
                    .unwrap_err()
                    .to_string(),
                expected
            );
        }
    }

    #[test]
    fn versions_before_2_decode_without_directories_or_endpoints() {
        // What a v0/v1 answer can carry: no nodes, no directory ids.
        let mut response = three_voter_response().with_nodes(Vec::new());
        for voter in &mut response.topics[0].partitions[0].current_voters {
            voter.replica_directory_id = uuid::Uuid::nil();
        }
        let quorum = QuorumInfo::from_response(&round_trip(&response, 1)).expect("valid");
        assert_eq!(quorum.voters.len(), 3);
        let text = status_text(None, &quorum).expect("leader known");
        assert!(
            text.contains("CurrentVoters:          [{\"id\": 1}, {\"id\": 2}, {\"id\": 3}]"),
            "{text}"
        );
    }
}
