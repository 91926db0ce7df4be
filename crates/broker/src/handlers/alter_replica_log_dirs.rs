//! AlterReplicaLogDirs: move replicas this broker hosts between its log dirs
//! (`kafka-reassign-partitions.sh` with `log_dirs`, Admin.alterReplicaLogDirs).
//!
//! As Kafka's ReplicaManager.alterReplicaLogDirs: a dir that is not one of `log.dirs`
//! is LOG_DIR_NOT_FOUND, a partition without a replica here REPLICA_NOT_AVAILABLE, and a
//! replica already in the dir is left alone. Kafka copies a future replica in the
//! background; rafka moves the files at once (a rename within one file system), the
//! partition's appends and reads waiting for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kafka_protocol::messages::alter_replica_log_dirs_response::{
    AlterReplicaLogDirPartitionResult, AlterReplicaLogDirTopicResult,
};
use kafka_protocol::messages::{AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;

pub(super) fn handle(
    broker: &Arc<Broker>,
    request: AlterReplicaLogDirsRequest,
) -> AlterReplicaLogDirsResponse {
    let mut results: Vec<AlterReplicaLogDirTopicResult> = Vec::new();
    for dir in request.dirs {
        let target = configured_dir(&broker.config.log_dirs, dir.path.as_str());
        for topic in dir.topics {
            let partitions = topic
                .partitions
                .iter()
                .map(|&index| {
                    let outcome = match &target {
                        None => Err(ErrorCode::LogDirNotFound),
                        Some(target) => match broker.partition(topic.name.as_str(), index) {
                            None => Err(ErrorCode::ReplicaNotAvailable),
                            Some(partition) => partition.move_to_log_dir(target).map_err(|e| {
                                tracing::error!(
                                    "cannot move {}-{index} to {}: {e}",
                                    topic.name.as_str(),
                                    target.display()
                                );
                                ErrorCode::KafkaStorageError
                            }),
                        },
                    };
                    AlterReplicaLogDirPartitionResult::default()
                        .with_partition_index(index)
                        .with_error_code(outcome.err().map_or(0, |e| e.code()))
                })
                .collect();
            results.push(
                AlterReplicaLogDirTopicResult::default()
                    .with_topic_name(topic.name)
                    .with_partitions(partitions),
            );
        }
    }
    if !results.is_empty() {
        // Checkpoints follow the replicas to their new dirs.
        if let Err(e) = broker.write_checkpoints() {
            tracing::error!("cannot write offset checkpoints after moving replicas: {e}");
        }
    }
    AlterReplicaLogDirsResponse::default().with_results(results)
}

/// The configured log dir a client names: Kafka compares absolute paths, so a relative
/// `log.dirs` entry matches its absolute form too.
fn configured_dir(log_dirs: &[PathBuf], asked: &str) -> Option<PathBuf> {
    let asked = Path::new(asked);
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    log_dirs
        .iter()
        .find(|d| d.as_path() == asked || absolute(d) == absolute(asked))
        .cloned()
}

/// The answer without ALTER on the cluster, as Kafka's `getErrorResponse`: every
/// partition of every dir's topics CLUSTER_AUTHORIZATION_FAILED, one result per topic
/// entry of each dir.
pub(super) fn refuse(request: &AlterReplicaLogDirsRequest) -> AlterReplicaLogDirsResponse {
    let code = ErrorCode::ClusterAuthorizationFailed.code();
    let results = request.dirs.iter().flat_map(|dir| {
        dir.topics.iter().map(|topic| {
            let partitions = topic.partitions.iter().map(|&index| {
                AlterReplicaLogDirPartitionResult::default()
                    .with_partition_index(index)
                    .with_error_code(code)
            });
            AlterReplicaLogDirTopicResult::default()
                .with_topic_name(topic.name.clone())
                .with_partitions(partitions.collect())
        })
    });
    AlterReplicaLogDirsResponse::default().with_results(results.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_dirs_match_as_given_or_as_absolute_paths() {
        let dirs = vec![PathBuf::from("/srv/a"), PathBuf::from("data")];
        assert_eq!(
            configured_dir(&dirs, "/srv/a"),
            Some(PathBuf::from("/srv/a"))
        );
        let cwd = std::env::current_dir().unwrap();
        let data = cwd.join("data");
        assert_eq!(
            configured_dir(&dirs, data.to_str().unwrap()),
            Some(PathBuf::from("data"))
        );
        assert_eq!(configured_dir(&dirs, "/srv/b"), None);
    }
}
