//! The service's errors and their gRPC status codes, mapped from Kafka's error codes.
//!
//! A Kafka error keeps Kafka's own text in the status message (librdkafka's
//! "Broker: Unknown topic or partition"), prefixed by what was being done, so that a
//! client sees both the gRPC code to branch on and the Kafka error to search for.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tonic::{Code, Status};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("topic {topic} does not exist")]
    UnknownTopic { topic: String },
    #[error("partition {partition} of topic {topic} does not exist (the topic has {partitions} partitions)")]
    UnknownPartition {
        topic: String,
        partition: i32,
        partitions: usize,
    },
    #[error("offset {offset} of {topic}-{partition} is out of range [{log_start_offset}, {high_watermark}]")]
    OffsetOutOfRange {
        topic: String,
        partition: i32,
        offset: i64,
        log_start_offset: i64,
        high_watermark: i64,
    },
    #[error("subscription {0} is not active here (it ended, or another process serves it)")]
    UnknownSubscription(String),
    #[error("subscription {subscription_id} is of group {group}, not {requested}")]
    GroupMismatch {
        subscription_id: String,
        group: String,
        requested: String,
    },
    #[error("{context}: {source}")]
    Kafka { context: String, source: KafkaError },
    #[error("the service is shutting down")]
    ShuttingDown,
    #[error("cannot start a subscription's thread: {0}")]
    Thread(std::io::Error),
}

impl ServiceError {
    /// A Kafka error met while doing `context` ("produce to topic t").
    pub fn kafka(context: impl Into<String>, source: KafkaError) -> ServiceError {
        ServiceError::Kafka {
            context: context.into(),
            source,
        }
    }

