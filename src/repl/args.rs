//! `kdfs repl` command-line arguments and entry point.

use std::io::IsTerminal;

use clap::Args;

use super::backend::ReplBackend;
use super::client_backend::ClientBackend;
use super::history::history_path;
use super::render;
use super::session::{self, Session, Settings};

/// Options of `kdfs repl`.
#[derive(Debug, Clone, Args)]
pub struct ReplArgs {
    /// Server host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Most connections opened to the server at once.
    #[arg(long, default_value_t = 4)]
    pub max_connections: u32,
    /// Access token, when the server requires one. Visible to other local users in `ps`:
    /// prefer --token-file or the KDFS_TOKEN environment variable.
    #[arg(long, conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the token from this file. Without --token or --token-file, $KDFS_TOKEN is used.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<std::path::PathBuf>,
    /// Connect with TLS, trusting the certificates in this PEM file (the server's own
    /// certificate if self-signed, or the authority that signed it).
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// Run COMMAND and exit (may be given several times); the exit status is non-zero if any
    /// command failed.
    #[arg(short = 'c', long = "command", value_name = "COMMAND")]
    pub commands: Vec<String>,
}

/// Runs the REPL: interactively on a terminal, otherwise the `-c` commands or the lines on
/// stdin. Returns the process exit status (0 ok, 1 a command failed, 2 no server, 130 Ctrl-C).
pub async fn run(args: ReplArgs) -> anyhow::Result<i32> {
    let addr = format!("{}:{}", args.host, args.port);
    let token = crate::cli::token::resolve(args.token.as_deref(), args.token_file.as_deref())?;
    let tls = args
        .tls_ca
        .as_deref()
        .map(kdfs_client::tls::TlsOptions::from_ca_file)
        .transpose()?;
    let backend = ClientBackend::new(&addr, args.max_connections, token, tls).await;
    run_with(backend, &addr, args.commands).await
}

/// [`run`] with any backend (tests use a fake one).
pub async fn run_with<B: ReplBackend>(
    backend: B,
    addr: &str,
    commands: Vec<String>,
) -> anyhow::Result<i32> {
    let color = std::io::stderr().is_terminal();
    if let Err(e) = backend.ping().await {
        eprintln!(
            "{}",
            render::error(&format!("cannot reach {addr}: {e}"), color)
        );
        return Ok(2);
    }
    let settings = Settings {
        color,
        ..Settings::default()
    };
    let mut session = Session::new(backend, settings);
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let summary = if !commands.is_empty() {
        let text = commands.join("\n");
        session::script(&mut session, session::text_lines(&text), &mut out, &mut err).await?
    } else if session::on_terminal() {
        let banner = format!(
            "kdfs {} REPL connected to {addr}\nType `help` for commands, Ctrl-D to leave.",
            env!("CARGO_PKG_VERSION")
        );
        session::interactive(&mut session, &banner, history_path()).await?
    } else {
        session::script(&mut session, session::stdin_lines(), &mut out, &mut err).await?
    };
    Ok(summary.exit_code())
}
