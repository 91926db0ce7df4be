//! The `kafka-*.sh` command-line tools, as subcommands of the `rafka` binary. They are
//! Kafka *clients*: built on librdkafka (the `rdkafka` crate) where it has the call, and
//! on rafka's raw-request client (`rafka-client`) where it does not. They never reach
//! into the broker's internals, so every tool run is also a test of the broker.
//!
//! Each tool parses Kafka's own flags and prints what Kafka's tool prints.

use std::process::ExitCode;

mod error;

pub mod argparse;
pub mod common;
pub mod java_order;
pub mod wire;

pub mod acls;
pub mod broker_api_versions;
pub mod configs;
pub mod console_consumer;
pub mod console_producer;
pub mod console_share_consumer;
pub mod consumer_groups;
pub mod consumer_perf_test;
pub mod delete_records;
pub mod dump_log;
pub mod e2e_latency;
pub mod get_offsets;
pub mod leader_election;
pub mod log_dirs;
pub mod metadata_quorum;
pub mod producer_perf_test;
pub mod reassign_partitions;
pub mod share_consumer;
pub mod share_groups;
pub mod storage;
pub mod topics;
pub mod transactions;

pub use error::ToolError;

/// The tools, by the name of Kafka's script without `kafka-` and `.sh`.
pub const TOOLS: &[&str] = &[
    "topics",
    "console-producer",
    "console-consumer",
    "configs",
    "acls",
    "get-offsets",
    "delete-records",
    "log-dirs",
    "broker-api-versions",
    "dump-log",
    "storage",
    "consumer-groups",
    "producer-perf-test",
    "consumer-perf-test",
    "e2e-latency",
    "leader-election",
    "reassign-partitions",
    "metadata-quorum",
    "transactions",
    "console-share-consumer",
    "share-groups",
];

/// Runs tool `name` with `args` (not including the tool name). Returns the exit code.
pub fn run(name: &str, args: Vec<String>) -> ExitCode {
    let result = match name {
        "topics" => topics::run(args),
        "console-producer" => console_producer::run(args),
        "console-consumer" => console_consumer::run(args),
        "configs" => configs::run(args),
        "acls" => acls::run(args),
        "get-offsets" => get_offsets::run(args),
        "delete-records" => delete_records::run(args),
        "log-dirs" => log_dirs::run(args),
        "broker-api-versions" => broker_api_versions::run(args),
        "dump-log" => dump_log::run(args),
        "storage" => storage::run(args),
        "consumer-groups" => consumer_groups::run(args),
        "producer-perf-test" => producer_perf_test::run(args),
        "consumer-perf-test" => consumer_perf_test::run(args),
        "e2e-latency" => e2e_latency::run(args),
        "leader-election" => leader_election::run(args),
        "reassign-partitions" => reassign_partitions::run(args),
        "metadata-quorum" => metadata_quorum::run(args),
        "transactions" => transactions::run(args),
        "console-share-consumer" => console_share_consumer::run(args),
        "share-groups" => share_groups::run(args),
        other => Err(ToolError::Usage(format!("unknown tool {other}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(ToolError::Reported(line)) => {
            if !line.is_empty() {
                eprintln!("{line}");
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(1)
        }
    }
}
