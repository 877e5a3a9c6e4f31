//! Powder CIF (pdCIF): reading the `_pd_meas_*` / `_pd_proc_*` loops of any number of data
//! blocks, and writing a refinement's data and fit.
//!
//! Tags follow the pdCIF dictionary (B. H. Toby, "The powder CIF dictionary", International
//! Tables for Crystallography Vol. G (2006), §3.3 and §4.2; `cif_pd.dic` 1.0.1):
//!
//! * 2θ (degrees): `_pd_meas_2theta_scan`, `_pd_proc_2theta_corrected`, or no column and
//!   `_pd_meas_2theta_range_{min,max,inc}` / `_pd_proc_2theta_range_{min,max,inc}`;
//! * intensity (first found): `_pd_meas_counts_total` (σ = √counts), `_pd_meas_intensity_total`,
//!   `_pd_proc_intensity_total`, `_pd_proc_intensity_net`;
//! * esd (first found): a `…_su` column of the intensity, the su in parentheses
//!   (`1234(35)`), `_pd_proc_ls_weight` (σ = 1/√w; w = 0 gives σ = 0, a point excluded from
//!   the fit), √counts for counts;
//! * wavelength `_diffrn_radiation_wavelength` (+ `_diffrn_radiation_wavelength_wt`),
//!   temperature `_diffrn_ambient_temperature` (K), time `_pd_meas_datetime_initiated`,
//!   specimen `_pd_spec_id`.
//!
//! The writer ([`write_pdcif`]) takes plain slices ([`PdCifPattern`]) and optional
//! agreement factors ([`PdCifStats`], **fractions, not percent**, as CIF requires) and writes
//! one data block: the points loop (2θ, `_pd_meas_intensity_total`, `_pd_proc_ls_weight` =
//! 1/σ², `_pd_proc_intensity_bkg_calc`, `_pd_calc_intensity_total`) with every number in its
//! shortest exact decimal form, so that reading the file back gives the same values.

use crate::atomic::write_atomic;
use crate::cif::syntax::{parse_blocks, CifLoop, CifValue, DataBlock};
use crate::error::{Error, Result};
use crate::powder::{
    decode_text, read_bytes, PowderFormat, PowderMetadata, PowderScan, Wavelength,
};
use crate::xrdml::first_with_note;
use crate::xye::PowderData;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// Intensity tags, in order of preference, and whether the values are counts.
const INTENSITY_TAGS: [(&str, bool); 4] = [
    ("_pd_meas_counts_total", true),
    ("_pd_meas_intensity_total", false),
    ("_pd_proc_intensity_total", false),
    ("_pd_proc_intensity_net", false),
];

/// 2θ column tags, in order of preference.
const TWO_THETA_TAGS: [&str; 2] = ["_pd_meas_2theta_scan", "_pd_proc_2theta_corrected"];

/// Reads the first data block with powder points (a note says when there are more).
pub fn read_pdcif(path: &Path) -> Result<PowderScan> {
    parse_pdcif(&decode_text(&read_bytes(path)?), path)
}

/// Reads every data block with powder points, in file order (blocks without them, e.g.
/// phase blocks, are skipped).
pub fn read_pdcif_scans(path: &Path) -> Result<Vec<PowderScan>> {
    parse_pdcif_scans(&decode_text(&read_bytes(path)?), path)
}

/// [`read_pdcif`] on text in memory; `path` names the file in messages.
pub fn parse_pdcif(text: &str, path: &Path) -> Result<PowderScan> {
    first_with_note(parse_pdcif_scans(text, path)?, "powder data blocks", "read_pdcif_scans", path)
}

