//! Klong values: atoms, typed vectors, generic lists, dictionaries and functions.
//!
//! Homogeneous integer and real lists are stored as typed vectors (`Ints`, `Reals`) so that
//! pervasive verbs run as tight loops over slices. The representation is invisible to the
//! language: `Ints([1 2])` and `List([1 2])` print, match and hash the same.

use crate::dict::Dict;
use crate::func::Func;
use num_bigint::BigInt;
use std::cell::RefCell;
use std::rc::Rc;

/// A Klong value. Cloning is cheap (reference counted); vectors are copied on write.
#[derive(Clone, Debug)]
pub enum Value {
    /// A machine integer.
    Int(i64),
    /// An integer too large for `i64`.
    Big(Rc<BigInt>),
    /// A real number.
    Real(f64),
    /// A character.
    Char(char),
    /// A string (distinct from a list of characters).
    Str(Rc<Vec<char>>),
    /// A symbol such as `:foo`.
    Sym(Rc<str>),
    /// A list whose elements are all machine integers.
    Ints(Rc<Vec<i64>>),
    /// A list whose elements are all reals.
    Reals(Rc<Vec<f64>>),
    /// A generic (possibly mixed, possibly empty) list.
    List(Rc<Vec<Value>>),
    /// A mutable dictionary shared by reference.
    Dict(Rc<RefCell<Dict>>),
    /// A function (lambda, projection, built-in or native).
    Func(Rc<Func>),
    /// An I/O channel (input when `true`).
    Chan(usize, bool),
    /// The undefined value.
    Undefined,
    /// End of file marker.
    Eof,
}

impl Value {
    /// The empty list `[]`.
    pub fn nil() -> Value {
        Value::List(Rc::new(Vec::new()))
    }

