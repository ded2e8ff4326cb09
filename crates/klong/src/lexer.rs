//! Tokenizer. Newlines are significant only outside `[ ] { } :{ } :[ ]`.

use crate::error::{ErrorKind, KResult, err};
use crate::value::Value;
use num_bigint::BigInt;
use std::rc::Rc;

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Num(NumTok),
    Char(char),
    Str(String),
    Sym(String),
    Name(String),
    Op(String),
    LParen,
    CallOpen,
    RParen,
    LBrack,
    RBrack,
    LBrace,
    RBrace,
    DictOpen,
    CondOpen,
    CondElse,
    Semi,
    Newline,
    Eof,
}

/// A numeric literal.
#[derive(Debug, Clone, PartialEq)]
pub enum NumTok {
    Int(i64),
    Big(String),
    Real(f64),
}

impl NumTok {
    /// The literal's value.
    pub fn value(&self) -> Value {
        match self {
            NumTok::Int(i) => Value::Int(*i),
            NumTok::Real(r) => Value::Real(*r),
            NumTok::Big(s) => match s.parse::<BigInt>() {
                Ok(b) => Value::big(b),
                Err(_) => Value::Undefined,
            },
        }
    }
    fn neg(self) -> NumTok {
        match self {
            NumTok::Int(i) => NumTok::Int(-i),
            NumTok::Real(r) => NumTok::Real(-r),
            NumTok::Big(s) => NumTok::Big(format!("-{s}")),
        }
    }
}

/// Scanner state.
#[derive(Clone)]
pub struct Lexer {
    src: Rc<[char]>,
    /// Current position.
    pub pos: usize,
    /// Bracket depth: newlines are separators only at depth 0.
    pub depth: usize,
    peeked: Option<(Tok, usize)>,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '.'
}
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.'
}

impl Lexer {
    /// A lexer over `src`.
    pub fn new(src: &str) -> Lexer {
        Lexer {
            src: src.chars().collect::<Vec<_>>().into(),
            pos: 0,
            depth: 0,
            peeked: None,
        }
    }

    fn ch(&self, i: usize) -> Option<char> {
        self.src.get(self.pos + i).copied()
    }

    /// Look at the next token without consuming it.
    pub fn peek(&mut self) -> KResult<Tok> {
        if let Some((t, _)) = &self.peeked {
            return Ok(t.clone());
        }
        let save = self.pos;
        let t = self.scan(false)?;
        let end = self.pos;
        self.pos = save;
        self.peeked = Some((t.clone(), end));
        Ok(t)
    }

    /// Consume the next token.
    pub fn next(&mut self) -> KResult<Tok> {
        if let Some((t, end)) = self.peeked.take() {
            self.pos = end;
            return Ok(t);
        }
        self.scan(false)
    }

    /// Consume the next token in list-literal mode (`-1` is a number).
    pub fn next_const(&mut self) -> KResult<Tok> {
        if let Some((t, end)) = self.peeked.take()
            && t != Tok::Op("-".into())
        {
            self.pos = end;
            return Ok(t);
        }
        self.scan(true)
    }

    /// Skip source lines for `.comment`: from the start of the next line up to and including
    /// the first line that starts with `end`.
    pub fn skip_comment(&mut self, end: &str) -> KResult<()> {
        self.peeked = None;
        // Move to the beginning of the next line unless already there.
        if self.pos > 0 && self.src.get(self.pos - 1) != Some(&'\n') {
            while let Some(c) = self.ch(0) {
                self.pos += 1;
                if c == '\n' {
                    break;
                }
            }
        }
        let end: Vec<char> = end.chars().collect();
        loop {
            if self.pos >= self.src.len() {
                return err(ErrorKind::Syntax, "undelimited comment");
            }
            let starts = self.src[self.pos..].starts_with(&end);
            while let Some(c) = self.ch(0) {
                self.pos += 1;
                if c == '\n' {
                    break;
                }
            }
            if starts {
                return Ok(());
            }
        }
    }

    /// Save the scanner state for backtracking.
    pub fn save(&self) -> Lexer {
        self.clone()
    }

    fn skip_ws(&mut self) -> KResult<Option<Tok>> {
        loop {
            match self.ch(0) {
                Some('\n') => {
                    self.pos += 1;
                    if self.depth == 0 {
                        return Ok(Some(Tok::Newline));
                    }
                }
                Some(c) if c.is_whitespace() => self.pos += 1,
                Some(':') if self.ch(1) == Some('"') => {
                    self.pos += 2;
                    loop {
                        match self.ch(0) {
                            None => return err(ErrorKind::Syntax, "missing end of comment"),
                            Some('"') if self.ch(1) == Some('"') => self.pos += 2,
                            Some('"') => {
                                self.pos += 1;
                                break;
                            }
                            Some(_) => self.pos += 1,
                        }
                    }
                }
                _ => return Ok(None),
            }
        }
    }

