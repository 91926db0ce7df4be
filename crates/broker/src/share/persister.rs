//! What a share-partition's leader needs of the share coordinator (Kafka's `Persister`):
//! read, initialize, write and delete a share-partition's state. The broker's persister
//! (`crate::share_persister`) sends these to the coordinator of the share-partition's
//! key, here or on another broker; tests keep the state in memory.

use std::future::Future;
use std::pin::Pin;

pub use rafka_coordinator::share_state::coordinator::{StateError, StateRead, StateWrite};
pub use rafka_coordinator::share_state::records::StateKey;

pub type PersistFuture<T> = Pin<Box<dyn Future<Output = Result<T, StateError>> + Send>>;

pub trait Persister: Send + Sync {
    /// InitializeShareGroupState.
    fn initialize(&self, key: StateKey, state_epoch: i32, start_offset: i64) -> PersistFuture<()>;
    /// ReadShareGroupState at the share-partition's leader epoch.
    fn read(&self, key: StateKey, leader_epoch: i32) -> PersistFuture<StateRead>;
    /// WriteShareGroupState.
    fn write(&self, key: StateKey, write: StateWrite) -> PersistFuture<()>;
    /// DeleteShareGroupState.
    fn delete(&self, key: StateKey) -> PersistFuture<()>;
}

/// Kafka's answer to reading a share-partition that has no state yet.
pub fn is_uninitialized(error: &StateError) -> bool {
    error.code == rafka_protocol::ErrorCode::InvalidRequest
        && error
            .message
            .ends_with("on uninitialized share partition not allowed.")
}

/// What a share fetch or acknowledgement answers for a share-partition whose state could
/// not be read or written (Kafka's `SharePartition.fetchPersisterError`).
pub fn client_error(error: &StateError) -> rafka_protocol::ErrorCode {
    use rafka_protocol::ErrorCode;
    match error.code {
        ErrorCode::NotCoordinator
        | ErrorCode::CoordinatorNotAvailable
        | ErrorCode::CoordinatorLoadInProgress => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::FencedLeaderEpoch => ErrorCode::NotLeaderOrFollower,
        code @ (ErrorCode::FencedStateEpoch
        | ErrorCode::GroupIdNotFound
        | ErrorCode::UnknownTopicOrPartition) => code,
        _ => ErrorCode::UnknownServerError,
    }
}
