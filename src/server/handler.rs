//! Serving one connection: handshake, then requests until the client leaves, breaks the
//! protocol, or the server shuts down.

use kdfs_client::{CodecError, ErrorKind, PROTOCOL_VERSION, Request, Response};
use std::sync::Arc;
use tokio::sync::watch;

use super::auth::{self, Refusal};
use super::cmd::{self, Flow};
use super::connection::Connection;
use super::state::ServerState;

/// Serve `conn` until it closes. `stop` turns `true` when the server shuts down; a request
/// already being served is finished first.
pub async fn serve(
    state: &Arc<ServerState>,
    mut conn: Connection,
    mut stop: watch::Receiver<bool>,
) {
    let peer = conn.peer();
    tracing::debug!(%peer, "connection opened");
    let mut greeted = false;
    loop {
        let next = tokio::select! {
            _ = stop.wait_for(|stopping| *stopping) => break,
            next = conn.read_request() => next,
        };
        let frame = match next {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                refuse_frame(&mut conn, e).await;
                break;
            }
        };
        let id = frame.id;
        let flow = if greeted {
            cmd::dispatch(state, &mut conn, id, frame.request).await
        } else {
            match handshake(state, frame.request) {
                Ok(reply) => {
                    greeted = true;
                    conn.write(id, reply).await.map(|()| Flow::Continue)
                }
                Err(reply) => {
                    tracing::info!(%peer, "handshake refused");
                    let _ = conn.write(id, reply).await;
                    break;
                }
            }
        };
        match flow {
            Ok(Flow::Continue) => {}
            Ok(Flow::Close) => break,
            Err(e) => {
                tracing::debug!(%peer, error = %e, "connection failed while replying");
                break;
            }
        }
    }
    tracing::debug!(%peer, "connection closed");
}

/// Check the opening request; `Err` carries the error reply to send before closing.
fn handshake(state: &ServerState, request: Request) -> Result<Response, Response> {
    let Request::Hello {
        version,
        client,
        token,
    } = request
    else {
        return Err(Response::error(
            ErrorKind::Protocol,
            format!(
                "the first request must be hello (protocol version {PROTOCOL_VERSION}), got {}",
                request.name()
            ),
        ));
    };
    if version != PROTOCOL_VERSION {
        return Err(Response::error(
            ErrorKind::Protocol,
            format!(
                "protocol version mismatch: client {client:?} speaks version {version}, this \
                 server speaks version {PROTOCOL_VERSION}; use a client from the same kdfs release"
            ),
        ));
    }
    let refusal = match auth::check(state.config.token.as_deref(), token.as_deref()) {
        Ok(()) => None,
        Err(Refusal::Missing) => Some("this server requires a token and none was sent"),
        Err(Refusal::Wrong) => Some("wrong token"),
    };
    if let Some(why) = refusal {
        return Err(Response::error(
            ErrorKind::Unauthorized,
            format!("{why}: pass the server's token with KDFS_TOKEN, --token-file or --token"),
        ));
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
