//! End-to-end tests of server-side SQL and Klong against the real `kdfs` binary: three
//! symbols' minute bars are stored, queried, and the answers checked against values computed
//! here from the same inputs.

mod common;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use common::{ServerProc, bars, floats, ints, kdfs_bin, rows};
use kdfs_client::{Client, ClientError, ErrorKind, ReadOptions, UpdateOptions};
use std::process::Command;

/// Symbols and the offset added to their closes (`c = t * 1.5 + offset`).
const SYMBOLS: [(&str, f64); 3] = [("AAPL", 0.0), ("GOOG", 1000.0), ("MSFT", 500.0)];
const MINUTE: i64 = 60_000;
/// Two hours of minute bars per symbol.
const BARS: i64 = 120;

fn times() -> Vec<i64> {
    (0..BARS).map(|i| i * MINUTE).collect()
}

fn close(t: i64, offset: f64) -> f64 {
    t as f64 * 1.5 + offset
}

async fn seed(c: &mut Client) {
    for (sym, offset) in SYMBOLS {
        let key = format!("historical/minute/{sym}");
        c.update(&key, &bars(&times(), offset), UpdateOptions::default())
            .await
            .unwrap();
    }
    // A frame outside the prefix, which `frames('historical/minute')` must not see.
    c.update("other/X", &bars(&[1, 2], 0.0), UpdateOptions::default())
        .await
        .unwrap();
}

