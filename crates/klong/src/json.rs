//! Conversions between Klong values and `serde_json::Value`.
//!
//! JSON → Klong: `null` → `:undefined`, booleans → 0/1, integers → integers, other numbers →
//! reals, strings → strings, arrays → lists (typed vectors when homogeneous), objects →
//! dictionaries with string keys (insertion order kept).
//!
//! Klong → JSON: numbers → numbers (big integers and non-finite reals become strings/`null`),
//! characters, strings and symbols → strings, lists → arrays, dictionaries → objects (string
//! and symbol keys as their text, other keys in readable form), functions, channels and
//! `:undefined` → `null`.

use crate::dict::Dict;
use crate::print::readable;
use crate::value::Value;
use serde_json::Value as J;
use std::cell::RefCell;
use std::rc::Rc;

/// Convert JSON to a Klong value.
pub fn from_json(j: &J) -> Value {
    match j {
        J::Null => Value::Undefined,
        J::Bool(b) => Value::Int(*b as i64),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::str(s),
        J::Array(a) => Value::list(a.iter().map(from_json).collect()),
        J::Object(o) => {
            let mut d = Dict::new();
            for (k, v) in o {
                d.insert(Value::str(k), from_json(v));
            }
            Value::Dict(Rc::new(RefCell::new(d)))
        }
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::Str(s) => s.iter().collect(),
        Value::Sym(s) => s.to_string(),
        Value::Char(c) => c.to_string(),
        other => readable(other),
    }
}

/// Convert a Klong value to JSON.
pub fn to_json(v: &Value) -> J {
    match v {
        Value::Int(i) => J::from(*i),
        Value::Big(b) => J::String(b.to_string()),
        Value::Real(r) => serde_json::Number::from_f64(*r)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Char(c) => J::String(c.to_string()),
        Value::Str(s) => J::String(s.iter().collect()),
        Value::Sym(s) => J::String(s.to_string()),
        Value::Ints(xs) => J::Array(xs.iter().map(|&i| J::from(i)).collect()),
        Value::Reals(xs) => J::Array(xs.iter().map(|&r| to_json(&Value::Real(r))).collect()),
        Value::List(xs) => J::Array(xs.iter().map(to_json).collect()),
        Value::Dict(d) => {
            let mut m = serde_json::Map::new();
            for (k, v) in d.borrow().iter() {
                m.insert(key_text(k), to_json(v));
            }
            J::Object(m)
        }
        Value::Func(_) | Value::Chan(..) | Value::Undefined | Value::Eof => J::Null,
    }
}
