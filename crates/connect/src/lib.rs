//! Kafka Connect's runtime: the worker, the herder and Kafka's REST API, with the
//! FileStream connectors built in. Standalone mode (`rafka connect-standalone`) is here;
//! distributed mode is the next step (see `herder`).
//!
//! - `worker_config`: the worker's `.properties` keys (Kafka's `WorkerConfig`);
//! - `connector_config`: the framework's connector keys and `config/validate`;
//! - `plugins`: the built-in connector classes and their aliases, every plugin listed;
//! - `file`: `FileStreamSourceConnector` / `FileStreamSinkConnector`;
//! - `offset_store`: standalone source offsets in Kafka's file format;
//! - `worker`: source and sink tasks as tokio tasks over rdkafka clients;
//! - `herder`: the `Herder` trait the REST API talks to, and the standalone herder;
//! - `rest`: the axum routes; `standalone`: the command.
//!
//! A Kafka client of the broker (through rdkafka), never its internals. The data model,
//! converters, transforms and the plugin interfaces live in `rafka-connect-data`.
//!
//! Not yet done (next sessions): distributed mode (`connect-distributed`, internal
//! topics, rebalancing), exactly-once source support, HTTPS listeners, sink
//! `open`/`close` on rebalance and partition-level `SinkTaskContext::pause`, resetting
//! single partitions of a sink connector (`PATCH …/offsets` with a null sink offset).

pub mod connector_config;
pub mod error;
pub mod file;
pub mod herder;
pub mod offset_store;
pub mod plugins;
pub mod rest;
pub mod standalone;
pub mod worker;
pub mod worker_config;

pub use error::RuntimeError;

/// The Kafka version whose Connect API this runtime implements (`GET /` and plugin
/// versions report it, as Kafka's worker reports its own).
pub const KAFKA_VERSION: &str = "4.1.1";
/// `GET /`'s `commit`: rafka's version instead of a Kafka commit id.
pub const COMMIT: &str = concat!("rafka-", env!("CARGO_PKG_VERSION"));
