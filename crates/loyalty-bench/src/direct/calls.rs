//! [`DirectShop`]: the benchmark's shop in one database, set up and driven in-process, every
//! call through [`store_call`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use loyalty_core::{BillLine, CardNumber, IdempotencyKey, Points};
use loyalty_store::{
    AdjustRequest, CaptureRequest, EarnRequest, NewMember, QuoteRequest, RedeemRequest,
    ReserveRequest, Store, StoreError, StoreResult,
};
use rust_decimal::Decimal;

use super::{Access, code_of, store_call};
use crate::driver::Target;
use crate::parallel::parallel_map;
use crate::shop;
use crate::stats::{Ack, Recorder};
use crate::workload::{Workload, reference};

/// Attempts per call, the first included; only "unavailable" is retried, with the same key.
const ATTEMPTS: u32 = 5;

/// The bills and points of the workloads, parsed once.
#[derive(Debug)]
struct Amounts {
    earn_bill: Vec<BillLine>,
    spend_bill: Vec<BillLine>,
    checkout_bill: Vec<BillLine>,
    spend_points: Points,
}

impl Amounts {
    fn parse() -> anyhow::Result<Amounts> {
        Ok(Amounts {
            earn_bill: shop::bill_lines(shop::EARN_BILL)?,
            spend_bill: shop::bill_lines(shop::SPEND_BILL)?,
            checkout_bill: shop::bill_lines(shop::CHECKOUT_BILL)?,
            spend_points: Points::whole(shop::SPEND_POINTS)?,
        })
    }
}

/// The shop in one database, driven in-process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DirectShop {
    store: Store,
    tenant: String,
    program: String,
    members: Arc<[String]>,
    amounts: Arc<Amounts>,
    in_flight: usize,
}

