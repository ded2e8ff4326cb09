//! The two printers: readable (REPL, `.w`, messages) and display (`.d`, `.p`).

use crate::value::Value;
use std::fmt::Write;

/// Readable form, e.g. `"a""b"` for a string, `0cx` for a character.
pub fn readable(v: &Value) -> String {
    let mut s = String::new();
    write_value(&mut s, v, false, 0);
    s
}

/// Display form: characters and strings raw.
pub fn display(v: &Value) -> String {
    let mut s = String::new();
    write_value(&mut s, v, true, 0);
    s
}

/// Format a real the way nmh does: positional for moderate magnitudes, else scientific.
pub fn fmt_real(r: f64) -> String {
    if r.is_nan() {
        return ":undefined".into();
    }
    if r.is_infinite() {
        return if r > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if r == 0.0 {
        return "0.0".into();
    }
    let sci = format!("{:e}", r.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if r < 0.0 { "-" } else { "" };
    let e1 = exp + 1;
    if -18 < e1 && e1 <= 18 {
        let mut out = String::from(sign);
        if e1 <= 0 {
            out.push_str("0.");
            for _ in 0..(-e1) {
                out.push('0');
            }
            out.push_str(digits);
        } else {
            let e1 = e1 as usize;
            if digits.len() <= e1 {
                out.push_str(digits);
                for _ in digits.len()..e1 {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..e1]);
                out.push('.');
                out.push_str(&digits[e1..]);
            }
        }
        out
    } else {
        let rest = if digits.len() > 1 { &digits[1..] } else { "0" };
        let es = if exp < 0 { '-' } else { '+' };
        format!("{sign}{}.{rest}e{es}{}", &digits[..1], exp.abs())
    }
}

/// Values nested deeper than this print as `...` (protects the stack).
const MAX_PRINT_DEPTH: usize = 2000;

fn write_value(s: &mut String, v: &Value, disp: bool, depth: usize) {
    if depth > MAX_PRINT_DEPTH {
        s.push_str("...");
        return;
    }
    match v {
        Value::Int(i) => {
            let _ = write!(s, "{i}");
        }
        Value::Big(b) => {
            let _ = write!(s, "{b}");
        }
        Value::Real(r) => s.push_str(&fmt_real(*r)),
        Value::Char(c) => {
            if !disp {
                s.push_str("0c");
            }
            s.push(*c);
        }
        Value::Str(cs) => {
            if disp {
                s.extend(cs.iter());
            } else {
                s.push('"');
                for &c in cs.iter() {
                    if c == '"' {
                        s.push('"');
                    }
                    s.push(c);
                }
                s.push('"');
            }
        }
        Value::Sym(n) => {
            s.push(':');
            s.push_str(n);
        }
        Value::Ints(xs) => {
            s.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{x}");
            }
            s.push(']');
        }
        Value::Reals(xs) => {
            s.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push_str(&fmt_real(*x));
            }
            s.push(']');
        }
        Value::List(xs) => {
            s.push('[');
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                write_value(s, x, disp, depth + 1);
            }
            s.push(']');
        }
        Value::Dict(d) => {
            s.push_str(":{");
            for (i, (k, v)) in d.borrow().iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push('[');
                write_value(s, k, disp, depth + 1);
                s.push(' ');
                write_value(s, v, disp, depth + 1);
                s.push(']');
            }
            s.push('}');
        }
        Value::Func(f) => s.push_str(match f.arity() {
            0 => ":nilad",
            1 => ":monad",
            2 => ":dyad",
            _ => ":triad",
        }),
        Value::Chan(n, input) => {
            let _ = write!(s, ":{}.{n}", if *input { "inchan" } else { "outchan" });
        }
        Value::Undefined => s.push_str(":undefined"),
        Value::Eof => s.push_str(":eof"),
    }
}
