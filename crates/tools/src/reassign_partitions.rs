//! `kafka-reassign-partitions.sh`: move partitions' replicas between brokers. `--generate`
//! proposes an assignment (Kafka's `AdminUtils.assignReplicasToBrokers`), `--execute`
//! starts one, `--verify` checks on it, `--cancel` stops it and `--list` shows those in
//! flight. librdkafka's binding has no partition reassignment calls, so this goes through
//! rafka's protocol client (AlterPartitionReassignments, ListPartitionReassignments,
//! Metadata, DescribeCluster), to the bootstrap broker, which forwards the changes to the
//! active controller.
//!
//! rafka has one log directory per broker for reassignment purposes and no replication
//! throttles: a `log_dirs` entry other than `"any"` is refused, a throttle is accepted but
//! said to be ignored, and the throttles Kafka clears after `--verify`/`--cancel` are
//! announced as Kafka announces them, with nothing to clear.
//!
//! Kafka's tool prints its failures on stdout (`Error: …`, or the message alone for the
//! expected ones) and lists sets in the order Java's `HashSet` iterates them; so does
//! this one.

mod assignment;
mod cluster;
mod failure;
mod formats;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Parser;
use rafka_types::{SplitMix64, TopicPartition};

use crate::common::{
    admin_timeout, bare, java_exception_string, java_hash_order, java_string_hash, java_tp_hash,
    missing_argument, parse_tool_matches, read_file_as_string, read_properties, runtime,
    JAVA_HASH_MAP_DEFAULT_CAPACITY,
};
use crate::ToolError;
use assignment::{calculate_assignment, random_seed, BrokerMetadata};
use cluster::{Cluster, UNKNOWN_TOPIC_OR_PARTITION};
use failure::Failure;
use formats::{
    current_assignment_text, current_reassignments_text, error_lines, join_sorted,
    parse_execute_args, parse_generate_args, parse_reassignment_json, partition_states_text,
    plural, reassignment_json, PartitionState,
};

const CANNOT_EXECUTE_BECAUSE_OF_EXISTING_MESSAGE: &str = "Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition assignment in addition to the existing one. The --additional flag can also be used to change the throttle by resubmitting the current reassignment.";

