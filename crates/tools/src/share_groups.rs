//! `kafka-share-groups.sh`: list, describe and delete share groups (KIP-932), with the
//! flags, checks and output of Kafka's `ShareGroupCommand`.
//!
//! Calls go through the consumer-groups tool's admin connections (`Admin`): ListGroups to
//! every broker with the `share` type filter, ShareGroupDescribe and DeleteGroups to the
//! group's coordinator, DescribeShareGroupOffsets (the start offsets of `--describe`'s
//! default `--offsets` view), AlterShareGroupOffsets (`--reset-offsets --execute`) and
//! DeleteShareGroupOffsets (`--delete-offsets`) to the coordinator too.
//!
//! Versions: `--describe --offsets` prints Kafka 4.1's table (START-OFFSET, and
//! LEADER-EPOCH with `--verbose`; 4.2's LAG column needs DescribeShareGroupOffsets v1,
//! which Kafka 4.1 and rafka do not have). `--reset-offsets` is Kafka 4.2's (4.1's tool
//! refuses it): `--to-earliest`, `--to-latest` or `--to-datetime`, over `--topic` or
//! `--all-topics`, planned with `--dry-run` or done with `--execute`, only while the
//! group is empty.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use kafka_protocol::messages::alter_share_group_offsets_request::{
    AlterShareGroupOffsetsRequestPartition, AlterShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic;
use kafka_protocol::messages::describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup;
use kafka_protocol::messages::share_group_describe_response::DescribedGroup;
use kafka_protocol::messages::{
    AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse, ApiKey,
    DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse,
    DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse, GroupId,
    ListGroupsRequest, ListGroupsResponse, ShareGroupDescribeRequest, ShareGroupDescribeResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use rafka_protocol::ErrorCode;

use crate::common::{missing_argument, parse_tool_args, read_properties, runtime};
use crate::consumer_groups::admin::{
    Admin, KafkaError, Node, Partition, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP,
};
use crate::consumer_groups::reset::{
    check_partitions, log_offsets, named_partitions, offsets_for_timestamp, parse_datetime,
};
use crate::consumer_groups::{check_describe_view, check_view_options};
use crate::java_order::{self, Capacity};
use crate::ToolError;

const PURPOSE: &str = "This tool helps to list, describe, reset and delete share groups.";
/// What Kafka's tool prints in a column it has no value for.
const MISSING: &str = "-";
/// The prefix of every failure Kafka's `run` catches and prints.
const FAILED: &str = "Executing share group command failed due to ";

#[derive(Debug, Parser)]
#[command(
    name = "kafka-share-groups.sh",
    about = PURPOSE,
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    bootstrap_server: Option<String>,
    /// The share group we wish to act on.
    #[arg(long, value_name = "share group")]
    group: Vec<String>,
    /// The topic whose offset information should be deleted or included in the reset
    /// offset process.
    #[arg(long, value_name = "topic")]
    topic: Vec<String>,
    /// Consider all topics assigned to a share group in the 'reset-offsets' process.
    #[arg(long = "all-topics")]
    all_topics: bool,
    /// List all share groups.
    #[arg(long)]
    list: bool,
    /// Describe share group, members and offset information.
    #[arg(long)]
    describe: bool,
    /// Apply to all share groups.
    #[arg(long = "all-groups")]
    all_groups: bool,
    /// Delete share group.
    #[arg(long)]
    delete: bool,
    /// The timeout that can be set for some use cases.
    #[arg(long, value_name = "timeout (ms)", allow_hyphen_values = true)]
    timeout: Option<String>,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long = "command-config", value_name = "command config property file")]
    command_config: Option<PathBuf>,
    /// Reset offsets of share group.
    #[arg(long = "reset-offsets")]
    reset_offsets: bool,
    /// Delete offsets of share group.
    #[arg(long = "delete-offsets")]
    delete_offsets: bool,
    /// Only show results without executing changes on share groups.
    #[arg(long = "dry-run")]
    dry_run: bool,
    /// Execute operation.
    #[arg(long)]
    execute: bool,
    /// Reset offsets to offset from datetime. Format: 'YYYY-MM-DDThh:mm:ss.sss'
    #[arg(long = "to-datetime", value_name = "datetime")]
    to_datetime: Option<String>,
    /// Reset offsets to earliest offset.
    #[arg(long = "to-earliest")]
    to_earliest: bool,
    /// Reset offsets to latest offset.
    #[arg(long = "to-latest")]
    to_latest: bool,
    /// Describe members of the group.
    #[arg(long)]
    members: bool,
    /// Describe the group and list all topic partitions in the group along with their
    /// offset information (the default of --describe).
    #[arg(long)]
    offsets: bool,
    /// With --describe, the group's state; with --list, the state of every group (or
    /// only of the groups in the states given).
    #[arg(long, num_args = 0..=1, value_name = "String")]
    state: Option<Option<String>>,
    /// Provide additional information, if any, when describing the group.
    #[arg(long)]
    verbose: bool,
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    if args.is_empty() {
        return Err(ToolError::Usage(PURPOSE.into()));
    }
    let Some(args) = parse_tool_args::<Args>("kafka-share-groups.sh", args)? else {
        return Ok(());
    };
    check_args(&args)?;
    let bootstrap = args
        .bootstrap_server
        .clone()
        .ok_or_else(|| missing_argument("bootstrap-server"))?;
    if let Some(path) = &args.command_config {
        let props = read_properties(path)?;
        if let Some(protocol) = props.get("security.protocol") {
            if !protocol.eq_ignore_ascii_case("PLAINTEXT") {
                return Err(ToolError::Usage(format!(
                    "security.protocol={protocol} is not supported by kafka-share-groups.sh yet"
                )));
            }
        }
    }
    let timeout = Duration::from_millis(timeout_ms(&args)?.max(1) as u64);
    let result = runtime()?.block_on(async {
        let mut admin = Admin::connect(&bootstrap, timeout)
            .await?
            .for_command("share group");
        if args.list {
            list(&mut admin, &args).await
        } else if args.describe {
            describe(&mut admin, &args).await
        } else if args.delete {
            delete(&mut admin, &args).await
        } else if args.reset_offsets {
            reset_offsets(&mut admin, &args).await
        } else {
            delete_offsets(&mut admin, &args).await
        }
    });
    match result {
        // Kafka's `run` prints every failure of the command with `printError` and exits
        // 0; only argument errors exit 1.
        Err(ToolError::Failed(message)) => {
            print_error(&message);
            Ok(())
        }
        other => other,
    }
}

