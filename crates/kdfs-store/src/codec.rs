//! Byte encodings of what goes into redb: log records, schemas and catalog records.
//!
//! Batches and schemas use the Arrow IPC stream format (self-describing, checked on decode);
//! catalog records are serde structs in bincode's standard configuration.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::buffer::Buffer;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::reader::{StreamReader, read_record_batch};
use arrow::ipc::writer::{
    DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions, StreamWriter,
};
use arrow::ipc::{MetadataVersion, root_as_message};
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

/// A log entry: one update (the batch conformed to the frame's schema) with its mode.
///
/// Two layouts, told apart by the first byte:
/// * `0`/`1` (append/upsert): an IPC stream, schema included. Written for schemas with
///   dictionary columns (whose dictionaries travel in their own messages), and by older
///   versions of the store.
/// * `2`/`3` (append/upsert): `[fields: u16 LE][header len: u32 LE][IPC record batch message
///   header][body]`, without the schema. A one-row update is then a few hundred bytes instead
///   of over a kilobyte (the schema message dominated it), and encoding skips the schema.
///   Decoding uses the first `fields` fields of the frame's schema: schemas only grow by
///   appending fields, so those are the fields the batch was written with.
pub(crate) fn encode_log(mode: UpdateMode, batch: &RecordBatch) -> Result<Vec<u8>, StoreError> {
    let upsert = u8::from(mode == UpdateMode::Upsert);
    let Some(fields) = prefix_fields(&batch.schema(), &batch.schema()) else {
        return full_entry(upsert, batch);
    };
    let options = IpcWriteOptions::try_new(8, false, MetadataVersion::V5)?;
    let (_, encoded) = IpcDataGenerator::default().encode(
        batch,
        &mut DictionaryTracker::new(false),
        &options,
        &mut IpcWriteContext::default(),
    )?;
    log_entry(mode, fields, &encoded.ipc_message, &encoded.arrow_data)
}

/// The number of fields of `batch`, when they are the first fields of the frame's `schema`
/// (same names and types, in order), without dictionary columns, and few enough for a log
/// entry of the schema-less layout; such a batch can be logged as its record batch message
/// alone (see [`encode_log`]).
pub(crate) fn prefix_fields(batch: &Schema, schema: &Schema) -> Option<u16> {
    let fields = u16::try_from(batch.fields().len()).ok()?;
    if batch.fields().len() > schema.fields().len() {
        return None;
    }
    let fits = batch.fields().iter().zip(schema.fields()).all(|(b, s)| {
        b.name() == s.name() && b.data_type() == s.data_type() && !has_dictionary(b.data_type())
    });
    fits.then_some(fields)
}

/// Whether `dt` is or holds a dictionary type.
fn has_dictionary(dt: &DataType) -> bool {
    match dt {
        DataType::Dictionary(..) => true,
        // Rare; flattening allocates, so flat types skip it.
        nested if nested.is_nested() => Schema::new(vec![Field::new("", nested.clone(), true)])
            .flattened_fields()
            .iter()
            .any(|f| matches!(f.data_type(), DataType::Dictionary(..))),
        _ => false,
    }
}

/// A log entry of the schema-less layout: a record batch message (flatbuffer `header`, and
/// `body`) of a batch holding the first `fields` fields of the frame's schema.
pub(crate) fn log_entry(
    mode: UpdateMode,
    fields: u16,
    header: &[u8],
    body: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let upsert = u8::from(mode == UpdateMode::Upsert);
    let header_len = u32::try_from(header.len())
        .map_err(|_| StoreError::Corrupt("record batch header too large".into()))?;
    let mut out = Vec::with_capacity(7 + header.len() + body.len());
    out.push(2 + upsert);
    out.extend_from_slice(&fields.to_le_bytes());
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    Ok(out)
}

fn full_entry(upsert: u8, batch: &RecordBatch) -> Result<Vec<u8>, StoreError> {
    let mut out = vec![upsert];
    out.extend_from_slice(&encode_batch(batch)?);
    Ok(out)
}

