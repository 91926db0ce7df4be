//! `--generate`'s proposal: Kafka's `AdminUtils.assignReplicasToBrokers`, applied to
//! each topic as Kafka's `calculateAssignment` does.

use std::collections::{BTreeMap, BTreeSet};

use rafka_types::TopicPartition;

use super::failure::Failure;
use crate::common::java_tp_hash;
use crate::common::{java_hash_order, JAVA_HASH_MAP_DEFAULT_CAPACITY};

/// A broker `--generate` may place replicas on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BrokerMetadata {
    pub(super) id: i32,
    pub(super) rack: Option<String>,
}

/// Kafka's `calculateAssignment`: each topic's partitions spread anew over `brokers`,
/// keeping its partition count and replication factor. `random_below(n)` draws the
/// start index and replica shift (Kafka's `Random.nextInt(n)`).
pub(super) fn calculate_assignment(
    current: &BTreeMap<TopicPartition, Vec<i32>>,
    brokers: &[BrokerMetadata],
    random_below: &mut dyn FnMut(usize) -> usize,
) -> Result<BTreeMap<TopicPartition, Vec<i32>>, Failure> {
    // Kafka takes the replication factor of the topic's first partition in its HashMap.
    let in_java_order = java_hash_order(
        current.iter().collect::<Vec<_>>(),
        JAVA_HASH_MAP_DEFAULT_CAPACITY,
        |(tp, _)| java_tp_hash(tp),
    );
    let mut topics: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (tp, replicas) in in_java_order {
        topics
            .entry(tp.topic.as_str())
            .or_insert((0, replicas.len()))
            .0 += 1;
    }
    let mut proposed = BTreeMap::new();
    for (topic, (partitions, replication_factor)) in topics {
        let assignment =
            assign_replicas_to_brokers(brokers, partitions, replication_factor, random_below)
                .map_err(Failure::Error)?;
        for (partition, replicas) in assignment.into_iter().enumerate() {
            let partition = i32::try_from(partition).expect("a topic's partition count fits i32");
            proposed.insert(TopicPartition::new(topic, partition), replicas);
        }
    }
    Ok(proposed)
}

/// Kafka's `AdminUtils.assignReplicasToBrokers` for partitions `0..partitions`: the
/// first replica round-robin from a random start, the others at an increasing shift; on
/// racks (when every broker has one), over the rack-alternated broker list, preferring
/// racks and then brokers without a replica yet. Returns the replicas by partition.
fn assign_replicas_to_brokers(
    brokers: &[BrokerMetadata],
    partitions: usize,
    replication_factor: usize,
    random_below: &mut dyn FnMut(usize) -> usize,
) -> Result<Vec<Vec<i32>>, String> {
    if partitions == 0 {
        return Err("Number of partitions must be larger than 0.".into());
    }
    if replication_factor == 0 {
        return Err("Replication factor must be larger than 0.".into());
    }
    if replication_factor > brokers.len() {
        return Err(format!(
            "Replication factor: {replication_factor} larger than available brokers: {}.",
            brokers.len()
        ));
    }
    if brokers.iter().all(|b| b.rack.is_none()) {
        let ids: Vec<i32> = brokers.iter().map(|b| b.id).collect();
        return Ok(assign_rack_unaware(
            &ids,
            partitions,
            replication_factor,
            random_below,
        ));
    }
    let mut rack_of: BTreeMap<i32, &str> = BTreeMap::new();
    for broker in brokers {
        let Some(rack) = &broker.rack else {
            return Err(
                "Not all brokers have rack information for replica rack aware assignment.".into(),
            );
        };
        rack_of.insert(broker.id, rack);
    }
    Ok(assign_rack_aware(
        &rack_of,
        partitions,
        replication_factor,
        random_below,
    ))
}

/// Kafka's `replicaIndex`: where the `replica`-th follower of a partition led from
/// `first` goes, `shift` places on.
fn replica_index(first: usize, shift: usize, replica: usize, brokers: usize) -> usize {
    (first + 1 + (shift + replica) % (brokers - 1)) % brokers
}

