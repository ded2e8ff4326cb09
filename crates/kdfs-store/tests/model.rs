//! Property test: any sequence of updates reads back like a simple ordered-map model, before and
//! after compaction and across reopening (with and without shutdown).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array};
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use kdfs_store::{FrameStore, KeyPath, RangeFilter, StoreConfig, UpdateMode};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Update {
        rows: Vec<(i64, i64)>,
        upsert: bool,
        with_b: bool,
    },
    Compact,
    Reopen {
        shutdown: bool,
    },
    Read {
        lo: i64,
        hi: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop::collection::vec((0i64..60, -5i64..5), 0..12), any::<bool>(), any::<bool>())
            .prop_map(|(rows, upsert, with_b)| Op::Update { rows, upsert, with_b }),
        1 => Just(Op::Compact),
        1 => any::<bool>().prop_map(|shutdown| Op::Reopen { shutdown }),
        2 => (0i64..60, 0i64..60).prop_map(|(lo, hi)| Op::Read { lo, hi }),
    ]
}

type Model = BTreeMap<i64, (i64, Option<i64>)>;

fn batch(rows: &[(i64, i64)], with_b: bool) -> RecordBatch {
    let mut cols = vec![
        (
            "t",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))) as ArrayRef,
        ),
        (
            "a",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))) as ArrayRef,
        ),
    ];
    if with_b {
        cols.push((
            "b",
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1 * 10))) as ArrayRef,
        ));
    }
    RecordBatch::try_from_iter(cols).unwrap()
}

fn read_all(s: &FrameStore, k: &KeyPath, lo: i64, hi: i64) -> Vec<(i64, i64, Option<i64>)> {
    let Ok(d) = s.read(k, RangeFilter::between(lo, hi), None) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for b in &d.batches {
        let t = arrow::array::as_primitive_array::<Int64Type>(b.column_by_name("t").unwrap());
        let a = arrow::array::as_primitive_array::<Int64Type>(b.column_by_name("a").unwrap());
        let bcol = b
            .column_by_name("b")
            .map(|c| arrow::array::as_primitive_array::<Int64Type>(c).clone());
        for i in 0..b.num_rows() {
            let bv = bcol
                .as_ref()
                .and_then(|c| c.is_valid(i).then(|| c.value(i)));
            out.push((t.value(i), a.value(i), bv));
        }
    }
    out
}

fn expected(m: &Model, lo: i64, hi: i64) -> Vec<(i64, i64, Option<i64>)> {
    if lo > hi {
        return Vec::new();
    }
    m.range(lo..=hi).map(|(t, (a, b))| (*t, *a, *b)).collect()
}

fn open(dir: &Path, budget: u64) -> Arc<FrameStore> {
    let config = StoreConfig {
        memory_budget: budget,
        compact_after_rows: 20,
        ..StoreConfig::default()
    };
    FrameStore::open(dir, config).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn updates_match_a_model(ops in prop::collection::vec(op(), 1..25), tiny_budget in any::<bool>()) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let budget = if tiny_budget { 1 } else { 1 << 30 };
        let k = KeyPath::parse("p/q").unwrap();
        let mut store = open(dir.path(), budget);
        let mut model = Model::new();
        for op in ops {
            match op {
                Op::Update { rows, upsert, with_b } => {
                    let mode = if upsert { UpdateMode::Upsert } else { UpdateMode::Append };
                    let before = model.len() as u64;
                    let (mut ins, mut rep, mut ign) = (0, 0, 0);
                    for (t, a) in &rows {
                        let v = (*a, with_b.then_some(a * 10));
                        match (model.contains_key(t), upsert) {
                            (false, _) => { model.insert(*t, v); ins += 1; }
                            (true, true) => { model.insert(*t, v); rep += 1; }
                            (true, false) => ign += 1,
                        }
                    }
                    let o = store.update_blocking(&k, "t", batch(&rows, with_b), mode).unwrap();
                    prop_assert_eq!((o.inserted, o.replaced, o.ignored), (ins, rep, ign));
                    prop_assert_eq!(o.rows, before + ins);
                }
                Op::Compact => rt.block_on(store.compact_now()).unwrap(),
                Op::Reopen { shutdown } => {
                    if shutdown {
                        store.shutdown().unwrap();
                    }
                    drop(store);
                    store = open(dir.path(), budget);
                }
                Op::Read { lo, hi } => {
                    prop_assert_eq!(read_all(&store, &k, lo, hi), expected(&model, lo, hi));
                }
            }
        }
        prop_assert_eq!(read_all(&store, &k, i64::MIN, i64::MAX), expected(&model, i64::MIN, i64::MAX));
        rt.block_on(store.compact_now()).unwrap();
        prop_assert_eq!(read_all(&store, &k, i64::MIN, i64::MAX), expected(&model, i64::MIN, i64::MAX));
        drop(store);
        let store = open(dir.path(), budget);
        prop_assert_eq!(read_all(&store, &k, i64::MIN, i64::MAX), expected(&model, i64::MIN, i64::MAX));
        if let Ok(info) = store.info(&k) {
            prop_assert_eq!(info.rows, model.len() as u64);
        }
    }
}
