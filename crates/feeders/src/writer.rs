//! The ingest engine: bars in from the feed, frames out to a store, nothing lost silently.
//!
//! The feed side calls [`Ingest::push`]; a writer task runs [`Ingest::run_writer`], which
//! takes everything pending, writes one frame per symbol (several symbols concurrently) and
//! puts back whatever failed. While the store is healthy a full buffer makes the feed wait
//! (backpressure, no loss); while it is failing the buffer keeps the newest bars and counts the
//! oldest it had to drop, so the log can say exactly how many were lost.

use crate::backoff::Backoff;
use crate::bar::Bar;
use crate::ingest::{Pending, key_for, to_record_batch};
use arrow::array::RecordBatch;
use futures::StreamExt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// Where frames go (the kdfs client in `ws_feed_dfs_client`).
pub trait FrameStore: Send + Sync + 'static {
    /// Upsert `frame` (indexed by its `t` column) into the frame named `key`.
    fn write(
        &self,
        key: String,
        frame: RecordBatch,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// Counters for progress logs.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IngestStats {
    /// Bars accepted from the feed.
    pub received: u64,
    /// Bars stored.
    pub written: u64,
    /// Bars dropped because the buffer overflowed while the store was failing.
    pub dropped: u64,
    /// Bars waiting now.
    pub pending: u64,
    /// Failed write attempts (one per symbol frame).
    pub failures: u64,
}

/// Shared state between the feed reader and the writer task.
pub struct Ingest {
    pending: Mutex<Pending>,
    cap: usize,
    data: Notify,
    space: Notify,
    healthy: AtomicBool,
    received: AtomicU64,
    written: AtomicU64,
    failures: AtomicU64,
}

