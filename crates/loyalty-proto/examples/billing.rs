//! A billing service settling one bill with the loyalty server, written to be copied: quote
//! the bill, reserve the points the member pays with, charge the rest to the card, then
//! capture the points (or release them if the card is declined) and earn on what the card paid.
//!
//! ```sh
//! LOYALTY_KEY=<service key> LOYALTY_MEMBER=<member id> LOYALTY_PROGRAM=<program id> \
//!     cargo run -p loyalty-proto --example billing -- ORDER124 300
//! ```
//!
//! Arguments: the bill reference (default `ORDER124`) and its amount (default `300`), in the
//! program's currency. Environment: `LOYALTY_ADDR` (default `http://127.0.0.1:50051`),
//! `LOYALTY_KEY` (a service API key), `LOYALTY_MEMBER`, `LOYALTY_PROGRAM`; optionally
//! `LOYALTY_POINTS` (points to pay with; default as many as the program allows on this bill)
//! and `LOYALTY_CARD_DECLINED=1` to see a declined payment release the points.
//!
//! It depends on `loyalty-proto` alone (the generated client), not on the server's crates.
//!
//! Every call that changes the ledger carries an idempotency key derived from the bill
//! reference, so retrying a step after a timeout never spends or credits twice.

use std::time::Duration;

use anyhow::{Context, bail};
use loyalty_proto as pb;
use loyalty_proto::ledger_service_client::LedgerServiceClient;
use rust_decimal::Decimal;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// The ledger client, every call carrying the service key.
type Ledger = LedgerServiceClient<InterceptedService<Channel, Bearer>>;

