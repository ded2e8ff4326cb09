//! Store every minute bar of a websocket feed in kdfs.

use anyhow::Result;
use clap::Parser;
use feeders::backoff::Backoff;
use feeders::bar::Bar;
use feeders::batch::BatchError;
use feeders::cli::{self, LogArgs};
use feeders::ingest::valid_symbol;
use feeders::pattern::Filter;
use feeders::upstream::{self, UpstreamConfig, UpstreamEvent};
use feeders::writer::{FrameStore, Ingest};
use kdfs_client::tls::TlsOptions;
use kdfs_client::{ClientManager, ClientOptions, Pool, UpdateOptions};
use serde_json::value::RawValue;
use std::time::Duration;

/// Read minute bars from a feed and store each symbol's bars in kdfs under
/// `historical/minute/<SYM>` (index `t` = bar end in epoch ms; columns o h l c v vw n).
///
/// One update per symbol per message batch, through a connection pool. While kdfs is down the
/// bars wait in a bounded buffer (`--buffer`) and writes are retried with backoff; if the
/// buffer overflows, the log says how many bars were dropped. Writes are upserts, so a retried
/// batch never duplicates rows.
///
/// Examples:
///   ws_feed_dfs_client
///   ws_feed_dfs_client --uri ws://127.0.0.1:5000 --patterns AM.* --dfs-host 127.0.0.1 --dfs-port 8000
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Feed to read.
    #[arg(long, default_value = "ws://127.0.0.1:5000")]
    uri: String,
    /// Subscribe to these patterns.
    #[arg(long, default_value = "AM.*")]
    patterns: String,
    /// kdfs server host.
    #[arg(long, alias = "dfs_host", default_value = "127.0.0.1")]
    dfs_host: String,
    /// kdfs server port.
    #[arg(long, alias = "dfs_port", default_value_t = 8000)]
    dfs_port: u16,
    /// Token for the kdfs server, if it requires one (default: $KDFS_TOKEN).
    #[arg(long)]
    dfs_token: Option<String>,
    /// Connect to kdfs with TLS, trusting the certificates in this PEM file (the server's own
    /// certificate if self-signed, or the authority that signed it).
    #[arg(long, value_name = "FILE")]
    dfs_tls_ca: Option<std::path::PathBuf>,
    /// Token for the feed, if it requires one.
    #[arg(long)]
    upstream_token: Option<String>,
    /// Bars held while kdfs is slow or down.
    #[arg(long, default_value_t = 1_000_000)]
    buffer: usize,
    /// Connections to kdfs (symbols are written concurrently).
    #[arg(long, default_value_t = 8)]
    connections: u32,
    /// Seconds between progress lines in the log (0 = none).
    #[arg(long, default_value_t = 10.0)]
    progress: f64,
    #[command(flatten)]
    log: LogArgs,
}

/// The kdfs server, reached through the client pool.
#[derive(Clone)]
struct Kdfs {
    pool: Pool,
}

impl FrameStore for Kdfs {
    async fn write(&self, key: String, frame: arrow::array::RecordBatch) -> Result<(), String> {
        let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
        let options = UpdateOptions {
            index: "t".to_string(),
            upsert: true,
        };
        conn.update(&key, &frame, options)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The minute bars of a message (a JSON array of events, or one event object); status
/// replies, other events and malformed bars are logged and skipped. Each event is parsed
/// once, straight into a [`Bar`]: routing fields alone would be a second parse.
fn bars_of(text: &str) -> Result<Vec<Bar>, BatchError> {
    let raws: Vec<&RawValue> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text)?
    } else {
        vec![serde_json::from_str(text)?]
    };
    let mut bars = Vec::with_capacity(raws.len());
    for raw in raws {
        let json = raw.get();
        match serde_json::from_str::<Bar>(json) {
            Ok(bar) if valid_symbol(&bar.sym) => bars.push(bar),
            Ok(bar) => tracing::warn!("skipping bar with unusable symbol {:?}", bar.sym),
            Err(_) if is_status(json) => tracing::info!("status: {json}"),
            Err(e) => tracing::warn!("skipping event that is not a minute bar ({e}): {json}"),
        }
    }
    Ok(bars)
}

