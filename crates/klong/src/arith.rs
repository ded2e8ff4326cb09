//! Atomic (pervasive) verbs: scalar rules, extension over lists, and typed-vector kernels.

use crate::ast::Op;
use crate::error::{ErrorKind, KResult, err, type_err};
use crate::intkern::{self, Arg, Place};
use crate::value::Value;
use num_bigint::BigInt;
use num_traits::{ToPrimitive, Zero};
use std::cmp::Ordering;

/// Name of an atomic dyad for messages.
pub fn dyad_name(op: Op) -> &'static str {
    match op {
        Op::Plus => "plus",
        Op::Minus => "minus",
        Op::Star => "times",
        Op::Percent => "divide",
        Op::Caret => "power",
        Op::Bang => "rem",
        Op::CPercent => "integer-divide",
        Op::Bar => "max",
        Op::Amp => "min",
        Op::Equal => "equal",
        Op::Less => "less",
        Op::More => "more",
        _ => "op",
    }
}

fn is_nil(v: &Value) -> bool {
    matches!(v, Value::List(x) if x.is_empty())
}

/// Apply an atomic dyad with Klong's extension rules.
pub fn atomic2(op: Op, a: &Value, b: &Value) -> KResult<Value> {
    if let Some(v) = fast2(op, a, b) {
        return Ok(v);
    }
    let (la, lb) = (a.is_list() && !a.is_atom(), b.is_list() && !b.is_atom());
    // `[]` acts as an empty vector in arithmetic (documented deviation from nmh).
    if (is_nil(a) && (is_nil(b) || !b.is_list())) || (is_nil(b) && !a.is_list()) {
        return Ok(Value::nil());
    }
    match (la || is_nil(a) && lb, lb || is_nil(b) && la) {
        (false, false) => scalar2(op, a, b),
        (true, true) => {
            let n = a.len().unwrap_or(0);
            if n != b.len().unwrap_or(0) {
                return err(
                    ErrorKind::Shape,
                    format!(
                        "{}: shape error: [{} {}]",
                        dyad_name(op),
                        crate::print::readable(a),
                        crate::print::readable(b)
                    ),
                );
            }
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                crate::watch::charge(1)?;
                out.push(atomic2(op, &a.at(i), &b.at(i))?);
            }
            Ok(Value::list(out))
        }
        (true, false) => {
            let n = a.len().unwrap_or(0);
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                crate::watch::charge(1)?;
                out.push(atomic2(op, &a.at(i), b)?);
            }
            Ok(Value::list(out))
        }
        (false, true) => {
            let n = b.len().unwrap_or(0);
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                crate::watch::charge(1)?;
                out.push(atomic2(op, a, &b.at(i))?);
            }
            Ok(Value::list(out))
        }
    }
}

enum Side<'a, T> {
    V(&'a [T]),
    S(T),
}

impl<T: Copy> Side<'_, T> {
    fn get(&self, i: usize) -> T {
        match self {
            Side::V(v) => v[i],
            Side::S(s) => *s,
        }
    }
    fn len(&self) -> Option<usize> {
        match self {
            Side::V(v) => Some(v.len()),
            Side::S(_) => None,
        }
    }
}

fn fast2(op: Op, a: &Value, b: &Value) -> Option<Value> {
    use Value::*;
    match (a, b) {
        (Ints(x), Ints(y)) if x.len() == y.len() => ii(op, Side::V(x), Side::V(y), x.len()),
        (Ints(x), Int(y)) => ii(op, Side::V(x), Side::S(*y), x.len()),
        (Int(x), Ints(y)) => ii(op, Side::S(*x), Side::V(y), y.len()),
        (Reals(x), Reals(y)) if x.len() == y.len() => ff(op, Side::V(x), Side::V(y), x.len(), true),
        (Reals(x), Real(y)) => ff(op, Side::V(x), Side::S(*y), x.len(), true),
        (Real(x), Reals(y)) => ff(op, Side::S(*x), Side::V(y), y.len(), true),
        (Reals(x), Int(y)) => ff(op, Side::V(x), Side::S(*y as f64), x.len(), false),
        (Int(x), Reals(y)) => ff(op, Side::S(*x as f64), Side::V(y), y.len(), false),
        (Ints(x), Real(y)) => {
            let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            ff(op, Side::V(&xf), Side::S(*y), x.len(), false)
        }
        (Real(x), Ints(y)) => {
            let yf: Vec<f64> = y.iter().map(|&v| v as f64).collect();
            ff(op, Side::S(*x), Side::V(&yf), y.len(), false)
        }
        (Ints(x), Reals(y)) if x.len() == y.len() => {
            let xf: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            ff(op, Side::V(&xf), Side::V(y), y.len(), false)
        }
        (Reals(x), Ints(y)) if x.len() == y.len() => {
            let yf: Vec<f64> = y.iter().map(|&v| v as f64).collect();
            ff(op, Side::V(x), Side::V(&yf), x.len(), false)
        }
        _ => None,
    }
}

