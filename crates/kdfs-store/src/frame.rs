//! In-memory frame data: a list of sorted, non-overlapping chunks, merged lazily.
//!
//! Appending one row must not copy the frame, so new rows beyond the last index become a new
//! chunk at the end, and the tail is consolidated like a binary counter (two neighbouring chunks
//! merge once the older is no bigger than the newer), which costs O(log n) copies per row and
//! keeps O(n / MAX_CHUNK_ROWS + log n) chunks. Rows landing inside the frame are merged into the
//! one chunk that covers them (bounded by [`MAX_CHUNK_ROWS`]). Reads binary-search the chunks and
//! return zero-copy slices.

use arrow::array::{ArrayRef, UInt32Array};
use arrow::buffer::ScalarBuffer;
use arrow::compute::{concat_batches, interleave, take_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::error::StoreError;
use crate::schema::{batch_bytes, conform, index_keys};
use crate::types::{UpdateMode, UpdateOutcome};

/// Largest chunk kept in memory (and largest batch written to files).
pub(crate) const MAX_CHUNK_ROWS: usize = 65_536;

/// Chunks of fewer rows than this are "small"; this many small chunks at the tail are
/// concatenated at once (see [`Rows::consolidate_tail`]).
const SMALL_TAIL_CHUNKS: usize = 32;

/// A sorted run of rows with unique index values.
#[derive(Clone, Debug)]
pub(crate) struct Chunk {
    pub(crate) batch: RecordBatch,
    pub(crate) keys: ScalarBuffer<i64>,
    pub(crate) bytes: u64,
}

impl Chunk {
    /// Wraps a batch whose first column is a sorted, unique index.
    pub(crate) fn new(batch: RecordBatch) -> Result<Chunk, StoreError> {
        let keys = index_keys(batch.schema_ref().field(0).name(), batch.column(0).as_ref())?;
        Ok(Chunk::with_keys(batch, keys))
    }

    /// A chunk of `batch` whose index values `keys` are already known.
    fn with_keys(batch: RecordBatch, keys: ScalarBuffer<i64>) -> Chunk {
        let bytes = batch_bytes(&batch);
        Chunk { batch, keys, bytes }
    }

    fn rows(&self) -> usize {
        self.keys.len()
    }

    fn first(&self) -> i64 {
        self.keys[0]
    }

    fn last(&self) -> i64 {
        self.keys[self.keys.len() - 1]
    }
}

/// A batch prepared for merging: conformed to the frame schema, sorted by index, one row per
/// index value.
pub(crate) struct Prepared {
    pub(crate) batch: RecordBatch,
    pub(crate) keys: ScalarBuffer<i64>,
    /// Rows dropped because another row of the same batch had the same index.
    pub(crate) duplicates: u64,
}

/// Sorts and de-duplicates `batch` (already conformed to the frame schema) for `mode`.
pub(crate) fn prepare(batch: &RecordBatch, mode: UpdateMode) -> Result<Prepared, StoreError> {
    let name = batch.schema_ref().field(0).name();
    let keys = index_keys(name, batch.column(0).as_ref())?;
    if keys.windows(2).all(|w| w[0] < w[1]) {
        return Ok(Prepared {
            batch: batch.clone(),
            keys,
            duplicates: 0,
        });
    }
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_by_key(|&i| keys[i as usize]); // stable: equal keys keep arrival order
    let mut kept: Vec<u32> = Vec::with_capacity(order.len());
    for &i in &order {
        match kept.last_mut() {
            Some(prev) if keys[*prev as usize] == keys[i as usize] => {
                if mode == UpdateMode::Upsert {
                    *prev = i; // last write wins
                }
            }
            _ => kept.push(i),
        }
    }
    let duplicates = (order.len() - kept.len()) as u64;
    let sorted = take_record_batch(batch, &UInt32Array::from(kept))?;
    let keys = index_keys(name, sorted.column(0).as_ref())?;
    Ok(Prepared {
        batch: sorted,
        keys,
        duplicates,
    })
}

/// The rows of one frame.
#[derive(Clone, Debug)]
pub(crate) struct Rows {
    schema: SchemaRef,
    chunks: Vec<Chunk>,
    rows: u64,
    bytes: u64,
}

impl Rows {
    /// An empty frame with `schema`.
    pub(crate) fn new(schema: SchemaRef) -> Rows {
        Rows {
            schema,
            chunks: Vec::new(),
            rows: 0,
            bytes: 0,
        }
    }

    /// Builds a frame from sorted, non-overlapping batches (as written to files).
    pub(crate) fn from_sorted(
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> Result<Rows, StoreError> {
        let mut rows = Rows::new(schema);
        for b in batches {
            if b.num_rows() == 0 {
                continue;
            }
            let chunk = Chunk::new(b)?;
            if let Some(last) = rows.chunks.last()
                && chunk.first() <= last.last()
            {
                return Err(StoreError::Corrupt("frame file rows are not sorted".into()));
            }
            rows.rows += chunk.rows() as u64;
            rows.bytes += chunk.bytes;
            rows.chunks.push(chunk);
        }
        Ok(rows)
    }

    pub(crate) fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Adopts a wider schema; chunks are widened lazily when touched or read.
    pub(crate) fn set_schema(&mut self, schema: SchemaRef) {
        self.schema = schema;
    }

    pub(crate) fn num_rows(&self) -> u64 {
        self.rows
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn first(&self) -> Option<i64> {
        self.chunks.first().map(Chunk::first)
    }

    pub(crate) fn last(&self) -> Option<i64> {
        self.chunks.last().map(Chunk::last)
    }

    /// The chunks (for writing files); each may have fewer columns than the schema.
    pub(crate) fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// Merges a prepared batch. Returns the counts for the batch (without `rows`).
    pub(crate) fn apply(
        &mut self,
        new: &Prepared,
        mode: UpdateMode,
    ) -> Result<UpdateOutcome, StoreError> {
        let mut out = UpdateOutcome::default();
        match mode {
            UpdateMode::Append => out.ignored += new.duplicates,
            UpdateMode::Upsert => out.replaced += new.duplicates,
        }
        let keys = &new.keys;
        let n = keys.len();
        if n == 0 {
            out.rows = self.rows;
            return Ok(out);
        }
        let tail_start = match self.chunks.last() {
            Some(last) => keys.partition_point(|k| *k <= last.last()),
            None => 0,
        };
        // Group the rows that land inside the frame by the chunk that covers them.
        let mut groups = Vec::new();
        let mut r = 0;
        while r < tail_start {
            let ci = self
                .chunks
                .partition_point(|c| c.first() <= keys[r])
                .saturating_sub(1);
            let end = match self.chunks.get(ci + 1) {
                Some(next) => r + keys[r..tail_start].partition_point(|k| *k < next.first()),
                None => tail_start,
            };
            groups.push((ci, r, end));
            r = end;
        }
        // Splice from the back so earlier chunk positions stay valid.
        for (ci, start, end) in groups.into_iter().rev() {
            let rows = new.batch.slice(start, end - start);
            // Rows that all fall between two chunks (or before the first) need no copy of an
            // existing chunk: they become a chunk of their own, merged with similar-sized
            // neighbours so that the chunk count stays small.
            let c = &self.chunks[ci];
            let gap_after = keys[start] > c.last();
            let gap_before = ci == 0 && keys[end - 1] < c.first();
            if gap_after || gap_before {
                let at = if gap_after { ci + 1 } else { 0 };
                out.inserted += (end - start) as u64;
                let pieces = split(rows)?;
                for p in &pieces {
                    self.rows += p.rows() as u64;
                    self.bytes += p.bytes;
                }
                self.chunks.splice(at..at, pieces);
                self.consolidate_near(at)?;
                continue;
            }
            let counts = merge_chunk(
                &self.chunks[ci],
                &rows,
                &keys[start..end],
                mode,
                &self.schema,
            )?;
            out.inserted += counts.inserted;
            out.replaced += counts.replaced;
            out.ignored += counts.ignored;
            if let Some(pieces) = counts.pieces {
                let old = &self.chunks[ci];
                self.rows -= old.rows() as u64;
                self.bytes -= old.bytes;
                for p in &pieces {
                    self.rows += p.rows() as u64;
                    self.bytes += p.bytes;
                }
                self.chunks.splice(ci..ci + 1, pieces);
            }
        }
        if tail_start < n {
            let tail = new.batch.slice(tail_start, n - tail_start);
            out.inserted += (n - tail_start) as u64;
            // A small tail (a one-row update) keeps the keys already taken from it.
            let pieces = if n - tail_start <= MAX_CHUNK_ROWS {
                vec![Chunk::with_keys(
                    tail,
                    keys.slice(tail_start, n - tail_start),
                )]
            } else {
                split(tail)?
            };
            for piece in pieces {
                self.rows += piece.rows() as u64;
                self.bytes += piece.bytes;
                self.chunks.push(piece);
            }
            self.consolidate_tail()?;
        }
        out.rows = self.rows;
        Ok(out)
    }

    /// Consolidates the tail after an append. Small chunks (one-row updates) first pile up, up
    /// to [`SMALL_TAIL_CHUNKS`] of them, and are then concatenated in one go: merging each row
    /// into the tail right away cost a concatenation of every column per row. Bigger chunks
    /// then merge like a binary counter: the last two while the older is no bigger than the
    /// newer.
    fn consolidate_tail(&mut self) -> Result<(), StoreError> {
        let small = self
            .chunks
            .iter()
            .rev()
            .take_while(|c| c.rows() < SMALL_TAIL_CHUNKS)
            .count();
        if small >= SMALL_TAIL_CHUNKS {
            self.merge_run(self.chunks.len() - small, self.chunks.len())?;
        } else if small > 0 {
            return Ok(());
        }
        while self.chunks.len() >= 2 {
            let len = self.chunks.len();
            let (p, l) = (self.chunks[len - 2].rows(), self.chunks[len - 1].rows());
            if p > l || p + l > MAX_CHUNK_ROWS {
                break;
            }
            self.merge_pair(len - 2)?;
        }
        Ok(())
    }

    /// Merges chunks next to position `at` while neighbours are of comparable size (the
    /// smaller at least half the larger), which keeps copies per row logarithmic.
    fn consolidate_near(&mut self, mut at: usize) -> Result<(), StoreError> {
        loop {
            let mut merged = false;
            for i in [at.saturating_sub(1), at] {
                if i + 1 >= self.chunks.len() {
                    continue;
                }
                let (a, b) = (self.chunks[i].rows(), self.chunks[i + 1].rows());
                if a + b <= MAX_CHUNK_ROWS && a.min(b) * 2 >= a.max(b) {
                    self.merge_pair(i)?;
                    at = i;
                    merged = true;
                    break;
                }
            }
            if !merged {
                return Ok(());
            }
        }
    }

    /// Replaces chunks `i` and `i + 1` (adjacent, ordered) by their concatenation.
    fn merge_pair(&mut self, i: usize) -> Result<(), StoreError> {
        self.merge_run(i, i + 2)
    }

    /// Replaces chunks `start..end` (adjacent, ordered) by their concatenation.
    fn merge_run(&mut self, start: usize, end: usize) -> Result<(), StoreError> {
        let run = &self.chunks[start..end];
        let parts = run
            .iter()
            .map(|c| conform(&c.batch, &self.schema))
            .collect::<Result<Vec<_>, _>>()?;
        let chunk = Chunk::new(concat_batches(&self.schema, &parts)?)?;
        let old: u64 = run.iter().map(|c| c.bytes).sum();
        self.bytes = self.bytes - old + chunk.bytes;
        self.chunks.splice(start..end, [chunk]);
        Ok(())
    }

    /// Rows with index in `lo..=hi`, as zero-copy slices conformed to the schema and projected.
    pub(crate) fn range(
        &self,
        lo: i64,
        hi: i64,
        columns: Option<&[usize]>,
    ) -> Result<Vec<RecordBatch>, StoreError> {
        let mut out = Vec::new();
        if lo > hi {
            return Ok(out);
        }
        let start = self.chunks.partition_point(|c| c.last() < lo);
        for c in &self.chunks[start..] {
            if c.first() > hi {
                break;
            }
            let s = c.keys.partition_point(|k| *k < lo);
            let e = c.keys.partition_point(|k| *k <= hi);
            if e > s {
                let slice = c.batch.slice(s, e - s);
                out.push(crate::schema::project(&slice, &self.schema, columns)?);
            }
        }
        Ok(out)
    }
}

struct Merged {
    inserted: u64,
    replaced: u64,
    ignored: u64,
    /// Replacement chunks, `None` when the chunk is unchanged.
    pieces: Option<Vec<Chunk>>,
}

fn merge_chunk(
    chunk: &Chunk,
    rows: &RecordBatch,
    keys: &[i64],
    mode: UpdateMode,
    schema: &SchemaRef,
) -> Result<Merged, StoreError> {
    let (mut inserted, mut replaced, mut ignored) = (0u64, 0u64, 0u64);
    let old = &chunk.keys;
    let mut order: Vec<(usize, usize)> = Vec::with_capacity(old.len() + keys.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() && j < keys.len() {
        if old[i] < keys[j] {
            order.push((0, i));
            i += 1;
        } else if old[i] > keys[j] {
            order.push((1, j));
            inserted += 1;
            j += 1;
        } else {
            match mode {
                UpdateMode::Append => {
                    order.push((0, i));
                    ignored += 1;
                }
                UpdateMode::Upsert => {
                    order.push((1, j));
                    replaced += 1;
                }
            }
            i += 1;
            j += 1;
        }
    }
    order.extend((i..old.len()).map(|i| (0, i)));
    inserted += (keys.len() - j) as u64;
    order.extend((j..keys.len()).map(|j| (1, j)));
    if inserted == 0 && replaced == 0 {
        return Ok(Merged {
            inserted,
            replaced,
            ignored,
            pieces: None,
        });
    }
    let a = conform(&chunk.batch, schema)?;
    let b = conform(rows, schema)?;
    let columns = (0..schema.fields().len())
        .map(|c| interleave(&[a.column(c).as_ref(), b.column(c).as_ref()], &order))
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    let merged = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(Merged {
        inserted,
        replaced,
        ignored,
        pieces: Some(split(merged)?),
    })
}

/// Cuts a sorted batch into chunks of at most [`MAX_CHUNK_ROWS`] rows.
fn split(batch: RecordBatch) -> Result<Vec<Chunk>, StoreError> {
    let n = batch.num_rows();
    if n <= MAX_CHUNK_ROWS {
        return Ok(vec![Chunk::new(batch)?]);
    }
    (0..n)
        .step_by(MAX_CHUNK_ROWS)
        .map(|s| Chunk::new(batch.slice(s, MAX_CHUNK_ROWS.min(n - s))))
        .collect()
}

/// Keeps only rows with index in `lo..=hi` (used when replaying the log onto a partial read).
pub(crate) fn filter_range(
    batch: &RecordBatch,
    index: usize,
    lo: i64,
    hi: i64,
) -> Result<RecordBatch, StoreError> {
    let name = batch.schema().field(index).name().clone();
    let keys = index_keys(&name, batch.column(index).as_ref())?;
    let mask: arrow::array::BooleanArray =
        keys.iter().map(|k| Some(*k >= lo && *k <= hi)).collect();
    Ok(arrow::compute::filter_record_batch(batch, &mask)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, as_primitive_array};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("t", DataType::Int64, false),
            Field::new("v", DataType::Int64, true),
        ]))
    }

    fn batch(rows: &[(i64, i64)]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap()
    }

    fn contents(f: &Rows) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for b in f.range(i64::MIN, i64::MAX, None).unwrap() {
            let t = as_primitive_array::<Int64Type>(b.column(0));
            let v = as_primitive_array::<Int64Type>(b.column(1));
            out.extend((0..b.num_rows()).map(|i| (t.value(i), v.value(i))));
        }
        out
    }

    fn apply(f: &mut Rows, rows: &[(i64, i64)], mode: UpdateMode) -> UpdateOutcome {
        let p = prepare(&conform(&batch(rows), f.schema()).unwrap(), mode).unwrap();
        f.apply(&p, mode).unwrap()
    }

    #[test]
    fn append_keeps_first_upsert_keeps_last() {
        let mut f = Rows::new(schema());
        let o = apply(&mut f, &[(3, 1), (1, 1), (3, 2)], UpdateMode::Append);
        assert_eq!((o.inserted, o.replaced, o.ignored, o.rows), (2, 0, 1, 2));
        assert_eq!(contents(&f), vec![(1, 1), (3, 1)]);
        let o = apply(&mut f, &[(3, 9), (2, 9), (3, 8)], UpdateMode::Upsert);
        assert_eq!((o.inserted, o.replaced, o.ignored, o.rows), (1, 2, 0, 3));
        assert_eq!(contents(&f), vec![(1, 1), (2, 9), (3, 8)]);
    }

    #[test]
    fn many_single_row_appends_stay_few_chunks() {
        let mut f = Rows::new(schema());
        for t in 0..5000 {
            apply(&mut f, &[(t, t)], UpdateMode::Append);
        }
        assert_eq!(f.num_rows(), 5000);
        assert!(f.chunks.len() <= 16, "{} chunks", f.chunks.len());
        let got = f.range(100, 199, None).unwrap();
        assert_eq!(got.iter().map(|b| b.num_rows()).sum::<usize>(), 100);
        assert_eq!(contents(&f).len(), 5000);
        assert_eq!(
            contents(&f).iter().map(|r| r.0).collect::<Vec<_>>(),
            (0..5000).collect::<Vec<_>>()
        );
        let small = f
            .chunks
            .iter()
            .filter(|c| c.rows() < SMALL_TAIL_CHUNKS)
            .count();
        assert!(small < SMALL_TAIL_CHUNKS, "{small} small chunks");
        assert_eq!(f.bytes(), f.chunks.iter().map(|c| c.bytes).sum::<u64>());
    }

    #[test]
    fn inserts_in_the_middle_and_front() {
        let mut f = Rows::new(schema());
        apply(
            &mut f,
            &(0..10).map(|t| (t * 10, t)).collect::<Vec<_>>(),
            UpdateMode::Append,
        );
        apply(&mut f, &[(200, 0)], UpdateMode::Append);
        apply(&mut f, &[(-5, 1), (15, 2), (150, 3)], UpdateMode::Append);
        let keys: Vec<i64> = contents(&f).iter().map(|r| r.0).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), 14);
        assert!(f.range(5, 4, None).unwrap().is_empty());
    }

    #[test]
    fn reverse_and_interleaved_inserts_stay_few_chunks() {
        let mut f = Rows::new(schema());
        for t in (0..3000).rev() {
            apply(&mut f, &[(t * 2, t)], UpdateMode::Append);
        }
        assert!(f.chunks.len() <= 24, "{} chunks", f.chunks.len());
        // Fill the gaps between existing rows, block by block from the back.
        for block in (0..30).rev() {
            let rows: Vec<(i64, i64)> = (0..100).map(|i| ((block * 100 + i) * 2 + 1, 0)).collect();
            apply(&mut f, &rows, UpdateMode::Append);
        }
        let keys: Vec<i64> = contents(&f).iter().map(|r| r.0).collect();
        assert_eq!(keys, (0..6000).collect::<Vec<_>>());
        assert!(f.chunks.windows(2).all(|w| w[0].last() < w[1].first()));
    }

    #[test]
    fn big_batches_split() {
        let mut f = Rows::new(schema());
        let rows: Vec<(i64, i64)> = (0..(MAX_CHUNK_ROWS as i64 * 2 + 5))
            .rev()
            .map(|t| (t, t))
            .collect();
        let o = apply(&mut f, &rows, UpdateMode::Append);
        assert_eq!(o.inserted as usize, rows.len());
        assert!(f.chunks.iter().all(|c| c.rows() <= MAX_CHUNK_ROWS));
        assert_eq!(f.first(), Some(0));
    }
}
