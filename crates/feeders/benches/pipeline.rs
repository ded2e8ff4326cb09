//! End-to-end throughput and latency through the real binaries on loopback.
//!
//! Run: `cargo bench -p feeders --bench pipeline` (add `-- --quick` for a short run).
//! Prints bars/s for source → client, source → ws_feed_klong (kg/avg.kg) → client and
//! source → ws_feed_dfs_client → kdfs server (stored durably) with 100 symbols and no delay,
//! and p50/p99 source-to-tail latency at 1,000 batches/s.
//!
//! The kdfs stage needs the `kdfs` binary: `KDFS_BIN`, else `kdfs` next to the feeders'
//! binaries; without it that stage prints a skip line.

use futures::StreamExt;
use kdfs_client::Client;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

const SRC: &str = env!("CARGO_BIN_EXE_ws_feed_fake_src");
const KLONG: &str = env!("CARGO_BIN_EXE_ws_feed_klong");
const TAIL: &str = env!("CARGO_BIN_EXE_ws_feed_tail");
const DFS_CLIENT: &str = env!("CARGO_BIN_EXE_ws_feed_dfs_client");

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a serving binary and read the address it prints.
fn serve(bin: &str, args: &[&str]) -> (Killed, String) {
    let mut command = Command::new(bin);
    command.args(args).args(["--port", "0", "--log", "error"]);
    spawn_reading_first_line(&mut command)
}

/// Spawn `command` and return it with the first line it prints, trimmed.
fn spawn_reading_first_line(command: &mut Command) -> (Killed, String) {
    let mut c = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("start binary");
    let mut line = String::new();
    let out = c.stdout.take().expect("stdout");
    BufReader::new(out)
        .read_line(&mut line)
        .expect("first line");
    (Killed(c), line.trim().to_string())
}

