//! Reflection lists: every symmetry-independent hkl family of a phase down to d_min, with its
//! powder multiplicity, systematic absences removed.
//!
//! Search bound: for a reciprocal vector g = h a* + k b* + l c*, h = g·a, so |h| ≤ |a|/d_min
//! (and likewise for k, l): the box |h| ≤ ⌊a/d_min⌋, |k| ≤ ⌊b/d_min⌋, |l| ≤ ⌊c/d_min⌋ holds
//! every reflection with d ≥ d_min (Giacovazzo, *Fundamentals of Crystallography*, §2.3).

use crate::cell::Cell;
use crate::error::{Error, Result};
use crate::symmetry::SpaceGroup;
use serde::{Deserialize, Serialize};

/// One family of symmetry-equivalent reflections as seen in a powder pattern.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reflection {
    /// Miller indices of the family's representative.
    pub hkl: [i32; 3],
    /// Number of distinct reflections in the family (Friedel mates included).
    pub multiplicity: u32,
    /// Interplanar spacing in Å.
    pub d: f64,
}

impl Reflection {
    /// s = sinθ/λ = 1/(2d) in Å⁻¹, the argument of form factors and Debye–Waller factors.
    pub fn s(&self) -> f64 {
        0.5 / self.d
    }
}

/// All reflection families with d ≥ `d_min` (Å), systematic absences removed, sorted by
/// decreasing d (then by hkl for a deterministic order).
pub fn generate(cell: &Cell, group: &SpaceGroup, d_min: f64) -> Result<Vec<Reflection>> {
    if !(d_min.is_finite() && d_min > 0.0) {
        return Err(Error::InvalidValue {
            name: "d_min".into(),
            value: d_min,
            reason: "must be positive (Å)",
        });
    }
    let bound = |edge: f64| -> Result<i32> {
        let n = (edge / d_min).floor();
        if n > 400.0 {
            return Err(Error::InvalidValue {
                name: "d_min".into(),
                value: d_min,
                reason: "too small for this cell: more than 400 indices along an axis",
            });
        }
        Ok(n as i32)
    };
    let (hm, km, lm) = (bound(cell.a)?, bound(cell.b)?, bound(cell.c)?);
    let (nh, nk, nl) = ((2 * hm + 1) as usize, (2 * km + 1) as usize, (2 * lm + 1) as usize);
    let index = |h: [i32; 3]| -> Option<usize> {
        let (i, j, k) = (h[0] + hm, h[1] + km, h[2] + lm);
        if i < 0 || j < 0 || k < 0 || i > 2 * hm || j > 2 * km || k > 2 * lm {
            return None;
        }
        Some((i as usize * nk + j as usize) * nl + k as usize)
    };
    let gs = cell.reciprocal_metric();
    let inv_d2_max = 1.0 / (d_min * d_min) * (1.0 + 1e-12);
    let mut visited = vec![false; nh * nk * nl];
    let mut out = Vec::new();
    // Visit from the highest indices down so that representatives come out with positive,
    // descending indices (h ≥ k ≥ l ≥ 0 for cubic groups), as tables print them.
    for h in (-hm..=hm).rev() {
        for k in (-km..=km).rev() {
            for l in (-lm..=lm).rev() {
                let hkl = [h, k, l];
                let Some(idx) = index(hkl) else { continue };
                if visited[idx] || hkl == [0, 0, 0] {
                    continue;
                }
                let (fh, fk, fl) = (f64::from(h), f64::from(k), f64::from(l));
                let inv_d2 = gs[(0, 0)] * fh * fh
                    + gs[(1, 1)] * fk * fk
                    + gs[(2, 2)] * fl * fl
                    + 2.0 * (gs[(0, 1)] * fh * fk + gs[(0, 2)] * fh * fl + gs[(1, 2)] * fk * fl);
                if inv_d2 > inv_d2_max {
                    continue;
                }
                let equivalents = group.equivalent_reflections(hkl);
                for e in &equivalents {
                    if let Some(i) = index(*e) {
                        visited[i] = true;
                    }
                }
                if group.is_absent(hkl) {
                    continue;
                }
                out.push(Reflection {
                    hkl,
                    multiplicity: equivalents.len() as u32,
                    d: 1.0 / inv_d2.sqrt(),
                });
            }
        }
    }
    out.sort_by(|a, b| b.d.total_cmp(&a.d).then(b.hkl.cmp(&a.hkl)));
    Ok(out)
}
