//! Peak-position corrections in degrees 2θ, each with its derivatives from the same call.
//!
//! The observed position of a reflection is 2θ_obs = 2θ_Bragg + Δ2θ, with Δ2θ the sum of the
//! shifts below. Every shift is evaluated at the ideal Bragg angle 2θ_Bragg (GSAS-II evaluates
//! the displacement term at 2θ_Bragg + zero; the difference is second order in small shifts).
//! Each result also carries ∂Δ2θ/∂(2θ_Bragg) so that callers can chain cell and wavelength
//! derivatives through the shift: ∂(2θ_obs)/∂p = (1 + ∂Δ2θ/∂2θ) · ∂(2θ_Bragg)/∂p.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A position shift (degrees 2θ) and its derivatives with respect to its `N` parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionShift<const N: usize> {
    /// Δ2θ in degrees.
    pub delta_deg: f64,
    /// ∂Δ2θ/∂p_i in degrees per unit of parameter i (order documented by each function).
    pub d_params: [f64; N],
    /// ∂Δ2θ/∂(2θ_Bragg), dimensionless (degrees per degree).
    pub d_two_theta: f64,
}

/// Zero-point shift: Δ2θ = z (degrees), ∂Δ2θ/∂z = 1, independent of 2θ.
///
/// Source: the instrumental zero of every Rietveld program (e.g. Young, *The Rietveld Method*,
/// IUCr/OUP 1993, ch. 1). Units: `zero_deg` in degrees 2θ.
pub fn zero_shift(zero_deg: f64) -> PositionShift<1> {
    PositionShift { delta_deg: zero_deg, d_params: [1.0], d_two_theta: 0.0 }
}

/// A diffractometer of goniometer radius R (mm), validated positive and finite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GoniometerSpec", into = "GoniometerSpec")]
pub struct Goniometer {
    radius_mm: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct GoniometerSpec {
    radius_mm: f64,
}

impl TryFrom<GoniometerSpec> for Goniometer {
    type Error = Error;
    fn try_from(s: GoniometerSpec) -> Result<Self> {
        Goniometer::new(s.radius_mm)
    }
}

impl From<Goniometer> for GoniometerSpec {
    fn from(g: Goniometer) -> Self {
        GoniometerSpec { radius_mm: g.radius_mm }
    }
}

impl Goniometer {
    /// A goniometer of radius `radius_mm` (mm, positive and finite).
    pub fn new(radius_mm: f64) -> Result<Self> {
        if radius_mm.is_finite() && radius_mm > 0.0 {
            Ok(Goniometer { radius_mm })
        } else {
            Err(Error::InvalidValue {
                name: "goniometer radius (mm)".into(),
                value: radius_mm,
                reason: "must be positive and finite",
            })
        }
    }

    /// The radius in mm.
    pub fn radius_mm(&self) -> f64 {
        self.radius_mm
    }

    /// Bragg–Brentano specimen displacement: Δ2θ = −(2 s cos θ / R)·(180/π) degrees.
    ///
    /// `displacement_mm` = s in mm, positive when the specimen surface lies *below* the
    /// focusing circle (away from the incident beam), which moves peaks to lower angle; the
    /// shift vanishes at 2θ = 180°. Source: Klug & Alexander, *X-ray Diffraction Procedures*
    /// (2nd ed., 1974) §5-2; Cheary, Coelho & Cline (2004) *J. Res. NIST* 109, 1. Parameter order:
    /// `d_params = [∂Δ2θ/∂s]` in degrees per mm.
    pub fn specimen_displacement(
        &self,
        two_theta_deg: f64,
        displacement_mm: f64,
    ) -> PositionShift<1> {
        let theta = 0.5 * two_theta_deg.to_radians();
        let k = -2.0 / self.radius_mm * 180.0 / std::f64::consts::PI;
        PositionShift {
            delta_deg: k * displacement_mm * theta.cos(),
            d_params: [k * theta.cos()],
            // d/d(2θ_deg) of cos(θ) = −sin θ · (1/2) · (π/180).
            d_two_theta: -k * displacement_mm * theta.sin() * 0.5 * std::f64::consts::PI / 180.0,
        }
    }