/// Inverse of [`encode_log`]; `schema` is the frame's current schema.
pub(crate) fn decode_log(
    bytes: &[u8],
    schema: &SchemaRef,
) -> Result<(UpdateMode, RecordBatch), StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("log record {what}"));
    let (&tag, rest) = bytes.split_first().ok_or_else(|| corrupt("is empty"))?;
    let mode = match tag {
        0 | 2 => UpdateMode::Append,
        1 | 3 => UpdateMode::Upsert,
        _ => return Err(corrupt("has no valid mode tag")),
    };
    if tag < 2 {
        return Ok((mode, decode_batch(rest)?));
    }
    if rest.len() < 6 {
        return Err(corrupt("is truncated"));
    }
    let fields = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
    let header_len = u32::from_le_bytes([rest[2], rest[3], rest[4], rest[5]]) as usize;
    let rest = &rest[6..];
    if rest.len() < header_len || fields > schema.fields().len() {
        return Err(corrupt("does not fit the frame's schema"));
    }
    let (header, body) = rest.split_at(header_len);
    let message = root_as_message(header)
        .map_err(|e| StoreError::Corrupt(format!("log record header: {e}")))?;
    let batch = message
        .header_as_record_batch()
        .ok_or_else(|| corrupt("holds no record batch"))?;
    let written = Arc::new(schema.project(&(0..fields).collect::<Vec<_>>())?);
    let batch = read_record_batch(
        &Buffer::from(body.to_vec()),
        batch,
        written,
        &HashMap::new(),
        None,
        &message.version(),
    )?;
    Ok((mode, batch))
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
        let (m, back) =
            decode_log(&encode_log(UpdateMode::Upsert, &b).unwrap(), &b.schema()).unwrap();
        assert_eq!(m, UpdateMode::Upsert);
        assert_eq!(back, b);
        // The old layout (a whole IPC stream) still decodes.
        let mut old = vec![0u8];
        old.extend_from_slice(&encode_batch(&b).unwrap());
        let (m, back) = decode_log(&old, &b.schema()).unwrap();
        assert_eq!((m, back), (UpdateMode::Append, b.clone()));
        // An entry written before the schema grew decodes against the grown schema.
        let grown = Arc::new(arrow::datatypes::Schema::new(
            b.schema()
                .fields()
                .iter()
                .cloned()
                .chain([Arc::new(arrow::datatypes::Field::new(
                    "z",
                    DataType::Float64,
                    true,
                ))])
                .collect::<Vec<_>>(),
        ));
        let (_, back) = decode_log(&encode_log(UpdateMode::Append, &b).unwrap(), &grown).unwrap();
        assert_eq!(back.num_columns(), 2);
        assert_eq!(back.column(1).as_ref(), b.column(1).as_ref());
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
        assert!(decode_log(&[7, 1, 2], &b.schema()).is_err());
        // A batch of a prefix of the frame's fields is logged by its message alone.
        let t = Arc::new(b.schema().project(&[0]).unwrap());
        assert_eq!(prefix_fields(&t, &b.schema()), Some(1));
        assert_eq!(prefix_fields(&b.schema(), &grown), Some(2));
        let swapped = b.schema().project(&[1, 0]).unwrap();
        assert_eq!(prefix_fields(&swapped, &b.schema()), None);
        assert_eq!(prefix_fields(&grown, &b.schema()), None);
        let dictionary = Schema::new(vec![Field::new(
            "t",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        )]);
        assert_eq!(prefix_fields(&dictionary, &dictionary), None);
        let nested = Schema::new(vec![Field::new_list(
            "l",
            Field::new_list_field(dictionary.field(0).data_type().clone(), true),
            true,
        )]);
        assert_eq!(prefix_fields(&nested, &nested), None);
        assert!(decode_log(&[2, 1, 0, 9, 0, 0, 0, 1], &b.schema()).is_err());
    }
}
