//! `Delete`: remove a frame (file, catalog entry and pending log rows).

use kdfs_client::Response;

use super::{parse_key, store_error};
use crate::server::ServerState;

/// Delete frame `key`.
pub async fn run(state: &ServerState, key: &str) -> Response {
    let key = match parse_key(key) {
        Ok(k) => k,
        Err(reply) => return reply,
    };
    match state.store.delete(&key).await {
        Ok(()) => Response::Done,
        Err(e) => store_error(e),
    }
}
