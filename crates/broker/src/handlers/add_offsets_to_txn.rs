//! AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the producer's
//! transaction, so the group's transactional offset commits commit or abort with it.

use std::sync::Arc;

use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};
use rafka_coordinator::txn::version::TransactionVersion;

use super::transactions::{coordinator, version_error};
use crate::broker::Broker;
use crate::group::OFFSETS_TOPIC;
use crate::session::Session;
use rafka_protocol::ErrorCode;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: AddOffsetsToTxnRequest,
    version: i16,
    session: &Session,
) -> AddOffsetsToTxnResponse {
    // Kafka: WRITE on the transactional id, READ on the group.
    if !broker.authorize_transactional_id(
        session,
        request.transactional_id.as_str(),
        AclOperation::Write,
    ) {
        return AddOffsetsToTxnResponse::default()
            .with_error_code(ErrorCode::TransactionalIdAuthorizationFailed.code());
    }
    if !broker.authorize_group(session, request.group_id.as_str(), AclOperation::Read) {
        return AddOffsetsToTxnResponse::default()
            .with_error_code(ErrorCode::GroupAuthorizationFailed.code());
    }
    let (env, txns) = coordinator(broker);
    let partition = (
        OFFSETS_TOPIC.to_string(),
        broker.groups.partition_for(request.group_id.as_str()),
    );
    let result = txns
        .add_partitions(
            &env,
            request.transactional_id.as_str(),
            request.producer_id.0,
            request.producer_epoch,
            &[partition],
            TransactionVersion::TV_0,
        )
        .await;
    let code = result.map_or_else(|e| version_error(e, version, 2).code(), |()| 0);
    AddOffsetsToTxnResponse::default().with_error_code(code)
}
