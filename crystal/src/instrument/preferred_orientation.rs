//! March–Dollase preferred orientation.
//!
//! Dollase (1986) *J. Appl. Cryst.* 19, 267, eq. (3) with the March (1932) distribution:
//! for a reflection with symmetry-equivalent normals h_j (j = 1..m),
//!
//! P_hkl = (1/m) Σ_j (r² cos²α_j + sin²α_j / r)^(−3/2),
//!
//! α_j the angle between the preferred-orientation axis h_PO (a reciprocal-lattice direction)
//! and h_j, computed with the reciprocal metric tensor G* (Å⁻²):
//! cos α = h_POᵀ G* h_j / √((h_POᵀ G* h_PO)(h_jᵀ G* h_j)). r (dimensionless, > 0) is the March
//! parameter: r = 1 is a random powder (P = 1 exactly), r < 1 platelets with h_PO normal
//! stacked in a flat-plate specimen, r > 1 needles. The distribution is normalised:
//! (1/4π) ∮ P dΩ = 1.

use nalgebra::{Matrix3, Vector3};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// March–Dollase parameters: the axis h_PO (reciprocal-lattice indices) and the ratio r.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarchDollase {
    /// Preferred-orientation axis as a reciprocal-lattice direction (h, k, l), not all zero.
    pub axis_hkl: [i32; 3],
    /// March ratio r (> 0, finite), dimensionless.
    pub r: f64,
}

/// A March–Dollase factor and its derivative with respect to r.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreferredOrientation {
    /// P_hkl, dimensionless.
    pub value: f64,
    /// ∂P_hkl/∂r.
    pub d_r: f64,
}

fn to_vec(h: [i32; 3]) -> Vector3<f64> {
    Vector3::new(f64::from(h[0]), f64::from(h[1]), f64::from(h[2]))
}

/// March function of one direction and its r-derivative from cos²α:
/// f = r² c² + (1 − c²)/r, value f^(−3/2), derivative −(3/2) f^(−5/2) (2 r c² − (1 − c²)/r²).
pub fn march_term(cos2_alpha: f64, r: f64) -> (f64, f64) {
    let c2 = cos2_alpha.clamp(0.0, 1.0);
    let s2 = 1.0 - c2;
    let f = r * r * c2 + s2 / r;
    let v = f.powf(-1.5);
    (v, -1.5 * v / f * (2.0 * r * c2 - s2 / (r * r)))
}

impl MarchDollase {
    /// Check r > 0 finite and the axis non-zero.
    pub fn validate(&self) -> Result<()> {
        if !(self.r.is_finite() && self.r > 0.0) {
            return Err(Error::InvalidValue {
                name: "March–Dollase r".into(),
                value: self.r,
                reason: "must be positive and finite",
            });
        }
        if self.axis_hkl == [0, 0, 0] {
            return Err(Error::Model("March–Dollase axis (0 0 0) has no direction".into()));
        }
        Ok(())
    }

