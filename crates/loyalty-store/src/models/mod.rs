//! One file per table (or per family of tables): read/write row structs and their mapping to
//! `loyalty-core` types.

pub mod campaign;
pub mod ledger;
pub mod member;
pub mod program;
pub mod reward;
pub mod tenant;
