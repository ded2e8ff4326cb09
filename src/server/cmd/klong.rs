//! `Klong`: evaluate Klong code in the server's interpreter.

use kdfs_client::{ErrorKind, Response, ipc};
use std::sync::Arc;

use crate::query::QueryError;
use crate::server::ServerState;

/// Evaluate `code`.
pub async fn run(state: &Arc<ServerState>, code: String) -> Response {
    let reply = match state.klong.eval(code).await {
        Ok(r) => r,
        Err(e) => return klong_error(&e),
    };
    let ipc = match &reply.batch {
        Some(batch) => match ipc::encode_batch(batch) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                return Response::error(
                    ErrorKind::Internal,
                    format!("cannot encode the klong value as Arrow: {e}"),
                );
            }
        },
        None => None,
    };
    // What the program printed comes before its value, as in an interactive session.
    let display = if reply.output.is_empty() {
        reply.display
    } else if reply.display.is_empty() {
        reply.output
    } else if reply.output.ends_with('\n') {
        format!("{}{}", reply.output, reply.display)
    } else {
        format!("{}\n{}", reply.output, reply.display)
    };
    Response::Klong {
        display,
        ipc,
        elapsed_us: u64::try_from(reply.elapsed.as_micros()).unwrap_or(u64::MAX),
    }
}

/// The error reply for a failed evaluation.
fn klong_error(e: &QueryError) -> Response {
    let kind = match e {
        QueryError::Timeout { .. } => ErrorKind::Timeout,
        QueryError::Refused { .. } => ErrorKind::Unsupported,
        QueryError::TooLarge { .. } => ErrorKind::TooLarge,
        // Not `Busy`: that kind closes the connection, and only this request was refused.
        QueryError::Busy { .. } | QueryError::Eval { .. } => ErrorKind::Query,
        QueryError::Cancelled | QueryError::Internal(_) => ErrorKind::Internal,
    };
    Response::error(kind, e.to_string())
}
