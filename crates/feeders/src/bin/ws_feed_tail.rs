//! Print the messages of a websocket feed, one JSON line each.

use anyhow::Result;
use clap::Parser;
use feeders::backoff::Backoff;
use feeders::batch::Batch;
use feeders::cli::{self, LogArgs};
use feeders::pattern::Filter;
use feeders::upstream::{self, UpstreamConfig, UpstreamEvent};
use std::io::Write;
use std::time::Duration;

/// Print each message of a feed as one JSON line on stdout; reconnects when the source goes
/// away. Status replies (auth/subscribe) are logged to stderr, not printed.
///
/// Examples:
///   ws_feed_tail
///   ws_feed_tail --uri ws://127.0.0.1:5001
///   ws_feed_tail --patterns AM.AAPL,AM.MSFT --count 10
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Feed to read.
    #[arg(long, default_value = "ws://127.0.0.1:5000")]
    uri: String,
    /// Subscribe to these patterns (default: receive everything).
    #[arg(long)]
    patterns: Option<String>,
    /// Exit after printing this many messages.
    #[arg(long)]
    count: Option<u64>,
    /// Authenticate with this token.
    #[arg(long)]
    token: Option<String>,
    /// Longest wait between reconnect attempts, in seconds.
    #[arg(long, default_value_t = 5.0)]
    max_backoff: f64,
    #[command(flatten)]
    log: LogArgs,
}

/// A one-line JSON array or object that cannot be a status reply: printable as it is.
/// Validating without building values is several times cheaper than [`Batch::parse`].
fn plain_data(text: &str) -> bool {
    (text.starts_with('[') || text.starts_with('{'))
        && !text.contains('\n')
        && !text.contains("\"status\"")
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

fn is_status(b: &Batch) -> bool {
    !b.events.is_empty() && b.events.iter().all(|e| e.ev.as_deref() == Some("status"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    cli::init_logging(&args.log)?;
    if let Some(p) = &args.patterns {
        Filter::parse(p)?;
    }
    let mut cfg = UpstreamConfig::new(&args.uri);
    cfg.patterns = args.patterns.clone();
    cfg.token = args.token.clone();
    cfg.backoff = Backoff::new(
        Duration::from_millis(100),
        cli::seconds(args.max_backoff, "--max-backoff")?,
    );
    let (mut rx, _task) = upstream::spawn(cfg);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut printed = 0u64;
    let run = async {
        while args.count.is_none_or(|c| printed < c) {
            let Some(ev) = rx.recv().await else { break };
            let UpstreamEvent::Message(text) = ev else {
                continue;
            };
            let text = text.as_str();
            // Data messages on one line are printed as they are: parsing 100 bars per
            // message only to find they are not status replies cost most of the tail's time.
            let line = if plain_data(text) {
                Ok(None)
            } else {
                Batch::parse(text).map(Some)
            };
            match line {
                Ok(Some(b)) if is_status(&b) => tracing::info!("status: {}", b.text.as_str()),
                Ok(b) => {
                    let line = b.as_ref().map_or(text, |b| b.text.as_str());
                    writeln!(out, "{line}")?;
                    printed += 1;
                    // Flush when caught up, so pipes see lines promptly without a syscall
                    // per line under load.
                    if rx.is_empty() {
                        out.flush()?;
                    }
                }
                Err(e) => tracing::warn!("skipping message: {e}"),
            }
        }
        anyhow::Ok(())
    };
    let result = tokio::select! {
        r = run => r,
        _ = cli::shutdown_signal() => Ok(()),
    };
    out.flush()?;
    result
}
