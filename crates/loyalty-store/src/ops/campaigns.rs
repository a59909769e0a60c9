//! Campaigns: an admin creates, edits and switches them; earning and quoting load the ones
//! that may apply to a bill, with what each has already given.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use loyalty_core::{
    ActiveCampaign, Campaign, CampaignSpec, CampaignUsage, Currency, IdempotencyKey, Points,
};
use serde::{Deserialize, Serialize};

use crate::amounts::{points_from_db, points_to_db};
use crate::clock::{from_db_time, to_db_time};
use crate::db::{DbConnection, native};
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{Fingerprint, fields};
use crate::models::campaign::{CampaignRow, campaign_from_row, campaign_to_row};
use crate::ops::programs::Program;
use crate::ops::rules_cache::{active_campaigns, load_program, touch_program};
use crate::schema::{campaign_usage, campaigns};
use crate::store::Store;

/// A stored campaign: its validated configuration and what it has given so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignView {
    /// Its id (also `campaign.id`).
    pub id: String,
    /// The program it belongs to.
    pub program_id: String,
    /// The configuration.
    pub campaign: Campaign,
    /// Bonus points it has given in total (counts against its budget).
    pub awarded: Points,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A campaign that may apply to a bill, with its usage by one membership: owned here so the
/// caller can lend [`ActiveCampaign`]s to `loyalty-core`.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub campaign: Campaign,
    pub usage: CampaignUsage,
}

/// Lends the candidates to `loyalty-core` as [`ActiveCampaign`]s.
pub(crate) fn as_active(candidates: &[Candidate]) -> Vec<ActiveCampaign<'_>> {
    candidates
        .iter()
        .map(|c| ActiveCampaign {
            campaign: &c.campaign,
            usage: c.usage,
        })
        .collect()
}

fn view(row: CampaignRow, currency: Currency) -> StoreResult<CampaignView> {
    Ok(CampaignView {
        campaign: campaign_from_row(&row, currency)?,
        awarded: points_from_db(row.awarded)?,
        created_at: from_db_time(row.created_at),
        id: row.id,
        program_id: row.program_id,
    })
}

/// A campaign as a write left it, in the program's currency: what an idempotency key records
/// and replays.
#[derive(Debug, Serialize, Deserialize)]
struct Written {
    row: CampaignRow,
    currency: String,
}

impl Written {
    fn new(row: CampaignRow, currency: Currency) -> Written {
        Written {
            row,
            currency: currency.code().to_owned(),
        }
    }

    fn view(self) -> StoreResult<CampaignView> {
        view(self.row, Currency::new(&self.currency)?)
    }
}

fn load_row(conn: &mut DbConnection, tenant: &str, campaign_id: &str) -> StoreResult<CampaignRow> {
    native!(conn, c => campaigns::table
        .filter(campaigns::id.eq(campaign_id))
        .filter(campaigns::tenant_id.eq(tenant))
        .select(CampaignRow::as_select())
        .get_result(c))
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        what: "campaign",
        id: campaign_id.to_owned(),
    })
}

/// Validates `spec` for a program in `currency` whose campaign has already given `awarded`.
fn validate(spec: CampaignSpec, currency: Currency, awarded: i64) -> StoreResult<Campaign> {
    let campaign = spec.validate()?;
    if let Some(min) = &campaign.min_bill
        && min.currency() != currency
    {
        return Err(loyalty_core::Error::CurrencyMismatch {
            expected: currency.to_string(),
            got: min.currency().to_string(),
        }
        .into());
    }
    if let Some(budget) = campaign.budget
        && points_to_db(budget)? < awarded
    {
        return Err(StoreError::FailedPrecondition(format!(
            "campaign {:?} has already given {} points; its budget cannot be lowered to {budget}",
            campaign.name,
            crate::amounts::from_db(awarded)
        )));
    }
    Ok(campaign)
}