#[derive(Debug, Parser)]
#[command(
    name = "kafka-reassign-partitions.sh",
    about = "This tool helps to move topic partitions between replicas.",
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// Verify if the reassignment completed as specified by the --reassignment-json-file
    /// option. If there is a throttle engaged for the replicas specified, and the
    /// rebalance has completed, the throttle will be removed.
    #[arg(long)]
    verify: bool,
    /// Generate a candidate partition reassignment configuration. Note that this only
    /// generates a candidate assignment, it does not execute it.
    #[arg(long)]
    generate: bool,
    /// Kick off the reassignment as specified by the --reassignment-json-file option.
    #[arg(long)]
    execute: bool,
    /// Cancel an active reassignment.
    #[arg(long)]
    cancel: bool,
    /// List all active partition reassignments.
    #[arg(long)]
    list: bool,
    /// The server(s) to use for bootstrapping.
    #[arg(
        long = "bootstrap-server",
        value_name = "Server(s) to use for bootstrapping"
    )]
    bootstrap_server: Option<String>,
    /// The controller to use for reassignment (rafka's brokers answer for it). This
    /// option supports the actions --cancel and --list.
    #[arg(
        long = "bootstrap-controller",
        value_name = "bootstrap controller to connect to"
    )]
    bootstrap_controller: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long = "command-config", value_name = "Admin client property file")]
    command_config: Option<PathBuf>,
    /// The JSON file with the partition reassignment configuration. The format to use is
    /// {"partitions": [{"topic": "foo", "partition": 1, "replicas": [1,2,3],
    /// "log_dirs": ["any","any","any"]}], "version":1}. "log_dirs" is optional; rafka
    /// accepts only "any" in it.
    #[arg(
        long = "reassignment-json-file",
        value_name = "manual assignment json file path"
    )]
    reassignment_json_file: Option<PathBuf>,
    /// Generate a reassignment configuration to move the partitions of the specified
    /// topics to the list of brokers specified by the --broker-list option. The format to
    /// use is {"topics": [{"topic": "foo"},{"topic": "foo1"}], "version":1}.
    #[arg(
        long = "topics-to-move-json-file",
        value_name = "topics to reassign json file path"
    )]
    topics_to_move_json_file: Option<PathBuf>,
    /// The list of brokers to which the partitions need to be reassigned in the form
    /// "0,1,2". This is required if --topics-to-move-json-file is used to generate
    /// reassignment configuration.
    #[arg(long = "broker-list", value_name = "brokerlist")]
    broker_list: Option<String>,
    /// Disable rack aware replica assignment.
    #[arg(long = "disable-rack-aware")]
    disable_rack_aware: bool,
    /// The movement of partitions between brokers will be throttled to this value
    /// (bytes/sec). rafka does not throttle reassignments and says so.
    #[arg(long, value_name = "throttle", allow_hyphen_values = true)]
    throttle: Option<String>,
    /// The movement of replicas between log directories on the same broker will be
    /// throttled to this value (bytes/sec). rafka does not move replicas between log
    /// directories and says so.
    #[arg(
        long = "replica-alter-log-dirs-throttle",
        value_name = "replicaAlterLogDirsThrottle",
        allow_hyphen_values = true
    )]
    replica_alter_log_dirs_throttle: Option<String>,
    /// The maximum time in ms to wait for log directory replica assignment to begin.
    #[arg(long, value_name = "timeout", allow_hyphen_values = true)]
    timeout: Option<String>,
    /// Execute this reassignment in addition to any other ongoing ones. This option can
    /// also be used to change the throttle of an ongoing reassignment.
    #[arg(long)]
    additional: bool,
    /// Do not modify broker or topic throttles.
    #[arg(long = "preserve-throttles")]
    preserve_throttles: bool,
}

/// The options, by clap id, in Kafka's order; Kafka's name is the id with dashes.
const OPTION_IDS: &[&str] = &[
    "verify",
    "generate",
    "execute",
    "cancel",
    "list",
    "bootstrap_server",
    "bootstrap_controller",
    "command_config",
    "reassignment_json_file",
    "topics_to_move_json_file",
    "broker_list",
    "disable_rack_aware",
    "throttle",
    "replica_alter_log_dirs_throttle",
    "timeout",
    "additional",
    "preserve_throttles",
];

fn kafka_name(id: &str) -> String {
    id.replace('_', "-")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Generate,
    Execute,
    Verify,
    Cancel,
    List,
}

impl Action {
    const ALL: [Action; 5] = [
        Action::Generate,
        Action::Execute,
        Action::Verify,
        Action::Cancel,
        Action::List,
    ];

    fn id(self) -> &'static str {
        match self {
            Action::Generate => "generate",
            Action::Execute => "execute",
            Action::Verify => "verify",
            Action::Cancel => "cancel",
            Action::List => "list",
        }
    }

    fn given(self, args: &Args) -> bool {
        match self {
            Action::Generate => args.generate,
            Action::Execute => args.execute,
            Action::Verify => args.verify,
            Action::Cancel => args.cancel,
            Action::List => args.list,
        }
    }

    /// The options the action needs, in the order Kafka checks them.
    fn required(self) -> &'static [&'static str] {
        match self {
            Action::Verify | Action::Execute | Action::Cancel => &["reassignment_json_file"],
            Action::Generate => &["topics_to_move_json_file", "broker_list"],
            Action::List => &[],
        }
    }

    /// The other options it allows besides the bootstrap option.
    fn permitted(self) -> &'static [&'static str] {
        match self {
            Action::Verify => &["command_config", "preserve_throttles"],
            Action::Generate => &["broker_list", "command_config", "disable_rack_aware"],
            Action::Execute => &[
                "additional",
                "command_config",
                "throttle",
                "replica_alter_log_dirs_throttle",
                "timeout",
            ],
            Action::Cancel => &["command_config", "preserve_throttles", "timeout"],
            Action::List => &["command_config"],
        }
    }

    /// Only `--cancel` and `--list` may go to a controller.
    fn allows_bootstrap_controller(self) -> bool {
        matches!(self, Action::Cancel | Action::List)
    }
}

