//! Recursive-descent parser producing [`Expr`] trees with variables resolved to slots.

use crate::ast::{Adverb, Expr, Op, Verb};
use crate::dict::Dict;
use crate::error::{ErrorKind, KResult, err};
use crate::func::Lambda;
use crate::lexer::{Lexer, Tok};
use crate::value::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Maximum nesting of expressions accepted by the parser.
const MAX_NEST: usize = 100_000;

/// Approximate address of the current stack frame (used to bound recursion by stack use).
#[inline(always)]
pub fn stack_addr() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Global variable slots, shared by parser and interpreter.
#[derive(Default)]
pub struct Globals {
    /// Display names of the slots.
    pub names: Vec<Rc<str>>,
    /// Name to slot for user-visible names.
    pub ids: HashMap<String, usize>,
    /// Current values (`None` = unset).
    pub vals: Vec<Option<Value>>,
}

impl Globals {
    /// Slot of a global name, creating it when new.
    pub fn slot(&mut self, name: &str) -> usize {
        if let Some(&i) = self.ids.get(name) {
            return i;
        }
        let i = self.fresh(name);
        self.ids.insert(name.to_string(), i);
        i
    }
    /// A fresh anonymous slot (for locals and module-private variables).
    pub fn fresh(&mut self, display: &str) -> usize {
        self.names.push(Rc::from(display));
        self.vals.push(None);
        self.vals.len() - 1
    }
    /// True when the named global currently has a value.
    pub fn defined(&self, name: &str) -> bool {
        self.ids
            .get(name)
            .is_some_and(|&i| self.vals.get(i).is_some_and(|v| v.is_some()))
    }
}

/// An open module: a compile-time namespace.
pub struct Module {
    /// Module name.
    pub name: String,
    /// Module-private slots by plain name.
    pub names: HashMap<String, usize>,
}

struct FnScope {
    uses: [bool; 3],
    locals: HashMap<String, usize>,
}

/// Parser over one source text.
pub struct Parser<'a> {
    /// The token source.
    pub lex: Lexer,
    g: &'a mut Globals,
    module: &'a mut Option<Module>,
    scopes: Vec<FnScope>,
    nest: usize,
    local_counter: &'a mut usize,
    /// Stack address at the start of parsing and the allowed stack use in bytes.
    pub stack: (usize, usize),
}

fn syn<T>(msg: impl Into<String>) -> KResult<T> {
    err(ErrorKind::Syntax, msg)
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Num(n) => crate::print::readable(&n.value()),
        Tok::Char(c) => format!("0c{c}"),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Sym(s) => format!(":{s}"),
        Tok::Name(s) => s.clone(),
        Tok::Op(s) => format!(":{s}"),
        Tok::LParen => ":(".into(),
        Tok::CallOpen => "::(".into(),
        Tok::RParen => ":)".into(),
        Tok::LBrack => ":[".into(),
        Tok::RBrack => ":]".into(),
        Tok::LBrace => ":{".into(),
        Tok::RBrace => ":}".into(),
        Tok::DictOpen => "::{".into(),
        Tok::CondOpen => "::[".into(),
        Tok::CondElse => "::|".into(),
        Tok::Semi => ":;".into(),
        Tok::Newline => ":newline".into(),
        Tok::Eof => ":eof".into(),
    }
}

fn adverb_of(t: &Tok) -> Option<Adverb> {
    match t {
        Tok::Op(s) => Adverb::from_str(s),
        _ => None,
    }
}

