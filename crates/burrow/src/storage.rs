//! Burrow's in-memory storage (`core/internal/storage/inmemory.go`): per cluster, each
//! topic's log-end offsets as last polled, and per consumer group a ring of the last
//! `intervals` commits of each partition.
//!
//! Thread-safety: one `Mutex` over everything; every operation is short and never awaits.

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;
use regex::Regex;
use serde::Serialize;

use crate::config::StorageConfig;

/// One stored commit (`protocol.ConsumerOffset`). Timestamps are epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumerOffset {
    pub offset: i64,
    pub timestamp: i64,
    #[serde(rename = "observedAt")]
    pub observed_at: i64,
    pub lag: u64,
}

/// A partition's window as read out: oldest slot first, unfilled slots `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsumerPartition {
    pub offsets: Vec<Option<ConsumerOffset>>,
    pub owner: String,
    pub client_id: String,
    pub current_lag: u64,
}

/// A group's partitions by topic, each topic's partitions indexed by partition id.
pub type ConsumerTopics = BTreeMap<String, Vec<ConsumerPartition>>;

/// A ring of `intervals` slots. `next` is the slot the next commit goes to, which is
/// also the oldest slot. Invariant: `slots.len()` never changes after creation.
#[derive(Debug, Clone)]
struct Ring {
    slots: Vec<Option<ConsumerOffset>>,
    next: usize,
}

impl Ring {
    fn new(intervals: usize) -> Self {
        assert!(intervals > 0);
        Self {
            slots: vec![None; intervals],
            next: 0,
        }
    }

    fn previous_index(&self) -> usize {
        (self.next + self.slots.len() - 1) % self.slots.len()
    }

    fn oldest_first(&self) -> Vec<Option<ConsumerOffset>> {
        (0..self.slots.len())
            .map(|i| self.slots[(self.next + i) % self.slots.len()].clone())
            .collect()
    }
}

#[derive(Debug, Default, Clone)]
struct PartitionEntry {
    ring: Option<Ring>,
    owner: String,
    client_id: String,
}

#[derive(Debug, Default)]
struct Group {
    topics: BTreeMap<String, Vec<PartitionEntry>>,
    last_commit_ms: i64,
}

#[derive(Debug, Clone, Copy)]
struct BrokerOffset {
    offset: i64,
}

#[derive(Debug, Default)]
struct Cluster {
    /// Log-end offsets per topic, indexed by partition; `None` until first polled.
    broker: BTreeMap<String, Vec<Option<BrokerOffset>>>,
    groups: BTreeMap<String, Group>,
}

/// The whole store. Clusters are fixed at creation (one per `[cluster.NAME]`).
#[derive(Debug)]
pub struct Storage {
    intervals: usize,
    min_distance_ms: i64,
    expire_group_ms: i64,
    group_allowlist: Option<Regex>,
    clusters: Mutex<HashMap<String, Cluster>>,
}

impl Storage {
    pub fn new(config: &StorageConfig, clusters: impl IntoIterator<Item = String>) -> Self {
        Self {
            intervals: config.intervals,
            min_distance_ms: config.min_distance_seconds * 1000,
            expire_group_ms: config.expire_group_seconds * 1000,
            group_allowlist: config.group_allowlist.clone(),
            clusters: Mutex::new(
                clusters
                    .into_iter()
                    .map(|name| (name, Cluster::default()))
                    .collect(),
            ),
        }
    }

    fn accepts(&self, group: &str) -> bool {
        self.group_allowlist
            .as_ref()
            .is_none_or(|allow| allow.is_match(group))
    }

    /// Records a partition's log-end offset; `partition_count` resizes the topic.
    pub fn set_broker_offset(
        &self,
        cluster: &str,
        topic: &str,
        partition: i32,
        partition_count: i32,
        offset: i64,
    ) {
        let mut clusters = self.clusters.lock();
        let Some(cluster) = clusters.get_mut(cluster) else {
            return;
        };
        if partition < 0 || partition >= partition_count {
            return;
        }
        let partitions = cluster.broker.entry(topic.to_owned()).or_default();
        if partitions.len() < partition_count as usize {
            partitions.resize(partition_count as usize, None);
        }
        partitions[partition as usize] = Some(BrokerOffset { offset });
    }

