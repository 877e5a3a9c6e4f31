//! The Thompson–Cox–Hastings pseudo-Voigt: a pseudo-Voigt whose FWHM H and mixing η are
//! computed from a Gaussian FWHM H_G and a Lorentzian FWHM H_L so that it approximates their
//! Voigt convolution.
//!
//! Source: P. Thompson, D. E. Cox & J. B. Hastings (1987), J. Appl. Cryst. 20, 79–83, eqs. 4–5:
//! H = (H_G⁵ + 2.69269 H_G⁴H_L + 2.42843 H_G³H_L² + 4.47163 H_G²H_L³ + 0.07842 H_G H_L⁴
//! + H_L⁵)^{1/5}, η = 1.36603 q − 0.47719 q² + 0.11116 q³ with q = H_L/H. All widths in degrees 2θ.

use super::pseudo_voigt::{PseudoVoigt, PseudoVoigtPeak};
use super::{PeakShape, ProfilePoint};
use crate::error::{Error, Result};
use std::ops::Range;

/// TCH 1987 eq. 4 coefficients of H⁵ = Σ cₖ H_G^{5−k} H_Lᵏ, k = 0..5.
const TCH_H: [f64; 6] = [1.0, 2.69269, 2.42843, 4.47163, 0.07842, 1.0];
/// TCH 1987 eq. 5 coefficients of η = Σ aₖ qᵏ, k = 1..3.
const TCH_ETA: [f64; 3] = [1.36603, -0.47719, 0.11116];

/// The TCH total FWHM and mixing parameter with their derivatives (chain rule, one call).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TchMix {
    /// Total FWHM H (degrees).
    pub fwhm: f64,
    /// Lorentzian fraction η.
    pub eta: f64,
    /// ∂H/∂H_G.
    pub dfwhm_dg: f64,
    /// ∂H/∂H_L.
    pub dfwhm_dl: f64,
    /// ∂η/∂H_G (1/degree).
    pub deta_dg: f64,
    /// ∂η/∂H_L (1/degree).
    pub deta_dl: f64,
}

/// TCH 1987 eqs. 4–5: H and η of the pseudo-Voigt approximating the Voigt of a Gaussian with
/// FWHM `fwhm_g_deg` and a Lorentzian with FWHM `fwhm_l_deg`, and their partial derivatives.
///
/// Errors: a width that is negative or not finite, or both widths zero.
pub fn tch_mix(fwhm_g_deg: f64, fwhm_l_deg: f64) -> Result<TchMix> {
    let (g, l) = (fwhm_g_deg, fwhm_l_deg);
    for (name, v) in [("Gaussian FWHM H_G", g), ("Lorentzian FWHM H_L", l)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(Error::InvalidValue {
                name: name.to_string(),
                value: v,
                reason: "a FWHM must be finite and non-negative",
            });
        }
    }
    if g + l <= 0.0 {
        return Err(Error::InvalidValue {
            name: "TCH FWHM H_G + H_L".to_string(),
            value: g + l,
            reason: "the profile needs a positive width",
        });
    }
    Ok(tch_mix_unchecked(g, l))
}

/// [`tch_mix`] without validation (widths finite, ≥ 0, not both 0).
pub(crate) fn tch_mix_unchecked(g: f64, l: f64) -> TchMix {
    // Horner in the ratio is unstable when one width is 0; expand directly.
    let (g2, l2) = (g * g, l * l);
    let (g3, l3) = (g2 * g, l2 * l);
    let (g4, l4) = (g3 * g, l3 * l);
    let c = TCH_H;
    let p = c[0] * g4 * g
        + c[1] * g4 * l
        + c[2] * g3 * l2
        + c[3] * g2 * l3
        + c[4] * g * l4
        + c[5] * l4 * l;
    let p_g = 5.0 * c[0] * g4
        + 4.0 * c[1] * g3 * l
        + 3.0 * c[2] * g2 * l2
        + 2.0 * c[3] * g * l3
        + c[4] * l4;
    let p_l = c[1] * g4
        + 2.0 * c[2] * g3 * l
        + 3.0 * c[3] * g2 * l2
        + 4.0 * c[4] * g * l3
        + 5.0 * c[5] * l4;
    let h = p.powf(0.2);
    // H⁵ = P ⇒ 5H⁴ dH = dP.
    let inv_5h4 = 1.0 / (5.0 * p / h);
    let dh_dg = p_g * inv_5h4;
    let dh_dl = p_l * inv_5h4;
    let q = l / h;
    let a = TCH_ETA;
    let eta = q * (a[0] + q * (a[1] + q * a[2]));
    let deta_dq = a[0] + q * (2.0 * a[1] + 3.0 * a[2] * q);
    // q = H_L/H: ∂q/∂H_G = −q/H ∂H/∂H_G, ∂q/∂H_L = 1/H − q/H ∂H/∂H_L.
    let inv_h = 1.0 / h;
    TchMix {
        fwhm: h,
        // η(1) = 1.36603 − 0.47719 + 0.11116 = 1.00000 exactly; keep η in [0, 1] against
        // rounding only (the cubic is monotonic on [0, 1]).
        eta: eta.clamp(0.0, 1.0),
        dfwhm_dg: dh_dg,
        dfwhm_dl: dh_dl,
        deta_dg: deta_dq * (-q * inv_h * dh_dg),
        deta_dl: deta_dq * (inv_h - q * inv_h * dh_dl),
    }
}

