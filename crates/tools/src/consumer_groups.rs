//! `kafka-consumer-groups.sh`: list, describe and delete consumer groups, delete their
//! offsets, and reset their offsets (dry run, execute, export to and import from CSV).
//!
//! Every call goes through rafka's protocol client (`admin`): librdkafka's admin API has
//! no ListGroups, DescribeGroups, OffsetFetch, OffsetCommit or OffsetDelete. Output, flags
//! and messages are those of Kafka's `ConsumerGroupCommand` (4.x); where Kafka prints an
//! error and still exits 0, this tool exits 1 so that scripts can tell.

pub(crate) mod admin;
mod describe;
mod options;
pub(crate) mod reset;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::{missing_argument, parse_tool_args, read_properties, runtime};
use crate::ToolError;
use admin::{Admin, KafkaError, Partition};
use options::{print_error, selected_groups, Args};

/// The reset scenarios, by Kafka's option names, in the order Kafka checks them.
const RESET_SCENARIOS: &str = "[[to-offset], [shift-by], [to-datetime], [by-duration], \
                               [to-earliest], [to-latest], [to-current], [from-file]]";

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    if args.is_empty() {
        return Err(ToolError::Usage(
            "This tool helps to list all consumer groups, describe a consumer group, delete \
             consumer group info, or reset consumer group offsets."
                .into(),
        ));
    }
    let Some(args) = parse_tool_args::<Args>("kafka-consumer-groups.sh", args)? else {
        return Ok(());
    };
    check_args(&args)?;
    if let Some(regex) = &args.validate_regex {
        match regex::Regex::new(regex) {
            Ok(_) => println!("The regular expression `{regex}` is valid."),
            Err(e) => println!(
                "The regular expression `{regex}` is invalid: {}.",
                e.to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches("error: ")
            ),
        }
        return Ok(());
    }
    let bootstrap = args
        .bootstrap_server
        .clone()
        .ok_or_else(|| missing_argument("bootstrap-server"))?;
    if let Some(path) = &args.command_config {
        crate::common::use_command_config(&read_properties(path)?)?;
    }
    let timeout = Duration::from_millis(args.timeout_ms()?.max(1) as u64);
    let result = runtime()?.block_on(async {
        let mut admin = Admin::connect(&bootstrap, timeout).await?;
        let ok = if args.list {
            list(&mut admin, &args).await?
        } else if args.describe {
            describe::describe(&mut admin, &args).await?
        } else if args.delete {
            delete(&mut admin, &args).await?
        } else if args.reset_offsets {
            reset::reset_offsets(&mut admin, &args).await?
        } else {
            delete_offsets(&mut admin, &args).await?
        };
        if ok {
            Ok(())
        } else {
            Err(ToolError::Reported(String::new()))
        }
    });
    match result {
        // Kafka's `run` catches every failure of the command, prints it with `printError`
        // and exits 0; only argument errors exit 1.
        Err(ToolError::Failed(message))
            if message.starts_with("Executing consumer group command failed due to ") =>
        {
            print_error(&message);
            Ok(())
        }
        Err(ToolError::Reported(message)) if message.is_empty() => Ok(()),
        other => other,
    }
}

/// Kafka's `availableIf` rules of the group commands' view options: `--members`,
/// `--verbose` and `--offsets` (in that order in `views`) only with `--describe`,
/// `--state` with `--describe` or `--list`.
pub(crate) fn check_view_options(
    describe: bool,
    list: bool,
    views: [bool; 3],
    state: bool,
) -> Result<(), ToolError> {
    for (present, name) in views.into_iter().zip(["members", "verbose", "offsets"]) {
        if present && !describe {
            return Err(ToolError::Usage(format!(
                "Option(s) [{name}] are unavailable given other options on the command line"
            )));
        }
    }
    if state && !describe && !list {
        return Err(ToolError::Usage(
            "Option(s) [state] are unavailable given other options on the command line".into(),
        ));
    }
    Ok(())
}

/// `--describe`'s views: at most one of `--members`, `--offsets`, `--state`, and
/// `--state` without a value.
pub(crate) fn check_describe_view(
    members: bool,
    offsets: bool,
    state: &Option<Option<String>>,
) -> Result<(), ToolError> {
    if [members, offsets, state.is_some()]
        .iter()
        .filter(|v| **v)
        .count()
        > 1
    {
        return Err(ToolError::Usage(
            "Option [describe] takes at most one of these options: [members], [offsets], [state]"
                .into(),
        ));
    }
    if matches!(state, Some(Some(_))) {
        return Err(ToolError::Usage(
            "Option [describe] does not take a value for [state]".into(),
        ));
    }
    Ok(())
}

