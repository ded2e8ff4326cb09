//! `ListKeys`: stored frames under a prefix.

use kdfs_client::{KeyEntry, Response};
use kdfs_store::KeyInfo;

use crate::server::ServerState;

/// List keys starting with `prefix`.
pub fn run(state: &ServerState, prefix: &str) -> Response {
    let keys = state.store.keys(prefix).into_iter().map(entry).collect();
    Response::Keys { keys }
}

/// The wire form of a key's catalog entry.
pub fn entry(info: KeyInfo) -> KeyEntry {
    KeyEntry {
        key: info.key.as_str().to_string(),
        rows: info.rows,
        first: info.first,
        last: info.last,
        columns: info
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
        disk_bytes: info.disk_bytes,
        loaded: info.loaded,
    }
}
