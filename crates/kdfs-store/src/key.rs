//! Validated key paths and where their files live.
//!
//! A key such as `historical/minute/AAPL` names one frame; its compacted data lives at
//! `<dir>/historical/minute/AAPL.arrow`. Because keys come straight off the network, validation
//! is the only thing standing between a client and the server's filesystem, so it is strict:
//!
//! * 1 to [`MAX_KEY_BYTES`] bytes, at most [`MAX_SEGMENTS`] `/`-separated segments;
//! * every segment is 1 to [`MAX_SEGMENT_BYTES`] characters of `[A-Za-z0-9._-]`;
//! * no segment starts with `.` (this refuses `.` and `..`, and reserves dot-names for the store's
//!   own temporary files, which therefore can never collide with a key);
//! * no directory segment ends in `.arrow` (it would collide with the file of another key);
//! * the first segment is not `kdfs.redb` (the catalog database file).
//!
//! With these rules `dir.join(segments) + ".arrow"` can never leave `dir`, and no two keys (nor
//! a key and an internal file) map to the same path.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::StoreError;

/// Longest accepted key, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// Most `/`-separated segments in a key.
pub const MAX_SEGMENTS: usize = 16;
/// Longest accepted segment (file names are limited to 255 bytes, and `.arrow` is appended).
pub const MAX_SEGMENT_BYTES: usize = 200;
/// Name of the catalog database inside the store directory.
pub const DB_FILE: &str = "kdfs.redb";

/// A validated frame key (see the module docs for the rules).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyPath(String);

impl KeyPath {
    /// Validates `s` as a key.
    pub fn parse(s: &str) -> Result<KeyPath, StoreError> {
        let refuse = |reason: &str| {
            Err(StoreError::InvalidKey {
                key: s.chars().take(MAX_KEY_BYTES + 8).collect(),
                reason: reason.to_string(),
            })
        };
        if s.is_empty() {
            return refuse("the key is empty");
        }
        if s.len() > MAX_KEY_BYTES {
            return refuse(&format!("longer than {MAX_KEY_BYTES} bytes"));
        }
        if s.starts_with('/') {
            return refuse("keys are relative paths and must not start with '/'");
        }
        if s.ends_with('/') {
            return refuse("keys must not end with '/'");
        }
        let segments: Vec<&str> = s.split('/').collect();
        if segments.len() > MAX_SEGMENTS {
            return refuse(&format!("more than {MAX_SEGMENTS} '/'-separated segments"));
        }
        for (i, seg) in segments.iter().enumerate() {
            if seg.is_empty() {
                return refuse("empty segment ('//')");
            }
            if *seg == "." || *seg == ".." {
                return refuse("'.' and '..' segments are not allowed");
            }
            if seg.starts_with('.') {
                return refuse("segments must not start with '.'");
            }
            if seg.len() > MAX_SEGMENT_BYTES {
                return refuse(&format!(
                    "a segment is longer than {MAX_SEGMENT_BYTES} bytes"
                ));
            }
            if let Some(c) = seg
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
            {
                return refuse(&format!(
                    "character {c:?} is not allowed (use A-Z a-z 0-9 . _ - and '/' between segments)"
                ));
            }
            let is_dir = i + 1 < segments.len();
            if is_dir && seg.ends_with(".arrow") {
                return refuse("a directory segment must not end in '.arrow'");
            }
            if is_dir && i == 0 && *seg == DB_FILE {
                return refuse("'kdfs.redb' is the store's database file");
            }
        }
        Ok(KeyPath(s.to_string()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// Path of the key's Arrow IPC file under the store directory `dir`.
    pub fn file_path(&self, dir: &Path) -> PathBuf {
        let mut path = dir.to_path_buf();
        for seg in self.segments() {
            path.push(seg);
        }
        let mut name = path.into_os_string();
        name.push(".arrow");
        PathBuf::from(name)
    }

    /// Path of a temporary file used while writing generation `generation` of the key's file.
    ///
    /// It sits next to the final file (so the rename is atomic) and starts with `.`, which no
    /// key segment may, so it can never be mistaken for a frame.
    pub fn temp_path(&self, dir: &Path, generation: u64) -> PathBuf {
        let file = self.file_path(dir);
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        file.with_file_name(format!(".{name}.tmp-{generation}"))
    }

    /// Whether the key starts with `prefix` (plain string prefix).
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPath({:?})", self.0)
    }
}

impl FromStr for KeyPath {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyPath::parse(s)
    }
}

// Hash, Eq and Ord are derived from the inner string, so borrowing as `str` is consistent.
impl std::borrow::Borrow<str> for KeyPath {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for KeyPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_keys() {
        for k in [
            "AAPL",
            "historical/minute/AAPL",
            "a.b-c_d/E9",
            "x.arrow",
            "kdfs.redb",
        ] {
            assert_eq!(KeyPath::parse(k).unwrap().as_str(), k);
        }
    }

    #[test]
    fn refuses_hostile_keys() {
        let long = "a".repeat(MAX_KEY_BYTES + 1);
        let deep = vec!["a"; MAX_SEGMENTS + 1].join("/");
        for k in [
            "",
            "../x",
            "/etc/passwd",
            "a//b",
            "a/",
            ".",
            "..",
            "a/../b",
            "a/./b",
            ".hidden",
            "a b",
            "a\\b",
            "a\0b",
            "ü",
            "a.arrow/b",
            "kdfs.redb/x",
            long.as_str(),
            deep.as_str(),
        ] {
            match KeyPath::parse(k) {
                Err(StoreError::InvalidKey { reason, .. }) => assert!(!reason.is_empty()),
                other => panic!("{k:?} was not refused: {other:?}"),
            }
        }
    }

    #[test]
    fn file_paths_stay_inside_dir() {
        let dir = Path::new("/data/store");
        let k = KeyPath::parse("historical/minute/AAPL").unwrap();
        assert_eq!(
            k.file_path(dir),
            Path::new("/data/store/historical/minute/AAPL.arrow")
        );
        let t = k.temp_path(dir, 7);
        assert_eq!(
            t,
            Path::new("/data/store/historical/minute/.AAPL.arrow.tmp-7")
        );
        let db = KeyPath::parse("kdfs.redb").unwrap();
        assert_eq!(db.file_path(dir), Path::new("/data/store/kdfs.redb.arrow"));
    }

    #[test]
    fn from_str_and_display_round_trip() {
        let k: KeyPath = "a/b".parse().unwrap();
        assert_eq!(k.to_string(), "a/b");
        assert!(k.has_prefix("a/"));
    }
}
