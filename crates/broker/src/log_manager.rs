//! The log manager: the log directories and every partition log in them. It formats and
//! checks `meta.properties`, reads the clean-shutdown markers and offset checkpoints at
//! start-up, opens (and after a crash recovers) partition logs, picks the log dir of a new
//! partition, and runs the periodic work on the logs: retention, compaction, flushes of
//! rolled segments and the checkpoints, and the last flush at shutdown. It knows nothing
//! of leaders, followers or the cluster: the replica manager decides which logs exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use rafka_log::{Log, LogConfig, OpenOptions};
use rafka_types::{Offset, SharedClock, TopicPartition};

use crate::config::BrokerConfig;
use crate::error::StartupError;
use crate::partition::Partition;
use crate::storage::{self, MetaProperties, OffsetCheckpoint, StorageError};
use crate::topic::Topic;

/// What start-up read for the partitions it opens later: whether the last shutdown was
/// clean, and each partition's recovery point, log start and high watermark.
#[derive(Debug, Default)]
struct StartupOffsets {
    clean: bool,
    recovery: OffsetCheckpoint,
    log_starts: OffsetCheckpoint,
    high_watermarks: OffsetCheckpoint,
}

/// One log to open at start-up: the partition, its topic's id and its log config.
#[derive(Debug, Clone)]
pub struct LogToOpen {
    pub topic: String,
    pub topic_id: uuid::Uuid,
    pub index: i32,
    pub config: LogConfig,
}

#[derive(Debug)]
pub struct LogManager {
    log_dirs: Vec<PathBuf>,
    recovery_threads_per_dir: usize,
    /// Cluster mode keeps each partition's high watermark in a checkpoint too.
    checkpoint_high_watermarks: bool,
    clock: SharedClock,
    startup: Mutex<StartupOffsets>,
}

impl LogManager {
    /// Reads the clean-shutdown markers (removing them: a crash from now on is unclean)
    /// and the offset checkpoints of every log dir.
    pub fn open(
        config: &BrokerConfig,
        clock: SharedClock,
        clustered: bool,
    ) -> Result<LogManager, StartupError> {
        let mut startup = StartupOffsets {
            clean: true,
            ..Default::default()
        };
        for dir in &config.log_dirs {
            let marker = dir.join(storage::CLEAN_SHUTDOWN_FILE);
            if marker.exists() {
                let _ = std::fs::remove_file(&marker);
            } else if dir.join(storage::METADATA_FILE).exists() || holds_partitions(dir) {
                // A dir that has never held a topic (a fresh one) has nothing to recover.
                startup.clean = false;
            }
            startup.recovery.extend(storage::read_offset_checkpoint(
                &dir.join(storage::RECOVERY_POINT_CHECKPOINT),
            )?);
            startup.log_starts.extend(storage::read_offset_checkpoint(
                &dir.join(storage::LOG_START_OFFSET_CHECKPOINT),
            )?);
            if clustered {
                startup
                    .high_watermarks
                    .extend(storage::read_offset_checkpoint(
                        &dir.join(storage::REPLICATION_OFFSET_CHECKPOINT),
                    )?);
            }
        }
        if !startup.clean {
            tracing::warn!("the previous shutdown was not clean: recovering logs");
        }
        Ok(LogManager {
            log_dirs: config.log_dirs.clone(),
            recovery_threads_per_dir: config.num_recovery_threads_per_data_dir,
            checkpoint_high_watermarks: clustered,
            clock,
            startup: Mutex::new(startup),
        })
    }

    /// How to open a partition that existed before start-up, and its checkpointed high
    /// watermark (0 if none). The entries are used once: a partition created later under
    /// the same name is a new log.
    fn startup_options(&self, topic: &str, index: i32) -> (OpenOptions, Offset) {
        let key = TopicPartition::new(topic, index);
        let mut startup = self.startup.lock();
        let options = OpenOptions {
            log_start_offset: startup.log_starts.remove(&key),
            recovery_point: if startup.clean {
                None
            } else {
                Some(startup.recovery.remove(&key).unwrap_or(Offset::ZERO))
            },
        };
        (
            options,
            startup.high_watermarks.remove(&key).unwrap_or(Offset::ZERO),
        )
    }

