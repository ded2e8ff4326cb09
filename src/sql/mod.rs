//! SQL over stored frames, powered by DataFusion.
//!
//! [`SqlEngine`] exposes every frame of a [`FrameSource`] as a table (see [`catalog`] for the
//! naming rules), adds a `ts` timestamp column for epoch-millisecond integer indexes, offers
//! `frames('prefix')` for queries across symbols, pushes index-range predicates, projections
//! and limits down to the source, refuses anything that writes, and enforces per-query time
//! and size limits.

pub mod catalog;
mod engine;
mod error;
mod frames;
mod pushdown;
mod scan;
pub mod source;
mod table;

#[cfg(test)]
mod tests;

pub use engine::{EngineLimits, FRAMES_FUNCTION, SqlEngine, SqlStream};
pub use error::SqlError;
pub use source::{BatchIter, FrameMeta, FrameSource, IndexRange, MemorySource, SourceError};
