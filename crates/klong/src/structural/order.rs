//! Ordering and classifying verbs: grade, group, range.

use super::is_seq;
use crate::dict::{FastMap, Key};
use crate::error::{ErrorKind, KResult, err, type_err};
use crate::print::readable;
use crate::value::Value;
use std::cmp::Ordering;

/// Ordering for grade: numbers, chars, strings, symbols, lists; mixed kinds are errors.
pub fn grade_cmp(a: &Value, b: &Value) -> KResult<Ordering> {
    if let Some(o) = crate::arith::scalar_cmp(a, b) {
        return Ok(o);
    }
    if a.is_list() && b.is_list() {
        let (n, m) = (a.len().unwrap_or(0), b.len().unwrap_or(0));
        for i in 0..n.min(m) {
            let o = grade_cmp(&a.at(i), &b.at(i))?;
            if o != Ordering::Equal {
                return Ok(o);
            }
        }
        return Ok(n.cmp(&m));
    }
    let what = if a.is_num() {
        "number"
    } else if matches!(a, Value::Char(_)) {
        "char"
    } else if matches!(a, Value::Str(_)) {
        "string"
    } else if matches!(a, Value::Sym(_)) {
        "symbol"
    } else {
        "list"
    };
    err(
        ErrorKind::Type,
        format!("grade: expected {what}, got: {}", readable(b)),
    )
}

/// `<x` and `>x`.
pub fn grade(a: &Value, down: bool) -> KResult<Value> {
    let n = match a {
        _ if is_seq(a) => a.len().unwrap_or(0),
        _ => return type_err(if down { "grade-down" } else { "grade-up" }, &[a]),
    };
    if n == 0 {
        return Ok(Value::nil());
    }
    // Typed vectors: counting or radix sort straight to the result vector.
    let radix = match a {
        Value::Ints(v) if n < u32::MAX as usize => Some(
            crate::radix::counting_grade(v, down)
                .unwrap_or_else(|| crate::radix::radix_grade(v, crate::radix::int_key, down)),
        ),
        Value::Reals(v) if n < u32::MAX as usize => {
            Some(crate::radix::radix_grade(v, crate::radix::real_key, down))
        }
        _ => None,
    };
    if let Some(idx) = radix {
        return Ok(Value::ints(idx));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    match a {
        Value::Str(v) => idx.sort_by_key(|&i| v[i]),
        _ => {
            let items = a.items();
            try_sort_by(&mut idx, |i, j| {
                // Comparing lists can take long: a big grade must see the deadline.
                crate::watch::charge(1)?;
                grade_cmp(&items[i], &items[j])
            })?;
        }
    }
    if down {
        idx.reverse();
    }
    Ok(Value::ints(idx.into_iter().map(|i| i as i64).collect()))
}

/// Sorts `idx` stably by `cmp`, stopping at its first error.
///
/// A bottom-up merge sort rather than `sort_by`: the standard sort panics when it notices that
/// the comparison is not a total order, and grade's is not always one (integers beyond 2^53
/// compare with reals through f64, and a comparison that fails has no order at all; found by
/// the `klong_eval` fuzz target). Given such a comparison this still ends, in some order.
fn try_sort_by<F>(idx: &mut Vec<usize>, mut cmp: F) -> KResult<()>
where
    F: FnMut(usize, usize) -> KResult<Ordering>,
{
    let n = idx.len();
    let mut merged = idx.clone();
    let mut width = 1;
    while width < n {
        // Merge neighbouring sorted runs of `width` from `idx` into `merged`.
        for start in (0..n).step_by(2 * width) {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j, mut k) = (start, mid, start);
            while i < mid && j < end {
                // Ties take the left run's element first: the sort is stable.
                if cmp(idx[j], idx[i])? == Ordering::Less {
                    merged[k] = idx[j];
                    j += 1;
                } else {
                    merged[k] = idx[i];
                    i += 1;
                }
                k += 1;
            }
            merged[k..k + (mid - i)].copy_from_slice(&idx[i..mid]);
            k += mid - i;
            merged[k..end].copy_from_slice(&idx[j..end]);
        }
        std::mem::swap(idx, &mut merged);
        width *= 2;
    }
    Ok(())
}

/// `=x`.
pub fn group(a: &Value) -> KResult<Value> {
    if !is_seq(a) {
        return type_err("group", &[a]);
    }
    if let Value::Ints(v) = a
        && let Some((min, span)) = dense_keys(v)
    {
        return Ok(groups_value(group_dense(v, min, span)));
    }
    let mut groups: Vec<Vec<i64>> = Vec::new();
    match a {
        Value::Ints(v) => {
            let mut map: FastMap<i64, usize> = FastMap::default();
            for (i, &x) in v.iter().enumerate() {
                let g = *map.entry(x).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[g].push(i as i64);
            }
        }
        _ => {
            let mut map: FastMap<Key, usize> = FastMap::default();
            for (i, x) in a.items().into_iter().enumerate() {
                charge_key(&x)?;
                let g = *map.entry(Key(x)).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[g].push(i as i64);
            }
        }
    }
    Ok(groups_value(groups))
}

/// Charge hashing `x` as a key to the deadline: a list of long lists takes as long to group
/// as all their elements (21 369 lists of up to 942 integers ran 1 s past a 200 ms deadline;
/// found by the `klong_eval` fuzz target).
fn charge_key(x: &Value) -> KResult<()> {
    crate::watch::charge(1 + x.len().unwrap_or(0))
}

