//! The scans of a series from the command line: files, folders (their scan files) and glob
//! patterns, in natural order of their paths (`scan_2` before `scan_10`).

use anyhow::{anyhow, bail, Result};
use bragg_refine::sequential::natural_cmp;
use std::path::{Path, PathBuf};

/// Extensions of powder-scan files taken from a folder (a trailing `.gz` is looked through).
pub const SCAN_EXTENSIONS: [&str; 16] = [
    "xy", "xye", "xyd", "csv", "dat", "txt", "gsa", "gss", "gsas", "fxye", "fxy", "raw", "uxd",
    "xrdml", "chi", "esd",
];

fn is_scan_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with('.') {
        return false;
    }
    let name = name.strip_suffix(".gz").unwrap_or(name);
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| SCAN_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Expands the SCANS arguments: a folder gives its scan files (by extension, not recursive),
/// a text with `*`, `?` or `[` is a glob pattern, anything else a file that must exist.
/// Duplicates are removed; the result is in natural order of the paths.
pub fn expand(args: &[String]) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    for a in args {
        let path = PathBuf::from(a);
        if path.is_dir() {
            let mut n = 0;
            for entry in std::fs::read_dir(&path).map_err(|e| anyhow!("{a}: {e}"))? {
                let p = entry.map_err(|e| anyhow!("{a}: {e}"))?.path();
                if p.is_file() && is_scan_file(&p) {
                    out.push(p);
                    n += 1;
                }
            }
            if n == 0 {
                bail!("{a}: the folder has no scan file ({})", SCAN_EXTENSIONS.join(", "));
            }
        } else if a.contains(['*', '?', '[']) {
            let mut n = 0;
            for p in glob::glob(a).map_err(|e| anyhow!("pattern {a}: {e}"))? {
                let p = p.map_err(|e| anyhow!("pattern {a}: {e}"))?;
                if p.is_file() {
                    out.push(p);
                    n += 1;
                }
            }
            if n == 0 {
                bail!("pattern {a}: no file matches");
            }
        } else if path.is_file() {
            out.push(path);
        } else {
            bail!("{a}: no such file or folder");
        }
    }
    out.sort_by(|x, y| natural_cmp(&x.to_string_lossy(), &y.to_string_lossy()));
    out.dedup();
    if out.is_empty() {
        bail!("no scan given");
    }
    Ok(out)
}