/// Element-wise map over two sides with the broadcast case hoisted out of the loop, so the
/// compiler can vectorize each specialised loop.
fn zip_map<T: Copy, U>(x: &Side<T>, y: &Side<T>, n: usize, mut f: impl FnMut(T, T) -> U) -> Vec<U> {
    match (x, y) {
        (Side::V(a), Side::V(b)) => a.iter().zip(b.iter()).map(|(&p, &q)| f(p, q)).collect(),
        (Side::V(a), Side::S(q)) => a.iter().map(|&p| f(p, *q)).collect(),
        (Side::S(p), Side::V(b)) => b.iter().map(|&q| f(*p, q)).collect(),
        (Side::S(p), Side::S(q)) => (0..n).map(|_| f(*p, *q)).collect(),
    }
}

fn side_arg<'a>(s: &Side<'a, i64>) -> Arg<'a> {
    match s {
        Side::V(v) => Arg::V(v),
        Side::S(e) => Arg::S(*e),
    }
}

fn ii(op: Op, x: Side<i64>, y: Side<i64>, n: usize) -> Option<Value> {
    let _ = (x.len(), y.len());
    let b = |v: Vec<bool>| Value::ints(v.into_iter().map(|b| b as i64).collect());
    match op {
        Op::Plus | Op::Minus | Op::Star => {
            intkern::checked(op, side_arg(&x), side_arg(&y)).map(Value::ints)
        }
        Op::Bar => Some(Value::ints(zip_map(&x, &y, n, |a, b| a.max(b)))),
        Op::Amp => Some(Value::ints(zip_map(&x, &y, n, |a, b| a.min(b)))),
        Op::Equal => Some(b(zip_map(&x, &y, n, |a, b| a == b))),
        Op::Less => Some(b(zip_map(&x, &y, n, |a, b| a < b))),
        Op::More => Some(b(zip_map(&x, &y, n, |a, b| a > b))),
        Op::Percent => {
            if (0..n).any(|i| y.get(i) == 0) {
                return None;
            }
            Some(Value::reals(zip_map(&x, &y, n, |a, b| a as f64 / b as f64)))
        }
        Op::Bang | Op::CPercent => {
            if (0..n).any(|i| y.get(i) == 0 || (y.get(i) == -1 && x.get(i) == i64::MIN)) {
                return None;
            }
            Some(Value::ints(if op == Op::Bang {
                zip_map(&x, &y, n, |a, b| a % b)
            } else {
                zip_map(&x, &y, n, |a, b| a / b)
            }))
        }
        _ => None,
    }
}

fn ff(op: Op, x: Side<f64>, y: Side<f64>, n: usize, both_real: bool) -> Option<Value> {
    let r = |f: fn(f64, f64) -> f64| Some(Value::reals(zip_map(&x, &y, n, f)));
    match op {
        Op::Plus => r(|a, b| a + b),
        Op::Minus => r(|a, b| a - b),
        Op::Star => r(|a, b| a * b),
        Op::Percent => {
            if (0..n).any(|i| y.get(i) == 0.0) {
                return None;
            }
            r(|a, b| a / b)
        }
        Op::Bar if both_real => r(|a, b| if b > a { b } else { a }),
        Op::Amp if both_real => r(|a, b| if b < a { b } else { a }),
        Op::Equal => Some(Value::ints(
            (0..n).map(|i| (x.get(i) == y.get(i)) as i64).collect(),
        )),
        Op::Less => Some(Value::ints(
            (0..n).map(|i| (x.get(i) < y.get(i)) as i64).collect(),
        )),
        Op::More => Some(Value::ints(
            (0..n).map(|i| (x.get(i) > y.get(i)) as i64).collect(),
        )),
        _ => None,
    }
}

