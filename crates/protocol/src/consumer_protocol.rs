//! The consumer protocol's embedded messages that travel as opaque bytes in group APIs:
//! a classic member's assignment (SyncGroup, DescribeGroups) is a 2-byte version followed
//! by `ConsumerProtocolAssignment`.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::ConsumerProtocolAssignment;
use kafka_protocol::protocol::Decodable;

/// A member's assignment by topic. Bytes that do not decode are an empty assignment, as
/// Kafka's admin client and group coordinator treat them (a member of a group that is not
/// a consumer group, or one not assigned yet).
pub fn decode_assignment(mut bytes: Bytes) -> Vec<(String, Vec<i32>)> {
    if bytes.remaining() < 2 {
        return Vec::new();
    }
    let version = bytes.get_i16();
    match ConsumerProtocolAssignment::decode(&mut bytes, version.clamp(0, 3)) {
        Ok(assignment) => assignment
            .assigned_partitions
            .iter()
            .map(|tp| (tp.topic.to_string(), tp.partitions.clone()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The same assignment, one `(topic, partition)` per partition.
pub fn assigned_partitions(bytes: Bytes) -> Vec<(String, i32)> {
    decode_assignment(bytes)
        .into_iter()
        .flat_map(|(topic, partitions)| partitions.into_iter().map(move |p| (topic.clone(), p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    #[test]
    fn assignments_decode_and_garbage_is_empty() {
        let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
            TopicPartition::default()
                .with_topic(TopicName(StrBytes::from_static_str("t")))
                .with_partitions(vec![0, 2]),
        ]);
        let mut out = bytes::BytesMut::new();
        out.put_i16(3);
        assignment.encode(&mut out, 3).unwrap();
        let bytes = out.freeze();
        assert_eq!(
            decode_assignment(bytes.clone()),
            vec![("t".to_string(), vec![0, 2])]
        );
        assert_eq!(
            assigned_partitions(bytes),
            vec![("t".to_string(), 0), ("t".to_string(), 2)]
        );
        assert!(decode_assignment(Bytes::new()).is_empty());
        assert!(decode_assignment(Bytes::from_static(&[0, 1, 9])).is_empty());
    }
}
