//! Distributed mode's group membership: workers join one Kafka group of protocol type
//! `connect`, the leader splits the connectors and tasks among them, and each worker
//! runs its share.
//!
//! - `protocol`: the JoinGroup metadata and SyncGroup assignment formats, byte-exact
//!   with Kafka's `ConnectProtocol` / `IncrementalCooperativeConnectProtocol`;
//! - `assignor`: Kafka's `IncrementalCooperativeAssignor` (with its delayed reassignment
//!   of lost work) and `EagerAssignor`;
//! - `member`: `WorkerGroupMember`, the background loop over raw group requests that
//!   the distributed herder drives and listens to (Kafka's `WorkerCoordinator`);
//! - `herder`: Kafka's `DistributedHerder` over the group and the internal topics
//!   (`crate::storage`); `command`: `rafka connect-distributed`;
//! - `fencing`: Kafka's `Admin.fenceProducers` for the zombie fencing of exactly-once
//!   source tasks.

pub mod assignor;
pub mod command;
pub mod fencing;
pub mod herder;
pub mod member;
pub mod protocol;
