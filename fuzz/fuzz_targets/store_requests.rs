//! A sequence of client requests against a fresh store: updates (built from arbitrary columns,
//! or raw Arrow IPC payloads decoded as the server decodes them), reads with ranges and column
//! lists, deletes, loads, unloads, key listings, compactions and reopening.
//! Every request must be answered with a result or an error, never a panic, and the store
//! must agree with itself: an update's counts add up to its rows, a read returns the rows the
//! frame has, and a reopened store has the frames it had.
//!
//! The server's request handlers (in the DataFusion crate) are thin: they decode the key and
//! payload and call the store. This target makes the same calls without the server.
#![no_main]

use arbitrary::Arbitrary;
use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampMillisecondArray,
    TimestampNanosecondArray, UInt64Array,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use futures::executor::block_on;
use kdfs_client::ipc;
use kdfs_store::{FrameStore, KeyPath, RangeFilter, StoreConfig, UpdateMode};
use libfuzzer_sys::fuzz_target;
use std::path::{Component, Path};
use std::sync::Arc;
use std::time::Duration;

/// Names most keys and columns come from, so requests meet the same frames and columns.
const KEYS: [&str; 4] = ["a", "b/c", "b/d", "x/y/z"];
const COLUMNS: [&str; 4] = ["t", "c", "v", "s"];

#[derive(Debug, Arbitrary)]
enum Name {
    Known(u8),
    Raw(String),
}

