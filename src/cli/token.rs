//! Where access tokens come from: `--token-file`, `--token`, or the `KDFS_TOKEN` environment
//! variable, in that order. A token on the command line is visible to every local user in `ps`,
//! so the file or the variable is the better place.

use anyhow::{Context, bail};
use std::path::Path;

/// The environment variable holding the token, for the server and for clients.
pub const TOKEN_ENV: &str = "KDFS_TOKEN";

/// The token from `--token-file` (surrounding whitespace removed), else `--token`, else
/// `$KDFS_TOKEN`; `None` when none is set.
pub fn resolve(flag: Option<&str>, file: Option<&Path>) -> anyhow::Result<Option<String>> {
    let token = if let Some(path) = file {
        warn_if_readable_by_others(path);
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file {}", path.display()))?;
        let token = text.trim().to_string();
        if token.is_empty() {
            bail!("the token file {} is empty", path.display());
        }
        token
    } else if let Some(token) = flag {
        token.to_string()
    } else {
        match std::env::var(TOKEN_ENV) {
            Ok(token) if !token.is_empty() => token,
            Ok(_) | Err(std::env::VarError::NotPresent) => return Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => bail!("${TOKEN_ENV} is not valid UTF-8"),
        }
    };
    if token.is_empty() {
        bail!("the token is empty; pass a non-empty --token, --token-file or ${TOKEN_ENV}");
    }
    Ok(Some(token))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            file = %path.display(),
            "the token file is readable by other users; `chmod 600` it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}