fn timeout_ms(args: &Args) -> Result<i64, ToolError> {
    match &args.timeout {
        None => Ok(30_000),
        Some(v) => v.trim().parse::<i64>().map_err(|_| {
            ToolError::Usage(format!("Cannot parse argument '{v}' of option timeout"))
        }),
    }
}

/// Kafka's `checkArgs` and `main`'s one-action rule, with their messages.
fn check_args(args: &Args) -> Result<(), ToolError> {
    let usage = |m: &str| Err(ToolError::Usage(m.to_string()));
    timeout_ms(args)?;
    check_view_options(
        args.describe,
        args.list,
        [args.members, args.verbose, args.offsets],
        args.state.is_some(),
    )?;
    if args.bootstrap_server.is_none() {
        return Err(missing_argument("bootstrap-server"));
    }
    let has_group = !args.group.is_empty();
    let has_topic = !args.topic.is_empty();
    if args.describe {
        if !has_group && !args.all_groups {
            return usage("Option [describe] takes one of these options: [all-groups], [group]");
        }
        check_describe_view(args.members, args.offsets, &args.state)?;
    }
    if args.delete {
        if !has_group && !args.all_groups {
            return usage("Option [delete] takes the options [group] or [all-groups]");
        }
        if has_group && args.all_groups {
            return usage("Option [delete] takes either [group] or [all-groups], not both.");
        }
        if has_topic {
            return usage("Option [delete] does not take the option: [topic]");
        }
    }
    if args.delete_offsets && (!has_group || !has_topic) {
        return usage("Option [delete-offsets] takes the following options: [topic], [group]");
    }
    if args.reset_offsets {
        if args.dry_run && args.execute {
            return usage("Option [reset-offsets] only accepts one of [execute] and [dry-run]");
        }
        if !args.dry_run && !args.execute {
            return usage("Option [reset-offsets] takes the option: [execute] or [dry-run]");
        }
        if !has_group {
            return usage("Option [reset-offsets] takes the option: [group]");
        }
        if !has_topic && !args.all_topics {
            return usage(
                "Option [reset-offsets] takes one of these options: [all-topics], [topic]",
            );
        }
        if !args.to_earliest && !args.to_latest && args.to_datetime.is_none() {
            return usage(
                "Option [reset-offsets] takes one of these options: [to-datetime], \
                 [to-earliest], [to-latest]",
            );
        }
        // Kafka's checkInvalidArgs for each reset scenario against the others.
        let clash = if args.to_datetime.is_some() && (args.to_earliest || args.to_latest) {
            let other = if args.to_earliest {
                "to-earliest"
            } else {
                "to-latest"
            };
            Some(("to-datetime", other))
        } else if args.to_earliest && args.to_latest {
            Some(("to-earliest", "to-latest"))
        } else {
            None
        };
        if let Some((one, other)) = clash {
            return usage(&format!(
                "Option \"[{one}]\" can't be used with option \"[{other}]\""
            ));
        }
    }
    if has_group && args.all_groups {
        return usage("Option \"[group]\" can't be used with option \"[all-groups]\"");
    }
    if has_group && !(args.describe || args.delete || args.reset_offsets || args.delete_offsets) {
        return usage("Option \"[group]\" can't be used with option \"[list]\"");
    }
    if has_topic && !(args.delete || args.reset_offsets || args.delete_offsets) {
        let other = if args.list { "[list]" } else { "[describe]" };
        return usage(&format!(
            "Option \"[topic]\" can't be used with option \"{other}\""
        ));
    }
    let actions = [
        args.list,
        args.describe,
        args.delete,
        args.reset_offsets,
        args.delete_offsets,
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        return usage(
            "Command must include exactly one action: --list, --describe, --delete, \
             --reset-offsets, --delete-offsets.",
        );
    }
    Ok(())
}