fn to_big(v: &Value) -> Option<BigInt> {
    match v {
        Value::Int(i) => Some(BigInt::from(*i)),
        Value::Big(b) => Some(b.as_ref().clone()),
        _ => None,
    }
}

fn real_result(r: f64) -> Value {
    if r.is_nan() {
        Value::Undefined
    } else {
        Value::Real(r)
    }
}

/// Compare two numbers by value.
pub fn num_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Real(_), _) | (_, Value::Real(_)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        _ => Some(to_big(a)?.cmp(&to_big(b)?)),
    }
}

/// Scalar comparison used by `< > =` (numbers, chars, strings, symbols).
pub fn scalar_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Char(x), Value::Char(y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Sym(x), Value::Sym(y)) => Some(x.cmp(y)),
        _ if a.is_num() && b.is_num() => num_cmp(a, b),
        _ => None,
    }
}

/// Scalar dyad on two atoms.
pub fn scalar2(op: Op, a: &Value, b: &Value) -> KResult<Value> {
    use Value::*;
    let name = dyad_name(op);
    match op {
        Op::Equal | Op::Less | Op::More => {
            let o = match scalar_cmp(a, b) {
                Some(o) => o,
                None => return type_err(name, &[a, b]),
            };
            let r = match op {
                Op::Equal => o == Ordering::Equal,
                Op::Less => o == Ordering::Less,
                _ => o == Ordering::Greater,
            };
            return Ok(Int(r as i64));
        }
        _ => {}
    }
    if !a.is_num() || !b.is_num() {
        return type_err(name, &[a, b]);
    }
    match op {
        Op::Plus | Op::Minus | Op::Star => {
            if let (Int(x), Int(y)) = (a, b) {
                let r = match op {
                    Op::Plus => x.checked_add(*y),
                    Op::Minus => x.checked_sub(*y),
                    _ => x.checked_mul(*y),
                };
                if let Some(r) = r {
                    return Ok(Int(r));
                }
            }
            if let (Some(x), Some(y)) = (to_big(a), to_big(b)) {
                return Ok(Value::big(match op {
                    Op::Plus => x + y,
                    Op::Minus => x - y,
                    _ => x * y,
                }));
            }
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            Ok(real_result(match op {
                Op::Plus => x + y,
                Op::Minus => x - y,
                _ => x * y,
            }))
        }
        Op::Percent => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            if y == 0.0 {
                return Ok(Undefined);
            }
            Ok(real_result(x / y))
        }
        Op::Bang | Op::CPercent => {
            let (x, y) = match (to_big(a), to_big(b)) {
                (Some(x), Some(y)) => (x, y),
                _ => return type_err(name, &[a, b]),
            };
            if y.is_zero() {
                return err(ErrorKind::DivByZero, "division by zero");
            }
            // BigInt division truncates toward zero, remainder follows the dividend.
            Ok(Value::big(if op == Op::Bang { x % y } else { x / y }))
        }
        Op::Bar | Op::Amp => {
            let o = num_cmp(a, b).unwrap_or(Ordering::Equal);
            let pick_b = if op == Op::Bar {
                o == Ordering::Less
            } else {
                o == Ordering::Greater
            };
            Ok(if pick_b { b.clone() } else { a.clone() })
        }
        Op::Caret => power(a, b),
        _ => type_err(name, &[a, b]),
    }
}

/// Most bits one integer power may have (an upper bound: the base's bits times the exponent).
const MAX_POWER_BITS: u128 = 1 << 22;