/// All values of column `name` as strings, whatever string type the engine chose.
fn strings(batches: &[RecordBatch], name: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let col = b.column_by_name(name).expect("column");
            let col = arrow::compute::cast(col, &DataType::Utf8).unwrap();
            let a = col.as_any().downcast_ref::<StringArray>().unwrap().clone();
            (0..a.len())
                .map(|i| a.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn server_error(r: Result<impl std::fmt::Debug, ClientError>) -> (ErrorKind, String) {
    match r {
        Err(ClientError::Server { kind, message }) => (kind, message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

#[tokio::test]
async fn sql_projection_filter_group_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    seed(&mut c).await;

    // Projection and a filter on the index, through the catalog.schema.table name.
    let (lo, hi) = (10 * MINUTE, 20 * MINUTE);
    let r = c
        .sql(&format!(
            "SELECT c, t FROM historical.minute.AAPL WHERE t >= {lo} AND t <= {hi} ORDER BY t DESC"
        ))
        .await
        .unwrap();
    let want_t: Vec<i64> = times()
        .into_iter()
        .filter(|t| (lo..=hi).contains(t))
        .rev()
        .collect();
    assert_eq!(ints(&r.batches, "t"), want_t);
    let want_c: Vec<Option<f64>> = want_t.iter().map(|&t| Some(close(t, 0.0))).collect();
    assert_eq!(floats(&r.batches, "c"), want_c);
    assert_eq!(r.schema.fields().len(), 2);
    assert_eq!(r.schema.field(0).name(), "c");

    // Group by an hourly bucket of the index over the quoted full key path.
    let r = c
        .sql(
            "SELECT t / 3600000 AS h, count(*) AS n, max(c) AS m \
             FROM \"historical/minute/MSFT\" GROUP BY 1 ORDER BY 1",
        )
        .await
        .unwrap();
    assert_eq!(ints(&r.batches, "h"), vec![0, 1]);
    assert_eq!(ints(&r.batches, "n"), vec![60, 60]);
    let max_of = |hour: i64| {
        times()
            .into_iter()
            .filter(|t| t / 3_600_000 == hour)
            .map(|t| close(t, 500.0))
            .fold(f64::MIN, f64::max)
    };
    assert_eq!(
        floats(&r.batches, "m"),
        vec![Some(max_of(0)), Some(max_of(1))]
    );

    // Every symbol at once with frames(); other prefixes stay out.
    let r = c
        .sql(
            "SELECT key, count(*) AS n, sum(c) AS s FROM frames('historical/minute') \
             GROUP BY key ORDER BY s DESC",
        )
        .await
        .unwrap();
    let mut want: Vec<(String, f64)> = SYMBOLS
        .iter()
        .map(|(sym, off)| {
            let sum: f64 = times().into_iter().map(|t| close(t, *off)).sum();
            (format!("historical/minute/{sym}"), sum)
        })
        .collect();
    want.sort_by(|a, b| b.1.total_cmp(&a.1));
    assert_eq!(
        strings(&r.batches, "key"),
        want.iter().map(|w| w.0.clone()).collect::<Vec<_>>()
    );
    assert_eq!(ints(&r.batches, "n"), vec![BARS; 3]);
    let sums = floats(&r.batches, "s");
    for (got, (_, expected)) in sums.iter().zip(&want) {
        let got = got.unwrap();
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    }

    // An empty result still has its schema.
    let r = c
        .sql("SELECT t, c FROM historical.minute.GOOG WHERE t < 0")
        .await
        .unwrap();
    assert_eq!(rows(&r.batches), 0);
    assert_eq!(r.schema.fields().len(), 2);
}

#[tokio::test]
async fn sql_errors_are_clear_and_the_connection_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    seed(&mut c).await;

    let (kind, message) = server_error(c.sql("SELEC t FROM historical.minute.AAPL").await);
    assert_eq!(kind, ErrorKind::Query);
    assert!(message.contains("syntax"), "{message}");

    let (kind, message) = server_error(c.sql("SELECT * FROM historical.minute.NOPE").await);
    assert_eq!(kind, ErrorKind::Query);
    assert!(message.contains("NOPE"), "{message}");
    assert!(message.contains("SHOW TABLES"), "{message}");

    let (kind, message) = server_error(c.sql("DROP TABLE historical.minute.AAPL").await);
    assert_eq!(kind, ErrorKind::Query);
    assert!(message.contains("read-only"), "{message}");

    // Nothing was broken or deleted.
    let r = c
        .sql("SELECT count(*) AS n FROM historical.minute.AAPL")
        .await
        .unwrap();
    assert_eq!(ints(&r.batches, "n"), vec![BARS]);
}

#[tokio::test]
async fn sql_working_memory_is_bounded_by_query_memory() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &["--query-memory", "16KiB"]);
    let mut c = server.client().await;
    seed(&mut c).await;
    let stats = c.stats(0).await.unwrap();
    assert_eq!(stats["config"]["query_memory"], 16 * 1024, "{stats}");

    // Sorting 14,400 joined rows needs far more than 16 KiB of working memory.
    let big = "SELECT a.t, b.t AS u FROM historical.minute.AAPL a, historical.minute.MSFT b \
               ORDER BY a.c + b.c";
    let (kind, message) = server_error(c.sql(big).await);
    assert_eq!(kind, ErrorKind::Query);
    assert!(message.contains("--query-memory"), "{message}");

    // Small queries still run on the same connection.
    let r = c
        .sql("SELECT count(*) AS n FROM historical.minute.AAPL")
        .await
        .unwrap();
    assert_eq!(ints(&r.batches, "n"), vec![BARS]);
}

#[tokio::test]
async fn klong_reads_lists_queries_and_stores_frames() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    seed(&mut c).await;

    let r = c.klong(".keys(\"historical/minute\")").await.unwrap();
    assert_eq!(
        r.display,
        "[\"historical/minute/AAPL\" \"historical/minute/GOOG\" \"historical/minute/MSFT\"]"
    );

    // The seed's averaging function, run server-side over a stored frame.
    let r = c
        .klong("avg::{(+/x)%#x};avg(.df(\"historical/minute/GOOG\")?\"c\")")
        .await
        .unwrap();
    let want: f64 = times().into_iter().map(|t| close(t, 1000.0)).sum::<f64>() / BARS as f64;
    let got: f64 = r.display.parse().unwrap();
    assert!((got - want).abs() < 1e-6, "{got} vs {want}");

    // A vector comes back as Arrow too.
    let r = c
        .klong("(.df(\"historical/minute/AAPL\";0;120000))?\"t\"")
        .await
        .unwrap();
    assert_eq!(r.display, "[0 60000 120000]");
    let batches = r.batches.expect("a vector converts to Arrow");
    assert_eq!(rows(&batches), 3);

    // Globals persist between requests, also across connections.
    c.klong("keep::41").await.unwrap();
    let mut other = server.client().await;
    assert_eq!(other.klong("keep+1").await.unwrap().display, "42");

    // SQL from Klong.
    let r = c
        .klong(".sql(\"SELECT count(*) AS n FROM frames('historical/minute')\")?\"n\"")
        .await
        .unwrap();
    assert_eq!(r.display, format!("[{}]", 3 * BARS));

    // Store a computed frame, read it back through the client and through SQL.
    let r = c
        .klong(".put(\"derived/x\";:{[\"t\" [1 2 3]] [\"c\" [1.5 2.5 3.5]]})")
        .await
        .unwrap();
    assert_eq!(r.display, "3");
    let back = c.read("derived/x", ReadOptions::default()).await.unwrap();
    assert_eq!(ints(&back, "t"), vec![1, 2, 3]);
    assert_eq!(floats(&back, "c"), vec![Some(1.5), Some(2.5), Some(3.5)]);
    let r = c
        .sql("SELECT sum(c) AS s FROM \"derived/x\"")
        .await
        .unwrap();
    assert_eq!(floats(&r.batches, "s"), vec![Some(7.5)]);

    // Printed output comes before the value.
    let r = c.klong(".p(\"hello\");1+1").await.unwrap();
    assert!(r.display.starts_with("hello"), "{:?}", r.display);
    assert!(r.display.ends_with('2'), "{:?}", r.display);

    // Klong errors are query errors and leave the interpreter usable.
    let (kind, _) = server_error(c.klong(".df(\"nope/x\")").await);
    assert_eq!(kind, ErrorKind::Query);
    assert_eq!(c.klong("1+1").await.unwrap().display, "2");
}

