//! Structural (non-atomic) verbs: take, drop, join, index, grade, group, reshape, ...
//!
//! Split by concept: [`shape`] builds and reshapes (`! # & + ^ :^`), [`order`] sorts and
//! classifies (`< > = ?`), [`slicing`] cuts and joins sequences (`# _ , :# :_ :+`) and
//! [`access`] finds, indexes and amends (`? @ :@ := :-`).

mod access;
mod order;
mod shape;
mod slicing;

pub use access::{amend, amend_depth, find, index, index_depth};
pub use order::{grade, group, range};
pub use shape::{enumerate, expand, reshape, shape, size, transpose};
pub use slicing::{cut, drop, join, rotate, split, take};

use crate::error::{ErrorKind, KResult, err};
use crate::print::readable;
use crate::value::Value;
use std::rc::Rc;

/// True for lists and strings.
fn is_seq(v: &Value) -> bool {
    v.is_list() || matches!(v, Value::Str(_))
}

/// Elements `from..to` of a sequence, as a sequence of the same kind.
fn slice(b: &Value, from: usize, to: usize) -> Value {
    if from >= to {
        return b.empty_like();
    }
    match b {
        Value::Ints(v) => Value::ints(v[from..to].to_vec()),
        Value::Reals(v) => Value::reals(v[from..to].to_vec()),
        Value::Str(v) => Value::Str(Rc::new(v[from..to].to_vec())),
        Value::List(v) => Value::List(Rc::new(v[from..to].to_vec())),
        _ => b.clone(),
    }
}

/// An integer operand of an indexing verb, or a type error naming `op`.
fn as_index(v: &Value, op: &str) -> KResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        _ => err(
            ErrorKind::Type,
            format!("{op}: expected integer, got: {}", readable(v)),
        ),
    }
}
