//! # loyalty-bench
//!
//! The benchmark that proves the write path. It drives a real `loyalty` server (child
//! processes, over gRPC on 127.0.0.1) or the store in-process with a fixed number of calls in
//! flight for a fixed time, prints calls/s and exact latency percentiles per workload, and then
//! proves the run was correct: every acknowledged call is in the ledger exactly once, and the
//! invariant checker finds no violation. A `grow` mode builds a large ledger through the store
//! and measures earn latency on it.
//!
//! This library is the body of the `loyalty-bench` binary (and of its test); it is not meant
//! to be linked by services, so it reports errors with `anyhow` like a binary does.
//!
//! ## Layout
//! - [`cli`]: the command line (`run`, `grow`, `smoke`) and what each command does.
//! - [`workload`]: the workloads and which member each call goes to.
//! - [`shop`]: the benchmark's program and the amounts every workload uses, in both modes.
//! - [`driver`]: the closed loop: N callers for a fixed time, a warm-up that is not counted.
//! - [`cpu`]: CPU time of the bench and its servers, printed with each run.
//! - [`stats`]: what a run records (latencies, errors by code, acknowledged calls) and exact
//!   percentiles.
//! - [`report`]: the printed tables.
//! - [`database`]: a fresh database per run: an SQLite file in a temporary directory or a
//!   throwaway PostgreSQL database.
//! - [`grpc`]: the server as child processes, the gRPC clients, and the workloads over gRPC.
//! - [`direct`]: the same workloads in-process through `loyalty_store::Store`, every store
//!   call behind [`direct::store_call`].
//! - [`check`]: the exactly-once check over the ledger's tables (read-only).
//! - [`grow`]: growing a ledger to millions of entries and earn latency at both ends.
//! - [`parallel`]: bounded parallel setup work.
//! - [`import`]: the throughput of `loyalty import` on a generated file.

pub mod check;
pub mod cli;
pub mod cpu;
pub mod database;
pub mod direct;
pub mod driver;
pub mod grow;
pub mod grpc;
pub mod import;
pub mod parallel;
pub mod report;
pub mod shop;
pub mod stats;
pub mod workload;
