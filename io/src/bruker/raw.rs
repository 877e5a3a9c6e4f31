//! Bruker/Siemens DIFFRAC binary `.raw` scans, versions 1 (`RAW `), 2 (`RAW2`) and
//! 3 (`RAW1.01`); version 4 (`RAW4.00`, DIFFRAC.SUITE) is read by the `raw4` module and
//! dispatched from here. Little-endian; every field read is bounds-checked and a truncated or
//! malformed file gives [`Error::ParseBinary`] naming the byte offset.
//!
//! Layouts (byte offsets; from the DIFFRAC^plus XCH V.5.0 user's manual, appendix A, as
//! summarised in the xylib documentation of its Bruker RAW reader, M. Wojdyr, LGPL):
//!
//! * **v1** (`RAW `, DIFFRAC-AT): per range, from the 4-byte magic (later ranges may omit
//!   it): u32 steps @+0, f32 time per step @+4, f32 step @+8, u32 scan mode @+12,
//!   f32 start 2θ @+20, f32 θ, χ, φ starts @+24/+28/+32 (−1e6 = unknown), 32-byte sample
//!   name @+36, f32 Kα1 @+68, f32 Kα2 @+72, u32 "another range follows" @+148, then `steps`
//!   f32 counts @+152 (offsets after the magic).
//! * **v2** (`RAW2`): u16 range count @4, 20-byte date/time @168, 2-byte anode @188,
//!   f32 λ1, λ2, I(λ2)/I(λ1) @190/194/198; ranges from @256, each: u16 header length @+0,
//!   u16 steps @+2, f32 time per step @+8, f32 step @+12, f32 start 2θ @+16, u16 temperature
//!   (K) @+46, counts (f32) from @+header length.
//! * **v3** (`RAW1.01`): u32 range count @12, date @16 (10 bytes), time @26 (10), sample ID
//!   @326 (60), comment @386 (160), anode @608 (4), f64 Kα1, Kα2 @624/632, f64 Kα2/Kα1
//!   ratio @648; ranges from @712, each: u32 header length @+0, u32 steps @+4, f64 start
//!   2θ @+16, f64 step @+176, f32 time per step @+192, u32 supplementary-header length @+256,
//!   counts (f32) after header + supplementary headers.
//!
//! Header `f32` values are widened through their shortest decimal representation, so a
//! stored 0.03f32 becomes 0.03 (what the instrument software was given), not 0.0299999993.

use crate::error::{Error, Result};
use crate::powder::{read_bytes, PowderFormat, PowderMetadata, PowderScan, Wavelength};
use crate::xye::PowderData;
use std::path::Path;

/// Bounds-checked little-endian reads that name the byte offset on failure.
struct Bytes<'a> {
    b: &'a [u8],
    path: &'a Path,
}

impl Bytes<'_> {
    fn err(&self, offset: usize, message: String) -> Error {
        Error::ParseBinary { path: self.path.to_path_buf(), offset: offset as u64, message }
    }

    fn slice(&self, offset: usize, len: usize, what: &str) -> Result<&[u8]> {
        offset.checked_add(len).and_then(|end| self.b.get(offset..end)).ok_or_else(|| {
            self.err(
                offset,
                format!(
                    "file truncated: {what} needs {len} bytes at byte {offset}, the file has {}",
                    self.b.len()
                ),
            )
        })
    }

    fn array<const N: usize>(&self, offset: usize, what: &str) -> Result<[u8; N]> {
        let s = self.slice(offset, N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u16(&self, offset: usize, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(offset, what)?))
    }

    fn u32(&self, offset: usize, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(offset, what)?))
    }

    fn f32(&self, offset: usize, what: &str) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array(offset, what)?))
    }

    fn f64(&self, offset: usize, what: &str) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array(offset, what)?))
    }

    /// A header `f32` widened through its shortest decimal form.
    fn f32_decimal(&self, offset: usize, what: &str) -> Result<f64> {
        let x = self.f32(offset, what)?;
        Ok(x.to_string().parse::<f64>().unwrap_or(f64::from(x)))
    }

    /// A fixed-length text field, NULs and trailing blanks removed.
    fn text(&self, offset: usize, len: usize, what: &str) -> Result<String> {
        let s = self.slice(offset, len, what)?;
        let s: String = s.iter().take_while(|&&c| c != 0).map(|&c| char::from(c)).collect();
        Ok(s.trim().to_string())
    }

    /// `steps` f32 counts from `offset`; σ = √count.
    fn counts(
        &self,
        offset: usize,
        steps: usize,
        start: f64,
        step: f64,
        step_offset: usize,
    ) -> Result<PowderData> {
        let len = steps
            .checked_mul(4)
            .ok_or_else(|| self.err(offset, "step count overflows".to_string()))?;
        let data = self.slice(offset, len, &format!("the {steps} counts of the range"))?;
        if !(step.is_finite() && step > 0.0) {
            return Err(self.err(step_offset, format!("step size {step}° must be positive")));
        }
        if !start.is_finite() {
            return Err(self.err(step_offset, format!("start 2θ {start} is not finite")));
        }
        let tth = crate::powder::two_theta_grid(start, step, steps)
            .map_err(|message| self.err(step_offset, message))?;
        let mut y = Vec::with_capacity(steps);
        let mut esd = Vec::with_capacity(steps);
        for (i, c) in data.chunks_exact(4).enumerate() {
            let v = f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            if !v.is_finite() || v < 0.0 {
                return Err(self.err(
                    offset + 4 * i,
                    format!("count {v} of point {} must be finite and non-negative", i + 1),
                ));
            }
            y.push(v);
            esd.push(v.sqrt());
        }
        Ok(PowderData {
            two_theta_deg: tth,
            intensity: y,
            esd: Some(esd),
            source: self.path.to_path_buf(),
        })
    }
}

