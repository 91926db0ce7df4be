//! How `kafka-reassign-partitions.sh` reports a failure, as Kafka's tool does: the
//! failure type every step of the tool returns.

use crate::common::{JavaIoError, JsonMappingError};
use crate::ToolError;

/// How Kafka's tool reports a failure.
#[derive(Debug)]
pub(super) enum Failure {
    /// Kafka's `TerseException`: the message alone, on stdout.
    Terse(String),
    /// Any other exception: `Error: ` and its message, on stdout.
    Error(String),
    /// Argument errors (printed on stderr by `CommandLineUtils.printUsageAndExit`) and
    /// unreachable brokers, reported as the other tools report them.
    Tool(ToolError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Terse(message) | Failure::Error(message) => f.write_str(message),
            Failure::Tool(error) => error.fmt(f),
        }
    }
}

impl From<ToolError> for Failure {
    fn from(error: ToolError) -> Failure {
        match error {
            ToolError::Failed(message) => Failure::Error(message),
            other => Failure::Tool(other),
        }
    }
}

impl From<JsonMappingError> for Failure {
    fn from(error: JsonMappingError) -> Failure {
        Failure::Error(error.0)
    }
}

impl From<JavaIoError> for Failure {
    fn from(error: JavaIoError) -> Failure {
        Failure::Error(error.message)
    }
}