/// An idempotency key of the bench's own making (always valid: short, plain characters).
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
        anyhow::ensure!(members > 0, "a run needs at least one member");
        let tenant = store_call(store, Access::Write, |s| {
            s.create_tenant(None, "Bench shop")
        })
        .await
        .context("creating the tenant")?
        .id;
        let rules = shop::program_rules()?;
        let t = tenant.clone();
        let program = store_call(store, Access::Write, move |s| {
            s.create_program(&t, None, shop::PROGRAM_NAME, rules)
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
                let (member, _) = store_call(&s, Access::Write, move |s| {
                    s.enroll_member(&t, None, new, &[p])
                })
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
            members: ids.into(),
            amounts: Arc::new(Amounts::parse()?),
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
        store_call(&self.store, Access::Write, move |s| {
            s.adjust(&tenant, request)
        })
        .await
        .with_context(|| format!("seeding member {i}"))?;
        Ok(())
    }

    /// One recorded call: `f` (which clones its request, so a retry carries the same key),
    /// retried after "unavailable".
    async fn call<T: Send + 'static>(
        &self,
        rec: &mut Recorder,
        f: impl Fn(&Store, &str) -> StoreResult<T> + Clone + Send + 'static,
    ) -> Option<T> {
        self.call_as(rec, Access::Write, f).await
    }

    /// [`call`](Self::call) for a call that only reads.
    async fn read<T: Send + 'static>(
        &self,
        rec: &mut Recorder,
        f: impl Fn(&Store, &str) -> StoreResult<T> + Clone + Send + 'static,
    ) -> Option<T> {
        self.call_as(rec, Access::Read, f).await
    }

    async fn call_as<T: Send + 'static>(
        &self,
        rec: &mut Recorder,
        access: Access,
        f: impl Fn(&Store, &str) -> StoreResult<T> + Clone + Send + 'static,
    ) -> Option<T> {
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let (f, tenant) = (f.clone(), self.tenant.clone());
            match store_call(&self.store, access, move |s| f(s, &tenant)).await {
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

    /// The idempotency key `k`, or a failed call recorded when it is not a valid key.
    fn key_or_record(rec: &mut Recorder, k: String) -> Option<IdempotencyKey> {
        match key(k) {
            Ok(key) => Some(key),
            Err(err) => {
                rec.record(Instant::now(), Err(code_of(&err)));
                None
            }
        }
    }

    /// Earns on a new bill `reference` (the earn bill, or the checkout bill when `checkout`).
    pub async fn earn(&self, rec: &mut Recorder, member: &str, reference: &str, checkout: bool) {
        let Some(idempotency_key) = Self::key_or_record(rec, format!("{reference}:earn")) else {
            return;
        };
        let lines = if checkout {
            &self.amounts.checkout_bill
        } else {
            &self.amounts.earn_bill
        };
        let request = EarnRequest {
            idempotency_key,
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            reference: reference.to_owned(),
            lines: lines.clone(),
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
        let Some(idempotency_key) = Self::key_or_record(rec, format!("{reference}:redeem")) else {
            return;
        };
        let request = RedeemRequest {
            idempotency_key,
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            reference: reference.to_owned(),
            lines: self.amounts.spend_bill.clone(),
            at: None,
            points: self.amounts.spend_points,
            actor: "bench".into(),
        };
        if self
            .call(rec, move |s, t| s.redeem(t, request.clone()))
            .await
            .is_some()
        {
            rec.ack(Ack::Redeemed(reference.to_owned()));
        }
    }

    /// Reserves points on a new bill and, when that was acknowledged, captures the whole hold.
    async fn reserve_capture(
        &self,
        rec: &mut Recorder,
        member: &str,
        reference: &str,
        checkout: bool,
    ) {
        let Some(idempotency_key) = Self::key_or_record(rec, format!("{reference}:reserve")) else {
            return;
        };
        let lines = if checkout {
            &self.amounts.checkout_bill
        } else {
            &self.amounts.spend_bill
        };
        let request = ReserveRequest {
            idempotency_key,
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            reference: reference.to_owned(),
            lines: lines.clone(),
            at: None,
            points: self.amounts.spend_points,
            ttl_seconds: shop::HOLD_TTL_SECONDS,
            actor: "bench".into(),
        };
        let Some(hold) = self
            .call(rec, move |s, t| s.reserve(t, request.clone()))
            .await
        else {
            return;
        };
        rec.ack(Ack::Reserved(hold.id.clone()));
        let Some(idempotency_key) = Self::key_or_record(rec, format!("{reference}:capture")) else {
            return;
        };
        let request = CaptureRequest {
            idempotency_key,
            hold_id: hold.id.clone(),
            points: None,
            actor: "bench".into(),
        };
        if self
            .call(rec, move |s, t| s.capture(t, request.clone()))
            .await
            .is_some()
        {
            rec.ack(Ack::Captured(hold.id));
        }
    }

    async fn quote(&self, rec: &mut Recorder, member: &str, reference: &str) {
        let request = QuoteRequest {
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            reference: Some(reference.to_owned()),
            lines: self.amounts.checkout_bill.clone(),
            at: None,
            requested_points: Some(self.amounts.spend_points),
        };
        self.read(rec, move |s, t| s.quote(t, request.clone()))
            .await;
    }

    async fn balances(&self, rec: &mut Recorder, member: &str) {
        let (member, program) = (member.to_owned(), self.program.clone());
        self.read(rec, move |s, t| s.get_membership(t, &member, &program))
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
                self.earn(rec, member, &reference, false).await;
            }
            Workload::Redeem => self.redeem(rec, member, &reference).await,
            Workload::ReserveCapture => {
                self.reserve_capture(rec, member, &reference, false).await;
            }
            Workload::Quote => self.quote(rec, member, &reference).await,
            Workload::GetBalances => self.balances(rec, member).await,
            Workload::Checkout => {
                self.balances(rec, member).await;
                self.quote(rec, member, &reference).await;
                self.reserve_capture(rec, member, &reference, true).await;
                self.earn(rec, member, &reference, true).await;
            }
        }
    }
}
