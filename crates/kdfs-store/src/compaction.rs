//! Background compaction: folding a frame's write log into its Arrow file.
//!
//! Steps, each safe to interrupt:
//! 1. under the frame lock, snapshot the in-memory rows (cheap: chunks are shared) and the last
//!    sequence number `S` they include;
//! 2. wait for a committer barrier, so every update up to `S` is durable before a file claims it;
//! 3. write `.<name>.arrow.tmp-<generation>` next to the final file, fsync it;
//! 4. under the frame lock, rename it over `<name>.arrow` and fsync the directory, then commit
//!    the new catalog record and drop log entries `..=S` in one redb transaction.
//!
//! The file records `S` itself, so a crash between 4's rename and its commit loses nothing: the
//! next load skips log entries the file already holds, and the next compaction trims them.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::commit::{self, Op};
use crate::entry::Entry;
use crate::error::StoreError;
use crate::file::{install, write_file};
use crate::store::{Inner, lock};

/// Work for the compactor thread.
pub(crate) enum Job {
    /// Compact one frame (queued when its log grew past the threshold).
    Frame(Arc<Entry>),
    /// Compact every frame with log entries, then answer.
    All(Option<oneshot::Sender<Result<(), String>>>),
}

/// After a compaction ran out of disk space, automatic compactions wait this long: each one
/// rewrites a whole frame, and retrying after every update would only churn the full disk.
const OUT_OF_SPACE_PAUSE: Duration = Duration::from_secs(30);

/// The compactor thread: runs jobs until the store stops.
pub(crate) fn run(inner: Weak<Inner>, rx: Receiver<Job>, idle: Duration) {
    let tick = (idle / 2).clamp(Duration::from_millis(10), Duration::from_secs(10));
    let mut paused_until: Option<Instant> = None;
    loop {
        let job = match rx.recv_timeout(tick) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let Some(inner) = inner.upgrade() else { break };
        // A failed store never compacts again; while paused, only `compact_now` compacts.
        let paused = paused_until.is_some_and(|t| Instant::now() < t);
        let automatic = !matches!(job, Some(Job::All(_)));
        if automatic && (paused || inner.check_not_failed().is_err()) {
            if let Some(Job::Frame(entry)) = &job {
                entry.lock().compacting = false;
            }
            continue;
        }
        let mut out_of_space = false;
        match job {
            None => out_of_space = compact_idle(&inner, idle),
            Some(Job::Frame(entry)) => {
                entry.lock().compacting = false;
                if let Err(e) = compact(&inner, &entry) {
                    tracing::warn!(key = %entry.key, error = %e, "compaction failed; the write log keeps the data");
                    out_of_space = e.out_of_space().is_some();
                }
            }
            Some(Job::All(reply)) => {
                let mut result = Ok(());
                for entry in inner.entries("") {
                    let dirty = {
                        let st = entry.lock();
                        !st.deleted && st.schema.is_some() && st.record.log_rows > 0
                    };
                    if dirty && let Err(e) = compact(&inner, &entry) {
                        result = Err(format!("compacting {}: {e}", entry.key));
                    }
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
        }
        if out_of_space {
            tracing::warn!(
                pause_s = OUT_OF_SPACE_PAUSE.as_secs(),
                "out of disk space: automatic compactions paused"
            );
            paused_until = Some(Instant::now() + OUT_OF_SPACE_PAUSE);
        }
    }
}

/// Compacts frames with log entries that have not been updated for `idle`; returns whether
/// one ran out of disk space (the others are not tried then).
fn compact_idle(inner: &Inner, idle: Duration) -> bool {
    for entry in inner.entries("") {
        let due = {
            let st = entry.lock();
            !st.deleted
                && !st.compacting
                && st.schema.is_some()
                && st.record.log_rows > 0
                && st.last_update.elapsed() >= idle
        };
        if due && let Err(e) = compact(inner, &entry) {
            tracing::warn!(key = %entry.key, error = %e, "idle compaction failed; the write log keeps the data");
            if e.out_of_space().is_some() {
                return true;
            }
        }
    }
    false
}

/// Folds the write log of `entry` into its file (see the module docs).
pub(crate) fn compact(inner: &Inner, entry: &Arc<Entry>) -> Result<(), StoreError> {
    let _one_at_a_time = lock(&inner.compact_lock);
    // After a failed commit, memory may hold rows that are not durable: no file may claim them.
    inner.check_not_failed()?;
    let key = &entry.key;
    let (rows, id, seq, log_rows, generation) = {
        let mut st = entry.lock();
        if st.deleted || st.schema.is_none() {
            return Ok(());
        }
        let loaded_here = st.ensure_loaded(key, &inner.disk())?;
        let Some(rows) = st.data.clone() else {
            return Ok(());
        };
        if loaded_here {
            // A frame that was not in memory leaves again: caching it would push out frames
            // in use. Its rows live only while the file is written (one compaction at a time).
            st.data = None;
        } else {
            inner.account(key, &st);
        }
        (
            rows,
            st.record.id,
            st.record.seq,
            st.record.log_rows,
            st.record.generation,
        )
    };
    commit::wait_sync(inner.send_sync(Op::Barrier)?)?;
    // A commit that failed before the barrier set the failure flag before answering it.
    inner.check_not_failed()?;
    let generation = generation + 1;
    let tmp = key.temp_path(&inner.dir, generation);
    let size = match write_file(&tmp, rows.schema(), rows.chunks(), id, seq) {
        Ok(size) => size,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    drop(rows);
    // Sent under the frame lock, so this record cannot overtake a later update's record.
    let answer = {
        let mut st = entry.lock();
        if st.deleted || st.record.id != id {
            let _ = std::fs::remove_file(&tmp);
            return Ok(());
        }
        {
            let _files = lock(&inner.files);
            if let Err(e) = install(&tmp, &key.file_path(&inner.dir)) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            // Temporary files of compactions interrupted by a crash are garbage now.
            crate::file::remove_temps(&key.file_path(&inner.dir));
        }
        st.record.generation = generation;
        st.record.file_seq = seq;
        st.record.disk_bytes = size;
        st.record.log_rows = st.record.log_rows.saturating_sub(log_rows);
        inner.send_sync(Op::Compacted {
            key: key.to_string(),
            id,
            upto: seq,
            record: st.record.encode()?,
        })?
    };
    commit::wait_sync(answer)?;
    inner.compactions.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(%key, generation, rows_folded = log_rows, "compacted");
    inner.evict();
    Ok(())
}
