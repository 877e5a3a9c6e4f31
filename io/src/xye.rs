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
/// whatever the extension) are decompressed transparently. Bytes that are not UTF-8 are
/// replaced by U+FFFD (only such lines are affected).
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
    match std::str::from_utf8(&bytes) {
        Ok(text) => parse_xye(text, path),
        Err(_) => parse_xye(&String::from_utf8_lossy(&bytes), path),
    }
}

/// Whether `c` is a field separator: ASCII whitespace as [`char::is_whitespace`] has it
/// (tab, line feed, vertical tab, form feed, carriage return, space), `,` or `;`.
#[inline]
fn is_sep(c: u8) -> bool {
    is_ascii_ws(c) || c == b',' || c == b';'
}

/// Splits a data line into fields: separators are whitespace, `,` and `;` (so a decimal comma
/// is not supported); empty fields between separators are dropped.
fn fields(line: &str) -> Vec<&str> {
    line.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|f| !f.is_empty())
        .collect()
}

/// Powers of ten that are exact in an `f64` (10^0 … 10^22).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Reads a plain decimal `[+-]digits[.digits]` (or `[+-].digits`) starting at `b[i]` in one
/// pass: its value and the index just after it, or `None` when the field is not such a
/// decimal ending at a separator (`sep`) or the end of the line, or when its digits, read as
/// an integer m, exceed 19 digits or 2^53. Otherwise m and 10^k (k ≤ 19 digits after the
/// point) are exact doubles and the one IEEE division m / 10^k is the correctly rounded
/// value, the same as `str::parse` gives (W. D. Clinger, "How to read floating point numbers
/// accurately", PLDI 1990, the "fast path"). Exponents, long mantissas, `inf` and text are
/// left to `str::parse`.
#[inline]
fn scan_decimal_with(b: &[u8], mut i: usize, sep: impl Fn(u8) -> bool) -> Option<(f64, usize)> {
    let neg = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut m: u64 = 0;
    let mut n_digits = 0usize;
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        m = m.wrapping_mul(10).wrapping_add(u64::from(d));
        n_digits += 1;
        i += 1;
    }
    let mut frac = 0usize;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&c) = b.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            m = m.wrapping_mul(10).wrapping_add(u64::from(d));
            n_digits += 1;
            frac += 1;
            i += 1;
        }
    }
    // ≤ 19 digits cannot overflow a u64, so the wrapping arithmetic above was exact.
    if n_digits == 0 || n_digits > 19 || m > (1u64 << 53) || b.get(i).is_some_and(|&c| !sep(c)) {
        return None;
    }
    let x = m as f64 / *POW10.get(frac)?;
    Some((if neg { -x } else { x }, i))
}

/// The fast path of a data line once the column count is known: `Some` with the values when
/// the line is ASCII and holds exactly `count` (≤ 3) fields that are all finite numbers, so
/// that [`Lines::line`] would read the same values; `None` for anything else (blank, comment,
/// wrong count, bad number, non-ASCII), which then goes through the general path for its
/// verdict and message.
fn fast_values(line: &str, count: usize) -> Option<[f64; 3]> {
    fast_values_with(line, count, is_sep)
}

/// The ASCII whitespace of [`char::is_whitespace`]: tab, line feed, vertical tab, form feed,
/// carriage return and space.
#[inline]
pub(crate) fn is_ascii_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// [`fast_values`] with the separators of `sep` (which must be ASCII bytes): `Some` only when
/// the line is ASCII and splits at `sep` into exactly `count` ≤ 3 fields that `str::parse`
/// reads as finite numbers, with the values it gives. Used by the GSAS FXY/FXYE reader with
/// [`is_ascii_ws`].
pub(crate) fn fast_values_with(
    line: &str,
    count: usize,
    sep: impl Fn(u8) -> bool + Copy,
) -> Option<[f64; 3]> {
    let b = line.as_bytes();
    let mut out = [0.0; 3];
    let mut k = 0;
    let mut i = 0;
    while i < b.len() {
        if sep(b[i]) {
            i += 1;
            continue;
        }
        if k == count {
            return None;
        }
        let x = if let Some((x, next)) = scan_decimal_with(b, i, sep) {
            i = next;
            x
        } else {
            // Exponents, long mantissas, text: the field up to the next separator, by
            // `str::parse` (the general path's parser).
            let start = i;
            while i < b.len() && !sep(b[i]) {
                if !b[i].is_ascii() {
                    return None;
                }
                i += 1;
            }
            let x: f64 = line.get(start..i)?.parse().ok()?;
            if !x.is_finite() {
                return None;
            }
            x
        };
        *out.get_mut(k)? = x;
        k += 1;
    }
    (k == count).then_some(out)
}

/// State of [`parse_xye`] between lines.
struct Lines<'a> {
    path: &'a Path,
    /// (column count, line of the first data line) once a data line has been seen.
    columns: Option<(usize, usize)>,
    tth: Vec<f64>,
    y: Vec<f64>,
    esd: Vec<f64>,
}

