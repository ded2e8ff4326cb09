//! The `kdfs` command line: `kdfs server` runs the database; the other subcommands are thin
//! wrappers over [`kdfs_client::Client`] for scripts and operators.
//!
//! To add a subcommand: one variant in [`Command`] (with its `Args` struct in its own module)
//! and one arm in [`run`].

pub mod admin;
pub mod connect;
pub mod export;
pub mod import;
pub mod query;
pub mod server;
pub mod size;
pub mod token;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  kdfs server --dir /tmp/dfs --port 8000 --memory 2GiB
  kdfs import historical/minute/AAPL aapl.csv --index t
  kdfs ls historical/minute
  kdfs export historical/minute/AAPL --from 1704205800000 --to 1704229200000 --format csv -o aapl.csv
  kdfs sql \"SELECT key, avg(c) FROM frames('historical/minute') GROUP BY key\"
  kdfs klong '+/.df(\"historical/minute/AAPL\")?\"c\"'
  kdfs stats --level 1
  kdfs rm historical/minute/AAPL";

/// kdfs: a persistent dataframe server for streaming market data.
#[derive(Debug, Parser)]
#[command(name = "kdfs", version, about, after_help = EXAMPLES)]
pub struct Cli {
    /// Log level (error, warn, info, debug, trace, or a tracing filter such as kdfs=debug).
    /// Default: info for `server`, warn otherwise. Logs go to stderr.
    #[arg(long, global = true)]
    pub log: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the database server.
    #[command(
        after_help = "Example:\n  kdfs server --dir /tmp/dfs --bind 127.0.0.1 --port 8000 --memory 1GiB"
    )]
    Server(server::ServerArgs),
    /// Print server statistics as JSON.
    #[command(after_help = "Example:\n  kdfs stats --level 2 --port 8000")]
    Stats(admin::StatsArgs),
    /// List stored keys with row counts and first/last index.
    #[command(after_help = "Example:\n  kdfs ls historical/minute")]
    Ls(admin::LsArgs),
    /// Import a CSV or Arrow IPC file into a frame.
    #[command(
        after_help = "Example:\n  kdfs import historical/minute/AAPL aapl.csv --index t --upsert"
    )]
    Import(import::ImportArgs),
    /// Export a frame (or an index range of it) as CSV, JSON or Arrow.
    #[command(
        after_help = "Example:\n  kdfs export historical/minute/AAPL --from 100 --to 200 --columns t,c --format json -o out.json"
    )]
    Export(export::ExportArgs),
    /// Delete a frame.
    #[command(after_help = "Example:\n  kdfs rm historical/minute/AAPL")]
    Rm(admin::KeyArgs),
    /// Load a frame into the server's memory and keep it there.
    #[command(after_help = "Example:\n  kdfs load historical/minute/AAPL")]
    Load(admin::KeyArgs),
    /// Drop a frame from the server's memory (it stays on disk).
    #[command(after_help = "Example:\n  kdfs unload historical/minute/AAPL")]
    Unload(admin::KeyArgs),
    /// Run a SQL query on the server and print the result.
    #[command(
        after_help = "Example:\n  kdfs sql \"SELECT * FROM historical.minute.AAPL LIMIT 5\" --format csv"
    )]
    Sql(query::SqlArgs),
    /// Evaluate Klong code on the server and print the value.
    #[command(after_help = "Example:\n  kdfs klong '.keys(\"historical/minute\")'")]
    Klong(query::KlongArgs),
    /// Interactive SQL and Klong console against a running server.
    #[command(
        after_help = "Examples:\n  kdfs repl\n  kdfs repl -c stats\n  kdfs repl < script.txt"
    )]
    Repl(crate::repl::ReplArgs),
}

impl Command {
    /// The log level used when `--log` is not given.
    pub fn default_log(&self) -> &'static str {
        match self {
            Command::Server(_) => "info",
            _ => "warn",
        }
    }
}

/// Run a parsed command line; returns the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Server(args) => server::run(args).await,
        Command::Stats(args) => admin::stats(args).await,
        Command::Ls(args) => admin::ls(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Export(args) => export::run(args).await,
        Command::Rm(args) => admin::rm(args).await,
        Command::Load(args) => admin::load(args).await,
        Command::Unload(args) => admin::unload(args).await,
        Command::Sql(args) => query::sql(args).await,
        Command::Klong(args) => query::klong(args).await,
        Command::Repl(args) => crate::repl::run(args).await,
    }
}