    /// Forgets a topic the cluster no longer has, in the broker view and in every group.
    pub fn delete_topic(&self, cluster: &str, topic: &str) {
        let mut clusters = self.clusters.lock();
        if let Some(cluster) = clusters.get_mut(cluster) {
            cluster.broker.remove(topic);
            for group in cluster.groups.values_mut() {
                group.topics.remove(topic);
            }
        }
    }

    /// Adds a commit to the partition's ring. Dropped (as Burrow drops it) when the
    /// broker offset of the partition is not known yet. A commit less than `min-distance`
    /// after the previous one replaces it, keeping the previous one's timestamp so that
    /// frequent committers still move the window on.
    /// `commit.lag` is ignored: the lag is computed against the known log-end offset.
    pub fn add_consumer_offset(
        &self,
        cluster: &str,
        group: &str,
        topic: &str,
        partition: i32,
        commit: ConsumerOffset,
    ) {
        let ConsumerOffset {
            offset,
            timestamp: timestamp_ms,
            observed_at: observed_ms,
            ..
        } = commit;
        if !self.accepts(group) {
            return;
        }
        let mut clusters = self.clusters.lock();
        let Some(cluster) = clusters.get_mut(cluster) else {
            return;
        };
        let Some((broker_offset, partition_count)) = broker_offset(cluster, topic, partition)
        else {
            return;
        };
        let group = cluster.groups.entry(group.to_owned()).or_default();
        let entry = partition_entry(group, topic, partition, partition_count);
        let ring = entry.ring.get_or_insert_with(|| Ring::new(self.intervals));
        let mut timestamp_ms = timestamp_ms;
        let previous = ring.previous_index();
        if let Some(last) = &ring.slots[previous] {
            if timestamp_ms - last.timestamp < self.min_distance_ms {
                timestamp_ms = last.timestamp;
                ring.next = previous;
            }
        }
        let lag = (broker_offset - offset).max(0) as u64;
        let slot = ring.next;
        ring.slots[slot] = Some(ConsumerOffset {
            offset,
            timestamp: timestamp_ms,
            observed_at: observed_ms,
            lag,
        });
        ring.next = (slot + 1) % ring.slots.len();
        group.last_commit_ms = timestamp_ms;
    }

    /// Records who owns a partition (from the group's metadata).
    pub fn set_owner(
        &self,
        cluster: &str,
        group: &str,
        topic: &str,
        partition: i32,
        owner: &str,
        client_id: &str,
    ) {
        if !self.accepts(group) {
            return;
        }
        let mut clusters = self.clusters.lock();
        let Some(cluster) = clusters.get_mut(cluster) else {
            return;
        };
        let Some((_, partition_count)) = broker_offset(cluster, topic, partition) else {
            return;
        };
        let group = cluster.groups.entry(group.to_owned()).or_default();
        let entry = partition_entry(group, topic, partition, partition_count);
        entry.owner = owner.to_owned();
        entry.client_id = client_id.to_owned();
    }

    /// Clears every owner of a group (a new generation's metadata follows).
    pub fn clear_owners(&self, cluster: &str, group: &str) {
        let mut clusters = self.clusters.lock();
        if let Some(group) = clusters
            .get_mut(cluster)
            .and_then(|c| c.groups.get_mut(group))
        {
            for entry in group.topics.values_mut().flatten() {
                entry.owner.clear();
                entry.client_id.clear();
            }
        }
    }

    /// Forgets a partition's commits (an offset tombstone).
    pub fn delete_consumer_offset(&self, cluster: &str, group: &str, topic: &str, partition: i32) {
        let mut clusters = self.clusters.lock();
        let Some(cluster) = clusters.get_mut(cluster) else {
            return;
        };
        let Some(group_entry) = cluster.groups.get_mut(group) else {
            return;
        };
        if let Some(partitions) = group_entry.topics.get_mut(topic) {
            if let Some(entry) = partitions.get_mut(partition as usize) {
                entry.ring = None;
            }
            if partitions.iter().all(|p| p.ring.is_none()) {
                group_entry.topics.remove(topic);
            }
        }
        if group_entry.topics.is_empty() {
            cluster.groups.remove(group);
        }
    }

