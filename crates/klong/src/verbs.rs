//! Dispatch of monadic and dyadic operators; structural verbs live in `structural`.

use crate::arith::atomic1;
use crate::ast::Op;
use crate::error::{ErrorKind, KResult, err};
use crate::interp::Interp;
use crate::structural as s;
use crate::value::Value;
use crate::watch;

/// Below this many operand elements a primitive is not charged to the deadline: it is cheap,
/// and a program runs many of them only through evaluation steps, which the interpreter
/// counts itself.
const SMALL: usize = 256;

/// Charge a primitive over operands of `units` elements to the deadline (see [`watch`]), so
/// a chain of primitives over long vectors, which takes no evaluation step, stops in time.
/// Primitives that build large results from small operands charge them in
/// [`Interp::check_alloc`].
#[inline(always)]
fn charge(units: usize) -> KResult<()> {
    if units < SMALL {
        return Ok(());
    }
    watch::charge(units)
}

fn units(v: &Value) -> usize {
    v.len().unwrap_or(1)
}

/// Apply a monadic operator.
pub fn monad(it: &mut Interp, op: Op, a: Value) -> KResult<Value> {
    charge(units(&a))?;
    match op {
        Op::Bang => s::enumerate(it, &a),
        Op::Hash => s::size(&a),
        Op::Dollar | Op::Percent | Op::Minus | Op::Under | Op::Tilde | Op::CHash => atomic1(op, &a),
        Op::Amp => s::expand(it, &a),
        Op::Star => Ok(match a.len() {
            Some(n) if n > 0 => a.at(0),
            _ => a,
        }),
        Op::Plus => s::transpose(&a),
        Op::Comma => Ok(match a {
            Value::Char(c) => Value::Str(std::rc::Rc::new(vec![c])),
            Value::Int(i) => Value::ints(vec![i]),
            Value::Real(r) => Value::reals(vec![r]),
            other => Value::List(std::rc::Rc::new(vec![other])),
        }),
        Op::Less => s::grade(&a, false),
        Op::More => s::grade(&a, true),
        Op::Equal => s::group(&a),
        Op::Quest => s::range(&a),
        Op::At => Ok(Value::Int(a.is_atom() as i64)),
        Op::Caret => Ok(s::shape(&a)),
        Op::Bar => Ok(match &a {
            Value::Ints(v) => Value::ints(v.iter().rev().copied().collect()),
            Value::Reals(v) => Value::reals(v.iter().rev().copied().collect()),
            Value::Str(v) => Value::Str(std::rc::Rc::new(v.iter().rev().copied().collect())),
            Value::List(v) => Value::List(std::rc::Rc::new(v.iter().rev().cloned().collect())),
            _ => a,
        }),
        Op::CUnder => Ok(Value::Int(matches!(a, Value::Undefined) as i64)),
        _ => err(ErrorKind::Syntax, "expected monad"),
    }
}

/// Apply a dyadic operator.
pub fn dyad(it: &mut Interp, op: Op, a: Value, b: Value) -> KResult<Value> {
    // Scalar fast path: small-integer arithmetic and comparisons dominate interpreted loops.
    if let (Value::Int(x), Value::Int(y)) = (&a, &b) {
        let (x, y) = (*x, *y);
        let r = match op {
            Op::Plus => x.checked_add(y),
            Op::Minus => x.checked_sub(y),
            Op::Star => x.checked_mul(y),
            Op::Less => Some((x < y) as i64),
            Op::More => Some((x > y) as i64),
            Op::Equal => Some((x == y) as i64),
            _ => None,
        };
        if let Some(r) = r {
            return Ok(Value::Int(r));
        }
    }
    charge(units(&a) + units(&b))?;
    match op {
        Op::Bang
        | Op::Percent
        | Op::Plus
        | Op::Minus
        | Op::Star
        | Op::Amp
        | Op::Bar
        | Op::Equal
        | Op::Less
        | Op::More
        | Op::Caret
        | Op::CPercent => crate::arith::atomic2_owned(op, a, b),
        Op::Hash => s::take(it, &a, &b),
        Op::Dollar => crate::format::format2(&a, &b),
        Op::Comma => s::join(a, b),
        Op::Quest => s::find(&a, &b),
        Op::At => {
            if matches!(a, Value::Func(_)) {
                return it.apply(&a, b);
            }
            s::index(&a, &b)
        }
        Op::Under => s::drop(&a, &b),
        Op::Tilde => Ok(Value::Int(a.matches(&b) as i64)),
        Op::CHash => s::split(&a, &b),
        Op::CUnder => s::cut(&a, &b),
        Op::CDollar => crate::format::form(&a, &b),
        Op::CPlus => s::rotate(&a, &b),
        Op::CMinus => s::amend_depth(&a, &b),
        Op::CEqual => s::amend(&a, &b),
        Op::CAt => {
            if matches!(a, Value::Func(_)) {
                return it.apply(&a, b);
            }
            s::index_depth(&a, &b)
        }
        Op::CCaret => s::reshape(it, &a, &b),
    }
}
