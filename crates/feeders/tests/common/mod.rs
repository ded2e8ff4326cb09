//! Helpers for end-to-end tests: start the real binaries, read their output, stop them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Generous: CI machines are slow; tests only wait this long when something is broken.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running binary whose stdout lines arrive on a channel. Killed on drop.
pub struct Proc {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
}

impl Proc {
    pub fn start(bin: &str, args: &[&str]) -> Proc {
        let mut child = Command::new(bin)
            .args(args)
            .arg("--log")
            .arg("warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines }
    }

    /// The next stdout line; panics after [`WAIT`].
    pub fn line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no output line: {e}"))
    }

    /// The next `n` lines parsed as JSON.
    pub fn json_lines(&self, n: usize) -> Vec<serde_json::Value> {
        (0..n)
            .map(|_| {
                let l = self.line();
                serde_json::from_str(&l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}"))
            })
            .collect()
    }

    /// Wait for exit and return whether it succeeded.
    pub fn wait_success(&mut self) -> bool {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

pub const FAKE_SRC: &str = env!("CARGO_BIN_EXE_ws_feed_fake_src");
pub const TAIL: &str = env!("CARGO_BIN_EXE_ws_feed_tail");
pub const GRAFANA: &str = env!("CARGO_BIN_EXE_ws_feed_grafana");

/// Start a fake source on a free port; returns it and its `ws://` address.
pub fn fake_src(args: &[&str]) -> (Proc, String) {
    let p = Proc::start(FAKE_SRC, &[&["--port", "0"], args].concat());
    let uri = p.line();
    assert!(
        uri.starts_with("ws://127.0.0.1:"),
        "unexpected address line {uri:?}"
    );
    (p, uri)
}

/// Start a fake source on a specific port (for restarts), retrying while the port is busy.
pub fn fake_src_on(port: u16, args: &[&str]) -> (Proc, String) {
    let port = port.to_string();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let mut p = Proc::start(FAKE_SRC, &[&["--port", port.as_str()], args].concat());
        match p.lines.recv_timeout(Duration::from_secs(5)) {
            Ok(uri) => return (p, uri),
            Err(_) if std::time::Instant::now() < deadline => {
                p.kill();
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("fake source could not bind port {port}: {e}"),
        }
    }
}

/// The bars of one message, as JSON objects.
pub fn bars(msg: &serde_json::Value) -> &Vec<serde_json::Value> {
    msg.as_array()
        .unwrap_or_else(|| panic!("message is not an array: {msg}"))
}
