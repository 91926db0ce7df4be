//! The proxy's error answers: `{"error_code":N,"message":"…"}` with Confluent's codes
//! (`Errors.java`) and Kafka's errors mapped as rest-utils' `KafkaExceptionMapper` maps
//! them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rafka_protocol::error_code::ErrorCode;

/// An error answer: the HTTP status and Confluent's finer `error_code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_code}: {message}")]
pub struct RestError {
    pub status: StatusCode,
    pub error_code: u32,
    pub message: String,
}

/// rest-utils' codes for Kafka's errors (`KafkaExceptionMapper`).
pub const KAFKA_BAD_REQUEST_ERROR_CODE: u32 = 40002;
pub const KAFKA_ERROR_ERROR_CODE: u32 = 50002;
pub const KAFKA_RETRIABLE_ERROR_ERROR_CODE: u32 = 50003;

impl RestError {
    pub fn new(status: StatusCode, error_code: u32, message: impl Into<String>) -> RestError {
        RestError {
            status,
            error_code,
            message: message.into(),
        }
    }

    /// An error whose `error_code` is its HTTP status, as Jersey's own errors are.
    pub fn http(status: StatusCode, message: impl Into<String>) -> RestError {
        RestError::new(status, u32::from(status.as_u16()), message)
    }

    pub fn topic_not_found() -> RestError {
        RestError::new(StatusCode::NOT_FOUND, 40401, "Topic not found.")
    }

    pub fn partition_not_found() -> RestError {
        RestError::new(StatusCode::NOT_FOUND, 40402, "Partition not found.")
    }

    pub fn consumer_instance_not_found() -> RestError {
        RestError::new(StatusCode::NOT_FOUND, 40403, "Consumer instance not found.")
    }

    pub fn consumer_already_exists() -> RestError {
        RestError::new(
            StatusCode::CONFLICT,
            40902,
            "Consumer with specified consumer ID already exists in the specified consumer group.",
        )
    }

    pub fn illegal_state(detail: &str) -> RestError {
        RestError::new(
            StatusCode::CONFLICT,
            40903,
            format!("Illegal state: {detail}"),
        )
    }

    pub fn consumer_format_mismatch() -> RestError {
        RestError::new(
            StatusCode::NOT_ACCEPTABLE,
            40601,
            "The requested embedded data format does not match the deserializer for this consumer instance",
        )
    }

    pub fn invalid_consumer_config(detail: &str) -> RestError {
        RestError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            42204,
            format!("Invalid consumer configuration: {detail}"),
        )
    }

    /// A body that parses as JSON but does not fit the request's shape (Jackson's
    /// `JsonMappingException`, which rest-utils answers with 422).
    pub fn unprocessable(message: impl Into<String>) -> RestError {
        RestError::http(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    pub fn bad_request(message: impl Into<String>) -> RestError {
        RestError::http(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found() -> RestError {
        RestError::http(StatusCode::NOT_FOUND, "HTTP 404 Not Found")
    }

    pub fn method_not_allowed() -> RestError {
        RestError::http(
            StatusCode::METHOD_NOT_ALLOWED,
            "HTTP 405 Method Not Allowed",
        )
    }

    pub fn unsupported_media_type() -> RestError {
        RestError::http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "HTTP 415 Unsupported Media Type",
        )
    }

    pub fn not_acceptable() -> RestError {
        RestError::http(StatusCode::NOT_ACCEPTABLE, "HTTP 406 Not Acceptable")
    }

    /// A Kafka error code with its message, as `KafkaExceptionMapper` answers it.
    pub fn kafka(code: i16, message: &str) -> RestError {
        let error = ErrorCode::try_from_code(code);
        let (status, error_code) = match error {
            Some(ErrorCode::UnknownTopicOrPartition | ErrorCode::UnknownTopicId) => {
                (StatusCode::NOT_FOUND, 40403)
            }
            Some(ErrorCode::BrokerNotAvailable) => (StatusCode::SERVICE_UNAVAILABLE, 50302),
            Some(ErrorCode::MessageTooLarge) => (StatusCode::PAYLOAD_TOO_LARGE, 413),
            Some(ErrorCode::ThrottlingQuotaExceeded) => (StatusCode::TOO_MANY_REQUESTS, 42901),
            Some(
                ErrorCode::InvalidReplicationFactor
                | ErrorCode::SecurityDisabled
                | ErrorCode::UnsupportedVersion
                | ErrorCode::InvalidPartitions
                | ErrorCode::InvalidRequest
                | ErrorCode::UnknownServerError
                | ErrorCode::PolicyViolation
                | ErrorCode::TopicAlreadyExists
                | ErrorCode::InvalidConfig
                | ErrorCode::TopicDeletionDisabled
                | ErrorCode::InvalidTopicException,
            ) => (StatusCode::BAD_REQUEST, KAFKA_BAD_REQUEST_ERROR_CODE),
            Some(
                ErrorCode::SaslAuthenticationFailed
                | ErrorCode::IllegalSaslState
                | ErrorCode::UnsupportedSaslMechanism,
            ) => (StatusCode::UNAUTHORIZED, 40101),
            Some(
                ErrorCode::TopicAuthorizationFailed
                | ErrorCode::GroupAuthorizationFailed
                | ErrorCode::ClusterAuthorizationFailed
                | ErrorCode::TransactionalIdAuthorizationFailed
                | ErrorCode::DelegationTokenAuthorizationFailed,
            ) => (StatusCode::FORBIDDEN, 40301),
            Some(e) if e.is_retriable() => (
                StatusCode::INTERNAL_SERVER_ERROR,
                KAFKA_RETRIABLE_ERROR_ERROR_CODE,
            ),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, KAFKA_ERROR_ERROR_CODE),
        };
        RestError::new(status, error_code, message)
    }

    /// A client-side failure (no broker reachable, a broken exchange): Kafka's
    /// `TimeoutException` is retriable, anything else a plain Kafka error.
    pub fn client(err: &rafka_client::ClientError) -> RestError {
        let code = if err.is_unreachable() {
            KAFKA_RETRIABLE_ERROR_ERROR_CODE
        } else {
            KAFKA_ERROR_ERROR_CODE
        };
        RestError::new(StatusCode::INTERNAL_SERVER_ERROR, code, err.to_string())
    }

    /// The JSON body of the error.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error_code": self.error_code, "message": self.message})
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_map_as_rest_utils_maps_them() {
        let exists = RestError::kafka(36, "Topic 't' already exists.");
        assert_eq!(
            (exists.status, exists.error_code),
            (StatusCode::BAD_REQUEST, 40002)
        );
        let unknown = RestError::kafka(3, "unknown");
        assert_eq!(
            (unknown.status, unknown.error_code),
            (StatusCode::NOT_FOUND, 40403)
        );
        // NOT_LEADER_OR_FOLLOWER is retriable; RECORD_LIST_TOO_LARGE is not.
        assert_eq!(RestError::kafka(6, "").error_code, 50003);
        assert_eq!(RestError::kafka(18, "").error_code, 50002);
        let too_large = RestError::kafka(10, "too large");
        assert_eq!(
            (too_large.status, too_large.error_code),
            (StatusCode::PAYLOAD_TOO_LARGE, 413)
        );
        assert_eq!(
            RestError::kafka(100, "").error_code,
            40403,
            "unknown topic id"
        );
        assert_eq!(RestError::kafka(89, "").error_code, 42901, "throttled");
        assert_eq!(RestError::kafka(17, "").error_code, 40002, "invalid topic");
        assert_eq!(
            RestError::kafka(53, "").error_code,
            40301,
            "transactional id"
        );
    }
}
