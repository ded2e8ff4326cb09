//! `Update`: merge rows into a frame; the reply is sent once they are durable.

use arrow::compute::concat_batches;
use kdfs_client::{ErrorKind, Response, ipc};
use kdfs_store::UpdateMode;

use super::{parse_key, store_error};
use crate::server::ServerState;

/// Merge the Arrow IPC stream `payload` into frame `key`.
pub async fn run(
    state: &ServerState,
    key: &str,
    index: &str,
    upsert: bool,
    payload: Vec<u8>,
) -> Response {
    let key = match parse_key(key) {
        Ok(k) => k,
        Err(reply) => return reply,
    };
    let (schema, batches) = match ipc::decode(&payload) {
        Ok(decoded) => decoded,
        Err(e) => {
            return Response::error(
                ErrorKind::BadRequest,
                format!("the update payload is not an Arrow IPC stream: {e}"),
            );
        }
    };
    drop(payload);
    // The store merges one batch per update; a multi-batch payload becomes one merge so it
    // is acknowledged (and made durable) as a whole.
    let batch = if batches.len() == 1 {
        batches.into_iter().next()
    } else {
        match concat_batches(&schema, &batches) {
            Ok(b) => Some(b),
            Err(e) => {
                return Response::error(
                    ErrorKind::BadRequest,
                    format!("the update payload's batches do not fit together: {e}"),
                );
            }
        }
    };
    let Some(batch) = batch else {
        return Response::error(ErrorKind::BadRequest, "the update payload has no batch");
    };
    let mode = if upsert {
        UpdateMode::Upsert
    } else {
        UpdateMode::Append
    };
    match state.store.update(&key, index, batch, mode).await {
        Ok(outcome) => Response::Updated {
            inserted: outcome.inserted,
            replaced: outcome.replaced,
            ignored: outcome.ignored,
            rows: outcome.rows,
        },
        Err(e) => store_error(e),
    }
}
