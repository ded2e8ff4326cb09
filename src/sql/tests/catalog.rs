//! Table naming, listing and freshness of the catalog.

use super::*;

#[tokio::test]
async fn dotted_and_quoted_names_reach_the_same_frame() {
    let keys = ["historical/minute/AAPL", "daily/SPY", "VIX", "a/b/c/DEEP"];
    let (_, engine) = setup(&keys, 50);
    for (sql, rows) in [
        ("SELECT COUNT(*) AS n FROM historical.minute.AAPL", 50),
        ("SELECT count(*) AS n FROM \"historical/minute/AAPL\"", 50),
        (
            "SELECT count(*) AS n FROM kdfs.public.\"historical/minute/AAPL\"",
            50,
        ),
        ("SELECT count(*) AS n FROM daily.SPY", 50),
        ("SELECT count(*) AS n FROM \"daily/SPY\"", 50),
        ("SELECT count(*) AS n FROM VIX", 50),
        ("SELECT count(*) AS n FROM \"a/b/c/DEEP\"", 50),
    ] {
        assert_eq!(count(&run(&engine, sql).await), rows, "{sql}");
    }
}

#[tokio::test]
async fn identifiers_keep_their_case() {
    let (_, engine) = setup(&["historical/minute/AAPL"], 10);
    let err = try_run(&engine, "SELECT * FROM historical.minute.aapl")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SqlError::UnknownTable { name } if name.contains("aapl")),
        "{err}"
    );
    // Keywords and function names are still case-insensitive.
    let b = run(
        &engine,
        "select MAX(t) AS n FROM historical.minute.AAPL WHERE t >= 0",
    )
    .await;
    assert_eq!(count(&b), T0 + 9 * MINUTE);
}

#[tokio::test]
async fn show_tables_and_information_schema_list_frames() {
    let (_, engine) = setup(
        &["historical/minute/AAPL", "daily/SPY", "VIX", "a/b/c/DEEP"],
        5,
    );
    let b = run(&engine, "SHOW TABLES").await;
    let rows: Vec<(String, String, String)> = strs(&b, "table_catalog")
        .into_iter()
        .zip(strs(&b, "table_schema"))
        .zip(strs(&b, "table_name"))
        .map(|((c, s), t)| (c, s, t))
        .collect();
    for want in [
        ("historical", "minute", "AAPL"),
        ("kdfs", "daily", "SPY"),
        ("kdfs", "public", "VIX"),
        ("kdfs", "public", "a/b/c/DEEP"),
    ] {
        let want = (want.0.to_string(), want.1.to_string(), want.2.to_string());
        assert!(rows.contains(&want), "{want:?} missing from {rows:?}");
    }
    let b = run(
        &engine,
        "SELECT column_name, data_type FROM information_schema.columns \
         WHERE table_catalog = 'historical' AND table_name = 'AAPL' ORDER BY ordinal_position",
    )
    .await;
    assert_eq!(
        strs(&b, "column_name"),
        ["t", "o", "h", "l", "c", "v", "ts"]
    );
    assert!(
        strs(&b, "data_type")[6].starts_with("Timestamp(ms"),
        "{:?}",
        strs(&b, "data_type")
    );
    let d = run(&engine, "DESCRIBE historical.minute.AAPL").await;
    assert_eq!(strs(&d, "column_name"), strs(&b, "column_name"));
    let d = run(&engine, "SHOW COLUMNS FROM daily.SPY").await;
    assert_eq!(strs(&d, "column_name").len(), 7);
}

#[tokio::test]
async fn new_frames_appear_without_restart() {
    let (source, engine) = setup(&["historical/minute/AAPL"], 5);
    assert!(matches!(
        try_run(&engine, "SELECT * FROM historical.minute.TSLA").await,
        Err(SqlError::UnknownTable { .. })
    ));
    let bars = gen_bars(T0, 7, 9);
    source
        .insert("historical/minute/TSLA", "t", bar_batches(&bars, 3))
        .unwrap();
    let b = run(&engine, "SELECT count(*) AS n FROM historical.minute.TSLA").await;
    assert_eq!(count(&b), 7);
    let b = run(
        &engine,
        "SELECT count(*) AS n FROM frames('historical/minute')",
    )
    .await;
    assert_eq!(count(&b), 12);
}

#[tokio::test]
async fn join_of_two_frames_matches_direct_computation() {
    let (_, engine) = setup(&["historical/minute/AAPL", "historical/minute/MSFT"], 120);
    let a = gen_bars(T0, 120, 0);
    let m = gen_bars(T0, 120, 1);
    let b = run(
        &engine,
        "SELECT a.t, a.c - m.c AS spread FROM historical.minute.AAPL a \
         JOIN historical.minute.MSFT m ON a.t = m.t \
         WHERE a.t >= 1704153600000 + 60000 * 100 ORDER BY a.t",
    )
    .await;
    let want: Vec<f64> = (100..120).map(|i| a[i].c - m[i].c).collect();
    assert_eq!(f64s(&b, "spread"), want);
    assert_eq!(i64s(&b, "t")[0], a[100].t);
}

#[tokio::test]
async fn results_stream_in_several_batches() {
    let (_, engine) = setup(&["historical/minute/AAPL"], 5000);
    let mut stream = engine
        .execute("SELECT t, c FROM historical.minute.AAPL")
        .await
        .unwrap();
    let mut batches = 0;
    let mut rows = 0;
    while let Some(b) = stream.next().await {
        let b = b.unwrap();
        batches += 1;
        rows += b.num_rows();
    }
    assert_eq!(rows, 5000);
    assert!(batches > 1, "expected several batches, got {batches}");
    assert!(stream.bytes_returned() >= 5000 * 16);
}
