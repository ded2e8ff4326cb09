//! Server-side Klong: one long-lived interpreter with stored frames bound as system functions.
//!
//! [`KlongService`] owns the interpreter (see its module for the threading and queueing
//! rules). Programs reach stored data through natives (see [`natives`](self) docs below):
//!
//! ```text
//! d::.df("historical/minute/AAPL")          :" dictionary: column name -> vector
//! c::d?"c"; (+/c)%#c                        :" mean close
//! .df("historical/minute/AAPL";t0;t1)       :" rows with t0 <= t <= t1
//! .keys("historical/minute")                :" ["historical/minute/AAPL" ...]
//! .sql("select key, avg(c) as a from frames('historical/minute') group by key")
//! .put("derived/AAPL";:{["t" [1 2]] ["c" [1.5 2.5]]})   :" upsert, returns rows stored
//! ```
//!
//! **Deviation from nmh:** nmh's `.df` deletes a file. On a kdfs server `.df` reads a frame
//! instead, so file deletion is never available, even with file access allowed.
//!
//! Safety: no file, stdin or OS access unless the server allows it (`--allow-files`,
//! `--allow-system`); `.x` never exits the server; every evaluation has a time limit; values
//! and frames larger than a limit are refused with an error.

mod convert;
mod error;
mod natives;
mod service;
mod sink;

#[cfg(test)]
mod tests;

pub use convert::VECTOR_COLUMN;
pub use error::QueryError;
pub use natives::PUT_INDEX_COLUMN;
pub use service::{KlongBindings, KlongConfig, KlongReply, KlongService};
pub use sink::{FrameSink, SinkError};
