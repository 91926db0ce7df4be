//! The transaction coordinator: transactional ids' state, kept as records of the
//! compacted `__transaction_state` topic.

pub mod coordinator;
pub mod records;
pub mod version;
