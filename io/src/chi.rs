//! Azimuthally integrated 1-D patterns: Fit2D `.chi` and pyFAI text output.
//!
//! * **Fit2D** (A. P. Hammersley, *FIT2D* reference manual, "CHIPLOT" output; as read by
//!   xylib): four header lines — title, x label (`2-Theta Angle (Degrees)`, `Q (Inverse
//!   Nanometres)`, `Radial Distance (mm)`, ...), y label (`Intensity`), the number of points —
//!   then `x y [esd]` lines.
//! * **pyFAI** (`integrate1d` / `save1D`): `#` comment lines (among them `Wavelength: 1.0e-10
//!   m` and a column header `2th_deg I [sigma]`, `q_nm^-1 I`, `q_A^-1 I`, `2th_rad I`), then
//!   the columns.
//!
//! The x axis is taken from the header: 2θ in degrees (or radians, converted), or the
//! momentum transfer Q = 4π sin θ / λ in nm⁻¹ or Å⁻¹. **Q needs the wavelength**: 2θ =
//! 2 asin(Qλ/4π) (International Tables Vol. C §2.5.1; Q in Å⁻¹, λ in Å). It comes from the
//! caller ([`read_chi`]'s `wavelength_angstrom`, which wins) or the file's own header; with
//! neither the reader stops with an error saying so. Points are not re-binned: each keeps its
//! intensity and esd, so a uniform Q grid becomes a non-uniform 2θ grid. Radial (mm) and
//! azimuthal (χ) axes are refused.

use crate::error::{Error, Result};
use crate::powder::{
    decode_text, read_bytes, PowderFormat, PowderMetadata, PowderScan, Wavelength,
};
use crate::xye::PowderData;
use std::path::Path;

/// The x axis of an integrated pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChiAxis {
    /// 2θ in degrees.
    TwoThetaDeg,
    /// 2θ in radians.
    TwoThetaRad,
    /// Q in Å⁻¹.
    QInvAngstrom,
    /// Q in nm⁻¹ (Q[Å⁻¹] = Q[nm⁻¹] / 10).
    QInvNanometre,
}

/// 2θ in degrees of momentum transfer `q_inv_angstrom` (Å⁻¹) at wavelength
/// `wavelength_angstrom` (Å): 2θ = 2 asin(Qλ/4π) (International Tables Vol. C §2.5.1).
/// `None` when Qλ/4π is outside [0, 1] (no Bragg angle) or an input is not finite.
pub fn q_to_two_theta_deg(q_inv_angstrom: f64, wavelength_angstrom: f64) -> Option<f64> {
    let s = q_inv_angstrom * wavelength_angstrom / (4.0 * std::f64::consts::PI);
    (s.is_finite() && (0.0..=1.0).contains(&s)).then(|| 2.0 * s.asin().to_degrees())
}

/// Reads a `.chi` (or pyFAI) pattern; `wavelength_angstrom` (Å) converts Q to 2θ and
/// overrides a wavelength in the header. See the [module documentation](self).
pub fn read_chi(path: &Path, wavelength_angstrom: Option<f64>) -> Result<PowderScan> {
    parse_chi(&decode_text(&read_bytes(path)?), path, wavelength_angstrom)
}

/// Whether `text` looks like an integrated pattern: the Fit2D header (third line
/// `Intensity`, fourth an integer) or a pyFAI comment header.
pub(crate) fn looks_like_chi(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().take(4).map(str::trim).collect();
    if lines.len() == 4
        && lines[2].eq_ignore_ascii_case("intensity")
        && lines[3].parse::<u64>().is_ok()
    {
        return true;
    }
    text.lines().take(60).any(|l| {
        let l = l.trim_start();
        l.starts_with('#') && l.contains("pyFAI")
    })
}

