//! `Klong`: evaluate Klong code in the server's interpreter.

use kdfs_client::{ErrorKind, Response};
use std::sync::Arc;

use crate::server::ServerState;

/// Evaluate `code`.
pub async fn run(_state: &Arc<ServerState>, _code: String) -> Response {
    Response::error(
        ErrorKind::Unsupported,
        "Klong is not available in this build of the server yet",
    )
}
