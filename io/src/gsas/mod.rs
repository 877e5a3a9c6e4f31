//! GSAS raw powder data (`.gsa`, `.gsas`, `.raw`, `.fxye`, `.xra`, ...) and GSAS instrument
//! parameter files ([`prm`]).
//!
//! Layout (A. C. Larson & R. B. Von Dreele, *General Structure Analysis System (GSAS)*, Los
//! Alamos National Laboratory Report LAUR 86-748 (2004), "GSAS Standard Powder Data File"):
//!
//! ```text
//! title line (always the first line)
//! Instrument parameter file: NAME.prm      (optional second line)
//! # comment lines (anywhere)
//! BANK IBANK NCHAN NREC BINTYP BCOEF1 BCOEF2 BCOEF3 BCOEF4 TYPE
//! NREC data records
//! BANK ...                                  (further banks)
//! ```
//!
//! Only constant-wavelength data are read: `BINTYP` `CONST` or `CONS`, with BCOEF1 = first
//! 2θ and BCOEF2 = step, **both in centidegrees** (converted to degrees here). `TYPE`
//! (default `STD` when absent):
//!
//! * `STD`: `(10(I2,F6.0))` = ten 8-column fields per record, each an optional counter
//!   number NCTR (2 columns; blank or 0 means 1) and YO, "the number of counts per counter"
//!   (6 columns). The total count is NCTR·YO, so by Poisson statistics
//!   σ(YO) = √(NCTR·YO)/NCTR = √(YO/NCTR); intensity = YO. (GSAS-II's reader uses the same
//!   variance YO/NCTR.) A record whose numbers are not aligned on the 8-column grid (written
//!   by some converters) is read as free-format counts with NCTR = 1.
//! * `ESD`: `(10F8.0)` = five (value, esd) pairs per record (free format if not aligned).
//! * `FXYE`: free-format `x y esd` per line, x in centidegrees.
//! * `FXY`: free-format `x y` per line, x in centidegrees, σ = √y.
//!
//! Time-of-flight banks (`RALF`, `SLOG`, `TIME_MAP`, `ALT`, ...) are rejected with a clear
//! error: [`PowderData`] is a 2θ scan.

pub mod prm;

pub use prm::{read_gsas_prm, GsasPrm, GsasPrmBank, GsasProfile};

use crate::error::{Error, Result};
use crate::powder::{read_text, PowderFormat, PowderMetadata, PowderScan, Wavelength};
use crate::xye::PowderData;
use std::path::Path;

/// Reads the first bank of a GSAS raw powder file (see the [module documentation](self));
/// a note in [`PowderMetadata::notes`] says when the file has more banks. Gzip is
/// decompressed transparently.
pub fn read_gsas(path: &Path) -> Result<PowderScan> {
    parse_gsas(&read_text(path)?, path)
}

/// Reads every bank of a GSAS raw powder file, in file order.
pub fn read_gsas_banks(path: &Path) -> Result<Vec<PowderScan>> {
    parse_gsas_banks(&read_text(path)?, path)
}

/// [`read_gsas`] on text in memory; `path` names the file in messages.
pub fn parse_gsas(text: &str, path: &Path) -> Result<PowderScan> {
    let mut banks = parse_gsas_banks(text, path)?;
    let n = banks.len();
    let mut first = banks.swap_remove(0);
    if n > 1 {
        first.meta.notes.push(format!(
            "the file has {n} banks; this is the first (use read_gsas_banks for all)"
        ));
    }
    Ok(first)
}

/// Whether `line` is a GSAS `BANK` record: `BANK` followed by a bank number.
fn is_bank_line(line: &str) -> bool {
    // Cheap refusal of data lines before splitting.
    if !line.trim_start().starts_with("BANK") {
        return false;
    }
    let mut t = line.split_whitespace();
    t.next() == Some("BANK") && t.next().is_some_and(|n| n.parse::<u32>().is_ok())
}

/// Whether `text` looks like GSAS raw data: a `BANK n` record after the title line, among
/// the first 1000 lines.
pub(crate) fn looks_like_gsas(text: &str) -> bool {
    text.lines().take(1000).skip(1).any(is_bank_line)
}

/// The data layout of a bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BankType {
    Std,
    Esd,
    Fxy,
    Fxye,
}

