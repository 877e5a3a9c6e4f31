//! Instrumental and sample widths as functions of 2θ: the Caglioti Gaussian FWHM and the
//! Lorentzian FWHM of the TCH pseudo-Voigt, with their parameter derivatives.
//!
//! Sources: G. Caglioti, A. Paoletti & F. P. Ricci (1958), Nucl. Instrum. 3, 223 (H_G² =
//! U tan²θ + V tanθ + W); the P/cos²θ (Gaussian size) and X tanθ + Y/cosθ (Lorentzian strain
//! and size) terms as in TCH 1987 (J. Appl. Cryst. 20, 79) and the FullProf manual (profile
//! function 7, TCH pseudo-Voigt).
//!
//! # Units (FullProf/TCH convention)
//! U, V, W, P are in **deg²** and give the squared Gaussian **FWHM** H_G² in deg²; X, Y are in
//! **deg** and give the Lorentzian FWHM H_L in deg.
//!
//! GSAS and GSAS-II use centidegrees and the Gaussian **variance**:
//! σ² = U tan²θ + V tanθ + W + P/cos²θ in centideg², and γ = X/cosθ + Y tanθ in centideg
//! (GSAS's X multiplies 1/cosθ and its Y multiplies tanθ, the reverse of FullProf). With
//! H_G² = 8 ln2·σ² and 1 centideg = 0.01°: U_deg² = 8 ln2·10⁻⁴·U_GSAS (= 5.545·10⁻⁴ U_GSAS),
//! likewise V, W, P; X_deg = Y_GSAS/100 and Y_deg = X_GSAS/100. See
//! [`ProfileParams::from_gsas`].

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::f64::consts::{LN_2, PI};

/// The peak function the profile parameters describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileFunction {
    /// Thompson–Cox–Hastings pseudo-Voigt (FullProf profile function 7, GSAS-II's CW
    /// function): H_G² = U tan²θ + V tanθ + W + P/cos²θ, H_L = X tanθ + Y/cosθ.
    #[default]
    Tch,
    /// FullProf profile function 5, the simple pseudo-Voigt: one FWHM H with
    /// H² = U tan²θ + V tanθ + W + P/cos²θ and a mixing η = Y + X·2θ (2θ in degrees; FullProf's
    /// `Shape1` = η₀ is bragg's Y, its X is bragg's X, in 1/degree). η is not clamped to 1,
    /// as in FullProf (FullProf manual, "Profile functions", Npr = 5).
    PseudoVoigt,
}

/// Profile parameters of one phase in one histogram (FullProf/TCH units, see module docs).
///
/// `asym` is the FCJ axial-divergence parameter (S + H)/L (dimensionless), split as
/// S/L = H/L = asym/2 like GSAS-II's SH/L; 0 means a symmetric profile.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProfileParams {
    /// Caglioti U (deg²), coefficient of tan²θ in H_G².
    pub u: f64,
    /// Caglioti V (deg²), coefficient of tanθ in H_G².
    pub v: f64,
    /// Caglioti W (deg²), constant term of H_G².
    pub w: f64,
    /// Gaussian size term P (deg²), coefficient of 1/cos²θ in H_G²; 0 when absent.
    #[serde(default)]
    pub p: f64,
    /// Lorentzian X (deg), coefficient of tanθ in H_L (strain).
    pub x: f64,
    /// Lorentzian Y (deg), coefficient of 1/cosθ in H_L (size).
    pub y: f64,
    /// FCJ asymmetry (S + H)/L, dimensionless, ≥ 0.
    #[serde(default)]
    pub asym: f64,
    /// Bérar–Baldinozzi asymmetry P₁…P₄ (FullProf `Asy1`…`Asy4`, dimensionless; see
    /// [`super::berar`]); all 0 means none. May be combined with `asym`.
    #[serde(default)]
    pub bb: [f64; 4],
    /// The peak function (TCH unless given).
    #[serde(default)]
    pub function: ProfileFunction,
    /// Peak window in FWHM: when > 0 each peak is computed only within ±`window_fwhm` × its
    /// FWHM of its position, FullProf's `Wdt` (FullProf manual, "Wdt: range of calculation of
    /// a peak in units of FWHM"; FullProf's PbSO4 example uses 6). 0 (the default) draws each
    /// peak until at most 0.09 % of its area is left out ([`super::DEFAULT_CUTOFF`]), which for
    /// Lorentzian-rich peaks is hundreds of FWHM: a ±6 FWHM window leaves out 5.3 % of a
    /// Lorentzian's area (1 − (2/π)·atan 12), so it is for reproducing FullProf, not a default.
    #[serde(default)]
    pub window_fwhm: f64,
    /// Equatorial divergence α of a Bragg–Brentano beam (degrees, the divergence slit's full
    /// angle) for the flat-specimen aberration ([`super::flat_specimen`]); 0 (the default):
    /// none, its effect left to the empirical terms. Not refined by the default strategy: set
    /// it from the instrument, as in a fundamental-parameters fit.
    #[serde(default)]
    pub divergence_deg: f64,
}

