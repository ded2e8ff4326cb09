//! Fake source → `ws_feed_dfs_client` → the real kdfs server, then read the frames back.
//!
//! Needs the `kdfs` binary: `KDFS_BIN`, or `kdfs` next to this package's binaries (it is there
//! whenever the whole workspace is built, as `cargo test --workspace` does). Without it the
//! tests print a notice and pass.

mod common;

use arrow::array::{Float64Array, Int64Array};
use common::*;
use feeders::bar::Bar;
use feeders::fake::FakeMarket;
use kdfs_client::tls::TlsOptions;
use kdfs_client::{Client, ClientOptions, ReadOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const DFS_CLIENT: &str = env!("CARGO_BIN_EXE_ws_feed_dfs_client");
const START: i64 = 1_700_000_000_000;

fn kdfs_bin() -> Option<PathBuf> {
    let path = match std::env::var_os("KDFS_BIN") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(DFS_CLIENT).with_file_name("kdfs"),
    };
    // A kdfs without the `server` subcommand (an old build) cannot serve these tests either.
    let serves = std::process::Command::new(&path)
        .args(["server", "--help"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("--dir"));
    if serves {
        Some(path)
    } else {
        eprintln!(
            "notice: skipping: no kdfs binary with a `server` command at {} (build the workspace or set KDFS_BIN)",
            path.display()
        );
        None
    }
}

/// A kdfs server on `port` (0 = any) storing under `dir`; returns it and its port.
fn kdfs(bin: &std::path::Path, dir: &std::path::Path, port: u16) -> (Proc, u16) {
    kdfs_with(bin, dir, port, &[])
}

/// [`kdfs`] with extra server arguments.
fn kdfs_with(
    bin: &std::path::Path,
    dir: &std::path::Path,
    port: u16,
    extra: &[&str],
) -> (Proc, u16) {
    let bin = bin.to_str().expect("utf-8 path");
    let dir = dir.to_str().expect("utf-8 path");
    let port = port.to_string();
    let deadline = Instant::now() + WAIT;
    let mut args = vec!["server", "--dir", dir, "--port", &port];
    args.extend_from_slice(extra);
    loop {
        let mut p = Proc::start(bin, &args);
        match p.lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) => {
                let addr = line
                    .strip_prefix("kdfs listening on ")
                    .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
                let port = addr.rsplit(':').next().unwrap().parse().unwrap();
                return (p, port);
            }
            // The port of a killed server can take a moment to become free again.
            Err(_) if Instant::now() < deadline => {
                p.kill();
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("kdfs did not start: {e}"),
        }
    }
}

fn expected(seed: u64, syms: &[&str], ticks: usize) -> BTreeMap<String, Vec<Bar>> {
    expected_from(seed, syms, ticks, START)
}

/// The bars a source started with `--start-ms start` publishes in its first `ticks` ticks.
fn expected_from(seed: u64, syms: &[&str], ticks: usize, start: i64) -> BTreeMap<String, Vec<Bar>> {
    let mut m = FakeMarket::new(
        "AM",
        syms.iter().map(|s| s.to_string()).collect(),
        seed,
        start,
    );
    let mut out: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    for _ in 0..ticks {
        for bar in m.tick() {
            out.entry(bar.sym.clone()).or_default().push(bar);
        }
    }
    out
}

/// `(t, c, v)` of every stored row of `historical/minute/SYM`.
async fn stored(port: u16, sym: &str, options: &ClientOptions) -> Option<Vec<(i64, f64, i64)>> {
    let mut client = Client::connect_with(&format!("127.0.0.1:{port}"), options.clone())
        .await
        .ok()?;
    let batches = client
        .read(&format!("historical/minute/{sym}"), ReadOptions::default())
        .await
        .ok()?;
    let mut rows = Vec::new();
    for b in batches {
        let col = |name: &str| b.column_by_name(name).unwrap().clone();
        let t = col("t");
        let t = t.as_any().downcast_ref::<Int64Array>().unwrap();
        let c = col("c");
        let c = c.as_any().downcast_ref::<Float64Array>().unwrap();
        let v = col("v");
        let v = v.as_any().downcast_ref::<Int64Array>().unwrap();
        rows.extend((0..b.num_rows()).map(|i| (t.value(i), c.value(i), v.value(i))));
    }
    Some(rows)
}

/// Poll until every symbol's frame holds exactly the expected bars, or fail after [`WAIT`].
async fn assert_stored_exactly(port: u16, want: &BTreeMap<String, Vec<Bar>>) {
    assert_stored_exactly_with(port, want, &ClientOptions::default()).await;
}

