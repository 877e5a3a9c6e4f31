//! FullProf free-format powder data (`.dat`, FullProf `INSTRM = 0`; J. Rodríguez-Carvajal,
//! *FullProf manual*, "Format of the data file: INSTRM = 0").
//!
//! ```text
//! optional title / comment lines
//!   10.000   0.025 160.000  optional title      <- start, step, stop (2θ in degrees)
//!      179     147     165 ...                  <- intensities, free format, any number per line
//! ```
//!
//! The number of points must be exactly round((stop − start)/step) + 1; two tolerated
//! variants: a line of extra numbers right after the header (monitor, time, ...) when the
//! count matches without it, and trailing zero padding of the last line. The intensities are
//! counts, so σ = √I (Poisson); 2θᵢ = start + i·step. Lines starting with `!` or `#` are
//! comments.

use crate::error::{Error, Result};
use crate::powder::{read_text, PowderFormat, PowderMetadata, PowderScan};
use crate::xye::PowderData;
use std::path::Path;

/// Reads a FullProf free-format `.dat` file (see the [module documentation](self)); gzip is
/// decompressed transparently.
pub fn read_fullprof(path: &Path) -> Result<PowderScan> {
    parse_fullprof(&read_text(path)?, path)
}

/// A `start step stop` header candidate.
struct Header {
    /// 0-based line index.
    index: usize,
    start: f64,
    step: f64,
    n: usize,
    title: Option<String>,
}

/// Whether a line is a comment or blank.
fn skip(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('!') || t.starts_with('#')
}

/// The `start step stop` reading of a line, if its first three fields are numbers with
/// step > 0, stop > start and a sane number of points.
fn header_of(index: usize, line: &str) -> Option<Header> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let num = |i: usize| f.get(i)?.parse::<f64>().ok().filter(|x| x.is_finite());
    let (start, step, stop) = (num(0)?, num(1)?, num(2)?);
    if step <= 0.0 || stop <= start {
        return None;
    }
    let span = ((stop - start) / step).round();
    if !(1.0..=5.0e7).contains(&span) {
        return None;
    }
    let rest = f.get(3..).map(|r| r.join(" ")).unwrap_or_default();
    Some(Header {
        index,
        start,
        step,
        n: span as usize + 1,
        title: (!rest.is_empty()).then_some(rest),
    })
}

/// The points read under a header, or why they do not fit it.
struct Reading {
    header: Header,
    values: Vec<(f64, usize)>,
    notes: Vec<String>,
}

/// Reads the values after `h` and checks their number (message + 1-based line on failure).
fn read_under(h: Header, lines: &[&str], path: &Path) -> Result<Reading> {
    let mut values: Vec<(f64, usize)> = Vec::new();
    let mut first_line_count: Option<usize> = None;
    for (i, line) in lines.iter().enumerate().skip(h.index + 1) {
        if skip(line) {
            continue;
        }
        let mut k = 0;
        for tok in line.split_whitespace() {
            let x: f64 = tok.parse().map_err(|_| Error::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("'{tok}' is not a number (intensities expected)"),
            })?;
            if !x.is_finite() {
                return Err(Error::Data {
                    path: path.to_path_buf(),
                    line: i + 1,
                    message: format!("intensity {tok}; values must be finite"),
                });
            }
            values.push((x, i + 1));
            k += 1;
        }
        first_line_count.get_or_insert(k);
    }
    let n = h.n;
    let mut notes = Vec::new();
    let header_line = h.index + 1;
    if values.len() != n {
        let extra = first_line_count.unwrap_or(0);
        if values.len() > n && values.len() - extra == n && extra > 0 {
            let line = values[0].1;
            notes.push(format!("line {line}: {extra} number(s) after the header taken as a header line, not intensities"));
            values.drain(..extra);
        } else if values.len() > n && values[n..].iter().all(|v| v.0 == 0.0) {
            notes.push(format!(
                "ignored {} trailing zero(s) after the {n} points (padding)",
                values.len() - n
            ));
            values.truncate(n);
        } else {
            let line = if values.len() > n {
                values[n].1
            } else {
                values.last().map_or(header_line, |v| v.1)
            };
            return Err(Error::Data {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "the header (line {header_line}: start {}, step {}) announces {n} points \
                     = round((stop − start)/step) + 1, but the file holds {} intensities",
                    h.start,
                    h.step,
                    values.len()
                ),
            });
        }
    }
    Ok(Reading { header: h, values, notes })
}

