//! End-to-end tests of pipelined requests: many updates in flight on one connection, answered
//! in request order, an error failing only its own request.

mod common;

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use common::{ServerProc, bars, floats, ints};
use kdfs_client::{ClientError, ErrorKind, ReadOptions, Request, Response, UpdateOptions};

/// A batch whose `c` column is a string: conflicts with frames where `c` is Float64.
fn conflicting(t: i64) -> RecordBatch {
    RecordBatch::try_from_iter(vec![
        ("t", Arc::new(Int64Array::from(vec![t])) as ArrayRef),
        ("c", Arc::new(StringArray::from(vec!["x"])) as ArrayRef),
    ])
    .unwrap()
}

fn upsert() -> UpdateOptions {
    UpdateOptions {
        upsert: true,
        ..UpdateOptions::default()
    }
}

#[tokio::test]
async fn update_many_answers_in_order_and_applies_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;

    // More updates than the window, so the pipeline has to slide. Each row is new, so the
    // `rows` of each answer counts up: the answers come back in request order.
    let batches: Vec<RecordBatch> = (0..300).map(|t| bars(&[t], 0.0)).collect();
    let results = c
        .update_many("p/AAPL", &batches, UpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(results.len(), 300);
    for (i, r) in results.iter().enumerate() {
        let s = r.as_ref().unwrap();
        assert_eq!((s.inserted, s.rows), (1, i as u64 + 1), "answer {i}");
    }

    // Upserts of the same row: applied in request order, so the last one wins.
    let same_row: Vec<RecordBatch> = (0..100).map(|v| bars(&[7], v as f64)).collect();
    let results = c.update_many("p/AAPL", &same_row, upsert()).await.unwrap();
    assert!(results.iter().all(|r| r.as_ref().unwrap().replaced == 1));
    let all = c.read("p/AAPL", ReadOptions::default()).await.unwrap();
    assert_eq!(ints(&all, "t"), (0..300).collect::<Vec<_>>());
    assert_eq!(floats(&all, "c")[7], Some(7.0 * 1.5 + 99.0));
    assert!(!c.is_abandoned());

    // A pipeline dropped before `finish` leaves answers on the wire: the pool must retire the
    // connection. The client itself still skips the stale answers by id.
    let mut pipeline = c.pipeline();
    pipeline
        .update("p/AAPL", &bars(&[1000], 0.0), &UpdateOptions::default())
        .await
        .unwrap();
    drop(pipeline);
    assert!(c.is_abandoned());
    c.ping().await.unwrap();
    assert!(!c.is_abandoned());
}

#[tokio::test]
async fn an_error_in_the_middle_fails_only_its_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;

    let mut batches: Vec<RecordBatch> = (0..10).map(|t| bars(&[t], 0.0)).collect();
    batches[5] = conflicting(5);
    let results = c
        .update_many("p/MSFT", &batches, UpdateOptions::default())
        .await
        .unwrap();
    assert_eq!(results.len(), 10);
    for (i, r) in results.iter().enumerate() {
        match (i, r) {
            (
                5,
                Err(ClientError::Server {
                    kind: ErrorKind::Conflict,
                    ..
                }),
            ) => {}
            (5, other) => panic!("update 5 should conflict, got {other:?}"),
            (_, Ok(s)) => assert_eq!(s.inserted, 1, "answer {i}"),
            (_, Err(e)) => panic!("update {i} failed: {e}"),
        }
    }
    // The connection is still usable, and holds every row but the refused one.
    c.ping().await.unwrap();
    let all = c.read("p/MSFT", ReadOptions::default()).await.unwrap();
    assert_eq!(ints(&all, "t"), vec![0, 1, 2, 3, 4, 6, 7, 8, 9]);
}

#[tokio::test]
async fn mixed_pipeline_keeps_request_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;

    let mut p = c.pipeline();
    p.update("p/X", &bars(&[1], 0.0), &UpdateOptions::default())
        .await
        .unwrap();
    p.push(Request::Ping).await.unwrap();
    // Served after the update before it is answered: it sees the frame.
    p.push(Request::ListKeys {
        prefix: "p/".into(),
    })
    .await
    .unwrap();
    p.push(Request::Delete {
        key: "p/missing".into(),
    })
    .await
    .unwrap();
    p.update("p/X", &bars(&[2], 0.0), &UpdateOptions::default())
        .await
        .unwrap();
    // Streamed answers cannot be pipelined; refusing one sends nothing.
    let refused = p
        .push(Request::Read {
            key: "p/X".into(),
            start: None,
            end: None,
            columns: None,
            rows: None,
        })
        .await;
    assert!(matches!(refused, Err(ClientError::Protocol(_))));
    assert_eq!(p.len(), 5);
    let answers = p.finish().await;
    assert_eq!(answers.len(), 5);
    assert!(matches!(answers[0], Ok(Response::Updated { rows: 1, .. })));
    assert!(matches!(answers[1], Ok(Response::Pong)));
    match &answers[2] {
        Ok(Response::Keys { keys }) => assert_eq!(keys.len(), 1),
        other => panic!("expected keys, got {other:?}"),
    }
    assert!(matches!(
        answers[3],
        Err(ClientError::Server {
            kind: ErrorKind::NotFound,
            ..
        })
    ));
    assert!(matches!(answers[4], Ok(Response::Updated { rows: 2, .. })));
    c.ping().await.unwrap();
}

#[tokio::test]
async fn pipelined_updates_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    let batches: Vec<RecordBatch> = (0..200).map(|t| bars(&[t], 0.0)).collect();
    for r in c
        .update_many("p/live", &batches, UpdateOptions::default())
        .await
        .unwrap()
    {
        r.unwrap();
    }
    // Acknowledged means durable: a SIGKILL loses none of them.
    server.kill9();
    let server = ServerProc::start(dir.path(), &[]);
    let mut c = server.client().await;
    let all = c.read("p/live", ReadOptions::default()).await.unwrap();
    assert_eq!(ints(&all, "t"), (0..200).collect::<Vec<_>>());
}
