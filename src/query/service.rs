//! [`KlongService`]: the server's one long-lived Klong interpreter.
//!
//! `Klong` is not `Send` (its values are reference counted with `Rc`), so the interpreter
//! lives on a dedicated thread with a large stack and receives programs over a bounded
//! channel. Globals persist between requests, as with the original server's shared
//! interpreter: `f::{x*2}` in one request can be called by the next.
//!
//! Evaluations run **one at a time, in arrival order**. While one runs, the others wait in the
//! queue (at most [`KlongConfig::queue_limit`]); callers beyond that wait their turn to enter
//! it, first come first served, for up to one evaluation's time limit, and only then get
//! [`QueryError::Busy`]: 256 clients sending Klong at once are served in turn rather than
//! refused. Each evaluation's time limit starts when it starts running, so a queued request
//! may wait up to the limit of every evaluation ahead of it. An evaluation
//! past its limit is stopped with [`QueryError::Timeout`] and the interpreter stays usable;
//! dropping the `eval` future (a client that disconnects) stops it too.

use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use klong::{Capabilities, ErrorKind, Klong, KlongError};
use tokio::sync::{Semaphore, oneshot};

use super::convert::{estimate_bytes, reply_batch};
use super::error::QueryError;
use super::natives::Natives;
use super::sink::FrameSink;
use crate::sql::{FrameSource, SqlEngine};

/// Settings of the server's Klong interpreter.
#[derive(Debug, Clone)]
pub struct KlongConfig {
    /// Time limit of one evaluation (the server's `--query-timeout`).
    pub timeout: Duration,
    /// Allow file system functions (`.ic .oc .ac .l`); off by default. `.df` is the frame
    /// reader on a server whatever this says, so nmh's "delete file" is never available.
    pub allow_files: bool,
    /// Allow `.sys` (run a program); off by default. `.x` never exits the server.
    pub allow_system: bool,
    /// Largest value an evaluation may return, and largest frame or SQL result a native may
    /// bring into the interpreter, in bytes.
    pub max_result_bytes: usize,
    /// Evaluations that may be queued at once; more wait for room (up to `timeout`), then
    /// get `Busy`.
    pub queue_limit: usize,
    /// Stack size of the interpreter thread; deep recursion fails cleanly before using it up.
    pub stack_size: usize,
}

impl Default for KlongConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            allow_files: false,
            allow_system: false,
            max_result_bytes: 256 << 20,
            queue_limit: 64,
            stack_size: 64 << 20,
        }
    }
}

/// What the interpreter's natives read from and write to.
#[derive(Debug, Clone)]
pub struct KlongBindings {
    /// Frames read by `.df` and listed by `.keys`.
    pub source: Arc<dyn FrameSource>,
    /// Where `.put` stores frames (`None`: `.put` fails with a clear error).
    pub sink: Option<Arc<dyn FrameSink>>,
    /// The engine behind `.sql` (`None`: `.sql` fails with a clear error).
    pub sql: Option<Arc<SqlEngine>>,
}

/// The value of one evaluation.
#[derive(Debug, Clone)]
pub struct KlongReply {
    /// The value in Klong's readable form, as the REPL prints it (empty when the program
    /// had no expression).
    pub display: String,
    /// Text the program printed with `.p`, `.d`, `.w` (captured, never sent to stdout).
    pub output: String,
    /// The value as Arrow data where it has that form: a dictionary of equal-length column
    /// vectors (one column each) or a vector (one column named `value`).
    pub batch: Option<RecordBatch>,
    /// Time spent evaluating (not waiting in the queue).
    pub elapsed: Duration,
}

type ReplyTx = oneshot::Sender<Result<KlongReply, QueryError>>;

struct Job {
    id: u64,
    code: String,
    cancelled: Arc<AtomicBool>,
    reply: ReplyTx,
}

/// State shared between callers and the interpreter thread.
#[derive(Debug)]
struct Shared {
    /// The interpreter's interrupt flag.
    interrupt: Arc<AtomicBool>,
    /// Id of the job running now (0: none). Locked together with raising or clearing the
    /// interrupt flag, so a cancelled caller can never interrupt the next job.
    current: Mutex<u64>,
    queued: AtomicUsize,
    next_id: AtomicU64,
}

