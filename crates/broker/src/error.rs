//! The broker's errors: what a client is answered (`ApiError`, Kafka's error code and
//! message) and why start-up failed (`StartupError`).

use std::path::PathBuf;

use rafka_log::LogError;
use rafka_metadata::controller::Refusal;
use rafka_protocol::ErrorCode;

use crate::storage::StorageError;

/// A client-visible failure: Kafka's error code and, where the API carries one, a message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Option<String>,
    /// Produce's per-record errors (KIP-467): (index of the record in its batch, why).
    pub record_errors: Vec<(i32, String)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: Some(message.into()),
            record_errors: Vec::new(),
        }
    }

    pub fn code(code: ErrorCode) -> ApiError {
        ApiError {
            code,
            message: None,
            record_errors: Vec::new(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{:?}: {m}", self.code),
            None => write!(f, "{:?}", self.code),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        api_error(r.code, r.message)
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> ApiError {
        if let LogError::RecordErrors {
            message,
            record_errors,
        } = e
        {
            return ApiError {
                code: ErrorCode::InvalidRecord,
                message: Some(message),
                record_errors,
            };
        }
        let code = match &e {
            LogError::OffsetOutOfRange { .. } => ErrorCode::OffsetOutOfRange,
            LogError::CorruptRecord(_) => ErrorCode::CorruptMessage,
            LogError::RecordTooLarge { .. } => ErrorCode::MessageTooLarge,
            LogError::InvalidRecord(_) => ErrorCode::InvalidRecord,
            LogError::UndecodableRecords(_) => ErrorCode::UnknownServerError,
            LogError::OutOfOrderSequence(_) => ErrorCode::OutOfOrderSequenceNumber,
            LogError::InvalidProducerEpoch(_) => ErrorCode::InvalidProducerEpoch,
            LogError::InvalidTxnState(_) => ErrorCode::InvalidTxnState,
            LogError::CoordinatorFenced(_) => ErrorCode::TransactionCoordinatorFenced,
            _ => ErrorCode::KafkaStorageError,
        };
        ApiError::new(code, e.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("cannot open the log of {partition} in {path}: {source}")]
    Log {
        partition: String,
        path: PathBuf,
        source: LogError,
    },
    #[error("{0}")]
    Config(String),
}

/// A controller refusal's raw error code as the client's error (unknown codes: UNKNOWN_SERVER_ERROR).
pub fn api_error(code: i16, message: String) -> ApiError {
    let code = kafka_protocol::error::ResponseError::try_from_code(code)
        .unwrap_or(ErrorCode::UnknownServerError);
    ApiError::new(code, message)
}
