//! Index ranges, projections, limits and key filters reach the source.

use super::*;

const N: usize = 2000;

fn at(i: i64) -> i64 {
    T0 + i * MINUTE
}

#[tokio::test]
async fn index_range_predicates_limit_scanned_rows() {
    let (source, engine) = setup(&["historical/minute/AAPL"], N);
    for (pred, want) in [
        (format!("t >= {} AND t < {}", at(100), at(150)), 50),
        (format!("t > {} AND t <= {}", at(100), at(150)), 50),
        (format!("t BETWEEN {} AND {}", at(10), at(19)), 10),
        (format!("t = {}", at(42)), 1),
        (format!("{} <= t AND t < {}", at(1990), at(5000)), 10),
        (format!("t < {}", at(0)), 0),
    ] {
        source.reset_counters();
        let b = run(
            &engine,
            &format!("SELECT count(*) AS n FROM historical.minute.AAPL WHERE {pred}"),
        )
        .await;
        assert_eq!(count(&b), want, "{pred}");
        assert_eq!(
            source.rows_scanned(),
            want as u64,
            "scanned rows for {pred}"
        );
    }
}

#[tokio::test]
async fn ts_predicates_push_down_too() {
    let (source, engine) = setup(&["historical/minute/AAPL"], N);
    let b = run(
        &engine,
        "SELECT min(t) AS lo, max(t) AS hi, count(*) AS n FROM historical.minute.AAPL \
         WHERE ts >= TIMESTAMP '2024-01-02 01:00:00' AND ts < '2024-01-02T02:00:00'",
    )
    .await;
    assert_eq!(count(&b), 60);
    assert_eq!(i64s(&b, "lo")[0], at(60));
    assert_eq!(i64s(&b, "hi")[0], at(119));
    assert_eq!(source.rows_scanned(), 60);
}

#[tokio::test]
async fn non_index_predicates_still_filter_correctly() {
    let (source, engine) = setup(&["historical/minute/AAPL"], N);
    let bars = gen_bars(T0, N, 0);
    let want = bars.iter().filter(|b| b.t >= at(500) && b.c > b.o).count() as i64;
    let b = run(
        &engine,
        &format!(
            "SELECT count(*) AS n FROM historical.minute.AAPL WHERE c > o AND t >= {}",
            at(500)
        ),
    )
    .await;
    assert_eq!(count(&b), want);
    assert_eq!(source.rows_scanned(), (N - 500) as u64);
}

#[tokio::test]
async fn projection_reaches_the_source() {
    let (source, engine) = setup(&["historical/minute/AAPL"], 10);
    run(&engine, "SELECT c FROM historical.minute.AAPL").await;
    assert_eq!(source.last_projection(), Some(vec!["c".to_string()]));
    run(
        &engine,
        "SELECT date_trunc('hour', ts) AS h, v FROM historical.minute.AAPL",
    )
    .await;
    let mut p = source.last_projection().unwrap();
    p.sort();
    assert_eq!(p, ["t", "v"]);
    run(&engine, "SELECT count(*) AS n FROM historical.minute.AAPL").await;
    assert_eq!(source.last_projection(), Some(vec!["t".to_string()]));
}

#[tokio::test]
async fn limit_reaches_the_source() {
    let (source, engine) = setup(&["historical/minute/AAPL"], N);
    let b = run(&engine, "SELECT t FROM historical.minute.AAPL LIMIT 5").await;
    assert_eq!(b.num_rows(), 5);
    assert!(
        source.rows_scanned() <= 5,
        "scanned {}",
        source.rows_scanned()
    );
    source.reset_counters();
    let b = run(
        &engine,
        &format!(
            "SELECT t FROM historical.minute.AAPL WHERE t >= {} LIMIT 3",
            at(700)
        ),
    )
    .await;
    assert_eq!(i64s(&b, "t"), [at(700), at(701), at(702)]);
    assert!(
        source.rows_scanned() <= 3,
        "scanned {}",
        source.rows_scanned()
    );
}

