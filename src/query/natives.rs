//! The system functions that bind stored frames into server-side Klong.
//!
//! * `.df(key)` → dictionary of column name → vector (index column included);
//!   `.df(key;from;to)` → the rows whose index lies in `from..to` (inclusive; `[]` leaves
//!   a side open). This replaces nmh's `.df` ("delete file"), which a server never offers.
//! * `.keys(prefix)` → the stored keys starting with `prefix`, as a list of strings.
//! * `.sql(query)` → the query's result as a dictionary of columns.
//! * `.put(key;dict)` → stores a dictionary of equal-length columns as frame `key` (index
//!   column `t`, upsert) and returns the number of rows the frame then holds.
//!
//! Natives run on the interpreter thread and block it; async work (SQL, durable writes)
//! runs on that thread's own small runtime, so nothing here waits on the server's runtime.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use futures::StreamExt;
use klong::{ErrorKind, Klong, KlongError, Value};

use super::convert::{batches_bytes, batches_to_dict, dict_to_frame_batch, kerr};
use super::sink::FrameSink;
use crate::sql::{FrameSource, IndexRange, SqlEngine};

/// Index column of frames stored with `.put`.
pub const PUT_INDEX_COLUMN: &str = "t";

/// What the natives reach, shared by all of them on the interpreter thread.
pub(crate) struct Natives {
    pub source: Arc<dyn FrameSource>,
    pub sink: Option<Arc<dyn FrameSink>>,
    pub sql: Option<Arc<SqlEngine>>,
    pub runtime: tokio::runtime::Runtime,
    /// Largest frame or SQL result a native may bring into the interpreter.
    pub max_bytes: usize,
    /// Deadline of the evaluation in progress.
    pub deadline: Cell<Option<Instant>>,
    /// The interpreter's interrupt flag (set when the caller goes away).
    pub interrupt: Arc<AtomicBool>,
}

impl Natives {
    /// Installs `.df`, `.keys`, `.sql` and `.put` in `k`.
    pub fn install(self: &Rc<Self>, k: &mut Klong) {
        let n = Rc::clone(self);
        k.register_variadic(".df", 1, 3, move |a| n.df(a));
        let n = Rc::clone(self);
        k.register(".keys", 1, move |a| n.keys(&a[0]));
        let n = Rc::clone(self);
        k.register(".sql", 1, move |a| n.sql(&a[0]));
        let n = Rc::clone(self);
        k.register(".put", 2, move |a| n.put(&a[0], &a[1]));
    }

    fn df(&self, args: &[Value]) -> Result<Value, KlongError> {
        let key = text_arg(".df", "key", &args[0])?;
        let range = match args {
            [_, from, to] => IndexRange {
                start: bound_arg(".df", "from", from)?,
                end: bound_arg(".df", "to", to)?,
            },
            [_] => IndexRange::ALL,
            _ => {
                return Err(KlongError::new(
                    ErrorKind::Arity,
                    ".df: use .df(key) or .df(key;from;to)",
                ));
            }
        };
        let meta = self.source.meta(&key).ok_or_else(|| {
            kerr(format!(
                ".df: no frame \"{key}\"; .keys(\"\") lists the stored keys"
            ))
        })?;
        let scan = self
            .source
            .scan(&key, range, None, None)
            .map_err(|e| kerr(format!(".df: {e}")))?;
        let mut batches: Vec<RecordBatch> = Vec::new();
        let mut bytes = 0usize;
        for b in scan {
            let b = b.map_err(|e| kerr(format!(".df: {e}")))?;
            bytes += batches_bytes(std::slice::from_ref(&b));
            if bytes > self.max_bytes {
                return Err(KlongError::new(
                    ErrorKind::Limit,
                    format!(
                        ".df: frame \"{key}\" is larger than the limit of {} bytes; read a range \
                         with .df(key;from;to)",
                        self.max_bytes
                    ),
                ));
            }
            batches.push(b);
        }
        batches_to_dict(&meta.schema, &batches).map_err(|e| prefix(".df", e))
    }

