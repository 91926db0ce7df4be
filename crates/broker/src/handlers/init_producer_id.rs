//! InitProducerId: a producer id and epoch. An idempotent producer (no transactional id)
//! gets a new id at epoch 0 on every call, whatever id and epoch it names, as Kafka
//! "blindly accepts" it (the client bumps its own epoch, KIP-360). A transactional id
//! goes to its transaction coordinator: the next epoch of its producer id, fencing the
//! previous incarnation.

use std::sync::Arc;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use rafka_protocol::ErrorCode;

use super::transactions::{coordinator, version_error};
use crate::broker::Broker;
use crate::error::ApiError;
use crate::session::Session;
use rafka_security::acl::AclOperation;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: InitProducerIdRequest,
    version: i16,
    session: &Session,
) -> InitProducerIdResponse {
    // Kafka's handleInitProducerIdRequest: WRITE on the transactional id; without one,
    // IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
    let refused = match request.transactional_id.as_ref() {
        Some(id) if !broker.authorize_transactional_id(session, id, AclOperation::Write) => {
            Some(ErrorCode::TransactionalIdAuthorizationFailed)
        }
        Some(_) => None,
        None if broker.authorize_cluster(session, AclOperation::IdempotentWrite)
            || broker.authorize_by_resource_type(
                session,
                rafka_security::acl::ResourceType::Topic,
                AclOperation::Write,
            ) =>
        {
            None
        }
        None => Some(ErrorCode::ClusterAuthorizationFailed),
    };
    let result = match refused {
        Some(code) => Err(ApiError::code(code)),
        None => init(broker, &request, version).await,
    };
    match result {
        Ok((producer_id, producer_epoch)) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(producer_epoch),
        Err(e) => {
            tracing::debug!("InitProducerId v{version} refused: {e:?}");
            InitProducerIdResponse::default()
                .with_error_code(e.code.code())
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
        }
    }
}

async fn init(
    broker: &Arc<Broker>,
    request: &InitProducerIdRequest,
    version: i16,
) -> Result<(i64, i16), ApiError> {
    // KafkaApis: an id without an epoch (or the reverse) is malformed.
    if (request.producer_id.0 == -1) != (request.producer_epoch == -1) {
        return Err(ApiError::code(ErrorCode::InvalidRequest));
    }
    match request.transactional_id.as_ref().map(|id| id.as_str()) {
        None => Ok((broker.next_producer_id().await?, 0)),
        Some("") => Err(ApiError::code(ErrorCode::InvalidRequest)),
        Some(transactional_id) => {
            let timeout = request.transaction_timeout_ms;
            if timeout <= 0 || timeout > broker.txns.config.max_timeout_ms {
                return Err(ApiError::code(ErrorCode::InvalidTransactionTimeout));
            }
            // Taken now, used only when the id is new or its epochs are exhausted.
            let fresh = broker.next_producer_id().await?;
            let expected = (request.producer_id.0 != -1)
                .then_some((request.producer_id.0, request.producer_epoch));
            let (env, txns) = coordinator(broker);
            txns.init_producer_id(&env, transactional_id, timeout, expected, fresh)
                .await
                .map_err(|e| ApiError::code(version_error(e, version, 4)))
        }
    }
}