/// [`assert_stored_exactly`], connecting with `options`.
async fn assert_stored_exactly_with(
    port: u16,
    want: &BTreeMap<String, Vec<Bar>>,
    options: &ClientOptions,
) {
    let deadline = Instant::now() + WAIT * 2;
    loop {
        let mut all = true;
        let mut last = String::new();
        for (sym, bars) in want {
            let want_rows: Vec<(i64, f64, i64)> = bars.iter().map(|b| (b.e, b.c, b.v)).collect();
            let got = stored(port, sym, options).await.unwrap_or_default();
            if got != want_rows {
                all = false;
                last = format!("{sym}: {} of {} rows", got.len(), want_rows.len());
                break;
            }
        }
        if all {
            return;
        }
        assert!(Instant::now() < deadline, "frames incomplete: {last}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bar_arrives_exactly_once() {
    let Some(bin) = kdfs_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_db, port) = kdfs(&bin, dir.path(), 0);
    let syms = ["AAPL", "MSFT", "TSLA"];
    let (_src, uri) = fake_src(&[
        "--seed",
        "11",
        "--delay",
        "0.002",
        "--count",
        "300",
        "--wait-subscribers",
        "1",
        "--symbols",
        "AAPL,MSFT,TSLA",
        "--start-ms",
        &START.to_string(),
    ]);
    let port_s = port.to_string();
    let _ingest = Proc::start(DFS_CLIENT, &["--uri", &uri, "--dfs-port", &port_s]);
    assert_stored_exactly(port, &expected(11, &syms, 300)).await;
    // The frames are laid out by key under --dir, one Arrow file or log entry per symbol.
    let listed = Client::connect(&format!("127.0.0.1:{port}"))
        .await
        .unwrap()
        .list_keys("historical/minute")
        .await
        .unwrap();
    let keys: Vec<String> = listed.into_iter().map(|k| k.key).collect();
    assert_eq!(
        keys,
        [
            "historical/minute/AAPL",
            "historical/minute/MSFT",
            "historical/minute/TSLA"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_survives_a_kdfs_restart_without_loss() {
    let Some(bin) = kdfs_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut db, port) = kdfs(&bin, dir.path(), 0);
    let syms = ["AAPL", "MSFT"];
    let (_src, uri) = fake_src(&[
        "--seed",
        "5",
        "--delay",
        "0.01",
        "--count",
        "300",
        "--wait-subscribers",
        "1",
        "--symbols",
        "AAPL,MSFT",
        "--start-ms",
        &START.to_string(),
    ]);
    let port_s = port.to_string();
    let _ingest = Proc::start(DFS_CLIENT, &["--uri", &uri, "--dfs-port", &port_s]);
    // Let some bars land, then take kdfs away (SIGKILL) while the feed keeps going.
    let deadline = Instant::now() + WAIT;
    while stored(port, "AAPL", &ClientOptions::default())
        .await
        .unwrap_or_default()
        .len()
        < 20
    {
        assert!(
            Instant::now() < deadline,
            "no bars stored before the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    db.kill();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let (_db, port2) = kdfs(&bin, dir.path(), port);
    assert_eq!(port2, port);
    assert_stored_exactly(port, &expected(5, &syms, 300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_resumes_when_the_source_restarts() {
    let Some(bin) = kdfs_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_db, port) = kdfs(&bin, dir.path(), 0);
    let syms = ["AAPL"];
    let first = [
        "--seed",
        "21",
        "--delay",
        "0.002",
        "--count",
        "100",
        "--wait-subscribers",
        "1",
        "--symbols",
        "AAPL",
    ];
    let (mut src, uri) = fake_src(&[&first[..], &["--start-ms", &START.to_string()]].concat());
    let src_port: u16 = uri.rsplit(':').next().unwrap().parse().unwrap();
    let port_s = port.to_string();
    let _ingest = Proc::start(DFS_CLIENT, &["--uri", &uri, "--dfs-port", &port_s]);
    let mut want = expected(21, &syms, 100);
    assert_stored_exactly(port, &want).await;

    // A new source on the same address, continuing 100 minutes later: the ingest client must
    // reconnect by itself (the source waits for it) and store the new bars after the old ones.
    src.kill();
    let later = START + 100 * 60_000;
    let second = [
        "--seed",
        "22",
        "--delay",
        "0.002",
        "--count",
        "50",
        "--wait-subscribers",
        "1",
        "--symbols",
        "AAPL",
    ];
    let (_src2, _) = fake_src_on(
        src_port,
        &[&second[..], &["--start-ms", &later.to_string()]].concat(),
    );
    for (sym, bars) in expected_from(22, &syms, 50, later) {
        want.entry(sym).or_default().extend(bars);
    }
    assert_stored_exactly(port, &want).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bars_arrive_over_tls() {
    let Some(bin) = kdfs_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert = dir.path().join("server.crt");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let data = dir.path().join("data");
    let tls_args = ["--tls-cert", cert, "--tls-key", key];
    let (_db, port) = kdfs_with(&bin, &data, 0, &tls_args);
    let (_src, uri) = fake_src(&[
        "--seed",
        "12",
        "--delay",
        "0.002",
        "--count",
        "100",
        "--wait-subscribers",
        "1",
        "--symbols",
        "AAPL,MSFT",
        "--start-ms",
        &START.to_string(),
    ]);
    let port_s = port.to_string();
    let _ingest = Proc::start(
        DFS_CLIENT,
        &["--uri", &uri, "--dfs-port", &port_s, "--dfs-tls-ca", cert],
    );
    let options = ClientOptions {
        tls: Some(TlsOptions::from_ca_file(std::path::Path::new(cert)).unwrap()),
        ..ClientOptions::default()
    };
    assert_stored_exactly_with(port, &expected(12, &["AAPL", "MSFT"], 100), &options).await;
}
