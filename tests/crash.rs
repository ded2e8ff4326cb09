//! Crash torture at the server level: the real `kdfs` binary is SIGKILLed while concurrent
//! clients stream updates, restarted, and checked: every acknowledged row is present exactly
//! once with its values, every frame is sorted by its index without duplicates, and nothing
//! appears that no client sent.
//!
//! Writers: batched clients (one frame each, batches of 1–3,000 rows, some overlapping earlier
//! rows, some upserts) and one-row clients sharing one frame (interleaved indexes, so rows land
//! in the middle of the frame); one of them sends an extra column `v`, extending the schema.
//! After a restart each writer first re-sends the batch that was in flight at the kill (a client
//! retrying), which must not duplicate anything. The server runs with a tiny memory budget and a
//! low compaction threshold, so evictions and compactions happen while it is killed.
//!
//! Short by default (3 cycles). Long runs: `KDFS_TORTURE_CYCLES=200` (see scripts/torture.sh);
//! `KDFS_TORTURE_SEED=N` repeats the random choices of a run (the kill moments still depend on
//! the machine's timing).

mod common;

use arrow::array::{Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use common::{ServerProc, bars, floats, ints};
use kdfs_client::{Client, ClientOptions, ReadOptions, UpdateOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BATCH_WRITERS: usize = 3;
const ROW_WRITERS: i64 = 4;
const SHARED: &str = "torture/rows/shared";
/// Server flags: evictions (1 MiB) and compactions (every 3,000 logged rows) while writing.
const SERVER_ARGS: [&str; 4] = ["--memory", "1MiB", "--compact-after-rows", "3000"];
/// No single request may take longer than this (the test fails instead of hanging).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

fn batch_key(writer: usize) -> String {
    format!("torture/batch/{writer}")
}

/// splitmix64: a tiny seeded generator, so a printed seed repeats a run's choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Value of `c` for index `t` in frame `key`: the verifier recomputes it.
fn expected_c(key: &str, t: i64) -> f64 {
    t as f64 * 1.5 + offset(key, t)
}

fn offset(key: &str, t: i64) -> f64 {
    match key.strip_prefix("torture/batch/") {
        Some(writer) => writer.parse::<f64>().expect("writer number"),
        None => 100.0 + t.rem_euclid(ROW_WRITERS) as f64,
    }
}

/// One-row writer 0 sends `v = 3t`; the others send no `v` (read back as null).
fn expected_v(key: &str, t: i64) -> Option<i64> {
    (key == SHARED && t.rem_euclid(ROW_WRITERS) == 0).then_some(3 * t)
}

/// The rows of `ts` as frame `key` expects them.
fn batch_for(key: &str, ts: &[i64]) -> RecordBatch {
    let Some(&first) = ts.first() else {
        panic!("empty batch")
    };
    let base = bars(ts, offset(key, first));
    if expected_v(key, first).is_none() {
        return base;
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Int64, false),
        Field::new("c", DataType::Float64, true),
        Field::new("v", DataType::Int64, true),
    ]));
    let v: Vec<i64> = ts.iter().map(|t| 3 * t).collect();
    let mut columns = base.columns().to_vec();
    columns.push(Arc::new(Int64Array::from(v)));
    RecordBatch::try_new(schema, columns).unwrap()
}

/// Every row any client sent, and the ones the server acknowledged, per frame.
#[derive(Default, Clone)]
struct Ledger {
    sent: BTreeMap<String, BTreeSet<i64>>,
    acked: BTreeMap<String, BTreeSet<i64>>,
}

/// A writer's state that survives restarts.
struct Writer {
    key: String,
    /// Next new index: batched writers count up from 0; one-row writer `k` uses `k + 4n`.
    next: i64,
    step: i64,
    batched: bool,
    /// The request in flight when the server died, re-sent first after the restart.
    unacked: Option<(Vec<i64>, bool)>,
    rng: Rng,
}

