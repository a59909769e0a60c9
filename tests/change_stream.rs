//! The ledger change stream (`ChangeStreamService.StreamChanges`), over real sockets:
//! - while members earn, redeem, reserve, capture and release concurrently (on PostgreSQL
//!   through three `loyalty serve` replicas on one database, on SQLite through one server on
//!   a file), a consumer follows the stream, hanging up every few hundred changes and resuming
//!   on another replica after the last sequence it saw; what it received is exactly the
//!   ledger: sequences 1..=N without a gap or a duplicate, every entry once, each membership's
//!   entries in the order their `balance_after` values chain, every hold placed before it was
//!   resolved, and `loyalty verify` clean;
//! - tier changes and a reward redemption's life arrive as their own changes, a stream resumed
//!   after any sequence gives exactly the rest, and a sequence the stream has not reached or a
//!   negative one is refused with a precise status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;
#[path = "common/process.rs"]
mod process;
#[path = "common/seeded.rs"]
mod seeded;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use loyalty_grpc::pb;
use loyalty_store::HistoryFilter;
use loyalty_store::testing::TestDatabase;
use pb::change::Change;
use pb::change_stream_service_client::ChangeStreamServiceClient;
use pb::ledger_service_client::LedgerServiceClient;
use rust_decimal::Decimal;
use tonic::Code;
use tonic::transport::Channel;

use common::{Kind, authed, skip_postgres};
use process::ServerProcess;
use seeded::{Seeded, verify};

/// Longer than any read of the stream may take.
const PATIENCE: Duration = Duration::from_secs(60);

