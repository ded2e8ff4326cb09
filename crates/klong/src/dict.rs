//! Insertion-ordered dictionaries with type-strict keys.

use crate::value::Value;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// A hashable wrapper for dictionary keys: ints and reals are distinct, lists compare
/// structurally whatever their internal representation.
#[derive(Clone, Debug)]
pub struct Key(pub Value);

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        hash_value(&self.0, h)
    }
}

fn hash_value<H: Hasher>(v: &Value, h: &mut H) {
    match v {
        Value::Int(i) => {
            0u8.hash(h);
            i.hash(h)
        }
        Value::Big(b) => {
            1u8.hash(h);
            b.hash(h)
        }
        Value::Real(r) => {
            2u8.hash(h);
            let r = if *r == 0.0 { 0.0 } else { *r };
            r.to_bits().hash(h)
        }
        Value::Char(c) => {
            3u8.hash(h);
            c.hash(h)
        }
        Value::Str(s) => {
            4u8.hash(h);
            s.hash(h)
        }
        Value::Sym(s) => {
            5u8.hash(h);
            s.hash(h)
        }
        Value::List(_) | Value::Ints(_) | Value::Reals(_) => {
            6u8.hash(h);
            let n = v.len().unwrap_or(0);
            n.hash(h);
            for i in 0..n {
                hash_value(&v.at(i), h)
            }
        }
        _ => 7u8.hash(h),
    }
}

impl PartialEq for Key {
    fn eq(&self, o: &Key) -> bool {
        strict_eq(&self.0, &o.0)
    }
}
impl Eq for Key {}

/// Type-strict equality (used for keys, Group and Range): `1` and `1.0` differ.
pub fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Real(x), Value::Real(y)) => x == y,
        (Value::Int(_), Value::Real(_)) | (Value::Real(_), Value::Int(_)) => false,
        _ if a.is_list() && b.is_list() => {
            let n = a.len().unwrap_or(0);
            n == b.len().unwrap_or(0) && (0..n).all(|i| strict_eq(&a.at(i), &b.at(i)))
        }
        _ => a.matches(b),
    }
}

/// A mutable dictionary preserving insertion order.
#[derive(Clone, Debug, Default)]
pub struct Dict {
    entries: Vec<(Value, Value)>,
    index: HashMap<Key, usize>,
}

impl Dict {
    /// An empty dictionary.
    pub fn new() -> Dict {
        Dict::default()
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Value stored under `k`.
    pub fn get(&self, k: &Value) -> Option<Value> {
        self.index
            .get(&Key(k.clone()))
            .map(|&i| self.entries[i].1.clone())
    }
    /// Insert or replace an entry.
    pub fn insert(&mut self, k: Value, v: Value) {
        match self.index.get(&Key(k.clone())) {
            Some(&i) => self.entries[i].1 = v,
            None => {
                self.index.insert(Key(k.clone()), self.entries.len());
                self.entries.push((k, v));
            }
        }
    }
    /// Remove an entry (keeps the order of the others).
    pub fn remove(&mut self, k: &Value) {
        if let Some(i) = self.index.remove(&Key(k.clone())) {
            self.entries.remove(i);
            for (_, j) in self.index.iter_mut() {
                if *j > i {
                    *j -= 1;
                }
            }
        }
    }
    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}
