//! All-or-nothing output for `bragg demo`: every file is first written (itself atomically) into
//! a hidden staging folder beside the output folder; only when the whole pipeline has
//! succeeded are the files moved into place (one rename of the folder when it is new, else a
//! rename per file, each atomic). A failure removes the staging folder and leaves the output
//! folder as it was.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// A staging folder for `target`.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staging {
    /// Creates the staging folder beside `target` (which, if it exists, must be a folder).
    pub fn new(target: &Path) -> Result<Self> {
        if target.exists() && !target.is_dir() {
            bail!("-o {}: exists and is not a folder", target.display());
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bragg-demo".into());
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Staging { dir, target: target.to_path_buf(), committed: false })
    }

    /// The staging folder (write here).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Moves everything into the target folder; returns the files' final paths (sorted).
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        list_files(&self.dir, &self.dir, &mut files)?;
        if !self.target.exists() {
            std::fs::rename(&self.dir, &self.target).with_context(|| {
                format!("cannot move {} to {}", self.dir.display(), self.target.display())
            })?;
        } else {
            move_into(&self.dir, &self.target)?;
            std::fs::remove_dir_all(&self.dir)
                .with_context(|| format!("cannot remove {}", self.dir.display()))?;
        }
        self.committed = true;
        files.sort();
        Ok(files.into_iter().map(|f| self.target.join(f)).collect())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a failed run leaves nothing behind.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Relative paths of the files under `dir`.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let p = e?.path();
        if p.is_dir() {
            list_files(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_path_buf());
        }
    }
    Ok(())
}

/// Renames every entry of `src` into `dst` (folders merged recursively, files replaced).
fn move_into(src: &Path, dst: &Path) -> Result<()> {
    for e in std::fs::read_dir(src).with_context(|| format!("cannot list {}", src.display()))? {
        let p = e?.path();
        let Some(name) = p.file_name() else { continue };
        let to = dst.join(name);
        if p.is_dir() && to.is_dir() {
            move_into(&p, &to)?;
        } else {
            if to.is_dir() {
                std::fs::remove_dir_all(&to)
                    .with_context(|| format!("cannot replace {}", to.display()))?;
            }
            std::fs::rename(&p, &to)
                .with_context(|| format!("cannot move {} to {}", p.display(), to.display()))?;
        }
    }
    Ok(())
}
