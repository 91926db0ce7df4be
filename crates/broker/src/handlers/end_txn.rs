//! EndTxn: commit or abort the producer's transaction. Answered once PrepareCommit or
//! PrepareAbort is written; the markers follow.

use std::sync::Arc;

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse};

use super::transactions::{coordinator, version_error};
use crate::broker::Broker;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: EndTxnRequest,
    version: i16,
) -> EndTxnResponse {
    let (env, txns) = coordinator(broker);
    let result = txns
        .end_txn(
            &env,
            request.transactional_id.as_str(),
            request.producer_id.0,
            request.producer_epoch,
            request.committed,
        )
        .await;
    let code = result.map_or_else(|e| version_error(e, version, 2).code(), |()| 0);
    EndTxnResponse::default().with_error_code(code)
}
