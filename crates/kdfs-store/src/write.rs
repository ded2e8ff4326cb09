//! The write path: staging updates and deletes, and finishing them once committed.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use tokio::sync::oneshot;

use crate::codec::{encode_log, encode_schema, log_entry, prefix_fields};
use crate::commit::{self, Op};
use crate::compaction::Job;
use crate::entry::{Entry, State};
use crate::error::StoreError;
use crate::frame::{Prepared, Rows, prepare};
use crate::key::KeyPath;
use crate::schema::{conform, extended_schema};
use crate::store::{Inner, live_schema, lock};
use crate::types::{SentBatch, UpdateMode, UpdateOutcome};

/// Waits for the committer's answer to an update, then marks it durable.
pub(crate) struct Pending {
    pub entry: Arc<Entry>,
    /// Whether this update made the frame due for compaction.
    pub compact: bool,
    pub outcome: UpdateOutcome,
    pub answer: Answer,
}

/// An update applied in memory and queued for commit; see [`crate::FrameStore::begin_update`].
#[must_use = "an update is acknowledged only once `durable` resolves"]
pub struct PendingUpdate {
    pub(crate) inner: Arc<Inner>,
    pub(crate) pending: Pending,
}

impl PendingUpdate {
    /// Waits until the update is durable and returns what it did. Dropping a `PendingUpdate`
    /// does not cancel the update: it still becomes durable, unacknowledged.
    pub async fn durable(self) -> Result<UpdateOutcome, StoreError> {
        let PendingUpdate { inner, pending } = self;
        let answer = match pending.answer {
            Answer::Async(rx) => commit::outcome(rx.await),
            Answer::Sync(rx) => commit::wait_sync(rx),
        };
        inner.finish(&pending.entry, pending.compact, answer)?;
        Ok(pending.outcome)
    }
}

/// One update on its way in.
pub(crate) struct Update<'a> {
    pub index_column: &'a str,
    pub batch: &'a RecordBatch,
    /// The IPC message `batch` was decoded from, if the caller has it.
    pub sent: Option<SentBatch<'a>>,
    pub mode: UpdateMode,
    /// Whether the caller will block a thread on the answer.
    pub sync: bool,
}

/// How the caller of an update waits for its commit.
pub(crate) enum Answer {
    Async(oneshot::Receiver<Result<(), String>>),
    Sync(commit::SyncAnswer),
}

/// The outcome of appending `new` past the end of a frame of `rows` rows that is not in
/// memory: every row is new, except the batch's own duplicates.
fn appended(new: &Prepared, mode: UpdateMode, rows: u64) -> UpdateOutcome {
    let inserted = new.keys.len() as u64;
    let mut out = UpdateOutcome {
        inserted,
        rows: rows + inserted,
        ..UpdateOutcome::default()
    };
    match mode {
        UpdateMode::Append => out.ignored = new.duplicates,
        UpdateMode::Upsert => out.replaced = new.duplicates,
    }
    out
}

impl Inner {
    /// Applies an update in memory and hands its log entry to the committer.
    pub(crate) fn stage(&self, key: &KeyPath, update: Update<'_>) -> Result<Pending, StoreError> {
        self.check_writable()?;
        loop {
            let entry = self.get_or_create(key, update.index_column);
            let mut st = entry.lock();
            if st.deleted {
                continue; // deleted meanwhile: look again
            }
            let fresh = st.schema.is_none();
            let result = self.stage_locked(&entry, &mut st, &update);
            if result.is_err() && fresh {
                // A frame that never got a valid update must not show up in listings.
                st.deleted = true;
                drop(st);
                self.unlist(&entry);
            }
            return result;
        }
    }

