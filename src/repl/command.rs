//! REPL commands (`stats`, `ls`, `\timing on`, ...) and their parsing.

use std::str::FromStr;

use super::input::Mode;
use super::render::Format;

/// A parsed REPL command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `stats [level]`: server statistics as JSON.
    Stats(u8),
    /// `ls [prefix]`: stored frames.
    Ls(String),
    /// `load KEY`: pin a frame in memory.
    Load(String),
    /// `unload KEY`: drop a frame from memory.
    Unload(String),
    /// `rm KEY`: delete a frame.
    Rm(String),
    /// `help [topic]`.
    Help(Option<String>),
    /// `\timing on|off` (no argument toggles).
    Timing(Option<bool>),
    /// `\mode sql|klong|auto` (no argument shows the mode).
    Mode(Option<Mode>),
    /// `\format table|csv|json` (no argument shows the format).
    Format(Option<Format>),
    /// `exit`, `quit` or `\q`.
    Exit,
}

impl Command {
    /// Parses a command line. The caller has already decided (with
    /// [`super::input::classify`]) that the line is a command; errors are usage messages.
    pub fn parse(line: &str) -> Result<Command, String> {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or_default();
        let args: Vec<&str> = words.collect();
        let usage = |u: &str| Err(format!("usage: {u}"));
        match (name, args.as_slice()) {
            ("stats", []) => Ok(Command::Stats(0)),
            ("stats", [level]) => match level.parse::<u8>() {
                Ok(l) => Ok(Command::Stats(l)),
                Err(_) => usage("stats [level]  (level is a number, e.g. stats 1)"),
            },
            ("stats", _) => usage("stats [level]"),
            ("ls", []) => Ok(Command::Ls(String::new())),
            ("ls", [prefix]) => Ok(Command::Ls((*prefix).to_string())),
            ("ls", _) => usage("ls [prefix]"),
            ("load", [key]) => Ok(Command::Load((*key).to_string())),
            ("load", _) => usage("load KEY"),
            ("unload", [key]) => Ok(Command::Unload((*key).to_string())),
            ("unload", _) => usage("unload KEY"),
            ("rm", [key]) => Ok(Command::Rm((*key).to_string())),
            ("rm", _) => usage("rm KEY"),
            ("help", []) => Ok(Command::Help(None)),
            ("help", [topic]) => Ok(Command::Help(Some(topic.trim_start_matches('\\').into()))),
            ("help", _) => usage("help [topic]"),
            ("\\timing", []) => Ok(Command::Timing(None)),
            ("\\timing", [v]) => match v.to_ascii_lowercase().as_str() {
                "on" => Ok(Command::Timing(Some(true))),
                "off" => Ok(Command::Timing(Some(false))),
                _ => usage("\\timing on|off"),
            },
            ("\\timing", _) => usage("\\timing on|off"),
            ("\\mode", []) => Ok(Command::Mode(None)),
            ("\\mode", [m]) => Mode::from_str(m).map(|m| Command::Mode(Some(m))),
            ("\\mode", _) => usage("\\mode sql|klong|auto"),
            ("\\format", []) => Ok(Command::Format(None)),
            ("\\format", [f]) => Format::from_str(f).map(|f| Command::Format(Some(f))),
            ("\\format", _) => usage("\\format table|csv|json"),
            ("exit" | "quit" | "\\q", []) => Ok(Command::Exit),
            ("exit" | "quit" | "\\q", _) => usage("exit"),
            (other, _) => Err(format!(
                "unknown command `{other}`: type `help` for the list"
            )),
        }
    }
}

/// Help topics accepted by `help TOPIC`, for completion.
pub const HELP_TOPICS: &[&str] = &[
    "stats", "ls", "load", "unload", "rm", "sql", "klong", "timing", "mode", "format", "keys",
    "exit",
];

