//! GSAS instrument parameter files (`.prm`, `.ins`, `.inst`), constant-wavelength banks.
//!
//! Every record is `INS` + bank number (columns 4–6, blank for file-wide keys) + a 6-column
//! key, then values from column 13 (A. C. Larson & R. B. Von Dreele, *GSAS*, LAUR 86-748
//! (2004), "Instrument Parameter File"). Read here:
//!
//! * `INS   HTYPE` histogram type, e.g. `PXCR` (powder, X-ray, constant wavelength) or `PNCR`
//!   (neutron);
//! * `INS  n ICONS` in fixed columns (of the value part): λ1 [1–10], λ2 [11–20] (0 for one
//!   wavelength), ZERO [21–30] in **centidegrees**, POLA [41–50], IPOLA [51–55], KRATIO
//!   [56–65] = I(λ2)/I(λ1); the same columns GSAS-II reads;
//! * `INS  n IRAD` anode code, `INS  nI HEAD` incident-spectrum title, `INS  nINAME`
//!   instrument name;
//! * `INS  nPRCFk` profile function k: type, number of terms, peak cut-off; `INS  nPRCFkl`
//!   its coefficients, four per record, in GSAS units (see [`GsasProfile`]).

use crate::error::{Error, Result};
use crate::instprm::InstPrm;
use crate::powder::{decode_text, read_bytes, Wavelength};
use std::path::Path;

/// One profile function of a bank (`INS  nPRCFk` and its coefficient records).
#[derive(Debug, Clone, PartialEq)]
pub struct GsasProfile {
    /// k in `PRCFk` (GSAS allows several functions per bank, e.g. one per phase).
    pub number: u32,
    /// GSAS constant-wavelength profile function type (1–5).
    pub function_type: u32,
    /// Peak cut-off: the fraction of the peak maximum below which the profile is ignored.
    pub peak_cutoff: f64,
    /// The coefficients in file order, exactly as many as the header's term count, in GSAS
    /// units: GU, GV, GW, GP in centidegree² (σ² = GU tan²θ + GV tanθ + GW + GP/cos²θ),
    /// LX, LY in centidegrees (γ = LX/cosθ + LY tanθ), S/L and H/L dimensionless (LAUR
    /// 86-748, "CW profile functions").
    pub coefficients: Vec<f64>,
}

/// Term names of the GSAS constant-wavelength profile functions, in coefficient order
/// (LAUR 86-748, "Constant wavelength profile functions" 1–4; function 5 shares 4's first
/// terms). Only the leading terms are named for type 4; the rest are its anisotropic
/// strain terms.
const TYPE1: &[&str] = &["GU", "GV", "GW", "asym", "F1", "F2"];
const TYPE2: &[&str] = &[
    "GU", "GV", "GW", "LX", "LY", "trns", "asym", "shft", "GP", "stec", "ptec", "sfec", "L11",
    "L22", "L33", "L12", "L13", "L23",
];
const TYPE3: &[&str] = &[
    "GU", "GV", "GW", "GP", "LX", "LY", "S/L", "H/L", "trns", "shft", "stec", "ptec", "sfec",
    "L11", "L22", "L33", "L12", "L13", "L23",
];
const TYPE4: &[&str] =
    &["GU", "GV", "GW", "GP", "LX", "ptec", "trns", "shft", "sfec", "S/L", "H/L", "eta"];

impl GsasProfile {
    /// Names of the leading coefficients for this function type (empty for an unknown type).
    pub fn names(&self) -> &'static [&'static str] {
        match self.function_type {
            1 => TYPE1,
            2 => TYPE2,
            3 => TYPE3,
            4 | 5 => TYPE4,
            _ => &[],
        }
    }

    /// The coefficient called `name` (e.g. `"GU"`, `"LX"`, `"S/L"`), if this function type
    /// has it and the file gives it.
    pub fn get(&self, name: &str) -> Option<f64> {
        let i = self.names().iter().position(|n| *n == name)?;
        self.coefficients.get(i).copied()
    }
}

