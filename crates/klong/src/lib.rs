//! A fast, embeddable interpreter for Klong, Nils M. Holm's array language.
//!
//! ```
//! let mut k = klong::Klong::new();
//! let v = k.eval("+/!10").unwrap();
//! assert_eq!(klong::readable(&v), "45");
//! ```
//!
//! The interpreter is single-threaded: [`Klong`] is not `Send` (values are reference
//! counted with `Rc`). A server should own one interpreter per dedicated thread and stop
//! runaway programs with [`Klong::interrupt_handle`] or [`Klong::set_deadline`].

// Dictionary keys never contain dictionaries (rejected on insert), so hashing a key never
// observes interior mutability.
#![allow(clippy::mutable_key_type)]
#![warn(missing_docs)]

mod adverbs;
mod arith;
#[cfg(feature = "arrow")]
pub mod arrow_conv;
mod ast;
mod dict;
mod error;
mod format;
mod func;
mod fused;
mod interp;
mod intkern;
mod io;
#[cfg(feature = "json")]
pub mod json;
mod kernels;
mod lexer;
mod moves;
mod parser;
mod print;
mod radix;
mod structural;
mod sys;
mod verbs;
mod watch;

pub use dict::Dict;
pub use error::{ErrorKind, KResult, KlongError};
pub use func::Func;
pub use interp::{Capabilities, Interp};
pub use print::{display, fmt_real, readable};
pub use value::Value;

mod value;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// An embeddable Klong interpreter. Not `Send`; run it on one thread.
pub struct Klong {
    it: Interp,
}

impl Default for Klong {
    fn default() -> Self {
        Self::new()
    }
}

impl Klong {
    /// An interpreter with no file, stdin or OS access (safe for servers).
    pub fn new() -> Klong {
        Klong::with_capabilities(Capabilities::none())
    }

    /// An interpreter with the given capabilities.
    pub fn with_capabilities(caps: Capabilities) -> Klong {
        Klong {
            it: Interp::new(caps),
        }
    }

    /// Evaluate a program; returns the value of its last expression (`[]` if it had none).
    pub fn eval(&mut self, src: &str) -> Result<Value, KlongError> {
        Ok(self.exec(src)?.unwrap_or_else(Value::nil))
    }

    /// Evaluate a program; `None` when it contained no expression.
    pub fn exec(&mut self, src: &str) -> Result<Option<Value>, KlongError> {
        let r = self.it.run(src);
        // Like nmh's REPL: each top-level evaluation starts with the standard channels.
        self.it.io.from = 0;
        self.it.io.to = 1;
        self.it.pending_comment = None;
        r
    }

    /// Load and run a source file (needs the `files` capability).
    pub fn load_file(&mut self, path: &str) -> Result<Value, KlongError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| KlongError::new(ErrorKind::Io, format!("cannot read {path}: {e}")))?;
        self.eval(&text)
    }

    /// Read a global variable.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.it.get_var(name)
    }

    /// Set a global variable.
    pub fn set(&mut self, name: &str, v: Value) {
        self.it.set_var(name, v)
    }

    /// Call the function stored in global `name` with arguments.
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<Value, KlongError> {
        let f = self
            .get(name)
            .ok_or_else(|| KlongError::new(ErrorKind::Undefined, format!("undefined: {name}")))?;
        self.call_value(&f, args)
    }

    /// Call a function value with arguments.
    pub fn call_value(&mut self, f: &Value, args: &[Value]) -> Result<Value, KlongError> {
        self.it.call(f, args.to_vec())
    }

    /// Register a native function under a global name (e.g. `.df`, `.sql`).
    pub fn register<F>(&mut self, name: &str, arity: usize, f: F)
    where
        F: Fn(&[Value]) -> Result<Value, KlongError> + 'static,
    {
        let v = sys::native(
            name,
            arity.min(3),
            std::rc::Rc::new(move |_: &mut Interp, a: &[Value]| f(a)),
        );
        self.set(name, v);
    }

    /// Register a native function accepting between `min_arity` and `max_arity` arguments
    /// (at most 3); it receives exactly the arguments given. Its arity as seen by `@` and
    /// adverbs is `min_arity`.
    pub fn register_variadic<F>(&mut self, name: &str, min_arity: usize, max_arity: usize, f: F)
    where
        F: Fn(&[Value]) -> Result<Value, KlongError> + 'static,
    {
        let v = sys::native_variadic(
            name,
            min_arity.min(3),
            max_arity.min(3),
            std::rc::Rc::new(move |_: &mut Interp, a: &[Value]| f(a)),
        );
        self.set(name, v);
    }

    /// Register a native function that may call back into the interpreter.
    pub fn register_with_interp<F>(&mut self, name: &str, arity: usize, f: F)
    where
        F: Fn(&mut Interp, &[Value]) -> Result<Value, KlongError> + 'static,
    {
        let v = sys::native(name, arity.min(3), std::rc::Rc::new(f));
        self.set(name, v);
    }

    /// Collect printed output in memory from now on (read it with [`Klong::take_output`]).
    pub fn capture_output(&mut self) {
        self.it.io.sink = io::Sink::Capture(String::new());
    }

    /// Send printed output to a writer.
    pub fn set_output(&mut self, w: Box<dyn std::io::Write>) {
        self.it.io.sink = io::Sink::Writer(w);
    }

    /// Take the output captured so far.
    pub fn take_output(&mut self) -> String {
        match &mut self.it.io.sink {
            io::Sink::Capture(s) => std::mem::take(s),
            _ => String::new(),
        }
    }

    /// A flag that interrupts the running evaluation when set to `true` (from any thread).
    pub fn interrupt_handle(&self) -> Arc<AtomicBool> {
        self.it.interrupt.clone()
    }

    /// Make evaluations fail with `interrupted` after `deadline` (`None` = no deadline).
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.it.deadline = deadline;
    }

    /// Limit the depth of nested function calls (default 2000).
    pub fn set_max_depth(&mut self, depth: usize) {
        self.it.max_depth = depth;
    }

    /// Bytes of thread stack evaluation may use before deep recursion fails with an error
    /// (default 1 MiB, safe on a 2 MiB thread). Raise it on threads with larger stacks.
    pub fn set_stack_limit(&mut self, bytes: usize) {
        self.it.stack_limit = bytes;
    }

    /// Limit the number of elements a single operation may allocate (default 2^27).
    pub fn set_max_alloc(&mut self, n: usize) {
        self.it.max_alloc = n;
    }

    /// The underlying interpreter (for advanced embedding).
    pub fn interp(&mut self) -> &mut Interp {
        &mut self.it
    }
}
