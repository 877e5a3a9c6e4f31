//! The Bérar–Baldinozzi empirical asymmetry: FullProf's default asymmetry correction (its
//! `Asy1`…`Asy4`), a multiplier on a symmetric (or FCJ) peak.
//!
//! Source: J.-F. Bérar & G. Baldinozzi (1993), J. Appl. Cryst. 26, 128–129; the form used by
//! FullProf (J. Rodríguez-Carvajal, FullProf manual, "Asymmetry corrections"):
//!
//! ```text
//! A(2θ) = 1 + [P₁·F_a(z) + P₂·F_b(z)] / tan θ_k + [P₃·F_a(z) + P₄·F_b(z)] / tan 2θ_k
//! z = (2θ_k − 2θ) / H_k,   F_a(z) = 2z·exp(−z²),   F_b(z) = 2(2z² − 3)·F_a(z)
//! ```
//!
//! The sign of z is FullProf's: positive P₁ (P₃ below 90°) puts intensity on the **low**-angle
//! side, so the values of a FullProf `.pcr` carry over unchanged — except that FullProf 5.40's
//! curve for the PbSO4 round robin (`refine/tests/fullprof_peer.rs`) is drawn by bragg with
//! P₁ = Asy1 + 3.6·Asy2 (P₂, P₃, P₄ unchanged): P₁ is degenerate with the constant of F_b,
//! and FullProf's behaves as if F_b = 2(2z² − 1.2)·F_a. With Asy2 = 0 nothing changes.
//! (Checked on the PbSO4 round robin: FullProf's refined Asy1–3 fit the data with this
//! sign — Rwp 8.4 % — and not with the opposite one — Rwp 12.4 %; `refine/tests/real_data.rs`.)
//!
//! with H_k the FWHM of the (symmetric TCH) peak at 2θ_k, both in degrees; θ_k in radians
//! inside tan. Where A would be negative (large P's close to 0° or 180° 2θ, where the
//! 1/tan factors grow) it is set to 0, so that a profile is never negative: FullProf does the
//! same (its calculated PbSO4 profile, `fixtures/reference/pbso4_fullprof_calc.csv`, agrees
//! with bragg's above 134° 2θ only with this clamp: Rw 0.34 % with it, 2.9 % without). F_a and F_b are the first and third Hermite functions (odd in z), so A
//! redistributes intensity between the two sides of the peak without changing its area (for a
//! symmetric base profile exactly; for an FCJ base to within the base's own asymmetry). P₁…P₄
//! are dimensionless; P₁, P₂ dominate at low angles (1/tanθ), P₃, P₄ change sign at 2θ = 90°
//! (1/tan 2θ), so one set describes the axial-divergence asymmetry on both sides of 90°.

use super::{PeakShape, ProfilePoint};
use std::f64::consts::PI;
use std::ops::Range;

/// Bérar–Baldinozzi asymmetry parameters P₁…P₄ (FullProf `Asy1`…`Asy4`), dimensionless.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BerarBaldinozzi {
    /// P₁ … P₄.
    pub p: [f64; 4],
}

impl BerarBaldinozzi {
    /// Whether every parameter is zero (no correction).
    pub fn is_zero(&self) -> bool {
        self.p.iter().all(|&v| v == 0.0)
    }
}

/// F_a(z) = 2z·e^{−z²}, F_b(z) = 2(2z² − 3)·F_a(z) and their z-derivatives.
#[inline]
fn hermite_terms(z: f64) -> ([f64; 2], [f64; 2]) {
    let e = (-z * z).exp();
    let fa = 2.0 * z * e;
    let dfa = 2.0 * (1.0 - 2.0 * z * z) * e;
    let q = 2.0 * (2.0 * z * z - 3.0);
    let fb = q * fa;
    let dfb = 8.0 * z * fa + q * dfa;
    ([fa, fb], [dfa, dfb])
}

