//! Serde helpers that move `Vec<u8>` fields (Arrow IPC payloads) as one byte string.
//!
//! serde serializes a plain `Vec<u8>` as a sequence: one call per byte on the way out and one
//! `push` per byte on the way in. For a 500 kB read result that alone costs about a
//! millisecond. bincode writes a byte string exactly like a sequence of `u8` (a varint length,
//! then the raw bytes), so these helpers change the speed, not the wire format.

use serde::de::{Deserializer, Error, SeqAccess, Visitor};
use serde::ser::Serializer;
use std::fmt;

/// `#[serde(with = "raw_bytes")]` for a `Vec<u8>` field.
pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bytes(bytes)
}

/// `#[serde(with = "raw_bytes")]` for a `Vec<u8>` field.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    deserializer.deserialize_byte_buf(ByteBuf)
}

/// Accepts a byte string, or (from formats without one) a sequence of bytes.
struct ByteBuf;

impl<'de> Visitor<'de> for ByteBuf {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        // The length hint comes from the peer: do not trust it for the allocation.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(b) = seq.next_element()? {
            out.push(b);
        }
        Ok(out)
    }
}

/// `#[serde(with = "raw_bytes::option")]` for an `Option<Vec<u8>>` field.
pub mod option {
    use serde::de::{Deserializer, Visitor};
    use serde::ser::Serializer;
    use std::fmt;

    /// Serializes `Some` as a byte string.
    pub fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => serializer.serialize_some(&Bytes(b)),
            None => serializer.serialize_none(),
        }
    }

    /// Deserializes what [`serialize`] wrote.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        deserializer.deserialize_option(OptionVisitor)
    }

    struct Bytes<'a>(&'a [u8]);

    impl serde::Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(self.0)
        }
    }

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<Vec<u8>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an optional byte string")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::codec::{decode_message, encode_message};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Plain {
        a: Vec<u8>,
        b: Option<Vec<u8>>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Raw {
        #[serde(with = "crate::raw_bytes")]
        a: Vec<u8>,
        #[serde(with = "crate::raw_bytes::option")]
        b: Option<Vec<u8>>,
    }

    #[test]
    fn the_wire_format_is_that_of_a_plain_vec() {
        let long: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        for (a, b) in [
            (vec![], None),
            (vec![1, 2, 255], Some(vec![])),
            (long.clone(), Some(long.clone())),
        ] {
            let plain = encode_message(&Plain {
                a: a.clone(),
                b: b.clone(),
            })
            .unwrap();
            let raw = encode_message(&Raw {
                a: a.clone(),
                b: b.clone(),
            })
            .unwrap();
            assert_eq!(plain, raw);
            assert_eq!(
                decode_message::<Raw>(&plain).unwrap(),
                Raw {
                    a: a.clone(),
                    b: b.clone()
                }
            );
            assert_eq!(decode_message::<Plain>(&raw).unwrap(), Plain { a, b });
        }
    }

    #[test]
    fn a_claimed_length_beyond_the_message_is_an_error() {
        let mut body = encode_message(&Raw { a: vec![], b: None }).unwrap();
        body[0] = 251; // varint: a u16 length follows
        body.insert(1, 0xff);
        body.insert(1, 0xff);
        assert!(decode_message::<Raw>(&body).is_err());
    }
}
