//! Verbs that build or restructure: enumerate, size, expand, transpose, shape, reshape.

use crate::error::{ErrorKind, KResult, err, type_err};
use crate::interp::Interp;
use crate::print::readable;
use crate::value::Value;
use std::rc::Rc;

/// `!n`.
pub fn enumerate(it: &Interp, a: &Value) -> KResult<Value> {
    match a {
        Value::Int(n) if *n >= 0 => {
            it.check_alloc(*n as usize)?;
            if *n == 0 {
                return Ok(Value::nil());
            }
            Ok(Value::ints((0..*n).collect()))
        }
        Value::Int(n) => err(ErrorKind::Range, format!("enumerate: domain error: {n}")),
        _ => type_err("enumerate", &[a]),
    }
}

/// `#x`.
pub fn size(a: &Value) -> KResult<Value> {
    Ok(match a {
        Value::Int(i) => match i.checked_abs() {
            Some(v) => Value::Int(v),
            None => Value::big(num_bigint::BigInt::from(*i) * -1),
        },
        Value::Big(b) => Value::big(num_traits::Signed::abs(b.as_ref())),
        Value::Real(r) => Value::Real(r.abs()),
        Value::Char(c) => Value::Int(*c as i64),
        Value::Dict(d) => Value::Int(d.borrow().len() as i64),
        _ => match a.len() {
            Some(n) => Value::Int(n as i64),
            None => return type_err("size", &[a]),
        },
    })
}

/// `&x`.
pub fn expand(it: &Interp, a: &Value) -> KResult<Value> {
    let counts: Vec<i64> = match a {
        Value::Int(n) => {
            if *n < 0 {
                return err(ErrorKind::Range, "expand: range error");
            }
            it.check_alloc(*n as usize)?;
            return Ok(if *n == 0 {
                Value::nil()
            } else {
                Value::ints(vec![0; *n as usize])
            });
        }
        Value::Ints(v) => v.as_ref().clone(),
        Value::List(v) => {
            let mut out = Vec::with_capacity(v.len());
            for x in v.iter() {
                match x {
                    Value::Int(i) => out.push(*i),
                    _ => {
                        return err(
                            ErrorKind::Type,
                            format!("expand: expected integer, got: {}", readable(x)),
                        );
                    }
                }
            }
            out
        }
        _ => return type_err("expand", &[a]),
    };
    let mut total: usize = 0;
    for &c in &counts {
        if c < 0 {
            return err(ErrorKind::Range, "expand: range error");
        }
        total = total.saturating_add(c as usize);
    }
    it.check_alloc(total)?;
    let mut out = Vec::with_capacity(total);
    for (i, &c) in counts.iter().enumerate() {
        for _ in 0..c {
            out.push(i as i64);
        }
    }
    Ok(if out.is_empty() {
        Value::nil()
    } else {
        Value::ints(out)
    })
}

/// `+x`.
pub fn transpose(a: &Value) -> KResult<Value> {
    if !a.is_list() {
        return type_err("transpose", &[a]);
    }
    let rows = a.items();
    if !rows.iter().any(|r| r.is_list() && !r.is_atom()) {
        if rows
            .iter()
            .any(|r| matches!(r, Value::List(v) if v.is_empty()))
            && !rows.is_empty()
        {
            return Ok(Value::List(Rc::new(vec![Value::nil()])));
        }
        return Ok(a.clone());
    }
    let mut n: Option<usize> = None;
    for r in &rows {
        if r.is_list() {
            let l = r.len().unwrap_or(0);
            if n.is_some_and(|m| m != l) {
                return err(ErrorKind::Shape, "transpose: shape error");
            }
            n = Some(l);
        }
    }
    let n = n.unwrap_or(0);
    let mut out = Vec::with_capacity(n);
    for j in 0..n {
        let col: Vec<Value> = rows
            .iter()
            .map(|r| if r.is_list() { r.at(j) } else { r.clone() })
            .collect();
        out.push(Value::list(col));
    }
    Ok(Value::list(out))
}

/// `^x`.
pub fn shape(a: &Value) -> Value {
    fn sh(a: &Value) -> Vec<i64> {
        match a {
            Value::Str(s) => vec![s.len() as i64],
            _ if a.is_list() && !a.is_atom() => {
                let items = a.items();
                let mut common: Option<Vec<i64>> = None;
                for x in &items {
                    let s = sh(x);
                    common = Some(match common {
                        None => s,
                        Some(c) => c
                            .iter()
                            .zip(s.iter())
                            .take_while(|(p, q)| p == q)
                            .map(|(p, _)| *p)
                            .collect(),
                    });
                }
                let mut out = vec![items.len() as i64];
                out.extend(common.unwrap_or_default());
                out
            }
            _ => vec![],
        }
    }
    let s = sh(a);
    if s.is_empty() {
        Value::Int(0)
    } else {
        Value::ints(s)
    }
}

/// `s:^b` (reshape).
pub fn reshape(it: &Interp, a: &Value, b: &Value) -> KResult<Value> {
    let mut dims: Vec<i64> = match a {
        Value::Int(0) => return Ok(b.clone()),
        Value::Int(n) => vec![*n],
        Value::Ints(v) => v.as_ref().clone(),
        _ => return type_err("reshape", &[a, b]),
    };
    // Source elements: adjacent strings in a list are concatenated.
    let src: Vec<Value> = match b {
        Value::Str(_) => b.items(),
        _ if b.is_list() && !b.is_atom() => {
            let mut out = Vec::new();
            let mut buf: Option<Vec<char>> = None;
            for x in b.items() {
                match x {
                    Value::Str(s) => buf.get_or_insert_with(Vec::new).extend(s.iter()),
                    other => {
                        if let Some(s) = buf.take() {
                            out.extend(s.into_iter().map(Value::Char));
                        }
                        out.push(other);
                    }
                }
            }
            if let Some(s) = buf.take() {
                out.extend(s.into_iter().map(Value::Char));
            }
            out
        }
        _ => vec![b.clone()],
    };
    if src.is_empty() {
        return err(ErrorKind::Range, "reshape: range error");
    }
    for d in dims.iter_mut() {
        if *d == -1 {
            *d = (src.len() / 2) as i64;
        }
        if *d <= 0 {
            return err(ErrorKind::Range, "reshape: range error");
        }
    }
    let total = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d as usize));
    match total {
        Some(t) => it.check_alloc(t)?,
        None => return err(ErrorKind::Limit, "reshape: result too large"),
    }
    let mut k = 0usize;
    fn build(dims: &[i64], src: &[Value], k: &mut usize) -> Value {
        let n = dims[0] as usize;
        if dims.len() == 1 {
            let row: Vec<Value> = (0..n)
                .map(|_| {
                    let v = src[*k % src.len()].clone();
                    *k += 1;
                    v
                })
                .collect();
            return Value::list_or_str(row, true);
        }
        Value::List(Rc::new((0..n).map(|_| build(&dims[1..], src, k)).collect()))
    }
    Ok(build(&dims, &src, &mut k))
}