/// The parameters of one bank of a GSAS instrument parameter file.
#[derive(Debug, Clone, PartialEq)]
pub struct GsasPrmBank {
    /// Bank number n of the `INS  n...` records.
    pub bank: u32,
    /// λ1 in Å.
    pub lambda1_angstrom: f64,
    /// λ2 in Å; `None` when the file gives 0 (one wavelength).
    pub lambda2_angstrom: Option<f64>,
    /// KRATIO = I(λ2)/I(λ1) (only meaningful with λ2).
    pub kratio: f64,
    /// Zero-point shift in **centidegrees** 2θ, as in the file.
    pub zero_centideg: f64,
    /// POLA: with IPOLA = 0 the polarisation fraction (e.g. 0.99 at a synchrotron); GSAS-II
    /// reads it as `Polariz.`.
    pub pola: f64,
    /// IPOLA: GSAS polarisation-correction flag, as in the file.
    pub ipola: i64,
    /// `IRAD` anode code (0 none, 1 Cr, 2 Fe, 3 Cu, 4 Mo, 5 Ag, 6 Ti, 7 Co).
    pub irad: Option<u32>,
    /// `I HEAD` incident-spectrum title.
    pub head: Option<String>,
    /// `INAME` instrument name.
    pub instrument_name: Option<String>,
    /// Profile functions in file order.
    pub profiles: Vec<GsasProfile>,
}

/// A GSAS instrument parameter file.
#[derive(Debug, Clone, PartialEq)]
pub struct GsasPrm {
    /// `HTYPE`, e.g. `PXCR`.
    pub htype: Option<String>,
    /// The banks that have an `ICONS` record, in bank-number order.
    pub banks: Vec<GsasPrmBank>,
}

impl GsasPrm {
    /// The bank numbered `n`.
    pub fn bank(&self, n: u32) -> Option<&GsasPrmBank> {
        self.banks.iter().find(|b| b.bank == n)
    }

    /// Whether `HTYPE` says neutrons (second letter `N`).
    pub fn is_neutron(&self) -> bool {
        self.htype.as_deref().is_some_and(|h| h.as_bytes().get(1) == Some(&b'N'))
    }
}

impl GsasPrmBank {
    /// The wavelength components: λ1 with weight 1, then λ2 with weight KRATIO when present.
    pub fn wavelengths(&self) -> Vec<Wavelength> {
        let mut w =
            vec![Wavelength { angstrom: self.lambda1_angstrom, relative_intensity: Some(1.0) }];
        if let Some(l2) = self.lambda2_angstrom {
            w.push(Wavelength { angstrom: l2, relative_intensity: Some(self.kratio) });
        }
        w
    }

    /// The same bank as GSAS-II instrument parameters, converted the way GSAS-II imports a
    /// GSAS file (GSAS-II `GSASIIfiles.SetPowderInstParms`): Zero = ZERO/100 (degrees),
    /// Polariz. = POLA, I(L2)/I(L1) = KRATIO, U, V, W = GU, GV, GW and X, Y = LX, LY of the
    /// first profile function (same units), SH/L = S/L + H/L when the function has them,
    /// else GSAS-II's default 0.002; Z = 0. `htype` is the file's `HTYPE` (first three
    /// letters kept).
    pub fn to_instprm(&self, htype: Option<&str>) -> InstPrm {
        let p = self.profiles.first();
        let get = |n: &str| p.and_then(|p| p.get(n));
        let sh_l = match (get("S/L"), get("H/L")) {
            (Some(s), Some(h)) => s + h,
            _ => 0.002,
        };
        let kind: String = htype.unwrap_or("PXC").chars().take(3).collect();
        InstPrm {
            kind,
            wavelengths: self.wavelengths(),
            zero_deg: self.zero_centideg / 100.0,
            polarisation: Some(self.pola),
            azimuth_deg: None,
            u: get("GU").unwrap_or(0.0),
            v: get("GV").unwrap_or(0.0),
            w: get("GW").unwrap_or(0.0),
            x: get("LX").unwrap_or(0.0),
            y: get("LY").unwrap_or(0.0),
            z: 0.0,
            sh_l,
            fields: Vec::new(),
        }
    }
}

