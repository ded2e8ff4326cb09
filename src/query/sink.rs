//! The narrow write access server-side Klong needs: `.put(key;dict)` stores a frame.
//!
//! Like [`FrameSource`](crate::sql::FrameSource) for reads, the trait keeps the interpreter
//! testable without a store: [`MemorySource`] implements it for tests, the frame store for
//! the server.

use std::collections::BTreeMap;

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::interleave_record_batch;
use arrow::datatypes::{DataType, Int64Type};

use crate::sql::{FrameSource, IndexRange, MemorySource};

/// Why a frame could not be written.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SinkError {
    /// The data or key was refused (bad key, type conflict with the stored frame, bad index);
    /// the message says what to change.
    #[error("cannot store frame `{key}`: {message}")]
    Rejected {
        /// The key being written.
        key: String,
        /// What was wrong.
        message: String,
    },
    /// The storage layer failed.
    #[error("storing frame `{key}` failed: {message}")]
    Storage {
        /// The key being written.
        key: String,
        /// What went wrong.
        message: String,
    },
}

/// Write access to stored frames, as used by `.put`.
#[async_trait::async_trait]
pub trait FrameSink: Send + Sync + std::fmt::Debug {
    /// Merges `batch` into frame `key` (created if absent) by its `index_column`, the new
    /// rows replacing stored rows with the same index (upsert). Resolves once the write is
    /// durable, with the number of rows the frame holds afterwards.
    async fn upsert(
        &self,
        key: &str,
        index_column: &str,
        batch: RecordBatch,
    ) -> Result<u64, SinkError>;
}

#[async_trait::async_trait]
impl FrameSink for MemorySource {
    async fn upsert(
        &self,
        key: &str,
        index_column: &str,
        batch: RecordBatch,
    ) -> Result<u64, SinkError> {
        let rejected = |message: String| SinkError::Rejected {
            key: key.to_string(),
            message,
        };
        let mut batches: Vec<RecordBatch> = match self.meta(key) {
            Some(meta) => {
                if meta.schema != batch.schema() {
                    return Err(rejected(format!(
                        "schema {:?} differs from the stored {:?}",
                        batch.schema(),
                        meta.schema
                    )));
                }
                self.scan(key, IndexRange::ALL, None, None)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| SinkError::Storage {
                        key: key.to_string(),
                        message: e.to_string(),
                    })?
            }
            None => Vec::new(),
        };
        batches.push(batch);
        // Last write wins: later batches overwrite earlier rows with the same index.
        let mut rows: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
        for (bi, b) in batches.iter().enumerate() {
            let col = b
                .column_by_name(index_column)
                .ok_or_else(|| rejected(format!("no index column `{index_column}`")))?;
            if col.data_type() != &DataType::Int64 {
                return Err(rejected("the test sink supports Int64 indexes only".into()));
            }
            for (ri, t) in col.as_primitive::<Int64Type>().values().iter().enumerate() {
                rows.insert(*t, (bi, ri));
            }
        }
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        let order: Vec<(usize, usize)> = rows.into_values().collect();
        let merged = interleave_record_batch(&refs, &order).map_err(|e| rejected(e.to_string()))?;
        let n = merged.num_rows() as u64;
        self.insert(key, index_column, vec![merged])
            .map_err(|e| rejected(e.to_string()))?;
        Ok(n)
    }
}
