//! Websocket ticker plant around kdfs.
//!
//! The pieces every feeder shares live here, one module per concept:
//! [`bar`] (the minute-bar record), [`batch`] (a message: a JSON array of events),
//! [`pattern`] (`AM.*`-style subscriptions), [`protocol`] (the auth/subscribe handshake),
//! [`kjson`] (JSON text → Klong values), [`hub`] (fan-out to websocket subscribers with bounded queues), [`server`] (accepting
//! subscribers), [`upstream`] (a reconnecting websocket client), [`backoff`], [`fake`]
//! (a deterministic bar generator) and [`cli`] (logging, listening, shutdown).

pub mod backoff;
pub mod bar;
pub mod batch;
pub mod cli;
pub mod fake;
pub mod handler;
pub mod hub;
pub mod ingest;
pub mod kjson;
pub mod pattern;
pub mod protocol;
pub mod server;
pub mod upstream;
pub mod writer;
