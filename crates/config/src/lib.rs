//! A node's configuration and the files of its log directories that are not partition
//! logs: what both the broker and the tools (`kafka-storage.sh format` / `info`) read
//! and write, so that the tools need not depend on the broker.
//!
//! - `server`: `BrokerConfig`, parsed from a `server.properties` file with Kafka's keys,
//!   and the bootstrap voters file `storage format` writes for it;
//! - `topic_config`: Kafka's topic configs (types, defaults, the broker keys that supply
//!   them), which `server` validates the broker-level defaults against;
//! - `group`: the group coordinator's settings `server` parses;
//! - `transaction`, `share_coordinator`: the transaction and share coordinators' settings;
//! - `security`: the listeners' security protocols and SASL settings;
//! - `ssl`: the TLS listeners' `ssl.*` settings (PEM stores, client auth, mapping rules);
//! - `storage`: `meta.properties`, offset checkpoints and the single-node metadata file.
//!
//! It knows nothing of sockets, tokio or the broker's runtime: it reads and writes files
//! and strings only.

pub mod authorizer;
pub mod group;
pub mod security;
pub mod server;
pub mod share_coordinator;
pub mod ssl;
pub mod storage;
pub mod topic_config;
pub mod transaction;

pub use server::{BrokerConfig, ConfigError, Listener, ReplicationConfig};
