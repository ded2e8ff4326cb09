//! One frame's state: its catalog record and schema, and its data when loaded.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use redb::Database;

use crate::codec::CatalogRecord;
use crate::error::StoreError;
use crate::file::{read_file, read_file_range};
use crate::frame::{Rows, filter_range, prepare};
use crate::key::KeyPath;
use crate::log::{LogIndex, read_frame};
use crate::schema::conform;
use crate::types::{UpdateMode, UpdateOutcome};

/// Where a frame's data lives on disk.
#[derive(Clone, Copy)]
pub(crate) struct Disk<'a> {
    pub dir: &'a std::path::Path,
    pub db: &'a Database,
    pub log: &'a Mutex<LogIndex>,
}

/// A frame known to the store. The map of frames holds these behind `Arc`, so a caller can keep
/// working with an entry that another caller deletes; `deleted` tells it to start over.
pub(crate) struct Entry {
    pub key: KeyPath,
    state: Mutex<State>,
}

/// Everything about a frame that changes, under one lock.
pub(crate) struct State {
    /// What the catalog holds (kept current in memory, persisted with every commit).
    pub record: CatalogRecord,
    /// Current schema; `None` only for a frame being created by its first update.
    pub schema: Option<SchemaRef>,
    /// The rows, when loaded.
    pub data: Option<Rows>,
    /// Highest sequence number known to be committed (raised by the committer itself, so an
    /// update whose caller went away still counts). Later updates are in `in_flight`.
    pub durable_seq: Arc<AtomicU64>,
    /// Pinned by `load`: never evicted.
    pub pinned: bool,
    /// Removed from the store; whoever holds the entry must look the key up again.
    pub deleted: bool,
    /// A compaction is queued or running.
    pub compacting: bool,
    /// When the frame was last updated (idle frames get their log folded by the compactor).
    pub last_update: std::time::Instant,
    /// A batch schema found to fit the frame schema unchanged, and that frame schema: a
    /// client sending many small updates repeats the same schema (the same `Arc`, see the
    /// server's payload decoder), which then need not be checked again.
    pub fitting: Option<(SchemaRef, SchemaRef)>,
    /// Updates staged but not yet known durable, with their seq, oldest first (trimmed as
    /// commits land). A load reads only the committed log, a prefix of the frame's entries,
    /// so it replays these after it: the rows may be out of memory while updates are in flight
    /// (appends past the end leave an evicted frame on disk; a failed merge drops the rows),
    /// and without them a compaction would write a file claiming their seq without their
    /// rows, then trim them from the log.
    pub in_flight: VecDeque<(u64, UpdateMode, RecordBatch)>,
}

impl Entry {
    pub(crate) fn new(
        key: KeyPath,
        record: CatalogRecord,
        schema: Option<SchemaRef>,
    ) -> Arc<Entry> {
        let durable_seq = Arc::new(AtomicU64::new(record.seq));
        Arc::new(Entry {
            key,
            state: Mutex::new(State {
                record,
                schema,
                data: None,
                durable_seq,
                pinned: false,
                deleted: false,
                compacting: false,
                last_update: std::time::Instant::now(),
                fitting: None,
                in_flight: VecDeque::new(),
            }),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves data that may be half-merged; drop it so it is
        // rebuilt from the committed log and the updates in flight.
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => {
                let mut g = p.into_inner();
                g.data = None;
                g
            }
        }
    }
}

impl State {
    /// Highest committed sequence number.
    pub(crate) fn durable(&self) -> u64 {
        self.durable_seq.load(Ordering::SeqCst)
    }

    /// Forgets the updates in flight that are durable now (the log holds them).
    pub(crate) fn trim_in_flight(&mut self) {
        let durable = self.durable();
        while self
            .in_flight
            .front()
            .is_some_and(|(seq, ..)| *seq <= durable)
        {
            self.in_flight.pop_front();
        }
    }

    /// Estimated memory of the frame if loaded.
    pub(crate) fn estimated_bytes(&self) -> u64 {
        self.data
            .as_ref()
            .map(Rows::bytes)
            .unwrap_or(self.record.disk_bytes + self.record.log_rows * 64)
    }

