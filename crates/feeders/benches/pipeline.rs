//! End-to-end throughput and latency through the real binaries on loopback.
//!
//! Run: `cargo bench -p feeders --bench pipeline` (add `-- --quick` for a short run).
//! Prints bars/s for source → client and source → ws_feed_klong (kg/avg.kg) → client with
//! 100 symbols and no delay, and p50/p99 source-to-tail latency at 1,000 batches/s.

use futures::StreamExt;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

const SRC: &str = env!("CARGO_BIN_EXE_ws_feed_fake_src");
const KLONG: &str = env!("CARGO_BIN_EXE_ws_feed_klong");
const TAIL: &str = env!("CARGO_BIN_EXE_ws_feed_tail");

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a serving binary and read the address it prints.
fn serve(bin: &str, args: &[&str]) -> (Killed, String) {
    let mut c = Command::new(bin)
        .args(args)
        .args(["--port", "0", "--log", "error"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start binary");
    let mut line = String::new();
    let out = c.stdout.take().expect("stdout");
    BufReader::new(out)
        .read_line(&mut line)
        .expect("address line");
    (Killed(c), line.trim().to_string())
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
    let (_k, k_uri) = serve(
        KLONG,
        &[
            &kg,
            "--uri",
            &uri,
            "--wait-subscribers",
            "1",
            "--log",
            "warn",
        ],
    );
    let d = rt.block_on(time_messages(&k_uri, n));
    println!(
        "source -> klong avg.kg -> client: {:>7.0} bars/s ({n} batches x 100 symbols in {d:?})",
        bars / d.as_secs_f64()
    );

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
        let v: serde_json::Value = serde_json::from_str(&line).expect("json line");
        if let Some(t) = v[0]["t"].as_i64() {
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
