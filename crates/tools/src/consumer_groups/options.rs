//! The command line of `kafka-consumer-groups.sh` (Kafka's flags, as its
//! `ConsumerGroupCommandOptions` names them), the groups it selects, and Kafka's
//! `printError`: what every action of the tool shares.

use std::path::PathBuf;

use clap::Parser;

use super::admin::Admin;
use crate::ToolError;

#[derive(Debug, Parser)]
#[command(
    name = "kafka-consumer-groups.sh",
    about = "This tool helps to list all consumer groups, describe a consumer group, delete \
             consumer group info, or reset consumer group offsets.",
    infer_long_args = true,
    disable_version_flag = true
)]
pub(super) struct Args {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long = "bootstrap-server", value_name = "server to connect to")]
    pub(super) bootstrap_server: Option<String>,
    /// The consumer group we wish to act on.
    #[arg(long, value_name = "consumer group")]
    pub(super) group: Vec<String>,
    /// The topic whose consumer group information should be deleted or topic whose should
    /// be included in the reset offset process. In `reset-offsets` case, partitions can be
    /// specified using this format: `topic1:0,1,2`.
    #[arg(long, value_name = "topic")]
    pub(super) topic: Vec<String>,
    /// Consider all topics assigned to a group in the `reset-offsets` process.
    #[arg(long = "all-topics")]
    pub(super) all_topics: bool,
    /// List all consumer groups.
    #[arg(long)]
    pub(super) list: bool,
    /// Describe consumer group and list offset lag (number of messages not yet processed)
    /// related to given group.
    #[arg(long)]
    pub(super) describe: bool,
    /// Apply to all consumer groups.
    #[arg(long = "all-groups")]
    pub(super) all_groups: bool,
    /// Pass in groups to delete topic partition offsets and ownership information over the
    /// entire consumer group. For instance --group g1 --group g2
    #[arg(long)]
    pub(super) delete: bool,
    /// The timeout that can be set for some use cases.
    #[arg(long, value_name = "timeout (ms)", allow_hyphen_values = true)]
    pub(super) timeout: Option<String>,
    /// Property file containing configs to be passed to Admin Client and Consumer.
    #[arg(long = "command-config", value_name = "command config property file")]
    pub(super) command_config: Option<PathBuf>,
    /// Reset offsets of consumer group. Supports one consumer group at the time, and
    /// instances should be inactive.
    #[arg(long = "reset-offsets")]
    pub(super) reset_offsets: bool,
    /// Delete offsets of consumer group. Supports one consumer group at the time, and
    /// multiple topics.
    #[arg(long = "delete-offsets")]
    pub(super) delete_offsets: bool,
    /// Validate that the syntax of a regular expression is valid.
    #[arg(long = "validate-regex", value_name = "regex")]
    pub(super) validate_regex: Option<String>,
    /// Only show results without executing changes on Consumer Groups. Supported
    /// operations: reset-offsets.
    #[arg(long = "dry-run")]
    pub(super) dry_run: bool,
    /// Execute operation. Supported operations: reset-offsets.
    #[arg(long)]
    pub(super) execute: bool,
    /// Export operation execution to a CSV file. Supported operations: reset-offsets.
    #[arg(long)]
    pub(super) export: bool,
    /// Reset offsets to a specific offset.
    #[arg(
        long = "to-offset",
        value_name = "offset",
        allow_negative_numbers = true
    )]
    pub(super) to_offset: Option<String>,
    /// Reset offsets to values defined in CSV file.
    #[arg(long = "from-file", value_name = "path to CSV file")]
    pub(super) from_file: Option<PathBuf>,
    /// Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'
    #[arg(long = "to-datetime", value_name = "datetime")]
    pub(super) to_datetime: Option<String>,
    /// Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'
    #[arg(
        long = "by-duration",
        value_name = "duration",
        allow_hyphen_values = true
    )]
    pub(super) by_duration: Option<String>,
    /// Reset offsets to earliest offset.
    #[arg(long = "to-earliest")]
    pub(super) to_earliest: bool,
    /// Reset offsets to latest offset.
    #[arg(long = "to-latest")]
    pub(super) to_latest: bool,
    /// Reset offsets to current offset.
    #[arg(long = "to-current")]
    pub(super) to_current: bool,
    /// Reset offsets shifting current offset by 'n', where 'n' can be positive or negative.
    #[arg(
        long = "shift-by",
        value_name = "number-of-offsets",
        allow_negative_numbers = true
    )]
    pub(super) shift_by: Option<String>,
    /// Describe members of the group.
    #[arg(long)]
    pub(super) members: bool,
    /// Provide additional information, if any, when describing the group.
    #[arg(long)]
    pub(super) verbose: bool,
    /// Describe the group and list all topic partitions in the group along with their
    /// offset lag. This is the default sub-action of '--describe'.
    #[arg(long)]
    pub(super) offsets: bool,
    /// With '--describe', includes the state of the group; with '--list', displays the
    /// state of all groups, or only those of the given states (e.g. stable,empty).
    #[arg(long, num_args = 0..=1, value_name = "state")]
    pub(super) state: Option<Option<String>>,
    /// With '--list', displays the types of all the groups, or only those of the given
    /// types (e.g. classic,consumer).
    #[arg(long = "type", num_args = 0..=1, value_name = "type")]
    pub(super) group_type: Option<Option<String>>,
}

impl Args {
    /// `--timeout`, 5000 ms by default.
    pub(super) fn timeout_ms(&self) -> Result<i64, ToolError> {
        Ok(long_value(self.timeout.as_deref(), "timeout")?.unwrap_or(5000))
    }

    pub(super) fn to_offset_value(&self) -> Result<Option<i64>, ToolError> {
        long_value(self.to_offset.as_deref(), "to-offset")
    }

    pub(super) fn shift_by_value(&self) -> Result<Option<i64>, ToolError> {
        long_value(self.shift_by.as_deref(), "shift-by")
    }
}

/// A numeric option, with jopt-simple's message when it is not a number (clap's differs).
fn long_value(raw: Option<&str>, option: &str) -> Result<Option<i64>, ToolError> {
    raw.map(|v| {
        v.trim().parse::<i64>().map_err(|_| {
            ToolError::Usage(format!("Cannot parse argument '{v}' of option {option}"))
        })
    })
    .transpose()
}

/// The ids of the group(s) an action applies to: `--group`s, or all consumer groups.
pub(super) async fn selected_groups(
    admin: &mut Admin,
    args: &Args,
) -> Result<Vec<String>, ToolError> {
    if args.all_groups {
        Ok(admin
            .list_groups(&[])
            .await?
            .into_iter()
            .map(|g| g.group_id)
            .collect())
    } else {
        Ok(args.group.clone())
    }
}

/// Kafka's `printError`: a blank line, then `Error: …`, on standard output.
pub(super) fn print_error(message: &str) {
    println!("\nError: {message}");
}
