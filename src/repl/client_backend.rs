//! [`ReplBackend`] over a pool of kdfs-client connections.

use async_trait::async_trait;
use kdfs_client::tls::TlsOptions;
use kdfs_client::{ClientError, ClientManager, ClientOptions, Pool};

use super::backend::{BackendError, KeyRow, KlongOutput, ReplBackend, SqlOutput};

/// The REPL's connection to a server.
pub struct ClientBackend {
    pool: Pool,
}

impl ClientBackend {
    /// A backend for the server at `addr` (`host:port`) with at most `max_connections` open.
    /// With `tls`, connections use TLS. Connections are opened on first use, so this does not fail when the server is down.
    pub async fn new(
        addr: &str,
        max_connections: u32,
        token: Option<String>,
        tls: Option<TlsOptions>,
    ) -> ClientBackend {
        let options = ClientOptions {
            token,
            tls,
            client_name: format!("kdfs repl {}", env!("CARGO_PKG_VERSION")),
            ..ClientOptions::default()
        };
        let pool = Pool::builder()
            .max_size(max_connections.max(1))
            // Connecting fails fast with the server's error instead of retrying for 30 s.
            .retry_connection(false)
            .connection_timeout(std::time::Duration::from_secs(10))
            .build_unchecked(ClientManager::new(addr, options));
        ClientBackend { pool }
    }

    async fn conn(&self) -> Result<bb8::PooledConnection<'_, ClientManager>, BackendError> {
        self.pool.get().await.map_err(|e| match e {
            bb8::RunError::User(e) => client_error(e),
            bb8::RunError::TimedOut => {
                BackendError::Connection("timed out waiting for a connection".into())
            }
        })
    }
}

fn client_error(e: ClientError) -> BackendError {
    match e {
        ClientError::Server { kind, message } => BackendError::Server {
            kind: format!("{kind:?}"),
            message,
        },
        other if other.is_fatal() => BackendError::Connection(other.to_string()),
        other => BackendError::Server {
            kind: "Client".into(),
            message: other.to_string(),
        },
    }
}

#[async_trait]
impl ReplBackend for ClientBackend {
    async fn ping(&self) -> Result<(), BackendError> {
        self.conn().await?.ping().await.map_err(client_error)
    }

    async fn stats(&self, level: u8) -> Result<serde_json::Value, BackendError> {
        self.conn().await?.stats(level).await.map_err(client_error)
    }

    async fn list_keys(&self, prefix: &str) -> Result<Vec<KeyRow>, BackendError> {
        let keys = self
            .conn()
            .await?
            .list_keys(prefix)
            .await
            .map_err(client_error)?;
        Ok(keys)
    }

    async fn load(&self, key: &str) -> Result<(), BackendError> {
        self.conn().await?.load(key).await.map_err(client_error)
    }

    async fn unload(&self, key: &str) -> Result<(), BackendError> {
        self.conn().await?.unload(key).await.map_err(client_error)
    }

    async fn rm(&self, key: &str) -> Result<(), BackendError> {
        self.conn().await?.delete(key).await.map_err(client_error)
    }

    async fn sql(&self, query: &str) -> Result<SqlOutput, BackendError> {
        let r = self.conn().await?.sql(query).await.map_err(client_error)?;
        Ok(SqlOutput {
            schema: r.schema,
            batches: r.batches,
            server_elapsed: r.elapsed,
        })
    }

    async fn klong(&self, code: &str) -> Result<KlongOutput, BackendError> {
        let r = self.conn().await?.klong(code).await.map_err(client_error)?;
        Ok(KlongOutput {
            display: r.display,
            batches: r.batches,
            server_elapsed: r.elapsed,
        })
    }
}
