//! Runs the compiled `billing` example against a real server on a fresh SQLite store, so the
//! code other teams copy keeps working: a paid checkout captures and earns, a declined card
//! releases the points. The example links `loyalty-proto` only; this test has the server (a
//! dev-dependency) to run it against.
//!
//! `cargo test` builds a package's examples before running its tests, but `env!` names only
//! binaries, so the example is found next to this test executable: `target/<profile>/examples`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use loyalty_core::{
    BillLine, CardNumber, ConversionRate, Currency, EarnRate, IdempotencyKey, Money, Points,
    ProgramRules, RedemptionRules,
};
use loyalty_grpc::server::{ServerConfig, run};
use loyalty_store::testing::{Kind, TestDatabase, start};
use loyalty_store::{EarnRequest, ManualClock, NewMember, Role, Store};

/// The example's executable, which must be at least as new as its source.
fn example() -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let profile_dir = test.parent().and_then(Path::parent).unwrap();
    let binary = profile_dir
        .join("examples")
        .join(format!("billing{}", std::env::consts::EXE_SUFFIX));
    let built = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified());
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/billing.rs");
    match (built(&binary), built(&source)) {
        (Ok(binary_time), Ok(source_time)) if binary_time >= source_time => binary,
        (Ok(_), _) => panic!(
            "{} is older than examples/billing.rs: run `cargo test -p loyalty-proto` (which \
             builds the examples) or `cargo build -p loyalty-proto --examples`",
            binary.display()
        ),
        (Err(e), _) => panic!(
            "{} not found ({e}): run `cargo test -p loyalty-proto` (which builds the examples) or \
             `cargo build -p loyalty-proto --examples`",
            binary.display()
        ),
    }
}

/// Runs the example on a blocking thread (it is a separate process).
async fn run_example(env: Vec<(&'static str, String)>, args: &[&str]) -> Output {
    let mut command = Command::new(example());
    command
        .args(args)
        .env_remove("LOYALTY_POINTS")
        .env_remove("LOYALTY_CARD_DECLINED");
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().expect("run the billing example"))
        .await
        .unwrap()
}

fn pts(n: u64) -> Points {
    Points::whole(n).unwrap()
}

/// Cathay Shop: 1 point per 10 spent; 1 point pays 1.00, at most 100 points and half a bill.
fn cathay_shop(inr: Currency) -> ProgramRules {
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(pts(1), "10".parse().unwrap()).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(1), Money::parse("1.00", inr).unwrap()).unwrap(),
        min_points: pts(10),
        max_bill_share: "50".parse().unwrap(),
        max_points_per_bill: Some(pts(100)),
    });
    rules
}

/// A tenant, its service key, the program and a member who earned 150 points on a 1500 bill.
fn shop(store: &Store) -> (String, String, String, String) {
    let inr = Currency::new("INR").unwrap();
    let tenant = store.create_tenant(None, "Cathay Shop").unwrap().id;
    let key = store
        .issue_api_key(None, Some(&tenant), Role::Service, None, "billing")
        .unwrap()
        .key;
    let program = store
        .create_program(&tenant, None, "Cathay Rewards", cathay_shop(inr))
        .unwrap()
        .id;
    let new = NewMember {
        customer_id: "C-1001".into(),
        card_number: CardNumber::new("CARD-0001").unwrap(),
        name: "Sachin".into(),
        phone: None,
        email: None,
        referrer_id: None,
    };
    let (member, _) = store
        .enroll_member(&tenant, None, new, std::slice::from_ref(&program))
        .unwrap();
    store
        .earn(
            &tenant,
            EarnRequest {
                idempotency_key: IdempotencyKey::new("ORDER100:earn").unwrap(),
                member_id: member.id.clone(),
                program_id: program.clone(),
                reference: "ORDER100".into(),
                lines: vec![BillLine {
                    category: None,
                    amount: Money::parse("1500", inr).unwrap(),
                }],
                at: None,
                actor: "setup".into(),
            },
        )
        .unwrap();
    (tenant, key, member.id, program)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_billing_example_settles_a_bill_with_points_and_card() {
    let db = TestDatabase::new(Kind::Sqlite);
    let store = db.store(4, Arc::new(ManualClock::new(start())));
    let (tenant, key, member, program) = shop(&store);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(
        listener,
        store.clone(),
        ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let env = || {
        vec![
            ("LOYALTY_ADDR", format!("http://{addr}")),
            ("LOYALTY_KEY", key.clone()),
            ("LOYALTY_MEMBER", member.clone()),
            ("LOYALTY_PROGRAM", program.clone()),
        ]
    };

    // A 300 bill: the quote allows 100 points (the per-bill maximum), the card pays 200.00,
    // which earns 20 points.
    let paid = run_example(env(), &["ORDER124", "300"]).await;
    let stdout = String::from_utf8_lossy(&paid.stdout);
    assert!(
        paid.status.success(),
        "the example failed ({}):\n{stdout}\n{}",
        paid.status,
        String::from_utf8_lossy(&paid.stderr)
    );
    for expected in [
        "up to 100 points usable (limited by points_per_bill); paying with 100",
        "100 points held, 200.00 INR left to pay by card",
        "charged 200.00 INR",
        "captured 100 points; 50 available",
        "earned 20 points on 200.00; 70 available",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }

    // The next bill's card is declined: the 30 points reserved for it come back.
    let mut declined_env = env();
    declined_env.push(("LOYALTY_POINTS", "30".into()));
    declined_env.push(("LOYALTY_CARD_DECLINED", "1".into()));
    let declined = run_example(declined_env, &["ORDER125", "300"]).await;
    let stdout = String::from_utf8_lossy(&declined.stdout);
    assert!(
        !declined.status.success(),
        "a declined card must fail:\n{stdout}"
    );
    assert!(
        stdout.contains("released 30 points; 70 available"),
        "no release in:\n{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&declined.stderr).contains("the card was declined"),
        "{}",
        String::from_utf8_lossy(&declined.stderr)
    );

    let balances = store
        .get_membership(&tenant, &member, &program)
        .unwrap()
        .balances;
    assert_eq!(
        (balances.available, balances.held, balances.redeemed),
        (pts(70), Points::ZERO, pts(100))
    );
    assert!(store.verify(None).unwrap().is_empty());

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
