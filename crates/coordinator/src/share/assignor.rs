//! Kafka's `simple` share-group assignor (`SimpleAssignor`, Kafka 4.1): every member
//! subscribed to a topic gets some of its partitions, balance first, then stickiness.
//! Unlike a consumer group's assignors, a partition may go to several members: share
//! groups hand out records, not partitions, so with more members than partitions the
//! partitions are shared and nobody idles.
//!
//! When every member subscribes to the same topics (homogeneous), each member is first
//! placed on one partition by the hash of its id (Java's `String.hashCode`, as Kafka);
//! then members keep partitions of their current assignment while they hold fewer than
//! `ceil(partitions / members)` and no hashed member took the partition; the partitions
//! left go round-robin to members with at most that many. Otherwise (heterogeneous), per
//! member a hashed partition of its topics, round-robin for partitions neither hashed nor
//! currently assigned, and every member keeps the current partitions of topics it still
//! subscribes to that nobody was hashed to.
//!
//! Kafka iterates hash maps where rafka iterates members by id and partitions by topic
//! order and index, so a round-robin step may pick another member than Kafka's; the
//! hash placement, the balance bound and the stickiness rules are Kafka's.

use std::collections::{BTreeMap, BTreeSet};

use crate::group::consumer::{Partitions, TopicInfo};
use crate::java_string_hash;

type TopicPartition = (uuid::Uuid, i32);

/// The target assignment of `subscriptions` (member id → subscribed topic names) over
/// `topics` (the assignable partitions), sticking to `current` (the last target) where
/// balance allows. Every member appears in the result, with nothing when none of its
/// topics exist.
pub fn assign(
    subscriptions: &BTreeMap<String, Vec<String>>,
    topics: &[TopicInfo],
    current: &BTreeMap<String, Partitions>,
) -> BTreeMap<String, Partitions> {
    let subscribed: BTreeMap<&str, Vec<&TopicInfo>> = subscriptions
        .iter()
        .map(|(member, names)| {
            let mine = topics
                .iter()
                .filter(|t| t.partitions > 0 && names.contains(&t.name))
                .collect();
            (member.as_str(), mine)
        })
        .collect();
    // The current assignment by partition, of the members still here.
    let mut current_by_partition: BTreeMap<TopicPartition, Vec<&str>> = BTreeMap::new();
    for (member, partitions) in current {
        if !subscriptions.contains_key(member) {
            continue;
        }
        for (topic_id, ps) in partitions {
            for p in ps {
                current_by_partition
                    .entry((*topic_id, *p))
                    .or_default()
                    .push(member);
            }
        }
    }
    let mut sets = subscribed
        .values()
        .map(|ts| ts.iter().map(|t| t.topic_id).collect());
    let first: Option<BTreeSet<uuid::Uuid>> = sets.next();
    let homogeneous = sets.all(|s| Some(s) == first);
    let by_member = if homogeneous {
        assign_homogeneous(&subscribed, &current_by_partition)
    } else {
        assign_heterogeneous(&subscribed, &current_by_partition)
    };
    subscriptions
        .keys()
        .map(|member| {
            let mut partitions = Partitions::new();
            for (topic_id, p) in by_member.get(member.as_str()).into_iter().flatten() {
                partitions.entry(*topic_id).or_default().insert(*p);
            }
            (member.clone(), partitions)
        })
        .collect()
}

fn partitions_of(topics: &[&TopicInfo]) -> Vec<TopicPartition> {
    topics
        .iter()
        .flat_map(|t| (0..t.partitions).map(move |p| (t.topic_id, p)))
        .collect()
}

/// Kafka's `memberHashAssignment`: `abs(hash(member id) % partitions)` picks one.
fn hashed(member: &str, partitions: &[TopicPartition]) -> TopicPartition {
    let count = i32::try_from(partitions.len()).expect("partitions fit an int32");
    let index = (java_string_hash(member) % count).unsigned_abs() as usize;
    partitions[index]
}