/// The command line, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Command {
    action: Action,
    bootstrap: String,
    config_file: Option<PathBuf>,
    reassignment_json_file: Option<PathBuf>,
    topics_to_move_json_file: Option<PathBuf>,
    broker_list: Option<String>,
    rack_aware: bool,
    additional: bool,
    preserve_throttles: bool,
    /// `--throttle`, `--replica-alter-log-dirs-throttle` and `--timeout` as given:
    /// joptsimple converts them only when the action asks for them.
    throttle: Option<String>,
    replica_alter_log_dirs_throttle: Option<String>,
    timeout: Option<String>,
}

/// Kafka's `validateAndParseArgs`, in its order. `matches` tells where each option
/// stood, for the first one the action forbids.
fn check_args(args: Args, matches: &clap::ArgMatches) -> Result<Command, ToolError> {
    let actions: Vec<Action> = Action::ALL.into_iter().filter(|a| a.given(&args)).collect();
    let [action] = actions[..] else {
        return Err(bare(
            "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list",
        ));
    };
    let (bootstrap, bootstrap_id) = match (&args.bootstrap_server, &args.bootstrap_controller) {
        (Some(_), Some(_)) => {
            return Err(bare(
                "Please don't specify both --bootstrap-server and --bootstrap-controller",
            ))
        }
        (None, None) => {
            return Err(bare(
                "Please specify either --bootstrap-server or --bootstrap-controller",
            ))
        }
        (Some(server), None) => (server.clone(), "bootstrap_server"),
        (None, Some(controller)) => (controller.clone(), "bootstrap_controller"),
    };
    let given = |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    for id in action.required() {
        if !given(id) {
            return Err(bare(missing_argument(&kafka_name(id)).to_string()));
        }
    }
    let bootstrap_permitted =
        bootstrap_id == "bootstrap_server" || action.allows_bootstrap_controller();
    let mut present: Vec<(usize, &str)> = OPTION_IDS
        .iter()
        .filter(|id| given(id))
        .map(|id| (matches.index_of(id).unwrap_or(0), *id))
        .collect();
    present.sort();
    for (_, id) in present {
        let allowed = id == action.id()
            || action.required().contains(&id)
            || action.permitted().contains(&id)
            || (id == bootstrap_id && bootstrap_permitted);
        if !allowed {
            return Err(bare(format!(
                "Option \"[{}]\" can't be used with action \"[{}]\"",
                kafka_name(id),
                action.id()
            )));
        }
    }
    Ok(Command {
        action,
        bootstrap,
        config_file: args.command_config,
        reassignment_json_file: args.reassignment_json_file,
        topics_to_move_json_file: args.topics_to_move_json_file,
        broker_list: args.broker_list,
        rack_aware: !args.disable_rack_aware,
        additional: args.additional,
        preserve_throttles: args.preserve_throttles,
        throttle: args.throttle,
        replica_alter_log_dirs_throttle: args.replica_alter_log_dirs_throttle,
        timeout: args.timeout,
    })
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some((args, matches)) = parse_tool_matches::<Args>("kafka-reassign-partitions.sh", args)?
    else {
        return Ok(());
    };
    let command = check_args(args, &matches)?;
    match run_action(&command) {
        Ok(()) => Ok(()),
        Err(Failure::Terse(message)) => {
            println!("{message}");
            Err(ToolError::Reported(String::new()))
        }
        Err(Failure::Error(message)) => {
            println!("Error: {message}");
            Err(ToolError::Reported(String::new()))
        }
        Err(Failure::Tool(error)) => Err(error),
    }
}

