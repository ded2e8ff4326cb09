//! Framing: a u32 big-endian length prefix (the layout tokio-util's `LengthDelimitedCodec`
//! uses) around one bincode-encoded message.
//!
//! [`MessageCodec`] is generic over what it reads and writes so the client
//! (`MessageCodec<ResponseFrame, RequestFrame>`) and the server (the reverse) share one
//! implementation. Frames larger than the configured maximum are refused on both sides with
//! [`CodecError::FrameTooLarge`], before any of their bytes are buffered.

use bincode::enc::write::{SizeWriter, Writer};
use bytes::{Buf, BufMut, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use tokio_util::codec::{Decoder, Encoder};

use crate::protocol::{DEFAULT_MAX_FRAME, RequestFrame, ResponseFrame};

/// Codec a client uses: reads responses, writes requests.
pub type ClientCodec = MessageCodec<ResponseFrame, RequestFrame>;
/// Codec a server uses: reads requests, writes responses.
pub type ServerCodec = MessageCodec<RequestFrame, ResponseFrame>;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The socket failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A frame is larger than the configured maximum.
    #[error(
        "frame of {size} bytes exceeds the maximum of {max} bytes \
         (raise --max-frame, or send smaller batches / read smaller ranges)"
    )]
    FrameTooLarge {
        /// Size of the offending frame.
        size: u64,
        /// The configured maximum.
        max: usize,
    },
    /// The frame's bytes are not a valid message.
    #[error("undecodable message: {0}")]
    Decode(String),
    /// The message could not be encoded.
    #[error("cannot encode message: {0}")]
    Encode(String),
}

/// Length-delimited bincode codec reading `In` and writing `Out`.
#[derive(Debug)]
pub struct MessageCodec<In, Out> {
    max_frame: usize,
    /// Bytes of the complete frames taken out of read buffers so far (prefixes and bodies).
    consumed: u64,
    _types: PhantomData<fn(Out) -> In>,
}

impl<In, Out> MessageCodec<In, Out> {
    /// A codec with the default 256 MiB frame limit.
    pub fn new() -> Self {
        Self::with_max_frame(DEFAULT_MAX_FRAME)
    }

    /// A codec refusing frames larger than `max_frame` bytes (capped at `u32::MAX`, the largest
    /// length the prefix can carry).
    pub fn with_max_frame(max_frame: usize) -> Self {
        let max_frame = max_frame.min(u32::MAX as usize);
        MessageCodec {
            max_frame,
            consumed: 0,
            _types: PhantomData,
        }
    }

    /// The frame limit in bytes.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// Bytes received so far, given the `buffered` bytes not yet decoded (the length of the
    /// read buffer). Grows whenever bytes arrive, so a reader can tell a stalled peer.
    pub fn bytes_received(&self, buffered: usize) -> u64 {
        self.consumed + buffered as u64
    }

    /// Whether part of a frame has arrived but not all of it (`buffered` as above).
    pub fn mid_frame(&self, buffered: usize) -> bool {
        // Nothing is taken out of the buffer before its whole frame is there.
        buffered > 0
    }
}

impl<In, Out> Default for MessageCodec<In, Out> {
    fn default() -> Self {
        Self::new()
    }
}

impl<In: DeserializeOwned, Out> Decoder for MessageCodec<In, Out> {
    type Item = In;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<In>, CodecError> {
        // Framing is done here rather than by `LengthDelimitedCodec::decode`, which consumes
        // the prefix of an incomplete frame and keeps its length as hidden state: the prefix
        // would then not be where this check looks for it. Nothing is consumed until the
        // whole frame is there.
        if src.len() < 4 {
            return Ok(None);
        }
        let size = u64::from((&src[..4]).get_u32());
        if size > self.max_frame as u64 {
            return Err(CodecError::FrameTooLarge {
                size,
                max: self.max_frame,
            });
        }
        // `size` ≤ `max_frame` ≤ u32::MAX, so this fits a usize.
        let total = 4 + size as usize;
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        src.advance(4);
        let frame = src.split_to(size as usize);
        self.consumed += total as u64;
        decode_message(&frame).map(Some)
    }
}

impl<In, Out: Serialize> Encoder<Out> for MessageCodec<In, Out> {
    type Error = CodecError;

