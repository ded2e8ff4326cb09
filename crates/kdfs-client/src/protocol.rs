//! Wire protocol: the messages a client and a kdfs server exchange.
//!
//! Every message travels in one length-delimited frame (see [`crate::codec`]) as bincode
//! (`bincode::config::standard()`, serde encoding). The client sends [`RequestFrame`]s and the
//! server answers each with one or more [`ResponseFrame`]s carrying the same id: a single reply
//! for most requests, or a stream (`Batch`… then `End`) for reads and queries. The first request
//! on a connection must be [`Request::Hello`]; a server that speaks another
//! [`PROTOCOL_VERSION`] answers it with an [`ErrorKind::Protocol`] error and closes.
//!
//! Arrow payloads (`ipc` fields) are Arrow IPC *stream* bytes, see [`crate::ipc`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// Version of this protocol. Bumped on any incompatible change to [`Request`] or [`Response`].
pub const PROTOCOL_VERSION: u32 = 1;

/// Default maximum size of one frame on the wire (256 MiB).
pub const DEFAULT_MAX_FRAME: usize = 256 * 1024 * 1024;

/// A request together with the id its responses will carry.
///
/// Ids are chosen by the client and must not be 0: the server uses id 0 for errors about the
/// connection itself (busy, undecodable frame), sent just before it closes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestFrame {
    /// Chosen by the client; echoed in every response frame to this request.
    pub id: u64,
    /// What the client asks for.
    pub request: Request,
}

/// A response (or one part of a streamed response) to the request with the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFrame {
    /// Id of the request this answers.
    pub id: u64,
    /// The answer.
    pub response: Response,
}

/// Everything a client can ask a kdfs server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Opening handshake; must be the first request on a connection.
    Hello {
        /// The client's [`PROTOCOL_VERSION`].
        version: u32,
        /// Free-form client name for the server's logs (e.g. `kdfs-cli 0.1.0`).
        client: String,
        /// Access token, if the server requires one.
        token: Option<String>,
    },
    /// Liveness check; answered with [`Response::Pong`].
    Ping,
    /// Merge rows into a frame (created if absent). Answered with [`Response::Updated`].
    Update {
        /// Key path, e.g. `historical/minute/AAPL`.
        key: String,
        /// Name of the index column (used when the frame is created; must match afterwards).
        index: String,
        /// `true`: rows with an existing index replace the stored ones (last write wins);
        /// `false`: they are ignored (first write wins).
        upsert: bool,
        /// The rows, as Arrow IPC stream bytes.
        #[serde(with = "serde_bytes")]
        ipc: Vec<u8>,
    },
    /// Read a frame. Answered with `Batch`… then `End`.
    Read {
        /// Key path.
        key: String,
        /// Smallest index value to return (inclusive).
        start: Option<i64>,
        /// Largest index value to return (inclusive).
        end: Option<i64>,
        /// Columns to return (all if `None`); the index column is always included.
        columns: Option<Vec<String>>,
        /// Row-number range `[from, to)` applied after the index range.
        rows: Option<(u64, u64)>,
    },
    /// Server statistics as JSON; `level` 0, 1 or 2 (see the README). Answered with
    /// [`Response::Stats`].
    Stats {
        /// Detail level.
        level: u8,
    },
    /// Stored keys starting with `prefix` (all for `""`). Answered with [`Response::Keys`].
    ListKeys {
        /// Key prefix.
        prefix: String,
    },
    /// Delete a frame. Answered with [`Response::Done`].
    Delete {
        /// Key path.
        key: String,
    },
    /// Load a frame into memory and keep it there. Answered with [`Response::Done`].
    Load {
        /// Key path.
        key: String,
    },
    /// Drop a frame from memory (it stays on disk). Answered with [`Response::Done`].
    Unload {
        /// Key path.
        key: String,
    },
    /// Run a SQL query. Answered with `Batch`… then `End`.
    Sql {
        /// The query text.
        query: String,
    },
    /// Evaluate Klong code. Answered with [`Response::Klong`].
    Klong {
        /// The program text.
        code: String,
    },
    /// Say goodbye; the server answers [`Response::Done`] and closes the connection.
    Close,
}

impl Request {
    /// Short name of the request kind, for logs and error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Ping => "ping",
            Request::Update { .. } => "update",
            Request::Read { .. } => "read",
            Request::Stats { .. } => "stats",
            Request::ListKeys { .. } => "list-keys",
            Request::Delete { .. } => "delete",
            Request::Load { .. } => "load",
            Request::Unload { .. } => "unload",
            Request::Sql { .. } => "sql",
            Request::Klong { .. } => "klong",
            Request::Close => "close",
        }
    }
}