/// An action with its input read and checked: all that Kafka's tool does before it asks
/// the cluster anything, so a bad file is reported even when no broker answers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    Verify {
        targets: Vec<(TopicPartition, Vec<i32>)>,
        preserve_throttles: bool,
    },
    Generate {
        brokers: Vec<i32>,
        topics: Vec<String>,
        rack_aware: bool,
    },
    Execute {
        proposed: BTreeMap<TopicPartition, Vec<i32>>,
        additional: bool,
        throttles: Throttles,
    },
    Cancel {
        targets: Vec<(TopicPartition, Vec<i32>)>,
        preserve_throttles: bool,
    },
    List,
}

/// Reads the action's file and converts its numbers, in the order Kafka evaluates them.
fn plan(command: &Command) -> Result<Plan, Failure> {
    let read = |path: &Option<PathBuf>| -> Result<String, Failure> {
        Ok(read_file_as_string(
            path.as_deref().unwrap_or(Path::new("")),
        )?)
    };
    let number = |value: &Option<String>, option: &str, default: i64| match value {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| Failure::Error(format!("Cannot parse argument '{v}' of option {option}"))),
    };
    Ok(match command.action {
        Action::Verify => Plan::Verify {
            targets: parse_reassignment_json(&read(&command.reassignment_json_file)?)?,
            preserve_throttles: command.preserve_throttles,
        },
        Action::Generate => {
            let json = read(&command.topics_to_move_json_file)?;
            let broker_list = command.broker_list.as_deref().unwrap_or_default();
            let (brokers, topics) = parse_generate_args(&json, broker_list)?;
            Plan::Generate {
                brokers,
                topics,
                rack_aware: command.rack_aware,
            }
        }
        Action::Execute => {
            let json = read(&command.reassignment_json_file)?;
            let throttles = Throttles {
                inter_broker: number(&command.throttle, "throttle", -1)?,
                log_dirs: number(
                    &command.replica_alter_log_dirs_throttle,
                    "replica-alter-log-dirs-throttle",
                    -1,
                )?,
            };
            // Only log-dir moves wait for it, and rafka has none; still a number.
            number(&command.timeout, "timeout", 10_000)?;
            Plan::Execute {
                proposed: parse_execute_args(&json)?,
                additional: command.additional,
                throttles,
            }
        }
        Action::Cancel => {
            let json = read(&command.reassignment_json_file)?;
            number(&command.timeout, "timeout", 10_000)?;
            Plan::Cancel {
                targets: parse_reassignment_json(&json)?,
                preserve_throttles: command.preserve_throttles,
            }
        }
        Action::List => Plan::List,
    })
}

