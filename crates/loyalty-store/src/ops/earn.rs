//! Earning on a bill: base and category points, tier and campaign bonuses, the earn cap, the
//! tier upgrade the bill may cause, and the referrer's share, as one idempotent transaction.
//!
//! [`Store::earn`] works in this order, all in one transaction:
//! 1. The program must be enabled, the member active and a member of the program.
//! 2. Locks, always in this order so concurrent earns cannot deadlock: the member's account,
//!    then the referrer's (when the referrer is an active member of the same program), then
//!    the applicable campaigns that have a budget. Both accounts are settled (expiry,
//!    maturing).
//!    Before that, the bill's date is checked (`FailedPrecondition`): not older than the
//!    program's maximum bill age, and not so old that its points would already have expired.
//! 3. A bill reference earns once per membership: a `bills` row with `earned_at` set refuses
//!    the earn (`FailedPrecondition`). The value already redeemed on the bill (its `bills` row)
//!    is passed to `loyalty-core`, so points never earn on the part paid with points.
//! 4. `loyalty-core`'s [`earn_on_bill`](loyalty_core::earn_on_bill()) computes everything at
//!    the tier held before the bill. Posted: one `earned` entry (base + tier bonus), one
//!    `campaign_bonus` entry per campaign that gave points (counted against its member cap and
//!    budget; the `awarded <= budget` CHECK is the backstop). Their lots' pending period
//!    and expiry count from the bill's time, not from now (a late upload of an offline bill
//!    is already matured, or expires sooner).
//! 5. The `bills` row records the gross total, the earning amount, the points earned (without
//!    the upgrade bonus), the referral and the bill time (`earned_at`); `earn_lines` records
//!    each line's category, rule and share of the points (one multi-row INSERT).
//! 6. The tier is re-measured including this bill and may go up (never down here), crediting
//!    the upgrade bonus as a `tier_bonus` entry; the new tier applies from the next bill.
//! 7. The referrer is credited a `referral_earned` entry (`source_member_id` = the member).

use chrono::{DateTime, Utc};
use loyalty_core::ledger::EntryKind;
use loyalty_core::{Bill, BillLine, CampaignLimit, IdempotencyKey, Money, Points, Rules};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::{Account, EntryMeta};
use crate::amounts::{money_from_db, money_to_db, points_to_db};
use crate::clock::to_db_time;
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{Canonical, Fingerprint};
use crate::models::ledger::BillRow;
use crate::models::member::{MemberRow, MembershipRow};
use crate::ops::bills::{bill_time, check_reference, find_bill, record_bill};
use crate::ops::campaigns::{as_active, candidates, record_award};
use crate::ops::earn_lines::{EarnLine, insert_lines, lines_of};
use crate::ops::members::{find_membership, load_member, require_active};
use crate::ops::programs::require_enabled;
use crate::ops::rules_cache::load_program;
use crate::ops::stored::StoredEarn;
use crate::ops::tiers::{TierMove, current_tier, upgrade_after_earn};
use crate::store::Store;
use loyalty_core::Balances;

/// Earn on a bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarnRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// The bill or order id (1 to 128 characters); a bill earns once.
    pub reference: String,
    /// The gross bill lines (before discounts and points).
    pub lines: Vec<BillLine>,
    /// When the bill was made (campaign windows and weekdays are judged by it); default now.
    /// At most a few minutes in the future.
    pub at: Option<DateTime<Utc>>,
    /// Who asks (an API key id).
    pub actor: String,
}

impl Fingerprint for EarnRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let EarnRequest {
            idempotency_key: _,
            member_id,
            program_id,
            reference,
            lines,
            at,
            actor: _,
        } = self;
        out.text(1, member_id);
        out.text(2, program_id);
        out.text(3, reference);
        out.records(4, lines.iter());
        out.opt_instant(5, *at);
    }
}

/// What one campaign added to the bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignAward {
    /// The campaign.
    pub campaign_id: String,
    /// Its name.
    pub name: String,
    /// The bonus credited (after its caps and the bill cap).
    pub points: Points,
    /// The cap that cut it, if one did: `member_cap`, `budget` or `bill_cap`.
    pub limited_by: Option<String>,
    /// The `campaign_bonus` entry (none when the caps left nothing).
    pub entry_id: Option<String>,
}

