//! `--reset-offsets`: plan new offsets for an inactive group (Kafka's
//! `GroupOffsetsResetter`), print the plan or export it as CSV, and with `--execute` commit
//! it from outside the group (generation -1, no member id), which the coordinator allows
//! only while the group has no members.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::admin::{Admin, Partition, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP};
use super::options::{print_error, selected_groups, Args};
use crate::java_order::{self, Capacity};
use crate::ToolError;
use rafka_protocol::ErrorCode;

type Plan = BTreeMap<String, BTreeMap<Partition, i64>>;

pub(super) async fn reset_offsets(admin: &mut Admin, args: &Args) -> Result<bool, ToolError> {
    let groups: BTreeSet<String> = selected_groups(admin, args).await?.into_iter().collect();
    let file_plan = match &args.from_file {
        Some(path) => Some(read_plan(path, &args.group)?),
        None => None,
    };
    let mut plan: Plan = BTreeMap::new();

    for group in groups {
        let description = admin.describe_group(&group).await?;
        if description.exists() && description.state != "Empty" {
            // Kafka prints this and goes on (exit status 0).
            print_error(&format!(
                "Assignments can only be reset if the group '{group}' is inactive, but the \
                 current state is {}.",
                description.state
            ));
            plan.insert(group, BTreeMap::new());
            continue;
        }
        let offsets = match &file_plan {
            Some(file_plan) => match file_plan.get(&group) {
                Some(requested) => clamp(admin, requested.clone()).await?,
                None => {
                    print_error(&format!("No reset plan for group {group} found."));
                    BTreeMap::new()
                }
            },
            None => {
                let partitions = partitions_to_reset(admin, args, &group).await?;
                check_partitions(admin, &partitions).await?;
                prepare(admin, args, &group, &partitions).await?
            }
        };
        if args.execute {
            admin.commit_offsets(&group, &offsets).await?;
        }
        plan.insert(group, offsets);
    }
    if args.export {
        println!("{}", export_csv(&plan, args.group.len() == 1));
    } else {
        print!("{}", format_plan(&plan));
    }
    Ok(true)
}

/// `--all-topics`: the group's committed partitions; `--topic`: the named partitions, or
/// every partition of a topic named alone.
async fn partitions_to_reset(
    admin: &mut Admin,
    args: &Args,
    group: &str,
) -> Result<BTreeSet<Partition>, ToolError> {
    if args.all_topics {
        return Ok(admin.committed_offsets(group).await?.into_keys().collect());
    }
    named_partitions(admin, &args.topic).await
}

/// Kafka's `parseTopicPartitionsToReset`: `t:0,1` names partitions, `t` alone every
/// partition of `t` (an unknown topic fails the command).
pub(crate) async fn named_partitions(
    admin: &mut Admin,
    topics: &[String],
) -> Result<BTreeSet<Partition>, ToolError> {
    let mut partitions = BTreeSet::new();
    let mut whole_topics = Vec::new();
    for topic in topics {
        if topic.contains(':') {
            partitions.extend(parse_topic_with_partitions(topic)?);
        } else {
            whole_topics.push(topic.clone());
        }
    }
    let found = admin.topic_partitions(&whole_topics).await?;
    for topic in &whole_topics {
        let Some(ps) = found.get(topic) else {
            return Err(admin.failure(ErrorCode::UnknownTopicOrPartition.description()));
        };
        partitions.extend(ps.keys().map(|p| (topic.clone(), *p)));
    }
    Ok(partitions)
}

/// `topic:0,1,2` as Kafka's `parseTopicsWithPartitions` reads it.
pub(crate) fn parse_topic_with_partitions(arg: &str) -> Result<Vec<Partition>, ToolError> {
    // Java's split drops trailing empty parts: `t:` is one part.
    let parts: Vec<&str> = arg.split(':').collect();
    let parts: Vec<&str> = match parts.iter().rposition(|p| !p.is_empty()) {
        Some(last) => parts[..=last].to_vec(),
        None => Vec::new(),
    };
    let [topic, partitions] = parts[..] else {
        return Err(ToolError::Usage(format!(
            "Invalid topic arg '{arg}', expected topic name and partitions"
        )));
    };
    partitions
        .split(',')
        .map(|p| {
            p.parse::<i32>()
                .map(|p| (topic.to_string(), p))
                .map_err(|_| {
                    ToolError::Usage(format!(
                        "Invalid partition '{p}' specified in topic arg '{arg}''"
                    ))
                })
        })
        .collect()
}