/// Whether `text` looks like a pdCIF: a `data_` block header and a powder-point tag.
///
/// A CIF opens with its `data_` block header (after comments), so a text without one in its
/// first 64 KiB is not a pdCIF: the scan stops there instead of reading a large data file
/// through (the sniffing of every powder file goes through here).
pub(crate) fn looks_like_pdcif(text: &str) -> bool {
    const HEAD: usize = 64 * 1024;
    let starts = |l: &str, tag: &str| {
        l.len() >= tag.len() && l.as_bytes()[..tag.len()].eq_ignore_ascii_case(tag.as_bytes())
    };
    let mut data = false;
    let mut pd = false;
    let mut offset = 0;
    for raw in text.lines() {
        if !data && offset > HEAD {
            return false;
        }
        offset += raw.len() + 1;
        let l = raw.trim_start();
        data |= starts(l, "data_");
        pd |= INTENSITY_TAGS.iter().any(|(t, _)| starts(l, t))
            || TWO_THETA_TAGS.iter().any(|t| starts(l, t));
        if data && pd {
            return true;
        }
    }
    false
}

/// The first value of `tag` in any block (for instrument blocks shared by several
/// diffractograms).
fn any_value<'a>(blocks: &'a [DataBlock], tag: &str) -> Option<&'a CifValue> {
    blocks.iter().find_map(|b| b.non_null(tag))
}

/// [`read_pdcif_scans`] on text in memory.
///
/// Errors: [`Error::Parse`] (with the line) for CIF syntax errors and non-numbers in the
/// points loop; [`Error::Missing`] for a file without any powder data block or a block
/// without 2θ; [`Error::Data`] for null intensities, 2θ not increasing, a negative esd, or a
/// range that does not match the point count.
pub fn parse_pdcif_scans(text: &str, path: &Path) -> Result<Vec<PowderScan>> {
    let blocks = parse_blocks(text, path)?;
    let mut out = Vec::new();
    for b in &blocks {
        if let Some(scan) = block_scan(b, &blocks, path)? {
            out.push(scan);
        }
    }
    if out.is_empty() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
            line: blocks.first().map_or(1, |b| b.line),
            what: "powder data: no data block has a _pd_meas_counts_total, \
                   _pd_meas_intensity_total, _pd_proc_intensity_total or \
                   _pd_proc_intensity_net loop"
                .to_string(),
        });
    }
    Ok(out)
}

/// A number in a loop cell, or an error naming its line.
fn cell(v: &CifValue, tag: &str, path: &Path) -> Result<(f64, Option<f64>)> {
    if v.is_null() {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: v.line,
            message: format!("{tag} is '{}' (no value)", v.text),
        });
    }
    v.number().ok_or_else(|| Error::Parse {
        path: path.to_path_buf(),
        line: v.line,
        message: format!("{tag} '{}' is not a CIF number", v.text),
    })
}

/// A pair value as a number (its su dropped), or an error naming its line.
fn pair_number(b: &DataBlock, tag: &str, path: &Path) -> Result<Option<f64>> {
    b.non_null(tag).map(|v| cell(v, tag, path).map(|x| x.0)).transpose()
}