impl Name {
    fn pick(&self, known: &[&str]) -> String {
        match self {
            Name::Known(i) => known[usize::from(*i) % known.len()].to_string(),
            Name::Raw(s) => s.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Data {
    Int64(Vec<Option<i64>>),
    UInt64(Vec<u64>),
    Float64(Vec<Option<f64>>),
    Utf8(Vec<Option<String>>),
    Bool(Vec<Option<bool>>),
    TimestampMs(Vec<i64>),
    TimestampNs(Vec<Option<i64>>),
}

impl Data {
    fn len(&self) -> usize {
        match self {
            Data::Int64(v) | Data::TimestampNs(v) => v.len(),
            Data::UInt64(v) => v.len(),
            Data::Float64(v) => v.len(),
            Data::Utf8(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::TimestampMs(v) => v.len(),
        }
    }

    /// The first `n` values as an array.
    fn array(&self, n: usize) -> ArrayRef {
        match self {
            Data::Int64(v) => Arc::new(Int64Array::from(v[..n].to_vec())),
            Data::UInt64(v) => Arc::new(UInt64Array::from(v[..n].to_vec())),
            Data::Float64(v) => Arc::new(Float64Array::from(v[..n].to_vec())),
            Data::Utf8(v) => Arc::new(StringArray::from(v[..n].to_vec())),
            Data::Bool(v) => Arc::new(BooleanArray::from(v[..n].to_vec())),
            Data::TimestampMs(v) => Arc::new(TimestampMillisecondArray::from(v[..n].to_vec())),
            Data::TimestampNs(v) => Arc::new(TimestampNanosecondArray::from(v[..n].to_vec())),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Op {
    Update {
        key: Name,
        index: Name,
        upsert: bool,
        columns: Vec<(Name, Data)>,
    },
    RawUpdate {
        key: Name,
        index: Name,
        upsert: bool,
        ipc: Vec<u8>,
    },
    Read {
        key: Name,
        start: Option<i64>,
        end: Option<i64>,
        columns: Option<Vec<Name>>,
    },
    Delete(Name),
    Load(Name),
    Unload(Name),
    Keys(String),
    Compact,
    Reopen,
}

fn config() -> StoreConfig {
    StoreConfig {
        // Small, so frames are evicted and read back from disk.
        memory_budget: 4096,
        compact_after_rows: 8,
        max_group: 16,
        idle_compaction: Duration::from_secs(3600),
    }
}

fuzz_target!(init: kdfs_fuzz::quiet_caught_panics(), |ops: Vec<Op>| {
    // tmpfs when there is one: the store syncs every commit.
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .expect("a temporary directory");
    let mut store = FrameStore::open(dir.path(), config()).expect("a new store opens");
    for op in ops.iter().take(32) {
        if let Op::Reopen = op {
            let before = listing(&store);
            let _ = store.shutdown();
            drop(store);
            store = FrameStore::open(dir.path(), config()).expect("the store reopens");
            assert_eq!(
                listing(&store),
                before,
                "a reopened store has the frames it had"
            );
        } else {
            apply(&store, dir.path(), op);
        }
    }
    let _ = store.shutdown();
});

/// Keys and row counts of every frame.
fn listing(store: &FrameStore) -> Vec<(String, u64)> {
    store
        .keys("")
        .into_iter()
        .map(|k| (k.key.to_string(), k.rows))
        .collect()
}

/// A key as the server parses it; a valid key must name a file inside the store directory.
fn key(name: &Name, dir: &Path) -> Option<KeyPath> {
    let key = KeyPath::parse(&name.pick(&KEYS)).ok()?;
    let path = key.file_path(dir);
    assert!(path.starts_with(dir), "{key:?} leaves the store directory");
    let inside = path.strip_prefix(dir).expect("checked above");
    assert!(
        inside
            .components()
            .all(|c| matches!(c, Component::Normal(_))),
        "{key:?} is not a plain relative path"
    );
    Some(key)
}

fn apply(store: &FrameStore, dir: &Path, op: &Op) {
    match op {
        Op::Update {
            key: k,
            index,
            upsert,
            columns,
        } => {
            let Some(k) = key(k, dir) else { return };
            let Some(batch) = batch(columns) else { return };
            update(store, &k, &index.pick(&COLUMNS), *upsert, batch);
        }
        Op::RawUpdate {
            key: k,
            index,
            upsert,
            ipc: payload,
        } => {
            let Some(k) = key(k, dir) else { return };
            // As the server's update handler: decode, then join the batches into one.
            let Ok((schema, batches)) = ipc::decode(payload) else {
                return;
            };
            let Ok(batch) = concat_batches(&schema, &batches) else {
                return;
            };
            update(store, &k, &index.pick(&COLUMNS), *upsert, batch);
        }
        Op::Read {
            key: k,
            start,
            end,
            columns,
        } => {
            let Some(k) = key(k, dir) else { return };
            let columns: Option<Vec<String>> = columns
                .as_ref()
                .map(|c| c.iter().map(|n| n.pick(&COLUMNS)).collect());
            let range = RangeFilter {
                start: *start,
                end: *end,
            };
            let Ok(data) = store.read(&k, range, columns.as_deref()) else {
                return;
            };
            for b in &data.batches {
                assert_eq!(b.schema(), data.schema);
            }
            if start.is_none() && end.is_none() {
                let info = store.info(&k).expect("a frame just read has a description");
                assert_eq!(data.num_rows() as u64, info.rows);
            }
        }
        Op::Delete(k) => {
            if let Some(k) = key(k, dir) {
                let _ = block_on(store.delete(&k));
            }
        }
        Op::Load(k) => {
            if let Some(k) = key(k, dir) {
                let _ = store.load(&k);
            }
        }
        Op::Unload(k) => {
            if let Some(k) = key(k, dir) {
                let _ = store.unload(&k);
            }
        }
        Op::Keys(prefix) => {
            let _ = store.keys(prefix);
            let _ = store.stats();
        }
        Op::Compact => {
            let _ = block_on(store.compact_now());
        }
        Op::Reopen => unreachable!("handled by the caller"),
    }
}

/// A batch of the given columns, cut to the shortest; `None` if it is not a valid batch.
fn batch(columns: &[(Name, Data)]) -> Option<RecordBatch> {
    let rows = columns.iter().map(|(_, d)| d.len()).min()?;
    let arrays: Vec<ArrayRef> = columns.iter().map(|(_, d)| d.array(rows)).collect();
    let fields: Vec<Field> = columns
        .iter()
        .zip(&arrays)
        .map(|((name, _), a)| Field::new(name.pick(&COLUMNS), a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).ok()
}

fn update(store: &FrameStore, key: &KeyPath, index: &str, upsert: bool, batch: RecordBatch) {
    let mode = if upsert {
        UpdateMode::Upsert
    } else {
        UpdateMode::Append
    };
    let sent = batch.num_rows() as u64;
    let Ok(outcome) = block_on(store.update(key, index, batch, mode)) else {
        return;
    };
    assert_eq!(outcome.inserted + outcome.replaced + outcome.ignored, sent);
    let data = store
        .read(key, RangeFilter::all(), None)
        .expect("a frame just updated can be read");
    assert_eq!(data.num_rows() as u64, outcome.rows);
}
