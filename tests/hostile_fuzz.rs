//! Fuzzing through the real server: every RPC of `loyalty.v1` (read from the file descriptor
//! set, so a new RPC is fuzzed without a change here) gets random bytes and messages whose
//! fields hold hostile values (control characters, NUL, values over every limit, huge and
//! negative numbers, unknown enum values), with each role's credential. No call may panic,
//! answer INTERNAL or UNKNOWN, or take more than a few seconds, and nothing may change.
//!
//! Seeded and bounded: a few calls per RPC in the normal run; `LOYALTY_LONG_FAULTS=1` runs
//! many more (`LOYALTY_FUZZ_SEED=<n>` picks another seed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod ledger_support;

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use common::{TestServer, authed};
use ledger_support::{Shop, bill, dec, money, pts};
use loyalty_core::{ConversionRate, Currency, EarnRate, Percent, ProgramRules, RedemptionRules};
use loyalty_grpc::pb;
use loyalty_store::HistoryFilter;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

/// Calls per RPC: a few in the normal run, many with `LOYALTY_LONG_FAULTS=1`.
fn calls_per_rpc() -> usize {
    if std::env::var("LOYALTY_LONG_FAULTS").is_ok_and(|v| v == "1") {
        300
    } else {
        4
    }
}

fn seed() -> u64 {
    std::env::var("LOYALTY_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_121)
}

/// Sends and receives message bodies as they are, so any bytes can be sent to any method.
#[derive(Debug, Clone, Default)]
struct RawCodec;

#[derive(Debug)]
struct Raw;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// Every RPC: its path and the full name of its request message.
/// Every RPC: its path, its input type, and whether it streams its answer.
fn rpcs(set: &FileDescriptorSet) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                out.push((
                    format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                    method.input_type().to_owned(),
                    method.server_streaming(),
                ));
            }
        }
    }
    out
}

fn messages(set: &FileDescriptorSet) -> HashMap<String, DescriptorProto> {
    let mut out = HashMap::new();
    for file in &set.file {
        for message in &file.message_type {
            out.insert(
                format!(".{}.{}", file.package(), message.name()),
                message.clone(),
            );
        }
    }
    out
}

/// A string no field of the API accepts as valid: blank, with a control character, or longer
/// than every limit. (So no hostile message can change anything: every changing call needs a
/// valid idempotency key.)
fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\u{0}".to_owned()),
        (
            "[a-zA-Z0-9 .-]{0,12}",
            "[\u{0}-\u{1f}\u{7f}-\u{9f}]",
            "[a-zA-Z0-9 .-]{0,12}"
        )
            .prop_map(|(a, c, b)| format!("{a}{c}{b}")),
        ("[0-9]", 600..2_000usize).prop_map(|(d, n)| d.repeat(n)),
        ("\\PC", 600..1_000usize).prop_map(|(c, n)| c.repeat(n)),
    ]
}

/// Any number, most of them out of range.
fn hostile_number() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        0..20u64,
        Just(u64::from(u32::MAX)),
        Just(u64::MAX),
        any::<u64>()
    ]
}

/// A body for `message`: each field present or not, with hostile values (nested messages up
/// to `depth` levels, repeated fields with up to three entries).
fn hostile_message(
    runner: &mut TestRunner,
    all: &HashMap<String, DescriptorProto>,
    message: &DescriptorProto,
    depth: u32,
) -> Vec<u8> {
    let mut out = Vec::new();
    let draw =
        |runner: &mut TestRunner, s: BoxedStrategy<u64>| s.new_tree(runner).unwrap().current();
    for field in &message.field {
        let count = if field.label() == Label::Repeated {
            draw(runner, (0..4u64).boxed())
        } else {
            draw(runner, (0..2u64).boxed())
        };
        for _ in 0..count {
            let number = u64::from(u32::try_from(field.number()).unwrap());
            match field.r#type() {
                Type::String | Type::Bytes => {
                    let value = hostile_string().new_tree(runner).unwrap().current();
                    put_varint(&mut out, number << 3 | 2);
                    put_varint(&mut out, value.len() as u64);
                    out.extend_from_slice(value.as_bytes());
                }
                Type::Message => {
                    if depth == 0 {
                        continue;
                    }
                    let nested = all
                        .get(field.type_name())
                        .map(|m| hostile_message(runner, all, m, depth - 1))
                        .unwrap_or_default();
                    put_varint(&mut out, number << 3 | 2);
                    put_varint(&mut out, nested.len() as u64);
                    out.extend_from_slice(&nested);
                }
                _ => {
                    let value = draw(runner, hostile_number().boxed());
                    put_varint(&mut out, number << 3);
                    put_varint(&mut out, value);
                }
            }
        }
    }
    out
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn shop_rules() -> ProgramRules {
    let inr = Currency::new("INR").unwrap();
    let mut rules = ProgramRules::new(inr);
    rules.base_rate = EarnRate::new(pts(1), dec("10")).unwrap();
    rules.redemption = Some(RedemptionRules {
        rate: ConversionRate::new(pts(1), money("1.00", inr)).unwrap(),
        min_points: pts(1),
        max_bill_share: Percent::HUNDRED,
        max_points_per_bill: None,
    });
    rules
}

