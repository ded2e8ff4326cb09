//! Tests of server-side Klong over an in-memory source; expected values are computed from
//! the generated data, never copied from output.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{AsArray, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};

use super::{KlongBindings, KlongConfig, KlongService, QueryError, VECTOR_COLUMN};
use crate::sql::{EngineLimits, FrameSource, MemorySource, SqlEngine};

const T0: i64 = 1_704_153_600_000;
const MINUTE: i64 = 60_000;

/// `n` minute bars (t, c, v) with closes derived from `seed`.
fn bars(n: usize, seed: u64) -> RecordBatch {
    let t: Vec<i64> = (0..n as i64).map(|i| T0 + i * MINUTE).collect();
    let c: Vec<f64> = (0..n)
        .map(|i| 100.0 + seed as f64 + ((i as u64 * 7 + seed * 13) % 17) as f64 * 0.25)
        .collect();
    let v: Vec<i64> = (0..n as i64)
        .map(|i| (i * 31 + seed as i64) % 500 + 1)
        .collect();
    let schema = Schema::new(vec![
        Field::new("t", DataType::Int64, false),
        Field::new("c", DataType::Float64, false),
        Field::new("v", DataType::Int64, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from(t)),
            Arc::new(Float64Array::from(c)),
            Arc::new(Int64Array::from(v)),
        ],
    )
    .unwrap()
}

fn closes(b: &RecordBatch) -> Vec<f64> {
    b.column_by_name("c")
        .unwrap()
        .as_primitive::<Float64Type>()
        .values()
        .to_vec()
}

const KEYS: [&str; 3] = [
    "historical/minute/AAPL",
    "historical/minute/MSFT",
    "other/X",
];

fn source(n: usize) -> Arc<MemorySource> {
    let src = Arc::new(MemorySource::new());
    for (i, k) in KEYS.iter().enumerate() {
        // Two batches per frame, so reads have to concatenate.
        let all = bars(n, i as u64);
        let half = n / 2;
        src.insert(k, "t", vec![all.slice(0, half), all.slice(half, n - half)])
            .unwrap();
    }
    src
}

fn service_with(src: Arc<MemorySource>, config: KlongConfig) -> KlongService {
    let limits = EngineLimits {
        target_partitions: 2,
        ..EngineLimits::default()
    };
    let engine = SqlEngine::new(src.clone(), limits).unwrap();
    let bindings = KlongBindings {
        source: src.clone(),
        sink: Some(src),
        sql: Some(Arc::new(engine)),
    };
    KlongService::start(config, bindings).unwrap()
}

fn service(n: usize) -> (Arc<MemorySource>, KlongService) {
    let src = source(n);
    (src.clone(), service_with(src, KlongConfig::default()))
}

async fn show(s: &KlongService, code: &str) -> String {
    match s.eval(code.to_string()).await {
        Ok(r) => r.display,
        Err(e) => panic!("{code}: {e}"),
    }
}

fn real(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a real: {s}"))
}

