//! Exactly-once source tasks (KIP-618, Kafka's `ExactlyOnceWorkerSourceTask`).
//!
//! The task's producer is transactional, `transactional.id` = `<group.id>-<connector>-<task>`
//! (Kafka's `Worker.taskTransactionalId`). A task's records and the source offsets they
//! reach are written in one transaction: the offsets go to the worker's offsets topic
//! (Kafka's key/value format, murmur2-partitioned as Java's producer does) through that
//! same producer, so a reader with `isolation.level=read_committed` sees either both or
//! neither. Transactions end per `transaction.boundary`: after every non-empty `poll`
//! batch (`poll`), or once `transaction.boundary.interval.ms` passed (`interval`, default
//! `offset.flush.interval.ms`). `connector` (boundaries the connector defines through a
//! `TransactionContext`) is rejected at validation: no built-in connector can define
//! them, and the connector traits offer no `TransactionContext`.
//!
//! Startup, in Kafka's order: the pre-producer check (the herder's round of zombie
//! fencing: the previous generation's transactional ids are fenced before this
//! generation writes), `initTransactions` (which also fences an older instance of this
//! very id and aborts its open transaction), the post-producer check (the task's config
//! generation is still current and the task still assigned here), then the offsets topic
//! is read to its end, read_committed, before the task starts.
//!
//! A producer fenced by a newer generation fails its `commit_transaction`: the task fails
//! and its uncommitted records are never visible to read_committed consumers.

use rdkafka::producer::Producer;

use super::*;
use crate::exactly_once::{
    ExactlyOnce, Transaction, TransactionBoundary, TRANSACTION_BOUNDARY_INTERVAL_MS,
};

/// How long `initTransactions` / `commitTransaction` may take (Kafka's `max.block.ms`
/// default).
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

fn transaction_error(what: &str, error: rdkafka::error::KafkaError) -> ConnectorError {
    ConnectorError::fatal(format!("{what}: {error}"))
}

/// Runs a blocking call of the producer's transactional API off the runtime's threads.
async fn blocking<T: Send + 'static>(
    producer: &FutureProducer,
    call: impl FnOnce(&FutureProducer) -> T + Send + 'static,
) -> Result<T, ConnectorError> {
    let producer = producer.clone();
    tokio::task::spawn_blocking(move || call(&producer))
        .await
        .map_err(|e| ConnectorError::fatal(format!("producer call panicked: {e}")))
}

impl Worker {
    /// Kafka's `exactlyOnceSourceTaskProducerConfigs`: the source producer's keys with
    /// idempotence and the transactional id forced, murmur2 partitioning (Java's, which
    /// the offset records need) unless overridden.
    fn transactional_producer(
        &self,
        setup: &TaskSetup,
        transactional_id: &str,
    ) -> Result<FutureProducer, ConnectorError> {
        self.producer_with(
            &format!("connector-producer-{}-{}", setup.connector, setup.task),
            &setup.connector_config,
            &[("partitioner", "murmur2_random")],
            &[
                ("enable.idempotence", "true"),
                ("transactional.id", transactional_id),
            ],
        )
    }

    pub(super) async fn exactly_once_loop(
        &self,
        setup: &TaskSetup,
        exactly_once: &ExactlyOnce,
        task: &mut dyn SourceTask,
        control: &mut watch::Receiver<TargetState>,
    ) -> Result<(), ConnectorError> {
        let boundary = TransactionBoundary::from_config(&setup.connector_config)?;
        if boundary == TransactionBoundary::Connector {
            return Err(ConnectorError::fatal(
                "The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition.",
            ));
        }
        let interval_ms = match setup.connector_config.get(TRANSACTION_BOUNDARY_INTERVAL_MS) {
            Some(v) => v.trim().parse::<u64>().map_err(|_| {
                ConnectorError::fatal(format!(
                    "Invalid value {v} for configuration {TRANSACTION_BOUNDARY_INTERVAL_MS}: Not a number of type LONG"
                ))
            })?,
            None => self.config.offset_flush_interval_ms,
        };
        let interval = Duration::from_millis(interval_ms.max(1));
        let offsets_topic = self.offsets.topic().ok_or_else(|| {
            ConnectorError::fatal(
                "Exactly-once source tasks need the offsets topic of a distributed worker",
            )
        })?;

        (exactly_once.pre_producer_check)().await?;
        if *control.borrow() == TargetState::Stopped {
            return Ok(());
        }
        let producer = self.transactional_producer(setup, &exactly_once.transactional_id)?;
        blocking(&producer, |p| p.init_transactions(TRANSACTION_TIMEOUT))
            .await?
            .map_err(|e| transaction_error("Failed to initialize transactions", e))?;
        (exactly_once.post_producer_check)().await?;
        // Everything committed before this producer fenced the older ones.
        self.offsets
            .refresh()
            .await
            .map_err(|e| ConnectorError::fatal(e.to_string()))?;

        self.start_source_task(setup, task)?;
        let interval = (boundary == TransactionBoundary::Interval).then_some(interval);
        let transaction = Transaction {
            open: false,
            offsets_topic,
        };
        let mut commits = SourceCommits::new(interval, Some(transaction));
        // A graceful stop commits what was sent (Kafka's final offset commit).
        self.poll_source(setup, task, control, &producer, &mut commits)
            .await
    }

    /// Opens a transaction before a batch is sent, for an exactly-once task without one.
    pub(super) fn begin_source_commit(
        &self,
        producer: &FutureProducer,
        commits: &mut SourceCommits,
    ) -> Result<(), ConnectorError> {
        match &mut commits.transaction {
            Some(transaction) if !transaction.open => {
                producer
                    .begin_transaction()
                    .map_err(|e| transaction_error("Failed to begin transaction", e))?;
                transaction.open = true;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Writes the transaction's source offsets through the task's producer, commits, and
    /// only then makes the offsets visible to this worker and tells the task.
    pub(super) async fn commit_transaction(
        &self,
        producer: &FutureProducer,
        transaction: &mut Transaction,
        offsets: &mut offset_store::RawEntries,
        task: &mut dyn SourceTask,
    ) -> Result<(), ConnectorError> {
        if !transaction.open {
            return Ok(());
        }
        let mut deliveries = Vec::with_capacity(offsets.len());
        for (key, value) in offsets.iter() {
            let mut record: FutureRecord<'_, [u8], [u8]> =
                FutureRecord::to(&transaction.offsets_topic).key(key.as_slice());
            if let Some(value) = value {
                record = record.payload(value.as_slice());
            }
            let delivery = producer.send_result(record).map_err(|(e, _)| {
                ConnectorError::fatal(format!("Failed to send source offsets: {e}"))
            })?;
            deliveries.push(delivery);
        }
        let mut written = Vec::with_capacity(deliveries.len());
        for ((key, value), delivery) in offsets.drain(..).zip(deliveries) {
            match delivery.await {
                Ok(Ok(delivered)) => written.push((key, value, delivered.offset)),
                Ok(Err((e, _))) => {
                    return Err(ConnectorError::fatal(format!(
                        "Failed to send source offsets: {e}"
                    )))
                }
                Err(_) => return Err(ConnectorError::fatal("producer closed")),
            }
        }
        blocking(producer, |p| p.commit_transaction(TRANSACTION_TIMEOUT))
            .await?
            .map_err(|e| transaction_error("Failed to commit transaction", e))?;
        transaction.open = false;
        self.offsets.committed_elsewhere(written);
        task.commit()
    }
}
