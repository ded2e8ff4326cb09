//! Hostile input against the codec: arbitrary bytes never panic the decoders, and every
//! request survives an encode/decode round trip. These run in the normal test run with
//! proptest's default case count; a long run is
//! `PROPTEST_CASES=1000000 cargo test --release -p kdfs-client --test hostile`, and the
//! coverage-guided fuzz targets are in `fuzz/` (nightly, cargo-fuzz).

#[path = "support/requests.rs"]
mod requests;

use bytes::BytesMut;
use kdfs_client::codec::decode_message;
use kdfs_client::{ClientCodec, CodecError, Request, RequestFrame, ResponseFrame, ServerCodec};
use proptest::prelude::*;
use requests::{request, request_frame};
use tokio_util::codec::{Decoder, Encoder};

/// Feed `bytes` to a fresh decoder in chunks of `chunk` bytes until it errors or runs dry.
fn decode_all<D: Decoder<Error = CodecError>>(mut codec: D, bytes: &[u8], chunk: usize) {
    let mut buf = BytesMut::new();
    for piece in bytes.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = codec.decode_eof(&mut buf);
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        chunk in 1usize..64,
        max_frame in 0usize..1024,
    ) {
        decode_all(ServerCodec::with_max_frame(max_frame), &bytes, chunk);
        decode_all(ClientCodec::with_max_frame(max_frame), &bytes, chunk);
        let _ = decode_message::<RequestFrame>(&bytes);
        let _ = decode_message::<ResponseFrame>(&bytes);
        let _ = kdfs_client::ipc::decode(&bytes);
    }

    #[test]
    fn length_prefixed_garbage_never_panics_the_server_codec(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        chunk in 1usize..32,
    ) {
        let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&body);
        decode_all(ServerCodec::new(), &bytes, chunk);
    }

    #[test]
    fn every_request_round_trips(frame in request_frame(), chunk in 1usize..64) {
        let mut wire = BytesMut::new();
        ClientCodec::new().encode(frame.clone(), &mut wire).unwrap();
        // Delivered in arbitrary pieces, it decodes to the same frame.
        let mut server = ServerCodec::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            if let Some(decoded) = server.decode(&mut buf).unwrap() {
                got = Some(decoded);
            }
        }
        prop_assert_eq!(got, Some(frame));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn a_request_with_a_flipped_byte_is_refused_or_decoded_never_a_panic(
        request in request(),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut bytes = kdfs_client::codec::encode_message(&RequestFrame { id: 1, request }).unwrap();
        let i = at.index(bytes.len());
        bytes[i] ^= flip;
        let _ = decode_message::<RequestFrame>(&bytes);
        let _ = decode_message::<Request>(&bytes);
    }
}