    /// Opens, recovering it if the last shutdown was not clean, the log of a partition
    /// that may have existed before start-up; returns it with its checkpointed high
    /// watermark.
    pub fn open_existing(&self, log: &LogToOpen) -> Result<(Log, Offset), StartupError> {
        let (options, high_watermark) = self.startup_options(&log.topic, log.index);
        Ok((self.open_log(log, options)?, high_watermark))
    }

    /// Creates the log of a new partition.
    pub fn create(&self, log: &LogToOpen) -> Result<Log, StartupError> {
        let options = OpenOptions {
            log_start_offset: None,
            recovery_point: None,
        };
        self.open_log(log, options)
    }

    /// Opens every log of `logs` (single-node start-up) by
    /// `num.recovery.threads.per.data.dir` threads per log dir, as Kafka does: recovery
    /// after a crash is CRC-bound. Results come back in the order of `logs`.
    pub fn open_all(&self, logs: &[LogToOpen]) -> Vec<Result<Log, StartupError>> {
        let threads =
            (self.recovery_threads_per_dir * self.log_dirs.len()).clamp(1, logs.len().max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let opened: Mutex<Vec<Option<Result<Log, StartupError>>>> =
            Mutex::new((0..logs.len()).map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(log) = logs.get(i) else {
                        break;
                    };
                    let result = self.open_existing(log).map(|(log, _)| log);
                    opened.lock()[i] = Some(result);
                });
            }
        });
        opened
            .into_inner()
            .into_iter()
            .map(|r| r.expect("every log was opened"))
            .collect()
    }

    fn open_log(&self, log: &LogToOpen, options: OpenOptions) -> Result<Log, StartupError> {
        let dir = self.partition_dir(&log.topic, log.index);
        let opened = Log::open(dir.clone(), log.config.clone(), self.clock.clone(), options)
            .map_err(|source| StartupError::Log {
                partition: format!("{}-{}", log.topic, log.index),
                path: dir.clone(),
                source,
            })?;
        write_partition_metadata(&dir, &log.topic_id);
        Ok(opened)
    }

    /// Where a partition lives: its existing directory in any log dir, else the log dir
    /// holding the fewest partitions.
    fn partition_dir(&self, topic: &str, index: i32) -> PathBuf {
        let name = format!("{topic}-{index}");
        let dirs = &self.log_dirs;
        if let [only] = dirs.as_slice() {
            // Nothing to choose, so nothing to count: counting lists every partition
            // directory, which made creating n partitions cost O(n²) stat calls (the
            // sixth 1000 of 6000 partitions took 5x as long as the first).
            return only.join(name);
        }
        if let Some(existing) = dirs.iter().map(|d| d.join(&name)).find(|p| p.is_dir()) {
            return existing;
        }
        let count = |d: &PathBuf| {
            std::fs::read_dir(d)
                .map(|it| {
                    it.filter_map(Result::ok)
                        .filter(|e| e.path().is_dir())
                        .count()
                })
                .unwrap_or(0)
        };
        let best = dirs.iter().min_by_key(|d| count(d)).unwrap_or(&dirs[0]);
        best.join(name)
    }

    /// Deletes partition directories that `known` does not recognise (topics deleted
    /// while this broker was down).
    pub fn remove_stray_partition_dirs(&self, known: impl Fn(&str, i32) -> bool) {
        for dir in &self.log_dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                if !path.is_dir() {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().to_string();
                let Some((topic, index)) = name.rsplit_once('-') else {
                    continue;
                };
                let Ok(index) = index.parse::<i32>() else {
                    continue;
                };
                if !known(topic, index) {
                    tracing::warn!(
                        "deleting {}: no such partition in the metadata",
                        path.display()
                    );
                    if let Err(e) = std::fs::remove_dir_all(&path) {
                        tracing::error!("cannot delete {}: {e}", path.display());
                    }
                }
            }
        }
    }

    /// Deletes a replica's directory (its topic was deleted, or it moved away).
    pub fn delete(&self, partition: &Partition) {
        let dir = partition.dir();
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => tracing::info!("{}-{}: replica deleted", partition.topic, partition.index),
            Err(e) => tracing::error!("cannot delete {}: {e}", dir.display()),
        }
    }

    /// Applies retention to every partition; called on `log.retention.check.interval.ms`.
    pub fn enforce_retention(&self, topics: &[Arc<Topic>]) {
        for topic in topics {
            for partition in topic.local_partitions() {
                if let Err(e) = partition.with_log(|log| log.enforce_retention()) {
                    tracing::error!(
                        "retention of {}-{} failed: {e}",
                        topic.name,
                        partition.index
                    );
                }
            }
        }
        if let Err(e) = self.write_checkpoints(topics) {
            tracing::error!("cannot write offset checkpoints: {e}");
        }
    }

    /// Forgets producers idle for `producer.id.expiration.ms` in every partition; called
    /// every `producer.id.expiration.check.interval.ms`.
    pub fn expire_producers(&self, topics: &[Arc<Topic>], expiration_ms: i64) {
        for topic in topics {
            for partition in topic.local_partitions() {
                let removed = partition.with_log(|log| log.remove_expired_producers(expiration_ms));
                if removed > 0 {
                    tracing::debug!(
                        "{}-{}: {removed} producers expired",
                        topic.name,
                        partition.index
                    );
                }
            }
        }
    }

    /// Compacts every partition whose topic has `cleanup.policy=compact` (the log
    /// decides whether enough is dirty); called every `log.cleaner.backoff.ms`.
    pub fn clean_logs(&self, topics: &[Arc<Topic>]) {
        for topic in topics {
            for partition in topic.local_partitions() {
                // Only below the LSO (at most the high watermark): above it a record may
                // still be truncated away or belong to an open transaction, and must not
                // shadow the older record of its key.
                let last_stable_offset = partition.last_stable_offset();
                let result = partition.with_log(|log| {
                    if log.config().cleanup_policy_compact {
                        log.clean_up_to(last_stable_offset).map(Some)
                    } else {
                        Ok(None)
                    }
                });
                match result {
                    Ok(Some(r)) if r.skipped.is_none() => tracing::info!(
                        "cleaned {}-{}: {} of {} record(s) kept, {} -> {} bytes",
                        topic.name,
                        partition.index,
                        r.records_retained,
                        r.records_read,
                        r.bytes_read,
                        r.bytes_written
                    ),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!("cleaning {}-{} failed: {e}", topic.name, partition.index)
                    }
                }
            }
        }
    }

    /// fsyncs the segments rolled since the last pass, without holding any partition's
    /// lock during the fsync, and moves each recovery point past them (Kafka flushes a
    /// segment when it rolls). Recovery after a crash then scans only the newer data.
    pub fn flush_rolled_segments(&self, topics: &[Arc<Topic>]) {
        for topic in topics {
            for partition in topic.local_partitions() {
                let work = partition.with_log(|log| log.rolled_segments_to_flush());
                let (files, up_to) = match work {
                    Ok(Some(work)) => work,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::error!("cannot flush {}-{}: {e}", topic.name, partition.index);
                        continue;
                    }
                };
                if let Err(e) = files.iter().try_for_each(|f| f.sync_data()) {
                    tracing::error!("cannot flush {}-{}: {e}", topic.name, partition.index);
                    continue;
                }
                partition.with_log(|log| log.advance_recovery_point(up_to));
            }
        }
    }

    /// Writes each log dir's recovery-point and log-start-offset checkpoints (and in a
    /// cluster the high watermarks).
    pub fn write_checkpoints(&self, topics: &[Arc<Topic>]) -> Result<(), StorageError> {
        let mut per_dir: BTreeMap<PathBuf, (OffsetCheckpoint, OffsetCheckpoint, OffsetCheckpoint)> =
            self.log_dirs
                .iter()
                .map(|d| (d.clone(), Default::default()))
                .collect();
        for topic in topics {
            for partition in topic.local_partitions() {
                let dir = partition.dir();
                let Some(parent) = dir.parent() else { continue };
                if let Some((recovery, starts, hws)) = per_dir.get_mut(parent) {
                    let key = TopicPartition::new(&*topic.name, partition.index);
                    recovery.insert(key.clone(), partition.recovery_point());
                    starts.insert(key.clone(), partition.log_start_offset());
                    hws.insert(key, partition.high_watermark());
                }
            }
        }
        for (dir, (recovery, starts, hws)) in per_dir {
            if self.checkpoint_high_watermarks {
                storage::write_offset_checkpoint(
                    &dir.join(storage::REPLICATION_OFFSET_CHECKPOINT),
                    &hws,
                )?;
            }
            storage::write_offset_checkpoint(
                &dir.join(storage::RECOVERY_POINT_CHECKPOINT),
                &recovery,
            )?;
            storage::write_offset_checkpoint(
                &dir.join(storage::LOG_START_OFFSET_CHECKPOINT),
                &starts,
            )?;
        }
        Ok(())
    }

    /// Flushes every log, writes checkpoints and marks each log dir cleanly shut down.
    pub fn shutdown(&self, topics: &[Arc<Topic>]) {
        for topic in topics {
            for partition in topic.local_partitions() {
                let flushed = partition.with_log(|log| {
                    log.snapshot_producer_state()?;
                    log.flush()
                });
                if let Err(e) = flushed {
                    tracing::error!("cannot flush {}-{}: {e}", topic.name, partition.index);
                }
            }
        }
        if let Err(e) = self.write_checkpoints(topics) {
            tracing::error!("cannot write offset checkpoints: {e}");
            return;
        }
        for dir in &self.log_dirs {
            if let Err(e) = storage::write_atomically(&dir.join(storage::CLEAN_SHUTDOWN_FILE), b"")
            {
                tracing::error!("cannot mark {} cleanly shut down: {e}", dir.display());
            }
        }
    }
}

