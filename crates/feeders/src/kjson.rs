//! JSON text straight to a Klong value, in one pass.
//!
//! Gives the same values as `klong::json::from_json(&serde_json::from_str(text)?)` (null →
//! `:undefined`, booleans → 0/1, integers → integers, other numbers → reals, strings →
//! strings, arrays → lists or typed vectors, objects → dictionaries, keys in the text's
//! order rather than sorted) without building the
//! intermediate `serde_json::Value`, and reuses one Klong string per distinct object key: a
//! batch of 100 bars repeats the same 11 keys, and allocating them again for every bar cost
//! as much as the rest of the conversion.

use klong::{Dict, Value};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

/// Keys longer than this are not remembered (real keys are short; this bounds the cache).
const MAX_KEY: usize = 32;
/// Distinct keys remembered (looked up by scanning, so keep it small); messages with
/// ever-new keys still convert, just uncached.
const MAX_KEYS: usize = 64;

/// A converter that remembers object keys across messages. Not `Send` (Klong values are not).
#[derive(Default)]
pub struct KlongJson {
    keys: RefCell<Vec<(Box<str>, Value)>>,
    /// Where the next key probably is: objects of one feed list their keys in the same
    /// order, so the key after the last one found is checked first.
    next: Cell<usize>,
}

impl KlongJson {
    /// A converter with an empty key cache.
    pub fn new() -> KlongJson {
        KlongJson::default()
    }

    /// Parse `text` as JSON and convert it.
    pub fn parse(&self, text: &str) -> Result<Value, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let v = Seed(self).deserialize(&mut de)?;
        de.end()?;
        Ok(v)
    }

    fn key(&self, k: &str) -> Value {
        if k.len() > MAX_KEY {
            return Value::str(k);
        }
        let mut keys = self.keys.borrow_mut();
        let hint = self.next.get();
        let found = match keys.get(hint) {
            Some((name, _)) if &**name == k => Some(hint),
            _ => keys.iter().position(|(name, _)| &**name == k),
        };
        if let Some(i) = found {
            self.next.set(i + 1);
            return keys[i].1.clone();
        }
        let v = Value::str(k);
        if keys.len() < MAX_KEYS {
            keys.push((k.into(), v.clone()));
            self.next.set(keys.len());
        }
        v
    }
}

#[derive(Clone, Copy)]
struct Seed<'a>(&'a KlongJson);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Undefined)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Int(b as i64))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::Real(u as f64), Value::Int))
    }
    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(Value::Real(x))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::list(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut d = Dict::new();
        while let Some(k) = map.next_key_seed(KeySeed(self.0))? {
            d.insert(k, map.next_value_seed(self)?);
        }
        Ok(Value::Dict(Rc::new(RefCell::new(d))))
    }
}

/// Object keys: looked up in the cache without allocating when the text has no escapes.
struct KeySeed<'a>(&'a KlongJson);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(self.0.key(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_as_klong(text: &str) {
        let want = klong::json::from_json(&serde_json::from_str(text).unwrap());
        let got = KlongJson::new().parse(text).unwrap();
        // Dictionaries keep the text's key order here, while serde_json (without
        // `preserve_order`) sorts keys; compare through JSON, where order does not matter.
        assert_eq!(
            klong::json::to_json(&got),
            klong::json::to_json(&want),
            "converting {text}"
        );
        if !text.contains('{') {
            assert_eq!(klong::readable(&got), klong::readable(&want), "{text}");
        }
    }

    #[test]
    fn matches_the_klong_crate_conversion() {
        for text in [
            r#"[{"ev":"AM","sym":"A","s":1,"v":3,"c":1.5,"n":null,"ok":true}]"#,
            r#"{"a":[1,2,3],"b":[1.5,2.5],"c":[1,2.5],"d":[],"e":"x\"y"}"#,
            "18446744073709551615",
            "-3",
            r#"[[1,"a"],{"k":{"k":1}}]"#,
        ] {
            same_as_klong(text);
        }
    }

    #[test]
    fn keys_are_shared_and_garbage_is_an_error() {
        let k = KlongJson::new();
        k.parse(r#"[{"sym":"A"},{"sym":"B"}]"#).unwrap();
        assert_eq!(k.keys.borrow().len(), 1);
        let long = format!(r#"{{"{}":1}}"#, "k".repeat(MAX_KEY + 1));
        k.parse(&long).unwrap();
        assert_eq!(k.keys.borrow().len(), 1, "long keys are not cached");
        for bad in ["", "[1,", "{\"a\":}", "[1] x"] {
            assert!(k.parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
