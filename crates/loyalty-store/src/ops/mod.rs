//! The business operations, one file per area. Each public function is a method of
//! [`Store`](crate::Store) and runs as one database transaction.

pub mod actions;
pub mod bills;
pub mod campaigns;
pub mod earn;
pub mod members;
pub mod outcome;
pub mod programs;
pub mod quote;
pub mod tenants;
pub mod tiers;
