//! Where client subcommands find the server.

use anyhow::Context;
use clap::Args;
use kdfs_client::{Client, ClientOptions};

/// `--host`/`--port`/`--token`, shared by every client subcommand.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Server host.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Server port.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Token, if the server was started with --token.
    #[arg(long)]
    pub token: Option<String>,
}

impl ConnectArgs {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Connect and do the handshake.
    pub async fn connect(&self) -> anyhow::Result<Client> {
        let options = ClientOptions {
            token: self.token.clone(),
            client_name: format!("kdfs-cli {}", env!("CARGO_PKG_VERSION")),
            ..ClientOptions::default()
        };
        let addr = self.addr();
        Client::connect_with(&addr, options)
            .await
            .with_context(|| format!("cannot connect to the kdfs server at {addr}"))
    }
}
