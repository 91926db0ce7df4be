//! `--describe` (offsets, members, state) and the tables of `--list --state/--type` and
//! `--delete-offsets`, formatted as Kafka's `ConsumerGroupCommand` formats them: Java's
//! `%-Ns` columns, minimum widths of 15 (25 for the coordinator), a blank line before
//! each table.

use std::collections::{BTreeMap, BTreeSet};

use super::admin::{
    Admin, GroupDescription, GroupListing, MemberDescription, Partition, LATEST_TIMESTAMP,
};
use super::options::{print_error, selected_groups, Args};
use crate::java_order::{self, Capacity};
use crate::ToolError;

/// Kafka's `MISSING_COLUMN_VALUE`.
const MISSING: &str = "-";

/// One row of the offsets table (`PartitionAssignmentState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OffsetRow {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub leader_epoch: Option<i32>,
    pub offset: Option<i64>,
    pub log_end_offset: Option<i64>,
    pub consumer_id: String,
    pub host: String,
    pub client_id: String,
}

impl OffsetRow {
    /// Kafka's `getLag`: only with both a committed offset and a log end offset.
    fn lag(&self) -> Option<i64> {
        match (self.offset, self.log_end_offset) {
            (Some(offset), Some(end)) if offset != -1 => Some(end - offset),
            _ => None,
        }
    }
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| MISSING.to_string(), |v| v.to_string())
}

pub(crate) async fn describe(admin: &mut Admin, args: &Args) -> Result<bool, ToolError> {
    let groups: BTreeSet<String> = selected_groups(admin, args).await?.into_iter().collect();
    let mut ok = true;
    // Kafka describes every group first; one the coordinator does not know
    // (GROUP_ID_NOT_FOUND) fails the whole command before anything is printed.
    let mut descriptions = Vec::new();
    for group in groups {
        let description = admin.describe_group(&group).await?;
        if let Some(error) = &description.not_found {
            print_error(&format!(
                "Executing consumer group command failed due to {error}"
            ));
            return Ok(true);
        }
        descriptions.push((group, description));
    }
    for (group, description) in descriptions {
        if !description.exists() {
            print_error(&format!("Consumer group '{group}' does not exist."));
            ok = false;
            continue;
        }
        if args.members {
            warn_about_state(&description);
            print!(
                "{}",
                format_members(&group, &description.members, args.verbose)
            );
        } else if args.state.is_some() {
            warn_about_state(&description);
            print!("{}", format_state(&description, args.verbose));
        } else {
            let committed = admin.committed_offsets(&group).await?;
            let mut rows = offset_rows(&description, &committed);
            let partitions: BTreeSet<Partition> = rows
                .iter()
                .map(|r| (r.topic.clone(), r.partition))
                .collect();
            let ends = admin.list_offsets(&partitions, LATEST_TIMESTAMP).await?;
            for row in &mut rows {
                row.log_end_offset = ends.get(&(row.topic.clone(), row.partition)).copied();
            }
            warn_about_state(&description);
            if !rows.is_empty() {
                print!("{}", format_offsets(&rows, args.verbose));
            }
        }
    }
    Ok(ok)
}

/// Kafka's `shouldPrintMemberState` notes, on standard error.
fn warn_about_state(description: &GroupDescription) {
    let group = &description.group_id;
    match description.state.as_str() {
        "Empty" => eprintln!("\nConsumer group '{group}' has no active members."),
        "PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling" => {
            eprintln!("\nWarning: Consumer group '{group}' is rebalancing.")
        }
        _ => {}
    }
}

