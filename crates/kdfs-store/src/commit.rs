//! Group commit: one thread owns all redb writes.
//!
//! Callers send [`Op`]s over a channel and wait on a oneshot. The committer takes the first
//! waiting message, drains whatever else is queued (up to `max_group`), writes them all in one
//! redb transaction with `Durability::Immediate`, and only then answers every sender. Many
//! connections each sending one-row updates therefore share one fsync'd commit.
//!
//! If a commit fails, memory may already hold updates that are not on disk; the store is then
//! marked failed and refuses further writes until it is reopened (which rebuilds memory from
//! disk), rather than drifting silently.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use redb::{Database, Durability, ReadableTable};
use tokio::sync::oneshot;

use crate::catalog::{CATALOG, META, NEXT_ID, SCHEMAS};
use crate::error::{StoreError, db, describe_write_failure};
use crate::log::{LOG, LogIndex};

/// One write for the committer.
pub(crate) enum Op {
    /// Append a log entry and rewrite the frame's catalog record (and schema, if changed).
    Update {
        key: String,
        id: u64,
        seq: u64,
        entry: Vec<u8>,
        record: Vec<u8>,
        schema: Option<Vec<u8>>,
        /// The frame's committed sequence number, raised to `seq` once durable.
        durable: Arc<AtomicU64>,
    },
    /// Rewrite a catalog record, dropping log entries `(id, ..=upto)` (after a compaction).
    Compacted {
        key: String,
        id: u64,
        upto: u64,
        record: Vec<u8>,
    },
    /// Forget a frame: catalog record, schema and log entries.
    Delete { key: String, id: u64 },
    /// Nothing; answered once everything sent before it is durable.
    Barrier,
}

/// Where the committer's answer goes: a oneshot for async callers, a std channel for threads
/// (which may block even when called from inside an async runtime, e.g. at shutdown).
pub(crate) enum Reply {
    Async(oneshot::Sender<Result<(), String>>),
    Sync(std::sync::mpsc::Sender<Result<(), String>>),
}

/// A message to the committer.
pub(crate) struct Msg {
    pub op: Op,
    pub reply: Reply,
}

/// Shared failure flag: set once a commit fails.
pub(crate) type Failure = Arc<Mutex<Option<String>>>;

/// Runs the committer until every sender is dropped.
pub(crate) fn run(
    database: Arc<Database>,
    log: Arc<Mutex<LogIndex>>,
    rx: Receiver<Msg>,
    max_group: usize,
    failure: Failure,
) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < max_group {
            match rx.try_recv() {
                Ok(m) => group.push(m),
                Err(_) => break,
            }
        }
        let result = commit_group(&database, &log, &group).map_err(|e| describe_write_failure(&e));
        if result.is_ok() {
            for m in &group {
                if let Op::Update { seq, durable, .. } = &m.op {
                    durable.fetch_max(*seq, Ordering::SeqCst);
                }
            }
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, updates = group.len(), "commit failed; the store refuses writes until reopened");
            if let Ok(mut f) = failure.lock() {
                f.get_or_insert_with(|| e.clone());
            }
        }
        for m in group {
            // A sender that stopped waiting (its task was cancelled) is no error.
            match m.reply {
                Reply::Async(tx) => {
                    let _ = tx.send(result.clone());
                }
                Reply::Sync(tx) => {
                    let _ = tx.send(result.clone());
                }
            }
        }
    }
}

