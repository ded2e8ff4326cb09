//! Plain data types of the public API: configuration, update modes and results, read results,
//! and the statistics the server reports.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::key::KeyPath;

/// Store configuration.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Bytes of frame data to keep in memory; least recently used frames are dropped beyond it.
    pub memory_budget: u64,
    /// A frame whose write log holds at least this many rows (and at least a quarter of the
    /// frame's rows) is folded into its Arrow file.
    pub compact_after_rows: u64,
    /// Most updates the committer folds into one redb commit.
    pub max_group: usize,
    /// A frame with unfolded log entries and no update for this long is compacted, so its
    /// Arrow file catches up and the log stays short.
    pub idle_compaction: std::time::Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            memory_budget: 1 << 30,
            compact_after_rows: 50_000,
            max_group: 4096,
            idle_compaction: std::time::Duration::from_secs(60),
        }
    }
}

/// What to do with a row whose index already exists in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateMode {
    /// Keep the stored row (first write wins).
    Append,
    /// Replace the stored row (last write wins).
    Upsert,
}

/// An update's batch as it was sent: one Arrow IPC record batch message, split into its
/// flatbuffer header (`Message`, padding allowed) and its body.
#[derive(Debug, Clone, Copy)]
pub struct SentBatch<'a> {
    /// The message's flatbuffer metadata.
    pub header: &'a [u8],
    /// The message body.
    pub body: &'a [u8],
}

/// Result of one update. `inserted + replaced + ignored` equals the rows sent, counted as if the
/// rows were applied one by one in the order given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Rows with an index new to the frame.
    pub inserted: u64,
    /// Rows that replaced a row with the same index (upsert only).
    pub replaced: u64,
    /// Rows dropped because their index already existed (append only).
    pub ignored: u64,
    /// Rows in the frame after the update.
    pub rows: u64,
}

/// Inclusive range on the index column, in the column's own unit. `None` is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RangeFilter {
    /// First index to include.
    pub start: Option<i64>,
    /// Last index to include.
    pub end: Option<i64>,
}

impl RangeFilter {
    /// The whole frame.
    pub fn all() -> Self {
        RangeFilter::default()
    }

    /// `start..=end`.
    pub fn between(start: i64, end: i64) -> Self {
        RangeFilter {
            start: Some(start),
            end: Some(end),
        }
    }

    pub(crate) fn lo(&self) -> i64 {
        self.start.unwrap_or(i64::MIN)
    }

    pub(crate) fn hi(&self) -> i64 {
        self.end.unwrap_or(i64::MAX)
    }
}

/// Rows read from a frame.
#[derive(Debug, Clone)]
pub struct FrameData {
    /// Schema of `batches` (the requested columns).
    pub schema: SchemaRef,
    /// Name of the frame's index column.
    pub index_column: String,
    /// Rows in ascending index order.
    pub batches: Vec<RecordBatch>,
}

impl FrameData {
    /// Total rows over all batches.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// Description of one stored frame.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    /// The key.
    pub key: KeyPath,
    /// Index column name.
    pub index_column: String,
    /// Current schema.
    pub schema: SchemaRef,
    /// Rows in the frame.
    pub rows: u64,
    /// Smallest index, if any row.
    pub first: Option<i64>,
    /// Largest index, if any row.
    pub last: Option<i64>,
    /// Size of the compacted Arrow file.
    pub disk_bytes: u64,
    /// Whether the frame's data is in memory.
    pub loaded: bool,
    /// Estimated bytes of the frame's data in memory (0 when not loaded).
    pub mem_bytes: u64,
}

/// Store-wide statistics.
#[derive(Debug, Clone, Default)]
pub struct StoreStats {
    /// Estimated bytes of frame data in memory.
    pub memory_used: u64,
    /// The memory budget.
    pub memory_max: u64,
    /// Number of frames.
    pub frames: u64,
    /// Rows over all frames.
    pub rows: u64,
    /// Bytes of compacted Arrow files.
    pub disk_bytes: u64,
    /// Frames in memory with their estimated bytes, sorted by key.
    pub loaded: Vec<(KeyPath, u64)>,
    /// Rows in the write log not yet folded into files.
    pub log_rows: u64,
    /// Compactions done since the store was opened.
    pub compactions: u64,
    /// Why writes are refused, once a durable write has failed (e.g. the disk filled up);
    /// `None` while the store accepts writes. Cleared only by reopening the store.
    pub write_failure: Option<String>,
}
