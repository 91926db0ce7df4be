//! Kafka's reassignment files (the reassignment JSON, the topics-to-move JSON,
//! `--broker-list`) with its checks and messages, and the text the tool prints.

use std::collections::{BTreeMap, BTreeSet};

use rafka_types::TopicPartition;

use super::failure::Failure;

/// The log dir a reassignment JSON names when it does not care.
const ANY_LOG_DIR: &str = "any";
use crate::common::{
    java_collection_string, java_hash_order, java_string_hash, java_tp_hash, json_array,
    json_field, json_int, json_object, json_quote, json_string, JAVA_HASH_MAP_DEFAULT_CAPACITY,
};

/// Kafka's reassignment JSON (version 1), partitions in file order, duplicates kept (the
/// callers check them). `log_dirs` must be absent or all `"any"`.
pub(super) fn parse_reassignment_json(
    text: &str,
) -> Result<Vec<(TopicPartition, Vec<i32>)>, Failure> {
    if text.is_empty() {
        return Err(Failure::Error("The input string shouldn't be empty".into()));
    }
    // Jackson's parse errors cannot be copied word for word; serde's say the same.
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| Failure::Error(e.to_string()))?;
    let object = json_object(&json)?;
    check_version(object)?;
    let mut partitions = Vec::new();
    let Some(list) = object.get("partitions") else {
        return Ok(partitions);
    };
    for entry in json_array(list)? {
        let entry = json_object(entry)?;
        let topic = json_string(json_field(entry, "topic")?)?;
        let partition = json_int(json_field(entry, "partition")?)?;
        let replicas = json_array(json_field(entry, "replicas")?)?
            .iter()
            .map(json_int)
            .collect::<Result<Vec<i32>, _>>()?;
        let log_dirs = match entry.get("log_dirs") {
            Some(dirs) => json_array(dirs)?
                .iter()
                .map(json_string)
                .collect::<Result<Vec<String>, _>>()?,
            None => vec![ANY_LOG_DIR.to_string(); replicas.len()],
        };
        let tp = TopicPartition::new(topic, partition);
        if replicas.len() != log_dirs.len() {
            return Err(Failure::Error(format!(
                "Size of replicas list {} is different from size of log dirs list {} for partition {tp}",
                java_collection_string(&replicas),
                java_collection_string(&log_dirs)
            )));
        }
        if let Some((replica, dir)) = replicas
            .iter()
            .zip(&log_dirs)
            .find(|(_, dir)| *dir != ANY_LOG_DIR)
        {
            return Err(Failure::Error(format!(
                "rafka does not move replicas between log directories: partition {tp} asks for log dir {dir} on broker {replica}; use \"any\""
            )));
        }
        partitions.push((tp, replicas));
    }
    Ok(partitions)
}

/// Kafka's `parseExecuteAssignmentArgs`: a non-empty list, no partition twice, no
/// replica twice in a partition.
pub(super) fn parse_execute_args(
    text: &str,
) -> Result<BTreeMap<TopicPartition, Vec<i32>>, Failure> {
    let partitions = parse_reassignment_json(text)?;
    if partitions.is_empty() {
        return Err(Failure::Error(
            "Partition reassignment list cannot be empty".into(),
        ));
    }
    if partitions.iter().any(|(_, replicas)| replicas.is_empty()) {
        return Err(Failure::Error(
            "Partition replica list cannot be empty".into(),
        ));
    }
    let keys: Vec<TopicPartition> = partitions.iter().map(|(tp, _)| tp.clone()).collect();
    let duplicated = java_hash_order(
        duplicates(&keys),
        JAVA_HASH_MAP_DEFAULT_CAPACITY,
        java_tp_hash,
    );
    if !duplicated.is_empty() {
        return Err(Failure::Error(format!(
            "Partition reassignment contains duplicate topic partitions: {}",
            join(&duplicated, ",")
        )));
    }
    let duplicated_replicas: Vec<String> = partitions
        .iter()
        .filter_map(|(tp, replicas)| {
            let ids = java_hash_order(duplicates(replicas), JAVA_HASH_MAP_DEFAULT_CAPACITY, |id| {
                *id
            });
            (!ids.is_empty())
                .then(|| format!("{tp} contains multiple entries for {}", join(&ids, ",")))
        })
        .collect();
    if !duplicated_replicas.is_empty() {
        return Err(Failure::Error(format!(
            "Partition replica lists may not contain duplicate entries: {}",
            duplicated_replicas.join(". ")
        )));
    }
    Ok(partitions.into_iter().collect())
}

