//! The one error type of the store.

use arrow::datatypes::DataType;

/// Everything that can go wrong in a [`crate::FrameStore`] call.
///
/// Messages are written for the person at the other end of the wire: each says what was wrong
/// and, where there is one, what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The key path is not acceptable (see [`crate::KeyPath`]).
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey {
        /// The refused key, as given.
        key: String,
        /// Why it was refused.
        reason: String,
    },
    /// No frame is stored under this key.
    #[error("no frame stored under key {key:?}; list keys to see what exists")]
    NotFound {
        /// The missing key.
        key: String,
    },
    /// A column of the update has a different type than the stored column of the same name.
    #[error(
        "column {column:?} is stored as {stored} but the update has {given}; \
         cast the column or write it under another name (nothing was changed)"
    )]
    TypeConflict {
        /// Column name.
        column: String,
        /// Type stored in the frame.
        stored: DataType,
        /// Type given in the update.
        given: DataType,
    },
    /// The index column is missing, of an unsupported type, null, or out of range.
    #[error("bad index column {column:?}: {reason}")]
    BadIndex {
        /// Index column name.
        column: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The batch itself cannot be stored (for example two columns with the same name).
    #[error("bad batch: {reason}")]
    BadBatch {
        /// What is wrong with it.
        reason: String,
    },
    /// A read asked for a column the frame does not have.
    #[error("frame {key:?} has no column {column:?}")]
    UnknownColumn {
        /// Frame key.
        key: String,
        /// The unknown column.
        column: String,
    },
    /// Filesystem error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// redb (catalog and write log) error.
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    /// Arrow encoding or compute error.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Stored data does not decode; the store directory was damaged or written by something else.
    #[error("corrupt store data: {0}")]
    Corrupt(String),
    /// A durable write failed (now or earlier); the store refuses writes until it is reopened,
    /// so that memory and disk cannot silently diverge. Reads keep working.
    #[error(
        "a durable write failed: {0}. Writes are refused until the server is restarted; \
         reads still work"
    )]
    Failed(String),
    /// The store was shut down.
    #[error("the store is shut down")]
    Closed,
}

impl StoreError {
    /// A short stable name for the error kind (for protocol mapping and logs).
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::InvalidKey { .. } => "invalid_key",
            StoreError::NotFound { .. } => "not_found",
            StoreError::TypeConflict { .. } => "type_conflict",
            StoreError::BadIndex { .. } => "bad_index",
            StoreError::BadBatch { .. } => "bad_batch",
            StoreError::UnknownColumn { .. } => "unknown_column",
            StoreError::Io(_) => "io",
            StoreError::Db(_) => "db",
            StoreError::Arrow(_) => "arrow",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::Failed(_) => "failed",
            StoreError::Closed => "closed",
        }
    }

    /// What ran out, when the error comes from a full disk, an exhausted quota or the file
    /// size limit (`ulimit -f`); `None` for every other error.
    pub fn out_of_space(&self) -> Option<&'static str> {
        use std::io::ErrorKind;
        let io = match self {
            StoreError::Io(e) => e,
            StoreError::Db(redb::Error::Io(e)) => e,
            StoreError::Arrow(arrow::error::ArrowError::IoError(_, e)) => e,
            _ => return None,
        };
        match io.kind() {
            ErrorKind::StorageFull => Some("the disk is full"),
            ErrorKind::QuotaExceeded => Some("the disk quota is exhausted"),
            ErrorKind::FileTooLarge => Some("a file reached the file size limit"),
            _ => None,
        }
    }

    /// Whether the error is the caller's fault (bad input) rather than the store's.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            StoreError::InvalidKey { .. }
                | StoreError::NotFound { .. }
                | StoreError::TypeConflict { .. }
                | StoreError::BadIndex { .. }
                | StoreError::BadBatch { .. }
                | StoreError::UnknownColumn { .. }
        )
    }
}

/// What a failed durable write says to clients: a full disk is named as such.
pub(crate) fn describe_write_failure(error: &StoreError) -> String {
    match error.out_of_space() {
        Some(what) => format!("{what} ({error}); make room"),
        None => error.to_string(),
    }
}

/// Converts any redb error type into a [`StoreError::Db`].
pub(crate) fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Db(e.into())
}