/// Kafka's `checkArgs`, with its messages.
fn check_args(args: &Args) -> Result<(), ToolError> {
    let actions = [
        args.list,
        args.describe,
        args.delete,
        args.reset_offsets,
        args.delete_offsets,
        args.validate_regex.is_some(),
    ];
    let usage = |m: &str| Err(ToolError::Usage(m.to_string()));
    args.timeout_ms()?;
    args.to_offset_value()?;
    args.shift_by_value()?;
    if args.bootstrap_server.is_none() {
        return Err(missing_argument("bootstrap-server"));
    }
    let has_group = !args.group.is_empty();
    let has_topic = !args.topic.is_empty();
    check_view_options(
        args.describe,
        args.list,
        [args.members, args.verbose, args.offsets],
        args.state.is_some(),
    )?;
    if args.group_type.is_some() && !args.list {
        return usage("Option(s) [type] are unavailable given other options on the command line");
    }
    if args.describe {
        if !has_group && !args.all_groups {
            return usage("Option [describe] takes one of these options: [group], [all-groups]");
        }
        check_describe_view(args.members, args.offsets, &args.state)?;
    }
    if args.delete {
        if !has_group && !args.all_groups {
            return usage("Option [delete] takes one of these options: [group], [all-groups]");
        }
        if has_topic {
            return usage(
                "The consumer does not support topic-specific offset deletion from a consumer group.",
            );
        }
    }
    if args.delete_offsets && (!has_group || !has_topic) {
        return usage("Option [delete-offsets] takes the following options: [group], [topic]");
    }
    if args.reset_offsets {
        if args.dry_run && args.execute {
            return usage("Option [reset-offsets] only accepts one of [execute] and [dry-run]");
        }
        if !args.dry_run && !args.execute {
            eprintln!(
                "WARN: No action will be performed as the --execute option is missing.In a \
                 future major release, the default behavior of this command will be to prompt \
                 the user before executing the reset rather than doing a dry run. You should \
                 add the --dry-run option explicitly if you are scripting this command and want \
                 to keep the current default behavior without prompting."
            );
        }
        if !has_group && !args.all_groups {
            return usage(
                "Option [reset-offsets] takes one of these options: [group], [all-groups]",
            );
        }
        let scenarios = [
            (args.to_offset.is_some(), "to-offset"),
            (args.to_datetime.is_some(), "to-datetime"),
            (args.by_duration.is_some(), "by-duration"),
            (args.to_earliest, "to-earliest"),
            (args.to_latest, "to-latest"),
            (args.to_current, "to-current"),
            (args.shift_by.is_some(), "shift-by"),
            (args.from_file.is_some(), "from-file"),
        ];
        let given: Vec<&str> = scenarios.iter().filter(|s| s.0).map(|s| s.1).collect();
        if given.len() > 1 {
            return usage(&format!(
                "Option \"[{}]\" can't be used with option \"[{}]\"",
                given[0], given[1]
            ));
        }
        if given.is_empty() {
            return usage(&format!(
                "Option '[reset-offsets]' requires one of the following scenarios: {RESET_SCENARIOS}"
            ));
        }
        if !has_topic && !args.all_topics && args.from_file.is_none() {
            return usage("One of the reset scopes should be defined: --all-topics, --topic.");
        }
    }
    if has_group && args.all_groups {
        return usage("Option \"[group]\" can't be used with option \"[all-groups]\"");
    }
    if has_group && args.list {
        return usage("Option \"[group]\" can't be used with option \"[list]\"");
    }
    if has_topic && (args.list || args.describe) {
        let other = if args.list { "list" } else { "describe" };
        return usage(&format!(
            "Option \"[topic]\" can't be used with option \"[{other}]\""
        ));
    }
    // Kafka checks the action last, after the options of each action.
    if actions.iter().filter(|a| **a).count() != 1 {
        return usage(
            "Command must include exactly one action: --list, --describe, --delete, \
             --reset-offsets, --delete-offsets, --validate-regex",
        );
    }
    Ok(())
}

/// Kafka's group states of consumer groups, in the order its message names them.
const CONSUMER_GROUP_STATES: &[&str] = &[
    "PreparingRebalance",
    "CompletingRebalance",
    "Stable",
    "Dead",
    "Empty",
    "Assigning",
    "Reconciling",
];