#[tokio::test]
async fn sql_joins_frames_and_buckets_time_with_date_bin() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    seed(&mut c).await;

    // A join of two frames on the index: MSFT's closes are AAPL's plus 500 at every minute.
    let r = c
        .sql(&format!(
            "SELECT a.t, m.c - a.c AS spread FROM historical.minute.AAPL a \
             JOIN historical.minute.MSFT m ON a.t = m.t WHERE a.t < {} ORDER BY a.t",
            5 * MINUTE
        ))
        .await
        .unwrap();
    assert_eq!(
        ints(&r.batches, "t"),
        (0..5).map(|i| i * MINUTE).collect::<Vec<_>>()
    );
    assert_eq!(floats(&r.batches, "spread"), vec![Some(500.0); 5]);

    // 15-minute buckets of the epoch-ms index through its `ts` timestamp column.
    let r = c
        .sql(
            "SELECT date_bin(INTERVAL '15 minutes', ts) AS bucket, count(*) AS n, \
             avg(c) AS a, CAST(min(t) AS BIGINT) AS first \
             FROM historical.minute.GOOG GROUP BY 1 ORDER BY 1",
        )
        .await
        .unwrap();
    let width = 15 * MINUTE;
    let buckets: Vec<i64> = (0..BARS * MINUTE / width).map(|b| b * width).collect();
    assert_eq!(ints(&r.batches, "first"), buckets);
    assert_eq!(ints(&r.batches, "n"), vec![15; buckets.len()]);
    for (got, start) in floats(&r.batches, "a").iter().zip(&buckets) {
        let want: f64 = (0..15)
            .map(|i| close(start + i * MINUTE, 1000.0))
            .sum::<f64>()
            / 15.0;
        let got = got.unwrap();
        assert!((got - want).abs() < 1e-6, "bucket {start}: {got} vs {want}");
    }
    let labels = strings(&r.batches, "bucket");
    assert_eq!(labels[0], "1970-01-01T00:00:00");
    assert_eq!(labels[1], "1970-01-01T00:15:00");

    // date_trunc agrees with the integer hour arithmetic.
    let r = c
        .sql(
            "SELECT date_trunc('hour', ts) AS h, count(*) AS n \
             FROM historical.minute.AAPL GROUP BY 1 ORDER BY 1",
        )
        .await
        .unwrap();
    assert_eq!(ints(&r.batches, "n"), vec![60, 60]);
    assert_eq!(
        strings(&r.batches, "h"),
        vec!["1970-01-01T00:00:00", "1970-01-01T01:00:00"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expensive_sql_is_cancelled_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &["--query-timeout", "1"]);
    let mut c = server.client().await;
    seed(&mut c).await;

    // 360^4 (about 1.7e10) joined rows: hours of work, far beyond the one-second limit.
    let mut heavy = server.client().await;
    let expensive = tokio::spawn(async move {
        let r = heavy
            .sql(
                "SELECT sum(a.c * b.c + c.c - d.c) AS s FROM frames('historical/minute') a, \
                 frames('historical/minute') b, frames('historical/minute') c, \
                 frames('historical/minute') d",
            )
            .await;
        (r.map(|r| rows(&r.batches)), heavy)
    });
    c.ping().await.unwrap();
    let r = c
        .sql("SELECT count(*) AS n FROM historical.minute.AAPL")
        .await
        .unwrap();
    assert_eq!(ints(&r.batches, "n"), vec![BARS]);
    assert_eq!(c.klong("3*4").await.unwrap().display, "12");

    let (result, mut heavy) = tokio::time::timeout(std::time::Duration::from_secs(60), expensive)
        .await
        .expect("the expensive query was not cancelled within a minute")
        .unwrap();
    let (kind, message) = server_error(result);
    assert_eq!(kind, ErrorKind::Timeout);
    assert!(message.contains("--query-timeout"), "{message}");
    // The connection is still usable afterwards.
    let r = heavy
        .sql("SELECT count(*) AS n FROM historical.minute.MSFT")
        .await
        .unwrap();
    assert_eq!(ints(&r.batches, "n"), vec![BARS]);
}