    fn encode(&mut self, item: Out, dst: &mut BytesMut) -> Result<(), CodecError> {
        // Measure first, then encode straight into the output buffer: a read result is
        // hundreds of kilobytes, and going through a growing `Vec` copied it several times.
        let mut size = SizeWriter::default();
        bincode::serde::encode_into_writer(&item, &mut size, bincode::config::standard())
            .map_err(|e| CodecError::Encode(e.to_string()))?;
        let size = size.bytes_written;
        if size > self.max_frame {
            return Err(CodecError::FrameTooLarge {
                size: size as u64,
                max: self.max_frame,
            });
        }
        // `size` ≤ `max_frame` ≤ u32::MAX.
        let prefix = u32::try_from(size).map_err(|_| CodecError::FrameTooLarge {
            size: size as u64,
            max: self.max_frame,
        })?;
        let start = dst.len();
        dst.reserve(4 + size);
        dst.put_u32(prefix);
        let written = bincode::serde::encode_into_writer(
            &item,
            BytesWriter(dst),
            bincode::config::standard(),
        );
        if let Err(e) = written {
            dst.truncate(start);
            return Err(CodecError::Encode(e.to_string()));
        }
        if dst.len() - start != 4 + size {
            dst.truncate(start);
            return Err(CodecError::Encode(
                "message size changed while encoding".into(),
            ));
        }
        Ok(())
    }
}

/// bincode output appended to a `BytesMut`.
struct BytesWriter<'a>(&'a mut BytesMut);

impl Writer for BytesWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Encode one message body (without the length prefix).
pub fn encode_message<T: Serialize>(message: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(message, bincode::config::standard())
        .map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decode one message body (without the length prefix); trailing bytes are an error.
pub fn decode_message<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (message, used) = decode_limited(bytes).map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::Decode(format!(
            "{} trailing bytes after the message",
            bytes.len() - used
        )));
    }
    Ok(message)
}

