//! Channels: standard streams, files, and the embedder's output sink.

use crate::error::{ErrorKind, KResult, err};
use std::fs::File;
use std::io::{BufRead, BufWriter, Write};

/// Where standard output goes.
pub enum Sink {
    /// The process's standard output.
    Stdout,
    /// Collected in memory (see `Klong::take_output`).
    Capture(String),
    /// An embedder-supplied writer.
    Writer(Box<dyn Write>),
}

/// One open channel.
pub enum Chan {
    /// Standard input.
    Stdin { eof: bool },
    /// Standard output (goes to the sink).
    Stdout,
    /// Standard error.
    Stderr,
    /// A file opened for reading (read fully at open).
    InFile { text: Vec<char>, pos: usize },
    /// A file opened for writing.
    OutFile(BufWriter<File>),
    /// A closed channel.
    Closed,
}

/// The channel table and the current From/To channels.
pub struct Channels {
    /// Channels by number; 0, 1 and 2 are the standard ones.
    pub chans: Vec<Chan>,
    /// Current input channel.
    pub from: usize,
    /// Current output channel.
    pub to: usize,
    /// Standard output sink.
    pub sink: Sink,
}

impl Default for Channels {
    fn default() -> Self {
        Self::new()
    }
}

impl Channels {
    /// Standard channels only; output to stdout.
    pub fn new() -> Channels {
        Channels {
            chans: vec![Chan::Stdin { eof: false }, Chan::Stdout, Chan::Stderr],
            from: 0,
            to: 1,
            sink: Sink::Stdout,
        }
    }

    /// Write text to the To channel.
    pub fn write(&mut self, s: &str) -> KResult<()> {
        let to = self.to;
        let r = match self.chans.get_mut(to) {
            Some(Chan::Stdout) => match &mut self.sink {
                Sink::Stdout => {
                    let mut o = std::io::stdout();
                    o.write_all(s.as_bytes())
                }
                Sink::Capture(buf) => {
                    if buf.len() < (64 << 20) {
                        buf.push_str(s);
                    }
                    Ok(())
                }
                Sink::Writer(w) => w.write_all(s.as_bytes()),
            },
            Some(Chan::Stderr) => std::io::stderr().write_all(s.as_bytes()),
            Some(Chan::OutFile(f)) => f.write_all(s.as_bytes()),
            _ => return err(ErrorKind::Io, "writing to closed channel"),
        };
        r.map_err(|e| crate::error::KlongError::new(ErrorKind::Io, format!("write failed: {e}")))
    }

    /// Flush the To channel.
    pub fn flush(&mut self) {
        let to = self.to;
        match self.chans.get_mut(to) {
            Some(Chan::OutFile(f)) => {
                let _ = f.flush();
            }
            Some(Chan::Stdout) => match &mut self.sink {
                Sink::Stdout => {
                    let _ = std::io::stdout().flush();
                }
                Sink::Writer(w) => {
                    let _ = w.flush();
                }
                Sink::Capture(_) => {}
            },
            _ => {}
        }
    }

    /// Add a channel and return its number.
    pub fn open(&mut self, c: Chan) -> usize {
        if let Some(i) = self
            .chans
            .iter()
            .skip(3)
            .position(|c| matches!(c, Chan::Closed))
        {
            self.chans[i + 3] = c;
            return i + 3;
        }
        self.chans.push(c);
        self.chans.len() - 1
    }

    /// Close a channel (standard channels stay open).
    pub fn close(&mut self, n: usize) {
        if n >= 3 {
            if let Some(Chan::OutFile(f)) = self.chans.get_mut(n) {
                let _ = f.flush();
            }
            if let Some(c) = self.chans.get_mut(n) {
                *c = Chan::Closed;
            }
        }
        if self.from == n {
            self.from = 0;
        }
        if self.to == n {
            self.to = 1;
        }
    }

    /// Read one line (without terminator) from the From channel; `None` at end of input.
    pub fn read_line(&mut self) -> KResult<Option<String>> {
        let from = self.from;
        match self.chans.get_mut(from) {
            Some(Chan::Stdin { eof }) => {
                let mut s = String::new();
                match std::io::stdin().lock().read_line(&mut s) {
                    Ok(0) | Err(_) => {
                        *eof = true;
                        Ok(None)
                    }
                    Ok(_) => Ok(Some(s.trim_end_matches(['\n', '\r']).to_string())),
                }
            }
            Some(Chan::InFile { text, pos }) => {
                if *pos >= text.len() {
                    return Ok(None);
                }
                let start = *pos;
                while *pos < text.len() && text[*pos] != '\n' {
                    *pos += 1;
                }
                let line: String = text[start..*pos].iter().collect();
                if *pos < text.len() {
                    *pos += 1;
                }
                Ok(Some(line))
            }
            _ => err(ErrorKind::Io, "reading from closed channel"),
        }
    }

    /// True when the From channel has more input.
    pub fn more_input(&mut self) -> bool {
        let from = self.from;
        match self.chans.get(from) {
            Some(Chan::Stdin { eof }) => !*eof,
            Some(Chan::InFile { text, pos }) => *pos < text.len(),
            _ => false,
        }
    }

    /// For `.r`: the rest of an input file's text (position advanced by the caller).
    pub fn file_text(&mut self) -> Option<(&[char], &mut usize)> {
        let from = self.from;
        match self.chans.get_mut(from) {
            Some(Chan::InFile { text, pos }) => Some((&text[..], pos)),
            _ => None,
        }
    }
}