#[tokio::test]
async fn an_abandoned_query_retires_its_pooled_connection() {
    use bb8::ManageConnection;
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &["--query-timeout", "2"]);
    let mut c = server.client().await;
    seed(&mut c).await;
    assert!(!c.is_abandoned());
    // Given up before the answer, as the REPL does on Ctrl-C.
    let heavy = "SELECT sum(a.c * b.c) AS s FROM frames('historical/minute') a, \
                 frames('historical/minute') b, frames('historical/minute') c";
    let gave_up = tokio::time::timeout(std::time::Duration::from_millis(200), c.sql(heavy)).await;
    assert!(gave_up.is_err(), "the query should still be running");
    assert!(c.is_abandoned());
    let manager =
        kdfs_client::ClientManager::new(server.addr.clone(), kdfs_client::ClientOptions::default());
    assert!(manager.has_broken(&mut c), "the pool must not reuse it");
    // A request that completes, with or without an error, leaves the connection reusable.
    let mut fresh = server.client().await;
    assert!(fresh.sql("SELECT * FROM nowhere").await.is_err());
    assert!(!fresh.is_abandoned());
    assert!(!manager.has_broken(&mut fresh));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_klong_is_cancelled_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &["--query-timeout", "1"]);
    let mut c = server.client().await;
    seed(&mut c).await;

    let mut looping = server.client().await;
    let endless = tokio::spawn(async move {
        let r = looping.klong("{x=x}{x+1}:~0").await;
        (r.map(|r| r.display), looping)
    });
    // Another client keeps being served while the loop runs.
    c.ping().await.unwrap();
    let r = c
        .sql("SELECT count(*) AS n FROM frames('historical/minute')")
        .await
        .unwrap();
    assert_eq!(ints(&r.batches, "n"), vec![3 * BARS]);

    let (result, mut looping) = endless.await.unwrap();
    let (kind, message) = server_error(result);
    assert_eq!(kind, ErrorKind::Timeout);
    assert!(message.contains("--query-timeout"), "{message}");
    // The interpreter and the connection are fine afterwards.
    assert_eq!(looping.klong("2*21").await.unwrap().display, "42");
}

