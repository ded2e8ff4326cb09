//! Moving arguments out of the argument stack on their only read.
//!
//! A call keeps its arguments on the interpreter's argument stack while the body runs, so
//! reading `x` normally clones it and the value is shared: a verb that could update an
//! unshared vector in place (`x,y` appending to `x`, amend) must then copy it. When an
//! argument occurs exactly once in a function body (not counting nested function literals,
//! whose `x` is their own), that occurrence is its last read in every call: the body has no
//! loops, and each sub-expression is evaluated at most once per call. Such a read may take
//! the value off the stack, which makes `{x,",",y}/` append in place (linear, not quadratic).

use crate::ast::{Expr, Verb};

/// Rewrite the only read of each argument of a function body into [`Expr::ArgMove`].
pub fn move_single_reads(body: &mut Expr) {
    let mut counts = [0usize; 3];
    visit(body, &mut |e| {
        if let Expr::Arg(i) = e
            && let Some(c) = counts.get_mut(*i)
        {
            *c += 1;
        }
    });
    visit(body, &mut |e| {
        if let Expr::Arg(i) = *e
            && counts.get(i) == Some(&1)
        {
            *e = Expr::ArgMove(i);
        }
    });
}

/// Call `f` on every expression of a function body, children first, without entering
/// nested function literals.
fn visit(e: &mut Expr, f: &mut impl FnMut(&mut Expr)) {
    match e {
        Expr::Const(_)
        | Expr::DictLit(_)
        | Expr::Var(_)
        | Expr::Arg(_)
        | Expr::ArgMove(_)
        | Expr::SelfFn
        | Expr::Lambda(_) => {}
        Expr::Monad(_, a) | Expr::Define(_, _, a) => visit(a, f),
        Expr::Dyad(_, a, b) | Expr::BadDefine(a, b) => {
            visit(a, f);
            visit(b, f);
        }
        Expr::Call(g, args) => {
            visit(g, f);
            args.iter_mut().for_each(|a| visit(a, f));
        }
        Expr::Proj(g, args) => {
            visit(g, f);
            args.iter_mut().flatten().for_each(|a| visit(a, f));
        }
        Expr::AdvMonad(v, _, a) => {
            visit_verb(v, f);
            visit(a, f);
        }
        Expr::AdvDyad(v, _, a, b) => {
            visit_verb(v, f);
            visit(a, f);
            visit(b, f);
        }
        Expr::Cond(pairs, alt) => {
            for (p, c) in pairs {
                visit(p, f);
                visit(c, f);
            }
            visit(alt, f);
        }
        Expr::Seq(es) => es.iter_mut().for_each(|a| visit(a, f)),
    }
    f(e);
}

fn visit_verb(v: &mut Verb, f: &mut impl FnMut(&mut Expr)) {
    if let Verb::Expr(e) = v {
        visit(e, f);
    }
}