fn assign_homogeneous<'m>(
    subscribed: &BTreeMap<&'m str, Vec<&TopicInfo>>,
    current: &BTreeMap<TopicPartition, Vec<&'m str>>,
) -> BTreeMap<&'m str, BTreeSet<TopicPartition>> {
    let members: Vec<&str> = subscribed.keys().copied().collect();
    let Some(topics) = subscribed.values().next() else {
        return BTreeMap::new();
    };
    let targets = partitions_of(topics);
    if targets.is_empty() {
        return BTreeMap::new();
    }
    let topic_ids: BTreeSet<uuid::Uuid> = topics.iter().map(|t| t.topic_id).collect();
    let desired = targets.len().div_ceil(members.len());
    let mut placed: BTreeMap<&str, BTreeSet<TopicPartition>> = BTreeMap::new();
    let mut hashed_partitions = BTreeSet::new();
    let mut taken = BTreeSet::new();
    for member in &members {
        let tp = hashed(member, &targets);
        placed.entry(member).or_default().insert(tp);
        hashed_partitions.insert(tp);
        taken.insert(tp);
    }
    for (tp, holders) in current {
        if !topic_ids.contains(&tp.0) || hashed_partitions.contains(tp) {
            continue;
        }
        for member in holders {
            let mine = placed.entry(member).or_default();
            if mine.len() < desired {
                mine.insert(*tp);
                taken.insert(*tp);
            }
        }
    }
    let unassigned: Vec<TopicPartition> = targets
        .iter()
        .filter(|tp| !taken.contains(tp))
        .copied()
        .collect();
    // Kafka's roundRobinAssignmentWithCount: a member takes one more than `desired` at
    // most (hash collisions), and leaves the rotation once past it.
    let mut rotation = members.clone();
    let (mut at, mut next) = (0, 0);
    while next < unassigned.len() && !rotation.is_empty() {
        if at >= rotation.len() {
            at = 0;
        }
        let mine = placed.entry(rotation[at]).or_default();
        if mine.len() <= desired {
            mine.insert(unassigned[next]);
            next += 1;
            at += 1;
        } else {
            rotation.remove(at);
        }
    }
    placed
}

