//! End-to-end tests of `kdfs server` through the client library: merging, reading, stats,
//! caching, deleting, restarting, and refusing bad input.

mod common;

use common::{ServerProc, bars, floats, ints, rows};
use kdfs_client::{ClientError, ErrorKind, ReadOptions, UpdateOptions};

fn upsert() -> UpdateOptions {
    UpdateOptions {
        upsert: true,
        ..UpdateOptions::default()
    }
}

fn range(start: Option<i64>, end: Option<i64>) -> ReadOptions {
    ReadOptions {
        start,
        end,
        ..ReadOptions::default()
    }
}

#[tokio::test]
async fn merge_first_wins_upsert_and_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    c.ping().await.unwrap();

    let s = c
        .update(
            "m/AAPL",
            &bars(&[30, 10, 20], 0.0),
            UpdateOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!((s.inserted, s.ignored, s.rows), (3, 0, 3));

    // Duplicates keep the stored row (first write wins); new rows interleave in order.
    let s = c
        .update(
            "m/AAPL",
            &bars(&[20, 15, 40, 5], 100.0),
            UpdateOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!((s.inserted, s.replaced, s.ignored, s.rows), (3, 0, 1, 6));
    let all = c.read("m/AAPL", ReadOptions::default()).await.unwrap();
    assert_eq!(ints(&all, "t"), vec![5, 10, 15, 20, 30, 40]);
    assert_eq!(floats(&all, "c")[3], Some(30.0)); // t=20 from the first write

    // Upsert: last write wins.
    let s = c
        .update("m/AAPL", &bars(&[20, 50], 1000.0), upsert())
        .await
        .unwrap();
    assert_eq!((s.inserted, s.replaced, s.rows), (1, 1, 7));
    let all = c.read("m/AAPL", ReadOptions::default()).await.unwrap();
    assert_eq!(ints(&all, "t"), vec![5, 10, 15, 20, 30, 40, 50]);
    assert_eq!(floats(&all, "c")[3], Some(1030.0));
}

#[tokio::test]
async fn range_reads_columns_and_row_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    let ts: Vec<i64> = (0..100).map(|i| i * 10).collect();
    c.update("r/x", &bars(&ts, 0.0), UpdateOptions::default())
        .await
        .unwrap();

    // Inclusive at both ends.
    let got = c.read("r/x", range(Some(100), Some(200))).await.unwrap();
    assert_eq!(
        ints(&got, "t"),
        (10..=20).map(|i| i * 10).collect::<Vec<_>>()
    );
    // Bounds between stored values.
    let got = c.read("r/x", range(Some(95), Some(105))).await.unwrap();
    assert_eq!(ints(&got, "t"), vec![100]);
    // Open ends.
    assert_eq!(rows(&c.read("r/x", range(None, Some(0))).await.unwrap()), 1);
    assert_eq!(
        rows(&c.read("r/x", range(Some(990), None)).await.unwrap()),
        1
    );
    // Empty ranges: nothing between, beyond, or reversed — but the schema is still known.
    let empty = c.read_table("r/x", range(Some(1001), None)).await.unwrap();
    assert_eq!(empty.num_rows(), 0);
    assert_eq!(empty.schema.fields().len(), 2);
    assert_eq!(
        rows(&c.read("r/x", range(Some(101), Some(109))).await.unwrap()),
        0
    );
    assert_eq!(
        rows(&c.read("r/x", range(Some(500), Some(100))).await.unwrap()),
        0
    );

    // Columns and row-number ranges.
    let got = c
        .read_table(
            "r/x",
            ReadOptions {
                start: Some(100),
                columns: Some(vec!["t".into()]),
                rows: Some((2, 5)),
                ..ReadOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ints(&got.batches, "t"), vec![120, 130, 140]);
    assert!(got.schema.field_with_name("c").is_err());

    // Missing key: a clear error, and the connection keeps working.
    let err = c.read("r/nope", ReadOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::NotFound), "{err}");
    assert!(err.to_string().contains("r/nope"), "{err}");
    c.ping().await.unwrap();
}