/// Reads a GSAS instrument parameter file (see the [module documentation](self)).
///
/// Errors name the line: [`Error::Parse`] for a malformed number, [`Error::Missing`] for a
/// bank without `ICONS` or a profile with fewer coefficients than its header announces,
/// [`Error::Data`] for a non-positive λ1 or an unsupported (time-of-flight) `HTYPE`.
pub fn read_gsas_prm(path: &Path) -> Result<GsasPrm> {
    parse_gsas_prm(&decode_text(&read_bytes(path)?), path)
}

/// A bank under construction.
#[derive(Default)]
struct BankBuilder {
    icons: Option<(usize, String)>,
    irad: Option<(usize, String)>,
    head: Option<String>,
    iname: Option<String>,
    /// (k, line, header value) of each `PRCFk` header.
    prcf_headers: Vec<(u32, usize, String)>,
    /// (k, line key char, line, values) of each `PRCFkl` record.
    prcf_lines: Vec<(u32, u8, usize, String)>,
}

/// A fixed-column number of the value part (`a..b`, 0-based); blank reads as 0.
fn column(value: &str, a: usize, b: usize) -> Option<f64> {
    let bytes = value.as_bytes();
    let s = bytes.get(a.min(bytes.len())..b.min(bytes.len()))?;
    let s = std::str::from_utf8(s).ok()?.trim();
    if s.is_empty() {
        Some(0.0)
    } else {
        s.parse::<f64>().ok().filter(|x| x.is_finite())
    }
}

