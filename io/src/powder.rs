//! One entry point for every powder-scan format: [`read_powder`] looks at the content first
//! (magic bytes, zip members, an XRDML root, RAS markers, pdCIF tags, a `.chi` header, a GSAS
//! `BANK` line, UXD `_` keywords, a FullProf `start step stop` header), the extension
//! second, and falls back to 2/3-column text ([`crate::xye`]).
//!
//! Every reader returns a [`PowderScan`]: the points ([`PowderData`]) and what the file says
//! about the measurement ([`PowderMetadata`]).

use crate::error::{Error, Result};
use crate::xye::{parse_xye, stream_xye, Decode, PowderData, TextSource, CHUNK};
use crate::{brml, bruker, chi, fullprof, gsas, pdcif, rigaku, xrdml};
use std::borrow::Cow;
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
    TextSource::open(path, usize::MAX - 1)?.read_all(path)
}

/// Reads a whole file as text ([`read_bytes`] then [`decode_cow`]); a UTF-8 file is not
/// copied.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    Ok(match String::from_utf8(read_bytes(path)?) {
        Ok(s) => s,
        Err(e) => latin1(e.as_bytes()),
    })
}

/// Every byte as the Latin-1 character of that code.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Decodes text: UTF-8 where valid (borrowed, not copied), otherwise each byte as Latin-1
/// (old instrument files are often Latin-1, e.g. `°` as 0xB0), so that no byte is lost and
/// line numbers stay right.
pub(crate) fn decode_cow(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(latin1(bytes)),
    }
}

/// [`decode_cow`] as an owned `String` (a copy of UTF-8 text: prefer [`decode_cow`] or
/// [`read_text`]).
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    decode_cow(bytes).into_owned()
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

/// Which format `bytes` (already decompressed) hold, judged by content alone. With
/// `head_only`, `bytes` are the first lines of a larger file and `Some(FullProf)` /
/// `Some(PdCif)` mean "may be": a FullProf header candidate among the first non-comment
/// lines (whose verdict needs the whole file), or a `data_` line (after which the pdCIF
/// sniffer reads on past its 64 KiB).
fn detect_by_content(bytes: &[u8], text: &str, head_only: bool) -> Option<PowderFormat> {
    if bruker::is_bruker_raw(bytes) {
        return Some(PowderFormat::BrukerRaw);
    }
    if xrdml::looks_like_xrdml(text) {
        return Some(PowderFormat::Xrdml);
    }
    if rigaku::looks_like_ras(text) {
        return Some(PowderFormat::RigakuRas);
    }
    if pdcif::looks_like_pdcif(text) || (head_only && has_data_block_line(text)) {
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
    let fullprof = if head_only {
        fullprof::has_header_candidate(text)
    } else {
        fullprof::looks_like_fullprof(text)
    };
    fullprof.then_some(PowderFormat::FullProf)
}

/// Whether a line of `text` starts (after blanks) with `data_` in any case (a CIF data block).
fn has_data_block_line(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start().as_bytes();
        l.get(..5).is_some_and(|h| h.eq_ignore_ascii_case(b"data_"))
    })
}

/// Whether the first lines `text` of a larger file are enough for the content sniffers of
/// [`detect_by_content`]: they look at most at the first 1000 lines (GSAS), the first 20
/// non-blank lines (RAS), the first non-blank line not starting with `;` (UXD), the first
/// 4096 characters after leading blanks (XRDML) or 64 KiB (pdCIF, unless a `data_` line is
/// seen, which `head_only` reports).
fn head_is_enough(text: &str) -> bool {
    let (mut lines, mut non_blank, mut uxd_first) = (0, 0, false);
    for l in text.lines() {
        lines += 1;
        let t = l.trim();
        if !t.is_empty() {
            non_blank += 1;
            uxd_first |= !t.starts_with(';');
        }
        if lines >= 1000 && non_blank >= 20 && uxd_first {
            return text.len() > 64 * 1024;
        }
    }
    false
}

/// Steps 2–4 of [`read_powder`] on decompressed content that is not a zip archive: the
/// format by content then by extension (`None`: 2/3-column text), or an error for XML that
/// is not XRDML, an instrument parameter file or unknown binary content.
fn choose_format(
    bytes: &[u8],
    text: &str,
    ext: &str,
    path: &Path,
    head_only: bool,
) -> Result<Option<PowderFormat>> {
    let unknown =
        |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };
    if let Some(f) = detect_by_content(bytes, text, head_only) {
        return Ok(Some(f));
    }
    let head = text.trim_start_matches('\u{feff}').trim_start();
    if head.starts_with('<') {
        if ext == "xrdml" {
            Ok(Some(PowderFormat::Xrdml)) // the XRDML reader names what is wrong
        } else {
            Err(unknown(
                1,
                "XML that is not a PANalytical XRDML scan (no <xrdMeasurements> root)".to_string(),
            ))
        }
    } else if ext == "prm" || ext == "instprm" || ext == "irf" {
        Err(unknown(
            1,
            "this is an instrument parameter file, not a powder scan \
             (read it with bragg_io::gsas::read_gsas_prm or bragg_io::instprm::read_instprm)"
                .to_string(),
        ))
    } else if bytes.iter().take(4096).any(|&b| b == 0) {
        Err(Error::ParseBinary {
            path: path.to_path_buf(),
            offset: 0,
            message: "unrecognised binary powder format (not Bruker RAW v1–v4, .brml or .rasx)"
                .to_string(),
        })
    } else {
        Ok(match ext {
            "gsa" | "gsas" | "gss" | "gda" | "fxye" | "xra" | "cwn" => Some(PowderFormat::Gsas),
            "raw" => Some(PowderFormat::BrukerRaw),
            "uxd" => Some(PowderFormat::BrukerUxd),
            "xrdml" => Some(PowderFormat::Xrdml),
            "ras" => Some(PowderFormat::RigakuRas),
            "chi" => Some(PowderFormat::Chi),
            "cif" | "pdcif" => Some(PowderFormat::PdCif),
            _ => None,
        })
    }
}