/// The parsed `BANK` record.
struct BankHeader {
    number: u32,
    nchan: usize,
    start_centideg: f64,
    step_centideg: f64,
    kind: BankType,
}

/// Parses a `BANK` record (1-based line `line_no`).
fn parse_bank_line(line: &str, line_no: usize, path: &Path) -> Result<BankHeader> {
    let err = |message: String| Error::Parse { path: path.to_path_buf(), line: line_no, message };
    let t: Vec<&str> = line.split_whitespace().collect();
    let get = |i: usize, what: &str| {
        t.get(i)
            .copied()
            .ok_or_else(|| err(format!("BANK record without {what} (field {})", i + 1)))
    };
    let number: u32 = get(1, "bank number")?
        .parse()
        .map_err(|_| err(format!("bank number '{}' is not an integer", t[1])))?;
    let nchan_s = get(2, "NCHAN")?;
    let nchan: usize =
        nchan_s.parse().map_err(|_| err(format!("NCHAN '{nchan_s}' is not an integer")))?;
    let nrec_s = get(3, "NREC")?;
    nrec_s.parse::<usize>().map_err(|_| err(format!("NREC '{nrec_s}' is not an integer")))?;
    let bintyp = get(4, "BINTYP")?.to_ascii_uppercase();
    if bintyp != "CONST" && bintyp != "CONS" {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: line_no,
            message: format!(
                "BINTYP '{bintyp}' is not supported: only constant-step 2θ data (CONST or CONS) \
                 can be read as a 2θ scan (time-of-flight and LPSD binnings are not)"
            ),
        });
    }
    let num = |i: usize, what: &str| -> Result<f64> {
        let s = get(i, what)?;
        s.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| err(format!("{what} '{s}' is not a finite number")))
    };
    let start_centideg = num(5, "BCOEF1 (start 2θ, centidegrees)")?;
    let step_centideg = num(6, "BCOEF2 (step, centidegrees)")?;
    let mut kind = BankType::Std;
    for word in t.iter().skip(7) {
        match word.to_ascii_uppercase().as_str() {
            "STD" => kind = BankType::Std,
            "ESD" => kind = BankType::Esd,
            "FXY" => kind = BankType::Fxy,
            "FXYE" => kind = BankType::Fxye,
            "ALT" => {
                return Err(Error::Data {
                    path: path.to_path_buf(),
                    line: line_no,
                    message: "TYPE ALT (time-of-flight) is not supported".to_string(),
                })
            }
            _ => {}
        }
    }
    if nchan == 0 {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: line_no,
            message: "NCHAN is 0: the bank has no points".to_string(),
        });
    }
    if matches!(kind, BankType::Std | BankType::Esd) && step_centideg <= 0.0 {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: line_no,
            message: format!("step BCOEF2 = {step_centideg} centidegrees must be positive"),
        });
    }
    Ok(BankHeader { number, nchan, start_centideg, step_centideg, kind })
}

/// Whitespace-separated tokens of `line` with their byte ranges.
fn tokens(line: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        if line[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && !line[i].is_ascii_whitespace() {
            i += 1;
        }
        out.push((start, i));
    }
    out
}

/// Whether a record follows the fixed-width layout GSAS writes: no tabs, a length (without
/// trailing blanks) that is a multiple of 8, and in every 8-column field a right-justified
/// number without inner blanks (or nothing), preceded, with `counter`, by a 2-column counter
/// that is blank or an integer. Numbers in adjacent fields may touch (`10   21110   216`).
fn is_fixed_width(line: &[u8], counter: bool) -> bool {
    if line.contains(&b'\t') || line.len() % 8 != 0 {
        return false;
    }
    let right_justified = |f: &[u8]| {
        let t = f.trim_ascii();
        t.is_empty()
            || (f.last().is_some_and(|c| !c.is_ascii_whitespace())
                && !t.iter().any(u8::is_ascii_whitespace))
    };
    line.chunks(8).all(|f| {
        if counter {
            let c = f[..2].trim_ascii();
            (c.is_empty() || c.iter().all(u8::is_ascii_digit)) && right_justified(&f[2..])
        } else {
            right_justified(f)
        }
    })
}