/// Kafka's `printError`: a blank line, then `Error: …`, on standard output.
fn print_error(message: &str) {
    println!("\nError: {message}");
}

/// A share group as ListGroups lists it.
#[derive(Debug, Clone)]
struct Listing {
    group_id: String,
    state: String,
}

/// Kafka's `GroupState.toString` for the share-group states (`Empty`, `Stable`, `Dead`).
fn state_name(wire: &str) -> String {
    match wire.to_ascii_lowercase().as_str() {
        "empty" => "Empty",
        "stable" => "Stable",
        "dead" => "Dead",
        "" => "Unknown",
        _ => return wire.to_string(),
    }
    .to_string()
}

/// The share groups of every broker, in the order Kafka's admin client hands them out
/// (the iteration order of its `HashMap` of listings by group id).
async fn list_share_groups(
    admin: &mut Admin,
    states: &[String],
) -> Result<Vec<Listing>, ToolError> {
    let mut found: Vec<Listing> = Vec::new();
    for id in admin.broker_ids() {
        let response: ListGroupsResponse = admin
            .call_node(id, ApiKey::ListGroups, 5, |_| {
                ListGroupsRequest::default()
                    .with_states_filter(
                        states
                            .iter()
                            .map(|s| StrBytes::from_string(s.clone()))
                            .collect(),
                    )
                    .with_types_filter(vec![StrBytes::from_static_str("share")])
            })
            .await?;
        if let Some(e) = KafkaError::from_code(response.error_code, None) {
            return Err(ToolError::Failed(format!("{FAILED}{}", e.java_string())));
        }
        for group in response.groups {
            if !group.group_type.eq_ignore_ascii_case("share") {
                continue;
            }
            if !found.iter().any(|g| g.group_id == group.group_id.as_str()) {
                found.push(Listing {
                    group_id: group.group_id.to_string(),
                    state: state_name(&group.group_state),
                });
            }
        }
    }
    Ok(java_order::hash_map_order(found, Capacity::Default, |g| {
        java_order::string_hash(&g.group_id)
    }))
}

async fn list(admin: &mut Admin, args: &Args) -> Result<(), ToolError> {
    let Some(state) = &args.state else {
        for group in list_share_groups(admin, &[]).await? {
            println!("{}", group.group_id);
        }
        return Ok(());
    };
    let states = match state.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(list) => parse_states(list)?,
    };
    let groups = list_share_groups(admin, &states).await?;
    let width = groups
        .iter()
        .map(|g| g.group_id.len())
        .max()
        .unwrap_or(0)
        .max(15);
    println!("{:<width$} STATE", "GROUP");
    for g in groups {
        println!("{:<width$} {}", g.group_id, g.state);
    }
    Ok(())
}

/// Kafka's `groupStatesFromString` for share groups.
fn parse_states(input: &str) -> Result<Vec<String>, ToolError> {
    let mut states = Vec::new();
    for s in input.split(',') {
        let name = state_name(s.trim());
        if !["Empty", "Stable", "Dead"].contains(&name.as_str()) {
            return Err(ToolError::Usage(format!(
                "Invalid state list '{input}'. Valid states are: Empty, Stable, Dead"
            )));
        }
        if !states.contains(&name) {
            states.push(name);
        }
    }
    Ok(states)
}

/// A member as ShareGroupDescribe describes it.
#[derive(Debug)]
struct Member {
    member_id: String,
    client_id: String,
    host: String,
    member_epoch: i32,
    /// (topic, partition), sorted.
    assignment: Vec<(String, i32)>,
}

#[derive(Debug)]
struct Description {
    state: String,
    group_epoch: i32,
    assignment_epoch: i32,
    members: Vec<Member>,
    coordinator: Node,
}

/// ShareGroupDescribe of one group: the group as described, or the error it answered.
async fn share_group_describe(
    admin: &mut Admin,
    group: &str,
) -> Result<Result<DescribedGroup, KafkaError>, ToolError> {
    let response: ShareGroupDescribeResponse = admin
        .call_coordinator(group, ApiKey::ShareGroupDescribe, 1, |_| {
            ShareGroupDescribeRequest::default()
                .with_group_ids(vec![GroupId(StrBytes::from_string(group.to_string()))])
        })
        .await?;
    let Some(described) = response.groups.into_iter().next() else {
        return Err(ToolError::Failed(format!(
            "{FAILED}an empty ShareGroupDescribe response"
        )));
    };
    Ok(
        match KafkaError::from_code(described.error_code, described.error_message.as_deref()) {
            Some(e) => Err(e),
            None => Ok(described),
        },
    )
}

