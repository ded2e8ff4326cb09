//! Apply a Klong function to every message of a feed and serve the results.

use anyhow::{Context, Result};
use clap::Parser;
use feeders::batch::Batch;
use feeders::cli::{self, LogArgs, ServeArgs};
use feeders::handler::{Handler, HandlerError};
use feeders::hub::Hub;
use feeders::pattern::Filter;
use feeders::server::{ServeOptions, Server};
use feeders::upstream::{self, UpstreamConfig, UpstreamEvent};
use std::time::Duration;

// Each message becomes a tree of small Klong values (dictionary, strings, lists) freed right
// after `onmsg`; mimalloc serves that churn cheaper than glibc's malloc, as in the kdfs server
// and the `klong` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Load FILE.kg into a Klong interpreter, call its `onmsg` with each message of the upstream
/// feed (JSON objects → dictionaries, arrays → lists, numbers, strings) and publish each
/// non-empty result, converted back to JSON, to this feeder's own subscribers (same
/// auth/subscribe protocol as the source). Errors in the handler are logged; the feed goes on.
/// The bound address is printed on stdout as one line.
///
/// Examples:
///   ws_feed_klong kg/avg.kg --port 5001
///   ws_feed_klong kg/vwap.kg --uri ws://127.0.0.1:5000 --patterns AM.AAPL,AM.MSFT --port 5002
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// The Klong script defining the handler.
    file: String,
    /// Feed to read.
    #[arg(long, default_value = "ws://127.0.0.1:5000")]
    uri: String,
    /// Subscribe upstream to these patterns (default: everything).
    #[arg(long)]
    patterns: Option<String>,
    /// Token for the upstream feed, if it requires one.
    #[arg(long)]
    upstream_token: Option<String>,
    /// Port to serve results on (0 = any free port).
    #[arg(long, default_value_t = 5001)]
    port: u16,
    /// Name of the function called per message.
    #[arg(long = "fn", default_value = "onmsg")]
    func: String,
    /// Seconds one call may run before it is interrupted (0 = no limit).
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// Connect upstream only once this many clients have subscribed here (so none misses
    /// the first results).
    #[arg(long, default_value_t = 0)]
    wait_subscribers: usize,
    /// Let the script read and write files (off by default: scripts run sandboxed).
    #[arg(long)]
    allow_files: bool,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(flatten)]
    log: LogArgs,
}

/// Runs on its own thread: Klong interpreters are not `Send`.
fn handler_loop(
    mut handler: Handler,
    mut input: tokio::sync::mpsc::Receiver<UpstreamEvent>,
    output: tokio::sync::mpsc::Sender<Batch>,
) {
    let (mut ok, mut failed) = (0u64, 0u64);
    while let Some(ev) = input.blocking_recv() {
        let UpstreamEvent::Message(text) = ev else {
            continue;
        };
        let text = text.as_str();
        // Only a message that mentions "status" can be a status reply; parse just those.
        if text.contains("\"status\"")
            && serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| is_status(&v))
        {
            tracing::info!("upstream status: {text}");
            continue;
        }
        match handler.call_text(text) {
            Ok(Some(result)) => {
                ok += 1;
                let batch = Batch::from_value(&result);
                tracing::info!("result: {}", preview(batch.text.as_str()));
                if output.blocking_send(batch).is_err() {
                    break;
                }
            }
            Ok(None) => ok += 1,
            Err(HandlerError::Malformed(e)) => {
                tracing::warn!("skipping malformed message ({e}): {}", preview(text));
            }
            Err(e) => {
                failed += 1;
                tracing::warn!("{e}; message: {}", preview(text));
            }
        }
    }
    tracing::info!(ok, failed, "handler stopped");
}

fn is_status(v: &serde_json::Value) -> bool {
    v.as_array().is_some_and(|a| {
        !a.is_empty()
            && a.iter()
                .all(|e| e.get("ev").and_then(|x| x.as_str()) == Some("status"))
    })
}

fn preview(s: &str) -> &str {
    match s.char_indices().nth(300) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    cli::init_logging(&args.log)?;
    if let Some(p) = &args.patterns {
        Filter::parse(p)?;
    }
    let source = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read handler script {}", args.file))?;
    let caps = klong::Capabilities {
        files: args.allow_files,
        ..klong::Capabilities::none()
    };
    let timeout = cli::seconds(args.timeout, "--timeout")?;
    // Load once up front so a broken script fails before we listen.
    Handler::load(&source, &args.func, caps).with_context(|| format!("in {}", args.file))?;

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

    if args.wait_subscribers > 0 {
        tracing::info!("waiting for {} subscriber(s)", args.wait_subscribers);
        tokio::select! {
            _ = hub.wait_for_subscribed(args.wait_subscribers) => {}
            _ = cli::shutdown_signal() => {
                hub.close();
                server.shutdown(Duration::from_secs(1)).await;
                return Ok(());
            }
        }
    }
    let mut cfg = UpstreamConfig::new(&args.uri);
    cfg.patterns = args.patterns.clone();
    cfg.token = args.upstream_token.clone();
    let (input, _up) = upstream::spawn(cfg);
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Batch>(1024);
    let func = args.func.clone();
    let worker = std::thread::Builder::new()
        .name("klong".into())
        .spawn(move || match Handler::load(&source, &func, caps) {
            Ok(mut h) => {
                h.set_timeout((!timeout.is_zero()).then_some(timeout));
                handler_loop(h, input, out_tx);
            }
            Err(e) => tracing::error!("{e}"),
        })
        .context("cannot start the handler thread")?;

    let publish = async {
        while let Some(b) = out_rx.recv().await {
            hub.publish(&b).await;
        }
    };
    tokio::select! {
        _ = publish => {}
        _ = cli::shutdown_signal() => {}
    }
    hub.close();
    server.shutdown(Duration::from_secs(5)).await;
    // Dropping the receiver ends the handler thread at its next message.
    drop(out_rx);
    if worker.is_finished() {
        let _ = worker.join();
    }
    Ok(())
}
