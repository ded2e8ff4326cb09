//! Hostile input against the real server: arbitrary length-prefixed garbage and arbitrary
//! (valid or not) requests never kill it; after every case another connection still gets
//! answers, and nothing is written outside the data directory.
//!
//! Long run: `PROPTEST_CASES=100000 cargo test --release --test hostile`; the coverage-guided
//! fuzz targets (nightly, cargo-fuzz) are in `fuzz/`.

mod common;
#[path = "../crates/kdfs-client/tests/support/requests.rs"]
mod requests;

use common::ServerProc;
use futures::{SinkExt, StreamExt};
use kdfs_client::{ClientCodec, PROTOCOL_VERSION, Request, RequestFrame};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use std::cell::RefCell;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Framed;

/// No case may take longer than this (a hung server fails the test instead of hanging it).
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

/// What one case sends on a fresh connection.
#[derive(Debug, Clone)]
enum Attack {
    /// Raw bytes, as they come.
    Raw(Vec<u8>),
    /// Length-prefixed garbage, optionally after a valid hello.
    Framed { hello: bool, body: Vec<u8> },
    /// A valid hello followed by well-formed requests with arbitrary contents.
    Requests(Vec<RequestFrame>),
}

fn attack() -> impl Strategy<Value = Attack> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256).prop_map(Attack::Raw),
        (
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..256)
        )
            .prop_map(|(hello, body)| Attack::Framed { hello, body }),
        proptest::collection::vec(requests::request_frame(), 1..6).prop_map(Attack::Requests),
    ]
}

fn hello() -> RequestFrame {
    RequestFrame {
        id: 1,
        request: Request::Hello {
            version: PROTOCOL_VERSION,
            client: "hostile".into(),
            token: None,
        },
    }
}

/// Send the attack and read whatever comes back until the server closes or goes quiet.
async fn run_attack(addr: &str, attack: Attack) {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    match attack {
        Attack::Raw(bytes) => {
            let mut stream = stream;
            let _ = stream.write_all(&bytes).await;
            drain(stream).await;
        }
        Attack::Framed { hello: greet, body } => {
            let mut framed = Framed::new(stream, ClientCodec::new());
            if greet {
                let _ = framed.send(hello()).await;
                let _ = framed.next().await;
            }
            let mut stream = framed.into_inner();
            let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
            bytes.extend_from_slice(&body);
            let _ = stream.write_all(&bytes).await;
            drain(stream).await;
        }
        Attack::Requests(frames) => {
            let mut framed = Framed::new(stream, ClientCodec::new());
            let _ = framed.send(hello()).await;
            for frame in frames {
                if framed.send(frame).await.is_err() {
                    return;
                }
            }
            // Say goodbye, then read the answers until the server closes.
            let close = RequestFrame {
                id: u64::MAX,
                request: Request::Close,
            };
            let _ = framed.send(close).await;
            while let Some(Ok(_)) = framed.next().await {}
        }
    }
}

/// Read until EOF, an error, or 200 ms without data.
async fn drain(mut stream: tokio::net::TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) =
        tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
    }
}

#[test]
fn garbage_and_arbitrary_requests_never_kill_the_server() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let server = ServerProc::start(&dir, &["--query-timeout", "2"]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Each case costs a connection and some round trips: 64 by default, PROPTEST_CASES for
    // long runs.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    // The runner takes an `Fn`: the watching client needs interior mutability.
    let watcher = RefCell::new(Some(runtime.block_on(server.client())));
    let result = runner.run(&attack(), |attack| {
        runtime.block_on(async {
            tokio::time::timeout(CASE_TIMEOUT, run_attack(&server.addr, attack))
                .await
                .expect("the server stopped answering the attacker");
            // Taken out of the cell for the await, put back after.
            let mut client = watcher.borrow_mut().take().expect("watching client");
            tokio::time::timeout(CASE_TIMEOUT, client.ping())
                .await
                .expect("ping timed out")
                .expect("the server stopped answering another connection");
            *watcher.borrow_mut() = Some(client);
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // Keys are confined to the data directory, whatever they were.
    let outside: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("data")]);
    println!("hostile: {cases} attacks, the server answered after each");
}
