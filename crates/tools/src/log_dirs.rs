//! `kafka-log-dirs.sh`: not written yet.

use crate::ToolError;

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let _ = args;
    Err(ToolError::Failed(
        "kafka-log-dirs.sh is not implemented yet".into(),
    ))
}
