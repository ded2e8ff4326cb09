//! Serving one connection: handshake, then requests until the client leaves, breaks the
//! protocol, or the server shuts down.
//!
//! Requests are pipelined: the server reads ahead while updates wait for their commit, so one
//! connection's updates share group commits. Replies still go out in request order: updates
//! and pings are served concurrently (at most [`MAX_IN_FLIGHT`] at once, after which the
//! socket is not read until one is answered), every other request first waits for the
//! replies before it.

use futures::stream::FuturesOrdered;
use futures::{FutureExt, StreamExt};
use kdfs_client::ipc::PayloadDecoder;
use kdfs_client::{CodecError, DEFAULT_WINDOW, ErrorKind, PROTOCOL_VERSION, Request, Response};
use std::sync::Arc;
use tokio::sync::watch;

use super::auth::{self, Refusal};
use super::cmd::{self, Deferred, Flow};
use super::connection::Connection;
use super::state::ServerState;

/// Requests of one connection served at once. Bounds the memory a fast writer can make the
/// server hold (decoded updates waiting for their commit).
pub const MAX_IN_FLIGHT: usize = DEFAULT_WINDOW;

/// Serve `conn` until it closes. `stop` turns `true` when the server shuts down; requests
/// already read are finished (and answered) first.
pub async fn serve(
    state: &Arc<ServerState>,
    mut conn: Connection,
    mut stop: watch::Receiver<bool>,
) {
    let peer = conn.peer();
    tracing::debug!(%peer, "connection opened");
    if greet(state, &mut conn, &mut stop).await {
        serve_requests(state, &mut conn, &mut stop).await;
    }
    tracing::debug!(%peer, "connection closed");
}

/// Reads and answers the handshake; returns whether the connection goes on.
async fn greet(
    state: &ServerState,
    conn: &mut Connection,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let next = tokio::select! {
        _ = stop.wait_for(|stopping| *stopping) => return false,
        next = conn.read_request() => next,
    };
    let frame = match next {
        Ok(Some(frame)) => frame,
        Ok(None) => return false,
        Err(e) => {
            refuse_frame(conn, e).await;
            return false;
        }
    };
    let peer = conn.peer();
    match handshake(state, frame.request) {
        Ok(reply) => {
            if state.config.token.is_some() {
                state.throttle.forgive(peer.ip());
            }
            conn.write(frame.id, reply).await.is_ok()
        }
        Err((reply, refusal)) => {
            if refusal == Some(Refusal::Wrong) {
                let delay = state.throttle.strike(peer.ip(), std::time::Instant::now());
                tracing::warn!(%peer, delay_ms = delay.as_millis(), "wrong token");
                // Slow the refusal down; a shutdown does not wait for it.
                tokio::select! {
                    () = stopping(stop) => return false,
                    () = tokio::time::sleep(delay) => {}
                }
            } else {
                tracing::info!(%peer, "handshake refused");
            }
            let _ = conn.write(frame.id, reply).await;
            false
        }
    }
}

/// The request loop after the handshake.
async fn serve_requests(
    state: &Arc<ServerState>,
    conn: &mut Connection,
    stop: &mut watch::Receiver<bool>,
) {
    let peer = conn.peer();
    let mut in_flight: FuturesOrdered<Deferred> = FuturesOrdered::new();
    let mut decoder = PayloadDecoder::default();
    loop {
        tokio::select! {
            // Answer before reading more, so replies do not queue up behind new requests.
            biased;
            Some((id, reply)) = in_flight.next(), if !in_flight.is_empty() => {
                if let Err(e) = send_ready(conn, &mut in_flight, id, reply).await {
                    tracing::debug!(%peer, error = %e, "connection failed while replying");
                    return;
                }
            }
            () = stopping(stop) => break,
            next = conn.read_request(), if in_flight.len() < MAX_IN_FLIGHT => {
                let frame = match next {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(e) => {
                        if drain(conn, &mut in_flight).await.is_ok() {
                            refuse_frame(conn, e).await;
                        }
                        return;
                    }
                };
                let started = cmd::start_concurrent(state, &mut decoder, frame.id, frame.request);
                let request = match started {
                    Ok(deferred) => {
                        in_flight.push_back(deferred);
                        continue;
                    }
                    Err(request) => request,
                };
                // Replies go out in request order: answer everything before this request.
                let flow = match drain(conn, &mut in_flight).await {
                    Ok(()) => cmd::dispatch(state, conn, frame.id, request).await,
                    Err(e) => Err(e),
                };
                match flow {
                    Ok(Flow::Continue) => {}
                    Ok(Flow::Close) => return,
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "connection failed while replying");
                        return;
                    }
                }
            }
        }
    }
    // The client stopped sending or the server is stopping: answer what was accepted.
    if let Err(e) = drain(conn, &mut in_flight).await {
        tracing::debug!(%peer, error = %e, "connection failed while replying");
    }
}

