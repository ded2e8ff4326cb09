//! Arrow IPC *stream* helpers: how record batches travel inside protocol messages.
//!
//! Each payload is a complete IPC stream (schema message, batches, end marker), so a payload
//! with no batches still tells the receiver the schema of an empty result.

use arrow::buffer::Buffer;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::ipc::reader::StreamDecoder;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;

/// Encode `batches` (all of schema `schema`) as one Arrow IPC stream.
pub fn encode(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>, ArrowError> {
    // Sized up front: growing the buffer by doubling copied a large result several times.
    let mut buf = Vec::with_capacity(encoded_size_hint(schema, batches));
    {
        let mut writer = StreamWriter::try_new(&mut buf, schema)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
    }
    Ok(buf)
}

/// Encode one batch as an Arrow IPC stream.
pub fn encode_batch(batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
    encode(&batch.schema(), std::slice::from_ref(batch))
}

/// Roughly the size of the IPC stream of `batches`: their (sliced) buffers plus room for the
/// messages and the padding of every buffer.
fn encoded_size_hint(schema: &SchemaRef, batches: &[RecordBatch]) -> usize {
    let per_message = 256 + 64 * schema.fields().len();
    let data: usize = batches
        .iter()
        .flat_map(|b| b.columns())
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0) + 3 * 64)
        .sum();
    per_message * (batches.len() + 1) + data
}

/// [`decode`] for bytes the caller owns: the batches use them in place instead of a copy.
pub fn decode_vec(bytes: Vec<u8>) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    decode_buffer(Buffer::from_vec(bytes))
}

/// Decode an Arrow IPC stream into its schema and batches.
///
/// The bytes come from the network, so this uses the push decoder, which only ever holds bytes
/// it was given: `StreamReader` trusts the stream's length fields and allocates what they claim
/// (hundreds of megabytes for a few bytes of garbage, found by `tests/hostile.rs`).
pub fn decode(bytes: &[u8]) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    decode_buffer(Buffer::from(bytes))
}

fn decode_buffer(mut buffer: Buffer) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    let mut decoder = StreamDecoder::new();
    let mut batches = Vec::new();
    while let Some(batch) = decoder.decode(&mut buffer)? {
        batches.push(batch);
    }
    decoder.finish()?;
    let schema = decoder
        .schema()
        .ok_or_else(|| ArrowError::IpcError("the Arrow IPC stream has no schema".into()))?;
    Ok((schema, batches))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn sample() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("t", DataType::Int64, false),
            Field::new("c", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(Float64Array::from(vec![Some(1.5), None, Some(3.0)])),
                Arc::new(StringArray::from(vec!["a", "b", "c"])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn round_trip() {
        let batch = sample();
        let bytes = encode(&batch.schema(), &[batch.clone(), batch.slice(1, 2)]).unwrap();
        let (schema, batches) = decode(&bytes).unwrap();
        assert_eq!(schema, batch.schema());
        assert_eq!(batches, vec![batch.clone(), batch.slice(1, 2)]);
        let (schema, batches) = decode_vec(bytes).unwrap();
        assert_eq!(schema, batch.schema());
        assert_eq!(batches, vec![batch.clone(), batch.slice(1, 2)]);
    }

    #[test]
    fn empty_stream_keeps_schema() {
        let batch = sample();
        let bytes = encode(&batch.schema(), &[]).unwrap();
        let (schema, batches) = decode(&bytes).unwrap();
        assert_eq!(schema, batch.schema());
        assert!(batches.is_empty());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode(b"definitely not arrow").is_err());
        assert!(decode(b"").is_err());
    }

    #[test]
    fn lengths_claiming_more_than_was_sent_are_an_error_not_an_allocation() {
        // Continuation marker, then a metadata length of ~2 GB, then almost nothing.
        let mut bytes = vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
        bytes.extend_from_slice(&[0; 16]);
        assert!(decode(&bytes).is_err());
        // A valid stream cut short.
        let full = encode(&sample().schema(), &[sample()]).unwrap();
        assert!(decode(&full[..full.len() - 9]).is_err());
    }
}
