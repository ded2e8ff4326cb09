//! Fake source → tail (and the Grafana relay) through the real binaries on loopback.

mod common;

use common::*;
use feeders::bar::Bar;
use feeders::fake::FakeMarket;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

const START: &str = "1700000000000";

fn expected(seed: u64, syms: &[&str], ticks: usize) -> Vec<Vec<Bar>> {
    let mut m = FakeMarket::new(
        "AM",
        syms.iter().map(|s| s.to_string()).collect(),
        seed,
        START.parse().unwrap(),
    );
    (0..ticks).map(|_| m.tick()).collect()
}

fn as_bars(v: &serde_json::Value) -> Vec<Bar> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn tail_prints_exactly_the_seeded_stream() {
    let (_src, uri) = fake_src(&[
        "--seed",
        "7",
        "--delay",
        "0",
        "--count",
        "50",
        "--wait-subscribers",
        "1",
        "--start-ms",
        START,
    ]);
    let mut tail = Proc::start(TAIL, &["--uri", &uri, "--count", "50"]);
    let got: Vec<Vec<Bar>> = tail.json_lines(50).iter().map(as_bars).collect();
    assert_eq!(got, expected(7, &["AAPL", "MSFT", "TSLA"], 50));
    assert!(tail.wait_success(), "tail did not exit after --count");
}

#[test]
fn patterns_filter_per_subscriber() {
    let (_src, uri) = fake_src(&[
        "--seed",
        "3",
        "--delay",
        "0",
        "--count",
        "20",
        "--wait-subscribers",
        "2",
        "--symbols",
        "AAPL,MSFT,TSLA",
        "--start-ms",
        START,
    ]);
    let msft = Proc::start(
        TAIL,
        &["--uri", &uri, "--patterns", "AM.MSFT", "--count", "20"],
    );
    let two = Proc::start(
        TAIL,
        &[
            "--uri",
            &uri,
            "--patterns",
            "AM.AAPL,AM.TSLA",
            "--count",
            "20",
        ],
    );
    let want = expected(3, &["AAPL", "MSFT", "TSLA"], 20);
    for (t, msg) in msft.json_lines(20).iter().enumerate() {
        assert_eq!(as_bars(msg), vec![want[t][1].clone()]);
    }
    for (t, msg) in two.json_lines(20).iter().enumerate() {
        assert_eq!(as_bars(msg), vec![want[t][0].clone(), want[t][2].clone()]);
    }
}

#[test]
fn tail_reconnects_when_the_source_restarts() {
    let (mut src, uri) = fake_src(&["--seed", "1", "--delay", "0.02", "--start-ms", START]);
    let port: u16 = uri.rsplit(':').next().unwrap().parse().unwrap();
    let tail = Proc::start(TAIL, &["--uri", &uri, "--max-backoff", "0.2"]);
    tail.json_lines(3);
    src.kill();
    // The new source waits for the tail to come back, so its first tick must reach it.
    let (_src2, _) = fake_src_on(
        port,
        &[
            "--seed",
            "99",
            "--delay",
            "0.02",
            "--wait-subscribers",
            "1",
            "--start-ms",
            START,
        ],
    );
    let first_new = as_bars(&expected_line(&tail, 99));
    assert_eq!(first_new, expected(99, &["AAPL", "MSFT", "TSLA"], 1)[0]);
}

/// Skip lines still buffered from the old source until one from the new seed shows up.
fn expected_line(tail: &Proc, seed: u64) -> serde_json::Value {
    let first = &expected(seed, &["AAPL", "MSFT", "TSLA"], 1)[0];
    for _ in 0..1000 {
        let v: serde_json::Value = serde_json::from_str(&tail.line()).unwrap();
        if as_bars(&v)[0].o == first[0].o && as_bars(&v)[0].s == first[0].s {
            return v;
        }
    }
    panic!("the restarted source's first tick never arrived");
}

async fn text(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> serde_json::Value {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(t.as_str()).unwrap(),
            Some(Ok(Message::Close(_))) | None => return serde_json::Value::Null,
            Some(Ok(_)) => continue,
            Some(Err(_)) => return serde_json::Value::Null,
        }
    }
}

