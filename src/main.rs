//! The `kdfs` binary: see `kdfs --help`.

use clap::Parser;
use kdfs::cli::{self, Cli};
use tracing_subscriber::EnvFilter;

// Requests and queries make many short-lived allocations; mimalloc serves them several times
// cheaper than glibc's malloc (which was a quarter of the server's CPU on one-row updates).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    let filter = cli
        .log
        .clone()
        .unwrap_or_else(|| cli.command.default_log().to_string());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("kdfs: bad --log value {filter:?} ({e}); using info");
        EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kdfs: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kdfs: {e:#}");
            1
        }
    };
    // Do not wait for stray blocking tasks (e.g. a read the client abandoned).
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    std::process::exit(code);
}
