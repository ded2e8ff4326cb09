//! End-to-end tests of the store through its public API.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;
use kdfs_store::{FrameStore, KeyPath, RangeFilter, StoreConfig, StoreError, UpdateMode};

fn key(s: &str) -> KeyPath {
    KeyPath::parse(s).unwrap()
}

fn bars(ts: &[i64], px: f64) -> RecordBatch {
    RecordBatch::try_from_iter(vec![
        ("t", Arc::new(Int64Array::from(ts.to_vec())) as ArrayRef),
        (
            "px",
            Arc::new(Float64Array::from(vec![px; ts.len()])) as ArrayRef,
        ),
    ])
    .unwrap()
}

fn column_i64(batches: &[RecordBatch], name: &str) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name(name).unwrap();
            arrow::array::as_primitive_array::<Int64Type>(c)
                .values()
                .to_vec()
        })
        .collect()
}

fn column_f64(batches: &[RecordBatch], name: &str) -> Vec<Option<f64>> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name(name).unwrap();
            let a = c.as_any().downcast_ref::<Float64Array>().unwrap();
            (0..a.len())
                .map(|i| a.is_valid(i).then(|| a.value(i)))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A cache of 40,000 bytes: two of the tests' 1,000-row frames.
fn tiny_budget() -> StoreConfig {
    StoreConfig {
        memory_budget: 40_000,
        ..StoreConfig::default()
    }
}

fn open(dir: &Path) -> Arc<FrameStore> {
    FrameStore::open(dir, StoreConfig::default()).unwrap()
}

#[tokio::test]
async fn merge_first_wins_and_upsert() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let k = key("historical/minute/AAPL");
    let o = s
        .update(&k, "t", bars(&[3, 1, 2], 1.0), UpdateMode::Append)
        .await
        .unwrap();
    assert_eq!((o.inserted, o.replaced, o.ignored, o.rows), (3, 0, 0, 3));
    let o = s
        .update(&k, "t", bars(&[2, 4], 2.0), UpdateMode::Append)
        .await
        .unwrap();
    assert_eq!((o.inserted, o.replaced, o.ignored, o.rows), (1, 0, 1, 4));
    let o = s
        .update(&k, "t", bars(&[1, 5], 3.0), UpdateMode::Upsert)
        .await
        .unwrap();
    assert_eq!((o.inserted, o.replaced, o.ignored, o.rows), (1, 1, 0, 5));
    let d = s.read(&k, RangeFilter::all(), None).unwrap();
    assert_eq!(column_i64(&d.batches, "t"), vec![1, 2, 3, 4, 5]);
    assert_eq!(
        column_f64(&d.batches, "px"),
        vec![Some(3.0), Some(1.0), Some(1.0), Some(2.0), Some(3.0)]
    );
    let d = s
        .read(&k, RangeFilter::between(2, 4), Some(&["px".to_string()]))
        .unwrap();
    assert_eq!(d.schema.fields().len(), 1);
    assert_eq!(d.num_rows(), 3);
    assert!(
        s.read(&k, RangeFilter::between(9, 20), None)
            .unwrap()
            .batches
            .is_empty()
    );
    assert!(matches!(
        s.read(&key("nope"), RangeFilter::all(), None),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.read(&k, RangeFilter::all(), Some(&["zz".to_string()])),
        Err(StoreError::UnknownColumn { .. })
    ));
    let info = s.info(&k).unwrap();
    assert_eq!((info.rows, info.first, info.last), (5, Some(1), Some(5)));
}

