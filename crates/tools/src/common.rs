//! What every tool shares: client configs from `--bootstrap-server` and
//! `--command-config`/`--producer.config` files, property parsing, and error printing.

use std::collections::BTreeMap;
use std::path::Path;

use crate::ToolError;

/// Reads a Java properties file (`--command-config`, `--producer.config`, …).
pub fn read_properties(path: &Path) -> Result<BTreeMap<String, String>, ToolError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ToolError::Usage(format!("Cannot read {}: {e}", path.display())))?;
    let props = java_properties::read(std::io::BufReader::new(file))
        .map_err(|e| ToolError::Usage(format!("Cannot parse {}: {e}", path.display())))?;
    Ok(props.into_iter().collect())
}

/// Parses `key=value` (as given to `--property`, `--producer-property`, `--config`).
pub fn parse_key_value(item: &str) -> Result<(String, String), ToolError> {
    match item.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(ToolError::Usage(format!(
            "Invalid property {item}: expected key=value"
        ))),
    }
}

/// A librdkafka client config with `bootstrap.servers` and any extra properties. Java-only
/// client properties librdkafka does not know are dropped rather than refused, so that
/// configs written for Kafka's tools keep working.
pub fn client_config(bootstrap: &str, extra: &BTreeMap<String, String>) -> rdkafka::ClientConfig {
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", bootstrap);
    for (k, v) in extra {
        if JAVA_ONLY_PROPERTIES.contains(&k.as_str()) {
            continue;
        }
        config.set(k, v);
    }
    config
}

/// Java client properties with no librdkafka equivalent.
const JAVA_ONLY_PROPERTIES: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "buffer.memory",
    "max.block.ms",
    "request.timeout.ms.config",
    "default.api.timeout.ms",
    "exclude.internal.topics",
];

/// A current-thread tokio runtime for a tool's async client calls.
pub fn runtime() -> Result<tokio::runtime::Runtime, ToolError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ToolError::Failed(format!("cannot start the runtime: {e}")))
}

// ---- Shared by the admin tools (topics, configs, get-offsets, delete-records, log-dirs,
// broker-api-versions, dump-log, storage). ----

/// How long an admin tool waits for the broker, like the Java admin client's
/// `default.api.timeout.ms` (which `--command-config` may set; librdkafka ignores it).
pub fn admin_timeout(props: &BTreeMap<String, String>) -> std::time::Duration {
    let ms = props
        .get("default.api.timeout.ms")
        .or_else(|| props.get("request.timeout.ms"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(30_000);
    std::time::Duration::from_millis(ms.max(1))
}

/// Parses a tool's arguments. `--help` prints the usage to stdout and yields `None` (exit
/// 0, as Kafka's tools do); any other problem becomes one `Usage` line, never clap's
/// multi-line report.
pub fn parse_tool_args<T: clap::Parser>(
    script: &str,
    args: Vec<String>,
) -> Result<Option<T>, ToolError> {
    use clap::error::{ContextKind, ErrorKind};
    match T::try_parse_from(std::iter::once(script.to_string()).chain(args)) {
        Ok(parsed) => Ok(Some(parsed)),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                print!("{}", e.render());
                Ok(None)
            }
            ErrorKind::UnknownArgument => {
                let arg = e
                    .get(ContextKind::InvalidArg)
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let arg = arg.trim_start_matches('-');
                Err(ToolError::Usage(format!(
                    "{arg} is not a recognized option"
                )))
            }
            _ => {
                let rendered = e.render().to_string();
                let line = rendered
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("invalid arguments")
                    .trim_start_matches("error: ")
                    .to_string();
                Err(ToolError::Usage(line))
            }
        },
    }
}

/// Kafka's `Missing required argument "[name]"` for a required option not given.
pub fn missing_argument(name: &str) -> ToolError {
    ToolError::Usage(format!("Missing required argument \"[{name}]\""))
}

/// A topic id as Kafka prints it: 16 bytes, URL-safe base64 without padding.
pub fn kafka_uuid_string(id: &uuid::Uuid) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = id.as_bytes();
    let mut out = String::with_capacity(22);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Kafka's internal topics (`Topic.isInternal`).
pub fn is_internal_topic(name: &str) -> bool {
    matches!(
        name,
        "__consumer_offsets" | "__transaction_state" | "__share_group_state"
    )
}

/// Kafka's `IncludeList` topic filter: the `--topic` value is a regular expression that
/// must match the whole name; commas separate alternatives and surrounding quotes are
/// dropped, as in Kafka.
#[derive(Debug, Clone)]
pub struct TopicFilter {
    regex: regex::Regex,
}

impl TopicFilter {
    pub fn new(raw: &str) -> Result<TopicFilter, ToolError> {
        let cleaned = raw.trim().replace(',', "|").replace(' ', "");
        let cleaned = cleaned.trim_start_matches(['"', '\'']);
        let cleaned = cleaned.trim_end_matches(['"', '\'']);
        let regex = regex::Regex::new(&format!("^(?:{cleaned})$"))
            .map_err(|_| ToolError::Usage(format!("{raw} is an invalid regex.")))?;
        Ok(TopicFilter { regex })
    }

    pub fn matches(&self, topic: &str) -> bool {
        self.regex.is_match(topic)
    }
}

/// The Java client's message for a Kafka error: the broker's own text when it sent one,
/// else the standard description of the code. `None` for code 0.
pub fn kafka_error_message(code: i16, message: Option<&str>) -> Option<String> {
    if code == 0 {
        return None;
    }
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        return Some(m.to_string());
    }
    Some(
        match rafka_protocol::error_code::ErrorCode::try_from_code(code) {
            Some(e) => e.description().to_string(),
            None => format!("Unexpected error code: {code}."),
        },
    )
}
