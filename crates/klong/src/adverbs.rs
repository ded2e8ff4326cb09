//! Adverbs: each, over, scan, converge, while, iterate and friends.

use crate::ast::{Adverb, Op};
use crate::error::{ErrorKind, KResult, err};
use crate::interp::{Callable, Interp};
use crate::parser::adverb_str;
use crate::value::Value;

fn ctx_err<T>(a: Adverb) -> KResult<T> {
    err(
        ErrorKind::Syntax,
        format!("wrong adverb context: :{}", adverb_str(a)),
    )
}

/// Apply an adverb in monadic context (`f'x`, `f/x`, ...).
pub fn monadic(it: &mut Interp, adv: Adverb, f: &Callable, x: Value) -> KResult<Value> {
    match adv {
        Adverb::Each => each(it, f, x),
        Adverb::Over => over(it, f, x),
        Adverb::Scan => scan(it, f, x),
        Adverb::EachPair => {
            let n = match x.len() {
                Some(n) if n >= 2 => n,
                _ => return Ok(x),
            };
            let mut out = Vec::with_capacity(n - 1);
            for i in 0..n - 1 {
                out.push(it.call2(f, x.at(i), x.at(i + 1))?);
            }
            Ok(Value::list_or_str(out, matches!(x, Value::Str(_))))
        }
        Adverb::Converge => {
            let mut cur = x;
            loop {
                it.tick()?;
                let next = it.call1(f, cur.clone())?;
                if next.matches(&cur) {
                    return Ok(cur);
                }
                cur = next;
            }
        }
        Adverb::ScanConverge => {
            let mut cur = x;
            let mut out = vec![cur.clone()];
            loop {
                it.tick()?;
                let next = it.call1(f, cur.clone())?;
                if next.matches(&cur) {
                    return Ok(Value::list(out));
                }
                it.check_alloc(out.len())?;
                out.push(next.clone());
                cur = next;
            }
        }
        _ => ctx_err(adv),
    }
}

/// Apply an adverb in dyadic context (`a f'b`, `a f/b`, ...).
pub fn dyadic(it: &mut Interp, adv: Adverb, f: &Callable, a: Value, b: Value) -> KResult<Value> {
    match adv {
        Adverb::Each => {
            let (na, nb) = match (a.len(), b.len()) {
                (Some(na), Some(nb)) if !a.is_atom() || !b.is_atom() || na == 0 || nb == 0 => {
                    (na, nb)
                }
                _ => return it.call2(f, a, b),
            };
            if na == 0 || nb == 0 {
                return Ok(
                    if (matches!(a, Value::Str(_))
                        && na == 0
                        && !matches!(&b, Value::List(v) if v.is_empty()))
                        || (matches!(b, Value::Str(_))
                            && nb == 0
                            && !matches!(&a, Value::List(v) if v.is_empty()))
                    {
                        Value::str("")
                    } else {
                        Value::nil()
                    },
                );
            }
            let n = na.min(nb);
            if let Callable::Op(op) = f
                && matches!(
                    op,
                    Op::Plus
                        | Op::Minus
                        | Op::Star
                        | Op::Percent
                        | Op::Amp
                        | Op::Bar
                        | Op::Less
                        | Op::More
                        | Op::Equal
                )
                && na == nb
                && matches!(a, Value::Ints(_) | Value::Reals(_))
                && matches!(b, Value::Ints(_) | Value::Reals(_))
            {
                return crate::verbs::dyad(it, *op, a, b);
            }
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                out.push(it.call2(f, a.at(i), b.at(i))?);
            }
            let s = matches!(a, Value::Str(_)) || matches!(b, Value::Str(_));
            Ok(Value::list_or_str(out, s))
        }
        Adverb::EachLeft | Adverb::EachRight => {
            let n = match b.len() {
                Some(0) => return Ok(b),
                Some(n) if !b.is_atom() => n,
                _ => {
                    return if adv == Adverb::EachLeft {
                        it.call2(f, a, b)
                    } else {
                        it.call2(f, b, a)
                    };
                }
            };
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                out.push(if adv == Adverb::EachLeft {
                    it.call2(f, a.clone(), b.at(i))?
                } else {
                    it.call2(f, b.at(i), a.clone())?
                });
            }
            Ok(Value::list_or_str(out, matches!(b, Value::Str(_))))
        }
        Adverb::Over => {
            let n = match b.len() {
                Some(n) if !b.is_atom() => n,
                Some(_) => return Ok(a),
                None => return it.call2(f, a, b),
            };
            let mut acc = a;
            for i in 0..n {
                it.tick()?;
                acc = it.call2(f, acc, b.at(i))?;
            }
            Ok(acc)
        }
        Adverb::Scan => {
            let n = match b.len() {
                Some(n) if !b.is_atom() => n,
                Some(_) => return Ok(a),
                None => {
                    let r = it.call2(f, a.clone(), b)?;
                    return Ok(Value::list(vec![a, r]));
                }
            };
            let mut out = vec![a.clone()];
            let mut acc = a;
            for i in 0..n {
                it.tick()?;
                acc = it.call2(f, acc, b.at(i))?;
                out.push(acc.clone());
            }
            Ok(Value::list(out))
        }
        Adverb::Converge => {
            // While: a is the predicate.
            if !matches!(a, Value::Func(_)) {
                return err(ErrorKind::Type, "while: type error");
            }
            let mut cur = b;
            while it.call(&a, vec![cur.clone()])?.truthy() {
                it.tick()?;
                cur = it.call1(f, cur)?;
            }
            Ok(cur)
        }
        Adverb::ScanConverge => {
            if !matches!(a, Value::Func(_)) {
                return err(ErrorKind::Type, "while: type error");
            }
            let mut cur = b;
            let mut out = Vec::new();
            while it.call(&a, vec![cur.clone()])?.truthy() {
                it.tick()?;
                it.check_alloc(out.len())?;
                out.push(cur.clone());
                cur = it.call1(f, cur)?;
            }
            Ok(Value::list(out))
        }
        Adverb::Iterate | Adverb::ScanIterate => {
            let n = match a {
                Value::Int(n) => n.unsigned_abs() as usize,
                _ => return err(ErrorKind::Type, "iterate: type error"),
            };
            if adv == Adverb::ScanIterate {
                if n == 0 {
                    return Ok(b);
                }
                it.check_alloc(n)?;
            }
            let mut cur = b;
            let mut out = Vec::new();
            for _ in 0..n {
                it.tick()?;
                if adv == Adverb::ScanIterate {
                    out.push(cur.clone());
                }
                cur = it.call1(f, cur)?;
            }
            if adv == Adverb::ScanIterate {
                out.push(cur);
                return Ok(Value::list(out));
            }
            Ok(cur)
        }
        Adverb::EachPair => ctx_err(adv),
    }
}