/// The axis named by header text (lower case), if any.
fn axis_from(h: &str) -> Option<std::result::Result<ChiAxis, String>> {
    let compact: String = h.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.contains("2th_deg") || h.contains("2-theta") || h.contains("2theta") {
        return Some(Ok(if compact.contains("rad") && !compact.contains("deg") {
            ChiAxis::TwoThetaRad
        } else {
            ChiAxis::TwoThetaDeg
        }));
    }
    if compact.contains("2th_rad") {
        return Some(Ok(ChiAxis::TwoThetaRad));
    }
    if compact.contains("q_nm") || (compact.starts_with('q') && h.contains("nanomet")) {
        return Some(Ok(ChiAxis::QInvNanometre));
    }
    if compact.contains("q_a")
        || (compact.starts_with('q') && (h.contains("angstrom") || h.contains('å')))
    {
        return Some(Ok(ChiAxis::QInvAngstrom));
    }
    if compact.starts_with('q') {
        return Some(Err("the Q unit (nm⁻¹ or Å⁻¹) is not stated".to_string()));
    }
    if compact.contains("r_mm") || h.contains("radial") {
        return Some(Err("radial distance (mm) is not a 2θ or Q axis".to_string()));
    }
    if h.contains("azimuth") || compact.starts_with("chi") {
        return Some(Err("an azimuthal (χ) profile is not a powder pattern".to_string()));
    }
    None
}

/// A wavelength stated in a header line `Wavelength: 1.0e-10 m` (SI metres, as pyFAI writes
/// it) or `Wavelength: 1.54 A`, in Å.
fn header_wavelength(line: &str) -> Option<f64> {
    let lower = line.to_ascii_lowercase();
    let at = lower.find("wavelength")?;
    let rest = lower.get(at + "wavelength".len()..)?.trim_start_matches([':', '=', ' ', '\t']);
    let num: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        .collect();
    let v: f64 = num.parse().ok().filter(|v: &f64| v.is_finite() && *v > 0.0)?;
    let unit = rest.get(num.len()..).unwrap_or("").trim();
    Some(if unit.starts_with("nm") {
        v * 10.0
    } else if unit.starts_with('m') || v < 1e-6 {
        v * 1e10
    } else {
        v
    })
}