impl Ingest {
    /// A buffer for at most `cap` bars.
    pub fn new(cap: usize) -> Arc<Ingest> {
        Arc::new(Ingest {
            pending: Mutex::new(Pending::new(cap)),
            cap: cap.max(1),
            data: Notify::new(),
            space: Notify::new(),
            healthy: AtomicBool::new(true),
            received: AtomicU64::new(0),
            written: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue bars. Waits while the buffer is full and the store is keeping up; drops (and
    /// counts) the oldest bars while the store is failing. Returns how many were dropped.
    pub async fn push(&self, bars: Vec<Bar>) -> u64 {
        let mut dropped = 0;
        let mut bars = bars.into_iter().peekable();
        while bars.peek().is_some() {
            let space = self.space.notified();
            {
                // One lock for as many bars as fit (a message is ~100 bars).
                let mut p = self.lock();
                while p.len() < self.cap || !self.healthy.load(Ordering::Relaxed) {
                    let Some(bar) = bars.next() else { break };
                    dropped += p.push(bar);
                    self.received.fetch_add(1, Ordering::Relaxed);
                }
            }
            if bars.peek().is_some() {
                self.data.notify_one();
                space.await;
            }
        }
        self.data.notify_one();
        dropped
    }

    /// Write everything pending once. Returns the number of bars written, or the first error
    /// (failed symbols' bars are back in the buffer).
    pub async fn flush_once<S: FrameStore>(
        &self,
        store: &S,
        concurrency: usize,
    ) -> Result<usize, String> {
        let groups = self.lock().take();
        self.space.notify_waiters();
        if groups.is_empty() {
            return Ok(0);
        }
        let results: Vec<(Vec<Bar>, Result<(), String>)> = futures::stream::iter(groups)
            .map(|(sym, bars)| async move {
                let r = match to_record_batch(&bars) {
                    Ok(frame) => store.write(key_for(&sym), frame).await,
                    Err(e) => Err(e.to_string()),
                };
                (bars, r)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut written = 0;
        let mut first_err = None;
        let mut failed = Vec::new();
        for (bars, r) in results {
            match r {
                Ok(()) => written += bars.len(),
                Err(e) => {
                    self.failures.fetch_add(1, Ordering::Relaxed);
                    first_err.get_or_insert(e);
                    failed.extend(bars);
                }
            }
        }
        self.written.fetch_add(written as u64, Ordering::Relaxed);
        if !failed.is_empty() {
            // Oldest first, so the restored order matches arrival order per symbol.
            failed.sort_by_key(|b| b.e);
            self.lock().restore(failed);
        }
        match first_err {
            None => Ok(written),
            Some(e) => Err(e),
        }
    }

    /// The writer loop: flush whenever bars arrive, back off while the store fails. Runs
    /// until the task is dropped.
    pub async fn run_writer<S: FrameStore>(
        &self,
        store: S,
        mut backoff: Backoff,
        concurrency: usize,
    ) {
        loop {
            let data = self.data.notified();
            if self.lock().is_empty() {
                data.await;
                continue;
            }
            match self.flush_once(&store, concurrency).await {
                Ok(_) => {
                    if !self.healthy.swap(true, Ordering::Relaxed) {
                        tracing::info!("store reachable again; writing resumed");
                    }
                    backoff.reset();
                }
                Err(e) => {
                    let delay = backoff.next_delay();
                    let pending = self.lock().len();
                    if self.healthy.swap(false, Ordering::Relaxed) {
                        tracing::warn!(
                            pending,
                            "write failed: {e}; buffering and retrying in {delay:?}"
                        );
                    } else {
                        tracing::debug!(pending, "still failing: {e}; retrying in {delay:?}");
                    }
                    self.space.notify_waiters();
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Whether the last write attempt succeeded.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Counters so far.
    pub fn stats(&self) -> IngestStats {
        let p = self.lock();
        IngestStats {
            received: self.received.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            dropped: p.dropped(),
            pending: p.len() as u64,
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    /// Wait until nothing is pending or `timeout` passes (used at shutdown while the writer
    /// still runs). Returns whether everything was written.
    pub async fn drained(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let s = self.stats();
            if s.pending == 0 && s.received == s.written + s.dropped {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeMarket;
    use arrow::array::Int64Array;
    use std::collections::BTreeMap;

    /// An in-memory store that can be switched off, standing in for a kdfs server that is
    /// down. Upserts by `t`, like the server.
    #[derive(Default, Clone)]
    struct Memory {
        up: Arc<AtomicBool>,
        rows: Arc<Mutex<BTreeMap<String, BTreeMap<i64, usize>>>>,
    }

    impl FrameStore for Memory {
        async fn write(&self, key: String, frame: RecordBatch) -> Result<(), String> {
            if !self.up.load(Ordering::Relaxed) {
                return Err("connection refused".into());
            }
            let t = frame
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or("t is not Int64")?
                .clone();
            let mut rows = self.rows.lock().unwrap();
            let m = rows.entry(key).or_default();
            for v in t.values() {
                *m.entry(*v).or_default() += 1;
            }
            Ok(())
        }
    }

    fn ticks(n: usize) -> Vec<Vec<Bar>> {
        let mut m = FakeMarket::new("AM", vec!["A".into(), "B".into(), "C".into()], 4, 0);
        (0..n).map(|_| m.tick()).collect()
    }

    #[tokio::test]
    async fn every_bar_is_stored_once_across_an_outage() {
        let store = Memory::default();
        store.up.store(true, Ordering::Relaxed);
        let ingest = Ingest::new(10_000);
        let writer = {
            let (i, s) = (ingest.clone(), store.clone());
            tokio::spawn(async move {
                let b = Backoff::new(Duration::from_millis(1), Duration::from_millis(5));
                i.run_writer(s, b, 4).await
            })
        };
        let all = ticks(300);
        for (n, t) in all.iter().enumerate() {
            if n == 100 {
                store.up.store(false, Ordering::Relaxed);
            }
            if n == 200 {
                store.up.store(true, Ordering::Relaxed);
            }
            assert_eq!(ingest.push(t.clone()).await, 0);
            tokio::task::yield_now().await;
        }
        assert!(
            ingest.drained(Duration::from_secs(10)).await,
            "{:?}",
            ingest.stats()
        );
        writer.abort();
        let rows = store.rows.lock().unwrap();
        for sym in ["A", "B", "C"] {
            let m = &rows[&key_for(sym)];
            assert_eq!(m.len(), 300, "{sym}");
            assert!(m.values().all(|c| *c == 1), "{sym} has a duplicate");
        }
        let s = ingest.stats();
        assert_eq!((s.received, s.written, s.dropped), (900, 900, 0));
        assert!(s.failures > 0, "the outage was not noticed");
    }

    #[tokio::test]
    async fn overflow_while_down_is_counted() {
        let store = Memory::default(); // down
        let ingest = Ingest::new(5);
        assert!(
            ingest.flush_once(&store, 2).await.is_ok(),
            "nothing to write is fine"
        );
        ingest.push(ticks(1).remove(0)).await;
        assert!(ingest.flush_once(&store, 2).await.is_err());
        assert_eq!(
            ingest.stats().pending,
            3,
            "failed bars go back in the buffer"
        );
        // Mark unhealthy as the writer loop would, then overflow.
        ingest.healthy.store(false, Ordering::Relaxed);
        let dropped = ingest.push(ticks(2).concat()).await;
        assert_eq!(dropped, 4);
        let s = ingest.stats();
        assert_eq!((s.pending, s.dropped, s.received), (5, 4, 9));
        store.up.store(true, Ordering::Relaxed);
        assert_eq!(ingest.flush_once(&store, 2).await, Ok(5));
    }

    #[tokio::test]
    async fn a_full_buffer_waits_while_the_store_is_healthy() {
        let store = Memory::default();
        store.up.store(true, Ordering::Relaxed);
        let ingest = Ingest::new(2);
        let pusher = {
            let i = ingest.clone();
            tokio::spawn(async move { i.push(ticks(4).concat()).await })
        };
        // The pusher must stall at 2 pending until we flush; keep flushing until it is done.
        let mut written = 0;
        while !pusher.is_finished() || ingest.stats().pending > 0 {
            written += ingest.flush_once(&store, 2).await.unwrap();
            tokio::task::yield_now().await;
        }
        assert_eq!(pusher.await.unwrap(), 0);
        assert_eq!(written, 12);
    }
}
