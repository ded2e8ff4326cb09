//! Relay matching events to every connected client, without a handshake (for Grafana).

use anyhow::Result;
use clap::Parser;
use feeders::batch::Batch;
use feeders::cli::{self, LogArgs, ServeArgs};
use feeders::hub::Hub;
use feeders::pattern::Filter;
use feeders::server::{ServeOptions, Server};
use feeders::upstream::{self, UpstreamConfig, UpstreamEvent};
use std::time::Duration;

/// Subscribe upstream to --patterns and relay the matching events to every client that
/// connects, with no auth/subscribe handshake: Grafana's websocket data source just connects
/// and reads. The bound address is printed on stdout as one line.
///
/// Examples:
///   ws_feed_grafana --patterns A.MSFT,AM.MSFT
///   ws_feed_grafana --uri ws://127.0.0.1:5001 --patterns AVG.* --port 6001
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Feed to relay.
    #[arg(long, default_value = "ws://127.0.0.1:5000")]
    uri: String,
    /// Events to relay (EV.SYM, comma-separated; * for everything).
    #[arg(long, default_value = "AM.*")]
    patterns: String,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 6000)]
    port: u16,
    /// Token for the upstream feed, if it requires one.
    #[arg(long)]
    upstream_token: Option<String>,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(flatten)]
    log: LogArgs,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    cli::init_logging(&args.log)?;
    let filter = Filter::parse(&args.patterns)?;
    let hub = Hub::new(args.serve.hub_config()?);
    let listener = cli::listen(&args.serve.bind, args.port).await?;
    let server = Server::start(
        listener,
        hub.clone(),
        ServeOptions {
            token: None,
            fixed: Some(filter.clone()),
        },
    )?;
    let mut cfg = UpstreamConfig::new(&args.uri);
    cfg.patterns = Some(filter.to_string());
    cfg.token = args.upstream_token.clone();
    let (mut rx, _task) = upstream::spawn(cfg);
    let relay = async {
        while let Some(ev) = rx.recv().await {
            if let UpstreamEvent::Message(text) = ev {
                match Batch::parse(text.as_str()) {
                    // The hub's fixed filter drops status replies and anything unsubscribed.
                    Ok(b) => hub.publish(&b).await,
                    Err(e) => tracing::warn!("skipping message: {e}"),
                }
            }
        }
    };
    tokio::select! {
        _ = relay => {}
        _ = cli::shutdown_signal() => {}
    }
    hub.close();
    server.shutdown(Duration::from_secs(5)).await;
    Ok(())
}
