//! The checkout quote: what a bill would get (discounts, redeemable points, what is left to
//! pay, what it would earn) without changing anything.

use chrono::{DateTime, Utc};
use loyalty_core::{Bill, BillLine, Money, Points, Quote, QuoteInput};

use crate::error::StoreResult;
use crate::ops::bills::{bill_time, check_reference, find_bill};
use crate::ops::campaigns::{as_active, candidates};
use crate::ops::earn::referrer_membership;
use crate::ops::members::{find_membership, load_member, require_active};
use crate::ops::programs::require_enabled;
use crate::ops::rules_cache::load_program;
use crate::ops::spending::already_on_bill;
use crate::ops::tiers::current_tier;
use crate::store::Store;

/// Quote a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteRequest {
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// The bill reference, when points were already redeemed on it.
    pub reference: Option<String>,
    /// The gross bill lines.
    pub lines: Vec<BillLine>,
    /// The bill's time (campaigns); default now.
    pub at: Option<DateTime<Utc>>,
    /// Points the member wants to redeem on the bill (checked against the rules).
    pub requested_points: Option<Points>,
}

/// A quote and what it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteView {
    /// The membership.
    pub membership_id: String,
    /// The tier the bill would earn at.
    pub tier: Option<String>,
    /// The spendable points the quote assumed.
    pub available: Points,
    /// Whether the bill reference has already earned (earning on it again would be refused).
    pub already_earned: bool,
    /// The quote.
    pub quote: Quote,
}

impl Store {
    /// Quotes a checkout. Read-only: it writes nothing, so it sees the available balance as
    /// last stored (lots that expired or matured since the member's last operation are
    /// settled by the next operation that changes points, and may make the quote's maximum
    /// redeemable slightly off until then). Refused like an earn on a disabled program, for
    /// a deactivated member, or for a dated bill too old to earn, since such a quote could not
    /// be honoured.
    pub fn quote(&self, tenant: &str, request: QuoteRequest) -> StoreResult<QuoteView> {
        let reference = request
            .reference
            .as_deref()
            .map(check_reference)
            .transpose()?;
        let now = self.now();
        let at = bill_time(request.at, now)?;
        self.read(|conn| {
            let program = load_program(conn, tenant, &request.program_id)?;
            require_enabled(&program)?;
            let rules = &program.rules;
            let member = load_member(conn, tenant, &request.member_id)?;
            require_active(&member)?;
            // A dated bill Earn would refuse (older than the program accepts, or its points
            // already expired) gets the same answer here: its quote could not be honoured.
            loyalty_core::lots::check_bill_date(rules, at, now)?;
            let membership = find_membership(conn, tenant, &member.id, &program.id)?;
            let has_referrer =
                referrer_membership(conn, tenant, &member, &program.id, rules)?.is_some();
            let bill_row = match &reference {
                Some(r) => find_bill(conn, &membership.id, r)?,
                None => None,
            };
            // Points already paying this bill: redemptions, captures and active holds (the
            // same count redeem and reserve use, so the quoted maximum is what they accept).
            let (redeemed, redeemed_value) = match &reference {
                Some(r) => {
                    let on_bill = already_on_bill(conn, &membership.id, r, rules.currency)?;
                    (on_bill.points, on_bill.value)
                }
                None => (Points::ZERO, Money::zero(rules.currency)),
            };
            let bill = Bill::new(request.lines.clone(), rules.currency, at)?;
            let found = candidates(conn, &program, &membership.id, at, false)?;
            let active = as_active(&found);
            let available = membership.available_points()?;
            let quote = loyalty_core::quote(&QuoteInput {
                rules,
                tier: current_tier(rules, &membership),
                campaigns: &active,
                bill: &bill,
                available,
                already_redeemed_on_bill: redeemed,
                already_redeemed_value_on_bill: redeemed_value,
                requested_points: request.requested_points,
                has_referrer,
            })?;
            Ok(QuoteView {
                membership_id: membership.id.clone(),
                tier: current_tier(rules, &membership).map(|t| t.name.clone()),
                available,
                already_earned: bill_row.is_some_and(|b| b.earned_at.is_some()),
                quote,
            })
        })
    }
}