/// [`read_chi`] on text in memory; `path` names the file in messages.
///
/// Errors name the line: [`Error::Missing`] for Q data without a wavelength or a header that
/// does not state the axis; [`Error::Data`] for a refused axis (radial, azimuthal, Q without
/// unit), a point count that disagrees with the Fit2D header, a Q beyond 4π/λ, NaN, a wrong
/// column count, x not increasing or a negative esd; [`Error::Parse`] for a non-number.
pub fn parse_chi(text: &str, path: &Path, wavelength_angstrom: Option<f64>) -> Result<PowderScan> {
    let data_err =
        |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };
    let mut meta = PowderMetadata::new(PowderFormat::Chi);
    let mut axis: Option<(ChiAxis, usize)> = None;
    let mut header_wl: Option<f64> = None;
    let mut count: Option<(usize, usize)> = None;
    let mut title: Option<String> = None;
    let mut points: Vec<(f64, f64, Option<f64>, usize)> = Vec::new();
    let mut ncol: Option<(usize, usize)> = None;
    let mut last = 0;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        last = line_no;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            continue;
        }
        let comment = line.strip_prefix('#');
        let body = comment.unwrap_or(line).trim();
        let fields: Vec<&str> = body.split_whitespace().collect();
        let numeric: Option<Vec<f64>> = fields.iter().map(|t| t.parse::<f64>().ok()).collect();
        if comment.is_none() && points.is_empty() && ncol.is_none() {
            if let Some(v) = &numeric {
                if v.len() == 1 && v[0] >= 0.0 && v[0].fract() == 0.0 {
                    count = Some((v[0] as usize, line_no));
                    continue;
                }
            }
        }
        if comment.is_some() || (ncol.is_none() && numeric.as_ref().is_none_or(|v| v.len() < 2)) {
            // Header or comment line.
            if let Some(w) = header_wavelength(body) {
                header_wl = Some(w);
                meta.fields.push(("header wavelength (Å)".to_string(), w.to_string()));
                continue;
            }
            let lower = body.to_lowercase();
            if comment.is_some() {
                // pyFAI column header: `2th_deg I [sigma]`.
                let t: Vec<&str> = lower.split_whitespace().collect();
                if axis.is_none() && t.len() >= 2 && t[1] == "i" {
                    match axis_from(t[0]) {
                        Some(Ok(a)) => axis = Some((a, line_no)),
                        Some(Err(m)) => return Err(data_err(line_no, m)),
                        None => {}
                    }
                } else if !body.is_empty() {
                    meta.fields.push(("header".to_string(), body.to_string()));
                }
            } else if title.is_none() {
                title = Some(body.to_string()); // Fit2D line 1: the title
            } else if axis.is_none() && !lower.starts_with("intensity") {
                match axis_from(&lower) {
                    Some(Ok(a)) => axis = Some((a, line_no)),
                    Some(Err(m)) => return Err(data_err(line_no, m)),
                    None => {}
                }
            }
            continue;
        }
        let Some(v) = numeric else {
            let bad = fields.iter().find(|t| t.parse::<f64>().is_err()).copied().unwrap_or("");
            return Err(Error::Parse {
                path: path.to_path_buf(),
                line: line_no,
                message: format!("'{bad}' is not a number"),
            });
        };
        let (n, first) = *ncol.get_or_insert((v.len(), line_no));
        if !(2..=3).contains(&n) {
            return Err(data_err(line_no, format!("{n} columns; expected x, intensity [, esd]")));
        }
        if v.len() != n {
            return Err(data_err(
                line_no,
                format!("{} columns, but the first data line (line {first}) has {n}", v.len()),
            ));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(data_err(line_no, "values must be finite".to_string()));
        }
        if n == 3 && v[2] < 0.0 {
            return Err(data_err(line_no, format!("negative esd {}", v[2])));
        }
        points.push((v[0], v[1], v.get(2).copied(), line_no));
    }
    if points.is_empty() {
        return Err(data_err(last.max(1), "no data points".to_string()));
    }
    if let Some((c, line)) = count {
        if c != points.len() {
            return Err(data_err(
                line,
                format!("the header says {c} points but the file holds {}", points.len()),
            ));
        }
    }
    let Some((axis, axis_line)) = axis else {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: 1,
            what: "the x axis (a '2-Theta Angle (Degrees)' / 'Q (...)' label or a pyFAI column \
                   header 2th_deg / q_nm^-1 / q_A^-1)"
                .to_string(),
        });
    };
    meta.fields.push(("x axis".to_string(), format!("{axis:?}")));
    meta.comment = title;
    let wl = match (wavelength_angstrom, header_wl) {
        (Some(w), h) => {
            if !(w.is_finite() && w > 0.0) {
                return Err(Error::InvalidInput {
                    path: path.to_path_buf(),
                    message: format!("wavelength {w} Å must be positive"),
                });
            }
            if let Some(h) = h.filter(|h| (h - w).abs() > 1e-6 * w) {
                meta.notes.push(format!("wavelength {w} Å given; the header says {h} Å"));
            }
            Some(w)
        }
        (None, h) => h,
    };
    if let Some(w) = wl {
        meta.wavelengths.push(Wavelength { angstrom: w, relative_intensity: Some(1.0) });
    }
    let q_scale = match axis {
        ChiAxis::QInvAngstrom => Some(1.0),
        ChiAxis::QInvNanometre => Some(0.1),
        _ => None,
    };
    let n = points.len();
    let mut tth = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    let mut esd = Vec::with_capacity(n);
    for &(x, v, e, line) in &points {
        let t = match (axis, q_scale) {
            (ChiAxis::TwoThetaDeg, _) => x,
            (ChiAxis::TwoThetaRad, _) => x.to_degrees(),
            (_, Some(scale)) => {
                let Some(w) = wl else {
                    return Err(Error::Missing {
                        path: path.to_path_buf(),
                        line: axis_line,
                        what: "the wavelength: the pattern is on a Q scale and 2θ = \
                               2 asin(Qλ/4π) needs λ (pass it, e.g. `--wavelength`)"
                            .to_string(),
                    });
                };
                q_to_two_theta_deg(x * scale, w).ok_or_else(|| {
                    data_err(line, format!("Q = {x} is beyond 4π/λ for λ = {w} Å (no 2θ)"))
                })?
            }
            (_, None) => x,
        };
        if let Some(&p) = tth.last() {
            if t <= p {
                return Err(data_err(line, format!("x = {x} does not increase")));
            }
        }
        tth.push(t);
        y.push(v);
        if let Some(e) = e {
            esd.push(e);
        }
    }
    Ok(PowderScan {
        data: PowderData {
            two_theta_deg: tth,
            intensity: y,
            esd: (esd.len() == n).then_some(esd),
            source: path.to_path_buf(),
        },
        meta,
    })
}
