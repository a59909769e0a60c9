//! The workloads in-process through `loyalty_store::Store`, with the same callers, bills and
//! checks as over gRPC, so the cost of the RPC layer shows as a ratio.
//!
//! Every store call of the bench goes through [`store_call`], and only through it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use loyalty_core::{CardNumber, ErrorKind, IdempotencyKey, Points};
use loyalty_store::{
    AdjustRequest, CaptureRequest, EarnRequest, HoldView, NewMember, QuoteRequest, RedeemRequest,
    ReserveRequest, Store, StoreError, StoreResult,
};
use rust_decimal::Decimal;

use crate::check;
use crate::database::{DatabaseSource, FreshDatabase};
use crate::driver::{self, Plan, Target};
use crate::parallel::parallel_map;
use crate::report::{Row, RunOutcome};
use crate::shop;
use crate::stats::{Ack, Recorder};
use crate::workload::{Workload, reference};

/// Runs one store operation for the bench.
///
/// The one place the bench enters the store: today a blocking call on tokio's blocking pool,
/// as the gRPC services do. When the store's writes move to a single writer task (group
/// commit), this becomes that writer's entry point and nothing else in the bench changes.
pub async fn store_call<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&Store) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(result) => result,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(join) => Err(StoreError::Unavailable(format!(
            "the store call was cancelled: {join}"
        ))),
    }
}

/// The gRPC status code name the server would answer a store error with (the same mapping as
/// `loyalty-grpc`'s), so the two modes' error columns read alike.
pub fn code_of(err: &StoreError) -> &'static str {
    match err {
        StoreError::Rule(rule) => match rule.kind() {
            ErrorKind::InvalidInput => "InvalidArgument",
            ErrorKind::RuleViolated => "FailedPrecondition",
        },
        StoreError::InvalidArgument(_) => "InvalidArgument",
        StoreError::NotFound { .. } => "NotFound",
        StoreError::AlreadyExists(_) | StoreError::IdempotencyConflict { .. } => "AlreadyExists",
        StoreError::FailedPrecondition(_) => "FailedPrecondition",
        StoreError::RateLimited { .. } => "ResourceExhausted",
        StoreError::Unavailable(_) => "Unavailable",
        _ => "Internal",
    }
}

/// Attempts per call, the first included; only "unavailable" is retried, with the same key.
const ATTEMPTS: u32 = 5;

/// The shop in one database, driven in-process.
#[derive(Debug, Clone)]
pub struct DirectShop {
    store: Store,
    tenant: String,
    program: String,
    members: Vec<String>,
    in_flight: usize,
}

fn key(k: String) -> StoreResult<IdempotencyKey> {
    Ok(IdempotencyKey::new(&k)?)
}

impl DirectShop {
    /// Creates the tenant, the program and `members` members (with `SEED_POINTS` each when
    /// `seed`), `parallelism` at a time.
    pub async fn setup(
        store: &Store,
        members: usize,
        seed: bool,
        parallelism: usize,
    ) -> anyhow::Result<DirectShop> {
        let tenant = store_call(store, |s| s.create_tenant("Bench shop"))
            .await
            .context("creating the tenant")?
            .id;
        let rules = shop::program_rules()?;
        let t = tenant.clone();
        let program = store_call(store, move |s| {
            s.create_program(&t, shop::PROGRAM_NAME, rules)
        })
        .await
        .context("creating the program")?
        .id;
        let (s, t, p) = (store.clone(), tenant.clone(), program.clone());
        let ids = parallel_map(members, parallelism, move |i| {
            let (s, t, p) = (s.clone(), t.clone(), p.clone());
            async move {
                let new = NewMember {
                    customer_id: format!("C{i}"),
                    card_number: CardNumber::new(&format!("CARD-{i}"))?,
                    name: format!("Member {i}"),
                    phone: None,
                    email: None,
                    referrer_id: None,
                };
                let (member, _) = store_call(&s, move |s| s.enroll_member_in(&t, new, &[p]))
                    .await
                    .context("enrolling a member")?;
                anyhow::Ok(member.id)
            }
        })
        .await?;
        let shop = DirectShop {
            store: store.clone(),
            tenant,
            program,
            members: ids,
            in_flight: 1,
        };
        if seed {
            let seeder = shop.clone();
            parallel_map(members, parallelism, move |i| {
                let shop = seeder.clone();
                async move { shop.adjust(i, Decimal::from(shop::SEED_POINTS)).await }
            })
            .await
            .context("seeding balances")?;
        }
        Ok(shop)
    }

