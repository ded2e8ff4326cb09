//! A deterministic random walk of minute bars, for demos, tests and benchmarks.
//!
//! The same seed, symbols and start time always give the same bars, so tests can compare a
//! downstream result against values computed independently from the same stream.

use crate::bar::Bar;

/// SplitMix64: tiny, fast, and good enough for fake prices. Not for anything secret.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform real in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `[lo, hi)`; `lo` when the range is empty.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo) as u64) as i64
    }
}

/// One minute in milliseconds.
pub const MINUTE_MS: i64 = 60_000;

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Per-symbol random walks producing one bar per symbol per tick.
#[derive(Debug, Clone)]
pub struct FakeMarket {
    ev: String,
    symbols: Vec<String>,
    prices: Vec<f64>,
    next_start: i64,
    rng: Rng,
}

impl FakeMarket {
    /// A market for `symbols` whose first bar starts at `start_ms` (rounded down to a minute).
    pub fn new(ev: &str, symbols: Vec<String>, seed: u64, start_ms: i64) -> FakeMarket {
        let mut rng = Rng::new(seed);
        let prices = symbols
            .iter()
            .map(|_| cents(20.0 + rng.next_f64() * 480.0))
            .collect();
        FakeMarket {
            ev: ev.to_string(),
            symbols,
            prices,
            next_start: start_ms - start_ms.rem_euclid(MINUTE_MS),
            rng,
        }
    }

    /// The symbols, in bar order.
    pub fn symbols(&self) -> &[String] {
        &self.symbols
    }

    /// The next tick: one bar per symbol, all for the same minute.
    pub fn tick(&mut self) -> Vec<Bar> {
        let s = self.next_start;
        self.next_start += MINUTE_MS;
        let mut out = Vec::with_capacity(self.symbols.len());
        for (sym, price) in self.symbols.iter().zip(self.prices.iter_mut()) {
            let o = *price;
            // Four steps of up to ±0.5% each; the path's extremes are the bar's high and low.
            let mut p = o;
            let mut h = o;
            let mut l = o;
            for _ in 0..4 {
                p = cents((p * (1.0 + (self.rng.next_f64() - 0.5) * 0.01)).max(0.01));
                h = h.max(p);
                l = l.min(p);
            }
            let c = p;
            let v = self.rng.range(100, 10_000);
            let n = self.rng.range(1, 200).min(v);
            // A VWAP inside the bar's range, weighted toward the typical price.
            let vw = cents(l + (h - l) * (0.25 + 0.5 * self.rng.next_f64()));
            *price = c;
            out.push(Bar {
                ev: self.ev.clone(),
                sym: sym.clone(),
                s,
                e: s + MINUTE_MS,
                v,
                o,
                c,
                h,
                l,
                vw,
                n,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syms() -> Vec<String> {
        vec!["AAPL".into(), "MSFT".into(), "TSLA".into()]
    }

    #[test]
    fn same_seed_same_bars() {
        let mut a = FakeMarket::new("AM", syms(), 7, 0);
        let mut b = FakeMarket::new("AM", syms(), 7, 0);
        for _ in 0..20 {
            assert_eq!(a.tick(), b.tick());
        }
        let mut c = FakeMarket::new("AM", syms(), 8, 0);
        assert_ne!(a.tick(), c.tick());
    }

    #[test]
    fn bars_are_consistent_and_consecutive() {
        let mut m = FakeMarket::new("AM", syms(), 1, 90_000);
        let mut prev_close = [0.0; 3];
        for t in 0..200 {
            let bars = m.tick();
            assert_eq!(bars.len(), 3);
            for (i, b) in bars.iter().enumerate() {
                assert_eq!(b.sym, syms()[i]);
                assert_eq!(b.s, 60_000 + t * MINUTE_MS);
                assert_eq!(b.e - b.s, MINUTE_MS);
                assert!(b.l <= b.o && b.o <= b.h, "{b:?}");
                assert!(b.l <= b.c && b.c <= b.h, "{b:?}");
                assert!(b.l <= b.vw && b.vw <= b.h, "{b:?}");
                assert!(b.v >= 100 && b.n >= 1 && b.n <= b.v);
                if t > 0 {
                    assert_eq!(b.o, prev_close[i], "open continues the last close");
                }
                prev_close[i] = b.c;
            }
        }
    }

    #[test]
    fn rng_range_bounds() {
        let mut r = Rng::new(3);
        for _ in 0..1000 {
            let x = r.range(5, 9);
            assert!((5..9).contains(&x));
            let f = r.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
        assert_eq!(r.range(4, 4), 4);
    }
}
