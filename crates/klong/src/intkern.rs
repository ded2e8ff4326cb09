//! Checked `+ - *` kernels over `i64` slices.
//!
//! Each kernel computes wrapping results and ORs an overflow mask (sign bit set on overflow)
//! in the same pass, so there is no branch in the loop and the compiler can vectorize `+` and
//! `-`. On overflow the caller promotes to bigints through the generic path.

use crate::ast::Op;

/// One side of an element-wise operation: a vector or a broadcast scalar.
#[derive(Clone, Copy)]
pub enum Arg<'a> {
    /// A vector operand.
    V(&'a [i64]),
    /// A scalar operand.
    S(i64),
}

#[inline(always)]
fn add(a: i64, b: i64) -> (i64, i64) {
    let r = a.wrapping_add(b);
    (r, (a ^ r) & (b ^ r))
}

#[inline(always)]
fn sub(a: i64, b: i64) -> (i64, i64) {
    let r = a.wrapping_sub(b);
    (r, (a ^ b) & (a ^ r))
}

#[inline(always)]
fn mul(a: i64, b: i64) -> (i64, i64) {
    let (r, o) = a.overflowing_mul(b);
    (r, -(o as i64))
}

#[inline(always)]
fn run<F: Fn(i64, i64) -> (i64, i64)>(f: F, x: Arg, y: Arg) -> Option<Vec<i64>> {
    let mut mask = 0i64;
    let mut g = |p, q| {
        let (r, o) = f(p, q);
        mask |= o;
        r
    };
    let v: Vec<i64> = match (x, y) {
        (Arg::V(a), Arg::V(b)) => a.iter().zip(b).map(|(&p, &q)| g(p, q)).collect(),
        (Arg::V(a), Arg::S(q)) => a.iter().map(|&p| g(p, q)).collect(),
        (Arg::S(p), Arg::V(b)) => b.iter().map(|&q| g(p, q)).collect(),
        (Arg::S(p), Arg::S(q)) => vec![g(p, q)],
    };
    (mask >= 0).then_some(v)
}

/// `x op y` for `op` in `+ - *` into a new vector; `None` on overflow or another `op`.
pub fn checked(op: Op, x: Arg, y: Arg) -> Option<Vec<i64>> {
    match op {
        Op::Plus => run(add, x, y),
        Op::Minus => run(sub, x, y),
        Op::Star => run(mul, x, y),
        _ => None,
    }
}

/// Which operand of `x op y` the mutated vector `v` is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `v` is the left operand.
    Left,
    /// `v` is the right operand.
    Right,
}

#[inline(always)]
fn update<F: Fn(i64, i64) -> (i64, i64)>(f: F, v: &mut [i64], other: Arg, place: Place) -> i64 {
    let mut mask = 0i64;
    let mut g = |e: &mut i64, o: i64| {
        let (r, m) = if place == Place::Left {
            f(*e, o)
        } else {
            f(o, *e)
        };
        mask |= m;
        *e = r;
    };
    match other {
        Arg::V(b) => v.iter_mut().zip(b).for_each(|(e, &o)| g(e, o)),
        Arg::S(s) => v.iter_mut().for_each(|e| g(e, s)),
    }
    mask
}

/// `v op other` (or `other op v`) computed in place. Returns `None` when done, or `Some(i)`
/// on overflow: elements before `i` hold results, elements from `i` on are unchanged (the
/// caller finishes them with bigints). `other` must have `v`'s length when it is a vector.
pub fn in_place(op: Op, v: &mut [i64], other: Arg, place: Place) -> Option<usize> {
    match op {
        Op::Plus | Op::Minus => {
            // Direct calls (not a fn pointer) so each loop is inlined and vectorized.
            let mask = if op == Op::Plus {
                update(add, v, other, place)
            } else {
                update(sub, v, other, place)
            };
            if mask >= 0 {
                return None;
            }
            // Wrapping addition and subtraction are exact inverses: restore the operand.
            if op == Op::Plus {
                update(sub, v, other, Place::Left);
            } else if place == Place::Left {
                update(add, v, other, Place::Left);
            } else {
                update(|r, o| (o.wrapping_sub(r), 0), v, other, Place::Left);
            }
            Some(0)
        }
        Op::Star => mul_in_place(v, other),
        _ => Some(0),
    }
}

/// `v *= other` in place, chunk by chunk. A chunk whose factors all lie in [-2^31, 2^31)
/// cannot overflow and is multiplied with wrapping (vectorizable) arithmetic; any other chunk
/// is multiplied element by element with checks, stopping at the first overflow (a product
/// cannot be undone, since a zero factor loses the original).
fn mul_in_place(v: &mut [i64], other: Arg) -> Option<usize> {
    const K: u64 = 1 << 31;
    const CHUNK: usize = 512;
    let small = |e: i64| (e as u64).wrapping_add(K);
    for (c, chunk) in v.chunks_mut(CHUNK).enumerate() {
        let start = c * CHUNK;
        let o = match other {
            Arg::V(b) => Arg::V(&b[start..start + chunk.len()]),
            s => s,
        };
        let f = chunk.iter().fold(0, |f, &e| f | small(e))
            | match o {
                Arg::V(b) => b.iter().fold(0, |f, &e| f | small(e)),
                Arg::S(s) => small(s),
            };
        if f < 2 * K {
            match o {
                Arg::V(b) => chunk
                    .iter_mut()
                    .zip(b)
                    .for_each(|(e, &q)| *e = e.wrapping_mul(q)),
                Arg::S(s) => chunk.iter_mut().for_each(|e| *e = e.wrapping_mul(s)),
            }
            continue;
        }
        let step = |e: &mut i64, q: i64| match e.checked_mul(q) {
            Some(r) => {
                *e = r;
                true
            }
            None => false,
        };
        let stop = match o {
            Arg::V(b) => chunk.iter_mut().zip(b).position(|(e, &q)| !step(e, q)),
            Arg::S(s) => chunk.iter_mut().position(|e| !step(e, s)),
        };
        if let Some(i) = stop {
            return Some(start + i);
        }
    }
    None
}
