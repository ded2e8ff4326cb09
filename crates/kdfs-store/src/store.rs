//! [`FrameStore`]: the public face of the store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use redb::Database;
use tokio::sync::oneshot;

use crate::cache::Cache;
use crate::catalog::{load_catalog, open_db};
use crate::codec::CatalogRecord;
use crate::commit::{self, Failure, Msg, Op};
use crate::compaction::{self, Job};
use crate::entry::{Disk, Entry, State};
use crate::error::StoreError;
use crate::frame::Rows;
use crate::key::{DB_FILE, KeyPath};
use crate::log::LogIndex;
use crate::types::{
    FrameData, KeyInfo, RangeFilter, SentBatch, StoreConfig, StoreStats, UpdateMode, UpdateOutcome,
};
use crate::write::{Answer, PendingUpdate, Update};

/// A durable, cached collection of frames under one directory. See the crate docs.
pub struct FrameStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub dir: PathBuf,
    pub config: StoreConfig,
    pub db: Arc<Database>,
    pub frames: RwLock<BTreeMap<KeyPath, Arc<Entry>>>,
    next_id: AtomicU64,
    /// Read-locked by every update to send under it (no clone of the sender per update);
    /// write-locked only to close the channel.
    commit_tx: RwLock<Option<Sender<Msg>>>,
    compact_tx: Mutex<Option<Sender<Job>>>,
    pub cache: Cache,
    failure: Failure,
    closed: AtomicBool,
    pub compactions: AtomicU64,
    /// Held while a frame file is renamed into place or removed, so a delete never removes
    /// the file of a newer frame with the same key.
    pub files: Mutex<()>,
    /// One compaction at a time (the compactor thread and `shutdown` may both compact).
    pub compact_lock: Mutex<()>,
    /// Which write-log blobs hold which frame's entries.
    pub log: Arc<Mutex<LogIndex>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl FrameStore {
    /// Opens the store in `dir` (created if missing). Recovery is implicit: the catalog is
    /// read now, and each frame's file and write log are read when the frame is first used.
    pub fn open(dir: &Path, config: StoreConfig) -> Result<Arc<FrameStore>, StoreError> {
        std::fs::create_dir_all(dir)?;
        let db = Arc::new(open_db(&dir.join(DB_FILE))?);
        let (stored, next_id) = load_catalog(&db)?;
        let log = Arc::new(Mutex::new(LogIndex::load(&db)?));
        let mut frames = BTreeMap::new();
        for s in stored {
            frames.insert(s.key.clone(), Entry::new(s.key, s.record, Some(s.schema)));
        }
        tracing::info!(dir = %dir.display(), frames = frames.len(), "store opened");
        let (commit_tx, commit_rx) = mpsc::channel();
        let (compact_tx, compact_rx) = mpsc::channel();
        let failure: Failure = Arc::default();
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            cache: Cache::new(config.memory_budget),
            config: config.clone(),
            db: db.clone(),
            frames: RwLock::new(frames),
            next_id: AtomicU64::new(next_id),
            commit_tx: RwLock::new(Some(commit_tx)),
            compact_tx: Mutex::new(Some(compact_tx)),
            failure: failure.clone(),
            closed: AtomicBool::new(false),
            compactions: AtomicU64::new(0),
            files: Mutex::new(()),
            compact_lock: Mutex::new(()),
            log: log.clone(),
            threads: Mutex::new(Vec::new()),
        });
        let max_group = config.max_group.max(1);
        let committer = std::thread::Builder::new()
            .name("kdfs-commit".into())
            .spawn({
                let log = log.clone();
                move || commit::run(db, log, commit_rx, max_group, failure)
            })?;
        let weak = Arc::downgrade(&inner);
        let idle = config.idle_compaction;
        let compactor = std::thread::Builder::new()
            .name("kdfs-compact".into())
            .spawn(move || compaction::run(weak, compact_rx, idle))?;
        // The compactor must stop before the committer, so it is joined first.
        lock(&inner.threads).extend([compactor, committer]);
        Ok(Arc::new(FrameStore { inner }))
    }

    /// Merges `batch` into frame `key` (created if absent; `index_column` names the index at
    /// creation and must match afterwards). Resolves once the update is durable; concurrent
    /// updates share one commit.
    pub async fn update(
        &self,
        key: &KeyPath,
        index_column: &str,
        batch: RecordBatch,
        mode: UpdateMode,
    ) -> Result<UpdateOutcome, StoreError> {
        self.begin_update(key, index_column, &batch, mode)?
            .durable()
            .await
    }

    /// [`FrameStore::update`] in two steps, for callers that keep many updates in flight:
    /// the update is validated, applied in memory (reads see it) and queued for the next group
    /// commit now, so updates begun one after another are applied in that order; the returned
    /// [`PendingUpdate`] resolves once the update is durable. A validation error (conflict,
    /// bad index, ...) is returned here and changes nothing.
    pub fn begin_update(
        &self,
        key: &KeyPath,
        index_column: &str,
        batch: &RecordBatch,
        mode: UpdateMode,
    ) -> Result<PendingUpdate, StoreError> {
        self.begin_update_as_sent(key, index_column, batch, None, mode)
    }

    /// [`FrameStore::begin_update`] of a batch decoded from an Arrow IPC record batch message,
    /// given as `sent`: when the batch's columns are a prefix of the frame's schema (names and
    /// types, in order), the write log keeps those bytes instead of encoding the batch again.
    /// `sent` must be the message `batch` was decoded from.
    pub fn begin_update_as_sent(
        &self,
        key: &KeyPath,
        index_column: &str,
        batch: &RecordBatch,
        sent: Option<SentBatch<'_>>,
        mode: UpdateMode,
    ) -> Result<PendingUpdate, StoreError> {
        let update = Update {
            index_column,
            batch,
            sent,
            mode,
            sync: false,
        };
        let pending = self.inner.stage(key, update)?;
        Ok(PendingUpdate {
            inner: self.inner.clone(),
            pending,
        })
    }

    /// [`FrameStore::update`] for synchronous callers: blocks the calling thread until the
    /// update is durable (works with or without an async runtime, but blocks its thread).
    pub fn update_blocking(
        &self,
        key: &KeyPath,
        index_column: &str,
        batch: RecordBatch,
        mode: UpdateMode,
    ) -> Result<UpdateOutcome, StoreError> {
        let update = Update {
            index_column,
            batch: &batch,
            sent: None,
            mode,
            sync: true,
        };
        let pending = self.inner.stage(key, update)?;
        let answer = match pending.answer {
            Answer::Async(rx) => commit::outcome(rx.blocking_recv()),
            Answer::Sync(rx) => commit::wait_sync(rx),
        };
        self.inner.finish(&pending.entry, pending.compact, answer)?;
        Ok(pending.outcome)
    }

    /// Rows of `key` with index in `range`, restricted to `columns` (in that order) if given.
    pub fn read(
        &self,
        key: &KeyPath,
        range: RangeFilter,
        columns: Option<&[String]>,
    ) -> Result<FrameData, StoreError> {
        self.inner.check_open()?;
        let entry = self.inner.get(key)?;
        let mut st = entry.lock();
        let schema = live_schema(key, &st)?;
        let projection = match columns {
            None => None,
            Some(cols) => Some(
                cols.iter()
                    .map(|c| {
                        schema.index_of(c).map_err(|_| StoreError::UnknownColumn {
                            key: key.to_string(),
                            column: c.clone(),
                        })
                    })
                    .collect::<Result<Vec<usize>, _>>()?,
            ),
        };
        let out_schema = match &projection {
            None => schema.clone(),
            Some(p) => Arc::new(schema.project(p)?),
        };
        let index_column = st.record.index_column.clone();
        let (lo, hi) = (range.lo(), range.hi());
        // A frame not in memory is loaded (and cached) to serve a read only if it fits the
        // budget, and, for a read of part of it, fits without pushing other frames out.
        // Otherwise just the range is read from disk: with a cache too small for the frames
        // being read, each reader loaded a whole frame that the next reader's load evicted
        // while the first still held it, so memory grew with the readers, uncounted.
        let whole = range.start.is_none() && range.end.is_none();
        let room = if whole {
            self.inner.cache.budget()
        } else {
            self.inner.cache.free()
        };
        let batches = if st.data.is_none() && !st.pinned && st.estimated_bytes() > room {
            st.read_uncached(key, &self.inner.disk(), lo, hi, projection.as_deref())?
        } else {
            st.ensure_loaded(key, &self.inner.disk())?;
            let rows = loaded(&st)?;
            let batches = rows.range(lo, hi, projection.as_deref())?;
            self.inner.account(key, &st);
            batches
        };
        drop(st);
        self.inner.evict();
        Ok(FrameData {
            schema: out_schema,
            index_column,
            batches,
        })
    }

    /// Description of frame `key`.
    pub fn info(&self, key: &KeyPath) -> Result<KeyInfo, StoreError> {
        self.inner.check_open()?;
        let entry = self.inner.get(key)?;
        let st = entry.lock();
        info_of(&entry.key, &st).ok_or_else(|| StoreError::NotFound {
            key: key.to_string(),
        })
    }

    /// Every frame whose key starts with `prefix`, sorted by key.
    pub fn keys(&self, prefix: &str) -> Vec<KeyInfo> {
        self.inner
            .entries(prefix)
            .iter()
            .filter_map(|e| info_of(&e.key, &e.lock()))
            .collect()
    }

    /// Removes frame `key`: its catalog record, write log and file.
    pub async fn delete(&self, key: &KeyPath) -> Result<(), StoreError> {
        let (id, rx) = self.inner.stage_delete(key)?;
        commit::outcome(rx.await)?;
        self.inner.remove_file(key, id)
    }

    /// Loads frame `key` into memory and pins it there. Returns its estimated bytes.
    pub fn load(&self, key: &KeyPath) -> Result<u64, StoreError> {
        self.inner.check_open()?;
        let entry = self.inner.get(key)?;
        let mut st = entry.lock();
        live_schema(key, &st)?;
        st.ensure_loaded(key, &self.inner.disk())?;
        st.pinned = true;
        let bytes = st.estimated_bytes();
        self.inner.cache.pin(key, bytes);
        drop(st);
        self.inner.evict();
        Ok(bytes)
    }

    /// Drops frame `key` from memory (its data stays on disk). Returns whether it was loaded.
    pub fn unload(&self, key: &KeyPath) -> Result<bool, StoreError> {
        self.inner.check_open()?;
        let entry = self.inner.get(key)?;
        let mut st = entry.lock();
        live_schema(key, &st)?;
        let was = st.data.is_some();
        st.pinned = false;
        // Updates still in flight are replayed by the next load (`State::in_flight`).
        st.data = None;
        self.inner.cache.remove(key);
        Ok(was)
    }

    /// Store-wide statistics.
    pub fn stats(&self) -> StoreStats {
        let mut s = StoreStats {
            memory_used: self.inner.cache.used(),
            memory_max: self.inner.cache.budget(),
            loaded: self.inner.cache.loaded(),
            compactions: self.inner.compactions.load(Ordering::Relaxed),
            write_failure: lock(&self.inner.failure).clone(),
            ..Default::default()
        };
        for e in self.inner.entries("") {
            let st = e.lock();
            if st.schema.is_none() || st.deleted {
                continue;
            }
            s.frames += 1;
            s.rows += st.record.rows;
            s.disk_bytes += st.record.disk_bytes;
            s.log_rows += st.record.log_rows;
        }
        s
    }

    /// Folds every frame's write log into its file now.
    pub async fn compact_now(&self) -> Result<(), StoreError> {
        self.inner.check_open()?;
        let (tx, rx) = oneshot::channel();
        self.inner.send_job(Job::All(Some(tx)))?;
        match rx.await {
            Ok(r) => r.map_err(StoreError::Failed),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// Flushes (compacts frames in memory that have log entries) and closes the store. Later
    /// calls fail with [`StoreError::Closed`].
    pub fn shutdown(&self) -> Result<(), StoreError> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        let mut first_error = None;
        for e in self.inner.entries("") {
            let dirty = {
                let st = e.lock();
                st.data.is_some() && st.record.log_rows > 0 && !st.deleted
            };
            if dirty && let Err(err) = compaction::compact(&self.inner, &e) {
                tracing::warn!(key = %e.key, error = %err, "compaction at shutdown failed; the write log keeps the data");
                first_error.get_or_insert(err);
            }
        }
        self.inner.stop();
        tracing::info!(dir = %self.inner.dir.display(), "store shut down");
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Number of entries in the write log (diagnostics).
    pub fn log_entries(&self) -> Result<u64, StoreError> {
        Ok(lock(&self.inner.log).len())
    }

    /// The store directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

impl Drop for FrameStore {
    fn drop(&mut self) {
        // Without shutdown: stop the threads (every acknowledged update is already durable) so
        // the database is closed and the directory can be reopened.
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.stop();
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn live_schema(key: &KeyPath, st: &State) -> Result<SchemaRef, StoreError> {
    match (&st.schema, st.deleted) {
        (Some(s), false) => Ok(s.clone()),
        _ => Err(StoreError::NotFound {
            key: key.to_string(),
        }),
    }
}

fn loaded(st: &State) -> Result<&Rows, StoreError> {
    st.data
        .as_ref()
        .ok_or_else(|| StoreError::Corrupt("frame data vanished while locked".into()))
}

fn info_of(key: &KeyPath, st: &State) -> Option<KeyInfo> {
    let schema = st.schema.clone()?;
    if st.deleted {
        return None;
    }
    Some(KeyInfo {
        key: key.clone(),
        index_column: st.record.index_column.clone(),
        schema,
        rows: st.record.rows,
        first: st.record.first,
        last: st.record.last,
        disk_bytes: st.record.disk_bytes,
        loaded: st.data.is_some(),
        mem_bytes: st.data.as_ref().map(Rows::bytes).unwrap_or(0),
    })
}

impl Inner {
    pub(crate) fn disk(&self) -> Disk<'_> {
        Disk {
            dir: &self.dir,
            db: &self.db,
            log: &self.log,
        }
    }

    pub(crate) fn check_open(&self) -> Result<(), StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        Ok(())
    }

    pub(crate) fn check_writable(&self) -> Result<(), StoreError> {
        self.check_open()?;
        self.check_not_failed()
    }

    /// Fails if a commit has failed (closed or not: compaction at shutdown checks this).
    pub(crate) fn check_not_failed(&self) -> Result<(), StoreError> {
        if let Some(e) = lock(&self.failure).as_ref() {
            return Err(StoreError::Failed(e.clone()));
        }
        Ok(())
    }

    pub(crate) fn get(&self, key: &KeyPath) -> Result<Arc<Entry>, StoreError> {
        let frames = self.frames.read().unwrap_or_else(|p| p.into_inner());
        frames
            .get(key)
            .cloned()
            .ok_or_else(|| StoreError::NotFound {
                key: key.to_string(),
            })
    }

    pub(crate) fn entries(&self, prefix: &str) -> Vec<Arc<Entry>> {
        let frames = self.frames.read().unwrap_or_else(|p| p.into_inner());
        frames
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.has_prefix(prefix))
            .map(|(_, e)| e.clone())
            .collect()
    }

    pub(crate) fn get_or_create(&self, key: &KeyPath, index_column: &str) -> Arc<Entry> {
        if let Ok(e) = self.get(key) {
            return e;
        }
        let mut frames = self.frames.write().unwrap_or_else(|p| p.into_inner());
        frames
            .entry(key.clone())
            .or_insert_with(|| {
                let record = CatalogRecord {
                    id: self.next_id.fetch_add(1, Ordering::SeqCst),
                    index_column: index_column.to_string(),
                    ..Default::default()
                };
                Entry::new(key.clone(), record, None)
            })
            .clone()
    }

    /// Removes `entry` from the map if it is still the one stored under its key.
    pub(crate) fn unlist(&self, entry: &Arc<Entry>) {
        let mut frames = self.frames.write().unwrap_or_else(|p| p.into_inner());
        if frames
            .get(&entry.key)
            .is_some_and(|e| Arc::ptr_eq(e, entry))
        {
            frames.remove(&entry.key);
        }
    }

    pub(crate) fn send(&self, op: Op) -> Result<oneshot::Receiver<Result<(), String>>, StoreError> {
        let tx = self.commit_tx.read().unwrap_or_else(|p| p.into_inner());
        commit::send(tx.as_ref().ok_or(StoreError::Closed)?, op)
    }

    /// Sends `op` for threads that will block on the answer (see [`commit::wait_sync`]).
    pub(crate) fn send_sync(&self, op: Op) -> Result<commit::SyncAnswer, StoreError> {
        let tx = self.commit_tx.read().unwrap_or_else(|p| p.into_inner());
        commit::send_sync(tx.as_ref().ok_or(StoreError::Closed)?, op)
    }

    pub(crate) fn send_job(&self, job: Job) -> Result<(), StoreError> {
        let tx = lock(&self.compact_tx).clone().ok_or(StoreError::Closed)?;
        tx.send(job).map_err(|_| StoreError::Closed)
    }

    /// Records the frame's current memory use with the cache.
    pub(crate) fn account(&self, key: &KeyPath, st: &State) {
        let Some(rows) = &st.data else { return };
        if st.pinned {
            self.cache.pin(key, rows.bytes());
        } else {
            self.cache.touch(key, rows.bytes());
        }
    }

    /// Drops least recently used frames until memory is within budget. Call with no frame lock
    /// held.
    pub(crate) fn evict(&self) {
        let mut keep = Vec::new();
        while let Some(victim) = self.cache.next_victim() {
            let Ok(entry) = self.get(&victim) else {
                continue;
            };
            let mut st = entry.lock();
            // A frame pinned since it was picked is accounted as pinned again (below);
            // updates in flight do not keep a frame in memory (`State::in_flight`).
            if !st.pinned {
                st.data = None;
                self.cache.remove(&victim);
            } else if let Some(rows) = &st.data {
                keep.push((victim, rows.bytes()));
            }
        }
        for (key, bytes) in keep {
            self.cache.pin(&key, bytes);
        }
    }

    /// Stops the background threads (compactor first, then the committer) and waits for them.
    fn stop(&self) {
        lock(&self.compact_tx).take();
        let threads: Vec<JoinHandle<()>> = lock(&self.threads).drain(..).collect();
        let mut threads = threads.into_iter();
        if let Some(compactor) = threads.next()
            && compactor.thread().id() != std::thread::current().id()
        {
            let _ = compactor.join();
        }
        self.commit_tx
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        for t in threads {
            let _ = t.join();
        }
    }
}
