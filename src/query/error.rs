//! Errors of server-side Klong evaluation, each telling the user what to do next.

use std::time::Duration;

/// Why a Klong evaluation produced no value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueryError {
    /// The program failed: a syntax, type, shape or other Klong error, or a failing native
    /// (`.df` of a missing key, a bad `.sql` query, a refused `.put`).
    #[error("klong error: {message}")]
    Eval {
        /// The interpreter's message, e.g. `plus: type error: [1 "a"]`.
        message: String,
    },

    /// The program ran past the time limit and was stopped; the interpreter stays usable.
    #[error(
        "klong evaluation stopped after the time limit of {:.1}s; use smaller data or a cheaper \
         program, or ask the operator to raise --query-timeout", limit.as_secs_f64()
    )]
    Timeout {
        /// The limit that was exceeded.
        limit: Duration,
    },

    /// The program used a system function this server does not allow.
    #[error(
        "{function} is disabled on this server: {what} access needs the server to be started \
         with {flag}"
    )]
    Refused {
        /// The refused system function, e.g. `.ic`.
        function: String,
        /// `file` or `operating-system`.
        what: &'static str,
        /// The server flag that enables it.
        flag: &'static str,
    },

    /// The value is too large to send back.
    #[error(
        "klong result of about {size} bytes exceeds the limit of {limit} bytes; return an \
         aggregate or a slice (e.g. 100#x) instead"
    )]
    TooLarge {
        /// Estimated size of the value in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },

    /// Too many evaluations are already waiting for the interpreter.
    #[error("the klong interpreter is busy ({queued} evaluations waiting); retry shortly")]
    Busy {
        /// Number of evaluations queued when this one was refused.
        queued: usize,
    },

    /// The evaluation was cancelled because its caller went away.
    #[error("klong evaluation cancelled")]
    Cancelled,

    /// The interpreter thread is gone (the service is shutting down) or failed unexpectedly.
    #[error("klong interpreter unavailable: {0}; retry, and report it if it persists")]
    Internal(String),
}
