//! `kafka-delete-records.sh`: not written yet.

use crate::ToolError;

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let _ = args;
    Err(ToolError::Failed(
        "kafka-delete-records.sh is not implemented yet".into(),
    ))
}