/// Parses a number field of a data record; `what` names it in the message.
fn number(field: &[u8], what: &str, line_no: usize, path: &Path) -> Result<f64> {
    let s = String::from_utf8_lossy(field);
    let s = s.trim();
    let x: f64 = s.parse().map_err(|_| Error::Parse {
        path: path.to_path_buf(),
        line: line_no,
        message: format!("{what} '{s}' is not a number"),
    })?;
    if !x.is_finite() {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: line_no,
            message: format!("{what} is {s}; values must be finite"),
        });
    }
    Ok(x)
}

/// The bytes `[a, b)` of `line`, blank-padded beyond its end (Fortran reads a short record
/// as blanks).
fn field(line: &[u8], a: usize, b: usize) -> &[u8] {
    let a = a.min(line.len());
    let b = b.min(line.len());
    &line[a..b]
}

/// (intensity, esd) points of one STD or ESD record, and whether it was fixed-width.
fn record_points(
    line: &[u8],
    kind: BankType,
    line_no: usize,
    path: &Path,
) -> Result<(Vec<(f64, f64)>, bool)> {
    let data_err =
        |message: String| Error::Data { path: path.to_path_buf(), line: line_no, message };
    let toks = tokens(line);
    let mut out = Vec::new();
    let fixed = is_fixed_width(line, kind == BankType::Std);
    match kind {
        BankType::Std => {
            let mut push = |nctr: f64, y: f64, col: usize| -> Result<()> {
                if y < 0.0 {
                    return Err(data_err(format!(
                        "negative count {y} in column {col}; STD data are counts"
                    )));
                }
                let nctr = if nctr == 0.0 { 1.0 } else { nctr };
                out.push((y, (y / nctr).sqrt()));
                Ok(())
            };
            if fixed {
                let nfields = line.len() / 8;
                for k in 0..nfields {
                    let c = field(line, 8 * k, 8 * k + 2);
                    let nctr = if c.iter().all(u8::is_ascii_whitespace) {
                        1.0
                    } else {
                        let n = number(c, "counter number NCTR", line_no, path)?;
                        if n < 0.0 || n.fract() != 0.0 {
                            return Err(data_err(format!(
                                "counter number NCTR {n} in columns {}-{} must be a \
                                 non-negative integer",
                                8 * k + 1,
                                8 * k + 2
                            )));
                        }
                        n
                    };
                    let v = field(line, 8 * k + 2, 8 * k + 8);
                    let y = if v.iter().all(u8::is_ascii_whitespace) {
                        0.0
                    } else {
                        number(v, "count", line_no, path)?
                    };
                    push(nctr, y, 8 * k + 1)?;
                }
            } else {
                for &(s, e) in &toks {
                    let y = number(&line[s..e], "count", line_no, path)?;
                    push(1.0, y, s + 1)?;
                }
            }
        }
        BankType::Esd => {
            let values: Vec<(f64, usize)> = if fixed {
                let nfields = line.len() / 8;
                let mut v = Vec::with_capacity(nfields);
                for k in 0..nfields {
                    let f = field(line, 8 * k, 8 * k + 8);
                    let x = if f.iter().all(u8::is_ascii_whitespace) {
                        0.0
                    } else {
                        number(f, "value", line_no, path)?
                    };
                    v.push((x, 8 * k + 1));
                }
                v
            } else {
                let mut v = Vec::with_capacity(toks.len());
                for &(s, e) in &toks {
                    v.push((number(&line[s..e], "value", line_no, path)?, s + 1));
                }
                v
            };
            if values.len() % 2 != 0 {
                return Err(data_err(format!(
                    "{} numbers: ESD records hold (intensity, esd) pairs",
                    values.len()
                )));
            }
            for pair in values.chunks(2) {
                let (y, (e, col)) = (pair[0].0, pair[1]);
                if e < 0.0 {
                    return Err(data_err(format!("negative esd {e} in column {col}")));
                }
                out.push((y, e));
            }
        }
        BankType::Fxy | BankType::Fxye => {}
    }
    Ok((out, fixed))
}

/// The general path of an FXY/FXYE data line: `want` whitespace-separated numbers (x, y and,
/// for FXYE, esd), with messages naming the line and the column.
fn fxy_values(line: &str, want: usize, line_no: usize, path: &Path) -> Result<[f64; 3]> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() != want {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: line_no,
            message: format!(
                "{} columns; {} lines hold {want} (x in centidegrees, y{})",
                f.len(),
                if want == 3 { "FXYE" } else { "FXY" },
                if want == 3 { ", esd" } else { "" }
            ),
        });
    }
    let mut v = [0.0; 3];
    for (k, s) in f.iter().enumerate() {
        v[k] = number(s.as_bytes(), &format!("column {}", k + 1), line_no, path)?;
    }
    Ok(v)
}

