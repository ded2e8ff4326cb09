//! Fused forms recognised at evaluation time: `+/a*b` (dot product) and `+/!n` run without
//! building the intermediate vector. Operands are evaluated exactly as the unfused program
//! would (right before left); whenever a kernel does not apply, the ordinary verbs run on the
//! already evaluated operands, so results and errors are unchanged.

use crate::ast::{Adverb, Expr, Op, Verb};
use crate::error::KResult;
use crate::interp::{Callable, Interp};
use crate::value::Value;

/// Evaluate `verb advs x` if it is a fused form; `None` means "not fused, evaluate normally".
pub fn adv_monad(
    it: &mut Interp,
    verb: &Verb,
    advs: &[Adverb],
    x: &Expr,
) -> Option<KResult<Value>> {
    if !matches!(verb, Verb::Op(Op::Plus)) || advs != [Adverb::Over] {
        return None;
    }
    match x {
        Expr::Dyad(Op::Star, a, b) => Some(sum_of_products(it, a, b)),
        Expr::Monad(Op::Bang, n) => Some(sum_of_enumerate(it, n)),
        _ => None,
    }
}

fn plus_over(it: &mut Interp, v: Value) -> KResult<Value> {
    crate::adverbs::monadic(it, Adverb::Over, &Callable::Op(Op::Plus), v)
}

fn sum_of_products(it: &mut Interp, a: &Expr, b: &Expr) -> KResult<Value> {
    let b = it.eval(b)?;
    let a = it.eval(a)?;
    let dot = match (&a, &b) {
        (Value::Ints(x), Value::Ints(y)) if x.len() == y.len() => dot_ints(x, y).map(Value::Int),
        (Value::Reals(x), Value::Reals(y)) if x.len() == y.len() => {
            Some(Value::Real(dot_reals(x, y)))
        }
        _ => None,
    };
    match dot {
        Some(v) => Ok(v),
        None => {
            let p = crate::verbs::dyad(it, Op::Star, a, b)?;
            plus_over(it, p)
        }
    }
}

/// Exact `+/x*y` over ints, or `None` when a product or the total leaves `i64` (the caller
/// then takes the bigint-promoting path). Within a chunk of 2^13 elements:
/// * all elements in [0, 2^24): 32×32→64-bit unsigned products (one vector instruction per
///   lane pair), no overflow possible (products < 2^48);
/// * all elements in [-2^24, 2^24): wrapping signed arithmetic, no overflow possible;
/// * otherwise every product and sum is checked.
///
/// Each tier computes the chunk while recording the range, then falls to the next tier if
/// the range did not hold.
fn dot_ints(x: &[i64], y: &[i64]) -> Option<i64> {
    const K: u64 = 1 << 24;
    const CHUNK: usize = 1 << 13;
    let mut total: i64 = 0;
    for (cx, cy) in x.chunks(CHUNK).zip(y.chunks(CHUNK)) {
        let (mut u, mut f) = (0u64, 0u64);
        for (&p, &q) in cx.iter().zip(cy) {
            u = u.wrapping_add((p as u32 as u64) * (q as u32 as u64));
            f |= p as u64 | q as u64;
        }
        let mut s = u as i64;
        if f >= K {
            let mut g = 0u64;
            s = 0;
            for (&p, &q) in cx.iter().zip(cy) {
                s = s.wrapping_add(p.wrapping_mul(q));
                g |= (p as u64).wrapping_add(K) | (q as u64).wrapping_add(K);
            }
            if g >= 2 * K {
                s = 0;
                for (&p, &q) in cx.iter().zip(cy) {
                    s = s.checked_add(p.checked_mul(q)?)?;
                }
            }
        }
        total = total.checked_add(s)?;
    }
    Some(total)
}

/// `+/x*y` over reals, summed exactly as the `+/` kernel sums the product vector.
fn dot_reals(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(&p, &q)| p * q).sum()
}

fn sum_of_enumerate(it: &mut Interp, n: &Expr) -> KResult<Value> {
    let n = it.eval(n)?;
    if let Value::Int(k) = n
        && k > 0
    {
        // `!k` would allocate k elements: keep its limit check so errors do not change.
        it.check_alloc(k as usize)?;
        let k = k as i128;
        return Ok(Value::big(num_bigint::BigInt::from(k * (k - 1) / 2)));
    }
    let v = crate::verbs::monad(it, Op::Bang, n)?;
    plus_over(it, v)
}

/// `a,b,c` (that is `a,(b,c)`) where `b` and `c` are number, symbol or string atoms, not
/// both strings: `b,c` is then always the pair `[b c]`, so when `a` is a dictionary this
/// inserts `c` under `b` without building the pair. Such a join cannot fail and has no
/// effect, so building the pair after evaluating `a` (as done here when `a` is not a
/// dictionary) is unobservable; every other case evaluates as `a,(b,c)`.
pub fn join_pair(it: &mut Interp, a: &Expr, b: &Expr, c: &Expr) -> KResult<Value> {
    let c = it.eval(c)?;
    let b = it.eval(b)?;
    let plain = |v: &Value| matches!(v, Value::Int(_) | Value::Real(_) | Value::Sym(_));
    let str_ = |v: &Value| matches!(v, Value::Str(_));
    let pair_atoms = (plain(&b) || str_(&b)) && (plain(&c) || str_(&c)) && !(str_(&b) && str_(&c));
    if !pair_atoms {
        let pair = crate::verbs::dyad(it, Op::Comma, b, c)?;
        let a = it.eval(a)?;
        return crate::verbs::dyad(it, Op::Comma, a, pair);
    }
    let a = it.eval(a)?;
    if let Value::Dict(d) = &a {
        d.borrow_mut().insert(b, c);
        return Ok(a);
    }
    let pair = crate::verbs::dyad(it, Op::Comma, b, c)?;
    crate::verbs::dyad(it, Op::Comma, a, pair)
}
