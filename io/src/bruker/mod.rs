//! Bruker/Siemens DIFFRAC scans: text `.uxd` (this file) and binary `.raw` ([`raw`]).
//!
//! UXD (DIFFRAC-AT export; layout as documented with xylib's UXD reader): `;` starts a
//! comment line; `_KEY=value` lines hold parameters, file-wide before the first `_DRIVE` and
//! per range after it; a range's data follow a section keyword:
//!
//! * `_COUNTS` / `_COUNT` (counts, σ = √counts) or `_CPS` (counts per second; σ =
//!   √(cps·t)/t with t = `_STEPTIME`, no esd without it): intensities only, several per
//!   line, 2θᵢ = `_START` (or `_2THETA`) + i·`_STEPSIZE`; `_STEPCOUNT`, when present, must
//!   equal their number;
//! * `_2THETACOUNTS` / `_2THETACPS`: (2θ, intensity) pairs; `_2THETACOUNTSTIME`: (2θ,
//!   counts, time) triples;
//! * `_D-I`, `_2THETA-I`: peak lists, skipped.
//!
//! Wavelengths: `_WL1` (weight 1), `_WL2` (weight `_WLRATIO`); `_SAMPLE` is the comment.

pub mod raw;
mod raw4;

pub use raw::{parse_bruker_raw, parse_bruker_raw_ranges, read_bruker_raw, read_bruker_raw_ranges};

pub(crate) use raw::is_bruker_raw;

use crate::error::{Error, Result};
use crate::powder::{
    decode_text, read_bytes, PowderFormat, PowderMetadata, PowderScan, Wavelength,
};
use crate::xye::PowderData;
use std::path::Path;

/// Reads the first range of a Bruker `.uxd` file (a note says when there are more).
pub fn read_uxd(path: &Path) -> Result<PowderScan> {
    parse_uxd(&decode_text(&read_bytes(path)?), path)
}

/// Reads every range of a Bruker `.uxd` file, in file order.
pub fn read_uxd_ranges(path: &Path) -> Result<Vec<PowderScan>> {
    parse_uxd_ranges(&decode_text(&read_bytes(path)?), path)
}

/// [`read_uxd`] on text in memory; `path` names the file in messages.
pub fn parse_uxd(text: &str, path: &Path) -> Result<PowderScan> {
    let mut ranges = parse_uxd_ranges(text, path)?;
    let n = ranges.len();
    let mut first = ranges.swap_remove(0);
    if n > 1 {
        first.meta.notes.push(format!(
            "the file has {n} ranges; this is the first (use read_uxd_ranges for all)"
        ));
    }
    Ok(first)
}

/// Whether `text` looks like UXD: the first non-comment line is `_FILEVERSION`, or one of
/// the first 200 lines is a UXD range keyword.
pub(crate) fn looks_like_uxd(text: &str) -> bool {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with(';'));
    if lines.next().is_some_and(|l| l.starts_with("_FILEVERSION")) {
        return true;
    }
    text.lines().take(200).map(str::trim).any(|l| {
        ["_DRIVE", "_COUNTS", "_CPS", "_2THETACOUNTS", "_2THETACPS", "_STEPSIZE", "_2THETA="]
            .iter()
            .any(|k| l.starts_with(k))
    })
}

/// How a range's data are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Not in a data section.
    None,
    /// Intensities only; `cps` = counts per second.
    Steps { cps: bool },
    /// Columns per point: 2 (2θ, y) or 3 (2θ, counts, time); `cps` as above.
    Columns { n: usize, cps: bool },
    /// A peak list, skipped.
    Peaks,
}

/// One range under construction.
struct Range {
    line: usize,
    keys: Vec<(String, String, usize)>,
    section: Section,
    section_line: usize,
    /// The layout of the range's data section (kept after the section ends).
    data_kind: Section,
    /// (2θ or NaN for step data, y, line).
    points: Vec<(f64, f64, usize)>,
}

impl Range {
    fn new(line: usize) -> Self {
        Range {
            line,
            keys: Vec::new(),
            section: Section::None,
            section_line: line,
            data_kind: Section::None,
            points: Vec::new(),
        }
    }
}

/// The last value of `key` among `keys` (range keys shadow file keys), with its line.
fn lookup<'a>(
    file: &'a [(String, String, usize)],
    range: &'a [(String, String, usize)],
    key: &str,
) -> Option<(&'a str, usize)> {
    range
        .iter()
        .rev()
        .chain(file.iter().rev())
        .find(|(k, _, _)| k == key)
        .map(|(_, v, l)| (v.as_str(), *l))
}