#[tokio::test]
async fn schema_extension_and_type_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let k = key("x");
    s.update(&k, "t", bars(&[1, 2], 1.0), UpdateMode::Append)
        .await
        .unwrap();
    let wide = RecordBatch::try_from_iter(vec![
        ("t", Arc::new(Int64Array::from(vec![3])) as ArrayRef),
        ("vol", Arc::new(Int64Array::from(vec![100])) as ArrayRef),
    ])
    .unwrap();
    s.update(&k, "t", wide, UpdateMode::Append).await.unwrap();
    let d = s.read(&k, RangeFilter::all(), None).unwrap();
    assert_eq!(d.schema.fields().len(), 3);
    assert_eq!(
        column_f64(&d.batches, "px"),
        vec![Some(1.0), Some(1.0), None]
    );
    let vol: Vec<Option<i64>> = d
        .batches
        .iter()
        .flat_map(|b| {
            arrow::array::as_primitive_array::<Int64Type>(b.column_by_name("vol").unwrap())
                .iter()
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(vol, vec![None, None, Some(100)]);

    let conflict = RecordBatch::try_from_iter(vec![
        ("t", Arc::new(Int64Array::from(vec![4])) as ArrayRef),
        ("new", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ("px", Arc::new(StringArray::from(vec!["high"])) as ArrayRef),
    ])
    .unwrap();
    let err = s
        .update(&k, "t", conflict, UpdateMode::Upsert)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TypeConflict { ref column, .. } if column == "px"),
        "{err}"
    );
    let ts = RecordBatch::try_from_iter(vec![(
        "t",
        Arc::new(TimestampMillisecondArray::from(vec![5])) as ArrayRef,
    )])
    .unwrap();
    assert!(matches!(
        s.update(&k, "t", ts, UpdateMode::Append).await,
        Err(StoreError::BadIndex { .. })
    ));
    assert!(matches!(
        s.update(&k, "time", bars(&[9], 1.0), UpdateMode::Append)
            .await,
        Err(StoreError::BadIndex { .. })
    ));
    let after = s.read(&k, RangeFilter::all(), None).unwrap();
    assert_eq!(after.schema, d.schema);
    assert_eq!(after.num_rows(), 3);
    // A failed first update leaves no frame behind.
    let bad = RecordBatch::try_from_iter(vec![(
        "t",
        Arc::new(Float64Array::from(vec![1.0])) as ArrayRef,
    )])
    .unwrap();
    assert!(
        s.update(&key("y"), "t", bad, UpdateMode::Append)
            .await
            .is_err()
    );
    assert!(s.keys("").iter().all(|i| i.key.as_str() != "y"));
    drop(s);
    let s = open(dir.path());
    assert_eq!(
        s.read(&k, RangeFilter::all(), None).unwrap().schema,
        d.schema
    );
    assert_eq!(s.info(&k).unwrap().rows, 3);
}

#[tokio::test]
async fn timestamp_index() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let k = key("ts");
    let b = RecordBatch::try_from_iter(vec![(
        "time",
        Arc::new(TimestampMillisecondArray::from(vec![30, 10, 20])) as ArrayRef,
    )])
    .unwrap();
    s.update(&k, "time", b, UpdateMode::Append).await.unwrap();
    let d = s.read(&k, RangeFilter::between(10, 20), None).unwrap();
    assert_eq!(d.num_rows(), 2);
    assert!(matches!(
        d.schema.field(0).data_type(),
        DataType::Timestamp(_, _)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_survive_reopen_without_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        compact_after_rows: 300,
        ..StoreConfig::default()
    };
    let s = FrameStore::open(dir.path(), config.clone()).unwrap();
    let mut tasks = Vec::new();
    for c in 0..16i64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let k = key(&format!("feed/{}", c % 4));
            for i in 0..100i64 {
                s.update(&k, "t", bars(&[i * 16 + c], c as f64), UpdateMode::Append)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    drop(s);
    let s = FrameStore::open(dir.path(), config).unwrap();
    for f in 0..4 {
        let d = s
            .read(&key(&format!("feed/{f}")), RangeFilter::all(), None)
            .unwrap();
        let mut want: Vec<i64> = (0..100)
            .flat_map(|i| (0..16).filter(|c| c % 4 == f).map(move |c| i * 16 + c))
            .collect();
        want.sort();
        assert_eq!(column_i64(&d.batches, "t"), want);
    }
    assert_eq!(s.stats().rows, 1600);
}

#[tokio::test]
async fn compaction_writes_arrow_files_and_trims_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let k = key("historical/minute/AAPL");
    for i in 0..50 {
        s.update(&k, "t", bars(&[i], i as f64), UpdateMode::Append)
            .await
            .unwrap();
    }
    assert_eq!(s.log_entries().unwrap(), 50);
    s.compact_now().await.unwrap();
    assert_eq!(s.log_entries().unwrap(), 0);
    let path = dir.path().join("historical/minute/AAPL.arrow");
    let reader =
        arrow::ipc::reader::FileReader::try_new(std::fs::File::open(&path).unwrap(), None).unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 50);
    s.update(&k, "t", bars(&[50, 0], 9.0), UpdateMode::Upsert)
        .await
        .unwrap();
    let stats = s.stats();
    assert_eq!((stats.frames, stats.rows, stats.log_rows), (1, 51, 2));
    assert!(stats.disk_bytes > 0 && stats.compactions >= 1);
    s.shutdown().unwrap();
    assert!(matches!(
        s.read(&k, RangeFilter::all(), None),
        Err(StoreError::Closed)
    ));
    assert!(matches!(s.shutdown(), Err(StoreError::Closed)));
    drop(s);
    let s = open(dir.path());
    assert_eq!(s.log_entries().unwrap(), 0, "shutdown folds loaded frames");
    let d = s.read(&k, RangeFilter::all(), None).unwrap();
    assert_eq!(column_i64(&d.batches, "t"), (0..51).collect::<Vec<_>>());
    assert_eq!(column_f64(&d.batches, "px")[0], Some(9.0));
}

