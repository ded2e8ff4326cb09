//! Mixed load against the real `kdfs` binary: many connections at once doing updates, range
//! reads, SQL and Klong, for a fixed time.
//!
//!     cargo bench --bench load                                  # 256 connections, 60 s
//!     KDFS_LOAD_CONNECTIONS=64 KDFS_LOAD_SECS=10 cargo bench --bench load
//!     KDFS_BIN=/path/to/kdfs cargo bench --bench load            # another server binary
//!     KDFS_LOAD_MIX=read=100 cargo bench --bench load            # only range reads
//!
//! `KDFS_LOAD_MIX` takes `one`, `batch`, `read`, `sql` and `klong` shares (default
//! `one=30,batch=10,read=40,sql=10,klong=10`); running one kind at a time tells which kind of
//! request the server's memory goes to. Every `KDFS_LOAD_SAMPLE_SECS` (default 15) the bench
//! prints the server's resident memory next to what its frame cache holds.
//!
//! Reports, per kind of request, how many ran, their rate and p50/p99 latency, the errors (any
//! error makes the run fail), and the server's peak resident memory next to its `--memory`
//! cache budget (read from /proc, so Linux only). A request still unanswered
//! [`STUCK_AFTER`] after it was sent counts as an error (and is named on stderr), so a server
//! that stops answering fails the run instead of hanging it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use kdfs_client::{Client, ReadOptions, UpdateOptions};

const SYMBOLS: i64 = 10;
const SEED_BARS: i64 = 100_000;
/// Rows of a range read: 1% of a seeded frame.
const RANGE: i64 = SEED_BARS / 100;
const MINUTE: i64 = 60_000;
const MEMORY_BUDGET: &str = "256MiB";
const MEMORY_BUDGET_BYTES: u64 = 256 << 20;
/// Longer than any request may take: twice the server's default `--query-timeout` (30 s).
const STUCK_AFTER: Duration = Duration::from_secs(60);

/// The kinds of request in the default mix, with their share out of 100.
const DEFAULT_MIX: [(Kind, u32); 5] = [
    (Kind::OneRowUpdate, 30),
    (Kind::BatchUpdate, 10),
    (Kind::RangeRead, 40),
    (Kind::Sql, 10),
    (Kind::Klong, 10),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    OneRowUpdate,
    BatchUpdate,
    RangeRead,
    Sql,
    Klong,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::OneRowUpdate,
        Kind::BatchUpdate,
        Kind::RangeRead,
        Kind::Sql,
        Kind::Klong,
    ];

    /// The name of this kind in `KDFS_LOAD_MIX`.
    fn short(self) -> &'static str {
        match self {
            Kind::OneRowUpdate => "one",
            Kind::BatchUpdate => "batch",
            Kind::RangeRead => "read",
            Kind::Sql => "sql",
            Kind::Klong => "klong",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::OneRowUpdate => "one-row update",
            Kind::BatchUpdate => "100-row update",
            Kind::RangeRead => "1% range read",
            Kind::Sql => "SQL (hourly bars)",
            Kind::Klong => "Klong (mean close)",
        }
    }
}

/// The mix from `KDFS_LOAD_MIX` (`kind=share,...`), or the default one.
fn mix() -> Vec<(Kind, u32)> {
    let Ok(spec) = std::env::var("KDFS_LOAD_MIX") else {
        return DEFAULT_MIX.to_vec();
    };
    let mix: Vec<(Kind, u32)> = spec
        .split(',')
        .map(|part| {
            let (name, share) = part.split_once('=').unwrap_or((part, "1"));
            let kind = Kind::ALL
                .into_iter()
                .find(|k| k.short() == name.trim())
                .unwrap_or_else(|| {
                    panic!("KDFS_LOAD_MIX: unknown kind {name:?}; use one, batch, read, sql, klong")
                });
            let share = share
                .trim()
                .parse()
                .expect("KDFS_LOAD_MIX: share must be a whole number");
            (kind, share)
        })
        .collect();
    assert!(
        mix.iter().map(|m| m.1).sum::<u32>() > 0,
        "KDFS_LOAD_MIX: the shares add up to nothing"
    );
    mix
}

/// Kills the server when the bench ends, however it ends.
struct ServerProc(Child);

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bars(t0: i64, n: i64, price: f64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Int64, false),
        Field::new("c", DataType::Float64, false),
        Field::new("v", DataType::Int64, false),
    ]));
    let t: Vec<i64> = (0..n).map(|i| t0 + i * MINUTE).collect();
    let c: Vec<f64> = (0..n).map(|i| price + (i % 17) as f64 * 0.01).collect();
    let v: Vec<i64> = (0..n).map(|i| 100 + i % 900).collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(t)),
            Arc::new(Float64Array::from(c)),
            Arc::new(Int64Array::from(v)),
        ],
    )
    .expect("valid batch")
}

