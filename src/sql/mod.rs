//! SQL over stored frames, powered by DataFusion.
//!
//! [`SqlEngine`] exposes every frame of a [`FrameSource`] as a table (see [`catalog`] for the
//! naming rules), adds a `ts` timestamp column for epoch-millisecond integer indexes, offers
//! `frames('prefix')` for queries across symbols, pushes index-range predicates, projections
//! and limits down to the source, refuses anything that writes, and enforces per-query time
//! and size limits.
//!
//! Typical queries (keys `historical/minute/<SYMBOL>`, minute bars with epoch-ms `t`):
//!
//! ```text
//! SELECT * FROM historical.minute.AAPL WHERE ts >= '2024-01-02T14:30:00' LIMIT 10
//! SELECT date_trunc('hour', ts) AS hour, first_value(o ORDER BY t) AS o, max(h) AS h,
//!        min(l) AS l, last_value(c ORDER BY t) AS c, sum(v) AS v
//!   FROM "historical/minute/AAPL" GROUP BY 1 ORDER BY 1
//! SELECT key, last_value(c ORDER BY t) AS last FROM frames('historical/minute') GROUP BY key
//! SHOW TABLES
//! ```

pub mod catalog;
mod engine;
mod error;
mod frames;
mod pushdown;
mod scan;
pub mod source;
mod store_source;
mod table;
mod yielding;

#[cfg(test)]
mod tests;

pub use engine::{EngineLimits, FRAMES_FUNCTION, SqlEngine, SqlStream};
pub use error::SqlError;
pub use source::{BatchIter, FrameMeta, FrameSource, IndexRange, MemorySource, SourceError};
pub use store_source::StoreFrames;
