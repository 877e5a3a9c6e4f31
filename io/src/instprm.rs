//! GSAS-II instrument parameter files (`.instprm`), constant-wavelength.
//!
//! Text, first line containing `GSAS-II` (e.g. `#GSAS-II instrument parameter file; do not
//! add/delete items!`), then `key:value` lines; several pairs may share a line separated by
//! `;`, and spaces are ignored (GSAS-II `GSASIIfiles.ReadInstprm`). Multi-bank files put a
//! `#Bank n: ...` header before each bank. Keys and units (GSAS-II conventions):
//!
//! | key | meaning | unit |
//! |---|---|---|
//! | `Type` | e.g. `PXC` (powder, X-ray, CW), `PNC` (neutron) | — |
//! | `Lam` or `Lam1`, `Lam2` | wavelength(s) | Å |
//! | `I(L2)/I(L1)` | intensity ratio of λ2 to λ1 | — |
//! | `Zero` | zero shift | degrees 2θ |
//! | `Polariz.` | polarisation fraction | — |
//! | `Azimuth` | detector azimuth | degrees |
//! | `U`, `V`, `W` | Gaussian σ² = U tan²θ + V tanθ + W | centidegree² |
//! | `X`, `Y`, `Z` | Lorentzian γ = X/cosθ + Y tanθ + Z | centidegrees |
//! | `SH/L` | axial divergence (S + H)/L | — |

use crate::error::{Error, Result};
use crate::powder::{decode_text, read_bytes, Wavelength};
use std::path::Path;

/// Constant-wavelength instrument parameters in GSAS-II's conventions (see the
/// [module documentation](self) for units).
#[derive(Debug, Clone, PartialEq)]
pub struct InstPrm {
    /// `Type`, e.g. `PXC` or `PNC`.
    pub kind: String,
    /// `Lam` (one component) or `Lam1`, `Lam2` with weights 1 and `I(L2)/I(L1)`.
    pub wavelengths: Vec<Wavelength>,
    /// `Zero`, degrees 2θ.
    pub zero_deg: f64,
    /// `Polariz.` when given.
    pub polarisation: Option<f64>,
    /// `Azimuth` in degrees when given.
    pub azimuth_deg: Option<f64>,
    /// `U`, centidegree².
    pub u: f64,
    /// `V`, centidegree².
    pub v: f64,
    /// `W`, centidegree².
    pub w: f64,
    /// `X`, centidegrees.
    pub x: f64,
    /// `Y`, centidegrees.
    pub y: f64,
    /// `Z`, centidegrees (0 when absent, as in older files).
    pub z: f64,
    /// `SH/L`.
    pub sh_l: f64,
    /// Every key and value of the bank as read (spaces removed), in file order.
    pub fields: Vec<(String, String)>,
}

/// Reads the first bank of a GSAS-II `.instprm` file; see [`parse_instprm`].
pub fn read_instprm(path: &Path) -> Result<InstPrm> {
    parse_instprm(&decode_text(&read_bytes(path)?), path, None)
}

