//! SQL engine benchmarks over 10 symbols × 100,000 minute bars held in memory.
//!
//! Measures the engine alone (no network): an hourly OHLC+VWAP per symbol, the last bar of
//! every symbol, a full-scan average, and a 1% time-range read of one symbol.
//!
//!     cargo bench --bench sql

use std::hint::black_box;
use std::sync::Arc;

use arrow::array::{Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use criterion::{Criterion, criterion_group, criterion_main};
use kdfs::sql::{EngineLimits, MemorySource, SqlEngine};

// The allocator of the `kdfs` binary, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SYMBOLS: usize = 10;
const BARS: usize = 100_000;
const T0: i64 = 1_704_153_600_000;
const MINUTE: i64 = 60_000;

/// Deterministic random-walk minute bars, in batches of 8,192 rows like a compacted frame.
fn bars(seed: u64) -> Vec<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Int64, false),
        Field::new("o", DataType::Float64, false),
        Field::new("h", DataType::Float64, false),
        Field::new("l", DataType::Float64, false),
        Field::new("c", DataType::Float64, false),
        Field::new("v", DataType::Int64, false),
    ]));
    let mut state = seed.wrapping_add(1);
    let mut rnd = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut price = 100.0;
    let mut out = Vec::new();
    let mut start = 0;
    while start < BARS {
        let n = (BARS - start).min(8192);
        let (mut t, mut o, mut h, mut l, mut c, mut v) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for i in start..start + n {
            let open = price;
            let close = open + rnd() - 0.5;
            t.push(T0 + i as i64 * MINUTE);
            o.push(open);
            c.push(close);
            h.push(open.max(close) + rnd() * 0.2);
            l.push(open.min(close) - rnd() * 0.2);
            v.push((rnd() * 1000.0) as i64);
            price = close;
        }
        out.push(
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from(t)),
                    Arc::new(Float64Array::from(o)),
                    Arc::new(Float64Array::from(h)),
                    Arc::new(Float64Array::from(l)),
                    Arc::new(Float64Array::from(c)),
                    Arc::new(Int64Array::from(v)),
                ],
            )
            .expect("bench batch"),
        );
        start += n;
    }
    out
}

fn bench(c: &mut Criterion) {
    let source = Arc::new(MemorySource::new());
    for s in 0..SYMBOLS {
        source
            .insert(&format!("historical/minute/S{s}"), "t", bars(s as u64))
            .expect("insert");
    }
    let engine = SqlEngine::new(source, EngineLimits::default()).expect("engine");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let from = T0 + 50_000 * MINUTE;
    let to = from + (BARS as i64 / 100 - 1) * MINUTE;
    let queries = [
        // Parsing, planning and starting a query: the floor under every other figure.
        ("plan_and_run_select_1", "SELECT 1".to_string()),
        (
            "hourly_ohlcv_vwap_10x100k",
            "SELECT key, date_trunc('hour', ts) AS hour, first_value(o ORDER BY t) AS o, \
             max(h) AS h, min(l) AS l, last_value(c ORDER BY t) AS c, sum(v) AS v, \
             sum(c * v) / sum(v) AS vwap FROM frames('historical/minute') GROUP BY 1, 2"
                .to_string(),
        ),
        (
            "last_bar_per_symbol_10x100k",
            "SELECT key, max(t) AS t, last_value(c ORDER BY t) AS c \
             FROM frames('historical/minute') GROUP BY key"
                .to_string(),
        ),
        (
            "full_scan_avg_10x100k",
            "SELECT avg(c) FROM frames('historical/minute')".to_string(),
        ),
        (
            "range_1pct_of_100k",
            format!("SELECT * FROM historical.minute.S3 WHERE t BETWEEN {from} AND {to}"),
        ),
    ];
    for (name, sql) in &queries {
        c.bench_function(name, |b| {
            b.iter(|| {
                let (_, batches) = rt.block_on(engine.collect(sql)).expect("query");
                black_box(batches)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
