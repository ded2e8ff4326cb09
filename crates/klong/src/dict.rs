//! Insertion-ordered dictionaries with type-strict keys.

use crate::value::Value;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A fast non-cryptographic hasher for Klong keys (multiply-rotate per word, one mixing step
/// at the end so both the low bits hashbrown indexes with and the high bits it tags with
/// depend on every input bit). SipHash's HashDoS resistance buys nothing here: whoever
/// chooses the keys also runs arbitrary loops in the same interpreter.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

impl KeyHasher {
    #[inline(always)]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(23) ^ w).wrapping_mul(MUL);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i)
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }
    fn finish(&self) -> u64 {
        let h = self.0;
        (h ^ (h >> 32)).wrapping_mul(MUL) ^ (h >> 29)
    }
}

/// `HashMap` with [`KeyHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

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
        // Typed vectors hash their elements unboxed, exactly as `Int`/`Real` atoms do, so a
        // typed vector and the equal generic list hash alike.
        Value::Ints(x) => {
            6u8.hash(h);
            x.len().hash(h);
            for i in x.iter() {
                0u8.hash(h);
                i.hash(h)
            }
        }
        Value::Reals(x) => {
            6u8.hash(h);
            x.len().hash(h);
            for r in x.iter() {
                2u8.hash(h);
                let r = if *r == 0.0 { 0.0 } else { *r };
                r.to_bits().hash(h)
            }
        }
        Value::List(x) => {
            6u8.hash(h);
            x.len().hash(h);
            for e in x.iter() {
                hash_value(e, h)
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
    index: FastMap<Key, usize>,
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
        match self.index.entry(Key(k)) {
            Entry::Occupied(o) => self.entries[*o.get()].1 = v,
            Entry::Vacant(e) => {
                let k = e.key().0.clone();
                e.insert(self.entries.len());
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