/// [`read_uxd_ranges`] on text in memory.
///
/// Errors name the line: [`Error::Parse`] for a non-number; [`Error::Missing`] for data
/// without `_START`/`_2THETA` or `_STEPSIZE`, or a file without data; [`Error::Data`] for a
/// `_STEPCOUNT` that disagrees with the data, a non-positive step, 2θ not increasing,
/// NaN, negative counts, or a wrong number of columns.
pub fn parse_uxd_ranges(text: &str, path: &Path) -> Result<Vec<PowderScan>> {
    let parse_err =
        |line: usize, message: String| Error::Parse { path: path.to_path_buf(), line, message };
    let data_err =
        |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };
    let mut file_keys: Vec<(String, String, usize)> = Vec::new();
    let mut ranges: Vec<Range> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(kw) = line.strip_prefix('_') {
            let (key, value) = match kw.split_once('=') {
                Some((k, v)) => (
                    k.trim().to_ascii_uppercase(),
                    Some(v.trim().trim_matches(['\'', '"']).to_string()),
                ),
                None => (kw.trim().to_ascii_uppercase(), None),
            };
            if key == "DRIVE" {
                let mut r = Range::new(line_no);
                if let Some(v) = &value {
                    r.keys.push((key.clone(), v.clone(), line_no));
                }
                ranges.push(r);
                continue;
            }
            let section = match (key.as_str(), &value) {
                ("COUNTS" | "COUNT", None) => Some(Section::Steps { cps: false }),
                ("CPS", None) => Some(Section::Steps { cps: true }),
                ("2THETACOUNTS", None) => Some(Section::Columns { n: 2, cps: false }),
                ("2THETACPS", None) => Some(Section::Columns { n: 2, cps: true }),
                ("2THETACOUNTSTIME", None) => Some(Section::Columns { n: 3, cps: false }),
                ("D-I" | "2THETA-I", None) => Some(Section::Peaks),
                _ => None,
            };
            if let Some(s) = section {
                if ranges.is_empty() {
                    // Old files may omit _DRIVE: the file header is then the range header.
                    ranges.push(Range::new(line_no));
                }
                if let Some(r) = ranges.last_mut() {
                    if s != Section::Peaks && !r.points.is_empty() {
                        // A second data section without _DRIVE starts a new range.
                        let mut nr = Range::new(line_no);
                        nr.keys = r.keys.clone();
                        ranges.push(nr);
                    }
                }
                if let Some(r) = ranges.last_mut() {
                    r.section = s;
                    r.section_line = line_no;
                    if s != Section::Peaks {
                        r.data_kind = s;
                    }
                }
                continue;
            }
            let v = value.unwrap_or_default();
            match ranges.last_mut() {
                Some(r) => {
                    r.section = Section::None;
                    r.keys.push((key, v, line_no));
                }
                None => file_keys.push((key, v, line_no)),
            }
            continue;
        }
        let Some(r) = ranges.last_mut() else {
            return Err(parse_err(line_no, format!("data before any UXD keyword: '{line}'")));
        };
        let toks: Vec<&str> =
            line.split(|c: char| c.is_whitespace() || c == ',').filter(|t| !t.is_empty()).collect();
        let mut vals = Vec::with_capacity(toks.len());
        for t in &toks {
            let x: f64 =
                t.parse().map_err(|_| parse_err(line_no, format!("'{t}' is not a number")))?;
            if !x.is_finite() {
                return Err(data_err(line_no, format!("value {t}; values must be finite")));
            }
            vals.push(x);
        }
        match r.section {
            Section::None => {
                return Err(parse_err(
                    line_no,
                    "numbers outside a data section (_COUNTS, _CPS, _2THETACOUNTS, ...)"
                        .to_string(),
                ))
            }
            Section::Peaks => {}
            Section::Steps { .. } => r.points.extend(vals.iter().map(|&y| (f64::NAN, y, line_no))),
            Section::Columns { n, .. } => {
                if vals.len() % n != 0 {
                    return Err(data_err(
                        line_no,
                        format!("{} numbers; this section holds {n} per point", vals.len()),
                    ));
                }
                r.points.extend(vals.chunks(n).map(|c| (c[0], c[1], line_no)));
            }
        }
    }
    let mut out = Vec::new();
    for r in ranges.iter().filter(|r| !r.points.is_empty()) {
        out.push(finish_range(r, &file_keys, path)?);
    }
    if out.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: text.lines().count().max(1),
            what: "UXD data (a _COUNTS, _CPS or _2THETACOUNTS section with numbers)".to_string(),
        });
    }
    Ok(out)
}