fn close_enough(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[tokio::test]
async fn globals_persist_between_evaluations() {
    let (_, s) = service(10);
    assert_eq!(show(&s, "f::{x*2}").await, ":monad");
    assert_eq!(show(&s, "f(21)").await, "42");
    assert_eq!(show(&s, "a::f'!4").await, "[0 2 4 6]");
    assert_eq!(show(&s, "+/a").await, "12");
    let r = s.eval(".p(\"hi\");7".into()).await.unwrap();
    assert_eq!((r.output.as_str(), r.display.as_str()), ("hi\n", "7"));
    let r = s.eval("a::3".into()).await.unwrap();
    assert_eq!(r.display, "3");
}

#[tokio::test]
async fn df_reads_whole_frames_and_ranges() {
    let n = 100;
    let (src, s) = service(n);
    let want = bars(n, 1);
    let c = closes(&want);
    assert_eq!(
        show(&s, "d::.df(\"historical/minute/MSFT\");#d?\"c\"").await,
        "100"
    );
    assert_eq!(show(&s, "*d?\"t\"").await, T0.to_string());
    let sum = real(&show(&s, "+/d?\"c\"").await);
    assert!(close_enough(sum, c.iter().sum()), "{sum}");
    assert_eq!(show(&s, "+/d?\"v\"").await, {
        let v = want
            .column_by_name("v")
            .unwrap()
            .as_primitive::<Int64Type>();
        v.values().iter().sum::<i64>().to_string()
    });
    // Inclusive range on the index, crossing the batch boundary.
    let (from, to) = (T0 + 40 * MINUTE, T0 + 59 * MINUTE);
    let r = show(
        &s,
        &format!("r::.df(\"historical/minute/MSFT\";{from};{to});#r?\"t\""),
    )
    .await;
    assert_eq!(r, "20");
    let part = real(&show(&s, "+/r?\"c\"").await);
    assert!(close_enough(part, c[40..60].iter().sum()));
    assert_eq!(
        show(&s, &format!("#(.df(\"other/X\";[];{from}))?\"t\"")).await,
        "41"
    );
    assert_eq!(
        show(&s, &format!("#(.df(\"other/X\";{to};[]))?\"t\"")).await,
        "41"
    );
    assert!(src.rows_scanned() > 0);
    let e = s.eval(".df(\"nope\")".into()).await.unwrap_err();
    assert!(e.to_string().contains(".keys"), "{e}");
    let e = s.eval(".df(1)".into()).await.unwrap_err();
    assert!(e.to_string().contains("must be a string"), "{e}");
}

#[tokio::test]
async fn keys_lists_by_prefix() {
    let (_, s) = service(4);
    assert_eq!(
        show(&s, ".keys(\"historical/minute\")").await,
        "[\"historical/minute/AAPL\" \"historical/minute/MSFT\"]"
    );
    assert_eq!(show(&s, "#.keys(\"\")").await, KEYS.len().to_string());
    assert_eq!(show(&s, ".keys(\"zzz\")").await, "[]");
}

#[tokio::test]
async fn sql_results_become_dictionaries() {
    let n = 50;
    let (_, s) = service(n);
    let q = "select key, count(*) as n, sum(c) as s from frames('historical/minute') \
             group by key order by key";
    let code = format!("q::.sql(\"{q}\");q?\"n\"");
    assert_eq!(show(&s, &code).await, format!("[{n} {n}]"));
    assert_eq!(
        show(&s, "q?\"key\"").await,
        "[\"historical/minute/AAPL\" \"historical/minute/MSFT\"]"
    );
    let got = real(&show(&s, "(q?\"s\")@1").await);
    assert!(close_enough(got, closes(&bars(n, 1)).iter().sum()));
    let e = s.eval(".sql(\"selec 1\")".into()).await.unwrap_err();
    assert!(
        matches!(&e, QueryError::Eval { message } if message.contains("syntax")),
        "{e}"
    );
    let e = s
        .eval(".sql(\"select * from nope\")".into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("unknown table"), "{e}");
}

#[tokio::test]
async fn put_upserts_and_reads_back() {
    let (src, s) = service(4);
    let put = ".put(\"derived/x\";:{[\"t\" [1 2 3]] [\"c\" [1.5 2.5 3.5]]})";
    assert_eq!(show(&s, put).await, "3");
    assert_eq!(show(&s, ".df(\"derived/x\")?\"c\"").await, "[1.5 2.5 3.5]");
    // Upsert: t=3 replaced, t=4 added; integers go into the stored float column.
    let put2 = ".put(\"derived/x\";:{[\"t\" [3 4]] [\"c\" [9 10]]})";
    assert_eq!(show(&s, put2).await, "4");
    assert_eq!(
        show(&s, ".df(\"derived/x\")?\"c\"").await,
        "[1.5 2.5 9.0 10.0]"
    );
    let meta = src.meta("derived/x").unwrap();
    assert_eq!(meta.rows, 4);
    // A computed frame from a stored one: closes doubled.
    show(&s, "d::.df(\"other/X\")").await;
    let code = "e:::{};e,\"t\",,d?\"t\";e,\"c\",,2*d?\"c\";.put(\"derived/y\";e)";
    assert_eq!(show(&s, code).await, "4");
    let doubled: Vec<f64> = closes(&bars(4, 2)).iter().map(|c| c * 2.0).collect();
    let got = show(&s, ".df(\"derived/y\")?\"c\"").await;
    let got: Vec<f64> = got.trim_matches(['[', ']']).split(' ').map(real).collect();
    assert_eq!(got, doubled);
    let e = s
        .eval(".put(\"derived/z\";:{[\"c\" [1]]})".into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("index column"), "{e}");
    let e = s.eval(".put(\"derived/z\";1)".into()).await.unwrap_err();
    assert!(e.to_string().contains("dictionary"), "{e}");
}

#[tokio::test]
async fn the_seed_averaging_handler_runs_over_a_stored_frame() {
    let n = 30;
    let (_, s) = service(n);
    show(&s, include_str!("../../kg/avg.kg")).await;
    // onmsg takes a batch of bars (dictionaries with a "c" entry), like the feed handler.
    let code = "d::.df(\"historical/minute/AAPL\");\
                bars::{[b];b:::{};b,\"c\",x;b}'d?\"c\";\
                (onmsg(bars))?\"a\"";
    let got = real(&show(&s, code).await);
    let c = closes(&bars(n, 0));
    assert!(close_enough(got, c.iter().sum::<f64>() / n as f64), "{got}");
    assert_eq!(show(&s, "(onmsg(bars))?\"ev\"").await, "\"AVG\"");
}

#[tokio::test]
async fn replies_carry_arrow_for_tables_and_vectors() {
    let (_, s) = service(4);
    let r = s
        .eval(":{[\"a\" [1 2]] [\"b\" [1.5 2.5]] [\"s\" [\"x\" \"y\"]]}".into())
        .await
        .unwrap();
    let b = r.batch.unwrap();
    assert_eq!((b.num_rows(), b.num_columns()), (2, 3));
    assert_eq!(b.schema().field(1).name(), "b");
    let col = b.column(1).as_primitive::<Float64Type>();
    assert_eq!(col.values().to_vec(), [1.5, 2.5]);
    let r = s.eval("!5".into()).await.unwrap();
    let b = r.batch.unwrap();
    assert_eq!(b.schema().field(0).name(), VECTOR_COLUMN);
    assert_eq!(
        b.column(0).as_primitive::<Int64Type>().values().to_vec(),
        [0, 1, 2, 3, 4]
    );
    assert!(s.eval("42".into()).await.unwrap().batch.is_none());
    // Ragged columns and nested lists have no table form.
    assert!(
        s.eval(":{[\"a\" [1 2]] [\"b\" [1]]}".into())
            .await
            .unwrap()
            .batch
            .is_none()
    );
    assert!(s.eval("[[1 2] [3]]".into()).await.unwrap().batch.is_none());
    let r = s.eval("".into()).await.unwrap();
    assert_eq!(r.display, "");
}

#[tokio::test]
async fn errors_leave_the_interpreter_usable() {
    let (_, s) = service(4);
    show(&s, "keep::5").await;
    for bad in ["1+\"a\"", "(", "undefinedfn(1)"] {
        let e = s.eval(bad.into()).await.unwrap_err();
        assert!(matches!(e, QueryError::Eval { .. }), "{bad}: {e}");
    }
    assert_eq!(show(&s, "keep").await, "5");
}

#[tokio::test]
async fn endless_loops_stop_at_the_time_limit() {
    let config = KlongConfig {
        timeout: Duration::from_millis(300),
        ..KlongConfig::default()
    };
    let s = service_with(source(4), config);
    show(&s, "keep::7").await;
    for endless in ["{x=x}{x+1}:~0", "{x}{x}:~1", "{x=x}{.df(\"other/X\");x}:~0"] {
        let e = s.eval(endless.into()).await.unwrap_err();
        assert!(matches!(e, QueryError::Timeout { .. }), "{endless}: {e}");
        assert!(e.to_string().contains("--query-timeout"));
    }
    assert_eq!(show(&s, "keep+1").await, "8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_caller_stops_the_evaluation() {
    let config = KlongConfig {
        timeout: Duration::from_secs(3600),
        ..KlongConfig::default()
    };
    let s = Arc::new(service_with(source(4), config));
    let running = {
        let s = Arc::clone(&s);
        tokio::spawn(async move { s.eval("{x=x}{x+1}:~0".into()).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.abort();
    // Without cancellation this would wait for the hour-long limit.
    let r = tokio::time::timeout(Duration::from_secs(60), s.eval("1+1".into()))
        .await
        .expect("the endless loop was not stopped")
        .unwrap();
    assert_eq!(r.display, "2");
}

#[tokio::test]
async fn file_and_system_functions_are_refused_by_default() {
    let (_, s) = service(4);
    for (code, function, flag) in [
        (".ic(\"/etc/passwd\")", ".ic", "--allow-files"),
        (
            ".oc(\"/tmp/kdfs-should-not-exist\")",
            ".oc",
            "--allow-files",
        ),
        (".l(\"x\")", ".l", "--allow-files"),
        (".sys(\"true\")", ".sys", "--allow-system"),
        (".x(0)", ".x", "--allow-system"),
    ] {
        match s.eval(code.into()).await {
            Err(QueryError::Refused {
                function: f,
                flag: g,
                ..
            }) => assert_eq!((f.as_str(), g), (function, flag), "{code}"),
            other => panic!("{code}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn large_values_and_frames_are_refused() {
    let config = KlongConfig {
        max_result_bytes: 4000,
        ..KlongConfig::default()
    };
    let s = service_with(source(1000), config);
    let e = s.eval("!1000".into()).await.unwrap_err();
    assert!(matches!(e, QueryError::TooLarge { limit: 4000, .. }), "{e}");
    assert_eq!(show(&s, "+/!1000").await, "499500");
    let e = s.eval(".df(\"other/X\")".into()).await.unwrap_err();
    assert!(e.to_string().contains("larger than the limit"), "{e}");
    let from = T0;
    let to = T0 + 9 * MINUTE;
    assert_eq!(
        show(&s, &format!("#(.df(\"other/X\";{from};{to}))?\"c\"")).await,
        "10"
    );
    let e = s
        .eval(".sql(\"select * from other.\"\"X\"\"\")".into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("limit"), "{e}");
}

#[tokio::test]
async fn callers_beyond_the_queue_wait_their_turn() {
    let config = KlongConfig {
        queue_limit: 1,
        ..KlongConfig::default()
    };
    let s = Arc::new(service_with(source(4), config));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = Arc::clone(&s);
            tokio::spawn(async move { s.eval(format!("+/!{}", 1000 + i)).await })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        let n = 1000 + i as i64;
        let reply = t.await.unwrap().expect("queued, not refused");
        assert_eq!(reply.display, (n * (n - 1) / 2).to_string());
    }
}

#[tokio::test]
async fn a_full_queue_answers_busy() {
    let config = KlongConfig {
        timeout: Duration::from_secs(2),
        queue_limit: 1,
        ..KlongConfig::default()
    };
    let s = Arc::new(service_with(source(4), config));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(
            async move { s.eval("{x=x}{x+1}:~0".into()).await },
        ));
    }
    let mut busy = 0;
    for t in tasks {
        if let Err(QueryError::Busy { .. }) = t.await.unwrap() {
            busy += 1;
        }
    }
    assert!(busy >= 1, "expected at least one Busy");
}
