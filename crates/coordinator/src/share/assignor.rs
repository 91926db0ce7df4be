//! Kafka's `simple` share-group assignor: every member subscribed to a topic gets some
//! of its partitions. Unlike a consumer group's assignors, a partition may go to several
//! members: share groups hand out records, not partitions, so with more members than
//! partitions the partitions are shared and nobody idles.
//!
//! Per topic, with its subscribers sorted by member id: when there are at most as many
//! members as partitions, partition `p` goes to member `p % members`; with more members
//! than partitions, member `i` gets partition `i % partitions`. The result depends only
//! on the members and topics, so every coordinator computes the same one.

use std::collections::BTreeMap;

use crate::group::consumer::{Partitions, TopicInfo};

/// The target assignment of `subscriptions` (member id → subscribed topic names) over
/// `topics`. Every member appears in the result, with nothing when none of its topics
/// exist.
pub fn assign(
    subscriptions: &BTreeMap<String, Vec<String>>,
    topics: &[TopicInfo],
) -> BTreeMap<String, Partitions> {
    let mut target: BTreeMap<String, Partitions> = subscriptions
        .keys()
        .map(|m| (m.clone(), Partitions::new()))
        .collect();
    for topic in topics {
        if topic.partitions <= 0 {
            continue;
        }
        // BTreeMap keys: already sorted by member id.
        let members: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, names)| names.contains(&topic.name))
            .map(|(m, _)| m)
            .collect();
        if members.is_empty() {
            continue;
        }
        let partitions = topic.partitions as usize;
        let mut add = |member: &String, partition: usize| {
            target
                .get_mut(member)
                .expect("every subscriber is in the target")
                .entry(topic.topic_id)
                .or_default()
                .insert(partition as i32);
        };
        if members.len() <= partitions {
            for p in 0..partitions {
                add(members[p % members.len()], p);
            }
        } else {
            for (i, member) in members.iter().enumerate() {
                add(member, i % partitions);
            }
        }
    }
    target
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

    #[test]
    fn fewer_members_than_partitions_split_the_partitions() {
        let t = topic("orders", 5);
        let target = assign(
            &subs(&[("a", &["orders"]), ("b", &["orders"])]),
            std::slice::from_ref(&t),
        );
        assert_eq!(owned(&target, "a", &t), vec![0, 2, 4]);
        assert_eq!(owned(&target, "b", &t), vec![1, 3]);
    }

    #[test]
    fn more_members_than_partitions_share_them_and_nobody_idles() {
        let t = topic("orders", 2);
        let target = assign(
            &subs(&[("a", &["orders"]), ("b", &["orders"]), ("c", &["orders"])]),
            std::slice::from_ref(&t),
        );
        assert_eq!(owned(&target, "a", &t), vec![0]);
        assert_eq!(owned(&target, "b", &t), vec![1]);
        assert_eq!(owned(&target, "c", &t), vec![0]);
    }

    #[test]
    fn only_subscribers_get_a_topic_and_unknown_topics_give_nothing() {
        let orders = topic("orders", 2);
        let pays = topic("payments", 1);
        let target = assign(
            &subs(&[("a", &["orders", "missing"]), ("b", &["payments"])]),
            &[orders.clone(), pays.clone()],
        );
        assert_eq!(owned(&target, "a", &orders), vec![0, 1]);
        assert_eq!(owned(&target, "a", &pays), Vec::<i32>::new());
        assert_eq!(owned(&target, "b", &pays), vec![0]);
        assert_eq!(owned(&target, "b", &orders), Vec::<i32>::new());
        let nothing = assign(&subs(&[("c", &["missing"])]), &[orders]);
        assert!(nothing["c"].is_empty());
    }
}
