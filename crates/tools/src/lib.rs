//! The `kafka-*.sh` command-line tools, as subcommands of the `rafka` binary. They are
//! Kafka *clients*: built on librdkafka (the `rdkafka` crate) where it has the call, and
//! on rafka's protocol crate (`wire`) where it does not. They never reach into the
//! broker's internals, so every tool run is also a test of the broker.
//!
//! Each tool parses Kafka's own flags and prints what Kafka's tool prints.

use std::process::ExitCode;

pub mod common;
pub mod wire;

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
}

/// The tools, by the name of Kafka's script without `kafka-` and `.sh`.
pub const TOOLS: &[&str] = &[];

/// Runs tool `name` with `args` (not including the tool name). Returns the exit code.
pub fn run(name: &str, args: Vec<String>) -> ExitCode {
    let _ = args;
    eprintln!("unknown tool {name}");
    ExitCode::from(1)
}