/// Peak resident set size of `pid` in bytes (VmHWM), if /proc tells.
fn peak_rss(pid: u32) -> Option<u64> {
    proc_status(pid, "VmHWM:")
}

/// A size field (`VmRSS:`, `VmHWM:`) of /proc/PID/status in bytes.
fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// One connection's loop: requests drawn from `mix` until `deadline`.
async fn worker(
    addr: String,
    id: u64,
    mix: Arc<Vec<(Kind, u32)>>,
    deadline: Instant,
) -> Vec<(Kind, Duration, bool)> {
    let total: u32 = mix.iter().map(|m| m.1).sum();
    let mut out = Vec::new();
    let mut client = match Client::connect(&addr).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("connection {id}: {e}");
            out.push((Kind::RangeRead, Duration::ZERO, false));
            return out;
        }
    };
    let mut rng = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    // Writers append to their own live frame, after the seeded history.
    let live = format!("live/minute/C{id:03}");
    let mut t = 0;
    let mut errors_shown = 0;
    while Instant::now() < deadline {
        let pick = (next() % total as u64) as u32;
        let mut acc = 0;
        let kind = mix
            .iter()
            .find(|(_, share)| {
                acc += share;
                pick < acc
            })
            .map_or(Kind::Klong, |(k, _)| *k);
        let sym = (next() % SYMBOLS as u64) as i64;
        let range_start = (next() % (SEED_BARS - RANGE) as u64) as i64 * MINUTE;
        let rows = match kind {
            Kind::OneRowUpdate => 1,
            Kind::BatchUpdate => 100,
            _ => 0,
        };
        let start = Instant::now();
        let outcome = tokio::time::timeout(
            STUCK_AFTER,
            request(&mut client, kind, &live, t, rows, sym, range_start),
        )
        .await;
        t += rows * MINUTE;
        let ok = match outcome {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                if errors_shown < 3 {
                    errors_shown += 1;
                    eprintln!("connection {id}: {} failed: {e}", kind.name());
                }
                false
            }
            Err(_) => {
                eprintln!(
                    "connection {id}: {} unanswered after {} s; giving up on this connection",
                    kind.name(),
                    STUCK_AFTER.as_secs()
                );
                out.push((kind, start.elapsed(), false));
                return out;
            }
        };
        out.push((kind, start.elapsed(), ok));
    }
    out
}

/// Sends one request of `kind`; updates write `rows` bars after index `t` of `live`, reads
/// use symbol `sym` and range reads start at `range_start`.
async fn request(
    client: &mut Client,
    kind: Kind,
    live: &str,
    t: i64,
    rows: i64,
    sym: i64,
    range_start: i64,
) -> Result<(), String> {
    let history = format!("historical/minute/S{sym}");
    let e = |e: kdfs_client::ClientError| e.to_string();
    match kind {
        Kind::OneRowUpdate | Kind::BatchUpdate => {
            let batch = bars(t + MINUTE, rows, 100.0);
            client
                .update(live, &batch, UpdateOptions::default())
                .await
                .map_err(e)?;
        }
        Kind::RangeRead => {
            let options = ReadOptions {
                start: Some(range_start),
                end: Some(range_start + (RANGE - 1) * MINUTE),
                ..ReadOptions::default()
            };
            let batches = client.read(&history, options).await.map_err(e)?;
            let n: usize = batches.iter().map(|b| b.num_rows()).sum();
            if n != RANGE as usize {
                return Err(format!("read {n} rows of {history}, expected {RANGE}"));
            }
        }
        Kind::Sql => {
            let r = client
                .sql(&format!(
                    "SELECT t / 3600000 AS h, min(c) AS l, max(c) AS h2, sum(v) AS v \
                     FROM historical.minute.S{sym} WHERE t < {} GROUP BY 1",
                    24 * 60 * MINUTE
                ))
                .await
                .map_err(e)?;
            if r.num_rows() != 24 {
                return Err(format!(
                    "SQL gave {} hourly rows, expected 24",
                    r.num_rows()
                ));
            }
        }
        Kind::Klong => {
            client
                .klong(&format!(
                    "{{(+/x)%#x}}(.df(\"{history}\";0;{})?\"c\")",
                    59 * MINUTE
                ))
                .await
                .map_err(e)?;
        }
    }
    Ok(())
}