    /// Loads the data (file plus log) if not in memory. Returns whether it loaded.
    pub(crate) fn ensure_loaded(
        &mut self,
        key: &KeyPath,
        disk: &Disk<'_>,
    ) -> Result<bool, StoreError> {
        let Disk { dir, db, log } = *disk;
        if self.data.is_some() {
            return Ok(false);
        }
        let Some(schema) = self.schema.clone() else {
            return Err(StoreError::NotFound {
                key: key.to_string(),
            });
        };
        let (file_seq, batches) = match read_file(&key.file_path(dir), self.record.id)? {
            Some(c) => (c.seq, c.batches),
            None => {
                if self.record.generation > 0 {
                    tracing::error!(%key, "frame file is missing; only its write log can be recovered");
                }
                (0, Vec::new())
            }
        };
        let mut rows = Rows::from_sorted(schema.clone(), batches)?;
        let mut seq = file_seq;
        let mut log_rows = 0;
        for (s, mode, batch) in read_frame(db, log, self.record.id, file_seq, &schema)? {
            let prepared = prepare(&conform(&batch, &schema)?, mode)?;
            rows.apply(&prepared, mode)?;
            log_rows += batch.num_rows() as u64;
            seq = s;
        }
        // Everything read is committed; the catalog may lag behind an interrupted compaction.
        self.durable_seq.fetch_max(seq, Ordering::SeqCst);
        for (s, mode, batch) in self.staged_after(seq) {
            rows.apply(&prepare(&conform(batch, &schema)?, *mode)?, *mode)?;
            log_rows += batch.num_rows() as u64;
            seq = *s;
        }
        self.trim_in_flight();
        self.record.seq = self.record.seq.max(seq);
        if file_seq > self.record.file_seq {
            self.record.file_seq = file_seq;
        }
        self.record.log_rows = log_rows;
        self.record.rows = rows.num_rows();
        self.record.first = rows.first();
        self.record.last = rows.last();
        self.data = Some(rows);
        Ok(true)
    }

    /// Reads `lo..=hi` without loading the whole frame: the file is scanned batch by batch and
    /// the log is replayed on the rows in range only (an update's effect on one index value
    /// does not depend on any other index value).
    pub(crate) fn read_uncached(
        &self,
        key: &KeyPath,
        disk: &Disk<'_>,
        lo: i64,
        hi: i64,
        columns: Option<&[usize]>,
    ) -> Result<Vec<RecordBatch>, StoreError> {
        let Disk { dir, db, log } = *disk;
        let Some(schema) = self.schema.clone() else {
            return Err(StoreError::NotFound {
                key: key.to_string(),
            });
        };
        let (file_seq, batches) =
            match read_file_range(&key.file_path(dir), self.record.id, lo, hi)? {
                Some(c) => (c.seq, c.batches),
                None => (0, Vec::new()),
            };
        let mut rows = Rows::from_sorted(schema.clone(), batches)?;
        let mut apply = |mode, batch: &RecordBatch| -> Result<(), StoreError> {
            let batch = filter_range(&conform(batch, &schema)?, 0, lo, hi)?;
            if batch.num_rows() > 0 {
                rows.apply(&prepare(&batch, mode)?, mode)?;
            }
            Ok(())
        };
        let mut seq = file_seq;
        for (s, mode, batch) in read_frame(db, log, self.record.id, file_seq, &schema)? {
            apply(mode, &batch)?;
            seq = s;
        }
        for (_, mode, batch) in self.staged_after(seq) {
            apply(*mode, batch)?;
        }
        rows.range(lo, hi, columns)
    }

    /// The appends staged while the rows were not in memory that a log read up to `seq` does
    /// not hold (the committed log is a prefix of the frame's entries).
    fn staged_after(&self, seq: u64) -> impl Iterator<Item = &(u64, UpdateMode, RecordBatch)> {
        self.in_flight.iter().filter(move |(s, ..)| *s > seq)
    }

    /// Copies the in-memory counters into the record after an update.
    pub(crate) fn note_update(&mut self, out: &UpdateOutcome, batch_rows: usize) {
        if let Some(rows) = &self.data {
            self.record.rows = rows.num_rows();
            self.record.first = rows.first();
            self.record.last = rows.last();
        } else {
            self.record.rows = out.rows;
        }
        self.record.log_rows += batch_rows as u64;
        self.record.seq += 1;
    }
}