/// Finds the header among the first non-comment lines and reads the values under it: the
/// first candidate whose point count fits wins; if none fits, the first candidate's error.
fn analyse(lines: &[&str], path: &Path) -> Result<Reading> {
    let mut first_err: Option<Error> = None;
    let candidates = lines.iter().enumerate().filter(|(_, l)| !skip(l)).take(4);
    for (i, line) in candidates {
        if let Some(h) = header_of(i, line) {
            match read_under(h, lines, path) {
                Ok(r) => return Ok(r),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
    }
    Err(first_err.unwrap_or_else(|| Error::Missing {
        path: path.to_path_buf(),
        line: 1,
        what: "a 'start step stop' line (2θ in degrees) among the first lines".to_string(),
    }))
}

/// Whether one of the first four non-comment lines of `text` reads as a `start step stop`
/// header: a necessary condition of [`looks_like_fullprof`] that looks at those lines only.
pub(crate) fn has_header_candidate(text: &str) -> bool {
    text.lines().filter(|l| !skip(l)).take(4).enumerate().any(|(i, l)| header_of(i, l).is_some())
}

/// Whether `text` looks like FullProf free format: a header whose point count fits the data,
/// or a header followed by a line of more than three numbers (which 2/3-column text never
/// has). Only text with a header candidate ([`has_header_candidate`]) is analysed as a whole.
pub(crate) fn looks_like_fullprof(text: &str) -> bool {
    if !has_header_candidate(text) {
        return false;
    }
    let lines: Vec<&str> = text.lines().collect();
    let probe = Path::new("");
    if analyse(&lines, probe).is_ok() {
        return true;
    }
    let mut it = lines.iter().enumerate().filter(|(_, l)| !skip(l));
    for _ in 0..2 {
        let Some((i, l)) = it.next() else { return false };
        if header_of(i, l).is_some() {
            let next = lines.iter().skip(i + 1).find(|l| !skip(l));
            return next.is_some_and(|n| {
                let f: Vec<&str> = n.split_whitespace().collect();
                f.len() > 3 && f.iter().all(|t| t.parse::<f64>().is_ok())
            });
        }
    }
    false
}

/// [`read_fullprof`] on text in memory; `path` names the file in messages.
///
/// Errors: [`Error::Missing`] without a header line; [`Error::Parse`] for a non-number;
/// [`Error::Data`] for a wrong number of points (naming the header and the count), NaN or
/// infinity, or a negative count.
pub fn parse_fullprof(text: &str, path: &Path) -> Result<PowderScan> {
    let lines: Vec<&str> = text.lines().collect();
    let r = analyse(&lines, path)?;
    let mut meta = PowderMetadata::new(PowderFormat::FullProf);
    let titles: Vec<String> = lines
        .iter()
        .take(r.header.index)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_start_matches(['!', '#']).trim().to_string())
        .chain(r.header.title.clone())
        .collect();
    if !titles.is_empty() {
        meta.comment = Some(titles.join(" | "));
    }
    meta.notes = r.notes;
    let n = r.values.len();
    let mut tth = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    let mut esd = Vec::with_capacity(n);
    let grid =
        crate::powder::two_theta_grid(r.header.start, r.header.step, n).map_err(|message| {
            Error::Data { path: path.to_path_buf(), line: r.header.index + 1, message }
        })?;
    for (i, &(v, line)) in r.values.iter().enumerate() {
        if v < 0.0 {
            return Err(Error::Data {
                path: path.to_path_buf(),
                line,
                message: format!("negative count {v} (point {}): σ = √I needs counts", i + 1),
            });
        }
        tth.push(grid[i]);
        y.push(v);
        esd.push(v.sqrt());
    }
    Ok(PowderScan {
        data: PowderData {
            two_theta_deg: tth,
            intensity: y,
            esd: Some(esd),
            source: path.to_path_buf(),
        },
        meta,
    })
}