/// Builds the scan of one range: 2θ grid, esd, checks, metadata.
fn finish_range(
    r: &Range,
    file_keys: &[(String, String, usize)],
    path: &Path,
) -> Result<PowderScan> {
    let data_err =
        |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };
    let num = |key: &str| -> Result<Option<(f64, usize)>> {
        match lookup(file_keys, &r.keys, key) {
            None => Ok(None),
            Some((v, l)) => {
                v.parse::<f64>().ok().filter(|x| x.is_finite()).map(|x| Some((x, l))).ok_or_else(
                    || Error::Parse {
                        path: path.to_path_buf(),
                        line: l,
                        message: format!("_{key}={v} is not a number"),
                    },
                )
            }
        }
    };
    let (cps, step_data) = match r.data_kind {
        Section::Steps { cps } => (cps, true),
        Section::Columns { cps, .. } => (cps, false),
        Section::None | Section::Peaks => (false, r.points.first().is_some_and(|p| p.0.is_nan())),
    };
    let n = r.points.len();
    let mut tth = Vec::with_capacity(n);
    if step_data {
        let (start, _) = match num("START")? {
            Some(s) => s,
            None => num("2THETA")?.ok_or_else(|| Error::Missing {
                path: path.to_path_buf(),
                line: r.line,
                what: "_START or _2THETA (first 2θ) for the range".to_string(),
            })?,
        };
        let (step, step_line) = num("STEPSIZE")?.ok_or_else(|| Error::Missing {
            path: path.to_path_buf(),
            line: r.line,
            what: "_STEPSIZE for the range".to_string(),
        })?;
        if step <= 0.0 {
            return Err(data_err(step_line, format!("_STEPSIZE={step} must be positive")));
        }
        if let Some((count, l)) = num("STEPCOUNT")? {
            if count != n as f64 {
                return Err(data_err(
                    l,
                    format!(
                        "_STEPCOUNT={count} but the range (line {}) holds {n} values",
                        r.section_line
                    ),
                ));
            }
        }
        tth.extend(
            crate::powder::two_theta_grid(start, step, n)
                .map_err(|m| data_err(r.section_line, m))?,
        );
    } else {
        for (i, p) in r.points.iter().enumerate() {
            if i > 0 && p.0 <= r.points[i - 1].0 {
                return Err(data_err(
                    p.2,
                    format!(
                        "2θ = {} does not increase (previous point {})",
                        p.0,
                        r.points[i - 1].0
                    ),
                ));
            }
            tth.push(p.0);
        }
    }
    let step_time = num("STEPTIME")?.map(|s| s.0).filter(|t| *t > 0.0);
    let mut y = Vec::with_capacity(n);
    let mut esd = Vec::with_capacity(n);
    for &(_, v, line) in &r.points {
        if v < 0.0 {
            return Err(data_err(line, format!("negative intensity {v}; UXD data are counts")));
        }
        y.push(v);
        esd.push(match (cps, step_time) {
            (false, _) => v.sqrt(),
            (true, Some(t)) => (v * t).sqrt() / t,
            (true, None) => 0.0,
        });
    }
    let esd = (!cps || step_time.is_some()).then_some(esd);
    let mut meta = PowderMetadata::new(PowderFormat::BrukerUxd);
    for (k, v, _) in file_keys.iter().chain(r.keys.iter()) {
        meta.fields.push((k.clone(), v.clone()));
    }
    if let Some((wl1, _)) = num("WL1")?.filter(|w| w.0 > 0.0) {
        meta.wavelengths.push(Wavelength { angstrom: wl1, relative_intensity: Some(1.0) });
        if let Some((wl2, _)) = num("WL2")?.filter(|w| w.0 > 0.0) {
            let ratio = num("WLRATIO")?.map(|r| r.0);
            meta.wavelengths.push(Wavelength { angstrom: wl2, relative_intensity: ratio });
        }
    }
    meta.comment =
        lookup(file_keys, &r.keys, "SAMPLE").map(|(v, _)| v.to_string()).filter(|s| !s.is_empty());
    let date = lookup(file_keys, &r.keys, "DATEMEASURED")
        .or_else(|| lookup(file_keys, &r.keys, "DATE"))
        .map(|(v, _)| v.to_string());
    let time = lookup(file_keys, &r.keys, "TIMEMEASURED")
        .or_else(|| lookup(file_keys, &r.keys, "TIME"))
        .map(|(v, _)| v.to_string());
    meta.timestamp = match (date, time) {
        (Some(d), Some(t)) => Some(format!("{d} {t}")),
        (d, t) => d.or(t),
    };
    if cps && step_time.is_none() {
        meta.notes.push("counts per second without _STEPTIME: no esd".to_string());
    }
    Ok(PowderScan {
        data: PowderData { two_theta_deg: tth, intensity: y, esd, source: path.to_path_buf() },
        meta,
    })
}