/// The program's campaigns that may apply to a bill made at `at` (active, `starts_at <= at <
/// ends_at`), each with what it gave `membership_id` and everyone. Weekdays, minimum bill and
/// categories are judged by `loyalty-core`. The configurations come from the program's cached
/// version ([`active_campaigns`]); only what changes with every bill is read: the total of a
/// campaign with a budget and the membership's usage of one with a member cap.
///
/// With `lock_budgets`, campaigns with a budget are locked first (an `UPDATE` of their row,
/// held until commit on PostgreSQL), so two members' earns cannot both spend the last of a
/// budget: the second waits and then reads what the first gave. Callers lock the members'
/// accounts before this, never after.
pub(crate) fn candidates(
    conn: &mut DbConnection,
    program: &Arc<Program>,
    membership_id: &str,
    at: DateTime<Utc>,
    lock_budgets: bool,
) -> StoreResult<Vec<Candidate>> {
    let at_db = to_db_time(at);
    let all = active_campaigns(conn, program)?;
    let mut found = Vec::new();
    // In id order, so concurrent earns lock budgets in one order and cannot deadlock.
    for row in all
        .iter()
        .filter(|r| r.starts_at <= at_db && at_db < r.ends_at)
    {
        let total_awarded = if row.budget.is_some() {
            if lock_budgets {
                native!(conn, c => diesel::update(campaigns::table.find(&row.id))
                    .set(campaigns::awarded.eq(campaigns::awarded))
                    .execute(c))?;
            }
            native!(conn, c => campaigns::table
                .find(&row.id)
                .select(campaigns::awarded)
                .get_result(c))?
        } else {
            row.awarded
        };
        let member_awarded: Option<i64> = if row.member_cap.is_some() {
            native!(conn, c => campaign_usage::table
                .find((&row.id, membership_id))
                .select(campaign_usage::awarded)
                .get_result(c))
            .optional()?
        } else {
            None
        };
        found.push(Candidate {
            campaign: campaign_from_row(row, program.rules.currency)?,
            usage: CampaignUsage {
                member_awarded: points_from_db(member_awarded.unwrap_or(0))?,
                total_awarded: points_from_db(total_awarded)?,
            },
        });
    }
    Ok(found)
}

/// Records that campaign `campaign_id` gave `points` to `membership_id`: its usage by the
/// membership and its total. The `awarded <= budget` CHECK is the database's backstop.
pub(crate) fn record_award(
    conn: &mut DbConnection,
    campaign_id: &str,
    membership_id: &str,
    points: Points,
) -> StoreResult<()> {
    let units = points_to_db(points)?;
    // The membership is locked, so no one else can insert this usage row meanwhile.
    let updated = native!(conn, c => diesel::update(campaign_usage::table.find((campaign_id, membership_id)))
        .set(campaign_usage::awarded.eq(campaign_usage::awarded + units))
        .execute(c))?;
    if updated == 0 {
        native!(conn, c => diesel::insert_into(campaign_usage::table)
            .values((
                campaign_usage::campaign_id.eq(campaign_id),
                campaign_usage::membership_id.eq(membership_id),
                campaign_usage::awarded.eq(units),
            ))
            .execute(c))?;
    }
    native!(conn, c => diesel::update(campaigns::table.find(campaign_id))
        .set(campaigns::awarded.eq(campaigns::awarded + units))
        .execute(c))?;
    Ok(())
}

/// Creates a campaign with a new id inside the caller's transaction.
fn create_campaign_in(
    conn: &mut DbConnection,
    tenant: &str,
    program_id: &str,
    spec: &CampaignSpec,
    now: NaiveDateTime,
) -> StoreResult<Written> {
    let id = uuid::Uuid::now_v7();
    let spec = CampaignSpec { id, ..spec.clone() };
    let program = load_program(conn, tenant, program_id)?;
    let campaign = validate(spec, program.rules.currency, 0)?;
    let mut row = CampaignRow {
        id: id.to_string(),
        tenant_id: tenant.to_owned(),
        program_id: program_id.to_owned(),
        name: String::new(),
        starts_at: now,
        ends_at: now,
        weekdays: String::new(),
        categories: String::new(),
        min_bill: None,
        effect_kind: String::new(),
        effect_value: String::new(),
        priority: 0,
        member_cap: None,
        budget: None,
        awarded: 0,
        active: true,
        created_at: now,
    };
    campaign_to_row(&mut row, &campaign)?;
    native!(conn, c => diesel::insert_into(campaigns::table)
        .values(&row)
        .execute(c))?;
    touch_program(conn, program_id)?;
    Ok(Written::new(row, program.rules.currency))
}