/// The kdfs server binary, if there is one that serves (see the module docs).
fn kdfs_bin() -> Option<PathBuf> {
    let path = std::env::var_os("KDFS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DFS_CLIENT).with_file_name("kdfs"));
    let serves = Command::new(&path)
        .args(["server", "--help"])
        .output()
        .is_ok_and(|o| o.status.success());
    serves.then_some(path)
}

/// Start `kdfs server` storing under `dir`; returns it and its `host:port`.
fn kdfs_server(bin: &Path, dir: &Path) -> (Killed, String) {
    let mut command = Command::new(bin);
    command
        .arg("server")
        .arg("--dir")
        .arg(dir)
        .args(["--port", "0"])
        .stderr(Stdio::null());
    let (server, line) = spawn_reading_first_line(&mut command);
    let addr = line
        .strip_prefix("kdfs listening on ")
        .unwrap_or_else(|| panic!("unexpected kdfs first line {line:?}"))
        .to_string();
    (server, addr)
}

/// Rows stored under `historical/minute/`, as the server reports them.
async fn stored_rows(client: &mut Client) -> u64 {
    client
        .list_keys("historical/minute")
        .await
        .expect("list_keys")
        .iter()
        .map(|k| k.rows)
        .sum()
}

/// Source → ws_feed_dfs_client → kdfs: the time from starting the ingest client (the source
/// sends its first bar once that client has subscribed) until the server reports every bar
/// stored. Includes the client's start-up, so it slightly understates the rate.
fn time_dfs_ingest(rt: &tokio::runtime::Runtime, kdfs: &Path, n: usize) -> Duration {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_db, addr) = kdfs_server(kdfs, dir.path());
    let port = addr.rsplit(':').next().expect("port").to_string();
    let (_src, uri) = serve(
        SRC,
        &[
            "--nsyms",
            "100",
            "--delay",
            "0",
            "--seed",
            "1",
            "--wait-subscribers",
            "1",
            "--count",
            &n.to_string(),
        ],
    );
    let want = (n * 100) as u64;
    rt.block_on(async {
        let mut client = Client::connect(&addr).await.expect("connect to kdfs");
        let start = Instant::now();
        let _ingest = Killed(
            Command::new(DFS_CLIENT)
                .args(["--uri", &uri, "--dfs-port", &port, "--log", "error"])
                .spawn()
                .expect("start ws_feed_dfs_client"),
        );
        let deadline = start + Duration::from_secs(300);
        loop {
            let rows = stored_rows(&mut client).await;
            if rows >= want {
                return start.elapsed();
            }
            assert!(
                Instant::now() < deadline,
                "only {rows} of {want} bars stored after 300 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
}

/// Subscribe to `uri` and time `n` data messages (from the first to the last).
async fn time_messages(uri: &str, n: usize) -> Duration {
    let (mut ws, _) = tokio_tungstenite::connect_async(uri)
        .await
        .expect("connect");
    use futures::SinkExt;
    ws.send(Message::Text(
        r#"{"action":"subscribe","params":"*"}"#.into(),
    ))
    .await
    .expect("subscribe");
    let mut start = None;
    let mut got = 0;
    while got < n {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if !t.as_str().contains("\"status\"") => {
                got += 1;
                if start.is_none() {
                    start = Some(Instant::now());
                }
            }
            Some(Ok(_)) => {}
            _ => panic!("feed ended after {got} of {n} messages"),
        }
    }
    start.map(|s| s.elapsed()).unwrap_or_default()
}

/// The value of the first `"t":` field of a line (the source's publish stamp, epoch µs).
fn first_stamp(line: &str) -> Option<i64> {
    let rest = &line[line.find("\"t\":")? + 4..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let n: usize = if quick { 1000 } else { 5000 };
    let count = n.to_string();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let kg = format!("{}/../../kg/avg.kg", env!("CARGO_MANIFEST_DIR"));
    let base = [
        "--nsyms",
        "100",
        "--delay",
        "0",
        "--seed",
        "1",
        "--wait-subscribers",
        "1",
    ];

    let (_src, uri) = serve(SRC, &[&base[..], &["--count", &count]].concat());
    let d = rt.block_on(time_messages(&uri, n));
    let bars = (n - 1) as f64 * 100.0;
    println!(
        "source -> client:              {:>10.0} bars/s ({n} batches x 100 symbols in {d:?})",
        bars / d.as_secs_f64()
    );

    let (_src, uri) = serve(SRC, &[&base[..], &["--count", &count]].concat());
    let (_k, k_uri) = serve(KLONG, &[&kg, "--uri", &uri, "--wait-subscribers", "1"]);
    let d = rt.block_on(time_messages(&k_uri, n));
    println!(
        "source -> klong avg.kg -> client: {:>7.0} bars/s ({n} batches x 100 symbols in {d:?})",
        bars / d.as_secs_f64()
    );

    match kdfs_bin() {
        Some(bin) => {
            let d = time_dfs_ingest(&rt, &bin, n);
            println!(
                "source -> dfs_client -> kdfs:  {:>10.0} bars/s stored ({n} batches x 100 symbols in {d:?})",
                (n * 100) as f64 / d.as_secs_f64()
            );
        }
        None => println!(
            "source -> dfs_client -> kdfs:  skipped (no kdfs binary with `server`; set KDFS_BIN)"
        ),
    }

    // Latency: 1,000 batches/s of 100 stamped bars; the real tail prints, we read its stdout.
    let secs = if quick { 2 } else { 5 };
    let total = 1000 * secs;
    let (_src, uri) = serve(
        SRC,
        &[
            "--nsyms",
            "100",
            "--delay",
            "0.001",
            "--stamp",
            "--wait-subscribers",
            "1",
            "--count",
            &total.to_string(),
        ],
    );
    let mut tail = Killed(
        Command::new(TAIL)
            .args([
                "--uri",
                &uri,
                "--count",
                &total.to_string(),
                "--log",
                "error",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start tail"),
    );
    let out = tail.0.stdout.take().expect("stdout");
    let mut lat = Vec::with_capacity(total);
    for line in BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let now = now_us();
        // Read only the first bar's stamp: parsing the whole 100-bar line here would slow
        // this reader enough to build a backlog and measure our own queueing.
        if let Some(t) = first_stamp(&line) {
            lat.push(now - t);
        }
    }
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "source -> tail latency at 1000 batches/s x 100 symbols: p50 {} us, p99 {} us, max {} us ({} samples)",
        pct(0.50),
        pct(0.99),
        lat.last().copied().unwrap_or(0),
        lat.len()
    );
}