/// A symmetric TCH pseudo-Voigt peak at 2θ₀ (degrees) with Gaussian FWHM H_G and Lorentzian
/// FWHM H_L (degrees), unit area over 2θ in degrees (TCH 1987, J. Appl. Cryst. 20, 79).
///
/// H_L = 0 gives a pure Gaussian, H_G = 0 a pure Lorentzian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TchPseudoVoigt {
    fwhm_g: f64,
    fwhm_l: f64,
    mix: TchMix,
    /// The pseudo-Voigt with the TCH H and η at the centre.
    peak: PseudoVoigtPeak,
}

impl TchPseudoVoigt {
    /// Builds the peak. Errors: non-finite centre, or widths rejected by [`tch_mix`].
    pub fn new(center_deg: f64, fwhm_g_deg: f64, fwhm_l_deg: f64) -> Result<Self> {
        if !center_deg.is_finite() {
            return Err(Error::InvalidValue {
                name: "peak position 2θ₀".to_string(),
                value: center_deg,
                reason: "must be finite",
            });
        }
        let mix = tch_mix(fwhm_g_deg, fwhm_l_deg)?;
        Ok(Self {
            fwhm_g: fwhm_g_deg,
            fwhm_l: fwhm_l_deg,
            mix,
            peak: PseudoVoigtPeak::from_kernel(
                center_deg,
                PseudoVoigt::new_unchecked(mix.fwhm, mix.eta),
            ),
        })
    }

    /// Gaussian FWHM H_G (degrees).
    pub fn fwhm_g(&self) -> f64 {
        self.fwhm_g
    }

    /// Lorentzian FWHM H_L (degrees).
    pub fn fwhm_l(&self) -> f64 {
        self.fwhm_l
    }

    /// The TCH mixing result (H, η and derivatives).
    pub fn mix(&self) -> &TchMix {
        &self.mix
    }

    /// The underlying pseudo-Voigt kernel.
    pub fn kernel(&self) -> &PseudoVoigt {
        self.peak.kernel()
    }

    /// Value and derivatives at offset z = 2θ − 2θ₀ (shared with the FCJ quadrature):
    /// returns (point with d_center = −∂/∂z, ∂value/∂z).
    #[inline]
    pub(crate) fn eval_offset(&self, z: f64) -> (ProfilePoint, f64) {
        let p = self.peak.kernel().partials(z);
        let m = &self.mix;
        (
            ProfilePoint {
                value: p.value,
                d_center: -p.d_z,
                d_fwhm_g: p.d_fwhm * m.dfwhm_dg + p.d_eta * m.deta_dg,
                d_fwhm_l: p.d_fwhm * m.dfwhm_dl + p.d_eta * m.deta_dl,
                d_asym: 0.0,
            },
            p.d_z,
        )
    }
}

/// Adds `scale × pv(t − center)` over `two_theta_deg[range]`, splitting the range into the
/// Gaussian core and the Lorentzian-only tails so that the tails auto-vectorise.
pub(crate) fn add_symmetric(
    pv: &PseudoVoigt,
    center: f64,
    two_theta_deg: &[f64],
    range: Range<usize>,
    scale: f64,
    out: &mut [f64],
) {
    let n = out.len().min(two_theta_deg.len());
    let (start, end) = (range.start.min(n), range.end.min(n));
    let (x, y) = (&two_theta_deg[start..end], &mut out[start..end]);
    let core = pv.gauss_core();
    let c0 = x.partition_point(|&t| t < center - core);
    let c1 = x.partition_point(|&t| t <= center + core).max(c0);
    let (x_lo, x_rest) = x.split_at(c0);
    let (x_core, x_hi) = x_rest.split_at(c1 - c0);
    let (y_lo, y_rest) = y.split_at_mut(c0);
    let (y_core, y_hi) = y_rest.split_at_mut(c1 - c0);
    add_lorentz_tail(pv, center, x_lo, scale, y_lo);
    add_lorentz_tail(pv, center, x_hi, scale, y_hi);
    for (o, &t) in y_core.iter_mut().zip(x_core) {
        *o += scale * pv.full(t - center);
    }
}