/// [`read_gsas_prm`] on text in memory; `path` names the file in messages.
pub fn parse_gsas_prm(text: &str, path: &Path) -> Result<GsasPrm> {
    let parse_err =
        |line: usize, message: String| Error::Parse { path: path.to_path_buf(), line, message };
    let mut htype: Option<(usize, String)> = None;
    let mut banks: std::collections::BTreeMap<u32, BankBuilder> = Default::default();
    let mut any_ins = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        if !raw.starts_with("INS") {
            continue; // the column ruler "123456789012..." and blank lines
        }
        any_ins = true;
        let b = raw.as_bytes();
        let bank_s =
            String::from_utf8_lossy(b.get(3..6.min(b.len())).unwrap_or(&[])).trim().to_string();
        let key = String::from_utf8_lossy(b.get(6.min(b.len())..12.min(b.len())).unwrap_or(&[]))
            .to_string();
        let value = String::from_utf8_lossy(b.get(12.min(b.len())..).unwrap_or(&[])).to_string();
        let key_t = key.trim();
        if bank_s.is_empty() {
            if key_t == "HTYPE" {
                htype = Some((line_no, value.trim().to_string()));
            }
            continue;
        }
        let bank: u32 = bank_s
            .parse()
            .map_err(|_| parse_err(line_no, format!("bank number '{bank_s}' in columns 4-6")))?;
        let bb = banks.entry(bank).or_default();
        match key_t {
            "ICONS" => bb.icons = Some((line_no, value)),
            "IRAD" => bb.irad = Some((line_no, value)),
            "I HEAD" => bb.head = Some(value.trim().to_string()),
            "INAME" => bb.iname = Some(value.trim().to_string()),
            _ => {
                let kb = key_t.as_bytes();
                if key_t.starts_with("PRCF") && kb.len() >= 5 && kb[4].is_ascii_digit() {
                    let k = u32::from(kb[4] - b'0');
                    if kb.len() == 5 {
                        bb.prcf_headers.push((k, line_no, value));
                    } else if kb.len() == 6 {
                        bb.prcf_lines.push((k, kb[5], line_no, value));
                    }
                }
            }
        }
    }
    if !any_ins {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: 1,
            what: "GSAS 'INS' records (not a GSAS instrument parameter file)".to_string(),
        });
    }
    if let Some((line, h)) = &htype {
        if h.as_bytes().get(2) == Some(&b'T') {
            return Err(Error::Data {
                path: path.to_path_buf(),
                line: *line,
                message: format!("HTYPE {h}: time-of-flight parameters are not supported"),
            });
        }
    }
    let mut out = Vec::new();
    for (bank, bb) in banks {
        let Some((icons_line, icons)) = bb.icons else { continue };
        let col = |a: usize, b: usize, what: &str| {
            column(&icons, a, b).ok_or_else(|| {
                parse_err(
                    icons_line,
                    format!("ICONS {what} in columns {}-{} is not a number", a + 13, b + 12),
                )
            })
        };
        let lambda1 = col(0, 10, "λ1")?;
        let lambda2 = col(10, 20, "λ2")?;
        let zero = col(20, 30, "ZERO")?;
        let pola = col(40, 50, "POLA")?;
        let ipola = col(50, 55, "IPOLA")?;
        let kratio = col(55, 65, "KRATIO")?;
        if lambda1 <= 0.0 {
            return Err(Error::Data {
                path: path.to_path_buf(),
                line: icons_line,
                message: format!("ICONS λ1 = {lambda1} Å must be positive"),
            });
        }
        if lambda2 < 0.0 || kratio < 0.0 {
            return Err(Error::Data {
                path: path.to_path_buf(),
                line: icons_line,
                message: format!("ICONS λ2 = {lambda2} and KRATIO = {kratio} must be ≥ 0"),
            });
        }
        let irad = match bb.irad {
            Some((l, v)) => Some(v.trim().parse::<u32>().map_err(|_| {
                parse_err(l, format!("IRAD '{}' is not a non-negative integer", v.trim()))
            })?),
            None => None,
        };
        let mut profiles = Vec::new();
        for (k, hline, hval) in &bb.prcf_headers {
            let f: Vec<&str> = hval.split_whitespace().collect();
            let int = |i: usize, what: &str| -> Result<u32> {
                f.get(i).and_then(|s| s.parse::<u32>().ok()).ok_or_else(|| {
                    parse_err(*hline, format!("PRCF{k} {what} is missing or not an integer"))
                })
            };
            let function_type = int(0, "function type")?;
            let nterms = int(1, "number of terms")? as usize;
            let peak_cutoff = match f.get(2) {
                Some(s) => s.parse::<f64>().map_err(|_| {
                    parse_err(*hline, format!("PRCF{k} peak cut-off '{s}' is not a number"))
                })?,
                None => 0.0,
            };
            let mut recs: Vec<&(u32, u8, usize, String)> =
                bb.prcf_lines.iter().filter(|r| r.0 == *k).collect();
            recs.sort_by_key(|r| r.1);
            let mut coefficients = Vec::with_capacity(nterms.min(64));
            for (_, _, l, v) in recs {
                for s in v.split_whitespace() {
                    let x = s.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| {
                        parse_err(*l, format!("profile coefficient '{s}' is not a number"))
                    })?;
                    coefficients.push(x);
                }
            }
            if coefficients.len() < nterms {
                return Err(Error::Missing {
                    path: path.to_path_buf(),
                    line: *hline,
                    what: format!(
                        "profile coefficients: PRCF{k} announces {nterms} terms, the records \
                         give {}",
                        coefficients.len()
                    ),
                });
            }
            coefficients.truncate(nterms);
            profiles.push(GsasProfile { number: *k, function_type, peak_cutoff, coefficients });
        }
        out.push(GsasPrmBank {
            bank,
            lambda1_angstrom: lambda1,
            lambda2_angstrom: (lambda2 > 0.0).then_some(lambda2),
            kratio,
            zero_centideg: zero,
            pola,
            ipola: ipola as i64,
            irad,
            head: bb.head,
            instrument_name: bb.iname,
            profiles,
        });
    }
    if out.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: 1,
            what: "an 'INS  n ICONS' record (wavelengths) for any bank".to_string(),
        });
    }
    Ok(GsasPrm { htype: htype.map(|(_, h)| h), banks: out })
}
