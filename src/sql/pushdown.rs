//! Turning WHERE predicates on the index column (or its `ts` view) into an [`IndexRange`].
//!
//! Only conjunct-level predicates of the form `column op literal` (either side), `BETWEEN`,
//! and their casts are understood; anything else is left for DataFusion to evaluate.
//! A predicate is reported *exact* only when the range alone decides it, so DataFusion may
//! drop its own filter and push a LIMIT into the scan.

use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{Between, BinaryExpr, Cast, Expr, Operator, TryCast};

use super::source::IndexRange;

/// Which columns of a table map onto the frame's index, and in which unit.
#[derive(Debug, Clone)]
pub(crate) struct IndexLayout {
    /// Name of the stored index column.
    pub index: String,
    /// Unit of the stored index values; `None` for plain integers.
    pub index_unit: Option<TimeUnit>,
    /// Name of the virtual timestamp column (epoch milliseconds of an integer index), if any.
    pub ts: Option<String>,
}

/// How far a single predicate was understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The range is exactly the set of rows satisfying the predicate.
    Exact(IndexRange),
    /// The range contains every row satisfying the predicate (and maybe more).
    Inexact(IndexRange),
}

impl Pushed {
    fn range(self) -> IndexRange {
        match self {
            Pushed::Exact(r) | Pushed::Inexact(r) => r,
        }
    }
}

/// The intersection of the ranges of every understood predicate in `filters`.
pub(crate) fn combined_range(filters: &[Expr], layout: &IndexLayout) -> IndexRange {
    filters
        .iter()
        .filter_map(|f| index_predicate(f, layout))
        .fold(IndexRange::ALL, |acc, p| acc.intersect(p.range()))
}

/// The index range implied by one predicate, if it constrains the index.
pub(crate) fn index_predicate(expr: &Expr, layout: &IndexLayout) -> Option<Pushed> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => {
                // A conjunction the optimizer did not split: both sides narrow the range.
                let l = index_predicate(left, layout);
                let r = index_predicate(right, layout);
                match (l, r) {
                    (Some(Pushed::Exact(a)), Some(Pushed::Exact(b))) => {
                        Some(Pushed::Exact(a.intersect(b)))
                    }
                    (Some(a), Some(b)) => Some(Pushed::Inexact(a.range().intersect(b.range()))),
                    (Some(a), None) | (None, Some(a)) => Some(Pushed::Inexact(a.range())),
                    (None, None) => None,
                }
            }
            _ => comparison(left, *op, right, layout)
                .or_else(|| comparison(right, flip(*op)?, left, layout)),
        },
        Expr::Between(Between {
            expr,
            negated: false,
            low,
            high,
        }) => {
            let lo = comparison(expr, Operator::GtEq, low, layout)?;
            let hi = comparison(expr, Operator::LtEq, high, layout)?;
            let range = lo.range().intersect(hi.range());
            match (lo, hi) {
                (Pushed::Exact(_), Pushed::Exact(_)) => Some(Pushed::Exact(range)),
                _ => Some(Pushed::Inexact(range)),
            }
        }
        _ => None,
    }
}

/// `op` with its operands swapped (`a < b` ⇔ `b > a`), for comparison operators only.
fn flip(op: Operator) -> Option<Operator> {
    Some(match op {
        Operator::Eq => Operator::Eq,
        Operator::Lt => Operator::Gt,
        Operator::LtEq => Operator::GtEq,
        Operator::Gt => Operator::Lt,
        Operator::GtEq => Operator::LtEq,
        _ => return None,
    })
}

/// A reference to the index as seen by a predicate.
struct IndexRef {
    /// Unit of the stored values (`None` = raw integers).
    stored: Option<TimeUnit>,
    /// Unit the comparison happens in (`None` = raw integers).
    compared: Option<TimeUnit>,
    /// True when a cast sits between the column and the comparison.
    cast: bool,
}

