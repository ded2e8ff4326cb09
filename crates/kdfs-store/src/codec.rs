//! Byte encodings of what goes into redb: log records, schemas and catalog records.
//!
//! Batches and schemas use the Arrow IPC stream format (self-describing, checked on decode);
//! catalog records are serde structs in bincode's standard configuration.

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::types::UpdateMode;

/// What the catalog remembers about one frame (its schema is stored separately, because it
/// rarely changes while this record is rewritten on every commit).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CatalogRecord {
    /// Frame id: names the frame's log entries, and is written into its file.
    pub id: u64,
    /// Index column name.
    pub index_column: String,
    /// Rows after the last committed update.
    pub rows: u64,
    /// Smallest index.
    pub first: Option<i64>,
    /// Largest index.
    pub last: Option<i64>,
    /// Generation of the compacted file (0: none yet).
    pub generation: u64,
    /// Log sequence number folded into the file (entries up to it are in the file).
    pub file_seq: u64,
    /// Last log sequence number assigned.
    pub seq: u64,
    /// Rows in log entries not yet folded into the file.
    pub log_rows: u64,
    /// Size of the compacted file.
    pub disk_bytes: u64,
}

impl CatalogRecord {
    pub(crate) fn encode(&self) -> Result<Vec<u8>, StoreError> {
        bincode::serde::encode_to_vec(self, bincode::config::standard())
            .map_err(|e| StoreError::Corrupt(format!("cannot encode catalog record: {e}")))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<CatalogRecord, StoreError> {
        bincode::serde::decode_from_slice(bytes, bincode::config::standard())
            .map(|(r, _)| r)
            .map_err(|e| StoreError::Corrupt(format!("catalog record does not decode: {e}")))
    }
}

/// IPC stream bytes of `batch`.
pub(crate) fn encode_batch(batch: &RecordBatch) -> Result<Vec<u8>, StoreError> {
    let mut buf = Vec::with_capacity(256 + batch.get_array_memory_size());
    let mut w = StreamWriter::try_new(&mut buf, &batch.schema())?;
    w.write(batch)?;
    w.finish()?;
    drop(w);
    Ok(buf)
}

/// The single batch of IPC stream bytes.
pub(crate) fn decode_batch(bytes: &[u8]) -> Result<RecordBatch, StoreError> {
    let mut r = StreamReader::try_new(bytes, None)?;
    match r.next() {
        Some(b) => Ok(b?),
        None => Err(StoreError::Corrupt("log record holds no batch".into())),
    }
}

/// IPC stream bytes of a schema (no batches).
pub(crate) fn encode_schema(schema: &SchemaRef) -> Result<Vec<u8>, StoreError> {
    let mut buf = Vec::new();
    let mut w = StreamWriter::try_new(&mut buf, schema)?;
    w.finish()?;
    drop(w);
    Ok(buf)
}

/// Schema from [`encode_schema`] bytes.
pub(crate) fn decode_schema(bytes: &[u8]) -> Result<SchemaRef, StoreError> {
    Ok(StreamReader::try_new(bytes, None)?.schema())
}

/// A log entry: one update as sent, with its mode.
pub(crate) fn encode_log(mode: UpdateMode, batch: &RecordBatch) -> Result<Vec<u8>, StoreError> {
    let tag = match mode {
        UpdateMode::Append => 0u8,
        UpdateMode::Upsert => 1u8,
    };
    let mut out = vec![tag];
    out.extend_from_slice(&encode_batch(batch)?);
    Ok(out)
}

/// Inverse of [`encode_log`].
pub(crate) fn decode_log(bytes: &[u8]) -> Result<(UpdateMode, RecordBatch), StoreError> {
    let mode = match bytes.first() {
        Some(0) => UpdateMode::Append,
        Some(1) => UpdateMode::Upsert,
        _ => {
            return Err(StoreError::Corrupt(
                "log record has no valid mode tag".into(),
            ));
        }
    };
    Ok((mode, decode_batch(&bytes[1..])?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn round_trips() {
        let b = RecordBatch::try_from_iter(vec![
            ("t", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("x"), None])) as ArrayRef,
            ),
        ])
        .unwrap();
        let (m, back) = decode_log(&encode_log(UpdateMode::Upsert, &b).unwrap()).unwrap();
        assert_eq!(m, UpdateMode::Upsert);
        assert_eq!(back, b);
        assert_eq!(
            decode_schema(&encode_schema(&b.schema()).unwrap()).unwrap(),
            b.schema()
        );
        let r = CatalogRecord {
            id: 3,
            index_column: "t".into(),
            first: Some(-1),
            ..Default::default()
        };
        assert_eq!(CatalogRecord::decode(&r.encode().unwrap()).unwrap(), r);
        assert!(decode_log(&[7, 1, 2]).is_err());
    }
}