/// `--state a,b`: Kafka's state names, case-insensitively.
fn parse_states(input: &str) -> Result<Vec<String>, ToolError> {
    let mut states = Vec::new();
    for s in input.split(',') {
        match CONSUMER_GROUP_STATES
            .iter()
            .find(|k| k.eq_ignore_ascii_case(s.trim()))
        {
            Some(k) => states.push(k.to_string()),
            None => {
                return Err(ToolError::Usage(format!(
                    "Invalid state list '{input}'. Valid states are: {}",
                    CONSUMER_GROUP_STATES.join(", ")
                )))
            }
        }
    }
    Ok(states)
}

/// `--type a,b`: `classic` and `consumer`, case-insensitively.
fn parse_types(input: &str) -> Result<Vec<String>, ToolError> {
    let mut types = Vec::new();
    for t in input.to_ascii_lowercase().split(',') {
        match t.trim() {
            "classic" => types.push("Classic".to_string()),
            "consumer" => types.push("Consumer".to_string()),
            _ => {
                return Err(ToolError::Usage(format!(
                    "Invalid types list '{input}'. Valid types are: Classic, Consumer"
                )))
            }
        }
    }
    Ok(types)
}

async fn list(admin: &mut Admin, args: &Args) -> Result<bool, ToolError> {
    let include_state = args.state.is_some();
    let include_type = args.group_type.is_some();
    if !include_state && !include_type {
        for group in admin.list_groups(&[]).await? {
            println!("{}", group.group_id);
        }
        return Ok(true);
    }
    let states = match &args.state {
        Some(Some(s)) if !s.is_empty() => parse_states(s)?,
        _ => Vec::new(),
    };
    let types = match &args.group_type {
        Some(Some(t)) if !t.is_empty() => parse_types(t)?,
        _ => Vec::new(),
    };
    let groups: Vec<admin::GroupListing> = admin
        .list_groups(&states)
        .await?
        .into_iter()
        .filter(|g| types.is_empty() || types.contains(&g.group_type))
        .collect();
    print!(
        "{}",
        describe::format_group_listing(&groups, include_type, include_state)
    );
    Ok(true)
}