/// The scan of one block, `None` when it has no powder points.
fn block_scan(b: &DataBlock, all: &[DataBlock], path: &Path) -> Result<Option<PowderScan>> {
    let Some((lp, itag, counts)) =
        INTENSITY_TAGS.iter().find_map(|(t, c)| b.find_loop(t).map(|l| (l, *t, *c)))
    else {
        return Ok(None);
    };
    let data_err =
        |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };
    let col = |t: &str| lp.column(t);
    let icol = col(itag).unwrap_or(0);
    let n = lp.row_count();
    if n == 0 {
        return Err(data_err(lp.line, format!("the loop of {itag} has no rows")));
    }
    let rows: Vec<&[CifValue]> = lp.rows().collect();
    // 2θ: a column or a range.
    let tth: Vec<f64> = match TWO_THETA_TAGS.iter().find_map(|t| col(t).map(|c| (c, *t))) {
        Some((c, t)) => {
            rows.iter().map(|r| cell(&r[c], t, path).map(|x| x.0)).collect::<Result<_>>()?
        }
        None => range_grid(b, n, lp, path)?,
    };
    let su_col = col(&format!("{itag}_su"));
    let w_col = col("_pd_proc_ls_weight");
    let mut y = Vec::with_capacity(n);
    let mut esd: Vec<Option<f64>> = Vec::with_capacity(n);
    for r in &rows {
        let (v, su) = cell(&r[icol], itag, path)?;
        let e = if let Some(c) = su_col {
            Some(cell(&r[c], "the intensity su", path)?.0)
        } else if su.is_some() {
            su
        } else if let Some(c) = w_col {
            let (w, _) = cell(&r[c], "_pd_proc_ls_weight", path)?;
            if w < 0.0 {
                return Err(data_err(r[c].line, format!("negative weight {w}")));
            }
            Some(if w > 0.0 { 1.0 / w.sqrt() } else { 0.0 })
        } else if counts {
            if v < 0.0 {
                return Err(data_err(r[icol].line, format!("negative count {v}")));
            }
            Some(v.sqrt())
        } else {
            None
        };
        if let Some(e) = e.filter(|e| *e < 0.0) {
            return Err(data_err(r[icol].line, format!("negative esd {e}")));
        }
        y.push(v);
        esd.push(e);
    }
    for k in 1..n {
        if tth[k] <= tth[k - 1] {
            let line = rows.get(k).map_or(lp.line, |r| r[0].line);
            return Err(data_err(
                line,
                format!("2θ = {} does not increase (previous point {})", tth[k], tth[k - 1]),
            ));
        }
    }
    let esd = if esd.iter().all(Option::is_some) {
        Some(esd.into_iter().flatten().collect())
    } else {
        None
    };
    let mut meta = PowderMetadata::new(PowderFormat::PdCif);
    meta.fields.push(("data block".to_string(), b.name.clone()));
    meta.fields.push(("intensity tag".to_string(), itag.to_string()));
    // Wavelengths: this block's, else the first block that has one.
    let wl_loop: Option<&CifLoop> = b
        .find_loop("_diffrn_radiation_wavelength")
        .or_else(|| all.iter().find_map(|o| o.find_loop("_diffrn_radiation_wavelength")));
    match wl_loop.filter(|l| l.row_count() > 1) {
        Some(l) => {
            let wc = l.column("_diffrn_radiation_wavelength").unwrap_or(0);
            let wt = l.column("_diffrn_radiation_wavelength_wt");
            for r in l.rows() {
                let (w, _) = cell(&r[wc], "_diffrn_radiation_wavelength", path)?;
                let rel = wt
                    .map(|c| &r[c])
                    .filter(|v| !v.is_null())
                    .map(|v| cell(v, "_diffrn_radiation_wavelength_wt", path).map(|x| x.0))
                    .transpose()?;
                meta.wavelengths.push(Wavelength { angstrom: w, relative_intensity: rel });
            }
        }
        None => {
            let v = b
                .non_null("_diffrn_radiation_wavelength")
                .or_else(|| any_value(all, "_diffrn_radiation_wavelength"));
            if let Some(v) = v {
                let (w, _) = cell(v, "_diffrn_radiation_wavelength", path)?;
                meta.wavelengths.push(Wavelength { angstrom: w, relative_intensity: Some(1.0) });
            }
        }
    }
    meta.temperature_k = pair_number(b, "_diffrn_ambient_temperature", path)?;
    meta.timestamp = b.non_null("_pd_meas_datetime_initiated").map(|v| v.text.clone());
    meta.comment = b.non_null("_pd_spec_id").map(|v| v.text.clone());
    for tag in [
        "_pd_proc_ls_prof_r_factor",
        "_pd_proc_ls_prof_wr_factor",
        "_pd_proc_ls_prof_wr_expected",
        "_refine_ls_goodness_of_fit_all",
        "_refine_ls_wr_factor_all",
        "_refine_ls_r_i_factor",
    ] {
        if let Some(v) = b.non_null(tag) {
            meta.fields.push((tag.to_string(), v.text.clone()));
        }
    }
    for (tag, what) in
        [("_pd_calc_intensity_total", "calculated"), ("_pd_proc_intensity_bkg_calc", "background")]
    {
        if col(tag).is_some() {
            meta.notes
                .push(format!("the block also holds the {what} pattern ({tag}); not returned"));
        }
    }
    Ok(Some(PowderScan {
        data: PowderData { two_theta_deg: tth, intensity: y, esd, source: path.to_path_buf() },
        meta,
    }))
}