fn is_status(json: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Ev<'a> {
        ev: Option<&'a str>,
    }
    serde_json::from_str::<Ev>(json).is_ok_and(|e| e.ev == Some("status"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    cli::init_logging(&args.log)?;
    Filter::parse(&args.patterns)?;
    let progress = cli::seconds(args.progress, "--progress")?;

    let addr = format!("{}:{}", args.dfs_host, args.dfs_port);
    let options = ClientOptions {
        token: args
            .dfs_token
            .clone()
            .or_else(|| std::env::var("KDFS_TOKEN").ok()),
        timeout: Some(Duration::from_secs(30)),
        tls: args
            .dfs_tls_ca
            .as_deref()
            .map(TlsOptions::from_ca_file)
            .transpose()?,
        ..ClientOptions::default()
    };
    // Connections are made on demand, so starting before kdfs is fine: bars wait.
    let pool = Pool::builder()
        .max_size(args.connections.max(1))
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .build_unchecked(ClientManager::new(addr.clone(), options));
    let store = Kdfs { pool };

    let ingest = Ingest::new(args.buffer);
    let writer = {
        let ingest = ingest.clone();
        let concurrency = args.connections.max(1) as usize;
        tokio::spawn(async move {
            let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
            ingest.run_writer(store, backoff, concurrency).await
        })
    };

    let mut cfg = UpstreamConfig::new(&args.uri);
    cfg.patterns = Some(args.patterns.clone());
    cfg.token = args.upstream_token.clone();
    let (mut rx, _feed) = upstream::spawn(cfg);
    tracing::info!(feed = %args.uri, kdfs = %addr, "storing bars");

    let run = async {
        let mut ticker = tokio::time::interval(if progress.is_zero() {
            Duration::from_secs(3600)
        } else {
            progress
        });
        ticker.tick().await;
        loop {
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    let UpstreamEvent::Message(text) = ev else { continue };
                    match bars_of(text.as_str()) {
                        Ok(bars) => {
                            let dropped = ingest.push(bars).await;
                            if dropped > 0 {
                                tracing::warn!(dropped, "buffer full while kdfs is failing: oldest bars dropped");
                            }
                        }
                        Err(e) => tracing::warn!("skipping message: {e}"),
                    }
                }
                _ = ticker.tick(), if !progress.is_zero() => {
                    let s = ingest.stats();
                    tracing::info!(received = s.received, written = s.written, pending = s.pending,
                        dropped = s.dropped, failures = s.failures, "progress");
                }
            }
        }
    };
    tokio::select! {
        _ = run => {}
        _ = cli::shutdown_signal() => tracing::info!("stopping: writing what is pending"),
    }
    let drained = ingest.drained(Duration::from_secs(10)).await;
    writer.abort();
    let s = ingest.stats();
    tracing::info!(
        received = s.received,
        written = s.written,
        dropped = s.dropped,
        pending = s.pending,
        "stopped"
    );
    if !drained {
        anyhow::bail!(
            "{} bars could not be written before exit (is kdfs at {addr} up?)",
            s.pending
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_of_keeps_bars_and_skips_the_rest() {
        let text = r#"[{"ev":"status","status":"success","message":"hi"},
            {"ev":"AM","sym":"AAPL","s":0,"e":60000,"v":5,"o":1.0,"c":2.0,"h":2.5,"l":0.5,"vw":1.5},
            {"ev":"AM","sym":"../x","s":0,"e":60000,"v":5,"o":1.0,"c":2.0,"h":2.5,"l":0.5,"vw":1.5},
            {"ev":"AM","sym":"MSFT"}, 42]"#;
        let bars = bars_of(text).unwrap();
        assert_eq!(bars.len(), 1);
        assert_eq!(
            (bars[0].sym.as_str(), bars[0].e, bars[0].n),
            ("AAPL", 60000, 0)
        );
        assert_eq!(
            bars_of(r#"{"ev":"AM","sym":"A","s":0,"e":1,"v":1,"o":1,"c":1,"h":1,"l":1,"vw":1}"#)
                .unwrap()
                .len(),
            1
        );
        assert!(bars_of("[1,").is_err());
        assert!(bars_of("42").unwrap().is_empty(), "a non-event is skipped");
    }
}
