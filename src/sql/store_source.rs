//! The frame store as the SQL engine's [`FrameSource`] and server-side Klong's [`FrameSink`].

use std::sync::Arc;

use arrow::array::RecordBatch;
use kdfs_store::{FrameStore, KeyInfo, KeyPath, RangeFilter, StoreError, UpdateMode};

use super::source::{BatchIter, FrameMeta, FrameSource, IndexRange, SourceError};
use crate::query::{FrameSink, SinkError};

/// A [`FrameStore`] seen through the [`FrameSource`] and [`FrameSink`] traits.
#[derive(Clone)]
pub struct StoreFrames {
    store: Arc<FrameStore>,
}

impl std::fmt::Debug for StoreFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreFrames")
            .field("dir", &self.store.dir())
            .finish()
    }
}

impl StoreFrames {
    /// Wraps `store`.
    pub fn new(store: Arc<FrameStore>) -> Self {
        Self { store }
    }

    /// The wrapped store.
    pub fn store(&self) -> &Arc<FrameStore> {
        &self.store
    }
}

fn meta_of(info: KeyInfo) -> FrameMeta {
    FrameMeta {
        key: info.key.as_str().to_string(),
        schema: info.schema,
        index_column: info.index_column,
        rows: info.rows,
        index_min: info.first,
        index_max: info.last,
    }
}

fn source_error(key: &str, e: StoreError) -> SourceError {
    match e {
        StoreError::NotFound { .. } => SourceError::NotFound {
            key: key.to_string(),
        },
        other => SourceError::Storage {
            key: key.to_string(),
            message: other.to_string(),
        },
    }
}

impl FrameSource for StoreFrames {
    fn list(&self, prefix: &str) -> Vec<FrameMeta> {
        self.store.keys(prefix).into_iter().map(meta_of).collect()
    }

    fn meta(&self, key: &str) -> Option<FrameMeta> {
        let key = KeyPath::parse(key).ok()?;
        self.store.info(&key).ok().map(meta_of)
    }

    fn scan(
        &self,
        key: &str,
        range: IndexRange,
        projection: Option<&[String]>,
        limit: Option<usize>,
    ) -> Result<BatchIter, SourceError> {
        let path = KeyPath::parse(key).map_err(|_| SourceError::NotFound {
            key: key.to_string(),
        })?;
        if range.is_empty() || limit == Some(0) {
            return Ok(Box::new(std::iter::empty()));
        }
        let filter = RangeFilter {
            start: range.start,
            end: range.end,
        };
        let data = self
            .store
            .read(&path, filter, projection)
            .map_err(|e| source_error(key, e))?;
        let mut remaining = limit.unwrap_or(usize::MAX);
        let mut out = Vec::with_capacity(data.batches.len());
        for b in data.batches {
            if remaining == 0 {
                break;
            }
            let b = if b.num_rows() > remaining {
                b.slice(0, remaining)
            } else {
                b
            };
            remaining -= b.num_rows();
            out.push(Ok(b));
        }
        Ok(Box::new(out.into_iter()))
    }
}