/// What no call may change.
fn state(server: &TestServer, tenant: &str) -> String {
    let store = &server.store;
    let programs = store.list_programs(tenant).unwrap();
    let members = store.list_members(tenant, None, 500).unwrap().items;
    let mut out = format!(
        "{:?}\n{programs:?}\n{members:?}\n",
        store.list_tenants().unwrap()
    );
    for member in &members {
        out += &format!(
            "{:?}\n",
            store.list_memberships(tenant, &member.id).unwrap()
        );
    }
    let history = store
        .history(tenant, HistoryFilter::default(), None, 500)
        .unwrap();
    out + &format!("{:?}", history.items)
}

on_both_backends! {
    async fn every_rpc_refuses_random_bytes_and_hostile_values_without_internal_errors_or_changes(server) {
        let mut shop = Shop::open(server, "Cathay Shop").await;
        let program = shop.program(server, "Cathay Rewards", shop_rules());
        let member = shop.member(server, "CARD-0001", None, &[&program]);
        shop.ledger.earn(authed(&shop.service, pb::EarnRequest {
            idempotency_key: "seed".into(),
            member_id: member.clone(),
            program_id: program.clone(),
            bill: Some(bill("SEED", &[("", "1000")])),
        })).await.unwrap();
        let member_key = shop.member_key(server, &member).await;
        let keys = [server.operator_key.clone(), shop.admin.clone(), shop.service.clone(), member_key];
        let before = state(server, &shop.tenant);

        let set = FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
        let (rpcs, all) = (rpcs(&set), messages(&set));
        assert!(rpcs.len() >= 40, "only {} RPCs found", rpcs.len());
        let seed = seed();
        let mut runner = TestRunner::new_with_rng(
            Config::default(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &{
                let mut bytes = [0u8; 32];
                bytes[..8].copy_from_slice(&seed.to_le_bytes());
                bytes
            }),
        );
        let mut grpc = tonic::client::Grpc::new(server.channel().await);
        let mut answered: HashMap<Code, usize> = HashMap::new();
        for n in 0..calls_per_rpc() {
            for (path, input, streams) in &rpcs {
                let body = if n % 2 == 0 {
                    prop::collection::vec(any::<u8>(), 0..96).new_tree(&mut runner).unwrap().current()
                } else {
                    hostile_message(&mut runner, &all, &all[input], 2)
                };
                let key = &keys[(0..keys.len()).new_tree(&mut runner).unwrap().current()];
                grpc.ready().await.unwrap();
                let request = authed(key, Bytes::from(body.clone()));
                let call = async {
                    if *streams {
                        // Answered once the stream opens; dropping it hangs up.
                        grpc.server_streaming(request, path.parse().unwrap(), RawCodec)
                            .await
                            .map(|_| ())
                    } else {
                        grpc.unary(request, path.parse().unwrap(), RawCodec).await.map(|_| ())
                    }
                };
                let result = tokio::time::timeout(Duration::from_secs(10), call)
                    .await
                    .unwrap_or_else(|_| panic!("{path} hung on {body:?} (seed {seed})"));
                let code = match &result {
                    Ok(_) => Code::Ok,
                    Err(status) => status.code(),
                };
                assert!(
                    !matches!(code, Code::Internal | Code::Unknown | Code::Unavailable | Code::DataLoss),
                    "{path} answered {result:?} to {body:?} (seed {seed})"
                );
                if let Err(status) = &result {
                    assert!(status.message().len() <= 300, "{path}: a message of {} bytes", status.message().len());
                }
                *answered.entry(code).or_default() += 1;
            }
        }
        eprintln!("answers: {answered:?}");
        assert_eq!(state(server, &shop.tenant), before, "seed {seed}");
    }
}