async fn describe_group(admin: &mut Admin, group: &str) -> Result<Description, ToolError> {
    let coordinator = admin.coordinator(group).await?;
    let described = share_group_describe(admin, group)
        .await?
        .map_err(|e| ToolError::Failed(format!("{FAILED}{}", e.java_string())))?;
    let members = described
        .members
        .into_iter()
        .map(|m| {
            let mut assignment: Vec<(String, i32)> = m
                .assignment
                .topic_partitions
                .iter()
                .flat_map(|t| t.partitions.iter().map(|p| (t.topic_name.to_string(), *p)))
                .collect();
            assignment.sort();
            Member {
                member_id: m.member_id.to_string(),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                member_epoch: m.member_epoch,
                assignment,
            }
        })
        .collect();
    Ok(Description {
        state: state_name(&described.group_state),
        group_epoch: described.group_epoch,
        assignment_epoch: described.assignment_epoch,
        members,
        coordinator,
    })
}

async fn describe(admin: &mut Admin, args: &Args) -> Result<(), ToolError> {
    let mut groups: Vec<String> = if args.all_groups {
        list_share_groups(admin, &[])
            .await?
            .into_iter()
            .map(|g| g.group_id)
            .collect()
    } else {
        args.group.clone()
    };
    // Kafka collects the descriptions in a TreeMap: by group id, each once.
    groups.sort();
    groups.dedup();
    let mut described = Vec::new();
    for group in &groups {
        described.push((group.as_str(), describe_group(admin, group).await?));
    }
    if args.members {
        for (group, d) in &described {
            print_members(group, d, args.verbose);
        }
    } else if args.state.is_some() {
        for (group, d) in &described {
            print_state(group, d, args.verbose);
        }
    } else {
        for (group, _) in &described {
            let offsets = start_offsets(admin, group).await?;
            print_offsets(group, &offsets, args.verbose);
        }
    }
    Ok(())
}

/// Kafka's `maybePrintEmptyGroupState`: whether the group's rows follow.
fn print_empty_state(group: &str, state: &str, rows: usize) -> bool {
    if state == "Dead" {
        print_error(&format!("Share group '{group}' does not exist."));
    } else if state == "Empty" {
        eprintln!("\nShare group '{group}' has no active members.");
    }
    state != "Dead" && rows > 0
}

fn print_state(group: &str, d: &Description, verbose: bool) {
    print_empty_state(group, &d.state, 1);
    let group_len = group.len().max(15);
    let coordinator = format!(
        "{}:{}  ({})",
        d.coordinator.host, d.coordinator.port, d.coordinator.id
    );
    let coordinator_len = coordinator.len().max(25);
    if verbose {
        print!(
            "\n{:<group_len$} {:<coordinator_len$} {:<15} {:<12} {:<17} #MEMBERS",
            "GROUP", "COORDINATOR (ID)", "STATE", "GROUP-EPOCH", "ASSIGNMENT-EPOCH"
        );
        print!(
            "\n{:<group_len$} {:<coordinator_len$} {:<15} {:<12} {:<17} {}",
            group,
            coordinator,
            d.state,
            d.group_epoch,
            d.assignment_epoch,
            d.members.len()
        );
    } else {
        print!(
            "\n{:<group_len$} {:<coordinator_len$} {:<15} #MEMBERS",
            "GROUP", "COORDINATOR (ID)", "STATE"
        );
        print!(
            "\n{:<group_len$} {:<coordinator_len$} {:<15} {}",
            group,
            coordinator,
            d.state,
            d.members.len()
        );
    }
    println!();
}

/// Kafka's `getAssignmentString`: `topic:0,1;other:2`, topics sorted.
fn assignment_string(assignment: &[(String, i32)]) -> String {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (topic, partition) in assignment {
        by_topic.entry(topic).or_default().push(*partition);
    }
    let mut parts: Vec<String> = by_topic
        .into_iter()
        .map(|(topic, mut partitions)| {
            partitions.sort_unstable();
            let list: Vec<String> = partitions.iter().map(ToString::to_string).collect();
            format!("{topic}:{}", list.join(","))
        })
        .collect();
    parts.sort();
    parts.join(";")
}

