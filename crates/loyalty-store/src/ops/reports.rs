//! Program reports: outstanding points and their money value (the liability), lifetime or
//! windowed flows (earned, with its referral, campaign and tier-bonus parts; admin adjustments
//! apart; redeemed, expired, reversed), the redemption rate, expired points, top members and
//! referral effectiveness. Every number is an SQL aggregate over exact
//! ten-thousandths, computed in one read transaction.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use diesel::dsl::{count, count_star};
use diesel::prelude::*;
use loyalty_core::ledger::EntryKind;
use loyalty_core::{Currency, ProgramKind};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::amounts::from_db;
use crate::clock::to_db_time;
use crate::db::DbConnection;
use crate::error::{StoreError, StoreResult};
use crate::ops::as_of::outstanding_as_of;
use crate::ops::rules_cache::load_program;
use crate::ops::sums::sum;
use crate::schema::{members, memberships};
use crate::store::Store;

/// A program's numbers.
///
/// Its sums stay decimals, not `Points` or `Money`: a sum over memberships may exceed what one
/// balance can hold, and the windowed flows are net amounts. A read, never an idempotency
/// record's answer, so it has no serialized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramReport {
    /// The program.
    pub program_id: String,
    /// Its currency (of `liability`).
    pub currency: Currency,
    /// Points or cashback: a cashback program's points are money in `currency`.
    pub kind: ProgramKind,
    /// Memberships in the program (now).
    pub members: u64,
    /// Points the members hold now: available + pending + held.
    pub points_outstanding: Decimal,
    /// What the outstanding points are worth at the program's redemption rate (`None` when
    /// points cannot pay bills in this program).
    pub liability: Option<Decimal>,
    /// Points earned (every earning kind: bills, actions, referrals, campaigns, tier
    /// bonuses) in the window, or ever. Admin adjustments are not earnings: see `adjusted_up`.
    pub earned: Decimal,
    /// The part of `earned` that referrers earned on referred members' bills.
    pub referral: Decimal,
    /// The part of `earned` that campaigns added.
    pub campaign: Decimal,
    /// The part of `earned` that tier upgrades granted.
    pub tier_bonus: Decimal,
    /// Points admins added by hand.
    pub adjusted_up: Decimal,
    /// Points admins took away by hand.
    pub adjusted_down: Decimal,
    /// Points redeemed or captured, net of points given back by returns and cancellations.
    pub redeemed: Decimal,
    /// Points that expired.
    pub expired: Decimal,
    /// Points taken back by reversals of cancelled or returned bills.
    pub reversed: Decimal,
    /// `redeemed / earned`, rounded to 4 decimal places; zero when nothing was earned.
    pub redemption_rate: Decimal,
}

/// Expired points of a program in a time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredPoints {
    /// Points that expired.
    pub points: Decimal,
    /// `expired` entries (one per lot that expired).
    pub entries: u64,
}

/// What [`Store::top_members`] ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopBy {
    /// Lifetime points earned.
    Earned,
    /// Points available now.
    Available,
}

/// A member in a ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopMember {
    /// The member.
    pub member_id: String,
    /// The membership.
    pub membership_id: String,
    /// The member's name.
    pub name: String,
    /// The member's card number.
    pub card_number: String,
    /// Points available now.
    pub available: Decimal,
    /// Lifetime points earned.
    pub earned: Decimal,
}

/// How well referrals work in a program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralReport {
    /// Members who referred at least one member of the program.
    pub referrers: u64,
    /// Members of the program who were referred.
    pub referred_members: u64,
    /// Points referrers earned on referred members' bills (`referral_earned` entries).
    pub referral_points: Decimal,
    /// Referred members who have earned points in the program.
    pub referred_members_who_earned: u64,
}

/// Flows of one program from its entries, by kind (adjustments by direction, as
/// `Balances::apply` tells them apart).
#[derive(Debug, Default)]
struct Flows {
    earned: i64,
    referral: i64,
    campaign: i64,
    tier_bonus: i64,
    adjusted_up: i64,
    adjusted_down: i64,
    redeemed: i64,
    expired: i64,
    reversed: i64,
}

/// The end of a window of entries.
#[derive(Debug, Clone, Copy)]
enum End {
    /// Entries made before the instant (or ever, `None`).
    Before(Option<DateTime<Utc>>),
    /// Entries made at or before the instant.
    AtOrBefore(DateTime<Utc>),
}

