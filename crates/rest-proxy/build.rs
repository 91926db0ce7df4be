//! Generates the `rafka.v1` gRPC code (tonic + prost) and its file descriptor set (for
//! server reflection) from `proto/rafka/v1/rafka.proto`, with the protoc of the
//! `protoc-bin-vendored` package so that no system protoc is needed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // tonic-prost-build (through prost-build) reads PROTOC; build scripts run one per crate.
    std::env::set_var("PROTOC", protoc);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .file_descriptor_set_path(out_dir.join("rafka_v1_descriptor.bin"))
        .compile_protos(&["proto/rafka/v1/rafka.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