fn run_action(command: &Command) -> Result<(), Failure> {
    let props = match &command.config_file {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    crate::common::use_command_config(&props)?;
    let timeout = admin_timeout(&props);
    let plan = plan(command)?;
    runtime()?.block_on(async {
        let client = crate::common::connect(&command.bootstrap, timeout)
            .await
            .map_err(ToolError::from)?;
        let mut cluster = Cluster { client, timeout };
        match plan {
            Plan::Verify {
                targets,
                preserve_throttles,
            } => verify(&mut cluster, &targets, preserve_throttles).await,
            Plan::Generate {
                brokers,
                topics,
                rack_aware,
            } => generate(&mut cluster, &brokers, &topics, rack_aware).await,
            Plan::Execute {
                proposed,
                additional,
                throttles,
            } => execute(&mut cluster, &proposed, additional, throttles).await,
            Plan::Cancel {
                targets,
                preserve_throttles,
            } => cancel(&mut cluster, &targets, preserve_throttles).await,
            Plan::List => {
                let current = cluster.list_reassignments(None).await?;
                println!("{}", current_reassignments_text(&current));
                Ok(())
            }
        }
    })
}

// ---- The actions. ----

/// `--verify`: how far each partition of the file got; throttles are cleared once nothing
/// is moving.
async fn verify(
    cluster: &mut Cluster,
    targets: &[(TopicPartition, Vec<i32>)],
    preserve_throttles: bool,
) -> Result<(), Failure> {
    let (states, ongoing) = partition_reassignment_states(cluster, targets).await?;
    println!("{}", partition_states_text(&states));
    // Kafka prints the log-dir moves next; with none possible here, that is one empty line.
    println!();
    if !ongoing && !preserve_throttles {
        clear_all_throttles(cluster, targets).await?;
    }
    Ok(())
}

/// `--generate`: the current assignment of the file's topics and a proposal spreading
/// them over `--broker-list`.
async fn generate(
    cluster: &mut Cluster,
    brokers: &[i32],
    topics: &[String],
    rack_aware: bool,
) -> Result<(), Failure> {
    let current = cluster.replica_assignment_for_topics(topics).await?;
    let brokers = broker_metadata(cluster, brokers, rack_aware).await?;
    let mut rng = SplitMix64(random_seed());
    let proposed = calculate_assignment(&current, &brokers, &mut |n| rng.below(n as u64) as usize)?;
    println!(
        "Current partition replica assignment\n{}\n",
        reassignment_json(&current)
    );
    println!(
        "Proposed partition reassignment configuration\n{}",
        reassignment_json(&proposed)
    );
    Ok(())
}

/// `--throttle` and `--replica-alter-log-dirs-throttle`, in bytes per second; negative
/// (Kafka's default, -1) for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Throttles {
    inter_broker: i64,
    log_dirs: i64,
}

/// `--execute`: prints the current assignment (for a rollback) and starts the file's.
async fn execute(
    cluster: &mut Cluster,
    proposed: &BTreeMap<TopicPartition, Vec<i32>>,
    additional: bool,
    throttles: Throttles,
) -> Result<(), Failure> {
    let ongoing = cluster.list_reassignments(None).await?;
    if !additional && !ongoing.is_empty() {
        return Err(Failure::Terse(
            CANNOT_EXECUTE_BECAUSE_OF_EXISTING_MESSAGE.into(),
        ));
    }
    verify_broker_ids(cluster, proposed).await?;
    let partitions: Vec<TopicPartition> = proposed.keys().cloned().collect();
    let current = cluster
        .replica_assignment_for_partitions(&partitions)
        .await?;
    println!("{}", current_assignment_text(&current));
    for (option, value) in [
        ("--throttle", throttles.inter_broker),
        ("--replica-alter-log-dirs-throttle", throttles.log_dirs),
    ] {
        if value >= 0 {
            println!("Warning: rafka does not throttle reassignments: {option} {value} is ignored and the reassignment runs at full speed.");
        }
    }
    let targets: Vec<(TopicPartition, Option<Vec<i32>>)> = proposed
        .iter()
        .map(|(tp, replicas)| (tp.clone(), Some(replicas.clone())))
        .collect();
    let errors = cluster.alter_reassignments(&targets).await?;
    if !errors.is_empty() {
        return Err(Failure::Terse(format!(
            "Error reassigning partition(s):\n{}",
            error_lines(&errors)
        )));
    }
    println!(
        "Successfully started partition reassignment{} for {}",
        plural(proposed.len()),
        join_sorted(proposed.keys())
    );
    Ok(())
}

