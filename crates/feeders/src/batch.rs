//! A message on the wire: a JSON array of events, each an object with `ev` (and usually `sym`).
//!
//! A [`Batch`] keeps every event's original JSON text next to its routing fields, so the hub
//! can hand a filtered subset to a subscriber by joining texts instead of re-serializing, and
//! can hand the whole message to unfiltered subscribers without any copy.

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Why a peer's message could not be read as a batch of events.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// The text is not JSON, or not an array/object.
    #[error("malformed message (expected a JSON array of event objects): {0}")]
    Malformed(#[from] serde_json::Error),
}

/// One event of a batch.
#[derive(Clone, Debug)]
pub struct Event {
    /// The event type (`AM`, `AVG`, `status`, ...), if the event is an object that has one.
    pub ev: Option<String>,
    /// The symbol, if present.
    pub sym: Option<String>,
    /// The event's JSON text exactly as received (compact if we produced it).
    pub json: Box<str>,
}

/// A whole message: its events and its full text, ready to send.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The events, in order.
    pub events: Vec<Event>,
    /// The message as one JSON array (what unfiltered subscribers receive).
    pub text: Utf8Bytes,
}

#[derive(Deserialize)]
struct Routing {
    ev: Option<String>,
    sym: Option<String>,
}

fn event_of(raw: &RawValue) -> Event {
    // Non-object events (numbers, strings) are kept but never match a pattern.
    let r: Routing = serde_json::from_str(raw.get()).unwrap_or(Routing {
        ev: None,
        sym: None,
    });
    Event {
        ev: r.ev,
        sym: r.sym,
        json: raw.get().into(),
    }
}

impl Batch {
    /// Parse a message. An array is a batch; a single object is a batch of one (some
    /// producers send bare objects). Anything else is an error for the caller to log.
    pub fn parse(text: &str) -> Result<Batch, BatchError> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            let raws: Vec<&RawValue> = serde_json::from_str(text)?;
            let events = raws.into_iter().map(event_of).collect();
            // Keep the sender's bytes when they are already one line.
            let text = if text.contains('\n') {
                join(&events)
            } else {
                text.to_string()
            };
            Ok(Batch {
                events,
                text: text.into(),
            })
        } else {
            let raw: &RawValue = serde_json::from_str(text)?;
            if !raw.get().starts_with('{') {
                // A bare number/string is not an event; report it like other garbage.
                let e = serde_json::from_str::<Vec<()>>(raw.get()).err();
                return Err(BatchError::Malformed(e.unwrap_or_else(|| {
                    serde_json::Error::io(std::io::Error::other("not an event"))
                })));
            }
            Ok(Batch::from_events(vec![event_of(raw)]))
        }
    }

    /// Build a batch from events, producing its text.
    pub fn from_events(events: Vec<Event>) -> Batch {
        let text = join(&events);
        Batch {
            events,
            text: text.into(),
        }
    }

    /// Build a batch from a JSON value: an array of events or a single event object.
    pub fn from_value(v: &serde_json::Value) -> Batch {
        let events = match v {
            serde_json::Value::Array(items) => items.iter().map(event_of_value).collect(),
            other => vec![event_of_value(other)],
        };
        Batch::from_events(events)
    }

    /// Whether the batch has no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

fn event_of_value(v: &serde_json::Value) -> Event {
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Event {
        ev: field("ev"),
        sym: field("sym"),
        json: v.to_string().into(),
    }
}

/// Join events' texts into one JSON array.
pub fn join<'a, I>(events: I) -> String
where
    I: IntoIterator<Item = &'a Event>,
{
    let mut out = String::from("[");
    for (i, e) in events.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&e.json);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_array_and_keeps_event_text() {
        let b = Batch::parse(r#"[{"ev":"AM","sym":"A","c":1.5},{"ev":"AM","sym":"B"}]"#).unwrap();
        assert_eq!(b.events.len(), 2);
        assert_eq!(b.events[0].sym.as_deref(), Some("A"));
        assert_eq!(&*b.events[0].json, r#"{"ev":"AM","sym":"A","c":1.5}"#);
        assert_eq!(join(&b.events), b.text.as_str());
    }

    #[test]
    fn a_bare_object_is_a_batch_of_one() {
        let b = Batch::parse(r#"{"ev":"AVG","a":2}"#).unwrap();
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.events[0].ev.as_deref(), Some("AVG"));
        assert_eq!(b.events[0].sym, None);
        assert_eq!(b.text.as_str(), r#"[{"ev":"AVG","a":2}]"#);
    }

    #[test]
    fn multi_line_input_becomes_one_line() {
        let b = Batch::parse("[\n {\"ev\": \"AM\"}\n]").unwrap();
        assert!(!b.text.as_str().contains('\n'));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in ["", "nope", "[1,", "42", "\"s\"", "{\"ev\":"] {
            assert!(Batch::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn non_object_events_have_no_routing() {
        let b = Batch::parse("[1,\"x\"]").unwrap();
        assert!(b.events.iter().all(|e| e.ev.is_none()));
    }

    #[test]
    fn from_value_wraps_objects() {
        let v = serde_json::json!({"ev": "AVG", "a": 1.5});
        let b = Batch::from_value(&v);
        let back: serde_json::Value = serde_json::from_str(b.text.as_str()).unwrap();
        assert_eq!(back, serde_json::json!([{"ev": "AVG", "a": 1.5}]));
    }
}
