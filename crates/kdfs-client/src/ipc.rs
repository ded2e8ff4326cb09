//! Arrow IPC *stream* helpers: how record batches travel inside protocol messages.
//!
//! Each payload is a complete IPC stream (schema message, batches, end marker), so a payload
//! with no batches still tells the receiver the schema of an empty result.

use arrow::buffer::Buffer;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use arrow::ipc::convert::fb_to_schema;
use arrow::ipc::reader::{StreamDecoder, read_record_batch};
use arrow::ipc::root_as_message;
use arrow::ipc::writer::{
    DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions, StreamWriter,
    write_message,
};
use arrow::record_batch::RecordBatch;
use std::any::Any;
use std::collections::HashMap;
use std::ops::Range;
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

/// A record batch message of an IPC stream as it was received: the flatbuffer header
/// (`Message`, possibly followed by padding) and the body it describes.
#[derive(Debug, Clone)]
pub struct RawBatch {
    /// The message's flatbuffer metadata.
    pub header: Buffer,
    /// The message body (the batch's buffers).
    pub body: Buffer,
}

/// An IPC stream decoded by [`PayloadDecoder`].
#[derive(Debug)]
pub struct Decoded {
    /// The stream's schema.
    pub schema: SchemaRef,
    /// Its batches.
    pub batches: Vec<RecordBatch>,
    /// The message of the only batch, for streams of one schema message, one record batch
    /// message and the end marker (no dictionaries): the bytes the batch was decoded from.
    pub raw: Option<RawBatch>,
}

/// Decodes the IPC streams of one connection, remembering the last schema: a client sending
/// one-row updates repeats the same schema message every time, and parsing it cost as much as
/// the row. A different schema message is parsed (and remembered) as usual.
#[derive(Debug, Default)]
pub struct PayloadDecoder {
    /// The last schema message's flatbuffer bytes and its schema.
    last: Option<(Vec<u8>, SchemaRef)>,
}

impl PayloadDecoder {
    /// Decodes `bytes` like [`decode_vec`] (the same batches, errors and checks), and hands
    /// back the batch message of a single-batch stream.
    pub fn decode(&mut self, bytes: Vec<u8>) -> Result<Decoded, ArrowError> {
        let buffer = Buffer::from_vec(bytes);
        // arrow-ipc panics on some malformed messages (see `decode_buffer`); a panic here
        // just sends the bytes to the general decoder, which reports them as malformed.
        let single = std::panic::catch_unwind(AssertUnwindSafe(|| self.decode_single(&buffer)));
        if let Ok(Some(decoded)) = single {
            return Ok(decoded);
        }
        // Anything else (several batches, dictionaries, malformed bytes) takes the general
        // decoder, which also produces the error messages.
        let (schema, batches) = decode_buffer(buffer)?;
        Ok(Decoded {
            schema,
            batches,
            raw: None,
        })
    }

    /// The fast path: schema message, one record batch message, end marker (or end of bytes).
    /// `None` when the stream is anything else or does not decode.
    fn decode_single(&mut self, buffer: &Buffer) -> Option<Decoded> {
        let bytes = buffer.as_slice();
        let schema_meta = metadata_at(bytes, 0)?;
        // Schema messages have no body (checked before a schema is remembered).
        let schema = self.schema(&bytes[schema_meta.clone()])?;
        let meta = metadata_at(bytes, schema_meta.end)?;
        let message = root_as_message(&bytes[meta.clone()]).ok()?;
        let header = message.header_as_record_batch()?;
        let body_len = usize::try_from(message.bodyLength()).ok()?;
        let body = meta.end..meta.end.checked_add(body_len)?;
        if !is_end(bytes.get(body.end..)?) {
            return None;
        }
        let body_buffer = buffer.slice_with_length(body.start, body.len());
        let batch = read_record_batch(
            &body_buffer,
            header,
            Arc::clone(&schema),
            &HashMap::new(),
            None,
            &message.version(),
        )
        .ok()?;
        Some(Decoded {
            schema,
            batches: vec![batch],
            raw: Some(RawBatch {
                header: buffer.slice_with_length(meta.start, meta.len()),
                body: body_buffer,
            }),
        })
    }

