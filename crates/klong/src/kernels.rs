//! Fused reductions and scans of built-in verbs over typed vectors.

use crate::ast::Op;
use crate::value::Value;

/// `op/x` for typed vectors; `None` when no kernel applies (the caller folds generically).
pub fn reduce(op: Op, x: &Value) -> Option<Value> {
    match x {
        Value::Ints(v) if !v.is_empty() => match op {
            Op::Plus => {
                // If n * max|e| fits in i64 no partial sum can overflow, so a wrapping
                // (vectorizable) sum is exact; otherwise sum in i128 and promote if needed.
                let (mn, mx) = v
                    .iter()
                    .fold((i64::MAX, i64::MIN), |(a, b), &e| (a.min(e), b.max(e)));
                let bound = (mn.unsigned_abs().max(mx.unsigned_abs()) as u128) * v.len() as u128;
                if bound <= i64::MAX as u128 {
                    Some(Value::Int(v.iter().fold(0i64, |a, &e| a.wrapping_add(e))))
                } else {
                    let s: i128 = v.iter().map(|&e| e as i128).sum();
                    Some(match i64::try_from(s) {
                        Ok(i) => Value::Int(i),
                        Err(_) => Value::big(num_bigint::BigInt::from(s)),
                    })
                }
            }
            Op::Star => {
                let mut acc: i64 = 1;
                for &e in v.iter() {
                    acc = acc.checked_mul(e)?;
                }
                Some(Value::Int(acc))
            }
            Op::Bar => v.iter().copied().max().map(Value::Int),
            Op::Amp => v.iter().copied().min().map(Value::Int),
            _ => None,
        },
        Value::Reals(v) if !v.is_empty() => match op {
            Op::Plus => Some(Value::Real(v.iter().sum())),
            Op::Star => Some(Value::Real(v.iter().product())),
            Op::Bar => Some(Value::Real(
                v.iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, |a, b| if b > a { b } else { a }),
            )),
            Op::Amp => Some(Value::Real(
                v.iter()
                    .copied()
                    .fold(f64::INFINITY, |a, b| if b < a { b } else { a }),
            )),
            _ => None,
        },
        _ => None,
    }
}

/// `op\x` for typed vectors.
pub fn scan(op: Op, x: &Value) -> Option<Value> {
    match x {
        Value::Ints(v) if !v.is_empty() => {
            let mut out = Vec::with_capacity(v.len());
            let mut acc = v[0];
            out.push(acc);
            for &e in &v[1..] {
                acc = match op {
                    Op::Plus => acc.checked_add(e)?,
                    Op::Star => acc.checked_mul(e)?,
                    Op::Bar => acc.max(e),
                    Op::Amp => acc.min(e),
                    _ => return None,
                };
                out.push(acc);
            }
            Some(Value::ints(out))
        }
        Value::Reals(v) if !v.is_empty() => {
            let mut out = Vec::with_capacity(v.len());
            let mut acc = v[0];
            out.push(acc);
            for &e in &v[1..] {
                acc = match op {
                    Op::Plus => acc + e,
                    Op::Star => acc * e,
                    Op::Bar => {
                        if e > acc {
                            e
                        } else {
                            acc
                        }
                    }
                    Op::Amp => {
                        if e < acc {
                            e
                        } else {
                            acc
                        }
                    }
                    _ => return None,
                };
                out.push(acc);
            }
            Some(Value::reals(out))
        }
        _ => None,
    }
}