    /// [`Goniometer::specimen_displacement`] with the displacement in µm, as GSAS-II's
    /// `Shift` parameter: Δ2θ = −(0.36/(π R))·s_µm·cos θ degrees (R in mm), identical to
    /// GSAS-II `GetReflPos` for Bragg–Brentano. `d_params = [∂Δ2θ/∂s_µm]` (degrees per µm).
    pub fn specimen_displacement_um(
        &self,
        two_theta_deg: f64,
        displacement_um: f64,
    ) -> PositionShift<1> {
        let mut s = self.specimen_displacement(two_theta_deg, displacement_um * 1e-3);
        s.d_params[0] *= 1e-3;
        s
    }

    /// Bragg–Brentano specimen transparency for an infinitely thick specimen:
    /// Δ2θ = −sin 2θ / (2 μ R) · (180/π) degrees, written linearly in the penetration depth
    /// t = 1/μ (mm): Δ2θ = −(t/(2R))·sin 2θ·(180/π).
    ///
    /// Source: Klug & Alexander (1974) §5-2; Cheary, Coelho & Cline (2004) *J. Res. NIST* 109, 1.
    /// `d_params = [∂Δ2θ/∂t]` in degrees per mm.
    pub fn transparency(&self, two_theta_deg: f64, inverse_mu_mm: f64) -> PositionShift<1> {
        let tt = two_theta_deg.to_radians();
        let k = -1.0 / (2.0 * self.radius_mm) * 180.0 / std::f64::consts::PI;
        PositionShift {
            delta_deg: k * inverse_mu_mm * tt.sin(),
            d_params: [k * tt.sin()],
            d_two_theta: k * inverse_mu_mm * tt.cos() * std::f64::consts::PI / 180.0,
        }
    }

