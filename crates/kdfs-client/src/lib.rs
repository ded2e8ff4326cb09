//! Client library and wire protocol for the kdfs dataframe server.
//!
//! ```no_run
//! # async fn demo(batch: arrow::record_batch::RecordBatch) -> Result<(), kdfs_client::ClientError> {
//! use kdfs_client::{Client, ReadOptions, UpdateOptions};
//! let mut client = Client::connect("127.0.0.1:8000").await?;
//! client.update("historical/minute/AAPL", &batch, UpdateOptions::default()).await?;
//! let rows = client
//!     .read("historical/minute/AAPL", ReadOptions { start: Some(0), end: Some(100), ..Default::default() })
//!     .await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod client;
pub mod codec;
pub mod error;
pub mod ipc;
pub mod pipeline;
pub mod pool;
pub mod protocol;
#[cfg(feature = "tls")]
pub mod tls;
pub mod transport;

pub use client::{
    Client, ClientOptions, KlongResult, ReadOptions, SqlResult, TableResult, UpdateOptions,
    UpdateSummary,
};
pub use codec::{ClientCodec, CodecError, MessageCodec, ServerCodec};
pub use error::ClientError;
pub use pipeline::{DEFAULT_WINDOW, Pipeline};
pub use pool::{ClientManager, Pool};
pub use protocol::{
    DEFAULT_MAX_FRAME, ErrorKind, KeyEntry, PROTOCOL_VERSION, Request, RequestFrame, Response,
    ResponseFrame,
};
