//! Classifying what the user typed: a REPL command, SQL, or Klong, and whether it is complete.
//!
//! Multi-line input follows the languages: Klong continues while a bracket or string is open (so
//! a function body can span lines), SQL likewise, and in `\mode sql` SQL continues until `;` as in
//! psql. Commands are always one line.

use std::fmt;
use std::str::FromStr;

/// How lines that are not commands are interpreted (`\mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// SQL when the line starts with an SQL keyword, Klong otherwise.
    #[default]
    Auto,
    /// Everything is SQL, terminated by `;`.
    Sql,
    /// Everything is Klong.
    Klong,
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Mode::Auto),
            "sql" => Ok(Mode::Sql),
            "klong" => Ok(Mode::Klong),
            other => Err(format!("unknown mode `{other}`: use sql, klong or auto")),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Auto => "auto",
            Mode::Sql => "sql",
            Mode::Klong => "klong",
        })
    }
}

/// Words that make a line SQL in auto mode.
pub const SQL_STARTERS: &[&str] = &["SELECT", "WITH", "SHOW", "DESCRIBE", "EXPLAIN", "VALUES"];

/// The words that start a REPL command (as opposed to SQL or Klong).
pub const COMMAND_WORDS: &[&str] = &[
    "stats", "ls", "load", "unload", "rm", "help", "exit", "quit", "\\timing", "\\mode",
    "\\format", "\\q",
];

/// What kind of input a (possibly multi-line) text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Only whitespace.
    Empty,
    /// A REPL command such as `stats` or `\timing on`.
    Command,
    /// An SQL statement.
    Sql,
    /// Klong code.
    Klong,
}

/// Decides what `text` is under `mode`.
pub fn classify(text: &str, mode: Mode) -> InputKind {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return InputKind::Empty;
    }
    let first = trimmed.split_whitespace().next().unwrap_or_default();
    if COMMAND_WORDS.contains(&first) {
        return InputKind::Command;
    }
    match mode {
        Mode::Sql => InputKind::Sql,
        Mode::Klong => InputKind::Klong,
        Mode::Auto if starts_with_sql_keyword(trimmed) => InputKind::Sql,
        Mode::Auto => InputKind::Klong,
    }
}

/// True when `text` starts with one of [`SQL_STARTERS`] as a whole word (any case), so that a
/// Klong name like `selection` or an assignment `select::1` stays Klong.
fn starts_with_sql_keyword(text: &str) -> bool {
    let word_end = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (word, rest) = text.split_at(word_end);
    let keyword = SQL_STARTERS.iter().any(|k| k.eq_ignore_ascii_case(word));
    keyword
        && rest
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || c == '(' || c == '*')
}

/// True when `text` is a whole statement that can be run; false when the user is still typing
/// (an open bracket or string, or SQL without `;` in SQL mode).
pub fn is_complete(text: &str, mode: Mode) -> bool {
    match classify(text, mode) {
        InputKind::Empty | InputKind::Command => true,
        InputKind::Sql => {
            sql_balanced(text) && (mode != Mode::Sql || text.trim_end().ends_with(';'))
        }
        InputKind::Klong => klong_balanced(text),
    }
}

/// Removes trailing whitespace and `;` from an SQL statement (the server takes one statement).
pub fn strip_sql_terminator(text: &str) -> &str {
    text.trim()
        .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
}

/// True when every bracket and string in SQL `text` is closed. `--` comments run to the end of
/// the line; quotes are doubled to escape them.
fn sql_balanced(text: &str) -> bool {
    let mut depth: i64 = 0;
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            // A doubled quote inside a string is an escaped quote; the pair toggles twice, which
            // leaves the string open as it should.
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '-' if chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
    }
    // More closing than opening brackets is an error for the server to report, not a reason to
    // wait for more lines.
    quote.is_none() && depth <= 0
}