#[tokio::test]
async fn delete_removes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let k = key("a/b");
    s.update(&k, "t", bars(&[1, 2], 1.0), UpdateMode::Append)
        .await
        .unwrap();
    s.compact_now().await.unwrap();
    s.update(&k, "t", bars(&[3], 1.0), UpdateMode::Append)
        .await
        .unwrap();
    assert!(dir.path().join("a/b.arrow").exists());
    s.delete(&k).await.unwrap();
    assert!(!dir.path().join("a/b.arrow").exists());
    assert!(matches!(s.info(&k), Err(StoreError::NotFound { .. })));
    assert!(matches!(
        s.delete(&k).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(s.log_entries().unwrap(), 0);
    s.update(&k, "t", bars(&[7], 1.0), UpdateMode::Append)
        .await
        .unwrap();
    drop(s);
    let s = open(dir.path());
    assert_eq!(
        column_i64(&s.read(&k, RangeFilter::all(), None).unwrap().batches, "t"),
        vec![7]
    );
}

#[tokio::test]
async fn lru_eviction_under_a_tiny_budget_keeps_data_readable() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_budget();
    let s = FrameStore::open(dir.path(), config).unwrap();
    let ts: Vec<i64> = (0..1000).collect();
    for f in 0..5 {
        s.update(
            &key(&format!("f{f}")),
            "t",
            bars(&ts, f as f64),
            UpdateMode::Append,
        )
        .await
        .unwrap();
    }
    let stats = s.stats();
    assert!(stats.memory_used <= 40_000, "{stats:?}");
    assert!(stats.loaded.len() < 5);
    for f in 0..5 {
        let d = s
            .read(&key(&format!("f{f}")), RangeFilter::between(10, 19), None)
            .unwrap();
        assert_eq!(column_f64(&d.batches, "px"), vec![Some(f as f64); 10]);
    }
    // Pinned frames stay; unload drops them.
    s.load(&key("f0")).unwrap();
    for f in 1..5 {
        s.read(&key(&format!("f{f}")), RangeFilter::all(), None)
            .unwrap();
    }
    assert!(s.info(&key("f0")).unwrap().loaded);
    assert!(s.unload(&key("f0")).unwrap());
    assert!(!s.info(&key("f0")).unwrap().loaded);
}

