//! The narrow view of stored frames that the SQL engine needs.
//!
//! The engine never talks to the frame store directly: it asks a [`FrameSource`] which keys
//! exist and for the rows of one key within an index range. That keeps the SQL layer testable
//! with [`MemorySource`] and lets the store change its internals freely.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, RecordBatchOptions};
use arrow::datatypes::{
    DataType, Int64Type, SchemaRef, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt64Type,
};

/// Description of one stored frame, as the catalog knows it (no data is read to build it).
#[derive(Debug, Clone)]
pub struct FrameMeta {
    /// The key path, for example `historical/minute/AAPL`.
    pub key: String,
    /// Full schema of the frame, index column included.
    pub schema: SchemaRef,
    /// Name of the index column (sorted ascending, unique), usually `t`.
    pub index_column: String,
    /// Number of rows currently stored.
    pub rows: u64,
    /// Smallest index value, if the frame is not empty.
    pub index_min: Option<i64>,
    /// Largest index value, if the frame is not empty.
    pub index_max: Option<i64>,
}

/// An inclusive range on the index column; `None` leaves that side open.
///
/// Values are in the index column's own unit: the raw integer for `Int64`/`UInt64` indexes,
/// the timestamp's unit for `Timestamp` indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexRange {
    /// First index value to include.
    pub start: Option<i64>,
    /// Last index value to include.
    pub end: Option<i64>,
}

impl IndexRange {
    /// The range that includes every row.
    pub const ALL: IndexRange = IndexRange {
        start: None,
        end: None,
    };

    /// True when no index value can satisfy the range (start after end).
    pub fn is_empty(&self) -> bool {
        matches!((self.start, self.end), (Some(s), Some(e)) if s > e)
    }

    /// True when `v` lies within the range.
    pub fn contains(&self, v: i64) -> bool {
        self.start.is_none_or(|s| v >= s) && self.end.is_none_or(|e| v <= e)
    }

    /// The intersection of two ranges.
    pub fn intersect(self, other: IndexRange) -> IndexRange {
        let start = match (self.start, other.start) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let end = match (self.end, other.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        IndexRange { start, end }
    }
}

/// Failure to read a frame from the source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The key was listed but has since disappeared (deleted while the query ran).
    #[error("frame `{key}` does not exist (it may have been deleted); list keys and retry")]
    NotFound {
        /// The missing key.
        key: String,
    },
    /// The storage layer failed; the message says why.
    #[error("reading frame `{key}` failed: {message}")]
    Storage {
        /// The key being read.
        key: String,
        /// What went wrong.
        message: String,
    },
}

/// Batches of one scan, produced lazily so a large frame need not be held in memory at once.
pub type BatchIter = Box<dyn Iterator<Item = Result<RecordBatch, SourceError>> + Send>;

/// Read access to stored frames, as used by the SQL engine.
///
/// Implementations must be cheap to call from planning (`list`, `meta`) and may block in
/// `scan` and in the returned iterator (the engine calls those on a blocking thread).
pub trait FrameSource: Send + Sync + std::fmt::Debug {
    /// Frames whose key starts with `prefix` (plain string prefix; `""` lists every frame).
    fn list(&self, prefix: &str) -> Vec<FrameMeta>;

    /// The frame stored under exactly `key`, if any.
    fn meta(&self, key: &str) -> Option<FrameMeta>;

    /// Rows of `key` whose index lies in `range`, in index order.
    ///
    /// `projection` names the columns wanted (`None` = all). The engine looks columns up in
    /// the returned batches by name, so extra columns are ignored and a column missing from a
    /// batch (one stored before the schema gained it) reads as nulls. `limit` caps the number of rows (the first rows of the range).
    /// The range must be honoured exactly: the engine relies on it to skip re-filtering.
    fn scan(
        &self,
        key: &str,
        range: IndexRange,
        projection: Option<&[String]>,
        limit: Option<usize>,
    ) -> Result<BatchIter, SourceError>;
}

/// A frame held by [`MemorySource`].
#[derive(Debug, Clone)]
struct MemFrame {
    schema: SchemaRef,
    index_column: String,
    batches: Vec<RecordBatch>,
}

