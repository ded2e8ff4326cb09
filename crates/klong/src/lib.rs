//! Klong interpreter.
