//! Tests of the SQL engine against the in-memory source.
//!
//! Expected values are computed directly from the generated bars, never copied from output.

mod catalog;
mod errors;
mod pushdown;
mod rollup;

use std::sync::Arc;

use arrow::array::{
    Array, AsArray, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use futures::StreamExt;

use super::{EngineLimits, FrameSource, MemorySource, SqlEngine, SqlError};

/// 2024-01-02 00:00:00 UTC in epoch milliseconds.
pub(super) const T0: i64 = 1_704_153_600_000;
/// One minute in milliseconds.
pub(super) const MINUTE: i64 = 60_000;

/// A minute bar, as generated for the tests.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bar {
    pub t: i64,
    pub o: f64,
    pub h: f64,
    pub l: f64,
    pub c: f64,
    pub v: i64,
}

/// `n` deterministic pseudo-random minute bars starting at `start`.
pub(super) fn gen_bars(start: i64, n: usize, seed: u64) -> Vec<Bar> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut price = 100.0 + seed as f64;
    (0..n)
        .map(|i| {
            let o = price;
            let c = o + (next() - 0.5);
            let h = o.max(c) + next() * 0.25;
            let l = o.min(c) - next() * 0.25;
            price = c;
            Bar {
                t: start + i as i64 * MINUTE,
                o,
                h,
                l,
                c,
                v: (next() * 1000.0) as i64 + 1,
            }
        })
        .collect()
}

/// Bars as batches of at most `chunk` rows (columns t, o, h, l, c, v).
pub(super) fn bar_batches(bars: &[Bar], chunk: usize) -> Vec<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Int64, false),
        Field::new("o", DataType::Float64, false),
        Field::new("h", DataType::Float64, false),
        Field::new("l", DataType::Float64, false),
        Field::new("c", DataType::Float64, false),
        Field::new("v", DataType::Int64, false),
    ]));
    bars.chunks(chunk)
        .map(|b| {
            let f = |g: fn(&Bar) -> f64| Arc::new(Float64Array::from_iter_values(b.iter().map(g)));
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int64Array::from_iter_values(b.iter().map(|x| x.t))),
                    f(|x| x.o),
                    f(|x| x.h),
                    f(|x| x.l),
                    f(|x| x.c),
                    Arc::new(Int64Array::from_iter_values(b.iter().map(|x| x.v))),
                ],
            )
            .unwrap()
        })
        .collect()
}

/// Small limits so tests stay fast in debug builds.
pub(super) fn test_limits() -> EngineLimits {
    EngineLimits {
        target_partitions: 2,
        ..EngineLimits::default()
    }
}

/// A source holding `bars` under each of `keys` (seeded by position) and an engine over it.
pub(super) fn setup(keys: &[&str], n: usize) -> (Arc<MemorySource>, SqlEngine) {
    let source = Arc::new(MemorySource::new());
    for (i, k) in keys.iter().enumerate() {
        let bars = gen_bars(T0, n, i as u64);
        source.insert(k, "t", bar_batches(&bars, 1000)).unwrap();
    }
    let engine = SqlEngine::new(source.clone(), test_limits()).unwrap();
    (source, engine)
}

/// Runs `sql` and returns all rows as one batch.
pub(super) async fn run(engine: &SqlEngine, sql: &str) -> RecordBatch {
    match try_run(engine, sql).await {
        Ok(b) => b,
        Err(e) => panic!("query failed: {sql}\n{e}"),
    }
}

/// Runs `sql`, returning the error if any.
pub(super) async fn try_run(engine: &SqlEngine, sql: &str) -> Result<RecordBatch, SqlError> {
    let mut stream = engine.execute(sql).await?;
    let schema = stream.schema();
    let mut batches = Vec::new();
    while let Some(b) = stream.next().await {
        batches.push(b?);
    }
    Ok(concat_batches(&schema, &batches).unwrap())
}

pub(super) fn i64s(b: &RecordBatch, name: &str) -> Vec<i64> {
    let c = b.column_by_name(name).unwrap();
    match c.data_type() {
        DataType::Timestamp(_, _) => {
            let ms = DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, None);
            let c = arrow::compute::cast(c, &ms).unwrap();
            c.as_any()
                .downcast_ref::<TimestampMillisecondArray>()
                .unwrap()
                .values()
                .to_vec()
        }
        _ => c.as_primitive::<Int64Type>().values().to_vec(),
    }
}

pub(super) fn f64s(b: &RecordBatch, name: &str) -> Vec<f64> {
    b.column_by_name(name)
        .unwrap()
        .as_primitive::<Float64Type>()
        .values()
        .to_vec()
}

pub(super) fn strs(b: &RecordBatch, name: &str) -> Vec<String> {
    let c = b.column_by_name(name).unwrap();
    let c = arrow::compute::cast(c, &DataType::Utf8).unwrap();
    let s = c.as_any().downcast_ref::<StringArray>().unwrap();
    (0..s.len()).map(|i| s.value(i).to_string()).collect()
}

pub(super) fn count(b: &RecordBatch) -> i64 {
    i64s(b, "n")[0]
}