/// Replaces a campaign's configuration inside the caller's transaction.
fn update_campaign_in(
    conn: &mut DbConnection,
    tenant: &str,
    campaign_id: &str,
    spec: &CampaignSpec,
) -> StoreResult<Written> {
    let mut row = load_row(conn, tenant, campaign_id)?;
    let id = crate::account::parse_id(&row.id)?;
    let program = load_program(conn, tenant, &row.program_id)?;
    let spec = CampaignSpec { id, ..spec.clone() };
    let campaign = validate(spec, program.rules.currency, row.awarded)?;
    campaign_to_row(&mut row, &campaign)?;
    native!(conn, c => diesel::update(campaigns::table.find(campaign_id))
        .set(&row)
        .execute(c))?;
    touch_program(conn, &row.program_id)?;
    Ok(Written::new(row, program.rules.currency))
}

/// Switches a campaign on or off inside the caller's transaction.
fn set_campaign_active_in(
    conn: &mut DbConnection,
    tenant: &str,
    campaign_id: &str,
    active: bool,
) -> StoreResult<Written> {
    let mut row = load_row(conn, tenant, campaign_id)?;
    let program = load_program(conn, tenant, &row.program_id)?;
    native!(conn, c => diesel::update(campaigns::table.find(campaign_id))
        .set(campaigns::active.eq(active))
        .execute(c))?;
    touch_program(conn, &row.program_id)?;
    row.active = active;
    Ok(Written::new(row, program.rules.currency))
}

impl Store {
    /// Creates a campaign in a program. The store chooses its id (whatever `spec.id` says);
    /// `loyalty-core` validates the configuration, and a minimum bill must be in the program's
    /// currency.
    ///
    /// With an idempotency key it runs once per key: a retry with the same key and request
    /// creates nothing and answers with the campaign as the first call did; with another
    /// request it is refused with `IdempotencyConflict`. The spec's `id` does not make the
    /// request (the store chooses it).
    pub fn create_campaign(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        program_id: &str,
        spec: CampaignSpec,
    ) -> StoreResult<CampaignView> {
        let now = to_db_time(self.now());
        let request = fields(|out| {
            out.text(1, program_id);
            out.record(2, |c| spec.write_fields(c));
        });
        self.write_keyed(tenant, key, "create_campaign", &request, |conn| {
            create_campaign_in(conn, tenant, program_id, &spec, now)
        })?
        .view()
    }

    /// Replaces a campaign's configuration (its id and what it has given are kept; a budget
    /// cannot drop below what it has already given). With an idempotency key, a replay answers
    /// with the campaign as the first call did.
    pub fn update_campaign(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        campaign_id: &str,
        spec: CampaignSpec,
    ) -> StoreResult<CampaignView> {
        let request = fields(|out| {
            out.text(1, campaign_id);
            out.record(2, |c| spec.write_fields(c));
        });
        self.write_keyed(tenant, key, "update_campaign", &request, |conn| {
            update_campaign_in(conn, tenant, campaign_id, &spec)
        })?
        .view()
    }

    /// Switches a campaign on or off; a switched-off campaign never applies. With an
    /// idempotency key, a replay answers with the campaign as the first call did.
    pub fn set_campaign_active(
        &self,
        tenant: &str,
        key: Option<&IdempotencyKey>,
        campaign_id: &str,
        active: bool,
    ) -> StoreResult<CampaignView> {
        let request = fields(|out| {
            out.text(1, campaign_id);
            out.boolean(2, active);
        });
        self.write_keyed(tenant, key, "set_campaign_active", &request, |conn| {
            set_campaign_active_in(conn, tenant, campaign_id, active)
        })?
        .view()
    }

    /// A campaign of the tenant.
    pub fn get_campaign(&self, tenant: &str, campaign_id: &str) -> StoreResult<CampaignView> {
        self.read(|conn| {
            let row = load_row(conn, tenant, campaign_id)?;
            let program = load_program(conn, tenant, &row.program_id)?;
            view(row, program.rules.currency)
        })
    }

    /// A program's campaigns, oldest first.
    pub fn list_campaigns(&self, tenant: &str, program_id: &str) -> StoreResult<Vec<CampaignView>> {
        self.read(|conn| {
            let program = load_program(conn, tenant, program_id)?;
            native!(conn, c => campaigns::table
                .filter(campaigns::tenant_id.eq(tenant))
                .filter(campaigns::program_id.eq(program_id))
                .order(campaigns::id)
                .select(CampaignRow::as_select())
                .load(c))?
            .into_iter()
            .map(|row| view(row, program.rules.currency))
            .collect()
        })
    }
}