fn commit_group(
    database: &Database,
    log: &Mutex<LogIndex>,
    group: &[Msg],
) -> Result<(), StoreError> {
    // The index lock is taken only briefly: loads of other frames read it while we fsync.
    let blob_no = lock_index(log).next_blob;
    let mut txn = database.begin_write().map_err(db)?;
    txn.set_durability(Durability::Immediate).map_err(db)?;
    // Entries of this group, packed into one blob at the end.
    let mut pending: Vec<(u64, u64, &[u8])> = Vec::new();
    {
        let mut catalog = txn.open_table(CATALOG).map_err(db)?;
        let mut schemas = txn.open_table(SCHEMAS).map_err(db)?;
        let mut wal = txn.open_table(LOG).map_err(db)?;
        let mut meta = txn.open_table(META).map_err(db)?;
        // A hot frame is updated many times per group; write its record once.
        let mut records: HashMap<&str, &[u8]> = HashMap::new();
        let mut max_id = 0;
        let mut trims: Vec<(u64, u64)> = Vec::new();
        for m in group {
            match &m.op {
                Op::Update {
                    key,
                    id,
                    seq,
                    entry,
                    record,
                    schema,
                    ..
                } => {
                    pending.push((*id, *seq, entry.as_slice()));
                    if let Some(s) = schema {
                        schemas.insert(key.as_str(), s.as_slice()).map_err(db)?;
                    }
                    records.insert(key, record);
                    max_id = max_id.max(*id);
                }
                Op::Compacted {
                    key,
                    id,
                    upto,
                    record,
                } => {
                    // Entries up to `upto` are all in earlier blobs (compaction waited for a
                    // barrier), and are now in the frame's file.
                    trims.push((*id, *upto));
                    records.insert(key, record);
                }
                Op::Delete { key, id } => {
                    records.remove(key.as_str());
                    catalog.remove(key.as_str()).map_err(db)?;
                    schemas.remove(key.as_str()).map_err(db)?;
                    pending.retain(|(i, _, _)| i != id);
                    trims.push((*id, u64::MAX));
                }
                Op::Barrier => {}
            }
        }
        // Trimming before the commit is safe: trimmed entries are already in the frame's file
        // (or the frame is gone), and loads skip them either way.
        let emptied: Vec<u64> = {
            let mut index = lock_index(log);
            trims
                .iter()
                .flat_map(|(id, upto)| index.trim(*id, *upto))
                .collect()
        };
        for blob in emptied {
            wal.remove(blob).map_err(db)?;
        }
        if !pending.is_empty() {
            let size = pending.iter().map(|(_, _, e)| e.len() + 20).sum();
            let mut blob = Vec::with_capacity(size);
            for (id, seq, entry) in &pending {
                crate::log::push(&mut blob, *id, *seq, entry);
            }
            wal.insert(blob_no, blob.as_slice()).map_err(db)?;
        }
        for (key, record) in records {
            catalog.insert(key, record).map_err(db)?;
        }
        if max_id > 0 {
            let next = meta
                .get(NEXT_ID)
                .map_err(db)?
                .map(|v| v.value())
                .unwrap_or(1);
            if max_id + 1 > next {
                meta.insert(NEXT_ID, max_id + 1).map_err(db)?;
            }
        }
    }
    txn.commit().map_err(db)?;
    // Only now may loads look for these entries.
    if !pending.is_empty() {
        let mut index = lock_index(log);
        for (id, seq, _) in &pending {
            index.add(*id, *seq, blob_no);
        }
        index.next_blob = blob_no + 1;
    }
    Ok(())
}

fn lock_index(log: &Mutex<LogIndex>) -> std::sync::MutexGuard<'_, LogIndex> {
    log.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends `op` and returns the receiver of its answer.
pub(crate) fn send(
    tx: &Sender<Msg>,
    op: Op,
) -> Result<oneshot::Receiver<Result<(), String>>, StoreError> {
    let (reply, rx) = oneshot::channel();
    tx.send(Msg {
        op,
        reply: Reply::Async(reply),
    })
    .map_err(|_| StoreError::Closed)?;
    Ok(rx)
}

/// Sends `op`; the answer is waited for with [`wait_sync`] (by threads, not async tasks).
pub(crate) fn send_sync(tx: &Sender<Msg>, op: Op) -> Result<SyncAnswer, StoreError> {
    let (reply, rx) = std::sync::mpsc::channel();
    tx.send(Msg {
        op,
        reply: Reply::Sync(reply),
    })
    .map_err(|_| StoreError::Closed)?;
    Ok(rx)
}

/// The receiving end of [`send_sync`].
pub(crate) type SyncAnswer = std::sync::mpsc::Receiver<Result<(), String>>;

/// Blocks until the committer answered.
pub(crate) fn wait_sync(rx: SyncAnswer) -> Result<(), StoreError> {
    match rx.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(StoreError::Failed(e)),
        Err(_) => Err(StoreError::Closed),
    }
}

/// Turns the committer's answer into a store result.
pub(crate) fn outcome(
    answer: Result<Result<(), String>, oneshot::error::RecvError>,
) -> Result<(), StoreError> {
    match answer {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(StoreError::Failed(e)),
        Err(_) => Err(StoreError::Closed),
    }
}
