//! The runtime's errors, and how the REST API answers them (Kafka's
//! `ConnectExceptionMapper`: `{"error_code","message"}` with the HTTP status).

/// A failure the herder reports; each maps to the HTTP status Kafka's REST API sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// A bad worker config: the worker does not start.
    #[error("{0}")]
    Config(String),
    /// Kafka's `NotFoundException` (404).
    #[error("{0}")]
    NotFound(String),
    /// Kafka's `AlreadyExistsException` (409).
    #[error("{0}")]
    AlreadyExists(String),
    /// Kafka's `BadRequestException` and invalid connector configs (400).
    #[error("{0}")]
    BadRequest(String),
    /// Kafka's `ConnectRestException` with 409 (e.g. a rebalance is under way).
    #[error("{0}")]
    Conflict(String),
    /// Anything else (500).
    #[error("{0}")]
    Internal(String),
    /// Kafka's `RequestTargetException` (`NotLeaderException`, `NotAssignedException`):
    /// another worker must serve the request, at `url` when known. The REST layer
    /// forwards the request there (409 when it may not forward any more).
    #[error("{message}")]
    Forward {
        message: String,
        url: Option<String>,
    },
    /// Kafka's 403 for an internal request whose signature does not verify.
    #[error("{0}")]
    Forbidden(String),
}

impl RuntimeError {
    /// The HTTP status Kafka answers this error with.
    pub fn status_code(&self) -> u16 {
        match self {
            RuntimeError::NotFound(_) => 404,
            RuntimeError::AlreadyExists(_)
            | RuntimeError::Conflict(_)
            | RuntimeError::Forward { .. } => 409,
            RuntimeError::Forbidden(_) => 403,
            RuntimeError::BadRequest(_) | RuntimeError::Config(_) => 400,
            RuntimeError::Internal(_) => 500,
        }
    }
}