/// What an earn did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredEarn", into = "StoredEarn")]
pub struct EarnOutcome {
    /// The membership credited.
    pub membership_id: String,
    /// The bill reference.
    pub reference: String,
    /// Every entry posted for the bill, in order: earned, campaign bonuses, tier bonus,
    /// the referrer's referral entry (expiry and maturing entries of settling are not listed).
    pub entry_ids: Vec<String>,
    /// The points the bill earned the member: base + tier bonus + campaign bonuses (not the
    /// tier upgrade bonus).
    pub points: Points,
    /// The lines' points after the bill cap.
    pub base: Points,
    /// What the member's tier multiplier added.
    pub tier_bonus: Points,
    /// The tier multiplier the bill earned at.
    pub tier_multiplier: Decimal,
    /// The campaigns that applied, in application order.
    pub campaign_bonuses: Vec<CampaignAward>,
    /// Each bill line's category, rule and share of `points` (they add up to it exactly);
    /// empty in answers recorded before lines were.
    pub lines: Vec<EarnLine>,
    /// What the earn cap per bill took away.
    pub cap_reduction: Points,
    /// The amount that earned (after discounts and the part paid with points), in the
    /// program's currency.
    pub earning_amount: Money,
    /// What the referrer earned (zero without a referrer in the program).
    pub referral_points: Points,
    /// The referrer who earned it.
    pub referrer_member_id: Option<String>,
    /// The tier upgrade the bill caused.
    pub tier_change: Option<TierMove>,
    /// The member's balances after the earn.
    pub balances: Balances,
    /// The bill's time.
    pub at: DateTime<Utc>,
}

/// Checks who performs a call.
pub(crate) fn check_actor(actor: &str) -> StoreResult<()> {
    if actor.trim().is_empty() || actor.chars().count() > 200 {
        return Err(StoreError::InvalidArgument(
            "the actor (who performs the call) must have 1 to 200 characters".into(),
        ));
    }
    Ok(())
}