/// The text printed by `help` (no topic) or `help TOPIC`; an error for an unknown topic.
pub fn help_text(topic: Option<&str>) -> Result<&'static str, String> {
    Ok(match topic {
        None => {
            "Commands:
  stats [level]            server statistics as JSON (more detail with a higher level)
  ls [prefix]              stored frames: rows, index range, columns, memory
  load KEY | unload KEY    pin a frame in memory / drop it from memory (it stays on disk)
  rm KEY                   delete a frame
  help [topic]             this text, or help on: sql klong keys timing mode format
  \\timing on|off           show server and round-trip times after each query
  \\mode sql|klong|auto     how lines that are not commands are read (default auto)
  \\format table|csv|json   how query results are printed (csv and json print every row)
  exit | quit | Ctrl-D     leave
Anything else is SQL when it starts with SELECT, WITH, SHOW, DESCRIBE, EXPLAIN or VALUES,
and Klong otherwise. Input continues on the next line while a bracket or quote is open.
Ctrl-C cancels the current line or the running query. Tab completes commands, keys and names."
        }
        Some("sql") => {
            "SQL runs on the server (DataFusion dialect). Every stored frame is a table named by its
key, quoted because keys contain '/':
  SELECT sym, avg(c) FROM \"historical/minute/AAPL\" GROUP BY sym
In auto mode a statement ends at the end of the line unless a bracket or quote is still open;
after \\mode sql every line is SQL and a statement ends with ';'."
        }
        Some("klong") => {
            "Klong runs in one interpreter on the server, so definitions persist between lines:
  f::{x*2}
  f(21)
Frames are read with .df(\"KEY\"), keys listed with .keys(\"PREFIX\"), and .sql(\"...\") runs SQL.
A definition may span lines while its brackets are open."
        }
        Some("keys") => {
            "Keys are '/'-separated paths such as historical/minute/AAPL (letters, digits, . _ -).
`ls PREFIX` lists them; Tab completes them after load, unload, rm and ls."
        }
        Some("stats") => "stats [level]: server statistics as indented JSON; level 0 is a summary.",
        Some("ls") => "ls [prefix]: stored frames whose key starts with prefix.",
        Some("load") => "load KEY: read a frame into memory and keep it there.",
        Some("unload") => "unload KEY: release a frame's memory; the data stays on disk.",
        Some("rm") => "rm KEY: delete a frame and its data. There is no undo.",
        Some("timing") => {
            "\\timing on|off: after each query print the server time and the round trip."
        }
        Some("mode") => {
            "\\mode sql|klong|auto: read non-command input as SQL, Klong, or detect it."
        }
        Some("format") => {
            "\\format table|csv|json: tables are cut after a row limit; csv and json print every row."
        }
        Some("exit" | "quit") => "exit, quit, \\q or Ctrl-D: leave the REPL.",
        Some(other) => {
            return Err(format!(
                "no help on `{other}`: topics are {}",
                HELP_TOPICS.join(", ")
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(Command::parse("stats"), Ok(Command::Stats(0)));
        assert_eq!(Command::parse("stats 2"), Ok(Command::Stats(2)));
        assert_eq!(Command::parse("ls"), Ok(Command::Ls(String::new())));
        assert_eq!(Command::parse("ls  hist/"), Ok(Command::Ls("hist/".into())));
        assert_eq!(Command::parse("load a/b"), Ok(Command::Load("a/b".into())));
        assert_eq!(
            Command::parse("unload a/b"),
            Ok(Command::Unload("a/b".into()))
        );
        assert_eq!(Command::parse("rm a/b"), Ok(Command::Rm("a/b".into())));
        assert_eq!(Command::parse("help"), Ok(Command::Help(None)));
        assert_eq!(
            Command::parse("help \\mode"),
            Ok(Command::Help(Some("mode".into())))
        );
        assert_eq!(Command::parse("\\timing"), Ok(Command::Timing(None)));
        assert_eq!(
            Command::parse("\\timing ON"),
            Ok(Command::Timing(Some(true)))
        );
        assert_eq!(
            Command::parse("\\timing off"),
            Ok(Command::Timing(Some(false)))
        );
        assert_eq!(
            Command::parse("\\mode sql"),
            Ok(Command::Mode(Some(Mode::Sql)))
        );
        assert_eq!(Command::parse("\\mode"), Ok(Command::Mode(None)));
        assert_eq!(
            Command::parse("\\format csv"),
            Ok(Command::Format(Some(Format::Csv)))
        );
        for exit in ["exit", "quit", "\\q"] {
            assert_eq!(Command::parse(exit), Ok(Command::Exit));
        }
    }

    #[test]
    fn bad_arguments_give_usage() {
        for (line, expect) in [
            ("stats x", "usage: stats"),
            ("stats 1 2", "usage: stats"),
            ("load", "usage: load KEY"),
            ("rm a b", "usage: rm KEY"),
            ("\\timing maybe", "usage: \\timing"),
            ("\\mode python", "unknown mode"),
            ("\\format xml", "unknown format"),
            ("exit now", "usage: exit"),
        ] {
            let err = Command::parse(line).unwrap_err();
            assert!(err.contains(expect), "{line}: {err}");
        }
    }

    #[test]
    fn every_topic_has_help() {
        assert!(help_text(None).unwrap().contains("\\timing on|off"));
        for topic in HELP_TOPICS {
            assert!(help_text(Some(topic)).is_ok(), "{topic}");
        }
        assert!(
            help_text(Some("nothing"))
                .unwrap_err()
                .contains("topics are")
        );
    }
}
