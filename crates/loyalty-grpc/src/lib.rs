//! # loyalty-grpc
//!
//! The loyalty engine over gRPC: the generated `loyalty.v1` client and server code ([`pb`]),
//! so another Rust service can depend on this crate and call the server with a typed client.

pub mod auth;
pub mod codec;
pub mod convert;
pub mod error;
pub mod health;
pub mod observe;
pub mod server;
pub mod services;
pub mod sweep;

pub use error::{ApiError, ApiResult};

/// The generated protobuf messages, clients (`*_client`) and servers (`*_server`).
pub mod pb {
    #![allow(
        missing_docs,
        clippy::all,
        clippy::pedantic,
        unused_qualifications,
        rustdoc::invalid_html_tags
    )]
    tonic::include_proto!("loyalty.v1");

    /// The encoded file descriptor set of `loyalty.v1`, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("loyalty_v1_descriptor");
}