impl Lines<'_> {
    fn data_err(&self, line: usize, message: String) -> Error {
        Error::Data { path: self.path.to_path_buf(), line, message }
    }

    /// Appends one point after the checks that need the previous point.
    #[inline]
    fn push(&mut self, v: &[f64], count: usize, line_no: usize) -> Result<()> {
        if let (Some(&prev), Some(&x)) = (self.tth.last(), v.first()) {
            if x <= prev {
                return Err(self.data_err(
                    line_no,
                    format!("2θ = {x} does not increase (previous point {prev})"),
                ));
            }
        }
        let val = |k: usize| v.get(k).copied().unwrap_or(f64::NAN);
        if count == 3 && val(2) < 0.0 {
            return Err(self.data_err(line_no, format!("negative esd {}", val(2))));
        }
        self.tth.push(val(0));
        self.y.push(val(1));
        if count == 3 {
            self.esd.push(val(2));
        }
        Ok(())
    }

    /// The general path for one line (1-based `line_no`); `rest` is the number of bytes from
    /// this line to the end of the text (to size the columns at the first data line).
    fn line(&mut self, raw: &str, line_no: usize, rest: usize) -> Result<()> {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            return Ok(());
        }
        let f = fields(line);
        if self.columns.is_none() && f.first().is_none_or(|x| x.parse::<f64>().is_err()) {
            return Ok(()); // leading header line
        }
        let (count, first_line) = match self.columns {
            Some(c) => c,
            None => {
                if !(2..=3).contains(&f.len()) {
                    return Err(self.data_err(
                        line_no,
                        format!("first data line has {} columns; expected 2 (2θ, intensity) or 3 (2θ, intensity, esd)", f.len()),
                    ));
                }
                // Room for the rest of the file at this line's length (grows if needed).
                let n = rest / (raw.len() + 1).max(8) + 16;
                self.tth.reserve(n);
                self.y.reserve(n);
                if f.len() == 3 {
                    self.esd.reserve(n);
                }
                self.columns = Some((f.len(), line_no));
                (f.len(), line_no)
            }
        };
        let mut v = Vec::with_capacity(f.len());
        for (k, text) in f.iter().enumerate() {
            let x: f64 = text.parse().map_err(|_| Error::Parse {
                path: self.path.to_path_buf(),
                line: line_no,
                message: format!("column {} '{text}' is not a number", k + 1),
            })?;
            if !x.is_finite() {
                return Err(self.data_err(
                    line_no,
                    format!("column {} is {text}; values must be finite", k + 1),
                ));
            }
            v.push(x);
        }
        if f.len() != count {
            return Err(self.data_err(
                line_no,
                format!(
                    "{} columns, but the first data line (line {first_line}) has {count}",
                    f.len()
                ),
            ));
        }
        self.push(&v, count, line_no)
    }
}