#[tokio::test]
async fn schema_extension_and_type_conflict() {
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    c.update("s/x", &bars(&[1, 2], 0.0), UpdateOptions::default())
        .await
        .unwrap();

    // New column `v`: older rows read back as null.
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Int64, false),
        Field::new("v", DataType::Int64, true),
    ]));
    let extra = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![3])),
            Arc::new(Int64Array::from(vec![7])),
        ],
    )
    .unwrap();
    c.update("s/x", &extra, UpdateOptions::default())
        .await
        .unwrap();
    let all = c.read_table("s/x", ReadOptions::default()).await.unwrap();
    assert_eq!(ints(&all.batches, "t"), vec![1, 2, 3]);
    let names: Vec<_> = all
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert!(names.contains(&"c".to_string()) && names.contains(&"v".to_string()));
    let v: Vec<Option<i64>> = all
        .batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name("v").unwrap();
            let a = a.as_any().downcast_ref::<Int64Array>().unwrap();
            a.iter().collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(v, vec![None, None, Some(7)]);

    // `c` as a string conflicts with the stored Float64: error, nothing changes.
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Int64, false),
        Field::new("c", DataType::Utf8, true),
    ]));
    let bad = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![9])),
            Arc::new(StringArray::from(vec!["x"])),
        ],
    )
    .unwrap();
    let err = c
        .update("s/x", &bad, UpdateOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Conflict), "{err}");
    assert!(err.to_string().contains('c'), "{err}");
    let all = c.read("s/x", ReadOptions::default()).await.unwrap();
    assert_eq!(ints(&all, "t"), vec![1, 2, 3]);
}

#[tokio::test]
async fn stats_levels_list_delete_load_unload() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    c.update("a/one", &bars(&[1, 2, 3], 0.0), UpdateOptions::default())
        .await
        .unwrap();
    c.update("a/two", &bars(&[4, 5], 0.0), UpdateOptions::default())
        .await
        .unwrap();
    c.update("b/three", &bars(&[6], 0.0), UpdateOptions::default())
        .await
        .unwrap();

    let s0 = c.stats(0).await.unwrap();
    for field in [
        "memory_used",
        "memory_free",
        "memory_max",
        "rows",
        "frames",
        "disk_bytes",
        "connections",
        "uptime_s",
        "version",
    ] {
        assert!(s0.get(field).is_some(), "level 0 lacks {field}: {s0}");
    }
    assert_eq!(s0["rows"], 6);
    assert_eq!(s0["frames"], 3);
    assert!(s0["connections"].as_u64().unwrap() >= 1);
    assert!(s0.get("loaded").is_none() && s0.get("keys").is_none());
    // The process's own memory, split so the overhead beyond the cache can be told apart.
    let process = &s0["process"];
    let bytes = |f: &str| process[f].as_u64().unwrap_or_else(|| panic!("{f}: {s0}"));
    assert!(bytes("anon_bytes") > 0 && bytes("file_bytes") > 0, "{s0}");
    assert!(
        bytes("anon_bytes") + bytes("file_bytes") <= bytes("rss_bytes"),
        "{s0}"
    );
    assert!(bytes("rss_bytes") <= bytes("peak_rss_bytes"), "{s0}");

    c.load("a/one").await.unwrap();
    let s1 = c.stats(1).await.unwrap();
    let loaded = s1["loaded"].as_array().unwrap();
    assert!(
        loaded
            .iter()
            .any(|e| e["key"] == "a/one" && e["bytes"].as_u64().unwrap() > 0),
        "{s1}"
    );
    assert!(s1.get("keys").is_none());

    let s2 = c.stats(2).await.unwrap();
    let keys: Vec<_> = s2["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, vec!["a/one", "a/two", "b/three"]);
    assert!(c.stats(3).await.unwrap_err().kind() == Some(ErrorKind::BadRequest));

    c.unload("a/one").await.unwrap();
    let s1 = c.stats(1).await.unwrap();
    assert!(
        !s1["loaded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["key"] == "a/one"),
        "{s1}"
    );

    let listed = c.list_keys("a/").await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.key.as_str()).collect::<Vec<_>>(),
        vec!["a/one", "a/two"]
    );
    assert_eq!(
        (listed[0].rows, listed[0].first, listed[0].last),
        (3, Some(1), Some(3))
    );
    assert_eq!(listed[0].columns, vec!["t", "c"]);

    c.delete("a/two").await.unwrap();
    assert_eq!(c.list_keys("").await.unwrap().len(), 2);
    let err = c.read("a/two", ReadOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::NotFound));
    assert_eq!(
        c.delete("a/two").await.unwrap_err().kind(),
        Some(ErrorKind::NotFound)
    );
    assert!(!dir.path().join("a/two.arrow").exists());
}