/// Kafka's `checkAllTopicPartitionsValid`: every partition exists and has a leader.
pub(crate) async fn check_partitions(
    admin: &mut Admin,
    partitions: &BTreeSet<Partition>,
) -> Result<(), ToolError> {
    let topics: Vec<String> = partitions
        .iter()
        .map(|p| p.0.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = admin.topic_partitions(&topics).await?;
    let info = |(t, p): &Partition| found.get(t).and_then(|ps| ps.get(p));
    let names = |ps: Vec<&Partition>| {
        ps.iter()
            .map(|(t, p)| format!("{t}-{p}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let missing: Vec<&Partition> = partitions.iter().filter(|p| info(p).is_none()).collect();
    if !missing.is_empty() {
        return Err(admin.failure(format!(
            "The partitions \"{}\" do not exist",
            names(missing)
        )));
    }
    let leaderless: Vec<&Partition> = partitions
        .iter()
        .filter(|p| info(p).is_some_and(|i| i.leader.is_none()))
        .collect();
    if !leaderless.is_empty() {
        return Err(admin.failure(format!(
            "The partitions \"{}\" have no leader",
            names(leaderless)
        )));
    }
    Ok(())
}

/// The new offset of each partition for the chosen scenario.
async fn prepare(
    admin: &mut Admin,
    args: &Args,
    group: &str,
    partitions: &BTreeSet<Partition>,
) -> Result<BTreeMap<Partition, i64>, ToolError> {
    if let Some(offset) = args.to_offset_value()? {
        return clamp(
            admin,
            partitions.iter().map(|p| (p.clone(), offset)).collect(),
        )
        .await;
    }
    if args.to_earliest {
        return log_offsets(admin, partitions, EARLIEST_TIMESTAMP, "starting").await;
    }
    if args.to_latest {
        return log_offsets(admin, partitions, LATEST_TIMESTAMP, "ending").await;
    }
    if let Some(shift) = args.shift_by_value()? {
        let committed = admin.committed_offsets(group).await?;
        let mut requested = BTreeMap::new();
        for p in partitions {
            let Some((offset, _)) = committed.get(p) else {
                return Err(ToolError::Usage(format!(
                    "Cannot shift offset for partition {}-{} since there is no current \
                     committed offset",
                    p.0, p.1
                )));
            };
            requested.insert(p.clone(), offset.saturating_add(shift));
        }
        return clamp(admin, requested).await;
    }
    if let Some(datetime) = &args.to_datetime {
        let timestamp = parse_datetime(datetime).map_err(|e| {
            ToolError::Failed(format!(
                "Executing consumer group command failed due to {e}"
            ))
        })?;
        return offsets_for_timestamp(admin, partitions, timestamp).await;
    }
    if let Some(duration) = &args.by_duration {
        let duration_ms = parse_duration_ms(duration).ok_or_else(|| {
            ToolError::Failed(
                "Executing consumer group command failed due to Text cannot be parsed to a \
                 Duration"
                    .into(),
            )
        })?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        return offsets_for_timestamp(admin, partitions, now_ms.saturating_sub(duration_ms)).await;
    }
    // --to-current (checked last, as in Kafka).
    let committed = admin.committed_offsets(group).await?;
    let without: BTreeSet<Partition> = partitions
        .iter()
        .filter(|p| !committed.contains_key(*p))
        .cloned()
        .collect();
    let mut offsets = log_offsets(admin, &without, LATEST_TIMESTAMP, "ending").await?;
    for p in partitions {
        if let Some((offset, _)) = committed.get(p) {
            offsets.insert(p.clone(), *offset);
        }
    }
    Ok(offsets)
}

/// The log start (`EARLIEST_TIMESTAMP`) or end offset of every partition.
pub(crate) async fn log_offsets(
    admin: &mut Admin,
    partitions: &BTreeSet<Partition>,
    spec: i64,
    which: &str,
) -> Result<BTreeMap<Partition, i64>, ToolError> {
    let found = admin.list_offsets(partitions, spec).await?;
    let mut offsets = BTreeMap::new();
    for p in partitions {
        match found.get(p) {
            Some(offset) if *offset >= 0 => {
                offsets.insert(p.clone(), *offset);
            }
            _ => {
                return Err(ToolError::Usage(format!(
                    "Error getting {which} offset of topic partition: {}-{}",
                    p.0, p.1
                )))
            }
        }
    }
    Ok(offsets)
}

/// The first offset at or after `timestamp`; a partition with none falls back to its log
/// end offset, with Kafka's note.
pub(crate) async fn offsets_for_timestamp(
    admin: &mut Admin,
    partitions: &BTreeSet<Partition>,
    timestamp: i64,
) -> Result<BTreeMap<Partition, i64>, ToolError> {
    let found = admin.list_offsets(partitions, timestamp).await?;
    let mut offsets = BTreeMap::new();
    let mut empty = BTreeSet::new();
    for p in partitions {
        match found.get(p) {
            Some(offset) if *offset >= 0 => {
                offsets.insert(p.clone(), *offset);
            }
            Some(_) => {
                println!(
                    "\nWarn: Partition {} from topic {} is empty. Falling back to latest known \
                     offset.",
                    p.1, p.0
                );
                empty.insert(p.clone());
            }
            None => {
                return Err(ToolError::Usage(format!(
                    "Error getting offset by timestamp of topic partition: {}-{}",
                    p.0, p.1
                )))
            }
        }
    }
    offsets.extend(log_offsets(admin, &empty, LATEST_TIMESTAMP, "ending").await?);
    Ok(offsets)
}

/// Kafka's `checkOffsetsRange`: above the log end offset becomes the log end offset,
/// below the log start offset the log start offset, each with a warning.
async fn clamp(
    admin: &mut Admin,
    requested: BTreeMap<Partition, i64>,
) -> Result<BTreeMap<Partition, i64>, ToolError> {
    let partitions: BTreeSet<Partition> = requested.keys().cloned().collect();
    let starts = admin.list_offsets(&partitions, EARLIEST_TIMESTAMP).await?;
    let ends = admin.list_offsets(&partitions, LATEST_TIMESTAMP).await?;
    Ok(requested
        .into_iter()
        .map(|(p, offset)| {
            let bounded = clamp_offset(offset, starts.get(&p).copied(), ends.get(&p).copied());
            if bounded > offset {
                eprintln!(
                    "WARN New offset ({offset}) is lower than earliest offset for topic partition \
                     {}-{}. Value will be set to {bounded}.",
                    p.0, p.1
                );
            } else if bounded < offset {
                eprintln!(
                    "WARN New offset ({offset}) is higher than latest offset for topic partition \
                     {}-{}. Value will be set to {bounded}.",
                    p.0, p.1
                );
            }
            (p, bounded)
        })
        .collect())
}

fn clamp_offset(offset: i64, start: Option<i64>, end: Option<i64>) -> i64 {
    match (start, end) {
        (_, Some(end)) if offset > end => end,
        (Some(start), _) if offset < start => start,
        _ => offset,
    }
}

/// Kafka's `Utils.getDateTime`: `yyyy-MM-ddTHH:mm:ss.SSS`, then `Z`, `±hh`, `±hhmm` or
/// `±hh:mm`; no zone means UTC. The error is the Java exception's text.
pub(crate) fn parse_datetime(input: &str) -> Result<i64, String> {
    let Some((_, time)) = input.split_once('T') else {
        return Err(
            "java.text.ParseException: Error parsing timestamp. It does not contain a \
                    'T' according to ISO8601 format"
                .into(),
        );
    };
    let mut text = input.to_string();
    if !(time.contains('+') || time.contains('-') || time.contains('Z')) {
        text.push('Z');
    }
    let unparseable = || format!("java.text.ParseException: Unparseable date: \"{text}\"");
    let pattern = regex::Regex::new(
        r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})(Z|[+-]\d{2}(?::?\d{2})?)$",
    )
    .map_err(|e| e.to_string())?;
    let caps = pattern.captures(&text).ok_or_else(unparseable)?;
    let number = |i: usize| caps[i].parse::<u32>().map_err(|_| unparseable());
    let date = chrono::NaiveDate::from_ymd_opt(
        caps[1].parse().map_err(|_| unparseable())?,
        number(2)?,
        number(3)?,
    )
    .ok_or_else(unparseable)?;
    let time =
        chrono::NaiveTime::from_hms_milli_opt(number(4)?, number(5)?, number(6)?, number(7)?)
            .ok_or_else(unparseable)?;
    let zone = &caps[8];
    let offset_seconds = if zone == "Z" {
        0
    } else {
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
        let hours: i64 = digits[..2].parse().map_err(|_| unparseable())?;
        let minutes: i64 = if digits.len() == 4 {
            digits[2..].parse().map_err(|_| unparseable())?
        } else {
            0
        };
        if hours > 23 || minutes > 59 {
            return Err(unparseable());
        }
        sign * (hours * 3600 + minutes * 60)
    };
    let utc = date.and_time(time).and_utc().timestamp_millis();
    Ok(utc - offset_seconds * 1000)
}

/// Java's `Duration.parse` (`PnDTnHnMn.nS`, signs allowed), in milliseconds; `None` when
/// the text is not a duration.
pub(crate) fn parse_duration_ms(input: &str) -> Option<i64> {
    let pattern = regex::Regex::new(
        r"(?i)^([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$",
    )
    .ok()?;
    let caps = pattern.captures(input)?;
    let part = |i: usize| caps.get(i).map(|m| m.as_str());
    if part(2).is_none() && part(4).is_none() && part(5).is_none() && part(6).is_none() {
        return None;
    }
    if part(3).is_some_and(|t| t.eq_ignore_ascii_case("t")) {
        return None;
    }
    let number = |i: usize| -> Option<i64> { part(i).map_or(Some(0), |s| s.parse::<i64>().ok()) };
    let mut ms = number(2)?
        .checked_mul(86_400_000)?
        .checked_add(number(4)?.checked_mul(3_600_000)?)?
        .checked_add(number(5)?.checked_mul(60_000)?)?;
    let seconds = number(6)?;
    let mut fraction_ms = part(7).map_or(0, |f| {
        let padded = format!("{f:0<3}");
        padded[..3].parse::<i64>().unwrap_or(0)
    });
    if part(6).is_some_and(|s| s.starts_with('-')) {
        fraction_ms = -fraction_ms;
    }
    ms = ms
        .checked_add(seconds.checked_mul(1000)?)?
        .checked_add(fraction_ms)?;
    if part(1) == Some("-") {
        ms = ms.checked_neg()?;
    }
    Some(ms)
}

/// The plan in Kafka's order: its groups and each group's offsets are `HashMap`s (the
/// offsets collected by `Collectors.toMap` from the partitions in order).
fn java_ordered(plan: &Plan) -> Vec<(&String, Vec<(&Partition, &i64)>)> {
    let groups = java_order::hash_map_order(plan.iter().collect(), Capacity::Default, |g| {
        java_order::string_hash(g.0)
    });
    groups
        .into_iter()
        .map(|(group, offsets)| {
            let offsets = java_order::topic_partition_order(
                offsets.iter().collect(),
                Capacity::Default,
                |(p, _)| (p.0.as_str(), p.1),
            );
            (group, offsets)
        })
        .collect()
}

/// Kafka's `printOffsetsToReset`: `%n%-30s %-30s %-10s %-15s` per line.
fn format_plan(plan: &Plan) -> String {
    let mut out = String::new();
    if !plan.is_empty() {
        out.push_str(&format!(
            "\n{:<30} {:<30} {:<10} {:<15}",
            "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"
        ));
    }
    for (group, offsets) in java_ordered(plan) {
        for ((topic, partition), offset) in offsets {
            out.push_str(&format!(
                "\n{group:<30} {topic:<30} {partition:<10} {offset:<15}"
            ));
        }
    }
    out.push('\n');
    out
}

/// Kafka's CSV export: `topic,partition,offset` for one group, else with the group first.
fn export_csv(plan: &Plan, single_group: bool) -> String {
    let mut out = String::new();
    for (group, offsets) in java_ordered(plan) {
        for ((topic, partition), offset) in offsets {
            if single_group {
                out.push_str(&format!("{topic},{partition},{offset}\n"));
            } else {
                out.push_str(&format!("{group},{topic},{partition},{offset}\n"));
            }
        }
    }
    out
}

/// Reads a `--from-file` plan: the single-group format when one `--group` is given and
/// the first line has three fields, else `group,topic,partition,offset`.
fn read_plan(path: &Path, groups: &[String]) -> Result<Plan, ToolError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ToolError::Failed(format!(
            "Executing consumer group command failed due to java.io.IOException: {}: {e}",
            path.display()
        ))
    })?;
    parse_plan(&text, groups)
}