    fn stage_locked(
        &self,
        entry: &Arc<Entry>,
        st: &mut State,
        update: &Update<'_>,
    ) -> Result<Pending, StoreError> {
        let &Update {
            index_column,
            batch,
            sent,
            mode,
            sync,
        } = update;
        let key = &entry.key;
        if st.record.index_column != index_column {
            return Err(StoreError::BadIndex {
                column: index_column.to_string(),
                reason: format!("frame {key} is indexed by {:?}", st.record.index_column),
            });
        }
        let batch_schema = batch.schema();
        let fits = match (&st.fitting, &st.schema) {
            (Some((b, f)), Some(s)) => Arc::ptr_eq(b, &batch_schema) && Arc::ptr_eq(f, s),
            _ => false,
        };
        let new_schema = if fits {
            None
        } else {
            extended_schema(st.schema.as_ref(), index_column, &batch_schema)?
        };
        if st.schema.is_none()
            && let Some(s) = &new_schema
        {
            st.data = Some(Rows::new(s.clone()));
        }
        let schema = match (&new_schema, &st.schema) {
            (Some(s), _) | (None, Some(s)) => s.clone(),
            (None, None) => return Err(StoreError::Corrupt("frame without schema".into())),
        };
        let conformed = conform(batch, &schema)?;
        let prepared = prepare(&conformed, mode)?;
        // Rows past the frame's last index meet none of its rows, so a frame that is not in
        // memory stays on disk: a live feed into more frames than the cache holds would
        // otherwise reload (file plus log) a frame for every update. Such appends, like every
        // update until it is durable, are kept for a load to replay (`State::in_flight`).
        st.trim_in_flight();
        let past_the_end = st.data.is_none()
            && matches!((st.record.last, prepared.keys.first()), (Some(last), Some(first)) if *first > last);
        if !past_the_end {
            st.ensure_loaded(key, &self.disk())?;
        }
        // The log holds the batch in (a prefix of) the frame's schema, so it can be written
        // without the schema (see `encode_log`). The bytes as sent do when the batch's columns
        // are such a prefix; otherwise the conformed batch is encoded (a few microseconds for a
        // small one), under the frame's lock because the schema is only known here.
        let as_sent = sent.zip(prefix_fields(&batch_schema, &schema));
        let entry_bytes = match as_sent {
            Some((sent, fields)) => log_entry(mode, fields, sent.header, sent.body)?,
            None => encode_log(mode, &conformed)?,
        };
        let outcome = match st.data.as_mut() {
            None => appended(&prepared, mode, st.record.rows),
            Some(rows) => {
                if new_schema.is_some() {
                    rows.set_schema(schema.clone());
                }
                match rows.apply(&prepared, mode) {
                    Ok(o) => o,
                    Err(e) => {
                        // The merge may be half done; memory is rebuilt on next use from the
                        // committed log and the updates still in flight.
                        st.data = None;
                        return Err(e);
                    }
                }
            }
        };
        let schema_bytes = match &new_schema {
            Some(s) => Some(encode_schema(s)?),
            None => None,
        };
        st.fitting = Some((batch_schema, schema.clone()));
        st.schema = Some(schema);
        st.note_update(&outcome, batch.num_rows());
        let seq = st.record.seq;
        if st.data.is_none() {
            st.record.last = prepared.keys.last().copied();
        }
        st.in_flight.push_back((seq, mode, conformed));
        // Rewriting the file costs O(frame), so wait until the log holds a quarter of the frame
        // (amortized O(1) per row) but at least `compact_after_rows` rows.
        let compact = !st.compacting
            && st.record.log_rows >= self.config.compact_after_rows.max(st.record.rows / 4);
        if compact {
            st.compacting = true;
        }
        st.last_update = std::time::Instant::now();
        let op = Op::Update {
            key: key.to_string(),
            id: st.record.id,
            seq,
            entry: entry_bytes,
            record: st.record.encode()?,
            schema: schema_bytes,
            durable: st.durable_seq.clone(),
        };
        let answer = if sync {
            Answer::Sync(self.send_sync(op)?)
        } else {
            Answer::Async(self.send(op)?)
        };
        self.account(key, st);
        Ok(Pending {
            entry: entry.clone(),
            compact,
            outcome,
            answer,
        })
    }

    /// After the committer answered: maybe queue a compaction, keep memory in budget.
    pub(crate) fn finish(
        &self,
        entry: &Arc<Entry>,
        compact: bool,
        answer: Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if compact && self.send_job(Job::Frame(entry.clone())).is_err() {
            entry.lock().compacting = false;
        }
        self.evict();
        answer
    }

    pub(crate) fn stage_delete(
        &self,
        key: &KeyPath,
    ) -> Result<(u64, oneshot::Receiver<Result<(), String>>), StoreError> {
        self.check_writable()?;
        let entry = self.get(key)?;
        let mut st = entry.lock();
        live_schema(key, &st)?;
        st.deleted = true;
        st.data = None;
        st.pinned = false;
        let id = st.record.id;
        self.unlist(&entry);
        self.cache.remove(key);
        let rx = self.send(Op::Delete {
            key: key.to_string(),
            id,
        })?;
        Ok((id, rx))
    }

    /// Removes the file of deleted frame `id`, unless a newer frame of the key already wrote one.
    pub(crate) fn remove_file(&self, key: &KeyPath, id: u64) -> Result<(), StoreError> {
        let _files = lock(&self.files);
        let path = key.file_path(&self.dir);
        if crate::file::file_frame_id(&path)?.is_some_and(|owner| owner != id) {
            return Ok(());
        }
        crate::file::remove_files(&path)
    }
}