/// An in-memory [`FrameSource`], used by tests and benchmarks.
///
/// It counts the rows it hands out, so tests can check that filters were pushed down.
#[derive(Debug, Default)]
pub struct MemorySource {
    frames: RwLock<BTreeMap<String, MemFrame>>,
    rows_scanned: AtomicU64,
    scans: AtomicU64,
    last_projection: Mutex<Option<Vec<String>>>,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores (or replaces) `key` with the given batches, which must be sorted by a unique
    /// `index_column` of integer or timestamp type.
    pub fn insert(
        &self,
        key: &str,
        index_column: &str,
        batches: Vec<RecordBatch>,
    ) -> Result<(), SourceError> {
        let invalid = |message: String| SourceError::Storage {
            key: key.to_string(),
            message,
        };
        let Some(first) = batches.first() else {
            return Err(invalid("a frame needs at least one batch".into()));
        };
        let schema = first.schema();
        let field = schema
            .field_with_name(index_column)
            .map_err(|_| invalid(format!("no index column `{index_column}`")))?;
        if !is_index_type(field.data_type()) {
            return Err(invalid(format!(
                "index column `{index_column}` has type {}, expected an integer or timestamp",
                field.data_type()
            )));
        }
        let frame = MemFrame {
            schema,
            index_column: index_column.to_string(),
            batches,
        };
        self.frames
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), frame);
        Ok(())
    }

    /// Total rows handed out by `scan` since creation or the last [`reset_counters`](Self::reset_counters).
    pub fn rows_scanned(&self) -> u64 {
        self.rows_scanned.load(Ordering::Relaxed)
    }

    /// Number of `scan` calls since creation or the last reset.
    pub fn scans(&self) -> u64 {
        self.scans.load(Ordering::Relaxed)
    }

    /// The projection passed to the most recent `scan`.
    pub fn last_projection(&self) -> Option<Vec<String>> {
        self.last_projection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Zeroes the scan counters.
    pub fn reset_counters(&self) {
        self.rows_scanned.store(0, Ordering::Relaxed);
        self.scans.store(0, Ordering::Relaxed);
    }

    fn meta_of(key: &str, f: &MemFrame) -> FrameMeta {
        let mut rows = 0u64;
        let mut min = None;
        let mut max = None;
        for b in &f.batches {
            rows += b.num_rows() as u64;
            if let Some(col) = b.column_by_name(&f.index_column)
                && !col.is_empty()
            {
                if min.is_none() {
                    min = index_at(col, 0);
                }
                max = index_at(col, col.len() - 1).or(max);
            }
        }
        FrameMeta {
            key: key.to_string(),
            schema: Arc::clone(&f.schema),
            index_column: f.index_column.clone(),
            rows,
            index_min: min,
            index_max: max,
        }
    }
}

/// Whether a column of type `dt` can serve as a frame index.
pub fn is_index_type(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int64 | DataType::UInt64 | DataType::Timestamp(_, _)
    )
}

/// The index value at row `i` as `i64`, or `None` for other types or out-of-range rows.
fn index_at(col: &ArrayRef, i: usize) -> Option<i64> {
    if i >= col.len() {
        return None;
    }
    match col.data_type() {
        DataType::Int64 => Some(col.as_primitive::<Int64Type>().value(i)),
        DataType::UInt64 => i64::try_from(col.as_primitive::<UInt64Type>().value(i)).ok(),
        DataType::Timestamp(_, _) => {
            let one = arrow::compute::cast(&col.slice(i, 1), &DataType::Int64).ok()?;
            Some(one.as_primitive::<Int64Type>().value(0))
        }
        _ => None,
    }
}

/// The half-open row span `[lo, hi)` of a sorted index column that falls within `range`.
///
/// Binary search on the column's values, so nothing is copied; `None` for non-index types.
pub fn range_bounds(col: &ArrayRef, range: IndexRange) -> Option<(usize, usize)> {
    fn bounds<T: Copy>(vals: &[T], range: IndexRange, conv: impl Fn(T) -> i64) -> (usize, usize) {
        let lo = range
            .start
            .map_or(0, |s| vals.partition_point(|v| conv(*v) < s));
        let hi = range
            .end
            .map_or(vals.len(), |e| vals.partition_point(|v| conv(*v) <= e));
        (lo, hi.max(lo))
    }
    match col.data_type() {
        DataType::Int64 => Some(bounds(
            col.as_primitive::<Int64Type>().values(),
            range,
            |v| v,
        )),
        DataType::Timestamp(unit, _) => {
            let vals = match unit {
                TimeUnit::Second => col.as_primitive::<TimestampSecondType>().values(),
                TimeUnit::Millisecond => col.as_primitive::<TimestampMillisecondType>().values(),
                TimeUnit::Microsecond => col.as_primitive::<TimestampMicrosecondType>().values(),
                TimeUnit::Nanosecond => col.as_primitive::<TimestampNanosecondType>().values(),
            };
            Some(bounds(vals, range, |v| v))
        }
        DataType::UInt64 => {
            let vals = col.as_primitive::<UInt64Type>().values();
            Some(bounds(vals, range, |v| {
                i64::try_from(v).unwrap_or(i64::MAX)
            }))
        }
        _ => None,
    }
}

