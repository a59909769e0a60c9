//! `loyalty`: the loyalty-points engine's command line (thin: parse, then call the crates).

use anyhow::Context;
use clap::{Parser, Subcommand};

/// The loyalty-points engine.
#[derive(Debug, Parser)]
#[command(name = "loyalty", version = env!("LOYALTY_BUILD_INFO"), about)]
struct Cli {
    /// Database URL: a file path for SQLite (the embedded default) or postgres://... for
    /// PostgreSQL.
    #[arg(
        long,
        global = true,
        env = "LOYALTY_DATABASE_URL",
        default_value = "loyalty.db"
    )]
    database_url: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates the database if needed and runs pending migrations.
    Migrate,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Migrate => {
            let db = loyalty_store::Database::open(&cli.database_url, 1)
                .with_context(|| format!("opening {}", cli.database_url))?;
            let ran = db.migrate().context("running migrations")?;
            println!("{ran} migration(s) applied to {:?} database", db.backend());
        }
    }
    Ok(())
}