/// The last rows of `f0` in `appends_past_the_end_leave_an_evicted_frame_on_disk`.
fn assert_f0_tail(s: &FrameStore) {
    let d = s
        .read(&key("f0"), RangeFilter::between(998, 1003), None)
        .unwrap();
    assert_eq!(
        column_i64(&d.batches, "t"),
        vec![998, 999, 1000, 1001, 1002, 1003]
    );
    let px = [1.0, 1.0, 2.0, 2.0, 3.0, 4.0].map(Some).to_vec();
    assert_eq!(column_f64(&d.batches, "px"), px);
}

#[tokio::test]
async fn appends_past_the_end_leave_an_evicted_frame_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_budget();
    let ts: Vec<i64> = (0..1000).collect();
    {
        let s = FrameStore::open(dir.path(), config.clone()).unwrap();
        for f in 0..5 {
            s.update(
                &key(&format!("f{f}")),
                "t",
                bars(&ts, 1.0),
                UpdateMode::Append,
            )
            .await
            .unwrap();
        }
        assert!(
            !s.info(&key("f0")).unwrap().loaded,
            "f0 should have been evicted"
        );
        // Past the end, with a duplicate inside the batch: appended without loading f0.
        let o = s
            .update(
                &key("f0"),
                "t",
                bars(&[1000, 1001, 1001], 2.0),
                UpdateMode::Append,
            )
            .await
            .unwrap();
        assert_eq!((o.inserted, o.replaced, o.ignored, o.rows), (2, 0, 1, 1002));
        let o = s
            .update(
                &key("f0"),
                "t",
                bars(&[1002, 1002], 3.0),
                UpdateMode::Upsert,
            )
            .await
            .unwrap();
        assert_eq!((o.inserted, o.replaced, o.ignored, o.rows), (1, 1, 0, 1003));
        assert!(
            !s.info(&key("f0")).unwrap().loaded,
            "an append past the end loaded f0"
        );
        let info = s.info(&key("f0")).unwrap();
        assert_eq!(
            (info.rows, info.first, info.last),
            (1003, Some(0), Some(1002))
        );
        // Not past the end: the frame is loaded and the merge sees its rows.
        let o = s
            .update(&key("f0"), "t", bars(&[999, 1003], 4.0), UpdateMode::Append)
            .await
            .unwrap();
        assert_eq!((o.inserted, o.replaced, o.ignored, o.rows), (1, 0, 1, 1004));
        assert_f0_tail(&s);
    }
    // And the same after a restart (the log replayed).
    let s = FrameStore::open(dir.path(), config).unwrap();
    assert_f0_tail(&s);
    assert_eq!(s.info(&key("f0")).unwrap().rows, 1004);
}

#[tokio::test]
async fn a_load_right_after_appends_to_an_evicted_frame_keeps_them() {
    // Staged appends to a frame out of memory may not be committed when the frame is loaded
    // (a read, a compaction): the load must still hold them, and a compaction must not trim
    // them from the log without writing them to the file.
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_budget();
    let ts: Vec<i64> = (0..1000).collect();
    {
        let s = FrameStore::open(dir.path(), config.clone()).unwrap();
        for round in 0..20 {
            for f in 0..5 {
                let k = key(&format!("f{f}"));
                if round == 0 {
                    s.update(&k, "t", bars(&ts, 1.0), UpdateMode::Append)
                        .await
                        .unwrap();
                    continue;
                }
                let t = 1000 + round;
                let pending = s
                    .begin_update(&k, "t", &bars(&[t], 2.0), UpdateMode::Append)
                    .unwrap();
                let d = s.read(&k, RangeFilter::between(t, t), None).unwrap();
                assert_eq!(column_i64(&d.batches, "t"), vec![t], "f{f} round {round}");
                pending.durable().await.unwrap();
            }
            if round % 5 == 4 {
                s.compact_now().await.unwrap();
            }
        }
    }
    let s = FrameStore::open(dir.path(), config).unwrap();
    let want: Vec<i64> = (0..1000).chain(1001..1020).collect();
    for f in 0..5 {
        let d = s
            .read(&key(&format!("f{f}")), RangeFilter::all(), None)
            .unwrap();
        assert_eq!(column_i64(&d.batches, "t"), want, "f{f} after reopening");
    }
}

