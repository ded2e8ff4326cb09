//! Proptest strategies for protocol messages, shared by the client crate's hostile-input tests
//! and the server's (`tests/hostile.rs` at the workspace root includes this file).

use kdfs_client::{Request, RequestFrame};
use proptest::prelude::*;

/// Short strings, biased towards what key validation and parsers must refuse.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,24}",
        "[a-z]{1,6}(/[a-z./]{1,6}){0,3}",
        Just("../../etc/passwd".to_string()),
        Just("/absolute".to_string()),
        Just(String::new()),
    ]
}

/// Any request, with arbitrary field values.
pub fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (any::<u32>(), text(), proptest::option::of(text())).prop_map(
            |(version, client, token)| Request::Hello {
                version,
                client,
                token
            }
        ),
        Just(Request::Ping),
        (
            text(),
            text(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(key, index, upsert, ipc)| Request::Update {
                key,
                index,
                upsert,
                ipc
            }),
        (
            text(),
            proptest::option::of(any::<i64>()),
            proptest::option::of(any::<i64>()),
            proptest::option::of(proptest::collection::vec(text(), 0..3)),
            proptest::option::of((any::<u64>(), any::<u64>())),
        )
            .prop_map(|(key, start, end, columns, rows)| Request::Read {
                key,
                start,
                end,
                columns,
                rows
            }),
        any::<u8>().prop_map(|level| Request::Stats { level }),
        text().prop_map(|prefix| Request::ListKeys { prefix }),
        text().prop_map(|key| Request::Delete { key }),
        text().prop_map(|key| Request::Load { key }),
        text().prop_map(|key| Request::Unload { key }),
        text().prop_map(|query| Request::Sql { query }),
        text().prop_map(|code| Request::Klong { code }),
        Just(Request::Close),
    ]
}

/// A request frame with an arbitrary id.
pub fn request_frame() -> impl Strategy<Value = RequestFrame> {
    (any::<u64>(), request()).prop_map(|(id, request)| RequestFrame { id, request })
}
