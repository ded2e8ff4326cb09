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

/// Most characters one `a$b` may produce over all its elements: each element's width is
/// bounded, but a long list padded to a large width (2223 strings of 322 223 characters) ran
/// for more than 20 s without reaching the interpreter's deadline check (found by the
/// `klong_eval` fuzz target).
const MAX_FORMAT_CHARS: u128 = 1 << 24;

/// `a$b`.
pub fn format2(a: &Value, b: &Value) -> KResult<Value> {
    let chars = widths(a).saturating_mul(cells(b));
    if chars > MAX_FORMAT_CHARS {
        return err(
            ErrorKind::Limit,
            format!("format2: result of {chars} characters is too large"),
        );
    }
    format_cells(a, b)
}

/// The widths `a` asks for, summed over its elements (a list formats `b` once per element).
fn widths(a: &Value) -> u128 {
    match a {
        Value::Int(k) => u128::from(k.unsigned_abs()),
        Value::Real(r) if r.is_finite() => r.abs() as u128,
        _ if a.is_list() && !a.is_atom() => (0..a.len().unwrap_or(0))
            .map(|i| widths(&a.at(i)))
            .fold(0, u128::saturating_add),
        _ => 0,
    }
}

/// How many atoms of `b` get formatted (at least one).
fn cells(b: &Value) -> u128 {
    if b.is_list() && !b.is_atom() {
        (0..b.len().unwrap_or(0))
            .map(|i| cells(&b.at(i)))
            .fold(0, u128::saturating_add)
            .max(1)
    } else {
        1
    }
}

fn format_cells(a: &Value, b: &Value) -> KResult<Value> {
    if a.is_list() && !a.is_atom() {
        let n = a.len().unwrap_or(0);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(format_cells(&a.at(i), b)?);
        }
        return Ok(Value::list(out));
    }
    if b.is_list() && !b.is_atom() {
        let n = b.len().unwrap_or(0);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(format_cells(a, &b.at(i))?);
        }
        return Ok(Value::list(out));
    }
    // Formatting one cell takes a few hundred ns: a long list must see the deadline.
    crate::watch::charge(1)?;
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

#[cfg(test)]
mod tests {
    use crate::{ErrorKind, Klong, readable};

    #[test]
    fn format2_of_a_long_list_to_a_large_width_is_refused_not_run_past_the_deadline() {
        // Found by the `klong_eval` fuzz target: each ran more than 20 s past a 200 ms deadline.
        for program in [
            "+$'7#:*$31#2~#322223$22$2223#,2",
            "+$#:*$31#2~#32#3222$233223#,2",
            "10000$!100000",
        ] {
            let e = Klong::new().eval(program).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Limit, "{program}: {e}");
        }
    }

    #[test]
    fn format2_within_the_budget_still_pads_every_element() {
        let mut k = Klong::new();
        assert_eq!(readable(&k.eval("3$[1 22]").unwrap()), "[\"1  \" \"22 \"]");
        assert_eq!(readable(&k.eval("[2 -3]$7").unwrap()), "[\"7 \" \"  7\"]");
        let v = k.eval("#*100$!1000").unwrap();
        assert_eq!(readable(&v), "100");
    }
}