/// Recognises the index column, the `ts` column, or a cast of either.
fn index_ref(expr: &Expr, layout: &IndexLayout) -> Option<IndexRef> {
    match expr {
        Expr::Column(c) if c.name == layout.index => Some(IndexRef {
            stored: layout.index_unit,
            compared: layout.index_unit,
            cast: false,
        }),
        // The ts column holds the raw index values reinterpreted as milliseconds.
        Expr::Column(c) if layout.ts.as_deref() == Some(c.name.as_str()) => Some(IndexRef {
            stored: Some(TimeUnit::Millisecond),
            compared: Some(TimeUnit::Millisecond),
            cast: false,
        }),
        Expr::Cast(Cast { expr, field }) => cast_ref(expr, field.data_type(), layout),
        Expr::TryCast(TryCast { expr, field }) => cast_ref(expr, field.data_type(), layout),
        _ => None,
    }
}

fn cast_ref(inner: &Expr, to: &DataType, layout: &IndexLayout) -> Option<IndexRef> {
    let base = index_ref(inner, layout)?;
    let compared = match to {
        // Integer → timestamp reinterprets the raw value in the target unit; timestamp →
        // timestamp rescales. Both are monotone, so ranges carry over.
        DataType::Timestamp(unit, _) => base.stored.map(|_| *unit),
        // Timestamp → Int64 exposes the raw value.
        DataType::Int64 => None,
        _ => return None,
    };
    let stored = match (base.stored, compared) {
        (Some(s), Some(_)) => Some(s),
        _ => None,
    };
    Some(IndexRef {
        stored,
        compared,
        cast: true,
    })
}

/// An integer or timestamp literal as (raw value, unit).
fn literal(expr: &Expr) -> Option<(i64, Option<TimeUnit>)> {
    let Expr::Literal(v, _) = expr else {
        return None;
    };
    let ts = |v: &Option<i64>, u| v.map(|v| (v, Some(u)));
    match v {
        ScalarValue::Int8(v) => v.map(|v| (i64::from(v), None)),
        ScalarValue::Int16(v) => v.map(|v| (i64::from(v), None)),
        ScalarValue::Int32(v) => v.map(|v| (i64::from(v), None)),
        ScalarValue::Int64(v) => v.map(|v| (v, None)),
        ScalarValue::UInt8(v) => v.map(|v| (i64::from(v), None)),
        ScalarValue::UInt16(v) => v.map(|v| (i64::from(v), None)),
        ScalarValue::UInt32(v) => v.map(|v| (i64::from(v), None)),
        ScalarValue::UInt64(v) => v.and_then(|v| i64::try_from(v).ok()).map(|v| (v, None)),
        ScalarValue::TimestampSecond(v, _) => ts(v, TimeUnit::Second),
        ScalarValue::TimestampMillisecond(v, _) => ts(v, TimeUnit::Millisecond),
        ScalarValue::TimestampMicrosecond(v, _) => ts(v, TimeUnit::Microsecond),
        ScalarValue::TimestampNanosecond(v, _) => ts(v, TimeUnit::Nanosecond),
        _ => None,
    }
}