/// Adds `authorization: Bearer <key>` to every call.
#[derive(Clone)]
struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// Where and as whom to call the loyalty server, and the bill to settle.
struct Settings {
    addr: String,
    key: String,
    member: String,
    program: String,
    reference: String,
    amount: String,
    points: Option<String>,
    card_declines: bool,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let required = |name: &str| {
            std::env::var(name)
                .with_context(|| format!("{name} is not set (see the example's doc)"))
        };
        let mut args = std::env::args().skip(1);
        Ok(Settings {
            addr: std::env::var("LOYALTY_ADDR").unwrap_or_else(|_| "http://127.0.0.1:50051".into()),
            key: required("LOYALTY_KEY")?,
            member: required("LOYALTY_MEMBER")?,
            program: required("LOYALTY_PROGRAM")?,
            reference: args.next().unwrap_or_else(|| "ORDER124".into()),
            amount: args.next().unwrap_or_else(|| "300".into()),
            points: std::env::var("LOYALTY_POINTS")
                .ok()
                .filter(|p| !p.is_empty()),
            card_declines: std::env::var("LOYALTY_CARD_DECLINED").is_ok_and(|v| v == "1"),
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let ledger = connect(&settings.addr, &settings.key).await?;
    settle(ledger, &settings).await
}

/// A ledger client for `addr`, authenticated with `key`. Bounded timeouts: a billing service
/// must not hang a checkout on the loyalty server.
async fn connect(addr: &str, key: &str) -> anyhow::Result<Ledger> {
    let channel = Endpoint::from_shared(addr.to_owned())
        .with_context(|| format!("bad LOYALTY_ADDR {addr}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let bearer = format!("Bearer {key}")
        .parse()
        .context("LOYALTY_KEY is not a valid header value")?;
    Ok(LedgerServiceClient::with_interceptor(
        channel,
        Bearer(bearer),
    ))
}

/// Quote -> reserve -> card payment -> capture (or release) -> earn, for one bill.
async fn settle(mut ledger: Ledger, s: &Settings) -> anyhow::Result<()> {
    let bill = pb::Bill {
        reference: s.reference.clone(),
        // Empty: the program's currency.
        currency: String::new(),
        lines: vec![pb::BillLine {
            category: String::new(),
            amount: s.amount.clone(),
        }],
        // Empty: now.
        at: String::new(),
    };
    let key = |step: &str| format!("{}:{step}", s.reference);

    // 1. Quote: what the member may pay with points, and what is left for the card.
    let quote = ledger
        .quote(pb::QuoteRequest {
            member_id: s.member.clone(),
            program_id: s.program.clone(),
            bill: Some(bill.clone()),
            points_to_redeem: s.points.clone().unwrap_or_default(),
        })
        .await
        .context("Quote")?
        .into_inner();
    let points = match s.points {
        Some(_) => quote.redeem_points.clone(),
        None => quote.max_redeemable_points.clone(),
    };
    let currency = quote.currency.clone();
    println!(
        "quote    {}: {} {currency}, up to {} points usable (limited by {}); paying with {points}",
        s.reference, quote.bill_total, quote.max_redeemable_points, quote.max_redeemable_limited_by,
    );

    if is_zero(&points)? {
        // Nothing to reserve: the card pays everything.
        charge_card(&quote.to_pay, &currency, s.card_declines)?;
        return earn(&mut ledger, s, bill, key("earn")).await;
    }

    // 2. Reserve the points before charging the card, so they cannot be spent twice.
    let reserved = ledger
        .reserve(pb::ReserveRequest {
            idempotency_key: key("reserve"),
            member_id: s.member.clone(),
            program_id: s.program.clone(),
            bill: Some(bill.clone()),
            points: points.clone(),
            // The hold releases itself if this service dies before capturing or releasing.
            ttl_seconds: 600,
        })
        .await
        .context("Reserve")?
        .into_inner();
    let hold = reserved.hold.context("Reserve returned no hold")?;
    println!(
        "reserve  hold {}: {} points held, {} {currency} left to pay by card",
        hold.id, hold.points, reserved.to_pay
    );

    // 3. The card payment (simulated).
    if let Err(declined) = charge_card(&reserved.to_pay, &currency, s.card_declines) {
        // 4a. Declined: give the points back at once rather than waiting for the hold to expire.
        let released = ledger
            .release(pb::ReleaseRequest {
                idempotency_key: key("release"),
                hold_id: hold.id.clone(),
            })
            .await
            .context("Release")?
            .into_inner();
        println!(
            "release  released {} points; {} available",
            hold.points,
            available(&released.balances)
        );
        return Err(declined);
    }

    // 4b. Paid: capture the held points (empty = all of them).
    let captured = ledger
        .capture(pb::CaptureRequest {
            idempotency_key: key("capture"),
            hold_id: hold.id.clone(),
            points: String::new(),
        })
        .await
        .context("Capture")?
        .into_inner();
    let captured_points = captured.hold.map(|h| h.captured).unwrap_or_default();
    println!(
        "capture  captured {captured_points} points; {} available",
        available(&captured.balances)
    );

    // 5. Earn on the bill: the server knows what points paid on it and earns on the rest.
    earn(&mut ledger, s, bill, key("earn")).await
}

async fn earn(
    ledger: &mut Ledger,
    s: &Settings,
    bill: pb::Bill,
    idempotency_key: String,
) -> anyhow::Result<()> {
    let earned = ledger
        .earn(pb::EarnRequest {
            idempotency_key,
            member_id: s.member.clone(),
            program_id: s.program.clone(),
            bill: Some(bill),
        })
        .await
        .context("Earn")?
        .into_inner();
    let on = earned
        .breakdown
        .as_ref()
        .map_or("", |b| b.earning_amount.as_str());
    println!(
        "earn     earned {} points on {on}; {} available",
        earned.points_earned,
        available(&earned.balances)
    );
    Ok(())
}

/// Stands in for the card processor.
fn charge_card(amount: &str, currency: &str, declines: bool) -> anyhow::Result<()> {
    if declines {
        println!("card     {amount} {currency} declined");
        bail!("the card was declined: the bill is not paid");
    }
    println!("card     charged {amount} {currency}");
    Ok(())
}

/// Points arrive as exact decimal strings; compare them as decimals, never as floats.
fn is_zero(points: &str) -> anyhow::Result<bool> {
    let points: Decimal = points
        .parse()
        .with_context(|| format!("the server sent points {points:?}"))?;
    Ok(points.is_zero())
}

fn available(balances: &Option<pb::Balances>) -> &str {
    balances.as_ref().map_or("?", |b| b.available.as_str())
}
