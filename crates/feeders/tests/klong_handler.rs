//! Source → ws_feed_klong → tail through the real binaries on loopback.

mod common;

use common::*;
use feeders::bar::Bar;
use feeders::fake::FakeMarket;
use futures::SinkExt;
use tokio_tungstenite::tungstenite::Message;

const KLONG: &str = env!("CARGO_BIN_EXE_ws_feed_klong");
const START: &str = "1700000000000";

fn kg(name: &str) -> String {
    format!("{}/../../kg/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Start the handler feeder; it connects upstream once one client subscribed to it.
fn klong(file: &str, upstream: &str, extra: &[&str]) -> (Proc, String) {
    let args = [
        &[
            file,
            "--uri",
            upstream,
            "--port",
            "0",
            "--wait-subscribers",
            "1",
        ][..],
        extra,
    ]
    .concat();
    let p = Proc::start(KLONG, &args);
    let uri = p.line();
    assert!(
        uri.starts_with("ws://127.0.0.1:"),
        "unexpected address line {uri:?}"
    );
    (p, uri)
}

#[test]
fn avg_matches_the_mean_close_of_each_source_batch() {
    let n = 200;
    let count = n.to_string();
    let (_src, src_uri) = fake_src(&[
        "--seed",
        "11",
        "--delay",
        "0",
        "--count",
        &count,
        "--wait-subscribers",
        "1",
        "--nsyms",
        "7",
        "--start-ms",
        START,
    ]);
    let (_k, k_uri) = klong(&kg("avg.kg"), &src_uri, &[]);
    let tail = Proc::start(TAIL, &["--uri", &k_uri, "--count", &count]);

    let syms: Vec<String> = (0..7).map(|i| format!("S{i:04}")).collect();
    let mut market = FakeMarket::new("AM", syms, 11, START.parse().unwrap());
    for (t, msg) in tail.json_lines(n).iter().enumerate() {
        let bars: Vec<Bar> = market.tick();
        let mean = bars.iter().map(|b| b.c).sum::<f64>() / bars.len() as f64;
        let got = bars_of(msg);
        assert_eq!(got.len(), 1, "tick {t}: {msg}");
        assert_eq!(got[0]["ev"], "AVG");
        let a = got[0]["a"].as_f64().unwrap();
        assert!(
            (a - mean).abs() <= 1e-9 * mean.abs(),
            "tick {t}: got {a}, want {mean}"
        );
    }
}

fn bars_of(v: &serde_json::Value) -> Vec<serde_json::Value> {
    bars(v).clone()
}

#[test]
fn handler_errors_are_logged_and_the_feed_continues() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("odd.kg");
    // Fails on every second message; publishes {"ev":"N","k":k} on the others.
    std::fs::write(
        &script,
        "k::0\nok::{[d];d:::{};d,[\"ev\" \"N\"];d,\"k\",x;d}\nonmsg::{x;k::k+1;:[0=k!2;\"boom\"+1;ok(k)]}\n",
    )
    .unwrap();
    let (_src, src_uri) = fake_src(&["--delay", "0", "--count", "10", "--wait-subscribers", "1"]);
    let (_k, k_uri) = klong(script.to_str().unwrap(), &src_uri, &[]);
    let tail = Proc::start(TAIL, &["--uri", &k_uri, "--count", "5"]);
    let ks: Vec<i64> = tail
        .json_lines(5)
        .iter()
        .map(|m| bars(m)[0]["k"].as_i64().unwrap())
        .collect();
    assert_eq!(ks, vec![1, 3, 5, 7, 9]);
}

#[tokio::test]
async fn malformed_upstream_messages_are_skipped() {
    // A hand-made source that sends garbage before a good batch.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let src_uri = format!("ws://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        for m in [
            "garbage",
            "[1,",
            "{\"ev\":",
            r#"[{"ev":"AM","sym":"A","c":4},{"ev":"AM","sym":"B","c":6}]"#,
        ] {
            ws.send(Message::Text(m.into())).await.unwrap();
        }
        // Keep the connection open until the test ends.
        tokio::time::sleep(WAIT).await;
    });
    let (_k, k_uri) = klong(&kg("avg.kg"), &src_uri, &[]);
    let tail = Proc::start(TAIL, &["--uri", &k_uri, "--count", "1"]);
    let out = tokio::task::spawn_blocking(move || tail.json_lines(1))
        .await
        .unwrap();
    assert_eq!(out[0], serde_json::json!([{"ev":"AVG","a":5.0}]));
    server.abort();
}

#[test]
fn a_script_without_onmsg_fails_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("none.kg");
    std::fs::write(&script, "x::1\n").unwrap();
    let out = std::process::Command::new(KLONG)
        .args([script.to_str().unwrap(), "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("onmsg"));
}