fn print_members(group: &str, d: &Description, verbose: bool) {
    if !print_empty_state(group, &d.state, d.members.len()) {
        return;
    }
    let mut members: Vec<&Member> = d.members.iter().collect();
    members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    let group_len = group.len().max(15);
    let id_len = members
        .iter()
        .map(|m| m.member_id.len())
        .max()
        .unwrap_or(0)
        .max(15);
    let host_len = members
        .iter()
        .map(|m| m.host.len())
        .max()
        .unwrap_or(0)
        .max(15);
    let client_len = members
        .iter()
        .map(|m| m.client_id.len())
        .max()
        .unwrap_or(0)
        .max(15);
    if verbose {
        print!(
            "\n{:<group_len$} {:<id_len$} {:<host_len$} {:<client_len$} {:<12} {:<13} ASSIGNMENT",
            "GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "MEMBER-EPOCH"
        );
        for m in members {
            print!(
                "\n{:<group_len$} {:<id_len$} {:<host_len$} {:<client_len$} {:<12} {:<13} {}",
                group,
                m.member_id,
                m.host,
                m.client_id,
                m.assignment.len(),
                m.member_epoch,
                assignment_string(&m.assignment)
            );
        }
    } else {
        print!(
            "\n{:<group_len$} {:<id_len$} {:<host_len$} {:<client_len$} {:<12} ASSIGNMENT",
            "GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"
        );
        for m in members {
            print!(
                "\n{:<group_len$} {:<id_len$} {:<host_len$} {:<client_len$} {:<12} {}",
                group,
                m.member_id,
                m.host,
                m.client_id,
                m.assignment.len(),
                assignment_string(&m.assignment)
            );
        }
    }
    println!();
}

/// A partition's start offset and leader epoch (`None` where the group has none).
type StartOffsets = BTreeMap<(String, i32), (Option<i64>, Option<i32>)>;

/// DescribeShareGroupOffsets for all the group's partitions.
async fn start_offsets(admin: &mut Admin, group: &str) -> Result<StartOffsets, ToolError> {
    let response: DescribeShareGroupOffsetsResponse = admin
        .call_coordinator(group, ApiKey::DescribeShareGroupOffsets, 0, |_| {
            DescribeShareGroupOffsetsRequest::default().with_groups(vec![
                DescribeShareGroupOffsetsRequestGroup::default()
                    .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                    .with_topics(None),
            ])
        })
        .await?;
    let mut offsets = StartOffsets::new();
    for g in response.groups {
        if let Some(e) = KafkaError::from_code(g.error_code, g.error_message.as_deref()) {
            return Err(ToolError::Failed(format!("{FAILED}{}", e.java_string())));
        }
        for topic in g.topics {
            // Kafka's admin skips a partition answered with an error.
            for p in topic.partitions.into_iter().filter(|p| p.error_code == 0) {
                let known = p.start_offset >= 0;
                offsets.insert(
                    (topic.topic_name.to_string(), p.partition_index),
                    (
                        known.then_some(p.start_offset),
                        (known && p.leader_epoch >= 0).then_some(p.leader_epoch),
                    ),
                );
            }
        }
    }
    Ok(offsets)
}

fn print_offsets(group: &str, offsets: &StartOffsets, verbose: bool) {
    let group_len = group.len().max(15);
    let topic_len = offsets
        .keys()
        .map(|(t, _)| t.len())
        .max()
        .unwrap_or(0)
        .max(15);
    if verbose {
        print!(
            "\n{:<group_len$} {:<topic_len$} {:<10} {:<13} START-OFFSET",
            "GROUP", "TOPIC", "PARTITION", "LEADER-EPOCH"
        );
    } else {
        print!(
            "\n{:<group_len$} {:<topic_len$} {:<10} START-OFFSET",
            "GROUP", "TOPIC", "PARTITION"
        );
    }
    for ((topic, partition), (offset, epoch)) in offsets {
        let offset = offset.map_or(MISSING.to_string(), |o| o.to_string());
        if verbose {
            let epoch = epoch.map_or(MISSING.to_string(), |e| e.to_string());
            print!(
                "\n{group:<group_len$} {topic:<topic_len$} {partition:<10} {epoch:<13} {offset}"
            );
        } else {
            print!("\n{group:<group_len$} {topic:<topic_len$} {partition:<10} {offset}");
        }
    }
    println!();
}

