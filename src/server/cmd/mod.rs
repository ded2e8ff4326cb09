//! One module per request kind. [`dispatch`] routes a request to its module and writes the
//! reply; single-reply commands return a [`Response`], streaming ones write to the connection.

mod delete;
mod keys;
mod klong;
mod load;
mod ping;
mod read;
mod sql;
mod stats;
mod unload;
mod update;

use kdfs_client::ipc::PayloadDecoder;
use kdfs_client::{CodecError, ErrorKind, Request, Response};
use kdfs_store::{KeyPath, StoreError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::connection::Connection;
use super::state::ServerState;

/// What the connection does after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Wait for the next request.
    Continue,
    /// Close the connection (the client said goodbye).
    Close,
}

/// A reply still being worked on (an update waiting to be durable), served concurrently with
/// later requests of its connection; resolves to the request id and the reply.
pub type Deferred = Pin<Box<dyn Future<Output = (u64, Response)> + Send>>;

/// Starts `request` if it may be served concurrently with later requests of its connection
/// (updates and pings, whose single reply only has to wait its turn); gives it back otherwise.
///
/// The update is applied in memory before this returns, so updates of one connection are
/// applied in request order even though they are acknowledged concurrently.
pub fn start_concurrent(
    state: &ServerState,
    decoder: &mut PayloadDecoder,
    id: u64,
    request: Request,
) -> Result<Deferred, Request> {
    match request {
        Request::Ping => Ok(Box::pin(std::future::ready((id, ping::run())))),
        Request::Update {
            key,
            index,
            upsert,
            ipc,
        } => Ok(
            match update::begin(state, decoder, &key, &index, upsert, ipc) {
                Ok(pending) => Box::pin(async move {
                    let reply = update::acknowledge(pending).await;
                    log_error(id, "update", &reply);
                    (id, reply)
                }),
                Err(reply) => {
                    log_error(id, "update", &reply);
                    Box::pin(std::future::ready((id, reply)))
                }
            },
        ),
        other => Err(other),
    }
}

fn log_error(id: u64, name: &str, reply: &Response) {
    if let Response::Error { kind, message } = reply {
        tracing::debug!(id, request = name, %kind, message, "request failed");
    }
}

/// Serve one request. `Err` means the connection itself failed (the reply could not be sent).
pub async fn dispatch(
    state: &Arc<ServerState>,
    conn: &mut Connection,
    id: u64,
    request: Request,
) -> Result<Flow, CodecError> {
    let name = request.name();
    tracing::trace!(id, request = name, "request");
    let reply = match request {
        Request::Ping => ping::run(),
        Request::Update {
            key,
            index,
            upsert,
            ipc,
        } => match update::begin(
            state,
            &mut PayloadDecoder::default(),
            &key,
            &index,
            upsert,
            ipc,
        ) {
            Ok(pending) => update::acknowledge(pending).await,
            Err(reply) => reply,
        },
        Request::Read {
            key,
            start,
            end,
            columns,
            rows,
        } => {
            let query = read::ReadQuery {
                key,
                start,
                end,
                columns,
                rows,
            };
            return read::run(state, conn, id, query)
                .await
                .map(|()| Flow::Continue);
        }
        Request::Stats { level } => stats::run(state, level),
        Request::ListKeys { prefix } => keys::run(state, &prefix),
        Request::Delete { key } => delete::run(state, &key).await,
        Request::Load { key } => load::run(state, &key).await,
        Request::Unload { key } => unload::run(state, &key),
        Request::Sql { query } => {
            return sql::run(state, conn, id, query)
                .await
                .map(|()| Flow::Continue);
        }
        Request::Klong { code } => klong::run(state, code).await,
        Request::Hello { .. } => Response::error(
            ErrorKind::Protocol,
            "hello was already received on this connection; send it only once",
        ),
        Request::Close => {
            conn.write(id, Response::Done).await?;
            return Ok(Flow::Close);
        }
    };
    log_error(id, name, &reply);
    conn.write(id, reply).await?;
    Ok(Flow::Continue)
}

/// Validate a key path from the wire.
fn parse_key(key: &str) -> Result<KeyPath, Response> {
    KeyPath::parse(key).map_err(store_error)
}

/// The error reply for a store error.
fn store_error(error: StoreError) -> Response {
    let kind = match &error {
        StoreError::InvalidKey { .. } => ErrorKind::InvalidKey,
        StoreError::NotFound { .. } => ErrorKind::NotFound,
        StoreError::TypeConflict { .. } => ErrorKind::Conflict,
        StoreError::BadIndex { .. }
        | StoreError::BadBatch { .. }
        | StoreError::UnknownColumn { .. } => ErrorKind::BadRequest,
        _ => ErrorKind::Internal,
    };
    if kind == ErrorKind::Internal {
        tracing::error!(%error, "store failure");
    }
    Response::error(kind, error.to_string())
}

/// The error reply for a panicked or cancelled blocking task.
fn task_error(error: tokio::task::JoinError) -> Response {
    tracing::error!(%error, "request task failed");
    Response::error(ErrorKind::Internal, format!("internal error: {error}"))
}

/// Ends a streamed result (`read`, `sql`): an empty result still sends one batch with the
/// schema, then `End` with the row count and the time since `started`.
async fn end_stream(
    conn: &mut Connection,
    id: u64,
    schema: &arrow::datatypes::SchemaRef,
    sent_any: bool,
    rows: u64,
    started: std::time::Instant,
) -> Result<(), CodecError> {
    if !sent_any {
        match kdfs_client::ipc::encode(schema, &[]) {
            Ok(bytes) => conn.feed(id, Response::Batch { ipc: bytes }).await?,
            Err(e) => {
                let reply = Response::error(ErrorKind::Internal, e.to_string());
                conn.feed(id, reply).await?;
                return conn.flush().await;
            }
        }
    }
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    conn.feed(id, Response::End { rows, elapsed_us }).await?;
    conn.flush().await
}