    /// Debye–Scherrer (capillary) sample offset from the goniometer axis:
    /// Δ2θ = (−x sin 2θ + y cos 2θ)/R · (180/π) degrees.
    ///
    /// `x_mm` is the offset along the incident beam (positive downstream), `y_mm` the offset
    /// perpendicular to it in the diffraction plane (positive towards the side of positive 2θ).
    /// Derivation: a ray leaving the offset point p at angle 2θ meets the detector circle of
    /// radius R at 2θ + (u⊥·p)/R to first order in |p|/R, with u⊥ = (−sin 2θ, cos 2θ); this is
    /// the standard result (e.g. Klug & Alexander 1974 §5-2 for the Debye–Scherrer camera).
    /// Note GSAS-II's `DisplaceX/Y` use −(0.09/(πR))·(X cos 2θ + Y sin 2θ) in µm, which differs by
    /// a factor ½ and by the axis naming; convert explicitly if importing its values.
    /// `d_params = [∂Δ2θ/∂x, ∂Δ2θ/∂y]` in degrees per mm.
    pub fn debye_scherrer_offset(
        &self,
        two_theta_deg: f64,
        x_mm: f64,
        y_mm: f64,
    ) -> PositionShift<2> {
        let tt = two_theta_deg.to_radians();
        let (s, c) = tt.sin_cos();
        let k = 180.0 / std::f64::consts::PI / self.radius_mm;
        PositionShift {
            delta_deg: k * (-x_mm * s + y_mm * c),
            d_params: [-k * s, k * c],
            d_two_theta: k * (-x_mm * c - y_mm * s) * std::f64::consts::PI / 180.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd<F: Fn(f64) -> f64>(f: F, x: f64, h: f64) -> f64 {
        (f(x + h) - f(x - h)) / (2.0 * h)
    }

    #[test]
    fn displacement_limits_and_gsas_units() {
        let g = Goniometer::new(240.0).unwrap();
        // Zero at 2θ = 180° (cos 90° = 0).
        assert!(g.specimen_displacement(180.0, 0.3).delta_deg.abs() < 1e-15);
        // At 2θ → 0: −2s/R rad = −2·0.1/240 rad = −0.0477465° .
        let d0 = g.specimen_displacement(0.0, 0.1).delta_deg;
        assert!((d0 - (-0.2 / 240.0f64).to_degrees()).abs() < 1e-15, "{d0}");
        // Positive s moves peaks to lower angle everywhere below 180°.
        assert!(g.specimen_displacement(100.0, 0.05).delta_deg < 0.0);
        // GSAS-II's µm form: 0.09/(πR)·4·Shift·cos θ (GetReflPos) for Shift = 50 µm at 2θ = 60°.
        let gsas = 9e-2 / (std::f64::consts::PI * 240.0) * 4.0 * 50.0 * 30f64.to_radians().cos();
        let ours = g.specimen_displacement_um(60.0, 50.0).delta_deg;
        assert!((ours + gsas).abs() < 1e-14, "{ours} {gsas}");
        assert!(Goniometer::new(0.0).is_err());
        assert!(Goniometer::new(f64::NAN).is_err());
    }

    #[test]
    fn shift_derivatives_match_finite_differences() {
        let g = Goniometer::new(217.5).unwrap();
        let (h, tol) = (1e-5, 1e-8);
        for tt in [5.0, 37.3, 90.0, 141.0, 179.0] {
            let s = g.specimen_displacement(tt, 0.07);
            let dp = fd(|p| g.specimen_displacement(tt, p).delta_deg, 0.07, h);
            let dt = fd(|x| g.specimen_displacement(x, 0.07).delta_deg, tt, h);
            assert!((s.d_params[0] - dp).abs() < tol && (s.d_two_theta - dt).abs() < tol);

            let s = g.specimen_displacement_um(tt, 35.0);
            let dp = fd(|p| g.specimen_displacement_um(tt, p).delta_deg, 35.0, h);
            assert!((s.d_params[0] - dp).abs() < tol);

            let s = g.transparency(tt, 0.02);
            let dp = fd(|p| g.transparency(tt, p).delta_deg, 0.02, h);
            let dt = fd(|x| g.transparency(x, 0.02).delta_deg, tt, h);
            assert!((s.d_params[0] - dp).abs() < tol && (s.d_two_theta - dt).abs() < tol);

            let s = g.debye_scherrer_offset(tt, 0.03, -0.02);
            let dx = fd(|p| g.debye_scherrer_offset(tt, p, -0.02).delta_deg, 0.03, h);
            let dy = fd(|p| g.debye_scherrer_offset(tt, 0.03, p).delta_deg, -0.02, h);
            let dt = fd(|x| g.debye_scherrer_offset(x, 0.03, -0.02).delta_deg, tt, h);
            assert!((s.d_params[0] - dx).abs() < tol && (s.d_params[1] - dy).abs() < tol);
            assert!((s.d_two_theta - dt).abs() < tol);
        }
        let z = zero_shift(-0.013);
        assert_eq!((z.delta_deg, z.d_params, z.d_two_theta), (-0.013, [1.0], 0.0));
    }

    #[test]
    fn debye_scherrer_offset_matches_exact_geometry() {
        // Independent check: intersect the ray from the offset point with the detector circle
        // exactly and compare the apparent angle with the first-order formula.
        let r = 100.0;
        let g = Goniometer::new(r).unwrap();
        let (x, y) = (0.02, -0.015);
        for tt_deg in [10.0f64, 60.0, 95.0, 150.0] {
            let tt = tt_deg.to_radians();
            let (ux, uy) = (tt.cos(), tt.sin());
            let b = x * ux + y * uy;
            let t = -b + (b * b - (x * x + y * y - r * r)).sqrt();
            let apparent = (y + t * uy).atan2(x + t * ux).to_degrees();
            let d = g.debye_scherrer_offset(tt_deg, x, y).delta_deg;
            // Second-order error ~ (|p|/R)² rad ≈ 4e-8 rad.
            assert!((apparent - tt_deg - d).abs() < 1e-5, "{tt_deg}: {} vs {d}", apparent - tt_deg);
        }
    }

    #[test]
    fn transparency_limits() {
        let g = Goniometer::new(200.0).unwrap();
        assert!(g.transparency(180.0, 0.1).delta_deg.abs() < 1e-15);
        // Maximum magnitude t/(2R) rad at 2θ = 90°.
        let m = g.transparency(90.0, 0.1).delta_deg;
        assert!((m + (0.1 / 400.0f64).to_degrees()).abs() < 1e-15);
    }
}
