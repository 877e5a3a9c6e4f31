//! Powder data as text columns: 2θ (degrees), intensity and optionally its esd (`.xy`, `.xye`,
//! `.dat`, `.csv`, each possibly gzip-compressed as `.gz`).

use crate::atomic::write_atomic;
use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A measured (or computed) powder pattern on a 2θ scale.
#[derive(Debug, Clone, PartialEq)]
pub struct PowderData {
    /// 2θ of each point in degrees, strictly increasing.
    pub two_theta_deg: Vec<f64>,
    /// Intensity of each point (counts or arbitrary units; may be negative after background
    /// subtraction).
    pub intensity: Vec<f64>,
    /// Standard deviation of each intensity, same units, ≥ 0, when the file has a third column.
    /// A zero esd is kept as is: the refinement excludes such points rather than invent a weight.
    pub esd: Option<Vec<f64>>,
    /// The file it was read from.
    pub source: PathBuf,
}

impl PowderData {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.two_theta_deg.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.two_theta_deg.is_empty()
    }
}

/// Whether `bytes` start with the gzip magic number (RFC 1952 §2.3.1: 0x1f 0x8b).
fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads a 2- or 3-column powder file (see [`parse_xye`]); gzip-compressed files (by content,
/// whatever the extension) are decompressed transparently.
pub fn read_xye(path: &Path) -> Result<PowderData> {
    let io_err = |source: std::io::Error| Error::Io { path: path.to_path_buf(), source };
    let raw = std::fs::read(path).map_err(io_err)?;
    let bytes = if is_gzip(&raw) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut out).map_err(io_err)?;
        out
    } else {
        raw
    };
    parse_xye(&String::from_utf8_lossy(&bytes), path)
}

/// Splits a data line into fields: separators are whitespace, `,` and `;` (so a decimal comma
/// is not supported); empty fields between separators are dropped.
fn fields(line: &str) -> Vec<&str> {
    line.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|f| !f.is_empty())
        .collect()
}

/// Parses the text of a powder file; `path` names it in messages and in [`PowderData::source`].
///
/// Lines starting with `#` or `!` and blank lines are skipped, and so are lines before the first
/// data line whose first field is not a number (a title or a column header). Every data line
/// must then have as many numeric fields as the first one, which must have 2 (2θ, I) or 3
/// (2θ, I, esd). Errors name the line: [`Error::Parse`] for text that is not a number,
/// [`Error::Data`] for a wrong column count, NaN or infinite values, 2θ not strictly
/// increasing, a negative esd, or no data at all.
pub fn parse_xye(text: &str, path: &Path) -> Result<PowderData> {
    let data_err =
        |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };
    let mut columns: Option<(usize, usize)> = None; // (count, line of the first data line)
    let mut tth = Vec::new();
    let mut y = Vec::new();
    let mut esd = Vec::new();
    let mut last_line = 0;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        last_line = line_no;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let f = fields(line);
        if columns.is_none() && f.first().is_none_or(|x| x.parse::<f64>().is_err()) {
            continue; // leading header line
        }
        let (count, first_line) = match columns {
            Some(c) => c,
            None => {
                if !(2..=3).contains(&f.len()) {
                    return Err(data_err(
                        line_no,
                        format!("first data line has {} columns; expected 2 (2θ, intensity) or 3 (2θ, intensity, esd)", f.len()),
                    ));
                }
                columns = Some((f.len(), line_no));
                (f.len(), line_no)
            }
        };
        let mut v = Vec::with_capacity(f.len());
        for (k, text) in f.iter().enumerate() {
            let x: f64 = text.parse().map_err(|_| Error::Parse {
                path: path.to_path_buf(),
                line: line_no,
                message: format!("column {} '{text}' is not a number", k + 1),
            })?;
            if !x.is_finite() {
                return Err(data_err(
                    line_no,
                    format!("column {} is {text}; values must be finite", k + 1),
                ));
            }
            v.push(x);
        }
        if f.len() != count {
            return Err(data_err(
                line_no,
                format!(
                    "{} columns, but the first data line (line {first_line}) has {count}",
                    f.len()
                ),
            ));
        }
        if let Some(&prev) = tth.last() {
            if v[0] <= prev {
                return Err(data_err(
                    line_no,
                    format!("2θ = {} does not increase (previous point {prev})", v[0]),
                ));
            }
        }
        if count == 3 && v[2] < 0.0 {
            return Err(data_err(line_no, format!("negative esd {}", v[2])));
        }
        tth.push(v[0]);
        y.push(v[1]);
        if count == 3 {
            esd.push(v[2]);
        }
    }
    let Some((count, _)) = columns else {
        return Err(data_err(
            last_line.max(1),
            "no data points (the file is empty or holds only comments and headers)".to_string(),
        ));
    };
    Ok(PowderData {
        two_theta_deg: tth,
        intensity: y,
        esd: (count == 3).then_some(esd),
        source: path.to_path_buf(),
    })
}

/// Writes powder data as text, atomically: a `# bragg <comment>` header line (pass e.g. the
/// wavelength), then one line per point, `2θ intensity esd` (two columns when `esd` is `None`).
/// Numbers are written with all the digits that make them round-trip exactly.
///
/// Errors: [`Error::InvalidInput`] (nothing written) if the columns differ in length or the
/// comment has a line break; [`Error::Io`] if the file cannot be written.
pub fn write_xye(path: &Path, data: &PowderData, comment: &str) -> Result<()> {
    let invalid = |message: String| Error::InvalidInput { path: path.to_path_buf(), message };
    let n = data.two_theta_deg.len();
    if data.intensity.len() != n || data.esd.as_ref().is_some_and(|e| e.len() != n) {
        return Err(invalid(format!(
            "columns differ in length (2θ {n}, intensity {}, esd {})",
            data.intensity.len(),
            data.esd.as_ref().map_or("none".to_string(), |e| e.len().to_string())
        )));
    }
    if comment.contains(['\n', '\r']) {
        return Err(invalid("the header comment must be a single line".to_string()));
    }
    write_atomic(path, |w: &mut dyn Write| {
        writeln!(w, "# bragg {comment}")?;
        for i in 0..n {
            match &data.esd {
                Some(e) => writeln!(w, "{} {} {}", data.two_theta_deg[i], data.intensity[i], e[i])?,
                None => writeln!(w, "{} {}", data.two_theta_deg[i], data.intensity[i])?,
            }
        }
        Ok(())
    })
}