#[tokio::test]
async fn key_predicates_skip_other_frames() {
    let keys = [
        "historical/minute/AAPL",
        "historical/minute/MSFT",
        "historical/minute/IBM",
    ];
    let (source, engine) = setup(&keys, 300);
    let b = run(
        &engine,
        &format!(
            "SELECT count(*) AS n FROM frames('historical/minute') \
             WHERE key = 'historical/minute/MSFT' AND t >= {}",
            at(200)
        ),
    )
    .await;
    assert_eq!(count(&b), 100);
    assert_eq!(source.scans(), 1);
    assert_eq!(source.rows_scanned(), 100);
    source.reset_counters();
    let b = run(
        &engine,
        "SELECT count(*) AS n FROM frames('historical/minute') \
         WHERE key IN ('historical/minute/AAPL', 'historical/minute/IBM', 'nope')",
    )
    .await;
    assert_eq!(count(&b), 600);
    assert_eq!(source.scans(), 2);
}

#[tokio::test]
async fn explain_shows_the_scan() {
    let (_, engine) = setup(&["historical/minute/AAPL"], 10);
    let b = run(
        &engine,
        "EXPLAIN SELECT c FROM historical.minute.AAPL WHERE t > 5",
    )
    .await;
    let text = strs(&b, "plan").join("\n");
    assert!(text.contains("StreamingTableExec"), "{text}");
}

#[tokio::test]
async fn timestamp_and_unsigned_indexes_push_down() {
    use arrow::array::{TimestampNanosecondArray, UInt64Array};
    use arrow::datatypes::TimeUnit;
    let source = Arc::new(MemorySource::new());
    let n = 500i64;
    let ns = |i: i64| (T0 + i * MINUTE) * 1_000_000;
    let ts_schema = Arc::new(Schema::new(vec![
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ),
        Field::new("x", DataType::Int64, false),
    ]));
    let ts_batch = RecordBatch::try_new(
        ts_schema,
        vec![
            Arc::new(TimestampNanosecondArray::from_iter_values((0..n).map(ns))),
            Arc::new(Int64Array::from_iter_values(0..n)),
        ],
    )
    .unwrap();
    source.insert("ticks/NS", "time", vec![ts_batch]).unwrap();
    let u_schema = Arc::new(Schema::new(vec![
        Field::new("seq", DataType::UInt64, false),
        Field::new("x", DataType::Int64, false),
    ]));
    let u_batch = RecordBatch::try_new(
        u_schema,
        vec![
            Arc::new(UInt64Array::from_iter_values(0..n as u64)),
            Arc::new(Int64Array::from_iter_values(0..n)),
        ],
    )
    .unwrap();
    source.insert("seqs/U", "seq", vec![u_batch]).unwrap();
    let engine = SqlEngine::new(source.clone(), test_limits()).unwrap();

    let b = run(
        &engine,
        "SELECT count(*) AS n, min(x) AS lo FROM ticks.NS \
         WHERE time >= TIMESTAMP '2024-01-02 01:00:00' AND time < '2024-01-02T01:30:00'",
    )
    .await;
    assert_eq!((count(&b), i64s(&b, "lo")[0]), (30, 60));
    assert_eq!(source.rows_scanned(), 30);
    // A timestamp index needs no `ts` view.
    assert!(matches!(
        try_run(&engine, "SELECT ts FROM ticks.NS").await,
        Err(SqlError::UnknownColumn { .. })
    ));

    source.reset_counters();
    let b = run(
        &engine,
        "SELECT count(*) AS n, sum(x) AS s FROM seqs.U WHERE seq > 100 AND seq <= 110",
    )
    .await;
    assert_eq!(
        (count(&b), i64s(&b, "s")[0]),
        (10, (101..=110).sum::<i64>())
    );
    assert_eq!(source.rows_scanned(), 10);
}

#[test]
fn engine_and_streams_can_move_between_tasks() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<SqlEngine>();
    send_sync::<MemorySource>();
    let engine = Arc::new(SqlEngine::new(Arc::new(MemorySource::new()), test_limits()).unwrap());
    // The future of `execute` must be spawnable on a multi-threaded runtime.
    let fut = async move { engine.execute("SELECT 1").await.map(|s| s.schema()) };
    send(&fut);
}