/// The result of reading a file as 2/3-column text: its error as is for the text
/// extensions, otherwise an "unrecognised format" error that quotes it.
fn xye_scan(data: Result<PowderData>, ext: &str, path: &Path) -> Result<PowderScan> {
    match data {
        Ok(data) => Ok(PowderScan { data, meta: PowderMetadata::new(PowderFormat::Xye) }),
        Err(e) => {
            if matches!(ext, "xy" | "xye" | "csv" | "txt" | "dat" | "asc") {
                Err(e)
            } else {
                Err(Error::Data {
                    path: path.to_path_buf(),
                    line: 1,
                    message: format!(
                        "unrecognised powder format: not Bruker RAW/UXD/BRML, XRDML, Rigaku \
                         RAS/RASX, pdCIF, .chi, GSAS or FullProf, and not 2/3-column text ({e})"
                    ),
                })
            }
        }
    }
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
///
/// Large files: the first 1 MiB ([`crate::xye::CHUNK`], cut after its last line break) is
/// read first. A file that fits in it is read as above. For a larger file the content
/// sniffers of step 2 run on those first lines (they look at most at the first 1000 lines
/// or 64 KiB); when they, the extension and step 4 say 2/3-column text, and the head holds
/// at least 1000 lines, no FullProf `start step stop` candidate among its first non-comment
/// lines and no CIF `data_` line, the rest is streamed in 1 MiB chunks through the
/// 2/3-column parser (no copy of the whole file in memory; from 4 MiB on, with more than one
/// core, parsed by worker threads while this one reads ahead, see [`crate::read_xye`]);
/// otherwise the whole file is read
/// and dispatched as above. Either way the result is that of [`parse_powder`] on the whole
/// content, except that a streamed file that is not UTF-8 is decoded line by line (a line
/// that is valid UTF-8 stays UTF-8, any other line is Latin-1), which only changes the text
/// quoted in messages.
pub fn read_powder(path: &Path) -> Result<PowderScan> {
    read_powder_with_wavelength(path, None)
}

/// [`read_powder`] with a wavelength (Å) for formats whose axis needs one (Fit2D/pyFAI
/// patterns on a Q scale, converted by 2θ = 2 asin(Qλ/4π)); other formats ignore it.
pub fn read_powder_with_wavelength(
    path: &Path,
    wavelength_angstrom: Option<f64>,
) -> Result<PowderScan> {
    let src = TextSource::open(path, CHUNK)?;
    if src.complete {
        return parse_powder_with_wavelength(&src.head, path, wavelength_angstrom);
    }
    // A file larger than the head: if its first lines say 2/3-column text, stream the rest.
    let whole = memchr::memrchr(b'\n', &src.head).map_or(0, |i| i + 1);
    let head = src.head.get(..whole).unwrap_or_default();
    let ext = extension(path);
    let text = decode_cow(head);
    let stream = !is_gzip(head)
        && !brml::is_zip(head)
        && !matches!(ext.as_str(), "brml" | "rasx")
        && head_is_enough(&text)
        && matches!(choose_format(head, &text, &ext, path, true), Ok(None));
    if stream {
        return xye_scan(stream_xye(src, path, Decode::Latin1, CHUNK), &ext, path);
    }
    parse_powder_with_wavelength(&src.read_all(path)?, path, wavelength_angstrom)
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
    let text = decode_cow(bytes);
    match choose_format(bytes, &text, &ext, path, false)? {
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
        Some(PowderFormat::Xye) | None => xye_scan(parse_xye(&text, path), &ext, path),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code
    use super::*;

    /// A FullProf file larger than the head is not streamed as 2/3-column text: its header
    /// candidate sends it to the whole-file sniffers, which read it as FullProf.
    #[test]
    fn large_fullprof_file_is_not_streamed_as_xye() {
        let n = 300_000;
        let mut t = format!("big scan\n 10.0 0.001 {:.3}\n", 10.0 + 0.001 * (n - 1) as f64);
        for i in 0..n {
            t.push_str(&format!("{:6}", 100 + i % 50));
            if i % 10 == 9 {
                t.push('\n');
            }
        }
        assert!(t.len() > CHUNK + CHUNK / 2);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.dat");
        std::fs::write(&path, &t).unwrap();
        let scan = read_powder(&path).unwrap();
        assert_eq!(scan.meta.format, PowderFormat::FullProf);
        assert_eq!(scan.data.len(), n);
        assert_eq!(scan, parse_powder(t.as_bytes(), &path).unwrap());
    }
}
