//! What every feeder binary shares: logging, listening, shutdown, common flags.

use crate::hub::HubConfig;
use std::io::Write;
use std::time::Duration;
use tokio::net::TcpListener;

/// Errors at the edges of a feeder binary.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// `--log` was not a valid tracing filter.
    #[error("invalid --log value {0:?}; use error, warn, info, debug or trace")]
    Log(String),
    /// The listening socket could not be bound.
    #[error(
        "cannot listen on {addr}: {source}; pick another --port or --bind (port 0 picks a free one)"
    )]
    Bind {
        /// The address asked for.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A flag had an unusable value.
    #[error("{0}")]
    Usage(String),
}

/// `--log LEVEL` for every binary.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Log level or tracing filter (error, warn, info, debug, trace; e.g. feeders=debug).
    #[arg(long = "log", default_value = "info", value_name = "LEVEL")]
    pub log: String,
}

/// Flags of feeders that serve websocket subscribers.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Keep 127.0.0.1 unless other machines must connect.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Require subscribers to send {"action":"auth","params":TOKEN} first.
    #[arg(long)]
    pub token: Option<String>,
    /// Messages queued per subscriber before the feed waits for it.
    #[arg(long, default_value_t = 4096)]
    pub queue: usize,
    /// Seconds a subscriber's queue may stay full before it is disconnected.
    #[arg(long, default_value_t = 5.0)]
    pub slow_timeout: f64,
}

impl ServeArgs {
    /// The hub configuration these flags describe.
    pub fn hub_config(&self) -> Result<HubConfig, CliError> {
        Ok(HubConfig {
            queue: self.queue.max(1),
            slow_timeout: seconds(self.slow_timeout, "--slow-timeout")?,
        })
    }
}

/// Install the tracing subscriber (logs go to stderr; stdout is for data).
pub fn init_logging(args: &LogArgs) -> Result<(), CliError> {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .map_err(|_| CliError::Log(args.log.clone()))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|_| CliError::Log(args.log.clone()))
}

/// A duration from a flag in (fractional) seconds.
pub fn seconds(x: f64, flag: &str) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(x)
        .map_err(|_| CliError::Usage(format!("{flag} must be a number of seconds ≥ 0, got {x}")))
}

/// Bind the listening socket and print `ws://ADDR` as one line on stdout, so scripts and
/// tests using port 0 learn the real port.
pub async fn listen(bind: &str, port: u16) -> Result<TcpListener, CliError> {
    let addr = format!("{bind}:{port}");
    let l = TcpListener::bind(&addr)
        .await
        .map_err(|source| CliError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let local = l
        .local_addr()
        .map_err(|source| CliError::Bind { addr, source })?;
    let mut out = std::io::stdout().lock();
    // If stdout is closed nobody is waiting for the address; keep serving regardless.
    let _ = writeln!(out, "ws://{local}");
    let _ = out.flush();
    tracing::info!("listening on ws://{local}");
    Ok(l)
}

/// Resolves on Ctrl-C (or SIGTERM on Unix).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}

/// Split `AAPL,MSFT, TSLA` into symbols, rejecting an empty list.
pub fn parse_symbols(s: &str) -> Result<Vec<String>, CliError> {
    let v: Vec<String> = s
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect();
    if v.is_empty() {
        return Err(CliError::Usage(
            "--symbols is empty; give e.g. --symbols AAPL,MSFT,TSLA".into(),
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_trimmed_and_required() {
        assert_eq!(parse_symbols(" A, B ,,C").unwrap(), vec!["A", "B", "C"]);
        assert!(parse_symbols(" , ").is_err());
    }

    #[test]
    fn seconds_accepts_fractions_and_rejects_negatives() {
        assert_eq!(
            seconds(0.25, "--delay").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(seconds(0.0, "--delay").unwrap(), Duration::ZERO);
        assert!(seconds(-1.0, "--delay").is_err());
        assert!(seconds(f64::NAN, "--delay").is_err());
    }

    #[tokio::test]
    async fn listen_on_port_zero_gets_a_real_port() {
        let l = listen("127.0.0.1", 0).await.unwrap();
        assert_ne!(l.local_addr().unwrap().port(), 0);
        assert!(listen("not an address", 0).await.is_err());
    }
}
