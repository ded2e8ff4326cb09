//! Time-bucketed rollups and cross-symbol queries, checked against direct computation.

use std::collections::BTreeMap;

use super::*;

/// Open, high, low, close and volume of consecutive bars.
#[derive(Debug, PartialEq)]
struct Ohlcv {
    o: f64,
    h: f64,
    l: f64,
    c: f64,
    v: i64,
}

fn rollup(bars: &[Bar], bucket_ms: i64) -> BTreeMap<i64, Ohlcv> {
    let mut out: BTreeMap<i64, Ohlcv> = BTreeMap::new();
    for b in bars {
        let k = b.t - b.t.rem_euclid(bucket_ms);
        out.entry(k)
            .and_modify(|x| {
                x.h = x.h.max(b.h);
                x.l = x.l.min(b.l);
                x.c = b.c;
                x.v += b.v;
            })
            .or_insert(Ohlcv {
                o: b.o,
                h: b.h,
                l: b.l,
                c: b.c,
                v: b.v,
            });
    }
    out
}

fn ohlcv_rows(b: &RecordBatch, bucket: &str) -> BTreeMap<i64, Ohlcv> {
    let (t, o, h, l, c, v) = (
        i64s(b, bucket),
        f64s(b, "o"),
        f64s(b, "h"),
        f64s(b, "l"),
        f64s(b, "c"),
        i64s(b, "v"),
    );
    (0..b.num_rows())
        .map(|i| {
            (
                t[i],
                Ohlcv {
                    o: o[i],
                    h: h[i],
                    l: l[i],
                    c: c[i],
                    v: v[i],
                },
            )
        })
        .collect()
}

#[tokio::test]
async fn hourly_ohlc_from_minute_bars() {
    // 5 hours and 17 minutes, so the last bucket is partial.
    let n = 5 * 60 + 17;
    let (_, engine) = setup(&["historical/minute/AAPL"], n);
    let b = run(
        &engine,
        "SELECT date_trunc('hour', ts) AS hour, first_value(o ORDER BY t) AS o, max(h) AS h, \
         min(l) AS l, last_value(c ORDER BY t) AS c, sum(v) AS v \
         FROM historical.minute.AAPL GROUP BY 1 ORDER BY 1",
    )
    .await;
    let want = rollup(&gen_bars(T0, n, 0), 3_600_000);
    assert_eq!(want.len(), 6);
    assert_eq!(ohlcv_rows(&b, "hour"), want);
}

#[tokio::test]
async fn five_minute_date_bin_over_a_time_range() {
    let n = 600;
    let (source, engine) = setup(&["historical/minute/AAPL"], n);
    let b = run(
        &engine,
        "SELECT date_bin(INTERVAL '5 minutes', ts, TIMESTAMP '2024-01-01 00:00:00') AS bucket, \
         first_value(o ORDER BY t) AS o, max(h) AS h, min(l) AS l, \
         last_value(c ORDER BY t) AS c, sum(v) AS v \
         FROM historical.minute.AAPL \
         WHERE ts >= '2024-01-02T03:00:00' AND ts < '2024-01-02T04:00:00' \
         GROUP BY 1 ORDER BY 1",
    )
    .await;
    let bars: Vec<Bar> = gen_bars(T0, n, 0)[180..240].to_vec();
    let want = rollup(&bars, 300_000);
    assert_eq!(want.len(), 12);
    assert_eq!(ohlcv_rows(&b, "bucket"), want);
    assert_eq!(source.rows_scanned(), 60);
}

#[tokio::test]
async fn frames_unions_symbols_with_their_key() {
    let keys = [
        "historical/minute/AAPL",
        "historical/minute/IBM",
        "historical/minute/MSFT",
        "historical/minutely/X",
    ];
    let (_, engine) = setup(&keys, 240);
    let b = run(
        &engine,
        "SELECT key, avg(c) AS avg_c, sum(c * v) / sum(v) AS vwap, count(*) AS n \
         FROM frames('historical/minute') GROUP BY key ORDER BY key",
    )
    .await;
    // `historical/minutely/X` is not under the prefix `historical/minute`.
    assert_eq!(strs(&b, "key"), &keys[..3]);
    let (avg, vwap) = (f64s(&b, "avg_c"), f64s(&b, "vwap"));
    for i in 0..3 {
        let bars = gen_bars(T0, 240, i as u64);
        let want_avg = bars.iter().map(|x| x.c).sum::<f64>() / 240.0;
        let want_vwap = bars.iter().map(|x| x.c * x.v as f64).sum::<f64>()
            / bars.iter().map(|x| x.v as f64).sum::<f64>();
        assert!((avg[i] - want_avg).abs() < 1e-9, "{} vs {want_avg}", avg[i]);
        assert!(
            (vwap[i] - want_vwap).abs() < 1e-9,
            "{} vs {want_vwap}",
            vwap[i]
        );
    }
    assert_eq!(i64s(&b, "n"), [240, 240, 240]);

    // Last bar of every symbol.
    let b = run(
        &engine,
        "SELECT key, max(t) AS t, last_value(c ORDER BY t) AS c \
         FROM frames('historical') GROUP BY key ORDER BY key",
    )
    .await;
    assert_eq!(strs(&b, "key"), keys);
    for (i, c) in f64s(&b, "c").into_iter().enumerate() {
        assert_eq!(c, gen_bars(T0, 240, i as u64)[239].c);
    }
    assert!(i64s(&b, "t").iter().all(|t| *t == T0 + 239 * MINUTE));
}

#[tokio::test]
async fn frames_merges_differing_schemas() {
    let source = Arc::new(MemorySource::new());
    source
        .insert("q/A", "t", bar_batches(&gen_bars(T0, 3, 0), 10))
        .unwrap();
    let extra = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("t", DataType::Int64, false),
            Field::new("bid", DataType::Float64, false),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![T0, T0 + MINUTE])),
            Arc::new(Float64Array::from(vec![1.5, 2.5])),
        ],
    )
    .unwrap();
    source.insert("q/B", "t", vec![extra]).unwrap();
    let engine = SqlEngine::new(source, test_limits()).unwrap();
    let b = run(
        &engine,
        "SELECT key, count(*) AS n, count(bid) AS nb, count(c) AS nc, sum(bid) AS sb \
         FROM frames('q') GROUP BY key ORDER BY key",
    )
    .await;
    assert_eq!(strs(&b, "key"), ["q/A", "q/B"]);
    assert_eq!(i64s(&b, "n"), [3, 2]);
    assert_eq!(i64s(&b, "nb"), [0, 2]);
    assert_eq!(i64s(&b, "nc"), [3, 0]);
    assert_eq!(b.column_by_name("sb").unwrap().null_count(), 1);
    assert_eq!(f64s(&b, "sb")[1], 4.0);
}