impl Default for ProfileParams {
    /// All terms 0, TCH: not a usable profile by itself (the widths are 0).
    fn default() -> Self {
        Self {
            u: 0.0,
            v: 0.0,
            w: 0.0,
            p: 0.0,
            x: 0.0,
            y: 0.0,
            asym: 0.0,
            bb: [0.0; 4],
            function: ProfileFunction::Tch,
            window_fwhm: 0.0,
            divergence_deg: 0.0,
        }
    }
}

/// H_G and H_L at one 2θ, with their partial derivatives.
///
/// Units: widths in degrees; `dg_du`… in deg/deg² (= 1/deg); `dl_dx`, `dl_dy` dimensionless;
/// `*_dtth` per degree of 2θ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Widths {
    /// Gaussian FWHM H_G (degrees).
    pub fwhm_g: f64,
    /// Lorentzian FWHM H_L (degrees).
    pub fwhm_l: f64,
    /// ∂H_G/∂U = tan²θ/(2H_G).
    pub dg_du: f64,
    /// ∂H_G/∂V = tanθ/(2H_G).
    pub dg_dv: f64,
    /// ∂H_G/∂W = 1/(2H_G).
    pub dg_dw: f64,
    /// ∂H_G/∂P = 1/(2H_G cos²θ).
    pub dg_dp: f64,
    /// ∂H_G/∂2θ (per degree of 2θ).
    pub dg_dtth: f64,
    /// ∂H_L/∂X = tanθ.
    pub dl_dx: f64,
    /// ∂H_L/∂Y = 1/cosθ.
    pub dl_dy: f64,
    /// ∂H_L/∂2θ (per degree of 2θ).
    pub dl_dtth: f64,
}

impl ProfileParams {
    /// Converts GSAS/GSAS-II parameters (σ² terms U, V, W, P in centideg²; γ terms X (1/cosθ)
    /// and Y (tanθ) in centideg; SH/L dimensionless) to FullProf/TCH units (module docs).
    pub fn from_gsas(u: f64, v: f64, w: f64, p: f64, x: f64, y: f64, sh_l: f64) -> Self {
        let k = 8.0 * LN_2 * 1e-4;
        Self {
            u: k * u,
            v: k * v,
            w: k * w,
            p: k * p,
            x: 0.01 * y,
            y: 0.01 * x,
            asym: sh_l,
            ..Self::default()
        }
    }

    /// Inverse of [`ProfileParams::from_gsas`]: (U, V, W, P, X, Y, SH/L) in GSAS units.
    pub fn to_gsas(&self) -> [f64; 7] {
        let k = 1.0 / (8.0 * LN_2 * 1e-4);
        [k * self.u, k * self.v, k * self.w, k * self.p, 100.0 * self.y, 100.0 * self.x, self.asym]
    }

