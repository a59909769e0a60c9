//! `loyalty-bench`: the load benchmark of the loyalty server (see the crate docs and
//! BENCHMARKS.md). Thin: parse the command line, run it, exit 1 when a check failed.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use loyalty_bench::cli::{Cli, execute};

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let passed = runtime.block_on(execute(cli))?;
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
