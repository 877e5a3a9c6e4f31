//! Bruker DIFFRAC.SUITE binary `.raw` version 4 (`RAW4.00`). Little-endian; every read is
//! bounds-checked and errors name the byte offset.
//!
//! Layout (byte offsets; as read by GSAS-II's `G2pwd_BrukerRAW`, "ver. 4"):
//!
//! * file header: magic `RAW4.00` @0, measurement date (12 bytes) @12, time (10) @24;
//! * from @61 a sequence of segments, each `u32 type, u32 length (≥ 8)`, then its body:
//!   type 10 = a text field (name 24 bytes @+12, value @+36 … end of segment); type 30 =
//!   the X-ray source (f64 Kα mean, Kα1, Kα2, Kβ, Kα2/Kα1 ratio @+72/+80/+88/+96/+104, anode
//!   4 bytes @+116); other types are skipped by their length;
//! * a segment type of 0 or 160 starts a **range header** (160 bytes): scan type (24 bytes)
//!   @+32, f64 start 2θ @+72, f64 step @+80, u32 steps @+88, f32 time per step @+92, f32 kV
//!   @+100, f32 mA @+104, f64 wavelength used @+112, u32 datum size @+136, u32 length of the
//!   range's sub-header segments @+140 (which follow @+160, type 50 = a drive with its name
//!   24 bytes @+12 and f64 start @+56); then `steps` data of `datum size` bytes each, the
//!   counts as the first f32 of each; further segments and ranges may follow.
//!
//! Counts give σ = √counts. Scan types other than coupled 2θ/θ or detector scans are
//! refused (a rocking curve is not a powder pattern).

use crate::error::{Error, Result};
use crate::powder::{PowderFormat, PowderMetadata, PowderScan, Wavelength};
use crate::xye::PowderData;
use std::path::Path;

/// Bounds-checked little-endian reads naming the offset.
struct Reader<'a> {
    b: &'a [u8],
    path: &'a Path,
}

impl Reader<'_> {
    fn err(&self, offset: usize, message: String) -> Error {
        Error::ParseBinary {
            path: self.path.to_path_buf(),
            offset: offset as u64,
            message: format!("Bruker RAW version 4: {message}"),
        }
    }

    fn slice(&self, offset: usize, len: usize, what: &str) -> Result<&[u8]> {
        offset.checked_add(len).and_then(|e| self.b.get(offset..e)).ok_or_else(|| {
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
        let mut a = [0u8; N];
        a.copy_from_slice(self.slice(offset, N, what)?);
        Ok(a)
    }

    fn u32(&self, offset: usize, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(offset, what)?))
    }

    fn f32(&self, offset: usize, what: &str) -> Result<f64> {
        let x = f32::from_le_bytes(self.array(offset, what)?);
        // Widened through its shortest decimal form (0.1f32 → 0.1).
        Ok(x.to_string().parse::<f64>().unwrap_or(f64::from(x)))
    }

    fn f64(&self, offset: usize, what: &str) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array(offset, what)?))
    }

    fn text(&self, offset: usize, len: usize, what: &str) -> Result<String> {
        let s = self.slice(offset, len, what)?;
        let s: String = s.iter().take_while(|&&c| c != 0).map(|&c| char::from(c)).collect();
        Ok(s.trim().to_string())
    }
}

/// Whether a RAW v4 scan type is a 2θ scan.
fn is_two_theta_scan(kind: &str) -> bool {
    let k = kind.to_ascii_lowercase();
    k.contains("coupled")
        || k.contains("twotheta")
        || k.contains("2theta")
        || k.contains("detector")
}

