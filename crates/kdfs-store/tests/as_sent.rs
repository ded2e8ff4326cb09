//! Updates logged as sent (`begin_update_as_sent`): the write log keeps the client's record
//! batch message, and reopening the store replays it to the same rows as an encoded entry.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::Int64Type;
use arrow::ipc::writer::{DictionaryTracker, IpcDataGenerator, IpcWriteContext, IpcWriteOptions};
use arrow::record_batch::RecordBatch;
use kdfs_store::{FrameStore, KeyPath, RangeFilter, SentBatch, StoreConfig, UpdateMode};

/// The flatbuffer header and body of `batch`'s IPC record batch message, as a client sends it.
fn message(batch: &RecordBatch) -> (Vec<u8>, Vec<u8>) {
    let (_, encoded) = IpcDataGenerator::default()
        .encode(
            batch,
            &mut DictionaryTracker::new(false),
            &IpcWriteOptions::default(),
            &mut IpcWriteContext::default(),
        )
        .unwrap();
    (encoded.ipc_message, encoded.arrow_data)
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn ints(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

fn floats(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

async fn update(s: &FrameStore, k: &KeyPath, b: &RecordBatch, mode: UpdateMode) {
    let (header, body) = message(b);
    let sent = SentBatch {
        header: &header,
        body: &body,
    };
    s.begin_update_as_sent(k, "t", b, Some(sent), mode)
        .unwrap()
        .durable()
        .await
        .unwrap();
}

/// The frame as `(t, px, tag)` rows.
fn rows(s: &FrameStore, k: &KeyPath) -> Vec<(i64, Option<f64>, Option<String>)> {
    let d = s.read(k, RangeFilter::all(), None).unwrap();
    let mut out = Vec::new();
    for b in &d.batches {
        let t = arrow::array::as_primitive_array::<Int64Type>(b.column_by_name("t").unwrap());
        let px = b.column_by_name("px").unwrap();
        let px = px.as_any().downcast_ref::<Float64Array>().unwrap();
        let tag = b.column_by_name("tag");
        let tag = tag.and_then(|c| c.as_any().downcast_ref::<StringArray>());
        for i in 0..b.num_rows() {
            out.push((
                t.value(i),
                px.is_valid(i).then(|| px.value(i)),
                tag.filter(|c| c.is_valid(i))
                    .map(|c| c.value(i).to_string()),
            ));
        }
    }
    out
}

fn open(dir: &Path) -> Arc<FrameStore> {
    FrameStore::open(dir, StoreConfig::default()).unwrap()
}

#[tokio::test]
async fn updates_logged_as_sent_replay_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let k = KeyPath::parse("feed/x").unwrap();
    // The frame's schema (t, px), then a prefix of it (t), then a wider schema (t, px, tag):
    // all logged as sent. Then columns out of order (px, t) and an upsert of a duplicated
    // index, which are not a prefix or need sorting.
    let first = batch(vec![("t", ints(&[1, 2])), ("px", floats(&[1.0, 2.0]))]);
    update(&s, &k, &first, UpdateMode::Append).await;
    update(&s, &k, &batch(vec![("t", ints(&[3]))]), UpdateMode::Append).await;
    let tags: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
    let wider = batch(vec![
        ("t", ints(&[4, 1])),
        ("px", floats(&[4.0, 9.0])),
        ("tag", tags),
    ]);
    update(&s, &k, &wider, UpdateMode::Upsert).await;
    let reordered = batch(vec![("px", floats(&[5.0])), ("t", ints(&[5]))]);
    update(&s, &k, &reordered, UpdateMode::Append).await;
    let duplicated = batch(vec![("t", ints(&[6, 6])), ("px", floats(&[6.0, 7.0]))]);
    update(&s, &k, &duplicated, UpdateMode::Upsert).await;
    let expected = vec![
        (1, Some(9.0), None),
        (2, Some(2.0), None),
        (3, None, None),
        (4, Some(4.0), Some("a".to_string())),
        (5, Some(5.0), None),
        (6, Some(7.0), None),
    ];
    assert_eq!(rows(&s, &k), expected);
    assert!(s.log_entries().unwrap() >= 5, "the updates are in the log");
    // Reopened without shutdown, the frame is rebuilt from the log alone.
    drop(s);
    let s = open(dir.path());
    assert_eq!(rows(&s, &k), expected);
}
