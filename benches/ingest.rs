//! Write and read throughput of the real server over loopback, with durable acknowledgements.
//!
//! Starts `kdfs::server::Server` in-process on 127.0.0.1 (port 0, temporary directory) and
//! drives it through `kdfs-client`:
//!
//! * 8 connections, each sending 1,000-row batches to its own frame and waiting for every
//!   acknowledgement (rows/s);
//! * 16 connections of one-row updates (the live-feed pattern), one frame each (rows/s), first
//!   waiting for every acknowledgement, then pipelined (64 in flight per connection);
//! * p50/p99 latency of 500 random 1% time-range reads of a 1,000,000-row frame.
//!
//! ```text
//! cargo bench --bench ingest
//! KDFS_BENCH_SCALE=0.1 cargo bench --bench ingest   # a tenth of the work
//! KDFS_BENCH_ONLY=pipelined,range cargo bench --bench ingest   # some workloads only
//! ```
//!
//! Workload names for `KDFS_BENCH_ONLY`: `batched`, `single`, `pipelined`, `range`.
//!
//! Every update is acknowledged only once it is durable (redb `Durability::Immediate`), so the
//! figures include the fsyncs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use kdfs::server::{Server, ServerConfig};
use kdfs_client::{Client, ReadOptions, UpdateOptions};
use tokio::sync::oneshot;

// The allocator of the `kdfs` binary, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH_ROWS: usize = 1_000;
const BATCH_CONNECTIONS: usize = 8;
const LIVE_CONNECTIONS: usize = 16;
const RANGE_FRAME_ROWS: usize = 1_000_000;
const RANGE_READS: usize = 500;

/// Minute bars `start..start + n` (index `t`), like a feeder sends.
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
    .expect("bench batch")
}

/// `KDFS_BENCH_SCALE` (default 1): multiplies the amount of work of every measurement.
/// `cargo bench` passes `--bench`; without it (`cargo test --benches`) a 1% run just checks
/// that the benchmark still works.
fn scale() -> f64 {
    static SCALE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *SCALE.get_or_init(|| {
        let quick = !std::env::args().any(|a| a == "--bench");
        std::env::var("KDFS_BENCH_SCALE")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .unwrap_or(if quick { 0.01 } else { 1.0 })
    })
}

/// Whether workload `name` runs (all do unless `KDFS_BENCH_ONLY` lists some).
fn selected(name: &str) -> bool {
    match std::env::var("KDFS_BENCH_ONLY") {
        Ok(list) => list.split(',').any(|w| w.trim() == name),
        Err(_) => true,
    }
}

fn scaled(n: usize) -> usize {
    ((n as f64 * scale()) as usize).max(1)
}

/// One line of the result table.
struct Row {
    workload: String,
    result: String,
}

/// `connections` clients each run `work` on their own connection; returns the wall time.
async fn on_connections<F, Fut>(addr: &str, connections: usize, work: F) -> Duration
where
    F: Fn(usize, Client) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut clients = Vec::new();
    for _ in 0..connections {
        clients.push(Client::connect(addr).await.expect("connect"));
    }
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(c, client)| tokio::spawn(work(c, client)))
        .collect();
    for t in tasks {
        t.await.expect("bench task");
    }
    started.elapsed()
}

/// 8 connections × 1,000-row batches, each acknowledged before the next is sent.
async fn batched(addr: &str) -> Row {
    let per_connection = scaled(1_000 / BATCH_CONNECTIONS);
    let batches: Vec<Vec<RecordBatch>> = (0..BATCH_CONNECTIONS)
        .map(|_| {
            (0..per_connection)
                .map(|b| bars((b * BATCH_ROWS) as i64, BATCH_ROWS))
                .collect()
        })
        .collect();
    let batches = Arc::new(batches);
    let elapsed = on_connections(addr, BATCH_CONNECTIONS, |c, mut client| {
        let batches = Arc::clone(&batches);
        async move {
            let key = format!("bench/batch/S{c}");
            for b in &batches[c] {
                client
                    .update(&key, b, UpdateOptions::default())
                    .await
                    .expect("update");
            }
        }
    })
    .await;
    let rows = (BATCH_CONNECTIONS * per_connection * BATCH_ROWS) as f64;
    Row {
        workload: format!(
            "{BATCH_CONNECTIONS} connections × {BATCH_ROWS}-row batches ({} rows)",
            rows as u64
        ),
        result: format!("{:.0} rows/s", rows / elapsed.as_secs_f64()),
    }
}

