//! The invariant checker: stored balances = what the entries add up to = what the lots hold.

use std::fmt;

use crate::error::Result;
use crate::hold::Hold;
use crate::lots::Lot;
use crate::values::Points;

use super::Balances;

/// One bucket or lifetime total of [`Balances`].
///
/// ```
/// use loyalty_core::ledger::Bucket;
/// assert_eq!(Bucket::Available.as_str(), "available");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// [`Balances::available`].
    Available,
    /// [`Balances::pending`].
    Pending,
    /// [`Balances::held`].
    Held,
    /// [`Balances::debt`].
    Debt,
    /// [`Balances::earned`].
    Earned,
    /// [`Balances::redeemed`].
    Redeemed,
    /// [`Balances::expired`].
    Expired,
    /// [`Balances::reversed`].
    Reversed,
}

impl Bucket {
    /// The field's name.
    ///
    /// ```
    /// use loyalty_core::ledger::Bucket;
    /// assert_eq!(Bucket::Held.as_str(), "held");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Available => "available",
            Bucket::Pending => "pending",
            Bucket::Held => "held",
            Bucket::Debt => "debt",
            Bucket::Earned => "earned",
            Bucket::Redeemed => "redeemed",
            Bucket::Expired => "expired",
            Bucket::Reversed => "reversed",
        }
    }
}

/// What a stored balance was compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The balances obtained by replaying the membership's entries.
    Entries,
    /// The remaining amounts of the membership's lots (and its active holds, for `held`).
    Lots,
}

/// The sums of a membership's lots by state, as the store computes them.
///
/// ```
/// use loyalty_core::ledger::LotTotals;
/// use loyalty_core::Points;
/// let shop_member = LotTotals { available: Points::whole(150)?, ..LotTotals::default() };
/// assert!(shop_member.pending.is_zero());
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LotTotals {
    /// Remaining points of lots that are not pending (overdue ones included until the expiry
    /// sweep turns them into `Expired` entries).
    pub available: Points,
    /// Remaining points of pending lots.
    pub pending: Points,
    /// Points of active holds (reserved from lots, so no longer in any lot's remaining).
    pub held_by_active_holds: Points,
}

impl LotTotals {
    /// Sums lots and active holds in memory (the store does the same in SQL).
    ///
    /// ```
    /// use chrono::Utc;
    /// use loyalty_core::ledger::LotTotals;
    /// use loyalty_core::lots::Lot;
    /// use loyalty_core::Points;
    /// use uuid::Uuid;
    /// let lot = Lot { id: Uuid::from_u128(123), remaining: Points::whole(150)?, spendable_from: Utc::now(), expires_at: None, pending: false };
    /// assert_eq!(LotTotals::of(&[lot], &[])?.available, Points::whole(150)?);
    /// # Ok::<(), loyalty_core::Error>(())
    /// ```
    pub fn of(lots: &[Lot], holds: &[Hold]) -> Result<LotTotals> {
        let mut totals = LotTotals::default();
        for lot in lots {
            let total = if lot.pending {
                &mut totals.pending
            } else {
                &mut totals.available
            };
            *total = total.checked_add(lot.remaining)?;
        }
        for hold in holds.iter().filter(|h| !h.status.is_resolved()) {
            totals.held_by_active_holds = totals.held_by_active_holds.checked_add(hold.points)?;
        }
        Ok(totals)
    }
}

/// A stored balance that disagrees with its evidence.
///
/// ```
/// use loyalty_core::ledger::{Bucket, Source, Violation};
/// use loyalty_core::Points;
/// let v = Violation { bucket: Bucket::Available, source: Source::Lots, stored: Points::whole(150)?, computed: Points::whole(130)? };
/// assert_eq!(v.to_string(), "available: stored 150, but the lots hold 130");
/// # Ok::<(), loyalty_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Violation {
    /// Which bucket or total disagreed.
    pub bucket: Bucket,
    /// What it was compared with.
    pub source: Source,
    /// The stored value.
    pub stored: Points,
    /// The value computed from `source`.
    pub computed: Points,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let evidence = match self.source {
            Source::Entries => "the entries add up to",
            Source::Lots => "the lots hold",
        };
        write!(
            f,
            "{}: stored {}, but {evidence} {}",
            self.bucket.as_str(),
            self.stored,
            self.computed
        )
    }
}

/// Every disagreement between a membership's stored balances, the balances its entries add up
/// to, and its lots. Empty when the ledger is consistent.
///
/// Checked: all eight fields against the entries; available and pending against the lots in
/// that state; held against the active holds.
///
/// ```
/// use loyalty_core::ledger::{Balances, Bucket, LotTotals, check_invariants};
/// use loyalty_core::Points;
/// // 150 available after earning 50 on ORDER123, using 30 on ORDER124 and 20 expiring.
/// let stored = Balances {
///     available: Points::whole(150)?, earned: Points::whole(200)?,
///     redeemed: Points::whole(30)?, expired: Points::whole(20)?, ..Balances::ZERO
/// };
/// let lots = LotTotals { available: Points::whole(150)?, ..LotTotals::default() };
/// assert!(check_invariants(&stored, &stored, &lots).is_empty());
/// let short = LotTotals { available: Points::whole(130)?, ..lots };
/// let found = check_invariants(&stored, &stored, &short);
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].bucket, Bucket::Available);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn check_invariants(
    stored: &Balances,
    from_entries: &Balances,
    lots: &LotTotals,
) -> Vec<Violation> {
    let fields = |b: &Balances| {
        [
            (Bucket::Available, b.available),
            (Bucket::Pending, b.pending),
            (Bucket::Held, b.held),
            (Bucket::Debt, b.debt),
            (Bucket::Earned, b.earned),
            (Bucket::Redeemed, b.redeemed),
            (Bucket::Expired, b.expired),
            (Bucket::Reversed, b.reversed),
        ]
    };
    let against_entries = fields(stored)
        .into_iter()
        .zip(fields(from_entries))
        .map(|((bucket, stored), (_, computed))| (bucket, Source::Entries, stored, computed));
    let against_lots = [
        (Bucket::Available, stored.available, lots.available),
        (Bucket::Pending, stored.pending, lots.pending),
        (Bucket::Held, stored.held, lots.held_by_active_holds),
    ]
    .into_iter()
    .map(|(bucket, stored, computed)| (bucket, Source::Lots, stored, computed));
    against_entries
        .chain(against_lots)
        .filter(|(_, _, stored, computed)| stored != computed)
        .map(|(bucket, source, stored, computed)| Violation {
            bucket,
            source,
            stored,
            computed,
        })
        .collect()
}