impl Writer {
    /// The next request: indexes and whether it upserts.
    fn plan(&mut self) -> (Vec<i64>, bool) {
        if let Some(retry) = self.unacked.take() {
            return retry;
        }
        if !self.batched {
            let t = self.next;
            self.next += self.step;
            return (vec![t], false);
        }
        let n = self.rng.range(1, 3000) as i64;
        let upsert = self.rng.range(0, 9) == 0;
        // One in five batches overlaps rows already sent (first write wins / upsert, same
        // values): the frame must still hold each index once.
        if self.next > 0 && self.rng.range(0, 4) == 0 {
            let start = self.next - self.rng.range(1, self.next.min(2000) as u64) as i64;
            return ((start..start + n).collect(), upsert);
        }
        let ts = (self.next..self.next + n).collect();
        self.next += n;
        (ts, upsert)
    }
}

fn options() -> ClientOptions {
    ClientOptions {
        timeout: Some(REQUEST_TIMEOUT),
        ..ClientOptions::default()
    }
}

async fn connect(addr: &str) -> Client {
    Client::connect_with(addr, options())
        .await
        .expect("connect")
}

/// Update until the server goes away; returns the writer (with its in-flight request).
async fn write_until_killed(addr: String, mut w: Writer, ledger: Arc<Mutex<Ledger>>) -> Writer {
    let Ok(mut client) = Client::connect_with(&addr, options()).await else {
        return w;
    };
    loop {
        let (ts, upsert) = w.plan();
        ledger
            .lock()
            .unwrap()
            .sent
            .entry(w.key.clone())
            .or_default()
            .extend(&ts);
        let options = UpdateOptions {
            upsert,
            ..UpdateOptions::default()
        };
        match client
            .update(&w.key, &batch_for(&w.key, &ts), options)
            .await
        {
            Ok(_) => {
                let mut ledger = ledger.lock().unwrap();
                ledger.acked.entry(w.key.clone()).or_default().extend(&ts);
            }
            Err(e) => {
                // Only the kill may stop a writer: anything else is a server bug.
                assert!(
                    matches!(
                        e,
                        kdfs_client::ClientError::Io(_) | kdfs_client::ClientError::Closed
                    ),
                    "update of {} failed: {e}",
                    w.key
                );
                w.unacked = Some((ts, upsert));
                return w;
            }
        }
    }
}

/// Check every frame against the ledger; returns the number of acknowledged rows checked.
async fn verify(client: &mut Client, ledger: &Ledger) -> usize {
    let mut checked = 0;
    for (key, acked) in &ledger.acked {
        let table = client
            .read_table(key, ReadOptions::default())
            .await
            .unwrap_or_else(|e| panic!("read {key}: {e}"));
        let ts = ints(&table.batches, "t");
        assert!(
            ts.windows(2).all(|p| p[0] < p[1]),
            "{key} is not sorted and deduplicated"
        );
        let present: BTreeSet<i64> = ts.iter().copied().collect();
        let lost: Vec<_> = acked.difference(&present).take(10).collect();
        assert!(
            lost.is_empty(),
            "{key} lost acknowledged rows, e.g. {lost:?}"
        );
        let sent = &ledger.sent[key];
        let invented: Vec<_> = present.difference(sent).take(10).collect();
        assert!(
            invented.is_empty(),
            "{key} has rows nobody sent: {invented:?}"
        );
        for (t, c) in ts.iter().zip(floats(&table.batches, "c")) {
            assert_eq!(c, Some(expected_c(key, *t)), "{key} row {t}: wrong c");
        }
        if key == SHARED {
            for (t, v) in ts.iter().zip(optional_ints(&table.batches, "v")) {
                assert_eq!(v, expected_v(key, *t), "{key} row {t}: wrong v");
            }
        }
        checked += acked.len();
    }
    checked
}

/// Int64 column `name`, all null when the frame has no such column (yet).
fn optional_ints(batches: &[RecordBatch], name: &str) -> Vec<Option<i64>> {
    batches
        .iter()
        .flat_map(|b| match b.column_by_name(name) {
            Some(col) => {
                let a = col.as_any().downcast_ref::<Int64Array>().expect("Int64 v");
                (0..a.len())
                    .map(|i| (!a.is_null(i)).then(|| a.value(i)))
                    .collect::<Vec<_>>()
            }
            None => vec![None; b.num_rows()],
        })
        .collect()
}

