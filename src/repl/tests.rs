//! Session tests against an in-memory fake backend.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use async_trait::async_trait;

use super::backend::{BackendError, KeyRow, KlongOutput, ReplBackend, SqlOutput};
use super::input::Mode;
use super::render::Format;
use super::session::{self, Outcome, Session, Settings};

/// Keys in a map; SQL `select N` returns N rows, Klong echoes the code it got (so tests can see
/// exactly what was sent) and fails on `err`.
#[derive(Default, Clone)]
struct Fake {
    keys: Arc<Mutex<BTreeMap<String, bool>>>,
    sent: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn with_keys(keys: &[&str]) -> Fake {
        let f = Fake::default();
        for k in keys {
            f.keys.lock().unwrap().insert(k.to_string(), false);
        }
        f
    }

    fn not_found(key: &str) -> BackendError {
        BackendError::Server {
            kind: "NotFound".into(),
            message: format!("no frame `{key}`"),
        }
    }
}

#[async_trait]
impl ReplBackend for Fake {
    async fn ping(&self) -> Result<(), BackendError> {
        Ok(())
    }

    async fn stats(&self, level: u8) -> Result<serde_json::Value, BackendError> {
        Ok(serde_json::json!({"level": level, "frames": self.keys.lock().unwrap().len()}))
    }

    async fn list_keys(&self, prefix: &str) -> Result<Vec<KeyRow>, BackendError> {
        Ok(self
            .keys
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, loaded)| KeyRow {
                key: k.clone(),
                rows: 10,
                first: Some(0),
                last: Some(9),
                columns: vec!["t".into(), "c".into()],
                disk_bytes: 100,
                loaded: *loaded,
            })
            .collect())
    }

    async fn load(&self, key: &str) -> Result<(), BackendError> {
        match self.keys.lock().unwrap().get_mut(key) {
            Some(l) => {
                *l = true;
                Ok(())
            }
            None => Err(Fake::not_found(key)),
        }
    }

    async fn unload(&self, key: &str) -> Result<(), BackendError> {
        match self.keys.lock().unwrap().get_mut(key) {
            Some(l) => {
                *l = false;
                Ok(())
            }
            None => Err(Fake::not_found(key)),
        }
    }

    async fn rm(&self, key: &str) -> Result<(), BackendError> {
        self.keys
            .lock()
            .unwrap()
            .remove(key)
            .map(|_| ())
            .ok_or_else(|| Fake::not_found(key))
    }

    async fn sql(&self, query: &str) -> Result<SqlOutput, BackendError> {
        self.sent.lock().unwrap().push(query.to_string());
        let n: i64 = query
            .split_whitespace()
            .nth(1)
            .and_then(|w| w.parse().ok())
            .ok_or_else(|| BackendError::Server {
                kind: "Query".into(),
                message: format!("cannot run `{query}`"),
            })?;
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("row{i}")),
                )),
            ],
        )
        .unwrap();
        Ok(SqlOutput {
            schema,
            batches: vec![batch],
            server_elapsed: Duration::from_micros(250),
        })
    }

    async fn klong(&self, code: &str) -> Result<KlongOutput, BackendError> {
        self.sent.lock().unwrap().push(code.to_string());
        if code.contains("err") {
            return Err(BackendError::Server {
                kind: "Query".into(),
                message: "type error".into(),
            });
        }
        Ok(KlongOutput {
            display: format!("<{code}>"),
            batches: None,
            server_elapsed: Duration::from_micros(10),
        })
    }
}

/// Runs `script` through a fresh session; returns stdout, stderr, exit code and what was sent.
async fn run_script(fake: Fake, script: &str) -> (String, String, i32, Vec<String>) {
    let mut session = Session::new(fake.clone(), Settings::default());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let summary = session::script(
        &mut session,
        session::text_lines(script),
        &mut out,
        &mut err,
    )
    .await
    .unwrap();
    let sent = fake.sent.lock().unwrap().clone();
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
        summary.exit_code(),
        sent,
    )
}

#[tokio::test]
async fn stats_print_indented_json() {
    let (out, err, code, _) = run_script(Fake::with_keys(&["a"]), "stats\nstats 2\n").await;
    assert_eq!((err.as_str(), code), ("", 0));
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&out)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(docs[0]["level"], 0);
    assert_eq!(docs[1]["level"], 2);
    assert!(out.contains("\n  \"frames\": 1"), "{out}");
}

#[tokio::test]
async fn key_commands_change_the_store() {
    let fake = Fake::with_keys(&["hist/a", "hist/b", "other"]);
    let (out, err, code, _) =
        run_script(fake.clone(), "ls hist/\nload hist/a\nrm other\nls\n").await;
    assert_eq!((err.as_str(), code), ("", 0), "{out}");
    assert!(
        out.contains("(2 keys)") && out.contains("loaded hist/a") && out.contains("removed other")
    );
    assert_eq!(fake.keys.lock().unwrap().get("hist/a"), Some(&true));
    assert!(!fake.keys.lock().unwrap().contains_key("other"));
}

