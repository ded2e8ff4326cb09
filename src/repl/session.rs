//! The read-eval-print loop: one [`Session`] holds the settings and runs each input against a
//! [`ReplBackend`]; [`interactive`] drives it from a line editor, [`script`] from piped lines.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};

use super::backend::{BackendError, ReplBackend};
use super::command::{Command, help_text};
use super::helper::ReplHelper;
use super::input::{InputKind, Mode, classify, is_complete, strip_sql_terminator};
use super::render::{self, Format};

/// Rows shown by a table before it is cut (csv and json show all).
pub const DEFAULT_MAX_ROWS: usize = 100;

/// The prompt, as in the original.
pub const PROMPT: &str = "?> ";

/// User-adjustable settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How non-command input is read.
    pub mode: Mode,
    /// How results are printed.
    pub format: Format,
    /// Whether to print timings after queries.
    pub timing: bool,
    /// Table row limit.
    pub max_rows: usize,
    /// Whether errors are printed in red.
    pub color: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: Mode::Auto,
            format: Format::Table,
            timing: false,
            max_rows: DEFAULT_MAX_ROWS,
            color: false,
        }
    }
}

/// What happened to one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and succeeded.
    Ok,
    /// It failed; the error has been printed.
    Failed,
    /// The user asked to leave.
    Exit,
}

/// One REPL session against a backend.
pub struct Session<B> {
    backend: B,
    /// Current settings, changed by `\` commands.
    pub settings: Settings,
}

/// Output of one successful input, before printing.
struct Reply {
    text: String,
    server_time: Option<Duration>,
    timed: bool,
}

impl Reply {
    fn text(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            server_time: None,
            timed: false,
        }
    }
}

impl<B: ReplBackend> Session<B> {
    /// A session with default settings.
    pub fn new(backend: B, settings: Settings) -> Self {
        Session { backend, settings }
    }

    /// The backend, e.g. to refresh completion keys.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Runs one complete input (a command, SQL statement or Klong code), printing results to
    /// `out` and errors to `err`.
    pub async fn execute(
        &mut self,
        text: &str,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> Outcome {
        let started = Instant::now();
        let result = self.evaluate(text).await;
        let round_trip = started.elapsed();
        // A closed stdout (e.g. `| head`) is not the query's failure; ignore write errors.
        match result {
            Ok(None) => Outcome::Exit,
            Ok(Some(reply)) => {
                if !reply.text.is_empty() {
                    let _ = writeln!(out, "{}", reply.text);
                }
                if reply.timed && self.settings.timing {
                    let _ = writeln!(out, "{}", render::timing(reply.server_time, round_trip));
                }
                let _ = out.flush();
                Outcome::Ok
            }
            Err(message) => {
                let _ = writeln!(err, "{}", render::error(&message, self.settings.color));
                let _ = err.flush();
                Outcome::Failed
            }
        }
    }

    /// Runs `text`; `Ok(None)` means exit.
    async fn evaluate(&mut self, text: &str) -> Result<Option<Reply>, String> {
        let be = |e: BackendError| e.to_string();
        let reply = match classify(text, self.settings.mode) {
            InputKind::Empty => Reply::text(""),
            InputKind::Command => match Command::parse(text.trim())? {
                Command::Exit => return Ok(None),
                cmd => self.command(cmd).await?,
            },
            InputKind::Sql => {
                let query = strip_sql_terminator(text);
                let res = self.backend.sql(query).await.map_err(be)?;
                let table = render::batches(
                    &res.schema,
                    &res.batches,
                    self.settings.format,
                    self.settings.max_rows,
                )
                .map_err(|e| format!("cannot print the result: {e}"))?;
                Reply {
                    text: table,
                    server_time: Some(res.server_elapsed),
                    timed: true,
                }
            }
            InputKind::Klong => {
                let res = self.backend.klong(text.trim()).await.map_err(be)?;
                Reply {
                    text: res.display,
                    server_time: Some(res.server_elapsed),
                    timed: true,
                }
            }
        };
        Ok(Some(reply))
    }

    async fn command(&mut self, cmd: Command) -> Result<Reply, String> {
        let be = |e: BackendError| e.to_string();
        let s = &mut self.settings;
        Ok(match cmd {
            Command::Stats(level) => {
                let v = self.backend.stats(level).await.map_err(be)?;
                Reply {
                    text: render::stats(&v),
                    server_time: None,
                    timed: true,
                }
            }
            Command::Ls(prefix) => {
                let keys = self.backend.list_keys(&prefix).await.map_err(be)?;
                Reply {
                    text: render::keys(&keys, s.format),
                    server_time: None,
                    timed: true,
                }
            }
            Command::Load(key) => {
                self.backend.load(&key).await.map_err(be)?;
                Reply::text(format!("loaded {key}"))
            }
            Command::Unload(key) => {
                self.backend.unload(&key).await.map_err(be)?;
                Reply::text(format!("unloaded {key}"))
            }
            Command::Rm(key) => {
                self.backend.rm(&key).await.map_err(be)?;
                Reply::text(format!("removed {key}"))
            }
            Command::Help(topic) => Reply::text(help_text(topic.as_deref())?),
            Command::Timing(v) => {
                s.timing = v.unwrap_or(!s.timing);
                Reply::text(format!(
                    "Timing is {}.",
                    if s.timing { "on" } else { "off" }
                ))
            }
            Command::Mode(Some(m)) => {
                s.mode = m;
                Reply::text(format!("Mode is {m}."))
            }
            Command::Mode(None) => Reply::text(format!("Mode is {}.", s.mode)),
            Command::Format(Some(f)) => {
                s.format = f;
                Reply::text(format!("Format is {f}."))
            }
            Command::Format(None) => Reply::text(format!("Format is {}.", s.format)),
            Command::Exit => Reply::text(""),
        })
    }
}

/// What a loop reports when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Inputs that failed.
    pub failed: usize,
    /// Whether Ctrl-C stopped the run.
    pub interrupted: bool,
}

