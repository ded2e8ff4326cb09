//! Structural (non-atomic) verbs: take, drop, join, index, grade, group, reshape, ...

use crate::dict::{FastMap, Key};
use crate::error::{ErrorKind, KResult, err, type_err};
use crate::interp::Interp;
use crate::print::readable;
use crate::value::Value;
use std::cmp::Ordering;
use std::rc::Rc;

fn is_seq(v: &Value) -> bool {
    v.is_list() || matches!(v, Value::Str(_))
}

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
    // Typed vectors: radix sort straight to the result vector.
    let radix = match a {
        Value::Ints(v) if n < u32::MAX as usize => {
            crate::kernels::counting_grade(v).or_else(|| {
                Some(crate::kernels::radix_grade(
                    &v.iter()
                        .map(|&x| crate::kernels::int_key(x))
                        .collect::<Vec<u64>>(),
                ))
            })
        }
        Value::Reals(v) if n < u32::MAX as usize => Some(crate::kernels::radix_grade(
            &v.iter()
                .map(|&x| crate::kernels::real_key(x))
                .collect::<Vec<u64>>(),
        )),
        _ => None,
    };
    if let Some(mut idx) = radix {
        if down {
            idx.reverse();
        }
        return Ok(Value::ints(idx));
    }
    let mut idx: Vec<usize> = (0..n).collect();
    match a {
        Value::Str(v) => idx.sort_by_key(|&i| v[i]),
        _ => {
            let items = a.items();
            let mut failure = None;
            idx.sort_by(|&i, &j| match grade_cmp(&items[i], &items[j]) {
                Ok(o) => o,
                Err(e) => {
                    failure.get_or_insert(e);
                    Ordering::Equal
                }
            });
            if let Some(e) = failure {
                return Err(e);
            }
        }
    }
    if down {
        idx.reverse();
    }
    Ok(Value::ints(idx.into_iter().map(|i| i as i64).collect()))
}

/// `=x`.
pub fn group(a: &Value) -> KResult<Value> {
    if !is_seq(a) {
        return type_err("group", &[a]);
    }
    let mut groups: Vec<Vec<i64>> = Vec::new();
    match a {
        Value::Ints(v) if small_range(v) => {
            // Dense keys: a direct table instead of hashing.
            let min = v.iter().copied().min().unwrap_or(0);
            let mut slot = vec![u32::MAX; small_span(v)];
            for (i, &x) in v.iter().enumerate() {
                let k = (x - min) as usize;
                if slot[k] == u32::MAX {
                    slot[k] = groups.len() as u32;
                    groups.push(Vec::new());
                }
                groups[slot[k] as usize].push(i as i64);
            }
        }
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
                let g = *map.entry(Key(x)).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[g].push(i as i64);
            }
        }
    }
    Ok(Value::list(groups.into_iter().map(Value::ints).collect()))
}

fn small_span(v: &[i64]) -> usize {
    let (mn, mx) = v
        .iter()
        .fold((i64::MAX, i64::MIN), |(a, b), &e| (a.min(e), b.max(e)));
    (mx as i128 - mn as i128 + 1).clamp(0, usize::MAX as i128) as usize
}

fn small_range(v: &[i64]) -> bool {
    small_span(v) <= v.len().max(1 << 16) * 2
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

fn slice(b: &Value, from: usize, to: usize) -> Value {
    if from >= to {
        return b.empty_like();
    }
    match b {
        Value::Ints(v) => Value::ints(v[from..to].to_vec()),
        Value::Reals(v) => Value::reals(v[from..to].to_vec()),
        Value::Str(v) => Value::Str(Rc::new(v[from..to].to_vec())),
        Value::List(v) => Value::List(Rc::new(v[from..to].to_vec())),
        _ => b.clone(),
    }
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

fn as_index(v: &Value, op: &str) -> KResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        _ => err(
            ErrorKind::Type,
            format!("{op}: expected integer, got: {}", readable(v)),
        ),
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
    let mut out = Vec::new();
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
