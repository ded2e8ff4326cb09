//! [`Connection`]: one client socket, read and written one protocol frame at a time.

use futures::SinkExt;
use kdfs_client::transport::BoxSocket;
use kdfs_client::{CodecError, RequestFrame, Response, ResponseFrame, ServerCodec};
use std::net::SocketAddr;
use tokio_util::codec::Framed;

use super::silence::{self, Timeouts};

/// A framed client connection.
#[derive(Debug)]
pub struct Connection {
    framed: Framed<BoxSocket, ServerCodec>,
    peer: SocketAddr,
    timeouts: Timeouts,
}

impl Connection {
    /// Wrap an accepted socket (see [`super::tls::secure`]); frames larger than `max_frame`
    /// bytes are refused.
    pub fn new(stream: BoxSocket, peer: SocketAddr, max_frame: usize) -> Connection {
        Connection {
            framed: Framed::new(stream, ServerCodec::with_max_frame(max_frame)),
            peer,
            timeouts: Timeouts::default(),
        }
    }

    /// Close the connection when the client stays silent too long (see [`Timeouts`]).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Connection {
        self.timeouts = timeouts;
        self
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The next request, or `None` once the client has closed the socket.
    pub async fn read_request(&mut self) -> Result<Option<RequestFrame>, CodecError> {
        silence::next_request(&mut self.framed, self.timeouts).await
    }

    /// Send one response frame and flush it.
    pub async fn write(&mut self, id: u64, response: Response) -> Result<(), CodecError> {
        self.framed.send(ResponseFrame { id, response }).await
    }

    /// Queue one response frame without flushing (for streams; call [`Connection::flush`]).
    pub async fn feed(&mut self, id: u64, response: Response) -> Result<(), CodecError> {
        self.framed.feed(ResponseFrame { id, response }).await
    }

    /// Flush queued frames to the socket.
    pub async fn flush(&mut self) -> Result<(), CodecError> {
        SinkExt::<ResponseFrame>::flush(&mut self.framed).await
    }

    /// The largest frame this connection sends or accepts.
    pub fn max_frame(&self) -> usize {
        self.framed.codec().max_frame()
    }
}
