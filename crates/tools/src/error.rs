//! The one error type of every tool: how a failed run is reported.

/// A tool's failure, printed as one line, Kafka-style, with exit status 1.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Bad or missing command-line arguments.
    #[error("{0}")]
    Usage(String),
    /// No broker could be reached.
    #[error("could not connect to the broker: {0}")]
    Unreachable(String),
    /// The operation failed; the text is what Kafka's tool would print.
    #[error("{0}")]
    Failed(String),
    /// The exact line(s) Kafka's tool prints on this failure (e.g. `Error while executing
    /// topic command : …`), printed as is, without the `Error: ` prefix; empty when the
    /// tool already printed everything and only the exit status is left.
    #[error("{0}")]
    Reported(String),
}
