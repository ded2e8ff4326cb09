//! Line-editor integration: Tab completion and multi-line validation for rustyline.

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use super::command::HELP_TOPICS;
use super::input::{COMMAND_WORDS, Mode, is_complete};

/// SQL keywords offered by completion (upper case; matched in any case).
const SQL_KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "INNER",
    "LEFT",
    "RIGHT",
    "FULL",
    "OUTER",
    "ON",
    "USING",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "BETWEEN",
    "LIKE",
    "ILIKE",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DISTINCT",
    "UNION",
    "ALL",
    "WITH",
    "SHOW",
    "TABLES",
    "COLUMNS",
    "DESCRIBE",
    "EXPLAIN",
    "ANALYZE",
    "VALUES",
    "ASC",
    "DESC",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "FIRST_VALUE",
    "LAST_VALUE",
    "OVER",
    "PARTITION",
    "ROWS",
    "CAST",
    "DATE_TRUNC",
    "DATE_BIN",
    "TO_TIMESTAMP",
    "NOW",
    "INTERVAL",
    "EXTRACT",
    "COALESCE",
    "ROUND",
];

/// Klong system names offered by completion: the interpreter's built-ins and kdfs's natives.
const KLONG_NAMES: &[&str] = &[
    ".a", ".ac", ".cc", ".comment", ".d", ".df", ".e", ".fc", ".fl", ".h", ".ic", ".keys", ".l",
    ".mi", ".module", ".oc", ".p", ".pc", ".put", ".r", ".rl", ".rn", ".rs", ".sql", ".sys", ".tc",
    ".w", ".x",
];

/// Characters that end a word for completion. `/`, `.`, `_` and `-` are part of key paths and
/// Klong names, so they are not here.
fn is_break(c: char) -> bool {
    c.is_whitespace() || "()[]{},;\"'=<>+*:|!&@#$%^~`?".contains(c)
}

/// The rustyline helper: knows the mode (for multi-line validation) and the stored keys (for
/// completion); the session refreshes both.
#[derive(Debug, Default)]
pub struct ReplHelper {
    /// Current input mode.
    pub mode: Mode,
    /// Stored key paths, refreshed by the session after commands run.
    pub keys: Vec<String>,
}

impl ReplHelper {
    /// Completion candidates for the word ending at `pos`: returns where the word starts and
    /// the full replacements for it.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| is_break(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        let preceding: Vec<&str> = before[..start].split_whitespace().collect();
        let prefix_matches = |list: &[&str]| -> Vec<String> {
            list.iter()
                .filter(|c| c.starts_with(word))
                .map(|c| c.to_string())
                .collect()
        };
        let key_matches = || -> Vec<String> {
            self.keys
                .iter()
                .filter(|k| k.starts_with(word))
                .cloned()
                .collect()
        };

        let mut out = match preceding.as_slice() {
            [] => {
                // The first word: a command, an SQL statement start, or Klong.
                let mut v = prefix_matches(COMMAND_WORDS);
                v.extend(sql_matches(
                    word,
                    &["SELECT", "WITH", "SHOW", "DESCRIBE", "EXPLAIN", "VALUES"],
                ));
                if word.starts_with('.') {
                    v.extend(prefix_matches(KLONG_NAMES));
                }
                v
            }
            ["load" | "unload" | "rm" | "ls"] => key_matches(),
            ["help"] => prefix_matches(HELP_TOPICS),
            ["\\mode"] => prefix_matches(&["auto", "sql", "klong"]),
            ["\\format"] => prefix_matches(&["table", "csv", "json"]),
            ["\\timing"] => prefix_matches(&["on", "off"]),
            _ if word.starts_with('.') => prefix_matches(KLONG_NAMES),
            _ if word.is_empty() => Vec::new(),
            _ => {
                let mut v = key_matches();
                // SQL also names a frame with dots instead of slashes: historical.minute.AAPL.
                v.extend(
                    self.keys
                        .iter()
                        .map(|k| k.replace('/', "."))
                        .filter(|k| k.starts_with(word)),
                );
                v.extend(sql_matches(word, SQL_KEYWORDS));
                v
            }
        };
        out.sort();
        out.dedup();
        (start, out)
    }
}

/// SQL keywords starting with `word` in any case, returned in the case the user is typing.
fn sql_matches(word: &str, keywords: &[&str]) -> Vec<String> {
    if word.is_empty() {
        return Vec::new();
    }
    let lower = word.chars().all(|c| !c.is_ascii_uppercase());
    keywords
        .iter()
        .filter(|k| k.len() >= word.len() && k[..word.len()].eq_ignore_ascii_case(word))
        .map(|k| {
            if lower {
                k.to_ascii_lowercase()
            } else {
                k.to_string()
            }
        })
        .collect()
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = self.candidates(line, pos);
        let pairs = words
            .into_iter()
            .map(|w| Pair {
                display: w.clone(),
                replacement: w,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        if is_complete(ctx.input(), self.mode) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> ReplHelper {
        ReplHelper {
            mode: Mode::Auto,
            keys: vec![
                "hist/minute/AAPL".into(),
                "hist/minute/MSFT".into(),
                "trades".into(),
            ],
        }
    }

    fn complete(line: &str) -> (usize, Vec<String>) {
        helper().candidates(line, line.len())
    }

    #[test]
    fn first_word_completes_commands_and_statements() {
        assert_eq!(complete("st"), (0, vec!["stats".to_string()]));
        assert_eq!(complete("\\ti"), (0, vec!["\\timing".to_string()]));
        assert_eq!(complete("sel"), (0, vec!["select".to_string()]));
        assert_eq!(complete("SEL"), (0, vec!["SELECT".to_string()]));
        assert!(complete("ex").1.contains(&"exit".to_string()));
        assert!(complete("ex").1.contains(&"explain".to_string()));
    }

    #[test]
    fn keys_after_key_commands() {
        assert_eq!(
            complete("load hist/"),
            (
                5,
                vec![
                    "hist/minute/AAPL".to_string(),
                    "hist/minute/MSFT".to_string()
                ]
            )
        );
        assert_eq!(complete("rm tr"), (3, vec!["trades".to_string()]));
        assert_eq!(complete("ls ").1.len(), 3);
    }

    #[test]
    fn keys_and_keywords_inside_sql() {
        let (start, c) = complete("select * from \"hist/minute/A");
        assert_eq!(start, 15);
        assert_eq!(c, vec!["hist/minute/AAPL".to_string()]);
        assert_eq!(complete("select * fr").1, vec!["from".to_string()]);
        assert_eq!(
            complete("select * from hist.minute.M").1,
            vec!["hist.minute.MSFT".to_string()]
        );
        assert_eq!(
            complete("SELECT x FROM t WHER").1,
            vec!["WHERE".to_string()]
        );
    }

    #[test]
    fn klong_system_names() {
        assert_eq!(complete(".d").1, vec![".d".to_string(), ".df".to_string()]);
        let (start, c) = complete("x::.ke");
        assert_eq!((start, c), (3, vec![".keys".to_string()]));
    }

    #[test]
    fn command_arguments() {
        assert_eq!(complete("\\mode s").1, vec!["sql".to_string()]);
        assert_eq!(complete("\\format c").1, vec!["csv".to_string()]);
        assert_eq!(
            complete("\\timing o").1,
            vec!["off".to_string(), "on".to_string()]
        );
        assert_eq!(complete("help kl").1, vec!["klong".to_string()]);
    }

    #[test]
    fn nothing_for_plain_words() {
        assert!(complete("1+").1.is_empty());
        assert!(complete("f(zz").1.is_empty());
    }
}