    /// The tenant's id.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The member ids.
    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// The same shop, driven by `in_flight` callers.
    pub fn with_in_flight(mut self, in_flight: usize) -> DirectShop {
        self.in_flight = in_flight;
        self
    }

    /// Gives member `i` `points` by an adjustment (setup; not recorded).
    pub async fn adjust(&self, i: usize, points: Decimal) -> anyhow::Result<()> {
        let request = AdjustRequest {
            idempotency_key: key(format!("seed:{i}"))?,
            member_id: self.members[i].clone(),
            program_id: self.program.clone(),
            points,
            reason: "bench seed".into(),
            actor: "bench".into(),
        };
        let tenant = self.tenant.clone();
        store_call(&self.store, move |s| s.adjust(&tenant, request))
            .await
            .with_context(|| format!("seeding member {i}"))?;
        Ok(())
    }

    /// One recorded call: `f` with retries of "unavailable" (it must rebuild or clone its
    /// request, whose idempotency key stays the same).
    async fn call<T: Send + 'static>(
        &self,
        rec: &mut Recorder,
        f: impl Fn(&Store, &str) -> StoreResult<T> + Clone + Send + 'static,
    ) -> Option<T> {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let (f, tenant) = (f.clone(), self.tenant.clone());
            match store_call(&self.store, move |s| f(s, &tenant)).await {
                Ok(value) => {
                    rec.record(started, Ok(()));
                    return Some(value);
                }
                Err(StoreError::Unavailable(_)) if attempt < ATTEMPTS => {
                    rec.retried();
                    tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                    attempt += 1;
                }
                Err(err) => {
                    rec.record(started, Err(code_of(&err)));
                    return None;
                }
            }
        }
    }

    /// Earns on bill `reference` of `amount` for `member`; true when acknowledged.
    pub async fn earn(&self, rec: &mut Recorder, member: &str, reference: &str, amount: &str) {
        let Ok(lines) = shop::bill_lines(amount) else {
            rec.record(Instant::now(), Err("InvalidArgument"));
            return;
        };
        let Ok(idempotency_key) = key(format!("{reference}:earn")) else {
            rec.record(Instant::now(), Err("InvalidArgument"));
            return;
        };
        let request = EarnRequest {
            idempotency_key,
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            reference: reference.to_owned(),
            lines,
            at: None,
            actor: "bench".into(),
        };
        if self
            .call(rec, move |s, t| s.earn(t, request.clone()))
            .await
            .is_some()
        {
            rec.ack(Ack::Earned(reference.to_owned()));
        }
    }

    async fn redeem(&self, rec: &mut Recorder, member: &str, reference: &str) {
        let request = (|| {
            Ok::<_, anyhow::Error>(RedeemRequest {
                idempotency_key: key(format!("{reference}:redeem"))?,
                member_id: member.to_owned(),
                program_id: self.program.clone(),
                reference: reference.to_owned(),
                lines: shop::bill_lines(shop::SPEND_BILL)?,
                at: None,
                points: Points::whole(shop::SPEND_POINTS)?,
                actor: "bench".into(),
            })
        })();
        let Ok(request) = request else {
            rec.record(Instant::now(), Err("InvalidArgument"));
            return;
        };
        if self
            .call(rec, move |s, t| s.redeem(t, request.clone()))
            .await
            .is_some()
        {
            rec.ack(Ack::Redeemed(reference.to_owned()));
        }
    }

    async fn reserve(
        &self,
        rec: &mut Recorder,
        member: &str,
        reference: &str,
        amount: &str,
    ) -> Option<HoldView> {
        let request = (|| {
            Ok::<_, anyhow::Error>(ReserveRequest {
                idempotency_key: key(format!("{reference}:reserve"))?,
                member_id: member.to_owned(),
                program_id: self.program.clone(),
                reference: reference.to_owned(),
                lines: shop::bill_lines(amount)?,
                at: None,
                points: Points::whole(shop::SPEND_POINTS)?,
                ttl_seconds: shop::HOLD_TTL_SECONDS,
                actor: "bench".into(),
            })
        })();
        let Ok(request) = request else {
            rec.record(Instant::now(), Err("InvalidArgument"));
            return None;
        };
        let hold = self
            .call(rec, move |s, t| s.reserve(t, request.clone()))
            .await?;
        rec.ack(Ack::Reserved(hold.id.clone()));
        Some(hold)
    }

    async fn capture(&self, rec: &mut Recorder, hold: &str) {
        let Ok(idempotency_key) = key(format!("{hold}:capture")) else {
            rec.record(Instant::now(), Err("InvalidArgument"));
            return;
        };
        let request = CaptureRequest {
            idempotency_key,
            hold_id: hold.to_owned(),
            points: None,
            actor: "bench".into(),
        };
        if self
            .call(rec, move |s, t| s.capture(t, request.clone()))
            .await
            .is_some()
        {
            rec.ack(Ack::Captured(hold.to_owned()));
        }
    }

    async fn quote(&self, rec: &mut Recorder, member: &str, reference: &str) {
        let request = (|| {
            Ok::<_, anyhow::Error>(QuoteRequest {
                member_id: member.to_owned(),
                program_id: self.program.clone(),
                reference: Some(reference.to_owned()),
                lines: shop::bill_lines(shop::CHECKOUT_BILL)?,
                at: None,
                requested_points: Some(Points::whole(shop::SPEND_POINTS)?),
            })
        })();
        let Ok(request) = request else {
            rec.record(Instant::now(), Err("InvalidArgument"));
            return;
        };
        self.call(rec, move |s, t| s.quote(t, request.clone()))
            .await;
    }

    async fn balances(&self, rec: &mut Recorder, member: &str) {
        let (member, program) = (member.to_owned(), self.program.clone());
        self.call(rec, move |s, t| s.get_membership(t, &member, &program))
            .await;
    }
}

