//! Atomic file writes: write to a temporary file in the target's directory, flush it to disk,
//! then rename it over the target. A failure at any point leaves the target as it was (absent
//! or with its previous content) and removes the temporary file.

use crate::error::{Error, Result};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes `path` atomically: `write` fills a buffered temporary file created in the same
/// directory (so the final rename cannot cross file systems), which then replaces `path`.
///
/// If `write` returns an error, or flushing, syncing or renaming fails, the temporary file is
/// deleted and `path` is untouched. The new file gets the permissions of the file it replaces,
/// or `rw-r--r--` on Unix when it is new (the temporary file itself is created private).
pub fn write_atomic<F>(path: &Path, write: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::io::Result<()>,
{
    let io_err = |source: std::io::Error| Error::Io { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let previous_permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
    let temp = tempfile::Builder::new().prefix(".bragg-tmp-").tempfile_in(dir).map_err(io_err)?;
    {
        let mut out = BufWriter::new(temp.as_file());
        write(&mut out).map_err(io_err)?;
        out.flush().map_err(io_err)?;
    }
    temp.as_file().sync_all().map_err(io_err)?;
    match previous_permissions {
        Some(p) => temp.as_file().set_permissions(p).map_err(io_err)?,
        None => set_default_permissions(temp.as_file()).map_err(io_err)?,
    }
    temp.persist(path).map_err(|e| io_err(e.error))?;
    Ok(())
}

#[cfg(unix)]
fn set_default_permissions(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_default_permissions(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}