/// True when every bracket and string in Klong `text` is closed.
///
/// Klong strings are `"..."` with `""` as an escaped quote, comments are `:"..."` (so they close
/// like strings), and `0cX` is the character X, which may itself be a bracket or a quote.
fn klong_balanced(text: &str) -> bool {
    let mut depth: i64 = 0;
    let mut in_string = false;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            if c == '"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        let starts_token = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '.');
        if c == '0' && starts_token && chars.get(i + 1) == Some(&'c') && i + 2 < chars.len() {
            i += 3;
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    !in_string && depth <= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_keywords_any_case_make_sql_in_auto_mode() {
        for line in [
            "SELECT 1",
            "select * from t",
            "  With x as (select 1) select * from x",
            "show tables",
            "DESCRIBE t",
            "explain select 1",
            "values (1)",
            "select(1)",
            "SELECT*FROM t",
        ] {
            assert_eq!(classify(line, Mode::Auto), InputKind::Sql, "{line}");
        }
    }

    #[test]
    fn other_lines_are_klong_in_auto_mode() {
        for line in [
            "1+1",
            "selection",
            "select::1",
            "show:2",
            "f(3)",
            ".df(\"a\")",
        ] {
            assert_eq!(classify(line, Mode::Auto), InputKind::Klong, "{line}");
        }
    }

    #[test]
    fn commands_win_in_every_mode() {
        for mode in [Mode::Auto, Mode::Sql, Mode::Klong] {
            for line in [
                "stats",
                "stats 2",
                "ls a/",
                "\\timing on",
                "exit",
                "help sql",
            ] {
                assert_eq!(classify(line, mode), InputKind::Command, "{line} {mode}");
            }
        }
        // A Klong assignment to a name that looks like a command is not a command.
        assert_eq!(classify("ls::5", Mode::Auto), InputKind::Klong);
    }

    #[test]
    fn forced_modes() {
        assert_eq!(classify("1+1", Mode::Sql), InputKind::Sql);
        assert_eq!(classify("select 1", Mode::Klong), InputKind::Klong);
        assert_eq!(classify("   ", Mode::Sql), InputKind::Empty);
    }

    #[test]
    fn klong_continues_while_brackets_or_strings_are_open() {
        assert!(!is_complete("f::{[a];", Mode::Auto));
        assert!(!is_complete("f::{[a];\n  a::x*2;", Mode::Auto));
        assert!(is_complete("f::{[a];\n  a::x*2;\n  a+1}", Mode::Auto));
        assert!(!is_complete("s::\"abc", Mode::Auto));
        assert!(is_complete("s::\"a\"\"(b\"", Mode::Auto));
        assert!(is_complete(":\"comment with ( \" 1+1", Mode::Auto));
        // Character literals of brackets and quotes do not open anything.
        assert!(is_complete("c::0c(", Mode::Auto));
        assert!(is_complete("c::0c\"", Mode::Auto));
        assert!(is_complete("[1 2 3]", Mode::Klong));
        // Stray closers are the interpreter's error to report.
        assert!(is_complete("1)", Mode::Auto));
    }

    #[test]
    fn sql_in_auto_mode_ends_at_the_line_unless_open() {
        assert!(is_complete("select 1", Mode::Auto));
        assert!(!is_complete("select (1", Mode::Auto));
        assert!(is_complete("select (1\n)", Mode::Auto));
        assert!(!is_complete("select 'it''s", Mode::Auto));
        assert!(is_complete("select 'it''s'", Mode::Auto));
        assert!(is_complete("select 1 -- (comment", Mode::Auto));
        assert!(is_complete("select \"a(b\" from t", Mode::Auto));
    }

    #[test]
    fn sql_mode_waits_for_semicolon() {
        assert!(!is_complete("select 1", Mode::Sql));
        assert!(!is_complete("select 1\nfrom t", Mode::Sql));
        assert!(is_complete("select 1\nfrom t;", Mode::Sql));
        assert!(!is_complete("select ';'", Mode::Sql));
        assert!(is_complete("stats", Mode::Sql));
    }

    #[test]
    fn terminator_is_stripped() {
        assert_eq!(strip_sql_terminator(" select 1 ;; \n"), "select 1");
        assert_eq!(strip_sql_terminator("select 1"), "select 1");
    }

    #[test]
    fn modes_parse_and_print() {
        for m in [Mode::Auto, Mode::Sql, Mode::Klong] {
            assert_eq!(m.to_string().parse::<Mode>(), Ok(m));
        }
        assert!("SQL".parse::<Mode>().is_ok());
        assert!(
            "python"
                .parse::<Mode>()
                .unwrap_err()
                .contains("sql, klong or auto")
        );
    }
}
