//! The byte stream under a connection: plain TCP, or TLS over TCP (feature `tls`). Both ends
//! keep it boxed, so the framing code is the same for either.

use tokio::io::{AsyncRead, AsyncWrite};

/// A connection's byte stream.
pub trait Socket: AsyncRead + AsyncWrite + Send + Sync + Unpin + std::fmt::Debug {}

impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin + std::fmt::Debug> Socket for T {}

/// A boxed [`Socket`].
pub type BoxSocket = Box<dyn Socket>;