/// Whether `bytes` start with a Bruker RAW v1, v2, v3 or v4 magic number.
pub(crate) fn is_bruker_raw(bytes: &[u8]) -> bool {
    bytes.starts_with(b"RAW ")
        || bytes.starts_with(b"RAW2")
        || bytes.starts_with(b"RAW1.01")
        || bytes.starts_with(b"RAW4.00")
}

/// Reads the first range of a Bruker RAW file (a note says when there are more).
pub fn read_bruker_raw(path: &Path) -> Result<PowderScan> {
    parse_bruker_raw(&read_bytes(path)?, path)
}

/// Reads every range of a Bruker RAW file, in file order.
pub fn read_bruker_raw_ranges(path: &Path) -> Result<Vec<PowderScan>> {
    parse_bruker_raw_ranges(&read_bytes(path)?, path)
}

/// [`read_bruker_raw`] on bytes in memory; `path` names the file in messages.
pub fn parse_bruker_raw(bytes: &[u8], path: &Path) -> Result<PowderScan> {
    let mut ranges = parse_bruker_raw_ranges(bytes, path)?;
    let n = ranges.len();
    let mut first = ranges.swap_remove(0);
    if n > 1 {
        first.meta.notes.push(format!(
            "the file has {n} ranges; this is the first (use read_bruker_raw_ranges for all)"
        ));
    }
    Ok(first)
}

/// [`read_bruker_raw_ranges`] on bytes in memory. Errors: [`Error::ParseBinary`] with the
/// byte offset for a wrong magic number, truncation, a zero step count, a non-positive step
/// or a NaN/negative count.
pub fn parse_bruker_raw_ranges(bytes: &[u8], path: &Path) -> Result<Vec<PowderScan>> {
    let b = Bytes { b: bytes, path };
    if bytes.starts_with(b"RAW4.00") {
        super::raw4::parse_raw4(bytes, path)
    } else if bytes.starts_with(b"RAW1.01") {
        v3(&b)
    } else if bytes.starts_with(b"RAW2") {
        v2(&b)
    } else if bytes.starts_with(b"RAW ") {
        v1(&b)
    } else {
        let head: String = bytes.iter().take(7).map(|&c| char::from(c)).collect();
        Err(b.err(
            0,
            format!(
                "not a Bruker RAW file: magic {head:?}, expected \"RAW \" (v1), \"RAW2\", \
                 \"RAW1.01\" or \"RAW4.00\""
            ),
        ))
    }
}

/// Converts a count read from a header to `usize`, refusing zero.
fn nonzero(b: &Bytes, offset: usize, n: u32, what: &str) -> Result<usize> {
    if n == 0 {
        return Err(b.err(offset, format!("{what} is 0")));
    }
    Ok(n as usize)
}

fn v1(b: &Bytes) -> Result<Vec<PowderScan>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    loop {
        if b.b.get(pos..pos + 4) == Some(b"RAW ") {
            pos += 4;
        }
        let steps = nonzero(b, pos, b.u32(pos, "the range step count")?, "the range step count")?;
        let time = b.f32_decimal(pos + 4, "the time per step")?;
        let step = b.f32_decimal(pos + 8, "the step size")?;
        let start = b.f32_decimal(pos + 20, "the start 2θ")?;
        let sample = b.text(pos + 36, 32, "the sample name")?;
        let ka1 = b.f32_decimal(pos + 68, "Kα1")?;
        let ka2 = b.f32_decimal(pos + 72, "Kα2")?;
        let more = b.u32(pos + 148, "the next-range flag")?;
        let data = b.counts(pos + 152, steps, start, step, pos + 8)?;
        let mut meta = PowderMetadata::new(PowderFormat::BrukerRaw);
        meta.fields.push(("format".to_string(), "RAW v1".to_string()));
        meta.fields.push(("time per step (s)".to_string(), time.to_string()));
        if !sample.is_empty() {
            meta.comment = Some(sample);
        }
        for w in [ka1, ka2] {
            if w.is_finite() && w > 0.0 {
                meta.wavelengths.push(Wavelength { angstrom: w, relative_intensity: None });
            }
        }
        if let Some(first) = meta.wavelengths.first_mut() {
            first.relative_intensity = Some(1.0);
        }
        out.push(PowderScan { data, meta });
        pos += 152 + 4 * steps;
        if more == 0 || pos >= b.b.len() {
            break;
        }
    }
    Ok(out)
}

