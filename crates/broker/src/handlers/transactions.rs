//! What the transaction APIs share: the coordinator's view of the broker, and Kafka's
//! version mapping of PRODUCER_FENCED.

use std::sync::Arc;

use rafka_coordinator::txn::coordinator::{TransactionCoordinator, TxnEnv};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::txn_env::BrokerTxnEnv;

/// The transaction coordinator and its view of this broker.
pub(super) fn coordinator(broker: &Arc<Broker>) -> (Arc<dyn TxnEnv>, Arc<TransactionCoordinator>) {
    (BrokerTxnEnv::shared(broker), broker.txns.clone())
}

/// PRODUCER_FENCED is new in a version of each API (InitProducerId v4, AddPartitionsToTxn,
/// AddOffsetsToTxn and EndTxn v2): older clients get INVALID_PRODUCER_EPOCH.
pub(super) fn version_error(code: ErrorCode, version: i16, fenced_from: i16) -> ErrorCode {
    if code == ErrorCode::ProducerFenced && version < fenced_from {
        ErrorCode::InvalidProducerEpoch
    } else {
        code
    }
}