/// bincode trusts the length fields of what it decodes and allocates what they claim (a few
/// garbage bytes claiming a 4 EB string abort the process, found by `tests/hostile.rs`) unless
/// its configuration has a limit. The limit must be a constant: pick the smallest of a few
/// that is at least 32 times the message size (a one-byte length field can claim a 24-byte
/// `String` in a list), so a frame can make the decoder reserve at most ~32× its own size.
fn decode_limited<T: DeserializeOwned>(
    bytes: &[u8],
) -> Result<(T, usize), bincode::error::DecodeError> {
    use bincode::serde::decode_from_slice as decode;
    let config = bincode::config::standard();
    let need = bytes.len().saturating_mul(32);
    if need <= 1 << 12 {
        decode(bytes, config.with_limit::<{ 1 << 12 }>())
    } else if need <= 1 << 16 {
        decode(bytes, config.with_limit::<{ 1 << 16 }>())
    } else if need <= 1 << 20 {
        decode(bytes, config.with_limit::<{ 1 << 20 }>())
    } else if need <= 1 << 24 {
        decode(bytes, config.with_limit::<{ 1 << 24 }>())
    } else if need <= 1 << 28 {
        decode(bytes, config.with_limit::<{ 1 << 28 }>())
    } else if need <= 1 << 32 {
        decode(bytes, config.with_limit::<{ 1 << 32 }>())
    } else {
        decode(bytes, config.with_limit::<{ 1 << 37 }>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ErrorKind, Request, Response};

    #[test]
    fn round_trip_request_and_response() {
        let mut client = ClientCodec::new();
        let mut server = ServerCodec::new();
        let request = RequestFrame {
            id: 7,
            request: Request::Read {
                key: "historical/minute/AAPL".into(),
                start: Some(-5),
                end: None,
                columns: Some(vec!["t".into(), "c".into()]),
                rows: Some((1, 10)),
            },
        };
        let mut wire = BytesMut::new();
        client.encode(request.clone(), &mut wire).unwrap();
        // A partial frame decodes to nothing yet, however often it is tried, and two frames
        // arriving in pieces both decode (pipelined requests do that).
        let mut partial = wire.split_to(wire.len() - 1);
        assert_eq!(server.decode(&mut partial).unwrap(), None);
        assert_eq!(server.decode(&mut partial).unwrap(), None);
        partial.unsplit(wire);
        let mut two = BytesMut::new();
        client.encode(request.clone(), &mut two).unwrap();
        partial.extend_from_slice(&two[..3]);
        assert_eq!(server.decode(&mut partial).unwrap(), Some(request.clone()));
        assert_eq!(server.decode(&mut partial).unwrap(), None);
        partial.extend_from_slice(&two[3..10]);
        assert_eq!(server.decode(&mut partial).unwrap(), None);
        partial.extend_from_slice(&two[10..]);
        assert_eq!(server.decode(&mut partial).unwrap(), Some(request));
        assert!(partial.is_empty());

        let response = ResponseFrame {
            id: 7,
            response: Response::error(ErrorKind::NotFound, "no such key"),
        };
        let mut wire = BytesMut::new();
        server.encode(response.clone(), &mut wire).unwrap();
        assert_eq!(client.decode(&mut wire).unwrap(), Some(response));
    }

    #[test]
    fn counts_bytes_and_knows_when_a_frame_is_incomplete() {
        let mut client = ClientCodec::new();
        let mut server = ServerCodec::new();
        let mut wire = BytesMut::new();
        let ping = RequestFrame {
            id: 1,
            request: Request::Ping,
        };
        client.encode(ping.clone(), &mut wire).unwrap();
        let total = wire.len();
        let mut buf = BytesMut::new();
        assert!(!server.mid_frame(buf.len()));
        // Byte by byte: every byte counts, and the frame is incomplete until the last one,
        // including right after the length prefix was taken out of the buffer.
        for (i, byte) in wire.iter().enumerate() {
            buf.extend_from_slice(&[*byte]);
            let decoded = server.decode(&mut buf).unwrap();
            assert_eq!(server.bytes_received(buf.len()), i as u64 + 1);
            if i + 1 < total {
                assert_eq!(decoded, None);
                assert!(server.mid_frame(buf.len()), "byte {i}");
            } else {
                assert_eq!(decoded, Some(ping.clone()));
                assert!(!server.mid_frame(buf.len()));
            }
        }
    }

    #[test]
    fn a_body_arriving_after_its_prefix_is_not_taken_for_a_prefix() {
        // Request id 200 encodes as a varint starting 0xfb: read as a length prefix, the body's
        // first four bytes would claim a frame of over 4 GB.
        let mut client = ClientCodec::new();
        let mut server = ServerCodec::with_max_frame(1 << 20);
        let request = RequestFrame {
            id: 200,
            request: Request::Sql {
                query: "SELECT 1".into(),
            },
        };
        let mut wire = BytesMut::new();
        client.encode(request.clone(), &mut wire).unwrap();
        let mut buf = wire.split_to(4);
        assert_eq!(server.decode(&mut buf).unwrap(), None);
        buf.unsplit(wire.split_to(5));
        assert_eq!(server.decode(&mut buf).unwrap(), None);
        buf.unsplit(wire);
        assert_eq!(server.decode(&mut buf).unwrap(), Some(request));
    }

    #[test]
    fn oversized_frames_are_refused_both_ways() {
        let mut server = ServerCodec::with_max_frame(64);
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&1000u32.to_be_bytes());
        match server.decode(&mut wire) {
            Err(CodecError::FrameTooLarge {
                size: 1000,
                max: 64,
            }) => {}
            other => panic!("expected FrameTooLarge, got {other:?}"),
        }

        let mut client = ClientCodec::with_max_frame(64);
        let big = RequestFrame {
            id: 1,
            request: Request::Sql {
                query: "x".repeat(100),
            },
        };
        let mut out = BytesMut::new();
        assert!(matches!(
            client.encode(big, &mut out),
            Err(CodecError::FrameTooLarge { max: 64, .. })
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn huge_claimed_lengths_are_an_error_not_an_allocation() {
        // A Sql request whose string claims u64::MAX bytes (varint 253 = u64 follows).
        let mut body = encode_message(&RequestFrame {
            id: 1,
            request: Request::Sql {
                query: String::new(),
            },
        })
        .unwrap();
        body.pop(); // the empty string's length byte
        body.push(253);
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            decode_message::<RequestFrame>(&body),
            Err(CodecError::Decode(_))
        ));
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let mut server = ServerCodec::new();
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&6u32.to_be_bytes());
        wire.extend_from_slice(&[0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa]);
        assert!(matches!(
            server.decode(&mut wire),
            Err(CodecError::Decode(_))
        ));
    }
}