/// Parses `.instprm` text; `bank` selects a bank of a multi-bank file (`#Bank n:` headers;
/// `None` = the first), and is ignored for single-bank files.
///
/// Errors name the line: [`Error::Parse`] for a first line without `GSAS-II`, a line without
/// `:` or a value that is not a number; [`Error::Missing`] for an absent required key (Type,
/// Lam or Lam1/Lam2/I(L2)/I(L1), Zero, U, V, W, X, Y, SH/L) or bank; [`Error::Data`] for a
/// non-constant-wavelength `Type` or a non-positive wavelength.
pub fn parse_instprm(text: &str, path: &Path, bank: Option<u32>) -> Result<InstPrm> {
    let parse_err =
        |line: usize, message: String| Error::Parse { path: path.to_path_buf(), line, message };
    let lines: Vec<&str> = text.lines().collect();
    match lines.first() {
        Some(l) if l.contains("GSAS-II") => {}
        _ => {
            return Err(parse_err(
                1,
                "not a GSAS-II .instprm file: the first line must contain 'GSAS-II'".to_string(),
            ))
        }
    }
    // Bank headers: "#Bank n: ..."
    let bank_of = |l: &str| -> Option<u32> {
        let rest = l.strip_prefix('#')?.trim_start();
        let rest = rest.strip_prefix("Bank").or_else(|| rest.strip_prefix("BANK"))?;
        rest.split(':').next()?.trim().parse().ok()
    };
    let headers: Vec<(usize, u32)> =
        lines.iter().enumerate().filter_map(|(i, l)| bank_of(l).map(|b| (i, b))).collect();
    let (from, to, header_line) = if headers.is_empty() {
        (1, lines.len(), 1)
    } else {
        let want = bank.unwrap_or(headers[0].1);
        let k = headers.iter().position(|&(_, b)| b == want).ok_or_else(|| Error::Missing {
            path: path.to_path_buf(),
            line: 1,
            what: format!("'#Bank {want}:' section"),
        })?;
        let start = headers[k].0;
        let end = headers.get(k + 1).map_or(lines.len(), |h| h.0);
        (start + 1, end, start + 1)
    };
    let mut fields: Vec<(String, String, usize)> = Vec::new();
    let mut i = from;
    while i < to {
        let line_no = i + 1;
        let raw = lines[i];
        i += 1;
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        if let Some(delim) = ["\"\"\"", "'''"].into_iter().find(|d| raw.contains(d)) {
            // A multi-line string value: keep its text, up to the closing delimiter.
            let (k, v) = raw.split_once(':').unwrap_or((raw, ""));
            let mut val = v.replace(delim, "");
            if v.matches(delim).count() < 2 {
                while i < to {
                    let l = lines[i];
                    i += 1;
                    val.push('\n');
                    val.push_str(&l.replace(delim, ""));
                    if l.contains(delim) {
                        break;
                    }
                }
            }
            fields.push((k.trim().to_string(), val.trim().to_string(), line_no));
            continue;
        }
        let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        for pair in compact.split(';').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once(':')
                .ok_or_else(|| parse_err(line_no, format!("'{pair}' is not a key:value pair")))?;
            fields.push((k.to_string(), v.to_string(), line_no));
        }
    }
    let find = |key: &str| fields.iter().rev().find(|(k, _, _)| k == key);
    let num = |key: &str| -> Result<Option<f64>> {
        match find(key) {
            None => Ok(None),
            Some((_, v, l)) => v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| parse_err(*l, format!("{key} '{v}' is not a number"))),
        }
    };
    let missing = |what: &str| Error::Missing {
        path: path.to_path_buf(),
        line: header_line,
        what: format!("'{what}' in the instrument parameters"),
    };
    let required = |key: &str| -> Result<f64> { num(key)?.ok_or_else(|| missing(key)) };
    let (_, kind, kind_line) = find("Type").ok_or_else(|| missing("Type"))?;
    if !kind.contains('C') {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: *kind_line,
            message: format!(
                "Type {kind}: only constant-wavelength instruments (PXC, PNC, ...) are supported"
            ),
        });
    }
    let wavelengths = match num("Lam")? {
        Some(l) => vec![Wavelength { angstrom: l, relative_intensity: Some(1.0) }],
        None => {
            let l1 = required("Lam1")?;
            let l2 = required("Lam2")?;
            let r = required("I(L2)/I(L1)")?;
            vec![
                Wavelength { angstrom: l1, relative_intensity: Some(1.0) },
                Wavelength { angstrom: l2, relative_intensity: Some(r) },
            ]
        }
    };
    for w in &wavelengths {
        if w.angstrom <= 0.0 || w.relative_intensity.is_some_and(|r| r < 0.0) {
            let line = find("Lam").or_else(|| find("Lam1")).map_or(header_line, |f| f.2);
            return Err(Error::Data {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "wavelength {} Å must be positive and its weight non-negative",
                    w.angstrom
                ),
            });
        }
    }
    Ok(InstPrm {
        kind: kind.clone(),
        wavelengths,
        zero_deg: required("Zero")?,
        polarisation: num("Polariz.")?,
        azimuth_deg: num("Azimuth")?,
        u: required("U")?,
        v: required("V")?,
        w: required("W")?,
        x: required("X")?,
        y: required("Y")?,
        z: num("Z")?.unwrap_or(0.0),
        sh_l: required("SH/L")?,
        fields: fields.into_iter().map(|(k, v, _)| (k, v)).collect(),
    })
}
