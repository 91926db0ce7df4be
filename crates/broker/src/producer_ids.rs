//! Producer ids for InitProducerId, handed out from blocks as Kafka's
//! `RPCProducerIdManager` does: a block of 1000 ids is taken at a time, from the
//! controller in a cluster (AllocateProducerIds, a metadata record) or from this node's
//! own metadata file in single-node mode, and written down before any id of it is used.
//! So no two brokers ever hand out the same id, across restarts and controller failover;
//! the ids of a block a broker did not use before restarting are skipped.

use std::future::Future;

use crate::error::ApiError;

/// The ids left of this broker's current block.
#[derive(Debug, Default)]
pub struct ProducerIds {
    block: tokio::sync::Mutex<Block>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Block {
    next: i64,
    end: i64,
}

impl ProducerIds {
    /// The next producer id, taking a new block from `allocate` (first id, length) first
    /// when this one is used up. One allocation at a time; the others wait for it.
    pub async fn next<F>(&self, allocate: impl FnOnce() -> F) -> Result<i64, ApiError>
    where
        F: Future<Output = Result<(i64, i32), ApiError>>,
    {
        let mut block = self.block.lock().await;
        if block.next >= block.end {
            let (first, len) = allocate().await?;
            *block = Block {
                next: first,
                end: first + i64::from(len),
            };
            tracing::debug!(first, len, "took a block of producer ids");
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }
}
