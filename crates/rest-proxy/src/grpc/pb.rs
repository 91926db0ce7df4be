//! The code tonic and prost generate from `proto/rafka/v1/rafka.proto`, and its file
//! descriptor set (served by reflection, so that grpcurl and other generic tools can list
//! and call the service without the `.proto`).
#![allow(
    unreachable_pub,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]

tonic::include_proto!("rafka.v1");

/// The serialized `FileDescriptorSet` of `rafka.v1`.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("rafka_v1_descriptor");
