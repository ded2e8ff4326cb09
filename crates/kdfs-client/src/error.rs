//! Errors a client call can return.

use crate::codec::CodecError;
use crate::protocol::ErrorKind;
use arrow::error::ArrowError;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting or talking to the server failed at the socket level.
    #[error("connection error: {0} (is the server running and reachable at that address?)")]
    Io(#[from] std::io::Error),
    /// TLS could not be set up: unreadable certificates, or a failed handshake (wrong
    /// certificate, or a server that does not speak TLS).
    #[error("TLS error: {0}")]
    Tls(String),
    /// The server sent something this client does not understand.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server answered the request with an error; the connection is still usable.
    #[error("{kind}: {message}")]
    Server {
        /// Category, for programs.
        kind: ErrorKind,
        /// Explanation, for people.
        message: String,
    },
    /// The server speaks another protocol version.
    #[error(
        "protocol version mismatch (this client speaks version {client}): {message}; \
         use a client and server from the same kdfs release"
    )]
    VersionMismatch {
        /// This client's protocol version.
        client: u32,
        /// What the server said.
        message: String,
    },
    /// A frame is larger than the maximum frame size.
    #[error(
        "message of {size} bytes exceeds the maximum frame size of {max} bytes; \
         send smaller batches or raise the limit (--max-frame)"
    )]
    TooLarge {
        /// Size of the message.
        size: u64,
        /// The limit.
        max: usize,
    },
    /// An Arrow payload could not be encoded or decoded.
    #[error("arrow error: {0}")]
    Arrow(#[from] ArrowError),
    /// The server closed the connection.
    #[error("the server closed the connection")]
    Closed,
    /// The server did not answer within the configured timeout.
    #[error("the server did not answer in time (timeout); the connection was dropped")]
    Timeout,
}

impl ClientError {
    /// The server's error kind, when the server answered with an error.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            ClientError::Server { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether the connection can still be used after this error.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            ClientError::Server { .. } | ClientError::Arrow(_) | ClientError::TooLarge { .. }
        )
    }
}

impl From<CodecError> for ClientError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Io(e) => ClientError::Io(e),
            CodecError::FrameTooLarge { size, max } => ClientError::TooLarge { size, max },
            CodecError::Decode(m) | CodecError::Encode(m) => ClientError::Protocol(m),
        }
    }
}
