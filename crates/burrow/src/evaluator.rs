//! Burrow's evaluation rules (`core/internal/evaluator/caching.go`): a partition's status
//! from its window of commits, a group's status from its partitions.
//!
//! Order of the checks, as Burrow's code runs them: a window in which the lag was ever
//! zero (or a current lag of zero) is OK; otherwise REWIND (an offset went down between
//! two commits), STOP (the time since the last commit exceeds the window's span), STALL
//! (all committed offsets equal), WARN (the lag never decreases), else OK.

use serde::Serialize;

use crate::storage::{ConsumerOffset, ConsumerPartition, ConsumerTopics};

pub use crate::status::Status;

/// One partition's evaluation (`protocol.PartitionStatus`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionStatus {
    pub topic: String,
    pub partition: i32,
    pub owner: String,
    pub client_id: String,
    pub status: Status,
    pub start: Option<ConsumerOffset>,
    pub end: Option<ConsumerOffset>,
    pub current_lag: u64,
    pub complete: f32,
}

/// A group's evaluation (`protocol.ConsumerGroupStatus`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStatus {
    pub cluster: String,
    pub group: String,
    pub status: Status,
    pub complete: f32,
    pub partitions: Vec<PartitionStatus>,
    pub partition_count: usize,
    pub maxlag: Option<PartitionStatus>,
    pub totallag: u64,
}

/// Evaluates a group from its partitions' windows at `now_ms`. The group's status is the
/// worst of its partitions' capped at ERR; `complete` is the share of partitions whose
/// window is full.
pub fn evaluate_group(
    cluster: &str,
    group: &str,
    topics: &ConsumerTopics,
    now_ms: i64,
) -> GroupStatus {
    let mut status = GroupStatus {
        cluster: cluster.to_owned(),
        group: group.to_owned(),
        status: Status::Ok,
        complete: 1.0,
        partitions: Vec::new(),
        partition_count: 0,
        maxlag: None,
        totallag: 0,
    };
    let mut complete_partitions = 0usize;
    for (topic, partitions) in topics {
        for (partition_id, partition) in partitions.iter().enumerate() {
            let mut partition_status = evaluate_partition(partition, now_ms);
            partition_status.topic = topic.clone();
            partition_status.partition = partition_id as i32;
            status.totallag += partition_status.current_lag;
            if partition_status.status > status.status {
                status.status = partition_status.status.min(Status::Err);
            }
            if status
                .maxlag
                .as_ref()
                .is_none_or(|max| partition_status.current_lag > max.current_lag)
            {
                status.maxlag = Some(partition_status.clone());
            }
            if partition_status.complete == 1.0 {
                complete_partitions += 1;
            }
            status.partitions.push(partition_status);
        }
    }
    status.partition_count = status.partitions.len();
    // Burrow divides by the partition count as floats: a group with no partitions is NaN
    // there; we say 0 rather than emit NaN, which JSON cannot carry.
    status.complete = if status.partition_count == 0 {
        0.0
    } else {
        complete_partitions as f32 / status.partition_count as f32
    };
    status
}

/// One partition's status; `topic` and `partition` are left for the caller to fill.
pub fn evaluate_partition(partition: &ConsumerPartition, now_ms: i64) -> PartitionStatus {
    let mut status = PartitionStatus {
        topic: String::new(),
        partition: 0,
        owner: partition.owner.clone(),
        client_id: partition.client_id.clone(),
        status: Status::Ok,
        start: None,
        end: None,
        current_lag: partition.current_lag,
        complete: 0.0,
    };
    if partition.offsets.is_empty() {
        return status;
    }
    // The window's unfilled slots are its oldest ones: drop the leading nulls.
    let first = partition
        .offsets
        .iter()
        .position(Option::is_some)
        .unwrap_or(partition.offsets.len());
    let offsets: Vec<&ConsumerOffset> = partition.offsets[first..].iter().flatten().collect();
    status.complete = offsets.len() as f32 / partition.offsets.len() as f32;
    let (Some(start), Some(end)) = (offsets.first(), offsets.last()) else {
        return status;
    };
    status.start = Some((*start).clone());
    status.end = Some((*end).clone());
    status.status = partition_status(&offsets, partition.current_lag, now_ms);
    status
}