async fn delete(admin: &mut Admin, args: &Args) -> Result<(), ToolError> {
    let listed = list_share_groups(admin, &[]).await?;
    let wanted: Vec<String> = if args.all_groups {
        listed.iter().map(|g| g.group_id.clone()).collect()
    } else {
        let mut seen = BTreeSet::new();
        args.group
            .iter()
            .filter(|g| seen.insert((*g).clone()))
            .cloned()
            .collect()
    };
    // Kafka keeps both in HashMaps: the pre-check failures first, then the deletions.
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut deleted: Vec<String> = Vec::new();
    for group in &wanted {
        match listed.iter().find(|g| &g.group_id == group) {
            None => {
                failed.push((
                    group.clone(),
                    format!(
                        "java.lang.IllegalArgumentException: Group '{group}' is not a share group."
                    ),
                ));
            }
            Some(g) if g.state == "Dead" => {
                failed.push((
                    group.clone(),
                    format!("java.lang.IllegalStateException: Share group '{group}' group state is DEAD."),
                ));
            }
            Some(g) if g.state != "Empty" => {
                failed.push((
                    group.clone(),
                    format!(
                        "org.apache.kafka.common.errors.GroupNotEmptyException: Share group \
                         '{group}' is not EMPTY."
                    ),
                ));
            }
            Some(_) => match admin.delete_group(group).await? {
                None => deleted.push(group.clone()),
                Some(e) => {
                    failed.push((group.clone(), e.java_string()));
                }
            },
        }
    }
    let pre_checked = failed.len();
    let failed = java_order::hash_map_order(failed, Capacity::CopyOf(pre_checked), |(g, _)| {
        java_order::string_hash(g)
    });
    let deleted =
        java_order::hash_map_order(deleted, Capacity::Default, |g| java_order::string_hash(g));
    let quoted = |groups: &[String]| {
        groups
            .iter()
            .map(|g| format!("'{g}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if failed.is_empty() {
        println!(
            "Deletion of requested share groups ({}) was successful.",
            quoted(&deleted)
        );
    } else {
        print_error("Deletion of some share groups failed:");
        for (group, error) in &failed {
            println!("* Group '{group}' could not be deleted due to: {error}");
        }
        if !deleted.is_empty() {
            println!(
                "\nThese share groups were deleted successfully: {}",
                quoted(&deleted)
            );
        }
    }
    Ok(())
}

/// `--delete-offsets`: Kafka's `deleteOffsets`. A group-level failure fails every topic
/// with it (and is printed first when it is the group's own); then each topic's outcome,
/// by name.
async fn delete_offsets(admin: &mut Admin, args: &Args) -> Result<(), ToolError> {
    let group = args.group[0].clone();
    let mut topics: Vec<String> = Vec::new();
    for t in &args.topic {
        if !topics.contains(t) {
            topics.push(t.clone());
        }
    }
    // Kafka's `HashSet` of the topics: the order `all()` meets their failures in.
    let count = topics.len();
    let topics = java_order::hash_map_order(topics, Capacity::HashSetOf(count), |t| {
        java_order::string_hash(t)
    });
    let response: DeleteShareGroupOffsetsResponse = admin
        .call_coordinator(&group, ApiKey::DeleteShareGroupOffsets, 0, |_| {
            DeleteShareGroupOffsetsRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.clone())))
                .with_topics(
                    topics
                        .iter()
                        .map(|t| {
                            DeleteShareGroupOffsetsRequestTopic::default()
                                .with_topic_name(TopicName(StrBytes::from_string(t.clone())))
                        })
                        .collect(),
                )
        })
        .await?;
    // topic → the message of its failure (None: deleted).
    let mut results: BTreeMap<String, Option<String>> = BTreeMap::new();
    let first_failure = match KafkaError::from_code(
        response.error_code,
        response.error_message.as_deref(),
    ) {
        Some(e) => {
            for t in &topics {
                results.insert(t.clone(), Some(e.message.clone()));
            }
            Some(e)
        }
        None => {
            let answered: BTreeMap<String, Option<KafkaError>> = response
                .responses
                .iter()
                .map(|t| {
                    let error = KafkaError::from_code(t.error_code, t.error_message.as_deref());
                    (t.topic_name.to_string(), error)
                })
                .collect();
            let mut first = None;
            for t in &topics {
                let error = match answered.get(t) {
                    Some(error) => error.clone(),
                    None => Some(KafkaError {
                        code: ErrorCode::UnknownServerError.code(),
                        message: format!(
                            "Offset deletion result for topic \"{t}\" was not included in the response"
                        ),
                    }),
                };
                if first.is_none() {
                    first = error.clone();
                }
                results.insert(t.clone(), error.map(|e| e.message));
            }
            first
        }
    };
    if let Some(e) = first_failure {
        match ErrorCode::try_from_code(e.code) {
            Some(
                ErrorCode::InvalidGroupId
                | ErrorCode::GroupIdNotFound
                | ErrorCode::GroupAuthorizationFailed
                | ErrorCode::NonEmptyGroup,
            ) => print_error(&e.message),
            // Reported with the topics below.
            Some(ErrorCode::TopicAuthorizationFailed | ErrorCode::UnknownTopicOrPartition) => {}
            _ => print_error(&format!(
                "Encounter some unknown error: {}",
                e.java_string()
            )),
        }
    }
    if !results.is_empty() {
        let width = results.keys().map(String::len).max().unwrap_or(0).max(15);
        print!("\n{:<width$} STATUS", "TOPIC");
        for (topic, error) in &results {
            let status = match error {
                None => "Successful".to_string(),
                Some(message) => format!("Error: {message}"),
            };
            print!("\n{topic:<width$} {status}");
        }
    }
    println!();
    Ok(())
}