/// A peak shape multiplied by the Bérar–Baldinozzi factor A(2θ) (module documentation).
///
/// The wrapper keeps the base shape's support and centre; its FWHM H is the base's
/// [`PeakShape::fwhm`] (the symmetric TCH H), whose derivatives with respect to H_G and H_L
/// are supplied by the caller so that ∂/∂H_G and ∂/∂H_L include the dependence of z on H.
#[derive(Debug, Clone)]
pub struct BbShape<S> {
    base: S,
    p: [f64; 4],
    center: f64,
    inv_h: f64,
    dh_dg: f64,
    dh_dl: f64,
    /// 1/tanθ_k and 1/tan2θ_k.
    cot: [f64; 2],
    /// d(1/tanθ_k)/d2θ_k and d(1/tan2θ_k)/d2θ_k, per degree of 2θ.
    dcot: [f64; 2],
}

impl<S: PeakShape> BbShape<S> {
    /// Wraps `base` (centre 2θ_k in (0°, 180°), FWHM H > 0 with ∂H/∂H_G = `dh_dg`,
    /// ∂H/∂H_L = `dh_dl`) with the asymmetry `bb`. At 2θ_k = 90° the 1/tan 2θ_k term is 0.
    pub fn new(base: S, bb: &BerarBaldinozzi, dh_dg: f64, dh_dl: f64) -> Self {
        let center = base.center_deg();
        let h = base.fwhm();
        let th = 0.5 * center.to_radians();
        let (s1, c1) = th.sin_cos();
        let (s2, c2) = (2.0 * th).sin_cos();
        let rad_per_deg = PI / 180.0;
        // d(cot x)/dx = −1/sin²x; θ = 2θ/2 ⇒ dθ/d2θ_deg = (π/180)/2.
        let cot = [c1 / s1, if c2 == 0.0 { 0.0 } else { c2 / s2 }];
        let dcot = [-0.5 * rad_per_deg / (s1 * s1), -rad_per_deg / (s2 * s2)];
        Self { base, p: bb.p, center, inv_h: 1.0 / h, dh_dg, dh_dl, cot, dcot }
    }

    /// The base shape.
    pub fn base(&self) -> &S {
        &self.base
    }

    /// The factor A, ∂A/∂z, ∂A/∂2θ_k at fixed z, z itself, and ∂A/∂P₁…P₄ at `t`.
    #[inline]
    fn factor(&self, two_theta_deg: f64) -> (f64, f64, f64, f64, [f64; 4]) {
        let z = (self.center - two_theta_deg) * self.inv_h;
        let ([fa, fb], [dfa, dfb]) = hermite_terms(z);
        let p = &self.p;
        let lo = p[0] * fa + p[1] * fb;
        let hi = p[2] * fa + p[3] * fb;
        let a = 1.0 + lo * self.cot[0] + hi * self.cot[1];
        if a < 0.0 {
            // A profile cannot be negative: where the correction would make it so (large P's
            // near 2θ = 180° or 0°, where 1/tan grows), the peak is zero, with zero
            // derivatives, as FullProf computes it (module docs).
            return (0.0, 0.0, 0.0, z, [0.0; 4]);
        }
        let da_dz =
            (p[0] * dfa + p[1] * dfb) * self.cot[0] + (p[2] * dfa + p[3] * dfb) * self.cot[1];
        let da_dc = lo * self.dcot[0] + hi * self.dcot[1];
        let dp = [fa * self.cot[0], fb * self.cot[0], fa * self.cot[1], fb * self.cot[1]];
        (a, da_dz, da_dc, z, dp)
    }

    /// Value and derivatives (as [`PeakShape::eval`]) and ∂value/∂P₁…P₄ at `two_theta_deg`.
    ///
    /// Chain rule with z = (2θ_k − 2θ)/H: ∂z/∂2θ_k = 1/H, ∂z/∂H = −z/H.
    #[inline]
    pub fn eval_with_parameters(&self, two_theta_deg: f64) -> (ProfilePoint, [f64; 4]) {
        let b = self.base.eval(two_theta_deg);
        let (a, da_dz, da_dc, z, dp) = self.factor(two_theta_deg);
        let dz_dh = -z * self.inv_h;
        let point = ProfilePoint {
            value: b.value * a,
            d_center: b.d_center * a + b.value * (da_dc + da_dz * self.inv_h),
            d_fwhm_g: b.d_fwhm_g * a + b.value * da_dz * dz_dh * self.dh_dg,
            d_fwhm_l: b.d_fwhm_l * a + b.value * da_dz * dz_dh * self.dh_dl,
            d_asym: b.d_asym * a,
        };
        (point, dp.map(|d| d * b.value))
    }
}

