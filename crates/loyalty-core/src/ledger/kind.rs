//! [`EntryKind`]: what a ledger entry did, with the names storage uses.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// What a ledger entry did. Stored by its snake_case name ([`EntryKind::as_str`]).
///
/// ```
/// use loyalty_core::ledger::EntryKind;
/// assert_eq!(EntryKind::ReferralEarned.as_str(), "referral_earned");
/// assert_eq!("referral_earned".parse::<EntryKind>()?, EntryKind::ReferralEarned);
/// assert!("bonus".parse::<EntryKind>().is_err());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// Points earned on a bill.
    Earned,
    /// Points a referrer earned on a referred member's bill.
    ReferralEarned,
    /// Flat points for an action (`feedback`, `event_attended`).
    ActionBonus,
    /// One-time bonus for reaching a tier.
    TierBonus,
    /// Bonus from a campaign.
    CampaignBonus,
    /// A correction by an admin, up or down, with a reason.
    Adjusted,
    /// Points reserved by a hold (available -> held).
    Reserved,
    /// Held points turned into a redemption when the payment succeeded (held -> gone).
    Captured,
    /// Held points given back to their lots (held -> available).
    Released,
    /// Points spent directly (available -> gone).
    Redeemed,
    /// Earned points taken back because their bill was cancelled or returned.
    Reversed,
    /// Redeemed points given back because their bill was cancelled or returned.
    Returned,
    /// Points whose lot passed its expiry date.
    Expired,
    /// Pending points that became spendable (pending -> available).
    Matured,
    /// An opening balance brought in from another loyalty system by an import: a lot with its
    /// original earn date and expiry. Counts toward lifetime earned, but not as earning done
    /// here (reports' earned flows leave it out; no pending period, no tier or campaign).
    Imported,
}

impl EntryKind {
    /// Every kind, in declaration order.
    pub const ALL: [EntryKind; 15] = [
        EntryKind::Earned,
        EntryKind::ReferralEarned,
        EntryKind::ActionBonus,
        EntryKind::TierBonus,
        EntryKind::CampaignBonus,
        EntryKind::Adjusted,
        EntryKind::Reserved,
        EntryKind::Captured,
        EntryKind::Released,
        EntryKind::Redeemed,
        EntryKind::Reversed,
        EntryKind::Returned,
        EntryKind::Expired,
        EntryKind::Matured,
        EntryKind::Imported,
    ];

    /// The name storage and the API use.
    ///
    /// ```
    /// use loyalty_core::ledger::EntryKind;
    /// assert_eq!(EntryKind::Earned.as_str(), "earned"); // ORDER123
    /// assert_eq!(EntryKind::CampaignBonus.as_str(), "campaign_bonus");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earned => "earned",
            EntryKind::ReferralEarned => "referral_earned",
            EntryKind::ActionBonus => "action_bonus",
            EntryKind::TierBonus => "tier_bonus",
            EntryKind::CampaignBonus => "campaign_bonus",
            EntryKind::Adjusted => "adjusted",
            EntryKind::Reserved => "reserved",
            EntryKind::Captured => "captured",
            EntryKind::Released => "released",
            EntryKind::Redeemed => "redeemed",
            EntryKind::Reversed => "reversed",
            EntryKind::Returned => "returned",
            EntryKind::Expired => "expired",
            EntryKind::Matured => "matured",
            EntryKind::Imported => "imported",
        }
    }

    /// Whether the kind earns points (counts toward lifetime earned and starts a pending
    /// period): earned, referral earned, action, tier and campaign bonuses.
    ///
    /// ```
    /// use loyalty_core::ledger::EntryKind;
    /// assert!(EntryKind::Earned.is_earning());
    /// assert!(!EntryKind::Returned.is_earning());
    /// ```
    pub fn is_earning(self) -> bool {
        matches!(
            self,
            EntryKind::Earned
                | EntryKind::ReferralEarned
                | EntryKind::ActionBonus
                | EntryKind::TierBonus
                | EntryKind::CampaignBonus
        )
    }

    /// Whether the kind may credit points (repay debt, create a lot): the earning kinds,
    /// `Adjusted` (when upward), `Returned` and `Imported`.
    ///
    /// ```
    /// use loyalty_core::ledger::EntryKind;
    /// assert!(EntryKind::Returned.is_credit());
    /// assert!(!EntryKind::Released.is_credit()); // goes back to the same lots, no new lot
    /// ```
    pub fn is_credit(self) -> bool {
        self.is_earning()
            || matches!(
                self,
                EntryKind::Adjusted | EntryKind::Returned | EntryKind::Imported
            )
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        EntryKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::InvalidField {
                what: "entry kind",
                reason: format!("unknown entry kind {s:?}"),
            })
    }
}
