//! Build script of the `loyalty` binary.
//!
//! The protobuf code is generated in `crates/loyalty-proto` (so other services can link its
//! client without the server); this script stamps the binary with what it was built from, which `loyalty --version`
//! prints: the package version, the git commit when the source is a git checkout, and the
//! target and profile.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");

    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_else(|_| "unknown".into());
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown commit".into());
    let target = std::env::var("TARGET").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=LOYALTY_BUILD_INFO={version} ({commit}, {target}, {profile})");
}