fn power(a: &Value, b: &Value) -> KResult<Value> {
    if let (Some(x), Value::Int(e)) = (to_big(a), b) {
        if *e >= 0 {
            if let Value::Int(xi) = a
                && let Ok(e32) = u32::try_from(*e)
                && let Some(r) = xi.checked_pow(e32)
            {
                return Ok(Value::Int(r));
            }
            let bits = (x.bits() as u128).saturating_mul(*e as u128);
            if bits > MAX_POWER_BITS {
                return err(ErrorKind::Limit, "power: result too large");
            }
            // Each result is bounded, a vector of them is not: charge the 64-bit words about to
            // be computed, so `6^92*!626549` stops at the deadline instead of running for hours.
            crate::watch::charge(1 + (bits / 64) as usize)?;
            return Ok(Value::big(num_traits::pow::pow(x, *e as usize)));
        }
        let xf = x.to_f64().unwrap_or(f64::NAN);
        if xf == 0.0 {
            return Ok(Value::Undefined);
        }
        return Ok(real_result(xf.powf(*e as f64)));
    }
    let (x, y) = (
        a.as_f64().unwrap_or(f64::NAN),
        b.as_f64().unwrap_or(f64::NAN),
    );
    if x == 0.0 && y < 0.0 {
        return Ok(Value::Undefined);
    }
    let r = x.powf(y);
    Ok(real_result(r))
}

/// Apply an atomic monad recursively.
pub fn atomic1(op: Op, a: &Value) -> KResult<Value> {
    match (op, a) {
        (Op::Minus, Value::Ints(v)) if v.iter().all(|&x| x != i64::MIN) => {
            return Ok(Value::ints(v.iter().map(|x| -x).collect()));
        }
        (Op::Minus, Value::Reals(v)) => return Ok(Value::reals(v.iter().map(|x| -x).collect())),
        (Op::Under, Value::Ints(_)) => return Ok(a.clone()),
        (Op::Tilde, Value::Ints(v)) => {
            return Ok(Value::ints(v.iter().map(|&x| (x == 0) as i64).collect()));
        }
        _ => {}
    }
    if a.is_list() && !a.is_atom() {
        let n = a.len().unwrap_or(0);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            crate::watch::charge(1)?;
            out.push(atomic1(op, &a.at(i))?);
        }
        return Ok(Value::list(out));
    }
    scalar1(op, a)
}

fn scalar1(op: Op, a: &Value) -> KResult<Value> {
    use Value::*;
    match op {
        Op::Minus => match a {
            Int(i) => Ok(i
                .checked_neg()
                .map(Int)
                .unwrap_or_else(|| Value::big(-BigInt::from(*i)))),
            Big(b) => Ok(Value::big(-b.as_ref().clone())),
            Real(r) => Ok(Real(if *r == 0.0 { 0.0 } else { -r })),
            _ if is_nil(a) => Ok(Value::nil()),
            _ => type_err("negate", &[a]),
        },
        Op::Percent => match a.as_f64() {
            Some(0.0) => Ok(Undefined),
            Some(x) => Ok(real_result(1.0 / x)),
            None if is_nil(a) => Ok(Value::nil()),
            None => type_err("reciprocal", &[a]),
        },
        Op::Under => match a {
            Int(_) | Big(_) => Ok(a.clone()),
            Real(r) => {
                let f = r.floor();
                if f.is_finite() && f.abs() < 9.2e18 {
                    Ok(Int(f as i64))
                } else {
                    Ok(Real(f))
                }
            }
            _ if is_nil(a) => Ok(Value::nil()),
            _ => type_err("floor", &[a]),
        },
        Op::Tilde => Ok(Int(!a.truthy() as i64)),
        Op::Dollar => Ok(format_atom(a)),
        Op::CHash => match a {
            Int(i) => match u32::try_from(*i).ok().and_then(char::from_u32) {
                Some(c) => Ok(Char(c)),
                None => err(ErrorKind::Range, format!("char: domain error: {i}")),
            },
            _ if is_nil(a) => Ok(Value::nil()),
            _ => type_err("char", &[a]),
        },
        _ => type_err("monad", &[a]),
    }
}

/// `$x` for an atom.
pub fn format_atom(a: &Value) -> Value {
    match a {
        Value::Str(_) => a.clone(),
        Value::Char(c) => Value::str(&c.to_string()),
        Value::Int(_) | Value::Big(_) | Value::Real(_) | Value::Sym(_) => {
            Value::str(&crate::print::readable(a))
        }
        _ => Value::Undefined,
    }
}

