//! The business operations, one file per area. Each public function is a method of
//! [`Store`](crate::Store) and runs as one database transaction.

pub mod members;
pub mod programs;
pub mod tenants;