/// Parses the text of a powder file; `path` names it in messages and in [`PowderData::source`].
///
/// Lines starting with `#` or `!` and blank lines are skipped, and so are lines before the first
/// data line whose first field is not a number (a title or a column header). Every data line
/// must then have as many numeric fields as the first one, which must have 2 (2θ, I) or 3
/// (2θ, I, esd). Errors name the line: [`Error::Parse`] for text that is not a number,
/// [`Error::Data`] for a wrong column count, NaN or infinite values, 2θ not strictly
/// increasing, a negative esd, or no data at all.
///
/// Speed: lines are found with `memchr` and ordinary data lines are split on bytes without
/// allocating; every other line takes the general path, so messages are the same either way.
pub fn parse_xye(text: &str, path: &Path) -> Result<PowderData> {
    let mut st = Lines { path, columns: None, tth: Vec::new(), y: Vec::new(), esd: Vec::new() };
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut line_no = 0;
    // The same lines as `str::lines` (split at '\n'; no empty last line after a final '\n';
    // a '\r' before the '\n' is whitespace and trimmed).
    while pos < bytes.len() {
        let end = memchr::memchr(b'\n', bytes.get(pos..).unwrap_or_default())
            .map_or(bytes.len(), |i| pos + i);
        // INVARIANT: `pos` and `end` are 0, the length, or next to an ASCII '\n', so they are
        // char boundaries; `get` keeps this non-panicking anyway.
        let raw = text.get(pos..end).unwrap_or_default();
        line_no += 1;
        let rest = bytes.len() - pos;
        pos = end + 1;
        if let Some((count, _)) = st.columns {
            if let Some(v) = fast_values(raw, count) {
                st.push(&v[..count], count, line_no)?;
                continue;
            }
        }
        st.line(raw, line_no, rest)?;
    }
    let Some((count, _)) = st.columns else {
        return Err(st.data_err(
            line_no.max(1),
            "no data points (the file is empty or holds only comments and headers)".to_string(),
        ));
    };
    Ok(PowderData {
        two_theta_deg: st.tth,
        intensity: st.y,
        esd: (count == 3).then_some(st.esd),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code
    use super::*;

    /// Reference for the scanner: a plain decimal `[+-]digits[.digits]` (or `[+-].digits`) whose digits, read as an integer
    /// m, satisfy m ≤ 2^53 with at most 22 of them after the point: then m and 10^k are exact
    /// doubles and the one IEEE division m / 10^k is the correctly rounded value, the same as
    /// `str::parse` gives (W. D. Clinger, "How to read floating point numbers accurately",
    /// PLDI 1990, the "fast path"). `None` for anything else (exponents, long mantissas, `inf`,
    /// text), which is left to `str::parse`.
    fn simple_decimal(t: &[u8]) -> Option<f64> {
        let (neg, digits) = match t.first() {
            Some(b'-') => (true, t.get(1..)?),
            Some(b'+') => (false, t.get(1..)?),
            _ => (false, t),
        };
        let mut m: u64 = 0;
        let mut n_digits = 0usize;
        let mut frac: Option<usize> = None;
        for &c in digits {
            match c {
                b'0'..=b'9' => {
                    if n_digits >= 19 {
                        return None;
                    }
                    m = m * 10 + u64::from(c - b'0');
                    n_digits += 1;
                    if let Some(f) = frac.as_mut() {
                        *f += 1;
                    }
                }
                b'.' if frac.is_none() => frac = Some(0),
                _ => return None,
            }
        }
        if n_digits == 0 || m > (1u64 << 53) {
            return None;
        }
        let x = m as f64 / *POW10.get(frac.unwrap_or(0))?;
        Some(if neg { -x } else { x })
    }

    /// The fast decimal path gives bit for bit what `str::parse` gives, or declines.
    #[test]
    fn simple_decimal_agrees_with_std_parse() {
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "+0",
            "0.0",
            "-0.000",
            "1",
            "1.",
            ".5",
            "-.5",
            "+.25",
            "12.345678",
            "1288.000000",
            "35.888717",
            "0.1",
            "0.2",
            "0.3",
            "9007199254740992",
            "9007199254740993",
            "900719925474099.3",
            "0.0000000000000000000001",
            "0.00000000000000000000001",
            "1234567890123456789",
            "12345678901234567890",
            ".",
            "-",
            "+",
            "",
            "1.2.3",
            "1e5",
            "1E-3",
            "inf",
            "NaN",
            "1,5",
            "--1",
            "+-1",
            "0x10",
            "1_000",
            " 1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Deterministic pseudo-random decimals of every length and point position.
        let mut h: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..200_000 {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            let digits = 1 + (h % 19) as usize;
            let point = ((h >> 8) % (digits as u64 + 1)) as usize;
            let mut s = String::new();
            if (h >> 16) & 1 == 1 {
                s.push('-');
            }
            let mut d = h >> 20;
            for j in 0..digits {
                if j == point {
                    s.push('.');
                }
                s.push(char::from(b'0' + (d % 10) as u8));
                d = (d / 10) ^ (h >> (j % 40));
            }
            cases.push(s);
        }
        let mut fast = 0;
        for s in &cases {
            let std = s.parse::<f64>().ok();
            // The one-pass scanner reads the same value, up to the end or a separator.
            if let Some((x, end)) = scan_decimal_with(s.as_bytes(), 0, is_sep) {
                assert!(end == s.len() || is_sep(s.as_bytes()[end]), "{s}");
                let head = simple_decimal(&s.as_bytes()[..end]).map(f64::to_bits);
                assert_eq!(Some(x.to_bits()), head, "{s}");
            }
            if let Some(x) = simple_decimal(s.as_bytes()) {
                assert_eq!(scan_decimal_with(s.as_bytes(), 0, is_sep), Some((x, s.len())), "{s}");
            }
            // `None` is left to str::parse.
            if let Some(x) = simple_decimal(s.as_bytes()) {
                fast += 1;
                assert_eq!(Some(x.to_bits()), std.map(f64::to_bits), "{s}");
            }
        }
        // The fast path must actually be taken for ordinary numbers.
        assert!(fast > 100_000, "{fast}");
        assert_eq!(simple_decimal(b"12.345678"), Some(12.345678));
        assert_eq!(simple_decimal(b"1e5"), None);
    }

    /// Lines the fast path declines are decided by the general path with the same result.
    #[test]
    fn fast_and_general_paths_agree() {
        let text = "# c\n10 1 1\n10.5\t2,0.5\n11;3;1\n\n! x\n11.5 4 2\r\n12 5e0 1\n";
        let d = parse_xye(text, Path::new("a.xye")).unwrap();
        assert_eq!(d.two_theta_deg, [10.0, 10.5, 11.0, 11.5, 12.0]);
        assert_eq!(d.intensity, [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(d.esd.unwrap(), [1.0, 0.5, 1.0, 2.0, 1.0]);
        assert_eq!(fast_values("10 1 1", 3), Some([10.0, 1.0, 1.0]));
        assert_eq!(fast_values("10 1", 3), None);
        assert_eq!(fast_values("10 1 1 1", 3), None);
        assert_eq!(fast_values("10 inf 1", 3), None);
        assert_eq!(fast_values("10\u{a0}1 1", 3), None);
        // A non-breaking space separates fields in the general path.
        let d = parse_xye("10 1\n11\u{a0}2\n", Path::new("a.xye")).unwrap();
        assert_eq!(d.intensity, [1.0, 2.0]);
    }
}