/// `--reset-offsets` (Kafka 4.2's `resetOffsets`): only an empty (or unknown) group; the
/// plan is printed, and with `--execute` written first (AlterShareGroupOffsets).
async fn reset_offsets(admin: &mut Admin, args: &Args) -> Result<(), ToolError> {
    let group = args.group[0].clone();
    match share_group_describe(admin, &group)
        .await?
        .map(|d| state_name(&d.group_state))
    {
        Ok(state) if state != "Empty" && state != "Dead" => {
            return Err(ToolError::Reported(format!(
                "Share group '{group}' is not empty."
            )));
        }
        Ok(_) => {}
        Err(e) if e.code == ErrorCode::GroupIdNotFound.code() => {}
        Err(e) => return Err(ToolError::Reported(e.message)),
    }
    let partitions = partitions_to_reset(admin, args, &group).await?;
    check_partitions(admin, &partitions).await?;
    let offsets = if args.to_earliest {
        log_offsets(admin, &partitions, EARLIEST_TIMESTAMP, "starting").await?
    } else if args.to_latest {
        log_offsets(admin, &partitions, LATEST_TIMESTAMP, "ending").await?
    } else {
        let datetime = args.to_datetime.as_deref().unwrap_or_default();
        let timestamp = parse_datetime(datetime).map_err(|e| admin.failure(e))?;
        offsets_for_timestamp(admin, &partitions, timestamp).await?
    };
    if args.execute {
        alter_offsets(admin, &group, &offsets).await?;
    }
    print!("{}", format_reset_plan(&group, &offsets));
    Ok(())
}

/// `--topic` (`t` for all its partitions, `t:0,1` for some) or `--all-topics` (the
/// partitions the group has offsets for).
async fn partitions_to_reset(
    admin: &mut Admin,
    args: &Args,
    group: &str,
) -> Result<BTreeSet<Partition>, ToolError> {
    if args.topic.is_empty() {
        return Ok(start_offsets(admin, group).await?.into_keys().collect());
    }
    named_partitions(admin, &args.topic).await
}