#[tokio::test]
async fn file_and_system_functions_are_refused_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    for (code, flag) in [
        (".ic(\"/etc/passwd\")", "--allow-files"),
        (".sys(\"true\")", "--allow-system"),
    ] {
        let (kind, message) = server_error(c.klong(code).await);
        assert_eq!(kind, ErrorKind::Unsupported, "{code}");
        assert!(message.contains(flag), "{code}: {message}");
    }
    assert_eq!(c.klong("1+1").await.unwrap().display, "2");
}

#[tokio::test]
async fn operator_flag_enables_running_programs() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &["--allow-system"]);
    let mut c = server.client().await;
    // `.sys` returns the program's exit status.
    assert_eq!(c.klong(".sys(\"exit 3\")").await.unwrap().display, "3");
    // Files stay off: each capability has its own flag.
    let (kind, message) = server_error(c.klong(".ic(\"/etc/passwd\")").await);
    assert_eq!(kind, ErrorKind::Unsupported);
    assert!(message.contains("--allow-files"), "{message}");
}

#[tokio::test]
async fn cli_sql_and_klong_print_results() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    seed(&mut c).await;
    let port = server.port.to_string();
    let run = |args: &[&str]| {
        let out = Command::new(kdfs_bin())
            .args(args)
            .args(["--port", &port])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };

    let query = "SELECT t, c FROM historical.minute.MSFT WHERE t <= 60000 ORDER BY t";
    let (ok, out, err) = run(&["sql", query, "--format", "csv"]);
    assert!(ok, "{err}");
    // Arrow's CSV writer keeps the `.0` of whole floats, as `{:?}` does.
    assert_eq!(
        out,
        format!("t,c\n0,{:?}\n60000,{:?}\n", 500.0, close(60_000, 500.0))
    );

    let (ok, out, err) = run(&["sql", query]);
    assert!(ok, "{err}");
    assert!(out.contains("| t "), "{out}");
    assert!(out.contains("60000"), "{out}");

    let (ok, out, err) = run(&["sql", query, "--format", "json"]);
    assert!(ok, "{err}");
    assert!(out.trim_start().starts_with("[{\"t\":0"), "{out}");

    let arrow_file = dir.path().join("result.arrow");
    let (ok, _, err) = run(&[
        "sql",
        query,
        "--format",
        "arrow",
        "-o",
        arrow_file.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let reader =
        arrow::ipc::reader::FileReader::try_new(std::fs::File::open(&arrow_file).unwrap(), None)
            .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    assert_eq!(ints(&batches, "t"), vec![0, 60_000]);

    let (ok, out, err) = run(&["klong", "+/[1 2 3]"]);
    assert!(ok, "{err}");
    assert_eq!(out, "6\n");

    // --repeat runs the query on one connection and prints the result once; --timing then
    // gives medians over the runs.
    let (ok, out, err) = run(&["sql", query, "--format", "csv", "--repeat", "3", "--timing"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(err.contains("medians of 3 runs"), "{err}");
    let (ok, _, err) = run(&["klong", "1+1", "--repeat", "0"]);
    assert!(!ok);
    assert!(err.contains("--repeat"), "{err}");

    let (ok, _, err) = run(&["sql", "SELECT * FROM nowhere"]);
    assert!(!ok);
    assert!(err.contains("nowhere"), "{err}");
}