/// `--cancel`: stops the file's partitions' reassignments that are still in flight.
async fn cancel(
    cluster: &mut Cluster,
    targets: &[(TopicPartition, Vec<i32>)],
    preserve_throttles: bool,
) -> Result<(), Failure> {
    let partitions: Vec<TopicPartition> = targets
        .iter()
        .map(|(tp, _)| tp.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ongoing = cluster.list_reassignments(Some(&partitions)).await?;
    // Kafka's test, kept as it is: adding replicas with none to remove is not cancelled.
    let cancelling: Vec<(TopicPartition, Option<Vec<i32>>)> = ongoing
        .iter()
        .filter(|(_, r)| r.adding.is_empty() || !r.removing.is_empty())
        .map(|(tp, _)| (tp.clone(), None))
        .collect();
    if cancelling.is_empty() {
        println!("None of the specified partition reassignments are active.");
    } else {
        let errors = cluster.alter_reassignments(&cancelling).await?;
        if !errors.is_empty() {
            return Err(Failure::Terse(format!(
                "Error cancelling partition reassignment{} for:\n{}",
                plural(errors.len()),
                error_lines(&errors)
            )));
        }
        println!(
            "Successfully cancelled partition reassignment{} for: {}",
            plural(cancelling.len()),
            join_sorted(cancelling.iter().map(|(tp, _)| tp))
        );
    }
    // Kafka prints this without a line end, so the throttle line follows on the same line.
    print!("None of the specified partition moves are active.");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    if !preserve_throttles {
        clear_all_throttles(cluster, targets).await?;
    }
    Ok(())
}

/// Kafka clears the reassignment throttles of every broker and of the file's topics.
/// rafka has none to clear (it never sets them), so this only says what Kafka says.
async fn clear_all_throttles(
    cluster: &mut Cluster,
    targets: &[(TopicPartition, Vec<i32>)],
) -> Result<(), Failure> {
    let nodes: Vec<i32> = cluster.brokers().await?.iter().map(|b| b.id).collect();
    let mut brokers = java_hash_order(nodes, JAVA_HASH_MAP_DEFAULT_CAPACITY, |id| *id);
    for (_, replicas) in targets {
        for id in replicas {
            if !brokers.contains(id) {
                brokers.push(*id);
            }
        }
    }
    let brokers = java_hash_order(brokers, JAVA_HASH_MAP_DEFAULT_CAPACITY, |id| *id);
    let mut topics: Vec<String> = Vec::new();
    for (tp, _) in targets {
        if !topics.contains(&tp.topic) {
            topics.push(tp.topic.clone());
        }
    }
    let topics = java_hash_order(topics, JAVA_HASH_MAP_DEFAULT_CAPACITY, |t| {
        java_string_hash(t)
    });
    println!(
        "Clearing broker-level throttles on broker{} {}",
        plural(brokers.len()),
        brokers
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    println!(
        "Clearing topic-level throttles on topic{} {}",
        plural(topics.len()),
        topics.join(",")
    );
    Ok(())
}

/// Kafka's `verifyBrokerIds`: every broker of the assignment must be in the cluster.
async fn verify_broker_ids(
    cluster: &mut Cluster,
    proposed: &BTreeMap<TopicPartition, Vec<i32>>,
) -> Result<(), Failure> {
    let known: BTreeSet<i32> = cluster.brokers().await?.iter().map(|b| b.id).collect();
    // The order of Kafka's HashSet of the replicas, filled from its HashMap of partitions.
    let partitions = java_hash_order(
        proposed.iter().collect::<Vec<_>>(),
        JAVA_HASH_MAP_DEFAULT_CAPACITY,
        |(tp, _)| java_tp_hash(tp),
    );
    let mut ids: Vec<i32> = Vec::new();
    for (_, replicas) in partitions {
        for id in replicas {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
    }
    let ids = java_hash_order(ids, JAVA_HASH_MAP_DEFAULT_CAPACITY, |id| *id);
    match ids.into_iter().find(|id| !known.contains(id)) {
        Some(unknown) => Err(Failure::Error(format!("Unknown broker id {unknown}"))),
        None => Ok(()),
    }
}

/// Kafka's `getBrokerMetadata`: the cluster's brokers among `brokers` (unknown ones are
/// left out), in the order of Kafka's map of nodes; racks only when rack-aware, and then
/// all of them or none.
async fn broker_metadata(
    cluster: &mut Cluster,
    brokers: &[i32],
    rack_aware: bool,
) -> Result<Vec<BrokerMetadata>, Failure> {
    let nodes = cluster.brokers().await?;
    let nodes = java_hash_order(nodes, JAVA_HASH_MAP_DEFAULT_CAPACITY, |n| n.id);
    let metadata: Vec<BrokerMetadata> = nodes
        .into_iter()
        .filter(|n| brokers.contains(&n.id))
        .map(|n| BrokerMetadata {
            id: n.id,
            rack: if rack_aware { n.rack } else { None },
        })
        .collect();
    let rackless = metadata.iter().filter(|m| m.rack.is_none()).count();
    if rack_aware && rackless != 0 && rackless != metadata.len() {
        return Err(Failure::Error("Not all brokers have rack information. Add --disable-rack-aware in command line to make replica assignment without rack information.".into()));
    }
    Ok(metadata)
}

/// Kafka's `partitionReassignmentStates`: for each partition of the file, its current
/// replicas and whether its reassignment is done; and whether any reassignment at all
/// (of these partitions or others) is in flight.
async fn partition_reassignment_states(
    cluster: &mut Cluster,
    targets: &[(TopicPartition, Vec<i32>)],
) -> Result<(BTreeMap<TopicPartition, PartitionState>, bool), Failure> {
    let ongoing = cluster.list_reassignments(None).await?;
    let mut lookup: Vec<String> = Vec::new();
    for (tp, _) in targets {
        if !ongoing.contains_key(tp) && !lookup.contains(&tp.topic) {
            lookup.push(tp.topic.clone());
        }
    }
    let described = cluster.describe_topics(&lookup).await?;
    let mut states = BTreeMap::new();
    for (tp, target) in targets {
        let state = match ongoing.get(tp) {
            Some(reassignment) => PartitionState {
                current: reassignment.replicas.clone(),
                target: target.clone(),
                done: false,
            },
            None => {
                let current = match described.get(&tp.topic) {
                    Some(Ok(partitions)) => partitions.get(&tp.partition).cloned(),
                    Some(Err(UNKNOWN_TOPIC_OR_PARTITION)) | None => None,
                    Some(Err(code)) => {
                        return Err(Failure::Error(java_exception_string(*code, None)))
                    }
                };
                PartitionState {
                    current: current.unwrap_or_default(),
                    target: target.clone(),
                    done: true,
                }
            }
        };
        states.insert(tp.clone(), state);
    }
    Ok((states, !ongoing.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str]) -> Result<Command, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (parsed, matches) = parse_tool_matches::<Args>("kafka-reassign-partitions.sh", args)
            .map_err(|e| e.to_string())?
            .expect("not --help");
        check_args(parsed, &matches).map_err(|e| e.to_string())
    }

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }
    #[test]
    fn arguments_are_checked_in_kafkas_order_with_its_messages() {
        assert_eq!(
            check(&["--bootstrap-server", "h:9092"]).unwrap_err(),
            "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"
        );
        assert_eq!(
            check(&["--list", "--verify", "--bootstrap-server", "h:9092"]).unwrap_err(),
            "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"
        );
        assert_eq!(
            check(&["--list"]).unwrap_err(),
            "Please specify either --bootstrap-server or --bootstrap-controller"
        );
        assert_eq!(
            check(&[
                "--list",
                "--bootstrap-server",
                "a",
                "--bootstrap-controller",
                "b"
            ])
            .unwrap_err(),
            "Please don't specify both --bootstrap-server and --bootstrap-controller"
        );
        assert_eq!(
            check(&["--verify", "--bootstrap-server", "h:9092"]).unwrap_err(),
            "Missing required argument \"[reassignment-json-file]\""
        );
        assert_eq!(
            check(&[
                "--generate",
                "--bootstrap-server",
                "h",
                "--broker-list",
                "1"
            ])
            .unwrap_err(),
            "Missing required argument \"[topics-to-move-json-file]\""
        );
        assert_eq!(
            check(&[
                "--generate",
                "--bootstrap-server",
                "h",
                "--topics-to-move-json-file",
                "t.json"
            ])
            .unwrap_err(),
            "Missing required argument \"[broker-list]\""
        );
        // The first forbidden option on the command line is named.
        assert_eq!(
            check(&[
                "--verify",
                "--reassignment-json-file",
                "r.json",
                "--additional",
                "--bootstrap-server",
                "h",
                "--throttle",
                "5"
            ])
            .unwrap_err(),
            "Option \"[additional]\" can't be used with action \"[verify]\""
        );
        assert_eq!(
            check(&[
                "--list",
                "--throttle",
                "5",
                "--bootstrap-server",
                "h",
                "--additional"
            ])
            .unwrap_err(),
            "Option \"[throttle]\" can't be used with action \"[list]\""
        );
        assert_eq!(
            check(&[
                "--execute",
                "--reassignment-json-file",
                "r.json",
                "--bootstrap-controller",
                "c"
            ])
            .unwrap_err(),
            "Option \"[bootstrap-controller]\" can't be used with action \"[execute]\""
        );
    }

    #[test]
    fn accepted_command_lines_keep_their_values() {
        let command = check(&[
            "--execute",
            "--bootstrap-server",
            "h:9092",
            "--reassignment-json-file",
            "r.json",
            "--additional",
            "--throttle",
            "1024",
            "--timeout",
            "-1",
        ])
        .unwrap();
        assert_eq!(command.action, Action::Execute);
        assert_eq!(command.bootstrap, "h:9092");
        assert!(command.additional);
        assert_eq!(command.throttle.as_deref(), Some("1024"));
        assert_eq!(command.timeout.as_deref(), Some("-1"));
        let command = check(&[
            "--cancel",
            "--bootstrap-controller",
            "c:9093",
            "--reassignment-json-file",
            "r.json",
            "--preserve-throttles",
        ])
        .unwrap();
        assert_eq!(command.action, Action::Cancel);
        assert_eq!(command.bootstrap, "c:9093");
        assert!(command.preserve_throttles);
        let command = check(&[
            "--generate",
            "--bootstrap-server",
            "h",
            "--topics-to-move-json-file",
            "t.json",
            "--broker-list",
            "1,2",
            "--disable-rack-aware",
        ])
        .unwrap();
        assert!(!command.rack_aware);
        assert_eq!(command.broker_list.as_deref(), Some("1,2"));
    }

    #[test]
    fn plans_read_the_file_then_convert_numbers_before_any_broker_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.json");
        let path = file.display().to_string();
        let command = |extra: &[&str]| {
            let mut args = vec![
                "--execute",
                "--bootstrap-server",
                "127.0.0.1:1",
                "--reassignment-json-file",
                &path,
            ];
            args.extend_from_slice(extra);
            check(&args).unwrap()
        };
        // No file yet: Kafka prints the NoSuchFileException's message, the path.
        assert_eq!(
            plan(&command(&["--throttle", "x"]))
                .unwrap_err()
                .to_string(),
            path
        );
        std::fs::write(
            &file,
            r#"{"partitions":[{"topic":"t","partition":0,"replicas":[2,1]}]}"#,
        )
        .unwrap();
        assert_eq!(
            plan(&command(&["--throttle", "fast"]))
                .unwrap_err()
                .to_string(),
            "Cannot parse argument 'fast' of option throttle"
        );
        assert_eq!(
            plan(&command(&["--timeout", "soon"]))
                .unwrap_err()
                .to_string(),
            "Cannot parse argument 'soon' of option timeout"
        );
        assert_eq!(
            plan(&command(&["--throttle", "1000", "--additional"])).unwrap(),
            Plan::Execute {
                proposed: BTreeMap::from([(tp("t", 0), vec![2, 1])]),
                additional: true,
                throttles: Throttles {
                    inter_broker: 1000,
                    log_dirs: -1
                },
            }
        );
        let list = check(&["--list", "--bootstrap-server", "h"]).unwrap();
        assert_eq!(plan(&list).unwrap(), Plan::List);
    }
}
