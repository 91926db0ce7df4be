//! What exactly-once source support (KIP-618) shares between the worker, which runs the
//! transactional tasks (`worker::exactly_once`), the herder, which fences and checks them,
//! and connector validation: the keys, Kafka's transactional ids, the task's checks.

use std::fmt;
use std::sync::Arc;

use rafka_connect_data::connector::{BoxFuture, ConnectorError, Props};

pub const TRANSACTION_BOUNDARY: &str = "transaction.boundary";
pub const TRANSACTION_BOUNDARY_INTERVAL_MS: &str = "transaction.boundary.interval.ms";

/// Kafka's `Worker.taskTransactionalId`.
pub fn task_transactional_id(group_id: &str, connector: &str, task: usize) -> String {
    format!("{group_id}-{connector}-{task}")
}

/// A check the herder runs for the task before (fencing) or after (generation and
/// ownership) the transactional producer is initialized; an `Err` fails the task.
pub type TaskCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), ConnectorError>> + Send + Sync>;

/// What an exactly-once source task needs besides a regular one.
#[derive(Clone)]
pub struct ExactlyOnce {
    pub transactional_id: String,
    /// Kafka's `preProducerCheck`: the round of zombie fencing.
    pub pre_producer_check: TaskCheck,
    /// Kafka's `postProducerCheck`: `verifyTaskGenerationAndOwnership`.
    pub post_producer_check: TaskCheck,
}

impl fmt::Debug for ExactlyOnce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExactlyOnce")
            .field("transactional_id", &self.transactional_id)
            .finish()
    }
}

/// Kafka's `SourceTask.TransactionBoundary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionBoundary {
    Poll,
    Interval,
    Connector,
}

impl TransactionBoundary {
    /// `transaction.boundary` of a connector config (case-insensitive, `poll` when
    /// absent, as Kafka's `fromProperty`).
    pub fn from_config(config: &Props) -> Result<TransactionBoundary, ConnectorError> {
        let value = config
            .get(TRANSACTION_BOUNDARY)
            .map(|v| v.trim().to_ascii_lowercase());
        match value.as_deref() {
            None | Some("poll") => Ok(TransactionBoundary::Poll),
            Some("interval") => Ok(TransactionBoundary::Interval),
            Some("connector") => Ok(TransactionBoundary::Connector),
            Some(other) => Err(ConnectorError::fatal(format!(
                "Invalid value {other} for configuration {TRANSACTION_BOUNDARY}: String must be one of (case insensitive): POLL, INTERVAL, CONNECTOR"
            ))),
        }
    }
}

/// An exactly-once task's transaction: whether one is open, and where its offsets go.
#[derive(Debug)]
pub(crate) struct Transaction {
    pub(crate) open: bool,
    pub(crate) offsets_topic: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transactional_ids_are_kafkas() {
        assert_eq!(
            task_transactional_id("connect-cluster", "my-src", 3),
            "connect-cluster-my-src-3"
        );
    }

    #[test]
    fn transaction_boundary_reads_kafkas_values() {
        let config = |v: &str| -> Props {
            [(TRANSACTION_BOUNDARY.to_string(), v.to_string())]
                .into_iter()
                .collect()
        };
        assert_eq!(
            TransactionBoundary::from_config(&Props::new()).ok(),
            Some(TransactionBoundary::Poll)
        );
        assert_eq!(
            TransactionBoundary::from_config(&config("INTERVAL")).ok(),
            Some(TransactionBoundary::Interval)
        );
        assert_eq!(
            TransactionBoundary::from_config(&config("connector")).ok(),
            Some(TransactionBoundary::Connector)
        );
        assert!(TransactionBoundary::from_config(&config("batch")).is_err());
    }
}