/// Whether a log dir holds any partition directory (the metadata quorum's own log,
/// `__cluster_metadata-0`, recovers itself).
fn holds_partitions(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .any(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != "__cluster_metadata-0")
}

/// Every log dir must carry a `meta.properties` of this node and one cluster. Without
/// `process.roles` (the embedded default and Kafka-2-style configs) rafka formats
/// unformatted dirs itself; in KRaft mode it refuses, like Kafka.
pub(crate) fn ensure_formatted(config: &BrokerConfig) -> Result<String, StartupError> {
    let mut cluster_id: Option<String> = None;
    let mut unformatted = Vec::new();
    for dir in &config.log_dirs {
        match MetaProperties::read(dir)? {
            Some(meta) => {
                if meta.node_id != config.node_id {
                    return Err(StartupError::Config(format!(
                        "Stored node id {} doesn't match previous node id {} in {}. If you moved your data, make sure your configured node id matches. If you intend to create a new node, you should remove all data in your data directories.",
                        meta.node_id,
                        config.node_id,
                        dir.display()
                    )));
                }
                if let Some(existing) = &cluster_id {
                    if *existing != meta.cluster_id {
                        return Err(StartupError::Config(format!(
                            "Invalid cluster.id in: {}. Expected {existing}, but read {}",
                            dir.join(storage::META_PROPERTIES).display(),
                            meta.cluster_id
                        )));
                    }
                }
                cluster_id = Some(meta.cluster_id);
            }
            None => unformatted.push(dir.clone()),
        }
    }
    if !unformatted.is_empty() && !config.process_roles.is_empty() {
        return Err(StartupError::Config(format!(
            "No `meta.properties` found in {} (have you run `kafka-storage.sh` to format the directory?)",
            unformatted[0].display()
        )));
    }
    let cluster_id = cluster_id.unwrap_or_else(storage::random_kafka_uuid);
    for dir in unformatted {
        MetaProperties {
            cluster_id: cluster_id.clone(),
            node_id: config.node_id,
            directory_id: storage::random_kafka_uuid(),
        }
        .write(&dir)?;
        tracing::info!("formatted {} for cluster {cluster_id}", dir.display());
    }
    Ok(cluster_id)
}

/// Kafka's `partition.metadata`: the topic id of the partition's directory.
fn write_partition_metadata(dir: &Path, topic_id: &uuid::Uuid) {
    let path = dir.join("partition.metadata");
    if path.exists() {
        return;
    }
    let text = format!(
        "version: 0\ntopic_id: {}\n",
        storage::base64_url(topic_id.as_bytes())
    );
    if let Err(e) = storage::write_atomically(&path, text.as_bytes()) {
        tracing::warn!("cannot write {}: {e}", path.display());
    }
}
