//! `Sql`: run a SQL query over the stored frames (answered `Batch`… `End`).
//!
//! Batches are encoded and written as the engine produces them, so a large result is never
//! held whole; a client that goes away makes the write fail, which drops the stream and so
//! cancels the query.

use futures::StreamExt;
use kdfs_client::{CodecError, ErrorKind, Response};
use std::sync::Arc;
use std::time::Instant;

use super::read::{ENVELOPE, encode_fitting};
use crate::server::ServerState;
use crate::server::connection::Connection;
use crate::sql::SqlError;

/// Run `query` and stream its result to `conn`.
pub async fn run(
    state: &Arc<ServerState>,
    conn: &mut Connection,
    id: u64,
    query: String,
) -> Result<(), CodecError> {
    let started = Instant::now();
    let mut stream = match state.sql.execute(&query).await {
        Ok(s) => s,
        Err(e) => return conn.write(id, sql_error(&e)).await,
    };
    let max_payload = conn.max_frame().saturating_sub(ENVELOPE).max(1);
    let mut rows = 0u64;
    let mut sent_any = false;
    while let Some(item) = stream.next().await {
        let batch = match item {
            Ok(b) => b,
            Err(e) => {
                conn.feed(id, sql_error(&e)).await?;
                return conn.flush().await;
            }
        };
        if batch.num_rows() == 0 {
            continue;
        }
        match encode_fitting(&batch, max_payload) {
            Ok(parts) => {
                for (bytes, n) in parts {
                    rows += n;
                    sent_any = true;
                    conn.feed(id, Response::Batch { ipc: bytes }).await?;
                }
            }
            Err(reply) => {
                conn.feed(id, reply).await?;
                return conn.flush().await;
            }
        }
    }
    super::end_stream(conn, id, &stream.schema(), sent_any, rows, started).await
}

/// The error reply for a failed query.
fn sql_error(e: &SqlError) -> Response {
    let kind = match e {
        SqlError::Timeout { .. } => ErrorKind::Timeout,
        SqlError::ResultTooLarge { .. } => ErrorKind::TooLarge,
        _ => ErrorKind::Query,
    };
    Response::error(kind, e.to_string())
}