fn bill(reference: &str, amount: &str) -> Option<pb::Bill> {
    Some(ledger_support::bill(reference, &[("", amount)]))
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Opens the stream after `after` and reads messages until `enough` says stop (given the
/// changes so far and the last message's head), then hangs up.
async fn read_stream(
    channel: Channel,
    key: &str,
    after: i64,
    mut enough: impl FnMut(&[pb::Change], i64) -> bool,
) -> Vec<pb::Change> {
    let mut client = ChangeStreamServiceClient::new(channel);
    let mut stream = tokio::time::timeout(
        PATIENCE,
        client.stream_changes(authed(
            key,
            pb::StreamChangesRequest {
                after_sequence: after,
            },
        )),
    )
    .await
    .expect("the stream did not answer")
    .unwrap()
    .into_inner();
    let mut got = Vec::new();
    loop {
        let message = tokio::time::timeout(PATIENCE, stream.message())
            .await
            .expect("the stream went quiet")
            .unwrap()
            .expect("the stream ended");
        got.extend(message.changes);
        if enough(&got, message.head_sequence) {
            return got;
        }
    }
}

/// The change's sequence numbers are `from..from + n`.
fn assert_contiguous(changes: &[pb::Change], from: i64) {
    for (n, c) in changes.iter().enumerate() {
        assert_eq!(
            c.sequence,
            from + n as i64,
            "a gap or a duplicate at position {n}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consumer_resuming_across_three_postgres_replicas_receives_exactly_the_ledger() {
    if skip_postgres() {
        eprintln!("PostgreSQL test skipped: LOYALTY_TEST_SKIP_POSTGRES=1");
        return;
    }
    follow_while_writing(Kind::Postgres, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consumer_resuming_on_sqlite_receives_exactly_the_ledger() {
    follow_while_writing(Kind::Sqlite, 1).await;
}

/// Members earn, redeem, reserve and capture or release through `replicas` servers while a
/// consumer follows the stream, reconnecting every 150 changes or so to the next replica.
async fn follow_while_writing(kind: Kind, replicas: usize) {
    const MEMBERS: usize = 24;
    const ROUNDS: usize = 8;
    let db = TestDatabase::new(kind);
    let seeded = Seeded::new(&db.url, "Stream Shop", MEMBERS);
    let servers: Vec<ServerProcess> = (0..replicas)
        .map(|_| ServerProcess::start(&db.url, &[]))
        .collect();
    let channels: Vec<Channel> = servers.iter().map(ServerProcess::channel).collect();

    let writing = Arc::new(AtomicBool::new(true));
    let consumer = {
        let channels = channels.clone();
        let key = seeded.service.clone();
        let writing = writing.clone();
        tokio::spawn(async move {
            let mut all: Vec<pb::Change> = Vec::new();
            let mut connections = 0;
            loop {
                let last = all.last().map_or(0, |c| c.sequence);
                let done = !writing.load(Ordering::SeqCst);
                if done {
                    // Hung-up streams stop within a poll interval; then the rest is sealed.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                let channel = channels[connections % channels.len()].clone();
                connections += 1;
                let mut caught_up = false;
                let got = read_stream(channel, &key, last, |got, head| {
                    let seen = got.last().map_or(last, |c| c.sequence);
                    caught_up = seen == head;
                    got.len() >= 150 || caught_up
                })
                .await;
                let empty = got.is_empty();
                all.extend(got);
                if done && caught_up && empty {
                    return (all, connections);
                }
                if empty {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        })
    };

    let mut writers = Vec::new();
    for (n, member) in seeded.members.iter().enumerate() {
        let channel = channels[n % channels.len()].clone();
        let key = seeded.service.clone();
        let member = member.clone();
        let program = seeded.program.clone();
        writers.push(tokio::spawn(async move {
            let mut ledger = LedgerServiceClient::new(channel);
            for round in 0..ROUNDS {
                let reference = format!("B-{n}-{round}");
                ledger
                    .earn(authed(
                        &key,
                        pb::EarnRequest {
                            idempotency_key: format!("{reference}:earn"),
                            member_id: member.clone(),
                            program_id: program.clone(),
                            bill: bill(&reference, "500"),
                        },
                    ))
                    .await
                    .unwrap();
                ledger
                    .redeem(authed(
                        &key,
                        pb::RedeemRequest {
                            idempotency_key: format!("{reference}:redeem"),
                            member_id: member.clone(),
                            program_id: program.clone(),
                            bill: bill(&format!("{reference}-R"), "100"),
                            points: "10".into(),
                        },
                    ))
                    .await
                    .unwrap();
                let hold = ledger
                    .reserve(authed(
                        &key,
                        pb::ReserveRequest {
                            idempotency_key: format!("{reference}:reserve"),
                            member_id: member.clone(),
                            program_id: program.clone(),
                            bill: bill(&format!("{reference}-H"), "100"),
                            points: "5".into(),
                            ttl_seconds: 600,
                        },
                    ))
                    .await
                    .unwrap()
                    .into_inner()
                    .hold
                    .unwrap();
                if round % 2 == 0 {
                    ledger
                        .capture(authed(
                            &key,
                            pb::CaptureRequest {
                                idempotency_key: format!("{reference}:capture"),
                                hold_id: hold.id.clone(),
                                points: String::new(),
                            },
                        ))
                        .await
                        .unwrap();
                } else {
                    ledger
                        .release(authed(
                            &key,
                            pb::ReleaseRequest {
                                idempotency_key: format!("{reference}:release"),
                                hold_id: hold.id.clone(),
                            },
                        ))
                        .await
                        .unwrap();
                }
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    writing.store(false, Ordering::SeqCst);
    let (changes, connections) = tokio::time::timeout(Duration::from_secs(120), consumer)
        .await
        .expect("the consumer did not catch up")
        .unwrap();

    // Sequences 1..=N, each once, across every reconnect.
    assert_contiguous(&changes, 1);

    // Every entry of the ledger once, and nothing else.
    let ledger = seeded.entries(HistoryFilter::default());
    let streamed: Vec<&pb::LedgerEntry> = changes
        .iter()
        .filter_map(|c| match &c.change {
            Some(Change::Entry(e)) => Some(e),
            _ => None,
        })
        .collect();
    let ids: HashSet<&str> = streamed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), streamed.len(), "an entry arrived twice");
    assert_eq!(
        ids,
        ledger.iter().map(|e| e.id.as_str()).collect::<HashSet<_>>(),
        "the stream's entries are not the ledger's"
    );
    let by_id: HashMap<&str, _> = ledger.iter().map(|e| (e.id.as_str(), e)).collect();
    for e in &streamed {
        let stored = by_id[e.id.as_str()];
        assert_eq!(
            (dec(&e.points), dec(&e.balance_after), e.member_id.as_str()),
            (
                stored.points.value(),
                stored.balance_after,
                stored.member_id.as_str()
            ),
            "entry {} differs from the ledger",
            e.id
        );
    }

    // Each membership's entries arrive in commit order: their balances chain.
    let mut balance: BTreeMap<&str, Decimal> = BTreeMap::new();
    for e in &streamed {
        let before = balance.entry(e.member_id.as_str()).or_default();
        let delta = dec(&e.available_delta) + dec(&e.pending_delta) + dec(&e.held_delta)
            - dec(&e.debt_delta);
        assert_eq!(
            *before + delta,
            dec(&e.balance_after),
            "entry {} of member {} arrived out of order",
            e.id,
            e.member_id
        );
        *before = dec(&e.balance_after);
    }
    for member in &seeded.members {
        let m = seeded
            .store
            .get_membership(&seeded.tenant, member, &seeded.program)
            .unwrap()
            .balances;
        let net = m.available.value() + m.pending.value() + m.held.value() - m.debt.value();
        assert_eq!(
            balance[member.as_str()],
            net,
            "member {member}'s last balance"
        );
    }

    // Every hold placed once, then resolved once, as it was.
    let mut holds: HashMap<&str, Vec<pb::HoldStatus>> = HashMap::new();
    for c in &changes {
        if let Some(Change::Hold(h)) = &c.change {
            holds
                .entry(h.hold_id.as_str())
                .or_default()
                .push(h.status());
        }
    }
    assert_eq!(holds.len(), seeded.members.len() * ROUNDS);
    let captured = holds
        .values()
        .filter(|s| **s == [pb::HoldStatus::Active, pb::HoldStatus::Captured])
        .count();
    let released = holds
        .values()
        .filter(|s| **s == [pb::HoldStatus::Active, pb::HoldStatus::Released])
        .count();
    assert_eq!(
        (captured, released),
        (MEMBERS * ROUNDS / 2, MEMBERS * ROUNDS / 2),
        "each hold is placed, then captured or released: {holds:?}"
    );
    assert_eq!(
        changes.len(),
        ledger.len() + 2 * holds.len(),
        "only entries and hold changes were made"
    );

    verify(&db.url);
    eprintln!(
        "{kind:?}, {replicas} replica(s): {} changes ({} entries) received over {connections} \
         connections, sequences 1..={} without gaps or duplicates",
        changes.len(),
        streamed.len(),
        changes.len()
    );
}

on_both_backends! {
    async fn tier_and_redemption_changes_arrive_and_a_resumed_stream_gives_exactly_the_rest(server) {
        use ledger_support::{Shop, coupon, money, pts};
        use loyalty_core::{Currency, EarnRate, ProgramRules, Tier, TierBasis, TierRules};

        let mut shop = Shop::open(server, "Stream Tiers").await;
        let usd = Currency::new("USD").unwrap();
        let mut rules = ProgramRules::new(usd);
        rules.base_rate = EarnRate::new(pts(1), dec("1")).unwrap();
        rules.tiers = TierRules {
            basis: TierBasis::LifetimePoints,
            tiers: vec![Tier {
                name: "Silver".into(),
                threshold: dec("200"),
                multiplier: "1".parse().unwrap(),
                upgrade_bonus: pts(0),
            }],
        };
        let program = shop.program(server, "Tiered", rules);
        let reward = shop.reward(server, &program, coupon("$5 off", money("5", usd), 50, 30));
        let member = shop.member(server, "CARD-STREAM", None, &[&program]);
        let earn = pb::EarnRequest {
            idempotency_key: "S-1:earn".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(ledger_support::bill("S-1", &[("", "300")])),
        };
        shop.ledger.earn(authed(&shop.service, earn)).await.unwrap();
        let redeem = pb::RedeemRewardRequest {
            idempotency_key: "S-1:reward".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            reward_id: reward.clone(),
        };
        let redemption = shop
            .rewards
            .redeem_reward(authed(&shop.service, redeem))
            .await
            .unwrap()
            .into_inner()
            .redemption
            .unwrap();
        let used = pb::MarkCouponUsedRequest {
            idempotency_key: "S-1:used".into(),
            coupon_code: redemption.coupon_code.clone(),
        };
        shop.rewards.mark_coupon_used(authed(&shop.service, used)).await.unwrap();

        let channel = server.channel().await;
        let all = read_stream(channel.clone(), &shop.admin, 0, |got, head| {
            got.last().is_some_and(|c| c.sequence == head)
        })
        .await;
        assert_contiguous(&all, 1);
        let kinds: Vec<String> = all
            .iter()
            .map(|c| match c.change.as_ref().unwrap() {
                Change::Entry(e) => format!("entry {:?}", e.kind()),
                Change::Hold(h) => format!("hold {:?}", h.status()),
                Change::Tier(t) => format!("tier {}", t.tier),
                Change::Redemption(r) => format!("redemption {:?}", r.status()),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "entry Earned",
                "tier Silver",
                "entry Redeemed",
                "redemption Active",
                "redemption Used",
            ],
            "{all:#?}"
        );
        let redemptions: Vec<&pb::RedemptionChange> = all
            .iter()
            .filter_map(|c| match &c.change {
                Some(Change::Redemption(r)) => Some(r),
                _ => None,
            })
            .collect();
        assert!(redemptions.iter().all(|r| r.redemption_id == redemption.id
            && r.reward_id == reward
            && r.member_id == member
            && r.points == "50"));
        let Some(Change::Tier(tier)) = &all[1].change else { unreachable!() };
        assert_eq!((tier.member_id.as_str(), tier.program_id.as_str()), (member.as_str(), program.as_str()));

        // Resumed after any sequence: exactly the rest.
        for after in 0..all.len() as i64 {
            let rest = read_stream(channel.clone(), &shop.service, after, |got, head| {
                got.last().map_or(after, |c| c.sequence) == head
            })
            .await;
            assert_eq!(rest, all[after as usize..], "resumed after {after}");
        }

        // A sequence the stream has not reached, or a negative one, is refused.
        let mut client = ChangeStreamServiceClient::new(channel);
        let ahead = all.len() as i64 + 1;
        let status = client
            .stream_changes(authed(&shop.service, pb::StreamChangesRequest { after_sequence: ahead }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(status.message().contains("past the end"), "{status:?}");
        let status = client
            .stream_changes(authed(&shop.service, pb::StreamChangesRequest { after_sequence: -1 }))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

        // Another tenant's stream is its own: it starts empty.
        let other = Shop::open(server, "Another Shop").await;
        let theirs = read_stream(server.channel().await, &other.service, 0, |_, head| {
            assert_eq!(head, 0, "another tenant sees this tenant's changes");
            true
        })
        .await;
        assert!(theirs.is_empty());
        assert!(server.store.verify(None).unwrap().is_empty());
    }
}
