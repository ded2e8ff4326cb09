//! Websocket ticker plant around kdfs.
