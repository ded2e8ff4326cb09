//! What the REPL needs from a server, as a trait.
//!
//! The session talks to a [`ReplBackend`] rather than to the network client directly, so that
//! every part of the REPL (commands, rendering, completion) can be tested against an in-memory
//! fake, and the real implementation ([`super::client_backend`]) stays a thin adapter.

use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use async_trait::async_trait;

/// A failed backend call, carrying the server's message as the user should read it.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The server answered with an error (bad query, unknown key, ...).
    #[error("{message}")]
    Server {
        /// Short error class from the server, e.g. `NotFound` or `Query`.
        kind: String,
        /// The server's message, shown verbatim.
        message: String,
    },
    /// The server could not be reached or the connection broke.
    #[error("connection to the server failed: {0} (is `kdfs server` running?)")]
    Connection(String),
}

/// One stored frame as listed by `ls` (the protocol's own entry).
pub type KeyRow = kdfs_client::KeyEntry;

/// The result of an SQL query.
#[derive(Debug, Clone)]
pub struct SqlOutput {
    /// Schema of the result (known even when there are no rows).
    pub schema: SchemaRef,
    /// Result rows.
    pub batches: Vec<RecordBatch>,
    /// Execution time reported by the server.
    pub server_elapsed: Duration,
}

/// The result of evaluating Klong code.
#[derive(Debug, Clone)]
pub struct KlongOutput {
    /// The value in Klong display form (empty when the code produced no value).
    pub display: String,
    /// The value as a table, when the server could convert it to one.
    pub batches: Option<Vec<RecordBatch>>,
    /// Execution time reported by the server.
    pub server_elapsed: Duration,
}

/// Server operations used by the REPL.
#[async_trait]
pub trait ReplBackend: Send + Sync {
    /// Checks that the server answers.
    async fn ping(&self) -> Result<(), BackendError>;
    /// Server statistics at `level` of detail, as JSON.
    async fn stats(&self, level: u8) -> Result<serde_json::Value, BackendError>;
    /// Stored frames whose key starts with `prefix`, sorted by key.
    async fn list_keys(&self, prefix: &str) -> Result<Vec<KeyRow>, BackendError>;
    /// Pins a frame in memory.
    async fn load(&self, key: &str) -> Result<(), BackendError>;
    /// Drops a frame from memory (it stays on disk).
    async fn unload(&self, key: &str) -> Result<(), BackendError>;
    /// Deletes a frame.
    async fn rm(&self, key: &str) -> Result<(), BackendError>;
    /// Runs an SQL query.
    async fn sql(&self, query: &str) -> Result<SqlOutput, BackendError>;
    /// Evaluates Klong code in the server's interpreter.
    async fn klong(&self, code: &str) -> Result<KlongOutput, BackendError>;
}