    /// The schema of schema message `meta` (flatbuffer bytes), from the cache if it is the
    /// last one seen. `None` for anything but a body-less schema message without dictionary
    /// columns.
    fn schema(&mut self, meta: &[u8]) -> Option<SchemaRef> {
        if let Some((bytes, schema)) = &self.last
            && bytes.as_slice() == meta
        {
            return Some(Arc::clone(schema));
        }
        let message = root_as_message(meta).ok()?;
        if message.bodyLength() != 0 {
            return None;
        }
        let schema = Arc::new(fb_to_schema(message.header_as_schema()?));
        let has_dictionary = schema
            .flattened_fields()
            .iter()
            .any(|f| matches!(f.data_type(), DataType::Dictionary(..)));
        if has_dictionary {
            return None;
        }
        self.last = Some((meta.to_vec(), Arc::clone(&schema)));
        Some(schema)
    }
}

/// The range of the metadata of the message starting at `at` (with or without the
/// continuation marker); `None` if the bytes end before it does, or at an end marker.
fn metadata_at(bytes: &[u8], at: usize) -> Option<Range<usize>> {
    let word = |i: usize| -> Option<u32> {
        let b = bytes.get(i..i.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut at = at;
    let mut len = word(at)?;
    at += 4;
    if len == u32::MAX {
        len = word(at)?;
        at += 4;
    }
    if len == 0 {
        return None;
    }
    let meta = at..at.checked_add(len as usize)?;
    bytes.get(meta.clone())?;
    Some(meta)
}

/// Whether `rest` is an end-of-stream marker (with or without the continuation marker), or
/// nothing.
fn is_end(rest: &[u8]) -> bool {
    rest.is_empty() || rest == END_OF_STREAM || rest == [0, 0, 0, 0]
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
        let e = PayloadDecoder::default()
            .decode(bytes.to_vec())
            .unwrap_err();
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

    #[test]
    fn the_payload_decoder_decodes_what_decode_decodes() {
        let batch = sample();
        let mut decoder = PayloadDecoder::default();
        let one = encode_batch(&batch).unwrap();
        let first = decoder.decode(one.clone()).unwrap();
        assert_eq!(first.schema, batch.schema());
        assert_eq!(first.batches, vec![batch.clone()]);
        let raw = first.raw.expect("a single batch keeps its message");
        // The message is the stream's batch message: header and body as encoded.
        let tail = [raw.header.as_slice(), raw.body.as_slice(), &END_OF_STREAM].concat();
        assert!(one.ends_with(&tail));
        // The same schema again: the remembered one.
        let second = decoder
            .decode(encode_batch(&batch.slice(1, 1)).unwrap())
            .unwrap();
        assert!(Arc::ptr_eq(&second.schema, &first.schema));
        assert_eq!(second.batches, vec![batch.slice(1, 1)]);
        // Another schema: decoded, and remembered instead.
        let other = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("t", DataType::Int64, false)])),
            vec![Arc::new(Int64Array::from(vec![5]))],
        )
        .unwrap();
        let third = decoder.decode(encode_batch(&other).unwrap()).unwrap();
        assert_eq!(third.schema, other.schema());
        assert_eq!(third.batches, vec![other]);
        let fourth = decoder.decode(one).unwrap();
        assert_eq!(fourth.batches, vec![batch.clone()]);
        // Several batches, or none: the general decoder, no message.
        let two = encode(&batch.schema(), &[batch.clone(), batch.slice(0, 1)]).unwrap();
        let d = decoder.decode(two).unwrap();
        assert_eq!(d.batches, vec![batch.clone(), batch.slice(0, 1)]);
        assert!(d.raw.is_none());
        let none = decoder
            .decode(encode(&batch.schema(), &[]).unwrap())
            .unwrap();
        assert!(none.batches.is_empty() && none.raw.is_none());
        // Garbage and cut streams are errors, as with `decode`.
        assert!(decoder.decode(b"definitely not arrow".to_vec()).is_err());
        let full = encode_batch(&batch).unwrap();
        assert!(decoder.decode(full[..full.len() - 9].to_vec()).is_err());
        // Trailing bytes after the end marker are refused too.
        let mut trailing = full.clone();
        trailing.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            decoder.decode(trailing.clone()).is_err(),
            decode(&trailing).is_err()
        );
    }
}
