//! `kafka-consumer-groups.sh`: not written yet.

use crate::ToolError;

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let _ = args;
    Err(ToolError::Failed(
        "kafka-consumer-groups.sh is not implemented yet".into(),
    ))
}
