//! In-process throughput of the store (no network): one-row updates from concurrent tasks,
//! 1,000-row batches, and 1% range reads of a 1,000,000-row cached frame.
//!
//! `cargo run --release -p kdfs-store --example throughput [UPDATES_PER_TASK] [IN_FLIGHT] [KEYS]`
//!
//! One-row updates go to `KEYS` keys (default 16) from `IN_FLIGHT` concurrent tasks (default 16: one per key,
//! like 16 connections that each wait for every acknowledgement); batches use `IN_FLIGHT / 16`
//! concurrent writers.

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, Float64Array, Int64Array};
use arrow::record_batch::RecordBatch;
use kdfs_store::{FrameStore, KeyPath, RangeFilter, StoreConfig, UpdateMode};

fn bars(start: i64, n: usize) -> RecordBatch {
    let t: Vec<i64> = (start..start + n as i64).collect();
    let px: Vec<f64> = t.iter().map(|v| *v as f64 * 0.01).collect();
    RecordBatch::try_from_iter(vec![
        ("t", Arc::new(Int64Array::from(t)) as ArrayRef),
        ("open", Arc::new(Float64Array::from(px.clone())) as ArrayRef),
        ("high", Arc::new(Float64Array::from(px.clone())) as ArrayRef),
        ("low", Arc::new(Float64Array::from(px.clone())) as ArrayRef),
        ("close", Arc::new(Float64Array::from(px)) as ArrayRef),
        (
            "volume",
            Arc::new(Int64Array::from(vec![100; n])) as ArrayRef,
        ),
    ])
    .expect("batch")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let arg = |i: usize, default: i64| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let per_task = arg(1, 10_000);
    let in_flight = arg(2, 16).max(16);
    let keys = arg(3, 16).max(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FrameStore::open(dir.path(), StoreConfig::default()).expect("open");

    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..in_flight {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let key = KeyPath::parse(&format!("live/S{}", c % keys)).expect("key");
            for i in 0..per_task {
                let t = i * in_flight + c;
                let b = bars(t, 1);
                store
                    .update(&key, "t", b, UpdateMode::Append)
                    .await
                    .expect("update");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let secs = started.elapsed().as_secs_f64();
    let n = (in_flight * per_task) as f64;
    println!(
        "one-row updates, {in_flight} in flight: {:.0} updates/s",
        n / secs
    );

    let key = KeyPath::parse("hist/AAPL").expect("key");
    let writers = (in_flight / 16).max(1);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let store = store.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            for b in (w..1000).step_by(writers as usize) {
                let batch = bars(b * 1000, 1000);
                store
                    .update(&key, "t", batch, UpdateMode::Append)
                    .await
                    .expect("update");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "1,000-row batches, {writers} in flight: {:.0} rows/s",
        1_000_000.0 / secs
    );

    let mut lat = Vec::new();
    for i in 0..2000 {
        let start = (i * 4_999) % 990_000;
        let t = Instant::now();
        let d = store
            .read(&key, RangeFilter::between(start, start + 9_999), None)
            .expect("read");
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(d.num_rows(), 10_000);
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "1% range read: p50 {:.1} us, p99 {:.1} us",
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100]
    );
    let t = Instant::now();
    store.compact_now().await.expect("compact");
    println!(
        "compaction of all frames: {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let stats = store.stats();
    println!(
        "stats: frames {} rows {} mem {} disk {}",
        stats.frames, stats.rows, stats.memory_used, stats.disk_bytes
    );
    store.shutdown().expect("shutdown");
}
