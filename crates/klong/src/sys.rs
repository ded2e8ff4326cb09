//! System functions (`.p`, `.E`, `.l`, channels, ...) and system variables.

use crate::error::{ErrorKind, KResult, KlongError, err, type_err};
use crate::func::{Func, NativeFn};
use crate::interp::Interp;
use crate::io::Chan;
use crate::lexer::{Lexer, Tok};
use crate::parser::{Globals, Module, Parser};
use crate::print::{display, readable};
use crate::value::Value;
use std::cell::Cell;
use std::rc::Rc;

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
    static START: Cell<Option<std::time::Instant>> = const { Cell::new(None) };
}

/// Make a native function value.
pub fn native(name: &str, arity: usize, f: NativeFn) -> Value {
    native_variadic(name, arity, arity, f)
}

/// Make a native function value accepting `arity..=max_arity` arguments.
pub fn native_variadic(name: &str, arity: usize, max_arity: usize, f: NativeFn) -> Value {
    Value::Func(Rc::new(Func::Native {
        name: name.to_string(),
        arity,
        max_arity: max_arity.max(arity),
        f,
    }))
}

fn def(
    it: &mut Interp,
    name: &str,
    arity: usize,
    f: impl Fn(&mut Interp, &[Value]) -> KResult<Value> + 'static,
) {
    let v = native(name, arity, Rc::new(f));
    it.set_var(name, v);
}

fn need(ok: bool, what: &str) -> KResult<()> {
    if ok {
        Ok(())
    } else {
        err(
            ErrorKind::Permission,
            format!("{what}: capability not granted; enable it in Capabilities to allow this"),
        )
    }
}

fn string_arg(name: &str, v: &Value) -> KResult<String> {
    match v {
        Value::Str(s) => Ok(s.iter().collect()),
        _ => type_err(name, &[v]),
    }
}

/// Read one constant (number, char, string, symbol, list, dictionary) from text.
/// Returns the value and the number of characters consumed.
pub fn read_const(text: &str) -> Option<(Value, usize)> {
    let mut g = Globals::default();
    let mut m: Option<Module> = None;
    let mut counter = 0usize;
    let mut lex = Lexer::new(text);
    lex.depth = 1;
    let mut p = Parser::new(lex, &mut g, &mut m, &mut counter);
    let v = match p.lex.next_const().ok()? {
        Tok::Num(n) => n.value(),
        Tok::Char(c) => Value::Char(c),
        Tok::Str(s) => Value::str(&s),
        Tok::Sym(s) => Value::sym(&s),
        Tok::LBrack => p.list_lit().ok()?,
        Tok::DictOpen => p.dict_lit().ok()?,
        _ => return None,
    };
    Some((v, p.lex.pos))
}

fn chan_arg(v: &Value) -> Option<usize> {
    match v {
        Value::Chan(n, _) => Some(*n),
        _ => None,
    }
}

