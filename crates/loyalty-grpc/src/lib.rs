//! # loyalty-grpc
//!
//! The loyalty engine over gRPC: the services, auth, error mapping and the server. The
//! generated `loyalty.v1` code is re-exported as [`pb`]; a service that only calls the server
//! should depend on `loyalty-proto` instead, which does not pull the database in.

pub mod auth;
/// The protobuf codec of the generated code (INVALID_ARGUMENT for malformed requests).
pub use loyalty_proto::codec;
pub mod convert;
pub mod error;
pub mod health;
pub mod observe;
pub mod server;
pub mod services;
pub mod sweep;

pub use error::{ApiError, ApiResult};

/// The generated protobuf messages, clients (`*_client`) and servers (`*_server`): the
/// [`loyalty_proto`] crate, which a service that only calls the server can depend on alone.
pub use loyalty_proto as pb;