/// AlterShareGroupOffsets; the group's error, or else the first partition's, fails it.
async fn alter_offsets(
    admin: &mut Admin,
    group: &str,
    offsets: &BTreeMap<Partition, i64>,
) -> Result<(), ToolError> {
    let mut by_topic: BTreeMap<&str, Vec<(i32, i64)>> = BTreeMap::new();
    for ((topic, partition), offset) in offsets {
        by_topic
            .entry(topic)
            .or_default()
            .push((*partition, *offset));
    }
    let response: AlterShareGroupOffsetsResponse = admin
        .call_coordinator(group, ApiKey::AlterShareGroupOffsets, 0, |_| {
            AlterShareGroupOffsetsRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(group.to_string())))
                .with_topics(
                    by_topic
                        .iter()
                        .map(|(topic, partitions)| {
                            AlterShareGroupOffsetsRequestTopic::default()
                                .with_topic_name(TopicName(StrBytes::from_string(
                                    topic.to_string(),
                                )))
                                .with_partitions(
                                    partitions
                                        .iter()
                                        .map(|(index, offset)| {
                                            AlterShareGroupOffsetsRequestPartition::default()
                                                .with_partition_index(*index)
                                                .with_start_offset(*offset)
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                )
        })
        .await?;
    let group_error = KafkaError::from_code(response.error_code, response.error_message.as_deref());
    let partition_error = response.responses.iter().find_map(|t| {
        t.partitions
            .iter()
            .find_map(|p| KafkaError::from_code(p.error_code, p.error_message.as_deref()))
    });
    match group_error.or(partition_error) {
        Some(e) => Err(admin.failure(e.message)),
        None => Ok(()),
    }
}

/// Kafka's `OffsetsUtils.printOffsetsToReset` for one group: columns as wide as the
/// longest group and topic (15 at least), rows in the order of Kafka's `HashMap`.
fn format_reset_plan(group: &str, offsets: &BTreeMap<Partition, i64>) -> String {
    let group_len = group.len().max(15);
    let topic_len = offsets
        .keys()
        .map(|(t, _)| t.len())
        .max()
        .unwrap_or(0)
        .max(15);
    let mut out = format!(
        "\n{:<group_len$} {:<topic_len$} {:<10} NEW-OFFSET",
        "GROUP", "TOPIC", "PARTITION"
    );
    let rows: Vec<(&Partition, &i64)> = offsets.iter().collect();
    for ((topic, partition), offset) in
        java_order::topic_partition_order(rows, Capacity::Default, |((t, p), _)| (t.as_str(), *p))
    {
        out.push_str(&format!(
            "\n{group:<group_len$} {topic:<topic_len$} {partition:<10} {offset}"
        ));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, ToolError> {
        let mut all = vec!["kafka-share-groups.sh".to_string()];
        all.extend(list.iter().map(|s| s.to_string()));
        let args = Args::try_parse_from(all).map_err(|e| ToolError::Usage(e.to_string()))?;
        check_args(&args).map(|()| args)
    }

    fn usage(list: &[&str]) -> String {
        match args(list) {
            Err(ToolError::Usage(m)) => m,
            other => panic!("expected a usage error for {list:?}, got {other:?}"),
        }
    }

    #[test]
    fn checks_follow_kafkas_share_group_command() {
        let b = ["--bootstrap-server", "x:1"];
        assert!(args(&[&b[..], &["--list"]].concat()).is_ok());
        assert!(args(&[&b[..], &["--list", "--state"]].concat()).is_ok());
        assert!(args(&[&b[..], &["--describe", "--group", "g", "--members"]].concat()).is_ok());
        assert_eq!(
            usage(&[&b[..], &["--describe"]].concat()),
            "Option [describe] takes one of these options: [all-groups], [group]"
        );
        assert_eq!(
            usage(
                &[
                    &b[..],
                    &["--describe", "--group", "g", "--members", "--offsets"]
                ]
                .concat()
            ),
            "Option [describe] takes at most one of these options: [members], [offsets], [state]"
        );
        assert_eq!(
            usage(&[&b[..], &["--delete", "--group", "g", "--all-groups"]].concat()),
            "Option [delete] takes either [group] or [all-groups], not both."
        );
        assert_eq!(
            usage(&[&b[..], &["--list", "--members"]].concat()),
            "Option(s) [members] are unavailable given other options on the command line"
        );
        assert_eq!(
            usage(&[&b[..], &["--list", "--describe", "--group", "g"]].concat()),
            "Command must include exactly one action: --list, --describe, --delete, \
             --reset-offsets, --delete-offsets."
        );
        assert_eq!(
            usage(&["--list"]),
            "Missing required argument \"[bootstrap-server]\""
        );
    }

    #[test]
    fn reset_needs_a_scope_and_a_scenario() {
        let b = [
            "--bootstrap-server",
            "x:1",
            "--reset-offsets",
            "--group",
            "g",
        ];
        assert!(args(&[&b[..], &["--topic", "t", "--to-earliest", "--dry-run"]].concat()).is_ok());
        assert!(args(&[&b[..], &["--all-topics", "--to-latest", "--execute"]].concat()).is_ok());
        assert_eq!(
            usage(&[&b[..], &["--to-earliest", "--dry-run"]].concat()),
            "Option [reset-offsets] takes one of these options: [all-topics], [topic]"
        );
        assert_eq!(
            usage(&[&b[..], &["--topic", "t", "--execute"]].concat()),
            "Option [reset-offsets] takes one of these options: [to-datetime], [to-earliest], \
             [to-latest]"
        );
        assert_eq!(
            usage(&[&b[..], &["--topic", "t", "--to-earliest"]].concat()),
            "Option [reset-offsets] takes the option: [execute] or [dry-run]"
        );
    }

    #[test]
    fn reset_plans_print_as_kafkas_offsets_utils() {
        let offsets = BTreeMap::from([
            (("orders".to_string(), 0), 0),
            (("orders".to_string(), 1), 7),
        ]);
        // Kafka's HashMap order of TopicPartition("orders", 0) and ("orders", 1).
        let hash = |p| java_order::topic_partition_hash("orders", p) as u32;
        let bucket = |p| ((hash(p) ^ (hash(p) >> 16)) & 15) as usize;
        let (first, second) = if bucket(1) < bucket(0) {
            (1, 0)
        } else {
            (0, 1)
        };
        let row = |p: i32| {
            format!(
                "\n{:<15} {:<15} {:<10} {}",
                "g",
                "orders",
                p,
                offsets[&("orders".to_string(), p)]
            )
        };
        assert_eq!(
            format_reset_plan("g", &offsets),
            format!(
                "\n{:<15} {:<15} {:<10} NEW-OFFSET{}{}\n",
                "GROUP",
                "TOPIC",
                "PARTITION",
                row(first),
                row(second)
            )
        );
    }

    #[test]
    fn assignments_print_by_sorted_topic() {
        let assignment = vec![
            ("b".to_string(), 2),
            ("a".to_string(), 1),
            ("a".to_string(), 0),
        ];
        assert_eq!(assignment_string(&assignment), "a:0,1;b:2");
        assert_eq!(assignment_string(&[]), "");
    }

    #[test]
    fn states_parse_as_kafka_names_them() {
        assert_eq!(parse_states("stable, EMPTY").unwrap(), ["Stable", "Empty"]);
        assert!(matches!(
            parse_states("Rebalancing"),
            Err(ToolError::Usage(m)) if m == "Invalid state list 'Rebalancing'. Valid states are: Empty, Stable, Dead"
        ));
    }
}