impl FrameSource for MemorySource {
    fn list(&self, prefix: &str) -> Vec<FrameMeta> {
        let frames = self.frames.read().unwrap_or_else(|p| p.into_inner());
        frames
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, f)| Self::meta_of(k, f))
            .collect()
    }

    fn meta(&self, key: &str) -> Option<FrameMeta> {
        let frames = self.frames.read().unwrap_or_else(|p| p.into_inner());
        frames.get(key).map(|f| Self::meta_of(key, f))
    }

    fn scan(
        &self,
        key: &str,
        range: IndexRange,
        projection: Option<&[String]>,
        limit: Option<usize>,
    ) -> Result<BatchIter, SourceError> {
        let frame = {
            let frames = self.frames.read().unwrap_or_else(|p| p.into_inner());
            frames
                .get(key)
                .cloned()
                .ok_or_else(|| SourceError::NotFound {
                    key: key.to_string(),
                })?
        };
        self.scans.fetch_add(1, Ordering::Relaxed);
        *self
            .last_projection
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = projection.map(<[String]>::to_vec);
        let storage = |message: String| SourceError::Storage {
            key: key.to_string(),
            message,
        };
        let mut out = Vec::new();
        let mut remaining = limit.unwrap_or(usize::MAX);
        for batch in &frame.batches {
            if remaining == 0 || range.is_empty() {
                break;
            }
            let (lo, hi) = batch
                .column_by_name(&frame.index_column)
                .and_then(|c| range_bounds(c, range))
                .ok_or_else(|| storage("index column missing or not an integer".into()))?;
            if hi <= lo {
                continue;
            }
            let len = (hi - lo).min(remaining);
            let sliced = batch.slice(lo, len);
            let projected = match projection {
                None => sliced,
                Some(cols) => {
                    let mut fields = Vec::with_capacity(cols.len());
                    let mut arrays = Vec::with_capacity(cols.len());
                    for name in cols {
                        // A column the frame gained later is absent from older batches.
                        let Ok(i) = sliced.schema().index_of(name) else {
                            continue;
                        };
                        fields.push(sliced.schema().field(i).clone());
                        arrays.push(Arc::clone(sliced.column(i)));
                    }
                    let schema = Arc::new(arrow::datatypes::Schema::new(fields));
                    let opts = RecordBatchOptions::new().with_row_count(Some(len));
                    RecordBatch::try_new_with_options(schema, arrays, &opts)
                        .map_err(|e| storage(e.to_string()))?
                }
            };
            remaining -= len;
            self.rows_scanned.fetch_add(len as u64, Ordering::Relaxed);
            out.push(Ok(projected));
        }
        Ok(Box::new(out.into_iter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_intersection_and_emptiness() {
        let a = IndexRange {
            start: Some(5),
            end: None,
        };
        let b = IndexRange {
            start: Some(2),
            end: Some(9),
        };
        let c = a.intersect(b);
        assert_eq!(
            c,
            IndexRange {
                start: Some(5),
                end: Some(9)
            }
        );
        assert!(c.contains(5) && c.contains(9) && !c.contains(10) && !c.contains(4));
        assert!(!c.is_empty());
        assert!(
            c.intersect(IndexRange {
                start: Some(10),
                end: None
            })
            .is_empty()
        );
        assert!(IndexRange::ALL.contains(i64::MIN));
    }

    #[test]
    fn memory_source_validates_and_slices_by_range() {
        use arrow::array::{Float64Array, Int64Array};
        use arrow::datatypes::{Field, Schema};
        let schema = Arc::new(Schema::new(vec![
            Field::new("t", DataType::Int64, false),
            Field::new("x", DataType::Float64, false),
        ]));
        let batch = |ts: Vec<i64>| {
            let xs: Vec<f64> = ts.iter().map(|t| *t as f64).collect();
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from(ts)),
                    Arc::new(Float64Array::from(xs)),
                ],
            )
            .unwrap()
        };
        let src = MemorySource::new();
        assert!(src.insert("k", "t", vec![]).is_err());
        assert!(src.insert("k", "nope", vec![batch(vec![1])]).is_err());
        assert!(src.insert("k", "x", vec![batch(vec![1])]).is_err());
        src.insert("k", "t", vec![batch(vec![1, 3, 5]), batch(vec![7, 9])])
            .unwrap();
        let m = src.meta("k").unwrap();
        assert_eq!((m.rows, m.index_min, m.index_max), (5, Some(1), Some(9)));
        let range = IndexRange {
            start: Some(2),
            end: Some(7),
        };
        let got: Vec<i64> = src
            .scan("k", range, Some(&["t".to_string()]), None)
            .unwrap()
            .flat_map(|b| {
                let b = b.unwrap();
                assert_eq!(b.num_columns(), 1);
                b.column(0).as_primitive::<Int64Type>().values().to_vec()
            })
            .collect();
        assert_eq!(got, [3, 5, 7]);
        assert_eq!(src.rows_scanned(), 3);
        let limited: usize = src
            .scan("k", IndexRange::ALL, None, Some(4))
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(limited, 4);
        assert!(matches!(
            src.scan("other", IndexRange::ALL, None, None),
            Err(SourceError::NotFound { .. })
        ));
    }
}