/// Adds `scale × η·L(t − center)` over `x` into `y` (equal lengths): one division per point,
/// a plain loop over two slices so that it auto-vectorises (a chained iterator does not).
#[inline]
fn add_lorentz_tail(pv: &PseudoVoigt, center: f64, x: &[f64], scale: f64, y: &mut [f64]) {
    for (o, &t) in y.iter_mut().zip(x) {
        *o += scale * pv.lorentz_tail(t - center);
    }
}

impl PeakShape for TchPseudoVoigt {
    fn center_deg(&self) -> f64 {
        self.peak.center_deg()
    }

    fn eval(&self, two_theta_deg: f64) -> ProfilePoint {
        self.eval_offset(two_theta_deg - self.peak.center_deg()).0
    }

    fn value(&self, two_theta_deg: f64) -> f64 {
        self.peak.value(two_theta_deg)
    }

    fn fwhm(&self) -> f64 {
        self.mix.fwhm
    }

    fn support(&self, cutoff: f64) -> (f64, f64) {
        self.peak.support(cutoff)
    }

    fn add_scaled(
        &self,
        two_theta_deg: &[f64],
        scale: f64,
        cutoff: f64,
        out: &mut [f64],
    ) -> Range<usize> {
        self.peak.add_scaled(two_theta_deg, scale, cutoff, out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::simpson;
    use super::super::{truncated_area_bound, DEFAULT_CUTOFF};
    use super::*;

    fn fd<F: Fn(f64) -> f64>(f: F, x: f64, h: f64) -> f64 {
        (f(x + h) - f(x - h)) / (2.0 * h)
    }

    #[test]
    fn mixing_limits_published_checks() {
        // TCH 1987 eq. 5: η(q = 1) = 1.36603 − 0.47719 + 0.11116 = 1 (pure Lorentzian) and
        // η(0) = 0 (pure Gaussian); eq. 4 gives H = H_L resp. H_G in those limits.
        let m = tch_mix(0.0, 0.1).unwrap();
        assert!((m.eta - 1.0).abs() < 1e-12 && (m.fwhm - 0.1).abs() < 1e-15);
        let m = tch_mix(0.1, 0.0).unwrap();
        assert!(m.eta.abs() < 1e-15 && (m.fwhm - 0.1).abs() < 1e-15);
        // Homogeneous of degree 1 in the widths, η of degree 0.
        let (a, b) = (tch_mix(0.03, 0.05).unwrap(), tch_mix(0.3, 0.5).unwrap());
        assert!((b.fwhm - 10.0 * a.fwhm).abs() < 1e-12 && (a.eta - b.eta).abs() < 1e-12);
        // Continuity at the pure limits: small H_L / H_G change H and η only slightly.
        let e = 1e-9;
        let near = tch_mix(0.1, e).unwrap();
        assert!((near.fwhm - 0.1).abs() < 1e-8 && near.eta < 1e-7);
        let near = tch_mix(e, 0.1).unwrap();
        assert!((near.fwhm - 0.1).abs() < 1e-8 && (near.eta - 1.0).abs() < 1e-7);
        // Monotonic, continuous H along H_L/H_G from 0 to ∞ (no jumps on a fine grid).
        let mut prev = tch_mix(1.0, 0.0).unwrap();
        for k in 1..=2000 {
            let l = k as f64 * 0.005;
            let m = tch_mix(1.0, l).unwrap();
            assert!(m.fwhm > prev.fwhm && m.eta > prev.eta);
            assert!(m.fwhm - prev.fwhm < 0.01 && m.eta - prev.eta < 0.01);
            prev = m;
        }
        assert!(tch_mix(-0.01, 0.1).is_err() && tch_mix(0.0, 0.0).is_err());
        assert!(tch_mix(f64::NAN, 0.1).is_err());
    }

    /// Voigt profile (true convolution of unit-area Gaussian and Lorentzian) by quadrature.
    fn voigt(z: f64, hg: f64, hl: f64) -> f64 {
        let s = hg / (8.0 * std::f64::consts::LN_2).sqrt();
        let g =
            |t: f64| (-(t * t) / (2.0 * s * s)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt());
        let gam = 0.5 * hl;
        let l = |t: f64| gam / std::f64::consts::PI / (t * t + gam * gam);
        simpson(|t| g(t) * l(z - t), -9.0 * s, 9.0 * s, 4000)
    }

    fn numeric_fwhm<F: Fn(f64) -> f64>(f: F, peak: f64, guess: f64) -> f64 {
        let half = 0.5 * f(0.0);
        let _ = peak;
        let (mut a, mut b) = (0.0, 3.0 * guess);
        for _ in 0..200 {
            let m = 0.5 * (a + b);
            if f(m) > half {
                a = m
            } else {
                b = m
            }
        }
        2.0 * 0.5 * (a + b)
    }

    #[test]
    fn measured_fwhm_equals_h_and_approximates_the_voigt() {
        // The TCH curve's numerically measured FWHM is H; and H approximates the FWHM of the
        // true Voigt convolution (computed here by quadrature, independent of TCH's formula).
        // TCH 1987 fitted eq. 4 to the Voigt FWHM; the largest deviation over H_L/H_G is
        // 0.45 % near H_L/H_G ≈ 0.45 (also found against Olivero & Longbothum 1977, JQSRT 17,
        // 233, whose formula is accurate to 0.02 %); the cases here include that worst one.
        let mut worst: f64 = 0.0;
        for &(hg, hl) in
            &[(0.1, 0.0), (0.1, 0.01), (0.1, 0.044), (0.1, 0.1), (0.05, 0.1), (0.01, 0.1)]
        {
            let p = TchPseudoVoigt::new(30.0, hg, hl).unwrap();
            let f = numeric_fwhm(|z| p.value(30.0 + z), 0.0, p.fwhm());
            assert!((f - p.fwhm()).abs() < 1e-12, "{f} {}", p.fwhm());
            if hg > 0.0 && hl > 0.0 {
                let fv = numeric_fwhm(|z| voigt(z, hg, hl), 0.0, p.fwhm());
                worst = worst.max((p.fwhm() / fv - 1.0).abs());
            }
        }
        assert!(worst < 5e-3 && worst > 1e-3, "TCH H vs Voigt FWHM: {worst}");
    }

    #[test]
    fn unit_area_gauss_lorentz_pv_tch() {
        // Analytic limit: each shape has unit area. Integrate over the DEFAULT_CUTOFF support
        // and require 1 − bound ≤ area ≤ 1 (+ quadrature error).
        let bound = truncated_area_bound(DEFAULT_CUTOFF);
        assert!(bound < 1e-3);
        for &(hg, hl) in &[(0.08, 0.0), (0.0, 0.08), (0.08, 0.03), (0.02, 0.09)] {
            let p = TchPseudoVoigt::new(40.0, hg, hl).unwrap();
            let (lo, hi) = p.support(DEFAULT_CUTOFF);
            // Fine Simpson near the centre, coarser in the tails.
            let c = 8.0 * p.fwhm();
            let area = simpson(|t| p.value(t), lo, 40.0 - c, 200_000)
                + simpson(|t| p.value(t), 40.0 - c, 40.0 + c, 20_000)
                + simpson(|t| p.value(t), 40.0 + c, hi, 200_000);
            assert!(area <= 1.0 + 1e-9 && area >= 1.0 - bound, "{hg} {hl}: {area}");
            // Whole-line area (tails integrated analytically via t = tan u):
            // ∫ f dt = ∫ f(tan u) sec²u du over (−π/2, π/2).
            let whole = simpson(
                |u: f64| {
                    let t = 40.0 + p.fwhm() * u.tan();
                    if u.abs() >= std::f64::consts::FRAC_PI_2 {
                        0.0
                    } else {
                        p.value(t) * p.fwhm() / u.cos().powi(2)
                    }
                },
                -std::f64::consts::FRAC_PI_2,
                std::f64::consts::FRAC_PI_2,
                400_000,
            );
            assert!((whole - 1.0).abs() < 1e-6, "{hg} {hl}: {whole}");
        }
        // A general pseudo-Voigt (η not from TCH) too.
        let pv = PseudoVoigt::new_unchecked(0.1, 0.37);
        let whole = simpson(
            |u: f64| {
                if u.abs() >= std::f64::consts::FRAC_PI_2 {
                    0.0
                } else {
                    pv.value(0.1 * u.tan()) * 0.1 / u.cos().powi(2)
                }
            },
            -std::f64::consts::FRAC_PI_2,
            std::f64::consts::FRAC_PI_2,
            400_000,
        );
        assert!((whole - 1.0).abs() < 1e-6, "{whole}");
    }

    #[test]
    fn truncated_area_bound_holds_over_eta() {
        // Analytic truncated area of a pseudo-Voigt outside ±w: η·(2/π)·atan(H/(2w)) plus the
        // Gaussian tail (< bound's c term); check the documented bound for many η and cutoffs.
        for &c in &[1e-2, 1e-3, 1e-4, DEFAULT_CUTOFF, 1e-8] {
            for k in 0..=100 {
                let eta = k as f64 / 100.0;
                let pv = PseudoVoigt::new_unchecked(1.0, eta);
                let w = pv.half_support(c);
                let lost_l = eta * 2.0 / std::f64::consts::PI * (0.5 / w).atan();
                assert!(lost_l <= truncated_area_bound(c) - 0.0, "{c} {eta}");
            }
        }
    }

    #[test]
    fn tch_derivatives_match_finite_differences() {
        // Deterministic grid over widths (incl. pure limits) and offsets.
        for &(hg, hl) in &[(0.05, 0.02), (0.1, 0.1), (0.02, 0.15), (0.1, 0.0), (0.0, 0.1)] {
            let m = tch_mix(hg, hl).unwrap();
            let e = 1e-7;
            let fd_g = |f: fn(&TchMix) -> f64| {
                (f(&tch_mix(hg + e, hl).unwrap()) - f(&tch_mix((hg - e).max(0.0), hl).unwrap()))
                    / (hg + e - (hg - e).max(0.0))
            };
            let fd_l = |f: fn(&TchMix) -> f64| {
                (f(&tch_mix(hg, hl + e).unwrap()) - f(&tch_mix(hg, (hl - e).max(0.0)).unwrap()))
                    / (hl + e - (hl - e).max(0.0))
            };
            assert!((m.dfwhm_dg - fd_g(|m| m.fwhm)).abs() < 1e-5);
            assert!((m.dfwhm_dl - fd_l(|m| m.fwhm)).abs() < 1e-5);
            assert!((m.deta_dg - fd_g(|m| m.eta)).abs() < 1e-4 / hg.max(hl));
            assert!((m.deta_dl - fd_l(|m| m.eta)).abs() < 1e-4 / hg.max(hl));
            let p = TchPseudoVoigt::new(25.0, hg, hl).unwrap();
            for k in -30..=30 {
                let t = 25.0 + 0.13 * k as f64 * p.fwhm();
                let pt = p.eval(t);
                let scale = p.kernel().peak_height() / p.fwhm();
                let dc = fd(|c| TchPseudoVoigt::new(c, hg, hl).unwrap().value(t), 25.0, 1e-6);
                assert!((pt.d_center - dc).abs() < 1e-5 * scale, "dc {t}");
                if hg > 0.0 {
                    let dg = fd(|g| TchPseudoVoigt::new(25.0, g, hl).unwrap().value(t), hg, 1e-7);
                    assert!((pt.d_fwhm_g - dg).abs() < 1e-5 * scale, "dg {t}");
                }
                if hl > 0.0 {
                    let dl = fd(|l| TchPseudoVoigt::new(25.0, hg, l).unwrap().value(t), hl, 1e-7);
                    assert!((pt.d_fwhm_l - dl).abs() < 1e-5 * scale, "dl {t}");
                }
                assert!((pt.value - p.value(t)).abs() < 1e-12 * scale);
            }
        }
    }

    #[test]
    fn batch_equals_pointwise() {
        let grid: Vec<f64> = (0..38_001).map(|i| 5.0 + i as f64 * 0.003).collect();
        for &(hg, hl) in &[(0.06, 0.0), (0.05, 0.04), (0.0, 0.05)] {
            let p = TchPseudoVoigt::new(47.3, hg, hl).unwrap();
            let mut out = vec![1.0; grid.len()];
            let r = p.add_scaled(&grid, 2.5, DEFAULT_CUTOFF, &mut out);
            let (lo, hi) = p.support(DEFAULT_CUTOFF);
            for (i, (&t, &o)) in grid.iter().zip(&out).enumerate() {
                let expect = if t >= lo && t <= hi { 1.0 + 2.5 * p.value(t) } else { 1.0 };
                assert!((o - expect).abs() < 1e-12, "{i}");
                assert_eq!(r.contains(&i), t >= lo && t <= hi);
            }
        }
    }
}
