//! Dropping silent connections: an idle one (no request for `--idle-timeout`) and a stalled one
//! (part of a request arrived, then nothing for `--frame-timeout`), so forgotten or malicious
//! clients cannot hold connection slots and half-filled read buffers forever.

use futures::StreamExt;
use kdfs_client::transport::BoxSocket;
use kdfs_client::{CodecError, RequestFrame, ServerCodec};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::codec::Framed;

/// How long a connection may stay silent; `None` waits forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    /// Between requests.
    pub idle: Option<Duration>,
    /// Within a request, between two bytes.
    pub frame: Option<Duration>,
}

/// The next request, like `framed.next()`, but an `Io(TimedOut)` error once the client has been
/// silent for too long. A limit is enforced between one and one and a half times its value.
pub async fn next_request(
    framed: &mut Framed<BoxSocket, ServerCodec>,
    timeouts: Timeouts,
) -> Result<Option<RequestFrame>, CodecError> {
    // Check at least this often, so the stricter limit applies soon after a request starts.
    let Some(tick) = [timeouts.idle, timeouts.frame].into_iter().flatten().min() else {
        return framed.next().await.transpose();
    };
    let tick = (tick / 2).max(Duration::from_millis(10));
    let received =
        |f: &Framed<BoxSocket, ServerCodec>| f.codec().bytes_received(f.read_buffer().len());
    let mut seen = received(framed);
    let mut quiet_since = Instant::now();
    loop {
        // `Framed::next` keeps partial frames in its buffer, so abandoning it is safe.
        tokio::select! {
            next = framed.next() => return next.transpose(),
            () = tokio::time::sleep(tick) => {}
        }
        let now = received(framed);
        if now != seen {
            seen = now;
            quiet_since = Instant::now();
            continue;
        }
        let mid_frame = framed.codec().mid_frame(framed.read_buffer().len());
        let (limit, what) = if mid_frame {
            (
                timeouts.frame,
                "in the middle of a request (--frame-timeout)",
            )
        } else {
            (timeouts.idle, "between requests (--idle-timeout)")
        };
        if let Some(limit) = limit
            && quiet_since.elapsed() >= limit
        {
            let message = format!(
                "closing the connection: nothing received for {} s {what}",
                limit.as_secs_f64()
            );
            return Err(CodecError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                message,
            )));
        }
    }
}