    /// A string value from Rust text.
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::new(s.chars().collect()))
    }

    /// A symbol value.
    pub fn sym(s: &str) -> Value {
        Value::Sym(Rc::from(s))
    }

    /// An integer vector.
    pub fn ints(v: Vec<i64>) -> Value {
        if v.is_empty() {
            return Value::nil();
        }
        Value::Ints(Rc::new(v))
    }

    /// A real vector.
    pub fn reals(v: Vec<f64>) -> Value {
        if v.is_empty() {
            return Value::nil();
        }
        Value::Reals(Rc::new(v))
    }

    /// Build a list from values, choosing a typed vector when every element allows it.
    pub fn list(v: Vec<Value>) -> Value {
        if v.is_empty() {
            return Value::nil();
        }
        match &v[0] {
            Value::Int(_) if v.iter().all(|x| matches!(x, Value::Int(_))) => Value::ints(
                v.iter()
                    .map(|x| if let Value::Int(i) = x { *i } else { 0 })
                    .collect(),
            ),
            Value::Real(_) if v.iter().all(|x| matches!(x, Value::Real(_))) => Value::reals(
                v.iter()
                    .map(|x| if let Value::Real(i) = x { *i } else { 0.0 })
                    .collect(),
            ),
            _ => Value::List(Rc::new(v)),
        }
    }

    /// Like [`Value::list`], but a list of characters coming from a string becomes a string.
    pub fn list_or_str(v: Vec<Value>, from_str: bool) -> Value {
        if from_str && !v.is_empty() && v.iter().all(|x| matches!(x, Value::Char(_))) {
            return Value::Str(Rc::new(
                v.iter()
                    .map(|x| if let Value::Char(c) = x { *c } else { ' ' })
                    .collect(),
            ));
        }
        Value::list(v)
    }

    /// True for non-empty lists (including typed vectors); strings are not lists.
    pub fn is_list(&self) -> bool {
        matches!(self, Value::List(_) | Value::Ints(_) | Value::Reals(_))
    }

    /// True for any list value, including `[]`.
    pub fn is_listy(&self) -> bool {
        self.is_list()
    }

    /// Klong atom test: everything except non-empty lists and non-empty strings.
    pub fn is_atom(&self) -> bool {
        match self {
            Value::List(v) => v.is_empty(),
            Value::Ints(v) => v.is_empty(),
            Value::Reals(v) => v.is_empty(),
            Value::Str(s) => s.is_empty(),
            _ => true,
        }
    }

    /// True for `[]` and `""`.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Number of elements of a list or string, `None` for other atoms.
    pub fn len(&self) -> Option<usize> {
        match self {
            Value::List(v) => Some(v.len()),
            Value::Ints(v) => Some(v.len()),
            Value::Reals(v) => Some(v.len()),
            Value::Str(s) => Some(s.len()),
            _ => None,
        }
    }

    /// Element `i` of a list or string (caller checks bounds).
    pub fn at(&self, i: usize) -> Value {
        match self {
            Value::List(v) => v[i].clone(),
            Value::Ints(v) => Value::Int(v[i]),
            Value::Reals(v) => Value::Real(v[i]),
            Value::Str(s) => Value::Char(s[i]),
            _ => self.clone(),
        }
    }

    /// The elements of a list or string as boxed values.
    pub fn items(&self) -> Vec<Value> {
        match self {
            Value::List(v) => v.as_ref().clone(),
            Value::Ints(v) => v.iter().map(|&i| Value::Int(i)).collect(),
            Value::Reals(v) => v.iter().map(|&i| Value::Real(i)).collect(),
            Value::Str(s) => s.iter().map(|&c| Value::Char(c)).collect(),
            _ => vec![self.clone()],
        }
    }

    /// Klong truthiness: false only for 0, 0.0, `[]` and `""`.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Int(i) => *i != 0,
            Value::Real(r) => *r != 0.0,
            Value::List(v) => !v.is_empty(),
            Value::Ints(v) => !v.is_empty(),
            Value::Reals(v) => !v.is_empty(),
            Value::Str(s) => !s.is_empty(),
            _ => true,
        }
    }

    /// True for numbers (int, bigint, real).
    pub fn is_num(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Big(_) | Value::Real(_))
    }

    /// The value as `f64` when it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Real(r) => Some(*r),
            Value::Big(b) => num_traits::ToPrimitive::to_f64(b.as_ref()),
            _ => None,
        }
    }

    /// The value as `i64` when it is a machine integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Rust text of a string value.
    pub fn as_string(&self) -> Option<String> {
        match self {
            Value::Str(s) => Some(s.iter().collect()),
            Value::Char(c) => Some(c.to_string()),
            _ => None,
        }
    }

    /// Make a big integer value, demoting to `Int` when it fits.
    pub fn big(b: BigInt) -> Value {
        match num_traits::ToPrimitive::to_i64(&b) {
            Some(i) => Value::Int(i),
            None => Value::Big(Rc::new(b)),
        }
    }

    /// Empty value of the same kind as `self` (`""` for strings, `[]` otherwise).
    pub fn empty_like(&self) -> Value {
        match self {
            Value::Str(_) => Value::Str(Rc::new(Vec::new())),
            _ => Value::nil(),
        }
    }

    /// Build a value of the same sequence kind as `self` from items.
    pub fn same_kind(&self, v: Vec<Value>) -> Value {
        Value::list_or_str(v, matches!(self, Value::Str(_)))
    }
}

impl Value {
    /// Deep structural equality with tolerant comparison of reals (Klong's Match).
    pub fn matches(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Int(a), Int(b)) => a == b,
            (Big(a), Big(b)) => a == b,
            (Int(_), Big(_)) | (Big(_), Int(_)) => false,
            (Real(_), _) | (_, Real(_)) if self.is_num() && other.is_num() => {
                match (self.as_f64(), other.as_f64()) {
                    (Some(a), Some(b)) => real_match(a, b),
                    _ => false,
                }
            }
            (Char(a), Char(b)) => a == b,
            (Str(a), Str(b)) => a == b,
            (Sym(a), Sym(b)) => a == b,
            (Ints(a), Ints(b)) => a == b,
            (Dict(a), Dict(b)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.matches(&w)))
            }
            (Func(a), Func(b)) => Rc::ptr_eq(a, b),
            (Chan(a, x), Chan(b, y)) => a == b && x == y,
            (Undefined, Undefined) | (Eof, Eof) => true,
            _ if self.is_list() && other.is_list() => {
                let n = self.len().unwrap_or(0);
                n == other.len().unwrap_or(0) && (0..n).all(|i| self.at(i).matches(&other.at(i)))
            }
            _ => false,
        }
    }
}

/// Tolerant equality of reals used by Match, Find and Converge.
pub fn real_match(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}
