//! The workloads over gRPC with the generated clients: a few HTTP/2 channels shared by every
//! caller, spread over the servers; every mutating call keyed, retried with the same key after
//! UNAVAILABLE, a deadline or a transport error.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use loyalty_grpc::pb;
use loyalty_grpc::pb::ledger_service_client::LedgerServiceClient;
use loyalty_grpc::pb::member_service_client::MemberServiceClient;
use loyalty_grpc::pb::program_service_client::ProgramServiceClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Response, Status};

use super::server::Fleet;
use crate::driver::Target;
use crate::parallel::parallel_map;
use crate::shop;
use crate::stats::{Ack, Recorder};
use crate::workload::{Workload, reference};

/// Attempts per call, the first included.
const ATTEMPTS: u32 = 5;
/// Every call's deadline: the bench never waits longer for one answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Adds `authorization: Bearer <key>` to every call.
#[derive(Debug, Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

type Authed = InterceptedService<Channel, Bearer>;

/// The clients of one channel, as one role.
#[derive(Debug, Clone)]
struct Clients {
    ledger: LedgerServiceClient<Authed>,
    members: MemberServiceClient<Authed>,
    programs: ProgramServiceClient<Authed>,
}

impl Clients {
    fn new(channel: Channel, key: &str) -> anyhow::Result<Clients> {
        let bearer = Bearer(
            format!("Bearer {key}")
                .parse()
                .context("the key is not a valid header value")?,
        );
        Ok(Clients {
            ledger: LedgerServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            members: MemberServiceClient::with_interceptor(channel.clone(), bearer.clone()),
            programs: ProgramServiceClient::with_interceptor(channel, bearer),
        })
    }
}

/// Whether a failed call may be sent again with the same idempotency key: the server did not
/// answer it (unavailable, transport error, deadline, cancelled by a timeout).
fn retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown
    )
}

