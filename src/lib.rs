//! kdfs: a persistent dataframe server for streaming market data, queried with SQL and Klong.
//!
//! - [`server`]: the TCP server over [`kdfs_store::FrameStore`];
//! - [`cli`]: the `kdfs` command line;
//! - [`sql`]: SQL over stored frames (DataFusion).

pub mod cli;
pub mod server;
pub mod sql;
