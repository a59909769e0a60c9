//! # loyalty-proto
//!
//! The loyalty gRPC API (`proto/loyalty/v1`, package `loyalty.v1`) as Rust: the generated
//! messages, the tonic clients (`*_client`) and servers (`*_server`), and the encoded file
//! descriptor sets for server reflection. It depends on the protobuf stack only (tonic, prost),
//! never on the database or the server, so a service that calls the loyalty server links just
//! this crate. The server itself (`loyalty-grpc`) re-exports it as `loyalty_grpc::pb`.
//!
//! Amounts and points travel as exact decimal strings ("12.50", "50"): parse them as decimals,
//! never as floats.
//!
//! ```no_run
//! use loyalty_proto::ledger_service_client::LedgerServiceClient;
//! use loyalty_proto::{Bill, BillLine, EarnRequest};
//!
//! # async fn earn() -> Result<(), Box<dyn std::error::Error>> {
//! let mut ledger = LedgerServiceClient::connect("http://127.0.0.1:50051").await?;
//! let mut request = tonic::Request::new(EarnRequest {
//!     // Retrying with the same key never credits twice.
//!     idempotency_key: "ORDER123:earn".into(),
//!     member_id: "<member id>".into(),
//!     program_id: "<program id>".into(),
//!     bill: Some(Bill {
//!         reference: "ORDER123".into(),
//!         currency: String::new(), // the program's currency
//!         lines: vec![BillLine { category: String::new(), amount: "500".into() }],
//!         at: String::new(), // now
//!     }),
//! });
//! request
//!     .metadata_mut()
//!     .insert("authorization", "Bearer <service API key>".parse()?);
//! let earned = ledger.earn(request).await?.into_inner();
//! println!("earned {} points", earned.points_earned);
//! # Ok(())
//! # }
//! ```
//!
//! A complete client, settling a bill with points and a card, is the `billing` example
//! (`cargo run -p loyalty-proto --example billing`).

pub mod codec;

mod generated {
    #![allow(
        missing_docs,
        clippy::all,
        clippy::pedantic,
        unused_qualifications,
        rustdoc::invalid_html_tags
    )]
    tonic::include_proto!("loyalty.v1");
}

pub use generated::*;

/// The encoded file descriptor set of `loyalty.v1`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("loyalty_v1_descriptor");

/// The encoded file descriptor set of `google/rpc/error_details.proto` (with its import
/// `google/protobuf/duration.proto`): registered with server reflection so that clients such as
/// `grpcurl` can decode the `google.rpc.ErrorInfo` and `google.rpc.BadRequest` details that
/// error statuses carry.
pub const ERROR_DETAILS_FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("google_rpc_error_details_descriptor");
