//! Compiles `proto/loyalty/v1/*.proto` (at the workspace root) into the tonic client and server
//! code of this crate, with the vendored `protoc` so a build needs nothing but the Rust
//! toolchain. Two file descriptor sets are written for gRPC server reflection: the API's, and
//! one of `google/rpc/error_details.proto` (vendored, see `vendor/`), so that reflection
//! clients can decode the `google.rpc.ErrorInfo` / `BadRequest` details of error statuses.

use std::path::PathBuf;
use std::process::Command;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest.join("../../proto");
    let protos: Vec<PathBuf> = [
        "common", "operator", "programs", "members", "ledger", "rewards", "reports", "changes",
        "import",
    ]
    .iter()
    .map(|name| root.join(format!("loyalty/v1/{name}.proto")))
    .collect();
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let mut config = prost_build::Config::new();
    config.protoc_executable(&protoc);
    tonic_prost_build::configure()
        // Malformed request bodies are INVALID_ARGUMENT, not tonic's INTERNAL (src/codec.rs).
        .codec_path("crate::codec::RequestCodec")
        .file_descriptor_set_path(out_dir.join("loyalty_v1_descriptor.bin"))
        .compile_with_config(config, &protos, &[root])?;

    // google.rpc error details: descriptors only (tonic-types has the Rust types), with their
    // imports (google/protobuf/duration.proto) so the set is self-contained.
    let vendor = manifest.join("vendor");
    let error_details = vendor.join("google/rpc/error_details.proto");
    println!("cargo:rerun-if-changed={}", error_details.display());
    let status = Command::new(&protoc)
        .arg("--include_imports")
        .arg(format!(
            "--descriptor_set_out={}",
            out_dir
                .join("google_rpc_error_details_descriptor.bin")
                .display()
        ))
        .arg(format!("--proto_path={}", vendor.display()))
        .arg(format!(
            "--proto_path={}",
            protoc_bin_vendored::include_path()?.display()
        ))
        .arg(&error_details)
        .status()?;
    if !status.success() {
        return Err(format!("protoc failed on {} ({status})", error_details.display()).into());
    }
    Ok(())
}
