//! `Unload`: drop a frame from memory; it stays on disk.

use kdfs_client::Response;

use super::{parse_key, store_error};
use crate::server::ServerState;

/// Unload frame `key`.
pub fn run(state: &ServerState, key: &str) -> Response {
    let key = match parse_key(key) {
        Ok(k) => k,
        Err(reply) => return reply,
    };
    match state.store.unload(&key) {
        Ok(_) => Response::Done,
        Err(e) => store_error(e),
    }
}