/// Wait (bounded) until the writers got acknowledgements on every frame in this cycle, so each
/// cycle kills a server that is really busy.
async fn wait_for_acks(ledger: &Mutex<Ledger>, before: usize, writers: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let (total, keys) = {
            let l = ledger.lock().unwrap();
            (
                l.acked.values().map(|s| s.len()).sum::<usize>(),
                l.acked.len(),
            )
        };
        if total > before + writers && keys > BATCH_WRITERS {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("writers made no progress for 60 s");
}

/// A copy of the ledger (no lock held while awaiting).
fn snapshot(ledger: &Mutex<Ledger>) -> Ledger {
    ledger.lock().unwrap().clone()
}

fn start(dir: &Path) -> ServerProc {
    ServerProc::start(dir, &SERVER_ARGS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_concurrent_updates_loses_no_acknowledged_row() {
    let cycles: usize = std::env::var("KDFS_TORTURE_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("KDFS_TORTURE_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("torture: seed {seed} (KDFS_TORTURE_SEED={seed} repeats it), {cycles} cycles");
    let started = Instant::now();
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    // The shared frame starts without `v`: one-row writer 0's first update extends it.
    let server = start(dir.path());
    let mut c = connect(&server.addr).await;
    c.update(SHARED, &batch_for(SHARED, &[-1]), UpdateOptions::default())
        .await
        .unwrap();
    {
        let mut l = ledger.lock().unwrap();
        l.sent.entry(SHARED.into()).or_default().insert(-1);
        l.acked.entry(SHARED.into()).or_default().insert(-1);
    }
    drop(c);
    server.kill9();

    let mut writers: Vec<Writer> = (0..BATCH_WRITERS)
        .map(|w| Writer {
            key: batch_key(w),
            next: 0,
            step: 1,
            batched: true,
            unacked: None,
            rng: Rng(rng.next()),
        })
        .collect();
    writers.extend((0..ROW_WRITERS).map(|k| Writer {
        key: SHARED.to_string(),
        next: k,
        step: ROW_WRITERS,
        batched: false,
        unacked: None,
        rng: Rng(0),
    }));

    let mut verified = 0;
    let mut compactions = 0;
    for cycle in 1..=cycles {
        let server = start(dir.path());
        let mut checker = connect(&server.addr).await;
        verified += verify(&mut checker, &snapshot(&ledger)).await;
        let acked_before: usize = ledger.lock().unwrap().acked.values().map(|s| s.len()).sum();

        let tasks: Vec<_> = writers
            .drain(..)
            .map(|w| tokio::spawn(write_until_killed(server.addr.clone(), w, ledger.clone())))
            .collect();
        wait_for_acks(&ledger, acked_before, tasks.len()).await;
        let delay = Duration::from_millis(rng.range(0, 1500));
        tokio::time::sleep(delay).await;
        let stats = checker.stats(0).await.unwrap();
        compactions += stats["compactions"].as_u64().unwrap_or(0);
        server.kill9();
        for task in tasks {
            let w = tokio::time::timeout(REQUEST_TIMEOUT, task)
                .await
                .expect("a writer did not notice the kill")
                .expect("writer task");
            writers.push(w);
        }
        let acked: usize = ledger.lock().unwrap().acked.values().map(|s| s.len()).sum();
        println!(
            "torture: cycle {cycle}: killed after {delay:?} past the first acks, {} rows \
             acknowledged so far, {} compactions in this run",
            acked, stats["compactions"]
        );
    }

    // The final restart, then a clean shutdown and one more restart (compacted at shutdown).
    let server = start(dir.path());
    verified += verify(&mut connect(&server.addr).await, &snapshot(&ledger)).await;
    assert!(server.terminate().success());
    let server = start(dir.path());
    verified += verify(&mut connect(&server.addr).await, &snapshot(&ledger)).await;
    let acked: usize = ledger.lock().unwrap().acked.values().map(|s| s.len()).sum();
    println!(
        "torture: {cycles} cycles, {acked} acknowledged rows, {verified} row checks, \
         {compactions} compactions, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(acked > 0);
}