fn each(it: &mut Interp, f: &Callable, x: Value) -> KResult<Value> {
    match &x {
        Value::Dict(d) => {
            let entries: Vec<(Value, Value)> = d
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                out.push(it.call1(f, Value::list(vec![k, v]))?);
            }
            Ok(Value::list(out))
        }
        _ if x.is_atom() => {
            if x.len() == Some(0) {
                Ok(x)
            } else {
                it.call1(f, x)
            }
        }
        Value::Ints(_) | Value::Reals(_)
            if matches!(
                f,
                Callable::Op(Op::Minus | Op::Percent | Op::Under | Op::Tilde)
            ) =>
        {
            if let Callable::Op(op) = f {
                crate::verbs::monad(it, *op, x)
            } else {
                Ok(x)
            }
        }
        _ => {
            let n = x.len().unwrap_or(0);
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                it.tick()?;
                out.push(it.call1(f, x.at(i))?);
            }
            Ok(Value::list_or_str(out, matches!(x, Value::Str(_))))
        }
    }
}

fn over(it: &mut Interp, f: &Callable, x: Value) -> KResult<Value> {
    if let Callable::Op(op) = f
        && let Some(r) = crate::kernels::reduce(*op, &x)
    {
        crate::watch::charge(x.len().unwrap_or(1))?;
        return Ok(r);
    }
    let n = match x.len() {
        Some(n) if !x.is_atom() => n,
        _ => return Ok(x),
    };
    let mut acc = x.at(0);
    for i in 1..n {
        it.tick()?;
        acc = it.call2(f, acc, x.at(i))?;
        acc = fix_str(acc);
    }
    Ok(acc)
}

fn fix_str(v: Value) -> Value {
    match &v {
        Value::List(items)
            if !items.is_empty() && items.iter().all(|c| matches!(c, Value::Char(_))) =>
        {
            Value::list_or_str(items.as_ref().clone(), true)
        }
        _ => v,
    }
}

fn scan(it: &mut Interp, f: &Callable, x: Value) -> KResult<Value> {
    if let Callable::Op(op) = f
        && let Some(r) = crate::kernels::scan(*op, &x)
    {
        crate::watch::charge(x.len().unwrap_or(1))?;
        return Ok(r);
    }
    let n = match x.len() {
        Some(n) if !x.is_atom() => n,
        Some(_) => return Ok(x),
        None => return Ok(Value::list(vec![x])),
    };
    let mut acc = x.at(0);
    let mut out = Vec::with_capacity(n);
    out.push(acc.clone());
    for i in 1..n {
        it.tick()?;
        acc = fix_str(it.call2(f, acc, x.at(i))?);
        out.push(acc.clone());
    }
    Ok(Value::list(out))
}