fn flows_from_entries(
    conn: &mut DbConnection,
    program_id: &str,
    from: Option<DateTime<Utc>>,
    end: End,
) -> StoreResult<Flows> {
    use crate::schema::ledger_entries::dsl as e;
    // Unbounded ends are the epoch and the last day of year 9999: every entry lies between.
    let from = to_db_time(from.unwrap_or(DateTime::UNIX_EPOCH));
    // Stored times are whole microseconds, so "at or before t" is "before t + 1 µs".
    let to = match end {
        End::Before(to) => to.map_or_else(end_of_time, to_db_time),
        End::AtOrBefore(at) => to_db_time(at) + TimeDelta::microseconds(1),
    };
    let window = || {
        e::ledger_entries
            .filter(e::program_id.eq(program_id.to_owned()))
            .filter(e::created_at.ge(from))
            .filter(e::created_at.lt(to))
    };
    let by_kind: Vec<(String, i64)> = window()
        .group_by(e::kind)
        .select((e::kind, sum("points")))
        .load(conn)?;
    // An adjustment whose net change is negative is a debit (see `Balances::apply`).
    let adjusted_down: i64 = window()
        .filter(e::kind.eq(EntryKind::Adjusted.as_str()))
        .filter((e::d_available + e::d_pending + e::d_held - e::d_debt).lt(0))
        .select(sum("points"))
        .get_result(conn)?;
    let mut flows = Flows {
        adjusted_down,
        adjusted_up: -adjusted_down,
        ..Flows::default()
    };
    for (kind, points) in by_kind {
        let Ok(kind) = kind.parse::<EntryKind>() else {
            continue;
        };
        match kind {
            EntryKind::Adjusted => flows.adjusted_up += points,
            k if k.is_earning() => {
                flows.earned += points;
                match k {
                    EntryKind::ReferralEarned => flows.referral += points,
                    EntryKind::CampaignBonus => flows.campaign += points,
                    EntryKind::TierBonus => flows.tier_bonus += points,
                    _ => {}
                }
            }
            EntryKind::Redeemed | EntryKind::Captured => flows.redeemed += points,
            EntryKind::Returned => flows.redeemed -= points,
            EntryKind::Expired => flows.expired += points,
            EntryKind::Reversed => flows.reversed += points,
            _ => {}
        }
    }
    Ok(flows)
}

fn end_of_time() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .unwrap_or(NaiveDateTime::MAX)
}

/// `redeemed / earned` to 4 places; zero when nothing was earned.
fn rate(redeemed: Decimal, earned: Decimal) -> Decimal {
    if earned <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    redeemed
        .checked_div(earned)
        .unwrap_or_default()
        .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
}

