//! The minute bar: the record the fake source emits and the ingest stores.
//!
//! Field names follow the original Python feeders (Polygon's aggregate-minute format), so
//! existing Grafana panels and handlers keep working: `ev` event type, `sym` symbol, `s`/`e`
//! start/end in epoch milliseconds, `v` volume, `o`/`c`/`h`/`l` open/close/high/low, `vw`
//! volume-weighted average price. `n` (number of trades) is an addition; older producers
//! that omit it are read as 0.

use crate::batch::{Batch, Event};
use serde::{Deserialize, Serialize};

/// One aggregate bar for one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// Event type, `AM` for minute bars.
    pub ev: String,
    /// Ticker symbol.
    pub sym: String,
    /// Bar start, epoch milliseconds.
    pub s: i64,
    /// Bar end, epoch milliseconds (the bar's key in kdfs).
    pub e: i64,
    /// Traded volume.
    pub v: i64,
    /// Open price.
    pub o: f64,
    /// Close price.
    pub c: f64,
    /// High price.
    pub h: f64,
    /// Low price.
    pub l: f64,
    /// Volume-weighted average price.
    pub vw: f64,
    /// Number of trades in the bar.
    #[serde(default)]
    pub n: i64,
    /// Publish time in epoch microseconds, only when the source runs with `--stamp` (for
    /// latency measurements); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<i64>,
}

/// Bars as a ready-to-publish batch (each bar serialized once, no re-parsing).
pub fn to_batch(bars: &[Bar]) -> Batch {
    Batch::from_events(
        bars.iter()
            .map(|b| Event {
                ev: Some(b.ev.clone()),
                sym: Some(b.sym.clone()),
                json: serde_json::to_string(b)
                    .unwrap_or_else(|_| "{}".to_string())
                    .into(),
            })
            .collect(),
    )
}

/// Serialize bars as one message: a JSON array with one object per bar.
pub fn to_message(bars: &[Bar]) -> String {
    // Serializing plain structs of strings and finite numbers cannot fail; an empty array is
    // the harmless fallback should a non-finite price ever slip in.
    serde_json::to_string(bars).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar() -> Bar {
        Bar {
            ev: "AM".into(),
            sym: "AAPL".into(),
            s: 60_000,
            e: 120_000,
            v: 1200,
            o: 10.0,
            c: 10.5,
            h: 11.0,
            l: 9.5,
            vw: 10.25,
            n: 7,
            t: None,
        }
    }

    #[test]
    fn round_trips_through_json() {
        let text = to_message(&[bar()]);
        let back: Vec<Bar> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, vec![bar()]);
    }

    #[test]
    fn batch_text_equals_the_message() {
        let bars = [bar(), bar()];
        let b = to_batch(&bars);
        assert_eq!(b.text.as_str(), to_message(&bars));
        assert_eq!(b.events[1].sym.as_deref(), Some("AAPL"));
    }

    #[test]
    fn uses_the_original_field_names() {
        let v: serde_json::Value = serde_json::from_str(&to_message(&[bar()])).unwrap();
        let o = v[0].as_object().unwrap();
        for k in ["ev", "sym", "s", "e", "v", "o", "c", "h", "l", "vw"] {
            assert!(o.contains_key(k), "missing {k}");
        }
    }

    #[test]
    fn reads_bars_without_trade_count() {
        let b: Bar = serde_json::from_str(
            r#"{"ev":"AM","sym":"X","s":1,"e":2,"v":3,"o":1.0,"c":1,"h":1,"l":1,"vw":1}"#,
        )
        .unwrap();
        assert_eq!(b.n, 0);
        assert_eq!(b.t, None);
        assert!(!to_message(std::slice::from_ref(&b)).contains("\"t\""));
        assert_eq!(b.c, 1.0);
    }
}
