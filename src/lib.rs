//! kdfs: a persistent dataframe server for streaming market data, queried with SQL and Klong.
//!
//! - [`server`]: the TCP server over [`kdfs_store::FrameStore`];
//! - [`cli`]: the `kdfs` command line;
//! - [`sql`]: SQL over stored frames (DataFusion);
//! - [`query`]: the server's Klong interpreter with frames bound;
//! - [`repl`]: the interactive console (`kdfs repl`).

pub mod cli;
pub mod query;
pub mod repl;
pub mod server;
pub mod sql;
