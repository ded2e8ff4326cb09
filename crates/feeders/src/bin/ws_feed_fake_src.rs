//! Fake market-data source: a random walk of minute bars per symbol, served over websocket.

use anyhow::Result;
use clap::Parser;
use feeders::bar;
use feeders::cli::{self, LogArgs, ServeArgs};
use feeders::fake::FakeMarket;
use feeders::hub::Hub;
use feeders::server::{ServeOptions, Server};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Serve fake minute bars (one JSON array per tick, one bar per symbol) to websocket clients.
///
/// Clients may subscribe with {"action":"subscribe","params":"AM.AAPL,AM.MSFT"}; a client that
/// never subscribes receives everything. The bound address is printed on stdout as one line.
///
/// Examples:
///   ws_feed_fake_src --symbols AAPL,MSFT,TSLA
///   ws_feed_fake_src --nsyms 100 --delay 0 --count 10000 --wait-subscribers 1 --port 0
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Comma-separated symbols.
    #[arg(long, default_value = "AAPL,MSFT,TSLA")]
    symbols: String,
    /// Use N generated symbols (S0000, S0001, ...) instead of --symbols.
    #[arg(long, value_name = "N")]
    nsyms: Option<usize>,
    /// Seconds between ticks; fractions allowed, 0 = as fast as subscribers take them.
    #[arg(long, default_value_t = 1.0)]
    delay: f64,
    /// Event type of the bars.
    #[arg(long, default_value = "AM")]
    ev: String,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 5000)]
    port: u16,
    /// Random seed (default: from the clock, logged so a run can be repeated).
    #[arg(long)]
    seed: Option<u64>,
    /// Stop after this many ticks (default: run until Ctrl-C).
    #[arg(long)]
    count: Option<u64>,
    /// Start time of the first bar in epoch ms (default: now).
    #[arg(long)]
    start_ms: Option<i64>,
    /// Add "t": publish time in epoch microseconds to every bar (for latency measurements).
    #[arg(long)]
    stamp: bool,
    /// Wait until this many clients have subscribed before the first tick.
    #[arg(long, default_value_t = 0)]
    wait_subscribers: usize,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(flatten)]
    log: LogArgs,
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    cli::init_logging(&args.log)?;
    let symbols = match args.nsyms {
        Some(n) if n > 0 => (0..n).map(|i| format!("S{i:04}")).collect(),
        Some(_) => anyhow::bail!("--nsyms must be at least 1"),
        None => cli::parse_symbols(&args.symbols)?,
    };
    let delay = cli::seconds(args.delay, "--delay")?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let seed = args.seed.unwrap_or(now_ms as u64);
    tracing::info!(seed, symbols = symbols.len(), "fake source starting");
    let mut market = FakeMarket::new(&args.ev, symbols, seed, args.start_ms.unwrap_or(now_ms));

    let hub = Hub::new(args.serve.hub_config()?);
    let listener = cli::listen(&args.serve.bind, args.port).await?;
    let server = Server::start(
        listener,
        hub.clone(),
        ServeOptions {
            token: args.serve.token.clone(),
            fixed: None,
        },
    )?;

    let produce = async {
        hub.wait_for_subscribed(args.wait_subscribers).await;
        let mut ticker = tokio::time::interval(delay.max(Duration::from_micros(1)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sent = 0u64;
        while args.count.is_none_or(|c| sent < c) {
            if !delay.is_zero() {
                ticker.tick().await;
            }
            let mut bars = market.tick();
            if args.stamp {
                let t = now_micros();
                for b in &mut bars {
                    b.t = Some(t);
                }
            }
            if delay.is_zero() && hub.subscribers() == 0 {
                // Flat out into the void would only burn CPU; wait for someone to listen.
                hub.wait_for_subscribers(1).await;
            }
            hub.publish(&bar::to_batch(&bars)).await;
            sent += 1;
            if delay.is_zero() && sent.is_multiple_of(256) {
                // Let connection tasks run even when every queue has room.
                tokio::task::yield_now().await;
            }
        }
        tracing::info!(ticks = sent, "count reached");
        anyhow::Ok(())
    };
    tokio::select! {
        r = produce => r?,
        _ = cli::shutdown_signal() => {}
    }
    let stats = hub.stats();
    tracing::info!(
        published = stats.published,
        delivered = stats.delivered,
        slow_dropped = stats.slow_dropped,
        "closing"
    );
    hub.close();
    server.shutdown(Duration::from_secs(10)).await;
    Ok(())
}