#[tokio::test]
async fn lru_eviction_under_small_memory() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &["--memory", "1MiB"]);
    let mut c = server.client().await;
    // Four frames of ~480 KB each: they cannot all stay in 1 MiB.
    let ts: Vec<i64> = (0..30_000).collect();
    for key in ["e/0", "e/1", "e/2", "e/3"] {
        c.update(key, &bars(&ts, 0.0), UpdateOptions::default())
            .await
            .unwrap();
        assert_eq!(
            rows(&c.read(key, ReadOptions::default()).await.unwrap()),
            30_000
        );
    }
    let s = c.stats(1).await.unwrap();
    let used = s["memory_used"].as_u64().unwrap();
    assert!(used <= 1 << 20, "memory_used {used} over the budget: {s}");
    let loaded: Vec<_> = s["loaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_string())
        .collect();
    assert!(loaded.len() < 4, "nothing was evicted: {s}");
    // Evicted frames are still readable, in full.
    for key in ["e/0", "e/1", "e/2", "e/3"] {
        assert_eq!(
            ints(&c.read(key, ReadOptions::default()).await.unwrap(), "t"),
            ts
        );
    }
}

#[tokio::test]
async fn restart_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    c.update(
        "historical/minute/AAPL",
        &bars(&[1, 2, 3], 0.0),
        UpdateOptions::default(),
    )
    .await
    .unwrap();
    c.update(
        "historical/minute/MSFT",
        &bars(&[7], 0.0),
        UpdateOptions::default(),
    )
    .await
    .unwrap();
    drop(c);
    let status = server.terminate();
    assert!(status.success(), "server exited with {status}");

    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    let got = c
        .read("historical/minute/AAPL", ReadOptions::default())
        .await
        .unwrap();
    assert_eq!(ints(&got, "t"), vec![1, 2, 3]);
    assert_eq!(floats(&got, "c"), vec![Some(1.5), Some(3.0), Some(4.5)]);
    assert_eq!(c.list_keys("historical/").await.unwrap().len(), 2);
    // The frames are laid out by key path under --dir.
    assert!(dir.path().join("historical/minute").is_dir());
}