#[tokio::test]
async fn failures_are_reported_and_set_the_exit_code() {
    let (out, err, code, _) = run_script(Fake::default(), "rm nothing\n1+1\nerr\nstats x\n").await;
    assert_eq!(code, 1);
    assert!(out.contains("<1+1>"), "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "error: no frame `nothing`",
            "error: type error",
            "error: usage: stats [level]  (level is a number, e.g. stats 1)"
        ]
    );
}

#[tokio::test]
async fn multi_line_klong_is_sent_as_one_input() {
    let script = "f::{[a];\n  a::x*2;\n  a+1}\nf(20)\n";
    let (out, _, code, sent) = run_script(Fake::default(), script).await;
    assert_eq!(code, 0);
    assert_eq!(sent, ["f::{[a];\n  a::x*2;\n  a+1}", "f(20)"]);
    assert!(out.ends_with("<f(20)>\n"), "{out}");
}

#[tokio::test]
async fn sql_is_detected_and_rendered_as_a_table() {
    let (out, _, code, sent) = run_script(Fake::default(), "SELECT 3;\n").await;
    assert_eq!(code, 0);
    assert_eq!(sent, ["SELECT 3"]);
    assert!(
        out.contains("| n | s    |") && out.contains("row2") && out.ends_with("(3 rows)\n"),
        "{out}"
    );
}

#[tokio::test]
async fn sql_mode_reads_until_semicolon_and_formats_apply() {
    let script = "\\mode sql\n\\format csv\nselect\n 2\n;\n\\mode auto\n";
    let (out, err, code, sent) = run_script(Fake::default(), script).await;
    assert_eq!((err.as_str(), code), ("", 0));
    assert_eq!(sent, ["select\n 2"]);
    assert!(
        out.contains("Mode is sql.\nFormat is csv.\nn,s\n0,row0\n1,row1\nMode is auto."),
        "{out}"
    );
}

#[tokio::test]
async fn timing_lines_follow_queries_when_on() {
    let (out, _, _, _) = run_script(Fake::default(), "\\timing on\n1\n\\timing\n2\n").await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Timing is on.");
    assert_eq!(lines[1], "<1>");
    assert!(
        lines[2].starts_with("Time: server 0.010 ms, round trip "),
        "{out}"
    );
    assert_eq!(lines[3], "Timing is off.");
    assert_eq!(lines[4], "<2>");
    assert_eq!(lines.len(), 5);
}

#[tokio::test]
async fn exit_stops_the_script() {
    let (out, _, code, sent) = run_script(Fake::default(), "1\nquit\n2\n").await;
    assert_eq!((out.as_str(), code), ("<1>\n", 0));
    assert_eq!(sent, ["1"]);
}

#[tokio::test]
async fn unfinished_input_at_the_end_is_still_sent() {
    let (_, _, _, sent) = run_script(Fake::default(), "f::{x\n").await;
    assert_eq!(sent, ["f::{x"]);
}

#[tokio::test]
async fn errors_are_red_only_with_color() {
    let mut s = Session::new(
        Fake::default(),
        Settings {
            color: true,
            ..Settings::default()
        },
    );
    let (mut out, mut err) = (Vec::new(), Vec::new());
    assert_eq!(s.execute("err", &mut out, &mut err).await, Outcome::Failed);
    assert_eq!(
        String::from_utf8(err).unwrap(),
        "\x1b[31merror: type error\x1b[0m\n"
    );
}

#[tokio::test]
async fn settings_change_through_commands() {
    let mut s = Session::new(Fake::default(), Settings::default());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    for line in ["\\mode klong", "\\format json", "\\timing on"] {
        assert_eq!(s.execute(line, &mut out, &mut err).await, Outcome::Ok);
    }
    assert_eq!(s.settings.mode, Mode::Klong);
    assert_eq!(s.settings.format, Format::Json);
    assert!(s.settings.timing);
    assert_eq!(s.execute("help", &mut out, &mut err).await, Outcome::Ok);
    assert_eq!(s.execute("exit", &mut out, &mut err).await, Outcome::Exit);
    assert!(err.is_empty());
}

#[tokio::test]
async fn run_with_executes_commands() {
    // `-c` text goes through the same script path; a failing command gives status 1.
    let code = super::run_with(Fake::default(), "fake:0", vec!["1".into()])
        .await
        .unwrap();
    assert_eq!(code, 0);
    let code = super::run_with(Fake::default(), "fake:0", vec!["1".into(), "err".into()])
        .await
        .unwrap();
    assert_eq!(code, 1);
}