fn v2(b: &Bytes) -> Result<Vec<PowderScan>> {
    let nranges = b.u16(4, "the range count")?;
    nonzero(b, 4, u32::from(nranges), "the range count")?;
    let date = b.text(168, 20, "the date")?;
    let anode = b.text(188, 2, "the anode")?;
    let l1 = b.f32_decimal(190, "λ1")?;
    let l2 = b.f32_decimal(194, "λ2")?;
    let ratio = b.f32_decimal(198, "the λ2/λ1 intensity ratio")?;
    let mut pos = 256usize;
    let mut out = Vec::new();
    for r in 0..nranges {
        let hl = usize::from(b.u16(pos, "the range header length")?);
        if hl <= 48 {
            return Err(b.err(pos, format!("range {} header length {hl} must exceed 48", r + 1)));
        }
        let steps =
            nonzero(b, pos + 2, u32::from(b.u16(pos + 2, "the step count")?), "the step count")?;
        let time = b.f32_decimal(pos + 8, "the time per step")?;
        let step = b.f32_decimal(pos + 12, "the step size")?;
        let start = b.f32_decimal(pos + 16, "the start 2θ")?;
        let temp = b.u16(pos + 46, "the temperature")?;
        let data = b.counts(pos + hl, steps, start, step, pos + 12)?;
        let mut meta = PowderMetadata::new(PowderFormat::BrukerRaw);
        meta.fields.push(("format".to_string(), "RAW v2".to_string()));
        meta.fields.push(("anode".to_string(), anode.clone()));
        meta.fields.push(("time per step (s)".to_string(), time.to_string()));
        if !date.is_empty() {
            meta.timestamp = Some(date.clone());
        }
        if temp > 0 {
            meta.temperature_k = Some(f64::from(temp));
        }
        if l1 > 0.0 {
            meta.wavelengths.push(Wavelength { angstrom: l1, relative_intensity: Some(1.0) });
            if l2 > 0.0 {
                meta.wavelengths.push(Wavelength { angstrom: l2, relative_intensity: Some(ratio) });
            }
        }
        out.push(PowderScan { data, meta });
        pos += hl + 4 * steps;
    }
    Ok(out)
}

fn v3(b: &Bytes) -> Result<Vec<PowderScan>> {
    let nranges = nonzero(b, 12, b.u32(12, "the range count")?, "the range count")?;
    let date = b.text(16, 10, "the date")?;
    let time = b.text(26, 10, "the time")?;
    let sample = b.text(326, 60, "the sample ID")?;
    let comment = b.text(386, 160, "the comment")?;
    let anode = b.text(608, 4, "the anode")?;
    let ka1 = b.f64(624, "Kα1")?;
    let ka2 = b.f64(632, "Kα2")?;
    let ratio = b.f64(648, "the Kα2/Kα1 ratio")?;
    let mut pos = 712usize;
    let mut out = Vec::new();
    for r in 0..nranges {
        let hl = b.u32(pos, "the range header length")? as usize;
        if hl < 264 {
            return Err(b.err(pos, format!("range {} header length {hl} is below 264", r + 1)));
        }
        let steps = nonzero(b, pos + 4, b.u32(pos + 4, "the step count")?, "the step count")?;
        let start = b.f64(pos + 16, "the start 2θ")?;
        let step = b.f64(pos + 176, "the step size")?;
        let tps = b.f32_decimal(pos + 192, "the time per step")?;
        let supp = b.u32(pos + 256, "the supplementary header length")? as usize;
        let data_at = pos
            .checked_add(hl)
            .and_then(|p| p.checked_add(supp))
            .ok_or_else(|| b.err(pos + 256, "header lengths overflow".to_string()))?;
        let data = b.counts(data_at, steps, start, step, pos + 176)?;
        let mut meta = PowderMetadata::new(PowderFormat::BrukerRaw);
        meta.fields.push(("format".to_string(), "RAW v3 (RAW1.01)".to_string()));
        meta.fields.push(("anode".to_string(), anode.clone()));
        meta.fields.push(("time per step (s)".to_string(), tps.to_string()));
        let stamp = format!("{date} {time}").trim().to_string();
        if !stamp.is_empty() {
            meta.timestamp = Some(stamp);
        }
        let c: Vec<&str> =
            [sample.as_str(), comment.as_str()].into_iter().filter(|s| !s.is_empty()).collect();
        if !c.is_empty() {
            meta.comment = Some(c.join(" | "));
        }
        if ka1.is_finite() && ka1 > 0.0 {
            meta.wavelengths.push(Wavelength { angstrom: ka1, relative_intensity: Some(1.0) });
            if ka2.is_finite() && ka2 > 0.0 {
                let r = (ratio.is_finite() && ratio >= 0.0).then_some(ratio);
                meta.wavelengths.push(Wavelength { angstrom: ka2, relative_intensity: r });
            }
        }
        out.push(PowderScan { data, meta });
        pos = data_at + 4 * steps;
    }
    Ok(out)
}