/// 16 connections of one-row updates to one frame each: waiting for every acknowledgement
/// (`pipelined` false), or with up to [`kdfs_client::DEFAULT_WINDOW`] in flight per
/// connection through [`Client::update_many`].
async fn one_row(addr: &str, pipelined: bool) -> Row {
    let per_connection = scaled(if pipelined { 10_000 } else { 1_000 });
    let rows: Vec<Vec<RecordBatch>> = (0..LIVE_CONNECTIONS)
        .map(|_| (0..per_connection).map(|i| bars(i as i64, 1)).collect())
        .collect();
    let rows = Arc::new(rows);
    let tag = if pipelined { "pipelined" } else { "single" };
    let elapsed = on_connections(addr, LIVE_CONNECTIONS, |c, mut client| {
        let rows = Arc::clone(&rows);
        async move {
            let key = format!("bench/live-{tag}/S{c}");
            if pipelined {
                for r in client
                    .update_many(&key, &rows[c], UpdateOptions::default())
                    .await
                    .expect("pipelined updates")
                {
                    r.expect("update");
                }
            } else {
                for row in &rows[c] {
                    client
                        .update(&key, row, UpdateOptions::default())
                        .await
                        .expect("update");
                }
            }
        }
    })
    .await;
    let total = (LIVE_CONNECTIONS * per_connection) as f64;
    let in_flight = if pipelined {
        format!("{} in flight each", kdfs_client::DEFAULT_WINDOW)
    } else {
        "1 in flight each".to_string()
    };
    Row {
        workload: format!(
            "{LIVE_CONNECTIONS} connections × one-row updates, {in_flight} ({} rows)",
            total as u64
        ),
        result: format!("{:.0} rows/s", total / elapsed.as_secs_f64()),
    }
}

/// p50/p99 of random 1% range reads of a 1,000,000-row frame (cached on the server).
async fn range_reads(addr: &str) -> Row {
    let rows = scaled(RANGE_FRAME_ROWS).max(1_000);
    let key = "bench/range/AAPL";
    let mut client = Client::connect(addr).await.expect("connect");
    let chunk = 100_000;
    let mut start = 0;
    while start < rows {
        let n = chunk.min(rows - start);
        client
            .update(key, &bars(start as i64, n), UpdateOptions::default())
            .await
            .expect("load the range frame");
        start += n;
    }
    let width = rows / 100;
    let reads = scaled(RANGE_READS).max(20);
    // A fixed-seed LCG: the same ranges every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut latencies = Vec::with_capacity(reads);
    for _ in 0..reads {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let from = ((state >> 33) as usize % (rows - width + 1)) as i64;
        let options = ReadOptions {
            start: Some(from),
            end: Some(from + width as i64 - 1),
            ..ReadOptions::default()
        };
        let t = Instant::now();
        let batches = client.read(key, options).await.expect("read");
        latencies.push(t.elapsed());
        let got: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(got, width, "a 1% read returned the wrong number of rows");
    }
    latencies.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    Row {
        workload: format!("{reads} random 1% range reads ({width} rows) of a {rows}-row frame"),
        result: format!(
            "p50 {:.0} µs, p99 {:.0} µs",
            pct(50).as_secs_f64() * 1e6,
            pct(99).as_secs_f64() * 1e6
        ),
    }
}

fn print_table(rows: &[Row]) {
    let w = rows.iter().map(|r| r.workload.len()).max().unwrap_or(8);
    println!("\n{:<w$}  result", "workload");
    println!("{:-<w$}  {:-<24}", "", "");
    for r in rows {
        println!("{:<w$}  {}", r.workload, r.result);
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = ServerConfig {
            dir: dir.path().to_path_buf(),
            port: 0,
            memory: 4 << 30,
            ..ServerConfig::default()
        };
        let server = Server::bind(config).await.expect("start the server");
        let addr = server.local_addr().to_string();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let running = tokio::spawn(server.run(async {
            let _ = stop_rx.await;
        }));
        println!("kdfs ingest benchmark on {addr}, scale {}", scale());
        let mut table = Vec::new();
        if selected("batched") {
            table.push(batched(&addr).await);
        }
        if selected("single") {
            table.push(one_row(&addr, false).await);
        }
        if selected("pipelined") {
            table.push(one_row(&addr, true).await);
        }
        if selected("range") {
            table.push(range_reads(&addr).await);
        }
        print_table(&table);
        let _ = stop_tx.send(());
        running
            .await
            .expect("server task")
            .expect("server shutdown");
    });
}