/// The server's Klong interpreter, running on its own thread; cheap to share in an `Arc`.
#[derive(Debug)]
pub struct KlongService {
    tx: SyncSender<Job>,
    /// Room in the queue: one permit per queued or running evaluation.
    room: Arc<Semaphore>,
    shared: Arc<Shared>,
    config: KlongConfig,
}

impl KlongService {
    /// Starts the interpreter thread with `.df`, `.keys`, `.sql` and `.put` bound to
    /// `bindings`.
    pub fn start(config: KlongConfig, bindings: KlongBindings) -> Result<Self, QueryError> {
        // The natives run SQL and durable writes on this runtime, owned by the interpreter
        // thread, so they never wait for a worker of the server's runtime.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("kdfs-klong-rt")
            .build()
            .map_err(|e| QueryError::Internal(format!("cannot start a runtime: {e}")))?;
        let shared = Arc::new(Shared {
            interrupt: Arc::new(AtomicBool::new(false)),
            current: Mutex::new(0),
            queued: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        });
        let (tx, rx) = std::sync::mpsc::sync_channel(config.queue_limit.max(1));
        let worker = Worker {
            config: config.clone(),
            bindings,
            shared: Arc::clone(&shared),
        };
        std::thread::Builder::new()
            .name("kdfs-klong".into())
            .stack_size(config.stack_size.max(4 << 20))
            .spawn(move || worker.run(rx, runtime))
            .map_err(|e| QueryError::Internal(format!("cannot start the interpreter: {e}")))?;
        let room = Arc::new(Semaphore::new(config.queue_limit.max(1)));
        Ok(Self {
            tx,
            room,
            shared,
            config,
        })
    }

    /// The configuration the service runs with.
    pub fn config(&self) -> &KlongConfig {
        &self.config
    }

    /// Evaluates `code` in the shared interpreter and returns its value.
    ///
    /// Waits while earlier evaluations run (see the module docs). Dropping the future stops
    /// the evaluation if it is running and skips it if it is still queued.
    pub async fn eval(&self, code: String) -> Result<KlongReply, QueryError> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, rx) = oneshot::channel();
        let cancelled = Arc::new(AtomicBool::new(false));
        let job = Job {
            id,
            code,
            cancelled: Arc::clone(&cancelled),
            reply,
        };
        let room = Arc::clone(&self.room).acquire_owned();
        let _room = match tokio::time::timeout(self.config.timeout, room).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(QueryError::Internal("the interpreter has stopped".into())),
            Err(_) => {
                let queued = self.shared.queued.load(Ordering::SeqCst);
                return Err(QueryError::Busy { queued });
            }
        };
        let queued = self.shared.queued.fetch_add(1, Ordering::SeqCst);
        // Full only when cancelled jobs still sit in the channel (they leave it when reached).
        match self.tx.try_send(job) {
            Ok(()) => {}
            Err(e) => {
                self.shared.queued.fetch_sub(1, Ordering::SeqCst);
                return Err(match e {
                    TrySendError::Full(_) => QueryError::Busy { queued },
                    TrySendError::Disconnected(_) => {
                        QueryError::Internal("the interpreter thread has stopped".into())
                    }
                });
            }
        }
        let mut guard = CancelOnDrop {
            id,
            cancelled,
            shared: &self.shared,
            armed: true,
        };
        let r = rx.await;
        guard.armed = false;
        r.unwrap_or_else(|_| {
            Err(QueryError::Internal(
                "the interpreter thread stopped during evaluation".into(),
            ))
        })
    }
}

impl Drop for KlongService {
    fn drop(&mut self) {
        // Stop a running evaluation; the thread ends once the channel is closed.
        let cur = self
            .shared
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *cur != 0 {
            self.shared.interrupt.store(true, Ordering::Relaxed);
        }
    }
}

/// Cancels an evaluation whose caller stopped waiting for it.
struct CancelOnDrop<'a> {
    id: u64,
    cancelled: Arc<AtomicBool>,
    shared: &'a Shared,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.cancelled.store(true, Ordering::Relaxed);
        let cur = self
            .shared
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *cur == self.id {
            self.shared.interrupt.store(true, Ordering::Relaxed);
        }
    }
}

/// The interpreter thread.
struct Worker {
    config: KlongConfig,
    bindings: KlongBindings,
    shared: Arc<Shared>,
}