/// Install system functions and variables.
pub fn install(it: &mut Interp) {
    START.with(|s| {
        if s.get().is_none() {
            s.set(Some(std::time::Instant::now()))
        }
    });
    it.set_var(".a", Value::nil());
    it.set_var(".cin", Value::Chan(0, true));
    it.set_var(".cout", Value::Chan(1, false));
    it.set_var(".cerr", Value::Chan(2, false));
    it.set_var(".cols", Value::Int(80));
    it.set_var(".e", Value::Real(f64::EPSILON));
    it.set_var(".edit", Value::Int(0));
    it.set_var(".fastpow", Value::Int(0));
    it.set_var(".h", Value::sym("unix"));
    it.set_var(".helpdb", Value::nil());
    def(it, ".p", 1, |it, a| {
        it.io.write(&display(&a[0]))?;
        it.io.write("\n")?;
        Ok(a[0].clone())
    });
    def(it, ".d", 1, |it, a| {
        it.io.write(&display(&a[0]))?;
        Ok(a[0].clone())
    });
    def(it, ".w", 1, |it, a| {
        it.io.write(&readable(&a[0]))?;
        Ok(a[0].clone())
    });
    def(it, ".fl", 0, |it, _| {
        it.io.flush();
        Ok(Value::nil())
    });
    def(it, ".rs", 1, |_, a| {
        let s = string_arg(".rs", &a[0])?;
        Ok(read_const(&s).map(|(v, _)| v).unwrap_or(Value::Undefined))
    });
    def(it, ".E", 1, |it, a| {
        let s = string_arg(".E", &a[0])?;
        Ok(it.run(&s)?.unwrap_or_else(Value::nil))
    });
    def(it, ".comment", 1, |it, a| {
        let s = string_arg(".comment", &a[0])?;
        it.pending_comment = Some(s);
        Ok(a[0].clone())
    });
    def(it, ".module", 1, |it, a| {
        match &a[0] {
            Value::Sym(name) => {
                if let Some(m) = &it.module {
                    return err(
                        ErrorKind::Other,
                        format!("nested module; contained in: :{}", m.name),
                    );
                }
                it.module = Some(Module {
                    name: name.to_string(),
                    names: Default::default(),
                });
            }
            v if !v.truthy() => {
                if it.module.take().is_none() {
                    return err(ErrorKind::Other, "no module open");
                }
            }
            v => return type_err(".module", &[v]),
        }
        Ok(a[0].clone())
    });
    def(it, ".pc", 0, |_, _| {
        let start = START
            .with(|s| s.get())
            .unwrap_or_else(std::time::Instant::now);
        Ok(Value::Real(start.elapsed().as_secs_f64()))
    });
    def(it, ".rn", 0, |_, _| {
        let mut x = RNG.with(|r| r.get());
        if x == 0 {
            x = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x9E3779B97F4A7C15)
                | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        RNG.with(|r| r.set(x));
        Ok(Value::Real((x >> 11) as f64 / (1u64 << 53) as f64))
    });
    def(it, ".tc", 1, |it, a| {
        let prev = Value::Chan(it.io.to, false);
        match (&a[0], chan_arg(&a[0])) {
            (_, Some(n)) => it.io.to = n,
            (v, None) if !v.truthy() => it.io.to = 1,
            (v, None) => return type_err(".tc", &[v]),
        }
        Ok(prev)
    });
    def(it, ".fc", 1, |it, a| {
        let prev = Value::Chan(it.io.from, true);
        match (&a[0], chan_arg(&a[0])) {
            (_, Some(n)) => it.io.from = n,
            (v, None) if !v.truthy() => it.io.from = 0,
            (v, None) => return type_err(".fc", &[v]),
        }
        Ok(prev)
    });
    def(it, ".cc", 1, |it, a| {
        match chan_arg(&a[0]) {
            Some(n) => it.io.close(n),
            None => return type_err(".cc", &[&a[0]]),
        }
        Ok(Value::nil())
    });
    def(it, ".oc", 1, |it, a| open_out(it, a, false));
    def(it, ".ac", 1, |it, a| open_out(it, a, true));
    def(it, ".ic", 1, |it, a| {
        need(it.caps.files, ".ic")?;
        let name = string_arg(".ic", &a[0])?;
        let text = std::fs::read_to_string(&name).map_err(|e| {
            KlongError::new(
                ErrorKind::Io,
                format!(".ic: failed to open input file: {name}: {e}"),
            )
        })?;
        let n = it.io.open(Chan::InFile {
            text: text.chars().collect(),
            pos: 0,
        });
        Ok(Value::Chan(n, true))
    });
    def(it, ".df", 1, |it, a| {
        need(it.caps.files, ".df")?;
        let name = string_arg(".df", &a[0])?;
        std::fs::remove_file(&name)
            .map_err(|_| KlongError::new(ErrorKind::Io, format!("could not delete: \"{name}\"")))?;
        Ok(a[0].clone())
    });
    def(it, ".rl", 0, |it, _| {
        need(it.io.from != 0 || it.caps.stdin, ".rl")?;
        Ok(it
            .io
            .read_line()?
            .map(|s| Value::str(&s))
            .unwrap_or_else(|| Value::str("")))
    });
    def(it, ".mi", 1, |it, _| {
        need(it.io.from != 0 || it.caps.stdin, ".mi")?;
        Ok(Value::Int(it.io.more_input() as i64))
    });
    def(it, ".r", 0, |it, _| {
        need(it.io.from != 0 || it.caps.stdin, ".r")?;
        if let Some((text, pos)) = it.io.file_text() {
            let rest: String = text[*pos..].iter().collect();
            if rest.trim().is_empty() {
                *pos = text.len();
                return Ok(Value::Eof);
            }
            return match read_const(&rest) {
                Some((v, used)) => {
                    let mut p = *pos + used;
                    while p < text.len() && text[p] != '\n' {
                        p += 1;
                    }
                    *pos = (p + 1).min(text.len());
                    Ok(v)
                }
                None => Ok(Value::Undefined),
            };
        }
        match it.io.read_line()? {
            None => Ok(Value::Eof),
            Some(line) => Ok(read_const(&line)
                .map(|(v, _)| v)
                .unwrap_or(Value::Undefined)),
        }
    });
    def(it, ".l", 1, |it, a| {
        need(it.caps.files, ".l")?;
        let name = string_arg(".l", &a[0])?;
        load(it, &name)
    });
    def(it, ".sys", 1, |it, a| {
        need(it.caps.system, ".sys")?;
        let cmd = string_arg(".sys", &a[0])?;
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .status()
            .map_err(|e| KlongError::new(ErrorKind::Io, format!(".sys: {e}")))?;
        Ok(Value::Int(st.code().unwrap_or(-1) as i64))
    });
    def(it, ".x", 1, |it, a| {
        need(it.caps.system, ".x")?;
        let code = if a[0].truthy() { 1 } else { 0 };
        Err(KlongError::new(ErrorKind::Exit(code), "exit"))
    });
}

fn open_out(it: &mut Interp, a: &[Value], append: bool) -> KResult<Value> {
    let name = if append { ".ac" } else { ".oc" };
    need(it.caps.files, name)?;
    let path = string_arg(name, &a[0])?;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .append(append)
        .truncate(!append)
        .open(&path)
        .map_err(|e| {
            KlongError::new(
                ErrorKind::Io,
                format!("{name}: failed to open output file: {path}: {e}"),
            )
        })?;
    let n = it.io.open(Chan::OutFile(std::io::BufWriter::new(f)));
    Ok(Value::Chan(n, false))
}

/// Load a source file using nmh's search rules (`KLONGPATH`).
pub fn load(it: &mut Interp, name: &str) -> KResult<Value> {
    let mut candidates = Vec::new();
    if name.starts_with('/') || name.starts_with('.') {
        candidates.push(name.to_string());
        candidates.push(format!("{name}.kg"));
    } else {
        for dir in it.klong_path.split(':') {
            candidates.push(format!("{dir}/{name}"));
            candidates.push(format!("{dir}/{name}.kg"));
        }
    }
    for c in candidates {
        if std::path::Path::new(&c).is_file() {
            let text = std::fs::read_to_string(&c).map_err(|e| {
                KlongError::new(ErrorKind::Io, format!(".l: cannot open file: {c}: {e}"))
            })?;
            return it
                .run(&text)
                .map(|v| v.unwrap_or_else(Value::nil))
                .map_err(|e| KlongError::new(e.kind, format!("\"{c}\": {}", e.msg)));
        }
    }
    err(ErrorKind::Io, format!(".l: cannot open file: {name}"))
}
