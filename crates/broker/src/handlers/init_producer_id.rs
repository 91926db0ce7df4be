//! InitProducerId: a producer id and epoch for an idempotent producer (no transactional
//! id). Kafka's coordinator "blindly accepts" such a request: every call gets a new id at
//! epoch 0, whatever id and epoch it names (the client bumps its own epoch, KIP-360).

use std::sync::Arc;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::error::ApiError;

pub(super) async fn handle(
    broker: &Arc<Broker>,
    request: InitProducerIdRequest,
    version: i16,
) -> InitProducerIdResponse {
    match init(broker, &request).await {
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
) -> Result<(i64, i16), ApiError> {
    // KafkaApis: an id without an epoch (or the reverse) is malformed.
    if (request.producer_id.0 == -1) != (request.producer_epoch == -1) {
        return Err(ApiError::code(ErrorCode::InvalidRequest));
    }
    match request.transactional_id.as_ref().map(|id| id.as_str()) {
        None => Ok((broker.next_producer_id().await?, 0)),
        Some("") => Err(ApiError::code(ErrorCode::InvalidRequest)),
        // FindCoordinator answers COORDINATOR_NOT_AVAILABLE for transactional ids until
        // the transaction coordinator lands, so clients do not get here; one that does
        // is told the same.
        Some(_) => Err(ApiError::code(ErrorCode::CoordinatorNotAvailable)),
    }
}
