//! Where the REPL keeps its history between sessions.

use std::path::{Path, PathBuf};

/// The history file: `$XDG_DATA_HOME/kdfs/history`, else `~/.local/share/kdfs/history`, else
/// `~/.kdfs_history` when that directory cannot be created. `None` without a home directory.
pub fn history_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    choose(xdg.as_deref(), home.as_deref())
}

fn choose(xdg: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    let data_dir = match (xdg, home) {
        (Some(x), _) => Some(x.to_path_buf()),
        (None, Some(h)) => Some(h.join(".local").join("share")),
        (None, None) => None,
    };
    if let Some(dir) = data_dir.map(|d| d.join("kdfs"))
        && std::fs::create_dir_all(&dir).is_ok()
    {
        return Some(dir.join("history"));
    }
    home.map(|h| h.join(".kdfs_history"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_xdg_then_home_then_dotfile() {
        let tmp = tempfile::tempdir().unwrap();
        let xdg = tmp.path().join("xdg");
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        assert_eq!(
            choose(Some(&xdg), Some(&home)),
            Some(xdg.join("kdfs/history"))
        );
        assert!(xdg.join("kdfs").is_dir());
        assert_eq!(
            choose(None, Some(&home)),
            Some(home.join(".local/share/kdfs/history"))
        );
        // A data directory that cannot be created (a file is in the way) falls back.
        let blocked = tmp.path().join("file");
        std::fs::write(&blocked, "x").unwrap();
        assert_eq!(
            choose(Some(&blocked), Some(&home)),
            Some(home.join(".kdfs_history"))
        );
        assert_eq!(choose(None, None), None);
    }
}
