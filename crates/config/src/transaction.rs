//! The transaction coordinator's settings (Kafka's `TransactionLogConfig` and
//! `TransactionStateManagerConfig`), with Kafka's defaults.

/// `transaction.*` and `transactional.id.*` broker keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionConfig {
    /// `transaction.state.log.num.partitions`
    pub partitions: i32,
    /// `transaction.state.log.replication.factor`
    pub replication_factor: i16,
    /// `transaction.state.log.min.isr`
    pub min_isr: i32,
    /// `transaction.state.log.segment.bytes`
    pub segment_bytes: i64,
    /// `transaction.max.timeout.ms`: the largest `transaction.timeout.ms` a producer may ask.
    pub max_timeout_ms: i32,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`
    pub abort_timed_out_interval_ms: i64,
    /// `transactional.id.expiration.ms`
    pub id_expiration_ms: i64,
    /// `transaction.remove.expired.transaction.cleanup.interval.ms`
    pub remove_expired_interval_ms: i64,
    /// `transaction.partition.verification.enable`: a partition leader asks the
    /// transaction coordinator whether a transactional batch's partition is in the
    /// producer's transaction before appending it (KIP-890 part 1).
    pub partition_verification_enable: bool,
    /// The finalized level of the `transaction.version` feature: not a broker key but
    /// the cluster's, fixed when it is formatted. Kafka 4.1 formats new clusters at 2
    /// (transactions V2: an epoch bump per transaction, partitions added by their
    /// leaders); 1 writes flexible `__transaction_state` records, 0 is Kafka 3.x.
    pub finalized_version: i16,
}

impl Default for TransactionConfig {
    fn default() -> Self {
        TransactionConfig {
            partitions: 50,
            replication_factor: 3,
            min_isr: 2,
            segment_bytes: 104_857_600,
            max_timeout_ms: 900_000,
            abort_timed_out_interval_ms: 10_000,
            id_expiration_ms: 604_800_000,
            remove_expired_interval_ms: 3_600_000,
            partition_verification_enable: true,
            finalized_version: 2,
        }
    }
}

/// The keys [`TransactionConfig`] reads.
pub const TRANSACTION_KEYS: &[&str] = &[
    "transaction.state.log.num.partitions",
    "transaction.state.log.replication.factor",
    "transaction.state.log.min.isr",
    "transaction.state.log.segment.bytes",
    "transaction.max.timeout.ms",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms",
    "transactional.id.expiration.ms",
    "transaction.remove.expired.transaction.cleanup.interval.ms",
    "transaction.partition.verification.enable",
];
