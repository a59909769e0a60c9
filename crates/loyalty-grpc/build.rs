//! Compiles `proto/loyalty/v1/*.proto` (at the workspace root) into the tonic client and server
//! code of this crate, with the vendored `protoc` so a build needs nothing but the Rust
//! toolchain. The file descriptor set is written too, for gRPC server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let protos: Vec<PathBuf> = [
        "common", "operator", "programs", "members", "ledger", "rewards", "reports",
    ]
    .iter()
    .map(|name| root.join(format!("loyalty/v1/{name}.proto")))
    .collect();
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        // Malformed request bodies are INVALID_ARGUMENT, not tonic's INTERNAL (src/codec.rs).
        .codec_path("crate::codec::RequestCodec")
        .file_descriptor_set_path(out_dir.join("loyalty_v1_descriptor.bin"))
        .compile_with_config(config, &protos, &[root])?;
    Ok(())
}
