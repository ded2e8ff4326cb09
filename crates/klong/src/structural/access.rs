//! Verbs that find, index and amend elements: find, index, index-in-depth, amend.

use super::{as_index, is_seq};
use crate::error::{ErrorKind, KResult, err, type_err};
use crate::print::readable;
use crate::value::Value;
use std::rc::Rc;

/// `a?b`.
pub fn find(a: &Value, b: &Value) -> KResult<Value> {
    match (a, b) {
        (Value::Dict(d), k) => Ok(d.borrow().get(k).unwrap_or(Value::Undefined)),
        (Value::Str(s), Value::Char(c)) => Ok(idx_list(
            s.iter()
                .enumerate()
                .filter(|(_, x)| *x == c)
                .map(|(i, _)| i),
        )),
        (Value::Str(s), Value::Str(t)) => {
            let (n, m) = (s.len(), t.len());
            if m > n {
                return Ok(Value::nil());
            }
            Ok(idx_list((0..=n - m).filter(|&i| s[i..i + m] == t[..])))
        }
        (Value::Ints(v), Value::Int(x)) => Ok(idx_list(
            v.iter()
                .enumerate()
                .filter(|(_, y)| *y == x)
                .map(|(i, _)| i),
        )),
        (x, y) if x.is_list() => {
            let n = x.len().unwrap_or(0);
            Ok(idx_list((0..n).filter(|&i| x.at(i).matches(y))))
        }
        _ => type_err("find", &[a, b]),
    }
}

fn idx_list(it: impl Iterator<Item = usize>) -> Value {
    let v: Vec<i64> = it.map(|i| i as i64).collect();
    if v.is_empty() {
        Value::nil()
    } else {
        Value::ints(v)
    }
}

/// `a@b` for lists and strings.
pub fn index(a: &Value, b: &Value) -> KResult<Value> {
    if !is_seq(a) {
        return type_err("index", &[a, b]);
    }
    let n = a.len().unwrap_or(0);
    match b {
        Value::Int(i) => {
            if *i < 0 || *i as usize >= n {
                return err(ErrorKind::Range, format!("index: range error: {i}"));
            }
            Ok(a.at(*i as usize))
        }
        Value::Ints(ix) => {
            for &i in ix.iter() {
                if i < 0 || i as usize >= n {
                    return err(ErrorKind::Range, format!("index: range error: {i}"));
                }
            }
            Ok(match a {
                Value::Ints(v) => Value::ints(ix.iter().map(|&i| v[i as usize]).collect()),
                Value::Reals(v) => Value::reals(ix.iter().map(|&i| v[i as usize]).collect()),
                Value::Str(v) => Value::Str(Rc::new(ix.iter().map(|&i| v[i as usize]).collect())),
                Value::List(v) => {
                    Value::List(Rc::new(ix.iter().map(|&i| v[i as usize].clone()).collect()))
                }
                _ => a.clone(),
            })
        }
        _ if b.is_list() => {
            let m = b.len().unwrap_or(0);
            if m == 0 {
                return Ok(a.empty_like());
            }
            let mut out = Vec::with_capacity(m);
            for j in 0..m {
                out.push(index(a, &b.at(j))?);
            }
            Ok(Value::list(out))
        }
        _ => type_err("index", &[a, b]),
    }
}

/// `a:@b`.
pub fn index_depth(a: &Value, b: &Value) -> KResult<Value> {
    let path = match b {
        Value::Int(_) => vec![b.clone()],
        _ if b.is_list() && !b.is_atom() => b.items(),
        _ => return type_err("index-in-depth", &[a, b]),
    };
    if matches!(a, Value::Str(_)) {
        return type_err("index-in-depth", &[a, b]);
    }
    let mut cur = a.clone();
    for p in &path {
        let i = as_index(p, "index-in-depth")?;
        if !cur.is_list() || i < 0 || i as usize >= cur.len().unwrap_or(0) {
            return err(ErrorKind::Shape, "index-in-depth: shape error");
        }
        cur = cur.at(i as usize);
    }
    Ok(cur)
}

/// `a:=b` (amend).
pub fn amend(a: &Value, b: &Value) -> KResult<Value> {
    let parts = match b.len() {
        Some(n) if n >= 2 && b.is_list() => b.items(),
        _ => return Ok(a.clone()),
    };
    let v = &parts[0];
    match a {
        Value::Str(s) => {
            let mut out = s.as_ref().clone();
            for ix in &parts[1..] {
                let i = as_index(ix, "amend")?;
                match v {
                    Value::Char(c) => {
                        if i < 0 || i as usize >= out.len() {
                            return err(ErrorKind::Range, "amend: range error");
                        }
                        out[i as usize] = *c;
                    }
                    Value::Str(t) => {
                        if i < 0 || i as usize > out.len() {
                            return err(ErrorKind::Range, "amend: range error");
                        }
                        let i = i as usize;
                        for (k, &c) in t.iter().enumerate() {
                            if i + k < out.len() {
                                out[i + k] = c;
                            } else {
                                out.push(c);
                            }
                        }
                    }
                    _ => {
                        return err(
                            ErrorKind::Type,
                            format!("amend: expected char, got: {}", readable(v)),
                        );
                    }
                }
            }
            Ok(Value::Str(Rc::new(out)))
        }
        _ if a.is_list() => {
            let n = a.len().unwrap_or(0);
            let mut idx = Vec::with_capacity(parts.len() - 1);
            for ix in &parts[1..] {
                let i = as_index(ix, "amend")?;
                if i < 0 || i as usize >= n {
                    return err(ErrorKind::Range, "amend: range error");
                }
                idx.push(i as usize);
            }
            match (a, v) {
                (Value::Ints(x), Value::Int(y)) => {
                    let mut out = x.as_ref().clone();
                    for i in idx {
                        out[i] = *y;
                    }
                    Ok(Value::ints(out))
                }
                _ => {
                    let mut out = a.items();
                    for i in idx {
                        out[i] = v.clone();
                    }
                    Ok(Value::list(out))
                }
            }
        }
        _ => type_err("amend", &[a, b]),
    }
}

/// `a:-b` (amend in depth).
pub fn amend_depth(a: &Value, b: &Value) -> KResult<Value> {
    let parts = match b.len() {
        Some(n) if n >= 2 && b.is_list() => b.items(),
        _ => return type_err("amendd", &[a, b]),
    };
    if !a.is_list() || a.is_atom() {
        return type_err("amendd", &[a, b]);
    }
    fn go(cur: &Value, path: &[Value], v: &Value) -> KResult<Value> {
        if path.is_empty() {
            if cur.is_list() && !cur.is_atom() {
                return err(ErrorKind::Shape, "amend-in-depth: shape error");
            }
            return Ok(v.clone());
        }
        if !cur.is_list() || cur.is_atom() {
            return err(ErrorKind::Shape, "amend-in-depth: shape error");
        }
        let i = as_index(&path[0], "amend-in-depth")?;
        let n = cur.len().unwrap_or(0);
        if i < 0 || i as usize >= n {
            return err(ErrorKind::Range, "amend-in-depth: range error");
        }
        let mut items = cur.items();
        items[i as usize] = go(&items[i as usize], &path[1..], v)?;
        Ok(Value::list(items))
    }
    go(a, &parts[1..], &parts[0])
}