    /// H_G, H_L and their derivatives at `two_theta_deg` (Caglioti 1958; TCH 1987):
    /// H_G² = U tan²θ + V tanθ + W + P/cos²θ (deg²), H_L = X tanθ + Y/cosθ (deg).
    ///
    /// Errors (`Error::InvalidValue`): 2θ outside (0°, 180°) or non-finite parameters;
    /// **H_G² < 0** (the U, V, W combination is unphysical at this angle — never clamped);
    /// H_L < 0; or both widths zero. When H_G = 0 exactly (pure Lorentzian) the derivatives
    /// of H_G with respect to U, V, W, P and 2θ are +∞ or NaN (√ has a vertical tangent at 0);
    /// a refinement of U, V, W should keep W > 0.
    pub fn widths(&self, two_theta_deg: f64) -> Result<Widths> {
        if !(two_theta_deg > 0.0 && two_theta_deg < 180.0) {
            return Err(Error::InvalidValue {
                name: "2θ for the profile widths".to_string(),
                value: two_theta_deg,
                reason: "must lie strictly between 0° and 180°",
            });
        }
        for (name, v) in [
            ("U", self.u),
            ("V", self.v),
            ("W", self.w),
            ("P", self.p),
            ("X", self.x),
            ("Y", self.y),
            ("asym", self.asym),
            ("asy1", self.bb[0]),
            ("asy2", self.bb[1]),
            ("asy3", self.bb[2]),
            ("asy4", self.bb[3]),
        ] {
            if !v.is_finite() {
                return Err(Error::InvalidValue {
                    name: format!("profile parameter {name}"),
                    value: v,
                    reason: "must be finite",
                });
            }
        }
        let theta = two_theta_deg.to_radians() * 0.5;
        let (s, c) = theta.sin_cos();
        let tan = s / c;
        let sec = 1.0 / c;
        let sec2 = sec * sec;
        let hg2 = self.u * tan * tan + self.v * tan + self.w + self.p * sec2;
        if hg2 < 0.0 {
            return Err(Error::InvalidValue {
                name: format!(
                    "Gaussian FWHM² U tan²θ + V tanθ + W + P/cos²θ at 2θ = {two_theta_deg}°"
                ),
                value: hg2,
                reason: "negative: U, V, W, P are unphysical at this angle",
            });
        }
        if self.function == ProfileFunction::PseudoVoigt {
            return self.pseudo_voigt_widths(two_theta_deg, hg2, tan, sec2);
        }
        let hl = self.x * tan + self.y * sec;
        if hl < 0.0 {
            return Err(Error::InvalidValue {
                name: format!("Lorentzian FWHM X tanθ + Y/cosθ at 2θ = {two_theta_deg}°"),
                value: hl,
                reason: "negative: X, Y are unphysical at this angle",
            });
        }
        let hg = hg2.sqrt();
        if hg + hl <= 0.0 {
            return Err(Error::InvalidValue {
                name: format!("total FWHM at 2θ = {two_theta_deg}°"),
                value: 0.0,
                reason: "both the Gaussian and the Lorentzian width are zero",
            });
        }
        let inv2g = 0.5 / hg;
        // dθ/d(2θ in degrees) = π/360.
        let dth = PI / 360.0;
        let dhg2_dth = 2.0 * self.u * tan * sec2 + self.v * sec2 + 2.0 * self.p * sec2 * tan;
        let dhl_dth = self.x * sec2 + self.y * sec * tan;
        Ok(Widths {
            fwhm_g: hg,
            fwhm_l: hl,
            dg_du: tan * tan * inv2g,
            dg_dv: tan * inv2g,
            dg_dw: inv2g,
            dg_dp: sec2 * inv2g,
            dg_dtth: dhg2_dth * inv2g * dth,
            dl_dx: tan,
            dl_dy: sec,
            dl_dtth: dhl_dth * dth,
        })
    }

    /// [`ProfileFunction::PseudoVoigt`]: `fwhm_g` holds the one FWHM H and `fwhm_l` the mixing
    /// η = Y + X·2θ (so the engine's chain rule runs unchanged: a pseudo-Voigt peak reports
    /// ∂/∂H and ∂/∂η in the places of ∂/∂H_G and ∂/∂H_L).
    fn pseudo_voigt_widths(
        &self,
        two_theta_deg: f64,
        h2: f64,
        tan: f64,
        sec2: f64,
    ) -> Result<Widths> {
        let h = h2.sqrt();
        if h <= 0.0 {
            return Err(Error::InvalidValue {
                name: format!("pseudo-Voigt FWHM at 2θ = {two_theta_deg}°"),
                value: h,
                reason: "the FWHM U tan²θ + V tanθ + W + P/cos²θ is zero",
            });
        }
        let eta = self.y + self.x * two_theta_deg;
        if eta < 0.0 {
            return Err(Error::InvalidValue {
                name: format!("pseudo-Voigt η = Y + X·2θ at 2θ = {two_theta_deg}°"),
                value: eta,
                reason: "negative: X, Y are unphysical at this angle",
            });
        }
        let inv2 = 0.5 / h;
        let dth = PI / 360.0;
        let dh2_dth = 2.0 * self.u * tan * sec2 + self.v * sec2 + 2.0 * self.p * sec2 * tan;
        Ok(Widths {
            fwhm_g: h,
            fwhm_l: eta,
            dg_du: tan * tan * inv2,
            dg_dv: tan * inv2,
            dg_dw: inv2,
            dg_dp: sec2 * inv2,
            dg_dtth: dh2_dth * inv2 * dth,
            dl_dx: two_theta_deg,
            dl_dy: 1.0,
            dl_dtth: self.x,
        })
    }

