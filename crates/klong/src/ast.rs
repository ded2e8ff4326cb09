//! Syntax tree produced by the parser.

use crate::func::Lambda;
use crate::value::Value;
use std::rc::Rc;

/// Operators (verbs), written with one or two characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    Bang,
    Hash,
    Dollar,
    Percent,
    Amp,
    Star,
    Plus,
    Comma,
    Minus,
    Less,
    Equal,
    More,
    Quest,
    At,
    Caret,
    Under,
    Bar,
    Tilde,
    CHash,
    CUnder,
    CDollar,
    CPercent,
    CPlus,
    CMinus,
    CEqual,
    CAt,
    CCaret,
}

impl Op {
    /// Parse an operator token.
    pub fn from_str(s: &str) -> Option<Op> {
        use Op::*;
        Some(match s {
            "!" => Bang,
            "#" => Hash,
            "$" => Dollar,
            "%" => Percent,
            "&" => Amp,
            "*" => Star,
            "+" => Plus,
            "," => Comma,
            "-" => Minus,
            "<" => Less,
            "=" => Equal,
            ">" => More,
            "?" => Quest,
            "@" => At,
            "^" => Caret,
            "_" => Under,
            "|" => Bar,
            "~" => Tilde,
            ":#" => CHash,
            ":_" => CUnder,
            ":$" => CDollar,
            ":%" => CPercent,
            ":+" => CPlus,
            ":-" => CMinus,
            ":=" => CEqual,
            ":@" => CAt,
            ":^" => CCaret,
            _ => return None,
        })
    }

    /// True when the operator has a monadic meaning.
    pub fn has_monad(self) -> bool {
        use Op::*;
        !matches!(
            self,
            CDollar | CPercent | CPlus | CMinus | CEqual | CAt | CCaret
        )
    }
}

/// Adverbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Adverb {
    Each,
    Over,
    Scan,
    EachPair,
    EachLeft,
    EachRight,
    Converge,
    ScanConverge,
    Iterate,
    ScanIterate,
}

impl Adverb {
    /// Parse an adverb token.
    pub fn from_str(s: &str) -> Option<Adverb> {
        use Adverb::*;
        Some(match s {
            "'" => Each,
            "/" => Over,
            "\\" => Scan,
            ":'" => EachPair,
            ":\\" => EachLeft,
            ":/" => EachRight,
            ":~" => Converge,
            "\\~" => ScanConverge,
            ":*" => Iterate,
            "\\*" => ScanIterate,
            _ => return None,
        })
    }
    /// True when the adverb takes its operator in the monadic sense.
    pub fn monadic_verb(self) -> bool {
        use Adverb::*;
        matches!(self, Converge | ScanConverge | Iterate | ScanIterate)
    }
}

/// The verb of an adverb application.
#[derive(Debug, Clone)]
pub enum Verb {
    /// A built-in operator.
    Op(Op),
    /// An expression that evaluates to a function (name, literal, projection).
    Expr(Box<Expr>),
}

/// An expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A constant.
    Const(Value),
    /// A dictionary literal (copied at each evaluation).
    DictLit(Value),
    /// A variable slot.
    Var(usize),
    /// Argument x, y or z of the innermost function.
    Arg(usize),
    /// The only read of argument x, y or z in its function body: moved off the argument
    /// stack instead of cloned, so the value stays unshared (see `moves`).
    ArgMove(usize),
    /// The current function `.f`.
    SelfFn,
    /// A function literal.
    Lambda(Rc<Lambda>),
    /// Monadic operator application.
    Monad(Op, Box<Expr>),
    /// Dyadic operator application.
    Dyad(Op, Box<Expr>, Box<Expr>),
    /// Assignment to a slot (and, in a module, also to the exported global slot).
    Define(usize, Option<usize>, Box<Expr>),
    /// Assignment with a non-name target: a run-time `define: type error`.
    BadDefine(Box<Expr>, Box<Expr>),
    /// Function call with all arguments.
    Call(Box<Expr>, Vec<Expr>),
    /// Projection: some arguments missing.
    Proj(Box<Expr>, Vec<Option<Expr>>),
    /// Adverb in monadic context.
    AdvMonad(Verb, Vec<Adverb>, Box<Expr>),
    /// Adverb in dyadic context.
    AdvDyad(Verb, Vec<Adverb>, Box<Expr>, Box<Expr>),
    /// Conditional: (predicate, consequent) pairs, then the alternative.
    Cond(Vec<(Expr, Expr)>, Box<Expr>),
    /// A `;`-separated program.
    Seq(Vec<Expr>),
}
