//! Where InitProducerId's blocks of producer ids come from: the controller in a cluster
//! (AllocateProducerIds, written down as a metadata record before it answers), this
//! node's metadata file in single-node mode.

use std::sync::Arc;
use std::time::Duration;

use rafka_metadata::controller::PRODUCER_ID_BLOCK_SIZE;
use rafka_metadata::rpc::{BrokerRequest, BrokerResponse};
use rafka_protocol::ErrorCode;

use crate::broker::Broker;
use crate::error::ApiError;

/// How long InitProducerId waits for the controller to hand out a block.
const ALLOCATE_TIMEOUT: Duration = Duration::from_secs(10);

impl Broker {
    /// A producer id never handed out before, by any broker of the cluster.
    pub async fn next_producer_id(self: &Arc<Self>) -> Result<i64, ApiError> {
        self.producer_ids.next(|| allocate(self)).await
    }

    /// Single-node mode: takes the next block from the metadata file, saved before it is
    /// used.
    fn allocate_local_producer_ids(&self) -> Result<(i64, i32), ApiError> {
        let mut image = self.image.lock();
        let first = image.next_producer_id;
        let mut next = image.clone();
        next.next_producer_id = first + i64::from(PRODUCER_ID_BLOCK_SIZE);
        self.save_metadata(&mut image, next)?;
        Ok((first, PRODUCER_ID_BLOCK_SIZE))
    }
}

async fn allocate(broker: &Arc<Broker>) -> Result<(i64, i32), ApiError> {
    let Some(cluster) = &broker.cluster else {
        let broker = broker.clone();
        return tokio::task::spawn_blocking(move || broker.allocate_local_producer_ids())
            .await
            .map_err(|e| ApiError::new(ErrorCode::UnknownServerError, e.to_string()))?;
    };
    let request = BrokerRequest::AllocateProducerIds {
        broker_id: broker.config.node_id,
        broker_epoch: cluster.broker_epoch(),
    };
    match cluster.call_controller(request, ALLOCATE_TIMEOUT).await {
        Ok(BrokerResponse::ProducerIds { first, len }) if len > 0 && first >= 0 => Ok((first, len)),
        // Kafka's broker retries a refused or failed allocation and meanwhile answers
        // InitProducerId with this retriable error.
        Ok(BrokerResponse::Error { code, message }) => {
            tracing::warn!("the controller refused a producer id block: {code} {message}");
            Err(not_yet())
        }
        Ok(other) => {
            tracing::warn!("unexpected answer to AllocateProducerIds: {other:?}");
            Err(not_yet())
        }
        Err(e) => {
            tracing::warn!("cannot reach the controller for producer ids: {e:?}");
            Err(not_yet())
        }
    }
}

fn not_yet() -> ApiError {
    ApiError::new(
        ErrorCode::CoordinatorLoadInProgress,
        "Producer ID block is full. Waiting for next block",
    )
}