    pub fn code(&self) -> Code {
        match self {
            ServiceError::InvalidArgument(_) | ServiceError::GroupMismatch { .. } => {
                Code::InvalidArgument
            }
            ServiceError::UnknownTopic { .. }
            | ServiceError::UnknownPartition { .. }
            | ServiceError::UnknownSubscription(_) => Code::NotFound,
            ServiceError::OffsetOutOfRange { .. } => Code::OutOfRange,
            ServiceError::Kafka { source, .. } => kafka_code(source),
            ServiceError::ShuttingDown => Code::Unavailable,
            ServiceError::Thread(_) => Code::ResourceExhausted,
        }
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Status {
        Status::new(err.code(), err.to_string())
    }
}

/// The gRPC code for a Kafka error: by its error code when it has one, else by kind
/// (client-side failures such as a canceled operation).
pub(super) fn kafka_code(err: &KafkaError) -> Code {
    match err.rdkafka_error_code() {
        Some(code) => code_of(code),
        None => match err {
            KafkaError::AdminOp(code) => code_of(*code),
            KafkaError::Canceled => Code::Cancelled,
            KafkaError::ClientCreation(_) | KafkaError::ClientConfig(..) => {
                Code::FailedPrecondition
            }
            _ => Code::Internal,
        },
    }
}

/// Kafka's error codes (and librdkafka's local ones) as gRPC codes.
pub fn code_of(code: RDKafkaErrorCode) -> Code {
    use RDKafkaErrorCode as K;
    match code {
        K::NoError => Code::Ok,
        K::UnknownTopicOrPartition | K::UnknownTopic | K::UnknownPartition | K::UnknownTopicId => {
            Code::NotFound
        }
        K::TopicAlreadyExists => Code::AlreadyExists,
        K::InvalidTopic
        | K::InvalidPartitions
        | K::InvalidReplicationFactor
        | K::InvalidReplicaAssignment
        | K::InvalidConfig
        | K::InvalidRequest
        | K::InvalidArgument
        | K::InvalidRecord
        | K::InvalidTimestamp
        | K::InvalidMessage
        | K::InvalidMessageSize
        | K::MessageSizeTooLarge
        | K::MessageBatchTooLarge
        | K::InvalidRequiredAcks
        | K::InvalidCommitOffsetSize
        | K::InvalidGroupId
        | K::InvalidSessionTimeout
        | K::BadMessage => Code::InvalidArgument,
        K::OffsetOutOfRange => Code::OutOfRange,
        K::LeaderNotAvailable
        | K::NotLeaderForPartition
        | K::BrokerNotAvailable
        | K::ReplicaNotAvailable
        | K::NetworkException
        | K::AllBrokersDown
        | K::BrokerTransportFailure
        | K::Resolve
        | K::NotEnoughReplicas
        | K::NotEnoughReplicasAfterAppend
        | K::CoordinatorNotAvailable
        | K::NotCoordinator
        | K::CoordinatorLoadInProgress
        | K::KafkaStorageError
        | K::NotController
        | K::FencedLeaderEpoch
        | K::UnknownLeaderEpoch
        | K::OffsetNotAvailable
        | K::PreferredLeaderNotAvailable
        | K::BrokerDestroy
        | K::WaitCache
        | K::QueueFull => Code::Unavailable,
        K::RequestTimedOut | K::MessageTimedOut | K::OperationTimedOut | K::TimedOutQueue => {
            Code::DeadlineExceeded
        }
        K::RebalanceInProgress | K::ConcurrentTransactions => Code::Aborted,
        K::IllegalGeneration
        | K::UnknownMemberId
        | K::FencedInstanceId
        | K::GroupIdNotFound
        | K::NonEmptyGroup
        | K::PolicyViolation
        | K::State
        | K::Fatal => Code::FailedPrecondition,
        K::TopicAuthorizationFailed
        | K::GroupAuthorizationFailed
        | K::ClusterAuthorizationFailed
        | K::TransactionalIdAuthorizationFailed
        | K::DelegationTokenAuthorizationFailed => Code::PermissionDenied,
        K::SaslAuthenticationFailed | K::Authentication => Code::Unauthenticated,
        K::UnsupportedVersion | K::UnsupportedForMessageFormat | K::NotImplemented => {
            Code::Unimplemented
        }
        K::ThrottlingQuotaExceeded => Code::ResourceExhausted,
        _ => Code::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::error::KafkaError;

    #[test]
    fn kafka_errors_map_to_the_codes_the_proto_documents() {
        assert_eq!(
            code_of(RDKafkaErrorCode::UnknownTopicOrPartition),
            Code::NotFound
        );
        assert_eq!(
            code_of(RDKafkaErrorCode::TopicAlreadyExists),
            Code::AlreadyExists
        );
        assert_eq!(
            code_of(RDKafkaErrorCode::InvalidPartitions),
            Code::InvalidArgument
        );
        assert_eq!(
            code_of(RDKafkaErrorCode::InvalidReplicationFactor),
            Code::InvalidArgument
        );
        assert_eq!(
            code_of(RDKafkaErrorCode::LeaderNotAvailable),
            Code::Unavailable
        );
        assert_eq!(code_of(RDKafkaErrorCode::AllBrokersDown), Code::Unavailable);
        assert_eq!(
            code_of(RDKafkaErrorCode::RequestTimedOut),
            Code::DeadlineExceeded
        );
        assert_eq!(
            code_of(RDKafkaErrorCode::MessageTimedOut),
            Code::DeadlineExceeded
        );
        assert_eq!(
            code_of(RDKafkaErrorCode::OffsetOutOfRange),
            Code::OutOfRange
        );
        assert_eq!(
            code_of(RDKafkaErrorCode::RebalanceInProgress),
            Code::Aborted
        );
        assert_eq!(
            code_of(RDKafkaErrorCode::TopicAuthorizationFailed),
            Code::PermissionDenied
        );
    }

    #[test]
    fn statuses_carry_the_kafka_error_and_the_context() {
        let err = ServiceError::kafka(
            "create topic t",
            KafkaError::AdminOp(RDKafkaErrorCode::TopicAlreadyExists),
        );
        let status = Status::from(err);
        assert_eq!(status.code(), Code::AlreadyExists);
        assert!(
            status.message().starts_with("create topic t: "),
            "{}",
            status.message()
        );
        assert!(
            status.message().contains("already exists"),
            "{}",
            status.message()
        );
        let unknown = Status::from(ServiceError::UnknownTopic { topic: "t".into() });
        assert_eq!(unknown.code(), Code::NotFound);
        assert_eq!(unknown.message(), "topic t does not exist");
    }

    #[test]
    fn client_side_failures_are_not_mistaken_for_kafka_codes() {
        assert_eq!(kafka_code(&KafkaError::Canceled), Code::Cancelled);
        assert_eq!(
            kafka_code(&KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)),
            Code::Unavailable
        );
    }
}