/// 2θ from `_pd_{meas,proc}_2theta_range_{min,max,inc}` for `n` points.
fn range_grid(b: &DataBlock, n: usize, lp: &CifLoop, path: &Path) -> Result<Vec<f64>> {
    for kind in ["meas", "proc"] {
        let t = |s: &str| format!("_pd_{kind}_2theta_range_{s}");
        let (Some(min), Some(inc)) =
            (pair_number(b, &t("min"), path)?, pair_number(b, &t("inc"), path)?)
        else {
            continue;
        };
        if inc <= 0.0 {
            let line = b.value(&t("inc")).map_or(b.line, |v| v.line);
            return Err(Error::Data {
                path: path.to_path_buf(),
                line,
                message: format!("{} = {inc} must be positive", t("inc")),
            });
        }
        if let Some(max) = pair_number(b, &t("max"), path)? {
            let expect = min + (n as f64 - 1.0) * inc;
            if (expect - max).abs() > 0.5 * inc {
                let line = b.value(&t("max")).map_or(b.line, |v| v.line);
                return Err(Error::Data {
                    path: path.to_path_buf(),
                    line,
                    message: format!(
                        "{} = {max} but {n} points from {min} in steps of {inc} end at {expect}",
                        t("max")
                    ),
                });
            }
        }
        let line = b.value(&t("inc")).map_or(b.line, |v| v.line);
        return crate::powder::two_theta_grid(min, inc, n).map_err(|message| Error::Data {
            path: path.to_path_buf(),
            line,
            message,
        });
    }
    Err(Error::Missing {
        path: path.to_path_buf(),
        line: lp.line,
        what: format!(
            "2θ for the points of data block '{}': a _pd_meas_2theta_scan or \
             _pd_proc_2theta_corrected column, or _pd_meas_2theta_range_min/_inc",
            b.name
        ),
    })
}

// ---------------------------------------------------------------------------------------
// Writer.

/// Which 2θ tag the points loop uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PdCifTwoTheta {
    /// `_pd_meas_2theta_scan`: the 2θ of the measurement as recorded.
    #[default]
    Measured,
    /// `_pd_proc_2theta_corrected`: 2θ after corrections (zero shift, ...).
    Corrected,
}

/// Agreement factors of a refinement, written when given. R values are **fractions**
/// (0.0845, not 8.45 %), as the CIF dictionaries define them; definitions after McCusker et
/// al., J. Appl. Cryst. 32, 36 (1999).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PdCifStats {
    /// Profile R, Rp → `_pd_proc_ls_prof_R_factor`.
    pub r_p: Option<f64>,
    /// Weighted profile R, Rwp → `_pd_proc_ls_prof_wR_factor`.
    pub r_wp: Option<f64>,
    /// Expected Rwp, Rexp → `_pd_proc_ls_prof_wR_expected`.
    pub r_exp: Option<f64>,
    /// Goodness of fit S = Rwp/Rexp = √χ²ᵥ → `_refine_ls_goodness_of_fit_all`.
    pub goodness_of_fit: Option<f64>,
    /// Core-CIF weighted residual over all data → `_refine_ls_wR_factor_all` (for a
    /// Rietveld refinement, pass the profile wR if the journal asks for this item).
    pub wr_factor_all: Option<f64>,
    /// Bragg R on intensities, R_B → `_refine_ls_R_I_factor`.
    pub r_bragg: Option<f64>,
    /// Number of refined parameters → `_refine_ls_number_parameters`.
    pub number_of_parameters: Option<usize>,
}