    /// The total FWHM (degrees) at `two_theta_deg` for reach and search-width estimates:
    /// H_G + H_L (an upper bound of the TCH H) or the pseudo-Voigt H; None where the
    /// parameters give no valid width there.
    pub fn fwhm_estimate(&self, two_theta_deg: f64) -> Option<f64> {
        let w = self.widths(two_theta_deg).ok()?;
        Some(match self.function {
            ProfileFunction::Tch => w.fwhm_g + w.fwhm_l,
            ProfileFunction::PseudoVoigt => w.fwhm_g,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P0: ProfileParams = ProfileParams {
        u: 0.004,
        v: -0.002,
        w: 0.0015,
        p: 0.0003,
        x: 0.02,
        y: 0.01,
        asym: 0.03,
        bb: [0.0; 4],
        function: ProfileFunction::Tch,
        window_fwhm: 0.0,
        divergence_deg: 0.0,
    };

    #[test]
    fn values_at_known_angles() {
        // At 2θ = 90°, tanθ = 1 and 1/cosθ = √2: H_G² = U + V + W + 2P, H_L = X + √2·Y.
        let w = P0.widths(90.0).unwrap();
        assert!((w.fwhm_g - (0.004f64 - 0.002 + 0.0015 + 0.0006).sqrt()).abs() < 1e-15);
        assert!((w.fwhm_l - (0.02 + 2f64.sqrt() * 0.01)).abs() < 1e-15);
    }

    #[test]
    fn negative_gaussian_fwhm2_is_an_error_not_clamped() {
        let bad = ProfileParams {
            u: 0.0,
            v: -0.01,
            w: 0.001,
            p: 0.0,
            x: 0.0,
            y: 0.01,
            asym: 0.0,
            bb: [0.0; 4],
            ..Default::default()
        };
        // At 2θ = 60°: tanθ = 0.577 ⇒ H_G² = −0.0048 < 0.
        assert!(matches!(bad.widths(60.0), Err(Error::InvalidValue { .. })));
        assert!(bad.widths(5.0).is_ok()); // tan 2.5° = 0.0437 ⇒ H_G² > 0
        let neg_l = ProfileParams { x: -0.05, ..P0 };
        assert!(neg_l.widths(120.0).is_err());
        assert!(P0.widths(0.0).is_err() && P0.widths(180.0).is_err());
        assert!(ProfileParams { w: f64::NAN, ..P0 }.widths(40.0).is_err());
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for &tth in &[5.0, 28.4, 60.0, 90.0, 137.0, 170.0] {
            let w = P0.widths(tth).unwrap();
            let e = 1e-7;
            let g = |p: ProfileParams| p.widths(tth).unwrap().fwhm_g;
            let l = |p: ProfileParams| p.widths(tth).unwrap().fwhm_l;
            let cd = |f: &dyn Fn(f64) -> f64, x: f64| (f(x + e) - f(x - e)) / (2.0 * e);
            let tol = 1e-6 * (1.0 + w.dg_du.abs());
            assert!((w.dg_du - cd(&|x| g(ProfileParams { u: x, ..P0 }), P0.u)).abs() < tol);
            assert!((w.dg_dv - cd(&|x| g(ProfileParams { v: x, ..P0 }), P0.v)).abs() < tol);
            assert!((w.dg_dw - cd(&|x| g(ProfileParams { w: x, ..P0 }), P0.w)).abs() < tol);
            assert!((w.dg_dp - cd(&|x| g(ProfileParams { p: x, ..P0 }), P0.p)).abs() < tol);
            assert!((w.dl_dx - cd(&|x| l(ProfileParams { x, ..P0 }), P0.x)).abs() < 1e-6);
            assert!((w.dl_dy - cd(&|y| l(ProfileParams { y, ..P0 }), P0.y)).abs() < 1e-6);
            let e2 = 1e-5;
            let dg = (P0.widths(tth + e2).unwrap().fwhm_g - P0.widths(tth - e2).unwrap().fwhm_g)
                / (2.0 * e2);
            let dl = (P0.widths(tth + e2).unwrap().fwhm_l - P0.widths(tth - e2).unwrap().fwhm_l)
                / (2.0 * e2);
            assert!((w.dg_dtth - dg).abs() < 1e-6 * (1.0 + dg.abs()), "{tth}");
            assert!((w.dl_dtth - dl).abs() < 1e-6 * (1.0 + dl.abs()), "{tth}");
        }
    }

    #[test]
    fn gsas_conversion_round_trip_and_scale() {
        // GSAS σ² = W = 1 centideg² ⇒ FWHM = √(8 ln2)·0.01° = 0.023548°.
        let p = ProfileParams::from_gsas(0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0);
        assert!((p.w.sqrt() - 0.023_548_2).abs() < 1e-7);
        // GSAS X (1/cosθ) = 10 centideg ⇒ our Y = 0.1°.
        let p = ProfileParams::from_gsas(2.0, -1.0, 3.0, 0.5, 10.0, 4.0, 0.02);
        assert!((p.y - 0.1).abs() < 1e-15 && (p.x - 0.04).abs() < 1e-15);
        let back = p.to_gsas();
        for (a, b) in back.iter().zip([2.0, -1.0, 3.0, 0.5, 10.0, 4.0, 0.02]) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