/// Everything a kdfs server can answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// Handshake accepted.
    Hello {
        /// The server's [`PROTOCOL_VERSION`].
        version: u32,
        /// Server name and version, e.g. `kdfs 0.1.0`.
        server: String,
    },
    /// Answer to [`Request::Ping`].
    Pong,
    /// Answer to [`Request::Update`], sent once the rows are durable.
    Updated {
        /// Rows with a new index value.
        inserted: u64,
        /// Rows that replaced stored ones (upsert).
        replaced: u64,
        /// Rows dropped because their index was already stored (first write wins).
        ignored: u64,
        /// Rows in the frame afterwards.
        rows: u64,
    },
    /// One part of a streamed result: Arrow IPC stream bytes (a schema and zero or more batches).
    Batch {
        /// Arrow IPC stream bytes.
        #[serde(with = "serde_bytes")]
        ipc: Vec<u8>,
    },
    /// End of a streamed result.
    End {
        /// Rows sent in the stream.
        rows: u64,
        /// Time the server spent, in microseconds.
        elapsed_us: u64,
    },
    /// Statistics as a JSON object.
    Stats {
        /// JSON text.
        json: String,
    },
    /// Answer to [`Request::ListKeys`].
    Keys {
        /// Matching keys, sorted.
        keys: Vec<KeyEntry>,
    },
    /// Answer to [`Request::Klong`].
    Klong {
        /// The value as Klong displays it.
        display: String,
        /// The value as a table, when it converts to one.
        #[serde(with = "serde_bytes")]
        ipc: Option<Vec<u8>>,
        /// Evaluation time in microseconds.
        elapsed_us: u64,
    },
    /// The request succeeded and has nothing else to say.
    Done,
    /// The request failed. Unless the kind is [`ErrorKind::Protocol`] or [`ErrorKind::Busy`]
    /// (after which the server closes), the connection stays usable.
    Error {
        /// What went wrong, for programs.
        kind: ErrorKind,
        /// What went wrong and what to do about it, for people.
        message: String,
    },
}

impl Response {
    /// Shorthand for an error response.
    pub fn error(kind: ErrorKind, message: impl Into<String>) -> Response {
        Response::Error {
            kind,
            message: message.into(),
        }
    }

    /// Short name of the response kind, for error messages.
    pub fn name(&self) -> &'static str {
        match self {
            Response::Hello { .. } => "hello",
            Response::Pong => "pong",
            Response::Updated { .. } => "updated",
            Response::Batch { .. } => "batch",
            Response::End { .. } => "end",
            Response::Stats { .. } => "stats",
            Response::Keys { .. } => "keys",
            Response::Klong { .. } => "klong",
            Response::Done => "done",
            Response::Error { .. } => "error",
        }
    }
}

/// One stored frame, as listed by [`Request::ListKeys`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Key path.
    pub key: String,
    /// Number of rows.
    pub rows: u64,
    /// Smallest index value, if any rows.
    pub first: Option<i64>,
    /// Largest index value, if any rows.
    pub last: Option<i64>,
    /// Column names in schema order.
    pub columns: Vec<String>,
    /// Bytes on disk.
    pub disk_bytes: u64,
    /// Whether the frame is in the server's memory cache.
    pub loaded: bool,
}

/// Category of a [`Response::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorKind {
    /// The request is malformed (bad Arrow payload, bad range, …).
    BadRequest,
    /// The peer broke the protocol (no handshake, version mismatch, undecodable frame).
    Protocol,
    /// The key path is not acceptable.
    InvalidKey,
    /// The key does not exist.
    NotFound,
    /// The data conflicts with what is stored (column type, index column).
    Conflict,
    /// A SQL or Klong query failed.
    Query,
    /// The request took too long.
    Timeout,
    /// A frame or result exceeds a size limit.
    TooLarge,
    /// The server does not support this request.
    Unsupported,
    /// Missing or wrong access token.
    Unauthorized,
    /// The server is at its connection limit; try again later.
    Busy,
    /// A bug or an I/O failure on the server; see its log.
    Internal,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ErrorKind::BadRequest => "bad request",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::InvalidKey => "invalid key",
            ErrorKind::NotFound => "not found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Query => "query error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::TooLarge => "too large",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Busy => "busy",
            ErrorKind::Internal => "internal error",
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod wire_tests {
    //! Payload fields travel as byte strings (`serde_bytes`): fast, and on the wire exactly
    //! like a plain `Vec<u8>` under bincode.
    use crate::codec::{decode_message, encode_message};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Plain {
        a: Vec<u8>,
        b: Option<Vec<u8>>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Raw {
        #[serde(with = "serde_bytes")]
        a: Vec<u8>,
        #[serde(with = "serde_bytes")]
        b: Option<Vec<u8>>,
    }

    #[test]
    fn the_wire_format_is_that_of_a_plain_vec() {
        let long: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        for (a, b) in [
            (vec![], None),
            (vec![1, 2, 255], Some(vec![])),
            (long.clone(), Some(long.clone())),
        ] {
            let plain = encode_message(&Plain {
                a: a.clone(),
                b: b.clone(),
            })
            .unwrap();
            let raw = encode_message(&Raw {
                a: a.clone(),
                b: b.clone(),
            })
            .unwrap();
            assert_eq!(plain, raw);
            assert_eq!(
                decode_message::<Raw>(&plain).unwrap(),
                Raw {
                    a: a.clone(),
                    b: b.clone()
                }
            );
            assert_eq!(decode_message::<Plain>(&raw).unwrap(), Plain { a, b });
        }
    }

    #[test]
    fn a_claimed_length_beyond_the_message_is_an_error() {
        let mut body = encode_message(&Raw { a: vec![], b: None }).unwrap();
        body[0] = 251; // varint: a u16 length follows
        body.insert(1, 0xff);
        body.insert(1, 0xff);
        assert!(decode_message::<Raw>(&body).is_err());
    }
}
