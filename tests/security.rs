//! Authentication and connection limits of the real server: tokens from `KDFS_TOKEN`,
//! `--token-file` and `--token` on both sides, refusals with a clear error, and the idle and
//! stalled-request timeouts (the server keeps serving others meanwhile).

mod common;

use common::{ServerProc, assert_server_refuses, kdfs_bin};
use kdfs_client::{Client, ClientError, ClientOptions, ErrorKind};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "correct-horse-battery-staple";
/// Bound on every wait below, so a server that never closes fails instead of hanging.
const WAIT: Duration = Duration::from_secs(30);

async fn connect_with_token(addr: &str, token: Option<&str>) -> Result<Client, ClientError> {
    let options = ClientOptions {
        token: token.map(str::to_string),
        timeout: Some(WAIT),
        ..ClientOptions::default()
    };
    Client::connect_with(addr, options).await
}

fn unauthorized(result: Result<Client, ClientError>) -> String {
    match result {
        Err(ClientError::Server {
            kind: ErrorKind::Unauthorized,
            message,
        }) => message,
        Err(other) => panic!("expected an unauthorized error, got {other}"),
        Ok(_) => panic!("expected an unauthorized error, got a connection"),
    }
}

/// Run the `kdfs` CLI against `server` with extra environment variables.
fn cli(server: &ServerProc, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(kdfs_bin())
        .args(args)
        .args(["--port", &server.port.to_string()])
        .env_remove("KDFS_TOKEN")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run kdfs")
}

#[tokio::test]
async fn token_from_the_environment_guards_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start_with_env(dir.path(), &[], &[("KDFS_TOKEN", TOKEN)]);

    let message = unauthorized(connect_with_token(&server.addr, None).await);
    assert!(message.contains("requires a token"), "{message}");
    assert!(message.contains("KDFS_TOKEN"), "{message}");
    let message = unauthorized(connect_with_token(&server.addr, Some("guess")).await);
    assert!(message.contains("wrong token"), "{message}");
    // A prefix of the token is just as wrong.
    unauthorized(connect_with_token(&server.addr, Some(&TOKEN[..10])).await);

    let mut c = connect_with_token(&server.addr, Some(TOKEN)).await.unwrap();
    c.ping().await.unwrap();
    let stats = c.stats(0).await.unwrap();
    assert_eq!(stats["config"]["auth"], true, "{stats}");

    // The CLI: refused without the token, served with KDFS_TOKEN, --token or --token-file.
    let out = cli(&server, &["ls"], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("requires a token"), "{stderr}");
    assert!(
        cli(&server, &["ls"], &[("KDFS_TOKEN", TOKEN)])
            .status
            .success()
    );
    assert!(
        cli(&server, &["ls", "--token", TOKEN], &[])
            .status
            .success()
    );
    let file = dir.path().join("client-token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let file = file.to_str().unwrap();
    assert!(
        cli(&server, &["ls", "--token-file", file], &[])
            .status
            .success()
    );
    let out = cli(&server, &["ls", "--token", "nope"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong token"));
    // The REPL takes the same options.
    let out = cli(&server, &["repl", "-c", "stats"], &[("KDFS_TOKEN", TOKEN)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&server, &["repl", "-c", "stats"], &[]);
    assert!(!out.status.success());
}

#[tokio::test]
async fn token_file_and_bad_token_options() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("  {TOKEN}\n")).unwrap();
    let file = file.to_str().unwrap();
    let data = dir.path().join("data");
    let server = ServerProc::start(&data, &["--token-file", file]);
    connect_with_token(&server.addr, Some(TOKEN))
        .await
        .unwrap()
        .ping()
        .await
        .unwrap();
    unauthorized(connect_with_token(&server.addr, None).await);
    drop(server);

    // Refused at startup, with a reason: an empty token file, a missing one, both options.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let bad: [(&[&str], &str); 3] = [
        (&["--token-file", empty.to_str().unwrap()], "empty"),
        (
            &["--token-file", "/nonexistent/token"],
            "cannot read the token file",
        ),
        (
            &["--token", "a", "--token-file", file],
            "cannot be used with",
        ),
    ];
    assert_server_refuses(&data, &bad);
}

#[test]
fn help_explains_where_tokens_should_come_from() {
    let out = Command::new(kdfs_bin())
        .args(["server", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--token-file",
        "KDFS_TOKEN",
        "ps",
        "--idle-timeout",
        "--frame-timeout",
    ] {
        assert!(
            help.contains(needle),
            "server --help lacks {needle}: {help}"
        );
    }
}

/// Read until the server closes the socket (bounded by [`WAIT`]); returns what it sent.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.expect("the server did not close the connection");
    got
}

