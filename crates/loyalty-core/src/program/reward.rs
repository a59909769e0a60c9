//! The rewards catalog: coupons, donations and items bought with points.

use super::name;
use crate::error::{Error, Result};
use crate::values::{Money, Points};

/// What a reward gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewardKind {
    /// A coupon worth an amount; redeeming it issues a unique code.
    Coupon {
        /// The coupon's value.
        value: Money,
    },
    /// A donation of an amount to a cause.
    Donation {
        /// The amount donated.
        amount: Money,
    },
    /// A physical or digital item.
    Item,
}

/// A catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reward {
    name: String,
    kind: RewardKind,
    cost: Points,
    validity_days: Option<u32>,
}

impl Reward {
    /// Validates a reward: a name, a positive cost, and (for coupons) how many days the code is
    /// valid (1..=3650, `None` = no end).
    ///
    /// ```
    /// use loyalty_core::{Currency, Money, Reward, RewardKind};
    /// let usd = Currency::new("USD")?;
    /// let coupon = Reward::new("$5 off", RewardKind::Coupon { value: Money::parse("5", usd)? }, "500".parse()?, Some(90))?;
    /// assert_eq!(coupon.cost().to_string(), "500");
    /// assert!(Reward::new("free", RewardKind::Item, "0".parse()?, None).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn new(
        reward_name: &str,
        kind: RewardKind,
        cost: Points,
        validity_days: Option<u32>,
    ) -> Result<Self> {
        let reward_name = name("reward name", reward_name, 200)?;
        if cost.is_zero() {
            return Err(Error::NotPositive {
                what: "reward cost",
                value: cost.value(),
            });
        }
        if let Some(days) = validity_days
            && !(1..=3650).contains(&days)
        {
            return Err(Error::InvalidField {
                what: "reward validity",
                reason: format!("it must be 1 to 3650 days (got {days})"),
            });
        }
        Ok(Reward {
            name: reward_name,
            kind,
            cost,
            validity_days,
        })
    }

    /// The reward's name.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money, Reward, RewardKind};
    /// let coupon = RewardKind::Coupon { value: Money::parse("10.00", Currency::new("INR")?)? };
    /// let reward = Reward::new(" 10.00 off ", coupon, "100".parse()?, Some(90))?;
    /// assert_eq!(reward.name(), "10.00 off"); // surrounding blanks are trimmed
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it gives.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money, Reward, RewardKind};
    /// let ten = Money::parse("10.00", Currency::new("INR")?)?;
    /// let donation = Reward::new("Plant a tree", RewardKind::Donation { amount: ten }, "100".parse()?, None)?;
    /// assert_eq!(donation.kind(), &RewardKind::Donation { amount: ten });
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn kind(&self) -> &RewardKind {
        &self.kind
    }

    /// Points it costs.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money, Points, Reward, RewardKind};
    /// // 100 points = 10.00, so a 10.00 coupon costs 100 points.
    /// let coupon = RewardKind::Coupon { value: Money::parse("10.00", Currency::new("INR")?)? };
    /// let reward = Reward::new("10.00 off", coupon, Points::whole(100)?, Some(90))?;
    /// assert_eq!(reward.cost(), Points::whole(100)?);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn cost(&self) -> Points {
        self.cost
    }

    /// Days a coupon code stays valid.
    ///
    /// ```
    /// use loyalty_core::{Currency, Money, Reward, RewardKind};
    /// let coupon = RewardKind::Coupon { value: Money::parse("10.00", Currency::new("INR")?)? };
    /// let reward = Reward::new("10.00 off", coupon.clone(), "100".parse()?, Some(90))?;
    /// assert_eq!(reward.validity_days(), Some(90));
    /// assert_eq!(Reward::new("Mug", RewardKind::Item, "500".parse()?, None)?.validity_days(), None);
    /// assert!(Reward::new("10.00 off", coupon, "100".parse()?, Some(0)).is_err());
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn validity_days(&self) -> Option<u32> {
        self.validity_days
    }
}
