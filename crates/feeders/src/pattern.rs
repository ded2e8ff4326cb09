//! Subscription patterns: `EV.SYM`, comma-separated, with `*` as a wildcard.
//!
//! `AM.*` is every minute bar, `AM.AAPL,AM.MSFT` two symbols, `*` everything, `AVG.*` the
//! Klong handler's averages (which carry no `sym`: a `*` symbol part matches a missing one).
//! The split is at the first dot, so `AM.BRK.A` names the symbol `BRK.A`.

use crate::batch::Event;

/// Why a pattern string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Nothing to subscribe to.
    #[error("empty pattern list; use e.g. AM.* or AM.AAPL,AM.MSFT")]
    Empty,
    /// A pattern lacked the `EV.SYM` shape or used forbidden characters.
    #[error("invalid pattern {0:?}; use EV.SYM such as AM.AAPL, AM.* or *")]
    Invalid(String),
}

/// One `EV.SYM` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    ev: String,
    sym: String,
}

fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | '.' | '-' | '_' | ':' | '/'))
}

/// Glob match where `*` matches any run of characters.
fn glob(pat: &str, text: &str) -> bool {
    let parts: Vec<&str> = pat.split('*').collect();
    if parts.len() == 1 {
        return pat == text;
    }
    let (first, rest) = match parts.split_first() {
        Some(x) => x,
        None => return false,
    };
    let Some(mut t) = text.strip_prefix(first) else {
        return false;
    };
    let (last, middle) = match rest.split_last() {
        Some(x) => x,
        None => return true,
    };
    for m in middle {
        match t.find(m) {
            Some(i) => t = &t[i + m.len()..],
            None => return false,
        }
    }
    t.len() >= last.len() && t.ends_with(last)
}

impl Pattern {
    /// Parse one pattern such as `AM.AAPL` or `*`.
    pub fn parse(s: &str) -> Result<Pattern, PatternError> {
        let s = s.trim();
        if s == "*" {
            return Ok(Pattern {
                ev: "*".into(),
                sym: "*".into(),
            });
        }
        let (ev, sym) = s
            .split_once('.')
            .ok_or_else(|| PatternError::Invalid(s.to_string()))?;
        if !valid_part(ev) || ev.contains('.') || !valid_part(sym) {
            return Err(PatternError::Invalid(s.to_string()));
        }
        Ok(Pattern {
            ev: ev.to_string(),
            sym: sym.to_string(),
        })
    }

    /// Whether an event matches.
    pub fn matches(&self, ev: Option<&str>, sym: Option<&str>) -> bool {
        let ev_ok = match ev {
            Some(e) => glob(&self.ev, e),
            None => self.ev == "*",
        };
        let sym_ok = match sym {
            Some(s) => glob(&self.sym, s),
            None => self.sym == "*",
        };
        ev_ok && sym_ok
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ev == "*" && self.sym == "*" {
            write!(f, "*")
        } else {
            write!(f, "{}.{}", self.ev, self.sym)
        }
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Filter {
    /// Everything (a client that never subscribed, as in the original).
    #[default]
    All,
    /// Events matching any of these patterns.
    Patterns(Vec<Pattern>),
}

impl Filter {
    /// Parse a comma-separated list; `*` alone means [`Filter::All`].
    pub fn parse(s: &str) -> Result<Filter, PatternError> {
        let items: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect();
        if items.is_empty() {
            return Err(PatternError::Empty);
        }
        let pats = items
            .into_iter()
            .map(Pattern::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if pats.iter().any(|p| p.ev == "*" && p.sym == "*") {
            return Ok(Filter::All);
        }
        Ok(Filter::Patterns(pats))
    }

    /// Add patterns to this filter (subscribing twice widens the subscription).
    pub fn extend(&mut self, other: Filter) {
        match (self, other) {
            (Filter::All, _) => {}
            (me, Filter::All) => *me = Filter::All,
            (Filter::Patterns(a), Filter::Patterns(b)) => {
                for p in b {
                    if !a.contains(&p) {
                        a.push(p);
                    }
                }
            }
        }
    }

    /// Whether an event passes.
    pub fn matches(&self, e: &Event) -> bool {
        match self {
            Filter::All => true,
            Filter::Patterns(ps) => ps
                .iter()
                .any(|p| p.matches(e.ev.as_deref(), e.sym.as_deref())),
        }
    }

    /// Whether this filter lets everything through.
    pub fn is_all(&self) -> bool {
        matches!(self, Filter::All)
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::All => write!(f, "*"),
            Filter::Patterns(ps) => {
                let s: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
                write!(f, "{}", s.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ev: &str, sym: Option<&str>) -> Event {
        Event {
            ev: Some(ev.into()),
            sym: sym.map(Into::into),
            json: "{}".into(),
        }
    }

    #[test]
    fn wildcard_symbol() {
        let f = Filter::parse("AM.*").unwrap();
        assert!(f.matches(&ev("AM", Some("AAPL"))));
        assert!(!f.matches(&ev("A", Some("AAPL"))));
    }

    #[test]
    fn symbol_list() {
        let f = Filter::parse("AM.AAPL, AM.MSFT").unwrap();
        assert!(f.matches(&ev("AM", Some("MSFT"))));
        assert!(!f.matches(&ev("AM", Some("TSLA"))));
        assert_eq!(f.to_string(), "AM.AAPL,AM.MSFT");
    }

    #[test]
    fn star_alone_is_all_and_matches_symbol_less_events() {
        assert_eq!(Filter::parse("*").unwrap(), Filter::All);
        assert!(Filter::parse("AVG.*").unwrap().matches(&ev("AVG", None)));
        assert!(!Filter::parse("AVG.X").unwrap().matches(&ev("AVG", None)));
    }

    #[test]
    fn dotted_symbols_and_prefix_globs() {
        let f = Filter::parse("AM.BRK.A,A.MS*").unwrap();
        assert!(f.matches(&ev("AM", Some("BRK.A"))));
        assert!(f.matches(&ev("A", Some("MSFT"))));
        assert!(!f.matches(&ev("A", Some("AAPL"))));
    }

    #[test]
    fn rejects_bad_patterns() {
        for bad in ["", " , ", "AAPL", "AM.", ".AAPL", "AM.A B", "AM.{x}"] {
            assert!(Filter::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn extend_unions() {
        let mut f = Filter::parse("AM.A").unwrap();
        f.extend(Filter::parse("AM.B,AM.A").unwrap());
        assert_eq!(f.to_string(), "AM.A,AM.B");
        f.extend(Filter::All);
        assert!(f.is_all());
    }

    #[test]
    fn glob_edges() {
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("*", ""));
        assert!(!glob("ab*ba", "aba"));
    }
}
