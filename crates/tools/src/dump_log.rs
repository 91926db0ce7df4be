//! `kafka-dump-log.sh`: not written yet.

use crate::ToolError;

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let _ = args;
    Err(ToolError::Failed(
        "kafka-dump-log.sh is not implemented yet".into(),
    ))
}
