//! Turning bars into kdfs frames: the buffer between the feed and the database, and the
//! Arrow layout of `historical/minute/<sym>`.
//!
//! Every frame has the index column `t` (the bar's end, epoch ms) followed by `o h l c v vw n`.
//! Writes are upserts keyed by `t`, so re-sending a batch after an ambiguous failure (the
//! server stored it but the reply was lost) cannot duplicate rows.

use crate::bar::Bar;
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, OnceLock};

/// Why bars could not become a frame.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Arrow rejected the columns (a bug: they are built to match the schema).
    #[error("cannot build the Arrow batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The kdfs key under which a symbol's minute bars are stored.
pub fn key_for(sym: &str) -> String {
    format!("historical/minute/{sym}")
}

/// Whether a symbol can be used in a key: no path separators, no `..`, nothing empty.
pub fn valid_symbol(sym: &str) -> bool {
    !sym.is_empty()
        && sym.len() <= 64
        && sym != "."
        && !sym.contains("..")
        && sym
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
}

/// The frame schema: `t` (index), `o h l c` reals, `v` integer, `vw` real, `n` integer.
pub fn schema() -> SchemaRef {
    static S: OnceLock<SchemaRef> = OnceLock::new();
    S.get_or_init(|| {
        let f = |name: &str, t: DataType| Field::new(name, t, false);
        Arc::new(Schema::new(vec![
            f("t", DataType::Int64),
            f("o", DataType::Float64),
            f("h", DataType::Float64),
            f("l", DataType::Float64),
            f("c", DataType::Float64),
            f("v", DataType::Int64),
            f("vw", DataType::Float64),
            f("n", DataType::Int64),
        ]))
    })
    .clone()
}

/// One frame from a symbol's bars (in the given order).
pub fn to_record_batch(bars: &[Bar]) -> Result<RecordBatch, IngestError> {
    let reals = |f: fn(&Bar) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(bars.iter().map(f)))
    };
    let ints = |f: fn(&Bar) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(bars.iter().map(f)))
    };
    let cols = vec![
        ints(|b| b.e),
        reals(|b| b.o),
        reals(|b| b.h),
        reals(|b| b.l),
        reals(|b| b.c),
        ints(|b| b.v),
        reals(|b| b.vw),
        ints(|b| b.n),
    ];
    Ok(RecordBatch::try_new(schema(), cols)?)
}

/// Bars waiting to be written, oldest first, bounded. When full, the oldest bars are dropped
/// and counted, so the caller can say exactly how many were lost.
#[derive(Debug)]
pub struct Pending {
    bars: VecDeque<Bar>,
    cap: usize,
    dropped: u64,
}

impl Pending {
    /// An empty buffer holding at most `cap` bars.
    pub fn new(cap: usize) -> Pending {
        Pending {
            bars: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// Add a bar; returns how many old bars this push dropped (0 or 1).
    pub fn push(&mut self, bar: Bar) -> u64 {
        let mut dropped = 0;
        if self.bars.len() >= self.cap {
            self.bars.pop_front();
            dropped = 1;
        }
        self.bars.push_back(bar);
        self.dropped += dropped;
        dropped
    }

    /// Take everything, grouped by symbol (bars of a symbol keep their order).
    pub fn take(&mut self) -> BTreeMap<String, Vec<Bar>> {
        let mut out: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
        for b in self.bars.drain(..) {
            out.entry(b.sym.clone()).or_default().push(b);
        }
        out
    }

    /// Put bars that could not be written back in front of newer ones. If that overflows
    /// the buffer, the oldest are dropped and counted.
    pub fn restore(&mut self, bars: Vec<Bar>) {
        for b in bars.into_iter().rev() {
            if self.bars.len() >= self.cap {
                // The restored bar is older than everything queued: it is the one to lose.
                self.dropped += 1;
                continue;
            }
            self.bars.push_front(b);
        }
    }

    /// Bars waiting.
    pub fn len(&self) -> usize {
        self.bars.len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.bars.is_empty()
    }

    /// Bars dropped so far because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeMarket;

    fn bars(n: usize) -> Vec<Bar> {
        let mut m = FakeMarket::new("AM", vec!["A".into(), "B".into()], 1, 0);
        (0..n).flat_map(|_| m.tick()).collect()
    }

    #[test]
    fn record_batch_has_the_frame_layout() {
        let bs: Vec<Bar> = bars(3).into_iter().filter(|b| b.sym == "A").collect();
        let rb = to_record_batch(&bs).unwrap();
        assert_eq!(rb.num_rows(), 3);
        let names: Vec<_> = rb
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["t", "o", "h", "l", "c", "v", "vw", "n"]);
        let t = rb.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(
            t.values().to_vec(),
            bs.iter().map(|b| b.e).collect::<Vec<_>>()
        );
        let c = rb
            .column(4)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(c.value(2), bs[2].c);
    }

    #[test]
    fn pending_groups_by_symbol_in_order() {
        let mut p = Pending::new(100);
        for b in bars(4) {
            assert_eq!(p.push(b), 0);
        }
        let g = p.take();
        assert!(p.is_empty());
        assert_eq!(g.len(), 2);
        let es: Vec<i64> = g["A"].iter().map(|b| b.e).collect();
        assert!(es.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(es.len(), 4);
    }

    #[test]
    fn overflow_drops_the_oldest_and_counts() {
        let mut p = Pending::new(3);
        let all = bars(3); // 6 bars
        let dropped: u64 = all.iter().cloned().map(|b| p.push(b)).sum();
        assert_eq!(dropped, 3);
        assert_eq!(p.dropped(), 3);
        let kept: Vec<Bar> = p.take().into_values().flatten().collect();
        assert_eq!(kept.len(), 3);
        assert!(kept.iter().all(|b| all[3..].contains(b)));
    }

    #[test]
    fn restore_puts_failed_bars_first_and_counts_overflow() {
        let all = bars(2); // A0 B0 A1 B1
        let mut p = Pending::new(3);
        p.push(all[2].clone());
        p.restore(vec![all[0].clone(), all[1].clone()]);
        assert_eq!(p.len(), 3);
        assert_eq!(p.take()["A"][0], all[0]);
        p.push(all[3].clone());
        p.push(all[2].clone());
        p.push(all[2].clone());
        p.restore(vec![all[0].clone()]);
        assert_eq!(p.dropped(), 1);
    }

    #[test]
    fn symbols_that_would_escape_the_key_space_are_invalid() {
        for ok in ["AAPL", "BRK.A", "S0001", "X:Y"] {
            assert!(valid_symbol(ok), "{ok}");
        }
        for bad in ["", "a/b", "..", "../x", ".", "a b", &"X".repeat(65)] {
            assert!(!valid_symbol(bad), "{bad}");
        }
        assert_eq!(key_for("AAPL"), "historical/minute/AAPL");
    }
}