/// Prints the server's resident memory and its cache's contents every
/// `KDFS_LOAD_SAMPLE_SECS` until `deadline`, to show whether memory levels off.
async fn sample_memory(addr: String, pid: u32, started: Instant, deadline: Instant) {
    let every = Duration::from_secs(env_or("KDFS_LOAD_SAMPLE_SECS", 15).max(1));
    let Ok(mut client) = Client::connect(&addr).await else {
        return;
    };
    let mut next = started + every;
    while next < deadline {
        tokio::time::sleep_until(next.into()).await;
        next += every;
        let mib = |field| proc_status(pid, field).unwrap_or(0) as f64 / 1048576.0;
        let (rss, anon) = (mib("VmRSS:"), mib("RssAnon:"));
        let Ok(s) = client.stats(0).await else {
            continue;
        };
        let cache = s["memory_used"].as_f64().unwrap_or(0.0) / 1048576.0;
        // Anonymous memory minus the cache is the overhead the README states; the rest of
        // the RSS is file pages (the binary's code).
        eprintln!(
            "{:>4.0} s: RSS {rss:.0} MiB, anonymous {anon:.0} MiB; cache {cache:.0} MiB \
             (anonymous minus cache {:.0} MiB), {} rows ({} in write logs), {} threads",
            started.elapsed().as_secs_f64(),
            anon - cache,
            s["rows"],
            s["log_rows"],
            s["process"]["threads"],
        );
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let connections = env_or("KDFS_LOAD_CONNECTIONS", 256);
    let secs = env_or("KDFS_LOAD_SECS", 60);
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = std::env::var_os("KDFS_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_kdfs").into());
    let mut child = Command::new(&bin)
        .args([
            "server",
            "--port",
            "0",
            "--log",
            "warn",
            "--memory",
            MEMORY_BUDGET,
        ])
        .args(["--max-connections", &(connections + 8).to_string(), "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start kdfs server");
    let stdout = child.stdout.take().expect("server stdout");
    let server = ServerProc(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("server address line");
    let addr = line
        .trim()
        .strip_prefix("kdfs listening on ")
        .expect("kdfs listening on ADDR")
        .to_string();
    let pid = server.0.id();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let mut seed = Client::connect(&addr).await.expect("connect");
        for s in 0..SYMBOLS {
            seed.update(
                &format!("historical/minute/S{s}"),
                &bars(0, SEED_BARS, 100.0 + s as f64),
                UpdateOptions::default(),
            )
            .await
            .expect("seed");
        }
        eprintln!(
            "seeded {SYMBOLS} x {SEED_BARS} bars (server RSS {:.0} MiB); {connections} connections for {secs} s...",
            proc_status(pid, "VmRSS:").unwrap_or(0) as f64 / 1048576.0
        );

        let started = Instant::now();
        let deadline = started + Duration::from_secs(secs);
        let mix = Arc::new(mix());
        let tasks: Vec<_> = (0..connections)
            .map(|id| tokio::spawn(worker(addr.clone(), id, Arc::clone(&mix), deadline)))
            .collect();
        let sampler = tokio::spawn(sample_memory(addr.clone(), pid, started, deadline));
        let mut results = Vec::new();
        for task in tasks {
            results.extend(task.await.expect("worker task"));
        }
        let elapsed = started.elapsed().as_secs_f64();
        sampler.abort();

        println!(
            "\n{connections} connections for {elapsed:.1} s against {} (--memory {MEMORY_BUDGET})",
            bin.to_string_lossy()
        );
        println!(
            "{:<20} {:>9} {:>10} {:>10} {:>10} {:>7}",
            "request", "count", "per s", "p50", "p99", "errors"
        );
        let mut errors = 0;
        for &(kind, _) in mix.iter() {
            let mut times: Vec<Duration> = results
                .iter()
                .filter(|r| r.0 == kind)
                .map(|r| r.1)
                .collect();
            times.sort();
            let failed = results.iter().filter(|r| r.0 == kind && !r.2).count();
            errors += failed;
            println!(
                "{:<20} {:>9} {:>10.0} {:>8.2}ms {:>8.2}ms {:>7}",
                kind.name(),
                times.len(),
                times.len() as f64 / elapsed,
                percentile(&times, 0.5).as_secs_f64() * 1e3,
                percentile(&times, 0.99).as_secs_f64() * 1e3,
                failed
            );
        }
        match peak_rss(pid) {
            Some(rss) => println!(
                "server peak RSS {:.0} MiB (cache budget {} MiB)",
                rss as f64 / 1048576.0,
                MEMORY_BUDGET_BYTES >> 20
            ),
            None => println!("server peak RSS: unknown (no /proc)"),
        }
        // What the cache holds at the end, to tell the budget from the rest of the RSS. A new
        // connection: the seeding one may have sat idle past the server's --idle-timeout.
        let end_stats = match Client::connect(&addr).await {
            Ok(mut client) => client.stats(0).await,
            Err(e) => Err(e),
        };
        match end_stats {
            Ok(s) => println!(
                "at the end: cache {:.0} MiB, {} frames, {} rows ({} in write logs), {} compactions",
                s["memory_used"].as_f64().unwrap_or(0.0) / 1048576.0,
                s["frames"],
                s["rows"],
                s["log_rows"],
                s["compactions"]
            ),
            Err(e) => println!("stats failed: {e}"),
        }
        if errors > 0 {
            eprintln!("{errors} requests failed");
            std::process::exit(1);
        }
    });
    drop(server);
}