#[async_trait::async_trait]
impl FrameSink for StoreFrames {
    async fn upsert(
        &self,
        key: &str,
        index_column: &str,
        batch: RecordBatch,
    ) -> Result<u64, SinkError> {
        let path = KeyPath::parse(key).map_err(|e| SinkError::Rejected {
            key: key.to_string(),
            message: e.to_string(),
        })?;
        let outcome = self
            .store
            .update(&path, index_column, batch, UpdateMode::Upsert)
            .await
            .map_err(|e| {
                if e.is_user_error() {
                    SinkError::Rejected {
                        key: key.to_string(),
                        message: e.to_string(),
                    }
                } else {
                    SinkError::Storage {
                        key: key.to_string(),
                        message: e.to_string(),
                    }
                }
            })?;
        Ok(outcome.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Float64Array, Int64Array};
    use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
    use futures::StreamExt;

    use crate::sql::{EngineLimits, SqlEngine};

    fn batch(ts: &[i64], cs: &[f64]) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("t", DataType::Int64, false),
            Field::new("c", DataType::Float64, false),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(ts.to_vec())),
                Arc::new(Float64Array::from(cs.to_vec())),
            ],
        )
        .unwrap()
    }

    fn open() -> (tempfile::TempDir, StoreFrames) {
        let dir = tempfile::tempdir().unwrap();
        let store = FrameStore::open(dir.path(), Default::default()).unwrap();
        (dir, StoreFrames::new(store))
    }

    #[tokio::test]
    async fn store_frames_list_scan_and_upsert() {
        let (_dir, frames) = open();
        let rows = frames
            .upsert("a/b/X", "t", batch(&[1, 2, 3], &[1.0, 2.0, 3.0]))
            .await
            .unwrap();
        assert_eq!(rows, 3);
        let rows = frames
            .upsert("a/b/X", "t", batch(&[3, 4], &[30.0, 4.0]))
            .await
            .unwrap();
        assert_eq!(rows, 4);
        frames
            .upsert("a/c/Y", "t", batch(&[10], &[5.0]))
            .await
            .unwrap();
        let listed: Vec<String> = frames.list("a/b").into_iter().map(|m| m.key).collect();
        assert_eq!(listed, ["a/b/X"]);
        assert_eq!(frames.list("").len(), 2);
        let m = frames.meta("a/b/X").unwrap();
        assert_eq!((m.rows, m.index_min, m.index_max), (4, Some(1), Some(4)));
        assert!(frames.meta("a/b/none").is_none());
        assert!(frames.meta("../bad").is_none());
        let range = IndexRange {
            start: Some(2),
            end: Some(3),
        };
        let got: Vec<f64> = frames
            .scan("a/b/X", range, Some(&["c".to_string()]), None)
            .unwrap()
            .flat_map(|b| {
                b.unwrap()
                    .column(0)
                    .as_primitive::<Float64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(got, [2.0, 30.0]);
        let limited: usize = frames
            .scan("a/b/X", IndexRange::ALL, None, Some(3))
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(limited, 3);
        assert!(matches!(
            frames.scan("a/b/none", IndexRange::ALL, None, None),
            Err(SourceError::NotFound { .. })
        ));
        let e = frames
            .upsert("a/b/X", "t", {
                let schema = Schema::new(vec![
                    Field::new("t", DataType::Int64, false),
                    Field::new("c", DataType::Int64, false),
                ]);
                RecordBatch::try_new(
                    Arc::new(schema),
                    vec![
                        Arc::new(Int64Array::from(vec![9])),
                        Arc::new(Int64Array::from(vec![9])),
                    ],
                )
                .unwrap()
            })
            .await
            .unwrap_err();
        assert!(matches!(e, SinkError::Rejected { .. }), "{e}");
        assert!(matches!(
            frames.upsert("/bad", "t", batch(&[1], &[1.0])).await,
            Err(SinkError::Rejected { .. })
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sql_runs_over_the_store() {
        let (_dir, frames) = open();
        for (k, base) in [("m/AAPL", 100.0), ("m/MSFT", 200.0)] {
            let ts: Vec<i64> = (0..100).collect();
            let cs: Vec<f64> = ts.iter().map(|t| base + *t as f64).collect();
            frames.upsert(k, "t", batch(&ts, &cs)).await.unwrap();
        }
        let limits = EngineLimits {
            target_partitions: 2,
            ..EngineLimits::default()
        };
        let engine = SqlEngine::new(Arc::new(frames), limits).unwrap();
        let mut s = engine
            .execute(
                "select key, count(*) as n, sum(c) as s from frames('m/') \
                 where t between 10 and 19 group by key order by key",
            )
            .await
            .unwrap();
        let mut rows = Vec::new();
        while let Some(b) = s.next().await {
            let b = b.unwrap();
            for i in 0..b.num_rows() {
                rows.push((
                    b.column(1).as_primitive::<Int64Type>().value(i),
                    b.column(2).as_primitive::<Float64Type>().value(i),
                ));
            }
        }
        let want = |base: f64| (10..20).map(|t| base + t as f64).sum::<f64>();
        assert_eq!(rows, [(10, want(100.0)), (10, want(200.0))]);
    }
}
