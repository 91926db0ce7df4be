//! `kafka-broker-api-versions.sh`: not written yet.

use crate::ToolError;

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let _ = args;
    Err(ToolError::Failed(
        "kafka-broker-api-versions.sh is not implemented yet".into(),
    ))
}
