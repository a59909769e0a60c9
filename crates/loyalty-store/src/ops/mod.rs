//! The business operations, one file per area. Each public function is a method of
//! [`Store`](crate::Store) and runs as one database transaction.

pub mod actions;
pub mod as_of;
pub mod backup;
pub mod bill_summary;
pub mod bills;
pub mod campaigns;
pub mod cashback;
pub mod changes;
pub mod coupons;
pub mod earn;
pub mod earn_lines;
pub mod enrollment;
pub mod expiry;
pub mod history;
pub mod hold_resolution;
pub mod holds;
pub mod import;
pub mod members;
pub mod programs;
pub mod quote;
pub mod rate_limit;
pub mod redeem;
pub mod redemption_lifecycle;
pub mod reports;
pub mod reverse;
pub mod reward_redemptions;
pub mod rewards;
pub mod rules_cache;
pub mod spending;
mod stored;
mod sums;
pub mod tenants;
pub mod tiers;
pub mod verify;
