//! Redeeming points on a bill at checkout: the points pay part of the bill at once.

use chrono::{DateTime, Utc};
use loyalty_core::ledger::EntryKind;
use loyalty_core::{BillLine, IdempotencyKey, Money, Points};
use serde::{Deserialize, Serialize};

use crate::account::EntryMeta;
use crate::amounts::money_to_db;
use crate::error::StoreResult;
use crate::fingerprint::{Canonical, Fingerprint};
use crate::ops::bills::check_reference;
use crate::ops::earn::check_actor;
use crate::ops::stored::StoredRedeem;
use loyalty_core::Balances;

use crate::ops::spending::{CheckoutSpend, SpendOnBill, add_to_bill};
use crate::store::Store;

/// A request to pay part of a bill with points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The member paying.
    pub member_id: String,
    /// The program whose points pay.
    pub program_id: String,
    /// The bill's reference (required: the per-bill limits count every redemption on it).
    pub reference: String,
    /// The gross bill: the program's discounts are applied first, and the redemption rules
    /// (minimum, maximum share, maximum points) judge the discounted total.
    pub lines: Vec<BillLine>,
    /// When the bill was made (default: now).
    pub at: Option<DateTime<Utc>>,
    /// Points to spend.
    pub points: Points,
    /// Who asks (an API key id, a cashier).
    pub actor: String,
}

impl Fingerprint for RedeemRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let RedeemRequest {
            idempotency_key: _,
            member_id,
            program_id,
            reference,
            lines,
            at,
            points,
            actor: _,
        } = self;
        out.text(1, member_id);
        out.text(2, program_id);
        out.text(3, reference);
        out.records(4, lines.iter());
        out.opt_instant(5, *at);
        out.decimal(6, points.value());
    }
}

/// What a redemption did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredRedeem", into = "StoredRedeem")]
pub struct RedeemOutcome {
    /// The `redeemed` ledger entry.
    pub entry_id: String,
    /// The bill's reference.
    pub reference: String,
    /// Points spent.
    pub points: Points,
    /// What they paid, rounded down to the currency's minor units, in the program's currency
    /// (as are the other amounts).
    pub value: Money,
    /// The bill total after discounts.
    pub bill_total: Money,
    /// What is left to pay: the discounted total minus everything points paid on the bill.
    pub to_pay: Money,
    /// The membership's balances afterwards.
    pub balances: Balances,
}

impl Store {
    /// Pays part of a bill with points, in one idempotent transaction: checks the program is
    /// enabled, the member active and within the redemption rate limit, locks the membership,
    /// settles it, checks the redemption with `loyalty-core` against the discounted bill and
    /// what points already pay on it (earlier redemptions and active holds on the same
    /// reference), spends the lots that expire first, and adds the points to the bill's record.
    ///
    /// A refused redemption (a rule, the rate limit, a disabled program) changes nothing but
    /// the rate limit's record of the attempt.
    pub fn redeem(&self, tenant: &str, req: RedeemRequest) -> StoreResult<RedeemOutcome> {
        let reference = check_reference(&req.reference)?;
        check_actor(&req.actor)?;
        let req = RedeemRequest {
            reference: reference.clone(),
            ..req
        };
        let now = self.now();
        let spend = SpendOnBill {
            member_id: &req.member_id,
            program_id: &req.program_id,
            reference: &reference,
            lines: &req.lines,
            at: req.at,
            points: req.points,
        };
        let key = &req.idempotency_key;
        self.spend_on_bill(tenant, key, "redeem", &req, spend, now, |conn, checkout| {
            let CheckoutSpend {
                spender: _,
                mut acct,
                bill,
                redemption,
                quote,
            } = checkout;
            let meta = EntryMeta::by(&req.actor).with_reference(Some(&reference));
            let (entry_id, _) = acct.debit(conn, EntryKind::Redeemed, redemption.points, &meta)?;
            add_to_bill(
                conn,
                &acct.row,
                &reference,
                money_to_db(&bill.total())?,
                redemption.points,
                &redemption.value,
                now,
            )?;
            acct.save(conn)?;
            Ok(RedeemOutcome {
                entry_id,
                reference: reference.clone(),
                points: redemption.points,
                value: redemption.value,
                bill_total: quote.discounts.net_total,
                to_pay: quote.to_pay,
                balances: acct.balances,
            })
        })
    }
}
