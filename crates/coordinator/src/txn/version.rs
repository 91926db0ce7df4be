//! `transaction.version`, Kafka's `TransactionVersion` feature: the level a cluster
//! finalizes, and the level each client speaks (a client speaks V2 only where the cluster
//! finalized 2; the coordinator learns it from the request versions it gets).

/// A `transaction.version` level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionVersion(pub i16);

impl TransactionVersion {
    /// Kafka 3.x's transactions: the epoch moves only on InitProducerId and fencing.
    pub const TV_0: TransactionVersion = TransactionVersion(0);
    /// Flexible `__transaction_state` values (with V2's tagged fields); clients as TV_0.
    pub const TV_1: TransactionVersion = TransactionVersion(1);
    /// KIP-890 part 2: each EndTxn bumps the epoch and partitions join the transaction
    /// through their leaders.
    pub const TV_2: TransactionVersion = TransactionVersion(2);

    /// The epoch moves at the end of every transaction.
    pub fn supports_epoch_bump(self) -> bool {
        self.0 >= 2
    }

    /// The `TransactionLogValue` version the coordinator writes at this finalized level.
    pub fn log_value_version(self) -> i16 {
        i16::from(self.0 >= 1)
    }

    /// The client's version as an EndTxn version says it: v5 is the first of V2.
    pub fn of_end_txn(api_version: i16) -> TransactionVersion {
        if api_version >= 5 {
            TransactionVersion::TV_2
        } else {
            TransactionVersion::TV_0
        }
    }
}
