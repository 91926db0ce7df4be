//! Kafka as a microservice: Confluent's REST Proxy (API v2 and v3) and a gRPC service
//! (`rafka.v1`) for publishers and consumers.
//!
//! Both are Kafka clients of the cluster (librdkafka through rdkafka for producing and
//! consuming, rafka-client's wire client for admin requests) and know nothing of the
//! broker's internals. One `.properties` file configures both (`config`).

pub mod config;
pub mod grpc;
pub mod kafka;
pub mod process;
pub mod rest;

pub use grpc::serve as serve_grpc;
pub use rest::rest_main;

/// `rafka grpc <config.properties>`.
pub fn grpc_main(args: Vec<String>) -> std::process::ExitCode {
    grpc::main(args)
}
