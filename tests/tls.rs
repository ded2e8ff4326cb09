//! TLS for the framed protocol, against the real server with a certificate made by the test:
//! clients that trust it are served (token flow unchanged), others fail cleanly, and the
//! server keeps serving.

mod common;

use common::{ServerProc, assert_server_refuses, bars, ints, kdfs_bin};
use kdfs_client::tls::TlsOptions;
use kdfs_client::{Client, ClientError, ClientOptions, ErrorKind, ReadOptions, UpdateOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "correct-horse-battery-staple";
/// Bound on every connection attempt, so a hang fails instead of blocking the test.
const WAIT: Duration = Duration::from_secs(30);

/// A self-signed certificate for 127.0.0.1 and localhost; returns the certificate and key
/// files (PEM) written to `dir` under `name`.
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
    let made = rcgen::generate_simple_self_signed(names).unwrap();
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

fn options(token: Option<&str>, tls: Option<TlsOptions>) -> ClientOptions {
    ClientOptions {
        token: token.map(str::to_string),
        tls,
        timeout: Some(WAIT),
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn tls_serves_clients_that_trust_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "server");
    let (other_cert, _) = self_signed(dir.path(), "other");
    let args = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let server =
        ServerProc::start_with_env(&dir.path().join("data"), &args, &[("KDFS_TOKEN", TOKEN)]);
    let trusted = TlsOptions::from_ca_file(&cert).unwrap();

    let mut c = Client::connect_with(&server.addr, options(Some(TOKEN), Some(trusted.clone())))
        .await
        .unwrap();
    c.update("tls/a", &bars(&[1, 2, 3], 0.0), UpdateOptions::default())
        .await
        .unwrap();
    let batches = c.read("tls/a", ReadOptions::default()).await.unwrap();
    assert_eq!(ints(&batches, "t"), vec![1, 2, 3]);
    let stats = c.stats(0).await.unwrap();
    assert_eq!(stats["config"]["tls"], true, "{stats}");

    // The token is still required inside TLS.
    match Client::connect_with(&server.addr, options(Some("guess"), Some(trusted))).await {
        Err(ClientError::Server {
            kind: ErrorKind::Unauthorized,
            ..
        }) => {}
        Err(other) => panic!("expected unauthorized, got {other}"),
        Ok(_) => panic!("a wrong token was accepted over TLS"),
    }
    // A client without TLS, and one trusting another certificate, fail; the server serves on.
    match Client::connect_with(&server.addr, options(Some(TOKEN), None)).await {
        Err(ClientError::Tls(message)) => {
            eprintln!("a plain client is refused: {message}");
            assert!(message.contains("speaks TLS"), "{message}");
        }
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("a plain client was served by a TLS server"),
    }
    let untrusted = TlsOptions::from_ca_file(&other_cert).unwrap();
    match Client::connect_with(&server.addr, options(Some(TOKEN), Some(untrusted))).await {
        Err(ClientError::Tls(message)) => {
            eprintln!("a client trusting another certificate is refused: {message}");
            assert!(message.contains("certificate"), "{message}")
        }
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("a client trusting another certificate connected"),
    }
    c.ping().await.unwrap();

    // The CLI and the REPL take --tls-ca.
    let cli = |args: &[&str]| {
        Command::new(kdfs_bin())
            .args(args)
            .args(["--port", &server.port.to_string()])
            .env("KDFS_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let cert = cert.to_str().unwrap();
    let out = cli(&["ls", "tls", "--tls-ca", cert]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("tls/a"));
    let out = cli(&["repl", "--tls-ca", cert, "-c", "stats"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!cli(&["ls", "tls"]).status.success());

    // A TLS client at a plain server fails its handshake instead of hanging.
    let plain = ServerProc::start(&dir.path().join("plain"), &[]);
    let tls = TlsOptions::from_ca_file(Path::new(cert)).unwrap();
    match Client::connect_with(&plain.addr, options(None, Some(tls))).await {
        Err(ClientError::Tls(message)) => eprintln!("TLS client at a plain server: {message}"),
        Err(other) => panic!("expected a TLS error, got {other}"),
        Ok(_) => panic!("a TLS client connected to a plain server"),
    }
    Client::connect(&plain.addr)
        .await
        .unwrap()
        .ping()
        .await
        .unwrap();
}

#[test]
fn unusable_tls_files_stop_the_server_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed(dir.path(), "server");
    let (_, other_key) = self_signed(dir.path(), "other");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let cert = cert.to_str().unwrap();
    let bad: [(&[&str], &str); 3] = [
        (&["--tls-cert", cert], "--tls-key"),
        (
            &[
                "--tls-cert",
                garbage.to_str().unwrap(),
                "--tls-key",
                garbage.to_str().unwrap(),
            ],
            "no PEM certificate",
        ),
        (
            &["--tls-cert", cert, "--tls-key", other_key.to_str().unwrap()],
            "does not fit",
        ),
    ];
    assert_server_refuses(&dir.path().join("data"), &bad);
}