fn groups_value(groups: Vec<Vec<i64>>) -> Value {
    Value::list(groups.into_iter().map(Value::ints).collect())
}

/// Groups of `v` (keys `min..min + span`) through a direct table instead of hashing. Counts
/// each key first so every group is allocated once at its exact size: ~100 vectors growing by
/// doubling cost ~10% of `=x` on 1M ints.
fn group_dense(v: &[i64], min: i64, span: usize) -> Vec<Vec<i64>> {
    let mut count = vec![0u32; span];
    let mut first_seen: Vec<usize> = Vec::new();
    for &x in v {
        let k = (x - min) as usize;
        if count[k] == 0 {
            first_seen.push(k);
        }
        count[k] += 1;
    }
    // From here `count` holds each key's group number.
    let mut groups = Vec::with_capacity(first_seen.len());
    for (g, &k) in first_seen.iter().enumerate() {
        groups.push(Vec::with_capacity(count[k] as usize));
        count[k] = g as u32;
    }
    for (i, &x) in v.iter().enumerate() {
        groups[count[(x - min) as usize] as usize].push(i as i64);
    }
    groups
}

/// `Some((min, span))` when `v`'s keys are few enough for a direct table (span at most twice
/// the length, or 128 Ki), found in one pass.
fn dense_keys(v: &[i64]) -> Option<(i64, usize)> {
    let (mn, mx) = v
        .iter()
        .fold((i64::MAX, i64::MIN), |(a, b), &e| (a.min(e), b.max(e)));
    let span = (mx as i128 - mn as i128 + 1).clamp(0, usize::MAX as i128) as usize;
    (span <= v.len().max(1 << 16) * 2).then_some((mn.min(mx), span))
}

/// `?x`.
pub fn range(a: &Value) -> KResult<Value> {
    if !is_seq(a) {
        return type_err("range", &[a]);
    }
    let mut seen: std::collections::HashSet<
        Key,
        std::hash::BuildHasherDefault<crate::dict::KeyHasher>,
    > = Default::default();
    let mut out = Vec::new();
    for x in a.items() {
        charge_key(&x)?;
        if seen.insert(Key(x.clone())) {
            out.push(x);
        }
    }
    Ok(a.same_kind(out).or_empty(a))
}

trait OrEmpty {
    fn or_empty(self, like: &Value) -> Value;
}
impl OrEmpty for Value {
    fn or_empty(self, like: &Value) -> Value {
        if self.len() == Some(0) {
            like.empty_like()
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grade_of_items_that_do_not_compare_is_an_error_not_a_panic() {
        // Minimized by the `klong_eval` fuzz target: the standard sort panicked ("user-provided
        // comparison function does not correctly implement a total order").
        let program = ">[1\0\0\0\0\0\0\0\0(a+1)3l\0\0\0\0\0\0\x05];la+13";
        let e = crate::Klong::new().eval(program).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Type, "{e}");
        let e = crate::Klong::new()
            .eval("<[1 \"a\" 2 :b 3 [4] 5 0c6]")
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Type, "{e}");
    }

    #[test]
    fn dense_group_matches_the_hashed_group() {
        // Keys in first-appearance order 7, -3, 0, ...; spread out they take the hashed path.
        let keys: Vec<i64> = (0..5000i64).map(|i| (i * 7 + i / 13) % 41 - 3).collect();
        let spread: Vec<i64> = keys.iter().map(|k| k * 1_000_000_000_000).collect();
        assert!(dense_keys(&keys).is_some() && dense_keys(&spread).is_none());
        let dense = group(&Value::ints(keys.clone())).unwrap();
        let hashed = group(&Value::ints(spread)).unwrap();
        assert_eq!(format!("{dense:?}"), format!("{hashed:?}"));
        let Value::List(gs) = &dense else {
            panic!("{dense:?}")
        };
        assert_eq!(gs.len(), 41);
        let mut seen = 0;
        for g in gs.iter() {
            let Value::Ints(idx) = g else { panic!("{g:?}") };
            assert!(idx.windows(2).all(|w| w[0] < w[1]));
            assert!(
                idx.iter()
                    .all(|&i| keys[i as usize] == keys[idx[0] as usize])
            );
            seen += idx.len();
        }
        assert_eq!(seen, keys.len());
    }

    #[test]
    fn try_sort_by_is_a_stable_sort() {
        let keys: Vec<u32> = (0..1000u32)
            .map(|i| i.wrapping_mul(2_654_435_761) % 37)
            .collect();
        let mut idx: Vec<usize> = (0..keys.len()).collect();
        try_sort_by(&mut idx, |i, j| Ok(keys[i].cmp(&keys[j]))).unwrap();
        let mut expected: Vec<usize> = (0..keys.len()).collect();
        expected.sort_by_key(|&i| keys[i]);
        assert_eq!(idx, expected);
    }

    #[test]
    fn try_sort_by_ends_with_an_inconsistent_order_and_stops_at_an_error() {
        let mut idx: Vec<usize> = (0..100).collect();
        try_sort_by(&mut idx, |i, j| {
            Ok(if (i + j) % 3 == 0 {
                Ordering::Less
            } else {
                Ordering::Greater
            })
        })
        .unwrap();
        idx.sort_unstable();
        assert_eq!(idx, (0..100).collect::<Vec<_>>(), "a permutation");
        let mut calls = 0;
        let r = try_sort_by(&mut idx, |_, _| {
            calls += 1;
            err(ErrorKind::Type, "no order")
        });
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }
}
