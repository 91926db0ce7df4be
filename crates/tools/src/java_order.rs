//! The iteration order of Java's `java.util.HashMap`, which Kafka's tools print their
//! rows in wherever they iterate a map (`kafka-topics --describe` over topic names,
//! `kafka-consumer-groups` and `kafka-log-dirs` over `TopicPartition`s). To print the same
//! lines in the same order, the tools put their rows through the same maps.
//!
//! A `HashMap` iterates bucket by bucket (`spread(hashCode) & (capacity - 1)`), and within
//! a bucket in insertion order (a resize splits a bucket keeping that order). So the
//! order follows from the keys' hash codes, the order they were put in, and the final
//! capacity. Tree bins (8+ keys in one bucket of a table of 64+) are not modelled.

/// Java's `String.hashCode()`: over UTF-16 code units, wrapping.
pub fn string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// `org.apache.kafka.common.TopicPartition.hashCode()`.
pub fn topic_partition_hash(topic: &str, partition: i32) -> i32 {
    31i32
        .wrapping_add(partition)
        .wrapping_mul(31)
        .wrapping_add(string_hash(topic))
}

/// `HashMap.hash()`: the high bits spread into the low ones.
fn spread(hash: i32) -> u32 {
    let h = hash as u32;
    h ^ (h >> 16)
}

/// `HashMap.tableSizeFor`.
fn table_size_for(n: usize) -> usize {
    n.max(1).next_power_of_two()
}

/// How a map was created, which decides its first capacity.
#[derive(Debug, Clone, Copy)]
pub enum Capacity {
    /// `new HashMap<>()` (and `Collectors.toMap`, `Collectors.groupingBy`): 16.
    Default,
    /// `new HashMap<>(n)`.
    Initial(usize),
    /// `new HashMap<>(otherMap)` / `putAll` into an empty map of `n` entries, and
    /// `new HashSet<>(collection)` (`max(n / .75 + 1, 16)`).
    CopyOf(usize),
    /// `new HashSet<>(collection)` of `n` elements.
    HashSetOf(usize),
}

/// The capacity a map created as `capacity` has after `n` distinct keys are put in, given
/// their hashes in insertion order (a bucket of 8+ in a table under 64 also resizes).
fn final_capacity(capacity: Capacity, hashes: &[i32]) -> usize {
    let mut cap = match capacity {
        Capacity::Default => 16,
        Capacity::Initial(n) => table_size_for(n),
        Capacity::CopyOf(n) => table_size_for(((n as f32 / 0.75) + 1.0) as usize),
        Capacity::HashSetOf(n) => table_size_for((((n as f32) / 0.75) as usize + 1).max(16)),
    };
    let mut size = 0usize;
    for (i, &h) in hashes.iter().enumerate() {
        // The chain this key joins, before it joins.
        let bucket = spread(h) as usize & (cap - 1);
        let chain = hashes[..i]
            .iter()
            .filter(|&&o| spread(o) as usize & (cap - 1) == bucket)
            .count();
        if chain >= 8 && cap < 64 {
            cap *= 2; // treeifyBin resizes a small table instead
        }
        size += 1;
        if size as f32 > cap as f32 * 0.75 {
            cap *= 2;
        }
    }
    cap
}

/// `items` (distinct keys, in the order they are put into a map created as `capacity`)
/// in the order that map iterates them.
pub fn hash_map_order<T>(items: Vec<T>, capacity: Capacity, hash: impl Fn(&T) -> i32) -> Vec<T> {
    let hashes: Vec<i32> = items.iter().map(&hash).collect();
    let cap = final_capacity(capacity, &hashes);
    let mut keyed: Vec<(usize, T)> = hashes
        .iter()
        .map(|&h| spread(h) as usize & (cap - 1))
        .zip(items)
        .collect();
    keyed.sort_by_key(|(bucket, _)| *bucket); // stable: insertion order within a bucket
    keyed.into_iter().map(|(_, item)| item).collect()
}

/// [`hash_map_order`] of `(topic, partition)` keys.
pub fn topic_partition_order<T>(
    items: Vec<T>,
    capacity: Capacity,
    key: impl Fn(&T) -> (&str, i32),
) -> Vec<T> {
    hash_map_order(items, capacity, |item| {
        let (topic, partition) = key(item);
        topic_partition_hash(topic, partition)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_hashes_are_java_ones() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("a"), 97);
        assert_eq!(string_hash("hello"), 99_162_322);
        assert_eq!(
            string_hash("__consumer_offsets"),
            string_hash("__consumer_offsets")
        );
        // Wraps like Java's int: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(string_hash("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn topic_partitions_iterate_as_kafka_prints_them() {
        // Kafka's consumer-groups tool printed alpha 2, 0, 1 and beta 1, 0.
        let alpha = topic_partition_order(
            vec![("alpha", 0), ("alpha", 1), ("alpha", 2)],
            Capacity::Default,
            |p| *p,
        );
        assert_eq!(alpha, vec![("alpha", 2), ("alpha", 0), ("alpha", 1)]);
        let beta = topic_partition_order(vec![("beta", 0), ("beta", 1)], Capacity::Default, |p| *p);
        assert_eq!(beta, vec![("beta", 1), ("beta", 0)]);
    }

    #[test]
    fn maps_grow_past_three_quarters() {
        let hashes: Vec<i32> = (0..13).collect();
        assert_eq!(final_capacity(Capacity::Default, &hashes[..12]), 16);
        assert_eq!(final_capacity(Capacity::Default, &hashes), 32);
        assert_eq!(final_capacity(Capacity::Initial(3), &hashes[..3]), 4);
        assert_eq!(final_capacity(Capacity::Initial(7), &hashes[..7]), 16);
        assert_eq!(final_capacity(Capacity::CopyOf(3), &hashes[..3]), 8);
    }
}