fn assign_heterogeneous<'m>(
    subscribed: &BTreeMap<&'m str, Vec<&TopicInfo>>,
    current: &BTreeMap<TopicPartition, Vec<&'m str>>,
) -> BTreeMap<&'m str, BTreeSet<TopicPartition>> {
    let mut targets: Vec<TopicPartition> = Vec::new();
    let mut subscribers: BTreeMap<uuid::Uuid, Vec<&str>> = BTreeMap::new();
    let mut new: BTreeMap<TopicPartition, Vec<&str>> = BTreeMap::new();
    for (member, topics) in subscribed {
        let mine = partitions_of(topics);
        if mine.is_empty() {
            continue;
        }
        for tp in &mine {
            if !targets.contains(tp) {
                targets.push(*tp);
            }
        }
        for t in topics {
            let members = subscribers.entry(t.topic_id).or_default();
            if !members.contains(member) {
                members.push(member);
            }
        }
        new.entry(hashed(member, &mine)).or_default().push(member);
    }
    // Round-robin, per topic, of the partitions neither hashed to nor currently held.
    let mut unassigned: BTreeMap<uuid::Uuid, Vec<TopicPartition>> = BTreeMap::new();
    for tp in &targets {
        if !new.contains_key(tp) && !current.contains_key(tp) {
            unassigned.entry(tp.0).or_default().push(*tp);
        }
    }
    for (topic_id, partitions) in unassigned {
        let members = &subscribers[&topic_id];
        for (i, tp) in partitions.into_iter().enumerate() {
            new.entry(tp).or_default().push(members[i % members.len()]);
        }
    }
    let mut placed: BTreeMap<&str, BTreeSet<TopicPartition>> = BTreeMap::new();
    for (tp, members) in &new {
        for member in members {
            placed.entry(member).or_default().insert(*tp);
        }
    }
    for (tp, holders) in current {
        if new.contains_key(tp) {
            continue;
        }
        for member in holders {
            if subscribers.get(&tp.0).is_some_and(|m| m.contains(member)) {
                placed.entry(member).or_default().insert(*tp);
            }
        }
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str, partitions: i32) -> TopicInfo {
        TopicInfo {
            topic_id: uuid::Uuid::from_u128(name.len() as u128 + 7),
            name: name.to_string(),
            partitions,
        }
    }

    fn subs(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(m, t)| (m.to_string(), t.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    fn owned(target: &BTreeMap<String, Partitions>, member: &str, t: &TopicInfo) -> Vec<i32> {
        target[member]
            .get(&t.topic_id)
            .map(|p| p.iter().copied().collect())
            .unwrap_or_default()
    }

    fn fresh(
        subscriptions: &BTreeMap<String, Vec<String>>,
        topics: &[TopicInfo],
    ) -> BTreeMap<String, Partitions> {
        assign(subscriptions, topics, &BTreeMap::new())
    }

    #[test]
    fn members_are_hashed_to_a_partition_then_fill_up_round_robin() {
        // "a".hashCode() = 97: 97 % 5 = 2; "b": 98 % 5 = 3. Then 0, 1, 4 round-robin,
        // each member up to ceil(5 / 2) = 3.
        let t = topic("orders", 5);
        let target = fresh(
            &subs(&[("a", &["orders"]), ("b", &["orders"])]),
            std::slice::from_ref(&t),
        );
        assert_eq!(owned(&target, "a", &t), vec![0, 2, 4]);
        assert_eq!(owned(&target, "b", &t), vec![1, 3]);
    }

    #[test]
    fn more_members_than_partitions_share_them_and_nobody_idles() {
        let t = topic("orders", 2);
        let target = fresh(
            &subs(&[("a", &["orders"]), ("b", &["orders"]), ("c", &["orders"])]),
            std::slice::from_ref(&t),
        );
        // 97 % 2, 98 % 2, 99 % 2: every member has one, every partition is read.
        assert_eq!(owned(&target, "a", &t), vec![1]);
        assert_eq!(owned(&target, "b", &t), vec![0]);
        assert_eq!(owned(&target, "c", &t), vec![1]);
    }

    #[test]
    fn a_joining_member_moves_as_little_as_balance_allows() {
        let t = topic("orders", 4);
        let two = subs(&[("a", &["orders"]), ("b", &["orders"])]);
        let first = fresh(&two, std::slice::from_ref(&t));
        assert_eq!(owned(&first, "a", &t), vec![0, 1]);
        assert_eq!(owned(&first, "b", &t), vec![2, 3]);
        // c is hashed to 3 (99 % 4); a keeps 0 and 1 (1 hashed to it, 0 its own while it
        // holds fewer than ceil(4 / 3) = 2); b keeps 2. A modulo spread would have moved
        // three partitions.
        let three = subs(&[("a", &["orders"]), ("b", &["orders"]), ("c", &["orders"])]);
        let second = assign(&three, std::slice::from_ref(&t), &first);
        assert_eq!(owned(&second, "a", &t), vec![0, 1]);
        assert_eq!(owned(&second, "b", &t), vec![2]);
        assert_eq!(owned(&second, "c", &t), vec![3]);
        // c leaves: its partition goes round-robin, a member may take one past the
        // balance (Kafka's rule for hash collisions).
        let third = assign(&two, std::slice::from_ref(&t), &second);
        assert_eq!(owned(&third, "a", &t), vec![0, 1, 3]);
        assert_eq!(owned(&third, "b", &t), vec![2]);
        // Unchanged members and topics: the same assignment.
        assert_eq!(assign(&two, std::slice::from_ref(&t), &third), third);
    }

    #[test]
    fn only_subscribers_get_a_topic_and_unknown_topics_give_nothing() {
        let orders = topic("orders", 2);
        let pays = topic("payments", 1);
        let target = fresh(
            &subs(&[("a", &["orders", "missing"]), ("b", &["payments"])]),
            &[orders.clone(), pays.clone()],
        );
        assert_eq!(owned(&target, "a", &orders), vec![0, 1]);
        assert_eq!(owned(&target, "a", &pays), Vec::<i32>::new());
        assert_eq!(owned(&target, "b", &pays), vec![0]);
        assert_eq!(owned(&target, "b", &orders), Vec::<i32>::new());
        let nothing = fresh(&subs(&[("c", &["missing"])]), &[orders]);
        assert!(nothing["c"].is_empty());
    }

    #[test]
    fn heterogeneous_members_keep_their_current_partitions_of_topics_they_still_read() {
        let orders = topic("orders", 3);
        let pays = topic("payments", 2);
        let topics = [orders.clone(), pays.clone()];
        let before = subs(&[("a", &["orders", "payments"]), ("b", &["orders"])]);
        let first = fresh(&before, &topics);
        // a is hashed among its 5 partitions (97 % 5 = 2: orders-2), b among orders' 3
        // (98 % 3 = 2: orders-2 too); the rest round-robin over each topic's readers.
        assert_eq!(owned(&first, "a", &orders), vec![0, 2]);
        assert_eq!(owned(&first, "b", &orders), vec![1, 2]);
        assert_eq!(owned(&first, "a", &pays), vec![0, 1]);
        // a leaves payments, b joins it: a is hashed to orders-1 (97 % 3), b to
        // payments-0 (98 % 5); both keep orders-2, a keeps orders-0, b loses orders-1
        // to a's hash. payments-1 was a's: as Kafka's, nobody gets it this round (it is
        // held, so not round-robin, and its holder no longer reads the topic) ...
        let b_moved = subs(&[("a", &["orders"]), ("b", &["orders", "payments"])]);
        let second = assign(&b_moved, &topics, &first);
        assert_eq!(owned(&second, "a", &orders), vec![0, 1, 2]);
        assert_eq!(owned(&second, "a", &pays), Vec::<i32>::new());
        assert_eq!(owned(&second, "b", &orders), vec![2]);
        assert_eq!(owned(&second, "b", &pays), vec![0]);
        // ... and the next assignment hands it out.
        let both = subs(&[
            ("a", &["orders", "payments"]),
            ("b", &["orders", "payments"]),
        ]);
        let third = assign(&both, &topics, &second);
        let readers_of_1: Vec<&String> = third
            .iter()
            .filter(|(_, ps)| ps.get(&pays.topic_id).is_some_and(|p| p.contains(&1)))
            .map(|(m, _)| m)
            .collect();
        assert_eq!(readers_of_1, ["a"]);
    }
}
