//! One entry point for every powder-scan format: [`read_powder`] looks at the content first
//! (magic bytes, zip members, an XRDML root, RAS markers, pdCIF tags, a `.chi` header, a GSAS
//! `BANK` line, UXD `_` keywords, a FullProf `start step stop` header), the extension
//! second, and falls back to 2/3-column text ([`crate::xye`]).
//!
//! Every reader returns a [`PowderScan`]: the points ([`PowderData`]) and what the file says
//! about the measurement ([`PowderMetadata`]).

use crate::error::{Error, Result};
use crate::xye::{parse_xye, PowderData};
use crate::{brml, bruker, chi, fullprof, gsas, pdcif, rigaku, xrdml};
use std::io::Read;
use std::path::Path;

/// The file formats [`read_powder`] recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PowderFormat {
    /// 2- or 3-column text (`.xy`, `.xye`, `.csv`, ...), see [`crate::xye`].
    Xye,
    /// GSAS raw powder data (`BANK` records: STD, ESD, FXY or FXYE), see [`crate::gsas`].
    Gsas,
    /// FullProf free-format `.dat` (`start step stop` then intensities), see [`crate::fullprof`].
    FullProf,
    /// Bruker/Siemens DIFFRAC-AT text `.uxd`, see [`crate::bruker`].
    BrukerUxd,
    /// Bruker/Siemens binary `.raw` (versions 1, 2, 3 = "RAW1.01" and 4 = "RAW4.00"), see
    /// [`crate::bruker`].
    BrukerRaw,
    /// PANalytical `.xrdml` (XML), see [`crate::xrdml`].
    Xrdml,
    /// Rigaku `.ras` (text), see [`crate::rigaku`].
    RigakuRas,
    /// Rigaku `.rasx` (zip), see [`crate::rigaku`].
    RigakuRasx,
    /// Bruker DIFFRAC.SUITE `.brml` (zip of XML), see [`crate::brml`].
    BrukerBrml,
    /// Fit2D `.chi` or pyFAI integrated pattern (2θ or Q), see [`crate::chi`].
    Chi,
    /// Powder CIF (`_pd_meas_*` / `_pd_proc_*` loops), see [`crate::pdcif`].
    PdCif,
}

/// One wavelength component of the incident beam.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wavelength {
    /// Wavelength in Å.
    pub angstrom: f64,
    /// Intensity relative to the first component (1 for the first; e.g. Kα2/Kα1 ≈ 0.5),
    /// `None` when the file gives the wavelength but not its weight.
    pub relative_intensity: Option<f64>,
}

/// What a file says about the measurement besides the points. Everything is optional: each
/// format stores a different subset.
#[derive(Debug, Clone, PartialEq)]
pub struct PowderMetadata {
    /// The format the file was read as.
    pub format: PowderFormat,
    /// Wavelength components in the order the file gives them (Kα1 first); empty when the
    /// file does not say (GSAS raw files keep them in the instrument parameter file).
    pub wavelengths: Vec<Wavelength>,
    /// Date and time of the measurement as written in the file (not parsed).
    pub timestamp: Option<String>,
    /// Sample temperature in K, when the file states it.
    pub temperature_k: Option<f64>,
    /// Title, sample name or comment line.
    pub comment: Option<String>,
    /// Other header keys and values, in file order (UXD `_KEY=value`, GSAS `# key = value`,
    /// RAW header fields).
    pub fields: Vec<(String, String)>,
    /// Things the reader tolerated and the user may want to know (ignored trailing lines,
    /// further ranges or banks not returned, ...).
    pub notes: Vec<String>,
}

