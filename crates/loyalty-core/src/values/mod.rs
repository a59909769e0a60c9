//! Value types that can only hold valid values.
//!
//! Each type has private fields and constructors that return [`Error`](crate::Error) for
//! negative, overflowing, over-precise or malformed input. Once a value exists it is valid, so
//! the rules in the rest of the crate never check it again.

mod card;
mod decimal;
mod key;
mod money;
mod percent;
mod points;
mod rate;
mod rounding;

pub use card::CardNumber;
pub use decimal::{MAX_AMOUNT, MAX_SCALE};
pub use key::IdempotencyKey;
pub use money::{Currency, Money};
pub use percent::{Multiplier, Percent};
pub use points::Points;
pub use rate::{ConversionRate, EarnRate, MAX_RATE_RATIO};
pub use rounding::{PointPrecision, Rounding};
