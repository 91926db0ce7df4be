//! EndTxn: commit or abort the producer's transaction. Answered once PrepareCommit or
//! PrepareAbort is written; the markers follow. v5 is transactions V2: the answer carries
//! the producer id and epoch the client goes on with (the epoch bumped by the end).

use std::sync::Arc;

use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, ProducerId};
use rafka_coordinator::txn::version::TransactionVersion;

use super::transactions::{coordinator, version_error};
use crate::broker::Broker;
use crate::session::Session;
use rafka_protocol::ErrorCode;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: EndTxnRequest,
    version: i16,
    session: &Session,
) -> EndTxnResponse {
    // Kafka: WRITE on the transactional id.
    if !broker.authorize_transactional_id(
        session,
        request.transactional_id.as_str(),
        AclOperation::Write,
    ) {
        return EndTxnResponse::default()
            .with_error_code(ErrorCode::TransactionalIdAuthorizationFailed.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
    }
    let (env, txns) = coordinator(broker);
    let result = txns
        .end_txn(
            &env,
            request.transactional_id.as_str(),
            request.producer_id.0,
            request.producer_epoch,
            request.committed,
            TransactionVersion::of_end_txn(version),
        )
        .await;
    match result {
        Ok((producer_id, producer_epoch)) => EndTxnResponse::default()
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(producer_epoch),
        Err(e) => EndTxnResponse::default()
            .with_error_code(version_error(e, version, 2).code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    }
}
