//! `Ping`: liveness check.

use kdfs_client::Response;

/// Answer a ping.
pub fn run() -> Response {
    Response::Pong
}
