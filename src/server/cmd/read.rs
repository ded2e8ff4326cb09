//! `Read`: stream a frame (or an index range / row range / some columns of it) as
//! `Batch`… `End`.
//!
//! The store read runs on a blocking thread and returns zero-copy slices; they are encoded
//! chunk by chunk as the socket takes them, so a large frame is never encoded all at once.

use arrow::record_batch::RecordBatch;
use kdfs_client::{CodecError, ErrorKind, Response, ipc};
use kdfs_store::RangeFilter;
use std::sync::Arc;
use std::time::Instant;

use super::{parse_key, store_error};
use crate::server::ServerState;
use crate::server::connection::Connection;

/// Rows per `Batch` message (before splitting further to fit the frame limit).
const CHUNK_ROWS: usize = 64 * 1024;
/// Room left in a frame for the message envelope around the IPC bytes.
pub(super) const ENVELOPE: usize = 1024;

/// What to read.
#[derive(Debug, Clone)]
pub struct ReadQuery {
    /// Key path.
    pub key: String,
    /// Smallest index (inclusive).
    pub start: Option<i64>,
    /// Largest index (inclusive).
    pub end: Option<i64>,
    /// Columns to return.
    pub columns: Option<Vec<String>>,
    /// Row-number range `[from, to)` within the index range.
    pub rows: Option<(u64, u64)>,
}

/// Serve a read, streaming the result to `conn`.
pub async fn run(
    state: &Arc<ServerState>,
    conn: &mut Connection,
    id: u64,
    query: ReadQuery,
) -> Result<(), CodecError> {
    let started = Instant::now();
    let key = match parse_key(&query.key) {
        Ok(k) => k,
        Err(reply) => return conn.write(id, reply).await,
    };
    if let Some((from, to)) = query.rows
        && from > to
    {
        let reply = Response::error(
            ErrorKind::BadRequest,
            format!("row range {from}..{to} is reversed; give FROM <= TO"),
        );
        return conn.write(id, reply).await;
    }
    let max_payload = conn.max_frame().saturating_sub(ENVELOPE).max(1);
    let store = Arc::clone(&state.store);
    // Only the store read runs on a blocking thread (it may load a frame from disk); it hands
    // back zero-copy slices and the thread is free again. Holding the thread while the socket
    // drained (as a streaming producer did) kept one thread per slow reader: 138 threads and
    // ~100 MiB of their allocator caches under 256 connections of range reads.
    let read = tokio::task::spawn_blocking(move || {
        let range = RangeFilter {
            start: query.start,
            end: query.end,
        };
        let data = store.read(&key, range, query.columns.as_deref())?;
        let batches = match query.rows {
            Some((from, to)) => slice_rows(&data.batches, from, to),
            None => data.batches,
        };
        Ok::<_, kdfs_store::StoreError>((data.schema, batches))
    })
    .await;
    let (schema, batches) = match read {
        Ok(Ok(data)) => data,
        Ok(Err(e)) => return conn.write(id, store_error(e)).await,
        Err(e) => return conn.write(id, super::task_error(e)).await,
    };
    let mut rows = 0u64;
    let mut sent_any = false;
    for batch in &batches {
        for chunk in chunks(batch) {
            let parts = match encode_chunk(chunk, max_payload).await {
                Ok(parts) => parts,
                Err(reply) => {
                    conn.feed(id, reply).await?;
                    return conn.flush().await;
                }
            };
            for (bytes, n) in parts {
                sent_any = true;
                rows += n;
                // `feed` writes out once the buffer is full, so the socket paces the encoding.
                conn.feed(id, Response::Batch { ipc: bytes }).await?;
            }
        }
    }
    super::end_stream(conn, id, &schema, sent_any, rows, started).await
}

/// Chunks up to this size are encoded right on the connection's task (microseconds); bigger
/// ones on a blocking thread, so a wide read never stalls the other connections of a worker.
const ENCODE_INLINE_BYTES: usize = 1 << 20;

/// [`encode_fitting`] for one chunk of a read.
async fn encode_chunk(chunk: RecordBatch, max: usize) -> Result<Vec<(Vec<u8>, u64)>, Response> {
    let size: usize = chunk
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(usize::MAX))
        .fold(0, usize::saturating_add);
    if size <= ENCODE_INLINE_BYTES {
        return encode_fitting(&chunk, max);
    }
    tokio::task::spawn_blocking(move || encode_fitting(&chunk, max))
        .await
        .map_err(super::task_error)?
}

/// Rows `[from, to)` of the concatenation of `batches`.
pub fn slice_rows(batches: &[RecordBatch], from: u64, to: u64) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let mut offset = 0u64;
    for batch in batches {
        let len = batch.num_rows() as u64;
        let lo = from.max(offset);
        let hi = to.min(offset + len);
        if lo < hi {
            out.push(batch.slice((lo - offset) as usize, (hi - lo) as usize));
        }
        offset += len;
        if offset >= to {
            break;
        }
    }
    out
}

/// Split a batch into pieces of at most [`CHUNK_ROWS`] rows.
fn chunks(batch: &RecordBatch) -> Vec<RecordBatch> {
    let n = batch.num_rows();
    (0..n)
        .step_by(CHUNK_ROWS)
        .map(|at| batch.slice(at, CHUNK_ROWS.min(n - at)))
        .collect()
}

/// Encode `batch`, halving it until every piece fits in `max` bytes.
pub(super) fn encode_fitting(
    batch: &RecordBatch,
    max: usize,
) -> Result<Vec<(Vec<u8>, u64)>, Response> {
    let bytes = ipc::encode_batch(batch)
        .map_err(|e| Response::error(ErrorKind::Internal, format!("cannot encode rows: {e}")))?;
    if bytes.len() <= max {
        return Ok(vec![(bytes, batch.num_rows() as u64)]);
    }
    let n = batch.num_rows();
    if n <= 1 {
        return Err(Response::error(
            ErrorKind::TooLarge,
            format!(
                "one row takes {} bytes, more than the frame limit of {max} bytes; \
                 raise the server's --max-frame or read fewer columns",
                bytes.len()
            ),
        ));
    }
    let half = n / 2;
    let mut parts = encode_fitting(&batch.slice(0, half), max)?;
    parts.extend(encode_fitting(&batch.slice(half, n - half), max)?);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(values: std::ops::Range<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("t", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(values))]).unwrap()
    }

    fn values(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                (0..a.len()).map(|i| a.value(i)).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn slice_rows_spans_batches() {
        let batches = vec![batch(0..5), batch(5..10), batch(10..15)];
        assert_eq!(
            values(&slice_rows(&batches, 3, 12)),
            (3..12).collect::<Vec<_>>()
        );
        assert_eq!(
            values(&slice_rows(&batches, 0, 100)),
            (0..15).collect::<Vec<_>>()
        );
        assert!(slice_rows(&batches, 20, 30).is_empty());
        assert!(slice_rows(&batches, 4, 4).is_empty());
    }

    #[test]
    fn encoding_splits_to_fit_the_frame_limit() {
        let big = batch(0..10_000);
        let whole = ipc::encode_batch(&big).unwrap().len();
        let parts = encode_fitting(&big, whole / 3).unwrap();
        assert!(parts.len() >= 4);
        assert!(parts.iter().all(|(bytes, _)| bytes.len() <= whole / 3));
        assert_eq!(parts.iter().map(|(_, n)| n).sum::<u64>(), 10_000);
        assert!(matches!(
            encode_fitting(&batch(0..1), 10),
            Err(Response::Error {
                kind: ErrorKind::TooLarge,
                ..
            })
        ));
    }
}