/// A pattern and its fit, as plain slices, for [`write_pdcif`]. All slices must have the
/// length of `two_theta_deg`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PdCifPattern<'a> {
    /// The data block name (`data_<name>`); whitespace becomes `_`, empty becomes `pattern`.
    pub block_name: &'a str,
    /// 2θ of each point in degrees, strictly increasing.
    pub two_theta_deg: &'a [f64],
    /// The 2θ tag to use.
    pub two_theta_tag: PdCifTwoTheta,
    /// Observed intensity → `_pd_meas_intensity_total`.
    pub observed: &'a [f64],
    /// Its standard deviation (≥ 0; 0 marks an excluded point) → `_pd_proc_ls_weight` = 1/σ².
    pub esd: Option<&'a [f64]>,
    /// Calculated total intensity → `_pd_calc_intensity_total`.
    pub calculated: Option<&'a [f64]>,
    /// Calculated background → `_pd_proc_intensity_bkg_calc`.
    pub background: Option<&'a [f64]>,
    /// Wavelengths (Å) with their relative weights → `_diffrn_radiation_wavelength(_wt)`.
    pub wavelengths: &'a [Wavelength],
    /// Agreement factors.
    pub stats: Option<&'a PdCifStats>,
    /// Specimen name or comment → `_pd_spec_id`.
    pub comment: Option<&'a str>,
}

impl<'a> PdCifPattern<'a> {
    /// A pattern with observed points only; set the other fields as needed.
    pub fn new(block_name: &'a str, two_theta_deg: &'a [f64], observed: &'a [f64]) -> Self {
        PdCifPattern {
            block_name,
            two_theta_deg,
            two_theta_tag: PdCifTwoTheta::Measured,
            observed,
            esd: None,
            calculated: None,
            background: None,
            wavelengths: &[],
            stats: None,
            comment: None,
        }
    }
}

/// A CIF value for free text: bare when possible, else quoted, else a text field.
fn cif_text(s: &str) -> String {
    let special = s.is_empty()
        || s.starts_with(['_', '#', '$', '\'', '"', ';', '[', ']'])
        || s.chars().any(char::is_whitespace)
        || ["data_", "loop_", "save_", "global_", "stop_"]
            .iter()
            .any(|k| s.to_ascii_lowercase().starts_with(k))
        || s == "?"
        || s == ".";
    if !special {
        s.to_string()
    } else if !s.contains(['\n', '\r']) && !s.contains("' ") && !s.ends_with('\'') {
        format!("'{s}'")
    } else if !s.contains(['\n', '\r']) && !s.contains("\" ") && !s.ends_with('"') {
        format!("\"{s}\"")
    } else {
        let body: Vec<String> = s
            .lines()
            .map(|l| if l.starts_with(';') { format!(" {l}") } else { l.to_string() })
            .collect();
        format!("\n;\n{}\n;", body.join("\n"))
    }
}

