//! `Load`: bring a frame into memory and pin it there.

use kdfs_client::Response;
use std::sync::Arc;

use super::{parse_key, store_error, task_error};
use crate::server::ServerState;

/// Load frame `key`.
pub async fn run(state: &Arc<ServerState>, key: &str) -> Response {
    let key = match parse_key(key) {
        Ok(k) => k,
        Err(reply) => return reply,
    };
    // Loading reads the whole frame from disk: keep it off the async workers.
    let store = Arc::clone(&state.store);
    match tokio::task::spawn_blocking(move || store.load(&key)).await {
        Ok(Ok(bytes)) => {
            tracing::debug!(bytes, "frame loaded");
            Response::Done
        }
        Ok(Err(e)) => store_error(e),
        Err(e) => task_error(e),
    }
}
