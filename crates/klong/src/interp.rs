//! The evaluator: expressions, function calls, limits and interruption.

use crate::ast::{Adverb, Expr, Op, Verb};
use crate::error::{ErrorKind, KResult, err};
use crate::func::Func;
use crate::io::Channels;
use crate::lexer::Lexer;
use crate::parser::{Globals, Module, Parser};
use crate::value::Value;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What the interpreter may touch outside itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// Files: `.ic .oc .ac .df .l` (class F).
    pub files: bool,
    /// Standard input: `.r .rl .mi` on `.cin` (class I).
    pub stdin: bool,
    /// Operating system: `.sys` and `.x` (class S).
    pub system: bool,
}

impl Capabilities {
    /// No file, stdin or OS access (the default for embedding).
    pub fn none() -> Capabilities {
        Capabilities::default()
    }
    /// Everything (the default for the `klong` binary).
    pub fn all() -> Capabilities {
        Capabilities {
            files: true,
            stdin: true,
            system: true,
        }
    }
}

struct Frame {
    base: usize,
    func: Value,
}

/// A verb as used by adverbs.
#[derive(Clone)]
pub enum Callable {
    /// A built-in operator.
    Op(Op),
    /// A function value.
    Fn(Value),
    /// A verb with an adverb: always a monad.
    Derived(Rc<Callable>, Adverb),
}

/// Interpreter state. Not `Send`: values use `Rc`.
pub struct Interp {
    /// Variable slots.
    pub g: Globals,
    /// The open module, if any.
    pub module: Option<Module>,
    local_counter: usize,
    args: Vec<Value>,
    frames: Vec<Frame>,
    /// Maximum function-call depth.
    pub max_depth: usize,
    /// Maximum number of elements a single operation may allocate.
    pub max_alloc: usize,
    /// Granted capabilities.
    pub caps: Capabilities,
    /// Set to `true` from anywhere to interrupt evaluation.
    pub interrupt: Arc<AtomicBool>,
    /// Evaluation fails with `interrupted` after this instant.
    pub deadline: Option<Instant>,
    steps: u32,
    /// I/O channels and the output sink.
    pub io: Channels,
    /// Set by `.comment`: skip source lines up to this marker.
    pub pending_comment: Option<String>,
    /// Search path for `.l`.
    pub klong_path: String,
    /// Stack address when the outermost evaluation started.
    stack_base: usize,
    /// Maximum stack use in bytes before recursion fails with an error.
    pub stack_limit: usize,
    run_depth: usize,
}

impl Interp {
    /// A fresh interpreter with the given capabilities.
    pub fn new(caps: Capabilities) -> Interp {
        let mut it = Interp {
            g: Globals::default(),
            module: None,
            local_counter: 0,
            args: Vec::new(),
            frames: Vec::new(),
            max_depth: 2000,
            max_alloc: 1 << 27,
            caps,
            interrupt: Arc::new(AtomicBool::new(false)),
            deadline: None,
            steps: 0,
            io: Channels::new(),
            pending_comment: None,
            klong_path: std::env::var("KLONGPATH").unwrap_or_else(|_| ".:lib".into()),
            stack_base: crate::parser::stack_addr(),
            stack_limit: 1 << 20,
            run_depth: 0,
        };
        crate::sys::install(&mut it);
        it
    }

    /// Set a global variable.
    pub fn set_var(&mut self, name: &str, v: Value) {
        let s = self.g.slot(name);
        self.g.vals[s] = Some(v);
    }

    /// Read a global variable.
    pub fn get_var(&self, name: &str) -> Option<Value> {
        self.g
            .ids
            .get(name)
            .and_then(|&i| self.g.vals.get(i).cloned().flatten())
    }

    /// Parse and evaluate a program, statement by statement; returns the last value.
    pub fn run(&mut self, src: &str) -> KResult<Option<Value>> {
        let _limits = if self.outermost() {
            self.stack_base = crate::parser::stack_addr();
            Some(self.enter_limits())
        } else {
            None
        };
        self.run_depth += 1;
        let r = self.run_inner(src);
        self.run_depth -= 1;
        r
    }

    /// True when no evaluation is running: the embedder is starting one.
    fn outermost(&self) -> bool {
        self.frames.is_empty() && self.run_depth == 0
    }

    /// Show this evaluation's deadline and interrupt flag to the primitives (see
    /// [`crate::watch`]) until the guard is dropped.
    fn enter_limits(&self) -> crate::watch::Guard {
        crate::watch::enter(self.deadline, self.interrupt.clone())
    }