/// `a op b` where the typed vector `v` is one operand and is unshared: computed in place.
/// On overflow the elements not yet computed are finished as bigints (a generic list).
fn ints_in_place(
    op: Op,
    mut v: std::rc::Rc<Vec<i64>>,
    other: &Value,
    place: Place,
) -> KResult<Value> {
    let arg = match other {
        Value::Ints(o) => Arg::V(o),
        Value::Int(s) => Arg::S(*s),
        _ => {
            return match place {
                Place::Left => atomic2(op, &Value::Ints(v), other),
                Place::Right => atomic2(op, other, &Value::Ints(v)),
            };
        }
    };
    let Some(buf) = std::rc::Rc::get_mut(&mut v) else {
        return match place {
            Place::Left => atomic2(op, &Value::Ints(v), other),
            Place::Right => atomic2(op, other, &Value::Ints(v)),
        };
    };
    let Some(done) = intkern::in_place(op, buf, arg, place) else {
        return Ok(Value::Ints(v));
    };
    let mut out: Vec<Value> = v[..done].iter().map(|&e| Value::Int(e)).collect();
    for (i, &e) in v.iter().enumerate().skip(done) {
        let o = match arg {
            Arg::V(o) => o[i],
            Arg::S(s) => s,
        };
        let (l, r) = match place {
            Place::Left => (e, o),
            Place::Right => (o, e),
        };
        out.push(scalar2(op, &Value::Int(l), &Value::Int(r))?);
    }
    Ok(Value::list(out))
}

fn unique<T>(v: &std::rc::Rc<T>) -> bool {
    std::rc::Rc::strong_count(v) == 1 && std::rc::Rc::weak_count(v) == 0
}

#[inline(always)]
fn reals_apply(v: &mut [f64], other: &Value, f: impl Fn(f64, f64) -> f64) {
    match other {
        Value::Reals(o) => v.iter_mut().zip(o.iter()).for_each(|(e, &b)| *e = f(*e, b)),
        Value::Real(s) => v.iter_mut().for_each(|e| *e = f(*e, *s)),
        _ => {}
    }
}

/// `v op other` (or `other op v` when `place` is `Right`) in place over reals.
fn reals_update(op: Op, v: &mut [f64], other: &Value, place: Place) {
    match (op, place) {
        (Op::Plus, _) => reals_apply(v, other, |a, b| a + b),
        (Op::Star, _) => reals_apply(v, other, |a, b| a * b),
        (_, Place::Left) => reals_apply(v, other, |a, b| a - b),
        (_, Place::Right) => reals_apply(v, other, |a, b| b - a),
    }
}

/// Atomic dyad on owned operands: updates an unshared typed vector in place when possible
/// (no allocation for temporaries such as `(w+1)*2`), else falls back to [`atomic2`].
pub fn atomic2_owned(op: Op, a: Value, b: Value) -> KResult<Value> {
    use Value::*;
    if !matches!(op, Op::Plus | Op::Minus | Op::Star) {
        return atomic2(op, &a, &b);
    }
    let same_len = |x: &Vec<i64>, y: &Value| match y {
        Ints(y) => x.len() == y.len(),
        _ => true,
    };
    match (a, b) {
        (Ints(x), b @ (Int(_) | Ints(_))) if unique(&x) && same_len(&x, &b) => {
            ints_in_place(op, x, &b, Place::Left)
        }
        (a @ (Int(_) | Ints(_)), Ints(y)) if unique(&y) && same_len(&y, &a) => {
            ints_in_place(op, y, &a, Place::Right)
        }
        (Reals(mut x), b @ Real(_)) if unique(&x) => {
            if let Some(v) = std::rc::Rc::get_mut(&mut x) {
                reals_update(op, v, &b, Place::Left);
            }
            Ok(Reals(x))
        }
        (Reals(mut x), Reals(y)) if unique(&x) && x.len() == y.len() => {
            if let Some(v) = std::rc::Rc::get_mut(&mut x) {
                reals_update(op, v, &Reals(y), Place::Left);
            }
            Ok(Reals(x))
        }
        (a @ (Real(_) | Reals(_)), Reals(mut y))
            if unique(&y) && a.len().is_none_or(|n| n == y.len()) =>
        {
            if let Some(v) = std::rc::Rc::get_mut(&mut y) {
                reals_update(op, v, &a, Place::Right);
            }
            Ok(Reals(y))
        }
        (a, b) => atomic2(op, &a, &b),
    }
}