impl Summary {
    /// The process exit status: 0, 1 when an input failed, 130 when interrupted.
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            130
        } else if self.failed > 0 {
            1
        } else {
            0
        }
    }
}

/// The lines of `text` as a stream for [`script`].
pub fn text_lines(text: &str) -> impl Stream<Item = std::io::Result<String>> + Unpin + use<> {
    let lines: Vec<_> = text.lines().map(|l| Ok(l.to_string())).collect();
    futures::stream::iter(lines)
}

/// The lines of stdin as a stream for [`script`], read on their own thread because reading a
/// pipe blocks.
pub fn stdin_lines() -> impl Stream<Item = std::io::Result<String>> + Unpin {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let failed = line.is_err();
            if tx.blocking_send(line).is_err() || failed {
                break;
            }
        }
    });
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Runs the inputs read from `input` (piped script or `-c` text) until the end or `exit`.
/// Lines are joined while an input is incomplete, exactly as typed interactively. Ctrl-C stops
/// the run.
pub async fn script<B: ReplBackend>(
    session: &mut Session<B>,
    mut input: impl Stream<Item = std::io::Result<String>> + Unpin,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Summary> {
    let mut summary = Summary {
        failed: 0,
        interrupted: false,
    };
    let mut buffer = String::new();
    loop {
        let line = input.next().await.transpose()?;
        let at_end = line.is_none();
        if let Some(line) = line {
            if !buffer.is_empty() {
                buffer.push('\n');
            }
            buffer.push_str(&line);
            if !is_complete(&buffer, session.settings.mode) {
                continue;
            }
        }
        // At the end an unfinished input is still run so that its error is reported.
        if !buffer.trim().is_empty() {
            let text = std::mem::take(&mut buffer);
            let outcome = tokio::select! {
                o = session.execute(&text, out, err) => o,
                _ = tokio::signal::ctrl_c() => {
                    summary.interrupted = true;
                    return Ok(summary);
                }
            };
            match outcome {
                Outcome::Ok => {}
                Outcome::Failed => summary.failed += 1,
                Outcome::Exit => return Ok(summary),
            }
        }
        buffer.clear();
        if at_end {
            return Ok(summary);
        }
    }
}

/// Runs the interactive loop on the terminal until Ctrl-D or `exit`. `banner` is printed first.
pub async fn interactive<B: ReplBackend>(
    session: &mut Session<B>,
    banner: &str,
    history: Option<PathBuf>,
) -> anyhow::Result<Summary> {
    let config = Config::builder()
        .auto_add_history(false)
        .max_history_size(10_000)?
        .build();
    let mut rl: Editor<ReplHelper, DefaultHistory> = Editor::with_config(config)?;
    rl.set_helper(Some(ReplHelper::default()));
    if let Some(path) = &history
        && path.exists()
        && let Err(e) = rl.load_history(path)
    {
        tracing::warn!("cannot read history {}: {e}", path.display());
    }
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let _ = writeln!(stdout, "{banner}");
    let mut summary = Summary {
        failed: 0,
        interrupted: false,
    };
    refresh_keys(session, &mut rl).await;
    loop {
        // The editor blocks on the terminal; let the runtime move other tasks off this thread.
        let read = tokio::task::block_in_place(|| rl.readline(PROMPT));
        let text = match read {
            Ok(text) => text,
            // Ctrl-C on the prompt drops the line being typed.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        if text.trim().is_empty() {
            continue;
        }
        let _ = rl.add_history_entry(text.as_str());
        if let Some(path) = &history
            && let Err(e) = rl.save_history(path)
        {
            tracing::warn!("cannot write history {}: {e}", path.display());
        }
        // Ctrl-C while a query runs abandons it; the prompt comes back.
        let outcome = tokio::select! {
            o = session.execute(&text, &mut stdout, &mut stderr) => o,
            _ = tokio::signal::ctrl_c() => {
                let _ = writeln!(stderr, "{}", render::error("cancelled", session.settings.color));
                Outcome::Failed
            }
        };
        match outcome {
            Outcome::Ok => {}
            Outcome::Failed => summary.failed += 1,
            Outcome::Exit => break,
        }
        refresh_keys(session, &mut rl).await;
    }
    Ok(summary)
}

/// Updates what the line editor needs from the session: the mode for multi-line input and the
/// stored keys for completion (best effort: completion just offers fewer keys on failure).
async fn refresh_keys<B: ReplBackend>(
    session: &Session<B>,
    rl: &mut Editor<ReplHelper, DefaultHistory>,
) {
    let keys = session.backend().list_keys("").await;
    if let Some(h) = rl.helper_mut() {
        h.mode = session.settings.mode;
        if let Ok(keys) = keys {
            h.keys = keys.into_iter().map(|k| k.key).collect();
        }
    }
}

/// Whether both stdin and stdout are terminals (interactive use).
pub fn on_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}