/// Resolves once the server is shutting down (without holding the watch's lock afterwards).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Sends `reply` and every reply already finished behind it, then flushes once.
async fn send_ready(
    conn: &mut Connection,
    in_flight: &mut FuturesOrdered<Deferred>,
    id: u64,
    reply: Response,
) -> Result<(), CodecError> {
    conn.feed(id, reply).await?;
    while let Some(Some((id, reply))) = in_flight.next().now_or_never() {
        conn.feed(id, reply).await?;
    }
    conn.flush().await
}

/// Waits for every request in flight and sends the replies, in order.
async fn drain(
    conn: &mut Connection,
    in_flight: &mut FuturesOrdered<Deferred>,
) -> Result<(), CodecError> {
    while let Some((id, reply)) = in_flight.next().await {
        send_ready(conn, in_flight, id, reply).await?;
    }
    Ok(())
}

/// Check the opening request; `Err` carries the error reply to send before closing, and the
/// token refusal if that was the reason.
fn handshake(
    state: &ServerState,
    request: Request,
) -> Result<Response, (Response, Option<Refusal>)> {
    let Request::Hello {
        version,
        client,
        token,
    } = request
    else {
        let reply = Response::error(
            ErrorKind::Protocol,
            format!(
                "the first request must be hello (protocol version {PROTOCOL_VERSION}), got {}",
                request.name()
            ),
        );
        return Err((reply, None));
    };
    if version != PROTOCOL_VERSION {
        let reply = Response::error(
            ErrorKind::Protocol,
            format!(
                "protocol version mismatch: client {client:?} speaks version {version}, this \
                 server speaks version {PROTOCOL_VERSION}; use a client from the same kdfs release"
            ),
        );
        return Err((reply, None));
    }
    if let Err(refusal) = auth::check(state.config.token.as_deref(), token.as_deref()) {
        let why = match refusal {
            Refusal::Missing => "this server requires a token and none was sent",
            Refusal::Wrong => "wrong token",
        };
        let reply = Response::error(
            ErrorKind::Unauthorized,
            format!("{why}: pass the server's token with KDFS_TOKEN, --token-file or --token"),
        );
        return Err((reply, Some(refusal)));
    }
    tracing::debug!(client, "handshake accepted");
    Ok(Response::Hello {
        version: PROTOCOL_VERSION,
        server: format!("kdfs {}", env!("CARGO_PKG_VERSION")),
    })
}

/// Tell the client why its bytes were not accepted (when the socket still works).
async fn refuse_frame(conn: &mut Connection, error: CodecError) {
    let peer = conn.peer();
    let reply = match &error {
        CodecError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            tracing::info!(%peer, error = %e, "closing a silent connection");
            let _ = conn
                .write(0, Response::error(ErrorKind::Timeout, e.to_string()))
                .await;
            return;
        }
        CodecError::Io(e) => {
            tracing::debug!(%peer, error = %e, "read failed");
            return;
        }
        CodecError::FrameTooLarge { .. } => Response::error(ErrorKind::TooLarge, error.to_string()),
        CodecError::Decode(_) | CodecError::Encode(_) => Response::error(
            ErrorKind::Protocol,
            format!("{error}; closing the connection (is this a kdfs client of the same release?)"),
        ),
    };
    tracing::warn!(%peer, %error, "closing connection after a bad frame");
    // The request id is unknown: reply with id 0.
    let _ = conn.write(0, reply).await;
}