    fn run_inner(&mut self, src: &str) -> KResult<Option<Value>> {
        let mut lex = Lexer::new(src);
        let mut last = None;
        loop {
            let stmt = {
                let mut p =
                    Parser::new(lex, &mut self.g, &mut self.module, &mut self.local_counter);
                p.stack = (self.stack_base, self.stack_limit);
                let r = p.statement();
                lex = p.lex;
                r?
            };
            let Some(e) = stmt else { break };
            let v = self.eval(&e)?;
            last = Some(v);
            if let Some(end) = self.pending_comment.take() {
                lex.skip_comment(&end)?;
            }
        }
        Ok(last)
    }

    /// Count a step; every 256 steps check the interrupt flag and the deadline.
    pub fn tick(&mut self) -> KResult<()> {
        self.steps = self.steps.wrapping_add(1);
        if self.steps & 255 == 0 {
            if self.interrupt.load(Ordering::Relaxed) {
                self.interrupt.store(false, Ordering::Relaxed);
                return err(ErrorKind::Interrupted, "interrupted");
            }
            if let Some(d) = self.deadline
                && Instant::now() >= d
            {
                return err(ErrorKind::Interrupted, "interrupted: time limit exceeded");
            }
        }
        Ok(())
    }

    /// Check that an allocation of `n` elements is within limits, and charge building them
    /// to the deadline (see [`crate::watch`]).
    pub fn check_alloc(&self, n: usize) -> KResult<()> {
        crate::watch::charge(n)?;
        if n > self.max_alloc {
            return err(
                ErrorKind::Limit,
                format!(
                    "allocation limit: {n} elements exceeds {}; use smaller data",
                    self.max_alloc
                ),
            );
        }
        Ok(())
    }

    /// Evaluate an expression.
    pub fn eval(&mut self, e: &Expr) -> KResult<Value> {
        // Keep this frame small: complex arms live in separate non-inlined functions, so deep
        // Klong recursion uses little Rust stack per level.
        match e {
            Expr::Const(v) => Ok(v.clone()),
            Expr::Var(s) => match self.g.vals.get(*s) {
                Some(Some(v)) => Ok(v.clone()),
                _ => self.undefined(*s),
            },
            Expr::Arg(i) => match self.frames.last() {
                Some(f) => Ok(self
                    .args
                    .get(f.base + i)
                    .cloned()
                    .unwrap_or_else(Value::nil)),
                None => err(
                    ErrorKind::Undefined,
                    "undefined: argument outside a function",
                ),
            },
            Expr::ArgMove(i) => match self.frames.last() {
                Some(f) => Ok(self
                    .args
                    .get_mut(f.base + i)
                    .map(|v| std::mem::replace(v, Value::Undefined))
                    .unwrap_or_else(Value::nil)),
                None => err(
                    ErrorKind::Undefined,
                    "undefined: argument outside a function",
                ),
            },
            Expr::Monad(op, a) => {
                let a = self.eval(a)?;
                crate::verbs::monad(self, *op, a)
            }
            Expr::Dyad(op, a, b) => self.eval_dyad(*op, a, b),
            Expr::Call(f, args) => self.eval_call(f, args),
            Expr::Cond(pairs, alt) => self.eval_cond(pairs, alt),
            _ => self.eval_other(e),
        }
    }

    #[inline(never)]
    fn undefined(&self, s: usize) -> KResult<Value> {
        err(
            ErrorKind::Undefined,
            format!(
                "undefined: {}",
                self.g.names.get(s).map(|n| n.as_ref()).unwrap_or("?")
            ),
        )
    }

    #[inline(never)]
    fn eval_dyad(&mut self, op: Op, a: &Expr, b: &Expr) -> KResult<Value> {
        if let (Op::Comma, Expr::Dyad(Op::Comma, b, c)) = (op, b) {
            return crate::fused::join_pair(self, a, b, c);
        }
        let b = self.eval(b)?;
        let a = self.eval(a)?;
        crate::verbs::dyad(self, op, a, b)
    }

    #[inline(never)]
    fn eval_call(&mut self, f: &Expr, args: &[Expr]) -> KResult<Value> {
        let fv = self.eval(f)?;
        let base = self.args.len();
        for a in args {
            match self.eval(a) {
                Ok(v) => self.args.push(v),
                Err(e) => {
                    self.args.truncate(base);
                    return Err(e);
                }
            }
        }
        self.invoke(&fv, args.len())
    }

