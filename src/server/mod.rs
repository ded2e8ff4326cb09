//! The kdfs TCP server: accepts connections, speaks the [`kdfs_client::protocol`], serves
//! requests from a [`kdfs_store::FrameStore`].
//!
//! Structure (after tokio's mini-redis): [`Server`] owns the listener and the accept loop;
//! each accepted socket becomes a [`connection::Connection`] driven by [`handler`], which
//! does the handshake and hands every request to the matching module under [`cmd`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), kdfs::server::ServerError> {
//! use kdfs::server::{Server, ServerConfig};
//! let config = ServerConfig { dir: "/tmp/dfs".into(), port: 0, ..ServerConfig::default() };
//! let server = Server::bind(config).await?;
//! println!("listening on {}", server.local_addr());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod cmd;
pub mod connection;
pub mod handler;
pub mod silence;
pub mod state;
pub mod throttle;
pub mod tls;

use kdfs_client::{DEFAULT_MAX_FRAME, ErrorKind, Response};
use kdfs_store::{FrameStore, StoreConfig, StoreError};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;

use crate::query::{KlongBindings, KlongConfig, KlongService};
use crate::sql::{EngineLimits, FrameSource, SqlEngine, StoreFrames};
use connection::Connection;
use silence::Timeouts;
pub use state::ServerState;

/// Default largest result of one query: 256 MiB.
pub const DEFAULT_MAX_RESULT: usize = 256 << 20;

/// Default working memory shared by running SQL queries: 1 GiB.
pub const DEFAULT_QUERY_MEMORY: usize = 1 << 30;

