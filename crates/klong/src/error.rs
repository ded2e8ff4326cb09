//! The interpreter's error type.

use thiserror::Error;

/// What went wrong, broadly; the message carries the details in nmh's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Lexing or parsing failed.
    Syntax,
    /// A variable was read before it was assigned.
    Undefined,
    /// An operand had the wrong type.
    Type,
    /// Operand shapes or lengths disagree.
    Shape,
    /// An index or size was out of range.
    Range,
    /// A function was called with the wrong number of arguments.
    Arity,
    /// Integer division by zero.
    DivByZero,
    /// A file or channel operation failed.
    Io,
    /// The operation needs a capability the embedder has not granted.
    Permission,
    /// Evaluation was interrupted by the embedder (flag or deadline).
    Interrupted,
    /// A resource limit (recursion depth, allocation size) was hit.
    Limit,
    /// `.x` asked the interpreter to exit with this status.
    Exit(i32),
    /// Anything else.
    Other,
}

/// An error raised while parsing or evaluating Klong.
#[derive(Debug, Clone, Error)]
#[error("{msg}")]
pub struct KlongError {
    /// Category of the error.
    pub kind: ErrorKind,
    /// Message in nmh's style, e.g. `plus: type error: [[] 1]`.
    pub msg: String,
}

impl KlongError {
    /// Build an error.
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> KlongError {
        KlongError {
            kind,
            msg: msg.into(),
        }
    }
}

/// Result alias used throughout the crate.
pub type KResult<T> = Result<T, KlongError>;

/// Shorthand constructors.
pub fn err<T>(kind: ErrorKind, msg: impl Into<String>) -> KResult<T> {
    Err(KlongError::new(kind, msg))
}

/// `NAME: type error: ARGS`.
pub fn type_err<T>(op: &str, args: &[&crate::value::Value]) -> KResult<T> {
    let shown = if args.len() == 1 {
        crate::print::readable(args[0])
    } else {
        let parts: Vec<String> = args.iter().map(|a| crate::print::readable(a)).collect();
        format!("[{}]", parts.join(" "))
    };
    err(ErrorKind::Type, format!("{op}: type error: {shown}"))
}
