//! `kafka-configs.sh`: not written yet.

use crate::ToolError;

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let _ = args;
    Err(ToolError::Failed(
        "kafka-configs.sh is not implemented yet".into(),
    ))
}