    /// P_hkl and ∂P/∂r for one reflection given all its symmetry-equivalent indices
    /// (`equivalents`, from the symmetry module; Friedel mates may be included or not, cos²α is
    /// even). `gstar` is the reciprocal metric tensor [`crate::cell::Cell::reciprocal_metric`]
    /// in Å⁻². Errors: invalid parameters, an empty slice, or a (0 0 0) equivalent.
    pub fn factor(
        &self,
        gstar: &Matrix3<f64>,
        equivalents: &[[i32; 3]],
    ) -> Result<PreferredOrientation> {
        self.validate()?;
        if equivalents.is_empty() {
            return Err(Error::Model(
                "March–Dollase needs at least one equivalent reflection".into(),
            ));
        }
        let axis = to_vec(self.axis_hkl);
        let g_axis = gstar * axis;
        let axis_norm2 = axis.dot(&g_axis);
        let mut sum = 0.0;
        let mut d_sum = 0.0;
        for &h in equivalents {
            if h == [0, 0, 0] {
                return Err(Error::Model(
                    "March–Dollase: reflection (0 0 0) has no direction".into(),
                ));
            }
            let hv = to_vec(h);
            let dot = hv.dot(&g_axis);
            let h_norm2 = hv.dot(&(gstar * hv));
            let (v, d) = march_term(dot * dot / (axis_norm2 * h_norm2), self.r);
            sum += v;
            d_sum += d;
        }
        let m = equivalents.len() as f64;
        Ok(PreferredOrientation { value: sum / m, d_r: d_sum / m })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Cell;

    #[test]
    fn random_powder_is_exactly_one() {
        let gs = Cell::new(5.1, 6.3, 7.9, 90.0, 101.0, 90.0).unwrap().reciprocal_metric();
        let md = MarchDollase { axis_hkl: [1, 0, 2], r: 1.0 };
        let eq = [[1, 2, 3], [-1, 2, -3], [1, -2, 3], [-1, -2, -3]];
        let p = md.factor(&gs, &eq).unwrap();
        assert_eq!(p.value, 1.0);
    }

    #[test]
    fn normalised_over_the_sphere() {
        // (1/4π)∮ P dΩ = 1 for any r (Dollase 1986), integrated in a cubic cell about a
        // general axis: directions on a (θ, φ) grid, cos α through G*.
        let gs = Cell::cubic(4.0).unwrap().reciprocal_metric();
        let axis = Vector3::new(1.0, 1.0, 1.0);
        let ga = gs * axis;
        let an = axis.dot(&ga);
        for r in [0.7, 1.3] {
            let (nt, np) = (2000, 48);
            let mut total = 0.0;
            for i in 0..nt {
                let t = std::f64::consts::PI * (i as f64 + 0.5) / nt as f64;
                for j in 0..np {
                    let p = 2.0 * std::f64::consts::PI * (j as f64 + 0.5) / np as f64;
                    let h = Vector3::new(t.sin() * p.cos(), t.sin() * p.sin(), t.cos());
                    let c = h.dot(&ga);
                    let (v, _) = march_term(c * c / (an * h.dot(&(gs * h))), r);
                    total += v * t.sin();
                }
            }
            let integral = total
                * (std::f64::consts::PI / nt as f64)
                * (2.0 * std::f64::consts::PI / np as f64)
                / (4.0 * std::f64::consts::PI);
            assert!((integral - 1.0).abs() < 1e-4, "r {r}: {integral}");
        }
    }

    #[test]
    fn axial_limits() {
        // A reflection parallel to the axis: P = r^-3; perpendicular: P = r^(3/2).
        let gs = Cell::new(3.0, 3.0, 8.0, 90.0, 90.0, 120.0).unwrap().reciprocal_metric();
        let md = MarchDollase { axis_hkl: [0, 0, 1], r: 0.8 };
        let par = md.factor(&gs, &[[0, 0, 2], [0, 0, -2]]).unwrap().value;
        assert!((par - 0.8f64.powi(-3)).abs() < 1e-12);
        // In a hexagonal cell (1 0 0)* ⟂ c*.
        let perp = md.factor(&gs, &[[1, 0, 0]]).unwrap().value;
        assert!((perp - 0.8f64.powf(1.5)).abs() < 1e-12, "{perp}");
    }

    #[test]
    fn derivative_matches_finite_difference() {
        let gs = Cell::new(5.1, 6.3, 7.9, 90.0, 101.0, 90.0).unwrap().reciprocal_metric();
        let eq = [[1, 2, 3], [-1, 2, -3], [1, -2, 3], [-1, -2, -3]];
        for r in [0.4, 0.95, 1.0, 1.7] {
            let md = MarchDollase { axis_hkl: [1, 0, 2], r };
            let p = md.factor(&gs, &eq).unwrap();
            let h = 1e-6;
            let f =
                |r: f64| MarchDollase { axis_hkl: [1, 0, 2], r }.factor(&gs, &eq).unwrap().value;
            let fd = (f(r + h) - f(r - h)) / (2.0 * h);
            assert!((p.d_r - fd).abs() < 1e-7 * p.value.max(1.0), "{r}: {} vs {fd}", p.d_r);
        }
    }

    #[test]
    fn invalid_inputs() {
        let gs = Cell::cubic(4.0).unwrap().reciprocal_metric();
        let ok = [[1, 0, 0]];
        assert!(MarchDollase { axis_hkl: [0, 0, 1], r: 0.0 }.factor(&gs, &ok).is_err());
        assert!(MarchDollase { axis_hkl: [0, 0, 0], r: 1.0 }.factor(&gs, &ok).is_err());
        assert!(MarchDollase { axis_hkl: [0, 0, 1], r: 1.0 }.factor(&gs, &[]).is_err());
        assert!(MarchDollase { axis_hkl: [0, 0, 1], r: 1.0 }.factor(&gs, &[[0, 0, 0]]).is_err());
    }
}