/// Reads every range of a `RAW4.00` file.
pub(crate) fn parse_raw4(bytes: &[u8], path: &Path) -> Result<Vec<PowderScan>> {
    let r = Reader { b: bytes, path };
    if !bytes.starts_with(b"RAW4.00") {
        return Err(r.err(0, "magic is not \"RAW4.00\"".to_string()));
    }
    let date = r.text(12, 12, "the date")?;
    let time = r.text(24, 10, "the time")?;
    let mut file_meta = PowderMetadata::new(PowderFormat::BrukerRaw);
    file_meta.fields.push(("format".to_string(), "RAW v4 (RAW4.00)".to_string()));
    let stamp = format!("{date} {time}").trim().to_string();
    if !stamp.is_empty() {
        file_meta.timestamp = Some(stamp);
    }
    let mut out = Vec::new();
    let mut pos = 61usize;
    while pos + 4 <= bytes.len() {
        let kind = r.u32(pos, "a segment type")?;
        if kind == 0 && bytes.get(pos..).is_some_and(|rest| rest.iter().all(|&b| b == 0)) {
            break; // zero padding at the end
        }
        if kind == 0 || kind == 160 {
            let (scan, next) = range(&r, pos, &file_meta, out.len() + 1)?;
            out.push(scan);
            pos = next;
            continue;
        }
        let len = (r.u32(pos + 4, "a segment length")? as usize).max(8);
        match kind {
            10 => {
                let name = r.text(pos + 12, 24, "a field name")?;
                let value = r.text(pos + 36, len.saturating_sub(36), "a field value")?;
                if !name.is_empty() {
                    file_meta.fields.push((name, value));
                }
            }
            30 => {
                let ka1 = r.f64(pos + 80, "Kα1")?;
                let ka2 = r.f64(pos + 88, "Kα2")?;
                let kb = r.f64(pos + 96, "Kβ")?;
                let ratio = r.f64(pos + 104, "the Kα2/Kα1 ratio")?;
                let anode = r.text(pos + 116, 4, "the anode")?;
                file_meta.fields.push(("anode".to_string(), anode));
                if kb.is_finite() && kb > 0.0 {
                    file_meta.fields.push(("kBeta (Å)".to_string(), kb.to_string()));
                }
                file_meta.wavelengths.clear();
                if ka1.is_finite() && ka1 > 0.0 {
                    file_meta
                        .wavelengths
                        .push(Wavelength { angstrom: ka1, relative_intensity: Some(1.0) });
                    if ka2.is_finite() && ka2 > 0.0 {
                        let rel = (ratio.is_finite() && ratio >= 0.0).then_some(ratio);
                        file_meta
                            .wavelengths
                            .push(Wavelength { angstrom: ka2, relative_intensity: rel });
                    }
                }
            }
            _ => {}
        }
        r.slice(pos, len, "a header segment")?;
        pos += len;
    }
    if out.is_empty() {
        return Err(r.err(pos.min(bytes.len()), "no range (scan) in the file".to_string()));
    }
    Ok(out)
}

/// One range whose header starts at `p`; returns the scan and the offset after its data.
fn range(
    r: &Reader,
    p: usize,
    file_meta: &PowderMetadata,
    k: usize,
) -> Result<(PowderScan, usize)> {
    r.slice(p, 160, "the range header")?;
    let scan_type = r.text(p + 32, 24, "the scan type")?;
    if !is_two_theta_scan(&scan_type) {
        return Err(r.err(
            p + 32,
            format!(
                "range {k}: scan type '{scan_type}' is not a 2θ scan (coupled or detector scan)"
            ),
        ));
    }
    let start = r.f64(p + 72, "the start 2θ")?;
    let step = r.f64(p + 80, "the step")?;
    let steps = r.u32(p + 88, "the step count")? as usize;
    let tps = r.f32(p + 92, "the time per step")?;
    let kv = r.f32(p + 100, "the tube voltage")?;
    let ma = r.f32(p + 104, "the tube current")?;
    let used = r.f64(p + 112, "the wavelength used")?;
    let datum = r.u32(p + 136, "the datum size")? as usize;
    let sub = r.u32(p + 140, "the sub-header length")? as usize;
    if steps == 0 {
        return Err(r.err(p + 88, format!("range {k}: the step count is 0")));
    }
    if !start.is_finite() {
        return Err(r.err(p + 72, format!("range {k}: start 2θ {start} is not finite")));
    }
    if !(step.is_finite() && step > 0.0) {
        return Err(r.err(p + 80, format!("range {k}: step {step}° must be positive")));
    }
    if datum < 4 {
        return Err(r.err(p + 136, format!("range {k}: datum size {datum} is below 4 bytes")));
    }
    let data_at = p
        .checked_add(160)
        .and_then(|x| x.checked_add(sub))
        .ok_or_else(|| r.err(p + 140, "header lengths overflow".to_string()))?;
    let len = steps
        .checked_mul(datum)
        .ok_or_else(|| r.err(p + 88, "the step count overflows".to_string()))?;
    let data = r.slice(data_at, len, &format!("the {steps} data of range {k}"))?;
    let tth = crate::powder::two_theta_grid(start, step, steps)
        .map_err(|message| r.err(p + 80, format!("range {k}: {message}")))?;
    let mut y = Vec::with_capacity(steps);
    let mut esd = Vec::with_capacity(steps);
    for (i, c) in data.chunks_exact(datum).enumerate() {
        let v = f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        if !v.is_finite() || v < 0.0 {
            return Err(r.err(
                data_at + i * datum,
                format!("count {v} of point {} must be finite and non-negative", i + 1),
            ));
        }
        y.push(v);
        esd.push(v.sqrt());
    }
    let mut meta = file_meta.clone();
    meta.fields.push(("scan type".to_string(), scan_type));
    meta.fields.push(("time per step".to_string(), tps.to_string()));
    meta.fields.push(("tension (kV)".to_string(), kv.to_string()));
    meta.fields.push(("current (mA)".to_string(), ma.to_string()));
    if used.is_finite() && used > 0.0 {
        meta.fields.push(("wavelength used (Å)".to_string(), used.to_string()));
        if meta.wavelengths.is_empty() {
            meta.wavelengths.push(Wavelength { angstrom: used, relative_intensity: Some(1.0) });
        }
    }
    let scan = PowderScan {
        data: PowderData {
            two_theta_deg: tth,
            intensity: y,
            esd: Some(esd),
            source: r.path.to_path_buf(),
        },
        meta,
    };
    Ok((scan, data_at + len))
}