    /// Forgets a group; false when the cluster or the group is unknown.
    pub fn delete_group(&self, cluster: &str, group: &str) -> bool {
        let mut clusters = self.clusters.lock();
        clusters
            .get_mut(cluster)
            .is_some_and(|c| c.groups.remove(group).is_some())
    }

    pub fn clusters(&self) -> Vec<String> {
        let mut names: Vec<String> = self.clusters.lock().keys().cloned().collect();
        names.sort();
        names
    }

    pub fn has_cluster(&self, cluster: &str) -> bool {
        self.clusters.lock().contains_key(cluster)
    }

    pub fn topics(&self, cluster: &str) -> Option<Vec<String>> {
        let clusters = self.clusters.lock();
        clusters
            .get(cluster)
            .map(|c| c.broker.keys().cloned().collect())
    }

    /// A topic's log-end offsets by partition (-1 where not polled yet).
    pub fn topic_offsets(&self, cluster: &str, topic: &str) -> Option<Vec<i64>> {
        let clusters = self.clusters.lock();
        let partitions = clusters.get(cluster)?.broker.get(topic)?;
        Some(
            partitions
                .iter()
                .map(|p| p.map_or(-1, |b| b.offset))
                .collect(),
        )
    }

    pub fn consumers(&self, cluster: &str) -> Option<Vec<String>> {
        let clusters = self.clusters.lock();
        clusters
            .get(cluster)
            .map(|c| c.groups.keys().cloned().collect())
    }

    /// The groups that have committed on a topic.
    pub fn consumers_of_topic(&self, cluster: &str, topic: &str) -> Option<Vec<String>> {
        let clusters = self.clusters.lock();
        let cluster = clusters.get(cluster)?;
        cluster.broker.get(topic)?;
        Some(
            cluster
                .groups
                .iter()
                .filter(|(_, g)| g.topics.contains_key(topic))
                .map(|(name, _)| name.clone())
                .collect(),
        )
    }

    /// A group's windows with each partition's current lag against the latest log-end
    /// offset. `None` for an unknown group, or one whose last commit is older than
    /// `expire-group` (which is then purged, as Burrow purges it lazily).
    pub fn consumer(&self, cluster: &str, group: &str, now_ms: i64) -> Option<ConsumerTopics> {
        let mut clusters = self.clusters.lock();
        let cluster = clusters.get_mut(cluster)?;
        let entry = cluster.groups.get(group)?;
        if now_ms - self.expire_group_ms > entry.last_commit_ms {
            cluster.groups.remove(group);
            return None;
        }
        let mut topics = ConsumerTopics::new();
        for (topic, partitions) in &entry.topics {
            let broker = cluster.broker.get(topic);
            let list = partitions
                .iter()
                .enumerate()
                .map(|(id, p)| {
                    let offsets = p.ring.as_ref().map(Ring::oldest_first).unwrap_or_default();
                    let current_lag = match (
                        offsets.last().cloned().flatten(),
                        broker.and_then(|b| b.get(id).copied().flatten()),
                    ) {
                        (Some(last), Some(log_end)) => (log_end.offset - last.offset).max(0) as u64,
                        _ => 0,
                    };
                    ConsumerPartition {
                        offsets,
                        owner: p.owner.clone(),
                        client_id: p.client_id.clone(),
                        current_lag,
                    }
                })
                .collect();
            topics.insert(topic.clone(), list);
        }
        Some(topics)
    }
}

fn broker_offset(cluster: &Cluster, topic: &str, partition: i32) -> Option<(i64, usize)> {
    let partitions = cluster.broker.get(topic)?;
    if partition < 0 {
        return None;
    }
    let offset = partitions.get(partition as usize).copied().flatten()?;
    Some((offset.offset, partitions.len()))
}

