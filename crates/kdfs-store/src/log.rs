//! The write log: one redb value per group commit, and an in-memory index of it.
//!
//! Writing one redb entry per update made the B-tree work, not the data, the cost of a commit.
//! So the committer packs every update of a group into one *blob* (`log` table, key = blob
//! number), and keeps in memory which blobs hold entries of which frame, and how many live
//! entries each blob still has. A frame's log is read by fetching just its blobs; a blob is
//! deleted (in the same transaction that trims the last of its entries) once every frame with
//! entries in it has compacted past them or was deleted. The index is rebuilt at open by
//! scanning the blob headers.
//!
//! Blob format: records of `[frame id: u64 LE][seq: u64 LE][len: u32 LE][entry: len bytes]`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::codec::decode_log;
use crate::error::{StoreError, db};
use crate::types::UpdateMode;

/// Blob number → packed log entries of one commit.
pub(crate) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("wal");

/// One record inside a blob.
pub(crate) struct Record<'a> {
    pub id: u64,
    pub seq: u64,
    pub entry: &'a [u8],
}

/// Appends a record to a blob under construction.
pub(crate) fn push(blob: &mut Vec<u8>, id: u64, seq: u64, entry: &[u8]) {
    blob.extend_from_slice(&id.to_le_bytes());
    blob.extend_from_slice(&seq.to_le_bytes());
    blob.extend_from_slice(&(entry.len() as u32).to_le_bytes());
    blob.extend_from_slice(entry);
}

/// The records of a blob.
pub(crate) fn records(blob: &[u8]) -> Result<Vec<Record<'_>>, StoreError> {
    let mut out = Vec::new();
    let mut rest = blob;
    let corrupt = || StoreError::Corrupt("write log blob is truncated".into());
    while !rest.is_empty() {
        if rest.len() < 20 {
            return Err(corrupt());
        }
        let (head, tail) = rest.split_at(20);
        let num = |r: std::ops::Range<usize>| {
            head[r]
                .iter()
                .rev()
                .fold(0u64, |a, b| (a << 8) | u64::from(*b))
        };
        let (id, seq, len) = (num(0..8), num(8..16), num(16..20) as usize);
        if tail.len() < len {
            return Err(corrupt());
        }
        let (entry, tail) = tail.split_at(len);
        out.push(Record { id, seq, entry });
        rest = tail;
    }
    Ok(out)
}

/// Which blobs hold which frame's entries.
#[derive(Default)]
pub(crate) struct LogIndex {
    /// Next blob number to use.
    pub next_blob: u64,
    /// Frame id → (seq, blob) of its live entries, in seq order.
    frames: HashMap<u64, Vec<(u64, u64)>>,
    /// Blob → number of live entries in it.
    live: BTreeMap<u64, u64>,
}

impl LogIndex {
    /// Scans the log table.
    pub(crate) fn load(database: &Database) -> Result<LogIndex, StoreError> {
        let txn = database.begin_read().map_err(db)?;
        let table = txn.open_table(LOG).map_err(db)?;
        let mut index = LogIndex::default();
        for item in table.iter().map_err(db)? {
            let (k, v) = item.map_err(db)?;
            let blob = k.value();
            for r in records(v.value())? {
                index.add(r.id, r.seq, blob);
            }
            index.next_blob = blob + 1;
        }
        for entries in index.frames.values_mut() {
            entries.sort_unstable();
        }
        Ok(index)
    }

    /// Records that entry `(id, seq)` is in `blob`.
    pub(crate) fn add(&mut self, id: u64, seq: u64, blob: u64) {
        self.frames.entry(id).or_default().push((seq, blob));
        *self.live.entry(blob).or_default() += 1;
    }

    /// Drops frame `id`'s entries up to `upto`; returns the blobs left with no live entry.
    pub(crate) fn trim(&mut self, id: u64, upto: u64) -> Vec<u64> {
        let mut emptied = Vec::new();
        let Some(entries) = self.frames.get_mut(&id) else {
            return emptied;
        };
        let cut = entries.partition_point(|(seq, _)| *seq <= upto);
        for (_, blob) in entries.drain(..cut) {
            if let Some(n) = self.live.get_mut(&blob) {
                *n -= 1;
                if *n == 0 {
                    self.live.remove(&blob);
                    emptied.push(blob);
                }
            }
        }
        if entries.is_empty() {
            self.frames.remove(&id);
        }
        emptied
    }

    /// Blobs holding entries of `id` with seq above `after`.
    pub(crate) fn blobs_after(&self, id: u64, after: u64) -> BTreeSet<u64> {
        self.frames
            .get(&id)
            .map(|e| {
                e.iter()
                    .filter(|(s, _)| *s > after)
                    .map(|(_, b)| *b)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Live entries over all frames.
    pub(crate) fn len(&self) -> u64 {
        self.live.values().sum()
    }
}

/// Frame `id`'s log entries with seq above `after`, in seq order, as `(seq, entry bytes)`.
pub(crate) fn read(
    database: &Database,
    blobs: &BTreeSet<u64>,
    id: u64,
    after: u64,
) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    if blobs.is_empty() {
        return Ok(out);
    }
    let txn = database.begin_read().map_err(db)?;
    let table = txn.open_table(LOG).map_err(db)?;
    for blob in blobs {
        let Some(v) = table.get(*blob).map_err(db)? else {
            return Err(StoreError::Corrupt(format!(
                "write log blob {blob} is missing"
            )));
        };
        for r in records(v.value())? {
            if r.id == id && r.seq > after {
                out.push((r.seq, r.entry.to_vec()));
            }
        }
    }
    out.sort_by_key(|(seq, _)| *seq);
    Ok(out)
}

/// Frame `id`'s log entries above `after`, decoded against the frame's `schema`, in seq order.
pub(crate) fn read_frame(
    database: &Database,
    index: &Mutex<LogIndex>,
    id: u64,
    after: u64,
    schema: &SchemaRef,
) -> Result<Vec<(u64, UpdateMode, RecordBatch)>, StoreError> {
    let blobs = index
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .blobs_after(id, after);
    read(database, &blobs, id, after)?
        .into_iter()
        .map(|(seq, bytes)| decode_log(&bytes, schema).map(|(mode, batch)| (seq, mode, batch)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_round_trip_and_index() {
        let mut blob = Vec::new();
        push(&mut blob, 1, 5, b"abc");
        push(&mut blob, 2, 1, b"");
        let r = records(&blob).unwrap();
        assert_eq!((r[0].id, r[0].seq, r[0].entry), (1, 5, &b"abc"[..]));
        assert_eq!((r[1].id, r[1].seq, r[1].entry.len()), (2, 1, 0));
        assert!(records(&blob[..blob.len() - 1]).is_err());

        let mut ix = LogIndex::default();
        ix.add(1, 5, 10);
        ix.add(2, 1, 10);
        ix.add(1, 6, 11);
        assert_eq!(
            ix.blobs_after(1, 5).into_iter().collect::<Vec<_>>(),
            vec![11]
        );
        assert_eq!(ix.trim(1, 5), Vec::<u64>::new());
        assert_eq!(ix.trim(2, u64::MAX), vec![10]);
        assert_eq!(ix.len(), 1);
        assert_eq!(ix.trim(1, 6), vec![11]);
        assert_eq!(ix.len(), 0);
    }
}
