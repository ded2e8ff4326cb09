//! `kdfs repl` end to end: a real server on port 0, the REPL fed through a pipe, and one
//! interactive session on a pseudo-terminal driven with tmux.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};

const KDFS: &str = env!("CARGO_BIN_EXE_kdfs");

/// A `kdfs server` on a free port with its own data directory; killed on drop.
struct Server {
    child: Child,
    addr: String,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(KDFS)
        .args(["server", "--port", "0", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The server prints its address as the first line on stdout.
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| {
            let w = w.trim_start_matches("tcp://");
            w.rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .map(|_| w.to_string())
        })
        .unwrap_or_else(|| panic!("no address in the server's first line: {line:?}"));
    let port = addr.rsplit_once(':').unwrap().1.parse().unwrap();
    Server {
        child,
        addr,
        port,
        _dir: dir,
    }
}

/// Stores three rows under `test/trades` through the client library.
fn store_trades(addr: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut client = kdfs_client::Client::connect(addr).await.unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("t", DataType::Int64, false),
            Field::new("c", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(Float64Array::from(vec![10.5, 11.0, 12.25])),
            ],
        )
        .unwrap();
        let options = kdfs_client::UpdateOptions {
            index: "t".into(),
            upsert: false,
        };
        client.update("test/trades", &batch, options).await.unwrap();
    });
}

/// Runs `kdfs repl` against `server` with `stdin` piped in.
fn repl(server: &Server, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(KDFS)
        .args(["repl", "--port", &server.port.to_string()])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The first top-level JSON object printed (from a line `{` to the next line `}`).
fn first_json(out: &str) -> serde_json::Value {
    let start = out.find("{\n").expect("a JSON object");
    let end = start + out[start..].find("\n}").expect("the end of the object") + 2;
    serde_json::from_str(&out[start..end]).unwrap()
}

#[test]
fn piped_script_runs_every_kind_of_input() {
    let server = start_server();
    store_trades(&server.addr);
    let script = "\
stats
ls
SELECT t, c FROM \"test/trades\" ORDER BY t
f::{[a];
  a::x*2;
  a+1}
f(20)
rm no/such/key
";
    let out = repl(&server, &[], script);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // stats: indented JSON with the original's memory figures.
    let stats = first_json(&stdout);
    for field in ["memory_used", "memory_free", "memory_max", "frames"] {
        assert!(stats[field].is_u64(), "{field} in {stats}");
    }
    assert_eq!(stats["frames"], 1);
    assert!(stdout.contains("\n  \"memory_used\": "), "{stdout}");
    // ls: the stored key with its row count.
    let ls_line = stdout
        .lines()
        .find(|l| l.contains("test/trades"))
        .expect("ls lists the key");
    assert!(ls_line.contains(" 3 "), "{ls_line}");
    // SQL: an aligned table and a row count.
    assert!(stdout.contains("| t |     c |"), "{stdout}");
    assert!(stdout.contains("| 3 | 12.25 |"), "{stdout}");
    assert!(stdout.contains("(3 rows)"), "{stdout}");
    // Klong: the multi-line definition, then its call.
    assert!(stdout.lines().any(|l| l == "41"), "{stdout}");
    // The error: the server's message, no color, and a failing exit status.
    let err_line = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .expect("an error line");
    assert!(err_line.contains("no/such/key"), "{err_line}");
    assert!(
        !stdout.contains('\x1b') && !stderr.contains('\x1b'),
        "no colors on a pipe"
    );
    assert!(!stdout.contains("Type `help`"), "no banner on a pipe");
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
}

#[test]
fn dash_c_runs_one_command() {
    let server = start_server();
    let out = repl(&server, &["-c", "stats"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The whole output is one JSON document.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["frames"], 0);

    let out = repl(&server, &["-c", "ls", "-c", "load missing/key"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("(0 keys)"));
    assert!(text(&out.stderr).starts_with("error: "));
}

#[test]
fn no_server_is_reported() {
    // Port 1 is never a kdfs server.
    let out = Command::new(KDFS)
        .args(["repl", "--port", "1", "-c", "stats"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot reach 127.0.0.1:1"),
        "{}",
        text(&out.stderr)
    );
}

/// One tmux server (its own socket) running one session; killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "repl"];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    fn screen(&self) -> String {
        text(
            &self
                .cmd(&["capture-pane", "-p", "-t", "repl", "-S", "-200"])
                .stdout,
        )
    }

    /// Whether the program in the pane has exited (the pane stays, see `remain-on-exit`).
    /// Asked of tmux itself: the "Pane is dead" line some versions print is not in every one.
    fn pane_dead(&self) -> bool {
        text(
            &self
                .cmd(&["display-message", "-p", "-t", "repl", "#{pane_dead}"])
                .stdout,
        )
        .trim()
            == "1"
    }

    /// Waits until the screen satisfies `ready`; the deadline only bounds a hung test.
    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn interactive_session_in_a_terminal() {
    if !tmux_available() {
        println!("tmux is not installed: skipping the interactive REPL test");
        return;
    }
    let server = start_server();
    let data = tempfile::tempdir().unwrap();
    let tmux = Tmux {
        socket: format!("kdfs-repl-test-{}", std::process::id()),
    };
    let command = format!(
        "env XDG_DATA_HOME={} TERM=xterm {KDFS} repl --port {}",
        shell_quote(data.path()),
        server.port
    );
    let started = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "repl",
        "-x",
        "120",
        "-y",
        "50",
        &command,
    ]);
    assert!(started.status.success(), "{}", text(&started.stderr));
    // Keep the pane after the REPL exits so its last screen can be read.
    tmux.cmd(&["set-option", "-t", "repl", "remain-on-exit", "on"]);

    let screen = tmux.wait_for("the banner and prompt", |s| s.contains("?>"));
    assert!(
        screen.contains(&format!("connected to {}", server.addr)),
        "{screen}"
    );
    assert!(screen.contains("Type `help`"), "{screen}");

    tmux.send(&["stats", "Enter"]);
    tmux.wait_for("stats", |s| s.contains("\"memory_max\":"));

    tmux.send(&["\\timing on", "Enter"]);
    tmux.wait_for("timing on", |s| s.contains("Timing is on."));
    tmux.send(&["6*7", "Enter"]);
    let screen = tmux.wait_for("a timed result", |s| s.contains("Time: server "));
    assert!(screen.lines().any(|l| l == "42"), "{screen}");

    // Up arrow recalls the last line; running it again prints a second result and timing.
    tmux.send(&["Up"]);
    tmux.wait_for("the recalled line", |s| s.trim_end().ends_with("?> 6*7"));
    tmux.send(&["Enter"]);
    tmux.wait_for("the second result", |s| {
        s.matches("Time: server ").count() == 2
    });

    // Ctrl-D leaves, and the history file holds what was typed.
    tmux.send(&["C-d"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !tmux.pane_dead() {
        assert!(
            Instant::now() < deadline,
            "waiting for the exit; screen:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let history = std::fs::read_to_string(data.path().join("kdfs/history")).unwrap();
    assert!(
        history.contains("stats") && history.contains("6*7"),
        "{history}"
    );
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}