impl Worker {
    fn run(self, rx: Receiver<Job>, runtime: tokio::runtime::Runtime) {
        let natives = Rc::new(Natives {
            source: Arc::clone(&self.bindings.source),
            sink: self.bindings.sink.clone(),
            sql: self.bindings.sql.clone(),
            runtime,
            max_bytes: self.config.max_result_bytes,
            deadline: std::cell::Cell::new(None),
            interrupt: Arc::clone(&self.shared.interrupt),
        });
        let mut k = self.interpreter(&natives);
        while let Ok(job) = rx.recv() {
            self.shared.queued.fetch_sub(1, Ordering::SeqCst);
            if job.cancelled.load(Ordering::Relaxed) || job.reply.is_closed() {
                continue;
            }
            {
                let mut cur = self
                    .shared
                    .current
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                *cur = job.id;
                self.shared.interrupt.store(false, Ordering::Relaxed);
            }
            let start = Instant::now();
            let deadline = start + self.config.timeout;
            k.set_deadline(Some(deadline));
            natives.deadline.set(Some(deadline));
            let outcome =
                std::panic::catch_unwind(AssertUnwindSafe(|| self.evaluate(&mut k, &job.code)));
            {
                let mut cur = self
                    .shared
                    .current
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                *cur = 0;
            }
            let result = match outcome {
                Ok(Ok(mut reply)) => {
                    reply.elapsed = start.elapsed();
                    Ok(reply)
                }
                Ok(Err(e)) => Err(self.classify(e, deadline)),
                Err(_) => {
                    tracing::error!("klong evaluation panicked; restarting the interpreter");
                    k = self.interpreter(&natives);
                    Err(QueryError::Internal(
                        "the interpreter failed and was restarted (globals were lost)".into(),
                    ))
                }
            };
            let _ = job.reply.send(result);
        }
        tracing::debug!("klong interpreter thread stopped");
    }

    /// A fresh interpreter with the configured capabilities and the natives installed.
    fn interpreter(&self, natives: &Rc<Natives>) -> Klong {
        let mut k = Klong::with_capabilities(Capabilities {
            files: self.config.allow_files,
            stdin: false,
            system: self.config.allow_system,
        });
        k.interp().interrupt = Arc::clone(&self.shared.interrupt);
        // Leave a quarter of the thread's stack as headroom below the recursion check.
        k.set_stack_limit(self.config.stack_size / 4 * 3);
        k.set_max_depth(10_000);
        k.capture_output();
        natives.install(&mut k);
        k
    }

    fn evaluate(&self, k: &mut Klong, code: &str) -> Result<KlongReply, KlongError> {
        let value = k.exec(code);
        let output = k.take_output();
        let limit = self.config.max_result_bytes;
        let Some(value) = value? else {
            return Ok(KlongReply {
                display: String::new(),
                output,
                batch: None,
                elapsed: Duration::ZERO,
            });
        };
        let size = estimate_bytes(&value) + output.len();
        if size > limit {
            return Err(KlongError::new(ErrorKind::Limit, too_large_marker(size)));
        }
        Ok(KlongReply {
            display: klong::readable(&value),
            output,
            batch: reply_batch(&value),
            elapsed: Duration::ZERO,
        })
    }

    fn classify(&self, e: KlongError, deadline: Instant) -> QueryError {
        match e.kind {
            ErrorKind::Interrupted if Instant::now() >= deadline => QueryError::Timeout {
                limit: self.config.timeout,
            },
            ErrorKind::Interrupted => QueryError::Cancelled,
            ErrorKind::Permission => {
                let function = e.msg.split(':').next().unwrap_or("").trim().to_string();
                let system = matches!(function.as_str(), ".sys" | ".x");
                QueryError::Refused {
                    function,
                    what: if system { "operating-system" } else { "file" },
                    flag: if system {
                        "--allow-system"
                    } else {
                        "--allow-files"
                    },
                }
            }
            ErrorKind::Exit(code) => QueryError::Eval {
                message: format!(".x({code}): a server-side program cannot exit the server"),
            },
            ErrorKind::Limit if e.msg.starts_with(TOO_LARGE) => QueryError::TooLarge {
                size: e.msg[TOO_LARGE.len()..].parse().unwrap_or(0),
                limit: self.config.max_result_bytes,
            },
            _ => QueryError::Eval { message: e.msg },
        }
    }
}

const TOO_LARGE: &str = "result too large: ";

fn too_large_marker(size: usize) -> String {
    format!("{TOO_LARGE}{size}")
}