#[tokio::test]
async fn a_frame_unloaded_with_updates_in_flight_keeps_them() {
    // Dropping a frame from memory does not wait for its updates to be committed: a load
    // right after must still see them (replayed from memory), inserts and upserts alike, and
    // a compaction must write them to the file.
    let dir = tempfile::tempdir().unwrap();
    let k = key("f");
    let ts: Vec<i64> = (0..1000).collect();
    {
        let s = open(dir.path());
        s.update(&k, "t", bars(&ts, 1.0), UpdateMode::Append)
            .await
            .unwrap();
        for round in 0..40 {
            // Alternately a row inside the frame (upserted) and one past its end.
            let (t, mode) = if round % 2 == 0 {
                (round, UpdateMode::Upsert)
            } else {
                (1000 + round, UpdateMode::Append)
            };
            let pending = s.begin_update(&k, "t", &bars(&[t], 2.0), mode).unwrap();
            s.unload(&k).unwrap();
            let d = s.read(&k, RangeFilter::between(t, t), None).unwrap();
            assert_eq!(
                column_f64(&d.batches, "px"),
                vec![Some(2.0)],
                "round {round}"
            );
            pending.durable().await.unwrap();
            if round % 10 == 9 {
                s.unload(&k).unwrap();
                s.compact_now().await.unwrap();
                assert!(!s.info(&k).unwrap().loaded, "compaction cached the frame");
            }
        }
    }
    let s = open(dir.path());
    let d = s.read(&k, RangeFilter::all(), None).unwrap();
    let want: Vec<i64> = (0..1000)
        .chain((1..40).step_by(2).map(|r| 1000 + r))
        .collect();
    assert_eq!(column_i64(&d.batches, "t"), want, "after reopening");
    let upserted = column_f64(&d.batches, "px")
        .iter()
        .take(40)
        .enumerate()
        .all(|(t, px)| *px == Some(if t % 2 == 0 { 2.0 } else { 1.0 }));
    assert!(upserted, "upserts after reopening");
}

#[tokio::test]
async fn a_frame_larger_than_the_budget_is_read_by_range() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("big");
    {
        let s = open(dir.path());
        let ts: Vec<i64> = (0..200_000).collect();
        s.update(&k, "t", bars(&ts, 1.0), UpdateMode::Append)
            .await
            .unwrap();
        s.compact_now().await.unwrap();
        s.update(&k, "t", bars(&[100], 2.0), UpdateMode::Upsert)
            .await
            .unwrap();
    }
    let config = StoreConfig {
        memory_budget: 100_000,
        ..StoreConfig::default()
    };
    let s = FrameStore::open(dir.path(), config).unwrap();
    let d = s.read(&k, RangeFilter::between(99, 101), None).unwrap();
    assert_eq!(column_i64(&d.batches, "t"), vec![99, 100, 101]);
    assert_eq!(
        column_f64(&d.batches, "px"),
        vec![Some(1.0), Some(2.0), Some(1.0)]
    );
    assert!(!s.info(&k).unwrap().loaded);
    assert!(s.stats().memory_used <= 100_000);
}

