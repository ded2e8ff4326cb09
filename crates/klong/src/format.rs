//! Format2 (`a$b`) and Form (`a:$b`).

use crate::arith::format_atom;
use crate::error::{ErrorKind, KResult, err, type_err};
use crate::print::{fmt_real, readable};
use crate::value::Value;
use num_bigint::BigInt;

fn pad(s: &str, k: i64) -> String {
    let w = k.unsigned_abs() as usize;
    let len = s.chars().count();
    if len >= w {
        return s.to_string();
    }
    let fill = " ".repeat(w - len);
    if k > 0 {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

/// `a$b`.
pub fn format2(a: &Value, b: &Value) -> KResult<Value> {
    if a.is_list() && !a.is_atom() {
        let n = a.len().unwrap_or(0);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(format2(&a.at(i), b)?);
        }
        return Ok(Value::list(out));
    }
    if b.is_list() && !b.is_atom() {
        let n = b.len().unwrap_or(0);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(format2(a, &b.at(i))?);
        }
        return Ok(Value::list(out));
    }
    let s = match format_atom(b) {
        Value::Str(s) => s.iter().collect::<String>(),
        _ => readable(b),
    };
    match a {
        Value::Int(k) if k.unsigned_abs() > 1 << 24 => {
            err(ErrorKind::Limit, "format2: width too large")
        }
        Value::Int(k) => Ok(Value::str(&pad(&s, *k))),
        Value::Real(r) => {
            let text = fmt_real(*r);
            let (ip, fp) = text.split_once('.').unwrap_or((&text, "0"));
            let n: i64 = ip.trim_start_matches('-').parse().unwrap_or(0);
            if n > 1 << 24 {
                return err(ErrorKind::Limit, "format2: width too large");
            }
            let m: usize = fp.parse::<usize>().unwrap_or(0);
            if let (Value::Real(_), true) = (b, m > 0 && !s.contains('e')) {
                let (bi, bf) = s.split_once('.').unwrap_or((&s, ""));
                if bf.len() <= m && bi.len() <= n as usize {
                    let mut out = pad(bi, -n);
                    out.push('.');
                    out.push_str(bf);
                    for _ in bf.len()..m {
                        out.push('0');
                    }
                    return Ok(Value::str(&out));
                }
                return Ok(Value::str(&s));
            }
            Ok(Value::str(&pad(&s, n)))
        }
        _ => type_err("format2", &[a, b]),
    }
}

/// `a:$b`.
pub fn form(a: &Value, b: &Value) -> KResult<Value> {
    if b.is_list() && !b.is_atom() {
        let n = b.len().unwrap_or(0);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(form(a, &b.at(i))?);
        }
        return Ok(Value::list(out));
    }
    let s: String = match b {
        Value::Str(s) => s.iter().collect(),
        _ => {
            return err(
                ErrorKind::Type,
                format!("form: expected string, got: {}", readable(b)),
            );
        }
    };
    Ok(match a {
        Value::Int(_) | Value::Big(_) => {
            let body = s.strip_prefix(['+', '-']).unwrap_or(&s);
            if body.is_empty() || !body.chars().all(|c| c.is_ascii_digit()) {
                Value::Undefined
            } else {
                match s.trim_start_matches('+').parse::<BigInt>() {
                    Ok(v) => Value::big(v),
                    Err(_) => Value::Undefined,
                }
            }
        }
        Value::Real(_) => {
            let body = s.strip_prefix(['+', '-']).unwrap_or(&s);
            let ok = !body.is_empty()
                && body
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == 'e' || c == '+' || c == '-')
                && body
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c == '.');
            match (ok, s.parse::<f64>()) {
                (true, Ok(r)) => Value::Real(r),
                _ => Value::Undefined,
            }
        }
        Value::Char(_) => {
            let cs: Vec<char> = s.chars().collect();
            if cs.len() == 1 {
                Value::Char(cs[0])
            } else {
                Value::Undefined
            }
        }
        Value::Sym(_) => {
            let body = s.strip_prefix(':').unwrap_or(&s);
            let mut chars = body.chars();
            match chars.next() {
                Some(c)
                    if c.is_ascii_alphabetic()
                        && chars.all(|c| c.is_ascii_alphanumeric() || c == '.') =>
                {
                    Value::sym(body)
                }
                _ => Value::Undefined,
            }
        }
        _ => b.clone(),
    })
}