/// Everything `kdfs server` can be told.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Data directory.
    pub dir: PathBuf,
    /// Address to listen on (default `127.0.0.1`).
    pub bind: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// Memory budget for cached frames, in bytes.
    pub memory: u64,
    /// Connections served at once; more are answered `Busy` and closed.
    pub max_connections: usize,
    /// Largest protocol frame accepted or sent, in bytes.
    pub max_frame: usize,
    /// Token clients must present in the handshake, if any.
    pub token: Option<String>,
    /// Time limit of one SQL query or Klong evaluation.
    pub query_timeout: Duration,
    /// Let server-side Klong read and write files (`.ic .oc .ac .l`).
    pub allow_files: bool,
    /// Let server-side Klong run programs (`.sys`).
    pub allow_system: bool,
    /// Largest result one SQL query or Klong evaluation may return, in bytes.
    pub max_result: usize,
    /// Working memory (hash tables, sorts) shared by all running SQL queries, in bytes; a
    /// query needing more fails with an error. Not part of `memory` (the frame cache).
    pub query_memory: usize,
    /// A frame whose write log holds this many rows is folded into its Arrow file.
    pub compact_after_rows: u64,
    /// Close a connection that sends nothing between requests for this long.
    pub idle_timeout: Option<Duration>,
    /// Close a connection whose request stops arriving halfway for this long.
    pub frame_timeout: Option<Duration>,
    /// Serve TLS with this certificate chain (PEM); needs `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            dir: PathBuf::from("/tmp/dfs"),
            bind: "127.0.0.1".to_string(),
            port: 8000,
            memory: 1 << 30,
            max_connections: 256,
            max_frame: DEFAULT_MAX_FRAME,
            token: None,
            query_timeout: Duration::from_secs(30),
            allow_files: false,
            allow_system: false,
            max_result: DEFAULT_MAX_RESULT,
            query_memory: DEFAULT_QUERY_MEMORY,
            compact_after_rows: StoreConfig::default().compact_after_rows,
            idle_timeout: Some(Duration::from_secs(300)),
            frame_timeout: Some(Duration::from_secs(30)),
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The data directory could not be opened.
    #[error("cannot open the data directory {dir}: {source}")]
    Store {
        /// The directory.
        dir: PathBuf,
        /// What went wrong.
        source: StoreError,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source} (is another server using that port?)")]
    Bind {
        /// The address.
        addr: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Closing the store at shutdown failed.
    #[error("shutting down the store failed: {0}")]
    Shutdown(StoreError),
    /// The SQL engine or the Klong interpreter could not be started.
    #[error("cannot start the query engines: {0}")]
    Query(String),
    /// A background task panicked (a bug; see the log).
    #[error("internal task failed: {0}")]
    Task(String),
    /// The TLS certificate or key is unusable, or only one of them was given.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

/// A bound, not yet running, server.
pub struct Server {
    listener: TcpListener,
    state: Arc<ServerState>,
    tls: Option<TlsAcceptor>,
}

/// The TLS acceptor `config` asks for, if any.
fn tls_acceptor(config: &ServerConfig) -> Result<Option<TlsAcceptor>, ServerError> {
    match (&config.tls_cert, &config.tls_key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => tls::acceptor(cert, key).map(Some).map_err(ServerError::Tls),
        _ => Err(ServerError::Tls(
            "a certificate needs its key and a key its certificate: give both".into(),
        )),
    }
}

/// Build the SQL engine and the Klong interpreter over one shared view of the store.
fn start_engines(
    store: &Arc<FrameStore>,
    config: &ServerConfig,
) -> Result<(Arc<SqlEngine>, Arc<KlongService>), ServerError> {
    let frames = Arc::new(StoreFrames::new(Arc::clone(store)));
    let source: Arc<dyn FrameSource> = frames.clone();
    let limits = EngineLimits {
        timeout: config.query_timeout,
        max_result_bytes: config.max_result,
        max_memory: config.query_memory,
        ..EngineLimits::default()
    };
    let sql = SqlEngine::new(Arc::clone(&source), limits)
        .map_err(|e| ServerError::Query(e.to_string()))?;
    let sql = Arc::new(sql);
    let klong_config = KlongConfig {
        timeout: config.query_timeout,
        allow_files: config.allow_files,
        allow_system: config.allow_system,
        max_result_bytes: config.max_result,
        ..KlongConfig::default()
    };
    let bindings = KlongBindings {
        source,
        sink: Some(frames),
        sql: Some(Arc::clone(&sql)),
    };
    let klong = KlongService::start(klong_config, bindings)
        .map_err(|e| ServerError::Query(e.to_string()))?;
    Ok((sql, Arc::new(klong)))
}

impl Server {
    /// Open the store under `config.dir` and bind the listening socket.
    pub async fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        // Before the store: a bad certificate should not cost a store open and close.
        let tls = tls_acceptor(&config)?;
        let store_config = StoreConfig {
            memory_budget: config.memory,
            compact_after_rows: config.compact_after_rows.max(1),
            ..StoreConfig::default()
        };
        let dir = config.dir.clone();
        let store = tokio::task::spawn_blocking(move || FrameStore::open(&dir, store_config))
            .await
            .map_err(|e| ServerError::Task(e.to_string()))?
            .map_err(|source| ServerError::Store {
                dir: config.dir.clone(),
                source,
            })?;
        let (sql, klong) = match start_engines(&store, &config) {
            Ok(engines) => engines,
            Err(e) => {
                let _ = store.shutdown();
                return Err(e);
            }
        };
        let addr = format!("{}:{}", config.bind, config.port);
        let listener = match TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(source) => {
                // Do not leave the store half-open behind us.
                let _ = store.shutdown();
                return Err(ServerError::Bind { addr, source });
            }
        };
        Ok(Server {
            listener,
            state: Arc::new(ServerState::new(store, config, sql, klong)),
            tls,
        })
    }

    /// The address the server listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], self.state.config.port)))
    }

    /// Shared state (the store and the configuration).
    pub fn state(&self) -> &Arc<ServerState> {
        &self.state
    }

    /// Serve until `shutdown` completes, then stop accepting, let in-flight requests finish
    /// and close the store.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let Server {
            listener,
            state,
            tls,
        } = self;
        // A TLS handshake may take as long as a stalled request.
        let handshake_limit = state
            .config
            .frame_timeout
            .or(state.config.idle_timeout)
            .unwrap_or(Duration::from_secs(30));
        let (stop_tx, stop_rx) = watch::channel(false);
        // Every connection task holds a clone of `done_tx`; when all are dropped, `recv`
        // returns `None` and every connection has finished.
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
        let permits = Arc::new(Semaphore::new(state.config.max_connections.max(1)));

        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let max_frame = state.config.max_frame;
            let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                tracing::warn!(%peer, max = state.config.max_connections, "refusing connection: at the limit");
                let tls = tls.clone();
                tokio::spawn(async move {
                    let Some(socket) =
                        tls::secure(stream, peer, tls.as_ref(), handshake_limit).await
                    else {
                        return;
                    };
                    let mut conn = Connection::new(socket, peer, max_frame);
                    let busy = Response::error(
                        ErrorKind::Busy,
                        "the server is at its connection limit (--max-connections); try again later",
                    );
                    let _ = conn.write(0, busy).await;
                });
                continue;
            };
            let state = Arc::clone(&state);
            let stop = stop_rx.clone();
            let done = done_tx.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let _guard = state.track_connection();
                let timeouts = Timeouts {
                    idle: state.config.idle_timeout,
                    frame: state.config.frame_timeout,
                };
                if let Some(socket) = tls::secure(stream, peer, tls.as_ref(), handshake_limit).await
                {
                    let conn = Connection::new(socket, peer, max_frame).with_timeouts(timeouts);
                    handler::serve(&state, conn, stop).await;
                }
                drop(permit);
                drop(done);
            });
        }

        tracing::info!("shutting down: waiting for open requests to finish");
        let _ = stop_tx.send(true);
        drop(listener);
        drop(done_tx);
        let _ = done_rx.recv().await;
        let store = Arc::clone(&state.store);
        tokio::task::spawn_blocking(move || store.shutdown())
            .await
            .map_err(|e| ServerError::Task(e.to_string()))?
            .map_err(ServerError::Shutdown)?;
        tracing::info!("shutdown complete");
        Ok(())
    }
}
