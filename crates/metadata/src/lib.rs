//! The cluster metadata: the records the active controller writes, the image every node
//! builds by applying them, the controller's decisions (placement, leader election,
//! fencing, ISR changes) and the quorum that replicates the metadata log.
//!
//! The image is the single source of truth for who hosts and leads each partition. The
//! controller never edits it directly: it proposes records, the quorum commits them, and
//! every node (controllers and brokers alike) applies the same records in the same order.

pub mod acl_control;
pub mod controller;
pub mod image;
pub mod quorum;
pub mod records;
pub mod rpc;
pub mod server;

pub use image::{BrokerInfo, ClusterImage, PartitionState, TopicImage};
pub use quorum::{ProposeError, Quorum, QuorumConfig, QuorumError};
pub use records::MetadataRecord;
pub use rpc::{ControllerClient, ControllerRequest, ControllerResponse};
pub use server::BrokerRpcHandler;

/// Kafka's "no leader" marker in metadata responses.
pub const NO_LEADER: i32 = -1;