async fn delete(admin: &mut Admin, args: &Args) -> Result<bool, ToolError> {
    let groups = selected_groups(admin, args).await?;
    let mut succeeded = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    for group in groups {
        match admin.delete_group(&group).await? {
            None => succeeded.push(group),
            Some(e) => failed.push((group, e.java_string())),
        }
    }
    let quoted = |groups: &[String]| {
        groups
            .iter()
            .map(|g| format!("'{g}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if failed.is_empty() {
        println!(
            "Deletion of requested consumer groups ({}) was successful.",
            quoted(&succeeded)
        );
        return Ok(true);
    }
    print_error("Deletion of some consumer groups failed:");
    for (group, error) in &failed {
        println!("* Group '{group}' could not be deleted due to: {error}");
    }
    if !succeeded.is_empty() {
        println!(
            "\nThese consumer groups were deleted successfully: {}",
            quoted(&succeeded)
        );
    }
    Ok(false)
}

async fn delete_offsets(admin: &mut Admin, args: &Args) -> Result<bool, ToolError> {
    let group = args.group[0].clone();
    let mut results: BTreeMap<(String, Option<i32>), Option<String>> = BTreeMap::new();
    let mut partitions: BTreeSet<Partition> = BTreeSet::new();
    let mut whole_topics = Vec::new();
    for topic in &args.topic {
        if topic.contains(':') {
            partitions.extend(reset::parse_topic_with_partitions(topic)?);
        } else {
            whole_topics.push(topic.clone());
        }
    }
    let known = admin.topic_partitions(&whole_topics).await?;
    let unknown_topic = KafkaError::from_code(
        rafka_protocol::ErrorCode::UnknownTopicOrPartition.code(),
        None,
    )
    .map(|e| e.java_string());
    for topic in &whole_topics {
        match known.get(topic) {
            Some(ps) => partitions.extend(ps.keys().map(|p| (topic.clone(), *p))),
            None => {
                results.insert((topic.clone(), None), unknown_topic.clone());
            }
        }
    }
    let (group_error, partition_errors) = if partitions.is_empty() {
        (None, BTreeMap::new())
    } else {
        admin.delete_offsets(&group, &partitions).await?
    };
    for partition in &partitions {
        let error = partition_errors
            .get(partition)
            .cloned()
            .flatten()
            .or_else(|| group_error.clone());
        results.insert(
            (partition.0.clone(), Some(partition.1)),
            error.map(|e| e.java_string()),
        );
    }
    let top_level = group_error
        .clone()
        .or_else(|| partition_errors.values().flatten().next().cloned());
    let ok = match &top_level {
        None => {
            println!("Request succeeded for deleting offsets from group {group}.");
            results.values().all(Option::is_none)
        }
        Some(e) => {
            use rafka_protocol::ErrorCode as E;
            match E::try_from_code(e.code) {
                Some(
                    E::InvalidGroupId
                    | E::GroupIdNotFound
                    | E::GroupAuthorizationFailed
                    | E::NonEmptyGroup,
                ) => print_error(&e.message),
                Some(
                    E::GroupSubscribedToTopic
                    | E::TopicAuthorizationFailed
                    | E::UnknownTopicOrPartition,
                ) => print_error(
                    "Encountered some partition-level error, see the follow-up details.",
                ),
                _ => print_error(&format!("Encountered some unknown error: {}", e.message)),
            }
            false
        }
    };
    print!("{}", describe::format_delete_offsets(&results));
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, ToolError> {
        let args = parse_tool_args::<Args>(
            "kafka-consumer-groups.sh",
            args.iter().map(|s| s.to_string()).collect(),
        )?
        .expect("not help");
        check_args(&args)?;
        Ok(args)
    }

    fn usage_error(args: &[&str]) -> String {
        match parse(args) {
            Err(ToolError::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn exactly_one_action_is_required() {
        let m = usage_error(&["--bootstrap-server", "b:9092"]);
        assert!(m.starts_with("Command must include exactly one action: --list"));
        let m = usage_error(&[
            "--bootstrap-server",
            "b:9092",
            "--list",
            "--validate-regex",
            "x",
        ]);
        assert!(m.starts_with("Command must include exactly one action"));
    }

    #[test]
    fn kafka_messages_for_missing_options() {
        assert_eq!(
            usage_error(&["--list"]),
            "Missing required argument \"[bootstrap-server]\""
        );
        assert_eq!(
            usage_error(&["--bootstrap-server", "b", "--describe"]),
            "Option [describe] takes one of these options: [group], [all-groups]"
        );
        assert_eq!(
            usage_error(&["--bootstrap-server", "b", "--reset-offsets", "--group", "g"]),
            format!(
                "Option '[reset-offsets]' requires one of the following scenarios: {RESET_SCENARIOS}"
            )
        );
        assert_eq!(
            usage_error(&[
                "--bootstrap-server",
                "b",
                "--reset-offsets",
                "--group",
                "g",
                "--to-latest"
            ]),
            "One of the reset scopes should be defined: --all-topics, --topic."
        );
        assert_eq!(
            usage_error(&[
                "--bootstrap-server",
                "b",
                "--reset-offsets",
                "--group",
                "g",
                "--to-latest",
                "--to-earliest",
                "--all-topics"
            ]),
            "Option \"[to-earliest]\" can't be used with option \"[to-latest]\""
        );
        assert_eq!(
            usage_error(&["--bootstrap-server", "b", "--list", "--members"]),
            "Option(s) [members] are unavailable given other options on the command line"
        );
        assert_eq!(
            usage_error(&["--bootstrap-server", "b", "--bogus"]),
            "bogus is not a recognized option"
        );
    }

    #[test]
    fn negative_shift_and_optional_state_parse() {
        let args = parse(&[
            "--bootstrap-server",
            "b",
            "--reset-offsets",
            "--group",
            "g",
            "--shift-by",
            "-2",
            "--topic",
            "t",
        ])
        .unwrap();
        assert_eq!(args.shift_by_value().unwrap(), Some(-2));
        assert_eq!(
            usage_error(&["--bootstrap-server", "b", "--list", "--timeout", "x"]),
            "Cannot parse argument 'x' of option timeout"
        );
        let args = parse(&["--bootstrap-server", "b", "--list", "--state"]).unwrap();
        assert_eq!(args.state, Some(None));
        let args = parse(&[
            "--bootstrap-server",
            "b",
            "--list",
            "--state",
            "stable,Empty",
        ])
        .unwrap();
        assert_eq!(
            parse_states(args.state.unwrap().as_deref().unwrap()).unwrap(),
            vec!["Stable", "Empty"]
        );
        assert!(parse_states("bogus").is_err());
        assert_eq!(parse_types("CLASSIC").unwrap(), vec!["Classic"]);
    }
}