/// The referrer's membership in the same program, if the program pays referrals, the member
/// was referred and the referrer is an active member of the program: only then does a bill
/// earn a referral share.
pub(crate) fn referrer_membership(
    conn: &mut DbConnection,
    tenant: &str,
    member: &MemberRow,
    program_id: &str,
    rules: &Rules,
) -> StoreResult<Option<MembershipRow>> {
    let Some(referrer_id) = &member.referrer_id else {
        return Ok(None);
    };
    if rules.referral_percent.is_zero() {
        return Ok(None);
    }
    let referrer = load_member(conn, tenant, referrer_id)?;
    if !referrer.active {
        return Ok(None);
    }
    match find_membership(conn, tenant, referrer_id, program_id) {
        Ok(row) => Ok(Some(row)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Store {
    /// Earns points on a bill, once per bill reference (see the module docs). Refused with
    /// `FailedPrecondition` when the program is disabled, the member deactivated, or the bill
    /// already earned; `NotFound` when the member has not joined the program.
    pub fn earn(&self, tenant: &str, request: EarnRequest) -> StoreResult<EarnOutcome> {
        let reference = check_reference(&request.reference)?;
        check_actor(&request.actor)?;
        let now = self.now();
        let at = bill_time(request.at, now)?;
        // The fingerprint must not tell " ORDER1" from "ORDER1".
        let request = EarnRequest {
            reference: reference.clone(),
            ..request
        };
        self.idempotent(tenant, &request.idempotency_key, "earn", &request, |conn| {
            earn_in(conn, tenant, &request, &reference, at, now)
        })
    }
}

fn earn_in(
    conn: &mut DbConnection,
    tenant: &str,
    request: &EarnRequest,
    reference: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<EarnOutcome> {
    let program = load_program(conn, tenant, &request.program_id)?;
    require_enabled(&program)?;
    let rules = &program.rules;
    let member = load_member(conn, tenant, &request.member_id)?;
    require_active(&member)?;
    loyalty_core::lots::check_bill_date(rules, at, now)?;
    // Lock order: the member's account, then the referrer's, then budgeted campaigns.
    let mut acct = Account::lock_of(conn, tenant, &member.id, &program.id, now)?;
    acct.settle(conn)?;
    let mut referrer = match referrer_membership(conn, tenant, &member, &program.id, rules)? {
        Some(row) => {
            let mut r = Account::lock(conn, tenant, &row.id, now)?;
            r.settle(conn)?;
            Some(r)
        }
        None => None,
    };

    let existing = find_bill(conn, &acct.row.id, reference)?;
    if let Some(bill) = &existing
        && bill.earned_at.is_some()
    {
        return Err(StoreError::FailedPrecondition(format!(
            "bill {reference:?} already earned points for this member; a bill earns once \
             (reverse it to correct it)"
        )));
    }
    let redeemed_value = match &existing {
        Some(b) => money_from_db(b.redeemed_value, rules.currency)?,
        None => Money::zero(rules.currency),
    };
    let bill = Bill::new(request.lines.clone(), rules.currency, at)?;
    let found = candidates(conn, &program, &acct.row.id, at, true)?;
    let earned = loyalty_core::earn_on_bill(
        rules,
        current_tier(rules, &acct.row),
        &as_active(&found),
        &bill,
        &redeemed_value,
        referrer.is_some(),
    )?;
    let e = &earned.earning;

    // The bill's points (its own, its campaigns', the referrer's) count their pending period
    // and expiry from the bill's time; a tier upgrade bonus is granted now.
    let meta = EntryMeta {
        earned_at: Some(at),
        ..EntryMeta::by(&request.actor).with_reference(Some(reference))
    };
    let mut entry_ids = Vec::new();
    let base = e.base.checked_add(e.tier_bonus)?;
    entry_ids.extend(acct.credit(conn, rules, EntryKind::Earned, base, &meta)?);
    let mut campaign_bonuses = Vec::new();
    for bonus in &e.campaign_bonuses {
        let campaign_id = bonus.campaign_id.to_string();
        let entry_id = credit_campaign(conn, rules, &mut acct, &meta, &campaign_id, bonus.points)?;
        entry_ids.extend(entry_id.clone());
        campaign_bonuses.push(CampaignAward {
            campaign_id,
            name: bonus.name.clone(),
            points: bonus.points,
            limited_by: bonus.limited_by.map(|l| limit_name(l).to_owned()),
            entry_id,
        });
    }

    let referral = if referrer.is_some() {
        earned.referral_points
    } else {
        Points::ZERO
    };
    let lines = lines_of(e);
    let bill_id = record_bill(
        conn,
        existing,
        BillRow {
            id: String::new(),
            tenant_id: tenant.to_owned(),
            membership_id: acct.row.id.clone(),
            reference: reference.to_owned(),
            total: money_to_db(&bill.total())?,
            earn_amount: money_to_db(&earned.earning_amount)?,
            returned: 0,
            earned: points_to_db(e.total)?,
            earned_reversed: 0,
            referrer_membership_id: referrer.as_ref().map(|r| r.row.id.clone()),
            referral: points_to_db(referral)?,
            referral_reversed: 0,
            redeemed: 0,
            redeemed_value: 0,
            redeemed_returned: 0,
            earned_at: Some(to_db_time(at)),
            created_at: to_db_time(now),
            updated_at: to_db_time(now),
        },
    )?;
    insert_lines(conn, &bill_id, &lines)?;

    let tier_change = upgrade_after_earn(conn, rules, &mut acct, &request.actor)?;
    entry_ids.extend(tier_change.as_ref().and_then(|t| t.bonus_entry_id.clone()));
    acct.save(conn)?;

    if let Some(r) = referrer.as_mut() {
        let meta = EntryMeta {
            source_member_id: Some(member.id.clone()),
            ..meta.clone()
        };
        entry_ids.extend(r.credit(conn, rules, EntryKind::ReferralEarned, referral, &meta)?);
        r.save(conn)?;
    }

    Ok(EarnOutcome {
        membership_id: acct.row.id.clone(),
        reference: reference.to_owned(),
        entry_ids,
        points: e.total,
        base: e.base,
        tier_bonus: e.tier_bonus,
        tier_multiplier: e.tier_multiplier.value(),
        campaign_bonuses,
        lines,
        cap_reduction: e.cap_reduction,
        earning_amount: earned.earning_amount,
        referral_points: referral,
        referrer_member_id: referrer.map(|r| r.row.member_id),
        tier_change,
        balances: acct.balances,
        at,
    })
}

fn limit_name(limit: CampaignLimit) -> &'static str {
    match limit {
        CampaignLimit::MemberCap => "member_cap",
        CampaignLimit::Budget => "budget",
        CampaignLimit::BillCap => "bill_cap",
    }
}

/// Credits one campaign's bonus and counts it against the campaign's caps.
fn credit_campaign(
    conn: &mut DbConnection,
    rules: &Rules,
    acct: &mut Account,
    meta: &EntryMeta,
    campaign_id: &str,
    points: Points,
) -> StoreResult<Option<String>> {
    if points.is_zero() {
        return Ok(None);
    }
    let meta = EntryMeta {
        campaign_id: Some(campaign_id.to_owned()),
        ..meta.clone()
    };
    let entry = acct.credit(conn, rules, EntryKind::CampaignBonus, points, &meta)?;
    record_award(conn, campaign_id, &acct.row.id, points)?;
    Ok(entry)
}