impl<'a> Parser<'a> {
    /// A parser over `lex` using the interpreter's globals and module state.
    pub fn new(
        lex: Lexer,
        g: &'a mut Globals,
        module: &'a mut Option<Module>,
        local_counter: &'a mut usize,
    ) -> Parser<'a> {
        Parser {
            lex,
            g,
            module,
            scopes: Vec::new(),
            nest: 0,
            local_counter,
            stack: (stack_addr(), 512 << 10),
        }
    }

    /// Parse the next top-level statement; `None` at end of input.
    pub fn statement(&mut self) -> KResult<Option<Expr>> {
        loop {
            match self.lex.peek()? {
                Tok::Newline => {
                    self.lex.next()?;
                }
                Tok::Eof => return Ok(None),
                _ => break,
            }
        }
        let e = self.expr()?;
        match self.lex.next()? {
            Tok::Semi | Tok::Newline | Tok::Eof => Ok(Some(e)),
            t => syn(format!("syntax error: {}", tok_text(&t))),
        }
    }

    fn enter(&mut self) -> KResult<()> {
        self.nest += 1;
        if self.nest > MAX_NEST || stack_addr().abs_diff(self.stack.0) > self.stack.1 {
            return err(
                ErrorKind::Limit,
                "syntax error: expression nested too deeply",
            );
        }
        Ok(())
    }

    fn expr(&mut self) -> KResult<Expr> {
        self.enter()?;
        let r = self.expr_inner();
        self.nest -= 1;
        r
    }

    fn expr_inner(&mut self) -> KResult<Expr> {
        let a = self.factor()?;
        let t = self.lex.peek()?;
        match &t {
            Tok::RParen
            | Tok::RBrack
            | Tok::RBrace
            | Tok::Semi
            | Tok::Newline
            | Tok::Eof
            | Tok::CondElse => Ok(a),
            Tok::Op(s) => {
                if let Some(adv) = Adverb::from_str(s) {
                    return syn(format!("missing verb: :{}", adverb_str(adv)));
                }
                if s == "::" {
                    self.lex.next()?;
                    let rhs = self.expr()?;
                    return match a {
                        Expr::Arg(_) => syn("'x' is read-only"),
                        _ => Ok(Expr::BadDefine(Box::new(a), Box::new(rhs))),
                    };
                }
                let op = match Op::from_str(s) {
                    Some(op) => op,
                    None => return syn(format!("dyad expected: {}", tok_text(&t))),
                };
                self.lex.next()?;
                let advs = self.adverbs()?;
                let rhs = self.expr()?;
                if advs.is_empty() {
                    Ok(Expr::Dyad(op, Box::new(a), Box::new(rhs)))
                } else {
                    Ok(Expr::AdvDyad(
                        Verb::Op(op),
                        advs,
                        Box::new(a),
                        Box::new(rhs),
                    ))
                }
            }
            Tok::Name(_) | Tok::LBrace => {
                let t = self.lex.next()?;
                let mut verb = match t {
                    Tok::Name(n) => self.name_ref(&n),
                    _ => self.lambda()?,
                };
                if matches!(self.lex.peek()?, Tok::LParen | Tok::CallOpen) {
                    self.lex.next()?;
                    verb = self.args(verb)?;
                }
                let advs = self.adverbs()?;
                let rhs = self.expr()?;
                if advs.is_empty() {
                    Ok(Expr::Call(Box::new(verb), vec![a, rhs]))
                } else {
                    Ok(Expr::AdvDyad(
                        Verb::Expr(Box::new(verb)),
                        advs,
                        Box::new(a),
                        Box::new(rhs),
                    ))
                }
            }
            _ => syn(format!("syntax error: {}", tok_text(&t))),
        }
    }

    fn adverbs(&mut self) -> KResult<Vec<Adverb>> {
        let mut v = Vec::new();
        while let Some(a) = adverb_of(&self.lex.peek()?) {
            self.lex.next()?;
            v.push(a);
        }
        Ok(v)
    }

    fn factor(&mut self) -> KResult<Expr> {
        let t = self.lex.next()?;
        match t {
            Tok::Num(n) => Ok(Expr::Const(n.value())),
            Tok::Char(c) => Ok(Expr::Const(Value::Char(c))),
            Tok::Str(s) => Ok(Expr::Const(Value::str(&s))),
            Tok::Sym(s) => Ok(Expr::Const(Value::sym(&s))),
            Tok::LBrack => Ok(Expr::Const(self.list_lit()?)),
            Tok::DictOpen => Ok(Expr::DictLit(self.dict_lit()?)),
            Tok::Name(n) => {
                if self.lex.peek()? == Tok::Op("::".into()) {
                    self.lex.next()?;
                    if self.scopes.last().is_some() && matches!(n.as_str(), "x" | "y" | "z") {
                        return syn(format!("'{n}' is read-only"));
                    }
                    let (slot, also) = self.define_target(&n);
                    let rhs = self.expr()?;
                    return Ok(Expr::Define(slot, also, Box::new(rhs)));
                }
                let e = self.name_ref(&n);
                self.postfix(e)
            }
            Tok::LBrace => {
                let e = self.lambda()?;
                self.postfix(e)
            }
            Tok::LParen => {
                let e = self.expr()?;
                match self.lex.next()? {
                    Tok::RParen => Ok(e),
                    t => syn(format!("expected :), got: {}", tok_text(&t))),
                }
            }
            Tok::CondOpen => self.cond(),
            Tok::Op(s) => {
                if let Some(adv) = Adverb::from_str(&s) {
                    return syn(format!("missing verb: :{}", adverb_str(adv)));
                }
                let op = match Op::from_str(&s) {
                    Some(op) => op,
                    None => return syn(format!("monad expected: :{s}")),
                };
                let advs = self.adverbs()?;
                if advs.is_empty() {
                    if !op.has_monad() {
                        return syn(format!("expected monad, got: :{s}"));
                    }
                    let rhs = self.expr()?;
                    Ok(Expr::Monad(op, Box::new(rhs)))
                } else {
                    let rhs = self.expr()?;
                    Ok(Expr::AdvMonad(Verb::Op(op), advs, Box::new(rhs)))
                }
            }
            t => syn(format!("syntax error: {}", tok_text(&t))),
        }
    }

    fn postfix(&mut self, mut e: Expr) -> KResult<Expr> {
        loop {
            match self.lex.peek()? {
                Tok::LParen | Tok::CallOpen => {
                    if matches!(e, Expr::Call(..)) {
                        return syn("dyad expected: :(");
                    }
                    self.lex.next()?;
                    e = self.args(e)?;
                }
                Tok::Op(s) if Adverb::from_str(&s).is_some() => {
                    if matches!(e, Expr::Call(..)) {
                        return syn(format!("missing verb: :{s}"));
                    }
                    let advs = self.adverbs()?;
                    let rhs = self.expr()?;
                    return Ok(Expr::AdvMonad(Verb::Expr(Box::new(e)), advs, Box::new(rhs)));
                }
                _ => return Ok(e),
            }
        }
    }

    /// Parse an argument list after `(`; returns a call or a projection.
    fn args(&mut self, f: Expr) -> KResult<Expr> {
        let saved_depth = self.lex.depth;
        let mut args: Vec<Option<Expr>> = Vec::new();
        if self.lex.peek()? == Tok::RParen {
            self.lex.next()?;
            return Ok(Expr::Call(Box::new(f), Vec::new()));
        }
        loop {
            match self.lex.peek()? {
                Tok::Semi | Tok::RParen => args.push(None),
                _ => args.push(Some(self.expr()?)),
            }
            match self.lex.next()? {
                Tok::Semi => continue,
                Tok::RParen => break,
                t => return syn(format!("expected :), got: {}", tok_text(&t))),
            }
        }
        self.lex.depth = saved_depth;
        if args.len() > 3 {
            return syn("too many arguments");
        }
        if args.iter().all(|a| a.is_some()) {
            Ok(Expr::Call(
                Box::new(f),
                args.into_iter().flatten().collect(),
            ))
        } else if args.iter().all(|a| a.is_none()) {
            syn("too few arguments in projection")
        } else {
            Ok(Expr::Proj(Box::new(f), args))
        }
    }

    fn cond(&mut self) -> KResult<Expr> {
        self.lex.depth += 1;
        let mut pairs = Vec::new();
        let alt = loop {
            let p = self.expr()?;
            self.expect(Tok::Semi)?;
            let c = self.expr()?;
            match self.lex.next()? {
                Tok::CondElse => pairs.push((p, c)),
                Tok::Semi => {
                    pairs.push((p, c));
                    break self.expr()?;
                }
                t => return syn(format!("expected :;, got: {}", tok_text(&t))),
            }
        };
        self.lex.depth -= 1;
        self.expect(Tok::RBrack)?;
        Ok(Expr::Cond(pairs, Box::new(alt)))
    }

    fn expect(&mut self, want: Tok) -> KResult<()> {
        let t = self.lex.next()?;
        if t == want {
            Ok(())
        } else {
            syn(format!(
                "expected {}, got: {}",
                tok_text(&want),
                tok_text(&t)
            ))
        }
    }

    fn lambda(&mut self) -> KResult<Expr> {
        self.enter()?;
        self.lex.depth += 1;
        self.scopes.push(FnScope {
            uses: [false; 3],
            locals: HashMap::new(),
        });
        let r = self.lambda_body();
        self.scopes.pop();
        self.lex.depth -= 1;
        self.nest -= 1;
        r
    }

    fn lambda_body(&mut self) -> KResult<Expr> {
        let mut locals = Vec::new();
        if self.lex.peek()? == Tok::LBrack {
            let saved = self.lex.save();
            self.lex.next()?;
            let lit = self.list_lit()?;
            let names: Option<Vec<String>> = lit
                .items()
                .iter()
                .map(|v| match v {
                    Value::Sym(s)
                        if !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '.') =>
                    {
                        Some(s.to_string())
                    }
                    _ => None,
                })
                .collect();
            match (names, self.lex.peek()?) {
                (Some(names), Tok::Semi) if lit.is_list() => {
                    self.lex.next()?;
                    for n in names {
                        *self.local_counter += 1;
                        let slot = self.g.fresh(&format!("{n}`{}", self.local_counter));
                        locals.push(slot);
                        if let Some(s) = self.scopes.last_mut() {
                            s.locals.insert(n, slot);
                        }
                    }
                }
                _ => self.lex = saved,
            }
        }
        let mut body = Vec::new();
        loop {
            if self.lex.peek()? == Tok::RBrace && body.is_empty() {
                return syn("syntax error: empty function");
            }
            body.push(self.expr()?);
            match self.lex.next()? {
                Tok::Semi => continue,
                Tok::RBrace => break,
                t => return syn(format!("expected :}}, got: {}", tok_text(&t))),
            }
        }
        let uses = self.scopes.last().map(|s| s.uses).unwrap_or_default();
        let arity = if uses[2] {
            3
        } else if uses[1] {
            2
        } else if uses[0] {
            1
        } else {
            0
        };
        let mut body = if body.len() == 1 {
            body.pop().unwrap_or(Expr::Const(Value::nil()))
        } else {
            Expr::Seq(body)
        };
        crate::moves::move_single_reads(&mut body);
        Ok(Expr::Lambda(Rc::new(Lambda {
            arity,
            locals,
            body,
        })))
    }

    fn name_ref(&mut self, n: &str) -> Expr {
        if !self.scopes.is_empty() {
            let idx = match n {
                "x" => Some(0),
                "y" => Some(1),
                "z" => Some(2),
                _ => None,
            };
            if let Some(i) = idx {
                if let Some(s) = self.scopes.last_mut() {
                    s.uses[i] = true;
                }
                return Expr::Arg(i);
            }
        }
        if n == ".f" {
            return Expr::SelfFn;
        }
        for s in self.scopes.iter().rev() {
            if let Some(&slot) = s.locals.get(n) {
                return Expr::Var(slot);
            }
        }
        if let Some(m) = self.module.as_mut() {
            if let Some(&slot) = m.names.get(n) {
                return Expr::Var(slot);
            }
            if !self.g.defined(n) {
                let slot = self.g.fresh(&format!("{n}`{}", m.name));
                m.names.insert(n.to_string(), slot);
                return Expr::Var(slot);
            }
        }
        Expr::Var(self.g.slot(n))
    }

    fn define_target(&mut self, n: &str) -> (usize, Option<usize>) {
        for s in self.scopes.iter().rev() {
            if let Some(&slot) = s.locals.get(n) {
                return (slot, None);
            }
        }
        let top = self.scopes.is_empty();
        if let Some(m) = self.module.as_mut() {
            if let Some(&slot) = m.names.get(n) {
                let also = if top { Some(self.g.slot(n)) } else { None };
                return (slot, also);
            }
            if top {
                let slot = self.g.fresh(&format!("{n}`{}", m.name));
                m.names.insert(n.to_string(), slot);
                return (slot, Some(self.g.slot(n)));
            }
        }
        (self.g.slot(n), None)
    }

    /// Parse a list literal after `[` (constants only).
    pub fn list_lit(&mut self) -> KResult<Value> {
        self.enter()?;
        self.lex.depth += 1;
        let mut items = Vec::new();
        let r = loop {
            let t = self.lex.next_const()?;
            let v = match t {
                Tok::RBrack => break Ok(()),
                Tok::Eof => break syn("unexpected end of list"),
                Tok::Num(n) => n.value(),
                Tok::Char(c) => Value::Char(c),
                Tok::Str(s) => Value::str(&s),
                Tok::Sym(s) | Tok::Name(s) | Tok::Op(s) => Value::sym(&s),
                Tok::LBrack => self.list_lit()?,
                Tok::DictOpen => self.dict_lit()?,
                other => {
                    let s = tok_text(&other);
                    Value::sym(s.trim_start_matches(':'))
                }
            };
            items.push(v);
        };
        self.lex.depth -= 1;
        self.nest -= 1;
        r?;
        Ok(Value::list(items))
    }

    /// Parse a dictionary literal after `:{`.
    pub fn dict_lit(&mut self) -> KResult<Value> {
        self.lex.depth += 1;
        let mut d = Dict::new();
        loop {
            match self.lex.next_const()? {
                Tok::RBrace => break,
                Tok::LBrack => {
                    let e = self.list_lit()?;
                    if e.len() != Some(2) {
                        return syn(format!(
                            "malformed dictionary entry: {}",
                            crate::print::readable(&e)
                        ));
                    }
                    let k = e.at(0);
                    if matches!(k, Value::Dict(_)) {
                        return err(ErrorKind::Type, "bad dictionary key");
                    }
                    d.insert(k, e.at(1));
                }
                Tok::Eof => return syn("unexpected end of dict"),
                t => return syn(format!("malformed dictionary entry: {}", tok_text(&t))),
            }
        }
        self.lex.depth -= 1;
        Ok(Value::Dict(Rc::new(RefCell::new(d))))
    }
}

/// Source text of an adverb, for messages.
pub fn adverb_str(a: Adverb) -> &'static str {
    match a {
        Adverb::Each => "'",
        Adverb::Over => "/",
        Adverb::Scan => "\\",
        Adverb::EachPair => ":'",
        Adverb::EachLeft => ":\\",
        Adverb::EachRight => ":/",
        Adverb::Converge => ":~",
        Adverb::ScanConverge => "\\~",
        Adverb::Iterate => ":*",
        Adverb::ScanIterate => "\\*",
    }
}
