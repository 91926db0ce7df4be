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
