//! Arrow IPC *stream* helpers: how record batches travel inside protocol messages.
//!
//! Each payload is a complete IPC stream (schema message, batches, end marker), so a payload
//! with no batches still tells the receiver the schema of an empty result.

use arrow::buffer::Buffer;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use arrow::ipc::reader::StreamDecoder;
use arrow::ipc::writer::{
    DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions, StreamWriter,
    write_message,
};
use arrow::record_batch::RecordBatch;
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// The end-of-stream marker: a continuation marker and a zero length.
const END_OF_STREAM: [u8; 8] = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];

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

/// Encodes single-batch IPC streams of one schema, building the schema message once: for a
/// one-row update the schema message cost as much as the row. Produces the same bytes as
/// [`encode_batch`].
#[derive(Debug)]
pub struct BatchEncoder {
    schema: SchemaRef,
    /// The stream's schema message; `None` when the schema has dictionary columns (their
    /// dictionaries travel in messages of their own), which are encoded by [`encode_batch`].
    head: Option<Vec<u8>>,
    options: IpcWriteOptions,
}

impl BatchEncoder {
    /// An encoder for batches of `schema`.
    pub fn new(schema: &SchemaRef) -> Result<BatchEncoder, ArrowError> {
        let has_dictionary = schema
            .flattened_fields()
            .iter()
            .any(|f| matches!(f.data_type(), DataType::Dictionary(..)));
        let head = if has_dictionary {
            None
        } else {
            // The stream of no batches is the schema message and the end marker.
            let mut empty = encode(schema, &[])?;
            if !empty.ends_with(&END_OF_STREAM) {
                return Err(ArrowError::IpcError(
                    "unexpected end of an Arrow IPC stream".into(),
                ));
            }
            empty.truncate(empty.len() - END_OF_STREAM.len());
            Some(empty)
        };
        Ok(BatchEncoder {
            schema: Arc::clone(schema),
            head,
            options: IpcWriteOptions::default(),
        })
    }

    /// Whether this encoder is for batches of `schema`.
    pub fn fits(&self, schema: &SchemaRef) -> bool {
        Arc::ptr_eq(schema, &self.schema) || **schema == *self.schema
    }

    /// The IPC stream of `batch` alone, like [`encode_batch`].
    pub fn encode(&self, batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
        let Some(head) = &self.head else {
            return encode_batch(batch);
        };
        if !self.fits(&batch.schema()) {
            return encode_batch(batch);
        }
        let (dictionaries, message) = IpcDataGenerator::default().encode(
            batch,
            &mut DictionaryTracker::new(false),
            &self.options,
            &mut IpcWriteContext::default(),
        )?;
        if !dictionaries.is_empty() {
            return encode_batch(batch);
        }
        let size = head.len() + message.ipc_message.len() + message.arrow_data.len() + 64;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(head);
        write_message(&mut out, message, &self.options)?;
        out.extend_from_slice(&END_OF_STREAM);
        Ok(out)
    }
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

/// [`decode_unguarded`] with the decoder's panics turned into errors.
///
/// arrow-ipc 59 panics on some malformed streams instead of returning an error: `unwrap` on
/// flatbuffer fields that are absent, `unimplemented!` for unknown type ids and zero-width
/// integers, buffers sliced past the end of the message body (found by the `ipc_decode` fuzz
/// target, see `fuzz/README.md`). Checking every such field ourselves would mean re-implementing
/// the decoder's reading of the format; instead its panics are contained here, the one place
/// network payloads are decoded. The decoder only touches the buffer and state it owns, so
/// nothing is left half-changed when it panics.
fn decode_buffer(buffer: Buffer) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    std::panic::catch_unwind(AssertUnwindSafe(|| decode_unguarded(buffer))).unwrap_or_else(
        |panic| {
            Err(ArrowError::IpcError(format!(
                "malformed Arrow IPC stream: {}",
                panic_message(panic.as_ref())
            )))
        },
    )
}

/// The message a panic was raised with.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "the decoder failed"
    }
}

fn decode_unguarded(mut buffer: Buffer) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
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
    fn the_batch_encoder_writes_what_the_stream_writer_writes() {
        let batch = sample();
        let encoder = BatchEncoder::new(&batch.schema()).unwrap();
        for b in [batch.clone(), batch.slice(1, 2), batch.slice(0, 0)] {
            assert_eq!(encoder.encode(&b).unwrap(), encode_batch(&b).unwrap());
        }
        // Another schema is encoded too, the slow way.
        let other = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("t", DataType::Int64, false)])),
            vec![Arc::new(Int64Array::from(vec![5]))],
        )
        .unwrap();
        assert!(!encoder.fits(&other.schema()));
        assert_eq!(
            encoder.encode(&other).unwrap(),
            encode_batch(&other).unwrap()
        );
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

    /// Streams found by the `ipc_decode` fuzz target on which arrow-ipc panics; each must be
    /// an error saying the stream is malformed.
    fn assert_malformed(bytes: &[u8]) {
        let e = decode(bytes).unwrap_err();
        assert!(e.to_string().contains("malformed Arrow IPC stream"), "{e}");
        let e = decode_vec(bytes.to_vec()).unwrap_err();
        assert!(e.to_string().contains("malformed Arrow IPC stream"), "{e}");
    }

    #[test]
    fn a_schema_field_without_its_type_is_an_error_not_a_panic() {
        // Minimized; arrow-ipc: "called `Option::unwrap()` on a `None` value" (convert.rs).
        assert_malformed(
            b" \0\0\0\x10\0\0\0(\x02\n\0\x0c\0\x06\0\x05\0\x08\0\n\0\0\0\0\x01\x04\xff\0\0\0\0\xff\xff\xff\0\0",
        );
    }

    #[test]
    fn a_field_of_type_none_is_an_error_not_a_panic() {
        // arrow-ipc: "not implemented: Type NONE not supported".
        assert_malformed(include_bytes!("../tests/malformed-ipc/type-none.bin"));
    }

    #[test]
    fn an_integer_of_unsupported_width_is_an_error_not_a_panic() {
        // arrow-ipc: "Int type with bit width of 15168 and signed of true not supported".
        assert_malformed(include_bytes!(
            "../tests/malformed-ipc/unsupported-integer-width.bin"
        ));
    }

    #[test]
    fn a_buffer_past_the_message_body_is_an_error_not_a_panic() {
        // arrow-buffer: "the offset of the new Buffer cannot exceed the existing length".
        assert_malformed(include_bytes!(
            "../tests/malformed-ipc/buffer-past-the-body.bin"
        ));
    }

    #[test]
    fn a_boolean_buffer_shorter_than_its_length_is_an_error_not_a_panic() {
        // arrow-buffer: "buffer not large enough (bit_offset: 0, bit_len: 3588490801876, ...)".
        assert_malformed(include_bytes!(
            "../tests/malformed-ipc/boolean-buffer-too-short.bin"
        ));
    }
}
