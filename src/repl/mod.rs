//! `kdfs repl`: an interactive SQL and Klong console for a kdfs server.
//!
//! Lines are commands (`stats`, `ls`, `\timing on`, ...), SQL (lines starting with SELECT, WITH,
//! SHOW, ...) or Klong (everything else), sent to the server through a kdfs-client pool. The
//! same loop runs on a terminal (line editing, history, completion, Ctrl-C to cancel) and over a
//! pipe or `-c` (no banner or colors, non-zero exit status when a line failed).
//!
//! The pieces: [`input`] decides what a line is and whether it is complete, [`command`] parses
//! commands, [`render`] prints results, [`helper`] plugs completion into rustyline,
//! [`session`] runs the loop against a [`backend::ReplBackend`], and [`client_backend`] is the
//! real backend.

pub mod args;
pub mod backend;
pub mod client_backend;
pub mod command;
pub mod helper;
pub mod history;
pub mod input;
pub mod render;
pub mod session;

#[cfg(test)]
mod tests;

pub use args::{ReplArgs, run, run_with};