/// The pdCIF text of `p` (see [`write_pdcif`]); `Err` says what is wrong with the input.
pub fn pdcif_string(p: &PdCifPattern) -> std::result::Result<String, String> {
    let n = p.two_theta_deg.len();
    if n == 0 {
        return Err("no points".to_string());
    }
    let cols: [(&str, Option<&[f64]>); 4] = [
        ("observed", Some(p.observed)),
        ("esd", p.esd),
        ("calculated", p.calculated),
        ("background", p.background),
    ];
    for (what, c) in cols {
        if let Some(c) = c {
            if c.len() != n {
                return Err(format!("{what} has {} values for {n} points", c.len()));
            }
            if let Some(k) = c.iter().position(|x| !x.is_finite()) {
                return Err(format!("{what} value {} of point {} is not finite", c[k], k + 1));
            }
        }
    }
    if let Some(k) = (0..n).find(|&k| {
        !p.two_theta_deg[k].is_finite() || (k > 0 && p.two_theta_deg[k] <= p.two_theta_deg[k - 1])
    }) {
        return Err(format!(
            "2θ of point {} ({}) is not finite and increasing",
            k + 1,
            p.two_theta_deg[k]
        ));
    }
    if let Some(e) = p.esd.and_then(|e| e.iter().find(|e| **e < 0.0)) {
        return Err(format!("negative esd {e}"));
    }
    for w in p.wavelengths {
        if !(w.angstrom.is_finite() && w.angstrom > 0.0) {
            return Err(format!("wavelength {} Å must be positive", w.angstrom));
        }
    }
    let name: String =
        p.block_name.trim().chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
    let name = if name.is_empty() { "pattern".to_string() } else { name };
    let mut s = String::new();
    // INVARIANT: writing to a String cannot fail; the results are ignored.
    let _ = writeln!(
        s,
        "# Powder diffraction data and fit written by bragg {}",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(s, "data_{name}");
    let _ = writeln!(s, "_pd_block_id {}", cif_text(&name));
    let _ = writeln!(s, "_audit_creation_method 'bragg {}'", env!("CARGO_PKG_VERSION"));
    if let Some(c) = p.comment {
        let _ = writeln!(s, "_pd_spec_id {}", cif_text(c));
    }
    match p.wavelengths {
        [] => {}
        [w] => {
            let _ = writeln!(s, "_diffrn_radiation_wavelength {}", w.angstrom);
        }
        ws => {
            let _ = writeln!(s, "loop_\n_diffrn_radiation_wavelength_id\n_diffrn_radiation_wavelength\n_diffrn_radiation_wavelength_wt");
            for (k, w) in ws.iter().enumerate() {
                let wt = w.relative_intensity.map_or("?".to_string(), |r| r.to_string());
                let _ = writeln!(s, "{} {} {wt}", k + 1, w.angstrom);
            }
        }
    }
    let _ = writeln!(s, "_pd_meas_number_of_points {n}");
    let _ = writeln!(s, "_pd_proc_number_of_points {n}");
    let _ = writeln!(s, "_pd_meas_2theta_range_min {}", p.two_theta_deg[0]);
    let _ = writeln!(s, "_pd_meas_2theta_range_max {}", p.two_theta_deg[n - 1]);
    if p.calculated.is_some() {
        let _ = writeln!(s, "_pd_calc_method 'Rietveld Refinement'");
    }
    if let Some(st) = p.stats {
        for (tag, v) in [
            ("_pd_proc_ls_prof_R_factor", st.r_p),
            ("_pd_proc_ls_prof_wR_factor", st.r_wp),
            ("_pd_proc_ls_prof_wR_expected", st.r_exp),
            ("_refine_ls_goodness_of_fit_all", st.goodness_of_fit),
            ("_refine_ls_wR_factor_all", st.wr_factor_all),
            ("_refine_ls_R_I_factor", st.r_bragg),
        ] {
            if let Some(v) = v {
                if !v.is_finite() {
                    return Err(format!("{tag} = {v} is not finite"));
                }
                let _ = writeln!(s, "{tag} {v}");
            }
        }
        if let Some(k) = st.number_of_parameters {
            let _ = writeln!(s, "_refine_ls_number_parameters {k}");
        }
    }
    let tth_tag = match p.two_theta_tag {
        PdCifTwoTheta::Measured => "_pd_meas_2theta_scan",
        PdCifTwoTheta::Corrected => "_pd_proc_2theta_corrected",
    };
    let _ = writeln!(s, "loop_\n{tth_tag}\n_pd_meas_intensity_total");
    if p.esd.is_some() {
        let _ = writeln!(s, "_pd_proc_ls_weight");
    }
    if p.background.is_some() {
        let _ = writeln!(s, "_pd_proc_intensity_bkg_calc");
    }
    if p.calculated.is_some() {
        let _ = writeln!(s, "_pd_calc_intensity_total");
    }
    for i in 0..n {
        let _ = write!(s, "{} {}", p.two_theta_deg[i], p.observed[i]);
        if let Some(e) = p.esd {
            let w = if e[i] > 0.0 { 1.0 / (e[i] * e[i]) } else { 0.0 };
            let _ = write!(s, " {w}");
        }
        for c in [p.background, p.calculated].into_iter().flatten() {
            let _ = write!(s, " {}", c[i]);
        }
        s.push('\n');
    }
    Ok(s)
}

/// Writes `p` as a pdCIF data block, atomically. Errors: [`Error::InvalidInput`] (nothing
/// written) for columns of different lengths, non-finite values, 2θ not increasing, a
/// negative esd or a non-positive wavelength; [`Error::Io`] if the file cannot be written.
pub fn write_pdcif(path: &Path, p: &PdCifPattern) -> Result<()> {
    let text = pdcif_string(p)
        .map_err(|message| Error::InvalidInput { path: path.to_path_buf(), message })?;
    write_atomic(path, |w: &mut dyn Write| w.write_all(text.as_bytes()))
}
