//! The JDBC source engine: table discovery and task assignment (`discovery`), the
//! per-table readers (`querier`), Confluent's partitions and offsets (`offset`), and the
//! task that polls them (`task`).

pub mod discovery;
pub mod offset;
pub mod querier;
pub mod task;
