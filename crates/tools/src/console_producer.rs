//! `kafka-console-producer.sh`: not written yet.

use crate::ToolError;

pub fn run(args: Vec<String>) -> Result<(), ToolError> {
    let _ = args;
    Err(ToolError::Failed(
        "kafka-console-producer.sh is not implemented yet".into(),
    ))
}
