//! Arbitrary bytes as they arrive on a socket: the server's codec (requests, the handshake
//! first) and the client's (responses) must answer every input with a message or an error,
//! never a panic, an abort or an allocation far beyond the input.
//!
//! The first byte picks the frame limit and how the bytes are cut into reads, so partial
//! frames and several frames per read are exercised as well.
#![no_main]

use bytes::BytesMut;
use kdfs_client::codec::{decode_message, encode_message};
use kdfs_client::{ClientCodec, Request, RequestFrame, ResponseFrame, ServerCodec, ipc};
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(init: kdfs_fuzz::quiet_caught_panics(), |data: &[u8]| {
    let Some((&control, wire)) = data.split_first() else {
        return;
    };
    let max_frame = 16usize << (control & 0x0f);
    let read_size = 1 + usize::from(control >> 4) * 7;

    let mut server = ServerCodec::with_max_frame(max_frame);
    for frame in feed(&mut server, wire, read_size) {
        check_request(frame);
    }
    let mut client = ClientCodec::with_max_frame(max_frame);
    for frame in feed(&mut client, wire, read_size) {
        round_trip(&frame);
    }

    // One message body without the prefix, as `decode_message` sees a frame's contents.
    if let Ok(frame) = decode_message::<RequestFrame>(wire) {
        check_request(frame);
    }
    if let Ok(frame) = decode_message::<ResponseFrame>(wire) {
        round_trip(&frame);
    }
});

/// Everything `codec` decodes from `wire` arriving `read_size` bytes at a time, until the
/// first error (after which a server closes the connection).
fn feed<C: Decoder>(codec: &mut C, wire: &[u8], read_size: usize) -> Vec<C::Item> {
    let mut buffer = BytesMut::new();
    let mut out = Vec::new();
    for piece in wire.chunks(read_size) {
        buffer.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buffer) {
                Ok(Some(item)) => out.push(item),
                Ok(None) => break,
                Err(_) => return out,
            }
        }
    }
    out
}

/// What the server does with a request before it reaches the store or an interpreter:
/// decode the Arrow payload of an update.
fn check_request(frame: RequestFrame) {
    round_trip(&frame);
    if let Request::Update { ipc: payload, .. } = frame.request {
        let _ = ipc::decode_vec(payload);
    }
}

/// A decoded message encodes to bytes that decode to the same message.
fn round_trip<T>(message: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = encode_message(message).expect("a decoded message encodes");
    let again: T = decode_message(&bytes).expect("an encoded message decodes");
    assert_eq!(&again, message);
}