fn partition_entry<'a>(
    group: &'a mut Group,
    topic: &str,
    partition: i32,
    partition_count: usize,
) -> &'a mut PartitionEntry {
    let partitions = group.topics.entry(topic.to_owned()).or_default();
    if partitions.len() < partition_count {
        partitions.resize(partition_count, PartitionEntry::default());
    }
    &mut partitions[partition as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage(intervals: usize, min_distance_seconds: i64) -> Storage {
        let config = StorageConfig {
            intervals,
            min_distance_seconds,
            expire_group_seconds: 3600,
            group_allowlist: None,
        };
        Storage::new(&config, ["local".to_owned()])
    }

    fn commit(offset: i64, timestamp: i64, observed_at: i64) -> ConsumerOffset {
        ConsumerOffset {
            offset,
            timestamp,
            observed_at,
            lag: 0,
        }
    }

    fn offsets(storage: &Storage, now_ms: i64) -> Vec<Option<i64>> {
        let topics = storage.consumer("local", "g", now_ms).unwrap();
        topics["t"][0]
            .offsets
            .iter()
            .map(|o| o.as_ref().map(|o| o.offset))
            .collect()
    }

    #[test]
    fn commits_before_the_broker_offset_is_known_are_dropped() {
        let storage = storage(3, 0);
        storage.add_consumer_offset("local", "g", "t", 0, commit(5, 1000, 1000));
        assert_eq!(storage.consumer("local", "g", 1000), None);
    }

    #[test]
    fn ring_keeps_the_last_intervals_commits_oldest_first() {
        let storage = storage(3, 0);
        storage.set_broker_offset("local", "t", 0, 1, 100);
        for (i, offset) in [10, 20, 30, 40].into_iter().enumerate() {
            storage.add_consumer_offset(
                "local",
                "g",
                "t",
                0,
                commit(offset, 1000 * (i as i64 + 1), 0),
            );
        }
        assert_eq!(offsets(&storage, 5000), vec![Some(20), Some(30), Some(40)]);
        let topics = storage.consumer("local", "g", 5000).unwrap();
        assert_eq!(topics["t"][0].current_lag, 60);
        assert_eq!(topics["t"][0].offsets[2].as_ref().unwrap().lag, 60);
    }

    #[test]
    fn commit_within_min_distance_replaces_the_last_keeping_its_timestamp() {
        let storage = storage(3, 2);
        storage.set_broker_offset("local", "t", 0, 1, 100);
        storage.add_consumer_offset("local", "g", "t", 0, commit(10, 1000, 0));
        storage.add_consumer_offset("local", "g", "t", 0, commit(15, 2500, 0));
        assert_eq!(offsets(&storage, 3000), vec![None, None, Some(15)]);
        let topics = storage.consumer("local", "g", 3000).unwrap();
        assert_eq!(topics["t"][0].offsets[2].as_ref().unwrap().timestamp, 1000);
        storage.add_consumer_offset("local", "g", "t", 0, commit(20, 3500, 0));
        assert_eq!(offsets(&storage, 4000), vec![None, Some(15), Some(20)]);
    }

    #[test]
    fn expired_groups_are_purged_on_read() {
        let storage = storage(3, 0);
        storage.set_broker_offset("local", "t", 0, 1, 100);
        storage.add_consumer_offset("local", "g", "t", 0, commit(10, 1000, 0));
        assert!(storage.consumer("local", "g", 1000 + 3_600_000).is_some());
        assert_eq!(storage.consumer("local", "g", 1001 + 3_600_000), None);
        assert_eq!(storage.consumers("local"), Some(vec![]));
    }

    #[test]
    fn tombstones_and_deletes_forget() {
        let storage = storage(3, 0);
        storage.set_broker_offset("local", "t", 0, 1, 100);
        storage.add_consumer_offset("local", "g", "t", 0, commit(10, 1000, 0));
        storage.set_owner("local", "g", "t", 0, "/127.0.0.1", "c1");
        assert_eq!(
            storage.consumers_of_topic("local", "t"),
            Some(vec!["g".to_owned()])
        );
        assert_eq!(
            storage.consumer("local", "g", 1000).unwrap()["t"][0].owner,
            "/127.0.0.1"
        );
        storage.delete_consumer_offset("local", "g", "t", 0);
        assert_eq!(storage.consumer("local", "g", 1000), None);
        storage.add_consumer_offset("local", "g", "t", 0, commit(10, 1000, 0));
        assert!(storage.delete_group("local", "g"));
        assert!(!storage.delete_group("local", "g"));
    }
}
