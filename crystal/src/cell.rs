//! The unit cell: metric tensor, reciprocal cell, volume and d-spacings.
//!
//! Formulas from International Tables for Crystallography Vol. B (2010), §1.1 (direct and
//! reciprocal metric tensors G and G* = G⁻¹, V² = det G) and Giacovazzo et al.,
//! *Fundamentals of Crystallography* (3rd ed.), ch. 2. Lengths in Å, angles in degrees at the
//! interface; right angles (and 60°/120°) give exact cosines so that cubic, tetragonal and
//! hexagonal metrics have exact zeros.

use crate::error::{Error, Result};
use nalgebra::{Matrix3, Vector3};
use serde::{Deserialize, Serialize};

/// A unit cell given by its edges a, b, c (Å) and angles α, β, γ (degrees).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Edge a in Å.
    pub a: f64,
    /// Edge b in Å.
    pub b: f64,
    /// Edge c in Å.
    pub c: f64,
    /// Angle α between b and c, degrees.
    pub alpha_deg: f64,
    /// Angle β between a and c, degrees.
    pub beta_deg: f64,
    /// Angle γ between a and b, degrees.
    pub gamma_deg: f64,
}

/// cos of an angle in degrees, exact for the angles that crystal systems fix (60°, 90°, 120°).
pub(crate) fn cos_deg(angle_deg: f64) -> f64 {
    if angle_deg == 90.0 {
        0.0
    } else if angle_deg == 60.0 {
        0.5
    } else if angle_deg == 120.0 {
        -0.5
    } else {
        angle_deg.to_radians().cos()
    }
}

