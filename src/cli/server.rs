//! `kdfs server`: run the database.

use anyhow::Context;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::size::parse_size;
use super::token;
use crate::server::{Server, ServerConfig};

/// Options of `kdfs server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// Data directory (created if missing).
    #[arg(long, default_value = "/tmp/dfs")]
    pub dir: PathBuf,
    /// Address to listen on. Keep the default unless clients on other machines need access.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Port to listen on; 0 picks a free one (the address is printed on stdout).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Memory for cached frames, e.g. 512MiB, 2GB, 1073741824.
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    pub memory: u64,
    /// Connections served at once; more are refused with a "busy" error.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
    /// Largest protocol message accepted or sent, e.g. 256MiB.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub max_frame: u64,
    /// Require clients to present this token. Visible to other local users in `ps`: prefer
    /// --token-file or the KDFS_TOKEN environment variable.
    #[arg(long, conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Require clients to present the token stored in this file (surrounding whitespace is
    /// ignored; keep it `chmod 600`). Without --token or --token-file, $KDFS_TOKEN is used.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Time limit of one SQL query or Klong evaluation, in seconds.
    #[arg(long, default_value_t = 30)]
    pub query_timeout: u64,
    /// Let server-side Klong read and write files (.ic .oc .ac .l). Off by default.
    #[arg(long)]
    pub allow_files: bool,
    /// Let server-side Klong run programs with .sys. Off by default: anyone who can reach
    /// the port could then run commands as the server's user.
    #[arg(long)]
    pub allow_system: bool,
    /// Largest result one SQL query or Klong evaluation may return, e.g. 64MiB; larger
    /// results are refused with an error instead of exhausting memory.
    #[arg(long, default_value = "256MiB", value_parser = parse_size)]
    pub max_result: u64,
    /// Working memory (hash tables, sorts) shared by all running SQL queries, e.g. 1GiB; a
    /// query needing more fails with an error. Comes on top of --memory (the frame cache).
    #[arg(long, default_value = "1GiB", value_parser = parse_size)]
    pub query_memory: u64,
    /// Fold a frame's write log into its Arrow file once the log holds this many rows (and a
    /// quarter of the frame). Lower values mean shorter restarts and more file rewrites.
    #[arg(long, default_value_t = 50_000)]
    pub compact_after_rows: u64,
    /// Close a connection that sends no request for this many seconds (0: never).
    #[arg(long, default_value_t = 300)]
    pub idle_timeout: u64,
    /// Close a connection whose request stops arriving halfway (no byte for this many seconds;
    /// a slow or stalled client). 0: never.
    #[arg(long, default_value_t = 30)]
    pub frame_timeout: u64,
    /// Serve TLS with this certificate (PEM, the chain from the server's own certificate up);
    /// clients then connect with --tls-ca. Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// Run the server until Ctrl-C or SIGTERM.
pub async fn run(args: ServerArgs) -> anyhow::Result<i32> {
    let config = ServerConfig {
        dir: args.dir,
        bind: args.bind,
        port: args.port,
        memory: args.memory,
        max_connections: args.max_connections,
        max_frame: usize::try_from(args.max_frame).unwrap_or(usize::MAX),
        token: token::resolve(args.token.as_deref(), args.token_file.as_deref())?,
        query_timeout: std::time::Duration::from_secs(args.query_timeout.max(1)),
        allow_files: args.allow_files,
        allow_system: args.allow_system,
        max_result: usize::try_from(args.max_result).unwrap_or(usize::MAX),
        query_memory: usize::try_from(args.query_memory).unwrap_or(usize::MAX),
        compact_after_rows: args.compact_after_rows,
        idle_timeout: seconds(args.idle_timeout),
        frame_timeout: seconds(args.frame_timeout),
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
    };
    let server = Server::bind(config).await?;
    let addr = server.local_addr();
    tracing::info!(%addr, "listening");
    // Scripts and tests wait for this line to know the server is ready and on which port.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "kdfs listening on {addr}").context("writing to stdout")?;
    stdout.flush().context("writing to stdout")?;
    server.run(shutdown_signal()).await?;
    Ok(0)
}

/// `secs` seconds, or `None` for 0 (no limit).
fn seconds(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