#[tokio::test]
async fn token_handshake_and_malformed_requests() {
    let (_src, uri) = fake_src(&["--token", "sekret", "--delay", "0.01", "--seed", "5"]);
    let (mut ws, _) = tokio_tungstenite::connect_async(uri.as_str())
        .await
        .unwrap();
    // Garbage from a client is answered, not fatal.
    ws.send(Message::Text("{not json".into())).await.unwrap();
    assert_eq!(text(&mut ws).await[0]["status"], "error");
    ws.send(Message::Text(
        r#"{"action":"subscribe","params":"AM.*"}"#.into(),
    ))
    .await
    .unwrap();
    let r = text(&mut ws).await;
    assert_eq!(
        r[0]["status"], "error",
        "subscribe before auth must fail: {r}"
    );
    ws.send(Message::Text(
        r#"{"action":"auth","params":"sekret"}"#.into(),
    ))
    .await
    .unwrap();
    assert_eq!(
        text(&mut ws).await,
        serde_json::json!([{"ev":"status","status":"auth_success","message":"authenticated"}])
    );
    ws.send(Message::Text(
        r#"{"action":"subscribe","params":"AM.TSLA"}"#.into(),
    ))
    .await
    .unwrap();
    // Data may interleave with the reply; find the reply, then only TSLA bars.
    let mut saw_reply = false;
    let mut tsla = 0;
    while tsla < 3 {
        let m = text(&mut ws).await;
        if m[0]["ev"] == "status" {
            assert_eq!(m[0]["status"], "success");
            assert_eq!(m[0]["message"], "subscribed to: AM.TSLA");
            saw_reply = true;
        } else if saw_reply {
            assert!(bars(&m).iter().all(|b| b["sym"] == "TSLA"), "{m}");
            tsla += 1;
        }
    }
    // A wrong token is refused and the connection closed.
    let (mut bad, _) = tokio_tungstenite::connect_async(uri.as_str())
        .await
        .unwrap();
    bad.send(Message::Text(
        r#"{"action":"auth","params":"guess"}"#.into(),
    ))
    .await
    .unwrap();
    assert_eq!(text(&mut bad).await[0]["status"], "auth_failed");
    assert_eq!(
        text(&mut bad).await,
        serde_json::Value::Null,
        "connection stays open"
    );
}

#[tokio::test]
async fn unauthenticated_clients_receive_nothing() {
    let (_src, uri) = fake_src(&["--token", "t", "--delay", "0.005"]);
    let (mut ws, _) = tokio_tungstenite::connect_async(uri.as_str())
        .await
        .unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_millis(300), ws.next()).await;
    assert!(got.is_err(), "an unauthenticated client received {got:?}");
}

#[tokio::test]
async fn grafana_relays_matching_events_without_handshake() {
    let (_src, uri) = fake_src(&["--delay", "0.01", "--seed", "2"]);
    let relay = Proc::start(
        GRAFANA,
        &["--uri", &uri, "--patterns", "AM.MSFT", "--port", "0"],
    );
    let relay_uri = relay.line();
    let (mut ws, _) = tokio_tungstenite::connect_async(relay_uri.as_str())
        .await
        .unwrap();
    for _ in 0..5 {
        let m = text(&mut ws).await;
        let b = bars(&m);
        assert_eq!(b.len(), 1, "{m}");
        assert_eq!(b[0]["sym"], "MSFT");
        assert_eq!(b[0]["ev"], "AM");
    }
}

#[cfg(unix)]
#[test]
fn feeders_exit_cleanly_on_ctrl_c() {
    let (mut src, uri) = fake_src(&["--delay", "0.01"]);
    let mut tail = Proc::start(TAIL, &["--uri", &uri]);
    tail.line();
    for p in [&mut tail, &mut src] {
        let status = std::process::Command::new("kill")
            .args(["-INT", &p.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(p.wait_success(), "did not exit with success after SIGINT");
    }
}