fn number(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

impl Store {
    /// A program's report: members and outstanding points now, with their money value; the
    /// flows of points in `[from, to)`, or over the program's lifetime when neither bound is
    /// given, summed from the entries by kind (so adjustments stay apart from earnings, which
    /// the memberships' lifetime totals do not tell).
    pub fn program_report(
        &self,
        tenant: &str,
        program_id: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> StoreResult<ProgramReport> {
        self.report(tenant, program_id, from, End::Before(to), None)
    }

    /// The program's report as the ledger recorded it at `as_of` (entries made then
    /// included): memberships joined by then, their outstanding points from each one's last
    /// entry by then (one index seek per membership: O(m log n)), the liability of those points
    /// at today's redemption rate, and the lifetime flows up to `as_of` (summed from the
    /// program's entries, as the lifetime report does). Lazily posted expiries count when they
    /// were recorded. `as_of` after now is `InvalidArgument`.
    pub fn program_report_as_of(
        &self,
        tenant: &str,
        program_id: &str,
        as_of: DateTime<Utc>,
    ) -> StoreResult<ProgramReport> {
        if as_of > self.now() {
            return Err(StoreError::InvalidArgument(format!(
                "as_of {} is in the future",
                as_of.to_rfc3339()
            )));
        }
        self.report(
            tenant,
            program_id,
            None,
            End::AtOrBefore(as_of),
            Some(as_of),
        )
    }

    fn report(
        &self,
        tenant: &str,
        program_id: &str,
        from: Option<DateTime<Utc>>,
        end: End,
        as_of: Option<DateTime<Utc>>,
    ) -> StoreResult<ProgramReport> {
        use crate::schema::memberships::dsl as m;
        self.read(|conn| {
            let program = load_program(conn, tenant, program_id)?;
            let (members, outstanding): (i64, i64) = match as_of {
                Some(at) => outstanding_as_of(conn, tenant, program_id, at)?,
                None => m::memberships
                    .filter(m::tenant_id.eq(tenant))
                    .filter(m::program_id.eq(program_id))
                    .select((count_star(), sum("available + pending + held")))
                    .get_result(conn)?,
            };
            let flows = flows_from_entries(conn, program_id, from, end)?;
            // A sum over memberships may exceed what one balance can hold, so it is neither
            // `Points` nor `Money`; its value is computed with checked arithmetic, and a value
            // out of range is an answer the caller can read, not an internal error.
            let outstanding = from_db(outstanding);
            if outstanding.is_sign_negative() {
                return Err(StoreError::Corrupt(format!(
                    "outstanding points of program {program_id} are negative: {outstanding}"
                )));
            }
            let liability = match &program.rules.redemption {
                Some(redemption) => {
                    Some(redemption.rate.value_of_total(outstanding).map_err(|e| {
                        StoreError::FailedPrecondition(format!(
                            "the liability of program {program_id} cannot be computed: {e}"
                        ))
                    })?)
                }
                None => None,
            };
            let (earned, redeemed) = (from_db(flows.earned), from_db(flows.redeemed));
            Ok(ProgramReport {
                program_id: program.id.clone(),
                currency: program.rules.currency,
                kind: program.rules.kind,
                members: number(members),
                points_outstanding: outstanding,
                liability,
                earned,
                referral: from_db(flows.referral),
                campaign: from_db(flows.campaign),
                tier_bonus: from_db(flows.tier_bonus),
                adjusted_up: from_db(flows.adjusted_up),
                adjusted_down: from_db(flows.adjusted_down),
                redeemed,
                expired: from_db(flows.expired),
                reversed: from_db(flows.reversed),
                redemption_rate: rate(redeemed, earned),
            })
        })
    }

    /// Points of the program that expired in `[from, to)`, and how many lots they were.
    pub fn expired_points(
        &self,
        tenant: &str,
        program_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<ExpiredPoints> {
        use crate::schema::ledger_entries::dsl as e;
        self.read(|conn| {
            load_program(conn, tenant, program_id)?;
            let (points, entries): (i64, i64) = e::ledger_entries
                .filter(e::tenant_id.eq(tenant))
                .filter(e::program_id.eq(program_id))
                .filter(e::kind.eq(EntryKind::Expired.as_str()))
                .filter(e::created_at.ge(to_db_time(from)))
                .filter(e::created_at.lt(to_db_time(to)))
                .select((sum("points"), count_star()))
                .get_result(conn)?;
            Ok(ExpiredPoints {
                points: from_db(points),
                entries: number(entries),
            })
        })
    }

    /// The program's `limit` (1..=100) members with the most points earned or available;
    /// ties in membership order.
    pub fn top_members(
        &self,
        tenant: &str,
        program_id: &str,
        by: TopBy,
        limit: u32,
    ) -> StoreResult<Vec<TopMember>> {
        let limit = i64::from(limit.clamp(1, 100));
        self.read(|conn| {
            load_program(conn, tenant, program_id)?;
            let query = memberships::table
                .inner_join(members::table)
                .filter(memberships::tenant_id.eq(tenant))
                .filter(memberships::program_id.eq(program_id))
                .into_boxed();
            let query = match by {
                TopBy::Earned => query.order((memberships::earned.desc(), memberships::id)),
                TopBy::Available => query.order((memberships::available.desc(), memberships::id)),
            };
            let rows: Vec<(String, String, String, String, i64, i64)> = query
                .limit(limit)
                .select((
                    memberships::member_id,
                    memberships::id,
                    members::name,
                    members::card_number,
                    memberships::available,
                    memberships::earned,
                ))
                .load(conn)?;
            Ok(rows
                .into_iter()
                .map(
                    |(member_id, membership_id, name, card_number, available, earned)| TopMember {
                        member_id,
                        membership_id,
                        name,
                        card_number,
                        available: from_db(available),
                        earned: from_db(earned),
                    },
                )
                .collect())
        })
    }

    /// Referral effectiveness in a program: who referred, who was referred, what referrals
    /// earned the referrers, and how many referred members went on to earn.
    pub fn referral_report(&self, tenant: &str, program_id: &str) -> StoreResult<ReferralReport> {
        use crate::schema::ledger_entries::dsl as e;
        self.read(|conn| {
            load_program(conn, tenant, program_id)?;
            let referred = || {
                memberships::table
                    .inner_join(members::table)
                    .filter(memberships::tenant_id.eq(tenant))
                    .filter(memberships::program_id.eq(program_id))
                    .filter(members::referrer_id.is_not_null())
            };
            let (referred_members, referrers): (i64, i64) = referred()
                .select((
                    count_star(),
                    count(members::referrer_id).aggregate_distinct(),
                ))
                .get_result(conn)?;
            let who_earned: i64 = referred()
                .filter(memberships::earned.gt(0))
                .select(count_star())
                .get_result(conn)?;
            let referral_points: i64 = e::ledger_entries
                .filter(e::tenant_id.eq(tenant))
                .filter(e::program_id.eq(program_id))
                .filter(e::kind.eq(EntryKind::ReferralEarned.as_str()))
                .select(sum("points"))
                .get_result(conn)?;
            Ok(ReferralReport {
                referrers: number(referrers),
                referred_members: number(referred_members),
                referral_points: from_db(referral_points),
                referred_members_who_earned: number(who_earned),
            })
        })
    }
}