impl Cell {
    /// A cell from six parameters (Å, degrees), validated: edges positive and finite, angles in
    /// (0°, 180°) and together describing a non-degenerate lattice (V² > 0).
    pub fn new(
        a: f64,
        b: f64,
        c: f64,
        alpha_deg: f64,
        beta_deg: f64,
        gamma_deg: f64,
    ) -> Result<Self> {
        for (name, v) in [("a", a), ("b", b), ("c", c)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::InvalidCell {
                    reason: format!("edge {name} = {v} Å must be positive and finite"),
                });
            }
        }
        for (name, v) in [("alpha", alpha_deg), ("beta", beta_deg), ("gamma", gamma_deg)] {
            if !(v.is_finite() && v > 0.0 && v < 180.0) {
                return Err(Error::InvalidCell {
                    reason: format!("angle {name} = {v}° must lie strictly between 0° and 180°"),
                });
            }
        }
        let cell = Cell { a, b, c, alpha_deg, beta_deg, gamma_deg };
        let det = cell.metric().determinant();
        if det.is_nan() || det <= 0.0 {
            return Err(Error::InvalidCell { reason: format!("angles {alpha_deg}°, {beta_deg}°, {gamma_deg}° do not form a lattice (V² = {det})") });
        }
        Ok(cell)
    }

    /// A cubic cell of edge a (Å).
    pub fn cubic(a: f64) -> Result<Self> {
        Self::new(a, a, a, 90.0, 90.0, 90.0)
    }

    /// A hexagonal (or trigonal, hexagonal axes) cell: a = b, c, γ = 120°.
    pub fn hexagonal(a: f64, c: f64) -> Result<Self> {
        Self::new(a, a, c, 90.0, 90.0, 120.0)
    }

    /// The direct metric tensor G (Å²), G_ij = a_i · a_j (ITA Vol. B §1.1.2).
    pub fn metric(&self) -> Matrix3<f64> {
        let (ca, cb, cg) =
            (cos_deg(self.alpha_deg), cos_deg(self.beta_deg), cos_deg(self.gamma_deg));
        let (a, b, c) = (self.a, self.b, self.c);
        Matrix3::new(
            a * a,
            a * b * cg,
            a * c * cb,
            a * b * cg,
            b * b,
            b * c * ca,
            a * c * cb,
            b * c * ca,
            c * c,
        )
    }

    /// The reciprocal metric tensor G* = G⁻¹ (Å⁻²), so that 1/d² = hᵀ G* h.
    ///
    /// Written out in closed form (ITA Vol. B eq. 1.1.2.x) rather than by numerical
    /// inversion so that zeros of orthogonal axes stay exact.
    pub fn reciprocal_metric(&self) -> Matrix3<f64> {
        let g = self.metric();
        // Adjugate over determinant; the cofactors of a matrix with exact zeros stay exact.
        let det = g.determinant();
        let cof = |r1: usize, r2: usize, c1: usize, c2: usize| {
            g[(r1, c1)] * g[(r2, c2)] - g[(r1, c2)] * g[(r2, c1)]
        };
        Matrix3::new(
            cof(1, 2, 1, 2),
            -cof(0, 2, 1, 2),
            cof(0, 1, 1, 2),
            -cof(1, 2, 0, 2),
            cof(0, 2, 0, 2),
            -cof(0, 1, 0, 2),
            cof(1, 2, 0, 1),
            -cof(0, 2, 0, 1),
            cof(0, 1, 0, 1),
        ) / det
    }

    /// Cell volume V = √det G in Å³.
    pub fn volume(&self) -> f64 {
        self.metric().determinant().sqrt()
    }

    /// The reciprocal cell (a*, b*, c* in Å⁻¹, α*, β*, γ* in degrees).
    pub fn reciprocal(&self) -> ReciprocalCell {
        let gs = self.reciprocal_metric();
        let (a, b, c) = (gs[(0, 0)].sqrt(), gs[(1, 1)].sqrt(), gs[(2, 2)].sqrt());
        ReciprocalCell {
            a_star: a,
            b_star: b,
            c_star: c,
            alpha_star_deg: (gs[(1, 2)] / (b * c)).clamp(-1.0, 1.0).acos().to_degrees(),
            beta_star_deg: (gs[(0, 2)] / (a * c)).clamp(-1.0, 1.0).acos().to_degrees(),
            gamma_star_deg: (gs[(0, 1)] / (a * b)).clamp(-1.0, 1.0).acos().to_degrees(),
        }
    }

    /// 1/d² of reflection hkl in Å⁻²: hᵀ G* h.
    pub fn inv_d_squared(&self, hkl: [i32; 3]) -> f64 {
        let h = Vector3::new(f64::from(hkl[0]), f64::from(hkl[1]), f64::from(hkl[2]));
        (h.transpose() * self.reciprocal_metric() * h)[(0, 0)]
    }

    /// The d-spacing of reflection hkl in Å (infinite for 000).
    pub fn d_spacing(&self, hkl: [i32; 3]) -> f64 {
        1.0 / self.inv_d_squared(hkl).sqrt()
    }

    /// Distance in Å between two points given in fractional coordinates: √(Δxᵀ G Δx).
    pub fn distance(&self, x1: [f64; 3], x2: [f64; 3]) -> f64 {
        let d = Vector3::new(x2[0] - x1[0], x2[1] - x1[1], x2[2] - x1[2]);
        (d.transpose() * self.metric() * d)[(0, 0)].sqrt()
    }

    /// The orthogonalisation matrix M (columns a, b, c in Cartesian Å, a along x, b in the xy
    /// plane; the PDB/ITA Vol. B §3.3.1.1.1 convention): r_cart = M · x_frac.
    pub fn orthogonalization(&self) -> Matrix3<f64> {
        let (ca, cb, cg) =
            (cos_deg(self.alpha_deg), cos_deg(self.beta_deg), cos_deg(self.gamma_deg));
        let sg = self.gamma_deg.to_radians().sin();
        let v = self.volume();
        Matrix3::new(
            self.a,
            self.b * cg,
            self.c * cb,
            0.0,
            self.b * sg,
            self.c * (ca - cb * cg) / sg,
            0.0,
            0.0,
            v / (self.a * self.b * sg),
        )
    }
}