/// Kafka's `parseGenerateAssignmentArgs`: the brokers of `--broker-list` and the topics
/// of the topics JSON, neither with duplicates.
pub(super) fn parse_generate_args(
    json: &str,
    broker_list: &str,
) -> Result<(Vec<i32>, Vec<String>), Failure> {
    let brokers = java_split(broker_list, ',')
        .into_iter()
        .map(|b| {
            b.parse::<i32>()
                .map_err(|_| Failure::Error(format!("For input string: \"{b}\"")))
        })
        .collect::<Result<Vec<i32>, _>>()?;
    let duplicated = java_hash_order(duplicates(&brokers), JAVA_HASH_MAP_DEFAULT_CAPACITY, |id| {
        *id
    });
    if !duplicated.is_empty() {
        return Err(Failure::Error(format!(
            "Broker list contains duplicate entries: {}",
            java_collection_string(&duplicated)
        )));
    }
    let topics = parse_topics_json(json)?;
    let duplicated = java_hash_order(duplicates(&topics), JAVA_HASH_MAP_DEFAULT_CAPACITY, |t| {
        java_string_hash(t)
    });
    if !duplicated.is_empty() {
        return Err(Failure::Error(format!(
            "List of topics to reassign contains duplicate entries: {}",
            java_collection_string(&duplicated)
        )));
    }
    Ok((brokers, topics))
}

/// Both files are at version 1, the default.
fn check_version(object: &serde_json::Map<String, serde_json::Value>) -> Result<(), Failure> {
    let version = match object.get("version") {
        Some(v) => json_int(v)?,
        None => 1,
    };
    if version != 1 {
        return Err(Failure::Error(format!(
            "Not supported version field value {version}"
        )));
    }
    Ok(())
}

/// Kafka's topics-to-move JSON: `{"topics": [{"topic": "foo"}], "version": 1}`.
fn parse_topics_json(text: &str) -> Result<Vec<String>, Failure> {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else {
        return Err(Failure::Error(
            "The input string is not a valid JSON".into(),
        ));
    };
    let object = json_object(&json)?;
    check_version(object)?;
    let Some(list) = object.get("topics") else {
        return Ok(Vec::new());
    };
    json_array(list)?
        .iter()
        .map(|entry| Ok(json_string(json_field(json_object(entry)?, "topic")?)?))
        .collect()
}

/// Java's `String.split(",")`: trailing empty strings dropped, but a string without the
/// separator is itself, even when empty.
fn java_split(s: &str, separator: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(separator).collect();
    if parts.len() > 1 {
        while parts.last() == Some(&"") {
            parts.pop();
        }
    }
    parts
}

/// Kafka's `ToolsUtils.duplicates`: each element seen before, once, in the order of its
/// second sighting (the order it enters Kafka's set).
fn duplicates<T: PartialEq + Clone>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) && !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