    #[inline(never)]
    fn eval_cond(&mut self, pairs: &[(Expr, Expr)], alt: &Expr) -> KResult<Value> {
        for (p, c) in pairs {
            if self.eval(p)?.truthy() {
                return self.eval(c);
            }
        }
        self.eval(alt)
    }

    #[inline(never)]
    fn eval_other(&mut self, e: &Expr) -> KResult<Value> {
        match e {
            Expr::DictLit(v) => Ok(match v {
                Value::Dict(d) => Value::Dict(Rc::new(std::cell::RefCell::new(d.borrow().clone()))),
                other => other.clone(),
            }),
            Expr::SelfFn => Ok(self
                .frames
                .last()
                .map(|f| f.func.clone())
                .unwrap_or_else(Value::nil)),
            Expr::Lambda(l) => Ok(Value::Func(Rc::new(Func::Lambda(l.clone())))),
            Expr::Define(slot, also, e) => {
                let v = self.eval(e)?;
                if let Some(g) = also {
                    self.g.vals[*g] = Some(v.clone());
                }
                self.g.vals[*slot] = Some(v.clone());
                Ok(v)
            }
            Expr::BadDefine(a, b) => {
                let _ = self.eval(b)?;
                let a = self.eval(a)?;
                crate::error::type_err("define", &[&a])
            }
            Expr::Proj(f, args) => {
                let fv = self.eval(f)?;
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(match a {
                        Some(e) => Some(self.eval(e)?),
                        None => None,
                    });
                }
                match &fv {
                    Value::Func(func) if func.arity() == vals.len() => {}
                    Value::Func(_) => {
                        return err(
                            ErrorKind::Arity,
                            format!("wrong arity: {}", crate::print::readable(&fv)),
                        );
                    }
                    _ => return err(ErrorKind::Type, "call: type error"),
                }
                Ok(Value::Func(Rc::new(Func::Proj(fv, vals))))
            }
            Expr::AdvMonad(verb, advs, x) => {
                if let Some(r) = crate::fused::adv_monad(self, verb, advs, x) {
                    return r;
                }
                let x = self.eval(x)?;
                let c = self.verb(verb)?;
                let (last, c) = chain(c, advs);
                crate::adverbs::monadic(self, last, &c, x)
            }
            Expr::AdvDyad(verb, advs, a, b) => {
                let b = self.eval(b)?;
                let a = self.eval(a)?;
                let c = self.verb(verb)?;
                let (last, c) = chain(c, advs);
                crate::adverbs::dyadic(self, last, &c, a, b)
            }
            Expr::Seq(es) => {
                let mut last = Value::nil();
                for e in es {
                    last = self.eval(e)?;
                }
                Ok(last)
            }
            Expr::Const(_)
            | Expr::Var(_)
            | Expr::Arg(_)
            | Expr::ArgMove(_)
            | Expr::Monad(..)
            | Expr::Dyad(..)
            | Expr::Call(..)
            | Expr::Cond(..) => self.eval(e),
        }
    }

    fn verb(&mut self, v: &Verb) -> KResult<Callable> {
        Ok(match v {
            Verb::Op(op) => Callable::Op(*op),
            Verb::Expr(e) => Callable::Fn(self.eval(e)?),
        })
    }

    /// Call a callable with one argument.
    pub fn call1(&mut self, c: &Callable, x: Value) -> KResult<Value> {
        match c {
            Callable::Op(op) => crate::verbs::monad(self, *op, x),
            Callable::Fn(f) => {
                self.args.push(x);
                self.invoke(f, 1)
            }
            Callable::Derived(inner, adv) => crate::adverbs::monadic(self, *adv, inner, x),
        }
    }

    /// Call a callable with two arguments.
    pub fn call2(&mut self, c: &Callable, x: Value, y: Value) -> KResult<Value> {
        match c {
            Callable::Op(op) => crate::verbs::dyad(self, *op, x, y),
            Callable::Fn(f) => {
                self.args.push(x);
                self.args.push(y);
                self.invoke(f, 2)
            }
            Callable::Derived(..) => err(ErrorKind::Arity, "monad expected in chained adverb"),
        }
    }

    /// Call a function value with arguments.
    pub fn call(&mut self, f: &Value, args: Vec<Value>) -> KResult<Value> {
        let n = args.len();
        self.args.extend(args);
        self.invoke(f, n)
    }

    /// Call `f` with the top `n` values of the argument stack as its arguments; they are
    /// removed from the stack whatever the outcome. No allocation on the lambda path.
    fn invoke(&mut self, f: &Value, n: usize) -> KResult<Value> {
        let base = self.args.len().saturating_sub(n);
        let r = self.invoke_inner(f, n, base);
        self.args.truncate(base);
        r
    }

    /// An embedder's call of a function value: evaluation starts here.
    #[inline(never)]
    fn invoke_outermost(&mut self, f: &Value, n: usize, base: usize) -> KResult<Value> {
        self.stack_base = crate::parser::stack_addr();
        let _limits = self.enter_limits();
        self.run_depth += 1;
        let r = self.invoke_inner(f, n, base);
        self.run_depth -= 1;
        r
    }

    fn invoke_inner(&mut self, f: &Value, n: usize, base: usize) -> KResult<Value> {
        if self.outermost() {
            return self.invoke_outermost(f, n, base);
        }
        let func = match f {
            Value::Func(func) => func,
            _ => return err(ErrorKind::Type, "call: type error"),
        };
        match func.as_ref() {
            Func::Lambda(l) => {
                if n != l.arity {
                    return self.arity_err(f);
                }
                self.call_lambda(f, l, base)
            }
            Func::Proj(inner, pargs) => {
                let holes = pargs.iter().filter(|a| a.is_none()).count();
                if n != holes {
                    return self.arity_err(f);
                }
                let supplied: Vec<Value> = self.args.drain(base..).collect();
                let mut it = supplied.into_iter();
                for a in pargs.iter() {
                    let v = match a {
                        Some(v) => v.clone(),
                        None => it.next().unwrap_or_else(Value::nil),
                    };
                    self.args.push(v);
                }
                let inner = inner.clone();
                self.invoke(&inner, pargs.len())
            }
            Func::Native {
                arity,
                max_arity,
                f: nf,
                ..
            } => {
                if n < *arity || n > *max_arity {
                    return self.arity_err(f);
                }
                self.tick()?;
                let args: Vec<Value> = self.args[base..].to_vec();
                let nf = nf.clone();
                nf(self, &args)
            }
        }
    }

    #[inline(never)]
    fn arity_err(&self, f: &Value) -> KResult<Value> {
        err(
            ErrorKind::Arity,
            format!("wrong arity: {}", crate::print::readable(f)),
        )
    }

    #[inline(never)]
    fn call_lambda(
        &mut self,
        f: &Value,
        l: &Rc<crate::func::Lambda>,
        base: usize,
    ) -> KResult<Value> {
        self.tick()?;
        if self.frames.len() >= self.max_depth
            || crate::parser::stack_addr().abs_diff(self.stack_base) > self.stack_limit
        {
            return err(
                ErrorKind::Limit,
                format!(
                    "recursion too deep (call depth {} at the depth or stack limit); use an iterative form",
                    self.frames.len()
                ),
            );
        }
        self.frames.push(Frame {
            base,
            func: f.clone(),
        });
        let r = if l.locals.is_empty() {
            self.eval(&l.body)
        } else {
            let saved: Vec<Option<Value>> =
                l.locals.iter().map(|&s| self.g.vals[s].take()).collect();
            let r = self.eval(&l.body);
            for (&s, v) in l.locals.iter().zip(saved) {
                self.g.vals[s] = v;
            }
            r
        };
        self.frames.pop();
        r
    }

    /// Apply `f@a`: a list supplies the arguments, an atom is the single argument.
    pub fn apply(&mut self, f: &Value, a: Value) -> KResult<Value> {
        let arity = match f {
            Value::Func(func) => func.arity(),
            _ => return err(ErrorKind::Type, "call: type error"),
        };
        let args = if a.is_list() || matches!(&a, Value::List(v) if v.is_empty()) {
            a.items()
        } else {
            vec![a.clone()]
        };
        if args.len() != arity {
            return err(
                ErrorKind::Arity,
                format!(
                    "apply: wrong number of arguments: {}",
                    crate::print::readable(&a)
                ),
            );
        }
        self.call(f, args)
    }
}

fn chain(base: Callable, advs: &[Adverb]) -> (Adverb, Callable) {
    let mut c = base;
    for a in &advs[..advs.len() - 1] {
        c = Callable::Derived(Rc::new(c), *a);
    }
    (advs[advs.len() - 1], c)
}