    fn scan(&mut self, const_mode: bool) -> KResult<Tok> {
        if let Some(t) = self.skip_ws()? {
            return Ok(t);
        }
        let c = match self.ch(0) {
            None => return Ok(Tok::Eof),
            Some(c) => c,
        };
        if c == '"' {
            self.pos += 1;
            return Ok(Tok::Str(self.string_body()?));
        }
        if c == '0' && matches!(self.ch(1), Some('c') | Some('C')) {
            return match self.ch(2) {
                Some(ch) => {
                    self.pos += 3;
                    Ok(Tok::Char(ch))
                }
                None => err(
                    ErrorKind::Syntax,
                    "syntax error: missing character after 0c",
                ),
            };
        }
        if c.is_ascii_digit() {
            return Ok(Tok::Num(self.number()?));
        }
        if const_mode && c == '-' && self.ch(1).is_some_and(|d| d.is_ascii_digit()) {
            self.pos += 1;
            return Ok(Tok::Num(self.number()?.neg()));
        }
        if is_name_start(c) {
            return Ok(Tok::Name(self.name()));
        }
        self.pos += 1;
        Ok(match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBrack,
            ']' => Tok::RBrack,
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            ';' => Tok::Semi,
            ':' => match self.ch(0) {
                Some(d) if is_name_start(d) => Tok::Sym(self.name()),
                Some(d) if d.is_ascii_digit() => return self.scan(const_mode),
                Some('{') => {
                    self.pos += 1;
                    Tok::DictOpen
                }
                Some('[') => {
                    self.pos += 1;
                    Tok::CondOpen
                }
                Some('|') => {
                    self.pos += 1;
                    Tok::CondElse
                }
                Some('(') => {
                    self.pos += 1;
                    Tok::CallOpen
                }
                Some(d) if !d.is_whitespace() && !d.is_alphanumeric() => {
                    self.pos += 1;
                    Tok::Op(format!(":{d}"))
                }
                _ => Tok::Op(":".into()),
            },
            '\\' if matches!(self.ch(0), Some('~') | Some('*')) => {
                let d = self.ch(0).unwrap_or('~');
                self.pos += 1;
                Tok::Op(format!("\\{d}"))
            }
            _ => Tok::Op(c.to_string()),
        })
    }

    fn name(&mut self) -> String {
        let start = self.pos;
        while self.ch(0).is_some_and(is_name_char) {
            self.pos += 1;
        }
        self.src[start..self.pos].iter().collect()
    }

    fn string_body(&mut self) -> KResult<String> {
        let mut s = String::new();
        loop {
            match self.ch(0) {
                None => return err(ErrorKind::Syntax, "missing end of string"),
                Some('"') if self.ch(1) == Some('"') => {
                    s.push('"');
                    self.pos += 2;
                }
                Some('"') => {
                    self.pos += 1;
                    return Ok(s);
                }
                Some(c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn number(&mut self) -> KResult<NumTok> {
        // Radix literals.
        if self.ch(0) == Some('0') {
            let radix = match self.ch(1).map(|c| c.to_ascii_lowercase()) {
                Some('x') => 16,
                Some('o') => 8,
                Some('b') => 2,
                _ => 0,
            };
            if radix != 0 && self.ch(2).is_some_and(|d| d.is_digit(radix)) {
                self.pos += 2;
                let start = self.pos;
                while self.ch(0).is_some_and(|d| d.is_digit(radix)) {
                    self.pos += 1;
                }
                let digits: String = self.src[start..self.pos].iter().collect();
                return Ok(match i64::from_str_radix(&digits, radix) {
                    Ok(i) => NumTok::Int(i),
                    Err(_) => match BigInt::parse_bytes(digits.as_bytes(), radix) {
                        Some(b) => NumTok::Big(b.to_string()),
                        None => return err(ErrorKind::Syntax, "invalid number"),
                    },
                });
            }
        }
        let start = self.pos;
        while let Some(c) = self.ch(0) {
            let sign_after_e =
                (c == '+' || c == '-') && self.pos > start && self.src[self.pos - 1] == 'e';
            if c.is_ascii_digit() || c == '.' || c == 'e' || sign_after_e {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text: String = self.src[start..self.pos].iter().collect();
        parse_number(&text).ok_or_else(|| {
            crate::error::KlongError::new(ErrorKind::Syntax, format!("invalid number: \"{text}\""))
        })
    }
}

/// Parse Klong number syntax `digits[.digits][e[+-]digits]`.
pub fn parse_number(text: &str) -> Option<NumTok> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut real = false;
    if i < b.len() && b[i] == b'.' {
        real = true;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && b[i] == b'e' {
        real = true;
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if s == i {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    if real {
        text.parse::<f64>().ok().map(NumTok::Real)
    } else {
        Some(match text.parse::<i64>() {
            Ok(v) => NumTok::Int(v),
            Err(_) => NumTok::Big(text.trim_start_matches('0').to_string()),
        })
    }
}
