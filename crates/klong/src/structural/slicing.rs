//! Verbs that cut and join sequences: take, drop, join, split, cut, rotate.

use super::{as_index, is_seq, slice};
use crate::error::{ErrorKind, KResult, err, type_err};
use crate::interp::Interp;
use crate::print::readable;
use crate::value::Value;
use std::rc::Rc;

/// `n#x`.
pub fn take(it: &Interp, a: &Value, b: &Value) -> KResult<Value> {
    let n = match a {
        Value::Int(n) => *n,
        _ => return type_err("take", &[a, b]),
    };
    if !is_seq(b) {
        return type_err("take", &[a, b]);
    }
    let len = b.len().unwrap_or(0);
    let k = n.unsigned_abs() as usize;
    it.check_alloc(k)?;
    if len == 0 || k == 0 {
        return Ok(b.empty_like());
    }
    let start = if n >= 0 { 0 } else { (len - k % len) % len };
    let pick = |i: usize| (start + i) % len;
    Ok(match b {
        Value::Ints(v) => Value::ints((0..k).map(|i| v[pick(i)]).collect()),
        Value::Reals(v) => Value::reals((0..k).map(|i| v[pick(i)]).collect()),
        Value::Str(v) => Value::Str(Rc::new((0..k).map(|i| v[pick(i)]).collect())),
        Value::List(v) => Value::List(Rc::new((0..k).map(|i| v[pick(i)].clone()).collect())),
        _ => b.clone(),
    })
}

/// `n_x` and `key_dict`.
pub fn drop(a: &Value, b: &Value) -> KResult<Value> {
    if let Value::Dict(d) = b {
        d.borrow_mut().remove(a);
        return Ok(b.clone());
    }
    let n = match a {
        Value::Int(n) if is_seq(b) => *n,
        _ => return type_err("drop", &[a, b]),
    };
    let len = b.len().unwrap_or(0);
    let k = (n.unsigned_abs() as usize).min(len);
    Ok(if n >= 0 {
        slice(b, k, len)
    } else {
        slice(b, 0, len - k)
    })
}

/// `a,b`.
pub fn join(a: Value, b: Value) -> KResult<Value> {
    use Value::*;
    match (&a, &b) {
        (Dict(d), t) | (t, Dict(d))
            if t.is_list() && t.len() == Some(2) && !matches!(t, Dict(_)) =>
        {
            let k = t.at(0);
            if matches!(k, Dict(_)) {
                return err(
                    ErrorKind::Type,
                    format!("bad dictionary key: {}", readable(&k)),
                );
            }
            d.borrow_mut().insert(k, t.at(1));
            return Ok(if matches!(a, Dict(_)) { a } else { b });
        }
        _ => {}
    }
    Ok(match (a, b) {
        (Ints(x), Ints(y)) => {
            let mut v = Rc::try_unwrap(x).unwrap_or_else(|x| x.as_ref().clone());
            v.extend_from_slice(&y);
            Value::ints(v)
        }
        (Reals(x), Reals(y)) => {
            let mut v = Rc::try_unwrap(x).unwrap_or_else(|x| x.as_ref().clone());
            v.extend_from_slice(&y);
            Value::reals(v)
        }
        (Ints(x), Int(y)) => {
            let mut v = Rc::try_unwrap(x).unwrap_or_else(|x| x.as_ref().clone());
            v.push(y);
            Value::ints(v)
        }
        (Int(x), Ints(y)) => {
            let mut v = Vec::with_capacity(y.len() + 1);
            v.push(x);
            v.extend_from_slice(&y);
            Value::ints(v)
        }
        (Str(x), Str(y)) => {
            let mut v = Rc::try_unwrap(x).unwrap_or_else(|x| x.as_ref().clone());
            v.extend_from_slice(&y);
            Str(Rc::new(v))
        }
        (Str(x), Char(c)) => {
            let mut v = Rc::try_unwrap(x).unwrap_or_else(|x| x.as_ref().clone());
            v.push(c);
            Str(Rc::new(v))
        }
        (Char(c), Str(y)) => {
            let mut v = vec![c];
            v.extend_from_slice(&y);
            Str(Rc::new(v))
        }
        (Char(x), Char(y)) => Str(Rc::new(vec![x, y])),
        (x, y) if x.is_list() && y.is_list() => {
            let mut v = x.items();
            v.extend(y.items());
            Value::list(v)
        }
        (x, y) if x.is_list() => {
            let mut v = match x {
                List(l) => Rc::try_unwrap(l).unwrap_or_else(|l| l.as_ref().clone()),
                other => other.items(),
            };
            v.push(y);
            Value::list(v)
        }
        (x, y) if y.is_list() => {
            let mut v = vec![x];
            v.extend(y.items());
            Value::list(v)
        }
        (x, y) => Value::list(vec![x, y]),
    })
}

