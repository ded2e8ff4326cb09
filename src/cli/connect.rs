//! Where client subcommands find the server.

use anyhow::Context;
use clap::Args;
use kdfs_client::tls::TlsOptions;
use kdfs_client::{Client, ClientOptions};
use std::path::PathBuf;

use super::token;

/// `--host`/`--port`/`--token`, shared by every client subcommand.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Server host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Token, if the server requires one. Visible to other local users in `ps`: prefer
    /// --token-file or the KDFS_TOKEN environment variable.
    #[arg(long, conflicts_with = "token_file")]
    pub token: Option<String>,
    /// Read the token from this file. Without --token or --token-file, $KDFS_TOKEN is used.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Connect with TLS, trusting the certificates in this PEM file (the server's own
    /// certificate if self-signed, or the authority that signed it).
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
}

impl ConnectArgs {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Connect and do the handshake.
    pub async fn connect(&self) -> anyhow::Result<Client> {
        let options = ClientOptions {
            token: token::resolve(self.token.as_deref(), self.token_file.as_deref())?,
            client_name: format!("kdfs-cli {}", env!("CARGO_PKG_VERSION")),
            tls: self
                .tls_ca
                .as_deref()
                .map(TlsOptions::from_ca_file)
                .transpose()?,
            ..ClientOptions::default()
        };
        let addr = self.addr();
        Client::connect_with(&addr, options)
            .await
            .with_context(|| format!("cannot connect to the kdfs server at {addr}"))
    }
}