#[tokio::test]
async fn idle_connections_are_closed_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &["--idle-timeout", "1"]);
    let mut idle = server.client().await;
    let idle_since = tokio::time::Instant::now();
    let mut raw = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let said = read_until_closed(&mut raw).await;
    // A connection that never said hello is closed too, with a timeout error frame.
    let text = String::from_utf8_lossy(&said);
    assert!(text.contains("--idle-timeout"), "{text:?}");
    // The idle client finds its connection closed, and the reason. The limit is enforced
    // within 1.5x its value, so ask only once that bound has surely passed.
    tokio::time::sleep_until(idle_since + Duration::from_millis(2500)).await;
    let err = idle.ping().await.unwrap_err();
    match &err {
        ClientError::Server { kind, message } => {
            assert_eq!(*kind, ErrorKind::Timeout);
            assert!(message.contains("--idle-timeout"), "{message}");
        }
        ClientError::Io(_) | ClientError::Closed => {}
        other => panic!("unexpected error {other}"),
    }
    // A busy client is not idle: requests keep it open past the limit.
    let mut busy = server.client().await;
    for _ in 0..6 {
        busy.ping().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_stalled_request_is_dropped_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &["--frame-timeout", "2", "--idle-timeout", "0"]);
    let mut other = server.client().await;

    // Half a frame: the prefix announces 100 bytes, 10 arrive, then nothing.
    let mut stalled = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    stalled.write_all(&100u32.to_be_bytes()).await.unwrap();
    stalled.write_all(&[0u8; 10]).await.unwrap();
    // Meanwhile the server serves others.
    other.ping().await.unwrap();
    let said = read_until_closed(&mut stalled).await;
    let text = String::from_utf8_lossy(&said);
    assert!(text.contains("--frame-timeout"), "{text:?}");
    other.ping().await.unwrap();

    // A slow client that keeps sending is not cut: a hello trickling in one byte every
    // 250 ms takes longer than the limit in total, and is answered.
    use futures::{SinkExt, StreamExt};
    use kdfs_client::{ClientCodec, PROTOCOL_VERSION, Request, RequestFrame, Response};
    use tokio_util::codec::Encoder;
    let mut wire = bytes::BytesMut::new();
    let hello = Request::Hello {
        version: PROTOCOL_VERSION,
        client: "slow-but-steady".into(),
        token: None,
    };
    ClientCodec::new()
        .encode(
            RequestFrame {
                id: 1,
                request: hello,
            },
            &mut wire,
        )
        .unwrap();
    assert!(
        wire.len() * 250 > 2000 + 1000,
        "the hello is too short to prove anything"
    );
    let mut slow = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    slow.set_nodelay(true).unwrap();
    for byte in wire.iter() {
        slow.write_all(&[*byte]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut framed = tokio_util::codec::Framed::new(slow, ClientCodec::new());
    let reply = tokio::time::timeout(WAIT, framed.next())
        .await
        .expect("no answer to the slow hello")
        .expect("connection closed")
        .expect("decodable answer");
    assert!(
        matches!(reply.response, Response::Hello { .. }),
        "{reply:?}"
    );
    framed
        .send(RequestFrame {
            id: 2,
            request: Request::Ping,
        })
        .await
        .unwrap();
    other.ping().await.unwrap();
}

/// Say hello with `token` from the local address `from` (another loopback address stands for
/// another machine); returns the reply.
async fn hello_from(from: &str, addr: &str, token: &str) -> kdfs_client::Response {
    use futures::{SinkExt, StreamExt};
    use kdfs_client::{ClientCodec, PROTOCOL_VERSION, Request, RequestFrame};
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    let mut framed = tokio_util::codec::Framed::new(stream, ClientCodec::new());
    let hello = Request::Hello {
        version: PROTOCOL_VERSION,
        client: "security-test".into(),
        token: Some(token.into()),
    };
    framed
        .send(RequestFrame {
            id: 1,
            request: hello,
        })
        .await
        .unwrap();
    let reply = tokio::time::timeout(WAIT, framed.next()).await;
    reply
        .expect("no answer to hello")
        .expect("connection closed")
        .expect("decodable answer")
        .response
}

fn is_unauthorized(reply: &kdfs_client::Response) -> bool {
    matches!(
        reply,
        kdfs_client::Response::Error {
            kind: ErrorKind::Unauthorized,
            ..
        }
    )
}

#[tokio::test]
async fn repeated_wrong_tokens_are_slowed_down_per_address() {
    use kdfs::server::throttle::{FIRST_DELAY, FREE_STRIKES};
    use tokio::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start_with_env(dir.path(), &[], &[("KDFS_TOKEN", TOKEN)]);

    // The free wrong tokens, then three slowed ones: the next refusal waits 8x the first delay.
    for _ in 0..FREE_STRIKES + 3 {
        assert!(is_unauthorized(
            &hello_from("127.0.0.1", &server.addr, "guess").await
        ));
    }
    let slowed = tokio::spawn({
        let addr = server.addr.clone();
        async move {
            let started = Instant::now();
            let reply = hello_from("127.0.0.1", &addr, "guess").await;
            (reply, started.elapsed())
        }
    });
    // Meanwhile another address is answered at once, wrong token or right.
    assert!(is_unauthorized(
        &hello_from("127.0.0.2", &server.addr, "guess").await
    ));
    let reply = hello_from("127.0.0.2", &server.addr, TOKEN).await;
    assert!(
        matches!(reply, kdfs_client::Response::Hello { .. }),
        "{reply:?}"
    );
    assert!(
        !slowed.is_finished(),
        "the slowed refusal came before the other address was served"
    );
    let (reply, waited) = slowed.await.unwrap();
    assert!(is_unauthorized(&reply), "{reply:?}");
    eprintln!(
        "wrong token #{}: refused after {waited:?}",
        FREE_STRIKES + 4
    );
    assert!(waited >= FIRST_DELAY * 8, "refused after only {waited:?}");

    // The right token from the slowed address is served (and forgives it).
    let reply = hello_from("127.0.0.1", &server.addr, TOKEN).await;
    assert!(
        matches!(reply, kdfs_client::Response::Hello { .. }),
        "{reply:?}"
    );
    let mut c = connect_with_token(&server.addr, Some(TOKEN)).await.unwrap();
    c.ping().await.unwrap();
}