fn parse_plan(text: &str, groups: &[String]) -> Result<Plan, ToolError> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let fields =
        |line: &str| -> Vec<String> { line.split(',').map(|f| f.trim().to_string()).collect() };
    let single = groups.len() == 1
        && lines
            .first()
            .is_some_and(|l| parse_row(&fields(l)).is_some());
    let mut plan: Plan = BTreeMap::new();
    for line in lines {
        let row = if single {
            parse_row(&fields(line)).map(|(t, p, o)| (groups[0].clone(), t, p, o))
        } else {
            let f = fields(line);
            if f.len() == 4 {
                parse_row(&f[1..]).map(|(t, p, o)| (f[0].clone(), t, p, o))
            } else {
                None
            }
        };
        let Some((group, topic, partition, offset)) = row else {
            return Err(ToolError::Failed(format!(
                "Executing consumer group command failed due to an unreadable line in the \
                 reset plan: '{line}'"
            )));
        };
        plan.entry(group)
            .or_default()
            .insert((topic, partition), offset);
    }
    Ok(plan)
}

fn parse_row(fields: &[String]) -> Option<(String, i32, i64)> {
    let [topic, partition, offset] = fields else {
        return None;
    };
    Some((topic.clone(), partition.parse().ok()?, offset.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_parse_as_kafka_does() {
        assert_eq!(parse_datetime("1970-01-01T00:00:01.500"), Ok(1500));
        assert_eq!(parse_datetime("1970-01-01T01:00:00.000+01:00"), Ok(0));
        assert_eq!(parse_datetime("1970-01-01T01:00:00.000+0100"), Ok(0));
        assert_eq!(parse_datetime("1970-01-01T00:00:00.000-01"), Ok(3_600_000));
        assert_eq!(
            parse_datetime("2024-02-29T12:00:00.000Z"),
            Ok(1_709_208_000_000)
        );
        assert!(parse_datetime("2024-02-30T12:00:00.000")
            .unwrap_err()
            .contains("Unparseable date: \"2024-02-30T12:00:00.000Z\""));
        assert!(parse_datetime("2024-02-01")
            .unwrap_err()
            .contains("does not contain a 'T'"));
        assert!(parse_datetime("2024-02-01T10:00:00").is_err());
    }

    #[test]
    fn durations_parse_as_java_does() {
        assert_eq!(parse_duration_ms("PT1H"), Some(3_600_000));
        assert_eq!(
            parse_duration_ms("P1DT2M3.5S"),
            Some(86_400_000 + 120_000 + 3_500)
        );
        assert_eq!(parse_duration_ms("pt10s"), Some(10_000));
        assert_eq!(parse_duration_ms("-PT1S"), Some(-1_000));
        assert_eq!(parse_duration_ms("P"), None);
        assert_eq!(parse_duration_ms("PT"), None);
        assert_eq!(parse_duration_ms("1H"), None);
    }

    #[test]
    fn topic_partitions_parse_with_kafka_messages() {
        assert_eq!(
            parse_topic_with_partitions("t:0,2").unwrap(),
            vec![("t".to_string(), 0), ("t".to_string(), 2)]
        );
        let Err(ToolError::Usage(m)) = parse_topic_with_partitions("t:") else {
            panic!()
        };
        assert_eq!(
            m,
            "Invalid topic arg 't:', expected topic name and partitions"
        );
        let Err(ToolError::Usage(m)) = parse_topic_with_partitions("t:x") else {
            panic!()
        };
        assert_eq!(m, "Invalid partition 'x' specified in topic arg 't:x''");
    }

    #[test]
    fn offsets_clamp_to_the_log() {
        assert_eq!(clamp_offset(50, Some(2), Some(10)), 10);
        assert_eq!(clamp_offset(0, Some(2), Some(10)), 2);
        assert_eq!(clamp_offset(5, Some(2), Some(10)), 5);
        assert_eq!(clamp_offset(5, None, None), 5);
    }

    #[test]
    fn plans_print_export_and_read_back() {
        let plan: Plan = BTreeMap::from([(
            "g".to_string(),
            BTreeMap::from([(("t".to_string(), 0), 3), (("t".to_string(), 1), 4)]),
        )]);
        // Kafka's fixed widths, and its HashMap order: t-1 (bucket 4) before t-0 (bucket 5).
        assert_eq!(
            format_plan(&plan),
            format!(
                "\n{:<30} {:<30} {:<10} {:<15}\n{:<30} {:<30} {:<10} {:<15}\n{:<30} {:<30} {:<10} {:<15}\n",
                "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET", "g", "t", "1", "4", "g", "t", "0", "3"
            )
        );
        assert_eq!(format_plan(&BTreeMap::new()), "\n");
        let single = export_csv(&plan, true);
        assert_eq!(single, "t,1,4\nt,0,3\n");
        assert_eq!(parse_plan(&single, &["g".to_string()]).unwrap(), plan);
        let multi = export_csv(&plan, false);
        assert_eq!(multi, "g,t,1,4\ng,t,0,3\n");
        assert_eq!(parse_plan(&multi, &[]).unwrap(), plan);
    }
}