fn nanos_per(u: TimeUnit) -> i64 {
    match u {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

/// `col op lit` where `col` is an index reference and `lit` a literal.
fn comparison(col: &Expr, op: Operator, lit: &Expr, layout: &IndexLayout) -> Option<Pushed> {
    let r = index_ref(col, layout)?;
    let (value, lit_unit) = literal(lit)?;
    // The literal's own unit wins when it has one: that is what the comparison sees.
    let compared = lit_unit.or(r.compared);
    // Express "stored * scale op value" with the literal scaled into stored units where it is
    // coarser, or the stored value scaled up (`finer`) where the literal is finer.
    let (value, finer) = match (r.stored, compared) {
        (Some(s), Some(c)) => {
            let (ns, nc) = (nanos_per(s), nanos_per(c));
            if nc >= ns {
                (value.checked_mul(nc / ns)?, 1)
            } else {
                (value, ns / nc)
            }
        }
        _ => (value, 1),
    };
    let range = bound(op, value, finer)?;
    Some(if r.cast || finer != 1 {
        Pushed::Inexact(range)
    } else {
        Pushed::Exact(range)
    })
}

/// The stored-value range satisfying `stored * f op v` (f ≥ 1), computed without rounding loss.
fn bound(op: Operator, v: i64, f: i64) -> Option<IndexRange> {
    let floor = v.div_euclid(f);
    let ceil = floor.checked_add(i64::from(v.rem_euclid(f) != 0))?;
    let (start, end) = match op {
        Operator::GtEq => (Some(ceil), None),
        Operator::Gt => (Some(floor.checked_add(1)?), None),
        Operator::LtEq => (None, Some(floor)),
        Operator::Lt => (None, Some(ceil.checked_sub(1)?)),
        Operator::Eq if v.rem_euclid(f) == 0 => (Some(floor), Some(floor)),
        // No stored value scales to exactly v: the empty range.
        Operator::Eq => (Some(1), Some(0)),
        _ => return None,
    };
    Some(IndexRange { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    fn layout() -> IndexLayout {
        IndexLayout {
            index: "t".into(),
            index_unit: None,
            ts: Some("ts".into()),
        }
    }

    fn r(start: Option<i64>, end: Option<i64>) -> IndexRange {
        IndexRange { start, end }
    }

    #[test]
    fn integer_comparisons_are_exact() {
        let l = layout();
        assert_eq!(
            index_predicate(&col("t").gt_eq(lit(10i64)), &l),
            Some(Pushed::Exact(r(Some(10), None)))
        );
        assert_eq!(
            index_predicate(&col("t").gt(lit(10i64)), &l),
            Some(Pushed::Exact(r(Some(11), None)))
        );
        assert_eq!(
            index_predicate(&col("t").lt(lit(10i64)), &l),
            Some(Pushed::Exact(r(None, Some(9))))
        );
        assert_eq!(
            index_predicate(&lit(10i64).lt(col("t")), &l),
            Some(Pushed::Exact(r(Some(11), None)))
        );
        assert_eq!(
            index_predicate(&col("t").eq(lit(7i32)), &l),
            Some(Pushed::Exact(r(Some(7), Some(7))))
        );
        assert_eq!(
            index_predicate(&col("t").between(lit(3i64), lit(5i64)), &l),
            Some(Pushed::Exact(r(Some(3), Some(5))))
        );
        assert_eq!(index_predicate(&col("x").gt(lit(1i64)), &l), None);
        assert_eq!(index_predicate(&col("t").not_eq(lit(1i64)), &l), None);
        assert_eq!(
            index_predicate(&col("t").gt(lit(1i64)).or(col("t").lt(lit(0i64))), &l),
            None
        );
    }

    #[test]
    fn ts_literals_in_other_units_round_safely() {
        let l = layout();
        let ns = |v| lit(ScalarValue::TimestampNanosecond(Some(v), None));
        // ts >= 1.5 ms → first whole millisecond at or after is 2.
        assert_eq!(
            index_predicate(&col("ts").gt_eq(ns(1_500_000)), &l),
            Some(Pushed::Inexact(r(Some(2), None)))
        );
        // ts < 1.5 ms → at most 1.
        assert_eq!(
            index_predicate(&col("ts").lt(ns(1_500_000)), &l),
            Some(Pushed::Inexact(r(None, Some(1))))
        );
        // ts = 1.5 ms never holds.
        assert!(
            index_predicate(&col("ts").eq(ns(1_500_000)), &l).is_some_and(|p| p.range().is_empty())
        );
        let s = lit(ScalarValue::TimestampSecond(Some(2), None));
        assert_eq!(
            index_predicate(&col("ts").lt_eq(s), &l),
            Some(Pushed::Exact(r(None, Some(2000))))
        );
        let ms = lit(ScalarValue::TimestampMillisecond(Some(5), None));
        assert_eq!(
            index_predicate(&col("ts").gt(ms), &l),
            Some(Pushed::Exact(r(Some(6), None)))
        );
    }

    #[test]
    fn combined_ranges_intersect() {
        let l = layout();
        let filters = vec![
            col("t").gt_eq(lit(10i64)),
            col("x").gt(lit(0i64)),
            col("t").lt(lit(20i64)),
        ];
        assert_eq!(combined_range(&filters, &l), r(Some(10), Some(19)));
    }
}