/// Header information shared by every bank: title, instrument file, `#` comments.
fn header_meta(lines: &[&str]) -> PowderMetadata {
    let mut meta = PowderMetadata::new(PowderFormat::Gsas);
    if let Some(title) = lines.first() {
        let t = title.trim().trim_start_matches('\u{feff}');
        if !t.is_empty() {
            meta.comment = Some(t.to_string());
        }
    }
    for (i, line) in lines.iter().enumerate().skip(1) {
        if is_bank_line(line) {
            break;
        }
        let l = line.trim();
        if i == 1 && l.to_ascii_lowercase().starts_with("inst") {
            let v = l.split_once(':').map_or("", |(_, v)| v).trim();
            meta.fields.push(("Instrument parameter file".to_string(), v.to_string()));
            continue;
        }
        let Some(c) = l.strip_prefix('#') else { continue };
        let Some((k, v)) = c.split_once(['=', ':']) else { continue };
        let (k, v) = (k.trim().to_string(), v.trim().to_string());
        let kl = k.to_ascii_lowercase();
        let first_num = v.split_whitespace().next().and_then(|s| s.parse::<f64>().ok());
        if kl.starts_with("temp") && !kl.contains("(c)") && !kl.contains("°c") {
            if let Some(t) = first_num.filter(|t| t.is_finite() && *t > 0.0) {
                meta.temperature_k = Some(t);
            }
        } else if kl.contains("wavelength") {
            if let Some(w) = first_num.filter(|w| w.is_finite() && *w > 0.0) {
                meta.wavelengths = vec![Wavelength { angstrom: w, relative_intensity: Some(1.0) }];
            }
        } else if matches!(kl.as_str(), "scan time" | "date" | "start time" | "timestamp") {
            meta.timestamp = Some(v.clone());
        }
        meta.fields.push((k, v));
    }
    meta
}

/// [`read_gsas_banks`] on text in memory; `path` names the file in messages.
pub fn parse_gsas_banks(text: &str, path: &Path) -> Result<Vec<PowderScan>> {
    let lines = split_lines(text);
    let bank_lines: Vec<usize> = (1..lines.len()).filter(|&i| is_bank_line(lines[i])).collect();
    if bank_lines.is_empty() {
        if let Some(i) = lines.iter().position(|l| l.starts_with("TIME_MAP")) {
            return Err(Error::Data {
                path: path.to_path_buf(),
                line: i + 1,
                message: "TIME_MAP (time-of-flight) GSAS data are not supported".to_string(),
            });
        }
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: lines.len().max(1),
            what: "a 'BANK n nchan nrec ...' record (no GSAS bank in the file; the first line \
                   is always the title)"
                .to_string(),
        });
    }
    let header = header_meta(&lines);
    let mut banks = Vec::with_capacity(bank_lines.len());
    for (b, &start) in bank_lines.iter().enumerate() {
        let end = bank_lines.get(b + 1).copied().unwrap_or(lines.len());
        let body = lines.get(start + 1..end).unwrap_or_default();
        banks.push(parse_bank(start + 1, lines[start], body, path, &header)?);
    }
    Ok(banks)
}

/// The lines of `text` as `str::lines` gives them (split at `\n`, a `\r` before it removed,
/// no empty last line after a final `\n`), found with `memchr`.
fn split_lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', bytes) {
        // INVARIANT: `start` and `nl` are next to ASCII '\n' bytes, so char boundaries.
        let line = text.get(start..nl).unwrap_or_default();
        lines.push(line.strip_suffix('\r').unwrap_or(line));
        start = nl + 1;
    }
    if start < text.len() {
        lines.push(text.get(start..).unwrap_or_default());
    }
    lines
}

