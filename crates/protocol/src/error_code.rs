//! Kafka's error codes. The `kafka-protocol` crate already carries Kafka's table (code,
//! retriable, description); rafka uses it under Kafka's own name for the concept.

pub use kafka_protocol::error::ResponseError as ErrorCode;

/// The code for "no error" on the wire; `ErrorCode` has no variant for it.
pub const NONE: i16 = 0;

/// The wire code of an optional error: 0 when there is none.
pub fn code_of(error: Option<ErrorCode>) -> i16 {
    error.map_or(NONE, |e| e.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_kafka() {
        assert_eq!(ErrorCode::OffsetOutOfRange.code(), 1);
        assert_eq!(ErrorCode::UnknownTopicOrPartition.code(), 3);
        assert_eq!(ErrorCode::MessageTooLarge.code(), 10);
        assert_eq!(ErrorCode::UnsupportedVersion.code(), 35);
        assert_eq!(ErrorCode::TopicAlreadyExists.code(), 36);
        assert_eq!(ErrorCode::InvalidPartitions.code(), 37);
        assert_eq!(ErrorCode::InvalidConfig.code(), 40);
        assert_eq!(ErrorCode::InvalidUpdateVersion.code(), 95);
        assert_eq!(ErrorCode::IneligibleReplica.code(), 107);
        assert_eq!(code_of(None), 0);
    }
}