/// The rules over a window of commits (oldest first, no gaps).
pub fn partition_status(offsets: &[&ConsumerOffset], current_lag: u64, now_ms: i64) -> Status {
    if current_lag == 0 || offsets.iter().any(|o| o.lag == 0) {
        return Status::Ok;
    }
    if offsets.windows(2).any(|w| w[1].offset < w[0].offset) {
        return Status::Rewind;
    }
    let (Some(first), Some(last)) = (offsets.first(), offsets.last()) else {
        return Status::Ok;
    };
    if now_ms - last.timestamp > last.timestamp - first.timestamp {
        return Status::Stop;
    }
    if offsets.windows(2).all(|w| w[1].offset == w[0].offset) {
        return Status::Stall;
    }
    if offsets.windows(2).all(|w| w[1].lag >= w[0].lag) {
        return Status::Warn;
    }
    Status::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(commits: &[(i64, i64, u64)]) -> Vec<ConsumerOffset> {
        commits
            .iter()
            .map(|&(offset, timestamp, lag)| ConsumerOffset {
                offset,
                timestamp,
                observed_at: timestamp,
                lag,
            })
            .collect()
    }

    type Case = (&'static str, Vec<(i64, i64, u64)>, u64, i64, Status);

    /// One case per branch of the rules: (name, commits as (offset, timestamp ms, lag),
    /// current lag, now ms, expected).
    #[test]
    fn each_rule_branch() {
        let cases: Vec<Case> = vec![
            (
                "no current lag is OK",
                vec![(10, 1000, 5), (20, 2000, 5)],
                0,
                2500,
                Status::Ok,
            ),
            (
                "lag zero once in the window is OK",
                vec![(10, 1000, 0), (10, 2000, 5)],
                5,
                2500,
                Status::Ok,
            ),
            (
                "offset going down is REWIND",
                vec![(10, 1000, 5), (20, 2000, 5), (5, 3000, 30)],
                30,
                3500,
                Status::Rewind,
            ),
            (
                "rewind wins over stop",
                vec![(10, 1000, 5), (5, 2000, 10)],
                10,
                90_000,
                Status::Rewind,
            ),
            (
                "no commit for longer than the window spans is STOP",
                vec![(10, 1000, 5), (20, 2000, 10), (30, 3000, 15)],
                20,
                6000,
                Status::Stop,
            ),
            (
                "same offset with lag is STALL",
                vec![(10, 1000, 5), (10, 2000, 10), (10, 3000, 15)],
                20,
                3500,
                Status::Stall,
            ),
            (
                "advancing but lag never decreasing is WARN",
                vec![(10, 1000, 5), (20, 2000, 5), (30, 3000, 8)],
                8,
                3500,
                Status::Warn,
            ),
            (
                "advancing with lag decreasing somewhere is OK",
                vec![(10, 1000, 9), (20, 2000, 5), (30, 3000, 8)],
                8,
                3500,
                Status::Ok,
            ),
        ];
        for (name, commits, current_lag, now_ms, expected) in cases {
            let commits = window(&commits);
            let refs: Vec<&ConsumerOffset> = commits.iter().collect();
            assert_eq!(
                partition_status(&refs, current_lag, now_ms),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn leading_gaps_count_against_complete_and_are_dropped() {
        let commits = window(&[(10, 1000, 5), (20, 2000, 6)]);
        let partition = ConsumerPartition {
            offsets: vec![
                None,
                None,
                Some(commits[0].clone()),
                Some(commits[1].clone()),
            ],
            owner: "host".into(),
            client_id: "c1".into(),
            current_lag: 6,
        };
        let status = evaluate_partition(&partition, 2500);
        assert_eq!(status.complete, 0.5);
        assert_eq!(status.start.as_ref().map(|o| o.offset), Some(10));
        assert_eq!(status.end.as_ref().map(|o| o.offset), Some(20));
        assert_eq!(status.status, Status::Warn);
        assert_eq!(status.owner, "host");
    }

    #[test]
    fn partition_without_commits_is_ok_and_incomplete() {
        let partition = ConsumerPartition::default();
        let status = evaluate_partition(&partition, 0);
        assert_eq!((status.status, status.complete), (Status::Ok, 0.0));
    }

    #[test]
    fn group_is_the_worst_partition_capped_at_err_with_maxlag_and_totallag() {
        let stopped = window(&[(10, 1000, 5), (20, 2000, 10)]);
        let fine = window(&[(10, 1000, 0), (20, 2000, 0)]);
        let mut topics = ConsumerTopics::new();
        topics.insert(
            "t".into(),
            vec![
                ConsumerPartition {
                    offsets: fine.into_iter().map(Some).collect(),
                    current_lag: 3,
                    ..Default::default()
                },
                ConsumerPartition {
                    offsets: stopped.into_iter().map(Some).collect(),
                    current_lag: 40,
                    ..Default::default()
                },
            ],
        );
        let status = evaluate_group("local", "g", &topics, 100_000);
        assert_eq!(status.partitions[1].status, Status::Stop);
        assert_eq!(status.status, Status::Err);
        assert_eq!(status.totallag, 43);
        assert_eq!(status.partition_count, 2);
        assert_eq!(status.complete, 1.0);
        let maxlag = status.maxlag.unwrap();
        assert_eq!((maxlag.partition, maxlag.current_lag), (1, 40));
    }

    #[test]
    fn status_names_and_codes_round_trip() {
        for code in 0..=6 {
            let status = Status::from_code(code).unwrap();
            assert_eq!(Status::from_name(status.name()), Some(status));
        }
        assert_eq!(Status::from_code(7), None);
    }
}
