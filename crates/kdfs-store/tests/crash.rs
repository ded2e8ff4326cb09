//! kill -9 during a stream of acknowledged updates: every acknowledged row survives.
//!
//! The test re-runs its own binary as the writer (the ignored test `writer_child`), reads the
//! acknowledgements it prints, kills it with SIGKILL mid-stream, and reopens the store.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array};
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use kdfs_store::{FrameStore, KeyPath, RangeFilter, StoreConfig, UpdateMode};

const DIR_VAR: &str = "KDFS_CRASH_TEST_DIR";

fn row(t: i64) -> RecordBatch {
    RecordBatch::try_from_iter(vec![
        ("t", Arc::new(Int64Array::from(vec![t])) as ArrayRef),
        ("v", Arc::new(Int64Array::from(vec![t * 2])) as ArrayRef),
    ])
    .unwrap()
}

/// The writer: updates forever, printing each acknowledged index. Run only by the test below.
#[test]
#[ignore = "run as a child process by killed_writer_loses_no_acknowledged_row"]
fn writer_child() {
    let dir = std::env::var(DIR_VAR).expect("run by the crash test");
    let config = StoreConfig {
        compact_after_rows: 50,
        ..StoreConfig::default()
    };
    let store = FrameStore::open(std::path::Path::new(&dir), config).unwrap();
    let key = KeyPath::parse("crash/feed").unwrap();
    let mut out = std::io::stdout();
    for t in 0.. {
        store
            .update_blocking(&key, "t", row(t), UpdateMode::Append)
            .unwrap();
        writeln!(out, "ack {t}").unwrap();
        out.flush().unwrap();
    }
}

/// The index acknowledged on an output line (the test harness may print on the same line).
fn ack(line: &str) -> Option<i64> {
    let at = line.rfind("ack ")?;
    line[at + 4..].trim().parse().ok()
}

#[test]
fn killed_writer_loses_no_acknowledged_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "writer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    // Kill after 300 acknowledgements (several compactions have run by then).
    for line in lines.by_ref() {
        if let Some(t) = ack(&line.unwrap()) {
            acked.push(t);
            if acked.len() == 300 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    for line in lines {
        if let Some(t) = ack(&line.unwrap()) {
            acked.push(t);
        }
    }
    child.wait().unwrap();
    assert!(acked.len() >= 300);

    let store = FrameStore::open(dir.path(), StoreConfig::default()).unwrap();
    let data = store
        .read(
            &KeyPath::parse("crash/feed").unwrap(),
            RangeFilter::all(),
            None,
        )
        .unwrap();
    let stored: Vec<i64> = data
        .batches
        .iter()
        .flat_map(|b| {
            arrow::array::as_primitive_array::<Int64Type>(b.column(0))
                .values()
                .to_vec()
        })
        .collect();
    // Every acknowledged row is there exactly once; at most the one in flight may be extra.
    assert!(
        stored.len() == acked.len() || stored.len() == acked.len() + 1,
        "{} vs {}",
        stored.len(),
        acked.len()
    );
    assert_eq!(&stored[..acked.len()], &acked[..]);
}

#[test]
fn reopen_after_many_compactions_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        compact_after_rows: 50,
        ..StoreConfig::default()
    };
    let key = KeyPath::parse("crash/feed").unwrap();
    {
        let store = FrameStore::open(dir.path(), config).unwrap();
        for t in 0..300 {
            store
                .update_blocking(&key, "t", row(t), UpdateMode::Append)
                .unwrap();
        }
    }
    let store = FrameStore::open(dir.path(), StoreConfig::default()).unwrap();
    let data = store.read(&key, RangeFilter::all(), None).unwrap();
    let stored: Vec<i64> = data
        .batches
        .iter()
        .flat_map(|b| {
            arrow::array::as_primitive_array::<Int64Type>(b.column(0))
                .values()
                .to_vec()
        })
        .collect();
    assert_eq!(stored, (0..300).collect::<Vec<_>>());
}