/// Kafka's `collectGroupsOffsets`: members with the most partitions first, each one's
/// partitions in order; then the committed partitions no member owns, with `-` for
/// the member columns. Log end offsets are filled in by the caller.
pub(crate) fn offset_rows(
    description: &GroupDescription,
    committed: &BTreeMap<Partition, (i64, Option<i32>)>,
) -> Vec<OffsetRow> {
    let mut members: Vec<&MemberDescription> = description
        .members
        .iter()
        .filter(|m| !m.assignment.is_empty())
        .collect();
    members.sort_by_key(|m| std::cmp::Reverse(m.assignment.len()));
    let row = |partition: &Partition, consumer_id: &str, host: &str, client_id: &str| {
        let commit = committed.get(partition);
        OffsetRow {
            group: description.group_id.clone(),
            topic: partition.0.clone(),
            partition: partition.1,
            leader_epoch: commit.and_then(|c| c.1),
            offset: commit.map(|c| c.0),
            log_end_offset: None,
            consumer_id: consumer_id.to_string(),
            host: host.to_string(),
            client_id: client_id.to_string(),
        }
    };
    let mut rows = Vec::new();
    let mut assigned = BTreeSet::new();
    for member in members {
        // The assignment is a `HashSet`, listed, sorted by partition, and printed in the
        // order of the `HashMap` of log end offsets (`Collectors.toMap`).
        let partitions: Vec<&Partition> = member.assignment.iter().collect();
        let n = partitions.len();
        let partitions = tp_order(partitions, Capacity::HashSetOf(n));
        for partition in log_end_offsets_order(partitions) {
            assigned.insert(partition.clone());
            rows.push(row(
                partition,
                &member.consumer_id,
                &member.host,
                &member.client_id,
            ));
        }
    }
    // The committed offsets (a `HashMap`), those no member owns (another), then as above.
    let committed = tp_order(committed.keys().collect(), Capacity::Default);
    let unassigned: Vec<&Partition> = committed
        .into_iter()
        .filter(|p| !assigned.contains(*p))
        .collect();
    let unassigned = tp_order(unassigned, Capacity::Default);
    for partition in log_end_offsets_order(unassigned) {
        rows.push(row(partition, MISSING, MISSING, MISSING));
    }
    rows
}

fn tp_order(partitions: Vec<&Partition>, capacity: Capacity) -> Vec<&Partition> {
    java_order::topic_partition_order(partitions, capacity, |p| (p.0.as_str(), p.1))
}

/// Kafka's `collectConsumerAssignment` + `describePartitions`: the partitions sorted by
/// partition number (a stable sort), then iterated as `getLogEndOffsets`' `HashMap`.
fn log_end_offsets_order(mut partitions: Vec<&Partition>) -> Vec<&Partition> {
    partitions.sort_by_key(|p| p.1);
    tp_order(partitions, Capacity::Default)
}

