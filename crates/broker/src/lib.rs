//! The rafka broker: the tokio server, one handler file per Kafka API (`handlers/`), the
//! topics and partitions this node hosts, and their configs. It owns no bytes format
//! (`rafka-protocol`) and no disk format (`rafka-log`); it knows nothing of CLI parsing.

pub mod acl_store;
pub mod acls;
pub mod admin;
mod authentication;
pub mod broker;
pub mod cluster;
pub mod error;
pub mod group_config;
pub mod handlers;
mod listener_tls;
pub mod log_manager;
pub mod metrics;
pub mod metrics_http;
pub mod node;
pub mod partition;
mod peer_security;
pub mod producer_id_source;
pub mod producer_ids;
pub mod replica;
pub mod replica_manager;
mod scram_users;
pub mod server;
pub mod session;
pub mod share;
pub mod share_persister;
pub mod topic;
pub mod txn_env;
pub mod txn_verification;

// The server configuration, the topic config definitions and the log directories' own
// files live in rafka-config, below the broker, so that the tools can read and write
// them without depending on the broker; the old paths stay for the broker's code.
pub use rafka_config::server as config;
pub use rafka_config::{storage, topic_config};
// The group coordinator lives in rafka-coordinator, over `CoordinatorLog`, which the
// replica manager implements.
pub use rafka_coordinator::group;

pub use broker::Broker;
pub use config::BrokerConfig;
pub use error::{ApiError, StartupError};
pub use server::Server;