#[tokio::test]
async fn hostile_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = ServerProc::start(&data, &[]);
    let mut c = server.client().await;
    for key in [
        "../x",
        "/etc/passwd",
        "a//b",
        "",
        ".",
        "a/../../x",
        "a/./b",
        "a b",
        "x/",
        "a\\b",
    ] {
        let err = c
            .update(key, &bars(&[1], 0.0), UpdateOptions::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::InvalidKey), "{key:?}: {err}");
        let err = c.read(key, ReadOptions::default()).await.unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::InvalidKey), "{key:?}: {err}");
        assert_eq!(
            c.delete(key).await.unwrap_err().kind(),
            Some(ErrorKind::InvalidKey)
        );
    }
    // Nothing was created next to the data directory.
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("data")]);
    assert!(c.list_keys("").await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_frames_close_only_that_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &["--max-frame", "1MiB"]);
    let mut good = server.client().await;
    good.update("g/x", &bars(&[1], 0.0), UpdateOptions::default())
        .await
        .unwrap();

    // Garbage bytes, a frame claiming 4 GiB, and a well-sized frame that is not a message.
    let claims_huge = [0xff, 0xff, 0xff, 0xff, 1, 2, 3];
    let mut not_a_message = 5u32.to_be_bytes().to_vec();
    not_a_message.extend_from_slice(&[0xfd; 5]);
    for bytes in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &claims_huge[..],
        &not_a_message[..],
    ] {
        let mut raw = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        raw.write_all(bytes).await.unwrap();
        let mut reply = Vec::new();
        // The server answers (or not) and closes: reading reaches EOF or a reset.
        let _ = raw.read_to_end(&mut reply).await;
        good.ping().await.unwrap();
    }

    // An oversized but well-formed request from a real client gets a TooLarge error.
    let ts: Vec<i64> = (0..200_000).collect();
    let mut big_client = kdfs_client::Client::connect_with(
        &server.addr,
        kdfs_client::ClientOptions {
            max_frame: 64 << 20,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let err = big_client
        .update("g/big", &bars(&ts, 0.0), UpdateOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ClientError::Server {
                kind: ErrorKind::TooLarge,
                ..
            } | ClientError::Closed
                | ClientError::Io(_)
        ),
        "{err}"
    );
    // The well-behaved client was never disturbed.
    assert_eq!(
        ints(
            &good.read("g/x", ReadOptions::default()).await.unwrap(),
            "t"
        ),
        vec![1]
    );
    assert!(good.list_keys("g/big").await.unwrap().is_empty());
}

#[tokio::test]
async fn protocol_version_mismatch_and_missing_hello() {
    use futures::{SinkExt, StreamExt};
    use kdfs_client::{ClientCodec, Request, RequestFrame, Response};
    use tokio_util::codec::Framed;

    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);

    let stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let mut framed = Framed::new(stream, ClientCodec::new());
    let hello = Request::Hello {
        version: 999,
        client: "future".into(),
        token: None,
    };
    framed
        .send(RequestFrame {
            id: 1,
            request: hello,
        })
        .await
        .unwrap();
    let reply = framed.next().await.unwrap().unwrap();
    match reply.response {
        Response::Error {
            kind: ErrorKind::Protocol,
            message,
        } => {
            assert!(
                message.contains("999") && message.contains("version"),
                "{message}"
            );
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    assert!(
        framed.next().await.is_none(),
        "the server should close after a mismatch"
    );

    let stream = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let mut framed = Framed::new(stream, ClientCodec::new());
    framed
        .send(RequestFrame {
            id: 1,
            request: Request::Ping,
        })
        .await
        .unwrap();
    let reply = framed.next().await.unwrap().unwrap();
    assert!(matches!(
        reply.response,
        Response::Error {
            kind: ErrorKind::Protocol,
            ..
        }
    ));

    // A normal client still works.
    server.client().await.ping().await.unwrap();
}

#[tokio::test]
async fn connection_limit_answers_busy() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &["--max-connections", "2"]);
    let mut a = server.client().await;
    let _b = server.client().await;
    let err = kdfs_client::Client::connect(&server.addr)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("busy") || err.to_string().contains("connection limit"),
        "{err}"
    );
    a.ping().await.unwrap();
    // A slot frees up when a client leaves.
    drop(_b);
    let mut ok = None;
    for _ in 0..100 {
        match kdfs_client::Client::connect(&server.addr).await {
            Ok(c) => {
                ok = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    ok.expect("a connection after one closed")
        .ping()
        .await
        .unwrap();
}

#[tokio::test]
async fn sql_and_klong_answer_cleanly_and_close_works() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    // Whatever the build supports, the answer is a reply, not a dropped connection.
    let _ = c.sql("SELECT 1").await;
    let _ = c.klong("1+1").await;
    c.ping().await.unwrap();
    c.close().await.unwrap();
}
