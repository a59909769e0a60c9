//! Points that do not come from a bill: flat points for an action ("feedback" = 10) and an
//! admin's adjustment up or down, each with its reason.

use loyalty_core::ledger::EntryKind;
use loyalty_core::{IdempotencyKey, Points};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::{Account, EntryMeta};
use crate::error::{StoreError, StoreResult};
use crate::fingerprint::{Canonical, Fingerprint};
use crate::ops::bills::check_reference;
use crate::ops::earn::check_actor;
use crate::ops::members::{find_membership, load_member, require_active};
use crate::ops::programs::require_enabled;
use crate::ops::rules_cache::load_program;
use crate::store::Store;
use loyalty_core::Balances;

/// Award the flat points of a named action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// The action's name, as the program's action rules spell it.
    pub action: String,
    /// What the action was about (a review id, an event id), if anything.
    pub reference: Option<String>,
    /// Who asks.
    pub actor: String,
}

/// What an action award did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionOutcome {
    /// The membership credited.
    pub membership_id: String,
    /// The `action_bonus` entry.
    pub entry_id: Option<String>,
    /// The action.
    pub action: String,
    /// The points credited.
    pub points: Points,
    /// The balances after.
    pub balances: Balances,
}

/// An admin's correction of a balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustRequest {
    /// Makes a retried call harmless.
    pub idempotency_key: IdempotencyKey,
    /// The member.
    pub member_id: String,
    /// The program.
    pub program_id: String,
    /// Points to add (positive) or take away (negative); not zero, and with no more decimals
    /// than the program's points.
    pub points: Decimal,
    /// Why (1 to 500 characters); recorded on the entry.
    pub reason: String,
    /// Who asks.
    pub actor: String,
}

impl Fingerprint for ActionRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let ActionRequest {
            idempotency_key: _,
            member_id,
            program_id,
            action,
            reference,
            actor: _,
        } = self;
        out.text(1, member_id);
        out.text(2, program_id);
        out.text(3, action);
        out.opt_text(4, reference.as_deref());
    }
}

impl Fingerprint for AdjustRequest {
    fn write_fields(&self, out: &mut Canonical) {
        let AdjustRequest {
            idempotency_key: _,
            member_id,
            program_id,
            points,
            reason,
            actor: _,
        } = self;
        out.text(1, member_id);
        out.text(2, program_id);
        out.decimal(3, *points);
        out.text(4, reason);
    }
}

/// What an adjustment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustOutcome {
    /// The membership adjusted.
    pub membership_id: String,
    /// The `adjusted` entry.
    pub entry_id: String,
    /// The signed change: a decimal, not [`Points`], which are never negative.
    pub points: Decimal,
    /// The balances after.
    pub balances: Balances,
}

fn check_reason(reason: &str) -> StoreResult<String> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(StoreError::InvalidArgument(
            "an adjustment needs a reason of 1 to 500 characters".into(),
        ));
    }
    Ok(reason.to_owned())
}

impl Store {
    /// Credits the flat points of an action (an `action_bonus` entry): not multiplied by the
    /// tier, not boosted by campaigns, not limited by the earn cap, no referral share. Refused
    /// like an earn on a disabled program or for a deactivated member; an action the program
    /// has no rule for is `UnknownAction`.
    pub fn award_action(&self, tenant: &str, request: ActionRequest) -> StoreResult<ActionOutcome> {
        let reference = request
            .reference
            .as_deref()
            .map(check_reference)
            .transpose()?;
        check_actor(&request.actor)?;
        let request = ActionRequest {
            reference: reference.clone(),
            ..request
        };
        let now = self.now();
        self.idempotent(
            tenant,
            &request.idempotency_key,
            "award_action",
            &request,
            |conn| {
                let program = load_program(conn, tenant, &request.program_id)?;
                require_enabled(&program)?;
                let member = load_member(conn, tenant, &request.member_id)?;
                require_active(&member)?;
                let points = loyalty_core::action_award(&program.rules, &request.action)?;
                let membership = find_membership(conn, tenant, &member.id, &program.id)?;
                let mut acct = Account::lock(conn, tenant, &membership.id, now)?;
                acct.settle(conn)?;
                let meta = EntryMeta {
                    reason: Some(format!("action {}", request.action)),
                    ..EntryMeta::by(&request.actor).with_reference(reference.as_deref())
                };
                let entry_id =
                    acct.credit(conn, &program.rules, EntryKind::ActionBonus, points, &meta)?;
                acct.save(conn)?;
                Ok(ActionOutcome {
                    membership_id: acct.row.id.clone(),
                    entry_id,
                    action: request.action.clone(),
                    points,
                    balances: acct.balances,
                })
            },
        )
    }

    /// An admin's adjustment: a positive amount is credited (a new lot, repaying debt first),
    /// a negative one is debited from spendable lots, earliest expiry first
    /// (`InsufficientPoints` when they hold less). Allowed on a disabled program and for a
    /// deactivated member: correcting mistakes must stay possible; the reason is recorded.
    pub fn adjust(&self, tenant: &str, request: AdjustRequest) -> StoreResult<AdjustOutcome> {
        let reason = check_reason(&request.reason)?;
        check_actor(&request.actor)?;
        if request.points.is_zero() {
            return Err(StoreError::InvalidArgument(
                "an adjustment of zero points changes nothing".into(),
            ));
        }
        let size = Points::new(request.points.abs())?;
        // The answer shows `10.00` as `10`; the fingerprint sees them as the same request,
        // and a reason with surrounding blanks as the same reason.
        let request = AdjustRequest {
            points: request.points.normalize(),
            reason: reason.clone(),
            ..request
        };
        let now = self.now();
        self.idempotent(
            tenant,
            &request.idempotency_key,
            "adjust",
            &request,
            |conn| {
                let program = load_program(conn, tenant, &request.program_id)?;
                let rules = &program.rules;
                let size = rules.precision.check(size)?;
                let member = load_member(conn, tenant, &request.member_id)?;
                let membership = find_membership(conn, tenant, &member.id, &program.id)?;
                let mut acct = Account::lock(conn, tenant, &membership.id, now)?;
                acct.settle(conn)?;
                let meta = EntryMeta {
                    reason: Some(reason.clone()),
                    ..EntryMeta::by(&request.actor)
                };
                let entry_id = if request.points.is_sign_positive() {
                    acct.credit(conn, rules, EntryKind::Adjusted, size, &meta)?
                        .ok_or_else(|| {
                            StoreError::Corrupt("an adjustment posted no entry".into())
                        })?
                } else {
                    acct.debit(conn, EntryKind::Adjusted, size, &meta)?.0
                };
                acct.save(conn)?;
                Ok(AdjustOutcome {
                    membership_id: acct.row.id.clone(),
                    entry_id,
                    points: request.points,
                    balances: acct.balances,
                })
            },
        )
    }
}