/// One call with retries: `f` makes the call afresh (same request, same key) each attempt.
/// Recorded in `rec` when given (the workloads), not during setup.
async fn call<T, F, Fut>(rec: Option<&mut Recorder>, mut f: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Response<T>, Status>>,
{
    let started = Instant::now();
    let mut attempt = 1;
    let mut rec = rec;
    loop {
        match f().await {
            Ok(response) => {
                if let Some(rec) = rec {
                    rec.record(started, Ok(()));
                }
                return Ok(response.into_inner());
            }
            Err(status) if retryable(status.code()) && attempt < ATTEMPTS => {
                if let Some(rec) = rec.as_deref_mut() {
                    rec.retried();
                }
                tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(status) => {
                if let Some(rec) = rec {
                    rec.record(started, Err(&format!("{:?}", status.code())));
                }
                return Err(status);
            }
        }
    }
}

/// The shop on running servers, driven over gRPC.
#[derive(Debug)]
pub struct GrpcShop {
    /// Service-key clients, one set per channel.
    service: Vec<Clients>,
    program: String,
    members: Vec<String>,
    in_flight: usize,
    /// Prefix of every reference, key, program name, customer id and card number of this
    /// run, so runs never collide on a server that outlives them (`--connect`).
    tag: String,
}

/// Opens `channels` HTTP/2 channels (at least one per server), round-robin over the servers.
async fn connect(fleet: &Fleet, channels: usize) -> anyhow::Result<Vec<Channel>> {
    let addrs = fleet.addrs();
    let mut out = Vec::new();
    for i in 0..channels.max(addrs.len()).max(1) {
        let addr = addrs[i % addrs.len()];
        let channel = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(CALL_TIMEOUT)
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        out.push(channel);
    }
    Ok(out)
}

impl GrpcShop {
    /// Connects `channels` channels to the fleet, creates the program and `members` members
    /// (with `SEED_POINTS` each when `seed`), `parallelism` calls at a time. Everything it
    /// creates is named after a fresh tag of the run.
    pub async fn setup(
        fleet: &Fleet,
        channels: usize,
        members: usize,
        seed: bool,
        parallelism: usize,
    ) -> anyhow::Result<GrpcShop> {
        let tag = format!("R{}-", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let channels = connect(fleet, channels).await?;
        let service = channels
            .iter()
            .map(|c| Clients::new(c.clone(), &fleet.service_key))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let admin = channels
            .iter()
            .map(|c| Clients::new(c.clone(), &fleet.admin_key))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let request = pb::CreateProgramRequest {
            name: format!("{} {tag}", shop::PROGRAM_NAME),
            rules: Some(shop::program_rules_pb()),
            idempotency_key: format!("{tag}setup:program"),
        };
        let programs = admin[0].programs.clone();
        let program = call(None, || {
            let (mut c, r) = (programs.clone(), request.clone());
            async move { c.create_program(r).await }
        })
        .await
        .context("creating the program")?
        .program
        .context("CreateProgram answered no program")?
        .id;
        let enrollers = service.clone();
        let (p, t) = (program.clone(), tag.clone());
        let ids = parallel_map(members, parallelism, move |i| {
            let client = enrollers[i % enrollers.len()].members.clone();
            let request = pb::EnrollMemberRequest {
                customer_id: format!("{t}C{i}"),
                card_number: format!("{t}{i}"),
                name: format!("Member {i}"),
                program_ids: vec![p.clone()],
                idempotency_key: format!("{t}setup:enroll:{i}"),
                ..pb::EnrollMemberRequest::default()
            };
            async move {
                let member = call(None, || {
                    let (mut c, r) = (client.clone(), request.clone());
                    async move { c.enroll_member(r).await }
                })
                .await
                .context("enrolling a member")?
                .member
                .context("EnrollMember answered no member")?;
                anyhow::Ok(member.id)
            }
        })
        .await?;
        if seed {
            let (ids, p, t) = (ids.clone(), program.clone(), tag.clone());
            parallel_map(members, parallelism, move |i| {
                let client = admin[i % admin.len()].ledger.clone();
                let request = pb::AdjustRequest {
                    idempotency_key: format!("{t}setup:seed:{i}"),
                    member_id: ids[i].clone(),
                    program_id: p.clone(),
                    points: shop::SEED_POINTS.to_string(),
                    reason: "bench seed".into(),
                };
                async move {
                    call(None, || {
                        let (mut c, r) = (client.clone(), request.clone());
                        async move { c.adjust(r).await }
                    })
                    .await
                    .context("seeding a balance")?;
                    anyhow::Ok(())
                }
            })
            .await?;
        }
        if ids.is_empty() {
            bail!("a run needs at least one member");
        }
        Ok(GrpcShop {
            service,
            program,
            members: ids,
            in_flight: parallelism,
            tag,
        })
    }

    async fn earn(
        &self,
        rec: &mut Recorder,
        c: &Clients,
        member: &str,
        reference: &str,
        amount: &str,
    ) {
        let request = pb::EarnRequest {
            idempotency_key: format!("{reference}:earn"),
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            bill: Some(shop::bill_pb(reference, amount)),
        };
        let done = call(Some(&mut *rec), || {
            let (mut c, r) = (c.ledger.clone(), request.clone());
            async move { c.earn(r).await }
        })
        .await;
        if done.is_ok() {
            rec.ack(Ack::Earned(reference.to_owned()));
        }
    }

    async fn redeem(&self, rec: &mut Recorder, c: &Clients, member: &str, reference: &str) {
        let request = pb::RedeemRequest {
            idempotency_key: format!("{reference}:redeem"),
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            bill: Some(shop::bill_pb(reference, shop::SPEND_BILL)),
            points: shop::SPEND_POINTS.to_string(),
        };
        let done = call(Some(&mut *rec), || {
            let (mut c, r) = (c.ledger.clone(), request.clone());
            async move { c.redeem(r).await }
        })
        .await;
        if done.is_ok() {
            rec.ack(Ack::Redeemed(reference.to_owned()));
        }
    }

    /// Reserves and, when that was acknowledged, captures the whole hold.
    async fn reserve_capture(
        &self,
        rec: &mut Recorder,
        c: &Clients,
        member: &str,
        reference: &str,
        amount: &str,
    ) {
        let request = pb::ReserveRequest {
            idempotency_key: format!("{reference}:reserve"),
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            bill: Some(shop::bill_pb(reference, amount)),
            points: shop::SPEND_POINTS.to_string(),
            ttl_seconds: shop::HOLD_TTL_SECONDS,
        };
        let reserved = call(Some(&mut *rec), || {
            let (mut c, r) = (c.ledger.clone(), request.clone());
            async move { c.reserve(r).await }
        })
        .await;
        let Some(hold) = reserved.ok().and_then(|r| r.hold) else {
            return;
        };
        rec.ack(Ack::Reserved(hold.id.clone()));
        let request = pb::CaptureRequest {
            idempotency_key: format!("{reference}:capture"),
            hold_id: hold.id.clone(),
            // Empty: all of it.
            points: String::new(),
        };
        let captured = call(Some(&mut *rec), || {
            let (mut c, r) = (c.ledger.clone(), request.clone());
            async move { c.capture(r).await }
        })
        .await;
        if captured.is_ok() {
            rec.ack(Ack::Captured(hold.id));
        }
    }

    async fn quote(&self, rec: &mut Recorder, c: &Clients, member: &str, reference: &str) {
        let request = pb::QuoteRequest {
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            bill: Some(shop::bill_pb(reference, shop::CHECKOUT_BILL)),
            points_to_redeem: shop::SPEND_POINTS.to_string(),
        };
        let _ = call(Some(&mut *rec), || {
            let (mut c, r) = (c.ledger.clone(), request.clone());
            async move { c.quote(r).await }
        })
        .await;
    }

    async fn balances(&self, rec: &mut Recorder, c: &Clients, member: &str) {
        let request = pb::GetBalancesRequest {
            member_id: member.to_owned(),
            program_id: self.program.clone(),
            as_of: String::new(),
        };
        let _ = call(Some(&mut *rec), || {
            let (mut c, r) = (c.members.clone(), request.clone());
            async move { c.get_balances(r).await }
        })
        .await;
    }
}

impl Target for GrpcShop {
    async fn step(&self, workload: Workload, caller: usize, seq: u64, rec: &mut Recorder) {
        let c = &self.service[caller % self.service.len()];
        let member =
            &self.members[workload.member(caller, seq, self.in_flight, self.members.len())];
        let reference = format!("{}{}", self.tag, reference(caller, seq));
        match workload {
            Workload::EarnSpread | Workload::EarnHot => {
                self.earn(rec, c, member, &reference, shop::EARN_BILL).await;
            }
            Workload::Redeem => self.redeem(rec, c, member, &reference).await,
            Workload::ReserveCapture => {
                self.reserve_capture(rec, c, member, &reference, shop::SPEND_BILL)
                    .await;
            }
            Workload::Quote => self.quote(rec, c, member, &reference).await,
            Workload::GetBalances => self.balances(rec, c, member).await,
            Workload::Checkout => {
                self.balances(rec, c, member).await;
                self.quote(rec, c, member, &reference).await;
                self.reserve_capture(rec, c, member, &reference, shop::CHECKOUT_BILL)
                    .await;
                self.earn(rec, c, member, &reference, shop::CHECKOUT_BILL)
                    .await;
            }
        }
    }
}