    fn keys(&self, prefix_arg: &Value) -> Result<Value, KlongError> {
        let p = text_arg(".keys", "prefix", prefix_arg)?;
        let keys: Vec<Value> = self
            .source
            .list(&p)
            .iter()
            .map(|m| Value::str(&m.key))
            .collect();
        Ok(Value::list(keys))
    }

    fn sql(&self, query: &Value) -> Result<Value, KlongError> {
        let q = text_arg(".sql", "query", query)?;
        let engine = self
            .sql
            .as_ref()
            .ok_or_else(|| kerr(".sql: SQL is not available in this interpreter"))?;
        let max = self.max_bytes;
        let work = async {
            let mut stream = engine.execute(&q).await.map_err(|e| e.to_string())?;
            let schema = stream.schema();
            let mut batches = Vec::new();
            let mut bytes = 0usize;
            while let Some(b) = stream.next().await {
                let b = b.map_err(|e| e.to_string())?;
                bytes += batches_bytes(std::slice::from_ref(&b));
                if bytes > max {
                    return Err(format!(
                        "result is larger than the limit of {max} bytes; aggregate or add a LIMIT"
                    ));
                }
                batches.push(b);
            }
            Ok((schema, batches))
        };
        let (schema, batches) = self
            .block_on(work)?
            .map_err(|m| kerr(format!(".sql: {m}")))?;
        batches_to_dict(&schema, &batches).map_err(|e| prefix(".sql", e))
    }

    fn put(&self, key: &Value, dict: &Value) -> Result<Value, KlongError> {
        let key = text_arg(".put", "key", key)?;
        let sink = self
            .sink
            .as_ref()
            .ok_or_else(|| kerr(".put: storing frames is not available in this interpreter"))?;
        let stored = self.source.meta(&key).map(|m| m.schema);
        let batch = dict_to_frame_batch(dict, PUT_INDEX_COLUMN, stored.as_ref())?;
        let rows = self
            .block_on(sink.upsert(&key, PUT_INDEX_COLUMN, batch))?
            .map_err(|e| kerr(format!(".put: {e}")))?;
        Ok(Value::Int(i64::try_from(rows).unwrap_or(i64::MAX)))
    }

    /// Runs `fut` on the interpreter's runtime until it finishes, the evaluation's deadline
    /// passes, or the interrupt flag is raised (the last two drop `fut`, cancelling it).
    fn block_on<T>(&self, fut: impl Future<Output = T>) -> Result<T, KlongError> {
        let deadline = self.deadline.get();
        let interrupt = Arc::clone(&self.interrupt);
        self.runtime.block_on(async move {
            let timer = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            // The interrupt flag is a plain atomic: poll it at a coarse interval.
            let interrupted = async {
                while !interrupt.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            tokio::select! {
                v = fut => Ok(v),
                () = timer => Err(KlongError::new(
                    ErrorKind::Interrupted,
                    "interrupted: time limit exceeded",
                )),
                () = interrupted => {
                    interrupt.store(false, Ordering::Relaxed);
                    Err(KlongError::new(ErrorKind::Interrupted, "interrupted"))
                }
            }
        })
    }
}

/// A key, prefix or query argument: a string or a symbol.
fn text_arg(f: &str, what: &str, v: &Value) -> Result<String, KlongError> {
    match v {
        Value::Str(s) => Ok(s.iter().collect()),
        Value::Sym(s) => Ok(s.to_string()),
        other => Err(KlongError::new(
            ErrorKind::Type,
            format!(
                "{f}: {what} must be a string, got {}",
                klong::readable(other)
            ),
        )),
    }
}

/// A range bound: an integer, or `[]` / `:undefined` for an open side.
fn bound_arg(f: &str, what: &str, v: &Value) -> Result<Option<i64>, KlongError> {
    match v {
        Value::Int(i) => Ok(Some(*i)),
        Value::Undefined => Ok(None),
        Value::List(items) if items.is_empty() => Ok(None),
        other => Err(KlongError::new(
            ErrorKind::Type,
            format!(
                "{f}: {what} must be an integer in the index column's unit (or [] for open), got {}",
                klong::readable(other)
            ),
        )),
    }
}

fn prefix(f: &str, e: KlongError) -> KlongError {
    KlongError::new(e.kind, format!("{f}: {}", e.msg))
}