/// Kafka's round robin over `n` brokers: partition `p` leads at `(p + start) % n`, and the
/// followers' shift grows by one every `n` partitions; `place(first, shift)` gives one
/// partition's replicas. `start` and the first shift are random draws.
fn round_robin(
    n: usize,
    partitions: usize,
    random_below: &mut dyn FnMut(usize) -> usize,
    mut place: impl FnMut(usize, usize) -> Vec<i32>,
) -> Vec<Vec<i32>> {
    let start = random_below(n);
    let mut shift = random_below(n);
    (0..partitions)
        .map(|partition| {
            if partition > 0 && partition % n == 0 {
                shift += 1;
            }
            place((partition + start) % n, shift)
        })
        .collect()
}

fn assign_rack_unaware(
    brokers: &[i32],
    partitions: usize,
    replication_factor: usize,
    random_below: &mut dyn FnMut(usize) -> usize,
) -> Vec<Vec<i32>> {
    let n = brokers.len();
    round_robin(n, partitions, random_below, |first, shift| {
        let mut replicas = vec![brokers[first]];
        replicas.extend(
            (0..replication_factor - 1).map(|j| brokers[replica_index(first, shift, j, n)]),
        );
        replicas
    })
}

fn assign_rack_aware(
    rack_of: &BTreeMap<i32, &str>,
    partitions: usize,
    replication_factor: usize,
    random_below: &mut dyn FnMut(usize) -> usize,
) -> Vec<Vec<i32>> {
    let racks: BTreeSet<&str> = rack_of.values().copied().collect();
    let arranged = rack_alternated_brokers(rack_of);
    let n = arranged.len();
    round_robin(n, partitions, random_below, |first, shift| {
        let leader = arranged[first];
        let mut replicas = vec![leader];
        let mut racks_with_replicas: BTreeSet<&str> = BTreeSet::from([rack_of[&leader]]);
        let mut brokers_with_replicas: BTreeSet<i32> = BTreeSet::from([leader]);
        let mut k = 0;
        for _ in 0..replication_factor - 1 {
            loop {
                let broker = arranged[replica_index(first, shift * racks.len(), k, n)];
                let rack = rack_of[&broker];
                k += 1;
                // Skip a broker whose rack already has a replica while some rack has
                // none, and a broker that has one while some broker has none.
                if (!racks_with_replicas.contains(rack) || racks_with_replicas.len() == racks.len())
                    && (!brokers_with_replicas.contains(&broker)
                        || brokers_with_replicas.len() == n)
                {
                    replicas.push(broker);
                    racks_with_replicas.insert(rack);
                    brokers_with_replicas.insert(broker);
                    break;
                }
            }
        }
        replicas
    })
}

/// Kafka's `getRackAlternatedBrokerList`: one broker of each rack in turn (racks and
/// their brokers in ascending order), e.g. racks {a: 0,1,2; b: 3,4} give 0,3,1,4,2.
fn rack_alternated_brokers(rack_of: &BTreeMap<i32, &str>) -> Vec<i32> {
    let mut by_rack: BTreeMap<&str, std::vec::IntoIter<i32>> = BTreeMap::new();
    let mut grouped: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (id, rack) in rack_of {
        grouped.entry(rack).or_default().push(*id);
    }
    for (rack, ids) in grouped {
        by_rack.insert(rack, ids.into_iter());
    }
    let mut result = Vec::with_capacity(rack_of.len());
    while result.len() < rack_of.len() {
        for ids in by_rack.values_mut() {
            if let Some(id) = ids.next() {
                result.push(id);
            }
        }
    }
    result
}