/// Parses one bank: its `BANK` record (1-based line `bank_line_no`) and the lines up to the
/// next bank (`body`, from line `bank_line_no + 1` on).
fn parse_bank(
    bank_line_no: usize,
    bank_line: &str,
    body: &[&str],
    path: &Path,
    header: &PowderMetadata,
) -> Result<PowderScan> {
    let h = parse_bank_line(bank_line, bank_line_no, path)?;
    let data_err =
        |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };
    let mut meta = header.clone();
    meta.fields.push(("BANK".to_string(), bank_line.trim().to_string()));
    let cap = h.nchan.min(body.len().saturating_mul(10));
    let mut tth: Vec<f64> = Vec::with_capacity(cap);
    let mut y: Vec<f64> = Vec::with_capacity(cap);
    let mut esd: Vec<f64> = Vec::with_capacity(cap);
    let mut ignored: Vec<usize> = Vec::new();
    let mut last_data_line = bank_line_no;
    // (line, count) of the last fixed-width STD/ESD record shorter than a full record.
    let mut short_record: Option<(usize, usize)> = None;
    let per_record = if h.kind == BankType::Std { 10 } else { 5 };
    for (k, &raw) in body.iter().enumerate() {
        let line_no = bank_line_no + 1 + k;
        let t = raw.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let line = raw.trim_end();
        if y.len() == h.nchan {
            ignored.push(line_no);
            continue;
        }
        if let Some((short_line, count)) = short_record {
            return Err(data_err(
                short_line,
                format!(
                    "record holds {count} points, but {} are required per record except the \
                     last of the bank, and more data follow (line {line_no})",
                    per_record
                ),
            ));
        }
        last_data_line = line_no;
        match h.kind {
            BankType::Std | BankType::Esd => {
                let (points, fixed) = record_points(line.as_bytes(), h.kind, line_no, path)?;
                if fixed && points.len() < per_record {
                    short_record = Some((line_no, points.len()));
                }
                for (v, e) in points {
                    if y.len() == h.nchan {
                        break; // padding of the last record (GSAS writes zeros)
                    }
                    let i = y.len() as f64;
                    let t = (h.start_centideg + i * h.step_centideg) / 100.0;
                    // As `powder::two_theta_grid`: a step below the resolution of 2θ (or an
                    // overflow) would repeat a value (found by cargo fuzz).
                    if !t.is_finite() || tth.last().is_some_and(|&prev| t <= prev) {
                        return Err(Error::Data {
                            path: path.to_path_buf(),
                            line: line_no,
                            message: format!(
                                "step size {}° gives no distinct 2θ at point {} (2θ = {t})",
                                h.step_centideg / 100.0,
                                y.len() + 1
                            ),
                        });
                    }
                    tth.push(t);
                    y.push(v);
                    esd.push(e);
                }
            }
            BankType::Fxy | BankType::Fxye => {
                let want = if h.kind == BankType::Fxye { 3 } else { 2 };
                // Fast path (no allocation): an ASCII line of `want` finite numbers; anything
                // else takes the general path below for its verdict and message.
                let v =
                    match crate::xye::fast_values_with(t.as_bytes(), want, crate::xye::is_ascii_ws)
                    {
                        Some(v) => v,
                        None => fxy_values(line, want, line_no, path)?,
                    };
                let x = v[0] / 100.0;
                if let Some(&prev) = tth.last() {
                    if x <= prev {
                        return Err(data_err(
                            line_no,
                            format!("2θ = {x}° does not increase (previous point {prev}°)"),
                        ));
                    }
                }
                let e = if want == 3 {
                    if v[2] < 0.0 {
                        return Err(data_err(line_no, format!("negative esd {}", v[2])));
                    }
                    v[2]
                } else {
                    if v[1] < 0.0 {
                        return Err(data_err(
                            line_no,
                            format!("negative count {} in FXY data (σ = √y)", v[1]),
                        ));
                    }
                    v[1].sqrt()
                };
                tth.push(x);
                y.push(v[1]);
                esd.push(e);
            }
        }
    }
    if y.len() < h.nchan {
        return Err(data_err(
            last_data_line,
            format!(
                "bank {} declares NCHAN = {} points (line {bank_line_no}) but its records hold \
                 only {}",
                h.number,
                h.nchan,
                y.len()
            ),
        ));
    }
    if let (Some(first), Some(last)) = (ignored.first(), ignored.last()) {
        meta.notes.push(format!(
            "ignored {} non-blank line(s) after the {} points of bank {} (lines {first}-{last})",
            ignored.len(),
            h.nchan,
            h.number
        ));
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