impl<S: PeakShape> PeakShape for BbShape<S> {
    fn center_deg(&self) -> f64 {
        self.center
    }

    fn eval(&self, two_theta_deg: f64) -> ProfilePoint {
        self.eval_with_parameters(two_theta_deg).0
    }

    fn value(&self, two_theta_deg: f64) -> f64 {
        self.base.value(two_theta_deg) * self.factor(two_theta_deg).0
    }

    fn fwhm(&self) -> f64 {
        self.base.fwhm()
    }

    /// The base support: beyond a few H the factor is 1 to within e^{−z²}.
    fn support(&self, cutoff: f64) -> (f64, f64) {
        self.base.support(cutoff)
    }

    fn add_scaled(
        &self,
        two_theta_deg: &[f64],
        scale: f64,
        cutoff: f64,
        out: &mut [f64],
    ) -> Range<usize> {
        // The base draws fast (vectorised tails); the factor differs from 1 by less than
        // 10⁻¹⁶·|P|/tan only beyond |z| = 6.5, so it is applied inside that zone only.
        let r = self.base.add_scaled(two_theta_deg, scale, cutoff, out);
        let h = 1.0 / self.inv_h;
        let zone = super::window(two_theta_deg, self.center - 6.5 * h, self.center + 6.5 * h);
        let zone = zone.start.max(r.start)..zone.end.min(r.end);
        for i in zone {
            let t = two_theta_deg[i];
            let (a, ..) = self.factor(t);
            out[i] += scale * self.base.value(t) * (a - 1.0);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::test_util::simpson;
    use crate::profile::{FcjAsymmetry, FcjTch, TchPseudoVoigt};

    fn shape(center: f64, p: [f64; 4]) -> BbShape<TchPseudoVoigt> {
        let base = TchPseudoVoigt::new(center, 0.08, 0.05).unwrap();
        let m = *base.mix();
        BbShape::new(base, &BerarBaldinozzi { p }, m.dfwhm_dg, m.dfwhm_dl)
    }

    /// F_a, F_b odd ⇒ the area of a symmetric peak is unchanged (analytic property of the
    /// Hermite functions, Bérar & Baldinozzi 1993), while the first moment moves.
    #[test]
    fn area_preserved_centroid_moves() {
        let s = shape(30.0, [-0.4, 0.01, 1.2, 0.0]);
        let area = simpson(|t| s.value(t), 25.0, 35.0, 20_000);
        assert!((area - simpson(|t| s.base().value(t), 25.0, 35.0, 20_000)).abs() < 1e-12);
        let m1 = simpson(|t| (t - 30.0) * s.value(t), 25.0, 35.0, 20_000);
        assert!(m1.abs() > 1e-4, "first moment {m1}");
    }

    /// FullProf's sign: P₁ > 0 moves intensity to the low-angle side (the axial-divergence
    /// tail below 90°), so the first moment about 2θ_k becomes negative.
    #[test]
    fn positive_p1_gives_a_low_angle_tail() {
        let s = shape(20.0, [0.2, 0.0, 0.0, 0.0]);
        let m1 = simpson(|t| (t - 20.0) * s.value(t), 15.0, 25.0, 20_000);
        assert!(m1 < -1e-4, "first moment {m1}");
    }

    /// At 2θ = 90° the P₃, P₄ terms vanish (1/tan 90° = 0); with P₁ = P₂ = 0 the profile is
    /// the base profile.
    #[test]
    fn p3_p4_vanish_at_ninety_degrees() {
        let s = shape(90.0, [0.0, 0.0, 1.5, 0.3]);
        for t in [89.9, 89.97, 90.0, 90.05] {
            assert!((s.value(t) - s.base().value(t)).abs() < 1e-12 * s.base().value(t).max(1.0));
        }
    }

    /// Every derivative against central finite differences (relative step 10⁻⁶).
    #[test]
    fn derivatives_match_finite_differences() {
        let p = [-0.37, 0.0074, 1.23, 0.05];
        let (g, l, c) = (0.08, 0.05, 32.0);
        let make = |c: f64, g: f64, l: f64, p: [f64; 4], fcj: f64| -> BbShape<FcjTch> {
            let base = FcjTch::new(c, g, l, FcjAsymmetry::from_sum(fcj)).unwrap();
            let m = *base.symmetric().mix();
            BbShape::new(base, &BerarBaldinozzi { p }, m.dfwhm_dg, m.dfwhm_dl)
        };
        let fcj = 0.01;
        for t in [31.8, 31.95, 32.0, 32.03, 32.2] {
            let s = make(c, g, l, p, fcj);
            let (pt, dp) = s.eval_with_parameters(t);
            let fd = |f: &dyn Fn(f64) -> f64, x: f64| {
                let h = 1e-6 * x.abs().max(1e-3);
                (f(x + h) - f(x - h)) / (2.0 * h)
            };
            let checks = [
                (pt.d_center, fd(&|x| make(x, g, l, p, fcj).value(t), c)),
                (pt.d_fwhm_g, fd(&|x| make(c, x, l, p, fcj).value(t), g)),
                (pt.d_fwhm_l, fd(&|x| make(c, g, x, p, fcj).value(t), l)),
                (pt.d_asym, fd(&|x| make(c, g, l, p, x).value(t), fcj)),
            ];
            for (k, (a, b)) in checks.iter().enumerate() {
                assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "t {t} #{k}: {a} vs {b}");
            }
            for k in 0..4 {
                let f = |x: f64| {
                    let mut q = p;
                    q[k] = x;
                    make(c, g, l, q, fcj).value(t)
                };
                let b = fd(&f, p[k]);
                assert!(
                    (dp[k] - b).abs() <= 1e-6 * b.abs().max(1.0),
                    "P{} {} vs {b}",
                    k + 1,
                    dp[k]
                );
            }
            assert!((pt.value - s.value(t)).abs() < 1e-12 * pt.value.abs().max(1.0));
        }
    }

    /// `add_scaled` equals the pointwise value (the factor's zone cut is exact to 1e-15).
    /// Where 1 + ΣP·F/tan < 0 (here P₃ = 1.23 at 2θ = 150°, 1/tan 2θ = −1.73, so A reaches
    /// 1 − 1.23·1.73·max F_a ≈ −0.83 on the low-angle side) the profile is 0 with zero
    /// derivatives, and positive elsewhere.
    #[test]
    fn profile_is_never_negative() {
        let s = shape(150.0, [-0.37, 0.0074, 1.23, 0.0]);
        let mut clamped = 0;
        for i in 0..=400 {
            let t = 149.5 + 0.0025 * f64::from(i);
            let (p, dp) = s.eval_with_parameters(t);
            assert!(p.value >= 0.0, "{t}: {}", p.value);
            if p.value == 0.0 {
                clamped += 1;
                assert_eq!((p.d_center, p.d_fwhm_g, dp), (0.0, 0.0, [0.0; 4]));
            }
        }
        assert!(clamped > 10, "the clamp was not exercised ({clamped} points)");
    }

    #[test]
    fn add_scaled_matches_pointwise() {
        let s = shape(40.0, [-0.3, 0.02, 0.8, 0.01]);
        let grid: Vec<f64> = (0..4000).map(|i| 38.0 + 0.001 * i as f64).collect();
        let mut y = vec![0.0; grid.len()];
        s.add_scaled(&grid, 2.0, crate::profile::DEFAULT_CUTOFF, &mut y);
        for (i, &t) in grid.iter().enumerate() {
            assert!((y[i] - 2.0 * s.value(t)).abs() < 1e-12, "{t}");
        }
    }
}