pub(super) fn join<T: ToString>(items: &[T], separator: &str) -> String {
    items
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

/// Partitions sorted by topic, then partition, joined by `,`.
pub(super) fn join_sorted<'a>(partitions: impl Iterator<Item = &'a TopicPartition>) -> String {
    let sorted: BTreeSet<&TopicPartition> = partitions.collect();
    join(&sorted.into_iter().collect::<Vec<_>>(), ",")
}

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `t-0: message` lines, sorted.
pub(super) fn error_lines(errors: &BTreeMap<TopicPartition, String>) -> String {
    errors
        .iter()
        .map(|(tp, message)| format!("{tp}: {message}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Kafka's `formatAsReassignmentJson`: partitions sorted, every log dir `"any"`.
pub(super) fn reassignment_json(assignment: &BTreeMap<TopicPartition, Vec<i32>>) -> String {
    let partitions: Vec<String> = assignment
        .iter()
        .map(|(tp, replicas)| {
            format!(
                "{{\"topic\":{},\"partition\":{},\"replicas\":[{}],\"log_dirs\":[{}]}}",
                json_quote(&tp.topic),
                tp.partition,
                join(replicas, ","),
                vec![json_quote(ANY_LOG_DIR); replicas.len()].join(",")
            )
        })
        .collect();
    format!(
        "{{\"version\":1,\"partitions\":[{}]}}",
        partitions.join(",")
    )
}

/// What `--execute` prints before starting, to roll back with.
pub(super) fn current_assignment_text(current: &BTreeMap<TopicPartition, Vec<i32>>) -> String {
    format!(
        "Current partition replica assignment\n\n{}\n\nSave this to use as the --reassignment-json-file option during rollback",
        reassignment_json(current)
    )
}

/// One partition's reassignment as `--verify` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PartitionState {
    pub(super) current: Vec<i32>,
    pub(super) target: Vec<i32>,
    /// No reassignment of it is in flight.
    pub(super) done: bool,
}

/// Kafka's `partitionReassignmentStatesToString`.
pub(super) fn partition_states_text(states: &BTreeMap<TopicPartition, PartitionState>) -> String {
    let mut lines = vec!["Status of partition reassignment:".to_string()];
    for (tp, state) in states {
        lines.push(if !state.done {
            format!("Reassignment of partition {tp} is still in progress.")
        } else if state.current == state.target {
            format!("Reassignment of partition {tp} is completed.")
        } else {
            format!(
                "There is no active reassignment of partition {tp}, but replica set is {} rather than {}.",
                join(&state.current, ","),
                join(&state.target, ",")
            )
        });
    }
    lines.join("\n")
}

/// A reassignment in flight, as ListPartitionReassignments reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OngoingReassignment {
    pub(super) replicas: Vec<i32>,
    pub(super) adding: Vec<i32>,
    pub(super) removing: Vec<i32>,
}

/// Kafka's `curReassignmentsToString`, for `--list`.
pub(super) fn current_reassignments_text(
    current: &BTreeMap<TopicPartition, OngoingReassignment>,
) -> String {
    if current.is_empty() {
        return "No partition reassignments found.".into();
    }
    let lines: Vec<String> = current
        .iter()
        .map(|(tp, r)| {
            let mut line = format!("{tp}: replicas: {}.", join(&r.replicas, ","));
            if !r.adding.is_empty() {
                line.push_str(&format!(" adding: {}.", join(&r.adding, ",")));
            }
            if !r.removing.is_empty() {
                line.push_str(&format!(" removing: {}.", join(&r.removing, ",")));
            }
            line
        })
        .collect();
    format!("Current partition reassignments:\n{}", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    #[test]
    fn reassignment_json_parses_kafkas_format() {
        let text = r#"{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","any"]},{"topic":"u","partition":3,"replicas":[3]}]}"#;
        assert_eq!(
            parse_reassignment_json(text).unwrap(),
            vec![(tp("t", 0), vec![1, 2]), (tp("u", 3), vec![3])]
        );
        assert!(parse_reassignment_json(r#"{"version":1}"#)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn reassignment_json_errors_carry_kafkas_messages() {
        let error = |text: &str| parse_execute_args(text).unwrap_err().to_string();
        assert_eq!(error(""), "The input string shouldn't be empty");
        assert_eq!(error("[1]"), "Expected JSON object, received [1]");
        assert_eq!(
            error(r#"{"version":2,"partitions":[]}"#),
            "Not supported version field value 2"
        );
        assert_eq!(
            error(r#"{"partitions":[{"topic":"t","replicas":[1]}]}"#),
            "No such field exists: `partition`"
        );
        assert_eq!(
            error(r#"{"partitions":[{"topic":"t","partition":0,"replicas":"1"}]}"#),
            "Expected JSON array, received \"1\""
        );
        assert_eq!(
            error(r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}"#),
            "Size of replicas list [1, 2] is different from size of log dirs list [any] for partition t-0"
        );
        assert_eq!(
            error(r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","/data/b"]}]}"#),
            "rafka does not move replicas between log directories: partition t-0 asks for log dir /data/b on broker 2; use \"any\""
        );
        assert_eq!(
            error(r#"{"version":1,"partitions":[]}"#),
            "Partition reassignment list cannot be empty"
        );
        assert_eq!(
            error(r#"{"partitions":[{"topic":"t","partition":0,"replicas":[]}]}"#),
            "Partition replica list cannot be empty"
        );
        assert_eq!(
            error(
                r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":1,"replicas":[1]},{"topic":"t","partition":0,"replicas":[2]},{"topic":"t","partition":1,"replicas":[2]}]}"#
            ),
            // In Kafka's HashSet t-1 (bucket 4) comes before t-0 (bucket 5).
            "Partition reassignment contains duplicate topic partitions: t-1,t-0"
        );
        assert_eq!(
            error(
                r#"{"partitions":[{"topic":"t","partition":0,"replicas":[1,2,1]},{"topic":"t","partition":1,"replicas":[3,4,4,3]}]}"#
            ),
            "Partition replica lists may not contain duplicate entries: t-0 contains multiple entries for 1. t-1 contains multiple entries for 3,4"
        );
    }

    #[test]
    fn generate_args_refuse_duplicates_and_bad_broker_ids() {
        let topics = r#"{"topics":[{"topic":"foo"},{"topic":"bar"}],"version":1}"#;
        let (brokers, names) = parse_generate_args(topics, "3,1,2").unwrap();
        assert_eq!(brokers, vec![3, 1, 2]);
        assert_eq!(names, vec!["foo".to_string(), "bar".to_string()]);
        let error =
            |json: &str, brokers: &str| parse_generate_args(json, brokers).unwrap_err().to_string();
        assert_eq!(
            error(topics, "1,2,2,1,17"),
            "Broker list contains duplicate entries: [1, 2]"
        );
        assert_eq!(error(topics, "1,x"), "For input string: \"x\"");
        assert_eq!(error(topics, "1, 2"), "For input string: \" 2\"");
        assert_eq!(error(topics, ""), "For input string: \"\"");
        assert_eq!(
            error(
                r#"{"topics":[{"topic":"a"},{"topic":"b"},{"topic":"a"},{"topic":"b"}]}"#,
                "1"
            ),
            "List of topics to reassign contains duplicate entries: [a, b]"
        );
        assert_eq!(
            error("not json", "1"),
            "The input string is not a valid JSON"
        );
        assert_eq!(
            error(r#"{"version":3}"#, "1"),
            "Not supported version field value 3"
        );
        assert_eq!(
            error(r#"{"topics":[{"name":"a"}]}"#, "1"),
            "No such field exists: `topic`"
        );
        // Java's split drops trailing empty strings.
        assert_eq!(parse_generate_args(topics, "1,2,,").unwrap().0, vec![1, 2]);
    }

    #[test]
    fn printed_json_and_texts_match_kafka() {
        let current = BTreeMap::from([(tp("foo", 1), vec![4, 5, 6]), (tp("bar", 0), vec![7, 8])]);
        assert_eq!(
            current_assignment_text(&current),
            "Current partition replica assignment\n\n\
             {\"version\":1,\"partitions\":[{\"topic\":\"bar\",\"partition\":0,\"replicas\":[7,8],\"log_dirs\":[\"any\",\"any\"]},\
             {\"topic\":\"foo\",\"partition\":1,\"replicas\":[4,5,6],\"log_dirs\":[\"any\",\"any\",\"any\"]}]}\n\n\
             Save this to use as the --reassignment-json-file option during rollback"
        );
        assert_eq!(
            reassignment_json(&BTreeMap::new()),
            "{\"version\":1,\"partitions\":[]}"
        );
        let states = BTreeMap::from([
            (
                tp("foo", 1),
                PartitionState {
                    current: vec![1, 2, 3],
                    target: vec![4, 5],
                    done: false,
                },
            ),
            (
                tp("foo", 0),
                PartitionState {
                    current: vec![1, 2],
                    target: vec![1, 2],
                    done: true,
                },
            ),
            (
                tp("bar", 0),
                PartitionState {
                    current: vec![1, 2],
                    target: vec![2, 3],
                    done: true,
                },
            ),
        ]);
        assert_eq!(
            partition_states_text(&states),
            "Status of partition reassignment:\n\
             There is no active reassignment of partition bar-0, but replica set is 1,2 rather than 2,3.\n\
             Reassignment of partition foo-0 is completed.\n\
             Reassignment of partition foo-1 is still in progress."
        );
        let ongoing =
            |replicas: Vec<i32>, adding: Vec<i32>, removing: Vec<i32>| OngoingReassignment {
                replicas,
                adding,
                removing,
            };
        assert_eq!(
            current_reassignments_text(&BTreeMap::new()),
            "No partition reassignments found."
        );
        assert_eq!(
            current_reassignments_text(&BTreeMap::from([
                (tp("foo", 1), ongoing(vec![1, 2, 3], vec![4, 5], vec![1, 2])),
                (tp("bar", 0), ongoing(vec![2, 3, 0], vec![], vec![0])),
                (tp("foo", 0), ongoing(vec![0, 1, 2], vec![4], vec![])),
            ])),
            "Current partition reassignments:\n\
             bar-0: replicas: 2,3,0. removing: 0.\n\
             foo-0: replicas: 0,1,2. adding: 4.\n\
             foo-1: replicas: 1,2,3. adding: 4,5. removing: 1,2."
        );
    }
}
