//! State shared by every connection of one server.

use kdfs_store::FrameStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::ServerConfig;
use super::throttle::Throttle;
use crate::query::KlongService;
use crate::sql::SqlEngine;

/// What every connection handler can reach.
pub struct ServerState {
    /// The frame store.
    pub store: Arc<FrameStore>,
    /// The configuration the server was started with.
    pub config: ServerConfig,
    /// When the server started (for `uptime_s`).
    pub started: Instant,
    /// The SQL engine over the store (one per server, shared by all connections).
    pub sql: Arc<SqlEngine>,
    /// The server's one Klong interpreter (globals persist between requests).
    pub klong: Arc<KlongService>,
    /// Wrong-token counts per peer, to slow down guessing.
    pub throttle: Throttle,
    connections: AtomicU64,
}

impl ServerState {
    /// Shared state around an open store and the query engines built over it.
    pub fn new(
        store: Arc<FrameStore>,
        config: ServerConfig,
        sql: Arc<SqlEngine>,
        klong: Arc<KlongService>,
    ) -> ServerState {
        ServerState {
            store,
            config,
            started: Instant::now(),
            sql,
            klong,
            throttle: Throttle::new(),
            connections: AtomicU64::new(0),
        }
    }

    /// Connections currently open.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    /// Count a connection until the returned guard is dropped.
    pub fn track_connection(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard {
            state: Arc::clone(self),
        }
    }
}

/// Keeps a connection counted in [`ServerState::connections`] while alive.
pub struct ConnectionGuard {
    state: Arc<ServerState>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.state.connections.fetch_sub(1, Ordering::Relaxed);
    }
}