/// Kafka's `printOffsets` for one group.
pub(crate) fn format_offsets(rows: &[OffsetRow], verbose: bool) -> String {
    let width = |f: &dyn Fn(&OffsetRow) -> usize| rows.iter().map(f).max().unwrap_or(0).max(15);
    let group_w = width(&|r| r.group.len());
    let topic_w = width(&|r| r.topic.len());
    let consumer_w = width(&|r| r.consumer_id.len());
    let host_w = width(&|r| r.host.len());
    let line = |cells: [&str; 10]| {
        let [group, topic, partition, epoch, offset, end, lag, consumer, host, client] = cells;
        if verbose {
            format!(
                "\n{group:<group_w$} {topic:<topic_w$} {partition:<10} {epoch:<15} {offset:<15} \
                 {end:<15} {lag:<15} {consumer:<consumer_w$} {host:<host_w$} {client}"
            )
        } else {
            format!(
                "\n{group:<group_w$} {topic:<topic_w$} {partition:<10} {offset:<15} {end:<15} \
                 {lag:<15} {consumer:<consumer_w$} {host:<host_w$} {client}"
            )
        }
    };
    let mut out = line([
        "GROUP",
        "TOPIC",
        "PARTITION",
        "LEADER-EPOCH",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    for r in rows {
        out.push_str(&line([
            &r.group,
            &r.topic,
            &r.partition.to_string(),
            &opt(r.leader_epoch),
            &opt(r.offset),
            &opt(r.log_end_offset),
            &opt(r.lag()),
            &r.consumer_id,
            &r.host,
            &r.client_id,
        ]));
    }
    out.push('\n');
    out
}

/// Kafka's `getAssignmentString`: `t1:0,1;t2:0`, topics and partitions in order.
fn assignment_string(assignment: &[Partition]) -> String {
    if assignment.is_empty() {
        return MISSING.to_string();
    }
    let mut by_topic: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    for (topic, partition) in assignment {
        by_topic.entry(topic).or_default().insert(*partition);
    }
    by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions: Vec<String> = partitions.iter().map(i32::to_string).collect();
            format!("{topic}:{}", partitions.join(","))
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Kafka's `printMembers` for one group (a classic group: no epochs, no target
/// assignment, so those verbose columns are `-`).
pub(crate) fn format_members(group: &str, members: &[MemberDescription], verbose: bool) -> String {
    let width = |min: usize, f: &dyn Fn(&MemberDescription) -> usize| {
        members.iter().map(f).max().unwrap_or(0).max(min)
    };
    let group_w = group.len().max(15);
    let consumer_w = width(15, &|m| m.consumer_id.len());
    let instance_w = width(17, &|m| m.group_instance_id.as_deref().unwrap_or("").len());
    let host_w = width(15, &|m| m.host.len());
    let client_w = width(15, &|m| m.client_id.len());
    let current_w = width(20, &|m| assignment_string(&m.assignment).len());
    let target_w = 20;
    let with_instance = members.iter().any(|m| {
        m.group_instance_id
            .as_deref()
            .is_some_and(|i| !i.is_empty())
    });
    let line = |group: &str, consumer: &str, instance: &str, host: &str, client: &str, n: &str| {
        if with_instance {
            format!(
                "{group:<group_w$} {consumer:<consumer_w$} {instance:<instance_w$} \
                 {host:<host_w$} {client:<client_w$} {n:<15} "
            )
        } else {
            format!(
                "{group:<group_w$} {consumer:<consumer_w$} {host:<host_w$} {client:<client_w$} \
                 {n:<15} "
            )
        }
    };
    let verbose_cells = |epoch: &str, current: &str, target_epoch: &str, target: &str| {
        format!("{epoch:<15} {current:<current_w$} {target_epoch:<15} {target:<target_w$}")
    };
    let mut out = String::from("\n");
    out.push_str(&line(
        "GROUP",
        "CONSUMER-ID",
        "GROUP-INSTANCE-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
    ));
    if verbose {
        out.push_str(&verbose_cells(
            "CURRENT-EPOCH",
            "CURRENT-ASSIGNMENT",
            "TARGET-EPOCH",
            "TARGET-ASSIGNMENT",
        ));
    }
    out.push('\n');
    for m in members {
        out.push_str(&line(
            group,
            &m.consumer_id,
            m.group_instance_id.as_deref().unwrap_or(""),
            &m.host,
            &m.client_id,
            &m.assignment.len().to_string(),
        ));
        if verbose {
            out.push_str(&verbose_cells(
                MISSING,
                &assignment_string(&m.assignment),
                MISSING,
                MISSING,
            ));
        }
        out.push('\n');
    }
    out
}

/// Kafka's `printStates` for one group.
pub(crate) fn format_state(d: &GroupDescription, verbose: bool) -> String {
    let coordinator = format!(
        "{}:{}  ({})",
        d.coordinator.host, d.coordinator.port, d.coordinator.id
    );
    let coordinator_w = coordinator.len().max(25);
    let group_w = d.group_id.len().max(15);
    let strategy = if d.assignment_strategy.is_empty() {
        MISSING
    } else {
        d.assignment_strategy.as_str()
    };
    let members = d.members.len().to_string();
    let mut out = String::new();
    if verbose {
        let line = |cells: [&str; 7]| {
            let [g, c, s, st, e, t, n] = cells;
            format!("\n{g:<group_w$} {c:<coordinator_w$} {s:<20} {st:<20} {e:<15} {t:<25} {n}")
        };
        out.push_str(&line([
            "GROUP",
            "COORDINATOR (ID)",
            "ASSIGNMENT-STRATEGY",
            "STATE",
            "GROUP-EPOCH",
            "TARGET-ASSIGNMENT-EPOCH",
            "#MEMBERS",
        ]));
        out.push_str(&line([
            &d.group_id,
            &coordinator,
            strategy,
            &d.state,
            MISSING,
            MISSING,
            &members,
        ]));
    } else {
        let line = |cells: [&str; 5]| {
            let [g, c, s, st, n] = cells;
            format!("\n{g:<group_w$} {c:<coordinator_w$} {s:<20} {st:<20} {n}")
        };
        out.push_str(&line([
            "GROUP",
            "COORDINATOR (ID)",
            "ASSIGNMENT-STRATEGY",
            "STATE",
            "#MEMBERS",
        ]));
        out.push_str(&line([
            &d.group_id,
            &coordinator,
            strategy,
            &d.state,
            &members,
        ]));
    }
    out.push('\n');
    out
}

/// Kafka's `printGroupInfo` (`--list` with `--state` and/or `--type`).
pub(crate) fn format_group_listing(
    groups: &[GroupListing],
    include_type: bool,
    include_state: bool,
) -> String {
    let group_w = groups
        .iter()
        .map(|g| g.group_id.len().max(15))
        .max()
        .unwrap_or(15)
        + 10;
    let line = |group: &str, group_type: &str, state: &str| {
        let mut line = format!("{group:<group_w$}");
        if include_type {
            line.push_str(&format!(" {group_type:<20}"));
        }
        if include_state {
            line.push_str(&format!(" {state:<20}"));
        }
        line.push('\n');
        line
    };
    let mut out = line("GROUP", "TYPE", "STATE");
    for g in groups {
        out.push_str(&line(&g.group_id, &g.group_type, &g.state));
    }
    out
}

/// The table of `--delete-offsets`: a partition of `None` is a whole topic that failed;
/// an error is the Java exception's text. Rows sort as Kafka sorts them, by the topic
/// name and partition number written together.
pub(crate) fn format_delete_offsets(
    results: &BTreeMap<(String, Option<i32>), Option<String>>,
) -> String {
    let topic_w = results.keys().map(|k| k.0.len()).max().unwrap_or(0).max(15);
    let mut rows: Vec<_> = results.iter().collect();
    rows.sort_by_key(|((topic, partition), _)| format!("{topic}{}", partition.unwrap_or(-1)));
    let mut out = format!(
        "\n{:<topic_w$} {:<10} {:<15}",
        "TOPIC", "PARTITION", "STATUS"
    );
    for ((topic, partition), error) in rows {
        let status = match error {
            None => "Successful".to_string(),
            Some(e) => format!("Error: {e}"),
        };
        out.push_str(&format!(
            "\n{topic:<topic_w$} {:<10} {status:<15}",
            opt(*partition)
        ));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::super::admin::Node;
    use super::*;

    fn member(id: &str, assignment: &[(&str, i32)]) -> MemberDescription {
        MemberDescription {
            consumer_id: id.to_string(),
            group_instance_id: None,
            client_id: "rdkafka".into(),
            host: "/127.0.0.1".into(),
            assignment: assignment
                .iter()
                .map(|(t, p)| (t.to_string(), *p))
                .collect(),
        }
    }

    fn group(members: Vec<MemberDescription>) -> GroupDescription {
        GroupDescription {
            group_id: "g".into(),
            state: "Stable".into(),
            assignment_strategy: "range".into(),
            members,
            coordinator: Node {
                id: 1,
                host: "localhost".into(),
                port: 9092,
            },
            not_found: None,
        }
    }

    #[test]
    fn offsets_table_matches_kafka_layout() {
        let d = group(vec![member("c-1", &[("t", 1), ("t", 0)])]);
        let committed = BTreeMap::from([
            (("t".to_string(), 0), (5, Some(0))),
            (("u".to_string(), 0), (2, None)),
        ]);
        let mut rows = offset_rows(&d, &committed);
        for r in &mut rows {
            r.log_end_offset = Some(7);
        }
        let text = format_offsets(&rows, false);
        // t-1 before t-0: the order of Java's HashMap (buckets 4 and 5 of 16).
        let expected = "\n\
GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n\
g               t               1          -               7               -               c-1             /127.0.0.1      rdkafka\n\
g               t               0          5               7               2               c-1             /127.0.0.1      rdkafka\n\
g               u               0          2               7               5               -               -               -\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn members_with_the_most_partitions_come_first() {
        let d = group(vec![
            member("a", &[("t", 2)]),
            member("b", &[("t", 0), ("t", 1)]),
        ]);
        let rows = offset_rows(&d, &BTreeMap::new());
        let owners: Vec<&str> = rows.iter().map(|r| r.consumer_id.as_str()).collect();
        assert_eq!(owners, vec!["b", "b", "a"]);
    }

    #[test]
    fn members_and_state_tables() {
        let d = group(vec![member("c-1", &[("t", 1), ("t", 0), ("a", 3)])]);
        let text = format_members("g", &d.members, true);
        assert_eq!(
            text,
            "\nGROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS     \
             CURRENT-EPOCH   CURRENT-ASSIGNMENT   TARGET-EPOCH    TARGET-ASSIGNMENT   \n\
             g               c-1             /127.0.0.1      rdkafka         3               \
             -               a:3;t:0,1            -               -                   \n"
        );
        let text = format_state(&d, false);
        assert_eq!(
            text,
            "\nGROUP           COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE                #MEMBERS\
             \ng               localhost:9092  (1)       range                Stable               1\n"
        );
    }

    #[test]
    fn listing_and_delete_offsets_tables() {
        let groups = vec![GroupListing {
            group_id: "g".into(),
            state: "Empty".into(),
            group_type: "Classic".into(),
        }];
        assert_eq!(
            format_group_listing(&groups, false, true),
            format!(
                "{:<25} {:<20}\n{:<25} {:<20}\n",
                "GROUP", "STATE", "g", "Empty"
            )
        );
        let results = BTreeMap::from([
            (("t".to_string(), Some(0)), None),
            (("x".to_string(), None), Some("boom".to_string())),
        ]);
        assert_eq!(
            format_delete_offsets(&results),
            format!(
                "\n{:<15} {:<10} {:<15}\n{:<15} {:<10} {:<15}\n{:<15} {:<10} {:<15}\n",
                "TOPIC", "PARTITION", "STATUS", "t", "0", "Successful", "x", "-", "Error: boom"
            )
        );
    }
}