/// A seed for `--generate`'s random start, which Kafka draws from `java.util.Random`.
pub(super) fn random_seed() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_nanos() as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafka_types::SplitMix64;

    fn tp(topic: &str, partition: i32) -> TopicPartition {
        TopicPartition::new(topic, partition)
    }

    fn brokers(ids: &[i32]) -> Vec<BrokerMetadata> {
        ids.iter()
            .map(|id| BrokerMetadata {
                id: *id,
                rack: None,
            })
            .collect()
    }

    #[test]
    fn rack_unaware_assignment_follows_kafkas_table() {
        // AdminUtils' javadoc example: 5 brokers, 10 partitions, start index and shift 0.
        let assignment =
            assign_replicas_to_brokers(&brokers(&[0, 1, 2, 3, 4]), 10, 3, &mut |_| 0).unwrap();
        assert_eq!(
            assignment,
            vec![
                vec![0, 1, 2],
                vec![1, 2, 3],
                vec![2, 3, 4],
                vec![3, 4, 0],
                vec![4, 0, 1],
                vec![0, 2, 3],
                vec![1, 3, 4],
                vec![2, 4, 0],
                vec![3, 0, 1],
                vec![4, 1, 2],
            ]
        );
        // A random start rotates the leaders and shifts the followers.
        let mut draws = vec![2, 1].into_iter();
        let shifted = assign_replicas_to_brokers(&brokers(&[10, 11, 12]), 3, 2, &mut |n| {
            assert_eq!(n, 3);
            draws.next().unwrap()
        })
        .unwrap();
        assert_eq!(shifted, vec![vec![12, 11], vec![10, 12], vec![11, 10]]);
    }

    #[test]
    fn rack_aware_assignment_matches_kafkas_test() {
        // AdminRackAwareTest.testGetRackAlternatedBrokerListAndAssignReplicasToBrokers.
        let racks = [
            (0, "rack1"),
            (1, "rack3"),
            (2, "rack3"),
            (3, "rack2"),
            (4, "rack2"),
            (5, "rack1"),
        ];
        let metadata: Vec<BrokerMetadata> = racks
            .iter()
            .map(|(id, rack)| BrokerMetadata {
                id: *id,
                rack: Some(rack.to_string()),
            })
            .collect();
        let rack_of: BTreeMap<i32, &str> = racks.iter().copied().collect();
        assert_eq!(rack_alternated_brokers(&rack_of), vec![0, 3, 1, 5, 4, 2]);
        let mut without_5 = rack_of.clone();
        without_5.remove(&5);
        assert_eq!(rack_alternated_brokers(&without_5), vec![0, 3, 1, 4, 2]);
        assert_eq!(
            assign_replicas_to_brokers(&metadata, 7, 3, &mut |_| 0).unwrap(),
            vec![
                vec![0, 3, 1],
                vec![3, 1, 5],
                vec![1, 5, 4],
                vec![5, 4, 2],
                vec![4, 2, 0],
                vec![2, 0, 3],
                vec![0, 4, 2],
            ]
        );
        let mut partial = metadata.clone();
        partial[0].rack = None;
        assert_eq!(
            assign_replicas_to_brokers(&partial, 1, 1, &mut |_| 0).unwrap_err(),
            "Not all brokers have rack information for replica rack aware assignment."
        );
    }

    #[test]
    fn assignment_refuses_more_replicas_than_brokers() {
        assert_eq!(
            assign_replicas_to_brokers(&brokers(&[1, 2]), 4, 3, &mut |_| 0).unwrap_err(),
            "Replication factor: 3 larger than available brokers: 2."
        );
    }

    #[test]
    fn generate_keeps_each_topics_partition_count_and_replication_factor() {
        let current = BTreeMap::from([
            (tp("foo", 0), vec![0, 1, 2]),
            (tp("foo", 1), vec![1, 2, 3]),
            (tp("bar", 0), vec![2, 3]),
        ]);
        let proposed = calculate_assignment(&current, &brokers(&[0, 1, 3]), &mut |_| 0).unwrap();
        assert_eq!(
            proposed,
            BTreeMap::from([
                (tp("bar", 0), vec![0, 1]),
                (tp("foo", 0), vec![0, 1, 3]),
                (tp("foo", 1), vec![1, 3, 0]),
            ])
        );
        // Random draws: every proposal stays on the given brokers, replicas distinct.
        let mut rng = SplitMix64(7);
        for _ in 0..50 {
            let proposed = calculate_assignment(&current, &brokers(&[0, 1, 3]), &mut |n| {
                rng.below(n as u64) as usize
            })
            .unwrap();
            for replicas in proposed.values() {
                assert!(
                    replicas.iter().all(|r| [0, 1, 3].contains(r)),
                    "{replicas:?}"
                );
                let distinct: BTreeSet<&i32> = replicas.iter().collect();
                assert_eq!(distinct.len(), replicas.len(), "{replicas:?}");
            }
        }
    }
}
