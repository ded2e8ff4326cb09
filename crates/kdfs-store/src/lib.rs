//! Durable frame store for kdfs.
//!
//! A *frame* is an Arrow schema plus rows, with one index column (Int64, UInt64 or Timestamp)
//! kept sorted and unique. Frames live under a directory:
//!
//! * `<dir>/kdfs.redb` — redb database: the catalog (key → schema, index column, rows, index
//!   range, file generation) and the durable write log of recent updates;
//! * `<dir>/<key>.arrow` — compacted rows in Arrow IPC file format (e.g.
//!   `<dir>/historical/minute/AAPL.arrow`), readable by pyarrow and polars.
//!
//! Updates are O(batch): [`FrameStore::update`] merges the batch into the frame in memory,
//! appends it to the log, and resolves once a group commit made it durable. A background
//! compactor folds the log into the Arrow file. [`FrameStore::open`] needs no separate recovery:
//! each frame is rebuilt from its file plus the log entries the file does not hold yet.
//!
//! Reads may see updates that are still being committed (they are acknowledged only once
//! durable). A frame's data is held in memory under a byte budget with LRU eviction; a frame
//! larger than the budget is read range by range from its file instead.
#![warn(missing_docs)]

mod cache;
mod catalog;
mod codec;
mod commit;
mod compaction;
mod entry;
mod error;
mod file;
mod frame;
mod key;
mod log;
mod schema;
mod store;
mod types;
mod write;

pub use catalog::DB_CACHE_BYTES;
pub use error::StoreError;
pub use key::{KeyPath, MAX_KEY_BYTES, MAX_SEGMENTS};
pub use store::FrameStore;
pub use types::{
    FrameData, KeyInfo, RangeFilter, SentBatch, StoreConfig, StoreStats, UpdateMode, UpdateOutcome,
};
pub use write::PendingUpdate;