impl Target for DirectShop {
    async fn step(&self, workload: Workload, caller: usize, seq: u64, rec: &mut Recorder) {
        let member =
            &self.members[workload.member(caller, seq, self.in_flight, self.members.len())];
        let reference = reference(caller, seq);
        match workload {
            Workload::EarnSpread | Workload::EarnHot => {
                self.earn(rec, member, &reference, shop::EARN_BILL).await;
            }
            Workload::Redeem => self.redeem(rec, member, &reference).await,
            Workload::ReserveCapture => {
                if let Some(hold) = self
                    .reserve(rec, member, &reference, shop::SPEND_BILL)
                    .await
                {
                    self.capture(rec, &hold.id).await;
                }
            }
            Workload::Quote => self.quote(rec, member, &reference).await,
            Workload::GetBalances => self.balances(rec, member).await,
            Workload::Checkout => {
                self.balances(rec, member).await;
                self.quote(rec, member, &reference).await;
                if let Some(hold) = self
                    .reserve(rec, member, &reference, shop::CHECKOUT_BILL)
                    .await
                {
                    self.capture(rec, &hold.id).await;
                }
                self.earn(rec, member, &reference, shop::CHECKOUT_BILL)
                    .await;
            }
        }
    }
}

/// Runs `plan` in-process on a fresh database of `source` with `members` members and a pool
/// of `pool_size` connections, then checks the ledger.
pub async fn run(
    plan: Plan,
    members: usize,
    pool_size: u32,
    source: &DatabaseSource,
) -> anyhow::Result<RunOutcome> {
    let db = FreshDatabase::create(source)?;
    let url = db.url().to_owned();
    let store = tokio::task::spawn_blocking(move || Store::open(&url, pool_size))
        .await?
        .with_context(|| format!("opening the store on {}", db.url()))?;
    let shop = DirectShop::setup(
        &store,
        members,
        plan.workload.needs_points(),
        plan.in_flight,
    )
    .await?
    .with_in_flight(plan.in_flight);
    let tenant = shop.tenant.clone();
    let rec = driver::drive(Arc::new(shop), plan).await?;
    let url = db.url().to_owned();
    let acks = rec.acks().to_vec();
    let t = tenant.clone();
    let ledger =
        tokio::task::spawn_blocking(move || check::exactly_once(&url, &t, &acks)).await??;
    let violations = store_call(&store, move |s| s.verify(Some(&tenant))).await?;
    let invariants = if violations.is_empty() {
        "ledger consistent: every balance equals its entries and its lots".to_owned()
    } else {
        violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(RunOutcome {
        row: Row {
            backend: format!("direct {}", source.engine()),
            workload: plan.workload,
            in_flight: plan.in_flight,
            summary: rec.summary(),
        },
        ledger,
        invariants_ok: violations.is_empty(),
        invariants,
    })
}
