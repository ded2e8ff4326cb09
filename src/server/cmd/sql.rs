//! `Sql`: run a SQL query over the stored frames (answered `Batch`… `End`).

use kdfs_client::{CodecError, ErrorKind, Response};
use std::sync::Arc;

use crate::server::ServerState;
use crate::server::connection::Connection;

/// Run `query` and stream its result to `conn`.
pub async fn run(
    _state: &Arc<ServerState>,
    conn: &mut Connection,
    id: u64,
    _query: String,
) -> Result<(), CodecError> {
    let reply = Response::error(
        ErrorKind::Unsupported,
        "SQL is not available in this build of the server yet",
    );
    conn.write(id, reply).await
}
