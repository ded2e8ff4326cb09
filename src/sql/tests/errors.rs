//! Clear errors: unknown names, bad syntax, writes, and the per-query limits.

use std::time::Duration;

use super::*;

#[tokio::test]
async fn unknown_names_and_bad_syntax() {
    let (_, engine) = setup(&["historical/minute/AAPL"], 10);
    let e = try_run(&engine, "SELECT * FROM historical.minute.NOPE")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SqlError::UnknownTable { name } if name.contains("NOPE")),
        "{e}"
    );
    assert!(e.to_string().contains("SHOW TABLES"), "{e}");

    let e = try_run(&engine, "SELECT * FROM \"historical/minute/NOPE\"")
        .await
        .unwrap_err();
    assert!(matches!(e, SqlError::UnknownTable { .. }), "{e}");

    let e = try_run(&engine, "SELECT close FROM historical.minute.AAPL")
        .await
        .unwrap_err();
    match &e {
        SqlError::UnknownColumn { name, valid } => {
            assert_eq!(name, "close");
            assert!(valid.iter().any(|v| v == "c"), "{valid:?}");
        }
        other => panic!("expected UnknownColumn, got {other:?}"),
    }

    let e = try_run(&engine, "SELEC t FROM historical.minute.AAPL")
        .await
        .unwrap_err();
    assert!(matches!(e, SqlError::Syntax(_)), "{e}");

    let e = try_run(&engine, "SELECT * FROM frames('nothing/here')")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SqlError::Plan(m) if m.contains("nothing/here")),
        "{e}"
    );

    let e = try_run(&engine, "SELECT * FROM frames(42)")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SqlError::Plan(m) if m.contains("frames(")),
        "{e}"
    );
}

#[tokio::test]
async fn writes_and_session_changes_are_refused() {
    let (source, engine) = setup(&["historical/minute/AAPL"], 10);
    for sql in [
        "CREATE TABLE x (a INT)",
        "CREATE TABLE x AS SELECT * FROM historical.minute.AAPL",
        "CREATE VIEW v AS SELECT 1",
        "CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '/tmp/x.csv'",
        "INSERT INTO historical.minute.AAPL (t) VALUES (1)",
        "DELETE FROM historical.minute.AAPL",
        "UPDATE historical.minute.AAPL SET c = 0",
        "DROP TABLE historical.minute.AAPL",
        "COPY (SELECT 1) TO '/tmp/kdfs-sql-test-out.csv'",
        "SET datafusion.execution.batch_size = 1",
        "EXPLAIN ANALYZE INSERT INTO historical.minute.AAPL (t) VALUES (1)",
        "SELECT 1 INTO newtable",
    ] {
        let e = try_run(&engine, sql).await.unwrap_err();
        assert!(matches!(e, SqlError::ReadOnly { .. }), "{sql}: {e}");
        assert!(e.to_string().contains("read-only"), "{e}");
    }
    assert!(!std::path::Path::new("/tmp/kdfs-sql-test-out.csv").exists());
    // The data is untouched.
    let b = run(&engine, "SELECT count(*) AS n FROM historical.minute.AAPL").await;
    assert_eq!(count(&b), 10);
    assert_eq!(source.list("").len(), 1);
}

#[tokio::test]
async fn slow_queries_are_cancelled_at_the_time_limit() {
    let source = Arc::new(MemorySource::new());
    source
        .insert("x/y/Z", "t", bar_batches(&gen_bars(T0, 3000, 0), 500))
        .unwrap();
    // One partition: no repartitioning channel between the scan and the aggregate, so only
    // cooperative yielding inside the plan lets the deadline fire.
    let limits = EngineLimits {
        timeout: Duration::from_millis(300),
        target_partitions: 1,
        ..test_limits()
    };
    let engine = SqlEngine::new(source, limits).unwrap();
    // 27 billion row combinations: far beyond the limit on any machine.
    let e = try_run(
        &engine,
        "SELECT sum(a.c * b.c + d.c) AS s FROM x.y.Z a, x.y.Z b, x.y.Z d",
    )
    .await
    .unwrap_err();
    assert!(matches!(e, SqlError::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("--query-timeout"), "{e}");
    // The engine keeps serving.
    let b = run(&engine, "SELECT count(*) AS n FROM x.y.Z").await;
    assert_eq!(count(&b), 3000);
}

#[tokio::test]
async fn oversized_results_are_refused() {
    let source = Arc::new(MemorySource::new());
    source
        .insert("x/y/Z", "t", bar_batches(&gen_bars(T0, 5000, 0), 1000))
        .unwrap();
    let limits = EngineLimits {
        max_result_bytes: 10_000,
        ..test_limits()
    };
    let engine = SqlEngine::new(source, limits).unwrap();
    let e = try_run(&engine, "SELECT * FROM x.y.Z").await.unwrap_err();
    assert!(
        matches!(e, SqlError::ResultTooLarge { limit: 10_000 }),
        "{e}"
    );
    // A small slice of the same frame is fine.
    let b = run(&engine, "SELECT t, c FROM x.y.Z LIMIT 10").await;
    assert_eq!(b.num_rows(), 10);
}

#[tokio::test]
async fn queries_needing_too_much_memory_fail_cleanly() {
    let source = Arc::new(MemorySource::new());
    source
        .insert("x/y/Z", "t", bar_batches(&gen_bars(T0, 20_000, 0), 5000))
        .unwrap();
    let limits = EngineLimits {
        max_memory: 64 * 1024,
        ..test_limits()
    };
    let engine = SqlEngine::new(source, limits).unwrap();
    let e = try_run(&engine, "SELECT * FROM x.y.Z ORDER BY c DESC")
        .await
        .unwrap_err();
    assert!(matches!(e, SqlError::ResourcesExhausted(_)), "{e}");
}