/// `a:#b`.
pub fn split(a: &Value, b: &Value) -> KResult<Value> {
    let sizes: Vec<i64> = match a {
        Value::Int(n) => vec![*n],
        Value::Ints(v) => v.as_ref().clone(),
        _ => return type_err("split", &[a, b]),
    };
    if !is_seq(b) {
        return type_err("split", &[a, b]);
    }
    if sizes.iter().any(|&s| s < 1) {
        return err(ErrorKind::Range, "split: range error");
    }
    let n = b.len().unwrap_or(0);
    let mut out = Vec::new();
    let (mut pos, mut k) = (0usize, 0usize);
    while pos < n {
        let sz = sizes[k % sizes.len()] as usize;
        let end = (pos + sz).min(n);
        out.push(slice(b, pos, end));
        pos = end;
        k += 1;
    }
    Ok(if out.is_empty() {
        Value::nil()
    } else {
        Value::List(Rc::new(out))
    })
}

/// `a:_b`.
pub fn cut(a: &Value, b: &Value) -> KResult<Value> {
    let pos: Vec<i64> = match a {
        Value::Int(n) => vec![*n],
        Value::Ints(v) => v.as_ref().clone(),
        Value::List(v) if v.is_empty() => vec![],
        Value::List(v) => {
            let mut o = Vec::new();
            for x in v.iter() {
                o.push(as_index(x, "cut")?);
            }
            o
        }
        _ => return type_err("cut", &[a, b]),
    };
    if !is_seq(b) {
        return type_err("cut", &[a, b]);
    }
    let n = b.len().unwrap_or(0);
    let mut prev = 0i64;
    for &p in &pos {
        if p < prev {
            return err(ErrorKind::Range, "cut: range error");
        }
        if p as usize > n {
            return err(ErrorKind::Range, "cut: length error");
        }
        prev = p;
    }
    // Sized up front: growing a 10k-piece result by doubling costs more in the allocator
    // (large reallocations consolidating the freed small chunks) than cutting the pieces.
    let mut out = Vec::with_capacity(pos.len() + 1);
    let mut start = 0usize;
    for &p in &pos {
        out.push(slice(b, start, p as usize));
        start = p as usize;
    }
    if n > 0 || pos.is_empty() {
        out.push(slice(b, start, n));
    }
    Ok(Value::List(Rc::new(out)))
}

/// `n:+b`.
pub fn rotate(a: &Value, b: &Value) -> KResult<Value> {
    let n = match a {
        Value::Int(n) => *n,
        _ => return type_err("rotate", &[a, b]),
    };
    let len = match b.len() {
        Some(l) if l > 1 => l as i64,
        _ => return Ok(b.clone()),
    };
    let r = n.rem_euclid(len) as usize;
    let len = len as usize;
    let start = (len - r) % len;
    let mut items = b.items();
    items.rotate_left(start);
    Ok(b.same_kind(items))
}
