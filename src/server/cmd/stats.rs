//! `Stats`: server statistics as JSON.
//!
//! Level 0 has the memory figures of the original kdfs (`memory_used`, `memory_free`,
//! `memory_max`) plus totals and the configuration; level 1 adds the frames loaded in
//! memory with their sizes; level 2 adds every stored key. Every level says whether the store
//! accepts writes (`store.writable`, with `store.reason` once a durable write has failed).

use kdfs_client::{ErrorKind, Response};
use serde_json::{Value, json};

use crate::server::ServerState;

/// Statistics at `level` (0, 1 or 2).
pub fn run(state: &ServerState, level: u8) -> Response {
    if level > 2 {
        return Response::error(
            ErrorKind::BadRequest,
            format!("stats level {level} does not exist; use 0, 1 or 2"),
        );
    }
    let value = collect(state, level);
    match serde_json::to_string(&value) {
        Ok(json) => Response::Stats { json },
        Err(e) => Response::error(ErrorKind::Internal, format!("cannot encode stats: {e}")),
    }
}

/// The server process's resident memory now and at its peak, in bytes, as the kernel counts
/// it (everything: frame cache, redb's cache, query working memory, buffers, the allocator's
/// reserve), split into anonymous memory (the heap and stacks: what the process itself holds)
/// and file pages (mostly the binary's code, shared and reclaimable), and its thread count.
/// `null` where /proc is not there.
fn process_memory() -> Value {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return Value::Null;
    };
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    let threads = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse::<u64>().ok());
    json!({
        "rss_bytes": field("VmRSS:"),
        "peak_rss_bytes": field("VmHWM:"),
        "anon_bytes": field("RssAnon:"),
        "file_bytes": field("RssFile:"),
        "threads": threads,
    })
}

/// Build the statistics object.
pub fn collect(state: &ServerState, level: u8) -> Value {
    let stats = state.store.stats();
    let config = &state.config;
    let mut value = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "memory_used": stats.memory_used,
        "memory_free": stats.memory_max.saturating_sub(stats.memory_used),
        "memory_max": stats.memory_max,
        "frames": stats.frames,
        "rows": stats.rows,
        "disk_bytes": stats.disk_bytes,
        "log_rows": stats.log_rows,
        "compactions": stats.compactions,
        // After a failed durable write (a full disk) writes are refused until a restart.
        "store": {
            "writable": stats.write_failure.is_none(),
            "reason": stats.write_failure,
        },
        "query_memory_used": state.sql.memory_reserved(),
        "process": process_memory(),
        "connections": state.connections(),
        "uptime_s": state.started.elapsed().as_secs(),
        "config": {
            "dir": config.dir.display().to_string(),
            "bind": config.bind,
            "port": config.port,
            "memory": config.memory,
            "max_connections": config.max_connections,
            "max_frame": config.max_frame,
            "query_timeout_s": config.query_timeout.as_secs_f64(),
            "allow_files": config.allow_files,
            "allow_system": config.allow_system,
            "max_result": config.max_result,
            "query_memory": config.query_memory,
            "idle_timeout_s": config.idle_timeout.map(|d| d.as_secs_f64()),
            "frame_timeout_s": config.frame_timeout.map(|d| d.as_secs_f64()),
            "compact_after_rows": config.compact_after_rows,
            "auth": config.token.is_some(),
            "tls": config.tls_cert.is_some(),
        },
    });
    if level >= 1 {
        let loaded: Vec<Value> = stats
            .loaded
            .iter()
            .map(|(key, bytes)| json!({ "key": key.as_str(), "bytes": bytes }))
            .collect();
        value["loaded"] = Value::Array(loaded);
    }
    if level >= 2 {
        let keys: Vec<Value> = state
            .store
            .keys("")
            .into_iter()
            .map(|info| {
                json!({
                    "key": info.key.as_str(),
                    "index": info.index_column,
                    "rows": info.rows,
                    "first": info.first,
                    "last": info.last,
                    "columns": info.schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>(),
                    "disk_bytes": info.disk_bytes,
                    "loaded": info.loaded,
                    "mem_bytes": info.mem_bytes,
                })
            })
            .collect();
        value["keys"] = Value::Array(keys);
    }
    value
}
