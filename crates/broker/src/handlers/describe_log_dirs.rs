//! DescribeLogDirs: each log directory with the size of every partition it holds and, in
//! v4+, the disk's total and usable bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};

use super::str_bytes;
use crate::broker::Broker;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: DescribeLogDirsRequest,
    _version: i16,
) -> DescribeLogDirsResponse {
    let wanted: Option<BTreeMap<String, Vec<i32>>> = request.topics.map(|topics| {
        topics
            .into_iter()
            .map(|t| (t.topic.to_string(), t.partitions))
            .collect()
    });
    let mut per_dir: BTreeMap<std::path::PathBuf, BTreeMap<String, Vec<DescribeLogDirsPartition>>> =
        broker
            .config
            .log_dirs
            .iter()
            .map(|d| (d.clone(), BTreeMap::new()))
            .collect();
    for topic in broker.topics() {
        let filter = match &wanted {
            None => None,
            Some(w) => match w.get(&*topic.name) {
                Some(partitions) => Some(partitions),
                None => continue,
            },
        };
        for partition in topic.local_partitions() {
            if filter.is_some_and(|f| !f.contains(&partition.index)) {
                continue;
            }
            let dir = partition.dir();
            let Some(parent) = dir.parent() else { continue };
            if let Some(topics) = per_dir.get_mut(parent) {
                topics.entry(topic.name.to_string()).or_default().push(
                    DescribeLogDirsPartition::default()
                        .with_partition_index(partition.index)
                        .with_partition_size(partition.size_bytes() as i64)
                        .with_offset_lag(0)
                        .with_is_future_key(false),
                );
            }
        }
    }
    let results = per_dir
        .into_iter()
        .map(|(dir, topics)| {
            let (total, usable) = disk_space(&dir);
            let absolute = std::fs::canonicalize(&dir).unwrap_or(dir);
            DescribeLogDirsResult::default()
                .with_log_dir(str_bytes(absolute.display().to_string()))
                .with_total_bytes(total)
                .with_usable_bytes(usable)
                .with_topics(
                    topics
                        .into_iter()
                        .map(|(name, partitions)| {
                            DescribeLogDirsTopic::default()
                                .with_name(TopicName(str_bytes(name)))
                                .with_partitions(partitions)
                        })
                        .collect(),
                )
        })
        .collect();
    DescribeLogDirsResponse::default().with_results(results)
}

/// (total, usable) bytes of the file system holding `dir`; -1 when unknown.
fn disk_space(dir: &std::path::Path) -> (i64, i64) {
    match nix::sys::statvfs::statvfs(dir) {
        Ok(stat) => {
            let fragment = stat.fragment_size() as i64;
            (
                stat.blocks() as i64 * fragment,
                stat.blocks_available() as i64 * fragment,
            )
        }
        Err(_) => (-1, -1),
    }
}
