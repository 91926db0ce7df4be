//! `kafka-topics.sh`: not written yet.

use crate::ToolError;

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let _ = args;
    Err(ToolError::Failed(
        "kafka-topics.sh is not implemented yet".into(),
    ))
}