#[tokio::test]
async fn a_range_read_with_no_room_in_the_cache_leaves_other_frames_cached() {
    // Two frames fill the budget; a range read of a third is served from disk instead of
    // evicting one of them, while a read of the whole third frame caches it.
    let dir = tempfile::tempdir().unwrap();
    let ts: Vec<i64> = (0..1000).collect();
    {
        let s = open(dir.path());
        for f in ["a", "b", "c"] {
            s.update(&key(f), "t", bars(&ts, 1.0), UpdateMode::Append)
                .await
                .unwrap();
        }
        s.compact_now().await.unwrap();
    }
    let s = FrameStore::open(dir.path(), tiny_budget()).unwrap();
    for f in ["a", "b"] {
        s.read(&key(f), RangeFilter::all(), None).unwrap();
    }
    let loaded = |f: &str| s.info(&key(f)).unwrap().loaded;
    assert!(loaded("a") && loaded("b"), "{:?}", s.stats().loaded);
    let d = s
        .read(&key("c"), RangeFilter::between(10, 12), None)
        .unwrap();
    assert_eq!(column_i64(&d.batches, "t"), vec![10, 11, 12]);
    assert!(loaded("a") && loaded("b") && !loaded("c"));
    let d = s.read(&key("c"), RangeFilter::all(), None).unwrap();
    assert_eq!(column_i64(&d.batches, "t"), ts);
    assert!(loaded("c") && !loaded("a") && loaded("b"));
    assert!(s.stats().memory_used <= tiny_budget().memory_budget);
}

#[test]
fn hostile_keys_are_refused() {
    for k in ["../x", "/etc/passwd", "a//b", "", "a/../../b", ".kdfs"] {
        assert!(
            matches!(KeyPath::parse(k), Err(StoreError::InvalidKey { .. })),
            "{k}"
        );
    }
}

#[test]
fn blocking_updates_work_without_a_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let o = s
        .update_blocking(&key("b"), "t", bars(&[1, 1, 2], 1.0), UpdateMode::Upsert)
        .unwrap();
    assert_eq!((o.inserted, o.replaced, o.rows), (2, 1, 2));
    let listed: BTreeMap<String, u64> = s
        .keys("")
        .into_iter()
        .map(|i| (i.key.to_string(), i.rows))
        .collect();
    assert_eq!(listed, BTreeMap::from([("b".to_string(), 2)]));
}

#[tokio::test]
async fn crash_between_file_rename_and_catalog_commit_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("c/d");
    let s = open(dir.path());
    s.update(&k, "t", bars(&[1, 2, 3], 1.0), UpdateMode::Append)
        .await
        .unwrap();
    s.compact_now().await.unwrap();
    s.update(&k, "t", bars(&[2, 4], 2.0), UpdateMode::Upsert)
        .await
        .unwrap();
    s.update(&k, "t", bars(&[2, 5], 3.0), UpdateMode::Append)
        .await
        .unwrap();
    drop(s);
    // The database as it was before the second compaction committed...
    let saved = dir.path().join("saved.redb");
    std::fs::copy(dir.path().join("kdfs.redb"), &saved).unwrap();
    let s = open(dir.path());
    s.compact_now().await.unwrap();
    drop(s);
    // ...next to the file that compaction renamed into place.
    std::fs::copy(&saved, dir.path().join("kdfs.redb")).unwrap();
    let s = open(dir.path());
    let d = s.read(&k, RangeFilter::all(), None).unwrap();
    assert_eq!(column_i64(&d.batches, "t"), vec![1, 2, 3, 4, 5]);
    assert_eq!(
        column_f64(&d.batches, "px"),
        vec![Some(1.0), Some(2.0), Some(1.0), Some(2.0), Some(3.0)]
    );
    assert_eq!(
        s.stats().log_rows,
        0,
        "entries already in the file are not counted again"
    );
    s.update(&k, "t", bars(&[6], 4.0), UpdateMode::Append)
        .await
        .unwrap();
    s.compact_now().await.unwrap();
    assert_eq!(s.log_entries().unwrap(), 0);
    assert_eq!(s.info(&k).unwrap().rows, 6);
}

#[tokio::test]
async fn idle_frames_are_compacted_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        idle_compaction: std::time::Duration::from_millis(20),
        ..StoreConfig::default()
    };
    let s = FrameStore::open(dir.path(), config).unwrap();
    s.update(&key("idle"), "t", bars(&[1], 1.0), UpdateMode::Append)
        .await
        .unwrap();
    // Wait for the event, not for a time: the loop ends as soon as the log is folded.
    for _ in 0..1000 {
        if s.log_entries().unwrap() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(s.log_entries().unwrap(), 0);
    assert!(dir.path().join("idle.arrow").exists());
}
