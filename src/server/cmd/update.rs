//! `Update`: merge rows into a frame; the reply is sent once they are durable.
//!
//! Served in two steps so a connection can keep many updates in flight: [`begin`] validates
//! the update and applies it in memory (in request order), [`acknowledge`] waits until it is
//! durable.

use arrow::compute::concat_batches;
use kdfs_client::ipc::{Decoded, PayloadDecoder};
use kdfs_client::{ErrorKind, Response};
use kdfs_store::{PendingUpdate, SentBatch, UpdateMode};

use super::{parse_key, store_error};
use crate::server::ServerState;

/// Merge the Arrow IPC stream `payload` into frame `key` in memory and queue it for commit.
/// `decoder` is the connection's (it remembers the last schema). `Err` is the reply for an
/// update that was refused (and changed nothing).
pub fn begin(
    state: &ServerState,
    decoder: &mut PayloadDecoder,
    key: &str,
    index: &str,
    upsert: bool,
    payload: Vec<u8>,
) -> Result<PendingUpdate, Response> {
    let key = parse_key(key)?;
    let Decoded {
        schema,
        batches,
        raw,
    } = match decoder.decode(payload) {
        Ok(decoded) => decoded,
        Err(e) => {
            return Err(Response::error(
                ErrorKind::BadRequest,
                format!("the update payload is not an Arrow IPC stream: {e}"),
            ));
        }
    };
    // The store merges one batch per update; a multi-batch payload becomes one merge so it
    // is acknowledged (and made durable) as a whole.
    let batch = if batches.len() == 1 {
        batches.into_iter().next()
    } else {
        match concat_batches(&schema, &batches) {
            Ok(b) => Some(b),
            Err(e) => {
                return Err(Response::error(
                    ErrorKind::BadRequest,
                    format!("the update payload's batches do not fit together: {e}"),
                ));
            }
        }
    };
    let Some(batch) = batch else {
        return Err(Response::error(
            ErrorKind::BadRequest,
            "the update payload has no batch",
        ));
    };
    let mode = if upsert {
        UpdateMode::Upsert
    } else {
        UpdateMode::Append
    };
    // A single-batch payload's message is logged as sent.
    let sent = raw.as_ref().map(|r| SentBatch {
        header: r.header.as_slice(),
        body: r.body.as_slice(),
    });
    state
        .store
        .begin_update_as_sent(&key, index, &batch, sent, mode)
        .map_err(store_error)
}

/// The reply to a begun update, once it is durable.
pub async fn acknowledge(pending: PendingUpdate) -> Response {
    match pending.durable().await {
        Ok(outcome) => Response::Updated {
            inserted: outcome.inserted,
            replaced: outcome.replaced,
            ignored: outcome.ignored,
            rows: outcome.rows,
        },
        Err(e) => store_error(e),
    }
}
