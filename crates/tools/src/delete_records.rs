//! `kafka-delete-records.sh`: move partitions' log start offsets forward, deleting the
//! records before them, as listed in Kafka's offset JSON file. Built on librdkafka's
//! DeleteRecords admin call.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Parser;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use crate::common::{
    admin_timeout, client_config, kafka_error_message, missing_argument, parse_tool_args,
    read_properties, runtime,
};
use crate::wire::ensure_reachable;
use crate::ToolError;

#[derive(Debug, Parser)]
#[command(
    name = "kafka-delete-records.sh",
    about = "This tool helps to delete records of the given partitions down to the specified offset.",
    infer_long_args = true,
    disable_version_flag = true
)]
struct Args {
    /// REQUIRED: The server to connect to.
    #[arg(
        long = "bootstrap-server",
        value_name = "server(s) to use for bootstrapping"
    )]
    bootstrap_server: Option<String>,
    /// REQUIRED: The JSON file with offset per partition. The format to use is:
    /// {"partitions": [{"topic": "foo", "partition": 1, "offset": 1}], "version":1}
    #[arg(long = "offset-json-file", value_name = "Offset json file path")]
    offset_json_file: Option<PathBuf>,
    /// A property file containing configs to be passed to Admin Client.
    #[arg(
        long = "command-config",
        value_name = "command config property file path"
    )]
    command_config: Option<PathBuf>,
}

/// The partitions and offsets of Kafka's offset JSON (version 1), in file order; a
/// partition listed twice is refused, as Kafka does.
fn parse_offset_json(text: &str) -> Result<Vec<(String, i32, i64)>, ToolError> {
    let failed = |m: &str| ToolError::Failed(m.to_string());
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|_| failed("The input string is not a valid JSON"))?;
    let version = match json.get("version") {
        None => 1,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| failed("Expected `version` to be an integer"))?,
    };
    if version != 1 {
        return Err(failed(&format!(
            "Not supported version field value {version}"
        )));
    }
    let partitions = json
        .get("partitions")
        .ok_or_else(|| failed("Missing partitions field"))?
        .as_array()
        .ok_or_else(|| failed("Expected `partitions` to be an array"))?;
    let mut out: Vec<(String, i32, i64)> = Vec::new();
    let mut duplicates: Vec<String> = Vec::new();
    for entry in partitions {
        let topic = entry
            .get("topic")
            .and_then(|t| t.as_str())
            .ok_or_else(|| failed("No such field exists: `topic`"))?;
        let partition = entry
            .get("partition")
            .and_then(|p| p.as_i64())
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| failed("No such field exists: `partition`"))?;
        let offset = entry
            .get("offset")
            .and_then(|o| o.as_i64())
            .ok_or_else(|| failed("No such field exists: `offset`"))?;
        if out.iter().any(|(t, p, _)| t == topic && *p == partition) {
            let name = format!("{topic}-{partition}");
            if !duplicates.contains(&name) {
                duplicates.push(name);
            }
            continue;
        }
        out.push((topic.to_string(), partition, offset));
    }
    if !duplicates.is_empty() {
        return Err(failed(&format!(
            "Offset json file contains duplicate topic partitions: {}",
            duplicates.join(",")
        )));
    }
    Ok(out)
}

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let Some(args) = parse_tool_args::<Args>("kafka-delete-records.sh", args)? else {
        return Ok(());
    };
    let Some(bootstrap) = args.bootstrap_server.clone() else {
        return Err(missing_argument("bootstrap-server"));
    };
    let Some(json_path) = args.offset_json_file.clone() else {
        return Err(missing_argument("offset-json-file"));
    };
    let text = std::fs::read_to_string(&json_path)
        .map_err(|e| ToolError::Failed(format!("{}: {e}", json_path.display())))?;
    let offsets = parse_offset_json(&text)?;
    let props = match &args.command_config {
        Some(path) => read_properties(path)?,
        None => BTreeMap::new(),
    };
    crate::common::use_command_config(&props)?;
    let timeout = admin_timeout(&props);
    ensure_reachable(&bootstrap, timeout)?;

    let mut list = TopicPartitionList::new();
    for (topic, partition, offset) in &offsets {
        // -1 means "up to the high watermark" for both Kafka and librdkafka.
        list.add_partition_offset(topic, *partition, Offset::from_raw(*offset))
            .map_err(|e| ToolError::Failed(e.to_string()))?;
    }
    let admin: AdminClient<DefaultClientContext> = client_config(&bootstrap, &props)?
        .create()
        .map_err(|e| ToolError::Failed(format!("cannot create the admin client: {e}")))?;
    let options = AdminOptions::new()
        .request_timeout(Some(timeout))
        .operation_timeout(Some(timeout));
    println!("Executing records delete operation");
    let result = runtime()?
        .block_on(async {
            tokio::time::timeout(timeout, admin.delete_records(&list, &options)).await
        })
        .map_err(|_| ToolError::Failed("Timed out waiting for a node assignment.".into()))?;
    println!("Records delete operation completed:");
    let mut lines: Vec<(String, i32, String)> = Vec::new();
    match result {
        Ok(done) => {
            for elem in done.elements() {
                let outcome = match (elem.error(), elem.offset()) {
                    (Err(e), _) => format!("error: {}", error_text(&e)),
                    (Ok(()), offset) => {
                        format!("low_watermark: {}", offset.to_raw().unwrap_or(-1))
                    }
                };
                lines.push((elem.topic().to_string(), elem.partition(), outcome));
            }
        }
        // The whole request failed: every partition carries that error, as in Kafka.
        Err(e) => {
            for (topic, partition, _) in &offsets {
                lines.push((
                    topic.clone(),
                    *partition,
                    format!("error: {}", error_text(&e)),
                ));
            }
        }
    }
    lines.sort();
    for (topic, partition, outcome) in lines {
        println!("partition: {topic}-{partition}\t{outcome}");
    }
    Ok(())
}

/// Kafka's text for a broker error code carried by a librdkafka error.
fn error_text(error: &KafkaError) -> String {
    error
        .rdkafka_error_code()
        .and_then(|code| kafka_error_message(code as i16, None).filter(|_| (code as i32) > 0))
        .unwrap_or_else(|| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_json_parses_kafkas_format() {
        let text = r#"{"partitions":[{"topic":"t","partition":0,"offset":5},{"topic":"t","partition":1,"offset":-1}],"version":1}"#;
        assert_eq!(
            parse_offset_json(text).unwrap(),
            vec![("t".into(), 0, 5), ("t".into(), 1, -1)]
        );
    }

    #[test]
    fn offset_json_refuses_bad_input_with_kafkas_messages() {
        let message = |text: &str| parse_offset_json(text).unwrap_err().to_string();
        assert_eq!(message("{"), "The input string is not a valid JSON");
        assert_eq!(message(r#"{"version":1}"#), "Missing partitions field");
        assert_eq!(
            message(r#"{"version":2,"partitions":[]}"#),
            "Not supported version field value 2"
        );
        assert_eq!(
            message(
                r#"{"partitions":[{"topic":"t","partition":0,"offset":1},{"topic":"t","partition":0,"offset":2}]}"#
            ),
            "Offset json file contains duplicate topic partitions: t-0"
        );
    }
}
