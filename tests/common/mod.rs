//! Helpers shared by the end-to-end tests: start the real `kdfs` binary on 127.0.0.1 with
//! port 0, read the address it prints, and kill it when the test ends.
#![allow(dead_code)] // Each test binary uses a different subset.

use arrow::array::{Array, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use kdfs_client::Client;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

/// Path of the `kdfs` binary under test.
pub fn kdfs_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kdfs"))
}

/// How long a server may take to print its address before the test gives up.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `kdfs server`; killed on drop.
pub struct ServerProc {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The port.
    pub port: u16,
}

impl ServerProc {
    /// Start a server on `dir` with extra arguments (e.g. `["--memory", "1MiB"]`).
    pub fn start(dir: &Path, extra: &[&str]) -> ServerProc {
        Self::start_with_env(dir, extra, &[])
    }

    /// [`ServerProc::start`] with extra environment variables.
    pub fn start_with_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> ServerProc {
        let mut command = Command::new(kdfs_bin());
        command
            .args(server_args(dir, extra))
            .env_remove("KDFS_TOKEN")
            .envs(env.iter().copied());
        Self::spawn(command)
    }

    /// [`ServerProc::start`] with a file size limit of `kib` KiB (`ulimit -f`), whose signal
    /// (SIGXFSZ) is ignored, so writes past it fail with EFBIG like on a full disk.
    pub fn start_with_file_limit(dir: &Path, extra: &[&str], kib: u64) -> ServerProc {
        let mut command = Command::new("sh");
        // An ignored signal stays ignored across exec. `ulimit -f` counts 512-byte blocks in
        // POSIX shells.
        command
            .args([
                "-c",
                "trap '' XFSZ; ulimit -f \"$1\" && shift && exec \"$@\"",
                "sh",
            ])
            .arg((kib * 2).to_string())
            .arg(kdfs_bin())
            .args(server_args(dir, extra))
            .env_remove("KDFS_TOKEN");
        Self::spawn(command)
    }

    /// Start `command` (a server) and wait for the address it prints.
    fn spawn(mut command: Command) -> ServerProc {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn kdfs server");
        // A thread reads the first line (so a server that never starts fails the test instead
        // of hanging it) and then drains stdout until the server exits.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let Some(addr) = line.trim().strip_prefix("kdfs listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("server did not start within {START_TIMEOUT:?}; first stdout line: {line:?}")
        };
        let addr = addr.to_string();
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        ServerProc { child, addr, port }
    }

    /// A connected client.
    pub async fn client(&self) -> Client {
        Client::connect(&self.addr).await.expect("connect")
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL and reap.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        self.child.wait().expect("wait")
    }
}

/// The arguments of `kdfs server` on 127.0.0.1, port 0, data in `dir`, plus `extra`.
fn server_args(dir: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "server",
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--log",
        "warn",
        "--dir",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(dir.as_os_str().to_owned());
    args.extend(extra.iter().map(OsString::from));
    args
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A minute-bar-like batch: `t` (Int64) and `c` (Float64 = t * 1.5 + offset).
pub fn bars(ts: &[i64], offset: f64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Int64, false),
        Field::new("c", DataType::Float64, true),
    ]));
    let closes: Vec<f64> = ts.iter().map(|&t| t as f64 * 1.5 + offset).collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(ts.to_vec())),
            Arc::new(Float64Array::from(closes)),
        ],
    )
    .unwrap()
}

/// All values of Int64 column `name` across `batches`.
pub fn ints(batches: &[RecordBatch], name: &str) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let col = b
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"));
            let a = col
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("Int64 column");
            (0..a.len()).map(|i| a.value(i)).collect::<Vec<_>>()
        })
        .collect()
}

/// All values of Float64 column `name` across `batches` (nulls as `None`).
pub fn floats(batches: &[RecordBatch], name: &str) -> Vec<Option<f64>> {
    batches
        .iter()
        .flat_map(|b| {
            let col = b
                .column_by_name(name)
                .unwrap_or_else(|| panic!("no column {name}"));
            let a = col
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("Float64 column");
            (0..a.len())
                .map(|i| (!a.is_null(i)).then(|| a.value(i)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Total rows.
pub fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

/// Asserts that `kdfs server` with each set of extra `args` refuses to start, saying `why`.
pub fn assert_server_refuses(dir: &Path, bad: &[(&[&str], &str)]) {
    for (args, why) in bad {
        let out = Command::new(kdfs_bin())
            .args(["server", "--port", "0", "--dir"])
            .arg(dir)
            .args(*args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} started a server");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
}
