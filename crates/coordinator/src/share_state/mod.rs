//! The share coordinator (KIP-932's persister side): the durable state of
//! share-partitions in `__share_group_state` — its records (`records`), how state
//! batches merge (`combiner`) and the coordinator serving the share-group state APIs
//! (`coordinator`). The share-partitions themselves live on their partitions' leaders
//! (the broker's `share` module), which read and write their state here.

pub mod combiner;
pub mod coordinator;
pub mod records;