impl PowderMetadata {
    /// Empty metadata for a file of the given format.
    pub fn new(format: PowderFormat) -> Self {
        PowderMetadata {
            format,
            wavelengths: Vec::new(),
            timestamp: None,
            temperature_k: None,
            comment: None,
            fields: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The value of the first header field called `key` (exact match).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A powder scan and what its file says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct PowderScan {
    /// The points: 2θ (degrees, strictly increasing), intensity, esd.
    pub data: PowderData,
    /// Wavelengths, time, temperature, comments.
    pub meta: PowderMetadata,
}

/// Whether `bytes` start with the gzip magic number (RFC 1952 §2.3.1: 0x1f 0x8b).
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Reads a whole file; gzip content (by magic number, whatever the extension) is
/// decompressed transparently.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let io_err = |source: std::io::Error| Error::Io { path: path.to_path_buf(), source };
    let raw = std::fs::read(path).map_err(io_err)?;
    if is_gzip(&raw) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut out).map_err(io_err)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Decodes text: UTF-8 where valid, otherwise each byte as Latin-1 (old instrument files are
/// often Latin-1, e.g. `°` as 0xB0), so that no byte is lost and line numbers stay right.
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// The extension of `path` in lower case, looking through a trailing `.gz`.
fn extension(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    match name.rsplit_once('.') {
        Some((_, ext)) => ext.to_string(),
        None => String::new(),
    }
}

/// Which format `bytes` (already decompressed) hold, judged by content alone.
fn detect_by_content(bytes: &[u8], text: &str) -> Option<PowderFormat> {
    if bruker::is_bruker_raw(bytes) {
        return Some(PowderFormat::BrukerRaw);
    }
    if xrdml::looks_like_xrdml(text) {
        return Some(PowderFormat::Xrdml);
    }
    if rigaku::looks_like_ras(text) {
        return Some(PowderFormat::RigakuRas);
    }
    if pdcif::looks_like_pdcif(text) {
        return Some(PowderFormat::PdCif);
    }
    if chi::looks_like_chi(text) {
        return Some(PowderFormat::Chi);
    }
    if gsas::looks_like_gsas(text) {
        return Some(PowderFormat::Gsas);
    }
    if bruker::looks_like_uxd(text) {
        return Some(PowderFormat::BrukerUxd);
    }
    if fullprof::looks_like_fullprof(text) {
        return Some(PowderFormat::FullProf);
    }
    None
}

/// Reads a powder scan in any supported format, choosing the reader by content first:
///
/// 1. binary magic numbers: Bruker RAW (`RAW `, `RAW2`, `RAW1.01`, `RAW4.00`); a zip archive
///    holding `RawData*.xml` (Bruker `.brml`) or `Data0/Profile0.txt` (Rigaku `.rasx`);
/// 2. text: XML with an `xrdMeasurements` root (PANalytical XRDML); `*RAS_DATA_START` /
///    `*RAS_HEADER_START` (Rigaku RAS); a `data_` block with `_pd_meas_*`/`_pd_proc_*` point
///    tags (pdCIF); a Fit2D `.chi` header or pyFAI comments; a GSAS `BANK` line; UXD
///    `_FILEVERSION` / `_DRIVE` / `_COUNTS` / `_2THETA...` keywords; a FullProf `start step
///    stop` header whose point count matches the data;
/// 3. the extension (`.xrdml`, `.ras`, `.rasx`, `.brml`, `.chi`, `.cif`, `.gsa`, `.gsas`,
///    `.gss`, `.fxye`, `.xra`, `.cwn`, `.raw`, `.uxd`);
/// 4. otherwise 2/3-column text ([`parse_xye`]).
///
/// Gzip-compressed files are decompressed first (by content, `.gz` or not). Other XML, other
/// zip archives, instrument parameter files and unknown binary files give a clear error
/// rather than a misreading. Integrated patterns on a Q scale need the wavelength: use
/// [`read_powder_with_wavelength`].
pub fn read_powder(path: &Path) -> Result<PowderScan> {
    read_powder_with_wavelength(path, None)
}

/// [`read_powder`] with a wavelength (Å) for formats whose axis needs one (Fit2D/pyFAI
/// patterns on a Q scale, converted by 2θ = 2 asin(Qλ/4π)); other formats ignore it.
pub fn read_powder_with_wavelength(
    path: &Path,
    wavelength_angstrom: Option<f64>,
) -> Result<PowderScan> {
    let bytes = read_bytes(path)?;
    parse_powder_with_wavelength(&bytes, path, wavelength_angstrom)
}

/// [`read_powder`] on bytes already in memory (decompressed); `path` names the file in
/// messages and its extension is the second criterion.
pub fn parse_powder(bytes: &[u8], path: &Path) -> Result<PowderScan> {
    parse_powder_with_wavelength(bytes, path, None)
}

/// [`parse_powder`] with a wavelength for Q-scale patterns, see
/// [`read_powder_with_wavelength`].
pub fn parse_powder_with_wavelength(
    bytes: &[u8],
    path: &Path,
    wavelength_angstrom: Option<f64>,
) -> Result<PowderScan> {
    let unknown =
        |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };
    if is_gzip(bytes) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        return parse_powder_with_wavelength(&out, path, wavelength_angstrom);
    }
    let ext = extension(path);
    if brml::is_zip(bytes) {
        let zip = brml::open_zip(bytes, path)?;
        let names = brml::zip_names(&zip);
        if !brml::brml_members(&names).is_empty() {
            return brml::parse_brml(bytes, path);
        }
        if !rigaku::rasx_profiles(&names).is_empty() {
            return rigaku::parse_rasx(bytes, path);
        }
        return Err(Error::ParseBinary {
            path: path.to_path_buf(),
            offset: 0,
            message: format!(
                "a zip archive that is neither a Bruker .brml (Experiment0/RawData0.xml) nor a \
                 Rigaku .rasx (Data0/Profile0.txt); it holds {} member(s){}",
                names.len(),
                names.first().map_or(String::new(), |n| format!(", e.g. {n}"))
            ),
        });
    }
    if matches!(ext.as_str(), "brml" | "rasx") {
        return Err(Error::ParseBinary {
            path: path.to_path_buf(),
            offset: 0,
            message: format!(
                "a .{ext} file must be a zip archive (magic PK\\x03\\x04), this one is not"
            ),
        });
    }
    let text = decode_text(bytes);
    let format = match detect_by_content(bytes, &text) {
        Some(f) => Some(f),
        None => {
            let head = text.trim_start_matches('\u{feff}').trim_start();
            if head.starts_with('<') {
                if ext == "xrdml" {
                    Some(PowderFormat::Xrdml) // the XRDML reader names what is wrong
                } else {
                    return Err(unknown(
                        1,
                        "XML that is not a PANalytical XRDML scan (no <xrdMeasurements> root)"
                            .to_string(),
                    ));
                }
            } else if ext == "prm" || ext == "instprm" || ext == "irf" {
                return Err(unknown(
                    1,
                    "this is an instrument parameter file, not a powder scan \
                     (read it with bragg_io::gsas::read_gsas_prm or bragg_io::instprm::read_instprm)"
                        .to_string(),
                ));
            } else if bytes.iter().take(4096).any(|&b| b == 0) {
                return Err(Error::ParseBinary {
                    path: path.to_path_buf(),
                    offset: 0,
                    message: "unrecognised binary powder format (not Bruker RAW v1–v4, .brml \
                              or .rasx)"
                        .to_string(),
                });
            } else {
                match ext.as_str() {
                    "gsa" | "gsas" | "gss" | "gda" | "fxye" | "xra" | "cwn" => {
                        Some(PowderFormat::Gsas)
                    }
                    "raw" => Some(PowderFormat::BrukerRaw),
                    "uxd" => Some(PowderFormat::BrukerUxd),
                    "xrdml" => Some(PowderFormat::Xrdml),
                    "ras" => Some(PowderFormat::RigakuRas),
                    "chi" => Some(PowderFormat::Chi),
                    "cif" | "pdcif" => Some(PowderFormat::PdCif),
                    _ => None,
                }
            }
        }
    };
    match format {
        Some(PowderFormat::BrukerRaw) => bruker::parse_bruker_raw(bytes, path),
        Some(PowderFormat::Gsas) => gsas::parse_gsas(&text, path),
        Some(PowderFormat::BrukerUxd) => bruker::parse_uxd(&text, path),
        Some(PowderFormat::FullProf) => fullprof::parse_fullprof(&text, path),
        Some(PowderFormat::Xrdml) => xrdml::parse_xrdml(&text, path),
        Some(PowderFormat::RigakuRas) => rigaku::parse_ras(&text, path),
        Some(PowderFormat::RigakuRasx) => rigaku::parse_rasx(bytes, path),
        Some(PowderFormat::BrukerBrml) => brml::parse_brml(bytes, path),
        Some(PowderFormat::Chi) => chi::parse_chi(&text, path, wavelength_angstrom),
        Some(PowderFormat::PdCif) => pdcif::parse_pdcif(&text, path),
        Some(PowderFormat::Xye) | None => match parse_xye(&text, path) {
            Ok(data) => Ok(PowderScan { data, meta: PowderMetadata::new(PowderFormat::Xye) }),
            Err(e) => {
                if matches!(ext.as_str(), "xy" | "xye" | "csv" | "txt" | "dat" | "asc") {
                    Err(e)
                } else {
                    Err(unknown(
                        1,
                        format!(
                            "unrecognised powder format: not Bruker RAW/UXD/BRML, XRDML, \
                             Rigaku RAS/RASX, pdCIF, .chi, GSAS or FullProf, and not 2/3-column \
                             text ({e})"
                        ),
                    ))
                }
            }
        },
    }
}

/// The 2θ grid start + i·step, i < n (degrees); an error message when a step below the
/// resolution of the 2θ values (or an overflow) would repeat a value (found by cargo fuzz in the Bruker RAW and UXD readers); shared by every reader of a
/// start/step grid.
pub(crate) fn two_theta_grid(
    start: f64,
    step: f64,
    n: usize,
) -> std::result::Result<Vec<f64>, String> {
    let mut tth = Vec::with_capacity(n);
    for i in 0..n {
        let t = start + i as f64 * step;
        if !t.is_finite() || tth.last().is_some_and(|&prev| t <= prev) {
            return Err(format!(
                "step size {step}° gives no distinct 2θ at point {} (2θ = {t})",
                i + 1
            ));
        }
        tth.push(t);
    }
    Ok(tth)
}
