//! The list of reflections of a calculation as CSV.

use crate::atomic::write_atomic;
use crate::error::Result;
use std::io::Write;
use std::path::Path;

/// One reflection of one phase, as written to the reflections table.
#[derive(Debug, Clone, PartialEq)]
pub struct ReflectionRow {
    /// Phase name.
    pub phase: String,
    /// Miller index h.
    pub h: i32,
    /// Miller index k.
    pub k: i32,
    /// Miller index l.
    pub l: i32,
    /// d-spacing in Å.
    pub d: f64,
    /// Bragg angle 2θ in degrees.
    pub two_theta_deg: f64,
    /// Powder multiplicity.
    pub multiplicity: u32,
    /// |F|² (electrons² for X-rays, fm² for neutrons).
    pub f2: f64,
}

/// The CSV header line.
pub const REFLECTIONS_HEADER: &str = "phase,h,k,l,d,two_theta,multiplicity,F2";

/// Quotes a CSV field when it contains a separator, quote or line break (RFC 4180 §2).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Writes reflections as CSV (RFC 4180) with the header [`REFLECTIONS_HEADER`]; d in Å,
/// two_theta in degrees; numbers with all the digits that round-trip. Atomic.
pub fn write_reflections_csv(path: &Path, rows: &[ReflectionRow]) -> Result<()> {
    write_atomic(path, |w: &mut dyn Write| {
        writeln!(w, "{REFLECTIONS_HEADER}")?;
        for r in rows {
            writeln!(
                w,
                "{},{},{},{},{},{},{},{}",
                csv_field(&r.phase),
                r.h,
                r.k,
                r.l,
                r.d,
                r.two_theta_deg,
                r.multiplicity,
                r.f2
            )?;
        }
        Ok(())
    })
}