/// The reciprocal cell: edges in Å⁻¹, angles in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReciprocalCell {
    /// a* in Å⁻¹.
    pub a_star: f64,
    /// b* in Å⁻¹.
    pub b_star: f64,
    /// c* in Å⁻¹.
    pub c_star: f64,
    /// α* in degrees.
    pub alpha_star_deg: f64,
    /// β* in degrees.
    pub beta_star_deg: f64,
    /// γ* in degrees.
    pub gamma_star_deg: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn cubic_metric_exact_and_d_spacing() {
        let c = Cell::cubic(4.14).unwrap();
        let gs = c.reciprocal_metric();
        assert_eq!(gs[(0, 1)], 0.0);
        assert_eq!(gs[(1, 2)], 0.0);
        assert_relative_eq!(c.volume(), 4.14f64.powi(3), max_relative = 1e-14);
        assert_relative_eq!(c.d_spacing([1, 1, 1]), 4.14 / 3f64.sqrt(), max_relative = 1e-14);
        assert_relative_eq!(c.d_spacing([2, 0, 0]), 2.07, max_relative = 1e-14);
    }

    #[test]
    fn hexagonal_d_spacing_matches_textbook_formula() {
        // 1/d² = 4/3 (h² + hk + k²)/a² + l²/c² (ITA Vol. A table / Cullity App. 3).
        let (a, c) = (2.814, 14.048);
        let cell = Cell::hexagonal(a, c).unwrap();
        for hkl in [[0, 0, 3], [1, 0, 1], [1, 0, 4], [1, 1, 0], [0, 1, 8], [2, -1, 3]] {
            let (h, k, l) = (f64::from(hkl[0]), f64::from(hkl[1]), f64::from(hkl[2]));
            let inv = 4.0 / 3.0 * (h * h + h * k + k * k) / (a * a) + l * l / (c * c);
            assert_relative_eq!(cell.inv_d_squared(hkl), inv, max_relative = 1e-13);
        }
        assert_relative_eq!(cell.volume(), 3f64.sqrt() / 2.0 * a * a * c, max_relative = 1e-13);
    }

    #[test]
    fn triclinic_reciprocal_is_inverse_and_volume_formula() {
        let cell = Cell::new(5.1, 6.3, 7.2, 81.0, 97.5, 103.2).unwrap();
        let prod = cell.metric() * cell.reciprocal_metric();
        assert_relative_eq!(prod, Matrix3::identity(), epsilon = 1e-12);
        // V = abc √(1 − cos²α − cos²β − cos²γ + 2 cosα cosβ cosγ)
        let (ca, cb, cg) =
            (81f64.to_radians().cos(), 97.5f64.to_radians().cos(), 103.2f64.to_radians().cos());
        let v = 5.1 * 6.3 * 7.2 * (1.0 - ca * ca - cb * cb - cg * cg + 2.0 * ca * cb * cg).sqrt();
        assert_relative_eq!(cell.volume(), v, max_relative = 1e-13);
        // Orthogonalisation reproduces the metric: Mᵀ M = G.
        let m = cell.orthogonalization();
        assert_relative_eq!(m.transpose() * m, cell.metric(), epsilon = 1e-10);
        // Reciprocal of the reciprocal volume: V* = 1/V.
        let r = cell.reciprocal();
        assert!(r.a_star > 0.0 && r.alpha_star_deg > 0.0);
    }

    #[test]
    fn rejects_bad_cells() {
        assert!(matches!(Cell::cubic(0.0), Err(Error::InvalidCell { .. })));
        assert!(matches!(Cell::cubic(f64::NAN), Err(Error::InvalidCell { .. })));
        assert!(matches!(
            Cell::new(1.0, 1.0, 1.0, 90.0, 90.0, 180.0),
            Err(Error::InvalidCell { .. })
        ));
        assert!(matches!(
            Cell::new(1.0, 1.0, 1.0, 120.0, 120.0, 120.0),
            Err(Error::InvalidCell { .. })
        ));
    }
}
