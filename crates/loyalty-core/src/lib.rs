//! # loyalty-core
//!
//! Every loyalty rule as a pure, exact function: earning (base rate, category percentages,
//! tier multipliers, campaigns, caps, referrals, actions), tiers, redemption, the checkout
//! quote, point lots (spending order, expiry, pending periods), holds and reversals, and the
//! ledger's invariants. No I/O, no runtime, no database: another Rust service can link this
//! crate and compute exactly what the `loyalty` server computes.
//!
//! Amounts are [`rust_decimal::Decimal`] wrapped in value types ([`Points`], [`Money`],
//! [`Percent`], ...) that can only hold valid values; there are no floats anywhere.
//!
//! ## Layout
//! - [`values`]: value types: points, money and currency, percentages and multipliers, earn
//!   and conversion rates, point precision and rounding, card numbers, idempotency keys.
//! - [`program`]: a program's configuration ([`ProgramRules`] → validated [`Rules`]), tiers,
//!   campaigns, discounts, rewards.
//! - [`cashback`]: cashback wallets: what a cashback program must be, its percentages, the
//!   status of a cashback record.
//! - [`bill`]: a validated bill of lines with categories and amounts.
//! - [`allocate`](mod@allocate): exact proportional allocation of an amount over weights.
//! - [`checkout`]: the checkout quote (discounts, then redemption, then earning) and what a
//!   bill earns after part of it was paid with points.
//! - [`discounts`]: a program's category and bill discounts applied to a bill.
//! - [`redeem`]: redemption at checkout: the most points a bill can take, and checking a request.
//! - [`campaigns`]: whether a campaign applies to a bill and its lines, its caps, its order.
//! - [`earn`]: a bill's points with a breakdown (base, tier, campaigns, cap), referral and
//!   action points.
//! - [`tiers`]: the tier a measure reaches, upgrades with once-per-tier bonuses, downgrades.
//! - [`ledger`]: entry kinds, balances and how an entry changes them, the invariant checker.
//! - [`lots`]: point lots, spending order, expiry and maturing.
//! - [`hold`]: reserve, capture, release, expire: a hold is resolved exactly once.
//! - [`reversal`]: proportional reversal of cancelled or returned bills.
//! - [`error`]: the crate's one error enum, [`Error`], and its [`ErrorKind`].
//!
//! ## Example: the shop's "1 point per 10 spent"
//! ```
//! use loyalty_core::{Currency, EarnRate, ProgramRules};
//! use rust_decimal::Decimal;
//! let mut shop = ProgramRules::new(Currency::new("INR")?);
//! shop.base_rate = EarnRate::new("1".parse()?, Decimal::from(10))?;
//! let shop = shop.validate()?;
//! assert_eq!(shop.base_rate.points_for(Decimal::from(500))?, Decimal::from(50));
//! # Ok::<(), loyalty_core::Error>(())
//! ```

pub mod allocate;
pub mod bill;
pub mod campaigns;
pub mod cashback;
pub mod checkout;
pub mod discounts;
pub mod earn;
pub mod error;
pub mod hold;
pub mod ledger;
pub mod lots;
pub mod program;
pub mod redeem;
pub mod reversal;
pub mod tiers;
pub mod values;

pub use allocate::allocate;
pub use bill::{Bill, BillLine};
pub use campaigns::{
    ActiveCampaign, CampaignLimit, CampaignUsage, CappedBonus, campaign_applies,
    cap_campaign_bonus, in_application_order, line_is_eligible,
};
pub use checkout::{BillEarning, Quote, QuoteInput, earn_on_bill, quote};
pub use discounts::{DiscountedLine, Discounts, apply_discounts};
pub use earn::{
    CampaignBonus, EarnInput, Earning, LineEarning, LinePoints, LineRule, action_award,
    compute_earning, referral_points,
};
pub use error::{Error, ErrorKind, Result};
pub use hold::{Hold, HoldOutcome, HoldStatus};
pub use ledger::{Balances, BucketDelta, CreditSplit, EntryKind, LotTotals, Violation};
pub use lots::{Allocation, Lot, LotSplit};
pub use program::{
    ActionRule, BillDiscount, Campaign, CampaignEffect, CampaignSpec, Category, CategoryDiscount,
    CategoryRule, DiscountRules, EarnBasis, ExpiryPolicy, ProgramKind, ProgramRules,
    RedemptionRules, ReturnPolicy, Reward, RewardKind, Rules, Tier, TierBasis, TierRules,
};
pub use redeem::{
    Redemption, RedemptionContext, RedemptionLimit, RedemptionLimitReason, max_redeemable,
    points_value, validate_redemption,
};
pub use reversal::{BillRecord, ReversalPlan, TakeBack};
pub use tiers::{TierChange, reevaluate, tier_for, upgrade_on_earn};
pub use values::{
    CardNumber, ConversionRate, Currency, EarnRate, IdempotencyKey, MAX_RATE_RATIO, Money,
    Multiplier, Percent, PointPrecision, Points, Rounding,
};
