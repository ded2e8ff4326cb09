//! Function values: lambdas, projections, built-in system functions and natives.

use crate::ast::Expr;
use crate::error::KResult;
use crate::interp::Interp;
use crate::value::Value;
use std::rc::Rc;

/// Signature of a built-in or native function.
pub type NativeFn = Rc<dyn Fn(&mut Interp, &[Value]) -> KResult<Value>>;

/// A compiled function literal.
#[derive(Debug)]
pub struct Lambda {
    /// Number of arguments (0..=3), from the x/y/z used in the body.
    pub arity: usize,
    /// Variable slots of the declared locals (saved and restored around each call).
    pub locals: Vec<usize>,
    /// The body program.
    pub body: Expr,
}

/// A function value.
pub enum Func {
    /// A user function literal.
    Lambda(Rc<Lambda>),
    /// A partial application; `None` marks a missing argument.
    Proj(Value, Vec<Option<Value>>),
    /// A system or embedder-registered function.
    Native {
        /// Name for messages.
        name: String,
        /// Arity (0..=3); the fewest arguments it accepts.
        arity: usize,
        /// The most arguments it accepts (equal to `arity` unless registered as variadic,
        /// like a server's `.df(key)` / `.df(key;from;to)`).
        max_arity: usize,
        /// Implementation.
        f: NativeFn,
    },
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<function/{}>", self.arity())
    }
}

impl Func {
    /// Number of arguments the function takes.
    pub fn arity(&self) -> usize {
        match self {
            Func::Lambda(l) => l.arity,
            Func::Proj(_, a) => a.iter().filter(|x| x.is_none()).count(),
            Func::Native { arity, .. } => *arity,
        }
    }
}
